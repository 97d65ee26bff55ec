"""ONNX graph builders: each model class registers the function that writes its graph.

:func:`to_onnx` looks the builder up by the model's class (:func:`register_exporter`), so a new
model kind adds one builder and one registration, and nothing here changes (a builder that uses
an operator no other one does also adds it to :data:`finlite.runtime._graph_ops.ALLOWED_OPERATORS`:
every session refuses graphs with operators outside that list). The builders of
MLPs, linear models, scorecards and window forecasters (recurrent, TCN, Transformer, MLP over
the window) are in this module; boosted tree
ensembles register theirs in :mod:`finlite.export.trees`. Parity between a graph and the
model it came from is checked in :mod:`finlite.export.parity`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper
from torch import nn

from finlite._version import __version__
from finlite.errors import ExportError
from finlite.models.base import FinliteModel
from finlite.models.bins import InputBins
from finlite.models.linear import LogisticRegression
from finlite.models.mlp import TabularMLP
from finlite.models.quantized import Int8Linear, QuantizedMLP
from finlite.models.scorecard import IntegerLogistic, ScorecardModel
from finlite.models.sequence import QuantizedSequenceModel, SequenceModel, int8_layers, rnn_layers, rnn_weights
from finlite.models.temporal import (
    QuantizedWindowMLP,
    TemporalConvNet,
    TransformerForecaster,
    WindowMLP,
    conv_layers,
)
from finlite.tasks import get_task, task_of_model

__all__ = ["OPSET", "Exporter", "exporter_for", "register_exporter", "registered_exporters", "to_onnx"]

OPSET = 17
IR_VERSION = 8  # what ONNX Runtime 1.14 and later read; the file stays loadable by older runtimes
#: A 2-D float weight with fewer non-zeros than this share is stored as a sparse initializer
#: (ONNX keeps an int64 index per non-zero, so sparse only saves bytes below a third).
SPARSE_DENSITY = 1 / 3
ML_DOMAIN, ML_OPSET = "ai.onnx.ml", 3


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

    def op(self, op_type: str, inputs: list[str], stem: str | None = None, **attrs: Any) -> str:
        """A node with one output; returns the output's name."""
        return self.ops(op_type, inputs, stem, 1, **attrs)[0]

    def ops(self, op_type: str, inputs: list[str], stem: str | None = None, outputs: int = 1,
            **attrs: Any) -> list[str]:
        """A node with ``outputs`` outputs; returns their names."""
        names = [self.name(stem or op_type.lower()) for _ in range(outputs)]
        self.nodes.append(helper.make_node(op_type, inputs, names, name=names[0], **attrs))
        return names

    def const(self, array: np.ndarray | np.generic | float, stem: str = "c", dtype: Any = np.float32) -> str:
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
        seq = int8_layers(layer if isinstance(layer, nn.Sequential) else [layer])
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


def _input_bins(g: _Graph, bins: InputBins, x: str) -> str:
    """:class:`~finlite.models.bins.InputBins` with torch's arithmetic: the binned columns (one per
    bin) and then the others are picked in one Gather, each bin's lower edge subtracted and its
    width divided by, and the bins clipped to [0, 1]. The other columns pass as they are: their
    "edge" is 0, their "width" 1 and their clip bounds ±inf, which change no value. The Gather runs
    on the transposed rows (a contiguous row per column): ONNX Runtime 1.32 gathers columns of a
    [65536, 82] batch 3.4x slower along axis 1 than along axis 0 of its transpose."""
    picked_columns = np.concatenate([bins.column.numpy(), bins.rest.numpy()]).astype(np.int64)
    n_bins, n_rest = len(bins.column), len(bins.rest)
    lo = np.concatenate([bins.lo.numpy(), np.zeros(n_rest, np.float32)])
    width = np.concatenate([bins.width.numpy(), np.ones(n_rest, np.float32)])
    high = np.concatenate([np.ones(n_bins, np.float32), np.full(n_rest, np.inf, np.float32)])
    low = np.concatenate([np.zeros(n_bins, np.float32), np.full(n_rest, -np.inf, np.float32)])
    columns = g.op("Gather", [g.op("Transpose", [x], perm=[1, 0]), g.const(picked_columns, "bins.columns")], axis=0)
    picked = g.op("Transpose", [columns], perm=[1, 0])
    scaled = g.op("Div", [g.op("Sub", [picked, g.const(lo, "bins.lo")]), g.const(width, "bins.width")])
    return g.op("Max", [g.op("Min", [scaled, g.const(high, "bins.high")]), g.const(low, "bins.low")])


