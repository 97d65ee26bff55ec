"""The ``finlite`` command line: a thin layer over :mod:`finlite.workflow`.

Exit codes: 0 success, 2 bad usage or bad input (one paragraph saying what was wrong and how
to fix it, never a traceback).
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from finlite.errors import ConfigError, FinliteError

F = TypeVar("F", bound=Callable[..., Any])

app = typer.Typer(
    name="finlite",
    help="Make financial models lightweight: distil, prune and evaluate credit models, with evidence.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
datasets_app = typer.Typer(help="Datasets bundled with finlite (no network needed).", no_args_is_help=True)
app.add_typer(datasets_app, name="datasets")


def _friendly(func: F) -> F:
    """Turn finlite's errors (and unreadable files) into a message on stderr and exit code 2."""
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except FinliteError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None
        except OSError as exc:
            typer.echo(f"error: {exc.strerror or exc} ({exc.filename}); check the path and its permissions.", err=True)
            raise typer.Exit(2) from None
    return wrapper  # type: ignore[return-value]


def _widths(text: str, option: str) -> tuple[int, ...]:
    try:
        widths = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        widths = ()
    if not widths or any(w < 1 for w in widths):
        raise ConfigError(f"{option} takes positive layer widths separated by commas, e.g. 256,128; got {text!r}.")
    return widths


def _progress(quiet: bool) -> bool:
    # Progress bars only on a terminal: in CI logs and pipes they are noise.
    return not quiet and sys.stderr.isatty()


def _train_config(epochs: int, quiet: bool) -> Any:
    from finlite.training import TrainConfig

    return TrainConfig(epochs=epochs, progress=_progress(quiet))


Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="Hide progress bars.")]
Force = Annotated[bool, typer.Option("--force", help="Replace OUT if it already exists.")]


@app.command()
@_friendly
def train(
    data: Annotated[Path, typer.Argument(help="Training table: .csv, .csv.gz, .tsv or .parquet, one row per application.")],
    target: Annotated[str, typer.Option(help="Label column, e.g. 'default' or 'creditability'.")],
    out: Annotated[Path, typer.Option(help="Directory to write the teacher artifact to.")],
    positive: Annotated[str | None, typer.Option(help="Label of the class to score, e.g. 'bad' or 1. Default: recognised by name ('bad', 'default', 1, ...) or the minority class.")] = None,
    model: Annotated[str, typer.Option(help="Teacher: 'mlp', 'logistic', 'lightgbm' or 'xgboost' (boosted teachers also get out-of-fold scores of their training rows).")] = "mlp",
    hidden: Annotated[str, typer.Option(help="MLP hidden widths, comma-separated.")] = "256,128",
    drop: Annotated[list[str] | None, typer.Option(help="Column to ignore (repeatable), e.g. an ID or a leakage column. IDs and dates are dropped automatically.")] = None,
    categorical: Annotated[list[str] | None, typer.Option(help="Column to treat as categorical (repeatable).")] = None,
    numeric: Annotated[list[str] | None, typer.Option(help="Column to treat as numeric (repeatable).")] = None,
    date_column: Annotated[str | None, typer.Option(help="Date column: split out-of-time (oldest rows train, newest test) instead of stratified.")] = None,
    cutoff: Annotated[float, typer.Option(help="Decision cut-off on P(positive): scores at or above it are flagged.")] = 0.5,
    seed: Annotated[int, typer.Option(help="Seed of the split and of training.")] = 0,
    epochs: Annotated[int, typer.Option(help="Most training epochs (early stopping usually ends sooner).")] = 200,
    force: Force = False,
    quiet: Quiet = False,
) -> None:
    """Train a teacher model on a labelled table and save it as an artifact directory."""
    from finlite.workflow import train as run

    outcome = run(data, target=target, positive=positive, numeric=numeric, categorical=categorical, drop=drop,
                  date_column=date_column, model=model, hidden=_widths(hidden, "--hidden"), seed=seed,
                  cutoff=cutoff, config=_train_config(epochs, quiet), out=out, overwrite=force)
    m, schema = outcome.metrics["test"], outcome.data.schema
    typer.echo(f"schema: target {schema.target!r} (positive {schema.positive!r}), {len(schema.numeric)} numeric, "
               f"{len(schema.categorical)} categorical, dropped: {', '.join(schema.drop) or 'none'}")
    for note in schema.notes:
        typer.echo(f"  note: {note}")
    typer.echo(f"test split ({m['rows']} rows): AUC {m['auc']:.4f}  Gini {m['gini']:.4f}  KS {m['ks']:.4f}  "
               f"F1 {m['f1']:.4f}  Brier {m['brier']:.4f}")
    typer.echo(f"teacher artifact: {outcome.path}")


