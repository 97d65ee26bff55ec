"""The train job's operating point: set from the data, recorded in the artifact."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

import finlite
from finlite.errors import ArtifactError, ConfigError
from tests.conftest import FAST


def test_the_default_cutoff_flags_the_training_bad_rate(teacher_dir: Path) -> None:
    art = finlite.load(teacher_dir)
    point = art.operating_point
    assert point.method == "training_bad_rate" and point.flag_rate == pytest.approx(0.3, abs=0.01)  # German credit
    assert art.manifest["operating_point"] == point.to_dict() and art.metrics["operating_point"] == point.to_dict()
    assert point.flagged_train == pytest.approx(point.flag_rate, abs=0.01)
    assert 0.15 < art.metrics["test"]["flagged_rate"] < 0.45  # decisions are made on unseen rows too
    assert art.cutoff == point.cutoff != 0.5


def test_the_manifest_records_the_batch_size_the_loop_took(teacher_dir: Path) -> None:
    """The settings' batch_size None means "by the row count": the size taken is recorded beside it."""
    from finlite.training.loop import auto_batch_size

    art = finlite.load(teacher_dir)
    step = art.manifest["steps"][0]
    rows = art.manifest["data"]["split"]["rows"]["train"]
    assert step["train"]["batch_size"] is None and step["batch_size"] == auto_batch_size(rows)


def test_flag_rate_and_cutoff_set_the_operating_point(german_csv: Path, tmp_path: Path) -> None:
    out = finlite.train(german_csv, target="creditability", model="logistic", progress=False, flag_rate=0.1,
                        out=tmp_path / "flag")
    art = finlite.load(tmp_path / "flag")
    assert art.operating_point.method == "flag_rate" and art.operating_point.flag_rate == 0.1
    scores = art.model.predict_proba(torch.from_numpy(out.data.x_train)).numpy()
    assert np.mean(scores >= art.cutoff) == pytest.approx(0.1, abs=0.005)
    given = finlite.train(german_csv, target="creditability", model="logistic", progress=False, cutoff=0.4)
    assert given.operating_point is not None and given.operating_point.method == "cutoff"
    assert given.metrics["test"]["cutoff"] == 0.4
    with pytest.raises(ConfigError, match="cutoff= or flag_rate=, not both") as info:
        finlite.train(german_csv, target="creditability", cutoff=0.4, flag_rate=0.1, out=tmp_path / "both")
    assert info.value.param == "flag_rate" and not (tmp_path / "both").exists()
    with pytest.raises(ConfigError, match=r"'flag_rate' parameter of train must be a number in \(0, 1\)"):
        finlite.train(german_csv, target="creditability", flag_rate=1.5)


@pytest.mark.parametrize(("model", "given", "message"), [
    ("logistic", {"hidden": (8,)}, "hidden= sets the layers of a network; a logistic teacher has none"),
    ("lightgbm", {"hidden": (8,)}, "a lightgbm teacher has none"),
    ("mlp", {"gbdt_params": {"num_leaves": 7}}, "gbdt_params= sets a LightGBM or XGBoost teacher's parameters; a mlp"),
    ("logistic", {"dropout": 0.9}, "dropout= sets the layers of a network; a logistic teacher has none"),
    ("lightgbm", {"config": finlite.TrainConfig(epochs=3, batch_size=7)},
     "config= sets epochs, batch_size of a network's training; a lightgbm teacher trains by boosting rounds"),
    ("logistic", {"config": finlite.TrainConfig(epochs=3)},
     "config= sets epochs of a network's training; a logistic teacher is fitted by maximum likelihood"),
    ("mlp", {"logistic_fit": "gradient"}, "logistic_fit= says how a logistic teacher is fitted; a mlp teacher"),
])
def test_a_setting_the_teacher_does_not_have_is_refused(model: str, given: dict[str, object], message: str,
                                                        german_csv: Path, tmp_path: Path) -> None:
    """finlite.train(model='logistic', hidden=...) trained a logistic teacher without a word (the
    CLI refused --hidden; Python did not)."""
    with pytest.raises(ConfigError, match=message) as info:
        finlite.train(german_csv, target="creditability", model=model, out=tmp_path / "t", **given)  # type: ignore[arg-type]
    assert info.value.param in given and not (tmp_path / "t").exists()