def _mlp_logit(g: _Graph, model: TabularMLP | QuantizedMLP, x: str) -> str:
    bins = getattr(model, "bins", None)
    if isinstance(bins, InputBins):
        x = _input_bins(g, bins, x)
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
    for i, (layer, hidden) in enumerate(zip(rnn_layers(model.rnn), model.hidden, strict=True)):
        w_ih, w_hh, b_ih, b_hh = rnn_weights(layer)
        w = g.weight(_reorder(w_ih, model.cell)[None], f"rnn.{i}.W")
        r = g.weight(_reorder(w_hh, model.cell)[None], f"rnn.{i}.R")
        b = g.weight(np.concatenate([_reorder(b_ih, model.cell), _reorder(b_hh, model.cell)])[None], f"rnn.{i}.B")
        attrs: dict[str, Any] = {"hidden_size": hidden}
        if model.cell == "gru":
            attrs["linear_before_reset"] = 1  # torch applies the reset gate after the recurrent product
        y, y_h = g.ops(model.cell.upper(), [seq, w, r, b], f"rnn.{i}", outputs=2, **attrs)
        seq = g.op("Squeeze", [y, g.const(np.array([1], dtype=np.int64))])  # drop the direction axis
        last = g.op("Squeeze", [y_h, g.const(np.array([0], dtype=np.int64))])
    return _float_linear(g, last, model.head, "head")


