"""Tasks: what a model predicts, and how it is measured, compared with its teacher and gated.

A task is a property of the prepared data (:attr:`finlite.data.prepared.PreparedData.task`) and
of an artifact (its manifest's ``"task"``; artifacts from before tasks were recorded are binary).
Each task is registered here once with

- its metrics (binary: :func:`~finlite.evaluate.metrics.classification_metrics` at the operating
  point; regression: RMSE, MAE, R² and directional accuracy where the target moves both ways;
  forecast and direction: :func:`~finlite.evaluate.forecast.forecast_metrics` and the
  classification metrics plus directional accuracy and the information coefficient),
- its fidelity measures against the teacher (binary: agreement at the operating point and over
  the band of flag rates, PSI, Spearman, largest difference; regression: RMSE and MAE between
  teacher and student forecasts, correlation; forecast and direction add the Diebold–Mariano
  p-value of the student's errors against the teacher's on the labelled rows, ``dm_pvalue``,
  McNemar's p-value of its directional accuracy against the teacher's, ``da_pvalue``, and on a
  panel the p-value of its per-date cross-sectional IC against the teacher's, ``ic_pvalue``),
- its gate metrics, and which take ``max_drop`` (higher is better, compared with the teacher)
  or ``max_increase`` (an error, compared with the teacher); every metric takes ``min``/``max``,
- how a model's outputs become its predictions (P(positive) or the forecast itself).

The runner, the gates, the evaluation, :class:`~finlite.artifact.Artifact` and the runtime
Predictor look the task up here instead of assuming binary classification, so a new task is one
:func:`register_task` call. This module needs only numpy (scipy when a forecast statistic is
computed); a torch model is run only when :meth:`Task.scores` is called.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from finlite._util import closest
from finlite.errors import ConfigError, DataError
from finlite.evaluate.fidelity import agreement, alert_overlap, fidelity_metrics, psi, regression_fidelity, spearman
from finlite.evaluate.forecast import (
    cross_sectional_ic,
    date_mean_errors,
    diebold_mariano,
    directional_accuracy_test,
    forecast_metrics,
    has_cross_section,
    independent_rows,
    information_coefficient,
)
from finlite.evaluate.metrics import classification_metrics, regression_metrics
from finlite.evaluate.operating import agreement_band

__all__ = ["COST_GATES", "DEFAULT_TASK", "SeriesRows", "Task", "get_task", "in_score_chunks", "register_task",
           "series_rows", "task_names", "task_of_model", "tasks", "universe_rows"]

#: The task of an artifact or of data that records none (every artifact made before tasks).
DEFAULT_TASK = "binary"

#: Gate metrics every task has: the candidate's size and (when timed) its deployed latency.
COST_GATES = ("size_bytes", "size_ratio", "latency_p50_us", "latency_p99_us")

#: Rows scored per model call by :meth:`Task.scores` (bounds the activations held at once).
SCORE_CHUNK = 65_536

#: :meth:`Task.scores` pads each call's rows to a multiple of this (with copies of its first row,
#: dropped after): a matrix kernel computes the rows left over past its last full block of rows
#: with another order of sums, so the same row scored one float32 step apart by its place in the
#: input, and tied rows were ranked as if they differed (50 copies of one applicant, 10 of them
#: bad, read AUC 0.60 and KS 0.20, reversed 0.475: a statistics audit, 2026-12-07). With every row
#: in a full block, each row scored alone, among copies at any place, or in a pass of 65,536 rows
#: got the same bits (tests/test_tasks.py; 2-core AMD EPYC with AVX-512; a review found the same
#: with MKL held to AVX2 and SSE4.2, 1 to 8 threads, int8 layers). Copies of a real row, not
#: zeros, leave a dynamically quantized layer's scale as it was. Table rows (2-D) only.
SCORE_BLOCK = 64


def in_score_chunks(rows: int, score: Callable[[int, int], np.ndarray]) -> np.ndarray:
    """``score(start, stop)`` over ``rows`` rows, :data:`SCORE_CHUNK` at a time (called once on no
    rows), the parts concatenated: how every scoring of many rows bounds its working memory
    (:meth:`Task.scores`, the export's parity check, a forecaster's windows)."""
    parts = [score(start, start + SCORE_CHUNK) for start in range(0, max(rows, 1), SCORE_CHUNK)]
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


#: metrics(y, scores, cutoff) -> the task's metrics; cutoff is None for a task without decisions.
MetricsFn = Callable[[np.ndarray, np.ndarray, float | None], dict[str, Any]]
#: fidelity(teacher_scores, student_scores, y, cutoff[, rows]) -> measures of the student against the
#: teacher (the report's section, and the values a recipe gate reads per candidate). ``rows``
#: (:class:`SeriesRows`) is passed only for the windows of a series, and only when known.
FidelityFn = Callable[..., dict[str, Any]]


@dataclass(frozen=True)
class SeriesRows:
    """What a forecast comparison needs besides the predictions: each row's forecast origin date
    (several rows share one on a panel of assets) and the forecast horizon h in rows."""

    dates: np.ndarray
    horizon: int
    #: Each row's realised log return over the horizon, for a direction model (whose labels are
    #: 0/1): what its probabilities are ranked against across a panel's assets (``ic_pvalue``).
    returns: np.ndarray | None = None
    #: On a panel, the rows whose asset trades on the calendar most of them do: the ones ranked
    #: across the assets, as the evidence ranks them (:func:`finlite.data.market.majority_calendar`).
    ranked: np.ndarray | None = None
    #: The forecast's objective ("return", "direction", "volatility", "price"): a volatility is never
    #: below zero, so the sign of its forecast compares nothing (a market-risk walk-through, 2026-12-07).
    objective: str | None = None


def series_rows(data: Any, part: str) -> SeriesRows | None:
    """:class:`SeriesRows` of ``part`` ("train", "val" or "test") of prepared series windows
    (:class:`~finlite.data.market.PreparedSeries`); None for a table or bare arrays."""
    windows = getattr(data, f"windows_{part}", None)
    spec = getattr(data, "spec", None)
    if windows is None or spec is None:
        return None
    returns = ranked = None
    ids = getattr(windows, "ids", None)
    if ids is not None and hasattr(data, "table"):  # a panel: only its ranking needs these
        from finlite.data.market import majority_calendar, periods_per_year, realised_log_returns

        ranked = majority_calendar(periods_per_year(data.table, spec), np.asarray(ids))[1]
        if getattr(spec, "objective", None) == "direction":
            returns = realised_log_returns(data, part)
    return SeriesRows(np.asarray(windows.dates), int(spec.horizon), returns, ranked,
                      getattr(spec, "objective", None))


@dataclass(frozen=True)
class Task:
    """One task: its metrics, its fidelity measures, its gates and how its predictions are made.

    Attributes:
        name: the registry name ("binary", "regression"), recorded in manifests.
        description: one line for messages.
        decides: True when predictions are turned into decisions at an operating point (a
            cut-off on a score); the task then has a cut-off and decision metrics.
        link: "sigmoid" (a model outputs log-odds; the prediction is P(positive)) or "identity"
            (the output is the prediction).
        higher_better: metrics that take ``max_drop`` (teacher − candidate).
        lower_better: errors that take ``max_increase`` (candidate − teacher).
        fidelity_gates: the fidelity measures a gate can name (``min``/``max``).
        decision_metrics: metrics read from decisions at the cut-off; a gate on one is refused
            where the teacher flags no row or every row.
        step_keys: further keys a step record keeps besides the gate metrics.
        metrics_fn: the task's metrics of predictions against the labels.
        fidelity_fn: the report's fidelity section (student against teacher).
        step_fidelity_fn: the fidelity values a recipe gate reads, per candidate (given the
            labels too, for measures such as the Diebold–Mariano test that need outcomes).
    """

    name: str
    description: str
    decides: bool
    link: str
    higher_better: tuple[str, ...]
    lower_better: tuple[str, ...]
    fidelity_gates: tuple[str, ...]
    decision_metrics: tuple[str, ...]
    step_keys: tuple[str, ...]
    metrics_fn: MetricsFn
    fidelity_fn: FidelityFn
    step_fidelity_fn: FidelityFn

    @property
    def gate_metrics(self) -> tuple[str, ...]:
        """Every metric a gate may name for this task, without repeats."""
        return tuple(dict.fromkeys((*self.higher_better, *self.lower_better, *self.fidelity_gates, *COST_GATES)))

    def supports(self, metric: str, limit: str) -> bool:
        """Whether a gate on ``metric`` may use ``limit`` ("max_drop", "max_increase", "min", "max")."""
        if metric not in self.gate_metrics:
            return False
        if limit == "max_drop":
            return metric in self.higher_better
        if limit == "max_increase":
            return metric in self.lower_better
        return limit in ("min", "max")

    def metrics(self, y: np.ndarray, scores: np.ndarray, cutoff: float | None) -> dict[str, Any]:
        """The task's metrics of ``scores`` against the labels ``y`` (at ``cutoff`` when it decides)."""
        return self.metrics_fn(y, scores, cutoff)

    def fidelity(self, teacher: np.ndarray, student: np.ndarray, y: np.ndarray,
                 cutoff: float | None, rows: SeriesRows | None = None) -> dict[str, Any]:
        """The report's fidelity section: the student's predictions against the teacher's
        (``rows``: the dates and horizon of a series' windows, for its Diebold–Mariano test)."""
        if rows is None:
            return self.fidelity_fn(teacher, student, y, cutoff)
        return self.fidelity_fn(teacher, student, y, cutoff, rows)

    def step_fidelity(self, teacher: np.ndarray, student: np.ndarray, y: np.ndarray,
                      cutoff: float | None, rows: SeriesRows | None = None) -> dict[str, Any]:
        """The fidelity values a recipe's gates read for one candidate on rows labelled ``y``
        (``rows`` as in :meth:`fidelity`)."""
        if rows is None:
            return self.step_fidelity_fn(teacher, student, y, cutoff)
        return self.step_fidelity_fn(teacher, student, y, cutoff, rows)

    def scores(self, model: Any, x: np.ndarray) -> np.ndarray:
        """The model's predictions on the encoded rows ``x`` (float64, one per row), in eval mode:
        P(positive) for a task with a sigmoid link, the output itself otherwise. Large inputs are
        scored :data:`SCORE_CHUNK` rows at a time, each call padded to whole blocks
        (:data:`SCORE_BLOCK`), so a row's score does not depend on its place among the others."""
        import torch  # here, not at the top: the runtime imports this module without torch

        def chunk(start: int, stop: int) -> np.ndarray:
            part = x[start:stop]
            # Table rows only: a forecaster's windows are never copies of each other, and 64 windows
            # through a recurrent network cost a single forecast 1.1 ms instead of 0.18 (a review).
            rows, pad = len(part), (-len(part) % SCORE_BLOCK if np.ndim(part) == 2 else 0)
            if rows and pad:  # every row in a full block of the kernels: its score is its own (SCORE_BLOCK)
                part = np.concatenate([part, np.repeat(part[:1], pad, axis=0)])
            inputs = torch.from_numpy(np.ascontiguousarray(part))
            if self.link == "sigmoid":
                return np.asarray(model.predict_proba(inputs)[:rows].numpy(), dtype=np.float64).reshape(-1)
            was_training = model.training
            model.eval()
            try:
                with torch.inference_mode():
                    out = model(inputs)
            finally:
                model.train(was_training)
            return np.asarray(out[:rows].numpy(), dtype=np.float64).reshape(-1)

        return in_score_chunks(len(x), chunk)

    def training_scores(self, model: Any, x_train: np.ndarray) -> np.ndarray:
        """The model's predictions on its own training rows, as unseen rows would get them: its
        out-of-fold scores when it has them (a boosted ensemble scores its training rows more
        extremely than new ones, so a cut-off set from those would flag another share of new
        rows than intended), :meth:`scores` otherwise."""
        oof = getattr(model, "oof_logits", None)
        if oof is None or len(oof) != len(x_train):
            return self.scores(model, x_train)
        raw = np.asarray(oof, dtype=np.float64).reshape(-1)
        return 1.0 / (1.0 + np.exp(-raw)) if self.link == "sigmoid" else raw

    def check_gates(self, metrics: Iterable[str], where: str = "the recipe") -> None:
        """Refuse gates that do not apply to this task.

        Raises:
            ConfigError: naming the gate, this task and the gates it has.
        """
        for metric in metrics:
            if metric not in self.gate_metrics:
                # A shipped preset of another task (--preset markets on a credit teacher) says so.
                others = [t.name for t in _TASKS.values() if t.name != self.name and metric in t.gate_metrics]
                made_for = (f" {metric!r} judges {' and '.join(others)} models: this recipe is made for another kind of "
                            "model than this teacher." if others else closest(metric, self.gate_metrics))
                raise ConfigError(
                    f"The gate {metric!r} in {where} does not apply to a {self.name} model ({self.description})."
                    f"{made_for} Gates for {self.name}: {', '.join(self.gate_metrics)}.", param="gates")