def test_the_callers_random_generators_are_left_as_they_were(german_csv: Path, tmp_path: Path) -> None:
    """finlite.train and compress re-seeded Python's, numpy's and torch's global generators: a
    notebook's next draw after a call was another (a review of the Python API, 2026-12-05). The
    jobs still seed them for themselves: the model is the same whatever the caller's state."""
    import random

    def states() -> tuple[object, ...]:
        return random.getstate(), np.random.get_state()[1].tobytes(), torch.get_rng_state().numpy().tobytes()

    weights = []
    for caller_seed in (1, 2):
        random.seed(caller_seed)
        np.random.seed(caller_seed)
        torch.manual_seed(caller_seed)
        before = states()
        out = tmp_path / f"t{caller_seed}"
        finlite.train(german_csv, target="creditability", model="logistic", progress=False, out=out)
        assert states() == before
        finlite.compress(out, german_csv, student_hidden=[4], config=FAST, out=tmp_path / f"s{caller_seed}",
                         progress=False)
        assert states() == before
        weights.append((out / "weights.safetensors").read_bytes())
    assert weights[0] == weights[1]


def test_a_teacher_no_better_than_chance_is_saved_with_a_warning(german_csv: Path) -> None:
    """One epoch gave a test AUC of 0.4958, saved at exit 0 without a word (a review, 2026-12-05)."""
    from finlite.jobs.train import _no_skill

    assert _no_skill({"test": {"auc": 0.51}}) == []
    for auc in (0.5, 0.4958):
        (note,) = _no_skill({"test": {"auc": auc}})
        assert note.startswith(f"the model's test AUC is {auc:.4f}: it ranks the test rows no better than chance")
    # Well below 0.5 on two defaults: the wrong way round, and noise (it was "no better than chance":
    # a low-default walk-through, 2026-12-07); on 300 of each class, the wrong way round alone.
    (few,) = _no_skill({"test": {"auc": 0.15, "rows": 400, "positives": 2}})
    assert few.startswith("the model's test AUC is 0.1500: it ranks the test rows the wrong way round (below chance: "
                          "noise on few rows, a model fitted to its training rows' noise, or a test split unlike the "
                          "training one, e.g. after a date split across a change). It rests on 2 test row(s) of a "
                          "class, which is weak evidence either way.")
    (many,) = _no_skill({"test": {"auc": 0.3, "rows": 600, "positives": 300}})
    assert "the wrong way round" in many and "weak evidence" not in many
    trained = finlite.train(german_csv, target="creditability", model="logistic", progress=False)
    assert trained.warnings == () and trained.metrics["test"]["auc"] > 0.7


def test_a_target_coded_1_and_2_is_refused_and_a_majority_class_chosen_by_name_warns(german_csv: Path) -> None:
    """German credit's own coding (1 = good, 2 = bad) and the 1/0 "Creditability" (1 = good): "1"
    was recognised by name as the class to flag, and the model flagged the 70 % of good loans
    without a word (a data engineer's walk-through, 2026-12-06)."""
    from finlite.errors import DataError

    frame = pd.read_csv(german_csv)
    good = frame["creditability"] == "good"
    coded = frame.assign(creditability=np.where(good, 1, 2))
    with pytest.raises(DataError, match=r"holds the codes 1 and 2 \(700 and 300 rows\): finlite cannot tell which is "
                                        r"the outcome to flag .* Pass --positive 2 \(or --positive 1\)\.$"):
        finlite.train(coded, target="creditability", model="logistic", progress=False)
    chosen = finlite.train(coded, target="creditability", positive=2, model="logistic", progress=False)
    assert not [w for w in chosen.warnings if "majority" in w]
    # --positive naming the majority is the user's word (a collections book flags most of its rows): silent.
    named = finlite.train(coded, target="creditability", positive=1, model="logistic", progress=False)
    assert not [w for w in named.warnings if "majority" in w]
    ones = frame.assign(creditability=good.astype(int))
    outcome = finlite.train(ones, target="creditability", model="logistic", progress=False)
    (said,) = [w for w in outcome.warnings if "flags the majority outcome" in w]
    assert said.startswith("the class to flag, '1', was chosen by its name and is 70% of the labelled rows")
    assert said.endswith("train again with --positive '0'.")


