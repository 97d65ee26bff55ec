"""A model.onnx may run only the operators finlite's exporters write (``check_operators``):
a re-hashed graph with a Loop of 10^12 trips kept `finlite score` busy for days (found by a
review of hostile artifact files). The walker reads untrusted bytes, so it is fuzzed too."""

from __future__ import annotations

import contextlib
import shutil
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper
from typer.testing import CliRunner

from finlite.cli import app
from finlite.errors import ArtifactError
from finlite.export.graph import to_onnx
from finlite.methods.quantize import DynamicInt8, quantize
from finlite.models import SequenceModel
from finlite.runtime import Predictor
from finlite.runtime._graph_ops import ALLOWED_OPERATORS, check_operators
from tests.test_artifact_trust import rehash

runner = CliRunner()


def _model(nodes: list[onnx.NodeProto], n: int, inits: list[onnx.TensorProto], **kwargs: object) -> bytes:
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", n])
    out = helper.make_tensor_value_info("probability", TensorProto.FLOAT, ["batch", 1])
    graph = helper.make_graph(nodes, "g", [x], [out], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("custom", 1)],
                              **kwargs)
    model.ir_version = 8
    return model.SerializeToString()


def _looping(n: int, trips: int) -> bytes:
    """Scores like a model, after a Loop of ``trips`` empty iterations (666 bytes, days of work)."""
    body = helper.make_graph([helper.make_node("Identity", ["cond"], ["cond_out"])], "body",
                             [helper.make_tensor_value_info("i", TensorProto.INT64, []),
                              helper.make_tensor_value_info("cond", TensorProto.BOOL, [])],
                             [helper.make_tensor_value_info("cond_out", TensorProto.BOOL, [])])
    inits = [helper.make_tensor("w", TensorProto.FLOAT, [n, 1], [0.0] * n),
             helper.make_tensor("trips", TensorProto.INT64, [], [trips]),
             helper.make_tensor("go", TensorProto.BOOL, [], [True])]
    nodes = [helper.make_node("Loop", ["trips", "go"], [], body=body),
             helper.make_node("MatMul", ["x", "w"], ["z"]), helper.make_node("Sigmoid", ["z"], ["probability"])]
    return _model(nodes, n, inits)


def test_a_graph_running_an_operator_finlite_never_writes_is_refused(exported_dir: Path, tmp_path: Path,
                                                                      german_csv: Path) -> None:
    art = tmp_path / "student"
    shutil.copytree(exported_dir, art)
    n = Predictor(art).encoder.n_features
    # 3 trips, not 10**12: refused by what it is, and without the check this test fails instead of hanging.
    (art / "model.onnx").write_bytes(_looping(n, 3))
    rehash(art)
    with pytest.raises(ArtifactError, match=r"model\.onnx runs the operator 'Loop', which finlite's exporters never"):
        Predictor(art)
    out = tmp_path / "scores.csv"
    result = runner.invoke(app, ["score", str(art), str(german_csv), "-o", str(out)])  # returns at once
    assert result.exit_code == 2 and "runs the operator 'Loop'" in " ".join(result.output.split())
    assert not out.exists()


@pytest.mark.parametrize(("model", "message"), [
    (lambda: _model([helper.make_node("Relu", ["x"], ["r"], domain="custom"),
                     helper.make_node("Sigmoid", ["r"], ["probability"])], 3, []), r"runs the operator 'custom\.Relu'"),
    (lambda: _model([helper.make_node("TopK", ["x", "k"], ["probability", "i"])], 3,
                    [helper.make_tensor("k", TensorProto.INT64, [1], [1])]), "runs the operator 'TopK'"),
    (lambda: _model([helper.make_node("Sigmoid", ["x"], ["probability"])], 3, [], functions=[
        helper.make_function("custom", "f", ["a"], ["b"], [helper.make_node("Relu", ["a"], ["b"])],
                             [helper.make_opsetid("", 17)])]), "defines its own functions"),
    (lambda: b"\x3a\xff\xff\xff\xff\x0f", r"is not an ONNX model \(its bytes do not parse as one\)"),  # a graph longer than the file
    (lambda: _looping(3, 2)[:-7], "is not an ONNX model"),  # truncated
])
def test_foreign_or_malformed_graphs_are_refused(model, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ArtifactError, match=message):
        check_operators(model(), "model.onnx")