_TASKS: dict[str, Task] = {}


def register_task(task: Task) -> Task:
    """Make ``task`` known by its name (a later registration of the same name replaces it)."""
    _TASKS[task.name] = task
    return task


def get_task(name: str | None) -> Task:
    """The registered task called ``name`` (None: :data:`DEFAULT_TASK`).

    Raises:
        ConfigError: no task has that name (naming the known ones).
    """
    key = DEFAULT_TASK if name is None else str(name)
    if key not in _TASKS:
        raise ConfigError(f"Unknown task {key!r}.{closest(key, _TASKS)} Known tasks: {', '.join(_TASKS)}.",
                          param="task")
    return _TASKS[key]


def task_names() -> tuple[str, ...]:
    """The registered tasks' names."""
    return tuple(_TASKS)


def tasks() -> tuple[Task, ...]:
    """The registered tasks."""
    return tuple(_TASKS.values())


def task_of_model(model: Any) -> str:
    """The task a model performs: a model's own ``task`` attribute ("regression" for a forecaster;
    "classification" is binary), binary otherwise."""
    own = getattr(model, "task", None)
    return "regression" if own == "regression" else DEFAULT_TASK


def task_of_manifest(manifest: Mapping[str, Any]) -> Task:
    """The task an artifact's manifest records (binary when it records none)."""
    return get_task(manifest.get("task") or DEFAULT_TASK)


