"""No option destroys input: --out, -o, --save-plan, --audit-log never land on, over or inside an
input, and --force replaces only a finlite artifact folder (or an empty folder), never a user's
file or folder. Every refusal is exit code 2 with a message naming both paths, before any work,
and the input is intact byte for byte afterwards."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import finlite
from finlite import _paths
from finlite.artifact import save_artifact
from finlite.cli import app
from finlite.errors import ArtifactError, ConfigError, DataError
from finlite.runtime import Predictor
from finlite.runtime.batch import score_file
from tests.conftest import FAST

runner = CliRunner()
NOT_INPUT = "writing there would destroy an input, so finlite refuses it (with or without --force)"


def snapshot(path: Path) -> dict[str, bytes]:
    """Every file under ``path`` (or the file itself) with its bytes."""
    if path.is_file():
        return {"": path.read_bytes()}
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


def invoke(args: list[str]) -> tuple[int, str]:
    result = runner.invoke(app, [str(a) for a in args])
    return result.exit_code, " ".join(result.output.split())  # unwrap, whatever the terminal width


@pytest.fixture()
def teacher(teacher_dir: Path, tmp_path: Path) -> Path:
    """A private copy of the session teacher, safe to point --out at."""
    return Path(shutil.copytree(teacher_dir, tmp_path / "teacher"))


@pytest.fixture()
def book(german: pd.DataFrame, tmp_path: Path) -> Path:
    path = tmp_path / "book.csv"
    german.head(40).to_csv(path, index=False)
    return path


# -- the three cases of the issue ------------------------------------------------------------------
def test_train_out_containing_its_data_is_refused(loans_csv: Path) -> None:
    proj = loans_csv.parent
    before = snapshot(proj)
    code, out = invoke(["train", loans_csv, "--target", "defaulted", "--out", proj, "--force", "-q"])
    assert code == 2
    assert f"--out {str(proj)!r} contains the data file {str(loans_csv)!r}: {NOT_INPUT}" in out
    assert snapshot(proj) == before


def test_compress_out_onto_its_teacher_is_refused(teacher: Path, german_csv: Path) -> None:
    before = snapshot(teacher)
    code, out = invoke(["compress", teacher, german_csv, "--out", teacher, "--force", "-q"])
    assert code == 2 and f"--out {str(teacher)!r} is the teacher artifact {str(teacher)!r}: {NOT_INPUT}" in out
    inside = teacher / "student"
    code, out = invoke(["compress", teacher, german_csv, "--out", inside, "--force", "-q"])
    assert code == 2 and f"--out {str(inside)!r} is inside the teacher artifact {str(teacher)!r}" in out
    assert snapshot(teacher) == before and finlite.load(teacher).manifest["role"] == "teacher"


@pytest.mark.parametrize("force", [[], ["--force"]], ids=["plain", "force"])
def test_score_never_writes_over_its_input(force: list[str], exported_dir: Path, book: Path) -> None:
    before = book.read_bytes()
    code, out = invoke(["score", exported_dir, book, "-o", book, *force, "-q"])
    assert code == 2 and f"-o {str(book)!r} is the input file {str(book)!r}: {NOT_INPUT}" in out
    link = book.parent / "link.csv"  # another name for the same file: a symlink, then a hard link
    link.symlink_to(book)
    code, out = invoke(["score", exported_dir, book, "-o", link, *force, "-q"])
    assert code == 2 and f"is the input file {str(book)!r}" in out
    link.unlink()
    os.link(book, link)
    code, out = invoke(["score", exported_dir, book, "-o", link, *force, "-q"])
    assert code == 2 and f"is the input file {str(book)!r}" in out
    assert book.read_bytes() == before and link.read_bytes() == before


def test_score_never_writes_over_the_trusted_key(exported_dir: Path, book: Path, tmp_path: Path) -> None:
    key = tmp_path / "signer.pub.pem"
    key.write_text("-----BEGIN PUBLIC KEY-----\n(the signer's key)\n-----END PUBLIC KEY-----\n")
    before = key.read_bytes()
    code, out = invoke(["score", exported_dir, book, "-o", key, "--verify-key", key, "--force", "-q"])
    assert code == 2 and f"-o {str(key)!r} is the --verify-key file {str(key)!r}" in out
    assert key.read_bytes() == before


def test_score_file_refuses_its_input_and_the_artifact(exported_dir: Path, book: Path) -> None:
    before, artifact = book.read_bytes(), snapshot(exported_dir)
    with pytest.raises(ConfigError, match="is the input file"):
        score_file(Predictor(exported_dir), book, book, overwrite=True)
    with pytest.raises(ConfigError, match="is inside the artifact"):
        score_file(Predictor(exported_dir), book, exported_dir / "scores.csv", overwrite=True)
    assert book.read_bytes() == before and snapshot(exported_dir) == artifact


def test_score_force_replaces_only_a_regular_file(exported_dir: Path, book: Path, tmp_path: Path) -> None:
    folder = tmp_path / "scores.csv"
    folder.mkdir()
    (folder / "keep.txt").write_text("mine")
    code, out = invoke(["score", exported_dir, book, "-o", folder, "--force", "-q"])
    assert code == 2 and f"Output {str(folder)!r} is a folder; -o must name a file" in out
    assert (folder / "keep.txt").read_text() == "mine"
    done = tmp_path / "done.csv"
    done.write_text("old scores")
    done.chmod(0o640)
    code, out = invoke(["score", exported_dir, book, "-o", done, "--force", "-q"])
    assert code == 0, out
    # The replaced file's permissions are kept (a new scores file is 0600).
    assert pd.read_csv(done).shape[0] == 40 and done.stat().st_mode & 0o777 == 0o640


def test_score_cleans_only_its_own_output_leftovers(exported_dir: Path, book: Path, tmp_path: Path) -> None:
    """A file of the user's that merely looks like another output's leftover stays; this output's goes."""
    dead = 999999999  # above the kernel's largest PID: no live process has it
    mine = tmp_path / f".notes.txt.{dead}-0123abcd.tmp"
    mine.write_text("the user's own file")
    ours = tmp_path / f".scores.csv.{dead}-4567cdef.tmp"
    ours.write_text("half-written scores")
    code, out = invoke(["score", exported_dir, book, "-o", tmp_path / "scores.csv", "-q"])
    assert code == 0, out
    assert mine.read_text() == "the user's own file" and not ours.exists()


