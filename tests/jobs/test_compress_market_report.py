"""report.md of a compressed market forecaster records the walk-forward split it was judged on."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from finlite._manifest import amend_artifact
from finlite.data.market import MarketSpec
from finlite.data.walkforward import WalkForward
from finlite.errors import FinliteWarning
from finlite.jobs.compress import compress
from finlite.jobs.forecast import train_forecaster
from finlite.jobs.report import rebuild_report
from finlite.training.loop import TrainConfig
from tests.jobs.test_forecast import write_prices

QUICK = TrainConfig(epochs=2, progress=False)


def test_compress_report_names_the_walk_forward_settings(tmp_path: Path) -> None:
    prices = write_prices(tmp_path / "prices.csv", n=260)
    teacher = tmp_path / "teacher"
    train_forecaster(prices, spec=MarketSpec(window=5), model="gru", hidden=(4,), config=QUICK,
                     walk=WalkForward(folds=2, embargo=1), out=teacher, progress=False)
    compress(teacher, prices, student_hidden=(2,), config=QUICK, fine_tune=QUICK, out=tmp_path / "student",
             progress=False)
    text = (tmp_path / "student" / "report.md").read_text()
    assert text.index("## Verdict") < text.index("## WARNING") < text.index("| metric |")
    assert "Validation report status: " in text and "The recipe had no gates" in text
    line = next(ln for ln in text.splitlines() if ln.startswith("walk-forward:"))
    # The settings the split was made with, not an empty mapping.
    for part in ("scheme=expanding", "folds=2", "embargo=1", "test_fraction=0.2", "gap=2 date(s)"):
        assert part in line, (part, line)
    # One MASE: the evidence (what `finlite evaluate --json` prints) and the report's section
    # scale by the same naive MAE on the training windows.
    report = json.loads((tmp_path / "student" / "report.json").read_text())
    section = next(s for s in report["sections"] if s["id"] == "forecast_accuracy")
    scale = report["forecast"]["mase_scale"]["units"]
    for model in ("teacher", "student"):
        assert report["forecast"]["models"][model]["pooled"]["mase"] == pytest.approx(
            section["metrics"]["models"][model]["mase"]["value"], rel=1e-9)
        # The headline too (report.json's teacher/student and the manifest's test metrics): its MAE
        # over the same scale, where it was null (a validator's walk-through, 2026-12-06).
        assert report[model]["mase"] == pytest.approx(report[model]["mae"] / scale, rel=1e-12)
        assert report[model]["mase"] == pytest.approx(report["forecast"]["models"][model]["pooled"]["mase"],
                                                      rel=1e-5)
    manifest = json.loads((tmp_path / "student" / "manifest.json").read_text())
    assert manifest["metrics"]["test"]["mase"] == report["student"]["mase"]
    assert manifest["metrics"]["teacher_test"]["mase"] == report["teacher"]["mase"]
    # finlite report on the data builds every section again: the same headline MASE.
    rebuilt = rebuild_report(tmp_path / "student", prices, out=tmp_path / "rebuilt")
    again = json.loads((rebuilt / "report.json").read_text())
    assert [again[m]["mase"] for m in ("teacher", "student")] == [report[m]["mase"] for m in ("teacher", "student")]
    # 260 prices leave about 45 test windows: the report itself warns (its summary at least WARN),
    # not only the evidence's table and the card (a review, 2026-12-05).
    thin = [f"warning: {w}" for w in report["forecast"]["warnings"]]
    assert thin and thin[0].startswith("warning: the test period holds")
    assert set(thin) <= set(report["warnings"])
    summary = next(s for s in report["sections"] if s["id"] == "summary")
    assert summary["status"] in ("WARN", "FAIL") and report["status"] in ("WARN", "FAIL")


def test_a_direction_students_report_speaks_of_up_moves_not_bad_loans(tmp_path: Path) -> None:
    """The operating point and the swap set of a direction forecaster read "bad rate" (reviews,
    2026-12-03): its positive class is a move up."""
    prices = write_prices(tmp_path / "prices.csv", n=260)
    teacher = tmp_path / "teacher"
    train_forecaster(prices, spec=MarketSpec(window=5, objective="direction"), model="gru", hidden=(4,), config=QUICK,
                     walk=WalkForward(folds=2), out=teacher, progress=False)
    compress(teacher, prices, student_hidden=(2,), config=QUICK, fine_tune=QUICK, out=tmp_path / "student",
             progress=False)
    text = (tmp_path / "student" / "report.md").read_text()
    assert "the training share of up moves" in text and "(share of up moves " in text
    assert "bad rate" not in text


def test_a_direction_model_whose_test_period_only_rose_is_evaluated_and_compressed(tmp_path: Path) -> None:
    """A test period of up moves only (a bull market at a long horizon): training reported it, then
    evaluate and compress stopped on "AUC needs both classes among the rows" (a review, 2026-12-04
    evening). Its calls are judged; AUC and KS, which need a down move to rank against, are null."""
    import numpy as np
    import pandas as pd

    from finlite.artifact import load
    from finlite.jobs.evaluate import evaluate_artifact

    n = 300
    r = np.random.default_rng(0).normal(0, 0.01, n)
    r[200:] = np.abs(r[200:])
    prices = tmp_path / "uptail.csv"
    pd.DataFrame({"date": pd.bdate_range("2020-01-01", periods=n).strftime("%Y-%m-%d"),
                  "close": 100 * np.exp(np.cumsum(r))}).to_csv(prices, index=False)
    teacher = tmp_path / "teacher"
    train_forecaster(prices, spec=MarketSpec(window=10, objective="direction"), model="gru", hidden=(4,), config=QUICK,
                     out=teacher, progress=False)
    alone = evaluate_artifact(teacher, prices, timing=False)
    assert alone["model"]["auc"] is None and alone["model"]["ks"] is None
    assert 0.0 <= alone["model"]["directional_accuracy"] <= 1.0
    compress(teacher, prices, student_hidden=(2,), config=QUICK, fine_tune=QUICK, out=tmp_path / "student",
             progress=False)
    student = load(tmp_path / "student")  # its manifest's null AUC reads back
    assert student.manifest["metrics"]["test"]["auc"] is None
    both = evaluate_artifact(tmp_path / "student", prices, baseline=teacher, timing=False)
    assert both["student"]["auc"] is None and both["fidelity"]["agreement"] is not None
    from finlite.jobs.export import export_artifact

    record = export_artifact(teacher, prices, int8=True)  # the int8 file's AUC against float: null too
    assert record["onnx_int8"]["against_float"]["auc_float"] is None
    # A gate on a ranking metric cannot be judged there, and says why (not MAPE's or McNemar's reasons).
    from finlite.errors import ConfigError
    from finlite.recipe.gates import Gate

    with pytest.raises(ConfigError, match=r"The gate 'auc' cannot be judged: it ranks rows of two classes, and the "
                                          r"\d+ rows judged hold one \(a direction forecaster's test period"):
        Gate("auc", max_drop=0.5).check(both["student"], both["teacher"])


def test_a_teacher_kept_at_its_first_epoch_is_said_in_the_students_report(tmp_path: Path) -> None:
    """The teacher's training warned of it, the student's report and card said nothing (note67)."""
    prices = write_prices(tmp_path / "prices.csv", n=260)
    teacher = tmp_path / "teacher"
    train_forecaster(prices, spec=MarketSpec(window=5), model="gru", hidden=(4,), config=QUICK,
                     walk=WalkForward(folds=2), out=teacher, progress=False)
    steps = json.loads((teacher / "manifest.json").read_text())["steps"]
    assert steps[0]["step"] == "train"
    first = tmp_path / "first"
    shutil.copytree(teacher, first)
    amend_artifact(first, {}, {"steps": [{**steps[0], "best_epoch": 0, "epochs_run": 7}, *steps[1:]]})
    said = "warning: the teacher's early stopping kept its first epoch of 7"
    with pytest.warns(FinliteWarning, match=said):
        compress(first, prices, student_hidden=(2,), config=QUICK, fine_tune=QUICK, out=tmp_path / "student",
                 progress=False)
    report = json.loads((tmp_path / "student" / "report.json").read_text())
    assert report["teacher_training"] == {"best_epoch": 0, "epochs_run": 7}
    assert any(w.startswith(said) for w in report["warnings"])
    summary = next(s for s in report["sections"] if s["id"] == "summary")
    assert summary["status"] != "PASS" and any(n.startswith(said) for n in summary["notes"])
    # finlite report with the data reads the teacher's manifest again and says it too.
    rebuilt = json.loads((rebuild_report(tmp_path / "student", prices, out=tmp_path / "again") / "report.json")
                         .read_text())
    assert any(w.startswith(said) for w in rebuilt["warnings"])
    # A teacher that improved after its first epoch: no such warning.
    amend_artifact(first, {}, {"steps": [{**steps[0], "best_epoch": 1, "epochs_run": 7}, *steps[1:]]})
    plain = compress(first, prices, student_hidden=(2,), config=QUICK, fine_tune=QUICK, progress=False)
    assert plain.report["teacher_training"] == {"best_epoch": 1, "epochs_run": 7}
    assert not any("the teacher's early stopping" in w for w in plain.report.get("warnings") or [])
