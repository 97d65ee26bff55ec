"""Validation primitives (finlite.evaluate.validation) against hand computations, scipy,
statsmodels and scikit-learn."""

from __future__ import annotations

import functools
import itertools

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binomtest, ks_2samp, norm
from sklearn import metrics as skm
from statsmodels.stats.contingency_tables import mcnemar as sm_mcnemar

from finlite.errors import ConfigError, DataError
from finlite.evaluate import metrics as m
from finlite.evaluate import validation as v
from finlite.evaluate.fidelity import psi


def _data(n: int = 400, seed: int = 1, d: float = 1.0, ties: bool = True) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.3).astype(float)
    p = norm.cdf(rng.normal(size=n) + d * y - 1)
    if ties:
        p = np.round(p, 2)  # many tied scores: every metric must treat a tie as one threshold
    return y, p


# -- bootstrap -------------------------------------------------------------------------------------
@pytest.mark.parametrize("fn", [m.auc, m.gini, m.ks, m.average_precision, m.brier])
def test_vectorised_bootstrap_equals_one_resample_at_a_time(fn: object) -> None:
    y, p = _data()
    fast = v.bootstrap_ci(fn, y, p, n_boot=150, seed=3)  # type: ignore[arg-type]
    slow = v.bootstrap_ci(lambda a, b: fn(a, b), y, p, n_boot=150, seed=3)  # type: ignore[operator]
    assert fast["estimate"] == pytest.approx(fn(y, p))  # type: ignore[operator]
    for k in ("estimate", "lower", "upper"):
        assert fast[k] == pytest.approx(slow[k], rel=1e-10, abs=1e-12)
    assert fast["n_boot"] == slow["n_boot"] == 150


@pytest.mark.parametrize("d", [0.05, -1.0])
def test_a_reversed_or_useless_ranking_has_a_ks_near_zero_in_every_resample(d: float) -> None:
    """KS in the score's direction, resample by resample as on all rows: a reversed ranking's
    is 0, not its mirror image's (a validator's review, 2026-12-04)."""
    y, p = _data(d=d)
    fast = v.bootstrap_ci(m.ks, y, p, n_boot=150, seed=3)
    slow = v.bootstrap_ci(lambda a, b: m.ks(a, b), y, p, n_boot=150, seed=3)
    for k in ("estimate", "lower", "upper"):
        assert fast[k] == pytest.approx(slow[k], rel=1e-10, abs=1e-12)
    if d < 0:
        assert fast["estimate"] == 0.0 and fast["upper"] < 0.02 and m.ks(y, 1 - p) > 0.3


@pytest.mark.parametrize("fn", [m.rmse, m.mae, m.r2])
def test_vectorised_regression_bootstrap_equals_loop(fn: object) -> None:
    rng = np.random.default_rng(5)
    y = rng.normal(size=300)
    pred = y + rng.normal(0, 0.5, size=300)
    fast = v.bootstrap_ci(fn, y, pred, n_boot=100, seed=9)  # type: ignore[arg-type]
    slow = v.bootstrap_ci(lambda a, b: fn(a, b), y, pred, n_boot=100, seed=9)  # type: ignore[operator]
    for k in ("estimate", "lower", "upper"):
        assert fast[k] == pytest.approx(slow[k], rel=1e-9)


@pytest.mark.parametrize("fpr", [0.001, 0.01, 0.05, 0.2])
def test_weighted_recall_at_fpr_equals_metric_on_repeated_rows(fpr: float) -> None:
    # Counts w of a resample = rows repeated w times: the counted metric must equal the metric
    # computed on the repeated rows.
    y, p = _data(300, seed=7)
    rng = np.random.default_rng(0)
    w = rng.poisson(1.0, size=(20, y.size)).astype(float)
    r = v._Ranked(y, p, merge_negative_runs=True)
    pos, neg = r.groups(w)
    got = v._recall_g(fpr)(v._Counts(pos, neg))
    for i in range(w.shape[0]):
        idx = np.repeat(np.arange(y.size), w[i].astype(int))
        assert got[i] == pytest.approx(m.recall_at_fpr(y[idx], p[idx], fpr), abs=1e-12)


def test_bootstrap_skips_resamples_with_one_class_and_counts_them() -> None:
    y = np.array([1.0] + [0.0] * 19)
    p = np.linspace(0.9, 0.0, 20)
    out = v.bootstrap_ci(m.auc, y, p, n_boot=200, seed=0)
    # P(the single positive is absent from a resample) = (19/20)^20 ≈ 0.358.
    assert out["n_boot"] + out["n_skipped"] == 200
    assert 40 < out["n_skipped"] < 105
    assert out["lower"] == out["upper"] == 1.0  # every usable resample ranks the positive first


