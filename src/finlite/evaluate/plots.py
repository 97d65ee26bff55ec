"""Plots of a report as inline SVG: drawn by matplotlib from a :class:`~finlite.evaluate.sections.Plot`.

A plot in a report is data (``report.json`` keeps it); this module draws it for ``report.html``.
The SVG is built to sit inside an HTML page that a bank's browser opens offline and prints:

- **deterministic bytes**: a fixed ``svg.hashsalt``, no date in the metadata, and the element ids
  matplotlib numbers per figure removed or renamed from a prefix, so the same plot gives the same
  string in every process (``report.html`` rebuilds byte for byte) and two plots on one page
  never share an id;
- **nothing to fetch**: text stays text (``svg.fonttype`` "none") in a generic sans-serif
  family, and the XML prolog, doctype, namespace declarations and metadata (all of which carry
  ``http://`` URLs) are dropped; the HTML parser puts an inline ``<svg>`` in the SVG namespace
  by itself;
- **readable in black and white**: every series differs by line style and marker (hatching for
  bars), not by colour alone;
- **global state untouched**: everything happens inside :func:`matplotlib.rc_context` on a
  :class:`~matplotlib.figure.Figure` that pyplot never sees.

matplotlib is imported inside :func:`plot_svg`, so importing :mod:`finlite.evaluate` stays cheap.
"""

from __future__ import annotations

import dataclasses
import io
import math
import re
import warnings
from collections.abc import Sequence
from html import escape
from typing import TYPE_CHECKING, Any

from finlite._util import document_safe
from finlite.errors import DataError
from finlite.evaluate.sections import Plot, Series

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["plot_svg"]

#: Okabe–Ito: colours that stay distinct for the common forms of colour blindness.
_COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442")
#: Line styles and markers cycled together with the colours, so a grey print still separates series.
_LINESTYLES: tuple[Any, ...] = ("solid", "dashed", "dotted", "dashdot", (0, (5, 1, 1, 1, 1, 1)), (0, (8, 2)))
_MARKERS = ("o", "s", "^", "D", "v", "x", "P", "*")
#: Line hatches only: dots and circles ("..", "oo") cost ~70 kB of SVG per pattern.
_HATCHES = ("", "///", "\\\\\\", "xxx", "---", "|||", "++", "//")
#: About this many markers along a line: enough to tell the series apart, few enough to stay light.
_MARKS_PER_LINE = 8
_FIGSIZE = (6.4, 3.6)
#: Longer category labels are cut (with an ellipsis) so the axis keeps its room; the tables hold them whole.
_MAX_TICK_CHARS = 28
#: Tallest figure (inches): a horizontal bar chart grows with its categories up to this.
_MAX_HEIGHT = 11.0
_RC: dict[str, Any] = {
    # Labels come from the data (category values, column names): "$0-$5k" is text, never mathtext
    # (which would garble it, or raise on an unbalanced formula).
    "text.parse_math": False,
    "svg.fonttype": "none",
    "font.family": "sans-serif",
    # One named face (shipped with matplotlib, so its metrics are known) and then the generic
    # family: the browser uses a local sans-serif and never looks for a font elsewhere.
    "font.sans-serif": ["DejaVu Sans"],
    "font.size": 9.0,
    "axes.titlesize": 10.0,
    "axes.grid": True,
    "grid.color": "#d9d9d9",
    "grid.linewidth": 0.5,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "legend.fontsize": 8.0,
    "legend.frameon": False,
    "hatch.linewidth": 0.6,
    "lines.linewidth": 1.4,
    "lines.markersize": 4.5,
}
_ID_ATTR = re.compile(r'\sid="([^"]*)"')
_REF = re.compile(r'(href="#|url\(#)([^")]+)')
_SAFE_PREFIX = re.compile(r"[^A-Za-z0-9_-]+")


