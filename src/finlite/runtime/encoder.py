"""Raw records to model inputs without pandas or torch: the Preprocessor's encoding, re-read
from ``preprocessor.json`` and applied with plain Python (one record) or numpy/Arrow (batches).

It encodes exactly what :meth:`finlite.data.preprocess.Preprocessor.transform` does (a test
compares them on random tables): numeric values (money and percent text read with its rule where
training recorded it) imputed with the training median, standardised, with a 0/1 missing
indicator where training had gaps; weight-of-evidence / target-encoded categories as the
training split's number for the value (the prior for rare and unseen values); one-hot
categories over the kept training values, an other bucket for the rare ones and one bucket
for unseen values.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np

from finlite._finite import F32_MAX as _F32_MAX
from finlite._finite import (
    NUMBER_SPACES,
    boolean_refusal,
    learnt_beyond_flag,
    squash,
    squash_one,
    table_value_error,
    text_advice,
    value_bounds,
    value_reason,
)
from finlite._keys import (
    CSV_MISSING,
    DATE_TYPES,
    MISSING,
    NOT_ONE_VALUE,
    category_key,
    date_column_refusal,
    is_missing_marker,
    look_up,
)
from finlite._money import MONEY, MONEY_PATTERN, PERCENT, PERCENT_PATTERN, text_value
from finlite.errors import DataError
from finlite.runtime import _arrownp, _fastenc

__all__ = ["Encoder", "FieldError", "RecordErrors"]


#: The field an error names when it concerns the whole record (:data:`EMPTY_RECORD`).
EVERY_FIELD = "(every field)"
#: Why a record (or a row) blank in every field the model reads is refused (a model of two fields
#: or more: one field's blank is that field's, which training may have learned).
EMPTY_RECORD = ("every field the model reads is blank: an empty row (a spreadsheet's trailing ',,,,' line), not an "
                "applicant; scored, it would be decided on the training medians alone. Remove it, or send its values")


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


#: What a category field may refuse beyond NOT_ONE_VALUE (:func:`_refused_category`): one isinstance
#: on the record path before a call, as a numeric code (SBA's Zip) reaches it in every record.
_REFUSABLE = (Decimal, *DATE_TYPES)


def _refused_category(value: Any, dateless: bool) -> bool:
    """Whether a record's ``value`` (not a training key as given) is refused in a category field
    besides :data:`NOT_ONE_VALUE`: a date or time where no training value reads as one (``dateless``),
    as a date-typed column is; a signalling ``Decimal("sNaN")``, which a DataFrame refuses and the
    record path keyed as the text "sNaN" (a review, 2026-12-07). Missing markers (NaT) stay blank."""
    if isinstance(value, Decimal):
        return value.is_snan()
    return dateless and isinstance(value, DATE_TYPES) and not is_missing_marker(value)


def _not_a_category(value: Any) -> str:
    """Why a record's ``value`` is refused in a category field."""
    if isinstance(value, Decimal):
        return f"expected a category (text or number), got {value!r}, a signalling NaN that is no value"
    if isinstance(value, DATE_TYPES):
        return (f"expected a category (text or number), got a date or time ({type(value).__name__}), and no "
                "training value of this field reads as one; send the value as in training")
    return f"expected a category (text or number), got {type(value).__name__}"


