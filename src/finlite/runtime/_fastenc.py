"""The batch encoder's inner loops: category lookups per distinct value, one-hot writes in
cache-sized blocks, reusable output buffers.

:meth:`finlite.runtime.encoder.Encoder.encode_arrow` decides *what* each column becomes; this
module makes the writes cheap. No Python runs per row:

- a plain text column (a DataFrame's, a CSV's) is looked up by the compiled kernel once there is
  one, each value's bytes in a table of the training keys as written (:func:`_exact_text_codes`);
  the values that are no key as written go on as below;
- a categorical column arrives dictionary-encoded (Parquet ``read_dictionary``, or
  ``dictionary_encode`` per chunk); its key -> column (or value) lookup is built once per
  distinct dictionary and cached, so the chunks of one Parquet row group, whose dictionaries are
  equal, build it once. A large ASCII text dictionary (City, Bank) is matched in Arrow (trim and
  hash lookup) instead of a Python call per distinct value. Plain integer codes (Zip, NAICS
  declared categorical) need no dictionary: each row is looked up in a direct table over the
  training keys' range (a sorted search when the range is wide);
- the output matrix is written by one compiled loop per block (:mod:`finlite.runtime._native`)
  once it is compiled; until then, or where it cannot be, by numpy: zeros and the one-hot ones
  with one scatter per 4,096-row block (:func:`assemble`), then each single column.

Only numpy and pyarrow here (llvmlite in ``_native``); the results are exactly those of the
per-value definition (:func:`finlite._keys.category_key`), which a test checks.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

import numpy as np

from finlite._keys import ALIASABLE_TEXT, MISSING, category_key, float_text, key_aliases, look_up
from finlite.runtime import _arrownp, _native

__all__ = ["ArrowRows", "LookupCache", "assemble", "block_buffer", "block_rows", "checked", "codes_and_lookup",
           "codes_lookup_missing", "count_flagged", "dictionary_codes"]

def _value_bytes(array: Any) -> np.ndarray:
    """The bytes of a string or large_string array's values, as uint8 (no copy): those between
    its first and its last offset, which a slice's offset moves."""
    buffers = array.buffers()
    offsets = np.frombuffer(buffers[1], dtype=np.int64 if str(array.type) == "large_string" else np.int32,
                            count=len(array) + 1 + array.offset)
    low, high = int(offsets[array.offset]), int(offsets[array.offset + len(array)])
    if buffers[2] is None or high <= low:
        return np.zeros(0, dtype=np.uint8)
    return np.frombuffer(buffers[2], dtype=np.uint8)[low:high]


_DENSE_SPAN = 1 << 22  # integer codes spanning fewer values get a direct table (int64: at most 32 MB)
_BLOCK = 4096  # rows per one-hot block: 4,096 x (say) 74 float32 = 1.2 MB, within a core's L2 cache
#: The encoded rows that batch scoring writes and hands to the model at a time (see block_rows).
SCORE_BLOCK_BYTES = 1 << 22


def block_rows(width: int, *, budget: int = SCORE_BLOCK_BYTES) -> int:
    """Rows of a ``width``-column float32 matrix to encode and score at a time: the largest power
    of two from 1,024 to 32,768 rows within ``budget`` bytes (4 MiB: within the L3 cache).

    Encoding a 262,144-row chunk whole writes 75 MB for German credit's 72 inputs, which goes out
    to memory and comes back when the model reads it; a block that stays in the cache between
    the two cut encoding and scoring from 201 to 131 ms per million German rows and from 184 to
    143 for SBA's (one thread, the same scores; 2,048 to 32,768 rows all did about as well).
    Since the compiled fill (:mod:`finlite.runtime._native`) made each block's encoding cheap, the
    per-call costs of the fill and of ONNX Runtime count more, and the fill writes a block a tile
    of rows at a time anyway: with 8,192-row blocks (4 MiB) 10 M German rows took 2.57-2.61 CPU-s
    in process against 2.64-2.73 with 2,048 (1 MiB), alternated twice each (2-core AMD EPYC), a
    small gain within the noise of a single run. 1,024 rows keep the per-call cost small on wide
    schemas.
    """
    rows = 32768
    while rows > 1024 and rows * max(1, width) * 4 > budget:
        rows //= 2
    return rows


