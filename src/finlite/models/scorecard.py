"""Integer linear models: a logistic model with integer weights, and a points scorecard."""

from __future__ import annotations

from typing import Any

import torch

from finlite._util import param_error
from finlite.models.base import FinliteModel, register_model

__all__ = ["IntegerLogistic", "ScorecardModel"]


@register_model
class IntegerLogistic(FinliteModel):
    """Logistic regression whose coefficients are integers times one scale: ``z = s·(x · q) + b``.

    ``q`` is stored as int8 (bits ≤ 8) or int16 (bits ≤ 16), so the file holds the integers.
    """

    kind = "logistic_int"
    # Buffers, declared so the type checker sees tensors rather than Module.__getattr__'s union.
    weight_int: torch.Tensor
    weight_scale: torch.Tensor
    bias: torch.Tensor

    def __init__(self, in_features: int, bits: int = 8) -> None:
        super().__init__()
        if isinstance(bits, bool) or not isinstance(bits, int) or not 2 <= bits <= 16:
            raise param_error("IntegerLogistic", "bits", "an integer in [2, 16]", bits)
        self.in_features, self.bits = int(in_features), bits
        dtype = torch.int8 if bits <= 8 else torch.int16
        self.register_buffer("weight_int", torch.zeros(self.in_features, dtype=dtype))
        self.register_buffer("weight_scale", torch.ones(()))
        self.register_buffer("bias", torch.zeros(()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Log-odds per row; the integer dot product is exact in float32 for these sizes."""
        return (x @ self.weight_int.to(torch.float32)) * self.weight_scale + self.bias

    def operations_per_row(self) -> tuple[int, int]:
        """(dense, on non-zero weights) arithmetic of one row: the dot product, the scale and the
        bias (its integer weights are buffers, which the Linear-layer count does not see)."""
        return 2 * self.in_features + 2, 2 * int(torch.count_nonzero(self.weight_int)) + 2

    def config(self) -> dict[str, Any]:
        """Architecture for :func:`finlite.models.build_model`."""
        return {"kind": self.kind, "in_features": self.in_features, "bits": self.bits}


@register_model
class ScorecardModel(FinliteModel):
    """A points scorecard: integer points per attribute, summed; higher score = lower risk.

    Numeric features (the first ``n_numeric`` encoded columns) are cut into ``bins`` bins by
    ``edges``; each bin carries integer points. Every other encoded column (missing-value
    indicators and one-hot categories, valued 0 or 1) carries integer points when it is 1.
    The score maps back to the log-odds of the positive (bad) class by
    ``logit = (offset − score) / factor`` with ``factor = pdo / ln 2`` and
    ``offset = base_points − factor · ln(base_odds)`` (odds good:bad).
    """

    kind = "scorecard"
    edges: torch.Tensor
    numeric_points: torch.Tensor
    binary_points: torch.Tensor
    base_points: torch.Tensor
    factor: torch.Tensor
    offset: torch.Tensor

    def __init__(self, in_features: int, n_numeric: int, bins: int) -> None:
        super().__init__()
        self.in_features, self.n_numeric, self.bins = int(in_features), int(n_numeric), int(bins)
        self.register_buffer("edges", torch.zeros(self.n_numeric, max(self.bins - 1, 0)))
        self.register_buffer("numeric_points", torch.zeros(self.n_numeric, self.bins, dtype=torch.int32))
        self.register_buffer("binary_points", torch.zeros(self.in_features - self.n_numeric, dtype=torch.int32))
        self.register_buffer("base_points", torch.zeros((), dtype=torch.int32))
        self.register_buffer("factor", torch.ones(()))
        self.register_buffer("offset", torch.zeros(()))

    def score(self, x: torch.Tensor) -> torch.Tensor:
        """Score per row (integer-valued; float64 holds such sums exactly)."""
        total = self.base_points.to(torch.float64).expand(x.shape[0]).clone()
        for j in range(self.n_numeric):
            bucket = torch.bucketize(x[:, j].contiguous(), self.edges[j], right=True)
            total += self.numeric_points[j][bucket].to(torch.float64)
        binary = x[:, self.n_numeric:].round().to(torch.float64)
        total += binary @ self.binary_points.to(torch.float64)
        return total

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Log-odds of the positive class implied by the integer score."""
        return (self.offset - self.score(x).to(torch.float32)) / self.factor

    def operations_per_row(self) -> tuple[int, int]:
        """(dense, on non-zero points) arithmetic of one row: one addition per numeric column (its
        bin's points), a multiply and an add per binary column, and the offset and factor. Finding
        each bin (comparisons with its edges) is not counted, as activations are not in an MLP's."""
        binary = self.in_features - self.n_numeric
        nonzero = int(torch.count_nonzero(self.binary_points))
        return self.n_numeric + 2 * binary + 2, self.n_numeric + 2 * nonzero + 2

    def config(self) -> dict[str, Any]:
        """Architecture for :func:`finlite.models.build_model`."""
        return {"kind": self.kind, "in_features": self.in_features, "n_numeric": self.n_numeric, "bins": self.bins}
