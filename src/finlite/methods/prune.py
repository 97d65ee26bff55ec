"""Magnitude pruning: score, plan, then remove weights (unstructured) or whole neurons (structured).

Unstructured pruning zeroes single weights with the smallest |w|; the artifact stores such
tensors compactly so the file really shrinks. Structured pruning removes hidden neurons whose
incoming weights have the smallest L1 or L2 norm, slicing both the layer that produces them
and the layer that consumes them, so the network really becomes narrower. Window forecasters
are pruned the same structured way: the hidden units of each LSTM/GRU layer (all gate blocks of
a unit together, stacked layers each to its own width) and the output channels of each TCN
convolution; an MLP over the window is an MLP and takes every method.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
import torch
from torch import nn

from finlite._util import check_fraction, closest, param_error
from finlite.data.prepared import PreparedData
from finlite.errors import ConfigError, UnsupportedModelError
from finlite.methods.base import StepContext, StepState, merge_masks
from finlite.methods.distill import (
    MONOTONE_MARGIN,
    Distillation,
    DistillData,
    RegressionDistillation,
    _constrained_columns,
    _fine_tuning_loss,
    distill,
    distillation_loss,
    mask_step,
    monotone_penalty,
    regression_distillation_loss,
)
from finlite.methods.plan import LayerPlan, PruningPlan
from finlite.methods.registry import MethodConfig, method_to_dict, register_handler, register_method
from finlite.models.base import FinliteModel, forward_rows
from finlite.models.linear import LogisticRegression
from finlite.models.mlp import TabularMLP
from finlite.models.sequence import SequenceModel, prune_recurrent_units, recurrent_unit_scores
from finlite.models.temporal import TemporalConvNet, channel_scores, conv_layers, mlp_like, prune_channels
from finlite.training.loop import TrainConfig, fit
from finlite.training.unseen import average_recorded

__all__ = [
    "PRUNING_METHODS",
    "AnyPruning",
    "GradualPruning",
    "MagnitudePruning",
    "PruneResult",
    "RegularizedPruning",
    "TaylorPruning",
    "apply_plan",
    "gradual_prune",
    "plan_from_scores",
    "plan_pruning",
    "prunable_layer_names",
    "prune",
    "regularized_prune",
    "taylor_scores",
]

Masks = dict[str, torch.Tensor]
Granularity = Literal["weight", "neuron"]
Norm = Literal["l1", "l2"]
Scope = Literal["global", "layer"]


def _check_common(owner: str, config: Any) -> None:
    """The checks every pruning config shares: sparsity, granularity, scope (and norm, if it has one)."""
    check_fraction(owner, "sparsity", config.sparsity)
    if config.granularity not in ("weight", "neuron"):
        raise param_error(owner, "granularity", "'weight' or 'neuron'", config.granularity)
    if getattr(config, "norm", "l2") not in ("l1", "l2"):
        raise param_error(owner, "norm", "'l1' or 'l2'", config.norm)
    if config.scope not in ("global", "layer"):
        raise param_error(owner, "scope", "'global' or 'layer'", config.scope)


@register_method("magnitude_pruning")
@dataclass(frozen=True, kw_only=True)
class MagnitudePruning(MethodConfig):
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
    granularity: Granularity = "weight"
    norm: Norm = "l2"
    scope: Scope = "layer"
    layer_sparsity: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _check_common("MagnitudePruning", self)
        if not isinstance(self.layer_sparsity, Mapping):
            raise param_error("MagnitudePruning", "layer_sparsity", "a mapping of layer name to sparsity",
                              self.layer_sparsity)
        if self.layer_sparsity and self.scope == "global":
            raise ConfigError("The 'layer_sparsity' parameter of MagnitudePruning needs scope='layer'; a global "
                              "scope ranks all layers together. Set scope='layer' or drop layer_sparsity.",
                              param="layer_sparsity")
        for name, value in self.layer_sparsity.items():
            if not isinstance(name, str):  # YAML reads `0:` as a number, `null:` as None
                raise param_error("MagnitudePruning", f"layer_sparsity[{name!r}]",
                                  "keyed by a layer's name as text (e.g. 'layers.0', quoted in YAML)", name)
            check_fraction("MagnitudePruning", f"layer_sparsity[{name!r}]", value)


@register_method("taylor_pruning")
@dataclass(frozen=True, kw_only=True)
class TaylorPruning(MethodConfig):
    """Remove what the loss needs least, by first-order Taylor importance (Molchanov et al. 2019).

    A weight's score is ``|w · ∂L/∂w|`` summed over ``batches`` mini-batches of training rows,
    where L is the distillation loss against the teacher: the first-order estimate of how much
    the loss changes when the weight is set to zero. A neuron's score is ``|Σ w · ∂L/∂w|`` over
    its incoming weights and bias, summed over batches.

    Example recipe step: ``{method: taylor_pruning, sparsity: 0.6, granularity: weight}``.

    Args:
        sparsity, granularity, scope: as in :class:`MagnitudePruning`.
        batches: mini-batches the scores are accumulated over.
        batch_size: rows per mini-batch.
    """

    sparsity: float = 0.5
    granularity: Granularity = "weight"
    scope: Scope = "layer"
    batches: int = 16
    batch_size: int = 256

    def __post_init__(self) -> None:
        _check_common("TaylorPruning", self)
        # Bounded as gradual pruning's steps are: a recipe's 'batches: 1000000' ran for over 10
        # minutes on 600 rows (a review, 2026-12-03); scores settle within tens of batches.
        for name, most in (("batches", MAX_TAYLOR_BATCHES), ("batch_size", MAX_TAYLOR_BATCH_SIZE)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= most:
                raise param_error("TaylorPruning", name, f"a whole number from 1 to {most:,}", value)


#: Most mini-batches and rows per mini-batch Taylor scores are summed over (16 x 256 by default).
MAX_TAYLOR_BATCHES, MAX_TAYLOR_BATCH_SIZE = 1_000, 65_536

#: Largest penalty weight of regularized pruning: each optimiser step soft-thresholds weights by
#: lr x strength, so at the default lr a strength of 1,000 zeroes every weight in one step.
MAX_STRENGTH = 100.0


@register_method("regularized_pruning")
@dataclass(frozen=True, kw_only=True)
class RegularizedPruning(MethodConfig):
    """Train with a sparsity penalty, then remove what reached zero.

    ``penalty="l1"`` adds ``λ·Σ|w|`` and drives single weights to zero (unstructured);
    ``penalty="group_lasso"`` adds ``λ·Σ_g √|g|·‖w_g‖₂`` over each hidden neuron's incoming
    weights and drives whole neurons to zero (structured: they are then removed). The penalty
    is applied as a proximal step after each optimiser step (soft thresholding), which produces
    exact zeros rather than merely small weights. The training loss is the recipe's distillation.

    Example recipe step: ``{method: regularized_pruning, penalty: group_lasso, strength: 0.1}``.

    Args:
        penalty: "l1" or "group_lasso".
        strength: λ, the penalty weight (> 0).
        threshold: weights (or neuron norms) at or below this magnitude count as zero.
    """

    penalty: Literal["l1", "group_lasso"] = "l1"
    strength: float = 0.1
    threshold: float = 0.0

    def __post_init__(self) -> None:
        if self.penalty not in ("l1", "group_lasso"):
            raise param_error("RegularizedPruning", "penalty", "'l1' or 'group_lasso'", self.penalty)
        # math.isfinite: inf passes "> 0" and an infinite threshold would remove every weight.
        if isinstance(self.strength, bool) or not isinstance(self.strength, (int, float)) \
                or not math.isfinite(self.strength) or not 0 < self.strength <= MAX_STRENGTH:
            raise param_error("RegularizedPruning", "strength", f"a positive number of at most {MAX_STRENGTH:g} (0.01 "
                              "to 1 is usual)", self.strength)
        if isinstance(self.threshold, bool) or not isinstance(self.threshold, (int, float)) \
                or not math.isfinite(self.threshold) or not self.threshold >= 0:
            raise param_error("RegularizedPruning", "threshold", "a finite number ≥ 0", self.threshold)

    @property
    def granularity(self) -> Granularity:
        """"weight" for the L1 penalty, "neuron" for group lasso."""
        return "weight" if self.penalty == "l1" else "neuron"


@register_method("gradual_pruning")
@dataclass(frozen=True, kw_only=True)
class GradualPruning(MethodConfig):
    """Prune in ``steps`` rounds on a cubic schedule, fine-tuning after each (Zhu & Gupta 2017).

    Round k of n prunes to ``s_k = s·(1 − (1 − k/n)³)`` by magnitude, so most of the pruning
    happens early, while the network still has capacity to recover, and the last rounds remove
    little. Each round is followed by distillation fine-tuning with pruned weights held at zero.

    Example recipe step: ``{method: gradual_pruning, sparsity: 0.8, steps: 4}``.

    Args:
        sparsity: the final sparsity s.
        steps: rounds n (1 to 50).
        granularity, norm, scope: as in :class:`MagnitudePruning`.
    """

    sparsity: float = 0.8
    steps: int = 4
    granularity: Granularity = "weight"
    norm: Norm = "l2"
    scope: Scope = "layer"

    def __post_init__(self) -> None:
        _check_common("GradualPruning", self)
        # Each round is a fine-tuning run: bounded so a typo cannot mean hours of work.
        if isinstance(self.steps, bool) or not isinstance(self.steps, int) or not 1 <= self.steps <= 50:
            raise param_error("GradualPruning", "steps", "an integer from 1 to 50", self.steps)

    def schedule(self) -> list[float]:
        """The target sparsity after each round."""
        n = self.steps
        return [self.sparsity * (1.0 - (1.0 - k / n) ** 3) for k in range(1, n + 1)]


PruningMethod = MagnitudePruning | TaylorPruning
AnyPruning = MagnitudePruning | TaylorPruning | RegularizedPruning | GradualPruning


@dataclass
class PruneResult:
    """A pruned copy of the model, the plan that was applied, and masks for fine-tuning.

    ``masks`` maps parameter names to 0/1 tensors (unstructured plans only); re-applying them
    after each optimiser step keeps pruned weights at zero while fine-tuning. ``info`` holds
    what the method reports besides (gradual pruning: ``{"rounds": [...]}``, one record per round).
    """

    model: FinliteModel
    plan: PruningPlan
    masks: Masks
    info: dict[str, Any] = field(default_factory=dict)


def _candidates(model: FinliteModel, granularity: str) -> list[tuple[str, nn.Linear]]:
    if isinstance(model, (SequenceModel, TemporalConvNet)):
        what = "hidden units" if isinstance(model, SequenceModel) else "output channels"
        raise UnsupportedModelError(f"A {model.kind!r} forecaster is pruned by whole {what} with magnitude_pruning or "
                          "gradual_pruning (granularity='neuron'); Taylor and regularized pruning work on MLP and "
                          "logistic models.", param="method")
    if not isinstance(model, (TabularMLP, LogisticRegression)):
        raise UnsupportedModelError(f"Pruning works on float MLP (tabular or over a window) and logistic models, and by "
                          f"whole units on LSTM/GRU and TCN forecasters; this model is {model.kind!r}. Prune "
                          "before quantizing (put pruning steps before quantization steps), and distil a "
                          "Transformer into a smaller student instead of pruning it.")
    layers = model.linear_layers()
    if granularity == "neuron":
        if not isinstance(model, TabularMLP):
            raise UnsupportedModelError(f"Structured (neuron) pruning needs a model with hidden layers; a {model.kind!r} "
                              "model has none. Use granularity='weight'.")
        if model.factorised:
            raise UnsupportedModelError("Structured (neuron) pruning of a low-rank factorised MLP is not supported; prune "
                              "neurons before the low_rank step.")
        layers = layers[:-1]  # the output neuron cannot be removed
    return layers


def _scores(layer: nn.Linear, granularity: str, norm: str) -> np.ndarray:
    w = layer.weight.detach().double()
    if granularity == "weight":
        return w.abs().flatten().numpy()
    ord_ = 1 if norm == "l1" else 2
    norms: np.ndarray = torch.linalg.vector_norm(w, ord=ord_, dim=1).numpy()
    return norms


def _lowest(scores: np.ndarray, k: int) -> list[int]:
    # A stable sort breaks ties by index, so the same weights give the same plan every time.
    return sorted(int(i) for i in np.argsort(scores, kind="stable")[:k])


def _lowest_keeping_one(order: np.ndarray, owner: np.ndarray, sizes: list[int], k: int) -> np.ndarray:
    """The first ``k`` positions of ``order`` that leave every layer at least one candidate (a
    neuron, or a weight: a layer with none left outputs a constant, and so does the model)."""
    first = order[:k]
    if (np.bincount(owner[first], minlength=len(sizes)) < np.asarray(sizes)).all():
        return first  # no layer emptied: the k lowest overall, without walking them one by one
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


def plan_pruning(model: FinliteModel, method: PruningMethod, *, data: DistillData | None = None,
                 distillation: MethodConfig | None = None) -> PruningPlan:
    """Score every candidate and decide what goes, without touching the model (a dry run).

    Magnitude pruning needs only the model. Taylor pruning also needs ``data`` (the rows and
    teacher outputs whose distillation loss the gradients come from) and uses ``distillation``
    (default: :class:`~finlite.methods.distill.Distillation`) as that loss.
    """
    if isinstance(model, (SequenceModel, TemporalConvNet)):
        what = "hidden units" if isinstance(model, SequenceModel) else "output channels"
        if method.granularity != "neuron" or isinstance(method, TaylorPruning):
            raise UnsupportedModelError(f"A {model.kind!r} forecaster is pruned by whole {what} with magnitude_pruning or "
                              "gradual_pruning (granularity='neuron'); Taylor and regularized pruning work on MLP "
                              "and logistic models.", param="granularity")
        norm = getattr(method, "norm", "l2")
        names = prunable_layer_names(model, method.granularity)
        if isinstance(model, SequenceModel):
            widths = [model.in_features, *model.hidden]  # layer i reads widths[i] and produces widths[i + 1]
            shapes = [(name, [int(widths[i + 1]), int(widths[i])]) for i, name in enumerate(names)]
            return plan_from_scores(model, method, shapes, recurrent_unit_scores(model, norm))
        # A convolution's weight [out, in, taps] is planned as the matrix [out, in · taps].
        shapes = [(name, [conv.out_channels, conv.in_channels * conv.kernel_size[0]])
                  for name, conv in zip(names, conv_layers(model), strict=True)]
        return plan_from_scores(model, method, shapes, channel_scores(model, norm))
    layers = _candidates(model, method.granularity)
    if isinstance(method, TaylorPruning):
        if data is None:
            raise ConfigError("TaylorPruning needs data: the training rows and teacher outputs whose loss "
                              "gradients score the weights.")
        scores = taylor_scores(model, layers, method, data, distillation)
    else:
        scores = [_scores(layer, method.granularity, getattr(method, "norm", "l2")) for _, layer in layers]
    return plan_from_scores(model, method, [(name, list(layer.weight.shape)) for name, layer in layers], scores)


#: The pruning methods: each keeps the names of the layers it prunes (neurons go, layers stay).
PRUNING_METHODS = (MagnitudePruning, TaylorPruning, RegularizedPruning, GradualPruning)


def prunable_layer_names(model: FinliteModel, granularity: str) -> list[str]:
    """The names a pruning step of ``granularity`` can give in ``layer_sparsity`` for ``model``."""
    if isinstance(model, SequenceModel):
        return [f"rnn.{i}" for i in range(len(model.hidden))]
    if isinstance(model, TemporalConvNet):
        return [f"convs.{i}" for i in range(len(conv_layers(model)))]
    return [name for name, _ in _candidates(model, granularity)]


def plan_from_scores(model: FinliteModel, method: Any, layers: list[tuple[str, list[int]]],
                     scores: list[np.ndarray], *, sparsity: float | None = None) -> PruningPlan:
    """Choose the lowest-scoring candidates per layer or globally (the selection every scorer shares).

    ``layers`` lists (name, weight shape) of the prunable layers, in forward order.
    """
    names = [name for name, _ in layers]
    layer_sparsity = getattr(method, "layer_sparsity", {}) or {}
    sparsity = method.sparsity if sparsity is None else sparsity
    for name in layer_sparsity:
        if name not in names:
            raise ConfigError(f"layer_sparsity names layer {name!r}, which is not a prunable layer of this "
                              f"model.{closest(name, names)} Prunable layers: {', '.join(names)}.")
    neuron = method.granularity == "neuron"
    pruned: list[list[int]]
    if method.scope == "layer":
        pruned = []
        for name, s in zip(names, scores, strict=True):
            # At least one candidate stays (a sparsity of 0.97 pruned all 16 weights of a 1x16 output
            # layer: a model that scores every row alike).
            k = round(layer_sparsity.get(name, sparsity) * s.size)
            pruned.append(_lowest(s, min(k, s.size - 1)))
    else:
        ranked = [s / s.mean() if neuron and s.mean() > 0 else s for s in scores]
        flat = np.concatenate(ranked)
        k = round(sparsity * flat.size)
        owner = np.concatenate([np.full(s.size, i) for i, s in enumerate(scores)])
        local = np.concatenate([np.arange(s.size) for s in scores])
        order = np.argsort(flat, kind="stable")
        chosen = _lowest_keeping_one(order, owner, [s.size for s in scores], k)
        pruned = [sorted(int(j) for j in local[chosen[owner[chosen] == i]]) for i in range(len(scores))]
    plan_layers = [
        LayerPlan(name=name, shape=list(shape), unit=method.granularity, scores=[float(v) for v in s], pruned=p)
        for (name, shape), s, p in zip(layers, scores, pruned, strict=True)
    ]
    plan = PruningPlan(method=method_to_dict(method), model=model.config(), layers=plan_layers)
    plan.check_usable(f"Pruning at sparsity {sparsity:g} ({method.scope} scope)")
    return plan


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
        ConfigError: the plan names a layer the model lacks, or a shape differs, or it leaves no
            path from the inputs to the output (:meth:`PruningPlan.check_usable`).
    """
    # The plan recorded with the result (the new artifact's pruning_plan.json) names the model it
    # was applied to, not whatever its file's "model" block claimed ({"hidden": [10**9]} was
    # copied as it came: a review, 2026-12-04); the layers' shapes are what is checked against it.
    if plan.model != model.config():
        plan = replace(plan, model=model.config())
    if isinstance(model, (SequenceModel, TemporalConvNet)):
        return PruneResult(model=_remove_units(model, plan), plan=plan, masks={})
    _check_plan(model, plan)
    plan.check_usable()
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