def test_bootstrap_is_seeded() -> None:
    y, p = _data()
    assert v.bootstrap_ci(m.auc, y, p, n_boot=50, seed=4) == v.bootstrap_ci(m.auc, y, p, n_boot=50, seed=4)
    assert v.bootstrap_ci(m.auc, y, p, n_boot=50, seed=4) != v.bootstrap_ci(m.auc, y, p, n_boot=50, seed=5)


def test_paired_bootstrap_uses_the_same_rows_for_both_models() -> None:
    y, p = _data(ties=False)
    rng = np.random.default_rng(2)
    q = np.clip(p + rng.normal(0, 0.05, p.size), 0, 1)
    paired = v.paired_bootstrap_ci(m.auc, y, p, q, n_boot=120, seed=1)
    loop = v.paired_bootstrap_ci(lambda a, b: m.auc(a, b), y, p, q, n_boot=120, seed=1)
    assert paired["estimate"] == pytest.approx(m.auc(y, p) - m.auc(y, q))
    assert paired["lower"] == pytest.approx(loop["lower"]) and paired["upper"] == pytest.approx(loop["upper"])
    # The rows are resampled in their content order (label, then each model's score), so the same
    # rows in another order give the same interval (a metamorphic review, 2026-12-07).
    shuffle = np.random.default_rng(9).permutation(y.size)
    assert v.paired_bootstrap_ci(m.auc, y[shuffle], p[shuffle], q[shuffle], n_boot=120, seed=1) == paired
    # Independent check: resample rows by hand with the same stream of indices, in that order.
    y, p, q = (a[np.lexsort((q, p, y))] for a in (y, p, q))
    idx = np.random.default_rng(1).integers(0, y.size, size=(120, y.size), dtype=np.int32)
    diffs = np.array([m.auc(y[i], p[i]) - m.auc(y[i], q[i]) for i in idx])
    assert paired["lower"] == pytest.approx(np.quantile(diffs, 0.025))
    assert paired["upper"] == pytest.approx(np.quantile(diffs, 0.975))
    same = v.paired_bootstrap_ci(m.auc, y, p, p, n_boot=50)
    assert same["lower"] == same["upper"] == 0.0


def test_auc_interval_covers_the_true_auc_at_about_the_nominal_rate() -> None:
    # Binormal model: negatives N(0, 1), positives N(d, 1) -> AUC = Phi(d / sqrt 2).
    d, n = 1.0, 100
    true_auc = float(norm.cdf(d / np.sqrt(2)))
    rng = np.random.default_rng(2024)
    covered = 0
    sims = 200
    for k in range(sims):
        scores = np.r_[rng.normal(0, 1, n), rng.normal(d, 1, n)]
        y = np.r_[np.zeros(n), np.ones(n)]
        ci = v.bootstrap_ci(m.auc, y, scores, n_boot=300, seed=k)
        covered += ci["lower"] <= true_auc <= ci["upper"]
    assert 0.90 <= covered / sims <= 0.99


def test_bootstrap_rejects_bad_options() -> None:
    y, p = _data(50)
    with pytest.raises(ConfigError, match="n_boot"):
        v.bootstrap_ci(m.auc, y, p, n_boot=0)
    with pytest.raises(ConfigError, match="level"):
        v.bootstrap_ci(m.auc, y, p, level=95)
    with pytest.raises(DataError, match="equally long"):
        v.bootstrap_ci(m.auc, y, p[:-1])
    with pytest.raises(DataError, match="equally long"):
        v.paired_bootstrap_ci(m.auc, y, p, p[:-1])


# -- curves and tables -----------------------------------------------------------------------------
def test_roc_points_match_sklearn() -> None:
    y, p = _data()
    fpr, tpr = v.roc_points(y, p)
    sk_fpr, sk_tpr, _ = skm.roc_curve(y, p, drop_intermediate=False)
    np.testing.assert_allclose(fpr, sk_fpr)
    np.testing.assert_allclose(tpr, sk_tpr)
    assert np.trapezoid(tpr, fpr) == pytest.approx(m.auc(y, p))


