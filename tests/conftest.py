"""Shared fixtures: the bundled German credit data, an unseen messy loan table, small artifacts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import finlite
from finlite import datasets

FAST = finlite.TrainConfig(epochs=30, patience=5, progress=False)


def make_loans(n: int = 600, seed: int = 7) -> pd.DataFrame:
    """A loan table finlite has never seen: IDs, a date, gaps, text categories, a yes/no target."""
    rng = np.random.default_rng(seed)
    latent = rng.normal(size=n)
    income = np.exp(10.5 + 0.4 * latent + rng.normal(scale=0.3, size=n)).round(0)
    util = np.clip(0.5 - 0.2 * latent + rng.normal(scale=0.2, size=n), 0, 1.2).round(3)
    purpose = rng.choice(["car", "home improvement", "debt consolidation", "holiday"], size=n)
    logit = -1.5 - 1.2 * latent + 1.0 * (util > 0.8) + 0.5 * (purpose == "holiday")
    default = rng.random(n) < 1 / (1 + np.exp(-logit))
    frame = pd.DataFrame({
        "loan_id": [f"L{i:05d}" for i in range(n)],
        "application_date": pd.date_range("2020-01-01", periods=n, freq="D").strftime("%Y-%m-%d"),
        "annual_income": income,
        "utilisation": util,
        "purpose": purpose,
        "home_ownership": rng.choice(["RENT", "OWN", "MORTGAGE"], size=n),
        "defaulted": np.where(default, "yes", "no"),
    })
    frame.loc[rng.random(n) < 0.08, "annual_income"] = np.nan
    frame.loc[rng.random(n) < 0.05, "purpose"] = np.nan
    return frame


@pytest.fixture(scope="session")
def german() -> pd.DataFrame:
    return datasets.load("german_credit")


@pytest.fixture()
def loans_csv(tmp_path: Path) -> Path:
    path = tmp_path / "loans.csv"
    make_loans().to_csv(path, index=False)
    return path


@pytest.fixture(scope="session")
def german_csv() -> Path:
    return datasets.path("german_credit")


@pytest.fixture(scope="session")
def teacher_dir(tmp_path_factory: pytest.TempPathFactory, german_csv: Path) -> Path:
    """A small MLP teacher on German credit, trained once for the whole session."""
    out = tmp_path_factory.mktemp("art") / "teacher"
    finlite.train(german_csv, target="creditability", hidden=(64, 32), config=FAST, out=out)
    return out


@pytest.fixture(scope="session")
def boosted_dir(tmp_path_factory: pytest.TempPathFactory, german_csv: Path) -> Path:
    """A LightGBM teacher of German credit (split thresholds for input bins)."""
    out = tmp_path_factory.mktemp("lgb") / "teacher"
    finlite.train(german_csv, target="creditability", model="lightgbm", out=out, gbdt_params={"learning_rate": 0.3})
    return out


@pytest.fixture(scope="session")
def exported_dir(tmp_path_factory: pytest.TempPathFactory, teacher_dir: Path, german_csv: Path) -> Path:
    """A distilled, 50 %-pruned student of ``teacher_dir``, exported to ONNX (fp32 and int8)."""
    from finlite.jobs.export import export_artifact
    from finlite.methods import MagnitudePruning

    out = tmp_path_factory.mktemp("art") / "student"
    finlite.compress(teacher_dir, german_csv, student_hidden=(16,), pruning=MagnitudePruning(sparsity=0.5),
                     config=FAST, fine_tune=FAST, out=out, timing=False, progress=False)
    export_artifact(out, german_csv, int8=True)
    return out


# -- market forecasters ------------------------------------------------------------------------
def ar2_windows(n: int = 700, steps: int = 12, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Windows ``[n, steps, 1]`` of an AR(2) series (a mean-reverting spread) and the value that
    follows each: a forecasting problem a small recurrent model learns in a few epochs."""
    rng = np.random.default_rng(seed)
    series = np.zeros(n + steps + 2)
    for t in range(2, len(series)):
        series[t] = 0.6 * series[t - 1] - 0.2 * series[t - 2] + rng.normal(scale=0.5)
    windows = np.stack([series[i:i + steps] for i in range(n)])[:, :, None].astype(np.float32)
    return windows, series[steps:steps + n].astype(np.float32)