def test_naming_the_other_class_positive_splits_and_ranks_alike(german_csv: Path) -> None:
    """German credit as 'good' and as 'bad': the same rows in each part, and the same ranking on
    the test split up to training noise (each class shuffled in turn gave test AUCs of 0.69 and
    0.82 for the MLP's defaults: two other test splits)."""
    bad = finlite.train(german_csv, target="creditability", positive="bad", model="logistic", progress=False)
    good = finlite.train(german_csv, target="creditability", positive="good", model="logistic", progress=False)
    for part in ("train", "validation", "test"):
        np.testing.assert_array_equal(getattr(bad.data.split, part), getattr(good.data.split, part))
    np.testing.assert_array_equal(bad.data.y_test, 1.0 - good.data.y_test)
    assert abs(bad.metrics["test"]["auc"] - good.metrics["test"]["auc"]) < 0.01


def _lending_book(n: int = 800, seed: int = 3) -> pd.DataFrame:
    """Loans whose risk rises with the rate, with what a LendingClub export also holds: payments
    received and recoveries (recorded after the outcome) and month-of-year dates."""
    rng = np.random.default_rng(seed)
    rate = rng.uniform(5, 25, n)
    bad = rng.random(n) < 1 / (1 + np.exp(-(rate - 15) / 3))
    months = np.array(["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"])
    return pd.DataFrame({
        "int_rate": rate.round(2), "loan_amnt": rng.integers(1000, 35000, n),
        "issue_d": [f"{m}-{y}" for m, y in zip(rng.choice(months, n), rng.integers(2007, 2016, n), strict=True)],
        "earliest_cr_line": [f"{m}-{y}" for m, y in zip(rng.choice(months, n), rng.integers(1970, 2007, n),
                                                          strict=True)],
        "total_pymnt": np.where(bad, rng.uniform(0, 8000, n), rng.uniform(5000, 40000, n)).round(2),
        "loan_status": np.where(bad, "Charged Off", "Fully Paid")})


def test_columns_named_like_post_outcome_values_are_warned_of_everywhere(tmp_path: Path) -> None:
    """LendingClub's total_pymnt and recoveries were used at exit 0 with, at most, a note the
    model card never repeated, and "Dec-2015" dates were read as categories (a walk-through,
    2026-12-05). A name like a post-outcome value is a warning: in the outcome, as a
    FinliteWarning, once on the command line, and in the model card's limitations."""
    from typer.testing import CliRunner

    from finlite.cli import app
    from finlite.errors import FinliteWarning

    book = _lending_book()
    book.to_csv(tmp_path / "lc.csv", index=False)
    with pytest.warns(FinliteWarning, match=r"warning: column 'total_pymnt' is named like a value recorded after "
                                            r"the outcome .* drop it \(--drop total_pymnt; an imported booster"):
        outcome = finlite.train(tmp_path / "lc.csv", target="loan_status", positive="Charged Off", model="logistic",
                                progress=False, out=tmp_path / "t")
    schema = outcome.data.schema
    assert {"issue_d", "earliest_cr_line"} <= set(schema.drop) and "total_pymnt" in schema.numeric
    assert "column 'issue_d' dropped as a date" in " ".join(schema.notes)
    assert [w for w in outcome.warnings if "'total_pymnt' is named like" in w]
    # Left out, nothing is said.
    clean = finlite.train(tmp_path / "lc.csv", target="loan_status", positive="Charged Off", model="logistic",
                          drop=["total_pymnt"], progress=False)
    assert not [w for w in clean.warnings if "leaks the label" in w]
    result = CliRunner().invoke(app, ["train", str(tmp_path / "lc.csv"), "--target", "loan_status", "--positive",
                                      "Charged Off", "--model", "logistic", "--out",
                                      str(tmp_path / "t2")])
    assert result.exit_code == 0, result.output
    said = result.output
    assert said.count("'total_pymnt' is named like a value recorded after the outcome") == 1, said
    assert "warning: column 'total_pymnt' is named like" in said
    # Before training, not after the whole run (a credit modeller's walk-through, 2026-12-06).
    assert said.index("'total_pymnt' is named like") < said.index("test split (")
    # Escalated, the warning stops the job before anything is written (it came after the save).
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", FinliteWarning)
        with pytest.raises(FinliteWarning, match="'total_pymnt' is named like"):
            finlite.train(tmp_path / "lc.csv", target="loan_status", positive="Charged Off", model="logistic",
                          progress=False, out=tmp_path / "escalated")
    assert not (tmp_path / "escalated").exists()
    # A column both named so and separating the labels is said once.
    leaky = book.assign(recoveries=np.where(book["loan_status"] == "Charged Off", 250.0, 0.0))
    leaky.to_csv(tmp_path / "leaky.csv", index=False)
    said_twice = finlite.train(tmp_path / "leaky.csv", target="loan_status", positive="Charged Off",
                               model="logistic", progress=False)
    about = [w for w in said_twice.warnings if w.startswith("column 'recoveries'")]
    assert len(about) == 1 and "alone separates" in about[0], about
    result = CliRunner().invoke(app, ["train", str(tmp_path / "leaky.csv"), "--target", "loan_status", "--positive",
                                      "Charged Off", "--model", "logistic", "--out",
                                      str(tmp_path / "t3")])
    assert result.exit_code == 0 and result.output.count("column 'recoveries'") == 1, result.output
    compressed = finlite.compress(tmp_path / "t", tmp_path / "lc.csv", out=tmp_path / "s", progress=False)
    card = (Path(compressed.path) / "MODEL_CARD.md").read_text()
    limitations = card.split("## Limitations", 1)[1].split("##", 1)[0]
    assert "**Possible label leak**: column 'total_pymnt' is named like a value recorded after the outcome" in \
        limitations


