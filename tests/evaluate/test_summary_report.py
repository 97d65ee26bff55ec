"""The summary and reproducibility sections, from records written by hand."""

from __future__ import annotations

import json
from typing import Any

import pytest

from finlite.evaluate.summary_report import build_reproducibility, build_summary


def _comparison(*, gates: list[dict[str, Any]] | None = None, warnings: list[str] | None = None) -> dict[str, Any]:
    comparison: dict[str, Any] = {
        "split": "test", "rows": 300, "task": "binary",
        "teacher": {"auc": 0.80, "ks": 0.50, "brier": 0.17, "parameters": 4000, "nonzero_parameters": 4000,
                    "model_bytes": 16000, "flops_per_row": 8000, "latency_p50_us": 40.0},
        "student": {"auc": 0.78, "ks": 0.47, "brier": 0.18, "parameters": 1000, "nonzero_parameters": 500,
                    "model_bytes": 2000, "flops_per_row": 1000},  # no latency: a run without timing
        "fidelity": {"agreement": 0.96, "psi": 0.02, "spearman": 0.97, "swap_set": {"a": {"count": 3}},
                     "agreement_band": [{"flag_rate": 0.1, "agreement": 0.9}]},
        "ratios": {"size_ratio": 8.0, "parameter_ratio": 8.0, "auc_drop": 0.02},
        "operating_point": {"cutoff": 0.31, "description": "cut-off 0.31 (the training bad rate)"},
        "recipe": {"name": "compress", "passed": not any(not g["passed"] for g in gates or []),
                   "final_gates": gates or [],
                   "steps": [{"index": 0, "method": {"method": "distillation"}, "status": "kept",
                              "gates": [{"passed": True, "message": "auc drop 0.01 within max_drop 0.02"}],
                              "info": {}},
                             {"index": 1, "method": {"method": "magnitude_pruning"}, "status": "rolled_back",
                              "gates": [{"passed": False, "message": "auc drop 0.04 > 0.02"}], "info": {}}]},
    }
    if warnings:
        comparison["warnings"] = warnings
    return comparison


def test_summary_compares_headline_metrics_and_records_steps() -> None:
    section = build_summary(_comparison())
    d = section.to_dict()
    json.dumps(d, allow_nan=False)
    assert d["id"] == "summary" and d["status"] == "PASS"
    table = {row[0]: row[1:] for row in d["tables"][0]["rows"]}
    # Student − teacher, computed here independently; latency is left out (the student has none).
    assert table["AUC"] == pytest.approx([0.80, 0.78, 0.78 - 0.80])
    assert table["bytes on disk (weights)"] == [16000, 2000, 2000 - 16000]
    assert "latency p50, batch 1 (µs)" not in table
    assert d["metrics"]["steps"] == 2 and d["metrics"]["steps_kept"] == 1
    assert d["metrics"]["gates_passed"] is None and d["metrics"]["ratios"]["size_ratio"] == 8.0
    assert d["metrics"]["fidelity"] == {"agreement": 0.96, "psi": 0.02, "spearman": 0.97}
    # Each measure named for what it compares ("psi" alone read as the stability section's).
    follows = next(t for t in d["tables"] if t["id"] == "summary_fidelity")["rows"]
    assert follows == [["agreement of decisions at the cut-off", 0.96],
                       ["PSI of the student's scores against the teacher's (test rows)", 0.02],
                       ["Spearman rank correlation with the teacher", 0.97]]
    steps = next(t for t in d["tables"] if t["id"] == "summary_steps")["rows"]
    # A kept step's gate values are shown too (a margin was in the manifest only: a validator's walk-through).
    assert steps == [[1, "distillation", "kept", "auc drop 0.01 within max_drop 0.02"],
                     [2, "magnitude_pruning", "rolled_back", "auc drop 0.04 > 0.02"]]
    assert "1 of 2 step(s) kept (distillation)" in d["summary"] and "8.0x smaller" in d["summary"]
    assert d["metrics"]["cutoff"] == 0.31


