"""Forecast metrics, the Diebold–Mariano test and the trading view, checked against independent
computations (statsmodels, scipy) and hand-computed cases."""

from __future__ import annotations

import math

import numpy as np
import pytest
import statsmodels.api as sm
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from statsmodels.stats.contingency_tables import mcnemar
from statsmodels.tsa.stattools import acovf

from finlite.errors import ConfigError, DataError
from finlite.evaluate import forecast as fc


# -- Diebold–Mariano ----------------------------------------------------------------------------
@pytest.mark.parametrize("horizon", [1, 2, 5])
@pytest.mark.parametrize("loss", ["squared", "absolute"])
def test_dm_matches_statsmodels_hac_and_acovf(horizon: int, loss: str) -> None:
    rng = np.random.default_rng(horizon)
    n = 80
    # MA(h-1) errors, as h-step forecasts make them, and a second forecast a little worse.
    shocks = rng.normal(size=(n + horizon, 2))
    e1 = np.convolve(shocks[:, 0], np.ones(horizon), "valid")[:n]
    e2 = 1.15 * np.convolve(shocks[:, 1], np.ones(horizon), "valid")[:n]
    out = fc.diebold_mariano(e1, e2, horizon, loss=loss)  # type: ignore[arg-type]
    d = e1**2 - e2**2 if loss == "squared" else np.abs(e1) - np.abs(e2)
    factor = math.sqrt((n + 1 - 2 * horizon + horizon * (horizon - 1) / n) / n)
    # 1) the long-run variance from statsmodels' autocovariances (1/n normalisation)
    gamma = acovf(d, nlag=horizon - 1, demean=True, adjusted=False)
    by_acovf = d.mean() / math.sqrt((gamma[0] + 2 * gamma[1:].sum()) / n) * factor
    # 2) an OLS of d on a constant with a uniform-kernel HAC covariance over h-1 lags
    ols = sm.OLS(d, np.ones(n)).fit(cov_type="HAC", cov_kwds={"maxlags": horizon - 1, "kernel": "uniform",
                                                              "use_correction": False})
    assert out["variance"] == "hac"
    assert out["statistic"] == pytest.approx(by_acovf, rel=1e-10)
    assert out["statistic"] == pytest.approx(float(ols.tvalues[0]) * factor, rel=1e-10)
    assert out["p_value"] == pytest.approx(2 * stats.t.sf(abs(by_acovf), n - 1), rel=1e-10)
    assert out["p_value_model1_worse"] == pytest.approx(stats.t.sf(by_acovf, n - 1), rel=1e-10)
    assert out["df"] == n - 1 and out["rows"] == n and out["horizon"] == horizon and out["loss"] == loss
    assert out["hln_factor"] == pytest.approx(factor)


def test_dm_on_a_worked_example() -> None:
    """Ten losses computed by hand: d = e1² (e2 = 0) = [1, 1, 4, 0, 1, 9, 4, 1, 0, 1], mean 2.2,
    squared deviations summing to 69.6, so γ0 = 6.96 and V = 0.696 at h = 1; the HLN factor is
    √((10 + 1 − 2) / 10) = √0.9; at h = 2 it is √((10 + 1 − 4 + 2/10) / 10) = √0.72."""
    e1 = np.array([1.0, -1.0, 2.0, 0.0, 1.0, 3.0, -2.0, 1.0, 0.0, 1.0])
    out = fc.diebold_mariano(e1, np.zeros(10), horizon=1)
    assert out["mean_loss_difference"] == pytest.approx(2.2)
    assert out["hln_factor"] == pytest.approx(math.sqrt(0.9))
    assert out["statistic"] == pytest.approx(2.2 / math.sqrt(0.696) * math.sqrt(0.9))
    assert out["statistic"] == pytest.approx(2.50173, abs=1e-5)
    assert out["p_value"] == pytest.approx(2 * stats.t.sf(2.2 / math.sqrt(0.696) * math.sqrt(0.9), 9))
    assert 0.03 < out["p_value"] < 0.04 and out["p_value_model1_worse"] == pytest.approx(out["p_value"] / 2)
    assert fc.diebold_mariano(e1, np.zeros(10), horizon=2)["hln_factor"] == pytest.approx(math.sqrt(0.72))


def test_dm_edge_cases_and_refusals() -> None:
    e = np.array([0.3, -0.1, 0.5, 0.2])
    same = fc.diebold_mariano(e, e)
    assert same["statistic"] == 0.0 and same["p_value"] == 1.0 and same["variance"] == "zero"
    shifted = fc.diebold_mariano(np.ones(5), np.zeros(5))  # one forecast always worse by the same loss
    assert shifted["statistic"] == math.inf and shifted["p_value"] == 0.0 and shifted["p_value_model1_worse"] == 0.0
    with pytest.raises(ConfigError, match=r"'horizon' parameter of diebold_mariano must be a whole number.*got 0") as info:
        fc.diebold_mariano(e, e, horizon=0)
    assert info.value.param == "horizon"
    with pytest.raises(ConfigError, match="'loss' parameter"):
        fc.diebold_mariano(e, e, loss="hinge")  # type: ignore[arg-type]
    with pytest.raises(DataError, match=r"horizon 3 needs more rows than that: got 4.*at least 6 rows"):
        fc.diebold_mariano(e, e[::-1], horizon=3)
    with pytest.raises(DataError, match=r"row 1 has outcome .*nan"):
        fc.diebold_mariano(np.array([0.1, np.nan, 0.2]), np.zeros(3))
    with pytest.raises(DataError, match=r"differ in length \(4 vs 3\)"):
        fc.diebold_mariano(e, e[:3])


# -- McNemar's test of directional accuracy ----------------------------------------------------
def test_directional_accuracy_test_by_hand() -> None:
    # 10 up days: forecast 1 right on 8 of them where forecast 2 is wrong, and the reverse on 2.
    y = np.ones(10)
    one = np.array([1.0] * 8 + [-1.0] * 2)
    two = -one
    out = fc.directional_accuracy_test(y, one, two)
    assert (out["model1_right_model2_wrong"], out["model2_right_model1_wrong"], out["rows"]) == (8, 2, 10)
    assert out["difference"] == pytest.approx(0.6)
    assert out["p_value"] == pytest.approx(2 * (1 + 10 + 45) / 1024)  # 2·P(X ≤ 2), X ~ Bin(10, 1/2)
    assert out["p_value_model1_worse"] == pytest.approx(1 - (1 + 10) / 1024)  # P(X ≥ 2)
    assert fc.directional_accuracy_test(y, two, one)["p_value_model1_worse"] == pytest.approx(56 / 1024)  # P(X ≥ 8)
    # Rows with a zero outcome are not counted, as in directional_accuracy; equal calls: p = 1.
    same = fc.directional_accuracy_test(np.array([0.0, 1.0, -1.0]), np.array([1.0, 1.0, 1.0]), np.array([-1.0, 1.0, 1.0]))
    assert same == {"rows": 2, "model1_right_model2_wrong": 0, "model2_right_model1_wrong": 0, "difference": 0.0,
                    "p_value": 1.0, "p_value_model1_worse": 1.0}