@pytest.mark.parametrize(("name", "flagged"), [
    ("total_pymnt", True), ("Total Pymnt", True), ("total.pymnt", True), ("total_rec_prncp", True),
    ("recoveries", True), ("collection_recovery_fee", True), ("last_pymnt_amnt", True), ("out_prncp", True),
    ("debt_settlement_flag", True), ("settlement_status", True), ("hardship_flag", True), ("ChgOffPrinGr", True),
    ("charged_off_amount", True), ("last_fico_range_high", True), ("ZERO_BALANCE_CODE", True),
    ("NET_SALES_PROCEEDS", True), ("FORECLOSURE_DATE", True), ("CURRENT_ACTUAL_UPB", True),
    # Known at application: a bureau count, the instalment, a payment plan flag, a mortgage's
    # drawdown (settlement), an account's recovery e-mail, payment history (a review, 2026-12-05).
    ("chargeoff_within_12_mths", False), ("collections_12_mths_ex_med", False), ("installment", False),
    ("pymnt_plan", False), ("total_acc", False), ("total_rev_hi_lim", False), ("Term", False),
    ("settlement_date", False), ("settlement_amount", False), ("recovery_email_verified", False),
    ("prior_recovery_count", False), ("months_since_last_payment", False), ("total_payment_due", False),
    ("hardship_prior", False), ("num_foreclosures", False),
    # A loss data mart's: realised values and the workout (an LGD modeller's walk-through, 2026-12-07);
    # not an estimate a bank also makes at application, nor a word inside another.
    ("workout_stage", True), ("default_date", True), ("DateOfDefault", True), ("realised_lgd", True),
    ("RealizedLoss", True), ("lgd", False), ("ccf", False), ("ead", False), ("head_count", False)])
def test_post_outcome_names(name: str, flagged: bool) -> None:
    from finlite.data.schema import _post_outcome_notes

    assert bool(_post_outcome_notes([name])) is flagged


