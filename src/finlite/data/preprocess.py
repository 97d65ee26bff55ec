"""The Preprocessor: raw columns to a float32 matrix, fitted on the training split only.

Numeric columns: median imputation (with a 0/1 missing indicator for every column that had
gaps in training), then standardisation; money written as text ("$60,000.00 ") is read with
the money parse rule (:mod:`finlite._money`) when the schema lists the column in ``money``, and
percentages ("13.56%") with the percent rule when it lists it in ``percent``.

Categorical columns are encoded within a budget (:class:`Encoding`):

* a column with at most ``max_categories`` distinct training values is one-hot encoded: values
  seen in at least ``min_category_count`` training rows get their own column, the rarer ones
  share an ``__other__`` column (present only when some value is rare), and values never seen
  in training take the ``__unseen__`` column;
* a column with more distinct values (City, Bank, Zip) becomes ONE column: its weight of
  evidence (``high_cardinality="woe"``, the default: the smoothed log-odds of the positive class
  for the value minus the log-odds of the training prior, so 0 means "no information") or its
  smoothed target rate (``"target"``: an m-estimate, ``(positives + m·prior) / (rows + m)``).
  Values seen in fewer than ``min_category_count`` training rows, and unseen values, take the
  prior (weight of evidence 0, target rate = prior). A missing value is a value like any other
  (``__missing__``): in a loan book a blank field is often informative. With
  ``high_cardinality="onehot"`` such a column is one-hot encoded over its ``max_categories``
  most frequent values instead.

The weight of evidence / target encoding of the TRAINING rows is computed out of fold
(:meth:`Preprocessor.transform_out_of_fold`: ``folds`` folds drawn with ``seed``, each row
encoded with statistics of the other folds), so a model never sees its own label through the
encoding; validation, test and scoring rows use the mapping of the whole training split. The
fold assignment depends only on the stored settings and the number of training rows, so the
same training rows encode the same way again (compression re-prepares them this way).

Output layout (see :meth:`Preprocessor.column_groups`): standardised numeric columns, then the
missing indicators, then one column per weight-of-evidence / target-encoded column, then each
one-hot group. The matrix is float32 end to end, written into one preallocated array, and its
size is checked against the memory available before it is allocated.

Saved as JSON (format ``finlite.preprocessor/2``; version 1 files still load); nothing in it
executes.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from finlite import _limits, _spec
from finlite._finite import SQUASH_MIN_SCALE, boolean_refusal, squash, unsquash
from finlite._keys import DATE_TYPES, MISSING, OTHER, UNSEEN, date_column_refusal, key_aliases, label_key
from finlite._money import MONEY, PERCENT
from finlite._spec import FORMAT_SQUASHED
from finlite._util import dump_json, param_error, write_text_atomic
from finlite.data.io import without_views
from finlite.data.schema import LEAK_MARK, Schema, factorize_cells, leak_advice, numeric_column
from finlite.errors import ConfigError, DataError

__all__ = ["CODES_MARK", "EXTREMES", "EXTREME_MARK", "HIGH_CARDINALITY", "NUMERIC_CENTERS", "OTHER", "SQUASH_MARK", "Encoding",
           "Preprocessor", "unseen_counts"]

_FORMAT = "finlite.preprocessor/2"
_FORMAT_V1 = "finlite.preprocessor/1"  # one-hot over every training value; still read
#: Encodings of a column with more than ``max_categories`` distinct values.
HIGH_CARDINALITY = ("woe", "target", "onehot")
#: What a numeric column may be centred on (Encoding.numeric_center).
NUMERIC_CENTERS = ("mean", "median")
#: How a numeric column with far values is encoded (Encoding.extremes).
EXTREMES = ("squash", "scale")
#: What is kept of the values under ``min_category_count`` rows (Encoding.rare_values).
RARE_VALUES = ("listed", "unseen")
MAX_CATEGORIES = 100_000
"""Largest ``max_categories`` accepted: one-hot columns beyond this are a typo (and the memory check follows)."""


@dataclass(frozen=True)
class Encoding:
    """How columns are encoded (stored in ``preprocessor.json``).

    Attributes:
        max_categories: most one-hot columns per categorical column (its most frequent values);
            a column with more distinct training values is high-cardinality.
        min_category_count: fewest training rows a value needs for its own one-hot column or its
            own weight of evidence; rarer values go to ``__other__`` (one-hot) or the prior.
        high_cardinality: "woe" (weight of evidence, the default), "target" (smoothed target
            rate) or "onehot" (the ``max_categories`` most frequent values, the rest other).
        folds: folds of the out-of-fold encoding of the training rows.
        seed: seed of the fold assignment.
        smoothing: m of the m-estimate: a value's rate is pulled towards the prior as if it had
            ``m`` more rows at the prior rate.
        numeric_center: what a numeric column is centred on before it is divided by its
            standard deviation: "mean" (the default) or "median". An imported booster's columns
            are centred on the median (:func:`finlite.training.boosted.import_booster`): float32
            keeps about 7 significant digits of the centred value, and a few extremes (a 1e12
            placeholder in 1 % of incomes) move the mean so far that every ordinary income
            encodes to nearly the same number, a few hundred dollars apart, and the booster's
            splits between them can no longer be told apart (2,156 of 6,000 rows scored unlike
            the booster in such a book). Centred on the median, ordinary values stay near zero,
            where float32 resolves them to a fraction of a cent. The field ``mean`` of each
            numeric column in ``preprocessor.json`` holds the centre either way.
        extremes: how a numeric column is encoded whose training values include some far
            outside its 1st-99th percentile range (a 1e12 placeholder among incomes, a
            utilisation of 50,000 among ratios of 0 to 1.5: :func:`_far_values`). "squash" (the
            default): the column's distance from its median in such ranges, ``d``, is read as
            ``d / (1 + |d|)`` before it is standardised (a value most rows hold, a zero-inflated
            column's zeros, is left out of the median and the range), so the far values sit
            near ±1 and the ordinary ones keep their spread. The order of values is kept, so
            trees split as before, except among far values float32 no longer tells apart: near
            ±1 it resolves one 10,000 ranges out to about 0.1 % of itself, and 1e12 and 1.1e12
            among incomes not at all. One such value in a million rows squashes the column.
            "scale": standardised as it is, so the far values set the scale and a neural
            network barely tells the other values apart (a Give Me Some Credit-shaped book:
            mean test AUC 0.767 against 0.801 squashed, 3 seeds: bench/extremes.py). An
            imported booster's columns are never squashed (its thresholds are raw values). ``preprocessor.json`` records it
            (``"extremes"``, only where a column was squashed; absent, it reads as "scale"),
            and each squashed column's centre and scale; such a file has the format
            ``finlite.preprocessor/3``, which finlite before 2026-12-05 refuses rather than
            misread.
        group_column: under a split by group (:attr:`finlite.data.split.SplitConfig.group_column`),
            the column whose values' rows share a fold of the out-of-fold encoding, so an
            account's other rows never encode its own (``preprocessor.json`` records it only when set).
        rare_values: what is kept of the values in fewer than ``min_category_count`` training
            rows: "listed" (the default) writes them by name to ``preprocessor.json``, so scoring
            tells them from values never seen (a one-hot column's shared ``__other__`` column; a
            weight-of-evidence column's prior, counted apart from unseen values); "unseen" writes
            none of them: in training and in scoring alike they are encoded and counted as values
            never seen (a one-hot column has no ``__other__`` column; its ``__unseen__`` column
            learns from them), for an artifact that leaves the training environment, where a
            postcode or an employer seen once is one customer's (a data-protection walk-through,
            2026-12-07). ``preprocessor.json`` records it only when "unseen".
    """

    max_categories: int = 50
    min_category_count: int = 10
    high_cardinality: str = "woe"
    folds: int = 5
    seed: int = 0
    smoothing: float = 20.0
    numeric_center: str = "mean"
    extremes: str = "squash"
    group_column: str | None = None
    rare_values: str = "listed"

    def __post_init__(self) -> None:
        def whole(name: str, low: int, high: int) -> None:
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
                raise param_error("Encoding", name, f"a whole number from {low:,} to {high:,}", value)

        _limits.plain_ints(self, ("max_categories", "min_category_count", "folds", "seed"))
        whole("max_categories", 1, MAX_CATEGORIES)
        whole("min_category_count", 1, 2**31 - 1)
        whole("folds", _limits.MIN_FOLDS, _limits.MAX_FOLDS)
        whole("seed", 0, _limits.MAX_SEED)
        if self.high_cardinality not in HIGH_CARDINALITY:
            raise param_error("Encoding", "high_cardinality", f"one of {', '.join(HIGH_CARDINALITY)}",
                              self.high_cardinality)
        m = self.smoothing
        if not isinstance(m, (int, float)) or isinstance(m, bool) or not math.isfinite(m) or not 0 <= m <= 1e9:
            raise param_error("Encoding", "smoothing", "a finite number from 0 to 1e9", m)
        if self.numeric_center not in NUMERIC_CENTERS:
            raise param_error("Encoding", "numeric_center", f"one of {', '.join(NUMERIC_CENTERS)}", self.numeric_center)
        if self.extremes not in EXTREMES:
            raise param_error("Encoding", "extremes", f"one of {', '.join(EXTREMES)}", self.extremes)
        if self.group_column is not None and (not isinstance(self.group_column, str) or not self.group_column):
            raise param_error("Encoding", "group_column", "a column name or None", self.group_column)
        if self.rare_values not in RARE_VALUES:
            raise param_error("Encoding", "rare_values", f"one of {', '.join(RARE_VALUES)}", self.rare_values)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (``numeric_center`` only when it is not the default "mean"; ``extremes``
        only when it is "squash", and a Preprocessor's file keeps it only where a column was
        squashed: a file without it reads as "scale", what every file before squashing was, so a
        default preprocessor's file with no squashed column is byte for byte what earlier versions
        wrote, and they can read it)."""
        out = {"max_categories": self.max_categories, "min_category_count": self.min_category_count,
               "high_cardinality": self.high_cardinality, "folds": self.folds, "seed": self.seed,
               "smoothing": float(self.smoothing)}
        if self.numeric_center != "mean":
            out["numeric_center"] = self.numeric_center
        if self.extremes != "scale":
            out["extremes"] = self.extremes
        if self.group_column is not None:
            out["group_column"] = self.group_column
        if self.rare_values != "listed":
            out["rare_values"] = self.rare_values
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Encoding:
        """Inverse of :meth:`to_dict`."""
        return cls(**{k: data[k] for k in ("max_categories", "min_category_count", "high_cardinality", "folds",
                                            "seed", "smoothing")}, numeric_center=data.get("numeric_center", "mean"),
                   extremes=data.get("extremes", "scale"), group_column=data.get("group_column"),
                   rare_values=data.get("rare_values", "listed"))


@dataclass
class _Numeric:
    name: str
    median: float
    mean: float  # the centre: the training mean, or the median (Encoding.numeric_center)
    std: float
    indicator: bool
    parse: str = "number"  # or "money", "percent" (finlite._money)
    # The training range (None in artifacts before 2026-12-03): values far beyond it are refused
    # (finlite._finite.value_bounds).
    low: float | None = None
    high: float | None = None
    # (centre, scale) of a squashed column (Encoding.extremes): its values are read as
    # finlite._finite.squash of them before they are standardised; None otherwise.
    squash: tuple[float, float] | None = None

    @property
    def rule(self) -> str | bool:
        """The ``money`` argument of numeric_column: the text rule, or False for plain numbers."""
        return self.parse if self.parse in (MONEY, PERCENT) else False

    @property
    def standardise(self) -> tuple[float, ...]:
        """What numeric_column checks a value against: (mean, scale[, training low, high]); for a
        squashed column its squash centre and an infinite scale (what it standardises lies within
        -1..1, so no raw value overflows float32: the training span alone bounds it)."""
        units = (self.squash[0], math.inf) if self.squash is not None else (self.mean, self.std)
        if self.low is None or self.high is None:
            return units
        return (*units, self.low, self.high)

    def encode(self, values: np.ndarray) -> np.ndarray:
        """Standardised float64 values of this column (imputed already): ``(v - mean) / std``,
        of the squashed values where the column is squashed."""
        if self.squash is not None:
            values = squash(values, *self.squash)
        out: np.ndarray = (values - self.mean) / self.std
        return out

    def raw(self, encoded: np.ndarray) -> np.ndarray:
        """The raw values whose encoding is ``encoded`` (the inverse of :meth:`encode`): for
        showing bins in the column's own units."""
        values = np.asarray(encoded, dtype=np.float64) * self.std + self.mean
        if self.squash is None:
            return values
        # A bin edge beyond what squash reaches (|u| >= 1) is beyond every value: infinite.
        return unsquash(np.clip(values, -1.0, 1.0), *self.squash)


#: A training value this many 1st-to-99th-percentile ranges beyond that range is named in a note.
#: Real heavy tails stay well within it (ULB's largest Amount: 25 ranges above the 99th
#: percentile; a lognormal of σ = 2 over a million rows: about 130); a placeholder such as
#: 9999999999 among amounts of tens to thousands is millions.
FAR_RANGES = 1000.0


@dataclass(frozen=True)
class _FarValues:
    """Training values of a numeric column far outside its 1st-99th percentile range
    (:func:`_far_values`): how many, the farthest, the multiple of the range they lie beyond,
    the range itself (``low`` to ``high``) and the median (``center``), both of the values
    other than a majority value (a zero-inflated column's zeros)."""

    count: int
    worst: float
    times: float
    low: float
    high: float
    center: float


def _far_values(present: np.ndarray) -> _FarValues | None:
    """The training values of a numeric column that lie :data:`FAR_RANGES` or more
    1st-to-99th-percentile ranges outside that range (:data:`SENTINEL_RANGES` for a value of
    nines), or None. One such value (a 9999999999 placeholder in 0.003 % of a fraud table's
    rows) set the column's mean and spread: every real amount then scaled to about the same
    number, the feature was lost (AUC 0.83 to 0.63), and the training range that bounds scoring
    ran to 1e10, all without a word (a fraud engineer's walk-through, 2026-12-04 night)."""
    if present.size < 100:
        return None
    values, counts = np.unique(present, return_counts=True)
    if counts.max() > present.size // 2:
        # Mostly one value (a zero-inflated amount): the percentiles would collapse onto it and
        # name the real tail (the diff's review); the range is the other values'.
        present = present[present != values[np.argmax(counts)]]
        if present.size < 100:
            return None
    low, high = (float(v) for v in np.percentile(present, [1, 99]))
    width = high - low
    if not width > 0:
        return None
    outside = np.maximum(present - high, low - present) / width  # ranges beyond the range (negative: within)
    # A value of nines (9999 in a debt-to-income ratio whose 99th percentile is 40: 241 ranges out)
    # is a placeholder far sooner than a real value is: such values went unnamed and set the scale
    # (a walk-through, 2026-12-05).
    beyond = (outside > FAR_RANGES) | ((outside > SENTINEL_RANGES) & _nines(present))
    if not beyond.any():
        return None
    worst = float(present[beyond][np.argmax(outside[beyond])])
    times = FAR_RANGES if (outside[beyond] > FAR_RANGES).all() else SENTINEL_RANGES
    return _FarValues(int(beyond.sum()), worst, times, low, high, float(np.median(present)))


def _far_values_note(name: str, far: _FarValues, squashed: bool) -> str:
    """The note on a column's far values (:func:`_far_values`). The values are kept: they may be
    real. ``squashed``: the column is encoded squashed (:class:`Encoding` ``extremes``), so
    its other values still differ once scaled; otherwise they barely do."""
    head = (f"column {name!r}: {far.count:,} training value(s) lie more than {far.times:,.0f} times the "
            f"1st-99th percentile range ({far.low:.6g} to {far.high:.6g}) outside it, e.g. {far.worst:.10g}; ")
    if squashed:
        effect = (f"scaled as they are they would set the column's scale, so the column {SQUASH_MARK} (d, its "
                  "distance from its median in such ranges, read as d / (1 + |d|); a value most rows hold is left "
                  "out of both), where its other values still differ; scoring accepts values up to them")
    else:
        effect = f"they set the column's scaling, so {EXTREME_MARK}, and scoring accepts values up to them"
    return (head + effect + ". If they are placeholders (9999999999 for unknown), blank them (a blank is imputed) "
            "or drop those rows.")


#: The words of every note on a column encoded squashed because of its far values (the model
#: card lists those notes too).
SQUASH_MARK = "is encoded squashed"


#: The words of every note on values that set a column's scale (the model card lists those notes).
EXTREME_MARK = "its other values barely differ once scaled"
#: The words of every note on whole values that look like codes (the model card lists those too).
CODES_MARK = "stand far above every other value"

#: A value written with nines only (99, 9999, 999999.99) this many ranges beyond the 1st-99th
#: percentile range is named as a likely placeholder (FAR_RANGES for any other value).
SENTINEL_RANGES = 10.0


def _nines(values: np.ndarray) -> np.ndarray:
    """Which values are written with nines only, at least two of them before the point (99, -999,
    9999, 999999.99): the placeholders tables use for "unknown"."""
    magnitude = np.abs(values)
    whole = np.floor(magnitude)
    with np.errstate(divide="ignore", invalid="ignore"):
        digits = np.floor(np.log10(np.maximum(whole, 1.0))) + 1
        all_nines = (whole >= 99) & (whole == 10.0 ** digits - 1)
    fraction = np.round(magnitude - whole, 6)
    return np.asarray(all_nines & np.isin(fraction, (0.0, 0.9, 0.99, 0.999)))


@dataclass(frozen=True)
class _Codes:
    """Whole values of a column that look like codes (:func:`_special_codes`): the codes, their
    training rows, and the largest other value."""

    codes: np.ndarray
    rows: int
    below: float


def _special_codes(present: np.ndarray) -> _Codes | None:
    """The few whole values of 90 or more that stand five times or more above every other value
    of a column of whole numbers (at most 3 of them, each in 3 rows or more, together in at most
    2 % of its rows), or None: codes such as 96 and 98 ("unknown", "refused") among counts of
    late payments were read as 98 late payments, drove declines, and a 17-fold rise in them went
    unseen (a walk-through of Give Me Some Credit, 2026-12-05)."""
    if present.size < 100 or not bool(np.all(present == np.floor(present))):
        return None
    values, counts = np.unique(present, return_counts=True)
    for i in range(1, len(values)):
        below, value = float(values[i - 1]), float(values[i])
        if value >= 90 and below >= 0 and value >= 5 * max(below, 1.0):
            codes, rows = values[i:], int(counts[i:].sum())
            # A code repeats (96 and 98: 5 to 264 rows each); a large employer or one long tenure
            # does not, and was named as a code (a review, 2026-12-05).
            if len(codes) > 3 or rows > 0.02 * present.size or int(counts[i:].min()) < 3:
                return None
            return _Codes(codes, rows, below)
    return None


def _special_codes_note(name: str, present: np.ndarray) -> str | None:
    """A note naming a column's codes (:func:`_special_codes`), or None. The values are kept:
    they may be real."""
    found = _special_codes(present)
    if found is None:
        return None
    shown_codes = ", ".join(f"{v:g}" for v in found.codes)
    return (f"column {name!r}: the value(s) {shown_codes} ({found.rows:,} training rows) {CODES_MARK} "
            f"(at most {found.below:g}): codes for \"unknown\" or \"refused\" in some sources rather "
            "than amounts or counts. If they are codes, blank them (a blank is imputed, with a missing "
            "indicator) or give them a column of their own; read as numbers they weigh as the largest values.")


def stability_edges(finite: np.ndarray, bins: int) -> np.ndarray:
    """The inner edges of a numeric column's stability bins (right-closed): the ``bins``-quantiles
    of its ``finite`` training values and :func:`separating_edges`, one array, as
    :func:`finlite.runtime.stability.reference_record` records them and
    :func:`finlite.evaluate.validation.csi_table` draws them (the two CSIs must agree)."""
    if not finite.size:
        return np.empty(0)
    out: np.ndarray = np.unique(np.concatenate([np.quantile(finite, np.linspace(0, 1, bins + 1)[1:-1]),
                                                separating_edges(finite)]))
    return out


def separating_edges(present: np.ndarray) -> list[float]:
    """Bin edges that give a numeric column's codes (:func:`_special_codes`) and far values
    (:func:`_far_values`) bins of their own, for the stability bins (right-closed, as
    :func:`finlite.runtime.stability.reference_record` and
    :func:`finlite.evaluate.validation.csi_table` make them): the largest value below the codes,
    the largest value below the far values above, and the largest far value below.

    Deciles put a mostly-zero count's 96 and 98 in one bin with its ones and twos, so a 17-fold
    rise in those codes read as stable (a walk-through of Give Me Some Credit, 2026-12-05)."""
    present = present[np.isfinite(present)]
    edges: list[float] = []
    codes = _special_codes(present)
    if codes is not None:
        edges.append(codes.below)
    far = _far_values(present)
    if far is not None:
        width = far.high - far.low
        above = present[present > far.high + far.times * width]
        if above.size:
            rest = present[present < above.min()]
            if rest.size:
                edges.append(float(rest.max()))
        below = present[present < far.low - far.times * width]
        if below.size:
            edges.append(float(below.max()))
    return edges


#: A category value kept (its own one-hot column, or its own weight of evidence or target rate)
#: with fewer training rows than this is stored by name in preprocessor.json, which ships with the
#: model, beside a number fitted to those few customers' outcomes: training warns of it
#: (:func:`disclosure_notes`). The default --min-category-count (10) keeps none.
DISCLOSURE_ROWS = _limits.CATEGORY_MIN_ROWS


def disclosure_notes(preprocessor: Preprocessor, train: pd.DataFrame) -> list[str]:
    """Warnings for the category values a fitted ``preprocessor`` keeps with fewer than
    :data:`DISCLOSURE_ROWS` rows of ``train`` (its training rows; ``--min-category-count`` set
    below it): a value of one row stored with its own weight of evidence tells anyone holding the
    artifact whether that customer defaulted (a data-protection walk-through, 2026-12-07: a
    postcode seen once, with one of two numbers, for good and for bad)."""
    notes = []
    for part in preprocessor.categorical_:
        if not part.categories or preprocessor.encoding.min_category_count >= DISCLOSURE_ROWS \
                or part.name not in train.columns:
            continue
        codes, distinct = Preprocessor._key_codes(train[part.name], "the training rows")
        rows = dict(zip(map(str, distinct), np.bincount(codes, minlength=len(distinct)).tolist(), strict=True))
        thin = [rows.get(k, 0) for k in part.categories if rows.get(k, 0) < DISCLOSURE_ROWS]
        if not thin:
            continue
        name, values, fewest = part.name, len(thin), min(thin)
        held = ("its weight of evidence or target rate: those rows' outcomes, smoothed, so the artifact discloses "
                "them (a value of one row: that customer's outcome)" if isinstance(part, _Valued) else
                "a one-hot column of its own, fitted to those few rows' outcomes, which the model may so carry")
        of = f"{values:,} values" if values > 1 else "1 value"
        notes.append(f"column {name!r}: {of} kept with fewer than {DISCLOSURE_ROWS} training rows (the fewest: "
                     f"{fewest}), each stored by name in preprocessor.json, which ships with the model, with {held}. "
                     f"Keep --min-category-count at {DISCLOSURE_ROWS} or more unless the artifact stays where the "
                     "training data may be read.")
    return notes


#: A numeric column whose values alone rank the training labels with an AUC this far from 0.5
#: (at least this, or at most 1 minus it) is named in a note as a likely leak.
SEPARATING_AUC = 0.99


def _two_classes(values: np.ndarray, labels: np.ndarray | None) -> tuple[np.ndarray, int, int] | None:
    """The 0/1 labels of both classes, one per value and at least 10 of each (with one fraud, a
    random column ranks it first 2 times in n + 1), with their counts; None otherwise."""
    if labels is None:
        return None
    y = np.asarray(labels)
    if y.shape != values.shape or y.size < 20:
        return None
    positives = int(np.count_nonzero(y == 1))
    negatives = int(np.count_nonzero(y == 0))
    if min(positives, negatives) < 10 or positives + negatives != y.size:
        return None
    return y, positives, negatives


def _rank_auc(scores: np.ndarray, y: np.ndarray, positives: int, negatives: int) -> float:
    """The AUC of ``scores`` for the 0/1 labels ``y`` from ranks (scipy's ``rankdata``, ties
    averaged: the Mann-Whitney statistic, as ``evaluate.metrics.auc`` computes it, which this layer
    may not import)."""
    from scipy.stats import rankdata

    ranks = rankdata(scores)
    return (float(ranks[y == 1].sum()) - positives * (positives + 1) / 2) / (positives * negatives)


def _separates(auc: float) -> bool:
    return not SEPARATING_AUC > auc > 1 - SEPARATING_AUC


def _separating_note(name: str, values: np.ndarray, labels: np.ndarray | None) -> str | None:
    """A note naming a numeric column that alone separates the training labels, or None. A sampling
    weight left in a fraud table (legitimate rows 10, frauds 1) gave a test AUC of 1.0000 with
    nothing said (a fraud engineer's walk-through, 2026-12-04 night); a charge-off amount in a loan
    book does the same. Its blanks count as the model reads them (their own indicator): ranked
    below every value and above, beside the values with the median filled in; a loss amount
    blank for every good loan separated them by its blanks alone and was not named, as the
    median filled in mixed them (an LGD modeller's walk-through, 2026-12-07). Only for 0/1
    labels of both classes, one per row (:func:`_two_classes`)."""
    known = _two_classes(values, labels)
    if known is None:
        return None
    y, positives, negatives = known
    blank = np.isnan(values)
    if blank.all():
        return None
    ways = {"by its values": np.where(blank, np.median(values[~blank]), values)}
    if blank.any():
        ways["by its values, blanks ranked lowest"] = np.where(blank, -np.inf, values)
        ways["by its values, blanks ranked highest"] = np.where(blank, np.inf, values)
    aucs = {how: _rank_auc(v, y, positives, negatives) for how, v in ways.items()}
    how = max(aucs, key=lambda k: abs(aucs[k] - 0.5))
    if not _separates(aucs[how]):
        return None
    return (f"column {name!r} alone separates the training labels (AUC {aucs[how]:.4f} {how}): if it is known "
            f"only after the outcome (a charge-off amount, a status, a sampling weight), {LEAK_MARK}; "
            f"{leak_advice(name)}")


#: Folds of the categorical leak check's out-of-fold rates (:func:`_separating_category_note`).
_LEAK_FOLDS = 5


def _separating_category_note(name: str, codes: np.ndarray, distinct: np.ndarray, labels: np.ndarray | None,
                              min_rows: int) -> str | None:
    """A note naming a categorical column that alone separates the training labels, or None: its
    rows ranked by their value's rate of the positive class in the other folds (the ordering weight
    of evidence learns, out of fold as finlite fits it), a value in fewer than ``min_rows`` rows
    there at the overall rate, so an identifier's values separate nothing. A recovery-workout stage set for every bad loan
    and blank for every good one gave a test AUC of 1.0000 without a word, even under --strict,
    which only ranked numeric columns (an LGD modeller's walk-through, 2026-12-07). Only for 0/1
    labels of both classes (:func:`_two_classes`)."""
    known = _two_classes(codes, labels)
    if known is None:
        return None
    y, positives, negatives = known
    size = len(distinct)
    rows = np.bincount(codes, minlength=size)
    hits = np.bincount(codes, weights=(y == 1).astype(np.float64), minlength=size)
    # Each row ranked by its value's rate in the OTHER folds (five, by row position): in-sample, a
    # merchant id of pure noise in a book of 0.03 % frauds ranked at AUC 0.996, its values mostly of
    # no fraud (a review, 2026-12-07); out of fold such a value's rate says nothing of its own rows.
    fold = np.arange(y.size) % _LEAK_FOLDS
    score = np.empty(y.size, dtype=np.float64)
    for f in range(_LEAK_FOLDS):
        mine = fold == f
        n_in = rows - np.bincount(codes[mine], minlength=size)
        k_in = hits - np.bincount(codes[mine], weights=(y[mine] == 1).astype(np.float64), minlength=size)
        prior = (positives - float((y[mine] == 1).sum())) / max(int((~mine).sum()), 1)
        rate_in = np.where(n_in >= max(int(min_rows), 1), k_in / np.maximum(n_in, 1), prior)
        score[mine] = rate_in[codes[mine]]
    auc = _rank_auc(score, y, positives, negatives)
    if not _separates(auc):
        return None
    pure = [(str(distinct[i]), int(rows[i])) for i in np.argsort(-rows) if rows[i] >= min_rows
            and hits[i] in (0, rows[i])][:3]
    shown = ", ".join(f"{'blank' if k == MISSING else repr(k)} ({n:,} rows)" for k, n in pure)
    return (f"column {name!r} alone separates the training labels (AUC {auc:.4f} by its values' rates of the "
            f"positive class" + (f"; values of one class only: {shown}" if pure else "") + "): if it is known only "
            f"after the outcome (a workout stage, a status, a collection code), {LEAK_MARK}; {leak_advice(name)}")


@dataclass
class _Categorical:
    """A one-hot encoded column: its own column per kept value, ``__other__`` (when ``other`` is
    not empty) and ``__unseen__``."""

    name: str
    categories: list[str]
    other: list[str] = field(default_factory=list)
    encoding: str = "onehot"
    index: pd.Index = field(init=False, repr=False)

    def __post_init__(self) -> None:
        # Kept values first, then the rare ones: get_indexer gives a position in one lookup.
        self.index = pd.Index(self.categories + self.other)

    @property
    def width(self) -> int:
        return len(self.categories) + bool(self.other) + 1


@dataclass
class _Valued:
    """A weight-of-evidence or target-encoded column: one number per kept value (``categories``
    and ``values`` in parallel), ``default`` (the prior) for rare, unseen and missing-if-rare values;
    ``other`` lists the rare training values so scoring can tell them from unseen ones."""

    name: str
    encoding: str  # "woe" or "target"
    categories: list[str]
    values: list[float]
    default: float
    other: list[str] = field(default_factory=list)
    index: pd.Index = field(init=False, repr=False)
    #: Every training value, kept or rare: what a key's alias is resolved against (a rare value
    #: is a training key too, scored as the default), as the runtime encoders' lookup holds both.
    known: pd.Index = field(init=False, repr=False)
    width: int = field(default=1, init=False, repr=False)

    def __post_init__(self) -> None:
        self.index = pd.Index(self.categories)
        self.known = pd.Index(self.categories + self.other)

    def lookup(self, keys: np.ndarray) -> np.ndarray:
        """The number of each key (the default for keys without one)."""
        table = np.append(np.asarray(self.values, dtype=np.float64), self.default)
        codes = self.index.get_indexer(pd.Index(keys))  # what pandas does with an array itself
        return table[np.where(codes < 0, len(self.values), codes)]


def _refuse_dates(series: pd.Series, part: _Categorical | _Valued, source: str) -> None:
    """Refuse a category column of dates or timestamps (typed so, or holding such objects)
    when no training key reads as one, as the runtime's Arrow path does
    (:func:`finlite._keys.date_column_refusal`): every row scored as an unseen category, with a
    warning only (a review, 2026-12-04). ``part``'s training keys are read only for such a column."""
    dtype = series.dtype
    # Days and instants only: a period ('2024Q4') or a duration ('1 days') keys as its own text.
    temporal = pd.api.types.is_datetime64_any_dtype(dtype)
    if not temporal and pd.api.types.is_object_dtype(dtype):
        stamp = DATE_TYPES
        distinct = series.dropna().unique()
        dated = [v for v in distinct if isinstance(v, stamp)]
        temporal = bool(dated) and len(dated) == len(distinct)
        if dated and not temporal and date_column_refusal(str(series.name), "", [*part.categories, *part.other],
                                                          source) is not None:
            # A date among text: a record refuses it, so does this (it scored as an unseen category:
            # a review, 2026-12-07).
            from finlite._finite import frame_row

            row = int(np.flatnonzero(series.map(lambda v: isinstance(v, stamp)).to_numpy(dtype=bool))[0])
            raise DataError(f"Categorical column {series.name!r} in {source} holds a date or time "
                            f"({series.iloc[row]!s}) at {frame_row(series.index, row)}, but the model was trained on "
                            "categories that no date or time reads as: send the value as in training.")
    if temporal:
        refusal = date_column_refusal(str(series.name), str(dtype), [*part.categories, *part.other], source,
                                      part.categories)
        if refusal is not None:
            raise DataError(refusal)


def _with_aliases(distinct: np.ndarray, index: pd.Index) -> np.ndarray:
    """``distinct`` keys with each one that is not in ``index`` replaced by its first alias that
    is (:func:`finlite._keys.key_aliases`: "94110.0" read as text is the code 94110, key
    "94110"; "true" is the boolean True, key "True"), as every runtime encoder does."""
    out = distinct
    for i in np.flatnonzero(index.get_indexer(pd.Index(distinct)) < 0).tolist():
        alias = next((a for a in key_aliases(str(distinct[i]), index) if a in index), None)
        if alias is not None:
            if out is distinct:
                out = distinct.copy()
            out[i] = alias
    return out


def _prior(positives: float, rows: float) -> float:
    """The positive rate, kept off 0 and 1 (a fold of a tiny split may lack a class) so its
    log-odds is finite."""
    floor = 0.5 / (rows + 1.0)
    return min(max(positives / rows, floor), 1.0 - floor) if rows > 0 else 0.5


def _encode_stats(positives: np.ndarray, rows: np.ndarray, prior: float, kind: str, m: float) -> np.ndarray:
    """Weight of evidence or target rate of values with these counts (m-estimate smoothing)."""
    rate = (positives + m * prior) / (rows + m) if m > 0 else positives / np.maximum(rows, 1)
    if kind == "target":
        return rate
    # Kept off 0 and 1 when m == 0 and a value is pure: the log-odds stays finite.
    rate = np.clip(rate, 0.5 / (rows + 1.0), 1.0 - 0.5 / (rows + 1.0))
    return np.log(rate / (1.0 - rate)) - math.log(prior / (1.0 - prior))


class Preprocessor:
    """Turn raw rows into model inputs the same way in training and in scoring.

    Follows the estimator contract: construct, :meth:`fit` on training rows, then
    :meth:`transform` any table with the schema's columns (and
    :meth:`transform_out_of_fold` the training rows themselves).
    """

    def __init__(self, schema: Schema, encoding: Encoding | None = None) -> None:
        self.schema = schema
        self.encoding = encoding or Encoding()
        self.numeric_: list[_Numeric] = []
        self.categorical_: list[_Categorical | _Valued] = []
        self.notes_: list[str] = []
        self.fitted_ = False

    # -- fitting -----------------------------------------------------------------------
    def fit(self, frame: pd.DataFrame, source: str = "the training data",
            labels: np.ndarray | None = None) -> Preprocessor:
        """Learn medians, scales, categories and encodings from ``frame`` (the training split only;
        :meth:`cover` then widens the range of values scoring accepts to the other splits).

        ``labels`` (0/1, one per row) are needed for weight of evidence / target encoding; by
        default they are read from the schema's target column of ``frame``.

        Raises:
            DataError: a feature column is missing or empty in every row, or a numeric column
                holds text or a number that is not finite or does not fit float32 (named with
                its row and value: a model cannot be trained on it).
        """
        self.fitted_ = False  # a refused fit (any of the errors below) leaves nothing marked fitted
        self.schema.check_columns(frame, source)
        enc = self.encoding
        self.notes_ = []
        self.numeric_ = []
        # Training rows blank in every feature (ANDed column by column): a model that learned such
        # rows (a bureau's no-hit applicant) scores them; one that did not refuses them as empty
        # lines (runtime Encoder.blanks_learned; a review, 2026-12-06).
        everywhere: np.ndarray | None = None
        for name in self.schema.numeric:
            rule = self.schema.number_rule(name)
            parse = rule if isinstance(rule, str) else "number"
            values = numeric_column(frame[name], name, source, money=rule)
            everywhere = np.isnan(values) if everywhere is None else everywhere & np.isnan(values)
            present = values[~np.isnan(values)]
            if present.size == 0:
                raise DataError(
                    f"Numeric column {name!r} is empty in every training row of {source}; drop it or fill it."
                )
            median = float(np.median(present))
            filled = np.where(np.isnan(values), median, values)
            far = _far_values(present)
            # Centred on the median of the values the range is taken from: where most rows hold one
            # value (zeros), the other values then sit near the centre, on the squash's steep part,
            # not several ranges out on its flat part (a review, 2026-12-05).
            squashed = (far.center, far.high - far.low) if far is not None and enc.extremes == "squash" \
                and far.high - far.low >= SQUASH_MIN_SCALE else None
            note = _far_values_note(name, far, squashed is not None) if far is not None else \
                _special_codes_note(name, present)
            if note:
                self.notes_.append(note)
            leak = _separating_note(name, values, labels)
            if leak:
                self.notes_.append(leak)
            # A squashed column's mean and spread are those of its squashed values: what is standardised.
            read = squash(filled, *squashed) if squashed is not None else filled
            std = float(read.std())
            center = float(np.median(read)) if enc.numeric_center == "median" else float(read.mean())
            self.numeric_.append(_Numeric(name, median, center, std if std > 0 else 1.0,
                                          bool(present.size < values.size), parse, float(present.min()),
                                          float(present.max()), squashed))
        self.categorical_ = []
        y: np.ndarray | None = None
        for name in self.schema.categorical:
            codes, distinct = self._key_codes(frame[name], source)
            leak = _separating_category_note(name, codes, distinct, labels, enc.min_category_count)
            if leak:
                self.notes_.append(leak)
            blank = np.array([k == MISSING for k in distinct], dtype=bool)[codes]
            everywhere = blank if everywhere is None else everywhere & blank
            counts = {str(k): int(v) for k, v in zip(distinct, np.bincount(codes, minlength=len(distinct)),
                                                       strict=True) if v > 0}
            # Most frequent first (ties by name) so the encoding does not depend on row order.
            ordered = sorted(counts, key=lambda k: (-counts[k], k))
            frequent = [k for k in ordered if counts[k] >= enc.min_category_count]
            if len(ordered) > enc.max_categories and enc.high_cardinality != "onehot":
                if y is None:
                    y = self._labels(frame, source, labels)
                self.categorical_.append(self._fit_valued(name, codes, distinct, y, frequent, ordered))
                continue
            kept = frequent[:enc.max_categories]
            if not kept:
                # No value has rows enough to be kept: every row, in training and scoring alike,
                # takes the unseen column, and no value is written to preprocessor.json. Listing
                # the rare ones (an identifier forced in with --categorical: every customer's IBAN)
                # would only tell them from unseen ones (a data-protection walk-through, 2026-12-07).
                # A blank is no customer's value: listed, so blanks keep their own (other) column and
                # stay a value training saw (--no-impute, the blank counts; a review, 2026-12-07).
                self.categorical_.append(_Categorical(name, [], [MISSING] if MISSING in ordered else []))
                blank = f" (a blank takes {name}={OTHER})" if MISSING in ordered else ""
                self.notes_.append(f"column {name!r}: {len(ordered):,} values, none in {enc.min_category_count} or more "
                                   f"training rows, so every value takes {name}={UNSEEN}{blank} and the column adds "
                                   f"nothing{' but whether it is blank' if blank else ''} (lower --min-category-count, "
                                   "or drop it); its values are not stored")
                continue
            kept_set = set(kept)
            rare = sorted(k for k in ordered if k not in kept_set)
            listed = enc.rare_values == "listed"
            # Under --rare-values unseen only the values under the count go unlisted: a frequent value
            # beyond --max-categories (or a blank) is no customer's, and keeps the other column.
            stored = rare if listed else [k for k in rare if k == MISSING or counts[k] >= enc.min_category_count]
            self.categorical_.append(_Categorical(name, kept, stored))
            if rare:
                why = (f"the {enc.max_categories} most frequent one-hot" if len(ordered) > enc.max_categories
                       else f"values in at least {enc.min_category_count} training rows one-hot")
                others = "1 other value takes" if len(stored) == 1 else f"{len(stored):,} others share"
                said = [f"{others} {name}={OTHER}"] if stored else []
                unlisted = len(rare) - len(stored)
                if unlisted:
                    said.append(f"{unlisted:,} in fewer than {enc.min_category_count} training rows take {name}={UNSEEN}, "
                                "as values never seen do (not stored: --rare-values unseen)")
                self.notes_.append(f"column {name!r}: {len(ordered):,} values; {why}, {'; '.join(said)}")
        self._check_values_listed(source)
        self._check_names_distinct(source)
        self.all_blank_rows_: int | None = int(everywhere.sum()) if everywhere is not None else 0
        self.fitted_ = True
        return self

    def _check_names_distinct(self, source: str) -> None:
        """Refuse a column named as finlite names an encoded column of another (``x__is_missing``,
        ``purpose=car``, ``x__woe``): the report's reasons went by name, and credited the real
        column's effect to the other (60 of 64 declines; a review, 2026-12-03)."""
        names = self._output_names()
        if len(set(names)) == len(names):
            return
        seen: set[str] = set()
        clash = next(n for n in names if n in seen or seen.add(n))  # type: ignore[func-returns-value]
        kinds = ("(a missing-value indicator '<column>__is_missing', a one-hot value '<column>=<value>', or "
                 "'<column>__woe' / '<column>__target'); the two would be confused in the reasons and the report.")
        if clash in set(self.schema.numeric) | set(self.schema.categorical):
            raise DataError(f"Column {clash!r} in {source} has the name finlite gives to an encoded column of "
                            f"another {kinds} Rename column {clash!r} in the table.")
        # Two encoded columns of one name: a value such as '__other__', or '=' in a column's name and
        # a value ('a' with the value 'b=c' beside a column 'a=b' with the value 'c').
        raise DataError(f"Two encoded columns of {source} would both be named {clash!r} {kinds} It comes from a "
                        "category value (such as '__other__') or a '=' in a column name; rename that column or "
                        "recode that value.")

    def _check_values_listed(self, source: str) -> None:
        """Refuse at training what no artifact could load: every training value of every categorical
        column is written to preprocessor.json (rare ones too, so scoring tells them from unseen
        ones), and a reader accepts at most ``_spec.MAX_VALUES`` of them in all."""
        sizes = {c.name: len(c.categories) + len(c.other) for c in self.categorical_}
        if sum(sizes.values()) > _spec.MAX_VALUES:
            largest = sorted(sizes, key=lambda n: -sizes[n])[:3]
            raise DataError(f"The categorical columns of {source} hold {sum(sizes.values()):,} distinct values, more than "
                            f"the {_spec.MAX_VALUES:,} an artifact may list (largest: "
                            + ", ".join(f"{n!r} with {sizes[n]:,}" for n in largest)
                            + "); such a column is an identifier rather than a category: drop it (--drop COLUMN).")

    def _labels(self, frame: pd.DataFrame, source: str, labels: np.ndarray | None) -> np.ndarray:
        if labels is None:
            return self.schema.labels(frame, source).astype(np.float64)
        y = np.asarray(labels, dtype=np.float64)
        if y.shape != (len(frame),):
            raise DataError(f"{len(y)} labels for {len(frame)} rows of {source}; pass one 0/1 label per row.")
        return y

    def _fit_valued(self, name: str, key_codes: np.ndarray, distinct: np.ndarray, y: np.ndarray,
                    frequent: list[str], ordered: list[str]) -> _Valued:
        enc = self.encoding
        prior = _prior(float(y.sum()), float(len(y)))
        codes = pd.Index(frequent).get_indexer(pd.Index(distinct))[key_codes]
        kept = codes >= 0
        rows = np.bincount(codes[kept], minlength=len(frequent)).astype(np.float64)
        positives = np.bincount(codes[kept], weights=y[kept], minlength=len(frequent))
        values = _encode_stats(positives, rows, prior, enc.high_cardinality, enc.smoothing)
        default = prior if enc.high_cardinality == "target" else 0.0
        frequent_set = set(frequent)
        # With no value kept every row takes the prior, rare or unseen: the rare values (an
        # identifier's, every customer's) are not stored (a data-protection walk-through, 2026-12-07).
        rare = sorted(k for k in ordered if k not in frequent_set)
        if not frequent or enc.rare_values != "listed":
            # A blank is no customer's value: kept listed, so a blank stays a value training saw
            # (--no-impute, the blank counts), as it was (a review, 2026-12-07).
            rare = [MISSING] if MISSING in rare else []
        what = "weight of evidence" if enc.high_cardinality == "woe" else "target encoding (m-estimate)"
        if frequent:
            which = (f"{what} of the {len(frequent):,} value{'' if len(frequent) == 1 else 's'} in at least "
                     f"{enc.min_category_count} training rows, the prior for the others"
                     + ("" if enc.rare_values == "listed" else ", which are not stored (--rare-values unseen)"))
        else:
            # "of the 0 values": every row took the prior, and the card listed the column as an input
            # (zip_code's 893 values in 3,000 rows: a walk-through, 2026-12-05).
            which = (f"no value is in {enc.min_category_count} or more training rows, so every row takes the prior "
                     f"and the column adds nothing (lower --min-category-count, or drop it); its values are not stored")
        # Blanks are one key among the values: said, so the count is the distinct values a validator
        # finds (2,524 read as 2,523 banks and blanks; a validator's walk-through, 2026-12-05), with the
        # smoothing that the encoding's numbers depend on.
        blanks = "empty or blank counted as one; " if MISSING in ordered else ""
        smoothed = (f"smoothed towards the prior with weight m = {enc.smoothing:g}" if enc.smoothing > 0
                    else "not smoothed (m = 0)")
        self.notes_.append(
            f"column {name!r}: {len(ordered):,} values ({blanks}more than --max-categories {enc.max_categories}): "
            f"{which}; {smoothed}; training rows encoded out of "
            f"fold ({enc.folds} folds, seed {enc.seed})")
        return _Valued(name, enc.high_cardinality, frequent, [float(v) for v in values], float(default), rare)

    @staticmethod
    def _key_codes(series: pd.Series, source: str) -> tuple[np.ndarray, np.ndarray]:
        """Each row's category key as (an index into the distinct keys, the distinct keys).

        Worked out once per distinct raw value (City has 900,000 rows and 32,000 values): numbers
        declared categorical go through :func:`label_key`, so 3 and 3.0 are the same category
        whether a file's column came out as int (no gaps) or float (with gaps); text is stripped;
        missing and empty values are ``__missing__``.
        """
        codes, uniques = factorize_cells(series, str(series.name), source)
        if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
            raw = [label_key(v) for v in uniques]
        else:
            text = pd.Series(uniques).astype("string").str.strip()
            raw = text.fillna(MISSING).replace("", MISSING).tolist()
        keys, distinct = pd.factorize(np.array([*raw, MISSING], dtype=object))  # " a" and "a" become one key
        return keys[np.where(codes < 0, len(raw), codes)], np.asarray(distinct, dtype=object)

    @property
    def keyless(self) -> frozenset[str]:
        """The category columns that keep no value but perhaps the blank (none had rows enough):
        every other value is unseen by design, which runs count but do not warn of as a recoded
        column (a review, 2026-12-07). The runtime Encoder's ``keyless`` is the same set."""
        return frozenset(c.name for c in self.categorical_ if not c.categories and all(k == MISSING for k in c.other))

    # -- layout ------------------------------------------------------------------------
    def _valued(self) -> list[_Valued]:
        return [c for c in self.categorical_ if isinstance(c, _Valued)]

    def _onehot(self) -> list[_Categorical]:
        return [c for c in self.categorical_ if isinstance(c, _Categorical)]

    @property
    def feature_names(self) -> list[str]:
        """Names of the output columns, in order."""
        self._check_fitted()
        return self._output_names()

    def _output_names(self) -> list[str]:
        """The output columns' names from the fitted parts (fit checks them before it marks itself fitted)."""
        # Each part's fields as the spec writes them (a one-hot part has no 'encoding': the default).
        return _spec.encoded_names([vars(num) for num in self.numeric_], [vars(cat) for cat in self.categorical_])

    @property
    def n_features(self) -> int:
        """Width of the output matrix."""
        self._check_fitted()
        return (len(self.numeric_) + sum(num.indicator for num in self.numeric_)
                + sum(c.width for c in self.categorical_))

    @property
    def notes(self) -> list[str]:
        """What fitting chose for each categorical column that is not plainly one-hot (for the schema's notes)."""
        return list(self.notes_)

    def column_groups(self) -> tuple[int, list[list[int]]]:
        """Layout of the output matrix: (number of leading standardised numeric columns, the
        column indices of each categorical one-hot group).

        Between the two sit the missing indicators and then the weight-of-evidence /
        target-encoded columns: neither standardised numbers nor one-hot groups, so a transfer
        set copies them from real rows as they are.
        """
        self._check_fitted()
        start = len(self.numeric_) + sum(num.indicator for num in self.numeric_) + len(self._valued())
        groups = []
        for cat in self._onehot():
            groups.append(list(range(start, start + cat.width)))
            start += cat.width
        return len(self.numeric_), groups

    # -- memory ------------------------------------------------------------------------
    def estimate_bytes(self, rows: int) -> int:
        """Bytes encoding ``rows`` rows takes: the float32 matrix plus one column's temporaries."""
        self._check_fitted()
        return int(rows) * (4 * self.n_features + 64)

    def check_memory(self, rows: int, source: str = "the data") -> None:
        """Refuse, before allocating, an encoding of ``rows`` rows that would not fit in memory.

        Raises:
            DataError: naming the widest columns and the options that make the matrix narrower.
        """
        free = _limits.available_memory()
        need = self.estimate_bytes(rows)
        if free is None or need <= _limits._MEMORY_SHARE * free:
            return
        widths = sorted(((c.width, c) for c in self.categorical_), key=lambda t: -t[0])[:3]
        widest = ", ".join(f"{c.name!r} ({w:,} columns, {c.encoding})" for w, c in widths) or "none"
        top = widths[0][1].name if widths else "COL"
        raise DataError(
            f"Encoding {rows:,} rows of {source} makes {self.n_features:,} float32 columns, about "
            f"{_limits.format_bytes(need)}, more than {_limits.memory_share_text(free)}. The widest "
            f"categorical columns: {widest}. Make the encoding narrower: allow fewer one-hot columns than "
            f"max_categories={self.encoding.max_categories}, encode high-cardinality columns with "
            f"high_cardinality='woe' (or 'target') instead of 'onehot', or leave the column out with drop=[{top!r}].",
            param="max_categories")

    # -- transforming ------------------------------------------------------------------
    def transform(self, frame: pd.DataFrame, source: str = "the data") -> np.ndarray:
        """Encode ``frame`` as a float32 matrix with one row per input row (the whole-training-split
        mapping for weight of evidence / target encoding).

        Raises:
            DataError: a feature column is missing, or a numeric column holds text, a number that
                is not finite or does not fit float32, or one whose standardised value does not
                (the message names the column, the row and the value); or the matrix would not
                fit in memory (naming the widest columns and the options that fix it).
        """
        self._check_fitted()
        self.schema.check_columns(frame, source)
        frame = without_views(frame)
        n = len(frame)
        self.check_memory(n, source)
        # One preallocated float32 matrix: no float64 blocks, no hstack copy.
        out = np.zeros((n, self.n_features), dtype=np.float32)
        indicator = len(self.numeric_)
        for j, spec in enumerate(self.numeric_):
            if spec.low is not None and spec.high is not None and pd.api.types.is_bool_dtype(frame[spec.name]):
                refusal = boolean_refusal(spec.name, source, (spec.low, spec.high))
                if refusal is not None:  # a count arriving as count > 0 would score as 1/0
                    raise DataError(refusal)
            # Refuses inf, values beyond float32, and values whose standardised form overflows
            # float32 (a tiny scale, x far from training): the model would see infinity.
            values = numeric_column(frame[spec.name], spec.name, source, standardise=spec.standardise,
                                    money=spec.rule)
            missing = np.isnan(values)
            # Float64 arithmetic, rounded once to float32 on assignment (as the runtime encoder does).
            out[:, j] = spec.encode(np.where(missing, spec.median, values))
            if spec.indicator:
                out[:, indicator] = missing
                indicator += 1
        col = indicator
        for val in self._valued():
            codes, distinct = self._key_codes(frame[val.name], source)
            _refuse_dates(frame[val.name], val, source)
            out[:, col] = val.lookup(_with_aliases(distinct, val.known))[codes]
            col += 1
        rows = np.arange(n)
        for cat in self._onehot():
            codes, distinct = self._key_codes(frame[cat.name], source)
            _refuse_dates(frame[cat.name], cat, source)
            codes = cat.index.get_indexer(pd.Index(_with_aliases(distinct, cat.index)))[codes]
            kept = len(cat.categories)
            # A rare training value -> the other column; unseen -> the last one.
            codes = np.where(codes < 0, cat.width - 1, np.minimum(codes, kept))
            out[rows, col + codes] = 1.0
            col += cat.width
        return out

    def transform_out_of_fold(self, frame: pd.DataFrame, labels: np.ndarray | None = None,
                              source: str = "the training data") -> np.ndarray:
        """Encode the TRAINING rows ``frame`` (the rows :meth:`fit` saw, in the same order) with
        weight of evidence / target encoding computed out of fold: each row gets the statistics
        of the other folds, so its own label never reaches its encoding.

        Reproducible from ``preprocessor.json`` and the rows: the folds depend only on the
        stored ``folds`` and ``seed`` and the number of rows. Without high-cardinality columns
        this is :meth:`transform`. ``labels`` default to the schema's target column of ``frame``.
        """
        x = self.transform(frame, source)
        valued = self._valued()
        if not valued:
            return x
        y = self._labels(frame, source, labels)
        fold = self.fold_ids(len(frame), self._groups(frame, source))
        start = len(self.numeric_) + sum(num.indicator for num in self.numeric_)
        for offset, val in enumerate(valued):
            codes, _ = self._key_codes(frame[val.name], source)
            x[:, start + offset] = self._out_of_fold(codes, y, fold, val.encoding)
        return x

    def fold_ids(self, rows: int, groups: np.ndarray | None = None) -> np.ndarray:
        """The fold (0 .. folds-1) of each of ``rows`` training rows: a seeded shuffle dealt round-robin,
        so the folds are as equal as they can be; with ``groups`` (each row's group code, under a
        split by group) whole groups are dealt (:func:`finlite.data.split.grouped_folds`)."""
        if groups is not None:
            from finlite.data.split import grouped_folds

            return grouped_folds(groups, self.encoding.folds, self.encoding.seed)
        order = np.random.default_rng(self.encoding.seed).permutation(rows)
        fold = np.empty(rows, dtype=np.int64)
        fold[order] = np.arange(rows) % self.encoding.folds
        return fold

    def _groups(self, frame: pd.DataFrame, source: str) -> np.ndarray | None:
        """Each training row's group code under a split by group, else None."""
        column = self.encoding.group_column
        if column is None:
            return None
        if column not in frame.columns:
            raise DataError(f"The out-of-fold encoding keeps the rows of each {column!r} in one fold, and {source} "
                            f"lacks that column. Give the table the model was trained on.", param="group_column")
        from finlite.data.split import group_codes

        return group_codes(frame[column], column, source)

    def _out_of_fold(self, codes: np.ndarray, y: np.ndarray, fold: np.ndarray, kind: str) -> np.ndarray:
        enc = self.encoding
        u = int(codes.max()) + 1 if len(codes) else 0
        rows_all = np.bincount(codes, minlength=u).astype(np.float64)
        pos_all = np.bincount(codes, weights=y, minlength=u)
        out = np.empty(len(codes), dtype=np.float64)
        for f in range(enc.folds):
            inside = fold == f
            rows = rows_all - np.bincount(codes[inside], minlength=u)
            positives = pos_all - np.bincount(codes[inside], weights=y[inside], minlength=u)
            n_out = float(len(y) - inside.sum())
            prior = _prior(float(y.sum() - y[inside].sum()), n_out)
            values = _encode_stats(positives, rows, prior, kind, enc.smoothing)
            # As in the full mapping: a value rare outside the fold takes the prior.
            values = np.where(rows >= enc.min_category_count, values, prior if kind == "target" else 0.0)
            out[inside] = values[codes[inside]]
        return out

    def fit_transform(self, frame: pd.DataFrame, source: str = "the training data",
                      labels: np.ndarray | None = None) -> np.ndarray:
        """:meth:`fit` then :meth:`transform_out_of_fold` on the same (training) rows."""
        return self.fit(frame, source, labels).transform_out_of_fold(frame, labels, source)

    def cover(self, frame: pd.DataFrame, source: str = "the training data") -> Preprocessor:
        """Widen each numeric column's recorded range (``low``..``high``, which later scoring checks
        values against: :func:`finlite._finite.value_bounds`) to the values of ``frame`` too.

        The training job passes its whole table: its validation and test rows are data the model
        is judged on, so they must pass the check (one whale of 5e6 among amounts near 1,000,
        drawn into the test split, refused training: a review, 2026-12-03). The range decides
        only what is accepted, never an encoded value.
        """
        self._check_fitted()
        for spec in self.numeric_:
            if spec.name not in frame.columns:
                continue
            values = numeric_column(frame[spec.name], spec.name, source, money=spec.rule)
            present = values[~np.isnan(values)]
            if present.size and spec.low is not None and spec.high is not None:
                spec.low, spec.high = min(spec.low, float(present.min())), max(spec.high, float(present.max()))
        return self

    def _check_fitted(self) -> None:
        if not self.fitted_:
            raise DataError("This Preprocessor is not fitted yet; call fit() on the training split first.")

    # -- persistence -------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form holding everything transform() needs."""
        self._check_fitted()
        categorical: list[dict[str, Any]] = []
        for c in self.categorical_:
            if isinstance(c, _Valued):
                categorical.append({"name": c.name, "encoding": c.encoding, "categories": c.categories,
                                    "values": c.values, "default": c.default, "other": c.other})
            else:
                categorical.append({"name": c.name, "encoding": "onehot", "categories": c.categories,
                                    "other": c.other})
        squashed = any(s.squash is not None for s in self.numeric_)
        encoding = self.encoding.to_dict()
        if not squashed:  # nothing was: the file is what a reader without squashing reads alike
            encoding.pop("extremes", None)
        return {
            # A squashed column needs a reader that squashes: an older one would read the file and
            # standardise raw values by the squashed values' mean and spread, so it is refused there.
            "format": FORMAT_SQUASHED if squashed else _FORMAT,
            "schema": self.schema.to_dict(),
            "encoding": encoding,
            "numeric": [
                {"name": s.name, "median": s.median, "mean": s.mean, "std": s.std, "indicator": s.indicator,
                 "parse": s.parse, **({} if s.low is None else {"low": s.low, "high": s.high}),
                 **({} if s.squash is None else {"squash": {"center": s.squash[0], "scale": s.squash[1]}})}
                for s in self.numeric_
            ],
            "categorical": categorical,
            "feature_names": self.feature_names,
            # Training rows blank in every feature (absent from files written before it was counted).
            **({} if getattr(self, "all_blank_rows_", None) is None else {"all_blank_rows": self.all_blank_rows_}),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "preprocessor.json") -> Preprocessor:
        """Rebuild a fitted Preprocessor from :meth:`to_dict` output (checked for sanity first).

        Version 1 files (one-hot over every training value) load as one-hot columns without an
        other bucket, and encode exactly as they did.
        """
        from finlite._spec import check_preprocessor_spec  # shared with the runtime Encoder

        check_preprocessor_spec(data, source)
        try:
            v1 = data["format"] == _FORMAT_V1
            encoding = Encoding(extremes="scale") if v1 else Encoding.from_dict(data["encoding"])
            pre = cls(Schema.from_dict(data["schema"]), encoding)
            pre.numeric_ = [_Numeric(d["name"], float(d["median"]), float(d["mean"]), float(d["std"]),
                                     bool(d["indicator"]), str(d.get("parse", "number")),
                                     low=float(d["low"]) if "low" in d else None,
                                     high=float(d["high"]) if "low" in d else None,
                                     squash=(float(d["squash"]["center"]), float(d["squash"]["scale"]))
                                     if "squash" in d else None)
                            for d in data["numeric"]]
            cats: list[_Categorical | _Valued] = []
            for d in data["categorical"]:
                kind = d.get("encoding", "onehot")
                if kind == "onehot":
                    cats.append(_Categorical(d["name"], [str(c) for c in d["categories"]],
                                             [str(c) for c in d.get("other", [])]))
                else:
                    cats.append(_Valued(d["name"], kind, [str(c) for c in d["categories"]],
                                        [float(v) for v in d["values"]], float(d["default"]),
                                        [str(c) for c in d.get("other", [])]))
            pre.categorical_ = cats
            blank_rows = data.get("all_blank_rows")
            pre.all_blank_rows_ = int(blank_rows) if isinstance(blank_rows, int) and not isinstance(blank_rows, bool) \
                else None
        except (KeyError, TypeError, ValueError, ConfigError) as exc:
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


def blank_numbers(frame: pd.DataFrame, preprocessor: Preprocessor, source: str = "the table") -> dict[str, int]:
    """Rows per numeric field that are missing, read as the preprocessor reads them
    (:func:`~finlite.data.schema.numeric_column`: NA, NaN, blank text, money text included): the
    rows it fills with the training median, as ``finlite score`` counts them (``imputed``), which
    ``evaluate`` tells of a hold-out (a numeric column blank in every row was evaluated without a
    word where a categorical one was warned of: a review, 2026-12-05). Call it on rows the
    preprocessor has transformed: a value it refuses is refused here the same way."""
    counts: dict[str, int] = {}
    for spec in preprocessor.numeric_:
        values = numeric_column(frame[spec.name], spec.name, source, money=spec.rule)
        count = int(np.count_nonzero(np.isnan(values)))
        if count:
            counts[spec.name] = count
    return counts


def unseen_counts(frame: pd.DataFrame, preprocessor: Any, empty: dict[str, int] | None = None) -> dict[str, int]:
    """Rows per categorical field whose category the fitted preprocessor never saw (nor kept as a
    rare "other" value), read as every encoder reads them (category keys and their aliases), a
    missing value counting when training had none: the counts ``finlite score`` reports, which
    ``evaluate`` and the report tell of a hold-out. ``empty``, when given, receives the rows per
    field among those that were empty or blank (their key MISSING: NA, blank text, NaN), as ``score``
    counts them apart (``unseen_empty``)."""
    from finlite._keys import category_key, category_keys

    counts: dict[str, int] = {}
    for spec in preprocessor.to_dict()["categorical"]:
        name = spec["name"]
        trained = {str(c) for c in spec["categories"]} | {str(c) for c in spec.get("other", [])}
        codes, uniques = pd.factorize(frame[name].astype("object"), use_na_sentinel=True)
        keys = [*category_keys(uniques, trained), category_key(None)]  # -1 (missing): the last key
        new = np.array([key not in trained for key in keys])
        count = int(np.count_nonzero(new[codes]))
        if count:
            counts[name] = count
            # Of those, the rows whose key is MISSING (NA, empty or blank text, NaN), as score counts them.
            blank = int(np.count_nonzero((new & (np.array(keys, dtype=object) == MISSING))[codes]))
            if empty is not None and blank:
                empty[name] = blank
    return counts
