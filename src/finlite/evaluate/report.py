"""Evidence assembled from real predictions: per-model metrics, fidelity, cost, and renderings."""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from finlite._finite import check_scores
from finlite._timing import TIMED_NAMES
from finlite._util import percent
from finlite.evaluate.cost import Timer, cost_metrics, eager_latency
from finlite.evaluate.model_card import fenced
from finlite.evaluate.operating import MIN_ALERTS, OperatingPoint, decides_what, rate_name
from finlite.evaluate.summary_report import weights_words
from finlite.models.base import FinliteModel
from finlite.tasks import DEFAULT_TASK, SeriesRows, get_task

__all__ = ["compare_models", "model_evidence", "render_markdown", "render_table"]


def _scores(model: FinliteModel, x: np.ndarray, task: str) -> np.ndarray:
    scores = get_task(task).scores(model, x)
    # A NaN score would give metrics beside "brier nan" and a decision of "not flagged": refuse.
    check_scores(scores, "the evaluated data")
    return scores


def model_evidence(model: FinliteModel, x: np.ndarray, y: np.ndarray, cutoff: float | None, *,
                   timing: bool = True, task: str = DEFAULT_TASK,
                   timer: Timer | None = None, model_bytes: int | None = None) -> tuple[dict[str, Any], np.ndarray]:
    """Quality and cost metrics of one model on (x, y) for its ``task``, and its predictions.

    ``cutoff`` is the operating point of a binary classifier (None for regression). With
    ``timing``, ``timer`` measures latency and rows per second on the rows ``x``: the jobs pass
    :func:`finlite.export.timing.report_timer`, the deployed model (its ONNX export in the runtime
    Predictor's session); without one it is torch eager. ``"timed"`` records which.
    ``model_bytes`` is the size of a saved model's weights file, reported instead of the size
    this finlite would write (an artifact of an earlier weights format has its own).

    Raises:
        ScoreError: the model returned a NaN or infinite score for some row (rows are 1-based
            positions in ``x``); no metric is computed from it.
    """
    p = _scores(model, x, task)
    metrics = get_task(task).metrics(y, p, cutoff)
    # One input is a row of features, or a window [steps, features] for a forecaster.
    metrics.update(cost_metrics(model, int(x.shape[-1]) if x.ndim == 2 else tuple(x.shape[1:]), timing=False))
    if model_bytes is not None:
        metrics["model_bytes"] = int(model_bytes)
    if timing:
        metrics.update((timer or eager_latency)([model], [x])[0])
    return metrics, p


def compare_models(teacher: FinliteModel, student: FinliteModel, x: np.ndarray, y: np.ndarray, cutoff: float | None,
                   *, timing: bool = True, split: str = "test", x_teacher: np.ndarray | None = None,
                   task: str = DEFAULT_TASK, operating_point: OperatingPoint | None = None,
                   rows: SeriesRows | None = None, timer: Timer | None = None,
                   sizes: tuple[int, int] | None = None) -> dict[str, Any]:
    """Teacher and student side by side on the same rows, with fidelity and size/speed ratios.

    ``x_teacher`` is the teacher's encoding of the rows when it differs from the student's.
    ``sizes`` are the (teacher, student) weights files' bytes of saved models (see
    :func:`model_evidence`'s ``model_bytes``).
    ``task`` chooses the metrics and fidelity measures (:mod:`finlite.tasks`); for a binary
    classifier the fidelity holds agreement and the alert overlap at ``cutoff`` and over the band of
    flag rates (``agreement_band``), and ``operating_point`` (how the cut-off was set) is reported with it.
    ``rows`` (the dates and horizon of a series' windows, :func:`finlite.tasks.series_rows`) puts a
    forecaster's Diebold–Mariano test at its horizon and per date. With ``timing``, ``timer`` times
    both models side by side, each on its own encoding (see :func:`model_evidence`).
    """
    kind = get_task(task)
    x_t = x if x_teacher is None else x_teacher
    t_bytes, s_bytes = sizes if sizes is not None else (None, None)
    t_metrics, p_t = model_evidence(teacher, x_t, y, cutoff, timing=False, task=task, model_bytes=t_bytes)
    s_metrics, p_s = model_evidence(student, x, y, cutoff, timing=False, task=task, model_bytes=s_bytes)
    if timing:  # side by side (the deployed timer alternates rounds): they share the machine's load
        t_time, s_time = (timer or eager_latency)([teacher, student], [x_t, x])
        t_metrics.update(t_time)
        s_metrics.update(s_time)
    ratios = {
        "size_ratio": t_metrics["model_bytes"] / s_metrics["model_bytes"],
        "parameter_ratio": t_metrics["parameters"] / max(s_metrics["nonzero_parameters"], 1),
    }
    for metric in kind.higher_better[:1]:  # the headline metric: AUC for binary, R² for regression
        ratios[f"{metric}_drop"] = t_metrics[metric] - s_metrics[metric]
    for metric in kind.lower_better[:1] if not kind.decides else ():  # and a forecast's headline error
        ratios[f"{metric}_increase"] = s_metrics[metric] - t_metrics[metric]
    if timing and t_metrics.get("timed") == s_metrics.get("timed"):
        # Only like with like: a torch eager time over an ONNX Runtime one is no speed-up.
        ratios["latency_p50_speedup"] = t_metrics["latency_p50_us"] / s_metrics["latency_p50_us"]
    report: dict[str, Any] = {"split": split, "rows": len(y), "task": kind.name, "teacher": t_metrics,
                              "student": s_metrics, "fidelity": kind.fidelity(p_t, p_s, y, cutoff, rows), "ratios": ratios}
    if rows is not None and rows.objective is not None:
        report["objective"] = rows.objective
    if kind.decides and cutoff is not None:
        point = operating_point if operating_point is not None else OperatingPoint(cutoff=float(cutoff),
                                                                                   method="cutoff")
        report["operating_point"] = {**point.to_dict(), "description": point.describe(rate_name(kind.name)),
                                     "flagged_by_teacher": t_metrics.get("flagged_rate"),
                                     "flagged_by_student": s_metrics.get("flagged_rate")}
    return report


