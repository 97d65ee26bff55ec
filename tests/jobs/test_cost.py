"""measure_costs on small models: sizes, parameters and FLOPs by hand; timings when asked."""

from __future__ import annotations

import json

import numpy as np
import pytest

from finlite.errors import ConfigError, DataError
from finlite.evaluate.cost_report import build_cost
from finlite.jobs.cost import BATCH_SIZES, measure_costs
from finlite.models.linear import LogisticRegression
from finlite.models.mlp import TabularMLP


@pytest.fixture(scope="module")
def models() -> tuple[TabularMLP, LogisticRegression, np.ndarray]:
    teacher = TabularMLP(6, (16, 8))
    student = LogisticRegression(6)
    x = np.random.default_rng(0).normal(size=(50, 6)).astype(np.float32)
    return teacher, student, x


def test_without_timing_counts_sizes_only(models: tuple[TabularMLP, LogisticRegression, np.ndarray]) -> None:
    teacher, student, x = models
    out = measure_costs(teacher, student, x, teacher_bytes=5000, student_bytes=120, timing=False)
    json.dumps(out, allow_nan=False)
    t, s = out["models"]["teacher"], out["models"]["student"]
    # By hand: 6·16 + 16 + 16·8 + 8 + 8·1 + 1 stored numbers; FLOPs 2·weights + biases per layer.
    weights = 6 * 16 + 16 * 8 + 8
    assert t["parameters"] == weights + 16 + 8 + 1
    assert t["flops_per_row"] == 2 * weights + 16 + 8 + 1
    assert s["parameters"] == 7 and s["flops_per_row"] == 13
    assert t["bytes"] == 5000 and s["bytes"] == 120
    assert t["latency"] == {"torch": None, "onnxruntime": None} and t["onnx_bytes"] is None
    assert out["timing"] is False and any("not measured" in n for n in out["notes"])
    assert set(out["cpu"]) >= {"model", "isa", "cores"}
    section = build_cost(out)
    assert section.status == "PASS" and section.plots == []


def test_with_timing_measures_both_backends(models: tuple[TabularMLP, LogisticRegression, np.ndarray]) -> None:
    import time

    teacher, student, x = models
    start = time.perf_counter()
    out = measure_costs(teacher, student, x, teacher_bytes=5000, student_bytes=120, timing=True)
    assert time.perf_counter() - start < 10.0
    for name in ("teacher", "student"):
        entry = out["models"][name]
        assert entry["onnx_bytes"] > 0
        for backend in ("torch", "onnxruntime"):
            lat = entry["latency"][backend]
            assert list(lat) == [str(b) for b in BATCH_SIZES]
            for b in BATCH_SIZES:
                cell = lat[str(b)]
                assert 0 < cell["p50_us"] <= cell["p99_us"]
                assert cell["rows_per_second"] == pytest.approx(b / (cell["p50_us"] / 1e6))
    section = build_cost(out)
    json.dumps(section.to_dict(), allow_nan=False)
    assert section.plots and len(section.plots[0].series) == 2


def test_bad_inputs_fail_closed(models: tuple[TabularMLP, LogisticRegression, np.ndarray]) -> None:
    teacher, student, x = models
    with pytest.raises(ConfigError, match="teacher_bytes"):
        measure_costs(teacher, student, x, teacher_bytes=-1, student_bytes=1, timing=False)
    with pytest.raises(DataError, match="shape"):
        measure_costs(teacher, student, x[0], teacher_bytes=1, student_bytes=1, timing=False)
    with pytest.raises(DataError, match="finite"):
        measure_costs(teacher, student, np.full((2, 6), np.nan), teacher_bytes=1, student_bytes=1, timing=False)
