"""Scoring a whole split in pieces (validation after every epoch) gives the one-pass outputs."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from finlite.models import SequenceModel, TabularMLP, TemporalConvNet, TransformerForecaster
from finlite.models.base import forward_rows
from finlite.models.gbdt import BoostedEnsemble


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
@given(kind=st.sampled_from(["mlp", "gru", "tcn", "transformer"]), rows=st.integers(1, 300),
       piece=st.integers(1, 140), seed=st.integers(0, 2**16))
def test_pieces_give_every_row_its_one_pass_output_in_order(kind: str, rows: int, piece: int, seed: int) -> None:
    model, x = _model(kind), _inputs(kind, rows, seed)
    with torch.inference_mode():
        whole, pieces = model(x), forward_rows(model, x, rows=piece)
    assert pieces.shape == whole.shape
    torch.testing.assert_close(pieces, whole, rtol=1e-6, atol=1e-6)


def _pieces(model: torch.nn.Module, rows_in: int, rows: int) -> list[int]:
    calls: list[int] = []
    handle = model.register_forward_hook(lambda _m, args, _out: calls.append(len(args[0])))
    try:
        with torch.inference_mode():
            forward_rows(model, _inputs("mlp", rows_in, 0), rows=rows)
    finally:
        handle.remove()
    return calls


def test_pieces_start_at_multiples_of_the_piece_size_and_a_short_last_piece_joins_the_one_before() -> None:
    model = _model("mlp")
    assert _pieces(model, 100, 100) == [100]  # up to the piece size: one pass
    assert _pieces(model, 270, 100) == [100, 100, 70]
    assert _pieces(model, 250, 100) == [100, 150]  # 50 rows < 64: joined
    assert _pieces(model, 101, 100) == [101]
    assert _pieces(model, 300, 100) == [100, 100, 100]


def test_a_model_that_must_not_be_split_is_scored_in_one_pass() -> None:
    model = _model("mlp")
    model.score_in_pieces = False
    assert _pieces(model, 500, 100) == [500]
    assert BoostedEnsemble.score_in_pieces is False  # its library is fastest given every row at once


@pytest.mark.parametrize("rows", [0, -1])
def test_a_piece_size_below_one_is_refused(rows: int) -> None:
    with pytest.raises(ValueError, match="rows"):
        forward_rows(_model("mlp"), _inputs("mlp", 4, 0), rows=rows)
