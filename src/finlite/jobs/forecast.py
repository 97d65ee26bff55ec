"""The forecasting jobs: train a market forecaster on a price file, and judge forecasts on the test period.

:func:`train_forecaster` reads a price table, builds causal features, splits it walk-forward by
date (:func:`finlite.data.market.prepare_series`: the scaler is fitted on the training dates
only), trains a teacher (an LSTM or GRU, a temporal convolutional network, a small Transformer
or LightGBM on the windows) with the one training loop, and saves it as an artifact whose
report compares it with the naive forecast and buy-and-hold on the test period.

:func:`forecast_evidence` is the one place forecasts become evidence: the forecasting metrics
pooled and per test fold against the naive forecast, Diebold–Mariano tests (each model against
the naive forecast, and the student against the teacher) and the trading view (long/flat and
long/short on the predicted direction, after costs) next to buy-and-hold. Train, compress,
evaluate, the market demo and ``bench/markets.py`` all read it.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from finlite import _paths
from finlite._limits import check_seed
from finlite._util import check_flags, dump_json, natural_key, param_error, terminal_safe
from finlite.artifact import DataLike, save_artifact
from finlite.data.market import (
    MarketSpec,
    PreparedSeries,
    asset_calendar,
    ewma_forecasts,
    majority_calendar,
    periods_per_year,
    prepare_series,
    realised_log_returns,
    realised_paths,
    to_price_level,
)
from finlite.data.walkforward import WalkForward
from finlite.errors import ConfigError, DataError, FinliteWarning
from finlite.evaluate.forecast import (
    ABS_RETURN_VARIANCE_RATIO,
    ES_DRAWS,
    ES_LEVEL,
    ES_RED_PROBABILITY,
    VAR_LEVELS,
    breach_tail,
    buy_and_hold,
    calendar_holes_warning,
    cross_sectional_ic,
    date_mean_errors,
    diebold_mariano,
    directional_accuracy_test,
    es_backtest,
    forecast_metrics,
    has_cross_section,
    independent_rows,
    panel_books,
    red_by_chance,
    red_probability,
    trading_view,
    up_share,
    var_backtest,
)
from finlite.evaluate.model_card import fenced, markdown_cell
from finlite.evaluate.operating import OperatingPoint, check_operating_options, operating_point
from finlite.models.base import FinliteModel, forward_rows
from finlite.tasks import get_task
from finlite.training.loop import (
    TrainConfig,
    fit,
    fold_scale,
    keeps_random_state,
    output_layer,
    seed_everything,
    seeded,
)

__all__ = ["DEFAULT_COST_BPS", "DEFAULT_HIDDEN", "FORECASTERS", "THIN_PERIODS", "THIN_WINDOWS", "ForecastOutcome",
           "build_forecaster", "first_epoch_warning", "forecast_evidence", "realised_log_returns", "realised_paths",
           "render_forecast_table", "thin_warnings", "train_forecaster"]

#: The teachers :func:`train_forecaster` trains.
FORECASTERS = ("lstm", "gru", "tcn", "transformer", "lightgbm")

#: Widths by model when none are given: recurrent layer widths, TCN channels, Transformer d_model.
DEFAULT_HIDDEN: dict[str, tuple[int, ...]] = {"lstm": (64, 32), "gru": (64, 32), "tcn": (32, 32, 32, 32),
                                              "transformer": (32,)}

#: Transaction cost of the trading view, in basis points per unit of turnover.
DEFAULT_COST_BPS = 1.0

# Below this many training windows a neural forecaster cannot learn anything a reviewer should see.
MIN_TRAIN_WINDOWS = 30


@dataclass
class ForecastOutcome:
    """A trained forecaster, the series it saw, its test-period evidence and where it was saved."""

    model: FinliteModel
    data: PreparedSeries
    metrics: dict[str, Any]
    path: Path | None
    operating_point: OperatingPoint | None = None
    #: What the caller should be told (each also issued as a :class:`finlite.FinliteWarning` before
    #: the artifact is written, and printed by the CLI): a network kept at its first epoch.
    warnings: tuple[str, ...] = ()

    def __repr__(self) -> str:
        """A line a log can hold: the model, its test-period directional accuracy and RMSE, and
        where it was saved (the default repr printed every window of the series)."""
        test = self.metrics.get("test") if isinstance(self.metrics, dict) else None
        test = test if isinstance(test, dict) else {}

        def shown(key: str) -> str:
            value = test.get(key)
            return f"{value:.4f}" if isinstance(value, float) else "n/a"

        where = None if self.path is None else str(self.path)
        return (f"ForecastOutcome(model={type(self.model).__name__}, test_directional_accuracy="
                f"{shown('directional_accuracy')}, test_rmse={shown('rmse')}, path={where!r})")

    def _test(self, key: str) -> float | None:
        test = self.metrics.get("test") if isinstance(self.metrics, dict) else None
        value = test.get(key) if isinstance(test, dict) else None
        return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None

    @property
    def test_directional_accuracy(self) -> float | None:
        """The test period's directional accuracy (``metrics["test"]["directional_accuracy"]``), as
        the repr shows it; None without one."""
        return self._test("directional_accuracy")

    @property
    def test_rmse(self) -> float | None:
        """The test period's RMSE (``metrics["test"]["rmse"]``), as the repr shows it; None without one."""
        return self._test("rmse")


def _model_task(spec: MarketSpec) -> str:
    """The forecaster's own output: log-odds of an up move, or the forecast itself."""
    return "classification" if spec.task == "direction" else "regression"


def build_forecaster(model: str, in_features: int, window: int, task: str,
                     hidden: Sequence[int] | None = None) -> FinliteModel:
    """A fresh neural forecaster: "lstm"/"gru" (recurrent widths ``hidden``), "tcn" (channels
    ``hidden``) or "transformer" (``hidden[0]`` is d_model). ``task`` is the model's own output:
    "classification" (log-odds) or "regression"."""
    if model not in FORECASTERS or model == "lightgbm":
        raise param_error("train_forecaster", "model", f"one of {FORECASTERS}", model)
    widths = tuple(int(h) for h in (hidden if hidden else DEFAULT_HIDDEN[model]))
    if not widths or any(h < 1 for h in widths):
        raise param_error("train_forecaster", "hidden", "a non-empty list of positive widths", list(widths))
    if model in ("lstm", "gru"):
        from finlite.models.sequence import SequenceModel

        return SequenceModel(model, in_features, widths, task=task)
    if model == "tcn":
        from finlite.models.temporal import TemporalConvNet

        tcn = TemporalConvNet(in_features, channels=widths, task=task)
        if tcn.receptive_field < window:  # the older rows of every window would never reach the forecast
            need = next(k for k in range(1, 32) if TemporalConvNet(1, channels=(1,) * k).receptive_field >= window)
            raise ConfigError(f"A TCN of {len(widths)} layer(s) sees the last {tcn.receptive_field} rows of each "
                              f"{window}-row window (dilations 1, 2, 4, ...); the rest would be read and never used. "
                              f"Give at least {need} layers (hidden={[widths[0]] * need}) or a shorter window.",
                              param="hidden")
        return tcn
    from finlite.models.temporal import TransformerForecaster

    if len(set(widths)) > 1:
        raise ConfigError(f"A Transformer's layers share one width (d_model); hidden={list(widths)} gives several. "
                          "Give d_model once per layer, e.g. hidden=[32, 32] for two layers of 32.", param="hidden")
    d_model = widths[0]
    heads = 4 if d_model % 4 == 0 else 1  # the heads must divide d_model
    return TransformerForecaster(in_features, window, d_model=d_model, heads=heads, layers=max(len(widths), 1),
                                 ff=2 * d_model, task=task)


def _check_enough(series: PreparedSeries, source: str) -> None:
    """Refuse a split that leaves too few windows to train, stop or test on."""
    parts = {"training": len(series.y_train), "validation": len(series.y_val), "test": len(series.y_test)}
    for part, rows in parts.items():
        # A direction model's validation part needs both moves (checked below): two windows at least.
        need = MIN_TRAIN_WINDOWS if part == "training" else 2 if part == "validation" and series.spec.task == "direction" \
            else 1
        if rows < need:
            # A rolling walk's training part is --train-window dates long: that is what to change
            # (the message blamed --window, which a shorter value would not help: a review, 2026-12-03).
            window = series.walk.train_window
            rolling = (part == "training" and series.walk.scheme == "rolling" and window is not None
                       # only when the rolling window is what cut the part short, not the history
                       and len(np.unique(series.windows_train.dates)) >= window)
            fix = (f"a longer --train-window (now {series.walk.train_window} dates) or an expanding walk" if rolling
                   else "a longer price history, a shorter window, fewer folds or a smaller horizon")
            raise ConfigError(
                f"{source} leaves {rows} labelled {part} window(s) after the walk-forward split "
                f"({', '.join(f'{k} {v}' for k, v in parts.items())}); at least {need} are needed. Use {fix}.",
                param="train_window" if rolling else "window")
    if series.spec.task == "direction":
        # A model fitted on one class only decides nothing: it would say "up" (or "down") always.
        for part, labels in (("training", series.y_train), ("validation", series.y_val)):
            values = np.unique(np.asarray(labels))
            if len(values) < 2:
                move = "up" if values.size and values[0] == 1 else "down or flat, never up"
                if move != "up":  # a price that never changes is not "down" (a review, 2026-12-04 evening)
                    moves = realised_log_returns(series, "train" if part == "training" else "val")
                    moves = moves[np.isfinite(moves)]
                    if moves.size and not moves.any():
                        move = "zero: the price never changes"
                raise DataError(
                    f"{source}: every {part} window's move over the horizon of {series.spec.horizon} ({len(labels)} "
                    f"windows) is {move}, so the direction objective has nothing to tell apart. Use a longer or "
                    "more varied price history, or --objective return to forecast the size of the move.")


