"""The task registry: each task's metrics, fidelity measures, gates and predictions in one place."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from finlite.errors import ConfigError, DataError
from finlite.models import SequenceModel, TabularMLP
from finlite.tasks import COST_GATES, Task, get_task, register_task, task_names, task_of_model


def test_binary_and_regression_are_registered_with_their_gates() -> None:
    assert {"binary", "regression"} <= set(task_names())
    binary, regression = get_task("binary"), get_task("regression")
    assert get_task(None) is binary  # artifacts that record no task are binary
    assert binary.decides and not regression.decides
    assert binary.supports("auc", "max_drop") and not binary.supports("auc", "max_increase")
    assert binary.supports("brier", "max_increase") and binary.supports("brier", "max")
    assert binary.supports("agreement", "min") and not binary.supports("agreement", "max_drop")
    assert regression.supports("rmse", "max_increase") and regression.supports("r2", "max_drop")
    assert not regression.supports("auc", "min") and not regression.supports("agreement", "min")
    for task in (binary, regression):
        assert set(COST_GATES) <= set(task.gate_metrics)
        assert len(task.gate_metrics) == len(set(task.gate_metrics))
    assert binary.decision_metrics == ("agreement", "alert_overlap", "f1", "precision", "recall", "accuracy")
    assert regression.decision_metrics == ()
    assert binary.supports("alert_overlap", "min") and get_task("direction").supports("alert_overlap", "min")
    assert "alert_overlap" in get_task("direction").decision_metrics
    assert not regression.supports("alert_overlap", "min") and not get_task("forecast").supports("alert_overlap", "min")
    with pytest.raises(ConfigError, match=r"Unknown task 'regresion'\. Did you mean 'regression'") as info:
        get_task("regresion")
    assert info.value.param == "task"


def test_each_task_scores_a_model_its_own_way() -> None:
    torch.manual_seed(0)
    mlp, rnn = TabularMLP(3, (4,)), SequenceModel("gru", 2, [4])
    x, windows = np.random.default_rng(0).normal(size=(70_000, 3)).astype(np.float32), np.ones((5, 6, 2), np.float32)
    p = get_task("binary").scores(mlp, x)  # in chunks of 65,536 rows, the same numbers as one call
    assert mlp.training  # scored in eval mode (no dropout), and left as it was
    with torch.inference_mode():
        logits = mlp.eval()(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(p, 1 / (1 + np.exp(-logits.astype(np.float64))), rtol=1e-6)
    assert p.dtype == np.float64 and p.shape == (70_000,)
    rnn.train()
    forecast = get_task("regression").scores(rnn, windows)
    with torch.inference_mode():
        np.testing.assert_allclose(forecast, rnn.eval()(torch.from_numpy(windows)).numpy(), rtol=1e-6)
    assert task_of_model(rnn) == "regression" and task_of_model(SequenceModel("gru", 2, [4], task="classification")) \
        == "binary" and task_of_model(mlp) == "binary"


def test_a_rows_score_does_not_depend_on_its_place_among_the_others() -> None:
    """A matrix kernel sums the rows past its last full block in another order: the same applicant
    scored one float32 step apart by its place in the file, and 50 copies of one row, 10 of them
    bad, read AUC 0.60 and KS 0.20 (reversed, 0.475: a statistics audit, 2026-12-07). Each call
    is padded to whole blocks: a row scores the same bits alone, among copies anywhere, and in a
    pass of thousands of rows; tied rows rank as ties."""
    from finlite.evaluate import auc, ks

    torch.manual_seed(0)
    mlp = TabularMLP(72, (16,))  # the width of German credit's encoded rows and a default student
    x = np.random.default_rng(1).normal(size=(5_000, 72)).astype(np.float32)
    binary = get_task("binary")
    whole = binary.scores(mlp, x)
    for i in (0, 7, 1_234, 4_999):
        for n in (1, 2, 3, 7, 9, 17, 50, 63, 65):
            copies = binary.scores(mlp, np.repeat(x[i:i + 1], n, axis=0))
            assert (copies == whole[i]).all(), (i, n, np.unique(copies))
    for n in (77, 513, 999, 4_097):
        assert (binary.scores(mlp, x[:n]) == whole[:n]).all(), n
    tied = binary.scores(mlp, np.repeat(x[:1], 50, axis=0))
    y = np.r_[np.zeros(40), np.ones(10)]
    assert auc(y, tied) == 0.5 and auc(y[::-1], tied) == 0.5 and ks(y, tied) == 0.0
    assert binary.scores(mlp, x[:0]).shape == (0,)


def test_metrics_and_fidelity_follow_the_task() -> None:
    y = np.array([0.5, -1.0, 2.0, -0.5])
    teacher, student = np.array([0.4, -0.8, 1.5, -0.2]), np.array([0.3, -0.9, 1.6, 0.1])
    regression = get_task("regression")
    m = regression.metrics(y, student, None)
    assert m["rmse"] == pytest.approx(np.sqrt(np.mean((student - y) ** 2)))
    assert m["mae"] == pytest.approx(np.mean(np.abs(student - y)))
    assert m["r2"] == pytest.approx(1 - np.sum((student - y) ** 2) / np.sum((y - y.mean()) ** 2))
    assert m["directional_accuracy"] == 0.75  # the last forecast calls the wrong direction
    assert "directional_accuracy" not in regression.metrics(np.abs(y) + 1, student, None)  # a level never falls
    f = regression.fidelity(teacher, student, y, None)
    assert f["rmse_vs_teacher"] == pytest.approx(np.sqrt(np.mean((student - teacher) ** 2)))
    assert f["correlation"] == pytest.approx(np.corrcoef(teacher, student)[0, 1])
    assert f["max_abs_diff"] == pytest.approx(0.3)
    with pytest.raises(DataError, match="finite targets"):
        regression.metrics(np.array([1.0, np.nan]), np.zeros(2), None)
    binary = get_task("binary")
    labels, p = np.array([0, 1, 0, 1]), np.array([0.1, 0.7, 0.4, 0.3])
    assert binary.metrics(labels, p, 0.35)["flagged_rate"] == 0.5
    band = binary.step_fidelity(p, np.array([0.4, 0.7, 0.1, 0.3]), labels, 0.35)  # decisions 1100 vs 0110
    assert band["agreement"] == 0.5 and set(band["agreement_band"]) == {"1%", "2%", "5%", "10%", "20%", "30%"}
    with pytest.raises(ConfigError, match="decides at a cut-off; none was given"):
        binary.metrics(labels, p, None)


def test_a_new_task_is_one_registration() -> None:
    binary = get_task("binary")
    ranked = Task(name="ranking_test", description="a test task", decides=False, link="identity",
                  higher_better=("spearman_to_label",), lower_better=(), fidelity_gates=("spearman",),
                  decision_metrics=(), step_keys=(),
                  metrics_fn=lambda y, s, c: {"spearman_to_label": float(np.corrcoef(y, s)[0, 1])},
                  fidelity_fn=lambda t, s, y, c: {"spearman": float(np.corrcoef(t, s)[0, 1])},
                  step_fidelity_fn=lambda t, s, y, c: {"spearman": float(np.corrcoef(t, s)[0, 1])})
    try:
        register_task(ranked)
        assert get_task("ranking_test").supports("spearman_to_label", "max_drop")
        ranked.check_gates(["spearman", "size_bytes"])
        with pytest.raises(ConfigError, match="The gate 'auc' in the recipe does not apply to a ranking_test model"):
            ranked.check_gates(["auc"])
    finally:
        from finlite import tasks

        tasks._TASKS.pop("ranking_test", None)
    assert "ranking_test" not in task_names() and get_task("binary") is binary


def test_training_scores_are_out_of_fold_when_the_model_has_them() -> None:
    """A boosted teacher scores its own training rows more extremely than new ones: the operating
    point is set from its out-of-fold scores, which stand for new rows."""
    torch.manual_seed(0)
    mlp = TabularMLP(3, (4,), dropout=0.0).eval()
    x = np.random.default_rng(0).normal(size=(50, 3)).astype(np.float32)
    binary = get_task("binary")
    np.testing.assert_array_equal(binary.training_scores(mlp, x), binary.scores(mlp, x))  # no OOF: its own scores

    class WithOof(TabularMLP):
        oof_logits = np.linspace(-3.0, 3.0, 50)

    boosted = WithOof(3, (4,), dropout=0.0).eval()
    np.testing.assert_allclose(binary.training_scores(boosted, x), 1 / (1 + np.exp(-WithOof.oof_logits)))
    # OOF scores of other rows than these (another split) are not used.
    assert binary.training_scores(boosted, x[:10]).shape == (10,)
    np.testing.assert_array_equal(binary.training_scores(boosted, x[:10]), binary.scores(boosted, x[:10]))


# -- market forecasting -------------------------------------------------------------------------
def test_forecast_and_direction_are_registered_with_their_gates() -> None:
    forecast, direction = get_task("forecast"), get_task("direction")
    assert not forecast.decides and forecast.link == "identity"
    assert direction.decides and direction.link == "sigmoid"
    for metric in ("rmse", "mae", "mape"):
        assert forecast.supports(metric, "max_increase") and not forecast.supports(metric, "max_drop")
    for metric in ("directional_accuracy", "information_coefficient", "r2"):
        assert forecast.supports(metric, "max_drop")
    for metric in ("agreement", "dm_pvalue", "correlation", "spearman", "max_abs_diff", "rmse_vs_teacher"):
        assert forecast.supports(metric, "min") and not forecast.supports(metric, "max_drop")
    assert direction.supports("directional_accuracy", "max_drop") and direction.supports("auc", "max_drop")
    assert direction.supports("dm_pvalue", "min") and direction.supports("agreement_band_min", "min")
    assert direction.supports("brier", "max_increase") and not direction.supports("rmse", "max_increase")
    assert "directional_accuracy" in direction.decision_metrics and forecast.decision_metrics == ()
    with pytest.raises(ConfigError, match="The gate 'auc' in the recipe does not apply to a forecast model"):
        forecast.check_gates(["auc"])


def test_forecast_metrics_and_fidelity_against_the_teacher() -> None:
    from scipy import stats

    rng = np.random.default_rng(3)
    y = rng.normal(scale=0.01, size=300)
    teacher = 0.3 * y + rng.normal(scale=0.01, size=300)
    student = teacher + rng.normal(scale=0.002, size=300)
    forecast = get_task("forecast")
    m = forecast.metrics(y, student, None)
    assert m["rmse"] == pytest.approx(np.sqrt(np.mean((student - y) ** 2)))
    assert m["information_coefficient"] == pytest.approx(stats.spearmanr(student, y).statistic)
    assert m["directional_accuracy"] == pytest.approx(np.mean(np.sign(student) == np.sign(y)))
    step = forecast.step_fidelity(teacher, student, y, None)
    assert step["agreement"] == pytest.approx(np.mean(np.sign(student) == np.sign(teacher)))
    d = (student - y) ** 2 - (teacher - y) ** 2
    dm = d.mean() / np.sqrt(np.mean((d - d.mean()) ** 2) / 300) * np.sqrt((300 + 1 - 2) / 300)
    assert step["dm_statistic"] == pytest.approx(dm)
    assert step["dm_pvalue"] == pytest.approx(stats.t.sf(dm, 299))  # one-sided: "the student is worse"
    assert step["rmse_vs_teacher"] == pytest.approx(np.sqrt(np.mean((student - teacher) ** 2)))
    same = forecast.step_fidelity(teacher, teacher.copy(), y, None)
    assert same["dm_pvalue"] == 0.5 and same["agreement"] == 1.0  # nothing tells a model from itself
    report = forecast.fidelity(teacher, student, y, None)
    assert report["diebold_mariano"]["p_value_model1_worse"] == step["dm_pvalue"] and report["correlation"] > 0.9


def test_the_dm_gate_tests_per_date_means_at_the_horizon_when_the_rows_are_known() -> None:
    """With the windows' dates and horizon (SeriesRows), dm_pvalue is the evaluation's test: the mean
    over assets of each date's loss differential, h - 1 autocovariances, the HLN factor."""
    import pandas as pd
    from scipy import stats

    from finlite.tasks import SeriesRows

    rng = np.random.default_rng(7)
    days = np.arange("2020-01-01", 160, dtype="datetime64[D]")
    dates = np.concatenate([days, days])  # two assets, (id, date) order
    y = rng.normal(scale=0.01, size=dates.size)
    teacher = 0.3 * y + rng.normal(scale=0.01, size=dates.size)
    student = teacher + np.convolve(rng.normal(scale=0.004, size=dates.size + 2), np.ones(3) / 3, "valid")
    h = 3
    forecast = get_task("forecast")
    step = forecast.step_fidelity(teacher, student, y, None, SeriesRows(dates, h))
    # Independent: pandas groups the dates, numpy the Newey-West sum at lag h - 1, scipy the t tail.
    d = pd.Series((student - y) ** 2 - (teacher - y) ** 2).groupby(dates).mean().to_numpy()
    n, c = len(d), d - d.mean()
    long_run = (c @ c + 2 * sum(c[k:] @ c[:-k] for k in range(1, h))) / n
    dm = d.mean() / np.sqrt(long_run / n) * np.sqrt((n + 1 - 2 * h + h * (h - 1) / n) / n)
    assert n == 160
    assert step["dm_statistic"] == pytest.approx(dm, rel=1e-9)
    assert step["dm_pvalue"] == pytest.approx(stats.t.sf(dm, n - 1), rel=1e-9)
    report = forecast.fidelity(teacher, student, y, None, SeriesRows(dates, h))
    assert report["diebold_mariano"]["rows"] == n and report["diebold_mariano"]["horizon"] == h
    assert report["diebold_mariano"]["p_value_model1_worse"] == step["dm_pvalue"]
    # Without the rows (bare arrays) the test runs on the 320 pooled rows at h = 1: another number.
    pooled = forecast.step_fidelity(teacher, student, y, None)
    assert forecast.fidelity(teacher, student, y, None)["diebold_mariano"]["rows"] == 320
    assert pooled["dm_pvalue"] != pytest.approx(step["dm_pvalue"])
    direction = get_task("direction").step_fidelity(np.clip(0.5 + teacher * 20, 0, 1), np.clip(0.5 + student * 20, 0, 1),
                                                    (y > 0).astype(np.float64), 0.5, SeriesRows(dates, h))
    assert 0.0 <= direction["dm_pvalue"] <= 1.0
    # The decision intervals take rows as independent draws: not given for a panel or h > 1 (the
    # diff's review, 2026-12-03), given for one asset at horizon 1.
    up_t, up_s = np.clip(0.5 + teacher * 20, 0, 1), np.clip(0.5 + student * 20, 0, 1)
    up = (y > 0).astype(np.float64)
    panel = get_task("direction").fidelity(up_t, up_s, up, 0.5, SeriesRows(dates, h))
    assert panel["agreement_ci"] is None and panel["alert_overlap_ci"] is None and panel["agreement"] > 0
    single = get_task("direction").fidelity(up_t[:160], up_s[:160], up[:160], 0.5, SeriesRows(days, 1))
    assert single["agreement_ci"][0] <= single["agreement"] <= single["agreement_ci"][1]
    # Too few dates for the horizon (fewer than 2h + 2): no test, as in the evaluation, and a gate on
    # dm_pvalue is refused, never passed.
    few = SeriesRows(np.concatenate([days[:6], days[:6]]), 3)
    short = forecast.step_fidelity(teacher[:12], student[:12], y[:12], None, few)
    assert short["dm_pvalue"] is None and short["dm_statistic"] is None
    assert forecast.fidelity(teacher[:12], student[:12], y[:12], None, few)["diebold_mariano"] is None
    from finlite.recipe.gates import Gate

    with pytest.raises(ConfigError, match=r"The gate 'dm_pvalue' cannot be judged.*at least 2h \+ 2 dates"):
        Gate("dm_pvalue", min=0.05).check({**short, "rows": 12}, {"dm_pvalue": None})


