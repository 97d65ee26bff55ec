"""Pruning configs, plans on disk, edited plans, and the errors a user can hit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from finlite.errors import ConfigError
from finlite.methods import MagnitudePruning, PruningPlan, apply_plan, plan_pruning, prune
from finlite.methods.registry import method_from_dict, method_to_dict
from finlite.models import LogisticRegression, TabularMLP


def _mlp() -> TabularMLP:
    torch.manual_seed(0)
    return TabularMLP(6, (8, 4), dropout=0.0).eval()


def test_l1_scores_are_absolute_weights() -> None:
    model = _mlp()
    plan = plan_pruning(model, MagnitudePruning(sparsity=0.25))
    w = model.layers[0].weight.detach().abs().flatten()
    assert plan.layers[0].scores == pytest.approx(w.tolist())
    # The pruned weights are the smallest ones.
    kept = [i for i in range(w.numel()) if i not in plan.layers[0].pruned]
    assert max(w[plan.layers[0].pruned]) <= min(w[kept])


def test_neuron_scores_use_the_chosen_norm() -> None:
    model = _mlp()
    w = model.layers[0].weight.detach()
    l1 = plan_pruning(model, MagnitudePruning(granularity="neuron", norm="l1")).layers[0].scores
    l2 = plan_pruning(model, MagnitudePruning(granularity="neuron", norm="l2")).layers[0].scores
    assert l1 == pytest.approx(w.abs().sum(1).tolist())
    assert l2 == pytest.approx(w.norm(dim=1).tolist())


def test_structured_pruning_really_shrinks() -> None:
    model = _mlp()
    result = prune(model, MagnitudePruning(sparsity=0.5, granularity="neuron"))
    assert result.model.hidden == (4, 2)
    assert sum(p.numel() for p in result.model.parameters()) < sum(p.numel() for p in model.parameters())
    assert result.masks == {}


def test_layer_sparsity_overrides_and_unknown_layer() -> None:
    model = _mlp()
    plan = plan_pruning(model, MagnitudePruning(sparsity=0.0, layer_sparsity={"layers.1": 0.5}))
    assert [len(layer.pruned) for layer in plan.layers] == [0, 16, 0]
    with pytest.raises(ConfigError, match=r"layer_sparsity names layer 'layers.9'.*Did you mean 'layers.2'.*Prunable layers: layers.0, layers.1, layers.2"):
        plan_pruning(model, MagnitudePruning(layer_sparsity={"layers.9": 0.5}))


def test_config_validation_messages() -> None:
    with pytest.raises(ConfigError, match=r"The 'sparsity' parameter of MagnitudePruning must be a number in \[0, 1\)\. Got 1\.2 instead"):
        MagnitudePruning(sparsity=1.2)
    with pytest.raises(ConfigError, match=r"'granularity' parameter.*'weight' or 'neuron'.*Got 'channel'"):
        MagnitudePruning(granularity="channel")
    with pytest.raises(ConfigError, match="needs scope='layer'"):
        MagnitudePruning(scope="global", layer_sparsity={"layers.0": 0.5})
    with pytest.raises(ConfigError, match="needs a model with hidden layers"):
        plan_pruning(LogisticRegression(4), MagnitudePruning(granularity="neuron"))
    # Bounded work: 'batches: 1000000' ran for over 10 minutes on 600 rows (a review, 2026-12-03).
    from finlite.methods import TaylorPruning

    with pytest.raises(ConfigError, match=r"'batches' parameter of TaylorPruning must be a whole number from 1 to "
                                          r"1,000\. Got 1000000"):
        TaylorPruning(batches=1_000_000)
    with pytest.raises(ConfigError, match=r"'batch_size' parameter of TaylorPruning must be a whole number from 1 "
                                          r"to 65,536"):
        TaylorPruning(batch_size=65_537)
    assert TaylorPruning(batches=1_000, batch_size=65_536).batches == 1_000


def test_config_round_trips_through_registry() -> None:
    config = MagnitudePruning(sparsity=0.3, granularity="neuron", norm="l1")
    data = method_to_dict(config)
    assert data["method"] == "magnitude_pruning"
    assert method_from_dict(json.loads(json.dumps(data))) == config
    with pytest.raises(ConfigError, match=r"Unknown method 'magnitude_prunning'.*Did you mean 'magnitude_pruning'"):
        method_from_dict({"method": "magnitude_prunning"})
    with pytest.raises(ConfigError, match=r"Unknown parameter 'sparsty'.*Did you mean 'sparsity'"):
        method_from_dict({"method": "magnitude_pruning", "sparsty": 0.5})


def test_saved_plan_can_be_edited_and_applied(tmp_path: Path) -> None:
    model = _mlp()
    plan = plan_pruning(model, MagnitudePruning(sparsity=0.5, granularity="neuron"))
    plan.save(tmp_path / "plan.json")
    data = json.loads((tmp_path / "plan.json").read_text())
    assert data["layers"][0]["pruned_count"] == 4 and data["layers"][0]["kept"] == 4
    # A reviewer keeps neuron 0 of the first layer whatever its score.
    first = data["layers"][0]
    first["pruned"] = [i for i in first["pruned"] if i != 0][:3]
    first["pruned_count"] = len(first["pruned"])
    # Saved as Notepad saves UTF-8, with a byte order mark: refused with "fix the edited value"
    # before (a review, 2026-12-04).
    (tmp_path / "plan.json").write_text(json.dumps(data), encoding="utf-8-sig")
    edited = PruningPlan.load(tmp_path / "plan.json")
    assert apply_plan(model, edited).model.hidden == (5, 2)
    assert "layers.0" in edited.summary()


@pytest.mark.parametrize(("field", "value", "message"), [
    ("shape", [16], r"shape must be \[rows, columns\] of a weight matrix; got \[16\]"),
    ("shape", [], r"shape must be \[rows, columns\]"),
    ("shape", [8, 0], r"shape must be \[rows, columns\]"),
    ("pruned", [[1]], r"'pruned' must be a list of whole-number indices; got \[\[1\]\]"),
    ("pruned", [{}], r"'pruned' must be a list of whole-number indices"),
    ("pruned", [1.5], r"'pruned' must be a list of whole-number indices"),
])
def test_a_plan_of_the_wrong_shape_is_a_config_error_not_a_traceback(field: str, value: object, message: str) -> None:
    # IndexError (shape[1]) and TypeError (set() of unhashable indices) from load, inspect, compress --plan.
    data = plan_pruning(_mlp(), MagnitudePruning(sparsity=0.5)).to_dict()
    data["layers"][0][field] = value
    data["layers"][0].pop("pruned_count")
    with pytest.raises(ConfigError, match=message):
        PruningPlan.from_dict(data)


def test_inconsistent_or_mismatched_plans(tmp_path: Path) -> None:
    model = _mlp()
    data = plan_pruning(model, MagnitudePruning(sparsity=0.5)).to_dict()
    data["layers"][0]["pruned_count"] += 1
    with pytest.raises(ConfigError, match=r"layer 0 \(layers.0\): 'pruned_count' says 25 but 'pruned' lists 24"):
        PruningPlan.from_dict(data)
    data["layers"][0]["pruned_count"] -= 1
    data["layers"][0]["pruned"].append(10_000)
    data["layers"][0]["pruned_count"] += 1
    with pytest.raises(ConfigError, match=r"pruned index 10000 is outside 0\.\.47"):
        PruningPlan.from_dict(data)
    other = TabularMLP(6, (5, 4), dropout=0.0)
    plan = plan_pruning(model, MagnitudePruning(sparsity=0.5))
    with pytest.raises(ConfigError, match=r"layer 'layers.0' of shape \[8, 6\].*has shape \[5, 6\]"):
        apply_plan(other, plan)
    neuron = plan_pruning(model, MagnitudePruning(sparsity=0.5, granularity="neuron")).to_dict()
    neuron["layers"][1]["pruned"] = [0, 1, 2, 3]
    neuron["layers"][1]["pruned_count"] = 4
    with pytest.raises(ConfigError, match="removes all 4 neurons"):
        PruningPlan.from_dict(neuron)
    # A hand-edited plan that empties a layer of weights, or cuts every path from the inputs to the
    # output, is refused when applied (the model would score every row alike); an artifact's recorded
    # plan still reads (its model was served as it is).
    weights = plan_pruning(model, MagnitudePruning(sparsity=0.5)).to_dict()
    weights["layers"][-1]["pruned"] = list(range(weights["layers"][-1]["total"]))
    weights["layers"][-1]["pruned_count"] = weights["layers"][-1]["total"]
    with pytest.raises(ConfigError, match=r"removes all 4 weights of layer 'layers.2', so the model would give every row "
                                          "the same score"):
        apply_plan(model, PruningPlan.from_dict(weights))
    cut = plan_pruning(model, MagnitudePruning(sparsity=0.5)).to_dict()
    rows, columns = cut["layers"][1]["shape"]
    # The second layer keeps only weights that read the first input neuron; the first layer keeps none into it.
    cut["layers"][0]["pruned"] = list(range(cut["layers"][0]["shape"][1]))
    cut["layers"][1]["pruned"] = [r * columns + c for r in range(rows) for c in range(1, columns)]
    for layer in cut["layers"][:2]:
        layer["pruned_count"] = len(layer["pruned"])
    with pytest.raises(ConfigError, match=r"leaves no path from the inputs to the output: from layer 'layers.1' on"):
        apply_plan(model, PruningPlan.from_dict(cut))
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ConfigError, match=r"Cannot read pruning plan .*bad\.json"):
        PruningPlan.load(tmp_path / "bad.json")


def test_the_applied_plan_names_the_model_it_was_applied_to() -> None:
    """A plan file's "model" block was copied into the new artifact's pruning_plan.json as it
    came ({"hidden": [10**9]}: a review, 2026-12-04); the layers' shapes are what is checked."""
    model = _mlp()
    data = plan_pruning(model, MagnitudePruning(sparsity=0.5)).to_dict()
    data["model"] = {**data["model"], "hidden": [10**9]}
    result = apply_plan(model, PruningPlan.from_dict(json.loads(json.dumps(data))))
    assert result.plan.model == model.config() and result.plan.to_dict()["model"]["hidden"] != [10**9]
