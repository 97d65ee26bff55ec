"""The train job: read and split a table, fit a teacher (MLP, logistic, LightGBM or XGBoost), or
import a booster trained elsewhere, and save it as an artifact with its test metrics."""

from __future__ import annotations

import shutil
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any, TypeVar, cast

import numpy as np
import torch

from finlite import _paths
from finlite._limits import THIN_CLASS_ROWS, check_seed
from finlite._util import check_flags, check_instance, param_error, percent
from finlite.artifact import DataLike, save_artifact
from finlite.data.prepared import PreparedData, prepare
from finlite.data.preprocess import Encoding
from finlite.data.schema import leak_notes
from finlite.data.split import SplitConfig
from finlite.errors import ConfigError, DataError, FinliteWarning
from finlite.evaluate.metrics import classification_metrics
from finlite.evaluate.operating import OperatingPoint, check_operating_options, operating_point
from finlite.models.base import FinliteModel
from finlite.models.linear import LogisticRegression
from finlite.models.mlp import TabularMLP
from finlite.tasks import get_task
from finlite.training.loop import TrainConfig, fit, keeps_random_state, seed_everything, seeded, validation_auc
from finlite.training.unseen import average_recorded

TEACHERS = ("mlp", "logistic", "lightgbm", "xgboost")
#: How a logistic teacher is fitted: by maximum likelihood (the default, since 2026-12-07), or by
#: gradient steps with early stopping as a network is (the rule before; what reproduce reruns for
#: an artifact made then).
LOGISTIC_FITS = ("maximum_likelihood", "gradient")


@dataclass
class TrainOutcome:
    """A trained teacher, the data it saw, its test metrics, its operating point, and where it was saved."""

    model: FinliteModel
    data: PreparedData
    metrics: dict[str, Any]
    path: Path | None
    operating_point: OperatingPoint | None = None
    #: What the caller should be told (each is also issued as a :class:`finlite.FinliteWarning`, and
    #: the CLI prints it as a warning): a column that may leak the label, a model no better than
    #: chance, an imported booster's rows the teacher scores differently
    #: (:func:`finlite.training.boosted.parity_note`), refits that learned nothing.
    warnings: tuple[str, ...] = ()
    #: The calibration to a central tendency (``train(central_tendency=...)``), as the training
    #: step records it; None when none was asked.
    central_tendency: dict[str, Any] | None = None

    def __repr__(self) -> str:
        """A line a log can hold: the model, its test AUC and where it was saved (the default
        repr printed every row of the training table and its arrays: a walk-through, 2026-12-05)."""
        test = self.metrics.get("test") if isinstance(self.metrics, dict) else None
        auc = test.get("auc") if isinstance(test, dict) else None
        shown = f"{auc:.4f}" if isinstance(auc, float) else "n/a"
        where = None if self.path is None else str(self.path)
        return (f"TrainOutcome(model={type(self.model).__name__}, test_auc={shown}, path={where!r}, "
                f"warnings={len(self.warnings)})")

    @property
    def test_auc(self) -> float | None:
        """The test split's AUC (``metrics["test"]["auc"]``), as the repr shows it; None without one
        (the repr named it, and ``outcome.test_auc`` raised AttributeError: a notebook walk-through)."""
        test = self.metrics.get("test") if isinstance(self.metrics, dict) else None
        auc = test.get("auc") if isinstance(test, dict) else None
        return float(auc) if isinstance(auc, (int, float)) and not isinstance(auc, bool) else None


