"""The logistic teacher's maximum-likelihood fit (finlite.training.linear)."""

from __future__ import annotations

import numpy as np
import pytest

from finlite.errors import ConfigError
from finlite.models.linear import LogisticRegression
from finlite.training import linear


def test_the_fit_refuses_a_table_whose_float64_copies_would_not_fit(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fit reads the rows in float64 and L-BFGS holds more of their size (3.2 times the float32
    matrix, measured): a table that passed the encoder's memory check ran out of memory in the fit
    (a review, 2026-12-07). Refused before it, naming the rows and what to do."""
    import finlite._limits as limits

    rng = np.random.default_rng(0)
    x = rng.normal(size=(2_000, 5)).astype(np.float32)
    y = (rng.random(2_000) < 0.3).astype(np.float32)
    monkeypatch.setattr(limits, "available_memory", lambda: 100_000)  # 100 kB: the fit needs about 320 kB
    with pytest.raises(ConfigError, match=r"fitting the logistic regression on 2,000 rows x 5 inputs needs about "
                                          r".* of memory, more than .*train on fewer rows \(a sample\)"):
        linear.fit_logistic(LogisticRegression(5), x, y)
    monkeypatch.setattr(limits, "available_memory", lambda: None)
    record = linear.fit_logistic(LogisticRegression(5), x, y)
    assert record["method"] == linear.FIT_METHOD and record["converged"]


def test_the_fit_needs_both_classes() -> None:
    x = np.zeros((10, 2), dtype=np.float32)
    with pytest.raises(ValueError, match="needs both classes"):
        linear.fit_logistic(LogisticRegression(2), x, np.zeros(10, dtype=np.float32))
