"""The window forecasters: TCN (causal, dilated), Transformer encoder, MLP over the window."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from finlite.errors import ConfigError
from finlite.models import (
    QuantizedWindowMLP,
    TabularMLP,
    TemporalConvNet,
    TransformerForecaster,
    WindowMLP,
    build_model,
    registered_models,
)
from finlite.models.serialize import load_weights, save_weights
from finlite.models.temporal import conv_layers, int8_mlp_like, mlp_like
from finlite.tasks import task_of_model


def _windows(rows: int = 16, window: int = 12, features: int = 3, seed: int = 0) -> torch.Tensor:
    return torch.from_numpy(np.random.default_rng(seed).normal(size=(rows, window, features)).astype(np.float32))


def test_tcn_dilates_by_powers_of_two_and_pads_on_the_left_only() -> None:
    torch.manual_seed(0)
    tcn = TemporalConvNet(3, channels=(4, 5, 6), kernel_size=3).eval()
    assert [c.dilation[0] for c in conv_layers(tcn)] == [1, 2, 4]
    assert [tcn.left_padding(i) for i in range(3)] == [2, 4, 8]
    assert tcn.receptive_field == 1 + 2 * 7
    x = _windows(window=20)
    with torch.inference_mode():
        base = tcn(x)
        # Steps older than the receptive field (20 − 15 = the first 5) do not reach the forecast...
        early = x.clone()
        early[:, :5] += 10.0
        assert torch.equal(tcn(early), base)
        # ...the oldest step inside it does, and so does the last one.
        inside = x.clone()
        inside[:, 5] += 10.0
        assert not torch.allclose(tcn(inside), base)
        # A shorter window holding the same last 15 steps gives the same forecast: nothing from
        # the right (no future step) and no step beyond the receptive field enters it.
        assert torch.allclose(tcn(x[:, 5:]), base, atol=1e-6)


def test_tcn_output_at_every_step_reads_only_earlier_steps() -> None:
    torch.manual_seed(1)
    tcn = TemporalConvNet(3, channels=(4, 4), kernel_size=2).eval()
    x = _windows(window=10)
    with torch.inference_mode():
        for t in range(1, 10):
            changed = x.clone()
            changed[:, t:] = torch.randn_like(changed[:, t:])  # everything from step t on
            # The forecast of a window ending at step t − 1 is unchanged by what follows it.
            assert torch.equal(tcn(changed[:, :t]), tcn(x[:, :t]))


def test_transformer_reads_its_window_and_refuses_another() -> None:
    torch.manual_seed(0)
    model = TransformerForecaster(3, window=12, d_model=8, heads=2, layers=2, ff=16).eval()
    out = model(_windows())
    assert out.shape == (16,) and torch.isfinite(out).all()
    with pytest.raises(ConfigError, match=r"reads windows of shape \[rows, 12, 3\]; got input of shape \[16, 10, 3\]"):
        model(_windows(window=10))
    with pytest.raises(ConfigError, match=r"'d_model' parameter of TransformerForecaster must be a multiple of heads"):
        TransformerForecaster(3, window=12, d_model=10, heads=4)
    # Every step of the window matters (attention reads all of them).
    x = _windows()
    changed = x.clone()
    changed[:, 0] += 5.0
    with torch.inference_mode():
        assert not torch.allclose(model(changed), model(x))


def test_window_mlp_is_the_tabular_mlp_of_the_flattened_window() -> None:
    torch.manual_seed(0)
    model = WindowMLP(12, 3, hidden=(8, 4)).eval()
    assert isinstance(model, TabularMLP) and model.flat_features == 36 and model.in_features == 3
    flat = TabularMLP(36, (8, 4), dropout=0.0).eval()
    flat.load_state_dict(model.state_dict())
    x = _windows()
    with torch.inference_mode():
        assert torch.equal(model(x), flat(x.reshape(16, -1)))
    # The helpers the methods use rebuild the same kind with the same input.
    pruned = mlp_like(model, [5, 2], ranks=[None, 2, None])
    assert isinstance(pruned, WindowMLP) and pruned.config() == {**model.config(), "hidden": [5, 2],
                                                                 "ranks": [None, 2, None]}
    assert isinstance(int8_mlp_like(model, "dynamic"), QuantizedWindowMLP)
    assert type(mlp_like(flat, [3])) is TabularMLP


@pytest.mark.parametrize("make", [
    lambda task: TemporalConvNet(3, channels=(4, 6), kernel_size=3, task=task),
    lambda task: TransformerForecaster(3, window=12, d_model=8, heads=2, layers=1, ff=16, task=task),
    lambda task: WindowMLP(12, 3, hidden=(8,), task=task),
], ids=["tcn", "transformer", "window_mlp"])
@pytest.mark.parametrize("task", ["regression", "classification"])
def test_forecasters_round_trip_through_config_and_safetensors(make: object, task: str, tmp_path: Path) -> None:
    torch.manual_seed(3)
    model = make(task).eval()  # type: ignore[operator]
    assert model.kind in registered_models() and task_of_model(model) == ("regression" if task == "regression"
                                                                           else "binary")
    assert isinstance(model.head, torch.nn.Linear) and model.head.out_features == 1
    save_weights(model, tmp_path / "w.safetensors")
    again = load_weights(model.config(), tmp_path / "w.safetensors")
    x = _windows()
    with torch.inference_mode():
        assert torch.equal(again(x), model(x))
    assert build_model(model.config()).config() == model.config()
    if task == "classification":
        p = model.predict_proba(x)
        assert torch.allclose(p, torch.sigmoid(model(x))) and ((p > 0) & (p < 1)).all()


@pytest.mark.parametrize(("make", "match"), [
    (lambda: TemporalConvNet(3, channels=()), r"'channels' parameter of TemporalConvNet must be a non-empty list"),
    (lambda: TemporalConvNet(3, kernel_size=1), r"'kernel_size' parameter of TemporalConvNet must be an integer ≥ 2"),
    (lambda: TemporalConvNet(3, task="direction"), r"'task' parameter of TemporalConvNet must be 'regression' or"),
    (lambda: WindowMLP(0, 3), r"'window' parameter of WindowMLP must be a positive integer"),
    (lambda: TransformerForecaster(3, window=12, heads=0), r"'heads' parameter of TransformerForecaster"),
])
def test_bad_architectures_are_refused_by_name(make: object, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        make()  # type: ignore[operator]
