"""The report orchestrator: its inputs, the sections in order, what is omitted, and the rebuild."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch

from finlite import datasets
from finlite.data.prepared import PreparedData, prepare
from finlite.errors import ConfigError, DataError
from finlite.evaluate.report import compare_models
from finlite.evaluate.sections import worst
from finlite.jobs.report import (
    REPORT_FILES,
    ReportOptions,
    build_report_dict,
    rebuild_report,
    reproducibility_record,
    tabular_inputs,
    write_report_files,
)
from finlite.models.linear import LogisticRegression

#: The order of a binary classifier's sections (the preamble's contract).
BINARY_ORDER = ["summary", "discrimination", "calibration", "stability", "decisions", "segments", "fairness",
                "robustness", "explanations", "monotonicity", "privacy", "cost", "reproducibility"]
UNLABELLED = [3, 10, 500]  # rows of the file whose label is missing: prepare() drops them


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    data = datasets.load("german_credit").copy()
    data.insert(0, "application", [f"A{i:04d}" for i in range(len(data))])
    data.loc[UNLABELLED, "creditability"] = np.nan
    return data


@pytest.fixture(scope="module")
def prepared(frame: pd.DataFrame) -> PreparedData:
    return prepare(frame, target="creditability", drop=["application"])


@pytest.fixture(scope="module")
def models(prepared: PreparedData) -> tuple[LogisticRegression, LogisticRegression]:
    """A logistic teacher fitted by a few steps of gradient descent, and a student near it."""
    torch.manual_seed(0)
    teacher = LogisticRegression(prepared.x_train.shape[1])
    x, y = torch.from_numpy(prepared.x_train), torch.from_numpy(prepared.y_train)
    optimiser = torch.optim.Adam(teacher.parameters(), lr=0.05)
    for _ in range(60):
        optimiser.zero_grad()
        torch.nn.functional.binary_cross_entropy_with_logits(teacher(x), y).backward()
        optimiser.step()
    student = LogisticRegression(prepared.x_train.shape[1])
    with torch.no_grad():
        student.linear.weight.copy_(teacher.linear.weight + 0.05 * torch.randn_like(teacher.linear.weight))
        student.linear.bias.copy_(teacher.linear.bias)
    teacher.eval()
    student.eval()
    return teacher, student


def _probability(model: LogisticRegression, x: np.ndarray) -> np.ndarray:
    """P(positive) by hand from the model's weights."""
    w = model.linear.weight.detach().numpy().astype(np.float64).reshape(-1)
    b = float(model.linear.bias.detach().numpy()[0])
    return 1.0 / (1.0 + np.exp(-(x.astype(np.float64) @ w + b)))


def _cutoff(prepared: PreparedData, teacher: LogisticRegression) -> float:
    return float(np.quantile(_probability(teacher, prepared.x_train), 0.7))


def test_inputs_score_each_model_and_name_rows_by_their_line_in_the_file(
        frame: pd.DataFrame, prepared: PreparedData, models: tuple[LogisticRegression, LogisticRegression]) -> None:
    teacher, student = models
    pre = prepared.preprocessor
    inp = tabular_inputs(teacher, pre, student, pre, prepared, 0.4, seed=3)
    assert inp.id_name == "row" and inp.seed == 3 and inp.cutoff == 0.4 and inp.positive == prepared.schema.positive
    # The 1-based row number in the file, although prepare() dropped unlabelled rows before splitting.
    assert not set(UNLABELLED) & set((inp.ids - 1).tolist())
    pd.testing.assert_frame_equal(inp.test_frame, frame.iloc[inp.ids - 1].reset_index(drop=True))
    pd.testing.assert_frame_equal(inp.train_frame, prepared.frame.iloc[prepared.split.train].reset_index(drop=True))
    np.testing.assert_allclose(inp.teacher.scores_test, _probability(teacher, prepared.x_test), rtol=1e-5)
    np.testing.assert_allclose(inp.student.scores_train, _probability(student, prepared.x_train), rtol=1e-5)
    np.testing.assert_allclose(inp.student.score_frame(inp.test_frame), inp.student.scores_test, rtol=1e-5)
    np.testing.assert_array_equal(inp.y_test, prepared.y_test)
    assert tuple(inp.numeric) == prepared.schema.numeric and inp.monotone == {}  # a logistic teacher sets none
    named = tabular_inputs(teacher, pre, student, pre, prepared, 0.4, seed=3, id_column="application")
    assert named.id_name == "application"
    np.testing.assert_array_equal(named.ids, inp.test_frame["application"].to_numpy())


