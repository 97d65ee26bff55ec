"""The Preprocessor: raw columns to a float32 matrix, fitted on the training split only.

Numeric columns: median imputation (with a 0/1 missing indicator for every column that had
gaps in training), then standardisation. Categorical columns: one-hot over the training
categories plus one bucket for anything unseen. Saved as JSON; nothing in it executes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from finlite._keys import MISSING, UNSEEN, label_key
from finlite._util import dump_json, write_text_atomic
from finlite.data.schema import Schema, numeric_column
from finlite.errors import DataError

__all__ = ["Preprocessor"]

_FORMAT = "finlite.preprocessor/1"


@dataclass
class _Numeric:
    name: str
    median: float
    mean: float
    std: float
    indicator: bool


@dataclass
class _Categorical:
    name: str
    categories: list[str]
    index: pd.Index = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.index = pd.Index(self.categories)


class Preprocessor:
    """Turn raw rows into model inputs the same way in training and in scoring.

    Follows the estimator contract: construct, :meth:`fit` on training rows, then
    :meth:`transform` any table with the schema's columns.
    """

    def __init__(self, schema: Schema) -> None:
        self.schema = schema
        self.numeric_: list[_Numeric] = []
        self.categorical_: list[_Categorical] = []
        self.fitted_ = False

    # -- fitting -----------------------------------------------------------------------
    def fit(self, frame: pd.DataFrame, source: str = "the training data") -> Preprocessor:
        """Learn medians, scales and categories from ``frame`` (the training split only).

        Raises:
            DataError: a feature column is missing or empty in every row, or a numeric column
                holds text or a number that is not finite or does not fit float32 (named with
                its row and value: a model cannot be trained on it).
        """
        self.schema.check_columns(frame, source)
        self.numeric_ = []
        for name in self.schema.numeric:
            values = numeric_column(frame[name], name, source)
            present = values[~np.isnan(values)]
            if present.size == 0:
                raise DataError(
                    f"Numeric column {name!r} is empty in every training row of {source}; drop it or fill it."
                )
            median = float(np.median(present))
            filled = np.where(np.isnan(values), median, values)
            std = float(filled.std())
            self.numeric_.append(_Numeric(name, median, float(filled.mean()), std if std > 0 else 1.0,
                                          bool(present.size < values.size)))
        self.categorical_ = []
        for name in self.schema.categorical:
            keys = self._category_keys(frame[name])
            counts = keys.value_counts()
            # Most frequent first (ties by name) so the encoding does not depend on row order.
            ordered = sorted(counts.index, key=lambda k: (-counts[k], k))
            self.categorical_.append(_Categorical(name, [str(k) for k in ordered]))
        self.fitted_ = True
        return self

    @staticmethod
    def _category_keys(series: pd.Series) -> pd.Series:
        if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
            # Numeric codes declared categorical: 3 and 3.0 must be the same category whether a
            # file's column came out as int (no gaps) or float (with gaps).
            keys = series.map(lambda v: MISSING if pd.isna(v) else label_key(v)).astype("string")
        else:
            keys = series.astype("string").str.strip()
        return keys.fillna(MISSING).replace("", MISSING)

    # -- transforming ------------------------------------------------------------------
    @property
    def feature_names(self) -> list[str]:
        """Names of the output columns, in order."""
        self._check_fitted()
        names: list[str] = []
        for num in self.numeric_:
            names.append(num.name)
        for num in self.numeric_:
            if num.indicator:
                names.append(f"{num.name}__is_missing")
        for cat in self.categorical_:
            names.extend(f"{cat.name}={c}" for c in cat.categories)
            names.append(f"{cat.name}={UNSEEN}")
        return names

    @property
    def n_features(self) -> int:
        """Width of the output matrix."""
        return len(self.feature_names)

    def column_groups(self) -> tuple[int, list[list[int]]]:
        """Layout of the output matrix: (number of leading standardised numeric columns, the
        column indices of each categorical one-hot group). Missing indicators sit in between."""
        self._check_fitted()
        start = len(self.numeric_) + sum(num.indicator for num in self.numeric_)
        groups = []
        for cat in self.categorical_:
            width = len(cat.categories) + 1
            groups.append(list(range(start, start + width)))
            start += width
        return len(self.numeric_), groups

    def transform(self, frame: pd.DataFrame, source: str = "the data") -> np.ndarray:
        """Encode ``frame`` as a float32 matrix with one row per input row.

        Raises:
            DataError: a feature column is missing, or a numeric column holds text, a number that
                is not finite or does not fit float32, or one whose standardised value does not
                (the message names the column, the row and the value).
        """
        self._check_fitted()
        self.schema.check_columns(frame, source)
        n = len(frame)
        blocks: list[np.ndarray] = []
        indicators: list[np.ndarray] = []
        if self.numeric_:
            num = np.empty((n, len(self.numeric_)), dtype=np.float64)
            for j, spec in enumerate(self.numeric_):
                # Refuses inf, values beyond float32, and values whose standardised form overflows
                # float32 (a tiny scale, x far from training): the model would see infinity.
                values = numeric_column(frame[spec.name], spec.name, source, standardise=(spec.mean, spec.std))
                missing = np.isnan(values)
                num[:, j] = (np.where(missing, spec.median, values) - spec.mean) / spec.std
                if spec.indicator:
                    indicators.append(missing.astype(np.float64)[:, None])
            blocks.append(num)
        blocks.extend(indicators)
        for cat in self.categorical_:
            codes = cat.index.get_indexer(self._category_keys(frame[cat.name]))
            codes = np.where(codes < 0, len(cat.categories), codes)  # unseen -> the last bucket
            onehot = np.zeros((n, len(cat.categories) + 1), dtype=np.float64)
            onehot[np.arange(n), codes] = 1.0
            blocks.append(onehot)
        return np.ascontiguousarray(np.hstack(blocks), dtype=np.float32)

    def fit_transform(self, frame: pd.DataFrame, source: str = "the training data") -> np.ndarray:
        """:meth:`fit` then :meth:`transform` on the same rows."""
        return self.fit(frame, source).transform(frame, source)

    def _check_fitted(self) -> None:
        if not self.fitted_:
            raise DataError("This Preprocessor is not fitted yet; call fit() on the training split first.")

    # -- persistence -------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form holding everything transform() needs."""
        self._check_fitted()
        return {
            "format": _FORMAT,
            "schema": self.schema.to_dict(),
            "numeric": [
                {"name": s.name, "median": s.median, "mean": s.mean, "std": s.std, "indicator": s.indicator}
                for s in self.numeric_
            ],
            "categorical": [{"name": c.name, "categories": c.categories} for c in self.categorical_],
            "feature_names": self.feature_names,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "preprocessor.json") -> Preprocessor:
        """Rebuild a fitted Preprocessor from :meth:`to_dict` output (checked for sanity first)."""
        from finlite._spec import check_preprocessor_spec  # shared with the runtime Encoder

        check_preprocessor_spec(data, source)
        if not isinstance(data, dict) or data.get("format") != _FORMAT:
            raise DataError(f"{source} is not a finlite preprocessor (expected format {_FORMAT!r}).")
        try:
            pre = cls(Schema.from_dict(data["schema"]))
            pre.numeric_ = [_Numeric(d["name"], float(d["median"]), float(d["mean"]), float(d["std"]),
                                     bool(d["indicator"])) for d in data["numeric"]]
            pre.categorical_ = [_Categorical(d["name"], [str(c) for c in d["categories"]])
                                for d in data["categorical"]]
        except (KeyError, TypeError, ValueError) as exc:
            raise DataError(f"{source} is damaged: field {exc} is missing or malformed.") from exc
        pre.fitted_ = True
        return pre

    def save(self, path: str | Path) -> None:
        """Write as JSON (atomically)."""
        write_text_atomic(path, dump_json(self.to_dict()))

    @classmethod
    def load(cls, path: str | Path) -> Preprocessor:
        """Read a JSON file written by :meth:`save`."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise DataError(f"Cannot read preprocessor {str(path)!r}: {exc}.") from exc
        return cls.from_dict(data, str(path))
