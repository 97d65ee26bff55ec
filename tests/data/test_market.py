"""Price data: reading and checking, causal features against an independent pandas computation,
targets and naive forecasts per objective, the scaler fitted on training rows only, windows, the
preprocessor's JSON form, and the errors a user sees."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from finlite.data.market import (
    FEATURE_LAG,
    FIRST_DATE,
    LAST_DATE,
    MarketPreprocessor,
    MarketSpec,
    PriceTable,
    compute_features,
    feature_names,
    period_unit,
    periods_per_year,
    prepare_series,
    read_prices,
    served_days,
    served_values,
    to_price_level,
)
from finlite.data.walkforward import WalkForward
from finlite.errors import ConfigError, DataError


def prices_frame(n: int = 300, seed: int = 0, start: str = "2015-01-05", extra: bool = False) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range(start, periods=n)
    close = 50 * np.exp(np.cumsum(rng.normal(0.0003, 0.012, n)))
    frame = pd.DataFrame({"date": dates.strftime("%Y-%m-%d"), "close": close,
                          "volume": rng.integers(0, 10_000, n).astype(float)})
    if extra:
        frame["rate"] = 2 + np.abs(np.cumsum(rng.normal(0, 0.01, n)))
    return frame


SPEC = MarketSpec(volume_column="volume", window=10, horizon=3)


def reference_features(frame: pd.DataFrame) -> pd.DataFrame:
    """The features as a quant would write them with pandas rolling windows."""
    p = frame["close"]
    r = pd.Series(np.log(p / p.shift(1)))
    out = pd.DataFrame({"log_return": r})
    for k in (5, 21):
        out[f"volatility_{k}"] = r.rolling(k).std(ddof=0)
    for k in (5, 21):
        out[f"ma_gap_{k}"] = np.log(p / p.rolling(k).mean())
    for k in (5, 21):
        out[f"momentum_{k}"] = np.log(p / p.shift(k))
    gains = r.clip(lower=0).rolling(14).sum()
    moves = r.abs().rolling(14).sum()
    out["rsi_14"] = gains / moves - 0.5
    v = frame["volume"]
    out["volume_change"] = np.log((v + 1) / (v.shift(1) + 1))
    day = pd.to_datetime(frame["date"]).dt.day_of_week
    out["dow_sin"] = np.sin(2 * np.pi * day / 7)
    out["dow_cos"] = np.cos(2 * np.pi * day / 7)
    return out


def test_features_match_an_independent_pandas_computation() -> None:
    frame = prices_frame()
    prepared = prepare_series(frame, SPEC)
    pre = prepared.preprocessor
    assert pre.feature_names == list(reference_features(frame).columns)
    windows = pre.windows(frame)
    # Undo the scaling of the last row of every window: the features of the forecast origin t.
    unscaled = windows.x[:, -1, :].astype(np.float64) * pre.std + pre.mean
    ref = reference_features(frame).to_numpy()[SPEC.warmup:]
    np.testing.assert_allclose(unscaled, ref, rtol=2e-6, atol=2e-6)  # float32 inputs
    # The window holds rows t-window+1 .. t in order.
    np.testing.assert_array_equal(windows.x[5, :-1, :], windows.x[4, 1:, :])
    assert windows.x.dtype == np.float32 and windows.x.shape == (len(frame) - SPEC.warmup, 10, pre.n_features)
    assert ((unscaled[:, 7] >= -0.5) & (unscaled[:, 7] <= 0.5)).all()  # the RSI-like momentum


@pytest.mark.parametrize("objective", ["return", "direction", "volatility", "price"])
def test_targets_and_naive_forecasts(objective: str) -> None:
    frame = prices_frame()
    spec = MarketSpec(objective=objective, horizon=3, window=10)
    prepared = prepare_series(frame, spec)
    windows = prepared.preprocessor.windows(frame)
    p = frame["close"].to_numpy()
    t = np.arange(spec.warmup, len(p))
    change = np.full(len(t), np.nan)
    change[:-3] = np.log(p[t[:-3] + 3] / p[t[:-3]])
    r = np.diff(np.log(p), prepend=np.nan)
    if objective in ("return", "price"):
        np.testing.assert_allclose(windows.y, change, rtol=1e-12)
        assert (windows.naive == 0).all()
    elif objective == "direction":
        np.testing.assert_array_equal(windows.y[:-3], (change[:-3] > 0).astype(float))
        share = float(np.mean(prepared.y_train))
        np.testing.assert_allclose(windows.naive, share)
        assert prepared.task == "direction" and set(np.unique(prepared.y_train)) == {0.0, 1.0}
    else:
        ahead = np.array([np.sqrt(np.sum(r[i + 1:i + 4] ** 2)) for i in t[:-3]])
        np.testing.assert_allclose(windows.y[:-3], ahead, rtol=1e-12)
        np.testing.assert_allclose(windows.naive, [np.sqrt(np.sum(r[i - 2:i + 1] ** 2)) for i in t], rtol=1e-12)
    assert np.isnan(windows.y[-3:]).all()  # not yet known, but forecastable
    np.testing.assert_array_equal(windows.last_price, p[t])
    assert prepared.task == ("direction" if objective == "direction" else "forecast")
    assert not np.isnan(prepared.y_test).any()  # unlabelled rows are in no part


def test_scaler_is_fitted_on_the_training_rows_only() -> None:
    frame = prices_frame(seed=3)
    prepared = prepare_series(frame, SPEC)
    pre = prepared.preprocessor
    train_features = prepared.x_train[:, -1, :].astype(np.float64) * pre.std + pre.mean
    np.testing.assert_allclose(train_features.mean(axis=0), pre.mean, atol=1e-6)
    np.testing.assert_allclose(train_features.std(axis=0), pre.std, rtol=1e-5)
    # Validation / test rows are not standardised to mean 0: their statistics were not used.
    shocked = frame.copy()
    shocked.loc[shocked.index[-60:], "close"] *= 1.3  # a jump within what the model accepts (check_range)
    again = prepare_series(shocked, SPEC)
    np.testing.assert_array_equal(again.preprocessor.mean, pre.mean)
    np.testing.assert_array_equal(again.preprocessor.std, pre.std)
    np.testing.assert_array_equal(again.x_train, prepared.x_train)


def test_a_short_history_gives_the_same_last_window_as_the_full_series() -> None:
    frame = prices_frame()
    pre = prepare_series(frame, SPEC).preprocessor
    full = pre.windows(frame)
    short = pre.windows(frame.tail(SPEC.warmup + 1))
    history = {column: frame[column].tail(SPEC.warmup + 1).tolist() for column in frame.columns}
    mapped = pre.windows(history, "the request")
    assert len(short) == len(mapped) == 1
    np.testing.assert_array_equal(short.x[0], full.x[-1])  # bitwise: no running sums
    np.testing.assert_array_equal(mapped.x[0], full.x[-1])
    with pytest.raises(DataError, match=rf"has {SPEC.warmup} row\(s\); one forecast needs {SPEC.warmup + 1}"):
        pre.windows(frame.tail(SPEC.warmup))


def test_assets_in_long_format_are_kept_apart() -> None:
    a = prices_frame(seed=1).assign(ticker="AAA")
    b = prices_frame(seed=2, n=250).assign(ticker="BBB")
    spec = MarketSpec(id_column="ticker", volume_column="volume", window=10)
    both = pd.concat([b, a]).sample(frac=1.0, random_state=0)  # shuffled rows
    table = read_prices(both, spec)
    assert list(table.frame["ticker"].iloc[[0, -1]]) == ["AAA", "BBB"]
    pre = prepare_series(both, spec).preprocessor
    w_both = pre.windows(both)
    w_a = pre.windows(a)
    mine = w_both.ids == "AAA"
    np.testing.assert_array_equal(w_both.x[mine], w_a.x)  # BBB's rows never enter AAA's features
    np.testing.assert_array_equal(w_both.dates[mine], w_a.dates)
    short = pd.concat([a, b.head(20)])
    with pytest.raises(DataError, match=r"Asset 'BBB'.*20 row\(s\)"):
        read_prices(short, spec)
    # "X" and "X " would be one asset (spaces are no part of an id): two histories under them,
    # with no date in common, were joined into one without a word (a 2.18x step between them;
    # a review of 2026-12-04). An id written two ways is refused, naming both spellings and rows.
    padded = pd.concat([a.head(150), b.tail(150).assign(ticker="AAA ")])
    with pytest.raises(DataError, match=r"Asset id 'AAA' in column 'ticker' of DataFrame is written 'AAA' at row 1 "
                                        r"and 'AAA ' at row 151; surrounding spaces are no part of an id"):
        read_prices(padded, spec)
    mixed = a.assign(ticker=["AAA ", "AAA"] * (len(a) // 2) + ["AAA"] * (len(a) % 2))
    with pytest.raises(DataError, match=r"is written 'AAA ' at row 1 and 'AAA' at row 2"):
        read_prices(mixed, spec)
    # Written one way, spaces and all, it is one asset under its trimmed id.
    assert set(read_prices(a.assign(ticker=" AAA "), spec).frame["ticker"]) == {"AAA"}


def test_extra_columns_become_log_changes() -> None:
    frame = prices_frame(extra=True)
    spec = MarketSpec(window=5, extra_columns=("rate",))
    pre = prepare_series(frame, spec).preprocessor
    assert "change_rate" in pre.feature_names and "volume_change" not in pre.feature_names
    w = pre.windows(frame)
    j = pre.feature_names.index("change_rate")
    rate = frame["rate"].to_numpy()
    np.testing.assert_allclose(w.x[:, -1, j] * pre.std[j] + pre.mean[j],
                               np.log(rate[spec.warmup:] / rate[spec.warmup - 1:-1]), atol=1e-6)


def test_dates_iso_us_and_day_first_are_read_and_sorted(tmp_path: Path) -> None:
    frame = prices_frame(n=60)
    spec = MarketSpec(window=5)
    iso = read_prices(frame.iloc[::-1], spec)  # file order does not matter
    assert iso.frame["date"].is_monotonic_increasing
    us = frame.assign(date=pd.to_datetime(frame["date"]).dt.strftime("%m/%d/%Y"))
    eu = frame.assign(date=pd.to_datetime(frame["date"]).dt.strftime("%d/%m/%Y"))
    for other in (us, eu):
        pd.testing.assert_frame_equal(read_prices(other, spec).frame, iso.frame)
    stamped = frame.assign(date=frame["date"] + "T16:00:00-05:00")  # a time and zone: the calendar date counts
    pd.testing.assert_frame_equal(read_prices(stamped, spec).frame, iso.frame)
    zoned = frame.assign(date=pd.to_datetime(frame["date"]).dt.tz_localize("US/Eastern"))
    pd.testing.assert_frame_equal(read_prices(zoned, spec).frame, iso.frame)
    path = tmp_path / "prices.parquet"
    frame.assign(date=pd.to_datetime(frame["date"])).to_parquet(path)
    parquet = read_prices(path, spec)
    pd.testing.assert_frame_equal(parquet.frame, iso.frame)
    assert parquet.file_sha256 is not None and parquet.source == str(path)


def test_business_day_gaps_are_a_note_with_dates() -> None:
    frame = prices_frame(n=80).drop(index=[30, 31, 50]).reset_index(drop=True)
    table = read_prices(frame, MarketSpec(window=5))
    assert len(table.frame) == 77  # nothing dropped
    (note,) = table.notes
    day30 = pd.bdate_range("2015-01-05", periods=80)[29].strftime("%Y-%m-%d")
    assert "3 business day(s) missing in 2 gap(s)" in note and day30 in note


def test_a_tenfold_move_in_a_day_is_a_note_with_dates_and_values() -> None:
    """A price of 1e308 among prices of 100 was read without a word when its features stayed
    finite (note 40); a tenfold move is now called out, per asset and column, and kept."""
    frame = prices_frame(n=80)
    frame["open"] = frame["close"]
    frame.loc[60:, "open"] *= 20  # a 20:1 split the file did not adjust for
    frame.loc[40, "close"] = 1e308
    frame.loc[10, "volume"], frame.loc[11, "volume"] = 1.0, 5e6  # volume may jump: no note
    spec = MarketSpec(window=5, id_column="id", extra_columns=("open",), volume_column="volume")
    table = read_prices(frame.assign(id="A"), spec)
    assert len(table.frame) == 80 and table.frame["close"].max() == 1e308  # kept as it is
    days = pd.bdate_range("2015-01-05", periods=80).strftime("%Y-%m-%d")
    close, opened = (next(n for n in table.notes if f"column {name!r}" in n) for name in ("close", "open"))
    assert close.startswith("asset 'A': column 'close' moves more than 10-fold from one row to the next 2 time(s), "
                            "e.g. from ")
    assert f"on {days[39]} to 1e+308 on {days[40]}" in close and "not adjusted for a split" in close
    assert "next 1 time(s)" in opened and f"on {days[59]} to " in opened and f"on {days[60]};" in opened
    assert not any("'volume'" in n for n in table.notes) and len(table.notes) == 2
    assert read_prices(prices_frame(n=80), MarketSpec(window=5)).notes == []
    from finlite.data.market import jump_note

    steps = np.array([1.0, 10.0, 1.0, 9.0])
    assert jump_note(steps, np.arange(4).astype("datetime64[D]"), "close", None) is None


@pytest.mark.parametrize(("change", "pattern"), [
    (lambda f: f.rename(columns={"date": "Date"}), r"Column 'date', named as the date column.*Did you mean 'Date'"),
    (lambda f: f.drop(columns="close"), r"Column 'close', named as the target"),
    (lambda f: f.assign(date=f["date"].where(f.index != 7, "2015-13-40")), r"'2015-13-40' at row 8 \(line 9"),
    (lambda f: f.assign(date=f["date"].where(f.index != 7, "yesterday")), r"'yesterday' at row 8"),
    (lambda f: f.assign(date=f["date"].where(f.index != 7, "1500-01-12")),
     r"'1500-01-12' at row 8 \(line 9 of the file\), outside the dates finlite reads \(1677-09-22 to 2262-04-11\)"),
    (lambda f: f.assign(date=pd.to_datetime(f["date"]).astype("datetime64[s]").where(
        f.index != 2, np.datetime64("2300-01-05", "s"))), r"'2300-01-05 00:00:00' at row 3, outside the dates"),
    (lambda f: f.assign(date=f["date"].where(f.index != 7, None)), r"missing date at row 8"),
    (lambda f: f.assign(date=["01/02/2015"] * len(f)), r"ambiguous"),
    (lambda f: f.assign(date=f["date"].where(f.index != 3, "01/08/2015")), r"'01/08/2015' at row 4.*YYYY-MM-DD"),
    (lambda f: f.assign(date=f["date"].where(f.index != 3, f["date"][2] + " 15:30")),  # intraday rows
     r"2015-01-07 appears twice.*row 3 and row 4"),
    (lambda f: f.assign(date=f["date"].where(f.index != 9, f["date"][8])), r"2015-01-15 appears twice.*row 9"),
    (lambda f: f.assign(close=f["close"].astype(object).where(f.index != 4, "12,5")),
     r"'close'.*holds '12,5' at row 5 \(line 6 of the file\) \(date 2015-01-09\).*not a number"),
    (lambda f: f.assign(close=f["close"].where(f.index != 4, np.nan)), r"'close'.*missing value at row 5.*2015-01-09"),
    (lambda f: f.assign(close=f["close"].where(f.index != 4, np.inf)), r"'close'.*inf.*finite"),
    # A finite literal a file writes beyond a double's range reads as infinity: both spellings said.
    (lambda f: f.assign(close=f["close"].astype(object).where(f.index != 4, "1e400")),
     r"'close'.*holds inf at row 5 \(line 6 of the file\) \(date 2015-01-09\); values must be finite \(written "
     r"as inf or Infinity, or a number beyond ±1\.8e308, such as 1e309, that reads as infinity\)\.$"),
    (lambda f: f.assign(close=f["close"].where(f.index != 4, 0.0)), r"'close'.*holds 0.0 at row 5.*must be > 0"),
    (lambda f: f.assign(open=f["close"].where(f.index != 6, -1.0)), r"'open'.*holds -1.0 at row 7.*must be > 0"),
    (lambda f: f.assign(volume=f["volume"].where(f.index != 3, -5.0)), r"'volume'.*-5.0.*must be >= 0"),
    # A positive price no float32 holds: its features came out NaN 16 rows later, told as a feature
    # at the wrong date (a review, 2026-12-04 evening).
    (lambda f: f.assign(close=f["close"].where(f.index != 4, 1e-310)),
     r"'close'.*holds 1e-310 at row 5 .*\(date 2015-01-09\), too small to be a price or level \(below 1\.18e-38\)"),
])
def test_bad_files_are_refused_naming_the_row_date_and_value(tmp_path: Path, change: object, pattern: str) -> None:
    frame = change(prices_frame(n=60))  # type: ignore[operator]
    path = tmp_path / "prices.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(DataError, match=pattern):
        read_prices(path if "line" in pattern else frame, MarketSpec(window=5, volume_column="volume"))


def test_volume_zero_is_allowed() -> None:
    frame = prices_frame(n=60).assign(volume=0.0)
    pre = prepare_series(frame, MarketSpec(window=5, volume_column="volume"), walk=WalkForward(folds=1)).preprocessor
    j = pre.feature_names.index("volume_change")
    assert pre.std[j] == 1.0 and any("volume_change" in note for note in pre.notes)  # constant: scale 1


def test_a_volume_of_zero_is_said_with_its_date() -> None:
    """A 0 volume on an index (missing data, not a halted day) moved the volume-change feature 126
    standard deviations beyond training and a forecast with it, without a word (a quant's
    walk-through, 2026-12-06): it is noted, with the first date and what to do."""
    from finlite.data.market import read_prices

    frame = prices_frame(n=60)
    frame.loc[30, "volume"] = 0.0
    notes = read_prices(frame, MarketSpec(window=5, volume_column="volume"), "p.csv").notes
    day = pd.bdate_range("2015-01-05", periods=60)[30].strftime("%Y-%m-%d")
    assert any(n.startswith(f"'volume' is 0 on 1 row(s) (the first on {day}): read as days without trading") for n in
               notes), notes
    assert not any("is 0 on" in n for n in read_prices(prices_frame(n=60), MarketSpec(window=5, volume_column="volume"),
                                                       "p.csv").notes)


def test_a_small_volume_is_said_to_make_the_volume_change_another_feature() -> None:
    """The volume change is the change of log(1 + volume): a volume quoted in billions (a median of
    0.35) made it a third smaller and moved a return model's forecasts, where every other feature is
    free of units (a metamorphic review, 2026-12-07). Reading such a file says so; shares do not."""
    from finlite.data.market import compute_features, feature_names, read_prices

    spec = MarketSpec(window=5, volume_column="volume")
    frame = prices_frame(n=60)
    billions = frame.assign(volume=frame["volume"] * 1e-9)
    notes = read_prices(billions, spec, "p.csv").notes
    assert any(n.startswith("'volume' has a median volume of 5.") and "log(1 + volume)" in n for n in notes), notes
    assert not any("median volume" in n for n in read_prices(frame, spec, "p.csv").notes)
    # The feature itself, against an independent computation of both forms.
    j = feature_names(spec).index("volume_change")
    for data in (frame, billions):
        got = compute_features(read_prices(data, spec, "p.csv"), spec)[:, j]
        v = data["volume"].to_numpy()
        known = np.isfinite(got[1:])  # the rows before the longest feature's window are NaN
        assert known.sum() >= 30
        np.testing.assert_allclose(got[1:][known], np.diff(np.log1p(v))[known], rtol=1e-12, atol=1e-15)


def test_a_price_beyond_what_the_model_can_take_is_refused_and_near_constant_features_get_scale_one() -> None:
    frame = prices_frame(n=120)
    frame.loc[99, "close"], frame.loc[100, "close"] = 1e-30, 1e300  # both valid prices; their ratio overflows
    pre = prepare_series(frame.head(90), MarketSpec(window=5)).preprocessor
    day = pd.bdate_range("2015-01-05", periods=101)[100].strftime("%Y-%m-%d")
    with pytest.raises(DataError, match=rf"Feature 'log_return' of DataFrame at date {day} is inf.*float32"):
        pre.windows(frame)
    with pytest.raises(DataError, match=r"The return label of DataFrame at date .* is inf"):
        prepare_series(frame, MarketSpec(window=5))
    # Volume constant up to rounding: treated as constant (scale 1), not divided by ~1e-17.
    flat = prices_frame(n=120).assign(volume=lambda f: 1e6 * (1 + 1e-16 * (f.index % 2)))
    pre = prepare_series(flat, MarketSpec(window=5, volume_column="volume")).preprocessor
    assert pre.std[pre.feature_names.index("volume_change")] == 1.0


def test_too_few_rows_for_window_folds_and_test_name_the_options() -> None:
    with pytest.raises(DataError, match=r"one forecast needs 51.*--window"):
        read_prices(prices_frame(n=40), MarketSpec(window=30))
    with pytest.raises(DataError, match=r"--folds.*--horizon.*warm-up.*--window") as info:
        prepare_series(prices_frame(n=60), MarketSpec(window=30), walk=WalkForward(folds=5))
    assert info.value.param == "folds"
    with pytest.raises(DataError, match=r"not longer than the horizon \(20\).*--horizon"):
        prepare_series(prices_frame(n=120), MarketSpec(window=5, horizon=20))


@pytest.mark.parametrize(("kwargs", "param"), [
    ({"objective": "level"}, "objective"),
    ({"horizon": 0}, "horizon"),
    ({"horizon": True}, "horizon"),
    ({"window": 2000}, "window"),
    ({"target": ""}, "target"),
    ({"volume_column": "close"}, "volume_column"),  # the later of the two roles named (target, then volume)
    ({"extra_columns": "rate"}, "extra_columns"),
])
def test_bad_specs_are_refused(kwargs: dict[str, object], param: str) -> None:
    with pytest.raises(ConfigError) as info:
        MarketSpec(**kwargs)  # type: ignore[arg-type]
    assert info.value.param == param


def test_spec_round_trip_and_task() -> None:
    spec = MarketSpec(date_column="Day", target="px", id_column="sym", objective="volatility", horizon=5, window=20,
                      volume_column="vol", extra_columns=("a", "b"))
    assert MarketSpec.from_dict(json.loads(json.dumps(spec.to_dict()))) == spec
    assert spec.task == "forecast" and MarketSpec(objective="direction").task == "direction"
    assert spec.warmup == FEATURE_LAG + 19
    with pytest.raises(ConfigError, match=r"'horizn'.*Did you mean 'horizon'"):
        MarketSpec.from_dict({"horizn": 2}, "preprocessor.json")


def test_preprocessor_json_round_trip_and_tampering(tmp_path: Path) -> None:
    frame = prices_frame()
    pre = prepare_series(frame, SPEC).preprocessor
    path = tmp_path / "preprocessor.json"
    pre.save(path)
    loaded = MarketPreprocessor.from_dict(json.loads(path.read_text()))
    np.testing.assert_array_equal(loaded.windows(frame).x, pre.windows(frame).x)
    d = pre.to_dict()
    assert d["kind"] == "market" and d["format"] == 1 and d["features"] == feature_names(SPEC)
    schema = pre.manifest_schema()
    assert schema["features"] == pre.feature_names and schema["window"] == 10 and schema["task"] == "forecast"
    for key, value, pattern in [("std", [0.0] * pre.n_features, "not > 0"),
                                ("mean", [float("nan")] * pre.n_features, "finite numbers"),
                                ("features", list(reversed(d["features"])), "lists features"),
                                ("kind", "tabular", "not a market preprocessor"),
                                ("up_share", 1.5, "up_share")]:
        with pytest.raises(ConfigError, match=pattern):
            MarketPreprocessor.from_dict({**d, key: value}, "preprocessor.json")


def test_the_training_range_is_recorded_and_a_feature_far_beyond_it_refused() -> None:
    """Each feature's smallest and largest value on the training rows (low, high) is kept; a window
    with a feature beyond 10 widths of it is refused naming the feature, date and value: a volume
    of 1e300 changed a direction model's decision with no error (a review, 2026-12-06)."""
    frame = prices_frame()
    prepared = prepare_series(frame, SPEC)
    pre = prepared.preprocessor
    # The range covers every row the training windows read, and nothing after them.
    train = prepared.x_train.astype(np.float64).reshape(-1, pre.n_features) * pre.std + pre.mean
    assert pre.low is not None and pre.high is not None
    np.testing.assert_allclose(pre.low, train.min(axis=0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(pre.high, train.max(axis=0), rtol=1e-5, atol=1e-6)
    every = compute_features(read_prices(frame, SPEC), SPEC)[FEATURE_LAG:]
    assert (every.max(axis=0) >= pre.high).all() and (every.max(axis=0) > pre.high).any()
    d = pre.to_dict()
    assert d["low"] == [float(v) for v in pre.low] and d["high"] == [float(v) for v in pre.high]
    # The bound is the tabular rule's, feature by feature (an independent computation of it).
    j = pre.feature_names.index("log_return")
    width = max(pre.high[j] - pre.low[j], abs(pre.low[j]), abs(pre.high[j]), pre.std[j])
    assert pre.accepted_low[j] == pre.low[j] - 10 * width and pre.accepted_high[j] == pre.high[j] + 10 * width
    wild = frame.copy()
    wild.loc[wild.index[-1], "volume"] = 1e300
    day = wild["date"].iloc[-1]
    with pytest.raises(DataError, match=rf"Feature 'volume_change' of DataFrame at date {day} is 6\d\d\.\d+, far outside "
                                        r"what the model was trained on \(values -?\d.* to \d.* in its training windows; "
                                        r"finlite scores .* 10 widths either side"):
        pre.windows(wild)
    # The last window alone (the Predictor's batch-1 path) is refused too, by the same check.
    arrays = read_prices(wild, SPEC).frame
    with pytest.raises(DataError, match=rf"Feature 'volume_change' of the price history at date {day}"):
        pre.last_window(arrays["date"].to_numpy().astype("datetime64[D]"), arrays["close"].to_numpy(np.float64),
                        arrays["volume"].to_numpy(np.float64))
    # A model saved before the range was kept (no low / high) checks finite values only.
    older = MarketPreprocessor.from_dict({k: v for k, v in d.items() if k not in ("low", "high")})
    assert older.low is None and len(older.windows(wild)) == len(pre.windows(frame))
    plain = {k: v for k, v in d.items() if k not in ("low", "high")}
    for broken, pattern in [({**plain, "low": d["low"]}, "field 'high' must list"),
                            ({**d, "low": d["high"], "high": d["low"]}, "'low' holds a value above its 'high'"),
                            ({**d, "low": [float("nan")] * pre.n_features}, "field 'low' must list")]:
        with pytest.raises(ConfigError, match=pattern):
            MarketPreprocessor.from_dict(broken)
    with pytest.raises(ConfigError, match="both the low and the high of the training range, or neither"):
        MarketPreprocessor(pre.spec, pre.mean, pre.std, low=pre.low)
    with pytest.raises(ConfigError, match=r"fit\(seen=\.\.\.\) needs rows of \d+ features"):
        MarketPreprocessor.fit(np.zeros((3, pre.n_features)), pre.spec, seen=np.zeros((3, 2)))


def test_the_range_covers_every_row_the_training_windows_read() -> None:
    """A doubling on row 25, read by the first training windows (which start before the first
    training row, 30 here) but not a training row itself: train refused its own input (a review,
    2026-12-06). The range covers every row the training windows read, and nothing after them:
    taken over the whole file, a bad value in the test period widened the deployed bound to
    accept it (a review the same day)."""
    frame = prices_frame(n=400)
    assert SPEC.warmup == 30 and FEATURE_LAG < 25
    frame.loc[25:, "close"] *= 2.0
    prepared = prepare_series(frame, SPEC)  # no refusal: the jump is training data
    pre = prepared.preprocessor
    j = pre.feature_names.index("log_return")
    assert pre.high[j] == pytest.approx(np.log(2.0), abs=0.05)
    # The scaler itself is still fitted on the training rows alone.
    train_features = prepared.x_train[:, -1, :].astype(np.float64) * pre.std + pre.mean
    np.testing.assert_allclose(train_features.mean(axis=0), pre.mean, atol=1e-6)
    # A tenfold day in the test period, or on the last row (which the last label reads), stops
    # train, saying that the date is after the training part and what to do.
    for row in (330, 399):
        moved = prices_frame(n=400)  # calm throughout but for this day
        moved.loc[row:, "close"] *= 10.0
        with pytest.raises(DataError, match=rf"at date {moved['date'].iloc[row]} is .* That date is after the "
                                            r"training part of DataFrame, which ends on \d{4}-\d\d-\d\d: the model was "
                                            r"fitted on nothing like it\. If the move is real, give the file a "
                                            r"training part that holds such moves \(an earlier start\); if it is not, "
                                            r"fix the row\.") as err:
            prepare_series(moved, SPEC)
        assert "leave that asset out" not in str(err.value)  # one asset: nothing to leave out
    # A label reads the close alone: a far volume on the last row (read by the last label, by no
    # window) does not stop train (a review, 2026-12-06).
    last = prices_frame(n=400)
    last.loc[399, "volume"] = 1e300
    assert len(prepare_series(last, SPEC).x_test)
    # An asset delisted inside the training period, its last close -90 %: only its training labels
    # read that day, so train goes on (it stopped, saying the date was after the training part,
    # five months before its end: a review, 2026-12-06).
    panel_spec = MarketSpec(volume_column="volume", window=10, horizon=3, id_column="ticker")
    short = prices_frame(n=150, seed=1).assign(ticker="BBB")
    short.loc[149, "close"] *= 0.1
    panel = pd.concat([prices_frame(n=400).assign(ticker="AAA"), short])
    prepared = prepare_series(panel, panel_spec)
    # Rows only the training labels read set nothing: the range is what the training windows read.
    assert prepared.preprocessor.low[0] > np.log(0.1) / 2  # type: ignore[index]
    # So a tick a thousand times off, read by the last training labels alone (h = 60 here, longer
    # than the window and look-back), does not widen the bound as it did (a review, 2026-12-06):
    # the model accepts no more than before, and the tick is noted when the prices are read.
    far_spec = MarketSpec(volume_column="volume", window=10, horizon=60)
    calm = prices_frame(n=700)
    clean = prepare_series(calm, far_spec)
    end = clean.windows_train.dates.max()
    after = int(np.flatnonzero(pd.to_datetime(calm["date"]).to_numpy().astype("datetime64[D]") > end)[4])
    calm.loc[after, "close"] *= 1000.0  # one day only
    spiked = prepare_series(calm, far_spec)
    np.testing.assert_array_equal(spiked.preprocessor.high, clean.preprocessor.high)  # type: ignore[arg-type]
    np.testing.assert_array_equal(spiked.preprocessor.low, clean.preprocessor.low)  # type: ignore[arg-type]
    assert any("moves more than 10-fold" in note for note in spiked.table.notes)
    # A newer file judged as a hold-out: its older rows are history, checked only where a test
    # window reads them (a jump a year back stopped evaluate: a review, 2026-12-06).
    from finlite.data.market import prepare_holdout

    pre = prepare_series(prices_frame(n=400), SPEC).preprocessor  # trained on calm prices alone
    longer = prices_frame(n=520)
    after = longer["date"].iloc[399]
    early, late = longer.copy(), longer.copy()
    early.loc[100:, "close"] *= 30.0  # before the hold-out's test dates
    late.loc[500:, "close"] *= 30.0  # inside them
    assert len(prepare_holdout(early, pre, WalkForward(), after=after).x_test)
    with pytest.raises(DataError, match=r"Feature 'log_return' of DataFrame at date .* far outside"):
        prepare_holdout(late, pre, WalkForward(), after=after)


def test_a_panel_refused_for_far_values_names_every_asset_that_holds_one() -> None:
    """One new volatile asset refused a whole panel naming the first row alone; the quant could not
    tell which assets to leave out to score the rest (a review, 2026-12-06)."""
    spec = MarketSpec(volume_column="volume", window=10, id_column="ticker")
    panel = pd.concat([prices_frame(seed=k).assign(ticker=t) for k, t in enumerate(("AAA", "BBB", "CCC"))])
    pre = prepare_series(panel, spec).preprocessor
    wild = panel.reset_index(drop=True)
    for ticker, row in (("CCC", 250), ("AAA", 280)):
        at = wild.index[wild["ticker"] == ticker][row]
        wild.loc[at:wild.index[wild["ticker"] == ticker][-1], "close"] *= 50.0
    with pytest.raises(DataError, match=r"asset 'AAA' is .* In all \d+ row\(s\) of 2 asset\(s\) hold such a value "
                                        r"\('AAA' from \d{4}-\d\d-\d\d, 'CCC' from \d{4}-\d\d-\d\d\); nothing was forecast: "
                                        r"leave those assets' rows out to forecast the others\."):
        pre.windows(wild)
    assert len(pre.windows(wild[wild["ticker"] == "BBB"]))


@pytest.mark.parametrize("name", ["decision", "forecast", "last_price", "probability", "log_change", "date", "notes",
                                  "model_sha256", "request_id", "cutoff"])
def test_an_id_column_named_like_an_output_column_is_refused(name: str) -> None:
    """A panel whose id column was named "decision" had its tickers replaced by the decisions in
    every output, silently; named "notes" or "model_sha256", in serve's answer and audit line (two
    reviews, 2026-12-06)."""
    with pytest.raises(ConfigError, match=rf"The asset id column '{name}' has the name of a column or key every "
                                          r"forecast writes, or serve's audit line holds \(.*\); .* Rename the column \(e\.g\. to 'ticker'\) and train again"):
        MarketSpec(date_column="day" if name == "date" else "date", id_column=name)


def test_prepared_series_summary_and_price_levels() -> None:
    frame = prices_frame()
    prepared = prepare_series(frame, MarketSpec(objective="price", window=10))
    summary = prepared.summary()
    assert summary["split"]["method"] == "walk-forward" and summary["rows"] == len(frame)
    assert summary["split"]["rows"] == {"train": len(prepared.y_train), "validation": len(prepared.y_val),
                                        "test": len(prepared.y_test)}
    train_end, val_start = summary["dates"]["train"][1], summary["dates"]["validation"][0]
    assert train_end < val_start < summary["dates"]["test"][0]
    assert prepared.source == "DataFrame" and len(summary["content_sha256"]) == 64
    w = prepared.windows_test
    level = to_price_level(w.y, w.last_price)
    p = frame["close"].to_numpy()
    origin = np.searchsorted(pd.to_datetime(frame["date"]).to_numpy().astype("datetime64[D]"), w.dates)
    np.testing.assert_allclose(level, p[origin + 1], rtol=1e-12)  # horizon 1: the next close
    with pytest.raises(DataError, match="one last price per forecast"):
        to_price_level([0.1, 0.2], [100.0])
    with pytest.raises(DataError, match="non-finite"):
        to_price_level([np.nan], [100.0])


def test_a_preprocessor_and_a_different_spec_are_refused() -> None:
    pre = prepare_series(prices_frame(), SPEC).preprocessor
    with pytest.raises(ConfigError, match="differs from the preprocessor") as info:
        prepare_series(prices_frame(), MarketSpec(window=11), preprocessor=pre)
    assert info.value.param == "spec"
    same = prepare_series(prices_frame(seed=9), preprocessor=pre)
    assert same.preprocessor is pre


def test_an_asset_on_a_sparser_calendar_keeps_its_labels_out_of_later_parts() -> None:
    """Asset A trades every business day, B every other one: with h = 1, B's label reads the price
    two of A's dates ahead, past a purge counted on the dates of both. The split drops such rows."""
    a = prices_frame(400, seed=1).assign(asset="A")
    b = prices_frame(400, seed=2).iloc[::2].assign(asset="B")
    frame = pd.concat([a, b], ignore_index=True)
    spec = MarketSpec(date_column="date", target="close", id_column="asset", window=10, horizon=1)
    series = prepare_series(frame, spec, walk=WalkForward(folds=2))
    parts = {"train": series.windows_train, "validation": series.windows_val, "test": series.windows_test}
    firsts = {name: w.dates.min() for name, w in parts.items()}
    for name, later in (("train", "validation"), ("validation", "test")):
        w = parts[name]
        for asset in ("A", "B"):
            rows = pd.to_datetime(frame.loc[frame.asset == asset, "date"]).to_numpy().astype("datetime64[D]")
            mine = w.dates[w.ids == asset]
            # The date of the price each label reads: the asset's next trading date (h = 1).
            ends = rows[np.searchsorted(rows, mine) + 1]
            assert (ends < firsts[later]).all(), (name, asset)
    # B's rows are still there, only those whose label would leak are left out.
    assert (series.windows_train.ids == "B").sum() > 50
    # Each training row's label end (what purges a boosted teacher's out-of-fold blocks) is its
    # own asset's next trading date.
    train = series.windows_train
    assert series.train_label_end is not None and len(series.train_label_end) == len(train)
    for asset in ("A", "B"):
        rows = pd.to_datetime(frame.loc[frame.asset == asset, "date"]).to_numpy().astype("datetime64[D]")
        mine = train.ids == asset
        np.testing.assert_array_equal(series.train_label_end[mine], rows[np.searchsorted(rows, train.dates[mine]) + 1])


@pytest.mark.parametrize(("value", "message"), [(True, "not true/false"), (10**400, "integer of 401 digits")])
def test_a_history_from_json_refuses_booleans_and_huge_integers(value: object, message: str) -> None:
    frame = prices_frame(60)
    history = {"date": frame["date"].tolist(), "close": [*frame["close"].tolist()[:-1], value]}
    with pytest.raises(DataError, match=rf"Column 'close' of .* holds .*{message}"):
        read_prices(pd.DataFrame(history, dtype=object), MarketSpec(window=10))


def test_rows_of_a_file_are_named_by_line_and_rows_of_a_history_by_row(tmp_path: Path) -> None:
    frame = prices_frame(60)
    frame.loc[3, "close"] = -1.0
    path = tmp_path / "p.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(DataError, match=r"at row 4 \(line 5 of the file\)"):
        read_prices(path, MarketSpec(window=10))
    with pytest.raises(DataError, match=r"at row 4 \(date") as info:
        read_prices(frame, MarketSpec(window=10), "the history")
    assert "of the file" not in str(info.value)
    # Blank lines (which the reader skips) and a quoted line break are counted in the line named.
    memo = frame.assign(memo="x")
    memo.loc[1, "memo"] = "two\nlines"  # a column the spec does not read, quoted over two lines
    memo.to_csv(path, index=False)
    text = path.read_text().split("\n", 1)
    path.write_text(text[0] + "\n\n\n" + text[1])  # two blank lines after the header
    with pytest.raises(DataError, match=r"at row 4 \(line 8 of the file\)"):
        read_prices(path, MarketSpec(window=10))
    # A Parquet file has rows, not lines.
    frame.to_parquet(tmp_path / "p.parquet")
    with pytest.raises(DataError, match=r"at row 4 \(date") as info:
        read_prices(tmp_path / "p.parquet", MarketSpec(window=10))
    assert "of the file" not in str(info.value)


def _reference_days(dates: list[str]) -> np.ndarray | None:
    """What served_days must give, by another route: numpy's own date parser on text that is
    exactly ten ASCII characters of the form YYYY-MM-DD, then the range and order checks."""
    form = all(len(d) == 10 and d.isascii() and d[4] == d[7] == "-" and (d[:4] + d[5:7] + d[8:]).isdigit()
               for d in dates)
    if not form:
        return None
    try:
        days = np.array(dates, dtype="datetime64[D]")
    except ValueError:  # not a calendar date (2021-02-30, month 13)
        return None
    if len(days) and ((days < FIRST_DATE).any() or (days > LAST_DATE).any() or (days[1:] <= days[:-1]).any()):
        return None
    return days


_DAY = st.integers(-200, 215_300).map(lambda k: str(FIRST_DATE + k))  # real dates, a few outside the range
_NEAR = st.builds(lambda y, m, d: f"{y:04d}-{m:02d}-{d:02d}", st.integers(0, 9999), st.integers(0, 13),
                  st.integers(0, 32))  # the right form, often not a date
_ODD = st.text(alphabet="0123456789-/ \n\u0661x", min_size=8, max_size=12)  # wrong lengths, breaks, Arabic digits


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(_DAY, _NEAR, _ODD), max_size=6), st.booleans())
def test_served_days_reads_exactly_the_dates_numpy_reads_in_range_and_increasing(dates: list[str],
                                                                                 sort: bool) -> None:
    if sort:  # mostly valid, increasing histories, so the accepting branch is exercised too
        dates = sorted(set(dates))
    expected = _reference_days(dates)
    got = served_days(dates)
    if expected is None or not dates:
        assert got is None or (not dates and len(got) == 0)
    else:
        assert got is not None and got.dtype == np.dtype("datetime64[D]")
        np.testing.assert_array_equal(got, expected)


