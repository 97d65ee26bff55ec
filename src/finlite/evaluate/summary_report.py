"""The first and last sections of a validation report: the summary and the reproducibility record.

Both read records, not models: :func:`build_summary` the teacher-vs-student comparison that
:func:`finlite.evaluate.report.compare_models` returns (plus the recipe's record of its steps and
gates), :func:`build_reproducibility` what a manifest records (versions, seed, data and file
hashes, the steps' settings) and the recipe's YAML. Neither measures anything, so a report
rebuilt from an artifact's stored records has the same two sections byte for byte.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from finlite._timing import TIMED_NAMES
from finlite.evaluate.sections import Section, Table, json_number

__all__ = ["HEADLINE", "build_reproducibility", "build_summary"]

#: The headline rows of the summary, in order: (key in a model's metrics, label). A row shows
#: only when both models have the key (a regression model has no AUC, a run without timing no latency).
HEADLINE: tuple[tuple[str, str], ...] = (
    ("auc", "AUC"), ("gini", "Gini"), ("ks", "KS"), ("f1", "F1 at cut-off"), ("precision", "precision at cut-off"),
    ("recall", "recall at cut-off"), ("accuracy", "accuracy at cut-off"),
    ("flagged_rate", "flagged at cut-off"), ("brier", "Brier"), ("log_loss", "log loss"),
    ("rmse", "RMSE"), ("mae", "MAE"), ("r2", "R²"), ("directional_accuracy", "directional accuracy"),
    ("parameters", "parameters"), ("nonzero_parameters", "parameters (non-zero)"), ("model_bytes", "bytes on disk (weights)"),
    ("flops_per_row", "FLOPs per row"), ("latency_p50_us", "latency p50, batch 1 (µs)"),
    ("latency_p99_us", "latency p99, batch 1 (µs)"), ("rows_per_second", "rows/s"),
)
_TIMINGS = ("latency_p50_us", "latency_p99_us", "rows_per_second")


def size_words(ratio: float) -> str:
    """A size ratio (the baseline's bytes over the candidate's) in words: "12.3x smaller", or
    "7.0x larger" below 1 ("0.1x smaller" read as a saving: a review, 2026-12-03)."""
    if not ratio > 0:  # no size to compare (or not a number)
        return "of no comparable size (n/a)"
    if ratio >= 1:
        return f"{ratio:.1f}x smaller"
    return f"{1 / ratio:.1f}x larger"


def training_notes(steps: Sequence[Any]) -> list[str]:
    """A note for each kept step that trained a student at a constant learning rate through all
    of its epochs and kept one of the last tenth of them (at least the last three): still improving
    on the validation split when its cap stopped it, so more epochs may bring the student closer
    (a validator's walk-through, 2026-12-05: a 60,000-loan sample kept epoch 193 of 200, unsaid).
    A decaying schedule (one-cycle, cosine) is meant to end at its cap and gets none. Notes, not
    warnings: the status is the evidence's to set."""
    out = []
    for step in steps:
        info = step.get("info") if isinstance(step, Mapping) else None
        if not isinstance(info, Mapping) or step.get("status") != "kept" or info.get("schedule") != "constant" \
                or info.get("diverged"):
            continue
        best, ran, most = info.get("best_epoch"), info.get("epochs_run"), info.get("epochs_max")
        if not (isinstance(best, int) and isinstance(ran, int) and isinstance(most, int)) \
                or any(isinstance(v, bool) for v in (best, ran, most)):
            continue  # a record of another shape (an older report read back): no such step
        if most < 3 or ran != most or best < ran - max(3, ran // 10):
            continue
        method = step.get("method")
        name = method.get("method") if isinstance(method, Mapping) else method
        index = step.get("index")
        number = index + 1 if isinstance(index, int) else "?"
        out.append(f"Step {number} ({name}) ran all {most} of its epochs at a constant learning rate and kept epoch "
                   f"{best + 1}: it was still improving on the validation split when the cap stopped it. More epochs "
                   "(--epochs N, which also caps a recipe step's own train: {epochs: ...}) may bring the student "
                   "closer to its teacher.")
    return out


def weights_words(report: Mapping[str, Any]) -> str:
    """How much smaller a compared model's weights are than its baseline's, as "weights 781.3x
    smaller on disk"; with ``report["preprocessor_bytes"]`` (``{"teacher": bytes, "student":
    bytes}``: the preprocessor.json each reads) also what that leaves out: "(the preprocessor.json
    both read, 547.7 KiB, is not counted: 3.4x smaller with it)", or both sizes when they differ.
    The ratio of weights files alone read as the saving on disk where a preprocessor of
    weight-of-evidence maps outweighed both (a validator's walk-through, 2026-12-05)."""
    ratios = report.get("ratios") or {}
    text = f"weights {size_words(ratios.get('size_ratio', float('nan')))} on disk"
    sizes = report.get("preprocessor_bytes")
    sizes = sizes if isinstance(sizes, Mapping) else {}
    t_pre, s_pre = _number(sizes.get("teacher")), _number(sizes.get("student"))
    t_bytes = _number((report.get("teacher") or {}).get("model_bytes"))
    s_bytes = _number((report.get("student") or {}).get("model_bytes"))
    known = [t_pre, s_pre, t_bytes, s_bytes]
    if all(v is not None for v in known) and min(known) > 0:
        whole = size_words((t_bytes + t_pre) / (s_bytes + s_pre))
        if t_pre == s_pre:
            text += f" (the preprocessor.json both read, {t_pre / 1024:.1f} KiB, is not counted: {whole} with it)"
        else:
            text += (f" (their preprocessor.json files, {t_pre / 1024:.1f} and {s_pre / 1024:.1f} KiB, are not "
                     f"counted: {whole} with them)")
    return text


def _timing_label(label: str, key: str, teacher: Mapping[str, Any], student: Mapping[str, Any]) -> str:
    """A timing row's label with how both models were timed, and the batch of rows/s."""
    if key not in _TIMINGS:
        return label
    if key == "rows_per_second" and teacher.get("batch") and teacher.get("batch") == student.get("batch"):
        label = f"{label} (batch {teacher['batch']:,})"
    how = [TIMED_NAMES.get(str(m.get("timed")), "") for m in (teacher, student)]
    if how[0] and how[0] == how[1]:
        return f"{label}, {how[0]}"
    if any(how):
        return f"{label}; teacher {how[0] or '?'}, student {how[1] or '?'}"
    return label


#: Where positives are rare (at most this share of the rows: fraud, low-default books), AUC can hold
#: while the ranking at the top, where the model decides, collapses; a student whose PR-AUC falls
#: by :data:`WARN_PR_AUC_SHARE` of its teacher's, with no gate on ``pr_auc``, raises a warning.
#: 3 %, not 5 %: ``finlite datasets synth`` defaults to a 5 % default rate, where the rule would
#: come and go with the split. Below :data:`RARE_MIN_POSITIVES` positives PR-AUC is mostly noise.
RARE_POSITIVES = 0.03
RARE_MIN_POSITIVES = 30
WARN_PR_AUC_SHARE = 0.2


def rare_positive_warning(comparison: Mapping[str, Any], gate_metrics: Sequence[str]) -> str | None:
    """The loud warning for a student whose PR-AUC fell by :data:`WARN_PR_AUC_SHARE` or more of its
    teacher's on rows where positives are rare (:data:`RARE_POSITIVES`, and at least
    :data:`RARE_MIN_POSITIVES` of them), when no gate in ``gate_metrics`` looked at PR-AUC. None
    otherwise (or when the numbers are missing)."""
    teacher, student = comparison.get("teacher") or {}, comparison.get("student") or {}
    t, s = _number(teacher.get("pr_auc")), _number(student.get("pr_auc"))
    positives, rows = _number(teacher.get("positives")), _number(teacher.get("rows"))
    if "pr_auc" in gate_metrics or None in (t, s, positives, rows) or not rows or not t:
        return None
    rate = float(positives) / float(rows)
    share = (float(t) - float(s)) / float(t)
    if rate > RARE_POSITIVES or float(positives) < RARE_MIN_POSITIVES or not share >= WARN_PR_AUC_SHARE:
        return None
    auc = ""
    if _number(teacher.get("auc")) is not None and _number(student.get("auc")) is not None:
        auc = f" while its AUC moved only {float(student['auc']) - float(teacher['auc']):+.4f}"
    return (f"WARNING: positives are rare here ({rate:.2%} of the rows) and the student's PR-AUC {float(s):.4f} is "
            f"{share:.0%} below its teacher's {float(t):.4f}{auc}: it ranks the riskiest rows, where decisions are "
            "made, much worse, and no gate checked PR-AUC. Add a gate such as 'pr_auc: {max_drop: 0.02}' to the "
            "recipe, or use a wider student.")


#: The fidelity numbers the summary repeats (the decisions and accuracy sections have the rest).
_FIDELITY = ("agreement", "alert_overlap", "psi", "spearman", "correlation", "rmse_vs_teacher", "mae_vs_teacher")
#: What each fidelity measure compares, as the summary's table and the model card show it: "psi"
#: alone read as the stability section's PSI of the student's training against its test scores
#: (a validator's walk-through, 2026-12-06).
FIDELITY_LABELS = {"agreement": "agreement of decisions at the cut-off", "alert_overlap": "alert overlap at the cut-off "
                   "(both / either)", "psi": "PSI of the student's scores against the teacher's (test rows)",
                   "spearman": "Spearman rank correlation with the teacher", "correlation": "correlation with the teacher",
                   "rmse_vs_teacher": "RMSE against the teacher's outputs", "mae_vs_teacher": "MAE against the "
                   "teacher's outputs"}


def _fidelity_labels(comparison: Mapping[str, Any]) -> dict[str, str]:
    """:data:`FIDELITY_LABELS` for this comparison's model: a return or price forecaster's
    "agreement" is of its forecasts' directions (their signs), as it has no cut-off, and a
    volatility forecaster's, always 1 (a volatility is never negative), is left out: its report
    read "agreement of decisions at the cut-off 1" beside a correlation of 0.11 (an LGD
    modeller's walk-through, 2026-12-07)."""
    if comparison.get("task") != "forecast":
        return dict(FIDELITY_LABELS)
    forecast = comparison.get("forecast")
    if isinstance(forecast, Mapping) and forecast.get("objective") == "volatility":
        return {k: v for k, v in FIDELITY_LABELS.items() if k != "agreement"}
    return {**FIDELITY_LABELS, "agreement": "agreement of the forecasts' directions (signs)"}


def _number(value: Any) -> Any:
    """A metric as the summary keeps it: numbers as they are, anything else (a nested record) dropped."""
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def build_summary(comparison: Mapping[str, Any], *, warn_auc_drop: float = 0.06) -> Section:
    """The ``summary`` section: teacher vs student, the steps applied and kept, the gates, size, latency.

    ``comparison`` is a compress report (:func:`~finlite.evaluate.report.compare_models`'s dict
    with ``recipe``: ``{"name", "steps": [step records], "final_gates": [gate dicts], "passed"}``
    and ``warnings`` when the run raised the fidelity warning). The status is FAIL when the kept
    model fails a recipe gate on the test split or the evidence is none (``evidence_failures``: a
    hold-out of mostly rows the models were fitted on), WARN when the run carries a warning (a
    student ``warn_auc_drop`` AUC or more below its teacher with no gate to stop it), PASS
    otherwise.
    """
    teacher, student = comparison["teacher"], comparison["student"]
    labels = _fidelity_labels(comparison)
    # The rows judged: the test split, or (finlite report --holdout) every row of a hold-out table.
    where = "the hold-out sample" if comparison.get("split") == "hold-out" else "the test split"
    rows: list[list[Any]] = []
    headline: dict[str, dict[str, Any]] = {"teacher": {}, "student": {}}
    for key, label in HEADLINE:
        t, s = _number(teacher.get(key)), _number(student.get(key))
        if t is None or s is None:
            continue
        headline["teacher"][key], headline["student"][key] = t, s
        rows.append([_timing_label(label, key, teacher, student), t, s, s - t])
    recipe = comparison.get("recipe") or {}
    steps = list(recipe.get("steps") or [])
    gates = list(recipe.get("final_gates") or [])
    failed = [g for g in gates if not g.get("passed")]
    warnings = [str(w) for w in comparison.get("warnings") or []]
    # Evidence that is no evidence (a hold-out of mostly fitted rows): FAIL, as a failed gate.
    fatal = [str(w) for w in comparison.get("evidence_failures") or []]
    fidelity = comparison.get("fidelity") or {}
    ratios = comparison.get("ratios") or {}
    kept = [s for s in steps if s.get("status") == "kept"]

    step_rows: list[list[Any]] = []
    for step in steps:
        method = step.get("method") or {}
        name = method.get("method") if isinstance(method, Mapping) else str(method)
        bad = "; ".join(str(g.get("message")) for g in step.get("gates") or [] if not g.get("passed"))
        # A kept step's gate values too: a margin of 0.0751 against 0.05 was in the manifest only
        # (a validator's walk-through).
        held = "; ".join(str(g.get("message")) for g in step.get("gates") or [] if g.get("passed"))
        reason = bad or held or str((step.get("info") or {}).get("reason") or "")
        step_rows.append([int(step.get("index", len(step_rows))) + 1, str(name), str(step.get("status")), reason])

    if failed or fatal:
        status = "FAIL"
    elif warnings:
        status = "WARN"
    else:
        status = "PASS"
    what = "; ".join(f"{label} {teacher.get(key):.4g} → {student.get(key):.4g}"
                     for key, label in (*HEADLINE[:1], ("r2", "R²"), ("rmse", "RMSE"))
                     if _number(teacher.get(key)) is not None and _number(student.get(key)) is not None)
    size = ratios.get("size_ratio")
    kept_names = [str(r[1]) for r in step_rows if r[2] == "kept"]
    parts = [f"{len(kept)} of {len(steps)} step(s) kept ({', '.join(kept_names) or 'none'})"]
    if size is not None:
        parts.append(f"the student's {weights_words(comparison)}")
    if what:
        parts.append(what)
    if gates:
        parts.append(f"{len(gates) - len(failed)} of {len(gates)} gate check(s) pass on {where}")
    else:
        parts.append("the recipe had no gates")
    summary = "; ".join(parts) + "."
    if failed:
        summary += " Failed: " + "; ".join(str(g.get("message")) for g in failed) + "."
    if fatal:
        summary += " No evidence: " + "; ".join(fatal) + "."
    metrics: dict[str, Any] = {
        "task": comparison.get("task"), "split": comparison.get("split"), "rows": comparison.get("rows"),
        "teacher": headline["teacher"], "student": headline["student"],
        "fidelity": {k: fidelity[k] for k in _FIDELITY if k in labels and _number(fidelity.get(k)) is not None},
        "ratios": {k: v for k, v in ratios.items() if _number(v) is not None},
        "steps": len(steps), "steps_kept": len(kept), "recipe": recipe.get("name"),
        "gates": len(gates), "gates_failed": len(failed), "gates_passed": not failed if gates else None,
        "warnings": warnings, **({"evidence_failures": fatal} if fatal else {}),
    }
    timed = {side: m["timed"] for side, m in (("teacher", teacher), ("student", student)) if m.get("timed")}
    if timed:  # how the latency rows were measured (see finlite.export.timing)
        metrics["timed"] = timed
    point = comparison.get("operating_point") or {}
    if point.get("cutoff") is not None:
        metrics["cutoff"] = point["cutoff"]
    tables = [Table(id="summary_metrics", caption=f"Teacher and student on {where} (change = student − teacher)",
                    columns=["metric", "teacher", "student", "change"], rows=rows)]
    if fidelity:
        tables.append(Table(id="summary_fidelity", caption="How closely the student follows the teacher",
                            columns=["measure", "value"],
                            rows=[[labels[k], fidelity[k]] for k in _FIDELITY
                                  if k in labels and _number(fidelity.get(k)) is not None]))
    tables.append(Table(id="summary_steps", caption="Recipe steps (judged on the validation split)",
                        columns=["step", "method", "status", "gates on the validation split, or the reason"],
                        rows=step_rows))
    if gates:
        tables.append(Table(id="summary_gates", caption=f"Gates checked again on {where}",
                            columns=["gate", "passed"],
                            rows=[[str(g.get("message")), "yes" if g.get("passed") else "NO"] for g in gates]))
    notes = list(warnings)
    if point.get("description"):
        notes.append(f"Operating point: {point['description']}.")
    notes += training_notes(steps)
    return Section(
        id="summary", title="Summary", status=status,  # type: ignore[arg-type]
        # Every cause the status reads, listed (a validator's re-performance, 2026-12-07, found a WARN
        # from a size warning and a FAIL from a hold-out of fitted rows that this text did not name).
        threshold=(f"FAIL when the kept model fails a recipe gate on {where}, or when the rows judged are no "
                   "evidence (a hold-out mostly of rows the models were fitted on); WARN when the run raised a "
                   + ("warning (a market forecaster's: see the notes)" if comparison.get("task") == "forecast"
                      else f"warning: the fidelity warning (the student's AUC on {where} {warn_auc_drop} or more "
                           "below the teacher's, with no "
                           f"gate to stop it; or, where positives are at most {RARE_POSITIVES:.0%} of the rows and at "
                           f"least {RARE_MIN_POSITIVES}, its PR-AUC {WARN_PR_AUC_SHARE:.0%} or more below the "
                           "teacher's, with no PR-AUC gate) or any other the notes give (a student larger on disk "
                           "than its teacher, gates judged on too few rows)")
                   + "; PASS otherwise."),
        summary=summary, metrics=json_number(metrics), tables=tables, notes=notes)


def _compact(value: Any) -> str:
    """A setting as one line of canonical JSON (strings as they are)."""
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, separators=(", ", ": "))


#: The keys of a manifest step that are its training settings (the rest is the method and its record).
_SETTINGS = ("student", "train", "fine_tune", "batch_size", "best_epoch")


def build_reproducibility(record: Mapping[str, Any], recipe_yaml: str) -> Section:
    """The ``reproducibility`` section: versions, seeds, data and file hashes, the full recipe.

    ``record`` is manifest-like: ``seed``, ``versions`` (package → version), ``data`` (the
    prepared data's summary: source, file and content sha256, split method and settings),
    ``files`` (file name → sha256 of the files it vouches for), ``teacher`` (the teacher's path,
    manifest sha256 and model), ``steps`` (the manifest's step records with their training
    settings) and optionally ``cutoff``. ``recipe_yaml`` is the recipe file the run recorded.
    PASS when the seed and the data's content hash are recorded (``finlite reproduce`` needs
    both), WARN otherwise.
    """
    seed = record.get("seed")
    data: Mapping[str, Any] = record.get("data") or {}
    versions: Mapping[str, Any] = record.get("versions") or {}
    files: Mapping[str, Any] = record.get("files") or {}
    teacher: Mapping[str, Any] = record.get("teacher") or {}
    steps: Sequence[Mapping[str, Any]] = record.get("steps") or []
    content = data.get("content_sha256")
    hashes = [["data file " + str(data.get("source", "")), "file sha256", data.get("file_sha256")],
              ["data content", "content sha256", content]]
    if teacher:
        hashes.append([f"teacher artifact {teacher.get('path', '')}", "manifest sha256", teacher.get("manifest_sha256")])
    hashes += [[name, "sha256", digest] for name, digest in sorted(files.items())]
    split: Mapping[str, Any] = data.get("split") or {}
    settings: list[list[Any]] = [["seed", seed]]
    if record.get("cutoff") is not None:
        settings.append(["cut-off", record["cutoff"]])
    settings.append(["split method", split.get("method")])
    config: Mapping[str, Any] = split.get("config") or {}
    # A rule that does not apply to the split's kind is left out: whole_dates and month_year for a
    # stratified split, one_shuffle for one by date or by group (whole groups are shuffled).
    moot = (("whole_dates", "month_year") if config.get("date_column") is None else ("one_shuffle",)) + \
        (("one_shuffle",) if config.get("group_column") is not None else ())
    settings += [[f"split {k}", _compact(v)] for k, v in sorted(config.items()) if k not in moot]
    step_rows = []
    for i, step in enumerate(steps):
        name = step.get("method") or step.get("step")
        used = {k: step[k] for k in _SETTINGS if k in step}
        step_rows.append([i + 1, str(name), str(step.get("status", "")), _compact(used) if used else ""])
    recorded = seed is not None and bool(content)
    missing = [name for name, ok in (("the seed", seed is not None), ("the data's content hash", bool(content)))
               if not ok]
    summary = (f"Seed {seed}, data content sha256 {str(content)[:16]}…, {len(files)} file hash(es), "
               f"{len(steps)} step(s) with their settings and the full recipe are recorded: "
               "'finlite reproduce ARTIFACT DATA' reruns it." if recorded
               else f"Not reproducible from the record: {' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} "
                    "missing.")
    yaml_lines = recipe_yaml.rstrip("\n").split("\n") if recipe_yaml else []
    metrics = {"seed": seed, "data_content_sha256": content, "data_file_sha256": data.get("file_sha256"),
               "versions": dict(versions), "files": dict(files), "teacher_manifest_sha256": teacher.get("manifest_sha256"),
               "recipe_yaml": recipe_yaml}
    tables = [Table(id="reproducibility_settings", caption="Seed, operating point and split", columns=["setting", "value"],
                    rows=settings),
              Table(id="reproducibility_hashes", caption="Data and file hashes", columns=["what", "hash", "value"],
                    rows=hashes),
              Table(id="reproducibility_versions", caption="Library versions", columns=["package", "version"],
                    rows=[[k, str(v)] for k, v in sorted(versions.items())]),
              Table(id="reproducibility_steps", caption="Steps and their training settings",
                    columns=["step", "method", "status", "settings"], rows=step_rows),
              Table(id="reproducibility_recipe", caption="recipe.yaml", columns=["recipe.yaml"],
                    rows=[[line] for line in yaml_lines])]
    return Section(
        id="reproducibility", title="Reproducibility", status="PASS" if recorded else "WARN",
        threshold="PASS when the seed and the data's content sha256 are recorded (what 'finlite reproduce' needs); "
                  "WARN otherwise.",
        summary=summary, metrics=json_number(metrics), tables=tables)
