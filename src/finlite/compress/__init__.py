"""Compression methods: distillation and magnitude pruning, each a registered frozen config."""

from finlite.compress.distill import Distillation, DistillResult, distill, distillation_loss
from finlite.compress.plan import LayerPlan, PruningPlan
from finlite.compress.prune import MagnitudePruning, PruneResult, apply_plan, plan_pruning, prune
from finlite.compress.registry import method_from_dict, method_to_dict, register_method, registered_methods

__all__ = [
    "DistillResult",
    "Distillation",
    "LayerPlan",
    "MagnitudePruning",
    "PruneResult",
    "PruningPlan",
    "apply_plan",
    "distill",
    "distillation_loss",
    "method_from_dict",
    "method_to_dict",
    "plan_pruning",
    "prune",
    "register_method",
    "registered_methods",
]
