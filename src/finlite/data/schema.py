"""The Schema: which column is the target, which class is positive, how each column is used.

A schema is inferred from the training table and can be overridden column by column. It is
saved in the artifact's manifest and every table scored later is checked against it.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Any

import numpy as np
import pandas as pd

from finlite._finite import F32_MAX, NUMBER_SPACES, frame_row, shown, table_value_error, text_advice, value_bounds
from finlite._keys import NOT_ONE_VALUE, PLAIN_NUMBER, label_key
from finlite._money import MONEY, PERCENT, looks_like_money, percent_value, text_value
from finlite._util import closest, shell_word
from finlite.data.io import DOTS_AS_THOUSANDS, LEADING_ZEROS, ZERO_PADDED
from finlite.datasets.synth import SYNTH_TRUE_PD
from finlite.errors import DataError

__all__ = ["LEAK_MARK", "Schema", "infer_schema", "label_key", "leak_advice", "leak_notes", "looks_like_dates", "month_year_rows",
           "numeric_column", "parse_dates"]

# Target values that mean "the event a risk model predicts" (default, fraud, charge-off).
_POSITIVE_WORDS = ("bad", "default", "defaulted", "yes", "y", "true", "fraud", "chgoff",
                   "charged off", "charged-off", "1", "positive", "delinquent")
# An identifier's name: id, uuid, key; or a number of an account, a customer, a loan, a card...
# (account_number, CustomerNo, loan_nr: trained as numbers before, a file fuzz, 2026-12-07; not
# number_of_existing_credits, nor a bare "number").
_ID_WORD = r"(^|[_\s.-])(id|uuid|key)$|^(id|uuid)([_\s.-]|$)"
#: Words that name whose row it is, before a number's word (account_number, loan_nr).
_ACCOUNT_WORD = (r"(account|acct|customer|cust|client|loan|contract|policy|card|member|borrower|applicant|application|"
                 r"reference|ref|case|transaction|txn)")
_ID_NAME = re.compile(_ID_WORD + r"|(^|[_\s.-])" + _ACCOUNT_WORD + r"[_\s.-]?(number|no|nr)$", re.IGNORECASE)
#: Distinct values a number column named like an account's number needs to be taken for one (a
#: count, txn_no of 0 to 40, repeats: a review, 2026-12-07): a panel's accounts repeat per month.
_NUMBER_ID_VALUES = 100
# A month's name or its abbreviation, and nothing longer: "Octane 91" and "Novated 36" were read as
# dates when any word beginning with a month's letters was one (a review, 2026-12-05).
_MONTH = (r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?"
          r"|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)(?![a-z])\.?")
#: A month of a year ("Dec-2015", "Aug 2003", "Dec-15"): group 1 the month, group 2 the year.
_MONTH_YEAR = re.compile(rf"^({_MONTH})[-/ ]([0-9]{{4}}|[0-9]{{2}})$", re.IGNORECASE)
# Dates as text: ISO (2014-03-31), day/month numbers (03/31/2014, 31.03.14), month names
# (28-Feb-97, 28 February 1997, Feb 28, 1997), and a month of a year as LendingClub writes its
# issue and credit-line dates (Dec-2015, Aug 2003, Dec-15: read as 900 categories before,
# a walk-through, 2026-12-05).
_DATE_LIKE = re.compile(
    r"^\s*(\d{4}-\d{1,2}-\d{1,2}|\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}|\d{4}/\d{1,2}/\d{1,2}"
    rf"|\d{{1,2}}[-/ ]{_MONTH}[-/ ,]*\d{{2,4}}|{_MONTH}\s+\d{{1,2}},?\s+\d{{4}}"
    rf"|{_MONTH}[-/ ](\d{{4}}|\d{{2}})\s*$)", re.IGNORECASE)
#: Names of values recorded after a loan's or a payment's outcome (payments received, recoveries,
#: the amount charged off, a settlement of the debt, a loan's performance): as features they hand
#: the model its label. LendingClub's total_pymnt, total_rec_prncp, last_pymnt_amnt, out_prncp,
#: recoveries, collection_recovery_fee, debt_settlement_flag, settlement_status, hardship_flag and
#: last_fico_range_high; SBA's ChgOffPrinGr; Fannie Mae's and Freddie Mac's zero_balance_code,
#: net_sales_proceeds, actual_loss, foreclosure_date, current_upb. Words apart by "_", a space, "."
#: or "-", or none. Fields known at application are not matched (a review, 2026-12-05, found the
#: first list too wide): a bureau count (chargeoff_within_12_mths, collections_12_mths_ex_med, a
#: prior_recovery_count), a mortgage's settlement_date and settlement_amount (its drawdown),
#: total_payment_due, months_since_last_payment, an account's recovery_email_verified.
_S = r"[_\s.\-]?"
_POST_OUTCOME_NAME = re.compile(
    rf"recoveries|recovery{_S}(?:amount|amt|fee)|collection{_S}recovery|(?:total|last|next){_S}pymnt"
    rf"|total{_S}rec{_S}(?:prncp|int|late)|out{_S}prncp|debt{_S}settlement|settlement{_S}(?:status|percentage|term)"
    rf"|hardship{_S}(?:flag|type|reason|status|amount|start|end|length|dpd|loan|payoff|last)|chgoff"
    rf"|(?:charged?|written|write){_S}off{_S}(?:amount|amt|date|principal|prin)|last{_S}fico"
    rf"|zero{_S}balance{_S}code|net{_S}sales{_S}proceeds|actual{_S}loss|foreclosure{_S}(?:date|costs?)"
    rf"|current{_S}(?:actual{_S})?upb|current{_S}loan{_S}delinquency"
    # A loss data mart's (an LGD modeller's walk-through, 2026-12-07): set only once a loan has
    # defaulted. Not a bare lgd, ead or ccf, which a bank also estimates at application (a
    # facility's LGD estimate, a product's regulatory CCF); a realised loss blank for every good
    # loan is caught by its values (preprocess._separating_note ranks its blanks).
    rf"|default{_S}date|date{_S}of{_S}default|workout{_S}(?:stage|status|costs?|date|amount|recover)"
    rf"|(?:realis|realiz)ed{_S}(?:lgd|loss|ead|recover|ccf)", re.IGNORECASE)
#: The words every note about a column that may leak the label carries (leak_notes finds them).
LEAK_MARK = "it leaks the label into the model"
# A date whose year is written with two digits: the century has to be chosen.
_TWO_DIGIT_YEAR = re.compile(r"(?:^|[^0-9])[0-9]{1,2}[-/. ]+[A-Za-z0-9]{1,9}\.?[-/. ,]+[0-9]{2}\s*$")
# Near-unique text (names, free-text IDs): this share of distinct values among the non-missing
# rows, with at least _ID_MIN_ROWS of them, is an identifier, not a category.
_ID_DISTINCT_SHARE = 0.5
_ID_MIN_ROWS = 200
# An integer column with a different value in every row of at least this many rows is an account number.
_INT_ID_MIN_ROWS = 1000
# A mostly numeric column with at most this many distinct values and a few text values (SBA's
# ApprovalFY: years and "1976A"), each value repeated (distinct values at most 5 % of the rows),
# is a code: encoded as a category instead of refused.
_CODE_VALUES = 100
# A text column whose values are numbers this often is a numeric column with typos in it.
_MOSTLY_NUMERIC = 0.9
# A numeric column that never falls (or never rises) down the file's rows, over at least this many
# rows and with distinct values in at least _CLOCK_DISTINCT_SHARE of them, is a clock or a counter
# (ULB's Time: seconds since the first transaction): noted, as a model reading it extrapolates.
_CLOCK_MIN_ROWS = 1000
_CLOCK_DISTINCT_SHARE = 0.1
#: The words of every note about such a column.
CLOCK_MARK = "with the row order"


@dataclass(frozen=True)
class Schema:
    """How a table's columns are used.

    Attributes:
        target: the label column.
        positive: the label (canonical text, see :func:`label_key`) of the class the model
            scores, e.g. "bad" for a default model; scores are P(target == positive).
        negative: the other class's label.
        task: "binary" (the only task of this release).
        numeric: feature columns used as numbers.
        categorical: feature columns encoded as categories (one-hot within a budget, or weight of
            evidence / target encoding for high-cardinality columns; see the Preprocessor).
        money: the numeric columns written as money text ("$60,000.00 ", "(1,234.50)"), read
            with the money parse rule (:mod:`finlite._money`) in training and scoring alike.
        percent: the numeric columns written as percentages ("13.56%", read as 13.56) with the
            percent parse rule, likewise (written in :meth:`to_dict` only when there is one).
        drop: columns ignored as features (IDs, dates, leakage).
        date_column: the column an out-of-time split orders by, if any.
    """

    target: str
    positive: str
    negative: str
    numeric: tuple[str, ...] = ()
    categorical: tuple[str, ...] = ()
    drop: tuple[str, ...] = ()
    date_column: str | None = None
    task: str = "binary"
    money: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=(), compare=False)
    percent: tuple[str, ...] = ()

    @property
    def features(self) -> tuple[str, ...]:
        """Feature columns in model order: numeric first, then categorical."""
        return self.numeric + self.categorical

    def number_rule(self, column: str) -> str | bool:
        """The text rule ``column``'s numbers are read with: MONEY, PERCENT, or False (plain
        numbers); the ``money`` argument of :func:`numeric_column`."""
        return MONEY if column in self.money else PERCENT if column in self.percent else False

    @property
    def text_numbers(self) -> tuple[str, ...]:
        """The numeric columns whose numbers are written as text under a rule (money, percent)."""
        return self.money + self.percent

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (lists instead of tuples); ``percent`` only when it names a column, so
        that a schema without one is written as earlier versions wrote it."""
        out = asdict(self)
        for key in ("numeric", "categorical", "drop", "notes", "money", "percent"):
            out[key] = list(out[key])
        if not out["percent"]:
            del out["percent"]
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Schema:
        """Inverse of :meth:`to_dict`."""
        try:
            return cls(
                target=str(data["target"]),
                positive=str(data["positive"]),
                negative=str(data["negative"]),
                numeric=tuple(data.get("numeric", ())),
                categorical=tuple(data.get("categorical", ())),
                drop=tuple(data.get("drop", ())),
                date_column=data.get("date_column"),
                task=str(data.get("task", "binary")),
                notes=tuple(data.get("notes", ())),
                money=tuple(data.get("money", ())),
                percent=tuple(data.get("percent", ())),
            )
        except KeyError as exc:
            raise DataError(f"Schema is missing the field {exc.args[0]!r}.") from exc

    def labels(self, frame: pd.DataFrame, source: str) -> np.ndarray:
        """The target as 0/1 (1 = positive class); rows with a missing target are an error."""
        if self.target not in frame.columns:
            raise DataError(
                f"Target column {self.target!r} is missing from {source}.{closest(self.target, map(str, frame.columns))} "
                f"Available columns: {', '.join(map(str, frame.columns))}."
            )
        column = frame[self.target]
        missing = column.isna().to_numpy()
        if missing.any():
            row = int(np.flatnonzero(missing)[0])
            raise DataError(
                f"Target column {self.target!r} in {source} is empty in {int(missing.sum())} rows "
                f"(first: row {row + 1}); remove unlabelled rows before training or evaluating."
            )
        keys = _label_keys(column)
        unknown = ~keys.isin([self.positive, self.negative])
        if unknown.any():
            row = int(np.flatnonzero(unknown.to_numpy())[0])
            raise DataError(
                f"Target column {self.target!r} in {source} holds {keys.iloc[row]!r} at row {row + 1}, but the "
                f"schema's classes are {self.positive!r} (positive) and {self.negative!r} (negative); "
                "map the target to these two values."
            )
        return (keys == self.positive).to_numpy(dtype=np.float32)

    def check_columns(self, frame: pd.DataFrame, source: str) -> None:
        """Raise a DataError when ``frame`` lacks any feature column of this schema, or has one twice."""
        if frame.columns.nlevels > 1:  # a MultiIndex: ('a', 'b') names no field (as the Predictor says)
            raise DataError(f"The columns of {source} have {frame.columns.nlevels} levels; give one name per column "
                            "(e.g. frame.columns = ['_'.join(map(str, c)) for c in frame.columns]).")
        names = list(map(str, frame.columns))
        present = set(names)
        missing = [c for c in self.features if c not in present]
        # A label that is no text (the int 5 for the column '5') reads the same when printed, but
        # not when the column is looked up: name it rather than fail on the lookup.
        labelled = {str(c): c for c in frame.columns if not isinstance(c, str)}
        other_type = [c for c in self.features if c in labelled and c not in frame.columns] if labelled else []
        if other_type:
            label = labelled[other_type[0]]
            raise DataError(f"{source} labels the column {other_type[0]!r} with the {type(label).__name__} {label!r}; "
                            "the model reads it by its text name. Relabel the columns as text (df.columns = "
                            "df.columns.astype(str)).")
        if missing:
            hints = "".join(closest(c, present) for c in missing[:3])
            raise DataError(
                f"{source} lacks {len(missing)} column(s) the model was trained on: {', '.join(missing)}.{hints} "
                "Score data must have every feature column of the training schema (extra columns are ignored)."
            )
        if len(present) < len(names):
            twice = [c for c in self.features if names.count(c) > 1]
            if twice:  # which of the two would be read is not something to guess
                raise DataError(f"{source} has {len(twice)} feature column name(s) more than once: "
                                f"{', '.join(map(repr, twice))}. Each column the model reads must appear once; "
                                "rename or drop the extra column.")




