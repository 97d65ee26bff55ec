"""Gates: task-generic metrics, ``max_increase`` for errors, refusal at a degenerate operating point,
and a regression forecaster through the same runner and gates as a credit model."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

import finlite
from finlite.artifact import prepare_like
from finlite.data.prepared import SplitArrays
from finlite.errors import ConfigError, TooFewAlertsError, UnjudgedGateError
from finlite.evaluate.operating import check_overlap_judged
from finlite.models import SequenceModel
from finlite.models.serialize import weights_nbytes
from finlite.recipe.gates import Gate, evaluate_candidate
from finlite.recipe.runner import run_recipe
from finlite.recipe.spec import Recipe
from finlite.training.loop import TrainConfig, fit
from tests.conftest import FAST, ar2_windows

QUICK = TrainConfig(epochs=4, patience=2, lr=3e-3, progress=False)


def test_max_increase_compares_an_error_with_the_teacher() -> None:
    gate = Gate("rmse", max_increase=0.1)
    (ok,) = gate.check({"rmse": 1.05}, {"rmse": 1.0})
    assert ok.passed and ok.kind == "max_increase" and ok.value == pytest.approx(0.05)
    (bad,) = gate.check({"rmse": 1.25}, {"rmse": 1.0})
    assert not bad.passed and bad.message == "rmse increase 0.25 > max_increase 0.1 (by 0.15)"
    (brier,) = Gate("brier", max_increase=0.0).check({"brier": 0.19}, {"brier": 0.2})
    assert brier.passed and brier.value == pytest.approx(-0.01)  # a lower error than the teacher's passes


def test_recipes_read_and_write_max_increase_and_refuse_it_where_it_means_nothing() -> None:
    text = "steps:\n  - {method: dynamic_int8}\ngates:\n  rmse: {max_increase: 0.02}\n  log_loss: {max_increase: 0.01, max: 0.6}\n"
    recipe = Recipe.from_yaml(text)
    assert recipe.gates == [Gate("rmse", max_increase=0.02), Gate("log_loss", max_increase=0.01, max=0.6)]
    assert Recipe.from_yaml(recipe.to_yaml()).gates == recipe.gates
    with pytest.raises(ConfigError, match=r"Gate 'auc' at the recipe, line 4 \(gates.auc.max_increase\) cannot use "
                                          r"max_increase.*works for: brier, log_loss, rmse, mae"):
        Recipe.from_yaml("steps:\n  - {method: dynamic_int8}\ngates:\n  auc: {max_increase: 0.01}\n")
    with pytest.raises(ConfigError, match="cannot use max_drop"):
        Recipe.from_yaml("steps:\n  - {method: dynamic_int8}\ngates:\n  rmse: {max_drop: 0.01}\n")


@pytest.mark.parametrize(("flagged", "share"), [(0.0, "no row"), (1.0, "every row")])
def test_a_decision_gate_where_the_teacher_flags_nothing_or_everything_is_an_error(flagged: float, share: str) -> None:
    teacher = {"agreement": 1.0, "auc": 0.8, "flagged_rate": flagged, "rows": 250, "cutoff": 0.5}
    with pytest.raises(ConfigError, match=rf"The gate 'agreement' is judged at the cut-off 0.5 on P\(positive\), where "
                                          rf"the teacher flags {share} of the 250 rows.*pass flag_rate=") as info:
        Gate("agreement", min=0.99).check({"agreement": 1.0}, teacher)
    assert info.value.param == "flag_rate"
    with pytest.raises(ConfigError, match=rf"The gate 'alert_overlap' is judged at the cut-off 0.5 .* flags {share}"):
        Gate("alert_overlap", min=0.9).check({"alert_overlap": 1.0}, teacher)
    # A gate that reads no decision is still judged there.
    (auc,) = Gate("auc", max_drop=0.01).check({"auc": 0.795}, teacher)
    assert auc.passed


def test_an_alert_overlap_gate_judges_the_alerts_where_agreement_passes() -> None:
    """Fraud prevalence: 99 % agreement with 34 of 61 alerts shared (a review, 2026-12-03)."""
    teacher = {"flagged_rate": 0.0075, "rows": 8000, "cutoff": 0.4}
    candidate = {"agreement": 0.99, "alert_overlap": 34 / 61, "flagged_rate": 0.006}
    (agree,) = Gate("agreement", min=0.99).check(candidate, teacher)
    (overlap,) = Gate("alert_overlap", min=0.8).check(candidate, teacher)
    assert agree.passed and not overlap.passed
    assert overlap.message == "alert_overlap 0.557377 < min 0.8 (by 0.2426)"
    recipe = Recipe.from_yaml("steps:\n  - {method: dynamic_int8}\ngates:\n  alert_overlap: {min: 0.8}\n")
    assert recipe.gates == [Gate("alert_overlap", min=0.8)]
    with pytest.raises(ConfigError, match=r"alert_overlap.*cannot use max_drop"):
        Recipe.from_yaml("steps:\n  - {method: dynamic_int8}\ngates:\n  alert_overlap: {max_drop: 0.1}\n")
    with pytest.raises(ConfigError, match=r"alert_overlap"):
        Recipe.from_yaml("steps:\n  - {method: dynamic_int8}\ngates:\n  alert_overlap: {min: 80}\n")


def test_runner_refuses_a_decision_gate_at_a_degenerate_cutoff_before_training(teacher_dir: Path,
                                                                              german_csv: Path) -> None:
    art = finlite.load(teacher_dir)
    data = prepare_like(art, german_csv)
    recipe = Recipe.from_yaml("steps:\n  - {method: distillation, hidden: [8]}\ngates:\n  agreement: {min: 0.95}\n")
    started: list[int] = []
    with pytest.raises(ConfigError, match=r"'agreement' \(on the validation split\) is judged at the cut-off 0.999 "
                                          r"on P\(positive\), where the teacher flags no row"):
        run_recipe(recipe, data, art.model, cutoff=0.999, seed=0, train=FAST, fine_tune=FAST,
                   teacher_bytes=art.weights_bytes, progress=lambda i, n, msg: started.append(i))
    assert started == []  # refused before the first step trained anything
    # At the teacher's own operating point (its training bad rate) the same gate decides.
    assert 0.0 < float(np.mean(art.model.predict_proba(torch.from_numpy(data.x_val)).numpy() >= art.cutoff)) < 1.0


def test_an_alert_overlap_gate_on_too_few_alerts_is_refused_before_training(teacher_dir: Path,
                                                                          german_csv: Path) -> None:
    """13 validation alerts decided a step by chance (a review, 2026-12-03): at fewer than 20 the
    gate is refused, naming the count; agreement is still judged there."""
    art = finlite.load(teacher_dir)
    data = prepare_like(art, german_csv)
    p_val = art.model.predict_proba(torch.from_numpy(data.x_val)).numpy().ravel()
    few = float(np.sort(p_val)[-13])  # the teacher flags its 13 riskiest validation rows
    assert int(np.sum(p_val >= few)) == 13
    recipe = Recipe.from_yaml("steps:\n  - {method: distillation, hidden: [8]}\n"
                              "gates:\n  agreement: {min: 0.9}\n  alert_overlap: {min: 0.8}\n")
    started: list[int] = []
    with pytest.raises(TooFewAlertsError, match=rf"'alert_overlap' \(on the validation split\) needs at least 20 of "
                                                rf"the teacher's alerts to judge, and the teacher flags 13 of the "
                                                rf"{p_val.size} rows at the cut-off .*by about 14 points.*--flag-rate "
                                                r"0\.\d+ or more.*remove the gate") as info:
        run_recipe(recipe, data, art.model, cutoff=few, seed=0, train=FAST, fine_tune=FAST,
                   teacher_bytes=art.weights_bytes, progress=lambda i, n, msg: started.append(i))
    assert info.value.param == "gates" and started == []
    # 20 alerts are enough; so is the same cut-off without the overlap gate.
    check_overlap_judged(20, 200, 0.5, "x")
    # The flag rate named gives 20 alerts or more in 95 % of validation splits, not only on average
    # (20 / 600 = 0.034 falls short 43 % of the time): the smallest two-digit rate where fewer than
    # 20 of 600 binomial draws is under 5 %, checked by summing the binomial terms. None is named
    # where 20 alerts would be half the rows.
    with pytest.raises(TooFewAlertsError, match=r"--flag-rate 0\.047 or more.*fewer than 20 of these 600 rows are "
                                                r"flagged about 1 time in 20") as six_hundred:
        check_overlap_judged(5, 600, 0.5, "x")

    def short(r: float, n: int = 600) -> float:
        return sum(math.comb(n, i) * r**i * (1 - r) ** (n - i) for i in range(20))

    assert short(0.047) < 0.05 <= short(0.046) and short(20 / 600) > 0.4
    assert "about 33 points" in str(six_hundred.value)
    with pytest.raises(TooFewAlertsError, match=r"--flag-rate 0\.27 or more"):  # 20 of 100 rows: 0.266
        check_overlap_judged(5, 100, 0.5, "x")
    with pytest.raises(TooFewAlertsError, match=r"Judge it on a larger table, or remove the gate") as few_rows:
        check_overlap_judged(5, 30, 0.5, "x")
    assert "--flag-rate" not in str(few_rows.value)
    agree_only = Recipe.from_yaml("steps:\n  - {method: distillation, hidden: [8]}\ngates:\n  agreement: {min: 0.5}\n")
    run_recipe(agree_only, data, art.model, cutoff=few, seed=0, train=FAST, fine_tune=FAST,
               teacher_bytes=art.weights_bytes)
    # The final gates on the test split judge what they are given, after the work: a split with 19
    # alerts where validation had 20 lost the student to a refusal (the diff's review, 2026-12-03).
    (judged,) = Gate("alert_overlap", min=0.8).check({"alert_overlap": 0.9}, {"flagged_rate": 0.019, "rows": 1000,
                                                                              "cutoff": 0.7})
    assert judged.passed


def test_a_recall_gate_where_the_teacher_catches_no_positive_is_refused_before_training(
        teacher_dir: Path, german_csv: Path) -> None:
    """A recall gate where the teacher flags none of the validation positives said "pass recall drop
    0" whatever the student did (a low-default walk-through, 2026-12-07): refused, naming the count."""
    import dataclasses

    art = finlite.load(teacher_dir)
    data = prepare_like(art, german_csv)
    p_val = art.model.predict_proba(torch.from_numpy(data.x_val)).numpy().ravel()
    y = np.zeros_like(np.asarray(data.y_val))
    y[np.argsort(p_val)[:4]] = 1  # the four validation rows the teacher scores lowest default
    few = dataclasses.replace(data, y_val=y.astype(np.asarray(data.y_val).dtype))
    cutoff = float(np.quantile(p_val, 0.8))
    recipe = Recipe.from_yaml("steps:\n  - {method: distillation, hidden: [8]}\ngates:\n  recall: {max_drop: 0.05}\n")
    with pytest.raises(UnjudgedGateError, match=r"The gate 'recall' \(max_drop, on the validation split\) would "
                                                r"judge nothing: at the cut-off 0\.\d+ the teacher flags none of the 4 "
                                                r"positive validation row\(s\)"):
        run_recipe(recipe, few, art.model, cutoff=cutoff, seed=0, train=FAST, fine_tune=FAST,
                   teacher_bytes=art.weights_bytes)
    # A floor on the student's own recall still judges something: not refused (a review, 2026-12-07).
    floor = Recipe.from_yaml("steps:\n  - {method: distillation, hidden: [8]}\ngates:\n  recall: {min: 0.0}\n")
    run_recipe(floor, few, art.model, cutoff=cutoff, seed=0, train=FAST, fine_tune=FAST,
               teacher_bytes=art.weights_bytes)


