"""Recurrent forecasters (LSTM / GRU) and their int8 form, with structured pruning of hidden units.

A :class:`SequenceModel` reads windows ``[rows, steps, features]`` (e.g. 30 days of returns and
volumes) and outputs one number per window: a forecast (``task="regression"``) or the log-odds
of an up-move (``task="classification"``). Each recurrent layer is its own module so pruning
can leave layers with different widths.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Iterable, Sequence
from typing import Any, cast

import numpy as np
import torch
from torch import nn

from finlite._util import check_widths, param_error
from finlite.errors import ConfigError
from finlite.models.base import FinliteModel, register_model
from finlite.models.quantized import Int8Linear

__all__ = ["QuantizedSequenceModel", "SequenceModel", "int8_layers", "prune_recurrent_units", "quantize_sequence",
           "recurrent_unit_scores", "rnn_layers", "rnn_weights"]

_CELLS = {"lstm": (nn.LSTM, 4), "gru": (nn.GRU, 3)}


def rnn_layers(layers: Iterable[nn.Module]) -> list[nn.RNNBase]:
    """The recurrent layers among ``layers``, typed (a ``ModuleList`` iterates as plain ``Module``)."""
    return [layer for layer in layers if isinstance(layer, nn.RNNBase)]


def int8_layers(layers: Iterable[nn.Module]) -> list[Int8Linear]:
    """The int8 layers among ``layers``, typed (a ``ModuleList`` iterates as plain ``Module``)."""
    return [layer for layer in layers if isinstance(layer, Int8Linear)]


def rnn_weights(layer: nn.RNNBase) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """``weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0`` of a one-layer LSTM or GRU.

    torch registers them by name at run time, so they are typed only through
    ``Module.__getattr__`` (a union with ``Module``); this is the one place that says they are tensors.
    """
    names = ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")
    w_ih, w_hh, b_ih, b_hh = (cast(torch.Tensor, getattr(layer, name)) for name in names)
    return w_ih, w_hh, b_ih, b_hh


@register_model
class SequenceModel(FinliteModel):
    """Stacked LSTM or GRU layers, then a Linear head on the last step's hidden state.

    Args:
        cell: "lstm" or "gru".
        in_features: features per time step.
        hidden: width of each recurrent layer, e.g. ``[32]`` or ``[64, 32]``.
        task: "regression" (a forecast) or "classification" (log-odds).
    """

    kind = "sequence"

    def __init__(self, cell: str, in_features: int, hidden: Sequence[int] = (32,), task: str = "regression") -> None:
        super().__init__()
        if cell not in _CELLS:
            raise param_error("SequenceModel", "cell", "'lstm' or 'gru'", cell)
        if task not in ("regression", "classification"):
            raise param_error("SequenceModel", "task", "'regression' or 'classification'", task)
        hidden = list(check_widths("SequenceModel", "hidden", hidden, empty=False))
        self.cell, self.in_features, self.hidden, self.task = cell, int(in_features), hidden, task
        rnn_cls, _ = _CELLS[cell]
        widths = [self.in_features, *hidden]
        self.rnn = nn.ModuleList(rnn_cls(a, b, batch_first=True) for a, b in itertools.pairwise(widths))
        self.head = nn.Linear(hidden[-1], 1)

    @property
    def gates(self) -> int:
        """Gate blocks per unit: 4 for LSTM, 3 for GRU."""
        return _CELLS[self.cell][1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """One output per window."""
        for layer in self.rnn:
            x, _ = layer(x)
        out: torch.Tensor = self.head(x[:, -1, :])
        return out.squeeze(-1)

    def config(self) -> dict[str, Any]:
        """Architecture for :func:`finlite.models.build_model`."""
        return {"kind": self.kind, "cell": self.cell, "in_features": self.in_features, "hidden": list(self.hidden),
                "task": self.task}


def recurrent_unit_scores(model: SequenceModel, norm: str = "l2") -> list[np.ndarray]:
    """Per layer, each hidden unit's norm over all its gate rows in the input and recurrent weights."""
    out = []
    ord_ = 1 if norm == "l1" else 2
    for layer, h in zip(rnn_layers(model.rnn), model.hidden, strict=True):
        w_ih, w_hh, _, _ = rnn_weights(layer)
        w = torch.cat([w_ih.detach(), w_hh.detach()], dim=1).double()
        rows = w.view(model.gates, h, -1).permute(1, 0, 2).reshape(h, -1)  # unit-major: all gates of unit j
        out.append(torch.linalg.vector_norm(rows, ord=ord_, dim=1).numpy())
    return out


