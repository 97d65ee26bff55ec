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

from finlite import datasets
from finlite._version import __version__
from finlite.artifact import Artifact, load
from finlite.compress import (
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
    distill,
    factorize,
    plan_pruning,
    prune,
    quantize,
)
from finlite.data import Preprocessor, Schema, SplitConfig, infer_schema, prepare, read_table
from finlite.errors import ArtifactError, ConfigError, DataError, FinliteError
from finlite.models import LogisticRegression, SequenceModel, TabularMLP
from finlite.recipe import Gate, Recipe, Step, load_preset, presets
from finlite.search import search_students
from finlite.training import TrainConfig

# `finlite.compress` is the workflow function; the methods live in the `finlite.compress` package
# (import them as `from finlite.compress import ...`, which Python resolves through sys.modules).
from finlite.workflow import compress, compress_with_recipe, evaluate_artifact, import_teacher, train

__all__ = [
    "Artifact",
    "ArtifactError",
    "ConfigError",
    "DataError",
    "Distillation",
    "DynamicInt8",
    "FinliteError",
    "Fp16Weights",
    "Gate",
    "GradualPruning",
    "HintDistillation",
    "IntegerWeights",
    "LogisticRegression",
    "LowRankFactorization",
    "MagnitudePruning",
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
