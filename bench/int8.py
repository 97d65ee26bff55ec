"""Benchmark: where int8 pays. float32 against int8 ONNX models, side by side in one run.

Run with ``make bench`` or ``python bench/int8.py [--quick]``. For tiny students (16, 32-16) and
teacher-size layers (512-256-128), all on 124 encoded features (the width of the held-back
credit set in issue 10), three exports of the same weights are timed through the runtime
Predictor's ONNX Runtime session (one thread, as ``finlite serve`` runs):

- ``fp32``: the float model (``Gemm``);
- ``int8 static``: finlite's fast form (uint8 activations with calibrated scales, per-channel
  int8 weights; ONNX Runtime runs ``QGemm`` / ``MatMulInteger``), what ``static_int8`` and the
  presets produce;
- ``int8 dynamic``: the per-row dynamic form (``MatMulInteger`` int8 × int8 after a
  run-time range), what ``dynamic_int8`` produces.

Batch 1 is timed one encoded row at a time through the Predictor's bound-buffer path (p50 and
p99, µs); the large batch is 100,000 rows per call (rows per second). The variants alternate
in rounds so they share the machine's conditions. Prints where int8 is faster than fp32 and
where not, with ratios, the ONNX Runtime kernels each graph became, and the CPU's ISA flags;
writes ``bench/results/int8.json``.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch

from finlite._timing import cpu_info
from finlite.export.graph import to_onnx
from finlite.export.timing import deployed_latency
from finlite.jobs.export import export
from finlite.methods.quantize import StaticInt8, convert_to_int8, quantize
from finlite.models import TabularMLP

FEATURES = 124
SHAPES = {"tiny 16": (16,), "tiny 32-16": (32, 16), "teacher 512-256-128": (512, 256, 128)}
RESULTS = Path(__file__).parent / "results" / "int8.json"


def encoded_rows(n: int, seed: int) -> np.ndarray:
    """Rows shaped like an encoded credit table: 24 standardised numbers, 100 one-hot columns."""
    rng = np.random.default_rng(seed)
    numeric = rng.normal(size=(n, 24))
    onehot = np.zeros((n, 100))
    for start in range(0, 100, 10):  # ten categorical columns of ten values each
        onehot[np.arange(n), start + rng.integers(0, 10, n)] = 1.0
    return np.hstack([numeric, onehot]).astype(np.float32)


def kernels(model: torch.nn.Module) -> list[str]:
    """The node types ONNX Runtime runs for the model after its graph optimiser."""
    with tempfile.TemporaryDirectory() as tmp:
        options = ort.SessionOptions()
        options.optimized_model_filepath = str(Path(tmp) / "optimized.onnx")
        options.log_severity_level = 3
        ort.InferenceSession(to_onnx(model).SerializeToString(), options, providers=["CPUExecutionProvider"])
        ops = [n.op_type for n in onnx.load(options.optimized_model_filepath).graph.node]
    return sorted(set(ops) - {"Sigmoid"})


def run(quick: bool = False, seed: int = 0) -> dict:
    x = encoded_rows(20_000, seed)
    calibration, rows = x[:2048], x[2048:]
    batch_rows = 20_000 if quick else 100_000
    results = []
    for name, hidden in SHAPES.items():
        torch.manual_seed(seed)
        model = TabularMLP(FEATURES, hidden, dropout=0.0).eval()
        static = quantize(model, StaticInt8(calibration="percentile"), calibration_x=calibration).model
        dynamic = convert_to_int8(model, None)
        variants = {"fp32": model, "int8 static": static, "int8 dynamic": dynamic}
        for variant in ("int8 static", "int8 dynamic"):  # the graphs are checked, not only timed
            if not export(variants[variant], rows[:2000], cutoff=0.5)[1].passed:
                raise SystemExit(f"{name} {variant}: the ONNX graph does not match the torch model")
        timed = deployed_latency(list(variants.values()), rows, repeats=500 if quick else 3000,
                                 rounds=2 if quick else 3, batch_rows=batch_rows)
        row = {"model": name, "hidden": list(hidden), "features": FEATURES, "batch_rows": batch_rows}
        for (variant, m), t in zip(variants.items(), timed, strict=True):
            row[variant] = {**t, "kernels": kernels(m)}
        for variant in ("int8 static", "int8 dynamic"):
            row[variant]["speedup_batch1"] = row["fp32"]["latency_p50_us"] / row[variant]["latency_p50_us"]
            row[variant]["speedup_batch"] = row[variant]["rows_per_second"] / row["fp32"]["rows_per_second"]
        results.append(row)
    return {"cpu": cpu_info(), "onnxruntime": ort.__version__, "threads": 1, "batch_rows": batch_rows,
            "results": results}


def show(report: dict) -> None:
    cpu = report["cpu"]
    print(f"CPU: {cpu['model']} ({cpu['cores']} cores), ISA: {' '.join(cpu['isa']) or 'unknown'}; "
          f"ONNX Runtime {report['onnxruntime']}, 1 thread")
    rows = report["batch_rows"]
    print(f"{'model':<22}{'variant':<14}{'p50 µs':>9}{'p99 µs':>9}{'M rows/s':>10}{'×fp32 b1':>10}"
          f"{f'×fp32 {rows // 1000}k':>11}  kernels")
    for r in report["results"]:
        for variant in ("fp32", "int8 static", "int8 dynamic"):
            v = r[variant]
            b1 = f"{v['speedup_batch1']:.2f}" if "speedup_batch1" in v else "-"
            bb = f"{v['speedup_batch']:.2f}" if "speedup_batch" in v else "-"
            print(f"{r['model']:<22}{variant:<14}{v['latency_p50_us']:>9.1f}{v['latency_p99_us']:>9.1f}"
                  f"{v['rows_per_second'] / 1e6:>10.2f}{b1:>10}{bb:>11}  {','.join(v['kernels'])}")
    print()
    for r in report["results"]:
        s = r["int8 static"]
        where = [f"batch 1 ({s['speedup_batch1']:.2f}×)" if s["speedup_batch1"] > 1 else None,
                 f"{rows:,} rows ({s['speedup_batch']:.2f}×)" if s["speedup_batch"] > 1 else None]
        slower = [f"batch 1 ({s['speedup_batch1']:.2f}×)" if s["speedup_batch1"] <= 1 else None,
                  f"{rows:,} rows ({s['speedup_batch']:.2f}×)" if s["speedup_batch"] <= 1 else None]
        faster_txt = ", ".join(w for w in where if w) or "none"
        slower_txt = ", ".join(w for w in slower if w) or "none"
        print(f"{r['model']}: static int8 faster than fp32 at: {faster_txt}; not faster at: {slower_txt}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats and 20,000-row batches (a smoke run)")
    args = parser.parse_args()
    report = run(quick=args.quick)
    show(report)
    if not args.quick:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(report, indent=2) + "\n")
        print(f"written {RESULTS}")


if __name__ == "__main__":
    main()
