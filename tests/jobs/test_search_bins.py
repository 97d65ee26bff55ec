"""The search tries students with input bins (`finlite search --input-bins`), and saves such a student exactly."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from typer.testing import CliRunner

import finlite
from finlite.cli import app
from finlite.errors import ConfigError
from finlite.jobs.search import search_students
from finlite.recipe import search as search_space
from finlite.recipe.gates import Gate
from finlite.recipe.search import (
    LARGE_BINNED_EPOCHS,
    LARGE_SPACE,
    SearchSpace,
    candidate_recipe,
    default_space,
    distill_train,
)
from finlite.recipe.spec import Recipe
from finlite.training.loop import LARGE_ROWS, TrainConfig

TINY = TrainConfig(epochs=4, patience=4, progress=False)
# One width and temperature, without and with bins: two distilled students, one candidate each.
SPACE = SearchSpace(hidden=((8,),), temperature=(2.0,), sparsity=(0.0,), bits=(32,), input_bins=(0, 8))
LOOSE = [Gate("auc", max_drop=0.3)]
runner = CliRunner()


def test_the_space_checks_its_input_bins_and_names_them() -> None:
    for bad in ((1,), (257,), (True,), (8.0,), ()):
        with pytest.raises(ConfigError, match="input_bins"):
            SearchSpace(input_bins=bad)  # type: ignore[arg-type]
    assert SearchSpace().input_bins == (0,)
    recipe = candidate_recipe((8,), 2.0, 0.5, 32, LOOSE, input_bins=16, input_bins_from="quantiles")
    assert recipe.name == "search: hidden [8], T 2, 16 bins from quantiles, sparsity 0.5, 32-bit"
    step = recipe.to_dict()["steps"][0]
    assert (step["input_bins"], step["input_bins_from"]) == (16, "quantiles")
    # Without bins the candidates keep the names (and recipes) of a space without the dimension,
    # whatever source of edges the search was given for its binned students.
    for source in ("teacher", "quantiles"):
        plain = candidate_recipe((8,), 2.0, 0.5, 32, LOOSE, input_bins_from=source)  # type: ignore[arg-type]
        assert plain.name == "search: hidden [8], T 2, sparsity 0.5, 32-bit"
        assert not {"input_bins", "input_bins_from"} & set(plain.to_dict()["steps"][0])


@pytest.mark.slow
def test_a_binned_student_is_searched_and_saved_exactly(boosted_dir: Path, german_csv: Path, tmp_path: Path) -> None:
    found = search_students(boosted_dir, german_csv, seed=0, budget_s=600, space=SPACE, config=TINY, fine_tune=TINY,
                            gates=LOOSE, out=tmp_path / "s", progress=False, timing=False)
    names = sorted(c["name"] for c in found.candidates)
    assert names == ["search: hidden [8], T 2, 8 bins from teacher, sparsity 0, 32-bit",
                     "search: hidden [8], T 2, sparsity 0, 32-bit"]
    binned = next(c for c in found.candidates if "bins" in c["name"])
    plain = next(c for c in found.candidates if "bins" not in c["name"])
    assert binned["size_bytes"] > plain["size_bytes"]  # the binned first layer reads more inputs
    # Force the binned candidate to be the choice (smallest wins otherwise): it is rebuilt exactly.
    only = SearchSpace(hidden=((8,),), temperature=(2.0,), sparsity=(0.0,), bits=(32,), input_bins=(8,))
    chosen = search_students(boosted_dir, german_csv, seed=0, budget_s=600, space=only, config=TINY, fine_tune=TINY,
                             gates=LOOSE, out=tmp_path / "b", progress=False, timing=False)
    assert chosen.chosen is not None and chosen.notes == []
    assert (chosen.chosen["auc"], chosen.chosen["agreement"]) == (binned["auc"], binned["agreement"])
    saved = finlite.load(tmp_path / "b")
    assert saved.manifest["model"]["bins"] and all(1 <= len(e) <= 7 for _, e in saved.manifest["model"]["bins"])
    assert "input_bins: 8" in (tmp_path / "b" / "recipe.yaml").read_text()
    assert chosen.chosen_model is not None
    assert np.array_equal(chosen.chosen_model.state_dict()["layers.0.weight"].numpy(),
                          saved.model.state_dict()["layers.0.weight"].numpy())


def test_bins_at_the_splits_of_a_teacher_without_any_are_refused_before_training(
        teacher_dir: Path, german_csv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import finlite.jobs.search as job

    monkeypatch.setattr(job, "student_candidates", lambda *a, **k: pytest.fail("trained before refusing"))
    with pytest.raises(ConfigError, match=r"need a LightGBM or XGBoost teacher.*quantiles"):
        search_students(teacher_dir, german_csv, budget_s=60, space=SPACE, config=TINY, fine_tune=TINY,
                        out=tmp_path / "s", progress=False, timing=False)
    with pytest.raises(ConfigError, match=r"'input_bins' in space_overrides takes a list of values.*got 32"):
        search_students(teacher_dir, german_csv, budget_s=60, space_overrides={"input_bins": 32},  # type: ignore[dict-item]
                        out=tmp_path / "s", progress=False, timing=False)
    with pytest.raises(ConfigError, match="input_bins_from must be one of teacher, quantiles; got 'median'"):
        search_students(teacher_dir, german_csv, budget_s=60, space=SPACE, input_bins_from="median",  # type: ignore[arg-type]
                        out=tmp_path / "s", progress=False, timing=False)
    assert not (tmp_path / "s").exists()


@pytest.mark.slow
def test_search_command_with_input_bins(boosted_dir: Path, teacher_dir: Path, german_csv: Path, tmp_path: Path) -> None:
    loose = tmp_path / "loose.yaml"  # the candidates are judged by these gates: 3 epochs pass them
    loose.write_text("steps:\n  - {method: distillation}\ngates:\n  auc: {max_drop: 0.3}\n")
    common = ["--width", "8", "--temperature", "2", "--sparsity", "0", "--bits", "32", "--epochs", "3", "--no-timing",
              "--quiet", "--budget", "600", "--recipe", str(loose)]
    out = tmp_path / "s"
    result = runner.invoke(app, ["search", str(teacher_dir), str(german_csv), "--out", str(out), "--input-bins", "0",
                                 "--input-bins", "8", "--input-bins-from", "quantiles", *common])
    assert result.exit_code == 0, result.output
    record = json.loads((out / "search.json").read_text())
    assert sorted(c["name"] for c in record["candidates"]) == [
        "search: hidden [8], T 2, 8 bins from quantiles, sparsity 0, 32-bit", "search: hidden [8], T 2, sparsity 0, 32-bit"]
    refusals = [
        ([str(boosted_dir), "--input-bins", "1"], "--input-bins: "),
        ([str(boosted_dir), "--input-bins-from", "quantiles"], "add --input-bins N"),
        ([str(boosted_dir), "--input-bins", "0", "--input-bins-from", "quantiles"], "add --input-bins N"),
        ([str(teacher_dir), "--input-bins", "8"], "--input-bins-from quantiles"),
    ]
    for args, message in refusals:
        bad = tmp_path / "bad"
        result = runner.invoke(app, ["search", args[0], str(german_csv), "--out", str(bad), *args[1:], *common])
        assert result.exit_code == 2, (args, result.output)
        assert message in result.output and "Traceback" not in result.output, (args, result.output)
        assert not bad.exists()


def test_the_default_space_has_no_bins_and_a_boosted_teacher_that_misses_is_told_of_them(
        boosted_dir: Path, teacher_dir: Path, german_csv: Path, tmp_path: Path) -> None:
    # Plain students by default at any size (binned ones made ULB fraud's choice 6x larger and
    # slower than its teacher; see recipe.search).
    assert default_space(LARGE_ROWS - 1) == SearchSpace() and default_space(LARGE_ROWS) == LARGE_SPACE
    assert LARGE_SPACE.input_bins == (0,)
    strict = tmp_path / "strict.yaml"
    strict.write_text("steps:\n  - {method: distillation}\ngates:\n  auc: {min: 0.9999}\n")
    common = ["--recipe", str(strict), "--width", "8", "--temperature", "2", "--sparsity", "0", "--bits", "32",
              "--epochs", "3", "--no-timing", "--quiet"]
    for bins, hinted in ((["--input-bins", "0"], True), (["--input-bins", "8"], False)):
        result = runner.invoke(app, ["search", str(boosted_dir), str(german_csv), "--out", str(tmp_path / "s"),
                                     *common, *bins, "--force"])  # the first's record replaced
        assert result.exit_code == 1, result.output
        assert ("try 'finlite search ... --input-bins 32'" in result.output) is hinted, result.output
    assert not (tmp_path / "s").exists()


def test_a_default_search_tries_binned_students_when_no_plain_one_passes_a_boosted_teachers_gates(
        boosted_dir: Path, teacher_dir: Path, german_csv: Path) -> None:
    """It said "try --input-bins 32" and exited 1 with budget left (SBA without Term: 117 of 300 s
    used, every plain student 0.3 points under the 97 % agreement gate); it now goes on with them,
    the same students in the same seeded order, and says so."""
    narrow = {"hidden": [(8,)], "temperature": [2.0], "sparsity": [0.0], "bits": [32]}
    strict = [Gate("auc", min=0.9999)]

    def bins_of(candidate: dict) -> int:
        return int(candidate["recipe"]["steps"][0].get("input_bins", 0))

    found = search_students(boosted_dir, german_csv, seed=0, budget_s=600, space_overrides=narrow, config=TINY,
                            fine_tune=TINY, gates=strict, progress=False, timing=False)
    assert [bins_of(c) for c in found.candidates] == [0, search_space.FALLBACK_BINS] == [0, 32]
    assert found.chosen is None and found.untried == 0
    assert found.notes == ["no plain student passed every gate, so the search went on with students that read 32 bins "
                           "of each numeric column at the teacher's split thresholds: 0 of 1 passed"]
    assert "try 'finlite search ... --input-bins 32'" not in found.summary()  # tried already
    # Plain students that pass: no binned one (ULB's small, fast choice stays).
    found = search_students(boosted_dir, german_csv, seed=0, budget_s=600, space_overrides=narrow, config=TINY,
                            fine_tune=TINY, gates=LOOSE, progress=False, timing=False)
    assert [bins_of(c) for c in found.candidates] == [0] and found.chosen is not None and found.notes == []
    # The caller's bins (even none), the caller's space, a network teacher, or no budget left: none either.
    for teacher, options in ((boosted_dir, {"space_overrides": {**narrow, "input_bins": [0]}}),
                             (boosted_dir, {"space": SearchSpace(hidden=((8,),), temperature=(2.0,), sparsity=(0.0,),
                                                                 bits=(32,))}),
                             (teacher_dir, {"space_overrides": narrow})):
        found = search_students(teacher, german_csv, seed=0, budget_s=600, config=TINY, fine_tune=TINY, gates=strict,
                                progress=False, timing=False, **options)  # type: ignore[arg-type]
        assert [bins_of(c) for c in found.candidates] == [0], options


def test_no_fallback_for_a_boosted_teacher_that_splits_on_no_number_column(german_csv: Path, tmp_path: Path) -> None:
    """Its binned students would be its plain ones again, under a note saying "32 bins of each
    numeric column" (a review, 2026-12-05)."""
    import pandas as pd

    frame = pd.read_csv(german_csv)
    text = frame[[c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c]) or c == "creditability"]]
    table = tmp_path / "text_only.csv"
    text.to_csv(table, index=False)
    teacher = tmp_path / "teacher"
    finlite.train(table, target="creditability", model="lightgbm", out=teacher)
    found = search_students(teacher, table, seed=0, budget_s=600, config=TINY, fine_tune=TINY, progress=False,
                            space_overrides={"hidden": [(8,)], "temperature": [2.0], "sparsity": [0.0], "bits": [32]},
                            gates=[Gate("auc", min=0.9999)], timing=False)
    assert [c["recipe"]["steps"][0].get("input_bins", 0) for c in found.candidates] == [0]
    assert not any("no plain student passed" in n for n in found.notes)


