"""The forecasting job: train_forecaster on a small synthetic price series, and the evidence it reports."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch

from finlite.data.market import MarketSpec, prepare_series
from finlite.data.walkforward import WalkForward
from finlite.errors import ConfigError, DataError
from finlite.evaluate.forecast import ES_RED_PROBABILITY, red_by_chance, red_probability
from finlite.jobs.forecast import (
    build_forecaster,
    forecast_evidence,
    realised_log_returns,
    realised_paths,
    render_forecast_table,
    train_forecaster,
)
from finlite.training.loop import TrainConfig

QUICK = TrainConfig(epochs=3, progress=False)


def write_prices(path: Path, n: int = 320, seed: int = 0, phi: float = 0.4) -> Path:
    """An AR(1) log-return series (so a forecaster has something to find) on business days."""
    rng = np.random.default_rng(seed)
    r = np.zeros(n)
    shocks = rng.normal(0.0, 0.01, n)
    for t in range(1, n):
        r[t] = phi * r[t - 1] + shocks[t]
    frame = pd.DataFrame({"date": pd.bdate_range("2020-01-01", periods=n).strftime("%Y-%m-%d"),
                          "close": 100.0 * np.exp(np.cumsum(r)), "volume": rng.integers(1_000, 2_000, n)})
    frame.to_csv(path, index=False)
    return path


@pytest.fixture
def prices(tmp_path: Path) -> Path:
    return write_prices(tmp_path / "prices.csv")


def test_return_forecaster_saves_an_artifact_with_snake_case_evidence(prices: Path, tmp_path: Path) -> None:
    out = tmp_path / "gru"
    outcome = train_forecaster(prices, spec=MarketSpec(window=10, volume_column="volume"), model="gru", hidden=(8,),
                               config=QUICK, out=out, progress=False)
    assert outcome.path == out and (out / "manifest.json").is_file()
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["task"] == "forecast" and manifest["cutoff"] is None
    report = json.loads((out / "report.json").read_text())
    teacher = report["test"]["models"]["teacher"]
    for key in ("rmse", "mae", "mase", "mape", "directional_accuracy", "information_coefficient",
                "diebold_mariano_vs_naive"):
        assert key in teacher["pooled"], key
    assert {"statistic", "p_value"} <= set(teacher["pooled"]["diebold_mariano_vs_naive"])
    for key in ("sharpe", "max_drawdown", "turnover", "annual_return", "hit_rate"):
        assert key in report["test"]["trading"]["teacher"]["long_short"], key
    assert "buy_and_hold" in report["test"]["trading"]
    # The per-fold rows add up to the pooled rows: every test window is in exactly one fold.
    assert sum(f["rows"] for f in teacher["folds"]) == teacher["pooled"]["rows"] == len(outcome.data.y_test)
    assert "| metric | teacher | naive | buy_and_hold |" in (out / "report.md").read_text()


def test_the_target_scale_is_folded_into_the_head(prices: Path) -> None:
    """Trained on y / std(y_train), the saved model still outputs returns (about 0.01), not z-scores."""
    outcome = train_forecaster(prices, spec=MarketSpec(window=10), model="lstm", hidden=(8,), config=QUICK,
                               progress=False)
    step_scale = float(np.std(outcome.data.y_train.astype(np.float64)))
    with torch.inference_mode():
        pred = outcome.model(torch.from_numpy(outcome.data.x_test)).numpy()
    assert 0.005 < step_scale < 0.03
    # An untrained-scale output would be of order 1; folded, it is of the order of a daily return.
    assert float(np.max(np.abs(pred))) < 10 * step_scale
    evidence = outcome.metrics["forecast"]["models"]["teacher"]["pooled"]
    assert evidence["rmse"] == pytest.approx(float(np.sqrt(np.mean((pred - outcome.data.y_test) ** 2))), rel=1e-4)


def test_direction_decides_at_the_training_share_of_up_moves(prices: Path) -> None:
    outcome = train_forecaster(prices, spec=MarketSpec(window=10, objective="direction"), model="gru", hidden=(8,),
                               config=QUICK, progress=False)
    point = outcome.operating_point
    assert point is not None and point.method == "training_bad_rate"
    assert point.flag_rate == pytest.approx(float(np.mean(outcome.data.y_train)))
    pooled = outcome.metrics["test"]
    assert 0.0 <= pooled["directional_accuracy"] <= 1.0 and "auc" in pooled
    assert outcome.metrics["forecast"]["trading"]["teacher"]["long_flat"]["turnover"] >= 0.0


def test_forecast_evidence_against_independent_numbers(prices: Path) -> None:
    series = prepare_series(prices, MarketSpec(window=10), walk=WalkForward(folds=2))
    y = series.y_test.astype(np.float64)
    # For the return objective the label is the log return a position earns: the two must agree.
    np.testing.assert_allclose(realised_log_returns(series), y, rtol=0, atol=1e-6)
    rng = np.random.default_rng(1)
    teacher = y + rng.normal(0, 0.002, len(y))
    student = y + rng.normal(0, 0.02, len(y))  # much worse
    ev = forecast_evidence(series, {"teacher": teacher, "student": student}, cutoff=None, cost_bps=0.0)
    t = ev["models"]["teacher"]["pooled"]
    assert t["rmse"] == pytest.approx(float(np.sqrt(np.mean((teacher - y) ** 2))))
    assert t["mae"] == pytest.approx(float(np.mean(np.abs(teacher - y))))
    assert ev["models"]["naive"]["pooled"]["rmse"] == pytest.approx(float(np.sqrt(np.mean(y ** 2))))
    dm = ev["models"]["student"]["diebold_mariano_vs_teacher"]
    assert dm["statistic"] > 0 and dm["p_value"] < 0.01  # the worse student is found worse
    # McNemar's test of the two directional accuracies (one asset, h = 1), counted independently.
    moved = y != 0
    right_s, right_t = (np.sign(f[moved]) == np.sign(y[moved]) for f in (student, teacher))
    da = ev["models"]["student"]["directional_accuracy_vs_teacher"]
    assert (da["model1_right_model2_wrong"], da["model2_right_model1_wrong"]) == \
        (int(np.sum(right_s & ~right_t)), int(np.sum(right_t & ~right_s)))
    assert da["p_value_model1_worse"] < 0.05  # the much noisier student calls fewer moves right
    assert "McNemar" in render_forecast_table(ev)
    # Buy-and-hold calls up every period: its directional accuracy is the share of up moves (the
    # benchmark of a drifting market, shown beside the models' in the table: a quant's walk-through).
    assert ev["up_share"] == pytest.approx(float(np.mean(y[moved] > 0)), abs=1e-12)
    row = next(ln for ln in render_forecast_table(ev).splitlines() if ln.startswith("directional accuracy"))
    assert row.startswith("directional accuracy (buy_and_hold: always up, the share of up moves)")
    assert row.split()[-1] == f"{ev['up_share']:.2%}"
    # A perfect-sign forecast long/short without costs earns |simple return| every day, compounded.
    perfect = forecast_evidence(series, {"teacher": y}, cutoff=None, cost_bps=0.0)["trading"]["teacher"]
    expected = float(np.prod(1.0 + np.abs(np.expm1(y))) - 1.0)
    assert perfect["long_short"]["total_return"] == pytest.approx(expected, rel=1e-6)
    assert perfect["long_short"]["hit_rate"] == pytest.approx(1.0)
    assert "teacher" in render_forecast_table(ev) and "buy_and_hold" in render_forecast_table(ev)


def test_bad_options_are_refused_by_name(prices: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="model") as info:
        train_forecaster(prices, model="mlp", config=QUICK, progress=False)
    assert info.value.param == "model"
    with pytest.raises(ConfigError, match="cutoff applies to the direction objective") as info:
        train_forecaster(prices, spec=MarketSpec(window=10), cutoff=0.5, config=QUICK, progress=False)
    assert info.value.param == "cutoff"
    short = write_prices(tmp_path / "short.csv", n=60)
    with pytest.raises(ConfigError, match=r"leaves \d+ labelled training window\(s\)") as info:
        train_forecaster(short, spec=MarketSpec(window=30), config=QUICK, progress=False)
    assert info.value.param == "window"
    # A rolling walk's short training part is --train-window's doing, not --window's (a review, 2026-12-03).
    with pytest.raises(ConfigError, match=r"leaves 5 labelled training window\(s\).*Use a longer --train-window "
                                          r"\(now 5 dates\) or an expanding walk\.") as info:
        train_forecaster(prices, spec=MarketSpec(window=10), walk=WalkForward(scheme="rolling", train_window=5),
                         config=QUICK, progress=False)
    assert info.value.param == "train_window"
    # A window longer than the history cut nothing: the history is what is short (the diff's review).
    with pytest.raises(ConfigError, match=r"Use a longer price history, a shorter window") as info:
        train_forecaster(short, spec=MarketSpec(window=30), walk=WalkForward(scheme="rolling", train_window=500),
                         config=QUICK, progress=False)
    assert info.value.param == "window"
    with pytest.raises(DataError, match="not longer than the horizon"):
        train_forecaster(prices, spec=MarketSpec(window=10, horizon=80), config=QUICK, progress=False)
    with pytest.raises(ConfigError, match="hidden"):
        build_forecaster("gru", 5, 10, "regression", hidden=(0,))


@pytest.mark.slow
def test_lightgbm_on_windows_is_a_forecaster_too(prices: Path, tmp_path: Path) -> None:
    outcome = train_forecaster(prices, spec=MarketSpec(window=10), model="lightgbm", progress=False,
                               gbdt_params={"n_estimators": 20}, out=tmp_path / "gbdt")
    assert outcome.model.kind == "gbdt"
    pooled = outcome.metrics["test"]
    assert pooled["rows"] == len(outcome.data.y_test) and pooled["rmse"] > 0
    assert json.loads((tmp_path / "gbdt" / "manifest.json").read_text())["task"] == "forecast"


def test_panel_evidence_tests_the_per_date_mean_differential(tmp_path: Path) -> None:
    from finlite.evaluate.forecast import diebold_mariano

    frames = []
    for asset, seed in (("A", 1), ("B", 2)):
        frame = pd.read_csv(write_prices(tmp_path / f"{asset}.csv", n=300, seed=seed))
        frames.append(frame.assign(asset=asset))
    spec = MarketSpec(window=10, id_column="asset")
    series = prepare_series(pd.concat(frames, ignore_index=True), spec, walk=WalkForward(folds=2))
    w = series.windows_test
    rng = np.random.default_rng(0)
    teacher = w.y + rng.normal(scale=0.01, size=len(w.y))
    student = teacher + rng.normal(scale=0.002, size=len(w.y))
    evidence = forecast_evidence(series, {"teacher": teacher, "student": student}, cutoff=None)
    dm = evidence["models"]["student"]["diebold_mariano_vs_teacher"]
    # Independent: the mean over assets of each date's squared-loss differential, by pandas.
    d = pd.Series((student - w.y) ** 2 - (teacher - w.y) ** 2).groupby(np.asarray(w.dates)).mean().to_numpy()
    expected = diebold_mariano(np.sqrt(np.maximum(d, 0)), np.sqrt(np.maximum(-d, 0)), spec.horizon)
    assert dm["rows"] == len(d) < len(w.y)
    assert dm["statistic"] == pytest.approx(expected["statistic"], rel=1e-9)
    assert evidence["models"]["teacher"]["pooled"]["diebold_mariano_vs_naive"]["rows"] == len(d)
    # McNemar's test needs independent rows: not run on a panel, whose assets share dates.
    assert "directional_accuracy_vs_teacher" not in evidence["models"]["student"]
    # Two assets a date rank nothing (every date's rank correlation is +1 or -1): no cross-sectional
    # IC; the table says its IC is the pooled one.
    assert evidence["assets"] == 2
    assert not any("cross_sectional_ic" in entry for entry in evidence["models"].values())
    shown = render_forecast_table(evidence)
    assert "information coefficient (pooled over assets and dates)" in shown and "cross-sectional IC" not in shown
    # The table shows each asset's trading view (it was in the JSON only), buy-and-hold beside.
    table = render_forecast_table(evidence).splitlines()
    assert "buy_and_hold" in table[1]
    for asset in ("A", "B"):
        view = evidence["trading_per_asset"][asset]
        (row,) = [line for line in table if line.startswith(f"{asset}: long/flat Sharpe")]
        # Columns: teacher, student, naive (no direction to trade), buy-and-hold.
        assert row.split()[-4:] == [f"{view['teacher']['long_flat']['sharpe']:.4g}",
                                    f"{view['student']['long_flat']['sharpe']:.4g}", "-",
                                    f"{view['buy_and_hold']['sharpe']:.4g}"]
        (row,) = [line for line in table if line.startswith(f"{asset}: long/short turnover")]
        assert row.split()[-1] == "-"  # buy-and-hold does not trade
    # Past TABLE_ASSETS assets, the rest are named by count.
    from finlite.jobs.forecast import TABLE_ASSETS
    many = {**evidence, "trading_per_asset": {f"X{i:02d}": evidence["trading_per_asset"]["A"]
                                             for i in range(TABLE_ASSETS + 2)}}
    text = render_forecast_table(many)
    assert f"X{TABLE_ASSETS - 1:02d}: long/flat Sharpe" in text and f"X{TABLE_ASSETS:02d}:" not in text
    assert "trading view of 2 more asset(s): in --json / report.json" in text
    # An id is the data's: a "|" or a link cannot reshape report.md's table, a control character
    # reaches no terminal (the diff's review, 2026-12-03).
    from finlite.jobs.forecast import render_forecast_markdown
    odd = {**evidence, "trading_per_asset": {"BRK|B": evidence["trading_per_asset"]["A"],
                                             "![x](http://h/p.png)": evidence["trading_per_asset"]["B"],
                                             "X\x1b[31m": evidence["trading_per_asset"]["A"]}}
    md = render_forecast_markdown(odd, title="t")
    header = next(line for line in md.splitlines() if line.startswith("| metric |"))
    # A compress run's warnings come first, before the numbers they qualify (they sat after the
    # whole evidence table: a review, 2026-12-05), fenced as every text of the run.
    warned = render_forecast_markdown(odd, title="t", warning="warning: step 1 (distillation) kept ``` its first")
    assert warned.index("## WARNING") < warned.index("| metric |") and "\n````\nwarning: step 1" in warned
    rows = [line for line in md.splitlines() if "long/flat Sharpe" in line]
    assert len(rows) == 3 and all(line.replace("\\|", "").count("|") == header.count("|") for line in rows)
    assert "](http" not in md and "\x1b" not in md
    assert "X\\x1b[31m: long/flat Sharpe" in render_forecast_table(odd) and "\x1b" not in render_forecast_table(odd)
    # Nor does a character that reverses or hides what the terminal shows (U+202E, U+2028, U+200B).
    hidden = {**evidence, "trading_per_asset": {"A\u202eB\u2028C\u200bD": evidence["trading_per_asset"]["A"],
                                                "B": evidence["trading_per_asset"]["B"]}}
    shown = render_forecast_table(hidden)
    assert "A\\u202eB\\u2028C\\u200bD: long/flat Sharpe" in shown
    assert not any(ch in shown for ch in "\u202e\u2028\u200b")


def test_market_presets_gate_on_forecasting_metrics() -> None:
    from finlite.recipe.presets import load_preset
    from finlite.tasks import get_task

    for name, task in (("markets", "forecast"), ("markets_direction", "direction")):
        recipe = load_preset(name)
        names = {gate.metric for gate in recipe.gates}
        assert {"directional_accuracy", "agreement", "dm_pvalue"} <= names
        get_task(task).check_gates(names, f"preset {name}")  # every gate applies to that task
        assert recipe.steps[0].method.student == "gru"
    assert "rmse" in {gate.metric for gate in load_preset("markets").gates}
    # Volatility never falls below zero: its preset gates on errors and correlation, not on direction.
    volatility = {gate.metric for gate in load_preset("markets_volatility").gates}
    assert volatility == {"rmse", "correlation", "dm_pvalue"}
    get_task("forecast").check_gates(volatility, "preset markets_volatility")


def test_a_tcn_that_cannot_see_its_window_and_a_transformer_of_mixed_widths_are_refused() -> None:
    from finlite.jobs.forecast import build_forecaster

    with pytest.raises(ConfigError, match=r"sees the last 7 rows of each 30-row window.*at least 4 layers") as info:
        build_forecaster("tcn", 12, 30, "regression", (32, 32))
    assert info.value.param == "hidden"
    assert build_forecaster("tcn", 12, 30, "regression").receptive_field >= 30  # the default sees it all
    with pytest.raises(ConfigError, match=r"share one width \(d_model\); hidden=\[64, 32\]"):
        build_forecaster("transformer", 12, 30, "regression", (64, 32))


def test_a_forecast_student_refuses_a_temperature_and_is_matched_with_huber() -> None:
    from finlite.jobs.compress import MARKET_HUBER_DELTA, market_recipe
    from finlite.methods import Distillation, RegressionDistillation

    with pytest.raises(ConfigError, match="no temperature applies") as info:
        market_recipe("forecast", distillation=Distillation(temperature=4.0))
    assert info.value.param == "temperature"
    step = market_recipe("forecast", distillation=Distillation(alpha=0.8)).steps[0].method
    assert isinstance(step, RegressionDistillation) and step.alpha == 0.8 and step.loss == "huber"
    assert step.transfer == "none"
    jittered = Distillation(alpha=0.8, transfer="mixup", transfer_size=3.0, transfer_noise=0.2)
    step = market_recipe("forecast", distillation=jittered).steps[0].method
    assert (step.transfer, step.transfer_size, step.transfer_noise) == ("mixup", 3.0, 0.2)
    default = market_recipe("forecast").steps[0].method
    assert default.alpha == 1.0 and default.loss == "huber" and default.delta == MARKET_HUBER_DELTA
    assert market_recipe("direction").steps[0].method.loss == "mse"  # logits: plain matching
    assert default.weighting == "uniform" and default.transfer == "none"  # volatility, price: as they were


def test_a_given_output_matching_keeps_its_loss_and_a_hint_is_refused() -> None:
    from finlite.jobs.compress import market_recipe
    from finlite.methods import HintDistillation, RegressionDistillation

    given = RegressionDistillation(alpha=0.7, loss="mse", weighting="relative", weighting_floor=0.05, hidden=(64,),
                                   transfer="perturb", transfer_size=2.0, transfer_noise=0.3)
    for task, objective in (("forecast", "return"), ("forecast", "volatility"), ("direction", "direction")):
        method = market_recipe(task, objective=objective, student_hidden=[8], distillation=given).steps[0].method
        assert isinstance(method, RegressionDistillation)
        assert (method.alpha, method.loss, method.weighting, method.weighting_floor) == (0.7, "mse", "relative", 0.05)
        assert (method.transfer, method.transfer_size, method.transfer_noise) == ("perturb", 2.0, 0.3)
        assert (method.student, method.hidden) == ("gru", (8,))
    with pytest.raises(ConfigError, match=r"Hint distillation matches hidden layers of two MLPs; a market "
                                          r"forecaster's student \(task 'forecast'\) is a GRU") as info:
        market_recipe("forecast", objective="return", distillation=HintDistillation())
    assert info.value.param == "distillation"


def test_a_monotone_constraint_needs_soft_target_distillation() -> None:
    from finlite.jobs.compress import _constrained
    from finlite.methods import Distillation, MagnitudePruning, RegressionDistillation
    from finlite.recipe.spec import Recipe, Step

    with pytest.raises(ConfigError, match=r"RegressionDistillation has none\. Use Distillation") as info:
        _constrained(RegressionDistillation(), None, {"age": 1})
    assert info.value.param == "enforce_monotone"
    constrained, _ = _constrained(Distillation(), None, {"age": 1})
    assert isinstance(constrained, Distillation) and constrained.monotone == (("age", 1),)
    only_matching = Recipe(steps=[Step(RegressionDistillation())], gates=[])
    with pytest.raises(ConfigError, match=r"soft-target distillation steps \(method: distillation\), and it has none"):
        _constrained(None, only_matching, {"age": 1})
    mixed = Recipe(steps=[Step(Distillation()), Step(RegressionDistillation())], gates=[])
    with pytest.raises(ConfigError, match=r"recipe step 2 \(regression_distillation\) would train a student "
                                          r"without the constraint"):
        _constrained(None, mixed, {"age": 1})
    pruned = Recipe(steps=[Step(Distillation()), Step(MagnitudePruning(sparsity=0.5))], gates=[])
    _, recipe = _constrained(None, pruned, {"age": 1})
    assert recipe is not None and recipe.steps[0].method.monotone == (("age", 1),)
    assert recipe.steps[1] == pruned.steps[1]


def test_a_return_forecast_student_is_weighted_near_zero_and_sees_jittered_windows() -> None:
    from finlite.jobs.compress import (
        MARKET_HUBER_DELTA,
        MARKET_TRANSFER_NOISE,
        MARKET_TRANSFER_SIZE,
        MARKET_TRANSFER_TRAIN,
        MARKET_WEIGHTING_FLOOR,
        market_recipe,
    )
    from finlite.methods import MagnitudePruning

    recipe = market_recipe("forecast", objective="return", pruning=MagnitudePruning(sparsity=0.25))
    first, prune = recipe.steps
    method = first.method
    assert method.alpha == 1.0 and method.loss == "huber" and method.delta == MARKET_HUBER_DELTA
    assert method.weighting == "relative" and method.weighting_floor == MARKET_WEIGHTING_FLOOR
    assert method.student == "gru"
    assert (method.transfer, method.transfer_size, method.transfer_noise) == ("perturb", MARKET_TRANSFER_SIZE,
                                                                               MARKET_TRANSFER_NOISE)
    assert dict(first.train) == MARKET_TRANSFER_TRAIN
    assert dict(prune.train) == {"batch_size": MARKET_TRANSFER_TRAIN["batch_size"]}
    # A given distillation, and the other objectives, are as they were.
    assert market_recipe("forecast", objective="volatility").steps[0].method.weighting == "uniform"
    assert market_recipe("direction", objective="direction").steps[0].method.transfer == "none"


def test_the_naive_direction_forecast_calls_the_training_majority(prices: Path) -> None:
    series = prepare_series(prices, MarketSpec(window=10, objective="direction"), walk=WalkForward(folds=2))
    y = series.y_test.astype(np.float64)
    share = float(series.windows_test.naive[0])
    p = np.full(len(y), 0.5)
    # A cut-off just above the up share would make the naive forecast call "down"; it calls the majority.
    ev = forecast_evidence(series, {"teacher": p}, cutoff=share + 0.001, cost_bps=0.0)
    majority = 1.0 if share >= 0.5 else 0.0
    assert ev["models"]["naive"]["pooled"]["directional_accuracy"] == pytest.approx(float(np.mean(y == majority)))


def test_the_student_search_refuses_a_forecaster_and_points_at_the_market_presets(tmp_path: Path) -> None:
    from finlite.jobs.search import search_students
    from tests.conftest import build_market_artifact, make_prices

    frame = make_prices()
    source = tmp_path / "prices.csv"
    frame.to_csv(source, index=False)
    teacher = build_market_artifact(tmp_path / "teacher", frame)
    with pytest.raises(ConfigError, match=r"market forecaster; the student search covers models of tables.*markets"):
        search_students(teacher, source, budget_s=1.0)


def test_a_long_panel_gets_fewer_jittered_windows_within_the_memory_cap() -> None:
    from finlite.jobs.compress import MARKET_TRANSFER_BYTES, MARKET_TRANSFER_SIZE, market_recipe, market_transfer_size

    # The S&P 500 (about 3,000 training windows of 30 x 12 values): every copy.
    assert market_transfer_size(3000 * 30 * 12) == MARKET_TRANSFER_SIZE
    # A long panel: as many copies as the jitter's memory allows, in tenths, within the cap ...
    values = 50 * 4000 * 30 * 12  # 50 assets of 4,000 days
    copies = market_transfer_size(values)
    assert 0 < copies < MARKET_TRANSFER_SIZE and copies * values * 4 <= MARKET_TRANSFER_BYTES
    # ... and none when not even one copy fits: the student then distils on the windows alone.
    assert market_transfer_size(MARKET_TRANSFER_BYTES) == 0.0
    method = market_recipe("forecast", objective="return", train_values=MARKET_TRANSFER_BYTES).steps[0].method
    assert method.transfer == "none" and method.weighting == "relative"


def test_the_dm_gate_and_the_report_test_a_horizon_3_forecast_as_the_evidence_does(tmp_path: Path) -> None:
    """An h-step forecaster's dm_pvalue gate (validation, in the recipe runner), the report's fidelity
    and the final gate (test, in compress) run the evaluation's test: at horizon h, per date."""
    from finlite.jobs.compress import compress
    from finlite.models.serialize import weights_nbytes
    from finlite.recipe import Recipe
    from finlite.recipe.runner import run_recipe
    from finlite.tasks import get_task, series_rows

    prices = write_prices(tmp_path / "prices.csv", n=320)
    spec = MarketSpec(window=5, horizon=3)
    outcome = train_forecaster(prices, spec=spec, model="gru", hidden=(4,), config=QUICK, out=tmp_path / "teacher",
                               progress=False)
    data, teacher = outcome.data, outcome.model
    gates = {"dm_pvalue": {"min": 0.0}}
    recipe = Recipe.from_dict({"steps": [{"method": "regression_distillation", "student": "gru", "hidden": [3]}],
                               "gates": gates})
    result = run_recipe(recipe, data, teacher, cutoff=None, seed=0, train=QUICK, fine_tune=QUICK,
                        teacher_bytes=weights_nbytes(teacher))
    assert result.model is not None
    task = get_task("forecast")
    with torch.inference_mode():
        t = teacher.eval()(torch.from_numpy(data.x_val)).numpy().astype(np.float64)
        s = result.model.eval()(torch.from_numpy(data.x_val)).numpy().astype(np.float64)
    y = data.y_val.astype(np.float64)
    at_horizon = task.step_fidelity(t, s, y, None, series_rows(data, "val"))
    assert result.records[0].metrics["dm_pvalue"] == pytest.approx(at_horizon["dm_pvalue"], rel=1e-6)
    assert at_horizon["dm_pvalue"] != pytest.approx(task.step_fidelity(t, s, y, None)["dm_pvalue"], rel=1e-6)

    compressed = compress(tmp_path / "teacher", prices, recipe=recipe, config=QUICK, fine_tune=QUICK,
                          out=tmp_path / "student", timing=False, progress=False)
    report = json.loads((tmp_path / "student" / "report.json").read_text())
    fidelity = report["fidelity"]["diebold_mariano"]
    evidence = report["forecast"]["models"]["student"]["diebold_mariano_vs_teacher"]
    assert fidelity["horizon"] == 3 and fidelity["rows"] == evidence["rows"] == len(data.y_test)
    # The same test on the same forecasts (the evidence scores in float32, hence 1e-6).
    assert fidelity["p_value_model1_worse"] == pytest.approx(evidence["p_value_model1_worse"], rel=1e-6)
    (final,) = compressed.final_gates
    assert final.metric == "dm_pvalue" and final.value == pytest.approx(evidence["p_value_model1_worse"], rel=1e-6)


