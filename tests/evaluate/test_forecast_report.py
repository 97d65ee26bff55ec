"""The forecaster's report sections, checked against forecast_evidence, scipy and the bootstrap's coverage."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from finlite.data.market import MarketSpec, PreparedSeries, prepare_series
from finlite.errors import ConfigError, DataError
from finlite.evaluate.forecast_report import (
    SeriesInputs,
    block_bootstrap_indices,
    block_length,
    build_forecast_sections,
    date_bootstrap_indices,
    equity_curve,
)
from finlite.jobs.forecast import forecast_evidence, realised_log_returns
from tests.conftest import make_prices

IDS = ["forecast_accuracy", "diebold_mariano", "direction_agreement", "trading", "fold_stability"]


def _series(objective: str = "return", n: int = 600) -> PreparedSeries:
    return prepare_series(make_prices(n), MarketSpec(objective=objective, window=10, volume_column="volume"))


def _inputs(series: PreparedSeries, teacher: np.ndarray, student: np.ndarray, cutoff: float | None = None,
            cost_bps: float = 1.0) -> SeriesInputs:
    evidence = forecast_evidence(series, {"teacher": teacher, "student": student}, cutoff=cutoff, cost_bps=cost_bps)
    return SeriesInputs(series=series, task=series.task, cutoff=cutoff, teacher_test=teacher, student_test=student,
                        teacher_train=None, student_train=None, realised=realised_log_returns(series),
                        evidence=evidence, cost_bps=cost_bps, seed=0)


def _forecasts(series: PreparedSeries, student_noise: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = series.windows_test.y
    teacher = 0.3 * y + 0.005 * rng.normal(size=y.size)
    return teacher, teacher + student_noise * rng.normal(size=y.size)


@pytest.fixture(scope="module")
def series() -> PreparedSeries:
    return _series()


# -- the bootstrap ------------------------------------------------------------------------------
def test_block_indices_are_runs_of_consecutive_rows() -> None:
    assert block_length(1000) == 10 and block_length(27) == 3 and block_length(1) == 1
    # Overlapping h-step windows: the block is at least the horizon (R2 item 12), at most n.
    assert block_length(250, 21) == 21 and block_length(250, 1) == 7 and block_length(5, 21) == 5
    idx = block_bootstrap_indices(100, reps=50, seed=1)
    assert idx.shape == (50, 100) and idx.min() >= 0 and idx.max() <= 99
    block = block_length(100)  # 5
    runs = idx.reshape(50, -1, block)
    assert (np.diff(runs, axis=2) == 1).all()
    assert np.array_equal(idx, block_bootstrap_indices(100, reps=50, seed=1))
    assert not np.array_equal(idx, block_bootstrap_indices(100, reps=50, seed=2))
    with pytest.raises(ConfigError, match="reps"):
        block_bootstrap_indices(10, reps=0)
    with pytest.raises(ConfigError, match="'n'"):
        block_bootstrap_indices(0)


def test_block_bootstrap_covers_the_mean_of_a_dependent_series() -> None:
    """A 95 % interval of the mean of an AR(1) series (phi = 0.5) covers the true mean (0) at
    about the nominal rate with blocks, and clearly less often without (iid resampling ignores
    the autocorrelation). Moving-block percentile intervals run a little short in samples this
    small (about 0.88 here), hence the lower bound."""
    rng = np.random.default_rng(0)
    n, sims, reps = 400, 200, 400
    covered = {"block": 0, "iid": 0}
    for s in range(sims):
        e = rng.normal(size=n + 50)
        x = np.zeros(n + 50)
        for t in range(1, n + 50):
            x[t] = 0.5 * x[t - 1] + e[t]
        x = x[50:]
        for name, block in (("block", None), ("iid", 1)):
            means = x[block_bootstrap_indices(n, reps=reps, seed=s, block=block)].mean(axis=1)
            lo, hi = np.percentile(means, [2.5, 97.5])
            covered[name] += int(lo <= 0.0 <= hi)
    block_rate, iid_rate = covered["block"] / sims, covered["iid"] / sims
    assert 0.82 <= block_rate <= 0.99
    assert block_rate > iid_rate + 0.1


# -- sections -----------------------------------------------------------------------------------
def test_sections_ids_json_and_independent_numbers(series: PreparedSeries) -> None:
    teacher, student = _forecasts(series, 0.001)
    inp = _inputs(series, teacher, student)
    sections = build_forecast_sections(inp)
    assert [s.id for s in sections] == IDS
    for s in sections:
        json.dumps(s.to_dict(), allow_nan=False)
        assert s.status in ("PASS", "WARN", "FAIL") and s.threshold and s.summary
    acc, dm, agree, trading, folds = sections
    ev = inp.evidence["models"]
    y = series.windows_test.y
    naive = series.windows_test.naive
    # Point metrics against forecast_evidence and by hand.
    for name in ("teacher", "student", "naive"):
        m = acc.metrics["models"][name]
        assert m["rmse"]["value"] == pytest.approx(ev[name]["pooled"]["rmse"], rel=1e-9)
        lo, hi = m["rmse"]["ci"]
        assert lo <= m["rmse"]["value"] <= hi
    t = acc.metrics["models"]["teacher"]
    train_naive_mae = np.mean(np.abs(series.windows_train.naive - series.windows_train.y.astype(np.float64)))
    assert t["mase"]["value"] == pytest.approx(np.mean(np.abs(teacher - y)) / train_naive_mae, rel=1e-9)
    assert acc.metrics["models"]["naive"]["mase"]["value"] == pytest.approx(
        np.mean(np.abs(naive - y)) / train_naive_mae, rel=1e-9)
    assert t["information_coefficient"]["value"] == pytest.approx(stats.spearmanr(teacher, y).statistic, abs=1e-9)
    moved = y != 0
    assert t["directional_accuracy"]["value"] == pytest.approx(np.mean(np.sign(teacher[moved]) == np.sign(y[moved])))
    assert acc.metrics["models"]["naive"]["directional_accuracy"]["value"] is None  # a zero change calls nothing
    diff = acc.metrics["difference"]["rmse"]
    assert diff["value"] == pytest.approx(ev["student"]["pooled"]["rmse"] - ev["teacher"]["pooled"]["rmse"], rel=1e-9)
    fold_rmse = [f["teacher"]["rmse"] for f in acc.metrics["folds"]]
    assert fold_rmse == pytest.approx([f["rmse"] for f in ev["teacher"]["folds"]], rel=1e-9)
    # Diebold–Mariano: the evidence's student-vs-teacher test.
    st = dm.metrics["tests"]["student_vs_teacher"]
    assert st["statistic"] == pytest.approx(ev["student"]["diebold_mariano_vs_teacher"]["statistic"], rel=1e-9)
    assert dm.metrics["tests"]["teacher_vs_naive"]["p_value"] == pytest.approx(
        ev["teacher"]["pooled"]["diebold_mariano_vs_naive"]["p_value"], rel=1e-9)
    # Agreement and trading against the evidence.
    assert agree.metrics["agreement"]["value"] == pytest.approx(ev["student"]["agreement_vs_teacher"])
    view = inp.evidence["trading"]
    got = trading.metrics["assets"]["all"]
    for name in ("teacher", "student"):
        for strategy in ("long_flat", "long_short"):
            assert got[name][strategy]["sharpe"] == pytest.approx(view[name][strategy]["sharpe"], rel=1e-9)
    assert got["buy_and_hold"]["annual_return"] == pytest.approx(view["buy_and_hold"]["annual_return"], rel=1e-9)
    curves = {s.name: s for s in trading.plots[0].series}
    assert set(curves) == {"teacher long/flat", "teacher long/short", "student long/flat", "student long/short",
                           "buy and hold"}
    assert curves["student long/short"].y[-1] == pytest.approx(view["student"]["long_short"]["equity"]["final"])
    assert all(len(s.x) <= 401 and s.y[0] == 1.0 for s in curves.values())
    # The plotted curve falls as far as the table says (its peak and trough are kept).
    for name in ("teacher", "student"):
        for strategy in ("long_flat", "long_short"):
            y = np.asarray(curves[f"{name} {strategy.replace('_', '/')}"].y)
            plotted = float(np.max(1.0 - y / np.maximum.accumulate(y)))
            assert plotted == pytest.approx(got[name][strategy]["max_drawdown"], rel=1e-9, abs=1e-12)
    assert folds.metrics["folds"] == 3 and len(folds.tables[0].rows) == 4
    assert "naive" in acc.summary and "buy-and-hold" in trading.summary


def test_long_series_keeps_bounded_points() -> None:
    # The build's time is measured by bench/report.py (the market report), not asserted here.
    series = _series(n=1400)
    teacher, student = _forecasts(series, 0.001)
    sections = build_forecast_sections(_inputs(series, teacher, student))
    trading = next(s for s in sections if s.id == "trading")
    assert len(series.y_test) > 201
    # The backtest's assumptions are said with its numbers (a quant's walk-through, 2026-12-06).
    assert any(n.startswith("Assumptions: each position is taken at the close its forecast is computed from") and
               "dividends" in n and "risk-free rate of 0" in n for n in trading.notes)
    # Equity curves keep up to about 401 points (here every period), peaks and troughs kept.
    periods = trading.metrics["assets"]["all"]["periods"]
    assert 201 < periods + 1 <= 401 and all(len(s.x) == periods + 1 for s in trading.plots[0].series)
    dm = next(s for s in sections if s.id == "diebold_mariano")
    assert all(len(s.x) == 201 for s in dm.plots[0].series)


def test_identical_student_passes_and_a_noisy_one_fails(series: PreparedSeries) -> None:
    teacher, _ = _forecasts(series, 0.0)
    same = {s.id: s for s in build_forecast_sections(_inputs(series, teacher, teacher.copy()))}
    assert {k: s.status for k, s in same.items()} == {k: "PASS" for k in IDS}
    assert same["direction_agreement"].metrics["agreement"]["value"] == 1.0
    assert same["forecast_accuracy"].metrics["difference"]["rmse"]["value"] == 0.0
    _, noisy = _forecasts(series, 0.05)
    bad = {s.id: s for s in build_forecast_sections(_inputs(series, teacher, noisy))}
    assert bad["forecast_accuracy"].status == "FAIL"
    assert bad["forecast_accuracy"].metrics["difference"]["rmse"]["ci"][0] > 0
    assert bad["diebold_mariano"].status == "FAIL"
    assert bad["direction_agreement"].status == "FAIL"


def test_agreement_thresholds(series: PreparedSeries) -> None:
    teacher, _ = _forecasts(series, 0.0)
    n = teacher.size
    for flips, status in ((0, "PASS"), (int(np.ceil(0.07 * n)), "WARN"), (int(np.ceil(0.2 * n)), "FAIL")):
        student = teacher.copy()
        student[:flips] = -student[:flips]
        section = next(s for s in build_forecast_sections(_inputs(series, teacher, student))
                       if s.id == "direction_agreement")
        flipped = np.count_nonzero(np.sign(teacher[:flips]))  # a zero forecast keeps its sign
        assert section.metrics["agreement"]["value"] == pytest.approx(1 - flipped / n)
        assert section.status == status


def test_fold_stability_warns_when_one_fold_breaks(series: PreparedSeries) -> None:
    teacher, _ = _forecasts(series, 0.0)
    student = teacher.copy()
    last = np.flatnonzero(np.isin(series.split.test, series.split.test_folds[-1]))
    student[last] += 0.03  # only the last fold goes wrong
    section = next(s for s in build_forecast_sections(_inputs(series, teacher, student)) if s.id == "fold_stability")
    spread = section.metrics["spread"]
    assert spread["student"]["rmse"] > 1.5 * spread["teacher"]["rmse"]
    assert section.status == "WARN"


def test_direction_task() -> None:
    series = _series("direction")
    rng = np.random.default_rng(1)
    teacher = np.clip(0.55 + 0.1 * rng.normal(size=len(series.y_test)), 0, 1)
    student = np.clip(teacher + 0.01 * rng.normal(size=teacher.size), 0, 1)
    inp = _inputs(series, teacher, student, cutoff=0.55)
    sections = {s.id: s for s in build_forecast_sections(inp)}
    assert list(sections) == IDS
    ev = inp.evidence["models"]
    y = series.windows_test.y
    acc = sections["forecast_accuracy"].metrics["models"]
    assert acc["student"]["directional_accuracy"]["value"] == pytest.approx(np.mean((student >= 0.55) == (y > 0.5)))
    assert acc["naive"]["directional_accuracy"]["value"] == pytest.approx(
        ev["naive"]["pooled"]["directional_accuracy"])
    assert sections["direction_agreement"].metrics["agreement"]["value"] == pytest.approx(
        np.mean((student >= 0.55) == (teacher >= 0.55)))
    got = sections["trading"].metrics["assets"]["all"]["student"]["long_flat"]["sharpe"]
    assert got == pytest.approx(inp.evidence["trading"]["student"]["long_flat"]["sharpe"], rel=1e-9)
    # No MASE or MAPE of a probability against 0/1 outcomes, in the section or the evidence.
    assert all(acc[name]["mase"]["value"] is None for name in ("teacher", "student", "naive"))
    assert "MASE" not in {row[1] for row in sections["forecast_accuracy"].tables[0].rows}
    assert any("MASE is not given for a direction model" in n for n in sections["forecast_accuracy"].notes)
    assert not {"mase", "mape", "mape_skipped"} & ev["teacher"]["pooled"].keys()
    assert not {"mase", "mape"} & ev["student"]["folds"][0].keys()


def test_a_forecaster_without_skill_is_told_so_and_noise_does_not_beat_buy_and_hold() -> None:
    """A coin-flip direction forecaster passed every section and was said to beat buy-and-hold on
    0.52 against 0.49 (a validator's review, 2026-12-04): no demonstrated skill is a WARN with the
    edge the test period can detect, and "beats" needs the Sharpe difference's interval above 0."""
    series = _series("direction")
    rng = np.random.default_rng(5)
    teacher = rng.uniform(0.3, 0.7, len(series.y_test))  # no information about the move
    student = np.clip(teacher + 0.005 * rng.normal(size=teacher.size), 0, 1)
    sections = {s.id: s for s in build_forecast_sections(_inputs(series, teacher, student, cutoff=0.5))}
    dm = sections["diebold_mariano"]
    assert dm.metrics["tests"]["teacher_vs_naive"] is not None and dm.metrics["skill_shown"] is False
    assert dm.status == "WARN" and "No skill over the naive forecast is demonstrated" in dm.summary
    periods = dm.metrics["dates"]
    # Against the better constant call (the share of up moves, or of down moves), not 50 %: a
    # drifting market's always-up hit rate is the benchmark (a quant's walk-through, 2026-12-06).
    up = float(np.mean(np.asarray(series.windows_test.y) == 1))  # a direction label: no move counts as down
    base = max(up, 1 - up)
    assert dm.metrics["detectable_accuracy_edge"] == pytest.approx(
        (stats.norm.ppf(0.95) + stats.norm.ppf(0.8)) * np.sqrt(base * (1 - base)) / np.sqrt(periods), rel=1e-4)
    assert f"a test of directional accuracy against {base:.1%}, the hit rate of always calling " in dm.summary
    trading = sections["trading"]
    versus = trading.metrics["assets"]["all"]["sharpe_vs_buy_and_hold"]
    for name in ("teacher", "student"):
        lo, hi = versus[name]["ci"]
        assert lo is not None and hi is not None and lo < versus[name]["value"] < hi
        assert not lo > 0  # noise
    assert "neither model beats buy-and-hold beyond sampling noise" in trading.summary
    assert "start days" not in trading.summary  # horizon 1: one way to trade


def test_at_a_longer_horizon_every_start_day_is_shown() -> None:
    """Trading every h-th forecast from the first test day is one of h choices: the Sharpe of
    each start day, computed again here from the realised returns."""
    series = prepare_series(make_prices(600), MarketSpec(objective="return", window=10, horizon=5,
                                                         volume_column="volume"))
    teacher, student = _forecasts(series, 0.001)
    inp = _inputs(series, teacher, student)
    trading = next(s for s in build_forecast_sections(inp) if s.id == "trading")
    days = trading.metrics["assets"]["all"]["start_days"]
    assert len(days["teacher"]) == 5 and "one of 5 start days" in trading.summary
    teach = [v for v in days["teacher"] if v is not None]
    assert f"teacher from {min(teach):.2f} to {max(teach):.2f} (mean {sum(teach) / len(teach):.2f})" in trading.summary
    finite = np.flatnonzero(np.isfinite(inp.realised))
    for offset in (0, 3):
        keep = finite[offset::5]
        r = inp.realised[keep]
        position = (teacher[keep] > 0).astype(float)  # long/flat, 1 bp per unit of position change
        net = position * np.expm1(r) - 1e-4 * np.abs(np.diff(np.r_[0.0, position]))
        by_hand = np.mean(net) / np.std(net, ddof=1) * np.sqrt(252 / 5)
        assert days["teacher"][offset] == pytest.approx(by_hand, rel=1e-6)
    assert days["teacher"][0] == pytest.approx(trading.metrics["assets"]["all"]["teacher"]["long_flat"]["sharpe"])


def test_at_a_longer_horizon_a_staggered_book_is_shown_as_computed_by_hand() -> None:
    """One h-th of the capital in each start day's book: the position after day t is the mean of
    the calls made on days t - 4 .. t, earning the next day's return (from the prices here), and
    the Sharpe of its daily net returns is in the table and the summary (a quant's walk-through:
    the headline trades from the first test day, one of five)."""
    from finlite.jobs.forecast import realised_paths

    prices = make_prices(600)
    series = prepare_series(prices, MarketSpec(objective="return", window=10, horizon=5, volume_column="volume"))
    teacher, student = _forecasts(series, 0.001)
    plain = _inputs(series, teacher, student)
    inp = SeriesInputs(**{**plain.__dict__, "paths": realised_paths(series)})
    trading = next(s for s in build_forecast_sections(inp) if s.id == "trading")
    book = trading.metrics["assets"]["all"]["staggered"]
    close = prices.set_index(pd.to_datetime(prices["date"]))["close"]
    dates = pd.to_datetime(np.asarray(series.windows_test.dates))
    at = close.index.get_indexer(dates)
    step = np.log(close.to_numpy()[np.minimum(at + 1, len(close) - 1)] / close.to_numpy()[at])
    step[at + 1 >= len(close)] = np.nan
    usable = int(np.argmin(np.isfinite(step))) if not np.isfinite(step).all() else step.size
    call = (teacher > 0).astype(float)
    position = np.array([call[t - 4:t + 1].mean() for t in range(4, usable)])
    r = step[4:usable]
    net = position * np.expm1(r) - 1e-4 * np.abs(np.diff(np.r_[0.0, position]))
    by_hand = np.mean(net) / np.std(net, ddof=1) * np.sqrt(252)
    assert book["steps"] == r.size
    assert book["teacher"]["long_flat"]["sharpe"] == pytest.approx(by_hand, rel=1e-6)
    hold = np.expm1(r) - 1e-4 * np.r_[1.0, np.zeros(r.size - 1)]
    assert book["buy_and_hold"]["sharpe"] == pytest.approx(np.mean(hold) / np.std(hold, ddof=1) * np.sqrt(252),
                                                           rel=1e-6)
    short = np.where(teacher > 0, 1.0, -1.0)
    position = np.array([short[t - 4:t + 1].mean() for t in range(4, usable)])
    net = position * np.expm1(r) - 1e-4 * np.abs(np.diff(np.r_[0.0, position]))
    assert book["teacher"]["long_short"]["sharpe"] == pytest.approx(np.mean(net) / np.std(net, ddof=1) * np.sqrt(252),
                                                                     rel=1e-6)
    assert f"long/flat Sharpe {book['teacher']['long_flat']['sharpe']:.2f} (teacher)" in trading.summary
    assert "A staggered book, 1/5 of the capital in each start day's book" in trading.summary
    labels = [(row[0], row[1]) for row in trading.tables[0].rows]
    assert ("teacher", "long/flat, staggered") in labels and ("buy and hold", "long, staggered steps") in labels
    # Without the paths (no daily steps), or at h = 1, there is no staggered book.
    assert "staggered" not in next(s for s in build_forecast_sections(plain) if s.id == "trading").metrics[
        "assets"]["all"]


def test_the_reports_drawdowns_are_marked_daily_as_the_evidence_is() -> None:
    """At h > 1 with the paths given, the trading section's drawdowns are the evidence's (marked on
    every date inside each holding period); a path that does not end at realised is refused."""
    from finlite.jobs.forecast import realised_paths

    series = prepare_series(make_prices(600), MarketSpec(objective="return", window=10, horizon=5,
                                                         volume_column="volume"))
    teacher, student = _forecasts(series, 0.001)
    plain = _inputs(series, teacher, student)
    paths = realised_paths(series)
    marked = SeriesInputs(**{**plain.__dict__, "paths": paths})
    trading = next(s for s in build_forecast_sections(marked) if s.id == "trading").metrics["assets"]["all"]
    ends = next(s for s in build_forecast_sections(plain) if s.id == "trading").metrics["assets"]["all"]
    evidence = plain.evidence["trading"]
    for name in ("teacher", "student"):
        for strategy in ("long_flat", "long_short"):
            assert trading[name][strategy]["max_drawdown"] == evidence[name][strategy]["max_drawdown"]
            assert trading[name][strategy]["max_drawdown"] >= ends[name][strategy]["max_drawdown"]
    assert trading["buy_and_hold"]["max_drawdown"] == evidence["buy_and_hold"]["max_drawdown"]
    with pytest.raises(DataError, match=r"pass finlite\.data\.market\.realised_paths"):
        build_forecast_sections(SeriesInputs(**{**plain.__dict__, "paths": paths[:, :3]}))


def test_volatility_has_no_direction_sections() -> None:
    series = _series("volatility")
    y = series.windows_test.y
    sections = build_forecast_sections(_inputs(series, y * 1.1, y * 1.2))
    assert [s.id for s in sections] == ["forecast_accuracy", "diebold_mariano", "fold_stability"]
    assert sections[0].metrics["models"]["teacher"]["directional_accuracy"]["value"] is None


def test_equity_curve_by_hand() -> None:
    r = np.log(np.array([1.1, 0.9, 1.05]))
    net, equity, (x, y) = equity_curve(r, np.array([1.0, 1.0, -1.0]), cost_bps=10.0)
    expected = np.array([0.1 - 0.001, -0.1, -0.05 - 0.002])
    assert net == pytest.approx(expected)
    assert equity == pytest.approx(np.cumprod(1 + expected))
    assert x == [0.0, 1.0, 2.0, 3.0] and y == pytest.approx([1.0, *np.cumprod(1 + expected)])
    # Held two days a period, the plot is marked at each day, as the drawdown is: a period that
    # ends up after falling 30 % on its first day shows that fall (period ends alone hid it).
    path = np.log(np.array([[0.7, 1.2], [1.0, 1.1]]))
    _, equity, (x, y) = equity_curve(path[:, -1], np.ones(2), cost_bps=0.0, path=path)
    assert equity == pytest.approx([1.2, 1.32])
    assert x == [0.0, 0.5, 1.0, 1.5, 2.0] and y == pytest.approx([1.0, 0.7, 1.2, 1.2, 1.32])


@given(st.lists(st.floats(-0.2, 0.2), min_size=2, max_size=3000), st.integers(9, 60))
@settings(max_examples=60, deadline=None)
def test_a_plotted_equity_curve_keeps_its_ends_extremes_and_largest_drawdown(steps: list[float], points: int) -> None:
    """However many periods, the plotted curve keeps its first and last point, its highest and
    lowest, and falls exactly as far as the whole curve does (max drawdown, computed here)."""
    from finlite.evaluate.forecast_report import plotted_equity

    equity = np.cumprod(1.0 + np.asarray(steps))
    x, y = plotted_equity(equity, None, max_points=points)
    whole = np.r_[1.0, equity]
    assert len(x) <= max(points, 2 * ((points - 4) // 2) + 4) and x == sorted(x)
    assert (x[0], y[0]) == (0.0, 1.0) and (x[-1], y[-1]) == (float(equity.size), float(equity[-1]))
    assert max(y) == whole.max() and min(y) == whole.min()
    def fall(v: Any) -> float:
        return float(np.max(1.0 - np.asarray(v) / np.maximum.accumulate(v)))

    assert fall(y) == fall(whole)
    assert all(whole[round(a)] == b for a, b in zip(x, y, strict=True))  # points of the curve itself


def test_bad_inputs_fail_closed(series: PreparedSeries) -> None:
    teacher, student = _forecasts(series, 0.001)
    inp = _inputs(series, teacher, student)
    inp.student_test = student[:-1]
    with pytest.raises(DataError, match="student's test predictions hold"):
        build_forecast_sections(inp)
    inp.student_test = student
    inp.task = "price"
    with pytest.raises(ConfigError, match="task"):
        build_forecast_sections(inp)
    inp.task = "forecast"
    inp.realised = inp.realised[:3]
    with pytest.raises(DataError, match="realised"):
        build_forecast_sections(inp)
    inp.realised = realised_log_returns(series)
    inp.teacher_test = np.where(np.arange(teacher.size) == 0, np.nan, teacher)
    with pytest.raises(DataError, match="finite"):
        build_forecast_sections(inp)


# -- R2 audit: independent DM, the material rule, panels ----------------------------------------
def _dm_by_hand(e1: np.ndarray, e2: np.ndarray, h: int) -> tuple[float, float]:
    """Diebold–Mariano (1995) with the Harvey–Leybourne–Newbold (1997) factor, written out: the
    statistic and the one-sided p-value that forecast 1 is less accurate (Student t, n − 1 df)."""
    return _dm_of_differential(e1**2 - e2**2, h)


def _dm_of_differential(d: np.ndarray, h: int) -> tuple[float, float]:
    n = d.size
    dc = d - d.mean()
    gamma = [np.sum(dc[k:] * dc[:n - k]) / n for k in range(h)]
    dm = d.mean() / np.sqrt((gamma[0] + 2 * sum(gamma[1:])) / n)
    hln = np.sqrt((n + 1 - 2 * h + h * (h - 1) / n) / n)
    return float(hln * dm), float(stats.t.sf(hln * dm, n - 1))


def test_diebold_mariano_against_a_hand_computation() -> None:
    series = prepare_series(make_prices(500), MarketSpec(objective="return", window=10, volume_column="volume",
                                                         horizon=3))
    teacher, student = _forecasts(series, 0.004, seed=5)
    dm = next(s for s in build_forecast_sections(_inputs(series, teacher, student)) if s.id == "diebold_mariano")
    y = series.windows_test.y.astype(np.float64)
    stat, p = _dm_by_hand(student - y, teacher - y, 3)
    got = dm.metrics["tests"]["student_vs_teacher"]
    assert got["statistic"] == pytest.approx(stat, rel=1e-9)
    assert got["p_value_model1_worse"] == pytest.approx(p, rel=1e-9, abs=1e-15)
    assert got["hln_factor"] == pytest.approx(np.sqrt((y.size + 1 - 6 + 6 / y.size) / y.size), rel=1e-12)


def test_a_significant_but_negligible_worsening_warns_and_a_material_one_fails(series: PreparedSeries) -> None:
    """Errors 1 % larger on every row are hugely significant (DM p ~ 0) but not material: WARN, not
    FAIL; 12 % larger: FAIL in both sections (R2 item 1)."""
    teacher, _ = _forecasts(series, 0.0)
    y = series.windows_test.y.astype(np.float64)
    small = {s.id: s for s in build_forecast_sections(_inputs(series, teacher, y + 1.01 * (teacher - y)))}
    acc, dm = small["forecast_accuracy"], small["diebold_mariano"]
    assert dm.metrics["tests"]["student_vs_teacher"]["p_value_model1_worse"] < 1e-6
    assert acc.metrics["difference"]["rmse"]["ci"][0] > 0
    assert acc.status == "WARN" and dm.status == "WARN"
    assert dm.metrics["rmse_increase"] == pytest.approx(0.01, rel=1e-6)
    big = {s.id: s for s in build_forecast_sections(_inputs(series, teacher, y + 1.12 * (teacher - y)))}
    assert big["forecast_accuracy"].status == "FAIL" and big["diebold_mariano"].status == "FAIL"
    assert "5%" in big["diebold_mariano"].threshold and "5%" in big["forecast_accuracy"].threshold


def _panel(assets: int = 3, n: int = 400) -> PreparedSeries:
    frames = []
    for k in range(assets):
        f = make_prices(n, seed=10 + k)
        f["ticker"] = f"A{k}"
        frames.append(f)
    import pandas as pd

    return prepare_series(pd.concat(frames, ignore_index=True),
                          MarketSpec(objective="return", window=10, volume_column="volume", id_column="ticker"))


def test_a_panel_resamples_whole_dates_and_tests_the_per_date_differential() -> None:
    series = _panel()
    dates = np.asarray(series.windows_test.dates).astype("datetime64[D]")
    codes = np.unique(dates, return_inverse=True)[1].ravel()
    per_date = np.bincount(codes)
    assert (per_date == 3).all()  # balanced panel
    idx = date_bootstrap_indices(dates, reps=40, seed=2, block=4)
    assert idx.shape == (40, dates.size)
    drawn = np.stack([np.bincount(codes[row], minlength=per_date.size) for row in idx])
    assert (drawn % 3 == 0).all()  # every drawn date comes with all three assets
    teacher, student = _forecasts(series, 0.004, seed=1)
    dm = next(s for s in build_forecast_sections(_inputs(series, teacher, student)) if s.id == "diebold_mariano")
    y = series.windows_test.y.astype(np.float64)
    d = np.bincount(codes, weights=(student - y) ** 2 - (teacher - y) ** 2) / per_date
    stat, _ = _dm_of_differential(d, 1)
    got = dm.metrics["tests"]["student_vs_teacher"]
    assert got["rows"] == per_date.size and dm.metrics["dates"] == per_date.size
    assert got["statistic"] == pytest.approx(stat, rel=1e-9)
    assert got["mean_loss_difference"] == pytest.approx(d.mean(), rel=1e-9)


def test_a_seven_day_market_is_annualised_with_365_periods_in_the_evidence_and_the_report() -> None:
    """A crypto series trades every calendar day: its Sharpe ratio, return and volatility were
    annualised with 252 periods a year (a walk-through as a quant, 2026-12-05)."""
    from finlite.evaluate.forecast import buy_and_hold, trading_view

    frame = make_prices(600)
    frame["date"] = pd.date_range("2020-01-01", periods=600, freq="D").strftime("%Y-%m-%d")
    series = prepare_series(frame, MarketSpec(window=10, volume_column="volume"))
    teacher, student = _forecasts(series, 0.002)
    inp = _inputs(series, teacher, student, cost_bps=2.0)
    trading = inp.evidence["trading"]
    assert trading["periods_per_year"] == 365.0 and trading["calendar"] == "calendar days, a 7-day market"
    realised = realised_log_returns(series)
    by_hand = trading_view(realised, teacher, 2.0, 365.0)
    assert trading["teacher"]["long_flat"]["sharpe"] == pytest.approx(by_hand["long_flat"]["sharpe"], rel=1e-12)
    assert trading["buy_and_hold"]["annual_volatility"] == \
        pytest.approx(buy_and_hold(realised, 2.0, 365.0)["annual_volatility"], rel=1e-12)
    section = next(s for s in build_forecast_sections(inp) if s.id == "trading")
    assert section.metrics["assets"]["all"]["periods_per_year"] == 365.0
    assert section.metrics["assets"]["all"]["teacher"]["long_flat"]["sharpe"] == \
        pytest.approx(by_hand["long_flat"]["sharpe"], rel=1e-12)
    assert any("annualised with 365/h periods a year: calendar days, a 7-day market, from the spacing of the "
               "series' dates" in n for n in section.notes)
    # A stock index on business days keeps 252, as before.
    daily = _series()
    assert forecast_evidence(daily, dict(zip(("teacher", "student"), _forecasts(daily, 0.002), strict=True)),
                             cutoff=None)["trading"]["periods_per_year"] == 252.0


def test_each_asset_of_a_panel_is_annualised_with_its_own_calendar() -> None:
    """A stock and a coin in one panel: one rate for both misstated both Sharpe ratios (a review).
    A panel whose test period holds one asset uses that asset's calendar."""
    from finlite.evaluate.forecast import trading_view

    stock = make_prices(400, seed=2)
    stock["id"] = "spx"
    coin = make_prices(500, seed=1)  # every calendar day up to the stock's last one: both in the test period
    coin["date"] = pd.date_range(end=stock["date"].iloc[-1], periods=500, freq="D").strftime("%Y-%m-%d")
    coin["id"] = "btc"
    series = prepare_series(pd.concat([coin, stock]), MarketSpec(window=10, id_column="id"))
    teacher, student = _forecasts(series, 0.002)
    inp = _inputs(series, teacher, student, cost_bps=2.0)
    per_asset = inp.evidence["trading_per_asset"]
    assert (per_asset["btc"]["periods_per_year"], per_asset["spx"]["periods_per_year"]) == (365.0, 252.0)
    ids = np.asarray(series.windows_test.ids).astype(str)
    realised = realised_log_returns(series)
    for asset, per_year in (("btc", 365.0), ("spx", 252.0)):
        mine = ids == asset
        by_hand = trading_view(realised[mine], teacher[mine], 2.0, per_year)
        assert per_asset[asset]["teacher"]["long_flat"]["sharpe"] == \
            pytest.approx(by_hand["long_flat"]["sharpe"], rel=1e-12)
    section = next(s for s in build_forecast_sections(inp) if s.id == "trading")
    assert section.metrics["assets"]["btc"]["periods_per_year"] == 365.0
    assert section.metrics["assets"]["spx"]["periods_per_year"] == 252.0
    assert any("each asset's own calendar" in n and "btc 365 (calendar days, a 7-day market)" in n
               and "spx 252 (trading days)" in n for n in section.notes)
    # The coin ends a year before the stock: the test period holds the stock alone, at 252.
    early = make_prices(400, seed=1)
    early["date"] = pd.date_range("2019-01-01", periods=400, freq="D").strftime("%Y-%m-%d")
    early["id"] = "btc"
    alone = prepare_series(pd.concat([early, stock]), MarketSpec(window=10, id_column="id"))
    assert set(np.asarray(alone.windows_test.ids).astype(str)) == {"spx"}
    inp = _inputs(alone, *_forecasts(alone, 0.002))
    assert inp.evidence["trading"]["periods_per_year"] == 252.0
    section = next(s for s in build_forecast_sections(inp) if s.id == "trading")
    assert section.metrics["assets"]["all"]["periods_per_year"] == 252.0


def test_the_bootstrap_in_a_few_replicates_at_a_time_is_the_bootstrap(series: PreparedSeries,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """The resampled metrics are computed a few replicates at a time (a panel's whole matrix took
    gigabytes): every section the same, to the bit, as with every replicate at once."""
    import finlite.evaluate.forecast_report as forecast_report

    teacher, student = _forecasts(series, 0.002)
    whole = [s.to_dict() for s in build_forecast_sections(_inputs(series, teacher, student))]
    monkeypatch.setattr(forecast_report, "_RESAMPLED_CELLS", 3 * len(teacher) + 1)  # 3 replicates a chunk
    chunked = [s.to_dict() for s in build_forecast_sections(_inputs(series, teacher, student))]
    assert chunked == whole


@pytest.mark.parametrize(("assets", "worse", "untested", "expected"),
                         [(40, 1, 0, "PASS"), (40, 6, 0, "WARN"), (300, 10, 0, "PASS"), (300, 16, 0, "WARN"),
                          (40, 0, 0, "PASS"), (4, 1, 3, "WARN")])
def test_a_panels_trading_status_counts_assets_beyond_chance(assets: int, worse: int, untested: int, expected: str,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """Each asset's interval lies below 0 on 2.5 % of assets by chance: a panel is WARN only when
    more assets than that are worse (300 random walks gave 10, and the section was WARN:
    a quant's walk-through). Assets too short to test do not count (3 of them made one tested,
    worse asset PASS: a review). p checked against the binomial tail summed by hand."""
    import math

    import finlite.evaluate.forecast_report as forecast_report

    flagged = set(range(worse))
    short = set(range(assets - untested, assets))
    calls = iter(range(assets))

    def one_asset(rows: Any, mask: Any, asset: Any, seed: int) -> tuple[dict[str, Any], list[Any], list[Any], str]:
        k = next(calls)
        if k in short:
            return {"periods": 1}, [], [], "PASS"
        tested = {"sharpe_difference_long_flat": {"value": 0.0, "ci": [-1.0, 1.0]}}
        return tested, [], [], "WARN" if k in flagged else "PASS"

    class Rows:
        ids = np.repeat(np.array([f"S{k:03d}" for k in range(assets)]), 2)
        n, seed, horizon, cost_bps = 2 * assets, 0, 1, 1.0

    monkeypatch.setattr(forecast_report, "_trading_asset", one_asset)
    monkeypatch.setattr(forecast_report, "_cross_sectional_book", lambda rows: None)  # per asset only here
    monkeypatch.setattr(forecast_report, "_calendar_of", lambda rows, asset: (252.0, "business days"))
    section = forecast_report._trading(Rows())  # type: ignore[arg-type]
    assert section.status == expected
    chance = section.metrics["student_worse_than_chance"]
    n = assets - untested
    tail = sum(math.comb(n, k) * 0.025 ** k * 0.975 ** (n - k) for k in range(worse, n + 1))
    assert chance["student_worse"] == worse and chance["p_value"] == pytest.approx(tail if worse else 1.0, rel=1e-9)
    assert chance["tested"] == n and chance["expected_by_chance"] == pytest.approx(0.025 * n)
    assert chance["worse_assets"] == [f"S{k:03d}" for k in range(worse)]
    assert (f"({untested} without one: too few periods or no interval)" in section.summary) == (untested > 0)
    # A panel's summary speaks of its assets, not of the first one by name (a quant's walk-through).
    assert section.summary.startswith(f"After costs, each of the {assets} assets traded on its own forecasts")
    assert "first asset" not in section.summary


def test_a_panels_cross_sectional_ic_in_the_evidence_and_the_report() -> None:
    """On several assets the evidence and the report's accuracy section give the IC a quant reads: each
    date's Spearman across its assets, averaged (here against scipy date by date), with the student's
    per-date difference from the teacher; a student that ranks the assets worse is not a PASS."""
    series = _panel(assets=6, n=300)
    teacher, _ = _forecasts(series, 0.0, seed=3)
    y = series.windows_test.y.astype(np.float64)
    dates = np.asarray(series.windows_test.dates).astype("datetime64[D]")
    days = np.unique(dates)
    by_hand = np.array([stats.spearmanr(teacher[dates == d], y[dates == d]).statistic for d in days])
    same = forecast_evidence(series, {"teacher": teacher, "student": teacher.copy()}, cutoff=None)
    got = same["models"]["teacher"]["cross_sectional_ic"]
    assert got["dates"] == days.size and got["mean"] == pytest.approx(by_hand.mean(), rel=1e-10)
    assert got["t_statistic"] == pytest.approx(stats.ttest_1samp(by_hand, 0.0).statistic, rel=1e-8)
    assert same["models"]["student"]["cross_sectional_ic_vs_teacher"]["mean"] == 0.0
    assert same["models"]["naive"]["cross_sectional_ic"]["mean"] == 0.0  # no change for every asset: no ranks
    # The quintile portfolio of each model's forecasts, beside the equal-weighted universe (here one
    # asset a leg of six), in the evidence and the table; the same as quantile_portfolio's.
    from finlite.evaluate.forecast import quantile_portfolio
    from finlite.jobs.forecast import realised_paths, render_forecast_table

    book = same["cross_sectional_portfolio"]
    ids = np.asarray(series.windows_test.ids).astype(str)
    direct = quantile_portfolio(dates, ids, teacher, realised_paths(series)[:, -1], 1.0, 252)
    assert book["assets"] == 6 and same["cross_section"] == {"calendar": "trading days", "periods_per_year": 252.0,
                                                              "ranked": True, "assets_left_out": 0, "left_out": []}
    assert book["models"]["teacher"]["long_short"]["sharpe"] == pytest.approx(direct["long_short"]["sharpe"])
    assert book["equal_weight"]["total_return"] == pytest.approx(direct["equal_weight"]["total_return"])
    table = render_forecast_table(same)
    assert "quintile long/short Sharpe" in table and "top quintile Sharpe (last column: equal-weight universe)" in table
    sections = {s.id: s for s in build_forecast_sections(_inputs(series, teacher, teacher.copy()))}
    accuracy = sections["forecast_accuracy"]
    assert accuracy.status == "PASS" and "cross-sectional IC" in accuracy.threshold
    assert accuracy.metrics["cross_sectional_ic"]["teacher"]["mean"] == pytest.approx(by_hand.mean(), rel=1e-10)
    table = next(t for t in accuracy.tables if t.id == "cross_sectional_ic")
    assert [row[0] for row in table.rows] == ["teacher", "student", "student vs teacher"]
    # The table the model card shows holds it too, with the 95 % interval of its t-test; the IC above
    # it is called pooled.
    shown = {(row[0], row[1]): row[2:] for row in accuracy.tables[0].rows}
    mean, low, high = shown[("teacher", "cross-sectional information coefficient")]
    half = stats.t.ppf(0.975, days.size - 1) * by_hand.std(ddof=1) / np.sqrt(days.size)
    assert mean == pytest.approx(by_hand.mean(), rel=1e-10) and high - low == pytest.approx(2 * half, rel=1e-8)
    assert ("teacher", "information coefficient (pooled)") in shown
    assert ("student − teacher", "cross-sectional information coefficient") in shown
    json.dumps(accuracy.to_dict(), allow_nan=False)
    # The trading section trades the cross-section too: the same books as quantile_portfolio's, with
    # a paired interval of the long/short Sharpe difference (zero for an identical student).
    book = sections["trading"].metrics["cross_sectional_portfolio"]
    direct = quantile_portfolio(dates, np.asarray(series.windows_test.ids).astype(str), teacher,
                                realised_log_returns(series), 1.0, 252)
    assert book["teacher"]["long_short"]["sharpe"] == pytest.approx(direct["long_short"]["sharpe"], rel=1e-12)
    assert book["sharpe_difference_long_short"]["value"] == 0.0 and sections["trading"].status == "PASS"
    assert any(t.id == "cross_sectional_portfolio" for t in sections["trading"].tables)
    assert "Either model beats buy-and-hold beyond its interval on" in sections["trading"].summary
    assert "share of test windows with the same direction" in sections["direction_agreement"].threshold
    edge = sections["trading"].metrics["edge_over_buy_and_hold"]  # every asset judged against buy-and-hold
    assert edge["judged"] == 6 and edge["expected_by_chance"] == pytest.approx(0.15)
    # A student that forecasts each date's mean: right on average, no ranking of the assets at all.
    mean_of_date = np.bincount(np.unique(dates, return_inverse=True)[1], weights=teacher) / np.bincount(
        np.unique(dates, return_inverse=True)[1])
    flat = mean_of_date[np.unique(dates, return_inverse=True)[1]]
    worse = {s.id: s for s in build_forecast_sections(_inputs(series, teacher, flat))}["forecast_accuracy"]
    vs = worse.metrics["cross_sectional_ic"]["student_vs_teacher"]
    assert vs["dates"] == days.size and vs["mean"] == pytest.approx(-by_hand.mean(), rel=1e-10)
    assert worse.status != "PASS" and "the student ranks them worse (one-sided p = " in worse.summary
    # The other way round: a student that ranks better is said to (the validator's walk-through).
    better = {s.id: s for s in build_forecast_sections(_inputs(series, flat, teacher))}["forecast_accuracy"]
    assert "the student ranks them better (one-sided p = " in better.summary
    traded = {s.id: s for s in build_forecast_sections(_inputs(series, teacher, flat))}["trading"]
    diff = traded.metrics["cross_sectional_portfolio"]["sharpe_difference_long_short"]
    assert diff["ci"][1] < 0 and traded.status == "WARN" and "the student's is worse beyond it" in traded.summary
    # Three assets a date are too few to rank: no IC table, no rule that could never fire.
    three = _panel(assets=3, n=300)
    t3, s3 = _forecasts(three, 0.001, seed=3)
    small = {s.id: s for s in build_forecast_sections(_inputs(three, t3, s3))}["forecast_accuracy"]
    assert "cross_sectional_ic" not in small.metrics and "cross-sectional" not in small.threshold
    small_evidence = forecast_evidence(three, {"teacher": t3, "student": s3}, cutoff=None)
    assert "cross_sectional_ic" not in small_evidence["models"]["teacher"]
    assert "cross_sectional_portfolio" not in small_evidence
    assert "cross_sectional_portfolio" not in {s.id: s for s in build_forecast_sections(
        _inputs(three, t3, s3))}["trading"].metrics
    # One asset: no cross-section, nothing added.
    single = {s.id: s for s in build_forecast_sections(_inputs(_series(), *_forecasts(_series(), 0.001)))}
    assert "cross_sectional_ic" not in single["forecast_accuracy"].metrics


def test_a_panels_edge_over_buy_and_hold_is_counted_beside_chance() -> None:
    """Of a panel's assets, those where either model beats buy-and-hold beyond the interval, beside
    the fewest chance gives (a nominal 2.5 % of those judged; not a test: the true rate is higher,
    and unknown here, with the better strategy of two models picked after the fact: a review)."""
    from finlite.evaluate.forecast_report import _edge_beyond_chance

    def asset(teacher_low: float | None, student_low: float | None) -> dict[str, Any]:
        return {"sharpe_vs_buy_and_hold": {"teacher": {"ci": [teacher_low, 1.0]},
                                           "student": {"ci": [student_low, 1.0]}}}

    per_asset: dict[str, Any] = {f"S{k:02d}": asset(-0.5, -0.2) for k in range(40)}
    per_asset["S03"], per_asset["S07"] = asset(0.1, -0.2), asset(None, 0.3)
    per_asset["S09"] = asset(None, None)  # no interval: judged, no edge (as the model card counts)
    per_asset["FEW"] = {"periods": 1}  # too few periods: not judged
    got = _edge_beyond_chance(per_asset)
    assert got == {"judged": 40, "assets_with_edge": 2, "edge_assets": ["S03", "S07"], "expected_by_chance": 1.0}
    assert _edge_beyond_chance({"A": {"periods": 1}}) == {
        "judged": 0, "assets_with_edge": 0, "edge_assets": [], "expected_by_chance": 0.0}


def test_a_cross_sectional_book_keeps_one_calendars_assets_and_picks_it_the_same_every_run() -> None:
    """A coin among stocks counted its weekends as flat trading days (an equal-weight return of 6.2 %
    a year for 10.6 %), and at h > 1 its holding periods overlapped; a tie between calendars went to
    whichever a set listed first, which changed with the hash seed (a review)."""
    from finlite.data.market import majority_calendar

    # An asset the calendars do not know is a calendar of its own: it cannot outvote the known ones.
    unknown = majority_calendar({"A": (252.0, "trading days"), "B": (252.0, "trading days")},
                                np.array(["A", "B", "X", "Y", "Z"]))
    assert unknown[0] == (252.0, "trading days") and unknown[2] == ["X", "Y", "Z"]
    tie = majority_calendar({"a": (252.0, "trading days"), "b": (365.0, "calendar days")}, np.array(["a", "b", "c"]))
    assert tie[0] == (252.0, "trading days") and tie[2] == ["b", "c"]  # a tie goes to a known calendar
    calendars = {"A": (252.0, "trading days"), "B": (252.0, "trading days"), "C": (365.0, "calendar days"),
                 "D": (365.0, "calendar days")}
    ids = np.array(["A", "C", "B", "D", "A"])
    chosen, keep, others = majority_calendar(calendars, ids)
    assert chosen == (252.0, "trading days") and others == ["C", "D"]  # a tie: the first in sorted order
    assert keep.tolist() == [True, False, True, False, True]
    chosen, keep, others = majority_calendar({**calendars, "E": (365.0, "calendar days")}, np.array(["A", "E"]))
    assert chosen == (252.0, "trading days") and others == ["E"]  # among the assets given only


def test_a_coin_among_stocks_is_left_out_of_the_cross_section_and_named() -> None:
    """The IC ranked a coin's Friday-to-Saturday return beside the stocks' Friday-to-Monday, and the
    book counted its weekends as flat trading days: both keep the calendar most assets trade on, and
    the table names what they left out (a quant's walk-through). At h > 1 the book is traded from every
    start day; a direction model's two ICs say what each ranks against."""
    from finlite.jobs.forecast import render_forecast_table

    frames = []
    for k in range(6):
        f = make_prices(300, seed=20 + k)
        f["ticker"] = f"S{k}"
        frames.append(f)
    coin = make_prices(420, seed=40)
    coin["date"] = pd.date_range("2020-01-01", periods=420, freq="D").strftime("%Y-%m-%d")
    coin["ticker"] = "COIN"
    spec = {"window": 10, "volume_column": "volume", "id_column": "ticker"}
    stocks = prepare_series(pd.concat(frames, ignore_index=True), MarketSpec(objective="return", **spec))
    mixed = prepare_series(pd.concat([*frames, coin], ignore_index=True), MarketSpec(objective="return", **spec))
    rng = np.random.default_rng(0)

    y = mixed.windows_test.y.astype(np.float64)
    ids = np.asarray(mixed.windows_test.ids).astype(str)
    dates = np.asarray(mixed.windows_test.dates).astype("datetime64[D]")
    teacher = 0.3 * y + 0.01 * rng.normal(size=y.size)
    both = forecast_evidence(mixed, {"teacher": teacher, "student": teacher * 0.9}, cutoff=None)
    assert both["cross_section"]["assets_left_out"] == 1 and both["cross_section"]["left_out"] == ["COIN"]
    assert both["assets"] == 7 and stocks.windows_test.ids is not None
    stock = ids != "COIN"  # by hand: the stocks' dates only, each date's Spearman across them
    by_hand = [stats.spearmanr(teacher[stock & (dates == d)], y[stock & (dates == d)]).statistic
               for d in np.unique(dates[stock]) if (stock & (dates == d)).sum() >= 5]
    assert both["models"]["teacher"]["cross_sectional_ic"]["mean"] == pytest.approx(np.mean(by_hand), rel=1e-10)
    assert both["models"]["teacher"]["cross_sectional_ic"]["dates"] == len(by_hand)
    vs = both["models"]["student"]["cross_sectional_ic_vs_teacher"]  # the same ranks: a difference of 0
    assert vs["dates"] == len(by_hand) and vs["mean"] == 0.0
    from finlite.evaluate.forecast import quantile_portfolio
    from finlite.jobs.forecast import realised_paths

    book = quantile_portfolio(dates[stock], ids[stock], teacher[stock], realised_paths(mixed)[stock, -1], 1.0, 252)
    assert both["cross_sectional_portfolio"]["models"]["teacher"]["long_short"]["sharpe"] == pytest.approx(
        book["long_short"]["sharpe"], rel=1e-12)
    assert "cross-section: 1 asset(s) on another calendar than trading days left out (COIN)" in \
        render_forecast_table(both)
    # The report's accuracy section leaves out the same asset and says so.
    reported = {s.id: s for s in build_forecast_sections(_inputs(mixed, teacher, teacher * 0.9))}
    assert reported["forecast_accuracy"].metrics["cross_sectional_ic"]["teacher"]["mean"] == pytest.approx(
        np.mean(by_hand), rel=1e-10)
    assert reported["forecast_accuracy"].metrics["cross_section"]["left_out"] == ["COIN"]
    assert any("(COIN) are left out" in note for note in reported["forecast_accuracy"].notes)
    # Three stocks and three coins: too few of either to rank, and the evidence says why.
    few = prepare_series(pd.concat([*frames[:3], coin, coin.assign(ticker="C2"), coin.assign(ticker="C3")],
                                   ignore_index=True), MarketSpec(objective="return", **spec))
    fy = few.windows_test.y.astype(np.float64)
    scant = forecast_evidence(few, {"teacher": fy, "student": fy}, cutoff=None)
    assert scant["cross_section"]["ranked"] is False and scant["cross_section"]["assets_left_out"] == 3
    assert "cross_sectional_ic" not in scant["models"]["teacher"] and "cross_sectional_portfolio" not in scant
    five = prepare_series(pd.concat(frames, ignore_index=True), MarketSpec(objective="direction", horizon=3, **spec))
    y = five.windows_test.y.astype(np.float64)
    probability = np.clip(0.5 + 0.1 * rng.normal(size=y.size), 0, 1)
    got = forecast_evidence(five, {"teacher": probability, "student": probability}, cutoff=0.5)
    days = got["cross_sectional_portfolio"]["models"]["teacher"]["long_short"]["sharpe_start_days"]
    assert len(days) == 3 and days[0] == pytest.approx(
        got["cross_sectional_portfolio"]["models"]["teacher"]["long_short"]["sharpe"])
    table = render_forecast_table(got)
    assert "information coefficient (pooled over assets and dates, vs the 0/1 up move)" in table
    trading = {s.id: s for s in build_forecast_sections(_inputs(five, probability, probability, cutoff=0.5))}
    assert "Rebalancing from the first test day is one of 3 start days; across them the long/short Sharpe runs " \
           "teacher from" in trading["trading"].summary
    one = prepare_series(make_prices(300), MarketSpec(objective="direction", window=10, volume_column="volume"))
    p1 = np.clip(0.5 + 0.1 * rng.normal(size=len(one.windows_test.y)), 0, 1)
    single = render_forecast_table(forecast_evidence(one, {"teacher": p1, "student": p1}, cutoff=0.5))
    assert "information coefficient (vs the 0/1 up move)" in single  # one asset: nothing pooled over assets
    assert "cross-sectional IC vs realised returns (mean over dates)" in table
    assert "quintile long/short Sharpe across start days" in table


def test_on_a_universe_ranking_the_assets_is_skill_and_the_naive_ic_has_no_test() -> None:
    """A cross-sectional IC of 0.14 (t = 16) was reported as "no skill over the naive forecast"
    because only squared errors were tested (a validator's walk-through): ranking the assets of a
    date is skill too. The naive forecast's IC of 0 on every date has no t-test (it read t = 0, p = 1)."""
    series = _panel(assets=6, n=300)
    y = series.windows_test.y.astype(np.float64)
    biased = 0.05 * y + 0.02  # ranks the assets right, and misses every level by 2 %
    sections = {s.id: s for s in build_forecast_sections(_inputs(series, biased, biased.copy()))}
    dm = sections["diebold_mariano"]
    assert not dm.metrics["tests"]["teacher_vs_naive"]["statistic"] < 0  # no squared-error skill
    assert dm.metrics["ranks_assets"] == {"teacher": True, "student": True} and dm.metrics["skill_shown"] is True
    assert dm.status == "PASS" and "the teacher and the student rank them better than chance" in dm.summary
    assert "No skill" not in dm.summary
    # The teacher ranks, the student does not: WARN, as for squared errors.
    flat = np.full(y.size, 0.02)
    assert {s.id: s for s in build_forecast_sections(_inputs(series, biased, flat))}["diebold_mariano"].status == "WARN"
    naive = forecast_evidence(series, {"teacher": biased, "student": biased}, cutoff=None)["models"]["naive"]
    assert naive["cross_sectional_ic"]["mean"] == 0.0 and naive["cross_sectional_ic"]["t_statistic"] is None


def test_a_student_more_accurate_than_its_teacher_is_said_to_be(series: PreparedSeries) -> None:
    """The section said "not significantly less accurate" of a student significantly more accurate
    (a validator's walk-through): the direction of a significant difference is said."""
    teacher, _ = _forecasts(series, 0.0, seed=4)
    y = series.windows_test.y.astype(np.float64)
    better = y + 0.5 * (teacher - y)
    dm = next(s for s in build_forecast_sections(_inputs(series, teacher, better)) if s.id == "diebold_mariano")
    assert "The student is significantly more accurate than the teacher (one-sided p = " in dm.summary


@pytest.mark.parametrize(("objective", "horizon", "cutoff"), [("return", 1, None), ("direction", 1, 0.5),
                                                              ("return", 3, None)])
def test_the_evidence_judges_beating_buy_and_hold_as_the_report_does(objective: str, horizon: int,
                                                                     cutoff: float | None) -> None:
    """A teacher's report and ``finlite evaluate`` showed a Sharpe above buy-and-hold's with no
    interval (a quant's walk-through, 2026-12-06): the evidence now has the report's interval, the
    same numbers at the same seed, and the table shows it."""
    from finlite.jobs.forecast import render_forecast_table

    series = prepare_series(make_prices(600), MarketSpec(objective=objective, window=10, horizon=horizon,
                                                         volume_column="volume"))
    rng = np.random.default_rng(4)
    y = series.windows_test.y
    teacher = (np.clip(0.5 + 20 * y + 0.1 * rng.normal(size=y.size), 0, 1) if objective == "direction"
               else 0.3 * y + 0.005 * rng.normal(size=y.size))
    student = np.clip(teacher + 0.01 * rng.normal(size=y.size), 0, 1) if objective == "direction" else \
        teacher + 0.002 * rng.normal(size=y.size)
    inp = _inputs(series, teacher, student, cutoff=cutoff)
    evidence = inp.evidence["trading"]["sharpe_vs_buy_and_hold"]
    # The report computes it itself from evidence without it (at the same seed, 0, the same numbers),
    # and takes the evidence's as it is when there, whatever the run's seed: one interval in report.json.
    bare = {**inp.evidence, "trading": {k: v for k, v in inp.evidence["trading"].items()
                                        if k != "sharpe_vs_buy_and_hold"}}
    report = next(s for s in build_forecast_sections(dataclasses.replace(inp, evidence=bare))
                  if s.id == "trading").metrics["assets"]["all"]
    reused = next(s for s in build_forecast_sections(dataclasses.replace(inp, seed=7))
                  if s.id == "trading").metrics["assets"]["all"]
    assert reused["sharpe_vs_buy_and_hold"] == evidence
    for name in ("teacher", "student"):
        got, want = evidence[name], report["sharpe_vs_buy_and_hold"][name]
        assert got["strategy"] == want["strategy"]
        assert got["value"] == pytest.approx(want["value"], rel=1e-9)
        assert got["ci"] == pytest.approx(want["ci"], rel=1e-9)  # the same periods, replicates and seed
        view = inp.evidence["trading"][name]
        best = max(view["long_flat"]["sharpe"], view["long_short"]["sharpe"])
        assert got["value"] == pytest.approx(best - inp.evidence["trading"]["buy_and_hold"]["sharpe"], rel=1e-9)
    row = next(ln for ln in render_forecast_table(inp.evidence).splitlines() if ln.startswith("Sharpe minus"))
    lo, hi = evidence["teacher"]["ci"]
    assert f"{evidence['teacher']['value']:+.3g} [{lo:+.3g}, {hi:+.3g}]" in row


def test_the_accuracy_interval_and_the_dm_test_disagreeing_is_said(series: PreparedSeries) -> None:
    """One report called a student significantly worse (the RMSE difference's bootstrap interval
    above 0) and not significantly less accurate (DM p = 0.081) without a word (a quant's
    walk-through, 2026-12-06): both summaries now say the two disagree, and why they can."""
    from finlite.evaluate.forecast_report import _Rows, _tests_disagree
    from finlite.evaluate.sections import Section

    teacher, student = _forecasts(series, 0.001)
    rows = _Rows(_inputs(series, teacher, student))

    def sections(low: float, p: float) -> tuple[Section, Section]:
        acc = Section(id="forecast_accuracy", title="a", status="PASS", threshold="r", summary="s",
                      metrics={"difference": {"rmse": {"value": 0.0, "ci": [low, low + 1e-3]}}})
        dm = Section(id="diebold_mariano", title="d", status="PASS", threshold="r", summary="s",
                     metrics={"tests": {"student_vs_teacher": {"p_value_model1_worse": p}}})
        return acc, dm

    said = _tests_disagree(rows, *sections(1e-6, 0.081))
    e1, e2 = rows.preds["student"] - rows.y, rows.preds["teacher"] - rows.y
    d = e1 ** 2 - e2 ** 2
    rho = np.corrcoef(d[:-1], d[1:])[0, 1]
    assert said is not None and "disagree at 5 % (only the interval finds the student worse)" in said
    assert f"lag-1 autocorrelation is {rho:+.2f}" in said and f"runs of {rows.block} dates" in said
    assert "(only the test finds the student worse)" in (_tests_disagree(rows, *sections(-1e-3, 0.01)) or "")
    assert _tests_disagree(rows, *sections(1e-6, 0.01)) is None and _tests_disagree(rows, *sections(-1e-3, 0.5)) is None
    # The report itself: both sections carry it, or neither.
    built = build_forecast_sections(_inputs(series, teacher, student))
    assert ("disagree at 5 %" in built[0].summary) == ("disagree at 5 %" in built[1].summary)


def test_a_panel_asset_with_missing_dates_is_named_in_the_quintile_book() -> None:
    """An asset with days missing inside its span entered the quintile book without a word: the row
    before a hole earns its return over two of the book's periods (a quant's walk-through,
    2026-12-06). The book counts such assets and their missing dates, against a count by hand, and
    the evidence and the report warn; a complete panel has nothing to say."""
    import pandas as pd

    from finlite.evaluate.forecast import calendar_holes, quantile_portfolio
    from finlite.jobs.forecast import realised_paths

    frames = []
    for k in range(6):
        f = make_prices(400, seed=10 + k)
        f["ticker"] = f"A{k}"
        frames.append(f)
    holed = frames[2]
    gone = holed.index[[340, 341, 350, 370]]  # inside the test period (its last 20 % of dates)
    frames[2] = holed.drop(index=gone)
    spec = MarketSpec(objective="return", window=10, volume_column="volume", id_column="ticker")
    series = prepare_series(pd.concat(frames, ignore_index=True), spec)
    y = series.windows_test.y.astype(np.float64)
    ids = np.asarray(series.windows_test.ids).astype(str)
    dates = np.asarray(series.windows_test.dates).astype("datetime64[D]")
    # By hand: each asset's dates of the panel between its first and last that it lacks.
    calendar = np.unique(dates)
    expected = {}
    for asset in np.unique(ids):
        own = np.unique(dates[ids == asset])
        span = calendar[(calendar >= own[0]) & (calendar <= own[-1])]
        if span.size > own.size:
            expected[asset] = int(span.size - own.size)
    assert expected == {"A2": 4}
    teacher = 0.3 * y + 0.005 * np.random.default_rng(0).normal(size=y.size)
    book = quantile_portfolio(dates, ids, teacher, realised_paths(series)[:, -1])
    assert book["calendar_holes"] == {"assets": 1, "dates_missing": 4, "examples": [["A2", 4]]}
    evidence = forecast_evidence(series, {"teacher": teacher, "student": teacher * 0.9}, cutoff=None)
    assert evidence["cross_sectional_portfolio"]["calendar_holes"]["examples"] == [["A2", 4]]
    warned = [w for w in evidence["warnings"] if "lack 4 of the panel's dates" in w]
    assert warned and "A2 (4)" in warned[0] and "Fill the missing days" in warned[0]
    trading = {s.id: s for s in build_forecast_sections(_inputs(series, teacher, teacher * 0.9))}["trading"]
    assert trading.metrics["cross_sectional_portfolio"]["calendar_holes"]["dates_missing"] == 4
    assert any("Warning: 1 asset(s) of the quintile portfolios lack 4" in n for n in trading.notes)
    # Complete: no key, no warning.
    whole = _panel(assets=6)
    wy = whole.windows_test.y.astype(np.float64)
    complete = forecast_evidence(whole, {"teacher": wy, "student": wy}, cutoff=None)
    assert "calendar_holes" not in complete["cross_sectional_portfolio"]
    assert not any("panel's dates" in w for w in complete.get("warnings", []))
    # The primitive against sets, on random panels.
    rng = np.random.default_rng(5)
    for _ in range(50):
        n_assets, n_dates = int(rng.integers(1, 6)), int(rng.integers(1, 12))
        rows = [(a, d) for a in range(n_assets) for d in range(n_dates) if rng.random() < 0.7]
        if not rows:
            continue
        a_idx = np.array([r[0] for r in rows])
        d_idx = np.array([r[1] for r in rows])
        names = np.array([f"x{a}" for a in range(n_assets)])
        got = calendar_holes(a_idx, d_idx, names, n_dates)
        want = {}
        for a in set(a_idx.tolist()):
            own = sorted({d for x, d in rows if x == a})
            if own[-1] - own[0] + 1 > len(own):
                want[f"x{a}"] = own[-1] - own[0] + 1 - len(own)
        if not want:
            assert got is None
        else:
            assert got is not None and got["assets"] == len(want) and got["dates_missing"] == sum(want.values())
            assert all(want[name] == count for name, count in got["examples"])
