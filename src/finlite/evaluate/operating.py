"""The operating point of a binary classifier: the cut-off on P(positive) where decisions are made.

A cut-off of 0.5 decides nothing on a book with 5 % bad loans (no score reaches it), so the
default is set from the data, as a credit or fraud team sets it: the teacher's score at the
training bad rate (the ``1 − bad_rate`` quantile of its scores on the training split), or at a
flag rate the user gives (``flag_rate=0.1``: the riskiest 10 % are flagged). An explicit cut-off
is kept as given. Students inherit their teacher's operating point.

Agreement between two models is also read over a band of operating points
(:data:`FLAG_RATE_BAND`): at each flag rate, the teacher's quantile cut-off on the rows compared.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from finlite._util import check_fraction, percent
from finlite.errors import ConfigError, DataError, TooFewAlertsError
from finlite.evaluate.metrics import finite_scores

__all__ = [
    "FLAG_RATE_BAND",
    "LOW_FLAG_RATES",
    "MIN_ALERTS",
    "OperatingPoint",
    "agreement_band",
    "check_decisive",
    "check_operating_options",
    "check_overlap_judged",
    "cutoff_at_flag_rate",
    "decides",
    "flag_overlap",
    "operating_point",
    "report_band",
    "share_interval",
]

#: Flag rates (shares of rows flagged by the teacher) over which agreement is reported and gated
#: (``agreement_band_min``).
FLAG_RATE_BAND = (0.01, 0.02, 0.05, 0.10, 0.20, 0.30)
#: Fraud alert budgets below the band: reported (not gated) where the teacher flags at least
#: :data:`LOW_RATE_MIN_ALERTS` rows at the rate, so a fraud team sees agreement and alert overlap
#: where it operates, and a 1,000-row table shows no rate judged on one or two alerts.
LOW_FLAG_RATES = (0.001, 0.005)
#: The fewest alerts an alert overlap is judged on: with 6 alerts one swapped alert moves the
#: overlap from 1 to 0.67, noise rather than evidence. A gate on ``alert_overlap`` needs the teacher
#: to flag this many validation rows (:func:`check_overlap_judged`); the validation report judges
#: the overlap where the two models flag this many rows between them; the band shows a fraud
#: budget where the teacher flags this many rows at it.
MIN_ALERTS = 20
LOW_RATE_MIN_ALERTS = MIN_ALERTS

#: How an operating point was set (recorded in the manifest).
METHODS = ("training_bad_rate", "flag_rate", "cutoff", "recorded")

# A cut-off must lie strictly inside (0, 1) (the manifest refuses anything else); float32 scores
# can saturate at exactly 0 or 1, so a quantile there is moved just inside.
_EDGE = 1e-7


@dataclass(frozen=True)
class OperatingPoint:
    """Where decisions are made: ``cutoff`` on P(positive), and how it was set.

    Attributes:
        cutoff: rows scoring at or above it are flagged positive (declined, stopped).
        method: "training_bad_rate" (the teacher's score at the training split's positive rate),
            "flag_rate" (at a flag rate the user gave), "cutoff" (given explicitly) or "recorded"
            (an artifact made before operating points were recorded: its stored cut-off).
        flag_rate: the share of training rows the cut-off was set to flag (None for "cutoff"
            and "recorded").
        flagged_train: the share of the training rows the teacher flags at ``cutoff``.
    """

    cutoff: float
    method: str
    flag_rate: float | None = None
    flagged_train: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form for the manifest and the report."""
        return {"cutoff": self.cutoff, "method": self.method, "flag_rate": self.flag_rate,
                "flagged_train": self.flagged_train}

    @classmethod
    def from_manifest(cls, manifest: Mapping[str, Any]) -> OperatingPoint:
        """The operating point an artifact's manifest records (its bare cut-off for old artifacts)."""
        cutoff = float(manifest["cutoff"])
        recorded = manifest.get("operating_point")
        if not isinstance(recorded, Mapping) or recorded.get("method") not in METHODS:
            return cls(cutoff=cutoff, method="recorded")
        rate, flagged = recorded.get("flag_rate"), recorded.get("flagged_train")
        share = float(rate) if isinstance(rate, (int, float)) and not isinstance(rate, bool) else None
        if recorded["method"] in ("training_bad_rate", "flag_rate") and share is None:
            return cls(cutoff=cutoff, method="recorded")  # a rate-based point must say its rate
        return cls(cutoff=cutoff, method=str(recorded["method"]), flag_rate=share,
                   flagged_train=float(flagged) if isinstance(flagged, (int, float)) else None)

    def describe(self, rate: str = "bad rate") -> str:
        """E.g. "cut-off 0.183 on P(positive) (the teacher's score at the training bad rate, 30.0%)".

        ``rate`` names the positive class's share in the training rows: "bad rate" for a credit
        book, "share of up moves" for a market-direction forecaster."""
        if self.method == "training_bad_rate":
            how = f"the teacher's score at the training {rate}, {percent(self.flag_rate or 0.0)}"
        elif self.method == "flag_rate":
            how = f"the teacher's score at the flag rate {percent(self.flag_rate or 0.0)} given"
        elif self.method == "cutoff":
            how = "given explicitly"
        else:
            how = "recorded by an older finlite"
        if (self.flag_rate is not None and self.flagged_train is not None
                and percent(self.flagged_train) != percent(self.flag_rate)):
            # No cut-off flags the share asked for exactly (tied scores share one side; on few rows a
            # row is more than a tenth of a point): say what it does flag, without guessing why,
            # whenever the two would read differently (0.01 % asked, 0.017 % flagged included).
            how += f"; it flags {percent(self.flagged_train)} of the training rows"
        return f"cut-off {self.cutoff:.6g} on P(positive) ({how})"


