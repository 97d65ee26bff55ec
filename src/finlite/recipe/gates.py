"""Quality gates and the measurements they read.

A gate names a metric and a limit (``max_drop`` against the teacher for a metric where higher is
better, ``max_increase`` against the teacher for an error such as rmse or brier, ``min``, ``max``);
which metrics a gate may name, and which limits each takes, come from the task registry
(:mod:`finlite.tasks`). :func:`evaluate_candidate` measures a candidate on one split, for the
data's task. A gate on a decision (agreement, alert_overlap, f1, accuracy) is refused, not passed, where the
teacher flags no row or every row at the cut-off. Latency gates judge the deployed
model: the candidate's ONNX export scored by the runtime Predictor's session
(:func:`~finlite.export.timing.deployed_latency`), never torch eager. An int8 step with ``require_faster`` is also timed
side by side with the float model it replaces (:func:`speed_check`; gates ``speedup_batch1`` /
``speedup_batch``).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from finlite._timing import cpu_info
from finlite.errors import ConfigError
from finlite.evaluate.operating import check_decisive, decides
from finlite.export.timing import deployed_latency
from finlite.models.base import FinliteModel
from finlite.models.serialize import weights_nbytes
from finlite.tasks import DEFAULT_TASK, SeriesRows, get_task, tasks


def _union(*groups: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(name for group in groups for name in group))


# Metrics a gate can name, over every registered task (a recipe is read before its data, so the
# task's own list is checked when the recipe runs). "drop" metrics are compared with the teacher
# (teacher − candidate), "increase" metrics too (candidate − teacher); the others are absolute
# values of the candidate (fidelity is measured against the teacher).
DROP_METRICS = _union(*(t.higher_better for t in tasks()))


INCREASE_METRICS = _union(*(t.lower_better for t in tasks()))


DECISION_METRICS = _union(*(t.decision_metrics for t in tasks()))


GATE_METRICS = _union(*(t.gate_metrics for t in tasks()))


GATE_KEYS = ("max_drop", "max_increase", "min", "max")

#: The values a metric can take, for checking a gate's min and max: a limit outside them decides
#: every candidate alike (``agreement: {min: 99}``, a percentage for a fraction, fails them all;
#: ``min: -1`` passes them all). Metrics not listed are at least 0 (errors, sizes, latencies, PSI);
#: r2 is at most 1.
METRIC_RANGES: dict[str, tuple[float, float]] = {
    **dict.fromkeys(("auc", "ks", "pr_auc", "f1", "precision", "recall", "accuracy", "brier", "agreement",
                     "alert_overlap", "agreement_band_min",
                     "directional_accuracy", "dm_pvalue", "da_pvalue", "ic_pvalue"), (0.0, 1.0)),
    **dict.fromkeys(("gini", "spearman", "correlation", "information_coefficient"), (-1.0, 1.0)),
    "r2": (-math.inf, 1.0),
}


# -- gates --------------------------------------------------------------------------------------

#: Gate metrics that rank rows of two classes: undefined (null) on rows of one class only.
_RANKING_METRICS = frozenset({"auc", "gini", "ks", "pr_auc", "recall_at_0.1pct_fpr"})


@dataclass(frozen=True)
class GateResult:
    """One gate checked against one candidate: its value, the limit, and the margin."""

    metric: str
    kind: str
    limit: float
    value: float
    passed: bool

    @property
    def message(self) -> str:
        """E.g. "auc drop 0.0123 > max_drop 0.005 (by 0.0073)", "rmse increase 0.02 within max_increase 0.05"."""
        what = {"max_drop": f"{self.metric} drop", "max_increase": f"{self.metric} increase"}.get(self.kind, self.metric)
        if self.kind == "decides":  # decision_check's: the limit is the teacher's flag rate
            if self.passed:
                return f"{what} {self.value:.6g} beside the teacher's {self.limit:.6g}: decides"
            return (f"{what} {self.value:.6g} where the teacher flags {self.limit:.6g}: the candidate flags "
                    f"{'no row' if self.value <= 0 else 'every row'} at the cut-off")
        if self.passed:
            return f"{what} {self.value:.6g} within {self.kind} {self.limit:g}"
        sign = ">" if self.kind in ("max_drop", "max_increase", "max") else "<"
        return f"{what} {self.value:.6g} {sign} {self.kind} {self.limit:g} (by {abs(self.value - self.limit):.4g})"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form with the message."""
        return {"metric": self.metric, "kind": self.kind, "limit": self.limit, "value": self.value,
                "passed": self.passed, "message": self.message}