def factorize_cells(series: pd.Series, column: str, source: str, *,
                    numeric: bool = False) -> tuple[np.ndarray, Any]:
    """``pd.factorize(series, use_na_sentinel=True)``, with a DataError naming the first cell that
    is not one value (a list, a dict, an array, bytes) instead of pandas' ``TypeError`` or a
    silent reading; with ``numeric``, a boolean among other values is refused too (the record
    path refuses it: scoring it as 1/0 would decide on a guess; a typed boolean column is 0/1).
    The type check runs over the distinct values only."""
    # A complex number among numbers would lose its imaginary part in the float cast (a silent
    # reading of 5+1e6j as 5); the record path and typed complex columns refuse it too.
    # A Fraction is read by no record path ("expected a number, got Fraction"); a frame read its text,
    # 7882 but not 15763/2 (a cross-path fuzz, 2026-12-07): refused alike, as a type.
    refused = NOT_ONE_VALUE + ((bool, np.bool_, complex, np.complexfloating, Fraction) if numeric else ())
    if isinstance(series.dtype, pd.ArrowDtype):
        # Arrow-backed cells are typed by the column: lists, structs and bytes are refused as the
        # object cells of those kinds are (pandas would hash bytes as text, and fail on a list).
        import pyarrow as pa

        kind = series.dtype.pyarrow_dtype
        if pa.types.is_nested(kind) or pa.types.is_binary(kind) or pa.types.is_large_binary(kind) \
                or pa.types.is_fixed_size_binary(kind):
            what = "nested values" if pa.types.is_nested(kind) else "bytes"
            raise DataError(f"Column {column!r} in {source} holds {what} (Arrow type {kind}); the model needs one "
                            f"number or category per cell. Write the column as plain values, or remove it.")
        if pa.types.is_decimal(kind) and kind.bit_width < 128:
            # decimal32 and decimal64 have no hash kernel in Arrow; decimal128 holds them exactly.
            series = series.astype(pd.ArrowDtype(pa.decimal128(kind.precision, kind.scale)))
    if isinstance(series.dtype, pd.CategoricalDtype) and series.cat.categories.dtype == object \
            and any(isinstance(v, refused) for v in series.cat.categories):
        # A pandas category column of bytes or tuples: its codes hid the cells, and bytes were read
        # as their text (a cross-path fuzz, 2026-12-07). Checked cell by cell, as an object column.
        series = series.astype(object)
    try:
        codes, uniques = pd.factorize(series, use_na_sentinel=True)
        if series.dtype != object or not any(isinstance(v, refused) for v in uniques):
            if (series.dtype == object and any(isinstance(v, (bool, np.bool_)) for v in uniques)
                    and pd.api.types.infer_dtype(series, skipna=True) != "boolean"):
                return _factorize_booleans_apart(series)  # booleans among other values: keep 1 apart
            return codes, uniques
    except TypeError:  # an unhashable cell: found below
        pass
    for row, value in enumerate(series.to_numpy(dtype=object)):
        if isinstance(value, refused):
            what = ("the boolean " + str(bool(value)) if isinstance(value, (bool, np.bool_))
                    else f"{type(value).__name__} {shown(value)}")
            need = ("category (text or a number)" if not numeric else "number (send 1 or 0 if that is what it means)"
                    if isinstance(value, (bool, np.bool_)) else "number as an int, a float or a Decimal"
                    if isinstance(value, Fraction) else "real number")
            raise DataError(f"Column {column!r} in {source} holds {what} at {frame_row(series.index, row)}; the model "
                            f"needs one {need} per cell. Write the column as plain values, or remove it.")
        if isinstance(value, Decimal) and value.is_snan():  # no comparison, no hash: named (a cross-path fuzz)
            raise DataError(f"Column {column!r} in {source} holds {value!r} at {frame_row(series.index, row)}, a "
                            "signalling NaN that is no number; send a number, or null for an unknown value.")
    raise DataError(f"Column {column!r} in {source} holds a value that is not one number or category; "
                    "write the column as plain values.")


#: Stand-ins for the booleans while a mixed column is factorized (no cell holds these strings).
_TRUE, _FALSE = "\x00finlite:True", "\x00finlite:False"


def _factorize_booleans_apart(series: pd.Series) -> tuple[np.ndarray, Any]:
    """``pd.factorize`` of an object column holding booleans beside numbers, with True and 1
    (False and 0) kept apart: pandas hashes them as one value, so a category column coded 1 to 4
    read a True as code 1 (or 1 as True), where every other encoder tells them apart."""
    values = series.to_numpy(dtype=object).copy()
    for i, value in enumerate(values):
        if isinstance(value, (bool, np.bool_)):
            values[i] = _TRUE if value else _FALSE
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    back = {_TRUE: True, _FALSE: False}
    return codes, np.array([back.get(u, u) if isinstance(u, str) else u for u in uniques], dtype=object)


def numeric_column(series: pd.Series, column: str, source: str,
                   standardise: tuple[float, ...] | None = None, *, money: bool | str = False,
                   fix: str = "") -> np.ndarray:
    """A column as float64 (NaN where a value is missing), with a DataError naming the first row
    that holds text, or a number that is not finite or does not fit float32 (``inf``, ``1e300``,
    the text ``"1e309"``): such a value would reach the model as infinity and its score as NaN.

    With ``standardise`` = (mean, scale) a value whose standardised form does not fit float32 is
    refused too, and with (mean, scale, training low, training high) a value far outside the
    training range as well (the bounds of :func:`finlite._finite.value_bounds`, shared with the
    runtime encoder). Typed boolean columns become 0/1, as training always did. With ``money`` text is
    read with a parse rule first (:mod:`finlite._money`): MONEY ("$60,000.00 " is 60000), PERCENT
    ("13.56%" is 13.56), or True for either (readers of a column the model has read already).
    ``fix`` is added to the advice on text ("fix or blank those values"): only schema inference
    can offer to read the column as a category; a trained model or a booster reads a number.
    """
    if getattr(series.dtype, "kind", "") in ("M", "m", "c"):
        # pandas would read dates and durations as nanoseconds and drop an imaginary part: a number
        # in the wrong unit would be scored. The Arrow path refuses these types too.
        raise DataError(f"Numeric column {column!r} in {source} has type {series.dtype}; the model needs plain numbers "
                        "there. Convert the column to the number it stood for in training (e.g. days as a float).")
    if pd.api.types.is_bool_dtype(series) or pd.api.types.is_numeric_dtype(series):
        values = series.to_numpy(dtype="float64", na_value=np.nan)
    else:
        # Text is parsed once per distinct value (a loan book's 900,000 rows hold far fewer amounts).
        codes, uniques = factorize_cells(series, column, source, numeric=True)
        # Trimmed of NUMBER_SPACES as the record and Arrow paths trim it: pandas alone refused
        # "84\xa0" (a no-break space from a spreadsheet) that the other paths read.
        distinct = pd.Series([v.strip(NUMBER_SPACES) if isinstance(v, str) else v for v in uniques], dtype=object)
        if money:
            distinct = _money_numbers(distinct, money)
        texts, parsed = _to_numeric(distinct)
        bad_text = (parsed.isna() & distinct.notna() & (texts.astype("string").str.strip(NUMBER_SPACES) != "")).to_numpy()
        take = np.where(codes < 0, len(distinct), codes)  # missing: one slot past the distinct values
        bad = np.append(bad_text, False)[take]
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise DataError(
                f"Numeric column {column!r} in {source} holds the text {shown(series.iloc[row])} at "
                f"{frame_row(series.index, row)} ({int(bad.sum())} such row{'' if int(bad.sum()) == 1 else 's'}); "
                f"{text_advice(series.iloc[row], money)}{fix}."
            )
        values = np.append(parsed.to_numpy(dtype="float64", na_value=np.nan), np.nan)[take]
    low, high = (-F32_MAX, F32_MAX) if standardise is None else value_bounds(*standardise)
    refused = (values < low) | (values > high)  # a missing value (NaN) compares false and stays missing
    if refused.any():
        rows = np.flatnonzero(refused)
        row = int(rows[0])
        raise table_value_error(column, source, series.iloc[row], frame_row(series.index, row), int(rows.size),
                                standardised=standardise if abs(values[row]) <= F32_MAX else None,
                                number=float(values[row]))
    return values


def _label_keys(column: pd.Series) -> pd.Series:
    """:func:`label_key` of every value, worked out once per distinct value."""
    codes, uniques = pd.factorize(column, use_na_sentinel=True)
    table = np.array([label_key(v) for v in uniques] + [None], dtype=object)
    return pd.Series(table[codes], index=column.index, dtype=object)


@functools.lru_cache(maxsize=1 << 18)
def _cached_money(text: str, rule: str | bool = MONEY) -> float | None:
    # Schema inference, fitting and each split's transform read the same amounts again. Trimmed
    # of NUMBER_SPACES as every path trims (str.strip also took NEL and U+2028, which the record
    # and Arrow paths refuse: a review, 2026-12-05).
    return text_value(text.strip(NUMBER_SPACES), rule)


