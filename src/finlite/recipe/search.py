"""The search strategy: candidate recipes over student width, temperature, input bins, sparsity
and weight format, judged by the same gates as a recipe, and the Pareto front of those that pass.

Each distilled student is trained once and shared by every candidate built on it
(:func:`student_candidates`), so a time budget buys many more candidates than full recipe runs
would. Latency is that of the deployed model (:func:`finlite.export.timing.deployed_latency`). The
job that loads the teacher, spends the budget and saves the chosen model is
:func:`finlite.jobs.search.search_students`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

from finlite.data.prepared import PreparedData
from finlite.errors import ConfigError, UnusablePlanError
from finlite.methods.distill import MAX_TEMPERATURE, MIN_TEMPERATURE, BinsFrom, Distillation
from finlite.methods.prune import MagnitudePruning
from finlite.methods.quantize import Fp16Weights, StaticInt8
from finlite.models.base import FinliteModel
from finlite.models.bins import MAX_EDGES
from finlite.recipe.gates import Gate
from finlite.recipe.runner import RecipeResult, StepRecord, run_recipe
from finlite.recipe.spec import Recipe, Step
from finlite.training.loop import LARGE_ROWS, TrainConfig

DEFAULT_GATES = [Gate("auc", max_drop=0.01), Gate("agreement", min=0.97)]


@dataclass(frozen=True)
class SearchSpace:
    """The values each candidate dimension takes."""

    hidden: tuple[tuple[int, ...], ...] = ((8,), (16,), (32,), (16, 8))
    temperature: tuple[float, ...] = (1.0, 2.0, 4.0)
    sparsity: tuple[float, ...] = (0.0, 0.5, 0.8)
    bits: tuple[int, ...] = (32, 16, 8)
    #: Input bins per numeric column of the student's first layer (0: the standardised inputs;
    #: see the distillation's ``input_bins``): each value is another distilled student.
    input_bins: tuple[int, ...] = (0,)

    def __post_init__(self) -> None:
        for name in ("hidden", "temperature", "sparsity", "bits", "input_bins"):
            if not getattr(self, name):
                raise ConfigError(f"The search dimension {name!r} of SearchSpace is empty; give it at least one value "
                                  "(e.g. SearchSpace(sparsity=(0.0,)) for no pruning).")
        bad = [b for b in self.bits if b not in (32, 16, 8)]
        if bad:
            raise ConfigError(f"Search bits must be 32, 16 or 8 (the 'bits' parameter of SearchSpace); got {bad[0]!r}.")
        for widths in self.hidden:
            if not widths or any(isinstance(w, bool) or not isinstance(w, int) or w < 1 for w in widths):
                raise ConfigError(f"Each student in the 'hidden' parameter of SearchSpace is a tuple of positive layer "
                                  f"widths, e.g. (16,) or (16, 8); got {widths!r}.")
        for t in self.temperature:
            if isinstance(t, bool) or not isinstance(t, (int, float)) or not MIN_TEMPERATURE <= t <= MAX_TEMPERATURE:
                raise ConfigError(f"Search temperatures (the 'temperature' parameter of SearchSpace) must be numbers "
                                  f"from {MIN_TEMPERATURE:g} to {MAX_TEMPERATURE:g}, e.g. 2.0; got {t!r}.")
        for bins in self.input_bins:
            if isinstance(bins, bool) or not isinstance(bins, int) or not (bins == 0 or 2 <= bins <= MAX_EDGES + 1):
                raise ConfigError(f"Search input bins (the 'input_bins' parameter of SearchSpace) are 0 (no bins) or a "
                                  f"whole number of bins per column from 2 to {MAX_EDGES + 1}; got {bins!r}.")
        for share in self.sparsity:
            if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 <= share < 1:
                raise ConfigError(f"Search sparsities (the 'sparsity' parameter of SearchSpace) are shares from 0 (no "
                                  f"pruning) up to, not including, 1; got {share!r}.")


# The default space from LARGE_ROWS training rows: the student wide enough to follow a boosted
# teacher on a loan book (a 16-unit student lost 0.09 AUC on SBA, a 64-32 one 0.012 and 3 % of
# the decisions), two temperatures, lighter pruning (50 % cost a 128-64 student 0.25 % of the
# decisions on SBA). A distillation takes about two minutes at this size, so the default budget
# buys one student and its candidates; a larger budget buys the second temperature.
LARGE_SPACE = SearchSpace(hidden=((128, 64),), temperature=(2.0, 1.0), sparsity=(0.0, 0.3, 0.5))


# Binned students (input_bins) are not in the default space, even for a boosted teacher at bank
# size, because which is better depends on the book, and "smallest" cannot tell from the gates.
# Measured on 2026-12-02 (300 s budgets): on SBA with Term the plain students sat on the 97 %
# agreement gate (96.98 and 97.09 % on the validation loans; the choice agreed on 96.98 % of the
# test loans, exit 1), and the same search with `--input-bins 32` passed (97.66 % on the test
# loans); on ULB fraud the plain search chose a 14.5 KiB student (5 us at batch 1, 4.2 M rows/s)
# and the binned one an 89 KiB student slower than its teacher (16 against 6 us, 0.35 M rows/s).
# So a default search tries them second: when none of its plain students passed a boosted
# teacher's gates and budget is left (FALLBACK_BINS below; jobs.search), and says so.


#: Input bins per numeric column of the students a default search tries when none of its plain
#: students passed a boosted teacher's gates (jobs.search): the value that passed on SBA with Term
#: above. Tried only then, and only with budget left, so a book where plain students pass (ULB)
#: keeps its small, fast choice.
FALLBACK_BINS = 32


# Epochs of a binned student's distillation from LARGE_ROWS training rows, instead of the 60 of
# LARGE_DISTILL_TRAINING: an epoch of it costs about three of a plain student, and 15-20 epochs of
# it follow a boosted teacher more closely than 60 of a plain one (bench/sba_student_inputs.py),
# so a 300 s budget still sees a student and its first candidates.
LARGE_BINNED_EPOCHS = 20


def default_space(rows: int) -> SearchSpace:
    """The search space when none is given: :class:`SearchSpace` below :data:`LARGE_ROWS` training
    rows, :data:`LARGE_SPACE` from there (plain students; see the note above on binned ones)."""
    return LARGE_SPACE if rows >= LARGE_ROWS else SearchSpace()


def distill_train(rows: int, input_bins: int, *, epochs_given: bool = False) -> dict[str, Any]:
    """The training overrides of a candidate's distillation step: :data:`LARGE_BINNED_EPOCHS` for a
    binned student from :data:`LARGE_ROWS` training rows unless the caller set the epochs
    (``epochs_given``: ``--epochs``, or training settings of its own), none otherwise."""
    if input_bins and rows >= LARGE_ROWS and not epochs_given:
        return {"epochs": LARGE_BINNED_EPOCHS}
    return {}


# Synthetic (mixup) rows per training row in a candidate's distillation: as many as the training
# rows on a small table; none from LARGE_ROWS, where the training split alone has hundreds of
# thousands of rows and a transfer set would double every epoch.
TRANSFER_SIZE, LARGE_TRANSFER_SIZE = 1.0, 0.0


def transfer_size_for(rows: int) -> float:
    """A candidate's transfer-set size for ``rows`` training rows (see :data:`TRANSFER_SIZE`)."""
    return LARGE_TRANSFER_SIZE if rows >= LARGE_ROWS else TRANSFER_SIZE


