"""A method defined in a test (one config, one handler, one registry line) runs from a YAML recipe
with no other change, and leaves the registry as it found it."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

import finlite
from finlite.data import prepare
from finlite.errors import ConfigError
from finlite.methods import MethodConfig, StepContext, StepState, registered_methods, temporary_method
from finlite.models import TabularMLP
from finlite.recipe.runner import run_recipe
from finlite.recipe.spec import Recipe
from finlite.training.loop import TrainConfig
from tests.conftest import FAST, make_loans

TINY = TrainConfig(epochs=3, patience=3, progress=False)


@dataclass(frozen=True, kw_only=True)
class ScaleWeights(MethodConfig):
    """Multiply the output layer's weights and bias by ``factor``: every logit scales by it."""

    factor: float = 0.5

    def __post_init__(self) -> None:
        if not self.factor > 0:
            raise ConfigError(f"The 'factor' parameter of ScaleWeights must be a positive number. Got {self.factor!r} "
                              "instead.")


def scale_weights(method: ScaleWeights, state: StepState, ctx: StepContext,
                  train: Mapping[str, Any]) -> tuple[StepState, dict[str, Any]]:
    model = copy.deepcopy(state.need_model(method))
    name, last = model.linear_layers()[-1]
    with torch.no_grad():
        last.weight.mul_(method.factor)
        last.bias.mul_(method.factor)
    return StepState(model, dict(state.masks), state.plan, dict(state.extra_files)), {"scaled": name}


DISTIL = "  - {method: distillation, hidden: [8]}\n"
TOY = "  - {method: scale_weights, factor: 0.25}\n"
GATES = "gates:\n  auc: {max_drop: 0.5}\n"


def _run(text: str) -> Any:
    prepared = prepare(make_loans(300), target="defaulted")
    torch.manual_seed(0)
    teacher = TabularMLP(prepared.x_train.shape[1], (16,), dropout=0.0).eval()
    result = run_recipe(Recipe.from_yaml(text, "toy.yaml"), prepared, teacher, cutoff=0.5, seed=4, train=TINY,
                        fine_tune=TINY, teacher_bytes=10_000)
    return prepared, result


def test_a_toy_method_runs_from_a_yaml_recipe() -> None:
    with temporary_method("scale_weights", ScaleWeights, scale_weights):
        assert "scale_weights" in registered_methods()
        prepared, result = _run("steps:\n" + DISTIL + TOY + GATES)
        recipe = Recipe.from_yaml("steps:\n" + DISTIL + TOY, "toy.yaml")
        assert recipe.steps[1].method == ScaleWeights(factor=0.25)
        assert Recipe.from_yaml(recipe.to_yaml(), "again.yaml") == recipe
    _, distilled = _run("steps:\n" + DISTIL + GATES)  # the same seed: the same student
    assert [r.status for r in result.records] == ["kept", "kept"]
    assert result.records[1].info == {"scaled": "layers.1"}
    assert result.records[1].method == {"method": "scale_weights", "format": 1, "factor": 0.25}
    x = torch.from_numpy(prepared.x_test)
    with torch.inference_mode():
        np.testing.assert_allclose(result.model(x).numpy(), 0.25 * distilled.model(x).numpy(), rtol=1e-5, atol=1e-6)
    # Scaling every logit keeps the ranking: the gate saw the same AUC as for the student alone.
    assert result.records[1].metrics["auc"] == pytest.approx(distilled.records[0].metrics["auc"])
    # Gone with the block: the name is unknown again and nothing else changed.
    assert "scale_weights" not in registered_methods() and ScaleWeights.method == ""
    with pytest.raises(ConfigError, match=r"Unknown method 'scale_weights' in toy\.yaml, line 3"):
        Recipe.from_yaml("steps:\n" + DISTIL + TOY, "toy.yaml")


def test_a_toy_method_checks_its_parameters_at_its_line() -> None:
    bad = "steps:\n" + DISTIL + "  - {method: scale_weights, factor: -1}\n"
    message = r"toy\.yaml, line 3 .*'factor' parameter of ScaleWeights must be a positive number\. Got -1"
    with temporary_method("scale_weights", ScaleWeights, scale_weights), pytest.raises(ConfigError, match=message):
        Recipe.from_yaml(bad, "toy.yaml")


@pytest.mark.slow
def test_a_toy_method_runs_through_the_compress_job(teacher_dir: Path, german_csv: Path, tmp_path: Path) -> None:
    with temporary_method("scale_weights", ScaleWeights, scale_weights):
        recipe = Recipe.from_yaml("steps:\n  - {method: distillation, hidden: [16]}\n" + TOY + GATES, "toy.yaml")
        outcome = finlite.compress_with_recipe(teacher_dir, german_csv, recipe, config=FAST, fine_tune=FAST,
                                               timing=False, out=tmp_path / "toy", progress=False)
    assert [r.status for r in outcome.result.records] == ["kept", "kept"]
    art = finlite.load(outcome.path)  # loads, hashes verified
    steps = art.manifest["steps"]
    assert [step["method"] for step in steps] == ["distillation", "scale_weights"]
    assert steps[1]["factor"] == 0.25 and steps[1]["info"] == {"scaled": "layers.1"}
    assert "method: scale_weights" in (art.path / "recipe.yaml").read_text()
