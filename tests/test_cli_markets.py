"""The command line on price files: `finlite train --task forecast`, and bad input exiting 2 with a message naming it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from finlite.cli import app

runner = CliRunner()


def _prices(path: Path, n: int = 320, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    r = rng.normal(0.0, 0.01, n)
    frame = pd.DataFrame({"date": pd.bdate_range("2020-01-01", periods=n).strftime("%Y-%m-%d"),
                          "close": 100.0 * np.exp(np.cumsum(r))})
    frame.to_csv(path, index=False)
    return path


def _train(prices: Path, out: Path, *extra: str) -> object:
    """``train`` on a price file with small defaults; an option in ``extra`` replaces its default
    (an option given twice is refused)."""
    defaults = {"--task": "forecast", "--date-column": "date", "--target": "close", "--window": "10", "--model": "gru",
                "--hidden": "8", "--epochs": "2", "--out": str(out)}
    given = [(name, value) for name, value in defaults.items() if name not in extra]
    return runner.invoke(app, ["train", str(prices), *(part for pair in given for part in pair), "--quiet", *extra])


def test_train_forecast_prints_teacher_naive_and_buy_and_hold(tmp_path: Path) -> None:
    out = tmp_path / "teacher"
    result = _train(_prices(tmp_path / "p.csv"), out, "--objective", "direction", "--folds", "2", "--walk", "rolling",
                    "--embargo", "1")
    assert result.exit_code == 0, result.output
    for word in ("teacher", "naive", "buy_and_hold", "directional accuracy", "long/short Sharpe", "operating point"):
        assert word in result.output, word
    # A direction model's positive class is a move up, not a bad loan (it read "training bad rate").
    assert "the teacher's score at the training share of up moves" in result.output
    assert "bad rate" not in result.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["task"] == "direction" and 0 < manifest["cutoff"] < 1
    walk = manifest["data"]["split"]["config"]
    assert walk["scheme"] == "rolling" and walk["folds"] == 2 and walk["embargo"] == 1


def test_no_date_column_exits_2_naming_it(tmp_path: Path) -> None:
    result = _train(_prices(tmp_path / "p.csv"), tmp_path / "x", "--date-column", "day")
    assert result.exit_code == 2
    assert "'day'" in result.output and "date column" in result.output and "Traceback" not in result.output


def test_text_in_the_price_exits_2_naming_column_date_and_value(tmp_path: Path) -> None:
    path = _prices(tmp_path / "p.csv")
    frame = pd.read_csv(path, dtype=str)
    frame.loc[100, "close"] = "12,5O"
    frame.to_csv(path, index=False)
    result = _train(path, tmp_path / "x")
    assert result.exit_code == 2
    assert "'close'" in result.output and "12,5O" in result.output and frame.loc[100, "date"] in result.output


def test_too_few_rows_for_window_and_folds_exits_2(tmp_path: Path) -> None:
    result = _train(_prices(tmp_path / "p.csv", n=60), tmp_path / "x", "--window", "30")
    assert result.exit_code == 2
    assert "--window" in result.output and "Traceback" not in result.output


def test_horizon_longer_than_the_test_period_exits_2(tmp_path: Path) -> None:
    result = _train(_prices(tmp_path / "p.csv"), tmp_path / "x", "--horizon", "80")
    assert result.exit_code == 2
    assert "horizon" in result.output and "--horizon" in result.output


@pytest.mark.parametrize(("flags", "needle"), [(["--positive", "1"], "--positive"),
                                               (["--model", "xgboost"], "--model"),
                                               (["--objective", "trend"], "objective"),
                                               (["--cutoff", "0.5"], "cutoff")])
def test_options_that_do_not_apply_exit_2(tmp_path: Path, flags: list[str], needle: str) -> None:
    result = _train(_prices(tmp_path / "p.csv"), tmp_path / "x", *flags)
    assert result.exit_code == 2, result.output
    assert needle in result.output and "Traceback" not in result.output


def test_options_that_would_do_nothing_are_refused(tmp_path: Path) -> None:
    """--objective without --markets, and --task direction (the objective says it), exit 2 naming the flag."""
    result = runner.invoke(app, ["demo", "--objective", "return", "--out", str(tmp_path / "d")])
    assert result.exit_code == 2 and "--objective belongs to the market demo" in result.output
    assert not (tmp_path / "d").exists()
    result = runner.invoke(app, ["train", str(tmp_path / "p.csv"), "--target", "close", "--task", "direction",
                                 "--out", str(tmp_path / "t")])
    assert result.exit_code == 2 and "--task must be 'binary'" in result.output


def test_score_takes_threads_for_a_forecaster(forecast_dir: Path, prices: pd.DataFrame, tmp_path: Path) -> None:
    # --threads sets how many blocks of windows are scored at once: the forecasts are the same.
    source = tmp_path / "prices.csv"
    prices.to_csv(source, index=False)
    outputs = []
    for threads in ("1", "2"):
        out = tmp_path / f"f{threads}.csv"
        result = runner.invoke(app, ["score", str(forecast_dir), str(source), "-o", str(out), "--threads", threads,
                                     "--chunk-rows", "16"])
        assert result.exit_code == 0, result.output
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1]
    result = runner.invoke(app, ["score", str(forecast_dir), str(source), "-o", str(tmp_path / "f0.csv"),
                                 "--threads", "0"])
    assert result.exit_code == 2 and "threads" in result.output and not (tmp_path / "f0.csv").exists()


def test_score_and_evaluate_refuse_a_feature_far_beyond_the_training_range(forecast_dir: Path, prices: pd.DataFrame,
                                                                          tmp_path: Path) -> None:
    """A volume of 1e300 on one date: exit 2 naming the feature, the date and the value, and no
    output (it was scored, and a direction model decided on it: a review, 2026-12-06). The date
    is among the file's last, which evaluate judges (its older rows are history only)."""
    wild = prices.copy()
    row = len(wild) - 10
    day = wild["date"].iloc[row]
    wild.loc[row, "volume"] = 1e300
    source = tmp_path / "wild.csv"
    wild.to_csv(source, index=False)
    out = tmp_path / "f.csv"
    for command in (["score", str(forecast_dir), str(source), "-o", str(out)],
                    ["evaluate", str(forecast_dir), str(source)]):
        result = runner.invoke(app, command)
        said = " ".join(result.output.split())
        assert result.exit_code == 2, result.output
        assert re.search(rf"Feature 'volume_change' of \S*wild\.csv at date {day} is 6\d\d\.\d+, far outside what "
                         r"the model was trained on", said), said
        assert "Traceback" not in result.output
    assert not out.exists()


