"""Knowledge distillation: a teacher's outputs train a smaller student.

Three losses, each a registered config:

- :class:`Distillation`: soft targets for a binary classifier, ``α·T²·KL + (1−α)·CE``;
- :class:`RegressionDistillation`: MSE or Huber towards the teacher's output (its logit for a
  classifier, as in Ba & Caruana 2014; its forecast for a regression model) plus the label loss;
- :class:`HintDistillation`: the classification loss plus ``β·MSE`` between a student hidden
  layer, mapped by a learned projection, and a teacher hidden layer (FitNets, Romero et al. 2015).

The teacher is seen only through its outputs on the training rows (:class:`DistillData`), so
any teacher works: a torch model, a LightGBM or XGBoost booster, and out-of-fold predictions
can stand in for the teacher's own on its training rows. A transfer set of synthetic rows near
the training data, labelled by the teacher, gives the student more of the teacher's function
to learn than the labelled rows alone.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from finlite._limits import MAX_WIDTH, check_memory
from finlite._util import check_fraction, param_error
from finlite.compress.registry import register_method
from finlite.data.prepared import PreparedData
from finlite.errors import ConfigError
from finlite.models.base import FinliteModel
from finlite.models.linear import LogisticRegression
from finlite.models.mlp import TabularMLP
from finlite.training import LARGE_ROWS, TrainConfig, TrainResult, fit

__all__ = [
    "DistillData",
    "DistillResult",
    "Distillation",
    "HintDistillation",
    "RegressionDistillation",
    "TransferSet",
    "apply_masks",
    "distill",
    "distillation_loss",
    "make_student",
    "make_transfer_set",
    "regression_distillation_loss",
    "student_widths",
    "teacher_logits",
    "with_transfer_for",
]

Masks = dict[str, torch.Tensor]
TeacherFn = Callable[[np.ndarray], np.ndarray]
STUDENTS = ("mlp", "logistic")
TRANSFER = ("none", "perturb", "mixup")


def _number(owner: str, name: str, value: Any, *, positive: bool = False) -> None:
    # inf passes "> 0" and NaN fails nothing it is not asked: both are refused by name.
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or (positive and not value > 0):
        raise param_error(owner, name, "a positive number" if positive else "a number", value)


def _student_fields(owner: str, config: Any) -> None:
    """Validate and normalise the student and transfer-set fields shared by every distillation."""
    if config.student not in STUDENTS:
        raise param_error(owner, "student", f"one of {STUDENTS}", config.student)
    for field in ("hidden", "large_hidden"):
        hidden = getattr(config, field)
        if field == "large_hidden" and hidden is None:
            continue
        if isinstance(hidden, int) or not isinstance(hidden, Sequence) or isinstance(hidden, str):
            raise param_error(owner, field, "a list of positive layer widths, e.g. [16]", hidden)
        if config.student == "mlp" and (not hidden or any(isinstance(h, bool) or not isinstance(h, int) or h < 1
                                                          for h in hidden)):
            raise param_error(owner, field, "a non-empty list of positive integers", list(hidden))
        if any(isinstance(h, int) and h > MAX_WIDTH for h in hidden):
            raise param_error(owner, field, f"layer widths of at most {MAX_WIDTH:,} (a student is small)",
                              list(hidden))
        if config.student == "mlp":
            # Weights, gradients, two Adam moments, a best-epoch copy: 5 float32 per hidden-to-hidden weight.
            weights = sum(a * b for a, b in zip(hidden, hidden[1:], strict=False))
            check_memory(weights * 4 * 5, f"The '{field}' parameter of {owner} ({list(hidden)})",
                         "choose narrower layers")
        object.__setattr__(config, field, tuple(hidden))  # lists from YAML become hashable tuples
    if config.transfer not in TRANSFER:
        raise param_error(owner, "transfer", f"one of {TRANSFER}", config.transfer)
    _number(owner, "transfer_size", config.transfer_size)
    if not 0 <= config.transfer_size <= 100:  # the transfer set is that many times the training split
        raise param_error(owner, "transfer_size", "a number from 0 to 100 (synthetic rows per training row)",
                          config.transfer_size)
    if config.transfer != "none" and config.transfer_size == 0:
        raise ConfigError(f"The 'transfer' parameter of {owner} is {config.transfer!r} but transfer_size is 0; "
                          "set transfer_size (synthetic rows per training row, e.g. 2) or transfer: none.")
    check_fraction(owner, "transfer_noise", config.transfer_noise, high_open=False)


@dataclass(frozen=True, kw_only=True)
class _StudentSpec:
    """Fields every distillation shares: the student to train and the transfer set.

    ``student`` is "mlp" (hidden widths ``hidden``, or ``large_hidden`` when it is set and the
    training split has :data:`finlite.training.LARGE_ROWS` rows or more) or "logistic"; ``transfer`` is "none",
    "perturb" or "mixup", with ``transfer_size`` synthetic rows per training row and noise
    ``transfer_noise`` (see :func:`make_transfer_set`).
    """

    student: str = "mlp"
    hidden: tuple[int, ...] = (16,)
    # Widths used instead of ``hidden`` from LARGE_ROWS training rows (None: ``hidden`` at any
    # size). A loan book of hundreds of thousands of rows needs a wider student than a small
    # table: a 32-unit student lost 0.035 AUC to a LightGBM teacher on SBA.
    large_hidden: tuple[int, ...] | None = None
    transfer: str = "none"
    transfer_size: float = 0.0
    transfer_noise: float = 0.1

    def __post_init__(self) -> None:
        _student_fields(type(self).__name__, self)


@register_method("distillation")
@dataclass(frozen=True, kw_only=True)
class Distillation(_StudentSpec):
    """Soft-target distillation for a binary classifier (Hinton, Vinyals & Dean 2015).

    ``loss = α·T²·KL(teacher_T ‖ student_T) + (1 − α)·CE(student, label)``, where ``teacher_T``
    and ``student_T`` are the two-class distributions ``[1 − σ(z/T), σ(z/T)]`` of each model's
    logit ``z`` softened by the temperature ``T``. The ``T²`` factor keeps the soft term's
    gradients on the same scale as the label term's when ``T`` changes.

    Example recipe step::

        {method: distillation, temperature: 2.0, alpha: 0.9, hidden: [16],
         transfer: mixup, transfer_size: 2}

    Args:
        temperature: T > 0; higher values soften both distributions.
        alpha: weight of the teacher term in [0, 1]; 1 ignores the labels.
        student: "mlp" (hidden widths ``hidden``) or "logistic" (for scorecards).
        hidden: the student MLP's hidden widths.
        large_hidden: the widths instead of ``hidden`` from 100,000 training rows
            (:data:`finlite.training.LARGE_ROWS`); None (the default) keeps ``hidden`` at any size.
        transfer: "none", "perturb" (Gaussian noise on numeric features, categories swapped
            with another row's at rate ``transfer_noise``) or "mixup" (numeric features mixed
            between two rows); the teacher labels the synthetic rows.
        transfer_size: synthetic rows per training row (0 = none).
        transfer_noise: noise scale in standard deviations, and category swap rate.
    """

    temperature: float = 2.0
    alpha: float = 0.9

    def __post_init__(self) -> None:
        _number("Distillation", "temperature", self.temperature, positive=True)
        check_fraction("Distillation", "alpha", self.alpha, high_open=False)
        super().__post_init__()


@register_method("regression_distillation")
@dataclass(frozen=True, kw_only=True)
class RegressionDistillation(_StudentSpec):
    """Output matching: ``α·L(student, teacher) + (1 − α)·label loss``, L = MSE or Huber.

    For a regression model (a forecaster) the outputs are forecasts and the label loss is MSE.
    For a classifier the outputs are logits (matching logits is distillation's high-temperature
    limit, Ba & Caruana 2014) and the label loss is cross-entropy.

    Example recipe step: ``{method: regression_distillation, loss: huber, delta: 1.0, alpha: 0.8}``.

    Args:
        loss: "mse" or "huber".
        delta: Huber's threshold between its quadratic and linear parts.
        alpha: weight of the teacher term in [0, 1].
        student, hidden, transfer, transfer_size, transfer_noise: as in :class:`Distillation`.
    """

    loss: str = "mse"
    delta: float = 1.0
    alpha: float = 0.9

    def __post_init__(self) -> None:
        if self.loss not in ("mse", "huber"):
            raise param_error("RegressionDistillation", "loss", "'mse' or 'huber'", self.loss)
        _number("RegressionDistillation", "delta", self.delta, positive=True)
        check_fraction("RegressionDistillation", "alpha", self.alpha, high_open=False)
        super().__post_init__()


@register_method("hint_distillation")
@dataclass(frozen=True, kw_only=True)
class HintDistillation(_StudentSpec):
    """Soft targets plus an intermediate-feature hint (FitNets, Romero et al. 2015).

    ``loss = Distillation loss + β·MSE(P·h_student, h_teacher)``, where ``h`` are the hidden
    activations of the chosen layers and ``P`` is a Linear projection learned with the student
    (and discarded afterwards, so the student's size is unchanged). Needs a torch MLP teacher.

    Example recipe step: ``{method: hint_distillation, beta: 0.5, teacher_layer: -1, hidden: [16]}``.

    Args:
        temperature, alpha: as in :class:`Distillation`.
        beta: weight of the hint term (≥ 0).
        teacher_layer: index of the teacher's hidden layer whose activations are the hint
            (negative counts from the last hidden layer).
        student_layer: index of the student's hidden layer that is projected onto it.
        student, hidden, transfer, transfer_size, transfer_noise: as in :class:`Distillation`
            (the student must be an MLP).
    """

    temperature: float = 2.0
    alpha: float = 0.9
    beta: float = 0.5
    teacher_layer: int = -1
    student_layer: int = -1

    def __post_init__(self) -> None:
        _number("HintDistillation", "temperature", self.temperature, positive=True)
        check_fraction("HintDistillation", "alpha", self.alpha, high_open=False)
        _number("HintDistillation", "beta", self.beta)
        if self.beta < 0:
            raise param_error("HintDistillation", "beta", "a number ≥ 0", self.beta)
        for name in ("teacher_layer", "student_layer"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise param_error("HintDistillation", name, "an integer layer index", value)
        super().__post_init__()
        if self.student != "mlp":
            raise param_error("HintDistillation", "student", "'mlp' (a hint needs a hidden layer)", self.student)


AnyDistillation = Distillation | RegressionDistillation | HintDistillation


# -- losses ------------------------------------------------------------------------------------
def _binary_kl(teacher_logit: torch.Tensor, student_logit: torch.Tensor) -> torch.Tensor:
    """KL(teacher ‖ student) per row for two-class distributions given by logits."""
    log_t1, log_t0 = F.logsigmoid(teacher_logit), F.logsigmoid(-teacher_logit)
    log_s1, log_s0 = F.logsigmoid(student_logit), F.logsigmoid(-student_logit)
    return log_t1.exp() * (log_t1 - log_s1) + log_t0.exp() * (log_t0 - log_s0)


def _label_term(student_out: torch.Tensor, label: torch.Tensor, weight: torch.Tensor | None, task: str) -> torch.Tensor:
    """Label loss averaged over rows that have a label (synthetic transfer rows have weight 0)."""
    if task == "regression":
        per_row = (student_out - label) ** 2
    else:
        per_row = F.binary_cross_entropy_with_logits(student_out, label, reduction="none")
    if weight is None:
        return per_row.mean()
    return (per_row * weight).sum() / weight.sum().clamp_min(1.0)


def distillation_loss(student_logit: torch.Tensor, teacher_logit: torch.Tensor, label: torch.Tensor,
                      method: Distillation | HintDistillation, weight: torch.Tensor | None = None) -> torch.Tensor:
    """Mean of ``α·T²·KL(teacher_T ‖ student_T) + (1−α)·CE(student, label)`` over rows.

    ``weight`` (0/1 per row) restricts the label term to labelled rows.
    """
    t = float(method.temperature)
    kl = _binary_kl(teacher_logit / t, student_logit / t).mean()
    return method.alpha * t * t * kl + (1.0 - method.alpha) * _label_term(student_logit, label, weight, "classification")


def regression_distillation_loss(student_out: torch.Tensor, teacher_out: torch.Tensor, label: torch.Tensor,
                                 method: RegressionDistillation, task: str = "classification",
                                 weight: torch.Tensor | None = None) -> torch.Tensor:
    """``α·MSE|Huber(student, teacher) + (1−α)·label loss`` (CE for classification, MSE for regression)."""
    if method.loss == "mse":
        match = F.mse_loss(student_out, teacher_out)
    else:
        match = F.huber_loss(student_out, teacher_out, delta=float(method.delta))
    return method.alpha * match + (1.0 - method.alpha) * _label_term(student_out, label, weight, task)


# -- teacher outputs and the transfer set ---------------------------------------------------------
# Rows per chunk when teacher outputs or transfer rows are computed: bounded memory at any size.
CHUNK_ROWS = 65536


@dataclass
class TransferSet:
    """A transfer set held as recipes, not rows: each synthetic row is rebuilt on demand.

    A materialised transfer set is ``size × rows × width`` float32 next to the training rows;
    with wide one-hot encodings at bank size that is gigabytes. This holds only what makes
    each synthetic row (the source row indices, the mixup weight, the numeric noise and the
    category swaps: a few numbers per row) and :meth:`rows` builds any rows from the training
    rows ``x`` exactly as :func:`make_transfer_set` would have: ``rows(arange(n))`` equals it.
    """

    x: np.ndarray
    n_numeric: int
    groups: list[list[int]]
    kind: str
    a: np.ndarray
    b: np.ndarray | None = None
    lam: np.ndarray | None = None
    noise: np.ndarray | None = None
    donors: np.ndarray | None = None
    swap: np.ndarray | None = None

    @classmethod
    def plan(cls, x: np.ndarray, n_numeric: int, groups: Sequence[Sequence[int]], *, kind: str, size: float,
             noise: float, seed: int) -> TransferSet:
        """Draw the synthetic rows' recipes (see :func:`make_transfer_set` for ``kind``)."""
        rng = np.random.default_rng(seed)
        n = int(round(size * len(x))) if kind != "none" else 0
        cols = [list(c) for c in groups]
        if n == 0:
            return cls(x, n_numeric, cols, "none", np.zeros(0, dtype=np.int64))
        # Drawn in the order the materialised form always drew them, so both give the same rows.
        a = rng.integers(0, len(x), n)
        if kind == "perturb":
            gauss = rng.normal(0.0, noise, size=(n, n_numeric)).astype(np.float32)
            donors = rng.integers(0, len(x), n)
            swap = np.stack([rng.random(n) < noise for _ in cols], axis=1) if cols else np.zeros((n, 0), bool)
            return cls(x, n_numeric, cols, kind, a, noise=gauss, donors=donors, swap=swap)
        b = rng.integers(0, len(x), n)
        lam = rng.beta(0.4, 0.4, size=(n, 1)).astype(np.float32)
        return cls(x, n_numeric, cols, kind, a, b=b, lam=lam)

    def __len__(self) -> int:
        return len(self.a)

    @property
    def nbytes(self) -> int:
        """Memory held by the recipes (the training rows are shared, not counted)."""
        return sum(v.nbytes for v in (self.a, self.b, self.lam, self.noise, self.donors, self.swap) if v is not None)

    def rows(self, ids: np.ndarray) -> np.ndarray:
        """The synthetic rows at positions ``ids`` (float32, the width of ``x``)."""
        ids = np.asarray(ids, dtype=np.int64)
        k = self.n_numeric
        out = self.x[self.a[ids]].astype(np.float32, copy=True)
        if self.kind == "perturb":
            if self.noise is None or self.donors is None or self.swap is None:
                raise ConfigError("This perturb transfer set lacks its noise, donors or swaps; build it with "
                                  "TransferSet.plan(..., kind='perturb').")
            out[:, :k] += self.noise[ids]
            donors = self.donors[ids]
            for g, cols in enumerate(self.groups):
                swap = self.swap[ids, g]
                if swap.any():
                    out[np.ix_(swap, cols)] = self.x[donors[swap]][:, cols]
            return out
        if self.kind == "mixup":
            if self.b is None or self.lam is None:
                raise ConfigError("This mixup transfer set lacks its partners or weights; build it with "
                                  "TransferSet.plan(..., kind='mixup').")
            other = self.x[self.b[ids]]
            lam = self.lam[ids]
            out[:, :k] = lam * out[:, :k] + (1 - lam) * other[:, :k]
            take_b = lam[:, 0] < 0.5  # categories and missing flags from the row with the larger weight
            out[take_b, k:] = other[take_b, k:]
        return out

    def chunks(self, chunk: int = CHUNK_ROWS) -> Iterator[np.ndarray]:
        """All synthetic rows in order, ``chunk`` at a time."""
        for i in range(0, len(self), chunk):
            yield self.rows(np.arange(i, min(i + chunk, len(self))))

    def materialise(self) -> np.ndarray:
        """Every synthetic row at once (small data, tests and inspection)."""
        if len(self) == 0:
            return np.zeros((0, self.x.shape[1]), dtype=np.float32)
        return np.concatenate(list(self.chunks()))


class _DistillRows:
    """A :class:`~finlite.training.RowSource` over real rows then transfer rows, built per batch."""

    def __init__(self, dd: DistillData) -> None:
        self.dd = dd
        self.n_real = len(dd.x_train)
        self.n = self.n_real + (len(dd.transfer) if dd.transfer is not None else 0)
        self.extra: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {}

    def __len__(self) -> int:
        return self.n

    def batch(self, idx: torch.Tensor) -> dict[str, torch.Tensor]:
        dd, ids = self.dd, idx.numpy()
        real = ids < self.n_real
        if real.all():
            x, y, t, w = dd.x_train[ids], dd.y_train[ids], dd.t_train[ids], dd.labelled_train[ids]
        else:
            if dd.transfer is None or dd.t_transfer is None:
                raise ConfigError("Rows beyond the training split were asked for, but this DistillData has no "
                                  "transfer set; build it with with_transfer_for().")
            syn = ids[~real] - self.n_real
            x = np.empty((len(ids), dd.x_train.shape[1]), dtype=np.float32)
            x[real] = dd.x_train[ids[real]]
            x[~real] = dd.transfer.rows(syn)
            y = np.zeros(len(ids), dtype=np.float32)
            y[real] = dd.y_train[ids[real]]
            t = np.empty(len(ids), dtype=np.float32)
            t[real] = dd.t_train[ids[real]]
            t[~real] = dd.t_transfer[syn]
            w = real.astype(np.float32)  # synthetic rows carry no label term
        out = {"x": torch.from_numpy(np.ascontiguousarray(x)), "y": torch.from_numpy(y),
               "t": torch.from_numpy(t), "w": torch.from_numpy(w)}
        for key, make in self.extra.items():
            out[key] = make(out["x"])
        return out


@dataclass
class DistillData:
    """What a student learns from: inputs, labels and the teacher's outputs, per split.

    ``x_train`` … ``labelled_train`` hold the rows materialised in memory (``labelled_train``
    is 1 for real rows and 0 for synthetic rows appended by :meth:`with_transfer`);
    ``transfer`` is a streamed transfer set (:class:`TransferSet`, rows built per batch) with
    the teacher's outputs on it in ``t_transfer``. :meth:`source` serves both to training.
    ``hint_train``/``hint_val`` hold teacher hidden activations for hint distillation.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    t_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    t_val: np.ndarray
    labelled_train: np.ndarray
    task: str = "classification"
    hint_train: np.ndarray | None = None
    hint_val: np.ndarray | None = None
    transfer: TransferSet | None = None
    t_transfer: np.ndarray | None = None

    @classmethod
    def from_arrays(cls, x_train: np.ndarray, y_train: np.ndarray, t_train: np.ndarray, x_val: np.ndarray,
                    y_val: np.ndarray, t_val: np.ndarray, task: str = "classification") -> DistillData:
        """Plain arrays (any shape the model takes, e.g. sequences ``[rows, steps, features]``)."""
        f32 = lambda a: np.ascontiguousarray(a, dtype=np.float32)  # noqa: E731
        return cls(f32(x_train), f32(y_train), f32(t_train), f32(x_val), f32(y_val), f32(t_val),
                   np.ones(len(x_train), dtype=np.float32), task)

    def with_transfer(self, x_extra: np.ndarray, t_extra: np.ndarray) -> DistillData:
        """Append unlabelled synthetic rows with the teacher's outputs on them (materialised)."""
        n = len(x_extra)
        return replace(
            self,
            x_train=np.concatenate([self.x_train, x_extra.astype(np.float32)]),
            y_train=np.concatenate([self.y_train, np.zeros(n, dtype=np.float32)]),
            t_train=np.concatenate([self.t_train, t_extra.astype(np.float32)]),
            labelled_train=np.concatenate([self.labelled_train, np.zeros(n, dtype=np.float32)]),
            hint_train=None,
        )

    def with_transfer_set(self, transfer: TransferSet, teacher: TeacherFn) -> DistillData:
        """Attach a streamed transfer set; the teacher labels it chunk by chunk (never all at once)."""
        parts = [np.asarray(teacher(rows), dtype=np.float32).reshape(-1) for rows in transfer.chunks()]
        t_extra = np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)
        return replace(self, transfer=transfer, t_transfer=t_extra, hint_train=None)

    def source(self) -> _DistillRows:
        """The training rows (real, then synthetic) as a row source that builds each batch."""
        return _DistillRows(self)

    @property
    def n_synthetic(self) -> int:
        """Synthetic (unlabelled) rows in the training part."""
        streamed = len(self.transfer) if self.transfer is not None else 0
        return int((self.labelled_train == 0).sum()) + streamed


