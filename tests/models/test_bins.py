"""Piecewise-linear input bins: the layer, its edges from a booster or quantiles, its stored and
exported forms, the methods that rebuild an MLP, and the distillation option that uses it."""

from __future__ import annotations

import itertools
from pathlib import Path

import lightgbm as lgb
import numpy as np
import onnxruntime as ort
import pandas as pd
import pytest
import torch
import xgboost as xgb
from hypothesis import given, settings
from hypothesis import strategies as st

from finlite.errors import ConfigError
from finlite.export.graph import to_onnx
from finlite.methods.distill import Distillation, distill, student_bins
from finlite.methods.factorize import LowRankFactorization, factorize
from finlite.methods.prune import MagnitudePruning, prune
from finlite.methods.quantize import DynamicInt8, QuantizationAwareTraining, StaticInt8, quantize
from finlite.methods.targets import DistillData
from finlite.models import bins as bins_module
from finlite.models.base import build_model
from finlite.models.bins import MAX_EDGES, InputBins, binnable_columns, quantile_edges, teacher_edges
from finlite.models.gbdt import BoostedEnsemble
from finlite.models.mlp import TabularMLP
from finlite.training.loop import TrainConfig

EDGES = [[0, [-1.0, 0.0, 1.0]], [3, [0.5]]]


def _reference(x: np.ndarray, edges: list[list[object]]) -> np.ndarray:
    """The encoding written out per column in numpy: the definition, not the module's arithmetic order."""
    parts, binned = [], set()
    for column, values in edges:
        e = np.asarray(values, dtype=np.float32)
        bounds = np.concatenate([[e[0] - 1], e, [e[-1] + 1]]).astype(np.float32)
        for lo, hi in itertools.pairwise(bounds):
            with np.errstate(over="ignore"):  # edges a few ulps apart: the ratio overflows, and clips to 1
                parts.append(np.clip((x[:, column] - lo) / (hi - lo), 0, 1))
        binned.add(column)
    parts += [x[:, j] for j in range(x.shape[1]) if j not in binned]
    return np.stack(parts, axis=1).astype(np.float32)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(-1e3, 1e3, width=32), min_size=1, max_size=8, unique=True),
       st.lists(st.floats(-2e3, 2e3, width=32), min_size=1, max_size=40))