# -- binary classification ---------------------------------------------------------------------
def _cut(cutoff: float | None) -> float:
    if cutoff is None:
        raise ConfigError("A binary classifier decides at a cut-off; none was given.", param="cutoff")
    return float(cutoff)


def _binary_metrics(y: np.ndarray, p: np.ndarray, cutoff: float | None) -> dict[str, Any]:
    return classification_metrics(y, p, _cut(cutoff))


def _binary_fidelity(t: np.ndarray, s: np.ndarray, y: np.ndarray, cutoff: float | None) -> dict[str, Any]:
    return fidelity_metrics(t, s, y, _cut(cutoff))


def _binary_step_fidelity(t: np.ndarray, s: np.ndarray, y: np.ndarray, cutoff: float | None) -> dict[str, Any]:
    band = agreement_band(t, s)
    return {"agreement": agreement(t, s, _cut(cutoff)), "alert_overlap": alert_overlap(t, s, _cut(cutoff)),
            "psi": psi(t, s), "spearman": spearman(t, s),
            "max_abs_diff": float(np.max(np.abs(t - s))) if len(s) else 0.0,
            "agreement_band_min": min(b["agreement"] for b in band),
            "agreement_band": {f"{b['flag_rate']:.0%}": b["agreement"] for b in band}}