@app.command("import-teacher")
@_friendly
def import_teacher(
    booster: Annotated[Path, typer.Argument(help="A saved LightGBM text model or XGBoost JSON/UBJSON model.")],
    data: Annotated[Path, typer.Argument(help="The labelled table the booster was trained on (its feature columns by name).")],
    target: Annotated[str, typer.Option(help="Label column.")],
    out: Annotated[Path, typer.Option(help="Directory to write the teacher artifact to.")],
    positive: Annotated[str | None, typer.Option(help="Label of the class the booster scores (e.g. 1 or 'bad').")] = None,
    date_column: Annotated[str | None, typer.Option(help="Date column for an out-of-time split.")] = None,
    cutoff: Annotated[float, typer.Option(help="Decision cut-off on P(positive).")] = 0.5,
    folds: Annotated[int, typer.Option(help="Folds for the out-of-fold scores of the training rows.")] = 5,
    learning_rate: Annotated[float | None, typer.Option(help="XGBoost only: the booster's learning rate, which its file does not record (used to refit the folds).")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the split and the fold refits.")] = 0,
    force: Force = False,
) -> None:
    """Wrap an existing LightGBM or XGBoost model as a finlite teacher (no retraining of the model itself)."""
    from finlite.workflow import import_teacher as run

    outcome = run(booster, data, target=target, positive=positive, date_column=date_column, seed=seed, cutoff=cutoff,
                  folds=folds, learning_rate=learning_rate, out=out, overwrite=force)
    m = outcome.metrics["test"]
    typer.echo(f"{outcome.model.config()['library']} teacher with {outcome.model.config()['trees']} trees; "
               f"test split ({m['rows']} rows): AUC {m['auc']:.4f}  KS {m['ks']:.4f}; "
               f"out-of-fold AUC on the training split {outcome.metrics['train_oof_auc']:.4f}")
    typer.echo(f"teacher artifact: {outcome.path}")


@app.command()
@_friendly
def compress(
    teacher: Annotated[Path, typer.Argument(help="Teacher artifact directory (from 'finlite train').")],
    data: Annotated[Path, typer.Argument(help="The table the teacher was trained on (same rows, any format).")],
    out: Annotated[Path | None, typer.Option(help="Directory to write the student artifact to (not needed with --dry-run).")] = None,
    student_width: Annotated[str, typer.Option(help="Student hidden widths, comma-separated, e.g. 16 or 32,16.")] = "16",
    sparsity: Annotated[float, typer.Option(help="Share of weights (or, with --structured, hidden neurons) to prune; 0 skips pruning.")] = 0.5,
    structured: Annotated[bool, typer.Option("--structured/--unstructured", help="Remove whole neurons (the layers shrink) or single weights (stored sparsely).")] = False,
    scope: Annotated[str, typer.Option(help="'layer': each layer pruned to --sparsity; 'global': all layers ranked together.")] = "layer",
    norm: Annotated[str, typer.Option(help="Neuron score for --structured: 'l1' or 'l2' norm of incoming weights.")] = "l2",
    temperature: Annotated[float, typer.Option(help="Distillation temperature T.")] = 2.0,
    alpha: Annotated[float, typer.Option(help="Weight of the teacher term in α·T²·KL + (1−α)·CE.")] = 0.9,
    plan: Annotated[Path | None, typer.Option(help="Apply this (possibly edited) pruning plan instead of making one.")] = None,
    save_plan: Annotated[Path | None, typer.Option(help="Also write the pruning plan to this JSON file.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Distil and plan, print the plan, write it with --save-plan, and stop.")] = False,
    recipe: Annotated[Path | None, typer.Option(help="Run this YAML recipe (steps and gates) instead of the options above; with --search, use its gates.")] = None,
    preset: Annotated[str | None, typer.Option(help="Run a recipe shipped with finlite: smallest, fastest or balanced.")] = None,
    search: Annotated[bool, typer.Option("--search", help="Search students (width, depth, sparsity, bits, temperature) within --budget; keep the best that passes the gates.")] = False,
    budget: Annotated[float, typer.Option(help="Time budget of --search, in seconds.")] = 300.0,
    objective: Annotated[str, typer.Option(help="What --search picks among the candidates that pass: 'smallest' or 'fastest'.")] = "smallest",
    epochs: Annotated[int | None, typer.Option(help="Most epochs of each distillation and fine-tuning run (default: finlite's).")] = None,
    seed: Annotated[int | None, typer.Option(help="Seed (default: the teacher's).")] = None,
    force: Force = False,
    quiet: Quiet = False,
) -> None:
    """Distil a teacher into a small student, prune it, fine-tune it, and report both side by side.

    With --recipe or --preset the steps come from YAML and each is kept only if it passes the
    recipe's gates; the exit code is 1 when the final model fails a gate on the test split.
    """
    from finlite.compress import Distillation, MagnitudePruning, PruningPlan
    from finlite.evaluate.report import render_table
    from finlite.workflow import compress as run

    chosen = [name for name, value in (("--recipe", recipe), ("--preset", preset), ("--search", search or None))
              if value is not None]
    if recipe is not None and preset is not None:
        raise ConfigError("Use --recipe or --preset, not both.")
    if chosen:
        if dry_run or plan is not None:
            raise ConfigError(f"{chosen[0]} runs its own steps; --dry-run and --plan belong to the single "
                              "distil-and-prune run. Drop them, or drop " + chosen[0] + ".")
        if out is None:
            raise ConfigError("Missing --out: name the directory to write the student artifact to.")
        _compress_recipe(teacher, data, out, recipe=recipe, preset=preset, search=search, budget=budget,
                         objective=objective, epochs=epochs, seed=seed, force=force, quiet=quiet)
        return
    if out is None and not dry_run:
        raise ConfigError("Missing --out: name the directory to write the student artifact to (or use --dry-run).")
    if dry_run and save_plan is None:
        raise ConfigError("--dry-run needs --save-plan FILE: the plan is what a dry run produces.")
    pruning = MagnitudePruning(sparsity=sparsity, granularity="neuron" if structured else "weight",
                               norm=norm, scope=scope)
    ready = PruningPlan.load(plan) if plan is not None else None
    config, fine_tune = _compress_training(epochs, quiet)
    outcome = run(teacher, data, student_hidden=_widths(student_width, "--student-width"),
                  distillation=Distillation(temperature=temperature, alpha=alpha), pruning=pruning, plan=ready,
                  seed=seed, out=None if dry_run else out, overwrite=force, plan_only=dry_run,
                  progress=_progress(quiet), config=config, fine_tune=fine_tune)
    if outcome.plan is not None:
        if save_plan is not None:
            outcome.plan.save(save_plan)
        typer.echo(outcome.plan.summary())
        if save_plan is not None:
            typer.echo(f"plan written to {save_plan}")
    if dry_run:
        return
    typer.echo(render_table(outcome.report))
    typer.echo(f"student artifact: {outcome.path}\nreport: {outcome.path / 'report.md'}")


def _compress_training(epochs: int | None, quiet: bool) -> tuple[Any, Any]:
    """finlite's distillation and fine-tuning defaults, with --epochs as the cap of both."""
    from dataclasses import replace

    from finlite.workflow import DISTILL_TRAINING, FINE_TUNING

    progress = _progress(quiet)
    cap = {"epochs": epochs} if epochs else {}
    return replace(DISTILL_TRAINING, progress=progress, **cap), replace(FINE_TUNING, progress=progress, **cap)


def _compress_recipe(teacher: Path, data: Path, out: Path, *, recipe: Path | None, preset: str | None, search: bool,
                     budget: float, objective: str, epochs: int | None, seed: int | None, force: bool,
                     quiet: bool) -> None:
    """The --recipe / --preset / --search branch of ``compress``: run, print, exit 1 on a failed gate."""

    from finlite.recipe import Recipe, load_preset
    from finlite.workflow import compress_with_recipe, recipe_summary

    progress = _progress(quiet)
    config, fine_tune = _compress_training(epochs, quiet)
    spec = Recipe.load(recipe) if recipe is not None else load_preset(preset) if preset is not None else None
    if search:
        from finlite.search import search_students

        # With --recipe or --preset, the search keeps that recipe's gates.
        found = search_students(teacher, data, budget_s=budget, objective=objective, seed=seed, config=config,
                                fine_tune=fine_tune, out=out, overwrite=force, progress=progress,
                                gates=spec.gates if spec is not None else None)
        typer.echo(found.summary())
        if found.outcome is None:
            typer.echo("no candidate passed every gate on the validation split; nothing was written", err=True)
            raise typer.Exit(1)
        _print_outcome(found.outcome)
        return
    if spec is None:  # unreachable: the caller passes one of recipe, preset, search
        raise ConfigError("Name a --recipe, a --preset or --search.")
    echo = (lambda i, n, msg: typer.echo(msg, err=True)) if not quiet else None
    outcome = compress_with_recipe(teacher, data, spec, seed=seed, config=config, fine_tune=fine_tune, out=out,
                                   overwrite=force, progress=progress, on_step=echo)
    typer.echo(recipe_summary(outcome.result))
    if outcome.model is None:
        typer.echo("no step passed its gates on the validation split; nothing was written", err=True)
        raise typer.Exit(1)
    _print_outcome(outcome)


def _print_outcome(outcome: Any) -> None:
    """Side-by-side table, the gates on the test split, the paths; exit 1 when a gate fails."""
    from finlite.evaluate.report import render_table

    typer.echo(render_table(outcome.report))
    for gate in outcome.final_gates:
        typer.echo(f"gate on the test split: {'pass' if gate.passed else 'FAIL'}  {gate.message}")
    if outcome.path is not None:
        typer.echo(f"student artifact: {outcome.path}\nreport: {outcome.path / 'report.md'}")
    if not outcome.passed:
        typer.echo("the kept model fails a gate on the test split (exit code 1)", err=True)
        raise typer.Exit(1)


@app.command()
@_friendly
def evaluate(
    artifact: Annotated[Path, typer.Argument(help="Artifact directory to evaluate.")],
    data: Annotated[Path, typer.Argument(help="Labelled table: the training table (its test split is used) or a hold-out table (all rows are used).")],
    baseline: Annotated[Path | None, typer.Option(help="Another artifact (e.g. the teacher) to compare with side by side.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the metrics object as JSON instead of a table.")] = False,
    no_timing: Annotated[bool, typer.Option("--no-timing", help="Skip latency and throughput measurement.")] = False,
) -> None:
    """Score an artifact on labelled data: AUC, Gini, KS, F1, Brier, log loss, size and speed."""
    from finlite.evaluate.report import render_table
    from finlite.workflow import evaluate_artifact

    result = evaluate_artifact(artifact, data, baseline=baseline, timing=not no_timing)
    if as_json:
        typer.echo(json.dumps(result, indent=2, sort_keys=True))
    elif baseline is not None:
        typer.echo(render_table(result, names=("baseline", "artifact")))
    else:
        m = result["model"]
        typer.echo(f"{result['split']} split, {result['rows']} rows, cut-off {m['cutoff']:g}")
        for key in ("auc", "gini", "ks", "accuracy", "f1", "brier", "log_loss", "flagged_rate"):
            typer.echo(f"  {key:<14}{m[key]:.4f}")
        typer.echo(f"  {'parameters':<14}{m['parameters']:,} ({m['nonzero_parameters']:,} non-zero)")
        typer.echo(f"  {'size':<14}{m['model_bytes']:,} bytes")


@app.command()
@_friendly
def inspect(artifact: Annotated[Path, typer.Argument(help="Artifact directory.")]) -> None:
    """Verify an artifact's hashes and show its schema, steps, metrics and pruning plan."""
    from finlite.artifact import load

    art = load(artifact)
    man = art.manifest
    typer.echo(f"{art.path}: {man['role']} {man['model']['kind']} model, all {len(man['files'])} file hashes verified")
    typer.echo(f"schema: target {art.schema.target!r} positive {art.schema.positive!r}; "
               f"features: {len(art.schema.numeric)} numeric, {len(art.schema.categorical)} categorical")
    for step in man["steps"]:
        status = f" ({step['status']})" if "status" in step else ""
        failed = "; ".join(g["message"] for g in step.get("gates", []) if not g["passed"])
        typer.echo(f"step: {step.get('step') or step.get('method')}{status}{': ' + failed if failed else ''}")
    for gate in man["metrics"].get("gates", []):
        typer.echo(f"gate on the test split: {'pass' if gate['passed'] else 'FAIL'}  {gate['message']}")
    test = man["metrics"].get("test", {})
    if test:
        typer.echo(f"test AUC {test['auc']:.4f}, KS {test['ks']:.4f}, cut-off {man['cutoff']:g}")
    if art.plan is not None:
        typer.echo(art.plan.summary())


@app.command()
@_friendly
def demo(
    out: Annotated[Path, typer.Option(help="Folder for the teacher and student artifacts (replaced if present).")] = Path("runs/demo"),
    seed: Annotated[int, typer.Option(help="Seed of the split and of training.")] = 0,
    quiet: Quiet = False,
) -> None:
    """Train a teacher on the bundled German credit data, distil and prune a student, compare, export."""
    from finlite import datasets
    from finlite.compress import MagnitudePruning
    from finlite.evaluate.report import render_table
    from finlite.export import export_artifact
    from finlite.workflow import compress as run_compress
    from finlite.workflow import train as run_train

    info = datasets.info("german_credit")
    data = datasets.path(info.name)
    typer.echo(f"German credit ({info.rows} applications, target {info.target!r}, positive {info.positive!r})")
    teacher = run_train(data, target=info.target, positive=info.positive, seed=seed,
                        config=_train_config(200, quiet), out=out / "teacher", overwrite=True)
    student = run_compress(teacher.path, data, pruning=MagnitudePruning(sparsity=0.5), seed=seed,
                           out=out / "student", overwrite=True, progress=_progress(quiet))
    typer.echo(render_table(student.report))
    record = export_artifact(student.path, data, int8=True)
    fp32, int8 = record["onnx"], record["onnx_int8"]
    typer.echo(f"exported {fp32['file']} ({fp32['bytes']:,} bytes): {fp32['parity']['flips']} decisions flipped, "
               f"max |Δp| {fp32['parity']['max_abs_diff']:.1e}; {int8['file']}: "
               f"{int8['against_float']['flips']} flipped against the float model")
    typer.echo(f"teacher artifact: {teacher.path}\nstudent artifact: {student.path}\n"
               f"report: {student.path / 'report.md'}\n"
               f"next: finlite serve {student.path}   |   finlite score {student.path} BOOK.parquet -o scores.parquet")


@app.command()
@_friendly
def export(
    artifact: Annotated[Path, typer.Argument(help="Artifact directory to export (written into it as model.onnx).")],
    int8: Annotated[bool, typer.Option("--int8", help="Also write model_int8.onnx: the float model quantized to int8 (flips against float are reported).")] = False,
    data: Annotated[Path | None, typer.Option(help="The artifact's training table, for the parity check on its test split. Default: the recorded source (bundled datasets are found).")] = None,
    tolerance: Annotated[float | None, typer.Option(help="Largest |Δprobability| allowed between ONNX and the model (default 1e-5 float, 1e-3 int8).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the export record as JSON.")] = False,
) -> None:
    """Export to ONNX with a parity check on the test split; exit 1 when parity is broken."""
    from finlite.errors import ExportError
    from finlite.export import export_artifact

    try:
        record = export_artifact(artifact, data, int8=int8, tolerance=tolerance)
    except ExportError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1 if exc.parity is not None else 2) from None
    if as_json:
        typer.echo(json.dumps(record, indent=2, sort_keys=True))
        return
    typer.echo(f"parity on the {record['split']} split ({record['rows']} rows, cut-off {record['cutoff']:g}):")
    for key in ("onnx", "onnx_int8"):
        entry = record.get(key)
        if entry is None:
            continue
        if "file" not in entry:
            typer.echo(f"  int8: not written; {entry['reason']}")
            continue
        p = entry["parity"]
        typer.echo(f"  {entry['file']:<16} {entry['bytes']:>8,} bytes  max |Δp| {p['max_abs_diff']:.2e}  "
                   f"flips {p['flips']}  PASS")
        if "against_float" in entry:
            f = entry["against_float"]
            typer.echo(f"  {'':<16} int8 against the float model: max |Δp| {f['max_abs_diff']:.4f}, "
                       f"{f['flips']} decisions flipped, AUC {f['auc_float']:.4f} -> {f['auc_int8']:.4f}")
    typer.echo(f"written into {artifact}")


