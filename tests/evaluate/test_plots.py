"""plot_svg: deterministic, self-contained, small SVG; series told apart without colour; global state untouched."""

from __future__ import annotations

import html
import math
import re
import xml.etree.ElementTree as ET
from typing import Any

import matplotlib
import numpy as np
import pytest
from matplotlib import rc_context
from matplotlib.container import BarContainer

from finlite.errors import DataError
from finlite.evaluate.plots import _RC, _build_figure, plot_svg
from finlite.evaluate.sections import Plot, Series, curve_points


def roc(n_series: int = 2, points: int = 5000) -> Plot:
    x = np.linspace(0.0, 1.0, points)
    series = [Series(f"model {i}", *curve_points(x, x ** (0.3 + 0.1 * i))) for i in range(n_series)]
    return Plot("roc", "ROC <teacher & student>", "false-positive rate", "true-positive rate", series,
                reference="diagonal")


def bars(labels: tuple[str, ...] = ("A11", "A12 <x>", "A13")) -> Plot:
    return Plot("bars", "Approval by segment", "segment", "approval rate",
                [Series("teacher", [0, 1, 2], [0.7, math.nan, 0.6], style="bar"),
                 Series("student", [0, 1, 2], [0.68, 0.5, 0.61], style="bar"),
                 Series("applicants", [0, 1, 2], [0.3, 0.3, 0.4], style="bar")],
                x_ticks=list(labels))


def ids_and_refs(svg: str) -> tuple[list[str], set[str]]:
    return re.findall(r'\sid="([^"]*)"', svg), set(re.findall(r'(?:href="#|url\(#)([^")]+)', svg))


def test_the_same_plot_gives_the_same_bytes() -> None:
    first = plot_svg(roc())
    plot_svg(bars())  # another figure in between must not shift any counter or id
    assert plot_svg(roc()) == first
    assert plot_svg(bars()) == plot_svg(bars())


def test_the_svg_is_an_element_that_fetches_nothing() -> None:
    for plot in (roc(), bars()):
        svg = plot_svg(plot)
        assert svg.startswith('<svg class="plot" role="img" aria-label="')
        assert "<?xml" not in svg and "<!DOCTYPE" not in svg and "http" not in svg
        assert "<script" not in svg and "<style" not in svg and "<metadata" not in svg and "<image" not in svg
        ET.fromstring(svg)  # well-formed on its own (the HTML parser is more lenient still)


def test_text_is_text_in_a_generic_family() -> None:
    svg = plot_svg(roc())
    texts = re.findall(r"<text[^>]*>([^<]*)</text>", svg)
    assert "ROC &lt;teacher &amp; student&gt;" in texts and "false-positive rate" in texts
    assert 'aria-label="ROC &lt;teacher &amp; student&gt;"' in svg
    families = set(re.findall(r"font-family: ([^;\"]*)", svg))
    assert families == {"'DejaVu Sans', sans-serif"}


def test_plots_are_small() -> None:
    assert len(plot_svg(roc(n_series=4)).encode()) < 40_000
    assert len(plot_svg(bars()).encode()) < 40_000


def test_ids_are_prefixed_defined_and_distinct_between_plots() -> None:
    a = plot_svg(roc(), id_prefix="discrimination-roc")
    b = plot_svg(roc(), id_prefix="calibration-roc")
    ids_a, refs_a = ids_and_refs(a)
    ids_b, _ = ids_and_refs(b)
    assert ids_a and all(i.startswith("discrimination-roc-") for i in ids_a)
    assert len(set(ids_a)) == len(ids_a) and refs_a <= set(ids_a)
    assert not set(ids_a) & set(ids_b)
    assert ids_and_refs(plot_svg(roc()))[0][0].startswith("plot-roc-")
    assert ids_and_refs(plot_svg(roc(), id_prefix="a b<c"))[0][0].startswith("a-b-c-")