def _train_neural(net: FinliteModel, series: PreparedSeries, config: TrainConfig, desc: str) -> dict[str, Any]:
    """Train ``net`` in place with the one loop; early stopping on the validation fold.

    A regression target (a daily log return is about 0.01) is trained divided by its training
    standard deviation, so the network's output is of order one from the first epoch; the scale
    is folded into the final ``head`` afterwards, so the saved model outputs the target itself.
    """
    classification = getattr(net, "task", "regression") == "classification"
    y_train = np.asarray(series.y_train, dtype=np.float64)
    scale = 1.0 if classification else float(np.std(y_train))
    if not (math.isfinite(scale) and scale > 0):
        scale = 1.0
    x_val = torch.from_numpy(np.ascontiguousarray(series.x_val, dtype=np.float32))
    y_val = torch.from_numpy((np.asarray(series.y_val, dtype=np.float64) / scale).astype(np.float32))
    tensors = {"x": torch.from_numpy(np.ascontiguousarray(series.x_train, dtype=np.float32)),
               "y": torch.from_numpy((y_train / scale).astype(np.float32))}

    def loss(out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if classification:
            return torch.nn.functional.binary_cross_entropy_with_logits(out, target)
        return torch.nn.functional.mse_loss(out, target)

    def loss_fn(out: torch.Tensor, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
        return loss(out, batch["y"])

    def validate(model: FinliteModel) -> float:
        with torch.inference_mode():
            return -float(loss(forward_rows(model, x_val), y_val))  # higher is better

    result = fit(net, tensors, loss_fn, validate, config, desc=desc, score_name="-loss")
    head = output_layer(net)
    if scale != 1.0:
        if head is None:
            raise ConfigError(f"The {net.kind!r} forecaster has no final Linear 'head' to carry the target scale.",
                              param="model")
        fold_scale(head, scale)
    return {"best_epoch": result.best_epoch, "epochs_run": result.epochs_run, "target_scale": scale,
            "validation_loss": -result.best_score, "batch_size": result.batch_size}


@keeps_random_state
def train_forecaster(
    prices: DataLike,
    *,
    spec: MarketSpec | None = None,
    model: str = "lstm",
    walk: WalkForward | None = None,
    hidden: Sequence[int] | None = None,
    seed: int = 0,
    config: TrainConfig | None = None,
    cutoff: float | None = None,
    flag_rate: float | None = None,
    cost_bps: float = DEFAULT_COST_BPS,
    out: str | Path | None = None,
    overwrite: bool = False,
    progress: bool = True,
    gbdt_params: dict[str, Any] | None = None,
    strict: bool = False,
) -> ForecastOutcome:
    """Train a market forecaster on a price table and optionally save it as an artifact.

    ``strict`` refuses (DataError, before anything is trained or written) a price file whose
    reading raised an alarm (:attr:`finlite.data.market.PriceTable.alarms`: a move at a split's
    ratio of 2:1 or more or a tenfold jump, a stale run, a gap longer than any holiday, assets on other frequencies), all of
    them listed; without it each is a note. A nightly job trained on an unadjusted split with exit
    0, and no option could stop it (a quant's walk-through, 2026-12-07).

    ``spec`` says which columns hold the dates, the price (and ids, volume, extra series), the
    objective ("return", "direction", "volatility" or "price"), the horizon and the window;
    ``walk`` the walk-forward split (expanding, 3 folds, the last 20 % of dates as the test
    period, a purge of ``horizon`` dates). ``model`` is "lstm" or "gru" (widths ``hidden``,
    default 64,32), "tcn" (channels, default 32,32), "transformer" (d_model, default 32) or
    "lightgbm" (LightGBM on the flattened windows, ``gbdt_params`` overriding its defaults).

    Neural teachers train with :func:`finlite.training.loop.fit` (seeded; early stopping on the
    validation fold: binary cross-entropy on log-odds for direction, MSE otherwise, on the target
    divided by its training standard deviation, folded back into the head). A direction model
    decides at an operating point set as for credit: its score at the training share of up
    moves, or at ``flag_rate``, or ``cutoff`` as given. The test period (never used for fitting,
    early stopping or the operating point) gives the metrics, pooled and per test fold, against
    the naive forecast, and the trading view after ``cost_bps`` against buy-and-hold.

    Raises:
        ConfigError: an unknown model, options that do not apply (a cut-off on a forecast), or
            too few windows for the window, folds and horizon.
        DataError: a problem with the price file (naming the file, column, date and value).
    """
    check_flags("train_forecaster", overwrite=overwrite, progress=progress, strict=strict)
    seed = check_seed(seed)  # a numpy integer too, as a plain int (random.seed refuses np.int64)
    spec = spec if spec is not None else MarketSpec()
    walk = walk if walk is not None else WalkForward()
    if model not in FORECASTERS:
        raise param_error("train_forecaster", "model", f"one of {FORECASTERS}", model)
    check_operating_options("train_forecaster", cutoff, flag_rate)
    from finlite.jobs.train import refuse_unused_settings

    # As for a table's teacher: a setting the model does not have is refused, not ignored (hidden=
    # and a network config with model='lightgbm' trained without a word: a review, 2026-12-03).
    refuse_unused_settings(model, layers=model != "lightgbm", boosted=model == "lightgbm", hidden=hidden,
                           config=config, gbdt_params=gbdt_params)
    if spec.task != "direction" and (cutoff is not None or flag_rate is not None):
        name = "cutoff" if cutoff is not None else "flag_rate"
        raise ConfigError(f"{name} applies to the direction objective (a decision up or down); objective "
                          f"{spec.objective!r} forecasts a number and decides nothing. Drop {name}.", param=name)
    if not (isinstance(cost_bps, (int, float)) and math.isfinite(cost_bps) and 0 <= cost_bps < 10_000):
        raise param_error("train_forecaster", "cost_bps", "a number of basis points from 0 to under 10000", cost_bps)
    if out is not None:  # before any work: --out is no input, and may be replaced
        _paths.check_output_dir(out, overwrite=overwrite, inputs={"price file": prices})
    config = replace(seeded(config, seed, "train_forecaster"), progress=progress and (config is None or config.progress))
    series = prepare_series(prices, spec, walk=walk)
    if strict and series.table.alarms:
        alarms = series.table.alarms
        raise DataError(f"{len(alarms)} problem(s) with the prices of {series.source}, refused (strict): "
                        + " | ".join(alarms) + " Correct the file (adjust the prices for splits, fix or remove the "
                        "wrong values, split a reused id), or train without strict to be told only.", param="strict")
    _check_enough(series, series.source)
    seed_everything(seed)
    task = get_task(spec.task)
    n_features = int(series.x_train.shape[2])
    if model == "lightgbm":
        from finlite.training.boosted import fit_boosted_arrays

        net: FinliteModel = fit_boosted_arrays(
            series.x_train, series.y_train, series.x_val, series.y_val, library="lightgbm",
            objective="binary" if spec.task == "direction" else "regression", seed=seed, params=gbdt_params,
            purge=spec.horizon, dates=series.windows_train.dates, label_end=series.train_label_end,
            progress=config.progress)
        step: dict[str, Any] = {"step": "train", "model": net.config(), "params": dict(gbdt_params or {}),
                                "oof_folds": getattr(net, "oof_folds", None)}
    else:
        net = build_forecaster(model, n_features, spec.window, _model_task(spec), hidden)
        info = _train_neural(net, series, config, desc=f"training {model}")
        step = {"step": "train", "model": net.config(), "train": config.to_dict(), **info}
    said = tuple(first_epoch_warning(step))
    for message in said:  # before anything is saved: a pipeline that escalates warnings stops here
        warnings.warn(f"warning: {message}", FinliteWarning, stacklevel=3)
    point = None
    if task.decides:
        point = operating_point(task.training_scores(net, series.x_train), series.y_train, cutoff=cutoff,
                                flag_rate=flag_rate)
    cut = None if point is None else point.cutoff
    p_test = task.scores(net, series.x_test)
    evidence = forecast_evidence(series, {"teacher": p_test}, cutoff=cut, cost_bps=cost_bps)
    metrics = {"test": evidence["models"]["teacher"]["pooled"], "forecast": evidence}
    if point is not None:
        metrics["operating_point"] = point.to_dict()
    path = None
    if out is not None:
        report: dict[str, Any] = {"task": spec.task, "objective": spec.objective, "horizon": spec.horizon,
                                  "window": spec.window, "model": model, "data": series.summary(), "test": evidence}
        # Kept with the teacher, not only printed while it trained (a quant's walk-through, 2026-12-06).
        warned = [f"warning: {message}" for message in said]
        if warned:
            report["warnings"] = warned
        files = {"report.md": render_forecast_markdown(evidence, title=f"finlite forecaster ({model}, "
                                                                      f"{spec.objective}, horizon {spec.horizon})",
                                                       data=series.summary(), warning="\n".join(warned) or None),
                 "report.json": dump_json(report)}
        path = save_artifact(out, model=net, preprocessor=series.preprocessor,
                             role="teacher", seed=seed, cutoff=cut,
                             data=series.summary(), steps=[step], metrics=metrics, overwrite=overwrite,
                             extra_files=files, task=spec.task, operating_point=point)
    return ForecastOutcome(model=net, data=series, metrics=metrics, path=path, operating_point=point, warnings=said)


def first_epoch_warning(step: Mapping[str, Any]) -> list[str]:
    """The warning for a network whose early stopping kept its first epoch although it ran more:
    its validation loss never improved after one pass over the data, so it learned little the
    validation period rewards. The S&P 500 demo's LSTM teacher ran 9 epochs and kept the first,
    with the same test metrics as a 3-epoch one, and only its manifest said so (a quant's
    walk-through, 2026-12-05). Empty for a booster, or a network that improved."""
    best, ran = step.get("best_epoch"), step.get("epochs_run")
    if not isinstance(best, int) or not isinstance(ran, int) or best != 0 or ran < 2:
        return []
    return [f"early stopping kept the network's first epoch of {ran}: its validation loss was lowest after one "
            "pass over the training windows, so it learned little that the validation period rewards. Compare it "
            "with the naive forecast (the evidence table) before relying on it; a lower learning rate, another "
            "window or horizon, or a smaller network may train further."]


# -- evidence -----------------------------------------------------------------------------------
def _fold_masks(series: PreparedSeries) -> list[np.ndarray]:
    """One boolean mask over the test windows per test fold (a fold is a consecutive block of the
    test part's rows, which the test windows follow in order)."""
    test = np.asarray(series.split.test, dtype=np.int64)
    masks = [np.isin(test, np.asarray(block, dtype=np.int64)) for block in series.split.test_folds]
    masks = [m for m in masks if m.any()]
    return masks or [np.ones(len(test), dtype=bool)]


def _quality(y: np.ndarray, pred: np.ndarray, naive: np.ndarray, task_name: str, cutoff: float | None,
             horizon: int, dates: np.ndarray, mase_scale: float | None, objective: str = "") -> dict[str, Any]:
    """The forecasting metrics of ``pred`` on the labelled rows, against the naive forecast when
    the rows are enough for its Diebold–Mariano test (and the task's own metrics for direction).
    ``dates`` (one per row): a panel's test runs on the per-date mean loss differential.
    ``mase_scale``: the naive forecast's MAE on the training windows (:func:`_naive_scale`).
    ``objective`` "volatility" adds QLIKE and the variance ratio (:func:`volatility_metrics`)."""
    enough = len(np.unique(dates)) >= 2 * horizon + 2
    out: dict[str, Any] = dict(forecast_metrics(y, pred, naive if enough else None,
                                                cutoff=cutoff if task_name == "direction" else None,
                                                horizon=horizon, dates=dates, mase_scale=mase_scale))
    if objective == "volatility":
        from finlite.evaluate.forecast import volatility_metrics

        out.update(volatility_metrics(y, pred))  # the naive's own QLIKE is in its own column's entry
    if task_name == "direction":
        # A probability against a 0/1 outcome: MAPE divides by the outcome (every down move is a
        # zero, skipped) and MAE rewards hard 0/1 calls over honest probabilities, so neither it
        # nor MASE judges a direction model; RMSE (the root Brier score) and the rest do.
        for key in DIRECTION_DROPPED:
            out.pop(key, None)
        if 0 < float(np.mean(y)) < 1:
            for key, value in get_task(task_name).metrics(y, pred, cutoff).items():
                out.setdefault(key, value)
    return out


#: The point metrics a direction forecaster does not report (see :func:`_quality`); artifacts
#: made before 2026-12-05 recorded them, and ``reproduce`` leaves them out with a note.
DIRECTION_DROPPED = ("mase", "mape", "mape_skipped")


def _naive_scale(series: PreparedSeries, levels: bool = False) -> float | None:
    """MASE's scale as Hyndman and Koehler define it: the naive forecast's MAE on the training
    windows (in model units, or in price levels against the random walk with ``levels``); None
    when there is none to use. The report's forecast_accuracy section uses the same scale. A
    hold-out series carries the scales its model's training recorded (``series.mase_scales``)."""
    if series.mase_scales is not None:
        return series.mase_scales.get("levels" if levels else "units")
    train = series.windows_train
    y = np.asarray(train.y, dtype=np.float64).reshape(-1)
    known = np.isfinite(y)
    if not known.any():
        return None
    if levels:
        last = np.asarray(train.last_price, dtype=np.float64)[known]
        scale = float(np.mean(np.abs(last - to_price_level(y[known], last))))
    else:
        scale = float(np.mean(np.abs(np.asarray(train.naive, dtype=np.float64)[known] - y[known])))
    return scale if math.isfinite(scale) and scale > 0 else None


def scale_headline(comparison: dict[str, Any], evidence: Mapping[str, Any],
                   sides: Sequence[str] = ("teacher", "student")) -> None:
    """Give a forecaster's headline metrics (``comparison[side]`` for each of ``sides``, the task
    metrics of the test rows) their MASE: the model's MAE over the evidence's ``mase_scale`` (the
    naive forecast's MAE on the training windows), as the forecast evidence scales its own. The
    task metrics have no naive forecast to scale by, so report.json and the manifest said
    ``"mase": null`` beside the forecast section's 1.007 (a validator's walk-through, 2026-12-06).
    Left as it is where the model has no MASE (a direction model), the scale is unknown, or the
    headline was measured on other rows than the evidence."""
    scale = (evidence.get("mase_scale") or {}).get("units") if isinstance(evidence.get("mase_scale"), Mapping) else None
    if not isinstance(scale, (int, float)) or not math.isfinite(scale) or scale <= 0:
        return
    for side in sides:
        metrics = comparison.get(side)
        mae = metrics.get("mae") if isinstance(metrics, dict) else None
        if (not isinstance(metrics, dict) or "mase" not in metrics or metrics["mase"] is not None
                or not isinstance(mae, (int, float)) or metrics.get("rows") != evidence.get("rows")):
            continue
        metrics["mase"] = float(mae) / float(scale)


def _trading(realised: np.ndarray, signals: Mapping[str, np.ndarray], *, direction: bool, cutoff: float | None,
             cost_bps: float, horizon: int, per_year: tuple[float, str], paths: np.ndarray | None = None,
             versus: bool = False) -> dict[str, Any]:
    """Long/flat and long/short on each signal, and buy-and-hold, over one asset's test period
    (``paths``: :func:`realised_paths` of the same windows, on which drawdowns are marked daily).

    A position taken at t is held for the horizon: with h > 1 only every h-th forecast is traded,
    so holding periods do not overlap (and a year has ``per_year``/h of them: ``per_year`` is the
    series' observations a year and its calendar, :func:`finlite.data.market.periods_per_year`,
    252 for trading days). Trading from the first test
    day is then one of h equally arbitrary start days, so each strategy (and buy-and-hold) also
    gives its Sharpe ratio from every start day (``sharpe_start_days``, None where a start day
    has fewer than 2 periods): the report's trading section gives the same, and a validator
    found a long/flat Sharpe of 0.47 that was one of 0.06 to 0.67 across them.

    With ``versus`` (one asset), ``sharpe_vs_buy_and_hold``: each model's better strategy's Sharpe
    minus buy-and-hold's with its 95 % block-bootstrap interval, as the report's trading section
    judges "beats buy-and-hold" (:func:`~finlite.evaluate.forecast_report.sharpe_versus_buy_and_hold`):
    a teacher's report and ``evaluate`` showed a Sharpe of 0.55 beside buy-and-hold's 0.47 with no
    interval (a quant's walk-through, 2026-12-06)."""
    finite = np.flatnonzero(np.isfinite(realised))
    take = finite[::horizon]
    periods = per_year[0] / horizon
    out: dict[str, Any] = {"periods": len(take), "periods_per_year": periods, "calendar": per_year[1]}
    if len(take) < 2:
        return out

    def views(rows: np.ndarray) -> dict[str, Any]:
        got: dict[str, Any] = {}
        path = paths[rows] if paths is not None and horizon > 1 else None
        for name, signal in signals.items():
            if direction:
                got[name] = trading_view(realised[rows], np.clip(signal[rows], 0.0, 1.0), cost_bps, periods,
                                         kind="probability", cutoff=0.5 if cutoff is None else cutoff, path=path)
            else:
                got[name] = trading_view(realised[rows], signal[rows], cost_bps, periods, kind="forecast", path=path)
        got["buy_and_hold"] = buy_and_hold(realised[rows], cost_bps, periods, path=path)
        return got

    out.update(views(take))
    if horizon > 1:
        starts = [views(finite[offset::horizon]) if finite[offset::horizon].size >= 2 else None
                  for offset in range(horizon)]
        for name, view in out.items():
            if not isinstance(view, dict):
                continue
            for strategy in ("long_flat", "long_short") if name != "buy_and_hold" else (None,):
                where = view if strategy is None else view[strategy]
                where["sharpe_start_days"] = [
                    None if got is None else float((got[name] if strategy is None else got[name][strategy])["sharpe"])
                    for got in starts]
    if versus:
        from finlite.evaluate.forecast_report import sharpe_versus_buy_and_hold

        cut = 0.5 if cutoff is None else cutoff
        ups = {name: (np.clip(signal[take], 0.0, 1.0) >= cut) if direction else signal[take] > 0
               for name, signal in signals.items()}
        out["sharpe_vs_buy_and_hold"] = sharpe_versus_buy_and_hold(
            realised[take], ups, {name: {k: out[name][k]["sharpe"] for k in ("long_flat", "long_short")}
                                  for name in signals}, out["buy_and_hold"]["sharpe"], cost_bps, periods,
            path=paths[take] if paths is not None and horizon > 1 else None)
    return out


def _json_ready(value: Any) -> Any:
    """``value`` with every non-finite number replaced by None (a metric undefined on these rows,
    e.g. the directional accuracy of a fold whose outcomes never move), so reports stay strict JSON."""
    if isinstance(value, Mapping):
        return {str(k): _json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_ready(v) for v in value]
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


def forecast_evidence(series: PreparedSeries, predictions: Mapping[str, np.ndarray], *, cutoff: float | None,
                      cost_bps: float = DEFAULT_COST_BPS, teacher: str = "teacher") -> dict[str, Any]:
    """Evidence on the test period for each model's forecasts (model units, one per test window).

    For each model: the forecasting metrics pooled and per test fold (against the naive forecast
    the windows carry, with a Diebold–Mariano test against it), and every model besides
    ``teacher`` is also tested against the teacher (``diebold_mariano_vs_teacher``: a positive
    statistic says the model's squared errors are larger; and, for one asset at horizon 1,
    ``directional_accuracy_vs_teacher``: McNemar's exact test of the two directional accuracies,
    :func:`~finlite.evaluate.forecast.directional_accuracy_test`). The trading view trades each model's
    predicted direction long/flat and long/short after ``cost_bps`` per unit of turnover, beside
    buy-and-hold (per asset in ``trading_per_asset`` for a table of several assets). Only
    labelled windows are scored; a volatility forecast has no direction to trade.

    ``up_share`` (for an objective with a direction) is the share of test windows whose realised
    return rose, of those that moved (a direction model's: of its labels, which count no move as
    down): buy-and-hold's directional accuracy, the benchmark of a drifting market's calls (the
    table shows it in buy-and-hold's column).

    A panel with a cross-section to rank (5 assets or more on a date) also has
    ``cross_sectional_portfolio``: each model's quintile long/short and top-quintile portfolios
    and the equal-weighted universe (:func:`~finlite.evaluate.forecast.quantile_portfolio`).

    With 5 or more assets of the calendar most of them trade on, on some date of the test period
    (``cross_section`` names the others), each model and the naive forecast also have
    ``cross_sectional_ic`` (:func:`~finlite.evaluate.forecast.cross_sectional_ic`: the mean over
    the dates of the rank correlation across that date's assets, with its t-test), and each model
    besides ``teacher`` and the naive forecast ``cross_sectional_ic_vs_teacher`` (the same on the
    per-date difference from the teacher's). A direction model's probabilities are ranked against
    the realised returns over the horizon.
    """
    spec = series.spec
    windows = series.windows_test
    y_all = np.asarray(windows.y, dtype=np.float64)
    known = np.isfinite(y_all)
    y, naive = y_all[known], np.asarray(windows.naive, dtype=np.float64)[known]
    dates = np.asarray(windows.dates).astype("datetime64[D]")[known]
    scale = _naive_scale(series)
    folds = [mask[known] for mask in _fold_masks(series)]
    preds = {name: np.asarray(p, dtype=np.float64).reshape(-1)[known] for name, p in predictions.items()}
    out: dict[str, Any] = {"task": spec.task, "objective": spec.objective, "horizon": spec.horizon,
                           "rows": int(known.sum()), "dates": len(np.unique(dates)), "folds": len(folds),
                           "cost_bps": float(cost_bps),
                           "cutoff": cutoff, "models": {},
                           # MASE's scales (the naive forecast's MAE on the training windows): recorded,
                           # so a hold-out file is scaled by them, not by whatever history it holds.
                           "mase_scale": {"units": scale, "levels": _naive_scale(series, levels=True)
                                          if spec.objective == "price" else None}}
    h = spec.horizon
    ids = None if windows.ids is None else np.asarray(windows.ids).astype(str)[known]
    paths = None if spec.objective == "volatility" else realised_paths(series)[known]
    # A panel's IC as a quant reads it: each date's rank correlation across its assets, averaged
    # over the dates (the pooled one above also rewards calling the whole market's days). A
    # direction model's probability is ranked against the realised returns: its 0/1 label ties
    # half the assets of a date.
    calendars = periods_per_year(series.table, spec)
    ranked, on_calendar = None, np.ones(len(y), dtype=bool)
    if ids is not None and len(np.unique(ids)) > 1:
        out["assets"] = len(np.unique(ids))
        # One calendar's assets are ranked against each other: a coin's Friday-to-Saturday return
        # beside the stocks' Friday-to-Monday is no cross-section (a quant's walk-through).
        (per_year, calendar), on_calendar, others = majority_calendar(calendars, ids)
        enough = has_cross_section(dates[on_calendar])
        if enough or others:  # said also when leaving assets out leaves too few to rank (a review)
            out["cross_section"] = {"calendar": calendar, "periods_per_year": per_year, "ranked": enough,
                                    "assets_left_out": len(others), "left_out": others[:20]}
        if enough:
            ranked = paths[:, -1] if spec.task == "direction" and paths is not None else y
    # The baselines every model is read against: the naive forecast, and for a volatility
    # RiskMetrics' EWMA (λ 0.94), the one a market-risk desk holds any volatility model to.
    baselines = {"naive": naive}
    if spec.objective == "volatility":
        ewma = ewma_forecasts(series)[known]
        if len(ewma) and np.isfinite(ewma).all():
            baselines["ewma"] = ewma
            out["ewma_lambda"] = EWMA_LAMBDA
    for name, p in {**preds, **baselines}.items():
        # The naive direction forecast (the training share of up moves) calls the training majority:
        # up at 0.5, not at the teacher's cut-off, which lies next to that share and flips with a seed.
        cut = 0.5 if name == "naive" and cutoff is not None else cutoff
        entry: dict[str, Any] = {"pooled": _quality(y, p, naive, spec.task, cut, h, dates, scale, spec.objective),
                                 "folds": [_quality(y[m], p[m], naive[m], spec.task, cut, h, dates[m], scale,
                                                    spec.objective) for m in folds if m.any()]}
        if ranked is not None:  # the naive forecast too: a volatility's persistence ranks the assets
            m = on_calendar
            entry["cross_sectional_ic"] = cross_sectional_ic(dates[m], ranked[m], p[m], h)
        if spec.objective == "price":
            # The price objective is learned as a log change; judge it where a user reads it too: the
            # level P_t·exp(forecast) against P_{t+h}, beside the random walk P_t (MAPE is meaningful
            # only here, as a log change is near zero).
            last = np.asarray(windows.last_price, dtype=np.float64)[known]
            actual = to_price_level(y, last)
            enough = len(np.unique(dates)) >= 2 * h + 2
            # A price is above 0 (read_prices refuses others): no level is "near zero", however small
            # (a token priced at 3e-9 had every row skipped by the returns' 1e-8: an FX quant's walk-through).
            entry["levels"] = forecast_metrics(actual, to_price_level(p, last), last if enough else None,
                                               horizon=h, dates=dates, mase_scale=_naive_scale(series, levels=True),
                                               eps=LEVEL_MAPE_EPS)
        if name not in baselines and name != teacher and teacher in preds:
            # The share of test dates where the model calls the same direction as the teacher (at the
            # cut-off for direction, by sign otherwise): what the agreement gate reads on validation.
            # A volatility forecast is always positive: it has no direction to agree on.
            if spec.task == "direction":
                cut = 0.5 if cutoff is None else cutoff
                same = (p >= cut) == (preds[teacher] >= cut)
            else:
                same = np.sign(p) == np.sign(preds[teacher])
            if spec.objective != "volatility" and len(same):
                entry["agreement_vs_teacher"] = float(np.mean(same))
                if independent_rows(h, dates):
                    # Whether the two directional accuracies differ beyond chance: McNemar's exact
                    # test on the dates where exactly one of them calls the move. Its rows must be
                    # independent, so one asset at h = 1 only (h-step outcomes overlap; a panel's
                    # assets move together on a date).
                    entry["directional_accuracy_vs_teacher"] = directional_accuracy_test(
                        y, p, preds[teacher], None if spec.task != "direction" else (0.5 if cutoff is None else cutoff))
            if len(np.unique(dates)) >= 2 * h + 2:
                # A panel: the per-date mean loss differential (assets of one date are not independent).
                e1, e2 = date_mean_errors(dates, p - y, preds[teacher] - y)
                entry["diebold_mariano_vs_teacher"] = dict(diebold_mariano(e1, e2, h))
            if ranked is not None:
                entry["cross_sectional_ic_vs_teacher"] = cross_sectional_ic(
                    dates[on_calendar], ranked[on_calendar], p[on_calendar], h,
                    baseline=preds[teacher][on_calendar])
        out["models"][name] = entry
    if paths is None:  # a volatility forecast: no direction to trade, a VaR to backtest
        _value_at_risk(out, series, known, {**preds, **baselines}, ids, dates)
        return _with_thin_warnings(dict(_json_ready(out)))
    realised = paths[:, -1]  # realised_log_returns: the log return over the horizon
    up = up_share(y, realised, direction=spec.task == "direction")  # buy-and-hold's calls' hit rate
    if up is not None:
        out["up_share"] = up
    # The naive forecast has no direction to trade (a zero return, a constant probability): the
    # passive baseline of a trading view is buy-and-hold.
    signals = dict(preds)
    direction = spec.task == "direction"
    if ids is None or len(np.unique(ids)) == 1:
        # One asset in the test period (a panel's others may end before it): its own calendar.
        only = None if ids is None or not ids.size else str(ids[0])
        out["trading"] = _trading(realised, signals, direction=direction, cutoff=cutoff, cost_bps=cost_bps,
                                  horizon=h, per_year=asset_calendar(calendars, only), paths=paths, versus=True)
    else:
        # Each asset's windows, in order, from one stable sort (a mask per asset over every
        # window took 3.7 s for 1,000 assets, 2026-12-06).
        by_asset = np.argsort(ids, kind="stable")
        names, starts = np.unique(ids[by_asset], return_index=True)
        groups = np.split(by_asset, starts[1:])
        out["trading_per_asset"] = {
            str(asset): _trading(realised[rows], {k: v[rows] for k, v in signals.items()},
                                 direction=direction, cutoff=cutoff, cost_bps=cost_bps, horizon=h,
                                 per_year=calendars[str(asset)], paths=paths[rows])
            for asset, rows in zip(names, groups, strict=True)}
    ended = _ended_early(series, dates, ids, calendars)
    if ended:
        out["ended_early"] = ended
    if ranked is not None and ids is not None:
        m = on_calendar
        out["cross_sectional_portfolio"] = _portfolio(dates[m], ids[m], realised[m],
                                                      {k: v[m] for k, v in signals.items()}, cost_bps=cost_bps,
                                                      horizon=h, per_year=out["cross_section"]["periods_per_year"],
                                                      paths=paths[m] if h > 1 else None)
    return _with_thin_warnings(dict(_json_ready(out)))


#: The MAPE of price levels skips only a level of 0 (none passes read_prices): the smallest
#: positive float, where returns skip those within MAPE_EPS of zero.
LEVEL_MAPE_EPS = float(np.finfo(np.float64).tiny)

#: RiskMetrics' daily decay: the EWMA baseline of a volatility forecaster's evidence.
EWMA_LAMBDA = 0.94

#: The baselines of a forecaster's evidence (in ``models`` beside the models): no warning is
#: about them, and no test against the teacher.
BASELINES = ("naive", "ewma")


def _var_key(level: float) -> str:
    """A VaR level's key in the evidence ("var_99" for 0.99)."""
    return f"var_{round(level * 100):d}"


def _value_at_risk(out: dict[str, Any], series: PreparedSeries, known: np.ndarray, forecasts: Mapping[str, np.ndarray],
                   ids: np.ndarray | None, dates: np.ndarray) -> None:
    """Backtest the VaR built on each volatility forecast (``forecasts``, one per labelled test
    window) at :data:`~finlite.evaluate.forecast.VAR_LEVELS`: into each model's entry of
    ``out["models"]`` as ``value_at_risk`` and the method into ``out["value_at_risk"]``.

    The realised return is the log return over the horizon from each window's date; at h > 1
    the windows overlap (an exception lasts h days), so one window in h of each asset is
    backtested, from its first. One asset: :func:`~finlite.evaluate.forecast.var_backtest`'s
    counts, zone and tests. Several: each asset's backtest, summed (exceptions and periods) and
    counted by zone, with the red assets named; no pooled test, as the assets' losses come on
    the same days."""
    h = series.spec.horizon
    realised = realised_log_returns(series)[known]
    asset = np.zeros(len(realised), dtype=np.int64) if ids is None else np.unique(ids, return_inverse=True)[1]
    order = np.lexsort((dates.astype(np.int64), asset))
    # Each window's place in its asset's run of test windows: every h-th is kept.
    first = np.r_[True, asset[order][1:] != asset[order][:-1]]
    starts = np.maximum.accumulate(np.where(first, np.arange(len(order)), 0))
    kept = order[((np.arange(len(order)) - starts) % h == 0) & np.isfinite(realised[order])]
    groups = np.split(kept, np.flatnonzero(np.diff(asset[kept])) + 1) if len(kept) else []
    names = [None] * len(groups) if ids is None else [str(ids[g[0]]) for g in groups]
    if not groups:
        return
    out["value_at_risk"] = {
        "levels": list(VAR_LEVELS), "periods": len(kept), "every": h,
        "method": ("VaR = z · forecast (a normal return of zero mean, z the level's quantile); an exception is a "
                   "log return over the horizon below −VaR" + (f"; one window in {h} of each asset, from its first, "
                                                                "so that no two overlap" if h > 1 else "") +
                   "; zone by the Basel traffic-light rule (binomial probability of as many or fewer exceptions "
                   "below 95 %: green, below 99.99 %: yellow, else red; with fewer periods than one expected "
                   "exception only red is told, and one exception is never red). The 97.5 % expected shortfall "
                   "(σ·φ(z)/(1 − level), the FRTB's measure) by Acerbi and Székely's Z2 statistic (0 when the "
                   "tails are right, below: the losses beyond the VaR understated), its p-value from "
                   f"{ES_DRAWS:,} seeded draws of Z2 under the forecasts' own normal returns (more below 0.1 %), "
                   "zone by finlite's rule on that p-value, no regulatory one for the ES (p below 5 %: yellow, "
                   "below 0.01 %: red; a model whose tails are right is yellow at most 5 % of the time, where the "
                   "VaR's traffic light allows 5-11 %); Z2 above 0 (losses smaller than the ES says, the "
                   "forecasts too high) is not tested")}
    # The ES backtests asset by asset with every model's forecasts, the assets in order of length:
    # the null draws of one length are then reused from the cache however many lengths a ragged
    # panel has (model by model, 100 lengths emptied it before the next model: a review, 2026-12-07).
    shortfall: dict[str, list[dict[str, Any]]] = {name: [{}] * len(groups) for name in forecasts}
    for g in sorted(range(len(groups)), key=lambda i: len(groups[i])):
        for name, forecast in forecasts.items():
            shortfall[name][g] = es_backtest(realised[groups[g]], forecast[groups[g]], ES_LEVEL)
    for name, forecast in forecasts.items():
        tested: dict[str, Any] = {}
        for level in VAR_LEVELS:
            each = [var_backtest(realised[g], forecast[g], level) for g in groups]
            if len(each) == 1:
                tested[_var_key(level)] = each[0]
                continue
            n, x = sum(e["observations"] for e in each), sum(e["exceptions"] for e in each)
            zones, red = _by_zone(each, names)
            reds = [breach_tail(e["exceptions"], e["observations"], level) for e in each if e["zone"] == "red"]
            chance = red_by_chance([red_probability(e["observations"], level) for e in each], zones["red"],
                                   min(reds) if reds else None)
            tested[_var_key(level)] = {"level": level, "assets": len(each), "observations": n, "exceptions": x,
                                       "expected": n * (1.0 - level), "exception_rate": x / n, "zones": zones,
                                       "red_assets": red, "red_by_chance": chance}
        tested["es_975"] = _es_tested(shortfall[name], names)
        out["models"][name]["value_at_risk"] = tested


def _es_tested(each: Sequence[Mapping[str, Any]], names: Sequence[str | None]) -> dict[str, Any]:
    """One asset's expected-shortfall backtest (:func:`~finlite.evaluate.forecast.es_backtest`) as
    it is, or a panel's: each asset's, counted by zone with the red ones named (no pooled Z2, as
    the assets' losses come on the same days)."""
    if len(each) == 1:
        return dict(each[0])
    zones, red = _by_zone(each, names, untested=True)
    n, x = sum(e["observations"] for e in each), sum(e["exceptions"] for e in each)
    tested = [e for e in each if e.get("statistic") is not None]
    return {"level": each[0]["level"], "assets": len(each), "observations": n, "exceptions": x,
            "expected": sum(e["expected"] for e in each), "zones": zones, "red_assets": red,
            "red_by_chance": red_by_chance([ES_RED_PROBABILITY] * len(tested), zones["red"],
                                           min((float(e["p_value"]) for e in tested if e["zone"] == "red"),
                                               default=None)),
            "nonpositive_forecasts": sum(e["nonpositive_forecasts"] for e in each)}


def _by_zone(each: Sequence[Mapping[str, Any]], names: Sequence[str | None], *,
             untested: bool = False) -> tuple[dict[str, int], list[str]]:
    """A panel's backtests (one per asset, VaR or ES) counted by zone, with the first 20 red assets
    in natural order. ``too_few_periods``: no zone for fewer periods than one expected exception;
    with ``untested`` (the ES), the assets with a forecast at or below 0, which have no statistic,
    are counted apart as ``forecasts_at_or_below_0`` (they vanished from the counts: a review)."""
    zones = {zone: sum(e["zone"] == zone for e in each) for zone in ("green", "yellow", "red")}
    blank = sum(e.get("statistic", 0) is None for e in each) if untested else 0
    zones["too_few_periods"] = sum(e["zone"] is None for e in each) - blank
    if untested:
        zones["forecasts_at_or_below_0"] = blank
    red = sorted((str(a) for a, e in zip(names, each, strict=True) if e["zone"] == "red"), key=natural_key)
    return zones, red[:20]


def _portfolio(dates: np.ndarray, ids: np.ndarray, realised: np.ndarray, signals: Mapping[str, np.ndarray], *,
               cost_bps: float, horizon: int, per_year: float, paths: np.ndarray | None) -> dict[str, Any]:
    """Each model's quintile portfolio across a panel's assets (one calendar's: the evidence's
    ``cross_section`` names the others), beside the equal-weighted universe, with the Sharpe from
    every start day at h > 1 (:func:`~finlite.evaluate.forecast.panel_books`, as the report's)."""
    books, _ = panel_books(dates, ids, signals, realised, cost_bps, per_year, horizon=horizon, path=paths)
    first = next(iter(books.values()))
    out = {"quantile": first["quantile"], "periods": first["periods"], "periods_flat": first["periods_flat"],
           "assets": first["assets"], "min_assets": first["min_assets"], "periods_per_year": per_year / horizon,
           "models": {name: {"long_short": book["long_short"], "long_top": book["long_top"]}
                      for name, book in books.items()},
           "equal_weight": first["equal_weight"]}
    if first.get("calendar_holes"):  # assets with missing dates, held over longer periods (calendar_holes)
        out["calendar_holes"] = first["calendar_holes"]
    return out


#: Below this many labelled test windows a forecaster's errors, accuracy and tests are no
#: evidence (one window moves the directional accuracy by more than 1.5 points), and below this
#: many holding periods neither are the trading view's annualised return and Sharpe ratio (2
#: windows gave a long/flat return of 423 % a year and a Sharpe of 11, with no warning beyond a
#: class count that return and volatility forecasters never got: a quant's walk-through,
#: 2026-12-05). About three months of daily data.
THIN_WINDOWS = THIN_PERIODS = 60


def _ended_early(series: PreparedSeries, dates: np.ndarray, ids: np.ndarray | None,
                 calendars: Mapping[str | None, tuple[float, str]]) -> dict[str, Any] | None:
    """The assets of a panel that stop before the assets trading on their calendar do, inside the
    test period (``dates``, ``ids``: its labelled windows'), at a horizon over 1: ``{"assets",
    "windows", "first"}`` (the windows out of the evidence, and the first 20 assets with their last
    date), or None. An asset's last h rows have no price h rows ahead, so no label; of them, the
    ones on dates where another asset of its calendar has a labelled window are out of the
    metrics, the trading views and the portfolio books while the assets still trading are in. A
    stock delisted after a crash lost its last moves from the books, which read as a
    survivorship bias (a quant's walk-through, 2026-12-07). Counted against the same calendar's
    labelled dates, so that stocks ending on a Friday beside a coin trading on to Sunday are not
    taken for delisted, and an asset missing only the file's last day counts its one window out,
    not h - 1 (a review, 2026-12-07). ``calendars``: each asset's
    (:func:`~finlite.data.market.periods_per_year`, as the caller read them)."""
    spec = series.spec
    h = int(spec.horizon)
    if spec.id_column is None or h <= 1 or ids is None or not len(dates):
        return None
    labelled: dict[tuple[float, str], np.ndarray] = {}
    for cal in set(calendars.values()):
        mine = [str(a) for a, c in calendars.items() if c == cal]
        labelled[cal] = np.unique(dates[np.isin(ids, mine)])
    frame = series.table.frame
    every = frame[spec.date_column].to_numpy().astype("datetime64[D]")
    found: list[tuple[str, np.datetime64, int]] = []
    for asset, rows in series.table.assets(spec.date_column, spec.id_column):
        own = every[rows]
        if len(own) <= h:
            continue
        # Its unlabelled rows but the last (whose move over the horizon never began).
        unlabelled = own[-h:-1]
        lost = int(np.count_nonzero(np.isin(unlabelled, labelled[calendars[str(asset)]])))
        if lost:
            found.append((str(asset), own[-1], lost))
    if not found:
        return None
    return {"assets": len(found), "windows": sum(f[2] for f in found),
            "first": [{"asset": a, "last_date": str(np.datetime_as_string(d, unit="D"))}
                      for a, d, _ in found[:20]]}


def thin_warnings(evidence: Mapping[str, Any]) -> list[str]:
    """The warnings for a test period too short to judge on (:data:`THIN_WINDOWS`), and for each
    trading view of fewer than :data:`THIN_PERIODS` holding periods."""
    out = []
    rows = int(evidence.get("rows") or 0)
    # A panel's windows are assets x dates, and its assets move together on a date: its dates count.
    dates = int(evidence.get("dates") or rows)
    if min(rows, dates) < THIN_WINDOWS:
        held = f"{rows:,} labelled window(s)" if dates >= rows else f"{dates:,} date(s) ({rows:,} windows)"
        out.append(f"the test period holds {held}; with fewer than {THIN_WINDOWS} its errors, directional accuracy "
                   "and tests move with each one, so they are no evidence. Judge the model on a longer test period "
                   "or hold-out before relying on them.")
    book = evidence.get("cross_sectional_portfolio")
    if isinstance(book, Mapping):
        ranked = int(book.get("periods") or 0) - int(book.get("periods_flat") or 0)
        if ranked < THIN_PERIODS:
            out.append(f"the quintile portfolios rest on {ranked:,} rebalancing period(s) with enough assets to rank; "
                       f"their returns and Sharpe ratios from fewer than {THIN_PERIODS} are no evidence.")
        holes = calendar_holes_warning(book.get("calendar_holes"))
        if holes is not None:
            out.append(holes)
    h = int(evidence.get("horizon") or 1)
    ended = evidence.get("ended_early")
    if isinstance(ended, Mapping) and ended.get("first"):
        named = ", ".join(f"{terminal_safe(str(e['asset']))!r} on {e['last_date']}" for e in ended["first"][:5])
        out.append(f"{ended['assets']:,} asset(s) stop before the others of their calendar, inside the test period "
                   f"({named}{' ...' if ended['assets'] > 5 else ''}): at horizon {h} their last dates have no "
                   f"price {h} rows ahead, so {ended['windows']:,} window(s) of theirs are out of the metrics, the "
                   "trading views and the portfolio books, while the assets still trading on those dates are in: a "
                   "survivorship bias where an asset ended by delisting (its last moves are never booked). To book "
                   "them, add rows after its last date holding the value its holders received (the delisting "
                   "price, carried forward), or read these figures as leaving those moves out.")
    for name, entry in (evidence.get("models") or {}).items():
        if name in BASELINES:
            continue
        ratio = _dig(entry, ("pooled", "variance_ratio"))
        if isinstance(ratio, (int, float)) and not 1 / VARIANCE_RATIO_WARN <= ratio <= VARIANCE_RATIO_WARN:
            what = ("understate" if ratio > 1 else "overstate")
            # At horizon 1 a squared-error fit of |r| forecasts E|r| (ratio pi/2 by construction): said
            # with the scale that makes it σ. Warned of all the same: a VaR scaled by it is too small
            # (a review, 2026-12-07, against a first version that let it pass).
            abs_r = h == 1 and ratio > 1 and ratio <= VARIANCE_RATIO_WARN * ABS_RETURN_VARIANCE_RATIO
            why = (f" At horizon 1 the target is |r|, and a forecast of E|r| has a ratio of about "
                   f"{ABS_RETURN_VARIANCE_RATIO:.2f} (π/2): multiply it by {math.sqrt(ABS_RETURN_VARIANCE_RATIO):.3f} "
                   "(√(π/2)) to read it as σ." if abs_r else "")
            out.append(f"the {terminal_safe(str(name))}'s volatility forecasts {what} the test period's realised "
                       f"variance (realised / forecast {ratio:.2f}): a VaR or expected shortfall scaled by them is "
                       f"{'breached more' if ratio > 1 else 'breached less'} often than its level.{why} Scale them "
                       "(or judge them by QLIKE, in the table) before using them as σ.")
        var = _dig(entry, ("value_at_risk", _var_key(VAR_LEVELS[0])))
        es = _dig(entry, ("value_at_risk", "es_975"))
        for tested, said, measure, finding, scaled in (
                (var, _var_red(var), f"{VAR_LEVELS[0] * 100:g} % VaR", "breached far more often than its level, it "
                 "understates the risk", "a VaR"),
                (es, _es_red(es), "97.5 % expected shortfall", "the losses beyond its VaR are larger or more frequent "
                 "than it says", "an ES")):
            if not said:
                continue
            zone = "red zone of the Basel traffic light" if tested is var else "red zone"
            out.append(f"a {measure} on the {terminal_safe(str(name))}'s volatility forecasts is in the {zone}{said}: "
                       + ("no more assets than right forecasts put there by chance in a panel this size; read the "
                          "assets named, not the panel." if _chance_only(tested) else
                          f"{finding}. Do not scale {scaled} by these forecasts before they are recalibrated."))
        below = _dig(entry, ("pooled", "nonpositive_forecasts"))
        if isinstance(below, int) and below:
            out.append(f"{below:,} of the {terminal_safe(str(name))}'s volatility forecasts are at or below 0, which a "
                       "volatility cannot be: their QLIKE is infinite, so none is given. Read them as 0 and retrain "
                       "(more epochs or data) before using them.")
    views = {"": evidence.get("trading")} if evidence.get("trading") else dict(evidence.get("trading_per_asset") or {})
    short = {asset: int(v.get("periods") or 0) for asset, v in views.items()
             if isinstance(v, Mapping) and int(v.get("periods") or 0) < THIN_PERIODS}
    if short:
        horizon = int(evidence.get("horizon") or 1)
        held = f"{horizon}-step" if horizon > 1 else "one-step"
        if list(short) == [""]:
            out.append(f"the trading view rests on {short['']:,} {held} holding period(s); annualised returns and "
                       f"Sharpe ratios from fewer than {THIN_PERIODS} are no evidence of what a strategy earns.")
        else:
            named = ", ".join(f"{terminal_safe(a)} ({n:,})" for a, n in sorted(short.items(), key=lambda kv: natural_key(kv[0]))[:5])
            out.append(f"the trading views of {named}{' and more' if len(short) > 5 else ''} rest on fewer than "
                       f"{THIN_PERIODS} {held} holding periods each; their annualised returns and Sharpe ratios are "
                       "no evidence of what a strategy earns.")
    return out


def _var_red(tested: Any) -> str:
    """"" (not red) or the words that say how a VaR backtest is red (:func:`_value_at_risk`): one
    asset's zone, or the assets of a panel in it."""
    if not isinstance(tested, Mapping):
        return ""
    if tested.get("zone") == "red":
        return f" ({tested.get('exceptions')} exceptions in {tested.get('observations')} periods, " \
               f"{float(tested.get('expected') or 0):.3g} expected; the table has Kupiec's test)"
    zones = tested.get("zones")
    count = zones.get("red") if isinstance(zones, Mapping) else None
    if isinstance(count, int) and count:
        named = ", ".join(terminal_safe(str(a)) for a in (tested.get("red_assets") or [])[:5])
        chance = tested.get("red_by_chance")
        weighed = (f"; about {float(chance['expected']):.2g} expected by chance with every forecast right, p "
                   f"{float(chance['p_value']):.2g}" if isinstance(chance, Mapping) else "")
        return (f" for {count:,} of {int(tested.get('assets') or 0):,} assets ({named}{', ...' if count > 5 else ''}; "
                f"the table counts the assets by zone{weighed})")
    return ""


def _chance_only(tested: Any) -> bool:
    """Whether a panel's red assets are what right forecasts give by chance (:func:`~finlite.evaluate.forecast.red_by_chance`'s
    ``chance``: as many as that, p above 1 %, and none beyond chance for the whole panel)."""
    chance = tested.get("red_by_chance") if isinstance(tested, Mapping) else None
    return isinstance(chance, Mapping) and chance.get("chance") is True


def _es_red(tested: Any) -> str:
    """"" (not red) or the words that say how an ES backtest is red (:func:`_es_tested`)."""
    if not isinstance(tested, Mapping):
        return ""
    if tested.get("zone") == "red" and isinstance(tested.get("statistic"), (int, float)):
        return (f" (Acerbi–Székely Z2 {float(tested['statistic']):.3g}, p {float(tested.get('p_value') or 0):.2g}; "
                f"{tested.get('exceptions')} losses beyond the 97.5 % VaR in {tested.get('observations')} periods, "
                f"{float(tested.get('expected') or 0):.3g} expected)")
    return _var_red({k: v for k, v in tested.items() if k != "zone"})


#: A volatility forecaster whose realised / forecast variance on the test period lies beyond this
#: factor either way is warned of (see :func:`thin_warnings`).
VARIANCE_RATIO_WARN = 1.5


def _with_thin_warnings(evidence: dict[str, Any]) -> dict[str, Any]:
    """``evidence`` with its ``warnings`` (:func:`thin_warnings`) where there are any."""
    warnings = thin_warnings(evidence)
    if warnings:
        evidence["warnings"] = warnings
    return evidence


# The rows of the side-by-side table: (label, path into a model's entry, format).
_TABLE = [("RMSE", ("pooled", "rmse"), "f"), ("MAE", ("pooled", "mae"), "f"), ("MASE", ("pooled", "mase"), "f"),
          ("directional accuracy", ("pooled", "directional_accuracy"), "pct"),
          ("information coefficient", ("pooled", "information_coefficient"), "f"),
          # A panel's IC per date across its assets, averaged, and whether the student ranks as well.
          ("cross-sectional IC (mean over dates)", ("cross_sectional_ic", "mean"), "f"),
          ("cross-sectional IC t-statistic", ("cross_sectional_ic", "t_statistic"), "f"),
          ("cross-sectional IC vs teacher, p (two-sided)", ("cross_sectional_ic_vs_teacher", "p_value"), "f"),
          ("AUC", ("pooled", "auc"), "f"),
          # A volatility forecast's own loss and scale (evaluate.forecast.volatility_metrics).
          ("QLIKE on variance (0 is perfect; lower is better)", ("pooled", "qlike"), "f"),
          ("realised / forecast variance (1: unbiased; above: understated)", ("pooled", "variance_ratio"), "f"),
          # The VaR each volatility forecast makes, backtested (_value_at_risk).
          ("99 % VaR exceptions of periods (expected)", ("value_at_risk", "var_99"), "exceptions"),
          ("99 % VaR traffic light (Basel rule)", ("value_at_risk", "var_99"), "zone"),
          ("99 % VaR Kupiec coverage p (χ², asymptotic)", ("value_at_risk", "var_99", "kupiec", "p_value"), "f"),
          ("99 % VaR coverage p, exact binomial", ("value_at_risk", "var_99", "kupiec", "exact_p"), "f"),
          ("99 % VaR Christoffersen independence p", ("value_at_risk", "var_99", "independence", "p_value"), "f"),
          ("95 % VaR exceptions of periods (expected)", ("value_at_risk", "var_95"), "exceptions"),
          ("95 % VaR Kupiec coverage p (χ², asymptotic)", ("value_at_risk", "var_95", "kupiec", "p_value"), "f"),
          ("95 % VaR coverage p, exact binomial", ("value_at_risk", "var_95", "kupiec", "exact_p"), "f"),
          ("97.5 % ES Acerbi–Székely Z2 (0: right; below: understated; above: not tested)", ("value_at_risk", "es_975", "statistic"),
           "f"),
          ("97.5 % ES zone (Z2's p: below 5 % yellow, below 0.01 % red; under 40 periods red only)", ("value_at_risk", "es_975"), "zone"),
          ("DM p-value vs naive (two-sided)", ("pooled", "diebold_mariano_vs_naive", "p_value"), "f"),
          ("DM p-value vs teacher (two-sided)", ("diebold_mariano_vs_teacher", "p_value"), "f"),
          ("direction agreement with teacher", ("agreement_vs_teacher",), "pct"),
          ("directional accuracy vs teacher, McNemar p (two-sided)", ("directional_accuracy_vs_teacher", "p_value"),
           "f"),
          # The price objective in price levels against the random walk (they were in report.json only:
          # a review, 2026-12-03); the rows above are in log changes, what the model learns.
          ("price level RMSE", ("levels", "rmse"), "f"), ("price level MAE", ("levels", "mae"), "f"),
          ("price level MAPE", ("levels", "mape"), "f"),
          ("price level DM p-value vs random walk (two-sided)", ("levels", "diebold_mariano_vs_naive", "p_value"),
           "f")]
# A panel's quintile portfolios (cross_sectional_portfolio): (label, book, key, format); the
# equal-weighted universe stands in buy-and-hold's column beside the long-only top quintile.
_PORTFOLIO = [("quintile long/short annual return", "long_short", "annual_return", "pct"),
              ("quintile long/short Sharpe", "long_short", "sharpe", "f"),
              ("quintile long/short Sharpe across start days", "long_short", "sharpe_start_days", "range"),
              ("quintile long/short max drawdown", "long_short", "max_drawdown", "pct"),
              ("quintile long/short turnover", "long_short", "turnover", "f"),
              ("top quintile annual return (last column: equal-weight universe)", "long_top", "annual_return",
               "pct"),
              ("top quintile Sharpe (last column: equal-weight universe)", "long_top", "sharpe", "f"),
              ("top quintile Sharpe across start days", "long_top", "sharpe_start_days", "range")]
_TRADING = [("long/flat annual return", "long_flat", "annual_return", "pct"),
            ("long/flat Sharpe", "long_flat", "sharpe", "f"),
            ("long/flat Sharpe across start days", "long_flat", "sharpe_start_days", "range"),
            ("long/flat max drawdown", "long_flat", "max_drawdown", "pct"),
            ("long/short annual return", "long_short", "annual_return", "pct"),
            ("long/short Sharpe", "long_short", "sharpe", "f"),
            ("long/short Sharpe across start days", "long_short", "sharpe_start_days", "range"),
            ("long/short turnover", "long_short", "turnover", "f")]


def _cell(value: Any, kind: str) -> str:
    if kind in ("exceptions", "zone"):  # a VaR backtest (_value_at_risk): one asset's or a panel's
        if not isinstance(value, Mapping):
            return "-"
        if kind == "exceptions":
            return f"{value.get('exceptions')} of {value.get('observations')} ({float(value.get('expected') or 0):.3g})"
        zones = value.get("zones")
        if isinstance(zones, Mapping):
            short = int(zones.get("too_few_periods") or 0)
            below = int(zones.get("forecasts_at_or_below_0") or 0)
            return ", ".join(f"{zone} {zones.get(zone, 0)}" for zone in ("green", "yellow", "red")) + (
                f", {short} too short" if short else "") + (f", {below} with forecasts at or below 0" if below else "")
        if value.get("zone") is None and value.get("nonpositive_forecasts"):
            return "forecasts at or below 0"  # an ES backtest (es_backtest): no shortfall to scale
        return str(value.get("zone") or "too few periods")
    if kind == "range":  # the Sharpe ratios from every start day (h > 1): lowest, highest and mean
        got = [float(v) for v in value if v is not None] if isinstance(value, list) else []
        # The mean too: the headline is the first start day's, the best of the range on the S&P 500
        # at h = 5 (0.55 against a mean of 0.40: a quant's walk-through, 2026-12-06).
        return f"{min(got):.4g} to {max(got):.4g} (mean {sum(got) / len(got):.4g})" if got else "-"
    if value is None or isinstance(value, (dict, list)) or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    if kind == "pct":
        return f"{float(value):.2%}"
    return f"{float(value):.4g}"


def _dig(entry: Any, path: Sequence[str]) -> Any:
    for key in path:
        if not isinstance(entry, Mapping):
            return None
        entry = entry.get(key)
    return entry


#: A table of several assets shows the trading view of this many (in their sorted order); the
#: rest are in ``trading_per_asset`` of ``--json`` and report.json, as a last row says.
TABLE_ASSETS = 10


def _trading_rows(trading: Mapping[str, Any], names: Sequence[str], prefix: str = "") -> list[list[str]]:
    """The trading view's rows of one view (every model's and buy-and-hold's)."""
    rows = []
    for label, side, key, kind in _TRADING:
        cells = []
        for n in names:
            view = trading.get(n)
            if n == "buy_and_hold":
                cells.append(_cell(_dig(view, (key,)), kind) if side == "long_flat" else "-")
            else:
                cells.append(_cell(_dig(view, (side, key)), kind))
        if kind == "range" and all(c == "-" for c in cells):
            continue  # horizon 1: one start day, no range to give
        rows.append([prefix + label, *cells])
    versus = trading.get("sharpe_vs_buy_and_hold")
    if isinstance(versus, Mapping):
        # Whether a Sharpe above buy-and-hold's is more than noise (its interval: a walk-through).
        def edge(n: str) -> str:
            got = versus.get(n)
            ci = got.get("ci") if isinstance(got, Mapping) else None
            if not isinstance(got, Mapping) or not isinstance(got.get("value"), (int, float)):
                return "-"
            if not isinstance(ci, list) or len(ci) != 2 or None in ci:
                return f"{got['value']:+.3g}"
            return f"{got['value']:+.3g} [{ci[0]:+.3g}, {ci[1]:+.3g}]"
        rows.append([prefix + "Sharpe minus buy-and-hold's (better strategy) [95 % block-bootstrap interval]",
                     *(edge(n) if n != "buy_and_hold" else "-" for n in names)])
    return rows


def forecast_table_rows(evidence: Mapping[str, Any], teacher: str = "teacher") -> tuple[list[str], list[list[str]]]:
    """The side-by-side table of :func:`forecast_evidence`: column names and rows of cells.
    ``teacher`` names the model the others are tested against in the row labels ("DM p-value vs
    baseline" where the evidence's reference model is ``baseline``).

    The trading view is one block for one asset; for several, a block per asset (labelled by
    its id), up to :data:`TABLE_ASSETS` of them: a panel's table had no trading view at all
    (it was in the JSON only)."""
    trading = evidence.get("trading") or {}
    per_asset = evidence.get("trading_per_asset") or {}
    passive = "buy_and_hold" in trading or any("buy_and_hold" in view for view in per_asset.values())
    names = [*evidence["models"], *(["buy_and_hold"] if passive else [])]
    rows = []
    panel = isinstance(evidence.get("assets"), int) and evidence["assets"] > 1
    direction = evidence.get("task") == "direction"
    up = evidence.get("up_share")
    for label, path, kind in _TABLE:
        cells = [_cell(_dig(evidence["models"].get(n), path), kind) for n in names]
        if path == ("pooled", "directional_accuracy") and isinstance(up, float) and "buy_and_hold" in names:
            # Buy-and-hold calls up every period: its directional accuracy is the share of up moves.
            cells[names.index("buy_and_hold")] = _cell(up, kind)
            label = "directional accuracy (buy_and_hold: always up, the share of up moves)"
        # Which outcome each IC ranks against, where the two differ (a direction model's pooled IC
        # is against the 0/1 up move, its cross-sectional one against the returns: a walk-through).
        if path == ("pooled", "information_coefficient") and (panel or direction):
            label = "information coefficient (" + ", ".join(
                (["pooled over assets and dates"] if panel else []) + (["vs the 0/1 up move"] if direction else [])) + ")"
        elif path == ("cross_sectional_ic", "mean") and direction:
            label = "cross-sectional IC vs realised returns (mean over dates)"
        if any(c != "-" for c in cells):
            rows.append([label, *cells])
    if "buy_and_hold" in trading:
        rows += _trading_rows(trading, names)
    book = evidence.get("cross_sectional_portfolio")
    if isinstance(book, Mapping) and isinstance(book.get("models"), Mapping):
        for label, side, key, kind in _PORTFOLIO:
            cells = [_cell(_dig(book["models"].get(n), (side, key)), kind) if n != "buy_and_hold" else
                     (_cell(_dig(book.get("equal_weight"), (key,)), kind) if side == "long_top" else "-")
                     for n in names]
            if any(c != "-" for c in cells):
                rows.append([label, *cells])
    section = evidence.get("cross_section")
    if isinstance(section, Mapping) and int(section.get("assets_left_out") or 0):
        left = [terminal_safe(str(a)) for a in section.get("left_out") or []][:5]
        rows.append([f"cross-section: {int(section['assets_left_out'])} asset(s) on another calendar than "
                     f"{terminal_safe(str(section.get('calendar')))} left out ({', '.join(left)}"
                     f"{', ...' if int(section['assets_left_out']) > len(left) else ''})", *("" for _ in names)])
    shown = sorted(per_asset, key=natural_key)[:TABLE_ASSETS]
    for asset in shown:
        # An id is the data's: control characters written out, as the command line prints data.
        rows += _trading_rows(per_asset[asset], names, f"{terminal_safe(asset)}: ")
    if len(per_asset) > len(shown):
        rows.append([f"trading view of {len(per_asset) - len(shown)} more asset(s): in --json / report.json",
                     *("" for _ in names)])
    if teacher != "teacher":
        from finlite.evaluate.report import renamed_label

        rows = [[renamed_label(row[0], (teacher, "student")), *row[1:]] for row in rows]
    return names, rows


def render_forecast_table(evidence: Mapping[str, Any], teacher: str = "teacher") -> str:
    """Teacher, student, naive and buy-and-hold side by side as plain text (``teacher``: as in
    :func:`forecast_table_rows`)."""
    names, rows = forecast_table_rows(evidence, teacher)
    head = ["metric", *names]
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    lines = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True)))
             for r in [head, *rows]]
    title = (f"test period: {evidence['rows']} windows in {evidence['folds']} fold(s), objective "
             f"{evidence['objective']}, horizon {evidence['horizon']}, costs {evidence['cost_bps']:g} bp")
    return "\n".join([title, *lines, *start_day_note(evidence),
                      *(f"note: {n}" for n in (*annualised_note(evidence), *volatility_notes(evidence))),
                      *(f"warning: {w}" for w in evidence.get("warnings") or [])])


