"""The evaluate job: score an artifact on labelled data, compare it with a baseline, and check that
the served (ONNX) model decides as the model in memory does."""

from __future__ import annotations

import datetime
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from finlite._util import check_flags, percent
from finlite.artifact import Artifact, DataLike, load, prepare_if_trained_on, recorded_split, recorded_walk
from finlite.data.io import Table, frame_sha256, read_table
from finlite.data.prepared import PreparedData
from finlite.data.preprocess import blank_numbers, unseen_counts
from finlite.data.split import make_split
from finlite.errors import ArtifactError, ConfigError, DataError, FinliteWarning
from finlite.evaluate.metrics import finite_scores
from finlite.evaluate.operating import OperatingPoint, check_operating_options, cutoff_at_flag_rate, rate_name
from finlite.evaluate.report import compare_models, model_evidence
from finlite.evaluate.sections import table_domain
from finlite.export.timing import report_timer
from finlite.tasks import get_task, series_rows


def check_served_model(art: Artifact, x: np.ndarray, split: str) -> dict[str, Any]:
    """Check that the exported ONNX model (what ``score`` and ``serve`` run) agrees with the
    weights (what is evaluated) on the rows ``x``: the model evaluated is the model served.

    ``model.onnx`` must match within the export's recorded tolerance (at most 1e-3) with no
    decision flipped beyond the recorded allowance; ``model_int8.onnx`` must match the int8 form
    of the weights (what export checked it against) within 1e-3, with at most 1 % (+1) of the
    decisions flipped by rounding at the cut-off. Returns the agreement numbers, or
    ``{"file": None, "status": "not exported", ...}`` when there is no ONNX model.

    Raises:
        ArtifactError: the exported model and the weights disagree (the artifact was altered).
    """
    from finlite._manifest import read_listed
    from finlite.export.graph import _is_regression
    from finlite.export.parity import FLOAT_TOLERANCE, INT8_TOLERANCE, onnx_session, run_onnx_blocks
    from finlite.jobs.export import FP32_FILE, INT8_FILE, _reference, int8_counterpart
    from finlite.runtime._graph_ops import probe

    files, export = art.manifest["files"], art.manifest.get("export") or {}
    decides = get_task(art.task).decides
    if "onnx" not in export or FP32_FILE not in files:
        return {"file": None, "status": "not exported", "scored": "weights.safetensors"}
    if len(x) == 0:
        # A check of no rows would say "agrees" having compared nothing (a review, 2026-12-06).
        raise DataError(f"No rows to check {str(art.path)!r}'s exported model against its weights on (the rows "
                        f"evaluated: {split}); give rows to evaluate.", param="data")
    p_ref = _reference(art.model, x).astype(np.float64).reshape(-1)
    parity = export["onnx"].get("parity") or {}
    # The recorded tolerance is capped at the largest default export uses: a forged (re-hashed,
    # unsigned) manifest must not widen the check until an approve-everyone model "agrees".
    checks = [(FP32_FILE, min(float(parity.get("tolerance", FLOAT_TOLERANCE)), INT8_TOLERANCE),
               int(parity.get("max_flips", 0)), p_ref)]
    quantized = int8_counterpart(art.model) if (export.get("onnx_int8") or {}).get("file") == INT8_FILE else None
    if INT8_FILE in files and quantized is not None:
        # Export checked model_int8.onnx against the int8 form of the weights (rebuilt here from the
        # verified weights): compare with that, never within numbers a forged manifest could widen.
        checks.append((INT8_FILE, INT8_TOLERANCE, 1 + len(p_ref) // 100,
                       _reference(quantized, x).astype(np.float64).reshape(-1)))
    out: dict[str, Any] = {"file": FP32_FILE, "status": "agrees", "sha256": files[FP32_FILE], "rows": len(p_ref),
                           "decides": decides}
    for name, tolerance, max_flips, p_ref in checks:
        output = "prediction" if _is_regression(art.model) else "probability"
        session = onnx_session(read_listed(art.path, art.manifest, name))
        probe(session, output, (1, *x.shape[1:]), f"Artifact {str(art.path)!r}: its {name}")  # before the full run
        p = run_onnx_blocks(session, x, output).astype(np.float64).reshape(-1)
        finite = np.isfinite(p)
        diff = np.where(finite, np.abs(p - p_ref), np.inf) if p.shape == p_ref.shape else np.full(p_ref.shape, np.inf)
        if not decides:  # a regression model makes no decisions: only the values are compared
            flipped = np.zeros(p_ref.shape, dtype=bool) if p.shape == p_ref.shape else np.ones(p_ref.shape, dtype=bool)
        else:
            flipped = (p_ref >= art.cutoff) != (np.nan_to_num(p, nan=-1.0) >= art.cutoff) if p.shape == p_ref.shape \
                else np.ones(p_ref.shape, dtype=bool)
        flips, worst = int(flipped.sum()), float(diff.max()) if diff.size else 0.0
        numbers = {"max_abs_diff": worst, "flips": flips, "tolerance": tolerance, "max_flips": max_flips}
        if name == FP32_FILE:
            out.update(numbers)
        else:
            out["int8"] = {"file": name, "sha256": files[name], **numbers}
        if worst > tolerance or flips > max_flips:
            bad = int(((diff > tolerance) | flipped).sum())
            raise ArtifactError(
                f"{name} and weights.safetensors of {str(art.path)!r} disagree on {bad} of {len(p_ref)} rows of the "
                f"{split} split (max |Δp| {worst:.3g}, tolerance {tolerance:g}; {flips} decisions flipped at the "
                f"cut-off {art.decision_cutoff}, allowed {max_flips}): the model that 'finlite score' and 'finlite serve' "
                "run is not the model evaluated, so the artifact was altered after export. Do not deploy it: "
                "re-export it from a trusted copy ('finlite export ARTIFACT') and check who can write the folder.")
    return out


def check_same_question(art: Artifact, base: Artifact) -> None:
    """Refuse a baseline that answers another question than the artifact: another task, target
    column or positive class. A baseline of P(good) beside a student of P(bad) showed AUC 0.19
    against 0.80 with PASS badges and agreement 16.5 % (a review, 2026-12-03).

    Raises:
        ConfigError: naming both artifacts' task, target and positive class, and the fix.
    """
    if base.task != art.task:
        raise ConfigError(f"The baseline {base.path} is a {base.task} model and {art.path} a {art.task} model; compare "
                          "models of the same task (e.g. the student with its teacher).", param="baseline")
    if art.market is not None or base.market is not None:
        return  # forecasters: checked by their own spec (objective, target, horizon)
    mine, theirs = art.schema, base.schema
    if (str(theirs.target), str(theirs.positive)) != (str(mine.target), str(mine.positive)):
        raise ConfigError(f"The baseline {base.path} predicts {theirs.target!r} = {theirs.positive!r}, and {art.path} "
                          f"predicts {mine.target!r} = {mine.positive!r}: their scores answer different questions and "
                          "cannot be compared. Pass a baseline trained on the same target and positive class (e.g. "
                          "the teacher).", param="baseline")


