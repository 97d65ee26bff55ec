"""Every registered method runs inside a recipe on German credit and keeps its promise."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors import safe_open

import finlite
from finlite.jobs.compress import compress_with_recipe
from finlite.methods import registered_methods
from finlite.models.serialize import WEIGHTS
from finlite.recipe.spec import Recipe
from tests.conftest import FAST

STUDENT = "{method: distillation, hidden: [16]}"
LOGISTIC = "{method: distillation, student: logistic}"

# method -> (steps before it, the step itself as YAML flow, what it must show)
CASES = {
    "distillation": ("", "{method: distillation, hidden: [8], transfer: mixup, transfer_size: 1}", "smaller"),
    "regression_distillation": ("", "{method: regression_distillation, loss: huber, hidden: [8]}", "smaller"),
    "hint_distillation": ("", "{method: hint_distillation, beta: 0.5, hidden: [16]}", "smaller"),
    "magnitude_pruning": (STUDENT, "{method: magnitude_pruning, sparsity: 0.6}", "fewer_nonzeros"),
    "taylor_pruning": (STUDENT, "{method: taylor_pruning, sparsity: 0.6, batches: 4}", "fewer_nonzeros"),
    "gradual_pruning": (STUDENT, "{method: gradual_pruning, sparsity: 0.7, steps: 2}", "fewer_nonzeros"),
    "regularized_pruning": (STUDENT, "{method: regularized_pruning, penalty: group_lasso, strength: 1.0}",
                            "fewer_neurons"),
    "low_rank": ("{method: distillation, hidden: [32]}", "{method: low_rank, rank: 4}", "factorised"),
    "dynamic_int8": (STUDENT, "{method: dynamic_int8}", "int8"),
    "static_int8": (STUDENT, "{method: static_int8, calibration: entropy}", "int8"),
    "qat": (STUDENT, "{method: qat}", "int8"),
    "fp16": (STUDENT, "{method: fp16}", "float16"),
    "integer_weights": (LOGISTIC, "{method: integer_weights, bits: 6, sparsity: 0.2}", "int8"),
    "scorecard": (LOGISTIC, "{method: scorecard, bins: 5}", "int32"),
}


def test_every_registered_method_has_a_case() -> None:
    assert sorted(CASES) == registered_methods()


def _dtypes(path: Path) -> set[torch.dtype]:
    with safe_open(str(path / WEIGHTS), framework="pt") as fh:
        keys = fh.keys()  # a safetensors handle is not iterable
        return {fh.get_tensor(k).dtype for k in keys if not k.endswith("::mask")}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(CASES))
def test_method_keeps_its_promise(name: str, teacher_dir: Path, german_csv: Path, tmp_path: Path) -> None:
    before, step, promise = CASES[name]
    steps = [s for s in (before, step) if s]
    text = "steps:\n" + "".join(f"  - {s}\n" for s in steps) + "gates:\n  auc: {max_drop: 0.2}\n"
    recipe = Recipe.from_yaml(text, f"{name}.yaml")
    outcome = compress_with_recipe(teacher_dir, german_csv, recipe, config=FAST, fine_tune=FAST, timing=False,
                                   out=tmp_path / name, progress=False)
    assert [r.status for r in outcome.result.records] == ["kept"] * len(steps), outcome.result.records
    art = finlite.load(outcome.path)  # loads, hashes verified
    teacher = finlite.load(teacher_dir)
    final = outcome.result.records[-1].info
    if promise == "smaller":
        assert art.weights_bytes * 4 < teacher.weights_bytes  # the session teacher is a small 64-32 MLP
    elif promise == "fewer_nonzeros":
        previous = outcome.result.records[0].metrics
        assert outcome.report["student"]["nonzero_parameters"] < 0.6 * outcome.report["student"]["parameters"]
        assert art.weights_bytes < previous["size_bytes"]
    elif promise == "fewer_neurons":
        assert art.manifest["model"]["hidden"][0] < 16
        assert final["removed_share"] > 0
    elif promise == "factorised":
        assert art.manifest["model"]["ranks"][0] == 4
        assert outcome.report["student"]["parameters"] < outcome.result.records[0].metrics["size_bytes"] / 4
    elif promise == "int8":
        assert torch.int8 in _dtypes(art.path)
        assert art.manifest["model"]["kind"] in ("mlp_int8", "logistic_int")
    elif promise == "float16":
        assert _dtypes(art.path) == {torch.float16}
    elif promise == "int32":
        assert torch.int32 in _dtypes(art.path)
        assert (art.path / "scorecard.json").is_file()
        assert set(final["test"]) == {"flips_from_rounding", "flips_from_binning", "flips_vs_logistic", "rows"}
    # The artifact scores raw rows the same way the runner evaluated it.
    assert art.metrics["test"]["auc"] == pytest.approx(outcome.report["student"]["auc"])