def test_ks_curve_by_hand() -> None:
    y = np.array([0, 0, 1, 0, 1, 1])
    p = np.array([0.1, 0.2, 0.3, 0.4, 0.4, 0.9])
    score, cdf_pos, cdf_neg = v.ks_curve(y, p)
    np.testing.assert_allclose(score, [0.1, 0.2, 0.3, 0.4, 0.9])
    np.testing.assert_allclose(cdf_pos, [0, 0, 1 / 3, 2 / 3, 1])
    np.testing.assert_allclose(cdf_neg, [1 / 3, 2 / 3, 2 / 3, 1, 1])
    # Largest gap 2/3 at score 0.2 (two of three negatives, no positive below).
    assert np.max(np.abs(cdf_pos - cdf_neg)) == pytest.approx(2 / 3)
    assert m.ks(y, p) == pytest.approx(2 / 3)
    assert ks_2samp(p[y == 1], p[y == 0]).statistic == pytest.approx(2 / 3)


def test_ks_curve_gap_equals_scipy_on_random_scores() -> None:
    y, p = _data(ties=False)
    _, cp, cn = v.ks_curve(y, p)
    assert np.max(np.abs(cp - cn)) == pytest.approx(ks_2samp(p[y == 1], p[y == 0]).statistic)


def test_curves_need_both_classes() -> None:
    with pytest.raises(DataError, match="both classes"):
        v.roc_points(np.zeros(4), np.arange(4.0))
    with pytest.raises(DataError, match="both classes"):
        v.ks_curve(np.ones(4), np.arange(4.0))


def test_lift_table_by_hand() -> None:
    p = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05])
    y = np.array([1, 1, 0, 1, 0, 0, 1, 0, 0, 0])
    rows = v.lift_table(y, p, bins=5)
    # Bands of two rows from the riskiest: positives 2, 1, 0, 1, 0 of 4; overall rate 0.4.
    assert [r["rows"] for r in rows] == [2] * 5
    assert [r["positives"] for r in rows] == [2, 1, 0, 1, 0]
    np.testing.assert_allclose([r["bad_rate"] for r in rows], [1, 0.5, 0, 0.5, 0])
    np.testing.assert_allclose([r["lift"] for r in rows], [2.5, 1.25, 0, 1.25, 0])
    np.testing.assert_allclose([r["cumulative_capture"] for r in rows], [0.5, 0.75, 0.75, 1, 1])
    assert rows[0]["max_score"] == 0.9 and rows[-1]["min_score"] == 0.05


def test_reliability_table_matches_scipy_binomtest() -> None:
    y, p = _data(200, ties=False)
    rows = v.reliability_table(y, p, bins=4)
    order = np.argsort(p)
    for r, band in zip(rows, np.array_split(order, 4), strict=True):
        k, n, mp = int(y[band].sum()), band.size, float(p[band].mean())
        assert r["count"] == n and r["positives"] == k
        assert r["mean_predicted"] == pytest.approx(mp)
        assert r["observed_rate"] == pytest.approx(k / n)
        assert r["p_value"] == pytest.approx(binomtest(k, n, mp, alternative="two-sided").pvalue)
    ece = sum(b.size / 200 * abs(y[b].mean() - p[b].mean()) for b in np.array_split(order, 4))
    assert v.expected_calibration_error(y, p, 4) == pytest.approx(ece)


def test_tied_scores_share_a_band_so_row_order_decides_nothing() -> None:
    """Equal-count bands cut runs of tied scores, so the rows' order picked which tied rows fell in
    which band: shuffled, the same rows gave another ECE (0.1365 vs 0.1395 in a review) and other
    decile counts. Ties now share a band; without ties the bands are as before."""
    y = np.array([1, 0, 0, 1, 0, 0, 0, 1, 0, 0])
    p = np.array([0.9, 0.5, 0.5, 0.5, 0.5, 0.2, 0.2, 0.1, 0.1, 0.05])
    rows = v.lift_table(y, p, bins=5)
    # Nominal boundaries after rows 2, 4, 6 and 8 from the top each cut a run of ties and move to
    # its nearer end (the start on a tie): 2 -> 1 and 4 -> 5 around the 0.5s, 6 -> 5, 8 -> 7.
    assert [r["rows"] for r in rows] == [1, 4, 2, 3] and [r["positives"] for r in rows] == [1, 1, 0, 1]
    assert [(r["max_score"], r["min_score"]) for r in rows] == [(0.9, 0.9), (0.5, 0.5), (0.2, 0.2), (0.1, 0.05)]
    # Distinct scores beside a long run keep a band of their own (a review: moving every boundary
    # past the run made one band of all 1,000 rows, and the riskiest 8.5 % vanished).
    top = np.concatenate([np.linspace(0.99, 0.9, 85), np.full(915, 0.1)])
    bands = v.lift_table(np.r_[np.ones(85), np.zeros(915)], top)
    assert [b["rows"] for b in bands] == [85, 915] and bands[0]["cumulative_capture"] == 1.0
    rng = np.random.default_rng(0)
    y2, p2 = (rng.random(500) < 0.3).astype(float), np.round(rng.random(500), 1)  # 11 distinct scores
    want = (v.expected_calibration_error(y2, p2), v.lift_table(y2, p2), v.reliability_table(y2, p2))
    for _ in range(5):
        perm = rng.permutation(500)
        got = (v.expected_calibration_error(y2[perm], p2[perm]), v.lift_table(y2[perm], p2[perm]),
               v.reliability_table(y2[perm], p2[perm]))
        assert got == want
    # Every band holds whole runs of ties: no score sits in two bands.
    bands = v.reliability_table(y2, p2)
    assert all(a["max_score"] < b["min_score"] for a, b in itertools.pairwise(bands))
    assert sum(r["count"] for r in bands) == 500


