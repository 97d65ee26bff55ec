"""Segments and fairness: where, and for whom, the student decides differently from the teacher.

Two report sections:

* ``segments`` (:func:`build_segments`): per value of each segment column (the columns named,
  and by default the categorical columns with a few values and the inputs named like a place or
  a vintage, :func:`default_segments`) the rows,
  positives, both models' AUC with the teacher − student difference and its 95 % paired bootstrap
  interval, the agreement of their decisions at the cut-off and both approval rates. A segment
  where the student ranks worse beyond the interval (Bonferroni-adjusted over the segments
  tested), or agrees with the teacher on fewer than 95 % of its rows with more flipped decisions
  than chance (a binomial test, Bonferroni-adjusted alike), is a *weak spot* (the term of PiML's
  weak-spot test); so is one agreeing on fewer than 90 % whose flips the test cannot tell from
  chance (it warns). For a regression task
  the segment shows the mean absolute difference of the two predictions and each model's RMSE.
* ``fairness`` (:func:`build_fairness`, binary tasks with a protected column): per group the
  approval rate, the bad-capture rate (declined | bad; fairlearn's TPR with the *flagged* class as
  the positive prediction) and the wrongful-decline rate (declined | good; its FPR — 1 − the
  equal-opportunity rate P(approved | good) of lending) and a calibration check (mean score vs
  observed positive rate), for teacher and student, from fairlearn's
  :class:`~fairlearn.metrics.MetricFrame`; the approval-rate ratio (min / max: the four-fifths
  rule) and the two gaps (max − min; the wrongful-decline gap is the equal-opportunity gap),
  flagging every disparity that compression widened beyond a paired bootstrap interval.

Groups are built the same way in both sections: values with fewer than :data:`MIN_ROWS` test rows
share one "other (n values)" group, a missing value is the group "(missing)", and a numeric
column with many values is banded into quartiles of its test values.

fairlearn is imported inside the function that uses it: importing :mod:`finlite` stays fast.
"""

from __future__ import annotations

import itertools
import math
import warnings
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

import numpy as np
import pandas as pd

from finlite._protected import likely_geography, likely_vintage, split_band_edges
from finlite._util import reaches
from finlite.data.schema import numeric_column
from finlite.errors import ConfigError, DataError, FinliteError
from finlite.evaluate._order import content_order
from finlite.evaluate.proxies import (
    PROXY_FOLDS,
    PROXY_MAX_CATEGORIES,
    PROXY_MAX_GROUPS,
    PROXY_MIN_ROWS,
    PROXY_ROWS,
    PROXY_WARN,
    proxy_strength,
)
from finlite.evaluate.sections import (
    DecisionWords,
    Plot,
    Section,
    Series,
    Status,
    Table,
    TabularInputs,
    json_number,
    worst,
)

__all__ = ["build_fairness", "build_segments", "default_segments"]

#: A group needs this many test rows to stand alone (and to be flagged); rarer values are pooled.
MIN_ROWS = 30
#: A binary segment's AUC difference is tested only with this many test rows of each class: a
#: bootstrap over one fraud made a spurious interval and a weak spot (a fraud engineer's
#: walk-through, 2026-12-04 night: FR, 809 rows, 1 positive, difference 0.015 "beyond chance").
MIN_SEGMENT_CLASS_ROWS = 5
#: A categorical column is a default segment column when it has 2..8 distinct test values.
DEFAULT_MAX_VALUES = 8
#: A categorical column named like a place is a default segment column with up to this many
#: distinct test values (a country's states and territories; not its cities or ZIP codes).
DEFAULT_MAX_PLACES = 60
#: Most groups one column keeps (the largest); the rest are pooled with the rare values.
MAX_GROUPS = 20
#: Bootstrap resamples behind each segment's paired interval, on up to 20,000 test rows; on more,
#: fewer (never under MIN_BOOT) so one column costs at most _BOOT_CELLS resampled rows.
N_BOOT = 1000
MIN_BOOT = 200
_BOOT_CELLS = 20_000_000
#: Most bars the segment agreement plot shows (the lowest agreements are kept).
MAX_BARS = 60
#: Cells per chunk of the bootstrap weight matrix (resamples x rows): bounds memory at ~32 MB.
_CHUNK_CELLS = 4_000_000

MISSING_GROUP = "(missing)"

# Segment rules (binary).
AGREEMENT_WARN = 0.95
AGREEMENT_FAIL = 0.90
AUC_FAIL = 0.05
#: The reason given where a segment's agreement is below AGREEMENT_FAIL but the binomial test
#: cannot tell its flips from chance (few rows, or many segments): it warns rather than passing in
#: silence.
NOT_SIGNIFICANT_REASON = f"agreement < {AGREEMENT_FAIL:.2f} not significant"
# Segment rule (regression): a weak spot fails when the student's RMSE exceeds the teacher's by
# more than this share of the teacher's RMSE beyond the interval.
RMSE_FAIL_SHARE = 0.10

# Fairness rules.
FOUR_FIFTHS = 0.8
WIDEN_WARN = 0.02
WIDEN_FAIL = 0.05
#: A group's bad-capture (wrongful-decline) rate enters its gap only with this many positives
#: (negatives): over 4 bads one flipped decision moves the rate by 0.25.
MIN_CLASS_ROWS = 30
#: Multinomial bootstrap resamples behind each widened-disparity interval.
FAIRNESS_BOOT = 1000


# -- columns and groups ----------------------------------------------------------------------------

def _check_columns(inp: TabularInputs, names: Sequence[str], param: str) -> None:
    present = [str(c) for c in inp.test_frame.columns]
    for name in names:
        if name not in inp.test_frame.columns:
            raise DataError(
                f"The {param} column {name!r} is not in the test data; its columns are: {', '.join(present)}. "
                f"Name one of those in {param}=[...].", param=param)


def default_segments(inp: TabularInputs) -> list[str]:
    """The segment columns of a report: the categorical columns with 2 to 8 distinct (non-missing)
    values in the test frame, sorted by name; then, sorted by name, the inputs a validator reads
    decisions by (a walk-through, 2026-12-05: SBA's report segmented only LowDoc): the categorical
    ones named like a place (:func:`~finlite._protected.likely_geography`: State, BankState) with up
    to :data:`DEFAULT_MAX_PLACES` values (each of the :data:`MAX_GROUPS` largest a group, the rest
    pooled; not City or Zip, of thousands) and those named like a vintage
    (:func:`~finlite._protected.likely_vintage`: ApprovalFY; a numeric one banded into quartiles)
    with 2 values or more; then the columns named in ``inp.segments`` (in the order given, each once).

    Raises:
        DataError: a column named in ``inp.segments`` is not in the test frame (the message lists
            the columns there are).
    """
    _check_columns(inp, inp.segments, "segments")
    found = sorted(
        str(c) for c in inp.categorical
        if c in inp.test_frame.columns and 2 <= inp.test_frame[c].nunique(dropna=True) <= DEFAULT_MAX_VALUES)
    frame = inp.test_frame
    inputs = [str(c) for c in (*inp.categorical, *inp.numeric) if c in frame.columns and str(c) not in found]
    places = set(likely_geography([c for c in inputs if c in inp.categorical]))
    vintages = set(likely_vintage(inputs))
    for name in sorted(places | vintages):
        values = frame[name].nunique(dropna=True)
        if values >= 2 and (name in vintages or values <= DEFAULT_MAX_PLACES):
            found.append(name)
    for name in inp.segments:
        if name not in found:
            found.append(name)
    return found


@dataclass
class _Groups:
    """A column's test rows split into groups: ``codes[i]`` is row i's group in ``labels``.
    ``bands`` (banded groups only) puts finite values of the column into their band's code."""

    column: str
    codes: np.ndarray
    labels: list[str]
    notes: list[str]
    banded: bool
    bands: Callable[[np.ndarray], np.ndarray] | None = None


def _fmt(v: float) -> str:
    return f"{v:.6g}"


def _is_numeric(inp: TabularInputs, name: str) -> bool:
    if name in inp.categorical:
        return False
    return name in inp.numeric or bool(pd.api.types.is_numeric_dtype(inp.test_frame[name]))


def _quartile_groups(name: str, values: np.ndarray) -> _Groups:
    """Quartile bands of the finite test values (edges that coincide merge); NaN is "(missing)"."""
    finite = values[np.isfinite(values)]
    # Edges are data values (inverted CDF), so no band is empty.
    edges = np.unique(np.quantile(finite, [0.0, 0.25, 0.5, 0.75, 1.0], method="inverted_cdf"))
    # Band k holds (edges[k], edges[k+1]]; the first band also holds its lower edge.
    def bands(v: np.ndarray) -> np.ndarray:
        return np.clip(np.searchsorted(edges, v, side="left") - 1, 0, max(len(edges) - 2, 0))

    band = bands(values)
    labels = [f"[{_fmt(edges[0])}, {_fmt(edges[1])}]"] if len(edges) > 1 else [f"[{_fmt(edges[0])}]"]
    labels += [f"({_fmt(lo)}, {_fmt(hi)}]" for lo, hi in itertools.pairwise(edges[1:])]
    codes = band.astype(np.int64)
    missing = ~np.isfinite(values)
    if missing.any():
        codes[missing] = len(labels)
        labels.append(MISSING_GROUP)
    note = (f"{name}: a numeric column with more than {DEFAULT_MAX_VALUES} values, banded into quartiles of its "
            f"test values ({len(edges) - 1} band(s)).")
    return _Groups(name, codes, labels, [note], banded=True, bands=bands)


def _value_groups(name: str, series: pd.Series, min_rows: int) -> _Groups:
    """One group per value; values with fewer than ``min_rows`` rows (and beyond the MAX_GROUPS largest)
    share "other (n values)". Missing is the value "(missing)". Groups sorted by label, "other" last."""
    keys = np.where(series.isna().to_numpy(), MISSING_GROUP, series.astype(str).to_numpy(dtype=object))
    distinct, inverse, counts = np.unique(keys, return_inverse=True, return_counts=True)
    by_size = sorted(range(len(distinct)), key=lambda k: (-counts[k], str(distinct[k])))
    kept = {k for k in by_size[:MAX_GROUPS] if counts[k] >= min_rows}
    pooled = [k for k in range(len(distinct)) if k not in kept]
    labels = sorted((str(distinct[k]) for k in kept), key=lambda s: (s == MISSING_GROUP, s))
    index = {label: i for i, label in enumerate(labels)}
    notes: list[str] = []
    remap = np.empty(len(distinct), dtype=np.int64)
    for k in range(len(distinct)):
        remap[k] = index.get(str(distinct[k]), len(labels))
    if pooled:
        word = "value" if len(pooled) == 1 else "values"
        labels.append(f"other ({len(pooled)} {word})")
        rows = int(counts[pooled].sum())
        why = [f"with fewer than {min_rows} test rows"] if min_rows > 1 else []
        if len(distinct) > MAX_GROUPS:
            why.append(f"beyond the {MAX_GROUPS} largest")
        listed = sorted(str(distinct[k]) for k in pooled)
        shown = ", ".join(repr(v) for v in listed[:10]) + (f" and {len(listed) - 10} more" if len(listed) > 10 else "")
        notes.append(f"{name}: {len(pooled)} {word} {' or '.join(why)} pooled into one group ({rows} rows): "
                     f"{shown}.")
    return _Groups(name, remap[inverse], labels, notes, banded=False)