def test_the_direction_evidence_tests_calls_at_the_cutoff_and_skips_overlapping_horizons(prices: Path) -> None:
    series = prepare_series(prices, MarketSpec(window=10, objective="direction"), walk=WalkForward(folds=2))
    y = series.y_test.astype(np.float64)
    rng = np.random.default_rng(2)
    teacher = np.clip(0.5 + 0.3 * (y - 0.5) + rng.normal(0, 0.1, len(y)), 0.01, 0.99)
    student = np.clip(teacher + rng.normal(0, 0.05, len(y)), 0.01, 0.99)
    cut = 0.55
    ev = forecast_evidence(series, {"teacher": teacher, "student": student}, cutoff=cut)
    right_t, right_s = (teacher >= cut) == (y > 0.5), (student >= cut) == (y > 0.5)
    da = ev["models"]["student"]["directional_accuracy_vs_teacher"]
    assert (da["model1_right_model2_wrong"], da["model2_right_model1_wrong"], da["rows"]) == \
        (int(np.sum(right_s & ~right_t)), int(np.sum(right_t & ~right_s)), len(y))
    # At horizon 2 the outcomes of neighbouring dates overlap: no McNemar test.
    two = prepare_series(prices, MarketSpec(window=10, horizon=2), walk=WalkForward(folds=2))
    y2 = two.y_test.astype(np.float64)
    ev2 = forecast_evidence(two, {"teacher": y2 + rng.normal(0, 0.01, len(y2)), "student": y2}, cutoff=None)
    assert "directional_accuracy_vs_teacher" not in ev2["models"]["student"]
    assert "agreement_vs_teacher" in ev2["models"]["student"]