def _remove_units(model: SequenceModel | TemporalConvNet, plan: PruningPlan) -> FinliteModel:
    """Apply a unit plan: hidden units of LSTM/GRU layers, or output channels of TCN convolutions."""
    if isinstance(model, SequenceModel):
        names, widths = [f"rnn.{i}" for i in range(len(model.hidden))], list(model.hidden)
    else:
        names, widths = [f"convs.{i}" for i in range(len(model.channels))], list(model.channels)
    by_name = {}
    for i, layer_plan in enumerate(plan.layers):
        layer_plan.validate(f"plan layer {i} ({layer_plan.name})")
        if layer_plan.name not in names:
            raise ConfigError(f"The plan prunes layer {layer_plan.name!r}, which this model does not have."
                              f"{closest(layer_plan.name, names)} Layers: {', '.join(names)}.")
        width = widths[names.index(layer_plan.name)]
        if layer_plan.unit != "neuron" or layer_plan.shape[0] != width:
            raise ConfigError(f"The plan for {layer_plan.name!r} removes {layer_plan.unit}s of a layer with "
                              f"{layer_plan.shape[0]} outputs, but this model's layer has {width} units; make a new "
                              "plan for this model.")
        by_name[layer_plan.name] = set(layer_plan.pruned)
    keep = [[j for j in range(h) if j not in by_name.get(name, set())] for name, h in zip(names, widths, strict=True)]
    if isinstance(model, SequenceModel):
        return prune_recurrent_units(model, keep)
    return prune_channels(model, keep)


