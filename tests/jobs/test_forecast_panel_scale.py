"""Evaluating a forecaster on a panel: the realised paths, the per-asset trading view, each part's
windows and the served-model check, computed a way that does not grow with assets × rows, and
equal to an independent computation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from finlite.data.market import MarketSpec, WindowStream, prepare_series
from finlite.data.walkforward import WalkForward
from finlite.jobs.forecast import forecast_evidence, realised_paths
from tests.conftest import make_prices


def _panel(lengths: list[int], seed: int = 0, stagger: bool = True) -> pd.DataFrame:
    """Assets of different lengths (and start dates, with ``stagger``), rows shuffled, ids not in
    text order of listing."""
    parts = []
    for k, n in enumerate(lengths):
        frame = make_prices(n, seed=seed + k, start=f"202{k % 3}-0{1 + k % 9}-01" if stagger else "2020-01-01")
        parts.append(frame.assign(ticker=f"Z{len(lengths) - k:02d}"))
    panel = pd.concat(parts, ignore_index=True)
    return panel.sample(frac=1.0, random_state=seed).reset_index(drop=True)


@pytest.mark.parametrize("horizon", [1, 3])
def test_realised_paths_equal_each_assets_own_shifted_prices(horizon: int) -> None:
    """log(P_{t+j} / P_t) within each asset (pandas' groupby shift: an independent computation),
    NaN where t+j is past the asset's last row, for the windows of every part."""
    panel = _panel([160, 210, 130])
    spec = MarketSpec(window=8, horizon=horizon, id_column="ticker", volume_column="volume")
    series = prepare_series(panel, spec, walk=WalkForward(folds=2))
    frame = panel.assign(date=pd.to_datetime(panel["date"])).sort_values(["ticker", "date"])
    close = frame.groupby("ticker")["close"]
    # Every window of the file too, its last dates included, whose paths run past their asset's end.
    every = series.preprocessor.windows(panel)
    for part, windows in (("train", series.windows_train), ("val", series.windows_val),
                          ("test", series.windows_test), ("every", every)):
        if part == "every":
            series.windows_test, part = every, "test"
        got = realised_paths(series, part)
        expected = np.column_stack([np.log(close.shift(-j) / frame["close"]) for j in range(1, horizon + 1)])
        keyed = pd.DataFrame(expected, index=pd.MultiIndex.from_arrays([frame["ticker"], frame["date"]]))
        wanted = keyed.reindex(pd.MultiIndex.from_arrays([windows.ids.astype(str),
                                                          pd.to_datetime(windows.dates)])).to_numpy()
        assert got.shape == (len(windows), horizon)
        np.testing.assert_array_equal(np.isnan(got), np.isnan(wanted))
        np.testing.assert_allclose(got[~np.isnan(got)], wanted[~np.isnan(wanted)], rtol=1e-12, atol=0)
    assert np.isnan(got[:, -1]).sum() == 3 * horizon  # the last h dates of each asset
    # A window of a date the table does not hold has no path (NaN), never another row's.
    test = series.windows_test
    moved = test.take(np.arange(len(test)))
    moved.dates = moved.dates + np.timedelta64(10_000, "D")
    series.windows_test = moved
    assert np.isnan(realised_paths(series)).all()


def test_the_per_asset_trading_view_is_each_assets_own() -> None:
    """Each asset's trading view is computed from its own windows alone, in date order: the same
    as evaluating that asset's rows on their own through the one-asset view."""
    panel = _panel([150, 170], stagger=False)
    spec = MarketSpec(window=8, id_column="ticker", volume_column="volume")
    series = prepare_series(panel, spec, walk=WalkForward(folds=2))
    rng = np.random.default_rng(5)
    forecast = rng.normal(0, 0.01, len(series.y_test))
    evidence = forecast_evidence(series, {"teacher": forecast}, cutoff=None, cost_bps=5.0)
    per_asset = evidence["trading_per_asset"]
    assert sorted(per_asset) == sorted(set(series.windows_test.ids.astype(str)))
    compared = 0
    for asset in per_asset:
        mine = series.windows_test.ids.astype(str) == asset
        alone = prepare_series(panel[panel["ticker"] == asset].drop(columns="ticker"),
                               MarketSpec(window=8, volume_column="volume"), walk=WalkForward(folds=2))
        # The one-asset series judges its own test period; compare on the dates both hold.
        common, mine_at, alone_at = np.intersect1d(series.windows_test.dates[mine], alone.windows_test.dates,
                                                   return_indices=True)
        if len(common) < len(alone.windows_test.dates):
            continue  # the panel's test period starts elsewhere for this asset: nothing to compare whole
        signal = np.zeros(len(alone.y_test))
        signal[alone_at] = forecast[mine][mine_at]
        own = forecast_evidence(alone, {"teacher": signal}, cutoff=None, cost_bps=5.0)["trading"]
        assert per_asset[asset]["teacher"] == own["teacher"]
        compared += 1
    assert compared >= 1


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 40), st.integers(1, 6), st.lists(st.integers(0, 10**6), min_size=0, max_size=50),
       st.integers(0, 2**16))
