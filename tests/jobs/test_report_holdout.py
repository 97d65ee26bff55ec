"""`finlite report ARTIFACT DATA --holdout LATER`: the validation report judged on a hold-out (out-of-time)
sample, checked against an independent computation of the same numbers."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score
from typer.testing import CliRunner

from finlite.artifact import load, prepare_like
from finlite.cli import app
from finlite.errors import ConfigError, DataError
from finlite.jobs.report import rebuild_report
from finlite.tasks import get_task

pytestmark = pytest.mark.slow


def _holdout(german_csv: Path, path: Path, *, rows: slice = slice(0, 300), stretch: float = 1.0) -> pd.DataFrame:
    """German rows as a later sample: an application id first, the loan durations times ``stretch``."""
    frame = pd.read_csv(german_csv).iloc[rows].reset_index(drop=True)
    frame["duration_in_month"] = (frame["duration_in_month"] * stretch).round().astype(int)
    frame.insert(0, "app_id", [f"APP-{i:05d}" for i in range(len(frame))])
    frame.to_csv(path, index=False)
    return frame


def _section(report: dict, section_id: str) -> dict:
    return next(s for s in report["sections"] if s["id"] == section_id)


def _csi(report: dict, feature: str) -> float:
    table = next(t for t in _section(report, "stability")["tables"] if t["id"] == "csi")
    return float(next(row[2] for row in table["rows"] if row[0] == feature))


def test_a_holdout_report_judges_every_holdout_row_as_an_independent_computation_does(
        exported_dir: Path, german_csv: Path, tmp_path: Path) -> None:
    frame = _holdout(german_csv, tmp_path / "later.csv", stretch=2.0)
    # Two later applications without an outcome yet: left out, as training leaves them out (the
    # hold-out was refused whole: a credit modeller's walk-through, 2026-12-06).
    pending = frame.tail(2).assign(app_id=["APP-PENDING-1", "APP-PENDING-2"], creditability=None)
    pd.concat([frame, pending]).to_csv(tmp_path / "later.csv", index=False)
    out = rebuild_report(exported_dir, german_csv, holdout=tmp_path / "later.csv", id_column="app_id",
                         out=tmp_path / "report")
    report = json.loads((out / "report.json").read_text())

    # Independently: both models score the hold-out's rows through their own encoders.
    student = load(exported_dir)
    teacher = load(Path(json.loads((exported_dir / "manifest.json").read_text())["steps"][0]["teacher"]["path"]))
    task = get_task(student.task)
    y = student.schema.labels(frame, "later")
    p_student = task.scores(student.model, student.tabular.transform(frame, "later"))
    p_teacher = task.scores(teacher.model, teacher.tabular.transform(frame, "later"))
    assert report["split"] == "hold-out" and report["rows"] == len(frame) == 300
    assert report["student"]["auc"] == pytest.approx(roc_auc_score(y, p_student), abs=1e-9)
    assert report["teacher"]["auc"] == pytest.approx(roc_auc_score(y, p_teacher), abs=1e-9)
    record = report["data"]["holdout"]
    assert record["source"] == "later.csv" and record["rows"] == 300 and record["unlabelled_left_out"] == 2
    assert record["positive_rate"] == pytest.approx(float(y.mean()), abs=1e-7)
    # Stretched durations: no row equals a training row, and 300 rows hold enough of each class.
    assert record["rows_in_training_table"] == {"train": 0, "validation": 0, "test": 0}
    # Only the two unlabelled rows are warned of (they were in this count alone: a walk-through, 2026-12-06).
    assert record["warnings"] == [f"2 row(s) of the hold-out {tmp_path / 'later.csv'} have no label ('creditability' empty) and were "
                                  "left out, as training leaves them out: the report judges its 300 labelled rows."]

    # flips.csv names the hold-out's rows by their id: exactly the rows whose decision differs.
    cutoff = student.operating_point.cutoff
    flipped = frame["app_id"][(p_teacher >= cutoff) != (p_student >= cutoff)]
    flips = pd.read_csv(out / "flips.csv")
    assert sorted(flips["app_id"]) == sorted(flipped) and len(flipped) > 0

    # The stability section compares the hold-out with the training rows: the stretched durations drift.
    assert _csi(report, "duration_in_month") >= 0.25
    assert report["title"].endswith("on the hold-out later.csv")
    assert "in place of the test split" in report["generated_from"]["evaluated_on"]
    assert _section(report, "summary")["tables"][0]["caption"].startswith("Teacher and student on the hold-out sample")
    omitted = {o["id"]: o["reason"] for o in report["omitted"]}
    assert "membership-inference attack needs non-members from the training population" in omitted["privacy"]
    assert "privacy" not in [s["id"] for s in report["sections"]]
    assert "holdout.source: later.csv" in (out / "MODEL_CARD.md").read_text()
    assert "on the hold-out later.csv" in (out / "report.html").read_text()

    # The same rows without the stretch: no drift in the durations (the CSI follows the data, not the
    # option). They are the training table's first 300 rows, so the report says by how many parts they
    # overlap the rows the models were fitted on, and warns.
    _holdout(german_csv, tmp_path / "same.csv")
    same = json.loads((rebuild_report(exported_dir, german_csv, holdout=tmp_path / "same.csv",
                                      out=tmp_path / "same-report") / "report.json").read_text())
    assert _csi(same, "duration_in_month") < 0.1
    assert pd.read_csv(tmp_path / "same-report" / "flips.csv")["row"].between(1, 300).all()  # its own line numbers
    split = prepare_like(student, german_csv).split  # independently: which part each of those rows is in
    parts = {part: int((np.asarray(rows) < 300).sum()) for part, rows in (("train", split.train),
                                                                          ("validation", split.validation),
                                                                          ("test", split.test))}
    assert same["data"]["holdout"]["rows_in_training_table"] == parts and sum(parts.values()) == 300
    fitted = parts["train"] + parts["validation"]
    warning = same["data"]["holdout"]["warnings"][0]
    assert warning.startswith(f"{fitted:,} of the 300 rows of the hold-out ")
    assert "same.csv equal rows of the training or validation split" in warning
    summary = _section(same, "summary")
    # Mostly rows the models were fitted on (80 %): no evidence about new rows, a FAIL (it was a WARN
    # beside PASS sections: a validator's review, 2026-12-04); fewer of them only warn.
    assert fitted / 300 >= 0.5 and summary["status"] == "FAIL" and same["status"] == "FAIL"
    assert f"No evidence: the hold-out is mostly rows the models were fitted on ({fitted:,} of 300)" in summary["summary"]
    assert any("optimistic" in n for n in summary["notes"])
    few = pd.concat([pd.read_csv(tmp_path / "later.csv").iloc[:280], pd.read_csv(tmp_path / "same.csv").iloc[:20]])
    few.to_csv(tmp_path / "few.csv", index=False)
    some = json.loads((rebuild_report(exported_dir, german_csv, holdout=tmp_path / "few.csv",
                                      out=tmp_path / "few-report") / "report.json").read_text())
    assert "failures" not in some["data"]["holdout"] and "evidence_failures" not in _section(some, "summary")["metrics"]
    assert _section(some, "summary")["status"] != "FAIL"
    # A hold-out's period is the user's word: the card says so.
    card = (out / "MODEL_CARD.md").read_text()
    assert "The evidence is the hold-out later.csv: finlite records its content hash" in card and "period" in card

    # The artifact's own test split passed as a hold-out: the report warns, and the card keeps the
    # evidence in-time (it dropped that limitation and titled the same numbers a hold-out: a
    # validator's walk-through, 2026-12-06).
    pd.read_csv(german_csv).iloc[np.sort(np.asarray(split.test))].to_csv(tmp_path / "test-again.csv", index=False)
    again_dir = rebuild_report(exported_dir, german_csv, holdout=tmp_path / "test-again.csv", out=tmp_path / "again")
    again = json.loads((again_dir / "report.json").read_text())
    n_test = len(split.test)
    assert again["data"]["holdout"]["rows_in_training_table"]["test"] == n_test
    (said,) = [w for w in again["data"]["holdout"]["warnings"] if "the artifact's own test split" in w]
    assert said.startswith(f"{n_test:,} of the {n_test:,} rows of the hold-out ") and "in-time test split" in said
    card = (again_dir / "MODEL_CARD.md").read_text()
    assert f"is mostly the artifact's own test split ({n_test:,} of its {n_test:,} rows" in card
    assert "the evidence is in-time, not out-of-time" in card


def test_rows_are_matched_by_value_as_the_encoder_reads_them() -> None:
    """A hold-out row equals a training row whatever its file's spelling: "94110.0" is the code 94110,
    "true" is True, " A " is A, 1.0 is 1."""
    from types import SimpleNamespace

    from finlite.jobs.report import row_keys

    schema = SimpleNamespace(numeric=("amount",), categorical=("zip", "flag", "grade"), target="y", money=())
    train = pd.DataFrame({"amount": [1, 2, 3], "zip": [94110, 7, 94110], "flag": [True, False, True],
                          "grade": ["A", "B", "C"], "y": [0, 1, 0]})
    later = pd.DataFrame({"amount": ["1.0", "2", "4"], "zip": ["94110.0", "7", "94110"], "flag": ["true", "FALSE", "true"],
                          "grade": [" A ", "B", "C"], "y": ["0", "1", "0"]})
    known, categories = row_keys(train, schema, "train")
    keys, _ = row_keys(later, schema, "later", categories)
    assert np.isin(keys, known).tolist() == [True, True, False]  # the third differs in its amount


def test_categories_training_never_saw_are_counted_as_score_counts_them(exported_dir: Path, german_csv: Path,
                                                                        tmp_path: Path) -> None:
    """46 % of a hold-out held a category the model never saw; score said so, the report did not
    (a validator's review, 2026-12-03). The counts equal score's, and a share from 1 % warns."""
    from finlite.runtime import Predictor
    from finlite.runtime.batch import score_file

    frame = _holdout(german_csv, tmp_path / "later.csv", stretch=2.0)
    frame.loc[:29, "purpose"] = "crypto mining rig"  # 30 of 300 rows: a value training never saw
    frame.loc[:4, "housing"] = None  # missing where training had no missing housing
    frame.to_csv(tmp_path / "later.csv", index=False)
    out = rebuild_report(exported_dir, german_csv, holdout=tmp_path / "later.csv", out=tmp_path / "report")
    record = json.loads((out / "report.json").read_text())["data"]["holdout"]
    scored = score_file(Predictor(exported_dir), tmp_path / "later.csv", tmp_path / "scores.csv")
    assert record["unseen"] == scored.unseen and record["unseen"]["purpose"] == 30
    assert record["unseen_empty"] == scored.unseen_empty == {"housing": 5}  # the empties, as score counts them
    [warning] = [w for w in record["warnings"] if "category training never saw" in w]
    assert "purpose 30 (10.0%)" in warning and "housing 5 (1.7%; all empty or blank)" in warning


def test_a_blank_id_is_refused_not_written_as_nan(exported_dir: Path, german_csv: Path, tmp_path: Path) -> None:
    """flips.csv named two flipped rows "nan" (a validator's review, 2026-12-03)."""
    frame = _holdout(german_csv, tmp_path / "later.csv", stretch=2.0)
    frame.loc[[4, 23], "app_id"] = None
    frame.to_csv(tmp_path / "later.csv", index=False)
    with pytest.raises(DataError, match=r"The id column 'app_id' is empty in 2 of the 300 rows judged \(the first is "
                                        r"data row 5 of the hold-out\)"):
        rebuild_report(exported_dir, german_csv, holdout=tmp_path / "later.csv", id_column="app_id",
                       out=tmp_path / "report")
    assert not (tmp_path / "report").exists()


def test_stability_on_a_tiny_holdout_is_not_judged(exported_dir: Path, german_csv: Path, tmp_path: Path) -> None:
    """A PSI of 6.8 on 2 hold-out rows made the report FAIL (exit 1) (a validator's review,
    2026-12-03); under 100 rows the section is WARN at most, with its reason."""
    frame = _holdout(german_csv, tmp_path / "later.csv", stretch=2.0)
    two = pd.concat([frame[frame["creditability"] == "good"].head(1), frame[frame["creditability"] == "bad"].head(1)])
    two.to_csv(tmp_path / "two.csv", index=False)
    out = rebuild_report(exported_dir, german_csv, holdout=tmp_path / "two.csv", out=tmp_path / "report")
    stability = _section(json.loads((out / "report.json").read_text()), "stability")
    assert stability["status"] == "WARN" and stability["summary"].endswith("Not judged on 2 rows.")
    assert stability["notes"][0].startswith("Only 2 test rows: a PSI or CSI from fewer than 100 rows is noise")


def test_the_default_folder_is_named_after_the_holdout_and_the_development_report_is_kept(
        exported_dir: Path, german_csv: Path, tmp_path: Path) -> None:
    _holdout(german_csv, tmp_path / "apps 2024-01.later.csv", rows=slice(100, 250), stretch=1.5)
    written = rebuild_report(exported_dir, german_csv, holdout=tmp_path / "apps 2024-01.later.csv")
    try:
        # Only the table suffix goes: apps.2024-01.csv and apps.2024-02.csv get folders of their own.
        assert written == exported_dir.resolve().parent / f"{exported_dir.resolve().name}-report-apps_2024-01.later"
        assert json.loads((written / "report.json").read_text())["rows"] == 150
    finally:
        import shutil

        shutil.rmtree(written)


def test_a_holdout_that_cannot_be_judged_is_refused_and_nothing_is_written(
        exported_dir: Path, german_csv: Path, tmp_path: Path) -> None:
    out = tmp_path / "r"
    with pytest.raises(ConfigError, match=r"The 'holdout' parameter changes what the report is built from, which needs the data"):
        rebuild_report(exported_dir, holdout=german_csv, out=out)
    with pytest.raises(ConfigError, match=r"The hold-out .* is the table .* was trained on \(same content sha256\)"):
        rebuild_report(exported_dir, german_csv, holdout=german_csv, out=out)
    frame = _holdout(german_csv, tmp_path / "h.csv")
    cases = [
        (frame.drop(columns=["creditability"]), r"Target column 'creditability' is missing from the hold-out"),
        (frame.drop(columns=["credit_amount"]), r"credit_amount"),
        (frame.assign(credit_amount=frame["credit_amount"].astype(object).where(frame.index != 7, "lots")),
         r"credit_amount.*'lots'|'lots'.*credit_amount"),
    ]
    for i, (bad, message) in enumerate(cases):
        path = tmp_path / f"bad{i}.csv"
        bad.to_csv(path, index=False)
        with pytest.raises(DataError, match=message):
            rebuild_report(exported_dir, german_csv, holdout=path, out=out)
    labels = frame["creditability"]
    frame[labels == labels.iloc[0]].to_csv(tmp_path / "one.csv", index=False)
    with pytest.raises(DataError, match=rf"the hold-out .*one.csv holds only the class '{labels.iloc[0]}'"):
        rebuild_report(exported_dir, german_csv, holdout=tmp_path / "one.csv", out=out)
    with pytest.raises(DataError, match=r"The 'id_column' parameter names the column 'loan_no'"):
        rebuild_report(exported_dir, german_csv, holdout=tmp_path / "h.csv", id_column="loan_no", out=out)
    assert not out.exists()


def test_the_cli_names_the_rows_it_judged_and_refuses_bad_input_with_exit_2(
        exported_dir: Path, german_csv: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    _holdout(german_csv, tmp_path / "later.csv")
    out = tmp_path / "report"
    frame = pd.read_csv(tmp_path / "later.csv")
    bad = frame["creditability"] != frame["creditability"].iloc[0]
    frame[~bad | (bad.cumsum() <= 5)].to_csv(tmp_path / "later.csv", index=False)  # training rows, and 5 of a class
    result = runner.invoke(app, ["report", str(exported_dir), str(german_csv), "--holdout", str(tmp_path / "later.csv"),
                                 "--out", str(out)])
    status = json.loads((out / "report.json").read_text())["status"]
    assert result.exit_code == (1 if status == "FAIL" else 0), result.output
    assert "rows judged: the hold-out later.csv (" in result.output
    # Printed, not only recorded: rows the models were fitted on, and a class too rare to judge.
    assert "warning: " in result.output and "equal rows of the training or validation split" in result.output
    assert "holds only 5 row(s) of its rarer class" in result.output
    cases = [
        (["report", str(exported_dir), "--holdout", str(tmp_path / "later.csv")], "needs the data"),
        (["report", str(exported_dir), str(german_csv), "--holdout", str(tmp_path / "missing.csv")], "missing.csv"),
        (["report", str(exported_dir), str(german_csv), "--holdout", str(german_csv)], "is the table"),
    ]
    for args, message in cases:
        result = runner.invoke(app, [*args, "--out", str(tmp_path / "x")])
        assert result.exit_code == 2, (args, result.output)
        assert message in result.output and "Traceback" not in result.output, (args, result.output)
    assert not (tmp_path / "x").exists()
    assert np.isfinite(json.loads((out / "report.json").read_text())["student"]["auc"])


def test_a_new_sample_the_training_tables_size_is_not_called_a_copy(exported_dir: Path, german_csv: Path,
                                                                    tmp_path: Path) -> None:
    """A hold-out of as many rows as the training table, none of them a training row by value, was
    warned it may be a copy whose metrics are optimistic (a monitoring walk-through, 2026-12-06)."""
    _holdout(german_csv, tmp_path / "later.csv", rows=slice(0, 1000), stretch=2.0)  # every row changed
    out = rebuild_report(exported_dir, german_csv, holdout=tmp_path / "later.csv", out=tmp_path / "report")
    record = json.loads((out / "report.json").read_text())["data"]["holdout"]
    assert record["rows"] == 1000 and not any(record["rows_in_training_table"].values())
    assert not [w for w in record.get("warnings", []) if "as many rows" in w or "content hash" in w]


def test_a_holdout_is_judged_against_the_models_own_validation_too(exported_dir: Path, german_csv: Path,
                                                                    tmp_path: Path) -> None:
    """Every rule compared the student with its teacher, so a model both had stopped serving passed:
    AUC 0.787 at validation and 0.605 on a hold-out, PASS; a mean PD of 4.4 % against 12.1 % defaults,
    PASS (a monitoring walk-through, 2026-12-06). Checked against sklearn and scipy by hand."""
    from scipy.special import betainc

    rng = np.random.default_rng(3)
    frame = _holdout(german_csv, tmp_path / "decayed.csv", rows=slice(0, 1000), stretch=2.0)
    shuffled = rng.permutation(len(frame))[:600]  # outcomes no longer follow the scores
    frame.loc[shuffled, "creditability"] = frame["creditability"].to_numpy()[rng.permutation(shuffled)]
    frame.to_csv(tmp_path / "decayed.csv", index=False)
    out = rebuild_report(exported_dir, german_csv, holdout=tmp_path / "decayed.csv", out=tmp_path / "r1")
    report = json.loads((out / "report.json").read_text())
    disc = _section(report, "discrimination")
    since = disc["metrics"]["since_validation"]["student"]
    student = load(exported_dir)
    y = student.schema.labels(frame, "decayed")
    p = get_task(student.task).scores(student.model, student.tabular.transform(frame, "decayed"))
    auc = roc_auc_score(y, p)
    validated = json.loads((exported_dir / "manifest.json").read_text())["metrics"]["test"]["auc"]
    assert since["validated_auc"] == pytest.approx(validated) and since["auc"] == pytest.approx(auc, abs=1e-9)
    assert since["gini_relative_decline"] == pytest.approx(1 - (2 * auc - 1) / (2 * validated - 1), abs=1e-9)
    assert since["gini_relative_decline"] > 0.25 and since["beyond_noise"]
    assert disc["status"] == "FAIL" and "markedly worse than when it was validated" in disc["summary"]
    assert report["status"] == "FAIL"

    # Calibration in the large: twice the defaults the model predicts (bad rows taken twice as often).
    again = _holdout(german_csv, tmp_path / "worse.csv", rows=slice(0, 1000))
    bad = again[again["creditability"] == "bad"]
    worse = pd.concat([bad, bad, again[again["creditability"] == "good"].head(300)], ignore_index=True)
    worse["app_id"] = [f"APP-{i:05d}" for i in range(len(worse))]
    worse.to_csv(tmp_path / "worse.csv", index=False)
    out = rebuild_report(exported_dir, german_csv, holdout=tmp_path / "worse.csv", out=tmp_path / "r2")
    cal = _section(json.loads((out / "report.json").read_text()), "calibration")
    own = cal["metrics"]["in_the_large"]["student"]
    y2 = student.schema.labels(worse, "worse")
    p2 = get_task(student.task).scores(student.model, student.tabular.transform(worse, "worse"))
    d, n, mean = int(y2.sum()), len(y2), float(np.mean(p2, dtype=np.float64))
    assert own["observed_rate"] == pytest.approx(d / n) and own["mean_predicted"] == pytest.approx(mean, rel=1e-6)
    assert own["p_under"] == pytest.approx(betainc(d + 0.5, n - d + 0.5, mean), rel=1e-6)
    assert own["factor"] >= 1.5 and own["p_under"] < 0.005
    assert cal["status"] == "FAIL" and "underestimate the rate markedly" in cal["summary"]
    # The other way round, PDs far above the defaults, is conservative for a credit model, as a PD
    # back-test reads it (one-sided): WARN, as a hold-out of no default is (one of a few defaults
    # FAILed where none read milder: a validator's walk-through, 2026-12-07); evaluate says so too.
    safer = pd.concat([bad.head(3), again[again["creditability"] == "good"]], ignore_index=True)
    safer["app_id"] = [f"APP-{i:05d}" for i in range(len(safer))]
    safer.to_csv(tmp_path / "safer.csv", index=False)
    out = rebuild_report(exported_dir, german_csv, holdout=tmp_path / "safer.csv", out=tmp_path / "r3")
    cal = _section(json.loads((out / "report.json").read_text()), "calibration")
    own = cal["metrics"]["in_the_large"]["student"]
    assert own["mean_predicted"] > own["observed_rate"] and own["factor"] >= 1.5 and own["p_over"] < 0.005
    assert cal["metrics"]["in_the_large"]["conservative"] is True and cal["status"] == "WARN"
    assert "its PDs overestimate the rate markedly: conservative, as a PD back-test reads it (one-sided), so " \
        "WARN, not FAIL" in cal["summary"]
    assert "**The student's PDs are above the observed default rate**" in (out / "MODEL_CARD.md").read_text()
    from typer.testing import CliRunner

    from finlite.cli import app

    said = CliRunner().invoke(app, ["evaluate", str(exported_dir), str(tmp_path / "safer.csv"), "--no-timing",
                                    "--json"])
    assert said.exit_code == 0, said.output
    assert json.loads(said.stdout)["calibration_in_the_large"]["conservative"] is True
    assert json.loads(said.stdout)["calibration_status"] == "WARN"  # as report --holdout judges it
    assert "note: the model's PDs" in said.stderr and "conservative, as a PD back-test reads it" in said.stderr
    assert "recalibrate it before relying on its PDs" not in said.stderr


def test_a_new_sample_of_the_same_population_raises_no_alarm(tmp_path: Path) -> None:
    """A hold-out drawn from the training book's own population (another seed of the synthetic
    portfolio): the fall since validation is within both AUCs' noise and the mean prediction
    near the observed rate. Counting only the hold-out's noise gave WARN one time in five on such
    samples (a review, 2026-12-06)."""
    import finlite
    from finlite.datasets.synth import write_portfolio

    write_portfolio(tmp_path / "book.parquet", rows=3_000, seed=1)
    write_portfolio(tmp_path / "later.parquet", rows=20_000, seed=2)
    finlite.train(tmp_path / "book.parquet", target="defaulted", hidden=(16,), out=tmp_path / "teacher",
                  config=finlite.TrainConfig(epochs=15, progress=False))
    finlite.compress(tmp_path / "teacher", tmp_path / "book.parquet", student_hidden=(8,), out=tmp_path / "student",
                     config=finlite.TrainConfig(epochs=10, progress=False), timing=False, progress=False)
    out = rebuild_report(tmp_path / "student", tmp_path / "book.parquet", holdout=tmp_path / "later.parquet",
                         out=tmp_path / "report")
    report = json.loads((out / "report.json").read_text())
    since = _section(report, "discrimination")["metrics"]["since_validation"]["student"]
    assert not since["beyond_noise"] and abs(since["z"]) < 1.96, since
    # This small student was already off in the large at validation (its compress report says so):
    # on the same population it is off by as much, no more (the hold-out's check states it, absolute).
    own = _section(report, "calibration")["metrics"]["in_the_large"]["student"]
    developed = json.loads((tmp_path / "student" / "report.json").read_text())
    then = _section(developed, "calibration")["metrics"]["student"]["calibration_in_the_large"]
    assert own["mean_predicted"] / own["observed_rate"] == pytest.approx(then, rel=0.15), (own, then)
    table = next(t for t in _section(report, "discrimination")["tables"] if t["id"] == "since_validation")
    assert table["columns"][:5] == ["model", "validated_auc", "validated_se", "auc", "se"]


def test_a_recorded_master_scale_is_reused_and_judged_in_the_reports_own_domain(
        exported_dir: Path, german_csv: Path, tmp_path: Path) -> None:
    """The grades' domain check read the hold-out file's name where the report reads its recorded
    domain: a credit report's recorded scale refused a hold-out named "transactions" (exit 2 naming
    a --grades never given), and nothing could clear it (a review, 2026-12-07)."""
    import shutil

    from finlite._manifest import amend_artifact

    graded = tmp_path / "graded"
    shutil.copytree(exported_dir, graded)
    stored = json.loads((graded / "report.json").read_text())
    stored["options"] = {**(stored.get("options") or {}), "grades": [0.1, 0.3, 1.0]}
    amend_artifact(graded, {"report.json": json.dumps(stored).encode()}, {})
    _holdout(german_csv, tmp_path / "transactions_2026.csv")
    later = json.loads((rebuild_report(graded, german_csv, holdout=tmp_path / "transactions_2026.csv",
                                       out=tmp_path / "later") / "report.json").read_text())
    assert later["domain"] == "credit"
    assert _section(later, "calibration")["metrics"]["pd_grades"]["scale"] == [0.1, 0.3, 1.0]
    assert _section(later, "calibration")["metrics"]["pd_grades"]["scale_source"] == "given"
    # Stated another domain, the recorded credit scale does not apply, and nothing is refused.
    fraud = json.loads((rebuild_report(graded, german_csv, domain="fraud", out=tmp_path / "fraud")
                        / "report.json").read_text())
    assert "pd_grades" not in _section(fraud, "calibration")["metrics"]
    # 'default' clears the recorded scale; a scale given for a fraud report is refused.
    plain = json.loads((rebuild_report(graded, german_csv, grades="default", out=tmp_path / "plain")
                        / "report.json").read_text())
    assert _section(plain, "calibration")["metrics"]["pd_grades"]["scale_source"] == "default"
    with pytest.raises(ConfigError, match=r"credit model's PD master scale.*a fraud model"):
        rebuild_report(graded, german_csv, domain="fraud", grades="0.1", out=tmp_path / "refused")
    assert not (tmp_path / "refused").exists()
    # evaluate reads the recorded scale too (it used the generic one where report used the bank's:
    # a validator's walk-through, 2026-12-07); 'default' and a scale given still decide.
    from typer.testing import CliRunner

    from finlite.cli import app
    from finlite.jobs.evaluate import evaluate_artifact

    monthly = evaluate_artifact(graded, tmp_path / "transactions_2026.csv", timing=False)["pd_grades"]
    assert monthly["scale"] == [0.1, 0.3, 1.0] and monthly["scale_recorded"] is True
    generic = evaluate_artifact(graded, tmp_path / "transactions_2026.csv", timing=False, grades="default")
    assert generic["pd_grades"]["scale_source"] == "default" and "scale_recorded" not in generic["pd_grades"]
    own = evaluate_artifact(graded, tmp_path / "transactions_2026.csv", timing=False, grades="0.2")["pd_grades"]
    assert own["scale"] == [0.2, 1.0] and "scale_recorded" not in own
    printed = CliRunner().invoke(app, ["evaluate", str(graded), str(tmp_path / "transactions_2026.csv"),
                                       "--no-timing"])
    assert printed.exit_code == 0, printed.output
    assert "PD per grade of the scale its report recorded (--grades at compress or report)" in printed.output
    assert "    grade  1 (0%–10%):" in printed.output and "    grade  2 (10%–30%):" in printed.output
    # A recorded scale no report writes is the artifact's fault, not a --grades the user gave.
    stored["options"]["grades"] = [5]
    amend_artifact(graded, {"report.json": json.dumps(stored).encode()}, {})
    from finlite.errors import ArtifactError

    with pytest.raises(ArtifactError, match=r"report\.json's options cannot be read .* the file was altered"):
        evaluate_artifact(graded, tmp_path / "transactions_2026.csv", timing=False)


def test_a_holdout_report_back_tests_the_pds_over_its_periods_as_evaluate_does(
        exported_dir: Path, german_csv: Path, tmp_path: Path) -> None:
    """--period-column on a hold-out report: the calibration section's back-test over the periods
    equals evaluate's (one computation), its WARN or FAIL is the section's, the table lists each
    period; without a hold-out, or with a bad period, it is refused before anything is written."""
    from finlite.jobs.evaluate import evaluate_artifact

    book = pd.read_csv(german_csv)
    book["credit_amount"] = book["credit_amount"] + 1  # no row a training row
    book["year"] = np.arange(len(book)) % 5 + 2019
    bad, good = book[book["creditability"] == "bad"], book[book["creditability"] == "good"]
    worse = pd.concat([good, bad, bad, bad[bad["year"] >= 2021]], ignore_index=True)
    worse.to_csv(tmp_path / "later.csv", index=False)
    report = json.loads((rebuild_report(exported_dir, german_csv, holdout=tmp_path / "later.csv", period_column="year",
                                        out=tmp_path / "r") / "report.json").read_text())
    section = _section(report, "calibration")
    by = section["metrics"]["by_period"]
    evaluated = evaluate_artifact(exported_dir, tmp_path / "later.csv", timing=False, period_column="year")["by_period"]
    for key in ("default_rate", "mean_pd", "t", "p_under"):
        assert by["student"]["long_run"][key] == pytest.approx(evaluated["long_run"][key], rel=1e-9), key
    assert by["student"]["status"] == evaluated["status"] == "FAIL" and section["status"] == "FAIL"
    assert [row[0] for row in next(t for t in section["tables"] if t["id"] == "pd_by_period")["rows"]] == \
        ["2019", "2020", "2021", "2022", "2023"]
    assert "Back-tested over the 5 periods of 'year': the long-run default rate" in section["summary"]
    assert report["options"]["period_column"] == "year"
    assert "shorter than a PD's" not in section["summary"] and "overlap_note" not in by
    # Months may share their twelve-month outcomes: the section says so (and keeps its status).
    monthly = worse.assign(observed=pd.to_datetime(worse["year"].astype(str) + "-"
                                                   + (np.arange(len(worse)) % 2 * 6 + 1).astype(str) + "-15"))
    monthly.to_csv(tmp_path / "monthly.csv", index=False)
    report = json.loads((rebuild_report(exported_dir, german_csv, holdout=tmp_path / "monthly.csv",
                                        period_column="observed", period_freq="month", out=tmp_path / "m")
                         / "report.json").read_text())
    section = _section(report, "calibration")
    assert "Note: the periods of 'observed' are months, shorter than a PD's twelve-month horizon" in section["summary"]
    assert "shorter than a PD's" in section["metrics"]["by_period"]["overlap_note"]
    cli = CliRunner().invoke(app, ["report", str(exported_dir), str(german_csv), "--period-column", "year",
                                   "--out", str(tmp_path / "none")])
    assert cli.exit_code == 2 and "over the periods of a hold-out" in cli.output, cli.output
    cli = CliRunner().invoke(app, ["report", str(exported_dir), str(german_csv), "--holdout", str(tmp_path / "later.csv"),
                                   "--period-column", "vintage", "--out", str(tmp_path / "none")])
    assert cli.exit_code == 2 and "has no column 'vintage' to read the periods from" in cli.output, cli.output
    assert not (tmp_path / "none").exists()
    # A blank period is named by its row in the hold-out file (the frame the training rows were joined
    # to named row 1007 for row 8: a review), and a fraud report takes no periods.
    worse.loc[7, "year"] = np.nan
    worse.to_csv(tmp_path / "blank.csv", index=False)
    cli = CliRunner().invoke(app, ["report", str(exported_dir), str(german_csv), "--holdout", str(tmp_path / "blank.csv"),
                                   "--period-column", "year", "--out", str(tmp_path / "none")])
    assert cli.exit_code == 2 and "have no period in column 'year' (the first: row 8)" in cli.output, cli.output
    with pytest.raises(ConfigError, match="judged here as a fraud model"):
        rebuild_report(exported_dir, german_csv, holdout=tmp_path / "later.csv", period_column="year", domain="fraud",
                       out=tmp_path / "none")
    assert not (tmp_path / "none").exists()
