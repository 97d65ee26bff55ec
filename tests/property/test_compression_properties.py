"""Properties of the quantization, factorisation, transfer-set and recurrent-pruning primitives."""

from __future__ import annotations

import copy

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from finlite.methods import MagnitudePruning, apply_plan, plan_pruning
from finlite.methods.distill import make_transfer_set
from finlite.methods.factorize import LowRankFactorization, choose_rank, factorize
from finlite.methods.linear import quantize_coefficients
from finlite.methods.quantize import calibration_rows
from finlite.models import SequenceModel, TabularMLP
from finlite.models.quantized import dequantize, qmax, quantize_per_channel

finite = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False, width=32)


@settings(max_examples=60, deadline=None)
@given(w=hnp.arrays(np.float32, hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=16), elements=finite),
       bits=st.integers(2, 8))
def test_per_channel_round_trip_errs_at_most_half_a_step(w: np.ndarray, bits: int) -> None:
    q, scale = quantize_per_channel(torch.from_numpy(w), bits)
    assert q.dtype == torch.int8
    assert int(q.abs().max()) <= qmax(bits)
    err = (dequantize(q, scale) - torch.from_numpy(w)).abs()
    # Half a step per row, plus float32 rounding of the products.
    assert bool((err <= scale[:, None] / 2 * (1 + 1e-5) + 1e-6).all())


@settings(max_examples=60, deadline=None)
@given(coef=hnp.arrays(np.float64, st.integers(1, 40), elements=st.floats(-50, 50, allow_nan=False)),
       bits=st.integers(2, 16))
def test_coefficient_round_trip_errs_at_most_half_a_step(coef: np.ndarray, bits: int) -> None:
    q, scale = quantize_coefficients(coef, bits)
    assert q.dtype == (np.int8 if bits <= 8 else np.int16)
    assert np.all(np.abs(q.astype(np.float64) * scale - coef) <= scale / 2 + 1e-9)


@settings(max_examples=60, deadline=None)
@given(n=st.integers(20, 400), positives=st.integers(0, 40), samples=st.integers(16, 300),
       share=st.floats(0.0, 1.0), seed=st.integers(0, 99))
def test_calibration_sample_keeps_the_rare_class(n: int, positives: int, samples: int, share: float, seed: int) -> None:
    y = np.zeros(n)
    y[: min(positives, n)] = 1
    rows = calibration_rows(y, samples, share, seed)
    assert len(rows) == min(samples, n) and len(np.unique(rows)) == len(rows)
    wanted = min(int(y.sum()), int(np.ceil(share * len(rows))))
    assert y[rows].sum() >= wanted


@settings(max_examples=30, deadline=None)
@given(out_f=st.integers(4, 24), in_f=st.integers(4, 24), energy=st.floats(0.3, 1.0), seed=st.integers(0, 99))
def test_factorisation_keeps_the_energy_it_promises(out_f: int, in_f: int, energy: float, seed: int) -> None:
    torch.manual_seed(seed)
    model = TabularMLP(in_f, [out_f], dropout=0.0).eval()
    result = factorize(model, LowRankFactorization(energy=energy))
    s = torch.linalg.svdvals(model.layers[0].weight.detach().double()).numpy()
    r = choose_rank(s, energy)
    assert (s[:r] ** 2).sum() / (s ** 2).sum() >= energy - 1e-9
    assert r == 1 or (s[: r - 1] ** 2).sum() / (s ** 2).sum() < energy  # the smallest such rank
    first = result.layers[0]
    if first["rank"] is not None:
        assert first["rank"] == r and first["energy_kept"] >= energy - 1e-9
    # With every singular value kept, the factors multiply back to the weight (when factorised at all).
    full = factorize(model, LowRankFactorization(rank=min(out_f, in_f)))
    x = torch.randn(8, in_f)
    assert torch.allclose(full.model(x), model(x), atol=1e-4)


@settings(max_examples=30, deadline=None)
@given(rows=st.integers(2, 50), n_numeric=st.integers(0, 4), groups=st.lists(st.integers(2, 4), max_size=3),
       kind=st.sampled_from(["perturb", "mixup"]), size=st.floats(0.5, 3.0), seed=st.integers(0, 99))
def test_transfer_rows_are_valid_encodings(rows: int, n_numeric: int, groups: list[int], kind: str, size: float,
                                           seed: int) -> None:
    rng = np.random.default_rng(seed)
    blocks, cols, start = [rng.normal(size=(rows, n_numeric))], [], n_numeric
    for width in groups:
        onehot = np.zeros((rows, width))
        onehot[np.arange(rows), rng.integers(0, width, rows)] = 1
        blocks.append(onehot)
        cols.append(list(range(start, start + width)))
        start += width
    x = np.hstack(blocks).astype(np.float32)
    extra = make_transfer_set(x, n_numeric, cols, kind=kind, size=size, noise=0.3, seed=seed)
    assert extra.shape == (round(size * rows), x.shape[1])
    for group in cols:
        block = extra[:, group]
        assert np.all(block.sum(axis=1) == 1) and set(np.unique(block)) <= {0.0, 1.0}


@settings(max_examples=20, deadline=None)
@given(cell=st.sampled_from(["lstm", "gru"]), hidden=st.lists(st.integers(2, 10), min_size=1, max_size=2),
       sparsity=st.floats(0.0, 0.9), seed=st.integers(0, 99))
def test_recurrent_plan_gives_planned_widths_and_masked_outputs(cell: str, hidden: list[int], sparsity: float,
                                                                seed: int) -> None:
    torch.manual_seed(seed)
    model = SequenceModel(cell, 3, hidden).eval()
    plan = plan_pruning(model, MagnitudePruning(sparsity=sparsity, granularity="neuron"))
    pruned = apply_plan(model, plan).model
    assert pruned.hidden == [layer.kept for layer in plan.layers]
    masked = copy.deepcopy(model)
    with torch.no_grad():
        for layer_plan, layer, h in zip(plan.layers, masked.rnn, model.hidden, strict=True):
            for j in layer_plan.pruned:
                rows = [g * h + j for g in range(model.gates)]
                for name in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"):
                    getattr(layer, name)[rows] = 0
    x = torch.randn(4, 6, 3)
    assert torch.allclose(pruned(x), masked(x), atol=1e-5)
