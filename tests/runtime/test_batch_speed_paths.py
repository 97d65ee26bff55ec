"""Batch scoring's fast paths give the Predictor's scores exactly, whatever the workers, chunks and formats."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from finlite._keys import MISSING, category_key, look_up, numeric_alias
from finlite.cli import app
from finlite.errors import ConfigError, DataError, ScoreError
from finlite.runtime import Predictor
from finlite.runtime._fastenc import LookupCache, assemble, count_flagged, dictionary_codes
from finlite.runtime.batch import score_file


@pytest.fixture(scope="module")
def book(german: pd.DataFrame) -> pd.DataFrame:
    """5,000 German credit rows drawn with replacement, with gaps in a numeric and a categorical column."""
    frame = german.sample(n=5000, replace=True, random_state=4).reset_index(drop=True)
    frame.insert(0, "account", np.arange(5000, dtype=np.int64))
    frame["purpose"] = frame["purpose"].astype(object)
    frame.loc[frame.index % 97 == 3, "purpose"] = None
    frame["credit_amount"] = frame["credit_amount"].astype(float)
    frame.loc[frame.index % 89 == 5, "credit_amount"] = np.nan
    return frame


def _read(path: Path) -> pd.DataFrame:
    return pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)


@pytest.mark.parametrize("source", ["book.parquet", "book.csv"])
def test_every_path_gives_the_predictors_scores(source: str, exported_dir: Path, book: pd.DataFrame,
                                                tmp_path: Path) -> None:
    src = tmp_path / source
    book.to_parquet(src, index=False) if source.endswith(".parquet") else book.to_csv(src, index=False)
    predictor = Predictor(exported_dir)
    expected = predictor.predict_score(book.drop(columns=["account", "creditability"])).astype(np.float32)
    runs = {}
    for workers, chunk in [(1, 5000), (1, 333), (3, 250), (2, 4096), (2, None)]:  # None: the default
        for suffix in (".parquet", ".csv"):
            out = tmp_path / f"out_{workers}_{chunk}{suffix}"
            summary = score_file(predictor, src, out, id_columns=["account"], chunk_rows=chunk, workers=workers)
            assert summary.rows == 5000
            runs[out.name] = _read(out)
    for name, scored in runs.items():
        # File order kept (ids read from CSV are copied through as the text they were).
        assert scored["account"].astype(str).tolist() == [str(i) for i in range(5000)], name
        if name.endswith(".parquet"):
            np.testing.assert_array_equal(scored["score"].to_numpy(), expected, err_msg=name)
        else:  # CSV holds the float32 as shortest decimal text
            np.testing.assert_array_equal(scored["score"].to_numpy().astype(np.float32), expected, err_msg=name)
        np.testing.assert_array_equal(scored["decision"].to_numpy(), (expected >= predictor.cutoff).astype(int))


def test_encode_arrow_into_a_buffer_equals_a_fresh_matrix_and_the_record_path(exported_dir: Path,
                                                                            book: pd.DataFrame) -> None:
    predictor = Predictor(exported_dir)
    enc = predictor.encoder
    frame = book[enc.fields].head(3000)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    fresh = enc.encode_arrow(table)
    buffer = np.full((3000, enc.n_features), 7.0, dtype=np.float32)  # stale values must be cleared
    filled = enc.encode_arrow(table, out=buffer)
    assert filled is buffer
    np.testing.assert_array_equal(fresh, filled)
    records = [{k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in r.items()}
               for r in frame.to_dict("records")]
    np.testing.assert_array_equal(fresh, enc.encode_records(records)[0])
    # Dictionary-encoded (as Parquet reads them) or not, the same matrix; twice, so the cache is hit.
    as_dictionary = pa.table({c: (pa.compute.dictionary_encode(table.column(c)) if c in enc.category_fields
                                  else table.column(c)) for c in table.column_names})
    for _ in range(2):
        np.testing.assert_array_equal(fresh, enc.encode_arrow(as_dictionary))
    with pytest.raises(ValueError, match="C-contiguous float32"):
        enc.encode_arrow(table, out=np.zeros((10, enc.n_features), dtype=np.float32))
    frozen = np.zeros((3000, enc.n_features), dtype=np.float32)
    frozen.flags.writeable = False
    with pytest.raises(ValueError, match=r"writeable C-contiguous float32 .* read-only"):
        enc.encode_arrow(table, out=frozen)


def test_prepared_rows_fill_any_range_as_the_whole_encoding(exported_dir: Path, book: pd.DataFrame) -> None:
    """Batch scoring encodes a chunk a block at a time: every range equals that slice of the whole."""
    enc = Predictor(exported_dir).encoder
    table = pa.Table.from_pandas(book[enc.fields], preserve_index=False)  # with gaps: indicator columns too
    whole = enc.encode_arrow(table)
    prepared = enc.prepare_arrow(table)
    assert prepared.rows == 5000
    rng = np.random.default_rng(1)
    ranges = [(0, 5000), (0, 1), (4999, 5000), (17, 4113), (2048, 4096), (300, 300)]
    ranges += [tuple(sorted(int(v) for v in rng.integers(0, 5001, 2))) for _ in range(20)]
    for start, stop in ranges:
        out = np.full((stop - start, enc.n_features), 9.0, dtype=np.float32)  # stale values must be cleared
        prepared.fill(out, start, stop)
        np.testing.assert_array_equal(out, whole[start:stop], err_msg=f"rows {start}:{stop}")


def test_the_numpy_fill_equals_the_compiled_one(exported_dir: Path, book: pd.DataFrame, compiled_fill: object,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Where llvmlite cannot compile the kernel, numpy writes the same cells (finlite.runtime._native)."""
    from finlite.runtime import _native

    enc = Predictor(exported_dir).encoder
    table = pa.Table.from_pandas(book[enc.fields], preserve_index=False)  # with gaps: indicator columns too
    compiled = enc.encode_arrow(table)
    monkeypatch.setattr(_native, "_kernel", _native.NO_KERNEL)
    np.testing.assert_array_equal(enc.encode_arrow(table), compiled)
    prepared = enc.prepare_arrow(table)
    out = np.full((1000, enc.n_features), 9.0, dtype=np.float32)
    prepared.fill(out, 1234, 2234)
    np.testing.assert_array_equal(out, compiled[1234:2234])


