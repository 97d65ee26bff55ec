"""The search strategy: its space is checked, its front keeps what nothing dominates, its candidates
train with the run's seed, and it composes no jobs (the search job does: finlite.jobs.search)."""

from __future__ import annotations

import ast
import time
from dataclasses import replace
from pathlib import Path

import pytest

import finlite.recipe
from finlite.errors import ConfigError
from finlite.models.mlp import TabularMLP
from finlite.recipe.gates import GateResult
from finlite.recipe.search import SearchSpace, pareto_front, student_candidates
from finlite.training.loop import TrainConfig


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"sparsity": ()}, r"dimension 'sparsity' of SearchSpace is empty"),
    ({"bits": (4,)}, r"bits must be 32, 16 or 8 .* got 4"),
    ({"hidden": ((8, 0),)}, r"'hidden' parameter of SearchSpace .* got \(8, 0\)"),
    ({"temperature": (float("nan"),)}, r"'temperature' parameter of SearchSpace.* got nan"),
    ({"sparsity": (1.0,)}, r"'sparsity' parameter of SearchSpace.* got 1\.0"),
])
def test_search_space_checks_every_dimension(kwargs: dict[str, tuple[object, ...]], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        SearchSpace(**kwargs)  # type: ignore[arg-type]


def test_pareto_front_drops_dominated_candidates() -> None:
    points = [{"size_bytes": 10, "latency_p50_us": 5, "auc": 0.8}, {"size_bytes": 20, "latency_p50_us": 6, "auc": 0.79},
              {"size_bytes": 30, "latency_p50_us": 2, "auc": 0.8}, {"size_bytes": 10, "latency_p50_us": 5, "auc": 0.81}]
    assert pareto_front(points) == [points[2], points[3]]


def test_candidates_refuse_training_seeded_otherwise_than_the_run() -> None:
    # The search once trained its candidates with seed-0 configs and saved a seed-3 rebuild: refused now.
    config = TrainConfig(epochs=1, progress=False)
    with pytest.raises(ConfigError, match=r"config training settings are seeded 0 but the run is seeded 3.*"
                                          r"replace\(config, seed=3\)"):
        student_candidates((8,), 2.0, [(0.0, 32)], prepared=None, teacher=TabularMLP(3, (4,)),  # type: ignore[arg-type]
                           gates=[], config=config, fine_tune=replace(config, seed=3), common={"seed": 3},
                           deadline=time.time() + 60)


def test_a_failed_candidate_shows_the_model_that_failed(monkeypatch: pytest.MonkeyPatch) -> None:
    """Its pruning rolled back, a candidate showed the int8 step's numbers, which were those of the
    unpruned student quantized: not the candidate, and the failure hidden (a review, 2026-12-03)."""
    import numpy as np

    import finlite.recipe.search as strategy
    from finlite.recipe.runner import RecipeResult, StepRecord

    def step(index: int, method: str, status: str, size: int, auc: float) -> StepRecord:
        gates = [GateResult("auc", "min", 0.8, auc, auc >= 0.8)]
        metrics = {"size_bytes": size, "auc": auc, "agreement": 0.99, "latency_p50_us": None}
        return StepRecord(index=index, method={"method": method}, status=status, gates=gates, metrics=metrics,
                          info={}, seconds=0.0)

    runs = iter([RecipeResult(model=TabularMLP(3, (8,)), records=[step(0, "distillation", "kept", 900, 0.9)],
                              plan=None),
                 RecipeResult(model=TabularMLP(3, (8,)), records=[step(0, "magnitude_pruning", "rolled_back", 300, 0.7),
                                                                  step(1, "int8", "kept", 400, 0.89)],
                              plan=None)])
    monkeypatch.setattr(strategy, "run_recipe", lambda *args, **kwargs: next(runs))
    config = TrainConfig(epochs=1, progress=False, seed=3)
    prepared = type("Prepared", (), {"x_train": np.zeros((100, 3), dtype=np.float32)})()
    found, _ = student_candidates((8,), 2.0, [(0.5, 8)], prepared=prepared, teacher=TabularMLP(3, (4,)),  # type: ignore[arg-type]
                                  gates=[], config=config, fine_tune=config, common={"seed": 3},
                                  deadline=time.time() + 60)
    (candidate,) = found
    assert not candidate["passed"]
    assert (candidate["size_bytes"], candidate["auc"]) == (300, 0.7)  # the pruned model, not the int8 one
    assert candidate["failed"] == ["magnitude_pruning: auc 0.7 < min 0.8 (by 0.1)"]


def test_the_recipe_package_composes_no_jobs_and_loads_no_artifacts() -> None:
    # Jobs compose the boxes; the recipe package (spec, gates, runner, search strategy, presets) sits below them.
    package = Path(finlite.recipe.__file__).parent
    found = []
    for source in sorted(package.glob("*.py")):
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            found += [(source.name, n) for n in names
                      if n.startswith(("finlite.jobs", "finlite.artifact", "finlite.cli"))]
    assert len(list(package.glob("*.py"))) >= 5 and found == []
