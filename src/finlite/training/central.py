"""Calibration of a PD model to a central tendency: one shift of the output logit.

A bank's PD model is developed on a sample whose default rate is seldom the rate it must
predict: the long-run average default rate over a full economic cycle (the *central tendency*;
the EBA's guidelines on PD estimation, chapter 5.3), which a development sample of good years
understates. The usual calibration keeps the model's ranking and moves its level: one constant
added to every row's logit, chosen so that the mean PD over the development rows equals the
central tendency. :func:`logit_shift` finds that constant (the mean of ``sigmoid(z + a)`` rises
strictly with ``a``, so it is the root of one monotone function), and :func:`shift_output`
adds it to the bias of the model's output layer: the calibrated model is an ordinary model of
the same shape, which exports, scores and serves as any other, with the same ranking (AUC,
Gini and the decisions at a cut-off set by a flag rate are unchanged).

Given as ``train --central-tendency RATE`` (``"train"``: the training split's own default rate,
which fixes a teacher whose PDs are off its sample's rate, as early stopping on AUC can leave
them), and recorded in the training step (``central_tendency``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from finlite.errors import ConfigError

__all__ = ["TRAINING_RATE", "check_central_tendency", "logit_shift", "output_layer", "recorded_central_tendency",
           "shift_output"]

#: ``central_tendency`` that asks for the training split's own default rate.
TRAINING_RATE = "train"


def check_central_tendency(value: Any, what: str = "central_tendency") -> float | str | None:
    """A central tendency as :func:`finlite.jobs.train.train` takes it: a default rate in (0, 1),
    :data:`TRAINING_RATE`, or None for none. ``what`` names the option in the message.

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
            or not math.isfinite(value) or not 0 < value < 1:
        raise ConfigError(f"{what} is the long-run default rate the PDs are calibrated to, a fraction in (0, 1), or "
                          f"'{TRAINING_RATE}' for the training split's own rate; got {value!r}{hint}.", param=what)
    return float(value)


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


def recorded_central_tendency(steps: Sequence[Any]) -> float | None:
    """The long-run rate a teacher's PDs were calibrated to, where it is not its training split's
    own (``train --central-tendency RATE``): their level then differs from a split's rate by design."""
    record = steps[0].get("central_tendency") if steps and isinstance(steps[0], Mapping) else None
    if not isinstance(record, Mapping) or record.get("asked") == "train":
        return None
    rate = record.get("rate")
    return float(rate) if isinstance(rate, (int, float)) and not isinstance(rate, bool) else None