def test_the_trading_evidence_gives_every_start_day_at_horizon_above_1(prices: Path) -> None:
    """At h > 1 one forecast in h is traded; the evidence (``--json``, ``compress``'s table) traded
    from the first test day only, one of h equally arbitrary start days (the report gave them all:
    a validator's review). Each start day's Sharpe is checked against trading_view by hand."""
    from finlite.evaluate.forecast import buy_and_hold, trading_view

    h = 3
    series = prepare_series(prices, MarketSpec(window=10, horizon=h), walk=WalkForward(folds=2))
    y = series.y_test.astype(np.float64)
    rng = np.random.default_rng(4)
    teacher = y + rng.normal(0, 0.01, len(y))
    ev = forecast_evidence(series, {"teacher": teacher}, cutoff=None, cost_bps=5.0)
    trading = ev["trading"]
    realised = realised_log_returns(series)
    finite = np.flatnonzero(np.isfinite(realised))
    for offset in range(h):
        rows = finite[offset::h]
        view = trading_view(realised[rows], teacher[rows], 5.0, 252.0 / h)
        for strategy in ("long_flat", "long_short"):
            assert trading["teacher"][strategy]["sharpe_start_days"][offset] == \
                pytest.approx(view[strategy]["sharpe"], rel=1e-9)
        assert trading["buy_and_hold"]["sharpe_start_days"][offset] == \
            pytest.approx(buy_and_hold(realised[rows], 5.0, 252.0 / h)["sharpe"], rel=1e-9)
    # The main view is the first start day's, as before.
    assert trading["teacher"]["long_flat"]["sharpe"] == trading["teacher"]["long_flat"]["sharpe_start_days"][0]
    days = trading["teacher"]["long_flat"]["sharpe_start_days"]
    row = next(line for line in render_forecast_table(ev).splitlines()
               if line.startswith("long/flat Sharpe across start days"))
    assert f"{min(days):.4g} to {max(days):.4g} (mean {sum(days) / len(days):.4g})" in row
    # What the headline rows trade is said under the table (the first start day's was read as the book's).
    assert (f"note: the trading rows trade one forecast in {h} from the first test day, one of {h} start days"
            in render_forecast_table(ev))
    from finlite.jobs.forecast import render_forecast_markdown, start_day_note
    assert "every start day's Sharpe" in render_forecast_markdown(ev, title="t")  # not lower-cased
    assert start_day_note({"horizon": h, "trading": {"periods": 1}}) == []  # no trading rows: no note
    # At horizon 1 there is one start day: no range, no row.
    daily = prepare_series(prices, MarketSpec(window=10), walk=WalkForward(folds=2))
    one = forecast_evidence(daily, {"teacher": daily.y_test.astype(np.float64)}, cutoff=None)
    assert "sharpe_start_days" not in one["trading"]["teacher"]["long_flat"]
    assert "across start days" not in render_forecast_table(one) and "start day" not in render_forecast_table(one)