# -- --force replaces only artifact folders ---------------------------------------------------------
def test_force_refuses_a_user_folder(loans_csv: Path, tmp_path: Path) -> None:
    documents = tmp_path / "Documents"
    (documents / "taxes").mkdir(parents=True)
    (documents / "taxes" / "2025.pdf").write_bytes(b"%PDF precious")
    (documents / "notes.txt").write_text("keep")
    before = snapshot(documents)
    code, out = invoke(["train", loans_csv, "--target", "defaulted", "--out", documents, "--force", "-q"])
    assert code == 2
    assert (f"--out {str(documents)!r} is a folder that is neither a finlite artifact (no manifest.json of format "
            "finlite.artifact/1) nor empty; --force replaces only artifact folders, so nothing in it was touched") in out
    assert snapshot(documents) == before


def test_force_refuses_a_file_and_a_link(loans_csv: Path, tmp_path: Path) -> None:
    report = tmp_path / "report.docx"
    report.write_bytes(b"my report")
    code, out = invoke(["train", loans_csv, "--target", "defaulted", "--out", report, "--force", "-q"])
    assert code == 2 and f"--out {str(report)!r} is a file, not a finlite artifact folder" in out
    assert report.read_bytes() == b"my report"
    target = tmp_path / "elsewhere"
    target.mkdir()
    link = tmp_path / "link"
    link.symlink_to(target)
    code, out = invoke(["train", loans_csv, "--target", "defaulted", "--out", link, "--force", "-q"])
    assert code == 2 and f"--out {str(link)!r} is a symbolic link" in out
    assert link.is_symlink() and target.is_dir()