def _money_numbers(series: pd.Series, rule: str | bool = MONEY) -> pd.Series:
    """``series`` (as objects) with its money (or percent: ``rule``) text replaced by the numbers
    it writes; other values unchanged (plain numbers are parsed next, anything else is refused as
    text, naming the row). Parsed once per distinct value: a loan book repeats its amounts."""
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    converted = []
    for value in uniques:
        number = _cached_money(value, rule) if isinstance(value, str) else None
        converted.append(value if number is None else number)
    table = np.empty(len(converted) + 1, dtype=object)
    table[:-1] = converted
    table[-1] = None  # code -1: missing
    return pd.Series(table[codes], index=series.index, dtype=object)


def _to_numeric(series: pd.Series) -> tuple[pd.Series, pd.Series]:
    """``pd.to_numeric(series, errors="coerce")`` and the series it parsed. pandas raises
    OverflowError on a Python int beyond float64 (``10**400`` in an object column), so such ints
    are read as ±inf instead, and refused as not finite like the text ``"1e309"``."""
    try:
        return series, pd.to_numeric(series, errors="coerce")
    except OverflowError:
        series = series.map(_int_as_float, na_action="ignore")
        return series, pd.to_numeric(series, errors="coerce")


def _int_as_float(value: Any) -> Any:
    if isinstance(value, int):
        try:
            return float(value)
        except OverflowError:
            return np.inf if value > 0 else -np.inf
    return value


def _pick_positive(keys: Sequence[str], counts: dict[str, int], target: str = "target",
                   source: str = "the data") -> tuple[str, str]:
    if set(keys) == {"1", "2"}:
        # German credit's own coding is 1 = good, 2 = bad; "1" by name made the model flag the 70 %
        # of good loans (a data engineer's walk-through, 2026-12-06). Nothing tells which it is.
        raise DataError(f"Target column {target!r} of {source} holds the codes 1 and 2 ({counts['1']:,} and "
                        f"{counts['2']:,} rows): finlite cannot tell which is the outcome to flag (German credit's "
                        "own coding is 1 = good, 2 = bad). Pass --positive 2 (or --positive 1).", param="positive")
    lowered = {k.lower(): k for k in keys}
    for word in _POSITIVE_WORDS:
        if word in lowered:
            return lowered[word], f"positive class {lowered[word]!r} recognised by name"
    minority = min(keys, key=lambda k: (counts[k], k))
    return minority, f"positive class {minority!r} is the minority class; override with --positive (positive= from Python)"


#: Words of a column's name that say it holds dates (application_date, ApprovalDt, snapshot_month,
#: as_of_yyyymm): :func:`_numeric_date_note` reads its numbers as dates only then.
_DATE_WORDS = frozenset({"date", "dt", "month", "yyyymm", "yyyymmdd"})
#: Excel's day numbers of 1950-01-01 and 2099-12-31 (day 0 is 1899-12-30).
_EXCEL_DAYS = (18_264, 73_050)
#: Words of an amount's name: a number named so is no date, whatever date word it holds.
_AMOUNT_WORDS = frozenset({"amount", "amt", "balance", "bal", "principal", "paid", "payment", "turnover", "sum",
                           "total", "value", "count", "cnt", "loss", "fee", "fees", "income", "limit", "exposure"})
#: Values a column needs before its numbers are taken for dates (a handful could be anything).
_DATE_MIN_VALUES = 20


def compact_dates(values: Sequence[Any]) -> pd.Series | None:
    """``values`` as dates where every one is a month or a day written as digits alone (202301,
    "202301", 20230131: a loan book's snapshot month; years 1900 to 2100), None otherwise: how a
    period column's names (:mod:`finlite.evaluate.periods`) and a number column named like a date
    (:func:`_numeric_date_note`) are read as dates."""
    texts = [str(int(n)) if isinstance(n, (int, float, np.number)) and not isinstance(n, bool)
             and float(n).is_integer() else str(n).strip() for n in values]
    for width, form in ((6, "%Y%m"), (8, "%Y%m%d")):
        if all(len(t) == width and t.isdigit() for t in texts):
            dates = pd.to_datetime(pd.Series(texts), format=form, errors="coerce")
            ok = dates.notna().all() and (dates.dt.year >= 1900).all() and (dates.dt.year <= 2100).all()
            return dates if ok else None
    return None


def _numeric_date_note(name: str, series: pd.Series) -> str | None:
    """The note of a number column named like a date whose every value reads as one, or None.

    A spreadsheet's day numbers (42647 is 2016-10-05), year-months (201503) and year-month-days
    (20150331) in a column named like a date were trained as numbers without a word: a trend in the
    calendar, which a later period extrapolates, where the same dates written as text are dropped
    as dates (a file fuzz, 2026-12-07). Day numbers are taken only in a column whose name ends in
    a date word (not a month; not an amount "to date", nor a name with a quantity word), from 1950
    to 30 years ahead; digits only where every one is a valid month or day of 1900 to 2100."""
    from finlite._protected import _ordered_words

    ordered = _ordered_words(str(name))
    if not set(ordered) & _DATE_WORDS or pd.api.types.is_bool_dtype(series):
        return None
    values = pd.to_numeric(series, errors="coerce").dropna().to_numpy(dtype=np.float64)
    if len(values) < _DATE_MIN_VALUES or len(np.unique(values)) < 2 or not np.isfinite(values).all():
        return None
    example = values[0]
    keep = (f"pass --numeric {shell_word(name)} to use it as a number; for an out-of-time split, write it as "
            "dates ({how}) and name it with --date-column")
    digits = compact_dates(np.unique(values).tolist()) if bool((values == np.round(values)).all()) else None
    if digits is not None:  # year-months (201503) or year-month-days (20150331), as a period column's names
        days = example >= 19_000_101
        shown_as = pd.Timestamp(str(int(example)) + ("" if days else "01")).strftime("%Y-%m-%d" if days else "%Y-%m")
        return (f"column {name!r} dropped as a date: its numbers read as {'years, months and days' if days else 'years and months'} "
                f"({example:.0f} is {shown_as}); "
                + keep.format(how=f"pd.to_datetime(column.astype(str), format='%Y%m{'%d' if days else ''}')"))
    # The date is the name's head ("application_date", "BookedDt"), no amount "to date", no
    # quantity: loan_amount_at_booking_date and principal_paid_to_date of 19,000 to 70,000 were
    # dropped as dates, and dt_turnover, a debit turnover (a review, 2026-12-07).
    dated = ordered[-1] in ("date", "dt") and (len(ordered) < 2 or ordered[-2] != "to") \
        and not set(ordered) & _AMOUNT_WORDS
    horizon = (pd.Timestamp.now() + pd.DateOffset(years=30) - pd.Timestamp("1899-12-30")).days
    if dated and _EXCEL_DAYS[0] <= values.min() and values.max() <= min(_EXCEL_DAYS[1], horizon):
        day = pd.Timestamp("1899-12-30") + pd.Timedelta(days=float(example))
        return (f"column {name!r} dropped as a date: its numbers read as a spreadsheet's day numbers ({example:g} is "
                f"{day:%Y-%m-%d} in Excel's count); " + keep.format(how="pd.to_datetime(column, unit='D', "
                                                                    "origin='1899-12-30')"))
    return None


#: An account's, a customer's or a loan's number or id written in camelCase, read with a space
#: where the case turns ("PrimaryCustomerNo", "CustomerID"): only with an account's word before
#: it, since "RegionId", "StateID" or "hasKey" so read are codes and flags, not identifiers (a
#: review, 2026-12-07).
_CAMEL_ACCOUNT = re.compile(r"(^|\s)" + _ACCOUNT_WORD + r"\s?(number|no|nr|id|uuid)$", re.IGNORECASE)


def identifier_name(name: str) -> bool:
    """Whether ``name`` is named like an identifier (``id``, ``customer_id``, ``key``, ``uuid``,
    ``PrimaryCustomerNo``, ``CustomerID``)."""
    return _ID_NAME.search(name) is not None or \
        _CAMEL_ACCOUNT.search(re.sub(r"([a-z])([A-Z])", r"\1 \2", name)) is not None


