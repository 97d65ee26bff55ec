"""The compress job: run a recipe on a teacher artifact, evaluate the kept model on the test
split against the teacher, and save it with its report.

There is one job. The classic options of :func:`compress` (a student width, a distillation, a
pruning, a ready plan) build a recipe -- distillation, then pruning, no gates -- and a recipe
given as ``recipe=`` is run as it is; both go through :func:`finlite.recipe.runner.run_recipe`.
Everything a run starts from (the loaded teacher, the checked output folder, the seed, the data
split as the teacher's, the training settings with that seed, the teacher's outputs) is made
once by :func:`_setup`, which the search job (:mod:`finlite.jobs.search`) uses too, so a
search candidate and the artifact saved for it are trained alike.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from finlite import _paths
from finlite._limits import check_seed
from finlite._util import check_flags, check_instance, check_widths, dump_json, reaches, utc_timestamp
from finlite.artifact import PREPROCESSOR, Artifact, DataLike, library_versions, load, prepare_like, save_artifact
from finlite.data.market import PreparedSeries
from finlite.data.prepared import PreparedData
from finlite.errors import ConfigError, DataError, FinliteWarning
from finlite.evaluate.operating import OperatingPoint, check_operating_options, decides, operating_point
from finlite.evaluate.report import compare_models, render_markdown
from finlite.evaluate.sections import unbuilt_sections
from finlite.evaluate.summary_report import rare_positive_warning
from finlite.export.timing import report_timer
from finlite.methods.distill import AnyDistillation, Distillation, HintDistillation, RegressionDistillation
from finlite.methods.plan import PruningPlan
from finlite.methods.prune import MagnitudePruning, TaylorPruning, apply_plan, plan_pruning
from finlite.methods.registry import method_class, method_from_dict, registered_methods
from finlite.methods.targets import DistillData, distill_data, teacher_logits
from finlite.models.base import FinliteModel
from finlite.models.gbdt import remembering_scores
from finlite.recipe.gates import DECISION_METRICS, GateResult, decision_check, evaluate_candidate
from finlite.recipe.runner import RecipeResult, StepRecord, check_ready_plan, run_recipe
from finlite.recipe.spec import Recipe, Step
from finlite.tasks import get_task, series_rows
from finlite.training.loop import TrainConfig, auto_batch_size, keeps_random_state, seeded
from finlite.training.sizing import default_sparsity, default_student, default_training

__all__ = [
    "MARKET_HUBER_DELTA",
    "MARKET_PRESETS",
    "MARKET_SPARSITY",
    "MARKET_STUDENT",
    "MARKET_TRANSFER_BYTES",
    "MARKET_TRANSFER_NOISE",
    "MARKET_TRANSFER_SIZE",
    "MARKET_TRANSFER_TRAIN",
    "MARKET_WEIGHTING_FLOOR",
    "UNIVERSE_IC_PVALUE",
    "WARN_AUC_DROP",
    "CompressOutcome",
    "RecipeOutcome",
    "cap_epochs",
    "classic_recipe",
    "compress",
    "compress_with_recipe",
    "fidelity_warning",
    "fidelity_warnings",
    "market_recipe",
    "market_transfer_size",
    "recipe_summary",
    "universe_gate",
]

# A student this far below its teacher's test AUC is not a replacement: say so loudly.
WARN_AUC_DROP = 0.06

# The name of the recipe the classic options build (recorded in the artifact's recipe.yaml).
CLASSIC_NAME = "compress: distillation, then pruning"

StepCallback = Callable[[int, int, str], Any]

# The pruning a classic run can take: the methods that make a plan first (so a dry run can show it).
Pruning = MagnitudePruning | TaylorPruning


def fidelity_warning(report: dict[str, Any], gates: bool) -> str | None:
    """The loud warning for a run without gates whose student lost :data:`WARN_AUC_DROP` AUC or more."""
    if gates or report["teacher"].get("auc") is None or report["student"].get("auc") is None:
        return None  # with gates, a task without AUC (regression), or a test period of one direction
    drop = float(report["teacher"]["auc"]) - float(report["student"]["auc"])
    # At 0.06 as the words say (0.86 - 0.80 is 0.05999999999999994: finlite._util.reaches); a drop
    # that cannot be read warns too (a review, 2026-12-07).
    if drop == drop and not reaches(drop, WARN_AUC_DROP):
        return None
    return (f"WARNING: the student's test AUC {report['student']['auc']:.4f} is {drop:.4f} below its teacher's "
            f"{report['teacher']['auc']:.4f} ({WARN_AUC_DROP} or more); it does not make the teacher's decisions "
            "and no gate stopped it. Do not deploy it: use a wider student (--student-width, e.g. 128,64), more "
            "epochs, or a preset with gates (--preset balanced), which writes no student that fails them on the "
            "validation split (only the record of what it tried).")


def silent_warning(report: dict[str, Any], gate_metrics: Sequence[str]) -> str | None:
    """The loud warning for a student that flags no test row (or every one) at the cut-off where
    its teacher flags some, in a run without a gate on decisions (which would have rolled it back:
    :func:`finlite.recipe.gates.decision_check`): it would decline or approve everyone when served
    (a review, 2026-12-03: an AUC gate alone kept such a student, without a word)."""
    teacher, student = report.get("teacher", {}).get("flagged_rate"), report.get("student", {}).get("flagged_rate")
    if any(metric in DECISION_METRICS for metric in gate_metrics) or teacher is None or student is None:
        return None
    if not decides(float(teacher)) or decides(float(student)):
        return None
    return (f"WARNING: the student flags {'no' if float(student) <= 0 else 'every'} test row at the cut-off, where "
            f"its teacher flags {float(teacher):.2%}: it makes no decisions, and no gate on decisions stopped it. Do "
            "not deploy it: add an agreement gate (e.g. --preset balanced), train longer, or set its own operating "
            "point (--flag-rate).")


def larger_warning(report: Mapping[str, Any]) -> str | None:
    """The warning for a student larger on disk than its teacher (a logistic teacher distilled into
    a default MLP student: 4.9x larger, and the summary said PASS; a walk-through, 2026-12-06)."""
    ratio = (report.get("ratios") or {}).get("size_ratio")
    if not isinstance(ratio, (int, float)) or not 0 < ratio < 1:
        return None
    return (f"warning: the student is {1 / ratio:.1f}x larger on disk than its teacher: compressing made the model "
            "bigger. The teacher is already small (a logistic or shallow model): deploy it, or give a narrower "
            "student (--student-width) and more pruning (--sparsity).")


def fidelity_warnings(report: dict[str, Any], gate_metrics: Sequence[str]) -> list[str]:
    """Every warning a run's comparison raises: the AUC one (no gates at all), the silent-student
    one (no gate on decisions), the PR-AUC one (rare positives, no PR-AUC gate;
    :func:`finlite.evaluate.summary_report.rare_positive_warning`) and a student larger than its
    teacher (:func:`larger_warning`)."""
    found = [fidelity_warning(report, gates=bool(gate_metrics)), silent_warning(report, gate_metrics),
             rare_positive_warning(report, gate_metrics), larger_warning(report)]
    return [message for message in found if message is not None]


def evidence_warnings(report: Mapping[str, Any]) -> list[str]:
    """A forecaster's warnings of a test period too short to judge on (the evidence's
    ``warnings``: :func:`finlite.jobs.forecast.thin_warnings`), as warnings of the report itself,
    so its summary is at least WARN: the table, ``report.md`` and the card said them while the
    report's status read PASS (a review, 2026-12-05). Empty for a table's model."""
    evidence = report.get("forecast")
    said = evidence.get("warnings") if isinstance(evidence, Mapping) else None
    return [f"warning: {w}" for w in said if isinstance(w, str)] if isinstance(said, list) else []


def _trains_a_student(name: Any) -> bool:
    """Whether the recipe method ``name`` trains a fresh student (a registered distillation, whose
    step records carry best_epoch and epochs_run)."""
    return isinstance(name, str) and name in registered_methods() and method_class(name).is_distillation


def first_epoch_warnings(report: Mapping[str, Any]) -> list[str]:
    """A warning for each kept distillation whose early stopping kept the student's first epoch
    although it ran more: it imitated the teacher best on the validation split after one pass, and
    every later epoch imitated it worse, so it learned little of the teacher. The teacher's
    training says so of a network kept at its first epoch (:func:`finlite.jobs.forecast.first_epoch_warning`);
    the student's said nothing (note61, left alone). Empty when no such step was kept."""
    recipe = report.get("recipe")
    steps = recipe.get("steps") if isinstance(recipe, Mapping) else None
    out = []
    # finlite report reads these records back from report.json: a field of another shape is no
    # such step, not a traceback.
    for step in steps if isinstance(steps, list) else []:
        info = step.get("info") if isinstance(step, Mapping) else None
        method = step.get("method") if isinstance(step, Mapping) else None
        name = method.get("method") if isinstance(method, Mapping) else None
        if not isinstance(info, Mapping) or not _trains_a_student(name) or step.get("status") != "kept":
            continue
        best, ran = info.get("best_epoch"), info.get("epochs_run")
        if not isinstance(best, int) or not isinstance(ran, int) or best != 0 or ran < 2:
            continue
        index = step.get("index")
        number = index + 1 if isinstance(index, int) else "?"  # records count from 0; the run's lines from 1
        out.append(f"warning: step {number} ({name}) kept the student's first epoch of {ran}: it "
                   "imitated the teacher best on the validation split after one pass over the training data, and "
                   "worse after every later one, so it learned little of the teacher. Read its agreement and "
                   "evidence before relying on it; a lower learning rate (a recipe step's train: {lr: ...}) or "
                   "another student may train further.")
    trained = report.get("teacher_training")
    if isinstance(trained, Mapping):
        best, ran = trained.get("best_epoch"), trained.get("epochs_run")
        if isinstance(best, int) and isinstance(ran, int) and best == 0 and ran >= 2:
            # The teacher's own training warned of it, but only then: the student's report, the one a
            # validator reads, said nothing of a teacher kept at its first epoch (note67, left alone).
            # A credit teacher is early-stopped on validation AUC, a forecaster on its validation loss.
            baseline = ("the naive forecast in the evidence table" if report.get("task") in ("forecast", "direction")
                        else "a logistic regression: finlite train --model logistic")
            out.append(f"warning: the teacher's early stopping kept its first epoch of {ran}: its validation score "
                       "was best after one pass over the training data, so it learned little that the validation "
                       "split rewards, and the student imitates that. Before relying on either, compare the teacher "
                       f"with a simple baseline ({baseline}).")
    return out


def first_epoch_message(trained: Mapping[str, Any] | None, *, market: bool) -> list[str]:
    """The warning for an artifact's own network kept at its first epoch (``trained``:
    :func:`teacher_training`'s record), in a forecaster's words
    (:func:`finlite.jobs.forecast.first_epoch_warning`) or a table model's (early-stopped on
    validation AUC; a logistic regression the baseline); empty otherwise."""
    if trained is None:
        return []
    if market:
        from finlite.jobs.forecast import first_epoch_warning

        return first_epoch_warning(trained)
    best, ran = trained.get("best_epoch"), trained.get("epochs_run")
    if best != 0 or not isinstance(ran, int) or ran < 2:
        return []
    return [f"early stopping kept the network's first epoch of {ran}: its validation AUC was best after one pass over "
            "the training rows, so it learned little that the validation split rewards. Compare it with a logistic "
            "regression (finlite train --model logistic) before relying on it; a lower learning rate or a smaller "
            "network may train further."]


