"""Booster files are checked in Python before LightGBM or XGBoost sees them (issue 9, item 5).

Both libraries abort or segfault on malformed model files (truncated text, a child index out
of range, wrong array lengths); finlite must refuse such files with a ConfigError instead. Any
library call on a mutated file runs in a subprocess here, so a case the check misses shows as a
failing test rather than a crashed pytest.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
import torch
import xgboost as xgb
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from finlite._booster_check import check_booster
from finlite.errors import ConfigError
from finlite.models.gbdt import BoostedEnsemble

_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def models() -> dict[str, bytes]:
    """A small LightGBM text model and the same-sized XGBoost model as JSON and UBJSON."""
    rng = np.random.default_rng(0)
    x = pd.DataFrame(rng.normal(size=(300, 3)), columns=["a", "b", "c"])
    y = (x["a"] + 0.5 * x["b"] + rng.normal(size=300) > 0).astype(int)
    booster = lgb.train({"objective": "binary", "verbose": -1, "num_leaves": 7, "num_threads": 1},
                        lgb.Dataset(x, y), num_boost_round=4)
    xb = xgb.train({"objective": "binary:logistic", "max_depth": 3, "nthread": 1}, xgb.DMatrix(x, label=y),
                   num_boost_round=4)
    return {"lightgbm": booster.model_to_string().encode(), "json": bytes(xb.save_raw("json")),
            "ubj": bytes(xb.save_raw("ubj"))}


def test_valid_files_pass(models: dict[str, bytes]) -> None:
    assert check_booster(models["lightgbm"], "m.txt") == "lightgbm"
    assert check_booster(models["json"], "m.json") == "xgboost"
    assert check_booster(models["ubj"], "m.ubj") == "xgboost"
    # Pretty-printed for a review (XGBoost loads it): was taken for broken UBJSON.
    import json

    pretty = json.dumps(json.loads(models["json"]), indent=2).encode()
    assert check_booster(pretty, "m.json") == "xgboost"
    xb = xgb.Booster()
    xb.load_model(bytearray(pretty))  # and the library reads it as it is
    assert xb.num_boosted_rounds() == 4


def test_a_linear_tree_model_is_named_as_one(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    x = pd.DataFrame(rng.normal(size=(300, 3)), columns=["a", "b", "c"])
    y = (x["a"] > 0).astype(int)
    booster = lgb.train({"objective": "binary", "verbose": -1, "linear_tree": True, "num_leaves": 4},
                        lgb.Dataset(x, y), num_boost_round=2)
    with pytest.raises(ConfigError, match=r"cannot use: tree 0: it is a linear tree \(linear_tree=true\)"):
        check_booster(booster.model_to_string().encode(), "linear.txt")


def test_custom_objectives_and_a_linear_booster_are_named_as_such() -> None:
    """A booster trained with a custom objective function, and XGBoost's gblinear, are valid files
    of models finlite cannot use; the refusals said "save the model again", or named XGBoost's
    placeholder objective alone (a bring-your-own-model walk-through, 2026-12-07)."""
    rng = np.random.default_rng(0)
    x = pd.DataFrame(rng.normal(size=(300, 3)), columns=["a", "b", "c"])
    y = (x["a"] > 0).astype(int).to_numpy()

    def logloss(preds: np.ndarray, data: lgb.Dataset) -> tuple[np.ndarray, np.ndarray]:
        p = 1 / (1 + np.exp(-preds))
        return p - data.get_label(), p * (1 - p)

    custom = lgb.train({"objective": logloss, "verbose": -1, "num_leaves": 4}, lgb.Dataset(x, y), num_boost_round=2)
    with pytest.raises(ConfigError, match=r"cannot use: the header names no objective, as LightGBM writes a booster "
                                          r"trained with a custom objective function; finlite reads a binary "
                                          r"classifier \(objective 'binary'"):
        check_booster(custom.model_to_string().encode(), "custom.txt")

    def xgb_logloss(preds: np.ndarray, data: xgb.DMatrix) -> tuple[np.ndarray, np.ndarray]:
        p = 1 / (1 + np.exp(-preds))
        return p - data.get_label(), p * (1 - p)

    xcustom = xgb.train({"max_depth": 2}, xgb.DMatrix(x, label=y), 2, obj=xgb_logloss)
    with pytest.raises(ConfigError, match=r"XGBoost also writes 'reg:squarederror' for a booster trained with a custom "
                                          r"objective function"):
        check_booster(bytes(xcustom.save_raw("json")), "custom.json")
    linear = xgb.train({"objective": "binary:logistic", "booster": "gblinear"}, xgb.DMatrix(x, label=y), 2)
    with pytest.raises(ConfigError, match=r"cannot use: the booster is 'gblinear', a linear model"):
        check_booster(bytes(linear.save_raw("json")), "linear.json")


def _sub(data: bytes, pattern: str, repl: str) -> bytes:
    """Replace the first match of a regex, failing loudly when the fixture model lacks it."""
    new, n = re.subn(pattern.encode(), repl.encode(), data, count=1)
    assert n == 1, pattern
    return new


def _lgb_cases(text: bytes) -> list[tuple[str, bytes, str]]:
    end = text.index(b"end of trees")
    # One tree's arrays changed without touching tree_sizes' byte counts: same-length edits.
    return [
        ("empty", b"", "is empty"),
        ("header only", text[:text.index(b"Tree=0")], "no trees"),
        ("truncated in a tree", text[:text.index(b"Tree=1") - 40], "truncated"),
        ("truncated before end of trees", text[:end], "not followed by 'end of trees'"),
        ("truncated in parameters", text[:text.index(b"end of parameters")], "end of parameters"),
        ("num_leaves off by two", _sub(text, r"num_leaves=7", "num_leaves=9"), "leaf_value has 7 values but needs 9"),
        ("split feature out of range", _sub(text, r"split_feature=(\d) ", "split_feature=9 "), "split_feature is 9"),
        ("split feature count", _sub(text, r"split_feature=(\d) ", "split_feature=  "),
         r"7 leaves but 5 split features \(needs 6\)"),
        ("child out of range", _sub(text, r"left_child=(\d) ", "left_child=8 "), "left_child is 8"),
        ("child cycle", _sub(text, r"left_child=(\d) ", "left_child=0 "), "node 0 is reached twice"),
        ("huge num_leaves", _sub(text, r"num_leaves=7\n", "num_leaves=99999999\n"), "tree_sizes|num_leaves"),
        ("max_feature_idx", _sub(text, r"max_feature_idx=2", "max_feature_idx=0"), "feature_names lists 3"),
        ("tree_sizes", _sub(text, r"tree_sizes=(\d+)", "tree_sizes=99999"), "tree_sizes says 99999 bytes"),
        ("multiclass", _sub(text, r"num_class=1", "num_class=7"), "binary classifiers"),
        ("no trees per iteration", _sub(text, r"num_tree_per_iteration=1", "num_tree_per_iteration=0"),
         "binary classifiers"),
        ("categorical", _sub(text, r"num_cat=0", "num_cat=3"), "categorical splits"),
        ("categorical decision", _sub(text, r"decision_type=(\d)", "decision_type=1"), "not a numeric split"),
        ("windows line ends", text.replace(b"\n", b"\r\n"), "Windows line endings"),
        ("NUL byte", text[:50] + b"\x00" + text[51:], "NUL byte"),
        ("bad parameter line", text.replace(b"[boosting: gbdt]", b"[boosting gbdt]"), "parameter line"),
    ]


def _xgb_cases(js: bytes, ubj: bytes) -> list[tuple[str, bytes, str]]:
    return [
        ("json truncated", js[: len(js) // 2], "not complete JSON"),
        ("json end cut", js[:-1], "not complete JSON"),
        ("ubj truncated", ubj[: len(ubj) // 2], "UBJSON"),
        ("ubj end cut", ubj[:-2], "UBJSON|truncated"),
        ("left children length", _sub(js, r'"left_children":\[(-?\d+),', '"left_children":['),
         r"left_children has \d+ entries but needs \d+"),
        ("child out of range", _sub(js, r'"left_children":\[(-?\d+),', '"left_children":[999,'),
         "left_children holds 999"),
        ("child cycle", _sub(js, r'"left_children":\[(-?\d+),', '"left_children":[0,'), "reached twice"),
        ("split index out of range", _sub(js, r'"split_indices":\[(\d+),', '"split_indices":[77,'),
         "splits on feature 77 but the model has 3 features"),
        ("negative split index", _sub(js, r'"split_indices":\[(\d+),', '"split_indices":[-3,'), "split_indices holds -3"),
        ("num_nodes", _sub(js, r'"num_nodes":"(\d+)"', '"num_nodes":"999"'), "entries but needs 999"),
        ("tree_info group", _sub(js, r'"tree_info":\[0,', '"tree_info":[5,'), "tree_info holds 5"),
        ("tree_info length", _sub(js, r'"tree_info":\[0,', '"tree_info":['), "tree_info has 3 entries but needs 4"),
        ("num_trees", _sub(js, r'"num_trees":"4"', '"num_trees":"40"'), "num_trees is 40 but 4 trees"),
        ("multi-output", _sub(js, r'"size_leaf_vector":"1"', '"size_leaf_vector":"5"'), "size_leaf_vector"),
        ("parents", _sub(js, r'"parents":\[2147483647,0,', '"parents":[2147483647,9,'), "records parent 9"),
        ("iteration_indptr", _sub(js, r'"iteration_indptr":\[0,1,', '"iteration_indptr":[0,7,'),
         "iteration_indptr"),
        ("multiclass", _sub(js, r'"num_class":"0"', '"num_class":"5"'), "binary classifiers"),
        # XGBoost raised a traceback on load for NaN, 1.5 or -1; 1 divided by zero in the export.
        *[(f"base_score {v}", _sub(js, r'"base_score":"[^"]*"', f'"base_score":"{v}"'),
           r"base_score is '.*', but a logistic model's base_score is a probability strictly between 0 and 1")
          for v in ("[NaN]", "[1E0]", "1.5", "[-1E0]", "0", "[]", "x")],
        ("NaN literal", _sub(js, r'"split_conditions":\[[^,]+,', '"split_conditions":[NaN,'), "NaN"),
        ("not a model", b"PK\x03\x04 a zip file", "neither a LightGBM text model nor an XGBoost"),
        ("random bytes", bytes(np.random.default_rng(1).integers(0, 256, 4000, dtype=np.uint8)),
         "neither|not a valid"),
    ]


def test_malformed_files_are_refused_with_the_reason(models: dict[str, bytes]) -> None:
    cases = _lgb_cases(models["lightgbm"]) + _xgb_cases(models["json"], models["ubj"])
    for name, data, reason in cases:
        with pytest.raises(ConfigError, match=r"model\.bin") as info:
            check_booster(data, "model.bin")
        assert re.search(reason, str(info.value)), (name, str(info.value))
        assert "save" in str(info.value).lower(), name  # every message says how to fix it
        # A model of a kind finlite does not take is no broken file: saving it again would not help.
        unsupported = name in ("multiclass", "categorical")
        assert ("cannot use" in str(info.value)) == unsupported, (name, str(info.value))
        assert ("Save the model again" in str(info.value)) != unsupported, (name, str(info.value))


def test_oversized_file_is_refused_before_parsing(monkeypatch: pytest.MonkeyPatch, models: dict[str, bytes]) -> None:
    monkeypatch.setattr("finlite._booster_check.MAX_BOOSTER_BYTES", 1000)
    with pytest.raises(ConfigError, match=r"big\.txt.*up to 0 MiB"):
        check_booster(models["lightgbm"], "big.txt")


def test_import_teacher_refuses_a_truncated_file(tmp_path: Path, models: dict[str, bytes],
                                                 german_csv: Path) -> None:
    # In a subprocess: before the check, this file aborted the whole process.
    bad = tmp_path / "model.txt"
    bad.write_bytes(models["lightgbm"][: len(models["lightgbm"]) // 3])
    args = ["import-teacher", str(bad), str(german_csv), "--target", "creditability", "--out", str(tmp_path / "t")]
    proc = subprocess.run([sys.executable, "-c", "import sys; from finlite.cli import main; sys.argv[0] = 'finlite'; main()",
                           *args],
                          capture_output=True, text=True, timeout=120, cwd=_ROOT)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "model.txt" in proc.stderr + proc.stdout and "Traceback" not in proc.stderr
    assert "truncated" in proc.stderr + proc.stdout


def test_stored_booster_bytes_are_checked_before_loading(models: dict[str, bytes]) -> None:
    raw = models["lightgbm"]
    model = BoostedEnsemble("lightgbm", len(raw))
    state = {"booster": torch.frombuffer(bytearray(raw[:-1] + b"\x00"), dtype=torch.uint8)}
    with pytest.raises(ConfigError, match=r"booster stored in the artifact.*NUL byte"):
        model.load_state_dict(state)  # checked on load, before lightgbm could read it
    with pytest.raises(ConfigError, match="NUL byte"):
        _ = model.model
    model.load_state_dict({"booster": torch.frombuffer(bytearray(raw), dtype=torch.uint8)})
    assert model.model.num_trees() == 4


# -- property-based: the check never crashes, and what it accepts loads ------------------------
_LOADER = """
import sys
import numpy as np
for path in sys.argv[1:]:
    print(path, flush=True)  # the last name printed is the file that crashed
    raw = open(path, "rb").read()
    x = np.random.default_rng(0).normal(size=(8, 3))
    try:
        if path.endswith(".txt"):
            import lightgbm
            b = lightgbm.Booster(model_str=raw.decode("utf-8"))
            b.dump_model(); b.predict(x, raw_score=True)
        else:
            import xgboost
            b = xgboost.Booster(); b.load_model(bytearray(raw))
            b.get_dump(dump_format="json"); b.inplace_predict(x, predict_type="margin")
    except Exception:
        pass  # a clean library error is fine; only a native crash fails the test
