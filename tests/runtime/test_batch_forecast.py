"""score_file on a price file: one forecast per date with enough history, written atomically, and
never changed by later rows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from finlite.errors import DataError
from finlite.runtime import Predictor
from finlite.runtime.batch import score_file

WARMUP = 30  # 21 rows of feature look-back + a window of 10 - 1 (tests/conftest.py builds window 10)


def test_score_file_writes_one_forecast_per_date(direction_dir: Path, prices: pd.DataFrame, tmp_path: Path) -> None:
    src, out = tmp_path / "prices.csv", tmp_path / "forecasts.csv"
    prices.to_csv(src, index=False)
    predictor = Predictor(direction_dir)
    summary = score_file(predictor, src, out, chunk_rows=50)
    written = pd.read_csv(out)
    assert list(written.columns) == ["date", "forecast", "last_price", "probability", "decision"]
    assert summary.rows == len(written) == len(prices) - WARMUP
    expected = predictor.forecast_all(prices)
    assert written["date"].tolist() == [str(d) for d in expected["date"]]
    assert np.abs(written["probability"].to_numpy() - expected["probability"]).max() < 1e-6
    assert summary.positives == int(written["decision"].sum())
    parquet = tmp_path / "forecasts.parquet"
    score_file(predictor, src, parquet)
    assert np.abs(pd.read_parquet(parquet)["forecast"].to_numpy() - expected["forecast"]).max() < 1e-6


def test_score_file_forecasts_never_see_later_rows(forecast_dir: Path, prices: pd.DataFrame, tmp_path: Path) -> None:
    """The same file with its last 25 rows changed gives identical forecasts for every earlier date."""
    changed = prices.copy()
    rng = np.random.default_rng(11)
    changed.loc[len(prices) - 25:, "close"] *= np.exp(rng.normal(0, 0.05, 25))
    changed.loc[len(prices) - 25:, "volume"] = rng.integers(1, 10**6, 25).astype(float)
    predictor = Predictor(forecast_dir)
    outputs = []
    for name, frame in (("a", prices), ("b", changed)):
        frame.to_csv(tmp_path / f"{name}.csv", index=False)
        score_file(predictor, tmp_path / f"{name}.csv", tmp_path / f"{name}_out.csv")
        outputs.append(pd.read_csv(tmp_path / f"{name}_out.csv"))
    before, after = outputs
    first_changed = prices["date"].iloc[len(prices) - 25]
    earlier = before["date"] < first_changed
    assert earlier.sum() == len(prices) - WARMUP - 25
    pd.testing.assert_frame_equal(before[earlier], after[earlier])
    assert (before.loc[~earlier, "forecast"].to_numpy() != after.loc[~earlier, "forecast"].to_numpy()).any()


def test_score_file_refuses_a_bad_price_file_and_leaves_no_output(forecast_dir: Path, prices: pd.DataFrame,
                                                                  tmp_path: Path) -> None:
    bad = prices.astype({"close": object})
    bad.loc[100, "close"] = "twelve"
    src, out = tmp_path / "bad.csv", tmp_path / "out.csv"
    bad.to_csv(src, index=False)
    predictor = Predictor(forecast_dir)
    with pytest.raises(DataError, match=rf"'close'.*'twelve'.*{prices['date'][100]}"):
        score_file(predictor, src, out)
    assert not out.exists() and [p.name for p in tmp_path.iterdir()] == ["bad.csv"]
    prices.to_csv(src, index=False)
    with pytest.raises(DataError, match="id columns"):
        score_file(predictor, src, out, id_columns=["date"])
