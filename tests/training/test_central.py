"""Calibration to a central tendency (train --central-tendency): one shift of the output logit."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import expit
from typer.testing import CliRunner

import finlite
from finlite.cli import app
from finlite.errors import ArtifactError, ConfigError
from finlite.training import central
from tests.conftest import FAST

runner = CliRunner()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(-30, 30), min_size=1, max_size=300), st.floats(1e-5, 1 - 1e-5))
def test_the_shift_puts_the_mean_pd_at_the_rate(logits: list[float], rate: float) -> None:
    """mean(sigmoid(z + a)) = rate, checked by evaluating it; and the shift is the only one (a
    nudge either way moves the mean off the rate, the same way as the nudge)."""
    z = np.array(logits)
    a = central.logit_shift(z, rate)
    assert float(np.mean(expit(z + a))) == pytest.approx(rate, rel=1e-7, abs=1e-12)
    step = 1e-3
    assert np.mean(expit(z + a + step)) > np.mean(expit(z + a)) > np.mean(expit(z + a - step))


@pytest.mark.parametrize(("value", "message"), [
    (0, r"a fraction from 1e-05 to 0\.5, or 'train' .*; got 0\."),
    (1, r"got 1\."),
    (1e-50, r"got 1e-50\."),  # float32 PDs would all be 0 (AUC 0.5: a review)
    (0.9, r"got 0\.9\."),
    (2.3, r"got 2\.3 \(a percentage\? write 0\.023 for 2\.3 %\)"),
    (True, "got True"),
    (float("nan"), "got nan"),
    ("0.02", "got '0.02'"),
])
def test_a_central_tendency_that_is_no_rate_is_refused(value: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        central.check_central_tendency(value)


def _training_mean_pd(outcome: finlite.TrainOutcome) -> float:
    import torch

    net = outcome.model
    with torch.no_grad():
        return float(net.predict_proba(torch.from_numpy(outcome.data.x_train)).numpy().astype(np.float64).mean())


def test_a_teacher_calibrated_to_a_central_tendency_keeps_its_ranking_and_decisions(german_csv: Path,
                                                                                   tmp_path: Path) -> None:
    """The mean PD over the training split is the rate asked (German credit's is 30 %); the AUC,
    the flags at the bad-rate cut-off and the split are those of the same teacher uncalibrated;
    the training step records it, the test split's level is not warned of, and reproduce refits it."""
    from finlite.jobs.reproduce import reproduce

    plain = finlite.train(german_csv, target="creditability", model="logistic", progress=False)
    shifted = finlite.train(german_csv, target="creditability", model="logistic", central_tendency=0.1,
                            out=tmp_path / "ct", progress=False)
    assert _training_mean_pd(shifted) == pytest.approx(0.1, abs=1e-6)
    assert _training_mean_pd(plain) == pytest.approx(0.3, abs=0.01)
    for key in ("auc", "gini", "ks", "flagged_rate", "f1"):
        assert shifted.metrics["test"][key] == pytest.approx(plain.metrics["test"][key], abs=1e-12), key
    record = finlite.load(tmp_path / "ct").manifest["steps"][0]["central_tendency"]
    assert record["asked"] == 0.1 and record["rate"] == 0.1 and record["training_rate"] == pytest.approx(0.3)
    assert record == shifted.central_tendency
    assert float(shifted.model.linear.bias) == pytest.approx(float(plain.model.linear.bias) + record["logit_shift"],
                                                              abs=1e-5)
    assert not any("mean prediction on its test split" in w for w in shifted.warnings)
    verdict = reproduce(tmp_path / "ct", german_csv)
    assert verdict.matched and verdict.files["weights.safetensors"]["match"] is True
    # A tampered record is an untrusted artifact, not the user's option.
    from tests.test_artifact_trust import rehash

    shutil.copytree(tmp_path / "ct", tmp_path / "bad")
    rehash(tmp_path / "bad", lambda m: m["steps"][0]["central_tendency"].__setitem__("asked", 5))
    with pytest.raises(ArtifactError, match=r"records a central tendency \(.*\) that no training writes \(steps\[0\]\."
                                            r"central_tendency: a rate in \(0, 1\) or 'train', as asked"):
        reproduce(tmp_path / "bad", german_csv)
    # A rate that is not the one asked (the card would print it) is refused too, by compress as well.
    shutil.rmtree(tmp_path / "bad")
    shutil.copytree(tmp_path / "ct", tmp_path / "bad")
    rehash(tmp_path / "bad", lambda m: m["steps"][0]["central_tendency"].__setitem__("rate", 7.5))
    with pytest.raises(ArtifactError, match="that no training writes"):
        reproduce(tmp_path / "bad", german_csv)
    with pytest.raises(ArtifactError, match="that no training writes"):
        finlite.compress(tmp_path / "bad", german_csv, config=FAST, progress=False, timing=False)
    # A rate in (0, 1) beyond today's training range reads (a teacher made before the range was
    # narrowed, the same day), as does no record at all; a record on a model of another task does not.
    from finlite.training.central import recorded_central_tendency

    steps = [{"step": "train", "model": {"kind": "logistic"}, "central_tendency": {"asked": 0.6, "rate": 0.6}}]
    assert recorded_central_tendency(steps) == 0.6 and recorded_central_tendency([{}]) is None
    with pytest.raises(ArtifactError, match="that no training writes"):
        recorded_central_tendency(steps, task="regression")
    # 'train': the training split's own rate; an MLP's output layer takes the shift too.
    own = finlite.train(german_csv, target="creditability", hidden=(8,), config=FAST, central_tendency="train")
    assert own.central_tendency["rate"] == own.central_tendency["training_rate"]
    assert _training_mean_pd(own) == pytest.approx(own.central_tendency["training_rate"], abs=1e-6)


@pytest.mark.parametrize("library", ["lightgbm", "xgboost"])
def test_a_boosted_teacher_takes_the_shift_in_its_first_trees_leaves(german_csv: Path, tmp_path: Path,
                                                                     library: str) -> None:
    """Every training row's log-odds moves by the one shift, through the library's own scoring
    of the saved trees; the out-of-fold scores (its students' targets, and the basis of the mean
    for an ensemble) move by it too and average the rate asked; the splits, hence the AUC and
    the flags at the bad-rate cut-off, are the uncalibrated teacher's; the exported ONNX trees
    carry it (parity), the Predictor's PDs are the calibrated ones, and reproduce refits it."""
    from finlite.jobs.export import export_artifact
    from finlite.jobs.reproduce import reproduce
    from finlite.runtime import Predictor

    plain = finlite.train(german_csv, target="creditability", model=library, progress=False)
    shifted = finlite.train(german_csv, target="creditability", model=library, central_tendency=0.05,
                            out=tmp_path / "ct", progress=False)
    record = shifted.central_tendency
    assert record["basis"] == "out_of_fold" and record["rate"] == 0.05 and record["training_rate"] == 0.3
    x = shifted.data.x_train
    moved = shifted.model.logits_np(x) - plain.model.logits_np(x)
    assert np.abs(moved - record["logit_shift"]).max() < 1e-5
    assert record["logit_shift"] < -2  # 30 % to 5 %: about logit(0.05) - logit(0.3) = -2.1, farther for a spread
    oof_plain, oof = plain.model.oof_logits.astype(np.float64), shifted.model.oof_logits.astype(np.float64)
    assert np.abs(oof - oof_plain - record["logit_shift"]).max() < 1e-5
    assert float(expit(oof).mean()) == pytest.approx(0.05, abs=1e-6)
    assert record["mean_pd_before"] == pytest.approx(float(expit(oof_plain).mean()), abs=1e-6)
    for key in ("auc", "gini", "ks", "flagged_rate", "f1"):
        assert shifted.metrics["test"][key] == pytest.approx(plain.metrics["test"][key], abs=1e-12), key
    assert shifted.operating_point.cutoff < 0.2 < plain.operating_point.cutoff  # the cut-off moved with the PDs
    assert plain.model.trees == shifted.model.trees and plain.model.nodes == shifted.model.nodes
    art = finlite.load(tmp_path / "ct")
    assert art.manifest["steps"][0]["central_tendency"] == record
    assert np.abs(art.model.logits_np(x[:50]) - shifted.model.logits_np(x[:50])).max() == 0
    parity = export_artifact(tmp_path / "ct", german_csv)["onnx"]["parity"]
    assert parity["passed"] and parity["flips"] == 0 and parity["max_abs_diff"] < 1e-5
    rows = pd.read_csv(german_csv).drop(columns="creditability").head(20)
    onnx_p = Predictor(tmp_path / "ct").predict_proba(rows)[:, 1]
    torch_p = expit(art.model.logits_np(Predictor(tmp_path / "ct").encode(rows).astype(np.float32)))
    assert np.abs(onnx_p - torch_p).max() < 1e-5 and onnx_p.mean() < 0.2
    # Whoever reads the PDs learns their level: the served model's metadata and inspect say it.
    assert Predictor(tmp_path / "ct").metadata()["central_tendency"] == {"rate": 0.05, "asked": 0.05,
                                                                         "basis": "out_of_fold"}
    shown = runner.invoke(app, ["inspect", str(tmp_path / "ct")])
    assert shown.exit_code == 0 and "PDs calibrated to a central tendency of 5.00%, over the teacher's out-of-fold " \
        "scores (train --central-tendency)" in shown.output, shown.output
    verdict = reproduce(tmp_path / "ct", german_csv)
    assert verdict.matched and verdict.files["weights.safetensors"]["match"] is True
    # The saved trees' own mean over the training rows is recorded beside it: sharper than out of fold.
    assert record["mean_pd_in_sample"] == pytest.approx(float(expit(shifted.model.logits_np(x)).mean()), rel=1e-9)
    # Forged records are refused: on an uncalibrated teacher (its out-of-fold PDs average 30 %, not
    # the rate), over a basis no boosted calibration uses, or with the rate moved.
    from tests.test_artifact_trust import rehash

    plain_dir = tmp_path / "plain"
    finlite.train(german_csv, target="creditability", model=library, out=plain_dir, progress=False)
    forged = [(plain_dir, lambda m: m["steps"][0].__setitem__("central_tendency", dict(record)),
               "but the teacher's stored out-of-fold PDs average 0.29"),
              (tmp_path / "ct", lambda m: m["steps"][0]["central_tendency"].__setitem__("basis", "training"),
               "that no training writes"),
              (tmp_path / "ct", lambda m: m["steps"][0]["central_tendency"].update(asked=0.2, rate=0.2),
               "but the teacher's stored out-of-fold PDs average 0.05")]
    for k, (source, edit, message) in enumerate(forged):
        bad = tmp_path / f"forged{k}"
        shutil.copytree(source, bad)
        rehash(bad, edit)
        with pytest.raises(ArtifactError, match=message):
            finlite.evaluate_artifact(bad, german_csv, timing=False)
    # From the command line, as any teacher.
    result = runner.invoke(app, ["train", str(german_csv), "--target", "creditability", "--model", library,
                                 "--central-tendency", "0.02", "--out", str(tmp_path / "cli")])
    assert result.exit_code == 0, result.output
    assert "calibrated to a central tendency of 2.0%: every logit shifted by" in result.output
    assert "(mean PD over the training split out of fold " in result.output
    # A cut-off chosen on the sample's scale flags nothing among PDs set to 2 %: said so, not blamed on drift.
    result = runner.invoke(app, ["train", str(german_csv), "--target", "creditability", "--model", library,
                                 "--central-tendency", "0.02", "--cutoff", "0.3", "--out", str(tmp_path / "cut")])
    assert result.exit_code == 0 and "warning: the cut-off flags no row of the test split: the PDs were calibrated " \
        "to a central tendency of 2.00%, so a cut-off chosen on the sample's scale sits above nearly every one" \
        in result.output, result.output


def test_a_shift_the_scores_do_not_take_is_refused(german_csv: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The check on every training row: an ensemble whose scores did not move (here, one that
    ignores the shift) is refused, naming the row, and nothing is kept."""
    from finlite.models.gbdt import BoostedEnsemble

    monkeypatch.setattr(BoostedEnsemble, "shifted", lambda self, shift: self)
    with pytest.raises(ConfigError, match=r"the lightgbm ensemble's score of training row 1 moved by \+0, not by the "
                                          r"shift of -\d\.\d{6} \(600 rows off\): it is not a plain sum of trees"):
        finlite.train(german_csv, target="creditability", model="lightgbm", central_tendency=0.05, progress=False)


def test_a_central_tendency_is_refused_where_no_logit_takes_it(german_csv: Path, tmp_path: Path) -> None:
    from finlite.models.gbdt import BoostedEnsemble
    from finlite.training.central import recorded_central_tendency

    forecaster = BoostedEnsemble("lightgbm", 1, objective="regression")
    with pytest.raises(ConfigError, match="central_tendency shifts the log-odds of a binary ensemble trained by "
                                          "finlite on a table; this one forecasts a value"):
        forecaster.shifted(0.5)
    imported = BoostedEnsemble("lightgbm", 1, input={"mode": "columns", "index": [0], "mean": [0.0], "std": [1.0]})
    with pytest.raises(ConfigError, match="this one was imported"):
        imported.shifted(0.5)
    record = {"asked": 0.1, "rate": 0.1, "basis": "out_of_fold"}
    trees = {"kind": "gbdt", "objective": "binary", "input": {"mode": "encoded"}, "window": None}
    assert recorded_central_tendency([{"step": "train", "model": trees, "central_tendency": record}]) == 0.1
    # A student reads its teacher's model from its first step's provenance.
    assert recorded_central_tendency([{"method": "distillation", "teacher": {"model": trees},
                                       "central_tendency": record}]) == 0.1
    for step in ({"step": "train", "model": {**trees, "objective": "regression"}},
                 {"step": "train", "model": {**trees, "input": {"mode": "columns"}}},
                 {"step": "train", "model": {**trees, "window": 30}},
                 {"step": "import", "library": "lightgbm"},  # an imported booster is never shifted
                 {"step": "train", "model": {"kind": "mlp"}}):  # a network's basis is its training rows
        with pytest.raises(ArtifactError, match="that no training writes"):
            recorded_central_tendency([{**step, "central_tendency": record}])
    # Settings whose trees an artifact cannot hold are refused before any round.
    with pytest.raises(ConfigError, match=r"gbdt_params boosting='rf' trains a random forest, which averages its "
                                          "trees"):
        finlite.train(german_csv, target="creditability", model="lightgbm",
                      gbdt_params={"boosting": "rf", "bagging_fraction": 0.8, "bagging_freq": 1})
    with pytest.raises(ConfigError, match="gbdt_params linear_tree=True fits a linear model in each leaf"):
        finlite.train(german_csv, target="creditability", model="lightgbm", gbdt_params={"linear_tree": True})
    cases = [(["--model", "logistic", "--central-tendency", "2.3"], "(a percentage? write 0.023 for 2.3 %)"),
             (["--model", "logistic", "--central-tendency", "2.3%"], "--central-tendency is a fraction; write 0.023 "
                                                                     "for 2.3 %"),
             (["--model", "logistic", "--central-tendency", "abc"], "got 'abc'"),
             (["--model", "logistic", "--central-tendency", "0_1"], "got '0_1'"),
             (["--task", "forecast", "--central-tendency", "0.1"], "--central-tendency describes a labelled table")]
    for extra, message in cases:
        result = runner.invoke(app, ["train", str(german_csv), "--target", "creditability", *extra,
                                     "--out", str(tmp_path / "x")])
        assert result.exit_code == 2 and message in result.output, (extra, result.output)
        assert not (tmp_path / "x").exists()


def test_a_report_shows_a_central_tendency_rather_than_judging_it(german_csv: Path, tmp_path: Path) -> None:
    """The test split's rate (30 %) is not the long-run rate (10 %) the PDs were set to: the
    calibration section shows the level and does not judge it, and the card says why, where it
    said the mean prediction was off and to recalibrate."""
    result = runner.invoke(app, ["train", str(german_csv), "--target", "creditability", "--model", "logistic",
                                 "--central-tendency", "0.1", "--out", str(tmp_path / "t")])
    assert result.exit_code == 0, result.output
    assert "calibrated to a central tendency of 10.0%: every logit shifted by -" in result.output
    student = finlite.compress(tmp_path / "t", german_csv, out=tmp_path / "s", progress=False,
                               timing=False)
    # The student keeps the teacher's level: distillation's label term pulled it to the sample's
    # 30 % (5.8 % where its teacher said 5 %, and 6 points more rows flagged: a review); every step
    # that trained is shifted back before it is judged, and the shift is recorded.
    import torch

    from finlite.artifact import prepare_like

    teacher, made = finlite.load(tmp_path / "t"), finlite.load(student.path)
    finlite.train(german_csv, target="creditability", model="logistic", out=tmp_path / "t0", progress=False)
    plain = finlite.load(finlite.compress(tmp_path / "t0", german_csv, out=tmp_path / "s0",
                                          progress=False, timing=False).path)
    prepared = prepare_like(teacher, german_csv)

    def pd(model: finlite.FinliteModel, x: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return model.predict_proba(torch.from_numpy(x)).numpy().astype(np.float64)

    # The level kept by the label term's offset alone (its mean PD was 5.8 % for a 5 % teacher, and
    # realigning it to the teacher's mean moved its decisions the other way: reviews 306, 307).
    assert float(pd(made.model, prepared.x_train).mean()) == pytest.approx(0.1, rel=0.15)
    # Its decisions at the teacher's cut-off are as close to its teacher's as an uncalibrated
    # student's are to an uncalibrated teacher's (to 2 points; without the label term's offset the
    # default compress flagged 6.5 points more: review 306; the short FAST settings do not show it).
    flags = {who: float(np.mean(pd(m.model, prepared.x_test) >= m.cutoff)) for who, m in
             (("teacher", teacher), ("student", made), ("plain", plain))}
    assert flags["teacher"] == pytest.approx(float(np.mean(pd(finlite.load(tmp_path / "t0").model, prepared.x_test)
                                                           >= plain.cutoff)), abs=1e-9)
    assert abs(flags["student"] - flags["teacher"]) <= abs(flags["plain"] - flags["teacher"]) + 0.02, flags
    first = made.manifest["steps"][0]
    assert first["central_tendency"] == teacher.manifest["steps"][0]["central_tendency"]
    # Its own level beside its teacher's over the training rows is recorded, and inspect says it.
    assert first["level"]["student_mean_pd_train"] == pytest.approx(float(pd(made.model, prepared.x_train).mean()),
                                                                     rel=1e-5)
    assert first["level"]["teacher_mean_pd_train"] == pytest.approx(0.1, abs=1e-5)
    shown = runner.invoke(app, ["inspect", str(student.path)])
    assert f"this student's mean PD over the training split {first['level']['student_mean_pd_train']:.2%}, its " \
        "teacher's there 10.00%" in shown.output, shown.output
    # evaluate on its own test split reads the grades as the report does: their level by design,
    # not "recalibrate" (a review, 2026-12-07).
    from finlite.jobs.evaluate import evaluate_artifact

    said = runner.invoke(app, ["evaluate", str(student.path), str(german_csv), "--no-timing"])
    assert said.exit_code == 0, said.output
    own = evaluate_artifact(student.path, german_csv, timing=False)
    assert own["central_tendency"] == 0.1 and own["pd_grades"]["central_tendency"] == 0.1
    assert "recalibrate before using those PDs" not in said.stderr
    assert "calibrated to a central tendency of 10.00%" in said.stderr
    report = json.loads((student.path / "report.json").read_text())
    section = next(s for s in report["sections"] if s["id"] == "calibration")
    assert section["metrics"]["in_the_large"]["central_tendency"] == 0.1
    assert "The teacher's PDs were calibrated to a central tendency of 0.1000 (train --central-tendency), not to " \
           "this split's bad rate of 0.3000" in section["summary"]
    card = (student.path / "MODEL_CARD.md").read_text()
    assert "**The PDs are calibrated to a central tendency of 10.00%** (train --central-tendency)" in card
    assert "The student's mean prediction is off the observed rate" not in card
    assert "miscalibrated in absolute terms" not in card
    # Nor are the grades read too low on the test split, every one of them by design (the card said
    # "calibrated" and, below it, "too low in 6 grades": a review).
    assert "The student's PD is too low in" not in card
    graded = section["metrics"]["pd_grades"]
    assert graded["central_tendency"] == 0.1 and graded["flagged"] == []
    assert "a grade read too low or too high here is their level, by design, not a finding" in section["summary"]
    # The grades too thin for their PD are a limitation of their own on the card.
    thin = section["metrics"]["pd_grades"]["student"]["low_power"]
    assert thin and f"- **Grade(s) {', '.join(map(str, thin))} hold too few obligors for their PD**" in card


def test_the_label_term_reads_the_student_moved_back_to_the_samples_rate() -> None:
    """Soft targets at a long-run rate and labels at the sample's pulled a student two ways: with
    the offset that takes the teacher back to the labels' rate, a student equal to its teacher is
    at rest under a shift of its logits (the loss's slope in that shift is 0), and without it not."""
    import torch

    from finlite.methods.distill import Distillation, distillation_loss

    rng = np.random.default_rng(0)
    z = torch.from_numpy(rng.normal(-1.0, 1.5, 4000))
    labels = torch.sigmoid(z)  # labels as likely as the sample-calibrated model says (soft, exact)
    a = -1.2  # the teacher calibrated to a lower long-run rate
    teacher = z + a

    def slope(offset: float) -> float:
        c = torch.zeros((), dtype=torch.float64, requires_grad=True)
        distillation_loss(teacher + c, teacher, labels, Distillation(temperature=2.0, alpha=0.5),
                          offset=offset).backward()
        assert c.grad is not None
        return float(c.grad)

    assert abs(slope(-a)) < 1e-12
    assert slope(0.0) < -0.05  # without it, the labels pull the student's level up


def test_a_power_note_is_given_only_where_the_test_did_not_reject() -> None:
    """evaluate said FAIL and then "a pass here is weak evidence" (a review, 2026-12-07); and a
    model calibrated to a central tendency says so beside a hold-out's rate."""
    from finlite.cli import _validation_warnings

    own = {"rows": 12, "positives": 12, "observed_rate": 1.0, "mean_predicted": 0.4, "factor": 2.5, "ratio": 0.4,
           "p_under": 1e-6, "p_over": 1.0, "p_value": 2e-6, "power_2x": 0.3}
    rejected = _validation_warnings({"calibration_in_the_large": own, "one_class": {"class": "bad"},
                                     "calibration_status": "FAIL"})
    assert not any("can hardly test it" in line for line in rejected)
    passed = _validation_warnings({"calibration_in_the_large": {**own, "p_value": 0.2}, "central_tendency": 0.02,
                                   "one_class": {"class": "bad"}, "calibration_status": "PASS"})
    assert any("12 rows at a mean prediction of 40.00% can hardly test it" in line for line in passed)
    assert any("calibrated to a central tendency of 2.00%" in line for line in passed)
