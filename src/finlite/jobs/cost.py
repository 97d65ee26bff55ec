"""What the teacher and the student cost: bytes, parameters, FLOPs and latency by backend and batch size.

:func:`measure_costs` produces the numbers the report's ``cost`` section shows
(:func:`finlite.evaluate.cost_report.build_cost` reads them): for each model its bytes on disk,
stored and non-zero parameters, FLOPs per row (:mod:`finlite.evaluate.cost`), and the latency
p50/p99 and rows per second at batch sizes 1, 64 and 4096 in torch eager mode and in ONNX Runtime
(the model exported with :func:`finlite.export.graph.to_onnx` into a scratch file and run by the
runtime Predictor's session, batch 1 through its bound-buffer path, as :mod:`finlite.recipe.gates`
times a deployed model), with the CPU and its instruction-set features.

It lives in ``jobs`` because it needs ``export`` (above ``evaluate``); the section builder only
reads the dict.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from finlite._timing import cpu_info, latency_us
from finlite.errors import ConfigError, DataError, ExportError
from finlite.evaluate.cost import count_parameters, flops_per_row
from finlite.models.base import FinliteModel
from finlite.models.gbdt import remembered_scores

__all__ = ["BATCH_SIZES", "BUDGET_S", "measure_costs"]

#: Batch sizes timed: one record (a server), a small batch, a large batch (batch scoring).
BATCH_SIZES = (1, 64, 4096)
#: Seconds of timed calls per model, backend and batch size: 2 × 2 × 3 of them keep a full
#: measurement within a few seconds (the report is built by every compress).
BUDGET_S = 0.3
_MIN_REPEATS, _MAX_REPEATS = 3, 2000
_FORMAT = 1


def _timed(fn: Callable[[Any], Any], args: list[Any], rows: int) -> dict[str, Any]:
    """p50/p99 (µs per call) and rows per second (rows ÷ p50) of ``fn`` over ``args``, with as
    many repeats as fit :data:`BUDGET_S` (at least 3, after a warm-up that also estimates one call)."""
    start = time.perf_counter()
    fn(args[0])  # the warm-up, and an (over)estimate of one call
    one = max(time.perf_counter() - start, 1e-7)
    repeats = int(np.clip(BUDGET_S / one, _MIN_REPEATS, _MAX_REPEATS))
    # Fast calls get a further warm-up (caches, allocator); a call of over 10 ms is warm after one.
    t = latency_us(fn, args, repeats=repeats, warmup=min(repeats, 20) if one < 0.01 else 0)
    return {"p50_us": t["p50_us"], "p99_us": t["p99_us"],
            "rows_per_second": rows / (t["p50_us"] / 1e6) if t["p50_us"] > 0 else None, "repeats": repeats}


def _inputs(x: np.ndarray, batch: int) -> list[np.ndarray]:
    """Different records for batch 1 (as served); ``x``'s rows repeated to fill a larger batch."""
    if batch == 1:
        return [x[i:i + 1] for i in range(min(len(x), 256))]
    return [np.ascontiguousarray(np.resize(x, (batch, *x.shape[1:])))]


def _torch_latency(model: FinliteModel, x: np.ndarray) -> dict[str, Any]:
    model.eval()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the ONNX session: one thread, as a server scores side by side
    try:
        # Every timed call scores: a boosted teacher must not answer the repeated batch from memory.
        with torch.inference_mode(), remembered_scores(False):
            out = {}
            for batch in BATCH_SIZES:
                tensors = [torch.from_numpy(a) for a in _inputs(x, batch)]
                out[str(batch)] = _timed(model, tensors, batch)
            return out
    finally:
        torch.set_num_threads(threads)


def _onnx(model: FinliteModel, x: np.ndarray) -> tuple[int, dict[str, Any]]:
    """(bytes of the ONNX file, its latency by batch size)."""
    from finlite.export.graph import to_onnx
    from finlite.runtime.predictor import _Slot, model_session

    proto = to_onnx(model, in_features=int(x.shape[1]) if x.ndim == 2 else None)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.onnx"
        path.write_bytes(proto.SerializeToString())
        size = path.stat().st_size
        session = model_session(path.read_bytes(), threads=1, where=str(path))
    output = str(session.get_outputs()[0].name)

    def run(batch: np.ndarray) -> Any:
        return session.run([output], {"x": batch})

    out = {}
    for batch in BATCH_SIZES:
        args = _inputs(x, batch)
        if batch == 1 and x.ndim == 2:  # the Predictor's one-record path: buffers bound once
            out["1"] = _timed(_Slot(session, int(x.shape[1]), output).run_vector, args, 1)
        else:
            out[str(batch)] = _timed(run, args, batch)
    return size, out