def test_served_days_refuses_what_is_not_a_list_of_text() -> None:
    assert served_days(("2020-01-02",)) is None
    assert served_days(["2020-01-02", 20200103]) is None
    assert served_days(["2020-01-02", b"2020-01-03"]) is None
    np.testing.assert_array_equal(served_days(["2020-02-29", "2020-03-01"]),
                                  np.array(["2020-02-29", "2020-03-01"], dtype="datetime64[D]"))
    assert served_days(["2019-02-29"]) is None and served_days(["2100-02-29"]) is None  # not leap years


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([0.0, -0.0])),
                         min_size=3, max_size=3), min_size=1, max_size=3), st.integers(-1, 2))
def test_served_values_accepts_finite_prices_above_zero_and_volumes_not_below(rows: list[list[float]],
                                                                            volume_row: int) -> None:
    block = np.array(rows, dtype=np.float64)
    tiny = float(np.finfo(np.float32).tiny)  # a positive value below it is no price or volume either
    expected = all(np.isfinite(row).all() and ((row >= 0).all() if i == volume_row else (row > 0).all())
                   and not ((row > 0) & (row < tiny)).any() for i, row in enumerate(block))
    assert served_values(block, volume_row) is expected


@pytest.mark.parametrize(("kwargs", "message", "param"), [
    ({"target": "date"}, r"'date' is named as the date column and as the target \(target='date'\)", "target"),
    ({"id_column": "close"}, r"'close' is named as the target and as the asset id column", "id_column"),
    ({"extra_columns": ("volume",), "volume_column": "volume"},
     r"'volume' is named as the volume column and as an extra column", "extra_columns"),
])
def test_a_column_named_for_two_roles_names_both_and_the_later_option(kwargs: dict, message: str, param: str) -> None:
    """It always blamed --extra-column, even when none was given (a review, 2026-12-03)."""
    with pytest.raises(ConfigError, match=message) as info:
        MarketSpec(**kwargs)
    assert info.value.param == param