def block_buffer(width: int) -> np.ndarray:
    """An uninitialised float32 block of :func:`block_rows` rows of ``width`` inputs, for one
    thread to encode into and score from (``ArrowRows.fill`` writes every cell it hands on)."""
    return np.empty((block_rows(width), width), dtype=np.float32)


class ArrowRows:
    """A batch's columns, read, checked and looked up (:meth:`Encoder.prepare_arrow`), ready to
    be written into the model's input matrix a range of rows at a time.

    ``numbers`` holds each single column as ``(column, float64 values, mean, std)``: it is written
    as ``(v - mean) / std`` computed in double and rounded to float32 (the numeric fields,
    standardised; missing indicators with mean 0 and std 1, which leaves them 0.0 or 1.0).
    ``plans`` holds the one-hot fields as ``(codes, lookup)``, as :func:`assemble` takes them,
    and ``valued`` the valued categories (weight of evidence, target encoding) as ``(codes,
    float64 table, column)``: ``table[code]`` is written at ``column``.
    """

    __slots__ = ("_native", "flags", "imputed", "numbers", "outside", "plans", "rows", "unseen", "unseen_empty",
                 "valued")

    def __init__(self, rows: int, numbers: list[tuple[int, np.ndarray, float, float]],
                 plans: list[tuple[np.ndarray, np.ndarray]], unseen: dict[str, int] | None = None,
                 imputed: dict[str, int] | None = None,
                 valued: list[tuple[np.ndarray, np.ndarray, int]] | None = None,
                 unseen_empty: dict[str, int] | None = None) -> None:
        self.rows, self.numbers, self.plans, self.valued = rows, numbers, plans, valued or []
        #: Rows per categorical field whose category training never saw (fields with none left out).
        self.unseen = unseen or {}
        #: Of those, the rows whose value was missing (a null, empty or blank text, NaN) in a field
        #: training never saw missing: a feed that lost values, not new categories (fields with none
        #: left out).
        self.unseen_empty = unseen_empty or {}
        #: Rows per numeric field whose value was blank and took the training median (fields with
        #: none left out).
        self.imputed = imputed or {}
        #: Rows per numeric field whose value lies beyond every training value, though within the
        #: range scoring accepts (fields with none left out).
        self.outside: dict[str, int] = {}
        #: Per kind ("imputed", "outside", "unseen"), each field's mask of the rows it concerns, when
        #: asked for (``Encoder.prepare_arrow(row_flags=True)``); None otherwise.
        self.flags: dict[str, list[tuple[str, np.ndarray]]] | None = None
        self._native: _native.Plans | None = None  # the columns as the compiled kernel reads them, on first fill

    def fill(self, out: np.ndarray, start: int, stop: int) -> None:
        """Write rows ``start:stop`` into ``out`` (C-contiguous float32, ``(stop - start, width)``):
        with the compiled kernel (:mod:`finlite.runtime._native`) once there is one, else numpy;
        the same cells either way (a test holds them equal)."""
        if _native.compiled() is not None:
            if self._native is None:
                self._native = _native.Plans(self.numbers, self.plans, self.rows, self.valued)
            if _native.fill(out, self._native, start, stop):
                return
        assemble(out, [(codes[start:stop], lookup) for codes, lookup in self.plans])
        for column, values, mean, std in self.numbers:  # their own columns: no one-hot one is there
            np.divide(np.subtract(values[start:stop], mean), std, out=out[:, column])
        for codes, table, column in self.valued:
            out[:, column] = np.take(table, codes[start:stop], mode="clip")


def checked(out: np.ndarray | None, n: int, width: int) -> np.ndarray:
    """``out`` (a reused buffer, to be filled in full by :meth:`ArrowRows.fill`), checked to be a
    writeable C-contiguous float32 ``(n, width)`` matrix, or a new uninitialised one."""
    if out is None:
        return np.empty((n, width), dtype=np.float32)
    if out.shape != (n, width) or out.dtype != np.float32 or not out.flags.c_contiguous or not out.flags.writeable:
        raise ValueError(f"out must be a writeable C-contiguous float32 array of shape {(n, width)}; got {out.shape} "
                         f"{out.dtype}{'' if out.flags.writeable else ', read-only'}")
    return out