def test_a_large_training_split_is_scored_on_a_seeded_sample_that_the_sections_name(
        prepared: PreparedData, models: tuple[LogisticRegression, LogisticRegression],
        monkeypatch: pytest.MonkeyPatch) -> None:
    import finlite.jobs.report as report_job
    from finlite.evaluate.privacy import build_privacy
    from finlite.evaluate.validation import build_stability, psi_table

    teacher, student = models
    pre = prepared.preprocessor
    whole = tabular_inputs(teacher, pre, student, pre, prepared, 0.4, seed=3)
    assert whole.train_rows_total is None and len(whole.y_train) == len(prepared.y_train)
    monkeypatch.setattr(report_job, "TRAIN_SCORE_ROWS", 200)
    inp = tabular_inputs(teacher, pre, student, pre, prepared, 0.4, seed=3)
    rows = report_job.train_score_rows(len(prepared.y_train), 3)
    assert len(rows) == 200 and np.all(np.diff(rows) > 0)
    np.testing.assert_array_equal(rows, report_job.train_score_rows(len(prepared.y_train), 3))  # seeded
    assert not np.array_equal(rows, report_job.train_score_rows(len(prepared.y_train), 4))
    # Scores and labels are of the same sampled rows; the raw training frame stays whole.
    assert inp.train_rows_total == len(prepared.y_train) and len(inp.train_frame) == len(prepared.y_train)
    np.testing.assert_array_equal(inp.y_train, prepared.y_train[rows])
    np.testing.assert_allclose(inp.student.scores_train, _probability(student, prepared.x_train[rows]), rtol=1e-5)
    np.testing.assert_allclose(inp.teacher.scores_train, whole.teacher.scores_train[rows], rtol=1e-12)
    stability = build_stability(inp)
    assert stability.metrics["student"]["psi"] == pytest.approx(
        psi_table(whole.student.scores_train[rows], whole.student.scores_test, 10)["psi"], rel=1e-9)
    assert stability.metrics["training_rows_scored"] == 200
    assert any(f"a seeded sample of 200 of the {len(prepared.y_train):,} training rows" in n for n in stability.notes)
    privacy = build_privacy(inp)
    assert f"members are a seeded sample of 200 of the {len(prepared.y_train):,} training rows" in \
        privacy.tables[0].caption


@pytest.mark.parametrize(("option", "error", "match"), [
    ({"segments": ("nope",)}, DataError, r"The 'segments' parameter names the column 'nope', which .* does not have"),
    ({"protected": ("sex",)}, DataError, r"The 'protected' parameter names the column 'sex'"),
    # Band edges on a text column: refused before any training, not found by the report afterwards
    # (where the section was omitted and compress exited 0: a review, 2026-12-05).
    ({"protected": ("purpose:1/2",)}, ConfigError, r"bands 'purpose' at 1/2, but 'purpose' is not a numeric column"),
    ({"protected": ("age_in_years", "age_in_years:25")}, ConfigError, r"names 'age_in_years' more than once"),
    # Edges that are no edges: said so, not "no such column" (a validator's walk-through, 2026-12-06).
    ({"protected": ("credit_amount:abc",)}, DataError, r"names the column 'credit_amount' with band edges 'abc', which "
                                                       r"are not band edges: give numbers in increasing order separated "
                                                       r"by '/', e\.g\. credit_amount:25/62"),
    ({"id_column": "loan_id"}, DataError, r"The 'id_column' parameter names the column 'loan_id'"),
    # flips.csv named each row by its label (a review, 2026-12-02); --segments and --protected refused it already.
    ({"id_column": "creditability"}, ConfigError, r"The id column 'creditability' is the label"),
    ({"monotone": {"purpose": 1}}, ConfigError, r"The 'monotone' parameter names 'purpose', which is not a numeric feature"),
    ({"monotone": {"duration_in_month": 2}}, ConfigError, r"gives 'duration_in_month' the sign 2; use \+1"),
])
def test_inputs_refuse_bad_options(prepared: PreparedData, models: tuple[LogisticRegression, LogisticRegression],
                                   option: dict[str, Any], error: type[Exception], match: str) -> None:
    teacher, student = models
    with pytest.raises(error, match=match):
        tabular_inputs(teacher, prepared.preprocessor, student, prepared.preprocessor, prepared, 0.4, seed=0, **option)


def test_report_options_refuse_a_banded_text_column_before_any_training(prepared: PreparedData) -> None:
    from finlite.jobs.report import check_options

    with pytest.raises(ConfigError, match=r"bands 'purpose' at 1/2, but 'purpose' is not a numeric column"):
        check_options(prepared, ReportOptions(protected=("purpose:1/2",)))
    check_options(prepared, ReportOptions(protected=("age_in_years:25/62", "foreign_worker", "foreign_worker")))


