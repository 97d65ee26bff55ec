"""No lookahead, by construction: change any prices and volumes after a time t and every feature,
every scaled input window, every naive forecast and every known label up to t stays bitwise the
same; the scaler fitted on the training rows does not move when later values change; a value
after t far beyond what the model accepts is refused at its own date, never an earlier one.

Reusable pieces for further lookahead checks (e.g. through an exported model):
``random_prices`` (a hypothesis strategy of price tables), ``market_specs`` (specs that fit
them) and ``change_after`` (the same table with every value after a row replaced).
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from finlite.data.market import OBJECTIVES, MarketSpec, compute_features, prepare_series, read_prices
from finlite.data.walkforward import WalkForward
from finlite.errors import DataError

MAX_WINDOW = 12


@st.composite
def random_prices(draw: st.DrawFn, min_rows: int = 90, max_rows: int = 200, assets: int = 1,
                  max_scale: float = 0.1) -> pd.DataFrame:
    """A table ``date, close, volume`` (and ``ticker`` when ``assets`` > 1) of random positive prices.
    Daily log returns have a spread of up to ``max_scale`` (a model trained on calmer prices
    refuses far wider moves: ``MarketPreprocessor.check_range``).

    Dates are business days with random holes (holidays); log returns have a random scale, and
    some stretches are flat (repeated prices) and some volumes 0, the edge cases of the features.
    """
    seed = draw(st.integers(0, 2**32 - 1))
    scale = draw(st.floats(1e-4, max_scale))
    level = draw(st.floats(0.01, 1e4))
    flat = draw(st.floats(0.0, 0.3))
    rng = np.random.default_rng(seed)
    parts = []
    for k in range(assets):
        n = draw(st.integers(min_rows, max_rows))
        calendar = pd.bdate_range("2003-01-06", periods=int(n * 1.1) + 1)
        dates = calendar[np.sort(rng.choice(len(calendar), n, replace=False))]
        steps = rng.normal(0.0, scale, n)
        steps[rng.random(n) < flat] = 0.0
        close = level * np.exp(np.cumsum(steps))
        volume = rng.integers(0, 10**7, n).astype(np.float64)
        volume[rng.random(n) < 0.05] = 0.0
        part = pd.DataFrame({"date": dates.strftime("%Y-%m-%d"), "close": close, "volume": volume})
        if assets > 1:
            part.insert(0, "ticker", f"A{k}")
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


def market_specs(assets: int = 1) -> st.SearchStrategy[MarketSpec]:
    """Specs with a volume column, any objective, a short window and horizon."""
    return st.builds(MarketSpec, objective=st.sampled_from(OBJECTIVES), horizon=st.integers(1, 5),
                     window=st.integers(1, MAX_WINDOW), volume_column=st.just("volume"),
                     id_column=st.just("ticker" if assets > 1 else None))


def change_after(frame: pd.DataFrame, cut: pd.Timestamp, seed: int) -> pd.DataFrame:
    """``frame`` with every close and volume of a date after ``cut`` replaced: each asset's closes
    by a new random walk from its close at the cut (steps three times as wide as its own), its
    volumes by new random ones. New values that a model still accepts: a value far beyond a
    feature's training range is refused instead (MarketPreprocessor.check_range), which
    test_a_wild_value_after_t_is_refused_at_its_own_date checks on its own."""
    rng = np.random.default_rng(seed)
    out = frame.copy()
    later = (pd.to_datetime(out["date"]) > cut).to_numpy()
    groups = out["ticker"].to_numpy() if "ticker" in out else np.zeros(len(out))
    for asset in pd.unique(groups):
        mine = groups == asset
        rows = np.flatnonzero(mine & later)
        if not len(rows):
            continue
        close = out["close"].to_numpy()[mine]
        spread = max(float(np.std(np.diff(np.log(close)))), 1e-4)
        before = np.flatnonzero(mine & ~later)
        start = out["close"].iloc[before[-1]] if len(before) else close[0]
        out.loc[out.index[rows], "close"] = start * np.exp(np.cumsum(rng.normal(0.0, 3 * spread, len(rows))))
        out.loc[out.index[rows], "volume"] = rng.integers(0, 10**7, len(rows)).astype(np.float64)
    return out


def same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    """Bitwise equality (NaN in the same places counts as equal)."""
    return a.shape == b.shape and a.dtype == b.dtype and np.ascontiguousarray(a).tobytes() == np.ascontiguousarray(
        b).tobytes()


def _check_unchanged_up_to(frame: pd.DataFrame, spec: MarketSpec, cut_row: int, seed: int, folds: int) -> None:
    prepared = prepare_series(frame, spec, walk=WalkForward(folds=folds))
    pre = prepared.preprocessor
    table = prepared.table
    cut = pd.Timestamp(table.frame["date"].iloc[cut_row])
    changed = change_after(frame, cut, seed)
    table2 = read_prices(changed, spec)
    upto = (table.frame["date"] <= cut).to_numpy()
    assert same_bits(compute_features(table, spec)[upto], compute_features(table2, spec)[upto])
    w1, w2 = pre.windows(table), pre.windows(table2)
    known = w1.dates <= cut.to_datetime64().astype("datetime64[D]")
    assert known.any()
    assert same_bits(w1.x[known], w2.x[known])
    assert same_bits(w1.naive[known], w2.naive[known])
    assert same_bits(w1.last_price[known], w2.last_price[known])
    # A label at t' reads prices up to t' + h of its asset: those that end by the cut are unchanged too.
    dates = table.frame["date"].to_numpy().astype("datetime64[D]")
    label_end = []
    for _asset, part in table.assets(spec.date_column, spec.id_column):
        for row in range(part.start + spec.warmup, part.stop):
            ahead = row + spec.horizon
            label_end.append(dates[ahead] if ahead < part.stop else np.datetime64("9999-12-31"))
    ends_by_cut = np.array(label_end) <= cut.to_datetime64().astype("datetime64[D]")
    assert same_bits(w1.y[ends_by_cut], w2.y[ends_by_cut])
    assert not np.isnan(w1.y[ends_by_cut]).any()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frame=random_prices(), spec=market_specs(), where=st.floats(0.0, 1.0), seed=st.integers(0, 2**31),
       folds=st.integers(1, 3))
def test_values_after_t_never_change_anything_up_to_t(frame: pd.DataFrame, spec: MarketSpec, where: float,
                                                      seed: int, folds: int) -> None:
    first = spec.warmup
    cut_row = first + int(where * (len(frame) - 2 - first))
    _check_unchanged_up_to(frame, spec, cut_row, seed, folds)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frame=random_prices(assets=2), spec=market_specs(assets=2), where=st.floats(0.0, 1.0),
       seed=st.integers(0, 2**31))
def test_several_assets_values_after_t_change_nothing_up_to_t(frame: pd.DataFrame, spec: MarketSpec, where: float,
                                                              seed: int) -> None:
    # The cut is a date of the first asset after its warm-up; the other asset is cut at that date too.
    first = read_prices(frame, spec).assets(spec.date_column, spec.id_column)[0][1]
    cut_row = first.start + spec.warmup + int(where * (first.stop - first.start - 2 - spec.warmup))
    _check_unchanged_up_to(frame, spec, cut_row, seed, folds=2)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frame=random_prices(), spec=market_specs(), where=st.floats(0.0, 1.0),
       wild=st.sampled_from([("close", 1e6), ("close", 1e-6), ("volume", 1e300)]))
def test_a_wild_value_after_t_is_refused_at_its_own_date(frame: pd.DataFrame, spec: MarketSpec, where: float,
                                                         wild: tuple[str, float]) -> None:
    """A value far beyond the training range (a price a million times off, a volume of 1e300) is
    refused, and the refusal names a date after the cut: never an earlier date, whose features
    it cannot reach."""
    prepared = prepare_series(frame, spec, walk=WalkForward(folds=1))
    pre, table = prepared.preprocessor, prepared.table
    cut_row = spec.warmup + int(where * (len(table.frame) - 2 - spec.warmup))
    cut = pd.Timestamp(table.frame["date"].iloc[cut_row]).strftime("%Y-%m-%d")
    column, factor = wild
    changed = table.frame.copy()
    value = float(changed[column].iloc[cut_row + 1])
    changed.loc[changed.index[cut_row + 1], column] = value * factor if column == "close" else factor
    with pytest.raises(DataError, match=r"at date \d{4}-\d\d-\d\d is .*far outside what the model was trained on"
                                        r" .* in its training windows") as err:
        pre.windows(changed)
    named = re.search(r"at date (\d{4}-\d\d-\d\d)", str(err.value))
    assert named is not None and named.group(1) > cut


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frame=random_prices(), spec=market_specs(), seed=st.integers(0, 2**31), folds=st.integers(1, 3),
       scheme=st.sampled_from(["expanding", "rolling"]))
def test_the_scaler_ignores_everything_after_the_training_labels(frame: pd.DataFrame, spec: MarketSpec, seed: int,
                                                                  folds: int, scheme: Any) -> None:
    walk = WalkForward(scheme=scheme, folds=folds)
    prepared = prepare_series(frame, spec, walk=walk)
    # The last training row's label reads the price h rows later; everything after that may change
    # (validation and test periods included) without moving the fitted statistics.
    last_train = prepared.windows_train.dates.max()
    rows = prepared.table.frame["date"].to_numpy().astype("datetime64[D]")
    end = int(np.flatnonzero(rows == last_train)[0]) + spec.horizon
    assume(end < len(rows) - 1)
    changed = change_after(frame, pd.Timestamp(rows[end]), seed)
    again = prepare_series(changed, spec, walk=walk)
    assert same_bits(again.preprocessor.mean, prepared.preprocessor.mean)
    assert same_bits(again.preprocessor.std, prepared.preprocessor.std)
    assert again.preprocessor.to_dict() == prepared.preprocessor.to_dict()  # the range (low / high) too
    assert same_bits(again.x_train, prepared.x_train) and same_bits(again.y_train, prepared.y_train)
    for a, b in zip(again.split.folds, prepared.split.folds, strict=True):
        assert same_bits(a[0], b[0]) and same_bits(a[1], b[1])


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frame=random_prices(assets=2), where=st.floats(0.0, 1.0), seed=st.integers(0, 2**31),
       horizon=st.integers(1, 4))
def test_the_ewma_baseline_reads_nothing_after_t(frame: pd.DataFrame, where: float, seed: int, horizon: int) -> None:
    """RiskMetrics' EWMA, the volatility evidence's baseline, of every window up to t is bitwise
    the same when every price after t changes (it reads each asset's returns up to its date)."""
    from finlite.data.market import ewma_forecasts

    spec = MarketSpec(objective="volatility", horizon=horizon, window=5, id_column="ticker")
    walk = WalkForward(folds=1)
    before = prepare_series(frame, spec, walk=walk)
    dates = np.sort(before.table.frame["date"].to_numpy())
    cut = pd.Timestamp(dates[spec.warmup + int(where * (len(dates) - 2 - spec.warmup))])
    after = prepare_series(change_after(frame, cut, seed), spec, walk=walk)
    for part in ("train", "val", "test"):
        one, two = (getattr(s, f"windows_{part}") for s in (before, after))
        upto = one.dates <= cut.to_datetime64().astype("datetime64[D]")
        assert same_bits(one.dates[upto], two.dates[upto])
        assert same_bits(ewma_forecasts(before, part)[upto], ewma_forecasts(after, part)[upto])
        assert np.isfinite(ewma_forecasts(before, part)).all()
