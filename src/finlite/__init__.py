"""finlite: make financial machine-learning models lightweight, with the evidence to prove it.

The public API is listed in ``__all__`` (sorted; a test keeps it from drifting). Typical use::

    import finlite
    teacher = finlite.train("loans.csv", target="default", out="runs/teacher")
    student = finlite.compress("runs/teacher", "loans.csv", out="runs/student")
    tuned = finlite.compress_with_recipe("runs/teacher", "loans.csv", finlite.load_preset("balanced"),
                                         out="runs/balanced")
    model = finlite.load("runs/student")
    scores = model.predict_score(new_applications)   # P(positive) per row; predict_proba gives (n, 2)
    decisions = model.predict(new_applications)      # 1 = flagged, at the artifact's operating point
"""

import importlib as _importlib
import os as _os
import typing as _typing

# ONNX Runtime 1.29+ collects telemetry on Linux and macOS: importing it writes a device id and an
# event database under ~/.cache/Microsoft and may upload process and model events. A bank's
# scoring host must send nothing anywhere, so finlite opts out before anything imports it (the
# variable is read once, when ONNX Runtime starts; one set by the user is left as it is). A
# program that imports onnxruntime before finlite must set ORT_DISABLE_TELEMETRY=1 itself.
_os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

from finlite._version import __version__
from finlite.errors import (
    ArtifactError,
    ConfigError,
    DataError,
    ExportError,
    FinliteError,
    FinliteWarning,
    GatesFailedError,
)

# Everything else loads on first use (PEP 562), so `import finlite.runtime` -- the torch-free
# scoring runtime -- does not pay for torch. Each name maps to the module that defines it.
_LAZY = {
    "Artifact": "finlite.artifact", "load": "finlite.artifact",
    "Preprocessor": "finlite.data", "Schema": "finlite.data", "SplitConfig": "finlite.data",
    "infer_schema": "finlite.data", "prepare": "finlite.data", "read_table": "finlite.data",
    "LogisticRegression": "finlite.models", "SequenceModel": "finlite.models", "TabularMLP": "finlite.models",
    "TemporalConvNet": "finlite.models", "TransformerForecaster": "finlite.models", "WindowMLP": "finlite.models",
    "Gate": "finlite.recipe.gates", "Recipe": "finlite.recipe.spec", "Step": "finlite.recipe.spec",
    "load_preset": "finlite.recipe.presets", "presets": "finlite.recipe.presets",
    "search_students": "finlite.jobs.search",
    "TrainConfig": "finlite.training.loop",
    "compress": "finlite.jobs.compress", "compress_with_recipe": "finlite.jobs.compress",
    "evaluate_artifact": "finlite.jobs.evaluate", "import_teacher": "finlite.jobs.train", "train": "finlite.jobs.train",
    "export_artifact": "finlite.jobs.export",
    "rebuild_report": "finlite.jobs.report", "reproduce": "finlite.jobs.reproduce",
    "Predictor": "finlite.runtime",
    **{name: "finlite.methods" for name in (
        "Distillation", "DynamicInt8", "Fp16Weights", "GradualPruning", "HintDistillation", "IntegerWeights",
        "LowRankFactorization", "MagnitudePruning", "PruningPlan", "QuantizationAwareTraining",
        "RegressionDistillation", "RegularizedPruning", "Scorecard", "StaticInt8", "TaylorPruning",
        "apply_plan", "distill", "distill_from_teacher", "factorize", "plan_pruning", "prune", "quantize")},
}


if _typing.TYPE_CHECKING:  # what the lazy names are, for type checkers (never run)
    from finlite import datasets as datasets
    from finlite import export as export
    from finlite import jobs as jobs
    from finlite import methods as methods
    from finlite import recipe as recipe
    from finlite.artifact import Artifact, load
    from finlite.data import Preprocessor, Schema, SplitConfig, infer_schema, prepare, read_table
    from finlite.jobs.compress import compress, compress_with_recipe
    from finlite.jobs.evaluate import evaluate_artifact
    from finlite.jobs.export import export_artifact
    from finlite.jobs.report import rebuild_report
    from finlite.jobs.reproduce import reproduce
    from finlite.jobs.search import search_students
    from finlite.jobs.train import import_teacher, train
    from finlite.methods import (
        Distillation,
        DynamicInt8,
        Fp16Weights,
        GradualPruning,
        HintDistillation,
        IntegerWeights,
        LowRankFactorization,
        MagnitudePruning,
        PruningPlan,
        QuantizationAwareTraining,
        RegressionDistillation,
        RegularizedPruning,
        Scorecard,
        StaticInt8,
        TaylorPruning,
        apply_plan,
        distill_from_teacher,
        plan_pruning,
    )
    from finlite.methods.distill import distill
    from finlite.methods.factorize import factorize
    from finlite.methods.prune import prune
    from finlite.methods.quantize import quantize
    from finlite.models import (
        LogisticRegression,
        SequenceModel,
        TabularMLP,
        TemporalConvNet,
        TransformerForecaster,
        WindowMLP,
    )
    from finlite.recipe.gates import Gate
    from finlite.recipe.presets import load_preset, presets
    from finlite.recipe.spec import Recipe, Step
    from finlite.runtime import Predictor
    from finlite.training.loop import TrainConfig


def __getattr__(name: str) -> _typing.Any:
    if name in ("datasets", "export", "methods", "recipe", "jobs"):
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
    "FinliteWarning",
    "Fp16Weights",
    "Gate",
    "GatesFailedError",
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
    "TemporalConvNet",
    "TrainConfig",
    "TransformerForecaster",
    "WindowMLP",
    "__version__",
    "apply_plan",
    "compress",
    "compress_with_recipe",
    "datasets",
    "distill",
    "distill_from_teacher",
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
    "rebuild_report",
    "reproduce",
    "search_students",
    "train",
]
