"""The ``cost`` section of a report: what the student saves against the teacher.

It reads the dict :func:`finlite.jobs.cost.measure_costs` returns (the measurement needs the ONNX
export, a layer above this one): bytes on disk, parameters, FLOPs per row, latency p50/p99 and rows
per second by backend (torch eager, ONNX Runtime) and batch size, and the CPU they were timed on.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from finlite.errors import DataError
from finlite.evaluate.sections import Plot, Section, Series, Table, json_number

__all__ = ["SLOWER_TOLERANCE", "build_cost"]

#: The student counts as "not slower" at batch 1 when its p50 is within this share above the
#: teacher's: timings on a shared machine move by a few per cent from run to run.
SLOWER_TOLERANCE = 0.05
_BACKENDS = (("torch", "torch eager"), ("onnxruntime", "ONNX Runtime"))
_SIZES = (("bytes", "bytes on disk (weights)"), ("onnx_bytes", "ONNX bytes"), ("parameters", "parameters (stored)"),
          ("nonzero_parameters", "parameters (non-zero)"), ("flops_per_row", "FLOPs per row"),
          ("flops_per_row_nonzero", "FLOPs per row (non-zero weights)"))


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _ratio(student: Any, teacher: Any) -> float | None:
    s, t = _number(student), _number(teacher)
    return s / t if s is not None and t is not None and t > 0 else None


def _latency(entry: Mapping[str, Any], backend: str, batch: int, key: str) -> float | None:
    by_batch = (entry.get("latency") or {}).get(backend) or {}
    return _number((by_batch.get(str(batch)) or {}).get(key))


def build_cost(measured: Mapping[str, Any]) -> Section:
    """The ``cost`` section from :func:`finlite.jobs.cost.measure_costs`'s dict.

    Table: teacher, student and student ÷ teacher for bytes on disk, ONNX bytes, parameters
    (stored, non-zero), FLOPs per row, and per backend and batch size the p50/p99 latency per
    call and rows per second; a second table names the CPU and its instruction-set features.
    PASS when the student is smaller on disk and not slower at batch 1 in ONNX Runtime (p50 at
    most 5 % above the teacher's; judged on size alone when latency was not measured); WARN
    otherwise. Plot: the student's speed-up over the teacher by batch size, per backend.

    Raises:
        DataError: ``measured`` lacks the teacher's or the student's entry.
    """
    models = measured.get("models")
    if not isinstance(models, Mapping) or not all(isinstance(models.get(k), Mapping) for k in ("teacher", "student")):
        raise DataError("build_cost needs measure_costs' dict, with models.teacher and models.student; got keys "
                        f"{sorted(measured)}.")
    teacher, student = models["teacher"], models["student"]
    sizes = [int(b) for b in measured.get("batch_sizes") or (1, 64, 4096)]
    rows: list[list[Any]] = []
    for key, label in _SIZES:
        if teacher.get(key) is None and student.get(key) is None:
            continue
        rows.append([label, teacher.get(key), student.get(key), _ratio(student.get(key), teacher.get(key))])
    for backend, name in _BACKENDS:
        for batch in sizes:
            for key, what in (("p50_us", "p50 latency per call (µs)"), ("p99_us", "p99 latency per call (µs)"),
                              ("rows_per_second", "rows per second")):
                t, s = _latency(teacher, backend, batch, key), _latency(student, backend, batch, key)
                if t is None and s is None:
                    continue
                rows.append([f"{name}, batch {batch}: {what}", t, s, _ratio(s, t)])
    cpu = measured.get("cpu") or {}
    cpu_rows: list[list[Any]] = [["CPU", cpu.get("model")], ["machine", cpu.get("machine")], ["cores", cpu.get("cores")],
                ["instruction-set features", " ".join(cpu.get("isa") or []) or "none detected"],
                ["threads used", measured.get("threads")]]

    smaller = (_number(student.get("bytes")) or 0.0) < (_number(teacher.get("bytes")) or 0.0)
    t_one, s_one = _latency(teacher, "onnxruntime", 1, "p50_us"), _latency(student, "onnxruntime", 1, "p50_us")
    timed = t_one is not None and s_one is not None
    not_slower = (s_one <= t_one * (1 + SLOWER_TOLERANCE)) if timed else None  # type: ignore[operator]
    status = "PASS" if smaller and not_slower is not False else "WARN"
    size_ratio = _ratio(student.get("bytes"), teacher.get("bytes"))
    parts = [f"The student's weights take {student.get('bytes')} bytes on disk against the teacher's "
             f"{teacher.get('bytes')}" + (f" ({size_ratio:.1%})" if size_ratio is not None else "")]
    if t_one is not None and s_one is not None:  # timed
        parts.append(f"at batch 1 in ONNX Runtime it answers in {s_one:.1f} µs (p50) against {t_one:.1f} µs "
                     f"({t_one / s_one:.2f}× {'faster' if s_one <= t_one else 'the speed'})")
    else:
        parts.append("its ONNX Runtime latency was not measured")
    summary = "; ".join(parts) + "."
    notes = list(measured.get("notes") or [])
    for name, entry in (("teacher", teacher), ("student", student)):
        notes += [f"{name}: {n}" for n in entry.get("notes") or []]
    if not timed:
        notes.append("Without ONNX Runtime timings of both models the status is judged on size alone.")
    notes.append("Bytes on disk are each model's weights file; the preprocessor.json that encodes raw records "
                 "for it is not counted (a student reads its teacher's).")
    notes.append("FLOPs count one multiply and one add per weight of each linear layer, plus biases (a model may "
                 "count its own, e.g. tree nodes visited); the non-zero count is what a sparse kernel would do.")

    plots = []
    series = []
    for backend, name in _BACKENDS:
        speedups = [_ratio(_latency(teacher, backend, b, "p50_us"), _latency(student, backend, b, "p50_us"))
                    for b in sizes]
        if any(v is not None for v in speedups):
            series.append(Series(name=name, x=[float(i) for i in range(len(sizes))],
                                 y=[float("nan") if v is None else v for v in speedups], style="bar"))
    if series:
        plots.append(Plot(id="speedup_by_batch", title="Student speed-up over the teacher by batch size",
                          x_label="batch size (rows per call)", y_label="teacher p50 ÷ student p50 (above 1: faster)",
                          series=series, x_ticks=[str(b) for b in sizes]))
    metrics = {"models": json_number(dict(models)), "cpu": json_number(dict(cpu)), "timing": measured.get("timing"),
               "batch_sizes": sizes, "threads": measured.get("threads"),
               "ratios": {"bytes": size_ratio, "nonzero_parameters": _ratio(student.get("nonzero_parameters"),
                                                                            teacher.get("nonzero_parameters")),
                          "flops_per_row": _ratio(student.get("flops_per_row"), teacher.get("flops_per_row")),
                          "onnx_batch1_p50": None if not timed else _ratio(s_one, t_one)},
               "smaller": smaller, "not_slower_batch1_onnx": not_slower}
    return Section(id="cost", title="Cost: size and speed", status=status,  # type: ignore[arg-type]
                   threshold=f"PASS when the student is smaller on disk and not slower at batch 1 in ONNX Runtime "
                             f"(p50 at most {SLOWER_TOLERANCE:.0%} above the teacher's; size alone when latency "
                             "was not measured); WARN otherwise.",
                   summary=summary, metrics=metrics,
                   tables=[Table(id="cost", caption="Teacher and student: size, work per row and latency.",
                                 columns=["measure", "teacher", "student", "student ÷ teacher"], rows=rows),
                           Table(id="cpu", caption="Where the latency was measured.", columns=["item", "value"],
                                 rows=cpu_rows)],
                   plots=plots, notes=notes)
