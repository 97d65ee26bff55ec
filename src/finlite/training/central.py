"""Calibration of a PD model to a central tendency: one shift of the output logit.

A bank's PD model is developed on a sample whose default rate is seldom the rate it must
predict: the long-run average default rate over a full economic cycle (the *central tendency*;
the EBA's guidelines on PD estimation, chapter 5.3), which a development sample of good years
understates. The usual calibration keeps the model's ranking and moves its level: one constant
added to every row's logit, chosen so that the mean PD over the development rows equals the
central tendency. :func:`logit_shift` finds that constant (the mean of ``sigmoid(z + a)`` rises
strictly with ``a``, so it is the root of one monotone function), and :func:`shifted_model`
adds it to the bias of the model's output layer (:func:`shift_output`) or, for a LightGBM
ensemble, to every leaf of its first tree (each row reaches exactly one of them), for an XGBoost
one to its base_score (a boosted teacher's mean is over its out-of-fold scores): the
calibrated model is an ordinary model of the same shape, which exports, scores and serves as
any other, with the same ranking (AUC, Gini and the decisions at a cut-off set by a flag rate
are unchanged).

Given as ``train --central-tendency RATE`` (``"train"``: the training split's own default rate,
which fixes a teacher whose PDs are off its sample's rate, as early stopping on AUC can leave
them), and recorded in the training step (``central_tendency``) and a student's first step
(:func:`recorded_central_tendency` reads either). A student keeps the level through its
distillation's label term (:attr:`finlite.methods.targets.DistillData.label_offset`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from finlite.errors import ArtifactError, ConfigError

__all__ = ["MAX_RATE", "MIN_RATE", "TRAINING_RATE", "check_central_tendency", "logit_shift", "model_logits",
           "output_layer", "recorded_central_tendency", "shift_output", "shifted_model"]

#: ``central_tendency`` that asks for the training split's own default rate.
TRAINING_RATE = "train"
#: The rates a calibration takes: float32 PDs resolve the ranking between them (at 1e-50 every PD
#: was 0 and the AUC 0.5; near 1 the PDs round to a few values: a review, 2026-12-07); a long-run
#: default rate above 50 % is no portfolio's.
MIN_RATE, MAX_RATE = 1e-5, 0.5


def check_central_tendency(value: Any, what: str = "central_tendency") -> float | str | None:
    """A central tendency as :func:`finlite.jobs.train.train` takes it: a default rate from
    :data:`MIN_RATE` to :data:`MAX_RATE`, :data:`TRAINING_RATE`, or None for none. ``what`` names
    the option in the message.

    Raises:
        ConfigError: anything else (a percentage is hinted at).
    """
    if value is None or value == TRAINING_RATE:
        return value  # type: ignore[no-any-return]
    hint = ""
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool) \
            and math.isfinite(value) and 1 < value < 100:
        hint = f" (a percentage? write {float(value) / 100:g} for {float(value):g} %)"
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not math.isfinite(value) or not MIN_RATE <= value <= MAX_RATE:
        raise ConfigError(f"{what} is the long-run default rate the PDs are calibrated to, a fraction from "
                          f"{MIN_RATE:g} to {MAX_RATE:g}, or '{TRAINING_RATE}' for the training split's own rate; got "
                          f"{value!r}{hint}.", param=what)
    return float(value)


def model_logits(net: nn.Module, x: np.ndarray, block: int = 65_536) -> np.ndarray:
    """``net``'s output logits of the rows ``x`` in float64, in blocks (an MLP's hidden
    activations of a million rows are gigabytes), in eval mode; a boosted ensemble's at once
    (its library is fastest given every row)."""
    logits_np = getattr(net, "logits_np", None)
    if logits_np is not None:
        return np.asarray(logits_np(x), dtype=np.float64).ravel()
    net.eval()
    with torch.no_grad():
        return np.concatenate([net(torch.from_numpy(np.ascontiguousarray(x[i:i + block]))).numpy()
                               .astype(np.float64).ravel() for i in range(0, len(x), block)])


def logit_shift(logits: np.ndarray, rate: float) -> float:
    """The constant ``a`` with mean(sigmoid(logits + a)) = ``rate`` (to 1e-12 in ``a``).

    The mean rises strictly with ``a``, from 0 to 1, so the root is unique. It lies between
    logit(rate) − max(logits), where every row's PD is at most ``rate``, and
    logit(rate) − min(logits), where every row's is at least ``rate``: Brent's method on that bracket.
    """
    from scipy.optimize import brentq
    from scipy.special import expit, logit

    z = np.asarray(logits, dtype=np.float64).ravel()
    if z.size == 0 or not np.all(np.isfinite(z)):
        raise ValueError("logit_shift needs finite logits")
    target = float(logit(rate))
    low, high = target - float(z.max()), target - float(z.min())
    if high - low < 1e-12:  # every logit alike: the one shift that puts them at the rate
        return target - float(z[0])

    def excess(a: float) -> float:
        return float(np.mean(expit(z + a))) - rate

    return float(brentq(excess, low, high, xtol=1e-12, rtol=4 * np.finfo(float).eps, maxiter=200))


def output_layer(net: nn.Module) -> nn.Linear:
    """The linear layer that writes a logistic regression's or an MLP's one output logit.

    Raises:
        ConfigError: ``net`` has no such layer (a boosted ensemble).
    """
    layer = getattr(net, "linear", None)
    if layer is None:
        layers = getattr(net, "layers", None)
        last = layers[-1] if isinstance(layers, nn.ModuleList) and len(layers) else None
        layer = last[-1] if isinstance(last, nn.Sequential) else last
    if not isinstance(layer, nn.Linear) or layer.bias is None or layer.out_features != 1:
        raise ConfigError(f"central_tendency moves the output logit of a logistic or MLP teacher; a "
                          f"{getattr(net, 'kind', type(net).__name__)} model has no such layer. Train a logistic or "
                          "MLP teacher, or drop central_tendency.", param="central_tendency")
    return layer


def shift_output(net: nn.Module, shift: float) -> None:
    """Add ``shift`` to every row's logit: to the bias of :func:`output_layer`."""
    layer = output_layer(net)
    with torch.no_grad():
        layer.bias.add_(float(shift))


