"""The compress job: the classic options build a recipe that runs through the runner like any
other, a ready plan and a dry run go the same way, and the set-up seeds both training configs."""

from __future__ import annotations

import inspect
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

import finlite
from finlite.artifact import prepare_like
from finlite.errors import ConfigError, DataError
from finlite.jobs.compress import (
    CLASSIC_NAME,
    cap_epochs,
    classic_recipe,
    compress,
    compress_with_recipe,
    market_recipe,
)
from finlite.methods import Distillation, MagnitudePruning, PruningPlan
from finlite.models.base import FinliteModel
from finlite.recipe.spec import Recipe, Step
from finlite.training.loop import TrainConfig

TINY = TrainConfig(epochs=5, patience=5, progress=False)


def _scores(model: FinliteModel | None, teacher_dir: Path, data: Path) -> np.ndarray:
    if model is None:
        raise AssertionError("no model was kept")
    prepared = prepare_like(finlite.load(teacher_dir), data)
    with torch.inference_mode():
        return model.predict_proba(torch.from_numpy(prepared.x_test)).numpy()


def test_classic_recipe_is_distillation_then_pruning_without_gates() -> None:
    recipe = classic_recipe(700, student_hidden=(8,), distillation=Distillation(temperature=3.0),
                            pruning=MagnitudePruning(sparsity=0.4))
    assert recipe.steps == [Step(Distillation(temperature=3.0, hidden=(8,))), Step(MagnitudePruning(sparsity=0.4))]
    assert recipe.gates == [] and recipe.name == CLASSIC_NAME
    # Defaults follow the training rows; no sparsity, no pruning step.
    assert classic_recipe(700).steps == [Step(Distillation(hidden=(16,)))]
    assert classic_recipe(200_000, pruning=MagnitudePruning(sparsity=0.0)).steps == [
        Step(Distillation(hidden=(128, 64)))]
    assert classic_recipe(200_000, pruning=MagnitudePruning(sparsity=0.5), size_aware_sparsity=True).steps[1] == \
        Step(MagnitudePruning(sparsity=0.3))


def test_classic_options_run_as_their_recipe(teacher_dir: Path, german_csv: Path, tmp_path: Path) -> None:
    classic = finlite.compress(teacher_dir, german_csv, student_hidden=(8,), pruning=MagnitudePruning(sparsity=0.5),
                               seed=3, config=TINY, fine_tune=TINY, out=tmp_path / "s", timing=False, progress=False)
    assert [r.status for r in classic.result.records] == ["kept", "kept"] and classic.passed
    assert classic.final_gates == [] and classic.plan is not None
    saved = Recipe.load(tmp_path / "s" / "recipe.yaml")
    assert saved == classic.recipe and [s.name for s in saved.steps] == ["distillation", "magnitude_pruning"]
    manifest = json.loads((tmp_path / "s" / "manifest.json").read_text())
    steps = manifest["steps"]
    assert [s["method"] for s in steps] == ["distillation", "magnitude_pruning"]
    assert steps[0]["teacher"]["manifest_sha256"] == finlite.load(teacher_dir).manifest["manifest_sha256"]
    # Both training configs carry the run's seed, whatever seed the configs were given with.
    assert steps[0]["train"]["seed"] == 3 and steps[1]["fine_tune"]["seed"] == 3 and manifest["seed"] == 3
    assert steps[0]["train"]["epochs"] == 5 and steps[0]["batch_size"] == 64 and steps[0]["student"]["hidden"] == [8]
    assert manifest["metrics"]["gates"] == [] and manifest["metrics"]["gates_passed"] is True
    report = (tmp_path / "s" / "report.md").read_text()
    for heading in ("## Data", "## Pruning plan", "## Recipe file"):
        assert heading in report
    # The verdict first: the report's status and that no gate judged the run (report.md gave
    # neither: a validator's walk-through, 2026-12-06).
    status = json.loads((tmp_path / "s" / "report.json").read_text())["status"]
    assert report.index("## Verdict") < report.index("| metric |")
    assert f"Validation report status: {status} (the worst of " in report
    assert "The recipe had no gates: no threshold stopped a student worse than its teacher." in report
    # How the table became the inputs is in report.json and report.html too, not only in report.md
    # and the manifest (a validator's walk-through, 2026-12-05).
    evidence = json.loads((tmp_path / "s" / "report.json").read_text())
    preparation = evidence["data"]["preparation"]
    assert preparation["target"] == "creditability" and preparation["notes"] == manifest["schema"]["notes"]
    assert preparation["dropped"] == manifest["schema"]["drop"]
    html = (tmp_path / "s" / "report.html").read_text()
    assert "Data preparation" in html and "target creditability" in html
    # Both models read the same preprocessor.json: the size ratio says it counts weights only.
    assert evidence["preprocessor_bytes"] == {"teacher": (teacher_dir / "preprocessor.json").stat().st_size,
                                              "student": (tmp_path / "s" / "preprocessor.json").stat().st_size}
    assert "the student's weights 15.7x smaller on disk (the preprocessor.json both read" in json.dumps(evidence)
    assert "| weights on disk |" in report
    # The fidelity warning (0.19 AUC below the teacher here) comes before the numbers it qualifies.
    assert report.index("## WARNING") < report.index("| metric | teacher | student |")
    # The same recipe, given as a recipe, is the same run: the same student, bit for bit.
    again = compress_with_recipe(teacher_dir, german_csv, saved, seed=3, config=TINY, fine_tune=TINY, timing=False,
                                 progress=False)
    assert np.array_equal(_scores(again.model, teacher_dir, german_csv), _scores(classic.model, teacher_dir, german_csv))
    assert again.report["student"]["auc"] == manifest["metrics"]["test"]["auc"]


