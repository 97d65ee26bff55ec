"""The end-to-end jobs behind the CLI: train a teacher, compress it, evaluate an artifact.

Each function is a thin composition of the boxes below it (data → models/training →
compress → evaluate → artifact) and returns plain results; the CLI only parses and prints.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from finlite import _paths
from finlite._util import check_fraction, dump_json, param_error
from finlite.artifact import Artifact, load, save_artifact
from finlite.compress.distill import Distillation, distill, distill_data, teacher_logits
from finlite.compress.plan import PruningPlan
from finlite.compress.prune import MagnitudePruning, apply_plan, plan_pruning
from finlite.compress.registry import method_to_dict
from finlite.data.io import Table, frame_sha256, read_table
from finlite.data.prepared import PreparedData, prepare
from finlite.data.preprocess import Encoding
from finlite.data.split import SplitConfig
from finlite.errors import DataError
from finlite.evaluate.metrics import classification_metrics
from finlite.evaluate.report import compare_models, model_evidence, render_markdown
from finlite.models.base import FinliteModel
from finlite.models.linear import LogisticRegression
from finlite.models.mlp import TabularMLP
from finlite.recipe import GateResult, Recipe, RecipeResult, evaluate_candidate, run_recipe
from finlite.training import LARGE_ROWS, TrainConfig, fit, seed_everything, validation_auc

__all__ = ["CompressOutcome", "RecipeOutcome", "TrainOutcome", "compress", "compress_with_recipe",
           "evaluate_artifact", "import_teacher", "prepare_like", "recipe_summary", "recorded_table",
           "train"]

DataLike = str | os.PathLike[str] | pd.DataFrame | Table
TEACHERS = ("mlp", "logistic", "lightgbm", "xgboost")

# Defaults for compress: distillation starts from scratch (a higher rate, more patience);
# fine-tuning after pruning starts from trained weights (a lower rate, fewer epochs).
DISTILL_TRAINING = TrainConfig(lr=3e-3, patience=30)
FINE_TUNING = TrainConfig(epochs=100, lr=1e-3, patience=20)
# At bank size (LARGE_ROWS training rows or more) an epoch is hundreds of steps at the automatic
# batch, so a fixed run on a one-cycle schedule converges where 200 epochs at a constant rate
# would take hours, and the student must be wider. Measured on SBA with Term (538,299 training
# rows, LightGBM teacher at test AUC 0.9817): a (64, 32) student for 20 epochs at 3e-3 reached
# 0.954; at 1e-2 0.965; (128, 64) for 30 epochs at 1e-2 0.975 (96.9 % agreement at the
# teacher's 90th percentile), 0.973 after 50 % pruning and 6 epochs of fine-tuning at 3e-3
# (1e-3 left the pruned student at 0.895). Agreement is what runs short, and it grows with
# training length: 60 epochs reached 0.9758 and 97.03 %; after 30 % pruning 20 epochs of
# fine-tuning (cosine from 3e-3) kept 0.9760 and 97.01 %, where 8 epochs left 96.94 %.
LARGE_DISTILL_TRAINING = TrainConfig(epochs=60, lr=1e-2, patience=60, schedule="onecycle")
LARGE_FINE_TUNING = TrainConfig(epochs=20, lr=3e-3, patience=20, schedule="cosine")
SMALL_STUDENT, LARGE_STUDENT = (16,), (128, 64)
# compress's pruning when --sparsity is not given: half the weights below LARGE_ROWS; 30 % from
# there, where 50 % cost the (128, 64) student on SBA 0.2 % of the decisions even after 20 epochs
# of fine-tuning (96.82 % agreement), and 30 % none (97.01 %).
SPARSITY, LARGE_SPARSITY = 0.5, 0.3
# A student this far below its teacher's test AUC is not a replacement: say so loudly.
WARN_AUC_DROP = 0.06


def default_training(rows: int, *, progress: bool = True, overrides: dict[str, Any] | None = None,
                     seed: int | None = None) -> tuple[TrainConfig, TrainConfig]:
    """compress's distillation and fine-tuning settings for ``rows`` training rows.

    Below :data:`LARGE_ROWS`: :data:`DISTILL_TRAINING` and :data:`FINE_TUNING` (up to 200 and
    100 epochs at a constant rate, early stopping); from it: :data:`LARGE_DISTILL_TRAINING`
    (60 epochs, one-cycle at 1e-2) and :data:`LARGE_FINE_TUNING` (20 epochs, cosine from 3e-3). The batch size
    follows the row count (:func:`finlite.training.auto_batch_size`) unless ``overrides`` (e.g.
    ``{"batch_size": 2048, "epochs": 10}``, from --batch-size and --epochs) sets it.
    """
    large = rows >= LARGE_ROWS
    distill_cfg, tune_cfg = (LARGE_DISTILL_TRAINING, LARGE_FINE_TUNING) if large else (DISTILL_TRAINING, FINE_TUNING)
    extra: dict[str, Any] = {"progress": progress, **(overrides or {})}
    if seed is not None:
        extra["seed"] = seed
    return replace(distill_cfg, **extra), replace(tune_cfg, **extra)


def default_student(rows: int) -> tuple[int, ...]:
    """compress's default student widths: (16,) below :data:`LARGE_ROWS` training rows, (128, 64) from it."""
    return LARGE_STUDENT if rows >= LARGE_ROWS else SMALL_STUDENT


