"""Batch scoring moves data between Arrow and numpy through the buffers (runtime/_arrownp.py):
the same values as pyarrow's own conversions, without importing pandas."""

from __future__ import annotations

import json
import platform
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from finlite.errors import DataError
from finlite.runtime import Predictor, _arrownp
from finlite.runtime.batch import score_file

NUMBER_TYPES = [pa.int8(), pa.int16(), pa.int32(), pa.int64(), pa.uint8(), pa.uint32(), pa.uint64(),
                pa.float32(), pa.float64()]


@st.composite
def arrow_columns(draw: st.DrawFn) -> tuple[pa.Array | pa.ChunkedArray, pa.DataType]:
    """A number or boolean array, perhaps with nulls (floats and booleans), sliced at an offset
    that is no multiple of 8 (bitmaps), or chunked."""
    kind = draw(st.sampled_from([*NUMBER_TYPES, pa.bool_()]))
    nullable = pa.types.is_floating(kind) or pa.types.is_boolean(kind)
    if pa.types.is_boolean(kind):
        element: st.SearchStrategy = st.booleans()
    elif pa.types.is_floating(kind):
        element = st.floats(width=32 if kind == pa.float32() else 64, allow_nan=False)
    else:
        info = np.iinfo(kind.to_pandas_dtype())
        element = st.integers(int(info.min), int(info.max))
    values = draw(st.lists(st.none() | element if nullable else element, max_size=70))
    array = pa.array(values, type=kind)
    start = draw(st.integers(0, len(values)))
    array = array.slice(start, draw(st.integers(0, len(values) - start)))
    if draw(st.booleans()) and len(array) > 1:
        cut = draw(st.integers(1, len(array) - 1))
        return pa.chunked_array([array.slice(0, cut), array.slice(cut)], type=kind), kind
    return array, kind


@settings(max_examples=300, deadline=None)
@given(arrow_columns())
def test_to_numpy_equals_pyarrows_conversion(column: tuple[pa.Array | pa.ChunkedArray, pa.DataType]) -> None:
    array, kind = column
    ours = _arrownp.to_numpy(array)
    theirs = array.to_numpy(zero_copy_only=False)  # Array and ChunkedArray alike
    if pa.types.is_boolean(kind):
        theirs = np.array([bool(v) for v in theirs], dtype=bool)  # pyarrow: object array with None
    assert ours.dtype == theirs.dtype and ours.flags.writeable
    np.testing.assert_array_equal(ours, theirs)
    view = _arrownp.to_numpy(array, copy=False)
    np.testing.assert_array_equal(view, theirs)
    if len(ours) and not pa.types.is_boolean(kind):  # round trip (nulls aside)
        back = _arrownp.from_numpy(ours, kind)
        assert back.type == kind and back.null_count == 0
        np.testing.assert_array_equal(back.to_numpy(zero_copy_only=False), ours)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(max_size=12), max_size=40))
def test_strings_and_scalars_equal_pyarrows(texts: list[str]) -> None:
    assert _arrownp.strings(texts).equals(pa.array(texts, pa.string()))
    assert _arrownp.strings(texts, pa.large_string()).equals(pa.array(texts, pa.large_string()))
    for text in texts[:3]:
        assert _arrownp.scalar(text, pa.string()).equals(pa.scalar(text, pa.string()))
    flags = [len(t) % 2 == 0 for t in texts]
    assert _arrownp.from_numpy(np.array(flags, dtype=bool), pa.bool_()).equals(pa.array(flags, pa.bool_()))


def test_conversions_refuse_what_they_cannot_represent() -> None:
    with pytest.raises(TypeError, match=r"with nulls has no numpy equivalent"):
        _arrownp.to_numpy(pa.array([1, None], pa.int64()))
    with pytest.raises(TypeError, match=r"fixed-width numbers and booleans, not string"):
        _arrownp.to_numpy(pa.array(["a"]))
    with pytest.raises(ValueError, match=r"1-D array"):
        _arrownp.from_numpy(np.zeros((2, 2)), pa.float64())
    assert _arrownp.null(pa.string()).is_valid is False
    assert _arrownp.scalar(-1, pa.int32()).as_py() == -1 and _arrownp.scalar(False, pa.bool_()).as_py() is False


