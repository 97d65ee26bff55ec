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


def test_the_penalty_is_settable_and_none_is_statsmodels_plain_maximum_likelihood() -> None:
    """penalty_c: the ridge's inverse strength (scikit-learn's C), or None: the unpenalised fit,
    checked against statsmodels' Logit of the same rows (an independent maximiser)."""
    import statsmodels.api as sm
    import torch

    rng = np.random.default_rng(5)
    x = rng.normal(size=(3_000, 4)).astype(np.float32)
    logit = x @ np.array([1.0, -0.5, 0.25, 0.0], dtype=np.float32) - 1.0
    y = (rng.random(3_000) < 1 / (1 + np.exp(-logit))).astype(np.float32)
    net = LogisticRegression(4)
    record = linear.fit_logistic(net, x, y, None)
    assert record["penalty"] == "none" and record["C"] is None and record["converged"]
    plain = sm.Logit(y.astype(np.float64), sm.add_constant(x.astype(np.float64))).fit(disp=0, tol=1e-12)
    with torch.no_grad():
        np.testing.assert_allclose(net.linear.weight.numpy().ravel(), plain.params[1:], atol=1e-4)
        assert float(net.linear.bias[0]) == pytest.approx(plain.params[0], abs=1e-4)
    # A strong ridge (C = 0.001) pulls every coefficient towards 0; the record says which C.
    strong = LogisticRegression(4)
    assert linear.fit_logistic(strong, x, y, 0.001)["C"] == 0.001
    with torch.no_grad():
        assert float(strong.linear.weight.abs().sum()) < 0.5 * float(net.linear.weight.abs().sum())
    assert "design_rank" not in record or record["design_rank"] == 5  # full rank: four columns and the intercept
    assert record["separated"] is False and record["design_columns"] == 5
    for bad in (0, -1.0, float("inf"), float("nan"), "1", True, 1e-300):  # 1e-300: L-BFGS stopped at zero
        with pytest.raises(ConfigError, match="penalty_c is the ridge's inverse strength, a number of at least 1e-06"):
            linear.check_penalty_c(bad)
    assert linear.check_penalty_c(np.float32(0.5)) == 0.5  # a numpy number is a number


def test_an_unpenalised_fit_says_when_its_coefficients_are_unidentified_or_its_classes_separated() -> None:
    """Every one-hot level encoded leaves the design short of full rank (statsmodels' Logit is
    singular there), and a column that separates the classes sends the maximum to infinity: L-BFGS
    "converged" at a weight of 17 without a word (a review, 2026-12-07). The record says both."""
    rng = np.random.default_rng(6)
    level = rng.integers(0, 3, 2_000)
    onehot = np.eye(3, dtype=np.float32)[level]  # the three levels sum to 1, as the intercept
    y = (rng.random(2_000) < np.array([0.2, 0.3, 0.5])[level]).astype(np.float32)
    record = linear.fit_logistic(LogisticRegression(3), onehot, y, None)
    assert (record["design_rank"], record["design_columns"], record["separated"]) == (3, 4, False)
    leak = np.c_[onehot, y * 2 - 1].astype(np.float32)  # the label itself, as a column
    assert linear.fit_logistic(LogisticRegression(4), leak, y, None)["separated"] is True
