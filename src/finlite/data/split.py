"""Deterministic train / validation / test splits: stratified, stratified by group (every row of an
account in one part), or out-of-time by a date column."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from finlite._finite import shown
from finlite._limits import MAX_SEED, plain_ints
from finlite._util import check_flags, param_error
from finlite.errors import ConfigError, DataError

__all__ = ["Split", "SplitConfig", "group_codes", "grouped_folds", "make_split"]


@dataclass(frozen=True)
class SplitConfig:
    """How rows are divided.

    Attributes:
        validation: share of rows for early stopping and model choice.
        test: share of rows held out for the evidence; never used for fitting or choosing.
        seed: seed of the stratified shuffle.
        date_column: when set, the split is out-of-time: the oldest rows train, the newest test.
        group_column: when set, the stratified split keeps every row of one value of this column
            (an account, a customer, a card) in one part: a panel of monthly snapshots, or several
            loans per customer, split by row puts rows of one account in training and in the
            test split, and the test evidence then measures what the model remembers (German
            credit as six snapshots per applicant: test AUC 1.00 split by row). Not with
            ``date_column``: an out-of-time split keeps its periods apart, and the same accounts
            in a later period are what out-of-time validation judges.
        whole_dates: an out-of-time split cuts between dates, so each date's rows lie in one part
            (the shares move to the nearest date boundary). False only for an artifact made
            before this rule (its record lacks the field: :func:`finlite.artifact.recorded_split`),
            which cut at the shares' rows and could put one date in two parts.
        one_shuffle: a stratified split shuffles all rows once and cuts each class in that order,
            so the parts do not depend on which class is the positive one (``--positive good``
            and ``bad`` split the same rows alike). False only for an artifact made before this
            rule (its record lacks the field: :func:`finlite.artifact.recorded_split`), whose
            classes were shuffled one after the other, so naming the other class positive gave
            another split (German credit, seed 0: test AUC 0.69 for ``good``, 0.82 for ``bad``).
        month_year: a date column's month-of-year text ("Dec-15", "Aug 2003") is read as the first
            of that month. False only for an artifact made before this rule (its record lacks the
            field), which read "Dec-15" as the year 1 (1755 once converted): such an artifact's
            split cannot be made again as it was, and is refused when its dates are of that form.
    """

    validation: float = 0.2
    test: float = 0.2
    seed: int = 0
    date_column: str | None = None
    group_column: str | None = None
    whole_dates: bool = True
    one_shuffle: bool = True
    month_year: bool = True

    def __post_init__(self) -> None:
        plain_ints(self, ("seed",))  # a seed from np.random
        for name in ("validation", "test"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1:
                raise param_error("SplitConfig", name, "a number in (0, 1)", value)
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or not 0 <= self.seed <= MAX_SEED:
            raise param_error("SplitConfig", "seed", f"a whole number from 0 to {MAX_SEED}", self.seed)
        if self.date_column is not None and not isinstance(self.date_column, str):
            raise param_error("SplitConfig", "date_column", "a column name or None", self.date_column)
        if self.group_column is not None and (not isinstance(self.group_column, str) or not self.group_column):
            raise param_error("SplitConfig", "group_column", "a column name or None", self.group_column)
        if self.group_column is not None and self.date_column is not None:
            raise ConfigError(
                f"A split by group ({self.group_column!r}) and an out-of-time split ({self.date_column!r}) were both "
                "asked for; name one. An out-of-time split keeps its periods apart, and an account's later rows in "
                "the test period are what out-of-time validation judges; a split by group keeps each account's rows "
                "in one part of a random split.", param="group_column")
        check_flags("SplitConfig", whole_dates=self.whole_dates, one_shuffle=self.one_shuffle,
                    month_year=self.month_year)
        # At most 0.9, with a margin for binary fractions (0.6 + 0.3 is 0.8999999999999999, 0.5 + 0.4
        # is 0.9: both leave training 10 %).
        if self.validation + self.test > 0.9 + 1e-9:
            raise param_error("SplitConfig", "validation + test", "at most 0.9 so training keeps 10 % of rows",
                              self.validation + self.test)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (``group_column`` only when set, so a split without one records what it
        always did)."""
        return {"validation": self.validation, "test": self.test, "seed": self.seed,
                "date_column": self.date_column, "whole_dates": self.whole_dates, "one_shuffle": self.one_shuffle,
                "month_year": self.month_year,
                **({"group_column": self.group_column} if self.group_column is not None else {})}