def test_an_out_of_time_split_warns_of_unseen_test_categories_and_a_moved_positive_rate(tmp_path: Path) -> None:
    """SBA's ApprovalFY, a year with a few text codes read as a category, held a value training
    never saw in every test row of an out-of-time split, and the bad rate went from 9 % to 33 %:
    nothing was said (a credit modeller's walk-through, 2026-12-06). The warnings are kept in the
    teacher's manifest and the student's model card (they were said on stderr alone: note 69)."""
    rng = np.random.default_rng(0)
    n = 1200
    day = np.sort(rng.integers(0, 3650, n))
    dates = pd.Timestamp("2000-01-01") + pd.to_timedelta(day, unit="D")
    year = dates.year.astype(str).to_numpy(dtype=object)
    year[:4] = "2000A"  # a few text codes: the year is read as a category (SBA's "1976A")
    x = rng.normal(size=n)
    rate = np.where(day > 2920, 0.45, 0.1)  # the latest fifth defaults far more often
    y = np.where(rng.random(n) < rate, "bad", "good")
    frame = pd.DataFrame({"when": dates.strftime("%Y-%m-%d"), "ApprovalFY": year, "x": x, "status": y})
    outcome = finlite.train(frame, target="status", positive="bad", model="logistic", progress=False, date_column="when",
                            out=tmp_path / "teacher")
    assert "ApprovalFY" in outcome.data.schema.categorical
    unseen = [w for w in outcome.warnings if w.startswith("column 'ApprovalFY': ")]
    assert len(unseen) == 1 and "100% of the test split's rows hold a value the training split never held" in unseen[0]
    assert "--drop ApprovalFY" in unseen[0] and "out-of-time split" in unseen[0]
    rates = outcome.data.summary()["positive_rate"]
    shifted = [w for w in outcome.warnings if w.startswith("the share of 'bad' moves across the out-of-time split")]
    assert len(shifted) == 1 and f"{rates['test']:.1%} in the test split" in shifted[0]
    assert f"{rates['train']:.1%} in training (" in shifted[0] and "--flag-rate" in shifted[0]
    manifest = json.loads((tmp_path / "teacher" / "manifest.json").read_text())
    # A maximum-likelihood logistic teacher, calibrated on the training period's rate, is told of
    # the test period's other rate too (its mean prediction against the test split's).
    calibration = [w for w in outcome.warnings if w.startswith("the model's mean prediction on its test split")]
    assert manifest["steps"][0]["warnings"] == [*unseen, *shifted, *calibration]
    finlite.compress(tmp_path / "teacher", frame, student_hidden=(4,), config=FAST, out=tmp_path / "student")
    card = (tmp_path / "student" / "MODEL_CARD.md").read_text()
    said = [line for line in card.splitlines() if line.startswith("- **What the split did to the evidence**: ")]
    assert len(said) == 2 and "column 'ApprovalFY': 100% of the test split's rows" in said[0], said
    assert "moves across the out-of-time split" in said[1]
    report = json.loads((tmp_path / "student" / "report.json").read_text())
    assert report["card"]["split"] == [*unseen, *shifted]  # the same words, the same flagged share
    # A stratified split of the same table: no category unseen, no shift to speak of.
    plain = finlite.train(frame.drop(columns="when"), target="status", positive="bad", model="logistic", progress=False)
    assert not [w for w in plain.warnings if "ApprovalFY" in w or "out-of-time" in w]
    # Named like the application's date under an out-of-time split: dropped, not read as a number,
    # which would extrapolate the calendar (the advice said --numeric: a review, 2026-12-06).
    assert "--numeric ApprovalFY" not in unseen[0] and "extrapolate the calendar" in unseen[0]
    from finlite.data.prepared import _unseen_fix

    assert "--numeric FY2" in _unseen_fix(pd.Series(["2001", "2002"] * 10 + ["2003A"]), "FY2")
    assert "blank in 80% of the test split's rows" in _unseen_fix(pd.Series([None] * 8 + ["a", "b"]), "x")
    # Blanks training had too are no lost feed (a review, 2026-12-06): the values decide the advice.
    assert "blank in" not in _unseen_fix(pd.Series([None] * 8 + ["a", "b"]), "Zip", blank_unseen=False)
    # The year as a number (all digits, as a Parquet file holds it): every test year lies after the
    # training ones, and the model reads the calendar; score called it "a change of units" (an SBA
    # walk-through, 2026-12-06). A postcode unseen in the test split is no number to read.
    numbers = frame.assign(ApprovalFY=dates.year.to_numpy(), Zip=[f"{z:05d}" for z in (day // 30) * 7 + 1000])
    dated = finlite.train(numbers, target="status", positive="bad", model="logistic", progress=False, date_column="when",
                          categorical=["Zip"])
    calendar = [w for w in dated.warnings if w.startswith("column 'ApprovalFY' is named like the application's date")]
    assert len(calendar) == 1 and "100% of the test split's rows lie after every training value" in calendar[0]
    assert "--drop ApprovalFY" in calendar[0]
    zips = [w for w in dated.warnings if w.startswith("column 'Zip': ")]
    assert len(zips) == 1 and "--numeric Zip" not in zips[0] and "group them more coarsely" in zips[0]
    from finlite.runtime.batch import outside_notes

    told = outside_notes({"ApprovalFY": 90, "rate": 60}, 100)
    assert any("'ApprovalFY' is named like the application's date" in t and "change of units" not in t for t in told)
    assert any("'rate' lies beyond every training value in 60% of the rows: a change of units" in t for t in told)
    # A few per cent beyond the range: no change of units, but extrapolation, warned of with the way to
    # fail closed (a stress-testing analyst's walk-through, 2026-12-07); a tiny share never reads 0.0%.
    told = outside_notes({"delinq_2y": 51, "income": 7}, 40_000)
    assert told[0].endswith("delinq_2y 51 (0.1%), income 7 (<0.1%)")
    assert not any("income" in t for t in told[1:])
    told = outside_notes({"delinq_2y": 3_054}, 40_000)
    assert told[1] == ("warning: delinq_2y in 7.6% of the rows lie beyond every training value: their scores are "
                       "extrapolation, which the validation report did not judge (a neural model's score can turn the "
                       "wrong way just past the training range). Bring the inputs within the training range, or judge "
                       "those rows, before using these decisions ('finlite score --max-outside-share' fails a run "
                       "beyond a share).")


def test_the_manifest_names_the_test_rows_by_a_digest_anyone_can_check(tmp_path: Path) -> None:
    """Which rows were judged could be confirmed only by re-running finlite's shuffle (a validator's
    walk-through, 2026-12-06): the manifest records the sha256 of the test split's 1-based data rows,
    one decimal number per line, which a shell recomputes (rows without a label counted as the file
    holds them)."""
    import hashlib

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=300), "y": np.where(rng.random(300) < 0.3, "bad", "good")})
    frame.loc[[4, 50], "y"] = None  # left out by prepare, counted as the file holds them
    outcome = finlite.train(frame, target="y", model="logistic", progress=False, out=tmp_path / "t")
    manifest = json.loads((tmp_path / "t" / "manifest.json").read_text())
    prepared = outcome.data
    rows = prepared.test_file_rows()
    assert len(rows) == len(prepared.split.test) and list(rows) == sorted(rows)
    # Independently: the test rows' own values, found back in the file by row number.
    labelled = frame.dropna(subset=["y"]).reset_index()
    assert sorted(labelled["index"].iloc[prepared.split.test] + 1) == list(rows)
    assert 5 not in rows and 51 not in rows
    text = "\n".join(str(r) for r in rows)
    assert manifest["data"]["split"]["test_rows_sha256"] == hashlib.sha256(text.encode()).hexdigest()