def test_independent_rows_is_horizon_one_and_one_row_per_date() -> None:
    days = np.array(["2020-01-02", "2020-01-03", "2020-01-06"], dtype="datetime64[D]")
    assert fc.independent_rows(1, days)
    assert not fc.independent_rows(2, days)  # 2-day outcomes overlap
    assert not fc.independent_rows(1, np.concatenate([days, days]))  # a panel: two assets a date
    assert fc.independent_rows(1, days[:0])  # nothing to test, nothing shared


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(5, 300), st.sampled_from([None, 0.5, 0.3]))
def test_directional_accuracy_test_matches_statsmodels_mcnemar(seed: int, n: int, cutoff: float | None) -> None:
    rng = np.random.default_rng(seed)
    if cutoff is None:  # changes, some of them zero
        y = rng.choice([-1.0, 0.0, 1.0], n) * rng.random(n)
        one, two = rng.normal(size=n), rng.normal(size=n)
        moved = y != 0
        r1, r2 = np.sign(one[moved]) == np.sign(y[moved]), np.sign(two[moved]) == np.sign(y[moved])
    else:  # probabilities of an up move against 0/1 outcomes
        y = rng.integers(0, 2, n).astype(float)
        one, two = rng.random(n), rng.random(n)
        r1, r2 = (one >= cutoff) == (y > 0.5), (two >= cutoff) == (y > 0.5)
    out = fc.directional_accuracy_test(y, one, two, cutoff)
    table = [[int(np.sum(r1 & r2)), int(np.sum(r1 & ~r2))], [int(np.sum(~r1 & r2)), int(np.sum(~r1 & ~r2))]]
    if table[0][1] + table[1][0]:
        assert out["p_value"] == pytest.approx(mcnemar(table, exact=True).pvalue, rel=1e-9)
    if r1.size:
        assert out["difference"] == pytest.approx(float(np.mean(r1) - np.mean(r2)), abs=1e-12)
    else:  # every outcome zero: no row counts, as directional_accuracy is then NaN
        assert out["rows"] == 0 and out["difference"] is None
    # One-sided: P(X ≥ b) for b = rows where only forecast 2 is right, X ~ Bin(b + c, 1/2).
    b = table[1][0]
    expected = stats.binom.sf(b - 1, b + table[0][1], 0.5) if table[0][1] + b else 1.0
    assert out["p_value_model1_worse"] == pytest.approx(expected, rel=1e-9)


# -- point metrics ------------------------------------------------------------------------------
def test_dm_on_a_panel_runs_on_the_per_date_mean_loss_differential() -> None:
    import pandas as pd

    rng = np.random.default_rng(3)
    days = np.arange("2021-01-01", "2021-04-11", dtype="datetime64[D]")  # 100 dates
    # Two assets in (asset, date) order, the second on every other date; the market move is shared.
    dates = np.concatenate([days, days[::2]])
    market = rng.normal(size=len(days))
    y = np.concatenate([market, market[::2]]) + rng.normal(scale=0.3, size=len(dates))
    p1, p2 = y + rng.normal(scale=0.5, size=len(y)), y + rng.normal(scale=0.6, size=len(y))
    e1, e2 = fc.date_mean_errors(dates, p1 - y, p2 - y)
    # Independent: pandas' per-date mean of the squared-loss differential, in date order.
    d = pd.Series((p1 - y) ** 2 - (p2 - y) ** 2).groupby(dates).mean()
    assert len(e1) == len(days)
    np.testing.assert_allclose(e1**2 - e2**2, d.to_numpy(), rtol=1e-12, atol=1e-15)
    panel = fc.diebold_mariano(e1, e2, 2)
    assert panel["rows"] == len(days)
    # forecast_metrics' test against the naive forecast takes the same route with dates.
    metrics = fc.forecast_metrics(y, p1, p2, horizon=2, dates=dates)
    assert metrics["diebold_mariano_vs_naive"]["statistic"] == pytest.approx(panel["statistic"], rel=1e-12)
    assert fc.forecast_metrics(y, p1, p2, horizon=2)["diebold_mariano_vs_naive"]["rows"] == len(y)
    # One row per date: the errors come back as they are, in date order.
    same = fc.date_mean_errors(days, market, market * 2)
    np.testing.assert_array_equal(same[0], market)
    # Two assets trading on alternate dates, listed asset by asset, also have one row per date: the
    # test ran in asset order (its lag-h autocovariances crossed the asset boundary; a review found
    # p 0.028 where date order gives 0.060, across the 5 % line).
    alternate = np.concatenate([days[::2], days[1::2]])
    e1, e2 = p1[: len(days)] - y[: len(days)], p2[: len(days)] - y[: len(days)]
    ordered = fc.date_mean_errors(alternate, e1, e2)
    by_date = np.argsort(alternate)
    np.testing.assert_array_equal(ordered[0], e1[by_date])
    np.testing.assert_array_equal(ordered[1], e2[by_date])
    assert fc.forecast_metrics(y[: len(days)], p1[: len(days)], p2[: len(days)], horizon=3, dates=alternate)[
        "diebold_mariano_vs_naive"]["statistic"] == pytest.approx(fc.diebold_mariano(*ordered, 3)["statistic"], rel=1e-12)
    with pytest.raises(DataError, match="one date per error"):
        fc.date_mean_errors(days[:5], market, market)


def test_information_coefficient_is_scipy_spearman() -> None:
    rng = np.random.default_rng(1)
    y = rng.normal(size=200)
    pred = 0.3 * y + rng.normal(size=200)
    pred[:20] = pred[0]  # ties
    assert fc.information_coefficient(y, pred) == pytest.approx(stats.spearmanr(pred, y).statistic, rel=1e-12)
    assert fc.information_coefficient(y, np.full(200, 0.01)) == 0.0  # a constant forecast ranks nothing


def test_mape_skips_zero_outcomes_and_says_how_many() -> None:
    value, skipped = fc.mape([0.0, 2.0, -4.0, 1e-12], [1.0, 1.0, -2.0, 0.0])
    assert value == pytest.approx(0.5) and skipped == 2  # |1-2|/2 and |-2+4|/4
    assert fc.mape([0.0, 0.0, 1e-10], [1.0, 2.0, 3.0]) == (None, 3)
    m = fc.forecast_metrics([0.0, 2.0], [1.0, 3.0])
    assert m["mape"] == pytest.approx(0.5) and m["mape_skipped"] == 1