def rate_name(task: str) -> str:
    """What the positive class's share of the training rows is called for ``task``: a market
    direction model's positive class is a move up, not a bad loan."""
    return "share of up moves" if task == "direction" else "bad rate"


def decides_what(task: str | None) -> str:
    """What a score at or above the cut-off means, for an operating-point line: a direction
    forecaster calls a move up there; a credit model's flag needs no words ("" for it)."""
    return "; P(up) at or above it is called up" if task == "direction" else ""


def cutoff_at_flag_rate(scores: np.ndarray, flag_rate: float) -> float:
    """The cut-off at which ``flag_rate`` of ``scores`` are flagged (score ≥ cut-off): their
    ``1 − flag_rate`` quantile, moved just inside (0, 1).

    Raises:
        DataError: no score, or a NaN or infinite one (a NaN made the cut-off NaN, which decides
            nothing: a statistics audit, 2026-12-07).
    """
    s = finite_scores(scores)
    if s.size == 0:
        raise DataError("An operating point needs at least one score; got none.")
    return float(np.clip(np.quantile(s, 1.0 - flag_rate), _EDGE, 1.0 - _EDGE))


def check_operating_options(owner: str, cutoff: float | None, flag_rate: float | None) -> None:
    """Check the operating-point parameters of ``owner`` before any work: each in (0, 1), not both.

    Raises:
        ConfigError: naming the parameter (``cutoff`` or ``flag_rate``) and its value.
    """
    if cutoff is not None:
        check_fraction(owner, "cutoff", cutoff, low_open=True, high_open=True)
    if flag_rate is not None:
        check_fraction(owner, "flag_rate", flag_rate, low_open=True, high_open=True)
    if cutoff is not None and flag_rate is not None:
        raise ConfigError(f"{owner} takes cutoff= or flag_rate=, not both: flag_rate sets the cut-off from the "
                          "teacher's scores. Drop one of them.", param="flag_rate")