def test_a_ready_plan_is_applied_as_it_is(teacher_dir: Path, german_csv: Path, tmp_path: Path) -> None:
    common = {"student_hidden": (8,), "config": TINY, "fine_tune": TINY, "timing": False, "progress": False}
    dry = compress(teacher_dir, german_csv, pruning=MagnitudePruning(sparsity=0.5), plan_only=True,
                   out=tmp_path / "dry", **common)
    assert dry.plan is not None and dry.path is None and dry.report == {} and not (tmp_path / "dry").exists()
    assert [r.method["method"] for r in dry.result.records] == ["distillation"]  # distilled, not pruned
    assert dry.plan.sparsity() == pytest.approx(0.5, abs=0.01)
    # Edit the plan as a reviewer would: keep every weight of the output layer.
    data = dry.plan.to_dict()
    for layer in data["layers"]:
        if layer["name"] != "layers.0":
            layer["pruned"], layer["pruned_count"] = [], 0
    edited = PruningPlan.from_dict(data)
    out = compress(teacher_dir, german_csv, pruning=MagnitudePruning(sparsity=0.9), plan=edited,
                   out=tmp_path / "s", **common)
    assert out.plan is not None and [layer.pruned for layer in out.plan.layers] == [
        layer.pruned for layer in edited.layers]
    saved = finlite.load(tmp_path / "s")
    assert saved.plan is not None and saved.plan.sparsity() == pytest.approx(edited.sparsity())
    weights = dict(saved.model.named_parameters())
    first = edited.layers[0]
    flat = weights[f"{first.name}.weight"].detach().numpy().reshape(-1)
    assert first.pruned and np.all(flat[first.pruned] == 0)
    assert "ready plan" in Recipe.load(tmp_path / "s" / "recipe.yaml").description