@dataclass(frozen=True)
class Split:
    """Row positions of each part; ``method`` is "stratified", "grouped" (stratified by group) or
    "out-of-time"; ``dates``: an
    out-of-time split's first and last date of each part (ISO days, or ISO date-times when the
    column holds times of day), else None; ``notes``: what the caller should be told (a cut
    that moved the shares far from those asked for)."""

    train: np.ndarray
    validation: np.ndarray
    test: np.ndarray
    method: str
    dates: dict[str, list[str]] | None = None
    notes: tuple[str, ...] = ()

    def sizes(self) -> dict[str, int]:
        """Rows in each part."""
        return {"train": len(self.train), "validation": len(self.validation), "test": len(self.test)}


def make_split(frame: pd.DataFrame, labels: np.ndarray, config: SplitConfig, *, source: str = "the data",
               file_rows: np.ndarray | None = None) -> Split:
    """Split rows of ``frame`` into train, validation and test.

    Stratified: the rows are shuffled once with ``config.seed`` and each class, in that order, is
    cut in the same proportions, so the bad rate is the same in every part and the parts are the
    same whichever class is called positive (``config.one_shuffle``). Out-of-time: rows are ordered by
    ``config.date_column`` (ties keep file order) and cut oldest-to-newest, each cut moved to
    the nearest boundary between two dates (``config.whole_dates``): a month whose loans were
    both trained on and tested would be in-time evidence called out-of-time. By group
    (``config.group_column``): whole groups are dealt to the parts, stratified by whether a group
    holds a positive row, so no account is both trained on and tested.

    Raises:
        DataError: the date column is missing or holds values that are not dates, holds too few
            dates to give each part its own, or a class has too few rows to appear in every part;
            the group column is missing, blank in a row, or has too few values of a class.
            ``file_rows``: each row's number in the file, for errors (unlabelled rows were left
            out before the split; default: the row's position + 1).
    """
    n = len(frame)
    if config.date_column is not None:
        if config.date_column not in frame.columns:
            raise DataError(f"Date column {config.date_column!r} for the out-of-time split is not in {source}.")
        raw = frame[config.date_column]
        # Text dates too ("28-Feb-97"), with a two-digit year's century resolved so none is after today.
        from finlite.data.schema import parse_dates

        if not config.month_year:
            from finlite.data.schema import month_year_rows

            rows = month_year_rows(raw)
            if rows.any():
                raise DataError(f"Date column {config.date_column!r} of {source} holds months of a year such as "
                                f"{str(raw[rows].iloc[0])!r}, which the finlite that made this artifact read "
                                "wrongly (\"Dec-15\" as the year 1), so its out-of-time split cannot be made again "
                                "as it was. Train the teacher again with this version of finlite.")
        dates = parse_dates(raw, config.date_column, source)
        bad = dates.isna().to_numpy()
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            if bad.all() and pd.api.types.is_bool_dtype(raw):
                raise DataError(
                    f"Date column {config.date_column!r} in {source} holds true/false values, not dates; an "
                    "out-of-time split orders rows by calendar date. Name a column of dates, or drop --date-column "
                    "for a stratified split.", param="date_column")
            if bad.all() and pd.api.types.is_numeric_dtype(raw):
                # Elapsed or epoch seconds (card data's "Time"): no row is a date, so "remove the
                # row" was no advice (a fraud engineer's walk-through, 2026-12-03).
                raise DataError(
                    f"Date column {config.date_column!r} in {source} holds numbers ({shown(raw.iloc[row])} at row "
                    f"{row + 1}), not dates; an out-of-time split orders rows by calendar date. Add a date column "
                    "(from epoch seconds: pd.to_datetime(column, unit='s'); from a spreadsheet's day numbers, such as "
                    "Excel's 35854: pd.to_datetime(column, unit='D', origin='1899-12-30')) and name it, or drop "
                    "--date-column "
                    "for a stratified split.", param="date_column")
            value = raw.iloc[row]
            # A blank was shown as "nan ... which is not a date" (a behavioural modeller's walk-through,
            # 2026-12-07): said as blank, with the count of blank rows.
            empty = bool(pd.isna(value)) or (isinstance(value, str) and not value.strip())
            if empty:
                blanks = int(raw.isna().sum() + raw.map(lambda v: isinstance(v, str) and not v.strip()).sum())
                raise DataError(
                    f"Date column {config.date_column!r} in {source} is blank at row {row + 1} ({blanks:,} blank row(s) "
                    "in all); an out-of-time split needs a date in every row: fill them or remove those rows.",
                    param="date_column")
            raise DataError(
                f"Date column {config.date_column!r} in {source} holds {shown(value)} at row {row + 1}, which "
                "is not a date; fix it or remove the row (out-of-time splits need a date in every row)."
            )
        order = np.argsort(dates.to_numpy(), kind="stable")
        sorted_dates = dates.to_numpy()[order]
        if n and sorted_dates[0] == sorted_dates[-1]:
            # Every row on one date: "out-of-time" would be file order under another name.
            raise DataError(f"Date column {config.date_column!r} in {source} holds one date in every row "
                            f"({str(sorted_dates[0])[:10]}); an out-of-time split needs rows from different dates. "
                            "Name another date column, or drop the option for a stratified random split.")
        n_test = round(n * config.test)
        n_val = round(n * config.validation)
        n_train = n - n_val - n_test
        cuts = n_train, n_train + n_val
        if config.whole_dates:
            cuts = _date_cuts(sorted_dates, cuts, config.date_column, source)
        parts = order[:cuts[0]], order[cuts[0]:cuts[1]], order[cuts[1]:]
        method = "out-of-time"
        stamps = pd.Series(sorted_dates)
        # Days, unless the column holds times of day: then cuts between two times of one day are
        # told as such, not as a day in two parts.
        timed = bool((stamps != stamps.dt.normalize()).any())

        def day(i: int) -> str:  # a datetime64 or, from a zone-aware column, a Timestamp
            return pd.Timestamp(sorted_dates[i]).strftime("%Y-%m-%dT%H:%M:%S" if timed else "%Y-%m-%d")

        bounds = (("train", 0, cuts[0]), ("validation", *cuts), ("test", cuts[1], n))
        spans: dict[str, list[str]] | None = {name: [day(lo), day(hi - 1)] for name, lo, hi in bounds if hi > lo}
        notes = _moved_shares(cuts, (n_train, n_train + n_val), n, config.date_column)
        from finlite.data.schema import date_order_note

        order_note = date_order_note(raw, config.date_column)
        if order_note is not None:
            notes = (*notes, order_note)
    elif config.group_column is not None:
        parts, notes = _grouped_parts(frame, labels, config, source, file_rows)
        method, spans = "grouped", None
    else:
        rng = np.random.default_rng(config.seed)
        # One shuffle of every row, each class taken in its order: no draw depends on which class
        # comes first, so relabelling (positive "good" for "bad") leaves the parts as they are.
        shuffled = rng.permutation(n) if config.one_shuffle else None
        train, val, test = [], [], []
        for cls in (0.0, 1.0):
            if shuffled is not None:
                idx = shuffled[labels[shuffled] == cls]
            else:  # an older artifact's split: each class shuffled in turn
                idx = rng.permutation(np.flatnonzero(labels == cls))
            if len(idx) < 3:
                raise DataError(
                    f"Only {len(idx)} row(s) of class {'positive' if cls else 'negative'} in {source}; a stratified "
                    "split needs at least 3 (one for each of train, validation and test)."
                )
            n_test = max(1, round(len(idx) * config.test))
            n_val = max(1, round(len(idx) * config.validation))
            test.append(idx[:n_test])
            val.append(idx[n_test:n_test + n_val])
            train.append(idx[n_test + n_val:])
        train_rows, val_rows, test_rows = (np.sort(np.concatenate(p)) for p in (train, val, test))
        parts = train_rows, val_rows, test_rows
        method = "stratified"
        spans, notes = None, ()
    for name, part in zip(("train", "validation", "test"), parts, strict=True):
        if len(part) == 0 or len(np.unique(labels[part])) < 2:
            # The advice names what can be done from each side: the command line's shares
            # (--validation-fraction, --test-fraction, since 2026-12-06) and Python's SplitConfig.
            how = ("use more data or more distinct dates (each date's rows stay in one part), or drop "
                   "--date-column for a stratified split" if method == "out-of-time" else
                   f"use more data or more distinct values of {config.group_column!r} (each one's rows stay in one "
                   "part)" if method == "grouped" else "use more data")
            raise DataError(
                f"The {name} part of the {method} split of {source} has {len(part)} rows and not both classes; "
                f"{how}, or give the part a larger share (train's --validation-fraction or --test-fraction; "
                f"SplitConfig(validation=..., test=...) from Python)."
            )
    return Split(*parts, method=method, dates=spans, notes=notes)


