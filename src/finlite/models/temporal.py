"""Window forecasters besides the recurrent ones: a temporal convolutional network, a small
Transformer encoder and an MLP over the flattened window, with their int8 and pruned forms.

Every forecaster reads windows ``[rows, window, features]`` (the last ``window`` rows of features
up to the forecast date) and returns one number per row: the forecast (``task="regression"``)
or the log-odds of an up-move (``task="classification"``). Each ends in a Linear ``head``.

- :class:`TemporalConvNet`: dilated causal 1-D convolutions (dilation ``2**i``), padded on the
  left only, so the output at step t reads inputs at steps ≤ t; the head reads the last step.
- :class:`TransformerForecaster`: a learned position embedding per step, pre-norm encoder blocks
  written with explicit q/k/v/out Linear layers (so the ONNX builder mirrors them op for op),
  and a readout of the last step.
- :class:`WindowMLP`: a :class:`~finlite.models.mlp.TabularMLP` over the flattened window, so
  every MLP method (structured and unstructured pruning, int8, low rank, QAT) applies to it;
  :func:`mlp_like` and :func:`int8_mlp_like` rebuild an MLP of the same kind, which the
  methods use so that a WindowMLP stays a WindowMLP.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from finlite._limits import MAX_DEPTH
from finlite._util import param_error
from finlite.errors import ConfigError
from finlite.models.base import FinliteModel, register_model
from finlite.models.mlp import TabularMLP
from finlite.models.quantized import QuantizedMLP

__all__ = [
    "EncoderBlock",
    "QuantizedWindowMLP",
    "TemporalConvNet",
    "TransformerForecaster",
    "WindowMLP",
    "channel_scores",
    "conv_layers",
    "int8_mlp_like",
    "mlp_like",
    "prune_channels",
]

TASKS = ("regression", "classification")


def _check_task(owner: str, task: Any) -> str:
    if task not in TASKS:
        raise param_error(owner, "task", "'regression' or 'classification'", task)
    return str(task)


def _positive_int(owner: str, name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise param_error(owner, name, "a positive integer", value)
    return int(value)


def _check_window(owner: str, x: torch.Tensor, window: int | None, in_features: int) -> None:
    """Refuse input that is not ``[rows, window, features]`` with this model's sizes."""
    if x.dim() != 3 or x.shape[-1] != in_features or (window is not None and x.shape[1] != window):
        steps = window if window is not None else "steps"
        raise ConfigError(f"{owner} reads windows of shape [rows, {steps}, {in_features}]; got input of shape "
                          f"{list(x.shape)}. Build the windows with the model's window and features.")


def conv_layers(model: TemporalConvNet) -> list[nn.Conv1d]:
    """The convolutions of a TCN in forward order, typed (a ``ModuleList`` iterates as ``Module``)."""
    return [layer for layer in model.convs if isinstance(layer, nn.Conv1d)]


# -- temporal convolutional network --------------------------------------------------------------
@register_model
class TemporalConvNet(FinliteModel):
    """Dilated causal convolutions (Bai, Kolter & Koltun 2018, without the residual blocks).

    Layer i is ``Conv1d(kernel_size, dilation=2**i)`` with ``(kernel_size − 1)·2**i`` zeros of
    padding on the left only, then ReLU; the head reads the last step's channels. The receptive
    field is ``1 + (kernel_size − 1)·(2**layers − 1)`` steps; steps before it do not change the
    forecast.

    Args:
        in_features: features per time step.
        channels: output channels of each convolution, e.g. ``(32, 32)``; pruning shrinks them.
        kernel_size: taps of every convolution (≥ 2).
        task: "regression" (a forecast) or "classification" (log-odds).
    """

    kind = "tcn"

    def __init__(self, in_features: int, channels: Sequence[int] = (32, 32), kernel_size: int = 3,
                 task: str = "regression") -> None:
        super().__init__()
        self.in_features = _positive_int("TemporalConvNet", "in_features", in_features)
        if isinstance(channels, (int, str)) or not channels or len(channels) > MAX_DEPTH or any(
                isinstance(c, bool) or not isinstance(c, (int, np.integer)) or c < 1 for c in channels):
            raise param_error("TemporalConvNet", "channels", f"a non-empty list of at most {MAX_DEPTH} positive integers",
                              channels if len(repr(channels)) < 200 else f"{len(channels):,} channels")
        if isinstance(kernel_size, bool) or not isinstance(kernel_size, (int, np.integer)) or kernel_size < 2:
            raise param_error("TemporalConvNet", "kernel_size", "an integer ≥ 2", kernel_size)
        self.channels = [int(c) for c in channels]
        self.kernel_size = int(kernel_size)
        self.task = _check_task("TemporalConvNet", task)
        widths = [self.in_features, *self.channels]
        self.convs = nn.ModuleList(nn.Conv1d(a, b, self.kernel_size, dilation=2 ** i)
                                   for i, (a, b) in enumerate(itertools.pairwise(widths)))
        self.head = nn.Linear(self.channels[-1], 1)

    @property
    def receptive_field(self) -> int:
        """Steps that reach the last step's output."""
        return 1 + (self.kernel_size - 1) * ((1 << len(self.channels)) - 1)

    def left_padding(self, layer: int) -> int:
        """Zeros padded before the first step of convolution ``layer`` (causality: none after)."""
        return (self.kernel_size - 1) * (1 << layer)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """One output per window."""
        _check_window("TemporalConvNet", x, None, self.in_features)
        h = x.transpose(1, 2)  # [rows, features, steps], Conv1d's layout
        for i, conv in enumerate(conv_layers(self)):
            h = torch.relu(conv(F.pad(h, (self.left_padding(i), 0))))
        out: torch.Tensor = self.head(h[:, :, -1])
        return out.squeeze(-1)

    def config(self) -> dict[str, Any]:
        """Architecture for :func:`finlite.models.build_model`."""
        return {"kind": self.kind, "in_features": self.in_features, "channels": list(self.channels),
                "kernel_size": self.kernel_size, "task": self.task}


