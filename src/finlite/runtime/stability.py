"""Feature stability at scoring time: each field's CSI (characteristic stability index) between the
training rows and a scoring run's rows.

A scoring run's score PSI says that the population moved; a model-monitoring team then asks which
input moved (a bureau feed that started sending blanks, a new product mix, an income field now in
thousands). ``finlite export`` records, from the training split, each field's bins and their
training counts (``export.stability`` in the manifest, :func:`reference_record`); ``finlite score``
counts the same bins over a sample of its rows spread evenly over the whole file (:func:`sample`:
every row of a file of up to 131,072, else one row of each block of 2**k consecutive rows, k the
smallest that keeps them within that, at a place in the block a hash of the block's position
chooses; 78,125 rows of 10 million, the same whatever the chunks, threads or engine, and a small
part of scoring) and reports each field's CSI, warning at 0.25 or
more, as the validation report's stability section does. Spread, not the file's first rows: a
time-ordered file's first rows are its oldest, and a sample weighted to them blames the field
that orders it (a run on 50,000 time-ordered rows gave ``time`` a CSI of 2.40 and hid ``V1``'s
shift).

The bins are the report's: a number's bins at the deciles of its training values (money text read
with the money rule) with a bin for missing values; a category's bins its training values of at
least 1 % of the rows, one ``other`` bin for the rest and for values
training never saw, and one for missing values. Categories are compared as the model's encoder
compares them (:func:`finlite._keys.category_key`: 3, 3.0 and "3" are one value, surrounding
spaces do not count, "94110.0" read from a CSV is the code 94110). The CSI is ``sum((a - e) * ln(a / e))`` over the bins with shares floored at
1e-4, bins empty on both sides left out: the terms of every PSI finlite reports.

numpy and pyarrow only at scoring time (the torch-free runtime); the export side reads pandas.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from finlite._keys import CSV_MISSING, MISSING, category_keys
from finlite._limits import CATEGORY_MIN_ROWS
from finlite.errors import ArtifactError

__all__ = ["BINS", "LEVELS", "METHOD", "MIN_SHARE", "SAMPLE_ROWS", "FeatureBins", "csi_notes", "level_counts",
           "reference_record", "sample", "sample_level", "settle"]

#: The method's name as recorded (``export.stability.method``).
METHOD = "csi-deciles"
#: Quantile bins of a numeric field.
BINS = 10
#: A category holding at least this share of the training rows gets a bin of its own...
MIN_SHARE = 0.01
#: ... and at least this many rows: the bins' keys and counts are written to the manifest, and a
#: value of a few rows is a few customers' (in a small table, 1 % was one customer's IBAN; a
#: review, 2026-12-07). The same floor as preprocess.DISCLOSURE_ROWS.
MIN_ROWS = CATEGORY_MIN_ROWS
#: The most rows a run bins for its fields' CSI (see :func:`sample`).
SAMPLE_ROWS = 1 << 17
#: A row's level (:func:`_levels`), capped at ``LEVELS - 1``: the rows of level k and up are one
#: row of each block of 2**k consecutive file positions, and those of level k + 1 one of each two.
LEVELS = 40
# splitmix64's finaliser (Steele, Lea and Flood 2014), a bijection of 64-bit words whose top bit
# is one pseudo-random bit of its input: which half of a block holds the block's sampled row.
_MIX_1, _MIX_2, _GOLDEN = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB), 0x9E3779B97F4A7C15
_FLOOR = 1e-4


def _half(level: int, blocks: np.ndarray) -> np.ndarray:
    """Which half (0 or 1) of each block of 2**(level + 1) positions, given by its index
    ``blocks`` (position >> (level + 1)), holds its row of level ``level + 1`` and up: a bit of
    the block's index hashed with the level, the same on every machine and run."""
    z = blocks.astype(np.uint64) + np.uint64(((level + 1) * _GOLDEN) & 0xFFFFFFFFFFFFFFFF)
    z = (z ^ (z >> np.uint64(30))) * _MIX_1
    z = (z ^ (z >> np.uint64(27))) * _MIX_2
    z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(63)).astype(np.int64)


def _levels(positions: np.ndarray, low: int) -> np.ndarray:
    """Each position's level, all of them at least ``low``: the largest j for which, at every i
    below j, bit i of the position names the half :func:`_half` chose for its block of 2**(i + 1)."""
    levels = np.full(positions.shape, low, dtype=np.int64)
    alive = np.arange(positions.size)
    for i in range(low, LEVELS - 1):
        if not alive.size:
            break
        p = positions[alive]
        alive = alive[((p >> i) & 1) == _half(i, p >> (i + 1))]
        levels[alive] = i + 1
    return levels