def test_a_teacher_that_scores_every_row_alike_is_refused_before_training(teacher_dir: Path,
                                                                         german_csv: Path) -> None:
    """A constant teacher (one distinct score): train said "do not distil", and compress went on
    without a word (a low-default walk-through, 2026-12-07)."""
    from finlite.models.linear import LogisticRegression

    art = finlite.load(teacher_dir)
    data = prepare_like(art, german_csv)
    constant = LogisticRegression(data.x_val.shape[1])
    with torch.no_grad():
        constant.linear.weight.zero_()
        constant.linear.bias.fill_(-1.0)
    recipe = Recipe.from_yaml("steps:\n  - {method: distillation, hidden: [8]}\ngates:\n  agreement: {min: 0.9}\n")
    with pytest.raises(ConfigError, match=rf"The teacher gives every one of the {data.x_val.shape[0]:,} validation "
                                          r"rows the same score \(0\.268941, to one part in a million\): it ranks and "
                                          r"decides nothing") as info:
        run_recipe(recipe, data, constant, cutoff=0.5, seed=0, train=FAST, fine_tune=FAST, teacher_bytes=1)
    assert info.value.param == "teacher"
    # A net stopped at a constant differs in float32's last digits only: the same score (it was
    # compared exactly and passed); weights of 1e-4 make scores that rank: not refused.
    with torch.no_grad():
        constant.linear.weight.fill_(1e-9)
    with pytest.raises(ConfigError, match="the same score"):
        run_recipe(recipe, data, constant, cutoff=0.5, seed=0, train=FAST, fine_tune=FAST, teacher_bytes=1)
    from finlite.recipe.runner import _alike

    assert _alike(np.array([0.2689414, 0.26894143, 0.2689414])) and not _alike(np.array([0.2689, 0.2690]))
    assert not _alike(np.array([0.1, np.nan])) and _alike(np.zeros(3))


