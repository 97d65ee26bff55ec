"""Integer models: int8 weights stored as int8 and multiplied as int8 (int32 accumulation).

An :class:`Int8Linear` keeps its weight as an ``int8`` tensor with one float scale per output
channel (symmetric, zero point 0). Its input is quantized to int8 either per row at run time
(dynamic quantization) or with one scale fixed by calibration (static quantization), the
product is computed by ``torch._int_mm`` (an int8 × int8 → int32 kernel), and the int32 sums
are rescaled to float. Nothing is simulated: the file holds int8 tensors and the forward pass
multiplies them.

Whether that is faster than float32 depends on the CPU (VNNI instructions) and the batch
size; the recipe runner measures it and lets the gates decide.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from finlite._util import param_error
from finlite.models.base import FinliteModel, register_model

__all__ = ["Int8Linear", "QuantizedMLP", "dequantize", "quantize_per_channel", "quantize_symmetric", "qmax"]

_ACTIVATIONS = {"relu": nn.ReLU, "gelu": nn.GELU, "tanh": nn.Tanh, "silu": nn.SiLU}


def qmax(bits: int) -> int:
    """Largest magnitude of a symmetric signed integer with ``bits`` bits (127 for 8 bits)."""
    return 2 ** (bits - 1) - 1


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
    ``input_scale`` (a scalar: > 0 for a calibrated static scale, 0 for dynamic per-row scales).
    """

    def __init__(self, in_features: int, out_features: int) -> None:
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.register_buffer("weight_int8", torch.zeros(out_features, in_features, dtype=torch.int8))
        self.register_buffer("weight_scale", torch.ones(out_features))
        self.register_buffer("bias", torch.zeros(out_features))
        self.register_buffer("input_scale", torch.zeros(()))

    @classmethod
    def from_float(cls, linear: nn.Linear, input_scale: float | None = None) -> Int8Linear:
        """Quantize a float Linear layer; ``input_scale`` None means dynamic activation scales."""
        layer = cls(linear.in_features, linear.out_features)
        q, scale = quantize_per_channel(linear.weight)
        with torch.no_grad():
            layer.weight_int8.copy_(q)
            layer.weight_scale.copy_(scale)
            if linear.bias is not None:
                layer.bias.copy_(linear.bias.detach())
            layer.input_scale.fill_(0.0 if input_scale is None else float(input_scale))
        return layer

    @property
    def dynamic(self) -> bool:
        """True when activations are scaled per row at run time."""
        return float(self.input_scale) == 0.0

    def dequantized_weight(self) -> torch.Tensor:
        """The float weight the int8 values stand for (for analysis, not for the forward pass)."""
        return dequantize(self.weight_int8, self.weight_scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Quantize ``x``, multiply in int8 with int32 accumulation, rescale to float."""
        shape = x.shape
        x2 = x.reshape(-1, self.in_features)
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


@register_model
class QuantizedMLP(FinliteModel):
    """A :class:`~finlite.models.mlp.TabularMLP` whose Linear layers are :class:`Int8Linear`.

    Args:
        in_features: width of the preprocessed input.
        hidden: hidden widths (after any structured pruning).
        activation: the float model's activation.
        mode: "dynamic" (activations scaled per row at run time) or "static" (calibrated scales).
        ranks: low-rank factorised layers, as in :class:`~finlite.models.mlp.TabularMLP`.
    """

    kind = "mlp_int8"

    def __init__(self, in_features: int, hidden: Sequence[int], activation: str = "relu",
                 mode: str = "dynamic", ranks: Sequence[int | None] | None = None) -> None:
        super().__init__()
        if mode not in ("dynamic", "static"):
            raise param_error("QuantizedMLP", "mode", "'dynamic' or 'static'", mode)
        if activation not in _ACTIVATIONS:
            raise param_error("QuantizedMLP", "activation", f"one of {sorted(_ACTIVATIONS)}", activation)
        self.in_features, self.hidden = int(in_features), tuple(int(h) for h in hidden)
        self.activation, self.mode = activation, mode
        self.ranks: list[int | None] = list(ranks) if ranks is not None else [None] * (len(self.hidden) + 1)
        widths = (self.in_features, *self.hidden, 1)
        self.layers = nn.ModuleList(
            Int8Linear(a, b) if r is None else nn.Sequential(Int8Linear(a, r), Int8Linear(r, b))
            for a, b, r in zip(widths[:-1], widths[1:], self.ranks, strict=True)
        )
        self.act = _ACTIVATIONS[activation]()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """One logit per row."""
        for layer in self.layers[:-1]:
            x = self.act(layer(x))
        return self.layers[-1](x).squeeze(-1)

    def config(self) -> dict[str, Any]:
        """Architecture for :func:`finlite.models.build_model`."""
        out = {"kind": self.kind, "in_features": self.in_features, "hidden": list(self.hidden),
               "activation": self.activation, "mode": self.mode}
        if any(r is not None for r in self.ranks):
            out["ranks"] = list(self.ranks)
        return out
