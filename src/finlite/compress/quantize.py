"""Quantization: int8 weights (dynamic, static-calibrated, quantization-aware) and fp16 weights.

Every int8 method produces a :class:`~finlite.models.quantized.QuantizedMLP` whose Linear
layers hold int8 tensors and multiply in int8 (see that module); the artifact stores the int8
tensors, so the file is about four times smaller than float32. :class:`Fp16Weights` stores
float16 tensors (half the bytes) and computes in float32, because this kind of CPU has no
fast float16 arithmetic.

Calibration (static int8, QAT) sees a sample of training rows that keeps the rare class
represented (``rare_share``): activations of defaulters or frauds often sit in the tails that
a plain random sample of a 0.2 %-positive portfolio would miss.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from finlite._util import check_fraction, param_error
from finlite.compress.registry import register_method
from finlite.errors import ConfigError
from finlite.models.base import FinliteModel
from finlite.models.mlp import TabularMLP
from finlite.models.quantized import Int8Linear, QuantizedMLP, quantize_per_channel
from finlite.models.sequence import SequenceModel, quantize_sequence

__all__ = [
    "DynamicInt8",
    "Fp16Weights",
    "QuantizationAwareTraining",
    "QuantizeResult",
    "StaticInt8",
    "activation_scale",
    "calibration_rows",
    "layer_inputs",
    "convert_to_int8",
    "quantize",
]

CALIBRATIONS = ("minmax", "percentile", "entropy")


@register_method("dynamic_int8")
@dataclass(frozen=True)
class DynamicInt8:
    """Int8 weights (per output channel); activations quantized per row at run time.

    Works for MLPs and for LSTM/GRU models. No calibration data needed. Example recipe step: ``{method: dynamic_int8}``.
    """


def _check_calibration(owner: str, config: Any) -> None:
    if config.calibration not in CALIBRATIONS:
        raise param_error(owner, "calibration", f"one of {CALIBRATIONS}", config.calibration)
    if isinstance(config.percentile, bool) or not isinstance(config.percentile, (int, float)) \
            or not 50 < config.percentile <= 100:
        raise param_error(owner, "percentile", "a number in (50, 100]", config.percentile)
    if isinstance(config.samples, bool) or not isinstance(config.samples, int) or config.samples < 16:
        raise param_error(owner, "samples", "an integer ≥ 16", config.samples)
    check_fraction(owner, "rare_share", config.rare_share, high_open=False)


@register_method("static_int8")
@dataclass(frozen=True)
class StaticInt8:
    """Int8 weights (per output channel) and int8 activations with scales fixed by calibration.

    Example recipe step: ``{method: static_int8, calibration: percentile, percentile: 99.99}``.

    Args:
        calibration: how each layer's input range is chosen from the calibration activations:
            "minmax" (the largest |x|), "percentile" (that percentile of |x|, clipping rare
            outliers) or "entropy" (the clipping threshold whose 128-level histogram is closest
            in KL divergence to the full one, as TensorRT does).
        percentile: the percentile for "percentile".
        samples: calibration rows drawn from the training split.
        rare_share: least share of positive-class rows in the calibration sample (all of them
            when there are fewer).
    """

    calibration: str = "percentile"
    percentile: float = 99.99
    samples: int = 2048
    rare_share: float = 0.1

    def __post_init__(self) -> None:
        _check_calibration("StaticInt8", self)


@register_method("qat")
@dataclass(frozen=True)
class QuantizationAwareTraining:
    """Quantization-aware training: fine-tune the float model through fake int8 quantization.

    Weights and activations are rounded to int8 in the forward pass; the straight-through
    estimator passes gradients through the rounding unchanged, so the weights learn to sit
    where rounding hurts least. Activation scales start from calibration and follow an
    exponential moving average of the observed ranges. The result is converted to the same
    static int8 model as :class:`StaticInt8`. The fine-tuning loss is the recipe's distillation.

    Example recipe step: ``{method: qat, train: {epochs: 30}}``.

    Args:
        calibration, percentile, samples, rare_share: the initial scales, as in :class:`StaticInt8`.
        momentum: weight of the newest batch in the moving average of activation ranges.
    """

    calibration: str = "percentile"
    percentile: float = 99.99
    samples: int = 2048
    rare_share: float = 0.1
    momentum: float = 0.1

    def __post_init__(self) -> None:
        _check_calibration("QuantizationAwareTraining", self)
        check_fraction("QuantizationAwareTraining", "momentum", self.momentum, low_open=True, high_open=False)


@register_method("fp16")
@dataclass(frozen=True)
class Fp16Weights:
    """Store weights as float16 (half the bytes); compute in float32 after loading.

    Weights are rounded to float16 in memory too, so the evaluated model is the stored one.
    Example recipe step: ``{method: fp16}``.
    """


@dataclass
class QuantizeResult:
    """The quantized copy and what was done (scales, calibration rows)."""

    model: FinliteModel
    method: Any
    info: dict[str, Any] = field(default_factory=dict)


# -- calibration -----------------------------------------------------------------------------
def calibration_rows(y: np.ndarray, samples: int, rare_share: float, seed: int) -> np.ndarray:
    """Row indices for calibration: ``samples`` rows with at least ``rare_share`` positives.

    When the training split has fewer positives than that, all of them are taken. Sorted, so
    the same seed gives the same sample.
    """
    rng = np.random.default_rng(seed)
    n = min(samples, len(y))
    pos, neg = np.flatnonzero(y == 1), np.flatnonzero(y != 1)
    want_pos = min(len(pos), max(math.ceil(rare_share * n), int(round(n * len(pos) / max(len(y), 1)))))
    want_neg = min(len(neg), n - want_pos)
    chosen = np.concatenate([rng.choice(pos, want_pos, replace=False), rng.choice(neg, want_neg, replace=False)])
    return np.sort(chosen)


def _entropy_threshold(values: np.ndarray, bins: int = 2048, levels: int = 128) -> float:
    """Clipping threshold for |x| minimising KL(P ‖ Q), P the histogram clipped at the threshold
    (outliers folded into the last bin) and Q its requantization to ``levels`` levels."""
    top = float(values.max()) if values.size else 0.0
    if top == 0.0:
        return 0.0
    hist, edges = np.histogram(values, bins=bins, range=(0.0, top))
    hist = hist.astype(np.float64)
    best_kl, best_i = np.inf, bins
    for i in range(levels, bins + 1, 16):
        p = hist[:i].copy()
        p[-1] += hist[i:].sum()
        # Q: merge the i bins into `levels` chunks, spread each chunk's mass over its non-empty bins.
        q = np.zeros(i)
        for chunk in np.array_split(np.arange(i), levels):
            nonzero = hist[chunk] > 0
            if nonzero.any():
                q[chunk[nonzero]] = hist[chunk].sum() / nonzero.sum()
        ps, qs = p.sum(), q.sum()
        if ps == 0 or qs == 0:
            continue
        p, q = p / ps, q / qs
        mask = p > 0
        kl = float(np.sum(p[mask] * np.log(p[mask] / np.maximum(q[mask], 1e-12))))
        if kl < best_kl:
            best_kl, best_i = kl, i
    return float(edges[best_i])


def activation_scale(values: np.ndarray, calibration: str, percentile: float = 99.99) -> float:
    """The int8 scale (range / 127) for one layer's observed input magnitudes."""
    mags = np.abs(np.asarray(values, dtype=np.float64)).ravel()
    if mags.size == 0:
        return 1.0
    if calibration == "minmax":
        top = float(mags.max())
    elif calibration == "percentile":
        top = float(np.percentile(mags, percentile))
    else:
        top = _entropy_threshold(mags)
    return top / 127.0 if top > 0 else 1.0 / 127.0