BINARY = register_task(Task(
    name="binary", description="binary classification: P(positive) and decisions at a cut-off",
    decides=True, link="sigmoid",
    higher_better=("auc", "gini", "ks", "pr_auc", "f1", "precision", "recall", "accuracy"),
    lower_better=("brier", "log_loss"),
    fidelity_gates=("agreement", "alert_overlap", "agreement_band_min", "psi", "spearman", "max_abs_diff"),
    decision_metrics=("agreement", "alert_overlap", "f1", "precision", "recall", "accuracy"),
    step_keys=("agreement_band", "flagged_rate", "cutoff", "rows_per_second", "batch", "timed"),
    metrics_fn=_binary_metrics, fidelity_fn=_binary_fidelity, step_fidelity_fn=_binary_step_fidelity,
))


# -- regression --------------------------------------------------------------------------------
def _regression_metrics(y: np.ndarray, pred: np.ndarray, cutoff: float | None) -> dict[str, Any]:
    return regression_metrics(y, pred)


def _regression_fidelity(t: np.ndarray, s: np.ndarray, y: np.ndarray, cutoff: float | None) -> dict[str, Any]:
    return regression_fidelity(t, s)


def _regression_step_fidelity(t: np.ndarray, s: np.ndarray, y: np.ndarray, cutoff: float | None) -> dict[str, Any]:
    return regression_fidelity(t, s)