def check_baseline_held_out(art: Artifact, base: Artifact, *, judged: PreparedData | None = None,
                            table_sha256: str | None = None) -> None:
    """Refuse a baseline judged on rows it was trained on: its metrics would be in-sample, and the
    comparison would blame the artifact for the baseline's optimism.

    On ``art``'s test split of its training table (``judged``), a baseline trained on the same
    table (the same content hash) is split again with its own recorded settings: any of the test
    rows in its training or validation part is refused (a seed-1 teacher beside a seed-0 student
    showed AUC 0.908 where its own test split gives 0.768, and the report FAILed the student: a
    review, 2026-12-04). An out-of-time split ignores the seed, so such a baseline passes whatever
    its seed. On a hold-out whose content hash (``table_sha256``) is the baseline's training
    table, every row is the baseline's.

    Raises:
        ConfigError: naming the baseline, how many rows it saw and the fix.
    """
    trained_on = (base.manifest.get("data") or {}).get("content_sha256")
    if not isinstance(trained_on, str):
        return
    if judged is not None and not judged.test_is_holdout and trained_on == judged.data_sha256:
        config = recorded_split(base)
        labels = judged.schema.labels(judged.frame, judged.source)
        try:
            theirs = make_split(judged.frame, labels, config, source=judged.source)
        except DataError as exc:  # the baseline's split cannot be made again: say which artifact
            raise ConfigError(f"--baseline {base.path}: {exc}", param="baseline") from None
        seen = np.intersect1d(np.asarray(judged.split.test), np.r_[theirs.train, theirs.validation])
        if seen.size:
            def told(split: Any) -> str:  # whole_dates says nothing of a stratified split; one_shuffle: below
                return ", ".join(f"{k} {v}" for k, v in sorted(split.to_dict().items())
                                 if (k != "whole_dates" or split.date_column is not None)
                                 and k not in ("one_shuffle", "month_year"))
            if replace(config, whole_dates=True, one_shuffle=True, month_year=True) == \
                    replace(judged.split_config, whole_dates=True, one_shuffle=True, month_year=True):
                # Which of the two an older finlite split (either may be: a review, 2026-12-05).
                dated = config.date_column is not None
                rule = "whole_dates" if dated else "one_shuffle"
                student = art.manifest.get("role") == "student"
                older, again = (("the baseline", "the baseline") if getattr(config, rule) is False
                                else ("the artifact", f"{art.path}" + (" (from its teacher trained again, whose split "
                                                                       "it keeps)" if student else "")))
                how = (f"split by {config.date_column!r} with the same settings, but {older} by an older finlite, "
                       "which cut at the shares' rows where this one cuts between dates" if dated else
                       f"split with the same settings, but {older} by an older finlite, which shuffled each class "
                       "in turn where this one shuffles all rows once")
                raise ConfigError(f"The baseline {base.path} was trained on {seen.size:,} of the "
                                  f"{len(judged.split.test):,} rows of {art.path}'s test split: both are {how}, so its "
                                  f"metrics there would be in-sample. Train {again} again with this finlite.",
                                  param="baseline")
            raise ConfigError(f"The baseline {base.path} was trained on {seen.size:,} of the {len(judged.split.test):,} "
                              f"rows of {art.path}'s test split: the same table, split otherwise ({told(config)}; the "
                              f"artifact: {told(judged.split_config)}), so its metrics there would be in-sample. Compare "
                              "with a baseline trained with the same split (the same --seed, shares and date column), "
                              "e.g. the student's own teacher.", param="baseline")
    elif judged is None and table_sha256 is not None and trained_on == table_sha256:
        raise ConfigError(f"The rows judged are the table the baseline {base.path} was trained on (its content "
                          "hash), so the baseline's metrics on them would be in-sample. Judge both models on rows "
                          "neither was trained on: a hold-out, or the artifact's own training table (its test "
                          "split).", param="baseline")


def _check_baseline_columns(base: Artifact, columns: Any, source: str) -> None:
    """Refuse a baseline that reads columns the data lacks, naming the baseline as the cause
    (the data's own message, "lacks 13 column(s)", blamed the table), and a forecaster, which
    reads no table at all."""
    if base.market is not None:  # its schema would be told as "artifact.market.spec", a Python attribute
        raise ConfigError(f"The baseline {base.path} is a market forecaster, which reads a price history, not a table "
                          f"such as {source}: compare a credit or fraud model with one of the same table (e.g. its "
                          "teacher).", param="baseline")
    lacking = [c for c in base.schema.features if c not in set(columns)]
    if lacking:
        raise ConfigError(f"The baseline {base.path} reads {len(lacking)} column(s) that {source} lacks "
                          f"({', '.join(map(repr, lacking[:5]))}{', ...' if len(lacking) > 5 else ''}): it was trained on "
                          "other data. Compare with a model of this data (e.g. the teacher).", param="baseline")


def _copy_warning(art: Artifact, table: Table) -> str | None:
    """A warning when a table scored as a hold-out may be the training table, or an edit of it.

    Only the training table's content hash, file name and row count are recorded (no row of it:
    hashes of customers' rows would travel with every artifact), so a copy with a row dropped or
    a column retyped is not recognised as such. When the table has about as many rows as the
    training table (within 10 %), or the training file's name, say so, loudly: its metrics would
    include the training rows and be optimistic. A true hold-out of that size is told how to
    check.
    """
    recorded = art.manifest.get("data", {})
    trained, source = recorded.get("rows"), str(recorded.get("source", ""))
    rows = len(table.frame)
    # A file's name only (a DataFrame's source is "DataFrame", which names nothing).
    same_name = bool(Path(source).suffix) and Path(source).name == Path(str(table.source)).name
    if not isinstance(trained, int) or isinstance(trained, bool) or trained <= 0:
        return None
    if trained == rows:
        # The content hash reads the cells' text, so the training table with other column
        # types (Int64 for int64, a CSV of a DataFrame) is not recognised.
        how = f"as many rows ({trained:,}) as the table {art.path} was trained on, but not its content hash"
    elif abs(rows - trained) <= 0.1 * trained:
        how = (f"{rows:,} rows{f' and the name {Path(source).name!r}' if same_name else ''}, near the "
               f"{trained:,} rows of the table {art.path} was trained on, but not its content hash")
    elif same_name:
        how = (f"the name {Path(source).name!r} of the table {art.path} was trained on ({trained:,} rows; this one "
               f"has {rows:,}), but not its content hash")
    else:
        return None
    return (f"warning: this table has {how}, so every row is scored as a hold-out. If it is the training table "
            "read with other column types, or a copy or an edit of it, these metrics include training rows and are "
            "optimistic: pass the training file itself to judge the test split. A true hold-out needs no change.")


