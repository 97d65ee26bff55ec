"""Search: try many students within a time budget, keep the Pareto front of those that pass the gates.

A candidate is a recipe: distillation (student width and depth, temperature, with a mixup
transfer set as large as the training split below 100,000 training rows, none from there), optional magnitude pruning (sparsity) and an
optional weight format (float32, fp16 or int8). Each
distilled student is trained once and shared by every candidate built on it, so the budget
buys many more candidates than full recipe runs would. Candidates are judged on the
validation split by the same gates as a recipe; among those that pass, the Pareto front of
(size on disk, batch-1 latency, AUC) is reported and the smallest (or fastest) is chosen.
Latency is that of the deployed model: each candidate's ONNX export timed in the runtime
Predictor's session (:func:`finlite.recipe.deployed_latency`), so an int8 candidate is faster
than its float32 sibling only where ONNX Runtime's int8 kernels are faster on this machine.
The chosen recipe is then run once more from scratch (same seed, same result) so the saved
artifact carries a recipe that reproduces it; that final run is outside the budget.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from finlite._progress import Progress
from finlite._util import dump_json
from finlite.artifact import Artifact, load
from finlite.compress.distill import Distillation, distill_data, teacher_logits
from finlite.compress.prune import MagnitudePruning
from finlite.compress.quantize import Fp16Weights, StaticInt8
from finlite.errors import ConfigError
from finlite.recipe import Gate, Recipe, Step, run_recipe
from finlite.training import LARGE_ROWS, TrainConfig

__all__ = ["DEFAULT_GATES", "SearchResult", "SearchSpace", "pareto_front", "search_students"]

DEFAULT_GATES = [Gate("auc", max_drop=0.01), Gate("agreement", min=0.97)]


@dataclass(frozen=True)
class SearchSpace:
    """The values each candidate dimension takes."""

    hidden: tuple[tuple[int, ...], ...] = ((8,), (16,), (32,), (16, 8))
    temperature: tuple[float, ...] = (1.0, 2.0, 4.0)
    sparsity: tuple[float, ...] = (0.0, 0.5, 0.8)
    bits: tuple[int, ...] = (32, 16, 8)

    def __post_init__(self) -> None:
        if not all((self.hidden, self.temperature, self.sparsity, self.bits)):
            raise ConfigError("Every search dimension needs at least one value.")
        bad = [b for b in self.bits if b not in (32, 16, 8)]
        if bad:
            raise ConfigError(f"Search bits must be 32, 16 or 8; got {bad[0]!r}.")


# The default space from LARGE_ROWS training rows: the student wide enough to follow a boosted
# teacher on a loan book (a 16-unit student lost 0.09 AUC on SBA, a 64-32 one 0.012 and 3 % of
# the decisions), two temperatures, lighter pruning (50 % cost a 128-64 student 0.25 % of the
# decisions on SBA). A distillation takes about two minutes at this size, so the default budget
# buys one student and its candidates; a larger budget buys the second temperature.
LARGE_SPACE = SearchSpace(hidden=((128, 64),), temperature=(2.0, 1.0), sparsity=(0.0, 0.3, 0.5))
# Synthetic (mixup) rows per training row in a candidate's distillation: as many as the training
# rows on a small table; none from LARGE_ROWS, where the training split alone has hundreds of
# thousands of rows and a transfer set would double every epoch.
TRANSFER_SIZE, LARGE_TRANSFER_SIZE = 1.0, 0.0


def transfer_size_for(rows: int) -> float:
    """A candidate's transfer-set size for ``rows`` training rows (see :data:`TRANSFER_SIZE`)."""
    return LARGE_TRANSFER_SIZE if rows >= LARGE_ROWS else TRANSFER_SIZE


def candidate_recipe(hidden: tuple[int, ...], temperature: float, sparsity: float, bits: int,
                     gates: list[Gate], *, transfer_size: float = TRANSFER_SIZE) -> Recipe:
    """The recipe one search candidate stands for (``transfer_size`` 0: no transfer set)."""
    transfer = "mixup" if transfer_size > 0 else "none"
    steps = [Step(Distillation(temperature=temperature, hidden=hidden, transfer=transfer,
                               transfer_size=transfer_size))]
    if sparsity > 0:
        steps.append(Step(MagnitudePruning(sparsity=sparsity)))
    if bits == 16:
        steps.append(Step(Fp16Weights()))
    elif bits == 8:
        steps.append(Step(StaticInt8()))  # ONNX Runtime's fast int8 form; the timings judge it
    name = f"search: hidden {list(hidden)}, T {temperature:g}, sparsity {sparsity:g}, {bits}-bit"
    return Recipe(steps=steps, gates=list(gates), name=name)


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


