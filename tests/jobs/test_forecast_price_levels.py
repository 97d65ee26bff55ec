"""The price objective is judged in price levels against the random walk, beside its log-change metrics."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from finlite.data.market import MarketSpec, prepare_series
from finlite.data.walkforward import WalkForward
from finlite.evaluate.forecast import diebold_mariano
from finlite.jobs.forecast import forecast_evidence
from tests.jobs.test_forecast import write_prices


def test_price_objective_reports_level_metrics_against_the_random_walk(tmp_path: Path) -> None:
    series = prepare_series(write_prices(tmp_path / "p.csv"), MarketSpec(window=10, objective="price", horizon=2),
                            walk=WalkForward(folds=2))
    y = np.asarray(series.windows_test.y, dtype=np.float64)  # float64 labels (y_test is float32)
    last = series.windows_test.last_price
    rng = np.random.default_rng(3)
    pred = y + rng.normal(0.0, 0.003, len(y))
    ev = forecast_evidence(series, {"teacher": pred}, cutoff=None, cost_bps=0.0)
    levels = ev["models"]["teacher"]["levels"]
    actual, forecast = last * np.exp(y), last * np.exp(pred)
    assert levels["rmse"] == pytest.approx(float(np.sqrt(np.mean((forecast - actual) ** 2))), rel=1e-9)
    assert levels["mape"] == pytest.approx(float(np.mean(np.abs(forecast - actual) / actual)), rel=1e-9)
    # MASE: scaled by the random walk's MAE on the training windows (Hyndman and Koehler's in-sample
    # scale); the DM test against the random walk: tomorrow's price is today's.
    train = series.windows_train
    train_last, train_y = train.last_price, np.asarray(train.y, dtype=np.float64)
    scale = float(np.mean(np.abs(train_last - train_last * np.exp(train_y))))
    assert levels["mase"] == pytest.approx(float(np.mean(np.abs(forecast - actual))) / scale, rel=1e-9)
    # In model units too (the report's forecast_accuracy section uses the same scale).
    units = ev["models"]["teacher"]["pooled"]["mase"]
    assert units == pytest.approx(float(np.mean(np.abs(pred - y))) / float(np.mean(np.abs(train_y))), rel=1e-9)
    expected = diebold_mariano(forecast - actual, last - actual, 2)
    assert levels["diebold_mariano_vs_naive"]["statistic"] == pytest.approx(expected["statistic"], rel=1e-9)
    assert ev["models"]["naive"]["levels"]["rmse"] == pytest.approx(float(np.sqrt(np.mean((last - actual) ** 2))))
    # A return forecast has no levels block: its outcome is the return itself.
    ret = prepare_series(write_prices(tmp_path / "p.csv"), MarketSpec(window=10), walk=WalkForward(folds=2))
    assert "levels" not in forecast_evidence(ret, {"teacher": ret.y_test}, cutoff=None)["models"]["teacher"]
    # The printed table and report.md show the levels too (they were in report.json only: a review).
    from finlite.jobs.forecast import render_forecast_table

    table = render_forecast_table(ev).splitlines()
    row = next(line for line in table if line.startswith("price level RMSE"))
    # Columns: teacher, naive (the random walk), buy-and-hold (no level forecast).
    assert row.split()[3:] == [f"{levels['rmse']:.4g}", f"{ev['models']['naive']['levels']['rmse']:.4g}", "-"]
    assert not any(line.startswith("price level") for line in
                   render_forecast_table(forecast_evidence(ret, {"teacher": ret.y_test}, cutoff=None)).splitlines())
