"""Low-rank factorisation: a Linear layer's weight replaced by two thin factors (truncated SVD).

``W ≈ U_r Σ_r V_rᵀ`` keeps the r largest singular values; the layer becomes
``Linear(in, r, bias=False)`` with weight ``Σ_r^½ V_rᵀ`` followed by ``Linear(r, out)`` with weight
``U_r Σ_r^½`` and the original bias. It pays when ``r·(in + out) < in·out``; a layer where it
does not is left whole. The recipe runner fine-tunes the result by distillation.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from finlite._util import check_fraction, param_error
from finlite.errors import ConfigError
from finlite.methods.base import StepContext, StepState
from finlite.methods.distill import _fine_tuning_loss, distill
from finlite.methods.registry import MethodConfig, register_handler, register_method
from finlite.models.base import FinliteModel
from finlite.models.mlp import TabularMLP
from finlite.models.temporal import mlp_like

__all__ = ["FactorizeResult", "LowRankFactorization", "choose_rank", "factorize"]


@register_method("low_rank")
@dataclass(frozen=True, kw_only=True)
class LowRankFactorization(MethodConfig):
    """Truncated-SVD factorisation of every Linear layer where it saves parameters.

    Example recipe step: ``{method: low_rank, energy: 0.9}``.

    Args:
        energy: keep the fewest singular values whose squares sum to at least this share of
            the total (used when ``rank`` is not given).
        rank: a fixed rank for every layer (capped at the layer's smaller dimension).
    """

    energy: float = 0.9
    rank: int | None = None

    def __post_init__(self) -> None:
        check_fraction("LowRankFactorization", "energy", self.energy, low_open=True, high_open=False)
        if self.rank is not None and (isinstance(self.rank, bool) or not isinstance(self.rank, int) or self.rank < 1):
            raise param_error("LowRankFactorization", "rank", "a positive integer or null", self.rank)


@dataclass
class FactorizeResult:
    """The factorised copy and, per layer, the rank chosen (None: left whole) and the energy kept."""

    model: TabularMLP
    layers: list[dict[str, Any]] = field(default_factory=list)


def choose_rank(singular_values: np.ndarray, energy: float) -> int:
    """The smallest r whose top-r singular values hold ``energy`` of the squared total."""
    sq = np.asarray(singular_values, dtype=np.float64) ** 2
    total = sq.sum()
    if total == 0:
        return 1
    return int(np.searchsorted(np.cumsum(sq) / total, energy - 1e-12) + 1)


def factorize(model: FinliteModel, method: LowRankFactorization) -> FactorizeResult:
    """Factorise a copy of an MLP's layers; the input model is left untouched."""
    if not isinstance(model, TabularMLP):
        raise ConfigError(f"low_rank factorises MLP layers (a tabular MLP or a WindowMLP over a window); this model "
                          f"is {getattr(model, 'kind', type(model).__name__)!r}. Distil it into an MLP student "
                          "first.")
    if model.factorised:
        raise ConfigError("This MLP is already factorised; apply low_rank once.")
    ranks: list[int | None] = []
    factors: list[tuple[torch.Tensor, torch.Tensor] | None] = []
    report: list[dict[str, Any]] = []
    for name, layer in model.linear_layers():
        w = layer.weight.detach().double()
        out_f, in_f = w.shape
        u, s, vh = torch.linalg.svd(w, full_matrices=False)
        r = min(method.rank, len(s)) if method.rank is not None else choose_rank(s.numpy(), method.energy)
        kept = float((s[:r] ** 2).sum() / (s ** 2).sum()) if float((s ** 2).sum()) > 0 else 1.0
        if r * (in_f + out_f) < in_f * out_f:
            root = torch.sqrt(s[:r])
            factors.append(((root[:, None] * vh[:r]).float(), (u[:, :r] * root[None, :]).float()))
            ranks.append(r)
            report.append({"layer": name, "shape": [out_f, in_f], "rank": r, "energy_kept": kept})
        else:
            factors.append(None)
            ranks.append(None)
            report.append({"layer": name, "shape": [out_f, in_f], "rank": None, "energy_kept": 1.0})
    new = mlp_like(model, model.hidden, ranks=ranks)  # a WindowMLP stays a WindowMLP
    # The new model's Linear layers in forward order: one per whole layer, two (the thin factors,
    # first then second) per factorised one.
    linears = iter([layer for _, layer in new.linear_layers()])
    with torch.no_grad():
        for (_, old), pair in zip(model.linear_layers(), factors, strict=True):
            if pair is None:
                whole = next(linears)
                whole.weight.copy_(old.weight)
                whole.bias.copy_(old.bias)
            else:
                first, second = next(linears), next(linears)
                first.weight.copy_(pair[0])
                second.weight.copy_(pair[1])
                second.bias.copy_(old.bias)
    new.eval()
    return FactorizeResult(model=new, layers=report)


# -- in a recipe ---------------------------------------------------------------------------------
def _apply_low_rank(method: LowRankFactorization, state: StepState, ctx: StepContext,
                    train: Mapping[str, Any]) -> tuple[StepState, dict[str, Any]]:
    """Factorise, then fine-tune by the recipe's distillation (the factors start from the SVD)."""
    model = state.need_model(method)
    fact = factorize(model, method)
    if all(layer["rank"] is None for layer in fact.layers) and not ctx.recorded:  # a recorded run ran it so
        # Kept with every layer whole, the step was recorded as a low-rank model that it is not
        # (rank: 1000000, or energy: 1; a recipe fuzz, 2026-12-07): refused before its training.
        useful = max(((o * i - 1) // (o + i) for o, i in (layer["shape"] for layer in fact.layers)), default=0)
        setting = f"rank {method.rank}" if method.rank is not None else f"energy {method.energy:g}"
        raise ConfigError(f"low_rank with {setting} factorises no layer of this model: a layer is factorised only "
                          "where its rank saves parameters (rank x (inputs + outputs) < inputs x outputs), and its "
                          f"layers are {', '.join('x'.join(map(str, layer['shape'])) for layer in fact.layers)}. "
                          + ((f"Use a rank of at most {useful}." if method.rank is not None else
                              f"Use a lower energy than {method.energy:g}, or a rank of at most {useful}.")
                             if useful >= 1 else
                             "Its layers are too small to factorise: drop the step."))
    tuned = distill(ctx.tuning_data, fact.model, _fine_tuning_loss(ctx), train=ctx.fine_tuning(train),
                    monotone_index=ctx.monotone_index)
    # The factors replace the layers a pruning plan described (and fine-tuning fills their zeros):
    # a plan kept here said "70 % sparse" of a factorised model with 3 zeros in 960 weights.
    # best_epoch: the step fine-tuned, so the manifest records its training (reproduce reruns it).
    return StepState(tuned.model, {}, None, dict(state.extra_files)), {"layers": fact.layers,
                                                                       "best_epoch": tuned.training.best_epoch}


register_handler(LowRankFactorization)(_apply_low_rank)
