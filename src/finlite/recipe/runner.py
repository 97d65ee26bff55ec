"""The recipe runner: applies a recipe's steps in order, each kept only when it passes every gate.

After each step the candidate is evaluated on the validation split against the teacher; a step
whose candidate fails any gate is rolled back (the next step starts from the last kept model) and
the record says which gate failed and by how much. Gates decide on the validation split so that
the test split stays a fair final check: the compress job then evaluates the kept model on the
test split and checks the gates again there.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import finlite.methods  # noqa: F401  (imports every method family, which registers its handlers)
from finlite._util import closest
from finlite.data.prepared import SplitArrays
from finlite.errors import ConfigError, UnjudgedGateError, UnsupportedModelError, UnusablePlanError
from finlite.evaluate.operating import check_decisive, check_overlap_judged
from finlite.methods.base import NoModelError, StepContext, StepState
from finlite.methods.plan import PruningPlan
from finlite.methods.registry import MethodConfig, handler_for
from finlite.methods.targets import DistillData, distill_data, teacher_logits
from finlite.models.base import FinliteModel
from finlite.recipe.gates import GateResult, decision_check, evaluate_candidate, speed_check
from finlite.recipe.spec import Recipe, Step
from finlite.tasks import Task, get_task, series_rows
from finlite.training.loop import TrainConfig, seed_everything


# -- the runner ----------------------------------------------------------------------------------
@dataclass
class StepRecord:
    """What happened to one step: "kept", "rolled_back" (failed a gate) or "skipped" (nothing to
    work on because the distillation before it was rolled back), with gates and validation metrics."""

    index: int
    method: dict[str, Any]
    status: str
    gates: list[GateResult]
    metrics: dict[str, Any]
    info: dict[str, Any]
    seconds: float

    @property
    def failed_gates(self) -> list[GateResult]:
        """The gates this step's candidate failed."""
        return [g for g in self.gates if not g.passed]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"index": self.index, "method": self.method, "status": self.status,
                "gates": [g.to_dict() for g in self.gates], "validation": self.metrics, "info": self.info,
                "seconds": round(self.seconds, 3)}


@dataclass
class RecipeResult:
    """The model the kept steps produced (None when no step was kept) and every step's record."""

    model: FinliteModel | None
    records: list[StepRecord]
    plan: PruningPlan | None
    extra_files: dict[str, str] = field(default_factory=dict)

    @property
    def kept(self) -> list[StepRecord]:
        """Records of the steps that were kept."""
        return [r for r in self.records if r.status == "kept"]


def _execute(step: Step, state: StepState, ctx: StepContext) -> tuple[StepState, dict[str, Any]]:
    """Apply one step to a copy of the state through its method's registered handler; the input
    state is not changed."""
    seed_everything(ctx.seed)
    return handler_for(step.method)(step.method, state, ctx, step.train)


def _step_label(recipe: Recipe, i: int, name: str) -> str:
    """How an error names a step: "Recipe step 2 (magnitude_pruning)" for a recipe the user wrote,
    "The distillation step" for the one a plain compress run builds (named "compress: …"), where
    "recipe step 1" named a recipe the user never gave (a review, 2026-12-03)."""
    if recipe.name.startswith("compress: "):
        return f"The {name} step"
    return f"Recipe step {i + 1} ({name})"


def _check_layer_names(recipe: Recipe, initial: FinliteModel | None, data: SplitArrays) -> None:
    """Refuse a pruning step whose ``layer_sparsity`` names a layer its model will not have, before
    anything trains (the refusal came only after the distillation before it had trained).

    The model each step gets is followed by its structure only: a distillation makes a fresh,
    untrained student of the method's widths; pruning keeps the layer names; any other step
    (low rank, quantization) ends the check, and the step itself refuses what does not fit.
    """
    from finlite.methods.distill import Distillation, HintDistillation, RegressionDistillation, make_student
    from finlite.methods.prune import PRUNING_METHODS, prunable_layer_names

    model = initial
    x = data.x_train
    for i, step in enumerate(recipe.steps):
        method = step.method
        if isinstance(method, (Distillation, RegressionDistillation, HintDistillation)):
            try:
                window = int(x.shape[1]) if x.ndim == 3 else None
                model = make_student(method, int(x.shape[-1]), rows=len(x), window=window)
            except ConfigError:
                return  # the step itself says what is wrong with it
            continue
        names_given = list(getattr(method, "layer_sparsity", None) or {})
        if not isinstance(method, PRUNING_METHODS):
            model = None  # a step that changes layers (or their form): the step checks for itself
        if model is None or not names_given:
            continue
        try:
            names = prunable_layer_names(model, getattr(method, "granularity", "weight"))
        except UnsupportedModelError:
            return  # the step refuses this model for itself, with its own message
        for name in names_given:
            if name not in names:
                raise ConfigError(f"{_step_label(recipe, i, step.name)}: layer_sparsity names layer {name!r}, which is "
                                  f"not a prunable layer of the model it prunes.{closest(name, names)} Prunable layers: "
                                  f"{', '.join(names)}.", param="layer_sparsity")


