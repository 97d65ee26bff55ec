"""Robustness: how much the scores and decisions move when the inputs are disturbed a little.

The ``robustness`` section (:func:`build_robustness`) perturbs the raw test rows in two seeded
ways and scores them through each model's own preprocessor
(:attr:`~finlite.evaluate.sections.ScoredModel.score_frame`):

* ``numeric_noise``: Gaussian noise of 0.1 × each numeric column's robust training spread
  (:func:`robust_spread`: the standard deviation for normal values, but not set by a few
  extremes) on every numeric column (missing values stay missing), clipped to the range of the
  training and test values, so the encoder never meets a value it would refuse;
* ``unseen_categories``: 10 % of the rows of each categorical column get a value never seen in
  training (``__unseen__``), which every encoder maps to its unseen bucket (or the prior).

For each, the change in AUC and the share of decisions at the cut-off that flip against the
unperturbed decisions, teacher vs student: a student that is more fragile than the model it
replaces is a finding even when it agrees with the teacher on clean data.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from finlite._keys import UNSEEN, category_key
from finlite.data.schema import numeric_column
from finlite.errors import ConfigError, DataError, ScoreError
from finlite.evaluate._order import frame_order
from finlite.evaluate.sections import Plot, Section, Series, Status, Table, TabularInputs, json_number

__all__ = ["build_robustness", "robust_spread"]

#: Noise standard deviation, as a share of each numeric column's robust training spread.
NOISE_SCALE = 0.1


def robust_spread(values: np.ndarray) -> float:
    """A column's spread that a few extremes do not set: the interquartile range / 1.349 (the
    standard deviation of normal values); where it is 0 (a count that is mostly zero), the
    standard deviation of the values within the 1st to 99th percentiles; 0 (the column is left as
    it is) when nearly every value is one value, since its plain standard deviation is then set
    by its few other values (codes such as 98 among zeros: a review, 2026-12-05). With the plain
    standard deviation, three
    utilisations in the thousands among ratios of 0 to 1.5 made "small" noise ±69, and a section
    that flipped a quarter of the decisions PASSed (a walk-through, 2026-12-05)."""
    if values.size == 0:
        return 0.0
    q1, q3 = np.percentile(values, [25, 75])
    if q3 > q1:
        return float((q3 - q1) / 1.349)
    low, high = np.percentile(values, [1, 99])
    inner = values[(values >= low) & (values <= high)]
    return float(inner.std()) if inner.size else 0.0


#: Share of each categorical column's rows set to a value never seen in training.
UNSEEN_SHARE = 0.1
#: Most test rows perturbed and re-scored (a seeded sample beyond): keeps the section cheap.
MAX_ROWS = 100_000
# Student minus teacher: flip excess (as a share of the FLAGGED rows: on fraud ~0.2 % of rows are
# flagged, so a share of all rows could never reach a fixed threshold) and extra AUC drop that
# warn / fail.
FLIP_WARN, FLIP_FAIL = 0.05, 0.10
#: A flip excess must also be at least this many rows (one or two flips of a handful of flagged
#: rows are not a finding).
FLIP_MIN_ROWS = 5
AUC_WARN, AUC_FAIL = 0.01, 0.03


def _auc(y: np.ndarray, p: np.ndarray) -> float | None:
    """Rank AUC (ties one half), None when ``y`` holds one class."""
    n_pos = float(y.sum())
    n_neg = float(y.size - n_pos)
    if n_pos == 0 or n_neg == 0:
        return None
    ranks = pd.Series(p).rank(method="average").to_numpy()
    return float((ranks[y == 1].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def _money_columns(inp: TabularInputs) -> set[str]:
    """Numeric columns either model's preprocessor reads as text under a rule ("$60,000.00", "13.56%")."""
    found: set[str] = set()
    for model in (inp.teacher, inp.student):
        found.update(getattr(getattr(model.preprocessor, "schema", None), "text_numbers", ()) or ())
    return found


