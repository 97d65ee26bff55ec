"""Boosted-tree teachers: train one with LightGBM or XGBoost, or import a booster a team already has.

Either way the teacher comes with out-of-fold (OOF) log-odds for its training rows: k models,
each trained without one fold, score that fold. A boosted ensemble fits its training rows far
better than new ones, so a student distilled from the final model's scores on those rows
would learn the overfit; the OOF scores are what the ensemble says about rows it has not seen.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
from collections.abc import Mapping
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from finlite._booster_check import MAX_BOOSTER_BYTES, check_booster
from finlite._limits import MAX_FOLDS, MIN_FOLDS
from finlite._paths import FileTooLarge, read_small_file
from finlite._progress import Progress
from finlite.data.io import Table, read_table
from finlite.data.prepared import PreparedData, prepare
from finlite.data.preprocess import Encoding
from finlite.data.schema import numeric_column
from finlite.data.split import SplitConfig
from finlite.errors import ConfigError, DataError
from finlite.models.gbdt import BoostedEnsemble, load_booster, require
from finlite.training.loop import LARGE_ROWS  # one threshold of "bank size" for teachers and students

__all__ = ["ARRAY_PARAMS", "DEFAULT_PARAMS", "blocked_folds", "check_folds", "decision_flips_text", "fit_boosted",
           "fit_boosted_arrays", "flips_at_cutoff", "import_booster", "refuse_unstored", "stratified_folds"]

# Regularised defaults: on rare-event data (fraud at 0.17 %) unregularised boosting with early
# stopping on log loss stops early and ranks poorly; small leaves, L2 and subsampling do not.
DEFAULT_PARAMS: dict[str, dict[str, Any]] = {
    "lightgbm": {"objective": "binary", "learning_rate": 0.05, "num_leaves": 15, "min_data_in_leaf": 50,
                 "lambda_l2": 5.0, "feature_fraction": 0.8, "bagging_fraction": 0.8, "bagging_freq": 1,
                 "metric": "auc", "verbose": -1, "num_threads": 2, "deterministic": True,
                 "force_row_wise": True},
    "xgboost": {"objective": "binary:logistic", "eta": 0.05, "max_depth": 4, "min_child_weight": 5,
                "subsample": 0.8, "colsample_bytree": 0.8, "lambda": 5.0, "eval_metric": "auc", "nthread": 2,
                "tree_method": "hist"},
}
MAX_ROUNDS, PATIENCE = 1000, 100
# At bank size (LARGE_ROWS training rows or more) the same model is found with less work:
# larger trees and a doubled learning rate need far fewer rounds (with 15 leaves at 0.1, SBA's
# validation AUC was still climbing after 800 rounds), 63 histogram bins (instead of 255)
# make each round cheaper, early stopping waits 50 rounds instead of 100, and the out-of-fold
# scores use 3 folds (each fold model still sees 360,000 of SBA's rows). The small-data
# regularisation stays (min_data_in_leaf grows with the rows). Explicit ``params``/``folds`` win.
LARGE_PARAMS: dict[str, dict[str, Any]] = {
    "lightgbm": {"learning_rate": 0.1, "num_leaves": 63, "min_data_in_leaf": 100, "max_bin": 63},
    "xgboost": {"eta": 0.1, "max_depth": 6, "max_bin": 64},
}
LARGE_PATIENCE, LARGE_FOLDS, DEFAULT_FOLDS = 50, 3, 5
# LightGBM parameters of an imported file that the out-of-fold refit never takes: the task and
# class count (the header's binary objective is used), and anything that reads or writes files,
# opens network connections or picks a device.
_LGB_NOT_REFIT = frozenset({
    "objective", "num_class", "task", "linear_tree", "device_type", "gpu_platform_id", "gpu_device_id", "gpu_use_dp",
    "num_gpu", "tree_learner", "num_machines", "machines", "machine_list_filename", "local_listen_port", "time_out",
    "input_model", "output_model", "output_result", "forcedsplits_filename", "forcedbins_filename",
    "initscore_filename", "valid", "data", "snapshot_freq", "saved_feature_importance_type",
})


def check_folds(folds: Any, y: np.ndarray | None = None, option: str = "folds") -> int:
    """Validate the number of out-of-fold folds: 2 to 20, and no more than the rarer class's rows.

    Each fold must hold rows of both classes to train and score on, and every fold is a full
    refit of the booster, so the count is bounded. The error names ``option`` as Python spells a
    parameter (``folds=7``) and carries it as ``param``; the command line names its flag.

    Raises:
        ConfigError: ``folds`` is not a whole number in range for these labels.
    """
    if isinstance(folds, bool) or not isinstance(folds, int) or not MIN_FOLDS <= folds <= MAX_FOLDS:
        raise ConfigError(f"The {option!r} parameter must be a whole number from {MIN_FOLDS} to {MAX_FOLDS} "
                          "(out-of-fold scores need at least 2 folds; each fold is a full refit); got "
                          f"{folds!r}. The default is 5.", param=option)
    if y is not None:
        rarer = int(min(np.sum(y == 1), np.sum(y == 0)))
        if folds > rarer:
            raise ConfigError(f"{option}={folds} is more than the {rarer} row(s) of the rarer class in the training "
                              f"split, so some folds would hold none of it; use {option}="
                              f"{max(MIN_FOLDS, min(5, rarer))} or more labelled rows.", param=option)
    return folds


def stratified_folds(y: np.ndarray, k: int, seed: int, *, one_shuffle: bool = True) -> np.ndarray:
    """Fold number (0..k−1) of each row, with each class spread evenly over the folds.

    The rows are shuffled once and each class dealt round-robin in that order, so the folds are
    the same whichever class is positive; ``one_shuffle=False`` (an artifact split before that
    rule: :attr:`finlite.data.split.SplitConfig.one_shuffle`) shuffles each class in turn.
    """
    rng = np.random.default_rng(seed)
    folds = np.empty(len(y), dtype=int)
    shuffled = rng.permutation(len(y)) if one_shuffle else None
    for cls in np.unique(y):
        rows = rng.permutation(np.flatnonzero(y == cls)) if shuffled is None else shuffled[y[shuffled] == cls]
        folds[rows] = np.arange(len(rows)) % k
    return folds


def _lgb_progress(progress: Progress) -> Any:
    """A LightGBM callback that reports each round (with the validation AUC when there is one)."""
    def callback(env: Any) -> None:
        scores = [f"val {name} {value:.4f}" for _, name, value, _ in (env.evaluation_result_list or [])]
        progress.update(1, metric=scores[0] if scores else None)
    return callback


def _xgb_progress(lib: Any, progress: Progress) -> Any:
    """An XGBoost callback that reports each round (with the validation AUC when there is one)."""
    class Report(lib.callback.TrainingCallback):  # type: ignore[misc]  # a class of the library, typed Any
        def after_iteration(self, model: Any, epoch: int, evals_log: Any) -> bool:
            last = [f"val {metric} {values[-1]:.4f}" for metrics in evals_log.values()
                    for metric, values in metrics.items() if values]
            progress.update(1, metric=last[0] if last else None)
            return False
    return Report()


def _train(library: str, params: Mapping[str, Any], x: np.ndarray | Any, y: np.ndarray, seed: int, rounds: int,
           valid: tuple[np.ndarray, np.ndarray] | None = None, *, patience: int = PATIENCE,
           progress: bool | str = False, desc: str = "boosting") -> tuple[Any, int]:
    """One booster; with ``valid`` it stops early on validation AUC and returns the best round count.

    For LightGBM ``x`` may be a ready ``lightgbm.Dataset`` (a subset of one that was binned
    once: the folds then share its histogram bins instead of binning their rows again).
    """
    lib = require(library)
    # One line per 50 rounds when stderr is no terminal: rounds are many and short.
    bar = Progress(f"{library} {desc}", rounds, unit="round", enabled=progress, every=50)
    if library == "lightgbm":
        p = {**params, "seed": seed}
        train_set = x if isinstance(x, lib.Dataset) else lib.Dataset(x, y, free_raw_data=True)
        if valid is None:
            with bar:
                booster = lib.train(p, train_set, num_boost_round=rounds, callbacks=[_lgb_progress(bar)])
            return booster, rounds
        val_set = lib.Dataset(valid[0], valid[1], reference=train_set)
        with bar:
            booster = lib.train(p, train_set, num_boost_round=rounds, valid_sets=[val_set],
                                callbacks=[lib.early_stopping(patience, verbose=False), _lgb_progress(bar)])
        best = max(int(booster.best_iteration or rounds), 1)
        # Keep only the trees up to the best round, so the stored model is the one validated.
        booster = lib.Booster(model_str=booster.model_to_string(num_iteration=best))
        return booster, best
    p = {**params, "seed": seed}
    dtrain = lib.DMatrix(x, label=y)
    if valid is None:
        with bar:
            return lib.train(p, dtrain, num_boost_round=rounds, callbacks=[_xgb_progress(lib, bar)]), rounds
    dval = lib.DMatrix(valid[0], label=valid[1])
    with bar:
        booster = lib.train(p, dtrain, num_boost_round=rounds, evals=[(dval, "validation")],
                            early_stopping_rounds=patience, verbose_eval=False, callbacks=[_xgb_progress(lib, bar)])
    best = int(booster.best_iteration) + 1
    return booster[:best], best


def _raw(library: str, booster: Any, x: np.ndarray) -> np.ndarray:
    if library == "lightgbm":
        return np.asarray(booster.predict(x, raw_score=True), dtype=np.float64)
    return np.asarray(booster.inplace_predict(x, predict_type="margin"), dtype=np.float64)


def _oof(library: str, params: Mapping[str, Any], x: np.ndarray, y: np.ndarray, rounds: int, folds: int,
         seed: int, *, binned: Any = None, progress: bool | str = False, one_shuffle: bool = True,
         groups: np.ndarray | None = None) -> np.ndarray:
    """Out-of-fold log-odds: each fold scored by a model trained on the others (same rounds).

    ``binned`` (LightGBM): the training rows' Dataset, binned once; each fold trains on a
    subset of it, sharing its bins, so the rows are not binned again per fold. ``groups``: each
    row's group code under a split by group; whole groups are dealt to folds, so no row is scored
    by a model that trained on its account's other rows.
    """
    if groups is not None:
        from finlite.data.split import grouped_folds

        fold = grouped_folds(groups, folds, seed)
    else:
        fold = stratified_folds(y, folds, seed, one_shuffle=one_shuffle)
    out = np.zeros(len(y))
    for k in range(folds):
        held = fold == k
        rows = binned.subset(np.flatnonzero(~held)) if binned is not None else x[~held]
        booster, _ = _train(library, params, rows, y[~held], seed + k + 1, rounds, progress=progress,
                            desc=f"out-of-fold {k + 1}/{folds}")
        out[held] = _raw(library, booster, x[held])
    return out


def _train_groups(data: PreparedData) -> np.ndarray | None:
    """The training rows' group codes under a split by group (whole groups dealt to the OOF folds), else None."""
    column = data.split_config.group_column
    if column is None:
        return None
    from finlite.data.split import group_codes

    return group_codes(data.frame[column].iloc[data.split.train], column, data.table.source)


