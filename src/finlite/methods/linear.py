"""Compression of linear models: pruned integer coefficients, and the points scorecard.

The numpy functions (:func:`fit_least_squares`, :func:`prune_coefficients`,
:func:`quantize_coefficients`) are the classic treatment of a linear regression's
coefficients and need no torch; the registered methods apply the same idea to finlite's
logistic models inside a recipe.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import torch

from finlite._spec import MISSING_SUFFIX
from finlite._util import check_fraction, dump_json, param_error
from finlite.errors import ConfigError
from finlite.methods.base import StepContext, StepState
from finlite.methods.registry import MethodConfig, method_to_dict, register_handler, register_method
from finlite.models.base import FinliteModel
from finlite.models.linear import LogisticRegression
from finlite.models.quantized import qmax
from finlite.models.scorecard import IntegerLogistic, ScorecardModel

__all__ = [
    "IntegerWeights",
    "Scorecard",
    "fit_least_squares",
    "integer_logistic",
    "make_scorecard",
    "prune_coefficients",
    "quantize_coefficients",
    "scorecard_table",
]


# -- plain numpy -------------------------------------------------------------------------------
def fit_least_squares(x: np.ndarray, y: np.ndarray, ridge: float = 0.0) -> tuple[np.ndarray, float]:
    """Ordinary (or ridge) least squares with an intercept: returns (coefficients, intercept)."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    mean_x, mean_y = x.mean(axis=0), y.mean()
    xc, yc = x - mean_x, y - mean_y
    gram = xc.T @ xc + ridge * np.eye(x.shape[1])
    coef = np.linalg.lstsq(gram, xc.T @ yc, rcond=None)[0]
    return coef, float(mean_y - mean_x @ coef)


def prune_coefficients(coef: np.ndarray, sparsity: float, scale: np.ndarray | None = None) -> np.ndarray:
    """Zero the share ``sparsity`` of coefficients with the smallest ``|coef · scale|``.

    ``scale`` (e.g. each feature's standard deviation) makes coefficients of features on
    different scales comparable; without it the features are taken as standardised.
    """
    check_fraction("prune_coefficients", "sparsity", sparsity)
    coef = np.asarray(coef, dtype=np.float64)
    importance = np.abs(coef * (1.0 if scale is None else np.asarray(scale, dtype=np.float64)))
    k = round(sparsity * coef.size)
    out = coef.copy()
    out[np.argsort(importance, kind="stable")[:k]] = 0.0
    return out


def quantize_coefficients(coef: np.ndarray, bits: int) -> tuple[np.ndarray, float]:
    """Symmetric integers at ``bits`` bits and one scale: ``coef ≈ q · scale``, |error| ≤ scale/2."""
    if isinstance(bits, bool) or not isinstance(bits, int) or not 2 <= bits <= 16:
        raise param_error("quantize_coefficients", "bits", "an integer in [2, 16]", bits)
    coef = np.asarray(coef, dtype=np.float64)
    top = float(np.abs(coef).max()) if coef.size else 0.0
    scale = top / qmax(bits)
    if not scale > 0:  # all zeros, or coefficients so small (subnormal) that the step underflows to 0
        scale = 1.0
    q = np.clip(np.round(coef / scale), -qmax(bits), qmax(bits)).astype(np.int16 if bits > 8 else np.int8)
    return q, scale


# -- registered methods --------------------------------------------------------------------------
@register_method("integer_weights")
@dataclass(frozen=True, kw_only=True)
class IntegerWeights(MethodConfig):
    """A logistic model's coefficients pruned and rounded to ``bits``-bit integers.

    Example recipe step: ``{method: integer_weights, bits: 6, sparsity: 0.3}``.

    Args:
        bits: integer width, 2–16 (stored as int8 up to 8 bits, int16 above).
        sparsity: share of coefficients set to zero first (smallest |β|; inputs are standardised).
    """

    bits: int = 8
    sparsity: float = 0.0

    def __post_init__(self) -> None:
        if isinstance(self.bits, bool) or not isinstance(self.bits, int) or not 2 <= self.bits <= 16:
            raise param_error("IntegerWeights", "bits", "an integer in [2, 16]", self.bits)
        check_fraction("IntegerWeights", "sparsity", self.sparsity)