def test_the_evidence_marks_drawdowns_daily_at_horizon_above_1(prices: Path) -> None:
    """Buy-and-hold's drawdown at h = 3 equals one marked on every test date's close, computed here
    from the price file itself (it was read every third date: understated)."""
    h = 3
    series = prepare_series(prices, MarketSpec(window=10, horizon=h), walk=WalkForward(folds=2))
    ev = forecast_evidence(series, {"teacher": series.y_test.astype(np.float64)}, cutoff=None, cost_bps=0.0)
    frame = pd.read_csv(prices, parse_dates=["date"]).sort_values("date")
    close = frame.set_index("date")["close"]
    realised = realised_log_returns(series)
    dates = pd.to_datetime(np.asarray(series.windows_test.dates))
    finite = np.flatnonzero(np.isfinite(realised))
    start, end = dates[finite[0]], dates[finite[::h][-1]]
    held = close[(close.index >= start)]
    held = held.iloc[:held.index.get_loc(end) + h + 1]  # to the last traded period's end
    curve = (held / held.iloc[0]).to_numpy()
    expected = float(np.max(1 - curve / np.maximum.accumulate(curve)))
    assert ev["trading"]["buy_and_hold"]["max_drawdown"] == pytest.approx(expected, rel=1e-9)
    ends = curve[::h]
    assert ev["trading"]["buy_and_hold"]["max_drawdown"] >= float(np.max(1 - ends / np.maximum.accumulate(ends)))
    paths = realised_paths(series)
    assert paths.shape == (len(realised), h) and np.array_equal(paths[finite, -1], realised[finite])


def test_a_short_test_period_is_warned_of_in_the_evidence_and_its_table(prices: Path) -> None:
    """2 windows printed a long/flat return of 423 % a year and a Sharpe of 11 with no warning fit
    for a return forecaster (a quant's walk-through, 2026-12-05)."""
    from finlite.jobs.forecast import THIN_PERIODS, THIN_WINDOWS, thin_warnings

    series = prepare_series(prices, MarketSpec(window=10), walk=WalkForward(folds=2))
    ev = forecast_evidence(series, {"teacher": series.y_test.astype(np.float64)}, cutoff=None)
    assert ("warnings" in ev) is (ev["rows"] < THIN_WINDOWS or ev["trading"]["periods"] < THIN_PERIODS)
    assert thin_warnings({**ev, "rows": 200, "dates": 200, "trading": {**ev["trading"], "periods": 200}}) == []
    short = {**ev, "rows": 29, "dates": 29, "trading": {**ev["trading"], "periods": 29}}
    said = thin_warnings(short)
    assert said[0].startswith("the test period holds 29 labelled window(s); with fewer than 60 its errors")
    # A panel counts its dates: 10 assets on 6 dates are 6 dates of evidence, not 60.
    assert thin_warnings({**short, "rows": 60, "dates": 6})[0].startswith("the test period holds 6 date(s) (60 windows)")
    assert said[1].startswith("the trading view rests on 29 one-step holding period(s); annualised returns and "
                              "Sharpe ratios from fewer than 60 are no evidence")
    table = render_forecast_table({**short, "warnings": said})
    assert table.splitlines()[-2:] == [f"warning: {w}" for w in said]
    panel = {**ev, "rows": 200, "dates": 200, "trading": None, "horizon": 5,
             "trading_per_asset": {"B": {"periods": 12}, "A": {"periods": 70}}}
    assert thin_warnings(panel) == ["the trading views of B (12) rest on fewer than 60 5-step holding periods each; "
                                    "their annualised returns and Sharpe ratios are no evidence of what a strategy "
                                    "earns."]