class Encoder:
    """The fitted encoding of one artifact, from its ``preprocessor.json`` content."""

    def __init__(self, spec: Mapping[str, Any]) -> None:
        from finlite._spec import check_preprocessor_spec  # shared with the pandas Preprocessor

        check_preprocessor_spec(spec)
        try:
            numeric = [(str(d["name"]), float(d["median"]), float(d["mean"]), float(d["std"]), bool(d["indicator"]))
                       for d in spec["numeric"]]
            spans = {str(d["name"]): (float(d["low"]), float(d["high"])) for d in spec["numeric"] if "low" in d}
            rules = {str(d["name"]): str(d["parse"]) for d in spec["numeric"]
                     if d.get("parse", "number") in (MONEY, PERCENT)}
            squashes = {str(d["name"]): (float(d["squash"]["center"]), float(d["squash"]["scale"]))
                        for d in spec["numeric"] if "squash" in d}
            # (name, encoding, kept categories, rare training values, values per category or None, default)
            categorical = [(str(d["name"]), str(d.get("encoding", "onehot")), [str(c) for c in d["categories"]],
                            [str(c) for c in d.get("other", [])],
                            # By the declared encoding (as the pandas Preprocessor reads it), not by whether
                            # a "values" key is present: a one-hot field must never be read as valued.
                            [float(v) for v in d["values"]] if d.get("encoding", "onehot") != "onehot" else None,
                            float(d.get("default", 0.0)))
                           for d in spec["categorical"]]
        except (KeyError, TypeError, ValueError) as exc:
            raise DataError(f"preprocessor.json is damaged: field {exc} is missing or malformed.") from exc
        n_num = len(numeric)
        indicator_col = n_num
        # (name, median, mean, std, indicator column or -1)
        self.numeric: list[tuple[str, float, float, float, int]] = []
        for name, median, mean, std, has_indicator in numeric:
            self.numeric.append((name, median, mean, std, indicator_col if has_indicator else -1))
            indicator_col += has_indicator
        #: Numeric fields whose numbers may be written as text, with their rule: MONEY
        #: ("$60,000.00 ") or PERCENT ("13.56%").
        self.text_rules: dict[str, str] = rules
        #: The fields of text_rules (read as text by the schema, the service and the drift counts).
        self.money: frozenset[str] = frozenset(rules)
        #: Each numeric field's training range (low, high), where preprocessor.json records one.
        self.spans: dict[str, tuple[float, float]] = spans
        # The range a value is counted outside of: one float32 step wider each way, so a training
        # value read back from a float32 column (0.1 as 0.10000000149) is no value beyond it (57
        # rows of a CSV were counted against a span from the same rows in float32: a review, 2026-12-05).
        # The step away from the range on either side (np.spacing of a negative number is negative:
        # with it, a training minimum of -1 was counted beyond the range, a review, 2026-12-05).
        self._counted_spans = {
            name: (min(lo, float(np.nextafter(np.float32(lo), np.float32(-np.inf)))),
                   max(hi, float(np.nextafter(np.float32(hi), np.float32(np.inf)))))
            for name, (lo, hi) in spans.items()}
        #: Squashed numeric fields (preprocess.Encoding.extremes) with their (centre, scale): a value
        #: is read as finlite._finite.squash of it before it is standardised.
        self.squashes: dict[str, tuple[float, float]] = squashes
        #: Each numeric field's (centre, scale) for the bounds of its raw values (value_bounds):
        #: what it standardises; a squashed field's squash centre and an infinite scale (what it
        #: standardises lies within -1..1, so no raw value overflows: only the training span bounds it).
        self.units: dict[str, tuple[float, float]] = {
            name: (squashes[name][0], math.inf) if name in squashes else (mean, std)
            for name, _, mean, std, _ in self.numeric}
        #: The raw values each numeric field accepts (value_bounds: float32, and the training range).
        self.bounds: dict[str, tuple[float, float]] = {
            name: value_bounds(*self.units[name], *spans.get(name, (None, None))) for name, *_ in self.numeric}
        # The fast path's view: each column with its centre and scale, its indicator, the range of
        # raw values it takes the fast way, the rule its text is read with (False: plain numbers),
        # its imputed cell, and its squash (centre, scale) or None. The range is the accepted one;
        # for a call that counts values beyond the training span (serve's outside), the span itself, so that
        # such a value, like a refused one, takes the rare branch. A plain column then costs what it
        # did before squashing existed (the final read measured fill at 2.7 µs, then 3.0 with the
        # squash and the counts tested per field).
        self._numeric_checked = [(name, mean, std, ind, *self.bounds[name], rules.get(name, False),
                                  (self._read(name, median) - mean) / std, squashes.get(name))
                                 for name, median, mean, std, ind in self.numeric]
        self._numeric_counting = [
            (name, mean, std, ind, max(low, span[0]), min(high, span[1]), money, cell, squashed)
            for name, mean, std, ind, low, high, money, cell, squashed in self._numeric_checked
            for span in [self._counted_spans.get(name, (low, high))]]
        # Weight-of-evidence / target-encoded fields, one column each after the indicators:
        # (name, {key: value} for every training value (rare ones: the default), default, column).
        self.valued: list[tuple[str, dict[str, float], float, int]] = []
        start = indicator_col
        for name, _, categories, other, values, default in categorical:
            if values is None:
                continue
            lookup = dict.fromkeys(other, default)
            lookup.update(zip(categories, values, strict=True))
            self.valued.append((name, lookup, default, start))
            start += 1
        # One-hot fields: (name, {key: column} (rare training values: the other column), unseen
        # column, kept categories).
        self.categorical: list[tuple[str, dict[str, int], int, list[str]]] = []
        for name, _, categories, other, values, _ in categorical:
            if values is not None:
                continue
            columns = dict.fromkeys(other, start + len(categories))
            columns.update((c, start + i) for i, c in enumerate(categories))
            width = len(categories) + bool(other) + 1
            self.categorical.append((name, columns, start + width - 1, categories))
            start += width
        self.n_features = start
        self.fields = [n[0] for n in self.numeric] + [c[0] for c in categorical]
        # Training rows blank in every field (None: a file written before they were counted).
        blank_rows = spec.get("all_blank_rows")
        self.all_blank_rows: int | None = blank_rows if isinstance(blank_rows, int) and \
            not isinstance(blank_rows, bool) else None
        #: Every field encoded as a category (one-hot or valued): batch readers dictionary-encode these.
        self.category_fields = [c[0] for c in categorical]
        #: Each category field's training keys (kept and rare values): a date-typed column is judged
        #: against them (:func:`finlite._keys.date_column_refusal`).
        self.category_keys = {c[0]: [*c[2], *c[3]] for c in categorical}
        #: The category fields none of whose training keys reads as a date or time: a date sent there
        #: is refused on the record path as a date-typed column is (a record scored it as an unseen
        #: category, a one-row DataFrame refused it: a cross-path fuzz, 2026-12-07).
        self._dateless = frozenset(name for name, keys in self.category_keys.items()
                                   if date_column_refusal(name, "date", keys, "") is not None)
        settings = spec.get("encoding")
        #: The fewest training rows of a value the file lists, where it lists no rarer one
        #: (``rare_values: unseen``): such values are unseen here too, and notes say so. None: listed.
        self.rare_unlisted: int | None = int(settings["min_category_count"]) \
            if isinstance(settings, Mapping) and settings.get("rare_values") == "unseen" else None
        self._kept_keys = {c[0]: c[2] for c in categorical}  # the values a refusal may quote
        #: Category fields that keep no value (none had rows enough): every value is unseen by design,
        #: which runs count but do not warn of as a recoded column.
        #: (An older artifact that lists the rare values under ``other`` is no such field: a value it does
        #: not list is new, and a column mostly of those is warned of as before.)
        self.keyless: frozenset[str] = frozenset(c[0] for c in categorical
                                                 if not c[2] and all(k == MISSING for k in c[3]))
        #: Refuse a blank (null, empty, NaN) in a field training never saw blank, instead of scoring
        #: it with the training median (a number) or the unseen bucket (a category): a value the
        #: model has not learned (``score`` / ``serve --no-impute``). A field training saw blank
        #: keeps its learned treatment (its missing indicator, its missing category).
        self.no_impute = False

    # -- one record: the fast path -----------------------------------------------------------
    def _read(self, name: str, value: float) -> float:
        """A numeric field's value as it is standardised: squashed where the field is."""
        squashed = self.squashes.get(name)
        return value if squashed is None else squash_one(value, *squashed)

    def encode_record(self, record: Mapping[str, Any], index: int = 0,
                      errors: list[FieldError] | None = None,
                      imputed: list[str] | None = None,
                      outside: list[str] | None = None) -> tuple[np.ndarray, list[str]]:
        """One record (a mapping of field to raw value) as a float32 vector, and the fields whose
        category was not seen in training (they take the unseen bucket, as in training).

        Missing values (None, NaN, empty text) are imputed as in training, and with ``imputed``
        given their fields are appended there; with ``outside`` given, the numeric fields whose
        value lies beyond every training value (scored as given, as batch scoring counts them)
        are appended there; an absent field, a value of the wrong type (a
        boolean for a number, too) or a number that is not finite or does not fit float32 is an
        error. With ``errors`` given, problems are appended there (every one of them) instead of
        raised.
        """
        row = np.zeros(self.n_features, dtype=np.float32)
        return row, self.fill(record, row, index, errors, imputed, outside)

    def fill(self, record: Mapping[str, Any], row: np.ndarray | memoryview, index: int = 0,
             errors: list[FieldError] | None = None, imputed: list[str] | None = None,
             outside: list[str] | None = None) -> list[str]:
        """Encode ``record`` into ``row`` (a zeroed float32 vector, or a memoryview of one) and
        return its unseen fields; a numeric field whose blank took the training median is
        appended to ``imputed`` when given, one whose value lies beyond every training value to
        ``outside`` when given.

        The single-record fast path: plain Python per field, writing straight into the buffer
        the ONNX session reads. Float arithmetic is float64, as in the pandas Preprocessor.
        """
        # Typeshed types a memoryview's items as int; a float32 ('f') view stores floats.
        cells: Any = row
        unseen: list[str] = []
        blanks = 0  # fields sent blank (numbers, then categories): all of them is an empty row
        for j, (name, mean, std, ind, low, high, money, imputed_cell, squashed) in \
                enumerate(self._numeric_checked if outside is None else self._numeric_counting):
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
                number = self._number(value, index, name, errors, money)
            if number != number:  # NaN: impute
                blanks += 1
                if ind < 0 and self.no_impute:
                    self._fail(errors, FieldError(index, name, BLANK_REFUSED, "blank_refused"))
                    continue
                cells[j] = imputed_cell
                if ind >= 0:
                    cells[ind] = 1.0
                if imputed is not None:  # a decision taken on the median: serve says so per record
                    imputed.append(name)
            elif low <= number <= high:
                cells[j] = ((number if squashed is None else squash_one(number, *squashed)) - mean) / std
            elif outside is not None and self.bounds[name][0] <= number <= self.bounds[name][1]:
                # Accepted, yet beyond every training value: said per record, as score counts it.
                outside.append(name)
                cells[j] = ((number if squashed is None else squash_one(number, *squashed)) - mean) / std
            else:
                # Fail closed: inf, 1e300, or a value whose standardised form overflows float32
                # would reach the model as infinity and score NaN, i.e. "not flagged". The bounds
                # were worked out once, so this costs one chained comparison per field.
                self._fail(errors, FieldError(index, name, value_reason(value, number, *self.units[name],
                                                                        *self.spans.get(name, (None, None))), "value"))
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
                if isinstance(value, NOT_ONE_VALUE) or (isinstance(value, _REFUSABLE)
                                                         and _refused_category(value, name in self._dateless)):
                    self._fail(errors, FieldError(index, name, _not_a_category(value), "type"))
                    continue
                key = category_key(value)
                blanks += key == MISSING  # a blank never matches a training key directly: counted here only
                col = look_up(columns, key)
                if col is None:
                    if self.no_impute and key == MISSING:  # training never saw it blank
                        self._fail(errors, FieldError(index, name, BLANK_REFUSED, "blank_refused"))
                        continue
                    col = unseen_col
                    unseen.append(name)
            cells[col] = 1.0
        for name, lookup, default, col in self.valued:
            try:
                value = record[name]
            except KeyError:
                self._fail(errors, FieldError(index, name, "field required (a category, or null when unknown)",
                                              "missing"))
                continue
            looked_up = lookup.get(value) if type(value) is str else None
            if looked_up is None:
                if isinstance(value, NOT_ONE_VALUE) or (isinstance(value, _REFUSABLE)
                                                         and _refused_category(value, name in self._dateless)):
                    self._fail(errors, FieldError(index, name, _not_a_category(value), "type"))
                    continue
                key = category_key(value)
                blanks += key == MISSING
                looked_up = look_up(lookup, key)
                if looked_up is None:
                    if self.no_impute and key == MISSING:  # training never saw it blank
                        self._fail(errors, FieldError(index, name, BLANK_REFUSED, "blank_refused"))
                        continue
                    looked_up = default
                    unseen.append(name)
            cells[col] = looked_up
        if blanks == len(self.fields) > 1 and not self.blanks_learned:  # blank in every field: an empty row
            self._fail(errors, FieldError(index, EVERY_FIELD, EMPTY_RECORD, "empty_record"))
        return unseen

    @property
    def blanks_learned(self) -> bool:
        """Whether training held rows blank in every field (``preprocessor.json``'s
        ``all_blank_rows``): a record blank in all of them is then a pattern the model learned (a
        credit bureau's no-hit applicant), not an empty line, and is scored (a review, 2026-12-06:
        such applicants of the training file were refused). A file written before that count
        falls back on each field's own blanks (every field with a missing indicator or category),
        which a model with some missingness in every column meets without any blank row."""
        cached = self.__dict__.get("_blanks_learned")
        if cached is None and isinstance(self.all_blank_rows, int):
            cached = self.__dict__["_blanks_learned"] = self.all_blank_rows > 0
        if cached is None:
            numbers = all(ind >= 0 for *_, ind in self.numeric)
            categories = all(MISSING in columns for _, columns, _, _ in self.categorical)
            valued = all(MISSING in lookup for _, lookup, _, _ in self.valued)
            cached = self.__dict__["_blanks_learned"] = numbers and categories and valued
        return bool(cached)

    @staticmethod
    def _fail(errors: list[FieldError] | None, error: FieldError) -> None:
        if errors is None:
            raise RecordErrors([error], "the record")
        errors.append(error)

    def _number(self, value: Any, index: int, name: str, errors: list[FieldError] | None,
                money: bool | str = False) -> float:
        if is_missing_marker(value):  # pandas' NA and NaT: missing, as in a DataFrame's column
            return math.nan
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
            text = value.strip(NUMBER_SPACES)
            if not text:
                return math.nan
            if money:
                number = text_value(text, money)
                if number is not None:
                    return number
            try:
                return _text_number(text)
            except ValueError:
                pass
            # "NA" from a database export: a CSV's missing cell, but in a record it is text.
            hint = " (send null for an unknown value)" if text in CSV_MISSING else ""
            self._fail(errors, FieldError(index, name, f"expected a number, got the text {value!r}{hint}", "type"))
            return math.nan
        said = repr(value) + ", a signalling NaN" if isinstance(value, Decimal) and value.is_snan() else \
            type(value).__name__
        self._fail(errors, FieldError(index, name, f"expected a number, got {said}", "type"))
        return math.nan

    def encode_records(self, records: Sequence[Mapping[str, Any]], source: str = "the records",
                       imputed: list[list[str]] | None = None,
                       outside: list[list[str]] | None = None) -> tuple[np.ndarray, list[list[str]]]:
        """Many records as a float32 matrix, and each record's unseen-category fields (with
        ``imputed`` given, each record's imputed numeric fields are appended there as a list;
        with ``outside`` given, its numeric fields beyond every training value).

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
                if imputed is not None:
                    imputed.append([])
                if outside is not None:
                    outside.append([])
                continue
            blanks: list[str] = []
            beyond: list[str] = []
            out[i], fields = self.encode_record(record, i, errors, None if imputed is None else blanks,
                                                None if outside is None else beyond)
            unseen.append(fields)
            if imputed is not None:
                imputed.append(blanks)
            if outside is not None:
                outside.append(beyond)
        if errors:
            raise RecordErrors(errors, source)
        return out, unseen

    # -- Arrow batches: the batch-scoring path --------------------------------------------------
    def encode_arrow(self, batch: Any, first_row: int = 1, source: str = "the input",
                     out: np.ndarray | None = None) -> np.ndarray:
        """A pyarrow RecordBatch or Table (with every feature column) as a float32 matrix.

        ``first_row`` is the 1-based data row number of the batch's first row, so an error
        names the row of the file. ``out``, a C-contiguous float32 ``(rows, n_features)`` buffer,
        is filled and returned instead of a new matrix (batch scoring reuses one per worker).

        Raises:
            DataError: a feature column is missing, or a numeric column holds text, a number that
                is not finite or does not fit float32, or one whose standardised value does not
                (naming the column, the file row and the value).
        """
        rows = self.prepare_arrow(batch, first_row, source)
        out = _fastenc.checked(out, rows.rows, self.n_features)
        rows.fill(out, 0, rows.rows)
        return out

    def prepare_arrow(self, batch: Any, first_row: int = 1, source: str = "the input", *,
                      row_flags: bool = False) -> _fastenc.ArrowRows:
        """The checked, column-wise part of :meth:`encode_arrow`: every value read and checked,
        every category looked up, one contiguous array per column; nothing written into the input
        matrix yet (the numbers are standardised as they are written).
        :meth:`finlite.runtime._fastenc.ArrowRows.fill` then writes any range of rows, so a caller
        can encode and score a large batch a cache-sized block at a time (batch scoring: the
        block is still in the core's cache when the model reads it).

        With ``row_flags`` the result's ``flags`` also holds, per kind ("imputed", "outside",
        "unseen", "unseen_empty"), each field's boolean mask of the rows it concerns (fields with
        none left out): what ``serve`` answers per record, for ``score --flags`` and the
        ``incomplete`` column of ``score --reasons``.

        Raises the errors of :meth:`encode_arrow`, all of them here: ``fill`` refuses nothing.
        """
        import pyarrow as pa
        import pyarrow.compute as pc

        names = set(batch.schema.names)
        if len(names) < len(batch.schema.names):
            twice = sorted({f for f in self.fields if batch.schema.names.count(f) > 1})
            if twice:  # which copy the model should read cannot be told (Arrow raised a bare KeyError)
                raise DataError(f"{source} has the column(s) {', '.join(map(repr, twice[:5]))} more than once; the "
                                "model reads each feature from one column. Rename or drop the copies.")
        missing = [f for f in self.fields if f not in names]
        if missing:
            raise DataError(f"{source} lacks {len(missing)} column(s) the model was trained on: "
                            f"{', '.join(missing)}. Every feature column of the training schema is needed "
                            "(extra columns are ignored).")
        for name in self.category_fields:
            # Lists, structs and maps are no category (the record path refuses them too); Arrow would
            # fail with its own error (no dictionary_encode kernel), not one naming the column.
            kind = batch.schema.field(name).type
            inner = kind.value_type if pa.types.is_dictionary(kind) else kind
            # Bytes too: the record path refuses them, and pandas would decode them as text. An
            # extension type (pandas' Interval, Period) has no dictionary kernel either.
            # An interval (month, day, nanoseconds) is no category either: the record path refuses it.
            if pa.types.is_nested(inner) or pa.types.is_binary(inner) or pa.types.is_large_binary(inner) \
                    or pa.types.is_fixed_size_binary(inner) or isinstance(inner, pa.ExtensionType) \
                    or getattr(pa.types, "is_binary_view", lambda _: False)(inner) \
                    or getattr(pa.types, "is_interval", lambda _: False)(inner):
                raise DataError(f"Categorical column {name!r} in {source} has type {kind}; the model needs one "
                                "category (text or a number) per row there. Flatten the column or write it as text.")
            if pa.types.is_timestamp(inner) or pa.types.is_date(inner):
                refusal = date_column_refusal(name, str(kind), self.category_keys[name], source, self._kept_keys[name])
                if refusal is not None:
                    raise DataError(refusal)
        batch = _arrownp.plain_views(batch)  # text views as plain text: some kernels below have none for them
        n = batch.num_rows
        if n and len(self.fields) > 1 and not self.blanks_learned:
            # A row blank in every field is no applicant (see EMPTY_RECORD): the fields' blanks
            # (null, NaN, empty or blank text) are ANDed one field at a time, and the look stops at
            # the first field that leaves no row blank (one field's pass for an ordinary chunk).
            everywhere: np.ndarray | None = None
            for f in self.fields:
                blank_here = _blank_mask(batch.column(f), pa, pc)
                everywhere = blank_here if everywhere is None else everywhere & blank_here
                if not everywhere.any():
                    break
            blank_rows = np.flatnonzero(everywhere) if everywhere is not None else np.zeros(0, dtype=np.int64)
            if blank_rows.size:
                more = (f" (and {blank_rows.size - 1:,} more of rows {first_row}–{first_row + n - 1})"
                        if blank_rows.size > 1 else "")
                raise DataError(f"Row {first_row + int(blank_rows[0])}{more} of {source}: {EMPTY_RECORD}.")
        # Category lookups are built once per distinct dictionary (see runtime/_fastenc.py).
        lookups = self.__dict__.get("_lookups") or self.__dict__.setdefault("_lookups", _fastenc.LookupCache())
        # Every column is read and checked first, one contiguous array each; ArrowRows.fill then
        # standardises and writes them into the input matrix block by block. Numeric field j is
        # column j (see Preprocessor).
        singles: list[tuple[int, np.ndarray, float, float]] = []
        imputed: dict[str, int] = {}
        outside: dict[str, int] = {}
        masks: dict[str, list[tuple[str, np.ndarray]]] | None = (
            {"imputed": [], "outside": [], "unseen": [], "unseen_empty": []} if row_flags else None)
        for j, (name, median, mean, std, ind) in enumerate(self.numeric):
            self._check_boolean(batch.column(name), name, source, pa)
            values = self._arrow_numbers(batch.column(name), name, first_row, source, pa, pc,
                                         self.text_rules.get(name, False), borrow=True, span=self.spans.get(name))
            if not n:
                continue
            # A NaN makes the minimum NaN: the gaps are looked for only then, not in a pass of their own.
            # int64 values (no blank) stay as Arrow holds them: no gap, and the fill converts each to
            # double as astype would; their minimum and maximum are those of the doubles (the
            # conversion keeps order).
            smallest = float(values.min())
            if np.isnan(smallest):
                gaps = np.isnan(values)
                if ind < 0 and self.no_impute:
                    _refuse_blanks(name, gaps, first_row, source)
                values = np.where(gaps, median, values)  # a new array: the borrowed one may be Arrow's
                imputed[name] = int(np.count_nonzero(gaps))  # counted, as unseen categories are
                if masks is not None and imputed[name]:
                    masks["imputed"].append((name, gaps))
                if ind >= 0:
                    singles.append((ind, gaps.astype(np.float64), 0.0, 1.0))  # 1.0 where blank
                smallest = values.min()
            # After imputation there is no NaN left, so a min and a max find inf, 1e300 and a value
            # whose standardised form overflows float32 alike; the row search runs only on failure.
            low, high = self.bounds[name]
            largest = float(values.max())
            if not (low <= smallest and largest <= high):
                raise _arrow_value_error(batch.column(name), values.astype(np.float64), name, *self.units[name], first_row,
                                         source, self.spans.get(name))
            # Accepted, yet beyond every training value (an age of -5 beside ages 18 to 90): counted,
            # and said by score (a walk-through, 2026-12-05). A pass of its own only when there is one.
            span = self._counted_spans.get(name)
            if span is not None and (smallest < span[0] or largest > span[1]):
                beyond = (values < span[0]) | (values > span[1])
                outside[name] = int(np.count_nonzero(beyond))
                if masks is not None and outside[name]:
                    masks["outside"].append((name, beyond))
            squashed = self.squashes.get(name)
            if squashed is not None:  # a pass of its own, for a squashed column only (a new array)
                values = squash(values, *squashed)
            # (v - mean) / std, in float64 and rounded to float32 as it is stored (as the record path
            # rounds its row), is computed as each block is written: no pass of its own over the chunk.
            singles.append((j, values, float(mean), float(std)))
        # per one-hot column: each row's code, and code -> output column
        looked = [_fastenc.codes_lookup_missing(lookups, name, batch.column(name), columns_of, unseen_col, np.int64,
                                                pa, pc) for name, columns_of, unseen_col, _ in self.categorical]
        plans = [(codes, lookup) for codes, lookup, _ in looked]
        unseen, empty = {}, {}
        for (name, _, unseen_col, _), (codes, lookup, blanks) in zip(self.categorical, looked, strict=True):
            flags = lookup == unseen_col
            count = _fastenc.count_flagged(codes, flags)
            if count:
                unseen[name] = count
                # Of those, the rows whose value is missing (empty, blank, NaN) where training never
                # saw the field missing: counted apart (a lost feed is not a new category).
                blank = _fastenc.count_flagged(codes, flags & blanks)
                if blank:
                    empty[name] = blank
                    if self.no_impute:
                        _refuse_blanks(name, (flags & blanks)[codes], first_row, source)
                if masks is not None:
                    masks["unseen"].append((name, flags[codes]))
                    if blank:
                        masks["unseen_empty"].append((name, (flags & blanks)[codes]))
        valued = []
        for name, numbers, default, col in self.valued:
            # Codes -> one number per distinct value (or training key), written as each block is: no
            # per-row Python, and no pass of its own. A value training never saw looks up NaN here,
            # so it is counted as unseen (as the record path reports it) and takes the prior, as
            # training encodes it.
            codes, table, blanks = _fastenc.codes_lookup_missing(lookups, name, batch.column(name), numbers, np.nan,
                                                                  np.float64, pa, pc)
            unknown = np.isnan(table)
            if unknown.any():  # free when every value of the chunk's dictionary is known
                count = _fastenc.count_flagged(codes, unknown)
                if count:
                    unseen[name] = count
                    blank = _fastenc.count_flagged(codes, unknown & blanks)  # as for a one-hot field, above
                    if blank:
                        empty[name] = blank
                        if self.no_impute:
                            _refuse_blanks(name, (unknown & blanks)[codes], first_row, source)
                    if masks is not None:
                        masks["unseen"].append((name, unknown[codes]))
                        if blank:
                            masks["unseen_empty"].append((name, (unknown & blanks)[codes]))
                table = np.where(unknown, default, table)  # a new table: the cached one stays as it is
            valued.append((codes, table, col))
        rows = _fastenc.ArrowRows(n, singles, plans, unseen, imputed, valued, empty)
        rows.outside = outside
        if masks is not None:  # unseen: one-hot fields, then valued ones, as the record path lists them
            rows.flags = masks
        return rows

    def _check_boolean(self, column: Any, name: str, source: str, pa: Any) -> None:
        """Refuse a boolean column for a numeric field the model learnt other numbers than 0..1 for
        (:func:`finlite._finite.boolean_refusal`)."""
        kind = column.type
        if pa.types.is_dictionary(kind):
            kind = kind.value_type
        refusal = boolean_refusal(name, source, self.spans.get(name)) if pa.types.is_boolean(kind) else None
        if refusal is not None:
            raise DataError(refusal)

    @staticmethod
    def _arrow_numbers(column: Any, name: str, first_row: int, source: str, pa: Any, pc: Any,
                       money: bool | str = False, *, borrow: bool = False,
                       span: tuple[float, float] | None = None, left_by_money: bool | str = False) -> np.ndarray:
        """A numeric column's values as float64 (NaN where blank; a new array, the caller's to
        change), refusing text that is no number; ``money``: the rule text is read with first
        (MONEY, PERCENT, or True for either). With ``borrow``, a float64 column and an int64
        one with no blank come back as Arrow holds them (read-only views, int64 for the latter: no
        copy and no conversion pass over the chunk). ``left_by_money``: the text left over after
        that rule, whose refusal advises the rule's form (:func:`finlite._finite.text_advice`)."""
        kind = column.type
        if pa.types.is_null(kind):  # a chunk where the column is empty in every row
            return np.full(len(column), np.nan)
        if pa.types.is_dictionary(kind):
            column = column.cast(kind.value_type) if not isinstance(column, pa.ChunkedArray) else \
                pc.cast(column, kind.value_type)
            kind = kind.value_type
        if pa.types.is_integer(kind):
            # Rounded to the nearest double, as the record path's float(v) does: Arrow's safe cast
            # would refuse an integer beyond 2**53 instead (and take three times as long).
            if isinstance(column, pa.ChunkedArray):  # one chunk (a table's slice) is read in place
                column = column.chunk(0) if column.num_chunks == 1 else column.combine_chunks()
            if column.null_count:
                return _arrownp.to_numpy(pc.cast(column, pa.float64(), safe=False))
            held = _arrownp.to_numpy(column, copy=False)
            return _read_only(held) if borrow and held.dtype == np.int64 else held.astype(np.float64)
        if pa.types.is_floating(kind) or pa.types.is_boolean(kind) or pa.types.is_decimal(kind):
            # A new array (ours to change), unless borrowed: a read-only view (of the column's own
            # buffer where it is float64 already, which may be the caller's numpy array).
            numbers: np.ndarray = _arrownp.to_numpy(pc.cast(column, pa.float64()), copy=not borrow)
            return _read_only(numbers) if borrow else numbers
        if pa.types.is_string(kind) or pa.types.is_large_string(kind):
            text = pc.utf8_trim(column, characters=NUMBER_SPACES)  # not Unicode White_Space: NEL, U+2028
            text = pc.if_else(pc.equal(text, _arrownp.scalar("", text.type)), _arrownp.null(text.type), text)
            if money:
                # The money rule, vectorised: the same pattern as the record path; the text it does
                # not read goes on to the plain-number parse below (and its error).
                amounts, matched = _arrow_money(text, pa, pc, PERCENT if money == PERCENT else MONEY)
                if money is True and not matched.all():  # either rule: percentages among the rest
                    percents, also = _arrow_money(text, pa, pc, PERCENT)
                    amounts, matched = np.where(matched, amounts, percents), matched | also
                if matched.all():
                    return amounts
                rest = Encoder._arrow_numbers(pc.if_else(_arrownp.from_numpy(matched, pa.bool_()),
                                                         _arrownp.null(text.type), text),
                                              name, first_row, source, pa, pc, left_by_money=money)
                return np.where(matched, amounts, rest)
            parsed: np.ndarray | None
            try:
                parsed = _arrownp.to_numpy(pc.cast(text, pa.float64()))
            except pa.ArrowInvalid:
                parsed = None
            # Arrow also reads "NAN" and "+nan" as NaN, where pandas (the reference) refuses the
            # text; a null (an empty cell) is NaN too, and stays missing: more NaNs than nulls
            # means NaN text (one count, no per-row mask, on the common path).
            if parsed is not None and np.count_nonzero(np.isnan(parsed)) == text.null_count:
                return parsed
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
                        f"({bad} such row{'' if bad == 1 else 's'} in rows {first_row}–{first_row + len(values) - 1}); "
                        f"{text_advice(v, left_by_money)}.{_boolean_hint(span) if v.lower() in ('true', 'false') else ''}"
                    ) from None
            raise DataError(f"Numeric column {name!r} in {source} could not be read as numbers in rows {first_row}–"
                            f"{first_row + len(values) - 1}; check its values.")
        # The fix, as the DataFrame path gives it (a walk-through, 2026-12-05: a timestamp, date,
        # duration or list column got none here).
        raise DataError(f"Numeric column {name!r} in {source} has type {kind}; the model needs plain numbers there. "
                        "Convert the column to the number it stood for in training (e.g. days as a float), or "
                        "write it as plain numbers.")