def test_mase_rmse_mae_r2_and_direction() -> None:
    y, pred = np.array([1.0, -1.0, 2.0, -2.0]), np.array([0.5, -0.5, 1.0, 1.0])
    assert fc.mase(y, pred, np.zeros(4)) == pytest.approx((0.5 + 0.5 + 1 + 3) / (1 + 1 + 2 + 2))
    assert fc.mase(y, pred, y) is None  # the naive forecast is exact: no scale
    m = fc.forecast_metrics(y, pred, naive=np.zeros(4))
    assert m["rmse"] == pytest.approx(math.sqrt((0.25 + 0.25 + 1 + 9) / 4))
    assert m["mae"] == pytest.approx(5 / 4)
    assert m["r2"] == pytest.approx(1 - 10.5 / 10)
    assert m["directional_accuracy"] == 0.75 and m["mase"] == pytest.approx(5 / 6)
    assert m["naive"]["mae"] == pytest.approx(1.5) and "directional_accuracy" not in m["naive"]  # zero calls nothing
    assert m["diebold_mariano_vs_naive"]["mean_loss_difference"] == pytest.approx((10.5 - 10) / 4)
    # Probabilities of an up move against 0/1 outcomes, at a cut-off.
    assert fc.directional_accuracy([1, 0, 1, 0], [0.7, 0.2, 0.4, 0.6], cutoff=0.5) == 0.5
    labelled = fc.forecast_metrics([1.0, 0.0, 1.0, 0.0], [0.7, 0.2, 0.4, 0.6], naive=np.full(4, 0.55), cutoff=0.5)
    assert labelled["directional_accuracy"] == 0.5 and labelled["naive"]["directional_accuracy"] == 0.5
    # A volatility never falls below zero: no direction to call.
    assert "directional_accuracy" not in fc.forecast_metrics([0.01, 0.02], [0.015, 0.01])
    with pytest.raises(DataError, match="need at least one row with a known outcome"):
        fc.forecast_metrics([], [])


def test_per_fold_and_pooled() -> None:
    folds = [(np.array([1.0, -1.0]), np.array([0.5, 0.5])), (np.array([2.0, -2.0, 1.0]), np.array([1.0, -1.0, 0.0]))]
    out = fc.per_fold(fc.forecast_metrics, folds)
    assert [f["rows"] for f in out["folds"]] == [2, 3]
    assert out["folds"][0]["mae"] == pytest.approx(1.0)
    assert out["pooled"]["mae"] == pytest.approx((0.5 + 1.5 + 1 + 1 + 1) / 5)
    with pytest.raises(DataError, match="at least one fold"):
        fc.per_fold(fc.forecast_metrics, [])


# -- trading view -------------------------------------------------------------------------------
def test_trading_view_on_a_hand_computed_case() -> None:
    r = np.log([1.1, 0.9, 1.2])  # +10 %, -10 %, +20 %
    view = fc.trading_view(r, [0.02, -0.01, 0.03], cost_bps=0, periods_per_year=3)
    flat, short = view["long_flat"], view["long_short"]
    assert flat["equity"]["values"] == pytest.approx([1.1, 1.1, 1.32])
    assert flat["total_return"] == pytest.approx(0.32) and flat["annual_return"] == pytest.approx(0.32)  # one year
    assert flat["max_drawdown"] == 0.0 and flat["turnover"] == pytest.approx(1.0) and flat["trades"] == 3
    assert flat["hit_rate"] == 1.0 and flat["exposure"] == pytest.approx(2 / 3)
    assert short["equity"]["final"] == pytest.approx(1.1 * 1.1 * 1.2)
    # 100 bps per unit of position change: long/short goes 0 -> 1 -> -1 -> 1 (changes 1, 2, 2).
    costly = fc.trading_view(r, [0.02, -0.01, 0.03], cost_bps=100, periods_per_year=3)["long_short"]
    net = np.array([0.1 - 0.01, 0.1 - 0.02, 0.2 - 0.02])
    assert costly["equity"]["final"] == pytest.approx(float(np.prod(1 + net)))
    assert costly["sharpe"] == pytest.approx(net.mean() / net.std(ddof=1) * math.sqrt(3))
    assert costly["annual_volatility"] == pytest.approx(net.std(ddof=1) * math.sqrt(3))
    assert costly["turnover"] == pytest.approx(5 / 3) and costly["annual_turnover"] == pytest.approx(5.0)
    # Probabilities of an up move decide at the cut-off.
    probs = fc.trading_view(r, [0.6, 0.3, 0.5], kind="probability", periods_per_year=3)
    assert probs["long_flat"]["equity"]["values"] == pytest.approx([1.1, 1.1, 1.32])


def test_buy_and_hold_drawdown_and_annualisation() -> None:
    r = np.log([1.1, 0.5, 1.2])
    bh = fc.buy_and_hold(r, periods_per_year=3)
    assert bh["equity"]["values"] == pytest.approx([1.1, 0.55, 0.66])
    assert bh["max_drawdown"] == pytest.approx(0.5)  # from the peak 1.1 to 0.55
    assert bh["annual_return"] == pytest.approx(-0.34) and bh["turnover"] == pytest.approx(1 / 3)
    assert bh["hit_rate"] == pytest.approx(2 / 3)
    two_years = fc.buy_and_hold(np.log([1.21, 1.0]), periods_per_year=1)
    assert two_years["annual_return"] == pytest.approx(0.1)
    assert fc.max_drawdown([1.0, 2.0, 0.5, 3.0, 2.7]) == pytest.approx(0.75)


def test_a_path_marks_the_drawdown_inside_each_holding_period() -> None:
    """At h > 1 the drawdown was read at period ends: a position held 5 days loses money inside
    them (a quant's walk-through, 2026-12-05: 17.4 % against 19.8 % marked daily)."""
    # Two 3-step periods: the first dips 20 % on its second step and ends flat; the second gains.
    path = np.log([[0.9, 0.8, 1.0], [1.05, 1.1, 1.2]])
    r = path[:, -1]
    ends = fc.buy_and_hold(r, periods_per_year=2)
    marked = fc.buy_and_hold(r, periods_per_year=2, path=path)
    assert ends["max_drawdown"] == 0.0 and marked["max_drawdown"] == pytest.approx(0.2)
    assert {k: v for k, v in marked.items() if k != "max_drawdown"} == {k: v for k, v in ends.items()
                                                                        if k != "max_drawdown"}
    # A short position gains on the dip and loses on the second period's rise, step by step; the
    # entry cost (100 bp) is charged from the first step.
    view = fc.trading_view(r, [-1.0, -1.0], cost_bps=100.0, kind="position", path=path)["long_short"]
    steps = [1 - (0.9 - 1) - 0.01, 1 - (0.8 - 1) - 0.01, 1 - 0.0 - 0.01]
    end = steps[-1]
    steps += [end * (1 - 0.05), end * (1 - 0.1), end * (1 - 0.2)]
    curve = np.r_[1.0, steps]
    expected = float(np.max(1 - curve / np.maximum.accumulate(curve)))
    assert view["max_drawdown"] == pytest.approx(expected, rel=1e-12)
    assert view["equity"]["final"] == pytest.approx(end * 0.8, rel=1e-12)
    # Ruin inside a period (a short through a doubling) stops the equity there, as at a period's end.
    rise = np.log([[1.5, 2.1, 0.9], [0.9, 0.8, 0.8]])
    ruined = fc.trading_view(rise[:, -1], [-1.0, -1.0], kind="position", path=rise)["long_short"]
    assert ruined["max_drawdown"] == 1.0 and ruined["equity"]["final"] == 0.0 and ruined["total_return"] == -1.0
    # The report's intervals and curves take the same net returns (equity_curve), ruin included.
    from finlite.evaluate.forecast_report import equity_curve

    net, equity, (_, plotted) = equity_curve(rise[:, -1], np.array([-1.0, -1.0]), 0.0, rise)
    assert net[0] == -1.0 and equity[-1] == 0.0 and plotted[-1] == 0.0 and min(plotted) == 0.0
    with pytest.raises(DataError, match=r"path must hold one row per period"):
        fc.buy_and_hold(r, path="abc")  # text: refused as a malformed path, not a bare ValueError
    with pytest.raises(DataError, match="path's last column must be each period's own log return"):
        fc.buy_and_hold(r, path=path[:, :2])
    with pytest.raises(DataError, match=r"path must hold one row per period \(2\)"):
        fc.buy_and_hold(r, path=path[:1])