def test_direction_metrics_decide_at_the_cutoff_and_dm_reads_brier_losses() -> None:
    rng = np.random.default_rng(4)
    y = (rng.random(200) < 0.55).astype(np.float64)
    teacher = np.clip(0.5 + 0.2 * (y - 0.5) + rng.normal(scale=0.1, size=200), 0.01, 0.99)
    student = np.clip(teacher + rng.normal(scale=0.02, size=200), 0.01, 0.99)
    direction = get_task("direction")
    m = direction.metrics(y, student, 0.5)
    assert m["directional_accuracy"] == m["accuracy"] == pytest.approx(np.mean((student >= 0.5) == (y == 1)))
    assert 0.0 < m["flagged_rate"] < 1.0 and m["auc"] > 0.5
    step = direction.step_fidelity(teacher, student, y, 0.5)
    assert step["agreement"] == pytest.approx(np.mean((teacher >= 0.5) == (student >= 0.5)))
    brier_diff = (student - y) ** 2 - (teacher - y) ** 2
    assert np.sign(step["dm_statistic"]) == np.sign(brier_diff.mean()) and 0.0 <= step["dm_pvalue"] <= 1.0
    with pytest.raises(ConfigError, match="decides at a cut-off; none was given"):
        direction.metrics(y, student, None)


