"""report.html: every section by id with its badge, escaped text, no script or URL, stable bytes, small."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter
from html.parser import HTMLParser
from importlib import resources
from typing import Any

import numpy as np
import pytest

from finlite.errors import DataError
from finlite.evaluate.html import DEFAULT_TITLE, format_cell, render_html
from finlite.evaluate.sections import Plot, Section, Series, Table, worst

STATUS_CYCLE = ("PASS", "WARN", "FAIL", "PASS", "PASS")


def _curve(k: float, n: int = 201) -> tuple[list[float], list[float]]:
    x = np.linspace(0.0, 1.0, n)
    return [float(v) for v in x], [float(v) for v in x ** k]


def _plots(i: int, count: int) -> list[Plot]:
    """``count`` plots of section ``i``, cycling through every kind a report draws."""
    plots = []
    for j in range(count):
        kind = (i + j) % 5
        if kind == 0:  # ROC-like: two full curves and the diagonal
            plots.append(Plot(f"roc_{j}", "ROC <teacher & student>", "false-positive rate", "true-positive rate",
                              [Series("teacher", *_curve(0.4)), Series("student", *_curve(0.45))],
                              reference="diagonal"))
        elif kind == 1:  # KS / cumulative: step curves
            plots.append(Plot(f"ks_{j}", "KS", "score", "cumulative share",
                              [Series("bad", *_curve(0.5), style="step"), Series("good", *_curve(2.0), style="step")]))
        elif kind == 2:  # bars per segment, one value missing
            plots.append(Plot(f"bars_{j}", "Approval rate by segment", "segment", "approval rate",
                              [Series("teacher", [0, 1, 2, 3], [0.71, 0.65, float("nan"), 0.8], style="bar"),
                               Series("student", [0, 1, 2, 3], [0.70, 0.66, 0.5, 0.79], style="bar")],
                              x_ticks=["A11", "A12", "A13 <none>", "A14"]))
        elif kind == 3:  # log x-scale (e.g. latency by batch size), one x at 0 to drop
            plots.append(Plot(f"latency_{j}", "Latency", "batch size", "ms per row",
                              [Series("teacher", [0, 1, 8, 64, 512], [0.5, 0.4, 0.1, 0.05, 0.04]),
                               Series("student", [1, 8, 64, 512], [0.2, 0.05, 0.02, 0.01])], x_scale="log"))
        else:  # reliability: scatter and a line
            plots.append(Plot(f"reliability_{j}", "Reliability", "predicted", "observed",
                              [Series("teacher", [0.1, 0.3, 0.5, 0.7, 0.9], [0.12, 0.28, 0.55, 0.66, 0.93],
                                      style="scatter"),
                               Series("student", [0.1, 0.3, 0.5, 0.7, 0.9], [0.1, 0.31, 0.5, 0.72, 0.88])],
                              reference="diagonal"))
    return plots


def synthetic_report(n_sections: int = 15, n_plots: int = 25) -> dict[str, Any]:
    """A report dict as report.json holds it: ``n_sections`` sections of every status, tables with
    every kind of cell (and a column name with '<'), ``n_plots`` plots of every kind, notes, nested metrics."""
    sections = []
    per = [n_plots // n_sections + (1 if i < n_plots % n_sections else 0) for i in range(n_sections)]
    for i in range(n_sections):
        table = Table("numbers", f"Numbers of section {i}", ["metric", "teacher", "student <pruned>", "n"],
                      [["auc", 0.812345, 0.80111, 12345], ["ks", None, 0.5, 0], ["flagged", True, None, -7],
                       ["gini <x>", float("nan"), 123456.7, 1_000_000]])
        sections.append(Section(
            id=f"section_{i}", title=f"Section {i}", status=STATUS_CYCLE[i % len(STATUS_CYCLE)],  # type: ignore[arg-type]
            threshold=f"FAIL when x < {i}; WARN when x < {i + 1}",
            summary=f"Section {i} found <b>nothing</b> & more.",
            metrics={"auc": {"teacher": 0.812345, "student": 0.80111, "interval": [0.7, 0.9]}, "rows": 12345,
                     "p_value": None, "per_band": [{"band": 1, "psi": 0.01}]},
            tables=[table] if i % 3 != 2 else [],
            plots=_plots(i, per[i]),
            notes=[f"note {i}: capped at 200 rows"] if i % 2 == 0 else []).to_dict())
    return {"format": 1, "title": "Validation of student <v2>", "task": "binary",
            "status": worst(s["status"] for s in sections),
            "generated_from": {"artifact": "student", "manifest_sha256": "ab" * 32},
            "data": {"source": "german_credit.csv", "rows": 1000}, "sections": sections}


class Page(HTMLParser):
    """What a test needs from a page: tags with attributes, text per element, in document order."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.stack: list[str] = []
        self.cells: list[tuple[str, str]] = []  # (class of the td, its text)
        self._cell: list[Any] | None = None
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag == "td":
            self._cell = [dict(attrs).get("class") or "", ""]

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._cell is not None:
            self.cells.append((self._cell[0], self._cell[1]))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell[1] += data

    def ids(self) -> list[str]:
        return [v for _, a in self.tags if (v := a.get("id"))]


