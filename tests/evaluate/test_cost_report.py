"""The cost section: table, status rule and plot from a measure_costs-shaped dict."""

from __future__ import annotations

import json
from typing import Any

import pytest

from finlite.errors import DataError
from finlite.evaluate.cost_report import build_cost


def _latency(p50: float) -> dict[str, Any]:
    return {str(b): {"p50_us": p50 * (1 + b / 64), "p99_us": 2 * p50 * (1 + b / 64),
                     "rows_per_second": b / (p50 * (1 + b / 64) / 1e6), "repeats": 10} for b in (1, 64, 4096)}


def _measured(t_bytes: int, s_bytes: int, t_p50: float | None, s_p50: float | None) -> dict[str, Any]:
    def model(size: int, p50: float | None, params: int) -> dict[str, Any]:
        lat = None if p50 is None else _latency(p50)
        return {"kind": "mlp", "bytes": size, "onnx_bytes": None if p50 is None else size + 100,
                "parameters": params, "nonzero_parameters": params // 2, "flops_per_row": 2 * params,
                "flops_per_row_nonzero": params, "latency": {"torch": lat, "onnxruntime": lat}, "notes": []}

    return {"format": 1, "timing": t_p50 is not None, "batch_sizes": [1, 64, 4096], "threads": 1,
            "cpu": {"model": "Test CPU", "machine": "x86_64", "cores": 2, "isa": ["avx2", "fma"]},
            "models": {"teacher": model(t_bytes, t_p50, 1000), "student": model(s_bytes, s_p50, 100)}, "notes": []}


def test_table_ratios_and_plot() -> None:
    section = build_cost(_measured(4000, 1000, 20.0, 10.0))
    assert section.id == "cost" and section.status == "PASS"
    json.dumps(section.to_dict(), allow_nan=False)
    rows = {r[0]: r[1:] for r in section.tables[0].rows}
    assert rows["bytes on disk (weights)"] == [4000, 1000, 0.25]
    assert rows["parameters (non-zero)"] == [500, 50, 0.1]
    assert rows["ONNX Runtime, batch 1: p50 latency per call (µs)"][2] == pytest.approx(10.0 * (1 + 1 / 64) / (
        20.0 * (1 + 1 / 64)))
    assert "torch eager, batch 4096: rows per second" in rows
    cpu = dict(section.tables[1].rows)
    assert cpu["CPU"] == "Test CPU" and cpu["instruction-set features"] == "avx2 fma"
    plot = section.plots[0]
    assert plot.x_ticks == ["1", "64", "4096"] and [s.name for s in plot.series] == ["torch eager", "ONNX Runtime"]
    assert plot.series[1].y == pytest.approx([2.0, 2.0, 2.0])
    assert section.metrics["ratios"]["bytes"] == 0.25 and section.metrics["not_slower_batch1_onnx"] is True


@pytest.mark.parametrize(("t_bytes", "s_bytes", "t_p50", "s_p50", "status"), [
    (4000, 1000, 10.0, 10.4, "PASS"),  # within the 5 % timing tolerance
    (4000, 1000, 10.0, 11.0, "WARN"),  # smaller but slower
    (1000, 4000, 20.0, 10.0, "WARN"),  # faster but larger
    (4000, 1000, None, None, "PASS"),  # not timed: size alone
    (1000, 1000, None, None, "WARN"),  # not smaller
])
def test_status_rule(t_bytes: int, s_bytes: int, t_p50: float | None, s_p50: float | None, status: str) -> None:
    section = build_cost(_measured(t_bytes, s_bytes, t_p50, s_p50))
    assert section.status == status
    if t_p50 is None:
        assert section.plots == [] and any("size alone" in n for n in section.notes)
        assert not any(r[0] == "ONNX bytes" or "latency" in r[0] for r in section.tables[0].rows)


def test_missing_models_fail_closed() -> None:
    with pytest.raises(DataError, match=r"models\.teacher"):
        build_cost({"models": {"student": {}}})