def student_candidates(hidden: tuple[int, ...], temperature: float, order: list[tuple[float, int]], *,
                       prepared: Any, teacher: Any, gates: list[Gate], config: TrainConfig, fine_tune: TrainConfig,
                       common: dict[str, Any], deadline: float, timing: bool = True, keep_models: bool = False,
                       on_candidate: Any = None) -> tuple[list[dict[str, Any]], list[Any]]:
    """One distilled student and the candidates built on it, tails (sparsity, bits) in ``order``.

    The unit of work of the search, run in-process by the serial search and as one Ray task by
    ``engine="ray"``. Stops before the student, or before a tail, once ``time.time()`` passes
    ``deadline``. Returns the candidate records and, with ``keep_models``, the model of each
    candidate that passed (None for the others), so that they can be timed in one place.
    """
    candidates: list[dict[str, Any]] = []
    models: list[Any] = []
    if time.time() > deadline:
        return candidates, models
    transfer_size = transfer_size_for(len(prepared.x_train))
    first = candidate_recipe(hidden, temperature, 0.0, 32, gates, transfer_size=transfer_size)
    distilled = run_recipe(first, prepared, teacher, train=config, fine_tune=fine_tune, timing=timing, **common)
    record = distilled.records[0]
    for sparsity, bits in order:
        if time.time() > deadline:
            break
        recipe = candidate_recipe(hidden, temperature, sparsity, bits, gates, transfer_size=transfer_size)
        model = distilled.model
        if len(recipe.steps) == 1:
            records, kept = [record], record.status == "kept"
        elif record.status != "kept":
            records, kept = [record], False  # its student already fails a gate
        else:
            tail = Recipe(steps=recipe.steps[1:], gates=gates)
            run = run_recipe(tail, prepared, teacher, train=config, fine_tune=fine_tune, timing=timing,
                             start=distilled.model, start_distillation=recipe.steps[0].method, **common)
            records, kept = [record, *run.records], all(r.status == "kept" for r in run.records)
            model = run.model
        metrics = records[-1].metrics
        candidate = {"name": recipe.name, "recipe": recipe.to_dict(), "passed": kept,
                     "size_bytes": metrics["size_bytes"], "latency_p50_us": metrics.get("latency_p50_us"),
                     "rows_per_second": metrics.get("rows_per_second"), "timed": metrics.get("timed"),
                     "auc": metrics["auc"], "agreement": metrics["agreement"],
                     "failed": [g.message for r in records for g in r.failed_gates]}
        candidates.append(candidate)
        models.append(model if keep_models and kept else None)
        if on_candidate is not None:
            on_candidate(candidate)
    return candidates, models


@dataclass
class SearchResult:
    """Every candidate tried, the Pareto front of those that passed, the choice and its artifact run."""

    candidates: list[dict[str, Any]]
    front: list[dict[str, Any]]
    chosen: dict[str, Any] | None
    outcome: Any = None
    seconds: float = 0.0
    objective: str = "smallest"
    untried: int = 0
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """A table of the Pareto front and the choice, for the terminal."""
        passed = sum(c["passed"] for c in self.candidates)
        lines = [f"search: {len(self.candidates)} candidates in {self.seconds:.0f} s "
                 f"({self.untried} left untried), {passed} passed every gate; "
                 f"Pareto front (size, latency, validation AUC) of {len(self.front)}:",
                 f"{'candidate':<58}{'size':>10}{'p50 µs':>9}{'AUC':>8}"]
        for c in sorted(self.front, key=lambda c: c["size_bytes"]):
            mark = " <- chosen" if self.chosen is not None and c["name"] == self.chosen["name"] else ""
            latency = "-" if c["latency_p50_us"] is None else f"{c['latency_p50_us']:.1f}"  # not timed
            lines.append(f"{c['name'][8:]:<58}{c['size_bytes']:>10,}{latency:>9}{c['auc']:>8.4f}{mark}")
        if self.chosen is None:
            lines.append("no candidate passed every gate")
        return "\n".join(lines + self.notes)


