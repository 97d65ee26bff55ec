"""The command line, driven with typer's CliRunner: help, the full path on an unseen CSV, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import finlite
from finlite.cli import app

runner = CliRunner()
COMMANDS = [["train"], ["compress"], ["evaluate"], ["inspect"], ["demo"], ["export"], ["score"], ["serve"], ["bench"], ["sign"], ["import-teacher"],
            ["datasets"], ["datasets", "list"],
            ["datasets", "path"]]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_help_everywhere(command: list[str]) -> None:
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0
    assert "Usage" in result.output


def test_datasets_list_and_path() -> None:
    result = runner.invoke(app, ["datasets", "list"])
    assert result.exit_code == 0 and "german_credit: 1000 rows" in result.output and "CC BY 4.0" in result.output
    path = runner.invoke(app, ["datasets", "path", "german_credit"]).output.strip()
    assert Path(path).is_file()
    bad = runner.invoke(app, ["datasets", "path", "german"])
    assert bad.exit_code == 2 and "Did you mean 'german_credit'" in bad.output


def test_train_compress_evaluate_on_unseen_csv(loans_csv: Path, tmp_path: Path) -> None:
    teacher, student = tmp_path / "teacher", tmp_path / "student"
    result = runner.invoke(app, ["train", str(loans_csv), "--target", "defaulted", "--out", str(teacher),
                                 "--hidden", "64,32", "--epochs", "40", "--quiet"])
    assert result.exit_code == 0, result.output
    assert "positive 'yes'" in result.output and "loan_id" in result.output
    assert (teacher / "manifest.json").is_file()
    plan_file = tmp_path / "plan.json"
    result = runner.invoke(app, ["compress", str(teacher), str(loans_csv), "--out", str(student),
                                 "--student-width", "8", "--sparsity", "0.5", "--structured",
                                 "--save-plan", str(plan_file), "--quiet"])
    assert result.exit_code == 0, result.output
    assert "agreement at cut-off" in result.output and (student / "report.md").is_file()
    assert finlite.load(student).model.hidden == (4,)
    assert json.loads(plan_file.read_text())["layers"][0]["kept"] == 4
    result = runner.invoke(app, ["evaluate", str(student), str(loans_csv), "--baseline", str(teacher),
                                 "--json", "--no-timing"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["split"] == "test" and report["rows"] == 120
    assert report["fidelity"]["agreement"] > 0.8
    assert report["student"]["model_bytes"] < report["teacher"]["model_bytes"]
    single = runner.invoke(app, ["evaluate", str(teacher), str(loans_csv), "--no-timing"])
    assert single.exit_code == 0 and "auc" in single.output
    shown = runner.invoke(app, ["inspect", str(student)])
    assert shown.exit_code == 0 and "hashes verified" in shown.output and "pruning plan" in shown.output


def test_dry_run_then_apply_edited_plan(teacher_dir: Path, german_csv: Path, tmp_path: Path) -> None:
    plan_file = tmp_path / "plan.json"
    result = runner.invoke(app, ["compress", str(teacher_dir), str(german_csv), "--dry-run", "--save-plan",
                                 str(plan_file), "--sparsity", "0.6", "--quiet"])
    assert result.exit_code == 0, result.output
    assert "overall sparsity 60.0%" in result.output and not (tmp_path / "student").exists()
    plan = json.loads(plan_file.read_text())
    plan["layers"][0]["pruned"] = plan["layers"][0]["pruned"][:100]
    plan["layers"][0]["pruned_count"] = 100
    plan_file.write_text(json.dumps(plan))
    out = tmp_path / "student"
    result = runner.invoke(app, ["compress", str(teacher_dir), str(german_csv), "--plan", str(plan_file),
                                 "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    art = finlite.load(out)
    assert art.plan is not None and len(art.plan.layers[0].pruned) == 100
    # The fine-tuned weights keep exactly the edited plan's zeros.
    weight = art.model.layers[0].weight.flatten()
    assert set((weight == 0).nonzero().flatten().tolist()) >= set(art.plan.layers[0].pruned)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["train", "missing.csv", "--target", "y", "--out", "o"], "missing.csv' does not exist"),
        (["train", "{loans}", "--target", "default", "--out", "o"], "Did you mean 'defaulted'"),
        (["train", "{loans}", "--target", "defaulted", "--positive", "bad", "--out", "o"], "Positive class 'bad'"),
        (["train", "{loans}", "--target", "defaulted", "--out", "o", "--hidden", "a,b"], "--hidden takes positive"),
        (["train", "{loans}", "--target", "defaulted", "--out", "o", "--cutoff", "1.5"], "'cutoff' parameter"),
        (["compress", "nowhere", "{loans}", "--out", "o"], "'nowhere' is not a directory"),
        (["evaluate", "nowhere", "{loans}"], "is not a directory"),
    ],
)
def test_bad_input_exits_2_with_message(args: list[str], message: str, loans_csv: Path,
                                        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, [a.replace("{loans}", str(loans_csv)) for a in args])
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "o").exists()


def test_compress_with_other_data_is_refused(teacher_dir: Path, loans_csv: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["compress", str(teacher_dir), str(loans_csv), "--out", str(tmp_path / "s")])
    assert result.exit_code == 2
    assert "is not the table" in result.output and "test split stays unseen" in result.output


def test_compress_needs_out_or_dry_run(teacher_dir: Path, german_csv: Path) -> None:
    result = runner.invoke(app, ["compress", str(teacher_dir), str(german_csv)])
    assert result.exit_code == 2 and "Missing --out" in result.output
    result = runner.invoke(app, ["compress", str(teacher_dir), str(german_csv), "--dry-run"])
    assert result.exit_code == 2 and "--dry-run needs --save-plan" in result.output


def test_train_overrides_wire_through(loans_csv: Path, tmp_path: Path) -> None:
    out = tmp_path / "logit"
    result = runner.invoke(app, ["train", str(loans_csv), "--target", "defaulted", "--positive", "yes",
                                 "--model", "logistic", "--drop", "home_ownership", "--categorical", "utilisation",
                                 "--date-column", "application_date", "--cutoff", "0.3", "--seed", "5",
                                 "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    art = finlite.load(out)
    assert art.manifest["model"]["kind"] == "logistic" and art.cutoff == 0.3 and art.manifest["seed"] == 5
    assert "home_ownership" in art.schema.drop and "utilisation" in art.schema.categorical
    assert art.manifest["data"]["split"]["method"] == "out-of-time"
    again = runner.invoke(app, ["train", str(loans_csv), "--target", "defaulted", "--out", str(out), "--quiet"])
    assert again.exit_code == 2 and "already exists" in again.output
