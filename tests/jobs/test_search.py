"""The search job: a front and a saved choice, one set-up for the candidates and the choice (any seed),
and `finlite search`."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

import finlite
from finlite.artifact import prepare_like
from finlite.cli import app
from finlite.errors import ConfigError
from finlite.evaluate.metrics import classification_metrics
from finlite.jobs import compress as compress_job
from finlite.jobs import search as search_job
from finlite.jobs.search import search_students
from finlite.methods import registered_methods
from finlite.models.base import FinliteModel
from finlite.recipe.gates import Gate
from finlite.recipe.search import SearchSpace
from finlite.recipe.spec import Recipe
from finlite.training.loop import TrainConfig
from tests.conftest import FAST

TINY = TrainConfig(epochs=6, patience=6, progress=False)
# One student, with and without pruning: two candidates, so the choice is made among several
# and the pruned one exercises the shared-student path (fine-tuning from the distilled student).
SPACE = SearchSpace(hidden=((8,),), temperature=(2.0,), sparsity=(0.0, 0.5), bits=(32,))
LOOSE = [Gate("auc", max_drop=0.3)]
LOOSE_RECIPE = "steps:\n  - {method: distillation}\ngates:\n  auc: {max_drop: 0.3}\n"
runner = CliRunner()


def _test_scores(model: FinliteModel, teacher_dir: Path, data: Path) -> tuple[np.ndarray, np.ndarray, float]:
    """The model's P(positive) on the teacher's test split, the labels, and the cut-off."""
    teacher = finlite.load(teacher_dir)
    prepared = prepare_like(teacher, data)
    with torch.inference_mode():
        p = model.predict_proba(torch.from_numpy(prepared.x_test)).numpy().astype(np.float64)
    return p, prepared.y_test, teacher.cutoff


def test_search_with_seed_3_saves_the_chosen_candidate(teacher_dir: Path, german_csv: Path, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    with monkeypatch.context() as patch:
        # The chosen candidate is saved as the search trained it: nothing runs a recipe again.
        patch.setattr(compress_job, "_run_steps", lambda *a, **k: pytest.fail("the chosen candidate was trained again"))
        found = search_students(teacher_dir, german_csv, seed=3, budget_s=600, space=SPACE, config=TINY,
                                fine_tune=TINY, gates=LOOSE, out=tmp_path / "s", progress=False, timing=False)
    assert len(found.candidates) == 2 and found.chosen is not None and found.chosen_model is not None
    assert found.outcome is not None and found.outcome.path is not None and found.notes == []
    # The run that saved the choice judged it exactly as the search did (validation split)...
    last = found.outcome.result.records[-1].metrics
    assert (last["auc"], last["agreement"], last["size_bytes"]) == (
        found.chosen["auc"], found.chosen["agreement"], found.chosen["size_bytes"])
    # ...and the saved model is the chosen candidate: the same scores, so the same test metrics.
    saved = finlite.load(tmp_path / "s")
    assert saved.manifest["seed"] == 3
    assert [s["train"]["seed"] for s in saved.manifest["steps"] if "train" in s] == [3]
    p_chosen, y, cutoff = _test_scores(found.chosen_model, teacher_dir, german_csv)
    p_saved, _, _ = _test_scores(saved.model, teacher_dir, german_csv)
    assert np.array_equal(p_chosen, p_saved)
    chosen_test = classification_metrics(y, p_chosen, cutoff)
    for key in ("auc", "gini", "ks", "brier", "f1"):
        assert saved.metrics["test"][key] == chosen_test[key], key
    # The recipe saved with it reproduces it from scratch.
    recipe = Recipe.load(tmp_path / "s" / "recipe.yaml")
    again = finlite.compress(teacher_dir, german_csv, recipe=recipe, seed=3, config=TINY, fine_tune=TINY,
                             timing=False, progress=False)
    assert again.model is not None
    assert np.array_equal(_test_scores(again.model, teacher_dir, german_csv)[0], p_saved)
    # Step for step, numbered as in the recipe: the manifest records what a run from scratch does.
    assert [(r.index, r.status, r.metrics) for r in again.result.records] == [
        (r.index, r.status, r.metrics) for r in found.outcome.result.records]
    assert [s["status"] for s in saved.manifest["steps"]] == ["kept"] * len(recipe.steps)
    assert again.report["student"]["auc"] == saved.metrics["test"]["auc"]
    record = json.loads((tmp_path / "s" / "search.json").read_text())
    assert record["chosen"]["name"] == found.chosen["name"] and len(record["candidates"]) == 2


@pytest.mark.slow
def test_search_returns_a_front_and_saves_the_choice(teacher_dir: Path, german_csv: Path, tmp_path: Path) -> None:
    space = SearchSpace(hidden=((8,), (16,)), temperature=(2.0,), sparsity=(0.0, 0.5), bits=(32, 8))
    found = search_students(teacher_dir, german_csv, budget_s=60, space=space, config=FAST, fine_tune=FAST,
                            gates=[Gate("auc", max_drop=0.05)], out=tmp_path / "s", progress=False)
    assert len(found.candidates) == 8 and found.untried == 0
    assert found.chosen in found.front and all(c["passed"] for c in found.front)
    assert found.chosen["size_bytes"] == min(c["size_bytes"] for c in found.front)
    assert found.outcome is not None
    assert (tmp_path / "s" / "search.json").is_file() and found.outcome.passed
    # The saved model is the chosen candidate, as the search judged it.
    assert found.outcome.result.records[-1].metrics["size_bytes"] == found.chosen["size_bytes"]
    # Timed as it was searched (the front has latencies), its step records carry no timing: the
    # records a run of its recipe writes, whatever the engine (Ray tasks do not time).
    assert found.chosen["latency_p50_us"] is not None
    assert not [k for r in found.outcome.result.records for k in r.metrics if k.startswith(("latency", "rows_per"))]
    assert found.outcome.result.records[-1].metrics["auc"] == pytest.approx(found.chosen["auc"], abs=1e-12)
    assert "dynamic_int8" in registered_methods()
    # The report and the card say what the student was chosen among (a validator's review, 2026-12-04),
    # and a report rebuilt from the artifact says it again.
    passed = sum(c["passed"] for c in found.candidates)
    report = json.loads((tmp_path / "s" / "report.json").read_text())
    assert report["change"]["selection"] == {"candidates": 8, "passed_validation_gates": passed,
                                             "objective": "smallest"}
    card = (tmp_path / "s" / "MODEL_CARD.md").read_text()
    assert f"chosen by finlite search among 8 candidates, {passed} of which passed the gates" in card
    from finlite.jobs.report import rebuild_report

    rebuilt = rebuild_report(tmp_path / "s", german_csv, out=tmp_path / "r")
    assert json.loads((rebuilt / "report.json").read_text())["change"]["selection"] == report["change"]["selection"]


def test_search_refuses_bad_settings_before_any_work(teacher_dir: Path, german_csv: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"engine must be 'serial' or 'ray'.*'spark'"):
        search_students(teacher_dir, german_csv, engine="spark", out=tmp_path / "s")
    with pytest.raises(ConfigError, match=r"objective must be 'smallest' or 'fastest'.*'tiniest'"):
        search_students(teacher_dir, german_csv, objective="tiniest", out=tmp_path / "s")
    with pytest.raises(ConfigError, match=r"budget must be a positive number of seconds \(parameter budget_s=\); got 0"):
        search_students(teacher_dir, german_csv, budget_s=0, out=tmp_path / "s")
    with pytest.raises(ConfigError, match="Unknown search dimension 'depth'"):
        search_students(teacher_dir, german_csv, space_overrides={"depth": [2]}, config=TINY, fine_tune=TINY,
                        progress=False)
    assert not (tmp_path / "s").exists()


def _cli_search(teacher_dir: Path, german_csv: Path, out: Path, recipe: Path, *extra: str) -> list[str]:
    return ["search", str(teacher_dir), str(german_csv), "--out", str(out), "--recipe", str(recipe),
            "--width", "8", "--temperature", "2", "--sparsity", "0", "--sparsity", "0.5", "--bits", "32",
            "--epochs", "6", "--no-timing", "--quiet", *extra]


def test_search_command_saves_the_choice(teacher_dir: Path, german_csv: Path, tmp_path: Path) -> None:
    recipe = tmp_path / "loose.yaml"
    recipe.write_text(LOOSE_RECIPE)
    result = runner.invoke(app, _cli_search(teacher_dir, german_csv, tmp_path / "s", recipe))
    assert result.exit_code == 0, result.output
    assert "search: 2 candidates" in result.output and "<- chosen" in result.output
    assert "note: the search takes only the gates of --recipe" in result.output  # its steps were dropped unsaid
    assert f"student artifact: {tmp_path / 's'}" in result.output
    for name in ("manifest.json", "recipe.yaml", "search.json", "report.md"):
        assert (tmp_path / "s" / name).is_file(), name
    record = json.loads((tmp_path / "s" / "search.json").read_text())
    assert {c["name"] for c in record["candidates"]} == {
        "search: hidden [8], T 2, sparsity 0, 32-bit", "search: hidden [8], T 2, sparsity 0.5, 32-bit"}
    # --no-timing: no wall-clock seconds, so two identical runs write identical files (they did not).
    assert record["seconds"] is None
    # Again without --force: the artifact is not replaced (exit 2, before any work).
    again = runner.invoke(app, _cli_search(teacher_dir, german_csv, tmp_path / "s", recipe))
    assert again.exit_code == 2 and "Traceback" not in again.output


@pytest.mark.slow
def test_compress_search_is_the_same_run(monkeypatch: pytest.MonkeyPatch, teacher_dir: Path, german_csv: Path,
                                         tmp_path: Path) -> None:
    recipe = tmp_path / "loose.yaml"
    recipe.write_text(LOOSE_RECIPE)
    new = runner.invoke(app, _cli_search(teacher_dir, german_csv, tmp_path / "new", recipe))
    assert new.exit_code == 0, new.output
    # The old spelling has no space options: its default space is made the same two candidates.
    monkeypatch.setattr(search_job, "default_space", lambda *_: SPACE)
    old = runner.invoke(app, ["compress", str(teacher_dir), str(german_csv), "--search", "--out", str(tmp_path / "old"),
                              "--recipe", str(recipe), "--epochs", "6", "--no-timing", "--quiet"])
    assert old.exit_code == 0, old.output
    metrics = [json.loads((tmp_path / name / "manifest.json").read_text())["metrics"] for name in ("new", "old")]
    assert metrics[0]["test"]["auc"] == metrics[1]["test"]["auc"]
    assert metrics[0]["fidelity"] == metrics[1]["fidelity"]


@pytest.mark.parametrize(("options", "message"), [
    (["--sparsity", "1.5"], r"--sparsity: Search sparsities .* got 1\.5"),
    (["--bits", "4"], r"--bits: Search bits must be 32, 16 or 8 .* got 4"),
    (["--width", "8,x"], r"--width takes positive layer widths"),
    (["--temperature", "0"], r"--temperature: Search temperatures .* got 0\.0"),
    (["--engine", "spark"], r"--engine must be 'local' or 'ray'; got 'spark'"),
    (["--budget", "0"], r"--budget"),
])
def test_search_command_refuses_bad_options(options: list[str], message: str, teacher_dir: Path, german_csv: Path,
                                            tmp_path: Path) -> None:
    result = runner.invoke(app, ["search", str(teacher_dir), str(german_csv), "--out", str(tmp_path / "s"),
                                 "--quiet", *options])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert re.search(message, " ".join(result.output.split())), result.output
    assert not (tmp_path / "s").exists()


def test_search_command_exits_1_when_nothing_passes(teacher_dir: Path, german_csv: Path, tmp_path: Path) -> None:
    strict = tmp_path / "strict.yaml"
    strict.write_text("steps:\n  - {method: distillation}\ngates:\n  auc: {min: 0.9999}\n")
    result = runner.invoke(app, ["search", str(teacher_dir), str(german_csv), "--out", str(tmp_path / "s"),
                                 "--recipe", str(strict), "--width", "8", "--temperature", "2", "--sparsity", "0",
                                 "--bits", "32", "--epochs", "3", "--no-timing", "--quiet"])
    assert result.exit_code == 1, result.output
    assert "no candidate passed every gate" in result.output
    # Which gate failed, and by how much: what a user needs to loosen a gate or widen the space.
    # A failed distillation is shown under the student, not under one of its tails.
    assert re.search(r"\n  hidden \[8\], T 2: distillation: auc [0-9.]+ < min 0\.9999 \(by [0-9.]+\)\n",
                     result.output), result.output
    assert not (tmp_path / "s").exists()
    # No student, but the search's record beside --out: every candidate, the gates and the decision.
    record_path = tmp_path / "s.rejected.json"
    assert f"What was tried and why it was refused: {record_path}" in " ".join(result.output.split())
    record = json.loads(record_path.read_text())
    assert record["command"] == "search" and record["decision"] == "no candidate passed every gate on the validation split"
    assert record["search"]["gates"] == {"auc": {"min": 0.9999}} and record["search"]["seconds"] is None
    assert [c["passed"] for c in record["search"]["candidates"]] == [False]
    assert record["search"]["candidates"][0]["failed"][0].startswith("distillation: auc ")
    shown = runner.invoke(app, ["inspect", str(record_path)])
    assert shown.exit_code == 0 and "search: 1 candidate(s) tried, 0 passed every gate, 0 left untried; gates: auc " \
        "{'min': 0.9999}" in shown.output, shown.output
    assert "--input-bins 32" not in result.output  # the hint is for a boosted teacher only


@pytest.mark.slow
def test_a_student_distilled_before_the_deadline_gets_its_first_candidate(
        teacher_dir: Path, german_csv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The deadline passes while the student distils: its first tail is still judged (the costly work is
    not thrown away), the second is not."""
    import finlite.recipe.search as strategy

    calls = iter([0.0])  # the check before the student: within the budget; every later one: past it

    class Clock:
        @staticmethod
        def time() -> float:
            return next(calls, float("inf"))

    monkeypatch.setattr(strategy, "time", Clock)
    found = search_students(teacher_dir, german_csv, budget_s=600, space=SPACE, config=TINY, fine_tune=TINY,
                            gates=LOOSE, progress=False, timing=False)
    assert len(found.candidates) == 1 and found.untried == 1