def test_force_replaces_an_artifact_or_an_empty_folder(teacher_dir: Path, tmp_path: Path) -> None:
    art = finlite.load(teacher_dir)
    kwargs = {"model": art.model, "preprocessor": art.preprocessor, "role": "teacher", "seed": 5,
              "cutoff": art.cutoff, "data": art.manifest["data"], "steps": [], "metrics": {}}
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ArtifactError, match="already exists; choose another path or pass overwrite=True"):
        save_artifact(empty, **kwargs)
    save_artifact(empty, overwrite=True, **kwargs)
    assert finlite.load(empty).manifest["seed"] == 5
    save_artifact(empty, overwrite=True, **{**kwargs, "seed": 6})  # now an artifact: replaced again
    assert finlite.load(empty).manifest["seed"] == 6
    assert [p.name for p in tmp_path.iterdir()] == ["empty"]  # no temporary folder left beside it
    fresh = tmp_path / "fresh"
    save_artifact(fresh, **kwargs)
    assert fresh.stat().st_mode & 0o777 == 0o700  # a new artifact is private to its owner, as always
    # One replaced keeps the mode its operator gave its folder (opened to a serving account): it
    # became 0700 with every replacement (a review, 2026-12-04 evening).
    os.chmod(fresh, 0o750)
    save_artifact(fresh, overwrite=True, **{**kwargs, "seed": 7})
    assert fresh.stat().st_mode & 0o777 == 0o750 and finlite.load(fresh).manifest["seed"] == 7


def test_every_file_of_an_artifact_has_one_mode(teacher_dir: Path, tmp_path: Path) -> None:
    """The folder keeps an artifact private; its files all take a plain write's mode (0666 less
    the umask). preprocessor.json and the weights were 0600 beside a 0644 manifest (note 71), so a
    folder opened to a group had files the group could not read."""
    art = finlite.load(teacher_dir)
    kwargs = {"model": art.model, "preprocessor": art.preprocessor, "role": "teacher", "seed": 5,
              "cutoff": art.cutoff, "data": art.manifest["data"], "steps": [], "metrics": {}}
    old = os.umask(0o027)
    try:
        save_artifact(tmp_path / "a", **kwargs)
    finally:
        os.umask(old)
    modes = {p.name: p.stat().st_mode & 0o777 for p in (tmp_path / "a").iterdir()}
    assert set(modes) >= {"manifest.json", "preprocessor.json", "weights.safetensors"}
    assert set(modes.values()) == {0o640}, modes
    assert (tmp_path / "a").stat().st_mode & 0o777 == 0o700


def test_force_refuses_an_artifact_holding_user_files(teacher: Path, loans_csv: Path) -> None:
    (teacher / "my-notes.txt").write_text("keep")
    before = snapshot(teacher)
    code, out = invoke(["train", loans_csv, "--target", "defaulted", "--out", teacher, "--force", "-q"])
    assert code == 2
    assert (f"--out {str(teacher)!r} is a finlite artifact, but it also holds 1 entry its manifest does not list "
            "('my-notes.txt'); --force would delete them, so nothing was touched") in out
    assert snapshot(teacher) == before