def teacher_training(manifest: Mapping[str, Any]) -> dict[str, int] | None:
    """The epoch a network teacher's early stopping kept and the epochs it ran (``best_epoch``,
    ``epochs_run``), from its manifest's training step; None for a booster, an imported model or a
    record without them. :func:`first_epoch_warnings` reads it as ``report["teacher_training"]``."""
    steps = manifest.get("steps")
    for step in steps if isinstance(steps, list) else []:
        if isinstance(step, Mapping) and step.get("step") == "train":
            best, ran = step.get("best_epoch"), step.get("epochs_run")
            if isinstance(best, int) and isinstance(ran, int) and not isinstance(best, bool):
                return {"best_epoch": best, "epochs_run": ran}
    return None


def teacher_import(manifest: Mapping[str, Any]) -> dict[str, Any] | None:
    """Where an imported teacher came from (``import-teacher``: the booster's library, file and
    sha256) and the warnings its import raised (a test split it was likely trained on, rows
    scored unlike the booster), from its manifest's first step; None for a teacher finlite
    trained. The report and the card said nothing of an import, and read the booster's in-sample
    test metrics as evidence (a bring-your-own-model walk-through, 2026-12-07)."""
    from finlite._manifest import import_step

    first = import_step(manifest)
    if first is None:
        return None
    return {"library": first.get("library"), "file": first.get("file"), "file_sha256": first.get("file_sha256"),
            "warnings": [str(w) for w in first.get("warnings") or []]}


#: Gate metrics that read the positive rows (their ranking, or the share caught): judged on a
#: validation split of few positives, a gate's keep or roll-back is noise (:func:`thin_gate_warning`).
POSITIVE_GATE_METRICS = frozenset({"auc", "gini", "ks", "pr_auc", "recall_at_0.1pct_fpr", "recall", "precision",
                                   "f1"})


def thin_gate_warning(gate_metrics: Sequence[str], y_val: Any, task: str) -> str | None:
    """A warning when gates that read the positive rows (:data:`POSITIVE_GATE_METRICS`) judged a
    validation split holding fewer than :data:`finlite._limits.THIN_CLASS_ROWS` of them: a
    low-default portfolio's steps were each kept with "auc drop -0.096 within 0.01" on 2
    validation defaults, and its test split then failed the same gate (a walk-through,
    2026-12-07). None otherwise, or for a task without a binary label."""
    import numpy as np

    from finlite._limits import THIN_CLASS_ROWS

    read = sorted({m for m in gate_metrics if m in POSITIVE_GATE_METRICS})
    if not read or y_val is None or task not in ("binary", "direction"):
        return None
    y = np.asarray(y_val).reshape(-1)
    positives = int(np.count_nonzero(y == 1))
    if positives >= THIN_CLASS_ROWS:
        return None
    return (f"the gates on {', '.join(read)} judged a validation split of {positives:,} positive row(s) (of "
            f"{y.size:,}), fewer than {THIN_CLASS_ROWS}: each step's keep or roll-back moved with a row or two, so "
            "they decided on noise. With so few positives (a low-default portfolio), gate on agreement or the "
            "decisions instead, or give the validation split more of them (train the teacher again with a larger "
            "--validation-fraction, or on a longer history), and judge the student on the test split and a "
            "hold-out.")


#: How much slower than its teacher (batch-1 p50) a student may time before the run warns: below it
#: the difference is within what a shared machine's noise gives between two timings.
SLOWER_RATIO = 1.5


def slower_warning(report: dict[str, Any], gate_metrics: Sequence[str]) -> str | None:
    """A warning when the student times slower than its teacher at batch 1 and no latency gate
    judged it: int8 on a tiny model (or on the teacher itself, where no distillation step was
    kept) can cost more than it saves, and a run that said nothing of it looked like a success
    (54-76 µs against the teacher's 8 µs: a review, 2026-12-03)."""
    if any(metric.startswith("latency") for metric in gate_metrics):
        return None
    student = report.get("student", {}).get("latency_p50_us")
    teacher = report.get("teacher", {}).get("latency_p50_us")
    if not isinstance(student, (int, float)) or not isinstance(teacher, (int, float)) or teacher <= 0:
        return None
    if student <= SLOWER_RATIO * teacher:
        return None
    return (f"warning: the student is slower than its teacher at batch 1 (p50 {student:,.0f} µs against "
            f"{teacher:,.0f} µs); the compression made it no faster to run. A student as wide as its teacher, or "
            "int8 on small layers (it pays only for teacher-size ones: bench/int8.py), costs more than it saves; "
            "a latency gate (latency_p50_us: {max: ...}) would judge it.")


def _preprocessor_bytes(art: Artifact) -> int | None:
    """The size of ``art``'s preprocessor.json (None when it cannot be read)."""
    try:
        return (Path(art.path) / PREPROCESSOR).stat().st_size
    except OSError:
        return None


def preprocessor_sizes(teacher: Artifact, student: Artifact | None = None) -> dict[str, int] | None:
    """``{"teacher": bytes, "student": bytes}`` of the two preprocessor.json files the models read,
    which the size ratio of weights leaves out (:func:`~finlite.evaluate.summary_report.weights_words`).
    Without ``student`` (at compress time, before its artifact exists) the student's is the
    teacher's preprocessor as the student's artifact will hold it, written by the same writer. The
    teacher's may be larger or smaller (an older writer's file is still read): each is its own
    (compress and finlite report gave two ratios otherwise: a review, 2026-12-05). None when
    either is unknown."""
    t_bytes = _preprocessor_bytes(teacher)
    if student is not None:
        s_bytes = _preprocessor_bytes(student)
    else:
        import tempfile

        with tempfile.TemporaryDirectory(prefix="finlite-size-") as tmp:
            teacher.preprocessor.save(Path(tmp) / PREPROCESSOR)
            s_bytes = (Path(tmp) / PREPROCESSOR).stat().st_size
    return None if t_bytes is None or s_bytes is None else {"teacher": t_bytes, "student": s_bytes}


def _warn(report: dict[str, Any], gate_metrics: Sequence[str]) -> None:
    """Record the fidelity warnings in the report and issue them as :class:`FinliteWarning`; issue
    the cost one too (a student slower than its teacher), which is no matter of the decisions the
    report judges. Warnings, not lines on stderr: a program decides what to do with them (a review
    of the Python API, 2026-12-05: they were printed even with progress=False); the command line
    prints them."""
    for message in [*fidelity_warnings(report, gate_metrics), *first_epoch_warnings(report)]:
        report.setdefault("warnings", []).append(message)
        warnings.warn(message, FinliteWarning, stacklevel=2)
    thin = evidence_warnings(report)
    if thin:  # recorded, not issued again: the evidence's table, report.md and the card say them
        report.setdefault("warnings", []).extend(thin)
    slower = slower_warning(report, gate_metrics)
    if slower is not None:
        warnings.warn(slower, FinliteWarning, stacklevel=2)


# -- the set-up every compress and search run shares ----------------------------------------------
@dataclass(frozen=True)
class _Setup:
    """What a compress or search run starts from, made once by :func:`_setup`."""

    art: Artifact
    prepared: PreparedData | PreparedSeries
    seed: int
    train: TrainConfig
    fine_tune: TrainConfig
    base: DistillData
    provenance: dict[str, Any]
    #: Where the student decides: the teacher's operating point, or one set at ``flag_rate``
    #: (None for a model that decides nothing, e.g. a return forecast).
    operating_point: OperatingPoint | None

    @property
    def cutoff(self) -> float | None:
        """The cut-off of :attr:`operating_point` (None without one)."""
        return None if self.operating_point is None else self.operating_point.cutoff

    @property
    def rows(self) -> int:
        """Training rows: the size the default student, sparsity and training settings follow."""
        return len(self.prepared.x_train)


def _setup(teacher: str | Path | Artifact, data: DataLike, *, seed: int | None, config: TrainConfig | None,
           fine_tune: TrainConfig | None, out: str | Path | None, overwrite: bool, progress: bool,
           train_overrides: dict[str, Any] | None, flag_rate: float | None = None) -> _Setup:
    """Load the teacher, check ``out`` (and the record a run there leaves when its gates keep no
    student: :func:`check_rejected_path`) before any work, and prepare what every step reads.

    The seed defaults to the teacher's. The training settings default by the training rows
    (:func:`~finlite.training.sizing.default_training`, ``train_overrides`` applied, ``progress``
    setting their progress output); given or not, both carry the run's seed, because the
    training loop seeds its batch order from its config: a config left at another seed would
    train a different model than the one a run with this seed reports. The teacher's outputs
    are computed once (out-of-fold ones for the training rows of a boosted teacher).
    The student inherits the teacher's operating point; ``flag_rate`` sets a new one where the
    teacher flags that share of the training rows (students inherit cut-offs set on the teacher).
    """
    check_operating_options("compress", None, flag_rate)
    for name, value in (("config", config), ("fine_tune", fine_tune)):
        check_instance(value, TrainConfig, "compress", name, "a finlite.TrainConfig (e.g. TrainConfig(epochs=10))")
    check_instance(train_overrides, dict, "compress", "train_overrides",
                   "a dict of TrainConfig fields (e.g. {'epochs': 10, 'batch_size': 2048})")
    art = teacher if isinstance(teacher, Artifact) else load(teacher)
    if out is not None:  # before any work: --out is no input, and may be replaced
        _paths.check_output_dir(out, overwrite=overwrite, inputs={"teacher artifact": art.path, "data file": data})
        check_rejected_path(out, overwrite=overwrite, inputs={"teacher artifact": art.path, "data file": data})
    seed = int(art.manifest["seed"]) if seed is None else check_seed(seed)
    for name, value in (("config", config), ("fine_tune", fine_tune)):
        seeded(value, seed, "compress", name)  # a config seeded otherwise is refused before any work
    if flag_rate is not None and not get_task(art.task).decides:
        raise ConfigError(f"flag_rate applies to classifiers; {art.path} holds a {art.task} model, which makes "
                          "no decisions. Drop flag_rate.", param="flag_rate")
    prepared = prepare_like(art, data)
    sized, sized_tune = default_training(len(prepared.x_train), progress=progress, overrides=train_overrides)
    base = distill_data(prepared, lambda x: teacher_logits(art.model, x),
                        train_logits=getattr(art.model, "oof_logits", None))
    if teacher_level(art) is not None:
        # The teacher's PDs sit at a long-run rate, the labels at the sample's: the label term reads
        # the student's logit moved back by the one shift that takes the teacher to the sample's rate,
        # so the two terms agree (they pulled the student apart: a review, 2026-12-07). The student is
        # not shifted again afterwards: matching the teacher's mean PD moved its decisions off the
        # teacher's at the cut-off (31.3 % of training rows flagged against 30 %: a review).
        from finlite.training.central import logit_shift

        real = base.labelled_train > 0
        base = replace(base, label_offset=logit_shift(base.t_train[real], float(base.y_train[real].mean(dtype="float64"))))
    provenance = {"path": str(art.path), "manifest_sha256": art.manifest["manifest_sha256"],
                  "manifest_core_sha256": core_digest(art.manifest), "model": art.manifest["model"],
                  "model_files": model_files(art.manifest)}
    point = art.operating_point if get_task(art.task).decides else None
    if flag_rate is not None:
        point = operating_point(get_task(prepared.task).training_scores(art.model, prepared.x_train), prepared.y_train,
                                flag_rate=flag_rate, owner="compress")
    return _Setup(art=art, prepared=prepared, seed=seed, train=seeded(config, seed, "compress", default=sized),
                  fine_tune=seeded(fine_tune, seed, "compress", "fine_tune", default=sized_tune), base=base,
                  provenance=provenance,
                  operating_point=point)