def dictionary_codes(column: Any, pa: Any, pc: Any) -> tuple[Any, np.ndarray]:
    """A column as (its dictionary, each row's index into it); a missing value gets the index
    one past the dictionary's end (where the lookups keep the missing key's entry)."""
    if isinstance(column, pa.ChunkedArray):
        column = column.chunk(0) if column.num_chunks == 1 else column.combine_chunks()
    if pa.types.is_null(column.type):  # empty in every row of this chunk
        column = pa.nulls(len(column), pa.string())
    if pa.types.is_decimal(column.type) and column.type.bit_width < 128:
        # decimal32 and decimal64 (Parquet keeps them) have no dictionary kernel; decimal128 holds them exactly.
        column = column.cast(pa.decimal128(column.type.precision, column.type.scale))
    if not pa.types.is_dictionary(column.type):
        column = pc.dictionary_encode(column)
    dictionary = column.dictionary
    indices = column.indices
    if indices.null_count:
        if len(dictionary) > np.iinfo(indices.type.to_pandas_dtype()).max:  # int8 with 128 entries: -128
            indices = indices.cast(pa.int64())
        indices = indices.fill_null(_arrownp.scalar(len(dictionary), indices.type))
    return dictionary, _arrownp.to_numpy(indices, copy=False)


def codes_and_lookup(cache: LookupCache, field: str, column: Any, mapping: Mapping[str, Any], default: Any,
                     dtype: type, pa: Any, pc: Any) -> tuple[np.ndarray, np.ndarray]:
    """Each row's code and the code -> output lookup of one categorical column, so that
    ``lookup[codes]`` is ``mapping[category_key(value)]`` per row (``default`` when absent).

    A plain integer column (Zip, NAICS) is searched straight in the training keys, with no
    per-chunk dictionary; anything else goes through its dictionary (cached lookup).
    """
    codes, lookup, _ = codes_lookup_missing(cache, field, column, mapping, default, dtype, pa, pc)
    return codes, lookup