def refuse_unstored(library: str, params: Mapping[str, Any] | None) -> None:
    """Refuse, before any round, LightGBM settings whose model finlite's artifact cannot hold: a
    random forest (``boosting=rf``: it averages its trees, where finlite's teachers, their ONNX
    export and their calibration add them; its export failed parity) and linear trees
    (``linear_tree``: a model the artifact's check then refused to load).

    Raises:
        ConfigError: naming the setting.
    """
    if library != "lightgbm" or not params:
        return
    for key in ("boosting", "boosting_type", "boost"):
        if str(params.get(key, "gbdt")).strip().lower() in ("rf", "random_forest"):
            raise ConfigError(f"gbdt_params {key}={params[key]!r} trains a random forest, which averages its trees; "
                              "finlite's boosted teachers add them (scoring, ONNX export, calibration). Use "
                              "boosting='gbdt', 'goss' or 'dart'.", param="gbdt_params")
    for key in ("linear_tree", "linear_trees"):
        if params.get(key) not in (None, False, 0, "false", "False", "0"):
            raise ConfigError(f"gbdt_params {key}={params[key]!r} fits a linear model in each leaf; finlite's "
                              "artifacts hold plain trees (a constant per leaf). Drop it.", param="gbdt_params")


def fit_boosted(data: PreparedData, library: str, *, params: Mapping[str, Any] | None = None, seed: int = 0,
                folds: int | None = None, progress: bool | str = False) -> BoostedEnsemble:
    """Train a booster on the encoded training split (early stopping on validation AUC) and its OOF scores.

    Defaults follow the training rows: :data:`DEFAULT_PARAMS` and 5 folds below
    :data:`LARGE_ROWS`, plus :data:`LARGE_PARAMS`, early stopping after 50 rounds and 3 folds
    from it; ``params`` and ``folds`` override them. ``progress`` reports the rounds (a bar on
    a terminal, a line per 50 rounds elsewhere).
    """
    refuse_unstored(library, params)
    large = len(data.y_train) >= LARGE_ROWS
    folds = folds if folds is not None else (LARGE_FOLDS if large else DEFAULT_FOLDS)
    check_folds(folds, data.y_train, "folds")
    p = {**DEFAULT_PARAMS[library], **(LARGE_PARAMS[library] if large else {}), **dict(params or {})}
    patience = LARGE_PATIENCE if large else PATIENCE
    binned = None
    if library == "lightgbm":
        lib = require(library)
        # Binned once with the model's settings; the final model and every fold share the bins.
        binned = lib.Dataset(data.x_train, data.y_train, params=p, free_raw_data=False)
    booster, best = _train(library, p, binned if binned is not None else data.x_train, data.y_train, seed,
                           MAX_ROUNDS, valid=(data.x_val, data.y_val), patience=patience, progress=progress,
                           desc="(early stopping on validation AUC)")
    oof = _oof(library, p, data.x_train, data.y_train, best, folds, seed, binned=binned, progress=progress,
               one_shuffle=data.split_config.one_shuffle, groups=_train_groups(data))
    return BoostedEnsemble.from_booster(library, booster, oof=oof, oof_folds=folds)


