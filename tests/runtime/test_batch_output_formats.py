"""A scores file is written as its name says, as the input side reads one: ``.csv.gz`` gzip,
``.tsv`` tab-separated. Both used to be plain comma CSV under that name (exit 0): a ``.gz`` no
reader could open, a ``.tsv`` read as one column."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from finlite.errors import DataError
from finlite.runtime import Predictor
from finlite.runtime.batch import score_file


def test_each_suffix_gets_its_own_format_and_the_same_scores(exported_dir: Path, german_csv: Path,
                                                             tmp_path: Path) -> None:
    predictor = Predictor(exported_dir)
    expected = predictor.predict_score(pd.read_csv(german_csv).drop(columns="creditability"))
    for name, read in (("s.csv", pd.read_csv), ("s.txt", pd.read_csv),
                       ("s.tsv", lambda p: pd.read_csv(p, sep="\t")),
                       ("s.csv.gz", lambda p: pd.read_csv(p, compression="gzip"))):
        out = tmp_path / name
        score_file(predictor, german_csv, out)
        frame = read(out)
        assert list(frame.columns) == ["score", "decision"], name
        np.testing.assert_allclose(frame["score"], expected, rtol=1e-6, err_msg=name)
    with gzip.open(tmp_path / "s.csv.gz", "rt") as fh:  # a real gzip stream, not a renamed CSV
        assert fh.readline().strip() == '"score","decision"'
    assert "\t" in (tmp_path / "s.tsv").read_text().splitlines()[1]


def test_an_empty_input_still_writes_a_readable_file_with_its_columns(exported_dir: Path, german_csv: Path,
                                                                 tmp_path: Path) -> None:
    header = german_csv.read_text().splitlines()[0] + "\n"
    empty = tmp_path / "empty.csv"
    empty.write_text(header)
    # No rows still gives the columns (the Parquet had none and the CSV not even a header before).
    for name, read in (("none.csv.gz", lambda p: pd.read_csv(p, compression="gzip")), ("none.csv", pd.read_csv),
                       ("none.parquet", pd.read_parquet)):
        frame = read(score_file(Predictor(exported_dir), empty, tmp_path / name).output)
        assert frame.empty and list(frame.columns) == ["score", "decision"], name


def test_an_unknown_suffix_is_refused_before_any_work(exported_dir: Path, german_csv: Path, tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"unknown file type; use \.csv \(or \.txt\), \.csv\.gz, \.tsv or \.parquet"):
        score_file(Predictor(exported_dir), german_csv, tmp_path / "s.xlsx")
    assert not list(tmp_path.iterdir())
