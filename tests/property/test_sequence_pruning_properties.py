"""Unit pruning of window forecasters, for any widths and any plan: the planned widths exactly,
and the pruned model computes what the original computes with the removed units silenced."""

from __future__ import annotations

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from finlite.methods import MagnitudePruning, apply_plan, plan_pruning
from finlite.models import SequenceModel, TemporalConvNet
from finlite.models.sequence import rnn_layers, rnn_weights
from finlite.models.temporal import conv_layers

widths = st.lists(st.integers(1, 10), min_size=1, max_size=3)
fractions = st.floats(0.0, 0.95, allow_nan=False)


def _silenced(model: SequenceModel | TemporalConvNet, pruned: list[list[int]]) -> torch.nn.Module:
    """A copy of ``model`` where each removed unit feeds nothing (its outgoing weights zero)."""
    if isinstance(model, SequenceModel):
        copy = SequenceModel(model.cell, model.in_features, model.hidden, model.task)
        copy.load_state_dict(model.state_dict())
        layers = rnn_layers(copy.rnn)
        with torch.no_grad():
            for i, gone in enumerate(pruned):
                rnn_weights(layers[i])[1][:, gone] = 0.0  # the recurrent columns
                target = rnn_weights(layers[i + 1])[0] if i + 1 < len(layers) else copy.head.weight
                target[:, gone] = 0.0
        return copy.eval()
    tcn = TemporalConvNet(model.in_features, model.channels, model.kernel_size, model.task)
    tcn.load_state_dict(model.state_dict())
    with torch.no_grad():
        for conv, gone in zip(conv_layers(tcn), pruned, strict=True):
            conv.weight[gone] = 0.0
            if conv.bias is not None:
                conv.bias[gone] = 0.0
    return tcn.eval()


@settings(max_examples=20, deadline=None)
@given(kind=st.sampled_from(["lstm", "gru", "tcn"]), hidden=widths, sparsity=fractions,
       scope=st.sampled_from(["layer", "global"]), seed=st.integers(0, 999))
def test_unit_pruning_gives_the_planned_widths_and_the_silenced_model(kind: str, hidden: list[int], sparsity: float,
                                                                      scope: str, seed: int) -> None:
    torch.manual_seed(seed)
    model: SequenceModel | TemporalConvNet = (TemporalConvNet(2, hidden, kernel_size=2) if kind == "tcn"
                                              else SequenceModel(kind, 2, hidden)).eval()
    plan = plan_pruning(model, MagnitudePruning(sparsity=sparsity, granularity="neuron", scope=scope))
    pruned = apply_plan(model, plan).model
    planned = [layer.kept for layer in plan.layers]
    assert all(k >= 1 for k in planned)
    assert (pruned.channels if isinstance(pruned, TemporalConvNet) else pruned.hidden) == planned  # type: ignore[attr-defined]
    x = torch.from_numpy(np.random.default_rng(seed).normal(size=(8, 6, 2)).astype(np.float32))
    with torch.inference_mode():
        assert torch.allclose(pruned(x), _silenced(model, [layer.pruned for layer in plan.layers])(x), atol=1e-5)