def _report(prepared: PreparedData, models: tuple[LogisticRegression, LogisticRegression], options: ReportOptions,
            timings: dict[str, float] | None = None) -> dict[str, Any]:
    teacher, student = models
    cutoff = _cutoff(prepared, teacher)
    inp = tabular_inputs(teacher, prepared.preprocessor, student, prepared.preprocessor, prepared, cutoff, seed=0,
                         segments=options.segments, protected=options.protected, monotone=options.monotone,
                         domain=options.domain)
    comparison = compare_models(teacher, student, prepared.x_test, prepared.y_test, cutoff, timing=False)
    comparison["recipe"] = {"name": "hand", "steps": [{"index": 0, "method": {"method": "distillation"},
                                                       "status": "kept", "gates": [], "info": {}}],
                            "final_gates": [], "passed": True}
    record = reproducibility_record(seed=0, versions={"torch": torch.__version__}, data=prepared.summary(),
                                    files={"weights.safetensors": "a" * 64}, teacher={"path": "t"}, steps=[],
                                    cutoff=cutoff)
    return build_report_dict(comparison, inp, cost=None, record=record, recipe_yaml="steps: []\n",
                             data=prepared.summary(), generated_from={"artifact": "student"}, options=options,
                             timings=timings)


def test_the_report_has_its_sections_in_order_and_says_what_it_left_out(
        prepared: PreparedData, models: tuple[LogisticRegression, LogisticRegression]) -> None:
    timings: dict[str, float] = {}
    report = _report(prepared, models, ReportOptions(), timings)
    ids = [s["id"] for s in report["sections"]]
    assert ids == [i for i in BINARY_ORDER if i in ids] and len(set(ids)) == len(ids)
    assert {"summary", "decisions", "reproducibility"} <= set(ids)
    omitted = {o["id"]: o["reason"] for o in report["omitted"]}
    assert "fairness" not in ids and "--protected" in omitted["fairness"]
    # Without --protected the reason names the features that look protected (a validator's walk-through:
    # "no protected column named" did not say the model reads age, sex and nationality).
    assert omitted["fairness"].endswith("whose names suggest a protected attribute, not assessed: age_in_years, "
                                        "personal_status_and_sex, foreign_worker")
    assert "monotonicity" not in ids and "--monotone" in omitted["monotonicity"]
    assert "cost" not in ids and omitted["cost"] == "no cost measurement was recorded"
    assert set(ids) | set(omitted) == set(BINARY_ORDER)
    assert report["status"] == worst(s["status"] for s in report["sections"])  # nothing failed to build
    # What report.json always had is still there, beside the new keys.
    for key in ("teacher", "student", "fidelity", "ratios", "recipe", "format", "title", "generated_from", "data",
                "change", "card", "options", "sections"):
        assert key in report
    assert report["format"] == 1 and report["change"]["steps_kept"] == ["distillation"]
    assert report["options"] == {"segments": [], "protected": [], "monotone": None, "id_column": None,
                                 "domain": None}
    assert report["domain"] == "credit"  # a DataFrame's name says nothing of fraud
    # Each section was timed, and no time went into the report (it must rebuild byte for byte).
    assert set(timings) == set(ids) and "seconds" not in json.dumps(report)
    assert json.loads(json.dumps(report, allow_nan=False)) == report
    for section in report["sections"]:  # no empty section
        assert section["metrics"] and (section["tables"] or section["plots"]), section["id"]
        # No placeholder left unformatted (a lost f prefix printed "ECE gap {_fmt(gap)}": a review).
        import re

        for text in (section["threshold"], section["summary"], *section["notes"]):
            assert not re.search(r"\{[A-Za-z_][\w.()\[\]'\"]*\}", text), (section["id"], text)


def test_named_columns_bring_fairness_and_monotonicity(
        prepared: PreparedData, models: tuple[LogisticRegression, LogisticRegression]) -> None:
    options = ReportOptions(protected=("foreign_worker", "age_in_years:25/62"), monotone={"duration_in_month": 1})
    report = _report(prepared, models, options)
    ids = [s["id"] for s in report["sections"]]
    assert "fairness" in ids and "monotonicity" in ids
    assert report["options"]["protected"] == ["foreign_worker", "age_in_years:25/62"]
    # The card's list of inputs, the declared protected ones and the ones named like one.
    inputs = report["card"]["inputs"]
    assert inputs["numeric"] == list(prepared.schema.numeric) and inputs["categorical"] == list(prepared.schema.categorical)
    assert inputs["protected_declared"] == ["age_in_years", "foreign_worker"]
    assert inputs["protected_by_name"] == ["personal_status_and_sex"]
    fairness = next(s for s in report["sections"] if s["id"] == "fairness")
    assert [g["group"] for g in fairness["metrics"]["by_column"]["age_in_years"]["groups"]][:3] == \
        ["< 25", "25 to < 62", ">= 62"]
    assert report["options"]["monotone"] == {"duration_in_month": 1}
    files = write_report_files(report, "row,teacher_score\n")
    assert set(files) <= set(REPORT_FILES) and {"report.json", "flips.csv"} <= set(files)
    assert json.loads(files["report.json"]) == report