def test_the_graphs_finlite_writes_pass(exported_dir: Path) -> None:
    for name in ("model.onnx", "model_int8.onnx"):
        check_operators((exported_dir / name).read_bytes(), name)
    torch.manual_seed(0)
    # An int8 GRU runs in a Scan whose body is followed: its operators are checked too.
    int8 = quantize(SequenceModel("gru", 3, [8]), DynamicInt8()).model
    proto = to_onnx(int8)
    assert any(node.op_type == "Scan" for node in proto.graph.node)
    check_operators(proto.SerializeToString(), "int8 GRU")
    body_ops = {n.op_type for node in proto.graph.node if node.op_type == "Scan"
                for a in node.attribute for n in a.g.node}
    assert body_ops and body_ops <= ALLOWED_OPERATORS[""]


def _external(tensor: onnx.TensorProto, location: str, n: int) -> None:
    tensor.ClearField("raw_data")
    tensor.ClearField("float_data")
    tensor.data_location = TensorProto.EXTERNAL
    for key, value in (("location", location), ("offset", "0"), ("length", str(4 * n))):
        entry = tensor.external_data.add()
        entry.key, entry.value = key, value


def test_a_tensor_whose_values_live_in_another_file_is_refused(exported_dir: Path, tmp_path: Path,
                                                             german_csv: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """ONNX Runtime read an external tensor from the working directory: a re-hashed model.onnx
    pointing at "cwdfile" scored (exit 0) with weights no hash covers, and loaded or not by where
    it was run (a review of hostile artifact files, 2026-12-03)."""
    art = tmp_path / "student"
    shutil.copytree(exported_dir, art)
    proto = onnx.load(str(art / "model.onnx"))
    weight = next(t for t in proto.graph.initializer if t.data_type == TensorProto.FLOAT and len(t.dims) == 2)
    n = int(np.prod(weight.dims))
    _external(weight, "cwdfile", n)
    (art / "model.onnx").write_bytes(proto.SerializeToString())
    rehash(art)
    (tmp_path / "cwdfile").write_bytes(np.full(n, 0.5, dtype=np.float32).tobytes())
    monkeypatch.chdir(tmp_path)  # where the values are: ONNX Runtime would have found them
    with pytest.raises(ArtifactError, match=rf"model\.onnx keeps the values of tensor '{weight.name}' in an external "
                                            r"file, outside the bytes its hash covers"):
        Predictor(art)
    out = tmp_path / "scores.csv"
    result = runner.invoke(app, ["score", str(art), str(german_csv), "-o", str(out)])
    assert result.exit_code == 2 and "in an external file" in " ".join(result.output.split())
    assert not out.exists()
    # In a sparse initializer and in a node attribute (a Scan body's tensor) too; data_location alone suffices.
    values = helper.make_tensor("v", TensorProto.FLOAT, [2], [1.0, 2.0])
    _external(values, "x", 2)
    sparse = helper.make_sparse_tensor(values, helper.make_tensor("i", TensorProto.INT64, [2], [0, 1]), [3])
    with pytest.raises(ArtifactError, match=r"keeps the values of tensor 'v' in an external file"):
        check_operators(_with_sparse(sparse), "model.onnx")
    located = helper.make_tensor("loc", TensorProto.FLOAT, [1], [1.0])
    located.data_location = TensorProto.EXTERNAL
    body = helper.make_graph([helper.make_node("Identity", ["s"], ["s_out"]), helper.make_node("Identity", ["e"], ["y"])],
                             "body", [helper.make_tensor_value_info("s", TensorProto.FLOAT, [1]),
                                      helper.make_tensor_value_info("e", TensorProto.FLOAT, [1])],
                             [helper.make_tensor_value_info("s_out", TensorProto.FLOAT, [1]),
                              helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])], [located])
    nodes = [helper.make_node("Scan", ["x", "x"], ["a", "b"], body=body, num_scan_inputs=1),
             helper.make_node("Sigmoid", ["x"], ["probability"])]
    with pytest.raises(ArtifactError, match=r"keeps the values of tensor 'loc' in an external file"):
        check_operators(_model(nodes, 3, []), "model.onnx")


