"""How raw values become category keys and class labels: one definition for training and scoring.

This module imports nothing but numpy, so the torch-free runtime (:mod:`finlite.runtime`)
encodes a record exactly as the pandas :class:`~finlite.data.preprocess.Preprocessor` did in
training.
"""

from __future__ import annotations

import datetime
import itertools
import math
import re
import unicodedata
from collections.abc import Collection, Iterable, Mapping
from decimal import Decimal
from typing import Any

import numpy as np

__all__ = ["CSV_MISSING", "MISSING", "NOT_ONE_VALUE", "OTHER", "UNSEEN", "UNSEEN_AVERAGED", "averaged_groups", "category_key", "category_keys", "is_missing_marker",
           "key_aliases", "label_key", "look_up", "numeric_alias"]

#: Category key of an empty or missing value.
MISSING = "__missing__"
#: One-hot bucket of every category not seen in training.
UNSEEN = "__unseen__"
#: The key of a training or distillation step's record (a teacher's train step, a step's ``info``)
#: saying that the first layer's weights on the unseen buckets were set to an average category's
#: (:mod:`finlite.training.unseen`); its value is the number of groups set.
UNSEEN_AVERAGED = "unseen_averaged"


def averaged_groups(steps: Any) -> int | None:
    """The groups a manifest's ``steps`` record as averaged (:data:`UNSEEN_AVERAGED`, summed over
    the steps and their ``info``), or None where no step records it: an artifact made before
    finlite averaged them, or a model no step trained on the table. Read from an untrusted
    manifest: a record that is not a whole number counts as none."""
    found: int | None = None
    for step in steps if isinstance(steps, list) else []:
        for record in (step, step.get("info")) if isinstance(step, dict) else ():
            value = record.get(UNSEEN_AVERAGED) if isinstance(record, dict) else None
            if isinstance(value, int) and not isinstance(value, bool):
                found = (found or 0) + value
    return found
#: One-hot column shared by the values seen in fewer than ``min_category_count`` training rows.
OTHER = "__other__"
#: Cells a CSV file holds for a missing value: pandas' default list (``pandas._libs.parsers.
#: STR_NA_VALUES``, which training reads with), given to Arrow's CSV reader when scoring, whose own
#: list lacks "None" and "<NA>" (a test holds the two equal).
CSV_MISSING = ("", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN", "<NA>", "N/A",
               "NA", "NULL", "NaN", "None", "n/a", "nan", "null")


def label_key(value: Any) -> str:
    """The canonical text of a class label, so 1, 1.0 and "1" name the same class."""
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value)).lower()
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return str(int(value)) if float(value).is_integer() else repr(float(value))
    text = str(value).strip()
    try:
        number = float(text)
    except ValueError:
        return text
    return str(int(number)) if number.is_integer() else text


def category_key(value: Any) -> str:
    """The category key of one raw value, as the Preprocessor derives it from a column.

    Numbers (codes declared categorical) go through :func:`label_key` so 3 and 3.0 match;
    booleans read "True"/"False" (pandas' text of a boolean column); text is stripped; None,
    NaN and empty text are :data:`MISSING`.
    """
    if value is None or is_missing_marker(value):
        return MISSING
    if isinstance(value, (bool, np.bool_)):
        return "True" if value else "False"
    if isinstance(value, (int, float, np.integer, np.floating)):
        return MISSING if isinstance(value, (float, np.floating)) and math.isnan(value) else label_key(value)
    text = str(value).strip()
    return text if text else MISSING


#: Cell types that are not one value of a flat table: containers, and bytes (pandas would decode
#: them as text in one place and read them as a number in another). Every encoder refuses them.
NOT_ONE_VALUE = (dict, list, tuple, set, frozenset, np.ndarray, bytes, bytearray, memoryview)
#: A date or a time: ``datetime.date`` (``datetime.datetime`` and pandas' Timestamp are dates) or
#: numpy's; a category field none of whose training values reads as one refuses it on every path.
DATE_TYPES = (datetime.date, np.datetime64)


def is_missing_marker(value: Any) -> bool:
    """pandas' NA and NaT, numpy's NaT, and a Decimal (quiet) NaN: missing, as pandas and Arrow read
    them in a column (checked by type name, as this module does not import pandas)."""
    kind = type(value)
    if kind.__name__ in ("NAType", "NaTType") and kind.__module__.startswith("pandas"):
        return True
    if isinstance(value, (np.datetime64, np.timedelta64)):
        return bool(np.isnat(value))  # a DataFrame reads it blank; a record refused it as a date (a review)
    return isinstance(value, Decimal) and value.is_qnan()  # sNaN is no number at all: refused


# A plain decimal number as text (what a CSV writer makes of a float): no "nan", "inf", "1_000".
PLAIN_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
# A whole number as text ("94110", "007", "+5").
_WHOLE_NUMBER = re.compile(r"[+-]?[0-9]+")