def test_trading_view_refuses_bad_settings() -> None:
    r = np.zeros(3)
    with pytest.raises(ConfigError, match="'cost_bps' parameter must be a transaction cost") as info:
        fc.trading_view(r, r, cost_bps=-1)
    assert info.value.param == "cost_bps"
    with pytest.raises(ConfigError, match="'periods_per_year'"):
        fc.buy_and_hold(r, periods_per_year=0)
    with pytest.raises(DataError, match=r"probabilities in \[0, 1\]"):
        fc.trading_view(r, [0.2, 1.3, 0.5], kind="probability")
    with pytest.raises(ConfigError, match="'kind' parameter"):
        fc.trading_view(r, r, kind="odds")  # type: ignore[arg-type]
    flat = fc.trading_view(np.array([0.01, -0.02]), [-1.0, -1.0])["long_flat"]
    assert flat["hit_rate"] is None and flat["sharpe"] == 0.0 and flat["total_return"] == 0.0  # never in the market


def test_a_forecast_of_no_change_calls_no_direction() -> None:
    y = np.array([0.01, -0.02, 0.005, -0.001, 0.003])
    assert fc.forecast_metrics(y, np.zeros(5))["directional_accuracy"] is None  # the random walk: not 0 %
    assert fc.forecast_metrics(y, np.full(5, 1e-4))["directional_accuracy"] == pytest.approx(0.6)


def test_a_drawdown_and_the_up_or_down_judgement_refuse_what_they_cannot_read() -> None:
    """max_drawdown([1, 2, nan, 0.5]) was 0.0 (a NaN peak hid the fall to 0.5); outcomes of 0.7
    and 3.0 were counted as 'up' when probabilities are judged at a cut-off."""
    from finlite.errors import DataError
    from finlite.evaluate.forecast import directional_accuracy, directional_accuracy_test, max_drawdown

    assert max_drawdown([1.0, 2.0, 1.5, 0.5]) == pytest.approx(0.75)
    for curve in ([1.0, 2.0, np.nan, 0.5], [1.0, np.inf, 0.5]):
        with pytest.raises(DataError, match=r"equity values must be finite numbers; position [12]"):
            max_drawdown(curve)
    with pytest.raises(DataError, match=r"the outcomes must be 0/1 \(1 = up\); got 0.7 \(2 such\)"):
        directional_accuracy([0.7, 0.0, 3.0], [0.9, 0.1, 0.6], cutoff=0.5)
    with pytest.raises(DataError, match="the outcomes must be 0/1"):
        directional_accuracy_test([0.7, 0.0, 1.0], [0.9, 0.1, 0.6], [0.2, 0.3, 0.9], cutoff=0.5)
    assert directional_accuracy([1, 0, 1], [0.9, 0.1, 0.4], cutoff=0.5) == pytest.approx(2 / 3)


def test_a_strategy_too_short_to_annualise_has_no_annual_return() -> None:
    """One day of a 3.0 log return compounds to e^(3 * 252) a year, past a float: None, not an
    OverflowError out of the report."""
    from finlite.evaluate.forecast import trading_view

    view = trading_view([3.0], [1.0])
    assert view["long_flat"]["annual_return"] is None
    # An equity curve past a float (a log return of 800): no drawdown to speak of, not an error.
    assert trading_view([800.0, -1.0], [1.0, 1.0])["long_flat"]["max_drawdown"] is None
    assert view["long_flat"]["total_return"] == pytest.approx(math.expm1(3.0))
    assert trading_view([0.01, -0.02], [1.0, 1.0])["long_flat"]["annual_return"] == pytest.approx(
        (math.exp(0.01) * math.exp(-0.02)) ** (252 / 2) - 1.0)