def test_a_step_that_cannot_work_on_the_teacher_after_a_rollback_is_skipped(prices: Path, tmp_path: Path) -> None:
    """`--preset balanced` on a GRU forecaster: its distillation failed the 99 % gate and was rolled
    back, then step 2 tried to prune the GRU teacher by weights and the run failed with exit 2,
    after the training (a review of the markets path, 2026-12-03). The step is now skipped, and
    the outcome is the gates' (nothing kept, nothing written)."""
    from finlite.jobs.compress import compress
    from finlite.recipe.spec import Recipe

    teacher = tmp_path / "gru"
    train_forecaster(prices, spec=MarketSpec(window=10), model="gru", hidden=(8,), config=QUICK, out=teacher,
                     progress=False)
    recipe = Recipe.from_yaml("steps:\n  - {method: regression_distillation, alpha: 1.0, student: gru, hidden: [4], "
                              "train: {epochs: 1}}\n  - {method: magnitude_pruning, sparsity: 0.5}\n"
                              "gates:\n  rmse: {max_increase: 0}\n  agreement: {min: 1.0}\n", "r.yaml")
    outcome = compress(teacher, prices, recipe=recipe, out=tmp_path / "student", timing=False)
    assert outcome.path is None and not (tmp_path / "student").exists()
    assert [r.status for r in outcome.result.records] == ["rolled_back", "skipped"]
    assert "cannot work on the teacher itself: A 'sequence' forecaster is pruned by whole hidden units" in \
        outcome.result.records[1].info["reason"]
    # Only a method that does not take this kind of model is skipped: a typo in the step (a layer
    # the teacher does not have) still stops the run, rollback or not (the diff's review).
    typo = Recipe.from_yaml("steps:\n  - {method: regression_distillation, alpha: 1.0, student: gru, hidden: [4], "
                            "train: {epochs: 1}}\n  - {method: magnitude_pruning, sparsity: 0.5, granularity: neuron, "
                            "layer_sparsity: {rnn.typo: 0.5}}\n"
                            "gates:\n  rmse: {max_increase: 0}\n  agreement: {min: 1.0}\n", "r.yaml")
    with pytest.raises(ConfigError, match=r"Recipe step 2 \(magnitude_pruning\): layer_sparsity names layer 'rnn\.typo'"):
        compress(teacher, prices, recipe=typo, out=tmp_path / "student", timing=False, overwrite=True)
    # A step kept on the teacher after the rollback (whole units pruned) does not make the model a
    # student: a later step that does not take a GRU is still skipped (a review, 2026-12-03).
    kept = Recipe.from_yaml("steps:\n  - {method: regression_distillation, alpha: 1.0, student: gru, hidden: [64], "
                            "train: {epochs: 1}}\n  - {method: magnitude_pruning, sparsity: 0.25, granularity: neuron}\n"
                            "  - {method: static_int8}\ngates:\n  size_ratio: {min: 1.0}\n", "r.yaml")
    outcome = compress(teacher, prices, recipe=kept, out=tmp_path / "pruned", timing=False)
    assert [r.status for r in outcome.result.records] == ["rolled_back", "kept", "skipped"]


@pytest.mark.parametrize(("given", "message"), [
    ({"hidden": (8,)}, "hidden= sets the layers of a network; a lightgbm teacher has none"),
    ({"config": TrainConfig(epochs=3, batch_size=7)}, "config= sets epochs, batch_size of a network's training"),
])
def test_a_lightgbm_forecaster_refuses_a_networks_settings(given: dict[str, Any], message: str, prices: Path) -> None:
    """They trained without a word, where finlite.train and the CLI refuse them (a review, 2026-12-03)."""
    with pytest.raises(ConfigError, match=message):
        train_forecaster(prices, spec=MarketSpec(window=10), model="lightgbm", progress=False, **given)
    with pytest.raises(ConfigError, match="gbdt_params= sets a LightGBM or XGBoost teacher's parameters; a gru"):
        train_forecaster(prices, spec=MarketSpec(window=10), model="gru", progress=False, gbdt_params={"x": 1})