def _fitted_rows_warning(art: Artifact, table: Table) -> tuple[str | None, bool]:
    """A warning when rows of a table scored as a hold-out equal rows the artifact was fitted on
    (its training or validation split), found by value as ``report --holdout`` finds them, when the
    training table can be found (a bundled dataset, or the recorded path with the recorded
    content); None otherwise. 600 training rows saved as a new file were judged as a hold-out, AUC
    0.853 against 0.820 on the test split, without a word (a validator's review, 2026-12-04).
    The flag says the rows were compared and none equals a row of the training table (any part):
    the warning about a table of the training table's size is then noise (a monitoring
    walk-through, 2026-12-06: every quarter of a steady-sized book was told it may be a copy)."""
    from finlite.artifact import recorded_table
    from finlite.jobs.report import identity_columns, rows_in_training

    try:
        # Beside the hold-out too, unless the hold-out bears that name (it is not the table: its
        # content was compared above, and a large file would be read and hashed twice).
        recorded = Path(str(art.manifest.get("data", {}).get("source", ""))).name
        held = Path(str(table.source))
        training = recorded_table(art, near=[] if held.name == recorded else [held.parent])
    except DataError:
        return None, False
    if not isinstance(training, Table):
        return None, False
    schema = art.schema
    frame = training.frame[training.frame[schema.target].notna()].reset_index(drop=True)
    try:  # a split that cannot be made again (month-of-year dates an older finlite misread): no warning
        split = make_split(frame, schema.labels(frame, training.source), recorded_split(art), source=training.source)
    except DataError:
        return None, False
    try:
        overlap, fitted = rows_in_training(frame, schema, split, training.source, table.frame, str(table.source))
    except (DataError, KeyError):
        return None, False  # a column the model reads is missing or unreadable: the transform below names it
    if not fitted:
        return None, not any(overlap.values())
    same = identity_columns(frame, schema, table.frame)
    # Of the labelled rows, which are the ones judged (an unlabelled row equals no training row):
    # "1 of the 959 rows" read beside 482 rows judged (a behavioural modeller's walk-through, 2026-12-07).
    labelled = int(table.frame[schema.target].notna().sum()) if schema.target in table.frame.columns \
        else len(table.frame)
    return (f"warning: {fitted:,} of the {labelled:,} labelled rows of {table.source} equal rows of the training or "
            f"validation split {art.path} was fitted on (feature for feature, with the label"
            + (f" and {', '.join(map(repr, same))}" if same else "") + "): if they are the same "
            "applications, these metrics are optimistic. A hold-out must hold rows the model never saw (drop these, "
            "or take a later period)."), False


def evaluate_artifact(artifact: str | Path | Artifact, data: DataLike, *,
                      baseline: str | Path | Artifact | None = None, timing: bool = True,
                      verify_key: Any = None, flag_rate: float | None = None, since: Any = None,
                      cutoff: float | None = None, grades: Sequence[float] | str | None = None,
                      period_column: str | None = None, period_freq: str | None = None) -> dict[str, Any]:
    """Metrics of an artifact on labelled data, optionally side by side with a baseline artifact.

    When ``data`` is the table the artifact was trained on, only its test split is scored;
    any other table is treated as a hold-out and every row is scored. The baseline scores the
    same rows through its own preprocessor, so artifacts with different features compare fairly.
    When the artifact is exported, its ONNX model scores the same rows and must agree with the
    weights (:func:`check_served_model`); ``result["served_model"]`` says what was checked.
    ``verify_key`` (public key PEM) requires the artifact to be signed by its private key.

    Decisions are judged at the artifact's operating point (its recorded cut-off, set when its
    teacher was trained); ``flag_rate=0.1`` judges them instead at the cut-off where the
    reference model (the baseline when given, else the artifact) flags 10 % of the evaluated
    rows, and ``cutoff=0.3`` at that cut-off on P(positive) (a credit policy's, set by a
    committee). ``result["operating_point"]`` says which cut-off was used and how it was set.
    A credit model's PDs (by the domain it was judged in, not the evaluated file's name) are
    back-tested per grade of a master scale, a hold-out of one class's too (``result["pd_grades"]``:
    :func:`finlite.evaluate.validation.grade_record`): ``grades`` (its upper bounds,
    :func:`~finlite.evaluate.validation.master_scale`; "default" for the generic one) or finlite's
    generic scale (refused for a fraud model).
    ``period_column`` (a credit model, without a baseline) back-tests the PDs period by period,
    the periods being that column's values in order (a year, a quarter), and over the periods
    together: the long-run default rate against the mean PD, tested across the periods
    (``result["by_period"]``: :func:`finlite.evaluate.validation.period_backtest`); with
    ``period_freq`` ("year", "quarter" or "month") the column holds dates, grouped so.
    ``since`` (a market forecaster only) judges its out-of-sample dates from that day on
    (:func:`evaluate_forecaster`). ``result["note"]`` says what a hold-out shares with the training
    table (rows the models were fitted on, a copy of its file) and rows left out; each of its lines
    is also issued as a :class:`~finlite.FinliteWarning`.

    Raises:
        ArtifactError: the artifact does not verify, or its exported model disagrees with its weights.
        ConfigError: ``flag_rate`` or ``cutoff`` is not in (0, 1), both are given, or one is given
            for a model that makes no decisions.
    """
    check_flags("evaluate_artifact", timing=timing)
    check_operating_options("evaluate_artifact", cutoff, flag_rate)
    art = artifact if isinstance(artifact, Artifact) else load(artifact, verify_key=verify_key)
    scale = None
    if grades is not None:
        from finlite.evaluate.validation import given_scale

        scale = given_scale(grades)  # (): "default", finlite's generic scale, not the recorded one
    result = _evaluate(art, data, baseline=baseline, timing=timing, verify_key=verify_key, flag_rate=flag_rate,
                       since=since, cutoff=cutoff, grades=scale, period_column=period_column,
                       period_freq=period_freq)
    from finlite._manifest import failed_gates

    # compress exits 1 for a run whose gates fail on the test split but writes the student; evaluate
    # on it said nothing (a validator's walk-through, 2026-12-06). Read as score and serve read them.
    failed = failed_gates(art.manifest)
    if failed:
        result["recorded_gates"] = {"passed": False, "failed": failed}
    from finlite.jobs.compress import first_epoch_message, teacher_training

    said = first_epoch_message(teacher_training(art.manifest), market=art.market is not None)
    if said:  # a network kept at its first epoch: said where it is judged, not only when it trained
        result["training_warnings"] = said
    if isinstance(result.get("note"), str):
        # Rows the models were fitted on among a "hold-out", a copy of the training file: the CLI
        # prints the note; from Python it sat in result["note"] alone, where a notebook reading
        # the metrics did not look (a notebook walk-through, 2026-12-06).
        for line in result["note"].splitlines():
            warnings.warn(line, FinliteWarning, stacklevel=2)
    return result


