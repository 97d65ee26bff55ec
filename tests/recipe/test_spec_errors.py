"""The recipe loader points at the line of a bad value from the error's ``param``, not by reading
its message; the error it raises carries no ``param`` (the fix is in the file, not a flag)."""

from __future__ import annotations

from pathlib import Path

import pytest

from finlite.errors import ConfigError
from finlite.methods.registry import method_from_dict
from finlite.recipe.spec import Recipe

RECIPE = """\
name: lines
steps:
  - {method: distillation, temperature: 2.0}
  - method: magnitude_pruning
    granularity: weight
    sparsity: 1.5
gates:
  auc: {max_drop: 0.01}
"""


def test_a_bad_value_names_its_own_line(tmp_path: Path) -> None:
    path = tmp_path / "r.yaml"
    path.write_text(RECIPE)
    with pytest.raises(ConfigError) as info:
        Recipe.load(path)
    message = str(info.value)
    assert message.startswith(f"{path}, line 6 (steps[1].sparsity): The 'sparsity' parameter of MagnitudePruning "
                              "must be a number in [0, 1). Got 1.5 instead.")
    assert info.value.param is None


@pytest.mark.parametrize(("step", "line", "key"), [
    ("  - {method: distillation,\n     alpha: 1.5}\n", 3, "alpha"),
    ("  - method: distillation\n    hidden: [0]\n", 3, "hidden"),
    ("  - method: magnitude_pruning\n    scope: global\n    layer_sparsity: {fc1: 0.5}\n", 4, "layer_sparsity"),
    ("  - method: distillation\n    train:\n      epochs: 0\n", 4, "train.epochs"),
])
def test_each_kind_of_bad_value_finds_its_line(step: str, line: int, key: str) -> None:
    with pytest.raises(ConfigError, match=rf"^r\.yaml, line {line} \(steps\[0\]\.{key}\): "):
        Recipe.from_yaml("steps:\n" + step, "r.yaml")


def test_the_registry_passes_the_parameter_on() -> None:
    with pytest.raises(ConfigError, match=r"^step 1: The 'sparsity' parameter") as info:
        method_from_dict({"method": "magnitude_pruning", "sparsity": 1.5}, "step 1")
    assert info.value.param == "sparsity"
    with pytest.raises(ConfigError, match="Unknown parameter 'sparsty'") as info:
        method_from_dict({"method": "magnitude_pruning", "sparsty": 0.5}, "step 1")
    assert info.value.param == "sparsty"