def _numeric_noise(inp: TabularInputs, frame: pd.DataFrame, rng: np.random.Generator) -> tuple[pd.DataFrame,
                                                                                                  list[str], list[str]]:
    """``frame`` with noise on every numeric column; the columns changed and notes on those skipped."""
    out = frame.copy()
    money = _money_columns(inp)
    changed, skipped = [], []
    for name in inp.numeric:
        if name not in frame.columns or name not in inp.train_frame.columns:
            continue
        train = numeric_column(inp.train_frame[name], name, "the training data", money=name in money)
        train = train[np.isfinite(train)]
        values = numeric_column(frame[name], name, "the test data", money=name in money)
        finite = np.isfinite(values)
        std = robust_spread(train)
        if std == 0.0 or not finite.any():
            skipped.append(name)
            continue
        # Clip to the values the encoder has already accepted: training range and the clean test values.
        low = min(float(train.min()), float(values[finite].min()))
        high = max(float(train.max()), float(values[finite].max()))
        noisy = values + rng.normal(0.0, NOISE_SCALE * std, size=values.size)
        out[name] = np.where(finite, np.clip(noisy, low, high), np.nan)
        changed.append(name)
    notes = [f"Numeric column(s) without a robust spread in training (nearly one value, or no values) left as they "
             f"were: "
             f"{', '.join(skipped)}."] if skipped else []
    return out, changed, notes


def _unseen_categories(inp: TabularInputs, frame: pd.DataFrame, rng: np.random.Generator) -> tuple[pd.DataFrame,
                                                                                                      list[str],
                                                                                                      list[str]]:
    """``frame`` with UNSEEN_SHARE of each categorical column's rows set to a value absent from training."""
    out = frame.copy()
    changed: list[str] = []
    notes: list[str] = []
    n = len(frame)
    k = round(UNSEEN_SHARE * n)
    for name in inp.categorical:
        if name not in frame.columns or k == 0:
            continue
        # Keys as the encoders derive them (3 and 3.0 are one category; text is stripped).
        seen = ({category_key(v) for v in inp.train_frame[name].dropna().unique()}
                if name in inp.train_frame.columns else set())
        token = UNSEEN
        while token in seen:  # a training value that happens to be spelled "__unseen__" must not be hit
            token += "_"
        if token != UNSEEN:
            notes.append(f"{name}: the training data holds {UNSEEN!r}; used {token!r} as the unseen value.")
        column = frame[name].to_numpy(dtype=object).copy()
        column[rng.choice(n, size=k, replace=False)] = token
        out[name] = pd.Series(column, index=frame.index, dtype=object)
        changed.append(name)
    return out, changed, notes


def _scores(score: Callable[[pd.DataFrame], np.ndarray], frame: pd.DataFrame, who: str, what: str,
            rows: np.ndarray | None = None) -> np.ndarray:
    """Each row's score of ``frame``, refusing a non-finite one; ``rows``: each frame row's position
    among the test rows (the section scores them in their content order), named 1-based."""
    p = np.asarray(score(frame), dtype=np.float64).ravel()
    if p.shape != (len(frame),):
        raise DataError(f"The {who} scored {p.size} values for {len(frame)} perturbed rows ({what}).")
    bad = ~np.isfinite(p)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise ScoreError(f"The {who} gave a non-finite score on {int(bad.sum())} row(s) with {what} (first: test row "
                         f"{(first if rows is None else int(rows[first])) + 1}); no decision can be made from it.")
    return p


#: A teacher losing more AUC than this under the small numeric noise is said to rest on exact values.
FRAGILE_AUC = 0.05
#: The input check: each input column shuffled among this many test rows (a seeded sample).
SENSITIVITY_ROWS = 5_000
#: A column whose shuffle moves the teacher's P(positive) by this much on average (and by at least
#: :data:`IGNORED_SHARE` of the most the teacher's strongest input moves it: a weak input left out
#: is a small loss, and set WARN on many default runs of a review, 2026-12-07), and the student's
#: by less than :data:`IGNORED_STUDENT` (float32's resolution), is one the student ignores.
IGNORED_TEACHER = 0.001
IGNORED_SHARE = 0.25
IGNORED_STUDENT = 1e-6


