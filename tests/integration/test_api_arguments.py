"""The Python API refuses wrong argument types with finlite's own errors, naming the parameter
(a review of the Python API, 2026-12-05: raw TypeError / AttributeError tracebacks before)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import finlite
from finlite.errors import ConfigError, DataError
from tests.conftest import FAST


@pytest.mark.parametrize(("kwargs", "param", "said"), [
    ({"config": {"epochs": 1}}, "config", r"must be a finlite\.TrainConfig .*; got dict"),
    ({"encoding": {"max_categories": 5}}, "encoding", r"must be a finlite\.data\.preprocess\.Encoding"),
    ({"drop": "telephone"}, "drop", r"takes a list of column names; got the text 'telephone'\. Write drop=\['telephone'\]"),
    ({"numeric": "age_in_years"}, "numeric", r"got the text 'age_in_years'"),
    ({"categorical": ["nope"]}, "categorical", r"Column 'nope' named as categorical is not in"),
    ({"drop": 5}, "drop", r"takes a list of column names; got int 5\."),
    ({"drop": [1]}, "drop", r"takes column names as text; got int 1\. Write the column's name as text"),
    ({"drop": 10**5000}, "drop", r"got int an integer of about 5001 digits"),  # str() of it raises ValueError
    ({"config": 10**5000}, "config", r"got int an integer of about 5001 digits"),
    ({"seed": -1}, "seed", r"The 'seed' parameter must be a whole number from 0"),
])
def test_train_refuses_wrong_arguments_naming_them(german_csv: Path, kwargs: dict, param: str, said: str) -> None:
    with pytest.raises((ConfigError, DataError), match=said) as info:
        finlite.train(german_csv, target="creditability", model="logistic", **kwargs)
    assert info.value.param == param


def test_a_numpy_integer_seed_is_a_seed(german_csv: Path, tmp_path: Path) -> None:
    out = finlite.train(german_csv, target="creditability", model="logistic", config=FAST, seed=np.int64(3),
                        out=tmp_path / "t")
    assert out.path is not None and finlite.load(out.path).manifest["seed"] == 3
    # The forecaster's training too (random.seed refused np.int64 with a raw TypeError: a review).
    from finlite.data.market import MarketSpec
    from finlite.jobs.forecast import train_forecaster
    from tests.jobs.test_forecast import write_prices

    prices = write_prices(tmp_path / "p.csv")
    market = train_forecaster(prices, spec=MarketSpec(window=10), model="gru", hidden=(4,), seed=np.int64(2),
                              config=finlite.TrainConfig(epochs=1, progress=False), out=tmp_path / "f",
                              progress=False)
    assert market.path is not None and finlite.load(market.path).manifest["seed"] == 2
    assert finlite.TrainConfig(epochs=np.int64(2), seed=np.uint32(5)).to_dict()["seed"] == 5


@pytest.mark.parametrize(("kwargs", "param", "said"), [
    ({"pruning": "magnitude"}, "pruning", r"must be a pruning method .*; got str 'magnitude'"),
    ({"distillation": finlite.MagnitudePruning(sparsity=0.5)}, "distillation", r"must be a distillation method"),
    ({"train_overrides": {"nope": 1}}, "train_overrides", r"names 'nope', which is not a training setting; use "),
    ({"train_overrides": [("epochs", 1)]}, "train_overrides", r"must be a dict of TrainConfig fields"),
    ({"config": {"epochs": 1}}, "config", r"must be a finlite\.TrainConfig"),
    ({"recipe": "balanced"}, "recipe", r"must be a finlite\.Recipe \(finlite\.load_preset\('balanced'\)"),
    ({"extra_files": {"../x": "y"}}, "extra_files", r"is not a plain file name"),
])
def test_compress_refuses_wrong_arguments_naming_them(teacher_dir: Path, german_csv: Path, tmp_path: Path,
                                                      kwargs: dict, param: str, said: str) -> None:
    with pytest.raises(ConfigError, match=said) as info:
        finlite.compress(teacher_dir, german_csv, out=tmp_path / "s", **kwargs)
    assert info.value.param == param and not (tmp_path / "s").exists()


def test_compress_with_recipe_names_a_preset_given_by_name(teacher_dir: Path, german_csv: Path) -> None:
    with pytest.raises(ConfigError, match=r"load_preset\('balanced'\)") as info:
        finlite.compress_with_recipe(teacher_dir, german_csv, "balanced")  # type: ignore[arg-type]
    assert info.value.param == "recipe"


def test_export_and_predictor_refuse_bad_settings(exported_dir: Path) -> None:
    with pytest.raises(ConfigError, match=r"The 'tolerance' parameter must be a finite number ≥ 0 and < 1; got -1") \
            as info:
        finlite.export_artifact(exported_dir, tolerance=-1)
    assert info.value.param == "tolerance"
    with pytest.raises(ConfigError, match=r"The 'max_flips' parameter must be a whole number of at least 0; got -1"):
        finlite.export_artifact(exported_dir, max_flips=-1)
    with pytest.raises(ConfigError, match=r"Unknown model variant 'fp16'") as info:
        finlite.Predictor(exported_dir, variant="fp16")
    assert info.value.param == "variant"