def test_ece_by_hand() -> None:
    y = np.array([0, 0, 1, 1])
    p = np.array([0.1, 0.3, 0.6, 1.0])
    # Bands {0.1, 0.3}: observed 0, predicted 0.2; {0.6, 1.0}: observed 1, predicted 0.8.
    assert v.expected_calibration_error(y, p, 2) == pytest.approx(0.5 * 0.2 + 0.5 * 0.2)
    assert v.expected_calibration_error(y, y.astype(float), 2) == 0.0


def test_hosmer_lemeshow_by_hand_and_against_an_independent_computation() -> None:
    y = np.array([0, 0, 1, 1])
    p = np.array([0.1, 0.3, 0.6, 1.0])
    # Bands {0.1, 0.3}: O 0, E 0.4, n 2, so (0 − 0.4)² / (0.4 · 0.8) = 0.5; {0.6, 1.0}: O 2, E 1.6,
    # (0.4)² / (1.6 · 0.2) = 0.5. Chi-square with 2 degrees of freedom: p = exp(−1 / 2).
    hl = v.hosmer_lemeshow(y, p, 2)
    assert hl["statistic"] == pytest.approx(1.0) and hl["df"] == hl["groups"] == 2
    # Bands expecting fewer than 5 of a class: the tail is simulated, not chi-square's exp(-1/2).
    assert hl["method"] == "simulated" and hl["min_expected"] == pytest.approx(0.4)
    assert hl["p_value"] == pytest.approx(_exact_hl_tail(y, p, [2, 2], hl["statistic"]), abs=0.02)
    # Written separately: pandas groups by decile of the sorted rows, scipy's chi-square tail.
    from scipy.stats import chi2

    y2, p2 = _data(2000, ties=False)
    p2 = 0.25 + 0.5 * p2  # every band expects at least 5 of each class: chi-square's tail
    y2 = (np.random.default_rng(5).random(p2.size) < p2).astype(float)
    frame = pd.DataFrame({"y": y2, "p": p2}).sort_values("p", kind="stable").reset_index(drop=True)
    frame["group"] = np.repeat(np.arange(10), 200)
    g = frame.groupby("group").agg(o=("y", "sum"), e=("p", "sum"), n=("y", "size"))
    statistic = float((((g.o - g.e) ** 2) / (g.e * (1 - g.e / g.n))).sum())
    hl = v.hosmer_lemeshow(y2, p2, 10)
    assert hl["statistic"] == pytest.approx(statistic, rel=1e-12) and hl["method"] == "chi-square"
    assert hl["p_value"] == pytest.approx(float(chi2.sf(statistic, 10)), rel=1e-12)
    # A band of certain scores that its labels contradict: plainly wrong, p 0 (it read "n/a"); one
    # they agree with is left out, of the degrees of freedom too (a review, 2026-12-04).
    wrong = v.hosmer_lemeshow(np.array([0, 1, 0, 1]), np.array([0.2, 0.4, 1.0, 1.0]), 2)
    assert wrong["p_value"] == 0.0 and wrong["statistic"] is None and wrong["certain_band_wrong"]
    kept = v.hosmer_lemeshow(np.array([0, 0, 0, 1, 0, 1]), np.array([0.0, 0.0, 0.3, 0.4, 0.6, 0.7]), 3)
    assert kept["groups"] == 3 and kept["df"] == 2 and not kept["certain_band_wrong"]
    # Bands {0.3, 0.4}: O 1, E 0.7, (0.3)² / (0.7 · 0.65); {0.6, 0.7}: O 1, E 1.3, (0.3)² / (1.3 · 0.35).
    statistic = 0.09 / (0.7 * 0.65) + 0.09 / (1.3 * 0.35)
    assert kept["statistic"] == pytest.approx(statistic)
    assert kept["p_value"] == pytest.approx(_exact_hl_tail(np.array([0, 1, 0, 1]), np.array([0.3, 0.4, 0.6, 0.7]),
                                                           [2, 2], statistic), abs=0.02)