def _linears(model: nn.Module) -> list[nn.Linear]:
    return [m for m in model.modules() if isinstance(m, nn.Linear)]


@torch.inference_mode()
def layer_inputs(model: FinliteModel, x: np.ndarray) -> list[np.ndarray]:
    """The input each Linear layer sees on rows ``x``, in forward order."""
    seen: list[np.ndarray] = []
    hooks = [layer.register_forward_pre_hook(lambda _m, args: seen.append(args[0].detach().numpy().copy()))
             for layer in _linears(model)]
    try:
        model.eval()
        model(torch.from_numpy(x))
    finally:
        for h in hooks:
            h.remove()
    return seen


def _float_mlp(model: FinliteModel, what: str) -> TabularMLP:
    if not isinstance(model, TabularMLP):
        raise ConfigError(f"{what} quantizes a float MLP; this model is {model.kind!r}. Put quantization after "
                          "distillation and pruning (it is the last step), and use integer_weights or scorecard "
                          "for a logistic model.")
    return model


def convert_to_int8(model: TabularMLP, input_scales: list[float] | None) -> QuantizedMLP:
    """An int8 copy of ``model``: per-channel int8 weights; static input scales (one per Linear,
    forward order) or dynamic ones when ``input_scales`` is None."""
    mode = "dynamic" if input_scales is None else "static"
    out = QuantizedMLP(model.in_features, model.hidden, activation=model.activation, mode=mode, ranks=model.ranks)
    float_layers = _linears(model)
    int_layers = [m for m in out.modules() if isinstance(m, Int8Linear)]
    for i, (src, dst) in enumerate(zip(float_layers, int_layers, strict=True)):
        scale = None if input_scales is None else input_scales[i]
        dst.load_state_dict(Int8Linear.from_float(src, scale).state_dict())
    out.eval()
    return out