def _fmt(value: Any, kind: str) -> str:
    if value is None:
        return "-"
    if kind == "pct":
        return f"{value:.1%}"
    if kind == "share":  # a share of rows flagged: a fraud rate keeps its digits (percent)
        return percent(value)
    if kind == "int":
        return f"{int(value):,}"
    if kind == "bytes":
        return f"{value / 1024:.1f} KiB"
    if kind == "us":
        return f"{value:.0f} µs"
    return f"{value:.4f}"


_ROWS = [("AUC", "auc", "f"), ("Gini", "gini", "f"), ("KS", "ks", "f"),
         # What a rare class is judged by (fraud at 0.2 %): they were in --json only (a review, 2026-12-03).
         ("PR-AUC", "pr_auc", "f"), ("recall at 0.1 % FPR", "recall_at_0.1pct_fpr", "f"), ("F1 at cut-off", "f1", "f"),
         ("precision at cut-off", "precision", "f"), ("recall at cut-off", "recall", "f"),
         ("accuracy at cut-off", "accuracy", "f"), ("flagged at cut-off", "flagged_rate", "share"),
         ("Brier", "brier", "f"), ("log loss", "log_loss", "f"),
         ("RMSE", "rmse", "f"), ("MAE", "mae", "f"), ("R²", "r2", "f"), ("directional accuracy", "directional_accuracy", "pct"),
         ("parameters (non-zero)", "nonzero_parameters", "int"), ("weights on disk", "model_bytes", "bytes"),
         ("FLOPs per row", "flops_per_row", "int"),
         # A pruned student's dense count made it look costlier than its teacher (a validator's walk-through).
         ("FLOPs per row (non-zero weights)", "flops_per_row_nonzero", "int"),
         ("latency p50 (batch 1, encoded row)", "latency_p50_us", "us"),
         ("latency p99 (batch 1, encoded row)", "latency_p99_us", "us"), ("rows/s", "rows_per_second", "int")]


def _metric_row(label: str, key: str, kind: str, t: dict[str, Any], s: dict[str, Any]) -> tuple[str, str, str]:
    if key == "rows_per_second":  # with the batch it was measured at: in the label, or per model if they differ
        batches = (t.get("batch"), s.get("batch"))
        if batches[0] == batches[1]:
            return (f"{label} (batch {batches[0]:,})" if batches[0] else label), _fmt(t.get(key), kind), \
                _fmt(s.get(key), kind)
        cells = [_fmt(m.get(key), kind) + (f" (batch {b:,})" if b else "") for m, b in zip((t, s), batches, strict=True)]
        return label, cells[0], cells[1]
    if key == "recall_at_0.1pct_fpr":
        rows, positives = t.get("rows"), t.get("positives")
        if isinstance(rows, int) and isinstance(positives, int) and rows - positives < 1000:
            # Under 1,000 negatives, 0.1 % of them is less than one row: the recall at no false
            # positive at all, which one row moves (a validator's walk-through, 2026-12-06).
            label = f"{label} (at no false positive: {rows - positives:,} negatives)"
    return label, _fmt(t.get(key), kind), _fmt(s.get(key), kind)