def _dated(dates: pd.DatetimeIndex, ids: list[str] | None = None) -> pd.DataFrame:
    n = len(dates)
    frame = pd.DataFrame({"date": dates.strftime("%Y-%m-%d"), "close": 100.0 + np.arange(n) % 7})
    if ids is not None:
        frame["id"] = ids
    return frame


@pytest.mark.parametrize(("dates", "per_year", "unit"), [
    # An index on business days less its holidays is 252, and a year-long hole in the feed does not move it.
    (pd.bdate_range("2000-01-03", "2019-12-31").delete(np.arange(0, 5200, 520)), 252.0, "day"),
    (pd.bdate_range("2000-01-03", "2003-12-31").delete(np.arange(300, 560)), 252.0, "day"),
    (pd.date_range("2019-01-01", periods=900, freq="D"), 365.0, "day"),  # crypto: every calendar day
    (pd.date_range("2010-01-01", periods=300, freq="W-FRI"), 52.0, "week"),
    (pd.date_range("2000-01-31", periods=240, freq="ME"), 12.0, "month"),
    (pd.date_range("1990-03-31", periods=120, freq="QE"), 4.0, "quarter"),
    (pd.date_range("1950-12-31", periods=60, freq="YE"), 1.0, "year"),
    (pd.date_range("2000-01-01", periods=400, freq="3D"), 121.8, "period"),  # off every calendar: measured
])
def test_the_series_calendar_sets_the_periods_a_year(dates: pd.DatetimeIndex, per_year: float, unit: str) -> None:
    """Every market was annualised with 252 periods a year: a crypto series' Sharpe ratio was off
    by 17 %, a monthly one's 4.6-fold (a walk-through as a quant, 2026-12-05)."""
    spec = MarketSpec(target="close")
    calendars = periods_per_year(read_prices(_dated(dates), spec), spec)
    assert list(calendars) == [None]
    found, calendar = calendars[None]
    assert found == per_year and period_unit(found) == unit
    if unit == "period":  # measured: 365.25 over the dates' median spacing
        assert found == round(365.25 / 3, 1) and calendar == "121.8 dates a year (measured: dates 3 days apart)"