def _sequence_int8(g: _Graph, model: QuantizedSequenceModel, x: str) -> str:
    """The int8 recurrence as a Scan over steps; each step's recurrent product is an int8 MatMulInteger."""
    seq = x
    last = ""
    for i, (ih, hh, hidden) in enumerate(zip(int8_layers(model.ih), int8_layers(model.hh), model.hidden,
                                             strict=True)):
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
        outs = g.ops("Scan", [*states, projected], f"scan.{i}", outputs=len(states) + 1, body=body,
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
        i, f, gg, o = g.ops("Split", [g.op("Add", [gi, gh]), split], outputs=4, axis=1)
        c_new = g.op("Add", [g.op("Mul", [g.op("Sigmoid", [f]), c]),
                             g.op("Mul", [g.op("Sigmoid", [i]), g.op("Tanh", [gg])])])
        h_new = g.op("Mul", [g.op("Sigmoid", [o]), g.op("Tanh", [c_new])])
        outputs = [h_new, c_new]
    else:
        ir, iz, inn = g.ops("Split", [gi, split], outputs=3, axis=1)
        hr, hz, hn = g.ops("Split", [gh, split], outputs=3, axis=1)
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


# -- window forecasters: MLP over the window, TCN, Transformer ------------------------------------
def _ints(values: list[int]) -> np.ndarray:
    return np.asarray(values, dtype=np.int64)


def _window_mlp(g: _Graph, model: WindowMLP | QuantizedWindowMLP, x: str) -> str:
    """Flatten ``[rows, window, features]`` to ``[rows, window·features]``, then the MLP."""
    flat = g.op("Reshape", [x, g.const(_ints([0, -1]), "flat_shape")])
    return _mlp_logit(g, model, flat)


def _tcn(g: _Graph, model: TemporalConvNet, x: str) -> str:
    """Causal dilated convolutions: ONNX Conv with the padding on the left only, then the last step."""
    h = g.op("Transpose", [x], perm=[0, 2, 1])  # [rows, features, steps]
    for i, conv in enumerate(conv_layers(model)):
        inputs = [h, g.weight(conv.weight, f"convs.{i}.weight")]
        if conv.bias is not None:
            inputs.append(g.weight(conv.bias, f"convs.{i}.bias"))
        h = g.op("Relu", [g.op("Conv", inputs, f"convs.{i}", kernel_shape=[model.kernel_size],
                                dilations=[conv.dilation[0]], pads=[model.left_padding(i), 0])])
    last = g.op("Gather", [h, g.const(np.int64(-1), "last", dtype=np.int64)], axis=2)  # [rows, channels]
    return _float_linear(g, last, model.head, "head")


def _matmul_linear(g: _Graph, x: str, layer: nn.Linear, stem: str) -> str:
    """A Linear on a tensor of any rank (Gemm takes only matrices): MatMul by Wᵀ, then the bias."""
    y = g.op("MatMul", [x, g.weight(layer.weight.detach().t().contiguous(), stem + ".weight")], stem)
    return g.op("Add", [y, g.weight(layer.bias, stem + ".bias")]) if layer.bias is not None else y


def _layer_norm(g: _Graph, x: str, norm: nn.LayerNorm, stem: str) -> str:
    return g.op("LayerNormalization", [x, g.weight(norm.weight, stem + ".weight"), g.weight(norm.bias, stem + ".bias")],
                stem, axis=-1, epsilon=float(norm.eps))


def _transformer(g: _Graph, model: TransformerForecaster, x: str) -> str:
    """The encoder op for op as :class:`TransformerForecaster` computes it."""
    dh = model.d_model // model.heads
    heads_shape = g.const(_ints([0, 0, model.heads, dh]), "heads_shape")
    merge_shape = g.const(_ints([0, 0, model.d_model]), "merge_shape")
    h = g.op("Add", [_matmul_linear(g, x, model.embed, "embed"), g.weight(model.position, "position")])
    for i, block in enumerate(model.encoder_blocks()):
        stem = f"blocks.{i}"
        a = _layer_norm(g, h, block.norm1, stem + ".norm1")

        def split(layer: nn.Linear, name: str, perm: list[int], a: str = a, stem: str = stem) -> str:
            t = g.op("Reshape", [_matmul_linear(g, a, layer, f"{stem}.{name}"), heads_shape])
            return g.op("Transpose", [t], perm=perm)

        q = split(block.q, "q", [0, 2, 1, 3])  # [rows, heads, steps, dh]
        k = split(block.k, "k", [0, 2, 3, 1])  # [rows, heads, dh, steps]: kᵀ directly
        v = split(block.v, "v", [0, 2, 1, 3])
        scores = g.op("Div", [g.op("MatMul", [q, k]), g.const(np.float32(math.sqrt(dh)))])
        ctx = g.op("MatMul", [g.op("Softmax", [scores], axis=-1), v])
        ctx = g.op("Reshape", [g.op("Transpose", [ctx], perm=[0, 2, 1, 3]), merge_shape])
        h = g.op("Add", [h, _matmul_linear(g, ctx, block.out, stem + ".out")])
        b = _layer_norm(g, h, block.norm2, stem + ".norm2")
        ff = _matmul_linear(g, g.op("Relu", [_matmul_linear(g, b, block.ff1, stem + ".ff1")]), block.ff2,
                            stem + ".ff2")
        h = g.op("Add", [h, ff])
    last = g.op("Gather", [h, g.const(np.int64(-1), "last", dtype=np.int64)], axis=1)  # [rows, d_model]
    return _float_linear(g, _layer_norm(g, last, model.norm, "norm"), model.head, "head")


# -- the model-level API --------------------------------------------------------------------------
# -- the exporter registry -------------------------------------------------------------------------
Builder = Callable[["_Graph", Any, str], str]
InputShape = Callable[[Any, "int | None"], list[Any]]


class Exporter:
    """How one model class becomes ONNX: ``build(graph, model, x)`` adds the nodes that turn input
    ``x`` into the model's logit (or regression prediction) and returns that tensor's name;
    ``input_shape(model, in_features)`` gives the input's shape."""

    def __init__(self, build: Builder, input_shape: InputShape) -> None:
        self.build, self.input_shape = build, input_shape


_EXPORTERS: dict[type, Exporter] = {}


def _tabular_shape(model: Any, in_features: int | None) -> list[Any]:
    return ["rows", model.in_features]


def register_exporter(*model_types: type, input_shape: InputShape = _tabular_shape) -> Callable[[Builder], Builder]:
    """Register the decorated builder as the ONNX form of ``model_types`` (exact classes)."""

    def decorate(build: Builder) -> Builder:
        for model_type in model_types:
            _EXPORTERS[model_type] = Exporter(build, input_shape)
        return build

    return decorate


def registered_exporters() -> dict[type, Exporter]:
    """Every model class with an ONNX builder (a copy)."""
    return dict(_EXPORTERS)


def exporter_for(model: FinliteModel) -> Exporter:
    """The builder registered for ``model``'s class.

    Raises:
        ExportError: the model kind has no ONNX form.
    """
    found = _EXPORTERS.get(type(model))
    if found is None:
        raise ExportError(
            f"A {model.kind!r} model has no ONNX export in finlite; distil it into an MLP or logistic student "
            "and export that.")
    return found


def _is_regression(model: FinliteModel) -> bool:
    """True for a model without decisions (a forecaster): its graph outputs the prediction itself."""
    return not get_task(task_of_model(model)).decides


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
    exporter = exporter_for(model)
    in_shape = exporter.input_shape(model, in_features)
    with torch.no_grad():
        out = exporter.build(g, model, x)
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


register_exporter(TabularMLP, QuantizedMLP)(_mlp_logit)
register_exporter(LogisticRegression)(lambda g, m, x: _float_linear(g, x, m.linear, "linear"))
register_exporter(IntegerLogistic)(lambda g, m, x: _column(g, _integer_logistic_logit(g, m, x)))
register_exporter(ScorecardModel)(lambda g, m, x: _column(g, _scorecard_logit(g, m, x)))
_sequence_shape: InputShape = lambda model, _: ["rows", "steps", model.in_features]  # noqa: E731
register_exporter(SequenceModel, input_shape=_sequence_shape)(_sequence_float)
register_exporter(QuantizedSequenceModel, input_shape=_sequence_shape)(_sequence_int8)
register_exporter(TemporalConvNet, input_shape=_sequence_shape)(_tcn)
_window_shape: InputShape = lambda model, _: ["rows", model.window, model.in_features]  # noqa: E731
register_exporter(WindowMLP, QuantizedWindowMLP, input_shape=_window_shape)(_window_mlp)
register_exporter(TransformerForecaster, input_shape=_window_shape)(_transformer)