def codes_lookup_missing(cache: LookupCache, field: str, column: Any, mapping: Mapping[str, Any], default: Any,
                         dtype: type, pa: Any, pc: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`codes_and_lookup`, and which lookup entries are a missing value (bools, one per
    entry): a null, and any value whose key is :data:`~finlite._keys.MISSING` (empty or blank
    text, NaN), which the lookup maps as the missing value."""
    if isinstance(column, pa.ChunkedArray):  # one chunk (a DataFrame's column, a table's slice) is read in place
        column = column.chunk(0) if column.num_chunks == 1 else column.combine_chunks()
    kind = column.type
    if pa.types.is_integer(kind) and not pa.types.is_uint64(kind):
        keys, values = cache._integer_keys(field, mapping, dtype)
        ints = _arrownp.to_numpy(column if not column.null_count else column.fill_null(_arrownp.scalar(0, kind)),
                                copy=False)
        ints = ints.astype(np.int64, copy=False)
        # Codes: the key's position when found, len(keys) (the default) when not, len(keys) + 1 if missing.
        dense = cache._dense_codes(field, keys)
        if dense is not None:  # codes span a small range (Zip: 5 digits): one gather, no search
            # value - smallest key, read unsigned: a value below the keys wraps to a huge number and
            # one above is past the table, so one minimum sends both to its last entry (no key).
            # (int64 subtraction wraps, and no wrapped difference lands inside the table's span.)
            offset = ints - np.int64(keys[0])
            np.minimum(offset.view(np.uint64), np.uint64(len(dense) - 1), out=offset.view(np.uint64))
            codes = dense[offset]
        elif len(keys):
            pos = np.minimum(np.searchsorted(keys, ints), len(keys) - 1)
            codes = np.where(keys[pos] == ints, pos, len(keys))
        else:
            codes = np.full(len(ints), len(keys), dtype=np.int64)
        if column.null_count:
            codes[_arrownp.to_numpy(column.is_null())] = len(keys) + 1
        lookup = np.concatenate([values, np.array([default, mapping.get(MISSING, default)], dtype=dtype)])
        missing = np.zeros(len(lookup), dtype=bool)
        missing[-1] = True  # an integer is never blank: only the null rows' entry
        return codes, lookup, missing
    exact = _exact_text_codes(cache, field, column, mapping, default, dtype, pa, pc)
    if exact is not None:
        return exact
    dictionary, codes = dictionary_codes(column, pa, pc)
    return codes, *cache.lookup_missing(field, dictionary, mapping, default, dtype)


#: Above this share of a chunk's values that are no training key as written, a text column is
#: looked up through its dictionary instead (the values left over cost a take and a dictionary each).
_EXACT_MISS_SHARE = 0.25


def _exact_text_codes(cache: LookupCache, field: str, column: Any, mapping: Mapping[str, Any], default: Any,
                      dtype: type, pa: Any, pc: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """:func:`codes_lookup_missing` of a plain text column (``string`` or ``large_string``, not
    dictionary-encoded: a DataFrame's text, a CSV's) by the compiled exact lookup: each value that
    is a training key byte for byte (a key that is its own category key: stripped, not the missing
    one) gets that key's entry with no dictionary made; the values left (spaces around a key,
    another spelling, a new category) are looked up through their own dictionary as before, in
    entries after the keys'. None where it does not apply (no kernel yet, another type, a field
    with no such key) or too many values are left (the caller then encodes the whole column).

    Arrow's ``dictionary_encode`` hashed 13 text columns of 100,000 DataFrame rows in 14 ms, most
    of a German-credit frame's encoding; the exact lookup is one compiled pass."""
    if _native.compiled() is None:
        return None
    chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
    if not chunks or any(c.type not in (pa.string(), pa.large_string()) for c in chunks):
        return None
    found = cache.exact_keys(field, mapping, default, dtype)
    if found is None:
        return None
    table, lookup, missing = found
    n, keys = len(column), table.count
    codes = np.empty(n, dtype=np.int32)
    misses = at = 0
    for chunk in chunks:
        got = _native.text_codes(chunk, table, codes[at:at + len(chunk)], keys, keys + 1)
        if got is None:
            return None
        misses, at = misses + got, at + len(chunk)
    if misses > _EXACT_MISS_SHARE * n:
        return None
    if misses:
        # The rest through their own dictionary, in entries from keys + 2 on: a lookup entry per
        # code either way, so counts (unseen, missing) read the same as a whole column's.
        rows = np.flatnonzero(codes == keys)
        rest = column.take(_arrownp.from_numpy(rows, pa.int64()))
        dictionary, rest_codes = dictionary_codes(rest, pa, pc)
        rest_lookup, rest_missing = cache.lookup_missing(field, dictionary, mapping, default, dtype)
        codes[rows] = rest_codes + (keys + 2)
        lookup, missing = np.concatenate([lookup, rest_lookup]), np.concatenate([missing, rest_missing])
    return codes, lookup, missing


#: Dictionaries whose lookups a field keeps, the most recent first: two scoring threads in two row
#: groups alternate between two dictionaries, and one kept made each chunk rebuild its lookup (20
#: alternating calls, 11 builds: a review, 2026-12-07).
KEPT_DICTIONARIES = 4


