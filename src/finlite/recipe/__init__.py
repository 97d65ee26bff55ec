"""Recipes: compression steps plus quality gates, in YAML (:mod:`~finlite.recipe.spec`), the gates
(:mod:`~finlite.recipe.gates`), the runner that applies them (:mod:`~finlite.recipe.runner`), the
search strategy (:mod:`~finlite.recipe.search`) and the shipped presets
(:mod:`~finlite.recipe.presets`)."""

from finlite.export.timing import deployed_latency
from finlite.recipe.gates import Gate, GateResult, evaluate_candidate, speed_check
from finlite.recipe.presets import load_preset, presets
from finlite.recipe.runner import RecipeResult, StepRecord, run_recipe
from finlite.recipe.spec import Recipe, Step

__all__ = ["Gate", "GateResult", "Recipe", "RecipeResult", "Step", "StepRecord", "deployed_latency",
           "evaluate_candidate", "load_preset", "presets", "run_recipe", "speed_check"]