def test_a_week_of_six_or_seven_days_is_annualised_and_checked_by_its_own_days() -> None:
    """An FX pair quoted Sunday to Friday was annualised with 252 days (its annual return understated
    by a fifth), and a coin's file was told of its weekend rows on every run and never of a missing
    Saturday (a walk-through as an FX quant, 2026-12-07)."""
    from finlite.data.market import calendar_note, trading_week, week_name

    every = pd.date_range("2020-01-05", periods=1200, freq="D")
    fx = every[every.dayofweek != 5]  # Sunday to Friday
    spec = MarketSpec(target="close")
    assert periods_per_year(read_prices(_dated(fx), spec), spec) == {None: (313.1, "6 trading days a week, "
                                                                           "Sunday-Friday")}
    assert period_unit(313.1) == "day"
    sun_thu = every[~every.dayofweek.isin([4, 5])]
    assert periods_per_year(read_prices(_dated(sun_thu), spec), spec)[None] == (
        252.0, "trading days, a Sunday-Thursday week")
    days = np.asarray(every.values).astype("datetime64[D]")
    assert trading_week(days) == "1111111" and calendar_note(days, None) is None  # a complete coin: nothing to say
    # A coin's missing Saturday is a hole in the feed, named in the 7-day calendar.
    holed = np.delete(days, [5, 6, 100])
    assert str(days[5].astype("datetime64[D]")) == "2020-01-10"
    note = calendar_note(holed, "btc")
    assert note is not None and note.startswith("asset 'btc': 3 trading day(s) missing in 2 gap(s) of the 7-day "
                                                "calendar") and "weekend" not in note
    # A Saturday row of the Sunday-Friday pair is named as off its week; a stock's weekend as before.
    fx_days = np.asarray(fx.values).astype("datetime64[D]")
    odd = np.sort(np.r_[fx_days, np.datetime64("2020-01-11")])
    assert "1 row(s) fall on a Saturday, off the Sunday-Friday week, e.g. 2020-01-11" in str(calendar_note(odd, None))
    stock = np.asarray(pd.bdate_range("2020-01-06", periods=300).values).astype("datetime64[D]")
    assert "fall on a weekend, e.g. 2020-01-11" in str(calendar_note(np.sort(np.r_[stock, np.datetime64("2020-01-11")]),
                                                                      None))
    assert [week_name(w) for w in ("1111100", "1111101", "1111111", "1011100", "0000011")] == [
        "Monday-Friday", "Sunday-Friday", "7-day", "Monday, Wednesday, Thursday, Friday", "Saturday-Sunday"]


