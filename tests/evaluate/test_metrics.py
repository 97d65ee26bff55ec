"""Metrics against hand-computed values and against scikit-learn / scipy."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import ks_2samp, spearmanr
from sklearn import metrics as skm

from finlite.errors import DataError
from finlite.evaluate import (
    accuracy_at,
    agreement,
    auc,
    average_precision,
    brier,
    classification_metrics,
    f1_at,
    gini,
    ks,
    log_loss,
    precision_at,
    psi,
    recall_at,
    recall_at_fpr,
    spearman,
    swap_set,
)

Y = np.array([0, 0, 1, 1, 0, 1])
P = np.array([0.1, 0.4, 0.35, 0.8, 0.4, 0.9])


def test_auc_by_hand() -> None:
    # 9 positive/negative pairs: 0.35 beats 0.1 only; 0.8 and 0.9 beat all three -> 7 of 9.
    assert auc(Y, P) == pytest.approx(7 / 9)
    assert gini(Y, P) == pytest.approx(2 * 7 / 9 - 1)


def test_auc_ties_count_half() -> None:
    assert auc(np.array([0, 1]), np.array([0.5, 0.5])) == pytest.approx(0.5)


def test_ks_by_hand() -> None:
    # Sorted scores: 0.1(n) 0.35(p) 0.4(n) 0.4(n) 0.8(p) 0.9(p). After the 0.4 run all negatives
    # are passed (CDF 1) and one positive of three (1/3): gap 2/3.
    assert ks(Y, P) == pytest.approx(2 / 3)


def test_cutoff_metrics_by_hand() -> None:
    # Cut-off 0.4 flags 0.4, 0.4, 0.8, 0.9: TP 2, FP 2, FN 1 (the 0.35), TN 1.
    assert accuracy_at(Y, P, 0.4) == pytest.approx(3 / 6)
    assert f1_at(Y, P, 0.4) == pytest.approx(2 * 2 / (4 + 3))
    assert precision_at(Y, P, 0.4) == pytest.approx(2 / 4) and recall_at(Y, P, 0.4) == pytest.approx(2 / 3)
    # Nothing flagged: precision 0 (a gate on it fails); no positive row: no recall.
    assert precision_at(Y, P, 0.95) == 0.0 and recall_at(np.zeros(6), P, 0.4) is None
    assert brier(Y, P) == pytest.approx(np.mean((P - Y) ** 2))
    assert log_loss(np.array([1, 0]), np.array([0.8, 0.4])) == pytest.approx(-(np.log(0.8) + np.log(0.6)) / 2)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_metrics_match_sklearn(seed: int) -> None:
    rng = np.random.default_rng(seed)
    y = (rng.random(500) < 0.3).astype(float)
    p = np.clip(0.3 + 0.3 * (y - 0.3) + rng.normal(scale=0.2, size=500), 0.01, 0.99).round(2)  # with ties
    assert auc(y, p) == pytest.approx(skm.roc_auc_score(y, p), abs=1e-12)
    fpr, tpr, _ = skm.roc_curve(y, p)
    assert ks(y, p) == pytest.approx(np.max(tpr - fpr), abs=1e-12)
    # One-sided: the positives' scores stochastically larger (their CDF below the negatives').
    assert ks(y, p) == pytest.approx(ks_2samp(p[y == 1], p[y == 0], alternative="less").statistic, abs=1e-12)
    assert ks(y, 1 - p) == 0.0 and ks(1 - y, p) == 0.0  # a reversed ranking separates nothing in its direction
    assert f1_at(y, p, 0.5) == pytest.approx(skm.f1_score(y, p >= 0.5), abs=1e-12)
    assert accuracy_at(y, p, 0.5) == pytest.approx(skm.accuracy_score(y, p >= 0.5), abs=1e-12)
    for cut in (0.3, 0.5, 0.7):
        assert precision_at(y, p, cut) == pytest.approx(skm.precision_score(y, p >= cut, zero_division=0), abs=1e-12)
        assert recall_at(y, p, cut) == pytest.approx(skm.recall_score(y, p >= cut), abs=1e-12)
    assert brier(y, p) == pytest.approx(skm.brier_score_loss(y, p), abs=1e-12)
    assert log_loss(y, p) == pytest.approx(skm.log_loss(y, p), abs=1e-9)
    q = p + rng.normal(scale=0.05, size=500)
    assert spearman(p, q) == pytest.approx(spearmanr(p, q).statistic, abs=1e-12)


def test_classification_metrics_bundle() -> None:
    out = classification_metrics(Y, P, 0.5)
    assert out["rows"] == 6 and out["positives"] == 3
    assert out["flagged_rate"] == pytest.approx(2 / 6)
    assert out["precision"] == pytest.approx(2 / 2) and out["recall"] == pytest.approx(2 / 3)
    assert out["auc"] == pytest.approx(7 / 9)


def test_metric_errors_are_clear() -> None:
    with pytest.raises(DataError, match="both classes"):
        auc(np.array([1, 1]), np.array([0.2, 0.3]))
    with pytest.raises(DataError, match="differ in length"):
        auc(np.array([1, 0]), np.array([0.2]))
    with pytest.raises(DataError, match="0/1"):
        auc(np.array([2, 0]), np.array([0.2, 0.1]))


def test_agreement_and_swap_set_by_hand() -> None:
    t = np.array([0.9, 0.7, 0.2, 0.1, 0.6])
    s = np.array([0.8, 0.3, 0.6, 0.2, 0.55])
    y = np.array([1, 0, 1, 0, 1])
    assert agreement(t, s, 0.5) == pytest.approx(3 / 5)
    cells = swap_set(t, s, y, 0.5)
    assert cells["teacher_positive/student_positive"] == {"count": 2, "positive_rate": 1.0}
    assert cells["teacher_positive/student_negative"] == {"count": 1, "positive_rate": 0.0}
    assert cells["teacher_negative/student_positive"] == {"count": 1, "positive_rate": 1.0}
    assert cells["teacher_negative/student_negative"] == {"count": 1, "positive_rate": 0.0}
    assert sum(c["count"] for c in cells.values()) == 5


def test_psi_by_hand() -> None:
    expected = np.arange(100) / 100.0  # deciles: 10 rows per bin
    assert psi(expected, expected) == pytest.approx(0.0)
    # Shift every score into the top bin: that bin holds 100 % instead of 10 %, the other nine 0 (floored).
    actual = np.full(100, 0.995)
    e, floor = 0.1, 1e-4
    by_hand = (1 - e) * np.log(1 / e) + 9 * (floor - e) * np.log(floor / e)
    assert psi(expected, actual) == pytest.approx(by_hand)


def test_psi_is_small_for_similar_scores() -> None:
    rng = np.random.default_rng(0)
    a = rng.beta(2, 5, size=5000)
    assert psi(a, a + rng.normal(scale=0.005, size=5000)) < 0.01
    assert psi(a, rng.beta(5, 2, size=5000)) > 1.0


def test_average_precision_and_recall_at_fpr_match_scikit_learn() -> None:
    rng = np.random.default_rng(3)
    y = (rng.random(5000) < 0.02).astype(float)
    p = np.clip(0.3 * y + rng.random(5000) * 0.8, 0, 1).round(3)  # rounding makes ties
    assert average_precision(y, p) == pytest.approx(skm.average_precision_score(y, p), abs=1e-12)
    fpr, tpr, _ = skm.roc_curve(y, p)
    assert recall_at_fpr(y, p, 0.001) == pytest.approx(tpr[fpr <= 0.001].max(), abs=1e-12)
    assert recall_at_fpr(y, p, 0.05) == pytest.approx(tpr[fpr <= 0.05].max(), abs=1e-12)