def sample_level(rows: int, cap: int) -> int:
    """The smallest k for which the blocks of 2**k among file positions 0 .. ``rows`` - 1
    (ceil(rows / 2**k) of them, one sampled row each) number at most ``cap``."""
    k = 0
    while (rows + (1 << k) - 1) >> k > cap and k < LEVELS - 1:
        k += 1
    return k


def sample(first_row: int, n: int, cap: int, total: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The rows a run bins within a chunk of ``n`` rows starting at file row ``first_row``
    (1-based): their positions in the chunk, and each one's level (:data:`LEVELS`).

    A run's sample is one row of each block of 2**k consecutive file positions, k =
    :func:`sample_level` of the file's rows: at most ``cap`` rows, spread evenly over the file,
    and the same whatever the chunks, threads or engine. Which row of a block is chosen by halves,
    from the block down, a hash of each half-block's position deciding (:func:`_half`): the
    multiples of 2**k it took before sampled one kind of row alone from a feed that alternates two
    (a second source's rows every other line, in other units: a CSI of 0.35 at 100,000 rows read
    0.007 at 200,000; a data engineer's walk-through, 2026-12-07). A CSV's row count is known only
    at its end, so a chunk bins the rows of k for the rows up to its own end (k only grows as the
    file goes on; with the file's ``total`` rows known, a Parquet footer's, it is the run's k from
    the first chunk) and counts each row under its level: :func:`settle` keeps the levels from the
    run's k up, rows every chunk binned (the rows of level k + 1 are one of each two of level k).
    The price of not knowing the length: a 10-million-row CSV bins 2.7 M rows for a 1,048,576-row
    cap (625,000 kept) where a Parquet file bins the 625,000 alone."""
    start = first_row - 1
    if n <= 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    k = sample_level(max(start + n, total or 0), cap)
    blocks = np.arange(start >> k, ((start + n - 1) >> k) + 1, dtype=np.int64)
    positions = blocks << k
    prefix = blocks
    for i in range(k - 1, -1, -1):  # the block's row, half by half: prefix is position >> (i + 1)
        half = _half(i, prefix)
        positions |= half << i
        prefix = (prefix << 1) | half
    positions = positions[(positions >= start) & (positions < start + n)]
    if total is not None:  # k is the run's from the first chunk: settle keeps all of them, whatever their level
        return positions - start, np.full(positions.shape, k, dtype=np.int64)
    return positions - start, _levels(positions, k)


def level_counts(levels: np.ndarray, bins: np.ndarray, size: int) -> np.ndarray:
    """Rows per level and bin (``LEVELS`` x ``size``) of the sampled rows' ``levels`` and ``bins``."""
    flat = np.bincount(levels * size + bins, minlength=LEVELS * size)
    out: np.ndarray = flat.reshape(LEVELS, size)
    return out


def settle(counts: np.ndarray, rows: int, cap: int, total: int | None = None) -> np.ndarray:
    """A run's rows per bin from its rows per level and bin (:func:`level_counts`, summed over
    its chunks; fewer than ``LEVELS`` rows when trimmed): the levels from the run's k up, k =
    :func:`sample_level` of the ``rows`` it read (or of the file's ``total``)."""
    out: np.ndarray = np.asarray(counts, dtype=np.int64)[sample_level(max(rows, total or 0), cap):].sum(axis=0)
    return out


def csi(expected: np.ndarray, actual: np.ndarray) -> float:
    """CSI of counts per bin (training ``expected``, scored ``actual``)."""
    e, a = np.asarray(expected, dtype=np.float64), np.asarray(actual, dtype=np.float64)
    used = (e > 0) | (a > 0)
    e_share = np.maximum(e[used] / max(e.sum(), 1.0), _FLOOR)
    a_share = np.maximum(a[used] / max(a.sum(), 1.0), _FLOOR)
    return float(np.sum((a_share - e_share) * np.log(a_share / e_share)))


def reference_record(frame: Any, numeric: Sequence[str], categorical: Sequence[str],
                     money: Sequence[str] = (), source: str = "the training rows") -> dict[str, Any]:
    """Each field's bins and training counts, from the training rows ``frame`` (a DataFrame), as
    recorded in ``export.stability``."""
    import pandas as pd

    from finlite.data.preprocess import stability_edges
    from finlite.data.schema import numeric_column

    fields: list[dict[str, Any]] = []
    for name in numeric:
        values = numeric_column(frame[name], str(name), source, money=name in money)
        finite = values[np.isfinite(values)]
        # Deciles, and bins of their own for codes and far values (a rise in 96s and 98s is drift).
        inner = stability_edges(finite, BINS)
        counts = np.bincount(_numeric_bins(values, inner), minlength=inner.size + 2)
        fields.append({"field": str(name), "kind": "numeric", "edges": [float(v) for v in inner],
                       "counts": [int(c) for c in counts]})
    for name in categorical:
        codes, uniques = pd.factorize(frame[name].astype("object"), use_na_sentinel=True)
        per_value = np.bincount(codes[codes >= 0], minlength=len(uniques))
        totals: dict[str, int] = {}
        for key, count in zip(category_keys(uniques), per_value.tolist(), strict=True):
            totals[key] = totals.get(key, 0) + int(count)
        missing = int(np.count_nonzero(codes < 0)) + totals.pop(MISSING, 0)
        rows = max(len(frame), 1)
        kept = sorted(k for k, c in totals.items() if c / rows >= MIN_SHARE and c >= MIN_ROWS)  # at most 100
        chosen = set(kept)
        # A CSV missing marker that is no kept value ("NA" in a few rows) counts as missing, as a
        # scored one does (the lookup aliases it there): else the same rows moved from "other"
        # in training to "missing" when scored (the final read, 2026-12-05).
        for key in [k for k in totals if k in CSV_MISSING and k not in chosen]:
            missing += totals.pop(key)
        other = sum(c for k, c in totals.items() if k not in chosen)
        fields.append({"field": str(name), "kind": "categorical", "keys": kept,
                       "counts": [totals[k] for k in kept] + [other, missing]})
    return {"method": METHOD, "rows": len(frame), "fields": fields}


def _numeric_bins(values: np.ndarray, inner: np.ndarray) -> np.ndarray:
    """Each value's bin: right-closed deciles, then one bin for a missing (or non-finite) value."""
    finite = np.isfinite(values)
    codes = np.searchsorted(inner, np.where(finite, values, 0.0), side="left")
    out: np.ndarray = np.where(finite, codes, inner.size + 1)
    return out


class FeatureBins:
    """The recorded bins of an artifact's fields, and the counting of a run's rows into them.

    Raises:
        ArtifactError: the record is malformed (a digest-checked manifest: altered, or written by
            another finlite).
    """

    def __init__(self, record: Mapping[str, Any], fields: Sequence[str], money: Sequence[str] = (),
                 where: str = "the artifact") -> None:
        bad = ArtifactError(f"{where}: export.stability is not a list of fields with their bins and counts; "
                            "run 'finlite export' on it again.")
        if not isinstance(record, Mapping) or record.get("method") != METHOD or not isinstance(record.get("fields"),
                                                                                                 list):
            raise bad
        self.names: list[str] = []
        self.numeric: dict[str, np.ndarray] = {}
        self.keys: dict[str, dict[str, int]] = {}
        self.expected: dict[str, np.ndarray] = {}
        self.money = set(money)
        # Each category field's key -> bin, blank to its missing bin, looked up per distinct
        # dictionary as the encoder looks its categories up (runtime/_fastenc.LookupCache).
        self._bins: dict[str, dict[str, int]] = {}
        self._lookups: Any = None  # a LookupCache, made on the first count (the runtime imports it lazily)
        rows = record.get("rows")
        if not isinstance(rows, int) or isinstance(rows, bool) or rows <= 0:
            raise bad
        for entry in record["fields"]:
            try:
                name, kind = str(entry["field"]), entry["kind"]
                listed = entry["counts"]
                if not isinstance(listed, list) or not all(isinstance(c, int) and not isinstance(c, bool)
                                                           for c in listed):
                    raise TypeError("counts")
                counts = np.asarray(listed, dtype=np.int64)
                if kind == "numeric":
                    edges = np.asarray([float(v) for v in entry["edges"]], dtype=np.float64)
                    ok = np.isfinite(edges).all() and (np.diff(edges) > 0).all() and counts.size == edges.size + 2
                    self.numeric[name] = edges
                elif kind == "categorical":
                    keys = [str(k) for k in entry["keys"]]
                    ok = counts.size == len(keys) + 2 and len(set(keys)) == len(keys)
                    self.keys[name] = {k: i for i, k in enumerate(keys)}
                    self._bins[name] = {**self.keys[name], MISSING: len(keys) + 1}
                else:
                    ok = False
            except (KeyError, TypeError, ValueError):
                raise bad from None
            # Each field's bins hold every training row once (the missing bin included).
            if not ok or name not in fields or (counts < 0).any() or int(counts.sum()) != rows or name in self.expected:
                raise bad
            self.names.append(name)
            self.expected[name] = counts

    def empty(self) -> dict[str, np.ndarray]:
        """Zero counts per level and bin for every field."""
        return {name: np.zeros((LEVELS, counts.size), dtype=np.int64) for name, counts in self.expected.items()}

    def count(self, batch: Any, first_row: int, total: int | None = None) -> dict[str, np.ndarray]:
        """Counts per level and bin (:func:`level_counts`) of each field over the rows of
        ``batch`` (an Arrow table or record batch starting at file row ``first_row``; ``total``:
        the file's rows, when known) that :func:`sample` picks; :func:`settle` makes them a run's
        counts per bin. The values were read and checked by the encoder already: nothing here
        refuses a row."""
        import pyarrow as pa
        import pyarrow.compute as pc

        from finlite.runtime import _arrownp
        from finlite.runtime.encoder import Encoder

        picked, levels = sample(first_row, batch.num_rows, SAMPLE_ROWS, total)
        if not picked.size:
            return self.empty()
        # One take of the fields' columns (pa.array would import pandas: runtime/_arrownp.py).
        fields = batch.select(self.names) if hasattr(batch, "select") else pa.RecordBatch.from_arrays(
            [batch.column(n) for n in self.names], names=self.names)  # RecordBatch.select: pyarrow 14+
        fields = _arrownp.plain_views(fields)  # Arrow's take has no kernel for text views
        rows = fields.take(_arrownp.from_numpy(picked, pa.int64()))
        out: dict[str, np.ndarray] = {}
        for name in self.names:
            column = rows.column(name)
            size = self.expected[name].size
            if name in self.numeric:
                values = Encoder._arrow_numbers(column, name, first_row, "the input", pa, pc, name in self.money)
                binned = _numeric_bins(values, self.numeric[name])
            else:
                binned = self._category_bins(column, name, pa, pc)
            out[name] = level_counts(levels, binned, size)
        return out

    def _category_bins(self, column: Any, name: str, pa: Any, pc: Any) -> np.ndarray:
        """Each row's category bin (each kept value's, then ``other`` and ``missing``), keyed and
        looked up with its aliases as the encoder keys its categories (a code written "94110.0"
        is 94110; "true" and "TRUE" are True): once per distinct dictionary, in Arrow for a large
        text one (City, Bank), not per value in Python (SBA's fields took 0.6 CPU-s per 10 M rows
        that way)."""
        from finlite.runtime import _fastenc

        if self._lookups is None:
            self._lookups = _fastenc.LookupCache()
        # A nested or binary column has no dictionary kernel: the encoder refused it already, before
        # any count (prepare_arrow runs first on every chunk, locally and on Ray).
        codes, table = _fastenc.codes_and_lookup(self._lookups, name, column, self._bins[name], len(self.keys[name]),
                                                 np.int64, pa, pc)
        out: np.ndarray = table[codes]
        return out

    def csi(self, counts: Mapping[str, np.ndarray]) -> dict[str, float]:
        """Each field's CSI from a run's ``counts`` (fields with no counted row left out)."""
        return {name: csi(self.expected[name], counts[name]) for name in self.names
                if name in counts and int(np.sum(counts[name])) > 0}


def csi_notes(values: Mapping[str, float], rows: int) -> list[str]:
    """A run's notes on its fields' CSI: a warning naming the fields at 0.25 or more (the data
    shifted since training), a note for those from 0.1."""
    if not values or not rows:
        return []
    shifted = sorted(((v, n) for n, v in values.items() if v >= 0.25), reverse=True)
    moderate = sorted(((v, n) for n, v in values.items() if 0.1 <= v < 0.25), reverse=True)
    notes = []
    if moderate:
        notes.append("fields whose distribution moved since training (CSI 0.1 to 0.25): "
                     + ", ".join(f"{n} {_fmt(v)}" for v, n in moderate))
    if shifted:
        notes.append("warning: fields whose distribution shifted since training (CSI ≥ 0.25): "
                     + ", ".join(f"{n} {_fmt(v)}" for v, n in shifted)
                     + ". Check their feed (blanks, units, codes) before relying on these decisions.")
    return notes


def _fmt(value: float) -> str:
    return "inf" if not math.isfinite(value) else f"{value:.3f}"
