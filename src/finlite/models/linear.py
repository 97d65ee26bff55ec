"""Logistic regression as a torch model, trained by the same loop as every other model."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from finlite._util import param_error
from finlite.models.base import FinliteModel, register_model

__all__ = ["LogisticRegression"]


@register_model
class LogisticRegression(FinliteModel):
    """One linear layer whose output is the log-odds of the positive class."""

    kind = "logistic"

    def __init__(self, in_features: int) -> None:
        super().__init__()
        if not isinstance(in_features, int) or in_features < 1:
            raise param_error("LogisticRegression", "in_features", "a positive integer", in_features)
        self.in_features = in_features
        self.linear = nn.Linear(in_features, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Log-odds per row."""
        out: torch.Tensor = self.linear(x)
        return out.squeeze(-1)

    def config(self) -> dict[str, Any]:
        """Architecture for :func:`finlite.models.build_model`."""
        return {"kind": self.kind, "in_features": self.in_features}