def _ci_text(ci: Any) -> str:
    """An interval as the tables show it ("95% CI 68.0–83.5%"), or "" where none was recorded (a
    report written before intervals were, or nothing counted)."""
    if not isinstance(ci, (list, tuple)) or len(ci) != 2 or None in ci:
        return ""
    return f"95% CI {percent(float(ci[0]))}–{percent(float(ci[1]))}"


def _overlap_cell(f: dict[str, Any]) -> str:
    """The alert overlap with its counts, from the swap set, and its interval:
    "76.4% (97 / 127; 95% CI 68.0–83.5%)"."""
    cells = f.get("swap_set") or {}

    def count(key: str) -> int:
        return int((cells.get(key) or {}).get("count") or 0)
    both = count("teacher_positive/student_positive")
    either = both + count("teacher_positive/student_negative") + count("teacher_negative/student_positive")
    if f.get("alert_overlap") is None:
        return "- (neither flags a row)"
    said = [f"{both:,} / {either:,}"] if cells else []
    said += [ci] if (ci := _ci_text(f.get("alert_overlap_ci"))) else []
    return _fmt(f["alert_overlap"], "pct") + (f" ({'; '.join(said)})" if said else "")


def _rows(report: dict[str, Any]) -> list[tuple[str, str, str]]:
    t, s, f = report["teacher"], report["student"], report["fidelity"]
    if report.get("task") == "direction":
        # A direction forecaster's positives are its up calls, and a fraud desk's recall at a
        # 0.1 % false-positive rate means nothing for daily moves (a quant's walk-through, 2026-12-05).
        table = [("called up at cut-off", k, kind) if k == "flagged_rate" else (label, k, kind)
                 for label, k, kind in _ROWS if k != "recall_at_0.1pct_fpr"]
    else:
        table = _ROWS
    rows = [_metric_row(label, key, kind, t, s) for label, key, kind in table if key in t
            # The non-zero count only where it differs from the dense one (a pruned model).
            and (key != "flops_per_row_nonzero" or t.get(key) != t.get("flops_per_row")
                 or s.get(key) != s.get("flops_per_row"))]
    if "timed" in t or "timed" in s:
        rows.append(("timed in", TIMED_NAMES.get(t.get("timed", ""), "-"), TIMED_NAMES.get(s.get("timed", ""), "-")))
    if "agreement" in f and "psi" not in f:  # a forecast: the sign of the teacher's forecast kept
        signed = report.get("objective") != "volatility"  # a volatility is never below 0: no sign to keep
        if signed:
            rows.append(("agreement (same sign as teacher)", "", _fmt(f["agreement"], "pct")))
        rows.append(("DM p-value vs teacher (worse)", "", _fmt(f.get("dm_pvalue"), "f")))
        if signed:
            rows.append(("directional accuracy vs teacher, McNemar p (worse)", "", _fmt(f.get("da_pvalue"), "f")))
        if f.get("ic_pvalue") is not None:  # a panel's ranking of its assets
            rows.append(("cross-sectional IC vs teacher, p (worse)", "", _fmt(f["ic_pvalue"], "f")))
        rows.append(("RMSE vs teacher", "", _fmt(f["rmse_vs_teacher"], "f")))
        rows.append(("correlation with teacher", "", _fmt(f["correlation"], "f")))
    elif "agreement" in f:
        ci = _ci_text(f.get("agreement_ci"))
        rows.append(("agreement at cut-off", "", _fmt(f["agreement"], "pct") + (f" ({ci})" if ci else "")))
        direction = report.get("task") == "direction"  # its "alerts" are its up calls
        if "alert_overlap" in f:  # absent from a report written before it existed
            rows.append((f"{'up calls' if direction else 'alert'} overlap at cut-off (both / either)", "",
                         _overlap_cell(f)))
        for point in f.get("agreement_band", []):
            flagged, really = point.get("student_flagged"), point.get("teacher_flagged")
            said = [f"{'calls up' if direction else 'flags'} {percent(flagged)}"] if flagged is not None else []
            if point.get("alert_overlap") is not None:
                either = point.get("flagged_by_either")
                # Fewer alerts than an overlap is judged on: their counts, not a share of 2 or 5.
                said.append(f"overlap {point.get('flagged_by_both')} of {either}" if isinstance(either, int)
                            and either < MIN_ALERTS else f"overlap {percent(point['alert_overlap'])}")
            caught = (point.get("teacher_positives_flagged"), point.get("student_positives_flagged"),
                      point.get("positives"))
            if all(isinstance(c, int) for c in caught):
                # What each catches at this budget: an overlap of 19 % was two models flagging
                # different payments, every one a fraud (a fraud engineer's walk-through).
                said.append(f"{'up moves' if direction else 'positives'} caught: teacher {caught[0]:,}, student "
                            f"{caught[1]:,} of {caught[2]:,}")
            if point.get("alert_overlap") == 0 and really:
                # 95 % "agreement" where the student flags nothing is only the rows neither flags
                # (note 71): said first, so the share is not read as the same decisions.
                said.insert(0, f"no {'up call' if direction else 'flag'} in common: it counts only rows neither "
                               f"{'calls up' if direction else 'flags'}")
            shown = _fmt(point["agreement"], "pct") + (f" ({', '.join(said)})" if said else "")
            rate = point["flag_rate"]
            share = f"{rate:.0%}" if rate >= 0.01 else percent(rate)
            label = f"agreement, teacher calls {share} up" if direction else f"agreement, teacher flags {share}"
            if really is not None and point.get("tied"):
                label += f" ({percent(really)}: tied scores)"  # no cut-off splits a tie
            rows.append((label, "", shown))
        psi_cell = _fmt(f["psi"], "f")
        rho = f.get("spearman")
        if isinstance(f.get("psi"), (int, float)) and f["psi"] >= 0.25 and isinstance(rho, (int, float)) and rho >= 0.9:
            # Two models of other score scales (LightGBM's floor beside an MLP's) rank alike yet
            # read as "unstable": 1.46 with a rank correlation of 0.96 (a monitoring walk-through).
            psi_cell += f" (the score scales differ; over all rows they rank alike: Spearman {rho:.2f})"
        rows.append(("PSI (student vs teacher)", "", psi_cell))
        if f.get("ic_pvalue") is not None:  # a panel direction model's ranking of its assets
            rows.append(("cross-sectional IC vs teacher, p (worse)", "", _fmt(f["ic_pvalue"], "f")))
    else:
        rows.append(("RMSE vs teacher", "", _fmt(f["rmse_vs_teacher"], "f")))
        rows.append(("MAE vs teacher", "", _fmt(f["mae_vs_teacher"], "f")))
        rows.append(("correlation with teacher", "", _fmt(f["correlation"], "f")))
    rows.append(("Spearman rank correlation", "", _fmt(f["spearman"], "f")))
    return rows