@app.command()
@_friendly
def score(
    artifact: Annotated[Path, typer.Argument(help="Exported artifact directory (see 'finlite export').")],
    input: Annotated[Path, typer.Argument(help="Records to score: .csv, .csv.gz, .tsv or .parquet with the training columns.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Where to write ids, score and decision: .csv or .parquet.")],
    id_column: Annotated[list[str] | None, typer.Option("--id-column", help="Column to copy through to the output (repeat for several).")] = None,
    chunk_rows: Annotated[int, typer.Option(help="Rows read, scored and written at a time (memory stays flat).")] = 65536,
    threads: Annotated[int | None, typer.Option(help="ONNX Runtime threads (default: all cores).")] = None,
    int8: Annotated[bool, typer.Option("--int8", help="Score with model_int8.onnx instead of model.onnx.")] = False,
    force: Force = False,
    quiet: Quiet = False,
) -> None:
    """Score a whole portfolio file in chunks; writes nothing unless every row scores."""
    import os

    from finlite.runtime import Predictor
    from finlite.runtime.batch import score_file

    predictor = Predictor(artifact, variant="int8" if int8 else "fp32", threads=threads or os.cpu_count() or 1)
    summary = score_file(predictor, input, output, id_columns=id_column or [], chunk_rows=chunk_rows,
                         progress=_progress(quiet), overwrite=force)
    typer.echo(f"scored {summary.rows:,} rows in {summary.seconds:.2f} s ({summary.rows_per_second:,.0f} rows/s); "
               f"{summary.positives:,} at or above the cut-off {predictor.cutoff:g}; wrote {summary.output}")


