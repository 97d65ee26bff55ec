"""One way to time a call, for every backend (torch, ONNX Runtime, a boosting library).

Torch-free, so the runtime and the benchmarks share it. Batch-1 calls are timed one by one
with a monotonic nanosecond clock after a warm-up, and reported as percentiles.
"""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["TIMED_NAMES", "cpu_info", "latency_us", "throughput"]

# Instruction-set features that decide how fast int8 and float kernels can be.
_ISA = ("sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl", "avx512_vnni", "avx_vnni",
        "avx512_bf16", "amx_int8", "amx_bf16", "asimd", "asimddp", "sve")


#: How a model's latency was measured (its metrics' ``"timed"``), as the reports name it.
TIMED_NAMES = {"onnx": "ONNX Runtime (exported for timing)", "torch": "torch eager"}


def latency_us(fn: Callable[[Any], Any], args: list[Any], *, repeats: int = 3000,
               warmup: int = 300) -> dict[str, float]:
    """p50/p99/mean of ``fn(arg)`` in microseconds, cycling through ``args`` (different records)."""
    n = len(args)
    for i in range(warmup):
        fn(args[i % n])
    times = np.empty(repeats)
    clock = time.perf_counter_ns
    for i in range(repeats):
        arg = args[i % n]
        start = clock()
        fn(arg)
        times[i] = clock() - start
    times /= 1e3
    return {"p50_us": float(np.percentile(times, 50)), "p99_us": float(np.percentile(times, 99)),
            "mean_us": float(times.mean())}


def throughput(fn: Callable[[Any], Any], batch: Any, rows: int, *, min_seconds: float = 0.5) -> float:
    """Rows per second of ``fn(batch)`` over at least ``min_seconds`` (after one warm-up call)."""
    fn(batch)
    done, start = 0, time.perf_counter()
    while True:
        fn(batch)
        done += rows
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds:
            return done / elapsed


def cpu_info() -> dict[str, Any]:
    """CPU model, core count and the instruction-set features int8 and float kernels use."""
    model: str | None = None
    flags: set[str] = set()
    try:  # Linux; the first processor's entries describe them all
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                key, _, value = line.partition(":")
                key = key.strip()
                if key in ("model name", "Model") and model is None:
                    model = value.strip()
                elif key in ("flags", "Features") and not flags:
                    flags = set(value.split())
    except OSError:
        pass
    return {"model": model or platform.processor() or platform.machine(), "machine": platform.machine(), "cores": os.cpu_count(),
            "isa": [f for f in _ISA if f in flags]}