def _exact_hl_tail(y: np.ndarray, p: np.ndarray, sizes: list[int], observed: float) -> float:
    """P(HL statistic >= ``observed``) under labels drawn from ``p`` (sorted), by every labelling."""
    starts = np.cumsum([0, *sizes[:-1]])
    due = np.add.reduceat(p, starts)
    spread = due * (1 - due / np.array(sizes))
    tail = 0.0
    for labels in itertools.product([0, 1], repeat=p.size):
        chance = float(np.prod(np.where(np.array(labels) == 1, p, 1 - p)))
        stat = float((((np.add.reduceat(np.array(labels, dtype=float), starts) - due) ** 2) / spread).sum())
        tail += chance if stat >= observed - 1e-12 else 0.0
    return tail


def test_hosmer_lemeshow_simulates_its_tail_where_bands_expect_few_of_a_class() -> None:
    """A PD modeller's walk-through (2026-12-06): 20 rows with one default got p 1.3e-43 from the
    chi-square tail, and bands expecting 0.5 to 4 defaults rejected a calibrated low-default model at
    1 % one time in forty. Simulated under the model's own PDs, the tail matches every labelling's
    exact sum, and a calibrated model is rejected at 1 % about 1 % of the time."""
    rng = np.random.default_rng(9)
    p = np.sort(rng.uniform(0.01, 0.4, 12))
    y = (rng.random(12) < p).astype(float)
    hl = v.hosmer_lemeshow(y, p, 3)
    assert hl["method"] == "simulated" and hl["draws"] == v.HL_DRAWS
    assert hl["p_value"] == pytest.approx(_exact_hl_tail(y, p, [4, 4, 4], hl["statistic"]), abs=0.015)
    assert v.hosmer_lemeshow(y, p, 3) == hl  # seeded: the same rows give the same p
    # A calibrated low-default book (2,000 loans, PDs 0.1 % to 1.5 %): rejections at 1 % near 1 %,
    # where chi-square's tail rejects more often.
    pd_ = rng.uniform(0.001, 0.015, 2000)
    simulated = chi = 0
    from scipy.stats import chi2

    for _ in range(80):
        labels = (rng.random(pd_.size) < pd_).astype(float)
        one = v.hosmer_lemeshow(labels, pd_, 10)
        simulated += one["p_value"] < 0.01
        chi += chi2.sf(one["statistic"], one["df"]) < 0.01
    assert simulated <= 4 and chi >= simulated  # 1 % of 80 is 0.8; P(5 or more) is about 0.001


def test_psi_table_by_hand_and_equal_to_fidelity_psi() -> None:
    e = np.array([1, 2, 3, 4], dtype=float)
    a = np.array([1, 1, 1, 4], dtype=float)
    out = v.psi_table(e, a, bins=2)
    # Median edge 2.5: expected shares 0.5 / 0.5, actual 0.75 / 0.25.
    assert [r["expected_share"] for r in out["bins"]] == [0.5, 0.5]
    assert [r["actual_share"] for r in out["bins"]] == [0.75, 0.25]
    by_hand = (0.75 - 0.5) * np.log(0.75 / 0.5) + (0.25 - 0.5) * np.log(0.25 / 0.5)
    assert out["psi"] == pytest.approx(by_hand)
    assert out["bins"][0]["upper"] == 2.5 and out["bins"][0]["lower"] is None
    rng = np.random.default_rng(0)
    e2, a2 = rng.normal(size=1000), rng.normal(0.3, 1.2, size=700)
    assert v.psi_table(e2, a2)["psi"] == pytest.approx(psi(e2, a2), rel=1e-12)
    assert sum(r["contribution"] for r in v.psi_table(e2, a2)["bins"]) == pytest.approx(psi(e2, a2))


def test_psi_floors_empty_bins() -> None:
    out = v.psi_table(np.array([1.0, 2.0]), np.array([1.0, 1.0]), bins=2)
    assert out["bins"][1]["actual_share"] == 0.0
    assert out["psi"] == pytest.approx((1 - 0.5) * np.log(1 / 0.5) + (1e-4 - 0.5) * np.log(1e-4 / 0.5))