def refuse_unused_settings(model: str, *, layers: bool, boosted: bool, hidden: Any = None, dropout: Any = None,
                           config: TrainConfig | None = None, gbdt_params: Any = None, fitted: bool = False) -> None:
    """Refuse a teacher's setting that ``model`` does not have, rather than train without it:
    ``hidden`` and ``dropout`` need ``layers`` (widths of its own), ``gbdt_params`` a ``boosted``
    model, and a ``config`` beyond showing progress a network (a boosted model stops by rounds, a
    ``fitted`` one, a logistic regression fitted by maximum likelihood, has no epochs).

    Raises:
        ConfigError: naming the parameter and what to do.
    """
    for name, value in (("hidden", hidden), ("dropout", dropout)):
        if value is not None and not layers:
            raise ConfigError(f"{name}= sets the layers of a network; a {model} teacher has none. Drop {name}.",
                              param=name)
    if gbdt_params is not None and not boosted:
        raise ConfigError(f"gbdt_params= sets a LightGBM or XGBoost teacher's parameters; a {model} teacher has none. "
                          "Drop gbdt_params, or choose a boosted model.", param="gbdt_params")
    if config is not None and (boosted or fitted):
        # Of a network's training settings a boosted model reads only whether to show progress.
        default = TrainConfig()
        set_here = [f.name for f in fields(TrainConfig) if f.name not in ("progress", "seed")
                    and getattr(config, f.name) != getattr(default, f.name)]
        if set_here:
            how = ("trains by boosting rounds (set them in gbdt_params)" if boosted else
                   "is fitted by maximum likelihood on the whole training split, without epochs or batches "
                   "(logistic_fit='gradient' trains it as a network instead)")
            raise ConfigError(f"config= sets {', '.join(set_here)} of a network's training; a {model} teacher {how}. "
                              "Drop them from config.", param="config")


