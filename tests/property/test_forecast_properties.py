"""Properties of the forecast statistics (finlite.evaluate.forecast) over generated inputs."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from finlite.evaluate import forecast as fc

_FLOATS = st.floats(-5.0, 5.0, allow_nan=False, allow_infinity=False, width=64)
_RETURNS = st.floats(-0.2, 0.2, allow_nan=False, allow_infinity=False, width=64)


@st.composite
def _pairs(draw: st.DrawFn, lo: int = 8, hi: int = 60) -> tuple[np.ndarray, np.ndarray]:
    n = draw(st.integers(lo, hi))
    return draw(arrays(np.float64, n, elements=_FLOATS)), draw(arrays(np.float64, n, elements=_FLOATS))


@settings(max_examples=60, deadline=None)
@given(_pairs(), st.integers(1, 3), st.sampled_from(["squared", "absolute"]))
def test_dm_is_antisymmetric(pair: tuple[np.ndarray, np.ndarray], horizon: int, loss: str) -> None:
    """Swapping the two forecasts negates the statistic and leaves the two-sided p-value."""
    a, b = pair
    ab = fc.diebold_mariano(a, b, horizon, loss)  # type: ignore[arg-type]
    ba = fc.diebold_mariano(b, a, horizon, loss)  # type: ignore[arg-type]
    assert ab["statistic"] == pytest.approx(-ba["statistic"], rel=1e-9, abs=1e-12)
    assert ab["p_value"] == pytest.approx(ba["p_value"], rel=1e-9, abs=1e-12)
    assert 0.0 <= ab["p_value"] <= 1.0


@settings(max_examples=60, deadline=None)
@given(_pairs(2, 60))
def test_rmse_is_at_least_mae_and_ic_is_a_correlation(pair: tuple[np.ndarray, np.ndarray]) -> None:
    y, pred = pair
    m = fc.forecast_metrics(y, pred)
    assert m["rmse"] >= m["mae"] - 1e-12
    assert -1.0 - 1e-12 <= m["information_coefficient"] <= 1.0 + 1e-12


@settings(max_examples=60, deadline=None)
@given(st.integers(2, 80).flatmap(lambda n: st.tuples(arrays(np.float64, n, elements=_RETURNS),
                                                        arrays(np.float64, n, elements=_FLOATS))),
       st.floats(0.0, 50.0))
def test_drawdown_in_unit_interval_and_costs_never_help(data: tuple[np.ndarray, np.ndarray], cost: float) -> None:
    r, signal = data
    free, costly = fc.trading_view(r, signal, 0.0), fc.trading_view(r, signal, cost)
    for view in (free, costly):
        for name in ("long_flat", "long_short"):
            assert 0.0 <= view[name]["max_drawdown"] <= 1.0
    for name in ("long_flat", "long_short"):
        assert costly[name]["equity"]["final"] <= free[name]["equity"]["final"] + 1e-12
    assert 0.0 <= fc.buy_and_hold(r, cost)["max_drawdown"] <= 1.0


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 400), st.integers(0, 400), st.sampled_from([0.99, 0.975, 0.95]))
def test_the_traffic_light_never_gets_greener_with_more_exceptions(n: int, x: int, level: float) -> None:
    """One more exception in as many periods never moves the zone towards green."""
    x = min(x, n - 1)
    rank = {"green": 0, "yellow": 1, "red": 2}
    one, more = fc.traffic_light(x, n, level), fc.traffic_light(x + 1, n, level)
    if n * (1 - level) < 1 - 1e-9:  # fewer periods than one expected exception: red, or no zone
        assert one in (None, "red") and more in (None, "red") and not (one == "red" and more is None)
        return
    assert one is not None and more is not None and rank[one] <= rank[more]
    assert fc.traffic_light(0, n, level) == "green"  # no exception is never worse than green


@settings(max_examples=60, deadline=None)
@given(st.integers(2, 120).flatmap(lambda n: st.tuples(arrays(np.float64, n, elements=_RETURNS),
                                                        arrays(np.float64, n, elements=st.floats(-0.01, 0.1)))),
       st.sampled_from([0.99, 0.95]))
def test_var_backtest_counts_what_it_says_and_gives_probabilities(data: tuple[np.ndarray, np.ndarray],
                                                                   level: float) -> None:
    """The exceptions are the returns below −z·max(σ, 0), counted directly; every p-value is a
    probability, every statistic at least 0; a wider VaR never has more exceptions."""
    from scipy import stats

    r, sigma = data
    out = fc.var_backtest(r, sigma, level)
    assert out["exceptions"] == int(np.sum(r < -stats.norm.ppf(level) * np.maximum(sigma, 0.0)))
    for test in ("kupiec", "independence", "conditional_coverage"):
        if out[test] is not None:
            assert out[test]["statistic"] >= 0.0 and 0.0 <= out[test]["p_value"] <= 1.0
    assert fc.var_backtest(r, 2 * np.abs(sigma), level)["exceptions"] <= out["exceptions"] or (sigma < 0).any()