def test_bins_equal_their_definition_and_are_monotone(edges: list[float], values: list[float]) -> None:
    ordered = sorted(edges)
    layer = InputBins(2, [[1, ordered]])
    x = np.stack([np.zeros(len(values)), np.asarray(values)], axis=1).astype(np.float32)
    out = layer(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(out, _reference(x, [[1, ordered]]), rtol=0, atol=1e-6)
    binned = out[:, :-1]
    assert ((binned >= 0) & (binned <= 1)).all() and out.shape[1] == len(ordered) + 2
    order = np.argsort(x[:, 1], kind="stable")
    assert (np.diff(binned[order], axis=0) >= 0).all()  # a larger value never lowers any bin


def test_bins_refuse_hostile_edges() -> None:
    cases = [
        ([], "non-empty list"),
        ([[0, []]], "has 0 bin edges"),
        ([[0, [0.0] * 2]], "not strictly increasing"),
        ([[0, [1.0, 0.0]]], "not strictly increasing"),
        ([[0, [float("nan")]]], "finite numbers of at most"),
        ([[0, [1e39]]], "finite numbers of at most"),
        ([[0, [2e6]]], "finite numbers of at most"),
        ([[5, [0.0]]], "below the input width 4"),
        ([[1, [0.0]], [0, [0.0]]], "increasing order"),
        ([[True, [0.0]]], "column True"),
        ([[0, list(range(MAX_EDGES + 1))]], f"give 1 to {MAX_EDGES}"),
        ([["a", [0.0]]], "column 'a'"),
        ([[0, ["1"]]], "bin edge '1'"),
    ]
    for edges, message in cases:
        with pytest.raises(ConfigError, match=message):
            InputBins(4, edges)
    with pytest.raises(ConfigError, match="bin edge"):  # a stored model config is checked the same way
        build_model({"kind": "mlp", "in_features": 4, "hidden": [3], "bins": [[0, [float("inf")]]]})


def test_a_binned_mlp_is_stored_exported_and_quantized_with_its_bins() -> None:
    torch.manual_seed(0)
    model = TabularMLP(5, (8, 4), dropout=0.0, bins=EDGES).eval()
    assert model.layers[0].in_features == 4 + 2 + 3  # 4 + 2 bins, 3 columns as they are
    x = np.random.default_rng(0).normal(size=(500, 5)).astype(np.float32)
    with torch.inference_mode():
        logit = model(torch.from_numpy(x)).numpy()
        first = model.layers[0](torch.from_numpy(_reference(x, EDGES))).numpy()
    assert first.shape == (500, 8)
    # The config is the one stored form: rebuilt and given the weights, the same logits.
    again = build_model(model.config())
    again.load_state_dict(model.state_dict())
    assert model.config()["bins"] == [[0, [-1.0, 0.0, 1.0]], [3, [0.5]]]
    assert not any(k.startswith("bins.") for k in model.state_dict())
    with torch.inference_mode():
        np.testing.assert_array_equal(again.eval()(torch.from_numpy(x)).numpy(), logit)

    def onnx_logit(m: torch.nn.Module) -> np.ndarray:
        session = ort.InferenceSession(to_onnx(m).SerializeToString(), providers=["CPUExecutionProvider"])
        return np.asarray(session.run(["logit"], {"x": x})[0]).reshape(-1)

    np.testing.assert_allclose(onnx_logit(model), logit, rtol=0, atol=1e-5)
    labels = (logit > 0).astype(np.float32)
    data = DistillData.from_arrays(x, labels, logit, x, labels, logit)
    quick = TrainConfig(epochs=1, progress=False)
    for method in (DynamicInt8(), StaticInt8(), QuantizationAwareTraining()):
        q = quantize(model, method, calibration_x=x, data=data, train=quick).model.eval()
        assert q.config()["bins"] == model.config()["bins"], type(method).__name__
        with torch.inference_mode():
            q_logit = q(torch.from_numpy(x)).numpy()
        assert np.abs(q_logit - logit).max() < 0.2, type(method).__name__
        np.testing.assert_allclose(onnx_logit(q), q_logit, rtol=0, atol=1e-4)


def test_pruning_and_low_rank_keep_the_bins() -> None:
    torch.manual_seed(1)
    model = TabularMLP(5, (8, 4), dropout=0.0, bins=EDGES).eval()
    x = torch.from_numpy(np.random.default_rng(1).normal(size=(100, 5)).astype(np.float32))
    neurons = prune(model, MagnitudePruning(sparsity=0.5, granularity="neuron")).model
    assert neurons.hidden == (4, 2) and neurons.config()["bins"] == model.config()["bins"]
    assert neurons.layers[0].in_features == 9
    neurons(x)  # runs on the raw rows
    weights = prune(model, MagnitudePruning(sparsity=0.5)).model
    assert weights.config()["bins"] == model.config()["bins"]
    low = factorize(model, LowRankFactorization(rank=2)).model
    assert low.config()["bins"] == model.config()["bins"] and low.factorised
    low(x)


def _step_data(rows: int = 3000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = np.column_stack([rng.normal(size=rows), rng.normal(size=rows), (rng.random(rows) < 0.4).astype(float),
                         rng.normal(size=rows)]).astype(np.float32)
    logit = 3.0 * (x[:, 0] > 0.3) - 2.0 * (x[:, 1] > -0.2) + 1.5 * x[:, 2] + 0.8 * x[:, 3] - 0.75
    y = (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(np.float32)
    return x, y


def test_teacher_edges_are_the_boosters_own_thresholds() -> None:
    x, y = _step_data()
    booster = lgb.train({"objective": "binary", "verbose": -1, "num_leaves": 4, "seed": 0}, lgb.Dataset(x, y), 20)
    teacher = BoostedEnsemble.from_booster("lightgbm", booster)
    edges = dict((c, v) for c, v in teacher_edges(teacher, x, max_bins=64))
    dump = booster.dump_model()["tree_info"]
    used: dict[int, set[float]] = {}
    stack = [t["tree_structure"] for t in dump]
    while stack:
        node = stack.pop()
        if "split_feature" in node:
            used.setdefault(node["split_feature"], set()).add(float(np.float32(node["threshold"])))
            stack += [node["left_child"], node["right_child"]]
    assert 2 not in edges  # a 0/1 column is passed through, never binned
    for column, values in edges.items():
        assert set(values) == used[column] and values == sorted(values)
    assert set(edges) == {c for c in used if c != 2}
    # At most max_bins - 1 edges, kept where the splits gained the most.
    few = dict((c, v) for c, v in teacher_edges(teacher, x, max_bins=3))
    assert all(1 <= len(v) <= 2 for v in few.values())
    # XGBoost's thresholds too, by feature index.
    xbooster = xgb.train({"objective": "binary:logistic", "max_depth": 2, "seed": 0}, xgb.DMatrix(x, label=y), 10)
    xedges = dict((c, v) for c, v in teacher_edges(BoostedEnsemble.from_booster("xgboost", xbooster), x, 64))
    assert set(xedges) <= {0, 1, 3} and xedges
    # A booster of raw columns (imported): its thresholds come back in the encoded units.
    raw = x * np.float32(10) + np.float32(5)
    imported = lgb.train({"objective": "binary", "verbose": -1, "num_leaves": 4, "seed": 0},
                         lgb.Dataset(raw[:, [0, 1]], y), 10)
    wrapped = BoostedEnsemble.from_booster("lightgbm", imported, input={"mode": "columns", "index": [0, 1],
                                                                          "mean": [5.0, 5.0], "std": [10.0, 10.0]})
    back = dict((c, v) for c, v in teacher_edges(wrapped, x, 64))
    raw_used: dict[int, set[float]] = {}
    stack = [t["tree_structure"] for t in imported.dump_model()["tree_info"]]
    while stack:
        node = stack.pop()
        if "split_feature" in node:
            raw_used.setdefault(node["split_feature"], set()).add((node["threshold"] - 5.0) / 10.0)
            stack += [node["left_child"], node["right_child"]]
    assert set(back) == set(raw_used) == {0, 1}
    for column in (0, 1):
        np.testing.assert_allclose(back[column], sorted(raw_used[column]), rtol=1e-6)


def test_an_xgboost_split_on_an_unknown_feature_is_refused() -> None:
    """A split whose feature is neither a feature name nor fN cannot be put on a column: refused."""
    import json as json_

    class Booster:
        feature_names = None

        def get_dump(self, dump_format: str, with_stats: bool) -> list[str]:
            return [json_.dumps({"nodeid": 0, "split": "income", "split_condition": 1.5, "gain": 2.0,
                                 "children": [{"nodeid": 1, "leaf": 0.1}, {"nodeid": 2, "leaf": -0.1}]})]

    class Teacher:
        library, input, window, model = "xgboost", {"mode": "encoded"}, None, Booster()

    x, _ = _step_data(100)
    with pytest.raises(ConfigError, match=r"splits on the feature 'income'.*input_bins_from='quantiles'"):
        teacher_edges(Teacher(), x, 8)


def test_quantile_edges_bin_numbers_not_indicators() -> None:
    x, _ = _step_data()
    edges = dict((c, v) for c, v in quantile_edges(x, max_bins=4))
    assert set(edges) == {0, 1, 3}
    np.testing.assert_allclose(edges[0], np.quantile(x[:, 0], [0.25, 0.5, 0.75]), rtol=1e-6)


def _sorted_book(rows: int = 250_000) -> np.ndarray:
    """Encoded rows as a book sorted by its first column comes (by amount, say): column 1 is 0
    until row 60,000 and takes three values after it; column 2 is a 0/1 indicator."""
    rng = np.random.default_rng(5)
    amount = np.sort(rng.normal(size=rows))
    late = np.where(np.arange(rows) < 60_000, 0.0, rng.integers(0, 3, rows))
    return np.column_stack([amount, late, rng.integers(0, 2, rows)]).astype(np.float32)


def test_bins_read_every_row_of_a_sorted_book() -> None:
    # The training rows keep the file's order: the first rows of a sorted book are one corner of it.
    x = _sorted_book()
    assert binnable_columns(x) == [0, 1]  # column 1 varies only after row 60,000
    edges = dict((c, v) for c, v in quantile_edges(x, max_bins=4))
    np.testing.assert_allclose(edges[0], np.quantile(x[:, 0], [0.25, 0.5, 0.75]), atol=0.02)
    # A booster's split in the last rows' range is kept (only thresholds outside every row are not).
    y = (x[:, 0] > 1.5).astype(np.float32)
    booster = lgb.train({"objective": "binary", "verbose": -1, "num_leaves": 2, "seed": 0}, lgb.Dataset(x, y), 3)
    found = dict((c, v) for c, v in teacher_edges(BoostedEnsemble.from_booster("lightgbm", booster), x, 64))
    assert any(abs(e - 1.5) < 0.05 for e in found[0])


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 40), st.integers(1, 4))
def test_binnable_columns_are_those_with_three_or_more_values(seed: int, rows: int, block: int) -> None:
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 4, (rows, 5)).astype(np.float32) * rng.integers(0, 2, 5)  # some columns constant
    x[:, 4] = np.where(rng.random(rows) < 0.5, -1.5, 2.0)  # two values: an indicator
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(bins_module, "_SCAN_ROWS", block)  # several blocks of the scan
        got = binnable_columns(x)
    assert got == [j for j in range(x.shape[1]) if len(np.unique(x[:, j])) > 2]


