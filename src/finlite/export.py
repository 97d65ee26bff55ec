"""ONNX export of every model finlite produces, checked for parity with the model in memory.

:func:`to_onnx` writes each model kind as a plain ONNX graph (opset 17) built node by node,
so the file holds what the artifact holds:

- float weights as float32, or float16 (cast once at load) for an ``fp16`` model;
- weights that are mostly zeros (unstructured pruning) as ONNX sparse initializers;
- int8 weights as int8. A static int8 MLP (the fast form) quantizes each layer's input to
  uint8 with its calibrated scale and zero point (``QuantizeLinear``); hidden layers are written
  as QDQ pairs around a ``Gemm`` with an int32 bias, which ONNX Runtime fuses with the next
  layer's ``QuantizeLinear`` into ``QGemm`` (uint8 × int8 → int32, requantized to uint8; a
  ReLU before a zero point of 0 is dropped), and the last layer is ``MatMulInteger`` (uint8 ×
  int8 → int32) plus the int32 bias, rescaled to float. Dynamic int8 (and older static
  artifacts) use ``MatMulInteger`` (int8 × int8 → int32) after the input is quantized exactly
  as :class:`~finlite.models.quantized.Int8Linear` does;
- scorecards as bin look-ups of integer points; LSTM/GRU layers as ONNX ``LSTM``/``GRU`` ops
  (float) or a ``Scan`` loop over int8 products (int8).

:func:`export_artifact` adds ``model.onnx`` (and with ``int8=True`` an int8 ``model_int8.onnx``
of a float model) to an artifact after a parity check on the test split that collects every
mismatch before failing: the largest |Δprobability| and the decisions flipped at the cut-off.
Both are recorded in the manifest; a failed check raises :class:`ExportError` and writes nothing.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper
from torch import nn

from finlite._manifest import amend_artifact
from finlite._util import package_versions, sha256_bytes, utc_timestamp
from finlite._version import __version__
from finlite.errors import ExportError
from finlite.models.base import FinliteModel
from finlite.models.gbdt import BoostedEnsemble
from finlite.models.linear import LogisticRegression
from finlite.models.mlp import TabularMLP
from finlite.models.quantized import Int8Linear, QuantizedMLP
from finlite.models.scorecard import IntegerLogistic, ScorecardModel
from finlite.models.sequence import QuantizedSequenceModel, SequenceModel

__all__ = ["FP32_FILE", "INT8_FILE", "OPSET", "Parity", "check_parity", "export", "export_artifact",
           "int8_counterpart", "onnx_session", "run_onnx", "to_onnx"]

OPSET = 17
IR_VERSION = 8  # what ONNX Runtime 1.14 and later read; the file stays loadable by older runtimes
FP32_FILE, INT8_FILE = "model.onnx", "model_int8.onnx"
#: A 2-D float weight with fewer non-zeros than this share is stored as a sparse initializer
#: (ONNX keeps an int64 index per non-zero, so sparse only saves bytes below a third).
SPARSE_DENSITY = 1 / 3
#: Default tolerances on |Δprobability|: float graphs reorder sums (≈1e-7); int8 graphs may round
#: one activation to the neighbouring integer where ONNX and torch differ in the last bit.
FLOAT_TOLERANCE, INT8_TOLERANCE = 1e-5, 1e-3


# -- graph building ------------------------------------------------------------------------------
class _Graph:
    """Nodes and initializers of one ONNX graph, with unique names."""

    def __init__(self, float16: bool = False, prefix: str = "") -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self.sparse: list[onnx.SparseTensorProto] = []
        self.float16 = float16
        self.prefix = prefix
        self._n = 0

    def name(self, stem: str) -> str:
        self._n += 1
        return f"{self.prefix}{stem}_{self._n}"

    def op(self, op_type: str, inputs: list[str], stem: str | None = None, outputs: int = 1,
           **attrs: Any) -> Any:
        names = [self.name(stem or op_type.lower()) for _ in range(outputs)]
        self.nodes.append(helper.make_node(op_type, inputs, names, name=names[0], **attrs))
        return names[0] if outputs == 1 else names

    def const(self, array: np.ndarray | float, stem: str = "c", dtype: Any = np.float32) -> str:
        """An initializer holding ``array`` as it is (scalars become float32 by default)."""
        value = np.asarray(array, dtype=dtype) if np.isscalar(array) else np.ascontiguousarray(array)
        name = self.name(stem)
        self.inits.append(numpy_helper.from_array(value, name))
        return name

    def weight(self, tensor: torch.Tensor | np.ndarray, stem: str) -> str:
        """A float parameter: float32, float16 plus a Cast when the model stores float16, and a
        sparse initializer when mostly zeros. ONNX Runtime folds the Cast and densifies at load."""
        a = tensor.detach().cpu().numpy() if isinstance(tensor, torch.Tensor) else np.asarray(tensor)
        stored = a.astype(np.float16 if self.float16 else np.float32)
        if stored.ndim == 2 and np.count_nonzero(stored) < SPARSE_DENSITY * stored.size:
            name = self.name(stem)
            flat = stored.reshape(-1)
            idx = np.flatnonzero(flat).astype(np.int64)
            self.sparse.append(helper.make_sparse_tensor(numpy_helper.from_array(flat[idx], name),
                                                         numpy_helper.from_array(idx, name + "_indices"),
                                                         list(stored.shape)))
        else:
            name = self.const(stored, stem)
        return self.op("Cast", [name], stem + "_f32", to=TensorProto.FLOAT) if self.float16 else name


def _activation(g: _Graph, x: str, kind: str) -> str:
    if kind == "relu":
        return g.op("Relu", [x])
    if kind == "tanh":
        return g.op("Tanh", [x])
    if kind == "silu":
        return g.op("Mul", [x, g.op("Sigmoid", [x])])
    if kind == "gelu":  # torch's exact GELU: x · ½ · (1 + erf(x / √2))
        erf = g.op("Erf", [g.op("Div", [x, g.const(np.sqrt(2.0))])])
        return g.op("Mul", [g.op("Mul", [x, g.const(0.5)]), g.op("Add", [g.const(1.0), erf])])
    raise ExportError(f"Activation {kind!r} has no ONNX form in finlite; use relu, gelu, tanh or silu.")


def _float_linear(g: _Graph, x: str, layer: nn.Linear, stem: str) -> str:
    inputs = [x, g.weight(layer.weight, stem + ".weight")]
    if layer.bias is not None:
        inputs.append(g.weight(layer.bias, stem + ".bias"))
    return g.op("Gemm", inputs, stem, transB=1)


def _int8_linear(g: _Graph, x: str, layer: Int8Linear, stem: str) -> str:
    """Int8Linear: quantize x (per row, or with the calibrated scale), int8 × int8 → int32, rescale."""
    if layer.dynamic:
        amax = g.op("ReduceMax", [g.op("Abs", [x])], axes=[1], keepdims=1)
        scale = g.op("Max", [g.op("Div", [amax, g.const(127.0)]), g.const(1e-12)])
    else:
        scale = g.const(layer.input_scale.detach().numpy().astype(np.float32), stem + ".input_scale")
    clipped = g.op("Clip", [g.op("Round", [g.op("Div", [x, scale])]), g.const(-127.0), g.const(127.0)])
    xq = g.op("Cast", [clipped], to=TensorProto.INT8)
    w = g.const(layer.weight_int8.t().contiguous().numpy(), stem + ".weight_int8")  # [in, out]
    acc = g.op("Cast", [g.op("MatMulInteger", [xq, w])], to=TensorProto.FLOAT)
    # torch computes acc · (row scale · channel scale). ONNX Runtime (1.32) fuses MatMulInteger →
    # Cast → Mul into MatMulIntegerToFloat and then misreads a [rows, 1] scale when the layer has
    # one output (the parity check caught it), so the channel scale goes first -- a constant the
    # fusion handles -- and the row scale after; the two orders differ by float rounding only.
    channel = g.const(layer.weight_scale.detach().numpy().astype(np.float32), stem + ".weight_scale")
    scaled = g.op("Mul", [g.op("Mul", [acc, channel]), scale])
    return g.op("Add", [scaled, g.const(layer.bias.detach().numpy().astype(np.float32), stem + ".bias")])


def _uint8_linear(g: _Graph, x: str, layer: Int8Linear, stem: str, *, qdq: bool) -> str:
    """A uint8-input Int8Linear: quantize x with the calibrated scale and zero point, then
    ``qdq``: DQ(x)·DQ(W) + DQ(int32 bias) as one Gemm, the pattern ONNX Runtime turns into QGemm
    when a QuantizeLinear follows (the next layer's), or else MatMulInteger (uint8 × int8 →
    int32) + int32 bias, rescaled by ``input_scale · weight_scale`` as the model does."""
    scale = g.const(np.float32(layer.input_scale.item()), stem + ".input_scale")
    zero = g.const(np.uint8(int(layer.input_zero_point)), stem + ".input_zero_point", dtype=np.uint8)
    xq = g.op("QuantizeLinear", [x, scale, zero])
    w = g.const(layer.weight_int8.t().contiguous().numpy(), stem + ".weight_int8")  # [in, out]
    bias = g.const(layer.bias_int32().numpy(), stem + ".bias_int32")
    if qdq:
        out_features = layer.out_features
        x_f = g.op("DequantizeLinear", [xq, scale, zero])
        w_scale = g.const(layer.weight_scale.numpy().astype(np.float32), stem + ".weight_scale")
        w_zero = g.const(np.zeros(out_features, np.int8), stem + ".weight_zero_point")
        w_f = g.op("DequantizeLinear", [w, w_scale, w_zero], axis=1)
        b_f = g.op("DequantizeLinear", [bias, g.const(layer.output_scale().numpy(), stem + ".bias_scale"),
                                        g.const(np.zeros(out_features, np.int32), stem + ".bias_zero_point")], axis=0)
        return g.op("Gemm", [x_f, w_f, b_f], stem)
    acc = g.op("Add", [g.op("MatMulInteger", [xq, w, zero]), bias])
    rescale = g.const(layer.output_scale().numpy(), stem + ".scale")
    return g.op("Mul", [g.op("Cast", [acc], to=TensorProto.FLOAT), rescale])


def _uint8_mlp_logit(g: _Graph, model: QuantizedMLP, x: str) -> str:
    """A static uint8 QuantizedMLP, layer by layer; hidden layers in the QDQ form ONNX Runtime fuses."""
    parts: list[tuple[Int8Linear, bool]] = []  # each Int8Linear and whether the activation follows it
    for i, layer in enumerate(model.layers):
        seq = list(layer) if isinstance(layer, nn.Sequential) else [layer]
        parts.extend((part, j == len(seq) - 1 and i < len(model.layers) - 1) for j, part in enumerate(seq))
    for k, (layer, activation) in enumerate(parts):
        following = parts[k + 1][0] if k + 1 < len(parts) else None
        # QGemm needs the next QuantizeLinear right after the Gemm: directly, or behind a ReLU that
        # a zero point of 0 makes redundant (ONNX Runtime then drops the ReLU). Otherwise (the last
        # layer, a GELU...) MatMulInteger keeps the product in integers.
        qdq = following is not None and (not activation or (model.activation == "relu"
                                                            and int(following.input_zero_point) == 0))
        x = _uint8_linear(g, x, layer, f"layers.{k}", qdq=qdq)
        if activation:
            x = _activation(g, x, model.activation)
    return x


def _linear(g: _Graph, x: str, layer: nn.Module, stem: str) -> str:
    if isinstance(layer, Int8Linear):
        return _int8_linear(g, x, layer, stem)
    if isinstance(layer, nn.Linear):
        return _float_linear(g, x, layer, stem)
    if isinstance(layer, nn.Sequential):  # a low-rank factorised layer: two products
        for i, part in enumerate(layer):
            x = _linear(g, x, part, f"{stem}.{i}")
        return x
    raise ExportError(f"Layer type {type(layer).__name__} has no ONNX form in finlite.")


def _column(g: _Graph, x: str) -> str:
    """A ``[rows]`` output as ``[rows, 1]``, the shape every finlite graph returns."""
    return g.op("Unsqueeze", [x, g.const(np.array([1], dtype=np.int64), "axis")])


def _mlp_logit(g: _Graph, model: TabularMLP | QuantizedMLP, x: str) -> str:
    if isinstance(model, QuantizedMLP) and model.mode == "static_uint8":
        return _uint8_mlp_logit(g, model, x)
    for i, layer in enumerate(model.layers[:-1]):
        x = _activation(g, _linear(g, x, layer, f"layers.{i}"), model.activation)
    return _linear(g, x, model.layers[-1], f"layers.{len(model.layers) - 1}")


def _integer_logistic_logit(g: _Graph, model: IntegerLogistic, x: str) -> str:
    q = g.op("Cast", [g.const(model.weight_int.numpy(), "weight_int")], to=TensorProto.FLOAT)
    dot = g.op("MatMul", [x, q])
    return g.op("Add", [g.op("Mul", [dot, g.const(model.weight_scale.numpy().astype(np.float32), "weight_scale")]),
                        g.const(model.bias.numpy().astype(np.float32), "bias")])


def _scorecard_logit(g: _Graph, model: ScorecardModel, x: str) -> str:
    """Points summed in float64 (exact for integers), then (offset − score) / factor in float32."""
    k, bins = model.n_numeric, model.bins
    axis1 = g.const(np.array([1], dtype=np.int64), "axis")
    rows = g.op("Gather", [g.op("Shape", [x]), g.const(np.array([0], dtype=np.int64), "dim")], axis=0)
    total = g.op("Expand", [g.op("Cast", [g.const(model.base_points.numpy(), "base_points")], to=TensorProto.DOUBLE),
                            rows])
    if k:
        x_num = g.op("Slice", [x, g.const(np.array([0], dtype=np.int64)), g.const(np.array([k], dtype=np.int64)),
                               axis1])
        if bins > 1:  # bucketize(right=True): the number of edges at or below the value
            above = g.op("GreaterOrEqual", [g.op("Unsqueeze", [x_num, g.const(np.array([2], dtype=np.int64))]),
                                            g.const(model.edges.numpy().astype(np.float32), "edges")])
            bucket = g.op("ReduceSum", [g.op("Cast", [above], to=TensorProto.INT64),
                                        g.const(np.array([2], dtype=np.int64))], keepdims=0)
        else:
            bucket = g.op("Cast", [g.op("Mul", [x_num, g.const(0.0)])], to=TensorProto.INT64)
        flat_index = g.op("Add", [bucket, g.const(np.arange(k, dtype=np.int64) * bins, "offsets")])
        points = g.op("Cast", [g.const(model.numeric_points.numpy().reshape(-1), "numeric_points")],
                      to=TensorProto.DOUBLE)
        total = g.op("Add", [total, g.op("ReduceSum", [g.op("Gather", [points, flat_index]), axis1], keepdims=0)])
    if model.in_features > k:
        x_bin = g.op("Slice", [x, g.const(np.array([k], dtype=np.int64)),
                               g.const(np.array([model.in_features], dtype=np.int64)), axis1])
        binary = g.op("Cast", [g.op("Round", [x_bin])], to=TensorProto.DOUBLE)
        points = g.op("Cast", [g.const(model.binary_points.numpy(), "binary_points")], to=TensorProto.DOUBLE)
        total = g.op("Add", [total, g.op("MatMul", [binary, points])])
    score = g.op("Cast", [total], to=TensorProto.FLOAT)
    return g.op("Div", [g.op("Sub", [g.const(model.offset.numpy().astype(np.float32), "offset"), score]),
                        g.const(model.factor.numpy().astype(np.float32), "factor")])


# torch stacks gate blocks as LSTM (i, f, g, o) and GRU (r, z, n); ONNX wants (i, o, f, c) and (z, r, h).
_GATE_ORDER = {"lstm": (0, 3, 1, 2), "gru": (1, 0, 2)}


def _reorder(w: torch.Tensor, cell: str) -> np.ndarray:
    blocks = w.detach().numpy().reshape(len(_GATE_ORDER[cell]), -1, *w.shape[1:])
    return np.concatenate([blocks[i] for i in _GATE_ORDER[cell]], axis=0)


def _sequence_float(g: _Graph, model: SequenceModel, x: str) -> str:
    seq = g.op("Transpose", [x], perm=[1, 0, 2])  # [steps, rows, features], ONNX's default layout
    last = ""
    for i, (layer, hidden) in enumerate(zip(model.rnn, model.hidden, strict=True)):
        w = g.weight(_reorder(layer.weight_ih_l0, model.cell)[None], f"rnn.{i}.W")
        r = g.weight(_reorder(layer.weight_hh_l0, model.cell)[None], f"rnn.{i}.R")
        b = g.weight(np.concatenate([_reorder(layer.bias_ih_l0, model.cell),
                                     _reorder(layer.bias_hh_l0, model.cell)])[None], f"rnn.{i}.B")
        attrs: dict[str, Any] = {"hidden_size": hidden}
        if model.cell == "gru":
            attrs["linear_before_reset"] = 1  # torch applies the reset gate after the recurrent product
        y, y_h = g.op(model.cell.upper(), [seq, w, r, b], f"rnn.{i}", outputs=2, **attrs)
        seq = g.op("Squeeze", [y, g.const(np.array([1], dtype=np.int64))])  # drop the direction axis
        last = g.op("Squeeze", [y_h, g.const(np.array([0], dtype=np.int64))])
    return _float_linear(g, last, model.head, "head")


def _sequence_int8(g: _Graph, model: QuantizedSequenceModel, x: str) -> str:
    """The int8 recurrence as a Scan over steps; each step's recurrent product is an int8 MatMulInteger."""
    seq = x
    last = ""
    for i, (ih, hh, hidden) in enumerate(zip(model.ih, model.hh, model.hidden, strict=True)):
        shape = g.op("Shape", [seq])
        flat = g.op("Reshape", [seq, g.const(np.array([-1, ih.in_features], dtype=np.int64), "shape")])
        projected = _int8_linear(g, flat, ih, f"ih.{i}")
        rows_steps = g.op("Slice", [shape, g.const(np.array([0], dtype=np.int64)),
                                    g.const(np.array([2], dtype=np.int64))])
        out_shape = g.op("Concat", [rows_steps, g.const(np.array([ih.out_features], dtype=np.int64))], axis=0)
        projected = g.op("Reshape", [projected, out_shape])
        rows = g.op("Slice", [shape, g.const(np.array([0], dtype=np.int64)), g.const(np.array([1], dtype=np.int64))])
        state_shape = g.op("Concat", [rows, g.const(np.array([hidden], dtype=np.int64))], axis=0)
        zeros = g.op("ConstantOfShape", [state_shape], value=numpy_helper.from_array(np.zeros(1, np.float32)))
        body = _recurrent_step(hh, hidden, model.cell, prefix=f"step{i}_")
        states = [zeros, zeros] if model.cell == "lstm" else [zeros]
        outs = g.op("Scan", [*states, projected], f"scan.{i}", outputs=len(states) + 1, body=body,
                    num_scan_inputs=1, scan_input_axes=[1], scan_output_axes=[1])
        last, seq = outs[0], outs[-1]
    return _int8_linear(g, last, model.head, "head")