#: The description of a classic recipe whose pruning step applied a ready plan: with the recipe's
#: name, how `finlite reproduce` knows to apply the artifact's plan again instead of making one.
READY_PLAN_NOTE = "The pruning step applied a ready plan (plan.json), not one it made."
#: The name of a forecaster's classic recipe.
MARKET_CLASSIC_NAME = "compress: distillation into a GRU, then pruning of units"


def classic_recipe(rows: int, *, student_hidden: Sequence[int] | None = None,
                   distillation: AnyDistillation | None = None, pruning: Pruning | None = None,
                   plan: PruningPlan | None = None, size_aware_sparsity: bool = False) -> Recipe:
    """The recipe :func:`compress`'s classic options stand for: distillation, then pruning, no gates.

    The student's widths are ``student_hidden`` (default :func:`default_student` for ``rows``
    training rows; they replace the distillation's own ``hidden``). Pruning is a step when
    ``pruning`` removes something or a ready ``plan`` is given; with ``size_aware_sparsity``
    its sparsity follows the rows (:func:`default_sparsity`). With a ready plan the step is the
    method the plan records (the step then applies the plan instead of making one).
    """
    widths = tuple(student_hidden) if student_hidden is not None else default_student(rows)
    steps = [Step(replace(distillation or Distillation(), hidden=widths, large_hidden=None))]
    if size_aware_sparsity and pruning is not None and pruning.sparsity > 0:
        pruning = replace(pruning, sparsity=default_sparsity(rows))
    if plan is not None:
        steps.append(Step(_plan_method(plan, pruning)))
    elif pruning is not None and pruning.sparsity > 0:
        steps.append(Step(pruning))
    # A ready plan is applied as it is; the recipe file alone would make a new one.
    note = READY_PLAN_NOTE if plan is not None else ""
    return Recipe(steps=steps, gates=[], name=CLASSIC_NAME, description=note)


#: A forecaster's default student: one GRU layer of 16 units (an LSTM [64, 32] teacher has about 20x
#: its weights), and the share of its units the classic run prunes when no sparsity is given.
MARKET_STUDENT: tuple[int, ...] = (16,)
MARKET_SPARSITY = 0.25
#: The Huber loss's delta for a market forecast's distillation, in units of the teacher's spread.
MARKET_HUBER_DELTA = 0.1
#: A return forecast's distillation (objective "return"): errors weighted relative to the teacher's
#: forecast (floor MARKET_WEIGHTING_FLOOR of its spread), and a transfer set of MARKET_TRANSFER_SIZE jittered
#: training windows per training window (noise MARKET_TRANSFER_NOISE, in scaled units), trained
#: MARKET_TRANSFER_TRAIN (the ~33,000 rows at a batch of 256; fine-tuning likewise).
MARKET_WEIGHTING_FLOOR = 0.02
MARKET_TRANSFER_SIZE = 10.0
MARKET_TRANSFER_NOISE = 0.5
MARKET_TRANSFER_TRAIN: dict[str, Any] = {"batch_size": 256, "epochs": 100}
#: The most memory the jitter of that transfer set may hold (it stores one noise value per value of
#: each synthetic window): a long panel of assets gets fewer copies per window, or none.
MARKET_TRANSFER_BYTES = 512 << 20


def market_transfer_size(train_values: int) -> float:
    """The jittered copies per training window a return student gets: :data:`MARKET_TRANSFER_SIZE`,
    fewer when ``train_values`` (the training windows' values, rows x steps x features) would make
    their noise exceed :data:`MARKET_TRANSFER_BYTES`; 0 (no transfer set) below one copy."""
    fits = MARKET_TRANSFER_BYTES / max(4 * int(train_values), 1)
    size = min(MARKET_TRANSFER_SIZE, int(fits * 10) / 10)  # tenths, rounded down
    return size if size >= 1.0 else 0.0


def market_recipe(task: str, *, student_hidden: Sequence[int] | None = None,
                  distillation: AnyDistillation | None = None, pruning: Pruning | None = None,
                  plan: PruningPlan | None = None, size_aware_sparsity: bool = False,
                  objective: str | None = None, train_settings: bool = True,
                  train_values: int = 0) -> Recipe:
    """The classic run for a market forecaster: distil into a small GRU, then prune whole units.

    Without a ``distillation`` the student imitates the teacher's outputs alone (its log-odds for
    direction, its forecast otherwise: :class:`~finlite.methods.distill.RegressionDistillation`
    with alpha 1). On market data the labels are mostly noise (daily direction is close to a coin
    flip), and a student that also fits them decides differently from its teacher on many more
    dates: on the S&P 500's validation period (2011-2015; the defaults were chosen there, never on
    the test period), soft targets at alpha 0.9 kept 89.1 % of a direction teacher's calls and
    logit matching alone 99.1 %. A forecast is matched with a Huber loss (``delta``
    :data:`MARKET_HUBER_DELTA` of the teacher's spread): a 16-unit GRU kept the sign of 85.2 % of
    an LSTM [128, 64] teacher's return forecasts with squared error, 93.8 % with Huber (82.0 and
    94.0 % after pruning a quarter of its units). A ``return`` forecast (``objective="return"``)
    is judged by its sign, and those 6 % of flipped signs cost up to a point of directional accuracy:
    its errors are weighted relative to the teacher's forecast (``weighting="relative"``), and the
    student also imitates the teacher on :data:`MARKET_TRANSFER_SIZE` jittered copies of each
    training window (noise :data:`MARKET_TRANSFER_NOISE`), which kept 97.7, 94.0 and 97.2 % of the
    signs on that validation period after pruning (seeds 0, 1, 2; 92.3 % without them, seed 0) with
    the weighting's floor at a tenth of the teacher's spread. The floor is now
    :data:`MARKET_WEIGHTING_FLOOR`, a fiftieth, so the forecasts nearest zero pull harder: 97.4,
    95.3 and 97.7 % (measured 2026-12-02). A 32-unit student pruned to 24 with that floor kept
    97.8, 97.0 and 97.7 %, but on the test period its forecast from a raw history was only 2.5–3.1
    times faster than the teacher's (3.2–3.3 for the 16-unit one, run the same morning), below
    the 3x that bench/markets.py asks, on a slow machine; on a quieter one that afternoon a
    36-unit student took 3.5–4.9x, and its agreement (98.0, 96.2, 97.9 %) was no better. It trains with :data:`MARKET_TRANSFER_TRAIN` for those 11x
    rows unless ``train_settings`` is false (:func:`compress` passes false when the caller gave
    training settings), and with fewer copies when the training windows hold many values
    (``train_values``: :func:`market_transfer_size`).
    ``temperature`` applies to soft targets only: a forecast's distillation takes the
    ``distillation``'s alpha and refuses another temperature. A given ``distillation`` is used
    with its own temperature and alpha (soft targets for direction,
    output matching with that alpha and its transfer set for a forecast); a given
    :class:`~finlite.methods.distill.RegressionDistillation` is used as it is (its loss, alpha,
    weighting and transfer set), with the GRU student. The student is a GRU of widths
    ``student_hidden`` (default :data:`MARKET_STUDENT`); pruning removes whole recurrent units
    (``granularity="neuron"``, the only form a recurrent layer takes), at
    :data:`MARKET_SPARSITY` when the sparsity follows the data (``size_aware_sparsity``). No
    gates: use ``--preset markets`` (``markets_direction``, ``markets_volatility``) for them.

    Raises:
        ConfigError: ``distillation`` has ``monotone`` columns (a market window has no raw
            numeric column to hold monotone) or ``input_bins``, or a temperature for a forecast;
            or it is a :class:`~finlite.methods.distill.HintDistillation` (a hint joins two MLPs'
            hidden layers).
    """
    if isinstance(distillation, HintDistillation):
        # Refused, not reduced to its soft targets: the hint the caller asked for would be dropped.
        raise ConfigError(f"Hint distillation matches hidden layers of two MLPs; a market forecaster's student (task "
                          f"{task!r}) is a GRU over windows of a series. Use Distillation or RegressionDistillation "
                          "(recipe steps distillation, regression_distillation).", param="distillation")
    monotone = getattr(distillation, "monotone", ())  # only soft-target Distillation has the field
    if monotone:
        # Refused, not dropped: a student trained without the constraint it was asked for would
        # pass for a constrained one.
        columns = ", ".join(column for column, _ in monotone)
        raise ConfigError(f"The 'monotone' parameter of Distillation ({columns}) constrains raw numeric columns of a "
                          f"table; a {task} forecaster reads windows of a series, which have no such column to hold "
                          "monotone. Drop monotone (and --enforce-monotone).", param="monotone")
    if distillation is not None and distillation.input_bins:
        # Refused, not dropped, for the same reason: the student would not be the one asked for.
        raise ConfigError("Input bins apply to the numeric columns of a table, for an MLP student; a market "
                          "forecaster's student is a GRU over windows of a series. Leave input bins off "
                          "(input_bins=0).", param="input_bins")

    widths = tuple(student_hidden) if student_hidden is not None else MARKET_STUDENT
    first: Any
    train: dict[str, Any] = {}
    if distillation is None and objective == "return":
        # A return forecast is judged by its sign: errors count relative to the teacher's forecast,
        # and jittered windows show the student far more of the teacher's function near zero.
        copies = market_transfer_size(train_values)
        first = RegressionDistillation(alpha=1.0, loss="huber", delta=MARKET_HUBER_DELTA, weighting="relative",
                                       weighting_floor=MARKET_WEIGHTING_FLOOR,
                                       transfer="perturb" if copies else "none",
                                       transfer_size=copies, transfer_noise=MARKET_TRANSFER_NOISE,
                                       student="gru", hidden=widths)
        # Its own batch and epochs for the 11x rows, unless the caller gave training settings.
        train = dict(MARKET_TRANSFER_TRAIN) if train_settings else {}
    elif distillation is None and get_task(task).decides:
        first = RegressionDistillation(alpha=1.0, student="gru", hidden=widths)
    elif distillation is None:
        # Huber at a tenth of the teacher's spread: every error pulls about as hard, so the student
        # matches the many small forecasts whose sign flips easily, not mostly the few large ones.
        first = RegressionDistillation(alpha=1.0, loss="huber", delta=MARKET_HUBER_DELTA, student="gru", hidden=widths)
    elif isinstance(distillation, RegressionDistillation) or get_task(task).decides:
        # A given output matching keeps its own loss and weighting; soft targets stay soft targets.
        first = replace(distillation, student="gru", hidden=widths, large_hidden=None)
    elif distillation.temperature != Distillation().temperature:
        raise ConfigError(f"temperature={distillation.temperature} softens the soft targets of a classifier; a "
                          f"{task} model's student matches its teacher's numbers, where no temperature applies. Drop "
                          "temperature (alpha sets the weight of the teacher's forecasts).", param="temperature")
    else:
        # Its alpha and its transfer set carry over (the transfer set was once dropped unsaid).
        first = RegressionDistillation(alpha=distillation.alpha, loss="huber", delta=MARKET_HUBER_DELTA,
                                       transfer=distillation.transfer, transfer_size=distillation.transfer_size,
                                       transfer_noise=distillation.transfer_noise, student="gru", hidden=widths)
    steps = [Step(first, train=train)]
    tune = {"batch_size": train["batch_size"]} if train else {}
    if pruning is not None:
        sparsity = MARKET_SPARSITY if size_aware_sparsity else pruning.sparsity
        pruning = replace(pruning, sparsity=sparsity, granularity="neuron")
    if plan is not None:
        steps.append(Step(_plan_method(plan, pruning), train=tune))
    elif pruning is not None and pruning.sparsity > 0:
        steps.append(Step(pruning, train=tune))
    note = READY_PLAN_NOTE if plan is not None else ""
    return Recipe(steps=steps, gates=[], name=MARKET_CLASSIC_NAME, description=note)


