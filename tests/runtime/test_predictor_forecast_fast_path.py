"""The Predictor's batch-1 forecast path (a dict of lists read by ``_served_block``, its last
window built by one compiled call into a per-thread bound input buffer) and ``last_window``: the
same numbers, bit for bit, as ``forecast_all`` and the reference (pandas) path, and the same
errors for bad input."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from numpy.lib.stride_tricks import sliding_window_view

from finlite.data.market import MarketPreprocessor, MarketSpec, compute_features, read_prices
from finlite.errors import ConfigError, DataError
from finlite.runtime import Predictor
from tests.conftest import build_market_artifact

WARMUP = 30  # 21 rows of feature look-back + a window of 10 - 1 (tests/conftest.py builds window 10)


@pytest.fixture(scope="module")
def price_dir(tmp_path_factory: pytest.TempPathFactory, prices: pd.DataFrame) -> Path:
    """An exported GRU forecaster of the price level (its model forecasts the log change)."""
    return build_market_artifact(tmp_path_factory.mktemp("art") / "price", prices, "price")


def _with_extras(prices: pd.DataFrame) -> pd.DataFrame:
    """The prices without their volume and with two extra series (a rate and an index level)."""
    rng = np.random.default_rng(7)
    return prices.drop(columns="volume").assign(
        rate=lambda f: 2.0 + np.cumsum(rng.normal(0, 0.01, len(f))),
        index=lambda f: 3000.0 * np.exp(np.cumsum(rng.normal(0, 0.008, len(f)))))


@pytest.fixture(scope="module")
def extras_dir(tmp_path_factory: pytest.TempPathFactory, prices: pd.DataFrame) -> Path:
    """An exported direction forecaster with two extra series and no volume: the batch-1 path
    reads them from rows of its value block other than the volume's."""
    return build_market_artifact(tmp_path_factory.mktemp("art") / "extras", _with_extras(prices), "direction",
                                 volume_column=None, extra_columns=("rate", "index"))


@pytest.fixture(scope="module")
def panel_dir(tmp_path_factory: pytest.TempPathFactory, prices: pd.DataFrame) -> Path:
    """An exported direction forecaster of a two-asset panel (id column ``ticker``)."""
    other = prices.assign(close=prices["close"].to_numpy()[::-1].copy(), ticker="BBB")
    panel = pd.concat([prices.assign(ticker="AAA"), other], ignore_index=True)
    return build_market_artifact(tmp_path_factory.mktemp("art") / "panel", panel, "direction", id_column="ticker")


def _history(frame: pd.DataFrame) -> dict[str, list[Any]]:
    return {str(k): list(v) for k, v in frame.to_dict("list").items()}


def _no_reference_path(*_args: Any, **_kwargs: Any) -> Any:
    raise AssertionError("the reference path ran: the batch-1 fast path was not taken")