def _check_final_steps(recipe: Recipe, initial: FinliteModel | None, data: SplitArrays) -> None:
    """Refuse, before anything trains, a ``scorecard`` or ``integer_weights`` step whose model will
    not be logistic (it was refused only once the distillation before it had trained: a scorecard
    modeller's walk-through, 2026-12-06), and a scorecard of a table with weight-of-evidence or
    target-encoded columns: its points are per 0/1 column, and those columns' values were rounded
    to -1, 0 or 1, so a category's points could not be read and decisions flipped."""
    from finlite.methods.distill import Distillation, HintDistillation, RegressionDistillation
    from finlite.methods.linear import Scorecard

    kind = getattr(initial, "kind", None)
    for i, step in enumerate(recipe.steps):
        method = step.method
        if isinstance(method, (Distillation, RegressionDistillation, HintDistillation)):
            kind = "logistic" if getattr(method, "student", None) == "logistic" else "mlp"
            continue
        if step.name not in ("scorecard", "integer_weights"):
            continue
        if kind != "logistic":
            got = {"mlp": "an MLP"}.get(kind or "", f"a {kind!r} model" if kind else "none")
            raise ConfigError(f"{_step_label(recipe, i, step.name)} needs a logistic model, and the model it would "
                              f"get is {got}: put a distillation step with 'student: logistic' before it.",
                              param="recipe")
        preprocessor = getattr(data, "preprocessor", None)
        valued = [c.name for c in getattr(preprocessor, "categorical_", ()) if getattr(c, "encoding", None)
                  in ("woe", "target")] if isinstance(method, Scorecard) and preprocessor is not None else []
        if valued:
            raise ConfigError(f"{_step_label(recipe, i, step.name)}: a scorecard gives points to each category, and "
                              f"{', '.join(map(repr, valued))} {'is' if len(valued) == 1 else 'are'} encoded as one "
                              "number per row (weight of evidence or target rate: more values than --max-categories), "
                              "which a points table cannot show per category. Train the teacher with "
                              "--high-cardinality onehot (the most frequent values one-hot, the rest 'other'), or "
                              "a larger --max-categories, and compress again.", param="recipe")


def check_ready_plan(recipe: Recipe, teacher: FinliteModel, initial: FinliteModel | None, data: SplitArrays,
                     plan: PruningPlan) -> None:
    """Refuse a ready pruning ``plan`` that the recipe's pruning step would refuse, before
    anything trains: a plan naming a layer its model will not have, of other shapes, or leaving
    no path to the output was refused only after the distillation before it had trained for
    minutes (a review, 2026-12-04).

    The model the pruning step gets is followed by its structure, as for ``layer_sparsity``: a
    distillation makes a fresh, untrained student as its handler makes it (the method's widths,
    its input bins from ``teacher`` or the rows, the task's output), and the plan is applied to a
    copy of it (the checks read the layers' shapes and the plan's indices, not the weights). Any
    other step before it ends the check: the step applies the plan for itself. ``initial`` is the
    model the recipe starts from (a torch teacher, a ready student; None for a boosted teacher,
    which only a distillation turns into something prunable).
    """
    from finlite.methods.distill import (
        Distillation,
        HintDistillation,
        RegressionDistillation,
        make_student,
        student_bins,
    )
    from finlite.methods.prune import PRUNING_METHODS, apply_plan

    model = initial
    x = data.x_train
    # As distill_data and the distillation handler choose it: soft targets for a task that decides.
    task = "classification" if get_task(data.task).decides else "regression"
    for i, step in enumerate(recipe.steps):
        method = step.method
        if isinstance(method, (Distillation, RegressionDistillation, HintDistillation)):
            try:
                # The student exactly as _distill builds it (input bins widen its first layer).
                model = make_student(method, int(x.shape[-1]), rows=len(x), window=int(x.shape[1]) if x.ndim == 3
                                     else None, task=task, bins=student_bins(method, teacher, x))
            except ConfigError:
                return  # the step itself says what is wrong with it
            continue
        if not isinstance(method, PRUNING_METHODS):
            return
        if model is None:
            return
        try:
            apply_plan(model, plan)
        except UnsupportedModelError:
            return  # the step refuses this model for itself, with its own message
        except ConfigError as exc:  # an unusable plan stays one (UnusablePlanError), as the step raises it
            raise type(exc)(f"{_step_label(recipe, i, step.name)}: {exc}", param=exc.param) from None
        return


