"""Monotonicity: --monotone parsing, a booster's own constraints, and violation counts checked by hand."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch

from finlite.data import prepare
from finlite.data.prepared import PreparedData
from finlite.errors import ConfigError
from finlite.evaluate.monotone import (
    GRID_POINTS,
    booster_constraints,
    build_monotonicity,
    grid_sweep,
    parse_monotone,
    shift_violations,
)
from finlite.evaluate.sections import ScoredModel, TabularInputs
from finlite.models import BoostedEnsemble, LogisticRegression, build_model

AGE = "age_in_years"


@pytest.fixture(scope="module")
def data(german: pd.DataFrame) -> PreparedData:
    return prepare(german, target="creditability")


def test_parse_monotone_forms() -> None:
    assert parse_monotone("age:+,utilisation:-") == {"age": 1, "utilisation": -1}
    assert parse_monotone(" age : +1 , util:-1 ") == {"age": 1, "util": -1}
    assert parse_monotone("a:b:+") == {"a:b": 1}  # the sign follows the last colon


@pytest.mark.parametrize(("text", "match"), [
    ("age", r"--monotone item 'age' is not COLUMN:\+ or COLUMN:-; write COLUMN:\+ or COLUMN:- items"),
    ("age:up", r"--monotone item 'age:up' is not COLUMN:\+ or COLUMN:-"),
    (":+", r"--monotone item ':\+' is not"),
    ("age:+,,x:-", r"--monotone item '' is not"),
    ("age:+,age:-", r"--monotone names column 'age' twice"),
    ("  ", r"--monotone takes COLUMN:\+ or COLUMN:- items"),
])
def test_parse_monotone_errors(text: str, match: str) -> None:
    with pytest.raises(ConfigError, match=match) as err:
        parse_monotone(text)
    assert err.value.param == "monotone"


def test_booster_constraints_map_to_raw_numeric_columns(data: PreparedData) -> None:
    import lightgbm as lgb
    import xgboost as xgb

    names = data.preprocessor.feature_names
    signs = [0] * len(names)
    signs[names.index(AGE)] = -1
    signs[names.index("duration_in_month")] = 1
    signs[-1] = 1  # a one-hot column: no raw number to report it on
    booster = lgb.train({"objective": "binary", "verbose": -1, "monotone_constraints": signs, "num_leaves": 4},
                        lgb.Dataset(data.x_train, data.y_train), num_boost_round=5)
    expected = {AGE: -1, "duration_in_month": 1}
    model = BoostedEnsemble.from_booster("lightgbm", booster)
    assert booster_constraints(model, data.preprocessor) == expected
    # Read back from the bytes an artifact stores: LightGBM keeps its parameters in its text.
    reloaded = BoostedEnsemble("lightgbm", model.booster.numel())
    reloaded.load_state_dict(model.state_dict())
    assert booster_constraints(reloaded, data.preprocessor) == expected
    xbooster = xgb.train({"objective": "binary:logistic", "max_depth": 2,
                          "monotone_constraints": "(" + ",".join(map(str, signs)) + ")"},
                         xgb.DMatrix(data.x_train, label=data.y_train), num_boost_round=5)
    xmodel = BoostedEnsemble.from_booster("xgboost", xbooster)
    assert booster_constraints(xmodel, data.preprocessor) == expected
    # XGBoost's saved model drops its training parameters: the ensemble records them, so an
    # artifact read back (config + tensors) still knows them; the bytes alone do not.
    rebuilt = build_model(xmodel.config())
    rebuilt.load_state_dict(xmodel.state_dict())
    assert booster_constraints(rebuilt, data.preprocessor) == expected
    from_bytes = xgb.Booster()
    from_bytes.load_model(bytearray(xbooster.save_raw("ubj")))
    assert booster_constraints(BoostedEnsemble.from_booster("xgboost", from_bytes), data.preprocessor) == {}
    with pytest.raises(ConfigError, match=r"monotone"):
        BoostedEnsemble("xgboost", 10, monotone=[2])
    free = lgb.train({"objective": "binary", "verbose": -1}, lgb.Dataset(data.x_train, data.y_train), 3)
    assert booster_constraints(BoostedEnsemble.from_booster("lightgbm", free), data.preprocessor) == {}
    assert booster_constraints(LogisticRegression(3), data.preprocessor) == {}


def _decreasing(frame: pd.DataFrame) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(frame["v"].to_numpy(dtype=float)))


def test_shift_and_grid_counts_by_hand() -> None:
    frame = pd.DataFrame({"v": [0.0, 1.0, 5.0, np.nan, 2.0]})
    values = frame["v"].to_numpy()
    evaluated, wrong = shift_violations(_decreasing, frame, "v", values, sign=1, step=1.0, high=5.0)
    # Row 2 is at the maximum, row 3 missing: neither can rise. The others all fall (wrong for +).
    assert evaluated.tolist() == [True, True, False, False, True]
    assert wrong.tolist() == [True, True, False, False, True]
    _, wrong_minus = shift_violations(_decreasing, frame, "v", values, sign=-1, step=1.0, high=5.0)
    assert not wrong_minus.any()
    grid = np.array([0.0, 1.0, 1.0, 3.0])
    curve, steps = grid_sweep(_decreasing, frame, "v", grid, sign=1)
    # Two of the three steps fall; the flat one (1 → 1) is no violation.
    assert steps.tolist() == [2] * 5
    np.testing.assert_allclose(curve, 1.0 / (1.0 + np.exp(grid)))


def _quantised(frame: pd.DataFrame) -> np.ndarray:
    """An increasing score in v with int8-like jitter: each row's score is rounded on its own
    (per-row dynamic) grid, so a small rise of v can step the score down by ~1e-5 in probability."""
    v = frame["v"].to_numpy(dtype=float)
    p = 1.0 / (1.0 + np.exp(-0.001 * v))
    jitter = 2e-5 * np.sin(1e4 * v)  # deterministic quantisation noise, ~8e-5 in log-odds at most
    return np.asarray(p + jitter)


def test_quantisation_noise_is_not_a_violation_but_a_real_wrong_way_move_is() -> None:
    """Tolerance in log-odds (R2 item 10): moves of ~1e-5 in probability (1e-4 in log-odds), which
    the old absolute 1e-6 counted, are not violations; a wrong-way move of 0.01 in log-odds is."""
    from finlite.evaluate.monotone import TOLERANCE

    assert TOLERANCE == 1e-3
    frame = pd.DataFrame({"v": np.linspace(0.0, 1.0, 200)})
    values = frame["v"].to_numpy()
    before, after = _quantised(frame), _quantised(frame.assign(v=values + 0.001))
    assert ((after - before) < -1e-6).sum() > 10  # the old rule: many violations
    _, wrong = shift_violations(_quantised, frame, "v", values, sign=1, step=0.001, high=10.0)
    assert not wrong.any()

    def real(f: pd.DataFrame) -> np.ndarray:  # falls by 0.01 in log-odds per unit of v
        return np.asarray(1.0 / (1.0 + np.exp(0.01 * f["v"].to_numpy(dtype=float))))

    _, wrong = shift_violations(real, frame, "v", values, sign=1, step=1.0, high=10.0)
    assert wrong.all()
    # 0.0005 in log-odds (under the tolerance) at a fraud-like score of 0.2 %: no violation.
    def tiny(f: pd.DataFrame) -> np.ndarray:
        return np.asarray(1.0 / (1.0 + np.exp(6.2 + 0.0005 * f["v"].to_numpy(dtype=float))))

    _, wrong = shift_violations(tiny, frame, "v", values, sign=1, step=1.0, high=10.0)
    assert not wrong.any()


def test_float32_rounding_near_a_score_of_one_is_not_a_violation() -> None:
    """Near p = 1 one float32 step is more than 1e-3 in log-odds: a wrong-way logit move of 1e-4,
    rounded to float32, must not count; a move of 0.5 in log-odds there still does."""
    frame = pd.DataFrame({"v": np.linspace(0.0, 1.0, 2001)})
    values = frame["v"].to_numpy()
    logit = 9.0 + 3.0 * values

    def rounded(shift: float) -> Any:
        def score(f: pd.DataFrame) -> np.ndarray:
            z = logit - shift * (f["v"].to_numpy(dtype=float) != values)  # a wrong-way move of `shift`
            return np.asarray(1.0 / (1.0 + np.exp(-z)), dtype=np.float32).astype(np.float64)
        return score

    _, wrong = shift_violations(rounded(1e-4), frame, "v", values, sign=1, step=1e-9, high=10.0)
    assert not wrong.any()
    _, wrong = shift_violations(rounded(0.5), frame, "v", values, sign=1, step=1e-9, high=10.0)
    assert wrong[logit < 11].all()  # material where float32 still resolves it


def _logistic(data: PreparedData, age_weight: float) -> LogisticRegression:
    model = LogisticRegression(data.preprocessor.n_features)
    with torch.no_grad():
        model.linear.weight.zero_()
        model.linear.weight[0, data.preprocessor.feature_names.index(AGE)] = age_weight
        model.linear.weight[0, data.preprocessor.feature_names.index("duration_in_month")] = 0.5
        model.linear.bias.fill_(-1.0)
    return model.eval()


def _scored(name: str, model: Any, data: PreparedData) -> ScoredModel:
    pre = data.preprocessor

    def score(frame: pd.DataFrame) -> np.ndarray:
        with torch.no_grad():
            return torch.sigmoid(model(torch.from_numpy(pre.transform(frame)))).double().numpy()

    test = data.frame.iloc[data.split.test]
    return ScoredModel(name=name, model=model, preprocessor=pre, scores_test=score(test), scores_train=None,
                       score_frame=score, encode=lambda f: pre.transform(f))


def _inputs(data: PreparedData, teacher: Any, student: Any, monotone: dict[str, int]) -> TabularInputs:
    test = data.frame.iloc[data.split.test].reset_index(drop=True)
    train = data.frame.iloc[data.split.train].reset_index(drop=True)
    return TabularInputs(task="binary", cutoff=0.3, teacher=_scored("teacher", teacher, data),
                         student=_scored("student", student, data), y_test=data.y_test, y_train=data.y_train,
                         test_frame=test, train_frame=train, ids=np.arange(1, len(test) + 1), id_name="row",
                         numeric=list(data.schema.numeric), categorical=list(data.schema.categorical),
                         positive="bad", seed=0, monotone=monotone)


def test_section_counts_and_status(data: PreparedData) -> None:
    up, down = _logistic(data, 0.8), _logistic(data, -0.8)
    test_age = data.frame.iloc[data.split.test][AGE].to_numpy(dtype=float)
    train_age = data.frame.iloc[data.split.train][AGE].to_numpy(dtype=float)
    can_rise = int(np.sum(test_age < train_age.max()))
    distinct_steps = int(np.sum(np.diff(np.quantile(train_age, np.linspace(0, 1, GRID_POINTS))) > 0))

    section = build_monotonicity(_inputs(data, up, down, {AGE: 1}))
    assert section.id == "monotonicity" and section.status == "FAIL"
    m = section.metrics["columns"][AGE]
    assert m["teacher"]["test_rows"] == m["student"]["test_rows"] == can_rise
    assert m["teacher"]["test_violations"] == 0 and m["student"]["test_violations"] == can_rise
    # Every step between distinct quantiles falls for the student, on each of the grid rows.
    assert m["student"]["grid_violating_steps"] == distinct_steps * m["student"]["grid_rows"]
    assert m["student_only_test_rate"] == 1.0
    assert m["step"] == pytest.approx(train_age.std())
    assert len(section.plots) == 1 and len(section.plots[0].series[0].x) == GRID_POINTS
    json.dumps(section.to_dict(), allow_nan=False)

    assert build_monotonicity(_inputs(data, up, up, {AGE: 1})).status == "PASS"
    # Both break the declared direction the same way: no new violations, still a warning.
    warned = build_monotonicity(_inputs(data, down, down, {AGE: 1, "duration_in_month": 1}))
    assert warned.status == "WARN" and warned.metrics["student_only_rate_max"] == 0.0
    assert warned.metrics["columns"]["duration_in_month"]["teacher"]["test_violations"] == 0
    # The summary names who moved the wrong way, on which column: not every declared column (it
    # listed duration_in_month, which no model violates: a validator's walk-through, 2026-12-06).
    n = m["teacher"]["test_rows"]
    assert f"the teacher moves against it in {AGE} (+) on {n:,} of {n:,} test row(s)" in warned.summary
    assert f"the student moves against it in {AGE} (+)" in warned.summary
    assert "duration_in_month (+) on" not in warned.summary
    # Only the teacher moves the wrong way: the deployed student is monotone, so PASS, and the
    # teacher's violations are named as its own (the card listed them among the student's limitations).
    teacher_only = build_monotonicity(_inputs(data, down, up, {AGE: 1}))
    assert teacher_only.status == "PASS", teacher_only.summary
    assert teacher_only.summary.startswith("The student never moves against the declared direction")
    assert "the teacher moves against it in" in teacher_only.summary and "(the teacher's, not the student's)" in \
        teacher_only.summary


def test_section_refuses_bad_declarations(data: PreparedData) -> None:
    model = _logistic(data, 0.8)
    with pytest.raises(ConfigError, match=r"needs declared columns"):
        build_monotonicity(_inputs(data, model, model, {}))
    with pytest.raises(ConfigError, match=r"'purpose', which is not a numeric column"):
        build_monotonicity(_inputs(data, model, model, {"purpose": 1}))
    with pytest.raises(ConfigError, match=r"sign 2; use \+ \(1\) or - \(-1\)"):
        build_monotonicity(_inputs(data, model, model, {AGE: 2}))