#: Text a reader takes for a missing value (pandas' CSV defaults): a blank account, however written.
_MISSING_TEXT = frozenset({"", "na", "n/a", "nan", "null", "none", "<na>", "nat", "-nan", "#n/a", "#n/a n/a", "#na",
                           "-1.#ind", "1.#ind", "-1.#qnan", "1.#qnan"})
_WHOLE_TEXT = re.compile(r"[+-]?[0-9]+(?:\.0*)?")
_DECIMAL_TEXT = re.compile(r"[+-]?(?:[0-9]+\.[0-9]*|\.[0-9]+)")


def _group_key(value: Any) -> str | None:
    """One account's key: a whole number as its digits, exactly (7, 7.0, "7", "007", "7.00"; an
    account number of 19 digits is never rounded through a float); a decimal as its shortest
    digits ("12.50" and 12.5); other text stripped, and non-ASCII text in Unicode's compatibility
    form (NFKC) with every script's digits as ASCII ones ("０００１２" and "١٢" are 12); a missing
    value (None, NaN, "NA", "") as None. Exponents and other forms are kept as written: "1e5" and
    "0e12" are codes, not numbers."""
    if value is None or value is pd.NA:
        return None
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        if not np.isfinite(value):
            return None if np.isnan(value) else str(value)
        return str(int(value)) if float(value).is_integer() else _decimal_key(repr(float(value)))
    text = str(value).strip()
    if not text.isascii():
        # One account however the system wrote it: composed or decomposed accents, full-width or
        # other scripts' digits ("Müller" twice, "０００１２" and "١٢" for 12) were keys of their own,
        # and the same account sat on both sides of the split (237 of 354 test accounts in an
        # international walk-through, 2026-12-07). NFKC, then every decimal digit as its ASCII one.
        text = "".join(str(unicodedata.decimal(c)) if c.isdecimal() else c
                       for c in unicodedata.normalize("NFKC", text)).strip()
    if text.lower() in _MISSING_TEXT:
        return None
    if _WHOLE_TEXT.fullmatch(text):
        return str(int(text.split(".")[0]))
    if _DECIMAL_TEXT.fullmatch(text):
        return _decimal_key(text)
    return text