def test_a_fraud_report_speaks_of_transactions_flagged_for_review(
        prepared: PreparedData, models: tuple[LogisticRegression, LogisticRegression]) -> None:
    from finlite.evaluate.model_card import render_model_card

    report = _report(prepared, models, ReportOptions(domain="fraud"))
    assert report["domain"] == "fraud" and report["options"]["domain"] == "fraud"
    assert report["card"]["intended_use"].startswith("Flag transactions as 'bad' (held for an analyst's review")
    explanations = next(s for s in report["sections"] if s["id"] == "explanations")
    assert explanations["title"] == "Explanations (reasons for flagged transactions)"
    assert explanations["status"] != "FAIL"
    card = render_model_card(report)
    assert "review by an analyst" in card
    for credit_words in ("credit officer", "adverse-action reasons can depend", "adverse-action reasons may depend",
                         "the applicant's, or another party's"):
        assert credit_words not in card, credit_words
    assert "flags and the reasons given for them may depend on" in card  # German credit's age, sex, nationality
    assert ReportOptions.from_dict(report["options"]) == ReportOptions(domain="fraud")


@pytest.mark.parametrize(("source", "stated", "domain"), [
    ("creditcard.csv", None, "fraud"), ("/data/ULB_fraud.parquet", None, "fraud"),
    ("payments_2024.csv", None, "fraud"), ("german_credit.csv", None, "credit"), (None, None, "credit"),
    ("creditcard.csv", "credit", "credit"), ("loans.csv", "fraud", "fraud")])
def test_the_domain_is_stated_or_read_from_the_data_files_name(source: Any, stated: Any, domain: str) -> None:
    from finlite.evaluate.sections import table_domain

    assert table_domain(source, stated) == domain


def test_a_domain_that_is_none_or_fits_no_flag_is_refused(prepared: PreparedData) -> None:
    from finlite.evaluate.sections import table_domain
    from finlite.jobs.report import check_options

    with pytest.raises(ConfigError, match=r"--domain must be one of credit, fraud; got 'aml'"):
        table_domain("x.csv", "aml")
    with pytest.raises(ConfigError, match=r"--domain must be one of credit, fraud; got 'aml'"):
        check_options(prepared, ReportOptions(domain="aml"))
    from dataclasses import replace

    regression = replace(prepared, task="regression")  # only the task is read before the domain is refused
    with pytest.raises(ConfigError, match=r"The 'domain' parameter says what a classifier's flags decide .* this "
                                          r"is a regression model, which flags nothing\. Drop it\."):
        check_options(regression, ReportOptions(domain="fraud"))


def test_a_builder_that_is_not_there_is_omitted_with_the_reason(
        prepared: PreparedData, models: tuple[LogisticRegression, LogisticRegression],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "finlite.evaluate.robustness", None)  # importing it now raises ImportError
    report = _report(prepared, models, ReportOptions())
    assert "robustness" not in [s["id"] for s in report["sections"]]
    assert {"id": "robustness", "reason": "finlite.evaluate.robustness.build_robustness is not available in this "
                                          "finlite"} in report["omitted"]


def test_a_section_the_data_cannot_support_is_omitted_with_the_error_and_the_report_warns(
        prepared: PreparedData, models: tuple[LogisticRegression, LogisticRegression],
        monkeypatch: pytest.MonkeyPatch) -> None:
    import finlite.evaluate.robustness as robustness

    def refuse(inp: Any) -> Any:
        raise DataError("no numeric column with spread to perturb")

    monkeypatch.setattr(robustness, "build_robustness", refuse)
    report = _report(prepared, models, ReportOptions())
    assert "robustness" not in [s["id"] for s in report["sections"]]
    assert {"id": "robustness", "reason": "could not be built: no numeric column with spread to perturb",
            "error": True} in report["omitted"]
    assert report["status"] in ("WARN", "FAIL") and "decisions" in [s["id"] for s in report["sections"]]

    def bug(inp: Any) -> Any:
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(robustness, "build_robustness", bug)
    with pytest.raises(ZeroDivisionError):  # anything but a finlite error is a bug: it is not hidden
        _report(prepared, models, ReportOptions())


