"""Teacher-versus-student fidelity: do the two models make the same decisions?"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from finlite.errors import DataError
from finlite.evaluate.metrics import finite_scores, rankdata
from finlite.evaluate.operating import agreement_band, flag_overlap, report_band, share_interval

__all__ = ["PSI_FAIL", "PSI_WARN", "agreement", "alert_overlap", "correlation", "decision_intervals", "fidelity_metrics",
           "psi", "psi_contributions", "regression_fidelity", "spearman", "swap_set"]

# Floor for an empty PSI bin: keeps ln(a/e) finite; the usual choice in credit-risk practice.
_PSI_FLOOR = 1e-4
#: PSI / CSI bands used in credit-risk practice: stable below the first, shifted from the second.
PSI_WARN, PSI_FAIL = 0.1, 0.25


def psi_contributions(e_share: np.ndarray, a_share: np.ndarray) -> np.ndarray:
    """Each bin's ``(a − e)·ln(a / e)`` for expected and actual shares, both floored at 1e-4: the
    terms of every PSI finlite reports (the report's tables, its fidelity PSI, a scoring run's)."""
    e, a = np.maximum(e_share, _PSI_FLOOR), np.maximum(a_share, _PSI_FLOOR)
    terms: np.ndarray = (a - e) * np.log(a / e)
    return terms


def _pair(a: np.ndarray, b: np.ndarray, cutoff: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The two score arrays as float64, refusing NaN and infinities (a NaN score is never
    flagged, and agreement, the alert overlap and Spearman's rho returned numbers for them: a
    statistics audit, 2026-12-07), arrays of different lengths or none, and a cut-off that is not
    a finite number."""
    a = finite_scores(a, "first model's scores")
    b = finite_scores(b, "second model's scores")
    if cutoff is not None and not (isinstance(cutoff, (int, float, np.number)) and math.isfinite(float(cutoff))):
        raise DataError(f"The cut-off must be a finite number; got {cutoff!r}.")
    if a.shape != b.shape or a.size == 0:
        raise DataError(f"Fidelity needs two equally long, non-empty score arrays; got {a.size} and {b.size}.")
    return a, b


def agreement(p_teacher: np.ndarray, p_student: np.ndarray, cutoff: float) -> float:
    """Share of rows where both models take the same decision (score ≥ cut-off is positive)."""
    a, b = _pair(p_teacher, p_student, cutoff)
    return float(np.mean((a >= cutoff) == (b >= cutoff)))


def alert_overlap(p_teacher: np.ndarray, p_student: np.ndarray, cutoff: float) -> float | None:
    """Of the rows either model flags at the cut-off (score ≥ cut-off), the share both flag: the
    Jaccard index of the two alert sets (None when neither flags a row; :func:`flag_overlap`).
    For a direction model the "alerts" are its up calls.

    At fraud prevalence :func:`agreement` is close to 1 whatever the alerts do (every row neither
    model flags agrees); this counts the alerts alone, the fidelity a fraud team is judged by.
    """
    a, b = _pair(p_teacher, p_student, cutoff)
    return flag_overlap(a >= cutoff, b >= cutoff)


def swap_set(p_teacher: np.ndarray, p_student: np.ndarray, y: np.ndarray, cutoff: float) -> dict[str, Any]:
    """The 2×2 table of decisions: rows are the teacher's, columns the student's.

    Each cell holds the row count and the observed positive ("bad") rate, so a validator sees
    whether the swapped-in rows are better or worse risks than the swapped-out ones.
    """
    a, b = _pair(p_teacher, p_student, cutoff)
    y = np.asarray(y, dtype=np.float64).ravel()
    ta, sa = a >= cutoff, b >= cutoff
    cells: dict[str, Any] = {}
    for t_name, t_mask in (("teacher_positive", ta), ("teacher_negative", ~ta)):
        for s_name, s_mask in (("student_positive", sa), ("student_negative", ~sa)):
            m = t_mask & s_mask
            count = int(m.sum())
            cells[f"{t_name}/{s_name}"] = {"count": count,
                                           "positive_rate": float(y[m].mean()) if count else None}
    return cells


