"""The one training loop, used for teachers, distillation and fine-tuning after pruning.

Mini-batch Adam with weight decay, early stopping on a validation score (higher is better),
best weights restored at the end, a tqdm progress bar, and seeds that make two runs with
the same inputs give the same weights.
"""

from __future__ import annotations

import copy
import math
import random
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from finlite._limits import MAX_SEED
from finlite._util import param_error
from finlite.evaluate.metrics import auc
from finlite.models.base import FinliteModel

__all__ = ["TrainConfig", "TrainResult", "fit", "seed_everything", "validation_auc"]

Batch = Mapping[str, torch.Tensor]
LossFn = Callable[[torch.Tensor, Batch], torch.Tensor]


# Upper bounds far above any useful run; beyond them torch overflows its C integers.
MAX_EPOCHS = 100_000
MAX_BATCH_SIZE = 1 << 24


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


@dataclass(frozen=True)
class TrainConfig:
    """Optimiser and stopping settings.

    Attributes:
        epochs: upper bound on passes over the training rows.
        batch_size: rows per gradient step.
        lr: Adam learning rate.
        weight_decay: L2 penalty (decoupled, AdamW).
        patience: epochs without a better validation score before stopping.
        seed: seeds torch, numpy and the batch order.
        progress: show a progress bar on stderr.
    """

    epochs: int = 200
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 1e-4
    patience: int = 20
    seed: int = 0
    progress: bool = True

    def __post_init__(self) -> None:
        for name, most in (("epochs", MAX_EPOCHS), ("batch_size", MAX_BATCH_SIZE), ("patience", MAX_EPOCHS)):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise param_error("TrainConfig", name, "a positive integer", value)
            if value > most:
                raise param_error("TrainConfig", name, f"a positive integer of at most {most:,}", value)
        # Non-finite rates are refused (NaN fails every comparison, inf passes "> 0").
        if not _finite(self.lr) or not self.lr > 0:
            raise param_error("TrainConfig", "lr", "a finite positive number", self.lr)
        if not _finite(self.weight_decay) or not self.weight_decay >= 0:
            raise param_error("TrainConfig", "weight_decay", "a finite number ≥ 0", self.weight_decay)
        if not isinstance(self.seed, int) or isinstance(self.seed, bool) or not 0 <= self.seed <= MAX_SEED:
            raise param_error("TrainConfig", "seed", f"a whole number from 0 to {MAX_SEED}", self.seed)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the progress flag is left out: it does not change results)."""
        out = asdict(self)
        out.pop("progress")
        return out


@dataclass
class TrainResult:
    """What the loop did: the epoch whose weights were kept and the score history."""

    best_epoch: int
    best_score: float
    epochs_run: int
    history: list[float] = field(default_factory=list)


def seed_everything(seed: int) -> None:
    """Seed Python, numpy and torch so the same inputs give the same model."""
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)


def validation_auc(x: torch.Tensor, y: np.ndarray) -> Callable[[FinliteModel], float]:
    """A validation score: AUC of the model's scores against the labels."""
    def score(model: FinliteModel) -> float:
        return auc(y, model.predict_proba(x).numpy())
    return score


def fit(
    model: FinliteModel,
    data: Batch,
    loss_fn: LossFn,
    validate: Callable[[FinliteModel], float],
    config: TrainConfig,
    *,
    after_step: Callable[[FinliteModel], None] | None = None,
    desc: str = "training",
    restore_best: bool = True,
) -> TrainResult:
    """Train ``model`` in place and restore the weights of its best validation epoch.

    Args:
        model: the network to train.
        data: tensors with the same number of rows; ``data["x"]`` is the input and every entry
            is sliced into mini-batches and handed to ``loss_fn``.
        loss_fn: ``loss_fn(logits, batch)`` → scalar loss.
        validate: returns a score for the current weights, higher is better.
        config: optimiser and stopping settings.
        after_step: called after each optimiser step (pruning masks are re-applied here).
        desc: label of the progress bar.
        restore_best: load the best validation epoch's weights at the end (the default); when
            false the last weights stay (regularised pruning wants the sparsity it reached).
    """
    seed_everything(config.seed)
    n = int(data["x"].shape[0])
    generator = torch.Generator().manual_seed(config.seed)
    optimiser = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    best_score, best_epoch = -np.inf, 0
    best_state = copy.deepcopy(model.state_dict())
    history: list[float] = []
    bar = tqdm(range(config.epochs), desc=desc, disable=not config.progress, leave=False, unit="epoch")
    epoch = 0
    for epoch in bar:
        model.train()
        for idx in torch.randperm(n, generator=generator).split(config.batch_size):
            batch = {k: v[idx] for k, v in data.items()}
            optimiser.zero_grad(set_to_none=True)
            loss = loss_fn(model(batch["x"]), batch)
            loss.backward()
            optimiser.step()
            if after_step is not None:
                after_step(model)
        model.eval()
        score = float(validate(model))
        history.append(score)
        if score > best_score:
            best_score, best_epoch = score, epoch
            best_state = copy.deepcopy(model.state_dict())
        bar.set_postfix(val=f"{score:.4f}", best=f"{best_score:.4f}")
        if epoch - best_epoch >= config.patience:
            break
    bar.close()
    if restore_best:
        model.load_state_dict(best_state)
    model.eval()
    return TrainResult(best_epoch=best_epoch, best_score=float(best_score), epochs_run=epoch + 1, history=history)