# -- on a compressed artifact (the session's exported student) --------------------------------------
@pytest.mark.slow
def test_compress_writes_the_report_and_a_rebuild_is_byte_identical(exported_dir: Path, german_csv: Path,
                                                                    tmp_path: Path) -> None:
    manifest = json.loads((exported_dir / "manifest.json").read_text())
    for name in ("report.json", "report.html", "flips.csv", "report.md"):
        assert name in manifest["files"], name
    stored = json.loads((exported_dir / "report.json").read_text())
    assert stored["generated_from"]["artifact"] == exported_dir.name
    assert stored["sections"][0]["id"] == "summary" and stored["sections"][-1]["id"] == "reproducibility"
    repro = stored["sections"][-1]["metrics"]
    # The hashes the report vouches for are the ones the manifest then recorded.
    assert repro["files"]["weights.safetensors"] == manifest["files"]["weights.safetensors"]
    assert repro["data_content_sha256"] == manifest["data"]["content_sha256"]
    assert stored["student"]["auc"] == manifest["metrics"]["test"]["auc"]
    # The card names the model it describes: its files' sha256 (as the manifest records them), the
    # finlite and seed that made it, and the operating point (a validator's walk-through, 2026-12-06).
    card = (exported_dir / "MODEL_CARD.md").read_text()
    assert f"weights.safetensors {manifest['files']['weights.safetensors']}" in card
    assert f"preprocessor.json {manifest['files']['preprocessor.json']}" in card
    assert f"- made by: finlite {manifest['versions']['finlite']}, seed {manifest['seed']}" in card
    assert f"- operating point: {stored['operating_point']['description']}" in card
    assert "**Calibration: " in card.split("## Metrics", 1)[1].split("## Segment results", 1)[0]

    rebuilt = rebuild_report(exported_dir, german_csv, out=tmp_path / "rebuilt")
    for name in ("report.json", "report.html", "flips.csv"):
        assert (rebuilt / name).read_bytes() == (exported_dir / name).read_bytes(), name
    again = rebuild_report(exported_dir, out=tmp_path / "rendered")  # from report.json alone
    for name in ("report.json", "report.html"):
        assert (again / name).read_bytes() == (exported_dir / name).read_bytes(), name
    assert not any(p.name.endswith("-report") for p in exported_dir.iterdir())  # the artifact was not written to


@pytest.mark.slow
def test_rebuild_against_another_baseline_compares_with_it_and_measures_nothing(exported_dir: Path, german_csv: Path,
                                                                               tmp_path: Path) -> None:
    out = rebuild_report(exported_dir, german_csv, baseline=exported_dir, out=tmp_path / "self")
    report = json.loads((out / "report.json").read_text())
    assert report["fidelity"]["agreement"] == 1.0  # the student against itself
    assert report["generated_from"]["teacher"] == exported_dir.name
    omitted = {o["id"]: o["reason"] for o in report["omitted"]}
    assert "not re-measured for another baseline" in omitted["cost"]


@pytest.mark.slow
def test_rebuild_refuses_bad_input(exported_dir: Path, teacher_dir: Path, loans_csv: Path, tmp_path: Path) -> None:
    out = tmp_path / "r"
    rebuild_report(exported_dir, out=out)
    with pytest.raises(Exception, match=r"already exists; choose another path or pass overwrite=True"):
        rebuild_report(exported_dir, out=out)
    assert rebuild_report(exported_dir, out=out, overwrite=True) == out
    assert out.stat().st_mode & 0o777 == 0o700  # a new report folder is private to its owner
    os.chmod(out, 0o750)  # opened to a reviewers' group: a replacement keeps it so (a review, 2026-12-04 evening)
    assert rebuild_report(exported_dir, out=out, overwrite=True) == out and out.stat().st_mode & 0o777 == 0o750
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match=r"holds files that are not a finlite report \(notes.txt\)"):
        rebuild_report(exported_dir, out=tmp_path / "mine", overwrite=True)
    assert (tmp_path / "mine" / "notes.txt").read_text() == "mine"
    with pytest.raises(ConfigError, match=r"The 'segments' parameter changes what the report is built from, which needs the data"):
        rebuild_report(exported_dir, segments=["purpose"], out=tmp_path / "x")
    with pytest.raises(DataError, match=r"is not the table .* was trained on"):
        rebuild_report(exported_dir, loans_csv, out=tmp_path / "y")
    with pytest.raises(ConfigError, match=r"holds no report.json"):
        rebuild_report(teacher_dir, out=tmp_path / "z")
    with pytest.raises(ConfigError, match=r"is inside the artifact"):
        rebuild_report(exported_dir, out=exported_dir / "inside")
    teacher = Path(json.loads((exported_dir / "manifest.json").read_text())["steps"][0]["teacher"]["path"])
    with pytest.raises(ConfigError, match=r"is inside the recorded teacher"):  # the default baseline is an input too
        rebuild_report(exported_dir, out=teacher / "report")
    assert not (teacher / "report").exists()