def _recurrent_step(hh: Int8Linear, hidden: int, cell: str, prefix: str) -> onnx.GraphProto:
    """One time step of QuantizedSequenceModel as a Scan body: states (h[, c]) and gi_t in."""
    g = _Graph(prefix=prefix)
    h, c, gi = prefix + "h", prefix + "c", prefix + "gi"
    gh = _int8_linear(g, h, hh, "hh")
    split = g.const(np.array([hidden] * (4 if cell == "lstm" else 3), dtype=np.int64), "split")
    if cell == "lstm":
        i, f, gg, o = g.op("Split", [g.op("Add", [gi, gh]), split], outputs=4, axis=1)
        c_new = g.op("Add", [g.op("Mul", [g.op("Sigmoid", [f]), c]),
                             g.op("Mul", [g.op("Sigmoid", [i]), g.op("Tanh", [gg])])])
        h_new = g.op("Mul", [g.op("Sigmoid", [o]), g.op("Tanh", [c_new])])
        outputs = [h_new, c_new]
    else:
        ir, iz, inn = g.op("Split", [gi, split], outputs=3, axis=1)
        hr, hz, hn = g.op("Split", [gh, split], outputs=3, axis=1)
        r = g.op("Sigmoid", [g.op("Add", [ir, hr])])
        z = g.op("Sigmoid", [g.op("Add", [iz, hz])])
        n = g.op("Tanh", [g.op("Add", [inn, g.op("Mul", [r, hn])])])
        h_new = g.op("Add", [g.op("Mul", [g.op("Sub", [g.const(1.0), z]), n]), g.op("Mul", [z, h])])
        outputs = [h_new]
    h_out = g.op("Identity", [h_new], "h_scan")
    state = [helper.make_tensor_value_info(n, TensorProto.FLOAT, ["rows", hidden])
             for n in ([h, c] if cell == "lstm" else [h])]
    inputs = [*state, helper.make_tensor_value_info(gi, TensorProto.FLOAT, ["rows", hh.out_features])]
    outs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, ["rows", hidden]) for n in [*outputs, h_out]]
    return helper.make_graph(g.nodes, prefix + "body", inputs, outs, initializer=g.inits)