def test_the_week_is_read_from_the_recent_dates_and_the_odd_row_is_no_trading_day() -> None:
    """A market that moved its weekend (Sunday-Thursday, then Monday-Friday) was a 6-day week of
    313.1 over its whole history; two Saturday rows among 36 made one; 4 dates made a 4-day week
    (a review, 2026-12-07)."""
    from finlite.data.market import calendar_note, trading_week

    old = pd.date_range("2019-01-06", "2021-12-30", freq="D")
    old = old[old.dayofweek.isin([6, 0, 1, 2, 3])]
    new = pd.bdate_range("2022-01-03", "2024-12-31")
    moved = old.append(new)
    spec = MarketSpec(target="close")
    assert periods_per_year(read_prices(_dated(moved), spec), spec)[None] == (252.0, "trading days")
    history = np.asarray(pd.bdate_range("2024-01-01", periods=34).values).astype("datetime64[D]")
    odd = np.sort(np.r_[history, np.datetime64("2024-01-06"), np.datetime64("2024-01-13")])
    assert trading_week(odd) == "1111100"
    assert "2 row(s) fall on a weekend, e.g. 2024-01-06" in str(calendar_note(odd, None))
    few = np.asarray(pd.bdate_range("2024-01-02", periods=4).values).astype("datetime64[D]")  # Tuesday to Friday
    assert trading_week(few) == "1111100"  # too few dates to tell: Monday to Friday, 252 a year