@pytest.mark.slow
def test_compress_refuses_a_bad_report_option_before_training(teacher_dir: Path, german_csv: Path,
                                                             tmp_path: Path) -> None:
    import finlite

    with pytest.raises(DataError, match=r"The 'segments' parameter names the column 'nope'"):
        finlite.compress(teacher_dir, german_csv, segments=["nope"], out=tmp_path / "s", progress=False)
    with pytest.raises(ConfigError, match=r"The 'enforce_monotone' parameter .* none were declared"):
        finlite.compress(teacher_dir, german_csv, enforce_monotone=True, out=tmp_path / "s", progress=False)
    with pytest.raises(ConfigError, match=r"The 'monotone' parameter gives 'age_in_years' the sign 2"):
        finlite.compress(teacher_dir, german_csv, monotone={"age_in_years": 2}, out=tmp_path / "s", progress=False)
    assert not (tmp_path / "s").exists()


@pytest.mark.slow
def test_a_forecaster_gets_the_forecasting_sections_and_rebuilds_byte_identical(tmp_path: Path) -> None:
    from finlite.data.market import MarketSpec
    from finlite.jobs.compress import compress
    from finlite.jobs.forecast import train_forecaster
    from finlite.training.loop import TrainConfig
    from tests.jobs.test_forecast import write_prices

    quick = TrainConfig(epochs=2, progress=False)
    prices = write_prices(tmp_path / "prices.csv", n=260)
    train_forecaster(prices, spec=MarketSpec(window=5), model="gru", hidden=(4,), config=quick,
                     out=tmp_path / "teacher", progress=False)
    with pytest.raises(ConfigError, match=r"The 'protected' parameter applies to a table's rows"):
        compress(tmp_path / "teacher", prices, protected=["close"], out=tmp_path / "student", progress=False)
    compress(tmp_path / "teacher", prices, student_hidden=(2,), config=quick, fine_tune=quick,
             out=tmp_path / "student", progress=False, timing=False)
    student = tmp_path / "student"
    report = json.loads((student / "report.json").read_text())
    ids = [s["id"] for s in report["sections"]]
    assert ids[0] == "summary" and ids[-1] == "reproducibility" and "forecast" in report
    assert {"forecast_accuracy", "diebold_mariano", "trading", "fold_stability"} <= set(ids)
    assert "decisions" not in ids and "flips.csv" not in json.loads((student / "manifest.json").read_text())["files"]
    rebuilt = rebuild_report(student, prices, out=tmp_path / "rebuilt")
    for name in ("report.json", "report.html"):
        assert (rebuilt / name).read_bytes() == (student / name).read_bytes(), name
    with pytest.raises(ConfigError, match=r"holds a market forecaster, whose report judges the walk-forward test period"):
        rebuild_report(student, prices, holdout=prices, out=tmp_path / "held")
    assert not (tmp_path / "held").exists()


@pytest.mark.slow
def test_a_volatility_forecaster_lists_the_direction_sections_it_leaves_out(tmp_path: Path) -> None:
    from finlite.data.market import MarketSpec
    from finlite.jobs.compress import compress
    from finlite.jobs.forecast import train_forecaster
    from finlite.training.loop import TrainConfig
    from tests.jobs.test_forecast import write_prices

    quick = TrainConfig(epochs=2, progress=False)
    prices = write_prices(tmp_path / "prices.csv", n=260)
    train_forecaster(prices, spec=MarketSpec(window=5, objective="volatility"), model="gru", hidden=(4,),
                     config=quick, out=tmp_path / "teacher", progress=False)
    compress(tmp_path / "teacher", prices, student_hidden=(2,), config=quick, fine_tune=quick,
             out=tmp_path / "student", progress=False, timing=False)
    report = json.loads((tmp_path / "student" / "report.json").read_text())
    ids = [s["id"] for s in report["sections"]]
    assert "forecast_accuracy" in ids and "trading" not in ids and "direction_agreement" not in ids
    omitted = {o["id"]: o["reason"] for o in report["omitted"]}
    assert "calls no direction" in omitted["trading"] and "calls no direction" in omitted["direction_agreement"]