def volatility_notes(evidence: Mapping[str, Any]) -> list[str]:
    """What a volatility forecaster's table holds beyond the other objectives': the EWMA
    baseline's definition and the VaR backtest's method (:func:`_value_at_risk`)."""
    out = []
    lam = evidence.get("ewma_lambda")
    if isinstance(lam, (int, float)):
        out.append(f"ewma is RiskMetrics' exponentially weighted volatility of the daily log returns up to each date "
                   f"(λ {lam:g}), scaled by √h.")
    backtest = evidence.get("value_at_risk")
    if isinstance(backtest, Mapping) and backtest.get("method"):
        out.append(f"VaR backtest: {backtest['method']}.")
    return out


def annualised_note(evidence: Mapping[str, Any]) -> list[str]:
    """Which calendar the trading rows are annualised with (periods a year, from the series'
    dates): it was in the JSON only, and a Sunday-Friday FX pair's 252 could not be seen (a
    walk-through as an FX quant, 2026-12-07). One line for a series; a panel's calendars counted."""
    views = [evidence.get("trading"), *(evidence.get("trading_per_asset") or {}).values()]
    calendars: dict[tuple[float, str], int] = {}
    for view in views:
        if isinstance(view, Mapping) and "buy_and_hold" in view and isinstance(view.get("periods_per_year"), (int, float)):
            key = (float(view["periods_per_year"]), str(view.get("calendar")))
            calendars[key] = calendars.get(key, 0) + 1
    if not calendars:
        return []
    each = [f"{per_year:g} holding periods a year ({terminal_safe(name)})"
            + (f" for {count:,} asset(s)" if len(views) > 1 else "") for (per_year, name), count in sorted(calendars.items())]
    return [f"the trading rows are annualised with {'; '.join(each)}, from the dates' spacing and weekdays."]