def test_candidate_metrics_carry_agreement_over_the_band_of_flag_rates(teacher_dir: Path, german_csv: Path) -> None:
    art = finlite.load(teacher_dir)
    data = prepare_like(art, german_csv)
    p_teacher = art.model.predict_proba(torch.from_numpy(data.x_val)).numpy().astype(np.float64)
    same = evaluate_candidate(art.model, data.x_val, data.y_val, p_teacher, art.cutoff, timing=False,
                              teacher_bytes=art.weights_bytes)
    assert set(same["agreement_band"]) == {"1%", "2%", "5%", "10%", "20%", "30%"}
    assert same["agreement_band_min"] == 1.0 and same["agreement"] == 1.0 and same["size_ratio"] == 1.0
    assert 0.0 < same["flagged_rate"] < 1.0 and same["cutoff"] == art.cutoff
    assert same["alert_overlap"] == 1.0
    # Against another model's scores: the share of the rows either flags that both flag, counted apart.
    other = np.random.default_rng(0).permutation(p_teacher)
    moved = evaluate_candidate(art.model, data.x_val, data.y_val, other, art.cutoff, timing=False,
                               teacher_bytes=art.weights_bytes)
    mine = set(np.flatnonzero(other >= art.cutoff))
    theirs = set(np.flatnonzero(p_teacher >= art.cutoff))
    assert moved["alert_overlap"] == pytest.approx(len(mine & theirs) / len(mine | theirs))
    assert moved["alert_overlap"] < 1.0
    with pytest.raises(ConfigError, match="Unknown task 'ranking'"):
        evaluate_candidate(art.model, data.x_val, data.y_val, p_teacher, art.cutoff, timing=False,
                           teacher_bytes=art.weights_bytes, task="ranking")