# -- boosted trees (ai.onnx.ml TreeEnsembleRegressor) ------------------------------------------------
ML_DOMAIN, ML_OPSET = "ai.onnx.ml", 3
#: LightGBM's kZeroThreshold: with missing type "Zero", values within it take the default branch.
_LGB_ZERO = 1e-35


@dataclass
class _Trees:
    """The flat node and leaf lists TreeEnsembleRegressor takes, one entry per node or leaf."""

    tree: list[int] = field(default_factory=list)
    node: list[int] = field(default_factory=list)
    feature: list[int] = field(default_factory=list)
    mode: list[str] = field(default_factory=list)
    value: list[float] = field(default_factory=list)
    true: list[int] = field(default_factory=list)
    false: list[int] = field(default_factory=list)
    missing_true: list[int] = field(default_factory=list)
    leaf_tree: list[int] = field(default_factory=list)
    leaf_node: list[int] = field(default_factory=list)
    leaf_weight: list[float] = field(default_factory=list)

    def split(self, t: int, n: int, feature: int, mode: str, value: float, true: int, false: int,
              missing_true: bool) -> None:
        self.tree.append(t)
        self.node.append(n)
        self.feature.append(feature)
        self.mode.append(mode)
        self.value.append(value)
        self.true.append(true)
        self.false.append(false)
        self.missing_true.append(int(missing_true))

    def leaf(self, t: int, n: int, weight: float) -> None:
        self.split(t, n, 0, "LEAF", 0.0, 0, 0, False)
        self.leaf_tree.append(t)
        self.leaf_node.append(n)
        self.leaf_weight.append(weight)