def test_each_asset_of_a_panel_has_its_own_calendar_and_one_date_assumes_trading_days() -> None:
    days = pd.date_range("2019-01-01", periods=400, freq="D")
    weekdays = pd.bdate_range("2019-01-01", periods=400)
    frame = pd.concat([_dated(days, ["btc"] * 400), _dated(weekdays, ["spx"] * 400)])
    spec = MarketSpec(target="close", id_column="id")
    assert periods_per_year(read_prices(frame, spec), spec) == {
        "btc": (365.0, "calendar days, a 7-day market"), "spx": (252.0, "trading days")}
    one = PriceTable(frame=pd.DataFrame({"date": pd.to_datetime(["2020-01-02"]), "close": [1.0]}), source="one",
                     file_sha256=None, content_sha256="0" * 64)
    assert periods_per_year(one, MarketSpec(target="close")) == {None: (252.0, "trading days (too few dates to measure)")}
    # Daily dates too few to tell the week (a 7-day series of 10): Monday to Friday assumed, said so.
    week = PriceTable(frame=pd.DataFrame({"date": pd.date_range("2024-01-01", periods=10, freq="D"),
                                          "close": np.arange(10.0) + 50}), source="week", file_sha256=None,
                      content_sha256="0" * 64)
    assert periods_per_year(week, MarketSpec(target="close")) == {
        None: (252.0, "trading days (Monday to Friday assumed: fewer than 20 dates tell no week)")}


def test_an_unadjusted_split_or_a_bad_tick_is_named_and_a_crash_day_is_not() -> None:
    """A 2:1 split the file did not adjust for went through train, score and evaluate without a
    word (only tenfold moves were named): a market-data walk-through, 2026-12-05."""
    frame = prices_frame(n=300)
    days = frame["date"].to_numpy()
    split = frame.copy()
    split.loc[250:, "close"] /= 2  # 2:1, unadjusted
    note = read_prices(split, MarketSpec()).notes
    assert len(note) == 1 and note[0].startswith("column 'close' moves by 1.4-fold or more in one row 1 time(s), "
                                                 "over 10 times its typical move (")
    before, after = split["close"].iloc[249], split["close"].iloc[250]
    assert (f"from {before:.8g} on {days[249]} to {after:.8g} on {days[250]} ({after / before - 1:+.1%}, the ratio of "
            "a 2:1 split)") in note[0]
    three_two = frame.copy()
    three_two.loc[200:, "close"] *= 2 / 3
    assert "the ratio of a 3:2 split" in read_prices(three_two, MarketSpec()).notes[0]
    tick = frame.copy()
    tick.loc[100, "close"] *= 1.6  # one bad tick: up and back down
    assert "moves by 1.4-fold or more in one row 2 time(s)" in read_prices(tick, MarketSpec()).notes[0]
    crash = frame.copy()
    crash.loc[150:, "close"] *= 0.78  # a -22 % day (1987): real, and below the 1.4-fold rule
    assert read_prices(crash, MarketSpec()).notes == []
    # The target only, per asset; the note reaches a served history too.
    panel = pd.concat([split.assign(id="X"), frame.assign(id="Y")])
    notes = read_prices(panel, MarketSpec(id_column="id")).notes
    assert len(notes) == 1 and notes[0].startswith("asset 'X': column 'close' moves by 1.4-fold")
    assert not read_prices(frame.assign(close=frame["close"], volume=frame["volume"].where(frame.index != 5, 1e9)),
                           MarketSpec(volume_column="volume")).notes


def test_unchanged_prices_are_said_to_count_as_down_for_a_direction_objective() -> None:
    frame = prices_frame(n=200)
    frame["close"] = (frame["close"] * 4).round() / 4  # a 0.25 tick on a 50 price: many flat days
    flat = float(np.mean(frame["close"].to_numpy()[1:] == frame["close"].to_numpy()[:-1]))
    assert flat > 0.05
    notes = read_prices(frame, MarketSpec(objective="direction")).notes
    assert notes == [f"{flat:.1%} of column 'close''s moves over 1 row(s) are exactly zero (an unchanged price: a "
                     "halt, or a coarse tick); the direction objective counts a move as up only above zero, so each "
                     "of them is a 'down', and the naive forecast's directional accuracy includes them."]
    assert read_prices(frame, MarketSpec(objective="return")).notes == []


def test_a_run_of_unchanged_prices_is_called_out() -> None:
    """26 identical closes (a stale feed, a halt) went through train and score without a word (a
    quant's walk-through, 2026-12-05)."""
    frame = prices_frame(n=200)
    frame.loc[100:125, "close"] = frame.loc[99, "close"]
    dates = frame["date"].astype(str).to_numpy()
    notes = read_prices(frame, MarketSpec()).notes
    assert notes == [f"column 'close' holds the same value on 5 or more consecutive rows 1 time(s): 27 rows of "
                     f"{frame.loc[99, 'close']:.8g} from {dates[99]} to {dates[125]}. Check for a stale feed repeating "
                     "its last price, a trading halt or a holiday filled forward; kept as they are, their zero returns "
                     "read as a calm market."]
    coarse = prices_frame(n=400)
    coarse["close"] = (coarse["close"] * 2).round() / 2  # a 0.5 tick on a 50 price: unchanged days are common
    said = [n for n in read_prices(coarse, MarketSpec()).notes if "same value" in n]
    assert said and "as an illiquid asset or a coarse tick gives" in said[0] and "stale feed repeating" not in said[0]
    # Four equal rows (a quiet four days) are not called out; five are.
    fresh = prices_frame(n=200)
    for equal, called in ((4, False), (5, True)):
        quiet = fresh.copy()
        quiet.loc[100:100 + equal - 1, "close"] = fresh.loc[99, "close"] * 1.001
        assert any("same value" in n for n in read_prices(quiet, MarketSpec()).notes) is called, equal


