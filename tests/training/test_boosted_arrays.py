"""LightGBM / XGBoost teachers on windows of a series: regression (the forecast itself) and binary
(the direction), early stopping on the validation rows, blocked out-of-fold outputs."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from finlite._booster_check import check_booster
from finlite.errors import ConfigError, DataError
from finlite.models import build_model
from finlite.models.gbdt import BoostedEnsemble
from finlite.tasks import get_task, task_of_model
from finlite.training.boosted import blocked_folds, fit_boosted_arrays

# Few, shallow trees: the same kind of model as a real teacher, trained in well under a second.
QUICK = {"lightgbm": {"learning_rate": 0.3, "num_leaves": 7, "min_data_in_leaf": 20},
         "xgboost": {"eta": 0.3, "max_depth": 3}}


def _windows(n: int = 600, window: int = 8, features: int = 3, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Windows whose label depends on the last two steps (a lag the trees must find)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, window, features)).astype(np.float32)
    y = (0.6 * x[:, -1, 0] - 0.4 * x[:, -2, 1] + rng.normal(scale=0.3, size=n)).astype(np.float32)
    return x, y


def test_blocked_folds_hold_out_contiguous_blocks_and_purge_their_edges() -> None:
    folds = blocked_folds(10, 2, purge=1)
    assert [held.tolist() for _, held in folds] == [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9]]
    assert [train.tolist() for train, _ in folds] == [[6, 7, 8, 9], [0, 1, 2, 3]]
    middle = blocked_folds(9, 3, purge=2)[1]
    assert middle[1].tolist() == [3, 4, 5] and middle[0].tolist() == [0, 8]
    assert sorted(np.concatenate([h for _, h in blocked_folds(11, 4)]).tolist()) == list(range(11))


def test_blocked_folds_by_date_hold_every_assets_rows_of_a_date_and_purge_by_label_interval() -> None:
    days = np.arange("2020-01-01", "2020-02-10", dtype="datetime64[D]")  # 40 dates
    h = 2
    # One asset, daily: the date-based folds with exact label ends are the row-based ones.
    single = blocked_folds(28, 3, purge=h, dates=days[:28], label_end=days[h:28 + h])
    for (train, held), (train_rows, held_rows) in zip(single, blocked_folds(28, 3, purge=h), strict=True):
        assert held.tolist() == held_rows.tolist() and train.tolist() == train_rows.tolist()
    # Two assets in (asset, date) order; the second trades every other day (a sparser calendar).
    dates = np.concatenate([days[:28], days[:28:2]])
    ends = np.concatenate([days[h:28 + h], days[2 * h:28 + 2 * h:2]])
    folds = blocked_folds(len(dates), 3, dates=dates, label_end=ends)
    held_all = np.concatenate([held for _, held in folds])
    assert sorted(held_all.tolist()) == list(range(len(dates)))  # every row held exactly once
    for train, held in folds:
        # A block holds every asset's rows of its dates: no model scores a date it learned.
        assert not set(dates[train].tolist()) & set(dates[held].tolist())
        assert set(np.flatnonzero(np.isin(dates, dates[held])).tolist()) == set(held.tolist())
        # No training label interval [date, end] meets the block's [first date, last label end].
        first, last = dates[held].min(), ends[held].max()
        assert ((ends[train] < first) | (dates[train] > last)).all()
        assert len(train) > 0
    # The row-based folds would cut the panel by asset: asset 2's early dates held with asset 1's
    # late ones, each scored by a model that learned the other asset's outcome of the same dates.
    by_row = blocked_folds(len(dates), 3)
    assert any(set(dates[train].tolist()) & set(dates[held].tolist()) for train, held in by_row)
    with pytest.raises(ConfigError, match=r"one date \(and label end\) per row"):
        blocked_folds(5, 2, dates=days[:4])


# XGBoost's out-of-fold refits are the slow part on two shared cores; LightGBM covers them.
@pytest.mark.parametrize(("library", "folds"), [("lightgbm", 3), ("xgboost", None)])
def test_a_regression_teacher_on_windows_forecasts_and_round_trips(library: str, folds: int | None) -> None:
    x, y = _windows()
    model = fit_boosted_arrays(x[:400], y[:400], x[400:500], y[400:500], library=library, objective="regression",
                               seed=0, params=QUICK[library], folds=folds, purge=1)
    config = model.config()
    assert config["window"] == 8 and config["objective"] == "regression" and config["oof_folds"] == (folds or 0)
    assert task_of_model(model) == "regression" and model.trees > 0
    forecast = get_task("forecast").scores(model, x[500:])  # identity link: the forecast itself
    np.testing.assert_allclose(forecast, model.logits_np(x[500:]))
    assert np.corrcoef(forecast, y[500:])[0, 1] > 0.6  # it found the lags
    # Out-of-fold outputs come from models that never saw the rows: they fit worse than in-sample.
    oof = model.oof_logits
    if folds is None:
        assert oof is None
    else:
        assert oof is not None and oof.shape == (400,)
        in_sample = model.logits_np(x[:400])
        assert np.mean((oof - y[:400]) ** 2) > np.mean((in_sample - y[:400]) ** 2)
    # The stored booster is checked as what it is: a regression, which a binary check refuses.
    raw = bytes(model.booster.numpy().tobytes())
    assert check_booster(raw, "the forecaster", "regression") == library
    with pytest.raises(ConfigError, match="finlite needs a binary classifier"):
        check_booster(raw, "the forecaster")
    # Config + tensors rebuild the same model (nothing pickled).
    again = build_model(config)
    again.load_state_dict(model.state_dict())
    assert isinstance(again, BoostedEnsemble) and again.window == 8 and again.objective == "regression"
    np.testing.assert_array_equal(again(torch.from_numpy(x[500:])).numpy(), model(torch.from_numpy(x[500:])).numpy())


def test_a_binary_teacher_on_windows_outputs_log_odds() -> None:
    x, y = _windows(seed=1)
    up = (y > 0).astype(np.float32)
    model = fit_boosted_arrays(x[:400], up[:400], x[400:500], up[400:500], objective="binary", seed=0,
                               params=QUICK["lightgbm"], folds=None)
    assert model.oof_logits is None and model.config()["oof_folds"] == 0 and task_of_model(model) == "binary"
    p = get_task("direction").scores(model, x[500:])
    np.testing.assert_allclose(p, 1 / (1 + np.exp(-model.logits_np(x[500:]))), rtol=1e-6)
    assert np.mean((p >= 0.5) == (up[500:] == 1)) > 0.7


def test_array_teacher_errors_name_the_problem() -> None:
    x, y = _windows(n=120)
    with pytest.raises(ConfigError, match=r"0/1 labels of both classes in the training rows") as info:
        fit_boosted_arrays(x[:80], y[:80], x[80:], y[80:], objective="binary")
    assert info.value.param == "objective"
    with pytest.raises(ConfigError, match="'objective' parameter must be 'regression'"):
        fit_boosted_arrays(x[:80], y[:80], x[80:], y[80:], objective="poisson")
    bad = y.copy()
    bad[5] = np.nan
    with pytest.raises(DataError, match=r"training rows hold NaN or infinite values \(row 5, 1 row"):
        fit_boosted_arrays(x[:80], bad[:80], x[80:], y[80:])
    with pytest.raises(DataError, match="validation rows have another shape"):
        fit_boosted_arrays(x[:80], y[:80], x[80:, :4], y[80:])
    with pytest.raises(ConfigError, match="'purge' parameter"):
        fit_boosted_arrays(x[:80], y[:80], x[80:], y[80:], purge=-1)
    with pytest.raises(ConfigError, match="20 out-of-fold folds with a purge of 3 rows leave too few"):
        fit_boosted_arrays(x[:80], y[:80], x[80:], y[80:], folds=20, purge=3)
    model = fit_boosted_arrays(x[:80], y[:80], x[80:], y[80:], params=QUICK["lightgbm"], folds=None)
    with pytest.raises(ConfigError, match="reads windows of 8 steps; got windows of 5"):
        model.logits_np(x[:3, :5])
    with pytest.raises(ConfigError, match="'window' parameter of BoostedEnsemble"):
        BoostedEnsemble("lightgbm", 10, window=0)