def plot_svg(plot: Plot, *, id_prefix: str | None = None) -> str:
    """Draw ``plot`` and return it as an inline ``<svg>`` element (a string, no XML prolog).

    The same ``plot`` always gives the same string. Series are drawn by their ``style``: "line"
    and "step" with a distinct line style and a few markers each, "scatter" as markers only,
    "bar" as grouped bars with distinct hatching (sideways, names on the y axis and one row per
    category, when the names would not fit across); ``x_ticks`` labels categorical positions
    0, 1, … (or the series' own x when it has one per label); ``x_scale`` "log" drops points with
    x <= 0 (they have no place on a log axis);
    ``reference`` "diagonal" adds the y = x guide. Missing values (None, NaN) leave gaps. Category
    labels longer than 28 characters are cut with an ellipsis.

    Args:
        plot: the plot's data.
        id_prefix: prefix of the ids the SVG defines (clip paths, markers, hatches); give each
            plot on a page its own (the HTML report uses "<section>-<plot>"). Defaults to
            "plot-<plot.id>".

    Raises:
        DataError: when a series' x and y differ in length.
    """
    from matplotlib import rc_context

    # Labels come from the data (segment values, asset ids): a control character would be drawn
    # as a missing glyph, with a warning that carries it raw to the terminal, and would sit raw
    # in report.html; written out here as the page writes it (category labels in _tick_labels,
    # after they are cut, so that no escape is cut in two).
    plot = dataclasses.replace(
        plot, title=document_safe(plot.title), x_label=document_safe(plot.x_label),
        y_label=document_safe(plot.y_label), series=[dataclasses.replace(s, name=document_safe(s.name))
                                                     for s in plot.series])
    prefix = _SAFE_PREFIX.sub("-", id_prefix if id_prefix is not None else f"plot-{plot.id}") or "plot"
    rc: Any = {**_RC, "svg.hashsalt": f"finlite-{prefix}"}  # typed loosely: matplotlib types rc keys as literals
    with rc_context(rc), warnings.catch_warnings():
        # A label in a script DejaVu Sans lacks (a segment named in Chinese) is measured with a
        # missing glyph, and matplotlib warns once per character on stderr. The SVG keeps the text
        # as text, so the browser draws it from a local font: the warning speaks of nothing the
        # reader sees.
        warnings.filterwarnings("ignore", message=r"Glyph \d+ .*missing from font", category=UserWarning)
        fig = _build_figure(plot)
        buf = io.StringIO()
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None, "Format": None, "Type": None})
    return _clean_svg(buf.getvalue(), prefix, plot.title)


def _build_figure(plot: Plot) -> Figure:
    """The matplotlib figure of ``plot`` (drawn under the caller's rc settings)."""
    from matplotlib.figure import Figure

    horizontal = _horizontal(plot)
    ticks = _tick_labels(plot.x_ticks or ())
    longest = max((len(t) for t in ticks), default=0)
    # Fixed margins rather than a layout engine: constrained layout measures every text twice and
    # costs ~3x the drawing itself (a report has up to ~25 plots); the margins follow the labels.
    if horizontal:
        # Many or long category names: horizontal bars, names on the y axis, one row per category.
        groups = max(1.0, 0.6 * len(plot.series))
        height = min(max(_FIGSIZE[1], 1.2 + 0.2 * len(ticks) * groups), _MAX_HEIGHT)
        fig = Figure(figsize=(_FIGSIZE[0], height))
        fig.subplots_adjust(left=min(0.08 + 0.0115 * longest, 0.5), right=0.98, top=1 - 0.4 / height,
                            bottom=0.55 / height)
    else:
        fig = Figure(figsize=_FIGSIZE)
        bottom = 0.14 + (0.011 * longest if _slanted(ticks) else 0.0)
        fig.subplots_adjust(left=0.11, right=0.98, top=0.9, bottom=bottom)
    ax = fig.add_subplot()
    drawn = _draw(ax, plot, horizontal)
    if plot.reference == "diagonal":
        _diagonal(ax, plot)
    if plot.x_scale == "log" and not horizontal:
        ax.set_xscale("log")
    if plot.x_ticks is not None:
        _categorical_ticks(ax, _tick_positions(plot), ticks, horizontal)
    ax.set_title(plot.title, loc="left")
    ax.set_xlabel(plot.y_label if horizontal else plot.x_label)
    ax.set_ylabel(plot.x_label if horizontal else plot.y_label)
    if not drawn:
        ax.text(0.5, 0.5, "no data", transform=ax.transAxes, ha="center", va="center", color="#555555")
    handles = ax.get_legend_handles_labels()[0]
    # One set of bars needs no legend (the axis label says what they are), and it would cover them.
    if len(handles) > 1 or (handles and any(s.style != "bar" for s in plot.series)):
        ax.legend(loc="best")
    return fig