def _ignored_inputs(inp: TabularInputs, frame: pd.DataFrame, models: dict[str, Any],
                    rows: np.ndarray) -> tuple[dict[str, dict[str, float]], list[str]]:
    """How much each input column moves each model's scores when it is shuffled among the test rows
    (mean |ΔP|), and the columns the student ignores where the teacher reads them: a LightGBM
    teacher's default student had lost every weight from 6 of its 11 numeric inputs to pruning, so
    an income or delinquency shock never moved its PD, and every section passed (a stress-testing
    analyst's walk-through, 2026-12-07)."""
    rng = np.random.default_rng([inp.seed, 3])
    if len(frame) > SENSITIVITY_ROWS:
        picked = np.sort(rng.choice(len(frame), size=SENSITIVITY_ROWS, replace=False))
        frame, rows = frame.iloc[picked], rows[picked]
    base = {who: _scores(model.score_frame, frame, who, "the input check", rows) for who, model in models.items()}
    moved: dict[str, dict[str, float]] = {}
    for column in [*inp.numeric, *inp.categorical]:
        if column not in frame.columns:
            continue
        shuffled = frame.copy()
        shuffled[column] = frame[column].to_numpy()[rng.permutation(len(frame))]
        moved[column] = {who: float(np.mean(np.abs(_scores(model.score_frame, shuffled, who,
                                                           f"{column!r} shuffled", rows) - base[who])))
                         for who, model in models.items()}
    strongest = max((m["teacher"] for m in moved.values()), default=0.0)
    floor = max(IGNORED_TEACHER, IGNORED_SHARE * strongest)
    ignored = [c for c, m in moved.items() if m["teacher"] >= floor and m["student"] < IGNORED_STUDENT]
    return moved, ignored