def test_score_says_what_a_forecasters_dates_are_and_refuses_id_columns_by_option(
        forecast_dir: Path, prices: pd.DataFrame, tmp_path: Path) -> None:
    """The date column is where each forecast starts (at h = 5 it joined easily to the wrong date),
    and "id columns do not apply. Drop them." read as "drop the column" (a quant's walk-through)."""
    source = tmp_path / "prices.csv"
    prices.to_csv(source, index=False)
    result = runner.invoke(app, ["score", str(forecast_dir), str(source), "-o", str(tmp_path / "f.csv"), "-q"])
    assert result.exit_code == 0, result.output
    assert "dates in" in result.output and "and for the next row (the date column is where each forecast starts)" \
        in result.output
    result = runner.invoke(app, ["score", str(forecast_dir), str(source), "-o", str(tmp_path / "g.csv"),
                                 "--id-column", "close"])
    assert result.exit_code == 2 and "Leave them out (--id-column); the column itself may stay" in " ".join(
        result.output.split())


def test_score_warns_of_a_forecaster_that_failed_its_gates(forecast_dir: Path, prices: pd.DataFrame,
                                                          tmp_path: Path) -> None:
    """A table's score warned of an artifact exported with --accept-failed-gates; a forecaster's
    said nothing (note61)."""
    import json
    import shutil

    from finlite._manifest import amend_artifact

    art = tmp_path / "forecast"
    shutil.copytree(forecast_dir, art)
    metrics = json.loads((art / "manifest.json").read_text())["metrics"]
    failed = {"passed": False, "message": "directional_accuracy drop 0.031 > max 0.01"}
    amend_artifact(art, {}, {"metrics": {**metrics, "gates_passed": False, "gates": [failed]}})
    source = tmp_path / "prices.csv"
    prices.to_csv(source, index=False)
    result = runner.invoke(app, ["score", str(art), str(source), "-o", str(tmp_path / "f.csv"), "-q"])
    assert result.exit_code == 0, result.output
    assert f"warning: {art} failed its quality gates on the test split (directional_accuracy drop" in result.output
    assert "note: warning" not in result.output
    result = runner.invoke(app, ["score", str(forecast_dir), str(source), "-o", str(tmp_path / "g.csv"), "-q"])
    assert result.exit_code == 0 and "quality gates" not in result.output


