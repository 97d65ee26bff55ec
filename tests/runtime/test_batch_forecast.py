"""score_file on a price file: one forecast per date with enough history, written atomically, and
never changed by later rows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from finlite import _limits
from finlite.data.market import read_prices
from finlite.errors import ConfigError, DataError
from finlite.runtime import Predictor
from finlite.runtime.batch import score_file
from tests.conftest import build_market_artifact, make_prices

WARMUP = 30  # 21 rows of feature look-back + a window of 10 - 1 (tests/conftest.py builds window 10)


def test_score_file_writes_one_forecast_per_date(direction_dir: Path, prices: pd.DataFrame, tmp_path: Path) -> None:
    src, out = tmp_path / "prices.csv", tmp_path / "forecasts.csv"
    prices.to_csv(src, index=False)
    predictor = Predictor(direction_dir)
    summary = score_file(predictor, src, out, chunk_rows=50)
    written = pd.read_csv(out)
    assert list(written.columns) == ["date", "horizon", "forecast", "last_price", "probability", "decision",
                                     "in_sample"]
    assert (written["horizon"] == predictor.market.spec.horizon).all()
    # The dates the model was fitted or early-stopped on are marked (a backtest of the whole file
    # mixed them in unmarked: a quant's walk-through, 2026-12-06), and counted in a note.
    # The purge (and embargo) between validation and test count too: their labels overlap the
    # validation labels (a quant's walk-through, 2026-12-06: marked safe where evaluate leaves them out).
    test_start = predictor.manifest["data"]["dates"]["test"][0]
    assert written["in_sample"].tolist() == (written["date"] < test_start).tolist()
    assert written["in_sample"].sum() >= (written["date"] <= predictor.manifest["data"]["dates"]["validation"][1]).sum()
    inside = int(written["in_sample"].sum())
    assert 0 < inside < len(written)
    until = str(np.datetime64(test_start, "D") - np.timedelta64(1, "D"))
    assert f"{inside:,} of the {len(written):,} forecasts are of dates up to {until}, before the model's test " \
        "period (in_sample true): it was fitted or early-stopped on them or on later dates, or their labels overlap " \
        "those it was early-stopped on (the purge and embargo); leave them out of a backtest" in summary.notes
    assert summary.rows == len(written) == len(prices) - WARMUP
    # The dates without a forecast are said, with why (they were left out without a word before).
    assert [n for n in summary.notes if n.startswith("no forecast")] == [
        f"no forecast for the first {WARMUP:,} row(s) of {str(src)!r}: a forecast needs {WARMUP} rows of history "
        f"before its date (the window of {predictor.market.spec.window} steps and its features' look-back)"]
    expected = predictor.forecast_all(prices)
    assert written["date"].tolist() == [str(d) for d in expected["date"]]
    assert np.abs(written["probability"].to_numpy() - expected["probability"]).max() < 1e-6
    assert summary.positives == int(written["decision"].sum())
    parquet = tmp_path / "forecasts.parquet"
    score_file(predictor, src, parquet)
    assert np.abs(pd.read_parquet(parquet)["forecast"].to_numpy() - expected["forecast"]).max() < 1e-6
    assert pd.read_parquet(parquet)["in_sample"].dtype == bool


def test_score_file_forecasts_never_see_later_rows(forecast_dir: Path, prices: pd.DataFrame, tmp_path: Path) -> None:
    """The same file with its last 25 rows changed gives identical forecasts for every earlier date."""
    changed = prices.copy()
    rng = np.random.default_rng(11)
    changed.loc[len(prices) - 25:, "close"] *= np.exp(rng.normal(0, 0.05, 25))
    changed.loc[len(prices) - 25:, "volume"] = rng.integers(1, 10**6, 25).astype(float)
    predictor = Predictor(forecast_dir)
    outputs = []
    for name, frame in (("a", prices), ("b", changed)):
        frame.to_csv(tmp_path / f"{name}.csv", index=False)
        score_file(predictor, tmp_path / f"{name}.csv", tmp_path / f"{name}_out.csv")
        outputs.append(pd.read_csv(tmp_path / f"{name}_out.csv"))
    before, after = outputs
    first_changed = prices["date"].iloc[len(prices) - 25]
    earlier = before["date"] < first_changed
    assert earlier.sum() == len(prices) - WARMUP - 25
    pd.testing.assert_frame_equal(before[earlier], after[earlier])
    assert (before.loc[~earlier, "forecast"].to_numpy() != after.loc[~earlier, "forecast"].to_numpy()).any()


def test_score_file_refuses_a_bad_price_file_and_leaves_no_output(forecast_dir: Path, prices: pd.DataFrame,
                                                                  tmp_path: Path) -> None:
    bad = prices.astype({"close": object})
    bad.loc[100, "close"] = "twelve"
    src, out = tmp_path / "bad.csv", tmp_path / "out.csv"
    bad.to_csv(src, index=False)
    predictor = Predictor(forecast_dir)
    with pytest.raises(DataError, match=rf"'close'.*'twelve'.*{prices['date'][100]}"):
        score_file(predictor, src, out)
    assert not out.exists() and [p.name for p in tmp_path.iterdir()] == ["bad.csv"]
    prices.to_csv(src, index=False)
    with pytest.raises(DataError, match="id columns"):
        score_file(predictor, src, out, id_columns=["date"])
    # A price history has no record fields to flag or to refuse blanks in, nor reasons to give.
    with pytest.raises(ConfigError, match=r"is a market forecaster: .*no_impute applies to a table model's records"):
        Predictor(forecast_dir, no_impute=True)
    with pytest.raises(ConfigError, match=r"A forecaster reads a price history, not records with fields to flag"):
        score_file(predictor, src, out, flags=True)
    with pytest.raises(ConfigError, match=r"A forecaster's output has no adverse-action reasons"):
        score_file(predictor, src, out, reasons=2)
    assert not out.exists()


def test_a_volatility_forecast_below_zero_is_warned_not_altered(prices: pd.DataFrame, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """A realised volatility cannot be negative; an undertrained model's unconstrained head wrote
    125 of 370 forecasts below 0 without a word (a review of the markets path, 2026-12-03)."""
    from finlite.data.market import impossible_forecast_notes
    from tests.conftest import build_market_artifact

    assert impossible_forecast_notes("volatility", np.array([0.01, 0.02])) == []
    assert impossible_forecast_notes("return", np.array([-0.01])) == []
    [note] = impossible_forecast_notes("volatility", np.array([0.01, -0.0031, -0.001]))
    assert note == ("warning: 2 of 3 volatility forecasts are below 0 (lowest -0.0031), which a realised volatility "
                    "cannot be; the model is poorly fitted there. Read them as 0, and retrain (more epochs or data) "
                    "before relying on it.")
    artifact = build_market_artifact(tmp_path / "vol", prices, "volatility")
    prices.to_csv(tmp_path / "prices.csv", index=False)
    summary = score_file(Predictor(artifact), tmp_path / "prices.csv", tmp_path / "out.csv")
    written = pd.read_csv(tmp_path / "out.csv")["forecast"].to_numpy()
    below = int((written < 0).sum())  # written as the model made them
    assert [n for n in summary.notes if "volatility forecasts are below 0" in n] == (
        [f"warning: {below:,} of {len(written):,} volatility forecasts are below 0 (lowest {written.min():.3g}), which "
         "a realised volatility cannot be; the model is poorly fitted there. Read them as 0, and retrain (more epochs "
         "or data) before relying on it."] if below else [])
    # Forced below zero, whatever this tiny model does: the warning goes through score_file, and
    # the forecasts are written as the model made them.
    original = Predictor.forecast_windows

    def lower(self: Predictor, *args: object, **kwargs: object) -> dict:
        out = original(self, *args, **kwargs)
        return {**out, "forecast": out["forecast"] - 1.0}

    monkeypatch.setattr(Predictor, "forecast_windows", lower)
    forced = score_file(Predictor(artifact), tmp_path / "prices.csv", tmp_path / "low.csv")
    low = pd.read_csv(tmp_path / "low.csv")["forecast"].to_numpy()
    assert (low < 0).all() and any(n.startswith(f"warning: {len(low):,} of {len(low):,} volatility forecasts are below 0")
                                   for n in forced.notes)


def test_a_column_the_artifact_reads_blames_no_option_of_score(forecast_dir: Path, prices: pd.DataFrame,
                                                              tmp_path: Path) -> None:
    """A price file without the artifact's volume column read "--volume-column: ..." under score,
    which has no such option (a review of the markets path, 2026-12-03)."""
    from typer.testing import CliRunner

    from finlite.cli import app

    prices.drop(columns="volume").to_csv(tmp_path / "no_volume.csv", index=False)
    with pytest.raises(DataError, match=r"Column 'volume', named as the volume column .* is not in .*The artifact's "
                                        r"spec names that column") as info:
        score_file(Predictor(forecast_dir), tmp_path / "no_volume.csv", tmp_path / "out.csv")
    assert info.value.param is None
    shown = CliRunner().invoke(app, ["score", str(forecast_dir), str(tmp_path / "no_volume.csv"), "-o",
                                     str(tmp_path / "out.csv")])
    assert shown.exit_code == 2 and shown.output.startswith("error: Column 'volume'"), shown.output


def test_a_history_too_short_for_the_artifact_s_window_blames_no_option(forecast_dir: Path, prices: pd.DataFrame,
                                                                       tmp_path: Path) -> None:
    """It read "Use a shorter window (--window)" and named the file's rows as a column of the spec;
    score has no --window (a review, 2026-12-03)."""
    prices.head(15).to_csv(tmp_path / "short.csv", index=False)
    with pytest.raises(DataError, match=r"has 15 row\(s\); one forecast needs 31 .* The window is .*'s own: give at "
                                        r"least 31 rows of history\.$") as info:
        score_file(Predictor(forecast_dir), tmp_path / "short.csv", tmp_path / "out.csv")
    assert "--window" not in str(info.value) and "spec names that column" not in str(info.value)


@pytest.fixture(scope="module")
def panel(tmp_path_factory: pytest.TempPathFactory) -> tuple[pd.DataFrame, Path]:
    """Four assets of different lengths (one too short to forecast) and a direction forecaster of the panel."""
    frame = pd.concat([make_prices(n=n, seed=k).assign(ticker=f"T{k}")
                       for k, n in enumerate((160, 240, 25, 200))], ignore_index=True)
    art = build_market_artifact(tmp_path_factory.mktemp("art") / "panel", frame[frame["ticker"] != "T2"],
                                "direction", id_column="ticker")
    return frame, art


def test_a_stream_gathers_the_same_windows_block_by_block(panel: tuple[pd.DataFrame, Path]) -> None:
    frame, art = panel
    market = Predictor(art).market
    assert market is not None
    table = read_prices(frame, market.spec, "the panel", short_assets="skip")
    windows = market.windows(table)
    stream = market.window_stream(table)
    assert len(stream) == len(windows) == (160 - WARMUP) + (240 - WARMUP) + (200 - WARMUP)
    assert stream.materialise("the panel").x.tobytes() == windows.x.tobytes()
    for start, stop in ((0, 7), (125, 140), (129, 131), (len(stream) - 3, len(stream) + 5)):
        block = stream.block(start, stop)
        assert block.flags.c_contiguous and block.dtype == np.float32
        assert block.tobytes() == windows.x[start:stop].tobytes()  # across assets' boundaries too
    np.testing.assert_array_equal(stream.dates, windows.dates)
    np.testing.assert_array_equal(stream.ids, windows.ids)
    np.testing.assert_array_equal(stream.last_price, windows.last_price)


def test_a_panel_whose_windows_would_not_fit_in_memory_is_scored_in_blocks(
        panel: tuple[pd.DataFrame, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every window's inputs at once are ``window`` copies of the scaled features: a universe
    that finlite score accepts by size (5,000 assets over 30 years) needed 50 GB and was refused.
    Now the blocks are gathered as they are scored: with memory for the features but not for the
    windows, the panel is scored, the same as with plenty."""
    frame, art = panel
    src = tmp_path / "panel.csv"
    frame.to_csv(src, index=False)
    predictor = Predictor(art)
    market = predictor.market
    assert market is not None
    listed = frame[frame["ticker"] != "T2"]
    expected = predictor.forecast_all(listed)
    rows, features = len(frame), market.n_features
    every_window = rows * market.spec.window * features * 4 * 2
    # One request may take half of what every window needs: about 3 times what the features need.
    monkeypatch.setattr(_limits, "available_memory", lambda: int(every_window / 2 / _limits._MEMORY_SHARE))
    with pytest.raises(ConfigError, match=r"the model inputs of the panel .* needs about"):
        market.windows(listed, "the panel")  # every window at once is refused, as before
    out = tmp_path / "forecasts.parquet"
    summary = score_file(predictor, src, out, chunk_rows=16)
    written = pd.read_parquet(out)
    assert summary.rows == len(written) == len(expected["date"])
    assert written["ticker"].tolist() == expected["ticker"].tolist()
    assert written["probability"].to_numpy().tobytes() == expected["probability"].astype(np.float64).tobytes()
    assert any("'T2'" in note for note in summary.notes)  # the short asset is named, not scored


