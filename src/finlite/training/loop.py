"""The one training loop, used for teachers, distillation and fine-tuning after pruning.

Mini-batch Adam with weight decay, early stopping on a validation score (higher is better),
best weights restored at the end, progress through :mod:`finlite._progress` (a bar on a
terminal, a line per epoch elsewhere), and seeds that make two runs with the same inputs give
the same weights.

Rows come from a mapping of tensors or from a :class:`RowSource`, which builds each
mini-batch on demand (a distillation transfer set is generated batch by batch instead of
being materialised next to the training rows).

The batch size follows the row count when it is not given (:func:`auto_batch_size`): 64 rows
up to 32,768 rows per epoch, then the power of two at or below rows/512 (so about 512-1,024
steps per epoch), at most 4,096. German credit's 600-row training split trains at 64; SBA's
538,000 training rows at 1,024 (2,048 with a transfer set of the same size).
"""

from __future__ import annotations

import copy
import functools
import math
import random
import threading
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any, ParamSpec, Protocol, TypeVar, runtime_checkable

import numpy as np
import torch

from finlite._limits import MAX_SEED, plain_ints
from finlite._progress import Progress
from finlite._util import check_flags, param_error
from finlite.errors import ConfigError
from finlite.evaluate.metrics import auc
from finlite.models.base import FinliteModel, forward_rows
from finlite.models.mlp import TabularMLP

__all__ = ["LARGE_ROWS", "SCHEDULES", "RowSource", "TrainConfig", "TrainResult", "auto_batch_size", "fit", "fold_scale",
           "output_layer", "seed_everything", "seeded", "validation_auc"]

Batch = Mapping[str, torch.Tensor]
LossFn = Callable[[torch.Tensor, Batch], torch.Tensor]


# Upper bounds far above any useful run; beyond them torch overflows its C integers.
MAX_EPOCHS = 100_000
MAX_BATCH_SIZE = 1 << 24
#: Largest learning rate accepted: Adam's step is about lr per weight, so anything near 1 already
#: diverges; beyond float32's range torch fails with a raw RuntimeError.
MAX_LR = 1.0
SCHEDULES = ("constant", "cosine", "onecycle")
# Networks below this many parameters train on one intra-op thread (see fit).
SMALL_MODEL_PARAMETERS = 1_000_000
# The automatic batch: at least 64 rows (small tables need many steps), about rows/512 beyond
# that (512-1,024 steps per epoch), at most 4,096 (larger batches stop paying on a CPU).
MIN_AUTO_BATCH, MAX_AUTO_BATCH, STEPS_PER_EPOCH = 64, 4096, 512
# From this many training rows a table is "bank size": compress, the recipes' large_hidden and the
# search switch to wider students and a fixed one-cycle schedule (see finlite.training.sizing).
LARGE_ROWS = 100_000


def auto_batch_size(rows: int) -> int:
    """The batch size used when none is given: 64 for up to 32,768 rows per epoch, then the
    power of two at or below ``rows / 512``, at most 4,096 (e.g. 1,024 at 720,000 rows)."""
    target = max(int(rows), 1) // STEPS_PER_EPOCH
    size = 1 << max(target.bit_length() - 1, 0)
    return int(min(max(size, MIN_AUTO_BATCH), MAX_AUTO_BATCH))


@runtime_checkable
class RowSource(Protocol):
    """Training rows built on demand: ``len(source)`` rows, ``source.batch(idx)`` a mini-batch
    (a dict of tensors with at least ``"x"``) of the rows at positions ``idx``."""

    def __len__(self) -> int:
        """Number of rows an epoch visits."""

    def batch(self, idx: torch.Tensor) -> dict[str, torch.Tensor]:
        """The mini-batch of the rows at positions ``idx``."""


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def seeded(config: TrainConfig | None, seed: int, owner: str, name: str = "config",
           default: TrainConfig | None = None) -> TrainConfig:
    """``config`` (or ``default``, or the default settings) carrying the run's ``seed``.

    A job's ``seed=`` is the run's seed: its data split, its manifest and every training step
    read it, so a config carries it. A config that names another seed of its own (not the
    default 0) is refused rather than overridden: ``finlite.train(config=TrainConfig(seed=99))``
    trained with seed 0 and recorded 0, with no word (a review, 2026-12-06).

    Raises:
        ConfigError: ``config.seed`` is neither the default nor ``seed``.
    """
    if config is not None and config.seed not in (0, seed):
        raise ConfigError(f"{owner}: {name}=TrainConfig(seed={config.seed}) but the run's seed is {seed}; the run's "
                          f"seed (seed=) is the one every step trains with and the manifest records. Pass "
                          f"seed={config.seed} and leave the config's seed out.", param="seed")
    return replace(config or default or TrainConfig(), seed=seed)