@torch.inference_mode()
def teacher_logits(teacher: FinliteModel, x: np.ndarray, batch: int = CHUNK_ROWS) -> np.ndarray:
    """The teacher's outputs on ``x`` in evaluation mode, as float32, ``batch`` rows at a time."""
    teacher.eval()
    out = np.empty(len(x), dtype=np.float32)
    for i in range(0, len(x), batch):
        part = teacher(torch.from_numpy(np.ascontiguousarray(x[i:i + batch]))).detach().numpy()
        out[i:i + len(part)] = part.reshape(-1)
    return out


def make_transfer_set(x: np.ndarray, n_numeric: int, groups: Sequence[Sequence[int]], *, kind: str, size: float,
                      noise: float, seed: int) -> np.ndarray:
    """Synthetic rows near the encoded training rows ``x``, materialised.

    Training streams the same rows instead (:class:`TransferSet`, built batch by batch);
    this is ``TransferSet.plan(...).materialise()``.

    Args:
        x: encoded training rows; the first ``n_numeric`` columns are standardised numeric
            features, ``groups`` lists the column indices of each one-hot category group.
        kind: "perturb": numeric columns plus N(0, noise²), and each category group replaced
            by a random row's with probability ``noise``; "mixup": numeric columns
            ``λ·a + (1 − λ)·b`` for two random rows with λ ~ Beta(0.4, 0.4), categories (and
            missing indicators) from the row with the larger weight, so every synthetic row is
            a valid encoding.
        size: synthetic rows per training row.
    """
    return TransferSet.plan(x, n_numeric, groups, kind=kind, size=size, noise=noise, seed=seed).materialise()