def decision_check(candidate: Mapping[str, Any], teacher: Mapping[str, Any], gates: Sequence[Gate]) -> list[GateResult]:
    """What a gate on decisions (agreement, alert overlap, F1, accuracy) also checks: where the teacher flags
    some rows at the cut-off but not all, the candidate must too.

    At fraud prevalence a candidate that flags nothing agrees with a teacher flagging 0.75 % of
    payments on 99.25 % of them, and keeps its AUC when only its scale moved: the agreement and
    AUC gates passed a student that raised no alert (a review, 2026-12-03). A recipe without such
    a gate promises no decisions and gets no check (a plain compress, a ready plan). Returns no
    result either for a task without decisions or a teacher that flags none or all (its decision
    gates are refused then).
    """
    if not any(gate.metric in DECISION_METRICS for gate in gates):
        return []
    if "flagged_rate" not in teacher or candidate.get("flagged_rate") is None:
        return []
    rate = float(teacher["flagged_rate"])
    if not decides(rate):
        return []
    value = float(candidate["flagged_rate"])
    return [GateResult("flagged_rate", "decides", rate, value, decides(value))]


@dataclass(frozen=True)
class Gate:
    """A quality gate: ``metric`` with one or more of ``max_drop`` (teacher − candidate, for a metric
    where higher is better), ``max_increase`` (candidate − teacher, for an error), ``min``, ``max``."""

    metric: str
    max_drop: float | None = None
    min: float | None = None
    max: float | None = None
    max_increase: float | None = None

    def __post_init__(self) -> None:
        # A gate without a limit checks nothing, yet it would count as a gate on its metric (and
        # silence the warnings that a missing gate raises): refuse it, as a recipe's YAML does.
        if all(getattr(self, key) is None for key in GATE_KEYS):
            raise ConfigError(f"The gate {self.metric!r} needs a limit such as max_drop=0.005, min=0.99 or max=0.1 "
                              "(Gate(metric, max_drop=..., max_increase=..., min=..., max=...)).", param="gates")
        low, high = METRIC_RANGES.get(self.metric, (0.0, math.inf))
        for key in GATE_KEYS:
            given = getattr(self, key)
            if given is None:
                continue
            if isinstance(given, (bool, np.bool_)) or not isinstance(given, numbers.Real) or not math.isfinite(given):
                raise ConfigError(f"The gate {self.metric!r} has {key} {given!r}; a limit is a finite number.",
                                  param="gates")
            limit = float(given)
            if key in ("max_drop", "max_increase"):
                if limit < 0 or limit > high - low:
                    raise ConfigError(
                        f"The gate {self.metric!r} has {key} {limit:g}; it is how much worse than the teacher the "
                        f"student may be, from 0 (no worse at all){'' if math.isinf(high - low) else f' to {high - low:g}'}"
                        + (". A negative allowance would ask the student to beat its teacher." if limit < 0 else
                           f": {limit:g} is more than {self.metric} can move, so the gate would pass any student."),
                        param="gates")
            elif not low <= limit <= high:
                hint = (f" Write a fraction: {limit / 100:g} for {limit:g} %." if (low, high) == (0.0, 1.0) and 1 < limit <= 100
                        else "")
                span = f"from {low:g} to {high:g}" if not math.isinf(low) else f"at most {high:g}"
                span = span if not math.isinf(high) else f"{low:g} or more"
                raise ConfigError(f"The gate {self.metric!r} has {key} {limit:g}, outside the values {self.metric} "
                                  f"takes ({span}): every candidate would be decided alike.{hint}", param="gates")
        if self.min is not None and self.max is not None and float(self.min) > float(self.max):
            # No value passes: every step would be trained, then rolled back (a review, 2026-12-03).
            raise ConfigError(f"The gate {self.metric!r} has min {float(self.min)!r} above max {float(self.max)!r}, so "
                              "no value passes it; swap or correct the two limits.", param="gates")

    def check(self, candidate: Mapping[str, Any], teacher: Mapping[str, Any]) -> list[GateResult]:
        """Compare the candidate's measured metrics (and the teacher's, for drops and increases)
        with the limits.

        Raises:
            ConfigError: the gate reads decisions (agreement, alert_overlap, f1, precision, recall,
                accuracy) and the teacher's
                metrics show it flags no row or every row at the cut-off (``teacher["flagged_rate"]``):
                such a gate would decide nothing.
            ConfigError: the candidate's metrics have no value for this gate's metric on these
                rows: a gate of another task, MAPE when every outcome is near zero (None), or the
                directional accuracy of a volatility, which never falls (absent), its sign agreement
                (None: every forecast is above zero), or recall where no
                row is positive.
        """
        if self.metric in DECISION_METRICS and "flagged_rate" in teacher:
            check_decisive(float(teacher["flagged_rate"]), int(teacher.get("rows", 0)),
                           float(teacher.get("cutoff", float("nan"))), f"The gate {self.metric!r}")
        results = []
        if self.metric in _RANKING_METRICS and self.metric in candidate and candidate[self.metric] is None:
            raise ConfigError(f"The gate {self.metric!r} cannot be judged: it ranks rows of two classes, and the "
                              f"{candidate.get('rows', '?')} rows judged hold one (a direction forecaster's test period "
                              "that only rose, or only fell). Gate on directional_accuracy or agreement instead, or "
                              "give a longer price history.", param="gates")
        if self.metric == "recall" and self.metric in candidate and candidate[self.metric] is None:
            raise ConfigError(f"The gate 'recall' cannot be judged: the {candidate.get('rows', '?')} rows judged "
                              "hold no positive row, so there is nothing to catch (a direction forecaster's test "
                              "period that only fell). Gate on precision, directional_accuracy or agreement "
                              "instead, or give a longer history.", param="gates")
        if candidate.get(self.metric) is None:
            raise ConfigError(f"The gate {self.metric!r} cannot be judged: the candidate's metrics have no value for "
                              f"it on these {candidate.get('rows', '?')} rows (MAPE skips outcomes within 1e-8 of "
                              "zero; a volatility or a price level never falls, so it has no directional accuracy, and a "
                              "volatility's forecasts always agree in sign, so it has no agreement; "
                              "the Diebold-Mariano test of dm_pvalue needs at least 2h + 2 dates at horizon h; "
                              "McNemar's test of da_pvalue needs independent dates: horizon 1, one asset, and "
                              "outcomes of both signs; the cross-sectional IC test of ic_pvalue needs a universe: "
                              "2h + 2 dates with 5 or more assets of one calendar). Remove the gate (ic_pvalue belongs "
                              "to a universe), or gate on rmse / mae instead.",
                              param="gates")
        value = float(candidate[self.metric])
        if self.max_drop is not None:
            drop = float(teacher[self.metric]) - value
            results.append(GateResult(self.metric, "max_drop", self.max_drop, drop, drop <= self.max_drop + 1e-12))
        if self.max_increase is not None:
            rise = value - float(teacher[self.metric])
            results.append(GateResult(self.metric, "max_increase", self.max_increase, rise,
                                      rise <= self.max_increase + 1e-12))
        if self.min is not None:
            results.append(GateResult(self.metric, "min", self.min, value, value >= self.min - 1e-12))
        if self.max is not None:
            results.append(GateResult(self.metric, "max", self.max, value, value <= self.max + 1e-12))
        return results

    def to_dict(self) -> dict[str, float]:
        """The YAML mapping for this gate."""
        return {k: getattr(self, k) for k in GATE_KEYS if getattr(self, k) is not None}