#: The most band edges a protected column may be given (``age_in_years:25/62``).
MAX_BAND_EDGES = 12


def protected_spec(text: str, columns: Iterable[Any] = ()) -> tuple[str, tuple[float, ...] | None]:
    """A protected column as named (``COLUMN``), or with the band edges a lender uses
    (``COLUMN:E1/E2/...``, e.g. ``age_in_years:25/62``: under 25, 25 to under 62, 62 and over,
    ECOA's "elderly" being 62 or older): (column, edges or None). Without edges a numeric
    column of many values is banded into quartiles of the test values, which move with the data
    and can merge a 62-year-old with a 42-year-old (a fair-lending review, 2026-12-05).

    A name that is one of the data's ``columns`` is that column, whatever it holds (a column
    named ``Q1:2020`` is not banded at 2020).

    Raises:
        ConfigError: edges that are not finite numbers in increasing order, or too many.
    """
    column, tail = split_band_edges(str(text), {str(c) for c in columns})
    if tail is None:
        return column, None
    try:
        edges = tuple(float(part) for part in tail.split("/"))
    except ValueError:
        edges = ()
    if not edges or not all(math.isfinite(e) for e in edges) or any(b <= a for a, b in itertools.pairwise(edges)) \
            or len(edges) > MAX_BAND_EDGES or not column:
        raise ConfigError(f"The 'protected' parameter's {text!r} gives band edges that are not 1 to {MAX_BAND_EDGES} "
                          "finite numbers in increasing order after the column's name; write e.g. "
                          "age_in_years:25/62 (under 25, 25 to under 62, 62 and over).", param="protected")
    return column, edges


def protected_columns(specs: Sequence[str], columns: Iterable[Any] = ()) -> list[str]:
    """The column of each protected spec (:func:`protected_spec`; a spec given twice counts once,
    as it always did), each column named once.

    Raises:
        ConfigError: a column named twice in two ways (banded and not, or at other edges).
    """
    known = list(columns)
    names = [protected_spec(text, known)[0] for text in dict.fromkeys(specs)]
    twice = sorted({c for c in names if names.count(c) > 1})
    if twice:
        raise ConfigError(f"The 'protected' parameter names {twice[0]!r} more than once, in two ways; name each column "
                          "once (with its band edges, if any).", param="protected")
    return names


def protected_inputs(features: Sequence[str], specs: Sequence[str],
                     columns: Iterable[Any] = ()) -> tuple[list[str], list[str]]:
    """The model's ``features`` that are protected attributes: those declared (``specs``, the
    ``protected`` option) and the others whose names suggest one
    (:func:`finlite._protected.likely_protected`), each in feature order. The model card lists
    them, and the explanations count the reasons that cite them."""
    from finlite._protected import likely_protected

    declared = set(protected_columns(specs, columns))
    return [f for f in features if f in declared], [f for f in likely_protected(features) if f not in declared]


def check_protected(specs: Sequence[str], frame: pd.DataFrame, numeric: Sequence[str],
                    categorical: Sequence[str]) -> list[str]:
    """The protected columns of ``specs`` after the checks that need no model: each names a column
    once, and a banded one is numeric (refused before any training, not found by the report).

    Raises:
        ConfigError: a column named twice in two ways, or band edges on a column that is not numeric.
    """
    names = protected_columns(specs, frame.columns)
    for text in dict.fromkeys(specs):
        name, edges = protected_spec(text, frame.columns)
        if edges is None or name not in frame.columns:
            continue  # a column the data lacks is named by the caller's check
        if name in categorical or not (name in numeric or pd.api.types.is_numeric_dtype(frame[name])):
            raise ConfigError(f"The 'protected' parameter bands {name!r} at {text.rpartition(':')[2]}, but {name!r} is "
                              "not a numeric column; name it without band edges.", param="protected")
    return names


def _band_groups(name: str, values: np.ndarray, edges: tuple[float, ...]) -> _Groups:
    """The lender's bands of a numeric column: under the first edge, each edge to under the next,
    the last edge and over (left-closed, as age 62 and over is); NaN is "(missing)". A band with
    no test rows is kept (shown with 0 rows, out of the rule)."""
    labels = [f"< {_fmt(edges[0])}"]
    labels += [f"{_fmt(lo)} to < {_fmt(hi)}" for lo, hi in itertools.pairwise(edges)]
    labels.append(f">= {_fmt(edges[-1])}")

    def bands(v: np.ndarray) -> np.ndarray:
        return np.searchsorted(np.asarray(edges), v, side="right").astype(np.int64)

    codes = bands(values)
    missing = ~np.isfinite(values)
    if missing.any():
        codes[missing] = len(labels)
        labels.append(MISSING_GROUP)
    note = f"{name}: banded at the edges given ({', '.join(_fmt(e) for e in edges)}), each band left-closed."
    return _Groups(name, codes, labels, [note], banded=True, bands=bands)


def _groups_like(groups: _Groups, name: str, frame: pd.DataFrame) -> _Groups:
    """``frame``'s rows (the training rows) in the groups the test rows were split into: the same
    bands, or the same values; a value the test rows do not hold is in an "other" group, a blank
    in "(missing)". The proxy table then speaks of the groups the fairness tables above it show."""
    labels = list(groups.labels)

    def index(label: str) -> int:
        if label not in labels:
            labels.append(label)
        return labels.index(label)

    if groups.bands is not None:
        values = numeric_column(frame[name], name, "the training data", money=True)
        finite = np.isfinite(values)
        codes = np.zeros(len(values), dtype=np.int64)
        codes[finite] = groups.bands(values[finite])
        if not finite.all():
            codes[~finite] = index(MISSING_GROUP)
        return _Groups(name, codes, labels, [], banded=True, bands=groups.bands)
    series = frame[name]
    keys = pd.Series(np.where(series.isna().to_numpy(), MISSING_GROUP, series.astype(str).to_numpy(dtype=object)))
    found = keys.map({label: i for i, label in enumerate(labels)})  # one pass, however many values
    if found.isna().any():
        pooled = next((label for label in labels if label.startswith("other (")), None)
        found = found.fillna(index(pooled or "other (values not in the test rows)"))
    return _Groups(name, found.to_numpy(dtype=np.int64), labels, [], banded=False)


def _groups(inp: TabularInputs, name: str, min_rows: int = MIN_ROWS) -> _Groups:
    series = inp.test_frame[name]
    if _is_numeric(inp, name) and series.nunique(dropna=True) > DEFAULT_MAX_VALUES:
        values = numeric_column(series, name, "the test data", money=True)
        if np.isfinite(values).any():
            return _quartile_groups(name, values)
    return _value_groups(name, series, min_rows)


# -- paired bootstrap ------------------------------------------------------------------------------

def _rng(seed: int, column: str, group: str) -> np.random.Generator:
    """A generator per (seed, column, group): a segment's interval does not depend on which other
    segments the report holds."""
    return np.random.default_rng([int(seed), zlib.crc32(f"{column}\0{group}".encode())])