def test_distillation_options_are_checked() -> None:
    with pytest.raises(ConfigError, match="input_bins"):
        Distillation(input_bins=1)
    with pytest.raises(ConfigError, match="input_bins_from"):
        Distillation(input_bins=8, input_bins_from="median")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="bins the inputs of an MLP student"):
        Distillation(input_bins=8, student="logistic")
    torch_teacher = TabularMLP(4, (3,), dropout=0.0)
    x, _ = _step_data(200)
    with pytest.raises(ConfigError, match="input_bins_from='quantiles'"):
        student_bins(Distillation(input_bins=8), torch_teacher, x)
    assert student_bins(Distillation(input_bins=8, input_bins_from="quantiles"), torch_teacher, x)
    with pytest.raises(ConfigError, match="windows of a series"):
        student_bins(Distillation(input_bins=8, input_bins_from="quantiles"), torch_teacher, np.zeros((5, 3, 2)))
    assert student_bins(Distillation(), torch_teacher, x) is None


def test_a_binned_student_follows_a_boosted_teacher_more_closely() -> None:
    """The point of the bins: on a step-function teacher the binned student of the same width and
    training agrees with the teacher on more rows (and fits its log-odds better) than a plain one."""
    x, y = _step_data(6000, seed=2)
    xv, yv = _step_data(3000, seed=3)
    booster = lgb.train({"objective": "binary", "verbose": -1, "num_leaves": 8, "seed": 0}, lgb.Dataset(x, y), 60)
    teacher = BoostedEnsemble.from_booster("lightgbm", booster)
    t, tv = teacher.logits_np(x).astype(np.float32), teacher.logits_np(xv).astype(np.float32)
    data = DistillData.from_arrays(x, y, t, xv, yv, tv)
    train = TrainConfig(epochs=15, lr=1e-2, batch_size=128, patience=15, progress=False, seed=0)
    scores = {}
    for bins in (0, 32):
        method = Distillation(hidden=(16,), input_bins=bins)
        edges = student_bins(method, teacher, x)
        student = TabularMLP(4, (16,), dropout=0.0, bins=edges)
        torch.manual_seed(0)
        model = distill(data, student, method, train=train).model
        with torch.inference_mode():
            s = model(torch.from_numpy(xv)).numpy()
        scores[bins] = (float(np.mean((s >= 0) == (tv >= 0))), float(np.sqrt(np.mean((s - tv) ** 2))))
    assert scores[32][0] > scores[0][0] + 0.01, scores
    assert scores[32][1] < 0.7 * scores[0][1], scores