def _check_bytes(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ConfigError(f"The '{name}' parameter of measure_costs must be the model's size on disk in bytes (a "
                          f"whole number >= 0); got {value!r}.", param=name)
    return int(value)


def _one(model: FinliteModel, x: np.ndarray, size: int, timing: bool) -> dict[str, Any]:
    total, nonzero = count_parameters(model)
    dense, sparse = flops_per_row(model, tuple(int(d) for d in x.shape[1:]) if x.ndim == 3 else None)
    entry: dict[str, Any] = {"kind": getattr(model, "kind", type(model).__name__), "bytes": size,
                             "parameters": int(total), "nonzero_parameters": int(nonzero),
                             "flops_per_row": int(dense), "flops_per_row_nonzero": int(sparse), "onnx_bytes": None,
                             "latency": {"torch": None, "onnxruntime": None}, "notes": []}
    if timing:  # the export itself costs time (a large booster: seconds): only when timing
        try:
            entry["onnx_bytes"], entry["latency"]["onnxruntime"] = _onnx(model, x)
        except ExportError as exc:
            entry["notes"].append(f"No ONNX form, so no ONNX Runtime latency: {exc}")
        try:
            entry["latency"]["torch"] = _torch_latency(model, x)
        except (RuntimeError, TypeError, ValueError) as exc:  # a model with no eager forward on tensors
            entry["notes"].append(f"Torch eager latency not measured: {exc}")
    return entry


def measure_costs(teacher: FinliteModel, student: FinliteModel, x_sample: Any, *, teacher_bytes: int,
                  student_bytes: int, timing: bool = True) -> dict[str, Any]:
    """Sizes, parameters, FLOPs and (with ``timing``) latency of ``teacher`` and ``student``.

    ``x_sample`` holds encoded rows ``[rows, features]`` (or windows ``[rows, steps, features]``)
    the models read; batch 1 cycles through up to 256 of them and larger batches repeat them.
    ``teacher_bytes`` / ``student_bytes`` are each model's size on disk (its weights file).

    Returns a JSON-ready dict: ``format``, ``timing``, ``batch_sizes``, ``threads`` (1: both
    backends on one thread), ``cpu`` (model, machine, cores, ISA features) and ``models``
    ``{"teacher": …, "student": …}``, each with ``kind``, ``bytes``, ``onnx_bytes`` (None when the
    model has no ONNX form), ``parameters``, ``nonzero_parameters``, ``flops_per_row``,
    ``flops_per_row_nonzero``, ``latency`` ``{"torch": {"1": {p50_us, p99_us, rows_per_second,
    repeats}, "64": …, "4096": …} | None, "onnxruntime": … | None}`` and ``notes``. Without
    ``timing`` nothing is exported or timed: every latency and ``onnx_bytes`` is None (a note says
    so), what the test-suite uses.

    Raises:
        ConfigError: a size that is not a whole number of bytes.
        DataError: ``x_sample`` is empty or not a 2-D / 3-D array of finite numbers.
    """
    sizes = {"teacher": _check_bytes("teacher_bytes", teacher_bytes),
             "student": _check_bytes("student_bytes", student_bytes)}
    x = np.ascontiguousarray(np.asarray(x_sample, dtype=np.float32))
    if x.ndim not in (2, 3) or len(x) == 0:
        raise DataError(f"measure_costs needs encoded rows [rows, features] or windows [rows, steps, features], at "
                        f"least one; got an array of shape {x.shape}.")
    if not np.isfinite(x).all():
        raise DataError("measure_costs needs finite inputs (encoded rows); the sample holds NaN or infinity.")
    models = {"teacher": teacher, "student": student}
    out: dict[str, Any] = {"format": _FORMAT, "timing": bool(timing), "batch_sizes": list(BATCH_SIZES), "threads": 1,
                           "sample_rows": len(x), "cpu": cpu_info(),
                           "models": {name: _one(m, x, sizes[name], timing) for name, m in models.items()},
                           "notes": []}
    if not timing:
        out["notes"].append("Latency was not measured (timing off): sizes, parameters and FLOPs only; no ONNX export.")
    else:
        out["notes"].append(f"Latency: p50/p99 per call after a warm-up, about {BUDGET_S:g} s of calls per model, "
                            "backend and batch size, one thread; rows per second = batch ÷ p50. The models are timed "
                            "on rows already encoded (the preprocessor's encoding of a raw record is not included: "
                            "finlite bench times it, from raw records). Batch 1 cycles through different rows; "
                            "larger batches repeat the sample's rows.")
    return out