def test_a_panel_too_large_even_for_blocks_is_refused_before_anything_is_written(
        panel: tuple[pd.DataFrame, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    frame, art = panel
    src, out = tmp_path / "panel.csv", tmp_path / "forecasts.parquet"
    frame.to_csv(src, index=False)
    predictor = Predictor(art)
    monkeypatch.setattr(_limits, "available_memory", lambda: 100_000)
    with pytest.raises(ConfigError, match=r"the windows of .*panel\.csv \(600 rows of 11 features\) needs about "
                                          r".*split the file by asset or by date"):
        score_file(predictor, src, out)
    assert not out.exists() and list(tmp_path.iterdir()) == [src]


def test_a_parquet_panel_with_typed_dates_and_two_workers_gives_the_same_forecasts(
        panel: tuple[pd.DataFrame, Path], tmp_path: Path) -> None:
    # A Parquet date32 column reaches pandas as datetime.date objects: read as days directly, not
    # through their text; blocks scored on two threads come back in order.
    frame, art = panel
    predictor = Predictor(art)
    csv, parquet = tmp_path / "panel.csv", tmp_path / "panel.parquet"
    frame.to_csv(csv, index=False)
    typed = frame.assign(date=pd.to_datetime(frame["date"]).dt.date)
    pa_table = pa.Table.from_pandas(typed, preserve_index=False)
    assert str(pa_table.schema.field("date").type) == "date32[day]"
    pq.write_table(pa_table, parquet)
    outs = []
    for src, workers in ((csv, 1), (parquet, 2), (parquet, 1)):
        out = tmp_path / f"out-{src.suffix[1:]}-{workers}.parquet"
        score_file(predictor, src, out, chunk_rows=16, workers=workers)
        outs.append(pd.read_parquet(out))
    for other in outs[1:]:
        pd.testing.assert_frame_equal(outs[0], other)
    stream = predictor.market.window_stream(frame[frame["ticker"] != "T2"])  # type: ignore[union-attr]
    for bad_workers in (0, -3, 2.5, "2"):
        with pytest.raises(ConfigError, match="workers"):
            predictor.forecast_windows(stream, workers=bad_workers)  # type: ignore[arg-type]
    bad = typed.copy()
    bad.loc[5, "date"] = None  # a missing date among typed ones: the text route names it
    pq.write_table(pa.Table.from_pandas(bad, preserve_index=False), parquet)
    with pytest.raises(DataError, match=r"has a missing date at row 6"):
        score_file(predictor, parquet, tmp_path / "never.parquet")


def test_the_torch_model_forecasts_a_panel_in_blocks_the_same(
        panel: tuple[pd.DataFrame, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """finlite.load(...).forecast() gathers its windows a block at a time too: with memory for
    the features but not for every window at once, the same forecasts as with plenty."""
    import finlite

    frame, art = panel
    listed = frame[frame["ticker"] != "T2"]
    model = finlite.load(art)
    expected = model.forecast(listed)
    market = model.market
    assert market is not None
    every_window = len(listed) * market.spec.window * market.n_features * 4 * 2
    monkeypatch.setattr(_limits, "available_memory", lambda: int(every_window / 2 / _limits._MEMORY_SHARE))
    with pytest.raises(ConfigError, match=r"the model inputs of"):
        market.windows(listed, "the panel")
    pd.testing.assert_frame_equal(model.forecast(listed), expected)
    assert model.predict(listed).tobytes() == (expected["decision"].to_numpy(np.int8)).tobytes()


def test_a_forecast_of_a_number_counts_no_positives(forecast_dir: Path, prices: pd.DataFrame, tmp_path: Path) -> None:
    """A return forecaster decides nothing: its run records positives as None (score --json said
    "positives": 0, read as none decided 1: an LGD modeller's walk-through, 2026-12-07)."""
    import json

    import pyarrow.parquet as pq

    from finlite.runtime.batch import RUN_KEY

    prices.to_csv(tmp_path / "px.csv", index=False)
    summary = score_file(Predictor(forecast_dir), tmp_path / "px.csv", tmp_path / "out.parquet")
    assert summary.positives is None and summary.to_dict()["positives"] is None
    record = json.loads(pq.read_metadata(tmp_path / "out.parquet").metadata[RUN_KEY.encode()])
    assert record["positives"] is None and record["rows"] == summary.rows