@pytest.fixture(scope="module")
def report() -> dict[str, Any]:
    return synthetic_report()


@pytest.fixture(scope="module")
def html(report: dict[str, Any]) -> str:
    return render_html(report)


@pytest.mark.parametrize(("value", "text"), [
    (None, "\u2013"), (float("nan"), "\u2013"), (float("inf"), "\u2013"), (12345, "12,345"), (-7, "-7"),
    (np.int64(1_000_000), "1,000,000"), (0.812345, "0.8123"), (np.float32(0.5), "0.5"), (123456.7, "123,500"),
    (1.5e-5, "1.5e-05"), (-0.0, "0"), (3.0, "3"), (True, "yes"), (np.bool_(False), "no"), ("a<b", "a<b"),
    ([1, 2], "[1, 2]"),
])
def test_format_cell(value: Any, text: str) -> None:
    assert format_cell(value) == text


def test_every_section_has_its_id_badge_and_toc_entry(report: dict[str, Any], html: str) -> None:
    page = Page(html)
    sections = [a for tag, a in page.tags if tag == "section"]
    assert [a["id"] for a in sections] == [s["id"] for s in report["sections"]]
    assert [a["class"] for a in sections] == [f"status-{s['status'].lower()}" for s in report["sections"]]
    toc = [a["href"] for tag, a in page.tags if tag == "a"]
    assert toc == [f"#{s['id']}" for s in report["sections"]]
    for s in report["sections"]:
        badge = f'<span class="badge badge-{s["status"].lower()}">{s["status"]}</span> Section'
        start = html.index(f'<section id="{s["id"]}"')
        assert badge in html[start:start + 400]
    assert '<span class="badge badge-fail">FAIL</span>\n Overall: FAIL' in html
    assert "Rule:</strong> FAIL when x &lt; 3; WARN when x &lt; 4" in html


def test_overall_status_defaults_to_the_worst_section() -> None:
    rep = synthetic_report(3, 0)
    rep["sections"] = [s for s in rep["sections"] if s["status"] != "FAIL"]
    del rep["status"]
    assert '<span class="badge badge-warn">WARN</span>\n Overall: WARN' in render_html(rep)
    rep["status"] = "FAIL"  # the orchestrator's word wins: e.g. a failed gate outside the sections
    assert "Overall: FAIL (1 pass, 1 warn, 0 fail" in render_html(rep)


def test_nothing_is_fetched_and_nothing_runs(html: str) -> None:
    lower = html.lower()
    assert "<script" not in lower and "javascript:" not in lower and "@import" not in lower
    assert "http:" not in lower and "https:" not in lower and "//" not in lower.replace("<!--", "")
    page = Page(html)
    for tag, attrs in page.tags:
        assert not {"src", "srcset", "action", "poster", "data"} & attrs.keys(), tag
        for name in ("href", "xlink:href"):
            if name in attrs:
                assert (attrs[name] or "").startswith("#"), (tag, attrs)
        assert not any(k.startswith("on") for k in attrs), (tag, attrs)
    csp = [a["content"] for tag, a in page.tags if tag == "meta" and a.get("http-equiv") == "Content-Security-Policy"]
    assert csp == ["default-src 'none'; style-src 'unsafe-inline'; img-src data:"]