def test_a_choice_that_fails_on_the_test_split_gets_the_hint_too(boosted_dir: Path, german_csv: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    import finlite.jobs.search as job

    space = SearchSpace(hidden=((8,),), temperature=(2.0,), sparsity=(0.0,), bits=(32,))
    for passed, hinted in ((False, True), (True, False)):
        # The saved choice's test-split verdict, as the compress job would give it.
        monkeypatch.setattr(job, "_run", lambda *a, passed=passed, **k: SimpleNamespace(
            passed=passed, summary=lambda: "gate on the test split: ..."))
        found = search_students(boosted_dir, german_csv, seed=0, budget_s=600, space=space, config=TINY,
                                fine_tune=TINY, gates=LOOSE, progress=False, timing=False)
        assert found.chosen is not None
        assert (job.BINS_HINT in found.notes) is hinted
        assert (job.BINS_HINT in found.summary()) is hinted


def test_a_binned_student_at_bank_size_distils_for_fewer_epochs() -> None:
    assert distill_train(LARGE_ROWS, 32) == {"epochs": LARGE_BINNED_EPOCHS} == {"epochs": 20}
    assert distill_train(LARGE_ROWS - 1, 32) == {}  # small tables: the default's early stopping
    assert distill_train(LARGE_ROWS, 0) == {}  # a plain student keeps the default 60
    assert distill_train(LARGE_ROWS, 32, epochs_given=True) == {}  # --epochs N: N, as for every student
    sixty = TrainConfig(epochs=60)
    # The override is the distillation step's, in the recipe the artifact records and reproduces.
    recipe = candidate_recipe((128, 64), 2.0, 0.3, 16, LOOSE, input_bins=32, train={"epochs": 20})
    steps = recipe.to_dict()["steps"]
    assert steps[0]["train"] == {"epochs": 20} and "train" not in steps[1]
    again = Recipe.from_dict(recipe.to_dict(), "the candidate")
    assert again.steps[0].train == {"epochs": 20}
    assert again.steps[0].train_config(sixty).epochs == 20


@pytest.mark.slow
def test_binned_students_of_a_bank_size_search_distil_for_their_own_epochs(
        boosted_dir: Path, german_csv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # German credit's 600 training rows stand for a bank-size book: the default space and the
    # binned student's epochs follow this threshold.
    monkeypatch.setattr(search_space, "LARGE_ROWS", 100)
    binned = {"input_bins": [32]}  # the bank-size space (128-64 students), binned
    found = search_students(boosted_dir, german_csv, seed=0, budget_s=0.05, fine_tune=TINY, gates=LOOSE,
                            progress=False, timing=False, space_overrides=binned)
    # The budget ends during the first student, which still gets its first candidate judged.
    assert found.candidates and found.untried == 18 - len(found.candidates)
    for candidate in found.candidates:
        assert candidate["student"] in ("hidden [128, 64], T 2, 32 bins from teacher",
                                        "hidden [128, 64], T 1, 32 bins from teacher")
        step = candidate["recipe"]["steps"][0]
        assert (step["input_bins"], step["train"]) == (32, {"epochs": LARGE_BINNED_EPOCHS})
    assert found.chosen is not None and found.outcome is not None
    assert found.outcome.result.records[0].info["epochs_run"] == LARGE_BINNED_EPOCHS
    # Epochs the caller sets are every student's, the binned ones' too.
    given = search_students(boosted_dir, german_csv, seed=0, budget_s=0.05, fine_tune=TINY, gates=LOOSE,
                            progress=False, timing=False, train_overrides={"epochs": 3}, space_overrides=binned)
    assert given.candidates and all("train" not in c["recipe"]["steps"][0] for c in given.candidates)
    assert given.outcome is not None and given.outcome.result.records[0].info["epochs_run"] == 3