def operating_point(train_scores: np.ndarray, y_train: np.ndarray, *, cutoff: float | None = None,
                    flag_rate: float | None = None, owner: str = "train") -> OperatingPoint:
    """Set a teacher's operating point from its scores on the training split.

    With neither ``cutoff`` nor ``flag_rate``, the cut-off flags the training split's positive
    (bad) rate; ``flag_rate`` flags that share instead; ``cutoff`` is used as given.

    Raises:
        ConfigError: both are given, or one is outside (0, 1) (naming the parameter of ``owner``).
    """
    check_operating_options(owner, cutoff, flag_rate)
    scores = finite_scores(train_scores, "training scores")
    if cutoff is not None:
        cut = check_fraction(owner, "cutoff", cutoff, low_open=True, high_open=True)
        return OperatingPoint(cutoff=cut, method="cutoff", flagged_train=_flagged(scores, cut))
    if flag_rate is not None:
        rate = check_fraction(owner, "flag_rate", flag_rate, low_open=True, high_open=True)
        method = "flag_rate"
    else:
        rate, method = float(np.mean(np.asarray(y_train, dtype=np.float64))), "training_bad_rate"
        if not 0 < rate < 1:
            raise DataError(f"The training split holds {'no' if rate == 0 else 'only'} positive rows, so no cut-off "
                            "can be set at its bad rate; pass flag_rate=0.1 (or another share of rows to flag).",
                            param="flag_rate")
    cut = cutoff_at_flag_rate(scores, rate)
    return OperatingPoint(cutoff=cut, method=method, flag_rate=rate, flagged_train=_flagged(scores, cut))


def _flagged(scores: np.ndarray, cutoff: float) -> float | None:
    return float(np.mean(scores >= cutoff)) if scores.size else None


def flag_overlap(teacher_flags: np.ndarray, student_flags: np.ndarray) -> float | None:
    """Of the rows either model flags, the share both flag (the Jaccard index of the two sets of
    flagged rows, given as booleans); None when neither flags a row (nothing to compare: a gate
    on it is refused there, as every decision gate is where the teacher flags no row).

    Agreement over all rows hides what a fraud team cares about: with 0.75 % of payments flagged,
    two models whose alerts overlap on 34 of 61 still agree on 99 % of rows. The overlap counts
    the alerts alone, and a student cannot raise it by flagging more rows (those add to the union).
    """
    a, b = np.asarray(teacher_flags), np.asarray(student_flags)
    if a.dtype != np.bool_ or b.dtype != np.bool_ or a.shape != b.shape:
        raise DataError(f"The alert overlap compares two equally long arrays of flags (booleans); got {a.dtype} "
                        f"{a.shape} and {b.dtype} {b.shape}.")
    either = int(np.count_nonzero(a | b))
    return float(np.count_nonzero(a & b) / either) if either else None


def share_interval(k: int, n: int, level: float = 0.95) -> tuple[float, float] | None:
    """The exact (Clopper-Pearson) interval, at ``level``, of a share seen as ``k`` of ``n``; None
    when ``n`` is 0 (nothing counted).

    For agreement, ``k`` rows of ``n`` decided alike. For the alert overlap, ``k`` rows flagged by
    both of the ``n`` either flags: given ``n``, ``k`` is binomial with the overlap as its
    probability (each flagged row is shared or not), so the interval is the overlap's, conditional
    on the number of alerts. It says how far another sample of the same size could move the share:
    about 110 alerts leave several points either way (a fraud bench, 2026-12-03)."""
    if not (isinstance(k, (int, np.integer)) and isinstance(n, (int, np.integer)) and 0 <= k <= n):
        raise DataError(f"A share's interval needs whole counts 0 <= k <= n; got k={k!r}, n={n!r}.")
    if not 0.0 < level < 1.0:
        raise ConfigError(f"The interval's level must lie between 0 and 1 (0.95 for 95 %); got {level!r}.",
                          param="level")
    if n == 0:
        return None
    from scipy.stats import binomtest  # the train extra's; imported where intervals are asked for

    ci = binomtest(int(k), int(n)).proportion_ci(confidence_level=level, method="exact")
    return float(ci.low), float(ci.high)