def test_a_ready_plan_that_does_not_fit_is_refused_before_anything_trains(teacher_dir: Path, german_csv: Path,
                                                                           tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    # A plan naming a layer the student will not have was refused only after the distillation
    # had trained (a review, 2026-12-04); a dry run too.
    common = {"student_hidden": (8,), "config": TINY, "fine_tune": TINY, "timing": False, "progress": False}
    dry = compress(teacher_dir, german_csv, pruning=MagnitudePruning(sparsity=0.5), plan_only=True, **common)
    assert dry.plan is not None
    data = dry.plan.to_dict()
    misnamed = json.loads(json.dumps(data))
    misnamed["layers"][0]["name"] = "layers.9"

    def no_training(*args: object, **kwargs: object) -> None:
        raise AssertionError("the student was trained before the plan was checked")

    monkeypatch.setattr("finlite.recipe.runner.distill_data", no_training)
    monkeypatch.setattr("finlite.recipe.runner._execute", no_training)  # no step runs, the distillation none
    narrower = {**common, "student_hidden": (3,)}  # the plan's shapes are another student's
    # A plan naming a method that makes none: its step ignored the plan, exit 0 (a review, 2026-12-04 evening).
    quantizing = {**json.loads(json.dumps(data)), "method": {"method": "dynamic_int8"}}
    for edited, options, message in (
            (quantizing, common, r"The pruning plan's 'method' is 'dynamic_int8', which does not apply a ready plan"),
            (misnamed, common, r"The plan prunes layer 'layers\.9', which this model does not have"),
            (data, narrower, r"The plan was made for layer 'layers\.0' of shape \[\d+, 72\].* make a new plan")):
        plan = PruningPlan.from_dict(edited)
        for dry_run in (False, True):
            with pytest.raises(ConfigError, match=message):
                compress(teacher_dir, german_csv, plan=plan, plan_only=dry_run, out=None if dry_run else tmp_path / "s",
                         **options)
    assert not (tmp_path / "s").exists()


@pytest.mark.parametrize("source", ["quantiles", "teacher"])
def test_a_ready_plan_for_a_student_with_input_bins_is_checked_against_that_student(
        teacher_dir: Path, boosted_dir: Path, german_csv: Path, source: str) -> None:
    # Input bins widen the student's first layer: the check built the student without them and
    # refused every such plan (a review, 2026-12-04). Bins from a teacher need a boosted one.
    teacher = teacher_dir if source == "quantiles" else boosted_dir
    common = {"student_hidden": (8,), "config": TINY, "fine_tune": TINY, "timing": False, "progress": False,
              "distillation": Distillation(input_bins=8, input_bins_from=source)}
    dry = compress(teacher, german_csv, pruning=MagnitudePruning(sparsity=0.5), plan_only=True, **common)
    assert dry.plan is not None and dry.plan.layers[0].shape[1] > 72  # the binned columns
    again = compress(teacher, german_csv, plan=dry.plan, plan_only=True, **common)
    assert again.plan is not None and again.plan.layers[0].shape == dry.plan.layers[0].shape


def test_recipe_and_classic_options_do_not_mix(teacher_dir: Path, german_csv: Path, tmp_path: Path) -> None:
    recipe = Recipe(steps=[Step(Distillation(hidden=(8,)))])
    with pytest.raises(ConfigError, match=r"recipe= and pruning=.*Pass recipe= alone"):
        compress(teacher_dir, german_csv, recipe=recipe, pruning=MagnitudePruning(), out=tmp_path / "s")
    with pytest.raises(ConfigError, match="recipe= and plan_only="):
        compress(teacher_dir, german_csv, recipe=recipe, plan_only=True)
    assert not (tmp_path / "s").exists()


def test_compress_is_a_plain_function_with_its_real_signature() -> None:
    params = inspect.signature(finlite.compress).parameters
    assert finlite.compress is compress and inspect.isfunction(finlite.compress)
    for name in ("recipe", "student_hidden", "distillation", "pruning", "plan", "plan_only", "seed", "config",
                 "fine_tune", "out", "overwrite", "timing", "progress", "train_overrides", "size_aware_sparsity"):
        assert params[name].kind is inspect.Parameter.KEYWORD_ONLY, name
    assert list(inspect.signature(finlite.compress_with_recipe).parameters)[:3] == ["teacher", "data", "recipe"]


def test_the_compress_report_times_both_models_as_deployed(teacher_dir: Path, german_csv: Path,
                                                           tmp_path: Path) -> None:
    out = tmp_path / "s"
    finlite.compress(teacher_dir, german_csv, student_hidden=(8,), config=TINY, fine_tune=TINY, out=out,
                     progress=False)
    report = json.loads((out / "report.json").read_text())
    comparison = report.get("comparison", report)
    assert comparison["teacher"]["timed"] == comparison["student"]["timed"] == "onnx"
    assert "| timed in | ONNX Runtime (exported for timing) | ONNX Runtime (exported for timing) |" in (out / "report.md").read_text()
    summary = next(s for s in report["sections"] if s["id"] == "summary")
    labels = [row[0] for row in summary["tables"][0]["rows"]]
    assert "rows/s (batch 16,384), ONNX Runtime (exported for timing)" in labels
    assert summary["metrics"]["timed"] == {"teacher": "onnx", "student": "onnx"}
    # One measurement of batch 1 in ONNX Runtime, quoted by the summary and the cost section alike:
    # two runs gave two p50s and two speed-ups under one label (a validator's audit, 2026-12-04).
    cost = next(s for s in report["sections"] if s["id"] == "cost")
    for name in ("teacher", "student"):
        cell = cost["metrics"]["models"][name]["latency"]["onnxruntime"]["1"]
        assert (cell["p50_us"], cell["p99_us"]) == (comparison[name]["latency_p50_us"],
                                                    comparison[name]["latency_p99_us"])
    teacher_us, student_us = comparison["teacher"]["latency_p50_us"], comparison["student"]["latency_p50_us"]
    # On a loaded machine this tiny student can time slower than its teacher: the wording follows.
    said = "faster" if student_us <= teacher_us else "the speed"
    assert f"({teacher_us / student_us:.2f}× {said})" in cost["summary"]


def test_fidelity_warnings_follow_the_recipes_gates() -> None:
    from finlite.jobs.compress import fidelity_warnings

    report = {"teacher": {"auc": 0.99, "pr_auc": 0.80, "positives": 50, "rows": 50_000},
              "student": {"auc": 0.92, "pr_auc": 0.40, "positives": 50, "rows": 50_000}}
    found = fidelity_warnings(report, [])  # no gates at all: both warnings
    assert len(found) == 2 and "0.0700 below" in found[0] and "PR-AUC 0.4000 is 50% below" in found[1]
    assert [m[:30] for m in fidelity_warnings(report, ["auc"])] == [found[1][:30]]  # gates, none on PR-AUC
    assert fidelity_warnings(report, ["auc", "pr_auc"]) == []


def test_epochs_cap_a_recipe_steps_own_epochs(teacher_dir: Path, german_csv: Path, tmp_path: Path) -> None:
    """--epochs (train_overrides' epochs) caps every step, a step's own `train: {epochs: ...}` too;
    the recipe recorded is the one run."""
    recipe = Recipe(steps=[Step(Distillation(hidden=(8,)), train={"epochs": 50, "lr": 0.01}),
                           Step(MagnitudePruning(sparsity=0.5), train={"epochs": 1})])
    capped = cap_epochs(recipe, 3)
    assert [dict(s.train) for s in capped.steps] == [{"epochs": 3, "lr": 0.01}, {"epochs": 1}]
    assert [dict(s.train) for s in recipe.steps] == [{"epochs": 50, "lr": 0.01}, {"epochs": 1}]  # not changed
    assert cap_epochs(recipe, None) is recipe
    out = tmp_path / "s"
    outcome = compress(teacher_dir, german_csv, recipe=recipe, train_overrides={"epochs": 2}, progress=False,
                       timing=False, out=out)
    assert outcome.recipe.steps[0].train == {"epochs": 2, "lr": 0.01}
    assert outcome.result.records[0].info["epochs_run"] == 2
    saved = Recipe.from_yaml((out / "recipe.yaml").read_text(), "recipe.yaml")
    assert [dict(s.train) for s in saved.steps] == [{"epochs": 2, "lr": 0.01}, {"epochs": 1}]
    # The return forecaster's own transfer-set training is capped the same way; its batch is kept.
    market = market_recipe("forecast", objective="return", pruning=MagnitudePruning(sparsity=0.25), train_values=1000)
    assert market.steps[0].train == {"batch_size": 256, "epochs": 100}
    assert dict(cap_epochs(market, 3).steps[0].train) == {"batch_size": 256, "epochs": 3}


class _Trained(Exception):
    """Raised where the student would be trained: the options were accepted."""


def test_a_norm_is_refused_where_it_does_nothing_and_kept_where_it_scores(teacher_dir: Path, german_csv: Path,
                                                                          forecast_dir: Path, prices: object,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    # A table's student ranks single weights by magnitude: --norm l1 did nothing, without a word; a
    # forecaster's student always loses whole units, scored by the norm (refusing it there was a
    # review's catch, 2026-12-03).
    import finlite.jobs.compress as job

    def trained(*args: object, **kwargs: object) -> None:
        raise _Trained

    monkeypatch.setattr(job, "_run_steps", trained)
    with pytest.raises(ConfigError, match=r"norm='l1' scores whole neurons for structured pruning"):
        finlite.compress(teacher_dir, german_csv, pruning=MagnitudePruning(sparsity=0.5, norm="l1"), timing=False,
                         progress=False)
    with pytest.raises(_Trained):
        finlite.compress(teacher_dir, german_csv, timing=False, progress=False,
                         pruning=MagnitudePruning(sparsity=0.5, norm="l1", granularity="neuron"))
    with pytest.raises(_Trained):
        finlite.compress(forecast_dir, prices, pruning=MagnitudePruning(sparsity=0.25, norm="l1"), timing=False,
                         progress=False)


def test_a_run_its_gates_decide_against_says_so_and_leaves_its_record(teacher_dir: Path, german_csv: Path,
                                                                      tmp_path: Path) -> None:
    """In Python a run whose gates rolled back every step returned quietly (the README's balanced
    example wrote nothing and said nothing: a review, 2026-12-03); its summary says what the CLI says.
    No student is written, but the run's record is, beside the out folder: what was tried, what
    each gate read and decided, the teacher, the data and the seed (a validator asked for it: a
    walk-through, 2026-12-05). An earlier record is replaced only with overwrite, checked first."""
    recipe = Recipe.from_yaml("steps:\n  - {method: distillation, hidden: [4]}\ngates:\n  size_bytes: {max: 1}\n")
    config = TrainConfig(epochs=1, progress=False)
    outcome = finlite.compress(teacher_dir, german_csv, recipe=recipe, config=config, timing=False, out=tmp_path / "s")
    assert not outcome.passed and outcome.path is None and not (tmp_path / "s").exists()
    record_path = tmp_path / "s.rejected.json"
    assert outcome.rejected == record_path
    lines = outcome.summary().splitlines()
    assert lines[0].startswith("step 1 distillation: rolled back (size_bytes ") and "> max 1" in lines[0]
    assert lines[-1] == ("no step passed its gates on the validation split; no student was written. What was tried "
                         f"and why it was refused: {record_path}")
    record = json.loads(record_path.read_text())
    teacher_manifest = json.loads((teacher_dir / "manifest.json").read_text())
    assert record["format"] == "finlite.rejected/2" and record["command"] == "compress"
    assert record["decision"] == "no step passed its gates on the validation split"
    assert record["teacher"]["manifest_sha256"] == teacher_manifest["manifest_sha256"]
    assert record["data"]["file_sha256"] == teacher_manifest["data"]["file_sha256"]
    assert record["seed"] == teacher_manifest["seed"] and record["versions"]["finlite"] == finlite.__version__
    (step,) = record["recipe"]["steps"]
    assert step["method"] == "distillation" and step["status"] == "rolled_back" and "seconds" not in step
    # The cap and schedule beside the epochs run: whether it ended at its cap is read from them.
    assert step["info"]["epochs_max"] == 1 and step["info"]["schedule"] == "constant"
    assert step["info"]["epochs_run"] == 1 and step["best_epoch"] == 0
    (gate,) = step["gates"]
    assert gate["metric"] == "size_bytes" and gate["passed"] is False
    assert gate["value"] == step["validation"]["size_bytes"] > 1  # the gate read what the record says was measured
    assert Recipe.from_yaml(record["recipe"]["yaml"]) == recipe
    before = record_path.read_bytes()
    trained: list[int] = []
    with pytest.raises(DataError, match=r"s\.rejected\.json' holds the record of an earlier run .* pass "
                                        r"overwrite=True to replace it"):
        finlite.compress(teacher_dir, german_csv, recipe=recipe, config=config, timing=False, out=tmp_path / "s",
                         on_step=lambda *a: trained.append(1))
    assert not trained and record_path.read_bytes() == before  # refused before any work; the record kept
    again = finlite.compress(teacher_dir, german_csv, recipe=recipe, config=config, timing=False, out=tmp_path / "s",
                             overwrite=True)
    assert again.rejected == record_path and json.loads(record_path.read_text())["decision"] == record["decision"]
    assert not [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_a_run_at_out_leaves_one_outcome_and_replaces_only_finlites_own(teacher_dir: Path, german_csv: Path,
                                                                        tmp_path: Path) -> None:
    """A student never sits beside a record saying none passed, nor a record beside an older
    student that looks like this run's; only finlite's own record is ever replaced, never an input
    (a review, 2026-12-05: --force replaced a recipe file named like the record)."""
    strict = Recipe.from_yaml("steps:\n  - {method: distillation, hidden: [4]}\ngates:\n  size_bytes: {max: 1}\n")
    loose = Recipe.from_yaml("steps:\n  - {method: distillation, hidden: [4]}\ngates:\n  size_bytes: {max: 1e9}\n")
    config = TrainConfig(epochs=1, progress=False)
    out, record = tmp_path / "s", tmp_path / "s.rejected.json"

    def run(recipe: Recipe, **options: object) -> object:
        return finlite.compress(teacher_dir, german_csv, recipe=recipe, config=config, timing=False, out=out,
                                **options)

    run(strict)
    assert record.is_file() and not out.exists()
    with pytest.raises(DataError, match="holds the record of an earlier run"):
        run(loose)  # a classic or passing run too: the earlier outcome is replaced only with overwrite
    run(loose, overwrite=True)
    assert (out / "manifest.json").is_file() and not record.exists()  # the stale record is gone
    student_sha = json.loads((out / "manifest.json").read_text())["manifest_sha256"]
    outcome = run(strict, overwrite=True)
    assert record.is_file() and not out.exists()  # the older student is gone: this run kept none
    assert json.loads(record.read_text())["removed_student"]["manifest_sha256"] == student_sha
    assert outcome.summary().endswith(f"(manifest sha256 {student_sha}) was removed, as --force (overwrite=True) "  # type: ignore[attr-defined]
                                      "asked: this run kept none")
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]  # nothing moved aside left
    # Only a student is an earlier outcome: a teacher's copy at out stays (a review, 2026-12-05).
    import shutil

    shutil.copytree(teacher_dir, out)
    run(strict, overwrite=True)
    assert (out / "manifest.json").is_file() and "removed_student" not in json.loads(record.read_text())
    shutil.rmtree(out)
    # Not finlite's record: refused with or without overwrite, the file kept.
    record.write_text("steps:\n  - {method: distillation}\n")
    for overwrite in (False, True):
        with pytest.raises(DataError, match=r"which holds a file that is no such record \(format finlite\.rejected/2\)"):
            run(strict, overwrite=overwrite)
    assert record.read_text() == "steps:\n  - {method: distillation}\n"
    record.unlink()
    record.symlink_to(tmp_path / "nowhere")
    with pytest.raises(DataError, match=r"would be written at .*s\.rejected\.json', which is a symbolic link"):
        run(strict, overwrite=True)
    record.unlink()
    record.mkdir()
    with pytest.raises(DataError, match=r"which is a folder; finlite writes it only as a file of its own"):
        run(strict, overwrite=True)


def test_a_summary_says_the_reports_verdict_as_the_cli_does(tmp_path: Path) -> None:
    """From Python, compress returned passed=True and a summary of kept steps while its report
    WARNed on decisions and fairness, which only the CLI said (a walk-through, 2026-12-05)."""
    from types import SimpleNamespace

    from finlite.jobs.compress import CompressOutcome

    report = {"status": "WARN", "sections": [{"id": "decisions", "status": "WARN"}, {"id": "fairness", "status": "WARN"},
                                             {"id": "segments", "status": "PASS"}]}
    outcome = CompressOutcome(model=object(), plan=None, report=report, path=tmp_path / "s",  # type: ignore[arg-type]
                              result=SimpleNamespace(records=[]), recipe=None)  # type: ignore[arg-type]
    assert outcome.summary().splitlines()[-1] == ("validation report: WARN (WARN in decisions, fairness): read those "
                                                  "sections before deploying the student")
    report["sections"] = [{"id": "decisions", "status": "PASS"}]
    report["omitted"] = [{"id": "fairness", "reason": "could not be built: boom", "error": True}]
    assert outcome.summary().splitlines()[-1] == ("validation report: WARN (not built: fairness): read those sections "
                                                  "before deploying the student")
    report["status"] = "PASS"
    assert "validation report" not in outcome.summary()
    assert repr(outcome) == f"CompressOutcome(passed=True, model=object, report='PASS', path={str(tmp_path / 's')!r})"


def test_a_student_slower_than_its_teacher_is_warned_of_unless_a_latency_gate_judged_it() -> None:
    """int8 applied to the teacher itself timed 54-76 µs against the teacher's 8 µs, and nothing
    said so (a review, 2026-12-03)."""
    from finlite.jobs.compress import slower_warning

    report = {"teacher": {"latency_p50_us": 8.0}, "student": {"latency_p50_us": 61.0}}
    assert slower_warning(report, []) == (
        "warning: the student is slower than its teacher at batch 1 (p50 61 µs against 8 µs); the compression made it "
        "no faster to run. A student as wide as its teacher, or int8 on small layers (it pays only for teacher-size "
        "ones: bench/int8.py), costs more than it saves; a latency gate (latency_p50_us: {max: ...}) would judge it.")
    assert slower_warning(report, ["latency_p99_us"]) is None  # a gate decided on it
    assert slower_warning({"teacher": {"latency_p50_us": 8.0}, "student": {"latency_p50_us": 11.0}}, []) is None  # noise
    assert slower_warning({"teacher": {}, "student": {}}, []) is None  # --no-timing


def test_a_student_kept_at_its_first_epoch_is_warned_of(teacher_dir: Path, german_csv: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """The teacher's training warned of a network kept at its first epoch; a student's distillation
    kept at its first said nothing (note61, left alone)."""
    import importlib
    import warnings as stdlib_warnings

    from finlite.errors import FinliteWarning
    from finlite.jobs.compress import first_epoch_warnings

    step = {"index": 0, "status": "kept", "method": {"method": "distillation"}, "info": {"best_epoch": 0,
                                                                                         "epochs_run": 7}}
    said = first_epoch_warnings({"recipe": {"steps": [step]}})
    assert said == ["warning: step 1 (distillation) kept the student's first epoch of 7: it imitated the teacher best "
                    "on the validation split after one pass over the training data, and worse after every later one, "
                    "so it learned little of the teacher. Read its agreement and evidence before relying on it; a "
                    "lower learning rate (a recipe step's train: {lr: ...}) or another student may train further."]
    for other in ({"status": "rolled_back"}, {"info": {"best_epoch": 2, "epochs_run": 7}},
                  {"info": {"best_epoch": 0, "epochs_run": 1}}, {"method": {"method": "magnitude_pruning"}}):
        assert first_epoch_warnings({"recipe": {"steps": [{**step, **other}]}}) == []
    assert first_epoch_warnings({}) == []
    # report.json is read back by finlite report: fields of another shape are no such step, not a traceback.
    for damaged in ({"recipe": []}, {"recipe": {"steps": "x"}}, {"recipe": {"steps": [3, {**step, "info": 5}]}},
                    {"recipe": {"steps": [{**step, "method": "distillation"}]}},
                    {"recipe": {"steps": [{**step, "method": {"method": "no_such_method"}}]}}):
        assert first_epoch_warnings(damaged) == []
    # Every registered distillation trains a student: the regression and hint kinds too.
    for kind in ("regression_distillation", "hint_distillation"):
        assert first_epoch_warnings({"recipe": {"steps": [{**step, "method": {"method": kind}}]}})[0].startswith(
            f"warning: step 1 ({kind}) kept the student's first epoch of 7")
    # Through compress: the distillation's training kept its first epoch of 5.
    module = importlib.import_module("finlite.methods.distill")
    real = module.distill

    def first(*args, **kwargs):  # type: ignore[no-untyped-def]
        result = real(*args, **kwargs)
        result.training.best_epoch, result.training.epochs_run = 0, 5
        return result

    monkeypatch.setattr(module, "distill", first)
    with stdlib_warnings.catch_warnings(record=True) as caught:
        stdlib_warnings.simplefilter("always")
        outcome = finlite.compress(teacher_dir, german_csv, student_hidden=(8,), pruning=MagnitudePruning(sparsity=0.5),
                                   seed=3, config=TINY, fine_tune=TINY, timing=False, progress=False)
    expected = "warning: step 1 (distillation) kept the student's first epoch of 5"
    assert [w for w in outcome.report["warnings"] if w.startswith(expected)]
    assert [w for w in caught if issubclass(w.category, FinliteWarning) and str(w.message).startswith(expected)]


def test_a_train_outcome_prints_as_one_line() -> None:
    """print(outcome) dumped every row of the training table and its arrays into a log (a
    walk-through, 2026-12-05)."""
    from types import SimpleNamespace

    from finlite.jobs.train import TrainOutcome

    big = SimpleNamespace(frame=pd.DataFrame({"x": range(30_000)}))
    outcome = TrainOutcome(model=torch.nn.Linear(2, 1), data=big, metrics={"test": {"auc": 0.81234}},  # type: ignore[arg-type]
                           path=None, warnings=("a",))
    assert repr(outcome) == "TrainOutcome(model=Linear, test_auc=0.8123, path=None, warnings=1)"
    assert outcome.test_auc == 0.81234  # what the repr names can be read (it raised AttributeError)
    from finlite.jobs.forecast import ForecastOutcome

    series = SimpleNamespace(x_train=np.zeros((5_000, 30, 8), dtype=np.float32))
    forecast = ForecastOutcome(model=torch.nn.Linear(2, 1), data=series,  # type: ignore[arg-type]
                               metrics={"test": {"directional_accuracy": 0.52345, "rmse": 0.0123456}}, path=None)
    assert repr(forecast) == ("ForecastOutcome(model=Linear, test_directional_accuracy=0.5234, test_rmse=0.0123, "
                              "path=None)")
    assert forecast.test_directional_accuracy == 0.52345 and forecast.test_rmse == 0.0123456


def test_an_artifact_and_a_predictor_show_a_line_in_a_notebook(exported_dir: Path, tmp_path: Path) -> None:
    """finlite.load's repr was 42,595 characters (the whole manifest and plan); a Predictor's named
    only its address (a notebook walk-through, 2026-12-06)."""
    from finlite.runtime import Predictor

    shown = repr(finlite.load(exported_dir))
    assert shown.startswith(f"Artifact({str(exported_dir)!r}, role='student', model='mlp', task='binary', ")
    assert len(shown) < 200
    import shutil

    moved = tmp_path / "copy"
    shutil.copytree(exported_dir, moved)
    loaded = finlite.load(moved)
    shutil.rmtree(moved)  # a temporary folder a notebook removed: still a line, not FileNotFoundError
    assert repr(loaded).endswith("weights_bytes=unknown)")
    predictor = Predictor(exported_dir)
    assert repr(predictor) == (f"Predictor({str(exported_dir)!r}, variant='fp32', task='binary', "
                               f"cutoff={predictor.cutoff:.6g}, threads=1)")


def test_the_verdict_names_the_report_status_and_each_gate_that_failed_on_the_test_split() -> None:
    from finlite.jobs.compress import markdown_verdict
    from finlite.recipe.gates import GateResult

    full = {"status": "FAIL", "sections": [{"title": "Summary", "status": "FAIL"}, {"title": "Privacy", "status": "PASS"},
                                           {"title": "Decisions", "status": "WARN"}, "not a section"]}
    gates = [GateResult("auc", "max_drop", 0.03, 0.01, True), GateResult("agreement", "min", 0.9, 0.885, False)]
    verdict = markdown_verdict(full, gates).splitlines()
    assert verdict[0] == ("Validation report status: FAIL (the worst of 3 sections; not PASS: Summary FAIL, Decisions "
                          "WARN). report.html, report.json and MODEL_CARD.md give every section with its rule.")
    assert verdict[1] == f"Gates on the test split: 1 of 2 pass; FAILED: {gates[1].message}."
    assert markdown_verdict({"status": "PASS", "sections": []}, gates[:1]).splitlines()[1] == \
        "Gates on the test split: 1 of 1 pass."
    assert "not PASS" not in markdown_verdict({"status": "PASS", "sections": [{"title": "A", "status": "PASS"}]}, [])
    # A section that could not be built is named (it makes the report WARN with every built one PASS).
    unbuilt = {"status": "WARN", "sections": [{"title": "A", "status": "PASS"}],
               "omitted": [{"id": "fairness", "error": "x"}]}
    assert markdown_verdict(unbuilt, []).startswith("Validation report status: WARN (the worst of 1 sections; not "
                                                    "built: fairness).")


def test_a_student_larger_than_its_teacher_is_warned_of() -> None:
    """A logistic teacher distilled into a default MLP student wrote a student 4.9x larger on disk,
    and the summary said PASS (a walk-through, 2026-12-06)."""
    from finlite.jobs.compress import fidelity_warnings, larger_warning

    bigger = {"teacher": {}, "student": {}, "ratios": {"size_ratio": 1 / 4.9}}
    assert larger_warning(bigger) == ("warning: the student is 4.9x larger on disk than its teacher: compressing "
                                      "made the model bigger. The teacher is already small (a logistic or shallow "
                                      "model): deploy it, or give a narrower student (--student-width) and more "
                                      "pruning (--sparsity).")
    assert larger_warning(bigger) in fidelity_warnings(bigger, ["auc"])
    for ratio in (1.0, 3.2, None, 0.0):
        assert larger_warning({"ratios": {"size_ratio": ratio}}) is None


def test_an_out_of_time_students_report_leaves_privacy_out_saying_why(tmp_path: Path) -> None:
    """Under an out-of-time split the attack's non-members are a later period: an SBA book's bad
    rate of 8 % in training against 32 % in the test split read as "a strong leak" (attack AUC
    0.76; a stratified split of the same rows 0.52), and every such student was FAIL (an SBA
    walk-through, 2026-12-06). The section is left out, with the reason, as for a hold-out."""
    from tests.conftest import FAST, make_loans

    book = make_loans(600)
    finlite.train(book, target="defaulted", model="logistic", progress=False, date_column="application_date",
                  out=tmp_path / "teacher")
    finlite.compress(tmp_path / "teacher", book, student_hidden=(4,), config=FAST, fine_tune=FAST,
                     out=tmp_path / "student", timing=False, progress=False)
    report = json.loads((tmp_path / "student" / "report.json").read_text())
    omitted = {o["id"]: o["reason"] for o in report["omitted"]}
    assert "privacy" not in {s["id"] for s in report["sections"]}
    assert "under an out-of-time split every row the model did not train on is of a later period" in omitted["privacy"]
    # A stratified split keeps its attack.
    finlite.train(book, target="defaulted", model="logistic", progress=False, out=tmp_path / "teacher2")
    finlite.compress(tmp_path / "teacher2", book, student_hidden=(4,), config=FAST, fine_tune=FAST,
                     out=tmp_path / "student2", timing=False, progress=False)
    report = json.loads((tmp_path / "student2" / "report.json").read_text())
    assert "privacy" in {s["id"] for s in report["sections"]}


def test_gates_on_a_validation_split_of_few_positives_are_warned_of() -> None:
    """A low-default portfolio's steps were each kept on "auc drop -0.096 within 0.01" from 2
    validation defaults, and the test split then failed the same gate (a walk-through,
    2026-12-07): the run warns, naming the count."""
    from finlite.jobs.compress import thin_gate_warning

    y = np.zeros(142)
    y[:2] = 1
    said = thin_gate_warning(["agreement", "auc", "recall"], y, "binary")
    assert said is not None and said.startswith("the gates on auc, recall judged a validation split of 2 positive "
                                                "row(s) (of 142), fewer than 30")
    assert thin_gate_warning(["agreement", "alert_overlap"], y, "binary") is None  # no gate reads the positives
    y[:30] = 1
    assert thin_gate_warning(["auc"], y, "binary") is None
    assert thin_gate_warning(["rmse"], np.zeros(10), "forecast") is None
