"""Market artifacts: a MarketPreprocessor saved as preprocessor.json ("kind": "market"), no cut-off
for a forecast, forecasts from a price history, prepare_like rebuilding the same walk-forward split,
and forged market files refused."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch

from finlite.artifact import load, prepare_like, prepare_series_like, prepare_table_like, save_artifact
from finlite.data.market import MarketSpec, PreparedSeries, prepare_series
from finlite.data.walkforward import WalkForward
from finlite.errors import ArtifactError, ConfigError, DataError
from finlite.jobs.export import export_artifact
from finlite.models.sequence import SequenceModel
from finlite.runtime import Predictor
from finlite.runtime.batch import score_file
from tests.conftest import make_prices
from tests.test_artifact_trust import rehash


def _save(out: Path, frame: pd.DataFrame, objective: str, cutoff: float | None = None) -> Path:
    """An untrained (seeded) GRU forecaster of ``frame`` saved as an artifact, without export."""
    torch.manual_seed(0)
    series = prepare_series(frame, MarketSpec(objective=objective, window=5), walk=WalkForward(folds=2))
    net = SequenceModel("gru", series.preprocessor.n_features, [4],
                        task="classification" if objective == "direction" else "regression")
    return save_artifact(out, model=net, preprocessor=series.preprocessor, role="teacher", seed=0, cutoff=cutoff,
                         data=series.summary(), steps=[], metrics={}, task=series.task)


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return make_prices(200, seed=9)[["date", "close"]]


def test_a_forecaster_round_trips_without_a_cutoff(tmp_path: Path, frame: pd.DataFrame) -> None:
    path = _save(tmp_path / "art", frame, "return")
    manifest = json.loads((path / "manifest.json").read_text())
    stored = json.loads((path / "preprocessor.json").read_text())
    assert stored["kind"] == "market" and stored["spec"]["window"] == 5
    assert manifest["cutoff"] is None and manifest["operating_point"] is None and manifest["task"] == "forecast"
    assert manifest["schema"]["kind"] == "market" and manifest["schema"]["features"] == stored["features"]
    art = load(path)
    assert art.market is not None and art.market.to_dict() == stored and art.task == "forecast"
    assert art.decision_cutoff is None
    for attribute in ("cutoff", "operating_point"):
        with pytest.raises(ConfigError, match="no decisions"):
            getattr(art, attribute)
    for attribute in ("schema", "tabular"):
        with pytest.raises(ConfigError, match="market forecaster"):
            getattr(art, attribute)
    out = art.forecast(frame)
    assert len(out) == len(frame) - art.market.warmup
    assert list(out.columns) == ["date", "horizon", "forecast", "last_price"]  # what each forecast is for, on its row
    assert out["horizon"].dtype == np.int32 and set(out["horizon"]) == {art.market.spec.horizon}
    net = art.model
    with torch.inference_mode():
        expected = net(torch.from_numpy(art.market.windows(frame).x)).numpy()
    assert np.abs(out["forecast"].to_numpy() - expected).max() < 1e-6
    np.testing.assert_allclose(art.predict(frame), out["forecast"].to_numpy())
    np.testing.assert_allclose(art.predict_score(frame), out["forecast"].to_numpy())


def test_price_forecasts_are_levels_and_direction_decides(tmp_path: Path, frame: pd.DataFrame) -> None:
    price = load(_save(tmp_path / "price", frame, "price"))
    out = price.forecast(frame)
    np.testing.assert_allclose(out["forecast"], out["last_price"] * np.exp(out["log_change"]), rtol=1e-12)
    np.testing.assert_allclose(price.predict(frame), out["forecast"].to_numpy(), rtol=1e-12)
    direction = load(_save(tmp_path / "direction", frame, "direction", cutoff=0.5))
    assert direction.cutoff == 0.5 and direction.task == "direction"
    got = direction.forecast(frame)
    assert ((got["probability"] > 0) & (got["probability"] < 1)).all()
    np.testing.assert_array_equal(direction.predict(frame), (got["probability"] >= 0.5).astype(np.int8))
    assert direction.predict_proba(frame).shape == (len(got), 2)


def test_save_refuses_a_missing_cutoff_for_a_model_that_decides(tmp_path: Path, frame: pd.DataFrame) -> None:
    with pytest.raises(ConfigError, match="no cut-off for a direction model") as caught:
        _save(tmp_path / "art", frame, "direction", cutoff=None)
    assert caught.value.param == "cutoff" and not (tmp_path / "art").exists()


def test_prepare_like_rebuilds_the_same_walk_forward_split(tmp_path: Path, frame: pd.DataFrame) -> None:
    path = _save(tmp_path / "art", frame, "volatility")
    art = load(path)
    original = prepare_series(frame, art.market.spec, walk=WalkForward(folds=2))
    again = prepare_like(art, frame)
    assert isinstance(again, PreparedSeries) and again.preprocessor is art.market
    for name in ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test"):
        assert np.array_equal(getattr(again, name), getattr(original, name)), name
    assert (again.windows_test.dates == original.windows_test.dates).all()
    assert prepare_series_like(art, frame).y_test.tobytes() == original.y_test.tobytes()
    with pytest.raises(ConfigError, match="market forecaster"):
        prepare_table_like(art, frame)
    other = frame.copy()
    other.loc[10, "close"] *= 1.01
    with pytest.raises(DataError, match="not the price table"):
        prepare_like(art, other)


def test_forged_market_preprocessors_and_manifests_are_refused(tmp_path: Path, frame: pd.DataFrame) -> None:
    path = _save(tmp_path / "art", frame, "return")

    def forged(name: str, edit_spec=None, edit_manifest=None) -> Path:  # type: ignore[no-untyped-def]
        copy = tmp_path / name
        shutil.copytree(path, copy)
        if edit_spec is not None:
            spec = json.loads((copy / "preprocessor.json").read_text())
            edit_spec(spec)
            (copy / "preprocessor.json").write_text(json.dumps(spec))
        rehash(copy, edit_manifest)
        return copy

    zero = forged("zero", lambda s: s["std"].__setitem__(3, 0.0))
    with pytest.raises(ArtifactError, match=r"feature 'ma_gap_5' has std 0\.0"):
        load(zero)
    huge = forged("huge", lambda s: s.update(features=[f"f{i}" for i in range(5000)]))
    with pytest.raises(ArtifactError, match="1 to 4,096 feature names"):
        load(huge)
    window = forged("window", edit_manifest=lambda m: m["schema"].update(window=6))
    with pytest.raises(ArtifactError, match="window 5 differs from the artifact manifest's 6"):
        load(window)
    binary = forged("binary", edit_manifest=lambda m: m.update(task="binary"))
    with pytest.raises(ArtifactError, match="'cutoff' is None"):
        load(binary)
    direction = forged("direction", edit_manifest=lambda m: m.update(task="direction"))
    with pytest.raises(ArtifactError, match="records no cut-off, but its task 'direction' decides"):
        load(direction)


def test_the_predictor_refuses_a_forged_market_preprocessor(forecast_dir: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(forecast_dir, copy)
    spec = json.loads((copy / "preprocessor.json").read_text())
    spec["mean"][0] = float("1e39")
    (copy / "preprocessor.json").write_text(json.dumps(spec))
    rehash(copy)
    with pytest.raises(ArtifactError, match=r"cannot be used.*'log_return' has mean 1e\+39"):
        Predictor(copy)


def _panel(tmp_path: Path, id_column: str) -> tuple[pd.DataFrame, MarketSpec, Any]:
    """Two assets' prices (80 and 70 rows) under ``id_column``, and an untrained LSTM forecaster
    of their 3-step return saved as an artifact."""
    long = pd.concat([make_prices(80, seed=1).assign(**{id_column: "AAA"}),
                      make_prices(70, seed=2).assign(**{id_column: "BBB"})])
    torch.manual_seed(0)
    spec = MarketSpec(objective="return", window=5, horizon=3, id_column=id_column)
    series = prepare_series(long, spec, walk=WalkForward(folds=1))
    net = SequenceModel("lstm", series.preprocessor.n_features, [4])
    art = load(save_artifact(tmp_path / "art", model=net, preprocessor=series.preprocessor, role="teacher", seed=0,
                             cutoff=None, data=series.summary(), steps=[], metrics={}, task=series.task))
    return long, spec, art


def test_several_assets_are_forecast_apart(tmp_path: Path) -> None:
    long, spec, art = _panel(tmp_path, "ticker")
    out = art.forecast(long.sample(frac=1.0, random_state=0))  # any row order: read_prices sorts by (id, date)
    assert list(out.columns) == ["date", "ticker", "horizon", "forecast", "last_price"]
    assert out.groupby("ticker").size().to_dict() == {"AAA": 80 - spec.warmup, "BBB": 70 - spec.warmup}
    # Each asset's forecasts come from its own rows only: the same as forecasting it alone.
    alone = art.forecast(long[long["ticker"] == "BBB"])
    np.testing.assert_allclose(out.loc[out["ticker"] == "BBB", "forecast"].to_numpy(), alone["forecast"].to_numpy(),
                               atol=1e-6)
    # A scored file says on every row what its forecast is for: the horizon, after the asset's id.
    long.to_csv(tmp_path / "long.csv", index=False)
    export_artifact(art.path, tmp_path / "long.csv")
    score_file(Predictor(art.path), tmp_path / "long.csv", tmp_path / "scored.csv")
    scored = pd.read_csv(tmp_path / "scored.csv")
    assert list(scored.columns) == ["date", "ticker", "horizon", "forecast", "last_price", "in_sample"]
    assert scored["horizon"].tolist() == [3] * len(out)


def test_an_id_column_named_horizon_keeps_its_ids_in_a_scored_file(tmp_path: Path) -> None:
    """The horizon column took the place of an id column of that name, every id gone without a word
    (a review, 2026-12-05): the horizon is then written as forecast_horizon."""
    long, _, art = _panel(tmp_path, "horizon")
    long.to_csv(tmp_path / "long.csv", index=False)
    export_artifact(art.path, tmp_path / "long.csv")
    for name in ("scored.csv", "scored.parquet"):
        score_file(Predictor(art.path), tmp_path / "long.csv", tmp_path / name)
        scored = pd.read_csv(tmp_path / name) if name.endswith(".csv") else pd.read_parquet(tmp_path / name)
        assert list(scored.columns) == ["date", "horizon", "forecast_horizon", "forecast", "last_price", "in_sample"]
        assert set(scored["horizon"]) == {"AAA", "BBB"} and set(scored["forecast_horizon"]) == {3}
    # An id column named in_sample likewise keeps its name; the flag is then forecast_in_sample.
    from finlite.runtime.batch import in_sample_column
    assert in_sample_column(art.market.spec) == "in_sample"
    assert in_sample_column(type("Spec", (), {"id_column": "in_sample"})()) == "forecast_in_sample"
    # So in Python: the artifact's forecasts, the Predictor's, and its one forecast's answer.
    out = art.forecast(long)
    assert list(out.columns) == ["date", "horizon", "forecast_horizon", "forecast", "last_price"]
    assert set(out["horizon"]) == {"AAA", "BBB"} and set(out["forecast_horizon"]) == {3}
    every = Predictor(art.path).forecast_all(long)
    assert set(every["horizon"]) == {"AAA", "BBB"} and set(every["forecast_horizon"].tolist()) == {3}
    one = Predictor(art.path).forecast(long[long["horizon"] == "BBB"])
    assert one["horizon"] == "BBB" and one["forecast_horizon"] == 3