# -- QAT ---------------------------------------------------------------------------------------
def _fake_quant(x: torch.Tensor, scale: torch.Tensor | float) -> torch.Tensor:
    """Round to the int8 grid in the forward pass; identity gradient (straight-through)."""
    q = torch.clamp(torch.round(x / scale), -127, 127) * scale
    return x + (q - x).detach()


class _QATLinear(nn.Module):
    """A Linear whose weight and input are fake-quantized; parameter names match nn.Linear's,
    so pruning masks keep applying during quantization-aware fine-tuning."""

    def __init__(self, linear: nn.Linear, scale: float, momentum: float) -> None:
        super().__init__()
        self.in_features, self.out_features = linear.in_features, linear.out_features
        self.weight = nn.Parameter(linear.weight.detach().clone())
        self.bias = nn.Parameter(linear.bias.detach().clone()) if linear.bias is not None else None
        self.register_buffer("input_scale", torch.tensor(float(scale)))
        self.momentum = momentum

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            with torch.no_grad():
                observed = (x.detach().abs().amax() / 127.0).clamp_min(1e-8)
                self.input_scale.mul_(1 - self.momentum).add_(self.momentum * observed)
        _, w_scale = quantize_per_channel(self.weight.detach())
        w = _fake_quant(self.weight, w_scale[:, None])
        return nn.functional.linear(_fake_quant(x, self.input_scale), w, self.bias)


def prepare_qat(model: TabularMLP, scales: list[float], momentum: float) -> TabularMLP:
    """A copy of ``model`` with every Linear replaced by a fake-quantized one."""
    qat = copy.deepcopy(model)
    it = iter(scales)

    def swap(parent: nn.Module) -> None:
        for name, child in parent.named_children():
            if isinstance(child, nn.Linear):
                setattr(parent, name, _QATLinear(child, next(it), momentum))
            else:
                swap(child)
    swap(qat)
    return qat


def finish_qat(qat: TabularMLP) -> QuantizedMLP:
    """Convert a fake-quantized model to the real int8 model, with its learned input scales."""
    layers = [m for m in qat.modules() if isinstance(m, _QATLinear)]
    plain = TabularMLP(qat.in_features, qat.hidden, dropout=0.0, activation=qat.activation, ranks=qat.ranks)
    scales = []
    for src, dst in zip(layers, _linears(plain), strict=True):
        with torch.no_grad():
            dst.weight.copy_(src.weight)
            if dst.bias is not None and src.bias is not None:
                dst.bias.copy_(src.bias)
        scales.append(float(src.input_scale))
    return convert_to_int8(plain, scales)


# -- the verb ----------------------------------------------------------------------------------
def quantize(model: FinliteModel, method: DynamicInt8 | StaticInt8 | Fp16Weights, *,
             calibration_x: np.ndarray | None = None) -> QuantizeResult:
    """Quantize a copy of ``model``; the input is left untouched.

    ``calibration_x`` (encoded rows, see :func:`calibration_rows`) is needed by
    :class:`StaticInt8`. Quantization-aware training needs training data and runs in the
    recipe runner (:func:`finlite.recipe.run_recipe`) or via :func:`prepare_qat` / :func:`finish_qat`.
    """
    if isinstance(method, Fp16Weights):
        half = copy.deepcopy(model)
        with torch.no_grad():
            for p in half.parameters():
                p.copy_(p.half().float())
        half.weight_storage = "float16"
        return QuantizeResult(model=half, method=method, info={"storage": "float16"})
    if isinstance(model, SequenceModel):
        if not isinstance(method, DynamicInt8):
            raise ConfigError(f"{type(method).__name__} is for MLPs; recurrent (LSTM/GRU) models take dynamic_int8, "
                              "whose activation scales follow each step's values.")
        return QuantizeResult(model=quantize_sequence(model), method=method, info={"activations": "dynamic"})
    mlp = _float_mlp(model, type(method).__name__)
    if isinstance(method, DynamicInt8):
        return QuantizeResult(model=convert_to_int8(mlp, None), method=method, info={"activations": "dynamic"})
    if isinstance(method, StaticInt8):
        if calibration_x is None or len(calibration_x) == 0:
            raise ConfigError("StaticInt8 needs calibration rows (calibration_x); pass a sample of training rows.")
        inputs = layer_inputs(mlp, calibration_x)
        scales = [activation_scale(v, method.calibration, method.percentile) for v in inputs]
        return QuantizeResult(model=convert_to_int8(mlp, scales), method=method,
                              info={"activations": "static", "input_scales": scales,
                                    "calibration_rows": int(len(calibration_x))})
    raise ConfigError(f"quantize() does not run {type(method).__name__}; use the recipe runner.")