@pytest.mark.parametrize("artifact", ["forecast_dir", "direction_dir", "price_dir", "extras_dir", "panel_dir"])
def test_the_fast_path_equals_forecast_all_bit_for_bit(artifact: str, prices: pd.DataFrame,
                                                       request: pytest.FixtureRequest,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    path = request.getfixturevalue(artifact)
    if artifact == "extras_dir":
        prices = _with_extras(prices)
    if artifact == "panel_dir":  # one asset of a panel's model: its id on every row
        prices = prices.assign(ticker="AAA")[["date", "ticker", "close", "volume"]]
    reference = Predictor(path)
    fast = Predictor(path)
    monkeypatch.setattr(fast, "forecast_windows", _no_reference_path)
    for rows in (WARMUP + 1, WARMUP + 17, len(prices)):
        tail = prices.tail(rows)
        every = reference.forecast_all(tail)  # a DataFrame: read_prices and forecast_windows for every date
        expected = reference.forecast(tail)  # a DataFrame: its own batch-1 path
        got = fast.forecast(_history(tail))
        assert list(got.items()) == list(expected.items())  # same keys, order, types and values
        assert got["date"] == str(every["date"][-1]) == tail["date"].iloc[-1]
        for key, column in every.items():
            if key != "date":
                assert got[key] == column[-1].item()  # exactly, not approximately
    assert ("decision" in got) == (artifact in ("direction_dir", "extras_dir", "panel_dir"))
    assert ("ticker" in got) == (artifact == "panel_dir")
    assert ("log_change" in got) == (artifact == "price_dir")
    if artifact == "price_dir":
        assert got["forecast"] == pytest.approx(got["last_price"] * np.exp(got["log_change"]), rel=1e-12)


def _typed(frame: pd.DataFrame, how: str) -> pd.DataFrame:
    """``frame`` with its dates as ``how`` gives them ("other columns": the rest of a price table)."""
    out = frame.copy()
    if how == "other columns":  # read by read_prices (price-named) or not at all: valid, so answered here
        out = out.assign(open=out["close"] * 0.99, high=out["close"] * 1.01, low=out["close"] * 0.98,
                         **{"Adj Close": out["close"]}, ticker_note=pd.array(["x"] * len(out), dtype="string"),
                         trades=np.arange(len(out)))
    elif how == "datetime":
        out["date"] = pd.to_datetime(out["date"])
    elif how == "zoned":  # read_prices takes the wall-clock day of a time zone's dates
        out["date"] = pd.to_datetime(out["date"]).dt.tz_localize("America/New_York") + pd.Timedelta(hours=16)
    elif how == "strings":
        out["date"] = out["date"].astype("string")
    return out


@pytest.mark.parametrize("how", ["text", "datetime", "zoned", "strings", "other columns"])
@pytest.mark.parametrize("artifact", ["forecast_dir", "direction_dir", "price_dir", "extras_dir", "panel_dir"])
def test_a_dataframe_of_the_last_rows_takes_the_batch_1_path_with_the_same_answer(
        artifact: str, how: str, prices: pd.DataFrame, request: pytest.FixtureRequest,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A DataFrame of the last rows (the issue's first form of a history) took about 3.5 ms a
    forecast through read_prices, 60 times a dict of lists (2026-12-06): it now takes the same
    batch-1 path, with the answer of every date's forecast (forecast_all) for its last date."""
    path = request.getfixturevalue(artifact)
    if artifact == "extras_dir":
        prices = _with_extras(prices)
    if artifact == "panel_dir":
        prices = prices.assign(ticker="AAA")[["date", "ticker", "close", "volume"]]
    reference = Predictor(path)
    fast = Predictor(path)
    monkeypatch.setattr(fast, "forecast_windows", _no_reference_path)
    for rows in (WARMUP + 1, WARMUP + 17, len(prices)):
        tail = _typed(prices.tail(rows), how)
        every = reference.forecast_all(tail)
        got = fast.forecast(tail)
        assert got == fast.forecast(_history(prices.tail(rows)))  # as the same rows sent as lists
        assert got["date"] == str(np.datetime_as_string(every["date"][-1], unit="D")) == prices["date"].iloc[-1]
        for key, column in every.items():
            if key != "date":
                assert got[key] == column[-1].item()  # exactly


@pytest.mark.parametrize("change", ["nullable floats", "text number", "newest first", "duplicate column", "bool volume",
                                    "missing close", "date with a gap in text", "categorical dates",
                                    "dates in seconds beyond nanoseconds", "an open of 0", "a missing high",
                                    "an adj close of text", "a column named 1", "a column of lists",
                                    "a column of Python strings", "arrow dates"])
def test_a_dataframe_the_batch_1_path_does_not_read_gets_the_reference_answer_or_error(
        forecast_dir: Path, prices: pd.DataFrame, change: str) -> None:
    frame = prices.tail(WARMUP + 20).reset_index(drop=True)
    if change == "nullable floats":
        frame["close"] = frame["close"].astype("Float64")
    elif change == "text number":
        frame["close"] = frame["close"].astype(object)
        frame.loc[3, "close"] = str(frame.loc[3, "close"])
    elif change == "newest first":
        frame = frame.iloc[::-1].reset_index(drop=True)
    elif change == "duplicate column":
        frame = pd.concat([frame, frame[["volume"]]], axis=1)
    elif change == "bool volume":
        frame["volume"] = frame["volume"] > 2000
    elif change == "missing close":
        frame.loc[5, "close"] = np.nan
    elif change == "date with a gap in text":
        frame.loc[4, "date"] = " " + frame.loc[4, "date"]
    elif change == "categorical dates":
        frame["date"] = frame["date"].astype("category")
    elif change == "dates in seconds beyond nanoseconds":  # read_prices names the year; no overflow here
        days = pd.to_datetime(frame["date"]).to_numpy().astype("datetime64[s]")
        frame["date"] = pd.Series(days + np.timedelta64(300 * 365, "D").astype("timedelta64[s]"))
    # Columns the model does not read: read_prices still reads the price-named ones and checks every
    # column's name and cells (a review found 'open' = 0.0 answered on this path, refused there).
    elif change == "an open of 0":
        frame["open"] = 0.0
    elif change == "a missing high":
        frame["High "] = frame["close"]
        frame.loc[3, "High "] = np.nan
    elif change == "an adj close of text":
        frame["adj_close"] = frame["close"].astype(str)
    elif change == "a column of Python strings":
        frame["memo"] = pd.Series(["a"] * len(frame), dtype=object)
    elif change == "a column named 1":
        frame[1] = 0.0
    elif change == "a column of lists":
        frame["notes"] = [[1, 2]] * len(frame)
    elif change == "arrow dates":  # read_parquet(dtype_backend="pyarrow"): dt.tz raised on this path
        import pyarrow as pa
        frame["date"] = pd.to_datetime(frame["date"]).astype(pd.ArrowDtype(pa.date32()))
    predictor = Predictor(forecast_dir)
    assert predictor._served_frame(frame) is None  # the reference path reads it
    try:
        expected = predictor.forecast_all(frame)
    except DataError as exc:
        with pytest.raises(DataError) as got:
            predictor.forecast(frame)
        assert str(got.value) == str(exc)
        return
    answer = predictor.forecast(frame)
    assert answer["forecast"] == expected["forecast"][-1].item()


def test_threads_each_get_their_own_buffer(forecast_dir: Path, prices: pd.DataFrame) -> None:
    predictor = Predictor(forecast_dir)
    histories = [_history(prices.iloc[: WARMUP + 1 + k]) for k in range(0, 240, 3)]
    expected = [predictor.forecast(h)["forecast"] for h in histories]
    with ThreadPoolExecutor(4) as pool:
        for _ in range(3):
            assert list(pool.map(lambda h: predictor.forecast(h)["forecast"], histories)) == expected
    assert len(set(expected)) > len(expected) // 2  # different histories, different forecasts


@pytest.mark.parametrize(("column", "value", "message"), [
    ("date", "+020-12-23", r"holds '\+020-12-23' at row 1, which is not a date finlite reads"),
    ("date", "2020-02-30", r"holds '2020-02-30' at row 1, which is not a valid date"),
    # A year typed wrong: pandas reads it at a coarser unit; it must be refused, not wrapped
    # into another date through datetime64[ns] (1500-01-05 became a date in 2084).
    ("date", "0218-03-01", r"holds '0218-03-01' at row 1, outside the dates finlite reads \(1677-09-22 to "
                           r"2262-04-11\)"),
    ("date", "1677-09-21", r"holds '1677-09-21' at row 1, outside the dates"),
    ("close", -1.0, r"'close' .*holds -1\.0 at row 1 .*must be > 0"),
    ("close", 1e-310, r"'close' .*holds 1e-310 at row 1 .*too small to be a price"),
    ("close", float("inf"), r"'close' .*holds inf at row 1"),
    ("volume", -5, r"'volume' .*holds -5\.0 at row 1 .*>= 0"),
    # Text that is a number: read_prices reads it, so the answer is the same (a price near the
    # series' own: 12.5 would be a ten-fold move, refused as beyond the training range).
    ("close", "120.5", None),
])
def test_a_bad_value_outside_the_window_is_refused_as_forecast_all_refuses_it(
        forecast_dir: Path, prices: pd.DataFrame, column: str, value: Any, message: str | None) -> None:
    # The fast path reads only the last WARMUP + 1 rows for the window but checks every row, so a
    # value read_prices refuses is refused whichever row holds it, with read_prices' message.
    predictor = Predictor(forecast_dir)
    history = _history(prices.tail(WARMUP + 20))
    history[column] = [value, *history[column][1:]]
    if message is None:
        assert predictor.forecast(history) == predictor.forecast(pd.DataFrame(history))
        return
    with pytest.raises(DataError, match=message) as fast:
        predictor.forecast(history)
    with pytest.raises(DataError) as every:
        predictor.forecast_all(pd.DataFrame(history))
    assert str(fast.value) == str(every.value)


def test_one_forecast_checks_the_rows_it_reads_on_every_path(forecast_dir: Path, prices: pd.DataFrame) -> None:
    """A close twenty times the one before, 200 rows before the last window: a dict of lists was
    forecast and the same history as a DataFrame (or newest first) refused (a review,
    2026-12-06). One forecast reads the last window: its rows alone are held to the training
    range, on every path; the same jump inside that window is refused on every path."""
    predictor = Predictor(forecast_dir)
    frame = prices.tail(250).reset_index(drop=True)
    far = frame.copy()
    far.loc[20:, "close"] *= 20  # one jump, long before the last window
    expected = predictor.forecast(_history(frame))["forecast"]
    answers = [predictor.forecast(_history(far)), predictor.forecast(far),
               predictor.forecast(far.iloc[::-1].reset_index(drop=True))]
    assert len({a["forecast"] for a in answers}) == 1 and answers[0]["forecast"] == pytest.approx(expected, rel=1e-5)
    with pytest.raises(DataError, match="far outside what the model was trained on"):
        predictor.forecast_all(far)  # every date's forecast: the jump's window among them
    near = frame.copy()
    near.loc[len(frame) - 3:, "close"] *= 20
    for history in (_history(near), near, near.iloc[::-1].reset_index(drop=True)):
        with pytest.raises(DataError, match=r"Feature 'log_return' of .* is 2\.99\d+, far outside"):
            predictor.forecast(history)


def test_a_duplicate_date_before_the_window_is_named(forecast_dir: Path, prices: pd.DataFrame) -> None:
    history = _history(prices.tail(WARMUP + 20))
    history["date"] = [history["date"][1], *history["date"][1:]]
    with pytest.raises(DataError, match=rf"{history['date'][1]} appears twice"):
        Predictor(forecast_dir).forecast(history)


def test_a_window_beyond_float32_fails_closed(forecast_dir: Path, prices: pd.DataFrame) -> None:
    history = _history(prices.tail(WARMUP + 1))
    history["close"] = [*history["close"][:-2], 1e-30, 1e300]
    # The fast path finds the window not finite; the reference path then names the feature, date and value.
    with np.errstate(all="ignore"), pytest.raises(DataError, match=r"Feature 'log_return' of the price history at "
                                                                 r"date \d{4}-\d\d-\d\d is inf"):
        Predictor(forecast_dir).forecast(history)


@pytest.mark.parametrize("ranged", [True, False])
def test_a_price_level_beyond_a_double_is_refused_on_every_path(price_dir: Path, prices: pd.DataFrame,
                                                                tmp_path: Path, ranged: bool) -> None:
    """A last close of 1.8e308: score wrote "inf" (exit 0, numpy's overflow warning on stderr) and
    serve answered 200 with "forecast": null (a review of the markets path, 2026-12-03). Since
    2026-12-06 the jump to it is refused first, as a log return far beyond the training range;
    a model saved before (no range in its preprocessor.json) still refuses the forecast itself."""
    import json
    import shutil
    import warnings

    from fastapi.testclient import TestClient

    from finlite.runtime.batch import score_file
    from finlite.runtime.service import create_app
    from tests.test_artifact_trust import rehash

    art = price_dir
    if not ranged:
        art = tmp_path / "older"
        shutil.copytree(price_dir, art)
        pre = json.loads((art / "preprocessor.json").read_text())
        del pre["low"], pre["high"]
        (art / "preprocessor.json").write_text(json.dumps(pre))
        rehash(art)
    frame = prices.tail(WARMUP + 5).copy()
    frame.loc[frame.index[-1], "close"] = 1.7976931348623157e308
    last = frame["date"].iloc[-1]
    message = (rf"The price forecast for {last} is beyond a number's range: the last price 1\.79769e\+308" if not ranged
               else rf"Feature 'log_return' of .* at date {last} is 70\d\.\d+, far outside what the model was trained on")
    predictor = Predictor(art)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no RuntimeWarning reaches stderr
        with pytest.raises(DataError, match=message):
            predictor.forecast(_history(frame))
        with pytest.raises(DataError, match=message):
            predictor.forecast_all(frame)
        frame.to_csv(tmp_path / "prices.csv", index=False)
        with pytest.raises(DataError, match=message):
            score_file(predictor, tmp_path / "prices.csv", tmp_path / "out.csv")
    assert not (tmp_path / "out.csv").exists()
    client = TestClient(create_app(predictor), raise_server_exceptions=False)
    answer = client.post("/predict", json={"history": _history(frame)})
    assert answer.status_code == 422 and ("far outside" if ranged else "beyond a number's range") in answer.text, \
        answer.text


def test_the_features_are_their_textbook_definitions(prices: pd.DataFrame) -> None:
    # The feature code gathers windows and reduces them itself (no np.std / np.mean wrappers);
    # it must still compute exactly what the names say.
    frame = prices.head(120).assign(extra=lambda f: f["close"].to_numpy()[::-1] * 2.0)
    spec = MarketSpec(window=10, volume_column="volume", extra_columns=("extra",))
    got = compute_features(read_prices(frame, spec), spec)
    p = frame["close"].to_numpy()
    r = np.r_[np.nan, np.diff(np.log(p))]

    def trailing(values: np.ndarray, k: int) -> np.ndarray:
        out = np.full((len(values), k), np.nan)
        out[k - 1:] = sliding_window_view(values, k)
        return out

    last14 = trailing(r, 14)
    with np.errstate(invalid="ignore"):  # the warm-up rows: 0 / 0
        rsi = np.nansum(np.maximum(last14, 0.0), axis=1) / np.nansum(np.abs(last14), axis=1) - 0.5
    volume = frame["volume"].to_numpy()
    weekday = pd.to_datetime(frame["date"]).dt.day_of_week.to_numpy()
    expected = np.column_stack([
        r, np.std(trailing(r, 5), axis=1), np.std(trailing(r, 21), axis=1),
        np.log(p / np.mean(trailing(p, 5), axis=1)), np.log(p / np.mean(trailing(p, 21), axis=1)),
        np.r_[[np.nan] * 5, np.log(p[5:] / p[:-5])], np.r_[[np.nan] * 21, np.log(p[21:] / p[:-21])], rsi,
        np.r_[np.nan, np.diff(np.log1p(volume))], np.r_[np.nan, np.diff(np.log(frame["extra"].to_numpy()))],
        np.sin(2 * np.pi * weekday / 7), np.cos(2 * np.pi * weekday / 7)])
    assert got.shape == expected.shape == (120, 12)
    assert np.isnan(got[:21]).all() and np.isfinite(got[21:]).all()
    np.testing.assert_allclose(got[21:], expected[21:], rtol=1e-12, atol=1e-14)


def test_last_window_fills_a_given_buffer_or_refuses_it(forecast_dir: Path, prices: pd.DataFrame) -> None:
    market = Predictor(forecast_dir).market
    assert market is not None
    tail = prices.tail(WARMUP + 5)
    arrays = (tail["date"].to_numpy().astype("datetime64[D]"), tail["close"].to_numpy(), tail["volume"].to_numpy())
    buffer = np.full((1, 10, market.n_features), np.nan, dtype=np.float32)
    got = market.last_window(*arrays, out=buffer)
    assert np.shares_memory(got, buffer) and buffer.tobytes() == market.windows(tail).x[-1:].tobytes()
    with pytest.raises(ConfigError, match=r"C-contiguous float32 array of 10 x 11 values; got float64"):
        market.last_window(*arrays, out=np.zeros((1, 10, market.n_features)))
    with pytest.raises(ConfigError, match=r"got float32 of shape \(1, 11, 10\)"):
        market.last_window(*arrays, out=np.zeros((1, 11, 10), dtype=np.float32)[:, ::-1])
    # The compiled loop reads every series at the same rows: a shorter one, a missing volume or an
    # extra series the model does not have is refused before it runs (it would read out of bounds).
    with pytest.raises(ConfigError, match=r"the same length \(35\); got prices of 35, volume 20, extras \[\]"):
        market.last_window(arrays[0], arrays[1], arrays[2][-20:])
    with pytest.raises(ConfigError, match=r"got prices of 35, volume none"):
        market.last_window(arrays[0], arrays[1])
    with pytest.raises(ConfigError, match=r"and 0 extra series .* extras \[35\]"):
        market.last_window(*arrays, extras=[arrays[1]])
    with pytest.raises(ConfigError, match=r"got prices of 34"):
        market.last_window(arrays[0], arrays[1][1:], arrays[2])


def test_last_window_names_a_value_beyond_float32(forecast_dir: Path, prices: pd.DataFrame) -> None:
    # A preprocessor without a recorded range (saved before 2026-12-06) accepts any finite
    # feature; one that overflows float32 once scaled is named as windows() names it, not
    # written into the window as inf.
    market = Predictor(forecast_dir).market
    assert market is not None
    bare = MarketPreprocessor(market.spec, market.mean, np.full_like(market.std, 1e-300))
    tail = prices.tail(WARMUP + 1)
    arrays = (tail["date"].to_numpy().astype("datetime64[D]"), tail["close"].to_numpy(), tail["volume"].to_numpy())
    message = r"Feature 'log_return' of the price history at date \d{4}-\d\d-\d\d is -?\d.*beyond float32"
    with pytest.raises(DataError, match=message):
        bare.last_window(*arrays)
    with pytest.raises(DataError, match=message):
        bare.windows(tail, "the price history")


@pytest.mark.parametrize("ids", [[" AAA"], ["AAA", "AAA "], ["AAA", "BBB"], [""], [1], ["AAA\u00a0"], ["ÄAA"]])
def test_a_panel_history_whose_ids_are_not_one_plain_text_goes_the_reference_path(
        panel_dir: Path, prices: pd.DataFrame, ids: list[Any]) -> None:
    """Ids the fast path does not read (spaces, two spellings or assets, blank, a number, beyond
    ASCII) are answered, or refused, by the reference path: the same as for a DataFrame."""
    tail = prices.tail(WARMUP + 5)
    history = _history(tail)
    history = {"date": history["date"], "ticker": [ids[k % len(ids)] for k in range(len(tail))],
               "close": history["close"], "volume": history["volume"]}
    predictor = Predictor(panel_dir)
    assert predictor._served_block(history) is None
    frame = pd.DataFrame(history)
    try:
        expected: Any = predictor.forecast(frame)
    except DataError as exc:  # two assets, a blank id: refused alike, for the same reason
        reason = str(exc).split(" of ")[0] if "several assets" not in str(exc) else "holds several assets"
        with pytest.raises(DataError, match=reason.split("'")[0]):
            predictor.forecast(history)
        return
    assert predictor.forecast(history) == expected
    if ids == [" AAA"]:
        assert expected["ticker"] == "AAA"  # read without its spaces, on either path