def speed_check(previous: FinliteModel, candidate: FinliteModel, x: np.ndarray, rule: str,
                rounds: int = 3) -> tuple[list[GateResult], dict[str, Any]]:
    """Time an int8 candidate against the float model it replaces, side by side (see
    :func:`deployed_latency`), and the gates its ``require_faster`` rule sets: speed-up (float
    time ÷ int8 time) ≥ 1 at batch 1, in a large batch, or both."""
    before, after = deployed_latency([previous, candidate], x, rounds=rounds)
    speedup_one = before["latency_p50_us"] / after["latency_p50_us"] if after["latency_p50_us"] > 0 else float("inf")
    speedup_batch = after["rows_per_second"] / before["rows_per_second"] if before["rows_per_second"] > 0 else 0.0
    gates = []
    if rule in ("batch1", "both"):
        gates.append(GateResult("speedup_batch1", "min", 1.0, speedup_one, speedup_one >= 1.0))
    if rule in ("batch", "both"):
        gates.append(GateResult("speedup_batch", "min", 1.0, speedup_batch, speedup_batch >= 1.0))
    info = {"rule": rule, "float": before, "int8": after, "speedup_batch1": speedup_one,
            "speedup_batch": speedup_batch, "cpu": cpu_info()}
    return gates, info