def _lightgbm_trees(booster: Any) -> tuple[_Trees, float]:
    """LightGBM's own JSON dump as nodes. Its rule per split (tree.h, NumericalDecision): NaN counts
    as 0 unless the missing type is NaN; a missing value (NaN, or |x| ≤ 1e-35 for missing type
    Zero) takes the default branch; otherwise ``x <= threshold`` goes left. Thresholds are doubles
    and so is the comparison, so the graph keeps them as doubles."""
    dump = booster.dump_model()
    trees = _Trees()
    infos = dump.get("tree_info", [])
    scale = 1.0 / len(infos) if dump.get("average_output") and infos else 1.0  # random-forest mode averages
    for t, info in enumerate(infos):
        counter = [0]

        def walk(node: dict[str, Any], t: int = t, counter: list[int] = counter) -> int:
            me = counter[0]
            counter[0] += 1
            if "split_index" not in node:
                trees.leaf(t, me, float(node["leaf_value"]) * scale)
                return me
            if node.get("decision_type") != "<=":
                raise ExportError(f"LightGBM tree {t} has a {node.get('decision_type')!r} (categorical) split; the "
                                  "ONNX tree ensemble takes numeric splits only. Train the teacher on finlite's "
                                  "encoded columns (finlite train --model lightgbm).")
            threshold, default_left = float(node["threshold"]), bool(node["default_left"])
            missing = node.get("missing_type", "None")
            if missing == "NaN":
                missing_true = default_left
            elif missing == "Zero":
                # Zero and NaN take the default branch; the graph sends NaN there, and zero must go
                # there by its comparison too, or the split cannot be written as x <= threshold.
                missing_true = default_left
                if (threshold >= _LGB_ZERO) != default_left or -_LGB_ZERO <= threshold < _LGB_ZERO:
                    raise ExportError(
                        f"LightGBM tree {t}, split {node['split_index']}: zero_as_missing sends zero to the "
                        f"{'left' if default_left else 'right'} of the threshold {threshold!r}, which no ONNX "
                        "tree node can express. Retrain the booster with zero_as_missing=false.")
            else:  # None: NaN is read as 0 and compared
                missing_true = 0.0 <= threshold
            slot = len(trees.tree)
            trees.split(t, me, int(node["split_feature"]), "BRANCH_LEQ", threshold, -1, -1, missing_true)
            left = walk(node["left_child"])
            right = walk(node["right_child"])
            trees.true[slot], trees.false[slot] = left, right
            return me

        walk(info["tree_structure"])
    return trees, 0.0


