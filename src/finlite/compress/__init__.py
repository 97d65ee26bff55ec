"""Compression methods, each a registered frozen config, and the verbs that apply them.

Calling the package runs the compress workflow: ``finlite.compress(teacher, data, out=...)`` is
:func:`finlite.workflow.compress`.
"""

import sys
import types
from typing import Any

from finlite.compress.distill import (
    Distillation,
    DistillData,
    DistillResult,
    HintDistillation,
    RegressionDistillation,
    distill,
    distill_data,
    distillation_loss,
)
from finlite.compress.factorize import LowRankFactorization, factorize
from finlite.compress.linear import IntegerWeights, Scorecard
from finlite.compress.plan import LayerPlan, PruningPlan
from finlite.compress.prune import (
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
from finlite.compress.quantize import DynamicInt8, Fp16Weights, QuantizationAwareTraining, StaticInt8, quantize
from finlite.compress.registry import method_from_dict, method_to_dict, register_method, registered_methods

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
    "PruneResult",
    "PruningPlan",
    "QuantizationAwareTraining",
    "RegressionDistillation",
    "RegularizedPruning",
    "Scorecard",
    "StaticInt8",
    "TaylorPruning",
    "apply_plan",
    "distill",
    "distill_data",
    "distillation_loss",
    "factorize",
    "gradual_prune",
    "method_from_dict",
    "method_to_dict",
    "plan_pruning",
    "prune",
    "quantize",
    "register_method",
    "registered_methods",
    "regularized_prune",
]


class _CallablePackage(types.ModuleType):
    """This package doubles as the compress workflow: ``finlite.compress(teacher, data, ...)``.

    Importing a subpackage sets it as an attribute of its parent, which would hide a function
    of the same name; making the package callable keeps both spellings working in any import
    order, while ``import finlite`` stays light (nothing here loads until first use).
    """

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from finlite.workflow import compress

        return compress(*args, **kwargs)


sys.modules[__name__].__class__ = _CallablePackage
