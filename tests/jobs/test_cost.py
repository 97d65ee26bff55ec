"""measure_costs on small models: sizes, parameters and FLOPs by hand; timings when asked."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

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


def test_a_forecasters_flops_count_every_step_of_its_window() -> None:
    """An LSTM reading 30 steps was reported at 65 FLOPs, its head alone (a review, 2026-12-03). Checked
    against torch's own FLOP counter (matrix products; it does not see biases, nor the LSTM kernel) plus
    the biases counted apart, and against the LSTM's gate arithmetic written out."""
    from torch.utils.flop_counter import FlopCounterMode

    from finlite.evaluate.cost import flops_per_row
    from finlite.models.sequence import SequenceModel, quantize_sequence
    from finlite.models.temporal import TemporalConvNet, TransformerForecaster, WindowMLP

    torch.manual_seed(0)
    steps, features = 30, 8
    x = torch.randn(1, steps, features)
    biases = {  # per window: every bias added at every step, the head's once
        "gru": steps * (2 * 3 * 16 + 2 * 3 * 8) + 1,
        "tcn": steps * (16 + 16) + 1,
        "transformer": steps * (32 + 4 * 32 + 64 + 32) + 1,
        "window_mlp": 16 + 1,
    }
    models = {"gru": SequenceModel("gru", features, [16, 8]), "tcn": TemporalConvNet(features, [16, 16], kernel_size=3),
              "transformer": TransformerForecaster(features, steps), "window_mlp": WindowMLP(steps, features, [16])}
    for name, model in models.items():
        with FlopCounterMode(display=False) as counter:
            model.eval()(x)
        dense, _ = flops_per_row(model, (steps, features))
        assert dense == counter.get_total_flops() + biases[name], name
    lstm = SequenceModel("lstm", features, [32])
    per_step = 2 * 4 * 32 * (features + 32) + 2 * 4 * 32  # four gates: input and hidden weights, two biases
    assert flops_per_row(lstm, (steps, features)) == (steps * per_step + 2 * 32 + 1,) * 2
    assert flops_per_row(quantize_sequence(lstm.eval()), (steps, features))[0] == steps * per_step + 65  # int8: as many
    # Pruned weights leave the sparse count only.
    with torch.no_grad():
        lstm.rnn[0].weight_hh_l0[:, :16] = 0
    dense, sparse = flops_per_row(lstm, (steps, features))
    assert dense - sparse == steps * 2 * 4 * 32 * 16


def test_integer_models_count_their_arithmetic_and_a_window_is_needed() -> None:
    from finlite.evaluate.cost import flops_per_row
    from finlite.models.scorecard import IntegerLogistic, ScorecardModel
    from finlite.models.sequence import SequenceModel
    from finlite.models.temporal import TransformerForecaster

    logistic = IntegerLogistic(10)
    with torch.no_grad():
        logistic.weight_int[:4] = torch.tensor([3, -1, 2, 5], dtype=logistic.weight_int.dtype)
    assert flops_per_row(logistic) == (2 * 10 + 2, 2 * 4 + 2)  # was (0, 0): its weights are buffers
    card = ScorecardModel(10, n_numeric=3, bins=4)
    with torch.no_grad():
        card.binary_points[:2] = torch.tensor([7, -3], dtype=torch.int32)
    assert flops_per_row(card) == (3 + 2 * 7 + 2, 3 + 2 * 2 + 2)
    with pytest.raises(ConfigError, match=r"FLOPs of a SequenceModel depend on its window: pass shape"):
        flops_per_row(SequenceModel("gru", 4, [8]))
    transformer = TransformerForecaster(4, 12)  # knows its window
    assert flops_per_row(transformer) == flops_per_row(transformer, (12, 4)) == flops_per_row(transformer, [12, 4])