def _xgboost_trees(booster: Any) -> tuple[_Trees, float]:
    """XGBoost's own model JSON as nodes. Its rule: a missing value takes the default branch,
    otherwise ``x < split_condition`` goes left ("yes"), compared in float32. The base score of a
    logistic objective is a probability, so the graph starts from its log-odds."""
    model = json.loads(bytes(booster.save_raw("json")))
    learner = model["learner"]
    gb = learner["gradient_booster"]
    drops = gb.get("weight_drop") if gb.get("name") == "dart" else None
    trees_json = (gb["gbtree"] if gb.get("name") == "dart" else gb)["model"]["trees"]
    trees = _Trees()
    for t, tree in enumerate(trees_json):
        left, right = tree["left_children"], tree["right_children"]
        cond, index, default = tree["split_conditions"], tree["split_indices"], tree["default_left"]
        weight = float(drops[t]) if drops else 1.0
        if any(tree.get("split_type", ())):  # 1 = a categorical split: a set test, not x < threshold
            raise ExportError(f"XGBoost tree {t} has a categorical split (enable_categorical); the ONNX tree "
                              "ensemble takes numeric splits only. Train the teacher on finlite's encoded columns "
                              "(finlite train --model xgboost).")
        stack = [0]
        while stack:
            n = stack.pop()
            if left[n] < 0:
                trees.leaf(t, n, float(np.float32(cond[n])) * weight)
                continue
            trees.split(t, n, int(index[n]), "BRANCH_LT", float(np.float32(cond[n])), int(left[n]), int(right[n]),
                        bool(default[n]))
            stack.extend((int(right[n]), int(left[n])))
    base = float(str(learner["learner_model_param"]["base_score"]).strip("[]"))
    objective = learner.get("objective", {}).get("name", "binary:logistic")
    if objective in ("binary:logistic", "reg:logistic"):
        base = float(np.log(base / (1.0 - base)))
    return trees, base


def _tree_ensemble(g: _Graph, x: str, trees: _Trees, base: float) -> str:
    """One TreeEnsembleRegressor summing every tree's leaf and ``base``: the log-odds, ``[rows, 1]``.

    Thresholds and leaf values are stored as doubles, so ONNX Runtime compares and sums
    in double precision, as LightGBM does (exact for XGBoost's float32 thresholds too)."""
    as_double = {"nodes_values_as_tensor": numpy_helper.from_array(np.asarray(trees.value, np.float64)),
                 "target_weights_as_tensor": numpy_helper.from_array(np.asarray(trees.leaf_weight, np.float64)),
                 # ONNX Runtime reads the base in the output's type (float32); a booster's base is a
                 # float32 already (XGBoost) or 0 (LightGBM folds it into the first tree).
                 "base_values": [base]}
    return g.op("TreeEnsembleRegressor", [x], "trees", domain=ML_DOMAIN, n_targets=1, aggregate_function="SUM",
                post_transform="NONE", nodes_treeids=trees.tree, nodes_nodeids=trees.node,
                nodes_featureids=trees.feature, nodes_modes=trees.mode, nodes_truenodeids=trees.true,
                nodes_falsenodeids=trees.false, nodes_missing_value_tracks_true=trees.missing_true,
                target_ids=[0] * len(trees.leaf_tree), target_treeids=trees.leaf_tree,
                target_nodeids=trees.leaf_node, **as_double)


