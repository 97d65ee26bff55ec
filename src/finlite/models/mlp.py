"""A configurable multilayer perceptron for tabular data."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from finlite._util import param_error
from finlite.models.base import FinliteModel, register_model

__all__ = ["TabularMLP"]

_ACTIVATIONS = {"relu": nn.ReLU, "gelu": nn.GELU, "tanh": nn.Tanh, "silu": nn.SiLU}


@register_model
class TabularMLP(FinliteModel):
    """Linear → activation → dropout blocks, then one output logit.

    Args:
        in_features: width of the preprocessed input.
        hidden: width of each hidden layer, e.g. ``(256, 128)``; structured pruning shrinks them.
        dropout: dropout after each hidden activation (training only).
        activation: one of "relu", "gelu", "tanh", "silu".
    """

    kind = "mlp"

    def __init__(self, in_features: int, hidden: Sequence[int] = (256, 128), dropout: float = 0.1,
                 activation: str = "relu") -> None:
        super().__init__()
        if not isinstance(in_features, int) or in_features < 1:
            raise param_error("TabularMLP", "in_features", "a positive integer", in_features)
        hidden = tuple(int(h) for h in hidden)
        if any(h < 1 for h in hidden):
            raise param_error("TabularMLP", "hidden", "a list of positive integers", list(hidden))
        if not 0 <= dropout < 1:
            raise param_error("TabularMLP", "dropout", "a number in [0, 1)", dropout)
        if activation not in _ACTIVATIONS:
            raise param_error("TabularMLP", "activation", f"one of {sorted(_ACTIVATIONS)}", activation)
        self.in_features, self.hidden = in_features, hidden
        self.dropout, self.activation = float(dropout), activation
        widths = (in_features, *hidden, 1)
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:], strict=True))
        self.act = _ACTIVATIONS[activation]()
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """One logit per row."""
        for layer in self.layers[:-1]:
            x = self.drop(self.act(layer(x)))
        return self.layers[-1](x).squeeze(-1)

    def config(self) -> dict[str, Any]:
        """Architecture for :func:`finlite.models.build_model`."""
        return {"kind": self.kind, "in_features": self.in_features, "hidden": list(self.hidden),
                "dropout": self.dropout, "activation": self.activation}
