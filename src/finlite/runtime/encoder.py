"""Raw records to model inputs without pandas or torch: the Preprocessor's encoding, re-read
from ``preprocessor.json`` and applied with plain Python (one record) or numpy/Arrow (batches).

It encodes exactly what :meth:`finlite.data.preprocess.Preprocessor.transform` does (a test
compares them on random tables): numeric values imputed with the training median,
standardised, with a 0/1 missing indicator where training had gaps; categories one-hot over
the training categories plus one bucket for unseen values.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np

from finlite._finite import F32_MAX as _F32_MAX
from finlite._finite import table_value_error, value_bounds, value_reason
from finlite._keys import MISSING, category_key
from finlite.errors import DataError

__all__ = ["Encoder", "FieldError", "RecordErrors"]


@dataclass(frozen=True)
class FieldError:
    """One problem with one field of one record: where (record index, field) and why.

    ``kind`` is "missing" (the field is absent), "type" (text, a boolean, an object where a
    number belongs) or "value" (a number that is not finite or does not fit the model's float32,
    raw or standardised).
    """

    record: int
    field: str
    reason: str
    kind: str  # "missing", "type" or "value"


class RecordErrors(DataError):
    """Raised by :meth:`Encoder.encode_records` with every field problem found, not just the first."""

    def __init__(self, errors: list[FieldError], source: str) -> None:
        shown = "; ".join(f"record {e.record}, field {e.field!r}: {e.reason}" for e in errors[:5])
        more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
        super().__init__(f"{len(errors)} invalid field(s) in {source}: {shown}{more}.")
        self.errors = errors


class Encoder:
    """The fitted encoding of one artifact, from its ``preprocessor.json`` content."""

    def __init__(self, spec: Mapping[str, Any]) -> None:
        from finlite._spec import check_preprocessor_spec  # shared with the pandas Preprocessor

        check_preprocessor_spec(spec)
        try:
            numeric = [(str(d["name"]), float(d["median"]), float(d["mean"]), float(d["std"]), bool(d["indicator"]))
                       for d in spec["numeric"]]
            categorical = [(str(d["name"]), [str(c) for c in d["categories"]]) for d in spec["categorical"]]
        except (KeyError, TypeError, ValueError) as exc:
            raise DataError(f"preprocessor.json is damaged: field {exc} is missing or malformed.") from exc
        n_num = len(numeric)
        indicator_col = n_num
        # (name, median, mean, std, indicator column or -1)
        self.numeric: list[tuple[str, float, float, float, int]] = []
        for name, median, mean, std, has_indicator in numeric:
            self.numeric.append((name, median, mean, std, indicator_col if has_indicator else -1))
            indicator_col += has_indicator
        # The fast path's view: each column with the range of raw values it accepts (see value_bounds).
        self._numeric_checked = [(*num, *value_bounds(num[2], num[3])) for num in self.numeric]
        # (name, {key: column}, unseen column, categories)
        self.categorical: list[tuple[str, dict[str, int], int, list[str]]] = []
        start = indicator_col
        for name, categories in categorical:
            self.categorical.append((name, {c: start + i for i, c in enumerate(categories)}, start + len(categories),
                                     categories))
            start += len(categories) + 1
        self.n_features = start
        self.fields = [n[0] for n in self.numeric] + [c[0] for c in self.categorical]

    # -- one record: the fast path -----------------------------------------------------------
    def encode_record(self, record: Mapping[str, Any], index: int = 0,
                      errors: list[FieldError] | None = None) -> tuple[np.ndarray, list[str]]:
        """One record (a mapping of field to raw value) as a float32 vector, and the fields whose
        category was not seen in training (they take the unseen bucket, as in training).

        Missing values (None, NaN, empty text) are imputed as in training; an absent field, a
        value of the wrong type (a boolean for a number, too) or a number that is not finite or
        does not fit float32 is an error. With ``errors`` given, problems are appended there
        (every one of them) instead of raised.
        """
        row = np.zeros(self.n_features, dtype=np.float32)
        return row, self.fill(record, row, index, errors)

    def fill(self, record: Mapping[str, Any], row: np.ndarray | memoryview, index: int = 0,
             errors: list[FieldError] | None = None) -> list[str]:
        """Encode ``record`` into ``row`` (a zeroed float32 vector, or a memoryview of one) and
        return its unseen fields.

        The single-record fast path: plain Python per field, writing straight into the buffer
        the ONNX session reads. Float arithmetic is float64, as in the pandas Preprocessor.
        """
        unseen: list[str] = []
        for j, (name, median, mean, std, ind, low, high) in enumerate(self._numeric_checked):
            try:
                value = record[name]
            except KeyError:
                self._fail(errors, FieldError(index, name, "field required (a number, or null when unknown)",
                                              "missing"))
                continue
            kind = type(value)
            if kind is float or kind is int:
                try:
                    number = float(value)
                except OverflowError:  # an int beyond float64: refused below as infinite
                    number = math.inf
            elif value is None:
                number = math.nan
            else:
                number = self._number(value, index, name, errors)
            if number != number:  # NaN: impute
                row[j] = (median - mean) / std
                if ind >= 0:
                    row[ind] = 1.0
            elif low <= number <= high:
                row[j] = (number - mean) / std
            else:
                # Fail closed: inf, 1e300, or a value whose standardised form overflows float32
                # would reach the model as infinity and score NaN, i.e. "not flagged". The bounds
                # were worked out once, so this costs one chained comparison per field.
                self._fail(errors, FieldError(index, name, value_reason(value, number, mean, std), "value"))
        for name, columns, unseen_col, _ in self.categorical:
            try:
                value = record[name]
            except KeyError:
                self._fail(errors, FieldError(index, name, "field required (a category, or null when unknown)",
                                              "missing"))
                continue
            # Training categories are stripped, non-empty text, so an exact text hit is the key itself.
            col = columns.get(value) if type(value) is str else None
            if col is None:
                if isinstance(value, (dict, list, tuple, set)):
                    self._fail(errors, FieldError(index, name, "expected a category (text or number), got "
                                                                f"{type(value).__name__}", "type"))
                    continue
                col = columns.get(category_key(value))
                if col is None:
                    col = unseen_col
                    unseen.append(name)
            row[col] = 1.0
        return unseen

    @staticmethod
    def _fail(errors: list[FieldError] | None, error: FieldError) -> None:
        if errors is None:
            raise RecordErrors([error], "the record")
        errors.append(error)

    def _number(self, value: Any, index: int, name: str, errors: list[FieldError] | None) -> float:
        if isinstance(value, (bool, np.bool_)):
            # JSON true/false is not a number: scoring it as 1/0 would decide on a guess.
            self._fail(errors, FieldError(index, name, "expected a number, got a boolean (send 1 or 0 if that is "
                                                       "what it means)", "type"))
            return math.nan
        if isinstance(value, (int, float, np.integer, np.floating, Decimal)):
            # A Decimal (from a database driver) reads as the Arrow and pandas paths read it:
            # NaN is missing, Infinity and 1e400 are refused below as not finite.
            try:
                return float(value)
            except OverflowError:
                return math.inf
            except ValueError:  # Decimal("sNaN") cannot become a float
                pass
        if isinstance(value, str):
            text = value.strip()
            if not text:
                return math.nan
            try:
                return _text_number(text)
            except ValueError:
                pass
            self._fail(errors, FieldError(index, name, f"expected a number, got the text {value!r}", "type"))
            return math.nan
        self._fail(errors, FieldError(index, name, f"expected a number, got {type(value).__name__}", "type"))
        return math.nan

    def encode_records(self, records: Sequence[Mapping[str, Any]],
                       source: str = "the records") -> tuple[np.ndarray, list[list[str]]]:
        """Many records as a float32 matrix, and each record's unseen-category fields.

        Raises:
            RecordErrors: listing every missing field and wrong type across all records.
        """
        out = np.empty((len(records), self.n_features), dtype=np.float32)
        unseen: list[list[str]] = []
        errors: list[FieldError] = []
        for i, record in enumerate(records):
            if not isinstance(record, Mapping):
                errors.append(FieldError(i, "", f"expected an object of fields, got {type(record).__name__}", "type"))
                unseen.append([])
                continue
            out[i], fields = self.encode_record(record, i, errors)
            unseen.append(fields)
        if errors:
            raise RecordErrors(errors, source)
        return out, unseen

    # -- Arrow batches: the batch-scoring path --------------------------------------------------
    def encode_arrow(self, batch: Any, first_row: int = 1, source: str = "the input") -> np.ndarray:
        """A pyarrow RecordBatch or Table (with every feature column) as a float32 matrix.

        ``first_row`` is the 1-based data row number of the batch's first row, so an error
        names the row of the file.

        Raises:
            DataError: a feature column is missing, or a numeric column holds text, a number that
                is not finite or does not fit float32, or one whose standardised value does not
                (naming the column, the file row and the value).
        """
        import pyarrow as pa
        import pyarrow.compute as pc

        names = set(batch.schema.names)
        missing = [f for f in self.fields if f not in names]
        if missing:
            raise DataError(f"{source} lacks {len(missing)} column(s) the model was trained on: "
                            f"{', '.join(missing)}. Every feature column of the training schema is needed "
                            "(extra columns are ignored).")
        n = batch.num_rows
        out = np.zeros((n, self.n_features), dtype=np.float32)
        for j, (name, median, mean, std, ind) in enumerate(self.numeric):
            values = self._arrow_numbers(batch.column(name), name, first_row, source, pa, pc)
            gaps = np.isnan(values)
            if gaps.any():
                values[gaps] = median
                if ind >= 0:
                    out[:, ind] = gaps
            # After imputation there is no NaN left, so a min and a max find inf, 1e300 and a value
            # whose standardised form overflows float32 alike; the row search runs only on failure.
            low, high = value_bounds(mean, std)
            if n and not (low <= values.min() and values.max() <= high):
                raise _arrow_value_error(batch.column(name), values, name, mean, std, first_row, source)
            out[:, j] = (values - mean) / std
        flat = out.reshape(-1)
        row_starts = np.arange(n, dtype=np.int64) * self.n_features  # one-hot writes go to flat indices
        for name, columns, unseen_col, _ in self.categorical:
            column = batch.column(name)
            if isinstance(column, pa.ChunkedArray):
                column = column.combine_chunks()
            if pa.types.is_null(column.type):  # empty in every row of this chunk
                column = pa.array([None] * len(column), type=pa.string())
            if not pa.types.is_dictionary(column.type):
                column = pc.dictionary_encode(column)
            lookup = np.array([columns.get(category_key(v), unseen_col) for v in column.dictionary.to_pylist()]
                              + [columns.get(MISSING, unseen_col)], dtype=np.int64)
            codes = column.indices.fill_null(len(lookup) - 1).to_numpy(zero_copy_only=False).astype(np.int64)
            flat[row_starts + lookup[codes]] = 1.0
        return out

    @staticmethod
    def _arrow_numbers(column: Any, name: str, first_row: int, source: str, pa: Any, pc: Any) -> np.ndarray:
        kind = column.type
        if pa.types.is_null(kind):  # a chunk where the column is empty in every row
            return np.full(len(column), np.nan)
        if pa.types.is_dictionary(kind):
            column = column.cast(kind.value_type) if not isinstance(column, pa.ChunkedArray) else \
                pc.cast(column, kind.value_type)
            kind = kind.value_type
        if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_boolean(kind) \
                or pa.types.is_decimal(kind):
            return pc.cast(column, pa.float64()).to_numpy(zero_copy_only=False).astype(np.float64, copy=True)
        if pa.types.is_string(kind) or pa.types.is_large_string(kind):
            text = pc.utf8_trim_whitespace(column)
            text = pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text)
            try:
                return pc.cast(text, pa.float64()).to_numpy(zero_copy_only=False).astype(np.float64, copy=True)
            except pa.ArrowInvalid:
                values = text.to_pylist()
                for i, v in enumerate(values):
                    if v is None:
                        continue
                    try:
                        _text_number(v)
                    except ValueError:
                        bad = sum(1 for w in values if w is not None and not _parses(w))
                        raise DataError(
                            f"Numeric column {name!r} in {source} holds the text {v!r} at row {first_row + i} "
                            f"({bad} such rows in rows {first_row}–{first_row + len(values) - 1}); fix or blank "
                            "those values.") from None
                raise
        raise DataError(f"Numeric column {name!r} in {source} has type {kind}; the model needs numbers there.")


def _arrow_value_error(column: Any, values: np.ndarray, name: str, mean: float, std: float,
                       first_row: int, source: str) -> DataError:
    """The error for a chunk's refused numbers, naming the first one's file row and raw value
    (the text as written, e.g. '1e309', when the file holds text)."""
    low, high = value_bounds(mean, std)
    rows = np.flatnonzero(~((values >= low) & (values <= high)))
    i = int(rows[0])
    raw = column[i].as_py() if hasattr(column[i], "as_py") else column[i]
    return table_value_error(name, source, raw, f"row {first_row + i}", int(rows.size),
                             standardised=None if abs(values[i]) > _F32_MAX else (mean, std),
                             scope=f" in rows {first_row}–{first_row + len(values) - 1}")


def _text_number(text: str) -> float:
    """``float(text)`` for the spellings Arrow and pandas parse too. Python's float() also takes
    digit separators ("1_000") and non-ASCII digits ("١٢"), which the table paths refuse as
    text: refused here as well, so every path agrees (and Arrow's failure is named, not raw)."""
    if "_" in text or not text.isascii():
        raise ValueError(text)
    return float(text)


def _parses(text: str) -> bool:
    try:
        _text_number(text)
    except ValueError:
        return False
    return True
