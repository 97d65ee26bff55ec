"""Forecast evaluation: errors, direction, rank information, the Diebold–Mariano test and a trading view.

Everything here needs numpy, and scipy for the rank correlation and Student's t; scipy is imported
only when those are computed, so the torch-free runtime can import the task registry without it.

- :func:`forecast_metrics` bundles the point metrics of one forecast against the outcomes:
  ``rmse``, ``mae``, ``mase`` (MAE relative to the naive forecast's in-sample MAE, Hyndman and
  Koehler's scale, when the caller has the training windows; else to its MAE on the same rows),
  ``mape`` (rows with a near-zero outcome skipped and counted), ``directional_accuracy``,
  ``information_coefficient`` (Spearman rank correlation of forecast and outcome) and ``r2``.
- :func:`diebold_mariano` tests whether two forecasts of the same outcomes are equally accurate,
  with the Harvey–Leybourne–Newbold small-sample correction and Student-t p-values.
- :func:`trading_view` turns forecasts (or probabilities of an up move) into long/flat and
  long/short positions on the predicted direction and reports what they would have earned after
  costs; :func:`buy_and_hold` is the benchmark every such view is read against.
- For volatility forecasts, :func:`volatility_metrics` (QLIKE, the variance ratio) and
  :func:`var_backtest` (the VaR they make,
  backtested: exceptions, the Basel :func:`traffic_light` zone, Kupiec's and Christoffersen's
  likelihood-ratio tests).
- :func:`per_fold` applies any of these to each walk-forward fold and to the pooled rows.
- On a panel of assets, :func:`cross_sectional_ic` (each date's rank correlation across the
  assets, averaged, with a HAC t-test) and :func:`quantile_portfolio` (quintile long/short,
  long-only top and equal-weighted books; :func:`panel_books` gives every model's, with their
  period returns).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Literal

import numpy as np

from finlite._util import terminal_safe
from finlite.errors import ConfigError, DataError
from finlite.evaluate.metrics import finite_scores, mae, r2, rmse

__all__ = [
    "ABS_RETURN_VARIANCE_RATIO",
    "CROSS_SECTION_MIN_ASSETS",
    "ES_DRAWS",
    "ES_LEVEL",
    "ES_RED_PROBABILITY",
    "MAPE_EPS",
    "PORTFOLIO_QUANTILE",
    "TRAFFIC_LIGHT",
    "VAR_LEVELS",
    "breach_tail",
    "buy_and_hold",
    "cross_sectional_ic",
    "date_mean_errors",
    "diebold_mariano",
    "directional_accuracy",
    "directional_accuracy_test",
    "es_backtest",
    "forecast_metrics",
    "has_cross_section",
    "independent_rows",
    "information_coefficient",
    "mae",
    "mape",
    "mase",
    "max_drawdown",
    "net_returns",
    "panel_books",
    "per_date_ic",
    "per_fold",
    "quantile_portfolio",
    "r2",
    "red_by_chance",
    "red_probability",
    "rmse",
    "trading_view",
    "traffic_light",
    "up_share",
    "var_backtest",
    "volatility_metrics",
]

#: Outcomes with ``|y| <`` this are left out of MAPE (a percentage error of a zero is undefined).
MAPE_EPS = 1e-8

#: Points of the equity curve a strategy's summary keeps (evenly spaced, the last row included).
EQUITY_POINTS = 50


def _stats() -> Any:
    """``scipy.stats``, imported when a statistic is computed: the torch-free runtime imports the
    task registry (and so this module) to score, which needs no statistics and no scipy."""
    try:
        from scipy import stats
    except ImportError as exc:
        raise ConfigError("Forecast statistics (information coefficient, Diebold–Mariano) need scipy: pip install "
                          "'finlite[train]' (or pip install scipy).") from exc
    return stats


def _values(y: Any, pred: Any, what: str = "forecasts") -> tuple[np.ndarray, np.ndarray]:
    """Outcomes and forecasts as equally long, non-empty, finite float64 vectors."""
    y_arr = np.asarray(y, dtype=np.float64).ravel()
    p_arr = np.asarray(pred, dtype=np.float64).ravel()
    if y_arr.shape != p_arr.shape:
        raise DataError(f"Outcomes and {what} differ in length ({y_arr.size} vs {p_arr.size}); pass one {what[:-1]} "
                        "per outcome, for the same rows.")
    if y_arr.size == 0:
        raise DataError("Forecast metrics need at least one row with a known outcome; got none. The last horizon "
                        "rows of a series have no outcome yet: evaluate on rows whose outcome is known.")
    bad = ~(np.isfinite(y_arr) & np.isfinite(p_arr))
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise DataError(f"Forecast metrics need finite outcomes and {what}; row {row} has outcome {y_arr[row]!r} and "
                        f"{what[:-1]} {p_arr[row]!r} ({int(bad.sum())} such row(s)). Rows whose outcome is not known "
                        "yet (NaN) must be left out before scoring.")
    return y_arr, p_arr


# -- point metrics ------------------------------------------------------------------------------
def mase(y: Any, pred: Any, naive: Any = None, *, scale: float | None = None) -> float | None:
    """Mean absolute scaled error: the forecast's MAE divided by a naive forecast's MAE (below 1:
    better than the naive forecast).

    ``scale`` is that MAE as Hyndman and Koehler define it, in-sample: the naive forecast's MAE
    on the training windows, fixed before the rows evaluated (finlite's evidence and report pass
    it). Without it, the naive forecasts ``naive`` of the same rows give an out-of-sample scale.
    None when the scale is zero or not finite (the ratio is undefined), or when neither is given.
    """
    y_arr, p_arr = _values(y, pred)
    if scale is None:
        if naive is None:
            return None
        _, n_arr = _values(y_arr, naive, "naive forecasts")
        scale = float(np.mean(np.abs(n_arr - y_arr)))
    if not (math.isfinite(scale) and scale > 0):
        return None
    return float(np.mean(np.abs(p_arr - y_arr))) / scale


def mape(y: Any, pred: Any, eps: float = MAPE_EPS) -> tuple[float | None, int]:
    """Mean absolute percentage error, as a fraction (0.05 = 5 %), and the number of rows skipped.

    Rows whose outcome is within ``eps`` of zero are skipped (their percentage error is
    undefined or explodes); the value is None when every row is skipped. Returns near zero make
    MAPE large and unstable; read it for price levels and volatilities, MAE/RMSE for returns.
    """
    y_arr, p_arr = _values(y, pred)
    keep = np.abs(y_arr) >= eps
    skipped = int(y_arr.size - keep.sum())
    if not keep.any():
        return None, skipped
    return float(np.mean(np.abs((p_arr[keep] - y_arr[keep]) / y_arr[keep]))), skipped


def up_share(y: Any, realised: Any, *, direction: bool) -> float | None:
    """The hit rate of always calling up: a drifting market's benchmark for directional accuracy,
    not 50 % (a weekly model forecasting up every week scored 75.9 %, the share of up weeks: a
    quant's walk-through, 2026-12-06). Counted as :func:`directional_accuracy` counts: for a
    direction model (``direction``) the share of its 0/1 labels ``y`` that are 1 (no move counts as
    down); otherwise the share of the finite, non-zero ``realised`` returns that rose. None when
    there is nothing to count."""
    if direction:
        moved = np.asarray(y, dtype=np.float64).ravel() == 1
    else:
        r = np.asarray(realised, dtype=np.float64).ravel()
        moved = r[np.isfinite(r) & (r != 0)] > 0
    return float(np.mean(moved)) if moved.size else None


def directional_accuracy(y: Any, pred: Any, cutoff: float | None = None) -> float:
    """Share of rows whose predicted direction is the realised one.

    Without ``cutoff``: ``pred`` and ``y`` are changes (log returns); rows with a zero outcome
    are left out and a row counts when ``sign(pred) == sign(y)`` (NaN when every outcome is zero).
    With ``cutoff``: ``pred`` holds probabilities of an up move and ``y`` the 0/1 outcome; a row
    counts when ``(pred >= cutoff) == (y == 1)``.
    """
    y_arr, p_arr = _values(y, pred)
    if cutoff is not None:
        _up_or_down(y_arr)
        return float(np.mean((p_arr >= cutoff) == (y_arr > 0.5)))
    moved = y_arr != 0
    return float(np.mean(np.sign(p_arr[moved]) == np.sign(y_arr[moved]))) if moved.any() else float("nan")


def _up_or_down(outcomes: np.ndarray) -> None:
    """Refuse outcomes that are not 0/1 where probabilities of an up move are judged (``cutoff``):
    a change (a log return) passed there would count every positive change as up."""
    if not np.isin(outcomes, (0.0, 1.0)).all():
        bad = outcomes[~np.isin(outcomes, (0.0, 1.0))]
        raise DataError(f"With a cutoff the outcomes must be 0/1 (1 = up); got {float(bad[0])!r} "
                        f"({bad.size} such). Pass the realised directions, or leave out cutoff to judge changes.")


def information_coefficient(y: Any, pred: Any) -> float:
    """Spearman rank correlation of forecast and outcome (``scipy.stats.spearmanr``), the quant's
    information coefficient. 0.0 when either side is constant: a constant forecast ranks nothing."""
    y_arr, p_arr = _values(y, pred)
    if y_arr.size < 2 or np.ptp(y_arr) == 0 or np.ptp(p_arr) == 0:
        return 0.0
    return float(_stats().spearmanr(p_arr, y_arr).statistic)


def volatility_metrics(y: Any, pred: Any) -> dict[str, Any]:
    """What a risk desk judges a volatility forecast by: ``qlike``, Patton's QLIKE loss on the
    variances, mean(y²/f² − ln(y²/f²) − 1) over the rows whose realised volatility is above 0
    (``volatility_rows``), 0 for a perfect forecast and the loss that ranks forecasts rightly when
    the realised measure is noisy (RMSE rewards a forecast of E|r| below σ); and
    ``variance_ratio``, mean(y²) / mean(f²) over every row, forecasts below 0 read as 0: above 1
    the forecasts understate the realised variance, so a VaR built on them is breached more often
    than its level. A forecast at or below 0 (``nonpositive_forecasts``, counted on every row: a
    volatility cannot be one, whatever was realised) has an infinite loss, so ``qlike`` is then
    None, never a better number by leaving it out (a review, 2026-12-07). A naive forecast of 0 (at
    horizon 1 the last |r|, 0 after a still day) has no QLIKE either. None where no row is usable."""
    y_arr, p_arr = _values(y, pred)
    usable = y_arr > 0
    bad = int(np.count_nonzero(p_arr <= 0))
    out: dict[str, Any] = {"volatility_rows": int(usable.sum()), "nonpositive_forecasts": bad, "qlike": None,
                           "variance_ratio": None}
    floored = np.maximum(p_arr, 0.0)
    if np.any(floored > 0):
        out["variance_ratio"] = float(np.mean(y_arr**2) / np.mean(floored**2))
    if usable.any() and not bad:
        ratio = (y_arr[usable] / p_arr[usable]) ** 2
        out["qlike"] = float(np.mean(ratio - np.log(ratio) - 1.0))
    return out


#: The VaR levels a volatility forecast is backtested at (:func:`var_backtest`): the Basel
#: backtest's 99 % and the 95 % that a test period of a few years can tell anything about.
VAR_LEVELS = (0.99, 0.95)

#: The traffic-light zones of a VaR backtest by the Basel Committee's rule: an exception count is
#: green while the binomial probability of at most that many, at the VaR's exception rate, is below
#: 95 %, yellow while it is below 99.99 %, red beyond (for 250 days at 99 %: 0–4, 5–9, 10 or more).
TRAFFIC_LIGHT = (0.95, 0.9999)


def traffic_light(exceptions: int, observations: int, level: float) -> str | None:
    """The zone ("green", "yellow" or "red") of ``exceptions`` VaR breaches in ``observations``
    days at ``level`` by the Basel rule (:data:`TRAFFIC_LIGHT`), generalised from 250 days to any
    count: the cumulative binomial probability of as many or fewer breaches at rate 1 − level.
    With fewer periods than one expected exception (n · (1 − level) < 1) even 0 breaches reach
    95 % (5 periods at 99 % made no breach "yellow": a review, 2026-12-07): there only red is
    told, by the same rule (6 breaches in 99 periods at 99 %), and the zone is otherwise None (green and
    yellow cannot be told apart). One breach is never red: in one or two periods the cumulative
    probability is 1 whatever happened."""
    if observations <= 0 or not 0 <= exceptions <= observations:
        raise DataError(f"A traffic-light zone needs 0 ≤ exceptions ≤ observations and observations > 0; got "
                        f"{exceptions} of {observations}.")
    cumulative = float(_stats().binom.cdf(exceptions, observations, 1.0 - level))
    # Red is Basel's rule at every count (another rule below one expected exception made a clean
    # extra day turn 6 breaches in 99 days red: a review), but never for one breach: in one or two
    # periods "as many or fewer" is 1 whatever happened (one breach in one day was red: a review).
    if cumulative >= TRAFFIC_LIGHT[1] and exceptions >= 2:
        return "red"
    if observations * (1.0 - level) < 1.0 - 1e-9:
        return None
    # (Red came first: with one expected exception or more, one breach or none is far below 99.99 %.)
    return "green" if cumulative < TRAFFIC_LIGHT[0] else "yellow"


def red_probability(observations: int, level: float) -> float:
    """The chance that forecasts whose VaR at ``level`` is right land in :func:`traffic_light`'s red
    zone over ``observations`` periods: as many breaches as reach 99.99 % of the binomial, and two
    at least. A panel of many assets has some red by chance (1,000 right assets over 250 days: one
    or more red 22 % of the time: a review, 2026-12-07), which :func:`red_by_chance` weighs."""
    stats = _stats()
    q = 1.0 - float(level)
    first = max(2, int(stats.binom.ppf(TRAFFIC_LIGHT[1], observations, q)))
    return float(stats.binom.sf(first - 1, observations, q)) if first <= observations else 0.0


#: The most often a right ES forecast is red (:func:`es_backtest`: Z2's p below 0.01 %, a
#: p-value that is never below its level more often than the level).
ES_RED_PROBABILITY = 1.0 - TRAFFIC_LIGHT[1]


def red_by_chance(probabilities: Sequence[float], red: int, worst: float | None = None) -> dict[str, Any]:
    """How many of a panel's assets would be red with every forecast right (``expected``: the sum
    of each asset's chance, ``probabilities``), and the chance of ``red`` or more so (``p_value``,
    Poisson's tail at that mean: each chance is small, and the tail is a little above the exact
    Poisson-binomial's). ``worst`` is the smallest p-value of a red asset's own test (its
    breaches' binomial tail, its Z2's p); ``worst_panel`` is it times the assets (Bonferroni: the
    chance that any right asset of the panel is as far off). ``chance``: the red assets are what a
    panel of that size shows by chance — ``p_value`` above 1 % and no asset so far off that the
    panel cannot explain it (``worst_panel`` at the red level or above: one asset of a thousand
    with 100 breaches in 250 days read "chance" by the count alone: a review, 2026-12-07)."""
    expected = float(sum(probabilities))
    p = float(_stats().poisson.sf(red - 1, expected)) if red > 0 else 1.0
    panel = None if worst is None else min(1.0, float(worst) * len(probabilities))
    return {"expected": expected, "p_value": p, "worst_p": worst, "worst_panel": panel,
            "chance": p > 0.01 and (panel is None or panel >= 1.0 - TRAFFIC_LIGHT[1])}


def breach_tail(exceptions: int, observations: int, level: float) -> float:
    """The binomial chance of ``exceptions`` or more VaR breaches in ``observations`` periods at
    ``level`` were the VaR right: one asset's own p-value, which :func:`red_by_chance` weighs."""
    return float(_stats().binom.sf(exceptions - 1, observations, 1.0 - float(level))) if exceptions > 0 else 1.0


def _bernoulli_loglik(hits: float, n: float, p: float) -> float:
    """log L of ``hits`` successes in ``n`` Bernoulli trials at rate ``p`` (0 · log 0 read as 0)."""
    out = 0.0
    if hits:
        out += hits * math.log(p) if p > 0 else -math.inf
    if n - hits:
        out += (n - hits) * math.log1p(-p) if p < 1 else -math.inf
    return out


def var_backtest(realised: Any, sigma: Any, level: float = 0.99) -> dict[str, Any]:
    """Backtest the value at risk built on volatility forecasts ``sigma`` against the ``realised``
    log returns over the same horizon, one row per period, in time order and not overlapping.

    The VaR at ``level`` is z·σ (a normal return of zero mean, z its ``level`` quantile; a
    forecast at or below 0 is a VaR of 0, breached by any loss), and an exception a return below
    −VaR. Returned: ``observations``, ``exceptions``, ``expected`` (n · (1 − level)),
    ``exception_rate``, ``zone`` (:func:`traffic_light`), and the likelihood-ratio tests with
    their χ² p-values: ``kupiec`` (Kupiec's proportion of failures: is the rate 1 − level?, 1
    degree of freedom; with ``exact_p``, the exact two-sided binomial test of the same question,
    which holds its level on a few hundred periods where χ² does not), ``independence`` (Christoffersen's: does an exception make the next more
    likely?, 1) and ``conditional_coverage`` (both, 2); the independence tests are None where
    there is nothing to test: no exception followed by another period, no calm period followed
    by one, no exception after a first period, or no calm period after it (no exception at all,
    every period one, one exception on the last day, or only on the first). A statistic of 0 and
    a p-value of 1 there read as a test passed (reviews, 2026-12-07)."""
    r_arr, s_arr = _values(realised, sigma, "volatility forecasts")
    if not 0.5 < float(level) < 1.0:
        raise DataError(f"A VaR level must lie between 0.5 and 1 (0.99 for 99 %); got {level!r}.")
    stats = _stats()
    z = float(stats.norm.ppf(level))
    hit = r_arr < -z * np.maximum(s_arr, 0.0)
    n, x, p = int(hit.size), int(hit.sum()), 1.0 - float(level)
    # Kupiec: the binomial likelihood at the observed rate against the VaR's.
    lr_pof = max(0.0, -2.0 * (_bernoulli_loglik(x, n, p) - _bernoulli_loglik(x, n, x / n)))
    out: dict[str, Any] = {"level": float(level), "observations": n, "exceptions": x, "expected": n * p,
                           "exception_rate": x / n, "zone": traffic_light(x, n, float(level)),
                           "kupiec": {"statistic": lr_pof, "p_value": float(stats.chi2.sf(lr_pof, 1)),
                                      # χ² is asymptotic: at 250 days it rejected 8 % of right VaRs at 5 %
                                      # (a review, 2026-12-07); the exact binomial test beside it.
                                      "exact_p": float(stats.binomtest(x, n, p).pvalue)},
                           "independence": None, "conditional_coverage": None}
    # Christoffersen: a first-order Markov chain of the exceptions against independent ones.
    before, after = hit[:-1], hit[1:]
    n01, n11 = int(np.sum(~before & after)), int(np.sum(before & after))
    n00, n10 = int(np.sum(~before & ~after)), int(np.sum(before & ~after))
    # Both the state before and the state after must vary: an exception on the first day only
    # leaves every later period calm, and its chain fits independence exactly (p = 1) untested.
    if n00 + n01 and n10 + n11 and n01 + n11 and n00 + n10:
        pi01, pi11, pi = n01 / (n00 + n01), n11 / (n10 + n11), (n01 + n11) / (n - 1)
        lr_ind = max(0.0, -2.0 * (_bernoulli_loglik(n01 + n11, n00 + n01 + n10 + n11, pi)
                                  - _bernoulli_loglik(n01, n00 + n01, pi01) - _bernoulli_loglik(n11, n10 + n11, pi11)))
        out["independence"] = {"statistic": lr_ind, "p_value": float(stats.chi2.sf(lr_ind, 1))}
        lr_cc = lr_pof + lr_ind
        out["conditional_coverage"] = {"statistic": lr_cc, "p_value": float(stats.chi2.sf(lr_cc, 2))}
    return out


#: The expected shortfall's level: the Basel Committee's 97.5 % (the FRTB's measure, which
#: replaced the 99 % VaR in the market-risk capital rules).
ES_LEVEL = 0.975
#: Draws of the Z2 statistic under the forecasts' own distribution behind its p-value: enough that
#: a p below the red zone's 0.01 % can be told (the smallest is 1/(draws + 1)).
ES_DRAWS = 20_000
_ES_SEED = 20261207
#: Where the first draws put p below this, the tail is drawn again with up to
#: :data:`ES_TAIL_DRAWS` draws: at 20,000 the red zone's 0.01 % is the 2nd lowest draw, and a Z2
#: whose true p is 0.01 % was called red for 16 seeds of 30 (a review, 2026-12-07).
ES_REFINE_BELOW = 1e-3
ES_TAIL_DRAWS = 200_000
#: Tail values drawn at once (and in all for a refinement): memory and time stay bounded for long
#: periods (100,000 periods took 3.3 GB in one go).
_ES_CHUNK_VALUES = 4_000_000
_ES_TAIL_VALUES = 50_000_000


def _z2_draws(periods: int, level: float, draws: int, rng: np.random.Generator) -> Iterator[np.ndarray]:
    """Acerbi and Székely's Z2 of ``periods`` normal returns whose σ and ES are right, ``draws``
    times, in chunks of at most :data:`_ES_CHUNK_VALUES` tail values. σ cancels out of Z2 (each
    term is ε·1{ε < −z}·(1 − level)/φ(z), ε standard normal), so its distribution depends on the
    count alone. Drawn as the statistic is made: the number of exceptions, Binomial(periods,
    1 − level), then each exception's ε from the normal's tail below −z (by its inverse CDF), not
    ``periods`` normals a draw: the same distribution at a fortieth of the work at 97.5 %."""
    stats = _stats()
    tail = 1.0 - level
    phi = float(stats.norm.pdf(stats.norm.ppf(level)))
    step = max(1, int(_ES_CHUNK_VALUES // max(periods * tail, 1.0)))
    for start in range(0, draws, step):
        k = min(step, draws - start)
        counts = rng.binomial(periods, tail, size=k)
        tails = stats.norm.ppf(rng.random(int(counts.sum())) * tail)  # every one below −z
        sums = np.bincount(np.repeat(np.arange(k), counts), weights=tails, minlength=k)
        yield sums / (periods * phi) + 1.0


@functools.lru_cache(maxsize=64)
def _z2_null(periods: int, level: float, draws: int, seed: int) -> np.ndarray:
    """``draws`` seeded draws of Z2 (:func:`_z2_draws`), sorted; cached, as a panel's assets of
    one length share them."""
    out = np.sort(np.concatenate(list(_z2_draws(periods, level, draws, np.random.default_rng(seed)))))
    out.flags.writeable = False  # shared by the cache
    return out


@functools.lru_cache(maxsize=8)
def _z2_tail(periods: int, level: float, seed: int) -> np.ndarray:
    """Up to :data:`ES_TAIL_DRAWS` further seeded draws of Z2 (fewer for long periods,
    :data:`_ES_TAIL_VALUES` tail values at most), sorted; cached, as a panel's red assets of one
    length share them (each drew them again: 2 s an asset at 10,000 periods, a review)."""
    expected = round(periods * (1.0 - level), 6)  # 1 - 0.975 is no exact 0.025: 199,999 draws
    draws = int(min(ES_TAIL_DRAWS, _ES_TAIL_VALUES // max(expected, 1.0)))
    rng = np.random.default_rng([seed, 1])  # a stream apart from the first draws'
    out = np.sort(np.concatenate(list(_z2_draws(periods, level, draws, rng))))
    out.flags.writeable = False  # shared by the cache
    return out


def es_backtest(realised: Any, sigma: Any, level: float = ES_LEVEL, *, draws: int = ES_DRAWS,
                seed: int = _ES_SEED) -> dict[str, Any]:
    """Backtest the expected shortfall at ``level`` built on volatility forecasts ``sigma``
    against the ``realised`` log returns, one row per period, not overlapping: for a normal
    return of zero mean the VaR is z·σ and the ES σ·φ(z)/(1 − level) (z the ``level`` quantile),
    and Acerbi and Székely's (2014) Z2 statistic is

        Z2 = Σ_t r_t·1{r_t < −VaR_t} / (T·(1 − level)·ES_t) + 1,

    0 in expectation where the forecasts' tails are right, below 0 where the losses beyond the
    VaR are larger or more frequent than the ES says. Returned: ``observations``, ``exceptions``
    (beyond the VaR at ``level``), ``expected``, ``statistic`` (Z2), ``p_value`` (the share of
    ``draws`` seeded simulations of Z2 under the forecasts' own normal returns that are as low,
    counted as (k + 1)/(draws + 1); below :data:`ES_REFINE_BELOW` drawn again with up to
    :data:`ES_TAIL_DRAWS` (fewer above 10,000 periods, none above 100,000), ``p_draws`` saying
    how many) and ``zone``, finlite's rule on that p-value, as no regulator has one for the ES: p
    below 5 %: yellow, below 0.01 %: red (a model whose tails are right is yellow at most 5 % of
    the time, where the VaR's traffic light allows 5-11 %); with fewer periods than one expected
    exception only red is told, and one exception is not red there (one day of −5 σ in one
    period); from 40 periods one exception can be red (a loss of 50 σ in 100 periods was
    yellow: a review, 2026-12-07). Z2 is one-sided: above 0 (losses beyond the VaR smaller than the ES
    says: the forecasts too high) is not tested. A forecast at or below 0, or so small that a
    loss over it overflows (below about 1e-308), has no shortfall to scale: ``statistic``,
    ``p_value`` and ``zone`` are None there, and ``nonpositive_forecasts`` counts them."""
    r_arr, s_arr = _values(realised, sigma, "volatility forecasts")
    if not 0.5 < float(level) < 1.0:
        raise DataError(f"An ES level must lie between 0.5 and 1 (0.975 for 97.5 %); got {level!r}.")
    if isinstance(draws, (bool, np.bool_)) or not isinstance(draws, (int, np.integer)) or draws < 1:
        raise ConfigError(f"draws must be a positive whole number; got {draws!r}.", param="draws")
    draws = int(draws)
    stats = _stats()
    level = float(level)
    z, tail = float(stats.norm.ppf(level)), 1.0 - level
    n = int(r_arr.size)
    hit = r_arr < -z * np.maximum(s_arr, 0.0)
    with np.errstate(divide="ignore", over="ignore"):  # 1/σ overflows for a σ below about 1e-308
        nonpositive = int(np.sum((s_arr <= 0) | ~np.isfinite(1.0 / s_arr)))
    out: dict[str, Any] = {"level": level, "observations": n, "exceptions": int(hit.sum()), "expected": n * tail,
                           "nonpositive_forecasts": nonpositive, "statistic": None, "p_value": None, "zone": None}
    if nonpositive:
        return out
    es = s_arr * float(stats.norm.pdf(z)) / tail
    z2 = float(np.sum(np.where(hit, r_arr / es, 0.0)) / (n * tail) + 1.0)
    null = _z2_null(n, level, draws, seed)
    p, used = (int(np.searchsorted(null, z2, side="right")) + 1) / (draws + 1), draws
    if p < ES_REFINE_BELOW:
        tail_draws = _z2_tail(n, level, seed)
        if tail_draws.size > draws:
            p = (int(np.searchsorted(tail_draws, z2, side="right")) + 1) / (tail_draws.size + 1)
            used = int(tail_draws.size)
    out["statistic"], out["p_value"], out["p_draws"] = z2, p, used
    # Thresholds at the VaR traffic light's levels (TRAFFIC_LIGHT), read off Z2's p-value.
    # One exception in fewer periods than one expected is no backtest to call red on (one day of
    # -5 σ was red: a review); over 40 periods or more its size can be (50 σ in 100: a review).
    judged = out["exceptions"] >= 2 or n * tail >= 1.0 - 1e-9
    zone = ("red" if p < 1.0 - TRAFFIC_LIGHT[1] and judged else "yellow" if p < 1.0 - TRAFFIC_LIGHT[0] else "green")
    out["zone"] = zone if zone == "red" or n * tail >= 1.0 - 1e-9 else None
    return out


#: A forecast of |r| (horizon 1) fitted by squared error estimates E|r|, which is sqrt(2/π) σ for a
#: normal return: its variance ratio is π/2 by construction, not by a poor fit.
ABS_RETURN_VARIANCE_RATIO = math.pi / 2


def forecast_metrics(y: Any, pred: Any, naive: Any = None, *, cutoff: float | None = None,
                     horizon: int = 1, eps: float = MAPE_EPS, dates: Any = None,
                     mase_scale: float | None = None) -> dict[str, Any]:
    """The point metrics of one forecast against the outcomes (snake_case names, JSON-ready).

    Keys: ``rows``, ``rmse``, ``mae``, ``mase`` (scaled by ``mase_scale``, the naive forecast's
    in-sample MAE, when given; else by ``naive``'s MAE on these rows; None without either), ``mape`` and
    ``mape_skipped`` (see :func:`mape`), ``directional_accuracy`` (present when the outcomes move
    both ways, or always with ``cutoff``, for probabilities of an up move against 0/1 outcomes),
    ``information_coefficient`` and ``r2``. With ``naive`` (the naive forecast on the same rows)
    also ``naive`` (its rmse/mae/directional accuracy) and ``diebold_mariano_vs_naive``: the
    test of this forecast's squared errors against the naive one's at ``horizon`` (a negative
    statistic: this forecast is more accurate). With ``dates`` (one per row, e.g. a panel of
    assets), that test runs on the per-date mean loss differential (:func:`date_mean_errors`).
    """
    y_arr, p_arr = _values(y, pred)
    mape_value, skipped = mape(y_arr, p_arr, eps)
    out: dict[str, Any] = {
        "rows": int(y_arr.size), "rmse": rmse(y_arr, p_arr), "mae": mae(y_arr, p_arr),
        "mase": mase(y_arr, p_arr, naive, scale=mase_scale),
        "mape": mape_value, "mape_skipped": skipped,
    }
    if cutoff is not None:
        out["directional_accuracy"] = directional_accuracy(y_arr, p_arr, cutoff)
    elif (y_arr > 0).any() and (y_arr < 0).any():  # a level or a volatility never falls below zero
        # A forecast of no change at all (the random walk's zero) calls no direction: None, not 0 %.
        out["directional_accuracy"] = directional_accuracy(y_arr, p_arr) if p_arr.any() else None
    out["information_coefficient"] = information_coefficient(y_arr, p_arr)
    out["r2"] = r2(y_arr, p_arr)
    if naive is not None:
        _, n_arr = _values(y_arr, naive, "naive forecasts")
        base: dict[str, Any] = {"rmse": rmse(y_arr, n_arr), "mae": mae(y_arr, n_arr)}
        # A random walk's zero change calls no direction; its accuracy is then not reported. A naive
        # probability (the training share of up moves) calls the training majority: up at 0.5, not
        # at the model's cut-off, which would make the baseline flip with each model's seed.
        if "directional_accuracy" in out and (cutoff is not None or n_arr.any()):
            base["directional_accuracy"] = directional_accuracy(y_arr, n_arr, None if cutoff is None else 0.5)
        out["naive"] = base
        e1, e2 = (p_arr - y_arr, n_arr - y_arr) if dates is None else \
            date_mean_errors(dates, p_arr - y_arr, n_arr - y_arr)
        out["diebold_mariano_vs_naive"] = diebold_mariano(e1, e2, horizon)
    return out


# -- Diebold–Mariano ----------------------------------------------------------------------------
def _check_horizon(horizon: Any) -> int:
    if isinstance(horizon, bool) or not isinstance(horizon, (int, np.integer)) or horizon < 1:
        raise ConfigError(f"The 'horizon' parameter of diebold_mariano must be a whole number of periods, 1 or more "
                          f"(the forecast horizon h; its errors are autocorrelated up to lag h-1); got {horizon!r}.",
                          param="horizon")
    return int(horizon)


def date_mean_errors(dates: Any, e1: Any, e2: Any) -> tuple[np.ndarray, np.ndarray]:
    """Errors for :func:`diebold_mariano` (squared loss) on a panel: one row per date, oldest
    first, whose loss differential is the mean over that date's rows (assets) of ``e1² − e2²``.

    Pooled rows of several assets are no time series: the test would take autocovariances across
    asset boundaries and count correlated assets of one date as independent evidence (p-values
    too small). The per-date mean differential d is returned as (√max(d, 0), √max(−d, 0)),
    whose squared-loss differential is d again. With one row per date, ``e1`` and ``e2`` come
    back unchanged, put in date order (a panel whose assets trade on different dates has one row
    per date too, listed asset by asset: its autocovariances were taken in that order).
    """
    a, b = _values(e1, e2, "errors")
    days = np.asarray(dates)
    if days.shape != a.shape:
        raise DataError(f"date_mean_errors needs one date per error: {days.size} dates for {a.size} errors.")
    unique, codes = np.unique(days, return_inverse=True)
    if len(unique) == len(days):
        order = np.argsort(days, kind="stable")
        return a[order], b[order]
    codes = codes.reshape(-1)
    d = np.bincount(codes, weights=a * a - b * b, minlength=len(unique)) / np.bincount(codes, minlength=len(unique))
    return np.sqrt(np.maximum(d, 0.0)), np.sqrt(np.maximum(-d, 0.0))


def diebold_mariano(e1: Any, e2: Any, horizon: int = 1,
                    loss: Literal["squared", "absolute"] = "squared") -> dict[str, Any]:
    """Diebold–Mariano test of equal accuracy of two forecasts of the same outcomes, with the
    Harvey–Leybourne–Newbold (1997) small-sample correction.

    ``e1`` and ``e2`` are the two forecasts' errors on the same rows, in time order. With the
    loss differential ``d_t = L(e1_t) − L(e2_t)`` (``L`` squared or absolute error), its mean
    ``d̄`` and autocovariances ``γ_k = (1/n) Σ_{t>k} (d_t − d̄)(d_{t−k} − d̄)``, the long-run
    variance of ``d̄`` is ``V = (γ_0 + 2 Σ_{k=1}^{h−1} γ_k) / n`` (an h-step forecast's errors are
    autocorrelated up to lag h−1) and ``DM = d̄ / √V``. The corrected statistic is
    ``DM · √((n + 1 − 2h + h(h−1)/n) / n)``, compared with Student's t with n−1 degrees of
    freedom. When the autocovariances make ``V`` non-positive, ``γ_0 / n`` is used and
    ``variance`` says so.

    Returns ``statistic`` (positive: forecast 1 has the larger loss), ``p_value`` (two-sided:
    a small value says the two differ in accuracy), ``p_value_model1_worse`` (one-sided, H1:
    forecast 1 is less accurate), ``mean_loss_difference``, ``rows``, ``horizon``, ``loss``,
    ``hln_factor``, ``df`` and ``variance``. Two identical error series give statistic 0 and
    p-value 1 (nothing tells them apart).

    Raises:
        ConfigError: an unknown loss or a horizon that is not a whole number ≥ 1.
        DataError: the errors differ in length, are not finite, or are too few for the horizon.
    """
    h = _check_horizon(horizon)
    if loss not in ("squared", "absolute"):
        raise ConfigError(f"The 'loss' parameter of diebold_mariano must be 'squared' or 'absolute'; got {loss!r}.",
                          param="loss")
    a, b = _values(e1, e2, "errors")
    n = a.size
    factor_sq = (n + 1 - 2 * h + h * (h - 1) / n) / n
    if n < 2 * h or n < 2 or factor_sq <= 0:  # h-1 autocovariances need clearly more rows than h
        raise DataError(f"The Diebold–Mariano test at horizon {h} needs more rows than that: got {n}. Evaluate on "
                        f"at least {2 * h} rows with known outcomes (a longer test period or a shorter horizon).")
    d = a * a - b * b if loss == "squared" else np.abs(a) - np.abs(b)
    test = _hac_mean_test(d, h)
    return {"rows": n, "horizon": h, "loss": loss, "mean_loss_difference": test["mean"],
            "hln_factor": test["hln_factor"], "df": test["df"], "variance": test["variance"],
            "statistic": test["statistic"], "p_value": test["p_value"],
            "p_value_model1_worse": test["p_value_greater"]}


def _hac_mean_test(d: np.ndarray, h: int) -> dict[str, Any]:
    """The test of a zero mean of the series ``d`` (in time order) that Diebold–Mariano applies to
    a loss differential: the long-run variance from the autocovariances up to lag h−1, the
    Harvey–Leybourne–Newbold factor, Student's t with n−1 degrees of freedom (the caller checks
    that ``d`` is long enough for ``h``). ``p_value_greater`` is one-sided, H1: the mean is above 0."""
    n = d.size
    mean = float(d.mean())
    centred = d - mean
    gammas = [float(np.dot(centred[k:], centred[:n - k])) / n for k in range(h)]
    long_run = gammas[0] + 2.0 * sum(gammas[1:])
    variance = "hac"
    # Constant up to rounding counts as constant (r2's rule: a variance within 1e-12 of the mean
    # square): 0.3 - 0.2 in every row differs in its last bits, and the test read 2.2e16 against
    # an HAC variance of rounding errors (a statistics audit, 2026-12-07).
    if gammas[0] <= 1e-12 * float(np.mean(d * d)):
        long_run = 0.0
    elif long_run <= 0:
        long_run, variance = gammas[0], "lag0_fallback"
    factor = math.sqrt((n + 1 - 2 * h + h * (h - 1) / n) / n)
    df = n - 1
    out: dict[str, Any] = {"mean": mean, "hln_factor": factor, "df": df, "variance": variance}
    if long_run <= 0:  # the series is constant
        if mean == 0.0:
            return {**out, "statistic": 0.0, "p_value": 1.0, "p_value_greater": 0.5, "variance": "zero"}
        stat = math.copysign(math.inf, mean)
        return {**out, "statistic": stat, "p_value": 0.0, "p_value_greater": 1.0 if mean < 0 else 0.0,
                "variance": "zero"}
    stat = factor * mean / math.sqrt(long_run / n)
    student_t = _stats().t
    return {**out, "statistic": float(stat), "p_value": float(2.0 * student_t.sf(abs(stat), df)),
            "p_value_greater": float(student_t.sf(stat, df))}


# -- cross-sectional information coefficient -----------------------------------------------------
#: A date's assets are ranked against each other only when it has this many or more: with two
#: assets every date's rank correlation is +1 or −1, and the mean of such coin flips is no IC.
CROSS_SECTION_MIN_ASSETS = 5


def _ranks_within(codes: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Each value's rank (1-based, ties averaged, as ``scipy.stats.rankdata``) among the rows
    of its group ``codes``, for every group at once: one sort, no loop over the groups."""
    order = np.lexsort((values, codes))
    c, v = codes[order], values[order]
    n = order.size
    new_group = np.r_[True, c[1:] != c[:-1]]
    new_tie = new_group | np.r_[True, v[1:] != v[:-1]]
    start = np.maximum.accumulate(np.where(new_group, np.arange(n), 0))
    within = np.arange(n, dtype=np.float64) - start + 1.0
    tie = np.cumsum(new_tie) - 1
    average = np.bincount(tie, weights=within) / np.bincount(tie)
    ranks = np.empty(n, dtype=np.float64)
    ranks[order] = average[tie]
    return ranks


class _DateRanks:
    """The rows' dates as codes, and the outcomes' ranks within each date, centred: computed once
    for every forecast ranked against the same outcomes (a model and its baseline)."""

    def __init__(self, dates: Any, y: np.ndarray) -> None:
        days = np.asarray(dates).reshape(-1)
        if days.shape != y.shape:
            raise DataError(f"The cross-sectional IC needs one date per row: {days.size} dates for {y.size} rows. Pass "
                        "the dates of the same rows as the forecasts and outcomes.", param="dates")
        self.unique, codes = np.unique(days, return_inverse=True)
        self.codes = codes.reshape(-1).astype(np.int64)
        self.counts = np.bincount(self.codes, minlength=len(self.unique))
        # Average ranks keep each date's mean rank at (n + 1) / 2: centred on it, a constant side
        # is exactly zero, not a rounding error to divide by.
        self.middle = (self.counts[self.codes] + 1) / 2.0
        self.ry = _ranks_within(self.codes, y) - self.middle
        self.yy = np.bincount(self.codes, weights=self.ry * self.ry, minlength=len(self.unique))

    def ic(self, pred: np.ndarray, min_assets: int) -> tuple[np.ndarray, np.ndarray]:
        rp = _ranks_within(self.codes, pred) - self.middle
        cov = np.bincount(self.codes, weights=self.ry * rp, minlength=len(self.unique))
        pp = np.bincount(self.codes, weights=rp * rp, minlength=len(self.unique))
        keep = (self.counts >= min_assets) & (self.yy > 0)
        den = np.sqrt(self.yy * pp)
        # A forecast that is the same for every asset of a date ranks nothing: its IC is 0 there,
        # as information_coefficient's (left out, a student that collapsed to one value a date had
        # no IC and could never rank worse than its teacher: a review).
        ic = np.divide(cov, den, out=np.zeros(len(self.unique)), where=den > 0)
        return self.unique[keep], ic[keep]


def has_cross_section(dates: Any, min_assets: int = CROSS_SECTION_MIN_ASSETS) -> bool:
    """Whether any date has ``min_assets`` rows (assets) or more: a cross-sectional IC to give.
    The evidence and the report give none for a panel of fewer assets (a table of empty cells and
    a rule that could never fire: a review)."""
    days = np.asarray(dates).reshape(-1)
    return days.size >= min_assets and int(np.unique(days, return_counts=True)[1].max()) >= min_assets


def per_date_ic(dates: Any, y: Any, pred: Any,
                min_assets: int = CROSS_SECTION_MIN_ASSETS) -> tuple[np.ndarray, np.ndarray]:
    """The cross-sectional information coefficient of each date: the Spearman correlation of
    forecast and outcome across that date's rows (assets), as ``scipy.stats.spearmanr`` on them.

    Returns ``(dates, ic)``, oldest date first, for the dates with at least ``min_assets`` rows
    whose outcomes are not all equal (they have nothing to rank: left out). A forecast that is the
    same for every asset of a date ranks nothing: its IC there is 0, as
    :func:`information_coefficient` says of a constant forecast.
    """
    y_arr, p_arr = _values(y, pred)
    return _DateRanks(dates, y_arr).ic(p_arr, min_assets)


def cross_sectional_ic(dates: Any, y: Any, pred: Any, horizon: int = 1, *,
                       baseline: Any = None, min_assets: int = CROSS_SECTION_MIN_ASSETS) -> dict[str, Any]:
    """The information coefficient as a quant reads it on a panel: the mean over the dates of
    each date's cross-sectional rank correlation of forecast and outcome (:func:`per_date_ic`),
    with its spread and a test that the mean is zero.

    Pooled over every (asset, date) row, the Spearman correlation also rewards forecasting which
    dates the whole market moves on; the per-date IC asks only whether the model ranks the assets
    of a date in the right order, what a long/short book of them earns on.

    The test is the one Diebold–Mariano applies to a loss differential (:func:`diebold_mariano`),
    here on the per-date IC series: an h-step outcome overlaps the next h−1 dates' outcomes, so
    the autocovariances up to lag h−1 enter the variance, with the Harvey–Leybourne–Newbold factor
    and Student's t with (dates − 1) degrees of freedom. The lags are taken over the dates with an
    IC, in order: where dates are left out (too few assets), a lag spans more than one date.

    With ``baseline`` (another forecast of the same rows, e.g. the teacher), the same is computed
    for the per-date difference ``IC(pred) − IC(baseline)``: a positive mean says ``pred`` ranks
    the assets better.

    Returns ``mean`` (None when no date has an IC), ``std`` (across dates), ``information_ratio``
    (mean / std, per date: not annualised; times the square root of the dates per year for an
    annual figure), ``positive_share`` (dates with an IC above 0), ``dates`` (dates with an IC),
    ``dates_skipped`` (dates with fewer than ``min_assets`` rows or all outcomes equal),
    ``min_assets``, ``horizon``, and when there are at least 2·h + 2 dates with an IC,
    ``t_statistic``, ``p_value`` (two-sided), ``p_value_positive`` (one-sided, H1: mean > 0),
    ``df`` and ``variance`` (else these are None). A constant series is tested as
    :func:`diebold_mariano` tests a constant differential (``variance`` "zero"): any value but 0 is
    ±inf and p-value 0; a difference of 0 from ``baseline`` is statistic 0 and p-value 1; an IC of
    0 on every date without a baseline (a forecast the same for every asset) has no test (None).

    Raises:
        ConfigError: ``horizon`` or ``min_assets`` is not a whole number ≥ 1 (``min_assets`` ≥ 3).
        DataError: the arrays differ in length, are empty or not finite.
    """
    h = _check_horizon(horizon)
    if isinstance(min_assets, bool) or not isinstance(min_assets, (int, np.integer)) or min_assets < 3:
        raise ConfigError(f"The 'min_assets' parameter of cross_sectional_ic must be a whole number, 3 or more (two "
                          f"assets' rank correlation is always +1 or -1); got {min_assets!r}.", param="min_assets")
    y_arr, p_arr = _values(y, pred)
    ranks = _DateRanks(dates, y_arr)
    _, ic = ranks.ic(p_arr, int(min_assets))
    if baseline is not None:
        _, b_arr = _values(y_arr, baseline, "baseline forecasts")
        ic = ic - ranks.ic(b_arr, int(min_assets))[1]  # the same dates: kept by the outcomes alone
    n_dates = len(ranks.unique)
    out: dict[str, Any] = {"mean": None, "std": None, "information_ratio": None, "positive_share": None,
                           "dates": int(ic.size), "dates_skipped": int(n_dates - ic.size),
                           "min_assets": int(min_assets), "horizon": h, "t_statistic": None, "p_value": None,
                           "p_value_positive": None, "df": None, "variance": None}
    if not ic.size:
        return out
    std = float(ic.std(ddof=1)) if ic.size > 1 else None
    out.update(mean=float(ic.mean()), std=std, positive_share=float(np.mean(ic > 0)),
               information_ratio=float(ic.mean()) / std if std else None)
    # An IC of 0 on every date (a forecast the same for every asset) has no test: "t = 0, p = 1" read
    # as a result (a validator's walk-through). A difference of 0 from a baseline keeps Diebold–
    # Mariano's convention (statistic 0, p-value 1): nothing tells the two apart, and a gate passes.
    if ic.size >= 2 * h + 2 and (baseline is not None or ic.any()):
        test = _hac_mean_test(ic, h)
        out.update(t_statistic=test["statistic"], p_value=test["p_value"], p_value_positive=test["p_value_greater"],
                   df=test["df"], variance=test["variance"])
    return out


def independent_rows(horizon: int, dates: Any) -> bool:
    """Whether forecasts at ``horizon`` on rows dated ``dates`` have independent outcomes, as
    McNemar's test (:func:`directional_accuracy_test`) takes its rows to be: horizon 1 (h-step
    outcomes overlap) and one row per date (a panel's assets move together on a date).

    The one rule for both the ``da_pvalue`` gate and the forecast evidence, so the two cannot
    drift apart."""
    dates_arr = np.asarray(dates).reshape(-1)
    return int(horizon) == 1 and len(np.unique(dates_arr)) == len(dates_arr)


def directional_accuracy_test(y: Any, pred1: Any, pred2: Any, cutoff: float | None = None) -> dict[str, Any]:
    """McNemar's exact test of equal directional accuracy of two forecasts of the same outcomes.

    The rows are those :func:`directional_accuracy` counts (without ``cutoff``: changes, rows with
    a zero outcome left out; with it: probabilities of an up move against 0/1 outcomes). Only the
    rows where exactly one forecast calls the direction right carry information: under equal
    accuracy each of those ``n`` is as likely to favour either forecast, so the count ``b`` where
    forecast 2 is right and forecast 1 wrong is Binomial(n, 1/2). Two forecasts that call the same
    direction on 97 % of 1,000 dates can differ by a point of directional accuracy by chance alone;
    this test says whether they do.

    Returns ``rows``, ``model1_right_model2_wrong``, ``model2_right_model1_wrong`` (b),
    ``difference`` (forecast 1's directional accuracy minus forecast 2's, over ``rows``; None
    when no row counts, as :func:`directional_accuracy` is then NaN), ``p_value`` (two-sided
    exact) and ``p_value_model1_worse`` (one-sided, H1: forecast 1 is right less often:
    P(X ≥ b)). With no discordant row the p-values are 1.0. The rows are taken as independent,
    as for McNemar's test; for overlapping h-step outcomes or a panel of assets they are not, and
    the p-values are too small (callers run it at h = 1 on one asset).

    Always exact, at any count, because the one-sided p-value feeds the ``da_pvalue`` gate; the
    validation report's :func:`finlite.evaluate.validation.mcnemar` (two-sided, chi-square from 25
    discordant rows, as statsmodels' default) serves the classifiers' decisions.

    Raises:
        DataError: the arrays differ in length, are empty or not finite.
    """
    y_arr, p1 = _values(y, pred1)
    _, p2 = _values(y, pred2)
    if cutoff is not None:
        _up_or_down(y_arr)
        up = y_arr > 0.5
        right1, right2 = (p1 >= cutoff) == up, (p2 >= cutoff) == up
    else:
        moved = y_arr != 0
        right1 = np.sign(p1[moved]) == np.sign(y_arr[moved])
        right2 = np.sign(p2[moved]) == np.sign(y_arr[moved])
    first_only = int(np.sum(right1 & ~right2))
    second_only = int(np.sum(right2 & ~right1))
    n = first_only + second_only
    rows = int(right1.size)
    out: dict[str, Any] = {"rows": rows, "model1_right_model2_wrong": first_only,
                           "model2_right_model1_wrong": second_only,
                           "difference": (first_only - second_only) / rows if rows else None}
    if n == 0:
        return {**out, "p_value": 1.0, "p_value_model1_worse": 1.0}
    binomtest = _stats().binomtest
    return {**out, "p_value": float(binomtest(second_only, n, 0.5).pvalue),
            "p_value_model1_worse": float(binomtest(second_only, n, 0.5, alternative="greater").pvalue)}


# -- folds --------------------------------------------------------------------------------------
def per_fold(metric_fn: Callable[..., Mapping[str, Any]], folds: Sequence[Sequence[Any]]) -> dict[str, Any]:
    """``metric_fn`` on each fold's arrays and on all folds' rows pooled.

    ``folds`` holds one tuple of equally long arrays per fold, in the order ``metric_fn`` takes
    them (e.g. ``(y, pred, naive)`` for :func:`forecast_metrics`); the pooled value concatenates
    each position over the folds in fold order (time order for walk-forward folds).

    Returns ``{"folds": [metrics of fold 1, …], "pooled": metrics of all rows}``.
    """
    if not folds:
        raise DataError("per_fold needs at least one fold; got none.")
    width = {len(f) for f in folds}
    if len(width) != 1:
        raise DataError(f"Every fold must hold the same arrays (as metric_fn takes them); got folds of {sorted(width)} "
                        "arrays.")
    pooled = [np.concatenate([np.asarray(f[i], dtype=np.float64).ravel() for f in folds]) for i in range(width.pop())]
    return {"folds": [dict(metric_fn(*f)) for f in folds], "pooled": dict(metric_fn(*pooled))}


# -- trading view -------------------------------------------------------------------------------
def max_drawdown(equity: Any) -> float:
    """Largest fall of an equity curve from its running peak, as a fraction of the peak (in [0, 1]).

    The curve starts from the first value given (pass the initial capital first to count a loss
    from the start).

    Raises:
        DataError: a value is NaN or infinite (a NaN peak hid every later fall: 0.0).
    """
    curve = finite_scores(equity, "equity values", "")
    if curve.size == 0:
        return 0.0
    peak = np.maximum.accumulate(curve)
    with np.errstate(divide="ignore", invalid="ignore"):
        falls = np.where(peak > 0, 1.0 - curve / peak, 0.0)
    return float(np.clip(falls.max(), 0.0, 1.0))


def _check_money(cost_bps: Any, periods_per_year: Any) -> tuple[float, float]:
    if isinstance(cost_bps, bool) or not isinstance(cost_bps, (int, float)) or not math.isfinite(cost_bps) \
            or not 0 <= cost_bps < 10_000:
        raise ConfigError(f"The 'cost_bps' parameter must be a transaction cost in basis points from 0 to under 10000 "
                          f"(charged per unit of position change; 5 = 0.05 %); got {cost_bps!r}.", param="cost_bps")
    if isinstance(periods_per_year, bool) or not isinstance(periods_per_year, (int, float)) \
            or not math.isfinite(periods_per_year) or periods_per_year <= 0:
        raise ConfigError(f"The 'periods_per_year' parameter must be a positive number (252 for trading days); got "
                          f"{periods_per_year!r}.", param="periods_per_year")
    return float(cost_bps), float(periods_per_year)


def _annualised(final: float, years: float) -> float | None:
    """The compound annual return of growing 1 to ``final`` over ``years``; -1.0 after ruin; None
    where it exceeds a float (a few rows of large returns: too short a sample to annualise)."""
    if final <= 0:
        return -1.0
    try:
        return float(final ** (1.0 / years) - 1.0)
    except OverflowError:
        return None


def _path(path: Any, realised: np.ndarray) -> np.ndarray | None:
    """``path`` checked against ``realised``: one row per period of the log returns from the
    period's start to each of its steps (the last column is the period's own), or None."""
    if path is None:
        return None
    try:
        marks = np.asarray(path, dtype=np.float64)
    except (TypeError, ValueError):  # text, a ragged list: refused as any malformed path is
        marks = np.zeros((0, 0))
    if marks.ndim != 2 or marks.shape[0] != realised.size or marks.shape[1] < 1:
        raise DataError(f"path must hold one row per period ({realised.size}) of the log returns to each step of "
                        f"it; got shape {marks.shape}.")
    if not np.isfinite(marks).all() or not np.allclose(marks[:, -1], realised, rtol=0.0, atol=1e-12):
        raise DataError("path's last column must be each period's own log return (realised), and every step "
                        "finite; pass finlite.data.market.realised_paths(series) for the same windows.")
    return marks


def net_returns(realised: np.ndarray, position: np.ndarray, cost_bps: float,
                path: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """(net simple return per period, each period's equity factor at each step of ``path`` or
    None) of holding ``position[t]`` over period t: ``position · (exp(r) − 1) − cost ·
    |Δposition|``, flat before the first period. With a ``path`` (:func:`_path`), a step at or
    below zero is ruin inside the period: the position is gone from there on, whatever the price
    does later in the period or after (a short through a doubling within h days; a review,
    2026-12-05), so that period's net return is −1 and its later steps 0. The one computation
    of the trading view and of the report's intervals and equity curves."""
    change = np.abs(np.diff(np.r_[0.0, position]))
    net = position * np.expm1(realised) - change * cost_bps / 10_000.0
    if path is None or path.shape[1] < 2:
        return net, None
    # Each step of period t: the period's return so far (its entry cost charged at the start);
    # the last step is the period's end.
    steps = position[:, None] * np.expm1(path) - (change * cost_bps / 10_000.0)[:, None]
    factors = np.maximum(1.0 + steps, 0.0)
    dead = factors <= 0.0
    if dead.any():
        first = int(np.flatnonzero(dead.any(axis=1))[0])
        factors[first, int(np.argmax(dead[first])):] = 0.0
        net = net.copy()
        net[first] = -1.0
    return net, factors


def _strategy(realised: np.ndarray, position: np.ndarray, cost_bps: float, ppy: float,
              path: np.ndarray | None = None) -> dict[str, Any]:
    """What holding ``position[t]`` over period t (earning ``realised[t]``, a log return) gives.

    A period's net simple return is ``position · (exp(r) − 1) − cost · |Δposition|`` (the
    position before the first period is flat, so entering is charged); the equity compounds
    them from 1 and stops at 0 (ruin). With ``path`` (:func:`_path`) the drawdown is marked at
    every step of each period, not at its end alone: a position held five days loses money
    inside them (period-end marks gave the S&P 500's test period 17.4 % for buy-and-hold at
    h = 5, daily marks 19.8 %, as at h = 1: a quant's walk-through, 2026-12-05)."""
    gross = position * np.expm1(realised)
    change = np.abs(np.diff(np.r_[0.0, position]))
    net, factors = net_returns(realised, position, cost_bps, path)
    return _performance(net, factors, change, gross, position != 0, cost_bps, ppy)


def _performance(net: np.ndarray, factors: np.ndarray | None, change: np.ndarray, gross: np.ndarray,
                 held: np.ndarray, cost_bps: float, ppy: float) -> dict[str, Any]:
    """The summary of a strategy's net period returns (``factors``: each period's equity factor
    at each of its steps, for daily-marked drawdowns, or None; ``change``: the turnover of each
    period; ``gross``: its return before costs; ``held``: the periods in the market)."""
    equity = np.cumprod(np.maximum(1.0 + net, 0.0))
    marked = equity
    if factors is not None:  # the equity before each period times its steps; equity[t] at the last
        marked = (np.r_[1.0, equity[:-1]][:, None] * factors).ravel()
    n = net.size
    final = float(equity[-1])
    years = n / ppy
    sd = float(np.std(net, ddof=1)) if n > 1 else 0.0
    if sd * sd <= 1e-12 * float(np.mean(net * net)):  # constant up to rounding (r2's rule): no volatility,
        sd = 0.0  # not 2.7e-16 and a Sharpe ratio of 9.8e16 (a statistics audit, 2026-12-07)
    idx = np.unique(np.linspace(0, n - 1, min(n, EQUITY_POINTS)).round().astype(np.int64))
    return {
        "rows": int(n),
        "total_return": final - 1.0,
        "annual_return": _annualised(final, years),
        "annual_volatility": sd * math.sqrt(ppy),
        "sharpe": float(np.mean(net)) / sd * math.sqrt(ppy) if sd > 0 else 0.0,
        # None where the equity overflowed a float (returns no market gives): no peak to fall from.
        "max_drawdown": max_drawdown(np.r_[1.0, marked]) if np.isfinite(marked).all() else None,
        "turnover": float(change.mean()),
        "annual_turnover": float(change.mean()) * ppy,
        "trades": int(np.count_nonzero(change)),
        "exposure": float(held.mean()),
        "hit_rate": float(np.mean(gross[held] > 0)) if held.any() else None,
        "cost_bps": cost_bps,
        "equity": {"final": final, "peak": float(max(1.0, equity.max())), "trough": float(min(1.0, equity.min())),
                   "rows": idx.tolist(), "values": equity[idx].tolist()},
    }


#: The share of a date's assets in each leg of :func:`quantile_portfolio`: quintiles.
PORTFOLIO_QUANTILE = 0.2


def quantile_portfolio(dates: Any, ids: Any, signal: Any, realised: Any, cost_bps: float = 0.0,
                       periods_per_year: float = 252, *, horizon: int = 1, quantile: float = PORTFOLIO_QUANTILE,
                       min_assets: int = CROSS_SECTION_MIN_ASSETS, path: Any = None,
                       start: int = 0) -> dict[str, Any]:
    """The cross-sectional portfolio a quant builds from a panel's forecasts: on each rebalancing
    date, rank the assets by ``signal`` (a forecast change, or a probability of an up move), buy
    the top ``quantile`` of them and sell the bottom ``quantile``, equally weighted, and hold for
    the horizon.

    ``realised[i]`` is the log return row i's asset earns over the horizon from its date (what
    row i's forecast predicts; no position uses it before); one date in ``horizon`` is a
    rebalancing date, from the first, so holding periods do not overlap, as
    :func:`trading_view`'s. A date with fewer than ``min_assets`` assets holds cash (counted in
    ``periods_flat``). Each leg holds ``k = max(1, floor(n · quantile))`` places of the date's n
    assets, 1/k each; assets tied at a leg's last place share its remaining weight, so a signal
    that is the same for every asset holds a flat long/short book. ``start`` (0 to h − 1) is the
    first rebalancing date: at h > 1 each of the h start days gives another book. The assets are taken to trade
    on one calendar, each row's return covering h of the panel's dates: a rebalancing date is
    every h-th date of the panel, so an asset of another calendar (a coin among stocks) or with
    holes in its dates would be held over periods that overlap or miss some (the evidence keeps
    the assets of the calendar most of them trade on).

    Returns ``periods``, ``periods_flat``, ``assets`` (the median number ranked on a
    rebalancing date), ``quantile`` and three strategies, each in :func:`trading_view`'s form
    (annual return and volatility, Sharpe, max drawdown, turnover, hit rate, equity):
    ``long_short`` (+1/k on each of the top k, −1/k on each of the bottom k: a dollar-neutral
    book, gross exposure 2), ``long_top`` (the top k only) and ``equal_weight`` (every asset
    ranked that date, 1/n each, rebalanced to that every period: the benchmark of ``long_top``).
    ``cost_bps`` is charged per unit of weight traded: the turnover is the sum of the changes
    from the weights the book holds at a period's end (each grown with its asset's return, over
    the book's value) to the next period's targets, so rebalancing a drifted book costs what it
    trades; the first period trades in from cash. With ``path`` (one row
    per row of the log returns to each step of its horizon, the last ``realised``), the drawdown
    is marked at every step.

    Raises:
        ConfigError: a bad cost, calendar, horizon, quantile (in (0, 0.5]) or ``min_assets``.
        DataError: the arrays differ in length or are not finite.
    """
    return _quantile_books(dates, ids, signal, realised, cost_bps, periods_per_year, horizon, path, start, quantile,
                           min_assets)[0]


def _quantile_books(dates: Any, ids: Any, signal: Any, realised: Any, cost_bps: Any, periods_per_year: Any,
                    horizon: Any, path: Any, start: Any, quantile: Any = PORTFOLIO_QUANTILE,
                    min_assets: Any = CROSS_SECTION_MIN_ASSETS,
                    holes: bool = True) -> tuple[dict[str, Any], dict[str, _Book]]:
    """:func:`quantile_portfolio`'s summary, and its books' period arrays (:func:`_portfolio_books`)."""
    cost, ppy = _check_money(cost_bps, periods_per_year)
    h = _check_horizon(horizon)
    if isinstance(start, bool) or not isinstance(start, (int, np.integer)) or not 0 <= start < h:
        raise ConfigError(f"The 'start' parameter of quantile_portfolio must be a whole number from 0 to horizon - 1 "
                          f"(which of the h dates the book first rebalances on); got {start!r}.", param="start")
    books, invested, meta = _portfolio_books(dates, ids, signal, realised, cost, h, quantile, min_assets, path,
                                             int(start), holes)
    out: dict[str, Any] = dict(meta)
    for name, (net, factors, change, gross) in books.items():
        out[name] = _performance(net, factors, change, gross, invested, cost, ppy / h)
    return out, books


_BOOKS = ("long_short", "long_top", "equal_weight")


def panel_books(dates: Any, ids: Any, signals: Mapping[str, Any], realised: Any, cost_bps: float = 0.0,
                periods_per_year: float = 252, *, horizon: int = 1,
                path: Any = None) -> tuple[dict[str, dict[str, Any]], dict[str, np.ndarray]]:
    """Each signal's :func:`quantile_portfolio` (``signals``: model name → its forecasts of the
    same rows), and each one's long/short net return per rebalancing period (what a bootstrap of
    its Sharpe ratio resamples). At h > 1 every book also gives its Sharpe from each of the h start
    days (``sharpe_start_days``, None where a start day has fewer than 2 periods): the one
    computation of the evidence's ``cross_sectional_portfolio`` and the report's trading section."""
    summaries: dict[str, dict[str, Any]] = {}
    nets: dict[str, np.ndarray] = {}
    for k, (name, signal) in enumerate(signals.items()):
        days = []
        for start in range(_check_horizon(horizon)):
            # The panel's holes are the same for every model and start day: counted once, in the
            # first model's first book (the one the evidence and the report read them from).
            summary, books = _quantile_books(dates, ids, signal, realised, cost_bps, periods_per_year, horizon,
                                             path, start, holes=k == 0 and start == 0)
            if start == 0:
                summaries[name], nets[name] = summary, books["long_short"][0]
            days.append(summary)
        if horizon > 1:
            for side in _BOOKS:
                summaries[name][side]["sharpe_start_days"] = [
                    float(day[side]["sharpe"]) if day["periods"] >= 2 else None for day in days]
    return summaries, nets


_Book = tuple[np.ndarray, "np.ndarray | None", np.ndarray, np.ndarray]


def _leg(sorted_signal: np.ndarray, k: int) -> np.ndarray:
    """The weights of a leg of k places over a date's signals, highest first: 1/k on each asset
    above the k-th signal; the assets tied with it share what is left. Picking among tied assets
    by id made a constant forecast (a collapsed student) trade a book chosen by name: a long/short
    Sharpe of 5.2 where its IC was 0 (a review). A constant signal fills both legs alike: the
    long/short book is flat and the long leg is the equal-weighted universe."""
    edge = sorted_signal[k - 1]
    above = sorted_signal > edge
    tied = sorted_signal == edge
    weights = np.where(above, 1.0 / k, 0.0)
    weights[tied] = (k - int(above.sum())) / (k * int(tied.sum()))
    return weights


def _portfolio_books(dates: Any, ids: Any, signal: Any, realised: Any, cost: float, h: int, quantile: Any,
                     min_assets: Any, path: Any, start: int = 0,
                     holes: bool = True) -> tuple[dict[str, _Book], np.ndarray, dict[str, Any]]:
    """:func:`quantile_portfolio`'s books as period arrays: per book (net, step factors or None,
    turnover, gross), the periods invested, and the counts (``periods``, ``periods_flat``,
    ``quantile``, ``assets``, ``min_assets``)."""
    if isinstance(quantile, bool) or not isinstance(quantile, (int, float)) or not 0 < quantile <= 0.5:
        raise ConfigError(f"The 'quantile' parameter of quantile_portfolio must be a share in (0, 0.5] (0.2: "
                          f"quintiles); got {quantile!r}.", param="quantile")
    if isinstance(min_assets, bool) or not isinstance(min_assets, (int, np.integer)) or min_assets < 2:
        raise ConfigError(f"The 'min_assets' parameter of quantile_portfolio must be a whole number, 2 or more; got "
                          f"{min_assets!r}.", param="min_assets")
    r, s = _values(realised, signal, "signals")
    days = np.asarray(dates).reshape(-1)
    names = np.asarray(ids).astype(str).reshape(-1)
    if days.shape != r.shape or names.shape != r.shape:
        raise DataError(f"quantile_portfolio needs one date and one id per row: {days.size} dates and {names.size} "
                        f"ids for {r.size} rows. Pass the dates and asset ids of the same rows as the signals.",
                        param="dates")
    marks = _path(path, r)
    asset_names, asset = np.unique(names, return_inverse=True)
    unique, codes = np.unique(days, return_inverse=True)
    codes = codes.reshape(-1)
    # Rows by date, then by signal from the highest (a fixed order; tied assets share a leg's edge).
    order = np.lexsort((asset, -s, codes))
    starts = np.searchsorted(codes[order], np.arange(len(unique)))
    ends = np.r_[starts[1:], order.size]
    rebalance = np.arange(start, len(unique), h)
    steps = 1 if marks is None else marks.shape[1]
    names_of = _BOOKS
    net = {b: np.zeros(len(rebalance)) for b in names_of}
    gross = {b: np.zeros(len(rebalance)) for b in names_of}
    change = {b: np.zeros(len(rebalance)) for b in names_of}
    factors = {b: np.ones((len(rebalance), steps)) for b in names_of}
    before = {b: np.zeros(len(asset_names)) for b in names_of}
    ranked, flat = [], 0
    invested = np.zeros(len(rebalance), dtype=bool)
    for t, d in enumerate(rebalance):
        rows = order[starts[d]:ends[d]]
        n = rows.size
        weights = {b: np.zeros(len(asset_names)) for b in names_of}
        if n >= min_assets:
            ranked.append(n)
            invested[t] = True
            k = max(1, math.floor(n * quantile + 1e-9))  # 0.35 · 180 is 62.99999… in binary
            top, bottom = _leg(s[rows], k), _leg(-s[rows][::-1], k)[::-1]
            weights["long_short"][asset[rows]] = top - bottom
            weights["long_top"][asset[rows]] = top
            weights["equal_weight"][asset[rows]] = 1.0 / n
        else:
            flat += 1
        simple = np.expm1(r[rows])
        step_simple = None if marks is None else np.expm1(marks[rows])
        for b in names_of:
            w = weights[b][asset[rows]]
            traded = float(np.abs(weights[b] - before[b]).sum())
            charge = traded * cost / 10_000.0
            gross[b][t] = float(w @ simple)
            change[b][t] = traded
            net[b][t] = gross[b][t] - charge
            if step_simple is not None:
                factors[b][t] = 1.0 + w @ step_simple - charge
            # What the book holds at the period's end: each weight grown with its asset, over the
            # book's value (the next rebalancing trades back from these, not from the targets: an
            # equal-weighted universe that never paid to rebalance was no buy-and-hold).
            value = 1.0 + net[b][t]
            drifted = np.zeros(len(asset_names))
            if value > 0:
                drifted[asset[rows]] = w * (1.0 + simple) / value
            before[b] = drifted
    books: dict[str, _Book] = {}
    for b in names_of:
        f = None
        if marks is not None:
            f = np.maximum(factors[b], 0.0)
            dead = np.flatnonzero((f <= 0.0).any(axis=1))
            if dead.size:  # ruin inside a period: gone from there on, as net_returns says
                first = int(dead[0])
                f[first, int(np.argmax(f[first] <= 0.0)):] = 0.0
                net[b][first] = -1.0
        books[b] = (net[b], f, change[b], gross[b])
    meta: dict[str, Any] = {"periods": len(rebalance), "periods_flat": flat, "quantile": float(quantile),
                            "assets": int(np.median(ranked)) if ranked else 0, "min_assets": int(min_assets)}
    found = calendar_holes(asset, codes, asset_names, len(unique)) if holes else None
    if found is not None:
        meta["calendar_holes"] = found
    return books, invested, meta


def calendar_holes(asset: np.ndarray, codes: np.ndarray, asset_names: np.ndarray,
                   dates: int) -> dict[str, Any] | None:
    """The assets of a panel that lack rows on some of the panel's dates between their own first
    and last (``asset``, ``codes``: each row's asset and date index; ``dates``: the panel's
    dates). Such an asset's row before a hole earns its return over more than one of the book's
    periods, so the book holds it over a longer period than the others (a quant's walk-through,
    2026-12-06: an asset with missing days entered the quintile book without a word). None when
    every asset trades on every date of its span; else ``assets``, ``dates_missing`` and the
    five with the most (``examples``: [asset, dates missing])."""
    if not asset.size:
        return None
    n = len(asset_names)
    # One boolean per asset and date (a sort of every row took 0.5 s on 500 assets x 2,000 dates).
    held = np.zeros((n, dates), dtype=bool)
    held[asset, codes] = True
    count = held.sum(axis=1)
    first = held.argmax(axis=1)
    last = dates - 1 - held[:, ::-1].argmax(axis=1)
    missing = np.where(count > 0, last - first + 1 - count, 0)
    if not missing.any():
        return None
    worst = np.argsort(-missing, kind="stable")[:5]
    return {"assets": int(np.count_nonzero(missing)), "dates_missing": int(missing.sum()),
            "examples": [[str(asset_names[i]), int(missing[i])] for i in worst if missing[i]]}


def calendar_holes_warning(holes: Mapping[str, Any] | None) -> str | None:
    """The warning for a quintile book's :func:`calendar_holes` (None when there are none)."""
    if not holes:
        return None
    named = ", ".join(f"{terminal_safe(str(a))} ({int(n):,})" for a, n in holes.get("examples") or [])
    return (f"{int(holes['assets']):,} asset(s) of the quintile portfolios lack {int(holes['dates_missing']):,} of the "
            f"panel's dates between their first and last ({named}{', ...' if int(holes['assets']) > 5 else ''}): the "
            "return of a row before a missing date runs over more than one of the book's periods, so the book holds "
            "those assets longer than the others. Fill the missing days (or drop the assets) before judging the "
            "quintile book.")


def trading_view(realised: Any, signal: Any, cost_bps: float = 0.0, periods_per_year: float = 252, *,
                 kind: Literal["forecast", "probability", "position"] = "forecast",
                 cutoff: float = 0.5, path: Any = None) -> dict[str, Any]:
    """Long/flat and long/short strategies on the predicted direction, after transaction costs.

    ``realised[t]`` is the log return earned by holding a position over period t (the next
    period's return after the forecast made at t, so no position uses what it predicts);
    ``signal[t]`` is the forecast made at t: a forecast change (``kind="forecast"``, up when
    > 0), a probability of an up move (``kind="probability"``, up when ≥ ``cutoff``) or a
    position in [-1, 1] (``kind="position"``, used as given for long/short and clipped at 0
    for long/flat). Long/flat holds 1 when up is predicted and 0 otherwise; long/short holds
    +1 or −1. ``cost_bps`` basis points are charged per unit of position change.

    Each strategy reports ``annual_return`` (compound), ``annual_volatility`` and ``sharpe``
    (of the net period returns, annualised with ``periods_per_year``, risk-free rate 0),
    ``max_drawdown`` (a fraction of the peak; marked at every step of a period when ``path``
    gives the log returns from each period's start to each of its steps, ``[periods, steps]``,
    the last column ``realised``: a position held h days is marked daily, else at period ends),
    ``turnover`` (mean |Δposition| per period, and
    ``annual_turnover``), ``hit_rate`` (share of periods in the market that earned a positive
    gross return), ``trades``, ``exposure``, ``total_return`` and a summary of the equity curve
    (≤ 50 evenly spaced points).
    """
    cost, ppy = _check_money(cost_bps, periods_per_year)
    r, s = _values(realised, signal, "signals")
    if kind == "forecast":
        up = s > 0
        long_flat, long_short = up.astype(np.float64), np.where(up, 1.0, -1.0)
    elif kind == "probability":
        if ((s < 0) | (s > 1)).any():
            raise DataError("trading_view with kind='probability' needs probabilities in [0, 1]; got values from "
                            f"{s.min():.6g} to {s.max():.6g}. Pass kind='forecast' for forecast changes.")
        up = s >= cutoff
        long_flat, long_short = up.astype(np.float64), np.where(up, 1.0, -1.0)
    elif kind == "position":
        long_short = np.clip(s, -1.0, 1.0)
        long_flat = np.clip(s, 0.0, 1.0)
    else:
        raise ConfigError(f"The 'kind' parameter of trading_view must be 'forecast', 'probability' or 'position'; got "
                          f"{kind!r}.", param="kind")
    marks = _path(path, r)
    return {"long_flat": _strategy(r, long_flat, cost, ppy, marks),
            "long_short": _strategy(r, long_short, cost, ppy, marks)}


def buy_and_hold(realised: Any, cost_bps: float = 0.0, periods_per_year: float = 252, *,
                 path: Any = None) -> dict[str, Any]:
    """The asset itself: long on every period (one entry cost), in the same form as each strategy
    of :func:`trading_view` (``path`` as there)."""
    cost, ppy = _check_money(cost_bps, periods_per_year)
    r, _ = _values(realised, realised, "returns")
    return _strategy(r, np.ones_like(r), cost, ppy, _path(path, r))
