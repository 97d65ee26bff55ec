"""The compression report's rows for a volatility forecaster (finlite.evaluate.report)."""

from __future__ import annotations

from finlite.evaluate.report import _rows


def test_a_volatility_forecasters_report_has_no_sign_rows() -> None:
    """A volatility is never below zero: "agreement (same sign as teacher) 100.0%" and a McNemar
    test of directional accuracy compared nothing (a market-risk walk-through, 2026-12-07)."""
    fidelity = {"agreement": 1.0, "dm_pvalue": 0.42, "da_pvalue": 0.5, "rmse_vs_teacher": 0.001, "correlation": 0.99,
                "spearman": 0.98}
    report = {"teacher": {}, "student": {}, "fidelity": fidelity}
    labels = [label for label, *_ in _rows({**report, "objective": "volatility"})]
    assert "DM p-value vs teacher (worse)" in labels and "RMSE vs teacher" in labels
    assert not any("same sign" in label or "McNemar" in label for label in labels)
    returns = [label for label, *_ in _rows({**report, "objective": "return"})]
    assert "agreement (same sign as teacher)" in returns and any("McNemar" in label for label in returns)