def test_series_differ_by_line_style_and_marker_not_only_colour() -> None:
    fig = _build_figure(roc(n_series=4))
    ax = fig.axes[0]
    lines = [ln for ln in ax.get_lines() if str(ln.get_label()).startswith("model")]
    assert len(lines) == 4
    assert [ln.get_linestyle() for ln in lines] == ["-", "--", ":", "-."]
    assert len({ln.get_marker() for ln in lines}) == 4
    diagonal = [ln for ln in ax.get_lines() if ln.get_label() == "y = x"]
    assert len(diagonal) == 1
    assert list(np.asarray(diagonal[0].get_xdata())) == list(np.asarray(diagonal[0].get_ydata())) == [0.0, 1.0]


def test_bars_are_grouped_hatched_and_labelled() -> None:
    ax = _build_figure(bars()).axes[0]
    containers = [c for c in ax.containers if isinstance(c, BarContainer)]
    assert len(containers) == 3
    assert len({c.patches[0].get_hatch() for c in containers}) == 3
    assert [t.get_text() for t in ax.get_xticklabels()] == ["A11", "A12 <x>", "A13"]
    # teacher's missing middle value is not drawn; the groups sit around their category
    assert len(containers[0].patches) == 2 and len(containers[1].patches) == 3
    centres = [p.get_x() + p.get_width() / 2 for p in containers[1].patches]
    assert centres == pytest.approx([0.0, 1.0, 2.0])
    assert [p.get_height() for p in containers[1].patches] == pytest.approx([0.68, 0.5, 0.61])


def test_many_or_long_categories_become_horizontal_bars() -> None:
    long = "a rather long segment name that goes on and on, and on, and on"
    fig = _build_figure(bars(("A11", "A12", long)))
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels[:2] == ["A11", "A12"] and labels[2] == long[:27] + "\u2026"
    assert ax.yaxis_inverted()  # the first category on top, as in the tables
    assert ax.get_ylabel() == "segment" and ax.get_xlabel() == "approval rate"
    student = [c for c in ax.containers if isinstance(c, BarContainer)][1]
    assert [p.get_width() for p in student.patches] == pytest.approx([0.68, 0.5, 0.61])
    many = Plot("agree", "Agreement", "segment", "agreement",
                [Series("agreement", list(range(40)), [0.95] * 40, style="bar")], x_ticks=[f"s{i}" for i in range(40)])
    fig = _build_figure(many)
    assert fig.get_figheight() > 6  # grows with the number of categories
    assert fig.axes[0].get_legend() is None  # one set of bars: the axis says what they are
    assert len(plot_svg(many).encode()) < 60_000


def test_category_labels_follow_bars_numbered_from_one() -> None:
    plot = Plot("psi", "PSI bins", "bin", "share", [Series("train", [1, 2, 3], [0.3, 0.3, 0.4], style="bar")],
                x_ticks=["1", "2", "3"])
    ax = _build_figure(plot).axes[0]
    assert list(ax.get_xticks()) == [1.0, 2.0, 3.0]


def test_log_scale_drops_points_it_cannot_place() -> None:
    plot = Plot("latency", "Latency", "batch", "ms", [Series("m", [-1, 0, 1, 10, 100], [5, 4, 3, 2, 1])],
                x_scale="log")
    ax = _build_figure(plot).axes[0]
    assert ax.get_xscale() == "log"
    assert list(np.asarray(ax.get_lines()[0].get_xdata())) == [1.0, 10.0, 100.0]
    assert plot_svg(plot).startswith("<svg")


def test_missing_values_leave_gaps() -> None:
    # as report.json holds it: null where a number could not be computed
    plot = Plot.from_dict({"id": "p", "title": "P", "x_label": "x", "y_label": "y",
                           "series": [{"name": "m", "x": [0, 1, 2, 3], "y": [0.1, None, 0.3, None], "style": "step"}]})
    y = np.asarray(_build_figure(plot).axes[0].get_lines()[0].get_ydata(), dtype=float)
    assert y[0] == 0.1 and math.isnan(y[1]) and y[2] == 0.3 and math.isnan(y[3])


