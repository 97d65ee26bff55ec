"""Discrimination and calibration metrics used in credit scoring, and forecast errors.

The classification functions take ``y`` (0/1, 1 = positive class, e.g. "bad") and ``p`` (the
model's P(positive)); the regression ones (:func:`regression_metrics`) take targets and
forecasts. None of them needs scikit-learn, and the tests check them against it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from finlite.errors import DataError

__all__ = [
    "accuracy_at",
    "auc",
    "auc_decline",
    "brier",
    "classification_metrics",
    "directional_accuracy",
    "f1_at",
    "finite_scores",
    "gini",
    "hanley_mcneil_se",
    "ks",
    "log_loss",
    "mae",
    "paired_auc_difference",
    "precision_at",
    "r2",
    "rankdata",
    "recall_at",
    "regression_metrics",
    "rmse",
]


def finite_scores(values: Any, what: str = "scores",
                  why: str = " (a model that returns NaN decides nothing)") -> np.ndarray:
    """``values`` as a flat float64 array, refusing any that is NaN or infinite, naming the first
    (its position and value) and how many there are. A NaN sorts as the largest score, so a ranking
    metric would otherwise return a number that reflects the rows' order (an AUC of 1.0 for scores
    that are all NaN), and a share would count it in no bin."""
    array = np.asarray(values, dtype=np.float64).ravel()
    bad = ~np.isfinite(array)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise DataError(f"The {what} must be finite numbers; position {first} holds {float(array[first])} "
                        f"({int(bad.sum())} of {array.size} are NaN or infinite). Fix them{why} before measuring.")
    return array


def _check(y: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y, dtype=np.float64).ravel()
    p = finite_scores(p)
    if y.shape != p.shape:
        raise DataError(f"Labels and scores differ in length ({y.size} vs {p.size}).")
    if y.size == 0:
        raise DataError("Metrics need at least one row; got none.")
    if not np.isin(y, (0.0, 1.0)).all():
        raise DataError("Labels must be 0/1 (1 = positive class).")
    return y, p


def rankdata(values: np.ndarray) -> np.ndarray:
    """1-based ranks with ties given their average rank (as in a Mann-Whitney test)."""
    values = np.asarray(values, dtype=np.float64).ravel()
    order = np.argsort(values, kind="mergesort")
    sorted_vals = values[order]
    # Boundaries of runs of equal values; each run gets the mean of the ranks it spans.
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_vals)) + 1]
    ends = np.r_[starts[1:], values.size]
    avg = (starts + ends + 1) / 2.0
    ranks = np.empty(values.size, dtype=np.float64)
    ranks[order] = np.repeat(avg, ends - starts)
    return ranks


def auc(y: np.ndarray, p: np.ndarray) -> float:
    """Area under the ROC curve: P(score of a random positive > score of a random negative)."""
    y, p = _check(y, p)
    n_pos = y.sum()
    n_neg = y.size - n_pos
    if n_pos == 0 or n_neg == 0:
        raise DataError("AUC needs both classes among the rows; these rows hold only one.")
    ranks = rankdata(p)
    return float((ranks[y == 1].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def auc_and_se(positive_scores: np.ndarray, negative_scores: np.ndarray) -> tuple[float, float]:
    """AUC (probability a positive scores above a negative, ties half) and DeLong's standard error.

    Raises:
        DataError: a score is NaN or infinite, or either side has no score.
    """
    positive_scores = finite_scores(positive_scores, "positives' scores")
    negative_scores = finite_scores(negative_scores, "negatives' scores")
    n1, n0 = positive_scores.size, negative_scores.size
    if not n1 or not n0:
        raise DataError(f"An AUC needs scores of both classes; got {n1} positive and {n0} negative.")
    combined = rankdata(np.r_[positive_scores, negative_scores])
    r1, r0 = combined[:n1], combined[n1:]
    value = float((r1.sum() - n1 * (n1 + 1) / 2.0) / (n1 * n0))
    # DeLong's structural components: each positive's share of negatives it beats, and each
    # negative's share of positives that beat it (midranks handle ties).
    v10 = (r1 - rankdata(positive_scores)) / n0
    v01 = 1.0 - (r0 - rankdata(negative_scores)) / n1
    var = (np.var(v10, ddof=1) / n1 if n1 > 1 else 0.0) + (np.var(v01, ddof=1) / n0 if n0 > 1 else 0.0)
    return value, float(np.sqrt(max(var, 0.0)))


def _structural(positive_scores: np.ndarray, negative_scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """DeLong's structural components of one model's scores (see :func:`auc_and_se`)."""
    n1, n0 = positive_scores.size, negative_scores.size
    combined = rankdata(np.r_[positive_scores, negative_scores])
    v10 = (combined[:n1] - rankdata(positive_scores)) / n0
    v01 = 1.0 - (combined[n1:] - rankdata(negative_scores)) / n1
    return v10, v01


def paired_auc_difference(y: np.ndarray, p_first: np.ndarray, p_second: np.ndarray,
                          level: float = 0.95) -> dict[str, float]:
    """AUC(second) − AUC(first) of two models scoring the same rows, with DeLong's paired standard
    error (the two AUCs' covariance from their structural components), a two-sided p-value and a
    normal interval: the test a champion/challenger comparison needs (DeLong, DeLong and
    Clarke-Pearson, 1988).

    Raises:
        DataError: a score is not finite, or the rows hold one class only.
    """
    from scipy.stats import norm

    y, p_first = _check(y, p_first)
    _, p_second = _check(y, p_second)
    pos, neg = y == 1, y == 0
    n1, n0 = int(pos.sum()), int(neg.sum())
    if n1 < 2 or n0 < 2:
        raise DataError(f"A paired AUC test needs at least two rows of each class; got {n1} positive and {n0} other.")
    a10, a01 = _structural(p_first[pos], p_first[neg])
    b10, b01 = _structural(p_second[pos], p_second[neg])
    diff = float(b10.mean() - a10.mean())  # the mean of V10 is the AUC
    # var(A) + var(B) − 2·cov(A, B) as the variance of the paired differences: the same number, and
    # exactly 0 for one model compared with itself.
    var = float(np.var(b10 - a10, ddof=1)) / n1 + float(np.var(b01 - a01, ddof=1)) / n0
    se = float(np.sqrt(max(var, 0.0)))
    z = diff / se if se > 0 else (0.0 if diff == 0 else float(np.sign(diff)) * np.inf)
    q = float(norm.ppf(0.5 + level / 2))
    return {"difference": diff, "se": se, "z": float(z), "p_value": float(2 * norm.sf(abs(z))),
            "lower": diff - q * se, "upper": diff + q * se, "level": level}


def hanley_mcneil_se(value: float, positives: int, negatives: int) -> float:
    """The standard error of an AUC from its value and the two class counts alone (Hanley and
    McNeil, 1982): what a recorded AUC's noise is when its scores are no longer at hand."""
    a, n1, n0 = float(value), int(positives), int(negatives)
    if n1 < 1 or n0 < 1:
        raise DataError(f"An AUC's standard error needs rows of both classes; got {n1} positive and {n0} other.")
    q1, q2 = a / (2 - a), 2 * a * a / (1 + a)
    var = (a * (1 - a) + (n1 - 1) * (q1 - a * a) + (n0 - 1) * (q2 - a * a)) / (n1 * n0)
    return float(np.sqrt(max(var, 0.0)))


def auc_decline(validated: float, rows: int, positives: int, y: np.ndarray, p: np.ndarray) -> dict[str, Any]:
    """An AUC measured on new rows (``y``, ``p``) against one recorded at validation on ``rows`` rows
    of which ``positives`` positive: the two Ginis, the relative decline, and whether the fall is
    beyond both measurements' noise (z > 1.96 from the recorded AUC's Hanley–McNeil error and the
    new one's DeLong error). Only the new AUC's error was counted before, so a 600-row test split's
    noise read as decline one time in five on an unchanged population (a review, 2026-12-06).
    ``judged`` is False (and ``beyond_noise`` with it) when the new rows hold fewer than
    :data:`finlite._limits.THIN_CLASS_ROWS` of a class: no rise or fall is claimed on them.
    ``reversed``: the new AUC lies below 0.5 beyond its own noise (judged rows only)."""
    from finlite._limits import THIN_CLASS_ROWS

    pos, neg = np.asarray(y) == 1, np.asarray(y) == 0
    now, se_now = auc_and_se(np.asarray(p)[pos], np.asarray(p)[neg])
    se_then = hanley_mcneil_se(validated, positives, rows - positives)
    se = float(np.hypot(se_then, se_now))
    z = (float(validated) - now) / se if se > 0 else 0.0
    gini_then, gini_now = 2 * float(validated) - 1, 2 * now - 1
    # DeLong's error is no sampling error below a few dozen rows of a class: with one default it
    # drops the defaults' variance altogether, and a hold-out of 19 goods and 1 default gave z 12.7
    # (a fall "beyond noise" and a FAIL) where the AUC's sampling SD is about 0.26, z near 2 (a PD
    # modeller's walk-through, 2026-12-06). Not judged there: z is kept, the verdict is not drawn.
    fewest = int(min(pos.sum(), neg.sum()))
    judged = fewest >= THIN_CLASS_ROWS
    return {"validated_auc": float(validated), "validated_se": se_then, "auc": now, "se": se_now,
            "validated_gini": gini_then, "gini": gini_now,
            "gini_relative_decline": 1 - gini_now / gini_then if gini_then > 0 else None,
            "z": z, "beyond_noise": judged and z > 1.96, "judged": judged, "fewest_class_rows": fewest,
            # Ranked the wrong way round beyond noise: an outcome coded the other way (1 = performing)
            # read as a model to redevelop (a PD modeller's walk-through, 2026-12-06).
            "reversed": judged and now + 1.96 * se_now < 0.5}


def gini(y: np.ndarray, p: np.ndarray) -> float:
    """Gini coefficient (accuracy ratio) = 2·AUC − 1."""
    return 2.0 * auc(y, p) - 1.0


def ks(y: np.ndarray, p: np.ndarray) -> float:
    """Kolmogorov–Smirnov statistic in the score's direction: the largest share of negatives
    below a threshold less the share of positives below it, max(TPR − FPR) over the thresholds.

    Directional, as credit teams read it (a higher score means more likely positive): a model
    whose ranking is reversed has a KS of 0, not the KS of its mirror image. The absolute gap
    (the two-sided test's statistic) gave an inverted student the KS of its teacher, and a
    ``ks`` gate passed it (a validator's review, 2026-12-04)."""
    y, p = _check(y, p)
    n_pos, n_neg = y.sum(), y.size - y.sum()
    if n_pos == 0 or n_neg == 0:
        raise DataError("KS needs both classes among the rows; these rows hold only one.")
    order = np.argsort(p, kind="mergesort")
    ys, ps = y[order], p[order]
    cum_pos = np.cumsum(ys) / n_pos
    cum_neg = np.cumsum(1 - ys) / n_neg
    # Only compare the CDFs where the score changes: tied scores cannot be separated.
    last_of_run = np.r_[np.diff(ps) != 0, True]
    return float(max(0.0, np.max(cum_neg[last_of_run] - cum_pos[last_of_run])))


def _decisions(p: np.ndarray, cutoff: float) -> np.ndarray:
    return (p >= cutoff).astype(np.float64)


def accuracy_at(y: np.ndarray, p: np.ndarray, cutoff: float) -> float:
    """Share of rows whose decision (score ≥ cut-off means positive) matches the label."""
    y, p = _check(y, p)
    return float(np.mean(_decisions(p, cutoff) == y))


def f1_at(y: np.ndarray, p: np.ndarray, cutoff: float) -> float:
    """F1 of the positive class at the cut-off (0 when nothing is flagged and nothing is positive)."""
    y, p = _check(y, p)
    d = _decisions(p, cutoff)
    tp = float(np.sum(d * y))
    denom = float(d.sum() + y.sum())
    return 2 * tp / denom if denom else 0.0


def precision_at(y: np.ndarray, p: np.ndarray, cutoff: float) -> float:
    """Share of the flagged rows (score ≥ cut-off) that are positive: of the alerts a fraud team
    works, or the applicants a lender declines, how many were right. 0 when nothing is flagged
    (scikit-learn's ``zero_division=0``): a gate on it then fails rather than passes."""
    y, p = _check(y, p)
    d = _decisions(p, cutoff)
    flagged = float(d.sum())
    return float(np.sum(d * y)) / flagged if flagged else 0.0


def recall_at(y: np.ndarray, p: np.ndarray, cutoff: float) -> float | None:
    """Share of the positive rows flagged at the cut-off: the fraud caught, the defaulters
    declined. None when no row is positive (nothing to catch)."""
    y, p = _check(y, p)
    positives = float(y.sum())
    return float(np.sum(_decisions(p, cutoff) * y)) / positives if positives else None


def brier(y: np.ndarray, p: np.ndarray) -> float:
    """Mean squared error of the probabilities."""
    y, p = _check(y, p)
    return float(np.mean((p - y) ** 2))


def log_loss(y: np.ndarray, p: np.ndarray, eps: float = 1e-15) -> float:
    """Mean negative log-likelihood, with probabilities clipped to [eps, 1 − eps]."""
    y, p = _check(y, p)
    p = np.clip(p, eps, 1 - eps)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def average_precision(y: np.ndarray, p: np.ndarray) -> float:
    """Area under the precision-recall curve as average precision: Σ (R_k − R_{k−1}) · P_k.

    Tied scores are one threshold. With rare positives (fraud) this says more than AUC. NaN when
    no row is positive (there is no recall to average over): undefined, as scikit-learn warns.
    """
    y_arr, p_arr = _check(y, p)
    positives = y_arr.sum()
    if positives == 0:
        return float("nan")
    order = np.argsort(-p_arr, kind="stable")
    ys, ps = y_arr[order], p_arr[order]
    tp = np.cumsum(ys)
    # Keep the last row of each run of equal scores: a threshold admits all tied rows at once.
    last = np.r_[ps[1:] != ps[:-1], True]
    tp, seen = tp[last], (np.arange(1, len(ys) + 1))[last]
    precision, recall = tp / seen, tp / positives
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def recall_at_fpr(y: np.ndarray, p: np.ndarray, fpr: float = 0.001) -> float:
    """Share of positives caught when at most ``fpr`` of negatives are flagged.

    The threshold is the highest that keeps the false-positive rate within ``fpr``; a fraud
    team asks exactly this ("how much fraud do we stop at one false alarm per thousand?"). NaN
    when the rows hold one class only (no positive to catch, or no negative to bound the rate).
    """
    y_arr, p_arr = _check(y, p)
    neg = np.sort(p_arr[y_arr == 0])[::-1]
    pos = p_arr[y_arr == 1]
    if pos.size == 0 or neg.size == 0:
        return float("nan")
    allowed = int(np.floor(fpr * neg.size))
    # Flag scores strictly above the (allowed+1)-th highest negative score.
    threshold = neg[allowed] if allowed < neg.size else -np.inf
    return float(np.mean(pos > threshold))


def classification_metrics(y: np.ndarray, p: np.ndarray, cutoff: float, *,
                           one_class: bool = False) -> dict[str, Any]:
    """Every metric above for one model, plus row and positive counts.

    Rows of one class have nothing to rank: AUC and KS raise, unless ``one_class`` (a direction
    forecaster's test period that only rose), which gives the ranking metrics as None and judges
    the calls (accuracy, F1, Brier, log loss) as ever.
    """
    y_arr, p_arr = _check(y, p)
    ranked = not one_class or 0 < int(y_arr.sum()) < y_arr.size
    return {
        "rows": int(y_arr.size),
        "positives": int(y_arr.sum()),
        "auc": auc(y_arr, p_arr) if ranked else None,
        "gini": gini(y_arr, p_arr) if ranked else None,
        "ks": ks(y_arr, p_arr) if ranked else None,
        "pr_auc": average_precision(y_arr, p_arr) if ranked else None,
        "recall_at_0.1pct_fpr": recall_at_fpr(y_arr, p_arr, 0.001) if ranked else None,
        "accuracy": accuracy_at(y_arr, p_arr, cutoff),
        "f1": f1_at(y_arr, p_arr, cutoff),
        "precision": precision_at(y_arr, p_arr, cutoff),
        "recall": recall_at(y_arr, p_arr, cutoff),
        "brier": brier(y_arr, p_arr),
        "log_loss": log_loss(y_arr, p_arr),
        "flagged_rate": float(np.mean(p_arr >= cutoff)),
        "cutoff": float(cutoff),
    }


# -- regression ----------------------------------------------------------------------------------
def _check_values(y: np.ndarray, pred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y, dtype=np.float64).ravel()
    pred = np.asarray(pred, dtype=np.float64).ravel()
    if y.shape != pred.shape:
        raise DataError(f"Targets and predictions differ in length ({y.size} vs {pred.size}).")
    if y.size == 0:
        raise DataError("Metrics need at least one row; got none.")
    if not (np.isfinite(y).all() and np.isfinite(pred).all()):
        raise DataError("Regression metrics need finite targets and predictions; some are NaN or infinite.")
    return y, pred


def rmse(y: np.ndarray, pred: np.ndarray) -> float:
    """Root mean squared error."""
    y, pred = _check_values(y, pred)
    return float(np.sqrt(np.mean((pred - y) ** 2)))


def mae(y: np.ndarray, pred: np.ndarray) -> float:
    """Mean absolute error."""
    y, pred = _check_values(y, pred)
    return float(np.mean(np.abs(pred - y)))


def r2(y: np.ndarray, pred: np.ndarray) -> float:
    """Coefficient of determination, 1 − SSE / SST (NaN when the target is constant).

    Constant up to rounding counts as constant: SST within 1e-12 of Σy², the rule of the
    bootstrap's weighted form (``validation._r2_w``), so that [0.1, 0.1, 0.1], whose mean is not
    exactly 0.1 in binary, gives NaN here and there rather than -5e29. Relative to Σy², so a
    target of small values that moves (returns of 1e-7) keeps its R²."""
    y, pred = _check_values(y, pred)
    total = float(np.sum((y - y.mean()) ** 2))
    if not (total > 0 and total > 1e-12 * float(np.sum(y * y))):
        return float("nan")
    return 1.0 - float(np.sum((pred - y) ** 2)) / total


def directional_accuracy(y: np.ndarray, pred: np.ndarray) -> float:
    """Share of rows with a non-zero target whose prediction has the target's sign (up or down).

    Meaningful for targets that move both ways (returns, spreads); NaN when no target is non-zero.
    """
    y, pred = _check_values(y, pred)
    moved = y != 0
    return float(np.mean(np.sign(pred[moved]) == np.sign(y[moved]))) if moved.any() else float("nan")


def regression_metrics(y: np.ndarray, pred: np.ndarray) -> dict[str, Any]:
    """RMSE, MAE and R² of a forecast, plus directional accuracy when the target moves both ways."""
    y_arr, p_arr = _check_values(y, pred)
    out: dict[str, Any] = {"rows": int(y_arr.size), "rmse": rmse(y_arr, p_arr), "mae": mae(y_arr, p_arr),
                           "r2": r2(y_arr, p_arr)}
    if (y_arr > 0).any() and (y_arr < 0).any():  # a level that is always positive has no direction to call
        out["directional_accuracy"] = directional_accuracy(y_arr, p_arr)
    return out