def candidate_recipe(hidden: tuple[int, ...], temperature: float, sparsity: float, bits: int,
                     gates: list[Gate], *, transfer_size: float = TRANSFER_SIZE, input_bins: int = 0,
                     input_bins_from: BinsFrom = "teacher", train: Mapping[str, Any] | None = None) -> Recipe:
    """The recipe one search candidate stands for (``transfer_size`` 0: no transfer set;
    ``input_bins`` 0: the student reads the standardised inputs; ``train``: the distillation
    step's training overrides, see :func:`distill_train`)."""
    transfer: Literal["none", "mixup"] = "mixup" if transfer_size > 0 else "none"
    # Without bins the source of their edges is left at its default: a plain student's recipe
    # names no bins at all.
    steps = [Step(Distillation(temperature=temperature, hidden=hidden, transfer=transfer,
                               transfer_size=transfer_size, input_bins=input_bins,
                               input_bins_from=input_bins_from if input_bins else "teacher"), train=dict(train or {}))]
    if sparsity > 0:
        steps.append(Step(MagnitudePruning(sparsity=sparsity)))
    if bits == 16:
        steps.append(Step(Fp16Weights()))
    elif bits == 8:
        steps.append(Step(StaticInt8()))  # ONNX Runtime's fast int8 form; the timings judge it
    name = f"search: {student_label(hidden, temperature, input_bins, input_bins_from)}, sparsity {sparsity:g}, {bits}-bit"
    return Recipe(steps=steps, gates=list(gates), name=name)