def test_a_network_kept_at_its_first_epoch_is_warned_of(prices: Path, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """The S&P 500 demo's LSTM ran 9 epochs and kept the first (the same test metrics as a
    3-epoch one); only its manifest said so (a quant's walk-through, 2026-12-05)."""
    import finlite.jobs.forecast as job
    from finlite.errors import FinliteWarning

    assert job.first_epoch_warning({"best_epoch": 3, "epochs_run": 9}) == []
    assert job.first_epoch_warning({"best_epoch": 0, "epochs_run": 1}) == []  # one epoch asked for
    assert job.first_epoch_warning({"params": {}}) == []  # a booster
    said = job.first_epoch_warning({"best_epoch": 0, "epochs_run": 9})
    assert said[0].startswith("early stopping kept the network's first epoch of 9: its validation loss was lowest")
    real = job._train_neural
    monkeypatch.setattr(job, "_train_neural", lambda *a, **k: {**real(*a, **k), "best_epoch": 0, "epochs_run": 9})
    with pytest.warns(FinliteWarning, match="kept the network's first epoch of 9"):
        outcome = train_forecaster(prices, spec=MarketSpec(window=10), model="gru", hidden=(4,), config=QUICK,
                                   out=tmp_path / "gru", progress=False)
    assert outcome.warnings == tuple(said)
    # Kept with the teacher: its report.json and report.md, not only the terminal (a quant's walk-through).
    import json
    saved = json.loads((tmp_path / "gru" / "report.json").read_text())
    assert saved["warnings"] == [f"warning: {said[0]}"]
    text = (tmp_path / "gru" / "report.md").read_text()
    assert text.index("## WARNING") < text.index("| metric |") and "kept the network's first epoch of 9" in text
    from finlite.jobs.evaluate import evaluate_artifact
    assert evaluate_artifact(tmp_path / "gru", prices, timing=False)["training_warnings"] == said
    from typer.testing import CliRunner

    from finlite.cli import app

    result = CliRunner().invoke(app, ["train", str(prices), "--task", "forecast", "--date-column", "date", "--target",
                                      "close", "--model", "gru", "--hidden", "4", "--window", "10", "--epochs", "2",
                                      "--out", str(tmp_path / "cli"), "--quiet"])
    assert result.exit_code == 0, result.output
    assert result.output.count("warning: early stopping kept the network's first epoch of 9") == 1


def test_the_ic_pvalue_gate_tests_the_cross_section_as_the_evidence_does(tmp_path: Path) -> None:
    """``ic_pvalue``: the one-sided p-value of "the student ranks a panel's assets worse than the
    teacher", the t-test of the per-date IC difference, in the recipe runner (validation) and the
    final gate of compress (test), the same number the evidence gives; refused where there is no
    cross-section to rank."""
    from finlite.evaluate.forecast import cross_sectional_ic
    from finlite.jobs.compress import compress
    from finlite.models.serialize import weights_nbytes
    from finlite.recipe import Recipe
    from finlite.recipe.runner import run_recipe
    from finlite.tasks import get_task, series_rows

    frames = [pd.read_csv(write_prices(tmp_path / f"{k}.csv", n=220, seed=k)).assign(asset=f"A{k}") for k in range(6)]
    prices = tmp_path / "panel.csv"
    pd.concat(frames, ignore_index=True).to_csv(prices, index=False)
    spec = MarketSpec(window=5, id_column="asset", objective="direction")
    outcome = train_forecaster(prices, spec=spec, model="gru", hidden=(4,), config=QUICK, out=tmp_path / "teacher",
                               progress=False)
    data, teacher = outcome.data, outcome.model
    recipe = Recipe.from_dict({"steps": [{"method": "distillation", "student": "gru", "hidden": [3]}],
                               "gates": {"ic_pvalue": {"min": 0.0}}})
    cutoff = outcome.operating_point.cutoff if outcome.operating_point is not None else 0.5
    result = run_recipe(recipe, data, teacher, cutoff=cutoff, seed=0, train=QUICK, fine_tune=QUICK,
                        teacher_bytes=weights_nbytes(teacher))
    task = get_task("direction")
    with torch.inference_mode():
        t = task.scores(teacher, data.x_val)
        s = task.scores(result.model, data.x_val)
    rows = series_rows(data, "val")
    assert rows is not None and rows.returns is not None  # a direction panel ranks against the returns
    by_hand = cross_sectional_ic(rows.dates, rows.returns, s, rows.horizon, baseline=t)
    assert result.records[0].metrics["ic_pvalue"] == pytest.approx(1.0 - by_hand["p_value_positive"], rel=1e-6)
    compressed = compress(tmp_path / "teacher", prices, recipe=recipe, config=QUICK, fine_tune=QUICK,
                          out=tmp_path / "student", timing=False, progress=False)
    evidence = json.loads((tmp_path / "student" / "report.json").read_text())["forecast"]["models"]["student"]
    (final,) = compressed.final_gates
    assert final.metric == "ic_pvalue" and final.value == pytest.approx(
        1.0 - evidence["cross_sectional_ic_vs_teacher"]["p_value_positive"], rel=1e-5)
    # A market preset on a universe also gates on ic_pvalue (its other gates would pass a student that
    # ranks the assets worse); a recipe of the user's own, or one asset, is left as it is.
    from finlite.jobs.compress import universe_gate
    from finlite.recipe.presets import load_preset

    preset = load_preset("markets_direction")
    gated = universe_gate(preset, data)
    assert [g.metric for g in gated.gates] == [*(g.metric for g in preset.gates), "ic_pvalue"]
    assert gated.gates[-1].min == 0.05 and universe_gate(gated, data) == gated
    assert universe_gate(recipe, data) is recipe
    single = prepare_series(frames[0].drop(columns="asset"), MarketSpec(window=5, objective="direction"))
    assert universe_gate(preset, single) is preset
    # A user's recipe that is called markets_direction is theirs (it was gated by its name: a review).
    import dataclasses

    own = dataclasses.replace(preset, gates=preset.gates[:1])
    assert own.name == "markets_direction" and universe_gate(own, data) is own
    # Five assets on too few dates for the test (two list late): a gate that could not be judged would
    # refuse the run.
    late = pd.concat([f if k < 4 else f.iloc[-40:] for k, f in enumerate(frames)], ignore_index=True)
    sparse = prepare_series(late, MarketSpec(window=5, id_column="asset", objective="direction"))
    assert universe_gate(preset, sparse) is preset
    from finlite.tasks import SeriesRows, universe_rows

    # The count the gate's test needs: 2h + 2 dates of five assets (three have them here, then four).
    days = np.repeat(np.arange(6), [5, 5, 5, 4, 4, 4])
    assert not universe_rows(SeriesRows(days, 1, None, np.ones(days.size, dtype=bool)))
    more = np.repeat(np.arange(6), [5, 5, 5, 5, 4, 4])
    assert universe_rows(SeriesRows(more, 1, None, np.ones(more.size, dtype=bool)))
    assert not universe_rows(SeriesRows(more, 2, None, np.ones(more.size, dtype=bool)))  # h = 2 needs six
    # One asset: no cross-section, no value, and a gate on it is refused by name.
    one = task.step_fidelity(t[:50], s[:50], data.y_val[:50].astype(np.float64), 0.5)
    assert one["ic_pvalue"] is None
    from finlite.recipe.gates import Gate

    with pytest.raises(ConfigError, match="The gate 'ic_pvalue' cannot be judged"):
        Gate("ic_pvalue", min=0.05).check(one, one)
    # Coins among the stocks: the gate ranks the stocks alone, as the evidence does (it ranked the
    # coins' Friday-to-Saturday beside the stocks' Friday-to-Monday: a review).
    coins = [pd.read_csv(write_prices(tmp_path / f"c{k}.csv", n=300, seed=10 + k)).assign(asset=f"C{k}")
             for k in range(2)]
    for coin in coins:
        coin["date"] = pd.date_range("2020-01-01", periods=len(coin), freq="D").strftime("%Y-%m-%d")
    mixed = prepare_series(pd.concat([*frames, *coins], ignore_index=True), MarketSpec(window=5, id_column="asset"))
    rng = np.random.default_rng(0)
    y = mixed.y_test.astype(np.float64)
    t_m, s_m = y + rng.normal(0, 0.01, y.size), y + rng.normal(0, 0.012, y.size)
    gate = get_task("forecast").step_fidelity(t_m, s_m, y, None, series_rows(mixed, "test"))["ic_pvalue"]
    from finlite.jobs.forecast import forecast_evidence

    vs = forecast_evidence(mixed, {"teacher": t_m, "student": s_m}, cutoff=None)["models"]["student"]
    assert gate == pytest.approx(1.0 - vs["cross_sectional_ic_vs_teacher"]["p_value_positive"], rel=1e-9)


def test_a_volatility_forecast_is_judged_by_qlike_and_its_scale(prices: Path) -> None:
    """At horizon 1 the target is |r|, and a model fitted to it by squared error forecasts E|r|,
    about 0.8 σ: RMSE ranked it first while a 99 % VaR built on it was breached on 4.7 % of days (a
    market-risk walk-through, 2026-12-07). The evidence gives QLIKE and the realised / forecast
    variance, and warns when the forecasts are off scale."""
    from finlite.evaluate.forecast import volatility_metrics
    from finlite.jobs.forecast import VARIANCE_RATIO_WARN, thin_warnings

    rng = np.random.default_rng(5)
    sigma = rng.uniform(0.005, 0.02, 4000)
    realised = np.abs(rng.normal(0, sigma))  # |r| of one day: the h = 1 target
    got = volatility_metrics(realised, sigma)
    ratio = (realised / sigma) ** 2  # by hand
    assert got["qlike"] == pytest.approx(np.mean(ratio - np.log(ratio) - 1), rel=1e-12)
    assert got["variance_ratio"] == pytest.approx(np.mean(realised**2) / np.mean(sigma**2), rel=1e-12)
    assert got["variance_ratio"] == pytest.approx(1.0, abs=0.1)  # σ is the unbiased scale
    low = volatility_metrics(realised, 0.8 * sigma)  # E|r| = 0.8 σ: what squared error learns
    assert low["variance_ratio"] > VARIANCE_RATIO_WARN and low["qlike"] > got["qlike"]
    # A forecast at or below 0 has an infinite loss: no QLIKE, never a better one by leaving it out.
    still = volatility_metrics(np.r_[realised[:10], 0.0], np.r_[sigma[:10], sigma[0]])  # a still day: skipped
    assert still["volatility_rows"] == 10 and still["nonpositive_forecasts"] == 0 and still["qlike"] is not None
    for y_last in (0.0, 0.01):  # a negative volatility is wrong whatever was realised
        wrong = volatility_metrics(np.r_[realised[:9], y_last], np.r_[sigma[:9], -1e-3])
        assert wrong["nonpositive_forecasts"] == 1 and wrong["qlike"] is None
    # In the evidence of a volatility forecaster, and its warning.
    series = prepare_series(prices, MarketSpec(window=10, objective="volatility"), walk=WalkForward(folds=2))
    scaled = np.abs(series.y_test.astype(np.float64)) * 0.5  # half the scale: variance understated 4 times
    ev = forecast_evidence(series, {"teacher": scaled}, cutoff=None)
    pooled = ev["models"]["teacher"]["pooled"]
    assert pooled["variance_ratio"] == pytest.approx(4.0, rel=1e-6) and pooled["qlike"] > 0
    said = [w for w in thin_warnings(ev) if "realised variance" in w]
    assert len(said) == 1 and "understate the test period's realised variance (realised / forecast 4.00): a VaR" \
        in said[0] and "π/2" not in said[0]  # far beyond what E|r| explains
    assert "QLIKE on variance" in render_forecast_table(ev)
    from finlite.jobs.forecast import render_forecast_markdown

    # A volatility is traded by no strategy: its report states no trading costs (a return's does).
    assert "trading costs" not in render_forecast_markdown(ev, title="t")
    returns = prepare_series(prices, MarketSpec(window=10), walk=WalkForward(folds=2))
    assert "trading costs" in render_forecast_markdown(forecast_evidence(
        returns, {"teacher": np.zeros(len(returns.y_test))}, cutoff=None), title="t")
    rms = np.sqrt(np.mean(series.y_test.astype(np.float64) ** 2))
    sigma_like = forecast_evidence(series, {"teacher": np.full(len(series.y_test), rms)}, cutoff=None)
    assert not any("realised variance" in w for w in thin_warnings(sigma_like))  # a forecast of σ: ratio 1
    # A forecast of E|r| (ratio pi/2) is warned of, with the scale that makes it σ.
    abs_like = forecast_evidence(series, {"teacher": np.full(len(series.y_test), rms * np.sqrt(2 / np.pi))},
                                 cutoff=None)
    [said_abs] = [w for w in thin_warnings(abs_like) if "realised variance" in w]
    assert "(realised / forecast 1.57)" in said_abs and "multiply it by 1.253 (√(π/2)) to read it as σ" in said_abs
    # Beyond horizon 1 the same ratio has no such explanation: a forecast of the h-day volatility.
    enough = {"rows": 500, "dates": 500}
    later = [w for w in thin_warnings({**enough, "horizon": 5, "models": {"teacher": {"pooled": {"variance_ratio": 1.6}}}})
             if "realised variance" in w]
    assert len(later) == 1 and "π/2" not in later[0]
    assert not thin_warnings({**enough, "horizon": 5, "models": {"teacher": {"pooled": {"variance_ratio": 1.4}}}})
    below = forecast_evidence(series, {"teacher": np.r_[-1e-3, np.abs(series.y_test[1:].astype(np.float64))]},
                              cutoff=None)
    assert any("1 of the teacher's volatility forecasts are at or below 0" in w for w in thin_warnings(below))


def test_a_volatility_forecaster_is_backtested_as_a_var_beside_riskmetrics_ewma(prices: Path, tmp_path: Path) -> None:
    """A market-risk desk holds a volatility model to RiskMetrics' EWMA and backtests the VaR it
    makes: the evidence has an ``ewma`` column and, per model, the 99 % and 95 % VaR backtests
    (exceptions, the Basel zone, Kupiec's and Christoffersen's tests), every h-th window at h > 1;
    a red zone is warned of. A return forecaster's evidence has neither."""
    from scipy import stats

    from finlite.data.market import ewma_forecasts
    from finlite.jobs.forecast import render_forecast_markdown, thin_warnings

    long = write_prices(tmp_path / "long.csv", n=800)  # a test period of 150 days: a zone at 99 % needs 100
    series = prepare_series(long, MarketSpec(window=10, objective="volatility"), walk=WalkForward(folds=2))
    y = series.y_test.astype(np.float64)
    rms = np.full(len(y), np.sqrt(np.mean(y**2)))
    ev = forecast_evidence(series, {"teacher": rms, "student": 1.1 * rms}, cutoff=None)
    assert list(ev["models"]) == ["teacher", "student", "naive", "ewma"] and ev["ewma_lambda"] == 0.94
    assert "diebold_mariano_vs_teacher" in ev["models"]["student"]
    assert "diebold_mariano_vs_teacher" not in ev["models"]["ewma"]  # a baseline, not a candidate
    # The EWMA forecast, computed independently from the file: pandas' ewm of the squared log returns.
    frame = pd.read_csv(long)
    r2 = np.log(frame["close"]).diff().to_numpy()[1:] ** 2
    head = pd.Series(r2[:20]).expanding().mean().to_numpy()  # the running mean of the first 20, then RiskMetrics
    tail = pd.Series(np.r_[head[-1], r2[20:]]).ewm(alpha=0.06, adjust=False).mean().to_numpy()[1:]
    sigma = np.r_[np.nan, np.sqrt(np.r_[head, tail])]
    at = pd.Index(pd.to_datetime(frame["date"])).get_indexer(pd.to_datetime(series.windows_test.dates))
    np.testing.assert_allclose(ewma_forecasts(series), sigma[at], rtol=1e-10)
    # The teacher's 99 % VaR: exceptions counted directly against the realised one-day returns.
    realised = realised_log_returns(series)
    var99 = ev["models"]["teacher"]["value_at_risk"]["var_99"]
    assert var99["observations"] == len(y) == ev["value_at_risk"]["periods"]
    assert var99["exceptions"] == int(np.sum(realised < -stats.norm.ppf(0.99) * rms))
    assert set(ev["models"]["ewma"]["value_at_risk"]) == {"var_99", "var_95", "es_975"}
    # The 97.5 % expected shortfall's Z2, computed directly (es = σ φ(z) / 0.025).
    es975 = ev["models"]["teacher"]["value_at_risk"]["es_975"]
    z975 = stats.norm.ppf(0.975)
    beyond = realised < -z975 * rms
    z2 = np.sum(realised[beyond] / (rms[beyond] * stats.norm.pdf(z975) / 0.025)) / (len(y) * 0.025) + 1
    assert es975["statistic"] == pytest.approx(z2, rel=1e-9) and es975["exceptions"] == int(beyond.sum())
    assert "97.5 % ES Acerbi–Székely Z2" in render_forecast_table(ev)
    table = render_forecast_table(ev)
    assert "note: ewma is RiskMetrics'" in table and var99["zone"] in ("green", "yellow", "red")
    assert "99 % VaR traffic light (Basel rule)" in table
    row = next(line for line in table.splitlines() if line.startswith("99 % VaR coverage p, exact binomial"))
    assert f"{var99['kupiec']['exact_p']:.4f}" in row
    # 58 periods at 99 % expect 0.58 exceptions: too few for a zone (0 would be "yellow"), said so.
    short = prepare_series(prices, MarketSpec(window=10, objective="volatility"), walk=WalkForward(folds=2))
    few = forecast_evidence(short, {"teacher": np.full(len(short.y_test), 0.01)}, cutoff=None)
    assert few["models"]["teacher"]["value_at_risk"]["var_99"]["zone"] is None
    assert few["models"]["teacher"]["value_at_risk"]["var_95"]["zone"] is not None  # 2.9 expected at 95 %
    assert "too few periods" in next(line for line in render_forecast_table(few).splitlines()
                                     if line.startswith("99 % VaR traffic light (Basel rule)"))
    assert "VaR backtest: VaR = z · forecast" in render_forecast_markdown(ev, title="t")
    # Forecasts far too small: the VaR is breached on most days, red, and said so.
    small = forecast_evidence(series, {"teacher": 0.2 * rms}, cutoff=None)
    [red, red_es] = [w for w in thin_warnings(small) if "red zone" in w]
    assert red_es.startswith("a 97.5 % expected shortfall on the teacher's volatility forecasts is in the red zone "
                             "(Acerbi–Székely Z2 ")
    assert red.startswith("a 99 % VaR on the teacher's volatility forecasts is in the red zone of the Basel traffic "
                          "light (") and small["models"]["teacher"]["value_at_risk"]["var_99"]["zone"] == "red"
    assert not [w for w in thin_warnings(ev) if "red zone" in w and "ewma" in w]  # no warning about a baseline
    # At h = 3 the h-day windows overlap: every third is backtested.
    three = prepare_series(long, MarketSpec(window=10, objective="volatility", horizon=3), walk=WalkForward(folds=2))
    n3 = len(three.y_test)
    ev3 = forecast_evidence(three, {"teacher": np.full(n3, 0.02)}, cutoff=None)
    assert ev3["models"]["teacher"]["value_at_risk"]["var_95"]["observations"] == -(-n3 // 3)
    assert "; one window in 3 of each asset, from its first, so that no two overlap;" in ev3["value_at_risk"]["method"]
    # A panel: each asset backtested, counted by zone, summed; the red ones named in natural order
    # (as text A10 came before A2).
    frames = [pd.read_csv(write_prices(tmp_path / f"v{k}.csv", n=700, seed=k)).assign(asset=f"A{[10, 2, 9][k]}")
              for k in range(3)]
    panel = prepare_series(pd.concat(frames, ignore_index=True),
                           MarketSpec(window=10, objective="volatility", id_column="asset"), walk=WalkForward(folds=2))
    yp = panel.y_test.astype(np.float64)
    evp = forecast_evidence(panel, {"teacher": np.full(len(yp), 0.002)}, cutoff=None)
    tested = evp["models"]["teacher"]["value_at_risk"]["var_99"]
    assert tested["assets"] == 3 and sum(tested["zones"].values()) == 3 and tested["observations"] == len(yp)
    assert tested["red_assets"] == ["A2", "A9", "A10"]  # 0.2 % against a daily 1 %: every asset red
    es_panel = evp["models"]["teacher"]["value_at_risk"]["es_975"]
    assert es_panel["zones"]["red"] == 3 and es_panel["red_assets"] == ["A2", "A9", "A10"]
    assert "green 0, yellow 0, red 3" in render_forecast_table(evp)
    chance = tested["red_by_chance"]
    assert chance["p_value"] < 1e-6  # three of three red is no chance
    assert any("red zone of the Basel traffic light for 3 of 3 assets (A2, A9, A10; the table counts the assets by "
               f"zone; about {chance['expected']:.2g} expected by chance with every forecast right, p "
               f"{chance['p_value']:.2g}): breached far more often than its level" in w for w in thin_warnings(evp))
    # A large panel has some red assets by chance: one red of a thousand is read so, not as the
    # forecasts understating the risk of the panel (22 % of right 1,000-asset panels had one: a review).
    big = copy.deepcopy(evp)
    var = big["models"]["teacher"]["value_at_risk"]["var_99"]
    var.update(assets=1000, zones={"green": 950, "yellow": 49, "red": 1, "too_few_periods": 0}, red_assets=["A7"],
               red_by_chance=red_by_chance([red_probability(250, 0.99)] * 1000, 1))
    es = big["models"]["teacher"]["value_at_risk"]["es_975"]
    es.update(assets=1000, zones={"green": 999, "yellow": 0, "red": 1, "too_few_periods": 0,
                                  "forecasts_at_or_below_0": 0}, red_assets=["A7"],
              red_by_chance=red_by_chance([ES_RED_PROBABILITY] * 1000, 1))
    said = [w for w in thin_warnings(big) if "red zone" in w]
    assert len(said) == 2 and all("no more assets than right forecasts put there by chance" in w for w in said)
    assert not any("Do not scale" in w for w in said)
    # ... unless the red asset is beyond what any asset of the panel shows by chance.
    var["red_by_chance"] = red_by_chance([red_probability(250, 0.99)] * 1000, 1, 1e-40)
    said = [w for w in thin_warnings(big) if "red zone of the Basel" in w]
    assert len(said) == 1 and "Do not scale a VaR by these forecasts" in said[0]
    # A return forecaster has no volatility to backtest.
    returns = prepare_series(prices, MarketSpec(window=10), walk=WalkForward(folds=2))
    plain = forecast_evidence(returns, {"teacher": np.zeros(len(returns.y_test))}, cutoff=None)
    assert "ewma" not in plain["models"] and "value_at_risk" not in plain and "ewma_lambda" not in plain


def test_a_price_level_mape_is_given_for_prices_of_any_size(tmp_path: Path) -> None:
    """A token priced near 3e-9 had every row of its price-level MAPE skipped as "near zero" by the
    returns' threshold (1e-8): no MAPE and no word (a walk-through as an FX quant, 2026-12-07)."""
    frame = pd.read_csv(write_prices(tmp_path / "p.csv"))
    frame["close"] *= 3e-11
    series = prepare_series(frame, MarketSpec(window=10, objective="price"), walk=WalkForward(folds=2))
    y = series.y_test.astype(np.float64)
    levels = forecast_evidence(series, {"teacher": 0.5 * y}, cutoff=None)["models"]["teacher"]["levels"]
    last = series.windows_test.last_price.astype(np.float64)
    actual, forecast = last * np.exp(y), last * np.exp(0.5 * y)
    assert levels["mape_skipped"] == 0
    assert levels["mape"] == pytest.approx(np.mean(np.abs(forecast - actual) / actual), rel=1e-6)


def test_the_table_says_which_calendar_the_trading_rows_are_annualised_with(prices: Path, tmp_path: Path) -> None:
    """periods_per_year and the calendar were in the JSON only: a Sunday-Friday pair's 252 could not
    be seen in the table, report.md or the card (a walk-through as an FX quant, 2026-12-07)."""
    from finlite.jobs.forecast import render_forecast_markdown

    series = prepare_series(prices, MarketSpec(window=10), walk=WalkForward(folds=2))
    ev = forecast_evidence(series, {"teacher": np.full(len(series.y_test), 1e-3)}, cutoff=None)
    said = "the trading rows are annualised with 252 holding periods a year (trading days), from the dates'"
    assert f"note: {said}" in render_forecast_table(ev)
    assert "The" + said[len("the"):] in render_forecast_markdown(ev, title="t")
    coin = pd.read_csv(write_prices(tmp_path / "c.csv", n=300, seed=3)).assign(asset="C")
    stock = pd.read_csv(write_prices(tmp_path / "s.csv", n=300, seed=4)).assign(asset="S")
    coin["date"] = pd.date_range(end=stock["date"].iloc[-1], periods=300, freq="D").strftime("%Y-%m-%d")  # both in the test
    panel = prepare_series(pd.concat([coin, stock], ignore_index=True), MarketSpec(window=10, id_column="asset"),
                           walk=WalkForward(folds=2))
    both = forecast_evidence(panel, {"teacher": np.full(len(panel.y_test), 1e-3)}, cutoff=None)
    assert ("note: the trading rows are annualised with 252 holding periods a year (trading days) for 1 asset(s); 365 "
            "holding periods a year (calendar days, a 7-day market) for 1 asset(s)") in render_forecast_table(both)
    volatility = prepare_series(prices, MarketSpec(window=10, objective="volatility"), walk=WalkForward(folds=2))
    assert "annualised" not in render_forecast_table(forecast_evidence(
        volatility, {"teacher": np.full(len(volatility.y_test), 0.01)}, cutoff=None))  # nothing traded


def test_numeric_asset_ids_are_tabled_by_value() -> None:
    """Ids 7 and 101..106 were tabled 101, ..., 106, 7 (a walk-through as an FX quant, 2026-12-07)."""
    from finlite._util import natural_key

    assert sorted(["106", "7", "101", "EURUSD", "007", "AAPL", "²", "٣"], key=natural_key) == [
        "007", "7", "101", "106", "AAPL", "EURUSD", "²", "٣"]  # digits other than ASCII are names
    # One key for the tables, the flipped cases and the red assets: X49 before X107 in each.
    assert sorted(["X107", "X49", "X5"], key=natural_key) == ["X5", "X49", "X107"]


def test_assets_that_end_inside_the_test_period_are_told_as_a_survivorship_bias() -> None:
    """At h > 1 a delisted stock's last h - 1 dates have no label, so they left the metrics and the
    portfolio books while the stocks still trading stayed: its last moves were never booked, and
    nothing said so (a quant's walk-through, 2026-12-07)."""
    rng = np.random.default_rng(0)
    frames = []
    for k in range(8):
        n = 712 if k >= 6 else 800  # A6 and A7 stop trading inside the test period
        close = 50 * np.exp(np.cumsum(rng.normal(0, 0.015, n)))
        frames.append(pd.DataFrame({"date": pd.bdate_range("2015-01-01", periods=n).strftime("%Y-%m-%d"),
                                    "close": close, "id": f"A{k}"}))
    frame = pd.concat(frames, ignore_index=True)
    series = prepare_series(frame, MarketSpec(window=10, horizon=5, id_column="id"), walk=WalkForward(folds=2))
    evidence = forecast_evidence(series, {"teacher": np.zeros(len(series.y_test))}, cutoff=None)
    last = str(frame.loc[frame["id"] == "A6", "date"].iloc[-1])
    assert evidence["ended_early"] == {"assets": 2, "windows": 8, "first": [
        {"asset": "A6", "last_date": last}, {"asset": "A7", "last_date": last}]}
    [said] = [w for w in evidence["warnings"] if "stop before the others of their calendar" in w]
    assert said.startswith(f"2 asset(s) stop before the others of their calendar, inside the test period ('A6' on "
                           f"{last}, 'A7' on {last}): at horizon 5 their last dates have no price 5 rows ahead, so 8 "
                           "window(s)")
    json.dumps(evidence, allow_nan=False)  # plain JSON
    # At horizon 1 nothing is left out that was known; nor when every asset runs to the file's end.
    one = prepare_series(frame, MarketSpec(window=10, horizon=1, id_column="id"), walk=WalkForward(folds=2))
    assert "ended_early" not in forecast_evidence(one, {"teacher": np.zeros(len(one.y_test))}, cutoff=None)
    full = frame[frame["id"] < "A6"]
    whole = prepare_series(full, MarketSpec(window=10, horizon=5, id_column="id"), walk=WalkForward(folds=2))
    assert "ended_early" not in forecast_evidence(whole, {"teacher": np.zeros(len(whole.y_test))}, cutoff=None)
    # Missing only the file's last day (a local holiday): one window out, not four; and stocks
    # that end on a Friday beside a coin trading on to the Sunday are not taken for delisted (a
    # review, 2026-12-07).
    ragged = full[~((full["id"] == "A0") & (full["date"] == full["date"].max()))]
    one_day = prepare_series(ragged, MarketSpec(window=10, horizon=5, id_column="id"), walk=WalkForward(folds=2))
    told = forecast_evidence(one_day, {"teacher": np.zeros(len(one_day.y_test))}, cutoff=None)["ended_early"]
    assert told == {"assets": 1, "windows": 1, "first": [{"asset": "A0", "last_date": str(ragged["date"][
        ragged["id"] == "A0"].max())}]}
    days = pd.date_range("2015-01-01", "2018-02-04")  # a Sunday
    coin = pd.DataFrame({"date": days.strftime("%Y-%m-%d"),
                         "close": 50 * np.exp(np.cumsum(rng.normal(0, 0.03, len(days)))), "id": "COIN"})
    stocks = full[full["date"] <= "2018-02-02"]  # every stock to the Friday
    mixed = prepare_series(pd.concat([stocks, coin], ignore_index=True),
                           MarketSpec(window=10, horizon=5, id_column="id"), walk=WalkForward(folds=2))
    assert "ended_early" not in forecast_evidence(mixed, {"teacher": np.zeros(len(mixed.y_test))}, cutoff=None)


def test_strict_refuses_a_price_file_with_an_unadjusted_split_before_training(tmp_path: Path) -> None:
    """A nightly job trained on an unadjusted split with exit 0, and no option could stop it:
    --strict was refused for a price file (a quant's walk-through, 2026-12-07). With strict the
    alarms (split-like moves, tenfold jumps, stale runs, long gaps, mixed frequencies) refuse the
    file, listed together, before anything is trained or written; without it they are notes."""
    from typer.testing import CliRunner

    from finlite.cli import app

    clean = write_prices(tmp_path / "clean.csv")
    frame = pd.read_csv(clean)
    frame.loc[200:, "close"] /= 2.0  # a 2:1 split the file was not adjusted for
    frame.loc[100:110, "close"] = frame.loc[99, "close"]  # and a stale feed
    frame.to_csv(tmp_path / "split.csv", index=False)
    spec = MarketSpec(window=10)
    with pytest.raises(DataError, match=r"^2 problem\(s\) with the prices of .*split\.csv, refused \(strict\): column "
                                        r"'close' moves by 1\.4-fold or more .*the ratio of a 2:1 split.* \| column "
                                        r"'close' holds the same value on 5 or more consecutive rows") as info:
        train_forecaster(tmp_path / "split.csv", spec=spec, model="gru", hidden=(4,), config=QUICK,
                         out=tmp_path / "refused", progress=False, strict=True)
    assert info.value.param == "strict" and not (tmp_path / "refused").exists()
    told = train_forecaster(tmp_path / "split.csv", spec=spec, model="gru", hidden=(4,), config=QUICK, progress=False)
    assert any("the ratio of a 2:1 split" in n for n in told.data.table.notes)
    train_forecaster(clean, spec=spec, model="gru", hidden=(4,), config=QUICK, progress=False, strict=True)
    result = CliRunner().invoke(app, ["train", str(tmp_path / "split.csv"), "--task", "forecast", "--target", "close",
                                      "--model", "gru", "--hidden", "4", "--epochs", "1", "--window", "10",
                                      "--strict", "--out", str(tmp_path / "cli"), "--quiet"])
    assert result.exit_code == 2 and "refused (strict)" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "cli").exists()