def distill_data(data: PreparedData, teacher: TeacherFn, *, train_logits: np.ndarray | None = None,
                 transfer: str = "none", transfer_size: float = 0.0, transfer_noise: float = 0.1,
                 seed: int = 0) -> DistillData:
    """Teacher outputs on ``data``'s training and validation rows, plus an optional transfer set.

    ``train_logits`` replaces the teacher's outputs on the training rows, e.g. out-of-fold
    predictions of a boosted ensemble that would otherwise hand the student its overfit. The
    transfer set is streamed (:class:`TransferSet`): its rows are built per batch in training.
    """
    t_train = teacher(data.x_train) if train_logits is None else np.asarray(train_logits, dtype=np.float32)
    if len(t_train) != len(data.x_train):
        raise ConfigError(f"{len(t_train)} teacher outputs for {len(data.x_train)} training rows; the out-of-fold "
                          "predictions belong to another split.")
    out = DistillData(x_train=data.x_train, y_train=data.y_train, t_train=t_train.astype(np.float32),
                      x_val=data.x_val, y_val=data.y_val, t_val=teacher(data.x_val).astype(np.float32),
                      labelled_train=np.ones(len(data.x_train), dtype=np.float32))
    if transfer != "none" and transfer_size > 0:
        out = with_transfer_for(out, data, teacher, transfer, transfer_size, transfer_noise, seed)
    return out