def test_text_is_escaped(html: str) -> None:
    assert '<th scope="col" class="num">student &lt;pruned&gt;</th>' in html
    assert "student <pruned>" not in html
    assert "found &lt;b&gt;nothing&lt;/b&gt; &amp; more." in html and "<b>nothing" not in html
    assert "<title>Validation of student &lt;v2&gt;</title>" in html
    evil = synthetic_report(1, 0)
    evil["sections"][0]["summary"] = "<script>alert(1)</script>"
    evil["sections"][0]["id"] = 'x" onload="alert(1)'
    evil["sections"][0]["tables"][0]["columns"][0] = "teacher_lower <img src=x>"
    out = render_html(evil)
    assert "<script" not in out and 'onload="' not in out
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in out
    # a header may break after an underscore (wide snake_case tables), and is escaped all the same
    assert '<th scope="col">teacher_<wbr>lower &lt;img src=x&gt;</th>' in out and "<img" not in out



def test_characters_a_terminal_acts_on_are_written_out_in_the_page_and_its_plots() -> None:
    """A segment value or column name from the data (an escape sequence, a right-to-left override)
    sat raw in report.html, and its plot's missing-glyph warning carried the escape to the
    terminal (a README walk-through, 2026-12-04): written out as the command line writes it."""
    import warnings

    evil = synthetic_report(1, 0)
    hostile = "kind=a\x1b]0;pwned\x07\u202eb"
    evil["sections"][0]["summary"] = f"1 weak spot: {hostile}."
    evil["sections"][0]["tables"][0]["columns"][0] = "col\x1b[2J_x"
    evil["sections"][0]["plots"] = [Plot("bars", "Agreement per segment", "segment", "agreement",
                                         [Series("asset\x1b[31m", [0, 1], [0.9, 0.8], style="bar"),
                                          Series("student", [0, 1], [0.8, 0.7], style="bar")],
                                         x_ticks=[hostile, "b\u2066c"]).to_dict()]
    evil["sections"][0]["notes"] = ["\u0645\u06cc\u200c\u062e \U0001fae8"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # matplotlib's "Glyph 27 (<ESC>) missing" would raise here
        out = render_html(evil)
    assert not any(ch in out for ch in "\x1b\x07\u202e\u2066")
    assert "kind=a\\x1b]0;pwned\\x07\\u202eb" in out and "col\\x1b[2J_<wbr>x" in out
    assert "asset\\x1b[31m" in out and "b\\u2066c" in out
    # A fixed set, the same on every Python: a Persian word's zero-width non-joiner stays, and so
    # does a code point this Python's Unicode database may not know (U+1FAE8, Unicode 15).
    assert "\u0645\u06cc\u200c\u062e \U0001fae8" in out


def test_numbers_are_formatted_and_right_aligned(html: str) -> None:
    cells = Page(html).cells[:16]  # the first section's table, row by row
    assert cells[:4] == [("", "auc"), ("num", "0.8123"), ("num", "0.8011"), ("num", "12,345")]
    assert cells[4:8] == [("", "ks"), ("", "\u2013"), ("num", "0.5"), ("num", "0")]
    # a missing value in a column of numbers is aligned with them; the teacher column holds a yes
    assert cells[8:12] == [("", "flagged"), ("", "yes"), ("num", "\u2013"), ("num", "-7")]
    # NaN cannot be in report.json (json_number makes it null): it shows as missing either way
    assert cells[12:16] == [("", "gini <x>"), ("", "\u2013"), ("num", "123,500"), ("num", "1,000,000")]


def test_every_number_of_a_section_is_listed(html: str) -> None:
    start = html.index('<section id="section_0"')
    part = html[start:html.index("</section>", start)]
    cells = Page(part).cells
    listed = dict(zip(cells[16::2], cells[17::2], strict=True))
    assert listed[("", "auc.teacher")] == ("num", "0.8123")
    assert listed[("", "auc.interval")] == ("", "[0.7, 0.9]")
    assert listed[("", "rows")] == ("num", "12,345")
    assert listed[("", "p_value")] == ("", "\u2013")
    assert listed[("", "per_band[0].psi")] == ("num", "0.01")
    assert "note 0: capped at 200 rows" in part


def test_plots_are_inline_svg_with_ids_unique_on_the_page(report: dict[str, Any], html: str) -> None:
    page = Page(html)
    assert sum(tag == "svg" for tag, _ in page.tags) == 25
    ids = page.ids()
    assert [i for i, n in Counter(ids).items() if n > 1] == []
    for s in report["sections"]:
        for p in s["plots"]:
            assert f'<figure id="{s["id"]}-plot-{p["id"]}">\n<svg class="plot"' in html
    # every reference inside an SVG (markers, clip paths, hatches) points at an id of the page
    refs = {(a.get("href") or "")[1:] for tag, a in page.tags if tag == "use"}
    refs |= {m for _, a in page.tags for v in a.values() if v for m in re.findall(r"url\(#([^)]+)\)", v)}
    assert refs and refs <= set(ids)


def test_rendering_is_a_pure_function_of_report_json() -> None:
    report = synthetic_report(5, 5)  # every kind of plot once: a smaller page renders faster
    html = render_html(report)
    assert render_html(json.loads(json.dumps(report))) == html
    assert render_html({**report, "unknown_key": object(), "data": {**report["data"], "other": 1}}) == html


def test_the_first_page_identifies_the_evidence() -> None:
    """Printed, the first page named only folders: the data's hashes were on page 15 of 17, a
    hold-out's file hash nowhere, and the code that built it on the last page (a validator's
    walk-through, 2026-12-07)."""
    report = synthetic_report(1, 1)
    report["data"] = {"source": "book.csv", "rows": 1000, "file_sha256": "f" * 64, "content_sha256": "c" * 64,
                      "holdout": {"source": "later.csv", "rows": 200, "file_sha256": "e" * 64,
                                  "content_sha256": "d" * 64}}
    report["finlite_code_sha256"] = "a" * 64
    header = render_html(report).split("</header>")[0]
    for key, value in (("Training data", "book.csv (1,000 rows)"), ("Training data: file sha256", "f" * 64),
                       ("Training data: content sha256", "c" * 64), ("Hold-out data", "later.csv (200 rows)"),
                       ("Hold-out data: file sha256", "e" * 64), ("Hold-out data: content sha256", "d" * 64),
                       ("finlite code sha256", "a" * 64)):
        assert f"<dt>{key}</dt><dd>{value}</dd>" in header


def test_rendering_gives_the_same_bytes_in_another_process(tmp_path: Any) -> None:
    report = synthetic_report(3, 3)
    path = tmp_path / "report.json"
    path.write_text(json.dumps(report), encoding="utf-8")
    code = ("import json, sys; from finlite.evaluate.html import render_html; "
            "sys.stdout.buffer.write(render_html(json.load(open(sys.argv[1]))).encode())")
    done = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, check=True, timeout=120,
                          env={"PYTHONHASHSEED": "123", "PATH": ""})
    assert done.stdout == render_html(report).encode()