def _evaluate(art: Artifact, data: DataLike, *, baseline: str | Path | Artifact | None, timing: bool,
              verify_key: Any, flag_rate: float | None, since: Any, cutoff: float | None = None,
              grades: tuple[float, ...] | None = None, period_column: str | None = None,
              period_freq: str | None = None) -> dict[str, Any]:
    """:func:`evaluate_artifact` of a loaded artifact."""
    if period_column is not None or period_freq is not None:
        _check_period_option(art, period_column, baseline, period_freq)
    periods = (period_column, period_freq)
    if grades is not None and (art.market is not None or art.task != "binary" or baseline is not None):
        why = ("a market forecaster" if art.market is not None else f"a {art.task} model" if art.task != "binary"
               else "two models side by side (--baseline): 'finlite report' back-tests both per grade")
        raise ConfigError(f"grades back-tests one credit model's PDs grade by grade; {art.path} is judged here as "
                          f"{why}. Drop grades.", param="grades")
    if art.market is not None:
        if cutoff is not None:
            raise ConfigError(f"cutoff judges a credit model's decisions at a policy's cut-off; {art.path} holds a "
                              "market forecaster, which decides at its recorded cut-off (or not at all). Drop cutoff.",
                              param="cutoff")
        if flag_rate is not None:
            raise ConfigError(f"flag_rate judges a credit model's decisions at another share of flagged rows; "
                              f"{art.path} holds a market forecaster, which decides at its recorded cut-off (or "
                              "not at all). Drop flag_rate.", param="flag_rate")
        return evaluate_forecaster(art, data, baseline=baseline, timing=timing, verify_key=verify_key, since=since)
    if since is not None:
        raise ConfigError(f"since judges a market forecaster's newest dates; {art.path} holds a {art.task} model of a "
                          "table, whose hold-out is every row of the file given. Drop since (or pass a file of the "
                          "rows to judge).", param="since")
    task = get_task(art.task)
    if cutoff is not None and not task.decides:
        raise ConfigError(f"cutoff applies to classifiers; {art.path} holds a {task.name} model, which makes no "
                          "decisions. Drop cutoff.", param="cutoff")
    if flag_rate is not None and not task.decides:
        raise ConfigError(f"flag_rate applies to classifiers; {art.path} holds a {task.name} model, which makes no "
                          "decisions. Drop flag_rate.", param="flag_rate")
    table = data if isinstance(data, Table) else read_table(data)
    # Hashed once: a baseline is also held to the table (check_baseline_held_out).
    digest = frame_sha256(table.frame) if baseline is not None else None
    prepared = prepare_if_trained_on(art, table, content_sha256=digest)
    note = None
    labelled: np.ndarray | None = None  # a hold-out's rows with a label, when some have none
    if prepared is not None:
        rows, split = prepared.frame.iloc[prepared.split.test], "test"
    else:
        rows, split = table.frame, "hold-out (all rows)"
        fitted_note, none_in_training = _fitted_rows_warning(art, table)
        notes = [n for n in (None if none_in_training else _copy_warning(art, table), fitted_note) if n]
        target = art.schema.target
        unlabelled = int(rows[target].isna().sum()) if target in rows.columns else 0
        if unlabelled:  # left out, as training leaves them out (the whole file was refused: a walk-through)
            labelled = rows[target].notna().to_numpy()
            if not labelled.any():
                raise DataError(f"Every one of the {len(rows):,} rows of {table.source} has no label ({target!r} "
                                "empty): there is no outcome to evaluate against. Evaluate rows whose outcome is "
                                "known.", param="data")
            split = "hold-out (its labelled rows)"
            notes.append(f"{unlabelled:,} row(s) of {table.source} have no label ({target!r} empty) and were left out, "
                         "as training leaves them out.")
        note = "\n".join(notes) if notes else None
    y = art.schema.labels(rows if labelled is None else rows[labelled], table.source)
    single = task.decides and len(np.unique(y)) < 2  # rows of one class (or none)
    one_class = (single and len(y) > 0 and prepared is None and baseline is None and flag_rate is None
                 and cutoff is None)
    if single and not one_class:
        # The metrics' own error named no file and no fix (a review, 2026-12-03): a fraud hold-out of
        # one quiet day holds no fraud.
        only = art.schema.positive if len(y) and y[0] == 1 else art.schema.negative
        judged = "The test split" if split == "test" else "The rows"
        alone = (" Without --baseline, --flag-rate and --cutoff, evaluate back-tests the mean prediction on such rows."
                 if prepared is None and len(y) else "")
        raise DataError(f"{judged} of {table.source}: {len(y):,} row(s), every one of class {only!r} in "
                        f"column {art.schema.target!r}: AUC and the decision metrics need both classes. Evaluate on "
                        f"rows with both outcomes (a longer period).{alone}", param="data")
    x = art.tabular.transform(rows, table.source)  # names a missing column first; a bad value by its file row
    if labelled is not None:  # encoded whole (above), so an error names the file's row; judged on the labelled
        x, rows = x[labelled], rows[labelled]
    empty: dict[str, int] = {}  # of the unseen rows, those missing (empty or blank) where training had none
    unseen = unseen_counts(rows, art.tabular, empty) if prepared is None else {}
    imputed = blank_numbers(rows, art.tabular, table.source) if prepared is None else {}  # filled with the median
    outside = _outside_counts(rows, art) if prepared is None else {}  # beyond every training value, as score counts
    served = check_served_model(art, x, split)
    if one_class:  # the served model checked and the rows' notes counted as for any hold-out (a review)
        # Scored once for both, refused where one is not finite: a NaN mean read p 1, PASS (a review).
        held = finite_scores(task.scores(art.model, x))
        backtest = _one_class_backtest(art, held, y, split, note)
        backtest["served_model"] = served
        # A year without a default is the low-default book's usual hold-out: its grades too.
        backtest.update(_pd_grades(art, y, held, grades))
        _judged_by_period(backtest, _by_period(rows, y, held, backtest.get("pd_grades"), periods, table.source,
                                               _level_of(art).get("central_tendency")))
        for key, value in (("unseen", unseen), ("unseen_empty", empty if unseen else None), ("imputed", imputed),
                           ("outside", outside)):
            if value:
                backtest[key] = value
        return backtest
    # The same trust as the artifact: with a key, the baseline must be signed by it too.
    base = None if baseline is None else baseline if isinstance(baseline, Artifact) else load(baseline,
                                                                                             verify_key=verify_key)
    if base is not None:  # the artifact read these rows: a baseline of other columns is the cause
        _check_baseline_columns(base, rows.columns, table.source)
        check_same_question(art, base)
        check_baseline_held_out(art, base, judged=prepared, table_sha256=None if prepared is not None else digest)
    x_base = None if base is None else base.tabular.transform(rows, table.source)
    point: OperatingPoint | None = art.operating_point if task.decides else None
    reference = None
    if flag_rate is not None:
        reference = task.scores(art.model, x) if base is None or x_base is None else task.scores(base.model, x_base)
        point = OperatingPoint(cutoff=cutoff_at_flag_rate(reference, flag_rate), method="flag_rate",
                               flag_rate=float(flag_rate))
    elif cutoff is not None:  # a policy's cut-off, used as given
        point = OperatingPoint(cutoff=float(cutoff), method="cutoff")
    given = cutoff is not None
    cutoff = None if point is None else point.cutoff
    if base is None:
        metrics, _ = model_evidence(art.model, x, y, cutoff, timing=timing, task=task.name, timer=report_timer(),
                                     model_bytes=art.weights_bytes)
        result: dict[str, Any] = {"split": split, "rows": len(y), "task": task.name, "artifact": str(art.path),
                                  "model": metrics, "served_model": served}
        if note is not None:
            result["note"] = note
        if unseen:
            result["unseen"] = unseen
            result["unseen_empty"] = empty
        if imputed:
            result["imputed"] = imputed
        if outside:
            result["outside"] = outside
        if point is not None:
            result["operating_point"] = {**point.to_dict(), "description": _describe(point, flag_rate, "artifact", reference,
                                                                                      task.name, given),
                                         "flagged": metrics.get("flagged_rate")}
        scores = task.scores(art.model, x) if task.decides else None
        if prepared is None and scores is not None:
            result.update(_against_validation(art, metrics, y, scores))
        if scores is not None:
            level = _level_of(art)
            result.update(_pd_grades(art, y, scores, grades))
            _judged_by_period(result, _by_period(rows, y, scores, result.get("pd_grades"), periods, table.source,
                                                 level.get("central_tendency")))
            if prepared is not None and level and "pd_grades" in result:
                # Its own test split, whose rate is the sample's: PDs at a long-run rate read too low
                # or too high in every grade by design (evaluate said "recalibrate": a review).
                result["pd_grades"]["central_tendency"] = level["central_tendency"]
            result.update(level)
        return result
    report = compare_models(base.model, art.model, x, y, cutoff, timing=timing, timer=report_timer(), split=split,
                            sizes=(base.weights_bytes, art.weights_bytes),
                            x_teacher=x_base, task=task.name, operating_point=point)
    if point is not None and (flag_rate is not None or given):
        report["operating_point"]["description"] = _describe(point, flag_rate, "baseline", reference, task.name, given)
    report["artifact"], report["baseline"] = str(art.path), str(base.path)
    if task.decides and x_base is not None:
        p_base, p_art = task.scores(base.model, x_base), task.scores(art.model, x)
        from finlite.evaluate.validation import MIN_INTERVAL_CLASS_ROWS

        # Five of each class at least, as the discrimination section's intervals: DeLong's variance
        # from two defaults gave an interval of +-0.02 and p 1 (a low-default walk-through, 2026-12-07).
        if MIN_INTERVAL_CLASS_ROWS <= int(np.sum(y)) <= len(y) - MIN_INTERVAL_CLASS_ROWS:
            # Is the challenger's ranking better beyond noise? The paired DeLong test (a champion/
            # challenger comparison had agreement and a swap set, no test: a monitoring walk-through).
            from finlite.evaluate.metrics import paired_auc_difference

            report["auc_difference"] = {**paired_auc_difference(y, p_base, p_art), "method": "DeLong, paired",
                                        "of": "artifact - baseline"}
        if flag_rate is None and not given:
            own = _own_cutoffs(base, art, p_base, p_art, y)
            if own is not None:
                report["own_cutoffs"] = own
    _with_preprocessor_sizes(report, base, art)
    if note is not None:
        report["note"] = note
    if unseen:
        report["unseen"] = unseen
        report["unseen_empty"] = empty
    if imputed:
        report["imputed"] = imputed
    if outside:
        report["outside"] = outside
    report["served_model"] = served
    return report