#: Why a CSV of True/False in a numeric column is refused here and how to score it. pandas, which
#: training reads a CSV with, types a column of nothing but True/False as booleans (1/0) while a
#: column mixing them with numbers or blanks is refused; a file read in chunks cannot tell which
#: the whole column is, so reading them here would accept a file training refuses (a review,
#: 2026-12-03: accepted or refused by the chunk size). Parquet keeps the boolean type.
_BOOLEAN_HINT = (" A number is needed there: write the column as 1/0 (a model trained with --numeric on a "
                 "True/False column read it as 1/0), or score a Parquet copy whose column is boolean.")


#: Why ``no_impute`` refuses a blank (a record's field error).
BLANK_REFUSED = ("blank, and training never saw this field blank: a value the model has not learned is refused "
                 "(--no-impute), not scored with the training median or the unseen category; send the value")


def _blank_mask(column: Any, pa: Any, pc: Any) -> np.ndarray:
    """Which rows of an Arrow column are blank: null, a float NaN, or text that is empty or only
    whitespace (a dictionary column's, by its dictionary); as a writable bool array. Converted by
    :mod:`finlite.runtime._arrownp` (pyarrow's own conversion imports pandas)."""
    if isinstance(column, pa.ChunkedArray):
        parts = [_blank_mask(chunk, pa, pc) for chunk in column.chunks]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=bool)
    kind = column.type
    if pa.types.is_dictionary(kind):
        words = _blank_mask(column.dictionary, pa, pc)
        indices = column.indices
        out = _arrownp.to_numpy(indices.is_null())
        if len(words):  # each row's index (a null's taken as 0: already blank by the mask above)
            codes = np.nan_to_num(_arrownp.to_numpy(pc.cast(indices, pa.float64())), nan=0.0).astype(np.int64)
            out |= words[codes]
        return out
    if pa.types.is_floating(kind):
        return _arrownp.to_numpy(pc.is_null(column, nan_is_null=True))
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        # Scalars by _arrownp: a plain Python "" or True passed to a kernel imports pandas.
        empty = pc.equal(pc.utf8_trim_whitespace(column), _arrownp.scalar("", kind))
        return _arrownp.to_numpy(pc.fill_null(empty, _arrownp.scalar(True, pa.bool_())))
    return _arrownp.to_numpy(column.is_null())