def test_an_empty_plot_says_so() -> None:
    svg = plot_svg(Plot("p", "Nothing", "x", "y", []))
    assert ">no data</text>" in svg
    assert ">no data</text>" not in plot_svg(roc())


def test_scatter_draws_markers_only() -> None:
    plot = Plot("r", "Reliability", "predicted", "observed",
                [Series("teacher", [0.1, 0.5], [0.2, 0.4], style="scatter")], reference="diagonal")
    line = _build_figure(plot).axes[0].get_lines()[0]
    assert line.get_linestyle() == "None" and line.get_marker() == "o"


def test_mismatched_coordinates_are_refused() -> None:
    plot = Plot("p", "P", "x", "y", [Series("teacher", [0, 1, 2], [0.1, 0.2])])
    with pytest.raises(DataError, match=r"Plot 'p', series 'teacher': x has 3 values but y has 2"):
        plot_svg(plot)


def test_matplotlib_global_state_is_untouched() -> None:
    import matplotlib.pyplot as plt

    rc: Any = matplotlib.rcParams  # typed loosely: matplotlib types its keys as literals
    before = {k: rc[k] for k in [*_RC, "svg.hashsalt"]}
    figures = plt.get_fignums()
    with rc_context({"svg.fonttype": "path"}):
        plot_svg(roc())
        assert rc["svg.fonttype"] == "path"
    assert {k: rc[k] for k in before} == before
    assert plt.get_fignums() == figures


def test_text_that_looks_like_markup_is_left_alone() -> None:
    title = 'T id="x" href="#y" url(#z)'
    svg = plot_svg(Plot("p", title, "x", "y", [Series("a", [0, 1], [0, 1])]))
    assert f">{title}</text>" in svg
    ids, refs = ids_and_refs(svg.replace(title, "").replace(html.escape(title, quote=True), ""))
    assert refs <= set(ids) and all(i.startswith("plot-p-") for i in ids)


def test_dollar_signs_in_labels_are_text_not_formulas() -> None:
    plot = Plot(id="bars", title="Income $1k to $5k", x_label="band", y_label="share",
                series=[Series(name="$0-$5k", x=[0.0, 1.0], y=[0.4, 0.6], style="bar")],
                x_ticks=[r"$\frac{$", "$0-$5k"])  # an unbalanced formula would raise in mathtext
    svg = plot_svg(plot)
    assert "Income $1k to $5k" in html.unescape(svg) and "$0-$5k" in html.unescape(svg)


def test_a_category_label_is_cut_as_shown_and_no_written_out_character_is_split() -> None:
    """Escaping after the cut let 27 control characters grow into a 108-character tick; cutting
    the written-out text could split "\\x1b" in two. Whole characters are kept, as shown."""
    from finlite.evaluate.plots import _MAX_TICK_CHARS, _tick_labels

    (cut,) = _tick_labels(["\x1b" * 40])
    assert len(cut) <= _MAX_TICK_CHARS and cut.endswith("\u2026")
    assert cut[:-1] == "\\x1b" * ((_MAX_TICK_CHARS - 1) // 4)
    assert _tick_labels(["plain"]) == ["plain"]
    assert _tick_labels(["a" * 40]) == ["a" * (_MAX_TICK_CHARS - 1) + "\u2026"]


def test_labels_in_a_script_the_font_lacks_stay_text_without_warnings(recwarn: pytest.WarningsRecorder) -> None:
    """A segment named in Chinese: matplotlib warned on stderr once per character it could not
    measure (seen on 2026-12-04); the SVG keeps the text for the browser to draw."""
    plot = Plot(id="bars", title="Approval by housing", x_label="housing", y_label="approval rate",
                series=[Series(name="\u8cc3\u8cb8", x=[0.0, 1.0], y=[0.4, 0.6], style="bar")],
                x_ticks=["\u8cc3\u8cb8 \u4f4f\u5b85", "own"])
    svg = plot_svg(plot)
    assert "\u8cc3\u8cb8 \u4f4f\u5b85" in html.unescape(svg)
    assert not [w for w in recwarn.list if "missing from font" in str(w.message)]
