"""Shared fixtures: the bundled German credit data, an unseen messy loan table, small artifacts."""

from __future__ import annotations

from pathlib import Path

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
def exported_dir(tmp_path_factory: pytest.TempPathFactory, teacher_dir: Path, german_csv: Path) -> Path:
    """A distilled, 50 %-pruned student of ``teacher_dir``, exported to ONNX (fp32 and int8)."""
    from finlite.jobs.export import export_artifact
    from finlite.methods import MagnitudePruning

    out = tmp_path_factory.mktemp("art") / "student"
    finlite.compress(teacher_dir, german_csv, student_hidden=(16,), pruning=MagnitudePruning(sparsity=0.5),
                     config=FAST, fine_tune=FAST, out=out, timing=False, progress=False)
    export_artifact(out, german_csv, int8=True)
    return out