def test_csi_numeric_keeps_missing_in_its_own_bin() -> None:
    train = pd.Series([1.0, 2.0, 3.0, 4.0])
    test = pd.Series([1.0, np.nan, 4.0, 4.0])
    out = v.csi_table(train, test, bins=2)
    shares = {r["bin"]: (r["expected_share"], r["actual_share"]) for r in out["bins"]}
    assert shares["missing"] == (0.0, 0.25)
    assert sorted(s for s in shares.values() if s != (0.0, 0.25)) == [(0.5, 0.25), (0.5, 0.5)]
    f = 1e-4
    by_hand = ((0.25 - 0.5) * np.log(0.25 / 0.5) + 0.0 + (0.25 - f) * np.log(0.25 / f))
    assert out["csi"] == pytest.approx(by_hand)


def test_csi_categorical_pools_rare_and_unseen_values() -> None:
    train = pd.Series(["a"] * 60 + ["b"] * 39 + ["rare"])  # "rare" is 1 % < min_share 0.02
    test = pd.Series(["a"] * 50 + ["b"] * 30 + ["new"] * 20)
    out = v.csi_table(train, test, categorical=True, min_share=0.02)
    shares = {r["bin"]: (r["expected_share"], r["actual_share"]) for r in out["bins"]}
    assert shares == {"a": (0.6, 0.5), "b": (0.39, 0.3), "other": (0.01, 0.2)}
    by_hand = sum((a - e) * np.log(a / e) for e, a in shares.values())
    assert out["csi"] == pytest.approx(by_hand)


def test_csi_keeps_a_category_named_other_apart_from_the_pooled_bin() -> None:
    train = pd.Series(["other"] * 50 + ["missing"] * 30 + ["rare"] + [None] * 19)
    test = pd.Series(["a"] * 40 + ["other"] * 10 + ["missing"] * 50)
    out = v.csi_table(train, test, categorical=True, min_share=0.02)
    shares = {r["bin"]: (r["expected_share"], r["actual_share"]) for r in out["bins"]}
    assert shares == {"=other": (0.5, 0.1), "=missing": (0.3, 0.5), "other": (0.01, 0.4), "missing": (0.19, 0.0)}


def test_feature_csi_sorted_largest_first_and_names_missing_columns() -> None:
    rng = np.random.default_rng(0)
    train = pd.DataFrame({"x": rng.normal(size=500), "z": rng.normal(size=500), "c": rng.choice(["u", "v"], 500)})
    test = pd.DataFrame({"x": rng.normal(size=500), "z": rng.normal(2, 1, size=500), "c": rng.choice(["u", "v"], 500)})
    rows = v.feature_csi(train, test, ["x", "z"], ["c"])
    assert rows[0]["feature"] == "z" and rows[0]["band"] == "shifted"
    assert [r["csi"] for r in rows] == sorted((r["csi"] for r in rows), reverse=True)
    with pytest.raises(DataError, match="'w'"):
        v.feature_csi(train, test, ["w"], [])


def test_csi_rejects_text_in_a_numeric_column() -> None:
    with pytest.raises(DataError, match="categorical"):
        v.csi_table(pd.Series(["a", "b"]), pd.Series(["a", "b"]))


@pytest.mark.parametrize(("b", "c"), [(0, 0), (3, 9), (12, 12), (1, 23), (30, 12), (100, 140), (50, 0)])
def test_mcnemar_matches_statsmodels(b: int, c: int) -> None:
    exact = b + c < 25
    ref = sm_mcnemar(np.array([[10, b], [c, 20]]), exact=exact, correction=True)
    out = v.mcnemar(b, c)
    assert out["method"] == ("exact binomial" if exact else "chi-square, continuity corrected")
    assert out["statistic"] == pytest.approx(float(ref.statistic))
    assert out["p_value"] == pytest.approx(float(ref.pvalue))


def test_mcnemar_rejects_negative_counts() -> None:
    with pytest.raises(ConfigError, match="non-negative"):
        v.mcnemar(-1, 3)


def test_tables_reject_bad_bins_and_labels() -> None:
    y, p = _data(50)
    with pytest.raises(ConfigError, match="bins"):
        v.lift_table(y, p, bins=0)
    with pytest.raises(DataError, match="0/1"):
        v.reliability_table(y + 1, p)
    with pytest.raises(DataError, match=r"\[0, 1\]"):
        v.reliability_table(y, p * 3)