# -- boosted forecasters on windows of a series ------------------------------------------------
#: What an array teacher's objective changes in :data:`DEFAULT_PARAMS`: a regression learns the
#: forecast under squared error and stops early on it; a binary one (market direction, near a coin
#: flip) stops on log loss, which moves more smoothly than AUC when there is little signal.
ARRAY_PARAMS: dict[str, dict[str, dict[str, Any]]] = {
    "lightgbm": {"regression": {"objective": "regression", "metric": "l2"},
                 "binary": {"objective": "binary", "metric": "binary_logloss"}},
    "xgboost": {"regression": {"objective": "reg:squarederror", "eval_metric": "rmse"},
                "binary": {"objective": "binary:logistic", "eval_metric": "logloss"}},
}


def blocked_folds(n: int, k: int, purge: int = 0, *, dates: np.ndarray | None = None,
                  label_end: np.ndarray | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
    """``k`` contiguous blocks of ``n`` rows in their order: per block, (rows its model trains on,
    the block's rows). The training rows leave out ``purge`` rows on each side of the block, so
    no label that overlaps the block's outcomes (an h-step label spans h rows) is learned.

    For rows in time order this is the blocked cross-validation of time series: a held block is
    never scored by a model that saw its rows or their neighbours' labels.

    With ``dates`` (one per row: several assets, rows in (asset, date) order), the blocks are
    blocks of *dates*: a block holds every asset's rows of its dates, so no model scores an asset
    on a date after learning another asset's outcome of that date (correlated assets share their
    market's moves). ``purge`` then counts dates; with ``label_end`` (one per row: the date of the
    last value its label reads) the purge is exact instead: a training row's label interval
    [date, label_end] never meets the block's, from its first date to its last label end.
    """
    if dates is None:
        edges = np.linspace(0, n, k + 1).round().astype(np.int64)
        rows = np.arange(n)
        out = []
        for lo, hi in pairwise(edges.tolist()):
            held = rows[lo:hi]
            train = rows[(rows < lo - purge) | (rows >= hi + purge)]
            out.append((train, held))
        return out
    days = np.asarray(dates)
    if len(days) != n or (label_end is not None and len(label_end) != n):
        raise ConfigError(f"blocked_folds needs one date (and label end) per row: {n} rows, {len(days)} dates"
                          + ("" if label_end is None else f", {len(label_end)} label ends") + ".", param="dates")
    unique, index = np.unique(days, return_inverse=True)
    index = index.reshape(-1)
    ends = None if label_end is None else np.asarray(label_end)
    edges = np.linspace(0, len(unique), k + 1).round().astype(np.int64)
    out = []
    for lo, hi in pairwise(edges.tolist()):
        inside = (index >= lo) & (index < hi)
        held = np.flatnonzero(inside)
        if ends is None:
            train = np.flatnonzero((index < lo - purge) | (index >= hi + purge))
        elif len(held):
            first, last = days[held].min(), ends[held].max()
            train = np.flatnonzero(~inside & ((ends < first) | (days > last)))
        else:
            train = np.flatnonzero(~inside)
        out.append((train, held))
    return out


def fit_boosted_arrays(x_train: np.ndarray, y_train: np.ndarray, x_val: np.ndarray, y_val: np.ndarray, *,
                       library: str = "lightgbm", objective: str = "regression", seed: int = 0,
                       params: Mapping[str, Any] | None = None, folds: int | None = DEFAULT_FOLDS,
                       purge: int = 0, dates: np.ndarray | None = None, label_end: np.ndarray | None = None,
                       progress: bool | str = False) -> BoostedEnsemble:
    """A LightGBM (or XGBoost) teacher on ready arrays, e.g. windows of a price series.

    ``x_*`` are rows ``[n, features]`` or windows ``[n, window, features]``; windows are
    flattened into lag features (oldest step first) and the ensemble records its ``window``, so
    it takes the same windows as a neural forecaster and its ONNX graph does the flattening.
    ``objective`` is "regression" (the output is the forecast: a log return, a volatility) or
    "binary" (0/1 labels; the output is log-odds). Training stops early on the validation rows
    (squared error, or log loss; see :data:`ARRAY_PARAMS`), never on a test period.

    Out-of-fold outputs of the training rows (what the student distils on those rows) come
    from ``folds`` contiguous blocks (:func:`blocked_folds`) with ``purge`` rows left out on
    each side of a block; give the rows in time order and the horizon as ``purge``. For several
    assets give each training row's ``dates`` and ``label_end`` as well: the blocks are then
    blocks of dates, purged by label interval (see :func:`blocked_folds`). ``folds=None``
    stores none (the student then distils the final model's outputs).

    Raises:
        ConfigError: an unknown library or objective, folds out of range, or labels that do not
            fit the objective (a binary one needs 0/1 labels of both classes).
        DataError: the arrays do not line up, or hold NaN or infinite values.
    """
    refuse_unstored(library, params)
    if library not in DEFAULT_PARAMS:
        raise ConfigError(f"The 'library' parameter must be one of {tuple(DEFAULT_PARAMS)}; got {library!r}.",
                          param="library")
    if objective not in ARRAY_PARAMS[library]:
        raise ConfigError(f"The 'objective' parameter must be 'regression' (the output is the forecast) or 'binary' "
                          f"(0/1 labels, log-odds); got {objective!r}.", param="objective")
    if isinstance(purge, bool) or not isinstance(purge, int) or purge < 0:
        raise ConfigError(f"The 'purge' parameter must be a whole number of rows, 0 or more (the forecast horizon); "
                          f"got {purge!r}.", param="purge")
    x_tr, y_tr, window = _flat(x_train, y_train, "training")
    x_va, y_va, window_val = _flat(x_val, y_val, "validation")
    if window_val != window or x_va.shape[1] != x_tr.shape[1]:
        raise DataError(f"The validation rows have another shape ({tuple(np.shape(x_val)[1:])}) than the training rows "
                        f"({tuple(np.shape(x_train)[1:])}); build both with the same preprocessor.")
    if objective == "binary":
        for name, labels in (("training", y_tr), ("validation", y_va)):
            if not np.isin(labels, (0.0, 1.0)).all() or len(np.unique(labels)) < 2:
                raise ConfigError(f"A binary boosted teacher needs 0/1 labels of both classes in the {name} rows; got "
                                  f"values {np.unique(labels)[:5].tolist()}. Use objective='regression' for a "
                                  "forecast.", param="objective")
    if folds is not None:
        check_folds(folds, None, "folds")
        units = len(y_tr) if dates is None else len(np.unique(np.asarray(dates)))  # blocks of rows, or of dates
        if units < folds * (2 * purge + 2):
            # param names no CLI flag: these are the booster's out-of-fold folds, not the walk-forward ones.
            raise ConfigError(f"The booster's {folds} out-of-fold folds with a purge of {purge} rows leave too few of "
                              f"the {len(y_tr)} training rows per fold; use a longer price history (or, in Python, "
                              "fewer folds or folds=None).", param="oof_folds")
    p = {**DEFAULT_PARAMS[library], **ARRAY_PARAMS[library][objective], **dict(params or {})}
    metric = "squared error" if objective == "regression" else "log loss"
    booster, best = _train(library, p, x_tr, y_tr, seed, MAX_ROUNDS, valid=(x_va, y_va), patience=PATIENCE,
                           progress=progress, desc=f"(early stopping on validation {metric})")
    oof = None
    if folds is not None:
        oof = np.zeros(len(y_tr))
        for k, (train_rows, held) in enumerate(blocked_folds(len(y_tr), folds, purge, dates=dates,
                                                                     label_end=label_end)):
            part, _ = _train(library, p, x_tr[train_rows], y_tr[train_rows], seed + k + 1, best, progress=progress,
                             desc=f"out-of-fold {k + 1}/{folds}")
            oof[held] = _raw(library, part, x_tr[held])
    return BoostedEnsemble.from_booster(library, booster, oof=oof, oof_folds=folds or 0, window=window,
                                        objective=objective)


def _flat(x: np.ndarray, y: np.ndarray, part: str) -> tuple[np.ndarray, np.ndarray, int | None]:
    """Rows as a float64 matrix (windows flattened), labels as float64, and the window length."""
    x_arr, y_arr = np.asarray(x), np.asarray(y, dtype=np.float64).reshape(-1)
    if x_arr.ndim not in (2, 3) or len(x_arr) != len(y_arr) or len(y_arr) == 0:
        raise DataError(f"The {part} rows must be a matrix [rows, features] or windows [rows, window, features] with "
                        f"one label per row; got shape {x_arr.shape} and {len(y_arr)} label(s).")
    window = int(x_arr.shape[1]) if x_arr.ndim == 3 else None
    flat = x_arr.reshape(len(x_arr), -1).astype(np.float64)
    bad = ~np.isfinite(flat).all(axis=1) | ~np.isfinite(y_arr)
    if bad.any():
        raise DataError(f"The {part} rows hold NaN or infinite values (row {int(np.flatnonzero(bad)[0])}, "
                        f"{int(bad.sum())} row(s)); rows whose label is not known yet must be left out.")
    return flat, y_arr, window


# -- importing a saved booster -----------------------------------------------------------------
def _read_booster(path: Path) -> tuple[str, Any, bytes]:
    """Read a booster file, check its structure in Python, and only then hand it to its library."""
    try:
        # A regular file only (a named pipe would wait for ever, a device never ends), read no
        # further than its cap.
        raw = read_small_file(path, MAX_BOOSTER_BYTES)
    except FileTooLarge as exc:
        raise ConfigError(f"The booster file {str(path)!r} is {exc.size:,} bytes or more; finlite reads boosters of at "
                          f"most {MAX_BOOSTER_BYTES // 2**20} MiB. Pass a smaller model (fewer or shallower "
                          "trees).") from None
    except OSError as exc:
        raise ConfigError(f"Cannot read booster file {str(path)!r}: {exc.strerror or exc}.") from None
    library = check_booster(raw, f"The booster file {str(path)!r}")
    return library, load_booster(library, raw, f"The booster file {str(path)!r}"), raw


def _parity(library: str, booster: Any, wrapped: BoostedEnsemble, prepared: PreparedData,
            features: list[str]) -> tuple[dict[str, Any], tuple[np.ndarray, np.ndarray]]:
    """How closely the wrapped teacher reproduces the booster on the table's own raw columns.

    The wrapper rebuilds raw values from finlite's float32 encoding and keeps each on the side of
    every split its encoded value lies (BoostedEnsemble.features); a value the encoding cannot
    tell apart from a split threshold could still land on the other side, and a blank where the
    training split had none is imputed. This measures it, over every labelled row.
    """
    # Each column as finlite reads it (money text "$1,169" is 1169; to_numeric made it NaN and a
    # faithful import looked 976 rows apart from its booster: a review, 2026-12-04 evening).
    # Likewise "84\u00a0" with a spreadsheet's no-break space is 84, where to_numeric gives NaN.
    schema, numeric = prepared.schema, set(prepared.schema.numeric)
    raw = np.column_stack([numeric_column(prepared.frame[name], name, prepared.source, money=schema.number_rule(name))
                           if name in numeric else pd.to_numeric(prepared.frame[name], errors="coerce")
                           .to_numpy(dtype=np.float64) for name in features]) if features else \
        np.empty((len(prepared.frame), 0))
    # The booster's own probability, as its library gives it: LightGBM's predict() applies the
    # file's sigmoid and a random forest's averaging, which the raw scores do not show (raw
    # against raw recorded 0 difference for both: a review, 2026-12-03).
    own = (np.asarray(booster.predict(raw), dtype=np.float64) if library == "lightgbm"
           else 1 / (1 + np.exp(-_raw(library, booster, raw))))
    encoded = prepared.preprocessor.transform(prepared.frame)
    ours = 1 / (1 + np.exp(-wrapped.logits_np(encoded)))
    diff = np.abs(own - ours)
    above = np.flatnonzero(~(diff <= PARITY_TOLERANCE))
    # The first such row as the file numbers its data rows (unlabelled rows were left out).
    labelled = np.flatnonzero(prepared.table.frame[prepared.schema.target].notna().to_numpy())
    return {"rows": len(diff), "max_abs_diff": float(np.nanmax(diff)) if len(diff) else 0.0,
            "rows_above_1e-6": int(above.size), "decisions_flipped_at_0.5": int(((own >= 0.5) != (ours >= 0.5)).sum()),
            "first_row_above": int(labelled[above[0]]) + 1 if above.size else None}, (own, ours)


def flips_at_cutoff(parity: dict[str, Any], scores: tuple[np.ndarray, np.ndarray], cutoff: float) -> None:
    """Record in ``parity`` (in place) how many decisions differ from the booster's at the
    artifact's operating ``cutoff``, from ``scores`` (the booster's and the teacher's
    probabilities: ``import_booster(..., scores=[])``). At 0.5 alone the count understated the
    harm tenfold on a book with a 20 % bad rate, where few scores are near 0.5 (a review,
    2026-12-05)."""
    own, ours = scores
    parity["cutoff"] = float(cutoff)
    parity["decisions_flipped_at_cutoff"] = int(((own >= cutoff) != (ours >= cutoff)).sum())


def decision_flips_text(parity: Mapping[str, Any]) -> str:
    """How many of an import's decisions differ from the booster's: at the cut-off when recorded,
    and at 0.5 ("1 decision at the cut-off 0.28 and 3 at 0.5 differ")."""
    def counted(n: int) -> str:
        return f"{n:,} decision{'' if n == 1 else 's'}"

    at_half = int(parity.get("decisions_flipped_at_0.5") or 0)
    at_cutoff = parity.get("decisions_flipped_at_cutoff")
    if at_cutoff is None:
        return f"{counted(at_half)} at 0.5 {'differs' if at_half == 1 else 'differ'}"
    return f"{counted(int(at_cutoff))} at the cut-off {float(parity['cutoff']):.4g} and {at_half:,} at 0.5 differ"


#: How far (in P(positive)) the wrapped teacher may differ from the booster on a row before the
#: row is counted (and the import warns): float32 encoding alone stays far below it.
PARITY_TOLERANCE = 1e-6


def parity_note(parity: Mapping[str, Any]) -> str | None:
    """The warning about an import's parity (None when every row matched): in the outcome's
    ``warnings`` of :func:`finlite.jobs.train.import_teacher`, which ``import-teacher`` prints.

    Not a refusal: a value closer to an XGBoost threshold (it splits at observed values) than
    finlite's float32 encoding resolves cannot be placed (4 of about 241,000 probe rows in
    bench/import_parity.py), and a blank where the training split had none is imputed; a
    refusal would turn such boosters away.
    """
    if not parity.get("rows_above_1e-6"):
        return None
    flips = decision_flips_text(parity)
    return (f"{parity['rows_above_1e-6']:,} of {parity['rows']:,} rows of the table score differently from the booster "
            f"(largest difference in P(positive) {parity['max_abs_diff']:.4g}, first at data row "
            f"{parity.get('first_row_above')}; {flips}). A value closer to a split threshold than finlite's float32 "
            "encoding resolves can land on the other side of it, and a missing value in a column that had "
            "none in the training split is imputed with the median, not sent down the booster's missing branch. The "
            "teacher's scores are recorded as they are (steps[0].parity in the manifest); check those rows before "
            "relying on it.")


def _check_lightgbm_output(raw: bytes, file: Path) -> None:
    """Refuse a LightGBM model whose probability is not the logistic of its summed trees, which is
    what finlite's boosted teachers (and their ONNX export) compute: ``sigmoid:k`` with k other
    than 1 scales the score, and a random forest (``boosting=rf``) averages its trees."""
    sigmoid = re.search(rb"^objective=\S+ sigmoid:(\S+)", raw, re.MULTILINE)
    if sigmoid is not None:
        try:
            k = float(sigmoid.group(1))
        except ValueError:
            k = math.nan
        if k != 1.0:
            raise ConfigError(f"The booster in {str(file)!r} was trained with sigmoid={sigmoid.group(1).decode(errors='replace')[:20]}: "
                              "its probability is 1/(1+exp(-k*score)), but finlite's boosted teachers use LightGBM's "
                              "default k = 1. Train it again without the sigmoid parameter.")
    if re.search(rb"^average_output\s*$", raw, re.MULTILINE):
        raise ConfigError(f"The booster in {str(file)!r} is a random forest (boosting=rf): it averages its trees, but "
                          "finlite's boosted teachers add them. Import a gradient-boosted model (boosting=gbdt, goss "
                          "or dart).")


def _check_lightgbm_ranges(raw: bytes, features: list[str], prepared: PreparedData, file: Path) -> None:
    """Refuse a table whose column lies mostly outside the range the LightGBM file says the booster
    was trained on (``feature_infos=[min:max]``): the same quantity in another unit. A booster
    trained on rates as fractions (0.05 to 0.28), imported with a table of "13.56%" (read as
    13.56), scored every row from its top leaf, and the parity check, which reads the table as
    finlite does on both sides, found nothing (a review, 2026-12-05)."""
    infos = re.search(rb"^feature_infos=(.*)$", raw, re.MULTILINE)
    if infos is None:
        return
    schema = prepared.schema
    for name, info in zip(features, infos.group(1).decode("utf-8", "replace").split(), strict=False):
        span = re.fullmatch(r"\[([^:\]]+):([^\]]+)\]", info)
        if span is None or name not in schema.numeric:
            continue
        try:
            low, high = float(span.group(1)), float(span.group(2))
        except ValueError:
            continue
        width = high - low
        if not (math.isfinite(low) and math.isfinite(high) and width > 0):
            continue
        values = numeric_column(prepared.frame[name], name, prepared.source, money=schema.number_rule(name))
        values = values[np.isfinite(values)]
        if values.size < 20:
            continue
        inside = float(np.mean((values >= low - width) & (values <= high + width)))
        if inside >= 0.5:
            continue
        how = {"money": " (read as money written as text)", "percent": " (read as percentages: '13.56%' is 13.56)"}
        raise DataError(f"The booster in {str(file)!r} was trained on {name!r} from {low:.6g} to {high:.6g} (its "
                        f"feature_infos), but {1 - inside:.0%} of the table's values lie more than that range "
                        f"outside it: from {values.min():.6g} to {values.max():.6g}"
                        f"{how.get(str(schema.number_rule(name)), '')}. Either the units differ (a fraction against "
                        "a percentage, cents against dollars: convert the column to the booster's units) or this is "
                        "not the population the booster was trained on (pass the table it was trained on).",
                        param="data")


#: Share of a column's rows that must lie far beyond every split an XGBoost booster makes on it
#: for the import to warn (:func:`beyond_splits`).
BEYOND_SPLITS_SHARE = 0.9
#: How many times below the lowest split (all splits above zero) a value is "far below" it.
_BELOW_RATIO = 10.0
#: Fewest distinct far values for the import to tell: a sentinel code is one value, a column in
#: other units many.
_FAR_DISTINCT = 10


def beyond_splits(booster: Any, features: list[str], prepared: PreparedData) -> dict[str, dict[str, float]]:
    """The columns an XGBoost booster splits on whose table values lie, nearly all of them
    (:data:`BEYOND_SPLITS_SHARE` of the values other than 0), beyond its highest split (or below
    its lowest) by more than the splits' own scale (their span, or the largest threshold's size),
    or, where every split is above 0, below a tenth of the lowest; three distinct thresholds at
    least, and ten distinct far values (a sentinel code such as 999 is one):
    ``{column: {"low", "high", "share", "min", "max"}}``.

    An XGBoost file records no training range (LightGBM's ``feature_infos`` does, and
    :func:`_check_lightgbm_ranges` refuses such a table): a booster trained on rates as fractions
    (splits 0.06 to 0.27), imported with the rates in percent, sent every row down the same branch
    of every split on the rate and imported with exit 0 (note 76). Its splits are where the
    training rows were, so a column whose rows all lie past them by more than their scale is in
    other units, or not the population the booster was trained on. Told, not refused: a split
    placement is a weaker record of the training range than LightGBM's.
    """
    try:
        trees = booster.trees_to_dataframe()
    except Exception:  # noqa: BLE001 - a booster XGBoost cannot dump has no splits to read here
        return {}
    splits = trees[(trees["Feature"] != "Leaf") & trees["Split"].notna()]
    schema = prepared.schema
    found: dict[str, dict[str, float]] = {}
    for name, thresholds in splits.groupby("Feature")["Split"]:
        name = str(name)
        if name not in features or name not in schema.numeric:
            continue
        cuts = np.asarray(thresholds, dtype=np.float64)
        cuts = np.unique(cuts[np.isfinite(cuts)])
        # Three places at least: a lone split between zero and the rest (XGBoost's 1e-6) says
        # nothing of the scale of the values above it.
        if cuts.size < 3:
            continue
        low, high = float(cuts.min()), float(cuts.max())
        scale = max(high - low, abs(low), abs(high))
        if not scale > 0:
            continue
        values = numeric_column(prepared.frame[name], name, prepared.source, money=schema.number_rule(name))
        # Zeros are left out: a count or a balance that is mostly 0 lies below a first split at
        # 0.5 as a matter of course.
        values = values[np.isfinite(values) & (values != 0)]
        if values.size < 20:
            continue
        # Far above the splits, or (all splits above zero) far below the lowest in ratio: a table
        # in fractions against a booster of percentages lies at a hundredth of its splits.
        far = (values < low - scale) | (values > high + scale)
        if low > 0:
            far |= (values > 0) & (values < low / _BELOW_RATIO)
        share = float(np.mean(far))
        # A code repeated on most rows (999 for "never delinquent") is no other unit: the far
        # values of a column in other units are many (a review, 2026-12-07).
        if share >= BEYOND_SPLITS_SHARE and np.unique(values[far]).size >= _FAR_DISTINCT:
            found[name] = {"low": low, "high": high, "share": share, "min": float(values.min()),
                           "max": float(values.max())}
    return found


def beyond_splits_note(step: Mapping[str, Any]) -> str | None:
    """The warning of an import whose columns lie beyond the booster's splits
    (:func:`beyond_splits`, the manifest's ``steps[0].beyond_splits``); None when none do."""
    found = step.get("beyond_splits") or {}
    if not found:
        return None
    told = "; ".join(f"{name!r}: splits from {v['low']:.6g} to {v['high']:.6g}, {v['share']:.0%} of the table's "
                     f"values far beyond them (from {v['min']:.6g} to {v['max']:.6g})"
                     for name, v in list(found.items())[:5])
    return (f"the table's values of {len(found)} column(s) lie beyond every split the booster makes on them by more "
            f"than the splits' own scale ({told}): every such row takes the same branch at each of those splits, "
            "so the booster scores them as if the column were constant. The units likely differ (a percentage "
            "against a fraction, cents against dollars: convert the column to the booster's units), or this is "
            "not the population the booster was trained on (pass the table it was trained on). An XGBoost file "
            "records no training range, so this is told, not refused.")


def _check_direction(wrapped: BoostedEnsemble, prepared: PreparedData, file: Path) -> None:
    """Refuse a booster whose scores rank the table's positive class clearly below the other on
    the training rows it was fitted on: it was trained with the other class as positive, and its
    cut-off would flag the best applicants (its out-of-fold refits, fitted on the table's labels,
    would point the other way)."""
    from finlite.evaluate.metrics import auc_and_se

    y = np.asarray(prepared.y_train)
    if (y == 1).all() or (y != 1).all():
        return  # the fold check that follows names a split of one class
    scores = wrapped.logits_np(prepared.x_train)
    value, se = auc_and_se(scores[y == 1], scores[y != 1])
    # Below 0.5 by more than chance (two DeLong standard errors): a weak booster, or one fitted
    # on other rows, may land just under 0.5 and is left to the gates.
    if value < 0.5 - 2 * se:
        schema = prepared.schema
        # Not "pass the other class": finlite flags the positive class at or above a cut-off, so a
        # booster of P(good) imported with positive=good flagged the good applicants, 70 % of them
        # (a bring-your-own-model walk-through, 2026-12-07).
        raise DataError(f"The booster in {str(file)!r} ranks {schema.target}={schema.positive!r} (the positive class "
                        f"here) below {schema.negative!r}: AUC {value:.3f} on the training rows it was fitted on, so it "
                        f"scores P({schema.target}={schema.negative!r}). finlite flags (declines, refers, holds) the "
                        f"positive class at or above a cut-off: pass positive={schema.negative!r} only if "
                        f"{schema.negative!r} is the outcome to flag (a default, a fraud). If it is the good outcome, "
                        f"train the booster again with {schema.target}={schema.positive!r} as its label 1 and import "
                        "that; or check the target.", param="positive")


def import_booster(
    path: str | os.PathLike[str],
    data: str | os.PathLike[str] | pd.DataFrame | Table,
    *,
    target: str,
    positive: Any = None,
    date_column: str | None = None,
    seed: int = 0,
    folds: int = 5,
    group_column: str | None = None,
    learning_rate: float | None = None,
    scores: list[tuple[np.ndarray, np.ndarray]] | None = None,
) -> tuple[BoostedEnsemble, PreparedData, dict[str, Any]]:
    """Wrap a saved LightGBM or XGBoost booster as a finlite teacher on its labelled table.

    ``scores``, when given, receives the booster's and the wrapped teacher's probabilities of
    every table row, for the parity at the operating cut-off (:func:`flips_at_cutoff`); the
    returned step stays plain JSON.

    The booster's feature names must be numeric columns of ``data`` (what it was trained on).
    The table is split as for any teacher; finlite's preprocessor is fitted on those columns
    (the student will use it) and undone exactly before the booster scores a row. OOF scores
    come from refitting the booster's own settings on k folds of the training split: LightGBM
    files carry their parameters; XGBoost files do not carry their learning rate, so pass
    ``learning_rate`` (default: XGBoost's 0.3) and the tree depth is read from the trees.

    The returned step records ``parity``: the largest probability difference between the
    wrapped teacher and the booster scoring the raw columns itself, and the rows it affects.
    Raw values are rebuilt from finlite's float32 encoding, each kept on the side of every split
    that its encoded value lies (XGBoost places thresholds on observed values, which a rebuilt
    29.999998 would cross; see :func:`finlite.models.gbdt.encoded_cuts`); the manifest says how
    closely that matched.
    """
    check_folds(folds)  # before any work: the label check follows once the table is split
    if learning_rate is not None and (isinstance(learning_rate, bool) or not isinstance(learning_rate, (int, float))
                                      or not math.isfinite(learning_rate) or not learning_rate > 0):
        raise ConfigError(f"The 'learning_rate' parameter must be a finite positive number (XGBoost's default is "
                          f"0.3); got {learning_rate!r}.", param="learning_rate")
    file = Path(path)
    library, booster, raw = _read_booster(file)
    if library == "lightgbm":
        _check_lightgbm_output(raw, file)
    if library == "lightgbm" and learning_rate is not None:
        raise ConfigError(f"learning_rate is for XGBoost files, which do not store it; {str(file)!r} is a LightGBM "
                          "model, whose file carries its own parameters (the refits use them). Drop learning_rate.",
                          param="learning_rate")
    features = list(booster.feature_name() if library == "lightgbm" else (booster.feature_names or []))
    # LightGBM names unnamed features Column_0, Column_1, ...; XGBoost leaves them empty.
    if not features or all(re.fullmatch(r"Column_\d+", f) for f in features):
        raise DataError(f"The booster in {str(file)!r} has no feature names, so finlite cannot tell which columns "
                        "it reads. Train it on a DataFrame (or pass feature_name=/feature_names=) and save it again.")
    twice = sorted({f for f in features if features.count(f) > 1})
    if twice:  # two trees' features would read one column: which was meant cannot be told
        raise DataError(f"The booster in {str(file)!r} names feature(s) {twice[:5]} more than once, so finlite "
                        "cannot tell which column each of them reads. Give every feature its own name when "
                        "training the booster, and save it again.")
    if date_column is not None and date_column in features:
        raise ConfigError(f"The booster in {str(file)!r} reads {date_column!r}, the column given as --date-column; a "
                          "split column is never a feature. Split on another date column, or leave --date-column out.",
                          param="date_column")
    if target in features:
        raise DataError(f"The booster in {str(file)!r} reads {target!r}, the target: it was trained on its own label "
                        "(a leak). Check --target, or retrain the booster without that column.", param="target")
    clash = sorted(f for f in features if f.endswith("__is_missing") and f.removesuffix("__is_missing") in features)
    if clash:
        # finlite names each column's missing indicator '<column>__is_missing'; a table column of
        # that name was read as the indicator (301 of 1,000 decisions differed: a review, 2026-12-03).
        raise DataError(f"The booster reads column(s) {clash[:5]}, named as finlite names its missing-value "
                        "indicators ('<column>__is_missing'). Rename them in the table and when training the booster.")
    table = data if isinstance(data, Table) else read_table(data)
    missing = [f for f in features if f not in table.frame.columns]
    if missing:
        raise DataError(f"The booster reads column(s) {missing[:5]} that {table.source} lacks; pass the table the "
                        "booster was trained on.")
    if group_column is not None and group_column in features:
        raise ConfigError(f"The booster in {str(file)!r} reads {group_column!r}, the column given as --group-column; "
                          "an account number read as an input lets a model learn each account's outcome. Retrain the "
                          "booster without it, or leave --group-column out.", param="group_column")
    drop = [c for c in table.frame.columns if c not in features and c not in (target, date_column, group_column)]
    split = SplitConfig(seed=seed, date_column=date_column, group_column=group_column)
    # Never squashed (Encoding.extremes): the booster's thresholds are raw values, placed in the
    # encoding by its standardisation alone. Centred on the median: extremes in a column (a 1e12
    # placeholder) move its mean so far that float32 no longer tells ordinary values apart where
    # the booster splits them; 2,156 of 6,000 rows scored unlike the booster with the mean
    # (Encoding.numeric_center; a review, 2026-12-05).
    prepared = prepare(table, target=target, positive=positive, numeric=features, drop=drop, split=split,
                       encoding=Encoding(seed=seed, numeric_center="median", extremes="scale"))
    if prepared.schema.categorical:
        raise DataError(f"Column(s) {prepared.schema.categorical} read by the booster are not numeric; imported "
                        "boosters must read numeric columns.")
    if library == "lightgbm":
        _check_lightgbm_ranges(raw, features, prepared, file)
    pre = prepared.preprocessor
    # A column never missing in the training split has no missing indicator, so a blank there is
    # imputed with the median, not sent down the booster's missing branch. Forcing an indicator
    # for every column made the teacher exact on blanks but left the student's indicator weights
    # untrained (0 in every training row): blanked, 46 % of its decisions differed from the
    # teacher's, against 7 % with imputation (a review, 2026-12-03). Imputation is kept; the
    # parity check counts such rows of the table and the import warns.
    names = pre.feature_names
    specs = {num.name: (i, num) for i, num in enumerate(pre.numeric_)}
    input_map = {"mode": "columns", "columns": features,
                 "index": [specs[f][0] for f in features],
                 "mean": [specs[f][1].mean for f in features], "std": [specs[f][1].std for f in features],
                 "missing_index": [names.index(f"{f}__is_missing") if specs[f][1].indicator else -1 for f in features]}
    wrapped = BoostedEnsemble.from_booster(library, booster, input=input_map)
    _check_direction(wrapped, prepared, file)
    parity, both = _parity(library, booster, wrapped, prepared, features)  # the CLI warns from it (parity_note)
    if scores is not None:
        scores.append(both)
    x_train_raw = wrapped.features(prepared.x_train)
    if library == "lightgbm":
        skip = {"num_iterations", "num_iteration", "n_iter", "num_tree", "num_trees", "num_round", "num_rounds",
                "num_boost_round", "n_estimators", "max_iter", "early_stopping_round", "metric"}
        params = {k: v for k, v in booster.params.items() if k not in skip and k not in _LGB_NOT_REFIT}
        params.update({"verbose": -1, "num_threads": 2})
        # The refit trains the binary model the header declares (checked by check_booster); the
        # parameters section is free text, and a multiclass, regression or ranking objective
        # there would crash the OOF step or store meaningless out-of-fold scores.
        declared = re.search(rb"^objective=([A-Za-z_]+)", raw, re.MULTILINE)
        params["objective"] = declared.group(1).decode() if declared else "binary"
        rounds = booster.num_trees()
        settings = {"rounds": rounds, "from": "the model file's parameters"}
    else:
        params = {"objective": "binary:logistic", "max_depth": max(wrapped.max_depth, 1),
                  "eta": 0.3 if learning_rate is None else float(learning_rate), "nthread": 2, "tree_method": "hist"}
        rounds = booster.num_boosted_rounds()
        settings = {"rounds": rounds, "max_depth": params["max_depth"], "eta": params["eta"],
                    "from": "depth read from the trees; learning rate " +
                            ("given" if learning_rate is not None else "XGBoost's default (not stored in the file)")}
    check_folds(folds, prepared.y_train, "folds")
    try:
        oof = _oof(library, params, x_train_raw, prepared.y_train, rounds, folds, seed,
                   groups=_train_groups(prepared))
    except Exception as exc:  # the library's own refusal of a setting the file carries
        if type(exc).__name__ not in ("LightGBMError", "XGBoostError"):
            raise
        said = str(exc).strip().splitlines()[-1][:300] if str(exc).strip() else type(exc).__name__
        said = re.sub(r"\s+at \S+, line \d+\s*\.?$", "", said)  # the library's own source path
        where = "parameters section" if library == "lightgbm" else "settings"
        raise ConfigError(f"The out-of-fold refits of the booster in {str(file)!r} use its own {where}, and "
                          f"{'LightGBM' if library == 'lightgbm' else 'XGBoost'} refuses them: {said}. Fix that "
                          "parameter in the model file (or train the booster again with a valid value).") from None
    wrapped.n_train = len(oof)
    wrapped.oof_folds = folds
    wrapped.set_oof(oof)
    step = {"step": "import", "library": library, "file": file.name, "file_sha256": hashlib.sha256(raw).hexdigest(),
            "features": features, "oof": {"folds": folds, **settings}, "parity": parity}
    if library == "xgboost" and (beyond := beyond_splits(booster, features, prepared)):
        step["beyond_splits"] = beyond
    return wrapped, prepared, step