def prune_recurrent_units(model: SequenceModel, keep: Sequence[Sequence[int]]) -> SequenceModel:
    """A narrower copy keeping, per layer, the hidden units listed in ``keep`` (ascending).

    Each kept unit keeps its rows in every gate block of ``weight_ih``/``weight_hh``/biases, the
    recurrent columns of the kept units, the next layer's input columns and the head's columns,
    so the result computes exactly what the original does with the other units silenced.
    """
    if len(keep) != len(model.hidden):
        raise ConfigError(f"keep lists {len(keep)} layers; the model has {len(model.hidden)}.")
    keep_t = [torch.tensor(sorted(k), dtype=torch.long) for k in keep]
    for i, (k, h) in enumerate(zip(keep_t, model.hidden, strict=True)):
        if len(k) == 0 or int(k.max()) >= h or int(k.min()) < 0:
            raise ConfigError(f"Layer {i} keeps units {k.tolist()}; it has units 0..{h - 1} and must keep at least one.")
    new = SequenceModel(model.cell, model.in_features, [len(k) for k in keep_t], model.task)
    g = model.gates
    with torch.no_grad():
        for i, (old, fresh) in enumerate(zip(rnn_layers(model.rnn), rnn_layers(new.rnn), strict=True)):
            h = model.hidden[i]
            rows = torch.cat([k_gate * h + keep_t[i] for k_gate in range(g)])
            old_ih, old_hh, old_bih, old_bhh = rnn_weights(old)
            new_ih, new_hh, new_bih, new_bhh = rnn_weights(fresh)
            w_ih = old_ih[rows]
            if i > 0:
                w_ih = w_ih[:, keep_t[i - 1]]
            new_ih.copy_(w_ih)
            new_hh.copy_(old_hh[rows][:, keep_t[i]])
            new_bih.copy_(old_bih[rows])
            new_bhh.copy_(old_bhh[rows])
        new.head.weight.copy_(model.head.weight[:, keep_t[-1]])
        new.head.bias.copy_(model.head.bias)
    new.eval()
    return new


# -- int8 --------------------------------------------------------------------------------------
@register_model
class QuantizedSequenceModel(FinliteModel):
    """A :class:`SequenceModel` with int8 weights (dynamic activation scales) in every matrix.

    The input projection of all steps is one int8 product; the recurrent projection runs once
    per step. The gate arithmetic is the same as torch's LSTM and GRU.
    """

    kind = "sequence_int8"

    def __init__(self, cell: str, in_features: int, hidden: Sequence[int], task: str = "regression") -> None:
        super().__init__()
        if cell not in _CELLS:
            raise param_error("QuantizedSequenceModel", "cell", "'lstm' or 'gru'", cell)
        self.cell, self.in_features, self.hidden, self.task = cell, int(in_features), list(check_widths(
            "QuantizedSequenceModel", "hidden", hidden, empty=False)), task
        g = _CELLS[cell][1]
        widths = [self.in_features, *self.hidden]
        self.ih = nn.ModuleList(Int8Linear(a, g * b) for a, b in itertools.pairwise(widths))
        self.hh = nn.ModuleList(Int8Linear(b, g * b) for b in self.hidden)
        self.head = Int8Linear(self.hidden[-1], 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """One output per window."""
        for ih, hh, h_size in zip(int8_layers(self.ih), int8_layers(self.hh), self.hidden, strict=True):
            rows, steps, _ = x.shape
            projected = ih(x.reshape(rows * steps, -1)).reshape(rows, steps, -1)
            h = x.new_zeros(rows, h_size)
            c = x.new_zeros(rows, h_size)
            outputs = []
            for t in range(steps):
                gi, gh = projected[:, t], hh(h)
                if self.cell == "lstm":
                    i, f, g, o = (gi + gh).chunk(4, dim=1)
                    c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
                    h = torch.sigmoid(o) * torch.tanh(c)
                else:
                    ir, iz, inn = gi.chunk(3, dim=1)
                    hr, hz, hn = gh.chunk(3, dim=1)
                    r, z = torch.sigmoid(ir + hr), torch.sigmoid(iz + hz)
                    n = torch.tanh(inn + r * hn)
                    h = (1 - z) * n + z * h
                outputs.append(h)
            x = torch.stack(outputs, dim=1)
        out: torch.Tensor = self.head(x[:, -1, :])
        return out.squeeze(-1)

    def config(self) -> dict[str, Any]:
        """Architecture for :func:`finlite.models.build_model`."""
        return {"kind": self.kind, "cell": self.cell, "in_features": self.in_features, "hidden": list(self.hidden),
                "task": self.task}


def quantize_sequence(model: SequenceModel) -> QuantizedSequenceModel:
    """Dynamic int8 copy of a recurrent model: every weight matrix int8, biases kept in float."""
    out = QuantizedSequenceModel(model.cell, model.in_features, model.hidden, model.task)
    for layer, ih, hh in zip(rnn_layers(model.rnn), out.ih, out.hh, strict=True):
        w_ih, w_hh, b_ih, b_hh = rnn_weights(layer)
        src_ih = nn.Linear(layer.input_size, w_ih.shape[0])
        src_hh = nn.Linear(layer.hidden_size, w_hh.shape[0])
        with torch.no_grad():
            src_ih.weight.copy_(w_ih)
            src_ih.bias.copy_(b_ih)
            src_hh.weight.copy_(w_hh)
            src_hh.bias.copy_(b_hh)
        ih.load_state_dict(Int8Linear.from_float(src_ih).state_dict())
        hh.load_state_dict(Int8Linear.from_float(src_hh).state_dict())
    out.head.load_state_dict(Int8Linear.from_float(copy.deepcopy(model.head)).state_dict())
    out.eval()
    return out