def _weights(n: int, n_boot: int, rng: np.random.Generator) -> Iterator[np.ndarray]:
    """Bootstrap resamples of ``n`` rows as int32 count weights (resample x row), in chunks:
    weighting rows by how often a resample drew them gives the statistic of that resample without
    sorting it again."""
    per_chunk = max(1, min(n_boot, _CHUNK_CELLS // max(n, 1)))
    done = 0
    while done < n_boot:
        b = min(per_chunk, n_boot - done)
        draws = rng.integers(0, n, size=(b, n), dtype=np.int32)
        draws += (np.arange(b, dtype=np.int32) * n)[:, None]  # < _CHUNK_CELLS: no overflow
        yield np.bincount(draws.ravel(), minlength=b * n).reshape(b, n).astype(np.int32)
        done += b


def _weighted_auc(y: np.ndarray, p: np.ndarray, w: np.ndarray) -> np.ndarray:
    """AUC (ties count one half) of each row of integer weights ``w`` (resample x row); NaN where a
    resample holds one class only.

    One pass in score order: the running weight of negatives gives, for every positive, the
    negatives scored below it and those tied with it. Integer arithmetic (int32 running sums: a
    weight total never exceeds the row count) up to the last division, so the unweighted AUC is exact.
    """
    order = np.argsort(p, kind="mergesort")
    ps, pos = p[order], np.asarray(y, dtype=bool)[order]
    starts = np.r_[0, np.flatnonzero(np.diff(ps)) + 1]
    ends = np.r_[starts[1:], ps.size]
    run = np.repeat(np.arange(starts.size), ends - starts)  # the tie run of each sorted position
    at = np.flatnonzero(pos)
    first, last = starts[run[at]], ends[run[at]] - 1  # each positive's tie run, inclusive
    wo = np.take(np.asarray(w, dtype=np.int32), order, axis=1)
    wp = wo[:, at].astype(np.float64)  # float64 holds these integer products exactly
    wo[:, at] = 0
    cum = np.cumsum(wo, axis=1, dtype=np.int32)  # negatives' weight up to each position
    below = np.where(first > 0, cum[:, np.maximum(first - 1, 0)], 0).astype(np.float64)
    tied = cum[:, last] - below
    twice = (wp * (2.0 * below + tied)).sum(axis=1)
    den = 2.0 * wp.sum(axis=1) * cum[:, -1]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, twice / np.where(den > 0, den, 1.0), np.nan)


def _weighted_rmse(y: np.ndarray, pred: np.ndarray, w: np.ndarray) -> np.ndarray:
    return np.asarray(np.sqrt(w @ ((pred - y) ** 2) / w.sum(axis=1)))


def _paired_interval(stat: Callable[[np.ndarray], np.ndarray], n: int, estimate: float,
                     rng: np.random.Generator, n_boot: int = N_BOOT) -> dict[str, Any]:
    """Percentile 95 % interval of ``stat`` (a difference, per resample) over ``n_boot`` resamples of
    ``n`` rows; resamples where it is undefined are skipped and counted."""
    values = np.concatenate([stat(w) for w in _weights(n, n_boot, rng)])
    ok = values[np.isfinite(values)]
    lower, upper = (np.percentile(ok, [2.5, 97.5]) if ok.size else (np.nan, np.nan))
    # "_draws" stays private: _flag_segments reads the multiplicity-adjusted bound from it and drops it.
    return {"estimate": estimate, "lower": float(lower), "upper": float(upper), "n_boot": n_boot,
            "skipped": int(values.size - ok.size), "_draws": ok}


def _auc(y: np.ndarray, p: np.ndarray) -> float | None:
    if y.size == 0 or y.min() == y.max():
        return None
    return float(_weighted_auc(y, p, np.ones((1, y.size), dtype=np.int32))[0])


# -- segments --------------------------------------------------------------------------------------

def _cutoff(inp: TabularInputs, section: str) -> float:
    if inp.cutoff is None:
        raise ConfigError(f"The {section} section of a binary model needs its cut-off; none was given.",
                          param="cutoff")
    return float(inp.cutoff)


def _n_boot(rows: int) -> int:
    """Resamples per segment for a test set of ``rows`` rows (each column partitions them)."""
    return int(np.clip(_BOOT_CELLS // max(rows, 1), MIN_BOOT, N_BOOT))


def _per_segment(inp: TabularInputs, groups: _Groups) -> Iterator[tuple[str, np.ndarray, np.ndarray, np.ndarray,
                                                                        np.ndarray]]:
    """Each segment's label, row mask, and its labels, teacher scores and student scores."""
    y = np.asarray(inp.y_test, dtype=np.float64)
    t = np.asarray(inp.teacher.scores_test, dtype=np.float64)
    s = np.asarray(inp.student.scores_test, dtype=np.float64)
    for k, label in enumerate(groups.labels):
        m = groups.codes == k
        # In the rows' content order: each segment's resamples are drawn by position (_order).
        o = content_order(y[m], t[m], s[m])
        yield label, m, y[m][o], t[m][o], s[m][o]


def _segment_binary(inp: TabularInputs, groups: _Groups, cutoff: float, n_boot: int) -> list[dict[str, Any]]:
    out = []
    for label, m, ym, tm, sm in _per_segment(inp, groups):
        t_auc, s_auc = _auc(ym, tm), _auc(ym, sm)
        diff: dict[str, Any] | None = None
        if t_auc is not None and s_auc is not None:
            def stat(w: np.ndarray, ym: np.ndarray = ym, tm: np.ndarray = tm, sm: np.ndarray = sm) -> np.ndarray:
                return np.asarray(_weighted_auc(ym, tm, w) - _weighted_auc(ym, sm, w))
            diff = _paired_interval(stat, int(m.sum()), t_auc - s_auc, _rng(inp.seed, groups.column, label), n_boot)
        flips = int(np.count_nonzero((tm >= cutoff) != (sm >= cutoff)))
        agree = float(np.mean((tm >= cutoff) == (sm >= cutoff)))
        out.append({
            "column": groups.column, "segment": label, "rows": int(m.sum()), "positives": int(ym.sum()),
            "teacher_auc": t_auc, "student_auc": s_auc, "auc_difference": diff, "agreement": agree, "flipped": flips,
            "approval_rate": {"teacher": float(np.mean(tm < cutoff)), "student": float(np.mean(sm < cutoff))},
        })
    return out


def _segment_regression(inp: TabularInputs, groups: _Groups, n_boot: int) -> list[dict[str, Any]]:
    out = []
    for label, m, ym, tm, sm in _per_segment(inp, groups):
        t_rmse = float(np.sqrt(np.mean((tm - ym) ** 2)))
        s_rmse = float(np.sqrt(np.mean((sm - ym) ** 2)))

        def stat(w: np.ndarray, ym: np.ndarray = ym, tm: np.ndarray = tm, sm: np.ndarray = sm) -> np.ndarray:
            return np.asarray(_weighted_rmse(ym, sm, w) - _weighted_rmse(ym, tm, w))
        diff = _paired_interval(stat, int(m.sum()), s_rmse - t_rmse, _rng(inp.seed, groups.column, label), n_boot)
        out.append({
            "column": groups.column, "segment": label, "rows": int(m.sum()),
            "mean_abs_difference": float(np.mean(np.abs(tm - sm))),
            "teacher_rmse": t_rmse, "student_rmse": s_rmse, "rmse_difference": diff,
        })
    return out


#: The percentile bound reads at least this many resamples beyond it; with fewer (many segments,
#: few resamples) it hangs on a handful of extreme draws, so a normal bound is used instead. It
#: was 5: a protected group's AUC drop read "worse beyond chance" from the 6th-smallest of 1,000
#: draws, a finding 85 % of other seeds did not make (a validator's walk-through, 2026-12-06).
_MIN_TAIL_DRAWS = 25
#: Most resamples of the protected groups' AUC test: Bonferroni over a few groups puts its bound
#: at the 0.6th percentile, which 1,000 draws read from six of them; the cell budget still bounds
#: the work (German credit's 200 test rows: 20,000 draws; SBA's 179,434: the minimum).
FAIRNESS_AUC_BOOT = 20_000


def _adjusted_lower(draws: np.ndarray, alpha: float) -> tuple[float, str]:
    """The lower bound of a two-sided (1 − alpha) bootstrap interval: the alpha/2 percentile of
    the draws when at least _MIN_TAIL_DRAWS lie beyond it, else the normal bound mean − z·sd of
    the draws (z the 1 − alpha/2 normal quantile), which does not hang on the one extreme draw."""
    if draws.size * alpha / 2.0 >= _MIN_TAIL_DRAWS:
        return float(np.percentile(draws, 100.0 * alpha / 2.0)), "percentile"
    z = NormalDist().inv_cdf(1.0 - alpha / 2.0)
    return float(np.mean(draws) - z * np.std(draws, ddof=1)), "normal"


def _flip_p_values(segments: list[dict[str, Any]], expected: float) -> None:
    """Each binary segment's ``agreement_p_value``, in place: the one-sided binomial probability
    (scipy) of at least its flipped decisions among its rows were each flipped with probability
    ``expected``. None for a segment under MIN_ROWS rows."""
    from scipy.stats import binom

    for d in segments:
        if d["rows"] < MIN_ROWS:
            d["agreement_p_value"] = None
        elif expected <= 0.0:
            d["agreement_p_value"] = 1.0 if d["flipped"] == 0 else 0.0
        else:
            d["agreement_p_value"] = float(binom.sf(d["flipped"] - 1, d["rows"], expected))


def _above_book(segments: Sequence[Mapping[str, Any]], flip_rate: float, alpha: float) -> list[str]:
    """The binary segments of at least MIN_ROWS rows whose flips exceed the test rows' own flip
    rate beyond chance (one-sided binomial, scipy, at ``alpha``): where a book that flips
    everywhere flips most."""
    from scipy.stats import binom

    return [f"{d['column']}={d['segment']}" for d in segments
            if d["rows"] >= MIN_ROWS and binom.sf(d["flipped"] - 1, d["rows"], flip_rate) < alpha]


def _chance_rate(flip_rate: float | None) -> float:
    """The flip rate a segment's flips are tested against: the test rows' own, capped at
    1 − :data:`AGREEMENT_WARN` (a book that flips more than 5 % does not excuse a segment that does)."""
    return min(1.0 - AGREEMENT_WARN, flip_rate if flip_rate is not None else 1.0)


def _flag_segments(segments: list[dict[str, Any]], regression: bool,
                   flip_rate: float | None = None) -> tuple[int, int]:
    """Flag the weak spots in place, each test with a Bonferroni correction over the segments it
    tests, so 20 segments do not give a ~40 % chance of a spurious weak spot.

    - The difference (AUC, or RMSE for regression) is tested on the k segments of at least
      MIN_ROWS rows where it is defined: its interval at level 1 − 0.05/k (``lower_adjusted``)
      must lie above 0.
    - A binary segment's agreement below :data:`AGREEMENT_WARN` counts where its flipped decisions
      are more than chance at 0.05/m, m the segments of at least MIN_ROWS rows
      (:func:`_flip_p_values`, against ``flip_rate``: the test rows' own flip rate, capped at
      1 − AGREEMENT_WARN): two flips in 32 rows read 93.8 %, and seven of German credit's segments
      (2 to 6 flips in 32 to 107 rows) were flagged, each within what 7 flips in 200 rows spread by
      chance (a review of the report, 2026-12-03).
    - Agreement below :data:`AGREEMENT_FAIL` whose flips are within chance is still a weak spot
      (:data:`NOT_SIGNIFICANT_REASON`), never a silent pass: 4 flips in 36 rows (88.9 %) cannot be
      told from chance, nor from a student that flips one decision in nine.

    ``severe`` (the section fails) where the adjusted AUC interval lies above :data:`AUC_FAIL`, or
    where agreement is below AGREEMENT_FAIL in a segment shown weak by a test (AUC or agreement).
    Returns (k, m), either 0 where no segment was tested."""
    key = "rmse_difference" if regression else "auc_difference"
    tested = {id(d) for d in segments
              if d["rows"] >= MIN_ROWS and d[key] is not None and d[key]["_draws"].size
              and (regression or min(d["positives"], d["rows"] - d["positives"]) >= MIN_SEGMENT_CLASS_ROWS)}
    k = len(tested)
    alpha = 0.05 / max(k, 1)
    m = sum(d["rows"] >= MIN_ROWS for d in segments)
    alpha_agreement = 0.05 / max(m, 1)
    if not regression:
        _flip_p_values(segments, _chance_rate(flip_rate))
    for d in segments:
        diff = d[key]
        adj: float | None = None
        if diff is not None:
            draws = diff.pop("_draws")
            method = None
            if id(d) in tested:
                adj, method = _adjusted_lower(draws, alpha)
            diff["lower_adjusted"] = adj
            diff["level_adjusted"] = 1.0 - alpha if id(d) in tested else None  # None: not tested
            diff["adjusted_method"] = method
            if id(d) not in tested and not regression:
                # A segment of a default or two resamples the same rows: its interval read "0 [0, 0]",
                # certainty, in the card (a low-default walk-through, 2026-12-07). Not tested: none.
                diff["lower"] = diff["upper"] = None
        significant = adj is not None and adj > 0
        if regression:
            d["weak_spot"] = significant
            d["reasons"] = ["RMSE"] if significant else []
            d["severe"] = significant and adj is not None and adj > RMSE_FAIL_SHARE * d["teacher_rmse"]
            continue
        reasons = []
        if d["rows"] >= MIN_ROWS:
            if significant:
                reasons.append("AUC")
            if d["agreement"] < AGREEMENT_WARN and d["agreement_p_value"] < alpha_agreement:
                reasons.append("agreement")
            elif d["agreement"] < AGREEMENT_FAIL:
                reasons.append(NOT_SIGNIFICANT_REASON)
        d["weak_spot"] = bool(reasons)
        d["reasons"] = reasons
        shown_weak = "AUC" in reasons or "agreement" in reasons
        d["severe"] = (adj is not None and adj > AUC_FAIL) or (shown_weak and d["agreement"] < AGREEMENT_FAIL)
    return k, m


def build_segments(inp: TabularInputs) -> Section:
    """The ``segments`` section: teacher vs student per value of each segment column
    (:func:`default_segments`), weak spots flagged.

    Binary: rows, positives, both AUCs (null with a note where a segment holds one class), the
    teacher − student AUC difference with its 95 % paired bootstrap interval (seeded by
    ``inp.seed``, column and segment), agreement at the cut-off and approval rates (score < cut-off).
    A segment of at least :data:`MIN_ROWS` rows is a weak spot when the interval at level
    1 − 0.05/k (Bonferroni over the k segments tested; ``lower_adjusted``) lies above 0, when
    agreement is below 0.95 and its ``flipped`` decisions are more than chance at 0.05/m (m the
    segments of at least MIN_ROWS rows; ``agreement_p_value``: one-sided binomial at the test
    rows' flip rate, capped at 5 %), or when agreement is below 0.90 with flips the test cannot
    tell from chance (:data:`NOT_SIGNIFICANT_REASON`). Status: FAIL when the adjusted interval
    lies above 0.05 or a weak spot shown by either test has agreement below 0.90; WARN when any
    weak spot; PASS otherwise.

    Regression: mean |teacher − student| and each model's RMSE per segment; a weak spot is a
    segment where the student's RMSE exceeds the teacher's beyond the Bonferroni-adjusted paired
    interval (FAIL when beyond by more than 10 % of the teacher's RMSE).

    Raises:
        DataError: a named segment column is not in the test frame, or there is no segment column
            at all (the orchestrator omits the section then: check :func:`default_segments` first).
        ConfigError: a binary task without a cut-off.
    """
    columns = default_segments(inp)
    if not columns:
        raise DataError("The segments section needs a segment column: the test data has no categorical column with "
                        f"2 to {DEFAULT_MAX_VALUES} values and no input named like a place or a vintage; name one with "
                        "segments=[COLUMN].", param="segments")
    regression = inp.task == "regression"
    cutoff = None if regression else _cutoff(inp, "segments")
    notes: list[str] = []
    segments: list[dict[str, Any]] = []
    n_boot = _n_boot(len(inp.y_test))
    for name in columns:
        groups = _groups(inp, name)
        notes += groups.notes
        if cutoff is None:  # regression: no decisions, so errors per segment
            segments += _segment_regression(inp, groups, n_boot)
        else:
            segments += _segment_binary(inp, groups, cutoff, n_boot)
    flip_rate = None
    if cutoff is not None:
        t_all, s_all = np.asarray(inp.teacher.scores_test), np.asarray(inp.student.scores_test)
        flip_rate = float(np.mean((t_all >= cutoff) != (s_all >= cutoff)))
    tested, judged = _flag_segments(segments, regression, flip_rate)
    one_class = [f"{d['column']}={d['segment']}" for d in segments
                 if not regression and (d["teacher_auc"] is None or d["student_auc"] is None)]
    if one_class:
        notes.append(f"AUC is null where a segment holds one class only: {', '.join(one_class)}.")
    capped = (f" (capped from {N_BOOT:,} so a column costs at most {_BOOT_CELLS:,} resampled rows)"
              if n_boot < N_BOOT else "")
    notes.append(f"Intervals: percentile, {n_boot:,} paired bootstrap resamples of each segment's rows{capped}, "
                 f"seeded by {inp.seed}, the column and the segment; resamples holding one class are skipped. "
                 f"Segments of fewer than {MIN_ROWS} rows are shown but never flagged"
                 + ("." if regression else f"; the AUC difference is tested only where a segment holds at least "
                                           f"{MIN_SEGMENT_CLASS_ROWS} rows of each class (a resample of fewer "
                                           "positives cannot show its uncertainty)."))
    what = "RMSE" if regression else "AUC"
    if tested:
        compared = (f"Multiple comparisons: the {what} difference is tested in {tested} segment(s), so a weak spot "
                    f"needs its interval at level 1 − 0.05/{tested} = {1 - 0.05 / tested:.4g} (Bonferroni; "
                    "'lower_adjusted') above 0; the table shows the unadjusted 95 % interval. The adjusted bound is "
                    f"the resamples' percentile when at least {_MIN_TAIL_DRAWS} resamples lie beyond it, else the "
                    "normal bound (mean − z·sd of the resamples; 'adjusted_method'), which does not hang on the "
                    "most extreme draw.")
    else:
        compared = (f"No segment of at least {MIN_ROWS} rows has a defined {what} difference: the difference is "
                    "not tested.")
    if not regression:
        compared += (f" Agreement is tested in the {judged} segment(s) of at least {MIN_ROWS} rows, at "
                     f"0.05/{judged} = {0.05 / judged:.3g} (Bonferroni)." if judged else
                     f" No segment has {MIN_ROWS} rows: agreement is not tested.")
    notes.append(compared)
    weak = [d for d in segments if d["weak_spot"]]
    status: Status = "FAIL" if any(d["severe"] for d in weak) else ("WARN" if weak else "PASS")
    # Missing evidence is not a pass, as in the fairness and explanations sections: a 5-row hold-out
    # read PASS beside "nothing was judged" (a statistics audit, 2026-12-07).
    unjudged = bool(segments) and not tested and (regression or not judged)
    if status == "PASS" and unjudged:
        status = "WARN"

    def name_of(d: dict[str, Any]) -> str:
        return f"{d['column']}={d['segment']}"

    over_k = (f"Bonferroni over the k = {tested} segments tested" if tested else
              f"here none tested: no segment of {MIN_ROWS} rows with a defined difference")
    if regression:
        threshold = (f"Weak spot: a segment of at least {MIN_ROWS} rows where the student's RMSE exceeds the "
                     f"teacher's beyond the paired bootstrap interval at level 1 − 0.05/k ({over_k}). FAIL when a "
                     f"weak spot's adjusted interval lies above {RMSE_FAIL_SHARE:.0%} of the teacher's RMSE; WARN "
                     "when any weak spot, or when no segment could be judged (missing evidence, not a pass); PASS "
                     "otherwise.")
        table = Table(
            id="segments", caption="Per segment: mean |teacher − student| prediction, RMSE of each model, and the "
                                   "student − teacher RMSE difference with its 95 % paired bootstrap interval.",
            columns=["column", "segment", "rows", "mean |T − S|", "teacher RMSE", "student RMSE",
                     "RMSE difference (S − T)", "95 % CI low", "95 % CI high", "weak spot"],
            rows=[[d["column"], d["segment"], d["rows"], d["mean_abs_difference"], d["teacher_rmse"],
                   d["student_rmse"], d["rmse_difference"]["estimate"], d["rmse_difference"]["lower"],
                   d["rmse_difference"]["upper"], ", ".join(d["reasons"])] for d in segments])
        bar_value, bar_label = "mean_abs_difference", "mean |teacher − student|"
    else:
        expected, w = _chance_rate(flip_rate), DecisionWords.of(inp.domain)
        threshold = (f"Weak spot: a segment of at least {MIN_ROWS} rows where the student's AUC is below the "
                     f"teacher's beyond the paired bootstrap interval at level 1 − 0.05/k ({over_k}), where "
                     f"agreement at the cut-off {cutoff:g} is below "
                     f"{AGREEMENT_WARN:.2f} with more flipped decisions than chance (one-sided binomial p < 0.05/m, "
                     + (f"m = {judged} segments of at least {MIN_ROWS} rows" if judged else
                        f"here none tested: no segment of {MIN_ROWS} rows")
                     + f", at the flip rate {expected:.4g}: the test rows' own, capped at "
                     f"{1 - AGREEMENT_WARN:.2f}), or where agreement is below {AGREEMENT_FAIL:.2f} with flips "
                     f"the test cannot tell from chance ('{NOT_SIGNIFICANT_REASON}'). FAIL when the adjusted "
                     f"AUC-difference interval lies above {AUC_FAIL:.2f} or a weak spot shown by either test has "
                     f"agreement below {AGREEMENT_FAIL:.2f}; WARN when any weak spot, or when no segment could be "
                     "judged (missing evidence, not a pass); PASS otherwise.")

        def ci(d: dict[str, Any], key: str) -> Any:
            return None if d["auc_difference"] is None else d["auc_difference"][key]

        table = Table(
            id="segments",
            caption=(f"Per segment: both models' AUC, the teacher − student AUC difference with its 95 % paired "
                     f"bootstrap interval, agreement of decisions at the cut-off {cutoff:g}, the decisions the "
                     f"student flipped across it, the chance of at least that many flips had each row flipped "
                     f"with probability {expected:.4g} (one-sided binomial; "
                     + (f"a segment is flagged for its flips below α = 0.05/{judged} = {0.05 / judged:.3g}"
                        if judged else f"no segment has {MIN_ROWS} rows, so none is flagged")
                     + f"), and {w.approval} rates (share scored below the cut-off). Positives = '{inp.positive}'."),
            columns=["column", "segment", "rows", "positives", "teacher AUC", "student AUC", "AUC difference (T − S)",
                     "95 % CI low", "95 % CI high", "agreement", "flipped", "flips by chance, p",
                     f"teacher {w.approval}", f"student {w.approval}", "weak spot"],
            rows=[[d["column"], d["segment"], d["rows"], d["positives"], d["teacher_auc"], d["student_auc"],
                   ci(d, "estimate"), ci(d, "lower"), ci(d, "upper"), d["agreement"], d["flipped"],
                   d["agreement_p_value"], d["approval_rate"]["teacher"],
                   d["approval_rate"]["student"], ", ".join(d["reasons"])] for d in segments])
        bar_value, bar_label = "agreement", "agreement at the cut-off"
    shown = segments
    if len(segments) > MAX_BARS:
        # The plot keeps the segments that matter most: lowest agreement (largest difference).
        key = (lambda d: -d[bar_value]) if regression else (lambda d: d[bar_value])
        keep = {id(d) for d in sorted(segments, key=key)[:MAX_BARS]}
        shown = [d for d in segments if id(d) in keep]
        notes.append(f"The plot shows the {MAX_BARS} segments with the "
                     f"{'largest difference' if regression else 'lowest agreement'} of {len(segments)}.")
    plot = Plot(id="segment_" + bar_value, title=f"{bar_label.capitalize()} per segment", x_label="segment",
                y_label=bar_label, x_ticks=[name_of(d) for d in shown],
                series=[Series(name=bar_label, x=[float(i) for i in range(len(shown))],
                               y=[d[bar_value] for d in shown], style="bar")])
    if weak:
        worst_few = ", ".join(f"{name_of(d)} ({' and '.join(d['reasons'])})" for d in weak[:5])
        summary = (f"{len(weak)} weak spot(s) among {len(segments)} segments of {len(columns)} column(s): "
                   f"{worst_few}{' …' if len(weak) > 5 else ''}.")
    else:
        summary = f"No weak spot among {len(segments)} segments of {len(columns)} column(s)."
    if not regression and not tested and segments:
        # "No weak spot" read as a finding where no segment's ranking could be tested (a low-default
        # portfolio's 32 segments, none with enough defaults: a walk-through, 2026-12-07).
        summary += (f" The AUC difference was tested in none of them (none holds {MIN_ROWS} rows with "
                    f"{MIN_SEGMENT_CLASS_ROWS} of each class)"
                    + (": only agreement was judged." if judged else f", nor agreement (no segment holds {MIN_ROWS} "
                       "rows): nothing was judged."))
    above_book: list[str] | None = None
    if flip_rate is not None and flip_rate > 1.0 - AGREEMENT_WARN and judged and \
            any("agreement" in d["reasons"] for d in weak):
        # A book that flips more than the cap marks most segments (23 of 36 at 12 %: a validator's
        # walk-through): the flips are everywhere, which the decisions section says. What is left
        # to localise is where they are worse than the book's own rate, beyond chance.
        above_book = _above_book(segments, flip_rate, 0.05 / judged)
        named = ", ".join(above_book[:8]) + (" …" if len(above_book) > 8 else "")
        summary += (f" The student flips {flip_rate:.1%} of all test decisions, above the {1 - AGREEMENT_WARN:.0%} a "
                    "segment is judged by, so weak spots for agreement are spread over the book (see the decisions "
                    "section); " + (f"{len(above_book)} segment(s) flip more than the book's own rate beyond "
                                    f"chance: {named}." if above_book else
                                    "no segment flips more than the book's own rate beyond chance."))
    public = [{k: v for k, v in d.items() if k != "severe"} for d in segments]
    metrics = {"columns": columns, "segments": public, "weak_spots": [name_of(d) for d in weak],
               "n_boot": n_boot, "min_rows": MIN_ROWS, "segments_tested": tested,
               **({} if regression else {"min_class_rows": MIN_SEGMENT_CLASS_ROWS}),
               "level_adjusted": 1.0 - 0.05 / tested if tested else None}
    if not regression:
        metrics["segments_judged_for_agreement"] = judged
    if above_book is not None:
        metrics["flip_rate"] = flip_rate
        metrics["flipping_more_than_the_book"] = above_book
    if cutoff is not None:
        metrics["cutoff"] = cutoff
    return Section(id="segments", title="Segments", status=status, threshold=threshold, summary=summary,
                   metrics=json_number(metrics), tables=[table], plots=[plot], notes=notes)


# -- fairness --------------------------------------------------------------------------------------

def _rate(num: np.ndarray, den: np.ndarray) -> list[float | None]:
    return [float(a / b) if b > 0 else None for a, b in zip(num, den, strict=True)]


def _spread(values: Sequence[float | None]) -> tuple[float | None, float | None]:
    """(min, max) over the defined values of at least two groups; (None, None) otherwise."""
    ok = [v for v in values if v is not None]
    return (min(ok), max(ok)) if len(ok) >= 2 else (None, None)


def _group_rates(inp: TabularInputs, groups: _Groups, scores: np.ndarray, cutoff: float) -> dict[str, Any]:
    """Approval rate, TPR and FPR per group from fairlearn's MetricFrame (flagged = positive
    prediction), null where a group lacks the class a rate is about; mean score per group."""
    from fairlearn.metrics import MetricFrame, false_positive_rate, selection_rate, true_positive_rate

    def approval_rate(y_true: Any, y_pred: Any, sample_weight: Any = None) -> float:
        return 1.0 - float(selection_rate(y_true, y_pred, pos_label=1, sample_weight=sample_weight))

    y = np.asarray(inp.y_test, dtype=np.int64)
    flagged = (scores >= cutoff).astype(np.int64)
    k = len(groups.labels)
    # The rates depend on (group, label, decision) counts only: MetricFrame gets one weighted row per
    # combination instead of every test row (its per-row work takes seconds on 57,000 rows).
    cells, counts = np.unique(groups.codes * 4 + y * 2 + flagged, return_counts=True)
    weights = {"sample_weight": counts.astype(np.float64)}
    frame = MetricFrame(metrics={"approval_rate": approval_rate, "tpr": true_positive_rate,
                                 "fpr": false_positive_rate},
                        y_true=(cells // 2) % 2, y_pred=cells % 2, sensitive_features=cells // 4,
                        sample_params={"approval_rate": weights, "tpr": weights, "fpr": weights}).by_group
    positives = np.bincount(groups.codes, weights=y, minlength=k)
    rows = np.bincount(groups.codes, minlength=k).astype(np.float64)
    approval: list[float | None] = [None] * k
    tpr: list[float | None] = [None] * k
    fpr: list[float | None] = [None] * k
    for code, row in frame.iterrows():
        i = int(code)
        approval[i] = float(row["approval_rate"])
        # fairlearn reports 0 for a group with no positives (or negatives): that rate is undefined.
        tpr[i] = float(row["tpr"]) if positives[i] > 0 else None
        fpr[i] = float(row["fpr"]) if rows[i] - positives[i] > 0 else None
    mean_score = _rate(np.bincount(groups.codes, weights=scores, minlength=k), rows)
    return {"approval_rate": approval, "tpr": tpr, "fpr": fpr, "mean_score": mean_score}


def _disparities(rates: dict[str, Any], eligible: Mapping[str, Sequence[bool]]) -> dict[str, Any]:
    """Approval-rate ratio (min / max) and TPR / FPR gaps (max − min), each over its ``eligible``
    groups (``eligible["approval_rate"]``, ``["tpr"]``, ``["fpr"]``)."""
    def only(key: str) -> list[float | None]:
        return [v for v, ok in zip(rates[key], eligible[key], strict=True) if ok]

    lo, hi = _spread(only("approval_rate"))
    ratio = None if lo is None or hi is None or hi == 0 else lo / hi
    gaps = {}
    for key in ("tpr", "fpr"):
        a, b = _spread(only(key))
        gaps[key] = None if a is None or b is None else b - a
    return {"ratio": ratio, "tpr_gap": gaps["tpr"], "fpr_gap": gaps["fpr"]}


def _boot_disparity_changes(y: np.ndarray, t_flag: np.ndarray, s_flag: np.ndarray, codes: np.ndarray, k: int,
                            eligible: Mapping[str, Sequence[bool]], rng: np.random.Generator,
                            reps: int = FAIRNESS_BOOT) -> dict[str, np.ndarray]:
    """Paired bootstrap of how much each disparity widened (teacher − student ratio; student −
    teacher gaps), ``reps`` values each (NaN where undefined). Resampling n rows iid is a
    multinomial draw over the (group, label, teacher decision, student decision) cells, so each
    replicate costs O(cells), not O(rows); the groups in each rule stay those of the test rows."""
    cell = ((codes * 2 + y) * 2 + t_flag) * 2 + s_flag
    counts = np.bincount(cell, minlength=k * 8).astype(np.float64)
    draws = rng.multinomial(int(counts.sum()), counts / counts.sum(), size=reps).reshape(reps, k, 2, 2, 2)
    rows = draws.sum(axis=(2, 3, 4))
    pos, neg = draws[:, :, 1].sum(axis=(2, 3)), draws[:, :, 0].sum(axis=(2, 3))

    def rates(flag_axis: int) -> dict[str, np.ndarray]:
        flagged = draws.sum(axis=4) if flag_axis == 3 else draws.sum(axis=3)  # [reps, k, y, flag]
        with np.errstate(invalid="ignore", divide="ignore"):
            return {"approval_rate": 1.0 - flagged[:, :, :, 1].sum(axis=2) / rows,
                    "tpr": flagged[:, :, 1, 1] / pos, "fpr": flagged[:, :, 0, 1] / neg}

    def spread(values: np.ndarray, key: str) -> tuple[np.ndarray, np.ndarray]:
        keep = np.asarray(eligible[key], dtype=bool)
        v = values[:, keep]
        if keep.sum() < 2:
            nan = np.full(reps, np.nan)
            return nan, nan
        with warnings.catch_warnings():  # an all-NaN replicate (a class vanished) stays NaN, quietly
            warnings.simplefilter("ignore", RuntimeWarning)
            return np.nanmin(v, axis=1), np.nanmax(v, axis=1)

    out = {}
    per = {"teacher": rates(3), "student": rates(4)}
    ratio = {}
    for m, r in per.items():
        lo, hi = spread(r["approval_rate"], "approval_rate")
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio[m] = np.where(hi > 0, lo / np.where(hi > 0, hi, 1.0), np.nan)
    out["ratio"] = ratio["teacher"] - ratio["student"]
    for key in ("tpr", "fpr"):
        gap = {}
        for m, r in per.items():
            lo, hi = spread(r[key], key)
            gap[m] = hi - lo
        out[f"{key}_gap"] = gap["student"] - gap["teacher"]
    return out


def _change(teacher: float | None, student: float | None, *, worse_when: str) -> tuple[float | None, float]:
    """(student − teacher, how much worse the student is: >0 when the disparity widened)."""
    if teacher is None or student is None:
        return None, 0.0
    change = student - teacher
    return change, (-change if worse_when == "lower" else change)


def _fairness_column(inp: TabularInputs, groups: _Groups, cutoff: float) -> dict[str, Any]:
    y = np.asarray(inp.y_test, dtype=np.float64)
    k = len(groups.labels)
    rows = np.bincount(groups.codes, minlength=k)
    positives = np.bincount(groups.codes, weights=y, minlength=k)
    t_rates = _group_rates(inp, groups, np.asarray(inp.teacher.scores_test, dtype=np.float64), cutoff)
    s_rates = _group_rates(inp, groups, np.asarray(inp.student.scores_test, dtype=np.float64), cutoff)
    # Small groups are shown but left out of the ratio and the gaps: a rate over a handful of rows is
    # noise, and one row would decide the rule. A rate over a class needs that many rows OF the class.
    negatives = rows - positives
    # "(missing)" is shown but is no group of the attribute: with it the rule compared one age band
    # with the rows of no age ("over 2 of its 4 groups": a fair-lending walk-through, 2026-12-07).
    real = [label != MISSING_GROUP for label in groups.labels]
    eligible = {"approval_rate": [bool(r >= MIN_ROWS) and ok for r, ok in zip(rows, real, strict=True)],
                "tpr": [bool(p >= MIN_CLASS_ROWS) and ok for p, ok in zip(positives, real, strict=True)],
                "fpr": [bool(q >= MIN_CLASS_ROWS) and ok for q, ok in zip(negatives, real, strict=True)]}
    t_d, s_d = _disparities(t_rates, eligible), _disparities(s_rates, eligible)
    # "Widened" needs the paired bootstrap interval of the change above the margin, not a point step.
    boot = _boot_disparity_changes(
        np.asarray(inp.y_test, dtype=np.int64), (np.asarray(inp.teacher.scores_test) >= cutoff).astype(np.int64),
        (np.asarray(inp.student.scores_test) >= cutoff).astype(np.int64), groups.codes, k, eligible,
        _rng(inp.seed, groups.column, "fairness"))

    def interval(key: str) -> list[float | None]:
        ok = boot[key][np.isfinite(boot[key])]
        if ok.size < FAIRNESS_BOOT // 2:
            return [None, None]
        lo, hi = np.percentile(ok, [2.5, 97.5])
        return [float(lo), float(hi)]

    widened: list[tuple[str, float]] = []
    ratio_change, _ = _change(t_d["ratio"], s_d["ratio"], worse_when="lower")
    ratio_ci = interval("ratio")
    ratio_low = ratio_ci[0] if ratio_change is not None else None
    four_fifths = {
        "rule": FOUR_FIFTHS, "teacher": t_d["ratio"], "student": s_d["ratio"], "change": ratio_change,
        "worsening_ci": ratio_ci,
        # At 0.8 passes, as the rule says, whatever the last bit of the ratio of two rounded rates
        # (16/30 over 20/30 was 0.7999999999999999, and failed: a boundary audit, 2026-12-07).
        "passes": {"teacher": None if t_d["ratio"] is None else reaches(t_d["ratio"], FOUR_FIFTHS),
                   "student": None if s_d["ratio"] is None else reaches(s_d["ratio"], FOUR_FIFTHS)},
        "widened": ratio_low is not None and ratio_low > WIDEN_WARN,
    }
    words = DecisionWords.of(inp.domain)
    ratio_name = f"{words.approval}-rate ratio"
    gap_names = {"tpr_gap": f"{words.captured or inp.positive}-capture gap",
                 "fpr_gap": f"{words.wrongful} (equal-opportunity) gap"}
    if ratio_low is not None and ratio_low > WIDEN_WARN:  # four_fifths["widened"]
        widened.append((ratio_name, ratio_low))
    gaps = {}
    for key, label in gap_names.items():
        change, _ = _change(t_d[key], s_d[key], worse_when="higher")
        ci = interval(key)
        low = ci[0] if change is not None else None
        grew = low is not None and low > WIDEN_WARN
        gaps[key] = {"teacher": t_d[key], "student": s_d[key], "change": change, "worsening_ci": ci,
                     "widened": grew}
        if low is not None and low > WIDEN_WARN:  # grew
            widened.append((label, low))
    group_rows = []
    for i, label in enumerate(groups.labels):
        group_rows.append({
            "group": label, "rows": int(rows[i]), "positives": int(positives[i]),
            "observed_rate": float(positives[i] / rows[i]) if rows[i] else None,
            "in_rule": eligible["approval_rate"][i], "in_tpr_gap": eligible["tpr"][i],
            "in_fpr_gap": eligible["fpr"][i],
            "teacher": {key: t_rates[key][i] for key in t_rates},
            "student": {key: s_rates[key][i] for key in s_rates},
        })
    passes = four_fifths["passes"]
    # Crossing 0.8 fails only when the ratio's fall is beyond its sampling noise (its interval
    # above 0): on groups of a few dozen rows one flipped decision moves the ratio by 0.02.
    crossed = passes["student"] is False and passes["teacher"] is True
    fail = (crossed and ratio_low is not None and ratio_low > 0) or any(w > WIDEN_FAIL for _, w in widened)
    # Missing evidence is not a pass (a fair-lending review, 2026-12-05: PASS was given on
    # intervals too wide to judge, gaps that could not be measured, small groups left out while
    # below the rule, and a protected attribute the model reads as an input). Each is WARN, named.
    # A ratio that cannot be measured (fewer than two groups of MIN_ROWS test rows, or no
    # approvals): not assessed.
    unmeasured = t_d["ratio"] is None or s_d["ratio"] is None
    unassessed = [label for key, label in gap_names.items() if gaps[key]["change"] is None]
    # Inconclusive: compression may have widened a disparity by more than the FAIL margin, and
    # the test rows cannot rule it out (the interval's upper end is above it).
    inconclusive = [(label, float(ci[1])) for label, ci in
                    ((ratio_name, ratio_ci), (gap_names["tpr_gap"], gaps["tpr_gap"]["worsening_ci"]),
                     (gap_names["fpr_gap"], gaps["fpr_gap"]["worsening_ci"]))
                    if ci[1] is not None and ci[1] > WIDEN_FAIL and label not in {n for n, _ in widened}]
    # A group left out of the rule for its size, whose approval rate is below four-fifths of the
    # highest ruled group's under either model: too few rows to judge, and not a pass.
    models = (("teacher", t_rates), ("student", s_rates))
    top = {m: max((r for r, ok in zip(rates["approval_rate"], eligible["approval_rate"], strict=True)
                   if ok and r is not None), default=0.0) for m, rates in models}
    small_below = [label for i, label in enumerate(groups.labels) if real[i] and not eligible["approval_rate"][i] and any(
        rates["approval_rate"][i] is not None and not reaches(rates["approval_rate"][i], FOUR_FIFTHS * top[m])
        for m, rates in models)]
    model_input = groups.column in set(inp.numeric) | set(inp.categorical)
    ranking = _group_auc(inp, groups, cutoff)
    worse = [g["group"] for g in ranking if g["worse"]]
    fail = fail or any(g["severe"] for g in ranking)
    warn = (bool(widened) or passes["student"] is False or passes["teacher"] is False or unmeasured
            or bool(unassessed) or bool(inconclusive) or bool(small_below) or model_input or bool(worse))
    status: Status = "FAIL" if fail else ("WARN" if warn else "PASS")
    return {"column": groups.column, "banded": groups.banded, "status": status, "four_fifths": four_fifths,
            "tpr_gap": gaps["tpr_gap"], "fpr_gap": gaps["fpr_gap"], "groups": group_rows,
            "widened": [name for name, _ in widened], "model_input": model_input,
            "not_assessed": unassessed, "inconclusive": [{"measure": n, "widening_95_high": h} for n, h in inconclusive],
            "small_groups_below_rule": small_below, "auc_by_group": ranking, "auc_worse": worse,
            "notes": [*groups.notes, *([f"{groups.column}: {MISSING_GROUP} ({int(rows[real.index(False)]):,} rows): "
                                        "shown, left out of "
                                        "the four-fifths rule and the gaps, as a missing value is no group of the "
                                        "attribute"] if not all(real) else [])]}


def _group_auc(inp: TabularInputs, groups: _Groups, cutoff: float) -> list[dict[str, Any]]:
    """Each protected group's AUC under teacher and student, and the drop (teacher − student) with
    its paired bootstrap interval; the drop is tested on the groups of at least :data:`MIN_ROWS`
    rows and :data:`MIN_SEGMENT_CLASS_ROWS` of each class, Bonferroni over those groups only (the
    segments section corrects over every segment of every column, business ones included, and
    missed a protected group's drop of 0.025 with interval 0.003 to 0.059: a fair-lending review,
    2026-12-05). ``worse``: the adjusted interval lies above 0; ``severe``: above AUC_FAIL."""
    n_boot = int(np.clip(_BOOT_CELLS // max(len(inp.y_test), 1), MIN_BOOT, FAIRNESS_AUC_BOOT))
    rows = _segment_binary(inp, groups, cutoff, n_boot)
    tested = [d for d in rows if d["rows"] >= MIN_ROWS and d["auc_difference"] is not None
              and d["auc_difference"]["_draws"].size
              and min(d["positives"], d["rows"] - d["positives"]) >= MIN_SEGMENT_CLASS_ROWS]
    alpha = 0.05 / max(len(tested), 1)
    out = []
    for d in rows:
        diff = d["auc_difference"]
        adj = None
        if diff is not None:
            draws = diff.pop("_draws")
            if any(d is t for t in tested):
                adj = _adjusted_lower(draws, alpha)[0]
        out.append({"group": d["segment"], "rows": d["rows"], "positives": d["positives"],
                    "teacher_auc": d["teacher_auc"], "student_auc": d["student_auc"],
                    "drop": None if diff is None else diff["estimate"],
                    "drop_ci": [None, None] if diff is None else [diff["lower"], diff["upper"]],
                    "drop_lower_adjusted": adj, "level_adjusted": 1.0 - alpha if adj is not None else None,
                    "resamples": n_boot,
                    "worse": adj is not None and adj > 0, "severe": adj is not None and adj > AUC_FAIL})
    return out


def _four_fifths_cause(passes: Mapping[str, Any]) -> str:
    """What compression made of a four-fifths failure: caused it, kept it or removed it."""
    teacher, student = passes.get("teacher"), passes.get("student")
    if teacher is False and student is False:
        return ("Compression did not cause it (the teacher fails too), but the student keeps it; review the decisions "
                "for these groups before deploying either.")
    if teacher is False:
        return "The student passes the rule: compression removed the teacher's failure (review why before relying on it)."
    if teacher is True:
        return "The teacher passes: compression brought the student below it."
    return "The teacher's ratio could not be measured: whether compression caused it is not known."


def _below_rule(ff: Mapping[str, Any]) -> str:
    """Which models fail the four-fifths rule ("teacher and student", "student", "teacher"), or ""."""
    failing = [m for m in ("teacher", "student") if (ff.get("passes") or {}).get(m) is False]
    return " and ".join(failing)


def _fairness_tables(inp: TabularInputs, col: dict[str, Any], index: int, cutoff: float) -> list[Table]:
    name, w = col["column"], DecisionWords.of(inp.domain)
    caption = (f"{name}: per group. {w.approval.capitalize()} rate = share scored below the cut-off {cutoff:g}. "
               f"Capture rate = share of '{inp.positive}' rows {w.declined} (score >= cut-off; fairlearn's TPR); "
               f"{w.wrongful} rate = share of the other rows {w.declined} (fairlearn's FPR; 1 − it is "
               f"{w.equal_opportunity}). Calibration: mean score vs observed '{inp.positive}' rate.")
    groups = Table(
        id=f"fairness_groups_{index}", caption=caption,
        columns=["group", "rows", "in rule", "positives", "observed rate", "teacher mean score", "student mean score",
                 f"teacher {w.approval}", f"student {w.approval}",
                 f"teacher {inp.positive}-capture ({w.declined} | {inp.positive})",
                 f"student {inp.positive}-capture ({w.declined} | {inp.positive})",
                 f"teacher {w.wrongful} ({w.declined} | {w.good})", f"student {w.wrongful} ({w.declined} | {w.good})"],
        rows=[[g["group"], g["rows"], "yes" if g["in_rule"] else "no", g["positives"], g["observed_rate"], g["teacher"]["mean_score"],
               g["student"]["mean_score"], g["teacher"]["approval_rate"], g["student"]["approval_rate"],
               g["teacher"]["tpr"], g["student"]["tpr"], g["teacher"]["fpr"], g["student"]["fpr"]]
              for g in col["groups"]])
    ff = col["four_fifths"]

    def flag(d: dict[str, Any]) -> str:
        return "widened" if d["widened"] else ""

    below = _below_rule(ff)
    ratio_flag = "; ".join(x for x in (flag(ff), f"below {FOUR_FIFTHS}: {below}" if below else "") if x)

    rules = Table(
        id=f"fairness_rules_{index}",
        caption=f"{name}: {w.approval}-rate ratio (min / max over groups; the four-fifths rule needs >= {FOUR_FIFTHS}) "
                f"and the {inp.positive}-capture and {w.wrongful} gaps (max − min; the latter is the "
                "equal-opportunity gap), teacher and student, with the 95 % paired bootstrap interval of how much "
                "compression widened each (positive: wider; for the ratio that is teacher − student, so a "
                "ratio that fell shows a negative change and a positive widening).",
        columns=["measure", "teacher", "student", "change (S − T)", "widening 95% low", "widening 95% high",
                 "flag"],
        rows=[[f"{w.approval}-rate ratio", ff["teacher"], ff["student"], ff["change"], *ff["worsening_ci"], ratio_flag],
              [f"{inp.positive}-capture gap ({w.declined} | {inp.positive})", col["tpr_gap"]["teacher"],
               col["tpr_gap"]["student"], col["tpr_gap"]["change"], *col["tpr_gap"]["worsening_ci"],
               flag(col["tpr_gap"])],
              [f"{w.wrongful} gap ({w.declined} | {w.good}) = equal-opportunity gap", col["fpr_gap"]["teacher"],
               col["fpr_gap"]["student"], col["fpr_gap"]["change"], *col["fpr_gap"]["worsening_ci"],
               flag(col["fpr_gap"])]])
    auc = Table(
        id=f"fairness_auc_{index}",
        caption=f"{name}: how well each model ranks '{inp.positive}' rows within each group (AUC), and the drop "
                "(teacher − student) with its 95 % paired bootstrap interval; the flag uses the interval adjusted "
                "for the number of groups tested (Bonferroni).",
        columns=["group", "rows", "teacher AUC", "student AUC", "drop (T − S)", "drop 95% low", "drop 95% high",
                 "flag"],
        rows=[[g["group"], g["rows"], g["teacher_auc"], g["student_auc"], g["drop"], *g["drop_ci"],
               "worse" if g["worse"] else ""] for g in col["auc_by_group"]])
    proxies = col["proxies"]
    if "skipped" in proxies:
        return [groups, rules, auc]
    proxy = Table(
        id=f"fairness_proxy_{index}",
        caption=f"{name}: how well the model's other inputs (the protected columns left out) predict membership of "
                f"each group, as the cross-validated AUC of a logistic regression on {proxies['rows']:,} training "
                f"rows ({PROXY_FOLDS} folds); then the inputs that do it best alone. 0.5: no proxy; "
                f"{PROXY_WARN} or more: a strong one.",
        columns=["group", "training rows", "AUC from the other inputs", "strongest single inputs (AUC)", "flag"],
        rows=[[g["group"], g["rows"], g["auc"], ", ".join(f"{t['input']} ({t['auc']:.3f})" for t in g["top_inputs"]),
               "strong proxy" if g["auc"] >= PROXY_WARN else ""] for g in proxies["groups"]])
    return [groups, rules, auc, proxy]


def _protected_groups(inp: TabularInputs, text: str) -> _Groups:
    """The groups of one protected spec: the lender's bands when given, else as any column."""
    name, edges = protected_spec(text, inp.test_frame.columns)
    if edges is None:
        return _groups(inp, name, min_rows=1)
    if not _is_numeric(inp, name):
        raise ConfigError(f"The 'protected' parameter bands {name!r} at {text.rpartition(':')[2]}, but {name!r} is not a "
                          "numeric column; name it without band edges.", param="protected")
    return _band_groups(name, numeric_column(inp.test_frame[name], name, "the test data", money=True), edges)


def _proxies(inp: TabularInputs, text: str, protected: Sequence[str]) -> dict[str, Any]:
    """The proxy analysis of one protected spec (:func:`finlite.evaluate.proxies.proxy_strength`)
    on the training rows, from the model's inputs that are not protected columns."""
    name = protected_spec(text, inp.test_frame.columns)[0]
    if name not in inp.train_frame.columns:
        return {"skipped": f"{name!r} is not in the training rows"}
    left_out = set(protected)
    numeric = [c for c in inp.numeric if c not in left_out and c in inp.train_frame.columns]
    categorical = [c for c in inp.categorical if c not in left_out and c in inp.train_frame.columns]
    try:
        groups = _groups_like(_protected_groups(inp, text), name, inp.train_frame)
        return proxy_strength(inp.train_frame, name, groups.codes, groups.labels, numeric, categorical, inp.seed)
    except (FinliteError, ValueError) as exc:
        # Evidence on the test rows stays: a training row the groups cannot read (text in a column
        # numeric in the test rows, say) or a fit that fails leaves out the proxy table alone.
        return {"skipped": f"the training rows cannot be analysed: {str(exc)[:300]}", "unreadable": True}


def build_fairness(inp: TabularInputs) -> Section:
    """The ``fairness`` section (binary tasks, ``inp.protected`` named): per protected column and
    group, approval rate, bad-capture rate (declined | bad: ``tpr``) and wrongful-decline rate
    (declined | good: ``fpr``; its gap is the equal-opportunity gap) and calibration, teacher and
    student; the approval-rate ratio (four-fifths rule), the two gaps (a group enters a gap with at
    least :data:`MIN_CLASS_ROWS` rows of that class), and every disparity whose widening's 95 %
    paired bootstrap interval lies above 0.02.

    ``metrics``: ``four_fifths`` ({rule, teacher, student, change, worsening_ci, passes: {teacher,
    student}, widened}), ``tpr_gap`` and ``fpr_gap`` ({teacher, student, change, worsening_ci,
    widened}), ``groups`` (per group: rows, positives, observed rate, in_rule / in_tpr_gap /
    in_fpr_gap, and per model approval rate, tpr, fpr, mean score), for
    the protected column that decided the status (``column``); ``by_column`` holds every column's.
    Status: FAIL when the student fails the four-fifths rule and the teacher passes with the ratio's
    fall beyond its 95 % interval (above 0), or a disparity's
    widening interval lies above 0.05; WARN when one lies above 0.02, either model fails the
    rule, a column's ratio or gap cannot be measured (fewer than two groups of enough rows: not
    assessed, which is no pass), a widening's interval reaches above 0.05 (inconclusive), a
    group too small for the rule is below four-fifths of the highest, the models read the
    protected column as an input (``model_input``), or the student ranks a group worse than the
    teacher (``auc_by_group``: the AUC drop's interval, Bonferroni over the column's groups,
    above 0; FAIL above AUC_FAIL), or the model's other inputs predict a group of the column with a
    cross-validated AUC of :data:`~finlite.evaluate.proxies.PROXY_WARN` or more (``proxies``, from
    the training rows: :func:`~finlite.evaluate.proxies.proxy_strength`), or the training rows
    could not be read for that analysis (``proxies.unreadable``); PASS otherwise. An undefined (null) ratio
    never picks the headline column over a real one. A spec ``COLUMN:E1/E2`` bands a numeric
    column at those edges (:func:`protected_spec`).

    Raises:
        ConfigError: no protected column, a task other than binary, or no cut-off.
        DataError: a protected column is not in the test frame.
    """
    if inp.task != "binary":
        raise ConfigError(f"The fairness section is for binary classifiers; this task is {inp.task!r}.",
                          param="protected")
    if not inp.protected:
        raise ConfigError("The fairness section needs a protected column; name one with protected=[COLUMN].",
                          param="protected")
    names = protected_columns(inp.protected, inp.test_frame.columns)
    _check_columns(inp, names, "protected")
    cutoff = _cutoff(inp, "fairness")
    columns = []
    for text in dict.fromkeys(inp.protected):
        col = _fairness_column(inp, _protected_groups(inp, text), cutoff)
        col["proxies"] = _proxies(inp, text, names)
        # A strong proxy, or an analysis the training rows could not give (missing evidence, which
        # is no pass), makes a passing column WARN.
        if (col["proxies"].get("strong") or col["proxies"].get("unreadable")) and col["status"] == "PASS":
            col["status"] = "WARN"
        columns.append(col)
    # The column that decides: worst status, then the lowest student approval-rate ratio; an
    # undefined ratio ranks last (it must not hide a column with a real one, R2 item 14).
    rank = {"PASS": 0, "WARN": 1, "FAIL": 2}

    def lead_key(c: dict[str, Any]) -> tuple[bool, bool, int, float]:
        # A FAIL leads whatever else (its gaps can widen without a ratio); then a column whose ratio
        # was measured leads over one that is WARN for want of a ratio.
        ratio = c["four_fifths"]["student"]
        return (c["status"] == "FAIL", ratio is not None, rank[c["status"]],
                -math.inf if ratio is None else -float(ratio))

    lead = max(columns, key=lead_key)
    status = worst(c["status"] for c in columns)
    w = DecisionWords.of(inp.domain)
    tables: list[Table] = []
    plots: list[Plot] = []
    notes: list[str] = []
    for i, col in enumerate(columns):
        tables += _fairness_tables(inp, col, i, cutoff)
        labels = [g["group"] for g in col["groups"]]
        xs = [float(j) for j in range(len(labels))]
        plots.append(Plot(
            id=f"fairness_approval_{i}", title=f"{w.approval.capitalize()} rate by {col['column']}",
            x_label=col["column"], y_label=f"{w.approval} rate", x_ticks=labels,
            series=[Series(name=m, x=xs, y=[g[m]["approval_rate"] for g in col["groups"]], style="bar")
                    for m in ("teacher", "student")]))
        notes += col["notes"]
        small = [g["group"] for g in col["groups"] if not g["in_rule"] and g["group"] != MISSING_GROUP]
        if small:
            notes.append(f"{col['column']}: group(s) {', '.join(map(repr, small))} have fewer than {MIN_ROWS} test rows: "
                         "shown, "
                         f"but left out of the {w.approval}-rate ratio and the gaps (too few rows for a stable rate).")
        if col["four_fifths"]["teacher"] is None or col["four_fifths"]["student"] is None:
            notes.append(f"{col['column']}: fewer than two groups of at least {MIN_ROWS} rows (or none "
                         f"{w.approved}): "
                         "the ratio and the gaps are undefined (null); the column is WARN, not assessed (score a "
                         "larger test set, or band the column into fewer groups).")
        undefined = [g["group"] for g in col["groups"] if g["teacher"]["tpr"] is None or g["teacher"]["fpr"] is None]
        if undefined:
            notes.append(f"{col['column']}: a capture or {w.wrongful} rate is null for group(s) "
                         f"{', '.join(map(repr, undefined))} (no rows of that class); the gaps use the groups where it "
                         "is defined.")
        thin = [g["group"] for g in col["groups"] if g["in_rule"] and not (g["in_tpr_gap"] and g["in_fpr_gap"])]
        if thin:
            notes.append(f"{col['column']}: group(s) {', '.join(map(repr, thin))} have fewer than {MIN_CLASS_ROWS} "
                         f"'{inp.positive}' rows (or other rows): left out of that class's gap (one flipped "
                         "decision would move its rate by several points).")
        below = _below_rule(col["four_fifths"])
        if below:
            ff = col["four_fifths"]
            ratios = " and ".join(f"{m} {_num(ff[m])}" for m in ("teacher", "student")
                                  if ff["passes"][m] is False)
            verb = "fail" if " and " in below else "fails"
            notes.append(f"{col['column']}: the {below} {verb} the four-fifths rule ({w.approval} rate of the "
                         f"group {w.approved} least over the one {w.approved} most: {ratios}, below {FOUR_FIFTHS}), the "
                         "usual screen for adverse impact: at least WARN. "
                         + _four_fifths_cause(ff["passes"]))
        if col["model_input"]:
            notes.append(f"{col['column']}: the models read this protected attribute as an input, so "
                         f"{w.protected_input}: WARN. Review why it is used, or train without it "
                         f"(--drop {col['column']}) and test it here all the same.")
        if col["not_assessed"]:
            notes.append(f"{col['column']}: {' and '.join(col['not_assessed'])} not assessed (fewer than two groups "
                         f"with {MIN_CLASS_ROWS} rows of the class): missing evidence, so WARN, not PASS.")
        for item in col["inconclusive"]:
            notes.append(f"{col['column']}: inconclusive on the {item['measure']}: compression may have widened it by "
                         f"up to {item['widening_95_high']:.3f} (the 95 % interval's upper end, above the FAIL margin "
                         f"{WIDEN_FAIL}); these test rows cannot rule that out, so WARN. Judge it on a larger "
                         "hold-out (report --holdout).")
        if col["auc_worse"]:
            notes.append(f"{col['column']}: the student ranks group(s) {', '.join(col['auc_worse'])} worse than the "
                         "teacher beyond chance (the AUC drop's interval, adjusted for the groups tested, lies above "
                         f"0): WARN, FAIL above {AUC_FAIL}. Its errors there fall on that group more than before.")
        proxies = col["proxies"]
        if "skipped" in proxies:
            notes.append(f"{col['column']}: no proxy analysis ({proxies['skipped']}).")
        elif proxies["untested"]:  # said beside a strong proxy, never instead of it
            notes.append(f"{col['column']}: the proxy analysis tested the {PROXY_MAX_GROUPS} largest groups; not "
                         f"tested: {', '.join(proxies['untested'])}.")
        if "skipped" not in proxies and proxies["strong"]:
            best = max(proxies["groups"], key=lambda g: g["auc"])
            carriers = ", ".join(t["input"] for t in best["top_inputs"])
            notes.append(f"{col['column']}: the model's other inputs predict membership of group(s) "
                         f"{', '.join(proxies['strong'])} with a cross-validated AUC of up to {best['auc']:.3f} "
                         f"(at least {PROXY_WARN}): they can stand in for {col['column']} even where it is not an "
                         f"input (most alone: {carriers}). WARN: review whether those inputs are needed (a less "
                         "discriminatory alternative), and read the group rates above with that in mind.")
        if col["small_groups_below_rule"]:
            notes.append(f"{col['column']}: group(s) {', '.join(col['small_groups_below_rule'])}, left out of the rule "
                         f"for their size, have a{'n' if w.approval[0] in 'aeiou' else ''} {w.approval} rate below "
                         f"{FOUR_FIFTHS} of the highest group's: too few "
                         "rows to judge, so WARN (partially assessed), not PASS.")
    notes.append("A missing value of a protected column is a group of its own, '(missing)'; every value keeps its own "
                 f"group (up to the {MAX_GROUPS} largest). fairlearn's MetricFrame computes the group rates.")
    notes.append(f"{w.declined.capitalize()} = score >= cut-off. The {inp.positive}-capture rate is fairlearn's TPR "
                 f"with the flagged class as the positive prediction; the {w.wrongful} rate is its FPR, and 1 − it is "
                 f"{w.equal_opportunity}: its gap is the equal-opportunity gap. "
                 f"Widening intervals: {FAIRNESS_BOOT} paired multinomial bootstrap resamples of the test rows "
                 f"(seeded by {inp.seed} and the column), groups in each rule fixed.")
    if any("skipped" not in c["proxies"] for c in columns):
        notes.append(f"Proxy analysis: for each group (at least {PROXY_MIN_ROWS} sampled training rows in it and out "
                     "of it), scikit-learn's logistic regression predicts membership from the model's inputs other "
                     "than the protected columns (numbers median-imputed with missing flags and standardised; "
                     f"categories one-hot, the {PROXY_MAX_CATEGORIES} most frequent per input) on a sample of at most "
                     f"{PROXY_ROWS:,} training rows seeded by {inp.seed}; the AUC is out of fold ({PROXY_FOLDS} "
                     "stratified folds). Each input alone: a number ranked by its value (either direction), a category by its "
                     "out-of-fold share of the group. A strong proxy is a reason to "
                     "review, not a finding of disparate impact: the group rates are that.")
    parts = []
    for col in columns:
        ff = col["four_fifths"]
        ruled = sum(1 for g in col["groups"] if g["in_rule"])
        words = (f"{col['column']}: {w.approval}-rate ratio {_num(ff['teacher'])} (teacher) vs {_num(ff['student'])} "
                 f"(student)" + (f", over {ruled} of its {len(col['groups'])} groups" if ruled < len(col["groups"])
                                 else ""))
        if col["small_groups_below_rule"]:
            # Named in the headline a regulator reads, not only in a note (a compliance review,
            # 2026-12-06: "0.994 vs 0.949" headed a column whose 21-row group stood at 0.57).
            words += (f" (group(s) too small for the rule, below four-fifths of the highest: "
                      f"{_small_ratios(col, w)})")
        below = _below_rule(ff)
        if below:  # the finding a fair-lending reviewer reads first (it was in the numbers only: a walk-through)
            words += f", below the four-fifths rule's {FOUR_FIFTHS} for the {below}"
        if col["widened"]:
            words += f"; widened by compression: {', '.join(col['widened'])}"
        parts.append(words)
    summary = "; ".join(parts) + "."
    threshold = (f"Four-fifths rule: the lowest group {w.approval} rate is at least {FOUR_FIFTHS} of the highest (groups "
                 f"of >= {MIN_ROWS} rows). Gaps (max − min over groups): the {inp.positive}-capture gap over groups "
                 f"with >= {MIN_CLASS_ROWS} '{inp.positive}' rows, the {w.wrongful} (equal-opportunity) gap over "
                 f"groups with >= {MIN_CLASS_ROWS} other rows. FAIL when the student fails the rule and the teacher "
                 f"passes with the ratio's fall beyond noise (its 95 % interval above 0), or the 95 % paired bootstrap interval of a widening ({w.approval} ratio fell, or a gap grew) "
                 f"lies wholly above {WIDEN_FAIL}; WARN when one lies wholly above {WIDEN_WARN}, either model "
                 "fails the rule, the ratio or a gap cannot be measured (not assessed), a widening's interval "
                 f"reaches above {WIDEN_FAIL} (inconclusive), a group too small for the rule is below it, the "
                 "models read the protected column as an input, or the student ranks a group worse than the teacher "
                 f"(AUC drop's interval, Bonferroni over the groups, above 0; FAIL above {AUC_FAIL}), or the other "
                 f"inputs predict a protected group with a cross-validated AUC of {PROXY_WARN} or more (a strong "
                 "proxy); PASS otherwise.")
    metrics: dict[str, Any] = {"column": lead["column"], "banded": lead["banded"], "cutoff": cutoff,
                               "four_fifths": lead["four_fifths"], "tpr_gap": lead["tpr_gap"],
                               "fpr_gap": lead["fpr_gap"], "groups": lead["groups"],
                               "by_column": {c["column"]: {k: v for k, v in c.items() if k not in ("notes", "column")}
                                             for c in columns}}
    return Section(id="fairness", title="Fairness", status=status, threshold=threshold, summary=summary,
                   metrics=json_number(metrics), tables=tables, plots=plots, notes=notes)


def _small_ratios(col: Mapping[str, Any], w: DecisionWords) -> str:
    """Each group left out of the rule for its size and below four-fifths of the highest ruled
    group's rate, with its rows and each model's ratio to that rate (the lower alone, unnamed,
    read as the student's where it was the teacher's: a fair-lending walk-through, 2026-12-07)."""
    groups = col["groups"]
    out = []
    for name in col["small_groups_below_rule"]:
        g = next(x for x in groups if x["group"] == name)
        ratios = []
        for m in ("teacher", "student"):
            top = max((x[m]["approval_rate"] for x in groups if x["in_rule"] and x[m]["approval_rate"] is not None),
                      default=None)
            rate = g[m]["approval_rate"]
            if top and rate is not None:
                ratios.append(f"{m} {rate / top:.2f}")
        shown = f", {w.approval} ratio {', '.join(ratios)}" if ratios else ""
        out.append(f"{name} ({g['rows']} rows{shown})")
    return "; ".join(out)


def _num(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.3f}"