def test_a_teacher_whose_pds_are_off_its_test_rate_is_warned_of() -> None:
    """A logistic teacher stopped early on AUC gave PDs four times the fraud rate, said only when a
    later week was evaluated (a fraud walk-through, 2026-12-06). Checked with scipy's beta."""
    from scipy.stats import beta

    from finlite.jobs.train import _calibration_warning

    rng = np.random.default_rng(0)
    y = (rng.random(5_000) < 0.02).astype(float)
    high = np.full(5_000, 0.08)  # four times the rate
    [said] = _calibration_warning(y, high)
    d, n = int(y.sum()), len(y)
    p = min(1.0, 2 * min(beta.cdf(0.08, d + 0.5, n - d + 0.5), beta.sf(0.08, d + 0.5, n - d + 0.5)))
    assert said.startswith(f"the model's mean prediction on its test split, 8.0%, overstates the observed rate of "
                           f"{d / n:.1%} by a factor of {0.08 / (d / n):.2f} (Jeffreys test p {p:.2g})")
    assert _calibration_warning(y, np.full(5_000, d / n)) == []  # right on average
    assert said.endswith("--central-tendency train puts their mean at the training split's rate.")
    # 50 rows: warned only where the test rejects at 1 % and the factor reaches 1.5 (by hand).
    d50 = int(y[:50].sum())
    p50 = min(1.0, 2 * min(beta.cdf(0.08, d50 + 0.5, 50 - d50 + 0.5), beta.sf(0.08, d50 + 0.5, 50 - d50 + 0.5)))
    far = d50 == 0 or max(0.08 / (d50 / 50), (d50 / 50) / 0.08) >= 1.5
    assert bool(_calibration_warning(y[:50], high[:50])) is bool(p50 < 0.01 and far)
    assert _calibration_warning(np.zeros(10), np.full(10, 0.5)) == []  # one class: nothing to judge
    low = _calibration_warning(y, np.full(5_000, 0.005))
    assert low and "understates the observed rate" in low[0]