def _refuse_blanks(name: str, blank: np.ndarray, first_row: int, source: str) -> None:
    """With ``no_impute``: refuse a batch whose ``blank`` rows of field ``name`` (a boolean mask)
    hold a blank training never saw there, naming the column, the first such row and the count."""
    rows = np.flatnonzero(blank)
    if rows.size:
        # Counted in the rows read with it (a chunk of the file), not the whole file.
        more = (f" (and {rows.size - 1:,} more of rows {first_row}–{first_row + len(blank) - 1})"
                if rows.size > 1 else "")
        raise DataError(f"Column {name!r} of {source} is blank in row {first_row + int(rows[0])}{more}, and training "
                        "never saw it blank: with --no-impute a value the model has not learned is refused, not scored "
                        "with the training median or the unseen category. Fill the value, or score without "
                        "--no-impute (the run then counts such rows as imputed or unseen).")


def _boolean_hint(span: tuple[float, float] | None) -> str:
    """What to do about True/False text in a numeric column: write it as 1/0 where the model learnt
    0..1 there, or no range is recorded (:data:`_BOOLEAN_HINT`); elsewhere a boolean is no such
    number at all, and 1/0 or a boolean Parquet copy would score every count as 1 (a review,
    2026-12-05; the rule of :func:`finlite._finite.boolean_refusal`)."""
    if not learnt_beyond_flag(span):
        return _BOOLEAN_HINT
    return (f" A number is needed there: the model learnt numbers from {span[0]:g} to {span[1]:g} for this column, "
            "so true/false is not what it reads; send the numbers themselves.")