"""

_NUMBER = re.compile(rb"-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?")
_REPLACEMENTS = [b"0", b"1", b"2", b"3", b"-1", b"-2", b"6", b"7", b"13", b"-0", b"2147483647", b"1e300", b""]


@st.composite
def _mutated(draw: st.DrawFn, models: dict[str, bytes]) -> tuple[str, bytes]:
    kind = draw(st.sampled_from(sorted(models)))
    data = models[kind]
    for _ in range(draw(st.integers(1, 3))):
        how = draw(st.sampled_from(["number", "number", "byte", "cut", "insert"] if kind != "ubj"
                                   else ["byte", "byte", "cut", "insert"]))
        spans = [m.span() for m in _NUMBER.finditer(data)]
        if how == "number" and spans:
            a, b = draw(st.sampled_from(spans))
            data = data[:a] + draw(st.sampled_from(_REPLACEMENTS)) + data[b:]
        elif how == "byte" and data:
            i = draw(st.integers(0, len(data) - 1))
            data = data[:i] + bytes([draw(st.integers(0, 255))]) + data[i + 1:]
        elif how == "cut":
            data = data[:draw(st.integers(0, len(data)))]
        else:
            i = draw(st.integers(0, len(data)))
            data = data[:i] + draw(st.binary(max_size=8)) + data[i:]
    return kind, data


def test_check_never_crashes_and_accepted_files_load(models: dict[str, bytes], tmp_path: Path) -> None:
    accepted: list[Path] = []

    @settings(max_examples=300, deadline=None, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(case=_mutated(models), noise=st.binary(max_size=200))
    def run(case: tuple[str, bytes], noise: bytes) -> None:
        for data in (case[1], noise, b"{" + noise, b"tree\n" + noise):
            try:
                library = check_booster(data, "fuzz")
            except ConfigError:
                continue
            path = tmp_path / f"{len(accepted)}.{'txt' if library == 'lightgbm' else 'bin'}"
            path.write_bytes(data)
            accepted.append(path)

    run()
    # Unmutated files too, so the loader itself is known to work.
    for kind, data in models.items():
        path = tmp_path / f"valid-{kind}.{'txt' if kind == 'lightgbm' else 'bin'}"
        path.write_bytes(data)
        accepted.append(path)
    proc = subprocess.run([sys.executable, "-c", _LOADER, *map(str, accepted)], capture_output=True, text=True,
                          timeout=300)
    last = proc.stdout.strip().splitlines()[-1:] or ["?"]
    assert proc.returncode == 0, f"the library crashed natively on an accepted file: {last[0]}\n{proc.stderr[-1500:]}"



def test_a_booster_whose_trees_found_no_split_is_read(models: dict[str, bytes]) -> None:
    """LightGBM writes a one-leaf tree (no split: a constant) with an empty leaf_weight; that is a
    valid model (a short price history makes one; tests/test_cli_markets.py exports and scores it)."""
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(20, 3)), rng.normal(size=20)
    booster = lgb.train({"objective": "regression", "verbose": -1, "min_data_in_leaf": 20, "num_threads": 1},
                        lgb.Dataset(x, y), num_boost_round=2)
    raw = booster.model_to_string().encode()
    assert b"num_leaves=1\n" in raw and b"leaf_weight=\n" in raw
    assert check_booster(raw, "m.txt", "regression") == "lightgbm"
    # Blanked in place (tree_sizes still right): the one leaf still needs its value, and a tree of
    # several leaves still needs a weight per leaf.
    def blank(data: bytes, key: bytes) -> bytes:
        return re.sub(key + rb"=([^\n]*)", lambda m: key + b"=" + b" " * len(m.group(1)), data, count=1)

    with pytest.raises(ConfigError, match="leaf_value has 0 values but needs 1"):
        check_booster(blank(raw, b"leaf_value"), "m.txt", "regression")
    with pytest.raises(ConfigError, match=r"leaf_weight has 0 values but needs [2-9]"):
        check_booster(blank(models["lightgbm"], b"leaf_weight"), "m.txt")