def test_a_forecasters_agreement_is_of_directions_and_a_volatility_forecasters_left_out() -> None:
    """A volatility student's report read "agreement of decisions at the cut-off 1" beside a
    correlation of 0.11: a forecaster has no cut-off, and a volatility's sign never differs (an
    LGD modeller's walk-through, 2026-12-07)."""
    comparison = _comparison()
    comparison["task"] = "forecast"
    comparison["fidelity"] = {"agreement": 1.0, "correlation": 0.11}
    for objective, rows in (("return", [["agreement of the forecasts' directions (signs)", 1.0],
                                        ["correlation with the teacher", 0.11]]),
                            ("volatility", [["correlation with the teacher", 0.11]])):
        comparison["forecast"] = {"objective": objective}
        d = build_summary(comparison).to_dict()
        assert next(t for t in d["tables"] if t["id"] == "summary_fidelity")["rows"] == rows, objective
        assert ("agreement" in d["metrics"]["fidelity"]) is (objective == "return")


def test_summary_fails_on_a_failed_gate_and_warns_on_the_fidelity_warning() -> None:
    gates = [{"passed": True, "message": "agreement 0.97 >= 0.95"}, {"passed": False, "message": "auc drop 0.03 > 0.02"}]
    failed = build_summary(_comparison(gates=gates))
    assert failed.status == "FAIL" and "auc drop 0.03 > 0.02" in failed.summary
    assert failed.metrics["gates"] == 2 and failed.metrics["gates_failed"] == 1 and failed.metrics["gates_passed"] is False
    assert next(t for t in failed.tables if t.id == "summary_gates").rows[1] == ["auc drop 0.03 > 0.02", "NO"]
    warned = build_summary(_comparison(warnings=["WARNING: the student's test AUC is 0.07 below"]), warn_auc_drop=0.06)
    assert warned.status == "WARN" and warned.notes[0].startswith("WARNING") and "0.06" in warned.threshold
    passed = build_summary(_comparison(gates=gates[:1]))
    assert passed.status == "PASS" and passed.metrics["gates_passed"] is True


def test_summary_of_a_regression_model_has_no_auc() -> None:
    comparison = _comparison()
    comparison["task"] = "regression"
    comparison["teacher"] = {"rmse": 2.0, "r2": 0.5, "model_bytes": 100, "parameters": 10, "nonzero_parameters": 10}
    comparison["student"] = {"rmse": 2.5, "r2": 0.4, "model_bytes": 50, "parameters": 5, "nonzero_parameters": 5}
    section = build_summary(comparison)
    labels = [row[0] for row in section.tables[0].rows]
    assert "AUC" not in labels and labels[:2] == ["RMSE", "R²"]
    assert "R² 0.5 → 0.4" in section.summary


RECIPE = "name: compress\nsteps:\n- method: distillation\n  temperature: 2.0\n"


def _record(**changes: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "seed": 7, "cutoff": 0.3, "versions": {"torch": "2.13.0", "numpy": "2.1.0", "python": "3.12.1"},
        "data": {"source": "german_credit.csv", "file_sha256": "f" * 64, "content_sha256": "c" * 64,
                 "split": {"method": "stratified", "config": {"seed": 7, "test_size": 0.3}}},
        "files": {"weights.safetensors": "a" * 64, "preprocessor.json": "b" * 64},
        "teacher": {"path": "/runs/teacher", "manifest_sha256": "d" * 64},
        "steps": [{"method": "distillation", "status": "kept", "train": {"epochs": 30, "seed": 7}, "batch_size": 64,
                   "temperature": 2.0}],
    }
    record.update(changes)
    return record