def test_a_sunday_to_thursday_market_is_not_a_seven_day_one_and_a_daily_feed_with_holes_is_told_of_them() -> None:
    """A market trading Sunday to Thursday (or Monday-Friday closes stamped a day early) has
    Sundays but no Saturdays; and a daily feed that lost most of its days spaces them 2-3 apart,
    yet must be told of the missing days (a review, 2026-12-05)."""
    days = pd.date_range("2019-01-01", periods=700, freq="D")
    sun_thu = days[days.dayofweek.isin([6, 0, 1, 2, 3])]
    spec = MarketSpec(target="close")
    assert periods_per_year(read_prices(_dated(sun_thu), spec), spec) == {
        None: (252.0, "trading days, a Sunday-Thursday week")}
    # Its Sundays are trading days of its week, not weekend rows.
    assert not [n for n in read_prices(_dated(sun_thu), spec).notes if "weekend" in n]
    business = pd.bdate_range("2015-01-05", periods=1500)
    holes = business[np.sort(np.random.default_rng(0).choice(1500, 600, replace=False))]  # 60 % of the days lost
    table = read_prices(_dated(holes), spec)
    assert any("business day(s) missing" in n for n in table.notes)
    halted = prices_frame(n=120)
    halted.loc[:100, "close"] = 50.0  # a long halt: most rows do not move
    halted.loc[110:, "close"] = 25.0
    note = next(n for n in read_prices(halted, MarketSpec()).notes if "1.4-fold" in n)
    assert "its typical move (most of its rows do not move)" in note


def test_bars_within_a_day_are_refused_with_the_advice_to_aggregate() -> None:
    hours = pd.date_range("2024-01-02 09:00", periods=60, freq="h")
    frame = pd.DataFrame({"date": hours.strftime("%Y-%m-%d %H:%M"), "close": 100 + np.arange(60.0)})
    with pytest.raises(DataError, match=r"Date 2024-01-02 appears twice .* They are stamped '2024-01-02 09:00' and "
                                        r"'2024-01-02 10:00': bars within a day\. finlite forecasts one "
                                        r"price per date \(daily or coarser\); aggregate the bars"):
        read_prices(frame, MarketSpec())
    twice = prices_frame(n=60)
    twice.loc[5, "date"] = twice.loc[4, "date"]  # the same stamp twice: no talk of bars
    with pytest.raises(DataError, match=r"appears twice .*keep one row per date\.$"):
        read_prices(twice, MarketSpec())
    # One day written two ways (an offset, a short form) is no bar either; a DataFrame of Timestamps is.
    for other in ("2015-01-09T00:00:00Z", "2015-01-09T00:00+05:00"):
        written = prices_frame(n=60)
        written.loc[5, "date"] = other
        written.loc[4, "date"] = "2015-01-09"
        with pytest.raises(DataError, match=r"appears twice .*keep one row per date\.$"):
            read_prices(written, MarketSpec())
    stamped = pd.DataFrame({"date": pd.date_range("2024-01-02 09:30", periods=40, freq="h"), "close": 1.0 + np.arange(40)})
    with pytest.raises(DataError, match=r"They are stamped '2024-01-02 09:30:00' and '2024-01-02 10:30:00': bars"):
        read_prices(stamped, MarketSpec())


def test_a_weekly_series_is_not_told_of_missing_business_days_and_a_short_listing_can_be_left_out() -> None:
    weekly = _dated(pd.date_range("2010-01-01", periods=120, freq="W-FRI"))
    assert read_prices(weekly, MarketSpec(target="close")).notes == []
    gappy = prices_frame(n=100).drop(index=range(40, 45))
    assert any("business day(s) missing" in n for n in read_prices(gappy, MarketSpec()).notes)
    panel = pd.concat([prices_frame(n=100).assign(id="OLD"), prices_frame(n=12).assign(id="NEWIPO")])
    with pytest.raises(DataError, match=r"Asset 'NEWIPO' .* has 12 row\(s\).*give at least \d+ rows for every asset, "
                                        r"or train without asset 'NEWIPO' \(a listing too new to learn from\)\."):
        read_prices(panel, MarketSpec(id_column="id"))


def test_asset_ids_that_differ_only_by_leading_zeros_are_said() -> None:
    """'00700' became '700' part-way through a file (a spreadsheet drops leading zeros): two
    assets, each with part of one history, without a word (a market-data walk-through, 2026-12-05)."""
    first, later = prices_frame(n=80), prices_frame(n=80, start="2015-04-27")
    frame = pd.concat([first.assign(id="00700"), later.assign(id="700"), prices_frame(n=80).assign(id="AAPL")])
    notes = read_prices(frame, MarketSpec(id_column="id")).notes
    assert notes == ["asset ids in column 'id' that differ only in how they are written (leading zeros, a number's "
                     "form or letter case): '00700' and '700'. They are read as different assets, each with its own "
                     "history; if they are one (a spreadsheet drops leading zeros or writes 1 as 1.0), write its id "
                     "one way."]
    kept = pd.concat([first.assign(id="00700"), later.assign(id="00005")])
    assert read_prices(kept, MarketSpec(id_column="id")).notes == []
    # "1" and "1.0" (a column read as floats), "AAA" and "aaa": the same (a quant's walk-through, 2026-12-05).
    frame = pd.concat([first.assign(id="1"), later.assign(id="1.0"), first.assign(id="AAA"), later.assign(id="aaa"),
                       first.assign(id="nan"), later.assign(id="NaN")])
    note = read_prices(frame, MarketSpec(id_column="id")).notes[0]
    assert "'1' and '1.0'; 'AAA' and 'aaa'; 'NaN' and 'nan'." in note
    # Two long numeric ids one apart are two assets (float() made them one: a review, 2026-12-05);
    # nor are "1_000" or another script's digits a plain number.
    from finlite.data.market import _id_key

    assert _id_key("12345678901234567") != _id_key("12345678901234568")
    assert _id_key("1" * 41) != _id_key("1" * 40 + "2") and _id_key("1_000") != _id_key("1000")
    assert _id_key("\u0663") != _id_key("3") and _id_key("1e999999999999") != _id_key("1")
    assert _id_key("7e2") == _id_key("00700") == _id_key("700.0") and _id_key("-0") == _id_key("0")


def test_dates_with_a_zone_or_an_offset_are_read_as_written_and_said_so() -> None:
    """The same bars stamped in New York and in UTC fall on different dates and get different
    forecasts; finlite reads each as the date written, and now says so (a walk-through as an FX
    quant, 2026-12-07)."""
    from finlite.data.market import offset_note

    stamps = pd.date_range("2021-01-04", periods=120, freq="B")
    spec = MarketSpec(target="close")
    ny = _dated(stamps)
    ny["date"] = [f"{d}T19:00:00-05:00" for d in ny["date"]]
    table = read_prices(ny, spec)
    assert table.frame["date"].iloc[0] == pd.Timestamp("2021-01-04")  # the local date as written
    [note] = [n for n in table.notes if "UTC offset" in n]
    assert note.startswith("120 distinct date(s) of column 'date' carry a UTC offset (e.g. '2021-01-04T19:00:00-05:00'):"
                           " each is read as the date written, in its own zone, not converted to UTC")
    mixed = pd.Series(["2021-03-12T16:00:00-05:00", "2021-03-15T16:00:00-04:00", "2021-03-16"])
    assert "; offsets -04:00, -05:00)" in str(offset_note(mixed, "date"))
    typed = pd.Series(pd.date_range("2021-01-04", periods=3, freq="D", tz="Asia/Tokyo"))
    assert "carry the time zone Asia/Tokyo: each is read as its date in that zone" in str(offset_note(typed, "date"))
    assert offset_note(_dated(stamps)["date"], "date") is None
    assert offset_note(pd.Series(pd.date_range("2021-01-04", periods=3)), "date") is None
    assert not [n for n in read_prices(_dated(stamps), spec).notes if "offset" in n or "zone" in n]
    # A served history says it too (history_notes: serve's answer, Predictor.forecast(notes=True)).
    from finlite.data.market import history_notes

    market = prepare_series(_dated(stamps), spec, walk=WalkForward(folds=1)).preprocessor
    served = history_notes(list(ny["date"]), market)
    assert any("carry a UTC offset (e.g. '2021-01-04T19:00:00-05:00')" in n for n in served)
    assert not [n for n in history_notes(list(_dated(stamps)["date"]), market) if "offset" in n]


@pytest.mark.parametrize(("written", "hint"), [
    ("20210104", "It looks like YYYYMMDD: write it as 2021-01-04"),
    ("1609459200", "It looks like seconds since 1970-01-01 UTC (2021-01-01)"),
    ("1609459200000", "It looks like milliseconds since 1970-01-01 UTC (2021-01-01): convert the column to dates in "
                      "the market's zone (pandas: pd.to_datetime(column, unit='ms', utc=True)"),
])
def test_a_date_written_as_a_number_is_refused_with_the_conversion(written: str, hint: str) -> None:
    """Epoch time and YYYYMMDD were refused as "not a date" with no word of what they are."""
    frame = _dated(pd.date_range("2021-01-04", periods=60, freq="B"))
    frame["date"] = frame["date"].astype(object)
    frame.loc[0, "date"] = written
    with pytest.raises(DataError, match="is not a date finlite reads") as caught:
        read_prices(frame, MarketSpec(target="close"))
    assert hint in str(caught.value)


