"""The issue's promises on German credit, with the same settings as `make demo`."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

import finlite
from finlite.cli import app


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("demo")
    result = CliRunner().invoke(app, ["demo", "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    return out, result.output


def test_demo_prints_side_by_side_table(demo_dir: tuple[Path, str]) -> None:
    out, text = demo_dir
    for label in ("AUC", "KS", "F1 at cut-off", "agreement at cut-off", "PSI", "size on disk", "latency p50"):
        assert label in text
    assert f"report: {out / 'student' / 'report.md'}" in text
    assert (out / "teacher" / "manifest.json").is_file()
    report = (out / "student" / "report.md").read_text()
    for heading in ("## Swap set", "## Data", "## Pruning plan"):
        assert heading in report
    assert "positive class 'bad'" in report and "layers.0" in report


def test_student_keeps_its_promises(demo_dir: tuple[Path, str]) -> None:
    out, _ = demo_dir
    teacher, student = finlite.load(out / "teacher"), finlite.load(out / "student")
    test = teacher.metrics["test"]
    assert 0.75 <= test["auc"] <= 0.85  # published range 0.77-0.80; seed 0's split lands at about 0.81
    ratios, fidelity = student.metrics["ratios"], student.metrics["fidelity"]
    assert (out / "teacher" / "weights.safetensors").stat().st_size >= 10 * (out / "student" / "weights.safetensors").stat().st_size
    assert ratios["size_ratio"] >= 10
    assert student.metrics["test"]["auc"] >= test["auc"] - 0.01
    assert fidelity["agreement"] >= 0.95
    assert fidelity["psi"] < 0.1
    # The evidence recorded in the manifest is reproduced from the saved files.
    again = finlite.evaluate_artifact(out / "student", finlite.datasets.path("german_credit"),
                                      baseline=out / "teacher", timing=False)
    assert again["fidelity"]["agreement"] == pytest.approx(fidelity["agreement"])
    assert again["student"]["auc"] == pytest.approx(student.metrics["test"]["auc"])
    assert student.plan is not None and student.plan.sparsity() == pytest.approx(0.5, abs=0.01)
    assert student.manifest["sparse_tensors"]  # the pruned layers are stored sparsely
    steps = student.manifest["steps"]
    assert [s["method"] for s in steps] == ["distillation", "magnitude_pruning"]
    assert steps[0]["teacher"]["manifest_sha256"] == teacher.manifest["manifest_sha256"]
