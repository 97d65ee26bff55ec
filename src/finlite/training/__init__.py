"""Training: the one loop every torch model is fitted with (:mod:`finlite.training.loop`), the
settings that follow the data's size (:mod:`finlite.training.sizing`), and boosted-tree teachers
(:mod:`finlite.training.boosted`, LightGBM and XGBoost, imported on use)."""

from finlite.training.loop import (
    LARGE_ROWS,
    SCHEDULES,
    RowSource,
    TrainConfig,
    TrainResult,
    auto_batch_size,
    fit,
    seed_everything,
    validation_auc,
)

__all__ = ["LARGE_ROWS", "SCHEDULES", "RowSource", "TrainConfig", "TrainResult", "auto_batch_size", "fit",
           "seed_everything", "validation_auc"]