#: Scores whose spread is below this share of their size are one score: a net stopped at a
#: constant gives values that differ in float32's last digits only (it was compared exactly).
ALIKE_SPREAD = 1e-6


def _alike(scores: np.ndarray) -> bool:
    """Whether every score is the same, to :data:`ALIKE_SPREAD` of the largest's size."""
    finite = scores[np.isfinite(scores)]
    if finite.size < scores.size:  # a non-finite score is no constant (and is refused elsewhere)
        return False
    return bool(np.ptp(finite) <= ALIKE_SPREAD * max(float(np.max(np.abs(finite))), 1e-300))


def run_recipe(recipe: Recipe, data: SplitArrays, teacher: FinliteModel, *, cutoff: float | None, seed: int,
               train: TrainConfig, fine_tune: TrainConfig, teacher_bytes: int,
               train_logits: np.ndarray | None = None, timing: bool = False,
               progress: Any = None, start: FinliteModel | None = None,
               base: DistillData | None = None, start_distillation: MethodConfig | None = None,
               plan: PruningPlan | None = None) -> RecipeResult:
    """Apply ``recipe`` to ``teacher`` on ``data``: steps in order, each kept only if it passes every gate.

    Args:
        recipe: the steps and gates.
        data: the teacher's data, split and encoded as the teacher was trained
            (:class:`~finlite.data.prepared.PreparedData`), or bare arrays per split
            (:class:`~finlite.data.prepared.SplitArrays`, e.g. windows of a series for a
            forecaster); its ``task`` chooses the metrics, the fidelity measures and the gates
            that apply (:mod:`finlite.tasks`).
        teacher: the teacher (a torch model, or a boosted ensemble behind the same interface).
        cutoff: the operating point (the teacher's) where agreement and the decision metrics are
            read; None for a task without decisions (regression). A gate on a decision where the
            teacher flags no validation row or every one is refused (ConfigError naming the
            cut-off): it would decide nothing.
        seed: seeds every step.
        train, fine_tune: defaults for distillation from scratch and for fine-tuning after a
            change; a step's ``train:`` overrides them.
        teacher_bytes: the teacher's size on disk, for the ``size_ratio`` gate.
        train_logits: teacher outputs for the training rows to use instead of its own
            (out-of-fold predictions of a boosted ensemble).
        timing: measure latency after each step (needed when a gate names latency): the
            exported ONNX model in the runtime's session, batch 1 and a large batch.
        progress: called with (step index, total, message) as the run advances.
        start: the model the first step works on (default: the teacher when it is a torch
            model); the search uses it to share one distilled student among candidates.
        base: ready teacher outputs (:func:`~finlite.methods.distill.distill_data`), to reuse.
        start_distillation: the distillation that produced ``start``; fine-tuning then uses its
            loss and transfer set, exactly as if it had been a kept step of this recipe.
        plan: a ready pruning plan (e.g. edited by hand) that the recipe's magnitude or Taylor
            pruning step applies instead of making one; the compress job passes it with a
            recipe of one pruning step (``finlite compress --plan``).
    """
    task = get_task(data.task)
    # The file and line when the recipe was read from one (a recipe fuzz, 2026-12-07: "recipe
    # (unnamed)" named neither).
    where = recipe.gates_at or f"recipe {recipe.name or '(unnamed)'}"
    task.check_gates([gate.metric for gate in recipe.gates], where)
    for gate in recipe.gates:  # the loader checked the limits against every task; this task decides
        for limit in gate.to_dict():
            if not task.supports(gate.metric, limit):
                raise ConfigError(f"The gate {gate.metric!r} in {where} cannot use {limit} for a {task.name} model; "
                                  "use min or max.", param="gates")
    if task.decides and cutoff is None:
        raise ConfigError(f"run_recipe needs the teacher's cut-off for a {task.name} task (its operating point).",
                          param="cutoff")
    is_torch = next(teacher.parameters(), None) is not None
    initial = start if start is not None else (teacher if is_torch else None)
    _check_final_steps(recipe, initial, data)
    if plan is None:  # a ready plan replaces what layer_sparsity would choose
        _check_layer_names(recipe, initial, data)
    else:
        check_ready_plan(recipe, teacher, initial, data, plan)
    # Before any training: the teacher's own predictions and metrics, and whether its operating
    # point makes decisions at all (a decision gate there would check nothing).
    p_teacher = task.scores(teacher, data.x_val)
    scored = np.asarray(p_teacher, dtype=np.float64).reshape(-1)
    # Alike on the validation rows and on the training rows too: a few validation rows of one
    # kind (duplicates, a feature constant there) can share a score under a teacher that ranks.
    alike = scored.size > 1 and _alike(scored)
    if alike and len(data.x_train):
        trained = np.asarray(task.scores(teacher, data.x_train[:10_000]), dtype=np.float64).reshape(-1)
        alike = _alike(np.r_[scored, trained])
    if alike:
        # A teacher that scores every row alike (a booster of one leaf, a net stopped at a constant)
        # has nothing to teach: train said "do not distil", and compress went on without a word (a
        # low-default walk-through, 2026-12-07).
        raise ConfigError(f"The teacher gives every one of the {scored.size:,} validation rows the same score "
                          f"({scored[0]:.6g}, to one part in a million): it ranks and decides nothing, so there is nothing to compress. Train a "
                          "teacher that learned something (more rows or positives, other settings) first.",
                          param="teacher")
    teacher_metrics = task.metrics(data.y_val, p_teacher, cutoff)
    for gate in recipe.gates:
        if gate.metric in task.decision_metrics and cutoff is not None:
            check_decisive(float(teacher_metrics["flagged_rate"]), len(p_teacher), cutoff,
                           f"The gate {gate.metric!r} (on the validation split)")
        if (gate.metric == "recall" and gate.max_drop is not None and cutoff is not None
                and teacher_metrics.get("recall") == 0):
            # The teacher catches none of the validation positives: a recall gate's drop is 0
            # whatever a student does, and it said "pass recall drop 0" (a low-default
            # walk-through, 2026-12-07). A floor on the student's own recall (min) still judges.
            positives = int(np.count_nonzero(np.asarray(data.y_val) == 1))
            raise UnjudgedGateError(
                f"The gate 'recall' (max_drop, on the validation split) would judge nothing: at the cut-off "
                f"{cutoff:.6g} the teacher flags none of the {positives:,} positive validation row(s), so every "
                "student's recall drop is 0.",
                "Set an operating point where it catches some (a higher flag_rate, or a lower cut-off), gate on the "
                "student's own recall (min), or on another metric (agreement, auc).")
        if gate.metric == "alert_overlap" and cutoff is not None:
            check_overlap_judged(int(np.count_nonzero(np.asarray(p_teacher) >= cutoff)), len(p_teacher), cutoff,
                                 "The gate 'alert_overlap' (on the validation split)")
    teacher_fn = lambda x: teacher_logits(teacher, x)  # noqa: E731
    base = base if base is not None else distill_data(data, teacher_fn, train_logits=train_logits)
    ctx = StepContext(data=data, base=base, teacher=teacher, teacher_fn=teacher_fn, seed=seed, train=train,
                      fine_tune=fine_tune, ready_plan=plan, cutoff=cutoff, recorded=recipe.recorded)
    if start_distillation is not None:
        ctx.keep(start_distillation)
    timing = timing or recipe.needs_latency
    # A torch teacher can itself be pruned or quantized; a boosted ensemble (no parameters) cannot.
    state = StepState(copy.deepcopy(initial) if initial is not None else None)
    records: list[StepRecord] = []
    for i, step in enumerate(recipe.steps):
        if progress is not None:
            progress(i, len(recipe.steps), f"step {i + 1}/{len(recipe.steps)}: {step.name}")
        began = time.perf_counter()
        try:
            candidate, info = _execute(step, state, ctx)
        except NoModelError as exc:
            if not records:  # the recipe itself is wrong: nothing could ever produce a model here
                raise ConfigError(f"{_step_label(recipe, i, step.name)}: {exc}") from None
            # An earlier distillation was rolled back: this step has nothing to work on.
            records.append(StepRecord(index=i, method=step.to_dict(), status="skipped", gates=[], metrics={},
                                      info={"reason": "no student: the distillation before it was rolled back"},
                                      seconds=time.perf_counter() - began))
            continue
        except UnsupportedModelError as exc:
            # The model is still the teacher's (no student from a kept distillation), and a
            # distillation that would have replaced it was rolled back: the recipe was written
            # for a student it did not get. Otherwise the recipe is wrong for the model it has.
            from_teacher = start is None and not any(r.status == "kept" and _distils(r) for r in records)
            if not (from_teacher and any(r.status == "rolled_back" and _distils(r) for r in records)):
                raise ConfigError(f"{_step_label(recipe, i, step.name)}: {exc}") from None
            # The step would work on the teacher itself, because the distillation before it was
            # rolled back, and cannot (weight pruning of a GRU teacher): it is skipped, as when there
            # is no student at all, instead of failing the run after its training (exit 2 with "A
            # 'sequence' forecaster is pruned by whole hidden units": a review, 2026-12-03). Any
            # other error (a typo in a step) still stops the run.
            records.append(StepRecord(index=i, method=step.to_dict(), status="skipped", gates=[], metrics={},
                                      info={"reason": "the distillation before it was rolled back, and this step "
                                                      f"cannot work on the teacher itself: {exc}"},
                                      seconds=time.perf_counter() - began))
            continue
        except UnusablePlanError as exc:  # stays one: a search fails the candidate and goes on
            raise UnusablePlanError(f"{_step_label(recipe, i, step.name)}: {exc}", param=exc.param) from None
        except ConfigError as exc:
            raise ConfigError(f"{_step_label(recipe, i, step.name)}: {exc}") from None
        if candidate.model is None:  # a handler must return the model it made (StepState.need_model)
            raise ConfigError(f"{_step_label(recipe, i, step.name)}: its handler returned no model, so there is "
                              "nothing to judge; a handler returns a StepState holding the model it made.")
        metrics = evaluate_candidate(candidate.model, data.x_val, data.y_val, p_teacher, cutoff,
                                     timing=timing, teacher_bytes=teacher_bytes, task=task.name,
                                     rows=series_rows(data, "val"))
        gates = [r for gate in recipe.gates for r in gate.check(metrics, teacher_metrics)]
        gates += decision_check(metrics, teacher_metrics, recipe.gates)
        rule = getattr(step.method, "require_faster", "no")
        if rule != "no" and state.model is not None:
            # An int8 step pays only where the deployed int8 model beats the float one it replaces.
            speed_gates, info["timing"] = speed_check(state.model, candidate.model, data.x_val, rule)
            gates.extend(speed_gates)
        kept = all(g.passed for g in gates)
        records.append(StepRecord(index=i, method=step.to_dict(), status="kept" if kept else "rolled_back",
                                  gates=gates, metrics=_slim(metrics, task), info=info,
                                  seconds=time.perf_counter() - began))
        if kept:
            state = candidate
            ctx.keep(step.method)
    if progress is not None:
        progress(len(recipe.steps), len(recipe.steps), "done")
    # With no step kept there is no new model: the teacher itself is not a compression result.
    any_kept = any(r.status == "kept" for r in records)
    return RecipeResult(model=state.model if any_kept else None, records=records, plan=state.plan,
                        extra_files=state.extra_files)


def _distils(record: StepRecord) -> bool:
    """Whether a step record is a distillation's (a step that makes a new student)."""
    return str(record.method.get("method", "")).endswith("distillation")


def _slim(metrics: dict[str, Any], task: Task) -> dict[str, Any]:
    """The validation metrics a step record keeps: every gate metric of the task and its extras
    (for binary: the agreement over the band of flag rates, the flag rate at the cut-off)."""
    keep = (*task.gate_metrics, *task.step_keys)
    return {k: metrics[k] for k in keep if k in metrics}