@register_method("scorecard")
@dataclass(frozen=True, kw_only=True)
class Scorecard(MethodConfig):
    """Turn a logistic model into integer points: the credit scorecard a bank publishes.

    Each numeric feature is cut into ``bins`` quantile bins of the training rows; a bin's
    points are ``−factor · β · (mean feature value in the bin)``, each category's (and each
    missing indicator's) points ``−factor · β``, all rounded to integers. ``factor = pdo / ln 2``
    and the base is ``base_points − factor · ln(base_odds) − factor · β₀`` so that a score of
    ``base_points`` means good:bad odds of ``base_odds`` and every ``pdo`` points double them.
    The report counts the decisions that binning and rounding flip.

    Example recipe step: ``{method: scorecard, base_points: 600, base_odds: 50, pdo: 20}``.

    Args:
        base_points: the score at the base odds.
        base_odds: good:bad odds at ``base_points``.
        pdo: points to double the odds.
        bins: bins per numeric feature (2–50).
    """

    base_points: float = 600.0
    base_odds: float = 50.0
    pdo: float = 20.0
    bins: int = 10

    def __post_init__(self) -> None:
        for name in ("base_points", "base_odds", "pdo"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                    or not value > 0:
                raise param_error("Scorecard", name, "a finite positive number", value)
        if isinstance(self.bins, bool) or not isinstance(self.bins, int) or not 2 <= self.bins <= 50:
            raise param_error("Scorecard", "bins", "an integer in [2, 50]", self.bins)

    @property
    def factor(self) -> float:
        """Points per unit of log-odds."""
        return self.pdo / math.log(2.0)

    @property
    def offset(self) -> float:
        """Score at log-odds (good:bad) zero."""
        return self.base_points - self.factor * math.log(self.base_odds)


def _logistic(model: FinliteModel, what: str) -> tuple[np.ndarray, float]:
    if not isinstance(model, LogisticRegression):
        raise ConfigError(f"{what} needs a logistic model; this model is {model.kind!r}. Distil into one first: "
                          "a distillation step with 'student: logistic'.")
    w = model.linear.weight.detach().double().numpy()[0]
    return w, float(model.linear.bias.detach().double()[0])


def integer_logistic(model: FinliteModel, method: IntegerWeights) -> IntegerLogistic:
    """An :class:`IntegerLogistic` copy of a logistic model."""
    coef, intercept = _logistic(model, "integer_weights")
    q, scale = quantize_coefficients(prune_coefficients(coef, method.sparsity), method.bits)
    out = IntegerLogistic(len(coef), bits=method.bits)
    with torch.no_grad():
        out.weight_int.copy_(torch.from_numpy(q.astype(np.int64)).to(out.weight_int.dtype))
        out.weight_scale.fill_(scale)
        out.bias.fill_(intercept)
    out.eval()
    return out


class NumericUnits(Protocol):
    """A numeric column's two maps between its own units and the encoded (standardised) values the
    model reads: a fitted Preprocessor's numeric column (``Preprocessor.numeric_``) has both."""

    def encode(self, values: np.ndarray) -> np.ndarray:
        """The encoded (standardised) values the model reads for ``values`` in the column's units."""

    def raw(self, encoded: np.ndarray) -> np.ndarray:
        """The column's own units of ``encoded`` values: the inverse of :meth:`encode`."""


def _encoded(unit: NumericUnits, value: float) -> np.float32:
    """``value`` (the column's own units) as the model reads it: float32 of its encoding."""
    return np.float32(unit.encode(np.array([value], dtype=np.float64))[0])


def _plain(value: float, digits: int) -> float:
    """``value`` to ``digits`` significant digits."""
    return float(np.format_float_positional(value, precision=digits, unique=False, fractional=False, trim="-"))


def _text(value: float) -> str:
    """A number as a person writes it: no exponent, no trailing zeros (2923.5, 30, 0.5)."""
    return str(np.format_float_positional(value, trim="-"))


def _round_edge(low: float, high: float, unit: NumericUnits) -> float | None:
    """The encoded edge at the number of fewest significant digits (in the column's own units) whose
    encoding lies above ``low`` and at most ``high`` (two neighbouring training values, encoded): 9
    between durations of 8 and 9 months (9 then opens the bin above), 0.5 between 0 and 1
    delinquencies, 2923.5 between 2923 and 2924. None when there is none (float32 neighbours)."""
    raw_low, raw_high = (float(v) for v in unit.raw(np.array([low, high], dtype=np.float64)))
    middle = (raw_low + raw_high) / 2.0
    if not math.isfinite(middle):
        return None
    magnitude = math.floor(math.log10(abs(middle))) if middle != 0 else 0
    for digits in range(1, 18):
        places = digits - 1 - magnitude  # decimal places of `digits` significant digits
        step = 10.0 ** -places
        rounded = round(middle / step) * step
        for candidate in sorted({rounded - step, rounded, rounded + step}, key=lambda c: abs(c - middle)):
            number = round(candidate, max(places, 0))  # 2923.5, not 2923.5000000000005
            edge = _encoded(unit, number)
            if low < edge <= high:
                return float(edge)
    return None


def _bin_edges(values: np.ndarray, bins: int, unit: NumericUnits | None) -> np.ndarray:
    """The ``bins - 1`` edges of one numeric column (encoded values ``values``), padded with +inf.

    The cuts are the training values' quantiles; each edge then lies above the training value
    below its cut and at most at the one above it (every training row keeps its bin), at the number
    of fewest digits in the column's own units (``unit``; the midpoint of the encoded values without
    one), which the published table shows exactly (:func:`scorecard_table`): the edges were shown
    to 4 digits, and a cut on a training value left 0 shown as below 6.23e-09 yet scored in the bin
    above (a scorecard modeller's walk-through, 2026-12-06). Cuts at or below the least value (an
    empty first bin, whose points a value below the training range took) and cuts that share a
    neighbour are dropped: no bin is empty."""
    distinct = np.unique(values)
    cuts = np.unique(np.quantile(values, np.linspace(0, 1, bins + 1)[1:-1]))
    edges: list[float] = []
    for cut in cuts[cuts > distinct[0]]:
        k = int(np.searchsorted(distinct, cut, side="left"))  # distinct[k]: the least value >= cut
        low, high = float(distinct[k - 1]), float(distinct[k])
        edge = _round_edge(low, high, unit) if unit is not None else None
        if edge is None:
            middle = np.float32((low + high) / 2.0)
            edge = float(middle) if low < middle <= high else high
        if not edges or edge > edges[-1]:
            edges.append(edge)
    return np.concatenate([np.asarray(edges, dtype=np.float64), np.full(bins - 1 - len(edges), np.inf)])


def make_scorecard(model: FinliteModel, method: Scorecard, x_train: np.ndarray, n_numeric: int,
                   *, rounded: bool = True, units: Sequence[NumericUnits] | None = None) -> ScorecardModel:
    """Build the scorecard of a logistic model from its training rows.

    ``rounded=False`` keeps fractional points (the same bins), which isolates what rounding to
    integers changes; the deployed scorecard is the rounded one. ``units`` (a fitted
    Preprocessor's ``numeric_``) puts each bin edge at a round number of the column's own units
    (:func:`_bin_edges`).

    Raises:
        ConfigError: the points do not fit a 32-bit integer (``pdo`` or ``base_points`` far too
            large for the coefficients), naming the settings.
    """
    coef, intercept = _logistic(model, "scorecard")
    factor = method.factor
    out = ScorecardModel(len(coef), n_numeric, method.bins)
    dtype = torch.int32 if rounded else torch.float64
    numeric_points = np.zeros((n_numeric, method.bins))
    edges = np.zeros((n_numeric, method.bins - 1))
    for j in range(n_numeric):  # (a pdo of 1e308 overflows here: refused below, not warned of)
        values = x_train[:, j].astype(np.float32).astype(np.float64)
        edges[j] = _bin_edges(values, method.bins, None if units is None else units[j])
        bucket = np.searchsorted(edges[j].astype(np.float32), values.astype(np.float32), side="right")
        for b in range(method.bins):
            inside = values[bucket == b]
            # Only padding bins (above +inf edges) are empty: their points never apply.
            rep = float(inside.mean()) if inside.size else 0.0
            with np.errstate(over="ignore", invalid="ignore"):
                numeric_points[j, b] = -factor * coef[j] * rep
    with np.errstate(over="ignore", invalid="ignore"):
        binary_points = -factor * coef[n_numeric:]
    base = method.offset - factor * intercept
    # int32 points and their sum (the score): a pdo of 3e9 wrapped silently to -1.9e9 points, and
    # one of 1e308 ended in an OverflowError traceback (a scorecard modeller's walk-through).
    with np.errstate(over="ignore", invalid="ignore"):
        worst = abs(base) + float(np.abs(numeric_points).max(axis=1).sum() if n_numeric else 0.0) \
            + float(np.abs(binary_points).sum())
    if not math.isfinite(worst) or worst >= 2**31 - 1:
        raise ConfigError(f"The scorecard's points reach {worst:.3g}, beyond a 32-bit integer, with base_points "
                          f"{method.base_points:g} and pdo {method.pdo:g}: use a bank's scale (e.g. base_points "
                          "600, pdo 20).", param="base_points" if abs(method.base_points) >= worst / 2 else "pdo")
    if rounded:
        numeric_points, binary_points, base = np.round(numeric_points), np.round(binary_points), round(base)
    with torch.no_grad():
        out.edges.copy_(torch.from_numpy(edges).float())
        if rounded:
            out.numeric_points.copy_(torch.from_numpy(numeric_points.astype(np.int64)).to(torch.int32))
            out.binary_points.copy_(torch.from_numpy(binary_points.astype(np.int64)).to(torch.int32))
            out.base_points.fill_(int(base))
        else:
            out.numeric_points = torch.from_numpy(numeric_points).to(dtype)
            out.binary_points = torch.from_numpy(binary_points).to(dtype)
            out.base_points = torch.tensor(base, dtype=dtype)
        out.factor.fill_(factor)
        out.offset.fill_(method.offset)
    out.eval()
    return out


def _least_at_or_above(edge: float, unit: NumericUnits, near: float) -> float:
    """The least value (the column's own units) that the model puts at or above ``edge``, found by
    bisection below ``near`` (a value it puts there): float32 lumps a column of large values into
    steps several units wide (amounts near 1e9: about 11), so a round number's step can begin
    below it."""
    target = np.float32(edge)
    step = max(abs(near), 1.0) * 1e-7
    low = near - step
    for _ in range(200):  # downwards until a value falls below the edge
        if _encoded(unit, low) < target:
            break
        step *= 2.0
        low = near - step
    high = near
    for _ in range(200):
        middle = (low + high) / 2.0
        if middle in (low, high):
            break
        if _encoded(unit, middle) >= target:
            high = middle
        else:
            low = middle
    return high


def _edge_text(edge: float, unit: NumericUnits) -> str:
    """An edge in the column's own units, such that the table's bound decides every value written to
    the cent (or more coarsely) as the model does: the number of fewest digits whose encoding is
    the edge, unless float32 puts values more than half a cent below it at or above the edge
    (large values); then the least such value, to the cent above. Its raw value in full otherwise."""
    raw = float(unit.raw(np.array([edge]))[0])
    if not math.isfinite(raw):
        return "inf" if raw > 0 else "-inf"
    shown = None
    for digits in range(1, 18):
        if _encoded(unit, _plain(raw, digits)) == np.float32(edge):
            shown = _plain(raw, digits)
            break
    if shown is None:
        return _text(raw)
    least = _least_at_or_above(edge, unit, shown)
    if shown - least <= 0.005:
        return _text(shown)
    cents = math.ceil(round(least * 100.0, 6)) / 100.0  # the first cent the model puts at or above the edge
    if _encoded(unit, cents) >= np.float32(edge) and _encoded(unit, cents - 0.01) < np.float32(edge):
        return _text(cents)
    return _text(least)


def scorecard_table(card: ScorecardModel, feature_names: list[str],
                    units: Sequence[tuple[float, float] | Callable[[np.ndarray], np.ndarray] | NumericUnits] | None = None
                    ) -> list[dict[str, Any]]:
    """The scorecard as rows a person reads: feature, attribute (bin or category), points.

    ``units`` gives, for each numeric feature, a fitted Preprocessor's numeric column (its
    ``encode`` and ``raw``: each edge shown as the shortest number whose encoding is the edge, so
    the table decides every value written to the cent as the model does (:func:`_edge_text`), and
    a blank value's points as one ``(missing)`` row: its indicator's and its stand-in's bin's), or
    (mean, std), or a function from standardised values to raw ones (4 significant digits), so
    bins are shown in the data's own units (e.g. months, euros) rather than standardised ones.
    """
    rows: list[dict[str, Any]] = [{"feature": "(base)", "attribute": "", "points": int(card.base_points)}]
    for j in range(card.n_numeric):
        edges = card.edges[j].tolist()
        lower = -math.inf
        for b in range(card.bins):
            upper = edges[b] if b < len(edges) else math.inf
            if lower == upper or lower == math.inf:
                break
            unit = None if units is None else units[j]
            if unit is not None and hasattr(unit, "encode") and hasattr(unit, "raw"):
                lo = "-inf" if lower == -math.inf else _edge_text(lower, unit)  # type: ignore[arg-type]
                hi = "inf" if upper == math.inf else _edge_text(upper, unit)  # type: ignore[arg-type]
                attribute = f"[{lo}, {hi})"
            else:
                low, high = lower, upper
                if callable(unit):
                    low, high = (float(v) for v in unit(np.array([low, high], dtype=np.float64)))
                elif unit is not None:
                    low, high = low * unit[1] + unit[0], high * unit[1] + unit[0]
                attribute = f"[{low:.4g}, {high:.4g})" + ("" if units is not None else " (standardised)")
            rows.append({"feature": feature_names[j], "attribute": attribute, "points": int(card.numeric_points[j, b])})
            lower = upper
    numeric = {feature_names[j]: j for j in range(card.n_numeric)}
    for i, name in enumerate(feature_names[card.n_numeric:]):
        column = name[:-len(MISSING_SUFFIX)] if name.endswith(MISSING_SUFFIX) else None
        unit = None if column not in numeric or units is None else units[numeric[column]]
        if column is not None and unit is not None and hasattr(unit, "encode") and hasattr(unit, "median"):
            # A blank value scores its indicator's points and those of the bin its stand-in (the
            # training median) falls in: one row, as a scorecard shows "missing" (the table gave the
            # indicator alone, and a reader could not tell which bin's points went with it: a review).
            j = numeric[column]
            stand_in = _encoded(unit, float(unit.median))  # type: ignore[arg-type,union-attr]
            bucket = int(np.searchsorted(card.edges[j].numpy().astype(np.float32), stand_in, side="right"))
            rows.append({"feature": column, "attribute": "(missing)",
                         "points": int(card.binary_points[i]) + int(card.numeric_points[j, bucket])})
            continue
        rows.append({"feature": name.split("=")[0], "attribute": name, "points": int(card.binary_points[i])})
    return rows


# -- in a recipe ---------------------------------------------------------------------------------
def _apply_integer_weights(method: IntegerWeights, state: StepState, ctx: StepContext,
                           train: Mapping[str, Any]) -> tuple[StepState, dict[str, Any]]:
    model = state.need_model(method)
    return StepState(integer_logistic(model, method), {}, state.plan, dict(state.extra_files)), {"bits": method.bits}


def _apply_scorecard(method: Scorecard, state: StepState, ctx: StepContext,
                     train: Mapping[str, Any]) -> tuple[StepState, dict[str, Any]]:
    """Build the rounded scorecard; count, on the validation and test rows, the decisions that
    binning and rounding flip; add the points table to the artifact as ``scorecard.json``."""
    model = state.need_model(method)
    data = ctx.table_data(method)
    n_numeric, _ = data.preprocessor.column_groups()
    columns = list(data.preprocessor.numeric_)
    card = make_scorecard(model, method, data.x_train, n_numeric, units=columns)
    exact = make_scorecard(model, method, data.x_train, n_numeric, rounded=False, units=columns)
    info: dict[str, Any] = {}
    for split, x in (("validation", data.x_val), ("test", data.x_test)):
        xt = torch.from_numpy(x)
        cut = ctx.cutoff_logit(method)
        logistic = model(xt).detach().numpy() >= cut
        binned = exact(xt).detach().numpy() >= cut
        rounded = card(xt).detach().numpy() >= cut
        info[split] = {"flips_from_rounding": int((binned != rounded).sum()),
                       "flips_from_binning": int((logistic != binned).sum()),
                       "flips_vs_logistic": int((logistic != rounded).sum()), "rows": len(x)}
    table = scorecard_table(card, data.preprocessor.feature_names, columns)
    files = {**state.extra_files, "scorecard.json": dump_json({"method": method_to_dict(method), "points": table})}
    return StepState(card, {}, state.plan, files), info


register_handler(IntegerWeights)(_apply_integer_weights)
register_handler(Scorecard)(_apply_scorecard)