def test_partial_metric_goes_through_the_loop_path() -> None:
    y, p = _data()
    fn = functools.partial(m.recall_at_fpr, fpr=0.05)
    out = v.bootstrap_ci(fn, y, p, n_boot=40, seed=0)
    assert v.bootstrap_ci(fn, y[::-1], p[::-1], n_boot=40, seed=0) == out  # the rows, not their order
    y, p = (a[np.lexsort((p, y))] for a in (y, p))
    idx = np.random.default_rng(0).integers(0, y.size, size=(40, y.size), dtype=np.int32)
    vals = np.array([fn(y[i], p[i]) for i in idx])
    assert out["lower"] == pytest.approx(np.quantile(vals, 0.025))


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.UndefinedMetricWarning")
def test_bootstrap_skips_resamples_where_a_sklearn_metric_is_undefined() -> None:
    # scikit-learn returns NaN with a warning (older versions raise ValueError): skipped either way.
    y = np.array([1.0] + [0.0] * 19)
    p = np.linspace(0.9, 0.0, 20)
    ours = v.bootstrap_ci(m.auc, y, p, n_boot=100, seed=2)
    theirs = v.bootstrap_ci(skm.roc_auc_score, y, p, n_boot=100, seed=2)
    assert theirs["n_skipped"] == ours["n_skipped"] > 0
    assert theirs["lower"] == pytest.approx(ours["lower"]) and theirs["upper"] == pytest.approx(ours["upper"])


def test_feature_csi_reads_money_written_as_text_as_the_encoder_does() -> None:
    rng = np.random.default_rng(1)
    amounts = rng.uniform(1_000, 90_000, 400)
    train = pd.DataFrame({"loan": [f"${a:,.2f} " for a in amounts]})
    test = pd.DataFrame({"loan": [f"${a:,.2f} " for a in amounts * 1.5]})  # every loan half as large again
    rows = v.feature_csi(train, test, ["loan"], [], money={"loan"})
    want = v.csi_table(pd.Series(amounts), pd.Series(amounts * 1.5))["csi"]
    assert rows[0]["csi"] == pytest.approx(want) and rows[0]["band"] == "shifted"
    with pytest.raises(DataError, match=r"loan"):  # without the money rule the text is refused, naming the column
        v.feature_csi(train, test, ["loan"], [])