def _decimal_key(text: str) -> str:
    from decimal import Decimal

    number = Decimal(text).normalize()
    return format(number, "f") if number != number.to_integral_value() else str(int(number))


def group_keys(values: pd.Series) -> pd.Series:
    """Each row's group as text, the same whatever type the column was read as (:func:`_group_key`):
    a CSV reader turns "00012" into 12 where a Parquet copy keeps the text, and the same book split
    two ways (a review, 2026-12-07); a blank as NA. Worked out once per distinct value."""
    codes, uniques = pd.factorize(values.to_numpy(dtype=object), use_na_sentinel=True)
    keys = np.array([_group_key(v) for v in uniques] + [None], dtype=object)
    return pd.Series(keys[codes], index=values.index, dtype="string")


def group_codes(values: pd.Series, column: str, source: str, rows: np.ndarray | None = None) -> np.ndarray:
    """Each row's group as a whole number that does not depend on the rows' order: the rank of
    its key (:func:`group_keys`) among the column's distinct keys. ``rows``: each row's number in
    the file, for the error (default: its position + 1).

    Raises:
        DataError: a row without a value, naming the column and the row.
    """
    keys = group_keys(values)
    blank = keys.isna().to_numpy()
    if blank.any():
        first = int(np.flatnonzero(blank)[0])
        row = int(rows[first]) if rows is not None else first + 1
        count = int(blank.sum())
        raise DataError(f"Group column {column!r} of {source} is blank at row {row} ({count:,} "
                        f"row{'s' if count != 1 else ''} blank in all): a split by group needs every row's account. "
                        "Fill it, or remove those rows.", param="group_column")
    codes, _ = pd.factorize(keys.to_numpy(dtype=object), sort=True)
    return np.asarray(codes, dtype=np.int64)


