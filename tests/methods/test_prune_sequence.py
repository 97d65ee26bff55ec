"""Structured pruning of window forecasters: LSTM/GRU hidden units (stacked, gate blocks kept
together), TCN channels, and MLPs over a window; int8 and low rank of the window MLP."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from finlite.errors import ConfigError
from finlite.methods.distill import DistillData, RegressionDistillation
from finlite.methods.factorize import LowRankFactorization, factorize
from finlite.methods.plan import PruningPlan
from finlite.methods.prune import (
    GradualPruning,
    MagnitudePruning,
    RegularizedPruning,
    TaylorPruning,
    apply_plan,
    plan_pruning,
    prune,
)
from finlite.methods.quantize import DynamicInt8, QuantizationAwareTraining, StaticInt8, quantize
from finlite.models import SequenceModel, TemporalConvNet, TransformerForecaster, WindowMLP
from finlite.models.sequence import rnn_layers, rnn_weights
from finlite.models.temporal import conv_layers
from finlite.training.loop import TrainConfig


def _windows(rows: int = 32, window: int = 12, features: int = 3, seed: int = 0) -> torch.Tensor:
    return torch.from_numpy(np.random.default_rng(seed).normal(size=(rows, window, features)).astype(np.float32))


def _silence_units(model: SequenceModel, pruned: list[list[int]]) -> SequenceModel:
    """The original model with the pruned units cut off from everything they feed (their
    recurrent columns, the next layer's input columns, the head's columns)."""
    silent = SequenceModel(model.cell, model.in_features, model.hidden, model.task)
    silent.load_state_dict(model.state_dict())
    layers = rnn_layers(silent.rnn)
    with torch.no_grad():
        for i, gone in enumerate(pruned):
            idx = torch.tensor(gone, dtype=torch.long)
            _, w_hh, _, _ = rnn_weights(layers[i])
            w_hh[:, idx] = 0.0
            if i + 1 < len(layers):
                w_ih_next, _, _, _ = rnn_weights(layers[i + 1])
                w_ih_next[:, idx] = 0.0
            else:
                silent.head.weight[:, idx] = 0.0
    return silent.eval()


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_stacked_recurrent_layers_prune_to_exactly_the_planned_sizes(cell: str) -> None:
    torch.manual_seed(0)
    model = SequenceModel(cell, 3, [64, 32]).eval()
    plan = plan_pruning(model, MagnitudePruning(sparsity=0.5, granularity="neuron"))
    assert [(p.name, p.shape, p.kept) for p in plan.layers] == [("rnn.0", [64, 3], 32), ("rnn.1", [32, 64], 16)]
    pruned = apply_plan(model, plan).model
    assert isinstance(pruned, SequenceModel) and pruned.hidden == [32, 16]
    gates = 4 if cell == "lstm" else 3
    w_ih0, w_hh0, _, _ = rnn_weights(rnn_layers(pruned.rnn)[0])
    w_ih1, w_hh1, b_ih1, _ = rnn_weights(rnn_layers(pruned.rnn)[1])
    assert w_ih0.shape == (gates * 32, 3) and w_hh0.shape == (gates * 32, 32)
    assert w_ih1.shape == (gates * 16, 32) and w_hh1.shape == (gates * 16, 16) and b_ih1.shape == (gates * 16,)
    # Every gate block of a kept unit moved with it: the pruned model is the original with the
    # other units silenced.
    x = _windows()
    with torch.inference_mode():
        expected = _silence_units(model, [p.pruned for p in plan.layers])(x)
        assert torch.allclose(pruned(x), expected, atol=1e-5)
    # The layer-wide scores are the units' norms over all their gate rows: the kept ones are the largest.
    for layer_plan in plan.layers:
        scores = np.asarray(layer_plan.scores)
        kept = np.setdiff1d(np.arange(len(scores)), layer_plan.pruned)
        assert scores[kept].min() >= scores[layer_plan.pruned].max()


def _silence_channels(model: TemporalConvNet, pruned: list[list[int]]) -> TemporalConvNet:
    silent = TemporalConvNet(model.in_features, model.channels, model.kernel_size, model.task)
    silent.load_state_dict(model.state_dict())
    with torch.no_grad():
        for conv, gone in zip(conv_layers(silent), pruned, strict=True):
            conv.weight[gone] = 0.0
            if conv.bias is not None:
                conv.bias[gone] = 0.0  # ReLU(0) = 0: the channel's output is zero at every step
    return silent.eval()


def test_tcn_channels_prune_and_the_next_layer_and_head_follow(tmp_path: Path) -> None:
    torch.manual_seed(1)
    model = TemporalConvNet(3, channels=(16, 12, 8), kernel_size=3).eval()
    plan = plan_pruning(model, MagnitudePruning(sparsity=0.5, granularity="neuron", norm="l1"))
    assert [(p.name, p.shape, p.kept) for p in plan.layers] == [
        ("convs.0", [16, 9], 8), ("convs.1", [12, 48], 6), ("convs.2", [8, 36], 4)]
    pruned = apply_plan(model, plan).model
    assert isinstance(pruned, TemporalConvNet) and pruned.channels == [8, 6, 4]
    assert [tuple(c.weight.shape) for c in conv_layers(pruned)] == [(8, 3, 3), (6, 8, 3), (4, 6, 3)]
    assert tuple(pruned.head.weight.shape) == (1, 4)
    x = _windows(window=20)
    with torch.inference_mode():
        assert torch.allclose(pruned(x), _silence_channels(model, [p.pruned for p in plan.layers])(x), atol=1e-5)
    # A saved, hand-edited plan applies; one made for another model is refused.
    plan.save(tmp_path / "plan.json")
    edited = PruningPlan.load(tmp_path / "plan.json")
    edited.layers[2].pruned = [0]
    assert apply_plan(model, edited).model.channels == [8, 6, 7]  # type: ignore[attr-defined]
    other = TemporalConvNet(3, channels=(10, 12, 8))
    with pytest.raises(ConfigError, match=r"'convs.0' removes neurons of a layer with 16 outputs, but this model's "
                                          r"layer has 10 units"):
        apply_plan(other, plan)


@pytest.mark.parametrize("make", [lambda: SequenceModel("gru", 3, [16, 8]),
                                  lambda: TemporalConvNet(3, channels=(16, 8))], ids=["gru", "tcn"])
def test_gradual_unit_pruning_of_a_forecaster_ends_at_the_planned_widths(make: object) -> None:
    torch.manual_seed(4)
    model = make().eval()  # type: ignore[operator]
    x = _windows(rows=96).numpy()
    with torch.inference_mode():
        t = model(torch.from_numpy(x)).numpy()
    y = t + np.random.default_rng(0).normal(scale=0.1, size=t.shape).astype(np.float32)
    data = DistillData.from_arrays(x[:64], y[:64], t[:64], x[64:], y[64:], t[64:], task="regression")
    result = prune(model, GradualPruning(sparsity=0.75, steps=2, granularity="neuron"), data=data,
                   distillation=RegressionDistillation(), train=TrainConfig(epochs=2, patience=2, progress=False))
    widths = getattr(result.model, "hidden", None) or getattr(result.model, "channels", None)
    assert widths == [4, 2] and type(result.model) is type(model)
    assert [r["round"] for r in result.info["rounds"]] == [1, 2]
    assert result.info["rounds"][0]["target_sparsity"] == pytest.approx(0.75 * (1 - 0.5 ** 3))


def test_forecasters_refuse_pruning_they_cannot_take() -> None:
    tcn = TemporalConvNet(3, channels=(4, 4))
    with pytest.raises(ConfigError, match=r"'tcn' forecaster is pruned by whole output channels with "
                                          r"magnitude_pruning or gradual_pruning \(granularity='neuron'\)"):
        plan_pruning(tcn, MagnitudePruning(sparsity=0.5, granularity="weight"))
    with pytest.raises(ConfigError, match=r"'sequence' forecaster is pruned by whole hidden units"):
        plan_pruning(SequenceModel("gru", 3, [8]), TaylorPruning(sparsity=0.5, granularity="neuron"))
    with pytest.raises(ConfigError, match=r"this model is 'transformer'.*distil a Transformer into a smaller student"):
        prune(TransformerForecaster(3, window=12, d_model=8, heads=2), MagnitudePruning(sparsity=0.5))
    with pytest.raises(ConfigError, match=r"'tcn' forecaster is pruned by whole output channels with magnitude_pruning "
                                          r"or gradual_pruning"):
        prune(tcn, RegularizedPruning(penalty="group_lasso"),
              data=DistillData.from_arrays(np.zeros((4, 12, 3)), np.zeros(4), np.zeros(4), np.zeros((4, 12, 3)),
                                           np.zeros(4), np.zeros(4), task="regression"))
    with pytest.raises(ConfigError, match=r"DynamicInt8 has no int8 form for a 'tcn' forecaster.*fp16"):
        quantize(tcn, DynamicInt8())


@pytest.mark.parametrize("granularity", ["neuron", "weight"])
def test_a_window_mlp_prunes_through_the_mlp_path_and_stays_a_window_mlp(granularity: str) -> None:
    torch.manual_seed(2)
    model = WindowMLP(12, 3, hidden=(16, 8), task="classification").eval()
    result = prune(model, MagnitudePruning(sparsity=0.5, granularity=granularity))
    pruned = result.model
    assert isinstance(pruned, WindowMLP) and pruned.window == 12 and pruned.task == "classification"
    x = _windows()
    if granularity == "neuron":
        assert pruned.hidden == (8, 4) and not result.masks
    else:
        assert pruned.hidden == (16, 8) and set(result.masks) == {"layers.0.weight", "layers.1.weight",
                                                                  "layers.2.weight"}
        assert float((pruned.layers[0].weight == 0).float().mean()) == pytest.approx(0.5, abs=0.01)
    assert pruned(x).shape == (32,)


def test_a_window_mlp_factorises_and_quantizes_as_a_window_model() -> None:
    torch.manual_seed(3)
    model = WindowMLP(12, 3, hidden=(32,)).eval()
    fact = factorize(model, LowRankFactorization(rank=4))
    assert isinstance(fact.model, WindowMLP) and fact.model.ranks == [4, None]
    first, second = fact.model.layers[0]
    product = (second.weight @ first.weight).detach().double()
    s = torch.linalg.svdvals(model.layers[0].weight.detach().double())
    # The factors are the best rank-4 approximation of the window layer (Eckart–Young).
    assert float(torch.linalg.matrix_norm(product - model.layers[0].weight.detach().double())) == pytest.approx(
        float(torch.sqrt((s[4:] ** 2).sum())), rel=1e-4)
    x = _windows()
    with torch.inference_mode():
        assert fact.model(x).shape == (32,)
        q = quantize(model, StaticInt8(calibration="minmax", samples=32), calibration_x=x.numpy()).model
        assert q.kind == "window_mlp_int8" and q.config()["window"] == 12  # type: ignore[union-attr]
        assert float((q(x) - model(x)).abs().max()) < 0.05
    with torch.inference_mode():
        t = model(x).numpy()
    data = DistillData.from_arrays(x.numpy(), t, t, x.numpy(), t, t, task="regression")
    qat = quantize(model, QuantizationAwareTraining(samples=32), calibration_x=x.numpy(), data=data,
                   distillation=RegressionDistillation(), train=TrainConfig(epochs=1, patience=1, progress=False))
    assert qat.model.kind == "window_mlp_int8" and qat.model.config()["mode"] == "static_uint8"


def test_taylor_and_regularized_pruning_of_a_window_forecaster_use_the_regression_loss() -> None:
    torch.manual_seed(5)
    model = WindowMLP(12, 3, hidden=(16,)).eval()
    x = _windows(rows=96).numpy()
    with torch.inference_mode():
        t = model(torch.from_numpy(x)).numpy()
    data = DistillData.from_arrays(x[:64], t[:64], t[:64], x[64:], t[64:], t[64:], task="regression")
    taylor = prune(model, TaylorPruning(sparsity=0.5, granularity="neuron", batches=2, batch_size=32), data=data,
                   distillation=RegressionDistillation())
    # The model matches its teacher and labels exactly: every gradient of the regression loss is
    # zero, so every Taylor score is 0; soft targets would read the forecasts as log-odds and the
    # labels as classes, and score the neurons by a loss that has nothing to do with forecasting.
    assert all(score == 0.0 for score in taylor.plan.layers[0].scores)
    soft = plan_pruning(model, TaylorPruning(sparsity=0.5, granularity="neuron", batches=2, batch_size=32), data=data)
    assert max(soft.layers[0].scores) > 0.0
    assert isinstance(taylor.model, WindowMLP) and taylor.model.hidden == (8,)
    regularized = prune(model, RegularizedPruning(penalty="group_lasso", strength=3.5, threshold=1e-6), data=data,
                        distillation=RegressionDistillation(),
                        train=TrainConfig(epochs=3, patience=3, lr=1e-2, progress=False))
    assert isinstance(regularized.model, WindowMLP) and regularized.model.window == 12
    assert regularized.model.hidden[0] < 16  # the penalty drove whole neurons to zero
    # A stronger penalty zeroes every neuron: the student would score every window alike (it was
    # saved with one zero neuron kept).
    with pytest.raises(ConfigError, match=r"drove every neuron of layer\(s\) layers\.0 to zero \(strength 5,"):
        prune(model, RegularizedPruning(penalty="group_lasso", strength=5.0, threshold=1e-6), data=data,
              distillation=RegressionDistillation(), train=TrainConfig(epochs=3, patience=3, lr=1e-2, progress=False))