def test_the_da_gate_is_mcnemars_test_where_its_rows_are_independent() -> None:
    """da_pvalue: McNemar's one-sided p of "the student calls the move less often", counted here
    independently (scipy's binomial tail); None, and a gate on it refused, on a panel, at h > 1
    and for outcomes that never fall."""
    from scipy import stats

    from finlite.recipe.gates import Gate
    from finlite.tasks import SeriesRows

    rng = np.random.default_rng(11)
    n = 400
    y = rng.normal(scale=0.01, size=n)
    teacher = y + rng.normal(scale=0.01, size=n)
    student = teacher + rng.normal(scale=0.03, size=n)  # much noisier: more wrong calls
    right_t, right_s = np.sign(teacher) == np.sign(y), np.sign(student) == np.sign(y)
    b, c = int(np.sum(right_t & ~right_s)), int(np.sum(right_s & ~right_t))
    expected = stats.binom.sf(b - 1, b + c, 0.5)  # P(X >= b), X ~ Bin(b + c, 1/2)
    forecast = get_task("forecast")
    days = np.arange("2020-01-01", n, dtype="datetime64[D]")
    step = forecast.step_fidelity(teacher, student, y, None, SeriesRows(days, 1))
    assert b > c and step["da_pvalue"] == pytest.approx(expected, rel=1e-9) and step["da_pvalue"] < 0.05
    assert forecast.fidelity(teacher, student, y, None)["da_pvalue"] == pytest.approx(expected, rel=1e-9)
    assert forecast.supports("da_pvalue", "min") and get_task("direction").supports("da_pvalue", "min")
    with pytest.raises(ConfigError, match="does not apply"):
        get_task("binary").check_gates(["da_pvalue"])
    gate = Gate("da_pvalue", min=0.05)
    assert not gate.check({**step, "rows": n}, {})[0].passed  # the worse student is refused
    same = forecast.step_fidelity(teacher, teacher.copy(), y, None, SeriesRows(days, 1))
    assert same["da_pvalue"] == 1.0 and gate.check({**same, "rows": n}, {})[0].passed
    # Direction: the calls at the cut-off against the 0/1 outcomes.
    up = (y > 0).astype(np.float64)
    p_t, p_s = 1 / (1 + np.exp(-teacher * 100)), 1 / (1 + np.exp(-student * 100))
    direction = get_task("direction").step_fidelity(p_t, p_s, up, 0.5, SeriesRows(days, 1))
    assert direction["da_pvalue"] == pytest.approx(expected, rel=1e-9)
    # Not independent, or nothing to call: no value, and the gate is refused, never passed.
    panel = SeriesRows(np.concatenate([days[: n // 2], days[: n // 2]]), 1)
    for rows, outcome in ((panel, y), (SeriesRows(days, 2), y), (SeriesRows(days, 1), np.abs(y) + 0.01)):
        none = forecast.step_fidelity(teacher, student, outcome, None, rows)
        assert none["da_pvalue"] is None
        with pytest.raises(ConfigError, match=r"The gate 'da_pvalue' cannot be judged.*McNemar"):
            gate.check({**none, "rows": n}, {})


def test_a_volatility_forecaster_has_no_sign_agreement_to_gate() -> None:
    """A volatility is never below zero: its forecasts agree in sign on every row, so an agreement
    gate passed whatever the student was and /metadata showed 1.0 (a review, 2026-12-07). The
    agreement is None for a volatility, and a gate on it refuses to judge, naming why."""
    from finlite.recipe.gates import Gate
    from finlite.tasks import SeriesRows

    rng = np.random.default_rng(3)
    days = np.arange("2020-01-01", 120, dtype="datetime64[D]")
    y = np.abs(rng.normal(0.01, 0.003, days.size))
    teacher, student = y * 1.1, rng.uniform(1e-4, 0.05, days.size)  # the student knows nothing
    forecast = get_task("forecast")
    for fidelity in (forecast.fidelity, forecast.step_fidelity):
        assert fidelity(teacher, student, y, None, SeriesRows(days, 1, objective="volatility"))["agreement"] is None
        returns = fidelity(teacher - 0.01, student - 0.01, y, None, SeriesRows(days, 1, objective="return"))
        assert returns["agreement"] == pytest.approx(np.mean(np.sign(teacher - 0.01) == np.sign(student - 0.01)))
    step = forecast.step_fidelity(teacher, student, y, None, SeriesRows(days, 1, objective="volatility"))
    with pytest.raises(ConfigError, match=r"The gate 'agreement' cannot be judged.*a volatility's forecasts always "
                                          r"agree in sign, so it has no agreement"):
        Gate("agreement", min=0.9).check({**step, "rows": days.size}, {"rows": days.size})