def test_scoring_a_file_never_imports_pandas(exported_dir: Path, german: pd.DataFrame, tmp_path: Path) -> None:
    # pyarrow's own conversions import pandas (0.17 s of a finlite score process): the batch path
    # must not use them, for Parquet and CSV (every column read as text) in and out, with gaps.
    frame = german.head(400).copy()
    frame["credit_amount"] = frame["credit_amount"].astype(float)
    frame.loc[frame.index % 7 == 1, "credit_amount"] = np.nan
    frame.loc[frame.index % 11 == 2, "purpose"] = None
    frame.to_parquet(tmp_path / "in.parquet")
    frame.to_csv(tmp_path / "in.csv", index=False)
    code = (
        "import sys, json\n"
        "from finlite.runtime import Predictor\n"
        "from finlite.runtime.batch import score_file, tune_for_streaming\n"
        "import pyarrow as pa\n"
        "tune_for_streaming()\n"
        f"p = Predictor({str(exported_dir)!r}, threads=1)\n"
        f"tmp = {str(tmp_path)!r}\n"
        "rows = [score_file(p, f'{tmp}/in.{a}', f'{tmp}/out_{a}.{b}', chunk_rows=128).rows\n"
        "        for a in ('parquet', 'csv') for b in ('parquet', 'csv')]\n"
        "from finlite import _limits\n"
        "print(json.dumps({'rows': rows, 'pandas': 'pandas' in sys.modules,\n"
        "                  'pool': pa.default_memory_pool().backend_name, 'kept': _limits.keep_freed_memory()}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    result = json.loads(out.stdout)
    assert result["rows"] == [400] * 4 and result["pandas"] is False
    assert result["pool"] in {"jemalloc", pa.default_memory_pool().backend_name}
    assert result["kept"] is (platform.libc_ver()[0] == "glibc")  # mallopt exists in glibc only
    # The same scores as the Predictor on the DataFrame.
    expected = Predictor(exported_dir).predict_score(frame).astype(np.float32)
    for name in ("out_parquet.parquet", "out_csv.parquet"):
        np.testing.assert_allclose(pq.read_table(tmp_path / name).column("score").to_numpy(), expected, rtol=0,
                                   atol=1e-6)


def test_parquet_scoring_never_imports_the_csv_reader(exported_dir: Path, german: pd.DataFrame,
                                                     tmp_path: Path) -> None:
    # pyarrow.csv takes about 30 ms to import, a tenth of finlite score's start-up: a Parquet-to-Parquet
    # run must not pay for it; a CSV output still works (it imports it then).
    german.head(200).to_parquet(tmp_path / "in.parquet")
    code = (
        "import sys, json\n"
        "from finlite.runtime import Predictor\n"
        "from finlite.runtime.batch import score_file\n"
        f"p = Predictor({str(exported_dir)!r}, threads=1)\n"
        f"tmp = {str(tmp_path)!r}\n"
        "rows = score_file(p, f'{tmp}/in.parquet', f'{tmp}/out.parquet').rows\n"
        "before = 'pyarrow.csv' in sys.modules\n"
        "rows_csv = score_file(p, f'{tmp}/in.parquet', f'{tmp}/out.csv').rows\n"
        "print(json.dumps({'rows': [rows, rows_csv], 'csv': before, 'csv_after': 'pyarrow.csv' in sys.modules}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == {"rows": [200, 200], "csv": False, "csv_after": True}


def test_scores_are_written_plain_and_decisions_dictionary_encoded(exported_dir: Path, german: pd.DataFrame,
                                                                   tmp_path: Path) -> None:
    german.head(300).to_parquet(tmp_path / "in.parquet")
    score_file(Predictor(exported_dir), tmp_path / "in.parquet", tmp_path / "out.parquet", id_columns=["purpose"])
    group = pq.ParquetFile(tmp_path / "out.parquet").metadata.row_group(0)
    column = {group.column(i).path_in_schema: group.column(i).encodings for i in range(group.num_columns)}
    assert not any("DICTIONARY" in e for e in column["score"])
    assert any("DICTIONARY" in e for e in column["decision"]) and any("DICTIONARY" in e for e in column["purpose"])


def test_an_integer_beyond_2_to_the_53_is_scored_as_the_record_path_reads_it(exported_dir: Path,
                                                                             german: pd.DataFrame,
                                                                             tmp_path: Path) -> None:
    # Arrow's safe cast refused it ("Integer value ... not in range") with a traceback, in
    # finlite score and in predict_score on a DataFrame past a few rows (both encode through
    # Arrow); the record path rounds it to the nearest double, and so do they now.
    predictor = Predictor(exported_dir)
    frame = german.head(300).copy()
    frame["duration_in_month"] = frame["duration_in_month"].astype(np.int64)
    frame.loc[3, "duration_in_month"] = 2**53 + 1
    table = pa.Table.from_pandas(frame, preserve_index=False)
    assert table.schema.field("duration_in_month").type == pa.int64()
    with pytest.raises(pa.ArrowInvalid, match=r"not in range"):  # what the batch path used to do
        pc.cast(table.column("duration_in_month"), pa.float64())
    pq.write_table(table, tmp_path / "in.parquet")
    # Far beyond the training durations (4 to 72 months), it is refused now, by every path alike and
    # naming it; a duration within range in the same int64 column still scores as the record path.
    far = r"far outside what the model was trained on \(values 4 to 72 in its training table"
    with pytest.raises(DataError, match=far):
        predictor.score_record(frame.iloc[3].to_dict())
    with pytest.raises(DataError, match=rf"'duration_in_month' in .*in\.parquet holds 9007199254740993 at row 4.*{far}"):
        score_file(predictor, tmp_path / "in.parquet", tmp_path / "out.parquet")
    with pytest.raises(DataError, match=far):
        predictor.predict_score(frame)
    frame.loc[3, "duration_in_month"] = 60
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), tmp_path / "in.parquet")
    record = predictor.score_record(frame.iloc[3].to_dict())
    score_file(predictor, tmp_path / "in.parquet", tmp_path / "out.parquet")
    written = pq.read_table(tmp_path / "out.parquet").column("score").to_numpy()
    assert written[3] == pytest.approx(record, abs=1e-6)
    np.testing.assert_allclose(written, predictor.predict_score(frame), rtol=0, atol=1e-6)