@pytest.mark.slow
def test_compress_report_options_reach_the_report_and_the_training(teacher_dir: Path, german_csv: Path,
                                                                  tmp_path: Path) -> None:
    import finlite
    from tests.conftest import FAST

    out = tmp_path / "s"
    outcome = finlite.compress(teacher_dir, german_csv, student_hidden=(8,), config=FAST, fine_tune=FAST, out=out,
                               progress=False, timing=False, segments=["housing"], protected=["foreign_worker"],
                               monotone={"duration_in_month": 1, "credit_amount": 1}, id_column="purpose",
                               enforce_monotone=True)
    report = json.loads((out / "report.json").read_text())
    assert outcome.report["sections"] == report["sections"]
    ids = [s["id"] for s in report["sections"]]
    assert {"fairness", "monotonicity", "segments"} <= set(ids)
    assert report["options"] == {"segments": ["housing"], "protected": ["foreign_worker"],
                                 "monotone": {"credit_amount": 1, "duration_in_month": 1}, "id_column": "purpose", "domain": None}
    assert (out / "flips.csv").read_text().split(",", 1)[0] == "purpose"
    manifest = json.loads((out / "manifest.json").read_text())
    # The distillation was trained under the declared constraint (--enforce-monotone).
    assert manifest["steps"][0]["monotone"] == {"credit_amount": 1, "duration_in_month": 1}
    # A rebuild uses the recorded options again (declared in another order): the same report, byte for byte.
    rebuilt = rebuild_report(out, german_csv, out=tmp_path / "r")
    assert (rebuilt / "report.json").read_bytes() == (out / "report.json").read_bytes()


def test_a_rebuild_carries_the_measurements_it_does_not_repeat() -> None:
    from finlite.jobs.report import _carry_measured

    stored = {"teacher": {"auc": 0.8, "latency_p50_us": 50.0}, "student": {"auc": 0.79, "latency_p50_us": 20.0},
              "ratios": {"size_ratio": 8.0, "latency_p50_speedup": 2.5}}

    def fresh() -> dict[str, Any]:
        return {"teacher": {"auc": 0.81}, "student": {"auc": 0.78}, "ratios": {"size_ratio": 4.0}}

    same = fresh()
    _carry_measured(same, stored, same_teacher=True)
    # Recomputed numbers win; what was only measured at compress time comes from the stored report.
    assert same["teacher"] == {"auc": 0.81, "latency_p50_us": 50.0}
    assert same["student"] == {"auc": 0.78, "latency_p50_us": 20.0}
    assert same["ratios"] == {"size_ratio": 4.0, "latency_p50_speedup": 2.5}
    other = fresh()
    _carry_measured(other, stored, same_teacher=False)  # another baseline: its latency was never measured
    assert other["teacher"] == {"auc": 0.81} and other["ratios"] == {"size_ratio": 4.0}
    assert other["student"]["latency_p50_us"] == 20.0


def test_the_recorded_teacher_is_known_by_its_model_files_once_exported_or_signed() -> None:
    from finlite.jobs.compress import is_recorded_teacher, model_files

    teacher = {"manifest_sha256": "a" * 64, "model": {"kind": "mlp"},
               "files": {"weights.safetensors": "1" * 64, "preprocessor.json": "2" * 64, "report.md": "3" * 64}}
    provenance = {"manifest_sha256": "a" * 64, "model": {"kind": "mlp"}, "model_files": model_files(teacher)}
    assert provenance["model_files"] == {"weights.safetensors": "1" * 64, "preprocessor.json": "2" * 64}
    assert is_recorded_teacher(teacher, provenance)
    exported = {**teacher, "manifest_sha256": "b" * 64, "files": {**teacher["files"], "model.onnx": "4" * 64}}
    assert is_recorded_teacher(exported, provenance)  # an export amends the manifest, not the model
    retrained = {**exported, "files": {**exported["files"], "weights.safetensors": "5" * 64}}
    assert not is_recorded_teacher(retrained, provenance)
    rebuilt = {**exported, "model": {"kind": "mlp", "hidden": [8]}}
    assert not is_recorded_teacher(rebuilt, provenance)
    # A student written before model files were recorded is matched by its teacher's manifest alone.
    assert not is_recorded_teacher(exported, {"manifest_sha256": "a" * 64, "model": {"kind": "mlp"}})


