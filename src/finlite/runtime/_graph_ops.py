"""Which operators an ONNX model runs, and that it keeps its values in itself, read from its
bytes before ONNX Runtime sees them.

A ``model.onnx`` is untrusted: its hash only says it is the file the manifest lists, and
someone who can write the folder can re-hash it. Its interface is checked by the Predictor
(one input ``x``, one score per row); this module narrows what the graph may *do*. finlite's
exporters (:mod:`finlite.export.graph`, :mod:`finlite.export.trees`) write a small, fixed set
of operators, and a graph with any other is refused: a ``Loop`` of 10^12 trips in a 666-byte
file would otherwise keep ``finlite score`` or a service worker busy for days, and model-local
functions or other domains would hide what runs.

The allowlist does not bound the work of a graph built from allowed operators against
finlite's intent: a ``Scan`` over a ``ConstantOfShape`` of a stored length repeats its body that
many times whatever the input. :func:`probe` scores one row under a time limit before a graph
is used, which stops that; sessions are built without constant folding
(:data:`NO_BUILD_TIME_WORK`), so no node runs before the probe's timer starts. A large constant shape still allocates: only a signature
(``finlite sign``, ``--verify-key``) says that a graph is the one finlite exported.

The runtime is torch-free and does not import the ``onnx`` package (0.75 s), so the protobuf
is walked here: only the few fields that hold nodes are read, each length checked against the
bytes that remain, and subgraphs are followed only inside the one allowed operator that has
them (``Scan``, which finlite's int8 recurrent models use).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from finlite.errors import ArtifactError

__all__ = ["ALLOWED_OPERATORS", "NO_BUILD_TIME_WORK", "PROBE_SECONDS", "check_operators", "probe"]

#: How long a graph may take to score one row of zeros before finlite uses it (see :func:`probe`).
PROBE_SECONDS = 10.0

#: Keyword arguments of every ``InferenceSession`` finlite builds. ONNX Runtime's constant folding
#: runs each node whose inputs are all stored, while the session is built, before :func:`probe`'s
#: timer starts: a re-hashed 5.7 KB graph of allowed operators (MatMuls of a ConstantOfShape of
#: 6,144 × 6,144) took 25 s to load, and a longer chain takes hours (a security review,
#: 2026-12-04 night). Without folding that work runs when the graph scores, under the probe's limit
#: (which ONNX Runtime checks between nodes: one costly node still runs to its end).
#: finlite's exporters leave nothing to fold (torch folds constants as it exports): every graph
#: they write, MLP, int8, GRU, LSTM, TCN, Transformer and tree ensemble, optimises to the same
#: nodes either way (checked 2026-12-04 with ``optimized_model_filepath``), so scoring speed is
#: unchanged.
NO_BUILD_TIME_WORK: dict[str, Any] = {"disabled_optimizers": ["ConstantFolding"]}

#: The operators finlite's exporters write, by domain ("" is the default ONNX domain).
ALLOWED_OPERATORS: dict[str, frozenset[str]] = {
    "": frozenset({
        "Abs", "Add", "And", "Cast", "Clip", "Concat", "ConstantOfShape", "Conv", "DequantizeLinear", "Div", "Erf",
        "Expand", "GRU", "Gather", "Gemm", "Greater", "GreaterOrEqual", "Identity", "LSTM", "LayerNormalization",
        "LessOrEqual", "MatMul", "MatMulInteger", "Max", "Min", "Mul", "Not", "QuantizeLinear", "ReduceMax",
        "ReduceSum", "Relu", "Reshape", "Round", "Scan", "Shape", "Sigmoid", "Slice", "Softmax", "Split", "Squeeze",
        "Sub", "Tanh", "Transpose", "Unsqueeze", "Where",
    }),
    "ai.onnx.ml": frozenset({"TreeEnsembleRegressor"}),
}
_WITH_SUBGRAPHS = frozenset({"Scan"})
_MAX_DEPTH = 4  # Scan bodies of finlite's graphs nest one level

# Field numbers of onnx.proto (ModelProto, GraphProto, NodeProto, AttributeProto).
_MODEL_GRAPH, _MODEL_FUNCTIONS = 7, 25
_GRAPH_NODE = 1
_NODE_OP_TYPE, _NODE_ATTRIBUTE, _NODE_DOMAIN = 4, 5, 7
_ATTR_GRAPH, _ATTR_GRAPHS = 6, 11


class _Malformed(Exception):
    """The bytes are not a protobuf message."""


class _Refused(Exception):
    """A valid protobuf with a shape finlite never writes (the reason is the message)."""


def _varint(buf: memoryview, pos: int) -> tuple[int, int]:
    value = shift = 0
    for _ in range(10):
        if pos >= len(buf):
            raise _Malformed
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7
    raise _Malformed


def _run(key: int) -> re.Pattern[bytes]:
    """A pattern matching a run of whole fields of the one-byte ``key`` (wire type 0, 1 or 5)."""
    found = _RUNS.get(key)
    if found is None:
        body = {0: rb"[\x80-\xff]{0,9}[\x00-\x7f]", 1: rb"[\x00-\xff]{8}", 5: rb"[\x00-\xff]{4}"}[key & 7]
        found = _RUNS[key] = re.compile(rb"(?:" + re.escape(bytes([key])) + body + rb")+")
    return found


_RUNS: dict[int, re.Pattern[bytes]] = {}


def _messages(buf: memoryview, wanted: frozenset[int]) -> Iterator[tuple[int, memoryview]]:
    """The length-delimited fields of one message whose numbers are in ``wanted``; others skipped.

    A tree ensemble's attributes are lists of numbers stored one field per value (``floats`` and
    ``ints`` are not packed in onnx.proto): a run of fields with one key is skipped by one regular
    expression match, in C, instead of a Python step per value (1.3 s for 200,000 tree nodes).
    """
    pos, end = 0, len(buf)
    while pos < end:
        at = pos
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        if key < 0x80 and wire in (0, 1, 5):
            whole = _run(key).match(buf, at)
            if whole is not None:
                pos = whole.end()
                continue
        if wire == 0:
            _, pos = _varint(buf, pos)
        elif wire == 1:
            pos += 8
        elif wire == 5:
            pos += 4
        elif wire == 2:
            length, pos = _varint(buf, pos)
            if pos + length > end:
                raise _Malformed
            if number in wanted:
                yield number, buf[pos:pos + length]
            pos += length
            if number not in wanted and key < 0x80:
                # A list of short strings (a tree ensemble's node modes): the same key and a
                # one-byte length each, skipped without a varint call per value.
                while pos + 1 < end and buf[pos] == key and buf[pos + 1] < 0x80:
                    pos += 2 + buf[pos + 1]
        else:  # groups (3, 4) are not used by ONNX; anything else is not protobuf
            raise _Malformed
        if pos > end:
            raise _Malformed


def _graph_operators(graph: memoryview, depth: int) -> Iterator[tuple[str, str]]:
    if depth > _MAX_DEPTH:
        raise _Refused(f"nests subgraphs more than {_MAX_DEPTH} levels deep, which finlite's graphs never do")
    for _, node in _messages(graph, frozenset({_GRAPH_NODE})):
        op_type, domain, attributes = "", "", []
        for number, value in _messages(node, frozenset({_NODE_OP_TYPE, _NODE_DOMAIN, _NODE_ATTRIBUTE})):
            if number == _NODE_OP_TYPE:
                op_type = bytes(value).decode("utf-8", "replace")
            elif number == _NODE_DOMAIN:
                domain = bytes(value).decode("utf-8", "replace")
            else:
                attributes.append(value)
        yield domain, op_type
        if op_type in _WITH_SUBGRAPHS:
            for attribute in attributes:
                for _, sub in _messages(attribute, frozenset({_ATTR_GRAPH, _ATTR_GRAPHS})):
                    yield from _graph_operators(sub, depth + 1)


# TensorProto, SparseTensorProto and the graph's tensor-holding fields (onnx.proto).
_GRAPH_INITIALIZER, _GRAPH_SPARSE_INITIALIZER = 5, 15
_ATTR_TENSOR, _ATTR_TENSORS, _ATTR_SPARSE_TENSOR, _ATTR_SPARSE_TENSORS = 5, 10, 22, 23
_SPARSE_VALUES, _SPARSE_INDICES = 1, 2
_TENSOR_NAME, _TENSOR_EXTERNAL_DATA, _TENSOR_DATA_LOCATION = 8, 13, 14


def _sparse_parts(sparse: memoryview) -> Iterator[memoryview]:
    for _, part in _messages(sparse, frozenset({_SPARSE_VALUES, _SPARSE_INDICES})):
        yield part


def _graph_tensors(graph: memoryview, depth: int) -> Iterator[memoryview]:
    """Every TensorProto a graph holds: initializers (dense and sparse) and node attributes'
    tensors, in every subgraph."""
    if depth > _MAX_DEPTH:
        raise _Refused(f"nests subgraphs more than {_MAX_DEPTH} levels deep, which finlite's graphs never do")
    wanted = frozenset({_GRAPH_NODE, _GRAPH_INITIALIZER, _GRAPH_SPARSE_INITIALIZER})
    for number, value in _messages(graph, wanted):
        if number == _GRAPH_INITIALIZER:
            yield value
        elif number == _GRAPH_SPARSE_INITIALIZER:
            yield from _sparse_parts(value)
        else:
            for _, attribute in _messages(value, frozenset({_NODE_ATTRIBUTE})):
                held = frozenset({_ATTR_TENSOR, _ATTR_TENSORS, _ATTR_SPARSE_TENSOR, _ATTR_SPARSE_TENSORS,
                                  _ATTR_GRAPH, _ATTR_GRAPHS})
                for kind, item in _messages(attribute, held):
                    if kind in (_ATTR_TENSOR, _ATTR_TENSORS):
                        yield item
                    elif kind in (_ATTR_SPARSE_TENSOR, _ATTR_SPARSE_TENSORS):
                        yield from _sparse_parts(item)
                    else:
                        yield from _graph_tensors(item, depth + 1)


def _external(tensor: memoryview) -> str | None:
    """The name of a tensor whose values live in another file (``data_location`` EXTERNAL, or
    ``external_data`` entries), None for a tensor that holds its own values."""
    name, external = "", False
    pos, end = 0, len(tensor)
    while pos < end:
        key, pos = _varint(tensor, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(tensor, pos)
            external |= number == _TENSOR_DATA_LOCATION and value != 0
        elif wire in (1, 5):
            pos += 8 if wire == 1 else 4
        elif wire == 2:
            length, pos = _varint(tensor, pos)
            if pos + length > end:
                raise _Malformed
            if number == _TENSOR_NAME:
                name = bytes(tensor[pos:pos + length]).decode("utf-8", "replace")
            external |= number == _TENSOR_EXTERNAL_DATA
            pos += length
        else:
            raise _Malformed
        if pos > end:
            raise _Malformed
    return (name or "(unnamed)") if external else None


def check_operators(model: bytes, where: str) -> None:
    """Refuse an ONNX model that runs an operator finlite's exporters never write.

    Raises:
        ArtifactError: naming ``where`` and the first operator refused (or the bytes are not an
            ONNX model); the message says how to fix it.
    """
    try:
        top = list(_messages(memoryview(model), frozenset({_MODEL_GRAPH, _MODEL_FUNCTIONS})))
        if any(number == _MODEL_FUNCTIONS for number, _ in top):
            raise ArtifactError(f"{where} defines its own functions, which finlite's exporters never write; "
                                "export the artifact again (finlite export).")
        graphs = [value for number, value in top if number == _MODEL_GRAPH]
        if not graphs:
            raise _Malformed
        if len(graphs) > 1:  # protobuf would merge them into one graph; finlite writes one
            raise _Refused(f"holds {len(graphs)} graph fields, which a reader merges into one; finlite writes one")
        for domain, op_type in _graph_operators(graphs[0], 0):
            if op_type not in ALLOWED_OPERATORS.get("" if domain == "ai.onnx" else domain, frozenset()):
                name = f"{domain}.{op_type}" if domain else op_type  # repr below: escapes in a forged name stay inert
                raise ArtifactError(f"{where} runs the operator {name[:80]!r}, "
                                    "which finlite's exporters never write (a graph is trusted for its arithmetic "
                                    "only as far as its hash goes, never for what it may run); export the artifact "
                                    "again (finlite export). A new exporter must also list its operators in "
                                    "finlite.runtime._graph_ops.ALLOWED_OPERATORS.")
        for tensor in _graph_tensors(graphs[0], 0):
            outside = _external(tensor)
            if outside is not None:
                # ONNX Runtime would read those values from a path relative to the working
                # directory: weights no hash covers, and a model that scores differently by where
                # it is run. finlite's exporters keep every value inside model.onnx.
                raise ArtifactError(f"{where} keeps the values of tensor {outside[:80]!r} in an external file, outside "
                                    "the bytes its hash covers; finlite's exporters never do. Export the artifact "
                                    "again (finlite export).")
    except _Refused as exc:
        raise ArtifactError(f"{where} {exc}; export the artifact again (finlite export).") from None
    except _Malformed:
        raise ArtifactError(f"{where} is not an ONNX model (its bytes do not parse as one); export the artifact "
                            "again (finlite export).") from None


def probe(session: Any, output: str, shape: tuple[int, ...], where: str) -> None:
    """Score one row of zeros of ``shape`` under :data:`PROBE_SECONDS` before the graph is used.

    Work that a graph does whatever its input (a Scan over a constant-length sequence) shows on
    one row; a run still going at the limit is stopped with ONNX Runtime's ``terminate`` flag.
    finlite's own graphs take microseconds to milliseconds here.

    Raises:
        ArtifactError: the run did not finish in time, or failed, naming ``where``.
    """
    import threading

    import numpy as np
    import onnxruntime as ort

    options = ort.RunOptions()
    options.log_severity_level = 4  # a stopped run is reported below, not also logged by ONNX Runtime
    timer = threading.Timer(PROBE_SECONDS, lambda: setattr(options, "terminate", True))
    timer.start()
    try:
        session.run([output], {"x": np.zeros(shape, dtype=np.float32)}, options)
    except Exception as exc:  # noqa: BLE001 - ONNX Runtime's own classes
        stopped = options.terminate
        raise ArtifactError(
            f"{where} " + (f"did not score one row within {PROBE_SECONDS:g} s" if stopped else
                           f"failed on one row of zeros ({type(exc).__name__}: {str(exc)[:200]})")
            + "; finlite's graphs score a row in milliseconds. Export the artifact again (finlite export).") from None
    finally:
        timer.cancel()