def grouped_folds(codes: np.ndarray, k: int, seed: int) -> np.ndarray:
    """Fold number (0..k−1) of each row, every row of one group in one fold: the groups (``codes``
    from :func:`group_codes`) are shuffled with ``seed`` and dealt to the folds, each group to the
    fold holding fewest rows so far, so the folds' row counts stay close even when groups differ
    in size. Out-of-fold encodings and scores use it under a split by group: a fold holding an
    account's other rows would hand each row its own account's outcomes."""
    if not len(codes):
        return np.zeros(0, dtype=np.int64)
    sizes = np.bincount(codes)
    order = np.random.default_rng(seed).permutation(len(sizes))
    fold_of = np.empty(len(sizes), dtype=np.int64)
    filled = np.zeros(k, dtype=np.int64)
    for group in order:
        if sizes[group] == 0:
            continue
        f = int(np.argmin(filled))  # the first of the emptiest folds: deterministic
        fold_of[group] = f
        filled[f] += sizes[group]
    return np.asarray(fold_of[codes], dtype=np.int64)


def _grouped_parts(frame: pd.DataFrame, labels: np.ndarray, config: SplitConfig, source: str,
                   rows: np.ndarray | None = None) -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray], tuple[str, ...]]:
    """A stratified split of whole groups: each group is of the positive class when any of its rows
    is (an account that defaulted in some snapshot); the groups are shuffled once with the seed and
    each class's groups are cut where their rows come nearest the shares asked for, so the bad rate
    stays close in every part and no group is in two parts."""
    column = config.group_column
    if column not in frame.columns:
        raise DataError(f"Group column {column!r} for the split by group is not in {source}.", param="group_column")
    codes = group_codes(frame[column], str(column), source, rows)
    n_groups = int(codes.max()) + 1 if len(codes) else 0
    sizes = np.bincount(codes, minlength=n_groups)
    positive = np.bincount(codes, weights=labels, minlength=n_groups) > 0
    shuffled = np.random.default_rng(config.seed).permutation(n_groups)
    part_of = np.zeros(n_groups, dtype=np.int64)  # 0 train, 1 validation, 2 test
    for cls in (False, True):
        groups = shuffled[positive[shuffled] == cls]
        if len(groups) < 3:
            raise DataError(
                f"Only {len(groups)} value(s) of {column!r} in {source} hold {'a positive' if cls else 'no positive'} "
                "row; a split by group needs at least 3 of each kind (one for each of train, validation and test).",
                param="group_column")
        cum = np.cumsum(sizes[groups])
        total = int(cum[-1])
        # The cut whose rows come nearest each share, every part keeping at least one group.
        n_test = 1 + int(np.argmin(np.abs(cum[:len(groups) - 2] - total * config.test)))
        rest = cum[n_test:len(groups) - 1] - cum[n_test - 1]
        n_val = 1 + int(np.argmin(np.abs(rest - total * config.validation)))
        part_of[groups[:n_test]] = 2
        part_of[groups[n_test:n_test + n_val]] = 1
    row_part = part_of[codes]
    parts = tuple(np.flatnonzero(row_part == p) for p in (0, 1, 2))
    n = len(codes)
    shares = [len(p) / n for p in parts]
    wanted = [1 - config.validation - config.test, config.validation, config.test]
    notes: tuple[str, ...] = ()
    if not all(abs(s - w) < 0.1 and s >= w / 2 for s, w in zip(shares, wanted, strict=True)):
        notes = (f"the split by {column!r} is {'/'.join(f'{100 * s:.0f}' for s in shares)} % (train/validation/test) "
                 f"where {'/'.join(f'{100 * w:.0f}' for w in wanted)} was asked: each value's rows stay in one part, "
                 "and a few values hold many of the rows.",)
    return (parts[0], parts[1], parts[2]), notes


