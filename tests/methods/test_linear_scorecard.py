"""What a scorecard step refuses, before anything trains: a model that will not be logistic, a
table whose categories are weight-of-evidence numbers, and points beyond a 32-bit integer (a
scorecard modeller's walk-through, 2026-12-06: the first came after the distillation had trained,
the second rounded WOE values to -1, 0 or 1, the third wrapped or ended in a traceback)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch

from finlite.data.preprocess import Encoding, Preprocessor
from finlite.data.schema import infer_schema
from finlite.errors import ConfigError
from finlite.jobs.compress import compress_with_recipe
from finlite.methods.linear import Scorecard, make_scorecard
from finlite.models.linear import LogisticRegression
from finlite.recipe.runner import _check_final_steps
from finlite.recipe.spec import Recipe


def test_a_scorecard_after_an_mlp_student_is_refused_before_it_trains(teacher_dir: Path, german_csv: Path,
                                                                      tmp_path: Path) -> None:
    recipe = Recipe.from_yaml("steps:\n  - {method: distillation, student: mlp, hidden: [8]}\n"
                              "  - {method: scorecard}\n", "card.yaml")
    started: list[str] = []
    with pytest.raises(ConfigError, match=r"Recipe step 2 \(scorecard\) needs a logistic model, and the model it "
                                          r"would get is an MLP: put a distillation step with 'student: logistic'"):
        compress_with_recipe(teacher_dir, german_csv, recipe, out=tmp_path / "card", progress=False, timing=False,
                             on_step=lambda i, n, what: started.append(what))
    assert started == [] and not (tmp_path / "card").exists()


def test_weight_of_evidence_columns_are_refused_naming_them_and_the_fix() -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"city": [f"c{i}" for i in rng.integers(0, 80, 2000)], "amount": rng.uniform(0, 9, 2000),
                          "y": rng.integers(0, 2, 2000)})
    pre = Preprocessor(infer_schema(frame, "y"), Encoding(max_categories=10)).fit(frame)
    recipe = Recipe.from_yaml("steps:\n  - {method: distillation, student: logistic}\n  - {method: scorecard}\n",
                              "card.yaml")
    with pytest.raises(ConfigError, match=r"Recipe step 2 \(scorecard\): a scorecard gives points to each category, "
                                          r"and 'city' is encoded as one number per row .* --high-cardinality onehot"):
        _check_final_steps(recipe, None, SimpleNamespace(preprocessor=pre))
    onehot = Preprocessor(infer_schema(frame, "y"), Encoding(max_categories=10, high_cardinality="onehot")).fit(frame)
    _check_final_steps(recipe, None, SimpleNamespace(preprocessor=onehot))  # one-hot: points per category


@pytest.mark.parametrize(("settings", "reach", "param"), [({"pdo": 1e308}, "inf", "pdo"),
                                                           ({"pdo": 3e9, "base_odds": 1}, "e[+]", "pdo"),
                                                           ({"base_points": 3e9}, "e[+]09", "base_points")])
def test_points_beyond_a_32_bit_integer_are_refused(settings: dict, reach: str, param: str) -> None:
    x = np.random.default_rng(1).normal(size=(200, 3)).astype(np.float32)
    with pytest.raises(ConfigError, match=f"points reach [^ ]*{reach}.*beyond a 32-bit integer") as caught:
        make_scorecard(LogisticRegression(3), Scorecard(**settings), x, 2)
    assert caught.value.param == param


def test_a_base_just_under_the_limit_is_named_as_the_cause() -> None:
    x = np.random.default_rng(1).normal(size=(200, 3)).astype(np.float32)
    logistic = LogisticRegression(3)
    with torch.no_grad():
        logistic.linear.weight.fill_(10.0)  # points of some hundreds: over the limit only beside that base
    with pytest.raises(ConfigError, match="beyond a 32-bit integer") as caught:
        make_scorecard(logistic, Scorecard(base_points=2_147_483_000), x, 2)
    assert caught.value.param == "base_points"
    make_scorecard(logistic, Scorecard(base_points=600), x, 2)  # a bank's base: no refusal