def test_a_block_of_windows_is_every_windows_own_rows(window: int, features: int, picks: list[int], seed: int) -> None:
    """WindowStream.block copies each window's rows from a view of every window: the same values as
    gathering rows end - window + 1 .. end one by one."""
    rng = np.random.default_rng(seed)
    rows = window + 60
    scaled = rng.normal(size=(rows, features)).astype(np.float32)
    ends = np.asarray([window - 1 + p % (rows - window + 1) for p in picks], dtype=np.int64)
    zeros = np.zeros(len(ends))
    stream = WindowStream(zeros, None, zeros, zeros, zeros, scaled, ends, window)
    block = stream.block(0, len(ends))
    expected = np.stack([scaled[e - window + 1:e + 1] for e in ends]) if len(ends) else np.empty((0, window, features))
    assert block.shape == (len(ends), window, features) and block.flags["C_CONTIGUOUS"]
    np.testing.assert_array_equal(block, expected)
    np.testing.assert_array_equal(stream.materialise("x", check=False).x, expected)


def test_parity_runs_in_blocks_with_the_same_outputs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The served-model check runs the weights and the ONNX graph a block of rows at a time: the
    same outputs as one call over every row (blocks of 7 rows here)."""
    import finlite.jobs.export as export_module
    import finlite.tasks
    from finlite.export.graph import _is_regression, to_onnx
    from finlite.export.parity import onnx_session, run_onnx, run_onnx_blocks
    from finlite.models.sequence import SequenceModel

    torch.manual_seed(0)
    model = SequenceModel(in_features=4, hidden=(5,), cell="gru").eval()
    x = np.random.default_rng(1).normal(size=(50, 6, 4)).astype(np.float32)
    whole = export_module._reference(model, x)
    session = onnx_session(to_onnx(model).SerializeToString())
    output = "prediction" if _is_regression(model) else "probability"
    onnx_whole = run_onnx(session, x, output)
    monkeypatch.setattr(finlite.tasks, "SCORE_CHUNK", 7)  # in_score_chunks: every block-wise scoring
    np.testing.assert_allclose(export_module._reference(model, x), whole, rtol=0, atol=1e-6)
    np.testing.assert_allclose(run_onnx_blocks(session, x, output), onnx_whole, rtol=0, atol=1e-6)
    assert run_onnx_blocks(session, x[:0], output).shape == (0,)


def test_a_holdout_with_recorded_scales_builds_no_training_windows() -> None:
    """A hold-out scaled by the MASE scales its model recorded builds no window before its test
    dates (they scale nothing): its test part, and the evidence, are those of the hold-out built
    with them."""
    from finlite.data.market import prepare_holdout

    spec = MarketSpec(window=8, id_column="ticker", volume_column="volume")
    panel = _panel([300, 320], stagger=False)
    model = prepare_series(panel[pd.to_datetime(panel["date"]) < pd.Timestamp("2020-10-01")], spec,
                           walk=WalkForward(folds=2))
    after = str(np.datetime_as_string(model.windows_val.dates.max(), unit="D"))
    scales = {"units": 0.0123, "levels": None}
    whole = prepare_holdout(panel, model.preprocessor, WalkForward(folds=2), after=after)
    lean = prepare_holdout(panel, model.preprocessor, WalkForward(folds=2), after=after, mase_scales=scales)
    assert len(whole.x_train) > 0 and len(lean.x_train) == len(lean.windows_train) == len(lean.y_train) == 0
    np.testing.assert_array_equal(lean.x_test, whole.x_test)
    np.testing.assert_array_equal(lean.windows_test.dates, whole.windows_test.dates)
    forecast = np.random.default_rng(2).normal(0, 0.01, len(lean.y_test))
    whole.mase_scales = dict(scales)
    assert (forecast_evidence(lean, {"teacher": forecast}, cutoff=None)
            == forecast_evidence(whole, {"teacher": forecast}, cutoff=None))


def test_the_served_model_check_refuses_no_rows(tmp_path: Path) -> None:
    """Checking an export on no rows would report that it agrees having compared nothing."""
    from finlite.artifact import load
    from finlite.errors import DataError
    from finlite.jobs.evaluate import check_served_model
    from tests.conftest import build_market_artifact

    art = load(build_market_artifact(tmp_path / "art", make_prices(200)))
    with pytest.raises(DataError, match=r"No rows to check .*'s exported model against its weights on \(the rows evaluated: test\)"):
        check_served_model(art, np.zeros((0, art.market.spec.window, art.market.n_features), np.float32), "test")
    served = check_served_model(art, np.zeros((3, art.market.spec.window, art.market.n_features), np.float32), "test")
    assert served["status"] == "agrees" and served["rows"] == 3


def test_a_block_refuses_a_window_ending_outside_its_table() -> None:
    """A window's end before its first full window or past the table would read rows wrapped
    around from the other end (a negative index): refused, never gathered."""
    from finlite.errors import ConfigError

    zeros = np.zeros(1)
    scaled = np.ones((10, 2), dtype=np.float32)
    for end in (2, 10):
        stream = WindowStream(zeros, None, zeros, zeros, zeros, scaled, np.array([end], dtype=np.int64), 4)
        with pytest.raises(ConfigError, match=r"a window ends at row .* outside rows 3 to 9 of its 10-row table"):
            stream.block(0, 1)
    assert WindowStream(zeros[:0], None, zeros[:0], zeros[:0], zeros[:0], scaled[:2], np.zeros(0, np.int64),
                        4).block(0, 0).shape == (0, 4, 2)
