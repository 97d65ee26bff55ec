"""Walk-forward splits: parts ordered in time, purge and embargo keep labels apart, test = the last
20 % of dates, several assets' rows of one date in one part, nonsense settings refused."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from finlite.data.walkforward import WalkForward, walk_forward
from finlite.errors import ConfigError, DataError


def business_dates(n: int, start: str = "2010-01-04") -> np.ndarray:
    return pd.bdate_range(start, periods=n).to_numpy().astype("datetime64[D]")


def date_index(dates: np.ndarray) -> np.ndarray:
    return np.unique(dates, return_inverse=True)[1]


@pytest.mark.parametrize("horizon", [1, 5])
@pytest.mark.parametrize("scheme", ["expanding", "rolling"])
@pytest.mark.parametrize("embargo", [0, 3])
def test_no_training_label_reaches_a_later_part(horizon: int, scheme: str, embargo: int) -> None:
    dates = business_dates(500)
    split = walk_forward(dates, horizon, WalkForward(scheme=scheme, folds=3, embargo=embargo))  # type: ignore[arg-type]
    idx = date_index(dates)
    assert split.gap == horizon + embargo
    for train, val in split.folds:
        # The label window of a training row t is [t, t + h]; it must end before the validation
        # block starts, and before the test period, with the embargo on top.
        assert idx[train].max() + horizon + embargo < idx[val].min()
        assert idx[val].max() + horizon + embargo < idx[split.test].min()
    assert idx[split.train].max() + horizon + embargo == idx[split.validation].min() - 1
    first_train, first_val = split.folds[0]
    assert np.unique(idx[first_train]).size >= np.unique(idx[first_val]).size
    # The last fold is the (train, validation) pair.
    np.testing.assert_array_equal(split.folds[-1][0], split.train)
    np.testing.assert_array_equal(split.folds[-1][1], split.validation)


def test_test_period_is_the_last_fifth_of_dates_and_parts_are_in_order() -> None:
    dates = business_dates(1000)
    split = walk_forward(dates, 1, WalkForward())
    assert len(split.test) == 200
    np.testing.assert_array_equal(split.test, np.arange(800, 1000))
    starts = [int(val.min()) for _, val in split.folds]
    assert starts == sorted(starts) and len(set(starts)) == 3
    # Validation blocks follow each other without overlap, and the test blocks tile the test period.
    for (_, a), (_, b) in zip(split.folds, split.folds[1:], strict=False):
        assert a.max() < b.min()
    np.testing.assert_array_equal(np.concatenate(split.test_folds), split.test)
    assert len(split.test_folds) == 3
    assert split.sizes() == {"train": len(split.train), "validation": len(split.validation), "test": 200}


def test_expanding_grows_and_rolling_keeps_the_training_length() -> None:
    dates = business_dates(600)
    expanding = walk_forward(dates, 2, WalkForward(scheme="expanding"))
    rolling = walk_forward(dates, 2, WalkForward(scheme="rolling"))
    fixed = walk_forward(dates, 2, WalkForward(scheme="rolling", train_window=50))
    grow = [len(t) for t, _ in expanding.folds]
    assert grow == sorted(grow) and grow[0] < grow[-1]
    assert all(int(t.min()) == 0 for t, _ in expanding.folds)
    assert {len(t) for t, _ in rolling.folds} == {grow[0]}  # as long as the first expanding fold
    assert {len(t) for t, _ in fixed.folds} == {50}
    for (t_e, v_e), (t_r, v_r) in zip(expanding.folds, fixed.folds, strict=True):
        np.testing.assert_array_equal(v_e, v_r)
        assert t_e.max() == t_r.max()  # the same end, a later start


def test_rows_of_one_date_fall_in_one_part_for_several_assets() -> None:
    one = business_dates(300)
    # Three assets in long format, shuffled: the split must go by date, not by row.
    dates = np.concatenate([one, one[20:], one[:250]])
    rng = np.random.default_rng(0)
    dates = dates[rng.permutation(len(dates))]
    split = walk_forward(dates, 1, WalkForward(folds=2))
    part = np.full(len(dates), -1)
    for k, rows in enumerate([split.train, split.validation, split.test]):
        assert (part[rows] == -1).all()
        part[rows] = k
    for day in np.unique(dates):
        assert len(set(part[dates == day])) == 1
    assert np.unique(dates[split.test]).size == 60  # 20 % of 300 distinct dates


@pytest.mark.parametrize(("kwargs", "param"), [
    ({"folds": 0}, "folds"),
    ({"folds": 2.5}, "folds"),
    ({"test_fraction": 0.0}, "test_fraction"),
    ({"test_fraction": 0.6}, "test_fraction"),
    ({"test_fraction": float("nan")}, "test_fraction"),
    ({"embargo": -1}, "embargo"),
    ({"purge": -2}, "purge"),
    ({"scheme": "sliding"}, "scheme"),
    ({"scheme": "expanding", "train_window": 10}, "train_window"),
    ({"scheme": "rolling", "train_window": 0}, "train_window"),
])
def test_nonsense_settings_are_refused_with_the_parameter(kwargs: dict[str, object], param: str) -> None:
    with pytest.raises(ConfigError, match=param) as info:
        WalkForward(**kwargs)  # type: ignore[arg-type]
    assert info.value.param == param


def test_round_trip_and_unknown_keys() -> None:
    config = WalkForward(scheme="rolling", folds=4, test_fraction=0.25, purge=3, embargo=2, train_window=100)
    assert WalkForward.from_dict(config.to_dict()) == config
    with pytest.raises(ConfigError, match=r"'fold'.*Did you mean 'folds'"):
        WalkForward.from_dict({"fold": 3}, "recipe.yaml")


def test_too_few_dates_and_a_horizon_longer_than_the_test_period_name_the_option() -> None:
    with pytest.raises(DataError, match=r"has 12 dates: too few for 10 walk-forward fold.*--folds") as info:
        walk_forward(business_dates(12), 1, WalkForward(folds=10))
    assert info.value.param == "folds"
    with pytest.raises(DataError, match=r"not longer than the horizon \(30\).*--horizon") as info:
        walk_forward(business_dates(100), 30, WalkForward())
    assert info.value.param == "horizon"
    with pytest.raises(ConfigError, match="horizon"):
        walk_forward(business_dates(100), 0, WalkForward())


def test_a_purge_shorter_than_the_horizon_is_refused_and_a_longer_one_widens_the_gap() -> None:
    with pytest.raises(ConfigError, match=r"'purge'.*at least the horizon \(5\)") as info:
        walk_forward(business_dates(300), 5, WalkForward(purge=2))
    assert info.value.param == "purge"
    dates = business_dates(300)
    split = walk_forward(dates, 2, WalkForward(purge=6, embargo=1))
    idx = date_index(dates)
    assert split.gap == 7 and idx[split.validation].min() - idx[split.train].max() == 8


@pytest.mark.parametrize("embargo", [0, 3])
def test_a_thinly_traded_assets_labels_keep_the_embargo_too(embargo: int) -> None:
    """Asset B trades every third day: its label h of its own rows ahead reaches past the purge. Its
    rows were dropped only when the label reached the next part, so B kept no embargo at all (a
    review, 2026-12-03): every kept label must end embargo dates before the next part."""
    h = 4
    days = business_dates(600)
    thin = days[::3]
    dates = np.concatenate([days, thin])
    # Each row's label ends h rows ahead in its own asset (past the end: the last date, as never kept).
    ends = np.concatenate([days[np.minimum(np.arange(len(days)) + h, len(days) - 1)],
                           thin[np.minimum(np.arange(len(thin)) + h, len(thin) - 1)]])
    split = walk_forward(dates, h, WalkForward(folds=3, embargo=embargo), label_end=ends)
    unique = np.unique(dates)
    for train, val in split.folds:
        first = np.searchsorted(unique, dates[val].min())
        # The dates between a training label's end and the validation start: at least the embargo.
        assert (first - np.searchsorted(unique, ends[train]) - 1).min() >= embargo
    first_test = np.searchsorted(unique, dates[split.test].min())
    assert (first_test - np.searchsorted(unique, ends[split.validation]) - 1).min() >= embargo
