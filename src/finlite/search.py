"""Search: try many students within a time budget, keep the Pareto front of those that pass the gates.

A candidate is a recipe: distillation (student width and depth, temperature, with a mixup
transfer set as large as the training split), optional magnitude pruning (sparsity) and an
optional weight format (float32, fp16 or int8). Each
distilled student is trained once and shared by every candidate built on it, so the budget
buys many more candidates than full recipe runs would. Candidates are judged on the
validation split by the same gates as a recipe; among those that pass, the Pareto front of
(size on disk, batch-1 latency, AUC) is reported and the smallest (or fastest) is chosen.
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
from tqdm.auto import tqdm

from finlite._util import dump_json
from finlite.artifact import Artifact, load
from finlite.compress.distill import Distillation, distill_data, teacher_logits
from finlite.compress.prune import MagnitudePruning
from finlite.compress.quantize import DynamicInt8, Fp16Weights
from finlite.errors import ConfigError
from finlite.recipe import Gate, Recipe, Step, run_recipe
from finlite.training import TrainConfig

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


def candidate_recipe(hidden: tuple[int, ...], temperature: float, sparsity: float, bits: int,
                     gates: list[Gate]) -> Recipe:
    """The recipe one search candidate stands for."""
    steps = [Step(Distillation(temperature=temperature, hidden=hidden, transfer="mixup", transfer_size=1.0))]
    if sparsity > 0:
        steps.append(Step(MagnitudePruning(sparsity=sparsity)))
    if bits == 16:
        steps.append(Step(Fp16Weights()))
    elif bits == 8:
        steps.append(Step(DynamicInt8()))
    name = f"search: hidden {list(hidden)}, T {temperature:g}, sparsity {sparsity:g}, {bits}-bit"
    return Recipe(steps=steps, gates=list(gates), name=name)


def pareto_front(points: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Candidates not dominated in (smaller size_bytes, lower latency_p50_us, higher auc)."""
    def dominates(a: dict[str, Any], b: dict[str, Any]) -> bool:
        no_worse = (a["size_bytes"] <= b["size_bytes"] and a["latency_p50_us"] <= b["latency_p50_us"]
                    and a["auc"] >= b["auc"])
        better = (a["size_bytes"] < b["size_bytes"] or a["latency_p50_us"] < b["latency_p50_us"]
                  or a["auc"] > b["auc"])
        return no_worse and better
    return [p for p in points if not any(dominates(q, p) for q in points if q is not p)]


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
            lines.append(f"{c['name'][8:]:<58}{c['size_bytes']:>10,}{c['latency_p50_us']:>9.1f}{c['auc']:>8.4f}{mark}")
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
) -> SearchResult:
    """Explore candidates for ``budget_s`` seconds and save the chosen one (see the module doc).

    Candidates are tried in a seeded random order, grouped by distilled student, so a short
    budget still samples every region of the space a little.
    """
    from finlite.workflow import DISTILL_TRAINING, FINE_TUNING, compress_with_recipe, prepare_like

    if objective not in ("smallest", "fastest"):
        raise ConfigError(f"The search objective must be 'smallest' or 'fastest'; got {objective!r}.")
    if not budget_s > 0:
        raise ConfigError(f"The search budget must be a positive number of seconds; got {budget_s!r}.")
    art = teacher if isinstance(teacher, Artifact) else load(teacher)
    if out is not None:  # before any work: --out is no input, and may be replaced
        from finlite._paths import check_output_dir

        check_output_dir(out, overwrite=overwrite, inputs={"teacher artifact": art.path, "data file": data})
    gates = list(gates) if gates else list(DEFAULT_GATES)
    space = space or SearchSpace()
    seed = int(art.manifest["seed"]) if seed is None else seed
    config = config or DISTILL_TRAINING
    fine_tune = fine_tune or FINE_TUNING
    prepared = prepare_like(art, data)
    base = distill_data(prepared, lambda x: teacher_logits(art.model, x),
                        train_logits=getattr(art.model, "oof_logits", None))
    rng = np.random.default_rng(seed)
    students = list(itertools.product(space.hidden, space.temperature))
    students = [students[i] for i in rng.permutation(len(students))]
    tails = list(itertools.product(space.sparsity, space.bits))
    total = len(students) * len(tails)
    start = time.perf_counter()
    candidates: list[dict[str, Any]] = []
    bar = tqdm(total=total, desc="search", disable=not progress, unit="candidate")
    common = {"cutoff": art.cutoff, "seed": seed, "teacher_bytes": art.weights_bytes, "base": base}
    for hidden, temperature in students:
        if time.perf_counter() - start > budget_s:
            break
        first = candidate_recipe(hidden, temperature, 0.0, 32, gates)
        distilled = run_recipe(first, prepared, art.model, train=config, fine_tune=fine_tune, timing=True, **common)
        record = distilled.records[0]
        for sparsity, bits in [tails[i] for i in rng.permutation(len(tails))]:
            if time.perf_counter() - start > budget_s:
                break
            recipe = candidate_recipe(hidden, temperature, sparsity, bits, gates)
            if len(recipe.steps) == 1:
                records, kept = [record], record.status == "kept"
            elif record.status != "kept":
                records, kept = [record], False  # its student already fails a gate
            else:
                tail = Recipe(steps=recipe.steps[1:], gates=gates)
                run = run_recipe(tail, prepared, art.model, train=config, fine_tune=fine_tune, timing=True,
                                 start=distilled.model, start_distillation=recipe.steps[0].method, **common)
                records, kept = [record, *run.records], all(r.status == "kept" for r in run.records)
            metrics = records[-1].metrics
            candidates.append({"name": recipe.name, "recipe": recipe.to_dict(), "passed": kept,
                               "size_bytes": metrics["size_bytes"], "latency_p50_us": metrics["latency_p50_us"],
                               "auc": metrics["auc"], "agreement": metrics["agreement"],
                               "failed": [g.message for r in records for g in r.failed_gates]})
            bar.update(1)
            bar.set_postfix(passed=sum(c["passed"] for c in candidates))
    bar.close()
    seconds = time.perf_counter() - start
    passing = [c for c in candidates if c["passed"]]
    front = pareto_front(passing)
    key = "size_bytes" if objective == "smallest" else "latency_p50_us"
    chosen = min(front, key=lambda c: (c[key], -c["auc"])) if front else None
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