@dataclass(frozen=True)
class TrainConfig:
    """Optimiser and stopping settings.

    Attributes:
        epochs: upper bound on passes over the training rows.
        batch_size: rows per gradient step; None (the default) follows the row count
            (:func:`auto_batch_size`).
        lr: Adam learning rate (the peak rate under a schedule).
        weight_decay: L2 penalty (decoupled, AdamW).
        patience: epochs without a better validation score before stopping.
        seed: seeds torch, numpy and the batch order.
        progress: report progress on stderr (a bar on a terminal, a line per epoch elsewhere).
        schedule: the learning rate over the ``epochs``: "constant"; "cosine" (from ``lr`` down
            to lr/100); "onecycle" (warm up for the first 10 %, then cosine down to lr/1000).
    """

    epochs: int = 200
    batch_size: int | None = None
    lr: float = 1e-3
    weight_decay: float = 1e-4
    patience: int = 20
    seed: int = 0
    progress: bool = True
    schedule: str = "constant"

    def __post_init__(self) -> None:
        plain_ints(self, ("epochs", "batch_size", "patience", "seed"))  # np.int64 from a frame's shape, say
        check_flags("TrainConfig", progress=self.progress)
        if self.schedule not in SCHEDULES:
            raise param_error("TrainConfig", "schedule", f"one of {SCHEDULES}", self.schedule)
        for name, most in (("epochs", MAX_EPOCHS), ("batch_size", MAX_BATCH_SIZE), ("patience", MAX_EPOCHS)):
            value = getattr(self, name)
            if name == "batch_size" and value is None:
                continue
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise param_error("TrainConfig", name, "a positive integer", value)
            if value > most:
                raise param_error("TrainConfig", name, f"a positive integer of at most {most:,}", value)
        # Non-finite rates are refused (NaN fails every comparison, inf passes "> 0").
        if not _finite(self.lr) or not 0 < self.lr <= MAX_LR:
            raise param_error("TrainConfig", "lr", f"a finite positive number of at most {MAX_LR:g} (Adam's usual "
                              "rates are 1e-4 to 1e-2)", self.lr)
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
    batch_size: int = 0
    #: The non-finite loss that stopped training early (the best epoch before it was kept), if any.
    diverged: float | None = None


def seed_everything(seed: int) -> None:
    """Seed Python, numpy and torch so the same inputs give the same model. The public jobs keep
    the caller's generators as they were (:func:`keeps_random_state`)."""
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)


_P = ParamSpec("_P")
_R = TypeVar("_R")


