"""Timing a model as it is deployed: its ONNX export in the runtime Predictor's session.

Latency gates, ``finlite search`` and the reports (``compress``, ``evaluate``, ``report.md``) all
time models this way, so the numbers they show are the ones a server (batch 1, through the
Predictor's bound-buffer path) or a batch job (16,384 rows per call) sees, not torch eager's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from finlite._timing import latency_us, throughput
from finlite.errors import ExportError
from finlite.evaluate.cost import Timer, input_shape, measure_latency
from finlite.models.base import FinliteModel

__all__ = ["DEPLOYED_BATCH_ROWS", "REPORT_ROUNDS", "deployed_latency", "report_timer"]

#: Rows per call of the large batch (rows per second); batch 1 is timed row by row.
DEPLOYED_BATCH_ROWS = 16_384
#: Alternating rounds of a report's timings; each model keeps its best (noise only adds time).
REPORT_ROUNDS = 3


class _Deployed:
    """A model as it is deployed: its ONNX export in the runtime Predictor's session (one thread),
    batch 1 through the Predictor's bound-buffer path, a large batch in one call."""

    def __init__(self, model: FinliteModel, x: np.ndarray, batch_rows: int) -> None:
        from finlite.export.graph import to_onnx  # when timed: importing ONNX's builders is not free
        from finlite.runtime.predictor import _Slot, model_session

        self.session = model_session(to_onnx(model).SerializeToString(), threads=1)
        # "probability" for a classifier, "prediction" for a forecast: the graph's one output.
        self.output = str(self.session.get_outputs()[0].name)
        shape = tuple(x.shape[1:])
        x = np.ascontiguousarray(x, dtype=np.float32) if len(x) else np.zeros((1, *shape), np.float32)
        self.one: Any
        if len(shape) == 1:
            self.one = _Slot(self.session, shape[0], self.output).run_vector
        else:  # a window of a sequence [1, window, features]: one call per forecast
            self.one = self._score_batch
        self.rows = [x[i:i + 1] for i in range(min(len(x), 256))]  # different encoded records, as served
        self.batch = np.ascontiguousarray(np.resize(x, (batch_rows, *shape)))  # x's rows repeated
        self.p50: list[float] = []
        self.p99: list[float] = []
        self.rps: list[float] = []

    def _score_batch(self, batch: np.ndarray) -> Any:
        return self.session.run([self.output], {"x": batch})

    def measure(self, repeats: int) -> None:
        one = latency_us(self.one, self.rows, repeats=repeats, warmup=min(50, repeats))
        self.p50.append(one["p50_us"])
        self.p99.append(one["p99_us"])
        self.rps.append(throughput(self._score_batch, self.batch, len(self.batch), min_seconds=0.1))

    def result(self) -> dict[str, Any]:
        # The best round: on a shared machine noise only ever adds time.
        return {"latency_p50_us": min(self.p50), "latency_p99_us": min(self.p99),
                "rows_per_second": max(self.rps), "batch": len(self.batch), "timed": "onnx"}


def deployed_latency(models: list[FinliteModel], x: np.ndarray | Sequence[np.ndarray], *, repeats: int = 200,
                     rounds: int = 1, batch_rows: int = DEPLOYED_BATCH_ROWS) -> list[dict[str, Any]]:
    """Latency (batch-1 p50/p99 in µs) and rows per second of each model as deployed.

    Each model is exported to ONNX (no parity check: timing only) and scored by the runtime
    Predictor's ONNX Runtime session on the encoded rows ``x`` (one array for every model, or one
    per model where their encodings differ): one row at a time, as a server scores, and
    ``batch_rows`` rows per call, as batch scoring does. Several models are timed in alternating
    rounds so that they share the machine's conditions; each keeps its best round. A model with
    no ONNX form is timed in torch eager (``"timed": "torch"``; :func:`measure_latency`).
    """
    inputs = [x] * len(models) if isinstance(x, np.ndarray) else list(x)
    if len(inputs) != len(models):
        raise ValueError(f"deployed_latency needs one input array, or one per model; got {len(inputs)} "
                         f"for {len(models)} models")
    timers: list[_Deployed | None] = []
    for model, rows in zip(models, inputs, strict=True):
        try:
            timers.append(_Deployed(model, rows, batch_rows))
        except ExportError:
            timers.append(None)
    for _ in range(max(1, rounds)):
        for timer in timers:
            if timer is not None:
                timer.measure(repeats)
    out = []
    for model, rows, timer in zip(models, inputs, timers, strict=True):
        if timer is None:
            # One input is a row of features, or a window [steps, features] of a forecaster.
            # At the same batch as the others, so their rows/s compare.
            out.append({**measure_latency(model, input_shape(rows), repeats=repeats, batch=batch_rows,
                                          batch_repeats=3), "timed": "torch"})
        else:
            out.append(timer.result())
    return out


def report_timer(rounds: int = REPORT_ROUNDS) -> Timer:
    """The :data:`~finlite.evaluate.cost.Timer` that reports use: :func:`deployed_latency` with
    ``rounds`` alternating rounds (each model keeps its best)."""

    def timer(models: list[FinliteModel], inputs: Sequence[np.ndarray]) -> list[dict[str, Any]]:
        return deployed_latency(models, inputs, rounds=rounds)

    return timer

