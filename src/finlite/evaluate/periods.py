"""Periods of a hold-out for the PD back-test over periods (``evaluate --period-column``,
``report --holdout --period-column``): a column of periods read into one index per row, in
order, refused where a period cannot be trusted."""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from finlite.data.schema import compact_dates
from finlite.errors import DataError

__all__ = ["PERIOD_FREQS", "overlap_note", "read_periods", "time_note"]

#: ``period_freq``: how dates are grouped into periods (pandas' period codes).
PERIOD_FREQS = {"year": "Y", "quarter": "Q", "month": "M"}


def overlap_note(column: str, freq: str | None, names: Sequence[Any] = ()) -> str | None:
    """What a back-test over periods shorter than a year must say, None otherwise: ``freq``
    "quarter" or "month", or, without ``freq``, periods ``names`` that read as dates less than
    about a year apart (month-end snapshot dates, "2023Q1", "2023-03"; a behavioural modeller's
    monthly snapshots got no word where the same periods grouped by month did: a walk-through,
    2026-12-07). A PD is a twelve-month probability: where each row's default flag covers the
    twelve months after its date, the outcome windows of monthly (or quarterly) cohorts overlap,
    so one bad year's defaults fall in twelve (or four) consecutive periods, and the t-test across
    the periods takes them as independent: its p-value too small, the rejections too many. The
    data cannot tell which flag it holds, so it is said, not refused."""
    what = {"quarter": "quarters", "month": "months"}.get(str(freq)) if freq is not None else _sub_annual(names)
    if what is None:
        return None
    return (f"the periods of {column!r} are {what}, shorter than a PD's twelve-month horizon: if each row's default "
            "flag covers the twelve months after its date, neighbouring periods share their defaults' months, and "
            "the back-test across the periods (which takes them as independent) rejects too often. Back-test "
            "twelve-month outcomes by year (--period-freq year), unless each row's flag covers its own period only.")


def time_note(column: str, names: Sequence[Any]) -> str | None:
    """What a back-test over periods must say where the periods read as no time (None where they
    may): numbers none of which is a year from 1900 to 2100 (months on book), or text none of which
    names a year (a product: card, loan, overdraft). The long run averages the periods' rates as
    the years of a cycle; over segments it means nothing (a behavioural modeller's walk-through,
    2026-12-07, got a "long run" over three products)."""
    if not names:
        return None
    numbers = all(isinstance(n, (int, float, np.number)) and not isinstance(n, bool) for n in names)
    if numbers:
        timely = any(1900 <= float(n) <= 2100 for n in names) or compact_dates(names) is not None
    else:
        timely = any(re.search(r"(?:19|20)\d\d", str(n)) for n in names)
    if timely:
        return None
    shown = ", ".join(repr(n) for n in list(names)[:3]) + (", …" if len(names) > 3 else "")
    return (f"the periods of {column!r} ({shown}) read as no years or dates: the back-test over periods takes them as "
            "periods of time, its long run the average over an economic cycle. Give a column of the year (or of "
            "dates with --period-freq); to compare segments, use report --segments.")


def _sub_annual(names: Sequence[Any]) -> str | None:
    """"months", "quarters" or "periods under a year apart" where every period name reads as a
    date (text, a date, or a month written as digits, 202301; not a year) and the median gap
    between them is under 330 days; None otherwise. Year-months as numbers got no word and a note
    that they read as no time (a review, 2026-12-07)."""
    if len(names) < 2:
        return None
    dates = compact_dates(names)
    if dates is None:
        if any(isinstance(n, (int, float, np.number)) and not isinstance(n, bool) for n in names):
            return None
        with warnings.catch_warnings():  # pandas warns of formats it guesses; a name that is no date is NaT
            warnings.simplefilter("ignore")
            dates = pd.to_datetime(pd.Series([str(n) for n in names]), errors="coerce", format="mixed")
    if dates.isna().any():
        return None
    gaps = np.diff(np.sort(dates.to_numpy(dtype="datetime64[D]")).astype(np.int64))
    gap = float(np.median(gaps)) if gaps.size else 0.0
    if not 0 < gap < 330:
        return None
    return "months" if gap <= 31 else "quarters" if gap <= 92 else "periods under a year apart"


#: More distinct dates than this in a period column without ``period_freq`` are refused, with the
#: option that groups them (monthly over a decade is 120 periods; days are thousands).
MANY_DATES = 150


def _row_name(rows: pd.DataFrame, at: int) -> Any:
    """The file's 1-based data row of the ``at``-th judged row (its label where the index is none)."""
    label = rows.index[at]
    return int(label) + 1 if isinstance(label, (int, np.integer)) else label