def psi(p_expected: np.ndarray, p_actual: np.ndarray, bins: int = 10) -> float:
    """Population stability index of ``p_actual`` against ``p_expected``.

    Bin edges are the deciles (for ``bins=10``) of the expected scores; ties that make edges
    coincide merge their bins. ``PSI = Σ (a − e)·ln(a / e)`` over bins, with empty bins floored.

    Raises:
        DataError: either side is empty or holds a NaN or infinite score (one NaN made every
            decile edge NaN, and the PSI 0.0: "stable").
    """
    e, a = finite_scores(p_expected, "expected scores"), finite_scores(p_actual, "actual scores")
    if e.size == 0 or a.size == 0:
        raise DataError("PSI needs at least one score in each distribution.")
    inner = np.unique(np.quantile(e, np.linspace(0, 1, bins + 1)[1:-1]))
    # Right-closed bins: a score equal to an edge falls in the lower bin, for both arrays alike.
    e_share = np.bincount(np.searchsorted(inner, e, side="left"), minlength=inner.size + 1) / e.size
    a_share = np.bincount(np.searchsorted(inner, a, side="left"), minlength=inner.size + 1) / a.size
    return float(np.sum(psi_contributions(e_share, a_share)))


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman rank correlation (Pearson correlation of average ranks); 0 when either side is
    constant (it ranks nothing), as :func:`correlation`."""
    a, b = _pair(a, b)
    ra, rb = rankdata(a), rankdata(b)
    ra, rb = ra - ra.mean(), rb - rb.mean()
    denom = np.sqrt((ra * ra).sum() * (rb * rb).sum())
    return float((ra * rb).sum() / denom) if denom else 0.0


def decision_intervals(p_teacher: np.ndarray, p_student: np.ndarray, cutoff: float,
                       level: float = 0.95) -> dict[str, list[float] | None]:
    """Exact 95 % intervals of the agreement (rows decided alike, of all rows) and of the alert
    overlap (rows both flag, of the rows either flags; None when neither flags a row) at the cut-off
    (:func:`~finlite.evaluate.operating.share_interval`): how far another sample of as many rows
    could move them (the rows' sampling, taken as independent draws; not a retrained student). At
    fraud prevalence the overlap rests on about a hundred alerts and moves by several points between
    two splits; the interval shows it."""
    a, b = _pair(p_teacher, p_student, cutoff)
    ta, sb = a >= cutoff, b >= cutoff
    same = int(np.count_nonzero(ta == sb))
    both, either = int(np.count_nonzero(ta & sb)), int(np.count_nonzero(ta | sb))
    agree, overlap = share_interval(same, a.size, level), share_interval(both, either, level)
    return {"agreement_ci": list(agree) if agree else None, "alert_overlap_ci": list(overlap) if overlap else None}


def fidelity_metrics(p_teacher: np.ndarray, p_student: np.ndarray, y: np.ndarray, cutoff: float) -> dict[str, Any]:
    """Agreement and alert overlap (at the cut-off, with their exact 95 % intervals:
    :func:`decision_intervals`, and over the band of flag rates, from 0.1 % where the rows allow:
    :func:`~finlite.evaluate.operating.report_band`), swap set, PSI (student against teacher) and
    Spearman correlation."""
    return {
        "agreement": agreement(p_teacher, p_student, cutoff),
        "alert_overlap": alert_overlap(p_teacher, p_student, cutoff),
        **decision_intervals(p_teacher, p_student, cutoff),
        "agreement_band": agreement_band(p_teacher, p_student, report_band(np.asarray(p_teacher).size), y=y),
        "swap_set": swap_set(p_teacher, p_student, y, cutoff),
        "psi": psi(p_teacher, p_student),
        "spearman": spearman(p_teacher, p_student),
        "max_abs_diff": float(np.max(np.abs(np.asarray(p_teacher) - np.asarray(p_student)))),
        "cutoff": float(cutoff),
    }


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation (0 when either side is constant)."""
    a, b = _pair(a, b)
    a, b = a - a.mean(), b - b.mean()
    denom = np.sqrt((a * a).sum() * (b * b).sum())
    return float((a * b).sum() / denom) if denom else 0.0


def regression_fidelity(t: np.ndarray, s: np.ndarray) -> dict[str, Any]:
    """How closely a student's forecasts follow its teacher's: RMSE and MAE between the two,
    Pearson and Spearman correlation, and the largest difference."""
    a, b = _pair(t, s)
    diff = b - a
    return {"rmse_vs_teacher": float(np.sqrt(np.mean(diff * diff))), "mae_vs_teacher": float(np.mean(np.abs(diff))),
            "correlation": correlation(a, b), "spearman": spearman(a, b), "max_abs_diff": float(np.max(np.abs(diff)))}