def test_ewma_volatility_is_riskmetrics_recursion_as_pandas_computes_it() -> None:
    """σ²_t = λσ²_{t−1} + (1−λ)r²_t after the running mean of the first 20 squared returns:
    pandas' expanding mean, then its ewm(alpha=1−λ, adjust=False) from that start."""
    from finlite.data.market import EWMA_START, ewma_volatility

    r = np.random.default_rng(4).standard_t(4, 500) * 0.01
    sq = pd.Series(r**2)
    head = sq.iloc[:EWMA_START].expanding().mean().to_numpy()
    for lam in (0.94, 0.97):
        tail = pd.Series(np.r_[head[-1], r[EWMA_START:] ** 2]).ewm(alpha=1 - lam, adjust=False).mean().to_numpy()[1:]
        np.testing.assert_allclose(ewma_volatility(r, lam), np.sqrt(np.r_[head, tail]), rtol=1e-12, atol=0)
    np.testing.assert_allclose(ewma_volatility(r[:5]), np.sqrt(sq.iloc[:5].expanding().mean()), rtol=1e-12)
    # A stale first price (a return of 0) no longer drags the start down.
    stale = np.r_[0.0, r[1:]]
    assert ewma_volatility(stale)[30] == pytest.approx(ewma_volatility(r)[30], rel=0.02)
    # Each value reads only its own and earlier returns.
    changed = r.copy()
    changed[300:] *= 7
    np.testing.assert_array_equal(ewma_volatility(changed)[:300], ewma_volatility(r)[:300])
    assert ewma_volatility([]).size == 0
    with pytest.raises(DataError, match="EWMA decay must lie between 0 and 1"):
        ewma_volatility(r, 1.0)
    with pytest.raises(DataError, match=r"needs finite returns; return 2 is nan"):
        ewma_volatility([0.01, 0.02, np.nan])


def test_a_served_history_is_told_of_a_stale_run_unchanged_moves_and_zero_volumes() -> None:
    """serve's answer (and Predictor.forecast(notes=True)) said nothing of 20 repeated closes, a
    halt or a volume of 0, which train, score and evaluate each say (a quant's walk-through,
    2026-12-07)."""
    from finlite.data.market import history_notes

    frame = prices_frame(300)
    market = prepare_series(frame, SPEC, walk=WalkForward(folds=1)).preprocessor
    tail = frame.tail(60).reset_index(drop=True)
    assert history_notes(list(tail["date"]), market, {"close": list(tail["close"]), "volume": [1.0] * 60}) == []
    tail.loc[40:, "close"] = tail.loc[39, "close"]  # a stale feed: the last 20 closes repeat row 39's
    tail.loc[57:, "volume"] = 0.0
    notes = history_notes(list(tail["date"]), market, {"close": list(tail["close"]), "volume": list(tail["volume"])})
    stale = [n for n in notes if "holds the same value on 5 or more consecutive rows" in n]
    assert len(stale) == 1 and f"21 rows of {tail.loc[39, 'close']:.8g}" in stale[0], notes
    [zero] = [n for n in notes if n.startswith("'volume' is 0 on 3 row(s) (the first on ")]
    assert tail.loc[57, "date"] in zero and "read as days without trading" in zero
    # The file reader says the same words of the same volume (one function writes both).
    assert any(n.startswith("'volume' is 0 on ") for n in read_prices(tail, SPEC).notes)


def test_a_gap_longer_than_any_holiday_is_told_apart_from_holidays() -> None:
    """A ticker delisted and relisted (or reused by another company) with 200 business days
    missing was told of like a holiday (a quant's walk-through, 2026-12-07)."""
    from finlite.data.market import LONG_GAP_DAYS, calendar_note

    days = pd.bdate_range("2015-01-05", periods=600).to_numpy().astype("datetime64[D]")
    holiday = np.delete(days, [100, 101, 102])
    assert "longer than any market closes" not in str(calendar_note(holiday, None))
    relisted = np.r_[days[:300], days[500:]]
    note = str(calendar_note(relisted, "REUSE"))
    assert note.startswith("asset 'REUSE': 200 business day(s) missing in 1 gap(s)")
    assert "a gap of 200 business day(s) is longer than any market closes for a holiday" in note
    assert "give them another id, or start the history after the gap" in note
    edge = np.delete(days, range(100, 100 + LONG_GAP_DAYS))
    assert "longer than any" not in str(calendar_note(edge, None))
    assert "longer than any" in str(calendar_note(np.delete(days, range(100, 101 + LONG_GAP_DAYS)), None))


def test_an_asset_on_another_frequency_than_the_panel_is_named() -> None:
    """A weekly ticker among daily ones was pooled into one model with no warning (a quant's
    walk-through, 2026-12-07)."""
    from finlite.data.market import frequency_note

    frames = []
    for k in range(4):
        one = prices_frame(300, seed=k)
        frames.append(one.assign(id=f"D{k}"))
    weekly = prices_frame(300, seed=9)
    weekly["date"] = pd.date_range("2015-01-05", periods=300, freq="W-MON").strftime("%Y-%m-%d")
    spec = MarketSpec(window=5, id_column="id")
    daily = read_prices(pd.concat(frames, ignore_index=True), spec)
    assert not [n for n in daily.notes if "spaced unlike" in n]
    table = read_prices(pd.concat([*frames, weekly.assign(id="WKLY")], ignore_index=True), spec)
    [note] = [n for n in table.notes if "spaced unlike" in n]
    assert note.startswith("1 asset(s) are spaced unlike the other 4 (most of whose dates are 1 day(s) apart): "
                           "'WKLY' (7 day(s)).")
    assert frequency_note({"A": 1.0}) is None and frequency_note({"A": 1.0, "B": 1.0, "C": 2.0}) is None
    # Two groups of as many assets: neither is "most", so both are named (a review, 2026-12-07: a
    # daily and a weekly asset named the daily one against "4 days").
    assert str(frequency_note({"DAILY": 1.0, "WEEKLY": 7.0})).startswith(
        "the assets' dates are spaced differently, in 2 groups: 'DAILY' (1 day(s)); 'WEEKLY' (7 day(s)).")
    # Four days among daily assets is named; two spacings a bucket edge apart (5.9, 6.1) are one.
    assert "'d' (4 day(s))" in str(frequency_note({"a": 1.0, "b": 1.0, "c": 1.0, "d": 4.0}))
    assert frequency_note({"a": 5.9, "b": 6.1}) is None
    assert frequency_note({"a": 1.0, "b": 1.0, "c": 2.0, "d": 2.0}) is None  # within three times, as most's rule


def test_strict_alarms_a_move_at_a_split_ratio_of_two_or_more_not_a_fall_of_a_third() -> None:
    """One earnings-day fall of a third (the ratio of a 3:2 split) refused a panel under --strict (a
    review, 2026-12-07): a note, not an alarm; a 2:1 split the file was not adjusted for is both."""
    from finlite.data.market import split_alarm

    frame = prices_frame(300)
    fall = frame.copy()
    fall.loc[200:, "close"] /= 1.5  # a fall of a third
    halved = frame.copy()
    halved.loc[200:, "close"] *= 0.5
    fell, split = read_prices(fall, SPEC), read_prices(halved, SPEC)
    assert any("the ratio of a 3:2 split" in n for n in fell.notes) and not fell.alarms
    assert any("the ratio of a 2:1 split" in n for n in split.alarms)
    assert not split_alarm(fall["close"].to_numpy()) and split_alarm(halved["close"].to_numpy())
    # Any ratio of 2:1 or more, named or not (7:1 as Apple's in 2014, 5:2, a 1:7 reverse), is an
    # alarm (a review, 2026-12-07: only the listed ratios were).
    for factor in (1 / 7, 1 / 2.5, 7.0):
        moved = frame["close"].to_numpy().copy()
        moved[200:] *= factor
        assert split_alarm(moved), factor
    # Three 3:2-like falls and then a 2:1 split: the note's examples show the split.
    many = frame["close"].to_numpy().copy()
    for row in (50, 80, 110):
        many[row:] /= 1.5
    many[200:] /= 2.0
    table = read_prices(frame.assign(close=many), SPEC)
    assert split_alarm(many) and "the ratio of a 2:1 split" in table.alarms[0]


def test_a_price_named_column_the_model_does_not_read_is_refused_with_the_fix(tmp_path: Path) -> None:
    """A zero in an 'open' column the model never reads refused the file with advice about rates
    and log changes, and --drop is for tables (a quant's walk-through, 2026-12-07)."""
    frame = prices_frame(120)
    frame["open"] = frame["close"]
    frame.loc[6, "open"] = 0.0
    frame.to_csv(tmp_path / "open0.csv", index=False)
    with pytest.raises(DataError, match=r"Column 'open' of .*open0\.csv holds 0\.0 at row 7 \(line 8 .* it must be > 0 "
                                        r"\(a price or level\)\. finlite checks every price-named column of a price "
                                        r"file .* the model does not read 'open' \(it reads 'close'\): correct that "
                                        r"row, or remove column 'open' from the file\.$"):
        read_prices(tmp_path / "open0.csv", SPEC)
    # A blank there: the same, without the advice to leave a column out of the spec (it is in none).
    frame.loc[6, "open"] = np.nan
    with pytest.raises(DataError) as blank:
        read_prices(frame, SPEC)
    assert "has a missing value" in str(blank.value) and "left out of the spec" not in str(blank.value)
    assert str(blank.value).endswith("remove column 'open' from the file.")
    # The target's own refusal keeps its advice.
    frame.loc[6, "open"] = 1.0
    frame.loc[6, "close"] = 0.0
    with pytest.raises(DataError, match=r"Column 'close' .* a series that can reach zero or go negative"):
        read_prices(frame.drop(columns="open"), SPEC)