def _raw_columns(g: _Graph, x: str, spec: dict[str, Any]) -> str:
    """An imported booster's raw columns from finlite's encoded row, as
    :meth:`~finlite.models.gbdt.BoostedEnsemble.features` computes them, in double precision:
    ``z · std + mean``, values within a few float32 ulps of zero snapped to 0, NaN where the
    column's missing indicator is 1."""
    index = np.asarray(spec["index"], dtype=np.int64)
    std = np.asarray(spec["std"], dtype=np.float64)
    mean = np.asarray(spec["mean"], dtype=np.float64)
    z = g.op("Cast", [g.op("Gather", [x, g.const(index, "columns")], axis=1)], to=TensorProto.DOUBLE)
    raw = g.op("Add", [g.op("Mul", [z, g.const(std, "std")]), g.const(mean, "mean")])
    eps4 = float(4 * np.finfo(np.float32).eps)
    tol = g.op("Mul", [g.op("Add", [g.const(np.abs(mean), "abs_mean"), g.op("Mul", [g.const(std, "std"),
                                                                                     g.op("Abs", [z])])]),
                       g.const(np.float64(eps4), "eps", dtype=np.float64)])
    zero = g.const(np.float64(0.0), "zero", dtype=np.float64)
    raw = g.op("Where", [g.op("LessOrEqual", [g.op("Abs", [raw]), tol]), zero, raw])
    indicators = [int(i) if i is not None and int(i) >= 0 else -1 for i in spec.get("missing_index", [])]
    if any(i >= 0 for i in indicators):
        has = np.asarray([i >= 0 for i in indicators] + [False] * (len(index) - len(indicators)))
        gathered = g.op("Gather", [x, g.const(np.asarray([max(i, 0) for i in indicators]
                                                         + [0] * (len(index) - len(indicators)), np.int64),
                                              "indicators")], axis=1)
        missing = g.op("And", [g.op("Greater", [gathered, g.const(0.5)]), g.const(has, "has_indicator", dtype=bool)])
        raw = g.op("Where", [missing, g.const(np.float64(np.nan), "nan", dtype=np.float64), raw])
    return raw


def _boosted_logit(g: _Graph, model: BoostedEnsemble, x: str) -> str:
    """A LightGBM or XGBoost teacher: its trees read from the library's own dump."""
    booster = model.model
    trees, base = _lightgbm_trees(booster) if model.library == "lightgbm" else _xgboost_trees(booster)
    if model.input.get("mode") == "columns":
        x = _raw_columns(g, x, model.input)
        if model.library == "xgboost":  # XGBoost reads its features as float32 (rounded to nearest)
            x = g.op("Cast", [x], to=TensorProto.FLOAT)
    # ONNX Runtime compares and sums in the input's type: doubles, as LightGBM does (and exact for
    # XGBoost's float32 features and thresholds); float32 thresholds would need rounding per split.
    if model.input.get("mode") != "columns" or model.library == "xgboost":
        x = g.op("Cast", [x], to=TensorProto.DOUBLE)
    return _tree_ensemble(g, x, trees, base)


def _boosted_width(model: BoostedEnsemble) -> int | str:
    if model.input.get("mode") == "columns":
        return "features"  # the encoded width is not stored with an imported booster; the Predictor checks it
    booster = model.model
    return int(booster.num_feature()) if model.library == "lightgbm" else int(booster.num_features())


# -- the model-level API --------------------------------------------------------------------------
def _is_regression(model: FinliteModel) -> bool:
    return getattr(model, "task", "classification") == "regression"


def to_onnx(model: FinliteModel, *, in_features: int | None = None) -> onnx.ModelProto:
    """The ONNX form of ``model``: input ``x`` (``[rows, features]``, or ``[rows, steps,
    features]`` for sequence models) and outputs ``probability`` and ``logit`` (``[rows, 1]``),
    or ``prediction`` for a regression forecaster.

    A LightGBM or XGBoost teacher becomes an ``ai.onnx.ml`` TreeEnsembleRegressor (its log-odds)
    and a Sigmoid. An imported booster reads raw columns that the graph rebuilds from finlite's
    encoded row; ``in_features`` (the encoded width) fixes the input's width then.

    Raises:
        ExportError: the model kind has no ONNX form, or a booster holds a split no ONNX tree
            node can express (categorical, or zero_as_missing against its threshold).
    """
    model.eval()
    g = _Graph(float16=getattr(model, "weight_storage", "float32") == "float16")
    x = "x"
    builders: dict[type, Callable[[_Graph, Any, str], str]] = {
        TabularMLP: _mlp_logit, QuantizedMLP: _mlp_logit,
        LogisticRegression: lambda g, m, x: _float_linear(g, x, m.linear, "linear"),
        IntegerLogistic: lambda g, m, x: _column(g, _integer_logistic_logit(g, m, x)),
        ScorecardModel: lambda g, m, x: _column(g, _scorecard_logit(g, m, x)),
        SequenceModel: _sequence_float, QuantizedSequenceModel: _sequence_int8,
        BoostedEnsemble: _boosted_logit,
    }
    builder = builders.get(type(model))
    if builder is None:
        raise ExportError(
            f"A {model.kind!r} model has no ONNX export in finlite; distil it into an MLP or logistic student "
            "and export that.")
    if isinstance(model, BoostedEnsemble):
        in_shape: list[Any] = ["rows", in_features or _boosted_width(model)]
    else:
        in_shape = ["rows", model.in_features]  # type: ignore[attr-defined]
    if isinstance(model, (SequenceModel, QuantizedSequenceModel)):
        in_shape = ["rows", "steps", model.in_features]
    with torch.no_grad():
        out = builder(g, model, x)
    # The last node's output becomes the graph output itself: no Identity or Reshape node, because
    # at batch 1 every extra node costs ONNX Runtime a few hundred nanoseconds.
    last = next(n for n in reversed(g.nodes) if out in n.output)
    name = "prediction" if _is_regression(model) else "logit"
    last.output[list(last.output).index(out)] = name
    if _is_regression(model):
        outputs = [helper.make_tensor_value_info("prediction", TensorProto.FLOAT, ["rows", 1])]
    else:
        g.nodes.append(helper.make_node("Sigmoid", ["logit"], ["probability"], name="probability"))
        outputs = [helper.make_tensor_value_info("probability", TensorProto.FLOAT, ["rows", 1]),
                   helper.make_tensor_value_info("logit", TensorProto.FLOAT, ["rows", 1])]
    graph = helper.make_graph(g.nodes, f"finlite_{model.kind}",
                              [helper.make_tensor_value_info(x, TensorProto.FLOAT, in_shape)], outputs,
                              initializer=g.inits, sparse_initializer=g.sparse)
    opsets = [helper.make_opsetid("", OPSET)]
    if any(n.domain == ML_DOMAIN for n in g.nodes):
        opsets.append(helper.make_opsetid(ML_DOMAIN, ML_OPSET))
    proto = helper.make_model(graph, opset_imports=opsets, producer_name="finlite",
                              producer_version=__version__, doc_string=f"finlite {model.kind} model")
    proto.ir_version = IR_VERSION
    helper.set_model_props(proto, {"finlite.kind": model.kind, "finlite.config": repr(model.config())})
    onnx.checker.check_model(proto)
    return proto


