"""``finlite reproduce``: exit 0 when the recorded run is reproduced, 1 when not, 2 for bad input.

Driven on a teacher (training it again is cheap; a student's rerun is a compress with its full
report, tested in tests/jobs/test_reproduce.py): the command's plumbing is the same.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

import finlite
from finlite._manifest import amend_artifact
from finlite.cli import app
from finlite.data.io import frame_sha256, read_table

runner = CliRunner()


def test_help() -> None:
    result = runner.invoke(app, ["reproduce", "--help"])
    assert result.exit_code == 0 and "--teacher" in result.output and "--json" in result.output


def test_a_teacher_reproduces_with_exit_0_and_json(teacher_dir: Path, german_csv: Path) -> None:
    result = runner.invoke(app, ["reproduce", str(teacher_dir), str(german_csv), "--quiet"])
    assert result.exit_code == 0, result.output
    recorded = finlite.load(teacher_dir).manifest
    auc = recorded["metrics"]["test"]["auc"]
    line = next(row for row in result.output.splitlines() if row.startswith("test.auc "))
    assert line.split()[1:] == [f"{auc:.12g}", f"{auc:.12g}", "yes"]
    assert "weights match: yes" in result.output and "reproduced: the same metrics and weights" in result.output
    as_json = runner.invoke(app, ["reproduce", str(teacher_dir), str(german_csv), "--json", "--quiet"])
    assert as_json.exit_code == 0
    payload = json.loads(as_json.stdout)
    assert payload["matched"] is True and payload["job"] == "train --model mlp"
    assert payload["files"]["weights.safetensors"]["reproduced"] == recorded["files"]["weights.safetensors"]
    assert {"metric": "test.auc", "recorded": auc, "reproduced": auc, "match": True} in payload["metrics"]


def test_a_tampered_record_exits_1(teacher_dir: Path, german_csv: Path, tmp_path: Path) -> None:
    copy = tmp_path / "teacher"
    shutil.copytree(teacher_dir, copy)
    metrics = finlite.load(copy).manifest["metrics"]
    metrics["test"]["ks"] = 0.5 if metrics["test"]["ks"] != 0.5 else 0.25
    amend_artifact(copy, {}, {"metrics": metrics})  # the manifest's digest is updated: the copy loads
    result = runner.invoke(app, ["reproduce", str(copy), str(german_csv), "--quiet"])
    assert result.exit_code == 1, result.output
    line = next(row for row in result.output.splitlines() if row.startswith("test.ks "))
    assert line.split()[-1] == "NO" and "NOT reproduced" in result.output


def test_other_data_exits_2_naming_both_hashes(teacher_dir: Path, german: pd.DataFrame, tmp_path: Path) -> None:
    other = tmp_path / "other.csv"
    german.head(900).to_csv(other, index=False)
    found = frame_sha256(read_table(other).frame)
    recorded = finlite.load(teacher_dir).manifest["data"]["content_sha256"]
    result = runner.invoke(app, ["reproduce", str(teacher_dir), str(other)])
    assert result.exit_code == 2
    assert f"content sha256 is {found}, the manifest records {recorded}" in result.output
    assert "Traceback" not in result.output


def test_a_teacher_option_on_a_teacher_exits_2(teacher_dir: Path, german_csv: Path) -> None:
    result = runner.invoke(app, ["reproduce", str(teacher_dir), str(german_csv), "--teacher", str(teacher_dir)])
    assert result.exit_code == 2 and "--teacher" in result.output and "applies to a student" in result.output


def test_an_unsigned_artifact_is_refused_with_a_verify_key_before_anything_runs(teacher_dir: Path, german_csv: Path,
                                                                               tmp_path: Path) -> None:
    from tests.test_signing import make_key

    _, public = make_key(tmp_path, "ed25519")
    result = runner.invoke(app, ["reproduce", str(teacher_dir), str(german_csv), "--verify-key", str(public)])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "signature" in result.output.lower()


def test_a_recipe_that_is_not_utf8_is_named(exported_dir: Path, teacher_dir: Path, german_csv: Path,
                                            tmp_path: Path) -> None:
    """It read "a file that should be text is not UTF-8" without naming recipe.yaml, which compress
    --recipe names (a review, 2026-12-04)."""
    copy = tmp_path / "student"
    shutil.copytree(exported_dir, copy)
    amend_artifact(copy, {"recipe.yaml": b"steps:\n  - method: distillation # caf\xe9\n"}, {})
    result = runner.invoke(app, ["reproduce", str(copy), str(german_csv), "--teacher", str(teacher_dir), "--quiet"])
    assert result.exit_code == 2, result.output
    assert "recipe.yaml' is not UTF-8 text (byte 37 is b'\\xe9')" in " ".join(result.output.split())
    assert "Traceback" not in result.output


def test_a_teacher_made_before_the_unseen_averaging_still_reproduces(german_csv: Path, tmp_path: Path) -> None:
    """Since 2026-12-04 a trained teacher's unseen buckets get an average category's weights, and
    its train step records it; an artifact without the record (made before) is trained again
    without it, so its weights still match (the diff's review: every older artifact would
    otherwise be "not reproduced" with no reason given)."""
    from finlite.training.unseen import RECORD_KEY, averaging

    config = finlite.TrainConfig(epochs=3, progress=False)
    with averaging(False):
        finlite.train(german_csv, target="creditability", hidden=(8,), config=config, out=tmp_path / "old")
    finlite.train(german_csv, target="creditability", hidden=(8,), config=config, out=tmp_path / "new")
    old, new = (finlite.load(tmp_path / name).manifest for name in ("old", "new"))
    assert RECORD_KEY not in old["steps"][0] and new["steps"][0][RECORD_KEY] == 13  # German's 13 categoricals
    assert old["files"]["weights.safetensors"] != new["files"]["weights.safetensors"]
    for name in ("old", "new"):
        result = runner.invoke(app, ["reproduce", str(tmp_path / name), str(german_csv), "--quiet"])
        assert result.exit_code == 0 and "weights match: yes" in result.output, (name, result.output)


def test_a_signed_student_of_an_unsigned_teacher_says_the_teacher_is_unsigned(german_csv: Path,
                                                                             tmp_path: Path) -> None:
    """With --verify-key, a signed student whose teacher is there but unsigned was told "missing or
    changed" (note 69's leftover): the teacher is named as unsigned, with the fix."""
    from finlite.signing import sign_artifact
    from tests.conftest import FAST
    from tests.test_signing import make_key

    finlite.train(german_csv, target="creditability", model="logistic", progress=False, out=tmp_path / "t")
    finlite.compress(tmp_path / "t", german_csv, student_hidden=(4,), config=FAST, fine_tune=FAST,
                     out=tmp_path / "s", timing=False, progress=False)
    private, public = make_key(tmp_path, "ed25519")
    sign_artifact(tmp_path / "s", private)
    result = runner.invoke(app, ["reproduce", str(tmp_path / "s"), str(german_csv), "--verify-key", str(public)])
    assert result.exit_code == 2 and "Traceback" not in result.output
    said = " ".join(result.output.split())
    assert "is there but not signed by the trusted key" in said and "missing or changed" not in said