def renamed_label(label: str, names: tuple[str, str]) -> str:
    """``label`` with the words teacher and student replaced by ``names`` (a row label under
    columns named otherwise, e.g. ``finlite evaluate --baseline``'s baseline and artifact)."""
    return re.sub(r"\b(teacher|student)\b", lambda m: names[0] if m.group(1) == "teacher" else names[1], label)


def _where(report: dict[str, Any]) -> str:
    """E.g. "test split, 300 rows, cut-off 0.31" (no cut-off for a regression model)."""
    cutoff = report["fidelity"].get("cutoff")
    return f"{report['split']} split, {report['rows']} rows" + (f", cut-off {cutoff:g}" if cutoff is not None else "")


def _headline(ratios: dict[str, Any]) -> str:
    """The headline quality change of the second model: AUC drop, R² drop, RMSE increase."""
    parts = []
    for key, value in ratios.items():
        if key.endswith(("_drop", "_increase")):
            name, _, change = key.rpartition("_")
            label = {"auc": "AUC", "r2": "R²", "rmse": "RMSE"}.get(name, name.replace("_", " "))
            parts.append(f"{label} {change} {value:+.4f}")
    return "; ".join(parts)


def _band_start(report: dict[str, Any]) -> str:
    """The lowest flag rate of the report's band: "1 %", or "0.1 %" where the rows allowed it."""
    band = report["fidelity"].get("agreement_band") or [{"flag_rate": 0.01}]
    low = min(float(point["flag_rate"]) for point in band)
    return f"{low:.0%}".replace("%", " %") if low >= 0.01 else percent(low).replace("%", " %")


