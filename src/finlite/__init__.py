"""finlite: make financial machine-learning models lightweight, with the evidence to prove it.

The public API is listed in ``__all__`` (sorted; a test keeps it from drifting). Typical use::

    import finlite
    teacher = finlite.train("loans.csv", target="default", out="runs/teacher")
    student = finlite.compress("runs/teacher", "loans.csv", out="runs/student")
    model = finlite.load("runs/student")
    scores = model.predict_proba(new_applications)
"""

from finlite import datasets
from finlite._version import __version__
from finlite.artifact import Artifact, load
from finlite.compress import (
    Distillation,
    MagnitudePruning,
    PruningPlan,
    apply_plan,
    distill,
    plan_pruning,
    prune,
)
from finlite.data import Preprocessor, Schema, SplitConfig, infer_schema, prepare, read_table
from finlite.errors import ArtifactError, ConfigError, DataError, FinliteError
from finlite.models import LogisticRegression, TabularMLP
from finlite.training import TrainConfig

# `finlite.compress` is the workflow function; the methods live in the `finlite.compress` package
# (import them as `from finlite.compress import ...`, which Python resolves through sys.modules).
from finlite.workflow import compress, evaluate_artifact, train

__all__ = [
    "Artifact",
    "ArtifactError",
    "ConfigError",
    "DataError",
    "Distillation",
    "FinliteError",
    "LogisticRegression",
    "MagnitudePruning",
    "Preprocessor",
    "PruningPlan",
    "Schema",
    "SplitConfig",
    "TabularMLP",
    "TrainConfig",
    "__version__",
    "apply_plan",
    "compress",
    "datasets",
    "distill",
    "evaluate_artifact",
    "infer_schema",
    "load",
    "plan_pruning",
    "prepare",
    "prune",
    "read_table",
    "train",
]
