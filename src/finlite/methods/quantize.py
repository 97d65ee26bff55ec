"""Quantization: int8 weights (dynamic, static-calibrated, quantization-aware) and fp16 weights.

Every int8 method produces a :class:`~finlite.models.quantized.QuantizedMLP` whose Linear
layers hold int8 tensors and multiply in int8 (see that module); the artifact stores the int8
tensors, so the file is about four times smaller than float32. Static int8 and QAT give the
form ONNX Runtime runs fast: uint8 activations with a calibrated scale and zero point per
layer (a ReLU output gets zero point 0, so all 256 levels cover its range) and signed
per-channel int8 weights. Dynamic int8 scales each row at run time (a row's score never
depends on the other rows of its batch), which ONNX Runtime has no fused kernel for: it is
the slow form, kept for recurrent models and recipes that ask for it. :class:`Fp16Weights` stores
float16 tensors (half the bytes) and computes in float32, because this kind of CPU has no
fast float16 arithmetic.

Calibration (static int8, QAT) sees a sample of training rows that keeps the rare class
represented (``rare_share``): activations of defaulters or frauds often sit in the tails that
a plain random sample of a 0.2 %-positive portfolio would miss.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

import numpy as np
import torch
from torch import nn

from finlite._util import check_fraction, param_error
from finlite.errors import ConfigError, UnsupportedModelError
from finlite.methods.base import StepContext, StepState
from finlite.methods.distill import (
    Distillation,
    DistillData,
    HintDistillation,
    RegressionDistillation,
    _fine_tuning_loss,
    distill,
)
from finlite.methods.registry import MethodConfig, register_handler, register_method
from finlite.models.base import FinliteModel
from finlite.models.mlp import TabularMLP
from finlite.models.quantized import SAFE_WEIGHT_BITS, Int8Linear, QuantizedMLP, qmax, quantize_per_channel
from finlite.models.sequence import SequenceModel, quantize_sequence
from finlite.models.temporal import TemporalConvNet, TransformerForecaster, int8_mlp_like, mlp_like
from finlite.training.loop import TrainConfig

__all__ = [
    "SPEED_RULES",
    "AnyQuantization",
    "DynamicInt8",
    "Fp16Weights",
    "QuantizationAwareTraining",
    "QuantizeResult",
    "StaticInt8",
    "activation_range",
    "activation_scale",
    "calibration_rows",
    "convert_to_int8",
    "layer_inputs",
    "quantize",
    "relu_inputs",
]

Calibration = Literal["minmax", "percentile", "entropy"]
#: ``require_faster`` values of the int8 steps: where the int8 ONNX model must beat the float one
#: (timed side by side by the recipe runner) for the step to be kept.
SpeedRule = Literal["no", "batch1", "batch", "both"]
WeightBits = Literal[7, 8]
CALIBRATIONS: tuple[str, ...] = get_args(Calibration)
SPEED_RULES: tuple[str, ...] = get_args(SpeedRule)


def _check_speed_rule(owner: str, value: Any) -> None:
    if value not in SPEED_RULES:
        raise param_error(owner, "require_faster", f"one of {SPEED_RULES}", value)


def _check_weight_bits(owner: str, value: Any) -> None:
    if isinstance(value, bool) or value not in (7, 8):
        raise param_error(owner, "weight_bits", "7 (exact in ONNX Runtime on every x86 CPU) or 8 (exact with "
                          "VNNI/AMX or on ARM)", value)


@register_method("dynamic_int8")
@dataclass(frozen=True, kw_only=True)
class DynamicInt8(MethodConfig):
    """Int8 weights (per output channel); activations quantized per row at run time.

    Works for MLPs (a WindowMLP over a window included) and for LSTM/GRU models. No calibration
    data needed. Example recipe step: ``{method: dynamic_int8}``.
    ONNX Runtime has no fused kernel for per-row scales, so this form is usually slower than
    float32; :class:`StaticInt8` is the fast one.

    Args:
        require_faster: "no" (keep the step whatever its speed), or where the exported int8
            model must be faster than the float one it replaces, timed side by side through
            the runtime's ONNX session: "batch1" (one row), "batch" (a large batch) or "both".
            A slower step is rolled back, with both timings in its record.
    """

    require_faster: SpeedRule = "no"

    def __post_init__(self) -> None:
        _check_speed_rule("DynamicInt8", self.require_faster)


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
@dataclass(frozen=True, kw_only=True)
class StaticInt8(MethodConfig):
    """Int8 weights (per output channel) and uint8 activations with a scale and zero point per
    layer fixed by calibration: the form ONNX Runtime fuses into its fast int8 kernels.

    Example recipe step: ``{method: static_int8, calibration: percentile, percentile: 99.99}``.

    Args:
        calibration: how each layer's input range is chosen from the calibration activations:
            "minmax" (the extremes), "percentile" (the ``100 − p`` and ``p`` percentiles,
            clipping rare outliers) or "entropy" (the clipping threshold whose 128-level histogram is closest
            in KL divergence to the full one, as TensorRT does).
        percentile: the percentile for "percentile".
        samples: calibration rows drawn from the training split.
        rare_share: least share of positive-class rows in the calibration sample (all of them
            when there are fewer).
        require_faster: keep the step only where the int8 ONNX model is faster than the float
            one, timed side by side: "no" (always keep), "batch1", "batch" or "both" (see
            :class:`DynamicInt8`).
        weight_bits: 7 (default: weights within ±63, which ONNX Runtime's int8 kernels multiply
            exactly on every x86 CPU, VNNI or not) or 8 (one more bit, exact with VNNI/AMX or
            on ARM; on an AVX2-only CPU the 16-bit pair sums may saturate and the parity check
            at export fails). Stored as int8 either way.
    """

    calibration: Calibration = "percentile"
    percentile: float = 99.99
    samples: int = 2048
    rare_share: float = 0.1
    require_faster: SpeedRule = "no"
    weight_bits: WeightBits = SAFE_WEIGHT_BITS

    def __post_init__(self) -> None:
        _check_calibration("StaticInt8", self)
        _check_speed_rule("StaticInt8", self.require_faster)
        _check_weight_bits("StaticInt8", self.weight_bits)


@register_method("qat")
@dataclass(frozen=True, kw_only=True)
class QuantizationAwareTraining(MethodConfig):
    """Quantization-aware training: fine-tune the float model through fake int8 quantization.

    Weights and activations are rounded to int8 in the forward pass; the straight-through
    estimator passes gradients through the rounding unchanged, so the weights learn to sit
    where rounding hurts least. Activation scales start from calibration (``calibration`` and
    ``percentile`` choose only these starting scales) and then follow an exponential moving
    average of each training batch's largest input magnitude, as PyTorch's moving-average
    observers do: after a few dozen batches the starting scales have faded, so the scales
    stored are the ranges training saw, not the percentile. The result is converted to the same
    static int8 model as :class:`StaticInt8`. The fine-tuning loss is the recipe's distillation.

    Example recipe step: ``{method: qat, train: {epochs: 30}}``.

    Args:
        calibration, percentile, samples, rare_share: the initial scales, as in :class:`StaticInt8`
            (only the initial ones: see above).
        momentum: weight of the newest batch's largest input magnitude in the moving average
            of each layer's range.
        require_faster: as in :class:`StaticInt8` (checked after fine-tuning).
        weight_bits: as in :class:`StaticInt8`; the fine-tuning rounds weights to that grid.
    """

    calibration: Calibration = "percentile"
    percentile: float = 99.99
    samples: int = 2048
    rare_share: float = 0.1
    momentum: float = 0.1
    require_faster: SpeedRule = "no"
    weight_bits: WeightBits = SAFE_WEIGHT_BITS

    def __post_init__(self) -> None:
        _check_calibration("QuantizationAwareTraining", self)
        _check_speed_rule("QuantizationAwareTraining", self.require_faster)
        _check_weight_bits("QuantizationAwareTraining", self.weight_bits)
        check_fraction("QuantizationAwareTraining", "momentum", self.momentum, low_open=True, high_open=False)


@register_method("fp16")
@dataclass(frozen=True, kw_only=True)
class Fp16Weights(MethodConfig):
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
    want_pos = min(len(pos), max(math.ceil(rare_share * n), round(n * len(pos) / max(len(y), 1))))
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


def activation_range(values: np.ndarray, calibration: str, percentile: float = 99.99) -> tuple[float, int]:
    """The uint8 (scale, zero point) for one layer's observed inputs.

    The range [lo, hi] is widened to hold 0, so that 0 (a ReLU's floor, a one-hot's "no") is
    exact: "minmax" takes the extremes, "percentile" the ``100 − p`` and ``p`` percentiles, and
    "entropy" the KL-optimal threshold of |x| on each side that has values. Inputs that are
    never negative (after a ReLU) get zero point 0.
    """
    v = np.asarray(values, dtype=np.float64).ravel()
    if v.size == 0:
        return 1.0 / 255.0, 0
    if calibration == "minmax":
        lo, hi = float(v.min()), float(v.max())
    elif calibration == "percentile":
        lo, hi = float(np.percentile(v, 100.0 - percentile)), float(np.percentile(v, percentile))
    else:
        top = _entropy_threshold(np.abs(v))
        lo, hi = (-top if v.min() < 0 else 0.0), (top if v.max() > 0 else 0.0)
    lo, hi = min(lo, 0.0), max(hi, 0.0)
    if hi - lo <= 0:
        return 1.0 / 255.0, 0
    # float32 because the graph and the model both compute with this exact float32 value.
    scale = float(np.float32((hi - lo) / 255.0))
    zero_point = int(np.clip(np.round(-lo / scale), 0, 255))
    return scale, zero_point


def relu_inputs(model: nn.Module) -> list[bool]:
    """For each Linear of an MLP (forward order): is its input a ReLU output (never negative)?"""
    layers = getattr(model, "layers", None)
    relu = getattr(model, "activation", None) == "relu"
    if layers is None:
        return [False for m in model.modules() if isinstance(m, (nn.Linear, Int8Linear))]
    out: list[bool] = []
    for i, layer in enumerate(layers):
        parts = list(layer) if isinstance(layer, nn.Sequential) else [layer]
        out.extend([relu and i > 0] + [False] * (len(parts) - 1))
    return out


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
        raise UnsupportedModelError(f"{what} quantizes a float MLP; this model is {model.kind!r}. Put quantization after "
                          "distillation and pruning (it is the last step), and use integer_weights or scorecard "
                          "for a logistic model.")
    return model


def convert_to_int8(model: TabularMLP, input_scales: list[float] | None,
                    zero_points: list[int] | None = None, weight_bits: int = 8) -> QuantizedMLP:
    """An int8 copy of ``model``: per-channel int8 weights, and inputs quantized with static
    uint8 (scale, zero point) pairs (one per Linear, forward order; ONNX Runtime's fast form),
    static symmetric int8 scales (``zero_points`` None), or dynamically (``input_scales`` None).
    ``weight_bits`` (7 or 8) bounds the int8 weights (see :class:`StaticInt8`)."""
    if input_scales is None:
        mode = "dynamic"
    else:
        mode = "static" if zero_points is None else "static_uint8"
    out = int8_mlp_like(model, mode)  # a WindowMLP becomes a QuantizedWindowMLP
    float_layers = _linears(model)
    int_layers = [m for m in out.modules() if isinstance(m, Int8Linear)]
    for i, (src, dst) in enumerate(zip(float_layers, int_layers, strict=True)):
        scale = None if input_scales is None else input_scales[i]
        zp = None if zero_points is None else zero_points[i]
        dst.load_state_dict(Int8Linear.from_float(src, scale, zp, weight_bits).state_dict())
    out.eval()
    return out


# -- QAT ---------------------------------------------------------------------------------------
def _fake_quant(x: torch.Tensor, scale: torch.Tensor | float, top: int = 127) -> torch.Tensor:
    """Round to the integer grid ±``top`` in the forward pass; identity gradient (straight-through)."""
    q = torch.clamp(torch.round(x / scale), -top, top) * scale
    return x + (q - x).detach()


class _QATLinear(nn.Module):
    """A Linear whose weight and input are fake-quantized; parameter names match nn.Linear's,
    so pruning masks keep applying during quantization-aware fine-tuning."""

    def __init__(self, linear: nn.Linear, scale: float, momentum: float, weight_bits: int = 8) -> None:
        super().__init__()
        self.weight_bits = weight_bits
        self.in_features, self.out_features = linear.in_features, linear.out_features
        self.weight = nn.Parameter(linear.weight.detach().clone())
        self.bias = nn.Parameter(linear.bias.detach().clone()) if linear.bias is not None else None
        self.input_scale: torch.Tensor
        self.register_buffer("input_scale", torch.tensor(float(scale)))
        self.momentum = momentum

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            with torch.no_grad():
                observed = (x.detach().abs().amax() / 127.0).clamp_min(1e-8)
                self.input_scale.mul_(1 - self.momentum).add_(self.momentum * observed)
        _, w_scale = quantize_per_channel(self.weight.detach(), self.weight_bits)
        w = _fake_quant(self.weight, w_scale[:, None], qmax(self.weight_bits))
        return nn.functional.linear(_fake_quant(x, self.input_scale), w, self.bias)


def prepare_qat(model: TabularMLP, scales: list[float], momentum: float,
                weight_bits: int = SAFE_WEIGHT_BITS) -> TabularMLP:
    """A copy of ``model`` with every Linear replaced by a fake-quantized one (weights on the
    ``weight_bits`` grid that :func:`finish_qat` stores)."""
    qat = copy.deepcopy(model)
    it = iter(scales)

    def swap(parent: nn.Module) -> None:
        for name, child in parent.named_children():
            if isinstance(child, nn.Linear):
                setattr(parent, name, _QATLinear(child, next(it), momentum, weight_bits))
            else:
                swap(child)
    swap(qat)
    return qat


def finish_qat(qat: TabularMLP) -> QuantizedMLP:
    """Convert a fake-quantized model to the real int8 model, with its learned input scales.

    The result takes the uint8 form: a symmetric int8 code q is the uint8 code q + 128 (zero
    point 128), and a ReLU output (never negative) keeps its scale with zero point 0, which
    only widens the range clipped in training (to 255 steps instead of 127)."""
    layers = [m for m in qat.modules() if isinstance(m, _QATLinear)]
    plain = mlp_like(qat, qat.hidden, ranks=qat.ranks, dropout=0.0)  # a WindowMLP stays one
    scales = []
    for src, dst in zip(layers, _linears(plain), strict=True):
        with torch.no_grad():
            dst.weight.copy_(src.weight)
            if dst.bias is not None and src.bias is not None:
                dst.bias.copy_(src.bias)
        scales.append(float(np.float32(src.input_scale)))
    zero_points = [0 if relu else 128 for relu in relu_inputs(plain)]
    return convert_to_int8(plain, scales, zero_points, layers[0].weight_bits if layers else SAFE_WEIGHT_BITS)


# -- the verb ----------------------------------------------------------------------------------
AnyQuantization = DynamicInt8 | StaticInt8 | QuantizationAwareTraining | Fp16Weights


def quantize(model: FinliteModel, method: AnyQuantization, *, calibration_x: np.ndarray | None = None,
             data: DistillData | None = None, distillation: MethodConfig | None = None,
             train: TrainConfig | None = None, masks: dict[str, torch.Tensor] | None = None,
             monotone_index: Mapping[str, int] | None = None) -> QuantizeResult:
    """Quantize a copy of ``model`` with any quantization method; the input is left untouched.

    - :class:`Fp16Weights` and :class:`DynamicInt8` need only the model.
    - :class:`StaticInt8` needs ``calibration_x``: encoded rows (see :func:`calibration_rows`)
      whose activations fix each layer's scale.
    - :class:`QuantizationAwareTraining` needs ``calibration_x`` (the initial scales) and
      ``data`` (the rows and teacher outputs it is fine-tuned on, by the ``distillation`` loss,
      default soft targets, with ``train`` settings and pruned weights ``masks`` held at zero;
      ``monotone_index`` locates the columns of a ``distillation`` with ``monotone``, whose
      penalty then applies here too: :func:`~finlite.methods.distill.distill`).

    Raises:
        ConfigError: a method lacks the rows it needs (the message names the parameter), or the
            model is not one the method quantizes.
    """
    if not isinstance(method, (DynamicInt8, StaticInt8, QuantizationAwareTraining, Fp16Weights)):
        raise param_error("quantize", "method", "a quantization config (DynamicInt8, StaticInt8, "
                          "QuantizationAwareTraining or Fp16Weights)", type(method).__name__)
    if isinstance(method, Fp16Weights):
        half = copy.deepcopy(model)
        with torch.no_grad():
            # Every floating tensor, buffers too: the file stores them all as float16 (a
            # scorecard's factor and offset, an integer model's scales), and the model the gates
            # judge must be the one stored (a review, 2026-12-03: AUC 0.8092 judged, 0.8078 stored).
            for name, tensor in half.state_dict().items():
                if not tensor.is_floating_point():
                    continue
                finite = tensor[torch.isfinite(tensor)]
                if finite.numel() and float(finite.abs().max()) > torch.finfo(torch.float16).max:
                    raise UnsupportedModelError(
                        f"fp16 cannot store {name!r} of this {model.kind!r} model: it holds "
                        f"{float(finite.abs().max()):.6g}, beyond float16's largest value, 65504. Leave out the fp16 "
                        "step for this model.", param="method")
                tensor.copy_(tensor.half().float())
        half.weight_storage = "float16"
        return QuantizeResult(model=half, method=method, info={"storage": "float16"})
    if isinstance(model, (TemporalConvNet, TransformerForecaster)):
        raise UnsupportedModelError(f"{type(method).__name__} has no int8 form for a {model.kind!r} forecaster in finlite. Int8 "
                          "works on LSTM/GRU forecasters (dynamic_int8) and on MLP students, a WindowMLP over the "
                          "window included (every int8 method): distil the forecaster into one of those first, or "
                          "use fp16, which stores any model's weights in half the bytes.", param="method")
    if isinstance(method, QuantizationAwareTraining):
        return _quantization_aware(model, method, calibration_x, data, distillation, train, masks, monotone_index)
    if isinstance(model, SequenceModel):
        if not isinstance(method, DynamicInt8):
            raise UnsupportedModelError(f"{type(method).__name__} is for MLPs; recurrent (LSTM/GRU) models take dynamic_int8, "
                              "whose activation scales follow each step's values.")
        return QuantizeResult(model=quantize_sequence(model), method=method, info={"activations": "dynamic"})
    mlp = _float_mlp(model, type(method).__name__)
    if isinstance(method, DynamicInt8):
        return QuantizeResult(model=convert_to_int8(mlp, None), method=method, info={"activations": "dynamic"})
    if calibration_x is None or len(calibration_x) == 0:
        raise ConfigError("StaticInt8 needs calibration rows (calibration_x); pass a sample of training rows.")
    inputs = layer_inputs(mlp, np.ascontiguousarray(calibration_x, dtype=np.float32))
    ranges = [activation_range(v, method.calibration, method.percentile) for v in inputs]
    scales, zero_points = [r[0] for r in ranges], [r[1] for r in ranges]
    return QuantizeResult(model=convert_to_int8(mlp, scales, zero_points, method.weight_bits), method=method,
                          info={"activations": "static uint8", "input_scales": scales,
                                "input_zero_points": zero_points, "weight_bits": method.weight_bits,
                                "calibration_rows": len(calibration_x)})


def _quantization_aware(model: FinliteModel, method: QuantizationAwareTraining, calibration_x: np.ndarray | None,
                        data: DistillData | None, distillation: MethodConfig | None, train: TrainConfig | None,
                        masks: dict[str, torch.Tensor] | None,
                        monotone_index: Mapping[str, int] | None = None) -> QuantizeResult:
    """Calibrate the initial scales, fine-tune through fake int8 quantization, convert to int8."""
    if not isinstance(model, TabularMLP):
        raise UnsupportedModelError(f"qat fine-tunes a float MLP; this model is {model.kind!r}. Put qat after distillation "
                          "and pruning, instead of another quantization step.")
    if calibration_x is None or len(calibration_x) == 0:
        raise param_error("quantize", "calibration_x", "a sample of encoded training rows for "
                          "QuantizationAwareTraining (its initial activation scales)", calibration_x)
    if data is None:
        raise param_error("quantize", "data", "DistillData (the training rows and teacher outputs, from "
                          "distill_data()) for QuantizationAwareTraining, which is fine-tuned on them", data)
    loss = distillation if distillation is not None else Distillation()
    if not isinstance(loss, (Distillation, RegressionDistillation, HintDistillation)):
        raise param_error("quantize", "distillation", "a distillation config", type(loss).__name__)
    cal = np.ascontiguousarray(calibration_x, dtype=np.float32)
    scales = [activation_scale(v, method.calibration, method.percentile) for v in layer_inputs(model, cal)]
    qat_model = prepare_qat(model, scales, method.momentum, method.weight_bits)
    tuned = distill(data, qat_model, loss, train=train, masks=masks, monotone_index=monotone_index)
    if not isinstance(tuned.model, TabularMLP):  # distill trains a copy of the model it is given
        raise ConfigError(f"Quantization-aware training produced a {tuned.model.kind!r} model, not the fake-quantized "
                          "MLP it fine-tuned; this is a bug in finlite, please report it.")
    final = finish_qat(tuned.model)
    return QuantizeResult(model=final, method=method, info={
        "best_epoch": tuned.training.best_epoch,
        "input_scales": [float(layer.input_scale) for layer in final.modules() if isinstance(layer, Int8Linear)]})


# -- in a recipe ---------------------------------------------------------------------------------
def _apply_weights_only(method: DynamicInt8 | Fp16Weights, state: StepState, ctx: StepContext,
                        train: Mapping[str, Any]) -> tuple[StepState, dict[str, Any]]:
    result = quantize(state.need_model(method), method)
    return StepState(result.model, {}, state.plan, dict(state.extra_files)), result.info


def _apply_calibrated(method: StaticInt8 | QuantizationAwareTraining, state: StepState, ctx: StepContext,
                      train: Mapping[str, Any]) -> tuple[StepState, dict[str, Any]]:
    """Calibrate on a training sample that keeps the rare class; QAT then fine-tunes by the
    recipe's distillation with pruned weights held at zero."""
    model = state.need_model(method)
    tune = ctx.fine_tuning(train)
    rows = calibration_rows(ctx.data.y_train, method.samples, method.rare_share, ctx.seed)
    info: dict[str, Any] = {"calibration_rows": len(rows),
                            "calibration_positives": int(ctx.data.y_train[rows].sum())}
    cal = ctx.data.x_train[rows]
    if isinstance(method, StaticInt8):
        result = quantize(model, method, calibration_x=cal)
    else:
        result = quantize(model, method, calibration_x=cal, data=ctx.tuning_data, distillation=_fine_tuning_loss(ctx),
                          train=tune, masks=state.masks, monotone_index=ctx.monotone_index)
    info.update(result.info)
    return StepState(result.model, {}, state.plan, dict(state.extra_files)), info


register_handler(DynamicInt8, Fp16Weights)(_apply_weights_only)
register_handler(StaticInt8, QuantizationAwareTraining)(_apply_calibrated)