REGRESSION = register_task(Task(
    name="regression", description="regression: a number per row, e.g. a forecast",
    decides=False, link="identity",
    higher_better=("r2", "directional_accuracy"),
    lower_better=("rmse", "mae"),
    fidelity_gates=("rmse_vs_teacher", "mae_vs_teacher", "correlation", "spearman", "max_abs_diff"),
    decision_metrics=(),
    step_keys=("rows_per_second", "batch", "timed"),
    metrics_fn=_regression_metrics, fidelity_fn=_regression_fidelity, step_fidelity_fn=_regression_step_fidelity,
))


# -- market forecasting ------------------------------------------------------------------------
def _student_vs_teacher(t: np.ndarray, s: np.ndarray, y: np.ndarray,
                        rows: SeriesRows | None) -> dict[str, Any] | None:
    """Diebold–Mariano test of the student's squared errors against the teacher's on the labelled
    rows (for probabilities the squared error is the Brier loss of each row). The gate metric
    ``dm_pvalue`` is its one-sided p-value against "the student is worse" (``p_value_model1_worse``):
    ``dm_pvalue: {min: 0.05}`` keeps a student the test does not find worse at 5 %, and a student
    better than its teacher passes too (a two-sided p-value would refuse it).

    With ``rows`` (the windows' dates and horizon, which the recipe runner, compress and the
    evaluation pass) the test is the evaluation's own: at the forecast horizon h (an h-step
    forecast's errors overlap, so the variance takes h − 1 autocovariances) and, on a panel of
    assets, on the per-date mean loss differential
    (:func:`~finlite.evaluate.forecast.date_mean_errors`). Without them (bare arrays) it runs at
    h = 1 on the rows as given, which for an h-step forecast or a panel understates the variance:
    the p-value comes out smaller, so a ``dm_pvalue: {min: …}`` gate refuses more often, never less.
    With fewer than 2h + 2 dates the test is not run, as in the evaluation: None, so ``dm_pvalue``
    has no value and a gate on it is refused rather than passed."""
    y_arr = np.asarray(y, dtype=np.float64).reshape(-1)
    if rows is None:
        return diebold_mariano(s - y_arr, t - y_arr, horizon=1)
    e_student, e_teacher = date_mean_errors(rows.dates, s - y_arr, t - y_arr)
    if len(e_student) < 2 * rows.horizon + 2:
        return None
    return diebold_mariano(e_student, e_teacher, horizon=rows.horizon)


def _p_worse(test: dict[str, Any] | None) -> float | None:
    return None if test is None else float(test["p_value_model1_worse"])


def _da_pvalue(t: np.ndarray, s: np.ndarray, y: np.ndarray, cutoff: float | None,
               rows: SeriesRows | None) -> float | None:
    """The gate metric ``da_pvalue``: McNemar's one-sided exact p-value of "the student calls the
    realised direction less often than the teacher" (:func:`~finlite.evaluate.forecast.directional_accuracy_test`).
    ``da_pvalue: {min: 0.05}`` keeps a student the test does not find worse at 5 %: unlike a
    ``directional_accuracy: {max_drop: …}`` gate, it does not refuse a student for a gap that a
    few dozen differing calls make by chance.

    None (a gate on it is refused) where the test does not apply: its rows must be independent, so
    with ``rows`` only at horizon 1 and one row per date (one asset); and a forecast needs outcomes
    of both signs (a volatility never falls: every call would be "right"). Without ``rows`` (bare
    arrays) it tests the rows as given, as ``dm_pvalue`` does: for overlapping h-step outcomes or
    a panel the p-value then comes out too small, so a ``min`` gate refuses more often, never less."""
    if rows is not None and not independent_rows(rows.horizon, rows.dates):
        return None
    y_arr = np.asarray(y, dtype=np.float64).reshape(-1)
    if cutoff is None and not ((y_arr > 0).any() and (y_arr < 0).any()):
        return None
    return float(directional_accuracy_test(y_arr, s, t, cutoff)["p_value_model1_worse"])