def _remove_neurons(model: FinliteModel, plan: PruningPlan) -> TabularMLP:
    if not isinstance(model, TabularMLP):
        raise UnsupportedModelError("Structured pruning needs a TabularMLP.")
    by_name = {layer_plan.name: set(layer_plan.pruned) for layer_plan in plan.layers}
    old = [layer for _, layer in model.linear_layers()]  # unfactorised (checked with the plan): one per block
    keep: list[torch.Tensor] = []
    for i, layer in enumerate(old[:-1]):
        gone = by_name.get(f"layers.{i}", set())
        keep.append(torch.tensor([j for j in range(layer.out_features) if j not in gone], dtype=torch.long))
    # mlp_like: a WindowMLP stays a WindowMLP (same window, features and task).
    new = mlp_like(model, [len(k) for k in keep])
    with torch.no_grad():
        for i, (_, layer) in enumerate(new.linear_layers()):
            w: torch.Tensor = old[i].weight
            b: torch.Tensor = old[i].bias
            if i < len(keep):  # rows: the neurons this layer still produces
                w, b = w[keep[i]], b[keep[i]]
            if i > 0:  # columns: the neurons the previous layer still produces
                w = w[:, keep[i - 1]]
            layer.weight.copy_(w)
            layer.bias.copy_(b)
    new.eval()
    return new