def check_overlap_judged(teacher_flagged: int, rows: int, cutoff: float, what: str) -> None:
    """Refuse to gate on the alert overlap where the teacher flags fewer than :data:`MIN_ALERTS`
    of the rows judged (the validation split): there one alert swapped for another moves the
    overlap by 2/(n+1), 10 points or more, and a step would be kept or rolled back by chance (a
    review of 2026-12-03: 13 validation alerts on a 3,000-row book rolled back a student that
    shared 75 % of the test alerts).

    Raises:
        TooFewAlertsError: naming the count, the rows, the cut-off, the flag rate that would give
            enough alerts and the other ways out, ``param="gates"``.
    """
    if teacher_flagged >= MIN_ALERTS:
        return
    from scipy.stats import beta

    swing = 2.0 / (teacher_flagged + 1)
    # The cut-off is set on the training rows, so the validation split's alerts at a flag rate r
    # are about a Binomial(rows, r) draw: 20 / rows gives 20 alerts only on average (0.034 of 600
    # rows falls short 43 % of the time). The rate named makes fewer than MIN_ALERTS a 5 % event:
    # P(X <= MIN_ALERTS - 1) = 0.05 solved by the beta quantile, then rounded up at two digits. (The
    # training quantile's own noise is left out, so "1 time in 20" is a little optimistic.)
    rate = float(beta.ppf(0.95, MIN_ALERTS, rows - MIN_ALERTS + 1)) if rows >= MIN_ALERTS else 1.0
    if rate <= 0.5:
        exponent = math.floor(math.log10(rate)) - 1
        needed = math.ceil(rate / 10.0**exponent - 1e-9) * 10.0**exponent
        flag_more = (f"flag at least {MIN_ALERTS} of these rows (compress or search with --flag-rate {needed:.2g} or "
                     f"more: a share of the training rows, which the validation split follows, and at that rate "
                     f"fewer than {MIN_ALERTS} of these {rows} rows are flagged about 1 time in 20), ")
    else:  # under 51 rows no rate up to 0.5 gives 20 alerts in 19 splits of 20: none to name
        flag_more = ""
    raise TooFewAlertsError(
        f"{what} needs at least {MIN_ALERTS} of the teacher's alerts to judge, and the teacher flags "
        f"{teacher_flagged} of the {rows} rows at the cut-off {cutoff:.6g}: one alert swapped for another would move the "
        f"overlap by about {swing * 100:.0f} points, so the gate would keep or roll back steps by chance.",
        f"Judge it on a larger table, {flag_more}or remove the gate (agreement and the other gates still apply).")


def report_band(rows: int) -> tuple[float, ...]:
    """The flag rates a fidelity report shows on ``rows`` rows: each of :data:`LOW_FLAG_RATES`
    where it flags at least :data:`LOW_RATE_MIN_ALERTS` rows (0.1 % from 20,000 rows, 0.5 % from
    4,000), then :data:`FLAG_RATE_BAND`."""
    return (*(rate for rate in LOW_FLAG_RATES if rate * rows >= LOW_RATE_MIN_ALERTS), *FLAG_RATE_BAND)