def _horizontal(plot: Plot) -> bool:
    """Bars only, over categories whose names would have to be slanted: draw them horizontally."""
    return (plot.x_ticks is not None and bool(plot.series) and all(s.style == "bar" for s in plot.series)
            and _slanted([document_safe(str(t)) for t in plot.x_ticks]))  # as written out, uncut


def _tick_labels(labels: Sequence[Any]) -> list[str]:
    """Category names written out (:func:`_cut`), long ones cut with an ellipsis (the tables hold
    them whole)."""
    return [_cut(str(t)) for t in labels]


def _cut(label: str) -> str:
    """``label`` written out (:func:`document_safe`) and cut to :data:`_MAX_TICK_CHARS` as shown,
    whole characters at a time, so that no written-out character is cut in two."""
    if len(shown := document_safe(label)) <= _MAX_TICK_CHARS:
        return shown
    kept, width = [], 0
    for ch in label:
        part = document_safe(ch)
        if width + len(part) > _MAX_TICK_CHARS - 1:
            break
        kept.append(part)
        width += len(part)
    return "".join(kept) + "\u2026"


def _tick_positions(plot: Plot) -> list[float]:
    """Where the category labels go: 0, 1, … as the contract says, or the x of the series when
    they have one value per label (a builder that numbered its bars 1, 2, … is drawn right too)."""
    n = len(plot.x_ticks or ())
    for series in plot.series:
        x = _values(series.x)
        if len(x) == n and all(math.isfinite(v) for v in x):
            return x
    return [float(i) for i in range(n)]


def _values(values: Sequence[Any]) -> list[float]:
    """Floats of a JSON list: None (a statistic that could not be computed) becomes NaN (a gap)."""
    out = []
    for v in values:
        try:
            out.append(float(v) if v is not None else math.nan)
        except (TypeError, ValueError):
            out.append(math.nan)
    return out


def _points(plot: Plot, series: Series) -> tuple[list[float], list[float]]:
    if len(series.x) != len(series.y):
        raise DataError(f"Plot {plot.id!r}, series {series.name!r}: x has {len(series.x)} values but y has "
                        f"{len(series.y)}; each point needs both coordinates.")
    x, y = _values(series.x), _values(series.y)
    if plot.x_scale == "log":
        keep = [i for i, v in enumerate(x) if v > 0]
        x, y = [x[i] for i in keep], [y[i] for i in keep]
    return x, y


