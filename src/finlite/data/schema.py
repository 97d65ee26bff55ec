"""The Schema: which column is the target, which class is positive, how each column is used.

A schema is inferred from the training table and can be overridden column by column. It is
saved in the artifact's manifest and every table scored later is checked against it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from finlite._finite import F32_MAX, frame_row, shown, table_value_error, value_bounds
from finlite._keys import label_key
from finlite._util import closest
from finlite.errors import DataError

__all__ = ["Schema", "infer_schema", "label_key", "numeric_column"]

# Target values that mean "the event a risk model predicts" (default, fraud, charge-off).
_POSITIVE_WORDS = ("bad", "default", "defaulted", "yes", "y", "true", "fraud", "chgoff",
                   "charged off", "charged-off", "1", "positive", "delinquent")
_ID_NAME = re.compile(r"(^|[_\s.-])(id|uuid|key)$|^(id|uuid)([_\s.-]|$)", re.IGNORECASE)
_DATE_LIKE = re.compile(r"^\s*(\d{4}-\d{1,2}-\d{1,2}|\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}|\d{4}/\d{1,2}/\d{1,2})")
# A text column whose values are numbers this often is a numeric column with typos in it.
_MOSTLY_NUMERIC = 0.9


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
        categorical: feature columns one-hot encoded.
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
    notes: tuple[str, ...] = field(default=(), compare=False)

    @property
    def features(self) -> tuple[str, ...]:
        """Feature columns in model order: numeric first, then categorical."""
        return self.numeric + self.categorical

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (lists instead of tuples)."""
        out = asdict(self)
        for key in ("numeric", "categorical", "drop", "notes"):
            out[key] = list(out[key])
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
        keys = column.map(label_key)
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
        """Raise a DataError when ``frame`` lacks any feature column of this schema."""
        present = set(map(str, frame.columns))
        missing = [c for c in self.features if c not in present]
        if missing:
            hints = "".join(closest(c, present) for c in missing[:3])
            raise DataError(
                f"{source} lacks {len(missing)} column(s) the model was trained on: {', '.join(missing)}.{hints} "
                "Score data must have every feature column of the training schema (extra columns are ignored)."
            )


def numeric_column(series: pd.Series, column: str, source: str,
                   standardise: tuple[float, float] | None = None) -> np.ndarray:
    """A column as float64 (NaN where a value is missing), with a DataError naming the first row
    that holds text, or a number that is not finite or does not fit float32 (``inf``, ``1e300``,
    the text ``"1e309"``): such a value would reach the model as infinity and its score as NaN.

    With ``standardise`` = (mean, scale) a value whose standardised form does not fit float32 is
    refused too (the bounds of :func:`finlite._finite.value_bounds`, shared with the runtime
    encoder). Typed boolean columns become 0/1, as training always did.
    """
    if getattr(series.dtype, "kind", "") in ("M", "m", "c"):
        # pandas would read dates and durations as nanoseconds and drop an imaginary part: a number
        # in the wrong unit would be scored. The Arrow path refuses these types too.
        raise DataError(f"Numeric column {column!r} in {source} has type {series.dtype}; the model needs plain numbers "
                        "there. Convert the column to the number it stood for in training (e.g. days as a float).")
    if pd.api.types.is_bool_dtype(series) or pd.api.types.is_numeric_dtype(series):
        values = series.to_numpy(dtype="float64", na_value=np.nan)
    else:
        texts, parsed = _to_numeric(series)
        bad = parsed.isna() & series.notna() & (texts.astype("string").str.strip() != "")
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise DataError(
                f"Numeric column {column!r} in {source} holds the text {shown(series.iloc[row])} at "
                f"{frame_row(series.index, row)} ({int(bad.sum())} such rows); fix or blank those values, or "
                "declare the column categorical."
            )
        values = parsed.to_numpy(dtype="float64", na_value=np.nan)
    low, high = (-F32_MAX, F32_MAX) if standardise is None else value_bounds(*standardise)
    refused = (values < low) | (values > high)  # a missing value (NaN) compares false and stays missing
    if refused.any():
        rows = np.flatnonzero(refused)
        row = int(rows[0])
        raise table_value_error(column, source, series.iloc[row], frame_row(series.index, row), int(rows.size),
                                standardised=standardise if abs(values[row]) <= F32_MAX else None)
    return values


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


def _pick_positive(keys: Sequence[str], counts: dict[str, int]) -> tuple[str, str]:
    lowered = {k.lower(): k for k in keys}
    for word in _POSITIVE_WORDS:
        if word in lowered:
            return lowered[word], f"positive class {lowered[word]!r} recognised by name"
    minority = min(keys, key=lambda k: (counts[k], k))
    return minority, f"positive class {minority!r} is the minority class; override with positive="


def _looks_like_id(name: str, series: pd.Series) -> bool:
    if _ID_NAME.search(name):
        return True
    is_text = not pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)
    n = len(series)
    return is_text and n >= 20 and series.notna().all() and series.nunique() == n


