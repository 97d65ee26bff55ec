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
    assert list(written.columns) == ["date", "horizon", "forecast", "last_price", "probability", "decision"]
    assert (written["horizon"] == predictor.market.spec.horizon).all()
    assert summary.rows == len(written) == len(prices) - WARMUP
    # The dates without a forecast are said, with why (they were left out without a word before).
    assert [n for n in summary.notes if n.startswith("no forecast")] == [
        f"no forecast for the first {WARMUP:,} row(s) of {str(src)!r}: a forecast needs {WARMUP} rows of history "
        f"before its date (the window of {predictor.market.spec.window} steps and its features' look-back)"]
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


def test_a_volatility_forecast_below_zero_is_warned_not_altered(prices: pd.DataFrame, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """A realised volatility cannot be negative; an undertrained model's unconstrained head wrote
    125 of 370 forecasts below 0 without a word (a review of the markets path, 2026-12-03)."""
    from finlite.data.market import impossible_forecast_notes
    from tests.conftest import build_market_artifact

    assert impossible_forecast_notes("volatility", np.array([0.01, 0.02])) == []
    assert impossible_forecast_notes("return", np.array([-0.01])) == []
    [note] = impossible_forecast_notes("volatility", np.array([0.01, -0.0031, -0.001]))
    assert note == ("warning: 2 of 3 volatility forecasts are below 0 (lowest -0.0031), which a realised volatility "
                    "cannot be; the model is poorly fitted there. Read them as 0, and retrain (more epochs or data) "
                    "before relying on it.")
    artifact = build_market_artifact(tmp_path / "vol", prices, "volatility")
    prices.to_csv(tmp_path / "prices.csv", index=False)
    summary = score_file(Predictor(artifact), tmp_path / "prices.csv", tmp_path / "out.csv")
    written = pd.read_csv(tmp_path / "out.csv")["forecast"].to_numpy()
    below = int((written < 0).sum())  # written as the model made them
    assert [n for n in summary.notes if "volatility forecasts are below 0" in n] == (
        [f"warning: {below:,} of {len(written):,} volatility forecasts are below 0 (lowest {written.min():.3g}), which "
         "a realised volatility cannot be; the model is poorly fitted there. Read them as 0, and retrain (more epochs "
         "or data) before relying on it."] if below else [])
    # Forced below zero, whatever this tiny model does: the warning goes through score_file, and
    # the forecasts are written as the model made them.
    original = Predictor.forecast_windows

    def lower(self: Predictor, *args: object, **kwargs: object) -> dict:
        out = original(self, *args, **kwargs)
        return {**out, "forecast": out["forecast"] - 1.0}

    monkeypatch.setattr(Predictor, "forecast_windows", lower)
    forced = score_file(Predictor(artifact), tmp_path / "prices.csv", tmp_path / "low.csv")
    low = pd.read_csv(tmp_path / "low.csv")["forecast"].to_numpy()
    assert (low < 0).all() and any(n.startswith(f"warning: {len(low):,} of {len(low):,} volatility forecasts are below 0")
                                   for n in forced.notes)


def test_a_column_the_artifact_reads_blames_no_option_of_score(forecast_dir: Path, prices: pd.DataFrame,
                                                              tmp_path: Path) -> None:
    """A price file without the artifact's volume column read "--volume-column: ..." under score,
    which has no such option (a review of the markets path, 2026-12-03)."""
    from typer.testing import CliRunner

    from finlite.cli import app

    prices.drop(columns="volume").to_csv(tmp_path / "no_volume.csv", index=False)
    with pytest.raises(DataError, match=r"Column 'volume', named as the volume column .* is not in .*The artifact's "
                                        r"spec names that column") as info:
        score_file(Predictor(forecast_dir), tmp_path / "no_volume.csv", tmp_path / "out.csv")
    assert info.value.param is None
    shown = CliRunner().invoke(app, ["score", str(forecast_dir), str(tmp_path / "no_volume.csv"), "-o",
                                     str(tmp_path / "out.csv")])
    assert shown.exit_code == 2 and shown.output.startswith("error: Column 'volume'"), shown.output


def test_a_history_too_short_for_the_artifact_s_window_blames_no_option(forecast_dir: Path, prices: pd.DataFrame,
                                                                       tmp_path: Path) -> None:
    """It read "Use a shorter window (--window)" and named the file's rows as a column of the spec;
    score has no --window (a review, 2026-12-03)."""
    prices.head(15).to_csv(tmp_path / "short.csv", index=False)
    with pytest.raises(DataError, match=r"has 15 row\(s\); one forecast needs 31 .* The window is .*'s own: give at "
                                        r"least 31 rows of history\.$") as info:
        score_file(Predictor(forecast_dir), tmp_path / "short.csv", tmp_path / "out.csv")
    assert "--window" not in str(info.value) and "spec names that column" not in str(info.value)