def student_label(hidden: tuple[int, ...], temperature: float, input_bins: int = 0,
                  input_bins_from: BinsFrom = "teacher") -> str:
    """The distilled student's part of a candidate's name, e.g. "hidden [128, 64], T 2"."""
    bins = f", {input_bins} bins from {input_bins_from}" if input_bins else ""
    return f"hidden {list(hidden)}, T {temperature:g}{bins}"


# Latencies closer than this (relative) count as equal in the front: two timings of one model
# differ by a few per cent, and a front that changed with that noise could not be reproduced
# (by a second run, or by the search on Ray, whose candidates are timed after the fact).
LATENCY_TIE = 0.10


def _latency_order(a: float | None, b: float | None) -> int:
    """-1 if latency ``a`` is clearly lower than ``b``, 1 if clearly higher, 0 if tied or not timed."""
    if a is None or b is None:  # a search without timing: the front is over size and AUC only
        return 0
    if a < b * (1 - LATENCY_TIE):
        return -1
    if b < a * (1 - LATENCY_TIE):
        return 1
    return 0


def pareto_front(points: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Candidates not dominated in (smaller size_bytes, lower latency_p50_us, higher auc).

    Latencies within :data:`LATENCY_TIE` of each other are a tie, not a difference.
    """
    def dominates(a: dict[str, Any], b: dict[str, Any]) -> bool:
        lat = _latency_order(a["latency_p50_us"], b["latency_p50_us"])
        no_worse = a["size_bytes"] <= b["size_bytes"] and lat <= 0 and a["auc"] >= b["auc"]
        better = a["size_bytes"] < b["size_bytes"] or lat < 0 or a["auc"] > b["auc"]
        return no_worse and better
    return [p for p in points if not any(dominates(q, p) for q in points if q is not p)]


def candidate_record(recipe: Recipe, record: StepRecord, hidden: tuple[int, ...], temperature: float,
                     input_bins: int, input_bins_from: BinsFrom) -> dict[str, Any]:
    """A candidate's name, recipe, student and the metrics of ``record``: its last step's when it
    passed, the first step rolled back when it failed (the model that failed the gates)."""
    metrics = record.metrics
    return {"name": recipe.name, "recipe": recipe.to_dict(), "size_bytes": metrics["size_bytes"],
            "latency_p50_us": metrics.get("latency_p50_us"), "rows_per_second": metrics.get("rows_per_second"),
            "timed": metrics.get("timed"), "auc": metrics["auc"], "agreement": metrics["agreement"],
            "alert_overlap": metrics.get("alert_overlap"),
            "student": student_label(hidden, temperature, input_bins, input_bins_from)}


def student_candidates(hidden: tuple[int, ...], temperature: float, order: list[tuple[float, int]], *,
                       prepared: PreparedData, teacher: FinliteModel, gates: list[Gate], config: TrainConfig,
                       fine_tune: TrainConfig, common: dict[str, Any], deadline: float, timing: bool = True,
                       keep_models: bool = False, on_candidate: Callable[[dict[str, Any]], Any] | None = None,
                       input_bins: int = 0, input_bins_from: BinsFrom = "teacher",
                       distill_overrides: Mapping[str, Any] | None = None,
                       ) -> tuple[list[dict[str, Any]], list[RecipeResult | None]]:
    """One distilled student and the candidates built on it, tails (sparsity, bits) in ``order``.
    The student reads its inputs through ``input_bins`` bins per numeric column (0: none), with
    edges from ``input_bins_from``; its distillation step carries ``distill_overrides`` (training
    overrides, :func:`distill_train`, worked out by the caller so every engine uses the same).

    The unit of work of the search, run in-process by the serial search and as one Ray task by
    ``engine="ray"``. Stops before the student, or before a tail, once ``time.time()`` passes
    ``deadline`` (the first tail of a student already distilled is still judged). ``config`` and
    ``fine_tune`` must carry the run's seed (``common["seed"]``):
    the compress job that saves the chosen candidate trains with them, so a candidate trained
    otherwise would not be the model saved for it. ``common`` holds the rest of
    :func:`~finlite.recipe.runner.run_recipe`'s arguments (cutoff, seed, teacher_bytes, base).
    Returns the candidate records and, with ``keep_models``, the result of each candidate that
    passed (None for the others): its model and its steps' records, numbered as the steps of its
    whole recipe, the result a run of that recipe from scratch gives (a test holds them equal). The
    search saves the chosen one without training it again (and the search on Ray times them, in
    one process, from these).

    Raises:
        ConfigError: ``config`` or ``fine_tune`` is seeded differently from the run.
    """
    for name, train in (("config", config), ("fine_tune", fine_tune)):
        if train.seed != common["seed"]:
            raise ConfigError(f"student_candidates: the {name} training settings are seeded {train.seed} but the run "
                              f"is seeded {common['seed']}; pass replace({name}, seed={common['seed']}) so the "
                              "candidates are trained as the saved model will be.")
    candidates: list[dict[str, Any]] = []
    models: list[RecipeResult | None] = []
    if time.time() > deadline:
        return candidates, models
    transfer_size = transfer_size_for(len(prepared.x_train))
    own = dict(distill_overrides or {})
    first = candidate_recipe(hidden, temperature, 0.0, 32, gates, transfer_size=transfer_size, input_bins=input_bins,
                             input_bins_from=input_bins_from, train=own)
    distilled = run_recipe(first, prepared, teacher, train=config, fine_tune=fine_tune, timing=timing, **common)
    record = distilled.records[0]
    for tried, (sparsity, bits) in enumerate(order):
        # A student whose distillation began within the budget gets its first candidate judged even
        # if the deadline passed meanwhile: the budget's costliest work is never thrown away unseen.
        if tried and time.time() > deadline:
            break
        recipe = candidate_recipe(hidden, temperature, sparsity, bits, gates, transfer_size=transfer_size,
                                  input_bins=input_bins, input_bins_from=input_bins_from, train=own)
        result = distilled
        if len(recipe.steps) == 1:
            records, kept = [record], record.status == "kept"
        elif record.status != "kept":
            records, kept = [record], False  # its student already fails a gate
        else:
            tail = Recipe(steps=recipe.steps[1:], gates=gates)
            try:
                run = run_recipe(tail, prepared, teacher, train=config, fine_tune=fine_tune, timing=timing,
                                 start=distilled.model, start_distillation=recipe.steps[0].method, **common)
            except UnusablePlanError as exc:
                # This sparsity leaves this student no path from its inputs to its output: the candidate
                # fails, the search goes on (it stopped the whole search with exit 2: a review, 2026-12-03).
                # Its metrics are the distilled student's: the pruned one was never made.
                unusable = {**candidate_record(recipe, record, hidden, temperature, input_bins, input_bins_from),
                            "passed": False, "failed": [f"magnitude_pruning: {str(exc).split(': ', 1)[-1]}"]}
                candidates.append(unusable)
                models.append(None)
                if on_candidate is not None:
                    on_candidate(unusable)
                continue
            # The tail's steps are steps 2… of the candidate's recipe: numbered so, its records are
            # those a run of the whole recipe writes into the artifact's manifest.
            records = [record, *(replace(r, index=r.index + 1) for r in run.records)]
            kept = all(r.status == "kept" for r in run.records)
            result = RecipeResult(model=run.model, records=records, plan=run.plan,
                                  extra_files={**distilled.extra_files, **run.extra_files})
        # A candidate that failed is shown as the model that failed: the first step rolled back.
        # The steps after it ran on the model before it (int8 of the unpruned student when its
        # pruning failed), whose size and AUC are not this candidate's (a review, 2026-12-03).
        judged = next((r for r in records if r.status == "rolled_back"), records[-1])
        candidate = {**candidate_record(recipe, judged, hidden, temperature, input_bins, input_bins_from),
                     "passed": kept,
                     # Each failed gate with the step it failed at: the tails of a student whose
                     # distillation already failed share that failure.
                     "failed": [f"{r.method['method']}: {g.message}" for r in records for g in r.failed_gates]}
        candidates.append(candidate)
        models.append(result if keep_models and kept else None)
        if on_candidate is not None:
            on_candidate(candidate)
    return candidates, models