def keeps_random_state(func: Callable[_P, _R]) -> Callable[_P, _R]:
    """``func`` with Python's, numpy's and torch's global random generators put back as they were
    when it returns or raises. Training seeds them (:func:`seed_everything`) so that a run is
    reproducible; without this a notebook's next ``np.random`` or ``torch`` draw after
    ``finlite.train`` was silently re-seeded (a review of the Python API, 2026-12-05).

    Only the outermost call puts them back: a job that calls another (reproduce calling train)
    draws from them as it always did, so a run gives the numbers it gave before this existed.
    The generators are the process's: jobs run at once in several threads share them (as they
    always did), and each one's end puts back the state it began with."""
    @functools.wraps(func)
    def kept(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        if getattr(_KEEPING, "depth", 0):
            return func(*args, **kwargs)
        py, npy, tch = random.getstate(), np.random.get_state(), torch.get_rng_state()
        # torch.manual_seed seeds the GPUs' generators too: theirs are kept when CUDA is in use.
        gpu = (torch.cuda.get_rng_state_all()
               if torch.cuda.is_available() and torch.cuda.is_initialized() else None)  # type: ignore[no-untyped-call]
        _KEEPING.depth = 1
        try:
            return func(*args, **kwargs)
        finally:
            _KEEPING.depth = 0
            random.setstate(py)
            np.random.set_state(npy)
            torch.set_rng_state(tch)
            if gpu is not None:
                torch.cuda.set_rng_state_all(gpu)
    return kept


#: Whether this thread is inside a job that puts the generators back (keeps_random_state).
_KEEPING = threading.local()


def validation_auc(x: torch.Tensor, y: np.ndarray) -> Callable[[FinliteModel], float]:
    """A validation score: AUC of the model's scores against the labels."""
    def score(model: FinliteModel) -> float:
        was_training = model.training
        model.eval()
        try:
            with torch.inference_mode():  # in pieces: see forward_rows
                return auc(y, torch.sigmoid(forward_rows(model, x)).numpy())
        finally:
            model.train(was_training)
    return score


def _lr_factor(schedule: str, progress: float) -> float:
    """The learning-rate multiplier at ``progress`` (0 → 1) through the planned epochs."""
    if schedule == "cosine":
        return 0.01 + 0.99 * 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0)))
    if schedule == "onecycle":
        if progress < 0.1:  # warm-up: large early steps on a fresh network diverge less from low rates
            return 0.04 + 0.96 * progress / 0.1
        rest = min((progress - 0.1) / 0.9, 1.0)
        return 0.001 + 0.999 * 0.5 * (1.0 + math.cos(math.pi * rest))
    return 1.0


# The network fit() trains: a finlite model, or a module wrapping one (a hint student).
Net = TypeVar("Net", bound=torch.nn.Module)


def fit(
    model: Net,
    data: Batch | RowSource,
    loss_fn: LossFn,
    validate: Callable[[Net], float],
    config: TrainConfig,
    *,
    after_step: Callable[[Net], None] | None = None,
    desc: str = "training",
    restore_best: bool = True,
    score_name: str = "score",
) -> TrainResult:
    """Train ``model`` in place and restore the weights of its best validation epoch.

    Args:
        model: the network to train (a finlite model, or one wrapping it, such as a hint
            distillation's student with its projection).
        data: tensors with the same number of rows (``data["x"]`` is the input; every entry is
            sliced into mini-batches and handed to ``loss_fn``), or a :class:`RowSource` that
            builds each mini-batch on demand.
        loss_fn: ``loss_fn(logits, batch)`` → scalar loss.
        validate: returns a score for the current weights, higher is better.
        config: optimiser, schedule and stopping settings; ``batch_size`` None follows the
            row count (:func:`auto_batch_size`).
        after_step: called after each optimiser step (pruning masks are re-applied here).
        desc: the step's name in the progress output.
        restore_best: load the best validation epoch's weights at the end (the default); when
            false the last weights stay (regularised pruning wants the sparsity it reached).
        score_name: what ``validate`` returns, as the progress line names it ("AUC", "-loss"):
            a bare "val -0.5187" named nothing (a quant's walk-through, 2026-12-06).
    """
    seed_everything(config.seed)
    small = sum(p.numel() for p in model.parameters()) < SMALL_MODEL_PARAMETERS
    threads = torch.get_num_threads()
    if small:
        # A small network's matmuls are too short to split across threads: measured on a 2-core
        # machine under load, a second thread made each step 15-20x slower (its spin-waits
        # compete with every other process), and even idle it gains nothing at these sizes.
        torch.set_num_threads(1)
    try:
        return _fit(model, data, loss_fn, validate, config, after_step, desc, restore_best, score_name)
    finally:
        torch.set_num_threads(threads)