# -- a forecaster through the same runner and gates ---------------------------------------------
@pytest.fixture(scope="module")
def forecaster() -> tuple[SplitArrays, SequenceModel]:
    x, y = ar2_windows(steps=12)
    data = SplitArrays(x[:400], y[:400], x[400:550], y[400:550], x[550:], y[550:], task="regression")
    torch.manual_seed(0)
    teacher = SequenceModel("lstm", 1, [16])
    fit(teacher, {"x": torch.from_numpy(data.x_train), "y": torch.from_numpy(data.y_train)},
        lambda out, b: torch.nn.functional.mse_loss(out, b["y"]),
        lambda m: -float(torch.nn.functional.mse_loss(m(torch.from_numpy(data.x_val)),
                                                      torch.from_numpy(data.y_val)).detach()),
        TrainConfig(epochs=12, patience=4, lr=5e-3, progress=False))
    return data, teacher.eval()


def _run(data: SplitArrays, teacher: SequenceModel, limit: float) -> finlite.recipe.runner.RecipeResult:
    recipe = Recipe.from_dict({"steps": [{"method": "magnitude_pruning", "sparsity": 0.5, "granularity": "neuron"},
                                         {"method": "dynamic_int8"}],
                               "gates": {"rmse": {"max_increase": limit}, "correlation": {"min": 0.5}}})
    return run_recipe(recipe, data, teacher, cutoff=None, seed=0, train=QUICK, fine_tune=QUICK,
                      teacher_bytes=weights_nbytes(teacher))