def float_text(key: str) -> str | None:
    """The text a float column writes for the whole number ``key`` ("94110" -> "94110.0"), or None
    when ``key`` is no whole number. A code column with gaps and a text code ("UNKNOWN") is read
    from its CSV as text, so training keys its codes "94110.0"; the number 94110, or its text,
    finds them under this alias (:func:`key_aliases`; they were scored as unseen, taking the
    prior: a review, 2026-12-05)."""
    whole = _whole(key)
    # The integer's exact text: through a float, 2**62 + 1 read as 2**62's key (a review, 2026-12-05).
    return None if whole is None else f"{whole}.0"


def _whole(key: str) -> int | None:
    """The whole number ``key`` writes exactly, or None (not a whole number, or more digits than
    Python converts: such a text is no code, and stays itself)."""
    if _WHOLE_NUMBER.fullmatch(key) is None:
        return None
    try:
        return int(key)
    except ValueError:  # over sys.get_int_max_str_digits()
        return None


def numeric_alias(key: str) -> str | None:
    """The key the number written as ``key`` has when read as a number, if that differs: a code
    column with gaps is read as floats by pandas, so a file written from it holds "94110.0",
    whose text key is "94110.0", while training read the number 94110.0, key "94110".

    Every encoder (the pandas Preprocessor, the record and Arrow paths of the runtime) looks up a
    text key that is not a training key under this alias before calling it unseen, so a code
    reads the same from a float column, an int column, or the text of either. None when ``key``
    is not a plain decimal number or is its own alias.
    """
    if PLAIN_NUMBER.fullmatch(key) is None:
        return None
    # A whole number's exact text ("007" -> "7", "+5" -> "5"): through a float, a code above 2**53
    # would alias another code.
    whole = _whole(key)
    alias = str(whole) if whole is not None else label_key(float(key))
    return alias if alias != key else None


#: The spellings of a boolean that the readers turn into one (pandas' CSV ``true_values`` and
#: ``false_values``), and the 1/0 a boolean is as a number, each with the boolean it means.
_BOOLEAN_SPELLINGS = {"True": True, "TRUE": True, "true": True, "1": True,
                      "False": False, "FALSE": False, "false": False, "0": False}


#: A day as pandas and Python write a date ("2024-01-31"), and a timestamp at its midnight as Arrow
#: writes one ("2024-01-31 00:00:00", with or without fractions of a second or a 'T').
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_MIDNIGHT = re.compile(r"(\d{4}-\d{2}-\d{2})[ T]00:00:00(?:\.0+)?")
#: Every text :func:`key_aliases` may give another key (numbers, boolean spellings, days and
#: midnights, CSV missing markers): the Arrow path looks up aliases for these values only, so it reads this pattern
#: rather than a copy that could fall behind (a date alias missed by dictionaries of more than 64
#: values: a review, 2026-12-04). Anchored by the caller; RE2 syntax, as Arrow's regex kernels take.
ALIASABLE_TEXT = (rf"{PLAIN_NUMBER.pattern}|{'|'.join(_BOOLEAN_SPELLINGS)}|"
                  r"\d{4}-\d{2}-\d{2}(?:[ T]00:00:00(?:\.0+)?)?|"
                  # The CSV missing markers ("n/a", "NULL"): the missing key's aliases (a review, 2026-12-05).
                  + "|".join(re.escape(m) for m in CSV_MISSING if m))