@keeps_random_state
def train(
    data: DataLike,
    *,
    target: str,
    positive: Any = None,
    numeric: Sequence[str] | None = None,
    categorical: Sequence[str] | None = None,
    drop: Sequence[str] | None = None,
    date_column: str | None = None,
    group_column: str | None = None,
    model: str = "mlp",
    hidden: Sequence[int] | None = None,
    dropout: float | None = None,
    seed: int = 0,
    cutoff: float | None = None,
    flag_rate: float | None = None,
    config: TrainConfig | None = None,
    out: str | Path | None = None,
    overwrite: bool = False,
    gbdt_params: dict[str, Any] | None = None,
    encoding: Encoding | None = None,
    whole_dates: bool = True,
    one_shuffle: bool = True,
    month_year: bool = True,
    validation_fraction: float = 0.2,
    test_fraction: float = 0.2,
    strict: bool = False,
    progress: bool | None = None,
    logistic_fit: str = "maximum_likelihood",
    penalty_c: float | None = 1.0,
    central_tendency: float | str | None = None,
) -> TrainOutcome:
    """Train a teacher ("mlp", "logistic", "lightgbm" or "xgboost") on a labelled table and optionally save it.

    A logistic teacher is fitted by L2-penalised maximum likelihood on the whole training split
    (:func:`finlite.training.linear.fit_logistic`: scikit-learn's L-BFGS, C = ``penalty_c``, 1 by
    default; None: no penalty), as a validator refits one; it takes no ``config`` beyond ``progress``. ``logistic_fit="gradient"`` trains it
    as before 2026-12-07 instead (Adam with early stopping on validation AUC, with ``config``):
    what ``reproduce`` reruns for an artifact made then.

    ``hidden`` and ``dropout`` set an MLP's layers (default 256, 128 and 0.3), ``config`` a
    network's training and ``gbdt_params`` a boosted teacher's library parameters; a setting given
    for a teacher without it is refused (a boosted teacher reads only ``config.progress``).
    ``progress`` (as :func:`finlite.compress` takes it) shows or hides the progress bar whatever
    ``config`` says; None: ``config.progress`` (default shown).

    ``encoding`` sets how categorical columns are encoded (:class:`finlite.data.preprocess.Encoding`:
    the one-hot budget, weight of evidence or target encoding for high-cardinality columns).

    Boosted teachers use the libraries' own training with regularised defaults (overridden by
    ``gbdt_params``), stop early on validation AUC, and carry 5-fold out-of-fold scores of
    their training rows for distillation.

    The table is split into training, ``validation_fraction`` and ``test_fraction`` of its rows
    (60/20/20 by default; training keeps at least 10 %) (stratified, or out-of-time when
    ``date_column`` is given, cut between dates; ``whole_dates=False`` only retrains an artifact made before that rule, as
    ``reproduce`` does) with ``seed``; a stratified split shuffles all rows once, so it is the same
    whichever class is positive (``one_shuffle=False`` only retrains an artifact made before
    that rule; ``month_year=False`` likewise, and refuses month-of-year dates of two-digit years,
    which such an artifact read wrongly); the preprocessor is fitted on the training split; early stopping watches the
    validation AUC; metrics are computed on the untouched test split. ``group_column`` (an account
    or customer number, when one has several rows: monthly snapshots, several loans) makes the
    stratified split keep each value's rows in one part, and the out-of-fold encodings and scores
    likewise, so no account is both trained on and tested; it is no input, and not with
    ``date_column``.

    The operating point (the cut-off on P(positive) where decisions are made, recorded in the
    artifact and inherited by its students) is set from the data: by default the teacher's score
    at the training split's bad rate (the ``1 − bad_rate`` quantile of its training scores);
    ``flag_rate=0.1`` sets it where the teacher flags 10 % of the training rows instead;
    ``cutoff=`` gives it explicitly (not together with ``flag_rate``).

    ``central_tendency`` (a binary teacher) calibrates the PDs to a long-run default rate: one
    constant added to every logit (an MLP's or logistic model's output bias, a LightGBM
    ensemble's first tree's leaves, an XGBoost ensemble's base_score) so that the mean PD over the
    training split equals it (a boosted teacher's out-of-fold PDs; :mod:`finlite.training.central`;
    ``"train"``: the training split's own rate); the
    ranking, and decisions at a cut-off set by the bad rate or a flag rate, are unchanged. Recorded
    in the training step (``central_tendency``), which ``reproduce`` reads.

    ``strict`` refuses (DataError, before anything is trained or written) every column that may
    leak the label (:func:`finlite.data.schema.leak_notes`: one that alone separates the training
    labels, or one named like a value recorded after the outcome), listed together; without it
    each is warned of.
    """
    check_flags("train", overwrite=overwrite, whole_dates=whole_dates, one_shuffle=one_shuffle, month_year=month_year)
    check_operating_options("train", cutoff, flag_rate)
    if model not in TEACHERS:
        raise param_error("train", "model", f"one of {TEACHERS}", model)
    if logistic_fit not in LOGISTIC_FITS:
        raise param_error("train", "logistic_fit", f"one of {LOGISTIC_FITS}", logistic_fit)
    if logistic_fit != "maximum_likelihood" and model != "logistic":
        raise ConfigError(f"logistic_fit= says how a logistic teacher is fitted; a {model} teacher is not one. Drop "
                          "logistic_fit.", param="logistic_fit")
    from finlite.training.linear import L2_C, check_penalty_c

    penalty_c = check_penalty_c(penalty_c)
    if penalty_c != L2_C and not (model == "logistic" and logistic_fit == "maximum_likelihood"):
        raise ConfigError(f"penalty_c sets the ridge of a logistic regression fitted by maximum likelihood; a {model} "
                          "teacher" + (" trained by gradient steps" if model == "logistic" else "")
                          + " has none. Drop penalty_c.", param="penalty_c")
    from finlite.training.central import check_central_tendency

    central_tendency = check_central_tendency(central_tendency)
    seed = check_seed(seed)  # a numpy integer too, kept as a plain int (written to the manifest)
    check_instance(config, TrainConfig, "train", "config", "a finlite.TrainConfig (e.g. TrainConfig(epochs=10))")
    if progress is not None:
        # compress takes progress=; train took it only inside a TrainConfig, and progress=False
        # was a bare TypeError (a notebook walk-through, 2026-12-06).
        check_flags("train", progress=progress)
        config = replace(config or TrainConfig(), progress=progress)
    check_instance(encoding, Encoding, "train", "encoding",
                   "a finlite.data.preprocess.Encoding (e.g. Encoding(max_categories=50))")
    # A setting the chosen teacher does not have is refused, not ignored (hidden= with a logistic
    # or boosted teacher trained without a word about it: a review, 2026-12-03).
    mle = model == "logistic" and logistic_fit == "maximum_likelihood"
    refuse_unused_settings(model, layers=model == "mlp", boosted=model in ("lightgbm", "xgboost"), hidden=hidden,
                           dropout=dropout, config=config, gbdt_params=gbdt_params, fitted=mle)
    hidden = (256, 128) if hidden is None else hidden
    dropout = 0.3 if dropout is None else dropout
    if out is not None:  # before any work: --out is no input, and may be replaced
        _paths.check_output_dir(out, overwrite=overwrite, inputs={"data file": data})
    config = seeded(config, seed, "train")
    prepared = prepare(data, target=target, positive=positive, numeric=numeric, categorical=categorical,
                       drop=drop, split=SplitConfig(validation=validation_fraction, test=test_fraction, seed=seed,
                                                    date_column=date_column, group_column=group_column,
                                                    whole_dates=whole_dates,
                                                    one_shuffle=one_shuffle, month_year=month_year),
                       encoding=encoding)
    if strict:  # every possible leak refused at once, before any work or file (not one per run)
        leaks = leak_notes(prepared.schema.notes)
        if leaks:
            raise DataError(f"{len(leaks)} column(s) may leak the label, refused (strict): " + " | ".join(leaks)
                            + " Drop them (--drop), or train without strict to be warned only.", param="strict")
    _warn_leaks(prepared.schema.notes)  # before any work or file: escalated, it stops the job here
    if central_tendency is not None and prepared.task != "binary":
        raise ConfigError(f"central_tendency calibrates a binary model's PDs to a long-run default rate; "
                          f"{target!r} makes a {prepared.task} model. Drop central_tendency.", param="central_tendency")
    seed_everything(seed)
    if model in ("lightgbm", "xgboost"):
        from finlite.training.boosted import fit_boosted

        boosted = fit_boosted(prepared, model, params=gbdt_params, seed=seed, progress=config.progress)
        calibration = None
        if central_tendency is not None:  # before anything reads its scores: its constant takes the shift
            boosted, calibration = _calibrate_to(boosted, prepared, central_tendency)
        steps = [{"step": "train", "model": boosted.config(), "params": dict(gbdt_params or {}),
                  "oof_folds": boosted.oof_folds}]
        if calibration is not None:
            steps[0]["central_tendency"] = calibration
        return _warned(_finish_teacher(boosted, prepared, steps, seed, (cutoff, flag_rate), out, overwrite, {},
                                       notes=lambda m: [*_no_skill(m), *_majority_positive(prepared),
                                                        *prepared.split_notes(_flagged(m))]))
    n_features = prepared.x_train.shape[1]
    net: FinliteModel
    unconverged: list[str] = []
    if mle:
        from finlite.training.linear import fit_logistic

        net = LogisticRegression(n_features)
        fitted = fit_logistic(net, prepared.x_train, prepared.y_train, penalty_c)
        net.eval()
        score = validation_auc(torch.from_numpy(prepared.x_val), prepared.y_val)(net)
        steps = [{"step": "train", "model": net.config(), "fit": fitted}]
        if fitted.get("separated"):
            unconverged.append(
                "the unpenalised logistic fit (--penalty-c none) has training rows at a probability within 3e-7 of 0 "
                "or 1: a column separates the classes (the notes above may name it), so the maximum lies at infinity "
                "and the coefficients are where L-BFGS stopped. Give a penalty (--penalty-c 1), or drop the column.")
        elif fitted.get("design_rank") is not None and fitted["design_rank"] < fitted["design_columns"]:
            unconverged.append(
                f"the unpenalised logistic fit's encoded design has rank {fitted['design_rank']} of "
                f"{fitted['design_columns']} columns (every one-hot level is encoded): its probabilities are "
                "unique, its coefficients are not (these are the smallest-norm ones). Read the probabilities, not "
                "the coefficients, or give a penalty (--penalty-c 1).")
        if not fitted["converged"]:
            unconverged.append(
                f"the logistic regression's maximum-likelihood fit did not converge in {fitted['iterations']:,} "
                "L-BFGS iterations: its coefficients may still move. Check for columns on wildly different scales or "
                "one that separates the classes (the notes above), and read its coefficients with care"
                + (" (without a penalty, classes that a column separates send the maximum to infinity: give "
                   "--penalty-c 1)." if penalty_c is None else "."))
    else:
        net = TabularMLP(n_features, hidden, dropout=dropout) if model == "mlp" else LogisticRegression(n_features)
        tensors = {"x": torch.from_numpy(prepared.x_train), "y": torch.from_numpy(prepared.y_train)}

        def loss_fn(logits: torch.Tensor, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
            return torch.nn.functional.binary_cross_entropy_with_logits(logits, batch["y"])

        result = fit(net, tensors, loss_fn, validation_auc(torch.from_numpy(prepared.x_val), prepared.y_val),
                     config, desc=f"training {model}", score_name="AUC")
        score = result.best_score
        # batch_size: the batch size the loop took, as a forecaster's step records it (the settings'
        # None means "by the row count", which a reviewer then had to work out: a review, 2026-12-06).
        steps = [{"step": "train", "model": net.config(), "train": config.to_dict(),
                  "best_epoch": result.best_epoch, "epochs_run": result.epochs_run, "batch_size": result.batch_size}]
    if central_tendency is not None:  # before anything reads the model's scores: one shift of its logits
        net, steps[0]["central_tendency"] = _calibrate_to(net, prepared, central_tendency)
    average_recorded(steps[0], net, prepared.preprocessor, prepared.x_train)  # a new category: an average one
    return _warned(_finish_teacher(net, prepared, steps, seed, (cutoff, flag_rate), out, overwrite,
                                   {"validation_auc": score},
                                   notes=lambda m: [*unconverged, *_no_skill(m, fitted=mle),
                                                    *_majority_positive(prepared),
                                                    *prepared.split_notes(_flagged(m))]))


def _warn_leaks(notes: Sequence[str]) -> None:
    """Issue each possible leak (:func:`finlite.data.schema.leak_notes`: one per column) as a
    :class:`FinliteWarning`, before anything is trained or saved: a pipeline that escalates
    warnings stops with no artifact written (a review, 2026-12-05: the escalation came after the
    save and left a complete artifact)."""
    for message in leak_notes(notes):
        warnings.warn(f"warning: {message}", FinliteWarning, stacklevel=4)  # the caller of train


def _warned(outcome: TrainOutcome) -> TrainOutcome:
    """The outcome with the schema's notes about columns that may leak the label among its
    warnings (first), and its other warnings issued as :class:`FinliteWarning` (the leaks were,
    by :func:`_warn_leaks`): a scheduled retrain that escalates warnings stops on them, where a
    note on the command line alone went unread (a model of test AUC 0.9996 on LendingClub's
    recoveries: a walk-through, 2026-12-05). Escalated, the artifact just saved is removed."""
    issued = leak_notes(outcome.data.schema.notes)
    leaks = tuple(n for n in issued if n not in outcome.warnings)
    outcome = replace(outcome, warnings=(*leaks, *outcome.warnings)) if leaks else outcome
    try:
        for message in outcome.warnings:
            if message not in issued:
                warnings.warn(f"warning: {message}", FinliteWarning, stacklevel=4)  # the caller of train
    except FinliteWarning:
        if outcome.path is not None:
            shutil.rmtree(outcome.path, ignore_errors=True)  # written by this job, under --out
        raise
    return outcome


def _flagged(metrics: Mapping[str, Any]) -> float | None:
    """The share of the test split a new teacher flags at its cut-off (None when not measured)."""
    rate = metrics["test"].get("flagged_rate")
    return float(rate) if isinstance(rate, (int, float)) else None


def _majority_positive(prepared: PreparedData) -> list[str]:
    """A warning when the class finlite chose by its name as the one to flag (positive) is most of
    the labelled rows: a bank's flagged outcome (a default, a fraud) is the rarer one, and "1"
    recognised by name in a target coded 1 = good made a model that flags the good loans (a data
    engineer's walk-through, 2026-12-06). None when --positive named it: a name cannot tell a
    good outcome from a flagged majority (a collections book, "non-performing", an oversampled
    fraud table), and a warning there failed pipelines that escalate warnings (a review,
    2026-12-07)."""
    schema = prepared.schema
    # Only a name that says little: "bad", "default" or "fraud" mean the outcome whatever its share
    # (an undersampled fraud set, a collections book: a review, 2026-12-06).
    if not any("recognised by name" in n for n in schema.notes) or \
            str(schema.positive).strip().lower() not in ("1", "1.0", "yes", "y", "true", "positive"):
        return []
    labels = np.concatenate([prepared.y_train, prepared.y_val, prepared.y_test])
    share = float(labels.mean()) if labels.size else 0.0
    if share <= 0.5:
        return []
    return [f"the class to flag, {schema.positive!r}, was chosen by its name and is {share:.0%} of the labelled "
            f"rows: the model flags the majority outcome. If {schema.positive!r} means a good outcome (a loan "
            f"repaid), train again with --positive {schema.negative!r}."]


def _no_skill(metrics: Mapping[str, Any], fitted: bool = False) -> list[str]:
    """A warning when a new teacher's test AUC is 0.5 or less: it ranks the test rows no better
    than chance (one epoch gave 0.4958 and was saved without a word: a review, 2026-12-05), and a
    student distilled from it learns nothing either. ``fitted``: a logistic regression fitted by
    maximum likelihood, which has no epochs to add (a review, 2026-12-07)."""
    test = metrics["test"]
    auc = float(test.get("auc", 1.0))
    if auc > 0.5:
        return []
    # Well below 0.5 the ranking is the wrong way round, which is no "chance" (AUC 0.15 on two
    # defaults was called so: a low-default walk-through, 2026-12-07); on a handful of a class either
    # reading is noise.
    # (Not a label coded the other way: the model learns the label as coded, a review, 2026-12-07.)
    how = ("no better than chance" if auc >= WRONG_WAY_AUC else
           "the wrong way round (below chance: noise on few rows, a model fitted to its training rows' noise, "
           "or a test split unlike the training one, e.g. after a date split across a change)")
    positives, rows = test.get("positives"), test.get("rows")
    fewest = (min(int(positives), int(rows) - int(positives))
              if isinstance(positives, int) and isinstance(rows, int) else None)
    thin = (f" It rests on {fewest:,} test row(s) of a class, which is weak evidence either way."
            if fewest is not None and fewest < THIN_CLASS_ROWS else "")
    if fitted:
        return [f"the model's test AUC is {auc:.4f}: it ranks the test rows {how}.{thin} Its maximum-likelihood fit "
                "found no ranking in these features: check that --positive names the outcome to flag, check the "
                "features, or give it more positive rows; do not distil or deploy it."]
    longer = "other booster settings" if metrics.get("train_oof_auc") is not None or \
        "validation_auc" not in metrics else "more epochs (--epochs)"
    return [f"the model's test AUC is {auc:.4f}: it ranks the test rows {how}.{thin} Train with "
            f"{longer}, check that --positive names the outcome to flag, or check the features; do not distil "
            "or deploy it."]


#: A test AUC below this is read as a ranking the wrong way round, not as no ranking.
WRONG_WAY_AUC = 0.4


_ModelT = TypeVar("_ModelT", bound=FinliteModel)


def _calibrate_to(net: _ModelT, prepared: PreparedData, asked: float | str) -> tuple[_ModelT, dict[str, Any]]:
    """``net`` with its logits shifted so that its mean PD over the training split is ``asked`` (a
    rate, or "train": the split's own), and the record the training step keeps. A network's
    output bias takes the shift in place; a boosted ensemble comes back new, with its in-sample
    mean PD after the shift recorded too (``mean_pd_in_sample``).

    A boosted ensemble's mean is taken over its out-of-fold scores of the training rows (``basis``
    "out_of_fold"): its in-sample scores are sharper than any it gives a row it was not fitted on
    (German credit: a LightGBM teacher set to 5 % in-sample gave 4.6 % out of fold, where its new
    rows' PDs come from), and they are what its students learn from. A network's are in-sample
    (``basis`` "training"): it is stopped early, not fitted until its training rows separate."""
    from scipy.special import expit

    from finlite.training.central import TRAINING_RATE, logit_shift, model_logits, shifted_model

    oof = getattr(net, "oof_logits", None)
    basis = "training" if oof is None else "out_of_fold"
    logits = model_logits(net, prepared.x_train) if oof is None else np.asarray(oof, dtype=np.float64)
    sample = float(np.mean(prepared.y_train, dtype=np.float64))
    rate = sample if asked == TRAINING_RATE else float(asked)
    before = float(np.mean(expit(logits)))
    shift = logit_shift(logits, rate)
    moved, after = shifted_model(net, shift, prepared.x_train)
    record = {"asked": asked, "rate": rate, "logit_shift": shift, "training_rate": sample, "mean_pd_before": before,
              "basis": basis}
    if after is not None:  # the saved trees' own mean over the training rows, sharper than out of fold
        record["mean_pd_in_sample"] = float(np.mean(expit(after)))
    return cast(_ModelT, moved), record


def _calibration_warning(y: np.ndarray, p: np.ndarray) -> list[str]:
    """A warning when a new teacher's mean prediction on its test split is off the observed rate by
    a factor of 1.5 or more and the Jeffreys test rejects it at 1 % (two-sided), as ``report
    --holdout`` judges a later sample: a logistic teacher stopped early on AUC gave PDs four times
    the fraud rate, said only when a later week was evaluated, where it read like drift (a fraud
    walk-through, 2026-12-06)."""
    from finlite.evaluate.validation import calibration_in_the_large, calibration_status

    y = np.asarray(y, dtype=np.float64).ravel()
    p = np.asarray(p, dtype=np.float64).ravel()
    n, d = len(y), int(y.sum())
    if not n or not 0 < d < n:
        return []
    record = calibration_in_the_large(d, n, float(p.mean()))
    if calibration_status(record) != "FAIL":
        return []
    way = "over" if record["mean_predicted"] > record["observed_rate"] else "under"
    factor = "an unbounded factor" if record["factor"] is None else f"a factor of {record['factor']:.2f}"
    return [f"the model's mean prediction on its test split, {percent(record['mean_predicted'])}, {way}states the "
            f"observed rate of {percent(record['observed_rate'])} by {factor} (Jeffreys test p "
            f"{record['p_value']:.2g}): its scores rank, but are no probabilities to read as PDs; recalibrate before "
            "using them so (a hold-out will be judged off by as much): --central-tendency train puts their mean at "
            "the training split's rate."]


def _finish_teacher(net: FinliteModel, prepared: PreparedData, steps: list[dict[str, Any]], seed: int,
                    operating: tuple[float | None, float | None], out: str | Path | None, overwrite: bool,
                    extra: dict[str, Any], at_cutoff: Callable[[float], None] | None = None,
                    notes: Callable[[Mapping[str, Any]], list[str]] | None = None) -> TrainOutcome:
    """The operating point and test-split metrics of a new teacher, and its artifact when ``out`` is
    given; ``at_cutoff`` is called with the cut-off before anything is saved (an import's parity).
    ``notes`` gives the warnings on the metrics (no skill, the split, an import's parity): they are
    the outcome's ``warnings`` and the first step's ``warnings`` in the manifest, so the evidence
    keeps them (they were said on stderr alone: note 69's leftover)."""
    task = get_task(prepared.task)
    point = operating_point(task.training_scores(net, prepared.x_train), prepared.y_train, cutoff=operating[0],
                            flag_rate=operating[1])
    cutoff = point.cutoff
    if at_cutoff is not None:
        at_cutoff(cutoff)
    p_test = net.predict_proba(torch.from_numpy(prepared.x_test)).numpy()
    metrics = {"test": classification_metrics(prepared.y_test, p_test, cutoff), **extra,
               "operating_point": point.to_dict()}
    oof = getattr(net, "oof_logits", None)
    if oof is not None:  # how far the ensemble's own training scores sit from its OOF scores
        metrics["train_oof_auc"] = classification_metrics(prepared.y_train, 1 / (1 + np.exp(-oof)), cutoff)["auc"]
    from finlite.training.central import recorded_central_tendency

    # PDs calibrated to a long-run rate differ from the test split's rate by design: not warned of.
    level = () if recorded_central_tendency(steps) is not None else _calibration_warning(prepared.y_test, p_test)
    said = (*(notes(metrics) if notes is not None else ()), *level)
    if said:
        steps[0]["warnings"] = list(said)
    path = None
    if out is not None:
        path = save_artifact(out, model=net, preprocessor=prepared.preprocessor, role="teacher", seed=seed,
                             cutoff=cutoff, data=prepared.summary(), steps=steps, metrics=metrics,
                             overwrite=overwrite, task=task.name, operating_point=point)
    return TrainOutcome(model=net, data=prepared, metrics=metrics, path=path, operating_point=point, warnings=said,
                        central_tendency=steps[0].get("central_tendency"))


@keeps_random_state
def import_teacher(booster: str | Path, data: DataLike, *, target: str, positive: Any = None,
                   date_column: str | None = None, seed: int = 0, cutoff: float | None = None,
                   flag_rate: float | None = None, folds: int = 5,
                   learning_rate: float | None = None, out: str | Path | None = None,
                   overwrite: bool = False, group_column: str | None = None) -> TrainOutcome:
    """Make a teacher artifact from a saved LightGBM or XGBoost booster and its training table.

    See :func:`finlite.training.boosted.import_booster` for how columns and OOF scores are handled.
    The operating point is set as in :func:`train` (``cutoff``, ``flag_rate`` or the training bad rate).
    Rows of the table the teacher scores differently from the booster, and refits that rank no
    better than chance, are said in the outcome's ``warnings`` (the parity is also recorded in the
    manifest's first step, ``parity``). ``group_column`` splits by account as in :func:`train`.
    """
    check_flags("import_teacher", overwrite=overwrite)
    from finlite.training.boosted import beyond_splits_note, flips_at_cutoff, import_booster, parity_note

    check_operating_options("import_teacher", cutoff, flag_rate)
    seed = check_seed(seed)
    if out is not None:  # before any work: --out is no input, and may be replaced
        _paths.check_output_dir(out, overwrite=overwrite, inputs={"booster file": booster, "data file": data})
    scores: list[Any] = []  # the booster's and the teacher's probabilities, for the flips at the cut-off
    model, prepared, step = import_booster(booster, data, target=target, positive=positive, date_column=date_column,
                                           seed=seed, folds=folds, learning_rate=learning_rate, scores=scores,
                                           group_column=group_column)
    _warn_leaks(prepared.schema.notes)

    def said(metrics: Mapping[str, Any]) -> list[str]:
        notes = [] if (note := parity_note(step["parity"])) is None else [note]
        if (beyond := beyond_splits_note(step)) is not None:
            notes.insert(0, beyond)
        oof_auc = float(metrics["train_oof_auc"])
        if abs(oof_auc - 0.5) < 0.02:
            # The refits with the booster's own parameters learned nothing (min_data_in_leaf above a
            # fold's rows, say): "out-of-fold AUC 0.5000" passed without a word (a review, 2026-12-03).
            notes.append(f"the out-of-fold refits rank no better than chance (AUC {oof_auc:.4f}), so a student "
                         "would learn from scores that carry no ranking. Check the booster's parameters against "
                         "this table's size (min_data_in_leaf, min_child_weight) or pass more folds (--folds).")
        elif (seen := _seen_test_note(metrics["test"], oof_auc)) is not None:
            notes.append(seen)
        from finlite.export.trees import export_refusal

        refused = export_refusal(model)
        if refused is not None:
            notes.append(f"this teacher cannot be exported ('finlite export' refuses it: {refused}); it can be "
                         "compressed, and its students exported, but not deployed itself.")
        return [*notes, *_majority_positive(prepared), *prepared.split_notes(_flagged(metrics))]

    return _warned(_finish_teacher(model, prepared, [step], seed, (cutoff, flag_rate), out, overwrite, {},
                                   at_cutoff=lambda cut: flips_at_cutoff(step["parity"], scores[0], cut), notes=said))


def _seen_test_note(test: Mapping[str, Any], oof_auc: float) -> str | None:
    """A warning when an imported booster ranks finlite's test split far better than refits of its
    settings rank rows they never saw: it was likely trained on those rows (on the whole table, as
    its own training script split it), so its test metrics are in-sample, and a student's AUC drop
    against them is the teacher's optimism (a test AUC of 0.92 beside an out-of-fold 0.62 made a
    student's report FAIL: a review, 2026-12-04 evening).

    "Far" is more than 0.05 and more than three standard errors of the test AUC (Hanley and
    McNeil's), so that a test split of a few hundred rows does not warn by chance.
    """
    auc, rows, positives = test.get("auc"), test.get("rows"), test.get("positives")
    if not isinstance(auc, float) or not isinstance(rows, int) or not isinstance(positives, int):
        return None
    negatives = rows - positives
    if positives < 1 or negatives < 1:
        return None
    q1, q2 = auc / (2 - auc), 2 * auc * auc / (1 + auc)
    se = float(np.sqrt(max(auc * (1 - auc) + (positives - 1) * (q1 - auc * auc)
                           + (negatives - 1) * (q2 - auc * auc), 0.0) / (positives * negatives)))
    if auc - oof_auc <= max(0.05, 3 * se):
        return None
    return (f"the booster ranks the test split far better (AUC {auc:.4f}) than refits of its settings rank training "
            f"rows they did not see (out-of-fold AUC {oof_auc:.4f}): it was likely trained on the test split's rows. "
            "Its test metrics are then in-sample, and a student's AUC drop against them is the booster's optimism, "
            "not the student's loss. Judge it on rows it never saw: import it with a table whose test split it was "
            "not trained on (with --date-column the test split is the latest dates), or evaluate it on a later "
            "table ('finlite evaluate TEACHER LATER.csv').")