def read_periods(rows: pd.DataFrame, column: str, freq: str | None, source: str) -> tuple[np.ndarray, list[Any]]:
    """Each row's period in ``rows[column]`` as an index into the periods (returned in order), for
    :func:`finlite.evaluate.validation.period_backtest`. ``freq`` ("year", "quarter", "month")
    groups a column of dates; None takes the values as they are. Numbers and dates are ordered
    by value, text by :func:`finlite._util.natural_key` ("2020-2" before "2020-10"; write quarters
    as "2020Q1" to keep them in time order); the tests do not depend on the order.

    Raises:
        DataError: the column is absent, has a blank or non-finite period, holds more periods
            than :data:`~finlite.evaluate.validation.MAX_PERIODS`, or, grouped by ``freq``, holds
            a value that is no date, a date before 1900 or after today, or years as numbers.
    """
    from finlite._util import natural_key
    from finlite.data.schema import looks_like_dates
    from finlite.evaluate.validation import MAX_PERIODS

    if column not in rows.columns:
        import difflib

        columns = [str(c) for c in rows.columns]
        folded = {n.casefold(): n for n in columns}
        near = folded.get(column.casefold()) or next(iter(difflib.get_close_matches(column, columns, n=1)), None)
        shown = ", ".join(map(repr, columns[:12])) + (", …" if len(columns) > 12 else "")
        raise DataError(f"{source} has no column {column!r} to read the periods from (--period-column)"
                        + (f"; did you mean {near!r}?" if near else f"; its columns: {shown}."),
                        param="period_column")
    values = rows[column]
    numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
    blank = values.isna().to_numpy(copy=True)  # a copy: pandas hands out a read-only view
    if numeric:  # an infinite period is no period
        blank |= ~np.isfinite(values.to_numpy(dtype=np.float64, na_value=np.nan)) & ~blank
    elif values.dtype == object or pd.api.types.is_string_dtype(values):  # "" or "  " is as blank as missing
        blank |= values.map(lambda v: isinstance(v, str) and not v.strip()).to_numpy(dtype=bool)
    if blank.any():
        at = int(np.flatnonzero(blank)[0])
        shown = "" if pd.isna(values.iloc[at]) else f": {str(values.iloc[at])[:40]!r}"
        raise DataError(f"{source}: {int(blank.sum()):,} row(s) have no period in column {column!r} (the first: row "
                        f"{_row_name(rows, at)}{shown}); a back-test by period needs every row's period. Fill them, "
                        "or drop those rows.", param="period_column")
    if freq is not None:
        from finlite.data.schema import parse_dates

        if numeric and float(values.min()) >= 1000 and float(values.max()) <= 9999:
            raise DataError(f"{source}: column {column!r} holds years as numbers ({values.iloc[0]}, …), not dates: "
                            f"--period-freq {freq} would read each as its 1 January. Drop --period-freq to take the "
                            "years as the periods.", param="period_freq")
        dates = parse_dates(values, column, source)
        if dates.dt.tz is not None:  # the local date as written: a period is the book's calendar's
            dates = dates.dt.tz_localize(None)
        # A month-year text read as a date of the 18th century, a typo's year 2027: refused, not a period.
        wrong = (dates.isna() | (dates < pd.Timestamp("1900-01-01")) | (dates > pd.Timestamp.now())).to_numpy()
        if wrong.any():
            at = int(np.flatnonzero(wrong)[0])
            what = "which is no date" if pd.isna(dates.iloc[at]) else \
                f"read as {dates.iloc[at].date().isoformat()}, " + ("after today" if dates.iloc[at] > pd.Timestamp.now()
                                                                    else "before 1900")
            raise DataError(f"{source}: column {column!r} holds {str(values.iloc[at])[:60]!r} (row "
                            f"{_row_name(rows, at)}), {what}; --period-freq {freq} groups the dates of observed "
                            "outcomes. Correct it (write dates as 2019-03-31), or give a column of periods without "
                            "--period-freq.", param="period_column")
        keys = dates.dt.to_period(PERIOD_FREQS[freq]).astype(str)
    elif pd.api.types.is_datetime64_any_dtype(values):
        keys = values.dt.strftime("%Y-%m-%d") if values.dt.tz is None else values.dt.strftime("%Y-%m-%d %z")
    elif numeric:
        keys = values.astype(np.float64)
    else:
        keys = values.astype(str).str.strip()
    codes, found = pd.factorize(keys)
    if freq is None and len(found) > MANY_DATES and looks_like_dates(values):
        # Each day its own period: hundreds of thin ones and no long run (a validator's walk-through).
        raise DataError(f"{source}: column {column!r} holds {len(found):,} distinct dates; a back-test by period reads "
                        "a year, a quarter or a month each: group them with --period-freq year (or quarter, month).",
                        param="period_column")
    if len(found) > MAX_PERIODS:
        raise DataError(f"{source}: column {column!r} holds {len(found):,} distinct values; a back-test by period reads "
                        f"at most {MAX_PERIODS} periods (a year, a quarter or a month each). Give a column of the "
                        "period, e.g. the year of the observation date, or group a date column with --period-freq "
                        "year.", param="period_column")
    labels = [v.item() if isinstance(v, np.generic) else v for v in found.tolist()]
    order = sorted(range(len(labels)), key=(lambda k: labels[k]) if numeric else (lambda k: natural_key(labels[k])))
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    # A year read as a float (a column with a blank elsewhere) prints as 2019, not 2019.0.
    names = [int(labels[k]) if numeric and float(labels[k]).is_integer() else labels[k] for k in order]
    return rank[codes], names
