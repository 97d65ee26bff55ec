"""Evaluating a forecaster on another price file never calls dates it was fitted or early-stopped on a test period."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from finlite.data.market import MarketSpec
from finlite.errors import ConfigError, DataError
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
    with pytest.raises(DataError, match=rf"early\.csv has 0 out-of-sample date\(s\) with a label: the model was "
                                        rf"fitted and early-stopped on dates up to {fitted_until}"):
        evaluate_artifact(teacher, tmp_path / "early.csv", timing=False)


def test_a_history_too_short_for_the_models_window_asks_for_more_rows_not_another_window(
        fitted: tuple[Path, Path], tmp_path: Path) -> None:
    """evaluate cannot change the model's window: "use a shorter window (--window)" was the trainer's
    advice, given to the evaluator too (a review, 2026-12-05)."""
    teacher, prices = fitted
    pd.read_csv(prices).iloc[-20:].to_csv(tmp_path / "short.csv", index=False)
    with pytest.raises(DataError, match=r"short\.csv has 20 row\(s\); one forecast needs \d+ .*The window is "
                                        r".*'s own: give at least \d+ rows of history\.") as info:
        evaluate_artifact(teacher, tmp_path / "short.csv", timing=False)
    assert "--window" not in str(info.value)


def test_a_file_extended_with_newer_rows_is_judged_on_every_newer_date(fitted: tuple[Path, Path],
                                                                        tmp_path: Path) -> None:
    """It was judged on its last 20 % of dates only: 80 new dates on 10 (a review, 2026-12-03)."""
    teacher, prices = fitted
    fitted_until = json.loads((teacher / "manifest.json").read_text())["data"]["dates"]["validation"][1]
    result = evaluate_artifact(teacher, prices, timing=False)
    assert result["split"] == f"every date of {prices} after {fitted_until} and the purge"
    # Independently: the file's dates after the fitted period, less the purge (h = 1 date) and the
    # last date (its outcome is not known yet).
    dates = pd.to_datetime(pd.read_csv(prices)["date"])
    assert result["rows"] == int((dates > pd.Timestamp(fitted_until)).sum()) - 1 - 1
    assert result["rows"] > 0.2 * len(dates)  # more than a last-20 % test period would have held
    assert result["forecast"]["folds"] == 3  # the recorded walk's folds cut it into blocks
    # A file of newer rows only (with the history its first windows need) gives the same forecasts.
    pd.read_csv(prices).iloc[200:].to_csv(tmp_path / "newer.csv", index=False)
    newer = evaluate_artifact(teacher, tmp_path / "newer.csv", timing=False)
    assert newer["rows"] == result["rows"]
    assert newer["model"]["rmse"] == pytest.approx(result["model"]["rmse"], rel=1e-9)
    # MASE is scaled by the naive MAE the model's training recorded, not by whatever history the
    # file holds before the fitted date (0.911 on the full file, 1.359 on this one: a review).
    recorded = json.loads((teacher / "manifest.json").read_text())["metrics"]["forecast"]["mase_scale"]["units"]
    pooled = [r["forecast"]["models"]["model"]["pooled"] for r in (result, newer)]
    assert pooled[0]["mase"] == pytest.approx(pooled[1]["mase"], rel=1e-9)
    assert pooled[0]["mase"] == pytest.approx(pooled[0]["mae"] / recorded, rel=1e-9)
    # The headline metrics too, scaled alike (they were null: the task metrics have no naive scale).
    assert result["model"]["mase"] == pytest.approx(result["model"]["mae"] / recorded, rel=1e-12)
    assert result["model"]["mase"] == pytest.approx(pooled[0]["mase"], rel=1e-5)


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
    scale = same["forecast"]["mase_scale"]["units"]
    for side in ("teacher", "student"):  # the baseline and the artifact: each headline MASE scaled alike
        assert same[side]["mase"] == pytest.approx(same[side]["mae"] / scale, rel=1e-12)


def test_a_forged_mase_scale_is_refused_naming_the_field(fitted: tuple[Path, Path], tmp_path: Path) -> None:
    """Read as a number by evaluate's hold-out path: a forged one was a raw ValueError (a review)."""
    import shutil

    from finlite._manifest import manifest_digest
    from finlite.errors import ArtifactError

    teacher, prices = fitted
    for value, shown in (("abc", r".*'abc'.*not an object of positive"), ({}, r"\{\}")):
        forged = tmp_path / f"forged{len(shown)}"
        shutil.copytree(teacher, forged)
        manifest = json.loads((forged / "manifest.json").read_text())
        if isinstance(value, dict):
            manifest["metrics"]["forecast"]["mase_scale"] = value  # MASE would have been null without a word
        else:
            manifest["metrics"]["forecast"]["mase_scale"]["units"] = value
        manifest["manifest_sha256"] = manifest_digest(manifest)  # what a forger with write access does
        (forged / "manifest.json").write_text(json.dumps(manifest))
        with pytest.raises(ArtifactError, match=rf"'metrics\.forecast\.mase_scale' is {shown}"):
            evaluate_artifact(forged, prices, timing=False)