def _plan_method(plan: PruningPlan, pruning: Pruning | None) -> Any:
    """The pruning config a ready plan records (a hand-edited plan may name none that reads back:
    then ``pruning``, or magnitude pruning, stands for it; the plan itself is what is applied).

    Raises:
        ConfigError: the plan names a method that makes no such plan (quantization, regularised
            or gradual pruning): its step would ignore the plan and do its own work, with exit 0
            and a recipe saying a ready plan was applied (a review, 2026-12-04 evening).
    """
    try:
        method = method_from_dict(dict(plan.method), "the pruning plan's 'method'")
    except ConfigError:
        return pruning if pruning is not None else MagnitudePruning()
    if not isinstance(method, (MagnitudePruning, TaylorPruning)):
        raise ConfigError(f"The pruning plan's 'method' is {str(plan.method.get('method'))!r}, which does not apply a "
                          "ready plan: a plan is applied by magnitude_pruning or taylor_pruning, the methods that "
                          "write one. Set its 'method' to {\"method\": \"magnitude_pruning\"}, or save the plan "
                          "again with --save-plan.", param="plan")
    return method


# -- the record of a run whose gates wrote no student -----------------------------------------------
#: The format of the record a gated run leaves when its gates keep no student (:func:`write_rejected`).
REJECTED_FORMAT = "finlite.rejected/2"
#: Every format of the record this finlite reads (and replaces with ``overwrite``): /1, written
#: before 2026-12-06, has no ``record_sha256``; /2 always has one.
REJECTED_FORMATS = ("finlite.rejected/1", REJECTED_FORMAT)


def rejected_path(out: str | Path) -> Path:
    """Where a run at ``out`` whose gates keep no student leaves its record: ``OUT.rejected.json``
    beside the folder it would have written. A model validator asks what was tried and why it was
    refused, not only what was kept; a rejected run left nothing but its terminal output (a
    walk-through, 2026-12-05). Beside ``out``, not inside it: an ``out`` folder holds a student."""
    out = Path(out)
    return out.with_name(f"{out.name}.rejected.json")


#: The most bytes of a record finlite reads back to know it for its own (a search's, with every
#: candidate, is tens of KiB).
_RECORD_LIMIT = 16 << 20


def record_digest(record: Mapping[str, Any]) -> str:
    """sha256 of a refused run's record as canonical JSON, without its own ``record_sha256``:
    a manifest's rule (:func:`finlite._manifest.manifest_digest`)."""
    from finlite._manifest import manifest_digest

    return manifest_digest(record, own="record_sha256")


def _small_json(path: Path) -> Any:
    """The JSON in the regular file at ``path`` (at most :data:`_RECORD_LIMIT` bytes, strict: no
    NaN, no key twice). Raises OSError, ValueError or FileTooLarge for anything else."""
    from finlite._util import strict_json_loads

    return strict_json_loads(_paths.read_small_file(path, _RECORD_LIMIT).decode("utf-8"))


def _read_record(path: Path) -> dict[str, Any] | None:
    """The record finlite wrote at ``path`` (:data:`REJECTED_FORMAT`), or None for anything else."""
    try:
        record = _small_json(path)
    except (OSError, ValueError, _paths.FileTooLarge):
        return None
    return record if isinstance(record, dict) and record.get("format") in REJECTED_FORMATS else None


def _is_record(path: Path) -> bool:
    """Whether the regular file at ``path`` is a record finlite wrote (:data:`REJECTED_FORMAT`)."""
    return _read_record(path) is not None


def check_rejected_path(out: str | Path, *, overwrite: bool, inputs: Mapping[str, object] | None = None) -> None:
    """Before any work: the record a run at ``out`` leaves when its gates keep no student
    (:func:`rejected_path`) may be written there, and an earlier run's record may be replaced. A run
    at ``out`` leaves one outcome, a student or a record, and replaces the other kind an earlier
    run left there (:func:`drop_stale_record`, :func:`write_rejected`), so an earlier record needs ``overwrite`` (``--force``),
    as an earlier student does. Only finlite's own record is ever replaced, never an input.

    Raises:
        DataError: something that is not finlite's record (a link, a folder, another file) lies at
            the record's path, or a record does and ``overwrite`` is false.
        ConfigError: the record's path is an input, or inside one.
    """
    path = rejected_path(out)
    where = (f"The record of a run at {os.fspath(out)!r} whose gates keep no student would be written at "
             f"{str(path)!r}")
    _paths.check_not_input(path, inputs or {}, "rejected record")
    if not os.path.lexists(path):
        return
    if path.is_symlink() or not path.is_file():
        kind = "a symbolic link" if path.is_symlink() else "a folder" if path.is_dir() else "not a regular file"
        raise DataError(f"{where}, which is {kind}; finlite writes it only as a file of its own. "
                        "Remove it, or choose another out folder.", param="out")
    if not _is_record(path):
        raise DataError(f"{where}, which holds a file that is no such record (format "
                        f"{REJECTED_FORMAT}); finlite replaces only its own record, with or without overwrite=True. "
                        "Move that file away, or choose another out folder.", param="out")
    if not overwrite:
        raise DataError(f"{str(path)!r} holds the record of an earlier run at {os.fspath(out)!r} whose gates kept no "
                        "student; this run replaces it with its student or its own record. Choose another out "
                        "folder, move the record away, or pass overwrite=True to replace it.", param="overwrite")


def _student_at(out: str | Path) -> dict[str, Any] | None:
    """The manifest of the finlite student artifact at ``out`` (role ``student``), or None: a
    teacher, another folder, a link or nothing there. Only a student is an earlier run's outcome a
    rejected run replaces (a review, 2026-12-05: a teacher's copy at --out was deleted)."""
    folder = Path(out)
    if not os.path.lexists(folder) or folder.is_symlink() or not _paths.is_artifact_dir(folder):
        return None
    try:
        manifest = _small_json(folder / "manifest.json")
    except (OSError, ValueError, _paths.FileTooLarge):
        return None
    return manifest if isinstance(manifest, dict) and manifest.get("role") == "student" else None


def drop_stale_record(out: str | Path, *, overwrite: bool) -> None:
    """Before a student takes its place at ``out`` (with ``overwrite``): remove an earlier run's
    record there (finlite's own only), so that a student never sits beside a record saying none
    passed (a review, 2026-12-05). Removed first: a kill before the student is in place leaves
    neither, never both. Without ``overwrite`` none was there (checked before any work)."""
    record = rejected_path(out)
    if overwrite and os.path.lexists(record) and not record.is_symlink() and record.is_file() and _is_record(record):
        record.unlink()


def write_rejected(out: str | Path, setup: _Setup, *, command: str, decision: str, overwrite: bool,
                   timing: bool, recipe: Recipe | None = None, result: RecipeResult | None = None,
                   search: Mapping[str, Any] | None = None) -> Path:
    """Write the record of a run whose gates kept no student at :func:`rejected_path` (``out``),
    atomically, and return its path: the decision, the teacher (its manifest's sha256 and model
    files), the data (hashes, rows, split), the seed, the operating point, finlite's and the
    libraries' versions, and what was tried -- each step of ``recipe`` with its gate results,
    validation measurements and training settings (``result``), or the search's candidates
    (``search``). Without ``timing`` the steps' wall-clock seconds are left out, as in a report."""
    record: dict[str, Any] = {
        "format": REJECTED_FORMAT, "command": command, "decision": decision,
        "created_utc": utc_timestamp(), "versions": library_versions(),
        "teacher": setup.provenance, "data": setup.prepared.summary(), "seed": setup.seed,
        "cutoff": None if setup.cutoff is None else float(setup.cutoff),
        "operating_point": None if setup.operating_point is None else setup.operating_point.to_dict(),
    }
    if recipe is not None and result is not None:
        steps = _manifest_steps(setup, recipe, result)
        for entry, step in zip(steps, result.records, strict=True):
            entry["validation"] = step.metrics  # what each gate read, beside its verdict
            if timing:
                entry["seconds"] = round(step.seconds, 3)
        record["recipe"] = {"name": recipe.name, "yaml": recipe.to_yaml(), "steps": steps}
    if search is not None:
        record["search"] = dict(search)
    # A run at out leaves one outcome: with overwrite, an earlier run's student there goes (a
    # teacher or any other folder stays), so that no older student sits beside a record saying
    # none passed and passes for this run's. Said in the record, and by rejected_line.
    earlier = _student_at(out) if overwrite else None
    if earlier is not None:
        record["removed_student"] = {"path": str(out), "manifest_sha256": earlier.get("manifest_sha256"),
                                     "created_utc": earlier.get("created_utc")}
    # Its own digest, as a manifest has one: an edit after the fact (a seed, a data hash, a gate
    # turned to passed) is told by inspect (a review, 2026-12-06: it printed what it was given).
    record["record_sha256"] = record_digest(record)
    path = rejected_path(out)
    path.parent.mkdir(parents=True, exist_ok=True)  # as an artifact's folder would have been made
    _paths.clean_file_leftovers(path.parent, path.name)  # a killed writer's temporary record
    tmp = _paths.new_temp_file(path)
    aside: Path | None = None
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(dump_json(record))
            fh.flush()
            os.fsync(fh.fileno())  # on disk before it takes the name: never half a record
        if earlier is not None:
            # Out of the way before the record takes its name, under a temporary name the next run
            # removes (never restores, as it would an ".old-" swap leftover): a kill leaves neither.
            aside = _paths.new_temp_dir(out)
            os.rename(out, aside)
        try:
            _paths.place_file(tmp, path, overwrite=overwrite, option="rejected record")
        except BaseException:
            if aside is not None:  # no record: the student goes back
                os.rename(aside, out)
                aside = None
            raise
    finally:
        tmp.unlink(missing_ok=True)
    if aside is not None:
        _paths.remove_tree(aside)
    return path


