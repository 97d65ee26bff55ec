"""Validation statistics and report sections: discrimination, calibration, stability, decisions.

The primitives (bootstrap intervals, ROC and KS curves, lift, reliability, PSI / CSI, McNemar's
test) take plain arrays; the ``build_*`` functions read a :class:`~finlite.evaluate.sections.TabularInputs`
and return one :class:`~finlite.evaluate.sections.Section` each.

Bootstrap intervals are percentile intervals over resampled rows. The resamples come from one
seeded stream of row indices, drawn in chunks (so memory stays bounded on a million rows); the
ranking metrics (AUC, Gini, KS, PR-AUC, recall at a false-positive rate) and the regression errors
are computed from each resample's row counts (a whole chunk of resamples at once, or, with many
distinct scores, one resample at a time so its counts stay in cache), instead of
re-sorting every resample: the rows are sorted by score once, and a resample only changes how
often each row counts. Any other metric is evaluated resample by resample on the same indices, so
both paths give the same numbers for the same seed.

Convention: ``y`` is 0/1 with 1 the positive class ("bad", "fraud"); ``p`` is P(positive); a row
is flagged (declined) when ``p >= cutoff`` and approved otherwise.
"""

from __future__ import annotations

import csv
import functools
import io
import itertools
import math
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from finlite._keys import CSV_MISSING, MISSING
from finlite._limits import CATEGORY_MIN_ROWS, PSI_MIN_ROWS, THIN_CLASS_ROWS
from finlite._util import natural_key, reaches, spreadsheet_safe
from finlite.data.preprocess import stability_edges
from finlite.data.schema import numeric_column
from finlite.errors import ConfigError, DataError
from finlite.evaluate import metrics as _m
from finlite.evaluate._order import content_order
from finlite.evaluate.fidelity import PSI_FAIL, PSI_WARN, psi_contributions
from finlite.evaluate.fidelity import agreement as _agreement
from finlite.evaluate.fidelity import swap_set as _swap_set
from finlite.evaluate.operating import MIN_ALERTS, flag_overlap, share_interval
from finlite.evaluate.periods import overlap_note, time_note
from finlite.evaluate.sections import DecisionWords, Plot, Section, Series, Table, TabularInputs, curve_points, worst

__all__ = [
    "MAX_PERIODS",
    "N_BOOT",
    "bootstrap_ci",
    "build_accuracy",
    "build_calibration",
    "build_decisions",
    "build_discrimination",
    "build_stability",
    "calibration_in_the_large",
    "calibration_status",
    "csi_table",
    "default_n_boot",
    "every_grade",
    "expected_calibration_error",
    "feature_csi",
    "flagged_defaults",
    "flipped_cases_csv",
    "given_scale",
    "grade_backtest",
    "grade_power",
    "grade_record",
    "grade_summary",
    "hosmer_lemeshow",
    "jeffreys_test",
    "ks_curve",
    "lift_table",
    "master_scale",
    "mcnemar",
    "paired_bootstrap_ci",
    "period_backtest",
    "psi_table",
    "reliability_table",
    "roc_points",
]

#: Resamples behind every interval of the report sections.
N_BOOT = 1000
#: Test rows above which the sections draw fewer resamples (intervals are narrow there anyway).
_FULL_BOOT_ROWS = 250_000
#: Runs of tied scores from which the ranking bootstrap counts one resample at a time (see _boot_rank).
_ONE_AT_A_TIME_RUNS = 4096
#: Index cells (resamples × rows) drawn at once: bounds memory to a few tens of MB per chunk.
_CHUNK_CELLS = 2_000_000
#: Calibration: the student's ECE excess over the teacher's, as a share of the rarer class's rate
#: (absolute ECE gaps cannot fail on rare events: a 0.2 % fraud rate bounds any sane ECE far below
#: 0.02), from which it warns / fails; and the factor by which the student's ECE must also exceed
#: the teacher's (ECE on few positives is noisy at the scale of the base rate).
CAL_REL_WARN, CAL_REL_FAIL = 0.07, 0.15
CAL_RATIO_WARN, CAL_RATIO_FAIL = 1.5, 2.0
#: Calibration in the large (mean predicted / observed rate): how much further from 1 than the
#: teacher's (as a factor) the student's may be before a warning / a failure.
CITL_WARN, CITL_FAIL = 1.25, 2.0
#: False-positive rates at which recall is reported (as fractions) and their metric names.
_FPRS: tuple[tuple[float, str], ...] = ((0.001, "recall_at_0_1pct_fpr"), (0.005, "recall_at_0_5pct_fpr"),
                                        (0.01, "recall_at_1pct_fpr"), (0.05, "recall_at_5pct_fpr"))


# -- small helpers -------------------------------------------------------------------------------
def _vec(x: Any, what: str = "values") -> np.ndarray:
    arr = np.asarray(x, dtype=np.float64).ravel()
    if arr.size == 0:
        raise DataError(f"{what}: got no rows; the statistic needs at least one.")
    return arr


def _labels_scores(y: Any, p: Any) -> tuple[np.ndarray, np.ndarray]:
    yy, pp = _vec(y, "labels"), _vec(p, "scores")
    if yy.shape != pp.shape:
        raise DataError(f"Labels and scores differ in length ({yy.size} vs {pp.size}).")
    if not np.isin(yy, (0.0, 1.0)).all():
        raise DataError("Labels must be 0/1 (1 = the positive class).")
    return yy, _m.finite_scores(pp)  # names the first NaN or infinite score and how many there are


def _check_bootstrap_options(n_boot: int, level: float) -> None:
    if not isinstance(n_boot, (int, np.integer)) or n_boot < 1:
        raise ConfigError(f"n_boot must be a positive whole number of resamples (e.g. 1000); got {n_boot!r}.",
                          param="n_boot")
    if not 0.0 < level < 1.0:
        raise ConfigError(f"level must lie strictly between 0 and 1 (e.g. 0.95); got {level!r}.", param="level")


def _check_bins(bins: int) -> None:
    if not isinstance(bins, (int, np.integer)) or bins < 1:
        raise ConfigError(f"bins must be a positive whole number (e.g. 10); got {bins!r}.", param="bins")


def default_n_boot(rows: int) -> int:
    """Resamples the report sections draw for ``rows`` test rows: :data:`N_BOOT` up to 250,000
    rows, then fewer in proportion (at least 200), so the cost stays that of 250,000 rows."""
    if rows <= _FULL_BOOT_ROWS:
        return N_BOOT
    return max(200, round(N_BOOT * _FULL_BOOT_ROWS / rows))