def test_reproducibility_records_versions_hashes_settings_and_the_recipe() -> None:
    section = build_reproducibility(_record(), RECIPE)
    d = section.to_dict()
    json.dumps(d, allow_nan=False)
    assert d["id"] == "reproducibility" and d["status"] == "PASS"
    tables = {t["id"]: t["rows"] for t in d["tables"]}
    assert ["seed", 7] in tables["reproducibility_settings"] and ["cut-off", 0.3] in tables["reproducibility_settings"]
    assert ["split test_size", "0.3"] in tables["reproducibility_settings"]
    hashes = {row[0]: row[2] for row in tables["reproducibility_hashes"]}
    assert hashes["data content"] == "c" * 64 and hashes["weights.safetensors"] == "a" * 64
    assert hashes["teacher artifact /runs/teacher"] == "d" * 64
    assert tables["reproducibility_versions"] == [["numpy", "2.1.0"], ["python", "3.12.1"], ["torch", "2.13.0"]]
    # The step's training settings only (not its method's fields), as canonical JSON.
    assert tables["reproducibility_steps"] == [[1, "distillation", "kept",
                                                '{"batch_size": 64, "train": {"epochs": 30, "seed": 7}}']]
    assert [row[0] for row in tables["reproducibility_recipe"]] == RECIPE.rstrip("\n").split("\n")
    assert d["metrics"]["recipe_yaml"] == RECIPE and d["metrics"]["seed"] == 7


@pytest.mark.parametrize("missing", ["seed", "content_sha256"])
def test_reproducibility_warns_without_a_seed_or_a_data_hash(missing: str) -> None:
    record = _record(seed=None) if missing == "seed" else _record(data={"source": "x.csv", "file_sha256": "f" * 64})
    section = build_reproducibility(record, RECIPE)
    assert section.status == "WARN"
    assert ("the seed" if missing == "seed" else "the data's content hash") in section.summary


def test_rare_positives_warn_when_pr_auc_falls_without_a_gate() -> None:
    """The fraud bench's `smallest` student: AUC 0.9914 → 0.9816, PR-AUC 0.839 → 0.590, 0.17 % positives."""
    from finlite.evaluate.summary_report import RARE_POSITIVES, WARN_PR_AUC_SHARE, rare_positive_warning

    def comparison(pr_student: float, positives: int, rows: int = 56_962) -> dict[str, Any]:
        return {"teacher": {"auc": 0.9914, "pr_auc": 0.839, "positives": positives, "rows": rows},
                "student": {"auc": 0.9816, "pr_auc": pr_student, "positives": positives, "rows": rows}}

    message = rare_positive_warning(comparison(0.590, 98), ["auc", "agreement"])
    assert message is not None and message.startswith("WARNING: positives are rare here (0.17% of the rows)")
    assert "PR-AUC 0.5900 is 30% below its teacher's 0.8390 while its AUC moved only -0.0098" in message
    assert "pr_auc: {max_drop: 0.02}" in message
    assert rare_positive_warning(comparison(0.590, 98), ["auc", "pr_auc"]) is None  # a gate looked at it
    assert rare_positive_warning(comparison(0.790, 98), []) is None  # `fastest`: 6 % below, under the share
    at_share = 0.839 * (1 - WARN_PR_AUC_SHARE)
    assert rare_positive_warning(comparison(at_share - 1e-9, 98), []) is not None
    common = int(56_962 * RARE_POSITIVES) + 1  # positives no longer rare: AUC speaks for the ranking
    assert rare_positive_warning(comparison(0.590, common), []) is None
    assert rare_positive_warning({"teacher": {"auc": 0.8}, "student": {"auc": 0.7}}, []) is None  # no PR-AUC
    assert rare_positive_warning(comparison(0.590, 29), []) is None  # too few positives: PR-AUC is noise
    assert rare_positive_warning(comparison(0.590, 30), []) is not None
    warned = build_summary({**_comparison(), "warnings": [message]})
    assert warned.status == "WARN" and "PR-AUC 20% or more below" in warned.threshold


def test_a_size_ratio_below_one_reads_as_larger() -> None:
    """evaluate printed "artifact is 0.1x smaller on disk" for one 7x larger (a review, 2026-12-03)."""
    from finlite.evaluate.summary_report import size_words

    assert size_words(12.345) == "12.3x smaller"
    assert size_words(1.0) == "1.0x smaller"
    assert size_words(2.5 / 18.5) == "7.4x larger"
    assert size_words(0.0) == size_words(float("nan")) == "of no comparable size (n/a)"