@app.command()
@_friendly
def serve(
    artifact: Annotated[Path, typer.Argument(help="Exported artifact directory (see 'finlite export').")],
    host: Annotated[str, typer.Option(help="Interface to bind. The default accepts local connections only.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    token_file: Annotated[Path | None, typer.Option(help="File holding a bearer token that /predict and /metadata then require.")] = None,
    audit_log: Annotated[Path, typer.Option(help="Append-only JSON-lines file: one line per prediction (request id, time, model hash, score, decision).")] = Path("finlite-audit.jsonl"),
    no_audit: Annotated[bool, typer.Option("--no-audit", help="Write no audit log.")] = False,
    audit_features: Annotated[bool, typer.Option("--audit-features", help="Also write each record's raw features to the audit log (personal data: off by default).")] = False,
    max_body_bytes: Annotated[int, typer.Option(help="Largest request body accepted; larger ones get 413.")] = 1 << 20,
    access_log: Annotated[bool, typer.Option("--access-log", help="Print one line per HTTP request.")] = False,
) -> None:
    """Serve an artifact over HTTP: /health, /metadata, /predict and the OpenAPI page at /docs."""
    from finlite.runtime.service import read_token
    from finlite.runtime.service import serve as run_service

    if token_file is not None:
        read_token(token_file)  # fail before starting, with exit code 2
    if host not in ("127.0.0.1", "localhost", "::1"):
        typer.echo(f"warning: binding {host}; the service is reachable from other machines"
                   + ("" if token_file else " and needs no token"), err=True)
    typer.echo(f"serving {artifact} on http://{host}:{port} (OpenAPI page: /docs)"
               + ("" if no_audit else f"; audit log {audit_log}"), err=True)
    run_service(artifact, host=host, port=port, token_file=token_file, audit_log=None if no_audit else audit_log,
                audit_features=audit_features, max_body_bytes=max_body_bytes, access_log=access_log)


@app.command("bench")
@_friendly
def bench_command(
    artifact: Annotated[Path, typer.Argument(help="Artifact directory to measure.")],
    baseline: Annotated[Path | None, typer.Option(help="Artifact to compare with (e.g. the teacher).")] = None,
    batch: Annotated[int, typer.Option(help="Rows per call for the throughput measure.")] = 65536,
    repeats: Annotated[int, typer.Option(help="Timed batch-1 calls per measure.")] = 3000,
    records: Annotated[int, typer.Option(help="Distinct records cycled through in the batch-1 measures.")] = 1000,
    as_json: Annotated[bool, typer.Option("--json", help="Print the measurements as JSON.")] = False,
) -> None:
    """Batch-1 latency (raw record and vector) and rows/s for torch eager, ONNX Runtime fp32 and int8."""
    from finlite.benchmark import bench, render_bench

    result = bench(artifact, baseline, n_records=records, batch=batch, repeats=repeats)
    typer.echo(json.dumps(result, indent=2, sort_keys=True) if as_json else render_bench(result))


@datasets_app.command("list")
def datasets_list() -> None:
    """List the bundled datasets with their target, size and licence."""
    from finlite import datasets

    for info in datasets.list_datasets():
        typer.echo(f"{info.name}: {info.rows} rows, target {info.target!r} (positive {info.positive!r}); "
                   f"{info.description} Source: {info.source}; licence {info.licence}.")


@datasets_app.command("path")
@_friendly
def datasets_path(name: Annotated[str, typer.Argument(help="Dataset name from 'finlite datasets list'.")]) -> None:
    """Print the file path of a bundled dataset (to pass to 'finlite train')."""
    from finlite import datasets

    typer.echo(str(datasets.path(name)))


def main() -> None:
    """Console-script entry point."""
    app()
