"""Magnitude pruning: score, plan, then remove weights (unstructured) or whole neurons (structured).

Unstructured pruning zeroes single weights with the smallest |w|; the artifact stores such
tensors compactly so the file really shrinks. Structured pruning removes hidden neurons whose
incoming weights have the smallest L1 or L2 norm, slicing both the layer that produces them
and the layer that consumes them, so the network really becomes narrower.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from finlite._util import check_fraction, closest, param_error
from finlite.compress.plan import LayerPlan, PruningPlan
from finlite.compress.registry import method_to_dict, register_method
from finlite.errors import ConfigError
from finlite.models.base import FinliteModel
from finlite.models.mlp import TabularMLP

__all__ = ["MagnitudePruning", "PruneResult", "apply_plan", "plan_pruning", "prune"]

Masks = dict[str, torch.Tensor]


@register_method("magnitude_pruning")
@dataclass(frozen=True)
class MagnitudePruning:
    """Remove the least important weights or neurons by magnitude.

    Args:
        sparsity: share of candidates to remove: weights for ``granularity="weight"``, hidden
            neurons for ``granularity="neuron"``. With ``scope="layer"`` it applies to each
            layer; with ``scope="global"`` to all of them together.
        granularity: "weight" (unstructured, score |w|) or "neuron" (structured, score the norm
            of the neuron's incoming weights; the neuron is physically removed).
        norm: "l1" or "l2", the norm of a neuron's incoming weights (neuron granularity).
        scope: "global" ranks all candidates together; "layer" prunes each layer to its target.
            Global neuron scores are divided by their layer's mean score first, because raw
            norms of layers with different fan-in are not comparable.
        layer_sparsity: per-layer targets that override ``sparsity`` (``scope="layer"`` only),
            e.g. ``{"layers.0": 0.8}``; a name that matches no layer is an error.
    """

    sparsity: float = 0.5
    granularity: str = "weight"
    norm: str = "l2"
    scope: str = "layer"
    layer_sparsity: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_fraction("MagnitudePruning", "sparsity", self.sparsity)
        if self.granularity not in ("weight", "neuron"):
            raise param_error("MagnitudePruning", "granularity", "'weight' or 'neuron'", self.granularity)
        if self.norm not in ("l1", "l2"):
            raise param_error("MagnitudePruning", "norm", "'l1' or 'l2'", self.norm)
        if self.scope not in ("global", "layer"):
            raise param_error("MagnitudePruning", "scope", "'global' or 'layer'", self.scope)
        if not isinstance(self.layer_sparsity, Mapping):
            raise param_error("MagnitudePruning", "layer_sparsity", "a mapping of layer name to sparsity",
                              self.layer_sparsity)
        if self.layer_sparsity and self.scope == "global":
            raise ConfigError("The 'layer_sparsity' parameter of MagnitudePruning needs scope='layer'; a global "
                              "scope ranks all layers together. Set scope='layer' or drop layer_sparsity.")
        for name, value in self.layer_sparsity.items():
            check_fraction("MagnitudePruning", f"layer_sparsity[{name!r}]", value)


@dataclass
class PruneResult:
    """A pruned copy of the model, the plan that was applied, and masks for fine-tuning.

    ``masks`` maps parameter names to 0/1 tensors (unstructured plans only); re-applying them
    after each optimiser step keeps pruned weights at zero while fine-tuning.
    """

    model: FinliteModel
    plan: PruningPlan
    masks: Masks


def _candidates(model: FinliteModel, granularity: str) -> list[tuple[str, nn.Linear]]:
    layers = model.linear_layers()
    if granularity == "neuron":
        if not isinstance(model, TabularMLP):
            raise ConfigError(f"Structured (neuron) pruning needs a model with hidden layers; a {model.kind!r} "
                              "model has none. Use granularity='weight'.")
        layers = layers[:-1]  # the output neuron cannot be removed
    return layers


def _scores(layer: nn.Linear, granularity: str, norm: str) -> np.ndarray:
    w = layer.weight.detach().double()
    if granularity == "weight":
        return w.abs().flatten().numpy()
    ord_ = 1 if norm == "l1" else 2
    return torch.linalg.vector_norm(w, ord=ord_, dim=1).numpy()


def _lowest(scores: np.ndarray, k: int) -> list[int]:
    # A stable sort breaks ties by index, so the same weights give the same plan every time.
    return sorted(int(i) for i in np.argsort(scores, kind="stable")[:k])


def _lowest_keeping_one(order: np.ndarray, owner: np.ndarray, sizes: list[int], k: int) -> np.ndarray:
    """The first ``k`` positions of ``order`` that leave every layer at least one neuron."""
    removed = np.zeros(len(sizes), dtype=int)
    chosen: list[int] = []
    for pos in order:
        if len(chosen) == k:
            break
        i = owner[pos]
        if removed[i] < sizes[i] - 1:
            chosen.append(int(pos))
            removed[i] += 1
    return np.asarray(chosen, dtype=int)


def plan_pruning(model: FinliteModel, method: MagnitudePruning) -> PruningPlan:
    """Score every candidate and decide what goes, without touching the model (a dry run)."""
    layers = _candidates(model, method.granularity)
    names = [name for name, _ in layers]
    for name in method.layer_sparsity:
        if name not in names:
            raise ConfigError(f"layer_sparsity names layer {name!r}, which is not a prunable layer of this "
                              f"model.{closest(name, names)} Prunable layers: {', '.join(names)}.")
    scores = [_scores(layer, method.granularity, method.norm) for _, layer in layers]
    neuron = method.granularity == "neuron"
    pruned: list[list[int]]
    if method.scope == "layer":
        pruned = []
        for name, s in zip(names, scores, strict=True):
            k = int(round(method.layer_sparsity.get(name, method.sparsity) * s.size))
            pruned.append(_lowest(s, min(k, s.size - 1) if neuron else k))
    else:
        ranked = [s / s.mean() if neuron and s.mean() > 0 else s for s in scores]
        flat = np.concatenate(ranked)
        k = int(round(method.sparsity * flat.size))
        owner = np.concatenate([np.full(s.size, i) for i, s in enumerate(scores)])
        local = np.concatenate([np.arange(s.size) for s in scores])
        order = np.argsort(flat, kind="stable")
        if neuron:
            chosen = _lowest_keeping_one(order, owner, [s.size for s in scores], k)
        else:
            chosen = order[:k]  # weights have no floor: the k smallest overall
        pruned = [sorted(int(j) for j in local[chosen[owner[chosen] == i]]) for i in range(len(scores))]
    plan_layers = [
        LayerPlan(name=name, shape=list(layer.weight.shape), unit=method.granularity,
                  scores=[float(v) for v in s], pruned=p)
        for (name, layer), s, p in zip(layers, scores, pruned, strict=True)
    ]
    return PruningPlan(method=method_to_dict(method), model=model.config(), layers=plan_layers)


def _check_plan(model: FinliteModel, plan: PruningPlan) -> dict[str, nn.Linear]:
    layers = dict(_candidates(model, plan.unit))
    for i, layer_plan in enumerate(plan.layers):
        layer_plan.validate(f"plan layer {i} ({layer_plan.name})")
        if layer_plan.name not in layers:
            raise ConfigError(f"The plan prunes layer {layer_plan.name!r}, which this model does not have."
                              f"{closest(layer_plan.name, layers)} Layers: {', '.join(layers)}.")
        shape = list(layers[layer_plan.name].weight.shape)
        if shape != layer_plan.shape:
            raise ConfigError(f"The plan was made for layer {layer_plan.name!r} of shape {layer_plan.shape}, "
                              f"but this model's layer has shape {shape}; make a new plan for this model.")
    return layers


def apply_plan(model: FinliteModel, plan: PruningPlan) -> PruneResult:
    """Apply a (possibly edited) plan to a copy of ``model``.

    Raises:
        ConfigError: the plan names a layer the model lacks, or a shape differs.
    """
    _check_plan(model, plan)
    if plan.unit == "weight":
        pruned = copy.deepcopy(model)
        layers = dict(pruned.linear_layers())
        masks: Masks = {}
        with torch.no_grad():
            for layer_plan in plan.layers:
                weight = layers[layer_plan.name].weight
                mask = torch.ones(weight.numel(), dtype=weight.dtype)
                mask[torch.tensor(layer_plan.pruned, dtype=torch.long)] = 0
                mask = mask.view_as(weight)
                weight.mul_(mask)
                masks[f"{layer_plan.name}.weight"] = mask
        return PruneResult(model=pruned, plan=plan, masks=masks)
    return PruneResult(model=_remove_neurons(model, plan), plan=plan, masks={})


def _remove_neurons(model: FinliteModel, plan: PruningPlan) -> TabularMLP:
    if not isinstance(model, TabularMLP):
        raise ConfigError("Structured pruning needs a TabularMLP.")
    by_name = {layer_plan.name: set(layer_plan.pruned) for layer_plan in plan.layers}
    old = list(model.layers)
    keep: list[torch.Tensor] = []
    for i, layer in enumerate(old[:-1]):
        gone = by_name.get(f"layers.{i}", set())
        keep.append(torch.tensor([j for j in range(layer.out_features) if j not in gone], dtype=torch.long))
    new = TabularMLP(model.in_features, [len(k) for k in keep], dropout=model.dropout, activation=model.activation)
    with torch.no_grad():
        for i, layer in enumerate(new.layers):
            w, b = old[i].weight, old[i].bias
            if i < len(keep):  # rows: the neurons this layer still produces
                w, b = w[keep[i]], b[keep[i]]
            if i > 0:  # columns: the neurons the previous layer still produces
                w = w[:, keep[i - 1]]
            layer.weight.copy_(w)
            layer.bias.copy_(b)
    new.eval()
    return new


def prune(model: FinliteModel, method: MagnitudePruning, *, plan: PruningPlan | None = None) -> PruneResult:
    """Plan (unless a plan is given) and apply magnitude pruning to a copy of ``model``."""
    return apply_plan(model, plan if plan is not None else plan_pruning(model, method))