def test_only_large_jobs_start_compiling_the_fill(exported_dir: Path, book: pd.DataFrame, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Compiling costs about 0.1 s of CPU: a small file or DataFrame never pays it, a large one
    starts it on a thread of its own (finlite.runtime._native)."""
    import finlite.runtime.batch as batch
    from finlite.runtime import _native

    started: list[bool] = []
    monkeypatch.setattr(_native, "compile_in_background", lambda: started.append(True))
    predictor = Predictor(exported_dir)
    src = tmp_path / "book.parquet"
    book.to_parquet(src, index=False)
    score_file(predictor, src, tmp_path / "out.parquet")
    predictor.predict_score(book.drop(columns=["account", "creditability"]))
    assert not started
    predictor.predict_score(pd.concat([book.drop(columns=["account", "creditability"])] * 14, ignore_index=True))
    assert started == [True]  # 70,000 rows
    assert batch._pays_to_compile(src, 1_000_000) and not batch._pays_to_compile(src, 999_999)
    big = tmp_path / "big.csv"
    with open(big, "wb") as f:
        f.truncate(64 << 20)  # sparse: no disk used
    assert batch._pays_to_compile(big, None) and not batch._pays_to_compile(tmp_path / "small.csv", None)


def test_the_scoring_block_is_a_power_of_two_within_the_cache_budget() -> None:
    from finlite.runtime._fastenc import SCORE_BLOCK_BYTES, block_rows

    assert block_rows(72) == 8192 and block_rows(31) == 32768  # German credit's and SBA's widths
    assert block_rows(1) == 32768 and block_rows(10**6) == 1024
    for width in (1, 7, 31, 32, 33, 72, 100, 255, 256, 257, 1000, 10**6):
        rows = block_rows(width)
        assert 1024 <= rows <= 32768 and rows & (rows - 1) == 0
        if rows > 1024:  # it fits (the smallest is kept even when it does not)
            assert rows * width * 4 <= SCORE_BLOCK_BYTES
        if rows < 32768:  # and twice as many would not
            assert 2 * rows * width * 4 > SCORE_BLOCK_BYTES


class _Session:
    """A Predictor's session as score_file and predict_score see it: counts the rows of each
    call and can break the answer (one score fewer, or NaN at some rows of the input)."""

    def __init__(self, session: Any, *, short: bool = False, nan_rows: tuple[int, ...] = ()) -> None:
        self.session, self.short, self.nan_rows, self.calls = session, short, nan_rows, []

    def run(self, names: Any, feed: dict[str, np.ndarray]) -> Any:
        start = sum(self.calls)
        self.calls.append(len(feed["x"]))
        out = self.session.run(names, feed)[0].copy()
        for row in self.nan_rows:  # 0-based rows of the whole input
            if start <= row < start + len(out):
                out[row - start] = np.nan
        return [out[:-1] if self.short else out]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.session, name)


def test_blocks_of_any_size_give_the_same_scores(exported_dir: Path, book: pd.DataFrame, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Tiny blocks and whole chunks score every row as the Predictor does; a chunk is split into
    as few blocks as fit, of equal size to a row (no sliver at the end)."""
    import finlite.runtime._fastenc as fastenc

    src = tmp_path / "book.parquet"
    book.to_parquet(src, index=False)
    predictor = Predictor(exported_dir)
    expected = predictor.predict_score(book.drop(columns=["account", "creditability"])).astype(np.float32)
    counting = _Session(predictor.session)
    monkeypatch.setattr(predictor, "session", counting)
    for block in (7, 333, 1024, 4096):
        monkeypatch.setattr(fastenc, "block_rows", lambda width, block=block: block)
        counting.calls = []
        out = tmp_path / f"out_{block}.parquet"
        score_file(predictor, src, out, chunk_rows=1000, workers=2)
        np.testing.assert_array_equal(pd.read_parquet(out)["score"].to_numpy(), expected, err_msg=str(block))
        blocks = -(-1000 // block)
        assert sum(counting.calls) == 5000 and len(counting.calls) == 5 * blocks
        assert max(counting.calls) <= block and max(counting.calls) - min(counting.calls) <= 1, counting.calls


def test_a_wrong_count_or_a_nan_in_a_block_decides_nothing_and_names_the_rows(
        exported_dir: Path, book: pd.DataFrame, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import finlite.runtime._fastenc as fastenc

    src = tmp_path / "book.parquet"
    book.to_parquet(src, index=False)
    monkeypatch.setattr(fastenc, "block_rows", lambda width: 1024)
    predictor = Predictor(exported_dir)
    monkeypatch.setattr(predictor, "session", _Session(predictor.session, short=True))
    out = tmp_path / "out.parquet"
    # 5,000 rows in one chunk: five blocks of 1,000 rows; the first is the one reported.
    with pytest.raises(ScoreError, match=r"returned 999 scores for 1,000 rows of .*book.parquet \(rows 1 to 1,000\)"):
        score_file(predictor, src, out, chunk_rows=5000, workers=1)
    assert not out.exists()
    frame = book.drop(columns=["account", "creditability"])
    with pytest.raises(ScoreError, match=r"returned 999 scores for 1,000 rows of the DataFrame \(rows 1 to 1,000\)"):
        predictor.predict_score(frame)
    # NaN scores in two blocks (and, on two threads, two parts of the DataFrame): one message lists both rows.
    import finlite.runtime.predictor as predictor_module

    monkeypatch.setattr(predictor_module, "_PARALLEL_ROWS", 1000)
    for threads in (1, 2):
        predictor = Predictor(exported_dir, threads=threads)
        broken = _Session(predictor.session, nan_rows=(2, 4001))
        monkeypatch.setattr(predictor, "session", broken)
        with pytest.raises(ScoreError, match=r"for 2 of 5000 rows \(rows 3, 4002\)"):
            predictor.predict_score(frame)
        broken.calls = []  # the rows count from the file's first
        with pytest.raises(ScoreError, match=r"for 2 of 5000 rows of .*book.parquet \(rows 3, 4002\)"):
            score_file(predictor, src, out, chunk_rows=5000, workers=1)
        assert not out.exists()


def test_threads_scoring_dataframes_at_once_each_get_their_own_scores(exported_dir: Path, book: pd.DataFrame) -> None:
    """Every calling thread encodes into its own block: four threads, four different DataFrames."""
    from concurrent.futures import ThreadPoolExecutor

    predictor = Predictor(exported_dir, threads=2)
    base = book.drop(columns=["account", "creditability"])
    frames = [base.sample(n=6000, replace=True, random_state=seed).reset_index(drop=True) for seed in range(4)]
    expected = [predictor.score_vector(predictor.encode(f)).astype(np.float64) for f in frames]
    with ThreadPoolExecutor(4) as pool:
        for _ in range(3):
            results = list(pool.map(predictor.predict_score, frames))
            for got, want in zip(results, expected, strict=True):
                np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_a_dataframe_is_scored_block_by_block_as_its_encoded_rows(exported_dir: Path, book: pd.DataFrame, threads: int,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """predict_score on a DataFrame encodes and scores a block at a time (never the whole matrix),
    with the scores of the encoded rows, in order, on any number of threads."""
    import finlite.runtime.predictor as predictor_module

    monkeypatch.setattr(predictor_module, "_PARALLEL_ROWS", 1000)  # 5,000 rows: up to 3 parts
    predictor = Predictor(exported_dir, threads=threads)
    frame = book.drop(columns=["account", "creditability"])
    expected = predictor.score_vector(predictor.encode(frame)).astype(np.float64)
    monkeypatch.setattr(predictor, "encode", lambda *a, **k: pytest.fail("the whole matrix was encoded"))
    scores = predictor.predict_score(frame)
    assert scores.dtype == np.float64
    np.testing.assert_array_equal(scores, expected)
    np.testing.assert_array_equal(predictor.predict_proba(frame)[:, 1], expected)


def test_a_refused_value_in_a_dataframe_is_named_by_its_row_label(exported_dir: Path, book: pd.DataFrame) -> None:
    """A value the block path refuses goes to the reference (pandas) path, which names the row."""
    predictor = Predictor(exported_dir, threads=2)
    frame = book.drop(columns=["account", "creditability"]).copy()
    frame.index = frame.index + 100
    frame["duration_in_month"] = frame["duration_in_month"].astype(float)
    frame.loc[4321, "duration_in_month"] = np.inf
    with pytest.raises(DataError, match=r"duration_in_month.*4321|4321.*duration_in_month"):
        predictor.predict_score(frame)


@pytest.mark.parametrize("path", ["compiled", "numpy"])
def test_unseen_rows_are_counted_as_their_definition(path: str, request: pytest.FixtureRequest) -> None:
    """count_flagged skips the gather when no code reaches an unseen entry, and counts the rest with
    the compiled kernel or numpy: the count stays the rows'."""
    request.getfixturevalue(f"{path}_fill")

    @settings(max_examples=300, deadline=None)
    @given(st.lists(st.integers(0, 9), max_size=200), st.lists(st.integers(0, 4), min_size=10, max_size=10),
           st.integers(0, 4))
    def check(codes: list[int], lookup: list[int], unseen: int) -> None:
        array = np.array(codes, dtype=np.int8)
        expected = sum(1 for c in codes if lookup[c] == unseen)
        assert count_flagged(array, np.array(lookup, dtype=np.int64) == unseen) == expected

    check()


def test_threads_meeting_a_new_dictionary_build_its_lookup_once() -> None:
    """The scoring threads meet each row group's dictionary together, and each built the same
    lookup (12-15 builds of City for 10 row groups of the SBA book: a profile, 2026-12-07)."""
    import threading
    import time

    cache = LookupCache()
    built: list[int] = []
    real = cache._build
    start = threading.Barrier(4)

    def counted(*args: object) -> object:
        built.append(1)
        time.sleep(0.2 if len(built) == 1 else 0.0)  # the first: long enough that, unlocked, all would build
        return real(*args)  # type: ignore[arg-type]

    cache._build = counted  # type: ignore[method-assign]
    dictionary = pa.array([f"city{i}" for i in range(200)])
    mapping = {f"city{i}": i for i in range(0, 200, 2)}
    tables: list[list[int]] = []

    def look() -> None:
        start.wait()
        tables.append(cache.lookup("city", dictionary, mapping, -1, np.int64).tolist())

    threads = [threading.Thread(target=look) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(built) == 1 and len(tables) == 4 and all(t == tables[0] for t in tables)
    assert tables[0][:4] == [0, -1, 2, -1]
    # Two row groups' dictionaries met in turn (two threads in two row groups): each built once.
    other = pa.array([f"city{i}" for i in range(1, 201)])
    built.clear()
    for _ in range(10):
        for d in (dictionary, other):
            cache.lookup("city", d, mapping, -1, np.int64)
    assert len(built) == 1  # the first dictionary's was kept from above


def test_assemble_writes_every_one_of_every_row() -> None:
    rng = np.random.default_rng(0)
    n, width = 10_007, 40  # not a multiple of the block
    plans = [(rng.integers(0, 6, n).astype(np.int32), np.arange(6, dtype=np.int64) + 10),
             (rng.integers(0, 3, n).astype(np.int32), np.array([30, 31, 39], dtype=np.int64))]
    out = np.full((n, width), 5.0, dtype=np.float32)  # stale values are cleared
    assemble(out, plans)
    expected = np.zeros_like(out)
    for codes, lookup in plans:
        expected[np.arange(n), lookup[codes]] = 1.0
    np.testing.assert_array_equal(out, expected)


def test_lookups_equal_the_per_value_definition() -> None:
    mapping = {"94110": 1, "00501": 2, "7": 3, "-4": 4, "12.0": 5, "x": 6, MISSING: 7}
    mapping.update({str(v): 100 + v for v in range(1000, 1100)})
    cache = LookupCache()
    # More than 64 integer codes take the vectorised search; "00501" is no integer's text, and "12.0"
    # is the integer 12 as a float column writes it (finlite._keys.float_text), as look_up reads it.
    ints = pa.array([94110, 501, 7, -4, 12, 0, 5, *range(1000, 1100, 2), *range(2000, 2030)], type=pa.int64())
    text = pa.array(["94110", " 7 ", "x", "", "00501", "unseen", "12"])
    for dictionary in (ints, text, ints.cast(pa.int32())):
        found = [look_up(mapping, category_key(v)) for v in dictionary.to_pylist()]
        expected = [-1 if f is None else f for f in found] + [7]
        assert cache.lookup("zip", dictionary, mapping, -1, np.int64).tolist() == expected
    # A different dictionary of the same length is not served from the cache.
    other = pa.array(["x", "7", "", "unseen", "00501", "94110"])
    assert cache.lookup("zip", other, mapping, -1, np.int64).tolist()[:6] == [6, 3, 7, -1, 2, 1]
    # More than 64 text values take Arrow's trim and hash lookup, exactly where it reads as Python's
    # str.strip() does (ASCII without \x1c-\x1f); otherwise the per-value path.
    padded = [f"{c}city{i}{c}" for i, c in enumerate(chr(k) for k in range(128))]
    mapping = {f"city{i}": i for i in range(0, 128, 3)} | {"__missing__": -7, "x y": 99}
    for extra in ([], ["\x1dcity3"], ["é city6", "city6\u00a0"]):
        dictionary = pa.array([*padded[:28], *padded[32:], "", "   ", " x y ", "__missing__", *extra])
        expected = [mapping.get(category_key(v), -1) for v in dictionary.to_pylist()] + [-7]
        assert LookupCache().lookup("city", dictionary, mapping, -1, np.int64).tolist() == expected
        with_separators = pa.array(padded + extra)
        expected = [mapping.get(category_key(v), -1) for v in with_separators.to_pylist()] + [-7]
        assert LookupCache().lookup("city", with_separators, mapping, -1, np.int64).tolist() == expected
    # The bytes checked are a slice's own (its offset moves them), of string and large_string alike:
    # a non-ASCII value just outside the slice leaves it on the fast path, inside it does not.
    from finlite.runtime._fastenc import _value_bytes

    assert _value_bytes(pa.array(["ab", "c", "de"]).slice(1, 1)).tobytes() == b"c"
    assert _value_bytes(pa.array(["ab", "c", "de"], type=pa.large_string()).slice(1, 2)).tobytes() == b"cde"
    whole = pa.array(["é city0", *padded[1:28], *padded[32:], "city\x1d9"])
    for part in (whole.slice(1, len(whole) - 2), whole.slice(0, len(whole) - 1), whole.slice(1),
                 whole.slice(1, len(whole) - 2).cast(pa.large_string())):
        expected = [mapping.get(category_key(v), -1) for v in part.to_pylist()] + [-7]
        assert LookupCache().lookup("city", part, mapping, -1, np.int64).tolist() == expected
    dictionary, codes = dictionary_codes(pa.array(["b", None, "a", "b"]), pa, pa.compute)
    assert dictionary.to_pylist() == ["b", "a"] and codes.tolist() == [0, 2, 1, 0]
    # int8 indices into 128 values: the missing entry (128) does not fit int8 (it wrapped to -128).
    full = pa.DictionaryArray.from_arrays(pa.array([5, None, 127], type=pa.int8()),
                                          pa.array([f"v{i}" for i in range(128)]))
    assert dictionary_codes(full, pa, pa.compute)[1].tolist() == [5, 128, 127]


_INT64 = st.integers(-(2**63), 2**63 - 1)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(_INT64, st.integers(-50, 50)), min_size=1, max_size=40, unique=True),
       st.lists(st.one_of(st.none(), _INT64, st.integers(-60, 60)), max_size=60), st.booleans())
def test_a_plain_integer_column_looks_up_as_its_values_keys(keys: list[int], values: list[int | None],
                                                           narrow: bool) -> None:
    """Zip and NAICS read as integers are looked up without a dictionary: in a direct table over
    the keys' span (values outside it, to int64's ends, are no key) or by a search when it is wide."""
    from finlite.runtime._fastenc import codes_and_lookup

    if narrow:  # a span a direct table covers
        keys = [k % 1000 for k in keys]
    mapping = {str(k): 10 + i for i, k in enumerate(dict.fromkeys(keys))} | {MISSING: 7}
    column = pa.array(values, type=pa.int64())
    codes, lookup = codes_and_lookup(LookupCache(), "zip", column, mapping, -1, np.int64, pa, pa.compute)
    expected = [7 if v is None else mapping.get(category_key(v), -1) for v in values]
    assert lookup[codes].tolist() == expected


def test_a_code_written_from_floats_is_that_code_in_every_lookup() -> None:
    """A code column with gaps is read as floats by pandas (keys "94110"), and a CSV written from it
    holds "94110.0": every lookup reads that text as the code, never as an unseen category."""
    assert numeric_alias("94110.0") == "94110" and numeric_alias("9.411e4") == "94110"
    assert numeric_alias("1.50") == "1.5" and numeric_alias("-4.0") == "-4"
    for plain in ("94110", "1.5", "x", "nan", "inf", "1_000", "0x10", "", "__missing__", " 7.0"):
        assert numeric_alias(plain) is None, plain
    mapping = {str(v): v for v in range(1000, 1100)} | {"12.0": -12, "12": 12, MISSING: -1}
    small = pa.array(["1000.0", " 1001.0 ", "12.0", "12.00", "1e3", "999.0", "abc", "1000"])
    large = pa.array([f"{v}.0" for v in range(990, 1110)] + ["12.0", "12.00", " 1050.0"])
    for dictionary in (small, large):  # the per-value path, and Arrow's trim and hash lookup
        expected = []
        for value in dictionary.to_pylist():
            key = category_key(value)
            alias = numeric_alias(key)
            expected.append(mapping.get(key, mapping.get(alias, -7) if alias is not None else -7))
        got = LookupCache().lookup("zip", dictionary, mapping, -7, np.int64).tolist()
        assert got == [*expected, -1]
    # A text key of training ("12.0") stays itself; its alias is looked up only for a value no key has.
    assert LookupCache().lookup("zip", small, mapping, -7, np.int64).tolist()[:5] == [1000, 1001, -12, 12, 1000]


def test_the_first_bad_chunk_in_the_file_is_reported(exported_dir: Path, book: pd.DataFrame, tmp_path: Path) -> None:
    frame = book.astype({"credit_amount": object})
    frame.loc[[2600, 4100], "credit_amount"] = ["12k", "oops"]  # chunks 11 and 17 of 250 rows
    src, out = tmp_path / "book.csv", tmp_path / "scores.parquet"
    frame.to_csv(src, index=False)
    with pytest.raises(DataError, match=r"'12k' at row 2601"):
        score_file(Predictor(exported_dir), src, out, chunk_rows=250, workers=4)
    assert list(tmp_path.iterdir()) == [src]  # no output, no temporary file


def test_bad_worker_counts_are_refused(exported_dir: Path, book: pd.DataFrame, tmp_path: Path) -> None:
    src = tmp_path / "book.parquet"
    book.head(10).to_parquet(src)
    with pytest.raises(ConfigError, match="'workers' parameter must be a positive whole number"):
        score_file(Predictor(exported_dir), src, tmp_path / "o.parquet", workers=0)
    result = CliRunner().invoke(app, ["score", str(exported_dir), str(src), "-o", str(tmp_path / "o.parquet"),
                                      "--threads", "0"])
    assert result.exit_code == 2 and "--threads must be" in result.output
    assert not (tmp_path / "o.parquet").exists()


def test_cli_threads_give_the_same_file(exported_dir: Path, book: pd.DataFrame, tmp_path: Path) -> None:
    src = tmp_path / "book.parquet"
    book.to_parquet(src, index=False)
    outs = []
    for threads in ("1", "2"):
        out = tmp_path / f"scores_{threads}.parquet"
        result = CliRunner().invoke(app, ["score", str(exported_dir), str(src), "-o", str(out), "--threads", threads,
                                          "--chunk-rows", "700", "--id-column", "account", "-q"])
        assert result.exit_code == 0, result.output
        outs.append(pd.read_parquet(out))
    pd.testing.assert_frame_equal(outs[0], outs[1])


def test_the_default_chunk_follows_the_encoded_width() -> None:
    from finlite.runtime.batch import CHUNK_BYTES, CHUNK_ROWS_RANGE, default_chunk_rows

    low, high = CHUNK_ROWS_RANGE
    assert default_chunk_rows(72) == default_chunk_rows(31) == high == 262_144  # German credit's, SBA's widths
    assert default_chunk_rows(100) == 131_072 and default_chunk_rows(10_000) == default_chunk_rows(10**9) == low
    for width in (1, 50, 92, 96, 97, 200, 400, 1000):
        rows = default_chunk_rows(width)
        assert low <= rows <= high and rows & (rows - 1) == 0  # a power of two within the range
        if rows > low:  # it fits (the smallest is kept even when it does not)
            assert rows * width * 4 <= CHUNK_BYTES
        if rows < high:  # and twice as many would not
            assert 2 * rows * width * 4 > CHUNK_BYTES
    # A file's rows leave two chunks per scoring thread (never below the smallest chunk).
    assert default_chunk_rows(72, rows=10_000_000, workers=2) == high
    assert default_chunk_rows(72, rows=1_000_000, workers=2) == 131_072
    assert default_chunk_rows(72, rows=2_000_000, workers=32) == default_chunk_rows(72, rows=100, workers=2) == low


def test_the_default_chunk_shrinks_to_fit_memory_and_is_what_score_file_gets(
        exported_dir: Path, book: pd.DataFrame, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """On a machine short of memory the default halves (down to 65,536) instead of refusing to run."""
    import finlite._limits as limits
    import finlite.runtime.batch as batch

    src = tmp_path / "book.parquet"
    book.to_parquet(src, index=False)
    monkeypatch.setattr(batch, "file_rows", lambda path: 10_000_000)  # as if the book were large
    seen: list[int] = []

    def fake_score_file(*args: Any, chunk_rows: int, **kwargs: Any) -> Any:
        seen.append(chunk_rows)
        raise ConfigError("stop here")

    def tight(nbytes: float, what: str, fix: str) -> None:
        if "262,144 rows" in what or "131,072 rows" in what or "--chunk-rows 262,144" in what:
            raise ConfigError(f"{what} needs more memory than there is; {fix}")

    monkeypatch.setattr(batch, "score_file", fake_score_file)
    monkeypatch.setattr(limits, "check_memory", tight)
    out = tmp_path / "out.parquet"
    result = CliRunner().invoke(app, ["score", str(exported_dir), str(src), "-o", str(out), "--threads", "2", "-q"])
    assert result.exit_code == 2 and "stop here" in result.output and seen == [65_536]
    monkeypatch.setattr(limits, "check_memory", lambda *a: None)
    CliRunner().invoke(app, ["score", str(exported_dir), str(src), "-o", str(out), "--threads", "2", "-q"])
    assert seen[-1] == 262_144
    # A chunk the user gives is checked as given, never changed.
    monkeypatch.setattr(limits, "check_memory", tight)
    result = CliRunner().invoke(app, ["score", str(exported_dir), str(src), "-o", str(out), "--chunk-rows", "262144", "-q"])
    assert result.exit_code == 2 and "--chunk-rows 262,144" in result.output and seen[-1] == 262_144 and len(seen) == 2


def test_borrowed_number_columns_are_never_writable() -> None:
    """prepare_arrow reads int64 and float64 columns as Arrow holds them, which may be the caller's
    own numpy arrays (a table built from them): the views it keeps are read-only, so no later
    change can reach the caller's data."""
    import pyarrow.compute as pc

    from finlite.runtime.encoder import Encoder

    ints, floats = np.arange(10, dtype=np.int64), np.linspace(0.0, 1.0, 10)
    table = pa.table({"i": ints, "f": floats})
    for name, dtype in (("i", np.int64), ("f", np.float64)):
        for column in (table.column(name), table.column(name).chunk(0)):
            held = Encoder._arrow_numbers(column, name, 1, "t", pa, pc, borrow=True)
            assert held.dtype == dtype
            assert not held.flags.writeable
    assert ints.flags.writeable and floats.flags.writeable  # the caller's arrays are left as they were



@pytest.mark.parametrize("size", [5, 100])  # the Python path, and Arrow's for a large text dictionary
def test_missing_entries_are_the_values_whose_key_is_missing(size: int) -> None:
    """lookup_missing marks the entries the encoder reads as a missing value (a null's, and each
    value whose key is MISSING: empty or blank text), which score counts apart from new categories."""
    values = [f"v{i}" for i in range(size - 4)] + ["", "   ", " v1 ", f" {MISSING}"]  # the missing key's own text too
    dictionary = pa.array(values, type=pa.string())
    mapping = {"v1": 7, MISSING: 0} if size == 5 else {"v1": 7}
    table, missing = LookupCache().lookup_missing("f", dictionary, mapping, -1, np.int64)
    assert missing.tolist() == [category_key(v) == MISSING for v in values] + [True]
    assert table[-1] == mapping.get(MISSING, -1) and table[values.index(" v1 ")] == 7
    ints = pa.array(list(range(200)), type=pa.int64())  # integers: only the null's entry
    _, flags = LookupCache().lookup_missing("n", ints, {"5": 1}, -1, np.int64)
    assert flags.tolist() == [False] * 200 + [True]


_CELLS = st.sampled_from(["A11", "A12", " A11", "A11 ", "a11", "", "   ", "__missing__", "true", "True", "1", "1.0",
                          "7.0", "7", "no checking account", "0 <= ... < 200 DM", "0 <= ... < 100 DM", "ü", "\x1dA11",
                          "2024-01-31", "2024-01-31 00:00:00", "unseen value that is long"])


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(st.one_of(st.none(), _CELLS), max_size=120), kind=st.sampled_from(["string", "large_string"]),
       chunks=st.integers(0, 3), bools=st.booleans())
def test_plain_text_looks_up_as_its_values_keys_with_the_compiled_lookup(values: list[str | None], kind: str,
                                                                         chunks: int, bools: bool,
                                                                         compiled_fill: object) -> None:
    """A text column that is not dictionary-encoded (a DataFrame's, a CSV's) is looked up by the
    compiled exact lookup where a value is a training key as written, and through its dictionary
    otherwise (spaces around a key, an alias, a blank, a new category): each row's entry and its
    missing flag are the per-value definition's, whether few or most values are keys, in one
    array or several chunks."""
    from finlite.runtime._fastenc import codes_lookup_missing

    if bools:  # a column trained on booleans: "true" and 1 read as True
        mapping = {"True": 3, "False": 4, MISSING: 9}
    else:
        mapping = {"A11": 1, "A12": 2, "7": 5, "no checking account": 6, "0 <= ... < 200 DM": 8, "ü": 10,
                   "2024-01-31": 11, MISSING: 9}
    array = pa.array(values, type=getattr(pa, kind)())
    column: Any = array
    if chunks:  # split into chunks (the last may be empty)
        cuts = sorted({0, len(values), *(len(values) * k // (chunks + 1) for k in range(1, chunks + 1))})
        column = pa.chunked_array([array.slice(a, b - a) for a, b in itertools.pairwise(cuts)] or [array],
                                  type=array.type)
    for cache in (LookupCache(), LookupCache()):
        codes, lookup, missing = codes_lookup_missing(cache, "f", column, mapping, -1, np.int64, pa, pa.compute)
        expected = [look_up(mapping, category_key(v)) for v in values]
        assert lookup[codes].tolist() == [-1 if e is None else e for e in expected]
        assert missing[codes].tolist() == [category_key(v) == MISSING for v in values]


def test_the_compiled_text_lookup_is_taken_and_left_as_it_should(compiled_fill: object,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Keys as written take the compiled lookup alone (the lookup is the keys' entries, a miss's and
    a null's); a column mostly of other values is encoded through its dictionary as before; a
    dictionary-encoded column never takes it; and without the kernel the rows read the same."""
    from finlite.runtime import _native
    from finlite.runtime._fastenc import codes_lookup_missing

    mapping = {"A11": 1, "A12": 2, " padded ": 3, MISSING: 9}  # " padded " is no key as written: its key is "padded"
    keys = pa.array(["A12", "A11", None, "A12"] * 50)
    codes, lookup, missing = codes_lookup_missing(LookupCache(), "f", keys, mapping, -1, np.int64, pa, pa.compute)
    assert lookup.tolist() == [1, 2, -1, 9]
    assert lookup[codes].tolist() == [2, 1, 9, 2] * 50 and missing[codes].tolist() == [False, False, True, False] * 50
    others = pa.array(["A11"] + [f"new {i}" for i in range(9)])
    codes, lookup, _ = codes_lookup_missing(LookupCache(), "f", others, mapping, -1, np.int64, pa, pa.compute)
    assert len(lookup) == 11 and lookup[codes].tolist() == [1] + [-1] * 9  # the dictionary: 10 values and a null
    seen = []
    monkeypatch.setattr(_native, "text_codes", lambda *a: seen.append(a) or None)
    codes, lookup, _ = codes_lookup_missing(LookupCache(), "f", keys.dictionary_encode(), mapping, -1, np.int64, pa,
                                            pa.compute)
    assert not seen and lookup[codes].tolist() == [2, 1, 9, 2] * 50
    monkeypatch.setattr(_native, "_kernel", _native.NO_KERNEL)
    codes, lookup, _ = codes_lookup_missing(LookupCache(), "f", keys, mapping, -1, np.int64, pa, pa.compute)
    assert lookup[codes].tolist() == [2, 1, 9, 2] * 50


def test_text_views_decimals_and_intervals_read_as_the_record_path_reads_them(exported_dir: Path,
                                                                              book: pd.DataFrame) -> None:
    """Arrow's text views (a Parquet file written from them keeps them) read as plain text, numbers
    written as text included, where take and casts from a dictionary of views had no kernel;
    decimal32/64 categories (no dictionary kernel) read as the same decimals in decimal128; an
    interval in a categorical column is refused, naming it, as the record path refuses it."""
    from decimal import Decimal

    from finlite.data.schema import factorize_cells
    from finlite.runtime._fastenc import codes_lookup_missing

    predictor = Predictor(exported_dir)
    features = book.drop(columns=["account", "creditability"]).head(300)
    table = pa.Table.from_pandas(features, preserve_index=False)
    table = table.set_column(table.schema.get_field_index("credit_amount"), "credit_amount",
                             pa.compute.cast(table.column("credit_amount"), pa.string()))  # numbers as text
    expected = predictor.encoder.encode_arrow(table)
    text = [i for i, f in enumerate(table.schema) if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)]
    views = table
    for i in text:
        views = views.set_column(i, table.schema[i].name, table.column(i).cast(pa.string_view()))
    np.testing.assert_array_equal(predictor.encoder.encode_arrow(views), expected)
    coded = views.set_column(text[0], views.schema[text[0]].name,
                             views.column(text[0]).combine_chunks().dictionary_encode())  # dictionary<string_view>
    np.testing.assert_array_equal(predictor.encoder.encode_arrow(coded), expected)

    zips = [Decimal("94110"), None, Decimal("501"), Decimal("7.50")]
    mapping = {"94110": 1, "501": 2, MISSING: 9}
    for kind in (pa.decimal32(7, 2), pa.decimal64(12, 2), pa.decimal128(12, 2)):
        codes, lookup, _ = codes_lookup_missing(LookupCache(), "zip", pa.array(zips, type=kind), mapping, -1,
                                                np.int64, pa, pa.compute)
        assert lookup[codes].tolist() == [1, 9, 2, -1], kind  # "94110.00" is the code 94110, as category_key reads it
    series = pd.Series(zips, dtype=pd.ArrowDtype(pa.decimal32(7, 2)))
    codes, uniques = factorize_cells(series, "zip", "the frame")
    assert codes.tolist() == [0, -1, 1, 2] and [category_key(v) for v in uniques] == ["94110.00", "501.00", "7.50"]

    months = pa.array([pa.MonthDayNano([1, 2, 3])] * len(table), type=pa.month_day_nano_interval())
    field = next(f.name for f in table.schema if f.name in predictor.encoder.category_fields)
    with pytest.raises(DataError, match=f"Categorical column '{field}' in .* has type month_day_nano_interval"):
        predictor.encoder.encode_arrow(table.set_column(table.schema.get_field_index(field), field, months))