def start_day_note(evidence: Mapping[str, Any]) -> list[str]:
    """At a horizon above 1, what the trading rows trade: one forecast in h from the first test
    day, one of h start days; the "across start days" rows give them all."""
    h = evidence.get("horizon")
    views = [evidence.get("trading"), *(evidence.get("trading_per_asset") or {}).values()]
    # Only where a trading row is shown: a view of fewer than 2 periods has none.
    traded = any(isinstance(v, Mapping) and "buy_and_hold" in v for v in views) \
        or isinstance(evidence.get("cross_sectional_portfolio"), Mapping)
    if not isinstance(h, int) or h <= 1 or not traded:
        return []
    return [f"note: the trading rows trade one forecast in {h} from the first test day, one of {h} start days; "
            "the rows 'across start days' give every start day's Sharpe (lowest to highest, and their mean): read "
            "the headline beside them."]


def render_forecast_markdown(evidence: Mapping[str, Any], *, title: str, data: Mapping[str, Any] | None = None,
                             sections: Mapping[str, str] | None = None, warning: str | None = None,
                             verdict: str | None = None) -> str:
    """report.md of a forecaster: the side-by-side table and the data's provenance and notes;
    ``verdict`` (compress's: the report's status, the gates on the test split) and ``warning`` (a
    compress run's warnings) first, before any number they qualify."""
    names, rows = forecast_table_rows(evidence)
    head = ["", "## Verdict", "", *fenced(verdict)] if verdict else []
    head += ["", "## WARNING", "", *fenced(warning)] if warning else []
    lines = [f"# {title}", *head, "", f"Test period: {evidence['rows']} labelled windows in {evidence['folds']} fold(s); "
             f"objective {evidence['objective']}, horizon {evidence['horizon']}"
             # A volatility is traded by no strategy here: no costs to state (a market-risk walk-through).
             + ("" if evidence.get("objective") == "volatility" else
                f"; trading costs {evidence['cost_bps']:g} bp per unit of turnover") + ". "
             "Naive forecast: the random walk (a zero return) "
             "for returns and prices, the last realised volatility for volatility, the training share of up moves "
             "for direction."
             + "".join(" " + note for note in volatility_notes(evidence)), "", "| metric | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]
    # A cell holding an asset's id is the data's: escaped so that a "|" or a link in an id cannot
    # shift the numbers under another model or make a viewer fetch (the diff's review, 2026-12-03).
    lines += ["| " + " | ".join(markdown_cell(c) for c in r) + " |" for r in rows]
    lines += [f"\n{markdown_cell(n[len('note: '):][:1].upper() + n[len('note: ') + 1:])}" for n in start_day_note(evidence)]
    lines += [f"\n{markdown_cell(n[:1].upper() + n[1:])}" for n in annualised_note(evidence)]
    lines += [f"\n**Warning:** {markdown_cell(w)}" for w in evidence.get("warnings") or []]
    if data is not None:
        lines += ["", "## Data", "", *fenced(dump_json(dict(data)).strip())]
    for heading, text in (sections or {}).items():
        lines += ["", f"## {heading}", "", *fenced(text)]
    return "\n".join(lines) + "\n"