# -- cross-sectional information coefficient ----------------------------------------------------
@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**31 - 1), st.integers(1, 12), st.integers(3, 9), st.booleans())
def test_per_date_ic_is_scipy_spearman_on_each_date(seed: int, n_dates: int, most: int, ties: bool) -> None:
    """Every date's IC is scipy's Spearman of that date's rows, ties averaged; a date with fewer than
    min_assets rows or outcomes all equal has none (left out); a forecast all equal on a date ranks
    nothing: 0 there (left out, a collapsed student could never rank worse: a review)."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, most + 1, size=n_dates)
    dates = np.repeat(np.arange(n_dates) * 7 + 3, sizes)
    rng.shuffle(dates)  # rows of a date need not be together
    y = rng.normal(size=dates.size)
    pred = rng.normal(size=dates.size)
    if ties:  # a few values only: ties and whole constant dates
        y, pred = np.round(y), np.round(pred / 2)
    got_dates, got = fc.per_date_ic(dates, y, pred, min_assets=3)
    expected = {}
    for day in np.unique(dates):
        mine = dates == day
        if mine.sum() >= 3 and np.ptp(y[mine]) > 0:
            expected[int(day)] = stats.spearmanr(pred[mine], y[mine]).statistic if np.ptp(pred[mine]) > 0 else 0.0
    assert [int(d) for d in got_dates] == sorted(expected)
    assert np.allclose(got, [expected[d] for d in sorted(expected)], atol=1e-12)


def test_cross_sectional_ic_and_its_t_test_against_scipy_and_statsmodels() -> None:
    rng = np.random.default_rng(5)
    assets, n_dates = 8, 60
    dates = np.repeat(np.arange(n_dates), assets)
    y = rng.normal(size=dates.size)
    # A forecast that ranks the assets a little: and a market-wide move that only pooling rewards.
    market = np.repeat(rng.normal(size=n_dates), assets)
    pred = 0.3 * y + rng.normal(size=dates.size)
    by_date = np.array([stats.spearmanr(pred[dates == d], y[dates == d]).statistic for d in range(n_dates)])
    one = fc.cross_sectional_ic(dates, y + 5 * market, pred + 5 * market)  # a common shift ranks nothing
    assert one["mean"] == pytest.approx(by_date.mean(), rel=1e-12)
    assert one["std"] == pytest.approx(by_date.std(ddof=1), rel=1e-12)
    assert one["information_ratio"] == pytest.approx(by_date.mean() / by_date.std(ddof=1), rel=1e-12)
    assert one["positive_share"] == pytest.approx(np.mean(by_date > 0))
    assert one["dates"] == n_dates and one["dates_skipped"] == 0
    # At horizon 1 the test is the one-sample t-test of the per-date ICs.
    ttest = stats.ttest_1samp(by_date, 0.0)
    assert one["t_statistic"] == pytest.approx(ttest.statistic, rel=1e-10)
    assert one["p_value"] == pytest.approx(ttest.pvalue, rel=1e-8)
    assert one["p_value_positive"] == pytest.approx(stats.t.sf(ttest.statistic, n_dates - 1), rel=1e-8)
    # At horizon 3: a uniform-kernel HAC over 2 lags, times the Harvey–Leybourne–Newbold factor.
    three = fc.cross_sectional_ic(dates, y, pred, horizon=3)
    ols = sm.OLS(by_date, np.ones(n_dates)).fit(cov_type="HAC", cov_kwds={"maxlags": 2, "kernel": "uniform",
                                                                         "use_correction": False})
    factor = math.sqrt((n_dates + 1 - 6 + 6 / n_dates) / n_dates)
    assert three["t_statistic"] == pytest.approx(float(ols.tvalues[0]) * factor, rel=1e-10)
    # Against a baseline: the per-date differences, on the dates both have an IC.
    base = pred + 2 * rng.normal(size=dates.size)
    base[dates == 7] = 1.0  # ranks nothing that date: an IC of 0
    base_by_date = np.array([stats.spearmanr(base[dates == d], y[dates == d]).statistic if d != 7 else 0.0
                             for d in range(n_dates)])
    vs = fc.cross_sectional_ic(dates, y, pred, baseline=base)
    diff = by_date - base_by_date
    assert vs["dates"] == n_dates and vs["dates_skipped"] == 0
    assert vs["mean"] == pytest.approx(diff.mean(), rel=1e-12)
    assert vs["t_statistic"] == pytest.approx(stats.ttest_1samp(diff, 0.0).statistic, rel=1e-10)


def test_cross_sectional_ic_needs_a_cross_section_and_refuses_bad_settings() -> None:
    dates = np.repeat(np.arange(30), 4)
    y = np.arange(dates.size, dtype=float) % 5
    out = fc.cross_sectional_ic(dates, y, y)  # four assets a date: below the minimum of five
    assert out["mean"] is None and out["dates"] == 0 and out["dates_skipped"] == 30 and out["t_statistic"] is None
    few = fc.cross_sectional_ic(np.repeat(np.arange(3), 6), np.tile(np.arange(6.0), 3), np.tile(np.arange(6.0), 3))
    assert few["mean"] == pytest.approx(1.0) and few["t_statistic"] is None  # 3 dates: too few to test
    with pytest.raises(ConfigError, match=r"min_assets.*3 or more"):
        fc.cross_sectional_ic(dates, y, y, min_assets=2)
    with pytest.raises(ConfigError, match="horizon"):
        fc.cross_sectional_ic(dates, y, y, horizon=0)
    with pytest.raises(DataError, match="one date per row"):
        fc.per_date_ic(dates[:-1], y, y)
    # A student collapsed to one value a date ranks nothing: IC 0 on every date, tested against a
    # teacher that ranks (it was left out, and the comparison had no date at all).
    five = np.repeat(np.arange(30), 5)
    outcome = np.random.default_rng(1).normal(size=five.size)
    flat = fc.cross_sectional_ic(five, outcome, np.zeros(five.size), baseline=outcome)
    assert flat["mean"] == -1.0 and flat["dates"] == 30 and flat["p_value_positive"] == 1.0
    assert fc.has_cross_section(five) and not fc.has_cross_section(dates) and not fc.has_cross_section([1, 1])
    with pytest.raises(DataError, match="finite"):
        fc.cross_sectional_ic(dates, np.where(y == 0, np.nan, y), y)


# -- the cross-sectional quintile portfolio -------------------------------------------------------
def _book_by_hand(dates: np.ndarray, ids: np.ndarray, signal: np.ndarray, realised: np.ndarray, q: float,
                  cost_bps: float, h: int, min_assets: int) -> dict[str, np.ndarray]:
    """Net returns of the three books, date by date with pandas: a second computation."""
    import pandas as pd

    frame = pd.DataFrame({"d": dates, "id": ids, "s": signal, "r": realised})
    books: dict[str, list[float]] = {"long_short": [], "long_top": [], "equal_weight": []}
    before: dict[str, pd.Series] = {b: pd.Series(dtype=float) for b in books}
    def leg(signal: pd.Series, k: int, top: bool) -> pd.Series:
        # k places: those strictly beyond the k-th signal get 1/k, those tied with it share the rest.
        edge = signal.sort_values(ascending=not top).iloc[k - 1]
        beyond = signal > edge if top else signal < edge
        tied = signal == edge
        out = beyond.astype(float) / k
        out[tied] = (k - beyond.sum()) / (k * tied.sum())
        return out

    for day in sorted(frame["d"].unique())[::h]:
        today = frame[frame["d"] == day]
        n = len(today)
        w = {b: pd.Series(0.0, index=today["id"].to_numpy()) for b in books}
        if n >= min_assets:
            k = max(1, int(n * q + 1e-9))
            signal = pd.Series(today["s"].to_numpy(), index=today["id"].to_numpy())
            w["long_short"] = leg(signal, k, True) - leg(signal, k, False)
            w["long_top"] = leg(signal, k, True)
            w["equal_weight"][:] = 1.0 / n
        simple = pd.Series(np.expm1(today["r"].to_numpy()), index=today["id"].to_numpy())
        for b in books:
            traded = w[b].sub(before[b], fill_value=0.0).abs().sum()
            net = float((w[b] * simple).sum() - traded * cost_bps / 10_000)
            books[b].append(net)
            before[b] = w[b] * (1 + simple) / (1 + net)  # held at the period's end: drifted with prices
    return {b: np.array(v) for b, v in books.items()}


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**31 - 1), st.integers(1, 3), st.sampled_from([0.2, 0.5, 0.1]), st.booleans())
def test_quantile_portfolio_against_a_date_by_date_computation(seed: int, h: int, q: float, ragged: bool) -> None:
    rng = np.random.default_rng(seed)
    n_dates, n_assets = 20, 9
    dates = np.repeat(np.arange(n_dates), n_assets)
    ids = np.tile(np.array([f"A{k}" for k in range(n_assets)]), n_dates)
    if ragged:  # assets list and delist: some dates have fewer than five
        keep = rng.random(dates.size) < 0.6
        dates, ids = dates[keep], ids[keep]
    realised = rng.normal(0, 0.02, size=dates.size)
    signal = np.round(realised + rng.normal(0, 0.02, size=dates.size), 2)  # ties: the tied share a leg's edge
    got = fc.quantile_portfolio(dates, ids, signal, realised, 7.0, 252, horizon=h, quantile=q)
    expected = _book_by_hand(dates, ids, signal, realised, q, 7.0, h, 5)
    for book, net in expected.items():
        sd = net.std(ddof=1)
        assert got[book]["rows"] == net.size == got["periods"]
        assert got[book]["sharpe"] == pytest.approx(net.mean() / sd * math.sqrt(252 / h) if sd > 0 else 0.0,
                                                    rel=1e-9, abs=1e-12)
        assert got[book]["total_return"] == pytest.approx(np.prod(1 + net) - 1, rel=1e-9, abs=1e-12)
    assert got["periods_flat"] == sum(
        1 for day in sorted(np.unique(dates))[::h] if (dates == day).sum() < 5)


def test_quantile_portfolio_by_hand_turnover_path_and_refusals() -> None:
    # Two dates of five assets: the top one (k = 1) long, the bottom one short.
    dates = np.repeat([0, 1], 5)
    ids = np.tile(["A", "B", "C", "D", "E"], 2)
    signal = np.array([5, 4, 3, 2, 1, 1, 2, 3, 4, 5], dtype=float)
    realised = np.log(np.array([1.10, 1.0, 1.0, 1.0, 0.95, 1.02, 1.0, 1.0, 1.0, 0.99]))
    got = fc.quantile_portfolio(dates, ids, signal, realised, 10.0, 252)
    ls = got["long_short"]
    # Date 0: long A (+10 %), short E (-5 %): +15 %, less 2 units traded at 10 bp. At its end the
    # book (worth 1.148) holds A at 1.10 / 1.148 and E at -0.95 / 1.148. Date 1: long E (-1 %), short
    # A (+2 %): -3 %, less the trades from those drifted weights to A -1, E +1.
    first = 0.15 - 2 * 0.001
    held_a, held_e = 1.10 / (1 + first), -0.95 / (1 + first)
    second_trade = abs(-1 - held_a) + abs(1 - held_e)
    net = np.array([first, -0.01 - 0.02 - second_trade * 0.001])
    assert ls["total_return"] == pytest.approx(np.prod(1 + net) - 1, rel=1e-12)
    assert ls["turnover"] == pytest.approx((2 + second_trade) / 2, rel=1e-12) and ls["trades"] == 2
    top_first = 0.10 - 0.001  # into A
    assert got["long_top"]["turnover"] == pytest.approx((1 + 1.10 / (1 + top_first) + 1) / 2, rel=1e-12)
    # The equal-weighted universe rebalances its drifted weights back to 1/5 each, and pays for it.
    ew_first = np.expm1(realised[:5]).mean() - 0.001
    drifted = 0.2 * np.exp(realised[:5]) / (1 + ew_first)
    assert got["equal_weight"]["turnover"] == pytest.approx((1 + np.abs(0.2 - drifted).sum()) / 2, rel=1e-12)
    # A path inside the horizon marks the drawdown at every step.
    path = np.stack([realised * 0.5, realised], axis=1)
    path[0, 0] = np.log(0.5)  # A halves on the first day of date 0's period
    marked = fc.quantile_portfolio(dates, ids, signal, realised, 10.0, 252, path=path)
    assert marked["long_top"]["max_drawdown"] > got["long_top"]["max_drawdown"]
    # A forecast the same for every asset ranks nothing: a flat long/short book (it traded the first and
    # last ids: a Sharpe of 5.2 where the IC was 0, a review) and a top leg that is the whole universe.
    same = fc.quantile_portfolio(dates, ids, np.zeros(10), realised, 10.0, 252)
    assert same["long_short"]["total_return"] == 0.0 and same["long_short"]["turnover"] == 0.0
    # panel_books: each model's book as quantile_portfolio gives it, with the period returns behind it.
    books, nets = fc.panel_books(dates, ids, {"a": signal, "b": -signal}, realised, 10.0, 252)
    assert books["a"] == got and np.prod(1 + nets["a"]) - 1 == pytest.approx(ls["total_return"], rel=1e-12)
    assert books["b"]["long_short"]["total_return"] != pytest.approx(ls["total_return"])
    with pytest.raises(ConfigError, match="start"):
        fc.quantile_portfolio(dates, ids, signal, realised, horizon=2, start=2)
    later = fc.quantile_portfolio(dates, ids, signal, realised, 10.0, 252, horizon=2, start=1)
    assert later["periods"] == 1 and later["long_short"]["total_return"] == pytest.approx(-0.03 - 2 * 0.001)
    assert same["long_top"]["total_return"] == pytest.approx(same["equal_weight"]["total_return"], rel=1e-12)
    # Two tied at the edge of a one-place leg share it.
    tied = fc.quantile_portfolio(dates[:5], ids[:5], np.array([5.0, 5.0, 1, 0, -1]), realised[:5])
    assert tied["long_top"]["total_return"] == pytest.approx((0.10 + 0.0) / 2, rel=1e-12)
    # floor(180 · 0.35) is 63 places (62.99999… in binary): the 63rd highest signal is in the leg.
    doubles = np.where(np.arange(180) == 117, np.log(2.0), 0.0)
    assert fc.quantile_portfolio(np.zeros(180), np.arange(180), np.arange(180.0), doubles,
                                 quantile=0.35)["long_top"]["total_return"] == pytest.approx(1 / 63, rel=1e-12)
    with pytest.raises(ConfigError, match="quantile"):
        fc.quantile_portfolio(dates, ids, signal, realised, quantile=0.6)
    with pytest.raises(ConfigError, match="min_assets"):
        fc.quantile_portfolio(dates, ids, signal, realised, min_assets=1)
    with pytest.raises(DataError, match="one date and one id per row"):
        fc.quantile_portfolio(dates, ids[:-1], signal, realised)
    with pytest.raises(DataError, match="finite"):
        fc.quantile_portfolio(dates, ids, np.where(signal > 4, np.nan, signal), realised)


def test_up_share_counts_as_directional_accuracy_counts() -> None:
    from finlite.evaluate.forecast import up_share

    r = np.array([0.01, -0.02, 0.0, np.nan, 0.03])
    assert up_share(None, r, direction=False) == pytest.approx(2 / 3)  # the zero and the unknown left out
    assert up_share(np.array([1.0, 0.0, 0.0, 1.0]), None, direction=True) == pytest.approx(0.5)  # no move: down
    assert up_share(None, np.array([0.0, np.nan]), direction=False) is None


# -- VaR backtest -----------------------------------------------------------------------
@pytest.mark.parametrize(("exceptions", "zone"), [(0, "green"), (4, "green"), (5, "yellow"), (9, "yellow"),
                                                  (10, "red"), (25, "red")])
def test_the_traffic_light_has_the_basel_zones_for_250_days(exceptions: int, zone: str) -> None:
    """The Basel Committee's backtesting table at 99 % over 250 days: green 0–4, yellow 5–9, red 10+."""
    assert fc.traffic_light(exceptions, 250, 0.99) == zone