class LookupCache:
    """Per field, the lookups of the last :data:`KEPT_DICTIONARIES` dictionaries seen (thread-safe;
    one per encoder)."""

    def __init__(self) -> None:
        self._last: dict[str, list[tuple[Any, np.ndarray, np.ndarray]]] = {}
        self._int_keys: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._dense: dict[str, np.ndarray | None] = {}
        self._text_keys: dict[str, tuple[Any, np.ndarray]] = {}
        self._exact: dict[str, tuple[_native.TextTable, np.ndarray, np.ndarray] | None] = {}
        self._lock = threading.Lock()
        # One lock a field while its lookup is built: the scoring threads meet each new row
        # group's dictionary together, and each built the same table (12-15 builds of City and
        # Bank for 10 row groups of the SBA book: a profile, 2026-12-07).
        self._building: dict[str, threading.Lock] = {}

    def lookup(self, field: str, dictionary: Any, mapping: Mapping[str, Any], default: Any,
               dtype: type) -> np.ndarray:
        """``mapping[category_key(value)]`` (``default`` when absent) for every dictionary value,
        then the entry of a missing value, as one numpy array."""
        return self.lookup_missing(field, dictionary, mapping, default, dtype)[0]

    def lookup_missing(self, field: str, dictionary: Any, mapping: Mapping[str, Any], default: Any,
                       dtype: type) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`lookup`, and which of its entries are a missing value (the last, a null's, and
        each dictionary value whose key is MISSING: empty or blank text, NaN)."""
        found = self._cached(field, dictionary)
        if found is not None:
            return found
        with self._lock:
            gate = self._building.setdefault(field, threading.Lock())
        with gate:
            found = self._cached(field, dictionary)  # another thread built it meanwhile
            if found is not None:
                return found
            table, missing = self._build(field, dictionary, mapping, default, dtype)
            with self._lock:
                kept = self._last.setdefault(field, [])
                kept.insert(0, (dictionary, table, missing))
                del kept[KEPT_DICTIONARIES:]
        return table, missing

    def _cached(self, field: str, dictionary: Any) -> tuple[np.ndarray, np.ndarray] | None:
        """The lookup kept for ``field`` that was built for this dictionary, else None."""
        with self._lock:
            kept = list(self._last.get(field, ()))
        for hit in kept:
            if hit[0] is dictionary or (len(hit[0]) == len(dictionary) and hit[0].type == dictionary.type
                                        and hit[0].equals(dictionary)):
                return hit[1], hit[2]
        return None

    def _build(self, field: str, dictionary: Any, mapping: Mapping[str, Any], default: Any,
               dtype: type) -> tuple[np.ndarray, np.ndarray]:
        import pyarrow as pa

        missing = mapping.get(MISSING, default)
        kind = dictionary.type
        if (pa.types.is_integer(kind) and not pa.types.is_uint64(kind) and dictionary.null_count == 0
                and len(dictionary) > 64):
            # category_key(int) is its decimal text, so a training key matches an integer exactly
            # when it is the canonical decimal text of that integer ("94110", not "094110" or "94110.0").
            keys, values = self._integer_keys(field, mapping, dtype)
            ints = _arrownp.to_numpy(dictionary, copy=False).astype(np.int64)
            table: np.ndarray = np.full(len(ints) + 1, default, dtype=dtype)
            if len(keys):
                pos = np.minimum(np.searchsorted(keys, ints), len(keys) - 1)
                found = keys[pos] == ints
                table[:-1][found] = values[pos[found]]
            table[-1] = missing
            blank = np.zeros(len(table), dtype=bool)
            blank[-1] = True
            return table, blank
        if ((pa.types.is_string(kind) or pa.types.is_large_string(kind)) and len(dictionary) > 64
                and dictionary.null_count == 0):
            looked_up = self._text_lookup(field, dictionary, mapping, default, missing, dtype)
            if looked_up is not None:
                return looked_up
        named = [category_key(v) for v in dictionary.to_pylist()]
        found = [look_up(mapping, key) for key in named]
        return (np.array([default if f is None else f for f in found] + [missing], dtype=dtype),
                np.array([key == MISSING for key in named] + [True], dtype=bool))

    def exact_keys(self, field: str, mapping: Mapping[str, Any], default: Any,
                   dtype: type) -> tuple[_native.TextTable, np.ndarray, np.ndarray] | None:
        """The field's keys that a value written exactly so reads as (text that is its own category
        key: stripped, not empty, not the missing key), as a :class:`~finlite.runtime._native.TextTable`,
        with the lookup of its key numbers (each key's entry, then ``default`` for a value that is
        no key and the missing value's entry, for a null) and which entries are missing (the
        null's); None when the field has no such key. Cached per field."""
        with self._lock:
            if field in self._exact:
                return self._exact[field]
        keys = []
        for key in mapping:
            if isinstance(key, str) and key != MISSING and category_key(key) == key:
                try:
                    key.encode("utf-8")  # a lone surrogate: no UTF-8 text equals it, so it is left out
                except UnicodeEncodeError:
                    continue
                keys.append(key)
        built = None
        if keys:
            lookup: np.ndarray = np.array([mapping[k] for k in keys] + [default, mapping.get(MISSING, default)],
                                          dtype=dtype)
            missing = np.zeros(len(lookup), dtype=bool)
            missing[-1] = True
            built = (_native.TextTable(keys), lookup, missing)
        with self._lock:
            self._exact[field] = built
        return built

    def _text_lookup(self, field: str, dictionary: Any, mapping: Mapping[str, Any], default: Any, missing: Any,
                     dtype: type) -> tuple[np.ndarray, np.ndarray] | None:
        """The lookup of a large ASCII text dictionary in Arrow (a hash join), and which entries
        are blank (:meth:`lookup_missing`), or None when a value could be read differently by
        Python's ``str.strip`` (non-ASCII text, or the separators \\x1c-\\x1f, which Python strips
        as whitespace and Arrow does not)."""
        import pyarrow as pa
        import pyarrow.compute as pc

        # The values' bytes at once (contiguous between the first and the last offset; the caller
        # passes no null), in numpy: every byte ASCII and none of \x1c-\x1f (two Arrow scans before,
        # the second a regex).
        raw = _value_bytes(dictionary)
        if raw.size and (int(raw.max()) >= 0x80 or bool(np.any((raw >= 0x1C) & (raw <= 0x1F)))):
            return None
        with self._lock:
            found = self._text_keys.get(field)
        if found is None:
            texts = [k for k in mapping if isinstance(k, str)]
            found = (_arrownp.strings(texts), np.array([mapping[k] for k in texts], dtype=dtype))
            with self._lock:
                self._text_keys[field] = found
        keys, values = found
        # category_key(text) is the stripped text, MISSING when nothing is left.
        trimmed = pc.ascii_trim_whitespace(dictionary.cast(pa.string()))
        position = _arrownp.to_numpy(pc.index_in(trimmed, value_set=keys).fill_null(_arrownp.scalar(-1, pa.int32())))
        table: np.ndarray = np.full(len(dictionary) + 1, default, dtype=dtype)
        hit = position >= 0
        table[:-1][hit] = values[position[hit]]
        # Missing: nothing left, or the text of the missing key itself (training reads "__missing__" as missing).
        empty = _arrownp.to_numpy(pc.or_(pc.equal(pc.binary_length(trimmed), _arrownp.scalar(0, pa.int32())),
                                         pc.equal(trimmed, _arrownp.scalar(MISSING, pa.string()))))
        # A number written as text ("94110.0") that is no training key: its numeric alias (see
        # finlite._keys.numeric_alias), looked up in Python for those values only.
        # A boolean spelled otherwise than in training ("true" for True), a day written as its
        # midnight, likewise: key_aliases (ALIASABLE_TEXT: every text it may alias).
        # The pattern is matched against the values no key matched only (most values are keys).
        rest = np.flatnonzero(~hit & ~empty)
        candidates = rest[_arrownp.to_numpy(pc.match_substring_regex(
            trimmed.take(_arrownp.from_numpy(rest, pa.int64())), f"^(?:{ALIASABLE_TEXT})$"))] if len(rest) else rest
        texts = trimmed.take(_arrownp.from_numpy(candidates, pa.int64())).to_pylist()
        for i, text in zip(candidates.tolist(), texts, strict=True):
            alias = next((a for a in key_aliases(str(text), mapping) if a in mapping), None)
            if alias is not None:
                table[i] = mapping[alias]
        table[:-1][empty] = missing
        table[-1] = missing
        return table, np.append(empty, True)

    def _dense_codes(self, field: str, keys: np.ndarray) -> np.ndarray | None:
        """For integer keys within a span of at most 4 M, a table from (value - smallest key) to the
        key's position (len(keys) where no key, and in one more entry past the largest key, for
        values outside them), cached; None for no keys or a wider span."""
        with self._lock:
            if field in self._dense:
                return self._dense[field]
        table = None
        if len(keys) and int(keys[-1]) - int(keys[0]) < _DENSE_SPAN:
            # One entry per value from the smallest key to the largest, and one more past them
            # (no key) for every value outside them.
            table = np.full(int(keys[-1]) - int(keys[0]) + 2, len(keys), dtype=np.int64)
            table[keys - keys[0]] = np.arange(len(keys))
        with self._lock:
            self._dense[field] = table
        return table

    def _integer_keys(self, field: str, mapping: Mapping[str, Any], dtype: type) -> tuple[np.ndarray, np.ndarray]:
        with self._lock:
            found = self._int_keys.get(field)
        if found is None:
            pairs = []
            for key, value in mapping.items():
                try:
                    number = int(key)
                except ValueError:
                    continue
                if str(number) == key and -(2**63) <= number < 2**63:
                    pairs.append((number, value))
            have = {number for number, _ in pairs}
            # A whole number trained as a float's text ("94110.0", where "94110" is no key), as
            # look_up reads it (finlite._keys.float_text: the integer's exact text and ".0").
            for key, value in mapping.items():
                if not key.endswith(".0"):
                    continue
                try:
                    number = int(key[:-2])
                except ValueError:
                    continue
                if float_text(str(number)) == key and number not in have and -(2**63) <= number < 2**63:
                    pairs.append((number, value))
                    have.add(number)
            for number in (0, 1):  # 1/0 for a column trained on booleans, as look_up reads them
                alias = next((a for a in key_aliases(str(number), mapping) if a in mapping), None)
                if number not in have and alias is not None:
                    pairs.append((number, mapping[alias]))
            pairs.sort()
            found = (np.array([p[0] for p in pairs], dtype=np.int64), np.array([p[1] for p in pairs], dtype=dtype))
            with self._lock:
                self._int_keys[field] = found
        return found


def count_flagged(codes: np.ndarray, flags: np.ndarray) -> int:
    """Rows whose code's entry is flagged. Free when no entry is; two quick reductions when no
    code reaches one (a clean chunk: the missing value's entry maps to the unseen column in a
    field training saw no blank in, but no row of the chunk is blank); one gather over the rows
    otherwise (that gather on every chunk was 0.28 CPU-s per 10 M German rows)."""
    if not flags.any() or not len(codes):
        return 0
    low, high = int(codes.min()), int(codes.max())
    if low >= 0 and not flags[low:high + 1].any():
        return 0
    if low >= 0 and high < len(flags):  # the compiled count: no index cast, gather or mask array
        counted = _native.count_flags(codes, flags)
        if counted is not None:
            return counted
    return int(np.count_nonzero(flags[codes]))


def assemble(out: np.ndarray, plans: list[tuple[np.ndarray, np.ndarray]]) -> None:
    """Fill ``out`` (C-contiguous float32, ``(n, width)``) block by block with numpy: zeros, then
    the one-hot ones of ``plans`` (``(codes, lookup)`` per one-hot field,
    ``lookup`` holding output column numbers: 1.0 at ``out[i, lookup[codes[i]]]``, each code
    clipped into its lookup). The other columns are :meth:`ArrowRows.fill`'s.

    Every write of a block lands in the same ``_BLOCK`` rows, which stay in the core's cache
    until the block is done; field by field over the whole chunk, each write would touch a new
    cache line per row (a chunk is about 19 MB). The ones take one scatter per block for all the
    fields.
    """
    n, width = out.shape
    if n == 0:
        return
    flat = out.reshape(-1)  # a view: out is C-contiguous
    block = min(_BLOCK, n)
    k = len(plans)
    buffer = np.empty(k * block, dtype=np.int64)  # flat positions, one contiguous run per field
    starts = np.arange(block, dtype=np.int64) * width
    base = np.empty(block, dtype=np.int64)  # each row's first flat position in the current block
    for lo in range(0, n, block):
        hi = min(n, lo + block)
        m = hi - lo
        out[lo:hi].fill(0.0)
        if not k:
            continue
        index = buffer[:k * m]
        view = index.reshape(k, m)
        for j, (codes, lookup) in enumerate(plans):
            # Codes come from Arrow's dictionary indices (or the missing entry), always in range.
            np.take(lookup, codes[lo:hi], out=view[j], mode="clip")
        np.add(starts[:m], lo * width, out=base[:m])
        view += base[:m]  # one pass over the positions, not two
        flat[index] = 1.0  # one contiguous 1-D index: numpy's fast scatter path