def onnx_session(model: bytes | str | os.PathLike[str], threads: int = 1) -> Any:
    """An ONNX Runtime CPU session; ``threads`` intra-op threads (1 suits batch-1 scoring)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    source = model if isinstance(model, bytes) else str(model)
    return ort.InferenceSession(source, options, providers=["CPUExecutionProvider"])


def run_onnx(session: Any, x: np.ndarray, output: str = "probability") -> np.ndarray:
    """One output of an ONNX session for the float32 input ``x``, one value per row."""
    return session.run([output], {"x": np.ascontiguousarray(x, dtype=np.float32)})[0].reshape(-1)


# -- parity ----------------------------------------------------------------------------------------
@dataclass
class Parity:
    """How far an exported model's outputs are from the model in memory on the same rows."""

    rows: int
    max_abs_diff: float
    mean_abs_diff: float
    flips: int
    tolerance: float
    max_flips: int
    cutoff: float | None
    worst_rows: list[int] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """True when no problem was found."""
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (recorded in the manifest)."""
        out = asdict(self)
        out["passed"] = self.passed
        return out


def check_parity(reference: np.ndarray, exported: np.ndarray, *, cutoff: float | None, tolerance: float,
                 max_flips: int = 0, what: str = "probability") -> Parity:
    """Compare outputs row by row and collect every problem (shape, non-finite values, the
    largest difference, decisions flipped at ``cutoff``) rather than stopping at the first."""
    ref = np.asarray(reference, dtype=np.float64).reshape(-1)
    got = np.asarray(exported, dtype=np.float64).reshape(-1)
    problems: list[str] = []
    if ref.shape != got.shape:
        problems.append(f"the exported model returned {got.size} values for {ref.size} rows")
        return Parity(ref.size, float("inf"), float("inf"), ref.size, tolerance, max_flips, cutoff, [], problems)
    nonfinite = int((~np.isfinite(got)).sum())
    if nonfinite:
        problems.append(f"{nonfinite} exported {what} values are NaN or infinite")
    diff = np.abs(np.nan_to_num(got, nan=np.inf) - ref)
    max_diff = float(diff.max()) if diff.size else 0.0
    if max_diff > tolerance:
        problems.append(f"max |Δ{what}| is {max_diff:.3g}, above the tolerance {tolerance:g} "
                        f"({int((diff > tolerance).sum())} of {ref.size} rows)")
    flips = int(((ref >= cutoff) != (got >= cutoff)).sum()) if cutoff is not None else 0
    if flips > max_flips:
        problems.append(f"{flips} decisions flip at the cut-off {cutoff:g} (allowed: {max_flips})")
    worst = [int(i) for i in np.argsort(-diff, kind="stable")[:5]] if diff.size else []
    mean = float(diff.mean()) if diff.size else 0.0
    return Parity(int(ref.size), max_diff, mean, flips, tolerance, max_flips, cutoff, worst, problems)


def _reference(model: FinliteModel, x: np.ndarray) -> np.ndarray:
    with torch.inference_mode():
        out = model(torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)))
    return out.numpy() if _is_regression(model) else torch.sigmoid(out).numpy()


def export(model: FinliteModel, x: np.ndarray, *, cutoff: float | None = 0.5, tolerance: float | None = None,
           max_flips: int = 0) -> tuple[bytes, Parity]:
    """The ONNX bytes of ``model`` and its parity with the model on the rows ``x``.

    ``tolerance`` defaults to 1e-5 for float models and 1e-3 for int8 ones; ``cutoff`` is
    ignored for regression forecasters (no decisions).

    Raises:
        ExportError: no ONNX form, or parity broken; the error lists every problem found.
    """
    int8 = isinstance(model, (QuantizedMLP, QuantizedSequenceModel))
    tol = tolerance if tolerance is not None else (INT8_TOLERANCE if int8 else FLOAT_TOLERANCE)
    width = int(x.shape[1]) if isinstance(model, BoostedEnsemble) and x.ndim == 2 else None
    data = to_onnx(model, in_features=width).SerializeToString()
    output = "prediction" if _is_regression(model) else "probability"
    got = run_onnx(onnx_session(data), x, output)
    parity = check_parity(_reference(model, x), got, cutoff=None if _is_regression(model) else cutoff,
                          tolerance=tol, max_flips=max_flips, what=output)
    if not parity.passed:
        raise ExportError(f"The ONNX export of the {model.kind!r} model does not match the model in memory on "
                          f"{parity.rows} rows: " + "; ".join(parity.problems) + ". Nothing was written.",
                          problems=parity.problems, parity=parity.to_dict())
    return data, parity


def int8_counterpart(model: FinliteModel) -> FinliteModel | None:
    """The dynamic int8 form of a float model (None when the model is integer already)."""
    from finlite.compress.linear import IntegerWeights, integer_logistic
    from finlite.compress.quantize import convert_to_int8
    from finlite.models.sequence import quantize_sequence

    if isinstance(model, TabularMLP):
        return convert_to_int8(model, None)
    if isinstance(model, LogisticRegression):
        return integer_logistic(model, IntegerWeights(bits=8))
    if isinstance(model, SequenceModel):
        return quantize_sequence(model)
    if isinstance(model, (QuantizedMLP, QuantizedSequenceModel, IntegerLogistic, ScorecardModel)):
        return None
    if isinstance(model, BoostedEnsemble):
        raise ExportError("A boosted-tree teacher has no int8 ONNX form: its trees compare the inputs with "
                          "thresholds, which int8 would move. Export it without --int8 (finlite export ARTIFACT); "
                          "int8 is for the distilled student.")
    raise ExportError(f"A {model.kind!r} model has no int8 ONNX form in finlite.")


def _record(data: bytes, parity: Parity, file: str) -> dict[str, Any]:
    return {"file": file, "sha256": sha256_bytes(data), "bytes": len(data), "opset": OPSET,
            "created_utc": utc_timestamp(),
            "versions": package_versions(("onnx", "onnxruntime")),
            "parity": parity.to_dict()}


def export_artifact(artifact: Any, data: Any = None, *, int8: bool = False, tolerance: float | None = None,
                    max_flips: int = 0, key: Any = None, verify_key: Any = None) -> dict[str, Any]:
    """Export an artifact's model to ONNX inside the artifact, after a parity check on its test split.

    Writes ``model.onnx`` (the model as it is: float, or integer for an int8/scorecard model)
    and, with ``int8=True`` for a float model, ``model_int8.onnx``: its dynamic int8 form. The
    int8 file must match finlite's own int8 model (parity); its decisions flipped against the
    float model are measured and recorded, not failed on. ``data`` is the artifact's training
    table (default: the recorded source when it is a bundled dataset or an existing file).

    A signed artifact (``finlite sign``) is re-signed with ``key`` (private key PEM path), since
    the export changes its manifest; without ``key`` it is refused before anything is computed.
    ``verify_key`` is the public key the artifact is verified with when loaded.

    Returns the manifest's new ``export`` section.

    Raises:
        ExportError: no ONNX form, or parity broken (every problem listed; nothing written).
        DataError: the data is not the artifact's training table or cannot be found.
        ArtifactError: the artifact is signed and no ``key`` was given (nothing written).
    """
    from finlite._manifest import SIGNATURE
    from finlite.artifact import Artifact, load
    from finlite.errors import ArtifactError
    from finlite.evaluate.metrics import auc as roc_auc
    from finlite.signing import load_private_key
    from finlite.workflow import prepare_like, recorded_table

    private = load_private_key(key) if key is not None else None  # a bad key fails before any work
    art = artifact if isinstance(artifact, Artifact) else load(artifact, verify_key=verify_key)
    if private is None and os.path.lexists(art.path / SIGNATURE):
        raise ArtifactError(f"Artifact {str(art.path)!r} is signed ({SIGNATURE}); exporting changes its manifest, "
                            "which would void the signature. Pass the signing key (finlite export --key "
                            "PRIVATE.pem, or key= in Python) to re-sign it; nothing was written.")
    prepared = prepare_like(art, data if data is not None else recorded_table(art))
    x, y = prepared.x_test, prepared.y_test
    files: dict[str, bytes] = {}
    record: dict[str, Any] = {"split": "test", "rows": int(len(x)), "cutoff": art.cutoff}
    fp32, parity = export(art.model, x, cutoff=art.cutoff, tolerance=tolerance, max_flips=max_flips)
    files[FP32_FILE] = fp32
    record["onnx"] = _record(fp32, parity, FP32_FILE)
    if int8:
        quantized = int8_counterpart(art.model)
        if quantized is None:
            record["onnx_int8"] = {"same_as": FP32_FILE, "reason": f"the {art.model.kind!r} model is integer already"}
        else:
            data8, parity8 = export(quantized, x, cutoff=art.cutoff)
            files[INT8_FILE] = data8
            p_float = _reference(art.model, x)
            p_int8 = run_onnx(onnx_session(data8), x)
            effect = check_parity(p_float, p_int8, cutoff=art.cutoff, tolerance=float("inf"),
                                  max_flips=len(x))
            record["onnx_int8"] = {**_record(data8, parity8, INT8_FILE), "kind": quantized.kind,
                                   "against_float": {"max_abs_diff": effect.max_abs_diff, "flips": effect.flips,
                                                     "auc_float": roc_auc(y, p_float),
                                                     "auc_int8": roc_auc(y, p_int8.astype(np.float64))}}
    # Pinned to the manifest loaded above: a folder changed during the parity check is refused,
    # so the key never signs what was not verified (and the ONNX files match the weights beside them).
    amend_artifact(art.path, files, {"export": record}, sign_with=private, verify_key=verify_key,
                   manifest_sha256=art.manifest["manifest_sha256"])
    return record
