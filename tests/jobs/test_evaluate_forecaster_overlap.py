"""Evaluating a forecaster on another price file never calls dates it was fitted or early-stopped on a test period."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from finlite.data.market import MarketSpec
from finlite.errors import DataError
from finlite.jobs.evaluate import evaluate_artifact
from finlite.jobs.forecast import train_forecaster
from finlite.training.loop import TrainConfig
from tests.jobs.test_forecast import write_prices


@pytest.fixture
def fitted(tmp_path: Path) -> tuple[Path, Path]:
    prices = write_prices(tmp_path / "full.csv", n=400)
    frame = pd.read_csv(prices)
    frame.iloc[:320].to_csv(tmp_path / "train.csv", index=False)
    train_forecaster(tmp_path / "train.csv", spec=MarketSpec(window=10), model="gru", hidden=(4,),
                     config=TrainConfig(epochs=1, progress=False), out=tmp_path / "t", progress=False)
    return tmp_path / "t", prices


def test_a_file_whose_test_period_overlaps_the_fitted_dates_is_refused(fitted: tuple[Path, Path],
                                                                         tmp_path: Path) -> None:
    teacher, prices = fitted
    fitted_until = json.loads((teacher / "manifest.json").read_text())["data"]["dates"]["validation"][1]
    # The first 250 rows: their last 20 % of dates lie inside the training part.
    pd.read_csv(prices).iloc[:250].to_csv(tmp_path / "early.csv", index=False)
    with pytest.raises(DataError, match=rf"early\.csv.*starts on 20\d\d-\d\d-\d\d.*{fitted_until}.*in-sample"):
        evaluate_artifact(teacher, tmp_path / "early.csv", timing=False)


def test_a_file_extended_with_newer_rows_is_evaluated(fitted: tuple[Path, Path]) -> None:
    teacher, prices = fitted
    result = evaluate_artifact(teacher, prices, timing=False)
    assert result["split"].startswith("test period of") and result["rows"] > 0


def test_a_baseline_of_another_objective_is_refused(forecast_dir: Path, prices: pd.DataFrame, tmp_path: Path) -> None:
    """return, volatility and price are all regressions: a volatility model was accepted as a
    return model's baseline, with direction agreement and trading figures (a review, 2026-12-03)."""
    from finlite.errors import ConfigError
    from tests.conftest import build_market_artifact

    volatility = build_market_artifact(tmp_path / "vol", prices, "volatility")
    prices.to_csv(tmp_path / "prices.csv", index=False)
    with pytest.raises(ConfigError, match=r"forecasts something else than .* \(objective 'volatility' against "
                                          r"'return'\)\. Compare it with a forecaster of the same objective"):
        evaluate_artifact(forecast_dir, tmp_path / "prices.csv", baseline=volatility, timing=False)
    same = evaluate_artifact(forecast_dir, tmp_path / "prices.csv", baseline=forecast_dir, timing=False)
    assert same["rows"] > 0
