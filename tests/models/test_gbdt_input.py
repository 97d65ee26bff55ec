"""A boosted teacher's input map and out-of-fold scores come from an artifact, which is untrusted:
each is checked before it sizes work or reaches a student."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import finlite
from finlite.errors import ConfigError
from finlite.models.gbdt import BoostedEnsemble

GOOD = {"mode": "columns", "columns": ["a", "b"], "index": [0, 3], "mean": [1.0, 2.0], "std": [0.5, 4.0],
        "missing_index": [1, -1]}


def test_the_map_finlite_writes_is_accepted() -> None:
    assert BoostedEnsemble("lightgbm", 0, input=GOOD).input == GOOD
    assert BoostedEnsemble("lightgbm", 0).input == {"mode": "encoded"}


@pytest.mark.parametrize("edit", [
    {"mode": "raw"},
    {"index": [0] * 65_536, "mean": [0.0] * 65_536, "std": [1.0] * 65_536},  # 3 GB to score 1,000 rows before
    {"index": [0, "a"]},
    {"index": [0, -1]},
    {"index": [0, True]},
    {"std": [0.5]},
    {"std": [0.5, 0.0]},
    {"mean": [1.0, float("nan")]},
    {"mean": "x"},
    {"missing_index": [10**9 + 0.5, -1]},
    {"missing_index": [1, -1, 2]},
])
def test_a_forged_input_map_is_refused_when_the_model_is_built(edit: dict[str, Any]) -> None:
    without_index = {k: v for k, v in GOOD.items() if k != "index"}
    for spec in ({**GOOD, **edit}, without_index):
        with pytest.raises(ConfigError, match="'input' parameter of BoostedEnsemble must be"):
            BoostedEnsemble("lightgbm", 0, input=spec)


def test_rows_of_another_width_are_refused_before_the_booster_sees_them(boosted_dir: Path) -> None:
    model = finlite.load(boosted_dir).model
    assert isinstance(model, BoostedEnsemble)
    width = model.n_inputs()
    model.logits_np(np.zeros((3, width), np.float32))  # the booster's own width scores
    with pytest.raises(ConfigError, match=rf"Encoded rows have {width + 1} values; this lightgbm booster reads {width}"):
        model.logits_np(np.zeros((3, width + 1), np.float32))
    # A columns map that reads more columns than the booster takes (a LightGBMError before).
    forged = BoostedEnsemble("lightgbm", 0, input={"mode": "columns", "index": [0, 1], "mean": [0.0, 0.0],
                                                   "std": [1.0, 1.0]})
    forged._model = model.model  # the teacher's booster under a two-column map
    with pytest.raises(ConfigError, match=rf"input map reads 2 of {width} encoded columns .* booster takes {width}"):
        forged.logits_np(np.zeros((3, width), np.float32))


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_non_finite_out_of_fold_scores_are_refused(value: float) -> None:
    # One NaN target made compress keep a student of test AUC 0.44 (best epoch 0), silently.
    model = BoostedEnsemble("lightgbm", 0, n_train=4)
    with pytest.raises(ConfigError, match=rf"Out-of-fold value #3 is {value!r}, not a finite log-odds"):
        model.set_oof(np.array([0.1, -0.2, value, 0.3]))
    model.set_oof(np.array([0.1, -0.2, 0.0, 0.3]))
