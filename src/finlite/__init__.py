"""finlite: make financial machine-learning models lightweight, with the evidence to prove it.

The public API is listed in ``__all__`` (sorted; a test keeps it from drifting). Typical use::

    import finlite
    teacher = finlite.train("loans.csv", target="default", out="runs/teacher")
    student = finlite.compress("runs/teacher", "loans.csv", out="runs/student")
    tuned = finlite.compress_with_recipe("runs/teacher", "loans.csv", finlite.load_preset("balanced"),
                                         out="runs/balanced")
    model = finlite.load("runs/student")
    scores = model.predict_proba(new_applications)
"""

import importlib as _importlib
import typing as _typing

from finlite._version import __version__
from finlite.errors import ArtifactError, ConfigError, DataError, ExportError, FinliteError

# Everything else loads on first use (PEP 562), so `import finlite.runtime` -- the torch-free
# scoring runtime -- does not pay for torch. Each name maps to the module that defines it.
_LAZY = {
    "Artifact": "finlite.artifact", "load": "finlite.artifact",
    "Preprocessor": "finlite.data", "Schema": "finlite.data", "SplitConfig": "finlite.data",
    "infer_schema": "finlite.data", "prepare": "finlite.data", "read_table": "finlite.data",
    "LogisticRegression": "finlite.models", "SequenceModel": "finlite.models", "TabularMLP": "finlite.models",
    "Gate": "finlite.recipe", "Recipe": "finlite.recipe", "Step": "finlite.recipe",
    "load_preset": "finlite.recipe", "presets": "finlite.recipe",
    "search_students": "finlite.search",
    "TrainConfig": "finlite.training",
    "compress_with_recipe": "finlite.workflow", "evaluate_artifact": "finlite.workflow",
    "import_teacher": "finlite.workflow", "train": "finlite.workflow",
    "export_artifact": "finlite.export",
    "Predictor": "finlite.runtime",
    **{name: "finlite.compress" for name in (
        "Distillation", "DynamicInt8", "Fp16Weights", "GradualPruning", "HintDistillation", "IntegerWeights",
        "LowRankFactorization", "MagnitudePruning", "PruningPlan", "QuantizationAwareTraining",
        "RegressionDistillation", "RegularizedPruning", "Scorecard", "StaticInt8", "TaylorPruning",
        "apply_plan", "distill", "factorize", "plan_pruning", "prune", "quantize")},
}


def __getattr__(name: str) -> _typing.Any:
    if name == "compress":
        # The `finlite.compress` package is itself callable as the compress workflow (see its
        # __init__), so `finlite.compress(...)` and `from finlite.compress import ...` both work.
        return _importlib.import_module("finlite.compress")
    if name in ("datasets", "export"):
        return _importlib.import_module(f"finlite.{name}")
    if name in _LAZY:
        value = getattr(_importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'finlite' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


__all__ = [
    "Artifact",
    "ArtifactError",
    "ConfigError",
    "DataError",
    "Distillation",
    "DynamicInt8",
    "ExportError",
    "FinliteError",
    "Fp16Weights",
    "Gate",
    "GradualPruning",
    "HintDistillation",
    "IntegerWeights",
    "LogisticRegression",
    "LowRankFactorization",
    "MagnitudePruning",
    "Predictor",
    "Preprocessor",
    "PruningPlan",
    "QuantizationAwareTraining",
    "Recipe",
    "RegressionDistillation",
    "RegularizedPruning",
    "Schema",
    "Scorecard",
    "SequenceModel",
    "SplitConfig",
    "StaticInt8",
    "Step",
    "TabularMLP",
    "TaylorPruning",
    "TrainConfig",
    "__version__",
    "apply_plan",
    "compress",
    "compress_with_recipe",
    "datasets",
    "distill",
    "evaluate_artifact",
    "export",
    "export_artifact",
    "factorize",
    "import_teacher",
    "infer_schema",
    "load",
    "load_preset",
    "plan_pruning",
    "prepare",
    "presets",
    "prune",
    "quantize",
    "read_table",
    "search_students",
    "train",
]