def _read_only(values: np.ndarray) -> np.ndarray:
    """A read-only view of ``values``: a borrowed column may be the caller's own array (a table
    built from numpy), which nothing here may change."""
    view = values.view()
    view.flags.writeable = False
    return view


def _arrow_money(text: Any, pa: Any, pc: Any, rule: str = MONEY) -> tuple[np.ndarray, np.ndarray]:
    """Money (``rule`` PERCENT: percentage) text (trimmed, empty as null) as float64 (NaN where
    missing or not such text), and which rows the rule read."""
    parts = pc.extract_regex(text, PERCENT_PATTERN if rule == PERCENT else MONEY_PATTERN)
    matched = parts.is_valid()
    field = {key: pc.struct_field(parts, key) for key in (("sign", "a") if rule == PERCENT else ("sign", "a", "b", "c"))}
    kind = field["a"].type  # string or large_string, as the column
    empty, dash = _arrownp.scalar("", kind), _arrownp.scalar("-", kind)
    negative = pc.equal(field["sign"], dash)
    if rule == PERCENT:
        digits = pc.replace_substring(field["a"], ",", "")
    else:
        digits = pc.replace_substring(pc.binary_join_element_wise(field["a"], field["b"], field["c"], empty), ",", "")
        negative = pc.or_(pc.or_(negative, pc.not_equal(field["b"], empty)), pc.not_equal(field["c"], empty))
    amounts = pc.cast(pc.if_else(matched, digits, _arrownp.null(kind)), pa.float64())
    amounts = pc.if_else(pc.fill_null(negative, _arrownp.scalar(False, pa.bool_())), pc.negate(amounts), amounts)
    return _arrownp.to_numpy(amounts), _arrownp.to_numpy(matched)


