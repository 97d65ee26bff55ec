"""Metrics against hand-computed values and against scikit-learn / scipy."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
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


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_every_score_metric_refuses_a_score_that_is_not_finite(bad: float) -> None:
    """A NaN sorts as the largest score: scores that were all NaN gave an AUC, KS and Gini of 1.0
    (0.0 with the rows reversed) and a PSI of 0.0 ("stable"), so each refuses it, naming where."""
    from finlite.evaluate import validation
    from finlite.evaluate.metrics import auc_and_se

    y = np.array([0, 0, 1, 1, 0, 1])
    p = np.array([0.1, 0.4, 0.35, 0.8, 0.2, 0.7])
    p[3] = bad
    for metric in (auc, gini, ks, brier, log_loss, average_precision, recall_at_fpr):
        with pytest.raises(DataError, match=r"scores must be finite numbers; position 3 holds (nan|inf|-inf) \(1 of 6"):
            metric(y, p)
    with pytest.raises(DataError, match="position 3"):
        classification_metrics(y, p, 0.5)
    clean = np.linspace(0.0, 1.0, 50)
    for stability in (psi, lambda e, a: validation.psi_table(e, a)["psi"]):
        with pytest.raises(DataError, match="expected scores must be finite"):
            stability(np.r_[clean, bad], clean)
        with pytest.raises(DataError, match="actual scores must be finite"):
            stability(clean, np.r_[clean, bad])
    with pytest.raises(DataError, match="positives' scores must be finite"):
        auc_and_se(np.array([bad, 0.3]), np.array([0.1, 0.2]))
    with pytest.raises(DataError, match="both classes; got 0 positive and 2 negative"):
        auc_and_se(np.array([]), np.array([0.1, 0.2]))
    assert auc_and_se(np.array([0.3, 0.9]), np.array([0.1, 0.5]))[0] == pytest.approx(0.75)


def test_r2_of_a_target_constant_up_to_rounding_is_nan_as_the_bootstraps() -> None:
    """[0.1, 0.1, 0.1] has a mean that is not exactly 0.1 in binary: SST came out 1e-33 and R²
    -5e29 (scikit-learn gives the same), while the bootstrap's weighted form said NaN."""
    from finlite.evaluate.metrics import r2
    from finlite.evaluate.validation import _r2_w

    y, pred = np.array([0.1, 0.1, 0.1]), np.array([0.2, 0.1, 0.0])
    assert np.isnan(r2(y, pred)) and np.isnan(_r2_w(y, pred, np.ones((1, 3)))[0])
    assert np.isnan(r2(np.full(5, 7.0), np.arange(5.0)))
    small = np.array([1e-7, 2e-7, 4e-7])  # a target of small values that moves keeps its R²
    assert r2(small, small + 5e-8) == pytest.approx(skm.r2_score(small, small + 5e-8), rel=1e-12)
    assert float(_r2_w(small, small + 5e-8, np.ones((1, 3)))[0]) == pytest.approx(r2(small, small + 5e-8), rel=1e-12)
    y = np.array([1.0, 2.0, 4.0])
    assert r2(y, y + 0.5) == pytest.approx(skm.r2_score(y, y + 0.5), abs=1e-15)
    assert r2(y, y + 0.5) == pytest.approx(float(_r2_w(y, y + 0.5, np.ones((1, 3)))[0]), abs=1e-15)


def test_calibration_measures_refuse_what_is_not_a_probability() -> None:
    """The expected calibration error and Hosmer-Lemeshow read the bands of the reliability table,
    which refuses scores outside [0, 1]; they gave 1.75 and "p = 0" for margins."""
    from finlite.evaluate.validation import expected_calibration_error, hosmer_lemeshow, reliability_table

    y, margins = [0, 1, 0, 1], [1.5, 1.5, -2.0, -2.0]
    for measure, name in ((expected_calibration_error, "The expected calibration error"),
                          (hosmer_lemeshow, "The Hosmer-Lemeshow test"), (reliability_table, "A reliability table")):
        with pytest.raises(DataError, match=rf"{name} needs probabilities in \[0, 1\]; some scores lie outside "
                                            r"\(from -2 to 1.5\)"):
            measure(y, margins, 2)
    assert expected_calibration_error(y, [0.9, 0.6, 0.2, 0.4], 2) == pytest.approx(0.5 * abs(0.5 - 0.3) + 0.5 * abs(0.5 - 0.75))


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10_000), st.floats(0.0, 1.0))
def test_the_paired_auc_difference_matches_sklearn_and_its_se_the_bootstrap(seed: int, tie: float) -> None:
    """DeLong's paired test of two models on the same rows: the difference is sklearn's AUCs'; its
    standard error matches a bootstrap of the difference within a loose tolerance, and each model's
    own variance is auc_and_se's (an independent check of the structural components)."""
    from hypothesis import assume

    from finlite.evaluate.metrics import auc_and_se, paired_auc_difference

    rng = np.random.default_rng(seed)
    n = 300
    y = (rng.random(n) < 0.3).astype(float)
    assume(5 <= y.sum() <= n - 5)
    base = y + rng.normal(0, 1.0, n)
    first = np.round(base + rng.normal(0, 0.5, n), 1 if tie > 0.5 else 6)  # ties, some of the time
    second = base + rng.normal(0, 0.8, n)
    out = paired_auc_difference(y, first, second)
    assert out["difference"] == pytest.approx(skm.roc_auc_score(y, second) - skm.roc_auc_score(y, first), abs=1e-12)
    same = paired_auc_difference(y, first, first)
    assert same["difference"] == 0 and same["se"] == pytest.approx(0, abs=1e-12) and same["p_value"] == 1.0
    # Against a model scoring independently: the covariance terms vanish in expectation, so the
    # paired variance is near the sum of the two unpaired ones (auc_and_se's).
    pos, neg = y == 1, y == 0
    se1, se2 = auc_and_se(first[pos], first[neg])[1], auc_and_se(second[pos], second[neg])[1]
    assert out["se"] <= np.hypot(se1, se2) * 1.5
    assert out["lower"] < out["difference"] < out["upper"] and 0 <= out["p_value"] <= 1