def default_sparsity(rows: int) -> float:
    """compress's default pruning sparsity: :data:`SPARSITY` below :data:`LARGE_ROWS` training rows,
    :data:`LARGE_SPARSITY` from it."""
    return LARGE_SPARSITY if rows >= LARGE_ROWS else SPARSITY


def fidelity_warning(report: dict[str, Any], gates: bool) -> str | None:
    """The loud warning for a run without gates whose student lost :data:`WARN_AUC_DROP` AUC or more."""
    if gates:
        return None
    drop = float(report["teacher"]["auc"]) - float(report["student"]["auc"])
    if not drop >= WARN_AUC_DROP:
        return None
    return (f"WARNING: the student's test AUC {report['student']['auc']:.4f} is {drop:.4f} below its teacher's "
            f"{report['teacher']['auc']:.4f} (more than {WARN_AUC_DROP}); it does not make the teacher's decisions "
            "and no gate stopped it. Do not deploy it: use a wider student (--student-width, e.g. 128,64), more "
            "epochs, or a preset with gates (--preset balanced).")


def _warn(report: dict[str, Any], gates: bool) -> None:
    """Record the fidelity warning in the report and print it on stderr."""
    message = fidelity_warning(report, gates)
    if message is not None:
        report.setdefault("warnings", []).append(message)
        sys.stderr.write(message + "\n")
        sys.stderr.flush()


@dataclass
class TrainOutcome:
    """A trained teacher, the data it saw, its test metrics, and where it was saved."""

    model: FinliteModel
    data: PreparedData
    metrics: dict[str, Any]
    path: Path | None


@dataclass
class CompressOutcome:
    """A compressed student, its plan (if pruned), the side-by-side report and its path."""

    model: FinliteModel
    plan: PruningPlan | None
    report: dict[str, Any]
    path: Path | None


