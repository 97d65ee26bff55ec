"""Scoring a whole split in pieces (validation after every epoch) gives the one-pass outputs."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from finlite.models import SequenceModel, TabularMLP, TemporalConvNet, TransformerForecaster
from finlite.models.base import forward_rows


def _model(kind: str) -> torch.nn.Module:
    torch.manual_seed(0)
    if kind == "mlp":
        return TabularMLP(5, (8, 4), dropout=0.0).eval()
    if kind == "gru":
        return SequenceModel("gru", 3, (6, 4)).eval()
    if kind == "tcn":
        return TemporalConvNet(3, channels=(4, 4), kernel_size=2).eval()
    return TransformerForecaster(3, window=6, d_model=8, heads=2, layers=1, ff=16).eval()


def _inputs(kind: str, rows: int, seed: int) -> torch.Tensor:
    shape = (rows, 5) if kind == "mlp" else (rows, 6, 3)
    return torch.from_numpy(np.random.default_rng(seed).normal(size=shape).astype(np.float32))


@settings(max_examples=25, deadline=None)
@given(kind=st.sampled_from(["mlp", "gru", "tcn", "transformer"]), rows=st.integers(1, 60),
       piece=st.integers(1, 70), seed=st.integers(0, 2**16))
def test_pieces_give_every_row_its_one_pass_output_in_order(kind: str, rows: int, piece: int, seed: int) -> None:
    model, x = _model(kind), _inputs(kind, rows, seed)
    with torch.inference_mode():
        whole, pieces = model(x), forward_rows(model, x, rows=piece)
    assert pieces.shape == whole.shape
    torch.testing.assert_close(pieces, whole, rtol=1e-6, atol=1e-6)


def test_up_to_the_piece_size_it_is_one_pass_and_beyond_it_one_call_per_piece() -> None:
    calls: list[int] = []
    model = _model("mlp")
    model.register_forward_hook(lambda _m, args, _out: calls.append(len(args[0])))
    with torch.inference_mode():
        forward_rows(model, _inputs("mlp", 10, 0), rows=10)
        assert calls == [10]
        calls.clear()
        forward_rows(model, _inputs("mlp", 25, 0), rows=10)
    assert calls == [10, 10, 5]


@pytest.mark.parametrize("rows", [0, -1])
def test_a_piece_size_below_one_is_refused(rows: int) -> None:
    with pytest.raises(ValueError, match="rows"):
        forward_rows(_model("mlp"), _inputs("mlp", 4, 0), rows=rows)
