"""What a model costs to keep and to run: parameters, bytes, FLOPs, latency, throughput."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import torch

from finlite.models.base import FinliteModel
from finlite.models.serialize import weights_nbytes

__all__ = ["cost_metrics", "count_parameters", "flops_per_row", "measure_latency"]


def count_parameters(model: FinliteModel) -> tuple[int, int]:
    """(all parameters, non-zero parameters)."""
    total = sum(p.numel() for p in model.parameters())
    nonzero = sum(int(torch.count_nonzero(p)) for p in model.parameters())
    return total, nonzero


def flops_per_row(model: FinliteModel) -> tuple[int, int]:
    """(dense FLOPs, FLOPs on non-zero weights) of one forward pass for one row.

    A Linear layer costs 2·in·out (one multiply and one add per weight) plus its biases;
    element-wise activations are left out. The second number is what a sparse kernel would do.
    """
    dense = sparse = 0
    for _, layer in model.linear_layers():
        bias = layer.out_features if layer.bias is not None else 0
        dense += 2 * layer.weight.numel() + bias
        sparse += 2 * int(torch.count_nonzero(layer.weight)) + bias
    return dense, sparse


@torch.inference_mode()
def measure_latency(model: FinliteModel, n_features: int, *, repeats: int = 300, batch: int = 4096,
                    batch_repeats: int = 10, seed: int = 0) -> dict[str, float]:
    """Latency of one row (p50, p99 in microseconds) and rows per second at ``batch`` rows.

    Measured on the preprocessed tensor in torch eager mode after a warm-up, so it is the
    model's own cost; scoring from raw records adds the preprocessing.
    """
    model.eval()
    gen = torch.Generator().manual_seed(seed)
    one = torch.randn(1, n_features, generator=gen)
    many = torch.randn(batch, n_features, generator=gen)
    for _ in range(20):
        model(one)
    model(many)
    times = np.empty(repeats)
    for i in range(repeats):
        start = time.perf_counter_ns()
        model(one)
        times[i] = (time.perf_counter_ns() - start) / 1e3
    start = time.perf_counter()
    for _ in range(batch_repeats):
        model(many)
    elapsed = time.perf_counter() - start
    return {"latency_p50_us": float(np.percentile(times, 50)), "latency_p99_us": float(np.percentile(times, 99)),
            "rows_per_second": float(batch * batch_repeats / elapsed), "batch": batch}


def cost_metrics(model: FinliteModel, n_features: int, *, timing: bool = True) -> dict[str, Any]:
    """Parameters, non-zeros, bytes of its weights file, FLOPs and (optionally) timings of one model."""
    total, nonzero = count_parameters(model)
    dense, sparse = flops_per_row(model)
    out: dict[str, Any] = {"parameters": total, "nonzero_parameters": nonzero, "model_bytes": weights_nbytes(model),
                           "flops_per_row": dense, "flops_per_row_nonzero": sparse}
    if timing:
        out.update(measure_latency(model, n_features))
    return out