def test_a_large_report_stays_small(html: str) -> None:
    size = len(html.encode("utf-8"))
    assert size < 2_000_000
    assert size < 25 * 40_000 + 200_000  # plots dominate: under 40 kB each


def test_missing_optional_keys_render(report: dict[str, Any]) -> None:
    minimal = {"sections": report["sections"][:2]}
    out = render_html(minimal)
    assert f"<title>{DEFAULT_TITLE}</title>" in out
    assert '<dl class="meta">' not in out
    assert "Overall: WARN (1 pass, 1 warn, 0 fail of 2 sections" in out
    out = render_html({"sections": [], "generated_from": "student@abc"})
    assert "Overall: PASS (0 pass, 0 warn, 0 fail of 0 sections" in out
    assert "<dt>Generated from</dt><dd>student@abc</dd>" in out


def test_the_page_prints(html: str) -> None:
    css = html[html.index("@media print"):html.index("</style>")]
    assert "break-inside: avoid" in css and "table, figure, svg, .badge" in css
    assert "print-color-adjust: exact" in html


def test_the_template_ships_with_the_package() -> None:
    assert resources.files("finlite").joinpath("templates", "report.html.j2").is_file()


@pytest.mark.parametrize(("change", "match"), [
    (lambda r: r.pop("sections"), r"no 'sections' list"),
    (lambda r: r["sections"][1].pop("status"), r"Section 2 of the report \('section_1'\) lacks 'status'"),
    (lambda r: r["sections"][0].update(status="OK"), r"status 'OK'; it must be one of PASS, WARN, FAIL"),
    (lambda r: r["sections"][1].update(id="section_0"), r"repeats the id 'section_0'"),
    (lambda r: r["sections"].append("text"), r"Section 4 of the report is a str"),
    (lambda r: r.update(status="GREEN"), r"report's status is 'GREEN'"),
])
def test_malformed_reports_are_refused(change: Any, match: str) -> None:
    rep = synthetic_report(3, 0)
    change(rep)
    with pytest.raises(DataError, match=match):
        render_html(rep)