def with_transfer_for(base: DistillData, data: PreparedData, teacher: TeacherFn, kind: str, size: float,
                      noise: float, seed: int) -> DistillData:
    """``base`` plus a streamed transfer set drawn from ``data``'s encoded training rows."""
    n_numeric, groups = data.preprocessor.column_groups()
    plan = TransferSet.plan(data.x_train, n_numeric, groups, kind=kind, size=size, noise=noise, seed=seed)
    return base.with_transfer_set(plan, teacher)


# -- training -----------------------------------------------------------------------------------
@dataclass
class DistillResult:
    """The trained student (a new object) and what training did."""

    model: FinliteModel
    method: AnyDistillation
    training: TrainResult
    synthetic_rows: int = 0


def apply_masks(model: nn.Module, masks: Masks) -> None:
    """Zero the pruned weights again (an optimiser step may have moved them)."""
    if not masks:
        return
    with torch.no_grad():
        params = dict(model.named_parameters())
        for name, mask in masks.items():
            params[name].mul_(mask)


def student_widths(method: AnyDistillation, rows: int | None = None) -> tuple[int, ...]:
    """The hidden widths ``method`` gives a student trained on ``rows`` rows: ``large_hidden``
    when it is set and ``rows`` is at least :data:`finlite.training.LARGE_ROWS`, else ``hidden``."""
    if method.large_hidden is not None and rows is not None and rows >= LARGE_ROWS:
        return tuple(method.large_hidden)
    return tuple(method.hidden)


