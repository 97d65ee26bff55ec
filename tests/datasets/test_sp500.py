"""The S&P 500 market data: read from the pinned arch wheel by sha256 without importing arch,
normalised, cached atomically, re-verified on every read, refused when the source is wrong."""

from __future__ import annotations

import gzip
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from finlite import datasets
from finlite.data.market import MarketSpec, prepare_series
from finlite.datasets import sp500
from finlite.errors import DataError


@pytest.fixture()
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("FINLITE_CACHE", str(folder))
    return folder


def test_load_gives_the_normalised_series(cache: Path) -> None:
    frame = datasets.load("sp500")
    assert list(frame.columns) == ["date", "open", "high", "low", "close", "adj_close", "volume"]
    assert len(frame) == 5031
    assert frame["date"].iloc[0] == "1999-01-04" and frame["date"].iloc[-1] == "2018-12-31"
    assert frame["close"].iloc[0] == pytest.approx(1228.099976) and frame["close"].iloc[-1] == pytest.approx(2506.850098)
    assert frame["volume"].iloc[-1] == 3442870000
    assert datasets.path("sp500") == cache / "sp500.csv"
    record = json.loads((cache / "sp500.json").read_text())
    assert record["source_sha256"] == sp500.SOURCE_SHA256 and record["rows"] == 5031
    # The cached digits are the source's: compare with the wheel's file read independently.
    with gzip.open(sp500._source_file(), "rt") as fh:
        source = pd.read_csv(fh)
    np.testing.assert_array_equal(frame["adj_close"].to_numpy(), source["Adj Close"].to_numpy())


def test_the_cache_is_reused_and_rebuilt_when_it_does_not_match(cache: Path) -> None:
    first = datasets.path("sp500")
    good = first.read_bytes()
    stamp = first.stat().st_mtime_ns
    assert datasets.path("sp500").stat().st_mtime_ns == stamp  # verified, not rewritten
    first.write_text(good.decode().replace("2506.850098", "9999.0"))  # a corrupted cache
    assert datasets.path("sp500").read_bytes() == good
    (cache / "sp500.json").write_text("{not json")  # a broken record
    assert datasets.path("sp500").read_bytes() == good
    assert datasets.load("sp500")["close"].iloc[-1] == pytest.approx(2506.850098)


def test_a_source_with_another_sha256_is_refused(cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "sp500.csv.gz"
    fake.write_bytes(gzip.compress(b"Date,Open,High,Low,Close,Adj Close,Volume\n1/4/1999,1,1,1,1,1,1\n"))
    monkeypatch.setattr(sp500, "_source_file", lambda: fake)
    with pytest.raises(DataError, match=r"not the pinned 1e028cbb.*pip install 'finlite\[markets\]'"):
        datasets.load("sp500")
    assert not (cache / "sp500.csv").exists()


def test_missing_arch_says_how_to_install(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(DataError, match=r"'arch' package, which is not installed.*pip install 'finlite\[markets\]'"):
        datasets.path("sp500")


def test_arch_is_located_without_being_imported(cache: Path) -> None:
    code = ("import sys; from finlite import datasets; datasets.load('sp500'); "
            "print('arch' in sys.modules, 'statsmodels' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "FINLITE_CACHE": str(cache)}, timeout=120)
    assert out.stdout.split() == ["False", "False"]


def test_cli_lists_it_and_prints_its_path(cache: Path) -> None:
    from typer.testing import CliRunner

    from finlite.cli import app

    runner = CliRunner()
    listed = runner.invoke(app, ["datasets", "list"])
    assert listed.exit_code == 0 and "sp500: 5031 rows, price 'close', dates 'date'" in listed.output
    shown = runner.invoke(app, ["datasets", "path", "sp500"])
    assert shown.exit_code == 0 and Path(shown.output.strip()) == cache / "sp500.csv"


def test_registry_entry() -> None:
    entry = datasets.info("sp500")
    assert entry.kind == "market" and entry.target == "close" and entry.date_column == "date"
    assert entry.rows == 5031 and "NCSA" in entry.licence and "Yahoo" in entry.source
    assert [d.name for d in datasets.list_datasets()] == ["german_credit", "sp500"]
    assert datasets.info("german_credit").kind == "credit"
    with pytest.raises(DataError, match="Did you mean 'sp500'"):
        datasets.info("sp50")


@pytest.mark.slow
def test_sp500_prepares_with_the_last_fifth_as_test(cache: Path) -> None:
    prepared = prepare_series(datasets.load("sp500"), MarketSpec(volume_column="volume", objective="direction"))
    summary = prepared.summary()
    assert summary["dates"]["test"][1] == "2018-12-28"  # the last labelled date (horizon 1)
    labelled = 5031 - MarketSpec().warmup - 1
    assert len(prepared.y_test) == int(np.ceil(0.2 * labelled))
    assert summary["dates"]["train"][1] < summary["dates"]["validation"][0] < summary["dates"]["test"][0]
    assert 0.5 < float(prepared.y_test.mean()) < 0.55  # daily direction is close to a coin flip
    assert prepared.x_train.shape[1:] == (30, prepared.preprocessor.n_features)