def test_demo_replaces_only_its_own_artifacts(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    (out / "teacher").mkdir(parents=True)
    (out / "teacher" / "thesis.tex").write_text("years of work")
    code, text = invoke(["demo", "--out", out, "-q"])
    assert code == 2 and f"--out {str(out / 'teacher')!r} is a folder that is neither a finlite artifact" in text
    assert (out / "teacher" / "thesis.tex").read_text() == "years of work"
    shutil.rmtree(out / "teacher")
    (out / "student").write_text("a file")
    code, text = invoke(["demo", "--out", out, "-q"])
    assert code == 2 and f"--out {str(out / 'student')!r} is a file, not a finlite artifact folder" in text
    assert (out / "student").read_text() == "a file" and not (out / "teacher").exists()  # refused before training


@pytest.mark.parametrize("markets", [False, True])
def test_demo_never_replaces_an_artifact_it_did_not_make(loans_csv: Path, tmp_path: Path, markets: bool) -> None:
    # demo replaces without --force: it used to take any artifact at OUT/teacher or OUT/student.
    out = tmp_path / "demo"
    finlite.train(loans_csv, target="defaulted", hidden=(8,), config=FAST, out=out / "student")
    before = {p.name: p.read_bytes() for p in (out / "student").iterdir()}
    code, text = invoke(["demo", "--out", out, "-q", *(["--markets"] if markets else [])])
    assert code == 2, text
    flat = " ".join(text.split())
    assert "that this demo did not make" in flat and "the demo replaces only its own artifacts" in flat
    assert {p.name: p.read_bytes() for p in (out / "student").iterdir()} == before
    assert not (out / "teacher").exists()


def test_demo_never_replaces_a_users_model_of_the_bundled_data(german_csv: Path, tmp_path: Path) -> None:
    """A teacher the user trained on a copy of the bundled German file was replaced by the demo's
    (a review, 2026-12-02): the data alone decided. Only a folder a demo marked is the demo's."""
    out = tmp_path / "demo"
    finlite.train(german_csv, target="creditability", hidden=(8,), config=FAST, out=out / "teacher")
    before = {p.name: p.read_bytes() for p in (out / "teacher").iterdir()}
    code, text = invoke(["demo", "--out", out, "-q"])
    flat = " ".join(text.split())
    assert code == 2 and "that this demo did not make (the folder has no .finlite-demo" in flat, text
    assert {p.name: p.read_bytes() for p in (out / "teacher").iterdir()} == before
    assert not (out / ".finlite-demo").exists() and not (out / "student").exists()


# -- the other inputs: booster, plan, recipe, --save-plan, export data, audit log --------------------------------
def test_import_teacher_out_containing_the_booster_is_refused(tmp_path: Path, german_csv: Path) -> None:
    proj = tmp_path / "proj"
    proj.mkdir()
    booster = proj / "model.txt"
    booster.write_text("tree\n")
    code, out = invoke(["import-teacher", booster, german_csv, "--target", "creditability", "--out", proj, "--force"])
    assert code == 2 and f"--out {str(proj)!r} contains the booster file {str(booster)!r}" in out
    assert booster.read_text() == "tree\n"


def test_compress_out_containing_a_plan_or_recipe_is_refused(teacher: Path, german_csv: Path,
                                                              tmp_path: Path) -> None:
    proj = tmp_path / "proj"
    proj.mkdir()
    plan, recipe = proj / "plan.json", proj / "recipe.yaml"
    plan.write_text("{}")
    recipe.write_text("steps: []\n")
    code, out = invoke(["compress", teacher, german_csv, "--plan", plan, "--out", proj, "--force"])
    assert code == 2 and f"--out {str(proj)!r} contains the --plan file {str(plan)!r}" in out
    code, out = invoke(["compress", teacher, german_csv, "--recipe", recipe, "--out", proj, "--force"])
    assert code == 2 and f"--out {str(proj)!r} contains the --recipe file {str(recipe)!r}" in out
    assert plan.read_text() == "{}" and recipe.read_text() == "steps: []\n"


def test_save_plan_is_no_input_and_is_checked_before_any_work(teacher: Path, german_csv: Path,
                                                               tmp_path: Path) -> None:
    student = tmp_path / "student"
    data_before = german_csv.read_bytes()
    code, out = invoke(["compress", teacher, german_csv, "--out", student, "--save-plan", german_csv])
    assert code == 2 and f"--save-plan {str(german_csv)!r} is the data file {str(german_csv)!r}" in out
    plan = tmp_path / "plan.json"
    plan.write_text("{}")
    code, out = invoke(["compress", teacher, german_csv, "--plan", plan, "--out", student, "--save-plan", plan])
    assert code == 2 and f"--save-plan {str(plan)!r} is the --plan file {str(plan)!r}" in out
    code, out = invoke(["compress", teacher, german_csv, "--out", student, "--save-plan", student / "plan.json"])
    assert code == 2 and f"is inside the --out folder {str(student)!r}" in out
    code, out = invoke(["compress", teacher, german_csv, "--out", student, "--save-plan", teacher / "plan.json"])
    assert code == 2 and f"is inside the teacher artifact {str(teacher)!r}" in out
    # An unwritable location fails first: today's bug wrote the artifact, then failed on the plan.
    blocked = tmp_path / "a-file"
    blocked.write_text("x")
    code, out = invoke(["compress", teacher, german_csv, "--out", student, "--save-plan", blocked / "plan.json"])
    assert code == 2 and f"--save-plan {str(blocked / 'plan.json')!r} cannot be written: {str(blocked)!r} is " \
        "not a folder" in out
    # An existing file that is not a plan is never replaced.
    notes = tmp_path / "notes.json"
    notes.write_text('{"mine": true}')
    code, out = invoke(["compress", teacher, german_csv, "--out", student, "--save-plan", notes])
    assert code == 2 and f"--save-plan {str(notes)!r} exists and is not a finlite.pruning_plan/1 file" in out
    assert notes.read_text() == '{"mine": true}' and german_csv.read_bytes() == data_before
    # A link to a plan is neither written through nor replaced (the atomic write replaced the link
    # itself: a security review, 2026-12-06).
    real = tmp_path / "real-plan.json"
    real.write_text('{"format": "finlite.pruning_plan/1"}')
    link = tmp_path / "link.json"
    link.symlink_to(real)
    code, out = invoke(["compress", teacher, german_csv, "--out", student, "--save-plan", link])
    assert code == 2 and f"--save-plan {str(link)!r} is a symbolic link; finlite neither writes through a link" in out
    assert link.is_symlink() and real.read_text() == '{"format": "finlite.pruning_plan/1"}'
    assert not student.exists() and plan.read_text() == "{}"


def test_export_data_inside_the_artifact_is_refused(teacher: Path, german_csv: Path) -> None:
    data = teacher / "data.csv"
    shutil.copy(german_csv, data)
    code, out = invoke(["export", teacher, "--data", data])
    assert code == 2 and f"ARTIFACT {str(teacher)!r} contains the --data file {str(data)!r}" in out
    assert "--force" not in out  # export has no --force to mention
    assert data.read_bytes() == german_csv.read_bytes()


def test_serve_audit_log_is_no_input(exported_dir: Path, tmp_path: Path) -> None:
    before = snapshot(exported_dir)
    log = exported_dir / "audit.jsonl"
    code, out = invoke(["serve", exported_dir, "--audit-log", log])
    assert code == 2 and f"--audit-log {str(log)!r} is inside the artifact {str(exported_dir)!r}" in out
    assert "--force" not in out  # serve has no --force to mention
    token = tmp_path / "token"
    token.write_text("s3cret-token-value-long-enough\n")
    code, out = invoke(["serve", exported_dir, "--token-file", token, "--audit-log", token])
    assert code == 2 and f"--audit-log {str(token)!r} is the --token-file {str(token)!r}" in out
    assert token.read_text() == "s3cret-token-value-long-enough\n" and snapshot(exported_dir) == before


# -- the checks themselves ---------------------------------------------------------------------------------------
def test_check_not_input_relations(tmp_path: Path) -> None:
    data = tmp_path / "proj" / "loans.csv"
    data.parent.mkdir()
    data.write_text("a\n1\n")
    _paths.check_not_input(tmp_path / "proj2", {"data file": data})  # a sibling with a common prefix is fine
    _paths.check_not_input(tmp_path / "out", {"data file": data, "frame": pd.DataFrame(), "none": None})
    with pytest.raises(ConfigError, match="contains the data file"):
        _paths.check_not_input(tmp_path, {"data file": data})
    with pytest.raises(ConfigError, match="is the data file"):
        _paths.check_not_input(tmp_path / "proj" / "." / "loans.csv", {"data file": data})
    with pytest.raises(ConfigError, match="is inside the input"):
        _paths.check_not_input(tmp_path / "proj" / "sub", [data.parent])


def test_check_replaceable_file_messages(tmp_path: Path) -> None:
    existing = tmp_path / "o.csv"
    existing.write_text("x")
    with pytest.raises(DataError, match="already exists; choose another path or pass overwrite=True"):
        _paths.check_replaceable_file(existing, overwrite=False)
    _paths.check_replaceable_file(existing, overwrite=True)
    _paths.check_replaceable_file(tmp_path / "new.csv", overwrite=False)


def test_an_output_under_a_read_only_mount_is_said_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An output in a folder still to be made under a read-only mount was refused as "Permission
    denied", sending the operator to chmod (an MLOps walk-through, 2026-12-06)."""
    from finlite.errors import DataError

    target = tmp_path / "sub" / "o.csv"
    monkeypatch.setattr(_paths.os, "access", lambda *a, **k: False)
    monkeypatch.setattr(_paths, "_read_only_mount", lambda folder: folder == tmp_path)
    with pytest.raises(DataError, match=r"cannot be written \(Read-only file system\); choose a path in a writable"):
        _paths.check_folder_writable(target, "-o", DataError)
    monkeypatch.setattr(_paths, "_read_only_mount", lambda folder: False)
    with pytest.raises(DataError, match=r"cannot be written \(Permission denied\)"):
        _paths.check_folder_writable(target, "-o", DataError)
    assert not (tmp_path / "sub").exists()