def _own_cutoffs(base: Artifact, art: Artifact, p_base: np.ndarray, p_art: np.ndarray,
                 y: np.ndarray) -> dict[str, Any] | None:
    """Champion and challenger each deciding at its own recorded cut-off, where the two differ: the
    comparison judged both at the artifact's, so its swap set was not the decisions a swap would
    change (a monitoring walk-through, 2026-12-06: the champion flagged 10.7 % there, 4.8 % at its
    own). The swap set with each cell's rows and positives (the swap-in and swap-out bad rates a
    champion/challenger decision reads); None when both record the same cut-off."""
    from finlite.evaluate.validation import mcnemar

    theirs, mine = base.decision_cutoff, art.decision_cutoff
    if theirs is None or mine is None or float(theirs) == float(mine):
        return None
    flag_b, flag_a = p_base >= float(theirs), p_art >= float(mine)
    y = np.asarray(y).astype(bool)
    right_b, right_a = flag_b == y, flag_a == y

    def cell(mask: np.ndarray) -> dict[str, Any]:
        n = int(mask.sum())
        bad = int((mask & y).sum())
        return {"rows": n, "positives": bad, "positive_rate": bad / n if n else None}

    return {"baseline_cutoff": float(theirs), "artifact_cutoff": float(mine),
            "flagged_by_baseline": float(flag_b.mean()), "flagged_by_artifact": float(flag_a.mean()),
            # What a fraud team staffs for and is judged by: alerts, and positives caught (McNemar weighs
            # a missed fraud and an avoided false alert alike: a fraud walk-through, 2026-12-06).
            "alerts": {"baseline": int(flag_b.sum()), "artifact": int(flag_a.sum())},
            "positives_caught": {"baseline": int((flag_b & y).sum()), "artifact": int((flag_a & y).sum()),
                                 "of": int(y.sum())},
            "agreement": float((flag_b == flag_a).mean()),
            # Which one decides more rows right: b = the baseline alone right, c = the artifact alone.
            "mcnemar": mcnemar(int((right_b & ~right_a).sum()), int((~right_b & right_a).sum())),
            "same_budget": _same_budget(p_base, p_art, y),
            "swap": {"both": cell(flag_b & flag_a), "baseline_only": cell(flag_b & ~flag_a),
                     "artifact_only": cell(~flag_b & flag_a), "neither": cell(~flag_b & ~flag_a)}}


def _same_budget(p_base: np.ndarray, p_art: np.ndarray, y: np.ndarray) -> list[dict[str, Any]]:
    """At each alert budget (the band's rates, and a fraud team's 0.1 % and 0.5 % where the rows
    allow 20 alerts), each model cut at its own score for that share of the rows (rows tied at the
    cut all flagged: ``baseline_alerts`` / ``artifact_alerts`` then exceed ``alerts``): the alerts
    both raise (Jaccard) and the positives each catches. The table's band cuts both at the baseline's
    score, which flags almost every row of a model on another score scale (a logistic challenger
    beside a LightGBM champion: "agreement 1.5 %": a fraud walk-through, 2026-12-06)."""
    from finlite.evaluate.operating import FLAG_RATE_BAND, LOW_FLAG_RATES, MIN_ALERTS

    out = []
    n = len(y)
    for rate in (*LOW_FLAG_RATES, *FLAG_RATE_BAND):
        k = round(rate * n)
        if k < MIN_ALERTS:
            continue
        # Each model's cut at its k-th highest score, ties at it included: the rows' order in the file
        # decides nothing (a stable sort split ties by position: a review, 2026-12-06), and a tie
        # that takes more than k rows is said.
        top_b = p_base >= np.partition(p_base, n - k)[n - k]
        top_a = p_art >= np.partition(p_art, n - k)[n - k]
        either = int((top_b | top_a).sum())
        out.append({"flag_rate": rate, "alerts": k, "baseline_alerts": int(top_b.sum()),
                    "artifact_alerts": int(top_a.sum()),
                    "overlap": int((top_b & top_a).sum()) / either if either else None,
                    "baseline_caught": int((top_b & y).sum()), "artifact_caught": int((top_a & y).sum()),
                    "positives": int(y.sum())})
    return out


def _one_class_backtest(art: Artifact, p: np.ndarray, y: np.ndarray, split: str, note: str | None) -> dict[str, Any]:
    """A hold-out of one class (a year of a low-default portfolio with no default): the one test
    it allows, the mean prediction against the observed rate (the Jeffreys test, as the ECB's PD
    back-testing reads a grade with no default), where evaluate refused the file for lacking the
    other class (a low-default walk-through, 2026-12-07). Its AUC and decision metrics need both
    classes and are not given: ``one_class`` says so. ``p`` is the model's scores of the rows."""
    from finlite.evaluate.validation import calibration_in_the_large, calibration_status

    n, d = len(y), int(np.sum(y))
    record = _with_power(calibration_in_the_large(d, n, float(np.mean(p))))
    only = art.schema.positive if d else art.schema.negative
    status = calibration_status(record)
    conservative = d == 0 and status == "FAIL"
    if conservative:
        # No default against a positive mean PD is an overestimate, which a PD back-test (the ECB's
        # Jeffreys test is one-sided) reads as conservative, not as a failure: WARN (a review).
        status = "WARN"
    result: dict[str, Any] = {
        "split": split, "rows": n, "task": art.task, "artifact": str(art.path),
        "one_class": {"class": str(only), "rows": n, "conservative": conservative,
                      "why": (f"every row is of class {only!r}: the AUC and the decision metrics need both classes, so "
                              "only the mean prediction is judged against the observed rate")},
        "calibration_in_the_large": record, "calibration_status": status, **_level_of(art)}
    if note is not None:
        result["note"] = note
    return result