def test_since_judges_only_the_newest_out_of_sample_dates(fitted: tuple[Path, Path], tmp_path: Path) -> None:
    """A file that extends the training one also holds the training run's own test period: since
    judges only its newest dates (a quant's walk-through: there was no way to judge them alone).
    The forecasts of those dates are the ones the whole file gives; an in-sample date is refused."""
    import numpy as np

    from finlite.jobs.evaluate import check_since

    teacher, prices = fitted
    fitted_until = json.loads((teacher / "manifest.json").read_text())["data"]["dates"]["validation"][1]
    everything = evaluate_artifact(teacher, prices, timing=False)
    dates = sorted(pd.to_datetime(pd.read_csv(prices)["date"]).dt.strftime("%Y-%m-%d"))
    since = dates[-40]
    newest = evaluate_artifact(teacher, prices, timing=False, since=since)
    assert newest["split"] == f"every date of {prices} from {since}"
    assert newest["rows"] == 40 - 1  # the last date's outcome is not known yet
    assert newest["forecast"]["models"]["model"]["pooled"]["rows"] == 39 < everything["rows"]
    assert sum(f["rows"] for f in newest["forecast"]["models"]["model"]["folds"]) == 39
    # The windows judged are the whole evaluation's last 39, input for input.
    from finlite.artifact import load, recorded_walk
    from finlite.data.market import prepare_holdout

    art = load(teacher)
    parts = [prepare_holdout(prices, art.market, recorded_walk(art), after=fitted_until, since=day)
             for day in (None, since)]
    assert np.array_equal(parts[1].x_test, parts[0].x_test[-39:])
    assert np.array_equal(parts[1].windows_test.dates, parts[0].windows_test.dates[-39:])
    # Its own training file too: only the dates from since.
    own = evaluate_artifact(teacher, tmp_path / "train.csv", timing=False, since=dates[300])
    assert own["rows"] == 320 - 300 - 1
    # An in-sample date, a date too late for a test and a bad date are refused.
    with pytest.raises(DataError, match=rf"since {dates[10]} falls before the first out-of-sample date of .*full\.csv"
                                        rf".*fitted and early-stopped on dates up to {fitted_until}"):
        evaluate_artifact(teacher, prices, timing=False, since=dates[10])
    with pytest.raises(DataError, match=rf"has 1 date\(s\) with a known outcome from {dates[-2]} on"):
        evaluate_artifact(teacher, prices, timing=False, since=dates[-2])
    for bad in ("2019-02-30", "yesterday", "2019-1-2", 20190102):
        with pytest.raises(ConfigError, match="since must be a date written YYYY-MM-DD"):
            evaluate_artifact(teacher, prices, timing=False, since=bad)
    assert check_since(pd.Timestamp("2019-01-02 15:00")) == np.datetime64("2019-01-02")
    assert check_since(np.datetime64("2019-01-02T10:00")) == np.datetime64("2019-01-02")