def test_the_paired_auc_se_is_the_bootstraps() -> None:
    rng = np.random.default_rng(5)
    n = 2_000
    y = (rng.random(n) < 0.3).astype(float)
    base = y + rng.normal(0, 1.0, n)
    first, second = base + rng.normal(0, 0.5, n), base + rng.normal(0, 0.7, n)
    from finlite.evaluate.metrics import paired_auc_difference

    out = paired_auc_difference(y, first, second)
    draws = []
    for _ in range(400):
        i = rng.integers(0, n, n)
        if 0 < y[i].sum() < n:
            draws.append(skm.roc_auc_score(y[i], second[i]) - skm.roc_auc_score(y[i], first[i]))
    assert out["se"] == pytest.approx(np.std(draws, ddof=1), rel=0.15)
    with pytest.raises(DataError, match="at least two rows of each class"):
        paired_auc_difference(np.array([1.0, 0, 0]), np.array([0.1, 0.2, 0.3]), np.array([0.3, 0.2, 0.1]))


def test_a_recorded_aucs_error_and_the_decline_test() -> None:
    """Hanley–McNeil's error from an AUC and its class counts is near DeLong's on binormal scores
    (an independent estimate); auc_decline counts both AUCs' errors: a fall within them is noise."""
    from finlite.evaluate.metrics import auc_and_se, auc_decline, hanley_mcneil_se

    rng = np.random.default_rng(11)
    n1, n0 = 150, 850
    pos, neg = rng.normal(1.2, 1, n1), rng.normal(0, 1, n0)
    value, delong = auc_and_se(pos, neg)
    assert hanley_mcneil_se(value, n1, n0) == pytest.approx(delong, rel=0.25)  # its exponential model: a little wider
    with pytest.raises(DataError, match="both classes"):
        hanley_mcneil_se(0.7, 0, 10)
    y = np.r_[np.ones(n1), np.zeros(n0)]
    p = np.r_[pos, neg]
    small = auc_decline(value + 0.02, 600, 90, y, p)  # a 600-row test split's AUC a little higher
    se = np.hypot(hanley_mcneil_se(value + 0.02, 90, 510), delong)
    assert small["z"] == pytest.approx(0.02 / se) and not small["beyond_noise"]
    rise = auc_decline(value - 0.15, 600, 90, y, p)  # better than at validation: no fall, whatever z says
    assert rise["z"] < -1.96 and not rise["beyond_noise"] and rise["gini_relative_decline"] < 0
    big = auc_decline(value + 0.15, 600, 90, y, p)
    assert big["beyond_noise"] and big["gini_relative_decline"] == pytest.approx(
        1 - (2 * value - 1) / (2 * (value + 0.15) - 1))
    assert big["judged"] and big["fewest_class_rows"] == n1


def test_a_decline_on_a_handful_of_defaults_is_not_judged() -> None:
    """19 goods and one low-scored default: DeLong's error drops the defaults' variance (z 12.7 and a
    FAIL in a PD modeller's walk-through, 2026-12-06, where the AUC's sampling SD is about 0.26).
    Below 30 rows of a class no fall is claimed, whatever z says; from 30 it is judged again."""
    from finlite.evaluate.metrics import auc_and_se, auc_decline

    rng = np.random.default_rng(3)
    goods = rng.uniform(0.05, 0.5, 19)
    y, p = np.r_[np.zeros(19), 1.0], np.r_[goods, 0.01]
    one = auc_decline(0.78, 4000, 207, y, p)
    assert one["auc"] == 0.0 and one["z"] > 1.96  # the statistic is kept, and would read as a fall
    assert one["judged"] is False and one["beyond_noise"] is False and one["fewest_class_rows"] == 1
    # Why: the sampling SD of the AUC with one positive against 19 negatives from these scores'
    # populations, simulated, is several times the DeLong error of the one sample.
    sims = [auc_and_se(rng.uniform(0.0, 0.5, 1), rng.uniform(0.05, 0.5, 19))[0] for _ in range(2000)]
    assert np.std(sims) > 3 * auc_and_se(p[y == 1], p[y == 0])[1]
    n = 30  # enough of each class: judged
    bad = rng.uniform(0.0, 0.2, n)
    y30, p30 = np.r_[np.zeros(n), np.ones(n)], np.r_[rng.uniform(0.1, 0.5, n), bad]
    thirty = auc_decline(0.95, 4000, 207, y30, p30)
    assert thirty["judged"] and thirty["beyond_noise"] and thirty["reversed"]  # AUC near 0.1: the wrong way round
    # The same rows with their labels the other way (1 = performing) rank well: not reversed.
    assert not auc_decline(0.95, 4000, 207, 1 - y30, p30)["reversed"]
    assert not one["reversed"]  # one default: nothing is judged, reversed included