def render_table(report: dict[str, Any], names: tuple[str, str] = ("teacher", "student")) -> str:
    """Plain-text table, teacher and student side by side, for the terminal.

    ``names`` labels the two columns (e.g. "baseline" and "candidate" for ``finlite evaluate``).
    """
    rows = _rows(report)
    if names != ("teacher", "student"):
        # The rows compare the second model with the first: "vs baseline", not "vs teacher", where
        # the columns say baseline and artifact (finlite evaluate --baseline: a validator's walk-through).
        # The cells too: the band's "positives caught: teacher 2, student 3" under baseline and
        # artifact columns (a monitoring walk-through, 2026-12-06).
        rows = [(renamed_label(r[0], names), r[1], renamed_label(r[2], names)) for r in rows]
    head = ("metric", *names)
    widths = [max(len(r[i]) for r in [*rows, head]) for i in range(3)]

    def line(r: tuple[str, ...]) -> str:
        return f"{r[0]:<{widths[0]}}  {r[1]:>{widths[1]}}  {r[2]:>{widths[2]}}"
    out = [_where(report)]
    point = report.get("operating_point")
    if point:
        out.append(f"operating point: {point['description']}{decides_what(report.get('task'))}")
    out += [line(head), line(tuple("-" * w for w in widths))]
    out.extend(line(r) for r in rows)
    ratios = report["ratios"]
    out.append(f"{names[1]}'s {weights_words(report)}; {_headline(ratios)}")
    return "\n".join(out)


def render_markdown(report: dict[str, Any], title: str = "finlite compression report",
                    sections: dict[str, str] | None = None) -> str:
    """Markdown report: the side-by-side table, the swap set, and any extra ``sections``
    (heading → preformatted text, e.g. the pruning plan's summary); ``VERDICT`` and ``WARNING``
    among them come first, before the numbers."""
    cutoff = report["fidelity"].get("cutoff")
    where = f"Evaluated on the {report['split']} split ({report['rows']} rows)"
    lines = [f"# {title}", "", where + (f"; cut-off {cutoff:g} on P(positive)." if cutoff is not None else ".")]
    sections = dict(sections or {})
    verdict = sections.pop("VERDICT", None)
    if verdict:  # the report's status and the gates on the test split (compress: markdown_verdict)
        lines += ["", "## Verdict", "", *fenced(verdict)]
    warning = sections.pop("WARNING", None)
    if warning:  # first, before any number it qualifies (it came after the tables: a validator's walk-through)
        lines += ["", "## WARNING", "", *fenced(warning)]
    point = report.get("operating_point")
    if point:
        # A direction forecaster's "flags" are its calls of a move up.
        direction = report.get("task") == "direction"
        flags, flagged = ("calls", "up calls") if direction else ("flags", "flagged rows")
        up = " up" if direction else ""
        lines += ["", f"Operating point: {point['description']}. On these rows the teacher {flags} "
                      f"{_fmt(point.get('flagged_by_teacher'), 'share')}{up} and the student "
                      f"{_fmt(point.get('flagged_by_student'), 'share')}; agreement and the overlap of the {flagged} "
                      f"are also shown where the teacher {flags} {_band_start(report)} to 30 % of the rows{up} (at "
                      "each rate, the teacher's cut-off for it applied to both models)."]
    lines += ["", "| metric | teacher | student |", "|---|---:|---:|"]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in _rows(report)]
    cells = report["fidelity"].get("swap_set")
    if cells is not None:  # decisions exist only for a classifier
        lines += ["", "## Swap set (rows: teacher decision, columns: student decision)", "",
                  "| | student positive | student negative |", "|---|---:|---:|"]
        for t in ("teacher_positive", "teacher_negative"):
            row = []
            for s in ("student_positive", "student_negative"):
                cell = cells[f"{t}/{s}"]
                rate = "-" if cell["positive_rate"] is None else percent(cell["positive_rate"])
                row.append(f"{cell['count']} ({rate_name(str(report.get('task')))} {rate})")
            lines.append(f"| {t.replace('_', ' ')} | {row[0]} | {row[1]} |")
    for heading, text in sections.items():
        lines += ["", f"## {heading}", "", *fenced(text)]
    return "\n".join(lines) + "\n"
