"""A price file end to end through the command line: train -> compress -> evaluate -> export -> score -> bench."""

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


def _prices(path: Path, n: int = 360, seed: int = 3) -> Path:
    rng = np.random.default_rng(seed)
    r = np.zeros(n)
    shocks = rng.normal(0.0, 0.01, n)
    for t in range(1, n):
        r[t] = 0.3 * r[t - 1] + shocks[t]
    frame = pd.DataFrame({"date": pd.bdate_range("2019-01-01", periods=n).strftime("%Y-%m-%d"),
                          "close": 100.0 * np.exp(np.cumsum(r)), "volume": rng.integers(1_000, 2_000, n)})
    frame.to_csv(path, index=False)
    return path


def _ok(args: list[str]) -> str:
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.slow
@pytest.mark.parametrize("objective", ["return", "direction"])
def test_price_file_end_to_end(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, objective: str) -> None:
    monkeypatch.chdir(tmp_path)  # the manifests record the file name: export and bench find it here
    prices = _prices(tmp_path / "prices.csv")
    teacher, student = tmp_path / "teacher", tmp_path / "student"
    _ok(["train", str(prices), "--task", "forecast", "--date-column", "date", "--target", "close", "--objective",
         objective, "--window", "10", "--volume-column", "volume", "--model", "lstm", "--hidden", "16,8",
         "--epochs", "3", "--out", str(teacher), "--quiet"])
    output = _ok(["compress", str(teacher), str(prices), "--out", str(student), "--student-width", "8",
                  "--sparsity", "0.25", "--epochs", "3", "--no-timing", "--quiet"])
    assert "agreement" in output and "buy_and_hold" in output and "naive" in output
    # The market preset runs through the same job; its gates decide (exit 1 when nothing passes), never exit 2.
    preset = "markets" if objective == "return" else "markets_direction"
    gated = runner.invoke(app, ["compress", str(teacher), str(prices), "--out", str(tmp_path / "gated"), "--preset",
                                preset, "--epochs", "2", "--no-timing", "--quiet"])
    assert gated.exit_code in (0, 1), gated.output
    assert "step 1 " in gated.output and "step 3 dynamic_int8" in gated.output
    art = finlite.load(student)
    # Whole recurrent units were pruned: exactly the planned 6 of 8 kept, with every gate block.
    assert art.model.config()["cell"] == "gru" and art.model.config()["hidden"] == [6]
    report = json.loads((student / "report.json").read_text())
    models = report["forecast"]["models"]
    assert {"teacher", "student", "naive"} <= set(models)
    assert "p_value" in models["student"]["diebold_mariano_vs_teacher"]
    assert "buy_and_hold" in report["forecast"]["trading"]
    for path in (teacher, student):
        result = runner.invoke(app, ["export", str(path), "--json"])  # the report's verdict goes to stderr
        assert result.exit_code == 0, result.output
        exported = json.loads(result.stdout)
        parity = exported["onnx"]["parity"]
        assert parity["max_abs_diff"] < 1e-4
        assert parity.get("direction_flips", parity["flips"]) == 0
    evaluated = json.loads(_ok(["evaluate", str(student), str(prices), "--baseline", str(teacher), "--json",
                                "--no-timing"]))
    assert evaluated["served_model"]["status"] == "agrees"
    assert evaluated["forecast"]["rows"] == len(finlite.artifact.prepare_like(art, prices).y_test)
    # The tables' rows compare the artifact with the baseline, as their columns are named: "vs
    # teacher" beside columns named baseline and artifact read as some third model (a walk-through).
    text = _ok(["evaluate", str(student), str(prices), "--baseline", str(teacher), "--no-timing"])
    assert "DM p-value vs baseline (two-sided)" in text and "direction agreement with baseline" in text
    assert ("DM p-value vs baseline (worse)" in text) == (objective == "return")
    assert ("PSI (artifact vs baseline)" in text) == (objective == "direction")
    for said in ("vs teacher", "with teacher", "teacher calls", "student vs", "information_coefficient",
                 "directional_accuracy"):
        assert said not in text  # nor a metric's JSON name in the headline sentence
    scores = tmp_path / "forecasts.csv"
    _ok(["score", str(student), str(prices), "-o", str(scores)])
    frame = pd.read_csv(scores)
    assert len(frame) == 360 - art.market.warmup and frame["forecast"].notna().all()
    bench = json.loads(_ok(["bench", str(student), "--baseline", str(teacher), "--json", "--repeats", "50",
                            "--records", "20", "--batch", "256"]))
    assert "onnxruntime fp32" in bench["speedup_over_baseline"]