def _id_reason(name: str, series: pd.Series) -> str | None:
    """Why ``series`` is an identifier (a note), or None when it is not one."""
    if pd.api.types.is_bool_dtype(series):
        return None  # true/false is a flag, whatever its name ("has_key")
    if identifier_name(name):
        number = pd.api.types.is_numeric_dtype(series)
        if number and not re.search(_ID_WORD, name, re.IGNORECASE) \
                and series.nunique() < min(_NUMBER_ID_VALUES, max(len(series) // 2, 2)):
            return None  # card_no of 1 to 5: a count, not an account's number
        keep = "--numeric" if number else "--categorical"
        return f"column {name!r} dropped as an identifier (named like one); pass {keep} {shell_word(name)} to use it"
    if pd.api.types.is_integer_dtype(series) and not pd.api.types.is_bool_dtype(series):
        n = len(series)
        # Whole numbers, a different one in every row of a large table: a loan or account number
        # (SBA's LoanNr_ChkDgt). Amounts repeat long before 1,000 rows.
        if n >= _INT_ID_MIN_ROWS and series.nunique() == n:
            return (f"column {name!r} dropped as an identifier (a different whole number in each of its {n:,} rows); "
                    f"pass --numeric {shell_word(name)} to use it as a number")
        return None
    is_text = not pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)
    counts = series.value_counts(dropna=True) if is_text else None
    if not is_text or _money_share(series, counts)[0] >= _MOSTLY_NUMERIC or \
            _money_share(series, counts, PERCENT)[0] >= _MOSTLY_NUMERIC:
        return None  # numbers (money, percentages) written as text: amounts may well differ in every row
    n = len(series)
    if n >= 20 and series.notna().all() and series.nunique() == n:
        return f"column {name!r} dropped as an identifier (a distinct value in every row)"
    present = int(series.notna().sum())
    if present >= _ID_MIN_ROWS:
        distinct = int(series.nunique())
        if distinct >= _ID_DISTINCT_SHARE * present:
            # Names and free-text IDs: a value seen once carries no pattern a model can learn,
            # and encoding it would only memorise the training rows.
            return (f"column {name!r} dropped as an identifier: {distinct:,} distinct values in {present:,} rows "
                    f"({distinct / present:.0%}); pass --categorical {shell_word(name)} to encode it anyway")
    return None


#: Amounts as a European or an accounting export writes them, each shape unambiguous (codes,
#: versions, IP addresses, phone numbers and postcodes match none: a review, 2026-12-06): a
#: currency other than "$" ("€1,169.00", "1.169,00 EUR"); SAP's trailing minus ("1169-",
#: "1.169,00-"); a percentage with a decimal comma ("12,4 %"); a decimal comma with two decimals
#: ("1169,00", "1.169,00"); a comma before four digits or more ("4,1250"), or after a lone zero
#: before two or more ("0,875"), which no thousands separator writes (a comma before one digit,
#: "2,5", is also a multi-select code's "1,2", and counts only beside a value of another form:
#: :func:`_foreign_amount`); thousands grouped by dots before a decimal comma ("1.169,5"); or by
#: spaces or apostrophes, in groups of three ("1 169", "1'169.50").
#: The currencies named: symbols (the lira, rupee, full-width yen and others were read as text
#: and a column of them dropped as an identifier: an international walk-through, 2026-12-07) and
#: the ISO codes read before that, in any case. "$" is read as money (finlite._money).
_CURRENCY = r"(?:[€£¥￥₹₺₩₽₪₱₫฿₴₦₨₵₸₼₾]|EUR|GBP|CHF|USD|JPY)"
#: Further ISO codes, upper case and a space from the number only ("INR 1,169.00", "1.169,00 CAD"):
#: as written beside a number without a space or in lower case they are codes ("CAD1", "AED01",
#: "try 1": a review, 2026-12-07). Common words (PHP, TRY, RUB) are left out.
_CODES = r"(?-i:INR|CNY|RMB|KRW|HKD|SGD|AUD|CAD|NZD|SEK|NOK|DKK|PLN|CZK|HUF|ZAR|BRL|MXN|AED|SAR|ILS|UAH|NGN|VND|THB|DM)"
#: Group separators people write: apostrophe, space, no-break space, narrow no-break and thin space.
_GROUPS = "' \u00a0\u202f\u2009"
_FOREIGN_AMOUNT = re.compile(
    r"^[-+]?\s*(?:" + _CURRENCY + r"\s*[-+]?\s*[0-9][0-9.," + _GROUPS + r"]*|[0-9][0-9.," + _GROUPS + r"]*\s*"
    + _CURRENCY + r")\s*-?$"
    r"|^[-+]?\s*(?:" + _CODES + r"\s+[-+]?[0-9][0-9.," + _GROUPS + r"]*|[0-9][0-9.," + _GROUPS + r"]*\s+" + _CODES
    + r")\s*-?$"
    r"|^[-+]?\$[\s\u00a0\u202f\u2009]+[0-9][0-9.,]*$"  # a dollar sign and a space
    # "$" after the number ("1,169$"), and amounts abbreviated after "$" ("$1.2K", "$3.5M"): a column
    # of them was dropped as an identifier, or encoded as 900 categories, with no word of amounts
    # (a file fuzz, 2026-12-07). Only after "$": "36M" may be months, and "10k"/"20k" an income
    # band or a mileage, which stay categories (a review, 2026-12-07).
    r"|^[-+]?[0-9][0-9.,]*\s*\$$"
    r"|^[-+]?\$\s*[0-9][0-9.,]*\s?(?:k|m|mm|mn|bn)$"
    r"|^[0-9][0-9.,]*[0-9]-$"
    r"|^-?[0-9]+(?:,[0-9]+)?\s?%$"
    r"|^-?(?:[0-9]{1,3}(?:\.[0-9]{3})+|[0-9]+),[0-9]{2}$"
    r"|^-?[0-9]+,[0-9]{4,}$|^-?0,[0-9]{2,}$"
    r"|^-?[0-9]{1,3}(?:\.[0-9]{3})+,[0-9]+$"
    r"|^-?[0-9]{1,3}(?:[" + _GROUPS + r"][0-9]{3})+(?:[.,][0-9]+)?$", re.IGNORECASE)
_ONE_DECIMAL_COMMA = re.compile(r"^-?[0-9]+,[0-9]$")
#: A comma before two digits or more ("3,75", "2,875"): beside "3,5", a decimal comma.
_COMMA_BEFORE_DIGITS = re.compile(r"^-?[0-9]+,[0-9]{2,}$")
#: Share of a text column's distinct values that must be numbers (plain, or such amounts) before
#: it is refused as amounts in a form finlite does not read (the rest may be junk such as "n/a").
_FOREIGN_SHARE = 0.9


def _foreign_amount(series: pd.Series) -> str | None:
    """A value of a text column of amounts in a form no rule of finlite reads
    (:data:`_FOREIGN_AMOUNT`), or None: a German export's "1.169,00" was dropped as an identifier
    with "pass --categorical" as the advice, and "12,4 %" became a category without a word (a data
    engineer's walk-through, 2026-12-06). Looks at the column's distinct values only (2,000 at most)."""
    if not (series.dtype == object or pd.api.types.is_string_dtype(series)):
        return None
    texts = [str(v).strip() for v in pd.unique(series.dropna())[:2000] if isinstance(v, str)]
    if not texts:
        return None
    foreign = [t for t in texts if _FOREIGN_AMOUNT.match(t)
               and _plain_number(t) is None and text_value(t.strip(NUMBER_SPACES), True) is None]
    if not foreign and any(_ONE_DECIMAL_COMMA.fullmatch(t) for t in texts) \
            and any(_COMMA_BEFORE_DIGITS.fullmatch(t) for t in texts):
        # "3,5" beside "2,875": no thousands separator stands before one digit, so the comma is a
        # decimal one in both (such a rate became a category without a word: a review, 2026-12-07).
        # Alone, "1,2" may be a multi-select code, and is left to the categories' note.
        foreign = [t for t in texts if _ONE_DECIMAL_COMMA.fullmatch(t)]
    if not foreign:
        return None
    # A comma before one digit ("2,5") is a number beside such amounts (a rate written "2,5" beside
    # "3,75" became a category without a word: a European modeller's walk-through, 2026-12-07),
    # though alone it may be a multi-select code ("1,2").
    numbers = len(foreign) + sum(1 for t in texts if _plain_number(t) is not None
                                 or text_value(t.strip(NUMBER_SPACES), True) is not None
                                 or _ONE_DECIMAL_COMMA.fullmatch(t) is not None)
    return foreign[0] if numbers >= _FOREIGN_SHARE * len(texts) else None


#: A value with one comma before exactly three digits and nothing else: 2,875 thousands-grouped, or
#: 2.875 with a decimal comma.
_ONE_COMMA_GROUP = re.compile(r"^-?[0-9]{1,3},[0-9]{3}$")


def _ambiguous_commas(values: pd.Series) -> str | None:
    """A value of a text column every one of whose values is of :data:`_ONE_COMMA_GROUP` ("2,875",
    "5,500"), or None. Read as money, "5,500" is 5500; with a decimal comma it is 5.5, and
    nothing in the column tells which: an interest rate written "2,875" … "5,500" trained as 2875 …
    5500 with only a note, and scoring the plain 5.5 changed 248 of 1,000 decisions with exit 0
    (a European modeller's walk-through, 2026-12-07). Any value with another form (no comma,
    two groups, "$", a decimal point) settles the reading, and the column is read as before; so
    does naming the column numeric (``--numeric``: thousands, as a US export writes "12,000").
    Every distinct value is looked at."""
    texts = pd.Series(pd.unique(values.dropna()), dtype="string").str.strip()
    texts = texts[texts.ne("")]
    if len(texts) and bool(texts.str.fullmatch(_ONE_COMMA_GROUP.pattern).all()):
        return str(texts.iloc[0])
    return None


def _ambiguous_refusal(name: str, example: str, source: str) -> DataError:
    whole, part = example.lstrip("-").split(",")
    return DataError(f"Column {name!r} in {source} writes every value with one comma before three digits (such as "
                     f"{example!r}), which reads as {whole}{part} with ',' between thousands, or as {whole}.{part} with "
                     "a decimal comma, and no value says which. If the commas separate thousands (a US export's "
                     f"amounts), pass --numeric {shell_word(name)}; if they are decimal commas, write the column with "
                     "'.' as the decimal point (" + whole + "." + part + "); if it is a code, pass "
                     f"--categorical {shell_word(name)}.", param="numeric")


def _dots_refusal(name: str, example: str, source: str) -> DataError:
    """The refusal of a number column written with a dot every three digits beside values below a
    thousand without one (``1.169`` and ``870``): a European export's thousands. It was read as
    1.169 with only a note, and the model learned amounts a thousand times too small for every
    amount of a thousand or more (a European modeller's walk-through, 2026-12-07)."""
    read = float(example.replace('.', '', example.count('.') - 1))
    return DataError(f"Column {name!r} in {source} is written with a dot every three digits (such as {example!r}) "
                     "beside whole numbers below a thousand without one: a European export's thousands separator "
                     f"({example.replace('.', '')}), or decimals written to three places ({read:g}), and no value "
                     "says which. If the dots are decimal points (a rate such as 4.125 beside 5), pass --numeric "
                     f"{shell_word(name)} to read them as written; if they separate thousands, write the column "
                     f"without them ({example.replace('.', '')}).", param="numeric")


def _foreign_refusal(found: Sequence[tuple[str, str]], source: str) -> DataError:
    """The refusal of every column :func:`_foreign_amount` found, at once (one run names them all)."""
    listed = "; ".join(f"{name!r} (such as {value!r})" for name, value in found)
    first = found[0][0]
    return DataError(f"{source} holds amounts written in a form finlite does not read, in column(s) {listed}: a "
                     "decimal comma, a currency sign other than '$', '$' after the number, a space after '$' or "
                     "between groups, an amount abbreviated (K, M, bn), or a trailing minus. finlite reads '.' as the decimal mark, ',' between groups of three digits and "
                     "'$' (written before the number, no space) as the only currency sign: export "
                     "those columns in that form (a spreadsheet's number format with '.' as the decimal separator). "
                     f"If one is a code rather than an amount, pass --categorical {shell_word(first)}; if it is not needed, "
                     f"--drop {shell_word(first)}.", param="categorical")


def looks_like_dates(series: pd.Series) -> bool:
    """Whether a column holds dates: typed so, or text whose values (200 spread over it) all
    read as dates of a form :func:`parse_dates` reads."""
    if pd.api.types.is_datetime64_any_dtype(series):
        return True
    if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
        return False
    present = series.dropna()
    # Spread over the column (a file sorted by date starts with one format), 200 values at most.
    sample = present.iloc[:: max(1, len(present) // 200)].astype("string").head(200)
    return len(sample) > 0 and bool(sample.str.match(_DATE_LIKE).all())


def parse_dates(raw: pd.Series, column: str, source: str) -> pd.Series:
    """A column of dates (typed, or text such as "2014-03-31", "03/31/2014", "28-Feb-97") as
    datetimes; missing or unreadable values are NaT.

    A two-digit year is put in the century that keeps the date from being after today: "28-Feb-62"
    is 1962 (a loan book running 1962-2014), where Python's ``%y`` and dateutil would read 2062.
    Each distinct text is parsed once (a loan book repeats its dates).
    """
    if pd.api.types.is_datetime64_any_dtype(raw):
        return raw
    codes, uniques = pd.factorize(raw.astype("string").str.strip(), use_na_sentinel=True)
    texts = pd.Series(np.asarray(uniques, dtype=object), dtype="string")
    # A time of day's UTC offset ("2015-01-01T00:00:00+05:00", "...Z") is dropped: the date and
    # time as written are the loan's, whatever the zone (as for price files). Kept, it made the
    # column zone-aware (which no comparison below takes) or, with mixed offsets, unreadable.
    texts = texts.str.replace(_UTC_OFFSET, r"\1", regex=True)
    parsed = pd.to_datetime(texts, errors="coerce", format="mixed")
    _one_slash_order(texts, parsed, column, source)
    month_year = _month_of_year(texts, parsed)
    two_digit = texts.str.contains(_TWO_DIGIT_YEAR, na=False).to_numpy() | month_year
    future = (parsed > pd.Timestamp.now()).to_numpy() & two_digit
    if future.any():
        parsed = parsed.where(~future, parsed - pd.DateOffset(years=100))
    values = np.append(parsed.to_numpy(dtype="datetime64[ns]"), np.datetime64("NaT", "ns"))
    return pd.Series(values[codes], index=raw.index, name=column)


#: A numeric target of more distinct values than this is read as a continuous outcome (an LGD,
#: an amount), not as classes to map to two (a loan status coded 1 to 9 is not).
_CONTINUOUS_VALUES = 20
#: How to map a target of more outcomes than two: mapping loans still current or late to the
#: good class, as the bare advice read, labels loans with no outcome yet as repaid (a walk-through,
#: 2026-12-05).
_UNFINISHED = (", after leaving out the rows whose outcome is not known yet (loans still current or late, not yet "
               "paid or charged off: they are not good loans) and mapping each value to the outcome it means "
               "(LendingClub's 'Does not meet the credit policy. Status:Charged Off' is a charge-off)")


def month_year_rows(raw: pd.Series) -> np.ndarray:
    """Which cells of a date column are a month of a year with a two-digit year as text
    ("Dec-15"), which finlite before 2026-12-05 read as the year 1 ("Dec-2015" it read right)."""
    if pd.api.types.is_datetime64_any_dtype(raw):
        return np.zeros(len(raw), dtype=bool)
    parts = raw.astype("string").str.strip().str.extract(_MONTH_YEAR)
    return (parts[1].str.len() == 2).fillna(False).to_numpy(dtype=bool)


def _month_of_year(texts: pd.Series, parsed: pd.Series) -> np.ndarray:
    """Read a month of a year ("Dec-2015", "Aug 2003", "Dec-15") as the first day of that month
    (``parsed`` is changed in place); which rows have a two-digit year (their century is chosen
    as for other dates). pandas read "Dec-15" as 15 December of the year 1, overflowed, and
    returned 1755 without an error: an out-of-time split then ordered LendingClub's loans by
    month (a review, 2026-12-05)."""
    parts = texts.str.extract(_MONTH_YEAR)
    digits = parts[1].str.len().fillna(0).to_numpy()
    for width, year in ((4, "%Y"), (2, "%y")):  # each year width read in one format
        rows = digits == width
        if rows.any():
            parsed[rows] = pd.to_datetime("01 " + parts[0][rows].str[:3].str.lower() + " " + parts[1][rows],
                                          errors="coerce", format=f"%d %b {year}")
    short: np.ndarray = digits == 2
    return short


#: A date of numbers only: day and month (in either order), then the year, separated alike by
#: "/", "." or "-" ("02/28/1997", "28.02.1997", "28-02-1997").
_NUMERIC_DATE = r"^(\d{1,2})([./-])(\d{1,2})\2(\d{4}|\d{2})$"
#: The order assumed when no date of a column tells (every first and second field at most 12):
#: day first for dots (the German "28.02.1997"; nobody writes month.day.year), month first for
#: slashes and dashes (pandas' default: the US forms; a US vintage "11-01-2021" is November).
_DAY_FIRST_BY_DEFAULT = {"/": False, ".": True, "-": False}
#: A time of day followed by a UTC offset or "Z": group 1 is the time without it.
_UTC_OFFSET = r"(\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)\s*(?:Z|[+-]\d{2}(?::?\d{2})?)$"


def _one_slash_order(texts: pd.Series, parsed: pd.Series, column: str, source: str) -> None:
    """Read every numeric date of a column (``parsed`` is changed in place) in one order per
    separator ("/", "." or "-").

    pandas' mixed parsing reads each value on its own: "13/01/2020" day first (no month 13) but
    "02/01/2020" month first, so a day/month/year column came out half right and an out-of-time
    split put later loans in training. The same held for German "12.09.2021" (read as 9 December)
    beside "13.09.2021" (a data engineer's walk-through, 2026-12-06). One order per separator: day
    first when some first field is above 12, month first when some second field is, else
    :data:`_DAY_FIRST_BY_DEFAULT`; both shown is refused.
    """
    parts = texts.str.extract(_NUMERIC_DATE)
    for sep, rows_sep, first, second in _numeric_date_fields(parts):
        if (first > 12).any() and (second > 12).any():
            day = texts[rows_sep][(first > 12).to_numpy()].iloc[0]
            month = texts[rows_sep][(second > 12).to_numpy()].iloc[0]
            raise DataError(f"Date column {column!r} of {source} mixes day{sep}month{sep}year ({day!r}) and "
                            f"month{sep}day{sep}year ({month!r}); write every date as YYYY-MM-DD.")
        day_first = bool((first > 12).any()) or (not (second > 12).any() and _DAY_FIRST_BY_DEFAULT[sep])
        order = f"%d{sep}%m{sep}" if day_first else f"%m{sep}%d{sep}"
        for digits, year in ((4, "%Y"), (2, "%y")):
            rows = rows_sep & (parts[3].str.len() == digits).fillna(False).to_numpy()
            if rows.any():
                parsed[rows] = pd.to_datetime(texts[rows], errors="coerce", format=order + year)


def _numeric_date_fields(parts: pd.DataFrame) -> Iterator[tuple[str, np.ndarray, pd.Series, pd.Series]]:
    """Per separator of a column's numeric dates (``parts``: :data:`_NUMERIC_DATE` extracted), its
    rows and their first and second fields as numbers, separators in sorted order."""
    numeric = parts[0].notna().to_numpy()
    for sep in sorted(set(parts[1][numeric])):
        rows = numeric & (parts[1] == sep).fillna(False).to_numpy()
        yield sep, rows, parts[0][rows].astype(int), parts[2][rows].astype(int)


def date_order_note(raw: pd.Series, column: str) -> str | None:
    """A note when a date column's numeric dates ("03/04/2019") never say whether the day or the
    month comes first (every first and second field at most 12, some differing), so the order was
    assumed (:data:`_DAY_FIRST_BY_DEFAULT`): month first for "/" and "-", the US forms, which is
    the wrong one in most of Europe, and the out-of-time split then ordered the loans otherwise
    without a word (a European modeller's walk-through, 2026-12-07). None when the values settle it."""
    if pd.api.types.is_datetime64_any_dtype(raw):
        return None
    import calendar

    texts = pd.Series(pd.unique(raw.dropna().astype("string").str.strip()), dtype="string")
    for sep, rows, first, second in _numeric_date_fields(texts.str.extract(_NUMERIC_DATE)):
        differ = (first != second).to_numpy()
        # Dots are day first, as nobody writes month.day.year: nothing was assumed.
        if sep == "." or (first > 12).any() or (second > 12).any() or not differ.any():
            continue
        at = int(np.flatnonzero(differ)[0])
        day_first = _DAY_FIRST_BY_DEFAULT[sep]
        a, b = int(first.iloc[at]), int(second.iloc[at])
        day, month = (a, b) if day_first else (b, a)
        return (f"date column {column!r}: no date written with {sep!r} has a day above 12, so whether the day or the "
                f"month comes first could not be told from the values; read {'day' if day_first else 'month'} first "
                f"({str(texts[rows].iloc[at])!r} as {day} {calendar.month_name[month]}). If that is wrong, write the "
                "dates as YYYY-MM-DD.")
    return None


def _require_columns(frame: pd.DataFrame, names: Iterable[str], what: str, source: str,
                     param: str | None = None) -> None:
    present = list(map(str, frame.columns))
    for name in names:
        parts = [p.strip() for p in name.split(",")]
        if name not in present and len(parts) > 1 and all(p in present for p in parts):
            # "--drop a,b": the option is repeated, not comma-separated (--protected takes commas):
            # "Did you mean 'b'?" misled (a walk-through, 2026-12-06).
            flag = f"--{param.replace('_', '-')}" if param else what
            raise DataError(f"Column {name!r} named as {what} is not in {source}: it names the columns "
                            f"{', '.join(map(repr, parts))}, each of which is. Repeat the option once per column "
                            f"({' '.join(f'{flag} {p}' for p in parts)}).", param=param)
        if name not in present:
            raise DataError(
                f"Column {name!r} named as {what} is not in {source}.{closest(name, present)} "
                f"Available columns: {', '.join(present)}.", param=param
            )


def _column_list(value: Any, param: str) -> list[str]:
    """A list of column names, refusing one name given as text: ``drop="telephone"`` was read as
    the columns 't', 'e', 'l', ... (a review of the Python API, 2026-12-05)."""
    if value is None:
        return []
    if isinstance(value, (str, bytes)):
        raise DataError(f"The {param!r} parameter takes a list of column names; got the text {value!r}. Write "
                        f"{param}=[{value!r}].", param=param)
    try:
        names = list(value)
    except TypeError:
        raise DataError(f"The {param!r} parameter takes a list of column names; got {type(value).__name__} "
                        f"{shown(value, 60)}.", param=param) from None
    odd = next((n for n in names if not isinstance(n, str)), None)
    if odd is not None:  # the frame's columns are read as text: a number names no column
        raise DataError(f"The {param!r} parameter takes column names as text; got {type(odd).__name__} "
                        f"{shown(odd, 60)}. Write the column's name as text.", param=param)
    return names


#: Characters that print as nothing, which ``str.strip`` keeps: a byte-order mark, zero-width spaces and joiners.
_ZERO_WIDTH = "\ufeff\u200b\u200c\u200d\u2060"


def _plain_name(name: Any) -> str:
    """A column name as a reader would take it: in Unicode's composed form (an accented letter
    written in two code points looks the same), without surrounding white space or zero-width
    characters, in lower case. Not case-folded or NFKC-normalised: "Maße" is not "masse"."""
    text = unicodedata.normalize("NFC", str(name))
    while text != (trimmed := text.strip().strip(_ZERO_WIDTH)):
        text = trimmed
    return text.lower()


def _refuse_feature_twins(features: Sequence[str], named: Collection[str], source: str) -> None:
    """Refuse feature columns whose names differ only by surrounding spaces, letter case or Unicode
    form (composed "É" and "E" + a combining accent): a reader of the report, the card and the
    adverse-action reasons takes them for one column, so a reason could not be traced to its
    column (an international walk-through, 2026-12-07). Columns the caller named as features
    are kept."""
    seen: dict[str, str] = {}
    for name in features:
        key = _plain_name(name)
        if key in seen and not (name in named and seen[key] in named):
            raise DataError(f"Columns {seen[key]!r}{_invisible(seen[key])} and {name!r}{_invisible(name)} of {source} "
                            "have one name but for surrounding spaces, letter case or Unicode form: a reader of the "
                            "report, the model card and the reasons would take them for one column. Rename one, drop "
                            f"it (--drop {shell_word(name)}), or name both as features (--categorical or --numeric) "
                            "to keep both.", param="drop")
        seen.setdefault(key, name)


#: Distinct values of a categorical column looked at for values written in two Unicode forms.
_FORMS_LOOKED_AT = 100_000


def _unicode_forms_note(column: pd.Series, name: str) -> str | None:
    """A note when a categorical column holds one value written in two Unicode forms (composed
    "é" and "e" + a combining accent, as macOS and Windows tools write it): two categories that
    print alike, each learned from half the rows (an international walk-through, 2026-12-07: a
    macOS export appended to a Windows one)."""
    if not (column.dtype == object or pd.api.types.is_string_dtype(column)):
        return None
    values = [v for v in pd.unique(column.dropna())[:_FORMS_LOOKED_AT] if isinstance(v, str)]
    present = set(values)
    by_form: dict[str, str] = {}
    for value in values:
        if value.isascii():
            continue
        composed = unicodedata.normalize("NFC", value)
        other = by_form.get(composed) or (composed if composed != value and composed in present else None)
        if other is not None and other != value:
            return (f"column {name!r} holds values written in two Unicode forms (such as {other!r} and {value!r}): they "
                    "are separate categories that print alike, each learned from its own rows. Write the file's text "
                    "in one form (NFC: unicodedata.normalize('NFC', text)) before training")
        by_form.setdefault(composed, value)
    return None


def _invisible(name: str) -> str:
    """What a terminal does not show of a column name: its white space other than plain spaces,
    and characters that do not print, by code point ("" when there is none)."""
    hidden = dict.fromkeys(c for c in name if (c.isspace() and c != " ") or not c.isprintable() or c in _ZERO_WIDTH)
    if not hidden:
        return ""
    named = ", ".join(f"U+{ord(c):04X} {unicodedata.name(c, 'an unnamed character')}" for c in hidden)
    return f" (its name holds {named}, which a command line does not show: rename the column in the file)"


def infer_schema(
    frame: pd.DataFrame,
    target: str,
    *,
    positive: Any = None,
    numeric: Sequence[str] | None = None,
    categorical: Sequence[str] | None = None,
    drop: Sequence[str] | None = None,
    date_column: str | None = None,
    source: str = "the data",
    written: Mapping[str, tuple[str, str]] | None = None,
    group_column: str | None = None,
) -> Schema:
    """Infer a :class:`Schema` from a training table; any part can be overridden.

    Rules: a column with one value in every row (and none missing) is dropped: nothing can be
    learned from it, and another value when scoring would have an effect training never set; a
    column named like an ID (``id``, ``customer_id``), a text column with a distinct
    value in every row, or near-unique text (distinct values in half the rows or more, from 200
    rows; names) is dropped as an ID; a column of dates (typed, or text such as "2014-03-31",
    "03/31/2014", "28-Feb-97") is dropped (and used for an out-of-time split only when named as
    ``date_column``); the split's ``group_column`` (an account number) is no input either; numbers are numeric, and so is money written as text ("$60,000.00 ",
    "(1,234.50)"; listed in ``Schema.money``); a mostly numeric column with a few text values is
    categorical when it has at most 100 distinct values (a code such as a year with "1976A") and
    refused otherwise; text, booleans and anything else are categorical. Every such choice is
    recorded in the schema's notes. Columns listed in ``numeric``/``categorical``/``drop``
    are taken as given. A number column written with leading zeros (``022``; text, or a CSV's
    column ``written`` says so, as read_csv drops the zeros) gets a note that it holds codes; one
    ``written`` says has dots as thousands (``1.169`` beside ``870``) is refused unless named in
    ``numeric``, and so is a text column every value of which is one comma before three digits
    (``2,875``: thousands or a decimal comma).

    Raises:
        DataError: the target is missing, has one class, more than two classes, or lacks the
            declared positive class; a feature column is entirely missing; a mostly numeric
            text column holds a few non-numbers.
    """
    if not isinstance(target, str):
        raise DataError(f"target must name the label column as text; got {target!r} ({type(target).__name__}).",
                        param="target")
    columns = [str(c) for c in frame.columns]
    frame = frame.set_axis(columns, axis=1)
    if target not in columns:
        first = [str(v).strip() for v in frame.iloc[0].tolist()] if len(frame) else []
        names = [v for v in first if v and PLAIN_NUMBER.fullmatch(v) is None]
        if target in first and len(first) >= 3 and len(set(names)) >= 0.8 * len(first):
            # UCI's credit-card file has a row of labels (X1 ... X23, Y) above its header: the header
            # was read as the first row, and the target was said to be missing (a walk-through,
            # 2026-12-05). Only when that row reads as names (distinct text, no numbers): a value
            # such as "default" in a status column is no header (a review, 2026-12-05).
            raise DataError(f"Target column {target!r} is in the first row of {source}, whose values read as column "
                            f"names ({', '.join(first[:4])}, ...), not in its header ({', '.join(columns[:4])}"
                            f"{', ...' if len(columns) > 4 else ''}): a title or a row of labels seems to sit above the "
                            "column names. Remove it, so the column names are the first line.", param="target")
        raise DataError(
            f"Target column {target!r} is not in {source}.{closest(target, columns)} "
            f"Available columns: {', '.join(columns)}. Pass the label column as target='COLUMN'.", param="target"
        )
    user_numeric, user_categorical = _column_list(numeric, "numeric"), _column_list(categorical, "categorical")
    user_drop = _column_list(drop, "drop")
    _require_columns(frame, user_numeric, "numeric", source, "numeric")
    _require_columns(frame, user_categorical, "categorical", source, "categorical")
    _require_columns(frame, user_drop, "a column to drop", source, "drop")
    if date_column is not None:
        _require_columns(frame, [date_column], "the date column", source, "date_column")
    if group_column is not None:
        _require_columns(frame, [group_column], "the group column", source, "group_column")
        if group_column == target:
            raise DataError(f"Column {target!r} is the target and is also the group column; name the column that "
                            "says whose row it is (an account or customer number).", param="group_column")
        for role, names in (("numeric", user_numeric), ("categorical", user_categorical)):
            if group_column in names:
                # An account number read as an input lets the model learn each account's outcome.
                raise DataError(f"Column {group_column!r} is the group column and is also named in {role}; the split "
                                f"keeps its rows together and it is no input. Remove it from {role}.", param=role)
    # A column named for two roles, or the target named as a feature, was settled silently (the
    # target ignored, numeric over categorical, drop over both): refused, naming both options.
    roles = {"numeric": user_numeric, "categorical": user_categorical, "drop": user_drop}
    for role, names in roles.items():
        if target in names:
            raise DataError(f"Column {target!r} is the target and is also named in {role}; the target is never a "
                            f"feature. Remove it from {role}.", param=role)
    for a, b in (("numeric", "categorical"), ("numeric", "drop"), ("categorical", "drop")):
        both = sorted(set(roles[a]) & set(roles[b]))
        if both:
            raise DataError(f"Column(s) {', '.join(map(repr, both))} named in both {a} and {b}; name each column "
                            "for one role.", param=b)

    # A copy of the label under its name with other spaces or case ("creditability ",
    # "Creditability", a no-break space: a spreadsheet's export) was trained on as a feature: a
    # test AUC of 0.999 and no word (a review, 2026-12-05).
    # A column named as a feature (numeric, categorical) is the caller's choice, as is an old
    # artifact's schema that reproduce trains again.
    named = {*user_drop, *user_numeric, *user_categorical}
    twins = [c for c in columns if c != target and c not in named and _plain_name(c) == _plain_name(target)]
    if twins:
        raise DataError(f"Column {twins[0]!r} in {source} has the target's name {target!r} but for surrounding "
                        "spaces or letter case; as a feature it would hand the model its label (or it is a second "
                        f"label column). Drop it (drop=[{twins[0]!r}]) or rename it{_invisible(twins[0])}.",
                        param="drop")
    labelled = frame[target].dropna()
    if labelled.empty:
        raise DataError(f"Target column {target!r} in {source} is empty in every row; it needs labels.")
    keys = _label_keys(labelled)
    counts = {str(key): int(n) for key, n in keys.value_counts().items()}  # the keys are text already
    classes = sorted(counts)
    if len(classes) < 2:
        raise DataError(
            f"Target column {target!r} in {source} has a single class ({classes[0]!r} in all {len(keys)} "
            "labelled rows); a classifier needs examples of both outcomes."
        )
    notes: list[str] = []
    if positive is not None:
        pos = label_key(positive)
        if pos not in counts:
            raise DataError(
                f"Positive class {positive!r} does not occur in target column {target!r} of {source}; "
                f"its values are {', '.join(map(repr, classes[:10]))}. Pass one of them as positive=VALUE.",
                param="positive"
            )
        if len(classes) > 2:
            others = [c for c in classes if c != pos]
            raise DataError(
                f"Target column {target!r} in {source} has {len(classes)} classes; with positive class "
                f"{pos!r} the other values ({', '.join(map(repr, others[:10]))}) must be one class. "
                f"Map them to a single negative label first{_UNFINISHED}.", param="target"
            )
    else:
        if len(classes) > 2:
            number = pd.to_numeric(labelled, errors="coerce")
            if len(classes) > _CONTINUOUS_VALUES and bool(number.notna().all()):
                # An LGD, an EAD or an amount: binarising it is no advice (an LGD modeller's
                # walk-through, 2026-12-07, was told to map it to two classes).
                values = np.sort(number.unique())
                raise DataError(
                    f"Target column {target!r} in {source} holds {len(classes):,} distinct numbers, from "
                    f"{values[0]:g} to {values[-1]:g} ({', '.join(f'{v:g}' for v in values[:5])}, …): a continuous "
                    "outcome (a loss given default, an exposure, an amount). finlite trains binary classifiers of a "
                    "table (a PD, a fraud flag); regression of a table (LGD, EAD) is not supported yet. For a PD "
                    f"model, name the 0/1 default flag as the target; or check that target={target!r} is the label "
                    "column.", param="target")
            raise DataError(
                f"Target column {target!r} in {source} has {len(classes)} distinct values "
                f"({', '.join(map(repr, classes[:10]))}); finlite trains binary classifiers. Map the target "
                f"to two classes{_UNFINISHED}, or check that target={target!r} is the label column.", param="target"
            )
        pos, how = _pick_positive(classes, counts, target, source)
        notes.append(how)
    negative = next(c for c in classes if c != pos)
    if frame[target].isna().any():
        notes.append(f"{int(frame[target].isna().sum())} rows without a label are left out")

    # Every cell of a text or Arrow-typed column must be one value (a list or a dict below the
    # first row reached pandas' hashing as a raw TypeError): named here, with its row.
    for name in (target, *columns):
        if name not in user_drop and (frame[name].dtype == object or isinstance(frame[name].dtype, pd.ArrowDtype)):
            factorize_cells(frame[name], name, source)
    dropped = list(user_drop)
    money_cols: list[str] = []
    percent_cols: list[str] = []
    num_cols: list[str] = []
    cat_cols: list[str] = []
    foreign: list[tuple[str, str]] = []  # text amounts in a form finlite does not read: refused at once
    for name in columns:
        if name in (target, date_column, group_column) or name in user_drop:
            continue
        series = frame[name]
        if getattr(series.dtype, "kind", "") == "m" or isinstance(series.dtype, pd.PeriodDtype):
            # A duration's text ("360 days", or "360 days 00:00:00" from an Arrow-backed column)
            # became a category of its own; a period likewise. Neither is read: say how to.
            what, how = (("durations (timedelta)", f"a number (e.g. df[{name!r}].dt.days)") if series.dtype.kind == "m"
                         else ("periods", f"a date (e.g. df[{name!r}].dt.to_timestamp())"))
            raise DataError(f"Column {name!r} in {source} holds {what}; finlite reads numbers, text categories and "
                            f"dates. Write it as {how}, or drop it (drop=[{name!r}]).", param="drop")
        if name in user_numeric:
            money_share, example = _money_share(series)
            percent_share, percent_example = _money_share(series, rule=PERCENT)
            # Read with the rule most of its values follow, so that a few junk values are what an
            # error names ("22.74%" in every row was named while "--" in 150 was the fault: a review,
            # 2026-12-05).
            rule: str | bool = False
            if example is not None and money_share >= percent_share:
                rule = MONEY  # "12,000" named numeric: thousands, as the refusal of the ambiguity advises
                ambiguous = _ambiguous_commas(series)
                if ambiguous is not None:  # said, so a decimal comma named numeric is not read silently
                    notes.append(f"column {name!r} writes every value with one comma before three digits (such as "
                                 f"{ambiguous!r}): read as thousands ({ambiguous.replace(',', '')}), as --numeric "
                                 "asks; if the commas are decimal commas, write the column with '.' as the decimal "
                                 "point")
            elif percent_example is not None:
                rule, example = PERCENT, percent_example
            numeric_column(series, name, source, money=rule)
            num_cols.append(name)
            if rule == PERCENT:
                _check_percent_units(series, name, source)
            if rule:
                (money_cols if rule == MONEY else percent_cols).append(name)
                notes.append(_text_number_note(name, example or "", rule == MONEY))
            continue
        if name in user_categorical:
            cat_cols.append(name)
            continue
        if name == SYNTH_TRUE_PD:
            # `finlite datasets synth --with-pd` writes each loan's true PD beside its label: as a
            # feature it would hand the model the answer (the synth help says not to train on it).
            dropped.append(name)
            notes.append(f"column {name!r} dropped: it is the true probability of default of a synthetic book "
                         f"(finlite datasets synth --with-pd), which would leak the answer; pass --numeric {shell_word(name)} "
                         "to use it anyway")
            continue
        if series.isna().all():
            if re.fullmatch(r"Unnamed: \d+", str(name)) and name == frame.columns[-1]:
                # pandas' name for the empty field after a separator that ends every line: said as that
                # (a file fuzz, 2026-12-07, was told of a column 'Unnamed: 21' it never wrote).
                raise DataError(f"{source} ends every line with a separator, which reads as an empty last column "
                                f"(pandas names it {name!r}): remove the trailing separators, or drop it "
                                f"(drop=[{name!r}]).", param="drop")
            raise DataError(
                f"Column {name!r} in {source} is empty in every row; drop it (drop=[{name!r}]) or fill it.",
                param="drop"
            )
        if len(series) > 1 and not series.isna().any() and bool((series == series.iloc[0]).all()):
            # One value in every row carries no information, and the model never learns an effect
            # for it: a numeric one is standardised to 0 in every training row, so its weight keeps
            # its random start, and a different value when scoring moved every decision (7 in
            # training, 5,000 when scoring: all 20 German rows approved; a review, 2026-12-03).
            value = series.iloc[0]
            if isinstance(value, (float, np.floating)) and not np.isfinite(value):
                # inf (or text such as 1e400 read as it) in every row: refused as one inf cell is, not
                # dropped as a constant (a review, 2026-12-05).
                raise DataError(f"Column {name!r} in {source} holds {shown(value)} in every row; finlite refuses "
                                "numbers that are not finite. Fix the column, or drop it (drop=[" + repr(name) + "]).",
                                param="drop")
            dropped.append(name)
            keep = "--numeric" if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series) \
                else "--categorical"
            notes.append(f"column {name!r} dropped: it holds one value ({shown(value)}) in every row, so a model "
                         "learns nothing from it and would give any other value an effect it never learned; pass "
                         f"{keep} {name} to keep it")
            continue
        # Dates before identifiers: a loan book's approval dates take a thousand distinct values,
        # and were noted as "an identifier" with --categorical as the hint (a review, 2026-12-03).
        named_id = identifier_name(name)
        is_date = not named_id and looks_like_dates(series)
        if not is_date and not named_id:
            amount = _foreign_amount(series)
            if amount is not None:
                foreign.append((name, amount))
                continue
        id_reason = None if is_date else _id_reason(name, series)
        if id_reason is not None:
            dropped.append(name)
            notes.append(id_reason)
        elif is_date:
            dropped.append(name)
            after = _POST_OUTCOME_NAME.search(str(name)) is not None
            notes.append(f"column {name!r} dropped as a date " + (
                "(it is named like a date recorded after the outcome, such as a charge-off's: never order an "
                "out-of-time split by it, and whether it is filled in can itself give the label away)" if after else
                "(name it with --date-column for an out-of-time split; "
                "a date that describes the applicant, such as an earliest credit line, informs as a "
                "duration: give the months before the application as a number column)"))
        elif pd.api.types.is_bool_dtype(series):
            cat_cols.append(name)
        elif pd.api.types.is_numeric_dtype(series) and (dated := _numeric_date_note(name, series)) is not None:
            dropped.append(name)
            notes.append(dated)
        elif pd.api.types.is_numeric_dtype(series):
            numeric_column(series, name, source)  # refuses inf/1e300 here, where rows are the file's rows
            num_cols.append(name)
            form, example = (written or {}).get(name, ("", ""))
            if form == DOTS_AS_THOUSANDS:
                raise _dots_refusal(name, example, source)
            code_note = _padded_note(name, example) if form == LEADING_ZEROS else _code_note(name, series)
            if code_note is not None:
                notes.append(code_note)
            clock = _clock_note(name, series)
            if clock is not None:
                notes.append(clock)
        else:
            # Counted per distinct value: a text column of 900,000 rows holds far fewer.
            value_counts = series.value_counts(dropna=True, sort=False)
            distinct_values = pd.Series(value_counts.index.to_numpy(dtype=object), dtype="object")
            parsed_ok = _to_numeric(distinct_values)[1].notna().to_numpy()
            weights = value_counts.to_numpy()
            present = max(int(weights.sum()), 1)
            share = weights[parsed_ok].sum() / present
            money_share, example = 0.0, None
            percent_share, percent_example = 0.0, None
            if share < 1.0:
                money_share, example = _money_share(series, value_counts)
                if money_share < 1.0:
                    percent_share, percent_example = _money_share(series, value_counts, PERCENT)
            if share == 1.0:
                numeric_column(series, name, source)  # text such as "1e309" parses to inf: refused
                num_cols.append(name)
                padded = [v for v in distinct_values if ZERO_PADDED.fullmatch(str(v).strip())]
                code_note = _padded_note(name, str(padded[0]).strip()) if padded \
                    else _code_note(name, _to_numeric(series)[1])
                if code_note is not None:
                    notes.append(code_note)
            elif money_share == 1.0 and example is not None:
                ambiguous = _ambiguous_commas(series)
                if ambiguous is not None:
                    raise _ambiguous_refusal(name, ambiguous, source)
                numeric_column(series, name, source, money=MONEY)  # refuses "$1e309"-like overflow alike
                num_cols.append(name)
                money_cols.append(name)
                notes.append(_text_number_note(name, example, True))
            elif percent_share == 1.0 and percent_example is not None:
                numeric_column(series, name, source, money=PERCENT)  # refuses "1e309%"-like overflow alike
                _check_percent_units(series, name, source)
                num_cols.append(name)
                percent_cols.append(name)
                notes.append(_text_number_note(name, percent_example, False))
            elif max(share, money_share, percent_share) >= _MOSTLY_NUMERIC:
                distinct = len(value_counts)
                best = max(share, money_share, percent_share)
                best_rule = False if best == share else MONEY if best == money_share else PERCENT
                plain_ok = parsed_ok
                if best_rule:  # the values that rule reads too are no odd text ("23%" was named as such)
                    parsed_ok = parsed_ok | np.array([isinstance(v, str) and text_value(v.strip(NUMBER_SPACES),
                                                                                        best_rule) is not None
                                                      for v in distinct_values], dtype=bool)
                if parsed_ok.all():
                    # Every value reads as a number by the rule, none shows its sign ("$", ","):
                    # numbers padded with a no-break or thin space (Excel's, a European export's).
                    # The column was silently left out of the model, or a few-valued one stopped
                    # training with an IndexError (a data engineer's walk-through, 2026-12-06).
                    numeric_column(series, name, source, money=best_rule)
                    num_cols.append(name)
                    if best_rule == PERCENT:
                        _check_percent_units(series, name, source)
                        percent_cols.append(name)
                    else:
                        money_cols.append(name)
                    sample = str(distinct_values[~plain_ok].iloc[0])
                    notes.append(f"column {name!r} holds numbers written with spaces or signs a plain number "
                                 f"does not have (such as {sample!r}): "
                                 "read as numbers, at training and when scoring")
                elif distinct <= _CODE_VALUES and distinct * 20 <= present:  # few values, each repeated
                    # A code with a few odd values (SBA's ApprovalFY: years and "1976A"): refusing it
                    # would stop training over a handful of rows, reading it as numbers would drop them.
                    rows = int(weights[~parsed_ok].sum())
                    odd = distinct_values[~parsed_ok].iloc[0]
                    cat_cols.append(name)
                    notes.append(f"column {name!r} is mostly numbers but holds text such as {str(odd)!r} in {rows:,} "
                                 f"rows: encoded as a category ({distinct} values); clean those values and pass "
                                 f"--numeric {shell_word(name)} to use it as a number")
                else:
                    # raises with the first offending row
                    numeric_column(series, name, source, money=best_rule,
                                   fix=f", or read it as a category (categorical=[{name!r}])")
            else:
                cat_cols.append(name)
                texts = distinct_values.astype("string").str.strip()
                if len(texts) >= 3 and bool(texts.str.fullmatch(r"-?[0-9]+(?:,[0-9])?").all()) \
                        and bool(texts.str.contains(",", regex=False).any()):
                    # "2,5", "7,3": a decimal comma, or a multi-select code ("1,2"); nothing says
                    # which, so the category stands, and is said (a review, 2026-12-07).
                    comma = str(texts[texts.str.contains(",", regex=False)].iloc[0])
                    notes.append(f"column {name!r} holds numbers with a comma before one digit (such as {comma!r}): "
                                 "read as categories (a multi-select code); if the comma is a decimal point, write "
                                 f"the column with '.' ({comma.replace(',', '.')}) and it is read as a number")
    if foreign:
        raise _foreign_refusal(foreign, source)
    _refuse_feature_twins([*num_cols, *cat_cols], named, source)
    notes += [n for name in cat_cols if (n := _unicode_forms_note(frame[name], name)) is not None]
    if not num_cols and not cat_cols:
        if not dropped:  # only the target (and the date column): "after dropping ;" named nothing
            raise DataError(f"{source} has no feature columns: it holds only {target!r}"
                            + (f" and the date column {date_column!r}" if date_column else "")
                            + ". Give a table with the columns to score by.")
        raise DataError(f"{source} has no feature columns left after dropping {', '.join(dropped)}; keep at least one.")
    if date_column is not None:
        dropped.append(date_column)
    if group_column is not None and group_column not in user_drop:
        dropped.append(group_column)
        notes.append(f"column {group_column!r} kept out of the inputs: the split keeps each of its values' rows in one "
                     "part (group column)")
    return Schema(
        target=target, positive=pos, negative=negative, numeric=tuple(num_cols),
        categorical=tuple(cat_cols), drop=tuple(dict.fromkeys(dropped)), date_column=date_column,
        notes=tuple(notes) + tuple(_post_outcome_notes((*num_cols, *cat_cols)))
        + tuple(_post_decision_notes((*num_cols, *cat_cols))), money=tuple(money_cols),
        percent=tuple(percent_cols),
    )


def _clock_note(name: str, series: pd.Series) -> str | None:
    """A note when numeric ``series`` never falls (or never rises) down the file's rows, with many
    distinct values: a clock or a counter (ULB's ``Time``, seconds since the first transaction, was
    kept as a feature without a word: a fraud engineer's walk-through, 2026-12-06). Every new row
    then lies beyond the training values. None otherwise (a file sorted by an amount is noted too:
    the note says so)."""
    values = series.dropna()
    n = len(values)
    if n < _CLOCK_MIN_ROWS or pd.api.types.is_bool_dtype(series):
        return None
    rising = values.is_monotonic_increasing
    if not (rising or values.is_monotonic_decreasing):
        return None
    distinct = int(values.nunique())
    if distinct < _CLOCK_DISTINCT_SHARE * n:
        return None
    first, last = values.iloc[0], values.iloc[-1]
    way = "rises" if rising else "falls"
    return (f"column {name!r} {way} {CLOCK_MARK}: it never "
            f"{'falls' if rising else 'rises'} down the file's {n:,} rows (from {first:g} to {last:g}, "
            f"{distinct:,} values), like a clock or a counter (seconds since the first transaction), unless the "
            f"file is sorted by it. A model reading a clock sees every new row beyond its training values (it "
            f"{way} past them) and extrapolates; drop it (--drop {shell_word(name)}) or give what it measures as a feature that "
            "repeats, such as the hour of the day")


#: Names of values recorded after the credit decision but before the outcome (a disbursement's amount
#: or date: SBA's DisbursementGross, disbursed_amount; not LendingClub's disbursement_method, chosen
#: at application): no label leak, but an application being decided has none yet, and the model was
#: used with it silently (an SBA walk-through, 2026-12-06).
_POST_DECISION_NAME = re.compile(
    rf"disburs(?:ements?|ed|al)?{_S}(?:gross|amount|amnt|amt|date|value|sum|total)|disbursed|(?:amount|amnt|amt){_S}disburs",
    re.IGNORECASE)


def _post_decision_notes(features: Sequence[str]) -> list[str]:
    """A note for each feature named like a value recorded after the credit decision
    (:data:`_POST_DECISION_NAME`) and not already named as recorded after the outcome."""
    return [f"column {name!r} is named like a value recorded after the credit decision (a disbursement): an "
            f"application being decided has none yet, so a model that decides applications cannot read it; drop it "
            f"(--drop {shell_word(name)}) unless the model decides at disbursement"
            for name in features if _POST_DECISION_NAME.search(str(name)) and not _POST_OUTCOME_NAME.search(str(name))]


def _post_outcome_notes(features: Sequence[str]) -> list[str]:
    """A note for each feature named like a value recorded after the outcome (_POST_OUTCOME_NAME):
    LendingClub's total_pymnt and recoveries were used without a word, and a test AUC of 0.9996
    followed (a walk-through, 2026-12-05)."""
    return [f"column {name!r} is named like a value recorded after the outcome (payments received, recoveries, an "
            f"amount charged off, a settlement): if it is one, {LEAK_MARK}, which then fails on new applications; "
            f"{leak_advice(name)}"
            for name in features if _POST_OUTCOME_NAME.search(str(name))]


def leak_advice(name: str) -> str:
    """What to do about a column that may leak the label, for a teacher trained here and for an
    imported booster alike (``import-teacher`` has no ``--drop``: its booster reads the column)."""
    return (f"drop it (--drop {shell_word(name)}; an imported booster: train it again without the column) unless it is truly "
            "known at decision time.")


def leak_notes(notes: Sequence[str]) -> list[str]:
    """The schema notes that say a column may leak the label (named like a post-outcome value, or
    separating the training labels alone): warnings in train's outcome and the model card. One
    per column: a column both named so and separating the labels is said by the stronger evidence
    (it was said twice: a review, 2026-12-05)."""
    found = [note for note in notes if LEAK_MARK in note]
    separating = {n.split(" alone separates", 1)[0] for n in found if " alone separates" in n}
    return [n for n in found if not (" is named like" in n and n.split(" is named like", 1)[0] in separating)]


def _text_number_note(name: str, example: str, money: bool) -> str:
    """The schema note for a numeric column read from text under a rule (money or percent)."""
    if money:
        return f"column {name!r} read as money written as text (e.g. {example!r})"
    return (f"column {name!r} read as percentages written as text (e.g. {example!r} is read as "
            f"{(percent_value(example.strip(NUMBER_SPACES)) or 0.0) + 0.0:g})")


def _plain_number(value: Any) -> float | None:
    """``value`` (a cell) as a plain number, or None."""
    try:
        return float(value.strip(NUMBER_SPACES) if isinstance(value, str) else value)
    except (TypeError, ValueError):
        return None


def _check_percent_units(series: pd.Series, name: str, source: str) -> None:
    """Refuse a column of percentages ("80.5%") whose plain numbers all lie within ±1 where its
    percentages mostly do not: fractions (0.805) beside percentages are one quantity in two units,
    100 apart, and one "%" in 200 rows turned a column of fractions into percentages without a
    word (a review, 2026-12-05). Plain numbers in the percentages' own unit ("12" beside "12.5%")
    are read as they are."""
    counts = series.dropna().value_counts(sort=False)  # once per distinct value: a loan book repeats them
    present = int(counts.sum())
    plain = fractions = 0
    percents: list[float] = []
    example = None
    for value, count in counts.items():
        number = percent_value(value.strip(NUMBER_SPACES)) if isinstance(value, str) else None
        if number is not None:
            percents.extend([abs(number)] * min(int(count), 1000))
            continue
        number = _plain_number(value)
        if number is None or number == 0:  # zero is zero in either unit ("0" was refused: a review)
            continue
        plain += int(count)
        # Only a number strictly between 0 and 1 is a fraction: "1" may be 1 % (a review, 2026-12-05).
        if 0 < abs(number) < 1:
            fractions += int(count)
            example = value if example is None else example
    # A few fractions may be typos; a share of the rows is a second unit (a single "1" among 400
    # percentages was refused: a review, 2026-12-05).
    if percents and fractions >= max(3, 0.01 * present) and fractions >= 0.5 * plain \
            and float(np.median(percents)) > 1.0:
        raise DataError(f"Column {name!r} in {source} mixes percentages written with '%' (read as the number "
                        f"written: '80.5%' is 80.5) with {fractions:,} plain numbers between 0 and 1 such as "
                        f"{shown(example)}, which look like fractions of one (0.805): one quantity in two units. "
                        "Convert the column to one unit (all as percentages or all as fractions).")


# Names of columns that hold integer codes of categories (postal codes, industry and merchant
# codes), as words of the column name: "Zip", "zip_code", "NAICS", "mcc", "BankState_FIPS".
_CODE_NAME = re.compile(r"(?:^|[^a-z])(?:zip|zipcode|postal|postcode|naics|sic|mcc|fips|isic|nace)(?:$|[^a-z])",
                        re.IGNORECASE)


# A column named "code" as a word (franchise_code, "Code") or as camelCase's last word (SBA's
# FranchiseCode, where 0 and 1 both mean no franchise), not "encode" or "barcode" (a credit
# modeller's walk-through, 2026-12-06).
_CODE_WORD = re.compile(r"(?:^|[^A-Za-z])code(?:$|[^A-Za-z])", re.IGNORECASE)
_CAMEL_CODE = re.compile(r"(?<=[a-z0-9])Code(?:$|[^a-z])")


# Names of columns that often hold a few category codes as numbers (Taiwan's credit-card book:
# SEX 1/2, EDUCATION 0-6, MARRIAGE 0-3), as words of the column name.
_CATEGORY_NAME = re.compile(r"(?:^|[^a-z])(?:sex|gender|education|marriage|marital|occupation|industry|purpose|"
                            r"segment|channel|category|grade|tier|region)(?:$|[^a-z])", re.IGNORECASE)


def _padded_note(name: str, example: str | None) -> str:
    """The note for a number column written with leading zeros: codes, whatever the column's name
    (note 71: only a name like Zip or NAICS got the code note). The example is shown by its form
    only ('0nnnn'): the note is stored in the artifact, and a code may be one customer's (an
    account number; a data-protection walk-through, 2026-12-07)."""
    lead = "" if example is None else example[:len(example) - len(example.lstrip("0"))]
    form = None if example is None else lead + re.sub(r"\d", "n", example[len(lead):])
    shown_as = "" if form is None else f" (written like {form!r}{', n a digit' if 'n' in form else ''})"
    return (f"column {name!r} is written with leading zeros{shown_as}: such values are codes, not amounts; read as "
            f"a number, 022 is 22 and the codes' order means nothing; pass --categorical {shell_word(name)} to encode it as "
            "categories")


def _code_note(name: str, values: pd.Series) -> str | None:
    """A note for a column read as numbers whose name says it holds codes (Zip, NAICS, MCC) and
    whose values are all whole numbers: as a number, 94110 > 10001 says nothing about a loan.
    Likewise a column named like a category (EDUCATION, MARRIAGE) holding 3 to 12 whole values:
    read as a quantity, a code training never saw (MARRIAGE 9) was extrapolated, and declines on
    such rows fell from 18 % to 5 % with only a note (a walk-through, 2026-12-05).
    Only a note: what the column is stays the user's call (--categorical)."""
    coded = _CODE_NAME.search(name) is not None or _CODE_WORD.search(name) is not None \
        or _CAMEL_CODE.search(name) is not None
    if not coded and _CATEGORY_NAME.search(name) is None:
        return None
    numbers = pd.to_numeric(values, errors="coerce").dropna()
    if numbers.empty or not bool((numbers == np.floor(numbers)).all()):
        return None
    if coded:
        return (f"column {name!r} holds whole numbers and its name says they are codes ({numbers.nunique():,} "
                f"values): read as a number, its order means nothing; pass --categorical {shell_word(name)} to encode it as "
                "categories")
    distinct = int(numbers.nunique())
    if not 3 <= distinct <= 12:
        return None
    return (f"column {name!r} holds {distinct} whole values ({numbers.min():g} to {numbers.max():g}) and its name "
            "says they may be category codes: read as a number, they are ordered amounts, and a code training "
            f"never saw is scored as a larger or smaller amount; if they are categories, pass --categorical {shell_word(name)} "
            "(an unseen code then takes the unseen bucket)")


def _money_share(series: pd.Series, counts: pd.Series | None = None, rule: str = MONEY) -> tuple[float, str | None]:
    """Share of the non-missing values of a text column that read as money (``rule`` PERCENT:
    percentages) or plain numbers, and one value that only that rule reads ("$60,000.00 ",
    "13.56%"), or None when there is none.

    A column with many distinct values is judged on its 2,000 most frequent first: when those
    are mostly not numbers (names, cities) the column is not a numeric one, and the share of that
    sample is returned without reading the rest.
    """
    if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
        return 0.0, None
    counts = (series.value_counts(dropna=True) if counts is None else counts).sort_values(ascending=False)
    if counts.empty:
        return 0.0, None
    if len(counts) > 2000:
        head, _ = _money_share(series, counts.iloc[:2000], rule)
        if head < _MOSTLY_NUMERIC:
            return head, None
    good, example = 0, None
    for value, count in counts.items():
        text = str(value).strip(NUMBER_SPACES)
        if not text or text_value(text, rule) is not None:
            good += int(count)
            if example is None and (looks_like_money(text) if rule == MONEY else percent_value(text) is not None):
                example = str(value)
        else:
            try:
                float(text)
                good += int(count)
            except ValueError:
                pass
    return good / int(counts.sum()), example