def test_the_traffic_light_judges_no_fewer_periods_than_one_expected_exception() -> None:
    """With 5 periods at 99 % even no exception reached 95 % and was "yellow" (a review, 2026-12-07)."""
    assert fc.traffic_light(0, 5, 0.99) is None and fc.traffic_light(0, 99, 0.99) is None
    assert fc.traffic_light(0, 100, 0.99) == "green" and fc.traffic_light(0, 20, 0.95) == "green"
    # Red is told whatever the count of periods: 20 breaches in 99, 50 in 50 (a review, 2026-12-07).
    assert fc.traffic_light(20, 99, 0.99) == "red" and fc.traffic_light(50, 50, 0.99) == "red"
    # Red by Basel's rule at any count, so a clean extra day never turns a result red, but not for one
    # breach, whose cumulative probability in one or two periods is 1 whatever happened (reviews).
    assert fc.traffic_light(1, 1, 0.99) is None and fc.traffic_light(1, 2, 0.99) is None
    assert fc.traffic_light(2, 5, 0.99) == "red" and fc.traffic_light(6, 99, 0.99) == "red"
    assert fc.traffic_light(6, 100, 0.99) == "red" and fc.traffic_light(19, 19, 0.95) == "red"
    assert fc.var_backtest(np.full(5, -0.001), np.full(5, 0.01), 0.99)["zone"] is None


def test_the_traffic_light_refuses_impossible_counts() -> None:
    with pytest.raises(DataError, match="0 ≤ exceptions ≤ observations"):
        fc.traffic_light(11, 10, 0.99)
    with pytest.raises(DataError, match="observations > 0"):
        fc.traffic_light(0, 0, 0.99)