@pytest.mark.slow
def test_a_teacher_exported_after_compression_is_still_the_baseline(teacher_dir: Path, german_csv: Path,
                                                                    tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil

    import finlite
    from finlite.jobs.export import export_artifact
    from tests.conftest import FAST

    teacher = tmp_path / "runs" / "teacher"
    shutil.copytree(teacher_dir, teacher)
    student = tmp_path / "runs" / "student"
    monkeypatch.chdir(tmp_path)  # compressed from relative paths, as `finlite demo` does
    finlite.compress(Path("runs/teacher"), german_csv, student_hidden=(8,), config=FAST, fine_tune=FAST,
                     out=Path("runs/student"), timing=False, progress=False)
    export_artifact(teacher, german_csv)  # amends the teacher's manifest (model.onnx and its parity record)
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")  # the recorded "runs/teacher" is found beside the student
    rebuilt = rebuild_report(student, german_csv, out=tmp_path / "rebuilt")
    assert (rebuilt / "report.html").read_bytes() == (student / "report.html").read_bytes()
    # The teacher found beside the student is an input too: no report folder inside it (it was
    # checked only at the recorded path from here, and the folder broke the teacher's manifest).
    with pytest.raises(ConfigError, match=r"is inside the recorded teacher"):
        rebuild_report(student, german_csv, out=teacher / "rep")
    assert not (teacher / "rep").exists()
    manifest = json.loads((teacher / "manifest.json").read_text())
    shutil.rmtree(teacher)
    shutil.copytree(student, teacher)  # another model at the recorded path
    with pytest.raises(Exception, match=r"is not the one it was compressed from, or cannot be used: .*manifest sha256 [0-9a-f]{64}, not the recorded one"):
        rebuild_report(student, german_csv, out=tmp_path / "other")
    assert manifest["manifest_sha256"] != json.loads((student / "manifest.json").read_text())["steps"][0]["teacher"][
        "manifest_sha256"]


@pytest.mark.slow
def test_a_table_with_money_written_as_text_gets_its_whole_report(tmp_path: Path) -> None:
    import finlite
    from tests.conftest import FAST, make_loans

    frame = make_loans()
    frame["loan_amount"] = [f"${v:,.2f} " for v in np.random.default_rng(0).uniform(1_000, 90_000, len(frame))]
    frame.to_csv(tmp_path / "loans.csv", index=False)
    finlite.train(tmp_path / "loans.csv", target="defaulted", hidden=(16,), config=FAST, out=tmp_path / "teacher")
    finlite.compress(tmp_path / "teacher", tmp_path / "loans.csv", student_hidden=(8,), config=FAST, fine_tune=FAST,
                     out=tmp_path / "student", timing=False, progress=False)
    report = json.loads((tmp_path / "student" / "report.json").read_text())
    assert not any(o.get("error") for o in report["omitted"]), report["omitted"]
    stability = next(s for s in report["sections"] if s["id"] == "stability")
    loan = [row for row in stability["tables"][-1]["rows"] if row[0] == "loan_amount"]
    assert len(loan) == 1 and loan[0][1] == "numeric" and loan[0][2] < 0.25  # read as dollars, not refused as text


def test_a_teacher_preprocessor_of_another_size_gives_one_size_ratio_in_compress_and_report(
        teacher_dir: Path, german_csv: Path, tmp_path: Path) -> None:
    """A teacher whose preprocessor.json an older writer laid out differently (still read): compress
    took the teacher's size for both models and finlite report the student's, so the two reports
    differed (a review, 2026-12-05). Each model's own file is counted, the same in both."""
    import shutil

    import finlite
    from finlite.training.loop import TrainConfig
    from tests.test_artifact_trust import rehash

    teacher = tmp_path / "teacher"
    shutil.copytree(teacher_dir, teacher)
    spec = teacher / "preprocessor.json"
    spec.write_text(json.dumps(json.loads(spec.read_text()), indent=4))
    rehash(teacher)
    quick = TrainConfig(epochs=3, batch_size=64, progress=False)
    finlite.compress(teacher, german_csv, student_hidden=(8,), config=quick, fine_tune=quick, out=tmp_path / "s",
                     timing=False, progress=False)
    sizes = {"teacher": spec.stat().st_size, "student": (tmp_path / "s" / "preprocessor.json").stat().st_size}
    assert sizes["teacher"] > sizes["student"]
    written = json.loads((tmp_path / "s" / "report.json").read_text())
    assert written["preprocessor_bytes"] == sizes
    assert "their preprocessor.json files" in json.dumps(written)
    rebuilt = rebuild_report(tmp_path / "s", german_csv, out=tmp_path / "rebuilt")
    for name in ("report.json", "report.html", "MODEL_CARD.md"):
        assert (rebuilt / name).read_bytes() == (tmp_path / "s" / name).read_bytes(), name
