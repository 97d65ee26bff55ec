"""Walk-forward splits of a dated series: expanding or rolling folds, a purge gap and an embargo.

Every split is by DATE: all rows (of all assets) that share a date fall in the same part. The
last ``test_fraction`` of the dates is the final test period; it is never used for fitting, early
stopping or gate decisions. The dates before it (less a gap) are the development period, cut into
``folds`` (train, validation) pairs that walk forward in time; the last fold is the (train,
validation) pair the model is fitted and early-stopped on.

Between a part and the part after it lie ``purge + embargo`` dates that belong to neither: a
label at date index ``t`` with horizon ``h`` reads the price at ``t + h``, so with ``purge = h``
(the default) no label window ``[t, t + h]`` of a training row reaches the first date of the
validation or test part (Lopez de Prado 2018, ch. 7); the embargo adds dates for serial
correlation that outlives the label.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from finlite._util import closest, is_whole, param_error
from finlite.errors import ConfigError, DataError

__all__ = ["SCHEMES", "SeriesSplit", "WalkForward", "walk_forward"]

SCHEMES = ("expanding", "rolling")
_FIELDS = ("scheme", "folds", "test_fraction", "purge", "embargo", "train_window")
# Guards against a typo (folds=3000) allocating thousands of fits; 50 folds is already unusual.
_MAX_FOLDS = 50


@dataclass(frozen=True)
class WalkForward:
    """How a dated series is split into walk-forward folds and a final test period.

    Attributes:
        scheme: "expanding" (every fold trains on all development dates before its validation
            block, less the gap) or "rolling" (on the last ``train_window`` of those dates).
        folds: number of (train, validation) folds over the development period, >= 1; the last
            fold is the one a model is fitted on. The test period is cut into as many
            consecutive blocks for per-fold test metrics.
        test_fraction: share of the dates, the most recent, held out as the test period; in
            (0, 0.5].
        purge: dates left out between a part and the next so no label overlaps; None means the
            forecast horizon (the smallest gap that keeps labels apart); a smaller value is
            refused by :func:`walk_forward`.
        embargo: further dates left out after the purge, >= 0.
        train_window: dates in each training part for the rolling scheme; None uses the length
            of the first fold's training part (so every fold trains on as many dates). Ignored
            by the expanding scheme, which refuses a value.
    """

    scheme: Literal["expanding", "rolling"] = "expanding"
    folds: int = 3
    test_fraction: float = 0.2
    purge: int | None = None
    embargo: int = 0
    train_window: int | None = None

    def __post_init__(self) -> None:
        if self.scheme not in SCHEMES:
            raise param_error("WalkForward", "scheme", f"one of {', '.join(SCHEMES)}", self.scheme)
        if not is_whole(self.folds) or not 1 <= self.folds <= _MAX_FOLDS:
            raise param_error("WalkForward", "folds", f"a whole number from 1 to {_MAX_FOLDS}", self.folds)
        fraction = self.test_fraction
        if (not isinstance(fraction, (int, float)) or isinstance(fraction, bool) or not np.isfinite(fraction)
                or not 0 < fraction <= 0.5):
            raise param_error("WalkForward", "test_fraction", "a number in (0, 0.5]", fraction)
        if self.purge is not None and (not is_whole(self.purge) or self.purge < 0):
            raise param_error("WalkForward", "purge", "a whole number >= 0 (or None for the horizon)", self.purge)
        if not is_whole(self.embargo) or self.embargo < 0:
            raise param_error("WalkForward", "embargo", "a whole number >= 0", self.embargo)
        if self.train_window is not None:
            if self.scheme != "rolling":
                raise param_error("WalkForward", "train_window",
                                  "None for the expanding scheme (set scheme='rolling' to train on a fixed window)",
                                  self.train_window)
            if not is_whole(self.train_window) or self.train_window < 1:
                raise param_error("WalkForward", "train_window", "a whole number of dates >= 1", self.train_window)

    def gap(self, horizon: int) -> int:
        """Dates left out between two parts: the purge (the horizon when unset) plus the embargo."""
        return (horizon if self.purge is None else int(self.purge)) + int(self.embargo)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"scheme": self.scheme, "folds": int(self.folds), "test_fraction": float(self.test_fraction),
                "purge": None if self.purge is None else int(self.purge), "embargo": int(self.embargo),
                "train_window": None if self.train_window is None else int(self.train_window)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], where: str = "the walk-forward settings") -> WalkForward:
        """Rebuild from :meth:`to_dict` output, refusing unknown keys (ConfigError naming ``where``)."""
        if not isinstance(d, Mapping):
            raise ConfigError(f"The walk-forward settings in {where} must be a mapping; got {type(d).__name__}.",
                              param="walk")
        unknown = [k for k in d if k not in _FIELDS]
        if unknown:
            raise ConfigError(f"Unknown walk-forward setting {unknown[0]!r} in {where}.{closest(str(unknown[0]), _FIELDS)} "
                              f"Known settings: {', '.join(_FIELDS)}.", param=str(unknown[0]))
        return cls(**dict(d))


@dataclass(frozen=True)
class SeriesSplit:
    """Row positions of each part of a walk-forward split.

    Attributes:
        train, validation, test: int64 row positions (the last fold's train and validation, and
            the test period), each in increasing order.
        folds: every (train, validation) pair over the development period, oldest first; the
            last is ``(train, validation)``.
        test_folds: consecutive blocks of ``test`` by date, oldest first (per-fold test metrics).
        gap: dates left out between parts (purge + embargo).
        method: "walk-forward" (the same key a credit split reports).
    """

    train: np.ndarray
    validation: np.ndarray
    test: np.ndarray
    folds: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)
    test_folds: list[np.ndarray] = field(default_factory=list)
    gap: int = 0
    method: str = "walk-forward"

    def sizes(self) -> dict[str, int]:
        """Rows in each part."""
        return {"train": len(self.train), "validation": len(self.validation), "test": len(self.test)}


def walk_forward(dates: np.ndarray, horizon: int, config: WalkForward | None = None, *,
                 source: str = "the data", label_end: np.ndarray | None = None) -> SeriesSplit:
    """Split rows by their dates into walk-forward folds and a final test period.

    ``dates`` holds one date per row (datetime64, any order; several assets may share a date).
    The test period is the last ``ceil(test_fraction * dates)`` distinct dates; the development
    period ends ``gap`` dates before it; its last ``folds`` blocks of ``v`` dates (``v`` = the
    test period's length, or less when the period is short, so that the first fold trains on at
    least ``v`` dates) are the validation parts, each preceded by its training part and a gap.

    ``label_end`` (one date per row: the date of the last value its label reads, h rows ahead in
    its own asset) also drops every training row whose label reaches the first date of the part
    after it, and every row of the last validation part whose label reaches the test period. The
    gap counts dates of all assets together; an asset that trades on fewer of them (another
    exchange's holidays, a thinly traded stock) has labels that reach further than h of those
    dates, and this keeps them apart too.

    Raises:
        ConfigError: the horizon is not a whole number >= 1, or the purge is shorter than it.
        DataError: too few dates for the folds, the gap and the test period, or a horizon that
            does not fit in the test period; the message gives the numbers and the option to change.
    """
    config = config or WalkForward()
    if not is_whole(horizon) or horizon < 1:
        raise param_error("walk_forward", "horizon", "a whole number >= 1", horizon)
    if config.purge is not None and config.purge < horizon:
        # A shorter purge would let the last training labels read prices of the next part:
        # leakage by configuration, which finlite refuses rather than reports.
        raise param_error("WalkForward", "purge", f"at least the horizon ({horizon}) so that no training label "
                          "reaches into the next part (or None for the horizon)", config.purge)
    values = np.asarray(dates)
    if values.ndim != 1 or not np.issubdtype(values.dtype, np.datetime64):
        raise DataError(f"The dates of {source} must be a one-dimensional datetime64 array; got {values.dtype} "
                        f"with shape {values.shape}.")
    if np.isnat(values).any():
        raise DataError(f"The dates of {source} hold a missing date (row {int(np.flatnonzero(np.isnat(values))[0]) + 1}); "
                        "every row needs a date.")
    unique, date_index = np.unique(values, return_inverse=True)
    n = len(unique)
    gap = config.gap(int(horizon))
    n_test = int(np.ceil(config.test_fraction * n))
    if n_test <= horizon:
        raise DataError(f"The test period of {source} ({n_test} of {n} dates, test_fraction={config.test_fraction}) "
                        f"is not longer than the horizon ({horizon}), so no forecast in it could be judged. Use a "
                        "shorter horizon (--horizon), more data, or a larger test fraction.", param="horizon")
    dev_end = n - n_test - gap
    # Validation blocks as long as the test period, or shorter so the first fold still trains on
    # at least as many dates as it validates on.
    val = min(n_test, max((dev_end - gap) // (config.folds + 1), 0))
    first_train = dev_end - config.folds * val - gap
    if val < 1 or first_train < 1:
        raise DataError(
            f"{source} has {n} dates: too few for {config.folds} walk-forward fold(s), a gap of {gap} date(s) "
            f"(purge + embargo) before every validation block and the test period, and a test period of {n_test} "
            f"dates. The first fold would train on {max(first_train, 0)} date(s). Use fewer folds (--folds), a "
            "shorter horizon (--horizon) or a smaller embargo, or more data.", param="folds")
    train_window = config.train_window if config.train_window is not None else first_train

    ends = None
    if label_end is not None:
        ends = np.asarray(label_end)
        if ends.shape != values.shape or not np.issubdtype(ends.dtype, np.datetime64) or np.isnat(ends).any():
            raise DataError(f"The label end dates of {source} must be one datetime64 per row, none missing.")

    def rows(lo: int, hi: int, before: int | None = None) -> np.ndarray:
        """Positions of the rows whose date index is in [lo, hi) (and, with ``before``, whose
        label ends before the embargo ahead of the date of index ``before``: a thinly traded
        asset's label reaching past the purge kept no embargo at all, a review, 2026-12-03)."""
        keep = (date_index >= lo) & (date_index < hi)
        if ends is not None and before is not None and before < n:
            keep &= ends < unique[max(before - int(config.embargo), 0)]
        return np.flatnonzero(keep).astype(np.int64)

    test_start = n - n_test
    folds: list[tuple[np.ndarray, np.ndarray]] = []
    for k in range(config.folds):
        val_start = dev_end - (config.folds - k) * val
        train_end = val_start - gap
        train_start = 0 if config.scheme == "expanding" else max(0, train_end - int(train_window))
        # The last validation part chooses the epoch and judges the gates: its labels stop before the test.
        val_before = test_start if k == config.folds - 1 else None
        folds.append((rows(train_start, train_end, val_start), rows(val_start, val_start + val, val_before)))
    blocks = np.array_split(np.arange(test_start, n), min(config.folds, n_test))
    test_folds = [rows(int(b[0]), int(b[-1]) + 1) for b in blocks]
    train, validation = folds[-1]
    return SeriesSplit(train=train, validation=validation, test=rows(test_start, n), folds=folds,
                       test_folds=test_folds, gap=gap)