def agreement_band(p_teacher: np.ndarray, p_student: np.ndarray,
                   rates: Sequence[float] = FLAG_RATE_BAND, y: np.ndarray | None = None) -> list[dict[str, Any]]:
    """Agreement of decisions at each flag rate of ``rates``: the cut-off is the teacher's
    quantile on these rows (the teacher flags that share), and both models decide at it.

    Each point also gives the share the student flags at that cut-off (``student_flagged``): a
    student whose scores sit on another scale may flag almost nothing, and then its agreement is
    about ``1 - flag_rate`` without it deciding like the teacher; ``alert_overlap`` is the share of
    the rows either model flags there that both flag (:func:`flag_overlap`), counted in
    ``flagged_by_both`` of ``flagged_by_either`` (a 1 % rate of 200 rows compares 2 or 3 alerts: a
    table shows those counts rather than a share). ``teacher_flagged`` is the share
    the teacher really flags there: more than ``flag_rate`` when tied scores straddle the quantile
    (a boosted or int8 teacher), since no cut-off splits a tie; ``teacher_ties_at_cutoff`` counts
    the teacher's scores equal to the cut-off, and ``tied`` says the gap is theirs (more than a
    quantile's rounding of a row and a half).

    With the labels ``y`` (1 = positive), each point also counts the positive rows each model flags
    there (``teacher_positives_flagged``, ``student_positives_flagged``) of ``positives``: at a
    fraud team's alert budget two models can flag different payments, every one a fraud, with an
    overlap of 19 % (a fraud engineer's walk-through, 2026-12-06); the counts say what each catches.
    """
    a = finite_scores(p_teacher, "teacher's scores")
    b = finite_scores(p_student, "student's scores")
    if a.shape != b.shape or a.size == 0:
        raise DataError(f"Agreement needs two equally long, non-empty score arrays; got {a.size} and {b.size}.")
    positive = None if y is None else np.asarray(y).ravel() == 1
    if positive is not None and positive.shape != a.shape:
        raise DataError(f"The labels hold {positive.size} values for {a.size} scores; pass one label per row.")
    out = []
    for rate in rates:
        cut = float(np.quantile(a, 1.0 - rate))
        flagged, ties = float(np.mean(a >= cut)), int(np.sum(a == cut))
        ta, sb = a >= cut, b >= cut
        out.append({"flag_rate": float(rate), "cutoff": cut, "agreement": float(np.mean(ta == sb)),
                    "alert_overlap": flag_overlap(ta, sb), "flagged_by_both": int(np.count_nonzero(ta & sb)),
                    "flagged_by_either": int(np.count_nonzero(ta | sb)),
                    "teacher_flagged": flagged, "student_flagged": float(np.mean(b >= cut)),
                    "teacher_ties_at_cutoff": ties,
                    # Off by more than a quantile's rounding (a row and a half) because scores tie at the cut.
                    "tied": ties > 1 and abs(flagged - rate) > 1.5 / a.size})
        if positive is not None:
            out[-1].update(positives=int(positive.sum()), teacher_positives_flagged=int(np.sum(ta & positive)),
                           student_positives_flagged=int(np.sum(sb & positive)))
    return out


def decides(flagged: float) -> bool:
    """Whether a model flagging the share ``flagged`` of the rows at a cut-off makes decisions
    there: some rows flagged, not all. The one rule behind :func:`check_decisive` (a decision gate
    refused), :func:`finlite.recipe.gates.decision_check` (a candidate rolled back) and the silent
    student's warning of ``finlite compress``."""
    return 0.0 < flagged < 1.0


def check_decisive(flagged: float, rows: int, cutoff: float, what: str) -> None:
    """Refuse to judge decisions at an operating point where the teacher flags no row or every row.

    There every decision of any student "agrees" (or none does): a gate there checks nothing.

    Raises:
        ConfigError: the teacher flags ``flagged`` = 0 or 1 of the ``rows`` (naming the cut-off,
            the flag rate and ``what`` was to be judged), with ``param="flag_rate"``.
    """
    if decides(flagged):
        return
    share = "no row" if flagged <= 0.0 else "every row"
    raise ConfigError(
        f"{what} is judged at the cut-off {cutoff:.6g} on P(positive), where the teacher flags {share} of the "
        f"{rows} rows (flag rate {percent(flagged)}): every decision is the same, so the check would decide nothing. "
        "Set an operating point where decisions are made: pass flag_rate=0.1 to flag the riskiest 10 % (or "
        "another share), or a cut-off inside the teacher's range of scores.", param="flag_rate")