def search_students(
    teacher: str | Path | Artifact,
    data: Any,
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
) -> SearchResult:
    """Explore candidates for ``budget_s`` seconds and save the chosen one (see the module doc).

    Candidates are tried in a seeded random order, grouped by distilled student, so a short
    budget still samples every region of the space a little.

    ``engine="ray"`` runs each distilled student and its candidates as one Ray task
    (:func:`finlite.distributed.search_on_ray`; ``address`` joins a cluster, default a local
    Ray): the same candidates with the same metrics as ``"serial"``, with the latency of the
    candidates that pass measured afterwards in this process, side by side. ``timing=False``
    measures no latency: the front is then over size and AUC only (and reproducible exactly).
    """
    if engine not in ("serial", "ray"):
        raise ConfigError(f"The search engine must be 'serial' or 'ray'; got {engine!r}.")
    if not timing and objective == "fastest":
        raise ConfigError("The 'fastest' objective needs timing; drop --no-timing or choose --objective smallest.")
    if engine == "ray":  # before any work: a missing Ray is a usage error, not a failure half-way
        from finlite.runtime.ray_engine import require_ray

        require_ray()
    from finlite.workflow import compress_with_recipe, default_training, prepare_like

    if objective not in ("smallest", "fastest"):
        raise ConfigError(f"The search objective must be 'smallest' or 'fastest'; got {objective!r}.")
    if not budget_s > 0:
        raise ConfigError(f"The search budget must be a positive number of seconds; got {budget_s!r}.")
    art = teacher if isinstance(teacher, Artifact) else load(teacher)
    if out is not None:  # before any work: --out is no input, and may be replaced
        from finlite._paths import check_output_dir

        check_output_dir(out, overwrite=overwrite, inputs={"teacher artifact": art.path, "data file": data})
    gates = list(gates) if gates else list(DEFAULT_GATES)
    seed = int(art.manifest["seed"]) if seed is None else seed
    prepared = prepare_like(art, data)
    # At bank size the narrow students cannot follow the teacher (see workflow.default_student).
    space = space or (LARGE_SPACE if len(prepared.x_train) >= LARGE_ROWS else SearchSpace())
    # Training settings follow the training rows (workflow.default_training), as in compress.
    sized, sized_tune = default_training(len(prepared.x_train), progress=progress, overrides=train_overrides)
    config = config or sized
    fine_tune = fine_tune or sized_tune
    base = distill_data(prepared, lambda x: teacher_logits(art.model, x),
                        train_logits=getattr(art.model, "oof_logits", None))
    rng = np.random.default_rng(seed)
    students = list(itertools.product(space.hidden, space.temperature))
    students = [students[i] for i in rng.permutation(len(students))]
    tails = list(itertools.product(space.sparsity, space.bits))
    # Each student's order of tails, drawn up front in the order the serial loop would draw them,
    # so every engine tries the same candidates in the same order.
    orders = [[tails[i] for i in rng.permutation(len(tails))] for _ in students]
    total = len(students) * len(tails)
    start = time.perf_counter()
    deadline = time.time() + budget_s  # wall clock: Ray workers compare against it too
    candidates: list[dict[str, Any]] = []
    bar = Progress("search", total, unit="candidate", enabled=progress)
    common = {"cutoff": art.cutoff, "seed": seed, "teacher_bytes": art.weights_bytes, "base": base}
    job = {"prepared": prepared, "teacher": art.model, "gates": gates, "config": config, "fine_tune": fine_tune,
           "common": common, "deadline": deadline}
    if engine == "ray":
        from finlite.distributed import search_on_ray

        candidates = search_on_ray(students, orders, job, timing=timing, address=address,
                                   on_candidates=lambda n: bar.update(n))
    else:
        def tried(candidate: dict[str, Any]) -> None:
            candidates.append(candidate)
            bar.update(1, metric=f"{sum(c['passed'] for c in candidates)} passed")

        for (hidden, temperature), order in zip(students, orders, strict=True):
            if time.time() > deadline:
                break
            student_candidates(hidden, temperature, order, **job, timing=timing, on_candidate=tried)
    bar.close()
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
                          untried=total - len(candidates))
    if chosen is not None:
        recipe = Recipe.from_dict(chosen["recipe"], "the chosen candidate")
        record = dump_json({"objective": objective, "budget_s": budget_s, "seconds": seconds, "chosen": chosen,
                            "front": front, "candidates": candidates})
        result.outcome = compress_with_recipe(art, data, recipe, seed=seed, config=config, fine_tune=fine_tune,
                                              out=out, overwrite=overwrite, progress=False,
                                              extra_files={"search.json": record})
    return result