@pytest.mark.slow
def test_a_binned_student_of_a_lightgbm_teacher_deploys_and_reproduces(german_csv: Path, tmp_path: Path) -> None:
    """compress with input_bins writes a student whose bins are the teacher's thresholds; it
    exports with parity, the torch-free Predictor scores it as the model does, and reproduce
    rebuilds it."""
    import finlite
    from finlite.artifact import prepare_like
    from finlite.jobs.compress import compress
    from finlite.jobs.export import export_artifact
    from finlite.jobs.reproduce import reproduce
    from finlite.recipe import Recipe
    from finlite.runtime import Predictor

    teacher = tmp_path / "lightgbm"
    finlite.train(german_csv, target="creditability", model="lightgbm", out=teacher,
                  gbdt_params={"learning_rate": 0.3})
    recipe = Recipe.from_dict({"steps": [{"method": "distillation", "hidden": [8], "input_bins": 16},
                                         {"method": "magnitude_pruning", "sparsity": 0.3},
                                         {"method": "static_int8"}]})
    quick = TrainConfig(epochs=5, progress=False)
    compress(teacher, german_csv, recipe=recipe, config=quick, fine_tune=quick, out=tmp_path / "student",
             timing=False, progress=False)
    art = finlite.load(tmp_path / "student")
    bins = art.model.config()["bins"]
    boosted = finlite.load(teacher)
    assert bins == teacher_edges(boosted.model, prepare_like(boosted, german_csv).x_train, 16)
    assert bins and all(len(v) <= 15 for _, v in bins)
    assert art.model.kind == "mlp_int8"  # the bins survived pruning and int8
    export_artifact(art, german_csv)
    frame = pd.read_csv(german_csv).drop(columns=["creditability"]).head(300)
    scores = Predictor(tmp_path / "student").predict_proba(frame)
    with torch.inference_mode():
        x = torch.from_numpy(finlite.load(tmp_path / "student").tabular.transform(frame, "the frame"))
        direct = torch.sigmoid(art.model.eval()(x)).numpy()
    np.testing.assert_allclose(np.asarray(scores)[:, 1], direct, rtol=0, atol=1e-5)
    assert reproduce(tmp_path / "student", german_csv, teacher=teacher).matched


def test_the_exported_bins_are_torchs_to_the_bit() -> None:
    """The ONNX form of the bins (a Gather of the transposed rows, Sub, Div, Min, Max) gives the
    same float32 values as InputBins in torch, bins and passed-through columns alike."""
    from onnx import TensorProto, helper

    from finlite.export.graph import IR_VERSION, OPSET, _Graph, _input_bins

    layer = InputBins(6, [[0, [-1.0, 0.0, 1.0]], [3, [0.5, 0.7]], [5, [-3.0]]])
    x = (np.random.default_rng(4).normal(size=(4000, 6)) * 3).astype(np.float32)
    g = _Graph()
    out = _input_bins(g, layer, "x")
    graph = helper.make_graph(g.nodes, "bins", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["rows", 6])],
                              [helper.make_tensor_value_info(out, TensorProto.FLOAT, ["rows", layer.out_features])],
                              g.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = IR_VERSION
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    with torch.inference_mode():
        expected = layer(torch.from_numpy(x)).numpy()
    np.testing.assert_array_equal(session.run(None, {"x": x})[0], expected)