def _looks_like_date(series: pd.Series) -> bool:
    if pd.api.types.is_datetime64_any_dtype(series):
        return True
    if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
        return False
    sample = series.dropna().astype("string").head(50)
    return len(sample) > 0 and bool(sample.str.match(_DATE_LIKE).all())


def _require_columns(frame: pd.DataFrame, names: Iterable[str], what: str, source: str) -> None:
    present = list(map(str, frame.columns))
    for name in names:
        if name not in present:
            raise DataError(
                f"Column {name!r} named as {what} is not in {source}.{closest(name, present)} "
                f"Available columns: {', '.join(present)}."
            )


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
) -> Schema:
    """Infer a :class:`Schema` from a training table; any part can be overridden.

    Rules: a column named like an ID (``id``, ``customer_id``) or a text column with a distinct
    value in every row is dropped as an ID; a column of dates is dropped (and used for an
    out-of-time split only when named as ``date_column``); numbers are numeric; text, booleans
    and anything else are categorical. Columns listed in ``numeric``/``categorical``/``drop``
    are taken as given.

    Raises:
        DataError: the target is missing, has one class, more than two classes, or lacks the
            declared positive class; a feature column is entirely missing; a mostly numeric
            text column holds a few non-numbers.
    """
    columns = [str(c) for c in frame.columns]
    frame = frame.set_axis(columns, axis=1)
    if target not in columns:
        raise DataError(
            f"Target column {target!r} is not in {source}.{closest(target, columns)} "
            f"Available columns: {', '.join(columns)}. Pass the label column with --target."
        )
    user_numeric, user_categorical = list(numeric or []), list(categorical or [])
    user_drop = list(drop or [])
    _require_columns(frame, user_numeric, "numeric", source)
    _require_columns(frame, user_categorical, "categorical", source)
    _require_columns(frame, user_drop, "a column to drop", source)
    if date_column is not None:
        _require_columns(frame, [date_column], "the date column", source)

    labelled = frame[target].dropna()
    if labelled.empty:
        raise DataError(f"Target column {target!r} in {source} is empty in every row; it needs labels.")
    keys = labelled.map(label_key)
    counts = keys.value_counts().to_dict()
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
                f"its values are {', '.join(map(repr, classes[:10]))}. Pass one of them with --positive."
            )
        if len(classes) > 2:
            others = [c for c in classes if c != pos]
            raise DataError(
                f"Target column {target!r} in {source} has {len(classes)} classes; with positive class "
                f"{pos!r} the other values ({', '.join(map(repr, others[:10]))}) must be one class. "
                "Map them to a single negative label first."
            )
    else:
        if len(classes) > 2:
            raise DataError(
                f"Target column {target!r} in {source} has {len(classes)} distinct values "
                f"({', '.join(map(repr, classes[:10]))}); finlite trains binary classifiers. Map the target "
                "to two classes, or check that --target names the label column."
            )
        pos, how = _pick_positive(classes, counts)
        notes.append(how)
    negative = next(c for c in classes if c != pos)
    if frame[target].isna().any():
        notes.append(f"{int(frame[target].isna().sum())} rows without a label are left out")

    dropped = list(user_drop)
    num_cols: list[str] = []
    cat_cols: list[str] = []
    for name in columns:
        if name == target or name in user_drop or name == date_column:
            continue
        series = frame[name]
        if name in user_numeric:
            numeric_column(series, name, source)  # raises on text
            num_cols.append(name)
            continue
        if name in user_categorical:
            cat_cols.append(name)
            continue
        if series.isna().all():
            raise DataError(
                f"Column {name!r} in {source} is empty in every row; drop it (--drop {name}) or fill it."
            )
        if _looks_like_id(name, series):
            dropped.append(name)
            notes.append(f"column {name!r} dropped as an identifier")
        elif _looks_like_date(series):
            dropped.append(name)
            notes.append(f"column {name!r} dropped as a date (name it as date column for an out-of-time split)")
        elif pd.api.types.is_bool_dtype(series):
            cat_cols.append(name)
        elif pd.api.types.is_numeric_dtype(series):
            numeric_column(series, name, source)  # refuses inf/1e300 here, where rows are the file's rows
            num_cols.append(name)
        else:
            parsed = _to_numeric(series)[1]
            share = parsed.notna().sum() / max(series.notna().sum(), 1)
            if share == 1.0:
                numeric_column(series, name, source)  # text such as "1e309" parses to inf: refused
                num_cols.append(name)
            elif share >= _MOSTLY_NUMERIC:
                numeric_column(series, name, source)  # raises with the first offending row
            else:
                cat_cols.append(name)
    if not num_cols and not cat_cols:
        raise DataError(f"{source} has no feature columns left after dropping {', '.join(dropped)}; keep at least one.")
    if date_column is not None:
        dropped.append(date_column)
    return Schema(
        target=target, positive=pos, negative=negative, numeric=tuple(num_cols),
        categorical=tuple(cat_cols), drop=tuple(dict.fromkeys(dropped)), date_column=date_column,
        notes=tuple(notes),
    )