def test_a_forecaster_runs_through_the_runner_and_its_rmse_gate_decides(
        forecaster: tuple[SplitArrays, SequenceModel]) -> None:
    data, teacher = forecaster
    with torch.inference_mode():
        teacher_rmse = float(np.sqrt(np.mean((teacher(torch.from_numpy(data.x_val)).numpy() - data.y_val) ** 2)))
    assert teacher_rmse < 0.7  # it learned the series (the noise alone is 0.5)
    loose = _run(data, teacher, limit=1.0)
    assert [r.status for r in loose.records] == ["kept", "kept"]
    pruning = loose.records[0]
    assert {"rmse", "mae", "r2", "rmse_vs_teacher", "correlation", "size_ratio"} <= set(pruning.metrics)
    assert "auc" not in pruning.metrics and "agreement" not in pruning.metrics
    (rmse_gate, corr_gate) = pruning.gates
    assert rmse_gate.metric == "rmse" and rmse_gate.kind == "max_increase"
    assert rmse_gate.value == pytest.approx(pruning.metrics["rmse"] - teacher_rmse, abs=1e-6)
    assert corr_gate.metric == "correlation" and corr_gate.passed
    assert loose.model is not None and loose.model.kind == "sequence_int8" and loose.model.hidden == [8]
    # A limit below the increase the pruning caused rolls that step back; int8 then works on the teacher.
    tight = _run(data, teacher, limit=rmse_gate.value - abs(rmse_gate.value) / 2 - 1e-6)
    assert tight.records[0].status == "rolled_back"
    assert tight.records[0].gates[0].value == pytest.approx(rmse_gate.value, abs=1e-6)  # same seed, same step
    assert tight.records[0].failed_gates[0].metric == "rmse"
    int8 = tight.records[1]
    assert int8.status == ("kept" if int8.gates[0].value <= tight.records[0].gates[0].limit + 1e-12 else "rolled_back")


def test_a_regression_recipe_refuses_classification_gates(forecaster: tuple[SplitArrays, SequenceModel]) -> None:
    data, teacher = forecaster
    recipe = Recipe.from_dict({"steps": [{"method": "dynamic_int8"}], "gates": {"auc": {"max_drop": 0.01}}})
    with pytest.raises(ConfigError, match=r"The gate 'auc' in recipe \(unnamed\) does not apply to a regression model"
                                          r".* 'auc' judges binary.* models: this recipe is made for another kind of "
                                          r"model than this teacher\. Gates for regression: r2, directional_accuracy"):
        run_recipe(recipe, data, teacher, cutoff=None, seed=0, train=QUICK, fine_tune=QUICK,
                   teacher_bytes=weights_nbytes(teacher))
    # Read from a file, the gate is named at its file and line (it was "recipe (unnamed)": a
    # recipe fuzz, 2026-12-07).
    read = Recipe.from_yaml("steps:\n  - {method: dynamic_int8}\ngates:\n  auc: {max_drop: 0.01}\n", "r.yaml")
    with pytest.raises(ConfigError, match=r"The gate 'auc' in r\.yaml, line 3 \(gates\) does not apply"):
        run_recipe(read, data, teacher, cutoff=None, seed=0, train=QUICK, fine_tune=QUICK,
                   teacher_bytes=weights_nbytes(teacher))
    with pytest.raises(ConfigError, match=r"max_drop 2; .* from 0 \(no worse at all\) to 1: 2 is more than auc can "
                                          r"move, so the gate would pass any student\.$"):
        Recipe.from_yaml("steps:\n  - {method: distillation}\ngates:\n  auc: {max_drop: 2}\n", "r.yaml")
    with pytest.raises(ConfigError, match=r"^r\.yaml, line 1 \(top level\) must be a mapping"):
        Recipe.from_yaml("- a\n- b\n", "r.yaml")


# -- market forecasts: direction agreement and the Diebold–Mariano gate --------------------------
def test_a_forecast_recipe_gates_on_agreement_and_dm_pvalue(forecaster: tuple[SplitArrays, SequenceModel]) -> None:
    from dataclasses import replace

    from scipy import stats

    from finlite.methods.targets import distill_data

    data, teacher = forecaster
    data = replace(data, task="forecast")
    base = distill_data(data, lambda x: teacher(torch.from_numpy(x)).detach().numpy())
    assert base.task == "regression"  # a forecast distils the teacher's numbers, not soft targets
    assert distill_data(replace(data, task="direction", y_train=(data.y_train > 0).astype(np.float32)),
                        lambda x: teacher(torch.from_numpy(x)).detach().numpy()).task == "classification"

    def run(dm_min: float) -> finlite.recipe.runner.RecipeResult:
        recipe = Recipe.from_dict({"steps": [{"method": "regression_distillation", "hidden": [8]}],
                                   "gates": {"rmse": {"max_increase": 1.0}, "agreement": {"min": 0.2},
                                             "dm_pvalue": {"min": dm_min}}})
        return run_recipe(recipe, data, teacher, cutoff=None, seed=0, train=QUICK, fine_tune=QUICK,
                          teacher_bytes=weights_nbytes(teacher))

    kept = run(0.0)
    (record,) = kept.records
    assert record.status == "kept" and kept.model is not None
    with torch.inference_mode():
        t = teacher(torch.from_numpy(data.x_val)).numpy().astype(np.float64)
        s = kept.model.eval()(torch.from_numpy(data.x_val)).numpy().astype(np.float64)
    y = data.y_val.astype(np.float64)
    assert record.metrics["agreement"] == pytest.approx(np.mean(np.sign(t) == np.sign(s)))
    d = (s - y) ** 2 - (t - y) ** 2
    n = len(d)
    dm = d.mean() / np.sqrt(np.mean((d - d.mean()) ** 2) / n) * np.sqrt((n - 1) / n)
    assert record.metrics["dm_pvalue"] == pytest.approx(stats.t.sf(dm, n - 1), rel=1e-5)  # one-sided: worse
    assert record.metrics["information_coefficient"] == pytest.approx(stats.spearmanr(s, y).statistic, rel=1e-5)
    # No p-value exceeds 1, so a min gate above it is refused as written; at 1 it rolls the step
    # back, naming the gate.
    with pytest.raises(ConfigError, match=r"min 1.01, outside the values dm_pvalue takes \(from 0 to 1\)"):
        run(1.01)
    refused = run(1.0)
    assert refused.records[0].status == "rolled_back" and refused.model is None
    assert [g.metric for g in refused.records[0].failed_gates] == ["dm_pvalue"]