def build_robustness(inp: TabularInputs) -> Section:
    """The ``robustness`` section (binary tasks): AUC change and decision flip rate, teacher vs
    student, under numeric noise (0.1 × a robust training spread, clipped to the accepted range) and under
    10 % unseen categories per categorical column; both seeded by ``inp.seed``.

    ``metrics["perturbations"]`` maps each perturbation to its columns and, per model, ``auc``
    (clean, perturbed), ``auc_change`` (perturbed − clean) and ``flip_rate`` (share of rows whose
    decision at the cut-off changed), plus ``flip_excess`` (student − teacher flip rate) and
    ``auc_excess_drop`` (how much more the student's AUC fell); ``flagged_rows`` (rows either model
    flags, clean or perturbed), each model's ``flip_share_of_flagged`` and their difference
    ``flip_excess_flagged``. Status: FAIL when, under some perturbation, the student flips more than
    the teacher by over 0.10 of the flagged rows (and by at least FLIP_MIN_ROWS rows) or its AUC
    falls more than 0.03 more; WARN by more than 0.05 / 0.01; PASS otherwise.

    Raises:
        ConfigError: a task other than binary, or no cut-off.
        DataError: no numeric or categorical column to perturb.
        ScoreError: a model gave a non-finite score on perturbed rows.
    """
    if inp.task != "binary":
        raise ConfigError(f"The robustness section is for binary classifiers; this task is {inp.task!r}.",
                          param="task")
    if inp.cutoff is None:
        raise ConfigError("The robustness section needs the cut-off; none was given.", param="cutoff")
    cutoff = float(inp.cutoff)
    y = np.asarray(inp.y_test, dtype=np.float64)
    # The rows in their content order (_order), then every draw by position: the noise, the unseen
    # values and the input check drew by the file's row order, and the same test rows shuffled
    # turned PASS into WARN (a metamorphic review, 2026-12-07).
    rows = frame_order(inp.test_frame, y, inp.teacher.scores_test, inp.student.scores_test)
    notes: list[str] = []
    if len(rows) > MAX_ROWS:
        rows = rows[np.sort(np.random.default_rng([inp.seed, 0]).choice(len(rows), size=MAX_ROWS, replace=False))]
    frame, y = inp.test_frame.iloc[rows], y[rows]
    clean = {"teacher": np.asarray(inp.teacher.scores_test, dtype=np.float64)[rows],
             "student": np.asarray(inp.student.scores_test, dtype=np.float64)[rows]}
    if len(rows) < len(inp.test_frame):
        notes.append(f"Perturbed and re-scored a seeded sample of {MAX_ROWS:,} of the {len(inp.test_frame):,} test rows.")
    perturbations: dict[str, Any] = {}
    models = {"teacher": inp.teacher, "student": inp.student}
    clean_auc = {k: _auc(y, v) for k, v in clean.items()}
    steps = (("numeric_noise", f"Gaussian noise of {NOISE_SCALE} × the robust training spread on numeric columns",
              _numeric_noise, 1),
             ("unseen_categories", f"{UNSEEN_SHARE:.0%} of each categorical column set to an unseen value",
              _unseen_categories, 2))
    for key, description, perturb, stream in steps:
        changed_frame, changed, more = perturb(inp, frame, np.random.default_rng([inp.seed, stream]))
        notes += more
        if not changed:
            continue
        entry: dict[str, Any] = {"description": description, "columns": changed}
        flagged_any = (clean["teacher"] >= cutoff) | (clean["student"] >= cutoff)
        flips: dict[str, np.ndarray] = {}
        for who, model in models.items():
            p = _scores(model.score_frame, changed_frame, who, description.lower(), rows)
            after = _auc(y, p)
            before = clean_auc[who]
            flips[who] = (p >= cutoff) != (clean[who] >= cutoff)
            flagged_any |= p >= cutoff
            entry[who] = {"auc": {"clean": before, "perturbed": after},
                          "auc_change": None if after is None or before is None else after - before,
                          "flip_rate": float(np.mean(flips[who])), "flips": int(flips[who].sum())}
        entry["flip_excess"] = entry["student"]["flip_rate"] - entry["teacher"]["flip_rate"]
        # Flips as a share of the rows either model flags (clean or perturbed): the rows a decision is
        # about. The same denominator for both models keeps the difference a difference of counts.
        flagged = int(flagged_any.sum())
        entry["flagged_rows"] = flagged
        for who in models:
            entry[who]["flip_share_of_flagged"] = entry[who]["flips"] / flagged if flagged else None
        extra = entry["student"]["flips"] - entry["teacher"]["flips"]
        entry["flip_excess_flagged"] = extra / flagged if flagged else 0.0
        t_change, s_change = entry["teacher"]["auc_change"], entry["student"]["auc_change"]
        entry["auc_excess_drop"] = None if t_change is None or s_change is None else t_change - s_change
        excess_auc = entry["auc_excess_drop"] or 0.0
        counted = extra >= FLIP_MIN_ROWS
        fail = (counted and entry["flip_excess_flagged"] > FLIP_FAIL) or excess_auc > AUC_FAIL
        warn = (counted and entry["flip_excess_flagged"] > FLIP_WARN) or excess_auc > AUC_WARN
        entry["status"] = "FAIL" if fail else ("WARN" if warn else "PASS")
        perturbations[key] = entry
    if not perturbations:
        raise DataError("The robustness section found no numeric column with spread and no categorical column to "
                        "perturb in the test data.")
    if clean_auc["teacher"] is None:
        notes.append("The test rows hold one class only: AUC is null; the status follows the flip rates.")
    moved, ignored = _ignored_inputs(inp, frame, models, rows)
    if ignored:
        notes.append(f"The student ignores {len(ignored)} input(s) the teacher reads: "
                     + ", ".join(f"{c} (shuffled among the test rows, the teacher's P moves by "
                                 f"{moved[c]['teacher']:.4f} on average, the student's by {moved[c]['student']:.1e})"
                                 for c in ignored)
                     + ". Compression left no path from them to its output (pruning removed their weights, a "
                       "monotone constraint (--enforce-monotone) flattened a direction the data does not bear, or "
                       "distillation never used them): a change in them, such as a stress scenario's shock, never "
                       "moves this student's score. Check the declared directions, or compress with less pruning "
                       "(--sparsity) or a wider student.")
    noisy: dict[str, Any] = perturbations.get("numeric_noise") or {}
    lost = noisy["teacher"]["auc_change"] if noisy else None
    if lost is not None and lost < -FRAGILE_AUC:
        # Both models alike, so the rule above passes; yet a ranking that small noise undoes rests on
        # exact values, as a column that encodes the outcome gives (an SBA walk-through, 2026-12-06:
        # the teacher lost 0.166 AUC, reading Term, which a default cuts short).
        notes.append(f"The teacher loses {-lost:.3f} AUC under the small numeric noise (the student "
                     f"{noisy['student']['auc_change']:+.3f}): its ranking rests on exact values of a numeric column, "
                     "as a column that records the outcome gives (a loan's term, cut short by a default; a balance "
                     "after charge-off). Check which column the reasons lead with, and that it is known when the "
                     "application is decided. The status is not changed by this.")
    notes.append(f"Seeded by {inp.seed}; a flip is a row whose decision at the cut-off {cutoff:g} differs from the "
                 "same model's decision on the unperturbed row. Flip shares are of the flagged rows (flagged by "
                 "either model, clean or perturbed), so the rule works when few rows are flagged (fraud).")
    notes.append("One seeded draw of each perturbation, without an interval: a flip excess near a threshold can "
                 "move with the seed.")
    rank = ("PASS", "WARN", "FAIL")
    status: Status = rank[max(rank.index("WARN" if ignored else "PASS"),  # type: ignore[assignment]
                              *(rank.index(e["status"]) for e in perturbations.values()))]
    names = list(perturbations)
    table = Table(
        id="robustness",
        caption="Per perturbation and model: AUC before and after, its change, the share of all decisions "
                "flipped, and flips as a share of the flagged rows (flagged by either model, clean or perturbed).",
        columns=["perturbation", "columns", "teacher AUC", "teacher AUC perturbed", "teacher ΔAUC", "student AUC",
                 "student AUC perturbed", "student ΔAUC", "teacher flip rate", "student flip rate", "flagged rows",
                 "teacher flips / flagged", "student flips / flagged"],
        rows=[[k, len(e["columns"]), e["teacher"]["auc"]["clean"], e["teacher"]["auc"]["perturbed"],
               e["teacher"]["auc_change"], e["student"]["auc"]["clean"], e["student"]["auc"]["perturbed"],
               e["student"]["auc_change"], e["teacher"]["flip_rate"], e["student"]["flip_rate"], e["flagged_rows"],
               e["teacher"]["flip_share_of_flagged"], e["student"]["flip_share_of_flagged"]]
              for k, e in perturbations.items()])
    xs = [float(i) for i in range(len(names))]
    plots = [Plot(id="robustness_flips", title="Decisions flipped by each perturbation", x_label="perturbation",
                  y_label="flip rate", x_ticks=names,
                  series=[Series(name=who, x=xs, y=[perturbations[k][who]["flip_rate"] for k in names], style="bar")
                          for who in models])]
    if clean_auc["teacher"] is not None:
        plots.append(Plot(id="robustness_auc", title="AUC change under each perturbation", x_label="perturbation",
                          y_label="AUC change (perturbed − clean)", x_ticks=names,
                          series=[Series(name=who, x=xs, y=[perturbations[k][who]["auc_change"] for k in names],
                                         style="bar") for who in models]))
    summary = "; ".join(
        f"{k.replace('_', ' ')}: flip rate {e['teacher']['flip_rate']:.3f} (teacher) vs {e['student']['flip_rate']:.3f} "
        f"(student)" + ("" if e["auc_excess_drop"] is None else
                        f", AUC change {e['teacher']['auc_change']:+.4f} vs {e['student']['auc_change']:+.4f}")
        for k, e in perturbations.items()) + "."
    threshold = (f"FAIL when, under a perturbation, the student flips more decisions than the teacher by more than "
                 f"{FLIP_FAIL} of the flagged rows (and by at least {FLIP_MIN_ROWS} rows), or its AUC falls more "
                 f"than {AUC_FAIL} further than the teacher's; WARN by more than {FLIP_WARN} of the flagged rows / {AUC_WARN}, "
                 f"or when the student ignores an input the teacher reads (shuffled among {SENSITIVITY_ROWS:,} test "
                 f"rows at most, the teacher's P moves by {IGNORED_TEACHER} or more on average, and by at least "
                 f"{IGNORED_SHARE:.0%} of what its strongest input moves it, and the student's by less than "
                 f"{IGNORED_STUDENT:g}); PASS otherwise.")
    if ignored:
        summary += f" The student ignores {len(ignored)} input(s) the teacher reads: {', '.join(ignored)}."
    tables = [table, Table(
        id="input_sensitivity",
        caption="Per input column: the mean change of each model's P(positive) when the column is shuffled among the "
                "test rows (the other columns kept); a student at 0 where the teacher moves ignores the column.",
        columns=["column", "teacher mean |ΔP|", "student mean |ΔP|", "ignored by the student"],
        rows=[[c, m["teacher"], m["student"], "yes" if c in ignored else ""] for c, m in moved.items()])]
    metrics = {"cutoff": cutoff, "noise_scale": NOISE_SCALE, "unseen_share": UNSEEN_SHARE, "rows": len(frame),
               "perturbations": perturbations, "input_sensitivity": moved, "ignored_inputs": ignored}
    return Section(id="robustness", title="Robustness", status=status, threshold=threshold, summary=summary,
                   metrics=json_number(metrics), tables=tables, plots=plots, notes=notes)