def universe_rows(rows: SeriesRows) -> bool:
    """Whether ``rows`` are a universe the ``ic_pvalue`` test can judge: at least 2h + 2 dates
    with 5 or more assets of the calendar most of them trade on
    (:data:`~finlite.evaluate.forecast.CROSS_SECTION_MIN_ASSETS`)."""
    if rows.ranked is None:
        return False
    from finlite.evaluate.forecast import CROSS_SECTION_MIN_ASSETS

    dates = np.asarray(rows.dates)[rows.ranked]
    if rows.returns is not None:
        dates = dates[np.isfinite(np.asarray(rows.returns)[rows.ranked])]
    counts = np.unique(dates, return_counts=True)[1] if dates.size else np.zeros(0, dtype=np.int64)
    return int((counts >= CROSS_SECTION_MIN_ASSETS).sum()) >= 2 * rows.horizon + 2


def _ic_pvalue(t: np.ndarray, s: np.ndarray, y: np.ndarray, rows: SeriesRows | None) -> float | None:
    """The gate metric ``ic_pvalue``: the one-sided p-value of "the student ranks a panel's assets
    worse than the teacher", the t-test of the per-date difference of their cross-sectional ICs
    (:func:`~finlite.evaluate.forecast.cross_sectional_ic` with the teacher as baseline, as the
    evidence and the report compute it). ``ic_pvalue: {min: 0.05}`` keeps a student the test does
    not find worse at 5 %.

    None (a gate on it is refused) without ``rows``, or on a series with no cross-section (fewer
    than 5 assets on every date) or too few dates for the test at the horizon. A direction model's
    probabilities are ranked against ``rows.returns`` (the realised returns), and only the assets of
    the calendar most of them trade on (``rows.ranked``) are ranked, as in the evidence."""
    if rows is None:
        return None
    outcome = rows.returns if rows.returns is not None else np.asarray(y, dtype=np.float64).reshape(-1)
    known = np.isfinite(outcome) & (True if rows.ranked is None else rows.ranked)
    if not has_cross_section(np.asarray(rows.dates)[known]):
        return None
    test = cross_sectional_ic(np.asarray(rows.dates)[known], outcome[known], np.asarray(s)[known], rows.horizon,
                              baseline=np.asarray(t)[known])
    return None if test["p_value_positive"] is None else float(1.0 - test["p_value_positive"])


def _sign_agreement(t: np.ndarray, s: np.ndarray) -> float:
    """Share of rows where student and teacher forecast the same direction (sign; 0 is its own)."""
    if len(t) != len(s) or len(t) == 0:
        raise DataError(f"Agreement needs two equally long, non-empty forecast arrays; got {len(t)} and {len(s)}.")
    return float(np.mean(np.sign(t) == np.sign(s)))


def _forecast_metrics(y: np.ndarray, pred: np.ndarray, cutoff: float | None) -> dict[str, Any]:
    return forecast_metrics(y, pred)


def _agreement_of(t: np.ndarray, s: np.ndarray, rows: SeriesRows | None) -> float | None:
    """Sign agreement of two forecasts, or None for a volatility: never below zero, its sign agrees
    on every row, so an ``agreement`` gate passed whatever the student was and ``/metadata`` showed
    1.0 (a review, 2026-12-07). None makes the gate refuse to judge, naming why."""
    if rows is not None and rows.objective == "volatility":
        return None
    return _sign_agreement(t, s)


def _forecast_fidelity(t: np.ndarray, s: np.ndarray, y: np.ndarray, cutoff: float | None,
                       rows: SeriesRows | None = None) -> dict[str, Any]:
    test = _student_vs_teacher(t, s, y, rows)
    return {**regression_fidelity(t, s), "agreement": _agreement_of(t, s, rows), "dm_pvalue": _p_worse(test),
            "diebold_mariano": test, "da_pvalue": _da_pvalue(t, s, y, None, rows), "ic_pvalue": _ic_pvalue(t, s, y, rows)}