def key_aliases(key: str, trained: Collection[str]) -> list[str]:
    """The other keys ``key`` may have been trained under, most specific first: its numeric alias
    (:func:`numeric_alias`), a whole number's text as a float writes it (:func:`float_text`),
    a day and its midnight for each other (pandas writes a column of
    midnights as days, Arrow as timestamps: the same Parquet file scored through ``score`` and a
    DataFrame gave different scores, a review of 2026-12-04), then, for a boolean spelling, the
    other spellings of that boolean; for a CSV missing marker (:data:`CSV_MISSING`, such as
    "n/a") in a column that training saw blank, the missing key; last, for non-ASCII text, the
    same text in Unicode's composed and decomposed forms (NFC, NFD).

    pandas reads ``true`` in a CSV as the boolean True (key "True") while the Arrow path reads
    the text ("true"), and a DataFrame may hold either, or 1/0: without these aliases the same
    file gave different scores through ``finlite score`` and ``evaluate`` (22 of 300 decisions
    on one test book). A key that is itself a training key is never aliased.

    A boolean and the number 1 or 0 stand for each other only in a column trained on booleans
    (every key of ``trained``, the column's training keys, a boolean spelling, 1 or 0): in a
    column of codes 1 to 4, ``true`` is no code 1.
    """
    out = []
    alias = numeric_alias(key)
    if alias is not None:
        out.append(alias)
    # The number, however written ("94110", "94110.00", "1e+05"), as the text of a float
    # ("94110.0"): chained through the numeric alias, so every spelling of the number finds it
    # (the number found it and "94110.00" did not: score and the Predictor disagreed on one file).
    number = alias if alias is not None else key
    written = float_text(number)
    if written is not None and written != key and written not in out:
        out.append(written)
    midnight = _MIDNIGHT.fullmatch(key)
    day = midnight.group(1) if midnight is not None else key if _DAY.fullmatch(key) else None
    if day is not None:
        # A timestamp at midnight (Arrow's text of one) is the day pandas writes, and a day is the
        # midnight of a column trained with times, in either ISO spelling.
        out.extend(k for k in (day, f"{day} 00:00:00", f"{day}T00:00:00") if k != key and k not in out)
    # A boolean spelling, or a number that reads as 1 or 0 ("1.0": the float 1.0 already read as "1").
    meaning = _BOOLEAN_SPELLINGS.get(key, _BOOLEAN_SPELLINGS.get(number) if number in ("0", "1") else None)
    if meaning is not None:
        crossing = _boolean_column(trained)
        as_number = number in ("0", "1")
        out.extend(k for k, v in _BOOLEAN_SPELLINGS.items()
                   if v is meaning and k != key and k not in out and (crossing or (k in ("0", "1")) == as_number))
    # A CSV's missing marker ("n/a", "NULL", "NA") sent as text, in a JSON record or a Parquet
    # string: pandas read it as a blank in the training CSV, and score's CSV reader reads it so,
    # but a record or a Parquet file took it for a new category: LendingClub's emp_length "n/a"
    # scored one way from the CSV and another through serve. Where training saw blanks it is one
    # (a column trained with that text as a value keeps it: an exact key is never aliased).
    if key in CSV_MISSING and key != MISSING and MISSING in trained:
        out.append(MISSING)
    # The same text in the other Unicode form: composed "é" or "e" + a combining accent, as one
    # system or another writes it. A file from a Mac scored every category of a model trained on
    # a Windows export as unseen (151 of 1,000 decisions changed, exit 0: an international
    # walk-through, 2026-12-07). An exact key is never aliased, so a column trained with both
    # forms keeps each.
    if not key.isascii():
        out.extend(k for k in (unicodedata.normalize("NFC", key), unicodedata.normalize("NFD", key))
                   if k != key and k not in out)
    return out


def _boolean_column(trained: Collection[str]) -> bool:
    """Whether every training key of a column (bar the missing and unseen ones) is a boolean."""
    return all(k in _BOOLEAN_SPELLINGS or k in (MISSING, UNSEEN) for k in trained)


def look_up(mapping: Mapping[str, Any], key: str) -> Any:
    """``mapping[key]``, else the entry of its first alias that has one (:func:`key_aliases`), else
    None: the one lookup every encoder makes of a category key (``mapping`` values are never None)."""
    found = mapping.get(key)
    if found is None:
        for alias in key_aliases(key, mapping):  # "94110.0" read as text, for the code 94110; "true" for True
            found = mapping.get(alias)
            if found is not None:
                break
    return found


def category_keys(values: Iterable[Any], known: Collection[str] = ()) -> list[str]:
    """The category key of each of ``values`` (a column's distinct values), and, given the keys a
    column was trained with (``known``), a key it lacks looked up with its aliases as every encoder
    does ("94110.0" read as text is the code 94110, "true" is True); a key with no alias is kept.

    The one rule by which the report's CSI and the hold-out's overlap check read a value from a
    file; ``finlite score``'s CSI reads its rows with the encoder's lookups
    (:func:`finlite.runtime._fastenc.codes_and_lookup`), which key and alias values the same way."""
    lookup = {k: k for k in known}
    out = []
    for value in values:
        key = category_key(value)
        if lookup and key not in lookup:
            key = look_up(lookup, key) or key
        out.append(key)
    return out


# The text a date or time reads as once it is a category key (str of a date, a timestamp, a time):
# "2024-01-31", "2024-01-31 00:00:00", "09:30:00".
_DATE_OR_TIME_TEXT = re.compile(r"\d{4}-\d{2}-\d{2}|\d{1,2}:\d{2}")


def date_column_refusal(name: str, kind: str, keys: Iterable[str], source: str,
                        kept: Iterable[str] = ()) -> str | None:
    """Why a category column ``name`` of a date or time type (``kind``, as its reader names it)
    cannot be scored, or None: when none of the field's training ``keys`` reads as a date or time,
    no value of the column can be one of them, and every row would score as an unseen category
    with a warning only (a review, 2026-12-04). Decided from the type and the training keys alone,
    so every chunk, null or not, and every path (Arrow, DataFrame) decide alike; a model trained on
    date text scores Parquet dates. The message quotes up to three of ``kept`` (the values kept
    with rows enough), never a rare training value: that may be one customer's (an IBAN; a
    data-protection walk-through, 2026-12-07)."""
    if any(_DATE_OR_TIME_TEXT.search(key) for key in keys):
        return None
    shown = list(itertools.islice(kept, 3))
    such = f" (such as {', '.join(map(repr, shown))})" if shown else ""
    return (f"Categorical column {name!r} in {source} has type {kind}, a date or time, but the model was trained on "
            f"categories{such} that no date or time reads as: check that the column is the one the model was trained "
            "on, and write its values as in training.")