def test_precision_and_recall_at_the_cutoff_gate_a_fraud_student() -> None:
    """A fraud team budgets its analysts on precision (alerts that are fraud) and its losses on
    recall (fraud caught): both gate, both fall back on the teacher's, both within 0 to 1."""
    recipe = Recipe.from_yaml("steps:\n  - {method: dynamic_int8}\ngates:\n  precision: {min: 0.3}\n"
                              "  recall: {max_drop: 0.05}\n")
    assert recipe.gates == [Gate("precision", min=0.3), Gate("recall", max_drop=0.05)]
    teacher = {"precision": 0.4, "recall": 0.7, "flagged_rate": 0.01, "rows": 20_000, "cutoff": 0.3}
    (precision,) = recipe.gates[0].check({"precision": 0.25, "recall": 0.69}, teacher)
    (recall,) = recipe.gates[1].check({"precision": 0.25, "recall": 0.6}, teacher)
    assert not precision.passed and not recall.passed
    assert recall.message.startswith("recall drop 0.1 > max_drop 0.05")
    with pytest.raises(ConfigError, match=r"precision"):
        Recipe.from_yaml("steps:\n  - {method: dynamic_int8}\ngates:\n  precision: {min: 30}\n")
    with pytest.raises(ConfigError, match=r"The gate 'recall' is judged at the cut-off 0.3 .* flags no row"):
        Gate("recall", min=0.5).check({"recall": 0.6}, {**teacher, "flagged_rate": 0.0})
    with pytest.raises(ConfigError, match=r"The gate 'recall' cannot be judged: the 40 rows judged hold no positive row"):
        Gate("recall", min=0.5).check({"recall": None, "rows": 40}, teacher)


def test_a_gate_on_a_metric_without_a_value_is_an_error_not_a_pass() -> None:
    with pytest.raises(ConfigError, match=r"The gate 'mape' cannot be judged.*on these 5 rows") as info:
        Gate("mape", max_increase=0.1).check({"mape": None, "rows": 5}, {"mape": 0.2})
    assert info.value.param == "gates"
    with pytest.raises(ConfigError, match=r"'directional_accuracy' cannot be judged.*never falls"):
        Gate("directional_accuracy", max_drop=0.01).check({"rmse": 0.1, "rows": 5}, {"rmse": 0.1})


def test_windows_are_timed_as_deployed(forecaster: tuple[SplitArrays, SequenceModel]) -> None:
    """A forecaster's ONNX export reads windows [rows, window, features] and writes "prediction"."""
    from finlite.export.timing import deployed_latency

    data, teacher = forecaster
    (timed,) = deployed_latency([teacher], data.x_val[:32], repeats=10, batch_rows=64)
    assert timed["timed"] == "onnx" and timed["batch"] == 64
    assert 0 < timed["latency_p50_us"] <= timed["latency_p99_us"] and timed["rows_per_second"] > 0


def test_a_gate_without_a_limit_is_refused() -> None:
    """It would check nothing yet count as a gate on its metric (silencing the warnings a missing gate raises)."""
    with pytest.raises(ConfigError, match=r"The gate 'pr_auc' needs a limit such as max_drop=0.005"):
        Gate("pr_auc")
    assert Gate("pr_auc", max_drop=0.02).to_dict() == {"max_drop": 0.02}