def _forecast_step_fidelity(t: np.ndarray, s: np.ndarray, y: np.ndarray, cutoff: float | None,
                            rows: SeriesRows | None = None) -> dict[str, Any]:
    test = _student_vs_teacher(t, s, y, rows)
    return {**regression_fidelity(t, s), "agreement": _agreement_of(t, s, rows), "dm_pvalue": _p_worse(test),
            "dm_statistic": None if test is None else test["statistic"], "da_pvalue": _da_pvalue(t, s, y, None, rows),
            "ic_pvalue": _ic_pvalue(t, s, y, rows)}


FORECAST = register_task(Task(
    name="forecast",
    description="market forecast: a log return, realised volatility or log price change per date",
    decides=False, link="identity",
    # The information coefficient first: the report's headline drop, defined for every objective
    # (a volatility never falls, so it has no directional accuracy).
    higher_better=("information_coefficient", "directional_accuracy", "r2"),
    lower_better=("rmse", "mae", "mape"),
    fidelity_gates=("agreement", "dm_pvalue", "da_pvalue", "ic_pvalue", "correlation", "spearman", "max_abs_diff",
                    "rmse_vs_teacher", "mae_vs_teacher"),
    decision_metrics=(),
    step_keys=("dm_statistic", "mape_skipped", "rows_per_second", "batch", "timed"),
    metrics_fn=_forecast_metrics, fidelity_fn=_forecast_fidelity, step_fidelity_fn=_forecast_step_fidelity,
))


def _direction_metrics(y: np.ndarray, p: np.ndarray, cutoff: float | None) -> dict[str, Any]:
    # A test period that only rose (a bull market at a 20-day horizon) has no down move to rank
    # against: AUC and KS are null and the calls are judged, as training reports them (evaluate and
    # compress stopped on "AUC needs both classes": a review, 2026-12-04 evening).
    out = classification_metrics(y, p, _cut(cutoff), one_class=True)
    out["directional_accuracy"] = out["accuracy"]  # an up call (P(up) ≥ cut-off) against the realised move
    out["information_coefficient"] = information_coefficient(y, p)
    return out


def _direction_fidelity(t: np.ndarray, s: np.ndarray, y: np.ndarray, cutoff: float | None,
                        rows: SeriesRows | None = None) -> dict[str, Any]:
    test = _student_vs_teacher(t, s, y, rows)
    out = {**fidelity_metrics(t, s, y, _cut(cutoff)), "dm_pvalue": _p_worse(test), "diebold_mariano": test,
           "da_pvalue": _da_pvalue(t, s, y, _cut(cutoff), rows), "ic_pvalue": _ic_pvalue(t, s, y, rows)}
    if rows is not None and not independent_rows(rows.horizon, rows.dates):
        # The exact intervals take the rows as independent draws: overlapping h-step windows or a
        # panel's assets on one date are not, and the intervals would claim too much (as da_pvalue).
        out["agreement_ci"] = out["alert_overlap_ci"] = None
    return out


def _direction_step_fidelity(t: np.ndarray, s: np.ndarray, y: np.ndarray, cutoff: float | None,
                             rows: SeriesRows | None = None) -> dict[str, Any]:
    test = _student_vs_teacher(t, s, y, rows)
    return {**_binary_step_fidelity(t, s, y, cutoff), "dm_pvalue": _p_worse(test),
            "dm_statistic": None if test is None else test["statistic"],
            "da_pvalue": _da_pvalue(t, s, y, _cut(cutoff), rows), "ic_pvalue": _ic_pvalue(t, s, y, rows)}


DIRECTION = register_task(Task(
    name="direction",
    description="market direction: P(up over the horizon) and an up/down call at a cut-off",
    decides=True, link="sigmoid",
    higher_better=("directional_accuracy", "auc", "gini", "ks", "pr_auc", "f1", "precision", "recall", "accuracy",
                   "information_coefficient"),
    lower_better=("brier", "log_loss"),
    fidelity_gates=(*BINARY.fidelity_gates, "dm_pvalue", "da_pvalue", "ic_pvalue"),
    decision_metrics=("agreement", "alert_overlap", "f1", "precision", "recall", "accuracy", "directional_accuracy"),
    step_keys=(*BINARY.step_keys, "dm_statistic"),
    metrics_fn=_direction_metrics, fidelity_fn=_direction_fidelity, step_fidelity_fn=_direction_step_fidelity,
))