def _fit(model: Net, data: Batch | RowSource, loss_fn: LossFn, validate: Callable[[Net], float],
         config: TrainConfig, after_step: Callable[[Net], None] | None, desc: str,
         restore_best: bool, score_name: str = "score") -> TrainResult:
    if isinstance(data, Mapping):
        n = int(data["x"].shape[0])
        tensors = data

        def take(idx: torch.Tensor) -> Mapping[str, torch.Tensor]:
            return {k: v[idx] for k, v in tensors.items()}
    else:
        n = len(data)
        take = data.batch
    batch_size = config.batch_size or auto_batch_size(n)
    generator = torch.Generator().manual_seed(config.seed)
    optimiser = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    steps_per_epoch = max(math.ceil(n / batch_size), 1)
    total_steps = steps_per_epoch * config.epochs
    best_score, best_epoch = -np.inf, 0
    best_state = copy.deepcopy(model.state_dict())
    history: list[float] = []
    epoch, step = 0, 0
    diverged: float | None = None
    with Progress(desc, config.epochs, unit="epoch", enabled=config.progress) as progress:
        for epoch in range(config.epochs):
            model.train()
            for idx in torch.randperm(n, generator=generator).split(batch_size):
                if config.schedule != "constant":
                    factor = _lr_factor(config.schedule, step / total_steps)
                    for group in optimiser.param_groups:
                        group["lr"] = config.lr * factor
                step += 1
                batch = take(idx)
                optimiser.zero_grad(set_to_none=True)
                loss = loss_fn(model(batch["x"]), batch)
                if not torch.isfinite(loss):
                    # The weights are NaN or infinite from here on: a step further only spreads
                    # it. Stop, and keep the best epoch before it (or refuse: below).
                    diverged = float(loss.detach())
                    break
                loss.backward()
                optimiser.step()
                if after_step is not None:
                    after_step(model)
            if diverged is not None:
                break
            model.eval()
            score = float(validate(model))
            history.append(score)
            if score > best_score:
                best_score, best_epoch = score, epoch
                best_state = copy.deepcopy(model.state_dict())
            progress.update(rows=n, metric=f"val {score_name} {score:.4f} (best {best_score:.4f})")
            if epoch - best_epoch >= config.patience:
                break
    if diverged is not None and (not restore_best or not math.isfinite(best_score)):
        # No epoch ended with finite weights and a validation score (or the last weights were to
        # be kept): what would be saved is the untrained start, or NaN. A settings error.
        raise ConfigError(
            f"{desc}: the training loss became {diverged} at step {step} (epoch {epoch + 1}), before any "
            f"{'epoch ended' if restore_best else 'end of training'} with finite weights: these settings make "
            f"training diverge. Lower the learning rate (lr {config.lr:g}; 1e-3 is the default) or bring the "
            "step's other settings nearer their defaults (a temperature far from 1, a huge penalty).",
            param="lr")
    if diverged is not None and config.progress:  # kept, but not without a word
        import sys

        print(f"note: {desc} stopped in epoch {epoch + 1}: the training loss became {diverged}; the best epoch "
              f"({best_epoch + 1}) is kept. A lower learning rate (lr {config.lr:g}) may train further.",
              file=sys.stderr)
    if restore_best:
        model.load_state_dict(best_state)
    model.eval()
    return TrainResult(best_epoch=best_epoch, best_score=float(best_score), epochs_run=epoch + 1, history=history,
                       batch_size=batch_size, diverged=diverged)


# -- the output layer --------------------------------------------------------------------------
def output_layer(model: torch.nn.Module) -> torch.nn.Linear | None:
    """The float Linear layer a model's output is read from (a forecaster's ``head``, an MLP's last
    layer), or None when the output is not a plain Linear of the last features (an int8 layer)."""
    try:
        head = getattr(model, "head", None)
    except ConfigError:  # a WindowMLP whose last layer is no longer a Linear (a QAT layer)
        return None
    if isinstance(head, torch.nn.Linear):
        return head
    if isinstance(model, TabularMLP):
        last = model.layers[-1]
        if isinstance(last, torch.nn.Sequential):  # a factorised layer: the second factor carries the bias
            last = last[-1]
        return last if isinstance(last, torch.nn.Linear) else None
    return None


def fold_scale(layer: torch.nn.Linear | None, factor: float) -> None:
    """Multiply a layer's weights and bias by ``factor`` (its outputs scale by it exactly): how a
    model trained on targets divided by their spread is put back in the targets' units."""
    if layer is None or factor == 1.0:
        return
    with torch.no_grad():
        layer.weight.mul_(factor)
        if layer.bias is not None:
            layer.bias.mul_(factor)