def rejected_line(what: str, record: Path | None) -> str:
    """The line that says no student was written, where the run's record is, and that an earlier
    student at the out folder was removed (``--force``) when it was."""
    if record is None:
        return f"{what}; no student was written"
    line = f"{what}; no student was written. What was tried and why it was refused: {record}"
    removed = (_read_record(record) or {}).get("removed_student")
    if isinstance(removed, dict):
        line += (f". The earlier student at {removed.get('path')} (manifest sha256 {removed.get('manifest_sha256')}) "
                 "was removed, as --force (overwrite=True) asked: this run kept none")
    return line


def describe_rejected(path: str | Path) -> list[str]:
    """The lines ``finlite inspect`` prints for a record a refused run left (:func:`write_rejected`):
    the decision, when, the teacher and the data it was measured against, the seed, and each step
    with the gates that refused it (or the search's candidates), and an earlier student removed.
    Every field is the file's own text, printed on one line each (a newline in it is shown as \\n).

    Raises:
        DataError: ``path`` is not such a record (not a regular file, too large, not JSON, or
            another format), naming the file.
    """
    path = Path(path)
    try:
        record = _small_json(path)
    except _paths.FileTooLarge as exc:  # its bare size read as a code (a review, 2026-12-06)
        raise DataError(f"{str(path)!r} holds {exc.size:,} bytes or more; a record of a refused run is at most "
                        f"{_RECORD_LIMIT:,} bytes ({_RECORD_LIMIT >> 20} MiB), so this is not one finlite wrote. "
                        "inspect reads an artifact folder or the OUT.rejected.json a refused compress or search "
                        "left.") from None
    except (OSError, ValueError) as exc:
        raise DataError(f"{str(path)!r} is not a record finlite can read ({exc}); inspect reads an artifact folder "
                        "or the OUT.rejected.json a refused compress or search left.") from None
    if not isinstance(record, dict) or record.get("format") not in REJECTED_FORMATS:
        raise DataError(f"{str(path)!r} is not a record of a refused run (format {REJECTED_FORMAT}); inspect reads "
                        "an artifact folder or the OUT.rejected.json a refused compress or search left.")
    recorded = record.get("record_sha256")
    try:
        digest = record_digest(record)
    except ValueError:  # a number JSON cannot write back (strict reading refuses NaN already)
        digest = ""
    # Format /2 always carries its digest: one removed or nulled counts as an edit (a review,
    # 2026-12-06: a record with its seed changed and its digest set to null was printed).
    checked = record["format"] == REJECTED_FORMAT
    if (checked or recorded is not None) and recorded != digest:
        raise DataError(f"{str(path)!r} was changed after finlite wrote it: its content's sha256 is {digest}, its "
                        f"record_sha256 says {str(recorded)[:64]!r} (format {REJECTED_FORMAT} always holds it). "
                        "Nothing in it can be taken as the refused run's; run the command again for a record.")

    def one(value: Any) -> str:  # the file's text may not add lines of its own
        return str(value).replace("\r", "\\r").replace("\n", "\\n")

    def field(mapping: Any, key: str) -> Any:
        return mapping.get(key) if isinstance(mapping, dict) else None

    teacher, data = record.get("teacher"), record.get("data")
    lines = [f"{path}: the record of a refused {one(record.get('command'))} run ({one(record['format'])}, written "
             f"{one(record.get('created_utc'))}); no student was written",
             f"record sha256 {digest} (its content matches it)" if recorded is not None
             else f"record sha256: none ({one(record['format'])}, a format written before 2026-12-06; its content "
                  "is not checked)",
             f"decision: {one(record.get('decision'))}",
             f"teacher: {one(field(teacher, 'path'))} (manifest sha256 {one(field(teacher, 'manifest_sha256'))})",
             f"data: {one(field(data, 'source'))} (file sha256 {one(field(data, 'file_sha256'))}, "
             f"{one(field(data, 'rows'))} rows); seed {one(record.get('seed'))}"]
    steps = field(record.get("recipe"), "steps")
    for step in steps if isinstance(steps, list) else []:
        gates = field(step, "gates")
        failed = "; ".join(one(field(g, "message")) for g in gates if not field(g, "passed")) \
            if isinstance(gates, list) else ""
        lines.append(f"step: {one(field(step, 'method'))} ({one(field(step, 'status'))})"
                     f"{': ' + failed if failed else ''}")
    search = record.get("search")
    if isinstance(search, dict):
        candidates = search.get("candidates")
        tried = candidates if isinstance(candidates, list) else []
        passed = sum(1 for c in tried if field(c, "passed") is True)
        gates = search.get("gates")
        said = ", ".join(f"{one(metric)} {one(limits)}" for metric, limits in gates.items()) \
            if isinstance(gates, dict) else "?"
        lines.append(f"search: {len(tried)} candidate(s) tried, {passed} passed every gate, "
                     f"{one(search.get('untried'))} left untried; gates: {said}")
    removed = record.get("removed_student")
    if isinstance(removed, dict):
        lines.append(f"removed: the earlier student at {one(removed.get('path'))} (manifest sha256 "
                     f"{one(removed.get('manifest_sha256'))}), as --force asked")
    return lines


# -- the outcome ----------------------------------------------------------------------------------
@dataclass
class CompressOutcome:
    """A compress run: the kept model (None when no step passed its gates: no student is then
    written), its pruning plan (if pruned), the test-split report, the runner's record of every
    step, the gates checked again on the test split, the artifact path (None without ``out``) and,
    for a run whose gates kept no step, the path of its record (``rejected``: see
    :func:`rejected_path`; None without ``out``).

    A dry run (``plan_only``) holds the distilled, unpruned student and the plan, and no report.
    """

    model: FinliteModel | None
    plan: PruningPlan | None
    report: dict[str, Any]
    path: Path | None
    result: RecipeResult
    recipe: Recipe
    final_gates: list[GateResult] = field(default_factory=list)
    rejected: Path | None = None

    def __repr__(self) -> str:
        """A line a log can hold (the default repr printed the whole report: a walk-through, 2026-12-05)."""
        status = self.report.get("status") if isinstance(self.report, dict) else None
        where = None if self.path is None else str(self.path)
        return (f"CompressOutcome(passed={self.passed}, model={type(self.model).__name__ if self.model is not None else None}, "
                f"report={status!r}, path={where!r})")

    @property
    def passed(self) -> bool:
        """True when some step was kept and the kept model passes every gate on the test split."""
        return self.model is not None and all(g.passed for g in self.final_gates)

    def summary(self) -> str:
        """What the run decided, as the CLI prints it: one line per step (kept, skipped, or rolled
        back with the gate that decided), each gate checked again on the test split, and where the
        student was written, or that nothing was. A run whose gates decide against every step
        returns normally (``passed`` False, ``path`` None), as the CLI exits 1: check it."""
        lines = [recipe_summary(self.result)] if self.result.records else []
        lines += [f"gate on the test split: {'pass' if g.passed else 'FAIL'}  {g.message}" for g in self.final_gates]
        if self.model is None:
            lines.append(rejected_line("no step passed its gates on the validation split", self.rejected))
        elif self.path is not None:
            lines.append(f"student artifact: {self.path}")
        # The report's verdict, as the CLI says it: from Python the run looked clean (passed, and a
        # summary of kept steps) while its report WARNed on decisions and fairness (a walk-through,
        # 2026-12-05).
        report = self.report if isinstance(self.report, dict) else {}
        status = report.get("status")
        if status in ("WARN", "FAIL"):
            sections = [s for s in report.get("sections") or [] if isinstance(s, dict)]
            parts = [f"{kind} in {', '.join(str(s.get('id')) for s in sections if s.get('status') == kind)}"
                     for kind in ("FAIL", "WARN") if any(s.get("status") == kind for s in sections)]
            unbuilt = unbuilt_sections(report)
            if unbuilt:  # a section that could not be built makes the report WARN (jobs/report.py)
                parts.append(f"not built: {', '.join(unbuilt)}")
            lines.append(f"validation report: {status} ({'; '.join(parts) or 'see the report'}): read those sections "
                         "before deploying the student")
        return "\n".join(lines)


# The recipe run's outcome is the compress outcome: one job, one result type.
RecipeOutcome = CompressOutcome