def test_nan_never_reaches_the_page_as_text(html: str) -> None:
    # the synthetic table holds a NaN (gini <x>, teacher) as a report built by hand might
    assert all("nan" not in text.lower() and "inf" not in text.lower() for _, text in Page(html).cells)


def test_omitted_sections_are_listed_with_their_reason(report: dict[str, Any]) -> None:
    rep = {**report, "omitted": [{"id": "fairness", "reason": "no protected column named (--protected) <x>"},
                                 "junk", {"reason": "no id: ignored"}]}
    out = render_html(rep)
    assert '<li><code>fairness</code>: no protected column named (--protected) &lt;x&gt;</li>' in out
    assert out.count("<li><code>") == 1
    assert "Not in this report" not in render_html({**report, "omitted": []})


def test_a_table_and_a_plot_with_the_same_id_get_different_anchors() -> None:
    section = Section(id="stability", title="Stability", status="PASS", threshold="PSI < 0.1", summary="stable",
                      metrics={"psi": 0.01},
                      tables=[Table(id="psi_student", caption="PSI bins", columns=["bin"], rows=[[1]])],
                      plots=[Plot(id="psi_student", title="PSI", x_label="bin", y_label="share",
                                  series=[Series(name="s", x=[1.0, 2.0], y=[0.5, 0.5], style="bar")])])
    page = Page(render_html({"title": "t", "sections": [section.to_dict()]}))
    ids = page.ids()
    assert "stability-table-psi_student" in ids and "stability-plot-psi_student" in ids
    assert [i for i, n in Counter(ids).items() if n > 1] == []


def test_the_data_preparation_is_listed_escaped_and_a_damaged_one_is_named() -> None:
    """How the table became the inputs is in report.html too (a validator's walk-through,
    2026-12-05); report.json is read back from disk, so a field of another shape is a DataError
    naming it, not a TypeError (a review, 2026-12-05)."""
    rep = synthetic_report(3, 0)
    rep["data"] = {"preparation": {"target": "bad", "positive": "yes", "dropped": ["<script>x</script>"],
                                   "money": ["GrAppv"], "notes": ["column 'Bank': 2,524 values"]}}
    out = render_html(rep)
    assert "Data preparation" in out and "<li>target bad, positive class yes</li>" in out
    assert "<li>columns dropped: &lt;script&gt;x&lt;/script&gt;</li>" in out and "<script>x" not in out
    assert "<li>read as money written as text: GrAppv</li>" in out
    assert "<li>column &#39;Bank&#39;: 2,524 values</li>" in out
    for bad, field in (({"notes": 5}, "data.preparation.notes is int"), (7, "data.preparation is int")):
        rep["data"] = {"preparation": bad}
        with pytest.raises(DataError, match=field):
            render_html(rep)
    del rep["data"]
    assert "Data preparation" not in render_html(rep)
