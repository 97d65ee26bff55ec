"""What a student learns from: the teacher's outputs on the training rows, and transfer sets.

:class:`DistillData` holds inputs, labels and the teacher's outputs per split; any teacher
works (a torch model, a LightGBM or XGBoost booster, out-of-fold predictions), because only its
outputs are kept. :class:`TransferSet` describes synthetic rows near the training data, labelled
by the teacher and rebuilt batch by batch so a large transfer set is never held in memory. The
distillation methods (:mod:`finlite.methods.distill`) and the recipe context
(:mod:`finlite.methods.base`) both read these.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace

import numpy as np
import torch

from finlite._limits import check_memory
from finlite.data.prepared import PreparedData, SplitArrays
from finlite.errors import ConfigError
from finlite.models.base import FinliteModel
from finlite.tasks import get_task

__all__ = [
    "CHUNK_ROWS",
    "DistillData",
    "TeacherFn",
    "TransferSet",
    "distill_data",
    "make_transfer_set",
    "teacher_logits",
    "with_transfer_for",
]

TeacherFn = Callable[[np.ndarray], np.ndarray]

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
    #: The shape of one row when the rows are windows ``[steps, features]`` held flat in ``x``
    #: (:meth:`for_windows`); ``()`` for a table's rows.
    shape: tuple[int, ...] = ()

    @classmethod
    def plan(cls, x: np.ndarray, n_numeric: int, groups: Sequence[Sequence[int]], *, kind: str, size: float,
             noise: float, seed: int) -> TransferSet:
        """Draw the synthetic rows' recipes (see :func:`make_transfer_set` for ``kind``)."""
        rng = np.random.default_rng(seed)
        n = round(size * len(x)) if kind != "none" else 0
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

    @classmethod
    def for_windows(cls, x: np.ndarray, *, kind: str, size: float, noise: float, seed: int) -> TransferSet:
        """Synthetic windows near the windows ``x`` ``[rows, steps, features]`` of a series (scaled
        features): "perturb" adds N(0, noise²) to every value of a window, "mixup" mixes two windows
        step by step (λ ~ Beta(0.4, 0.4)). Every step and feature is a numeric column here.

        Raises:
            ConfigError: a "perturb" set's jitter (one float32 per value of every synthetic window)
                would not fit in the memory available.
        """
        flat = np.ascontiguousarray(x, dtype=np.float32).reshape(len(x), -1)
        if kind == "perturb":
            check_memory(4.0 * round(size * len(x)) * flat.shape[1],
                         f"a transfer set of {size:g} jittered copies of {len(x):,} windows of {flat.shape[1]:,} values",
                         "lower transfer_size (or transfer: none)")
        plan = cls.plan(flat, flat.shape[1], [], kind=kind, size=size, noise=noise, seed=seed)
        return replace(plan, shape=tuple(int(d) for d in x.shape[1:]))

    def __len__(self) -> int:
        return len(self.a)

    @property
    def nbytes(self) -> int:
        """Memory held by the recipes (the training rows are shared, not counted)."""
        return sum(v.nbytes for v in (self.a, self.b, self.lam, self.noise, self.donors, self.swap) if v is not None)

    def rows(self, ids: np.ndarray) -> np.ndarray:
        """The synthetic rows at positions ``ids`` (float32, the width of ``x``; windows in their
        own :attr:`shape`)."""
        out = self._flat_rows(ids)
        return out.reshape(len(out), *self.shape) if self.shape else out

    def _flat_rows(self, ids: np.ndarray) -> np.ndarray:
        ids = np.asarray(ids, dtype=np.int64)
        k = self.n_numeric
        out: np.ndarray = self.x[self.a[ids]].astype(np.float32, copy=True)
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
            return np.zeros((0, *(self.shape or self.x.shape[1:])), dtype=np.float32)
        return np.concatenate(list(self.chunks()))


class _DistillRows:
    """A :class:`~finlite.training.loop.RowSource` over real rows then transfer rows, built per batch."""

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
            x = np.empty((len(ids), *dd.x_train.shape[1:]), dtype=np.float32)
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
    #: Added to a student's logit in the label term only: where the teacher's PDs were calibrated to
    #: a long-run rate (``train --central-tendency``), the shift that takes them back to the labels'
    #: sample rate, so that soft targets and labels ask the student for the same thing.
    label_offset: float = 0.0

    @classmethod
    def from_arrays(cls, x_train: np.ndarray, y_train: np.ndarray, t_train: np.ndarray, x_val: np.ndarray,
                    y_val: np.ndarray, t_val: np.ndarray, task: str = "classification") -> DistillData:
        """Plain arrays (any shape the model takes, e.g. sequences ``[rows, steps, features]``)."""
        def f32(a: np.ndarray) -> np.ndarray:
            return np.ascontiguousarray(a, dtype=np.float32)

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


def distill_data(data: SplitArrays, teacher: TeacherFn, *, train_logits: np.ndarray | None = None,
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
                      labelled_train=np.ones(len(data.x_train), dtype=np.float32),
                      # A task that decides (binary, direction) distils soft targets; any other
                      # (regression, forecast) distils the teacher's forecasts.
                      task="classification" if get_task(data.task).decides else "regression")
    if transfer != "none" and transfer_size > 0:
        out = with_transfer_for(out, data, teacher, transfer, transfer_size, transfer_noise, seed)
    return out


def with_transfer_for(base: DistillData, data: SplitArrays, teacher: TeacherFn, kind: str, size: float,
                      noise: float, seed: int) -> DistillData:
    """``base`` plus a streamed transfer set drawn from ``data``'s encoded training rows.

    Windows of a series ``[rows, steps, features]`` get synthetic windows
    (:meth:`TransferSet.for_windows`): every value of a window is a scaled number.

    Raises:
        ConfigError: ``data`` holds bare table arrays (no encoding to draw valid rows from).
    """
    if np.ndim(data.x_train) == 3:
        windows = TransferSet.for_windows(data.x_train, kind=kind, size=size, noise=noise, seed=seed)
        return base.with_transfer_set(windows, teacher)
    if not isinstance(data, PreparedData):
        raise ConfigError(f"A {kind!r} transfer set is drawn from a table's encoding (which columns are numeric, which "
                          "one-hot); these arrays come without one. Set transfer: none.", param="transfer")
    n_numeric, groups = data.preprocessor.column_groups()
    plan = TransferSet.plan(data.x_train, n_numeric, groups, kind=kind, size=size, noise=noise, seed=seed)
    return base.with_transfer_set(plan, teacher)