def test_a_search_nothing_passed_prints_no_empty_front_table() -> None:
    """It printed "Pareto front ... of 0:" and a header over no rows (a review, 2026-12-03)."""
    from finlite.jobs.search import SearchResult

    failed = {"name": "search: hidden [8], T 2, sparsity 0, 32-bit", "student": "hidden [8], T 2", "passed": False,
              "failed": ["distillation: agreement 0.9 < min 0.97 (by 0.07)"]}
    lines = SearchResult(candidates=[failed], front=[], chosen=None, seconds=3.0).summary().splitlines()
    assert lines[0] == "search: 1 candidates in 3 s (0 left untried), 0 passed every gate."
    assert not any(line.startswith("candidate") for line in lines)
    assert lines[1:] == ["no candidate passed every gate; what failed (the first candidate of each distinct reason):",
                         "  hidden [8], T 2: distillation: agreement 0.9 < min 0.97 (by 0.07)"]


def test_a_search_summary_says_how_the_choice_did_on_the_test_split(tmp_path: Path) -> None:
    """From Python the summary ended at the choice, made on the validation split: its test-split
    gates and report verdict, which the CLI prints, were not said (note60, left alone)."""
    from types import SimpleNamespace

    from finlite.jobs.compress import CompressOutcome
    from finlite.jobs.search import SearchResult
    from finlite.recipe.gates import GateResult

    chosen = {"name": "search: hidden [8], T 2, sparsity 0, 32-bit", "student": "hidden [8], T 2", "passed": True,
              "failed": [], "size_bytes": 900, "latency_p50_us": None, "auc": 0.8}
    report = {"status": "WARN", "sections": [{"id": "fairness", "status": "WARN"}]}
    gate = GateResult(metric="agreement", kind="min", limit=0.97, value=0.95, passed=False)
    outcome = CompressOutcome(model=object(), plan=None, report=report, path=tmp_path / "s",  # type: ignore[arg-type]
                              result=SimpleNamespace(records=[]), recipe=None,  # type: ignore[arg-type]
                              final_gates=[gate])
    found = SearchResult(candidates=[chosen], front=[chosen], chosen=chosen, outcome=outcome, seconds=3.0)
    lines = found.summary().splitlines()
    at = lines.index("chosen candidate on the test split:")
    assert lines[at + 1:] == ["gate on the test split: FAIL  agreement 0.95 < min 0.97 (by 0.02)",
                              f"student artifact: {tmp_path / 's'}",
                              "validation report: WARN (WARN in fairness): read those sections before deploying the "
                              "student"]
    assert "chosen candidate" not in found.summary(outcome=False)
    assert repr(found) == (f"SearchResult(candidates=1, passed=1, chosen={chosen['name']!r}, passed_on_test=False, "
                           f"path={str(tmp_path / 's')!r})")
    assert repr(SearchResult(candidates=[], front=[], chosen=None)) == \
        "SearchResult(candidates=0, passed=0, chosen=None, passed_on_test=None, path=None)"


def test_a_sparsity_that_leaves_a_student_no_path_fails_its_candidate_and_the_search_goes_on(
        teacher_dir: Path, german_csv: Path) -> None:
    """At 0.999 each layer of a 16-16 student keeps one weight, which almost never join up: the
    plan was refused with exit 2 and stopped the whole search, though the unpruned candidate
    passed (a review, 2026-12-03)."""
    space = SearchSpace(hidden=((16, 16),), temperature=(2.0,), sparsity=(0.0, 0.999), bits=(32,))
    found = search_students(teacher_dir, german_csv, seed=1, budget_s=600, space=space, config=TINY, fine_tune=TINY,
                            gates=LOOSE, progress=False, timing=False)
    by_sparsity = {c["name"].split("sparsity ")[1].split(",")[0]: c for c in found.candidates}
    assert by_sparsity["0"]["passed"] and found.chosen is not None and found.chosen["name"] == by_sparsity["0"]["name"]
    cut = by_sparsity["0.999"]
    assert not cut["passed"] and cut["failed"][0].startswith("magnitude_pruning: Pruning at sparsity 0.999 (layer scope) "
                                                             "leaves no path from the inputs to the output")
