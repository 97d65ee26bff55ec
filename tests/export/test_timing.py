"""Timing a model as deployed (finlite.export.timing): gates, the search and the reports use it."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import finlite.export.graph as graph
from finlite.errors import ExportError
from finlite.evaluate.report import compare_models, render_markdown, render_table
from finlite.export.timing import DEPLOYED_BATCH_ROWS, deployed_latency, report_timer
from finlite.models.mlp import TabularMLP
from finlite.models.sequence import SequenceModel
from tests.conftest import ar2_windows


def _rows(n: int = 300, width: int = 6, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, width)).astype(np.float32)
    y = (x[:, 0] + 0.5 * rng.normal(size=n) > 0).astype(np.float32)
    return x, y


def _mlp(width: int, hidden: tuple[int, ...], seed: int) -> TabularMLP:
    torch.manual_seed(seed)
    return TabularMLP(width, hidden, dropout=0.0).eval()


def test_a_report_times_teacher_and_student_as_deployed_side_by_side() -> None:
    x, y = _rows()
    teacher, student = _mlp(6, (256, 128), 0), _mlp(6, (8,), 1)
    report = compare_models(teacher, student, x, y, 0.5, timer=report_timer())
    for side in ("teacher", "student"):
        timed = report[side]
        assert timed["timed"] == "onnx" and timed["batch"] == DEPLOYED_BATCH_ROWS
        assert 0 < timed["latency_p50_us"] <= timed["latency_p99_us"] and timed["rows_per_second"] > 0
    assert report["ratios"]["latency_p50_speedup"] == pytest.approx(
        report["teacher"]["latency_p50_us"] / report["student"]["latency_p50_us"])
    markdown, table = render_markdown(report), render_table(report)
    assert "| timed in | ONNX Runtime (exported for timing) | ONNX Runtime (exported for timing) |" in markdown
    assert f"| rows/s (batch {DEPLOYED_BATCH_ROWS:,}) |" in markdown and "rows/s (batch 16,384)" in table
    # Without a timer a report says it timed torch eager; without timing it has no timings at all.
    eager = compare_models(teacher, student, x, y, 0.5)
    assert eager["student"]["timed"] == "torch" and "| timed in | torch eager | torch eager |" in render_markdown(eager)
    untimed = compare_models(teacher, student, x, y, 0.5, timing=False, timer=report_timer())
    assert not {"latency_p50_us", "timed", "batch"} & set(untimed["student"])
    assert "timed in" not in render_markdown(untimed) and "latency_p50_speedup" not in untimed["ratios"]


def test_each_model_is_timed_on_its_own_encoding() -> None:
    x, y = _rows()
    wide, _ = _rows(width=9)  # a baseline encoded differently (another width)
    teacher, student = _mlp(9, (16,), 2), _mlp(6, (8,), 3)
    report = compare_models(teacher, student, x, y, 0.5, x_teacher=wide, timer=report_timer(rounds=1))
    assert report["teacher"]["timed"] == report["student"]["timed"] == "onnx"
    with pytest.raises(ValueError, match="one input array, or one per model; got 1 for 2 models"):
        deployed_latency([teacher, student], [wide])


def test_a_model_without_an_onnx_form_is_timed_in_torch_and_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fallback reads a forecaster's window [steps, features] as its input shape."""
    def no_onnx(model: object, *args: object, **kwargs: object) -> None:
        raise ExportError("no ONNX form in this test")

    monkeypatch.setattr(graph, "to_onnx", no_onnx)
    windows, _ = ar2_windows(n=120, steps=12)
    torch.manual_seed(0)
    forecaster = SequenceModel("gru", 1, [8]).eval()
    (timed,) = deployed_latency([forecaster], windows, repeats=5)
    assert timed["timed"] == "torch" and timed["latency_p50_us"] > 0
    x, y = _rows()
    report = compare_models(_mlp(6, (16,), 0), _mlp(6, (8,), 1), x, y, 0.5, timer=report_timer(rounds=1))
    assert "| timed in | torch eager | torch eager |" in render_markdown(report)


def test_a_teacher_timed_in_torch_beside_a_student_in_onnx_is_labelled_and_not_compared(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Both at the same batch, each cell says how it was timed, and no speed-up divides one by the other."""
    from finlite.evaluate.summary_report import build_summary

    x, y = _rows()
    teacher, student = _mlp(6, (32,), 0), _mlp(6, (8,), 1)
    real = graph.to_onnx

    def teacher_has_no_onnx(model: object, *args: object, **kwargs: object) -> object:
        if model is teacher:
            raise ExportError("no ONNX form in this test")
        return real(model, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(graph, "to_onnx", teacher_has_no_onnx)
    report = compare_models(teacher, student, x, y, 0.5, timer=report_timer(rounds=1))
    assert (report["teacher"]["timed"], report["student"]["timed"]) == ("torch", "onnx")
    assert report["teacher"]["batch"] == report["student"]["batch"] == DEPLOYED_BATCH_ROWS
    assert "latency_p50_speedup" not in report["ratios"]
    assert "| timed in | torch eager | ONNX Runtime (exported for timing) |" in render_markdown(report)
    labels = [row[0] for row in build_summary(report).tables[0].rows]
    assert "latency p50, batch 1 (µs); teacher torch eager, student ONNX Runtime (exported for timing)" in labels
    assert "rows/s (batch 16,384); teacher torch eager, student ONNX Runtime (exported for timing)" in labels
    # A stored report whose models were timed at different batches (an older run) says so per cell.
    report["teacher"]["batch"] = 4096
    row = next(line for line in render_markdown(report).splitlines() if line.startswith("| rows/s"))
    assert row.startswith("| rows/s | ") and "(batch 4,096) |" in row and "(batch 16,384) |" in row