def test_progress_is_a_parameter_as_compress_has_it(german_csv: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """train took progress only inside a TrainConfig: progress=False was a bare TypeError, and a
    notebook's stderr filled with a line per epoch (a notebook walk-through, 2026-12-06)."""
    from dataclasses import replace

    shown = replace(FAST, progress=True)
    finlite.train(german_csv, target="creditability", hidden=(8,), config=shown, progress=False)
    assert capsys.readouterr().err == ""
    finlite.train(german_csv, target="creditability", hidden=(8,), config=replace(FAST, progress=False), progress=True)
    assert "training mlp" in capsys.readouterr().err
    with pytest.raises(ConfigError, match="progress"):
        finlite.train(german_csv, target="creditability", config=FAST, progress="no")  # type: ignore[arg-type]


def test_a_logistic_teacher_is_the_maximum_likelihood_fit(german_csv: Path, tmp_path: Path) -> None:
    """A logistic teacher was trained as a network (Adam, early stopping on validation AUC): on a
    low-default book it stopped at epoch 0 with a mean PD of 46 % against 0.5 % observed (a
    walk-through, 2026-12-07). It is now scikit-learn's L2-penalised maximum-likelihood fit of the
    same encoded rows, checked here against an independent statsmodels fit of the same objective,
    and calibrated in the large on its training rows (the free intercept's score equation)."""
    import statsmodels.api as sm
    import torch

    outcome = finlite.train(german_csv, target="creditability", model="logistic", progress=False,
                            out=tmp_path / "t")
    step = finlite.load(tmp_path / "t").manifest["steps"][0]
    assert step["fit"]["method"] == "maximum_likelihood" and step["fit"]["converged"] and "train" not in step
    x, y = outcome.data.x_train.astype(np.float64), outcome.data.y_train.astype(np.float64)
    # The same objective: the summed log-loss plus (1/2C)||w||^2, the intercept unpenalised.
    # statsmodels' ridge is its elastic net with L1_wt = 0, alpha per row (its loss is the mean).
    alpha = np.r_[0.0, np.ones(x.shape[1])]
    ridge = sm.GLM(y, sm.add_constant(x, has_constant="add"), family=sm.families.Binomial()).fit_regularized(
        alpha=alpha / len(y), L1_wt=0.0, maxiter=2000, cnvrg_tol=1e-12)
    weight = outcome.model.linear.weight.detach().numpy().ravel().astype(np.float64)
    bias = float(outcome.model.linear.bias.detach().numpy()[0])
    # A category's unseen bucket (no training row holds it) is set to the average of its column's
    # weights after the fit (steps[0].unseen_averaged): compared on the columns training rows hold.
    held = x.any(axis=0)
    assert step["unseen_averaged"] == int((~held).sum()) > 0
    np.testing.assert_allclose(weight[held], ridge.params[1:][held], atol=2e-3)
    assert bias == pytest.approx(ridge.params[0], abs=2e-3)
    with torch.no_grad():
        p = torch.sigmoid(outcome.model(torch.from_numpy(outcome.data.x_train))).numpy()
    assert float(p.mean()) == pytest.approx(float(y.mean()), abs=0.01)
    # Refitted from the recorded rows, the same coefficients to the bit (no seed, no batches).
    again = finlite.train(german_csv, target="creditability", model="logistic", progress=False)
    assert torch.equal(again.model.linear.weight, outcome.model.linear.weight)


def test_a_logistic_teachers_penalty_is_set_recorded_refused_elsewhere_and_reproduced(german_csv: Path,
                                                                                     tmp_path: Path) -> None:
    """--penalty-c: the ridge's C (no option before: C = 1 fixed), 'none' for plain maximum
    likelihood; recorded in steps[0].fit, refused for another teacher, and reproduce refits with
    it."""
    from typer.testing import CliRunner

    from finlite.cli import app
    from finlite.jobs.reproduce import reproduce

    runner = CliRunner()
    done = runner.invoke(app, ["train", str(german_csv), "--target", "creditability", "--model", "logistic",
                               "--penalty-c", "0.05", "--out", str(tmp_path / "t"), "--quiet"])
    assert done.exit_code == 0, done.output
    fit = finlite.load(tmp_path / "t").manifest["steps"][0]["fit"]
    assert (fit["penalty"], fit["C"]) == ("l2", 0.05)
    plain = finlite.train(german_csv, target="creditability", model="logistic", penalty_c=None, progress=False)
    assert not torch.equal(plain.model.linear.weight, finlite.load(tmp_path / "t").model.linear.weight)
    # Every one-hot level encoded: the unpenalised coefficients are not identified, and it is said.
    assert any("encoded design has rank" in w and "its coefficients are not" in w for w in plain.warnings)
    cases = [(["--model", "logistic", "--penalty-c", "0"], "--penalty-c is the ridge's inverse strength, a number "
                                                             "of at least 1e-06"),
             (["--model", "logistic", "--penalty-c", "abc"], "got 'abc'"),
             (["--model", "logistic", "--penalty-c", "1_000"], "got '1_000'"),
             (["--model", "mlp", "--penalty-c", "1"], "--penalty-c sets the ridge of --model logistic; --model mlp "
                                                       "has none"),
             (["--penalty-c", "1"], "--model mlp has none"),
             (["--task", "forecast", "--penalty-c", "1"], "--penalty-c describes a labelled table")]
    for extra, message in cases:
        result = runner.invoke(app, ["train", str(german_csv), "--target", "creditability", *extra,
                                     "--out", str(tmp_path / "x")])
        assert result.exit_code == 2 and message in result.output, (extra, result.output)
        assert not (tmp_path / "x").exists()
    with pytest.raises(ConfigError, match="penalty_c sets the ridge of a logistic regression fitted by maximum "
                                          "likelihood; a lightgbm teacher has none"):
        finlite.train(german_csv, target="creditability", model="lightgbm", penalty_c=0.5)
    verdict = reproduce(tmp_path / "t", german_csv)
    assert verdict.matched and verdict.files["weights.safetensors"]["match"] is True  # refitted at C = 0.05
    # A re-hashed manifest whose C no fit takes: the artifact is refused, not the user's options.
    from tests.test_artifact_trust import rehash

    for bad in ("0.05", 0.0, True):
        shutil.copytree(tmp_path / "t", tmp_path / "tampered", dirs_exist_ok=True)
        rehash(tmp_path / "tampered", lambda m, bad=bad: m["steps"][0]["fit"].__setitem__("C", bad))
        with pytest.raises(ArtifactError, match=r"records the logistic teacher's fit with C .*\(steps\[0\]\.fit\.C\), "
                                                r"which no fit takes .* the manifest was altered"):
            reproduce(tmp_path / "tampered", german_csv)


def test_a_logistic_teacher_of_no_skill_is_not_told_to_train_more_epochs() -> None:
    """A maximum-likelihood fit has no epochs: a logistic teacher of test AUC 0.46 was told to
    "Train with more epochs (--epochs)", which the command line refuses for it (a review,
    2026-12-07)."""
    rng = np.random.default_rng(4)
    frame = pd.DataFrame({"a": rng.normal(size=600), "b": rng.normal(size=600),
                          "y": np.where(rng.random(600) < 0.3, "bad", "good")})  # labels unrelated to a and b
    outcome = finlite.train(frame, target="y", model="logistic", progress=False)
    [said] = [w for w in outcome.warnings if "no better than chance" in w]
    assert outcome.metrics["test"]["auc"] <= 0.5
    assert "maximum-likelihood fit found no ranking in these features" in said and "--epochs" not in said
