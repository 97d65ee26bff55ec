"""What a model costs to keep and to run: parameters, bytes, FLOPs, latency, throughput.

:func:`measure_latency` times the torch module in eager mode: the model's cost inside a training
process, and the fallback for a model with no ONNX form. The gates, the search and the reports
time the model as it is deployed instead (:func:`finlite.export.timing.deployed_latency`, its
ONNX export in the runtime Predictor's session), passed in as a :data:`Timer`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from finlite._timing import latency_us
from finlite.errors import ConfigError
from finlite.models.base import FinliteModel
from finlite.models.mlp import TabularMLP
from finlite.models.quantized import QuantizedMLP
from finlite.models.serialize import weights_nbytes
from finlite.models.temporal import EncoderBlock

__all__ = ["Timer", "cost_metrics", "count_parameters", "eager_latency", "flops_per_row", "input_shape",
           "measure_latency"]

#: Times several models, each on its own encoded rows (one array per model), side by side; returns
#: per model ``latency_p50_us``, ``latency_p99_us``, ``rows_per_second``, ``batch`` and ``timed``
#: (how: ``"onnx"`` or ``"torch"``).
Timer = Callable[[list[FinliteModel], Sequence[np.ndarray]], list[dict[str, Any]]]


def count_parameters(model: FinliteModel) -> tuple[int, int]:
    """(stored numbers, non-zero stored numbers).

    Counts every tensor the model keeps (float parameters, int8 weights and their scales,
    scorecard points), not only trainable parameters, so float and integer models compare.
    A model may define ``stored_parameters()`` (a boosted ensemble counts its tree nodes).
    """
    own = getattr(model, "stored_parameters", None)
    if callable(own):
        counted: tuple[int, int] = own()
        return counted
    tensors = [t for t in model.state_dict().values() if t.dim() > 0]
    return sum(t.numel() for t in tensors), sum(int(torch.count_nonzero(t)) for t in tensors)


def _per_step(model: FinliteModel, module: torch.nn.Module, steps: int) -> int:
    """How many times ``module`` runs for one window of ``steps`` steps: once per step for the
    layers a recurrent, convolutional or attention forecaster applies at every step, once for its
    ``head`` (it reads the last step) and for an MLP over the flattened window."""
    if steps == 1 or module is getattr(model, "head", None):
        return 1
    return 1 if isinstance(model, (TabularMLP, QuantizedMLP)) else steps


def flops_per_row(model: FinliteModel, shape: int | Sequence[int] | None = None) -> tuple[int, int]:
    """(dense FLOPs, FLOPs on non-zero weights) of one forward pass for one row (for a forecaster,
    one window: ``shape`` is ``(steps, features)``).

    A Linear layer (float or int8) costs 2·in·out (one multiply and one add per weight) plus
    its biases; element-wise activations are left out. The second number is what a sparse kernel would do.
    A forecaster's layers count once per step of the window where they run at every step: a
    recurrent layer's input and hidden weights (every gate), a convolution (2·in·out·kernel per
    step plus its bias), a Transformer's Linear layers, and its attention (4·steps²·width per
    block: the scores and their weighted sum); the head once. Counting layers once instead
    reported 65 FLOPs for an LSTM reading 30 steps (a review, 2026-12-03). A model with its own
    count (``operations_per_row``: a boosted ensemble, an integer logistic, a scorecard) gives it.

    Raises:
        ConfigError: a recurrent or convolutional forecaster without ``shape`` (its cost depends
            on the window; a Transformer or window MLP uses its own ``window``).
    """
    own = getattr(model, "operations_per_row", None)
    if callable(own):
        counted: tuple[int, int] = own()
        return counted
    window = getattr(model, "window", None)
    if shape is None and isinstance(window, int):
        shape = (window, 0)  # a Transformer or window MLP knows its window
    if isinstance(shape, Sequence) and len(shape) == 2:
        steps = int(shape[0])
    elif any(isinstance(m, (torch.nn.RNNBase, torch.nn.Conv1d)) for m in model.modules()):
        raise ConfigError(f"The FLOPs of a {type(model).__name__} depend on its window: pass shape=(steps, features) "
                          "(one window's shape).", param="shape")
    else:
        steps = 1
    dense = sparse = 0
    for module in model.modules():
        if isinstance(module, torch.nn.RNNBase):  # every gate's input and hidden weights, at every step
            for name, param in module.named_parameters():
                work = 2 if name.startswith("weight") else 1
                dense += steps * work * param.numel()
                sparse += steps * work * (int(torch.count_nonzero(param)) if work == 2 else param.numel())
            continue
        if isinstance(module, EncoderBlock):  # attention: q·kᵀ and the weights times v
            dense += 4 * steps * steps * module.q.out_features
            sparse += 4 * steps * steps * module.q.out_features
        weight = getattr(module, "weight_int8", None)
        if weight is None and isinstance(module, (torch.nn.Linear, torch.nn.Conv1d)):
            weight = module.weight
        if weight is None:
            continue
        times = _per_step(model, module, steps)
        bias = weight.shape[0] if getattr(module, "bias", None) is not None else 0
        dense += times * (2 * weight.numel() + bias)
        sparse += times * (2 * int(torch.count_nonzero(weight)) + bias)
    return dense, sparse


@torch.inference_mode()
def measure_latency(model: FinliteModel, n_features: int | tuple[int, ...], *, repeats: int = 300,
                    batch: int = 4096, batch_repeats: int = 10, seed: int = 0) -> dict[str, float]:
    """Latency of one row (p50, p99 in microseconds) and rows per second at ``batch`` rows.

    ``n_features`` is the width of a row, or the shape of one input (``(window, features)``
    for a forecaster reading windows). Measured on the preprocessed tensor in torch eager mode
    after a warm-up, so it is the model's own cost in torch; :func:`finlite.export.timing.deployed_latency`
    times the exported model as it is served, and scoring from raw records adds the preprocessing.
    """
    model.eval()
    gen = torch.Generator().manual_seed(seed)
    shape = (n_features,) if isinstance(n_features, int) else tuple(n_features)
    one = torch.randn(1, *shape, generator=gen)
    many = torch.randn(batch, *shape, generator=gen)
    model(many)
    single = latency_us(model, [one], repeats=repeats, warmup=20)
    start = time.perf_counter()
    for _ in range(batch_repeats):
        model(many)
    elapsed = time.perf_counter() - start
    return {"latency_p50_us": single["p50_us"], "latency_p99_us": single["p99_us"],
            "rows_per_second": float(batch * batch_repeats / elapsed), "batch": batch}


def cost_metrics(model: FinliteModel, n_features: int | tuple[int, ...], *, timing: bool = True) -> dict[str, Any]:
    """Parameters, non-zeros, bytes of its weights file, FLOPs and (optionally) timings of one model."""
    total, nonzero = count_parameters(model)
    dense, sparse = flops_per_row(model, n_features)
    out: dict[str, Any] = {"parameters": total, "nonzero_parameters": nonzero, "model_bytes": weights_nbytes(model),
                           "flops_per_row": dense, "flops_per_row_nonzero": sparse}
    if timing:
        out.update(measure_latency(model, n_features))
    return out


def input_shape(x: np.ndarray) -> int | tuple[int, ...]:
    """The shape of one input of ``x``: a row's width, or a window ``(steps, features)``."""
    return int(x.shape[1]) if x.ndim == 2 else tuple(int(d) for d in x.shape[1:])


def eager_latency(models: list[FinliteModel], inputs: Sequence[np.ndarray], *, repeats: int = 300) -> list[dict[str, Any]]:
    """A :data:`Timer` in torch eager (:func:`measure_latency`), each model on its input's shape."""
    return [{**measure_latency(model, input_shape(x), repeats=repeats), "timed": "torch"}
            for model, x in zip(models, inputs, strict=True)]