def _max_chunk(n: int) -> int:
    """Resamples drawn at once for ``n`` rows."""
    return max(1, _CHUNK_CELLS // max(n, 1))


def _index_chunks(n: int, n_boot: int, seed: int) -> Iterator[np.ndarray]:
    """Row indices of ``n_boot`` resamples of ``n`` rows, [chunk, n] at a time, from one seeded stream."""
    rng = np.random.default_rng(seed)
    per = _max_chunk(n)
    done = 0
    while done < n_boot:
        c = min(per, n_boot - done)
        yield rng.integers(0, n, size=(c, n), dtype=np.int32 if n < 2**31 else np.int64)
        done += c


def _cluster_weights(clusters: np.ndarray, n_boot: int, seed: int) -> Iterator[np.ndarray]:
    """Row weights of ``n_boot`` cluster-bootstrap resamples, [chunk, rows] at a time: each
    resample draws as many clusters as there are (``clusters``: each row's cluster as a code 0..G-1),
    with replacement, and a row counts as often as its cluster was drawn, so an account's rows move
    together. A split by account's test rows are no independent draws: resampling rows made the
    intervals too narrow (note 74's leftover)."""
    codes = np.asarray(clusters, dtype=np.int64)
    g = int(codes.max()) + 1 if codes.size else 0
    rng = np.random.default_rng(seed)
    per = _max_chunk(codes.size)
    done = 0
    while done < n_boot:
        c = min(per, n_boot - done)
        # Drawn as _index_chunks draws rows: one account per row gives the row bootstrap's resamples.
        drawn = rng.integers(0, g, size=(c, g), dtype=np.int32 if g < 2**31 else np.int64)
        yield _counts(drawn, g)[:, codes]
        done += c


def _counts(idx: np.ndarray, n: int) -> np.ndarray:
    """How often each row occurs in each resample: [chunk, n] counts from [chunk, n] indices."""
    c = idx.shape[0]
    flat = (idx + (np.arange(c, dtype=np.int64) * n)[:, None]).ravel()
    return np.bincount(flat, minlength=c * n).reshape(c, n).astype(np.float64)


def _interval(values: np.ndarray, level: float) -> tuple[float, float]:
    if values.size == 0:
        return float("nan"), float("nan")
    lo, hi = np.quantile(values, [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)


def _safe(fn: Callable[..., Any], *args: Any) -> float:
    """``fn(*args)`` as a float, NaN when the metric is undefined on these rows (e.g. one class)."""
    try:
        value = float(fn(*args))
    except (ValueError, ZeroDivisionError, FloatingPointError):  # DataError, or e.g. scikit-learn's one-class error
        return float("nan")
    return value


# -- ranking metrics on resample counts ----------------------------------------------------------
class _Ranked:
    """Rows sorted by score once, with the runs of tied scores: what every ranking metric needs."""

    def __init__(self, y: np.ndarray, p: np.ndarray, merge_negative_runs: bool = False) -> None:
        self.order = np.argsort(p, kind="mergesort")
        ps = p[self.order]
        self.y_sorted = y[self.order]
        self.starts = np.r_[0, np.flatnonzero(np.diff(ps)) + 1]  # first row of each run of tied scores
        self.group_scores = ps[self.starts]
        if merge_negative_runs and self.starts.size > 1:
            # Consecutive runs holding no positive merge into one block: every ranking metric
            # here is unchanged (AUC, AP and recall only look at the negatives below / above a
            # positive; between positives the KS gap moves monotonically, so its extremes sit at
            # block ends). With rare positives (fraud) this shrinks 57,000 runs to a few hundred.
            has_pos = np.add.reduceat(self.y_sorted, self.starts) > 0
            keep = np.r_[True, has_pos[1:] | has_pos[:-1]]
            self.starts = self.starts[keep]
            self.group_scores = self.group_scores[keep]
        # Each row's key: its run's position, plus the number of runs for a positive, so one
        # bincount of a resample's keys gives the negatives (first half) and positives (second
        # half) of every run, each half contiguous, without sorting anything again.
        start_mask = np.zeros(y.size, dtype=np.int64)
        start_mask[self.starts] = 1
        run = np.empty(y.size, dtype=np.int64)
        run[self.order] = np.cumsum(start_mask) - 1
        self.n_runs = int(self.starts.size)
        key_type = np.int32 if 2 * self.n_runs * _max_chunk(y.size) < 2**31 else np.int64
        self.keys = (run + self.n_runs * y.astype(np.int64)).astype(key_type)

    def groups_of(self, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Positive and negative counts per run of each resample given by its row indices, [chunk, runs]."""
        c, g = idx.shape[0], 2 * self.n_runs
        keys = self.keys[idx]
        if c > 1:
            keys += (np.arange(c, dtype=keys.dtype) * g)[:, None]
        counts = np.bincount(keys.ravel(), minlength=c * g).astype(np.float64).reshape(c, 2, self.n_runs)
        return counts[:, 1], counts[:, 0]

    def groups_of_counts(self, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Positive and negative counts per run of one resample given by how often each row
        occurs in it (``w``, float64, one per row), [1, runs]: the same numbers as
        :meth:`groups_of` of its row indices (sums of whole numbers are exact)."""
        counts = np.bincount(self.keys, weights=w, minlength=2 * self.n_runs).reshape(1, 2, self.n_runs)
        return counts[:, 1], counts[:, 0]

    def groups(self, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Positive and negative weight per run of tied scores (ascending), [chunk, groups]."""
        ws = w[:, self.order]
        pos = ws * self.y_sorted
        neg = ws - pos
        return np.add.reduceat(pos, self.starts, axis=1), np.add.reduceat(neg, self.starts, axis=1)


class _Counts:
    """Positive and negative counts per run of tied scores, [chunk, runs] (ascending scores), with
    the cumulative sums every ranking metric reads, each computed once however many metrics ask.

    The sums are of whole numbers below 2**53, so they are exact: a metric gives the same bits
    whether it reads them from here or computes them itself.
    """

    def __init__(self, pos: np.ndarray, neg: np.ndarray) -> None:
        self.pos, self.neg = pos, neg

    @functools.cached_property
    def cum_pos(self) -> np.ndarray:
        return np.cumsum(self.pos, axis=1)

    @functools.cached_property
    def cum_neg(self) -> np.ndarray:
        return np.cumsum(self.neg, axis=1)

    @functools.cached_property
    def n_pos(self) -> np.ndarray:
        out: np.ndarray = self.pos.sum(axis=1)
        return out

    @functools.cached_property
    def n_neg(self) -> np.ndarray:
        out: np.ndarray = self.neg.sum(axis=1)
        return out

    @functools.cached_property
    def auc(self) -> np.ndarray:
        # Each positive beats the negatives in lower runs and ties half of those in its own run.
        beaten = self.cum_neg - 0.5 * self.neg  # negatives below, plus half of the tied ones
        return _div(np.einsum("ij,ij->i", self.pos, beaten), self.n_pos * self.n_neg)


_GroupStat = Callable[[_Counts], np.ndarray]


def _div(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b > 0, a / np.where(b > 0, b, 1.0), np.nan)


def _auc_g(c: _Counts) -> np.ndarray:
    return c.auc  # shared with Gini


def _gini_g(c: _Counts) -> np.ndarray:
    return 2.0 * _auc_g(c) - 1.0


def _ks_g(c: _Counts) -> np.ndarray:
    n_pos, n_neg = c.n_pos, c.n_neg
    # In the score's direction, as metrics.ks: a reversed ranking has a KS of 0.
    gap = _div(c.cum_neg, n_neg[:, None])
    gap -= _div(c.cum_pos, n_pos[:, None])
    out = np.maximum(np.max(np.nan_to_num(gap, nan=0.0, copy=False), axis=1), 0.0)
    return np.where((n_pos > 0) & (n_neg > 0), out, np.nan)


def _ap_g(c: _Counts) -> np.ndarray:
    # Descending thresholds: at a run, the flagged rows are that run and every higher one.
    pos, n_pos = c.pos, c.n_pos
    tp = n_pos[:, None] - (c.cum_pos - pos)
    seen = (n_pos + c.n_neg)[:, None] - (c.cum_pos + c.cum_neg - pos - c.neg)
    precision = np.nan_to_num(_div(tp, seen), nan=0.0, copy=False)  # runs absent from a resample carry no positives
    return _div(np.sum(pos * precision, axis=1), n_pos)


def _recall_g(fpr: float) -> _GroupStat:
    def stat(c: _Counts) -> np.ndarray:
        n_pos, n_neg = c.n_pos, c.n_neg
        allowed = np.floor(fpr * n_neg)
        # Negatives at or above each run; the threshold run is the highest holding the
        # (allowed + 1)-th highest negative; positives strictly above it are caught.
        neg_at_or_above = n_neg[:, None] - (c.cum_neg - c.neg)
        g_star = np.count_nonzero(neg_at_or_above >= allowed[:, None] + 1, axis=1) - 1
        caught = n_pos - np.take_along_axis(c.cum_pos, np.maximum(g_star, 0)[:, None], axis=1)[:, 0]
        caught = np.where(g_star < 0, n_pos, caught)
        return np.where((n_pos > 0) & (n_neg > 0), _div(caught, n_pos), np.nan)
    return stat


#: Metrics of :mod:`finlite.evaluate.metrics` that :func:`bootstrap_ci` computes on counts.
_RANK_STATS: dict[Callable[..., Any], _GroupStat] = {
    _m.auc: _auc_g, _m.gini: _gini_g, _m.ks: _ks_g, _m.average_precision: _ap_g,
}


def _rmse_w(y: np.ndarray, p: np.ndarray, w: np.ndarray) -> np.ndarray:
    out: np.ndarray = np.sqrt(w @ ((p - y) ** 2) / y.size)
    return out


def _mae_w(y: np.ndarray, p: np.ndarray, w: np.ndarray) -> np.ndarray:
    out: np.ndarray = w @ np.abs(p - y) / y.size
    return out


def _r2_w(y: np.ndarray, p: np.ndarray, w: np.ndarray) -> np.ndarray:
    sst = w @ (y * y) - (w @ y) ** 2 / y.size
    sse = w @ ((p - y) ** 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        # Constant up to rounding is constant (metrics.r2's rule: relative to the sum of squares).
        return np.where((sst > 0) & (sst > 1e-12 * (w @ (y * y))), 1.0 - sse / np.where(sst > 0, sst, 1.0), np.nan)


def _brier_w(y: np.ndarray, p: np.ndarray, w: np.ndarray) -> np.ndarray:
    out: np.ndarray = w @ ((p - y) ** 2) / y.size
    return out


#: Row-mean metrics that :func:`bootstrap_ci` computes as count-weighted sums.
_WEIGHTED_STATS: dict[Callable[..., Any], Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]] = {
    _m.rmse: _rmse_w, _m.mae: _mae_w, _m.r2: _r2_w, _m.brier: _brier_w,
}


def _boot_rank(y: np.ndarray, scores: Mapping[str, np.ndarray], stats: Mapping[str, _GroupStat],
               n_boot: int, seed: int, clusters: np.ndarray | None = None) -> dict[tuple[str, str], np.ndarray]:
    """Every ranking ``stat`` of every model's scores on the same ``n_boot`` resamples of rows, or of
    ``clusters`` (each row's account as a code: :func:`_cluster_weights`) when given."""
    ranked = {name: _Ranked(y, p, merge_negative_runs=True) for name, p in scores.items()}
    out: dict[tuple[str, str], list[np.ndarray]] = {(m, s): [] for m in scores for s in stats}
    if clusters is not None:
        for weights in _cluster_weights(clusters, n_boot, seed):
            for w in weights:
                for name, r in ranked.items():
                    counts = _Counts(*r.groups_of_counts(w))
                    for s, fn in stats.items():
                        out[(name, s)].append(fn(counts))
        return {k: np.concatenate(v) for k, v in out.items()}
    # Many runs (SBA's test loans: 50,000): one resample at a time, so its counts stay in the core's
    # cache through every metric, where a chunk's would go through memory on every pass. Few runs
    # (a small or a rare-positive test set): a chunk at once, as there the Python per resample
    # would cost more than the metrics. Both give the same numbers.
    one_at_a_time = max((r.n_runs for r in ranked.values()), default=0) >= _ONE_AT_A_TIME_RUNS
    for idx in _index_chunks(y.size, n_boot, seed):
        if not one_at_a_time:
            for name, r in ranked.items():
                counts = _Counts(*r.groups_of(idx))
                for s, fn in stats.items():
                    out[(name, s)].append(fn(counts))
            continue
        for i in range(idx.shape[0]):
            w = np.bincount(idx[i], minlength=y.size).astype(np.float64)  # shared by the models
            for name, r in ranked.items():
                counts = _Counts(*r.groups_of_counts(w))
                for s, fn in stats.items():
                    out[(name, s)].append(fn(counts))
    return {k: np.concatenate(v) for k, v in out.items()}


def _boot_weighted(y: np.ndarray, scores: Mapping[str, np.ndarray],
                   stats: Mapping[str, Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]],
                   n_boot: int, seed: int) -> dict[tuple[str, str], np.ndarray]:
    out: dict[tuple[str, str], list[np.ndarray]] = {(m, s): [] for m in scores for s in stats}
    for idx in _index_chunks(y.size, n_boot, seed):
        w = _counts(idx, y.size)
        for name, p in scores.items():
            for s, fn in stats.items():
                out[(name, s)].append(fn(y, p, w))
    return {k: np.concatenate(v) for k, v in out.items()}


def _boot_loop(fn: Callable[..., Any], arrays: Sequence[np.ndarray], n_boot: int, seed: int) -> np.ndarray:
    n = arrays[0].shape[0]
    values = []
    for idx in _index_chunks(n, n_boot, seed):
        for row in idx:
            values.append(_safe(fn, *(a[row] for a in arrays)))
    return np.asarray(values, dtype=np.float64)


def _summarise(estimate: float, draws: np.ndarray, level: float) -> dict[str, Any]:
    valid = draws[np.isfinite(draws)]
    lo, hi = _interval(valid, level)
    return {"estimate": estimate, "lower": lo, "upper": hi, "n_boot": int(valid.size),
            "n_skipped": int(draws.size - valid.size), "level": level}


def _resampled(fn: Callable[..., Any], arrays: Sequence[np.ndarray], n_boot: int, seed: int) -> np.ndarray:
    """``fn`` on each resample: on counts for the metrics that allow it, else one resample at a time."""
    if len(arrays) == 2 and fn in _RANK_STATS:
        y, p = _labels_scores(arrays[0], arrays[1])
        return _boot_rank(y, {"m": p}, {"s": _RANK_STATS[fn]}, n_boot, seed)[("m", "s")]
    if len(arrays) == 2 and fn in _WEIGHTED_STATS:
        y, p = _vec(arrays[0]), _vec(arrays[1])
        return _boot_weighted(y, {"m": p}, {"s": _WEIGHTED_STATS[fn]}, n_boot, seed)[("m", "s")]
    return _boot_loop(fn, arrays, n_boot, seed)


def _check_finite_arrays(owner: str, arrays: Sequence[np.ndarray]) -> None:
    """Refuse a NaN or infinite number in any array: a Brier score or an RMSE of a NaN is NaN on
    every resample, which were all skipped, and the interval came back NaN with no word of why (a
    statistics audit, 2026-12-07); AUC refused it already."""
    for k, array in enumerate(arrays):
        if array.dtype.kind in "fc" and not np.isfinite(array).all():
            first = int(np.flatnonzero(~np.isfinite(array.reshape(len(array), -1)).any(axis=1))[0])
            raise DataError(f"{owner}'s array {k + 1} holds a NaN or infinite number at row {first}; fix it (a model "
                            "that returns NaN decides nothing) before measuring.")


def bootstrap_ci(fn: Callable[..., Any], *arrays: Any, n_boot: int = 1000, seed: int = 0,
                 level: float = 0.95) -> dict[str, Any]:
    """Percentile bootstrap interval of ``fn(*arrays)``, resampling rows (the same rows of every array).

    Resamples where ``fn`` is undefined (it raises ValueError, such as
    :class:`~finlite.errors.DataError`, or returns NaN, e.g. AUC on a resample holding one class)
    are skipped and counted. AUC, Gini, KS,
    PR-AUC, Brier, RMSE, MAE and R² from :mod:`finlite.evaluate.metrics` are computed for many
    resamples at once (same numbers as one at a time, much faster).

    Returns:
        ``estimate`` (``fn`` on all rows), ``lower`` / ``upper`` (the interval; NaN when no
        resample was usable), ``n_boot`` (usable resamples), ``n_skipped``, ``level``.
    """
    _check_bootstrap_options(n_boot, level)
    if not arrays:
        raise ConfigError("bootstrap_ci needs at least one array to resample.", param="arrays")
    arrs = [np.asarray(a) for a in arrays]
    if len({a.shape[0] for a in arrs}) != 1 or arrs[0].shape[0] == 0:
        raise DataError(f"bootstrap_ci needs equally long, non-empty arrays; got lengths {[a.shape[0] for a in arrs]}.")
    _check_finite_arrays("bootstrap_ci", arrs)
    estimate = _safe(fn, *arrs)  # on the rows as given: a caller's fn may read their order
    order = content_order(*arrs)  # resamples of the rows, not of their positions (_order)
    return _summarise(estimate, _resampled(fn, [a[order] for a in arrs], n_boot, seed), level)


def paired_bootstrap_ci(fn: Callable[[Any, Any], Any], y: Any, p_a: Any, p_b: Any, *, n_boot: int = 1000,
                        seed: int = 0, level: float = 0.95) -> dict[str, Any]:
    """Percentile bootstrap interval of ``fn(y, p_a) − fn(y, p_b)``, both on the SAME resampled rows.

    Pairing removes the row-sampling noise the two models share, so the interval of the
    difference is much narrower than two separate intervals suggest. A resample where either
    side is undefined is skipped and counted. Same return keys as :func:`bootstrap_ci`.
    """
    _check_bootstrap_options(n_boot, level)
    yy, a, b = np.asarray(y), np.asarray(p_a), np.asarray(p_b)
    if not (yy.shape[0] == a.shape[0] == b.shape[0]) or yy.shape[0] == 0:
        raise DataError(f"paired_bootstrap_ci needs equally long, non-empty arrays; got {yy.shape[0]}, "
                        f"{a.shape[0]} and {b.shape[0]}.")
    _check_finite_arrays("paired_bootstrap_ci", [yy, a, b])
    estimate = _safe(fn, yy, a) - _safe(fn, yy, b)  # on the rows as given
    order = content_order(yy, a, b)  # one order for both sides: the pairs stay pairs
    yy, a, b = yy[order], a[order], b[order]
    # The same seed gives the same resampled rows on both sides.
    draws = _resampled(fn, [yy, a], n_boot, seed) - _resampled(fn, [yy, b], n_boot, seed)
    return _summarise(estimate, draws, level)


# -- curves and tables ---------------------------------------------------------------------------
def _both_classes(y: np.ndarray, what: str) -> tuple[int, int]:
    n_pos = int(y.sum())
    n_neg = int(y.size - n_pos)
    if n_pos == 0 or n_neg == 0:
        raise DataError(f"{what} needs both classes among the rows; these rows hold only one.")
    return n_pos, n_neg


def roc_points(y: Any, p: Any) -> tuple[np.ndarray, np.ndarray]:
    """The ROC curve: false- and true-positive rates at every distinct score as the cut-off,
    from (0, 0) (nothing flagged) to (1, 1) (everything flagged); tied scores are one step."""
    yy, pp = _labels_scores(y, p)
    n_pos, n_neg = _both_classes(yy, "A ROC curve")
    r = _Ranked(yy, -pp)  # descending scores: each run lowers the cut-off to that score
    pos, neg = r.groups(np.ones((1, yy.size)))
    tpr = np.r_[0.0, np.cumsum(pos[0]) / n_pos]
    fpr = np.r_[0.0, np.cumsum(neg[0]) / n_neg]
    return fpr, tpr


def ks_curve(y: Any, p: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cumulative score distributions of the positives and of the negatives.

    Returns ``(score, cdf_positive, cdf_negative)`` at each distinct score: the share of each
    class scoring at most ``score``. The largest amount by which the negatives' curve is above
    the positives' is the KS statistic (:func:`finlite.evaluate.metrics.ks`: 0 for a reversed ranking).
    """
    yy, pp = _labels_scores(y, p)
    n_pos, n_neg = _both_classes(yy, "A KS curve")
    r = _Ranked(yy, pp)
    pos, neg = r.groups(np.ones((1, yy.size)))
    return r.group_scores.copy(), np.cumsum(pos[0]) / n_pos, np.cumsum(neg[0]) / n_neg


def _equal_count_bands(ranked: np.ndarray, bins: int) -> list[np.ndarray]:
    """Positions 0..n-1 of ``ranked`` (scores already sorted, ascending) in at most ``bins``
    consecutive bands of equal count (sizes differ by at most one), except that rows of one score
    always share a band: a boundary that would cut a run of ties moves to the nearer end of it.

    Cutting a run of ties let the rows' order decide which of them fell in which band, so the
    same rows in another order gave another calibration error and other decile counts (a boosted
    or int8 model ties often). With ties kept together the bands depend on the scores alone.
    Moving to the nearer end (not always past the run) keeps distinct scores beside a long run in
    a band of their own.
    """
    n = ranked.size
    nominal = np.cumsum([b.size for b in np.array_split(np.arange(n), min(bins, n))])[:-1]
    # A boundary b starts a band at b; inside a run [low, high) of equal scores it moves to the
    # nearer of low and high (ties to low).
    low = np.searchsorted(ranked, ranked[nominal], side="left")
    high = np.searchsorted(ranked, ranked[nominal], side="right")
    moved = np.where(nominal - low <= high - nominal, low, high)
    edges = np.unique(np.concatenate([[0], moved, [n]]))
    return [np.arange(lo, hi) for lo, hi in itertools.pairwise(edges) if hi > lo]


def lift_table(y: Any, p: Any, bins: int = 10) -> list[dict[str, Any]]:
    """Lift and capture by score band, riskiest band first.

    Rows are sorted by score, highest first, and split into ``bins`` bands of equal count (sizes
    differ by at most one, except that tied scores share a band: see :func:`_equal_count_bands`,
    so a band may be larger and there may be fewer bands). Per band: ``rows``, ``positives``,
    ``bad_rate`` (the positive rate), ``lift`` (bad rate ÷ the overall rate), ``cumulative_capture``
    (share of all positives in this and riskier bands), and the band's score range.
    """
    _check_bins(bins)
    yy, pp = _labels_scores(y, p)
    order = np.argsort(-pp, kind="stable")
    ys, ps = yy[order], pp[order]
    total_pos, overall = float(yy.sum()), float(yy.mean())
    out, cum = [], 0.0
    for k, band in enumerate(_equal_count_bands(-ps, bins), start=1):
        positives = float(ys[band].sum())
        cum += positives
        rate = positives / band.size
        out.append({"band": k, "rows": int(band.size), "positives": int(positives), "bad_rate": rate,
                    "lift": rate / overall if overall > 0 else float("nan"),
                    "cumulative_capture": cum / total_pos if total_pos > 0 else float("nan"),
                    "min_score": float(ps[band].min()), "max_score": float(ps[band].max())})
    return out


def _probabilities(y: Any, p: Any, what: str) -> tuple[np.ndarray, np.ndarray]:
    """Labels and scores as :func:`_labels_scores` checks them, the scores also within [0, 1]:
    calibration compares them with observed rates, so a margin or a logit is no probability."""
    yy, pp = _labels_scores(y, p)
    if (pp < 0).any() or (pp > 1).any():
        raise DataError(f"{what} needs probabilities in [0, 1]; some scores lie outside (from {float(pp.min()):g} "
                        f"to {float(pp.max()):g}). Pass P(positive), not a margin or a logit.")
    return yy, pp


#: Below this positive rate a calibration section also bands the top tenth of each model's scores
#: (:data:`TAIL_QUANTILES`): at fraud prevalence every alert sits in the top equal-count decile,
#: whose scores ran from 0.0002 to 0.998 (a fraud engineer's walk-through, 2026-12-06).
RARE_RATE = 0.02
#: The score quantiles the tail bands run between (the last band ends at the highest score).
TAIL_QUANTILES = (0.9, 0.95, 0.99, 0.995, 0.999)


def tail_reliability(y: Any, p: Any, quantiles: Sequence[float] = TAIL_QUANTILES) -> list[dict[str, Any]]:
    """Observed against predicted positive rate in bands of the top of the score distribution: from
    each of ``quantiles`` of ``p`` to the next (the last to the highest score), with the fields and
    binomial test of :func:`reliability_table`. Where a rare class's positives all sit in the top
    equal-count band, these say whether the scores an alert is decided on are calibrated. Bands
    that tied scores leave empty are left out."""
    from scipy.stats import binomtest

    yy, pp = _probabilities(y, p, "A tail reliability table")
    edges = [float(np.quantile(pp, q)) for q in quantiles]
    out = []
    for k, low in enumerate(edges):
        last = k + 1 == len(edges)
        band = (pp >= low) & ((pp <= pp.max()) if last else (pp < edges[k + 1]))
        if not band.any():
            continue
        positives, mean_p = int(yy[band].sum()), float(pp[band].mean())
        out.append({"band": f"{quantiles[k]:.1%}-{'100%' if last else f'{quantiles[k + 1]:.1%}'}",
                    "count": int(band.sum()), "min_score": float(pp[band].min()), "max_score": float(pp[band].max()),
                    "mean_predicted": mean_p, "observed_rate": positives / int(band.sum()), "positives": positives,
                    "p_value": float(binomtest(positives, int(band.sum()), min(max(mean_p, 0.0), 1.0)).pvalue)})
    return out


def reliability_table(y: Any, p: Any, bins: int = 10) -> list[dict[str, Any]]:
    """Observed against predicted positive rate per score band, with a binomial test.

    Bands hold equal counts of rows sorted by score (lowest first; sizes differ by at most one,
    except that tied scores share a band: :func:`_equal_count_bands`).
    Per band: ``count``, score range, ``mean_predicted``, ``observed_rate``, ``positives`` and
    ``p_value``: the two-sided exact binomial test (:func:`scipy.stats.binomtest`) of the band's
    positives against its mean predicted rate. A small p-value says the band is miscalibrated.
    """
    from scipy.stats import binomtest

    _check_bins(bins)
    yy, pp = _probabilities(y, p, "A reliability table")
    order = np.argsort(pp, kind="stable")
    ys, ps = yy[order], pp[order]
    out = []
    for k, band in enumerate(_equal_count_bands(ps, bins), start=1):
        positives = int(ys[band].sum())
        mean_p = float(ps[band].mean())
        out.append({"band": k, "count": int(band.size), "min_score": float(ps[band].min()),
                    "max_score": float(ps[band].max()), "mean_predicted": mean_p,
                    "observed_rate": positives / band.size, "positives": positives,
                    "p_value": float(binomtest(positives, int(band.size), min(max(mean_p, 0.0), 1.0)).pvalue)})
    return out


def expected_calibration_error(y: Any, p: Any, bins: int = 10) -> float:
    """Expected calibration error: Σ (band rows ÷ rows) · |observed rate − mean predicted| over
    the equal-count score bands of :func:`reliability_table` (equal counts, so every band's
    rate is estimated from as many rows, unlike equal-width bands on skewed fraud scores)."""
    _check_bins(bins)
    yy, pp = _probabilities(y, p, "The expected calibration error")
    order = np.argsort(pp, kind="stable")
    ys, ps = yy[order], pp[order]
    return float(sum(b.size / yy.size * abs(ys[b].mean() - ps[b].mean())
                     for b in _equal_count_bands(ps, bins)))


#: Hosmer–Lemeshow's chi-square tail holds when every band expects this many positives and as many
#: negatives (the usual rule); below it, the p-value is simulated under the model's own probabilities.
HL_MIN_EXPECTED = 5.0
#: Draws of the simulated Hosmer–Lemeshow p-value (seeded: the same rows give the same p), fewer for
#: a large sample so that draws x rows stays below _HL_MAX_CELLS (at least 1,000).
HL_DRAWS = 10_000
_HL_MAX_CELLS = 100_000_000
_HL_SEED = 20261206


def _hl_statistic(observed: np.ndarray, expected: np.ndarray, spread: np.ndarray) -> np.ndarray:
    """Σ (O − E)² / (E · (1 − E / n)) over the last axis (the bands)."""
    return np.asarray(((observed - expected) ** 2 / spread).sum(axis=-1))


def _simulated_note(tests: Mapping[str, Mapping[str, Any]]) -> str:
    """The end of the calibration summary's Hosmer–Lemeshow sentence: which models' p-values were
    simulated (a band expecting fewer than HL_MIN_EXPECTED of a class), or a full stop."""
    simulated = [m for m, test in tests.items() if test.get("method") == "simulated"]
    if not simulated:
        return "."
    which = "both p-values" if len(simulated) == len(tests) else f"the {simulated[0]}'s p"
    return (f" ({which} simulated from the model's own probabilities: a band expects fewer than "
            f"{HL_MIN_EXPECTED:g} of a class, where chi-square's tail does not hold).")


def hosmer_lemeshow(y: Any, p: Any, bins: int = 10) -> dict[str, Any]:
    """The Hosmer–Lemeshow goodness-of-fit test over the equal-count score bands of
    :func:`reliability_table`: ``statistic`` = Σ (O − E)² / (E · (1 − E / n)) over the bands (O the
    band's positives, E the sum of its predicted probabilities, n its rows), ``df``, ``p_value``
    and ``groups``.

    ``p_value`` is the chi-square tail (:func:`scipy.stats.chi2`, ``method`` "chi-square") when
    every band expects at least :data:`HL_MIN_EXPECTED` positives and as many negatives; otherwise
    the tail is simulated (``method`` "simulated", ``draws``): labels drawn from the model's own
    probabilities, the statistic of each draw against the observed one, (1 + draws at or above) /
    (1 + draws). The chi-square tail gave p 1.3e-43 to 20 rows with one default (simulated: 0.004),
    and a low-default book's bands expecting 0.5 to 4 defaults rejected a calibrated model at 1 %
    one time in forty (a PD modeller's walk-through, 2026-12-06). ``min_expected`` is the smallest
    band's expected count of either class.

    The rows judged are ones the model was not fitted on (the test split, a hold-out), so
    ``df`` is the number of bands, as Hosmer and Lemeshow give it for external validation (G − 2
    is the in-sample convention). A band whose E is 0 or n (every score 0, or every score 1) is
    certain: it is left out (of ``df`` too) when its labels agree, and when they do not the model
    is plainly wrong there: ``statistic`` None (infinite), ``p_value`` 0 and ``certain_band_wrong``
    true. PD validators read it beside the binomial test of each band.
    """
    from scipy.stats import chi2

    _check_bins(bins)
    yy, pp = _probabilities(y, p, "The Hosmer-Lemeshow test")
    order = np.argsort(pp, kind="stable")
    ys, ps = yy[order], pp[order]
    bands = _equal_count_bands(ps, bins)
    kept: list[np.ndarray] = []
    wrong = False
    for band in bands:
        hit, due = float(ys[band].sum()), float(ps[band].sum())
        if due * (1.0 - due / band.size) <= 0.0:  # every score 0 or every score 1
            wrong = wrong or hit != due
            continue
        kept.append(band)
    if wrong:
        return {"statistic": None, "df": len(kept), "p_value": 0.0, "groups": len(bands), "certain_band_wrong": True}
    if not kept:
        return {"statistic": 0.0, "df": 0, "p_value": None, "groups": len(bands), "certain_band_wrong": False}
    expected = np.array([ps[b].sum() for b in kept])
    sizes = np.array([b.size for b in kept], dtype=np.float64)
    spread = expected * (1.0 - expected / sizes)
    statistic = float(_hl_statistic(np.array([ys[b].sum() for b in kept]), expected, spread))
    least = float(min(expected.min(), (sizes - expected).min()))
    out: dict[str, Any] = {"statistic": statistic, "df": len(kept), "groups": len(bands), "certain_band_wrong": False,
                           "min_expected": least}
    if least >= HL_MIN_EXPECTED:
        return {**out, "p_value": float(chi2.sf(statistic, len(kept))), "method": "chi-square"}
    rows = np.concatenate(kept)
    probs = ps[rows]
    starts = np.cumsum([0, *[b.size for b in kept[:-1]]])
    draws = int(max(1_000, min(HL_DRAWS, _HL_MAX_CELLS // max(rows.size, 1))))
    rng = np.random.default_rng(_HL_SEED)
    chunk = max(1, 4_000_000 // rows.size)  # draws at a time: bounded memory whatever the rows
    above = 0
    for first in range(0, draws, chunk):
        k = min(chunk, draws - first)
        simulated = (rng.random((k, rows.size)) < probs).astype(np.float64)
        sims = _hl_statistic(np.add.reduceat(simulated, starts, axis=1), expected, spread)
        # A hair below: sums of the same terms in another order must not fall short of a tie.
        above += int(np.count_nonzero(sims >= statistic * (1 - 1e-12)))
    return {**out, "p_value": (1 + above) / (1 + draws), "method": "simulated", "draws": draws}


def _shares_psi(e_counts: np.ndarray, a_counts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    e_share = e_counts / max(e_counts.sum(), 1)
    a_share = a_counts / max(a_counts.sum(), 1)
    return e_share, a_share, psi_contributions(e_share, a_share)


def psi_table(expected: Any, actual: Any, bins: int = 10) -> dict[str, Any]:
    """Population stability index with its bin table.

    Bins are those of :func:`finlite.evaluate.fidelity.psi` (the expected scores' quantiles,
    right-closed, coinciding edges merged), and so is the total: each bin contributes
    ``(a − e)·ln(a / e)`` with empty shares floored at 1e-4. The table shows the raw shares.

    Returns:
        ``psi`` and ``bins``: per bin ``bin``, ``lower`` / ``upper`` edges (None at the open
        ends), ``expected_share``, ``actual_share``, ``contribution``.
    """
    _check_bins(bins)
    e, a = _vec(expected, "expected scores"), _vec(actual, "actual scores")
    e, a = _m.finite_scores(e, "expected scores"), _m.finite_scores(a, "actual scores")  # a NaN edge: PSI 0
    inner = np.unique(np.quantile(e, np.linspace(0, 1, bins + 1)[1:-1]))
    e_counts = np.bincount(np.searchsorted(inner, e, side="left"), minlength=inner.size + 1)
    a_counts = np.bincount(np.searchsorted(inner, a, side="left"), minlength=inner.size + 1)
    e_share, a_share, contrib = _shares_psi(e_counts.astype(np.float64), a_counts.astype(np.float64))
    edges: list[float | None] = [None, *map(float, inner), None]
    rows = [{"bin": k + 1, "lower": edges[k], "upper": edges[k + 1], "expected_share": float(e_share[k]),
             "actual_share": float(a_share[k]), "contribution": float(contrib[k])} for k in range(inner.size + 1)]
    return {"psi": float(contrib.sum()), "bins": rows}


def _category_labels(s: pd.Series, known: Sequence[str] = ()) -> tuple[np.ndarray, list[str]]:
    """Each row's index into the column's distinct labels (``"=" + category key``), -1 for a
    missing value.

    Values are keyed as the model's encoder keys them (:func:`finlite._keys.category_key`: 3, 3.0
    and "3" are one category, surrounding spaces do not count), and a key that is not among the
    ``known`` labels (the training rows' kept ones) is looked up with its aliases ("94110.0" read as
    text is the code 94110, "true" is True), as every encoder does; what ``finlite score``'s CSI
    counts.
    The distinct values are keyed once each (a loan book's City has tens of thousands of values
    over a million rows); a column of mixed types is factorised as text, since 1, 1.0 and True
    are one key to a hash table.
    """
    from finlite._keys import MISSING, category_keys

    raw = s.astype("object").where(s.notna(), None)
    if pd.api.types.infer_dtype(raw, skipna=True) not in ("string", "integer", "empty"):
        raw = raw.map(lambda v: None if v is None else (type(v).__name__, v))  # keep 1, 1.0 and True apart
    codes, uniques = pd.factorize(raw, use_na_sentinel=True)
    keys = category_keys((u[1] if isinstance(u, tuple) else u for u in uniques),
                         [label[1:] for label in known if label.startswith("=")])
    labels = ["" if key == MISSING else f"={key}" for key in keys]
    # A value keyed as missing ("", "  ", pandas' NA in an object column) counts with the missing rows.
    index = np.asarray(codes, dtype=np.int64)
    gone = np.array([lab == "" for lab in labels] + [False], dtype=bool)
    index = np.where(gone[index], -1, index)
    return index, labels


def csi_table(expected: Any, actual: Any, *, categorical: bool = False, bins: int = 10,
              min_share: float = 0.01, min_rows: int = CATEGORY_MIN_ROWS) -> dict[str, Any]:
    """Characteristic stability index of one feature: PSI of its distribution, training vs scored.

    Numeric: bins at the training column's quantiles (as :func:`psi_table`), with missing values
    in a bin of their own, and codes and far values too
    (:func:`finlite.data.preprocess.separating_edges`). Categorical: one bin per training value; values under ``min_share``
    of the training rows or ``min_rows`` rows (a value of a few rows, named in the report, is a few
    customers'; as finlite score's bins, runtime/stability.py), and values the training rows
    never hold, are pooled into ``other``;
    missing values have their own bin. Empty shares are floored at 1e-4 as in PSI. A bin is named
    by its value, or ``"=other"`` / ``"=missing"`` for a value that is that text (the pooled bins
    are ``other`` and ``missing``).

    Returns:
        ``csi`` and ``bins``: per bin ``bin`` (a label), ``expected_share``, ``actual_share``,
        ``contribution``.
    """
    _check_bins(bins)
    e_s, a_s = pd.Series(expected).reset_index(drop=True), pd.Series(actual).reset_index(drop=True)
    if e_s.empty or a_s.empty:
        raise DataError("CSI needs at least one row in the training and in the scored column.")
    labels: list[str]
    if categorical:
        e_idx, e_labels = _category_labels(e_s)
        counts: dict[str, int] = {}
        for lab, n in zip(e_labels, np.bincount(e_idx[e_idx >= 0], minlength=len(e_labels)).tolist(), strict=True):
            counts[lab] = counts.get(lab, 0) + n
        total = len(e_s)  # missing values count in the total, as a share of every row
        kept = sorted(lab for lab, n in counts.items() if n / total >= min_share and n >= min_rows)
        # The scored values are looked up (aliases included) among the kept values only, as the CSI
        # of finlite score does from the bins export recorded (runtime/stability.py): one number.
        # A CSV missing marker sent as text ("n/a") is a missing value there, as a CSV reader reads
        # it, whether or not training had blanks (the missing key is among what it looks up).
        a_idx, a_labels = _category_labels(a_s, [*kept, f"={MISSING}"])
        labels = [*kept, "other", "missing"]
        pos = {lab: i for i, lab in enumerate(labels)}

        def code(idx: np.ndarray, seen: list[str]) -> np.ndarray:
            # One position per distinct label, the last for a missing value (index -1).
            # A CSV missing marker that is no kept value counts as missing on both sides, as the
            # bins export records read it (runtime/stability.reference_record).
            lookup = np.array([pos.get(lab, pos["missing"] if lab[1:] in CSV_MISSING else pos["other"])
                               for lab in seen] + [pos["missing"]], dtype=np.int64)
            out: np.ndarray = lookup[idx]
            return out
        e_codes, a_codes = code(e_idx, e_labels), code(a_idx, a_labels)
        # A value shown without its "=", unless it would read as a pooled bin ("other", "missing").
        labels = [lab[1:] if lab.startswith("=") and lab[1:] not in ("other", "missing") else lab for lab in labels]
    else:
        try:
            e_num, a_num = e_s.to_numpy(dtype=np.float64), a_s.to_numpy(dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise DataError(f"CSI of a numeric column needs numbers; the column holds text ({exc}). "
                            "Declare it categorical.") from exc
        e_ok = e_num[np.isfinite(e_num)]
        # The training column's quantiles, and bins of their own for its codes (96, 98 among
        # counts) and far values, as the bins export records (runtime/stability.py).
        inner = stability_edges(e_ok, bins)
        nb = inner.size + 1

        def code_num(x: np.ndarray) -> np.ndarray:
            c = np.searchsorted(inner, np.nan_to_num(x, nan=0.0), side="left")
            return np.where(np.isfinite(x), c, nb)
        e_codes, a_codes = code_num(e_num), code_num(a_num)
        edges = [-math.inf, *map(float, inner), math.inf]
        labels = [f"({edges[k]:.6g}, {edges[k + 1]:.6g}]" for k in range(nb)] + ["missing"]
    e_counts = np.bincount(e_codes, minlength=len(labels)).astype(np.float64)
    a_counts = np.bincount(a_codes, minlength=len(labels)).astype(np.float64)
    # A bin empty on both sides says nothing (a pooled "other" or "missing" that never occurs).
    used = (e_counts > 0) | (a_counts > 0)
    e_share, a_share, contrib = _shares_psi(e_counts[used], a_counts[used])
    used_labels = [lab for lab, u in zip(labels, used, strict=True) if u]
    rows = [{"bin": lab, "expected_share": float(es), "actual_share": float(as_), "contribution": float(c)}
            for lab, es, as_, c in zip(used_labels, e_share, a_share, contrib, strict=True)]
    return {"csi": float(contrib.sum()), "bins": rows}


def feature_csi(train_frame: pd.DataFrame, test_frame: pd.DataFrame, numeric: Sequence[str],
                categorical: Sequence[str], bins: int = 10, money: Collection[str] = ()) -> list[dict[str, Any]]:
    """CSI of every feature between the training and the scored rows, the largest shift first.

    Numeric columns are read as the encoder reads them (:func:`finlite.data.schema.numeric_column`;
    the columns in ``money`` with the money rule, "$60,000.00" as 60000). Returns rows
    ``feature``, ``kind`` ("numeric" / "categorical"), ``csi`` and ``band`` ("stable" < 0.1 ≤
    "moderate" < 0.25 ≤ "shifted"); ties are broken by feature name.
    """
    out = []
    for cols, is_cat in ((numeric, False), (categorical, True)):
        for col in cols:
            for frame, which in ((train_frame, "training"), (test_frame, "scored")):
                if col not in frame.columns:
                    raise DataError(f"CSI: column {col!r} is missing from the {which} rows; "
                                    f"the rows hold {list(frame.columns)[:20]}.")
            expected, actual = train_frame[col], test_frame[col]
            if not is_cat:  # as numbers, the way the model's encoder reads them (money text included)
                expected = pd.Series(numeric_column(expected, str(col), "the training rows", money=col in money))
                actual = pd.Series(numeric_column(actual, str(col), "the scored rows", money=col in money))
            value = csi_table(expected, actual, categorical=is_cat, bins=bins)["csi"]
            out.append({"feature": str(col), "kind": "categorical" if is_cat else "numeric", "csi": value,
                        "band": _band_name(value)})
    return sorted(out, key=lambda r: (-r["csi"], r["feature"]))


def _band_name(value: float) -> str:
    return "stable" if value < PSI_WARN else "moderate" if value < PSI_FAIL else "shifted"


def mcnemar(b: int, c: int) -> dict[str, Any]:
    """McNemar's test of two paired classifiers from the discordant counts ``b`` and ``c``.

    Exact binomial test (statistic = min(b, c), two-sided p = min(1, 2·P(X ≤ min(b, c))) with
    X ~ Binomial(b + c, ½)) when b + c < 25; otherwise the chi-square statistic with continuity
    correction, (|b − c| − 1)² / (b + c), on one degree of freedom. The same as
    ``statsmodels.stats.contingency_tables.mcnemar(..., exact=b + c < 25, correction=True)``.
    """
    from scipy.stats import binom, chi2

    for name, v in (("b", b), ("c", c)):
        if not isinstance(v, (int, np.integer)) or v < 0:
            raise ConfigError(f"McNemar's {name} must be a non-negative count; got {v!r}.", param=name)
    b, c = int(b), int(c)
    n = b + c
    if n < 25:
        stat = float(min(b, c))
        p = min(1.0, 2.0 * float(binom.cdf(min(b, c), n, 0.5))) if n else 1.0
        return {"statistic": stat, "p_value": p, "method": "exact binomial", "b": b, "c": c}
    stat = (abs(b - c) - 1.0) ** 2 / n
    return {"statistic": stat, "p_value": float(chi2.sf(stat, 1)), "method": "chi-square, continuity corrected",
            "b": b, "c": c}


# -- sections ------------------------------------------------------------------------------------
def _fmt(x: Any, digits: int = 4) -> str:
    return "n/a" if x is None or (isinstance(x, float) and not math.isfinite(x)) else f"{x:.{digits}f}"


def _times(x: Any) -> str:
    """A ratio as a multiple ("0.5485×"), "n/a" when there is none."""
    text = _fmt(x)
    return text if text == "n/a" else f"{text}×"


def _require_task(inp: TabularInputs, task: str, section: str) -> None:
    if inp.task != task:
        raise ConfigError(f"The {section} section is for {task} tasks; this report's task is {inp.task!r}.",
                          param="task")


def _require_cutoff(inp: TabularInputs, section: str) -> float:
    if inp.cutoff is None:
        raise ConfigError(f"The {section} section decides at a cut-off; the inputs carry none. "
                          "Give the artifact's operating point.", param="cutoff")
    return float(inp.cutoff)


def _ci(d: Mapping[str, Any]) -> dict[str, Any]:
    return {"estimate": d["estimate"], "lower": d["lower"], "upper": d["upper"]}


def _binary_arrays(inp: TabularInputs) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    y, t = _labels_scores(inp.y_test, inp.teacher.scores_test)
    _, s = _labels_scores(inp.y_test, inp.student.scores_test)
    return y, t, s


def _recall_at(y: np.ndarray, p: np.ndarray, fpr: float) -> float:
    return _m.recall_at_fpr(y, p, fpr)


def _rank_metric_fns() -> dict[str, tuple[Callable[..., float], _GroupStat]]:
    fns: dict[str, tuple[Callable[..., float], _GroupStat]] = {
        "auc": (_m.auc, _auc_g), "gini": (_m.gini, _gini_g), "ks": (_m.ks, _ks_g),
        "pr_auc": (_m.average_precision, _ap_g)}
    for fpr, name in _FPRS:
        fns[name] = (functools.partial(_recall_at, fpr=fpr), _recall_g(fpr))
    return fns


#: Fewest test rows of either class from which the discrimination section gives bootstrap intervals
#: and judges by them (below: no interval, WARN). At 5 and 8 defaults they match DeLong's and an
#: independent bootstrap; at 1 and 2 they were far too narrow (a low-default walk-through, 2026-12-07).
MIN_INTERVAL_CLASS_ROWS = 5


def build_discrimination(inp: TabularInputs, n_boot: int | None = None) -> Section:
    """The ``discrimination`` section: AUC, Gini, KS, PR-AUC and recall at 0.1 / 0.5 / 1 / 5 %
    false-positive rate for teacher and student with 95 % bootstrap intervals, the paired
    teacher − student difference, lift and capture by decile, ROC and KS curves.

    FAIL when the paired AUC difference's interval lies wholly above 0.02, or the student ranks no
    better than chance (its AUC interval reaches 0.5) where the teacher does and the difference's
    interval lies above 0; PASS only when its
    upper end is below 0.02 and it is not wholly above 0; WARN otherwise (straddling 0.02: the
    data cannot tell whether the loss is material; wholly above 0: significant but small). ``n_boot`` resamples
    (default: :func:`default_n_boot` of the test rows). Raises DataError when the test rows hold
    one class only (the section cannot be computed; the report omits it).
    """
    _require_task(inp, "binary", "discrimination")
    y, t, s = _binary_arrays(inp)
    _both_classes(y, "The discrimination section")
    n_boot = default_n_boot(y.size) if n_boot is None else n_boot
    _check_bootstrap_options(n_boot, 0.95)
    fns = _rank_metric_fns()
    clusters = inp.test_groups  # a split by account: whole accounts resampled
    # Resampled in the rows' content order (_order): the same rows in another order drew other
    # resamples, and every interval moved (a metamorphic review, 2026-12-07).
    o = content_order(y, t, s, *(() if clusters is None else (clusters,)))
    draws = _boot_rank(y[o], {"teacher": t[o], "student": s[o]}, {k: g for k, (_, g) in fns.items()}, n_boot,
                       inp.seed, clusters=None if clusters is None else np.asarray(clusters)[o])
    level = 0.95
    per: dict[str, dict[str, Any]] = {"teacher": {}, "student": {}, "difference": {}}
    skipped = 0
    for name, (fn, _) in fns.items():
        est = {m: _safe(fn, y, p) for m, p in (("teacher", t), ("student", s))}
        for m in ("teacher", "student"):
            per[m][name] = _ci(_summarise(est[m], draws[(m, name)], level))
        diff = _summarise(est["teacher"] - est["student"], draws[("teacher", name)] - draws[("student", name)], level)
        skipped = max(skipped, diff["n_skipped"])
        per["difference"][name] = _ci(diff)
    fewest = int(min(y.sum(), y.size - y.sum()))
    unestimable = fewest < MIN_INTERVAL_CLASS_ROWS
    if unestimable:
        # A bootstrap of one or two defaults resamples the same few rows: its intervals were far too
        # narrow (an AUC of 0.98 "within [0.95, 1]" on two defaults) and a paired one FAILed a student
        # on one default (a low-default portfolio's walk-through, 2026-12-07). Not estimated, and the
        # section not judged from them.
        for part in per.values():
            for record in part.values():
                record["lower"] = record["upper"] = None
    d_auc = per["difference"]["auc"]
    lo, hi = d_auc["lower"], d_auc["upper"]
    # PASS needs the data to rule a material loss out, not merely fail to prove one (R2 item 4).
    # An interval that could not be drawn (NaN: no usable resample) is no evidence of a PASS.
    status = ("WARN" if unestimable or not (lo == lo and hi == hi) else "FAIL" if lo > 0.02 else
              "WARN" if hi >= 0.02 or lo > 0 else "PASS")
    summary = (f"Student AUC {_fmt(per['student']['auc']['estimate'])} vs teacher "
               f"{_fmt(per['teacher']['auc']['estimate'])}; teacher − student = {_fmt(d_auc['estimate'])} "
               + (f"(no interval: the test rows hold {int(y.sum()):,} positive and {int(y.size - y.sum()):,} other "
                  f"rows, and with fewer than {MIN_INTERVAL_CLASS_ROWS} of a class a bootstrap resamples the same "
                  "few rows, so neither the intervals nor a verdict can be drawn from them: WARN; judge the model on "
                  "a larger labelled hold-out, report --holdout)."
                  if unestimable else f"(95 % paired interval {_fmt(d_auc['lower'])} to {_fmt(d_auc['upper'])})."))
    # A student that ranks no better than chance where its teacher does has lost what the model is
    # for: FAIL, whatever margin the difference's interval allows (a constant student of AUC 0.50
    # beside a teacher of 0.61 was WARN, its interval reaching 0.015: a validator's walk-through).
    t_auc, s_auc = per["teacher"]["auc"], per["student"]["auc"]
    chance = (t_auc["lower"] is not None and t_auc["lower"] > 0.5 and s_auc["lower"] is not None
              and s_auc["lower"] <= 0.5 and lo is not None and lo > 0)
    if chance:
        status = "FAIL"
        summary += (f" The student ranks no better than chance (its AUC's interval {_fmt(s_auc['lower'])} to "
                    f"{_fmt(s_auc['upper'])} reaches 0.5) where the teacher does (above 0.5), and the difference's "
                    "interval lies above 0: it has lost the teacher's ranking.")
    since, since_said, since_table, since_record = _since_validation(inp, per)
    if since is not None:
        status = worst([status, since])
        summary += since_said
    if fewest < THIN_CLASS_ROWS and not unestimable:  # (below MIN_INTERVAL_CLASS_ROWS the summary said it)
        # Said on the console only, it never reached the saved evidence a validator reads (a
        # validator's review, 2026-12-04): at least WARN, so the model card's limitations list it.
        status = "FAIL" if status == "FAIL" else "WARN"
        summary += (f" The test rows hold {int(y.sum()):,} positive and {int(y.size - y.sum()):,} other rows: with "
                    f"fewer than {THIN_CLASS_ROWS} of a class these metrics move by whole points when one row "
                    "changes, so they are no evidence; judge the model on a larger labelled hold-out (report "
                    "--holdout).")
    rows = []
    for name in fns:
        tt, ss, dd = per["teacher"][name], per["student"][name], per["difference"][name]
        rows.append([name, tt["estimate"], tt["lower"], tt["upper"], ss["estimate"], ss["lower"], ss["upper"],
                     dd["estimate"], dd["lower"], dd["upper"]])
    unit = "rows" if clusters is None else "accounts"  # a split by account resamples accounts
    tables = [Table("discrimination_metrics", "Discrimination" + (" (no interval: too few of a class)" if unestimable
                                                                 else " with 95 % bootstrap intervals") + " (difference = "
                    f"teacher − student, paired on the same resampled {unit})",
                    ["metric", "teacher", "teacher_lower", "teacher_upper", "student", "student_lower",
                     "student_upper", "difference", "difference_lower", "difference_upper"], rows)]
    if since_table is not None:
        tables.append(since_table)
    lift_cols = ["band", "rows", "positives", "bad_rate", "lift", "cumulative_capture", "min_score", "max_score"]
    lifts = {}
    for m, p in (("teacher", t), ("student", s)):
        lt = lift_table(y, p, 10)
        lifts[m] = lt
        tables.append(Table(f"lift_{m}", f"Lift and capture by score band, {m} (deciles, tied scores kept in one "
                            "band; band 1 = riskiest)", lift_cols,
                            [[r[c] for c in lift_cols] for r in lt]))
    roc_series, ks_series = [], []
    for m, p in (("teacher", t), ("student", s)):
        fx, ty = roc_points(y, p)
        roc_series.append(Series(m, *curve_points(fx, ty)))
        sc, cp, cn = ks_curve(y, p)
        ks_series.append(Series(f"{m}: {inp.positive}", *curve_points(sc, cp), style="step"))
        ks_series.append(Series(f"{m}: other", *curve_points(sc, cn), style="step"))
    plots = [Plot("roc", "ROC curve", "false-positive rate", "true-positive rate", roc_series,
                  reference="diagonal"),
             Plot("ks", "KS: cumulative score distribution by class", "score", "cumulative share", ks_series)]
    if unestimable:
        notes = [f"No interval: with {fewest} test row(s) of the rarer class (fewer than {MIN_INTERVAL_CLASS_ROWS}) "
                 "a bootstrap resamples the same few rows, and its intervals were far too narrow."]
    elif clusters is None:
        notes = [f"Intervals: {n_boot} bootstrap resamples of the {y.size} test rows (seed {inp.seed}), "
                 "percentile method; the difference is paired (both models on the same resampled rows)."]
    else:
        accounts = int(np.unique(clusters).size)
        notes = [f"Intervals: {n_boot} cluster-bootstrap resamples of the {accounts:,} test accounts (the split's "
                 f"group column; {y.size:,} rows, seed {inp.seed}): each resample draws whole accounts, so an "
                 "account's rows move together; percentile method; the difference is paired (both models on the "
                 "same resampled accounts)."]
    if skipped and not unestimable:
        notes.append(f"{skipped} resamples lacked a class (or the metric was undefined) and were skipped.")
    # recall_at_fpr allows floor(rate x negatives) false positives: on a small test set several
    # rates allow as many, and their rows are one measurement shown twice, not agreeing evidence.
    negatives = int(y.size - y.sum())
    allowed: dict[int, list[str]] = {}
    for rate, name in _FPRS:
        allowed.setdefault(int(np.floor(rate * negatives)), []).append(name)
    for count, names in allowed.items():
        if len(names) > 1:
            notes.append(f"{', '.join(names[:-1])} and {names[-1]} are one measurement here: with {negatives} "
                         "negative test rows "
                         f"each allows {count} false positive{'' if count == 1 else 's'}.")
    return Section(
        id="discrimination", title="Discrimination", status=status,  # type: ignore[arg-type]
        threshold=("FAIL when the 95 % paired interval of teacher − student AUC lies wholly above 0.02, or "
                   "the student's AUC interval reaches 0.5 while the teacher's lies above it and the difference's "
                   "lies above 0 (no ranking left); "
                   "PASS when its upper end is below 0.02 and its lower end is not above 0; WARN otherwise "
                   "(the interval reaches 0.02: too few rows to rule out a material loss; or it lies wholly "
                   "above 0: significantly but not materially worse); at least WARN when the test rows hold "
                   f"fewer than {THIN_CLASS_ROWS} of a class, and WARN with no interval below "
                   f"{MIN_INTERVAL_CLASS_ROWS}. "
                   + (f"On a hold-out, also against the student's own AUC at validation (its test split): WARN "
                      f"when its Gini fell by {GINI_DECLINE_WARN:.0%} or more, FAIL by {GINI_DECLINE_FAIL:.0%} or "
                      "more, each only when the fall is beyond both AUCs' sampling noise (z > 1.96). "
                      if since is not None else "")
                   + (f"Here: no interval ({fewest} of the rarer class)." if unestimable else
                      f"Here: [{_fmt(d_auc['lower'])}, {_fmt(d_auc['upper'])}].")),
        summary=summary,
        metrics={"rows": int(y.size), "positives": int(y.sum()), "n_boot": n_boot, "level": level,
                 "teacher": per["teacher"], "student": per["student"], "difference": per["difference"],
                 "lift": lifts, **({"since_validation": since_record} if since is not None else {})},
        tables=tables, plots=plots, notes=notes)


#: Relative decline of a model's Gini since validation (hold-out against its test split) from which
#: discrimination is WARN, and FAIL: judged only where the fall is beyond both AUCs' sampling noise
#: (:func:`finlite.evaluate.metrics.auc_decline`).
GINI_DECLINE_WARN, GINI_DECLINE_FAIL = 0.10, 0.25


def _since_validation(inp: TabularInputs, per: Mapping[str, Mapping[str, Any]]) -> tuple[str | None, str, Table | None,
                                                                                           dict[str, Any]]:
    """On a hold-out, each model's AUC and Gini against its own at validation (``inp.validated``,
    with its test split's rows and positives): the status the student's decline gives (None:
    nothing to judge), a sentence, a table, metrics (:func:`~finlite.evaluate.metrics.auc_decline`)."""
    if not inp.validated:
        return None, "", None, {}
    y = np.asarray(inp.y_test)
    rows, record = [], {}
    for m, model in (("teacher", inp.teacher), ("student", inp.student)):
        then = inp.validated.get(m) or {}
        auc_then, n, d = then.get("auc"), then.get("rows"), then.get("positives")
        if (not isinstance(auc_then, (int, float)) or isinstance(auc_then, bool) or not isinstance(n, int)
                or not isinstance(d, int) or not 0 < d < n or per[m]["auc"]["estimate"] is None):
            continue
        one = _m.auc_decline(float(auc_then), n, d, y, model.scores_test)
        record[m] = one
        rows.append([m, one["validated_auc"], one["validated_se"], one["auc"], one["se"], one["validated_gini"],
                     one["gini"], one["gini_relative_decline"], one["z"],
                     "not judged" if one.get("judged") is False else "yes" if one["beyond_noise"] else "no"])
    mine = record.get("student")
    if mine is None:
        return None, "", None, {}
    decline, beyond = mine["gini_relative_decline"], mine["beyond_noise"]
    status = ("FAIL" if beyond and decline is not None and reaches(decline, GINI_DECLINE_FAIL) else
              "WARN" if beyond and decline is not None and reaches(decline, GINI_DECLINE_WARN) else "PASS")
    said = (f" Since validation (its own test split), the student's AUC went {_fmt(mine['validated_auc'])} → "
            f"{_fmt(mine['auc'])} (Gini {_fmt(mine['validated_gini'])} → {_fmt(mine['gini'])}, "
            + (f"{decline:.0%} lower" if decline is not None and decline >= 0 else
               f"{-decline:.0%} higher" if decline is not None else "no Gini at validation")
            + f"; z {_fmt(mine['z'])} from both AUCs' errors: "
            + (f"not judged: fewer than {THIN_CLASS_ROWS} rows of a class here, where the AUC's error is no "
               "sampling error"
               if mine.get("judged") is False else
               "a fall beyond sampling noise" if beyond else "a rise beyond sampling noise" if mine["z"] < -1.96
               else "within sampling noise") + ")")
    if mine.get("reversed"):
        # The coding first, and the verdict only for a table coded as in training: "check the coding"
        # glued to "redevelop it" read as both at once (a review, 2026-12-06).
        said += (f". It ranks these rows the wrong way round (AUC below 0.5 beyond sampling noise): check first that "
                 f"the outcome is coded as in training (the positive class is {inp.positive!r}), since a table coded "
                 "the other way round looks exactly like this; if it is coded so, do not rely on the model until "
                 "it is redeveloped.")
    elif status != "PASS":
        said += (": the model ranks these applicants markedly worse than when it was validated, whatever the "
                 "teacher does; redevelop or recalibrate it before relying on it." if status == "FAIL" else
                 ": it ranks these applicants worse than when it was validated; watch it, and find the cause "
                 "(the population, the feed, the outcome definition).")
    else:
        said += "."
    table = Table("since_validation", "AUC and Gini on the hold-out against each model's own at validation (its "
                  "test split), with each AUC's standard error (Hanley–McNeil from the recorded counts; DeLong on "
                  "the hold-out) and z of the fall; 'beyond noise': z > 1.96",
                  ["model", "validated_auc", "validated_se", "auc", "se", "validated_gini", "gini",
                   "gini_relative_decline", "z", "beyond_noise"], rows)
    return status, said, table, record


#: Calibration in the large on a hold-out, the student's own (not against the teacher): WARN from
#: this factor between the mean predicted and the observed rate, FAIL from the next, each only where
#: the Jeffreys test rejects the mean prediction at 1 % (two-sided; the ECB's monitoring test).
HOLDOUT_CITL_WARN, HOLDOUT_CITL_FAIL = 1.25, 1.5


def jeffreys_test(positives: int, rows: int, predicted: float) -> dict[str, float]:
    """The Jeffreys test of a mean predicted rate against ``positives`` of ``rows``: the posterior
    Beta(d + ½, n − d + ½) of the rate, its probability below and above ``predicted``. A small
    ``p_under`` says the observed rate is above the prediction (risk underestimated)."""
    from scipy.stats import beta

    a, b = positives + 0.5, rows - positives + 0.5
    # The upper tail as its own function: 1 − CDF is 0 in floating point below about 1e-16.
    return {"p_under": float(beta.cdf(predicted, a, b)), "p_over": float(beta.sf(predicted, a, b))}


def calibration_in_the_large(positives: int, rows: int, mean: float) -> dict[str, Any]:
    """A mean prediction against ``positives`` of ``rows``: the observed rate, the ratio of the two,
    the factor they differ by either way (max(r, 1/r); None for a mean of 0, infinitely off), and
    the Jeffreys test's tails and two-sided p-value. One record for the report, ``evaluate`` and
    ``train``'s warning, whose verdict is :func:`calibration_status`.

    A mean of exactly 0 or 1 (scores saturated in float32) is a boundary the Jeffreys posterior
    never reaches, so its tails would reject any data: there the p-value is the binomial
    probability of the count, 1 where every row agrees with the prediction (no default under a PD
    of 0, all under 1) and 0 otherwise (a mean of 0 on a book with no default read FAIL at p 0: a
    statistics audit, 2026-12-07). Such an exact agreement has a factor of 1.

    Raises:
        ValueError: no rows, or a count outside 0..rows.
    """
    if rows <= 0 or not 0 <= positives <= rows:
        raise ValueError(f"calibration_in_the_large needs rows > 0 and 0 <= positives <= rows; got {positives} of "
                         f"{rows}.")
    rate = positives / rows
    ratio = mean / rate if rate > 0 else None
    if mean <= 0.0 or mean >= 1.0:
        exact = (positives == 0) if mean <= 0.0 else (positives == rows)
        ratio = 1.0 if exact and ratio is None else ratio
        p = 1.0 if exact else 0.0
        return {"rows": rows, "positives": positives, "observed_rate": rate, "mean_predicted": mean, "ratio": ratio,
                "factor": max(ratio, 1 / ratio) if ratio else None, "p_under": p if mean <= 0.0 else 1.0,
                "p_over": p if mean >= 1.0 else 1.0, "p_value": p}
    tails = jeffreys_test(positives, rows, mean)
    return {"rows": rows, "positives": positives, "observed_rate": rate, "mean_predicted": mean, "ratio": ratio,
            "factor": max(ratio, 1 / ratio) if ratio else None, **tails,
            "p_value": min(1.0, 2 * min(tails["p_under"], tails["p_over"]))}


def calibration_status(record: Mapping[str, Any]) -> str:
    """PASS, WARN or FAIL for a :func:`calibration_in_the_large` record: WARN from a factor of
    :data:`HOLDOUT_CITL_WARN`, FAIL from :data:`HOLDOUT_CITL_FAIL`, each only where the Jeffreys test
    rejects the mean prediction at 1 % (two-sided)."""
    p_value = float(record["p_value"])
    factor = math.inf if record["factor"] is None else float(record["factor"])
    if p_value != p_value or factor != factor:  # nothing to judge by: never a silent PASS
        return "WARN"
    if p_value >= 0.01:
        return "PASS"
    return _factor_status(factor)


def _factor_status(factor: float) -> str:
    """FAIL from a factor of :data:`HOLDOUT_CITL_FAIL`, WARN from :data:`HOLDOUT_CITL_WARN`, each
    *at* the factor as the docs say it (:func:`~finlite._util.reaches`): 300 defaults in 1,000 rows
    against a PD of 0.2 is a factor of 1.4999999999999998 in floating point, and read WARN."""
    return "FAIL" if reaches(factor, HOLDOUT_CITL_FAIL) else "WARN" if reaches(factor, HOLDOUT_CITL_WARN) else "PASS"


#: finlite's generic PD master scale: each grade's upper PD bound (the last is 1), from 5 basis
#: points to above 20 %. Not a regulator's and not any bank's: give the bank's own with
#: ``--grades`` (:func:`master_scale`).
DEFAULT_MASTER_SCALE: tuple[float, ...] = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 1.0)
#: A grade whose Jeffreys test finds its PD too low at this one-sided level is named, grade by
#: grade as the ECB's validation reporting tests at 5 %; the section's status and the warnings
#: read 1 % for the scale as a whole (Holm's correction over the grades: :func:`grade_summary`).
GRADE_TEST_LEVEL, GRADE_STATUS_LEVEL = 0.05, 0.01
#: The most grades a master scale may have (a bank's scale has 7 to 30).
MAX_GRADES = 100


def master_scale(bounds: Any, what: str = "--grades") -> tuple[float, ...]:
    """A PD master scale from its grades' upper bounds: a comma-separated text ("0.001,0.01,0.1")
    or a sequence of numbers, strictly increasing, each in (0, 1]; a last bound of 1 is added when
    absent, so every PD has a grade. ``what`` names where the bounds came from in the messages
    (a recorded report's options are no "--grades" the user gave).

    Raises:
        ConfigError: naming the bound that is not a number, not in (0, 1], or out of order.
    """
    items = bounds.split(",") if isinstance(bounds, str) else list(bounds) if isinstance(bounds, (list, tuple)) \
        else None
    if items is None:
        raise ConfigError(f"{what} is a list of upper PD bounds; got {type(bounds).__name__}.", param="grades")
    if not any(str(item).strip() for item in items):
        raise ConfigError(f"{what} is empty: give the upper PD bound of each grade, comma-separated "
                          "(0.001,0.01,0.1).", param="grades")
    if len(items) > MAX_GRADES:
        raise ConfigError(f"{what} gives {len(items):,} bounds; at most {MAX_GRADES} grades are tested.",
                          param="grades")
    out: list[float] = []
    for item in items:
        text = str(item).strip()
        try:
            value = float(text) if not isinstance(item, bool) else math.nan
        except ValueError:
            hint = f" (a percentage? write {text.rstrip('% ')} % as a fraction, e.g. 0.05 for 5 %)" \
                if text.endswith("%") else ""
            raise ConfigError(f"{what} takes the upper PD bound of each grade, comma-separated, as fractions "
                              f"(0.001,0.01,0.1 for 0.1 %, 1 %, 10 %); {text!r} is not a number{hint}.",
                              param="grades") from None
        if not (math.isfinite(value) and 0.0 < value <= 1.0):
            raise ConfigError(f"{what}: a grade's upper PD bound is a fraction in (0, 1]; got {text!r}"
                              + (" (a percentage? write 0.05 for 5 %)" if math.isfinite(value) and value > 1 else "")
                              + ".", param="grades")
        if out and value <= out[-1]:
            raise ConfigError(f"{what}: the upper bounds must rise grade by grade; {text!r} follows {out[-1]:g}.",
                              param="grades")
        out.append(value)
    if out[-1] < 1.0:
        out.append(1.0)
    return tuple(out)


def given_scale(bounds: Any) -> tuple[float, ...]:
    """``--grades`` as the options record it: :func:`master_scale` of the bounds, or ``()`` (finlite's
    generic scale) for the word "default", which clears a scale a rebuilt report recorded."""
    if isinstance(bounds, str) and bounds.strip().lower() == "default":
        return ()
    return master_scale(bounds)


def grade_backtest(y: Any, p: Any, scale: Sequence[float] = DEFAULT_MASTER_SCALE) -> list[dict[str, Any]]:
    """The PD back-test per rating grade: each row takes the grade of a master ``scale`` (upper
    bounds, :func:`master_scale`) its PD falls in (a PD on a bound is in the lower grade), and each
    grade holding rows gets its rows, defaults, mean PD and observed default rate, with the
    one-sided Jeffreys test of the mean PD (``p_value``: the posterior probability under the
    grade's mean PD, :func:`jeffreys_test`'s ``p_under``; small: the PD is too low, the risk
    underestimated) and ``p_over`` the other tail, for information, and ``power_2x``, the chance the
    test finds the PD too low were the true rate twice it (:func:`grade_power`). The test the
    ECB's instructions for IRB validation reporting apply per grade."""
    yv, pv = _probabilities(y, p, "PDs")
    bounds = np.asarray(master_scale(scale), dtype=np.float64)
    grade = np.searchsorted(bounds, pv, side="left")  # bounds[g - 1] < p <= bounds[g]
    rows = np.bincount(grade, minlength=bounds.size)
    defaults = np.bincount(grade, weights=yv, minlength=bounds.size)
    pd_sum = np.bincount(grade, weights=pv, minlength=bounds.size)
    out = []
    for g in np.flatnonzero(rows):
        n, d = int(rows[g]), round(float(defaults[g]))
        mean = float(pd_sum[g] / n)
        tails = jeffreys_test(d, n, mean)
        out.append({"grade": int(g) + 1, "pd_low": float(bounds[g - 1]) if g else 0.0, "pd_high": float(bounds[g]),
                    "rows": n, "defaults": d, "mean_pd": mean, "observed_rate": d / n,
                    # No default: never too low, so untested (the tables left it blank while the JSON
                    # gave the Jeffreys tail, 0.23 for 3 rows, which a small PD takes under 1 %: a
                    # validator's re-performance, 2026-12-07).
                    "p_value": tails["p_under"] if d else None, "p_over": tails["p_over"],
                    "upper_95": _jeffreys_upper(d, n), "defaults_flagged": flagged_defaults(n, mean),
                    "power_2x": grade_power(n, mean)})
    return out


def every_grade(grades: Sequence[Mapping[str, Any]], scale: Sequence[float]) -> list[Mapping[str, Any]]:
    """:func:`grade_backtest`'s grades with the grades of ``scale`` that hold no row put back in
    their place (rows and defaults 0, nothing tested), for the tables: a validator reads the
    whole master scale, an empty grade included, as the ECB's reporting lists it."""
    bounds = list(master_scale(scale))
    held = {int(g["grade"]): g for g in grades}
    return [held.get(k + 1) or {"grade": k + 1, "pd_low": bounds[k - 1] if k else 0.0, "pd_high": bounds[k], "rows": 0,
                                "defaults": 0} for k in range(len(bounds))]


def _jeffreys_upper(defaults: int, rows: int, confidence: float = 0.95) -> float:
    """The one-sided upper bound of a default rate at ``confidence``: the Jeffreys posterior's
    quantile, Beta(d + ½, n − d + ½) (a grade of no default still has a rate it cannot rule out,
    which a low-default validator reads: Pluto and Tasche's upper bound, with the Jeffreys prior)."""
    from scipy.stats import beta

    return float(beta.ppf(confidence, defaults + 0.5, rows - defaults + 0.5))


#: A grade whose test would find its PD too low less often than this, were the true default rate
#: twice its mean PD (:func:`grade_power`), holds too few obligors for its PD: a pass there is weak
#: evidence, and the report says so.
GRADE_LOW_POWER = 0.5


def flagged_defaults(rows: int, pd: float, level: float = GRADE_TEST_LEVEL) -> int | None:
    """The fewest defaults of ``rows`` obligors at mean PD ``pd`` that the one-sided Jeffreys test
    finds too many at ``level`` (:func:`grade_backtest`'s test and rule: at least one default, an
    observed rate above the PD); None where even ``rows`` defaults are not enough."""
    from scipy.special import betainc

    def under(d: int) -> float:  # the test's p: the posterior Beta(d + ½, n − d + ½) below pd
        return float(betainc(d + 0.5, rows - d + 0.5, pd))

    low = max(1, math.floor(rows * pd) + 1)  # the first count whose rate is above the PD
    if low > rows or not under(rows) < level:
        return None
    high = rows  # under() falls as d rises: the smallest d with under(d) < level, by bisection
    while low < high:
        mid = (low + high) // 2
        if under(mid) < level:
            high = mid
        else:
            low = mid + 1
    return low


def grade_power(rows: int, pd: float, level: float = GRADE_TEST_LEVEL) -> float | None:
    """The power of a grade's test (:func:`grade_backtest`, one-sided at ``level``, grade by grade,
    uncorrected) against a true default rate twice the grade's mean PD ``pd``: the binomial
    chance that ``rows`` obligors give at least :func:`flagged_defaults`; None from a PD of 50 %
    (no rate is twice it). A low-default grade (a few hundred obligors at 5 basis points) cannot
    show a PD half the truth, and its pass says little (a validator reads the grade's power beside
    its p-value: the EBA's and the ECB's low-default caveats). The status level (1 % with Holm's
    correction) has less power still; the binomial ignores default correlation, which lowers it
    further in a downturn year."""
    from scipy.stats import binom

    if 2 * pd >= 1:
        return None
    needed = flagged_defaults(rows, pd, level)
    if needed is None:
        return 0.0
    return float(binom.sf(needed - 1, rows, 2 * pd))


def _percent(level: float) -> str:
    """A test level as the report writes it: "5 %"."""
    return f"{level * 100:g} %"


def _underestimated(grades: Sequence[Mapping[str, Any]], level: float, *, holm: bool = False) -> list[int]:
    """The grades whose PD the Jeffreys test finds too low at ``level`` (one-sided), among those
    whose observed rate is above their mean PD: the Jeffreys prior's half a default puts a
    grade of one obligor and no default at p 0.03 against a PD of 0.05 % (a grade with no
    default cannot have a PD too low). With ``holm``, at ``level`` for the scale as a whole:
    Holm's step-down (:func:`_holm`) over the grades holding a default, the
    only ones that can be too low (over every grade, one obligor of no default added to a book
    hid a grade too low at p 0.0013: a review, 2026-12-07). Ten grades at 1 % each warned on one
    calibrated book in eleven; Holm's, about one in seventy (Jeffreys' p is approximate)."""
    tested = [g for g in grades if g["defaults"]]  # the others have no p_value: never too low
    if not tested:
        return []
    p = np.array([g["p_value"] for g in tested], dtype=np.float64)
    rejected = _holm(p, level) if holm else p < level
    return [int(g["grade"]) for g, r in zip(tested, rejected, strict=True) if r and g["observed_rate"] > g["mean_pd"]]


def _holm(p: np.ndarray, level: float) -> np.ndarray:
    """Holm's step-down at ``level``: the k-th smallest p-value (from 0) rejected while every one
    up to it is at most level / (m − k). As statsmodels' ``multipletests(method="holm")`` decides
    (the tests check it against it), without its ``gc.collect()`` on every call (0.05-0.25 s)."""
    order = np.argsort(p, kind="stable")
    passed = p[order] <= level / (len(p) - np.arange(len(p)))
    upto = int(np.argmin(passed)) if not passed.all() else len(p)
    rejected = np.zeros(len(p), dtype=bool)
    rejected[order[:upto]] = True
    return rejected


def _inversions(grades: Sequence[Mapping[str, Any]], level: float) -> list[list[int]]:
    """Pairs of successive grades (holding rows) whose observed default rate falls as the grade
    rises beyond noise (Fisher's exact test, one-sided, at ``level``, which takes a grade of no
    default too): every fall was named, and on calibrated books four in ten had one (a review,
    2026-12-07)."""
    from scipy.stats import fisher_exact

    out = []
    for a, b in itertools.pairwise(grades):
        if b["observed_rate"] < a["observed_rate"]:
            table = [[a["defaults"], a["rows"] - a["defaults"]], [b["defaults"], b["rows"] - b["defaults"]]]
            if float(fisher_exact(table, alternative="greater")[1]) < level:
                out.append([int(a["grade"]), int(b["grade"])])
    return out


def grade_summary(y: Any, p: Any, scale: Sequence[float] = DEFAULT_MASTER_SCALE) -> dict[str, Any]:
    """One model's PD back-test per grade (:func:`grade_backtest`) with what a validator reads
    off it: ``underestimated`` (the grades whose PD is too low at :data:`GRADE_TEST_LEVEL`,
    one-sided, grade by grade as the ECB's reporting tests them), ``underestimated_status_level``
    (at :data:`GRADE_STATUS_LEVEL` for the scale as a whole: Holm's correction over the grades
    holding a default, what the report's status and the warnings read) and ``inversions``
    (successive grades whose observed rate falls as the grade rises, beyond noise at
    :data:`GRADE_TEST_LEVEL`: the grades do not rank the risk there) and ``low_power`` (the grades
    whose test would find a PD of half the true default rate less often than
    :data:`GRADE_LOW_POWER`, and did not find theirs too low: too few obligors for their PD, a
    pass there is weak evidence)."""
    grades = grade_backtest(y, p, scale)
    return {"grades": grades, "underestimated": _underestimated(grades, GRADE_TEST_LEVEL),
            "underestimated_status_level": _underestimated(grades, GRADE_STATUS_LEVEL, holm=True),
            "inversions": _inversions(grades, GRADE_TEST_LEVEL),
            "low_power": _low_power(grades),
            # How the rows crowd into few grades (1/grades: even; 1: one grade), as the ECB's reporting asks.
            "concentration_hhi": float(sum((g["rows"] / total) ** 2 for g in grades)) if (
                total := sum(g["rows"] for g in grades)) else None}


def _low_power(grades: Sequence[Mapping[str, Any]]) -> list[int]:
    """The grades whose test could hardly find a PD half the truth (``power_2x`` under
    :data:`GRADE_LOW_POWER`) and did not find it too low: a pass there is weak evidence (a grade
    the test rejects needs no such word: a review, 2026-12-07)."""
    rejected = set(_underestimated(grades, GRADE_TEST_LEVEL))
    return [int(g["grade"]) for g in grades if g["power_2x"] is not None and g["power_2x"] < GRADE_LOW_POWER
            and int(g["grade"]) not in rejected]


def grade_record(y: Any, p: Any, scale: Sequence[float] | None) -> dict[str, Any]:
    """``pd_grades`` as the report and ``evaluate`` record one model's: the scale (``scale``
    given, or finlite's generic one for None), where it came from, and :func:`grade_summary`."""
    used = tuple(scale) if scale else DEFAULT_MASTER_SCALE
    return {"scale": list(used), "scale_source": "given" if scale else "default", **grade_summary(y, p, used)}


#: The most periods a back-test over periods takes (monthly over 30 years is 360).
MAX_PERIODS = 400
#: The fewest periods the long-run test across periods reads (a t-test on two differences has one
#: degree of freedom and no power worth reporting); below it the pooled rows decide.
MIN_LONG_RUN_PERIODS = 3
#: Each period's mean PD is tested at this one-sided level (the ECB's per-grade level); the count of
#: periods it rejects is read against the count chance alone gives at this level.
PERIOD_TEST_LEVEL = 0.05
#: A period of fewer rows than this, or than this share of the median period's, is thin: shown,
#: but left out of the long-run test, where each period weighs the same (three rows of a stray
#: year turned a FAIL at p 1e-5 into a PASS: a review, 2026-12-07).
THIN_PERIOD_ROWS, THIN_PERIOD_SHARE = 30, 0.1


def _too_low_status(p_under: float | None, observed: float, predicted: float) -> str:
    """PASS, WARN or FAIL for PDs too low: as :func:`calibration_status` reads a hold-out (WARN
    from a factor of :data:`HOLDOUT_CITL_WARN`, FAIL from :data:`HOLDOUT_CITL_FAIL`, each only
    where the test rejects at 1 %), one-sided: PDs above the rates are conservative, not failed."""
    if p_under is None or p_under >= 0.01 or observed <= predicted:
        return "PASS"
    factor = math.inf if predicted <= 0 else observed / predicted
    return _factor_status(factor)


def period_backtest(y: Any, p: Any, periods: Any, labels: Sequence[Any],
                    scale: Sequence[float] | None = None, central_tendency: float | None = None) -> dict[str, Any]:
    """The PD back-test period by period and over the periods together: what a validator reads
    when a model has been in use for several years, where one period's test says little.

    ``periods`` holds each row's period as an index into ``labels`` (the periods in order; the
    tests do not depend on it). Each period gets its rows, defaults, observed default rate and
    mean PD, the one-sided Jeffreys test of the mean PD (:func:`jeffreys_test`; ``p_under``
    small: the PD too low; ``too_low`` where it rejects at :data:`PERIOD_TEST_LEVEL`), the grades
    of the master ``scale`` whose PD is too low there for the scale as a whole
    (``grades_underestimated``: Holm's correction at :data:`GRADE_STATUS_LEVEL`, as the grade
    warning reads; :func:`grade_summary`), and ``thin`` where it holds fewer rows than
    :data:`THIN_PERIOD_ROWS` or :data:`THIN_PERIOD_SHARE` of the median period's.

    Over the periods:

    - ``long_run``: the long-run average default rate, the plain mean of the periods' default
      rates (as the EBA's guidelines on PD estimation, section 5.3.5, average yearly rates),
      beside the mean of the periods' mean PDs, and the one-sided t-test across periods of the
      periods' differences (default rate minus mean PD; small p: the PDs too low on average),
      over the periods that are not thin. It reads the spread of the periods' rates, which holds
      the economy's swings as well as sampling noise: defaults that come together in bad years
      make any test of pooled rows, which takes them as independent, find too much. Periods
      must not overlap (monthly cohorts followed for twelve months share their defaults' years).
      None below :data:`MIN_LONG_RUN_PERIODS` such periods.
    - ``rejections``: the periods whose mean PD is too low at :data:`PERIOD_TEST_LEVEL`, and the
      binomial chance of at least that many were every period's PD right (periods taken as
      independent), for information.
    - ``pooled``: every row taken together (the Jeffreys test of the pooled mean PD; independent
      defaults assumed).
    - ``status``: from the long-run test (``status_from`` "long_run") as a hold-out's mean PD is
      judged, one-sided (:func:`_too_low_status`: FAIL where it rejects at 1 % and the long-run
      rate is 1.5 times the mean PD or more, WARN from 1.25 times); with fewer periods (or no
      spread to test against), the same from the pooled test (``status_from`` "pooled"). The
      count of rejected periods does not set it: a through-the-cycle PD, right on average, is
      rejected in every bad year by design. PDs too high (conservative) are shown (``p_over``),
      not failed. With a ``central_tendency`` (the PDs were calibrated to a long-run rate) the
      pooled rows of one or two periods WARN at most (``capped``): a period's rate may sit off
      the long-run rate by design, and no long run is measured.
    """
    from scipy.stats import binomtest, ttest_1samp

    yv, pv = _probabilities(y, p, "PDs")
    index = np.asarray(periods)
    if index.shape != yv.shape or not np.issubdtype(index.dtype, np.integer):
        raise ValueError("periods holds one integer period index per row")
    if not 0 < len(labels) <= MAX_PERIODS or (index.size and not 0 <= int(index.min()) <= int(index.max())
                                               < len(labels)):
        raise ValueError(f"labels names 1 to {MAX_PERIODS} periods, and every row's index is one of them")
    used = tuple(scale) if scale else DEFAULT_MASTER_SCALE
    counts = np.bincount(index, minlength=len(labels)) if index.size else np.zeros(len(labels), dtype=np.int64)
    floor = max(THIN_PERIOD_ROWS, THIN_PERIOD_SHARE * float(np.median(counts[counts > 0]))) if counts.any() else 0.0
    rows = []
    for k, label in enumerate(labels):
        mine = index == k
        n = int(counts[k])
        if not n:
            continue
        d, mean = round(float(yv[mine].sum())), float(pv[mine].mean(dtype=np.float64))
        tails = jeffreys_test(d, n, mean)
        rows.append({"period": label, "rows": n, "defaults": d, "observed_rate": d / n, "mean_pd": mean,
                     "p_under": tails["p_under"], "p_over": tails["p_over"],
                     "too_low": bool(tails["p_under"] < PERIOD_TEST_LEVEL and d / n > mean),
                     "grades_underestimated": grade_summary(yv[mine], pv[mine], used)["underestimated_status_level"],
                     "thin": n < floor})
    tested = [r for r in rows if not r["thin"]]
    # Counted over the periods the long run reads: a thin period is a stray, not a year of the book.
    m = len(tested)
    rejected = [r["period"] for r in tested if r["too_low"]]
    chance = float(binomtest(len(rejected), m, PERIOD_TEST_LEVEL, alternative="greater").pvalue) if m else 1.0
    rates = np.array([r["observed_rate"] for r in tested], dtype=np.float64)
    means = np.array([r["mean_pd"] for r in tested], dtype=np.float64)
    long_run: dict[str, Any] = {"periods": len(tested), "thin_left_out": [r["period"] for r in rows if r["thin"]],
                                "default_rate": float(rates.mean()) if tested else None,
                                "mean_pd": float(means.mean()) if tested else None,
                                "difference": float((rates - means).mean()) if tested else None, "t": None,
                                "p_under": None, "p_over": None,
                                "test": "t-test across periods, one-sided (default rate above PD)"}
    if len(tested) >= MIN_LONG_RUN_PERIODS:
        gap = rates - means
        if float(np.ptp(gap)) == 0.0:  # every period off by the same: no spread to test against
            long_run["note"] = "every period's default rate differs from its mean PD by the same amount: no spread"
        else:
            test = ttest_1samp(gap, 0.0, alternative="greater")
            long_run.update({"t": float(test.statistic), "p_under": float(test.pvalue),
                             "p_over": 1.0 - float(test.pvalue)})
    total, defaults = len(yv), round(float(yv.sum()))
    pooled = calibration_in_the_large(defaults, total, float(pv.mean(dtype=np.float64)))
    if long_run["p_under"] is not None:
        status, source = _too_low_status(long_run["p_under"], long_run["default_rate"], long_run["mean_pd"]), \
            "long_run"
    else:
        status, source = _too_low_status(pooled["p_under"], pooled["observed_rate"], pooled["mean_predicted"]), \
            "pooled"
    capped = source == "pooled" and central_tendency is not None and status == "FAIL"
    if capped:
        status = "WARN"
    return {"periods": rows, "long_run": long_run,
            "rejections": {"level": PERIOD_TEST_LEVEL, "periods": rejected, "count": len(rejected), "of": m,
                           "p_value": chance},
            "pooled": {"rows": total, "defaults": defaults, "observed_rate": pooled["observed_rate"],
                       "mean_pd": pooled["mean_predicted"], "p_under": pooled["p_under"], "p_over": pooled["p_over"]},
            "status": status, "status_from": source, **({"capped": "central_tendency"} if capped else {})}


def _period_rule(inp: TabularInputs, periods: Mapping[str, Any], y: np.ndarray, s: np.ndarray,
                 t: np.ndarray) -> tuple[str, str, Table, dict[str, Any]]:
    """The calibration section's back-test over a hold-out's periods (``report --holdout
    --period-column``): :func:`period_backtest` of each model, on the master scale the grades are
    judged on (``periods``: :attr:`TabularInputs.periods`); the status is the student's (the deployed
    model's PDs), the table its periods."""
    column, freq, codes, names = (periods[k] for k in ("column", "freq", "codes", "names"))
    scale = tuple(inp.grades) or None
    record = {m: period_backtest(y, p, codes, names, scale, inp.central_tendency)
              for m, p in (("teacher", t), ("student", s))}
    mine, run = record["student"], record["student"]["long_run"]
    if mine["status_from"] == "long_run":
        how = (f"the long-run default rate (the mean of {run['periods']} periods' rates) {_fmt(run['default_rate'])} "
               f"against the student's mean PD {_fmt(run['mean_pd'])}, t-test across the periods p "
               f"{run['p_under']:.2g} (one-sided)")
    else:
        pooled = mine["pooled"]
        how = (f"fewer than {MIN_LONG_RUN_PERIODS} periods of enough rows, so the pooled rows: default rate "
               f"{_fmt(pooled['observed_rate'])} against the student's mean PD {_fmt(pooled['mean_pd'])}, Jeffreys "
               f"test p {pooled['p_under']:.2g} (one-sided)"
               + (f"; WARN at most, as the PDs were calibrated to a long-run rate ({_fmt(inp.central_tendency)}) "
                  "that one or two periods' rates may sit off by design" if mine.get("capped") else ""))
    rejected = mine["rejections"]
    said = (f" Back-tested over the {len(mine['periods'])} periods of {column!r}"
            + (f" (by {freq})" if freq else "") + f": {how}: {mine['status']}"
            + ((" (the PDs too low over the periods: recalibrate them to the long-run rate)."
                if mine["status_from"] == "long_run" else
                " (back-test over three periods or more before recalibrating)." if mine.get("capped") else
                " (the PDs too low: recalibrate them).")
               if mine["status"] != "PASS" else ".")
            + f" {rejected['count']} of {rejected['of']} periods find the student's mean PD too low at "
            f"{_percent(PERIOD_TEST_LEVEL)} (binomial p {rejected['p_value']:.2g}; a through-the-cycle PD is "
            "rejected in its bad years by design, so the count does not set the status)"
            + (f"; thin periods left out of the long run: {', '.join(map(str, run['thin_left_out']))}"
               if run["thin_left_out"] else "") + ".")
    overlap, untimely = overlap_note(column, freq, names), None if freq else time_note(column, names)
    for note in (overlap, untimely):  # said, not judged: the data cannot tell a twelve-month flag, or a time
        if note:
            said += f" Note: {note}"
    # The period as text: a year is no count to write "2,019" (the table's numbers take separators).
    rows = [[str(r["period"]), r["rows"], r["defaults"], r["observed_rate"], r["mean_pd"], t_row["mean_pd"], r["p_under"],
             r["too_low"], ", ".join(map(str, r["grades_underestimated"])), r["thin"]]
            for r, t_row in zip(mine["periods"], record["teacher"]["periods"], strict=True)]
    table = Table("pd_by_period", f"PD back-test per period of {column!r}" + (f" (by {freq})" if freq else "")
                  + ": each period's default rate against the student's and the teacher's mean PD, the Jeffreys "
                  "test of the student's (one-sided; p_under small: the PD too low), the student's grades too low "
                  f"there at {_percent(GRADE_STATUS_LEVEL)} (Holm), and thin periods (left out of the long run)",
                  ["period", "rows", "defaults", "observed_rate", "student_mean_pd", "teacher_mean_pd", "p_under",
                   "too_low", "grades_too_low", "thin"], rows)
    return mine["status"], said, table, {"column": column, "freq": freq, **record,
                                         **({"overlap_note": overlap} if overlap else {}),
                                         **({"time_note": untimely} if untimely else {})}


def _grade_rule(inp: TabularInputs, y: np.ndarray, s: np.ndarray, t: np.ndarray) -> tuple[
        str, str, list[Table], dict[str, Any]]:
    """The calibration section's per-grade PD back-test of a credit model (a low-default
    modeller's walk-through, 2026-12-07: calibration read equal-count score bands only, where a
    validator tests each grade of the master scale). WARN when a student grade's PD is too low
    at :data:`GRADE_STATUS_LEVEL` for the scale as a whole (Jeffreys, one-sided, Holm's
    correction) where the teacher's same grade's is not; on a hold-out, any such student grade."""
    given = tuple(inp.grades) or None
    summary = {m: grade_record(y, p, given) for m, p in (("teacher", t), ("student", s))}
    scale = summary["student"]["scale"]
    res = {m: summary[m]["grades"] for m in summary}
    low = {m: summary[m]["underestimated_status_level"] for m in summary}
    named = {m: summary[m]["underestimated"] for m in summary}
    held_out = bool(inp.validated)
    flagged = low["student"] if held_out else [g for g in low["student"] if g not in low["teacher"]]
    # PDs calibrated to a long-run rate sit off the test split's rates in every grade by design.
    by_design = inp.central_tendency if not held_out else None
    if by_design is not None:
        flagged = []
    inversions = {m: summary[m]["inversions"] for m in summary}
    cols = ["grade", "pd_low", "pd_high", "rows", "defaults", "mean_pd", "observed_rate", "upper_95", "p_value",
            "p_over", "defaults_flagged", "power_2x"]
    which = "the bank's scale (--grades)" if given else "finlite's generic scale; give the bank's with --grades"
    tables = [Table(f"pd_grades_{m}", f"PD back-test per grade of the master scale, {m}: {which}; Jeffreys test, "
                    "one-sided, grade by grade (upper_95: the default rate's one-sided 95 % Jeffreys upper bound; "
                    "p_value small: the grade's mean PD is below its observed default "
                    "rate; a grade with no default is never too low, its p_value blank; defaults_flagged: the fewest defaults the "
                    "test at 5 % would find too many; power_2x: the chance it finds the PD too low were the true "
                    "rate twice it, blank from a PD of 50 %)",
                    cols, [[None if c == "p_value" and not g["defaults"] else g.get(c) for c in cols]
                           for g in every_grade(res[m], scale)])
              for m in ("teacher", "student")]
    said = (f" Per grade of the master scale ({len(scale)} grades of {which}): the Jeffreys test, grade by grade, "
            f"finds the PD too low at {_percent(GRADE_TEST_LEVEL)} (one-sided, uncorrected: some such grades are "
            f"chance) in {len(named['student'])} student grade(s)"
            + (f" ({', '.join(map(str, named['student']))})" if named["student"] else "")
            + f" and {len(named['teacher'])} teacher grade(s)"
            + (f" ({', '.join(map(str, named['teacher']))})" if named["teacher"] else "") + ".")
    if held_out and low["teacher"]:
        # The incumbent's finding on the same hold-out, which a champion-against-challenger reader
        # needs beside the student's (it was named at 5 % only: a validator's walk-through, 2026-12-07).
        said += (f" The teacher's PD is too low at {_percent(GRADE_STATUS_LEVEL)} for the scale as a whole (Holm's "
                 f"correction over the grades holding a default) in grade(s) {', '.join(map(str, low['teacher']))}.")
    if flagged:
        said += (f" The student's PD is too low at {_percent(GRADE_STATUS_LEVEL)} for the scale as a whole (Holm's "
                 f"correction over the grades holding a default) in grade(s) {', '.join(map(str, flagged))}"
                 + ("" if held_out else ", where the teacher's is not")
                 + ": the applicants rated there default more often than their PD says; recalibrate before using "
                 "those PDs.")
    if by_design is not None:
        said += (f" The PDs were calibrated to a central tendency of {_fmt(by_design)}, not to this split's rate: a "
                 "grade read too low or too high here is their level, by design, not a finding; back-test the grades "
                 "against later periods.")
    thin = summary["student"]["low_power"]
    if thin:
        said += (f" In grade(s) {', '.join(map(str, thin))} (student) the test at {_percent(GRADE_TEST_LEVEL)} "
                 f"would find a PD of half the true default rate less than {GRADE_LOW_POWER:.0%} of the time "
                 "(power_2x; the 1 % status level, less often still): too few obligors for their PD, so a pass "
                 "there is weak evidence; read them pooled with a neighbouring grade or over several periods.")
    if inversions["student"]:
        said += (" Observed default rates fall beyond noise (Fisher's exact test, one-sided, "
                 f"{_percent(GRADE_TEST_LEVEL)}) from grade to grade at "
                 + ", ".join(f"{a}→{b}" for a, b in inversions["student"][:5])
                 + " (student): the grades do not rank the risk there.")
    record = {"scale": scale, "scale_source": summary["student"]["scale_source"],
              **{m: {k: v for k, v in summary[m].items() if k not in ("scale", "scale_source")} for m in summary},
              "flagged": flagged, "test_level": GRADE_TEST_LEVEL, "status_level": GRADE_STATUS_LEVEL,
              **({"central_tendency": by_design} if by_design is not None else {})}
    return ("WARN" if flagged else "PASS"), said, tables, record


def _absolute_calibration(inp: TabularInputs, y: np.ndarray, s: np.ndarray, t: np.ndarray) -> tuple[
        str | None, str, Table | None, dict[str, Any]]:
    """Each model's mean prediction against the observed rate (a status from the student's), with
    the Jeffreys test: a model whose predictions both miss by a factor of 2.75 passed, as only the
    student's against the teacher's was judged (a monitoring walk-through, 2026-12-06). On a
    hold-out WARN or FAIL (:func:`calibration_status`); on the test split at most WARN, since the
    teacher it replaces is judged by the same rows: a low-default portfolio's student predicting
    4.4 times its 1.4 % default rate (Jeffreys p 0.005) was PASS, and its card silent (a
    walk-through, 2026-12-07)."""
    n, d = int(y.size), int(y.sum())
    if not 0 < d < n:  # a hold-out holds both classes; nothing to judge otherwise
        return None, "", None, {}
    rate = d / n
    record = {m: calibration_in_the_large(d, n, float(np.mean(p, dtype=np.float64)))
              for m, p in (("teacher", t), ("student", s))}
    rows = [[m, n, d, rate, r["mean_predicted"], r["factor"], r["p_under"], r["p_over"], r["p_value"]]
            for m, r in record.items()]
    mine = record["student"]
    status = calibration_status(mine)
    held_out = bool(inp.validated)
    central = inp.central_tendency
    if central is not None and not held_out:
        # The teacher's PDs were calibrated to a long-run rate: on the test split their level is
        # that rate's by design, not a finding (the student-against-teacher rules judge the student).
        said = (f" The teacher's PDs were calibrated to a central tendency of {_fmt(central)} (train "
                f"--central-tendency), not to this split's {inp.positive} rate of {_fmt(rate)}: the student's mean "
                f"prediction of {_fmt(mine['mean_predicted'])} (the teacher's "
                f"{_fmt(record['teacher']['mean_predicted'])}) differs from it by design, so it is shown, not judged "
                "here; back-test the PDs against each later period's defaults (report --holdout, evaluate).")
        table = _citl_table(rows, held_out)
        return "PASS", said, table, {**record, "central_tendency": central}
    capped = not held_out and status == "FAIL"
    # A credit model's PDs above the defaults are conservative, as a PD back-test reads them (the
    # ECB's Jeffreys test is one-sided, as the grades' are): WARN, as a hold-out of no default
    # was, where one of a single default FAILed (a validator's walk-through, 2026-12-07).
    conservative = held_out and status == "FAIL" and inp.domain == "credit" and mine["mean_predicted"] > rate
    if capped or conservative:
        status = "WARN"
    way = "underestimate" if mine["mean_predicted"] < rate else "overestimate"
    said = (f" On these rows the student's mean prediction is {_fmt(mine['mean_predicted'])} against an observed "
            f"{inp.positive} rate of {_fmt(rate)} (off by a factor of {_fmt(mine['factor'])}; Jeffreys test p "
            f"{_fmt(mine['p_value'])}, two-sided)")
    said += ((f": its predictions {way} the rate markedly, so every PD it gives is off; recalibrate it before "
              "relying on them." if status == "FAIL" else
              ": its PDs overestimate the rate markedly: conservative, as a PD back-test reads it (one-sided), so "
              "WARN, not FAIL; the capital and provisions they drive are overstated: review the calibration."
              if conservative else
              f": its predictions {way} the rate beyond sampling noise; watch it.") if status != "PASS" else ".")
    if not held_out and status != "PASS":
        said += (f" (The teacher's is {_fmt(record['teacher']['mean_predicted'])}, off by a factor of "
                 f"{_fmt(record['teacher']['factor'])}"
                 + (": WARN, not FAIL, on the test split, which judges the student against the model it replaces.)"
                    if capped else ".)"))
    if central is not None:  # a hold-out: judged against its own rate, as every later period is
        said += (f" (The teacher's PDs were calibrated to a central tendency of {_fmt(central)}: one period's rate "
                 "may sit off a long-run rate; read this beside the periods before it.)")
    return status, said, _citl_table(rows, held_out), ({**record, "conservative": True} if conservative else record)


def _citl_table(rows: list[list[Any]], held_out: bool) -> Table:
    """The calibration-in-the-large table of :func:`_absolute_calibration`."""
    return Table("calibration_in_the_large", "Mean prediction against the observed rate on the "
                 f"{'hold-out' if held_out else 'test split'}, each model's own, with the Jeffreys test (posterior "
                 "Beta(d + ½, n − d + ½) of the rate; p_under small: the observed rate is above the prediction)",
                 ["model", "rows", "positives", "observed_rate", "mean_predicted", "factor", "p_under", "p_over",
                  "p_value"], rows)


def build_calibration(inp: TabularInputs, bins: int = 10) -> Section:
    """The ``calibration`` section: Brier score, expected calibration error and the reliability
    table (observed vs predicted positive rate per equal-count score band, with a binomial test)
    of teacher and student.

    ECE gaps are read relative to the rarer class's rate ``prev`` = min(π, 1 − π) (π the observed
    positive rate). FAIL when student ECE − teacher ECE > CAL_REL_FAIL · prev and student ECE >
    CAL_RATIO_FAIL · teacher ECE, or the student's calibration in the large (mean predicted /
    observed rate r, off by the factor max(r, 1/r)) is off by more than CITL_FAIL times the
    teacher's factor; WARN at
    CAL_REL_WARN, CAL_RATIO_WARN and CITL_WARN, or when a student band fails the binomial test at
    p < 0.01 while no teacher band does; below :data:`RARE_RATE` positives, also a band of the top
    tenth of the scores (:func:`tail_reliability`), where the alerts are.
    """
    _require_task(inp, "binary", "calibration")
    y, t, s = _binary_arrays(inp)
    res: dict[str, dict[str, Any]] = {}
    for m, p in (("teacher", t), ("student", s)):
        rt = reliability_table(y, p, bins)
        res[m] = {"brier": _m.brier(y, p), "ece": expected_calibration_error(y, p, bins), "bands": rt,
                  "bands_failing": int(sum(r["p_value"] < 0.01 for r in rt)),
                  "hosmer_lemeshow": hosmer_lemeshow(y, p, bins)}
    gap = res["student"]["ece"] - res["teacher"]["ece"]
    new_fail = res["student"]["bands_failing"] > 0 and res["teacher"]["bands_failing"] == 0
    rate = float(y.mean())
    rare = 0 < rate < RARE_RATE
    if rare:
        # Where the alerts are: the top tenth of each model's scores, banded finer. A student tail
        # band failing where no teacher's does is a WARN, as for the equal-count bands: at fraud
        # prevalence those put nearly every positive in one band (a fraud engineer's walk-through).
        for m, p in (("teacher", t), ("student", s)):
            res[m]["tail_bands"] = tail_reliability(y, p)
            res[m]["tail_bands_failing"] = int(sum(r["p_value"] < 0.01 for r in res[m]["tail_bands"]))
    new_tail_fail = rare and res["student"]["tail_bands_failing"] > 0 and res["teacher"]["tail_bands_failing"] == 0
    prev = min(rate, 1.0 - rate)  # > 0: _binary_arrays' callers hold both classes or ECE is moot
    rel_gap = gap / prev if prev > 0 else 0.0
    t_ece, s_ece = res["teacher"]["ece"], res["student"]["ece"]
    for m, p in (("teacher", t), ("student", s)):
        res[m]["calibration_in_the_large"] = float(p.mean()) / rate if rate > 0 else None
    # How many times further from 1 (either way) the student's mean prediction is than the teacher's.
    citl_t, citl_s = res["teacher"]["calibration_in_the_large"], res["student"]["calibration_in_the_large"]
    citl_excess = (math.exp(abs(math.log(citl_s)) - abs(math.log(citl_t)))
                   if citl_t is not None and citl_s is not None and citl_t > 0 and citl_s > 0 else None)
    # The student's mean predicted rate against the teacher's, either way: a teacher at half the
    # observed rate and a student at twice it are equally far from the truth (the factor above is
    # 1), yet the student's PDs are four times those of the model it replaces, and provisions and
    # prices move with them (a validator's review, 2026-12-04).
    t_mean, s_mean = float(t.mean()), float(s.mean())
    # One model predicting 0 throughout is infinitely far from the other; both: nothing to compare.
    shift = (math.exp(abs(math.log(s_mean / t_mean))) if t_mean > 0 and s_mean > 0
             else math.inf if t_mean > 0 or s_mean > 0 else None)
    # ECE over ten bands of a test split with a handful of one class is noise: 3 defaults against a
    # constant teacher's one band FAILed a student (a low-default walk-through, 2026-12-07). Below
    # THIN_CLASS_ROWS of a class its rule warns at most.
    fewest = int(min(y.sum(), y.size - y.sum()))
    ece_fail = rel_gap > CAL_REL_FAIL and s_ece > CAL_RATIO_FAIL * t_ece and fewest >= THIN_CLASS_ROWS
    if ece_fail or (citl_excess or 0.0) > CITL_FAIL or (shift or 0.0) > CITL_FAIL:
        status = "FAIL"
    elif ((rel_gap > CAL_REL_WARN and s_ece > CAL_RATIO_WARN * t_ece) or (citl_excess or 0.0) > CITL_WARN
          or (shift or 0.0) > CITL_WARN or new_fail or new_tail_fail):
        status = "WARN"
    else:
        status = "PASS"
    cols = ["band", "count", "min_score", "max_score", "mean_predicted", "observed_rate", "positives", "p_value"]
    tables = [Table(f"reliability_{m}", f"Observed vs predicted {inp.positive} rate per score band, {m} "
                    "(two-sided exact binomial test)", cols, [[r[c] for c in cols] for r in res[m]["bands"]])
              for m in ("teacher", "student")]
    rare_notes = []
    if rare:
        for m in ("teacher", "student"):
            tables.append(Table(f"reliability_tail_{m}", f"Observed vs predicted {inp.positive} rate in the top "
                                f"tenth of the {m}'s scores, by score quantile (two-sided exact binomial test)",
                                cols, [[r[c] for c in cols] for r in res[m]["tail_bands"]]))
        rare_notes.append(f"The positive class is rare ({_fmt(rate)} of the rows): the equal-count bands put nearly all "
                          "of its rows in the top band, whose scores span most of the range, so the top tenth of each "
                          "model's scores is also banded at its 90th, 95th, 99th, 99.5th and 99.9th percentiles "
                          "(a student band failing the binomial test at p < 0.01 where no teacher band does is WARN, "
                          "as for the equal-count bands).")
    plots = [Plot("reliability", "Reliability", "mean predicted rate", "observed rate",
                  [Series(m, [r["mean_predicted"] for r in res[m]["bands"]],
                          [r["observed_rate"] for r in res[m]["bands"]], style="line")
                   for m in ("teacher", "student")], reference="diagonal")]
    summary = (f"ECE student {_fmt(res['student']['ece'])} vs teacher {_fmt(res['teacher']['ece'])}; Brier "
               f"student {_fmt(res['student']['brier'])} vs teacher {_fmt(res['teacher']['brier'])}; "
               f"{res['student']['bands_failing']} student band(s) and {res['teacher']['bands_failing']} "
               "teacher band(s) fail the binomial test at p < 0.01. Mean prediction as a multiple of the observed "
               f"rate (1 = calibrated in the large): student {_times(citl_s)}, teacher {_times(citl_t)}; student / "
               "teacher mean prediction "
               f"{_fmt(s_mean / t_mean if t_mean > 0 else None)}. Hosmer–Lemeshow p: student "
               f"{_fmt(res['student']['hosmer_lemeshow']['p_value'])}, teacher "
               f"{_fmt(res['teacher']['hosmer_lemeshow']['p_value'])}"
               + _simulated_note({m: res[m]["hosmer_lemeshow"] for m in ("teacher", "student")}))
    if rare:
        summary += (f" In the top tenth of the scores (the positive class is rare): {res['student']['tail_bands_failing']} "
                    f"student band(s) and {res['teacher']['tail_bands_failing']} teacher band(s) fail the binomial "
                    "test at p < 0.01.")
    own, own_said, own_table, own_record = _absolute_calibration(inp, y, s, t)
    by_period: dict[str, Any] | None = None
    period_status = period_said = ""
    period_table: Table | None = None
    if inp.domain == "credit" and inp.validated and inp.periods is not None:
        period_status, period_said, period_table, by_period = _period_rule(inp, inp.periods, y, s, t)
    # With periods given, their back-test judges the level: over three periods or more the long run
    # (the pooled rows' test takes correlated defaults as independent: one bad year of five FAILed a
    # book whose long run passed, a validator's walk-through, 2026-12-07), below it the same pooled
    # rows one-sided, at most WARN for PDs calibrated to a long-run rate. This test is shown.
    over_periods = by_period is not None
    if own is not None:
        if over_periods:
            own_said += (f" (This pooled test, {own}, is shown: the back-test over the periods below judges the "
                         "level.)") if own != "PASS" else ""
        else:
            status = worst([status, own])
        summary += own_said
        if own_table is not None:
            tables.append(own_table)
    graded: dict[str, Any] | None = None
    if inp.domain == "credit":  # a PD per rating grade: a credit model's, not a fraud alert's
        grade_status, grade_said, grade_tables, graded = _grade_rule(inp, y, s, t)
        status = worst([status, grade_status])
        summary += grade_said
        tables.extend(grade_tables)
    if by_period is not None and period_table is not None:
        status = worst([status, period_status])
        summary += period_said
        tables.append(period_table)
    return Section(
        id="calibration", title="Calibration", status=status,  # type: ignore[arg-type]
        threshold=(f"With prev = the rarer class's rate ({_fmt(prev)}): FAIL when student ECE − teacher ECE > "
                   f"{CAL_REL_FAIL} × prev and student ECE > {CAL_RATIO_FAIL:g} × teacher ECE, or the "
                   "calibration-in-the-large factor exceeds "
                   f"{CITL_FAIL:g} (each model's mean predicted / observed rate r is off by the factor max(r, 1/r); "
                   "the rule's factor is the student's over the teacher's, so a student at 1.2 beside a teacher "
                   f"at 1.0 has 1.2), or the student's mean prediction is more than {CITL_FAIL:g} times the "
                   f"teacher's, or less than 1/{CITL_FAIL:g} of it; WARN at {CAL_REL_WARN} × prev and "
                   f"{CAL_RATIO_WARN:g} × teacher ECE (the ECE rule WARN at most below {THIN_CLASS_ROWS} test rows "
                   f"of a class), at factors above {CITL_WARN:g}, or when a student band has "
                   f"binomial p < 0.01 while no teacher band does (below a {RARE_RATE:.0%} positive rate, also a band "
                   f"of the top tenth of the scores). "
                   + (f"Also the student's own mean prediction against the observed rate: WARN when they differ "
                      f"by a factor of {HOLDOUT_CITL_WARN:g} or more, "
                      + (f"FAIL by {HOLDOUT_CITL_FAIL:g} or more" if inp.validated else
                         f"and at most WARN by {HOLDOUT_CITL_FAIL:g} or more on the test split, which judges the "
                         "student against the teacher it replaces (FAIL on a hold-out)")
                      + ", each only when the Jeffreys test rejects the mean prediction at 1 % (two-sided)"
                      + ("; with the hold-out's periods given, the back-test over the periods below replaces this "
                         "pooled test in the status (the pooled test is shown). " if by_period is not None else ". ")
                      if own is not None else "")
                   + (f"A credit model's PDs are also back-tested per grade of the master scale: WARN when the "
                      f"Jeffreys test finds a student grade's mean PD too low at {_percent(GRADE_STATUS_LEVEL)} "
                      "(one-sided, Holm's correction over the grades holding a default)"
                      + (", whatever the teacher's same grade's (a hold-out judges the student's PDs on their "
                         "own). " if inp.validated else " where the teacher's same grade's is not. ")
                      if inp.domain == "credit" else "")
                   + ("Over the hold-out's periods (--period-column), the student's long-run default rate against "
                      "its mean PD by a one-sided t-test across the periods (the pooled rows below three periods): "
                      f"WARN where it rejects at 1 % by a factor of {HOLDOUT_CITL_WARN:g}, FAIL by "
                      f"{HOLDOUT_CITL_FAIL:g}. " if by_period is not None else "")
                   + f"Here: ECE gap {_fmt(gap)} ({_fmt(rel_gap)} × "
                   f"prev), calibration-in-the-large factor of the student over the teacher's {_fmt(citl_excess)}, "
                   f"mean prediction factor {_fmt(shift)}."),
        summary=summary,
        metrics={"bins": bins, "ece_gap": gap, "ece_gap_relative": rel_gap, "base_rate": rate,
                 "calibration_in_the_large_excess": citl_excess, "mean_prediction_factor": shift,
                 "teacher": res["teacher"],
                 "student": res["student"], **({"in_the_large": own_record} if own is not None else {}),
                 **({"pd_grades": graded} if graded is not None else {}),
                 **({"by_period": by_period} if by_period is not None else {})},
        tables=tables, plots=plots,
        notes=[f"{bins} bands of equal row count by score; ECE weighs each band's |observed − predicted| by its "
               "share of rows. With many bands some p < 0.01 can occur by chance, and more often the more test "
               "rows there are (the binomial rule tightens with the row count; the ECE rules do not).",
               "ECE gaps are judged relative to the rarer class's rate, so rare-event (fraud) calibration can "
               "fail; calibration in the large is the mean predicted rate over the observed rate (1 = right on "
               "average).",
               "Hosmer–Lemeshow: chi-square over the same bands, with as many degrees of freedom as bands (the "
               "rows judged were not used to fit the models: the external-validation convention; in-sample it "
               "would be two fewer); a band of scores all 0 or all 1 is left out, and makes p 0 where its labels "
               "disagree. Reported as evidence; the section's status does not read it.", *rare_notes])


#: Fewest test rows whose score PSI and feature CSI the stability section judges (``finlite score``'s
#: own minimum): below, the section is WARN, neither PASS nor FAIL.
STABILITY_MIN_ROWS = PSI_MIN_ROWS


def build_stability(inp: TabularInputs, bins: int = 10) -> Section:
    """The ``stability`` section: PSI of the student's and the teacher's scores (training vs test
    rows) with their bin tables, and the CSI of every feature between the training and test rows.

    Status from the student's score PSI (PASS < 0.1, WARN < 0.25, FAIL ≥ 0.25), at least WARN
    when any feature's CSI ≥ 0.25 (the data shifted: not the compression's doing). Works for
    regression predictions too.
    """
    statuses: list[str] = []
    metrics: dict[str, Any] = {"bins": bins}
    tables: list[Table] = []
    notes: list[str] = []
    plots: list[Plot] = []
    cols = ["bin", "lower", "upper", "expected_share", "actual_share", "contribution"]
    for m, model in (("student", inp.student), ("teacher", inp.teacher)):
        if model.scores_train is None:
            metrics[m] = {"psi": None}
            notes.append(f"The {m}'s training scores are not available: its score PSI is not computed.")
            continue
        pt = psi_table(model.scores_train, model.scores_test, bins)
        metrics[m] = {"psi": pt["psi"], "band": _band_name(pt["psi"]), "bins": pt["bins"],
                      "sampling": psi_sampling(pt["psi"], len(pt["bins"]), len(model.scores_train),
                                               len(model.scores_test))}
        if m == "student":
            statuses.append("PASS" if pt["psi"] < PSI_WARN else "WARN" if pt["psi"] < PSI_FAIL else "FAIL")
        tables.append(Table(f"psi_{m}", f"Score PSI of the {m}: training (expected) vs test (actual) rows",
                            cols, [[r[c] for c in cols] for r in pt["bins"]]))
        xs = [float(r["bin"]) for r in pt["bins"]]
        plots.append(Plot(f"psi_{m}", f"Score distribution of the {m}, training vs test", "score bin",
                          "share of rows", [Series("training", xs, [r["expected_share"] for r in pt["bins"]],
                                                   style="bar"),
                                            Series("test", xs, [r["actual_share"] for r in pt["bins"]],
                                                   style="bar")],
                          x_ticks=[str(int(x)) for x in xs]))
    if inp.train_rows_total is not None:
        metrics["training_rows_scored"] = len(inp.y_train)
        notes.append(f"The score PSI compares the test rows with a seeded sample of {len(inp.y_train):,} of the "
                     f"{inp.train_rows_total:,} training rows (the feature CSI reads all of them).")
    money = {name for m in (inp.teacher, inp.student)
             for name in (getattr(getattr(m.preprocessor, "schema", None), "text_numbers", ()) or ())}
    feats = feature_csi(inp.train_frame, inp.test_frame, list(inp.numeric), list(inp.categorical), bins, money)
    shifted = [r["feature"] for r in feats if r["csi"] >= PSI_FAIL]
    if shifted:
        statuses.append("WARN")
        notes.append("Features whose CSI is ≥ 0.25 show that the data shifted between training and test; that "
                     "is about the data, not the compression.")
    metrics["features"] = feats
    metrics["features_shifted"] = shifted
    tables.append(Table("csi", "Feature CSI, training vs test rows (largest first)", ["feature", "kind", "csi", "band"],
                        [[r["feature"], r["kind"], r["csi"], r["band"]] for r in feats]))
    s_psi = metrics["student"].get("psi")
    t_psi = metrics["teacher"].get("psi")
    summary = (f"Student score PSI {_fmt(s_psi)} (teacher {_fmt(t_psi)}); "
               f"{len(shifted)} of {len(feats)} features have CSI ≥ 0.25.")
    noise = metrics["student"].get("sampling")
    if isinstance(noise, dict) and noise.get("p95") is not None:
        # How much PSI two samples of one population give at these sizes: the 0.1 line sits inside
        # it on a few hundred rows (German credit's 600 and 200: 0.113 at 95 %; a validator's
        # walk-through, 2026-12-06). Said beside the conventional bands, which still set the status.
        # Three decimals read 0.000 for 90,000 and 67,000 rows (a fraud walk-through, 2026-12-06).
        p95 = f"{noise['p95']:.3f}" if noise["p95"] >= 0.01 else f"{noise['p95']:.6f}"  # never 1.7e-05
        summary += (f" With no drift at all, samples of {noise['expected_rows']:,} and {noise['actual_rows']:,} rows "
                    f"give a PSI above {p95} one time in 20 (the student's: p = {noise['p_value']:.2g}"
                    + ("; within sampling noise" if noise["p_value"] >= 0.05 else "") + ").")
        notes.append("PSI under no drift: for two independent samples of one population, PSI is close to (1/n₁ + "
                     "1/n₂)·χ² with (bins − 1) degrees of freedom (its first-order term is the chi-square statistic "
                     "of the two samples' bin shares); 'sampling' gives its mean, its 95th percentile and the "
                     "chance of a PSI at least this large (scipy's chi2), for the bins used.")
    rows = len(inp.y_test)
    if rows < STABILITY_MIN_ROWS:
        # A PSI of 6.8 on 2 hold-out rows decided the report's exit code (a review, 2026-12-03):
        # on so few rows the shares are noise, as `finlite score` holds (no PSI under 100 rows).
        statuses = ["WARN"]  # neither a FAIL nor a PASS: the shares say nothing either way
        notes.insert(0, f"Only {rows:,} test rows: a PSI or CSI from fewer than {STABILITY_MIN_ROWS} rows is noise, "
                        "so this section is WARN, not judged; its numbers are shown for reference.")
        summary += f" Not judged on {rows:,} rows."
    return Section(
        id="stability", title="Stability", status=worst(statuses),
        threshold=("Student score PSI: PASS < 0.1, WARN < 0.25, FAIL ≥ 0.25; WARN when any feature's CSI ≥ 0.25; "
                   f"WARN, not judged, on fewer than {STABILITY_MIN_ROWS} test rows. Here: PSI {_fmt(s_psi)}."),
        summary=summary, metrics=metrics, tables=tables, plots=plots,
        # The bins' closed side said (a validator recomputing an integer feature's CSI with left-closed
        # bins got 0.041 for 0.063: a re-performance, 2026-12-07).
        notes=[*notes, f"PSI / CSI bins: {bins} quantiles of the training values (numpy's linear quantiles; "
                       "coinciding edges merged), each bin closed on the right, so a value on an edge falls in the "
                       "lower bin (missing values and, for categories, rare or unseen values pooled in their own "
                       "bins); empty shares floored at 1e-4."])


def psi_sampling(psi: float | None, bins: int, expected_rows: int, actual_rows: int) -> dict[str, Any]:
    """What sampling alone makes of a PSI over ``bins`` bins between ``expected_rows`` and
    ``actual_rows`` rows of one population: ``expected`` (its mean), ``p95`` (its 95th
    percentile) and ``p_value`` (the chance of at least ``psi``), from PSI ≈ (1/n₁ + 1/n₂)·χ²(bins − 1).
    Nulls where it is undefined (one bin, an empty sample, no PSI)."""
    from scipy.stats import chi2

    out: dict[str, Any] = {"expected_rows": int(expected_rows), "actual_rows": int(actual_rows), "expected": None,
                           "p95": None, "p_value": None}
    if bins < 2 or expected_rows < 1 or actual_rows < 1:
        return out
    scale, dof = 1.0 / expected_rows + 1.0 / actual_rows, bins - 1
    out.update(expected=float(scale * dof), p95=float(scale * chi2.ppf(0.95, dof)))
    if psi is not None and math.isfinite(psi):
        out["p_value"] = float(chi2.sf(psi / scale, dof))
    return out


def _approval_curve(y: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Approving the k lowest scores for each cut-off between runs of tied scores: approval rate,
    bad rate among approved and the cut-off (the first score not approved)."""
    r = _Ranked(y, p)
    pos, neg = r.groups(np.ones((1, y.size)))
    cum_pos, cum_all = np.cumsum(pos[0]), np.cumsum(pos[0] + neg[0])
    cut = np.r_[r.group_scores[1:], np.inf]  # approving runs 0..g means cut-off at the next run's score
    return cum_all / y.size, cum_pos / cum_all, cut


#: The decisions section warns when fewer of the rows either model flags are flagged by both: at
#: fraud prevalence agreement over all rows stays near 1 whatever the alerts do (99 % with 34 of 61
#: alerts shared, a review of 2026-12-03), so the alerts are judged on their own.
ALERT_OVERLAP_WARN = 0.8
#: ... where the two models flag at least this many rows between them: with 6 alerts one swapped
#: alert moves the overlap from 1 to 0.67, noise rather than evidence (the overlap is still shown,
#: with its interval). The same count as an ``alert_overlap`` gate needs.
ALERT_OVERLAP_MIN_ROWS = MIN_ALERTS
#: How many of the positive rows (a share of them) the student may catch fewer than its teacher at
#: the cut-off before the decisions section warns, when it misses at least CAPTURE_MIN_NET more of
#: the teacher's caught positives than it catches anew. McNemar weighs a missed fraud the same as
#: an avoided false alert: a student that caught 73 of 83 frauds where the teacher caught 76 (3
#: missed, none new) was PASS (a fraud engineer's walk-through, 2026-12-06).
CAPTURE_DROP_WARN = 0.02
CAPTURE_MIN_NET = 3


def build_decisions(inp: TabularInputs) -> Section:
    """The ``decisions`` section: the 2×2 swap set at the cut-off, agreement, the alert overlap (of
    the rows either model flags, the share both flag), approval rates, the student's approval rate
    at the teacher's approved bad rate, and McNemar's test of the two models' correctness on the
    label.

    FAIL when agreement < 0.95; WARN when agreement < 0.98, the alert overlap is below
    :data:`ALERT_OVERLAP_WARN` where the two models flag at least :data:`ALERT_OVERLAP_MIN_ROWS`
    rows between them, they flag fewer (too few decisions to compare), the teacher flags no row or
    every row (nothing is compared), McNemar
    p < 0.05 with the student the worse, or the student catches more than
    :data:`CAPTURE_DROP_WARN` of the positive rows fewer than the teacher (``positives_caught``);
    PASS otherwise.
    """
    _require_task(inp, "binary", "decisions")
    cutoff = _require_cutoff(inp, "decisions")
    y, t, s = _binary_arrays(inp)
    t_flag, s_flag = t >= cutoff, s >= cutoff
    w = DecisionWords.of(inp.domain)
    agree = _agreement(t, s, cutoff)
    overlap = flag_overlap(t_flag, s_flag)
    both, either = int(np.sum(t_flag & s_flag)), int(np.sum(t_flag | s_flag))
    # Exact intervals: how far another sample of as many rows (and alerts) could move the two shares.
    agree_ci, overlap_ci = share_interval(int(np.sum(t_flag == s_flag)), int(y.size)), share_interval(both, either)
    alerts_differ = overlap is not None and either >= ALERT_OVERLAP_MIN_ROWS and overlap < ALERT_OVERLAP_WARN
    # A cut-off where the teacher flags no row or every row decides nothing: every student "agrees".
    undecided = not t_flag.any() or bool(t_flag.all())
    if overlap is None:
        said_alerts = "Neither model flags a row, so there are no alerts to compare."
    else:
        lo, hi = overlap_ci or (overlap, overlap)
        said_alerts = (f"Alerts: {both:,} of the {either:,} row(s) either model flags are flagged by both (overlap "
                       f"{overlap:.2%}, 95% CI {lo:.2%}–{hi:.2%}" + ("" if either >= ALERT_OVERLAP_MIN_ROWS else
                                           f"; too few to judge, {ALERT_OVERLAP_MIN_ROWS} needed") + ").")
    cells = _swap_set(t, s, y, cutoff)
    t_ok, s_ok = t_flag == (y == 1), s_flag == (y == 1)
    b, c = int(np.sum(t_ok & ~s_ok)), int(np.sum(~t_ok & s_ok))
    mc = mcnemar(b, c)
    student_worse = b > c
    approval = {m: float(np.mean(~f)) for m, f in (("teacher", t_flag), ("student", s_flag))}
    approved_bad = {m: (float(y[~f].mean()) if (~f).any() else None) for m, f in (("teacher", t_flag),
                                                                                  ("student", s_flag))}
    # The student's cut-off at the teacher's risk appetite: the largest share of rows the student
    # can approve (its lowest scores, whole runs of tied scores at a time) while the bad rate among
    # them stays at or below the teacher's approved bad rate.
    target = approved_bad["teacher"]
    at_target: dict[str, Any] = {"target_bad_rate": target, "approval_rate": None, "cutoff": None,
                                 "approved_bad_rate": None}
    if target is not None:
        rate, bad, cut = _approval_curve(y, s)
        ok = np.flatnonzero(bad <= target + 1e-12)
        if ok.size:
            k = int(ok[-1])
            at_target.update(approval_rate=float(rate[k]), approved_bad_rate=float(bad[k]), cutoff=float(cut[k]))
    flipped = int(np.sum(t_flag != s_flag))
    # The positives each model catches at the cut-off: the fraud team's (or the collections team's)
    # number, which agreement and McNemar do not weigh.
    positive = y == 1
    caught = {"teacher": int(np.sum(t_flag & positive)), "student": int(np.sum(s_flag & positive))}
    missed, anew = int(np.sum(t_flag & ~s_flag & positive)), int(np.sum(~t_flag & s_flag & positive))
    n_pos = int(positive.sum())
    capture_drop = (caught["teacher"] - caught["student"]) / n_pos if n_pos else 0.0
    capture_lost = capture_drop > CAPTURE_DROP_WARN and missed - anew >= CAPTURE_MIN_NET
    # Decisions flagging a handful of rows compare almost nothing: agreement is then the share of
    # rows neither model flags, and the decisions of a low-default portfolio's student were PASS on
    # one flagged row (a walk-through, 2026-12-07). At least WARN, as the alerts are too few to judge.
    thin_alerts = overlap is not None and either < ALERT_OVERLAP_MIN_ROWS
    differs = agree < 0.98 or alerts_differ or undecided or (mc["p_value"] < 0.05 and student_worse) or capture_lost
    if agree < 0.95:
        status = "FAIL"
    elif differs or thin_alerts:
        status = "WARN"
    else:
        status = "PASS"
    table = Table("swap_set", f"Decisions at cut-off {cutoff:.6g}: rows and {inp.positive} rate per cell "
                  "(rows: teacher, columns: student)",
                  ["teacher", "student_flagged_rows", f"student_flagged_{inp.positive}_rate",
                   f"student_{w.approved}_rows", f"student_{w.approved}_{inp.positive}_rate"],
                  [["flagged", cells["teacher_positive/student_positive"]["count"],
                    cells["teacher_positive/student_positive"]["positive_rate"],
                    cells["teacher_positive/student_negative"]["count"],
                    cells["teacher_positive/student_negative"]["positive_rate"]],
                   [w.approved, cells["teacher_negative/student_positive"]["count"],
                    cells["teacher_negative/student_positive"]["positive_rate"],
                    cells["teacher_negative/student_negative"]["count"],
                    cells["teacher_negative/student_negative"]["positive_rate"]]])
    series = []
    for m, p in (("teacher", t), ("student", s)):
        rate, bad, _ = _approval_curve(y, p)
        series.append(Series(m, *curve_points(rate, bad)))
    plots = [Plot("approval_curve", f"{w.approval.capitalize()} rate vs {inp.positive} rate among {w.approved}",
                  f"{w.approval} rate", f"{inp.positive} rate among {w.approved}", series)]
    if undecided:
        said_alerts += (f" The teacher flags {'no row' if not t_flag.any() else 'every row'} at this cut-off, so no "
                        "decision is compared: set an operating point where it decides (train, compress or import-teacher "
                        "with --flag-rate or --cutoff), or judge more rows (a hold-out).")
    agree_lo, agree_hi = agree_ci or (agree, agree)
    summary = (f"Agreement {agree:.2%} (95% CI {agree_lo:.2%}–{agree_hi:.2%}) at cut-off {cutoff:.6g}; {flipped} "
               f"decision(s) flipped. {said_alerts} McNemar p = "
               f"{_fmt(mc['p_value'])} ({mc['method']}; teacher right / student wrong: {b}; the reverse: {c}). Of the "
               f"{n_pos:,} "
               f"{_class_rows(inp.positive)} the teacher flags {caught['teacher']:,} and the student {caught['student']:,} "
               f"({missed:,} of the teacher's missed, {anew:,} caught anew)"
               + (f": the student catches {capture_drop:.1%} of them fewer" if capture_lost else "")
               + f". {w.approval.capitalize()} rate teacher {approval['teacher']:.2%}, student "
               f"{approval['student']:.2%}.")
    return Section(
        id="decisions", title="Decisions", status=status,  # type: ignore[arg-type]
        threshold=(f"FAIL when agreement < 0.95; WARN when agreement < 0.98, the alert overlap < {ALERT_OVERLAP_WARN:g} "
                   f"(where the models flag {ALERT_OVERLAP_MIN_ROWS} rows or more between them; fewer is WARN too: "
                   "too few decisions to compare), a teacher flagging no "
                   "row or every row, McNemar p < 0.05 with the student worse, or the student catching more than "
                   f"{CAPTURE_DROP_WARN:.0%} of the {inp.positive} rows fewer than the teacher (missing at least "
                   f"{CAPTURE_MIN_NET} more of the teacher's than it catches anew); PASS otherwise. Here: agreement "
                   f"{agree:.4f}, alert overlap "
                   f"{'none (no row flagged)' if overlap is None else f'{overlap:.4f}'} over {either:,} flagged row(s), "
                   f"McNemar p {_fmt(mc['p_value'])}."),
        summary=summary,
        metrics={"cutoff": cutoff, "rows": int(y.size), "agreement": agree,
                 "agreement_ci": list(agree_ci) if agree_ci else None, "alert_overlap": overlap,
                 "alert_overlap_ci": list(overlap_ci) if overlap_ci else None,
                 "flagged_by_both": both, "flagged_by_either": either, "flipped": flipped,
                 "flipped_to_approved": int(np.sum(t_flag & ~s_flag)),
                 "flipped_to_flagged": int(np.sum(~t_flag & s_flag)), "swap_set": cells,
                 "positives_caught": {**caught, "missed": missed, "caught_anew": anew, "positives": n_pos,
                                      "drop": capture_drop},
                 "approval_rate": approval, "approved_bad_rate": approved_bad,
                 "student_at_teacher_bad_rate": at_target, "mcnemar": mc, "student_worse": student_worse},
        tables=[table], plots=plots,
        notes=["Alert overlap: of the rows either model flags, the share both flag (null when neither flags a row); "
               "a student cannot raise it by flagging more rows.",
               "95% CI: exact (Clopper-Pearson) binomial intervals, of agreement over the rows and of the overlap "
               "over the rows either model flags (given their number): how far another sample of as many rows "
               "could move them.",
               "McNemar compares correctness on the label: b = teacher right and student wrong, c = the reverse "
               "(a flag is right when the row is positive).",
               f"{w.approval.capitalize()} at the teacher's {inp.positive} rate: the student {w.approves} "
               "its lowest-scoring rows, whole runs of tied scores at a time, up to the largest share whose "
               f"{inp.positive} rate stays at or below the teacher's among the rows it {w.approved}; 'cutoff' is the "
               f"first score it leaves out (null when all are {w.approved})."])


def _as_numbers(ids: np.ndarray) -> np.ndarray | None:
    """``ids`` as float64 when every one is a finite number (or text of one: the report reads an
    id column as text), else None: -10 before -3 and 1.10 before 1.5, which text order misses."""
    if ids.dtype.kind in "biuf":
        return ids.astype(np.float64)
    try:
        numbers = np.array([float(v) for v in ids], dtype=np.float64)
    except (TypeError, ValueError, OverflowError):
        return None
    return numbers if np.isfinite(numbers).all() else None


def flipped_cases_csv(inp: TabularInputs) -> str:
    """CSV of the test rows whose decision differs between teacher and student, sorted by id
    (numbers, or text ids that are all numbers, in numeric order; other text in natural order:
    X49 before X107).

    Header: ``<id_name>,teacher_score,student_score,teacher_decision,student_decision,label``;
    scores with six decimals, decisions in the domain's words (credit ``declined`` / ``approved``,
    fraud ``flagged`` / ``passed``: :class:`DecisionWords`), the label 0/1; ``\\n`` line
    ends, so the same inputs give the same bytes. A reviewer opens it in a spreadsheet, so an id
    (or the id column's name) that would start a formula (``=…``, ``@…``) is written with a
    leading apostrophe (:func:`finlite._util.spreadsheet_safe`): the data is untrusted.
    """
    cutoff = _require_cutoff(inp, "flipped-cases file")
    y, t, s = _binary_arrays(inp)
    ids = np.asarray(inp.ids)
    if ids.shape[0] != y.size:
        raise DataError(f"ids: {ids.shape[0]} ids for {y.size} test rows; give one id per test row.")
    rows = np.flatnonzero((t >= cutoff) != (s >= cutoff))
    flipped = ids[rows]
    numbers = _as_numbers(flipped)
    if numbers is not None:  # numbers (or ids read as text that are all numbers) in numeric order
        rows = rows[np.argsort(numbers, kind="stable")]
    else:  # text (or mixed) in natural order: X49 before X107, as a reviewer looks them up
        rows = rows[sorted(range(rows.size), key=lambda k: natural_key(flipped[k]))]
    # A credit model's decisions are declines, a fraud model's flags (a walk-through, 2026-12-06:
    # a credit file said "flagged").
    words = DecisionWords.of(inp.domain)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow([spreadsheet_safe(inp.id_name), "teacher_score", "student_score", "teacher_decision",
                "student_decision", "label"])
    for i in rows:
        w.writerow([spreadsheet_safe(ids[i].item() if hasattr(ids[i], "item") else ids[i]), f"{t[i]:.6f}", f"{s[i]:.6f}",
                    words.declined if t[i] >= cutoff else words.approved,
                    words.declined if s[i] >= cutoff else words.approved,
                    int(y[i])])
    return buf.getvalue()


def build_accuracy(inp: TabularInputs, n_boot: int | None = None, bins: int = 20) -> Section:
    """The ``accuracy`` section of a regression report: RMSE, MAE and R² of teacher and student
    with 95 % bootstrap intervals, the paired teacher − student difference, and predicted vs
    actual means per band of predictions.

    FAIL when the paired interval of student − teacher RMSE lies wholly above 10 % of the
    teacher's RMSE; PASS when its upper end is below that margin and it is not wholly above 0;
    WARN otherwise (the interval reaches the margin, or the student is significantly worse).
    ``n_boot`` resamples (default: :func:`default_n_boot` of the test rows).
    """
    _require_task(inp, "regression", "accuracy")
    y = _vec(inp.y_test, "targets")
    t = _vec(inp.teacher.scores_test, "teacher predictions")
    s = _vec(inp.student.scores_test, "student predictions")
    if not (y.size == t.size == s.size):
        raise DataError(f"Targets and predictions differ in length ({y.size}, {t.size}, {s.size}).")
    if not (np.isfinite(y).all() and np.isfinite(t).all() and np.isfinite(s).all()):
        raise DataError("Regression accuracy needs finite targets and predictions; some are NaN or infinite.")
    n_boot = default_n_boot(y.size) if n_boot is None else n_boot
    _check_bootstrap_options(n_boot, 0.95)
    stats = {"rmse": (_m.rmse, _rmse_w), "mae": (_m.mae, _mae_w), "r2": (_m.r2, _r2_w)}
    o = content_order(y, t, s)  # resamples of the rows, not of their positions (_order)
    draws = _boot_weighted(y[o], {"teacher": t[o], "student": s[o]}, {k: w for k, (_, w) in stats.items()}, n_boot,
                           inp.seed)
    level = 0.95
    per: dict[str, dict[str, Any]] = {"teacher": {}, "student": {}, "difference": {}}
    for name, (fn, _) in stats.items():
        est = {m: _safe(fn, y, p) for m, p in (("teacher", t), ("student", s))}
        for m in ("teacher", "student"):
            per[m][name] = _ci(_summarise(est[m], draws[(m, name)], level))
        per["difference"][name] = _ci(_summarise(est["teacher"] - est["student"],
                                                 draws[("teacher", name)] - draws[("student", name)], level))
    d = per["difference"]["rmse"]  # teacher − student: negative when the student errs more
    margin = 0.1 * per["teacher"]["rmse"]["estimate"]
    worse_lo, worse_hi = -d["upper"], -d["lower"]  # the interval of student − teacher
    status = "FAIL" if worse_lo > margin else "WARN" if worse_hi >= margin or worse_lo > 0 else "PASS"
    rows = [[n, per["teacher"][n]["estimate"], per["teacher"][n]["lower"], per["teacher"][n]["upper"],
             per["student"][n]["estimate"], per["student"][n]["lower"], per["student"][n]["upper"],
             per["difference"][n]["estimate"], per["difference"][n]["lower"], per["difference"][n]["upper"]]
            for n in stats]
    series = []
    for m, p in (("teacher", t), ("student", s)):
        order = np.argsort(p, kind="stable")
        bands = _equal_count_bands(p[order], bins)
        series.append(Series(m, [float(p[order][b].mean()) for b in bands], [float(y[order][b].mean()) for b in bands],
                             style="scatter"))
    return Section(
        id="accuracy", title="Accuracy", status=status,  # type: ignore[arg-type]
        threshold=("FAIL when the 95 % paired interval of student − teacher RMSE lies wholly above 10 % of the "
                   f"teacher's RMSE ({_fmt(margin)}); PASS when its upper end is below that margin and its lower "
                   "end is not above 0; WARN otherwise (too few rows to rule out a material loss, or significantly "
                   "but not materially worse). Here: "
                   f"[{_fmt(-d['upper'])}, {_fmt(-d['lower'])}]."),
        summary=(f"RMSE student {_fmt(per['student']['rmse']['estimate'])} vs teacher "
                 f"{_fmt(per['teacher']['rmse']['estimate'])}; R² student {_fmt(per['student']['r2']['estimate'])} "
                 f"vs teacher {_fmt(per['teacher']['r2']['estimate'])}."),
        metrics={"rows": int(y.size), "n_boot": n_boot, "level": level, **per},
        tables=[Table("accuracy_metrics", "Accuracy with 95 % bootstrap intervals (difference = teacher − student, "
                      "paired)", ["metric", "teacher", "teacher_lower", "teacher_upper", "student", "student_lower",
                                  "student_upper", "difference", "difference_lower", "difference_upper"], rows)],
        plots=[Plot("predicted_vs_actual", "Mean actual per band of predictions", "mean prediction",
                    "mean actual", series, reference="diagonal")],
        notes=[f"Intervals: {n_boot} bootstrap resamples of the {y.size} test rows (seed {inp.seed}), percentile "
               f"method. Plot: {min(bins, y.size)} bands of equal row count by prediction."])


def _class_rows(label: str) -> str:
    """Rows of a class, as a sentence names them: "bad row(s)", but "row(s) of class 1" for a
    label that is a number ("Of the 62 1 row(s)" read as a count: a walk-through, 2026-12-06)."""
    try:
        float(label)
    except ValueError:
        return f"{label} row(s)"
    return f"row(s) of class {label!r}"
