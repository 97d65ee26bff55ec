"""Model architectures: tabular MLP and logistic regression, rebuildable from their configs."""

from finlite.models.base import FinliteModel, build_model, register_model
from finlite.models.linear import LogisticRegression
from finlite.models.mlp import TabularMLP

__all__ = ["FinliteModel", "LogisticRegression", "TabularMLP", "build_model", "register_model"]
