"""A forecaster reads hostile price tables as the tabular paths do, and its dates without
lookahead: how one row's date is read never depends on rows after it (found by a review of the
forecasting paths)."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

from finlite.cli import app
from finlite.data.market import MarketSpec, read_prices
from finlite.errors import ConfigError, DataError
from finlite.runtime import Predictor
from tests.conftest import build_market_artifact, make_prices

runner = CliRunner()
SPEC = MarketSpec(window=10, volume_column="volume")


@pytest.fixture(scope="module")
def slash_artifact(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A forecaster trained on day/month/year dates (the order shows: some days are above 12)."""
    prices = make_prices(n=120)
    prices["date"] = pd.to_datetime(prices["date"]).dt.strftime("%d/%m/%Y")
    return build_market_artifact(tmp_path_factory.mktemp("mkt") / "dmy", prices)


def _slash(prices: pd.DataFrame, fmt: str) -> pd.DataFrame:
    out = prices.copy()
    out["date"] = pd.to_datetime(out["date"]).dt.strftime(fmt)
    return out


@pytest.mark.parametrize(("column", "kind"), [
    (lambda p: pd.to_datetime(p["date"]), "datetime64"),
    (lambda p: pd.to_timedelta(p["close"], unit="s"), "timedelta64"),
    (lambda p: p["close"].astype(complex), "complex"),
], ids=["datetime", "timedelta", "complex"])
def test_a_price_column_of_dates_durations_or_complex_numbers_is_refused(column: Any, kind: str) -> None:
    # pandas read them as nanoseconds (or dropped the imaginary part): a forecast from a price of 1.6e15.
    prices = make_prices(n=60)
    prices["close"] = column(prices)
    with pytest.raises(DataError, match=rf"Column 'close' of .* has type {kind}"):
        read_prices(prices, SPEC)


@pytest.mark.parametrize("value", [b"101.5", datetime.date(2020, 1, 2), pd.Timestamp("2020-01-02"), 1 + 2j],
                         ids=["bytes", "date", "timestamp", "complex"])
def test_a_price_cell_that_is_not_a_number_is_refused_by_row(value: Any) -> None:
    prices = make_prices(n=60).astype({"close": object})
    prices.at[7, "close"] = value
    with pytest.raises(DataError, match=r"Column 'close' of .* holds .* at row 8 \(date 2020-01-10\); it must hold"):
        read_prices(prices, SPEC)


@pytest.mark.parametrize("text", ["2020-01-02T25:00", "2020-01-02 23:60", "2020-01-02 23:59:99",
                                  "2020-01-02T10:00+15:00"])
def test_an_impossible_time_of_day_is_refused(text: str) -> None:
    prices = make_prices(n=60)
    prices.loc[1, "date"] = text
    with pytest.raises(DataError, match=r"Date column 'date' of .* holds .* at row 2"):
        read_prices(prices, SPEC)
    prices.loc[1, "date"] = "2020-01-02T23:59:60.5+14:00"  # a leap second, the farthest zone: still the 2nd
    assert read_prices(prices, SPEC).frame["date"].iloc[1] == pd.Timestamp("2020-01-02")


def _ambiguous_prices(last: str) -> pd.DataFrame:
    """48 days whose day is at most 12 (each reads both ways) written day first, then ``last``."""
    days = [datetime.date(2020, month, day) for month in range(1, 5) for day in range(1, 13)]
    prices = make_prices(n=len(days) + 1)
    prices["date"] = [d.strftime("%d/%m/%Y") for d in days] + [last]
    return prices


def test_training_records_the_date_order(slash_artifact: Path) -> None:
    predictor = Predictor(slash_artifact)
    assert predictor.market is not None and predictor.market.spec.date_order == "dmy"
    with pytest.raises(DataError, match=r"holds '01/13/2020' at row 9, which is not a valid date.*day/month/year, "
                                        r"as in training"):
        predictor.forecast_all(_slash(make_prices(n=60), "%m/%d/%Y"))


def test_score_gives_each_date_the_forecast_of_its_truncated_history(slash_artifact: Path, tmp_path: Path) -> None:
    # Two files that differ only in their last row: inferred from the whole column, the last
    # row's form (13/05 or 05/13) decided how every earlier date read, and so every forecast;
    # and the history cut at an early date was refused as ambiguous while score forecast it.
    predictor = Predictor(slash_artifact)
    outputs = []
    for k, last in enumerate(("13/05/2020", "05/13/2020")):
        src, out = tmp_path / f"p{k}.csv", tmp_path / f"f{k}.csv"
        _ambiguous_prices(last).to_csv(src, index=False)
        result = runner.invoke(app, ["score", str(slash_artifact), str(src), "-o", str(out), "-q"])
        outputs.append((result.exit_code, " ".join(result.output.split()), out))
    assert outputs[0][0] == 0, outputs[0][1]
    assert outputs[1][0] == 2 and "'05/13/2020' at row 49" in outputs[1][1], outputs[1][1]
    scored = pd.read_csv(outputs[0][2])
    prices = _ambiguous_prices("13/05/2020")
    for t in (35, 47):  # dates of March and April whose own text reads both ways
        truncated = predictor.forecast(prices.iloc[:t + 1])
        hit = scored[scored["date"] == truncated["date"]]
        assert len(hit) == 1 and hit["forecast"].iloc[0] == pytest.approx(truncated["forecast"], rel=1e-6)


def test_a_model_trained_on_iso_dates_refuses_slash_dates_at_scoring(tmp_path: Path) -> None:
    artifact = build_market_artifact(tmp_path / "iso", make_prices(n=120))
    predictor = Predictor(artifact)
    assert predictor.market is not None and predictor.market.spec.date_order == "ymd"
    with pytest.raises(DataError, match=r"trained on YYYY-MM-DD dates.*Write the dates as YYYY-MM-DD"):
        predictor.forecast(_slash(make_prices(n=60), "%m/%d/%Y"))


def test_the_date_order_is_checked_and_optional_in_a_spec() -> None:
    with pytest.raises(ConfigError, match="date_order"):
        MarketSpec(date_order="ydm")
    assert "date_order" not in MarketSpec().to_dict()  # older artifacts read as before (inferred)
    assert MarketSpec.from_dict(MarketSpec(date_order="mdy").to_dict()).date_order == "mdy"