def test_a_tensor_attribute_after_long_number_lists_is_still_found() -> None:
    """The walk skips runs of list fields (a tree ensemble's nodes) in one match each; a tensor
    attribute among them (a forged ``*_as_tensor`` kept in an external file) is still read."""
    n = 5000
    lists = dict(nodes_treeids=list(range(n)), nodes_nodeids=[0] * n, nodes_featureids=[1] * n,
                 nodes_modes=["LEAF"] * n, nodes_values=[0.5] * n, nodes_truenodeids=[0] * n,
                 nodes_falsenodeids=[0] * n, target_weights=[-1.25e30] * n, n_targets=1)
    located = helper.make_tensor("base", TensorProto.FLOAT, [1], [0.0])
    located.data_location = TensorProto.EXTERNAL
    trees = helper.make_node("TreeEnsembleRegressor", ["x"], ["probability"], domain="ai.onnx.ml", **lists)
    clean = _model([trees], 3, [])
    check_operators(clean, "model.onnx")  # lists only: passes
    trees.attribute.append(helper.make_attribute("base_values_as_tensor", located))
    trees.attribute.append(helper.make_attribute("target_ids", list(range(n))))  # more lists after it
    with pytest.raises(ArtifactError, match=r"keeps the values of tensor 'base' in an external file"):
        check_operators(_model([trees], 3, []), "model.onnx")


def _with_sparse(sparse: onnx.SparseTensorProto) -> bytes:
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 3])
    out = helper.make_tensor_value_info("probability", TensorProto.FLOAT, ["batch", 1])
    graph = helper.make_graph([helper.make_node("Sigmoid", ["x"], ["probability"])], "g", [x], [out],
                              sparse_initializer=[sparse])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    return model.SerializeToString()


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200), st.binary(max_size=40))
def test_any_bytes_end_in_an_answer_or_an_artifact_error(noise: bytes, splice: bytes) -> None:
    # The walker reads untrusted bytes: whatever they are, it returns or refuses, never crashes.
    base = _looping(3, 2)
    cut = len(noise) % (len(base) + 1)
    for data in (noise, base[:cut] + splice + base[cut:]):
        with contextlib.suppress(ArtifactError):
            check_operators(data, "model.onnx")


def test_check_is_fast_on_a_large_tree_ensemble(boosted_dir: Path, german_csv: Path, tmp_path: Path) -> None:
    from finlite.jobs.export import export_artifact

    art = tmp_path / "teacher"
    shutil.copytree(boosted_dir, art)
    export_artifact(art, german_csv)  # the TreeEnsembleRegressor graph passes through the same check
    data = (art / "model.onnx").read_bytes()
    check_operators(data, "model.onnx")
    assert np.isfinite(Predictor(art).score_vector(np.zeros((1, Predictor(art).encoder.n_features)))).all()


def _scanning(n: int, steps: int) -> bytes:
    """Only allowed operators, but a Scan over a ConstantOfShape of a stored length: its body runs
    ``steps`` times whatever the input (10**9 steps would be days)."""
    body = helper.make_graph(
        [helper.make_node("Add", ["s", "e"], ["s2"]), helper.make_node("Identity", ["s2"], ["s_out"]),
         helper.make_node("Identity", ["e"], ["y"])], "body",
        [helper.make_tensor_value_info("s", TensorProto.FLOAT, [1]), helper.make_tensor_value_info("e", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("s_out", TensorProto.FLOAT, [1]), helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])])
    inits = [helper.make_tensor("w", TensorProto.FLOAT, [n, 1], [0.0] * n),
             helper.make_tensor("shape", TensorProto.INT64, [2], [steps, 1]),
             helper.make_tensor("s0", TensorProto.FLOAT, [1], [0.0])]
    nodes = [helper.make_node("ConstantOfShape", ["shape"], ["seq"]),
             helper.make_node("Scan", ["s0", "seq"], ["s_final", "ys"], body=body, num_scan_inputs=1),
             helper.make_node("MatMul", ["x", "w"], ["z"]), helper.make_node("Add", ["z", "s_final"], ["z2"]),
             helper.make_node("Sigmoid", ["z2"], ["probability"])]
    return _model(nodes, n, inits)


