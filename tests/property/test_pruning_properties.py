"""Properties of magnitude pruning that must hold for any model shape and any target."""

from __future__ import annotations

import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from finlite.errors import ConfigError
from finlite.methods import MagnitudePruning, PruningPlan, apply_plan, plan_pruning
from finlite.models import TabularMLP

shapes = st.tuples(st.integers(2, 12), st.lists(st.integers(1, 12), min_size=1, max_size=3))
fractions = st.floats(0.0, 0.95, allow_nan=False)


def _plan_or_none(model: TabularMLP, method: MagnitudePruning) -> PruningPlan | None:
    """The plan, or None where it would cut every path from the inputs to the output (a tiny
    network at a high sparsity), which planning refuses by name (tests/methods/test_prune.py
    checks the refusal on a plan cut by hand)."""
    try:
        return plan_pruning(model, method)
    except ConfigError as exc:
        assert "leaves no path from the inputs to the output" in str(exc)
        return None


def _model(in_features: int, hidden: list[int], seed: int) -> TabularMLP:
    torch.manual_seed(seed)
    return TabularMLP(in_features, hidden, dropout=0.0).eval()


@settings(max_examples=60, deadline=None)
@given(shape=shapes, sparsity=st.floats(0.0, 0.999), scope=st.sampled_from(["layer", "global"]),
       seed=st.integers(0, 999))
def test_unstructured_sparsity_equals_plan(shape: tuple[int, list[int]], sparsity: float, scope: str, seed: int) -> None:
    model = _model(shape[0], shape[1], seed)
    plan = _plan_or_none(model, MagnitudePruning(sparsity=sparsity, scope=scope))
    assume(plan is not None)
    assert plan is not None
    total = sum(layer.total for layer in plan.layers)
    # Every layer keeps at least one weight: one without any outputs a constant (a sparsity of 0.97
    # emptied a 1x16 output layer, and the model scored every row alike).
    assert all(layer.kept >= 1 for layer in plan.layers)
    if scope == "global":
        assert sum(len(layer.pruned) for layer in plan.layers) == min(round(sparsity * total), total - len(plan.layers))
    else:
        assert all(len(layer.pruned) == min(round(sparsity * layer.total), layer.total - 1) for layer in plan.layers)
    result = apply_plan(model, plan)
    layers = dict(result.model.linear_layers())
    for layer_plan in plan.layers:
        zero = (layers[layer_plan.name].weight.flatten() == 0).nonzero().flatten().tolist()
        assert zero == layer_plan.pruned  # exactly the planned weights, no more, no fewer
    # The input model is untouched.
    assert all(torch.count_nonzero(m.weight) == m.weight.numel() for _, m in model.linear_layers())


@settings(max_examples=40, deadline=None)
@given(shape=shapes, sparsity=fractions, scope=st.sampled_from(["layer", "global"]),
       norm=st.sampled_from(["l1", "l2"]), seed=st.integers(0, 999))
def test_structured_plan_gives_planned_widths(shape: tuple[int, list[int]], sparsity: float, scope: str,
                                              norm: str, seed: int) -> None:
    model = _model(shape[0], shape[1], seed)
    plan = plan_pruning(model, MagnitudePruning(sparsity=sparsity, granularity="neuron", norm=norm, scope=scope))
    pruned = apply_plan(model, plan).model
    assert list(pruned.hidden) == [layer.kept for layer in plan.layers]
    assert all(w >= 1 for w in pruned.hidden)
    widths = [shape[0], *pruned.hidden, 1]
    for (_, layer), n_in, n_out in zip(pruned.linear_layers(), widths[:-1], widths[1:], strict=True):
        assert tuple(layer.weight.shape) == (n_out, n_in)


@settings(max_examples=40, deadline=None)
@given(shape=shapes, sparsity=fractions, seed=st.integers(0, 999))
def test_structured_outputs_equal_masked_model(shape: tuple[int, list[int]], sparsity: float, seed: int) -> None:
    """Removing neurons gives the same outputs as zeroing their incoming weights and biases."""
    model = _model(shape[0], shape[1], seed)
    plan = plan_pruning(model, MagnitudePruning(sparsity=sparsity, granularity="neuron"))
    pruned = apply_plan(model, plan).model
    masked = _model(shape[0], shape[1], seed)
    layers = dict(masked.linear_layers())
    with torch.no_grad():
        for layer_plan in plan.layers:
            idx = torch.tensor(layer_plan.pruned, dtype=torch.long)
            layers[layer_plan.name].weight[idx] = 0
            layers[layer_plan.name].bias[idx] = 0
    x = torch.randn(16, shape[0], generator=torch.Generator().manual_seed(seed))
    torch.testing.assert_close(pruned(x), masked(x), rtol=1e-5, atol=1e-6)


@settings(max_examples=25, deadline=None)
@given(shape=shapes, sparsity=fractions, unit=st.sampled_from(["weight", "neuron"]), seed=st.integers(0, 999))
def test_plan_json_round_trip(shape: tuple[int, list[int]], sparsity: float, unit: str, seed: int) -> None:
    model = _model(shape[0], shape[1], seed)
    plan = _plan_or_none(model, MagnitudePruning(sparsity=sparsity, granularity=unit))
    assume(plan is not None)
    assert plan is not None
    again = PruningPlan.from_dict(plan.to_dict())
    assert again.to_dict() == plan.to_dict()
    assert again.sparsity() == plan.sparsity()
