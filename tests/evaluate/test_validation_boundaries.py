"""Documented thresholds read at the threshold: a value computed in floating point one bit short of
"a factor of 1.5", "a Gini 25 % lower" or "a ratio of 0.8" counts as at it, as the rules say (a
boundary audit, 2026-12-07: each was read as the band below), and a value that cannot be judged
(NaN) is never a silent PASS."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from finlite._util import AT_LIMIT_SLACK, reaches
from finlite.evaluate.validation import (
    GINI_DECLINE_FAIL,
    GINI_DECLINE_WARN,
    calibration_in_the_large,
    calibration_status,
)


def test_reaches_counts_a_ratio_one_bit_short_as_at_the_limit() -> None:
    # The audit's cases, computed as the code computes them.
    # Approval rates of 16/30 and 20/30 as 1 - the flag rates (14/30, 10/30): their ratio.
    ratio = (1 - 14 / 30) / (1 - 10 / 30)
    assert ratio < 0.8 and reaches(ratio, 0.8)  # the float really is one bit short
    decline = 1 - (2 * 0.8 - 1) / (2 * 0.9 - 1)
    assert decline < GINI_DECLINE_FAIL and reaches(decline, GINI_DECLINE_FAIL)
    assert reaches(1 - (2 * 0.68 - 1) / (2 * 0.7 - 1), GINI_DECLINE_WARN)
    # Clearly short is short; NaN never reaches.
    assert not reaches(0.8 * (1 - 10 * AT_LIMIT_SLACK), 0.8) and not reaches(math.nan, 0.8)
    assert reaches(math.inf, 1.5) and reaches(0.8, 0.8) and reaches(0.9, 0.8)


def _record(defaults: int, rows: int, pd_: float) -> dict[str, Any]:
    return calibration_in_the_large(defaults, rows, float(np.mean(np.full(rows, pd_))))


def test_calibration_in_the_large_reads_the_factor_at_its_bounds() -> None:
    fail = _record(300, 1_000, 0.2)  # 0.3 / 0.2: 1.4999999999999998 in floating point
    assert fail["factor"] == pytest.approx(1.5) and fail["p_value"] < 0.01
    assert calibration_status(fail) == "FAIL"
    warn = _record(250, 1_000, 0.2)  # 1.25, one bit either side of it
    assert warn["factor"] == pytest.approx(1.25) and warn["p_value"] < 0.01
    assert calibration_status(warn) == "WARN"
    assert calibration_status({**warn, "factor": 1.2}) == "PASS"
    # Nothing to judge by is no PASS.
    assert calibration_status({**warn, "p_value": math.nan}) == "WARN"
    assert calibration_status({**warn, "factor": math.nan}) == "WARN"
    assert calibration_status({**warn, "factor": None}) == "FAIL"  # a mean prediction of 0: infinitely off


def test_the_score_limits_breach_on_a_value_that_cannot_be_read() -> None:
    from finlite.runtime.batch import ScoreLimits

    limits = ScoreLimits(max_psi=0.25, max_csi=0.25)
    empty: dict[str, int] = {}
    said = limits.breaches(1_000, math.nan, {"age": math.nan, "amount": 0.01}, empty, empty, empty)
    assert any("PSI nan is above --max-psi" in s for s in said) and any("age nan" in s for s in said), said
    assert limits.breaches(1_000, 0.25, {"age": 0.25}, empty, empty, empty) == []  # "above" is strictly above