# -- the job --------------------------------------------------------------------------------------
@remembering_scores
@keeps_random_state
def compress(
    teacher: str | Path | Artifact,
    data: DataLike,
    *,
    recipe: Recipe | None = None,
    student_hidden: Sequence[int] | None = None,
    distillation: AnyDistillation | None = None,
    pruning: Pruning | None = None,
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
    on_step: StepCallback | None = None,
    extra_files: dict[str, str] | None = None,
    flag_rate: float | None = None,
    segments: Sequence[str] = (),
    protected: Sequence[str] = (),
    monotone: Mapping[str, int] | None = None,
    id_column: str | None = None,
    enforce_monotone: bool = False,
    universe: bool = True,
    domain: str | None = None,
    grades: Sequence[float] | str = (),
) -> CompressOutcome:
    """Compress a teacher artifact: run a recipe on it, compare the result with it on the test split, save it.

    The steps are ``recipe`` when given; otherwise the classic options build one
    (:func:`classic_recipe`): (1) a student MLP (widths ``student_hidden``) learns the
    teacher's scores by ``distillation``; (2) ``pruning`` (or a ready ``plan``, applied as it
    is) removes weights or neurons and the pruned student is fine-tuned by distillation with
    pruned weights held at zero. Steps are judged by the recipe's gates on the validation split
    (:mod:`finlite.recipe.runner`; the classic recipe has none); the kept model is then compared
    with the teacher on the test split, the gates are checked again there, and the artifact
    written at ``out`` records the recipe (``recipe.yaml``), every step (kept or rolled back,
    with its gate results), the final gates and the report. No student is written when no step
    was kept: the run's record is, at ``OUT.rejected.json`` beside ``out`` (:func:`write_rejected`;
    an earlier one there is replaced only with ``overwrite``, checked before any work). With ``plan_only`` the run stops after planning (a dry run): the outcome holds
    the distilled, unpruned student and the plan, and nothing is written.

    ``config`` and ``fine_tune`` (the training of a student from scratch and after a change)
    default by the training rows (:func:`default_training`, ``train_overrides`` such as
    ``{"batch_size": 2048}`` applied, ``progress`` setting their progress output); a recipe
    step's ``train:`` overrides them, except that ``train_overrides``'s ``epochs`` (``--epochs``)
    also caps every step's own epochs when ``config`` is not given (the recipe recorded is the one run). The seed defaults to the teacher's. With
    ``size_aware_sparsity`` (the CLI without --sparsity) the ``pruning``'s sparsity follows the
    training rows (:func:`default_sparsity`). ``on_step(index, total, message)`` is called as
    the steps advance; ``extra_files`` are written into the artifact too. A run without gates
    whose student is 0.06 AUC or more below its teacher is reported with a loud warning
    (stderr and ``report["warnings"]``).

    Decisions (agreement, the decision gates, the report) are made at the teacher's operating
    point, which the student inherits; ``flag_rate=0.1`` sets a new one where the teacher flags
    10 % of the training rows. A gate on a decision where the teacher flags no row or every row
    is an error, not a pass.

    The artifact carries the validation report (:mod:`finlite.jobs.report`): report.json,
    report.html, MODEL_CARD.md and, for a classifier, flips.csv. ``segments`` names columns whose
    values the segments section compares (besides the categorical columns with few values),
    ``protected`` the fairness section's columns, ``monotone`` maps numeric columns to +1 / -1 (the
    monotonicity section; default: a boosted teacher's own constraints) and ``id_column`` names the
    rows in flips.csv (default: the data file's row number); ``domain`` says what a classifier's
    flags decide, "credit" or "fraud" (default: from the data file's name); ``grades`` is a credit
    model's PD master scale, each grade's upper bound (default: finlite's generic scale), by which
    the calibration section back-tests the PDs grade by grade. ``enforce_monotone`` trains every
    distillation under the declared ``monotone`` constraints. With ``universe`` (the default), a
    market preset as shipped gets ``ic_pvalue: {min: 0.05}`` on a universe (:func:`universe_gate`);
    ``reproduce`` passes False, to rerun the recorded recipe as it was.

    Raises:
        ConfigError: ``recipe`` together with a classic option (``plan_only`` included); a bad
            option or recipe step (its message names it); ``enforce_monotone`` without ``monotone``.
        DataError: a report option names a column the data does not have.
    """
    check_flags("compress", overwrite=overwrite, timing=timing, plan_only=plan_only, progress=progress,
                size_aware_sparsity=size_aware_sparsity, enforce_monotone=enforce_monotone, universe=universe)
    check_instance(recipe, Recipe, "compress", "recipe",
                   "a finlite.Recipe (finlite.load_preset('balanced'), or Recipe.load('recipe.yaml'))")
    check_instance(distillation, (Distillation, RegressionDistillation, HintDistillation), "compress", "distillation",
                   "a distillation method (finlite.Distillation(temperature=2.0), HintDistillation, ...)")
    check_instance(pruning, (MagnitudePruning, TaylorPruning), "compress", "pruning",
                   "a pruning method (finlite.MagnitudePruning(sparsity=0.5) or TaylorPruning)")
    check_instance(plan, PruningPlan, "compress", "plan", "a finlite.PruningPlan (PruningPlan.load(path))")
    if student_hidden is not None:  # named as given, not as the Distillation's 'hidden' it becomes
        student_hidden = check_widths("compress", "student_hidden", student_hidden, empty=False)
    classic = {"student_hidden": student_hidden, "distillation": distillation, "pruning": pruning, "plan": plan,
               "plan_only": plan_only or None, "size_aware_sparsity": size_aware_sparsity or None}
    given = [name for name, value in classic.items() if value is not None]
    if recipe is not None and given:
        raise ConfigError(f"compress got recipe= and {given[0]}=: a recipe runs its own steps, and {given[0]} "
                          "belongs to the classic distil-and-prune run. Pass recipe= alone, or drop it.",
                          param=given[0])
    if enforce_monotone and not monotone:
        raise ConfigError("The 'enforce_monotone' parameter trains the student under the declared monotone constraints, and none "
                          "were declared: name the columns with the monotone option (each column with + or -, "
                          "e.g. age_in_years:-), or drop enforce_monotone.",
                          param="enforce_monotone")
    options = _report_options(segments, protected, monotone, id_column, domain, grades)
    setup = _setup(teacher, data, seed=seed, config=config, fine_tune=fine_tune, out=out, overwrite=overwrite,
                   progress=progress, train_overrides=train_overrides, flag_rate=flag_rate)
    from finlite.artifact import check_extra_files
    from finlite.jobs.report import REPORT_FILES, check_options

    if enforce_monotone and _is_series(setup.prepared):
        raise ConfigError("The 'enforce_monotone' parameter trains a student under monotone "
                          "constraints on raw numeric columns of a table; this is a market forecaster, whose windows "
                          "of a series have no such column to hold monotone. Drop --enforce-monotone and --monotone.",
                          param="enforce_monotone")
    check_options(setup.prepared, options)  # before any training: a bad column is refused now
    # The names compress writes itself may not be given (a user's report.json replaced the
    # report); checked now, not at the save after the training.
    check_extra_files(extra_files, taken=("report.md", "recipe.yaml", "scorecard.json", *REPORT_FILES))
    norm = getattr(pruning, "norm", "l2")  # magnitude pruning's; Taylor pruning has none
    if (recipe is None and plan is None and pruning is not None and norm != "l2"
            and pruning.granularity == "weight" and not _is_series(setup.prepared)):
        # A table's student ranks single weights by magnitude: the norm did nothing, without a word
        # (a review, 2026-12-03). A forecaster's student always loses whole units, scored by it.
        raise ConfigError(f"norm={norm!r} scores whole neurons for structured pruning; single weights are "
                          "ranked by their magnitude. Prune neurons (granularity 'neuron', --structured), or leave "
                          "the norm at 'l2' (drop --norm).", param="norm")
    if enforce_monotone and monotone:
        distillation, recipe = _constrained(distillation, recipe, monotone)
    if recipe is None and isinstance(setup.prepared, PreparedSeries):
        recipe = market_recipe(setup.prepared.task, student_hidden=student_hidden, distillation=distillation,
                               pruning=pruning, plan=plan, size_aware_sparsity=size_aware_sparsity,
                               objective=setup.prepared.spec.objective,
                               train_settings=config is None and fine_tune is None,
                               train_values=int(setup.prepared.x_train.size))
    elif recipe is None:
        recipe = classic_recipe(setup.rows, student_hidden=student_hidden, distillation=distillation,
                                pruning=pruning, plan=plan, size_aware_sparsity=size_aware_sparsity)
    if universe and isinstance(setup.prepared, PreparedSeries):
        gated = universe_gate(recipe, setup.prepared)
        if gated is not recipe and on_step is not None:
            on_step(0, len(gated.steps), f"note: on this universe the preset {recipe.name} also gates on ic_pvalue "
                                         f"(min {UNIVERSE_IC_PVALUE}): the student must not rank the assets of a "
                                         "date worse than its teacher")
        recipe = gated
    if config is None:  # train_overrides apply to finlite's defaults only (see _setup)
        recipe = cap_epochs(recipe, (train_overrides or {}).get("epochs"))
    if plan_only:
        return _dry_run(setup, recipe, plan=plan, on_step=on_step)
    return _run(setup, recipe, plan=plan, out=out, overwrite=overwrite, timing=timing, on_step=on_step,
                extra_files=extra_files, report_options=options)


#: The presets for market forecasters: on a universe compress adds the ``ic_pvalue`` gate to them.
MARKET_PRESETS = ("markets", "markets_direction", "markets_volatility")

#: The ``ic_pvalue`` gate a market preset gets on a universe: not found to rank the assets worse at 5 %.
UNIVERSE_IC_PVALUE = 0.05


def universe_gate(recipe: Recipe, series: PreparedSeries) -> Recipe:
    """``recipe`` with ``ic_pvalue: {min: 0.05}`` added when it is a market preset as shipped
    (:data:`MARKET_PRESETS`) and ``series`` is a universe in both its validation and test parts
    (:func:`finlite.tasks.universe_rows`: enough dates of 5 or more assets of one calendar for
    the gate's test; with fewer the gate could not be judged and would refuse the run). Its other gates
    judge the student's errors and calls; a student of a universe is deployed to rank the assets of
    each date, and these would pass one that ranks them worse than its teacher. The recipe recorded
    (and rerun by ``reproduce``) is this one. Any other recipe is returned as it is."""
    from finlite.recipe.gates import Gate
    from finlite.recipe.presets import load_preset
    from finlite.tasks import series_rows, universe_rows

    # A shipped preset as it ships (a recipe of the user's own that is called "markets" is theirs).
    if recipe.name not in MARKET_PRESETS or recipe != load_preset(recipe.name):
        return recipe
    for part in ("val", "test"):
        rows = series_rows(series, part)
        if rows is None or not universe_rows(rows):
            return recipe
    return replace(recipe, gates=[*recipe.gates, Gate("ic_pvalue", min=UNIVERSE_IC_PVALUE)])


def cap_epochs(recipe: Recipe, cap: Any) -> Recipe:
    """``recipe`` with each step's own ``train: {epochs: …}`` at most ``cap`` (None: unchanged).

    A step's training overrides replace the run's settings, so without this a recipe step asking
    for 100 epochs (or the return forecaster's transfer-set training) would ignore ``--epochs 3``.
    Values that are not whole numbers are left for the training settings to refuse.
    """
    if isinstance(cap, bool) or not isinstance(cap, int):
        return recipe
    steps = []
    for step in recipe.steps:
        epochs = step.train.get("epochs")
        if isinstance(epochs, int) and not isinstance(epochs, bool) and epochs > cap:
            step = replace(step, train={**step.train, "epochs": cap})
        steps.append(step)
    return replace(recipe, steps=steps)


def _report_options(segments: Sequence[str], protected: Sequence[str], monotone: Mapping[str, int] | None,
                    id_column: str | None, domain: str | None = None, grades: Sequence[float] | str = ()) -> Any:
    """The report's options (:class:`finlite.jobs.report.ReportOptions`), names checked for their type."""
    from finlite.evaluate.validation import given_scale
    from finlite.jobs.report import ReportOptions

    for name, value in (("segments", segments), ("protected", protected)):
        if isinstance(value, str) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{name} must be a list of column names, e.g. [\"purpose\"]; got {value!r}.", param=name)
    return ReportOptions(segments=tuple(segments), protected=tuple(protected),
                         monotone=None if monotone is None else dict(monotone), id_column=id_column, domain=domain,
                         # Text is always read ('' is refused, not taken for no scale: a review, 2026-12-07).
                         grades=given_scale(grades) if isinstance(grades, str) or grades else ())


def _constrained(distillation: AnyDistillation | None, recipe: Recipe | None,
                 monotone: Mapping[str, int]) -> tuple[AnyDistillation | None, Recipe | None]:
    """The distillation (classic run) or every distillation step of ``recipe``, trained under ``monotone``.

    Raises:
        ConfigError: a classic run's ``distillation`` is not soft-target :class:`Distillation`,
            the only one that carries the constraint; or ``recipe`` has no such step, or has
            another distillation step, which would train a student without the constraint.
    """
    pairs = tuple(sorted((str(k), int(v)) for k, v in monotone.items()))
    if recipe is None and distillation is not None and not isinstance(distillation, Distillation):
        raise ConfigError(f"The 'enforce_monotone' parameter trains the student under a monotone penalty, which "
                          f"soft-target distillation carries; {type(distillation).__name__} has none. Use "
                          "Distillation(...) (recipe step 'distillation'), or drop enforce_monotone.",
                          param="enforce_monotone")

    def constrain(method: Any) -> Any:
        return replace(method, monotone=pairs)  # the config checks the columns' form itself

    if recipe is None:
        return constrain(distillation or Distillation()), None
    if not any(isinstance(step.method, Distillation) for step in recipe.steps):
        raise ConfigError("The 'enforce_monotone' parameter constrains the recipe's soft-target distillation steps "
                          "(method: distillation), and it has none; drop enforce_monotone, or add such a step.",
                          param="enforce_monotone")
    # Refused, not left as it is: such a step trains a new student without the penalty, and the
    # constraint asked for would not hold for the model the recipe keeps.
    for number, step in enumerate(recipe.steps, 1):
        if isinstance(step.method, (RegressionDistillation, HintDistillation)):
            raise ConfigError(f"The 'enforce_monotone' parameter constrains soft-target distillation steps (method: "
                              f"distillation); recipe step {number} ({step.name}) would train a student without the "
                              "constraint. Make every distillation step 'distillation', or drop enforce_monotone.",
                              param="enforce_monotone")
    steps = [replace(step, method=constrain(step.method)) if isinstance(step.method, Distillation)
             else step for step in recipe.steps]
    return distillation, replace(recipe, steps=steps)


