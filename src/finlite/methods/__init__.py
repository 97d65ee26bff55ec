"""Compression methods, each a registered frozen config, and the verbs that apply them:
:func:`distill`, :func:`prune`, :func:`quantize`, :func:`factorize` and the linear-model methods.
The compress job that runs them on an artifact is :func:`finlite.compress`
(:mod:`finlite.jobs.compress`).

Every config is a :class:`MethodConfig` registered by name (:func:`register_method`); every
family module registers the handler that applies its configs inside a recipe
(:func:`register_handler`), which the recipe runner looks up by config type (:func:`handler_for`).
Importing this package imports every family, so every method is registered.
"""

from finlite.methods.base import NoModelError, StepContext, StepState
from finlite.methods.distill import (
    Distillation,
    DistillData,
    DistillResult,
    HintDistillation,
    RegressionDistillation,
    distill,
    distill_data,
    distill_from_teacher,
    distillation_loss,
)
from finlite.methods.factorize import LowRankFactorization, factorize
from finlite.methods.linear import IntegerWeights, Scorecard
from finlite.methods.plan import LayerPlan, PruningPlan
from finlite.methods.prune import (
    GradualPruning,
    MagnitudePruning,
    PruneResult,
    RegularizedPruning,
    TaylorPruning,
    apply_plan,
    gradual_prune,
    plan_pruning,
    prune,
    regularized_prune,
)
from finlite.methods.quantize import (
    DynamicInt8,
    Fp16Weights,
    QuantizationAwareTraining,
    QuantizeResult,
    StaticInt8,
    quantize,
)
from finlite.methods.registry import (
    MethodConfig,
    handler_for,
    method_from_dict,
    method_to_dict,
    register_handler,
    register_method,
    registered_handlers,
    registered_methods,
    temporary_method,
)

__all__ = [
    "DistillData",
    "DistillResult",
    "Distillation",
    "DynamicInt8",
    "Fp16Weights",
    "GradualPruning",
    "HintDistillation",
    "IntegerWeights",
    "LayerPlan",
    "LowRankFactorization",
    "MagnitudePruning",
    "MethodConfig",
    "NoModelError",
    "PruneResult",
    "PruningPlan",
    "QuantizationAwareTraining",
    "QuantizeResult",
    "RegressionDistillation",
    "RegularizedPruning",
    "Scorecard",
    "StaticInt8",
    "StepContext",
    "StepState",
    "TaylorPruning",
    "apply_plan",
    "distill",
    "distill_data",
    "distill_from_teacher",
    "distillation_loss",
    "factorize",
    "gradual_prune",
    "handler_for",
    "method_from_dict",
    "method_to_dict",
    "plan_pruning",
    "prune",
    "quantize",
    "register_handler",
    "register_method",
    "registered_handlers",
    "registered_methods",
    "regularized_prune",
    "temporary_method",
]