def evaluate_candidate(model: FinliteModel, x: np.ndarray, y: np.ndarray, p_teacher: np.ndarray,
                       cutoff: float | None, *, timing: bool, teacher_bytes: int,
                       task: str = DEFAULT_TASK, rows: SeriesRows | None = None) -> dict[str, Any]:
    """The metrics gates read, for one candidate on one split, for the data's ``task``.

    ``p_teacher`` holds the teacher's predictions on the same rows (P(positive), or forecasts);
    ``cutoff`` is the operating point (None for a task without decisions). A binary candidate
    gets the classification metrics at the cut-off, agreement with the teacher there and over
    the band of flag rates (``agreement_band``, its least ``agreement_band_min``), PSI, Spearman
    and the largest difference; a regression candidate gets RMSE, MAE, R² and its RMSE, MAE and
    correlation against the teacher's forecasts; a market forecast or direction candidate also
    gets its direction agreement with the teacher and ``dm_pvalue``, the Diebold–Mariano test of
    its errors against the teacher's on the labels ``y`` (see :mod:`finlite.tasks`), at the horizon
    and per date when ``rows`` gives the windows' dates and horizon (:func:`finlite.tasks.series_rows`), and
    ``da_pvalue``, McNemar's test of its directional accuracy against the teacher's (None when
    ``rows`` show a panel or a horizon above 1), and ``ic_pvalue``, the t-test of its per-date
    cross-sectional IC against the teacher's (None without a panel of 5 or more assets a date).
    With ``timing``,
    the latency metrics are those of the deployed model: its ONNX export scored by the runtime's
    session (:func:`deployed_latency`), not the torch model.
    """
    kind = get_task(task)
    p = kind.scores(model, x)
    out = kind.metrics(y, p, cutoff)
    out.update(kind.step_fidelity(np.asarray(p_teacher, dtype=np.float64).reshape(-1), p,
                                  np.asarray(y, dtype=np.float64).reshape(-1), cutoff, rows))
    size = weights_nbytes(model)
    out["size_bytes"] = size
    out["size_ratio"] = teacher_bytes / size if size else float("inf")
    if timing:
        out.update(deployed_latency([model], x)[0])
    return out