def _folding(n: int, size: int, chain: int) -> bytes:
    """Only allowed operators, none reading the input: MatMuls of a ConstantOfShape of ``size``
    × ``size``, added to the score times 0. ONNX Runtime's constant folding ran them while the
    session was built, before the probe's timer (25 s at 6,144, a security review, 2026-12-04)."""
    inits = [helper.make_tensor("w", TensorProto.FLOAT, [n, 1], [0.0] * n),
             helper.make_tensor("shape", TensorProto.INT64, [2], [size, size]),
             helper.make_tensor("zero", TensorProto.FLOAT, [], [0.0])]
    nodes = [helper.make_node("ConstantOfShape", ["shape"], ["m0"],
                              value=helper.make_tensor("one", TensorProto.FLOAT, [1], [1.0]))]
    for i in range(chain):
        nodes.append(helper.make_node("MatMul", [f"m{i}", "m0"], [f"m{i + 1}"]))
    nodes += [helper.make_node("ReduceSum", [f"m{chain}"], ["total"], keepdims=0),
              helper.make_node("Mul", ["total", "zero"], ["nothing"]),
              helper.make_node("MatMul", ["x", "w"], ["z"]), helper.make_node("Add", ["z", "nothing"], ["z2"]),
              helper.make_node("Sigmoid", ["z2"], ["probability"])]
    return _model(nodes, n, inits)


def test_a_graph_whose_stored_constants_are_costly_to_fold_is_stopped_by_the_probe(
        exported_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from finlite.runtime import _graph_ops

    monkeypatch.setattr(_graph_ops, "PROBE_SECONDS", 0.05)
    art = tmp_path / "student"
    shutil.copytree(exported_dir, art)
    n = Predictor(art).encoder.n_features
    # Four products of 2,048 × 2,048: about 7e10 floating-point operations, seconds on one core.
    # Folded at load they ran before the timer, and the probe then passed in microseconds.
    (art / "model.onnx").write_bytes(_folding(n, 2048, 4))
    rehash(art)
    with pytest.raises(ArtifactError, match=r"model\.onnx did not score one row within 0\.05 s"):
        Predictor(art)


def test_a_graph_of_allowed_operators_that_runs_for_ever_is_stopped_at_load(exported_dir: Path, tmp_path: Path,
                                                                          german_csv: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    from finlite.runtime import _graph_ops

    monkeypatch.setattr(_graph_ops, "PROBE_SECONDS", 0.3)
    art = tmp_path / "student"
    shutil.copytree(exported_dir, art)
    n = Predictor(art).encoder.n_features
    (art / "model.onnx").write_bytes(_scanning(n, 20_000_000))  # seconds of work at 0.3 s allowed
    rehash(art)
    check_operators((art / "model.onnx").read_bytes(), "model.onnx")  # the allowlist alone lets it through
    start = time.perf_counter()
    with pytest.raises(ArtifactError, match=r"model\.onnx did not score one row within 0\.3 s"):
        Predictor(art)
    assert time.perf_counter() - start < 5
    # evaluate runs model.onnx itself (the model evaluated is the model served): stopped there too.
    from finlite.jobs.evaluate import evaluate_artifact

    with pytest.raises(ArtifactError, match=r"model\.onnx did not score one row within 0\.3 s"):
        evaluate_artifact(art, german_csv, timing=False)
