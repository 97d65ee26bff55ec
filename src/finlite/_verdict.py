"""A validation report's verdict, read from its ``report.json`` dict: what ``compress``,
``export``, ``serve`` and ``score`` say of a report that is not PASS. Plain Python, so the
torch-free runtime reads it without the report's own (numpy, pandas) modules."""

from __future__ import annotations

from typing import Any

__all__ = ["STATUSES", "report_verdict", "unbuilt_sections"]

#: From best to worst; a report's status is its worst section's.
STATUSES: tuple[str, ...] = ("PASS", "WARN", "FAIL")


def unbuilt_sections(report: Any) -> list[str]:
    """The ids of the sections a report (``report.json``'s dict) could not build: each one makes
    it at least WARN, with every built section PASS (``jobs/report.py``). Said with the verdict,
    which read "WARN (every section PASS)" without them; tolerant of a malformed ``omitted``."""
    omitted = report.get("omitted") if isinstance(report, dict) else None
    return [str(o.get("id")) for o in (omitted if isinstance(omitted, list) else [])
            if isinstance(o, dict) and o.get("error")]


def report_verdict(report: Any) -> tuple[str, str] | None:
    """(the report's status, "FAIL in a, b; WARN in c; not built: d") from ``report.json``'s dict;
    None where it records no status."""
    try:
        status = report["status"]
        sections = [(str(sec.get("id")), sec.get("status")) for sec in report.get("sections", [])]
    except (ValueError, AttributeError, TypeError, KeyError):
        return None
    if status not in STATUSES:
        return None
    failed = [sid for sid, st in sections if st == "FAIL"]
    warned = [sid for sid, st in sections if st == "WARN"]
    parts = ([f"FAIL in {', '.join(failed)}"] if failed else []) + ([f"WARN in {', '.join(warned)}"] if warned else [])
    # A section that could not be built makes the report WARN with every built section PASS: it
    # read "WARN (every section PASS)", naming nothing to read (note60, left alone).
    unbuilt = unbuilt_sections(report)
    if unbuilt:
        parts.append(f"not built: {', '.join(unbuilt)}")
    return str(status), "; ".join(parts) or "every section PASS"