def test_the_size_ratio_says_it_is_of_weights_and_what_the_shared_preprocessor_makes_of_it() -> None:
    """"781.3x smaller on disk" counted the weights files only, while both models read a 548 KiB
    preprocessor.json of weight-of-evidence maps: 3.4x with it (a validator's walk-through, 2026-12-05)."""
    from finlite.evaluate.summary_report import weights_words

    report = {"ratios": {"size_ratio": 1_375_131 / 1_760}, "teacher": {"model_bytes": 1_375_131},
              "student": {"model_bytes": 1_760}}
    assert weights_words(report) == "weights 781.3x smaller on disk"
    shared = {**report, "preprocessor_bytes": {"teacher": 560_799, "student": 560_799}}
    whole = (1_375_131 + 560_799) / (1_760 + 560_799)
    assert f"{whole:.1f}" == "3.4"
    assert weights_words(shared) == ("weights 781.3x smaller on disk (the preprocessor.json both read, 547.7 KiB, is "
                                     "not counted: 3.4x smaller with it)")
    # Each model's own file when they differ (an older writer's teacher file): compress and finlite
    # report gave two ratios when one size stood for both (a review, 2026-12-05).
    apart = {**report, "preprocessor_bytes": {"teacher": 11_188, "student": 9_347}}
    assert weights_words(apart) == (f"weights 781.3x smaller on disk (their preprocessor.json files, 10.9 and 9.1 KiB, "
                                    f"are not counted: {(1_375_131 + 11_188) / (1_760 + 9_347):.1f}x smaller with them)")
    assert weights_words({"ratios": {}}) == "weights of no comparable size (n/a) on disk"
    assert weights_words({**report, "preprocessor_bytes": {"teacher": 5}}) == "weights 781.3x smaller on disk"
    summary = build_summary({**_comparison(), "preprocessor_bytes": {"teacher": 560_799, "student": 560_799}})
    assert "the student's weights" in summary.summary and "preprocessor.json both read" in summary.summary


def test_a_constant_rate_run_stopped_by_its_cap_while_improving_is_noted_not_warned() -> None:
    """A 60,000-loan sample's distillation kept epoch 193 of 200 at a constant rate and the report
    said nothing (a validator's walk-through, 2026-12-05): a note, the status unchanged."""
    def noted(**info: Any) -> list[str]:
        comparison = _comparison()
        comparison["recipe"]["steps"][0]["info"] = info
        section = build_summary(comparison)
        assert section.status == "PASS"
        return [n for n in section.notes if n.startswith("Step ")]

    assert noted(best_epoch=192, epochs_run=200, epochs_max=200, schedule="constant") == [
        "Step 1 (distillation) ran all 200 of its epochs at a constant learning rate and kept epoch 193: it was "
        "still improving on the validation split when the cap stopped it. More epochs (--epochs N, which also caps a "
        "recipe step's own train: {epochs: ...}) may bring the student closer to its teacher."]
    assert noted(best_epoch=180, epochs_run=200, epochs_max=200, schedule="constant")  # the last tenth: 181 of 200
    assert not noted(best_epoch=179, epochs_run=200, epochs_max=200, schedule="constant")  # levelled off before
    assert not noted(best_epoch=35, epochs_run=66, epochs_max=200, schedule="constant")  # early stopping ended it
    assert not noted(best_epoch=198, epochs_run=200, epochs_max=200, schedule="constant", diverged=True)
    assert not noted(best_epoch=59, epochs_run=60, epochs_max=60, schedule="onecycle")  # meant to end at its cap
    assert noted(best_epoch=2, epochs_run=5, epochs_max=5, schedule="constant")  # the last three of a short run
    assert not noted(best_epoch=1, epochs_run=5, epochs_max=5, schedule="constant")
    assert not noted(best_epoch=1, epochs_run=2, epochs_max=2, schedule="constant")  # too short to say
    assert not noted(best_epoch="192", epochs_run=200, epochs_max=200, schedule="constant")  # another shape
    assert not noted(best_epoch=True, epochs_run=3, epochs_max=3, schedule="constant")
