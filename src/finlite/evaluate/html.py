"""``report.html``: the validation report as one self-contained page, a pure function of ``report.json``.

:func:`render_html` reads the report dict (``{"title", "status", "task", "generated_from",
"sections": [Section dicts], …}``; other keys are ignored) and fills the packaged Jinja2 template
``finlite/templates/report.html.j2``: a header with the overall badge, a table of contents, then
one ``<section id="…">`` per report section with its PASS / WARN / FAIL badge, summary, rule,
tables, plots (inline SVG from :func:`finlite.evaluate.plots.plot_svg`), notes and every number.

The page has no script and no URL: a Content-Security-Policy meta forbids the browser to fetch
anything, all CSS is inline (with print rules), and nothing in it depends on the clock or the
machine, so the same ``report.json`` always gives the same bytes. Jinja2 escapes every value
(autoescape) and fails on a name the template does not get (``StrictUndefined``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np

from finlite._util import document_safe
from finlite.errors import DataError
from finlite.evaluate.sections import MAX_POINTS, STATUSES, Section, Table, worst

if TYPE_CHECKING:
    from jinja2 import Template
    from markupsafe import Markup

__all__ = ["DEFAULT_TITLE", "format_cell", "omitted_sections", "render_html", "report_sections"]

DEFAULT_TITLE = "finlite validation report"
#: What a table shows for a number that could not be computed (null in report.json).
MISSING = "\u2013"
_TEMPLATE = ("templates", "report.html.j2")
_REQUIRED = ("id", "title", "status", "threshold", "summary")


def format_cell(value: Any) -> str:
    """A value as a report shows it: integers with thousands separators (``12,345``), floats to 4
    significant digits (``0.8123``, ``1.235e-05``; from 10,000 up as a rounded whole number with
    separators, ``123,500``), None and non-finite numbers as an en dash, booleans as yes / no,
    text as is, anything else as compact JSON."""
    if value is None:
        return MISSING
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}"
    if isinstance(value, (float, np.floating)):
        f = float(value)
        if not math.isfinite(f):
            return MISSING
        if f == 0:
            return "0"  # also -0.0
        if 1e4 <= abs(f) < 1e15:
            return f"{float(f'{f:.4g}'):,.0f}"
        return f"{f:.4g}"
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(", ", ": "), default=str)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


#: What a report's plots may hold in all, read back from report.json (finlite's own: about 16
#: plots, 80 tick labels and 2,200 points; a tick label per feature on a wide table's reasons plot).
MAX_PLOTS, MAX_TICKS, MAX_PLOTTED, MAX_BARS_DRAWN = 200, 5_000, 200_000, 10_000


def report_sections(report: Mapping[str, Any]) -> list[Section]:
    """The sections of a report dict, checked: each has the keys a section needs, a known status
    and an id of its own (it is the page's anchor).

    Raises:
        DataError: naming the section (by position and id) and what is wrong with it.
    """
    if not isinstance(report, Mapping):
        raise DataError(f"A report must be a mapping (report.json's object); got {type(report).__name__}.")
    raw = report.get("sections")
    if not isinstance(raw, list):
        raise DataError("The report has no 'sections' list: report.json must hold the sections as a list of "
                        "objects (build it with finlite's report builder).")
    sections: list[Section] = []
    seen: set[str] = set()
    plots = ticks = points = bars = 0  # running totals of what the report would draw
    for i, d in enumerate(raw):
        where = f"Section {i + 1} of the report"
        if not isinstance(d, Mapping):
            raise DataError(f"{where} is a {type(d).__name__}, not an object with {', '.join(_REQUIRED)}.")
        missing = [k for k in _REQUIRED if k not in d]
        if missing:
            raise DataError(f"{where} ({d.get('id', 'no id')!r}) lacks {', '.join(map(repr, missing))}; every "
                            f"section needs {', '.join(_REQUIRED)}.")
        if d["status"] not in STATUSES:
            raise DataError(f"{where} ({d['id']!r}) has status {d['status']!r}; it must be one of "
                            f"{', '.join(STATUSES)}.")
        try:
            section = Section.from_dict(d)
        except (KeyError, TypeError, ValueError) as exc:
            raise DataError(f"{where} ({d['id']!r}) cannot be read: {exc}.") from exc
        plots += len(section.plots)
        ticks += sum(len(p.x_ticks or ()) for p in section.plots)
        points += sum(len(series.x) for p in section.plots for series in p.series)
        bars += sum(len(series.x) for p in section.plots for series in p.series if series.style in ("bar", "scatter"))
        if plots > MAX_PLOTS or ticks > MAX_TICKS or points > MAX_PLOTTED or bars > MAX_BARS_DRAWN:
            # Drawing is the costly part of a report (20,000 tick labels in one plot of a 363 KB
            # report.json took 88 s; a bar about 1.4 ms; a security review, 2026-12-04 night):
            # bounded before it starts.
            raise DataError(f"{where} ({d['id']!r}) brings the report's plots to {plots:,} plots, {ticks:,} tick "
                            f"labels, {points:,} points and {bars:,} bars or markers; finlite draws at most "
                            f"{MAX_PLOTS:,}, {MAX_TICKS:,}, {MAX_PLOTTED:,} and {MAX_BARS_DRAWN:,} (its own reports "
                            f"hold far fewer: curves are thinned to {MAX_POINTS} points). Build the report again "
                            "from the data.")
        if section.id in seen:
            raise DataError(f"{where} repeats the id {section.id!r}; each section's id must be unique "
                            "(it is the page's anchor and the key in report.json).")
        seen.add(section.id)
        sections.append(section)
    return sections


def _flatten(value: Any, key: str = "") -> Iterator[tuple[str, Any]]:
    """``(dotted.key, scalar)`` for every leaf of nested metrics; a list of scalars stays one leaf."""
    if isinstance(value, Mapping):
        for k, v in value.items():
            yield from _flatten(v, f"{key}.{k}" if key else str(k))
    elif isinstance(value, (list, tuple)) and any(isinstance(v, (Mapping, list, tuple)) for v in value):
        for i, v in enumerate(value):
            yield from _flatten(v, f"{key}[{i}]")
    elif isinstance(value, (list, tuple)):
        yield key, "[" + ", ".join(format_cell(v) for v in value) + "]"
    else:
        yield key, value


def _numeric_columns(rows: list[list[Any]], width: int) -> list[bool]:
    """Per column: does it hold numbers only (and missing values)? Such a column is right-aligned."""
    return [any(_is_number(r[j]) for r in rows if j < len(r))
            and all(_is_number(r[j]) or r[j] is None for r in rows if j < len(r)) for j in range(width)]


def _table(table: Table, anchor: str) -> dict[str, Any]:
    """A table as the template shows it: cells as ``(text, right-aligned)``; numbers are, and so are
    a missing value and the header of a column of numbers."""
    width = max([len(table.columns), *(len(r) for r in table.rows)])
    numeric = _numeric_columns(table.rows, width)
    rows = [[(format_cell(c), _is_number(c) or (c is None and numeric[j])) for j, c in enumerate(row)]
            for row in table.rows]
    columns = [(format_cell(c), numeric[j]) for j, c in enumerate(table.columns)]
    return {"anchor": anchor, "caption": table.caption, "columns": columns, "rows": rows}


def _meta(report: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The header's facts: the task, where the report came from, and what identifies its evidence
    on the first page: the data's file and content sha256, a hold-out's too, and the code that
    built it. Printed, the first page named only folders, the data's hashes were on page 15 of 17
    and a hold-out's file hash nowhere (a validator's walk-through, 2026-12-07)."""
    meta: list[tuple[str, str]] = []
    if report.get("task") is not None:
        meta.append(("Task", format_cell(report["task"])))
    source = report.get("generated_from")
    if isinstance(source, Mapping):
        meta.extend((str(k).replace("_", " ").capitalize(), format_cell(v)) for k, v in source.items())
    elif source is not None:
        meta.append(("Generated from", format_cell(source)))
    data = report.get("data")
    if isinstance(data, Mapping):
        for label, part in (("Training data", data), ("Hold-out data", data.get("holdout"))):
            if not isinstance(part, Mapping) or part.get("source") is None:
                continue
            rows = part.get("rows")
            meta.append((label, format_cell(part["source"]) + (f" ({format_cell(rows)} rows)" if rows is not None
                                                               else "")))
            for key, name in (("file_sha256", "file sha256"), ("content_sha256", "content sha256")):
                if part.get(key) is not None:
                    meta.append((f"{label}: {name}", format_cell(part[key])))
    if report.get("finlite_code_sha256") is not None:
        meta.append(("finlite code sha256", format_cell(report["finlite_code_sha256"])))
    return meta


def _view(report: Mapping[str, Any]) -> dict[str, Any]:
    """Everything the template shows, with every value already a string (or SVG markup)."""
    from markupsafe import Markup

    from finlite.evaluate.plots import plot_svg

    sections = report_sections(report)
    status = report.get("status")
    if status is None:
        status = worst(s.status for s in sections)
    elif status not in STATUSES:
        raise DataError(f"The report's status is {status!r}; it must be one of {', '.join(STATUSES)} (or absent: "
                        "then the worst section's status is shown).")
    counts = {s: sum(sec.status == s for sec in sections) for s in STATUSES}
    view_sections = []
    for sec in sections:
        # A table and a plot may share an id (the PSI table and its chart): the anchor says which.
        tables = [_table(t, f"{sec.id}-table-{t.id}") for t in sec.tables]
        # The SVG is built here from numbers (its text escaped by matplotlib), so it may go in as markup.
        plots = [{"anchor": f"{sec.id}-plot-{p.id}", "svg": Markup(plot_svg(p, id_prefix=f"{sec.id}-plot-{p.id}"))}
                 for p in sec.plots]
        metrics = [(k, format_cell(v), _is_number(v)) for k, v in _flatten(sec.metrics)]
        view_sections.append({"id": sec.id, "title": sec.title, "status": sec.status, "threshold": sec.threshold,
                              "summary": sec.summary, "tables": tables, "plots": plots, "notes": list(sec.notes),
                              "metrics": metrics})
    return {"title": format_cell(report.get("title") or DEFAULT_TITLE), "status": status, "counts": counts,
            "meta": _meta(report), "preparation": _preparation(report), "sections": view_sections,
            "omitted": omitted_sections(report)}


def _preparation(report: Mapping[str, Any]) -> list[str]:
    """How the table became the models' inputs (``data.preparation``: the target, the columns
    dropped, money read from text, the schema's notes), one line each; empty when the report
    does not say."""
    data = report.get("data")
    prep = data.get("preparation") if isinstance(data, Mapping) else None
    if prep is None:
        return []
    if not isinstance(prep, Mapping):
        raise DataError(f"The report's data.preparation is {type(prep).__name__}; it must be a mapping. The "
                        "report.json was edited or damaged; rebuild it (finlite report ARTIFACT DATA).")

    def listed(key: str) -> list[str]:
        # report.json is read back from disk by `finlite report`: a field of another shape is named,
        # not a TypeError (a review, 2026-12-05).
        value = prep.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            raise DataError(f"The report's data.preparation.{key} is {type(value).__name__}; it must be a list. The "
                            "report.json was edited or damaged; rebuild it (finlite report ARTIFACT DATA).")
        return [format_cell(v) for v in value]

    lines = []
    if prep.get("target") is not None:
        lines.append(f"target {format_cell(prep['target'])}, positive class {format_cell(prep.get('positive'))}")
    lines.append("columns dropped: " + (", ".join(listed("dropped")) or "none"))
    money = listed("money")
    if money:
        lines.append("read as money written as text: " + ", ".join(money))
    return lines + listed("notes")


def omitted_sections(report: Mapping[str, Any]) -> list[tuple[str, str]]:
    """``(id, reason)`` of each section the report left out (``report["omitted"]``: a list of
    ``{"id", "reason"}``), so a reader sees that it was not forgotten; anything else there is ignored."""
    raw = report.get("omitted")
    if not isinstance(raw, list):
        return []
    return [(format_cell(o.get("id")), format_cell(o.get("reason"))) for o in raw
            if isinstance(o, Mapping) and o.get("id") is not None]


def _breakable(text: str) -> Markup:
    """``text`` escaped, with a line-break opportunity after each underscore: a wide table of
    snake_case headers ("teacher_lower") then fits the page instead of running off it."""
    from markupsafe import Markup, escape

    return Markup(str(escape(document_safe(str(text)))).replace("_", "_<wbr>"))


def _written_out(value: Any) -> Any:
    """Every value the template prints, with the characters a terminal acts on and the
    bidirectional controls written out (:func:`finlite._util.document_safe`): a segment value or a
    column name from the data sat raw in report.html (an escape sequence acts on a terminal that
    shows the file; a right-to-left override reverses a value in a browser). Markup (the plots'
    SVG, the filters' output) is the renderer's own and passes as it is."""
    from markupsafe import Markup

    return document_safe(value) if isinstance(value, str) and not isinstance(value, Markup) else value


@lru_cache(maxsize=1)
def _template() -> Template:
    from importlib import resources

    from jinja2 import Environment, StrictUndefined

    text = resources.files("finlite").joinpath(*_TEMPLATE).read_text(encoding="utf-8")
    env = Environment(autoescape=True, undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                      keep_trailing_newline=True, auto_reload=False, finalize=_written_out)
    env.filters["breakable"] = _breakable
    return env.from_string(text)


def render_html(report: Mapping[str, Any]) -> str:
    """``report.html`` for ``report`` (the dict written as ``report.json``): a pure function of it.

    Renders the keys that are there: ``title`` (default "finlite validation report"), ``status``
    (default: the worst section's), ``task``, ``generated_from`` (a mapping, e.g. artifact name and
    manifest sha256, or a string), ``omitted`` (sections left out, with the reason) and ``sections``
    (required: a list of
    :meth:`Section.to_dict <finlite.evaluate.sections.Section.to_dict>` dicts, in report order).
    Other keys are ignored.

    Raises:
        DataError: when the sections are missing or malformed (see :func:`report_sections`) or the
            status is not PASS, WARN or FAIL.
    """
    return _template().render(**_view(report))