def test_since_before_the_baselines_out_of_sample_dates_names_the_baseline(fitted: tuple[Path, Path],
                                                                             tmp_path: Path) -> None:
    """A baseline fitted on more dates refuses a day the artifact accepts; the message said "the
    model was fitted ... up to" the baseline's date without naming the baseline (a review)."""
    teacher, prices = fitted
    frame = pd.read_csv(prices)
    frame.iloc[:360].to_csv(tmp_path / "longer.csv", index=False)
    train_forecaster(tmp_path / "longer.csv", spec=MarketSpec(window=10), model="gru", hidden=(4,),
                     config=TrainConfig(epochs=1, progress=False), out=tmp_path / "later", progress=False)
    until = [json.loads((d / "manifest.json").read_text())["data"]["dates"]["validation"][1]
             for d in (teacher, tmp_path / "later")]
    dates = sorted(frame["date"])
    # Out of sample for the artifact (past its fitted dates and the purge), in sample for the baseline.
    day = next(d for d in dates if d > until[0] and dates.index(d) > dates.index(until[0]) + 1)
    assert day < until[1]
    with pytest.raises(DataError, match=rf"For the baseline .*later: since {day} falls before the first "
                                        r"out-of-sample date"):
        evaluate_artifact(teacher, prices, timing=False, since=day, baseline=tmp_path / "later")


def test_a_period_column_on_a_forecaster_is_refused_naming_the_option(forecast_dir: Path, prices: pd.DataFrame,
                                                                        tmp_path: Path) -> None:
    """--period-column back-tests a credit model's PDs; on a forecaster it was refused with the
    Python API's words for a schema a forecaster has not (an LGD modeller's walk-through, 2026-12-07)."""
    prices.to_csv(tmp_path / "px.csv", index=False)
    with pytest.raises(ConfigError, match=r"period_column back-tests one credit model's PDs period by period; .* is "
                                          r"judged here as a market forecaster\. Drop period_column\."):
        evaluate_artifact(forecast_dir, tmp_path / "px.csv", timing=False, period_column="date")


def test_a_volatility_forecasters_export_and_evaluate_lines_speak_of_no_p_decision_or_direction(
        tmp_path: Path) -> None:
    """A volatility forecaster's export printed "max |Δp| … direction flips 0" and evaluate "max
    |Δp| …, 0 decisions flipped": it has no probability, no cut-off and, never negative, no
    direction (an LGD modeller's walk-through, 2026-12-07). A return forecaster's export still
    counts its direction flips."""
    from typer.testing import CliRunner

    from finlite.cli import app

    runner = CliRunner()
    prices = write_prices(tmp_path / "px.csv", n=320)
    for objective in ("volatility", "return"):
        out = tmp_path / objective
        train_forecaster(prices, spec=MarketSpec(window=10, objective=objective), model="gru", hidden=(4,),
                         config=TrainConfig(epochs=1, progress=False), out=out, progress=False)
        exported = runner.invoke(app, ["export", str(out), "--data", str(prices)])
        assert exported.exit_code == 0, exported.output
        line = next(x for x in exported.output.splitlines() if "model.onnx" in x and "PASS" in x)
        assert "max |Δ| " in line and "max |Δp|" not in line and " flips " not in line.replace("direction flips", "")
        assert ("direction flips" in line) is (objective == "return"), line
        record = json.loads((out / "manifest.json").read_text())["export"]["onnx"]["parity"]
        assert ("direction_flips" in record) is (objective == "return")
    evaluated = runner.invoke(app, ["evaluate", str(tmp_path / "volatility"), str(prices), "--no-timing"])
    assert evaluated.exit_code == 0, evaluated.output
    served = next(x for x in evaluated.output.splitlines() if x.startswith("served model:"))
    assert "agrees with the weights on" in served and "max |Δ| " in served and "decisions flipped" not in served


def test_a_volatility_forecasters_intended_use_names_its_own_peers() -> None:
    """The card told a volatility forecaster's user to compare with buy-and-hold, which its report
    has not (a volatility trades nothing; it is compared with the naive forecast and the EWMA)."""
    from types import SimpleNamespace

    from finlite.jobs.report import _intended_use

    for objective, peers in (("volatility", "the naive forecast and the EWMA"),
                             ("return", "the naive forecast and buy-and-hold")):
        inputs = SimpleNamespace(series=SimpleNamespace(spec=MarketSpec(window=10, objective=objective)))
        assert _intended_use("forecast", inputs).endswith(f"compare with {peers} first.")