def _arrow_value_error(column: Any, values: np.ndarray, name: str, mean: float, std: float,
                       first_row: int, source: str, span: tuple[float, float] | None = None) -> DataError:
    """The error for a chunk's refused numbers, naming the first one's file row and raw value
    (the text as written, e.g. '1e309', when the file holds text); ``span`` is the field's
    training range, where known."""
    low, high = value_bounds(mean, std, *(span or (None, None)))
    rows = np.flatnonzero(~((values >= low) & (values <= high)))
    i = int(rows[0])
    raw = column[i].as_py() if hasattr(column[i], "as_py") else column[i]
    return table_value_error(name, source, raw, f"row {first_row + i}", int(rows.size),
                             standardised=None if abs(values[i]) > _F32_MAX else (mean, std, *(span or ())),
                             scope=f" in rows {first_row}–{first_row + len(values) - 1}", number=float(values[i]))


def _text_number(text: str) -> float:
    """``float(text)`` for the spellings Arrow and pandas parse too. Python's float() also takes
    digit separators ("1_000") and non-ASCII digits ("١٢"), which the table paths refuse as
    text: refused here as well, so every path agrees (and Arrow's failure is named, not raw).
    Text that spells NaN ("nan", "NAN", " +nan") is refused too, as pandas refuses it in a
    DataFrame: a missing value is null (None, an empty cell); in a CSV file the reader's own
    missing markers ("NA", "nan", "NaN", ...) are null before any text reaches here."""
    # float() would also skip control characters around the digits ("30\x1c"): refused, as the
    # table readers refuse them (the caller has stripped NUMBER_SPACES already).
    if "_" in text or not text.isascii() or not text.isprintable():
        raise ValueError(text)
    number = float(text)
    if number != number:
        raise ValueError(text)
    return number


def _parses(text: str) -> bool:
    try:
        _text_number(text)
    except ValueError:
        return False
    return True