@keeps_random_state
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
    on_step: StepCallback | None = None,
    extra_files: dict[str, str] | None = None,
    train_overrides: dict[str, Any] | None = None,
    flag_rate: float | None = None,
    segments: Sequence[str] = (),
    protected: Sequence[str] = (),
    monotone: Mapping[str, int] | None = None,
    id_column: str | None = None,
    enforce_monotone: bool = False,
    universe: bool = True,
    domain: str | None = None,
    grades: Sequence[float] | str = (),
) -> CompressOutcome:
    """Run ``recipe`` on a teacher artifact: :func:`compress` with ``recipe=recipe`` (same arguments)."""
    check_flags("compress_with_recipe", overwrite=overwrite, timing=timing, progress=progress,
                enforce_monotone=enforce_monotone, universe=universe)
    return compress(teacher, data, recipe=recipe, seed=seed, config=config, fine_tune=fine_tune, out=out,
                    overwrite=overwrite, timing=timing, progress=progress, on_step=on_step, extra_files=extra_files,
                    train_overrides=train_overrides, flag_rate=flag_rate, segments=segments, protected=protected,
                    monotone=monotone, id_column=id_column, enforce_monotone=enforce_monotone, universe=universe,
                    domain=domain, grades=grades)


def _run_steps(setup: _Setup, recipe: Recipe, *, plan: PruningPlan | None, timing: bool,
               on_step: StepCallback | None) -> RecipeResult:
    """The recipe through the runner, on the set-up's data, teacher outputs, settings and seed."""
    art = setup.art
    return run_recipe(recipe, setup.prepared, art.model, cutoff=setup.cutoff, seed=setup.seed, train=setup.train,
                      fine_tune=setup.fine_tune, teacher_bytes=art.weights_bytes, base=setup.base, timing=timing,
                      progress=on_step, plan=plan)


def teacher_level(art: Artifact) -> float | None:
    """The central tendency the teacher's PDs were calibrated to, which its students keep (None:
    none, or the training split's own rate)."""
    from finlite.training.central import recorded_central_tendency

    return recorded_central_tendency(art.manifest.get("steps") or [], art.path / "manifest.json",
                                     task=art.manifest.get("task"), model=art.model)


def _dry_run(setup: _Setup, recipe: Recipe, *, plan: PruningPlan | None,
             on_step: StepCallback | None) -> CompressOutcome:
    """Distil through the runner, then make (or take) the pruning plan; write nothing."""
    if plan is not None:
        # Before the distillation trains, as run_recipe checks it in a real run (the runner below
        # distils without the plan, so it cannot).
        teacher = setup.art.model  # a boosted one has no parameters: only a distillation makes a prunable model
        check_ready_plan(recipe, teacher, teacher if next(teacher.parameters(), None) is not None else None,
                         setup.prepared, plan)
    distil = Recipe(steps=recipe.steps[:1], gates=[], name=recipe.name)
    result = _run_steps(setup, distil, plan=None, timing=False, on_step=on_step)
    model = result.model
    if model is not None and plan is None and len(recipe.steps) > 1:
        # Planning is what the pruning step would do first; it changes nothing (a dry run).
        plan = plan_pruning(model, recipe.steps[1].method, data=setup.base, distillation=recipe.steps[0].method)
    elif model is not None and plan is not None and len(recipe.steps) > 1:
        # A ready plan is applied to a copy, so the dry run refuses what the real run would refuse
        # (a plan of another student's shapes passed the dry run before: a review, 2026-12-03).
        apply_plan(model, plan)
    return CompressOutcome(model=model, plan=plan if len(recipe.steps) > 1 else None, report={}, path=None,
                           result=result, recipe=recipe)


def _run(setup: _Setup, recipe: Recipe, *, plan: PruningPlan | None = None, out: str | Path | None,
         overwrite: bool, timing: bool, on_step: StepCallback | None = None,
         extra_files: dict[str, str] | None = None, report_options: Any = None,
         result: RecipeResult | None = None) -> CompressOutcome:
    """Run ``recipe`` from ``setup``, evaluate the kept model on the test split, and save it at ``out``
    with its validation report (built with ``report_options``, a
    :class:`~finlite.jobs.report.ReportOptions`; default options when None).

    ``result``: the outcome of ``recipe`` already run from this very ``setup`` (the search's chosen
    candidate), evaluated and saved as it is instead of being trained again."""
    art, prepared = setup.art, setup.prepared
    if result is None:
        result = _run_steps(setup, recipe, plan=plan, timing=False, on_step=on_step)
    elif plan is not None or len(result.records) != len(recipe.steps):
        raise ConfigError(f"_run: a ready result must be that of the recipe's {len(recipe.steps)} step(s), with no "
                          f"plan to apply; got {len(result.records)} record(s) and plan={plan is not None}.")
    if result.model is None:
        record = None
        if out is not None:  # what was tried and why it was refused, for the validator
            record = write_rejected(out, setup, command="compress", overwrite=overwrite, timing=timing,
                                    decision="no step passed its gates on the validation split", recipe=recipe,
                                    result=result)
        return CompressOutcome(model=None, plan=None, report={"teacher_artifact": setup.provenance}, path=None,
                               result=result, recipe=recipe, rejected=record)
    model = result.model
    report = compare_models(art.model, model, prepared.x_test, prepared.y_test, setup.cutoff, timing=timing,
                            timer=report_timer(), task=prepared.task, operating_point=setup.operating_point,
                            rows=series_rows(prepared, "test"))
    report["teacher_artifact"] = setup.provenance
    trained = teacher_training(art.manifest)
    if trained is not None:
        report["teacher_training"] = trained
    imported = teacher_import(art.manifest)
    if imported is not None:
        report["teacher_import"] = imported
    sizes = preprocessor_sizes(art)
    if sizes is not None:  # what each model reads besides its weights, which the size ratio counts alone
        report["preprocessor_bytes"] = sizes
    if _is_series(prepared):
        from finlite.jobs.forecast import scale_headline

        report["forecast"] = _market_evidence(setup, model)
        scale_headline(report, report["forecast"])
    final_gates: list[GateResult] = []
    if recipe.gates:
        p_teacher = get_task(prepared.task).scores(art.model, prepared.x_test)
        # The report timed the deployed student (side by side with the teacher) unless --no-timing:
        # the gates judge that measurement, the one the table shows. Two measurements read 220 µs
        # in the table and 4,253 µs in the gate's FAIL line on a loaded machine (a review, 2026-12-03).
        timed = timing and "latency_p50_us" in report["student"]
        final = evaluate_candidate(model, prepared.x_test, prepared.y_test, p_teacher, setup.cutoff,
                                   # A latency gate is timed whatever --no-timing says, as the runner
                                   # times it on the validation split (it failed here, after all the
                                   # work, with an unrelated message: a review, 2026-12-03).
                                   timing=recipe.needs_latency and not timed, teacher_bytes=art.weights_bytes,
                                   task=prepared.task, rows=series_rows(prepared, "test"))
        if timed:
            final.update({k: report["student"][k] for k in ("latency_p50_us", "latency_p99_us")})
        final_gates = [r for gate in recipe.gates for r in gate.check(final, report["teacher"])]
        final_gates += decision_check(final, report["teacher"], recipe.gates)
    steps = [r.to_dict() for r in result.records]
    if not timing:  # a step's wall-clock seconds are a measurement: without timing two runs write the same report
        for step in steps:
            step.pop("seconds", None)
    report["recipe"] = {"name": recipe.name, "steps": steps,
                        "final_gates": [g.to_dict() for g in final_gates],
                        "passed": all(g.passed for g in final_gates)}
    _warn(report, [gate.metric for gate in recipe.gates])
    thin = thin_gate_warning([gate.metric for gate in recipe.gates], getattr(prepared, "y_val", None),
                             str(getattr(prepared, "task", "")))
    if thin is not None:
        report.setdefault("warnings", []).append(thin)
        warnings.warn(thin, FinliteWarning, stacklevel=2)
    path = None
    if out is not None:
        metrics = {"test": report["student"], "fidelity": report["fidelity"], "ratios": report["ratios"],
                   "teacher_test": report["teacher"], "gates": report["recipe"]["final_gates"],
                   "gates_passed": report["recipe"]["passed"]}
        sections = _report_sections(prepared, result.plan, recipe, result, warnings=report.get("warnings"),
                                    final_gates=final_gates)
        if "forecast" in report:
            metrics["forecast"] = report["forecast"]
        from finlite.jobs.report import ReportOptions, compress_report, selection_record

        steps_record = _manifest_steps(setup, recipe, result)
        full, report_files = compress_report(
            teacher=art, student=model, prepared=prepared, comparison=report, recipe_yaml=recipe.to_yaml(),
            steps=steps_record, seed=setup.seed, cutoff=setup.cutoff, name=Path(out).resolve().name,
            options=report_options if report_options is not None else ReportOptions(), timing=timing,
            selection=selection_record((extra_files or {}).get("search.json")))
        report.update(full)
        # The verdict first (report.md gave the numbers but not the report's status or a gate that
        # failed on the test split: a validator's walk-through, 2026-12-06).
        verdict = markdown_verdict(full, final_gates)
        if "forecast" in report:  # a forecaster: teacher, student, naive and buy-and-hold side by side
            from finlite.jobs.forecast import render_forecast_markdown

            # Its warnings go first in the whole file, not inside the nested comparison after the
            # evidence table (a review, 2026-12-05).
            warning = sections.pop("WARNING", None)
            markdown = render_forecast_markdown(report["forecast"], title="finlite compression report (forecaster)",
                                                sections={"Teacher and student": render_markdown(report,
                                                                                                 sections=sections)},
                                                warning=warning, verdict=verdict)
        else:
            markdown = render_markdown(report, sections={"VERDICT": verdict, **sections})
        files = {"report.md": markdown, **report_files,
                 "recipe.yaml": recipe.to_yaml(), **result.extra_files, **(extra_files or {})}
        drop_stale_record(out, overwrite=overwrite)
        path = save_artifact(out, model=model, preprocessor=art.preprocessor, role="student", seed=setup.seed,
                             cutoff=setup.cutoff, data=prepared.summary(), steps=steps_record,
                             metrics=metrics, plan=result.plan, overwrite=overwrite, extra_files=files,
                             task=prepared.task, operating_point=setup.operating_point)
    return CompressOutcome(model=model, plan=result.plan, report=report, path=path, result=result, recipe=recipe,
                           final_gates=final_gates)