def _pd_grades(art: Artifact, y: np.ndarray, scores: np.ndarray, grades: tuple[float, ...] | None) -> dict[str, Any]:
    """``{"pd_grades": ...}`` for a binary credit model's scores (:func:`finlite.evaluate.validation.grade_record`):
    on the scale ``grades`` when given (``()``: finlite's generic one), else on the one its report
    recorded (``scale_recorded``), else on finlite's generic one, where the model is a credit
    model by the domain it was judged in (its report's, else its training file's name: the
    evaluated file's name made a credit model a fraud one, a review, 2026-12-07); else nothing."""
    if art.task != "binary":
        return {}
    if _artifact_domain(art) != "credit":
        if grades is not None:  # as compress and report refuse it (a review, 2026-12-07)
            raise ConfigError(f"grades back-tests a credit model's PDs grade by grade; {art.path} is a fraud model (by "
                              "the domain it was judged in, or its training file's name), which has no PD grades. "
                              "Drop grades.", param="grades")
        return {}
    from finlite.evaluate.validation import grade_record

    recorded = _recorded_scale(art) if grades is None else ()
    record = grade_record(y, scores, grades or recorded or None)
    if recorded:
        # The bank's scale, given at compress or report and kept in report.json's options: a monthly
        # back-test that gives no --grades reads it, not finlite's generic one (a validator's
        # walk-through, 2026-12-07: evaluate used the generic scale where report used the bank's).
        record["scale_recorded"] = True
    return {"pd_grades": record}


def _check_period_option(art: Artifact, column: Any, baseline: Any, freq: Any = None,
                         domain: str | None = None) -> None:
    """Refuse ``period_column`` where there are no PDs to back-test over periods, before any work
    (``domain``: the one the judging report is built in; None: the artifact's own).

    Raises:
        ConfigError: not a column name, a baseline given, no credit model's PDs, or a
            ``period_freq`` that is none of :data:`PERIOD_FREQS` or comes without a column.
    """
    from finlite.evaluate.periods import PERIOD_FREQS

    if freq is not None and (column is None or freq not in PERIOD_FREQS):
        raise ConfigError(("period_freq groups the dates of a column into periods, and no column of dates was named: "
                           "name it too"
                           if column is None else f"period_freq is one of {', '.join(PERIOD_FREQS)}; got {freq!r}")
                          + ".", param="period_freq")
    if not isinstance(column, str) or not column.strip():
        raise ConfigError(f"period_column names the hold-out's column of periods (a year, a quarter); got {column!r}.",
                          param="period_column")
    # A forecaster has no schema (Artifact.schema refuses it with an API message): its own refusal below.
    if art.market is None and column == art.schema.target:
        raise ConfigError(f"period_column {column!r} is the model's target, the outcome the periods are judged on; name "
                          "the column of periods (a year, a quarter).", param="period_column")
    why = ("two models side by side (--baseline): back-test each on its own" if baseline is not None
           else "a market forecaster" if art.market is not None
           else f"a {art.task} model" if art.task != "binary"
           else "a fraud model (by the domain it was judged in, or its training file's name), which has no PDs"
           if (domain or _artifact_domain(art)) != "credit" else None)
    if why is not None:
        raise ConfigError(f"period_column back-tests one credit model's PDs period by period; {art.path} is judged here "
                          f"as {why}. Drop period_column.", param="period_column")


def _by_period(rows: Any, y: np.ndarray, scores: np.ndarray, graded: Mapping[str, Any] | None,
               periods: tuple[str | None, str | None], source: str,
               central_tendency: float | None = None) -> dict[str, Any]:
    """``{"by_period": ...}``: the PD back-test over the periods of ``periods`` (the column, and
    how its dates are grouped: None for its values as they are) in the judged rows
    (:func:`finlite.evaluate.periods.read_periods`; :func:`finlite.evaluate.validation.period_backtest`,
    on the master scale the grades were judged on, with the model's recorded central tendency),
    or nothing without a column. The periods' back-test judges the level (the long run, or below
    three periods the pooled rows one-sided): ``calibration_judged_by`` says so beside the pooled
    ``calibration_status``.

    Raises:
        DataError: the periods cannot be read (:func:`~finlite.evaluate.periods.read_periods`).
    """
    column, freq = periods
    if column is None:
        return {}
    from finlite.evaluate.periods import overlap_note, read_periods, time_note
    from finlite.evaluate.validation import period_backtest

    codes, names = read_periods(rows, column, freq, source)
    scale = graded.get("scale") if isinstance(graded, Mapping) else None
    record = period_backtest(y, scores, codes, names, scale, central_tendency)
    said, untimely = overlap_note(column, freq, names), None if freq else time_note(column, names)
    return {"by_period": {"column": column, "freq": freq, **record, **({"overlap_note": said} if said else {}),
                          **({"time_note": untimely} if untimely else {})},
            "calibration_judged_by": "by_period"}


def _judged_by_period(result: dict[str, Any], periods: Mapping[str, Any]) -> None:
    """Put the back-test over the periods (:func:`_by_period`'s record, if any) into ``result``:
    where it judges the level, ``calibration_status`` is its status, as report --holdout's
    calibration section takes it, and the pooled test's moves to ``calibration_status_pooled``
    (the top-level key said FAIL for the pooled rows beside a back-test over the periods that
    passed: a validator's re-performance, 2026-12-07)."""
    result.update(periods)
    by = periods.get("by_period")
    if isinstance(by, Mapping) and "calibration_status" in result:
        result["calibration_status_pooled"] = result["calibration_status"]
        result["calibration_status"] = by["status"]


def _recorded_scale(art: Artifact) -> tuple[float, ...]:
    """The master scale the artifact's report recorded (``--grades`` at compress or report), or ()."""
    if "report.json" not in art.manifest.get("files", {}):
        return ()
    from finlite.jobs.report import ReportOptions, _stored_report

    try:
        return ReportOptions.from_dict(_stored_report(art).get("options")).grades
    except ConfigError as exc:  # the artifact's file, not the user's --grades
        raise ArtifactError(f"{art.path / 'report.json'}'s options cannot be read ({exc}); the file was altered. "
                            "Give the scale with --grades, or build the report again.") from None


def _artifact_domain(art: Artifact) -> str:
    """What a binary model's flags decide (:data:`finlite.evaluate.sections.DOMAINS`): the domain
    its report was built in, else its training file's name as ``report`` reads it."""
    if "report.json" in art.manifest.get("files", {}):
        from finlite.jobs.report import _recorded_domain, _stored_report

        domain = _recorded_domain(_stored_report(art))  # its verified bytes, read as report reads them
        if domain is not None:
            return domain
    data = art.manifest.get("data")
    return table_domain(data.get("source") if isinstance(data, Mapping) else None)


#: The one-sided level of calibration_in_the_large's test where it finds a mean PD too low (its
#: 1 %, two-sided).
_CITL_ONE_SIDED = 0.005


def _with_power(record: dict[str, Any]) -> dict[str, Any]:
    """A calibration-in-the-large record with ``power_2x``: the chance its test (1 %, two-sided)
    finds the mean PD too low were the true rate twice it (:func:`finlite.evaluate.validation.grade_power`
    at 0.5 % one-sided; None from a PD of 50 %). Ten rows of no default read a bare PASS, which no
    test of so few rows could have failed (a validator's walk-through, 2026-12-07)."""
    from finlite.evaluate.validation import grade_power

    return {**record, "power_2x": grade_power(int(record["rows"]), float(record["mean_predicted"]), _CITL_ONE_SIDED)}


