"""Integer models: int8 weights stored as int8 and multiplied as int8 (int32 accumulation).

An :class:`Int8Linear` keeps its weight as an ``int8`` tensor with one float scale per output
channel (symmetric, zero point 0). Its input is quantized in one of three ways:

- ``uint8`` static (the fast path, what :class:`~finlite.methods.quantize.StaticInt8` and QAT
  produce): one calibrated scale and zero point per layer, ``u = clamp(round(x / s) + zp, 0,
  255)``, and the bias held as int32 in units of ``s · weight_scale``. This is ONNX Runtime's
  fast int8 form (unsigned activations × signed weights, static scales: ``QGemm`` and
  ``MatMulInteger`` on VNNI / AMX), so the exported graph computes exactly this;
- ``int8`` static (artifacts written before the uint8 form): one symmetric scale;
- dynamic: a symmetric scale per row at run time.

The product is computed by ``torch._int_mm`` (an int8 × int8 → int32 kernel; a uint8 input is
shifted by 128 into int8 and the shift added back exactly, ``(128 − zp) · Σw``), and the int32
sums are rescaled to float. Nothing is simulated: the file holds int8 tensors and the forward
pass multiplies them.

Whether that is faster than float32 depends on the CPU (VNNI instructions), the layer sizes
and the batch size; the recipe runner times the exported model and lets the gates decide.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import torch
from torch import nn

from finlite._util import check_widths, param_error
from finlite.models.base import FinliteModel, register_model
from finlite.models.bins import EdgesConfig, InputBins

__all__ = [
    "MODES",
    "SAFE_WEIGHT_BITS",
    "Int8Linear",
    "QuantizedMLP",
    "dequantize",
    "qmax",
    "quantize_per_channel",
    "quantize_symmetric",
]

#: Weight bits of the uint8 form by default. ONNX Runtime's uint8 × int8 kernel on x86 CPUs
#: without VNNI (AVX2) adds each pair of products in 16 bits with saturation; weights within ±63
#: keep every pair below 2¹⁵ (255·63·2 = 32,130), so the exported graph computes exactly what the
#: model does on any x86 CPU. 8 bits are exact with VNNI or AMX and on ARM.
SAFE_WEIGHT_BITS: Final = 7

#: QuantizedMLP modes: how activations are quantized (see the module doc).
MODES = ("static_uint8", "dynamic", "static")

_ACTIVATIONS = {"relu": nn.ReLU, "gelu": nn.GELU, "tanh": nn.Tanh, "silu": nn.SiLU}


def qmax(bits: int) -> int:
    """Largest magnitude of a symmetric signed integer with ``bits`` bits (127 for 8 bits)."""
    return int(2 ** (bits - 1) - 1)


def quantize_symmetric(x: torch.Tensor, scale: torch.Tensor, bits: int = 8) -> torch.Tensor:
    """Round ``x / scale`` to the nearest integer and clip to ±qmax; returns int8 (bits ≤ 8) or int32."""
    q = qmax(bits)
    dtype = torch.int8 if bits <= 8 else torch.int32
    return torch.clamp(torch.round(x / scale), -q, q).to(dtype)


def quantize_per_channel(weight: torch.Tensor, bits: int = 8) -> tuple[torch.Tensor, torch.Tensor]:
    """Symmetric per-output-channel quantization of a 2-D weight: (integer weight, scale per row).

    Each row's scale is ``max|w_row| / qmax`` so the largest weight maps to ±qmax and every
    weight is reproduced within half a step. An all-zero row gets scale 1 (any scale is exact).
    """
    if weight.dim() != 2:
        raise ValueError(f"quantize_per_channel expects a 2-D weight; got shape {tuple(weight.shape)}")
    w = weight.detach().float()
    scale = w.abs().amax(dim=1) / qmax(bits)
    scale = torch.where(scale > 0, scale, torch.ones_like(scale))
    return quantize_symmetric(w, scale[:, None], bits), scale


def dequantize(q: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """Float values of integer weights ``q`` with per-row ``scale``."""
    return q.float() * scale[:, None]


class Int8Linear(nn.Module):
    """``y = x Wᵀ + b`` with W stored as int8 and the product computed in int8 × int8 → int32.

    Buffers (all saved): ``weight_int8`` [out, in], ``weight_scale`` [out], ``bias`` [out], and
    ``input_scale`` (a scalar: > 0 for a calibrated static scale, 0 for dynamic per-row scales);
    with ``unsigned=True`` also ``input_zero_point`` (an int32 scalar in [0, 255]): the input is
    then quantized to uint8 and the bias is applied as int32 (see the module doc).
    """

    # Buffers, declared so the type checker sees tensors rather than Module.__getattr__'s union.
    weight_int8: torch.Tensor
    weight_scale: torch.Tensor
    bias: torch.Tensor
    input_scale: torch.Tensor
    input_zero_point: torch.Tensor  # the uint8 form only (see `unsigned`)

    def __init__(self, in_features: int, out_features: int, unsigned: bool = False) -> None:
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.register_buffer("weight_int8", torch.zeros(out_features, in_features, dtype=torch.int8))
        self.register_buffer("weight_scale", torch.ones(out_features))
        self.register_buffer("bias", torch.zeros(out_features))
        self.register_buffer("input_scale", torch.zeros(()))
        if unsigned:  # only the uint8 form has it, so artifacts of the signed forms load unchanged
            self.register_buffer("input_zero_point", torch.zeros((), dtype=torch.int32))

    @classmethod
    def from_float(cls, linear: nn.Linear, input_scale: float | None = None,
                   zero_point: int | None = None, weight_bits: int = 8) -> Int8Linear:
        """Quantize a float Linear layer. ``input_scale`` None means dynamic activation scales; a
        scale with ``zero_point`` (0-255) gives the uint8 static form, without it the signed one.
        ``weight_bits`` 7 keeps the int8 weights within ±63 (see :data:`SAFE_WEIGHT_BITS`)."""
        if zero_point is not None and (input_scale is None or not 0 <= int(zero_point) <= 255):
            raise ValueError(f"a uint8 input needs a scale and a zero point in [0, 255]; got scale {input_scale!r}, "
                             f"zero point {zero_point!r}")
        layer = cls(linear.in_features, linear.out_features, unsigned=zero_point is not None)
        q, scale = quantize_per_channel(linear.weight, weight_bits)
        with torch.no_grad():
            layer.weight_int8.copy_(q)
            layer.weight_scale.copy_(scale)
            if linear.bias is not None:
                layer.bias.copy_(linear.bias.detach())
            layer.input_scale.fill_(0.0 if input_scale is None else float(input_scale))
            if zero_point is not None:
                layer.input_zero_point.fill_(int(zero_point))
        return layer

    @property
    def dynamic(self) -> bool:
        """True when activations are scaled per row at run time."""
        return float(self.input_scale) == 0.0

    @property
    def unsigned(self) -> bool:
        """True for the uint8 static form (calibrated scale and zero point, int32 bias)."""
        return hasattr(self, "input_zero_point")

    def output_scale(self) -> torch.Tensor:
        """``input_scale · weight_scale`` per output channel: the float value of one unit of the int32 sum."""
        return (self.input_scale * self.weight_scale).float()

    def bias_int32(self) -> torch.Tensor:
        """The bias in units of :meth:`output_scale`, rounded to int32 (the uint8 form adds it to the sums)."""
        q = torch.round(self.bias / self.output_scale())
        return torch.clamp(q, -(2 ** 31) + 1, 2 ** 31 - 1).to(torch.int32)

    def quantize_input(self, x: torch.Tensor) -> torch.Tensor:
        """uint8 codes of ``x`` (2-D) as ONNX ``QuantizeLinear`` computes them (round half to even)."""
        zp = self.input_zero_point.float()
        return torch.clamp(torch.round(x / self.input_scale) + zp, 0, 255).to(torch.uint8)

    def dequantized_weight(self) -> torch.Tensor:
        """The float weight the int8 values stand for (for analysis, not for the forward pass)."""
        return dequantize(self.weight_int8, self.weight_scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Quantize ``x``, multiply in int8 with int32 accumulation, rescale to float."""
        shape = x.shape
        x2 = x.reshape(-1, self.in_features)
        if self.unsigned:
            return self._forward_uint8(x2).reshape(*shape[:-1], self.out_features)
        if self.dynamic:
            s = (x2.abs().amax(dim=1, keepdim=True) / 127.0).clamp_min(1e-12)
        else:
            s = self.input_scale
        xq = torch.clamp(torch.round(x2 / s), -127, 127).to(torch.int8)
        if self.in_features < 8:
            # torch 2.13's CPU _int_mm returns garbage when the inner dimension is 1 (seen with
            # one input feature per time step); tiny inner dimensions take the exact int32 path.
            acc = xq.to(torch.int32) @ self.weight_int8.t().to(torch.int32)
        else:
            # _int_mm wants a contiguous (in, out) right-hand side; transposing a few KiB is cheap.
            acc = torch._int_mm(xq, self.weight_int8.t().contiguous())
        y = acc.to(torch.float32) * (s * self.weight_scale) + self.bias
        return y.reshape(*shape[:-1], self.out_features)

    def _forward_uint8(self, x2: torch.Tensor) -> torch.Tensor:
        """Σ (u − zp)·w in int32, plus the int32 bias, times ``s · weight_scale``: what ONNX
        Runtime's QGemm / MatMulInteger compute for the exported graph."""
        u = self.quantize_input(x2)
        zp = int(self.input_zero_point)
        # _int_mm takes int8: shift u by 128 (exact, u − 128 fits int8) and add the shift back
        # as (128 − zp) · Σ_in w, an exact int32 correction per output channel.
        centred = (u.to(torch.int16) - 128).to(torch.int8)
        w = self.weight_int8.t().contiguous()  # [in, out]
        if self.in_features < 8:  # see forward(): tiny inner dimensions take the exact int32 path
            acc = centred.to(torch.int32) @ w.to(torch.int32)
        else:
            acc = torch._int_mm(centred, w)
        shift = (128 - zp) * self.weight_int8.to(torch.int32).sum(dim=1)
        total = acc + shift + self.bias_int32()
        return total.to(torch.float32) * self.output_scale()