def _manifest_steps(setup: _Setup, recipe: Recipe, result: RecipeResult) -> list[dict[str, Any]]:
    """The manifest's record of every step: its method, status, gate results and details, the
    teacher it started from (on the first step), and the training settings of each step that
    trained (``train`` for a student trained from scratch, with the batch size it used;
    ``fine_tune`` after a change)."""
    steps = []
    for record in result.records:
        entry = {**record.method, "status": record.status, "gates": [g.to_dict() for g in record.gates],
                 "info": record.info}
        if record.index == 0:
            entry["teacher"] = setup.provenance
            calibrated = (setup.art.manifest.get("steps") or [{}])[0].get("central_tendency")
            if calibrated is not None:  # the student keeps its teacher's level: evaluate and report read it here
                entry["central_tendency"] = calibrated
                if result.model is not None:
                    entry["level"] = _student_level(result.model, setup.base)
        entry.update(_training_of(recipe.steps[record.index], record, setup))
        steps.append(entry)
    return steps


def _student_level(student: FinliteModel, base: DistillData) -> dict[str, float]:
    """The student's mean PD over the training rows beside its teacher's targets' there (a boosted
    teacher's out-of-fold scores, a network's own): the record a validator reconciles a calibrated
    student's level with (the copied ``central_tendency`` is the teacher's: a walk-through,
    2026-12-07, found the student's own level recorded nowhere)."""
    import numpy as np
    from scipy.special import expit

    from finlite.training.central import model_logits

    real = base.labelled_train > 0
    mine = model_logits(student, base.x_train[real])
    return {"student_mean_pd_train": float(np.mean(expit(mine))),
            "teacher_mean_pd_train": float(np.mean(expit(np.asarray(base.t_train[real], dtype=np.float64))))}


def _training_of(step: Step, record: StepRecord, setup: _Setup) -> dict[str, Any]:
    """The settings a step trained with, for the manifest (nothing for a step that did not train)."""
    info = record.info
    if "best_epoch" not in info and not info.get("rounds"):
        # Gradual pruning fine-tunes each round (its rounds hold the best epochs); a step without
        # either did not train. Without this record, reproduce reran a run capped by --epochs with
        # the default epochs and found it "NOT reproduced" (a recipe fuzz, 2026-12-07).
        return {}
    if "best_epoch" not in info:
        return {"fine_tune": step.train_config(setup.fine_tune).to_dict()}
    if "student" in info:  # a student trained from scratch: a distillation
        used = step.train_config(setup.train)
        rows = setup.rows + int(info.get("synthetic_rows") or 0)
        return {"student": info["student"], "train": used.to_dict(),
                "batch_size": used.batch_size or auto_batch_size(rows), "best_epoch": info["best_epoch"]}
    return {"fine_tune": step.train_config(setup.fine_tune).to_dict(), "best_epoch": info["best_epoch"]}


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


#: The files that make a model what it is: an export (model.onnx) or a signature added later
#: changes the teacher's manifest, never these.
MODEL_FILES = ("weights.safetensors", "preprocessor.json", "oof_logits.safetensors", "scorecard.json")


def model_files(manifest: Mapping[str, Any]) -> dict[str, str]:
    """The sha256 of each model-defining file an artifact's manifest lists (:data:`MODEL_FILES`)."""
    files = manifest.get("files") or {}
    return {name: str(files[name]) for name in MODEL_FILES if name in files}


def is_recorded_teacher(manifest: Mapping[str, Any], provenance: Mapping[str, Any]) -> bool:
    """Whether an artifact (its verified ``manifest``) is the teacher a student's ``provenance``
    records: the same manifest, or, once the teacher was exported or signed since (which amends
    its manifest), the same model files (weights, preprocessing, out-of-fold scores) byte for byte."""
    if manifest.get("manifest_sha256") == provenance.get("manifest_sha256"):
        return True
    recorded = provenance.get("model_files")
    return (isinstance(recorded, Mapping) and bool(recorded) and model_files(manifest) == dict(recorded)
            and manifest.get("model") == provenance.get("model"))


def core_digest(manifest: Mapping[str, Any]) -> str:
    """The manifest's digest without what an export adds or replaces (its ``export`` record and
    the ONNX files it lists): equal for a teacher before and after any number of exports."""
    from finlite._manifest import EXPORT_FILES, manifest_digest

    core = {k: v for k, v in manifest.items() if k not in ("export", "manifest_sha256")}
    core["files"] = {name: digest for name, digest in (manifest.get("files") or {}).items()
                     if name not in EXPORT_FILES}
    return manifest_digest(core)


def teacher_difference(manifest: Mapping[str, Any], provenance: Mapping[str, Any]) -> str | None:
    """What a reader should be told of a teacher taken as the recorded one by its model files
    (:func:`is_recorded_teacher`): None when its manifest is the recorded one, or is it but for
    its exports (:func:`core_digest`, recorded since 2026-12-06 as ``manifest_core_sha256``);
    otherwise a sentence naming both digests. A teacher whose cut-off and metrics were edited,
    and its manifest re-hashed, passed as "the recorded teacher" and the differences it made
    were laid on the rerun (a review, 2026-12-06)."""
    recorded, now = provenance.get("manifest_sha256"), manifest.get("manifest_sha256")
    if now == recorded:
        return None
    core = core_digest(manifest)
    if provenance.get("manifest_core_sha256") is not None:
        if core == provenance["manifest_core_sha256"]:
            return None
    # Recorded before the core digest was: an export since compression alone leaves the recorded
    # digest once it is taken out; a teacher exported before compression and again since cannot
    # be told from an edited one, so it is not accused.
    elif core == recorded or "export" in manifest:
        return None
    return (f"the teacher's manifest (sha256 {now}) is not the one recorded at compression ({recorded}), and differs "
            "by more than an export since: its model files are the recorded ones, but its other fields (cut-off, "
            "metrics, data, settings) may have been edited; a difference below may be the teacher's, not the rerun's")


def _is_series(prepared: Any) -> bool:
    """Whether ``prepared`` is a price series in windows (a market artifact's data)."""
    return isinstance(prepared, PreparedSeries)


def _market_evidence(setup: _Setup, student: FinliteModel) -> dict[str, Any]:
    """Teacher, student, naive forecast and buy-and-hold on the test period (the forecasting metrics
    pooled and per fold, Diebold–Mariano tests, the trading view at the teacher's trading costs)."""
    return _market_evidence_of(setup.art, student, setup.prepared, setup.cutoff)[0]


def _market_evidence_of(teacher: Artifact, student: FinliteModel, prepared: PreparedData | PreparedSeries,
                        cutoff: float | None) -> tuple[dict[str, Any], float]:
    """:func:`_market_evidence` for a teacher artifact and its data (also what ``finlite report``
    rebuilds), with the trading cost it used (the teacher's recorded one)."""
    from finlite.jobs.forecast import DEFAULT_COST_BPS, forecast_evidence

    task = get_task(prepared.task)
    recorded = (teacher.manifest.get("metrics") or {}).get("forecast") or {}
    cost = float(recorded.get("cost_bps", DEFAULT_COST_BPS))
    cut = cutoff if task.decides else None
    if not isinstance(prepared, PreparedSeries):
        raise ConfigError(f"{teacher.path} is not a market forecaster; its data are a table, not a price series.")
    predictions = {"teacher": task.scores(teacher.model, prepared.x_test),
                   "student": task.scores(student, prepared.x_test)}
    return forecast_evidence(prepared, predictions, cutoff=cut, cost_bps=cost), cost


def markdown_verdict(full: Mapping[str, Any], final_gates: Sequence[GateResult]) -> str:
    """report.md's first lines: the validation report's status and the sections that set it, and
    the recipe's gates on the test split (each failed one named), or that it had none."""
    from finlite.evaluate.sections import unbuilt_sections

    sections = [s for s in full.get("sections") or [] if isinstance(s, Mapping)]
    bad = [f"{s.get('title')} {s.get('status')}" for s in sections if s.get("status") in ("WARN", "FAIL")]
    unbuilt = unbuilt_sections(full)  # each makes the report at least WARN, with no section to name
    lines = [f"Validation report status: {full.get('status')} (the worst of {len(sections)} sections"
             + (f"; not PASS: {', '.join(bad)}" if bad else "") + (f"; not built: {', '.join(unbuilt)}" if unbuilt
                                                                    else "")
             + "). report.html, report.json and MODEL_CARD.md give every section with its rule."]
    if final_gates:
        failed = [g for g in final_gates if not g.passed]
        lines.append(f"Gates on the test split: {len(final_gates) - len(failed)} of {len(final_gates)} pass"
                     + (f"; FAILED: {'; '.join(g.message for g in failed)}." if failed else "."))
    else:
        lines.append("The recipe had no gates: no threshold stopped a student worse than its teacher.")
    return "\n".join(lines)


def _report_sections(prepared: PreparedData | PreparedSeries, plan: PruningPlan | None, recipe: Recipe, result: RecipeResult,
                     warnings: list[str] | None = None,
                     final_gates: Sequence[GateResult] = ()) -> dict[str, str]:
    """The data provenance, the steps and the recipe, the recipe's gates on the test split, and
    the pruning plan (and any fidelity warning, first), for a reviewer reading report.md."""
    summary = prepared.summary()
    if isinstance(prepared, PreparedSeries):
        spec = prepared.spec
        data = [f"source: {summary['source']} (content sha256 {summary['content_sha256']})",
                f"objective: {spec.objective}, horizon {spec.horizon}, window {spec.window}, target {spec.target!r}",
                # The summary keeps the walk-forward settings under split.config (PreparedSeries.summary).
                "walk-forward: " + ", ".join(f"{k}={v}" for k, v in summary["split"]["config"].items())
                + f", gap={summary['split']['gap']} date(s), rows {summary['split']['rows']}",
                *(f"note: {note}" for note in summary.get("notes") or [])]
    else:
        schema = prepared.schema
        data = [f"source: {summary['source']} (content sha256 {summary['content_sha256']})",
                f"split: {summary['split']['method']}, rows {summary['split']['rows']}",
                f"target: {schema.target!r}, positive class {schema.positive!r}",
                f"features: {len(schema.numeric)} numeric, {len(schema.categorical)} categorical; "
                f"dropped: {', '.join(schema.drop) or 'none'}",
                *(f"note: {note}" for note in schema.notes)]
    sections = {"WARNING": "\n".join(warnings)} if warnings else {}
    sections["Data"] = "\n".join(data)
    sections["Recipe (steps judged on the validation split)"] = recipe_summary(result)
    if final_gates:
        sections["Gates on the test split (the kept model)"] = "\n".join(
            f"{'PASS' if g.passed else 'FAIL'} {g.message}" for g in final_gates)
    sections["Recipe file"] = recipe.to_yaml()
    if plan is not None:
        sections["Pruning plan"] = plan.summary()
    return sections