def make_prices(n: int = 300, seed: int = 3, start: str = "2020-01-01") -> pd.DataFrame:
    """A seeded daily price series (random walk with drift, business days) and its volume, dates as text."""
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range(start, periods=n)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0003, 0.01, n)))
    volume = rng.integers(1_000, 5_000, n).astype(float)
    return pd.DataFrame({"date": dates.strftime("%Y-%m-%d"), "close": close.round(4), "volume": volume})


def build_market_artifact(out: Path, frame: pd.DataFrame, objective: str = "return", seed: int = 0,
                          **spec_options: Any) -> Path:
    """A tiny GRU forecaster of ``frame`` (window 10), trained for one epoch, saved and exported to ONNX;
    ``spec_options`` override the spec's (volume column ``volume`` unless given)."""
    import torch

    from finlite.artifact import save_artifact
    from finlite.data.market import MarketSpec, prepare_series
    from finlite.data.walkforward import WalkForward
    from finlite.jobs.export import export_artifact
    from finlite.models.sequence import SequenceModel

    torch.manual_seed(seed)
    spec = MarketSpec(**({"objective": objective, "window": 10, "volume_column": "volume"} | spec_options))
    series = prepare_series(frame, spec, walk=WalkForward(folds=1))
    direction = objective == "direction"
    net = SequenceModel("gru", series.preprocessor.n_features, [8], task="classification" if direction else "regression")
    optimiser = torch.optim.Adam(net.parameters(), lr=1e-2)
    x, y = torch.from_numpy(series.x_train), torch.from_numpy(series.y_train)
    loss_fn = torch.nn.functional.binary_cross_entropy_with_logits if direction else torch.nn.functional.mse_loss
    for start in range(0, len(x), 32):  # one epoch
        optimiser.zero_grad()
        loss_fn(net(x[start:start + 32]), y[start:start + 32]).backward()
        optimiser.step()
    net.eval()
    save_artifact(out, model=net, preprocessor=series.preprocessor, role="teacher", seed=seed,
                  cutoff=0.5 if direction else None, data=series.summary(),
                  steps=[{"step": "train", "model": net.config(), "epochs_run": 1}], metrics={}, task=series.task)
    export_artifact(out, frame)
    return out


@pytest.fixture(scope="session")
def prices() -> pd.DataFrame:
    return make_prices()


@pytest.fixture(scope="session")
def forecast_dir(tmp_path_factory: pytest.TempPathFactory, prices: pd.DataFrame) -> Path:
    """An exported GRU forecaster of the next day's log return (task "forecast")."""
    return build_market_artifact(tmp_path_factory.mktemp("art") / "forecast", prices, "return")


@pytest.fixture(scope="session")
def direction_dir(tmp_path_factory: pytest.TempPathFactory, prices: pd.DataFrame) -> Path:
    """An exported GRU forecaster of the next day's direction (task "direction", cut-off 0.5)."""
    return build_market_artifact(tmp_path_factory.mktemp("art") / "direction", prices, "direction")


@pytest.fixture()
def compiled_fill(monkeypatch: pytest.MonkeyPatch) -> object:
    """The compiled block fill, compiled now (runtime/_native.py), whatever the environment says."""
    from finlite.runtime import _native

    monkeypatch.delenv(_native.ENV_SWITCH, raising=False)
    if _native.kernel() is None:  # switched off or failed earlier in this process: compile afresh
        monkeypatch.setattr(_native, "_kernel", None)
    kernel = _native.kernel()
    assert kernel is not None
    return kernel


@pytest.fixture()
def numpy_fill(monkeypatch: pytest.MonkeyPatch) -> None:
    """No compiled block fill: numpy writes every block (runtime/_native.py)."""
    from finlite.runtime import _native

    _native.kernel()  # a compile still under way would overwrite the switch below when it ends
    monkeypatch.setattr(_native, "_kernel", _native.NO_KERNEL)
