"""Fail closed on numbers: the limits every encoding path checks, and the messages they raise.

A non-finite input (``inf``, or text such as ``"1e309"`` that parses to it) or one beyond the
model's float32 range standardises to infinity, the model answers NaN, and ``NaN >= cutoff``
is false: the row would silently be decided "not flagged". So every path that encodes numbers
refuses such values, and every path that turns scores into decisions checks them first.

Imported by the torch-free runtime: numpy only, nothing heavier.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from finlite.errors import DataError, ScoreError

__all__ = [
    "F32_MAX",
    "check_score_count",
    "check_scores",
    "float32_cutoff",
    "frame_row",
    "record_score_error",
    "shown",
    "table_value_error",
    "value_bounds",
    "value_reason",
]

#: The largest float32 (about 3.4e38): models compute in float32, so a value (raw or
#: standardised) beyond it becomes infinity inside the model.
F32_MAX = float(np.finfo(np.float32).max)

_FIX = ("finlite accepts only finite numbers within ±3.4e38 (models compute in float32) and refuses "
        "the rest rather than decide on them. Fix or blank those values (a blank cell is a missing value, "
        "imputed as in training), or drop those rows")


def value_bounds(mean: float, std: float) -> tuple[float, float]:
    """The raw values a numeric column accepts: within float32, and standardised
    (``(x - mean) / std``) within float32 too. Every encoding path uses these same bounds, so
    they agree exactly on what is refused."""
    return max(-F32_MAX, mean - F32_MAX * std), min(F32_MAX, mean + F32_MAX * std)


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


def value_reason(value: Any, number: float, mean: float, std: float) -> str:
    """Why one numeric value is refused (for a record field): not finite, beyond float32, or
    standardised beyond float32."""
    if number != number or number in (np.inf, -np.inf):
        return (f"the number {shown(value)} is not finite; send a finite number (or null when the value is "
                "unknown)")
    if not -F32_MAX <= number <= F32_MAX:
        return (f"the number {shown(value)} does not fit the model's float32 (at most ±3.4e38); send a value "
                "in range (or null when the value is unknown)")
    return (f"the number {shown(value)} is so far from the training data (mean {mean:.6g}, scale {std:.6g}) "
            "that standardised it overflows the model's float32; check the value and its unit")


def table_value_error(column: str, source: str, value: Any, where: str, count: int, *,
                      standardised: tuple[float, float] | None = None, scope: str = "") -> DataError:
    """The DataError for a table column holding refused numbers, naming the first one.

    ``where`` says which row ("row 613", "row 5 (index 'A7')"); ``count`` how many rows of the
    column are refused (``scope`` says among which rows, e.g. " in rows 1–65536" for a chunk);
    ``standardised`` is (mean, scale) when the raw value fits float32 but its standardised
    value does not.
    """
    many = f" ({count} such rows{scope})" if count > 1 else ""
    if standardised is not None:
        mean, std = standardised
        what = (f"holds {shown(value)} at {where}{many}, so far from the training data (mean {mean:.6g}, "
                f"scale {std:.6g}) that standardised it overflows float32; check the value and its unit. ")
    else:
        what = f"holds {shown(value)} at {where}{many}, which is not a finite float32 number; "
    return DataError(f"Numeric column {column!r} in {source} {what}{_FIX}.")


def _listed(labels: Sequence[int], total: int, unit: str) -> str:
    first = ", ".join(str(label) for label in labels[:5])
    more = f" and {total - 5} more" if total > 5 else ""
    return f"{unit}{'s' if total > 1 else ''} {first}{more}"


def check_scores(scores: np.ndarray, source: str = "", *, unit: str = "row", first: int = 1) -> None:
    """Raise :class:`ScoreError` when any score is NaN or infinite: no decision is made then.

    ``source`` names where the rows came from (a file; empty when the caller's input is all
    there is); ``first`` is the label of ``scores[0]``: 1 for table rows (1-based, as a file's
    data rows), 0 for record indices, the file row of a chunk's first row in batch scoring.
    The error carries ``rows``, the 0-based positions of every bad score in ``scores``.
    """
    scores = np.asarray(scores)
    if scores.size == 0 or np.isfinite(scores).all():
        return
    positions = np.flatnonzero(~np.isfinite(scores.reshape(-1)))
    labels = (positions + first).tolist()
    error = ScoreError(
        f"The model returned a non-finite score (NaN or infinity) for {len(labels)} of {scores.size} "
        f"{unit}s{f' of {source}' if source else ''} ({_listed(labels, len(labels), unit)}); no decision was "
        "made for any of them. "
        "The inputs passed the value checks, so the model or its preprocessor.json is broken: retrain or "
        "re-export the artifact and check it with 'finlite inspect'."
    )
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
    """The ScoreError of the single-record fast path (one record, one non-finite score)."""
    error = ScoreError(
        f"The model returned a non-finite score ({score!r}) for the record; no decision was made. The "
        "record passed the value checks, so the model or its preprocessor.json is broken: retrain or "
        "re-export the artifact and check it with 'finlite inspect'."
    )
    error.rows = [0]  # type: ignore[attr-defined]
    return error


def frame_row(index: Any, position: int) -> str:
    """A DataFrame row as a message names it: 1-based position, plus the index label when it
    differs from the position (a filtered frame, an id index)."""
    label = index[position]
    if isinstance(label, (int, np.integer)) and int(label) == position:
        return f"row {position + 1}"
    return f"row {position + 1} (index {shown(label)})"