def _against_validation(art: Artifact, metrics: Mapping[str, Any], y: np.ndarray, p: np.ndarray) -> dict[str, Any]:
    """A hold-out's numbers beside the model's own when it was validated (its test split's AUC and
    Gini), and its mean prediction beside the observed rate with the Jeffreys test: evaluate
    printed an AUC of 0.758 with nothing to read it against, and PDs of 4.4 % beside 12.1 %
    defaults without a word (a monitoring walk-through, 2026-12-06). ``report --holdout`` judges
    both, with intervals."""
    from finlite.evaluate.metrics import auc_decline
    from finlite.evaluate.validation import calibration_in_the_large, calibration_status

    out: dict[str, Any] = {}
    test = (art.manifest.get("metrics") or {}).get("test") or {}
    then, rows, positives = test.get("auc"), test.get("rows"), test.get("positives")
    n, d = len(y), int(np.sum(y))
    if (isinstance(then, (int, float)) and not isinstance(then, bool) and isinstance(rows, int)
            and isinstance(positives, int) and 0 < positives < rows and 0 < d < n):
        out["since_validation"] = auc_decline(float(then), rows, positives, y, p)
    if 0 < d < n:
        record = _with_power(calibration_in_the_large(d, n, float(np.mean(p, dtype=np.float64))))
        if (calibration_status(record) == "FAIL" and record["mean_predicted"] > record["observed_rate"]
                and _artifact_domain(art) == "credit"):
            # PDs above the defaults are conservative, as a PD back-test reads them (one-sided): the
            # same rule as a hold-out of no default, which read milder than one of a default (a
            # validator's walk-through, 2026-12-07).
            record["conservative"] = True
        out["calibration_in_the_large"] = record
        # The verdict report --holdout gives the mean PD, for a scheduler reading --json (a
        # two-class hold-out had none: a validator's walk-through, 2026-12-07).
        out["calibration_status"] = "WARN" if record.get("conservative") else calibration_status(record)
    return out


def _level_of(art: Artifact) -> dict[str, Any]:
    """``{"central_tendency": rate}`` where the model's PDs were calibrated to a long-run rate
    (``train --central-tendency``, kept by its students): one period's rate may sit off it, which
    evaluate said nothing of where report --holdout did (a review, 2026-12-07)."""
    from finlite.training.central import recorded_central_tendency

    rate = recorded_central_tendency(art.manifest.get("steps") or [], art.path / "manifest.json",
                                     task=art.manifest.get("task"), model=art.model)
    return {} if rate is None else {"central_tendency": rate}


def _outside_counts(rows: Any, art: Artifact) -> dict[str, int]:
    """Rows per numeric field of a hold-out beyond every training value, counted as ``finlite
    score`` counts them (the runtime encoder's Arrow path): evaluate told a hold-out's unseen and
    blank values, not these (an MLOps walk-through, 2026-12-06: 125 credit amounts beyond the
    training range went unsaid). Empty where the encoder cannot read the rows as score would."""
    import pyarrow as pa

    from finlite.runtime.encoder import Encoder

    try:
        encoder = Encoder(art.tabular.to_dict())
        columns = [c for c in encoder.fields if c in rows.columns]
        prepared = encoder.prepare_arrow(pa.Table.from_pandas(rows[columns], preserve_index=False),
                                         source="the hold-out")
    except (DataError, ValueError, TypeError, pa.ArrowException):
        return {}
    return dict(prepared.outside)


def _describe(point: OperatingPoint, flag_rate: float | None, reference: str,
              scores: np.ndarray | None = None, task: str = "binary", given: bool = False) -> str:
    """How the evaluation's cut-off was set, for the result and the table. With the reference's
    ``scores``, the share it flags at that cut-off is the one achieved: on 200 rows a requested
    0.1 % is one row, 0.5 % (it said "flags 0.1 %": a review, 2026-12-03)."""
    if given:
        return f"cut-off {point.cutoff:.6g} on P(positive), given (--cutoff), not the artifact's own"
    if flag_rate is None:
        return f"{point.describe(rate_name(task))}, the artifact's own"
    text = f"cut-off {point.cutoff:.6g} on P(positive), chosen to flag {percent(flag_rate)} of these rows"
    if scores is None or not len(scores):
        return text
    flagged = int(np.count_nonzero(np.asarray(scores) >= point.cutoff))
    return f"{text}; the {reference} flags {percent(flagged / len(scores))} of them there ({flagged:,} rows)"


def check_since(value: Any) -> np.datetime64 | None:
    """``since`` (``evaluate --since``) as a day: a ``YYYY-MM-DD`` text, a date or a timestamp.

    Raises:
        ConfigError: naming the value, when it is no such date.
    """
    if value is None:
        return None
    text = value.isoformat()[:10] if isinstance(value, datetime.date) else value
    if isinstance(text, np.datetime64):
        text = str(text.astype("datetime64[D]"))
    if isinstance(text, str) and len(text.strip()) == 10:
        try:
            day = np.datetime64(text.strip(), "D")
        except ValueError:
            day = None
        if day is not None and str(day) == text.strip():
            return day
    raise ConfigError(f"since must be a date written YYYY-MM-DD (e.g. 2019-01-02); got {value!r}.", param="since")


def _series_of(art: Artifact, data: Any, since: np.datetime64 | None = None) -> tuple[Any, str]:
    """The artifact's test period of its training table (same split, same fitted preprocessor),
    or every out-of-sample date of another price file: each date more than the walk's gap after
    the last date the model was fitted or early-stopped on (the preprocessor is not re-fitted:
    nothing about that file is learned). An artifact that records no such date (an older one)
    gets the other file's last dates by the same walk-forward settings, checked to lie after it.
    With ``since``, any file (its own too) is judged on its out-of-sample dates from that day on."""
    from finlite.artifact import prepare_series_like
    from finlite.data.market import PriceTable, prepare_holdout, prepare_series, read_prices
    market = art.market
    if market is None:
        raise ConfigError(f"{art.path} holds a tabular model, not a market forecaster.", param="artifact")
    if isinstance(data, Table):
        data = data.frame
    # The model's window is fixed: a short history is told to give more rows, not to change --window.
    prices = data if isinstance(data, PriceTable) else read_prices(
        data, market.spec, fixed_window=f"The window is {art.path}'s own")
    dates = (art.manifest.get("data") or {}).get("dates") or {}
    fitted = dates.get("validation") or dates.get("train")
    if since is not None:
        if not fitted:
            raise ConfigError(f"{art.path} records no dates it was fitted on (an artifact from before they were "
                              "recorded), so no date can be shown to be out of sample: leave the 'since' parameter out, or "
                              "retrain the model.", param="since")
        recorded = ((art.manifest.get("metrics") or {}).get("forecast") or {}).get("mase_scale")
        holdout = prepare_holdout(prices, market, recorded_walk(art), after=fitted[1], mase_scales=recorded,
                                  since=since)
        return holdout, f"every date of {prices.source} from {since}"
    if prices.content_sha256 == art.manifest["data"].get("content_sha256"):
        return prepare_series_like(art, prices), "test"
    if fitted:
        # Both checked when the manifest was read (_manifest.check_manifest).
        recorded = ((art.manifest.get("metrics") or {}).get("forecast") or {}).get("mase_scale")
        holdout = prepare_holdout(prices, market, recorded_walk(art), after=fitted[1], mase_scales=recorded)
        return holdout, f"every date of {prices.source} after {fitted[1]} and the purge"
    series = prepare_series(prices, market.spec, walk=recorded_walk(art), preprocessor=market)
    _check_out_of_sample(art, series, prices.source)
    return series, f"test period of {prices.source}"