def shifted_model(net: nn.Module, shift: float, x: np.ndarray) -> tuple[nn.Module, np.ndarray | None]:
    """``net`` with ``shift`` added to every row's logit: a logistic or MLP model's output bias
    (in place; ``net`` is returned), or a boosted ensemble's constant (a new ensemble:
    :meth:`finlite.models.gbdt.BoostedEnsemble.shifted`), and, for an ensemble, its logits of
    the rows ``x`` after the shift. Those check it: every row's logit must have moved by
    ``shift`` (to float32's precision), or nothing is kept. A network's bias takes the shift
    exactly, unchecked.

    Raises:
        ConfigError: a model that takes no shift, or one whose scores did not move by it (a
            library that ignored it).
    """
    from finlite.models.gbdt import BoostedEnsemble

    if not isinstance(net, BoostedEnsemble):
        shift_output(net, shift)
        return net, None
    before = net.logits_np(x)
    moved = net.shifted(shift)
    after = moved.logits_np(x)
    gap = np.abs(after - before - shift)
    # float32 sums of the trees: a relative error of about 1e-7 of each row's margin.
    bad = np.flatnonzero(~(gap <= 1e-5 * (1.0 + np.abs(before))))
    if bad.size:
        raise ConfigError(f"the {net.library} ensemble's score of training row {int(bad[0]) + 1} moved by "
                          f"{float(after[bad[0]] - before[bad[0]]):+.6g}, not by the shift of {shift:+.6f} "
                          f"({bad.size:,} rows off): it is not a plain sum of trees. Drop central_tendency.",
                          param="central_tendency")
    return moved, after


def recorded_central_tendency(steps: Sequence[Any], where: Any = "manifest.json",
                              task: Any = None, model: Any = None) -> float | None:
    """The long-run rate a model's PDs were calibrated to, where it is not its training split's
    own (``train --central-tendency RATE``, recorded on a teacher's training step and a student's
    first step): their level then differs from a split's rate by design. None where none is.
    ``task`` (the manifest's) is checked when given: only a binary model has PDs. ``model``, the
    loaded teacher when given: a boosted one's stored out-of-fold PDs must average the recorded
    rate, as calibration left them.

    Raises:
        ArtifactError: a record no training writes (a rate outside (0, 1), a rate that is not the
            one asked, one on an imported booster, a forecasting ensemble or a model of another
            task, a boosted teacher's not over its out-of-fold scores or whose out-of-fold PDs do
            not average its rate): the manifest was altered (``where`` names it). The range is
            (0, 1), not :func:`check_central_tendency`'s narrower one, which came later the same
            day: a teacher made in between still reads.
    """
    first = steps[0] if steps and isinstance(steps[0], Mapping) else {}
    record = first.get("central_tendency")
    if record is None:
        return None
    asked = record.get("asked") if isinstance(record, Mapping) else None
    # A teacher's training step names its model; a student's first step its teacher's.
    teacher: Mapping[str, Any] = first["teacher"] if isinstance(first.get("teacher"), Mapping) else {}
    config = first.get("model") if first.get("step") == "train" else teacher.get("model")
    config = config if isinstance(config, Mapping) else {}
    kind = config.get("kind")
    made = first.get("step") == "train" or (first.get("method") is not None and bool(teacher))
    basis = record.get("basis") if isinstance(record, Mapping) else None
    # A boosted teacher trained by finlite on a table takes it in its constant, over its out-of-fold
    # scores; a network in its output bias, over its training rows (no basis before 2026-12-07's night).
    # A student's first step copies its teacher's record; its teacher may be a student (any kind).
    if kind == "gbdt":
        shiftable = (config.get("objective", "binary") == "binary" and config.get("window") is None
                     and (config.get("input") or {}).get("mode", "encoded") == "encoded" and basis == "out_of_fold")
    else:
        shiftable = (kind in ("mlp", "logistic") or first.get("step") != "train") and basis in (None, "training")
    number = isinstance(asked, (int, float)) and not isinstance(asked, bool) and math.isfinite(asked) \
        and 0 < asked < 1
    rate = record.get("rate") if isinstance(record, Mapping) else None
    if (not isinstance(record, Mapping) or not (number or asked == TRAINING_RATE)
            or (number and rate != asked) or not made or not shiftable
            or (task is not None and task != "binary")):
        raise ArtifactError(f"{where} records a central tendency ({record!r}) that no training writes (steps[0]."
                            "central_tendency: a rate in (0, 1) or 'train', as asked, on a binary logistic, MLP or "
                            "boosted model trained by finlite); the manifest was altered. Train the teacher again.")
    oof = getattr(model, "oof", None)
    if getattr(model, "kind", None) == "gbdt" and oof is not None and len(oof):
        from scipy.special import expit

        level = float(np.mean(expit(np.asarray(oof, dtype=np.float64))))
        if not (isinstance(rate, (int, float)) and abs(level - float(rate)) <= 1e-4 * float(rate) + 1e-9):
            raise ArtifactError(f"{where} records a central tendency of {rate!r}, but the teacher's stored out-of-fold "
                                f"PDs average {level:.6g}, where calibration leaves them at the rate: the manifest or "
                                "its files were altered. Train the teacher again.")
    return float(asked) if isinstance(asked, (int, float)) else None  # 'train': the split's own rate