def _kupiec_by_binomial(x: int, n: int, p: float) -> float:
    """Kupiec's LR from scipy's binomial log-likelihoods (the binomial coefficient cancels)."""
    return 2.0 * (stats.binom.logpmf(x, n, x / n) - stats.binom.logpmf(x, n, p))


def test_var_backtest_counts_exceptions_and_matches_independent_tests() -> None:
    """Exceptions are returns below −z·σ; Kupiec's LR equals the one from scipy's binomial; the
    independence LR is the hand-computed Markov-chain one of a known sequence."""
    sigma = np.full(12, 0.01)
    z99 = stats.norm.ppf(0.99)
    hits = np.array([0, 1, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0], dtype=bool)
    realised = np.where(hits, -1.01 * z99 * 0.01, -0.99 * z99 * 0.01)  # just beyond / just within the VaR
    out = fc.var_backtest(realised, sigma, 0.99)
    assert (out["observations"], out["exceptions"], out["zone"]) == (12, 3, "red")  # 3 where 0.12 are expected
    assert out["expected"] == pytest.approx(0.12) and out["exception_rate"] == pytest.approx(0.25)
    assert out["kupiec"]["statistic"] == pytest.approx(_kupiec_by_binomial(3, 12, 0.01), rel=1e-12)
    assert out["kupiec"]["p_value"] == pytest.approx(stats.chi2.sf(_kupiec_by_binomial(3, 12, 0.01), 1), rel=1e-12)
    # The exact two-sided binomial test beside it: every count as unlikely as 3 or less so, summed
    # by hand (χ² is asymptotic; at 250 days it rejected 8 % of right VaRs at 5 %: a review).
    pmf = stats.binom.pmf(np.arange(13), 12, 0.01)
    by_hand = float(pmf[pmf <= pmf[3] * (1 + 1e-7)].sum())
    assert out["kupiec"]["exact_p"] == pytest.approx(by_hand, rel=1e-9)
    # Transitions of 0 1 1 0 0 0 1 0 0 0 0 0: n00 6, n01 2, n10 2, n11 1.
    n00, n01, n10, n11 = 6, 2, 2, 1
    pi, pi01, pi11 = 3 / 11, n01 / (n00 + n01), n11 / (n10 + n11)
    lr_ind = -2 * ((n00 + n10) * math.log(1 - pi) + (n01 + n11) * math.log(pi)
                   - n00 * math.log(1 - pi01) - n01 * math.log(pi01) - n10 * math.log(1 - pi11) - n11 * math.log(pi11))
    assert out["independence"]["statistic"] == pytest.approx(lr_ind, rel=1e-12)
    assert out["conditional_coverage"]["statistic"] == pytest.approx(out["kupiec"]["statistic"] + lr_ind, rel=1e-12)
    assert out["conditional_coverage"]["p_value"] == pytest.approx(
        stats.chi2.sf(out["kupiec"]["statistic"] + lr_ind, 2), rel=1e-12)
    # No exception: Kupiec is defined (0 · log 0 = 0); the independence tests have nothing to test
    # (a statistic of 0 and p 1 read as passed: a review, 2026-12-07).
    calm = fc.var_backtest(np.full(250, -0.001), np.full(250, 0.01), 0.99)
    assert calm["exceptions"] == 0 and calm["zone"] == "green"
    assert calm["kupiec"]["statistic"] == pytest.approx(_kupiec_by_binomial(0, 250, 0.01), rel=1e-12)
    assert calm["independence"] is None and calm["conditional_coverage"] is None
    # Every period an exception, one exception on the last day, one period: nothing to test either.
    assert fc.var_backtest(np.full(10, -1.0), np.full(10, 0.01), 0.95)["independence"] is None
    assert fc.var_backtest(np.r_[np.full(9, 0.0), -1.0], np.full(10, 0.01), 0.95)["independence"] is None
    assert fc.var_backtest([-1.0], [0.01], 0.95)["independence"] is None
    # One exception on the first day only: no later period is an exception, nothing to test (it
    # read as statistic 0, p 1); on the first and third days, both states vary: tested.
    first = fc.var_backtest(np.r_[-1.0, np.full(9, 0.0)], np.full(10, 0.01), 0.95)
    assert first["exceptions"] == 1 and first["independence"] is None
    assert first["conditional_coverage"] is None
    assert fc.var_backtest(np.r_[-1.0, 0.0, -1.0, np.full(7, 0.0)], np.full(10, 0.01),
                           0.95)["independence"] is not None
    # A forecast at or below 0 is a VaR of 0: any loss breaches it.
    assert fc.var_backtest([-1e-6, 1e-6], [-0.01, 0.0], 0.95)["exceptions"] == 1


def test_var_backtest_of_calibrated_normal_forecasts_holds_its_level() -> None:
    """σ forecasts of normal returns: about 1 % and 5 % exceptions, green, tests not rejecting."""
    rng = np.random.default_rng(3)
    sigma = rng.uniform(0.005, 0.03, 20_000)
    realised = rng.normal(0.0, sigma)
    for level in fc.VAR_LEVELS:
        out = fc.var_backtest(realised, sigma, level)
        assert out["exception_rate"] == pytest.approx(1 - level, rel=0.12)
        assert out["zone"] == "green" and out["kupiec"]["p_value"] > 0.01
    # The same returns judged on E|r| (0.8 σ), what a squared-error fit of |r| learns: breached too often.
    low = fc.var_backtest(realised, 0.8 * sigma, 0.99)
    assert low["exception_rate"] > 0.03 and low["zone"] == "red" and low["kupiec"]["p_value"] < 1e-6