def make_student(method: AnyDistillation, n_features: int, rows: int | None = None) -> FinliteModel:
    """A fresh student as the method describes it: an MLP of widths :func:`student_widths` for
    ``rows`` training rows (``hidden`` when ``rows`` is not given), or a logistic model."""
    if method.student == "logistic":
        return LogisticRegression(n_features)
    return TabularMLP(n_features, student_widths(method, rows), dropout=0.0)


class _HintStudent(nn.Module):
    """The student plus the projection of its hidden layer, trained together."""

    def __init__(self, student: TabularMLP, layer: int, teacher_width: int) -> None:
        super().__init__()
        self.student = student
        self.layer = layer
        width = student.hidden[layer]
        self.project = nn.Linear(width, teacher_width)
        self.features: torch.Tensor | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, self.features = self.student.forward_with_hidden(x, self.layer)
        return out


def _layer_index(model: TabularMLP, index: int, who: str) -> int:
    n = len(model.hidden)
    if not -n <= index < n:
        raise ConfigError(f"HintDistillation: {who}_layer {index} is out of range; the {who} has {n} hidden "
                          f"layer(s) (valid: {-n}..{n - 1}).")
    return index % n


def distill(teacher: FinliteModel | DistillData, student: FinliteModel, method: AnyDistillation, *,
            data: PreparedData | None = None, train: TrainConfig | None = None, masks: Masks | None = None,
            hint_teacher: TabularMLP | None = None) -> DistillResult:
    """Train a copy of ``student`` to imitate a teacher.

    ``teacher`` is either a torch model (its outputs on ``data``'s splits are computed here) or
    ready :class:`DistillData` (outputs computed once and reused, from any kind of teacher).
    Early stopping watches the same loss on the validation split, so the kept epoch is the one
    that imitates the teacher best on rows neither model trained on. ``masks`` (from
    unstructured pruning) keep pruned weights at zero: this is how a pruned student is
    fine-tuned. ``hint_teacher`` is the torch teacher whose hidden activations
    :class:`HintDistillation` matches. Neither input model is changed.
    """
    train = train or TrainConfig()
    if isinstance(teacher, DistillData):
        dd = teacher
    else:
        if data is None:
            raise ConfigError("distill needs data= (PreparedData) when the teacher is a model.")
        dd = distill_data(data, lambda x: teacher_logits(teacher, x))
        if isinstance(method, HintDistillation) and hint_teacher is None and isinstance(teacher, TabularMLP):
            hint_teacher = teacher
    model = copy.deepcopy(student)
    masks = masks or {}
    apply_masks(model, masks)
    rows = dd.source()  # mini-batches built on demand: a streamed transfer set is never materialised
    x_val, y_val, t_val = (torch.from_numpy(a) for a in (dd.x_val, dd.y_val, dd.t_val))

    if isinstance(method, RegressionDistillation):
        def base_loss(out: torch.Tensor, t: torch.Tensor, y: torch.Tensor, w: torch.Tensor | None) -> torch.Tensor:
            return regression_distillation_loss(out, t, y, method, dd.task, w)
    else:
        if dd.task != "classification":
            raise ConfigError(f"{type(method).__name__} is for classifiers; use regression_distillation for a "
                              "regression model.")

        def base_loss(out: torch.Tensor, t: torch.Tensor, y: torch.Tensor, w: torch.Tensor | None) -> torch.Tensor:
            return distillation_loss(out, t, y, method, w)

    trained: nn.Module = model
    if isinstance(method, HintDistillation):
        if not isinstance(hint_teacher, TabularMLP) or not isinstance(model, TabularMLP):
            raise ConfigError("HintDistillation needs a torch MLP teacher and an MLP student (hidden layers to "
                              "match); use distillation for a boosted-tree teacher.")
        t_layer = _layer_index(hint_teacher, method.teacher_layer, "teacher")
        s_layer = _layer_index(model, method.student_layer, "student")
        frozen = hint_teacher
        frozen.eval()

        def hints(x: torch.Tensor) -> torch.Tensor:
            # The teacher's hidden activations, computed per batch (a frozen network: no gradient).
            with torch.inference_mode():
                _, h = frozen.forward_with_hidden(x, t_layer)
            return h.clone()

        rows.extra["h"] = hints
        trained = _HintStudent(model, s_layer, hint_teacher.hidden[t_layer])

        def loss_fn(out: torch.Tensor, batch: dict[str, torch.Tensor]) -> torch.Tensor:
            hint = F.mse_loss(trained.project(trained.features), batch["h"])
            return base_loss(out, batch["t"], batch["y"], batch["w"]) + method.beta * hint
    else:
        def loss_fn(out: torch.Tensor, batch: dict[str, torch.Tensor]) -> torch.Tensor:
            return base_loss(out, batch["t"], batch["y"], batch["w"])

    def validate(m: nn.Module) -> float:
        with torch.inference_mode():
            m.eval()
            return -float(base_loss(m(x_val), t_val, y_val, None))

    result = fit(trained, rows, loss_fn, validate, train, after_step=lambda m: apply_masks(model, masks),
                 desc="distilling" if not masks else "fine-tuning")
    model.eval()
    return DistillResult(model=model, method=method, training=result, synthetic_rows=dd.n_synthetic)
