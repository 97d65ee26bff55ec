"""Evidence: credit-scoring and forecast metrics (errors, Diebold–Mariano, a trading view), teacher-vs-student fidelity, operating points,
cost, and reports.

The metric, fidelity and operating-point modules need only numpy, so the torch-free runtime can
use them (through :mod:`finlite.tasks`); ``cost`` and ``report`` run torch models and load on
first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from finlite.evaluate.fidelity import (
    agreement,
    alert_overlap,
    correlation,
    fidelity_metrics,
    psi,
    regression_fidelity,
    spearman,
    swap_set,
)
from finlite.evaluate.forecast import (
    buy_and_hold,
    cross_sectional_ic,
    diebold_mariano,
    directional_accuracy,
    forecast_metrics,
    information_coefficient,
    mape,
    mase,
    max_drawdown,
    per_fold,
    trading_view,
)
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
    mae,
    precision_at,
    r2,
    recall_at,
    recall_at_fpr,
    regression_metrics,
    rmse,
)
from finlite.evaluate.operating import FLAG_RATE_BAND, OperatingPoint, agreement_band, cutoff_at_flag_rate

if TYPE_CHECKING:
    from finlite.evaluate.cost import cost_metrics, count_parameters, flops_per_row, measure_latency
    from finlite.evaluate.report import compare_models, model_evidence, render_markdown, render_table

# Names from the modules that import torch: loaded on first use (PEP 562).
_LAZY = {**{name: "finlite.evaluate.cost" for name in ("cost_metrics", "count_parameters", "flops_per_row",
                                                      "measure_latency")},
         **{name: "finlite.evaluate.report" for name in ("compare_models", "model_evidence", "render_markdown",
                                                        "render_table")}}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'finlite.evaluate' has no attribute {name!r}")


__all__ = [
    "FLAG_RATE_BAND",
    "OperatingPoint",
    "accuracy_at",
    "agreement",
    "agreement_band",
    "alert_overlap",
    "auc",
    "average_precision",
    "brier",
    "buy_and_hold",
    "classification_metrics",
    "compare_models",
    "correlation",
    "cost_metrics",
    "count_parameters",
    "cross_sectional_ic",
    "cutoff_at_flag_rate",
    "diebold_mariano",
    "directional_accuracy",
    "f1_at",
    "fidelity_metrics",
    "flops_per_row",
    "forecast_metrics",
    "gini",
    "information_coefficient",
    "ks",
    "log_loss",
    "mae",
    "mape",
    "mase",
    "max_drawdown",
    "measure_latency",
    "model_evidence",
    "per_fold",
    "precision_at",
    "psi",
    "r2",
    "recall_at",
    "recall_at_fpr",
    "regression_fidelity",
    "regression_metrics",
    "render_markdown",
    "render_table",
    "rmse",
    "spearman",
    "swap_set",
    "trading_view",
]