def prune(model: FinliteModel, method: AnyPruning, *, plan: PruningPlan | None = None,
          data: DistillData | None = None, distillation: MethodConfig | None = None,
          train: TrainConfig | None = None, masks: Masks | None = None,
          monotone_index: Mapping[str, int] | None = None) -> PruneResult:
    """Prune a copy of ``model`` with any pruning method; the input model is left untouched.

    - :class:`MagnitudePruning`: plan (unless ``plan`` is given) and apply; needs only the model.
    - :class:`TaylorPruning`: scores from the gradients of the ``distillation`` loss (default
      soft targets) on ``data``, then plan and apply (or apply a given ``plan``).
    - :class:`RegularizedPruning`: trains on ``data`` under the penalty (``train`` settings,
      ``masks`` held at zero), then removes what reached zero.
    - :class:`GradualPruning`: rounds of magnitude pruning, each fine-tuned on ``data`` (with
      ``masks``, an earlier step's pruned weights, held at zero through every round);
      ``result.info["rounds"]`` has one record per round.

    Magnitude and Taylor pruning do not fine-tune: follow them with
    ``distill(data, result.model, method, masks=result.masks)`` (the recipe runner does).

    Args:
        data: the rows and teacher outputs (:func:`~finlite.methods.targets.distill_data`)
            that Taylor, regularized and gradual pruning learn from.
        distillation: the distillation whose loss they use (default :class:`Distillation`; a
            :class:`RegressionDistillation` makes them match a forecaster's outputs).
        monotone_index: the encoded columns of a ``distillation`` with ``monotone``
            (:func:`~finlite.methods.distill.monotone_index`): regularized and gradual pruning
            then train under its penalty too (Taylor scores use the imitation loss alone).

    Raises:
        ConfigError: a method that learns from data gets no ``data``, a parameter does not
            apply to the method, or the plan does not fit the model.
    """
    name = type(method).__name__
    if not isinstance(method, (MagnitudePruning, TaylorPruning, RegularizedPruning, GradualPruning)):
        raise param_error("prune", "method", "a pruning config (MagnitudePruning, TaylorPruning, RegularizedPruning "
                          "or GradualPruning)", name)
    if isinstance(method, MagnitudePruning):
        return apply_plan(model, plan if plan is not None else plan_pruning(model, method))
    if data is None:
        raise param_error("prune", "data", f"DistillData (the training rows and teacher outputs, from distill_data()) "
                          f"for {name}, which learns from them", data)
    if isinstance(method, TaylorPruning):
        return apply_plan(model, plan if plan is not None else
                          plan_pruning(model, method, data=data, distillation=distillation))
    if plan is not None:
        raise param_error("prune", "plan", f"None for {name}, which makes its own plan while it trains (a ready plan "
                          "applies to magnitude_pruning or taylor_pruning)", "a PruningPlan")
    if isinstance(method, RegularizedPruning):
        return regularized_prune(model, method, data=data, distillation=distillation, train=train, masks=masks,
                                 monotone_index=monotone_index)
    result, rounds = gradual_prune(model, method, data=data, distillation=distillation, train=train, masks=masks,
                                   monotone_index=monotone_index)
    result.info["rounds"] = rounds
    return result