def channel_scores(model: TemporalConvNet, norm: str = "l2") -> list[np.ndarray]:
    """Per convolution, each output channel's norm over its kernel (all input channels and taps)."""
    ord_ = 1 if norm == "l1" else 2
    out = []
    for conv in conv_layers(model):
        w = conv.weight.detach().double().reshape(conv.out_channels, -1)
        out.append(torch.linalg.vector_norm(w, ord=ord_, dim=1).numpy())
    return out


def prune_channels(model: TemporalConvNet, keep: Sequence[Sequence[int]]) -> TemporalConvNet:
    """A narrower copy keeping, per convolution, the output channels listed in ``keep``.

    Each kept channel keeps its kernel and bias; the next convolution keeps the input channels
    of the kept ones and the head their columns, so the result computes exactly what the
    original does with the other channels silenced (their outputs zero).
    """
    if len(keep) != len(model.channels):
        raise ConfigError(f"keep lists {len(keep)} layers; the TCN has {len(model.channels)} convolutions.")
    keep_t = [torch.tensor(sorted(int(j) for j in k), dtype=torch.long) for k in keep]
    for i, (k, c) in enumerate(zip(keep_t, model.channels, strict=True)):
        if len(k) == 0 or int(k.max()) >= c or int(k.min()) < 0 or len(set(k.tolist())) != len(k):
            raise ConfigError(f"Convolution {i} keeps channels {k.tolist()}; it has channels 0..{c - 1} and must "
                              "keep at least one, each once.")
    new = TemporalConvNet(model.in_features, [len(k) for k in keep_t], model.kernel_size, model.task)
    with torch.no_grad():
        for i, (old, fresh) in enumerate(zip(conv_layers(model), conv_layers(new), strict=True)):
            w = old.weight[keep_t[i]]
            if i > 0:
                w = w[:, keep_t[i - 1]]
            fresh.weight.copy_(w)
            if fresh.bias is not None and old.bias is not None:
                fresh.bias.copy_(old.bias[keep_t[i]])
        new.head.weight.copy_(model.head.weight[:, keep_t[-1]])
        new.head.bias.copy_(model.head.bias)
    new.eval()
    return new


