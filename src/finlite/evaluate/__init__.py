"""Evidence: credit-scoring metrics, teacher-vs-student fidelity, cost, and reports."""

from finlite.evaluate.cost import cost_metrics, count_parameters, flops_per_row, measure_latency
from finlite.evaluate.fidelity import agreement, fidelity_metrics, psi, spearman, swap_set
from finlite.evaluate.metrics import (
    accuracy_at,
    auc,
    average_precision,
    brier,
    classification_metrics,
    f1_at,
    gini,
    ks,
    log_loss,
    recall_at_fpr,
)
from finlite.evaluate.report import compare_models, model_evidence, render_markdown, render_table

__all__ = [
    "accuracy_at",
    "agreement",
    "auc",
    "average_precision",
    "brier",
    "classification_metrics",
    "compare_models",
    "cost_metrics",
    "count_parameters",
    "f1_at",
    "fidelity_metrics",
    "flops_per_row",
    "gini",
    "ks",
    "log_loss",
    "measure_latency",
    "model_evidence",
    "psi",
    "recall_at_fpr",
    "render_markdown",
    "render_table",
    "spearman",
    "swap_set",
]