def _moved_shares(cuts: tuple[int, int], asked: tuple[int, int], n: int, column: str) -> tuple[str, ...]:
    """A note when cutting between dates moved a part's share far from the one asked for (by 10
    points, or to under half of it): 12 monthly vintages whose last held half the rows gave a
    60/20/20 split of 45/5/50, and early stopping then watched 5 % of the rows."""
    shares = [c / n for c in (cuts[0], cuts[1] - cuts[0], n - cuts[1])]
    wanted = [a / n for a in (asked[0], asked[1] - asked[0], n - asked[1])]
    if all(abs(s - w) < 0.1 and s >= w / 2 for s, w in zip(shares, wanted, strict=True)):
        return ()
    told = "/".join(f"{100 * s:.0f}" for s in shares)
    return (f"the out-of-time split by {column!r} is {told} % (train/validation/test) where "
            f"{'/'.join(f'{100 * w:.0f}' for w in wanted)} was asked: each cut lies between two dates, and a few "
            "dates hold many of the rows. Give a finer date column, or other shares, if a part is too small.",)


def _date_cuts(sorted_dates: np.ndarray, cuts: tuple[int, int], column: str, source: str) -> tuple[int, int]:
    """The two cuts of an out-of-time split (positions in the date order) moved each to the
    nearest boundary between two dates (the earlier on a tie), every part keeping a date.

    Raises:
        DataError: fewer than three dates, naming the column and how many it holds.
    """
    n = len(sorted_dates)
    boundaries = np.flatnonzero(sorted_dates[1:] != sorted_dates[:-1]) + 1  # first row of each later date
    if len(boundaries) < 2:
        raise DataError(f"Date column {column!r} in {source} holds {len(boundaries) + 1} distinct date(s); an "
                        "out-of-time split gives each of train, validation and test dates of its own, so it needs "
                        "at least 3. Name a finer date column, or drop the option for a stratified random split.",
                        param="date_column")

    def nearest(at: int, low: int, high: int) -> int:
        allowed = boundaries[(boundaries > low) & (boundaries < high)]
        return int(allowed[np.argmin(np.abs(allowed - at))])

    # The first cut leaves a boundary after it for the second; the second lies after the first.
    first = nearest(cuts[0], 0, int(boundaries[-1]))
    return first, nearest(cuts[1], first, n)