@pytest.mark.parametrize(("n", "rate", "decimals"), [(301, 0.3, 2), (2000, 0.02, 6), (999, 0.5, 1)])
def test_the_bootstrap_counts_a_resample_at_a_time_or_a_chunk_at_once_to_the_same_bits(
        n: int, rate: float, decimals: int, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(n)
    y = (rng.random(n) < rate).astype(np.float64)
    scores = {"teacher": np.round(rng.random(n) + y / 3, decimals), "student": np.round(rng.random(n) + y / 4, decimals)}
    stats = {k: g for k, (_, g) in v._rank_metric_fns().items()}
    monkeypatch.setattr(v, "_CHUNK_CELLS", 7 * n)  # chunks of 7 resamples: 45 = 6 x 7 + 3
    monkeypatch.setattr(v, "_ONE_AT_A_TIME_RUNS", 10**9)
    chunked = v._boot_rank(y, scores, stats, 45, 3)
    monkeypatch.setattr(v, "_ONE_AT_A_TIME_RUNS", 0)
    single = v._boot_rank(y, scores, stats, 45, 3)
    assert chunked.keys() == single.keys() and len(chunked) == 2 * len(stats)
    for key, draws in chunked.items():
        assert draws.shape == (45,)
        np.testing.assert_array_equal(draws, single[key])
    # And each draw is the metric on its resampled rows.
    idx = next(v._index_chunks(n, 1, 3))[0]
    assert chunked[("teacher", "auc")][0] == pytest.approx(m.auc(y[idx], scores["teacher"][idx]), abs=1e-12)


def test_the_cluster_bootstrap_resamples_whole_accounts() -> None:
    """A split by account's test rows are no independent draws: the discrimination intervals
    resample whole accounts (note 74's leftover). Checked against an independent computation: an
    account whose rows are one row written k times gives, resampled by account, exactly the row
    bootstrap of the account-level table; one account per row gives the row bootstrap itself."""
    from finlite.evaluate.validation import _auc_g, _boot_rank

    rng = np.random.default_rng(3)
    accounts = 40
    y_acc = np.r_[np.ones(12), np.zeros(accounts - 12)]
    p_acc = np.clip(0.3 * y_acc + rng.normal(0.4, 0.2, accounts), 0, 1)
    k = 25
    y, p = np.repeat(y_acc, k), np.repeat(p_acc, k)
    clusters = np.repeat(np.arange(accounts), k)
    stats = {"auc": _auc_g}
    by_account = _boot_rank(y, {"m": p}, stats, 500, 7, clusters=clusters)[("m", "auc")]
    account_table = _boot_rank(y_acc, {"m": p_acc}, stats, 500, 7)[("m", "auc")]
    np.testing.assert_allclose(by_account, account_table, rtol=0, atol=1e-12)
    by_row = _boot_rank(y, {"m": p}, stats, 500, 7)[("m", "auc")]
    assert np.std(by_account) > 3 * np.std(by_row)  # 40 accounts, not 1,000 independent rows
    singles = _boot_rank(y_acc, {"m": p_acc}, stats, 500, 7, clusters=np.arange(accounts))[("m", "auc")]
    np.testing.assert_allclose(singles, account_table, rtol=0, atol=1e-12)


def test_calibration_in_the_large_at_a_mean_of_exactly_0_or_1_is_the_binomial_probability() -> None:
    """Scores saturated in float32 give a mean of exactly 0 or 1, a boundary the Jeffreys
    posterior never reaches: a PD of 0 on a book with no default read FAIL at p 0 (a statistics
    audit, 2026-12-07). There the p-value is the binomial probability of the count under the
    prediction (scipy's binomtest): 1 where every row agrees, 0 where one does not."""
    for positives, rows, mean in ((0, 1000, 0.0), (20, 20, 1.0), (1, 1000, 0.0), (19, 20, 1.0)):
        record = v.calibration_in_the_large(positives, rows, mean)
        assert record["p_value"] == binomtest(positives, rows, mean).pvalue, (positives, rows, mean)
    assert v.calibration_status(v.calibration_in_the_large(0, 1000, 0.0)) == "PASS"
    assert v.calibration_in_the_large(0, 1000, 0.0)["factor"] == 1.0
    assert v.calibration_in_the_large(1, 1000, 0.0)["p_under"] == 0.0  # the risk underestimated
    assert v.calibration_status(v.calibration_in_the_large(1, 1000, 0.0)) == "FAIL"
    inside = v.calibration_in_the_large(5, 100, 0.05)  # away from the boundary: the Jeffreys test as before
    assert inside["p_value"] == pytest.approx(min(1.0, 2 * min(v.jeffreys_test(5, 100, 0.05).values())))
    with pytest.raises(ValueError, match=r"needs rows > 0 and 0 <= positives <= rows; got 0 of 0"):
        v.calibration_in_the_large(0, 0, 0.1)


def test_fidelity_and_operating_points_refuse_nan_and_infinite_scores() -> None:
    """Spearman's rho of a NaN student read 1.0, agreement 0.75, the cut-off at a flag rate NaN
    (a statistics audit, 2026-12-07): each now refuses, naming the position, as PSI did."""
    from finlite.evaluate import fidelity as f
    from finlite.evaluate import operating as o

    t, y = np.array([0.1, 0.2, 0.3, 0.4]), np.array([0, 1, 0, 1])
    bad = np.array([0.1, np.nan, 0.3, 0.4])
    calls = [lambda: f.spearman(t, bad), lambda: f.agreement(t, bad, 0.35), lambda: f.alert_overlap(t, bad, 0.35),
             lambda: f.swap_set(bad, t, y, 0.35), lambda: f.decision_intervals(t, bad, 0.35),
             lambda: f.correlation(t, bad), lambda: f.regression_fidelity(t, bad),
             lambda: f.fidelity_metrics(t, bad, y, 0.35), lambda: o.agreement_band(t, bad),
             lambda: o.cutoff_at_flag_rate(bad, 0.5), lambda: o.operating_point(bad, y)]
    for call in calls:
        with pytest.raises(DataError, match=r"must be finite numbers; position 1 holds nan \(1 of 4"):
            call()
    with pytest.raises(DataError, match=r"The cut-off must be a finite number; got nan"):
        f.agreement(t, t, float("nan"))
    with pytest.raises(DataError, match=r"array 2 holds a NaN or infinite number at row 0"):
        v.bootstrap_ci(m.brier, np.array([1, 0]), np.array([np.inf, 0.2]))
    with pytest.raises(DataError, match=r"paired_bootstrap_ci's array 3 holds a NaN"):
        v.paired_bootstrap_ci(m.brier, y, t, bad)
    assert f.agreement(t, t, 0.35) == 1.0 and o.cutoff_at_flag_rate(t, 0.5) == pytest.approx(0.25)