@register_model
class QuantizedMLP(FinliteModel):
    """A :class:`~finlite.models.mlp.TabularMLP` whose Linear layers are :class:`Int8Linear`.

    Args:
        in_features: width of the preprocessed input.
        hidden: hidden widths (after any structured pruning).
        activation: the float model's activation.
        mode: "static_uint8" (calibrated uint8 activations, ONNX Runtime's fast form), "dynamic"
            (activations scaled per row at run time) or "static" (calibrated symmetric int8
            activations, the form of artifacts written before static_uint8).
        ranks: low-rank factorised layers, as in :class:`~finlite.models.mlp.TabularMLP`.
    """

    kind = "mlp_int8"

    def __init__(self, in_features: int, hidden: Sequence[int], activation: str = "relu",
                 mode: str = "dynamic", ranks: Sequence[int | None] | None = None,
                 bins: EdgesConfig | None = None) -> None:
        super().__init__()
        if mode not in MODES:
            raise param_error("QuantizedMLP", "mode", f"one of {MODES}", mode)
        if activation not in _ACTIVATIONS:
            raise param_error("QuantizedMLP", "activation", f"one of {sorted(_ACTIVATIONS)}", activation)
        self.in_features, self.hidden = int(in_features), check_widths("QuantizedMLP", "hidden", hidden)
        self.activation, self.mode = activation, mode
        self.ranks: list[int | None] = list(ranks) if ranks is not None else [None] * (len(self.hidden) + 1)
        # The float model's input bins, unchanged (a fixed float layer before the int8 products).
        self.bins = None if bins is None else InputBins(self.in_features, bins)
        widths = (self.in_features if self.bins is None else self.bins.out_features, *self.hidden, 1)
        u = mode == "static_uint8"
        self.layers = nn.ModuleList(
            Int8Linear(a, b, u) if r is None else nn.Sequential(Int8Linear(a, r, u), Int8Linear(r, b, u))
            for a, b, r in zip(widths[:-1], widths[1:], self.ranks, strict=True)
        )
        self.act = _ACTIVATIONS[activation]()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """One logit per row."""
        if self.bins is not None:
            x = self.bins(x)
        for layer in self.layers[:-1]:
            x = self.act(layer(x))
        out: torch.Tensor = self.layers[-1](x)
        return out.squeeze(-1)

    def config(self) -> dict[str, Any]:
        """Architecture for :func:`finlite.models.build_model`."""
        out = {"kind": self.kind, "in_features": self.in_features, "hidden": list(self.hidden),
               "activation": self.activation, "mode": self.mode}
        if any(r is not None for r in self.ranks):
            out["ranks"] = list(self.ranks)
        if self.bins is not None:
            out["bins"] = self.bins_config
        return out

    @property
    def bins_config(self) -> list[list[Any]] | None:
        """The input bins' edges as the config stores them (None without bins)."""
        return None if self.bins is None else self.bins.config()
