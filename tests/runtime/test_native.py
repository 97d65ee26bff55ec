"""The compiled one-hot fill (finlite.runtime._native) writes exactly what numpy's assemble writes."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from finlite.runtime import _native
from finlite.runtime._fastenc import assemble

_CODE_DTYPES = [np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint32]


@pytest.fixture(autouse=True)
def _compiled(compiled_fill: object) -> None:
    """Compiled before each test (fill never waits for a compile: it leaves the block to numpy),
    whatever FINLITE_COMPILED_FILL says in the environment the tests run in."""


def test_the_kernel_compiles_here() -> None:
    # llvmlite is a dependency: a kernel that silently failed to compile would leave batch scoring
    # on the slower numpy path without anyone knowing.
    assert _native.kernel() is not None
    assert _native.compiled() is _native.kernel()


@st.composite
def _blocks(draw: st.DrawFn) -> tuple[list, list[tuple[np.ndarray, np.ndarray]], int, int, int]:
    rows = draw(st.integers(0, 300))
    singles = draw(st.integers(0, 6))
    width = singles + draw(st.integers(1, 20))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    numbers = []
    for column in rng.permutation(singles).tolist()[:draw(st.integers(0, singles))]:  # single columns, any order
        if draw(st.booleans()):  # int64 rows, read as they are: converted to the nearest double as astype does
            values = rng.integers(-(2**63), 2**63 - 1, size=rows, endpoint=True) // draw(st.sampled_from([1, 2**40]))
            if rows and draw(st.booleans()):  # the ends, and odd integers past 2**53 (which round)
                values[0] = draw(st.sampled_from([-(2**63), 2**63 - 1, 2**53 + 1, -(2**53) - 3, 0]))
        else:
            values = rng.normal(scale=draw(st.sampled_from([1.0, 1e3, 1e30])), size=rows)
            if rows and draw(st.booleans()):  # whatever the value, the same cell as numpy's
                values[0] = draw(st.sampled_from([np.inf, -0.0, 3.4e38, np.nan, 5e-324]))
        mean, std = draw(st.sampled_from([(0.0, 1.0), (3.5, 0.1), (-1e5, 7.0)]))
        numbers.append((column, values, mean, std))
    plans = []
    for _ in range(draw(st.integers(0, 5))):
        size = draw(st.integers(1, 12))
        dtype = np.dtype(draw(st.sampled_from(_CODE_DTYPES)))
        high = min(size + 3, np.iinfo(dtype).max)  # codes past the lookup's end are clipped, as np.take's "clip"
        low = -3 if dtype.kind == "i" else 0
        codes = rng.integers(low, high + 1, rows).astype(dtype)
        lookup = rng.integers(singles, width, size).astype(np.int64)
        plans.append((codes, lookup))
    valued = []
    free = [c for c in range(singles) if c not in {n[0] for n in numbers}]
    for column in range(singles - len(numbers)):  # valued fields: the single columns numbers left
        size = draw(st.integers(1, 12))
        codes = rng.integers(-3, size + 3, rows).astype(np.dtype(draw(st.sampled_from(_CODE_DTYPES[:4]))))
        table = rng.normal(scale=1e3, size=size)
        table[0] = draw(st.sampled_from([0.1, -0.0, 1e300, np.inf]))  # rounded as numpy rounds it
        valued.append((codes, table, free[column]))
    start = draw(st.integers(0, rows))
    stop = draw(st.integers(start, rows))
    return numbers, plans, valued, width, start, stop


@settings(max_examples=300, deadline=None)
@given(_blocks())
def test_the_kernel_writes_the_cells_numpy_writes(block: tuple) -> None:
    numbers, plans, valued, width, start, stop = block
    expected = np.full((stop - start, width), 5.0, dtype=np.float32)  # stale values must be cleared
    assemble(expected, [(codes[start:stop], lookup) for codes, lookup in plans])
    for column, values, mean, std in numbers:  # in double, rounded to float32 once
        expected[:, column] = ((values[start:stop].astype(np.float64) - mean) / std).astype(np.float32)
    for codes, table, column in valued:
        expected[:, column] = table[np.clip(codes[start:stop].astype(np.int64), 0, len(table) - 1)].astype(np.float32)
    out = np.full((stop - start, width), 5.0, dtype=np.float32)
    rows = max([len(v[1]) for v in numbers] + [len(p[0]) for p in plans] + [len(v[0]) for v in valued] + [stop])
    assert _native.fill(out, _native.Plans(numbers, plans, rows, valued), start, stop)
    np.testing.assert_array_equal(out.view(np.uint32), expected.view(np.uint32))  # bit for bit: -0.0 and NaN too


def test_layouts_the_kernel_does_not_take_are_left_to_numpy_untouched() -> None:
    rng = np.random.default_rng(0)
    numbers = [(0, rng.normal(size=100), 1.0, 2.0), (1, rng.normal(size=100), 0.0, 1.0)]
    plans = _native.Plans(numbers, [(rng.integers(0, 3, 100), np.array([2, 3, 4]))], 100)
    cases = {
        "float64 output": np.full((10, 5), 7.0),
        "a column slice of a wider matrix": np.full((10, 8), 7.0, dtype=np.float32)[:, :5],
        "one row too many": np.full((11, 5), 7.0, dtype=np.float32),
        "a lookup column past the width": np.full((10, 4), 7.0, dtype=np.float32),
    }
    for name, out in cases.items():
        before = out.copy()
        assert not _native.fill(out, plans, 0, 10), name
        np.testing.assert_array_equal(out, before, err_msg=name)
    good = np.full((10, 5), 7.0, dtype=np.float32)
    assert not _native.fill(good, plans, 95, 105)  # rows past the chunk
    assert not _native.fill(good, plans, 10, 0)
    assert (good == 7.0).all()
    assert _native.fill(good, plans, 90, 100)
    assert (good[:, 4] != 7.0).all()


def test_plans_refuse_what_would_write_outside_the_block() -> None:
    with pytest.raises(ValueError, match="negative column number -1"):
        _native.Plans([], [(np.zeros(4, np.int32), np.array([0, -1]))], 4)
    with pytest.raises(ValueError, match=r"codes must be one value per row \(4\); got shape \(3,\)"):
        _native.Plans([], [(np.zeros(3, np.int32), np.array([0, 1]))], 4)
    with pytest.raises(ValueError, match="lookup must be a non-empty 1-D array"):
        _native.Plans([], [(np.zeros(4, np.int32), np.array([], dtype=np.int64))], 4)
    with pytest.raises(ValueError, match=r"one value per row \(4\); got shape \(4, 1\)"):
        _native.Plans([(0, np.zeros((4, 1)), 0.0, 1.0)], [], 4)
    with pytest.raises(ValueError, match=r"output column is negative \(-2\)"):
        _native.Plans([(-2, np.zeros(4), 0.0, 1.0)], [], 4)
    with pytest.raises(ValueError, match="table must be a non-empty 1-D array"):
        _native.Plans([], [], 4, [(np.zeros(4, np.int8), np.array([]), 0)])
    with pytest.raises(ValueError, match=r"output column is negative \(-1\)"):
        _native.Plans([], [], 4, [(np.zeros(4, np.int8), np.array([1.0]), -1)])


def test_without_a_kernel_nothing_is_written_and_numpy_takes_over(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_native, "_kernel", _native.NO_KERNEL)
    out = np.full((3, 4), 7.0, dtype=np.float32)
    plans = _native.Plans([(0, np.zeros(3), 0.0, 1.0)], [(np.array([0, 1, 2]), np.array([1, 2, 3]))], 3)
    assert not _native.fill(out, plans, 0, 3)
    assert (out == 7.0).all()


def test_a_read_only_block_is_never_written() -> None:
    """numpy refuses to write a read-only array; the kernel, writing through its address, would
    change an immutable buffer (or crash on a read-only mapping): it leaves such a block to numpy."""
    plans = _native.Plans([(0, np.ones(4), 0.0, 1.0)], [], 4)
    frozen = np.zeros((4, 2), dtype=np.float32)
    frozen.flags.writeable = False
    assert not _native.fill(frozen, plans, 0, 4)
    assert (frozen == 0).all()
    immutable = np.frombuffer(bytes(32), dtype=np.float32).reshape(4, 2)
    assert not _native.fill(immutable, plans, 0, 4)


def test_switched_off_or_failing_the_kernel_leaves_numpy_and_says_why(monkeypatch: pytest.MonkeyPatch,
                                                                      caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(_native, "_kernel", None)
    monkeypatch.setenv(_native.ENV_SWITCH, "0")
    with caplog.at_level("WARNING", logger="finlite"):
        assert _native.kernel() is None and _native.compiled() is None
    assert not caplog.records  # switched off on purpose: nothing to say
    for off in ("false", " OFF "):
        monkeypatch.setattr(_native, "_kernel", None)
        monkeypatch.setenv(_native.ENV_SWITCH, off)
        assert _native.kernel() is None
    monkeypatch.setattr(_native, "_kernel", None)
    monkeypatch.delenv(_native.ENV_SWITCH)
    monkeypatch.setattr(_native, "_IR", "define void @fill_block( not IR")
    with caplog.at_level("WARNING", logger="finlite"):
        assert _native.kernel() is None
    assert "warning: the compiled block fill is unavailable here (RuntimeError: LLVM IR parsing error" in caplog.text
    assert "needs llvmlite 0.45 or later; set FINLITE_COMPILED_FILL=0" in caplog.text
    assert len(caplog.records) == 1


def test_no_thread_to_compile_on_fails_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    def refuse(self: threading.Thread) -> None:
        raise RuntimeError("can't start new thread")

    monkeypatch.setattr(_native, "_kernel", None)
    monkeypatch.setattr(_native, "_started", False)
    monkeypatch.setattr(threading.Thread, "start", refuse)
    _native.compile_in_background()  # no error: scoring goes on with numpy
    assert _native.compiled() is None and _native._started is False


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 700), st.integers(1, 40), st.sampled_from(_CODE_DTYPES), st.integers(0, 2**32 - 1))
def test_the_compiled_count_is_numpys(rows: int, size: int, dtype: type, seed: int) -> None:
    """count_flags counts the codes whose entry is flagged, as numpy's gather does; codes past either
    end are clipped into the flags (the caller passes only codes within them)."""
    rng = np.random.default_rng(seed)
    flags = rng.random(size) < rng.random()
    dtype = np.dtype(dtype)
    codes = rng.integers(0, min(size - 1, np.iinfo(dtype).max), rows, endpoint=True).astype(dtype)
    counted = _native.count_flags(codes, flags)
    if dtype.kind == "u":  # unsigned codes are not read (a uint8 255 is no -1): numpy counts them
        assert counted is None
        return
    assert counted == int(np.count_nonzero(flags[codes]))
    wide = codes.astype(np.int64)
    if rows:
        wide[0], wide[-1] = -5, size + 7
        assert _native.count_flags(wide, flags) == int(np.count_nonzero(flags[np.clip(wide, 0, size - 1)]))
    assert _native.count_flags(codes[::2], flags) == int(np.count_nonzero(flags[codes[::2]]))  # strided: copied


def test_the_count_leaves_what_it_does_not_read_to_numpy(monkeypatch: pytest.MonkeyPatch) -> None:
    codes = np.array([0, 1, 1, 2], dtype=np.int32)
    assert _native.count_flags(codes, np.array([0, 1, 0], dtype=np.uint8)) is None  # flags must be bools
    assert _native.count_flags(codes, np.zeros(0, dtype=bool)) is None
    assert _native.count_flags(codes.astype(">i4"), np.array([False, True, False])) is None
    assert _native.count_flags(codes, np.array([False, True, False])) == 2
    monkeypatch.setattr(_native, "_kernel", _native.NO_KERNEL)
    assert _native.count_flags(codes, np.array([False, True, False])) is None



# Text drawn to hit every path of the compiled lookup: empty, under 8 bytes, exactly 8, 9 to 16
# (first and last words overlap), over 16 (middle words), multi-byte UTF-8, NUL and spaces.
_TEXT = st.text(alphabet=st.sampled_from(["a", "b", " ", "\x00", "\t", "ü", "€", "0"]), max_size=40)


@settings(max_examples=300, deadline=None)
@given(st.lists(_TEXT, min_size=1, max_size=12, unique=True), st.lists(st.one_of(st.none(), _TEXT), max_size=80),
       st.booleans(), st.integers(0, 80), st.integers(0, 80), st.integers(0, 2**32 - 1))
def test_the_compiled_text_lookup_matches_exactly(keys: list[str], pool: list[str | None], wide: bool, lo: int,
                                                  size: int, seed: int) -> None:
    """Each value gets its key's number when its bytes are a key's, the null code when null, and
    the miss code otherwise; the count of misses is returned. Values are drawn from the keys, from
    near-misses (a key with a byte more or less) and from anything else; arrays sliced at any
    offset, 32- and 64-bit offsets."""
    import pyarrow as pa

    rng = np.random.default_rng(seed)
    near = [k + "a" for k in keys] + [k[:-1] for k in keys if k] + ["a" + k for k in keys]
    # The same length, the first or the last byte changed.
    near += [k[:-1] + ("b" if k[-1] != "b" else "a") for k in keys if k]
    near += [("b" if k[0] != "b" else "a") + k[1:] for k in keys if k]
    # The same length, first and last bytes, one byte changed in the middle (the middle words' compare).
    near += [k[:len(k) // 2] + ("b" if k[len(k) // 2] != "b" else "a") + k[len(k) // 2 + 1:] for k in keys
             if len(k) > 16]
    choices = keys + near + [v for v in pool if v is not None]
    values = [None if rng.random() < 0.1 else choices[int(rng.integers(len(choices)))] for _ in range(len(pool) + 5)]
    column = pa.array(values, type=pa.large_string() if wide else pa.string())
    lo = min(lo, len(values))
    column = column.slice(lo, size)
    table = _native.TextTable(keys)
    out = np.full(len(column), -7, dtype=np.int32)
    miss, null = len(keys), len(keys) + 1
    misses = _native.text_codes(column, table, out, miss, null)
    number = {k: i for i, k in enumerate(keys)}
    expected = [null if v is None else number.get(v, miss) for v in column.to_pylist()]
    assert out.tolist() == expected
    assert misses == expected.count(miss)
    # The same hash in Python and in the kernel: a key found is one the table holds where hashed.
    for key in keys:
        assert table.slots[_native.text_hash(key.encode()) & table.mask] >= 0


def test_the_text_lookup_reads_nothing_outside_its_column(monkeypatch: pytest.MonkeyPatch) -> None:
    """A value whose offsets point outside the data (a malformed array) is a miss, never read;
    what the kernel does not take (another type, a short or read-only output, no kernel) writes
    nothing and returns None."""
    import pyarrow as pa

    # The data buffer is the first 5 bytes of "abcdede": the key "de" lies just past its end.
    data = pa.py_buffer(b"abcdede").slice(0, 5)
    offsets = pa.py_buffer(np.array([0, 3, 5, 7, 5], dtype=np.int32).tobytes())
    broken = pa.StringArray.from_buffers(4, offsets, data)  # not validated: rows 2 and 3 lie outside the data
    table = _native.TextTable(["abc", "de"])
    out = np.empty(4, dtype=np.int32)
    assert _native.text_codes(broken, table, out, 2, 3) == 2
    assert out.tolist() == [0, 1, 2, 2]
    # 64-bit offsets whose difference wraps (start 2**63 - 1, end -2): a miss, never read (it was
    # read at data + 2**63 - 1, a crash; a review, 2026-12-05).
    wide = pa.py_buffer(np.array([0, 3, 2**63 - 1, -2, 5], dtype=np.int64).tobytes())
    wrapped = pa.LargeStringArray.from_buffers(4, wide, pa.py_buffer(b"abcde"))
    out = np.empty(4, dtype=np.int32)
    assert _native.text_codes(wrapped, table, out, 2, 3) == 3
    assert out.tolist() == [0, 2, 2, 2]
    column = pa.array(["abc", "de"])
    for bad in (np.empty(2, dtype=np.int64), np.empty(3, dtype=np.int32), np.empty(2, dtype=np.int32)[::-1]):
        assert _native.text_codes(column, table, bad, 2, 3) is None
    frozen = np.zeros(2, dtype=np.int32)
    frozen.flags.writeable = False
    assert _native.text_codes(column, table, frozen, 2, 3) is None
    assert _native.text_codes(pa.array([b"abc", b"de"]), table, np.empty(2, dtype=np.int32), 2, 3) is None
    assert _native.text_codes(pa.array(["abc", "de"]).dictionary_encode(), table, np.empty(2, dtype=np.int32), 2,
                              3) is None
    monkeypatch.setattr(_native, "_kernel", _native.NO_KERNEL)
    assert _native.text_codes(column, table, np.empty(2, dtype=np.int32), 2, 3) is None
