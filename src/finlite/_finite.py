"""Fail closed on numbers: the limits every encoding path checks, and the messages they raise.

A non-finite input (``inf``, or text such as ``"1e309"`` that parses to it) or one beyond the
model's float32 range standardises to infinity, the model answers NaN, and ``NaN >= cutoff``
is false: the row would silently be decided "not flagged". So every path that encodes numbers
refuses such values, and every path that turns scores into decisions checks them first.

Imported by the torch-free runtime: numpy only, nothing heavier.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any, TypeGuard

import numpy as np

from finlite.errors import DataError, ScoreError

__all__ = [
    "F32_MAX",
    "RANGE_MARGIN",
    "SQUASH_MIN_SCALE",
    "boolean_refusal",
    "check_score_count",
    "check_scores",
    "far_outside",
    "float32_cutoff",
    "frame_row",
    "learnt_beyond_flag",
    "record_score_error",
    "shown",
    "squash",
    "squash_one",
    "table_value_error",
    "text_advice",
    "training_span",
    "unsquash",
    "value_bounds",
    "value_reason",
]

#: The largest float32 (about 3.4e38): models compute in float32, so a value (raw or
#: standardised) beyond it becomes infinity inside the model.
F32_MAX = float(np.finfo(np.float32).max)

_FIX = ("finlite accepts only finite numbers within ±3.4e38 (models compute in float32) and refuses "
        "the rest rather than decide on them. Fix or blank those values (a blank cell is a missing value, "
        "imputed as in training), or drop those rows")


#: How far beyond its training range a numeric value is still scored, in widths of that range
#: (the width being at least the largest magnitude seen and the scale): V14 of card data, seen
#: from -19 to 10, accepts -316 to 307; an amount seen from 0 to 25,691 accepts up to 282,601.
RANGE_MARGIN = 10.0

#: What may surround a number written as text, in every path (records, Arrow, pandas): ASCII
#: white space and the Unicode space separators (a spreadsheet's no-break space, U+00A0). Not the
#: control characters Python's str.strip and float() also drop (the separators U+001C–U+001F,
#: NEL U+0085) nor the line and paragraph separators: "30\x1c" was scored as 30 (a review,
#: 2026-12-04), where a CSV reader or pandas refuses it.
NUMBER_SPACES = " \t\n\r\v\f\u00a0\u1680" + "".join(map(chr, range(0x2000, 0x200B))) + "\u202f\u205f\u3000"


#: The smallest scale a squash may have: (x - center) / scale stays finite for every float32 x
#: (below about 4e-270 it overflows, and d / (1 + |d|) of an infinite d is NaN).
SQUASH_MIN_SCALE = 1e-200


def squash(values: np.ndarray, center: float, scale: float) -> np.ndarray:
    """A squashed column's values before standardisation (:class:`finlite.data.preprocess.Encoding`
    ``extremes="squash"``): ``d / (1 + |d|)`` of ``d = (values - center) / scale``, in float64.

    Monotone, within -1..1, and made of IEEE operations that every platform rounds alike
    (a logarithm is not: numpy's vectorised one may differ from the C library's by a unit in the
    last place), so the pandas Preprocessor, the record path (:func:`squash_one`) and the Arrow
    path write the same float32."""
    # In place after the first subtraction (a new array: ``values`` may be the caller's or
    # Arrow's): two arrays allocated instead of five; the same operations in the same order.
    d = np.subtract(np.asarray(values, dtype=np.float64), center)
    d /= scale
    t = np.abs(d)
    t += 1.0
    d /= t
    return d


def squash_one(value: float, center: float, scale: float) -> float:
    """:func:`squash` of one float (the record path's), with the same operations in the same order."""
    d = (value - center) / scale
    return d / (1.0 + abs(d))


def unsquash(values: np.ndarray, center: float, scale: float) -> np.ndarray:
    """The raw values whose :func:`squash` is ``values`` (within -1..1; ±1 gives ±inf): for
    showing a squashed column's bins in its own units."""
    u = np.asarray(values, dtype=np.float64)
    with np.errstate(divide="ignore"):
        d = u / (1.0 - np.abs(u))
    out: np.ndarray = center + scale * d
    return out


def training_span(low: float, high: float, std: float) -> tuple[float, float]:
    """The raw values a column seen from ``low`` to ``high`` in training accepts (see
    :data:`RANGE_MARGIN`): a value far beyond what the model ever saw is extrapolation, not a
    score (V14 = -1e6 gave a card payment the student's score 0.0 and the teacher's 0.07)."""
    # An infinite scale is a squashed column's (no standardised bound: value_bounds): no width.
    width = max(high - low, abs(low), abs(high), std if std < math.inf else 0.0)
    return low - RANGE_MARGIN * width, high + RANGE_MARGIN * width


def value_bounds(mean: float, std: float, low: float | None = None, high: float | None = None) -> tuple[float, float]:
    """The raw values a numeric column accepts: within float32, standardised (``(x - mean) /
    std``) within float32 too, and, when the training range ``low``..``high`` is known (artifacts
    from 2026-12-03 on), within :func:`training_span` of it. ``std`` infinite: no standardised
    bound (a squashed column's, whose squashed values lie within -1..1 whatever the raw one). Every encoding path uses these same
    bounds, so they agree exactly on what is refused."""
    lo, hi = max(-F32_MAX, mean - F32_MAX * std), min(F32_MAX, mean + F32_MAX * std)
    if low is not None and high is not None:
        span_low, span_high = training_span(low, high, std)
        lo, hi = max(lo, span_low), min(hi, span_high)
    return lo, hi


def far_outside(low: float, high: float, std: float, seen: str = "in its training table") -> str:
    """The words for a value beyond :func:`training_span` of ``low``..``high``: what was seen, what
    is scored, and why (the tail of a refusal's message)."""
    span_low, span_high = training_span(low, high, std)
    return (f"far outside what the model was trained on (values {low:.10g} to {high:.10g} {seen}; finlite "
            f"scores {span_low:.10g} to {span_high:.10g}, {RANGE_MARGIN:g} widths either side, a width being the "
            "range, the largest magnitude seen or the scale, whichever is largest): a score there would be "
            "extrapolation. Check the value and its unit, or train on data that holds such values")


def float32_cutoff(cutoff: float) -> np.float32:
    """The smallest float32 at or above ``cutoff``: for a float32 score ``s``, ``s >= result``
    exactly when ``s >= cutoff``, so a float32 comparison decides as the exact one does.

    ``np.float32(cutoff)`` rounds to nearest, and below the cut-off when it rounds down: a score
    equal to that float32 was declined by ``finlite score`` and approved by the Predictor and
    ``serve``, which compare in float64 (a review, 2026-12-03).
    """
    rounded = np.float32(cutoff)
    if float(rounded) < cutoff:
        rounded = np.nextafter(rounded, np.float32(np.inf))
    return np.float32(rounded)


def shown(value: Any, limit: int = 40) -> str:
    """A value as a message shows it: text quoted, huge integers cut short."""
    if isinstance(value, str):
        text = repr(value)
    elif isinstance(value, (float, np.floating)):
        text = repr(float(value))
    elif isinstance(value, int) and value.bit_length() > 13_000:
        # str() refuses an int of more than 4,300 digits (ValueError): describe it instead.
        text = f"a{' negative' if value < 0 else 'n'} integer of about {int(value.bit_length() * 0.30103) + 1} digits"
    else:
        text = str(value)
    return text if len(text) <= limit else f"{text[:limit - 12]}… ({len(text)} characters)"


def value_reason(value: Any, number: float, mean: float, std: float, low: float | None = None,
                 high: float | None = None) -> str:
    """Why one numeric value is refused (for a record field): not finite, beyond float32,
    standardised beyond float32, or far outside the training range ``low``..``high``."""
    if number != number or number in (np.inf, -np.inf):
        # A finite literal beyond a double's range (1e309, 1e400) reads as infinity: said, since
        # "the number inf" named a value the client never sent (a review, 2026-12-04).
        # Only where the value was written as a number (not "inf" or "Infinity" itself).
        # (Never str() of an int: one of more than 4,300 digits raises ValueError there.)
        as_number = (value.strip().lstrip("+-")[:1].isdigit() if isinstance(value, str)
                     else isinstance(value, (int, float)) and not isinstance(value, bool))
        beyond = " (a number beyond ±1.8e308, such as 1e309, reads as infinity)" if number == number and as_number else ""
        return (f"the number {shown(value)} is not finite{beyond}; send a finite number (or null when the value "
                "is unknown)")
    if not -F32_MAX <= number <= F32_MAX:
        return (f"the number {shown(value)} does not fit the model's float32 (at most ±3.4e38); send a value "
                "in range (or null when the value is unknown)")
    if low is not None and high is not None:
        lo32, hi32 = value_bounds(mean, std)  # within these, the training range is what refused it
        if lo32 <= number <= hi32:
            return f"the number {shown(value)} lies {far_outside(low, high, std)} (or null when the value is unknown)"
    return (f"the number {shown(value)} is so far from the training data (mean {mean:.6g}, scale {std:.6g}) "
            "that standardised it overflows the model's float32; check the value and its unit")


def table_value_error(column: str, source: str, value: Any, where: str, count: int, *,
                      standardised: tuple[float, ...] | None = None, scope: str = "",
                      number: float | None = None) -> DataError:
    """The DataError for a table column holding refused numbers, naming the first one.

    ``where`` says which row ("row 613", "row 5 (index 'A7')"); ``count`` how many rows of the
    column are refused (``scope`` says among which rows, e.g. " in rows 1–65536" for a chunk);
    ``standardised`` is (mean, scale), or (mean, scale, training low, training high), when the
    raw value fits float32 but lies beyond what the column accepts (:func:`value_bounds`);
    ``number`` is the value as parsed (text such as "3e38" is a number too), which says why.
    """
    many = f" ({count} such rows{scope})" if count > 1 else ""
    if standardised is not None:
        mean, std, *span = standardised
        low, high = value_bounds(mean, std)
        if len(span) == 2 and (number is None or low <= number <= high):
            return DataError(f"Numeric column {column!r} in {source} holds {shown(value)} at {where}{many}, "
                             f"{far_outside(span[0], span[1], std)}; or drop those rows.")
        what = (f"holds {shown(value)} at {where}{many}, so far from the training data (mean {mean:.6g}, "
                f"scale {std:.6g}) that standardised it overflows float32; check the value and its unit. ")
    else:
        what = f"holds {shown(value)} at {where}{many}, which is not a finite float32 number; "
    return DataError(f"Numeric column {column!r} in {source} {what}{_FIX}.")


def _listed(labels: Sequence[int], total: int, unit: str) -> str:
    first = ", ".join(str(label) for label in labels[:5])
    more = f" and {total - 5} more" if total > 5 else ""
    return f"{unit}{'s' if total > 1 else ''} {first}{more}"


# Why a score decided nothing, and the remedy: said alike by the batch and single-record paths.
_NOT_EXPORTED = ("An exported classifier's output ends in a sigmoid, so its model.onnx is not the one finlite "
                 "exported: re-export the artifact (finlite export) and check it with 'finlite inspect'.")
_BROKEN = ("passed the value checks, so the model or its preprocessor.json is broken: retrain or re-export the "
           "artifact and check it with 'finlite inspect'.")


def check_scores(scores: np.ndarray, source: str = "", *, unit: str = "row", first: int = 1,
                 probability: bool = False) -> None:
    """Raise :class:`ScoreError` when any score is NaN or infinite, or, with ``probability``
    (a classifier's P(positive)), outside [0, 1]: no decision is made then.

    ``source`` names where the rows came from (a file; empty when the caller's input is all
    there is); ``first`` is the label of ``scores[0]``: 1 for table rows (1-based, as a file's
    data rows), 0 for record indices, the file row of a chunk's first row in batch scoring.
    The error carries ``rows``, the 0-based positions of every bad score in ``scores``.
    """
    scores = np.asarray(scores)
    if scores.size == 0:
        return
    flat = scores.reshape(-1)
    # NaN fails both comparisons: fail closed.
    good = ((flat >= 0.0) & (flat <= 1.0)) if probability else np.isfinite(flat)
    if good.all():
        return
    positions = np.flatnonzero(~good)
    finite = np.isfinite(flat[positions])
    parts = []
    for kind, picked in (("a non-finite score (NaN or infinity)", positions[~finite]),
                         ("a probability outside [0, 1]", positions[finite])):
        if picked.size:
            labels = (picked + first).tolist()
            shown = f" (the first {float(flat[picked[0]])!r})" if kind.startswith("a prob") else ""
            parts.append(f"{kind}{shown} for {len(labels)} of {scores.size} {unit}s"
                         f"{f' of {source}' if source else ''} ({_listed(labels, len(labels), unit)})")
    # Finite scores outside [0, 1] only: not the classifier finlite exported.
    why = _NOT_EXPORTED if finite.all() else f"The inputs {_BROKEN}"
    error = ScoreError(f"The model returned {' and '.join(parts)}; no decision was made for any of them. {why}")
    error.rows = positions.tolist()  # type: ignore[attr-defined]
    raise error


def check_score_count(scores: np.ndarray, rows: int, source: str = "", *, unit: str = "row") -> None:
    """Raise :class:`ScoreError` unless the model returned exactly one score per input row.

    A graph can declare ``[batch, 1]`` and return another length (a forged ``model.onnx`` ending
    in a Slice or a Concat): written beside the rows, its scores would be decisions for the
    wrong applicants, or for none. Nothing is decided then.
    """
    if scores.size != rows:
        raise ScoreError(f"The model returned {scores.size:,} scores for {rows:,} {unit}s"
                         f"{f' of {source}' if source else ''}; a model returns one per {unit}, so this one is "
                         "broken and no decision was made. Re-export the artifact (finlite export) and check it "
                         "with 'finlite inspect'.")


def record_score_error(score: float) -> ScoreError:
    """The ScoreError of the single-record fast path (one record, one score that is not finite or,
    for a classifier, not in [0, 1])."""
    if score - score == 0.0:  # finite: a classifier's output outside [0, 1]
        error = ScoreError(f"The model returned a probability outside [0, 1] ({score!r}) for the record; no "
                           f"decision was made. {_NOT_EXPORTED}")
    else:
        error = ScoreError(f"The model returned a non-finite score ({score!r}) for the record; no decision was "
                           f"made. The record {_BROKEN}")
    error.rows = [0]  # type: ignore[attr-defined]
    return error


def frame_row(index: Any, position: int) -> str:
    """A DataFrame row as a message names it: 1-based position, plus the index label when it
    differs from the position (a filtered frame, an id index)."""
    label = index[position]
    if isinstance(label, (int, np.integer)) and int(label) == position:
        return f"row {position + 1}"
    return f"row {position + 1} (index {shown(label)})"


def learnt_beyond_flag(span: tuple[float, float] | None) -> TypeGuard[tuple[float, float]]:
    """Whether a numeric field's training values (``span``, low and high) reach beyond 0..1, so
    that a boolean (1/0) is no value of it; False without a recorded span (an older artifact)."""
    return span is not None and not (span[0] >= 0.0 and span[1] <= 1.0)


def boolean_refusal(name: str, source: str, span: tuple[float, float] | None) -> str | None:
    """Why a boolean column (true/false) is refused for numeric field ``name`` whose training
    values spanned ``span``, or None where it reads as 1/0 as training did: a 0/1 flag (or a
    boolean column in training) spans 0..1, and a field without a recorded span (an older
    artifact) keeps taking it. Read as 1/0 elsewhere, every count above 0 scores as 1, exit 0 (a
    nightly run's walk-through, 2026-12-05: delinq_2y arriving as delinq_2y > 0 in Parquet). The
    one wording of the pandas preprocessor and the runtime encoder."""
    if not learnt_beyond_flag(span):
        return None
    return (f"Numeric column {name!r} in {source} arrives as true/false (a boolean column), but the model learnt "
            f"numbers from {span[0]:g} to {span[1]:g} for it: read as 1/0, every value above 0 would score as 1. "
            "Send the numbers themselves (the column as it was in training).")


#: A number written for people: digits with thousands separators, a currency sign or a percent
#: sign ("1,169", "$35", "35%", "40,000.00", "1 169").
_FORMATTED = re.compile(r"^[\s$€£¥]*[-+]?[\s$€£¥]*(?=[^%]*\d)[\d.,'\s\u00a0\u202f]*\d[\d.,'\s\u00a0\u202f]*%?$")


#: A number with a unit word after it ("36 months", "5 yrs", "10+ years").
_WITH_UNIT = re.compile(r"^\s*[-+]?\d[\d.,]*\+?\s*(months?|mos?|yrs?|years?|days?|weeks?|wks?|hours?|hrs?|"
                        r"pct|percent|usd|eur|gbp|dollars?|k)\.?\s*$", re.IGNORECASE)


def text_advice(text: object, rule: bool | str = False) -> str:
    """What to do about ``text`` in a numeric column: "write plain numbers" for a number written
    for people (thousands separators, a currency sign, a percent sign), where "fix or blank those
    values" sent users to blank 88 % of a loan book's amounts, which then scored as the training
    median, exit 0 (a nightly run's walk-through, 2026-12-05); "fix or blank those values" otherwise.
    ``rule``: the text rule the column's values are read with ("money", "percent", or True for
    either: :mod:`finlite._money`), whose form is the advice, not "no thousands separator or
    currency sign", which the column's other values have (a file fuzz and a review, 2026-12-07)."""
    if rule and isinstance(text, str) and re.search(r"\d", text):
        if rule == "percent" or (rule is True and "%" in text):
            return ("write the percentages in the form the column's other values take ('.' as the decimal point, "
                    "a '%' after the number or none: 12.5% or 12.5; not a decimal comma); blank only a value that "
                    "is truly unknown")
        return ("write the amounts in the form the column's other values take ('$' before the number if any, ',' "
                "between groups of three digits and '.' as the decimal point: 1169, 1,169.00 or $1,169.00; not a "
                "decimal comma or another currency sign); blank only a value that is truly unknown")
    if isinstance(text, str) and _FORMATTED.match(text) and re.search(r"[,$€£¥%'\s\u00a0\u202f]", text.strip()):
        return ("write plain numbers there, as in training (no thousands separator, currency sign or %: 1169, not "
                "'1,169'); blank only a value that is truly unknown")
    if isinstance(text, str) and _WITH_UNIT.match(text):  # "36 months", "5 yrs": the same trap, blanked
        return ("write plain numbers there, as in training (the number without its unit: 36, not '36 months'); "
                "blank only a value that is truly unknown")
    return "fix or blank those values"
