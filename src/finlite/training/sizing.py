"""Training settings that follow the training split's size: epochs, schedule, student width and
pruning sparsity at a few thousand rows and at bank size (:data:`finlite.training.loop.LARGE_ROWS`)."""

from __future__ import annotations

from dataclasses import fields, replace
from typing import Any

from finlite.errors import ConfigError
from finlite.training.loop import LARGE_ROWS, TrainConfig

# Defaults for compress: distillation starts from scratch (a higher rate, more patience);
# fine-tuning after pruning starts from trained weights (a lower rate, fewer epochs).
DISTILL_TRAINING = TrainConfig(lr=3e-3, patience=30)


FINE_TUNING = TrainConfig(epochs=100, lr=1e-3, patience=20)


# At bank size (LARGE_ROWS training rows or more) an epoch is hundreds of steps at the automatic
# batch, so a fixed run on a one-cycle schedule converges where 200 epochs at a constant rate
# would take hours, and the student must be wider. Measured on SBA with Term (538,299 training
# rows, LightGBM teacher at test AUC 0.9817): a (64, 32) student for 20 epochs at 3e-3 reached
# 0.954; at 1e-2 0.965; (128, 64) for 30 epochs at 1e-2 0.975 (96.9 % agreement at the
# teacher's 90th percentile), 0.973 after 50 % pruning and 6 epochs of fine-tuning at 3e-3
# (1e-3 left the pruned student at 0.895). Agreement is what runs short, and it grows with
# training length: 60 epochs reached 0.9758 and 97.03 %; after 30 % pruning 20 epochs of
# fine-tuning (cosine from 3e-3) kept 0.9760 and 97.01 %, where 8 epochs left 96.94 %.
LARGE_DISTILL_TRAINING = TrainConfig(epochs=60, lr=1e-2, patience=60, schedule="onecycle")


LARGE_FINE_TUNING = TrainConfig(epochs=20, lr=3e-3, patience=20, schedule="cosine")


SMALL_STUDENT, LARGE_STUDENT = (16,), (128, 64)


# compress's pruning when --sparsity is not given: half the weights below LARGE_ROWS; 30 % from
# there, where 50 % cost the (128, 64) student on SBA 0.2 % of the decisions even after 20 epochs
# of fine-tuning (96.82 % agreement), and 30 % none (97.01 %).
SPARSITY, LARGE_SPARSITY = 0.5, 0.3


def default_training(rows: int, *, progress: bool = True, overrides: dict[str, Any] | None = None,
                     seed: int | None = None) -> tuple[TrainConfig, TrainConfig]:
    """compress's distillation and fine-tuning settings for ``rows`` training rows.

    Below :data:`LARGE_ROWS`: :data:`DISTILL_TRAINING` and :data:`FINE_TUNING` (up to 200 and
    100 epochs at a constant rate, early stopping); from it: :data:`LARGE_DISTILL_TRAINING`
    (60 epochs, one-cycle at 1e-2) and :data:`LARGE_FINE_TUNING` (20 epochs, cosine from 3e-3). The batch size
    follows the row count (:func:`finlite.training.loop.auto_batch_size`) unless ``overrides`` (e.g.
    ``{"batch_size": 2048, "epochs": 10}``, from --batch-size and --epochs) sets it.
    """
    large = rows >= LARGE_ROWS
    distill_cfg, tune_cfg = (LARGE_DISTILL_TRAINING, LARGE_FINE_TUNING) if large else (DISTILL_TRAINING, FINE_TUNING)
    extra: dict[str, Any] = {"progress": progress, **(overrides or {})}
    if seed is not None:
        extra["seed"] = seed
    known = {f.name for f in fields(TrainConfig)}
    unknown = sorted(str(k) for k in extra if k not in known)
    if unknown:  # a raw TypeError from TrainConfig() before (a review of the Python API, 2026-12-05)
        raise ConfigError(f"The 'train_overrides' parameter names {unknown[0]!r}, which is not a training setting; "
                          f"use {', '.join(sorted(known))}.", param="train_overrides")
    return replace(distill_cfg, **extra), replace(tune_cfg, **extra)


def default_student(rows: int) -> tuple[int, ...]:
    """compress's default student widths: (16,) below :data:`LARGE_ROWS` training rows, (128, 64) from it."""
    return LARGE_STUDENT if rows >= LARGE_ROWS else SMALL_STUDENT


def default_sparsity(rows: int) -> float:
    """compress's default pruning sparsity: :data:`SPARSITY` below :data:`LARGE_ROWS` training rows,
    :data:`LARGE_SPARSITY` from it."""
    return LARGE_SPARSITY if rows >= LARGE_ROWS else SPARSITY
