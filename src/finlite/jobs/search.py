"""The search job: try many students within a time budget, keep the Pareto front of those that
pass the gates, and save the chosen one.

A candidate is a recipe (:func:`finlite.recipe.search.candidate_recipe`): distillation, optional
magnitude pruning and an optional weight format. Candidates are judged on the validation split;
among those that pass, the Pareto front of (size on disk, batch-1 latency, AUC) is reported and
the smallest (or fastest) is chosen. The chosen candidate is saved as the search trained it, by
the compress job that saves any recipe's result, from the very set-up the candidates were trained
from (the same data, teacher outputs, training settings and seed): it is evaluated on the test
split and saved with its report, not trained again, so the budget is the search's time bar the
set-up and that last evaluation. The artifact carries the candidate's recipe, which reproduces
it from scratch (`finlite reproduce`; a test holds the two equal).
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import numpy as np

from finlite._progress import Progress
from finlite._util import check_flags, dump_json
from finlite.artifact import Artifact, DataLike
from finlite.data.prepared import PreparedData
from finlite.errors import ConfigError
from finlite.evaluate.operating import check_operating_options
from finlite.jobs.compress import CompressOutcome, _run, _setup, write_rejected
from finlite.jobs.reproduce import is_timing
from finlite.methods.distill import BINS_FROM, BinsFrom
from finlite.models.base import FinliteModel
from finlite.models.bins import check_teacher_splits, has_teacher_splits, teacher_edges
from finlite.models.gbdt import remembering_scores
from finlite.recipe.gates import Gate
from finlite.recipe.runner import RecipeResult
from finlite.recipe.search import (
    DEFAULT_GATES,
    FALLBACK_BINS,
    SearchSpace,
    _latency_order,
    default_space,
    distill_train,
    pareto_front,
    student_candidates,
)
from finlite.recipe.spec import Recipe
from finlite.training.loop import TrainConfig, keeps_random_state

__all__ = ["ENGINES", "OBJECTIVES", "SearchResult", "search_students"]

ENGINES = ("serial", "ray")
#: Distinct failures the summary lists when no candidate passed.
_FAILED_SHOWN = 6
OBJECTIVES = ("smallest", "fastest")
#: Said when plain students miss a boosted teacher's gates (not the default: see recipe.search).
BINS_HINT = ("hint: students that read binned inputs follow a LightGBM/XGBoost teacher more closely; "
             "try 'finlite search ... --input-bins 32' (SearchSpace(input_bins=(32,))). They are larger and "
             "may serve slower, even slower than the teacher (SBA with Term: that search passed its gates).")


@dataclass
class SearchResult:
    """Every candidate tried, the Pareto front of those that passed, the choice and its artifact run.

    ``chosen_model`` is the chosen candidate's model as the search trained it; ``outcome`` is the
    compress run that evaluated it on the test split and saved it. ``rejected`` is the path of the
    search's record when no candidate passed and an ``out`` was given
    (:func:`finlite.jobs.compress.write_rejected`: ``OUT.rejected.json``, every candidate with the gates).
    """

    candidates: list[dict[str, Any]]
    front: list[dict[str, Any]]
    chosen: dict[str, Any] | None
    outcome: CompressOutcome | None = None
    seconds: float = 0.0
    objective: str = "smallest"
    untried: int = 0
    notes: list[str] = field(default_factory=list)
    chosen_model: FinliteModel | None = None
    rejected: Path | None = None

    def __repr__(self) -> str:
        """A line a log can hold (the default repr printed every candidate and the chosen run's
        whole report)."""
        passed = sum(bool(c.get("passed")) for c in self.candidates)
        chosen = None if self.chosen is None else self.chosen.get("name")
        outcome = self.outcome
        where = None if outcome is None or outcome.path is None else str(outcome.path)
        return (f"SearchResult(candidates={len(self.candidates)}, passed={passed}, chosen={chosen!r}, "
                f"passed_on_test={None if outcome is None else outcome.passed}, path={where!r})")

    def summary(self, *, outcome: bool = True) -> str:
        """A table of the Pareto front and the choice, for the terminal; then, with ``outcome``,
        what the chosen candidate's compress run decided on the test split and its validation
        report's verdict (:meth:`CompressOutcome.summary`): a choice made on the validation split
        can still fail a gate on the test split, or its report warn. (The CLI prints those from
        the outcome itself, with its table.)"""
        passed = sum(c["passed"] for c in self.candidates)
        head = (f"search: {len(self.candidates)} candidates in {self.seconds:.0f} s "
                f"({self.untried} left untried), {passed} passed every gate")
        lines = [f"{head}; Pareto front (size, latency, validation AUC) of {len(self.front)}:" if self.front
                 else f"{head}."]  # no front: no table header over no rows
        width = max([58, *(len(c["name"]) - 8 + 2 for c in self.front)])  # names with bins are longer
        if self.front:
            lines.append(f"{'candidate':<{width}}{'size':>10}{'p50 µs':>9}{'AUC':>8}")
        for c in sorted(self.front, key=lambda c: c["size_bytes"]):
            mark = " <- chosen" if self.chosen is not None and c["name"] == self.chosen["name"] else ""
            latency = "-" if c["latency_p50_us"] is None else f"{c['latency_p50_us']:.1f}"  # not timed
            lines.append(f"{c['name'][8:]:<{width}}{c['size_bytes']:>10,}{latency:>9}{c['auc']:>8.4f}{mark}")
        if self.chosen is None and not self.candidates:
            lines.append("no candidate passed every gate (none was tried within the budget)")
        elif self.chosen is None:
            lines.append("no candidate passed every gate; what failed (the first candidate of each distinct reason):")
            # The tails of a student whose distillation failed share its failure: shown once, under
            # the student's name, not under whichever tail came first.
            shown: dict[tuple[str, ...], str] = {}
            for c in self.candidates:
                distilled = bool(c["failed"]) and all(m.startswith("distillation: ") for m in c["failed"])
                shown.setdefault(tuple(c["failed"]), c["student"] if distilled else c["name"][8:])
            for reasons, name in list(shown.items())[:_FAILED_SHOWN]:
                lines.append(f"  {name}: {'; '.join(reasons) or 'not kept'}")
            if len(shown) > _FAILED_SHOWN:
                lines.append(f"  … and {len(shown) - _FAILED_SHOWN} more")
        chosen = [] if self.outcome is None or not outcome else \
            [f"chosen candidate on the test split:\n{self.outcome.summary()}"]
        return "\n".join(lines + self.notes + chosen)


@remembering_scores
@keeps_random_state
def search_students(
    teacher: str | Path | Artifact,
    data: DataLike,
    *,
    budget_s: float = 300.0,
    objective: str = "smallest",
    gates: list[Gate] | None = None,
    space: SearchSpace | None = None,
    seed: int | None = None,
    config: TrainConfig | None = None,
    fine_tune: TrainConfig | None = None,
    out: str | Path | None = None,
    overwrite: bool = False,
    progress: bool = True,
    train_overrides: dict[str, Any] | None = None,
    engine: str = "serial",
    address: str | None = None,
    timing: bool = True,
    space_overrides: Mapping[str, Sequence[Any]] | None = None,
    flag_rate: float | None = None,
    input_bins_from: BinsFrom = "teacher",
) -> SearchResult:
    """Explore candidates for ``budget_s`` seconds and save the chosen one (see the module doc).

    Candidates are tried in a seeded random order, grouped by distilled student, so a short
    budget still samples every region of the space a little. The set-up (teacher, data split,
    training settings by the training rows with ``train_overrides``, the seed, default the
    teacher's) is the compress job's (:func:`finlite.compress`), made once and shared by every
    candidate; the chosen one is evaluated on the test split and saved at ``out`` as trained.

    ``engine="ray"`` runs each distilled student and its candidates as one Ray task
    (:func:`finlite.jobs.search_ray.search_on_ray`; ``address`` joins a cluster, default a local
    Ray): the same candidates with the same metrics as ``"serial"``, with the latency of the
    candidates that pass measured afterwards in this process, side by side. ``timing=False``
    measures no latency: the front is then over size and AUC only (and reproducible exactly).

    ``space`` is the whole space of candidates; without it the default follows the training rows
    (:func:`~finlite.recipe.search.default_space`: from :data:`~finlite.training.loop.LARGE_ROWS`
    rows, plain 128-64 students). A binned student at that size distils for
    :data:`~finlite.recipe.search.LARGE_BINNED_EPOCHS` epochs unless the epochs are given. With
    the default space (no ``space``, no ``input_bins`` override) and a LightGBM or XGBoost teacher,
    when no plain student passes every gate and budget is left, the search goes on with the same
    students reading :data:`~finlite.recipe.search.FALLBACK_BINS` bins of each numeric column at
    the teacher's split thresholds (``notes`` says so, with how many passed). When no candidate
    passes (or the choice fails on the test split) with a boosted teacher and no bins tried,
    ``notes`` holds :data:`BINS_HINT`.
    Any dimension named in ``space_overrides`` (e.g. ``{"bits": [32, 8]}``) is replaced in the
    space given or in that default.
    Candidates are judged at the teacher's operating point, or where the teacher flags
    ``flag_rate`` of the training rows (as in :func:`finlite.compress`). A space whose
    ``input_bins`` holds a number of bins tries students that read each numeric column through
    that many piecewise-linear bins, with edges at the teacher's split thresholds
    (``input_bins_from="teacher"``, a LightGBM or XGBoost teacher) or at quantiles.

    When no candidate passes, no student is written; with ``out`` the search's record is, beside
    it (``OUT.rejected.json``, :attr:`SearchResult.rejected`). A run at ``out`` replaces an earlier
    run's student or record there only with ``overwrite`` (checked before any work).

    Raises:
        DataError: an earlier run's record at ``OUT.rejected.json`` without ``overwrite``, or a file
            there that is not finlite's record.
        ConfigError: an unknown ``engine`` or ``objective``, a budget that is not positive,
            ``"fastest"`` without timing, Ray missing for ``engine="ray"``, or input bins at the
            split thresholds of a teacher that has none (before any candidate is trained).
    """
    check_flags("search_students", overwrite=overwrite, progress=progress, timing=timing)
    if engine not in ENGINES:
        raise ConfigError(f"The search engine must be 'serial' or 'ray' (parameter engine=); got {engine!r}.",
                          param="engine")
    if objective not in OBJECTIVES:
        raise ConfigError(f"The search objective must be 'smallest' or 'fastest' (parameter objective=); "
                          f"got {objective!r}.", param="objective")
    if not timing and objective == "fastest":
        raise ConfigError("The 'fastest' objective ranks by measured latency, so it needs timing; choose "
                          "objective='smallest', or measure latency.",
                          param="objective")
    if input_bins_from not in BINS_FROM:
        raise ConfigError(f"input_bins_from must be one of {', '.join(BINS_FROM)}; got {input_bins_from!r}.",
                          param="input_bins_from")
    if isinstance(budget_s, bool) or not isinstance(budget_s, (int, float)) or not budget_s > 0:
        raise ConfigError(f"The search budget must be a positive number of seconds (parameter budget_s=); "
                          f"got {budget_s!r}.", param="budget_s")
    check_operating_options("search_students", None, flag_rate)  # named as the search, not compress
    if engine == "ray":  # before any work: a missing Ray is a usage error, not a failure half-way
        from finlite.runtime.ray_engine import require_ray

        require_ray()
    setup = _setup(teacher, data, seed=seed, config=config, fine_tune=fine_tune, out=out, overwrite=overwrite,
                   progress=progress, train_overrides=train_overrides, flag_rate=flag_rate)
    art, prepared = setup.art, setup.prepared
    if not isinstance(prepared, PreparedData):
        # The search space (MLP widths, transfer sets) and its default gates (AUC) are a table's.
        raise ConfigError(f"{art.path} is a market forecaster; the student search covers models of tables. "
                          "Compress it with a recipe instead (the markets, markets_direction or markets_volatility "
                          "preset), whose gates are the forecasting ones.", param="teacher")
    gates = list(gates) if gates else list(DEFAULT_GATES)
    # Binned students are the fallback only where the caller did not choose the input bins.
    bins_chosen_by_us = space is None and "input_bins" not in (space_overrides or {})
    # At bank size the narrow students cannot follow the teacher (see training.sizing.default_student).
    if space is None:
        space = default_space(setup.rows)
    if space_overrides:  # on the space given, or on the size-aware default
        space = _override(space, space_overrides)
    if input_bins_from == "teacher" and any(space.input_bins):
        check_teacher_splits(art.model)  # before any student is trained, not at the first binned one
    rng = np.random.default_rng(setup.seed)
    # A student is (widths, temperature, input bins); with the default bins (0,) the students and
    # their order are those of the space without bins.
    students = list(itertools.product(space.hidden, space.temperature, space.input_bins))
    students = [students[i] for i in rng.permutation(len(students))]
    tails = list(itertools.product(space.sparsity, space.bits))
    # Each student's order of tails, drawn up front in the order the serial loop would draw them,
    # so every engine tries the same candidates in the same order.
    orders = [[tails[i] for i in rng.permutation(len(tails))] for _ in students]
    total = len(students) * len(tails)
    start = time.perf_counter()
    deadline = time.time() + budget_s  # wall clock: Ray workers compare against it too
    common = {"cutoff": setup.cutoff, "seed": setup.seed, "teacher_bytes": art.weights_bytes, "base": setup.base}
    job: dict[str, Any] = {"prepared": prepared, "teacher": art.model, "gates": gates, "config": setup.train,
                           "fine_tune": setup.fine_tune, "common": common, "deadline": deadline,
                           "input_bins_from": input_bins_from}
    # Each student's distillation overrides, worked out here for every engine: epochs the caller
    # set are the binned students' too (recipe.search.distill_train).
    given = config is not None or "epochs" in (train_overrides or {})

    def run_stage(stage: list[tuple[tuple[int, ...], float, int]], stage_orders: list[list[tuple[float, int]]],
                  name: str) -> tuple[list[dict[str, Any]], list[RecipeResult | None]]:
        """Every candidate of ``stage``'s students (each with its order of tails) that the budget
        allows, on the engine asked for, with a progress bar of its own."""
        bar = Progress(name, len(stage) * len(tails), unit="candidate", enabled=progress)
        overrides = [distill_train(setup.rows, bins, epochs_given=given) for _, _, bins in stage]
        found_all: list[dict[str, Any]] = []
        kept_all: list[RecipeResult | None] = []  # beside each candidate: its result when it passed
        if engine == "ray":
            from finlite.jobs.search_ray import search_on_ray

            found_all, kept_all = search_on_ray(stage, stage_orders, job, overrides=overrides, timing=timing,
                                                address=address, on_candidates=lambda n: bar.update(n))
        else:
            passed = 0

            def tried(candidate: dict[str, Any]) -> None:
                nonlocal passed
                passed += bool(candidate["passed"])
                bar.update(1, metric=f"{passed} passed")

            for (hidden, temperature, bins), order, own in zip(stage, stage_orders, overrides, strict=True):
                if time.time() > deadline:
                    break
                found, kept = student_candidates(hidden, temperature, order, **job, input_bins=bins, timing=timing,
                                                 keep_models=True, on_candidate=tried, distill_overrides=own)
                found_all += found
                kept_all += kept
        bar.close()
        return found_all, kept_all

    candidates, runs = run_stage(students, orders, "search")
    notes: list[str] = []
    if bins_chosen_by_us and candidates and not any(c["passed"] for c in candidates) \
            and input_bins_from == "teacher" and has_teacher_splits(art.model) and time.time() < deadline \
            and teacher_edges(art.model, prepared.x_train, FALLBACK_BINS):
        # Plain students all missed a boosted teacher's gates and time is left: students that read
        # the teacher's split thresholds next (FALLBACK_BINS bins a column), in the same seeded order.
        # Not for a teacher that splits on no number column: its binned students would be the plain
        # ones again (a review, 2026-12-05).
        binned = [(hidden, temperature, FALLBACK_BINS) for hidden, temperature, _ in students]
        binned_orders = [[tails[i] for i in rng.permutation(len(tails))] for _ in binned]
        total += len(binned) * len(tails)
        found, kept = run_stage(binned, binned_orders, "search (binned inputs)")
        candidates, runs = candidates + found, runs + kept
        if found:  # none when the budget ran out before the first: the hint then stands
            notes.append(f"no plain student passed every gate, so the search went on with students that read "
                         f"{FALLBACK_BINS} bins of each numeric column at the teacher's split thresholds: "
                         f"{sum(bool(c['passed']) for c in found)} of {len(found)} passed")
    seconds = time.perf_counter() - start
    passing = [c for c in candidates if c["passed"]]
    front = pareto_front(passing)
    if objective == "smallest" or not front:
        chosen = min(front, key=lambda c: (c["size_bytes"], -c["auc"])) if front else None
    else:  # the fastest, counting latencies within LATENCY_TIE of the best as ties (then AUC, size)
        best = min(c["latency_p50_us"] for c in front)
        chosen = min((c for c in front if _latency_order(c["latency_p50_us"], best) == 0),
                     key=lambda c: (-c["auc"], c["size_bytes"]))
    result = SearchResult(candidates=candidates, front=front, chosen=chosen, seconds=seconds, objective=objective,
                          untried=total - len(candidates), notes=notes)
    if chosen is not None:
        run = next(r for c, r in zip(candidates, runs, strict=True) if c is chosen)
        if run is None:  # every candidate that passed keeps its result (keep_models=True)
            raise RuntimeError(f"The search kept no result for its chosen candidate {chosen['name']!r}.")
        recipe = Recipe.from_dict(chosen["recipe"], "the chosen candidate")
        if not recipe.needs_latency:
            # Its step records as a run of its recipe writes them, whatever the engine: the serial
            # search times candidates as it goes, the Ray tasks do not (their driver times them
            # afterwards, into the candidate records only).
            run = replace(run, records=[replace(r, metrics={k: v for k, v in r.metrics.items() if not is_timing(k)})
                                        for r in run.records])
        result.chosen_model = run.model
        # Without timing two identical runs write identical files: the wall-clock time is left out.
        record = dump_json({"objective": objective, "budget_s": budget_s, "seconds": seconds if timing else None,
                            "chosen": chosen, "front": front, "candidates": candidates, "notes": notes})
        # Saved as the search trained it: the compress job evaluates it on the test split and
        # writes the artifact, report and recipe as for any recipe's result.
        result.outcome = _run(setup, recipe, out=out, overwrite=overwrite, timing=timing, result=run,
                              extra_files={"search.json": record})
    missed = (chosen is None and bool(candidates)) or (result.outcome is not None and not result.outcome.passed)
    if missed and not any(space.input_bins) and not notes and has_teacher_splits(art.model):
        result.notes.append(BINS_HINT)
    if chosen is None and out is not None:  # no student to write: the record of what was tried, for the validator
        result.rejected = write_rejected(
            out, setup, command="search", overwrite=overwrite, timing=timing,
            decision="no candidate passed every gate on the validation split" if candidates
            else "no candidate was tried within the budget",
            search={"objective": objective, "budget_s": budget_s, "seconds": seconds if timing else None,
                    "gates": {gate.metric: gate.to_dict() for gate in gates}, "candidates": candidates,
                    "notes": list(result.notes), "untried": total - len(candidates)})
    return result


def _override(space: SearchSpace, overrides: Mapping[str, Sequence[Any]]) -> SearchSpace:
    """``space`` with the named dimensions replaced (each checked by :class:`SearchSpace`)."""
    names = {f.name for f in fields(SearchSpace)}
    unknown = [name for name in overrides if name not in names]
    if unknown:
        raise ConfigError(f"Unknown search dimension {unknown[0]!r} in space_overrides; the dimensions are "
                          f"{', '.join(sorted(names))}.", param="space_overrides")
    values: dict[str, Any] = {}
    for name, given in overrides.items():
        if isinstance(given, (str, bytes)) or not isinstance(given, Sequence):
            raise ConfigError(f"The search dimension {name!r} in space_overrides takes a list of values, e.g. "
                              f"{{{name!r}: [{'(16,), (32, 16)' if name == 'hidden' else '...'}]}}; got {given!r}.",
                              param="space_overrides")
        values[name] = tuple(tuple(v) for v in given) if name == "hidden" else tuple(given)
    return replace(space, **values)
