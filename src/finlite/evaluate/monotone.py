"""Monotonicity: does a model's risk move the declared way when a feature rises?

Credit policy often requires that risk never falls as, say, utilisation rises (``utilisation:+``)
or never rises with income (``income:-``); a LightGBM or XGBoost teacher may have been trained
under such ``monotone_constraints``. A compressed student (an MLP) carries no such guarantee, so
the report checks both models:

* on the test rows: each row's column is raised by one training standard deviation (clipped to
  the training maximum) and the rows whose score moves the wrong way by more than
  :data:`TOLERANCE` in log-odds (and :data:`PROBABILITY_TOLERANCE` in probability) are counted;
* on a grid: for a sample of rows the column is set to 21 quantiles of its training values and
  the wrong-way steps between neighbouring quantiles are counted.

Signs: +1 means P(positive) must not fall as the column rises; -1 means it must not rise.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from finlite.data.schema import numeric_column
from finlite.errors import ConfigError, DataError
from finlite.evaluate._order import frame_order
from finlite.evaluate.sections import Plot, Section, Series, Status, Table, TabularInputs

__all__ = ["GRID_POINTS", "GRID_ROWS", "PROBABILITY_TOLERANCE", "SHIFT_ROWS", "TOLERANCE", "booster_constraints", "build_monotonicity",
           "grid_sweep", "parse_monotone", "shift_violations"]

#: A wrong-way move must exceed this in log-odds (logit(after) − logit(before)) to count: an int8
#: student's per-row dynamic scales and float noise move scores by tiny steps that an absolute 1e-6
#: in probability counted as violations. 1e-3 log-odds is a 0.1 % change in the odds.
TOLERANCE = 1e-3
#: ... and, in probability, more than a few float32 steps: near a score of 1 one float32 step
#: (1.2e-7) is already more than 1e-3 in log-odds, so rounding alone would count there.
PROBABILITY_TOLERANCE = 1e-6
#: Scores are clipped to [_EPS, 1 − _EPS] before the logit (a score of exactly 0 or 1).
_EPS = 1e-12
#: Quantiles of the training column the grid sweep visits (0 %, 5 %, …, 100 %).
GRID_POINTS = 21
#: Most rows swept along the grid (a seeded sample beyond this).
GRID_ROWS = 200
#: Most test rows shifted by one standard deviation (a seeded sample beyond this).
SHIFT_ROWS = 50_000
#: FAIL when the student violates on more than this share of rows where the teacher does not.
_FAIL_SHARE = 0.01

_SIGNS = {"+": 1, "+1": 1, "1": 1, "-": -1, "-1": -1}
_FORM = "COLUMN:+ or COLUMN:- items separated by commas, e.g. age:+,utilisation:-"


def parse_monotone(text: str) -> dict[str, int]:
    """``"age:+,utilisation:-"`` → ``{"age": 1, "utilisation": -1}`` (signs ``+``/``-``, also
    ``+1``/``-1``/``1``; spaces around items are ignored).

    Raises:
        ConfigError: an item without a column or sign, an unknown sign, or a column named twice
            (the message names the item and shows the form); ``param`` is "monotone".
    """
    if not isinstance(text, str) or not text.strip():
        raise ConfigError(f"--monotone takes {_FORM}; got {text!r}.", param="monotone")
    out: dict[str, int] = {}
    for item in text.split(","):
        item = item.strip()
        column, sep, sign = item.rpartition(":")
        column, sign = column.strip(), sign.strip()
        if not sep or not column or sign not in _SIGNS:
            raise ConfigError(f"--monotone item {item!r} is not COLUMN:+ or COLUMN:-; write {_FORM}.",
                              param="monotone")
        if column in out:
            raise ConfigError(f"--monotone names column {column!r} twice; give each column one sign ({_FORM}).",
                              param="monotone")
        out[column] = _SIGNS[sign]
    return out


def booster_constraints(model: Any, preprocessor: Any) -> dict[str, int]:
    """The ``monotone_constraints`` a LightGBM / XGBoost teacher was trained with, on raw numeric
    columns: ``{column: +1 | -1}`` ({} for any other model, or a booster without constraints).

    Constraints on encoded columns that are not a raw number's own column (a missing indicator,
    a one-hot column) are left out. They are read from the model (recorded when the booster was
    wrapped, and saved with the artifact), else from the booster itself; XGBoost keeps its
    training parameters only in the booster object it trained, so a booster that was read from
    a file before finlite wrapped it reports none.
    """
    from finlite.models.gbdt import BoostedEnsemble, trained_constraints

    if not isinstance(model, BoostedEnsemble) or model.window is not None:
        return {}
    signs = model.monotone if model.monotone is not None else trained_constraints(model.library, model.model)
    signs = signs or []
    numeric = [n.name for n in getattr(preprocessor, "numeric_", [])]
    if model.input.get("mode") == "columns":
        encoded = [int(i) for i in model.input["index"]]
    else:
        encoded = list(range(len(signs)))
    out: dict[str, int] = {}
    for j, sign in enumerate(signs):
        if sign != 0 and j < len(encoded) and 0 <= encoded[j] < len(numeric):
            out[numeric[encoded[j]]] = 1 if sign > 0 else -1
    return out


def _logit(p: np.ndarray) -> np.ndarray:
    q = np.clip(np.asarray(p, dtype=np.float64), _EPS, 1.0 - _EPS)
    return np.asarray(np.log(q) - np.log1p(-q))


def _wrong_way(before: np.ndarray, after: np.ndarray, sign: int) -> np.ndarray:
    """Rows whose score moved against ``sign`` by more than the tolerance, in log-odds (a relative
    measure: the same tolerance is material at a 0.2 % fraud score and at a 30 % credit score)."""
    change: np.ndarray = sign * (_logit(after) - _logit(before))
    moved = sign * (np.asarray(after, dtype=np.float64) - np.asarray(before, dtype=np.float64))
    result: np.ndarray = (change < -TOLERANCE) & (moved < -PROBABILITY_TOLERANCE)
    return result


def shift_violations(score_frame: Callable[[pd.DataFrame], np.ndarray], frame: pd.DataFrame, column: str,
                     values: np.ndarray, sign: int, step: float, high: float) -> tuple[np.ndarray, np.ndarray]:
    """Raise ``column`` by ``step`` (clipped to ``high``) in each row of ``frame`` whose value
    ``values`` (parsed, NaN when missing) can rise, and score both.

    Returns (rows evaluated as a boolean mask, wrong-way rows among them as a boolean mask).
    """
    raised = np.minimum(values + step, high)
    evaluated = ~np.isnan(values) & (raised > values)
    wrong = np.zeros(len(frame), dtype=bool)
    if not evaluated.any():
        return evaluated, wrong
    rows = frame.iloc[np.flatnonzero(evaluated)].reset_index(drop=True)
    moved = rows.copy()
    moved[column] = raised[evaluated]
    before = np.asarray(score_frame(rows), dtype=np.float64)
    after = np.asarray(score_frame(moved), dtype=np.float64)
    wrong[evaluated] = _wrong_way(before, after, sign)
    return evaluated, wrong


def grid_sweep(score_frame: Callable[[pd.DataFrame], np.ndarray], frame: pd.DataFrame, column: str,
               grid: np.ndarray, sign: int) -> tuple[np.ndarray, np.ndarray]:
    """Set ``column`` of every row of ``frame`` to each value of ``grid`` (ascending) and score.

    One scoring call of ``len(frame) · len(grid)`` rows. Returns (the mean score at each grid
    value, the number of wrong-way steps of each row between neighbouring grid values).
    """
    grid = np.asarray(grid, dtype=np.float64)
    n = len(frame)
    if n == 0:
        return np.full(len(grid), np.nan), np.zeros(0, dtype=np.int64)
    tiled = frame.iloc[np.tile(np.arange(n), len(grid))].reset_index(drop=True)
    tiled[column] = np.repeat(grid, n)
    scores = np.asarray(score_frame(tiled), dtype=np.float64).reshape(len(grid), n)
    steps = _wrong_way(scores[:-1], scores[1:], sign)  # [grid steps, rows]
    return scores.mean(axis=1), steps.sum(axis=0).astype(np.int64)


def _column_values(frame: pd.DataFrame, column: str, inp: TabularInputs, source: str) -> np.ndarray:
    schema = getattr(inp.teacher.preprocessor, "schema", None)
    money = column in getattr(schema, "text_numbers", ())
    return numeric_column(frame[column], column, source, money=money)


def _sample(order: np.ndarray, cap: int, rng: np.random.Generator) -> np.ndarray:
    """At most ``cap`` rows (positions, in the file's order), drawn from the rows in their content
    ``order`` (:func:`finlite.evaluate._order.frame_order`, by the models' scores first): the same
    rows in another order give the same sample."""
    n = len(order)
    return np.sort(order[rng.choice(n, cap, replace=False)]) if n > cap else np.arange(n)


def build_monotonicity(inp: TabularInputs) -> Section:
    """The ``monotonicity`` section for the columns of ``inp.monotone`` (raw numeric column → +1 or
    -1): wrong-way moves of the teacher and the student after a one-standard-deviation rise on the
    test rows (at most :data:`SHIFT_ROWS`) and along a 21-quantile grid (at most
    :data:`GRID_ROWS` rows).

    Raises:
        ConfigError: no column is declared, a column is not a numeric column of the data, or a
            sign is not +1 / -1.
    """
    if not inp.monotone:
        raise ConfigError("The monotonicity section needs declared columns (--monotone COLUMN:+,COLUMN:-); none "
                          "were given.", param="monotone")
    numeric = list(inp.numeric)
    for column, sign in inp.monotone.items():
        if column not in numeric:
            raise ConfigError(f"--monotone names {column!r}, which is not a numeric column of the data; numeric "
                              f"columns: {', '.join(numeric) or 'none'}.", param="monotone")
        if isinstance(sign, bool) or sign not in (1, -1):
            raise ConfigError(f"--monotone gives column {column!r} the sign {sign!r}; use + (1) or - (-1).",
                              param="monotone")
    rng = np.random.default_rng(inp.seed)
    n = len(inp.test_frame)
    order = (frame_order(inp.test_frame, np.asarray(inp.teacher.scores_test), np.asarray(inp.student.scores_test))
             if n > min(SHIFT_ROWS, GRID_ROWS) else np.arange(n))
    shift_pick = _sample(order, SHIFT_ROWS, rng)
    grid_pick = _sample(order, GRID_ROWS, rng)
    shift_frame = inp.test_frame.iloc[shift_pick].reset_index(drop=True)
    grid_frame = inp.test_frame.iloc[grid_pick].reset_index(drop=True)
    models = (("teacher", inp.teacher), ("student", inp.student))

    per_column: dict[str, Any] = {}
    rows: list[list[Any]] = []
    plots: list[Plot] = []
    notes: list[str] = []
    any_violation, worst_new = False, 0.0
    # Who moved the wrong way, per declared column: the summary names them (it listed every
    # declared column and blamed the student for a teacher's one row: a validator, 2026-12-06).
    violated: dict[str, list[str]] = {}
    for column, sign in inp.monotone.items():
        train_values = _column_values(inp.train_frame, column, inp, "the training rows")
        present = train_values[~np.isnan(train_values)]
        if present.size == 0:
            raise DataError(f"Monotone column {column!r} is empty in every training row; it cannot be checked.")
        std, high = float(present.std()), float(present.max())
        grid = np.quantile(present, np.linspace(0.0, 1.0, GRID_POINTS))
        values = _column_values(shift_frame, column, inp, "the test rows")
        found: dict[str, Any] = {}
        wrong_rows: dict[str, np.ndarray] = {}
        grid_rows: dict[str, np.ndarray] = {}
        curves: dict[str, np.ndarray] = {}
        evaluated = np.zeros(len(shift_frame), dtype=bool)
        for name, scored in models:
            evaluated, wrong = shift_violations(scored.score_frame, shift_frame, column, values, sign, std, high)
            curve, steps = grid_sweep(scored.score_frame, grid_frame, column, grid, sign)
            n_eval = int(evaluated.sum())
            found[name] = {
                "test_rows": n_eval, "test_violations": int(wrong.sum()),
                "test_violation_rate": float(wrong.sum() / n_eval) if n_eval else None,
                "grid_rows": len(grid_frame), "grid_steps": int(len(grid_frame) * (len(grid) - 1)),
                "grid_violating_steps": int(steps.sum()), "grid_violating_rows": int((steps > 0).sum()),
                "grid_violation_rate": float((steps > 0).mean()) if len(steps) else None,
            }
            wrong_rows[name], grid_rows[name], curves[name] = wrong, steps > 0, curve
            if wrong.any() or (steps > 0).any():
                violated.setdefault(name, []).append(
                    f"{column} ({'+' if sign > 0 else '-'}) on {int(wrong.sum()):,} of {n_eval:,} test row(s) and "
                    f"{int((steps > 0).sum()):,} of {len(grid_frame):,} grid row(s)")
            any_violation = any_violation or (name == "student" and (bool(wrong.any()) or bool((steps > 0).any())))
            rows.append([column, "+" if sign > 0 else "-", name, n_eval, int(wrong.sum()),
                         found[name]["test_violation_rate"], len(grid_frame), int((steps > 0).sum()),
                         int(steps.sum())])
        n_eval = int(evaluated.sum())
        new_test = (float((wrong_rows["student"] & ~wrong_rows["teacher"]).sum() / n_eval) if n_eval else None)
        new_grid = (float((grid_rows["student"] & ~grid_rows["teacher"]).mean()) if len(grid_frame) else None)
        worst_new = max([worst_new, *(v for v in (new_test, new_grid) if v is not None)])
        per_column[column] = {"sign": sign, "step": std, "training_max": high, "grid": [float(g) for g in grid],
                              **found, "student_only_test_rate": new_test, "student_only_grid_rate": new_grid}
        if n_eval == 0:
            notes.append(f"{column!r}: no test row could be raised (missing, or at the training maximum).")
        plots.append(Plot(id=f"monotone_{_slug(column)}", title=f"Mean score along {column} ({'+' if sign > 0 else '-'})",
                          x_label=f"{column} (training quantiles)", y_label=f"mean P({inp.positive})",
                          series=[Series(name, [float(g) for g in grid], [float(v) for v in curves[name]])
                                  for name, _ in models]))
    status: Status
    if worst_new > _FAIL_SHARE:
        status = "FAIL"
    elif any_violation:
        status = "WARN"
    else:
        status = "PASS"
    table = Table(id="monotone_violations", caption="Wrong-way moves per declared column: after a one-standard-"
                  "deviation rise on the test rows, and between neighbouring quantiles on the grid",
                  columns=["column", "sign", "model", "test_rows", "test_violations", "test_violation_rate",
                           "grid_rows", "grid_violating_rows", "grid_violating_steps"], rows=rows)
    declared = ", ".join(f"{c}:{'+' if s > 0 else '-'}" for c, s in inp.monotone.items())
    said = "; ".join(f"the {name} moves against it in {', '.join(where)}" for name, where in violated.items())
    summary = {
        "PASS": (f"The student never moves against the declared direction ({declared}) on the test rows or the "
                 "grid" + (f"; {said} (the teacher's, not the student's)." if said else ", nor does the teacher.")),
        "WARN": f"Declared {declared}: {said}. The student adds violations on at most {_FAIL_SHARE:.0%} of rows "
                "beyond the teacher's.",
        "FAIL": f"Declared {declared}: {said}. The student moves against it on {worst_new:.1%} of rows where the "
                "teacher does not.",
    }[status]
    notes.append(f"A move counts when the score's log-odds change by more than {TOLERANCE:g} and the score by "
                 f"more than {PROBABILITY_TOLERANCE:g} the wrong way (smaller moves are quantisation steps or float "
                 "rounding, which near a score of 1 exceeds the log-odds tolerance alone). Test rows: "
                 f"{len(shift_frame):,} (of {len(inp.test_frame):,}; rows missing the column, or already at its "
                 "training maximum, are not raised). Grid: "
                 f"{len(grid_frame)} rows (seeded sample with {inp.seed}) at {GRID_POINTS} training quantiles.")
    threshold = (f"A violation: the score's log-odds move against the declared direction by more than "
                 f"{TOLERANCE:g}, and the score by more than {PROBABILITY_TOLERANCE:g}. FAIL when the student violates a declared direction on more than {_FAIL_SHARE:.0%} "
                 "of rows (test rows or grid rows) where the teacher does not; WARN when the student violates it "
                 "anywhere; PASS when it does not (the teacher's own violations are named, and do not make the "
                 "student's section WARN).")
    return Section(id="monotonicity", title="Monotonicity", status=status, threshold=threshold, summary=summary,
                   metrics={"columns": per_column, "tolerance": TOLERANCE, "student_only_rate_max": worst_new},
                   tables=[table], plots=plots, notes=notes)


def _slug(column: str) -> str:
    """A column name as a snake_case id fragment."""
    return re.sub(r"[^0-9a-z]+", "_", column.lower()).strip("_") or "column"

