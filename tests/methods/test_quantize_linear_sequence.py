"""Quantization, linear-model compression and recurrent forecasters, one behaviour each."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors import safe_open

from finlite.errors import ConfigError
from finlite.methods.distill import DistillData, RegressionDistillation, distill
from finlite.methods.linear import (
    IntegerWeights,
    Scorecard,
    fit_least_squares,
    integer_logistic,
    make_scorecard,
    prune_coefficients,
    quantize_coefficients,
)
from finlite.methods.quantize import DynamicInt8, Fp16Weights, StaticInt8, activation_scale, quantize
from finlite.models import LogisticRegression, SequenceModel, TabularMLP
from finlite.models.quantized import Int8Linear
from finlite.models.serialize import load_weights, save_weights
from finlite.training.loop import TrainConfig


def test_int8_linear_is_integer_arithmetic() -> None:
    torch.manual_seed(0)
    linear = torch.nn.Linear(6, 3)
    layer = Int8Linear.from_float(linear, input_scale=0.05)
    x = torch.randn(4, 6)
    xq = torch.clamp(torch.round(x / 0.05), -127, 127).to(torch.int64)
    acc = xq @ layer.weight_int8.to(torch.int64).t()  # exact integer sums
    expected = acc.float() * 0.05 * layer.weight_scale + layer.bias
    assert torch.allclose(layer(x), expected, atol=1e-5)
    assert torch.allclose(layer(x), linear(x), atol=0.1)  # and still close to the float layer


@pytest.mark.parametrize("method", [DynamicInt8(), StaticInt8(calibration="minmax"), StaticInt8(calibration="entropy"),
                                    Fp16Weights()])
def test_quantized_models_are_stored_small_and_reload_identically(method: object, tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = TabularMLP(40, (64, 32), dropout=0.0).eval()
    x = np.random.default_rng(0).normal(size=(300, 40)).astype(np.float32)
    q = quantize(model, method, calibration_x=x[:200]).model
    save_weights(model, tmp_path / "f.safetensors")
    save_weights(q, tmp_path / "q.safetensors")
    ratio = (tmp_path / "f.safetensors").stat().st_size / (tmp_path / "q.safetensors").stat().st_size
    with safe_open(str(tmp_path / "q.safetensors"), framework="pt") as fh:
        names = fh.keys()  # a safe_open handle is not iterable itself
        dtypes = {fh.get_tensor(k).dtype for k in names}
    if isinstance(method, Fp16Weights):
        assert dtypes == {torch.float16} and ratio > 1.9
    else:
        assert torch.int8 in dtypes and ratio > 2.5  # scales and the file header cost a little
    again = load_weights(q.config(), tmp_path / "q.safetensors")
    xt = torch.from_numpy(x)
    assert torch.equal(again(xt), q(xt))
    # Int8 logits stay within a small error of the float model's (signal-to-noise, not exact).
    with torch.inference_mode():
        err = (q(xt) - model(xt)).pow(2).mean() / model(xt).pow(2).mean()
    assert float(err) < 0.05


def test_static_int8_needs_calibration_rows_and_a_float_mlp() -> None:
    model = TabularMLP(5, (4,)).eval()
    with pytest.raises(ConfigError, match="StaticInt8 needs calibration rows"):
        quantize(model, StaticInt8())
    with pytest.raises(ConfigError, match=r"needs a float MLP|quantizes a float MLP"):
        quantize(LogisticRegression(5), DynamicInt8())


def test_calibrations_differ_as_documented() -> None:
    values = np.concatenate([np.random.default_rng(0).normal(size=10_000), [60.0]])  # one outlier
    minmax = activation_scale(values, "minmax") * 127
    pct = activation_scale(values, "percentile", 99.9) * 127
    ent = activation_scale(values, "entropy") * 127
    assert minmax == pytest.approx(60.0)
    assert pct < 5 and ent < 60  # both clip the outlier


def test_least_squares_coefficients_pruned_and_quantized() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(500, 6))
    true = np.array([3.0, -2.0, 0.5, 0.0, 0.01, 1.0])
    y = x @ true + 4.0 + rng.normal(scale=0.1, size=500)
    coef, intercept = fit_least_squares(x, y)
    assert np.allclose(coef, true, atol=0.03) and intercept == pytest.approx(4.0, abs=0.02)
    pruned = prune_coefficients(coef, 2 / 6)
    assert np.count_nonzero(pruned) == 4 and pruned[3] == 0 and pruned[4] == 0
    q, scale = quantize_coefficients(pruned, 4)
    assert q.dtype == np.int8 and np.abs(q).max() == 7
    r2 = 1 - np.var(y - (x @ (q * scale) + intercept)) / np.var(y)
    assert r2 > 0.97


def test_integer_logistic_and_scorecard_points() -> None:
    torch.manual_seed(0)
    logistic = LogisticRegression(5)
    rng = np.random.default_rng(0)
    x = np.hstack([rng.normal(size=(400, 2)), np.eye(3)[rng.integers(0, 3, 400)]]).astype(np.float32)
    ints = integer_logistic(logistic, IntegerWeights(bits=8))
    assert ints.weight_int.dtype == torch.int8
    xt = torch.from_numpy(x)
    assert torch.allclose(ints(xt), logistic(xt).detach(), atol=0.02)
    method = Scorecard(base_points=600, base_odds=50, pdo=20, bins=8)
    card = make_scorecard(logistic, method, x, n_numeric=2)
    assert card.numeric_points.dtype == torch.int32
    def good_odds(score: float) -> float:  # the odds the scorecard's log-odds mapping gives a score
        return math.exp(-float((card.offset - score) / card.factor))

    assert good_odds(600) == pytest.approx(50.0, rel=1e-5)  # 600 points mean good:bad odds of 50
    assert good_odds(620) == pytest.approx(100.0, rel=1e-5)  # 20 more points double them
    exact = make_scorecard(logistic, method, x, n_numeric=2, rounded=False)
    assert torch.all((card.score(xt) - exact.score(xt)).abs() <= 0.5 * (1 + 2 + 3))  # rounding of ≤ 6 terms


def test_regression_distillation_of_a_forecaster() -> None:
    rng = np.random.default_rng(0)
    series = np.zeros(1200)
    for t in range(2, 1200):  # an AR(2) process, like a mean-reverting spread
        series[t] = 0.6 * series[t - 1] - 0.2 * series[t - 2] + rng.normal(scale=0.5)
    windows = np.stack([series[i:i + 20] for i in range(1150)])[:, :, None].astype(np.float32)
    target = series[20:1170].astype(np.float32)
    torch.manual_seed(0)
    teacher = SequenceModel("lstm", 1, [32]).eval()
    cfg = TrainConfig(epochs=15, patience=5, lr=3e-3, progress=False)
    from finlite.training.loop import fit

    tensors = {"x": torch.from_numpy(windows[:800]), "y": torch.from_numpy(target[:800])}
    fit(teacher, tensors, lambda out, b: torch.nn.functional.mse_loss(out, b["y"]),
        lambda m: -float(torch.nn.functional.mse_loss(m(torch.from_numpy(windows[800:1000])),
                                                      torch.from_numpy(target[800:1000])).detach()), cfg)
    with torch.inference_mode():
        t_out = teacher(torch.from_numpy(windows)).numpy()
    data = DistillData.from_arrays(windows[:800], target[:800], t_out[:800], windows[800:1000], target[800:1000],
                                   t_out[800:1000], task="regression")
    student = distill(data, SequenceModel("gru", 1, [8]), RegressionDistillation(loss="huber", alpha=0.8),
                      train=cfg).model
    x_test, y_test = torch.from_numpy(windows[1000:]), target[1000:]
    with torch.inference_mode():
        mse_t = float(np.mean((teacher(x_test).numpy() - y_test) ** 2))
        mse_s = float(np.mean((student(x_test).numpy() - y_test) ** 2))
    assert mse_s < 1.15 * mse_t and mse_t < 0.4  # the AR noise variance is 0.25
    q = quantize(student, DynamicInt8()).model
    with torch.inference_mode():
        assert float(np.mean((q(x_test).numpy() - student(x_test).numpy()) ** 2)) < 0.01 * mse_s