# -- Taylor importance -------------------------------------------------------------------------
Tuning = Distillation | RegressionDistillation


def _tuning(distillation: MethodConfig | None) -> Tuning:
    """The loss that scores or fine-tunes: a forecaster's regression distillation (output
    matching) or soft targets, which are also the default."""
    return distillation if isinstance(distillation, (Distillation, RegressionDistillation)) else Distillation()


def _tuning_loss(out: torch.Tensor, t: torch.Tensor, y: torch.Tensor, loss: Tuning, task: str,
                 w: torch.Tensor | None = None, offset: float = 0.0) -> torch.Tensor:
    if isinstance(loss, RegressionDistillation):
        return regression_distillation_loss(out, t, y, loss, task, w, offset)
    return distillation_loss(out, t, y, loss, w, offset)


def taylor_scores(model: FinliteModel, layers: list[tuple[str, nn.Linear]], method: TaylorPruning,
                  data: DistillData, distillation: MethodConfig | None = None) -> list[np.ndarray]:
    """``|w · ∂L/∂w|`` (or its neuron sums) accumulated over mini-batches, per layer."""
    loss_config = _tuning(distillation)
    work = copy.deepcopy(model)
    work.eval()  # no dropout: score the network that will be deployed
    work_layers = dict(work.linear_layers())
    sums = [np.zeros(layer.weight.numel() if method.granularity == "weight" else layer.out_features)
            for _, layer in layers]
    gen = torch.Generator().manual_seed(0)
    rows = data.source()  # real and (streamed) transfer rows, built per batch
    n = len(rows)
    for _ in range(method.batches):
        idx = torch.randperm(n, generator=gen)[: method.batch_size]
        work.zero_grad(set_to_none=True)
        b = rows.batch(idx)
        loss = _tuning_loss(work(b["x"]), b["t"], b["y"], loss_config, data.task, b["w"], data.label_offset)
        loss.backward()
        for i, (name, _) in enumerate(layers):
            layer = work_layers[name]
            if layer.weight.grad is None:  # every weight of the scored layers feeds the loss
                raise ConfigError(f"Taylor pruning got no gradient for layer {name!r}; it must be part of the model's "
                                  "forward pass.")
            contrib = (layer.weight * layer.weight.grad).detach().double()
            if method.granularity == "weight":
                sums[i] += contrib.abs().flatten().numpy()
            else:
                per_neuron = contrib.sum(dim=1)
                if layer.bias is not None and layer.bias.grad is not None:
                    per_neuron = per_neuron + (layer.bias * layer.bias.grad).detach().double()
                sums[i] += per_neuron.abs().numpy()
    return sums


