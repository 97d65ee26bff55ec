"""A configurable multilayer perceptron for tabular data."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from finlite._util import check_widths, param_error
from finlite.models.base import FinliteModel, register_model
from finlite.models.bins import EdgesConfig, InputBins

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
        ranks: per Linear layer, None (a full ``in × out`` weight) or a rank ``r``: the layer is
            then two factors ``in × r`` (no bias) and ``r × out``, as low-rank factorisation
            (truncated SVD) leaves it. ``None`` for the whole argument means no factorised layer.
        bins: piecewise-linear input bins (:class:`~finlite.models.bins.InputBins`), as
            ``[[column, [edges…]], …]``: the first layer then reads one input per bin of those
            columns, followed by the other columns. None (the default): the inputs as they are.
    """

    kind = "mlp"

    def __init__(self, in_features: int, hidden: Sequence[int] = (256, 128), dropout: float = 0.1,
                 activation: str = "relu", ranks: Sequence[int | None] | None = None,
                 bins: EdgesConfig | None = None) -> None:
        super().__init__()
        if not isinstance(in_features, int) or in_features < 1:
            raise param_error("TabularMLP", "in_features", "a positive integer", in_features)
        hidden = check_widths("TabularMLP", "hidden", hidden)
        if not 0 <= dropout < 1:
            raise param_error("TabularMLP", "dropout", "a number in [0, 1)", dropout)
        if activation not in _ACTIVATIONS:
            raise param_error("TabularMLP", "activation", f"one of {sorted(_ACTIVATIONS)}", activation)
        ranks = list(ranks) if ranks is not None else [None] * (len(hidden) + 1)
        if len(ranks) != len(hidden) + 1 or any(r is not None and (not isinstance(r, int) or r < 1) for r in ranks):
            raise param_error("TabularMLP", "ranks", f"{len(hidden) + 1} entries, each None or a positive integer",
                              ranks)
        self.in_features, self.hidden = in_features, hidden
        self.dropout, self.activation = float(dropout), activation
        self.ranks: list[int | None] = ranks
        self.bins = None if bins is None else InputBins(in_features, bins)
        widths = (in_features if self.bins is None else self.bins.out_features, *hidden, 1)
        self.layers = nn.ModuleList(
            nn.Linear(a, b) if r is None else nn.Sequential(nn.Linear(a, r, bias=False), nn.Linear(r, b))
            for a, b, r in zip(widths[:-1], widths[1:], ranks, strict=True)
        )
        self.act = _ACTIVATIONS[activation]()
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """One logit per row."""
        if self.bins is not None:
            x = self.bins(x)
        for layer in self.layers[:-1]:
            x = self.drop(self.act(layer(x)))
        out: torch.Tensor = self.layers[-1](x)
        return out.squeeze(-1)

    def forward_with_hidden(self, x: torch.Tensor, layer: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits and the activations of hidden layer ``layer`` (for hint distillation)."""
        if self.bins is not None:
            x = self.bins(x)
        hidden = x
        for i, block in enumerate(self.layers[:-1]):
            x = self.drop(self.act(block(x)))
            if i == layer:
                hidden = x
        return self.layers[-1](x).squeeze(-1), hidden

    def config(self) -> dict[str, Any]:
        """Architecture for :func:`finlite.models.build_model`."""
        out = {"kind": self.kind, "in_features": self.in_features, "hidden": list(self.hidden),
               "dropout": self.dropout, "activation": self.activation}
        if any(r is not None for r in self.ranks):
            out["ranks"] = list(self.ranks)
        if self.bins is not None:
            out["bins"] = self.bins_config
        return out

    @property
    def bins_config(self) -> list[list[Any]] | None:
        """The input bins' edges as the config stores them (None without bins)."""
        return None if self.bins is None else self.bins.config()

    @property
    def factorised(self) -> bool:
        """True when any layer is stored as two low-rank factors."""
        return any(r is not None for r in self.ranks)
