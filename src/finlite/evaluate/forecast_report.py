"""Report sections of a market forecaster: accuracy with intervals, Diebold–Mariano, direction
agreement, the trading view with its equity curves, and stability across test folds.

Every section reads one :class:`SeriesInputs` (the prepared series, the teacher's and the
student's predictions on the test windows, the realised returns) and recomputes its numbers from
the predictions, so each carries an interval: a moving-block bootstrap over the test dates (blocks
of max(h, n^(1/3)) consecutive dates keep the serial dependence of h-step forecast errors; all
assets of a date are drawn together, keeping their cross-sectional correlation; seeded, drawn as
one index matrix, so every statistic of every replicate is one vectorised reduction).

Sections (ids): ``forecast_accuracy``, ``diebold_mariano``, ``direction_agreement``, ``trading``,
``fold_stability``. A volatility forecast calls no direction and trades nothing: its report has
no ``direction_agreement`` nor ``trading`` section.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from finlite.data.market import (
    PreparedSeries,
    asset_calendar,
    majority_calendar,
    period_unit,
    periods_per_year,
)
from finlite.errors import ConfigError, DataError
from finlite.evaluate.forecast import (
    buy_and_hold,
    calendar_holes_warning,
    cross_sectional_ic,
    date_mean_errors,
    diebold_mariano,
    has_cross_section,
    net_returns,
    panel_books,
    trading_view,
    up_share,
)
from finlite.evaluate.sections import Plot, Section, Series, Status, Table, curve_points, worst

__all__ = ["BOOTSTRAP_REPS", "SeriesInputs", "block_bootstrap_indices", "block_length", "build_forecast_sections",
           "date_bootstrap_indices", "equity_curve", "fold_masks", "plotted_equity"]

#: The most resampled values a section's bootstrap builds at once (replicates x rows): a panel's
#: test rows times 1,000 replicates were gigabytes per copy (see _Rows.metrics).
_RESAMPLED_CELLS = 1 << 22

def _replicates_at_once(idx: np.ndarray) -> int:
    """The bootstrap replicates (rows of ``idx``) resampled at once: :data:`_RESAMPLED_CELLS` values."""
    return max(1, _RESAMPLED_CELLS // max(1, int(idx.shape[1])))


#: The share of assets on which a 95 % interval lies wholly on one side by chance alone.
_ONE_SIDE = 0.025

#: Replicates of every moving-block bootstrap.
BOOTSTRAP_REPS = 1000
#: Direction agreement from which a student passes, and below which it fails.
AGREEMENT_PASS, AGREEMENT_WARN = 0.95, 0.90
#: How much larger (relative) the student's spread of fold RMSEs may be than the teacher's.
SPREAD_MARGIN = 0.5
#: The material worsening: the student's RMSE may exceed the teacher's by this share. A FAIL needs
#: the gap to be both significant and above it (a distilled student's errors track the teacher's
#: so closely that a negligible worsening is significant).
RMSE_MARGIN = 0.05
#: About the most points a plotted equity curve keeps (:func:`plotted_equity`).
MAX_EQUITY_POINTS = 401
#: Assets whose equity curves are plotted (the table lists them all).
MAX_PLOTTED_ASSETS = 4
#: Assets whose calendars a note lists by name at most (a 500-asset panel: the rest are counted).
MAX_LISTED = 10
_Z = 1.959964


@dataclass
class SeriesInputs:
    """Everything a forecaster's report sections read.

    ``series`` is the prepared price series (its test windows, folds and naive forecasts);
    ``task`` "forecast" (a number: return, price change, volatility) or "direction" (P(up));
    ``cutoff`` the direction model's operating point (None: 0.5, or no decisions);
    ``teacher_test`` / ``student_test`` one prediction per test window in model units, and
    ``teacher_train`` / ``student_train`` per training window (for the privacy audit; None when not
    available); ``realised`` the log return over the horizon from each test window's date
    (:func:`finlite.data.market.realised_log_returns`); ``evidence`` the dict
    :func:`finlite.jobs.forecast.forecast_evidence` returned for ``{"teacher": …, "student": …}``
    (cross-checked, not re-read); ``cost_bps`` the trading cost per unit of turnover.
    """

    series: PreparedSeries
    task: str
    cutoff: float | None
    teacher_test: np.ndarray
    student_test: np.ndarray
    teacher_train: np.ndarray | None
    student_train: np.ndarray | None
    realised: np.ndarray
    evidence: Mapping[str, Any]
    cost_bps: float
    seed: int = 0
    #: The log returns from each test window's date to each step of its horizon
    #: (:func:`finlite.data.market.realised_paths`), on which the trading view marks drawdowns
    #: daily at a horizon above 1; None marks them at period ends.
    paths: np.ndarray | None = None


# -- the bootstrap ------------------------------------------------------------------------------
def block_length(n: int, horizon: int = 1) -> int:
    """The moving-block length for ``n`` consecutive dates of ``horizon``-step forecasts:
    max(horizon, ceil(n^(1/3))), at least 1 and at most n. n^(1/3) is the rate that balances the
    bias and variance of a block-bootstrap variance estimate; overlapping h-step windows make the
    errors autocorrelated up to lag h−1, which a shorter block would cut."""
    root: float = float(n) ** (1.0 / 3.0)
    return max(1, min(max(int(horizon), math.ceil(root - 1e-9)), max(int(n), 1)))


def block_bootstrap_indices(n: int, *, reps: int = BOOTSTRAP_REPS, seed: int = 0,
                            block: int | None = None) -> np.ndarray:
    """Moving-block bootstrap resamples of ``n`` time-ordered rows: an int64 matrix
    ``[reps, n]`` whose rows each chain ceil(n / block) blocks of ``block`` consecutive row
    positions (starts drawn uniformly, seeded), cut to n.

    Raises:
        ConfigError: ``n``, ``reps`` or ``block`` not a positive whole number.
    """
    for name, value in (("n", n), ("reps", reps), ("block", 1 if block is None else block)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ConfigError(f"The '{name}' parameter of block_bootstrap_indices must be a whole number >= 1; got "
                              f"{value!r}.", param=name)
    size = min(block_length(n) if block is None else int(block), n)
    k = -(-n // size)
    rng = np.random.default_rng(seed)
    starts = rng.integers(0, n - size + 1, size=(reps, k))
    idx = (starts[:, :, None] + np.arange(size)[None, None, :]).reshape(reps, k * size)
    return np.ascontiguousarray(idx[:, :n])


def date_bootstrap_indices(dates: np.ndarray, *, reps: int = BOOTSTRAP_REPS, seed: int = 0,
                           block: int | None = None) -> np.ndarray:
    """Moving-block bootstrap of a panel's rows by date: an int64 matrix ``[reps, n]`` (n rows)
    whose rows chain blocks of ``block`` consecutive distinct dates, each date with all its rows
    (every asset of that date), cut to n rows. One asset (one row per date): the rows of
    :func:`block_bootstrap_indices` over the dates. Resampling dates, not rows, keeps the
    correlation across assets on a date and never lets a block straddle two assets.

    Raises:
        ConfigError: ``reps`` or ``block`` not a positive whole number, or no rows.
    """
    codes = np.unique(np.asarray(dates), return_inverse=True)[1].ravel().astype(np.int64)
    n = int(codes.size)
    m = int(codes.max()) + 1 if n else 0
    date_idx = block_bootstrap_indices(m, reps=reps, seed=seed, block=block)
    order = np.argsort(codes, kind="stable")  # row positions grouped by date, oldest first
    if m == n:
        return np.ascontiguousarray(order[date_idx])
    counts = np.bincount(codes, minlength=m)
    starts = np.r_[0, np.cumsum(counts)[:-1]]
    out = np.empty((reps, n), dtype=np.int64)
    for r in range(reps):  # dates carry unequal row counts: expand each replicate on its own
        d = date_idx[r]
        k = 1
        while int(counts[d].sum()) < n:  # too few rows on the drawn dates: chain the next draw's blocks
            d = np.r_[d, date_idx[(r + k) % reps]]
            k += 1
        lens = counts[d]
        pos = np.repeat(starts[d] - np.r_[0, np.cumsum(lens)[:-1]], lens) + np.arange(int(lens.sum()))
        out[r] = order[pos[:n]]
    return out


def _interval(values: np.ndarray) -> list[float | None]:
    finite = values[np.isfinite(values)]
    if finite.size < max(10, values.size // 2):  # too many undefined replicates to read a percentile
        return [None, None]
    lo, hi = np.percentile(finite, [2.5, 97.5])
    return [float(lo), float(hi)]


def _value_ci(point: float | None, boot: np.ndarray | None) -> dict[str, Any]:
    if point is None or boot is None or not math.isfinite(point):
        return {"value": None, "ci": [None, None]}
    return {"value": float(point), "ci": _interval(boot)}


# -- vectorised metrics: rows of an index matrix ------------------------------------------------
def _rmse(err: np.ndarray, idx: np.ndarray) -> np.ndarray:
    return np.asarray(np.sqrt(np.mean(err[idx] ** 2, axis=1)))


def _mae(err: np.ndarray, idx: np.ndarray) -> np.ndarray:
    return np.asarray(np.mean(np.abs(err[idx]), axis=1))


def _share(hits: np.ndarray, valid: np.ndarray, idx: np.ndarray) -> np.ndarray:
    counted = valid[idx].sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(np.where(counted > 0, (hits & valid)[idx].sum(axis=1) / np.maximum(counted, 1), np.nan))


def _spearman(y: np.ndarray, p: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Spearman correlation of each resample (average ranks for ties; 0 when a side is constant,
    as :func:`finlite.evaluate.forecast.information_coefficient`)."""
    from scipy.stats import rankdata

    ry = rankdata(y[idx], axis=1)
    rp = rankdata(p[idx], axis=1)
    ry -= ry.mean(axis=1, keepdims=True)
    rp -= rp.mean(axis=1, keepdims=True)
    den = np.sqrt((ry * ry).sum(axis=1) * (rp * rp).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(np.where(den > 0, (ry * rp).sum(axis=1) / np.where(den > 0, den, 1.0), 0.0))


class _Rows:
    """The test rows every section shares: outcomes, each forecast, directions, folds."""

    def __init__(self, inp: SeriesInputs) -> None:
        if inp.task not in ("forecast", "direction"):
            raise ConfigError(f"SeriesInputs.task must be 'forecast' or 'direction'; got {inp.task!r}.", param="task")
        series = inp.series
        # The windows keep the labels in float64 (y_test is float32, for the model): exact metrics.
        self.y = np.asarray(series.windows_test.y, dtype=np.float64).ravel()
        n = self.y.size
        if n < 2:
            raise DataError(f"The forecast report needs at least 2 test windows; the series has {n}. Use a longer "
                            "price history or a larger test fraction.")
        self.preds: dict[str, np.ndarray] = {}
        for name, values in (("teacher", inp.teacher_test), ("student", inp.student_test),
                             ("naive", series.windows_test.naive)):
            arr = np.asarray(values, dtype=np.float64).ravel()
            if arr.size != n:
                raise DataError(f"The {name}'s test predictions hold {arr.size} values for {n} test windows; pass "
                                "one prediction per test window, in the series' order.")
            if not np.isfinite(arr).all():
                raise DataError(f"The {name}'s test predictions must be finite; {int((~np.isfinite(arr)).sum())} "
                                "are not.")
            self.preds[name] = arr
        realised = np.asarray(inp.realised, dtype=np.float64).ravel()
        if realised.size != n:
            raise DataError(f"realised holds {realised.size} returns for {n} test windows; pass "
                            "finlite.data.market.realised_log_returns(series) (one per test window).")
        self.realised = realised
        self.task = inp.task
        self.objective = series.spec.objective
        self.horizon = int(series.spec.horizon)
        # The path over each window's horizon, on which the trading view marks its drawdowns daily
        # (data.market.realised_paths, passed in); None at horizon 1 or without it.
        self.paths: np.ndarray | None = None
        if self.horizon > 1 and inp.paths is not None:
            paths = np.asarray(inp.paths, dtype=np.float64)
            finite = np.isfinite(realised)
            if paths.shape != (n, self.horizon) or not np.array_equal(paths[finite, -1], realised[finite]):
                raise DataError(f"paths must hold {self.horizon} log returns per test window ({n}), the last one "
                                "each window's realised return; pass finlite.data.market.realised_paths(series).")
            self.paths = paths
        # Per asset, observations a year and the calendar: what the trading view annualises with.
        self.calendars = periods_per_year(series.table, series.spec)
        self.cutoff = 0.5 if inp.cutoff is None else float(inp.cutoff)
        self.n = n
        self.dates = np.asarray(series.windows_test.dates).astype("datetime64[D]")
        ids = series.windows_test.ids
        self.ids = None if ids is None else np.asarray(ids).astype(str)
        self.folds = fold_masks(series)
        # Dates, not rows, are resampled: all assets of a date together (issue 13, R2 item 13).
        self.date_codes = np.unique(self.dates, return_inverse=True)[1].ravel().astype(np.int64)
        self.n_dates = int(self.date_codes.max()) + 1
        self.date_counts = np.bincount(self.date_codes, minlength=self.n_dates)
        self.block = block_length(self.n_dates, self.horizon)
        self.idx = date_bootstrap_indices(self.dates, seed=inp.seed, block=self.block)
        # MASE scales by the naive forecast's MAE on the TRAINING windows (Hyndman & Koehler), so the
        # scale is fixed and not a second test-period estimate; None when there is none to use.
        train = series.windows_train
        scale = (float(np.mean(np.abs(np.asarray(train.naive, dtype=np.float64)
                                      - np.asarray(train.y, dtype=np.float64).ravel())))
                 if len(train) else 0.0)
        # A direction model's probability has no MASE (jobs.forecast.DIRECTION_DROPPED says why).
        self.naive_scale: float | None = (scale if math.isfinite(scale) and scale > 0 and self.task != "direction"
                                          else None)
        self.seed = inp.seed
        self.cost_bps = float(inp.cost_bps)
        # One asset's "beats buy-and-hold" as the evidence computed it (the same periods, positions
        # and costs): taken as it is, not drawn again with another seed, so report.json holds one
        # interval for it, not two.
        trading = (inp.evidence or {}).get("trading") if isinstance(inp.evidence, Mapping) else None
        self.evidence_trading: Mapping[str, Any] | None = (
            trading if isinstance(trading, Mapping) and isinstance(trading.get("sharpe_vs_buy_and_hold"), Mapping)
            and (inp.evidence or {}).get("cost_bps") == self.cost_bps else None)
        # A level or a volatility never falls: it has no direction to call (as forecast_metrics).
        self.has_direction = self.task == "direction" or (bool((self.y > 0).any()) and bool((self.y < 0).any()))
        self.full = np.arange(n)[None, :]

    @functools.cached_property
    def ranking(self) -> dict[str, Any] | None:
        """:func:`_ranking` of these rows, computed once for the sections that read it."""
        return _ranking(self)

    def direction_hits(self, name: str) -> tuple[np.ndarray, np.ndarray] | None:
        """(hit, counted) per row for ``name``'s directional accuracy, or None when it calls none."""
        p = self.preds[name]
        if not self.has_direction:
            return None
        if self.task == "direction":
            # The naive probability calls the training majority at 0.5, as forecast_evidence does.
            cut = 0.5 if name == "naive" else self.cutoff
            return (p >= cut) == (self.y > 0.5), np.ones(self.n, dtype=bool)
        if not p.any():  # the random walk's zero change calls no direction
            return None
        return np.sign(p) == np.sign(self.y), self.y != 0

    def up(self, name: str) -> np.ndarray:
        """The direction each row calls: up or not (at the cut-off for a probability, by sign otherwise)."""
        p = self.preds[name]
        return p >= self.cutoff if self.task == "direction" else p > 0

    def metrics(self, name: str, idx: np.ndarray) -> dict[str, np.ndarray | None]:
        """RMSE, MAE, MASE (test MAE over the training naive MAE), directional accuracy and IC of
        ``name`` on each row of ``idx``, a few replicates at a time: each replicate's values are
        its own, and the whole matrix's resampled copies and ranks, 24 of them, took 9.4 GB for
        300 stocks' 118,200 test windows (a quant's walk-through, 2026-12-06)."""
        step = _replicates_at_once(idx) if idx.ndim == 2 else len(idx)
        if idx.ndim != 2 or idx.shape[0] <= step:
            return self._metrics(name, idx)
        parts = [self._metrics(name, idx[start:start + step]) for start in range(0, idx.shape[0], step)]
        return {key: None if parts[0][key] is None else np.concatenate([part[key] for part in parts])
                for key in parts[0]}

    def _metrics(self, name: str, idx: np.ndarray) -> dict[str, np.ndarray | None]:
        err = self.preds[name] - self.y
        mae = _mae(err, idx)
        mase = mae / self.naive_scale if self.naive_scale is not None else np.full(mae.shape, np.nan)
        hits = self.direction_hits(name)
        return {"rmse": _rmse(err, idx), "mae": mae, "mase": mase,
                "directional_accuracy": None if hits is None else _share(hits[0], hits[1], idx),
                "information_coefficient": _spearman(self.y, self.preds[name], idx)}

    def per_date(self, values: np.ndarray) -> np.ndarray:
        """The mean of ``values`` over the rows (assets) of each date, oldest date first."""
        return np.asarray(np.bincount(self.date_codes, weights=values, minlength=self.n_dates) / self.date_counts)

    def fold_rows(self) -> list[np.ndarray]:
        return [np.flatnonzero(m)[None, :] for m in self.folds]

    def fold_dates(self, k: int) -> tuple[str, str]:
        d = self.dates[self.folds[k]]
        return str(np.datetime_as_string(d.min(), unit="D")), str(np.datetime_as_string(d.max(), unit="D"))


def fold_masks(series: PreparedSeries) -> list[np.ndarray]:
    """One boolean mask over the test windows per test fold (consecutive blocks of dates, oldest
    first; the whole test period when the split has no folds): the folds forecast_evidence uses."""
    test = np.asarray(series.split.test, dtype=np.int64)
    masks = [np.isin(test, np.asarray(block, dtype=np.int64)) for block in series.split.test_folds]
    masks = [m for m in masks if m.any()]
    return masks or [np.ones(len(test), dtype=bool)]


def _scalar(values: np.ndarray | None) -> float | None:
    if values is None:
        return None
    v = float(values[0])
    return v if math.isfinite(v) else None


_METRICS = (("rmse", "RMSE"), ("mae", "MAE"), ("mase", "MASE"), ("directional_accuracy", "directional accuracy"),
            ("information_coefficient", "information coefficient"))
_MODELS = ("teacher", "student", "naive")


def _fmt(value: float | None, digits: int = 4) -> str:
    return "n/a" if value is None else f"{value:.{digits}g}"


# -- forecast_accuracy --------------------------------------------------------------------------
def _accuracy(rows: _Rows) -> Section:
    point = {name: rows.metrics(name, rows.full) for name in _MODELS}
    boot = {name: rows.metrics(name, rows.idx) for name in _MODELS}
    ranking = rows.ranking
    # On a panel the IC above is pooled over assets and dates; the cross-sectional one follows it.
    labels = [(key, f"{label} (pooled)" if ranking is not None and key == "information_coefficient" else label)
              for key, label in _METRICS]
    models: dict[str, dict[str, Any]] = {}
    table_rows: list[list[Any]] = []
    for name in _MODELS:
        entry: dict[str, Any] = {}
        for key, label in labels:
            value = _scalar(point[name][key])
            entry[key] = _value_ci(value, boot[name][key])
            if value is not None:
                table_rows.append([name, label, value, *entry[key]["ci"]])
        models[name] = entry
    diff: dict[str, Any] = {}
    for key, label in labels:
        s_pt, t_pt = point["student"][key], point["teacher"][key]
        s_bt, t_bt = boot["student"][key], boot["teacher"][key]
        if s_pt is None or t_pt is None or s_bt is None or t_bt is None:
            continue
        diff[key] = _value_ci(float(s_pt[0] - t_pt[0]), s_bt - t_bt)
        if diff[key]["value"] is not None:
            table_rows.append(["student − teacher", label, diff[key]["value"], *diff[key]["ci"]])
    folds = []
    fold_table = []
    for k, f_idx in enumerate(rows.fold_rows()):
        first, last = rows.fold_dates(k)
        entry = {"fold": k + 1, "rows": int(f_idx.shape[1]), "first_date": first, "last_date": last}
        cells: list[Any] = [k + 1, int(f_idx.shape[1]), first, last]
        for name in _MODELS:
            m = rows.metrics(name, f_idx)
            entry[name] = {"rmse": _scalar(m["rmse"]), "mae": _scalar(m["mae"]),
                           "directional_accuracy": _scalar(m["directional_accuracy"])}
        for key in ("rmse", "directional_accuracy"):
            cells += [entry[name][key] for name in _MODELS]
        folds.append(entry)
        fold_table.append(cells)
    if ranking is not None:  # in the table the model card shows, with its t-based interval
        table_rows += ranking["rows"]
    rmse_d = diff["rmse"]
    da_d = diff.get("directional_accuracy")
    t_rmse, s_rmse = models["teacher"]["rmse"]["value"], models["student"]["rmse"]["value"]
    low = rmse_d["ci"][0]
    # Significant AND material: the whole interval of the gap above the margin (R2 item 1).
    if low is not None and low > RMSE_MARGIN * t_rmse:
        status = "FAIL"
    elif ((low is not None and low > 0) or s_rmse > t_rmse * (1 + RMSE_MARGIN)
          or (da_d is not None and da_d["ci"][1] is not None and da_d["ci"][1] < 0)
          or (ranking is not None and ranking["student_ranks_worse"])):
        status = "WARN"
    else:
        status = "PASS"
    naive_rmse = models["naive"]["rmse"]["value"]
    beats = [name for name in ("teacher", "student") if models[name]["rmse"]["value"] < naive_rmse]
    honest = ("Neither model has a lower RMSE than the naive forecast" if not beats else
              "Both models have a lower RMSE than the naive forecast" if len(beats) == 2 else
              f"Only the {beats[0]} has a lower RMSE than the naive forecast")
    ci = rmse_d["ci"]
    summary = (f"Student RMSE {_fmt(s_rmse)} vs teacher {_fmt(t_rmse)} (difference {_fmt(rmse_d['value'], 3)}, 95 % "
               f"interval {_fmt(ci[0], 3)} to {_fmt(ci[1], 3)}) on {rows.n} test windows. {honest} "
               f"({_fmt(naive_rmse)}); the diebold_mariano section says whether any gap is significant.")
    if ranking is not None:
        ics = ranking["metrics"]
        vs = ics["student_vs_teacher"]
        summary += (f" Ranking the assets of each date, the cross-sectional IC is {_ic_text(ics['student'])} for the "
                    f"student and {_ic_text(ics['teacher'])} for the teacher"
                    + (f": the student ranks them worse (one-sided p = {1.0 - vs['p_value_positive']:.3g})."
                       if ranking["student_ranks_worse"] else
                       f": the student ranks them better (one-sided p = {vs['p_value_positive']:.3g})."
                       if _ranks(vs) else "."))
    threshold = (f"FAIL when the student's RMSE is materially and significantly worse: the whole 95 % interval of "
                 f"the paired difference (student − teacher) lies above {RMSE_MARGIN:.0%} of the teacher's RMSE; "
                 f"WARN when the interval lies above 0 (significant but not material), the student's RMSE is more "
                 f"than {RMSE_MARGIN:.0%} above the teacher's, or the student's directional accuracy is below the "
                 "teacher's beyond its paired interval"
                 + ("" if ranking is None else ", or the student's cross-sectional IC (per date, across the "
                    "assets) is below the teacher's at 5 % (one-sided t-test on the per-date differences)")
                 + "; PASS otherwise.")
    cols = ["fold", "rows", "first date", "last date", *(f"{n} RMSE" for n in _MODELS),
            *(f"{n} directional accuracy" for n in _MODELS)]
    notes = [f"Intervals: moving-block bootstrap over the {rows.n_dates} test dates, {BOOTSTRAP_REPS} replicates, "
             f"blocks of {rows.block} dates (max(horizon {rows.horizon}, ceil(dates^(1/3)))), seed {rows.seed}; "
             "paired: both models resampled on the same dates. Percentile intervals.",
             "Naive forecast: the random walk (no change) for returns and prices, the last realised volatility "
             "for volatility, the training share of up moves for direction (calling up at 0.5). "
             + ("MASE is not given for a direction model: the mean absolute error of a probability rewards hard "
                "0/1 calls over honest probabilities." if rows.task == "direction" else
                "MASE is each model's test MAE over the naive forecast's MAE on the training windows"
                + (f" ({rows.naive_scale:.4g})." if rows.naive_scale is not None else
                   " (not available: no training windows, or a zero naive MAE there)."))]
    if rows.ids is not None and len(np.unique(rows.ids)) > 1:
        notes.append("Several assets: the bootstrap resamples dates, each with all its assets (blocks never "
                     "straddle two assets and the correlation across assets on a date is kept); the last "
                     "replicate date may be cut to keep n rows when assets have unequal histories.")
    tables = [Table(id="accuracy", caption="Pooled test-period metrics with 95 % block-bootstrap "
                    "intervals (student − teacher: paired)"
                    + ("; the cross-sectional IC is the mean over the dates, with the 95 % interval of its t-test "
                       f"(autocovariances to lag {rows.horizon - 1}, as Diebold–Mariano's)." if ranking is not None
                       else "."),
                    columns=["model", "metric", "value", "95% low", "95% high"], rows=table_rows),
              Table(id="accuracy_by_fold", caption="Per test fold (oldest first).", columns=cols, rows=fold_table)]
    metrics: dict[str, Any] = {"rows": rows.n, "dates": rows.n_dates, "horizon": rows.horizon,
                               "block_length": rows.block, "bootstrap_reps": BOOTSTRAP_REPS, "models": models,
                               "difference": diff, "folds": folds}
    if ranking is not None:
        metrics["cross_sectional_ic"] = ranking["metrics"]
        metrics["cross_section"] = ranking["cross_section"]
        tables.append(ranking["table"])
        notes.append(ranking["note"])
    if rows.task == "direction":
        notes.append("Direction models: RMSE and MAE are those of the probability of an up move against the 0/1 "
                     "outcome (RMSE² is the Brier score); directional accuracy is read at the cut-off.")
    return Section(id="forecast_accuracy", title="Forecast accuracy", status=status,  # type: ignore[arg-type]
                   threshold=threshold, summary=summary, metrics=metrics, tables=tables, notes=notes)


def _ranks(test: Mapping[str, Any] | None) -> bool:
    """A cross-sectional IC above 0 at 5 % (one-sided): the model ranks the assets of a date."""
    return (test is not None and test.get("mean") is not None and float(test["mean"]) > 0
            and test.get("p_value_positive") is not None and float(test["p_value_positive"]) < 0.05)


def _ranking(rows: _Rows) -> dict[str, Any] | None:
    """A panel's cross-sectional IC (:func:`finlite.evaluate.forecast.cross_sectional_ic`) of the
    teacher and the student, and of the student's per-date difference from the teacher; None for
    one asset. A direction model's probabilities are ranked against the realised returns (its 0/1
    label ties half the assets of a date)."""
    if rows.ids is None:
        return None
    outcome = rows.realised if rows.task == "direction" else rows.y
    # One calendar's assets, as the evidence ranks them (jobs.forecast.forecast_evidence).
    (_, calendar), same, others = majority_calendar(rows.calendars, rows.ids)
    keep = np.isfinite(outcome) & same
    if not has_cross_section(rows.dates[keep]):  # one asset, or too few on every date to rank
        return None
    dates, outcome = rows.dates[keep], outcome[keep]
    got = {name: cross_sectional_ic(dates, outcome, rows.preds[name][keep], rows.horizon)
           for name in ("teacher", "student")}
    got["student_vs_teacher"] = cross_sectional_ic(dates, outcome, rows.preds["student"][keep], rows.horizon,
                                                   baseline=rows.preds["teacher"][keep])
    vs = got["student_vs_teacher"]
    worse = (vs["t_statistic"] is not None and vs["t_statistic"] < 0 and vs["p_value_positive"] is not None
             and 1.0 - vs["p_value_positive"] < 0.05)
    table = Table(id="cross_sectional_ic",
                  caption="Cross-sectional information coefficient: each date's Spearman correlation of forecast "
                          "and outcome across its assets, averaged over the dates (student − teacher: per date).",
                  columns=["model", "mean IC", "std across dates", "t-statistic", "p-value (two-sided)",
                           "dates with an IC", "dates left out"],
                  rows=[[name.replace("_", " "), v["mean"], v["std"], v["t_statistic"], v["p_value"], v["dates"],
                         v["dates_skipped"]] for name, v in got.items()])
    first = got["teacher"]
    note = (f"Cross-sectional IC: a date counts when it has at least {first['min_assets']} assets whose outcomes "
            "are not all equal (a forecast the same for every asset of a date scores 0 there); its t-test is Diebold–Mariano's on the per-date series "
            f"(autocovariances to lag {rows.horizon - 1}, the Harvey–Leybourne–Newbold factor, Student's t)"
            + (". A direction model is ranked against the realised returns." if rows.task == "direction" else ".")
            + (f" The {len(others)} asset(s) on another calendar than {calendar} ({', '.join(others[:5])}"
               f"{' ...' if len(others) > 5 else ''}) are left out: their returns span other days." if others else ""))
    label = "cross-sectional information coefficient" + (" (vs returns)" if rows.task == "direction" else "")
    accuracy_rows = [[name.replace("_vs_", " − "), label,
                      v["mean"], *_t_interval(v)] for name, v in got.items() if v["mean"] is not None]
    return {"metrics": got, "table": table, "note": note, "student_ranks_worse": worse, "rows": accuracy_rows,
            "cross_section": {"calendar": calendar, "assets_left_out": len(others), "left_out": others[:20]}}


def _ic_text(test: Mapping[str, Any]) -> str:
    """A cross-sectional IC with its t-statistic, to three decimals: "0.140 (t = 16.5)"."""
    mean, stat = test.get("mean"), test.get("t_statistic")
    if mean is None:
        return "n/a"
    return f"{float(mean):.3f}" + (f" (t = {float(stat):.3g})" if stat is not None and math.isfinite(stat) else "")


def _t_interval(test: Mapping[str, Any]) -> list[float | None]:
    """The 95 % interval of a mean from its t-test (:func:`~finlite.evaluate.forecast.cross_sectional_ic`):
    mean ± t(0.975, df) · |mean / t|, the HAC standard error the test used; None without a test."""
    from scipy.stats import t as student_t

    mean, stat, df = test.get("mean"), test.get("t_statistic"), test.get("df")
    if test.get("variance") == "zero" and mean is not None:  # the same IC on every date: no spread
        return [mean, mean]
    if mean is None or stat is None or df is None or not math.isfinite(stat) or stat == 0:
        return [None, None]
    half = float(student_t.ppf(0.975, df)) * abs(mean / stat)
    return [mean - half, mean + half]


# -- diebold_mariano ----------------------------------------------------------------------------
_PAIRS = (("student_vs_teacher", "student", "teacher"), ("teacher_vs_naive", "teacher", "naive"),
          ("student_vs_naive", "student", "naive"))


def _better(test: Mapping[str, Any] | None) -> bool:
    """The first forecast is significantly more accurate at 5 % (one-sided)."""
    return test is not None and float(test["statistic"]) < 0 and 1.0 - float(test["p_value_model1_worse"]) < 0.05


def _date_errors(rows: _Rows, e1: np.ndarray, e2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Errors whose squared-loss differential is the per-date mean of ``e1² − e2²`` over the
    assets (:func:`finlite.evaluate.forecast.date_mean_errors`, as the evaluation's tests)."""
    return date_mean_errors(rows.dates, e1, e2)


def _dm(rows: _Rows) -> Section:
    tests: dict[str, dict[str, Any] | None] = {}
    notes = []
    table_rows = []
    curves = []
    x = np.arange(1, rows.n_dates + 1, dtype=np.float64)
    for key, first, second in _PAIRS:
        e1, e2 = _date_errors(rows, rows.preds[first] - rows.y, rows.preds[second] - rows.y)
        try:
            t = dict(diebold_mariano(e1, e2, rows.horizon))
        except DataError as exc:
            tests[key] = None
            notes.append(f"{key}: not computed ({exc})")
            continue
        tests[key] = t
        table_rows.append([f"{first} vs {second}", t["statistic"], t["p_value"], t["p_value_model1_worse"],
                           t["mean_loss_difference"], t["rows"]])
        cx, cy = curve_points(x, np.cumsum(e1 * e1 - e2 * e2))
        curves.append(Series(name=f"{first} − {second}", x=cx, y=cy))
    st = tests["student_vs_teacher"]
    worse = st is not None and float(st["p_value_model1_worse"]) < 0.05
    t_rmse = float(np.sqrt(np.mean((rows.preds["teacher"] - rows.y) ** 2)))
    s_rmse = float(np.sqrt(np.mean((rows.preds["student"] - rows.y) ** 2)))
    # Material: the point RMSE increase above the margin (significance alone FAILs a distilled student
    # whose errors track the teacher's on a negligible worsening; R2 item 1).
    material = s_rmse > t_rmse * (1 + RMSE_MARGIN)
    teacher_beats, student_beats = _better(tests["teacher_vs_naive"]), _better(tests["student_vs_naive"])
    # On a universe, ranking the assets of a date is skill too, whatever the squared errors say
    # (a cross-sectional IC of 0.14, t = 16, was reported as "no skill": a validator's walk-through).
    ranking = rows.ranking
    ics = ranking["metrics"] if ranking is not None else {}
    teacher_ranks, student_ranks = _ranks(ics.get("teacher")), _ranks(ics.get("student"))
    # A forecaster with no demonstrated skill is no PASS (52.6 % against the naive 52.5 %, p = 0.91,
    # passed every section: a validator's review, 2026-12-04): at least WARN, saying so.
    # Too few test dates to test at all is no evidence of skill either (it was a PASS).
    no_skill = not (teacher_beats or student_beats or teacher_ranks or student_ranks)
    status = ("FAIL" if worse and material else
              "WARN" if worse or (teacher_beats and not student_beats) or (teacher_ranks and not student_ranks)
              or no_skill else "PASS")
    rise = s_rmse / t_rmse - 1.0 if t_rmse > 0 else 0.0
    vs_teacher = ("not computed" if st is None else
                  f"significantly less accurate than the teacher (one-sided p = {st['p_value_model1_worse']:.3g}, "
                  f"RMSE {rise:+.1%})" if worse else
                  f"significantly more accurate than the teacher (one-sided p = {1.0 - st['p_value_model1_worse']:.3g}, "
                  f"RMSE {rise:+.1%})" if _better(st) else
                  f"not significantly less accurate than the teacher (one-sided p = {st['p_value_model1_worse']:.3g})")
    naive = ("Both models are significantly more accurate than the naive forecast" if teacher_beats and student_beats
             else "Only the teacher is significantly more accurate than the naive forecast" if teacher_beats
             else "Only the student is significantly more accurate than the naive forecast" if student_beats
             else "Neither model is significantly more accurate than the naive forecast")
    summary = f"The student is {vs_teacher}. {naive} (5 %, one-sided)."
    if ranking is not None:
        ranked_by = [n for n, r in (("teacher", teacher_ranks), ("student", student_ranks)) if r]
        summary += (" Across the assets of each date, " + (
            "neither model ranks them better than chance" if not ranked_by else
            f"{' and '.join('the ' + n for n in ranked_by)} rank{'s' if len(ranked_by) == 1 else ''} them "
            "better than chance")
            + f" (cross-sectional IC: teacher {_ic_text(ics['teacher'])}, student {_ic_text(ics['student'])}).")
    # Independent periods: the test dates a horizon's non-overlapping outcomes span. The edge a
    # one-sample test of the hit rate against 50 % detects with 80 % power at 5 % one-sided: the
    # scale of what this test period could show about the calls (only for a model that calls one).
    periods = max(1, rows.n_dates // rows.horizon)
    # Against the better constant call, not 50 %: in a drifting market always calling up is right
    # on the share of up moves (59.5 % of the S&P 500's 5-day moves; a quant's walk-through).
    up = up_share(rows.y, rows.realised, direction=rows.task == "direction")
    up = 0.5 if up is None else up
    base = max(up, 1.0 - up)
    # One call a period: a panel's assets make many a date, so the figure would not apply there.
    edge = ((1.6449 + 0.8416) * math.sqrt(base * (1.0 - base)) / math.sqrt(periods)
            if rows.has_direction and rows.n_dates == rows.n else None)
    if no_skill:
        summary += (" No skill over the naive forecast is demonstrated on this test period"
                    + (" (too few test dates to test it)" if tests["teacher_vs_naive"] is None else "") + ".")
        if edge is not None:
            against = (f"{base:.1%}, the hit rate of always calling {'up' if up >= 0.5 else 'down'} (the share "
                       f"of {'up' if up >= 0.5 else 'down'} moves)")
            summary += (f" With {periods:,} independent test periods, a test of directional accuracy against "
                        f"{against} would detect an edge of about {edge:.1%} with 80 % power (5 %, one-sided).")
    notes.insert(0, f"Squared-error loss; the Harvey–Leybourne–Newbold correction for horizon {rows.horizon} and "
                    "Student-t p-values (evaluate.forecast.diebold_mariano). A positive statistic: the first forecast "
                    "has the larger loss. The plot shows the cumulative loss difference over the test dates: a "
                    "rising line, the first forecast losing ground.")
    if rows.n_dates < rows.n:
        notes.insert(1, f"Several assets: the tests run on the per-date mean loss differential over the assets "
                        f"({rows.n_dates} dates), so correlated assets of a date are not counted as independent.")
    threshold = ("FAIL when the student is less accurate than the teacher at 5 % (one-sided DM test) AND its RMSE is "
                 f"more than {RMSE_MARGIN:.0%} above the teacher's; WARN when it is significantly less accurate by "
                 f"at most {RMSE_MARGIN:.0%}, or the teacher is significantly more accurate than the naive forecast "
                 "and the student is not, or neither is (no demonstrated skill)"
                 + ("" if ranking is None else "; on a universe, skill is also a cross-sectional IC above 0 at 5 % "
                    "(one-sided), and WARN when the teacher ranks the assets so and the student does not")
                 + "; PASS otherwise.")
    plot = Plot(id="cumulative_loss_difference", title="Cumulative squared-error difference",
                x_label="test date (time order)", y_label="cumulative loss difference", series=curves)
    return Section(id="diebold_mariano", title="Diebold–Mariano tests", status=status,  # type: ignore[arg-type]
                   threshold=threshold, summary=summary,
                   metrics={"tests": tests, "loss": "squared", "horizon": rows.horizon, "dates": rows.n_dates,
                            "rmse_increase": rise, "material_margin": RMSE_MARGIN,
                            "skill_shown": (None if tests["teacher_vs_naive"] is None and ranking is None
                                            else not no_skill),
                            "ranks_assets": (None if ranking is None
                                             else {"teacher": teacher_ranks, "student": student_ranks}),
                            "detectable_accuracy_edge": edge,
                            # The hit rate of the better constant call, what that edge is measured from.
                            "constant_call_accuracy": base if edge is not None else None},
                   tables=[Table(id="diebold_mariano", caption="Diebold–Mariano tests of equal accuracy (HLN).",
                                 columns=["test", "statistic", "p-value (two-sided)", "p-value (first worse)",
                                          "mean loss difference", "rows"], rows=table_rows)],
                   plots=[plot] if curves else [], notes=notes)


# -- direction_agreement ------------------------------------------------------------------------
def _agreement(rows: _Rows) -> Section:
    t_up, s_up = rows.up("teacher"), rows.up("student")
    same = t_up == s_up
    value = float(same.mean())
    step = _replicates_at_once(rows.idx)
    boot = np.concatenate([same[rows.idx[start:start + step]].mean(axis=1)
                           for start in range(0, max(len(rows.idx), 1), step)])
    ci = _interval(boot)
    per_fold: list[dict[str, Any]] = []
    for k, mask in enumerate(rows.folds):
        first, last = rows.fold_dates(k)
        per_fold.append({"fold": k + 1, "rows": int(mask.sum()), "first_date": first, "last_date": last,
                         "agreement": float(same[mask].mean())})
    status = "PASS" if value >= AGREEMENT_PASS else "WARN" if value >= AGREEMENT_WARN else "FAIL"
    counts = {"both_up": int((t_up & s_up).sum()), "both_down": int((~t_up & ~s_up).sum()),
              "teacher_up_student_down": int((t_up & ~s_up).sum()),
              "teacher_down_student_up": int((~t_up & s_up).sum())}
    how = (f"at the cut-off {rows.cutoff:g}" if rows.task == "direction" else "by the sign of the forecast")
    summary = (f"Student and teacher call the same direction ({how}) on {value:.1%} of {rows.n} test windows (95 % "
               f"interval {_fmt(ci[0], 3)} to {_fmt(ci[1], 3)}); they disagree on "
               f"{counts['teacher_up_student_down'] + counts['teacher_down_student_up']} of them.")
    # A panel's windows are (asset, date) pairs: the share is of windows, not dates (a walk-through).
    unit = "test windows" if rows.n_dates < rows.n else "dates"
    plot = Plot(id="agreement_by_fold", title="Direction agreement per test fold", x_label="test fold",
                y_label=f"share of {unit} with the same direction",
                series=[Series(name="agreement", x=[float(k) for k in range(len(per_fold))],
                               y=[f["agreement"] for f in per_fold], style="bar")],
                x_ticks=[f"fold {f['fold']}" for f in per_fold])
    return Section(id="direction_agreement", title="Direction agreement", status=status,  # type: ignore[arg-type]
                   threshold=f"PASS when the share of {unit} with the same direction is >= {AGREEMENT_PASS}; WARN "
                             f">= {AGREEMENT_WARN}; FAIL below.",
                   summary=summary,
                   metrics={"agreement": {"value": value, "ci": ci}, "rows": rows.n, "counts": counts,
                            "folds": per_fold},
                   tables=[Table(id="direction_swaps", caption="Calls of the teacher (rows) and the student.",
                                 columns=["teacher \\ student", "up", "down"],
                                 rows=[["up", counts["both_up"], counts["teacher_up_student_down"]],
                                       ["down", counts["teacher_down_student_up"], counts["both_down"]]]),
                           Table(id="agreement_by_fold", caption="Direction agreement per test fold.",
                                 columns=["fold", "rows", "first date", "last date", "agreement"],
                                 rows=[[f["fold"], f["rows"], f["first_date"], f["last_date"], f["agreement"]]
                                       for f in per_fold])],
                   plots=[plot],
                   notes=[f"Interval: moving-block bootstrap, {BOOTSTRAP_REPS} replicates, blocks of {rows.block} "
                          f"dates, seed {rows.seed}."])


# -- trading ------------------------------------------------------------------------------------
def equity_curve(realised: np.ndarray, position: np.ndarray, cost_bps: float,
                 path: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, tuple[list[float], list[float]]]:
    """(net simple return per period, equity from 1 at each period's end, the curve as plotted) of
    holding ``position[t]`` over period t: ``position · (exp(r) − 1) − cost · |Δposition|`` (flat
    before the first period), compounded and stopped at 0, ruin inside a period included with
    ``path`` (:func:`finlite.evaluate.forecast.net_returns`): the curve whose summary
    :func:`finlite.evaluate.forecast.trading_view` reports. The plotted curve (x in holding
    periods from 0, y the equity) is marked at every step of each period with ``path``, as the
    drawdown is, and keeps the peak and trough of its largest drawdown (:func:`plotted_equity`)."""
    r = np.asarray(realised, dtype=np.float64)
    pos = np.asarray(position, dtype=np.float64)
    net, factors = net_returns(r, pos, cost_bps, path)
    equity = np.cumprod(np.maximum(1.0 + net, 0.0))
    return net, equity, plotted_equity(equity, factors)


def plotted_equity(equity: np.ndarray, factors: np.ndarray | None,
                   max_points: int = MAX_EQUITY_POINTS) -> tuple[list[float], list[float]]:
    """An equity curve as plotted: x in holding periods (0 the start, t + k/h the k-th of a
    period's h steps), y the equity, marked at every step of each period where ``factors`` (each
    period's equity factor at each step) are given. At most about ``max_points`` points: each of
    evenly many stretches keeps its lowest and highest point, and the peak and trough of the
    largest drawdown are kept, so the plot shows the drawdown the table reports (marks at period
    ends and evenly spaced points hid troughs: a quant's walk-through, 2026-12-05)."""
    if factors is None:
        x = np.arange(equity.size + 1, dtype=np.float64)
        y = np.r_[1.0, equity]
    else:
        h = factors.shape[1]
        y = np.r_[1.0, (np.r_[1.0, equity[:-1]][:, None] * factors).ravel()]
        x = np.r_[0.0, (np.arange(equity.size)[:, None] + np.arange(1, h + 1)[None, :] / h).ravel()]
    if y.size <= max_points:
        return [float(v) for v in x], [float(v) for v in y]
    keep = {0, y.size - 1}
    for part in np.array_split(np.arange(y.size), max(1, (max_points - 4) // 2)):
        keep.update((int(part[np.argmin(y[part])]), int(part[np.argmax(y[part])])))
    if np.isfinite(y).all():
        peak = np.maximum.accumulate(y)
        with np.errstate(invalid="ignore", divide="ignore"):
            fall = np.where(peak > 0, (peak - y) / np.where(peak > 0, peak, 1.0), 0.0)
        trough = int(np.argmax(fall))
        keep.update((trough, int(np.argmax(y[:trough + 1]))))
    order = np.array(sorted(keep))
    return [float(v) for v in x[order]], [float(v) for v in y[order]]


def _sharpe(net: np.ndarray, idx: np.ndarray, ppy: float) -> np.ndarray:
    sample = net[idx]
    sd = sample.std(axis=1, ddof=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(np.where(sd > 0, sample.mean(axis=1) / np.where(sd > 0, sd, 1.0) * math.sqrt(ppy), 0.0))


_STRATEGY_KEYS = ("annual_return", "annual_volatility", "sharpe", "max_drawdown", "turnover", "hit_rate")


def _calendar_of(rows: _Rows, asset: str | None) -> tuple[float, str]:
    """An asset's observations a year and calendar (None: the one asset of the test rows)."""
    if asset is None and rows.ids is not None and rows.ids.size:
        asset = str(rows.ids[0])  # a panel whose other assets end before the test period
    return asset_calendar(rows.calendars, asset)


def _trading_asset(rows: _Rows, mask: np.ndarray, asset: str | None, seed: int
                   ) -> tuple[dict[str, Any], list[list[Any]], list[Series], str]:
    """The trading view of one asset: metrics, table rows, equity-curve series and its status."""
    keep = np.flatnonzero(mask & np.isfinite(rows.realised))[::rows.horizon]  # non-overlapping holding periods
    per_year, calendar = _calendar_of(rows, asset)
    ppy = per_year / rows.horizon
    label = "" if asset is None else f"{asset}: "
    if keep.size < 2:
        return {"periods": int(keep.size)}, [], [], "PASS"
    r = rows.realised[keep]
    path = None if rows.paths is None else rows.paths[keep]
    out: dict[str, Any] = {"periods": int(keep.size), "periods_per_year": ppy, "calendar": calendar}
    table: list[list[Any]] = []
    curves: list[Series] = []
    nets: dict[str, np.ndarray] = {}
    for name in ("teacher", "student"):
        view = _view(rows, r, rows.preds[name][keep], ppy, path)
        up = rows.up(name)[keep]
        positions = {"long_flat": up.astype(np.float64), "long_short": np.where(up, 1.0, -1.0)}
        out[name] = {}
        for strategy, position in positions.items():
            stats = view[strategy]
            out[name][strategy] = {k: stats[k] for k in (*_STRATEGY_KEYS, "total_return", "trades", "exposure")}
            table.append([f"{label}{name}", strategy.replace("_", "/"), *(stats[k] for k in _STRATEGY_KEYS)])
            net, _, (cx, cy) = equity_curve(r, position, rows.cost_bps, path)
            nets[f"{name}_{strategy}"] = net
            curves.append(Series(name=f"{name} {strategy.replace('_', '/')}", x=cx, y=cy))
    hold = buy_and_hold(r, rows.cost_bps, ppy, path=path)
    out["buy_and_hold"] = {k: hold[k] for k in (*_STRATEGY_KEYS, "total_return", "trades", "exposure")}
    table.append([f"{label}buy and hold", "long", *(hold[k] for k in _STRATEGY_KEYS)])
    hold_net, _, (cx, cy) = equity_curve(r, np.ones_like(r), rows.cost_bps, path)
    curves.append(Series(name="buy and hold", x=cx, y=cy))
    idx = block_bootstrap_indices(int(keep.size), seed=seed)
    full = np.arange(keep.size)[None, :]
    diff_point = float(_sharpe(nets["student_long_flat"], full, ppy)[0] - _sharpe(nets["teacher_long_flat"], full,
                                                                                 ppy)[0])
    boot = {key: _sharpe(net, idx, ppy) for key, net in nets.items()}  # each strategy's resampled Sharpe, once
    diff_ci = _interval(boot["student_long_flat"] - boot["teacher_long_flat"])
    out["sharpe_difference_long_flat"] = {"value": diff_point, "ci": diff_ci}
    # Each model's better strategy against buy-and-hold, on the same resampled periods: "beats"
    # only when the interval of the difference lies above 0 (a student at 0.52 against 0.49 was
    # said to beat it, where the Sharpe's own standard error is about 0.5: a validator's review).
    # The better of the two strategies is picked after the fact: each replicate picks again, so
    # the interval carries the choice.
    known = rows.evidence_trading
    versus = known.get("sharpe_vs_buy_and_hold") if known is not None and asset is None \
        and known.get("periods") == keep.size else None
    if isinstance(versus, Mapping) and all(isinstance(versus.get(n), Mapping) for n in ("teacher", "student")):
        out["sharpe_vs_buy_and_hold"] = {n: dict(versus[n]) for n in ("teacher", "student")}
    else:
        hold_boot = _sharpe(hold_net, idx, ppy)
        out["sharpe_vs_buy_and_hold"] = _beats_hold(
            boot, hold_boot, {n: {k: out[n][k]["sharpe"] for k in ("long_flat", "long_short")}
                              for n in ("teacher", "student")}, hold["sharpe"])
    if rows.horizon > 1:
        out["start_days"] = _start_days(rows, mask, ppy)
        staggered = _staggered(rows, mask, per_year)
        if staggered is not None:
            out["staggered"] = staggered
            for name in ("teacher", "student") if asset is None else ():  # a panel's table: its books, below
                for strategy in ("long_flat", "long_short"):
                    table.append([f"{label}{name}", f"{strategy.replace('_', '/')}, staggered",
                                  *(staggered[name][strategy][k] for k in _STRATEGY_KEYS)])
            if asset is None:
                table.append([f"{label}buy and hold", "long, staggered steps",
                              *(staggered["buy_and_hold"][k] for k in _STRATEGY_KEYS)])
    status = "WARN" if diff_ci[1] is not None and diff_ci[1] < 0 else "PASS"
    return out, table, curves, status


def _beats_hold(boot: Mapping[str, np.ndarray], hold_boot: np.ndarray, sharpes: Mapping[str, Mapping[str, float]],
                hold_sharpe: float) -> dict[str, dict[str, Any]]:
    """Each model's better strategy's Sharpe minus buy-and-hold's (``sharpes``: each model's
    long/flat and long/short Sharpe), with the 95 % interval over the resampled periods (``boot``:
    each ``MODEL_STRATEGY``'s resampled Sharpe; ``hold_boot`` buy-and-hold's on the same ones).
    The better of the two strategies is picked after the fact: each replicate picks again, so the
    interval carries the choice."""
    out = {}
    for name, by in sharpes.items():
        strategy = max(("long_flat", "long_short"), key=lambda k: by[k])
        better = np.maximum(boot[f"{name}_long_flat"], boot[f"{name}_long_short"])
        out[name] = {"strategy": strategy, "value": float(by[strategy] - hold_sharpe),
                     "ci": _interval(better - hold_boot)}
    return out


def sharpe_versus_buy_and_hold(realised: np.ndarray, ups: Mapping[str, np.ndarray],
                               sharpes: Mapping[str, Mapping[str, float]], hold_sharpe: float, cost_bps: float,
                               periods_per_year: float, *, path: np.ndarray | None = None,
                               seed: int = 0) -> dict[str, dict[str, Any]]:
    """Whether each model's trading beats buy-and-hold beyond sampling noise, as the report's
    trading section judges it: its better strategy's Sharpe (``sharpes``, from
    :func:`~finlite.evaluate.forecast.trading_view` on these periods) minus buy-and-hold's, with the
    95 % moving-block bootstrap interval of the difference (:data:`BOOTSTRAP_REPS` replicates,
    ``seed``). ``realised`` holds the non-overlapping periods' log returns, ``ups`` each model's
    up calls on them (long/flat holds them, long/short is short otherwise), ``path`` each period's
    steps at h > 1. "Beats" only when the interval lies above 0: a model's Sharpe has a standard
    error of about 0.5 on a few years of daily data."""
    r = np.asarray(realised, dtype=np.float64)
    idx = block_bootstrap_indices(int(r.size), seed=seed)
    boot = {}
    for name, up in ups.items():
        up = np.asarray(up, dtype=bool)
        for strategy, position in (("long_flat", up.astype(np.float64)), ("long_short", np.where(up, 1.0, -1.0))):
            boot[f"{name}_{strategy}"] = _sharpe(equity_curve(r, position, cost_bps, path)[0], idx, periods_per_year)
    hold_boot = _sharpe(equity_curve(r, np.ones_like(r), cost_bps, path)[0], idx, periods_per_year)
    return _beats_hold(boot, hold_boot, sharpes, hold_sharpe)


def _edge_beyond_chance(per_asset: Mapping[str, Any]) -> dict[str, Any]:
    """How many of a panel's assets either model beats buy-and-hold on beyond the interval, and
    how many chance alone gives at the nominal rate (``expected_by_chance``): with no edge
    anywhere, a 95 % interval lies above zero on a nominal 2.5 % of assets. More in practice, and by how much is not known here: each model's
    better strategy is picked in every replicate, two models are judged, and the bootstrap
    interval covers less than 95 % on short test periods (a review simulated 14 % of assets at 20
    holding periods, 6 % at 1,000, on coin flips). So the count is put beside that number, not
    tested against it: 300 random walks showed an edge on 8 assets, which the model card listed
    as if they had one (a quant's walk-through, 2026-12-06)."""
    judged, edged = 0, []
    for asset, res in per_asset.items():
        versus = res.get("sharpe_vs_buy_and_hold")
        if not isinstance(versus, Mapping) or not all(isinstance(versus.get(n), Mapping) for n in ("teacher",
                                                                                                   "student")):
            continue  # too few periods to trade: nothing to judge (counted as the model card counts)
        lows = [(versus[n].get("ci") or [None])[0] for n in ("teacher", "student")]
        judged += 1
        if any(low is not None and low > 0 for low in lows):
            edged.append(str(asset))
    return {"judged": judged, "assets_with_edge": len(edged), "edge_assets": edged[:100],
            "expected_by_chance": _ONE_SIDE * judged}


def _view(rows: _Rows, realised: np.ndarray, signal: np.ndarray, ppy: float,
          path: np.ndarray | None = None) -> dict[str, Any]:
    """Long/flat and long/short on one model's forecasts over the periods ``realised`` earns: a
    direction model's probability called at its cut-off, another's forecast by its sign
    (``path``: each period's steps, for daily-marked drawdowns)."""
    if rows.task == "direction":
        return trading_view(realised, np.clip(signal, 0.0, 1.0), rows.cost_bps, ppy, kind="probability",
                            cutoff=rows.cutoff, path=path)
    return trading_view(realised, signal, rows.cost_bps, ppy, kind="forecast", path=path)


def _span(ci: list[float | None]) -> str:
    return "not computed" if ci[0] is None or ci[1] is None else f"{ci[0]:+.2f} to {ci[1]:+.2f}"


def _range(values: list[float | None]) -> str:
    got = [v for v in values if v is not None]
    return "-" if not got else f"from {min(got):.2f} to {max(got):.2f} (mean {sum(got) / len(got):.2f})"


def _start_days(rows: _Rows, mask: np.ndarray, ppy: float) -> dict[str, list[float | None]]:
    """The long/flat Sharpe (and buy-and-hold's) traded from each of the h start days: trading
    every h-th forecast from the first test day is one of h equally arbitrary choices (at h = 5 a
    long/flat Sharpe of 0.47 was one of 0.06 to 0.67 across them: a validator's review)."""
    finite = np.flatnonzero(mask & np.isfinite(rows.realised))
    out: dict[str, list[float | None]] = {"teacher": [], "student": [], "buy_and_hold": []}
    for offset in range(rows.horizon):
        keep = finite[offset::rows.horizon]
        if keep.size < 2:
            for values in out.values():
                values.append(None)
            continue
        r = rows.realised[keep]
        path = None if rows.paths is None else rows.paths[keep]  # ruin inside a period, as the main view
        for name in ("teacher", "student"):
            out[name].append(float(_view(rows, r, rows.preds[name][keep], ppy, path)["long_flat"]["sharpe"]))
        out["buy_and_hold"].append(float(buy_and_hold(r, rows.cost_bps, ppy, path=path)["sharpe"]))
    return out


def _staggered(rows: _Rows, mask: np.ndarray, per_year: float) -> dict[str, Any] | None:
    """At h > 1, the staggered book: one h-th of the capital in each of the h start days' books
    (each holding its forecast for h steps, Jegadeesh-Titman), marked every step. Its position on
    the step after row t is the mean of the calls made at t - h + 1 .. t, and it earns that step's
    return (``rows.paths[:, 0]``); the first h - 1 steps, before every book is in, are left out.
    Costs are charged on the book's net change of position. The reading no start day decides (the
    headline trades from the first test day: a quant's walk-through, 2026-12-06). None at h = 1, or
    with fewer than two steps."""
    h = rows.horizon
    if h <= 1 or rows.paths is None:
        return None
    idx = np.flatnonzero(mask)
    step = np.asarray(rows.paths[idx, 0], dtype=np.float64)
    finite = np.isfinite(step)
    stop = int(np.argmin(finite)) if not finite.all() else step.size  # the steps up to the first beyond the data
    if stop - (h - 1) < 2:
        return None
    step = step[h - 1:stop]
    kernel = np.ones(h) / h
    out: dict[str, Any] = {"steps": int(step.size), "steps_per_year": per_year}
    for name in ("teacher", "student"):
        up = rows.up(name)[idx][:stop]
        books = {}
        for strategy, call in (("long_flat", up.astype(np.float64)), ("long_short", np.where(up, 1.0, -1.0))):
            position = np.convolve(call, kernel, mode="full")[h - 1:stop]  # mean of the last h calls
            view = trading_view(step, position, rows.cost_bps, per_year, kind="position")
            books[strategy] = {k: view[strategy][k] for k in (*_STRATEGY_KEYS, "total_return")}
        out[name] = books
    hold = buy_and_hold(step, rows.cost_bps, per_year)
    out["buy_and_hold"] = {k: hold[k] for k in (*_STRATEGY_KEYS, "total_return")}
    return out


def _trading(rows: _Rows) -> Section:
    assets: list[tuple[str | None, np.ndarray]]
    if rows.ids is None or len(np.unique(rows.ids)) == 1:
        assets = [(None, np.ones(rows.n, dtype=bool))]
    else:
        assets = [(str(a), rows.ids == a) for a in np.unique(rows.ids)]
    per_asset: dict[str, Any] = {}
    table: list[list[Any]] = []
    plots: list[Plot] = []
    statuses: list[str] = []
    for k, (asset, mask) in enumerate(assets):
        res, t_rows, curves, status = _trading_asset(rows, mask, asset, rows.seed + k)
        per_asset["all" if asset is None else asset] = res
        table += t_rows
        statuses.append(status)
        if curves and len(plots) < MAX_PLOTTED_ASSETS:
            unit = period_unit(_calendar_of(rows, asset)[0])
            plots.append(Plot(id="equity_curves" if asset is None else f"equity_curves_{k + 1}",
                              title="Equity curves over the test period" + ("" if asset is None else f" ({asset})"),
                              x_label=f"holding period ({rows.horizon} {unit}(s) each)", y_label="equity (start = 1)",
                              series=curves))
    first = next(iter(per_asset.values()))
    section_status: Status = worst(statuses)
    worse = [str(asset) for (asset, _), st in zip(assets, statuses, strict=True) if st == "WARN"]
    chance: dict[str, Any] | None = None
    if len(assets) > 1:
        # Each asset's interval misses on one side 2.5 % of the time by chance alone: on 300 stocks
        # of pure random walks the student was "worse" on 10 and the section was WARN, as it would be
        # on any panel of that size (a quant's walk-through, 2026-12-06). A panel is WARN when more
        # assets are worse than chance gives (one-sided binomial at 2.5 %, at the 5 % level; the
        # assets' moves are correlated, which widens the count's spread, so this warns more, not less).
        # Only the assets that had a test count (one with too few periods, or no interval, can
        # never be worse: counted, they diluted a real finding; a review).
        from scipy.stats import binom

        tested = sum(1 for res in per_asset.values()
                     if None not in (res.get("sharpe_difference_long_flat") or {}).get("ci", [None]))
        p_value = float(binom.sf(len(worse) - 1, tested, _ONE_SIDE)) if worse else 1.0
        section_status = "WARN" if p_value < 0.05 else "PASS"
        chance = {"assets": len(assets), "tested": tested, "student_worse": len(worse),
                  "expected_by_chance": _ONE_SIDE * tested, "p_value": p_value, "worse_assets": worse}
        edge = _edge_beyond_chance(per_asset)
    used = sorted({_calendar_of(rows, asset) for asset, _ in assets}, reverse=True)
    if len(used) == 1:
        unit = period_unit(used[0][0])
        annualised = f"annualised with {used[0][0]:g}/h periods a year: {used[0][1]}, from the spacing of the series' dates"
    else:
        unit = "period"
        named = sorted((str(a), _calendar_of(rows, a)) for a, _ in assets)
        more = f" and {len(assets) - MAX_LISTED} more (in the metrics)" if len(assets) > MAX_LISTED else ""
        annualised = ("annualised with each asset's own calendar, from the spacing of its dates: "
                      + ", ".join(f"{a} {n:g} ({name})" for a, (n, name) in named[:MAX_LISTED]) + more)
    notes = [f"Positions on the predicted direction, held {rows.horizon} {unit}(s) (one forecast in "
             f"{rows.horizon} traded, so holding periods do not overlap), after {rows.cost_bps:g} bp per unit of "
             f"position change; Sharpe with a zero risk-free rate, {annualised}.",
             f"Status interval: moving-block bootstrap of the long/flat Sharpe difference, {BOOTSTRAP_REPS} "
             f"replicates, seed {rows.seed}."]
    if any("staggered" in res for res in per_asset.values() if isinstance(res, Mapping)):
        notes.append(f"Staggered (h = {rows.horizon}): 1/{rows.horizon} of the capital in each start {unit}'s book, "
                     f"each book holding its forecast for the horizon; the position after a {unit} is the mean of the "
                     f"last {rows.horizon} calls, marked and annualised by the {unit}, costs on the net change of "
                     f"position; the first {rows.horizon - 1} {unit}(s), before every book is in, are left out"
                     + (" (each asset's in metrics.assets.ASSET.staggered)." if len(assets) > 1 else
                        f"; buy-and-hold over the same {unit}s."))
    if len(assets) > MAX_PLOTTED_ASSETS:
        notes.append(f"Equity curves are plotted for the first {MAX_PLOTTED_ASSETS} of {len(assets)} assets; the "
                     "table lists them all.")
    if len(assets) > 1:
        # A panel: the counts over its assets below (and the book, on a universe), not the first
        # asset by name, which is one of many (it led the summary: a quant's walk-through, 2026-12-06).
        summary = (f"After costs, each of the {len(assets)} assets traded on its own forecasts (the table gives "
                   "each one).")
    elif "teacher" not in first:
        summary = "Too few test periods to trade (fewer than 2)."
    else:
        hold = first["buy_and_hold"]["sharpe"]
        # Both strategies, not the better one picked after the fact.
        parts = [f"the {name}'s long/flat Sharpe is {first[name]['long_flat']['sharpe']:.2f} (long/short "
                 f"{first[name]['long_short']['sharpe']:.2f})" for name in ("teacher", "student")]
        versus = first["sharpe_vs_buy_and_hold"]
        beats = [n for n in ("teacher", "student")
                 if versus[n]["ci"][0] is not None and versus[n]["ci"][0] > 0]
        spans = "; ".join(f"{n} {_span(versus[n]['ci'])}" for n in ("teacher", "student"))
        honest = ("neither model beats buy-and-hold beyond sampling noise" if not beats else
                  "both models beat buy-and-hold beyond sampling noise" if len(beats) == 2 else
                  f"only the {beats[0]} beats buy-and-hold beyond sampling noise")
        summary = (f"After costs, {parts[0]} and {parts[1]}, against {hold:.2f} for buy-and-hold: "
                   f"{honest} (95 % block-bootstrap interval of each model's better strategy's Sharpe minus "
                   f"buy-and-hold's, the strategy picked again in each replicate: {spans}). One test period is a "
                   "single path of the market: read these as illustration, not as expected returns.")
        days = first.get("start_days")
        if days:
            summary += (f" Trading one forecast in {rows.horizon} from the first test day is one of "
                        f"{rows.horizon} start days; across them the long/flat Sharpe runs "
                        + "; ".join(f"{label} {_range(days[key])}" for key, label in
                                    (("teacher", "teacher"), ("student", "student"), ("buy_and_hold", "buy-and-hold")))
                        + ".")
        book = first.get("staggered")
        if book:
            summary += (f" A staggered book, 1/{rows.horizon} of the capital in each start {unit}'s book (marked "
                        f"every {unit}, {book['steps']:,} steps), depends on no start {unit}: long/flat Sharpe "
                        f"{book['teacher']['long_flat']['sharpe']:.2f} (teacher) and "
                        f"{book['student']['long_flat']['sharpe']:.2f} (student), long/short "
                        f"{book['teacher']['long_short']['sharpe']:.2f} and {book['student']['long_short']['sharpe']:.2f}, "
                        f"against {book['buy_and_hold']['sharpe']:.2f} for buy-and-hold on the same steps.")
    metrics: dict[str, Any] = {"cost_bps": rows.cost_bps, "assets": per_asset}
    if chance is not None:
        metrics["student_worse_than_chance"] = chance
        metrics["edge_over_buy_and_hold"] = edge
        shown = ", ".join(worse[:MAX_LISTED]) + (f" and {len(worse) - MAX_LISTED} more" if len(worse) > MAX_LISTED
                                                  else "")
        untested = ("" if chance["tested"] == len(assets) else
                    f" ({len(assets) - chance['tested']} without one: too few periods or no interval)")
        tested_text = (f"Of the {len(assets)} assets, each with a trading test," if not untested else
                       f"Of the {len(assets)} assets, {chance['tested']} have a trading test{untested};")
        summary += (f" {tested_text} the student's "
                    f"long/flat Sharpe is below the teacher's beyond the interval on {len(worse) or 'none'}"
                    f"{f' ({shown})' if worse else ''}; about "
                    f"{chance['expected_by_chance']:.1f} are expected by chance (binomial p = {chance['p_value']:.3g}).")
        if edge["judged"]:  # the count the model card reads, said where the trading is (a validator's walk-through)
            summary += (f" Either model beats buy-and-hold beyond its interval on {edge['assets_with_edge']} of the "
                        f"{edge['judged']} assets; about {edge['expected_by_chance']:.1f} would by chance alone at the "
                        "nominal 2.5 % per interval, more on a short test period.")
    # What the backtest assumes, where the numbers are read (a quant's walk-through, 2026-12-06:
    # nothing said the trades fill at the signal's own close, or that an index's closes carry no
    # dividends, which buy-and-hold forgoes and a short does not pay).
    notes.append(f"Assumptions: each position is taken at the close its forecast is computed from (no lag, no "
                 f"slippage beyond the {rows.cost_bps:g} bp cost per unit traded), a risk-free rate of 0 in the Sharpe "
                 "ratios, and the prices as given: on a price index or unadjusted closes, buy-and-hold forgoes the "
                 "dividends (about 2 % a year on the S&P 500) and a short pays none, which flatters the timing "
                 "strategies against it. Judge on total-return or adjusted prices where they exist.")
    tables = [Table(id="trading", caption="Strategies on the test period, after costs.",
                    columns=["model", "strategy", "annual return", "annual volatility", "Sharpe",
                             "max drawdown", "turnover", "hit rate"], rows=table)]
    threshold = ("WARN when the student's long/flat Sharpe ratio is below the teacher's beyond the 95 % paired "
                 "block-bootstrap interval: for one asset, when it is; for a panel, when it is on more assets than "
                 "chance gives (one-sided binomial at 2.5 % per asset, p < 0.05)")
    book = _cross_sectional_book(rows) if len(assets) > 1 else None
    if book is not None:
        metrics["cross_sectional_portfolio"] = book["metrics"]
        tables.append(book["table"])
        # A universe is judged as a book first; its first asset by name is one of many (a walk-through).
        summary = book["summary"] + " " + summary
        notes.append(book["note"])
        section_status = worst([section_status, book["status"]])
        threshold += ("; or when, ranking the assets of each date, the student's quintile long/short book has a "
                      "Sharpe ratio below the teacher's beyond the 95 % paired block-bootstrap interval")
    return Section(id="trading", title="Trading view", status=section_status, threshold=threshold + "; PASS otherwise.",
                   summary=summary, metrics=metrics, tables=tables, plots=plots, notes=notes)


def _cross_sectional_book(rows: _Rows) -> dict[str, Any] | None:
    """A panel's quintile portfolios of the teacher's and the student's forecasts
    (:func:`finlite.evaluate.forecast.panel_books`, as the evidence's), with a paired moving-block bootstrap
    over the rebalancing periods of the long/short books' Sharpe difference: what a validator
    reads for a model that ranks a universe. None without a cross-section to rank (fewer than 5
    assets on every date) or with fewer than 2 rebalancing periods."""
    if rows.ids is None:
        return None
    (per_year, calendar), same, others = majority_calendar(rows.calendars, rows.ids)
    known = np.isfinite(rows.realised) & same  # one calendar's assets, as the evidence's book
    if not has_cross_section(rows.dates[known]):
        return None
    ppy = per_year / rows.horizon
    books, nets = panel_books(rows.dates[known], rows.ids[known],
                              {name: rows.preds[name][known] for name in ("teacher", "student")},
                              rows.realised[known], rows.cost_bps, per_year, horizon=rows.horizon,
                              path=rows.paths[known] if rows.paths is not None else None)
    periods = nets["teacher"].size
    if periods < 2:
        return None
    block = block_length(periods)
    idx = block_bootstrap_indices(periods, seed=rows.seed, block=block)
    diff = _value_ci(float(books["student"]["long_short"]["sharpe"] - books["teacher"]["long_short"]["sharpe"]),
                     _sharpe(nets["student"], idx, ppy) - _sharpe(nets["teacher"], idx, ppy))
    worse = diff["ci"][1] is not None and diff["ci"][1] < 0
    hold = books["teacher"]["equal_weight"]
    table_rows = []
    for name in ("teacher", "student"):
        for side, label in (("long_short", "quintile long/short"), ("long_top", "top quintile")):
            got = books[name][side]
            table_rows.append([name, label, *(got.get(key) for key in _STRATEGY_KEYS)])
    table_rows.append(["equal weight", "every asset", *(hold.get(key) for key in _STRATEGY_KEYS)])
    first = books["teacher"]
    metrics = {"quantile": first["quantile"], "periods": first["periods"], "periods_flat": first["periods_flat"],
               "assets": first["assets"], "periods_per_year": ppy, "calendar": calendar,
               "assets_left_out": len(others), "left_out": others[:20],
               "teacher": {k: first[k] for k in ("long_short", "long_top")},
               "student": {k: books["student"][k] for k in ("long_short", "long_top")},
               "equal_weight": hold, "sharpe_difference_long_short": diff, "block_length": block}
    if first.get("calendar_holes"):  # assets with missing dates, held over longer periods
        metrics["calendar_holes"] = first["calendar_holes"]
    summary = (f"Ranking the assets of each date, after costs, the quintile long/short book's Sharpe is "
               f"{first['long_short']['sharpe']:.2f} on the teacher's forecasts and "
               f"{books['student']['long_short']['sharpe']:.2f} on the student's (95 % interval of the difference: "
               f"{_span(diff['ci'])})" + ("; the student's is worse beyond it." if worse else "."))
    if rows.horizon > 1:  # one of h start days, as each asset's view says
        ranges = "; ".join(f"{name} {_range(books[name]['long_short']['sharpe_start_days'])}"
                           for name in ("teacher", "student"))
        summary += (f" Rebalancing from the first test day is one of {rows.horizon} start days; across them the "
                    f"long/short Sharpe runs {ranges}.")
    note = (f"Quintile portfolios: every {rows.horizon} date(s), the top {first['quantile']:.0%} of a date's assets by "
            "forecast (rounded down, at least one asset) bought and the bottom sold at equal weights (assets tied at "
            "a leg's last "
            "place share it), held for the "
            f"horizon, after {rows.cost_bps:g} bp per unit of weight traded; a date with fewer than "
            f"{first['min_assets']} assets holds cash ({first['periods_flat']} of {first['periods']} periods); "
            f"annualised as {calendar} ({per_year:g} a year); interval: moving-block bootstrap over the "
            f"{periods} periods, blocks of {block}, {BOOTSTRAP_REPS} replicates, seed {rows.seed}."
            + (f" The {len(others)} asset(s) on another calendar ({', '.join(others[:5])}"
               f"{' ...' if len(others) > 5 else ''}) are left out: one book rebalances on one calendar's dates."
               if others else ""))
    holes = calendar_holes_warning(first.get("calendar_holes"))
    if holes is not None:
        note += f" Warning: {holes}"
    table = Table(id="cross_sectional_portfolio", caption="Quintile portfolios across the assets, after costs.",
                  columns=["model", "book", "annual return", "annual volatility", "Sharpe", "max drawdown",
                           "turnover", "hit rate"], rows=table_rows)
    return {"metrics": metrics, "table": table, "summary": summary, "note": note, "status": "WARN" if worse else "PASS"}


# -- fold_stability -----------------------------------------------------------------------------
def _fold_stability(rows: _Rows) -> Section:
    f_rows = rows.fold_rows()
    per: dict[str, dict[str, list[float | None]]] = {}
    for name in _MODELS:
        ms = [rows.metrics(name, f) for f in f_rows]
        per[name] = {"rmse": [_scalar(m["rmse"]) for m in ms],
                     "directional_accuracy": [_scalar(m["directional_accuracy"]) for m in ms]}

    def spread(values: list[float | None]) -> float | None:
        vals = [v for v in values if v is not None]
        return float(max(vals) - min(vals)) if len(vals) >= 2 else None

    spreads = {name: {key: spread(v) for key, v in per[name].items()} for name in _MODELS}
    t_spread, s_spread = spreads["teacher"]["rmse"], spreads["student"]["rmse"]
    notes = []
    if t_spread is None or s_spread is None:
        status = "PASS"
        ratio = None
        notes.append("The test period has one fold: there is no spread across folds to compare.")
        summary = "One test fold only: the stability of errors across folds cannot be measured."
    else:
        ratio = s_spread / t_spread if t_spread > 0 else (None if s_spread == 0 else math.inf)
        status = "WARN" if s_spread > t_spread * (1 + SPREAD_MARGIN) + 1e-15 else "PASS"
        summary = (f"Across {len(f_rows)} test folds the student's RMSE ranges over {_fmt(s_spread, 3)} against the "
                   f"teacher's {_fmt(t_spread, 3)}" + ("" if ratio is None or not math.isfinite(ratio) else
                                                       f" ({ratio:.2f} times)") + ".")
    table = []
    for k in range(len(f_rows)):
        first, last = rows.fold_dates(k)
        table.append([k + 1, int(f_rows[k].shape[1]), first, last,
                      *(per[n]["rmse"][k] for n in _MODELS), *(per[n]["directional_accuracy"][k] for n in _MODELS)])
    table.append(["spread (max − min)", None, None, None, *(spreads[n]["rmse"] for n in _MODELS),
                  *(spreads[n]["directional_accuracy"] for n in _MODELS)])
    plot = Plot(id="rmse_by_fold", title="RMSE per test fold", x_label="test fold", y_label="RMSE",
                series=[Series(name=n, x=[float(k) for k in range(len(f_rows))],
                               y=[v if v is not None else float("nan") for v in per[n]["rmse"]], style="bar")
                        for n in _MODELS],
                x_ticks=[f"fold {k + 1}" for k in range(len(f_rows))])
    return Section(id="fold_stability", title="Stability across test folds", status=status,  # type: ignore[arg-type]
                   threshold=f"WARN when the spread (max − min) of the student's RMSE across test folds exceeds the "
                             f"teacher's by more than {SPREAD_MARGIN:.0%}; PASS otherwise.",
                   summary=summary,
                   metrics={"folds": len(f_rows), "per_fold": per, "spread": spreads,
                            "student_to_teacher_spread": None if ratio is None or not math.isfinite(ratio) else ratio},
                   tables=[Table(id="fold_stability", caption="Errors per test fold (oldest first).",
                                 columns=["fold", "rows", "first date", "last date", *(f"{n} RMSE" for n in _MODELS),
                                          *(f"{n} directional accuracy" for n in _MODELS)], rows=table)],
                   plots=[plot], notes=notes)


def _cross_check(rows: _Rows, evidence: Mapping[str, Any]) -> list[str]:
    """Notes where the recomputed numbers differ from forecast_evidence's (they should not)."""
    models = evidence.get("models") if isinstance(evidence, Mapping) else None
    if not isinstance(models, Mapping):
        return []
    notes = []
    for name in ("teacher", "student"):
        pooled = (models.get(name) or {}).get("pooled") or {}
        theirs = pooled.get("rmse")
        ours = float(np.sqrt(np.mean((rows.preds[name] - rows.y) ** 2)))
        if isinstance(theirs, (int, float)) and not math.isclose(theirs, ours, rel_tol=1e-6, abs_tol=1e-12):
            notes.append(f"The {name}'s RMSE here ({ours:.6g}) differs from the recorded evidence ({theirs:.6g}): "
                         "the predictions passed are not those the evidence was computed from.")
    return notes


def build_forecast_sections(inp: SeriesInputs) -> list[Section]:
    """The sections of a forecaster's report, in order: ``forecast_accuracy``,
    ``diebold_mariano``, ``direction_agreement`` and ``trading`` (not for a volatility forecast,
    which calls no direction) and ``fold_stability``.

    Raises:
        ConfigError: an unknown task, or a bad trading cost.
        DataError: predictions or realised returns that do not match the test windows.
    """
    rows = _Rows(inp)
    builders: list[Callable[[_Rows], Section]] = [_accuracy, _dm]
    if rows.objective != "volatility":
        builders += [_agreement, _trading]
    builders.append(_fold_stability)
    sections = [build(rows) for build in builders]
    sections[0].notes.extend(_cross_check(rows, inp.evidence))
    said = _tests_disagree(rows, sections[0], sections[1])
    if said:
        for section in sections[:2]:
            section.summary += " " + said
    return sections


def _tests_disagree(rows: _Rows, accuracy: Section, dm: Section) -> str | None:
    """A sentence for both summaries when the accuracy section's block-bootstrap interval of the
    RMSE difference and the Diebold–Mariano test of the student against the teacher give opposite
    verdicts at 5 %: a report said "significantly worse" (interval above 0) and "not significantly
    less accurate" (p = 0.081) of one student (a quant's walk-through, 2026-12-06). The bootstrap
    resamples runs of dates and so allows for the loss differential's autocorrelation, which the
    test models only to lag h − 1; the lag-1 autocorrelation here says how much that matters."""
    diff = (accuracy.metrics.get("difference") or {}).get("rmse") or {}
    ci = diff.get("ci") if isinstance(diff, dict) else None
    st = (dm.metrics.get("tests") or {}).get("student_vs_teacher")
    if not isinstance(ci, list) or len(ci) != 2 or None in ci or not isinstance(st, dict):
        return None
    boot_worse, dm_worse = ci[0] > 0, float(st["p_value_model1_worse"]) < 0.05
    if boot_worse == dm_worse:
        return None
    e1, e2 = _date_errors(rows, rows.preds["student"] - rows.y, rows.preds["teacher"] - rows.y)
    d = e1 * e1 - e2 * e2
    rho = float(np.corrcoef(d[:-1], d[1:])[0, 1]) if d.size > 2 and np.std(d[:-1]) > 0 and np.std(d[1:]) > 0 else None
    lag = f"; the loss difference's lag-1 autocorrelation is {rho:+.2f}" if rho is not None else ""
    return (f"The accuracy section's block-bootstrap interval of the RMSE difference and the Diebold–Mariano test "
            f"disagree at 5 % ({'only the interval' if boot_worse else 'only the test'} finds the student worse): "
            f"the bootstrap resamples runs of {rows.block} dates and so allows for the loss difference's "
            f"autocorrelation, which the test models only to lag {rows.horizon - 1}{lag}. Read the student as "
            "borderline, not as clearly worse or clearly not.")