def test_a_lightgbm_forecaster_that_found_no_split_exports_and_scores(tmp_path: Path) -> None:
    """120 days leave LightGBM too few rows to split (a constant forecast): the artifact train
    writes must still load, export and score; it was refused as a malformed booster before."""
    prices = _prices(tmp_path / "p.csv", n=120, seed=3)
    out = tmp_path / "t"
    result = runner.invoke(app, ["train", str(prices), "--task", "forecast", "--date-column", "date", "--target",
                                 "close", "--window", "10", "--model", "lightgbm", "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["export", str(out), "--data", str(prices)])
    assert result.exit_code == 0, result.output
    scores = tmp_path / "f.csv"
    result = runner.invoke(app, ["score", str(out), str(prices), "-o", str(scores)])
    assert result.exit_code == 0, result.output
    forecast = pd.read_csv(scores)["forecast"]
    assert len(forecast) > 0 and np.isfinite(forecast).all()


@pytest.mark.parametrize("model", ["lightgbm", "gru"])
def test_a_direction_target_of_one_class_exits_2(tmp_path: Path, model: str) -> None:
    """A price that only rises gives only "up" labels: exit 2 naming it, not a model that always says up."""
    n = 320
    path = tmp_path / "up.csv"
    steps = np.abs(np.random.default_rng(0).normal(0.0, 0.01, n)) + 1e-4
    pd.DataFrame({"date": pd.bdate_range("2020-01-01", periods=n).strftime("%Y-%m-%d"),
                  "close": 100.0 * np.exp(np.cumsum(steps))}).to_csv(path, index=False)
    extra = ["--hidden", "8", "--epochs", "2"] if model == "gru" else []
    result = runner.invoke(app, ["train", str(path), "--task", "forecast", "--date-column", "date", "--target", "close",
                                 "--window", "10", "--model", model, "--objective", "direction", *extra,
                                 "--out", str(tmp_path / "t"), "--quiet"])
    assert result.exit_code == 2, result.output
    assert re.search(r"every training window's move over the horizon of 1 \(\d+ windows\) is up,", result.output)
    assert "--objective return" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "t").exists()
    if model == "lightgbm":  # a price that never moves is told as that, not as falling (a review, 2026-12-04 evening)
        pd.DataFrame({"date": pd.bdate_range("2020-01-01", periods=n).strftime("%Y-%m-%d"),
                      "close": 100.0}).to_csv(path, index=False)
        result = runner.invoke(app, ["train", str(path), "--task", "forecast", "--date-column", "date", "--target",
                                     "close", "--window", "10", "--model", model, "--objective", "direction",
                                     "--out", str(tmp_path / "t"), "--quiet"])
        assert result.exit_code == 2 and "windows) is zero: the price never changes, so" in result.output, result.output


def test_asset_ids_are_read_as_written_and_calendar_notes_are_printed(tmp_path: Path) -> None:
    """Tickers such as 000001 and 600000 (Shanghai), and NA (National Bank of Canada), are ids as
    written: not numbers, not missing; score and evaluate print the file's calendar notes as train does."""
    rng = np.random.default_rng(1)
    days = pd.bdate_range("2020-01-01", periods=300).strftime("%Y-%m-%d")
    ids = ["000001", "600000", "1", "NA"]
    frame = pd.concat([pd.DataFrame({"date": days, "id": asset,
                                     "close": 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.01, len(days))))})
                       for asset in ids])
    frame = frame[~((frame["id"] == "1") & frame["date"].between("2020-06-01", "2020-06-12"))]  # a 2-week gap
    path = tmp_path / "panel.csv"
    frame.to_csv(path, index=False)
    out = tmp_path / "t"
    result = runner.invoke(app, ["train", str(path), "--task", "forecast", "--date-column", "date", "--target", "close",
                                 "--id-column", "id", "--window", "10", "--model", "lightgbm", "--out", str(out),
                                 "--quiet"])
    assert result.exit_code == 0, result.output
    assert "asset '1': 10 business day(s) missing" in result.output
    assert runner.invoke(app, ["export", str(out), "--data", str(path)]).exit_code == 0
    scores = tmp_path / "f.csv"
    result = runner.invoke(app, ["score", str(out), str(path), "-o", str(scores)])
    assert result.exit_code == 0, result.output
    assert "note: asset '1': 10 business day(s) missing" in result.output
    written = pd.read_csv(scores, dtype={"id": str}, keep_default_na=False)
    assert sorted(set(written["id"])) == sorted(ids)
    result = runner.invoke(app, ["evaluate", str(out), str(path), "--no-timing"])
    assert result.exit_code == 0, result.output
    assert "note: asset '1': 10 business day(s) missing" in result.output
    # A stock listed last week (20 rows, short of the 10-step window's history) is left out and named;
    # the others are forecast as before (the whole run was refused: a review, 2026-12-03).
    listed = pd.DataFrame({"date": days[-20:], "id": "NEW", "close": np.linspace(10.0, 11.0, 20)})
    universe = tmp_path / "universe.csv"
    pd.concat([frame, listed]).to_csv(universe, index=False)
    both = tmp_path / "u.csv"
    result = runner.invoke(app, ["score", str(out), str(universe), "-o", str(both)])
    assert result.exit_code == 0, result.output
    assert "asset 'NEW' has 20 row(s) in" in result.output and "no forecast for it" in result.output
    pd.testing.assert_frame_equal(pd.read_csv(both, dtype={"id": str}, keep_default_na=False), written)
    # A file of short assets only is still refused.
    listed.to_csv(tmp_path / "new_only.csv", index=False)
    result = runner.invoke(app, ["score", str(out), str(tmp_path / "new_only.csv"), "-o", str(tmp_path / "n.csv")])
    assert result.exit_code == 2 and "Asset 'NEW'" in result.output and "has 20 row(s); one forecast needs" in result.output


def test_evaluate_since_judges_the_newest_dates_and_refuses_in_flags(forecast_dir: Path, prices: pd.DataFrame,
                                                                      tmp_path: Path) -> None:
    """--since: the out-of-sample dates from that day on; an in-sample or malformed date exits 2
    with the flag named, no traceback."""
    source = tmp_path / "prices.csv"
    prices.to_csv(source, index=False)
    since = str(prices["date"].iloc[-30])
    result = runner.invoke(app, ["evaluate", str(forecast_dir), str(source), "--since", since, "--no-timing", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["rows"] == 29 and f"from {since}" in json.loads(result.stdout)["split"]
    for bad, said in ((str(prices["date"].iloc[5]), rf"--since {prices['date'].iloc[5]} falls before the first "
                                                     "out-of-sample date"),
                      ("2019-13-01", "--since must be a date written YYYY-MM-DD")):
        result = runner.invoke(app, ["evaluate", str(forecast_dir), str(source), "--since", bad, "--no-timing"])
        assert result.exit_code == 2 and re.search(said, " ".join(result.output.split())), result.output
        assert "Traceback" not in result.output