# -- regularisation-driven pruning ----------------------------------------------------------------
def _proximal(model: FinliteModel, method: RegularizedPruning, step: float) -> None:
    """Soft-threshold weights (L1) or neuron weight groups (group lasso) by ``step · λ``."""
    with torch.no_grad():
        layers = _candidates(model, method.granularity)
        for _, layer in layers:
            w = layer.weight
            if method.penalty == "l1":
                w.copy_(torch.sign(w) * torch.clamp(w.abs() - step * method.strength, min=0.0))
            else:
                norms = torch.linalg.vector_norm(w, dim=1, keepdim=True)
                tau = step * method.strength * float(np.sqrt(w.shape[1]))
                factor = torch.clamp(1.0 - tau / norms.clamp_min(1e-12), min=0.0)
                w.mul_(factor)
                if layer.bias is not None:
                    layer.bias.mul_(factor.squeeze(1))


def regularized_prune(model: FinliteModel, method: RegularizedPruning, *, data: DistillData,
                      distillation: MethodConfig | None = None, train: TrainConfig | None = None,
                      masks: Masks | None = None, monotone_index: Mapping[str, int] | None = None) -> PruneResult:
    """Distil ``model`` again under the penalty, then plan and apply the removal of its zeros.

    The plan's scores are the trained magnitudes; it removes weights (or neurons, keeping at
    least one per layer) whose magnitude is at most ``threshold``. A ``distillation`` with
    ``monotone`` adds its penalty to the training loss (``monotone_index`` locates the columns).
    """
    _candidates(model, method.granularity)  # refuse a model it cannot prune before any training
    tuning = _tuning(distillation)
    train = train or TrainConfig()
    masks = dict(masks or {})
    constrained = _constrained_columns(tuning, monotone_index)
    trained = _distill_with_penalty(copy.deepcopy(model), method, data, tuning, train, masks, constrained)
    layers = _candidates(trained, method.granularity)
    scores = [_scores(layer, method.granularity, "l2") for _, layer in layers]
    dead = [name for (name, _), s in zip(layers, scores, strict=True) if s.size and bool(np.all(s <= method.threshold))]
    if dead:
        # Every weight (or neuron) of a layer at zero: the student's output is a constant and
        # would be saved as a pruned model that decides nothing.
        raise ConfigError(f"regularized_pruning drove every {'weight' if method.granularity == 'weight' else 'neuron'} "
                          f"of layer(s) {', '.join(dead)} to zero (strength {method.strength:g}, threshold "
                          f"{method.threshold:g}): the student would score every row alike. Lower the strength "
                          "(0.01 to 1 is usual) or shorten the training.", param="strength")
    pruned = []
    for s in scores:
        gone = [int(i) for i in np.flatnonzero(s <= method.threshold)]
        if method.granularity == "neuron" and len(gone) >= s.size:
            gone = sorted(gone, key=lambda i: s[i])[: s.size - 1]  # keep the strongest neuron
        pruned.append(sorted(gone))
    plan = PruningPlan(method=method_to_dict(method), model=trained.config(), layers=[
        LayerPlan(name=name, shape=list(layer.weight.shape), unit=method.granularity,
                  scores=[float(v) for v in s], pruned=p)
        for (name, layer), s, p in zip(layers, scores, pruned, strict=True)])
    return apply_plan(trained, plan)


