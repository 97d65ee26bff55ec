"""The torch-free Predictor serving a market forecaster: forecasts from a price history (a DataFrame
or a dict of lists), equal to the torch artifact's, errors naming column, date and value."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from finlite.artifact import load
from finlite.errors import ConfigError, DataError
from finlite.runtime import Predictor

WARMUP = 30  # 21 rows of feature look-back + a window of 10 - 1 (tests/conftest.py builds window 10)


def _history(frame: pd.DataFrame) -> dict[str, list]:
    return {str(k): list(v) for k, v in frame.to_dict("list").items()}


def test_forecast_all_matches_the_torch_artifact(forecast_dir: Path, prices: pd.DataFrame) -> None:
    predictor = Predictor(forecast_dir)
    got = predictor.forecast_all(prices)
    expected = load(forecast_dir).forecast(prices)
    assert len(got["date"]) == len(prices) - WARMUP == len(expected)
    assert (got["date"] == expected["date"].to_numpy().astype("datetime64[D]")).all()
    assert str(got["date"][0]) == prices["date"][WARMUP]  # the first date with a full window of history
    assert np.abs(got["forecast"] - expected["forecast"].to_numpy()).max() < 1e-5
    np.testing.assert_array_equal(got["last_price"], prices["close"].to_numpy()[WARMUP:])
    assert set(got) == {"date", "horizon", "forecast", "last_price"}
    assert got["horizon"].dtype == np.int32 and (got["horizon"] == 1).all()


def test_forecast_of_the_last_date_from_a_dict_or_a_frame(forecast_dir: Path, prices: pd.DataFrame) -> None:
    predictor = Predictor(forecast_dir)
    every = predictor.forecast_all(prices)
    short = _history(prices.tail(WARMUP + 1))  # the fewest rows one forecast needs: the numpy fast path
    one = predictor.forecast(short)
    assert one["date"] == prices["date"].iloc[-1] and one["horizon"] == 1
    assert one["forecast"] == pytest.approx(float(every["forecast"][-1]), abs=1e-6)
    assert one["last_price"] == prices["close"].iloc[-1]
    # The whole history, a DataFrame (the pandas reader), and rows in reverse order (not the fast
    # path: read_prices sorts them) give the same forecast.
    for history in (_history(prices), prices.tail(60), _history(prices.tail(WARMUP + 1).iloc[::-1])):
        assert predictor.forecast(history)["forecast"] == pytest.approx(one["forecast"], abs=1e-6)
    assert predictor.predict_score(short) == pytest.approx([one["forecast"]], abs=1e-6)


def test_the_batch_one_path_builds_the_last_window_bitwise(forecast_dir: Path, prices: pd.DataFrame) -> None:
    market = Predictor(forecast_dir).market
    assert market is not None
    tail = prices.tail(WARMUP + 7)
    x = market.last_window(tail["date"].to_numpy().astype("datetime64[D]"), tail["close"].to_numpy(),
                           tail["volume"].to_numpy())
    reference = market.windows(tail).x[-1:]
    assert x.dtype == np.float32 and x.tobytes() == reference.tobytes()
    with pytest.raises(DataError, match=rf"needs {WARMUP + 1} rows"):
        market.last_window(tail["date"].to_numpy()[:WARMUP].astype("datetime64[D]"), tail["close"].to_numpy()[:WARMUP])


def test_a_bad_history_is_refused_naming_column_date_and_value(forecast_dir: Path, prices: pd.DataFrame) -> None:
    predictor = Predictor(forecast_dir)
    history = _history(prices.tail(WARMUP + 1))
    # The model's window is fixed: "use a shorter window (--window)" is the trainer's advice (a
    # review, 2026-12-04), for a dict of lists and a DataFrame alike.
    for short in (_history(prices.tail(WARMUP)), prices.tail(WARMUP)):
        for call in (predictor.forecast, predictor.forecast_all):
            with pytest.raises(DataError, match=rf"one forecast needs {WARMUP + 1} .* The model's window is fixed: "
                                                rf"give at least {WARMUP + 1} rows of history\.$") as info:
                call(short)
            assert "--window" not in str(info.value)
    text = {**history, "close": [*history["close"][:-1], "n/a"]}
    with pytest.raises(DataError, match=r"'close'.*'n/a'.*2021-02-23"):
        predictor.forecast(text)
    negative = {**history, "close": [*history["close"][:-1], -1.0]}
    with pytest.raises(DataError, match=r"'close'.*-1\.0.*> 0"):
        predictor.forecast(negative)
    twice = {k: [*v[:-1], v[-2]] if k == "date" else v for k, v in history.items()}
    with pytest.raises(DataError, match=r"2021-02-22 appears twice"):
        predictor.forecast(twice)
    with pytest.raises(DataError, match=r"'dat'"):
        predictor.forecast({k if k != "date" else "dat": v for k, v in history.items()})
    with pytest.raises(DataError, match="DataFrame or a dict of lists"):
        predictor.forecast([1.0, 2.0])
    with pytest.raises(DataError, match=r"^The request's history has no rows\.$"):  # not "The history in the ..."
        predictor.forecast({k: [] for k in history}, "the request's history")
    # A key that is not text was read as the column "5"; a DataFrame's column 5 is refused (a fuzz,
    # 2026-12-07), so the dict's is too.
    with pytest.raises(DataError, match=r"^The price history has the key 5, of type int, not text"):
        predictor.forecast({**history, 5: history["close"]})
    # A signalling NaN is named at its row, and a dict is not called "the DataFrame".
    snan = {**history, "close": [*history["close"][:-2], __import__("decimal").Decimal("sNaN"), history["close"][-1]]}
    for given in (snan, pd.DataFrame(snan)):
        with pytest.raises(DataError, match=rf"^Column 'close' of the price history holds a signalling NaN "
                                            rf"\(Decimal\('sNaN'\)\) at row {WARMUP}, which"):
            predictor.forecast(given)


def test_a_forecaster_has_no_cutoff_and_a_direction_model_decides(forecast_dir: Path, direction_dir: Path,
                                                                   prices: pd.DataFrame) -> None:
    forecaster, direction = Predictor(forecast_dir), Predictor(direction_dir)
    assert forecaster.task == "forecast" and forecaster.decision_cutoff is None
    with pytest.raises(ConfigError, match="no decisions"):
        forecaster.cutoff  # noqa: B018
    with pytest.raises(ConfigError, match="no decisions"):
        load(forecast_dir).cutoff  # noqa: B018
    with pytest.raises(ConfigError, match="price history"):
        forecaster.encoder  # noqa: B018
    assert direction.task == "direction" and direction.cutoff == 0.5
    result = direction.forecast_all(prices)
    assert ((result["probability"] > 0) & (result["probability"] < 1)).all()
    np.testing.assert_array_equal(result["decision"], (result["probability"] >= 0.5).astype(np.int8))
    np.testing.assert_array_equal(direction.predict(prices), result["decision"])
    expected = load(direction_dir).forecast(prices)
    assert np.abs(expected["probability"].to_numpy() - result["probability"]).max() < 1e-5
    one = direction.forecast(prices)
    assert one["decision"] == int(one["probability"] >= 0.5) and one["forecast"] == one["probability"]


def test_metadata_describes_the_market_spec(direction_dir: Path) -> None:
    meta = Predictor(direction_dir).metadata()
    assert meta["task"] == "direction" and meta["cutoff"] == 0.5
    market = meta["market"]
    assert market["columns"] == ["date", "close", "volume"] and market["warmup"] == WARMUP
    assert market["spec"]["objective"] == "direction" and market["spec"]["window"] == 10
    assert market["features"][0] == "log_return" and "P(up)" in market["output"]
    assert meta["parity"]["onnx"]["max_abs_diff"] < 1e-5


def test_forecasting_never_imports_torch(forecast_dir: Path, prices: pd.DataFrame) -> None:
    history = _history(prices.tail(WARMUP + 1))
    code = (
        "import sys, json\n"
        "from finlite.runtime import Predictor\n"
        f"p = Predictor({str(forecast_dir)!r})\n"
        f"out = p.forecast(json.loads({json.dumps(json.dumps(history))}))\n"
        "print(json.dumps({'forecast': out['forecast'], 'torch': 'torch' in sys.modules}))\n"
    )
    result = json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                       check=True).stdout)
    assert result["torch"] is False
    assert result["forecast"] == pytest.approx(Predictor(forecast_dir).forecast(history)["forecast"], abs=1e-7)
