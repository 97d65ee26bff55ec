"""The S&P 500 index, daily OHLCV 1999-01-04 .. 2018-12-31 (5,031 trading days), for the market demo.

finlite does not ship these prices: they come from Yahoo Finance, which gives them no explicit
licence. The ``arch`` package (NCSA licence) carries a copy in its wheel
(``arch/data/sp500/sp500.csv.gz``); install it with ``pip install 'finlite[markets]'``. This
module finds that file WITHOUT importing arch (slow, and not needed), checks its sha256 against
the pinned one before parsing, and caches a normalised CSV (``date,open,high,low,close,adj_close,
volume``, ISO dates, the source's digits unchanged) under ``$FINLITE_CACHE`` or
``~/.cache/finlite``. Every read re-checks the cache against the sha256 recorded when it was
written, and rebuilds it from the wheel when they differ.
"""

from __future__ import annotations

import gzip
import importlib.util
import io
import json
import os
from pathlib import Path

import pandas as pd

from finlite._util import dump_json, sha256_bytes, sha256_file, write_text_atomic
from finlite.errors import DataError

__all__ = ["ROWS", "SOURCE_SHA256", "cache_dir", "sp500_path"]

# sha256 of arch 8.0.0's arch/data/sp500/sp500.csv.gz, the file read (see ../shared/DATASETS.md).
SOURCE_SHA256 = "1e028cbb9c400cc018c816ccc439b33c919387e726c3ed5ca2c05c82746059de"
ROWS = 5031
FIRST, LAST = "1999-01-04", "2018-12-31"
_SOURCE = ("data", "sp500", "sp500.csv.gz")
_COLUMNS = {"Date": "date", "Open": "open", "High": "high", "Low": "low", "Close": "close",
            "Adj Close": "adj_close", "Volume": "volume"}
_CACHE_NAME = "sp500.csv"
_RECORD_NAME = "sp500.json"
_INSTALL = "pip install 'finlite[markets]'"


def cache_dir() -> Path:
    """Where verified market data is cached: ``$FINLITE_CACHE`` or ``~/.cache/finlite``."""
    raw = os.environ.get("FINLITE_CACHE", "").strip()
    return Path(raw).expanduser() if raw else Path.home() / ".cache" / "finlite"


def _source_file() -> Path:
    """The wheel's gzip file, located without importing arch."""
    try:
        spec = importlib.util.find_spec("arch")
    except (ImportError, ValueError):
        spec = None
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    for location in locations:
        candidate = Path(location).joinpath(*_SOURCE)
        if candidate.is_file():
            return candidate
    raise DataError("The S&P 500 data is read from the 'arch' package, which is not installed (or lacks "
                    f"{'/'.join(_SOURCE)}). Install it with: {_INSTALL}.")


def _build(source: Path) -> str:
    """The normalised CSV text of the verified source file."""
    raw = source.read_bytes()
    digest = sha256_bytes(raw)
    if digest != SOURCE_SHA256:
        raise DataError(f"{source} has sha256 {digest}, not the pinned {SOURCE_SHA256} of arch 8.0.0's copy; it was "
                        f"changed or another arch version is installed. Reinstall it with: {_INSTALL}.")
    # Read every cell as text so the cache keeps the source's digits exactly.
    frame = pd.read_csv(io.BytesIO(gzip.decompress(raw)), dtype=str)
    if list(frame.columns) != list(_COLUMNS) or len(frame) != ROWS:
        raise DataError(f"{source} has columns {list(frame.columns)} and {len(frame)} rows; expected "
                        f"{list(_COLUMNS)} and {ROWS}. Reinstall it with: {_INSTALL}.")
    frame = frame.rename(columns=_COLUMNS)
    frame["date"] = pd.to_datetime(frame["date"], format="%m/%d/%Y").dt.strftime("%Y-%m-%d")
    if frame["date"].iloc[0] != FIRST or frame["date"].iloc[-1] != LAST:
        raise DataError(f"{source} spans {frame['date'].iloc[0]} .. {frame['date'].iloc[-1]}, not {FIRST} .. {LAST}.")
    return str(frame.to_csv(index=False, lineterminator="\n"))


def _recorded(record: Path) -> str | None:
    """The sha256 the cache was written with, or None when the record is missing or unreadable."""
    try:
        value = json.loads(record.read_text(encoding="utf-8")).get("sha256")
    except (OSError, ValueError, AttributeError):
        return None
    return value if isinstance(value, str) else None


def sp500_path() -> Path:
    """Path of the verified, normalised S&P 500 CSV in the cache, (re)built from the arch wheel when
    it is missing or does not match its recorded sha256.

    Raises:
        DataError: arch is not installed, or its file does not have the pinned sha256.
    """
    folder = cache_dir()
    cached, record = folder / _CACHE_NAME, folder / _RECORD_NAME
    expected = _recorded(record)
    if expected is not None and cached.is_file() and not cached.is_symlink() and sha256_file(cached) == expected:
        return cached
    text = _build(_source_file())
    try:
        write_text_atomic(cached, text)
        write_text_atomic(record, dump_json({"dataset": "sp500", "source": "arch==8.0.0 " + "/".join(_SOURCE),
                                             "source_sha256": SOURCE_SHA256, "rows": ROWS,
                                             "sha256": sha256_bytes(text.encode("utf-8"))}))
    except OSError as exc:
        raise DataError(f"Could not write the S&P 500 cache in {folder}: {exc}. Set FINLITE_CACHE to a writable "
                        "folder.") from exc
    return cached
