"""Evidence assembled from real predictions: per-model metrics, fidelity, cost, and renderings."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from finlite._finite import check_scores
from finlite.evaluate.cost import cost_metrics
from finlite.evaluate.fidelity import fidelity_metrics
from finlite.evaluate.metrics import classification_metrics
from finlite.models.base import FinliteModel

__all__ = ["compare_models", "model_evidence", "render_markdown", "render_table"]


def _scores(model: FinliteModel, x: np.ndarray) -> np.ndarray:
    scores = model.predict_proba(torch.from_numpy(x)).numpy().astype(np.float64)
    # A NaN score would give metrics beside "brier nan" and a decision of "not flagged": refuse.
    check_scores(scores, "the evaluated data")
    return scores


def model_evidence(model: FinliteModel, x: np.ndarray, y: np.ndarray, cutoff: float, *,
                   timing: bool = True) -> tuple[dict[str, Any], np.ndarray]:
    """Quality and cost metrics of one model on (x, y), and its scores.

    Raises:
        ScoreError: the model returned a NaN or infinite score for some row (rows are 1-based
            positions in ``x``); no metric is computed from it.
    """
    p = _scores(model, x)
    metrics = classification_metrics(y, p, cutoff)
    metrics.update(cost_metrics(model, x.shape[1], timing=timing))
    return metrics, p


def compare_models(teacher: FinliteModel, student: FinliteModel, x: np.ndarray, y: np.ndarray, cutoff: float, *,
                   timing: bool = True, split: str = "test", x_teacher: np.ndarray | None = None) -> dict[str, Any]:
    """Teacher and student side by side on the same rows, with fidelity and size/speed ratios.

    ``x_teacher`` is the teacher's encoding of the rows when it differs from the student's.
    """
    x_t = x if x_teacher is None else x_teacher
    t_metrics, p_t = model_evidence(teacher, x_t, y, cutoff, timing=timing)
    s_metrics, p_s = model_evidence(student, x, y, cutoff, timing=timing)
    ratios = {
        "size_ratio": t_metrics["model_bytes"] / s_metrics["model_bytes"],
        "parameter_ratio": t_metrics["parameters"] / max(s_metrics["nonzero_parameters"], 1),
        "auc_drop": t_metrics["auc"] - s_metrics["auc"],
    }
    if timing:
        ratios["latency_p50_speedup"] = t_metrics["latency_p50_us"] / s_metrics["latency_p50_us"]
    return {"split": split, "rows": int(len(y)), "teacher": t_metrics, "student": s_metrics,
            "fidelity": fidelity_metrics(p_t, p_s, y, cutoff), "ratios": ratios}


def _fmt(value: Any, kind: str) -> str:
    if value is None:
        return "-"
    if kind == "pct":
        return f"{value:.1%}"
    if kind == "int":
        return f"{int(value):,}"
    if kind == "bytes":
        return f"{value / 1024:.1f} KiB"
    if kind == "us":
        return f"{value:.0f} µs"
    return f"{value:.4f}"


_ROWS = [("AUC", "auc", "f"), ("Gini", "gini", "f"), ("KS", "ks", "f"), ("F1 at cut-off", "f1", "f"),
         ("accuracy at cut-off", "accuracy", "f"), ("Brier", "brier", "f"), ("log loss", "log_loss", "f"),
         ("parameters (non-zero)", "nonzero_parameters", "int"), ("size on disk", "model_bytes", "bytes"),
         ("FLOPs per row", "flops_per_row", "int"), ("latency p50 (batch 1)", "latency_p50_us", "us"),
         ("latency p99 (batch 1)", "latency_p99_us", "us"), ("rows/s (batch 4096)", "rows_per_second", "int")]


def _rows(report: dict[str, Any]) -> list[tuple[str, str, str]]:
    t, s, f = report["teacher"], report["student"], report["fidelity"]
    rows = [(label, _fmt(t.get(key), kind), _fmt(s.get(key), kind)) for label, key, kind in _ROWS if key in t]
    rows.append(("agreement at cut-off", "", _fmt(f["agreement"], "pct")))
    rows.append(("PSI (student vs teacher)", "", _fmt(f["psi"], "f")))
    rows.append(("Spearman rank correlation", "", _fmt(f["spearman"], "f")))
    return rows


def render_table(report: dict[str, Any], names: tuple[str, str] = ("teacher", "student")) -> str:
    """Plain-text table, teacher and student side by side, for the terminal.

    ``names`` labels the two columns (e.g. "baseline" and "candidate" for ``finlite evaluate``).
    """
    rows = _rows(report)
    head = ("metric", *names)
    widths = [max(len(r[i]) for r in [*rows, head]) for i in range(3)]
    line = lambda r: f"{r[0]:<{widths[0]}}  {r[1]:>{widths[1]}}  {r[2]:>{widths[2]}}"  # noqa: E731
    out = [f"{report['split']} split, {report['rows']} rows, cut-off {report['fidelity']['cutoff']:g}",
           line(head), line(tuple("-" * w for w in widths))]
    out.extend(line(r) for r in rows)
    ratios = report["ratios"]
    out.append(f"{names[1]} is {ratios['size_ratio']:.1f}x smaller on disk; AUC drop {ratios['auc_drop']:+.4f}")
    return "\n".join(out)


def render_markdown(report: dict[str, Any], title: str = "finlite compression report",
                    sections: dict[str, str] | None = None) -> str:
    """Markdown report: the side-by-side table, the swap set, and any extra ``sections``
    (heading → preformatted text, e.g. the pruning plan's summary)."""
    lines = [f"# {title}", "", f"Evaluated on the {report['split']} split ({report['rows']} rows); "
             f"cut-off {report['fidelity']['cutoff']:g} on P(positive).", "",
             "| metric | teacher | student |", "|---|---:|---:|"]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in _rows(report)]
    lines += ["", "## Swap set (rows: teacher decision, columns: student decision)", "",
              "| | student positive | student negative |", "|---|---:|---:|"]
    cells = report["fidelity"]["swap_set"]
    for t in ("teacher_positive", "teacher_negative"):
        row = []
        for s in ("student_positive", "student_negative"):
            cell = cells[f"{t}/{s}"]
            rate = "-" if cell["positive_rate"] is None else f"{cell['positive_rate']:.1%}"
            row.append(f"{cell['count']} (bad rate {rate})")
        lines.append(f"| {t.replace('_', ' ')} | {row[0]} | {row[1]} |")
    for heading, text in (sections or {}).items():
        lines += ["", f"## {heading}", "", "```", text, "```"]
    return "\n".join(lines) + "\n"