def _distill_with_penalty(model: FinliteModel, method: RegularizedPruning, data: DistillData,
                          distillation: Tuning, train: TrainConfig, masks: Masks,
                          constrained: tuple[list[tuple[int, int]], float] = ([], 0.0)) -> FinliteModel:
    tensors = data.source()  # real and (streamed) transfer rows, built per batch
    x_val, y_val, t_val = (torch.from_numpy(a) for a in (data.x_val, data.y_val, data.t_val))
    columns, weight = constrained

    def loss_fn(out: torch.Tensor, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
        loss = _tuning_loss(out, batch["t"], batch["y"], distillation, data.task, batch["w"], data.label_offset)
        if columns:  # as distill() does: a random rise per row, up to one standard deviation
            x = batch["x"]
            delta = torch.rand(x.shape[0], dtype=x.dtype)
            loss = loss + weight * monotone_penalty(model, x, out, columns, delta, MONOTONE_MARGIN)
        return loss

    def validate(m: nn.Module) -> float:
        with torch.inference_mode():
            out = forward_rows(m, x_val)
            score = float(_tuning_loss(out, t_val, y_val, distillation, data.task, None, data.label_offset))
            if columns:
                score += weight * float(monotone_penalty(m, x_val, out, columns, 0.5, MONOTONE_MARGIN))
            return -score

    masked = mask_step(model, masks)  # fit steps ``model`` itself: its parameters stay these tensors

    def after_step(m: nn.Module) -> None:
        # One proximal step per optimiser step, sized by the learning rate.
        _proximal(m, method, train.lr)  # type: ignore[arg-type]
        masked(m)

    # Early stopping would keep an early, barely sparse epoch: run the full budget instead and
    # keep the last weights, whose zeros are what the penalty produced.
    fit(model, tensors, loss_fn, validate, replace(train, patience=train.epochs), after_step=after_step,
        desc="regularised training", restore_best=False, score_name="-loss")
    return model


# -- gradual pruning ---------------------------------------------------------------------------
def _widths(model: FinliteModel, granularity: str) -> dict[str, int]:
    """Outputs of each prunable layer: Linear layers of an MLP, recurrent layers of an LSTM/GRU
    (hidden units), convolutions of a TCN (channels)."""
    if isinstance(model, SequenceModel):
        return {f"rnn.{i}": h for i, h in enumerate(model.hidden)}
    if isinstance(model, TemporalConvNet):
        return {f"convs.{i}": c for i, c in enumerate(model.channels)}
    return {name: int(layer.weight.shape[0]) for name, layer in _candidates(model, granularity)}


def gradual_prune(model: FinliteModel, method: GradualPruning, *, data: DistillData,
                  distillation: MethodConfig | None = None, train: TrainConfig | None = None,
                  masks: Masks | None = None,
                  monotone_index: Mapping[str, int] | None = None) -> tuple[PruneResult, list[dict[str, Any]]]:
    """Prune on the cubic schedule with distillation fine-tuning after every round (under the
    ``distillation``'s monotone penalty, if it has one: ``monotone_index`` locates its columns).
    ``masks`` (an earlier step's pruned weights) stay at zero through every round.

    Returns the final result (its plan is the last round's, with the weights ``masks`` held
    counted in) and one record per round.
    """
    tuning = _tuning(distillation)
    train = train or TrainConfig()
    current, masks = model, dict(masks or {})
    rounds: list[dict[str, Any]] = []
    original = _widths(model, method.granularity)
    result: PruneResult | None = None
    for k, target in enumerate(method.schedule(), start=1):
        step = MagnitudePruning(sparsity=target, granularity=method.granularity, norm=method.norm, scope=method.scope)
        if method.granularity == "neuron":
            # Targets are shares of the original widths; convert to a share of what is left now.
            per_layer = {}
            for name, width in _widths(current, "neuron").items():
                keep = max(1, round(original[name] * (1 - target)))
                per_layer[name] = max(0.0, 1.0 - keep / width)
            step = MagnitudePruning(sparsity=target, granularity="neuron", norm=method.norm, scope="layer",
                                    layer_sparsity=per_layer)
        plan = plan_pruning(current, step)
        result = apply_plan(current, plan)
        masks = (merge_masks(masks, result.masks) if plan.unit == "weight" else
                 carried_masks(masks, result.model))
        tuned = distill(data, result.model, tuning, train=train, masks=masks, monotone_index=monotone_index)
        current = tuned.model
        # What the model has lost after the round, an earlier step's held weights included.
        rounds.append({"round": k, "target_sparsity": target, "plan_sparsity": after_masks(plan, masks).sparsity(),
                       "best_epoch": tuned.training.best_epoch})
    if result is None:  # steps ≥ 1 is validated, so this cannot happen
        raise ConfigError("GradualPruning ran no rounds.")
    plan = after_masks(result.plan, masks)
    plan.method = method_to_dict(method)
    return PruneResult(model=current, plan=plan, masks=masks), rounds


# -- in a recipe ---------------------------------------------------------------------------------
def carried_masks(masks: Masks, model: FinliteModel) -> Masks:
    """Earlier steps' weight masks carried through a neuron plan. Removing neurons slices the
    weights, and the sliced weights keep their zeros, so each masked layer's mask is where its
    weights are still non-zero; without it fine-tuning revived every weight an earlier step had
    pruned (a review, 2026-12-03: 0.7 weight sparsity, then neurons, ended 13 % sparse)."""
    if not masks:
        return {}
    params = dict(model.named_parameters())
    return {name: (params[name] != 0).to(params[name].dtype) for name in masks if name in params}


def after_masks(plan: PruningPlan, masks: Masks) -> PruningPlan:
    """A weight plan recording every weight ``masks`` hold at zero, so the plan says what the model
    lost, not only what this step chose: magnitude pruning at 0.3 after a step at 0.7 picks weights
    already zero, and its plan said 30 % of a model 70 % sparse."""
    if plan.unit != "weight" or not masks:
        return plan
    layers = []
    for layer in plan.layers:
        mask = masks.get(f"{layer.name}.weight")
        if mask is None or mask.numel() != layer.total:
            layers.append(layer)
            continue
        gone = sorted(set(layer.pruned) | set(torch.flatten(mask == 0).nonzero().flatten().tolist()))
        layers.append(replace(layer, pruned=gone))
    return replace(plan, layers=layers)


def _apply_planned_pruning(method: MagnitudePruning | TaylorPruning, state: StepState, ctx: StepContext,
                           train: Mapping[str, Any]) -> tuple[StepState, dict[str, Any]]:
    """Plan, apply, then fine-tune by the recipe's distillation with pruned weights held at zero."""
    model = state.need_model(method)
    tune = ctx.fine_tuning(train)
    loss = _fine_tuning_loss(ctx)
    pruned = prune(model, method, data=ctx.tuning_data, distillation=loss, plan=ctx.ready_plan)
    plan = pruned.plan
    masks = (merge_masks(state.masks, pruned.masks) if plan.unit == "weight" else
             carried_masks(state.masks, pruned.model))
    plan = after_masks(plan, masks)
    tuned = distill(ctx.tuning_data, pruned.model, loss, train=tune, masks=masks, monotone_index=ctx.monotone_index)
    info = {"planned_sparsity": plan.sparsity(), "unit": plan.unit, "best_epoch": tuned.training.best_epoch}
    _unseen_again(tuned.model, ctx, masks, info)
    return StepState(tuned.model, masks, plan, dict(state.extra_files)), info


def _unseen_again(model: FinliteModel, ctx: StepContext, masks: Masks, info: dict[str, Any]) -> None:
    """Fine-tuning moved the seen columns' weights and left the unseen buckets' (no row sets them):
    they follow the seen columns again, on the weights the plan kept, and the step records it."""
    if isinstance(ctx.data, PreparedData):
        average_recorded(info, model, ctx.data.preprocessor, ctx.data.x_train, masks=masks)


def _apply_regularized_pruning(method: RegularizedPruning, state: StepState, ctx: StepContext,
                               train: Mapping[str, Any]) -> tuple[StepState, dict[str, Any]]:
    model = state.need_model(method)
    result = prune(model, method, data=ctx.tuning_data, distillation=_fine_tuning_loss(ctx),
                   train=ctx.fine_tuning(train), masks=state.masks, monotone_index=ctx.monotone_index)
    masks = (merge_masks(state.masks, result.masks) if result.plan.unit == "weight" else
             carried_masks(state.masks, result.model))
    plan = after_masks(result.plan, masks)
    info: dict[str, Any] = {"removed_share": plan.sparsity(), "unit": plan.unit}
    _unseen_again(result.model, ctx, masks, info)
    return StepState(result.model, masks, plan, dict(state.extra_files)), info


def _apply_gradual_pruning(method: GradualPruning, state: StepState, ctx: StepContext,
                           train: Mapping[str, Any]) -> tuple[StepState, dict[str, Any]]:
    model = state.need_model(method)
    result = prune(model, method, data=ctx.tuning_data, distillation=_fine_tuning_loss(ctx),
                   train=ctx.fine_tuning(train), masks=state.masks, monotone_index=ctx.monotone_index)
    info: dict[str, Any] = {"rounds": result.info["rounds"]}
    _unseen_again(result.model, ctx, result.masks, info)
    return StepState(result.model, result.masks, result.plan, dict(state.extra_files)), info


register_handler(MagnitudePruning, TaylorPruning)(_apply_planned_pruning)
register_handler(RegularizedPruning)(_apply_regularized_pruning)
register_handler(GradualPruning)(_apply_gradual_pruning)