def train(
    data: DataLike,
    *,
    target: str,
    positive: Any = None,
    numeric: Sequence[str] | None = None,
    categorical: Sequence[str] | None = None,
    drop: Sequence[str] | None = None,
    date_column: str | None = None,
    model: str = "mlp",
    hidden: Sequence[int] = (256, 128),
    dropout: float = 0.3,
    seed: int = 0,
    cutoff: float = 0.5,
    config: TrainConfig | None = None,
    out: str | Path | None = None,
    overwrite: bool = False,
    gbdt_params: dict[str, Any] | None = None,
    encoding: Encoding | None = None,
) -> TrainOutcome:
    """Train a teacher ("mlp", "logistic", "lightgbm" or "xgboost") on a labelled table and optionally save it.

    ``encoding`` sets how categorical columns are encoded (:class:`finlite.data.preprocess.Encoding`:
    the one-hot budget, weight of evidence or target encoding for high-cardinality columns).

    Boosted teachers use the libraries' own training with regularised defaults (overridden by
    ``gbdt_params``), stop early on validation AUC, and carry 5-fold out-of-fold scores of
    their training rows for distillation.

    The table is split (stratified, or out-of-time when ``date_column`` is given) with
    ``seed``; the preprocessor is fitted on the training split; early stopping watches the
    validation AUC; metrics are computed on the untouched test split.
    """
    check_fraction("train", "cutoff", cutoff, low_open=True, high_open=True)
    if model not in TEACHERS:
        raise param_error("train", "model", f"one of {TEACHERS}", model)
    if out is not None:  # before any work: --out is no input, and may be replaced
        _paths.check_output_dir(out, overwrite=overwrite, inputs={"data file": data})
    config = replace(config or TrainConfig(), seed=seed)
    prepared = prepare(data, target=target, positive=positive, numeric=numeric, categorical=categorical,
                       drop=drop, split=SplitConfig(seed=seed, date_column=date_column), encoding=encoding)
    seed_everything(seed)
    if model in ("lightgbm", "xgboost"):
        from finlite.teachers import fit_boosted

        boosted = fit_boosted(prepared, model, params=gbdt_params, seed=seed, progress=config.progress)
        steps = [{"step": "train", "model": boosted.config(), "params": dict(gbdt_params or {}),
                  "oof_folds": boosted.oof_folds}]
        return _finish_teacher(boosted, prepared, steps, seed, cutoff, out, overwrite, {})
    n_features = prepared.x_train.shape[1]
    net: FinliteModel = (TabularMLP(n_features, hidden, dropout=dropout) if model == "mlp"
                         else LogisticRegression(n_features))
    tensors = {"x": torch.from_numpy(prepared.x_train), "y": torch.from_numpy(prepared.y_train)}

    def loss_fn(logits: torch.Tensor, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return torch.nn.functional.binary_cross_entropy_with_logits(logits, batch["y"])

    result = fit(net, tensors, loss_fn, validation_auc(torch.from_numpy(prepared.x_val), prepared.y_val),
                 config, desc=f"training {model}")
    steps = [{"step": "train", "model": net.config(), "train": config.to_dict(),
              "best_epoch": result.best_epoch, "epochs_run": result.epochs_run}]
    return _finish_teacher(net, prepared, steps, seed, cutoff, out, overwrite, {"validation_auc": result.best_score})


def _finish_teacher(net: FinliteModel, prepared: PreparedData, steps: list[dict[str, Any]], seed: int, cutoff: float,
                    out: str | Path | None, overwrite: bool, extra: dict[str, Any]) -> TrainOutcome:
    """Test-split metrics of a new teacher, and its artifact when ``out`` is given."""
    p_test = net.predict_proba(torch.from_numpy(prepared.x_test)).numpy()
    metrics = {"test": classification_metrics(prepared.y_test, p_test, cutoff), **extra}
    oof = getattr(net, "oof_logits", None)
    if oof is not None:  # how far the ensemble's own training scores sit from its OOF scores
        metrics["train_oof_auc"] = classification_metrics(prepared.y_train, 1 / (1 + np.exp(-oof)), cutoff)["auc"]
    path = None
    if out is not None:
        path = save_artifact(out, model=net, preprocessor=prepared.preprocessor, role="teacher", seed=seed,
                             cutoff=cutoff, data=prepared.summary(), steps=steps, metrics=metrics,
                             overwrite=overwrite)
    return TrainOutcome(model=net, data=prepared, metrics=metrics, path=path)


def import_teacher(booster: str | Path, data: DataLike, *, target: str, positive: Any = None,
                   date_column: str | None = None, seed: int = 0, cutoff: float = 0.5, folds: int = 5,
                   learning_rate: float | None = None, out: str | Path | None = None,
                   overwrite: bool = False) -> TrainOutcome:
    """Make a teacher artifact from a saved LightGBM or XGBoost booster and its training table.

    See :func:`finlite.teachers.import_booster` for how columns and OOF scores are handled.
    """
    from finlite.teachers import import_booster

    check_fraction("import_teacher", "cutoff", cutoff, low_open=True, high_open=True)
    if out is not None:  # before any work: --out is no input, and may be replaced
        _paths.check_output_dir(out, overwrite=overwrite, inputs={"booster file": booster, "data file": data})
    model, prepared, step = import_booster(booster, data, target=target, positive=positive, date_column=date_column,
                                           seed=seed, folds=folds, learning_rate=learning_rate)
    return _finish_teacher(model, prepared, [step], seed, cutoff, out, overwrite, {})


def recorded_table(artifact: Artifact) -> Table:
    """The table an artifact was trained on, found from its manifest: a bundled dataset of that
    file name, or the recorded path if it still exists; either must have the recorded content.

    Raises:
        DataError: neither is available or matches; the message says to pass the data.
    """
    from finlite import datasets

    recorded = artifact.manifest["data"]
    source = str(recorded.get("source", ""))
    candidates = [datasets.path(info.name) for info in datasets.list_datasets() if info.file == Path(source).name]
    candidates.append(Path(source))
    for path in candidates:
        if path.is_file():
            table = read_table(path)
            if frame_sha256(table.frame) == recorded["content_sha256"]:
                return table
    raise DataError(
        f"The training table of {artifact.path} ({source!r}, content sha256 {recorded['content_sha256'][:16]}…) "
        "was not found; pass it with --data so the test split can be rebuilt."
    )


def prepare_like(artifact: Artifact, data: DataLike) -> PreparedData:
    """Split and encode ``data`` exactly as ``artifact``'s model was trained (same rows per part).

    Raises:
        DataError: ``data`` is not the table the artifact was trained on (content hash differs).
    """
    table = data if isinstance(data, Table) else read_table(data)
    recorded = artifact.manifest["data"]
    if frame_sha256(table.frame) != recorded["content_sha256"]:
        raise DataError(
            f"{table.source} is not the table {artifact.path} was trained on (content sha256 differs from "
            f"{recorded['content_sha256'][:16]}…, recorded from {recorded['source']!r}). Compressing needs the "
            "teacher's training data so the test split stays unseen by both models."
        )
    config = SplitConfig(**recorded["split"]["config"])
    return prepare(table, schema=artifact.schema, split=config, preprocessor=artifact.preprocessor)


def compress(
    teacher: str | Path | Artifact,
    data: DataLike,
    *,
    student_hidden: Sequence[int] | None = None,
    distillation: Distillation | None = None,
    pruning: MagnitudePruning | None = None,
    plan: PruningPlan | None = None,
    seed: int | None = None,
    config: TrainConfig | None = None,
    fine_tune: TrainConfig | None = None,
    out: str | Path | None = None,
    overwrite: bool = False,
    timing: bool = True,
    plan_only: bool = False,
    progress: bool = True,
    train_overrides: dict[str, Any] | None = None,
    size_aware_sparsity: bool = False,
) -> CompressOutcome:
    """Distil a teacher artifact into a small MLP, prune it, fine-tune it, and compare the two.

    Steps: (1) the student (widths ``student_hidden``) learns the teacher's scores on the
    training split; (2) ``pruning`` (or a ready ``plan``) removes weights or neurons; (3) the
    pruned student is fine-tuned by distillation with pruned weights held at zero; (4) both
    models are evaluated on the test split and the student artifact is written with the
    report inside it. With ``plan_only`` it stops after planning (a dry run): the outcome
    holds the distilled, unpruned student and the plan, and nothing is written.
    ``config`` and ``fine_tune`` default by the training rows (:func:`default_training`, with
    ``train_overrides`` such as ``{"batch_size": 2048}`` applied; ``progress`` sets their
    progress output), ``student_hidden`` too (:func:`default_student`); the seed defaults to
    the teacher's. With ``size_aware_sparsity`` (the CLI without --sparsity) the ``pruning``'s
    sparsity follows the training rows (:func:`default_sparsity`). A student 0.06 AUC or more
    below its teacher is reported with a loud
    warning (stderr and ``report["warnings"]``): this run has no gates to stop it.
    """
    art = teacher if isinstance(teacher, Artifact) else load(teacher)
    if out is not None:  # before any work: --out is no input, and may be replaced
        _paths.check_output_dir(out, overwrite=overwrite, inputs={"teacher artifact": art.path, "data file": data})
    seed = int(art.manifest["seed"]) if seed is None else seed
    distillation = distillation or Distillation()
    prepared = prepare_like(art, data)
    rows = len(prepared.x_train)
    sized, sized_tune = default_training(rows, progress=progress, overrides=train_overrides)
    config = replace(config or sized, seed=seed)
    fine_tune = replace(fine_tune or sized_tune, seed=seed)
    student_hidden = tuple(student_hidden) if student_hidden is not None else default_student(rows)
    if size_aware_sparsity and pruning is not None and pruning.sparsity > 0:
        pruning = replace(pruning, sparsity=default_sparsity(rows))
    seed_everything(seed)
    student = TabularMLP(prepared.x_train.shape[1], student_hidden, dropout=0.0)
    # Teacher outputs computed once (out-of-fold for a boosted teacher) and reused by fine-tuning.
    targets = distill_data(prepared, lambda x: teacher_logits(art.model, x),
                           train_logits=getattr(art.model, "oof_logits", None))
    distilled = distill(targets, student, distillation, train=config)
    provenance = {"path": str(art.path), "manifest_sha256": art.manifest["manifest_sha256"],
                  "model": art.manifest["model"]}
    steps: list[dict[str, Any]] = [{**method_to_dict(distillation), "teacher": provenance,
                                    "student": student.config(), "train": config.to_dict(),
                                    "batch_size": distilled.training.batch_size,
                                    "best_epoch": distilled.training.best_epoch}]
    model, applied = distilled.model, None
    if plan is not None or (pruning is not None and pruning.sparsity > 0):
        applied = plan if plan is not None else plan_pruning(model, pruning)  # type: ignore[arg-type]
        if plan_only:
            return CompressOutcome(model=model, plan=applied, report={}, path=None)
        pruned = apply_plan(model, applied)
        tuned = distill(targets, pruned.model, distillation, train=fine_tune, masks=pruned.masks)
        model = tuned.model
        steps.append({**applied.method, "planned_sparsity": applied.sparsity(), "unit": applied.unit,
                      "fine_tune": fine_tune.to_dict(), "best_epoch": tuned.training.best_epoch})
    report = compare_models(art.model, model, prepared.x_test, prepared.y_test, art.cutoff, timing=timing)
    report["teacher_artifact"] = provenance
    _warn(report, gates=False)
    path = None
    if out is not None:
        metrics = {"test": report["student"], "fidelity": report["fidelity"], "ratios": report["ratios"],
                   "teacher_test": report["teacher"]}
        path = save_artifact(out, model=model, preprocessor=art.preprocessor, role="student", seed=seed,
                             cutoff=art.cutoff, data=prepared.summary(), steps=steps, metrics=metrics,
                             plan=applied, overwrite=overwrite,
                             extra_files={"report.md": render_markdown(report, sections=_report_sections(
                                              prepared, applied, warnings=report.get("warnings"))),
                                          "report.json": dump_json(report)})
    return CompressOutcome(model=model, plan=applied, report=report, path=path)


@dataclass
class RecipeOutcome:
    """A recipe run: the kept model (None if no step passed its gates), every step's record,
    the test-split report, the final gate results on the test split, and the artifact path."""

    model: FinliteModel | None
    result: RecipeResult
    report: dict[str, Any]
    final_gates: list[GateResult]
    path: Path | None

    @property
    def passed(self) -> bool:
        """True when some step was kept and the kept model passes every gate on the test split."""
        return self.model is not None and all(g.passed for g in self.final_gates)


def compress_with_recipe(
    teacher: str | Path | Artifact,
    data: DataLike,
    recipe: Recipe,
    *,
    seed: int | None = None,
    config: TrainConfig | None = None,
    fine_tune: TrainConfig | None = None,
    out: str | Path | None = None,
    overwrite: bool = False,
    timing: bool = True,
    progress: bool = True,
    on_step: Any = None,
    extra_files: dict[str, str] | None = None,
    train_overrides: dict[str, Any] | None = None,
) -> RecipeOutcome:
    """Run a recipe on a teacher artifact, evaluate the kept model on the test split, save it.

    Steps are judged on the validation split (see :mod:`finlite.recipe`); the kept model is
    then compared with the teacher on the test split, the gates are checked again there, and
    the artifact records the recipe, every step (kept or rolled back, with its gate results)
    and the final gates. Nothing is written when no step was kept. Training settings default
    by the row count as in :func:`compress` (``train_overrides`` applied); a step's ``train:``
    in the recipe overrides them. A recipe without gates that keeps a student 0.06 AUC or more
    below its teacher gets the same loud warning as :func:`compress`.
    """
    art = teacher if isinstance(teacher, Artifact) else load(teacher)
    if out is not None:  # before any work: --out is no input, and may be replaced
        _paths.check_output_dir(out, overwrite=overwrite, inputs={"teacher artifact": art.path, "data file": data})
    seed = int(art.manifest["seed"]) if seed is None else seed
    prepared = prepare_like(art, data)
    sized, sized_tune = default_training(len(prepared.x_train), progress=progress, overrides=train_overrides)
    config = replace(config or sized, seed=seed)
    fine_tune = replace(fine_tune or sized_tune, seed=seed)
    oof = getattr(art.model, "oof_logits", None)
    result = run_recipe(recipe, prepared, art.model, cutoff=art.cutoff, seed=seed, train=config, fine_tune=fine_tune,
                        teacher_bytes=art.weights_bytes, train_logits=oof, timing=False, progress=on_step)
    provenance = {"path": str(art.path), "manifest_sha256": art.manifest["manifest_sha256"],
                  "model": art.manifest["model"]}
    if result.model is None:
        return RecipeOutcome(model=None, result=result, report={"teacher_artifact": provenance}, final_gates=[],
                             path=None)
    model = result.model
    report = compare_models(art.model, model, prepared.x_test, prepared.y_test, art.cutoff, timing=timing)
    report["teacher_artifact"] = provenance
    p_teacher = art.model.predict_proba(torch.from_numpy(prepared.x_test)).numpy().astype("float64")
    final = evaluate_candidate(model, prepared.x_test, prepared.y_test, p_teacher, art.cutoff,
                               timing=timing and recipe.needs_latency, teacher_bytes=art.weights_bytes)
    if timing and "latency_p50_us" in report["student"] and "latency_p50_us" not in final:
        # Latency gates keep the deployed (ONNX) timing evaluate_candidate measured; the report's
        # torch timing fills in only when no gate asked for one.
        final.update({k: report["student"][k] for k in ("latency_p50_us", "latency_p99_us")})
    final_gates = [r for gate in recipe.gates for r in gate.check(final, report["teacher"])]
    report["recipe"] = {"name": recipe.name, "steps": [r.to_dict() for r in result.records],
                        "final_gates": [g.to_dict() for g in final_gates],
                        "passed": all(g.passed for g in final_gates)}
    _warn(report, gates=bool(recipe.gates))
    path = None
    if out is not None:
        metrics = {"test": report["student"], "fidelity": report["fidelity"], "ratios": report["ratios"],
                   "teacher_test": report["teacher"], "gates": report["recipe"]["final_gates"],
                   "gates_passed": report["recipe"]["passed"]}
        steps = [{**r.method, "status": r.status, "gates": [g.to_dict() for g in r.gates], "info": r.info}
                 for r in result.records]
        files = {"report.md": render_markdown(report, sections=_report_sections(prepared, result.plan, recipe, result,
                                                                              warnings=report.get("warnings"))),
                 "report.json": dump_json(report), "recipe.yaml": recipe.to_yaml(), **result.extra_files, **(extra_files or {})}
        path = save_artifact(out, model=model, preprocessor=art.preprocessor, role="student", seed=seed,
                             cutoff=art.cutoff, data=prepared.summary(), steps=steps, metrics=metrics,
                             plan=result.plan, overwrite=overwrite, extra_files=files)
    return RecipeOutcome(model=model, result=result, report=report, final_gates=final_gates, path=path)


def recipe_summary(result: RecipeResult) -> str:
    """One line per step: kept or rolled back, and the gate that decided."""
    lines = []
    for r in result.records:
        name = r.method["method"]
        if r.status == "kept":
            lines.append(f"step {r.index + 1} {name}: kept")
        elif r.status == "skipped":
            lines.append(f"step {r.index + 1} {name}: skipped ({r.info['reason']})")
        else:
            failed = "; ".join(g.message for g in r.failed_gates)
            lines.append(f"step {r.index + 1} {name}: rolled back ({failed})")
    return "\n".join(lines)


def _report_sections(prepared: PreparedData, plan: PruningPlan | None, recipe: Recipe | None = None,
                     result: RecipeResult | None = None, warnings: list[str] | None = None) -> dict[str, str]:
    """The data provenance and the pruning plan (and any fidelity warning, first), for a reviewer
    reading report.md."""
    summary = prepared.summary()
    schema = prepared.schema
    data = [f"source: {summary['source']} (content sha256 {summary['content_sha256']})",
            f"split: {summary['split']['method']}, rows {summary['split']['rows']}",
            f"target: {schema.target!r}, positive class {schema.positive!r}",
            f"features: {len(schema.numeric)} numeric, {len(schema.categorical)} categorical; "
            f"dropped: {', '.join(schema.drop) or 'none'}",
            *(f"note: {note}" for note in schema.notes)]
    sections = {"WARNING": "\n".join(warnings)} if warnings else {}
    sections["Data"] = "\n".join(data)
    if recipe is not None and result is not None:
        sections["Recipe (steps judged on the validation split)"] = recipe_summary(result)
        sections["Recipe file"] = recipe.to_yaml()
    if plan is not None:
        sections["Pruning plan"] = plan.summary()
    return sections


def check_served_model(art: Artifact, x: np.ndarray, split: str) -> dict[str, Any]:
    """Check that the exported ONNX model (what ``score`` and ``serve`` run) agrees with the
    weights (what is evaluated) on the rows ``x``: the model evaluated is the model served.

    ``model.onnx`` must match within the export's recorded tolerance (at most 1e-3) with no
    decision flipped beyond the recorded allowance; ``model_int8.onnx`` must match the int8 form
    of the weights (what export checked it against) within 1e-3, with at most 1 % (+1) of the
    decisions flipped by rounding at the cut-off. Returns the agreement numbers, or
    ``{"file": None, "status": "not exported", ...}`` when there is no ONNX model.

    Raises:
        ArtifactError: the exported model and the weights disagree (the artifact was altered).
    """
    from finlite._manifest import read_listed
    from finlite.errors import ArtifactError
    from finlite.export import (
        FLOAT_TOLERANCE,
        FP32_FILE,
        INT8_FILE,
        INT8_TOLERANCE,
        _reference,
        int8_counterpart,
        onnx_session,
        run_onnx,
    )

    files, export = art.manifest["files"], art.manifest.get("export") or {}
    if "onnx" not in export or FP32_FILE not in files:
        return {"file": None, "status": "not exported", "scored": "weights.safetensors"}
    p_ref = _reference(art.model, x).astype(np.float64).reshape(-1)
    parity = export["onnx"].get("parity") or {}
    # The recorded tolerance is capped at the largest default export uses: a forged (re-hashed,
    # unsigned) manifest must not widen the check until an approve-everyone model "agrees".
    checks = [(FP32_FILE, min(float(parity.get("tolerance", FLOAT_TOLERANCE)), INT8_TOLERANCE),
               int(parity.get("max_flips", 0)), p_ref)]
    quantized = int8_counterpart(art.model) if (export.get("onnx_int8") or {}).get("file") == INT8_FILE else None
    if INT8_FILE in files and quantized is not None:
        # Export checked model_int8.onnx against the int8 form of the weights (rebuilt here from the
        # verified weights): compare with that, never within numbers a forged manifest could widen.
        checks.append((INT8_FILE, INT8_TOLERANCE, 1 + len(p_ref) // 100,
                       _reference(quantized, x).astype(np.float64).reshape(-1)))
    out: dict[str, Any] = {"file": FP32_FILE, "status": "agrees", "sha256": files[FP32_FILE], "rows": len(p_ref)}
    for name, tolerance, max_flips, p_ref in checks:
        p = run_onnx(onnx_session(read_listed(art.path, art.manifest, name)), x).astype(np.float64).reshape(-1)
        finite = np.isfinite(p)
        diff = np.where(finite, np.abs(p - p_ref), np.inf) if p.shape == p_ref.shape else np.full(p_ref.shape, np.inf)
        flipped = (p_ref >= art.cutoff) != (np.nan_to_num(p, nan=-1.0) >= art.cutoff) if p.shape == p_ref.shape \
            else np.ones(p_ref.shape, dtype=bool)
        flips, worst = int(flipped.sum()), float(diff.max()) if diff.size else 0.0
        numbers = {"max_abs_diff": worst, "flips": flips, "tolerance": tolerance, "max_flips": max_flips}
        if name == FP32_FILE:
            out.update(numbers)
        else:
            out["int8"] = {"file": name, "sha256": files[name], **numbers}
        if worst > tolerance or flips > max_flips:
            bad = int(((diff > tolerance) | flipped).sum())
            raise ArtifactError(
                f"{name} and weights.safetensors of {str(art.path)!r} disagree on {bad} of {len(p_ref)} rows of the "
                f"{split} split (max |Δp| {worst:.3g}, tolerance {tolerance:g}; {flips} decisions flipped at the "
                f"cut-off {art.cutoff:g}, allowed {max_flips}): the model that 'finlite score' and 'finlite serve' "
                "run is not the model evaluated, so the artifact was altered after export. Do not deploy it: "
                "re-export it from a trusted copy ('finlite export ARTIFACT') and check who can write the folder.")
    return out


def evaluate_artifact(artifact: str | Path | Artifact, data: DataLike, *,
                      baseline: str | Path | Artifact | None = None, timing: bool = True,
                      verify_key: Any = None) -> dict[str, Any]:
    """Metrics of an artifact on labelled data, optionally side by side with a baseline artifact.

    When ``data`` is the table the artifact was trained on, only its test split is scored;
    any other table is treated as a hold-out and every row is scored. The baseline scores the
    same rows through its own preprocessor, so artifacts with different features compare fairly.
    When the artifact is exported, its ONNX model scores the same rows and must agree with the
    weights (:func:`check_served_model`); ``result["served_model"]`` says what was checked.
    ``verify_key`` (public key PEM) requires the artifact to be signed by its private key.

    Raises:
        ArtifactError: the artifact does not verify, or its exported model disagrees with its weights.
    """
    art = artifact if isinstance(artifact, Artifact) else load(artifact, verify_key=verify_key)
    table = data if isinstance(data, Table) else read_table(data)
    if frame_sha256(table.frame) == art.manifest["data"]["content_sha256"]:
        prepared = prepare_like(art, table)
        rows, split = prepared.frame.iloc[prepared.split.test], "test"
    else:
        rows, split = table.frame, "hold-out (all rows)"
    y = art.schema.labels(rows, table.source)
    x = art.preprocessor.transform(rows, table.source)
    served = check_served_model(art, x, split)
    if baseline is None:
        metrics, _ = model_evidence(art.model, x, y, art.cutoff, timing=timing)
        return {"split": split, "rows": int(len(y)), "artifact": str(art.path), "model": metrics,
                "served_model": served}
    # The same trust as the artifact: with a key, the baseline must be signed by it too.
    base = baseline if isinstance(baseline, Artifact) else load(baseline, verify_key=verify_key)
    x_base = base.preprocessor.transform(rows, table.source)
    report = compare_models(base.model, art.model, x, y, art.cutoff, timing=timing, split=split, x_teacher=x_base)
    report["artifact"], report["baseline"] = str(art.path), str(base.path)
    report["served_model"] = served
    return report
