"""`finlite compress --input-bins`: the classic run with a binned student, and the refusals (exit 2)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import finlite
from finlite.cli import app

runner = CliRunner()


@pytest.mark.slow
def test_compress_input_bins_writes_a_student_with_the_teachers_bins(boosted_dir: Path, german_csv: Path,
                                                                    tmp_path: Path) -> None:
    out = tmp_path / "student"
    result = runner.invoke(app, ["compress", str(boosted_dir), str(german_csv), "--input-bins", "16", "--epochs", "3",
                                 "--out", str(out), "--quiet", "--no-timing"])
    assert result.exit_code == 0, result.output
    model = json.loads((out / "manifest.json").read_text())["model"]
    assert model["bins"] and all(1 <= len(edges) <= 15 for _, edges in model["bins"])
    recipe = (out / "recipe.yaml").read_text()
    assert "input_bins: 16" in recipe  # input_bins_from: teacher is the default, left out
    frame = pd.read_csv(german_csv).drop(columns=["creditability"]).head(20)
    assert finlite.load(out).predict_proba(frame).shape == (20, 2)


@pytest.mark.slow
def test_compress_input_bins_refusals_exit_2(boosted_dir: Path, teacher_dir: Path, german_csv: Path,
                                            tmp_path: Path) -> None:
    out = tmp_path / "student"
    cases = [
        ([str(boosted_dir), "--input-bins", "1"], "--input-bins"),
        ([str(boosted_dir), "--input-bins", "300"], "from 2 to 256"),
        ([str(boosted_dir), "--input-bins-from", "quantiles"], "add --input-bins N"),
        ([str(boosted_dir), "--input-bins", "8", "--input-bins-from", "median"], "--input-bins-from"),
        ([str(boosted_dir), "--input-bins", "8", "--preset", "balanced"], "--input-bins sets the single distil-and-prune"),
        ([str(teacher_dir), "--input-bins", "8"], "--input-bins-from quantiles"),
    ]
    for args, message in cases:
        result = runner.invoke(app, ["compress", args[0], str(german_csv), *args[1:], "--epochs", "1", "--out",
                                     str(out), "--quiet", "--no-timing"])
        assert result.exit_code == 2, (args, result.output)
        assert message in result.output and "Traceback" not in result.output, (args, result.output)
    assert not out.exists()
    # A market forecaster's student reads windows: refused, not silently dropped.
    prices = tmp_path / "prices.csv"
    rng = np.random.default_rng(0)
    pd.DataFrame({"date": pd.bdate_range("2020-01-01", periods=320).strftime("%Y-%m-%d"),
                  "close": 100 * np.exp(np.cumsum(rng.normal(0, 0.01, 320)))}).to_csv(prices, index=False)
    market = tmp_path / "market"
    trained = runner.invoke(app, ["train", str(prices), "--task", "forecast", "--date-column", "date", "--target",
                                  "close", "--window", "10", "--model", "gru", "--hidden", "4", "--epochs", "1",
                                  "--out", str(market), "--quiet"])
    assert trained.exit_code == 0, trained.output
    result = runner.invoke(app, ["compress", str(market), str(prices), "--input-bins", "8", "--out", str(out), "--quiet"])
    assert result.exit_code == 2 and "Input bins apply to the numeric columns of a table" in result.output
    assert "(--input-bins 0)" in result.output and not out.exists()
    # A torch teacher takes quantile bins.
    result = runner.invoke(app, ["compress", str(teacher_dir), str(german_csv), "--input-bins", "8", "--input-bins-from",
                                 "quantiles", "--epochs", "1", "--out", str(out), "--quiet", "--no-timing"])
    assert result.exit_code == 0, result.output
    assert json.loads((out / "manifest.json").read_text())["model"]["bins"]