# -- Transformer encoder -------------------------------------------------------------------------
class EncoderBlock(nn.Module):
    """One block of :class:`TransformerForecaster`, pre-norm: ``h + out(attention(norm1(h)))``,
    then ``h + ff2(relu(ff1(norm2(h))))``. Public so that code reading a model's structure (its
    FLOPs per row, :func:`finlite.evaluate.cost.flops_per_row`) can recognise the attention it holds."""

    def __init__(self, d_model: int, heads: int, ff: int) -> None:
        super().__init__()
        self.heads = heads
        self.norm1 = nn.LayerNorm(d_model)
        self.q, self.k, self.v = nn.Linear(d_model, d_model), nn.Linear(d_model, d_model), nn.Linear(d_model, d_model)
        self.out = nn.Linear(d_model, d_model)
        self.norm2 = nn.LayerNorm(d_model)
        self.ff1, self.ff2 = nn.Linear(d_model, ff), nn.Linear(ff, d_model)

    def _split(self, t: torch.Tensor) -> torch.Tensor:
        rows, steps, d = t.shape
        return t.reshape(rows, steps, self.heads, d // self.heads).transpose(1, 2)  # [rows, heads, steps, dh]

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        a = self.norm1(h)
        q, k, v = self._split(self.q(a)), self._split(self.k(a)), self._split(self.v(a))
        scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
        ctx = (torch.softmax(scores, dim=-1) @ v).transpose(1, 2).reshape(h.shape)
        h = h + self.out(ctx)
        out: torch.Tensor = h + self.ff2(torch.relu(self.ff1(self.norm2(h))))
        return out


@register_model
class TransformerForecaster(FinliteModel):
    """A small Transformer encoder over the window, read out at the last step.

    The window's steps are embedded by a Linear layer plus a learned embedding of each position,
    go through ``layers`` pre-norm encoder blocks (multi-head self-attention over the window and
    a ReLU feed-forward layer), a final LayerNorm, and the head reads the last step. Attention is
    not masked: the window holds only rows up to the forecast date, so every step may see every
    other one.

    Args:
        in_features: features per time step.
        window: steps per window (the position embedding has one vector per step).
        d_model: width of the embedding (divisible by ``heads``).
        heads: attention heads.
        layers: encoder blocks.
        ff: width of the feed-forward layer.
        task: "regression" (a forecast) or "classification" (log-odds).
    """

    kind = "transformer"

    def __init__(self, in_features: int, window: int, d_model: int = 32, heads: int = 4, layers: int = 1,
                 ff: int = 64, task: str = "regression") -> None:
        super().__init__()
        owner = "TransformerForecaster"
        self.in_features = _positive_int(owner, "in_features", in_features)
        self.window = _positive_int(owner, "window", window)
        self.d_model = _positive_int(owner, "d_model", d_model)
        self.heads = _positive_int(owner, "heads", heads)
        self.layers = _positive_int(owner, "layers", layers)
        if self.layers > MAX_DEPTH:
            raise param_error(owner, "layers", f"at most {MAX_DEPTH}", layers)
        self.ff = _positive_int(owner, "ff", ff)
        if self.d_model % self.heads:
            raise param_error(owner, "d_model", f"a multiple of heads ({self.heads})", d_model)
        self.task = _check_task(owner, task)
        self.embed = nn.Linear(self.in_features, self.d_model)
        self.position = nn.Parameter(torch.randn(self.window, self.d_model) * 0.02)
        self.blocks = nn.ModuleList(EncoderBlock(self.d_model, self.heads, self.ff) for _ in range(self.layers))
        self.norm = nn.LayerNorm(self.d_model)
        self.head = nn.Linear(self.d_model, 1)

    def encoder_blocks(self) -> list[EncoderBlock]:
        """The encoder blocks in forward order, typed."""
        return [b for b in self.blocks if isinstance(b, EncoderBlock)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """One output per window."""
        _check_window("TransformerForecaster", x, self.window, self.in_features)
        h = self.embed(x) + self.position
        for block in self.encoder_blocks():
            h = block(h)
        out: torch.Tensor = self.head(self.norm(h[:, -1, :]))
        return out.squeeze(-1)

    def config(self) -> dict[str, Any]:
        """Architecture for :func:`finlite.models.build_model`."""
        return {"kind": self.kind, "in_features": self.in_features, "window": self.window, "d_model": self.d_model,
                "heads": self.heads, "layers": self.layers, "ff": self.ff, "task": self.task}


# -- MLP over the flattened window ---------------------------------------------------------------
@register_model
class WindowMLP(TabularMLP):
    """An MLP over the flattened window: ``[rows, window, features]`` → ``[rows, window·features]``.

    It is a :class:`~finlite.models.mlp.TabularMLP` (its ``layers`` read ``window·in_features``
    numbers), so MLP pruning, int8, low rank and QAT apply unchanged; ``in_features`` is the
    number of features per step, as for the other forecasters.

    Args:
        window: steps per window.
        in_features: features per step.
        hidden: hidden widths (``()`` gives a linear model of the window).
        task: "regression" (a forecast) or "classification" (log-odds).
        dropout, activation, ranks: as in :class:`~finlite.models.mlp.TabularMLP`.
    """

    kind = "window_mlp"

    def __init__(self, window: int, in_features: int, hidden: Sequence[int] = (32,), task: str = "regression",
                 dropout: float = 0.0, activation: str = "relu", ranks: Sequence[int | None] | None = None) -> None:
        window = _positive_int("WindowMLP", "window", window)
        per_step = _positive_int("WindowMLP", "in_features", in_features)
        super().__init__(window * per_step, hidden, dropout=dropout, activation=activation, ranks=ranks)
        self.window, self.in_features = window, per_step
        self.task = _check_task("WindowMLP", task)

    @property
    def flat_features(self) -> int:
        """Width of the flattened window the first layer reads."""
        return self.window * self.in_features

    @property
    def head(self) -> nn.Linear:
        """The final Linear layer, as every forecaster has (after low rank: its second factor,
        which holds the bias), e.g. to fold a target scale into the output."""
        last = self.layers[-1]
        if isinstance(last, nn.Sequential):
            last = last[-1]
        if not isinstance(last, nn.Linear):
            raise ConfigError(f"The last layer of this WindowMLP is a {type(last).__name__}, not a Linear layer.")
        return last

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """One output per window."""
        _check_window("WindowMLP", x, self.window, self.in_features)
        return super().forward(x.reshape(x.shape[0], -1))

    def forward_with_hidden(self, x: torch.Tensor, layer: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Outputs and the activations of hidden layer ``layer`` (for hint distillation)."""
        return super().forward_with_hidden(x.reshape(x.shape[0], -1), layer)

    def config(self) -> dict[str, Any]:
        """Architecture for :func:`finlite.models.build_model`."""
        out = {"kind": self.kind, "window": self.window, "in_features": self.in_features, "hidden": list(self.hidden),
               "task": self.task, "dropout": self.dropout, "activation": self.activation}
        if any(r is not None for r in self.ranks):
            out["ranks"] = list(self.ranks)
        return out


@register_model
class QuantizedWindowMLP(QuantizedMLP):
    """The int8 form of a :class:`WindowMLP`: a :class:`~finlite.models.quantized.QuantizedMLP`
    over the flattened window (``in_features`` per step, as in the float model)."""

    kind = "window_mlp_int8"

    def __init__(self, window: int, in_features: int, hidden: Sequence[int], task: str = "regression",
                 activation: str = "relu", mode: str = "dynamic", ranks: Sequence[int | None] | None = None) -> None:
        window = _positive_int("QuantizedWindowMLP", "window", window)
        per_step = _positive_int("QuantizedWindowMLP", "in_features", in_features)
        super().__init__(window * per_step, hidden, activation=activation, mode=mode, ranks=ranks)
        self.window, self.in_features = window, per_step
        self.task = _check_task("QuantizedWindowMLP", task)

    @property
    def flat_features(self) -> int:
        """Width of the flattened window the first layer reads."""
        return self.window * self.in_features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """One output per window."""
        _check_window("QuantizedWindowMLP", x, self.window, self.in_features)
        return super().forward(x.reshape(x.shape[0], -1))

    def config(self) -> dict[str, Any]:
        """Architecture for :func:`finlite.models.build_model`."""
        out = {"kind": self.kind, "window": self.window, "in_features": self.in_features, "hidden": list(self.hidden),
               "task": self.task, "activation": self.activation, "mode": self.mode}
        if any(r is not None for r in self.ranks):
            out["ranks"] = list(self.ranks)
        return out


def mlp_like(model: TabularMLP, hidden: Sequence[int], *, ranks: Sequence[int | None] | None = None,
             dropout: float | None = None) -> TabularMLP:
    """A fresh float MLP of ``model``'s kind and input (a WindowMLP keeps its window and task)
    with the given hidden widths and low-rank factors; the methods that rebuild an MLP use it."""
    drop = model.dropout if dropout is None else dropout
    if isinstance(model, WindowMLP):
        return WindowMLP(model.window, model.in_features, hidden, task=model.task, dropout=drop,
                         activation=model.activation, ranks=ranks)
    return TabularMLP(model.in_features, hidden, dropout=drop, activation=model.activation, ranks=ranks,
                      bins=model.bins_config)


def int8_mlp_like(model: TabularMLP, mode: str) -> QuantizedMLP:
    """An (empty) int8 MLP with ``model``'s architecture: a :class:`QuantizedWindowMLP` for a
    WindowMLP, a :class:`~finlite.models.quantized.QuantizedMLP` otherwise."""
    if isinstance(model, WindowMLP):
        return QuantizedWindowMLP(model.window, model.in_features, model.hidden, task=model.task,
                                  activation=model.activation, mode=mode, ranks=model.ranks)
    return QuantizedMLP(model.in_features, model.hidden, activation=model.activation, mode=mode, ranks=model.ranks,
                        bins=model.bins_config)