def _check_out_of_sample(art: Artifact, series: Any, source: str) -> None:
    """Refuse another file's test period when it does not lie after the dates the model was fitted
    and early-stopped on, plus the purge: its scores would be in-sample, reported as a test.

    The last ``test_fraction`` of a file that starts earlier or ends earlier than the artifact's
    own file (more history, or a truncated copy) can fall inside its training or validation part.

    Raises:
        DataError: naming the file, where its test period starts and the last fitted date.
    """
    dates = (art.manifest.get("data") or {}).get("dates") or {}
    fitted = dates.get("validation") or dates.get("train")
    if not fitted or not len(series.windows_test):
        return
    last_fitted = np.datetime64(str(fitted[1]), "D")
    test = np.asarray(series.windows_test.dates).astype("datetime64[D]")
    # The purge, in the file's own dates: the last validation label reads the price h rows ahead.
    all_dates = np.unique(np.asarray(series.table.frame[series.spec.date_column]).astype("datetime64[D]"))
    between = int(np.count_nonzero((all_dates > last_fitted) & (all_dates < test.min())))
    if between < int(series.split.gap):
        first = np.datetime_as_string(test.min(), unit="D")
        raise DataError(
            f"The test period of {source} starts on {first}, but the model was fitted and early-stopped on dates up "
            f"to {fitted[1]} (and its labels read {series.split.gap} date(s) beyond): scores there would be in-sample, "
            "not a test. Evaluate on the artifact's own price file, or on one that extends it with newer rows, so "
            f"that its last {series.walk.test_fraction:.0%} of dates start more than {series.split.gap} date(s) "
            f"after {fitted[1]}.", param="data")


def evaluate_forecaster(art: Artifact, data: Any, *, baseline: str | Path | Artifact | None = None,
                        timing: bool = True, verify_key: Any = None, cost_bps: float | None = None,
                        since: Any = None) -> dict[str, Any]:
    """Forecasting evidence of a market artifact on its test period, optionally beside a baseline.

    On the artifact's training table its own test period is scored (the walk-forward split its
    manifest records); on another price file, every date after the model's fitted period and the
    purge (:func:`~finlite.data.market.prepare_holdout`). The
    result has the task's metrics and cost (``model``; ``teacher``/``student`` with a baseline, the
    baseline in the teacher's place), the forecasting evidence (``forecast``: metrics pooled and
    per fold, Diebold–Mariano tests against the naive forecast and the baseline, the trading view
    and buy-and-hold at the artifact's recorded costs or ``cost_bps``) and the served-model check.
    ``since`` (a date) judges only the out-of-sample dates from that day on, on any price file:
    a file that extends the training one also holds the training run's own test period.

    Raises:
        ConfigError: the baseline is not a forecaster of the same dates.
        ArtifactError: the exported model disagrees with the weights.
    """
    check_flags("evaluate_forecaster", timing=timing)
    from finlite.jobs.forecast import DEFAULT_COST_BPS, forecast_evidence, scale_headline

    task = get_task(art.task)
    first = check_since(since)
    series, split = _series_of(art, data, first)
    recorded = (art.manifest.get("metrics") or {}).get("forecast") or {}
    cost = float(cost_bps if cost_bps is not None else recorded.get("cost_bps", DEFAULT_COST_BPS))
    cutoff = art.decision_cutoff
    x, y = series.x_test, series.y_test
    served = check_served_model(art, x, split)
    head: dict[str, Any] = {"split": split, "rows": len(y), "task": task.name, "artifact": str(art.path),
                            "objective": series.spec.objective, "horizon": series.spec.horizon,
                            # gaps in the business-day calendar, weekend dates: worth reading beside the metrics
                            "data_notes": list(series.table.notes)}
    if baseline is None:
        metrics, p = model_evidence(art.model, x, y, cutoff, timing=timing, task=task.name, timer=report_timer(),
                                     model_bytes=art.weights_bytes)
        evidence = forecast_evidence(series, {"model": p}, cutoff=cutoff, cost_bps=cost, teacher="model")
        result = {**head, "model": metrics, "forecast": evidence, "served_model": served}
        scale_headline(result, evidence, sides=("model",))
        point = art.operating_point if task.decides else None
        if point is not None:  # as for a credit model: the cut-off and how it was set
            result["operating_point"] = {**point.to_dict(), "description": _describe(point, None, "artifact",
                                                                                      task=task.name),
                                         "flagged": metrics.get("flagged_rate")}
        return result
    base = baseline if isinstance(baseline, Artifact) else load(baseline, verify_key=verify_key)
    if base.market is None or base.task != art.task:
        raise ConfigError(f"The baseline {base.path} is a {base.task} model; {art.path} is a {art.task} forecaster. "
                          "Compare it with a forecaster of the same objective (e.g. its teacher).", param="baseline")
    mine, theirs = art.market.spec, base.market.spec  # type: ignore[union-attr]
    differ = [f"{name} {getattr(theirs, name)!r} against {getattr(mine, name)!r}"
              for name in ("objective", "target", "horizon") if getattr(theirs, name) != getattr(mine, name)]
    if differ:
        # return, volatility and price are all regressions: a volatility model was "the teacher" of a
        # return model, with direction agreement and trading figures (a review, 2026-12-03).
        raise ConfigError(f"The baseline {base.path} forecasts something else than {art.path} ({'; '.join(differ)}). "
                          "Compare it with a forecaster of the same objective, target and horizon (e.g. its "
                          "teacher).", param="baseline")
    try:
        base_series, _ = _series_of(base, data, first)
    except DataError as exc:
        if first is None:
            raise
        # The baseline's own fitted dates refused the day: say whose they are (the message spoke of
        # "the model", read as the artifact evaluated: a review).
        raise DataError(f"For the baseline {base.path}: {exc}", param=exc.param) from exc
    same = (len(base_series.y_test) == len(y)
            and np.array_equal(base_series.windows_test.dates, series.windows_test.dates))
    if not same:
        raise ConfigError(f"The baseline {base.path} forecasts other dates of this file than {art.path} (another "
                          "window, horizon or walk-forward split); compare artifacts trained with the same spec.",
                          param="baseline")
    report = compare_models(base.model, art.model, x, y, cutoff, timing=timing, timer=report_timer(), split=split,
                            sizes=(base.weights_bytes, art.weights_bytes),
                            x_teacher=base_series.x_test, task=task.name,
                            operating_point=art.operating_point if task.decides else None,
                            rows=series_rows(series, "test"))
    p_base = task.scores(base.model, base_series.x_test)
    p_art = task.scores(art.model, x)
    report["forecast"] = forecast_evidence(series, {"baseline": p_base, "artifact": p_art}, cutoff=cutoff,
                                           cost_bps=cost, teacher="baseline")
    scale_headline(report, report["forecast"])
    report.update({k: v for k, v in head.items() if k not in report})
    report["baseline"], report["served_model"] = str(base.path), served
    _with_preprocessor_sizes(report, base, art)
    return report


def _with_preprocessor_sizes(report: dict[str, Any], base: Artifact, art: Artifact) -> None:
    """The preprocessor.json each model reads, beside the size ratio of their weights (which the
    table's sentence says leaves them out): as compress and finlite report give it."""
    from finlite.jobs.compress import preprocessor_sizes

    sizes = preprocessor_sizes(base, art)
    if sizes is not None:
        report["preprocessor_bytes"] = sizes