def test_es_backtest_is_acerbi_szekelys_z2_with_a_p_value_checked_two_ways() -> None:
    """Z2 = Σ r·1{r < −VaR} / (T (1 − α) ES) + 1, by hand on four periods; its p-value against a
    brute-force simulation of T normals a draw (the test draws the exceptions only) and, on a long
    period, against the normal approximation from the truncated normal's moments."""
    sigma = np.array([0.01, 0.02, 0.01, 0.04])
    realised = np.array([-0.03, 0.01, -0.001, -0.09])
    z = stats.norm.ppf(0.975)
    es = sigma * stats.norm.pdf(z) / 0.025
    hit = realised < -z * sigma
    assert hit.tolist() == [True, False, False, True]
    out = fc.es_backtest(realised, sigma)
    assert out["statistic"] == pytest.approx(float(np.sum(realised[hit] / es[hit]) / (4 * 0.025) + 1), rel=1e-12)
    # Two exceptions in four periods at 0.1 expected: p about 0.004 (yellow), and below one expected
    # exception only red is told.
    assert (out["exceptions"], out["observations"], out["zone"]) == (2, 4, None) and out["p_value"] < 0.01
    # Brute force: T standard normals a draw, each term ε·1{ε < −z}/(T φ(z)).
    rng = np.random.default_rng(11)
    sigma = rng.uniform(0.005, 0.03, 300)
    realised = rng.standard_t(4, 300) * sigma / math.sqrt(2)  # unit variance, fat tails
    got = fc.es_backtest(realised, sigma)
    e = np.random.default_rng(12).standard_normal((20_000, 300))
    brute = np.where(e < -z, e, 0.0).sum(axis=1) / (300 * stats.norm.pdf(z)) + 1.0
    assert got["p_value"] == pytest.approx(float(np.mean(brute <= got["statistic"])), abs=0.015)
    # A long calibrated period: Z2 near 0, p near the normal approximation's, green.
    sigma = rng.uniform(0.005, 0.03, 20_000)
    calm = fc.es_backtest(rng.normal(0.0, sigma), sigma)
    phi = stats.norm.pdf(z)
    sd = math.sqrt((0.025 + z * phi - phi**2) / 20_000) / phi  # Var(ε·1{ε < −z}) / (T φ²)
    assert calm["zone"] == "green" and abs(calm["statistic"]) < 4 * sd
    assert calm["p_value"] == pytest.approx(stats.norm.cdf(calm["statistic"] / sd), abs=0.02)
    # Understated tails (σ forecast at 0.8 of the truth): red, Z2 well below 0.
    low = fc.es_backtest(rng.normal(0.0, sigma), 0.8 * sigma)
    assert low["zone"] == "red" and low["statistic"] < -1 and low["p_value"] < 1e-4
    # Seeded: the same input gives the same p, drawn afresh (not served from the cache).
    first = fc.es_backtest(realised[:50], sigma[:50])
    fc._z2_null.cache_clear()
    assert fc.es_backtest(realised[:50], sigma[:50]) == first
    # A p below 0.1 % is drawn again, finer: the red zone's 0.01 % is no longer the 2nd lowest draw.
    assert low["p_draws"] > fc.ES_DRAWS and calm["p_draws"] == fc.ES_DRAWS


def test_es_backtest_names_what_it_cannot_scale_or_judge() -> None:
    out = fc.es_backtest([-0.01, 0.01], [0.01, 0.0])
    assert out["nonpositive_forecasts"] == 1 and out["statistic"] is None and out["zone"] is None
    # One exception in fewer periods than one expected is not red (one day of -5 sigma was: a
    # review); from 40 periods its size can make it red (50 sigma in 100 was yellow: a review).
    one = fc.es_backtest([-5.0], [1.0])
    assert one["exceptions"] == 1 and one["p_value"] < 1e-4 and one["zone"] is None
    huge = fc.es_backtest([-50.0] + [0.0] * 99, [1.0] * 100)  # one loss of 50 sigma in 100 periods
    assert huge["exceptions"] == 1 and huge["p_value"] < 1e-4 and huge["zone"] == "red"
    # A forecast so small that a loss over it overflows has no shortfall to scale (Z2 was -inf,
    # red, and no warning said so: a review); draws may be a numpy integer.
    tiny = fc.es_backtest([-0.01, -0.01] + [0.0] * 98, [1e-320] * 100)
    assert tiny["nonpositive_forecasts"] == 100 and tiny["statistic"] is None and tiny["zone"] is None
    assert fc.es_backtest([0.01] * 50, [0.01] * 50, draws=np.int64(500))["p_draws"] == 500
    with pytest.raises(DataError, match=r"An ES level must lie between 0\.5 and 1"):
        fc.es_backtest([0.01], [0.01], 97.5)
    with pytest.raises(ConfigError, match="draws must be a positive whole number"):
        fc.es_backtest([0.01], [0.01], draws=0)


def test_var_backtest_refuses_what_it_cannot_judge() -> None:
    with pytest.raises(DataError, match=r"A VaR level must lie between 0\.5 and 1"):
        fc.var_backtest([0.01], [0.01], 99)
    with pytest.raises(DataError, match="differ in length"):
        fc.var_backtest([0.01, 0.02], [0.01], 0.99)
    with pytest.raises(DataError, match="finite outcomes"):
        fc.var_backtest([np.nan], [0.01], 0.99)


@pytest.mark.parametrize(("observations", "level"), [(250, 0.99), (99, 0.99), (1000, 0.95), (3, 0.99), (40, 0.975)])
def test_the_chance_of_red_is_the_binomial_tail_from_the_first_red_count(observations: int, level: float) -> None:
    """red_probability against traffic_light itself: the first count it calls red, and the
    binomial mass from there (scipy's pmf, summed)."""
    from scipy.stats import binom, poisson

    first = next((k for k in range(observations + 1) if fc.traffic_light(k, observations, level) == "red"), None)
    expected = 0.0 if first is None else float(binom.pmf(np.arange(first, observations + 1), observations,
                                                         1 - level).sum())
    assert fc.red_probability(observations, level) == pytest.approx(expected, rel=1e-9, abs=1e-15)
    # A thousand right assets of 250 days: about a quarter of a red one, and one red by chance 22 % of the time.
    panel = fc.red_by_chance([fc.red_probability(250, 0.99)] * 1000, 1)
    assert panel["expected"] == pytest.approx(1000 * fc.red_probability(250, 0.99))
    assert panel["p_value"] == pytest.approx(1 - poisson.pmf(0, panel["expected"]), rel=1e-12)
    assert 0.15 < panel["p_value"] < 0.3
    none = fc.red_by_chance([1e-4] * 10, 0)
    assert none["expected"] == pytest.approx(1e-3) and none["p_value"] == 1.0 and none["chance"] is True
    # One asset far beyond what any of a thousand right ones shows (100 breaches in 250 days at 99 %)
    # is no chance, whatever the count says (it read "chance": a review).
    worst = fc.breach_tail(100, 250, 0.99)
    assert worst == pytest.approx(float(binom.sf(99, 250, 0.01)), rel=1e-9)
    far = fc.red_by_chance([fc.red_probability(250, 0.99)] * 1000, 1, worst)
    assert far["p_value"] > 0.01 and far["worst_panel"] < 1e-4 and far["chance"] is False
    near = fc.red_by_chance([fc.red_probability(250, 0.99)] * 1000, 1, fc.breach_tail(8, 250, 0.99))
    assert near["chance"] is True  # the first red count, as right forecasts give it now and then


def test_a_series_constant_up_to_rounding_has_no_volatility_and_no_hac_variance() -> None:
    """0.3 - 0.2 in every row differs in its last bits: buy-and-hold of a constant return read a
    Sharpe ratio of 9.8e16, and the Diebold–Mariano statistic 2.2e16 against an HAC variance of
    rounding errors (a statistics audit, 2026-12-07). Constant up to rounding counts as constant
    (r2's rule), as an exactly constant series did."""
    flat = fc.buy_and_hold(np.full(3, 0.1))
    assert flat["sharpe"] == 0.0 and flat["annual_volatility"] == 0.0
    test = fc.diebold_mariano(np.full(10, 0.1) * 3, np.full(10, 0.2))
    assert test["variance"] == "zero" and test["statistic"] == math.inf and test["p_value"] == 0.0
    same = fc.diebold_mariano(np.full(10, 0.3), np.full(10, 0.3))
    assert same["statistic"] == 0.0 and same["p_value"] == 1.0 and same["variance"] == "zero"
    # A small differential that really moves keeps its test.
    moving = fc.diebold_mariano(np.linspace(1e-7, 2e-7, 50), np.linspace(2e-7, 1e-7, 50))
    assert moving["variance"] in ("hac", "lag0_fallback") and math.isfinite(moving["statistic"])