def _draw(ax: Axes, plot: Plot, horizontal: bool = False) -> bool:
    """Draw every series (bars sideways when ``horizontal``); True when at least one finite point was drawn."""
    bars = [s for s in plot.series if s.style == "bar"]
    width = 0.8 / max(len(bars), 1)
    drawn = False
    bar_index = 0
    for i, series in enumerate(plot.series):
        x, y = _points(plot, series)
        finite = [(a, b) for a, b in zip(x, y, strict=True) if math.isfinite(a) and math.isfinite(b)]
        drawn = drawn or bool(finite)
        colour, style, marker = _COLOURS[i % len(_COLOURS)], _LINESTYLES[i % len(_LINESTYLES)], _MARKERS[i % len(_MARKERS)]
        if series.style == "bar":
            # Grouped bars: each series shifted within the slot of its category.
            offset = (bar_index - (len(bars) - 1) / 2) * width
            at, values = [a + offset for a, _ in finite], [b for _, b in finite]
            look: dict[str, Any] = {"label": series.name, "color": colour, "alpha": 0.85, "edgecolor": "#000000",
                                    "linewidth": 0.6, "hatch": _HATCHES[bar_index % len(_HATCHES)]}
            if horizontal:
                ax.barh(at, values, height=width, **look)
            else:
                ax.bar(at, values, width=width, **look)
            bar_index += 1
        elif series.style == "scatter":
            ax.plot(x, y, linestyle="none", marker=marker, color=colour, label=series.name, markerfacecolor="none")
        else:
            step = max(len(x) // _MARKS_PER_LINE, 1)
            # Markers of different series start at different points, so they do not sit on each other.
            every = (i * step // max(len(plot.series), 1) % step, step)
            kwargs: dict[str, Any] = {"linestyle": style, "marker": marker, "markevery": every, "color": colour,
                                      "label": series.name, "markerfacecolor": "none"}
            if series.style == "step":
                ax.step(x, y, where="post", **kwargs)
            else:
                ax.plot(x, y, **kwargs)
    if bars:
        # Room beyond the longest bar, so the legend need not sit on one.
        if horizontal:
            ax.margins(x=0.12)
        else:
            ax.margins(y=0.15)
    return drawn


def _diagonal(ax: Axes, plot: Plot) -> None:
    """The y = x guide across the range of the data, x and y together (0 to 1 when there is none)."""
    values = [v for s in plot.series for part in _points(plot, s) for v in part if math.isfinite(v)]
    if plot.x_scale == "log":
        values = [v for v in values if v > 0]
    lo, hi = (min(values), max(values)) if values else ((1e-3 if plot.x_scale == "log" else 0.0), 1.0)
    ax.plot([lo, hi], [lo, hi], color="#777777", linewidth=0.8, linestyle=(0, (1, 2)), label="y = x")


def _categorical_ticks(ax: Axes, positions: Sequence[float], labels: Sequence[str], horizontal: bool) -> None:
    """Label the category positions; on a vertical axis long or many labels are slanted."""
    if horizontal:
        ax.set_yticks(positions, labels)
        ax.invert_yaxis()  # the first category on top, as in the tables
        ax.grid(False, axis="y")
        return
    slant = _slanted(labels)
    ax.set_xticks(positions, labels, rotation=30 if slant else 0, ha="right" if slant else "center")
    ax.grid(False, axis="x")


def _slanted(labels: Sequence[Any]) -> bool:
    """Would these category names collide on a horizontal axis? About 60 characters fit across."""
    return len(labels) > 20 or sum(len(str(t)) + 2 for t in labels) > 60


def _clean_svg(svg: str, prefix: str, title: str) -> str:
    """matplotlib's SVG document as an element for an HTML page: no prolog, no URLs, no ids but
    the referenced ones (renamed ``<prefix>-<n>`` in order), a role and a label for screen readers.

    Only markup is rewritten (the inside of ``<…>``); text such as a title is left as matplotlib
    escaped it, whatever it says."""
    svg = svg[svg.index("<svg"):]
    svg = re.sub(r"\s*<metadata>.*?</metadata>", "", svg, flags=re.S)
    # The one stylesheet matplotlib writes sets two inherited stroke properties: as attributes of
    # the root they do the same without a <style> element that would apply to the whole page.
    svg = re.sub(r"\s*<defs>\s*<style[^>]*>[^<]*</style>\s*</defs>", "", svg)
    tags = re.compile(r"<[^>]*>")
    referenced = {m.group(2) for tag in tags.findall(svg) for m in _REF.finditer(tag.replace("xlink:href", "href"))}
    names: dict[str, str] = {}

    def rename(old: str) -> str:
        if old not in names:
            names[old] = f"{prefix}-{len(names) + 1}"
        return names[old]

    def clean(match: re.Match[str]) -> str:
        tag = re.sub(r'\sxmlns(:xlink)?="[^"]*"', "", match.group(0)).replace("xlink:href=", "href=")
        tag = _ID_ATTR.sub(lambda m: f' id="{rename(m.group(1))}"' if m.group(1) in referenced else "", tag)
        tag = _REF.sub(lambda m: m.group(1) + rename(m.group(2)), tag)
        # Path data: one line per vertex costs a newline and two spaces each; a space is enough.
        return re.sub(r" ?\n(?=[LMCQz])", " ", tag)

    svg = tags.sub(clean, svg)
    label = escape(title, quote=True)
    svg = svg.replace("<svg ", f'<svg class="plot" role="img" aria-label="{label}" stroke-linejoin="round" '
                                'stroke-linecap="butt" ', 1)
    return svg.strip() + "\n"
