"""Knowledge distillation: a teacher's outputs train a smaller student.

Three losses, each a registered config:

- :class:`Distillation`: soft targets for a binary classifier, ``α·T²·KL + (1−α)·CE``;
- :class:`RegressionDistillation`: MSE or Huber towards the teacher's output (its logit for a
  classifier, as in Ba & Caruana 2014; its forecast for a regression model) plus the label loss;
- :class:`HintDistillation`: the classification loss plus ``β·MSE`` between a student hidden
  layer, mapped by a learned projection, and a teacher hidden layer (FitNets, Romero et al. 2015).

The teacher is seen only through its outputs on the training rows (:class:`DistillData`), so
any teacher works: a torch model, a LightGBM or XGBoost booster, and out-of-fold predictions
can stand in for the teacher's own on its training rows. A transfer set of synthetic rows near
the training data, labelled by the teacher, gives the student more of the teacher's function
to learn than the labelled rows alone.
"""

from __future__ import annotations

import copy
import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, get_args

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from finlite._limits import MAX_WIDTH, check_memory
from finlite._util import check_fraction, param_error
from finlite.data.prepared import PreparedData
from finlite.errors import ConfigError
from finlite.methods.base import StepContext, StepState, monotone_index
from finlite.methods.registry import MethodConfig, register_handler, register_method
from finlite.methods.targets import (
    CHUNK_ROWS,
    DistillData,
    TeacherFn,
    TransferSet,
    distill_data,
    make_transfer_set,
    teacher_logits,
    with_transfer_for,
)
from finlite.models.base import FinliteModel, forward_rows
from finlite.models.bins import MAX_EDGES, EdgesConfig, quantile_edges, teacher_edges
from finlite.models.linear import LogisticRegression
from finlite.models.mlp import TabularMLP
from finlite.models.sequence import SequenceModel
from finlite.models.temporal import TemporalConvNet, WindowMLP
from finlite.training.loop import LARGE_ROWS, TrainConfig, TrainResult, fit, fold_scale, output_layer
from finlite.training.unseen import average_recorded, average_unseen

# DistillData, TransferSet and the functions that build them live in finlite.methods.targets
# (below the recipe context); they are re-exported here, where they were first defined.
__all__ = [
    "CHUNK_ROWS",
    "MONOTONE_MARGIN",
    "AnyDistillation",
    "DistillData",
    "DistillResult",
    "Distillation",
    "HintDistillation",
    "RegressionDistillation",
    "TeacherFn",
    "TransferSet",
    "apply_masks",
    "distill",
    "distill_data",
    "distill_from_teacher",
    "distillation_loss",
    "make_student",
    "make_transfer_set",
    "monotone_index",
    "monotone_penalty",
    "regression_distillation_loss",
    "student_widths",
    "teacher_logits",
    "tuning_loss",
    "with_transfer_for",
]

Masks = dict[str, torch.Tensor]
Student = Literal["mlp", "logistic", "gru", "lstm", "tcn"]
#: Students with hidden widths: an MLP's layers, a GRU/LSTM's recurrent layers, a TCN's channels.
WIDE_STUDENTS = ("mlp", "gru", "lstm", "tcn")
Transfer = Literal["none", "perturb", "mixup"]
STUDENTS: tuple[str, ...] = get_args(Student)
TRANSFER: tuple[str, ...] = get_args(Transfer)
BinsFrom = Literal["teacher", "quantiles"]
BINS_FROM: tuple[str, ...] = get_args(BinsFrom)


def _number(owner: str, name: str, value: Any, *, positive: bool = False) -> None:
    # inf passes "> 0" and NaN fails nothing it is not asked: both are refused by name.
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or (positive and not value > 0):
        raise param_error(owner, name, "a positive number" if positive else "a number", value)


#: Temperatures accepted: soft targets at T = 0.01 are already hard labels, and at T = 100 flat;
#: beyond these the logits divided by T overflow or vanish in float32 and training diverges.
MIN_TEMPERATURE, MAX_TEMPERATURE = 0.01, 100.0


def _temperature(owner: str, value: Any) -> None:
    _number(owner, "temperature", value, positive=True)
    if not MIN_TEMPERATURE <= value <= MAX_TEMPERATURE:
        raise param_error(owner, "temperature", f"a number from {MIN_TEMPERATURE:g} to {MAX_TEMPERATURE:g} (2 to 4 "
                          "is usual)", value)


_SIGN_WORDS = {"+": 1, "-": -1}


def _monotone_pairs(value: Any) -> tuple[tuple[str, int], ...]:
    """Distillation's ``monotone`` as ``((column, +1 | -1), ...)``, from pairs, a mapping
    ``{column: sign}`` (as YAML writes it) or text ``"age:+,utilisation:-"``; signs +1/-1 or "+"/"-"."""
    if isinstance(value, str):
        from finlite.evaluate.monotone import parse_monotone

        try:
            return tuple(parse_monotone(value).items())
        except ConfigError as exc:
            raise param_error("Distillation", "monotone", "COLUMN:+ / COLUMN:- items, e.g. 'age:+,utilisation:-' "
                              f"({exc})", value) from None
    items = list(value.items()) if isinstance(value, Mapping) else value
    expected = "a mapping {column: +1 or -1} (or pairs [column, sign]), e.g. {age_in_years: -1}"
    if not isinstance(items, (list, tuple)):
        raise param_error("Distillation", "monotone", expected, value)
    out: dict[str, int] = {}
    for item in items:
        if not isinstance(item, (list, tuple)) or len(item) != 2 or not isinstance(item[0], str) or not item[0]:
            raise param_error("Distillation", "monotone", expected, value)
        column, sign = item
        sign = _SIGN_WORDS.get(sign, sign) if isinstance(sign, str) else sign
        if isinstance(sign, bool) or sign not in (1, -1) or column in out:
            raise param_error("Distillation", "monotone", expected + " with each column once", value)
        out[column] = int(sign)
    return tuple(out.items())


def _student_fields(owner: str, config: Any) -> None:
    """Validate and normalise the student and transfer-set fields shared by every distillation."""
    if config.student not in STUDENTS:
        raise param_error(owner, "student", f"one of {STUDENTS}", config.student)
    for field in ("hidden", "large_hidden"):
        hidden = getattr(config, field)
        if field == "large_hidden" and hidden is None:
            continue
        if isinstance(hidden, int) or not isinstance(hidden, Sequence) or isinstance(hidden, str):
            raise param_error(owner, field, "a list of positive layer widths, e.g. [16]", hidden)
        if config.student in WIDE_STUDENTS and (not hidden or any(isinstance(h, bool) or not isinstance(h, int) or h < 1
                                                          for h in hidden)):
            raise param_error(owner, field, "a non-empty list of positive integers", list(hidden))
        if any(isinstance(h, int) and h > MAX_WIDTH for h in hidden):
            raise param_error(owner, field, f"layer widths of at most {MAX_WIDTH:,} (a student is small)",
                              list(hidden))
        if config.student == "mlp":
            # Weights, gradients, two Adam moments, a best-epoch copy: 5 float32 per hidden-to-hidden weight.
            weights = sum(a * b for a, b in itertools.pairwise(hidden))
            check_memory(weights * 4 * 5, f"The '{field}' parameter of {owner} ({list(hidden)})",
                         "choose narrower layers")
        object.__setattr__(config, field, tuple(hidden))  # lists from YAML become hashable tuples
    if config.transfer not in TRANSFER:
        raise param_error(owner, "transfer", f"one of {TRANSFER}", config.transfer)
    bins = config.input_bins
    if isinstance(bins, bool) or not isinstance(bins, int) or not (bins == 0 or 2 <= bins <= MAX_EDGES + 1):
        raise param_error(owner, "input_bins", f"0 (off) or a whole number of bins per column from 2 to {MAX_EDGES + 1}",
                          bins)
    if config.input_bins_from not in BINS_FROM:
        raise param_error(owner, "input_bins_from", f"one of {BINS_FROM}", config.input_bins_from)
    if bins and config.student != "mlp":
        raise ConfigError(f"The 'input_bins' parameter of {owner} bins the inputs of an MLP student of a table; the "
                          f"student is {config.student!r}. Use an MLP student, or leave input bins off (input_bins=0).",
                          param="input_bins")
    _number(owner, "transfer_size", config.transfer_size)
    if not 0 <= config.transfer_size <= 100:  # the transfer set is that many times the training split
        raise param_error(owner, "transfer_size", "a number from 0 to 100 (synthetic rows per training row)",
                          config.transfer_size)
    if config.transfer != "none" and config.transfer_size == 0:
        raise ConfigError(f"The 'transfer' parameter of {owner} is {config.transfer!r} but transfer_size is 0; "
                          "set transfer_size (synthetic rows per training row, e.g. 2) or transfer: none.",
                          param="transfer")
    # The converse pair, and bins' source without bins: each setting would be ignored without a word.
    if config.transfer == "none" and config.transfer_size != 0:
        raise ConfigError(f"The 'transfer_size' parameter of {owner} is {config.transfer_size!r} but transfer is "
                          "'none', so no synthetic rows are made; set transfer: mixup (or perturb), or drop "
                          "transfer_size.", param="transfer_size")
    if not bins and config.input_bins_from != "teacher":
        raise ConfigError(f"The 'input_bins_from' parameter of {owner} is {config.input_bins_from!r} but input_bins is "
                          "0 (off); set input_bins (e.g. 32), or drop input_bins_from.", param="input_bins_from")
    check_fraction(owner, "transfer_noise", config.transfer_noise, high_open=False)


@dataclass(frozen=True, kw_only=True)
class _StudentSpec(MethodConfig):
    """Fields every distillation shares: the student to train and the transfer set.

    ``student`` is "mlp" (hidden widths ``hidden``, or ``large_hidden`` when it is set and the
    training split has :data:`finlite.training.loop.LARGE_ROWS` rows or more) or "logistic"; ``transfer`` is "none",
    "perturb" or "mixup", with ``transfer_size`` synthetic rows per training row and noise
    ``transfer_noise`` (see :func:`make_transfer_set`). ``input_bins`` (0: off) gives an MLP
    student of a table piecewise-linear input bins, at most that many per numeric column
    (:class:`~finlite.models.bins.InputBins`), with edges at the teacher's split thresholds
    (``input_bins_from: teacher``, a LightGBM or XGBoost teacher) or at quantiles of the
    training rows (``quantiles``, any teacher).
    """

    is_distillation: ClassVar[bool] = True

    student: Student = "mlp"
    hidden: tuple[int, ...] = (16,)
    # Widths used instead of ``hidden`` from LARGE_ROWS training rows (None: ``hidden`` at any
    # size). A loan book of hundreds of thousands of rows needs a wider student than a small
    # table: a 32-unit student lost 0.035 AUC to a LightGBM teacher on SBA.
    large_hidden: tuple[int, ...] | None = None
    transfer: Transfer = "none"
    transfer_size: float = 0.0
    transfer_noise: float = 0.1
    input_bins: int = 0
    input_bins_from: BinsFrom = "teacher"

    def __post_init__(self) -> None:
        _student_fields(type(self).__name__, self)

    def fine_tune_loss(self) -> MethodConfig:
        """This distillation's loss fine-tunes the steps after it."""
        return self


@register_method("distillation")
@dataclass(frozen=True, kw_only=True)
class Distillation(_StudentSpec):
    """Soft-target distillation for a binary classifier (Hinton, Vinyals & Dean 2015).

    ``loss = α·T²·KL(teacher_T ‖ student_T) + (1 − α)·CE(student, label)``, where ``teacher_T``
    and ``student_T`` are the two-class distributions ``[1 − σ(z/T), σ(z/T)]`` of each model's
    logit ``z`` softened by the temperature ``T``. The ``T²`` factor keeps the soft term's
    gradients on the same scale as the label term's when ``T`` changes.

    Example recipe step::

        {method: distillation, temperature: 2.0, alpha: 0.9, hidden: [16],
         transfer: mixup, transfer_size: 2}

    With ``monotone`` (raw numeric columns and their signs, e.g. ``{age_in_years: -1}``: +1 means
    P(positive) must not fall as the column rises) a penalty is added to the loss: each batch is
    scored again with the constrained column raised (by a random share of one training standard
    deviation per row) and ``monotone_weight · mean(relu(sign · (f(x) − f(x + δ)) + m·δ))`` of
    the log-odds ``f`` is added per column (``m`` = :data:`MONOTONE_MARGIN`, a least slope the
    declared way), so the student learns to move the declared way. The steps after it (pruning,
    quantization-aware training, factorisation) fine-tune under the same penalty.

    Args:
        temperature: T > 0; higher values soften both distributions.
        alpha: weight of the teacher term in [0, 1]; 1 ignores the labels.
        monotone: ``{column: +1 | -1}`` of raw numeric columns (stored as pairs; text
            ``"age:+,utilisation:-"`` is read too); empty (the default) adds no penalty.
        monotone_weight: weight (> 0) of the monotone penalty.
        student: "mlp" (hidden widths ``hidden``) or "logistic" (for scorecards); on windows
            ``[rows, steps, features]`` of a series also "gru", "lstm" (recurrent widths
            ``hidden``) or "tcn" (channels ``hidden``), and "mlp" is then an MLP over the window.
        hidden: the student MLP's hidden widths.
        large_hidden: the widths instead of ``hidden`` from 100,000 training rows
            (:data:`finlite.training.loop.LARGE_ROWS`); None (the default) keeps ``hidden`` at any size.
        transfer: "none", "perturb" (Gaussian noise on numeric features, categories swapped
            with another row's at rate ``transfer_noise``) or "mixup" (numeric features mixed
            between two rows); the teacher labels the synthetic rows.
        transfer_size: synthetic rows per training row (0 = none).
        transfer_noise: noise scale in standard deviations, and category swap rate.
    """

    temperature: float = 2.0
    alpha: float = 0.9
    monotone: tuple[tuple[str, int], ...] = ()
    monotone_weight: float = 1.0

    #: Format 2 added ``monotone`` and ``monotone_weight`` (format 1 steps load without a constraint).
    format_version: ClassVar[int] = 2

    def __post_init__(self) -> None:
        _temperature("Distillation", self.temperature)
        check_fraction("Distillation", "alpha", self.alpha, high_open=False)
        object.__setattr__(self, "monotone", _monotone_pairs(self.monotone))
        _number("Distillation", "monotone_weight", self.monotone_weight, positive=True)
        super().__post_init__()

    @classmethod
    def upgrade(cls, params: dict[str, Any], version: int) -> dict[str, Any]:
        """Format 1 had no monotone constraint: its defaults (none) apply, nothing to rename."""
        return params

    def to_dict(self) -> dict[str, Any]:
        """As every config, with ``monotone`` as a mapping ``{column: +1 | -1}`` (readable in YAML)."""
        out = super().to_dict()
        out["monotone"] = {column: sign for column, sign in self.monotone}
        return out

    def fine_tune_loss(self) -> MethodConfig:
        """This distillation, monotone penalty included: the steps after it (pruning,
        quantization-aware training, factorisation) fine-tune under the same constraint, so the
        final student keeps the declared directions, not only the distilled one. The recipe
        context locates the constrained columns once (:attr:`~finlite.methods.base.StepContext.monotone_index`)."""
        return self


@register_method("regression_distillation")
@dataclass(frozen=True, kw_only=True)
class RegressionDistillation(_StudentSpec):
    """Output matching: ``α·L(student, teacher) + (1 − α)·label loss``, L = MSE or Huber.

    For a regression model (a forecaster) the outputs are forecasts and the label loss is MSE.
    For a classifier the outputs are logits (matching logits is distillation's high-temperature
    limit, Ba & Caruana 2014) and the label loss is cross-entropy.

    Example recipe step: ``{method: regression_distillation, loss: huber, delta: 1.0, alpha: 0.8}``.

    Args:
        loss: "mse" or "huber".
        delta: Huber's threshold between its quadratic and linear parts.
        alpha: weight of the teacher term in [0, 1].
        weighting: "uniform" (every row alike) or "relative": each row's teacher term weighted by
            ``1 / (|teacher| + weighting_floor)`` (the teacher's output in the units the student
            learns in: its spread for a forecast), normalised to mean 1 per batch, so an error
            counts relative to the output it misses. The rows where the teacher is near zero, whose
            sign a small error flips, then pull hardest.
        weighting_floor: the floor of ``relative`` weighting (a positive number).
        student, hidden, transfer, transfer_size, transfer_noise: as in :class:`Distillation`.
    """

    loss: Literal["mse", "huber"] = "mse"
    delta: float = 1.0
    alpha: float = 0.9
    weighting: Literal["uniform", "relative"] = "uniform"
    weighting_floor: float = 0.1

    def __post_init__(self) -> None:
        if self.loss not in ("mse", "huber"):
            raise param_error("RegressionDistillation", "loss", "'mse' or 'huber'", self.loss)
        if self.weighting not in ("uniform", "relative"):
            raise param_error("RegressionDistillation", "weighting", "'uniform' or 'relative'", self.weighting)
        _number("RegressionDistillation", "delta", self.delta, positive=True)
        _number("RegressionDistillation", "weighting_floor", self.weighting_floor, positive=True)
        check_fraction("RegressionDistillation", "alpha", self.alpha, high_open=False)
        super().__post_init__()


@register_method("hint_distillation")
@dataclass(frozen=True, kw_only=True)
class HintDistillation(_StudentSpec):
    """Soft targets plus an intermediate-feature hint (FitNets, Romero et al. 2015).

    ``loss = Distillation loss + β·MSE(P·h_student, h_teacher)``, where ``h`` are the hidden
    activations of the chosen layers and ``P`` is a Linear projection learned with the student
    (and discarded afterwards, so the student's size is unchanged). Needs a torch MLP teacher.

    Example recipe step: ``{method: hint_distillation, beta: 0.5, teacher_layer: -1, hidden: [16]}``.

    Args:
        temperature, alpha: as in :class:`Distillation`.
        beta: weight of the hint term (≥ 0).
        teacher_layer: index of the teacher's hidden layer whose activations are the hint
            (negative counts from the last hidden layer).
        student_layer: index of the student's hidden layer that is projected onto it.
        student, hidden, transfer, transfer_size, transfer_noise: as in :class:`Distillation`
            (the student must be an MLP).
    """

    temperature: float = 2.0
    alpha: float = 0.9
    beta: float = 0.5
    teacher_layer: int = -1
    student_layer: int = -1

    def __post_init__(self) -> None:
        _temperature("HintDistillation", self.temperature)
        check_fraction("HintDistillation", "alpha", self.alpha, high_open=False)
        _number("HintDistillation", "beta", self.beta)
        if self.beta < 0:
            raise param_error("HintDistillation", "beta", "a number ≥ 0", self.beta)
        for name in ("teacher_layer", "student_layer"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise param_error("HintDistillation", name, "an integer layer index", value)
        super().__post_init__()
        if self.student != "mlp":
            raise param_error("HintDistillation", "student", "'mlp' (a hint needs a hidden layer)", self.student)

    def fine_tune_loss(self) -> MethodConfig:
        """The soft-target loss of this hint distillation: the hint's projection is gone after
        training, so later fine-tuning keeps only its temperature and alpha."""
        return Distillation(temperature=self.temperature, alpha=self.alpha)


AnyDistillation = Distillation | RegressionDistillation | HintDistillation


# -- losses ------------------------------------------------------------------------------------
def _binary_kl(teacher_logit: torch.Tensor, student_logit: torch.Tensor) -> torch.Tensor:
    """KL(teacher ‖ student) per row for two-class distributions given by logits."""
    log_t1, log_t0 = F.logsigmoid(teacher_logit), F.logsigmoid(-teacher_logit)
    log_s1, log_s0 = F.logsigmoid(student_logit), F.logsigmoid(-student_logit)
    return log_t1.exp() * (log_t1 - log_s1) + log_t0.exp() * (log_t0 - log_s0)


def _label_term(student_out: torch.Tensor, label: torch.Tensor, weight: torch.Tensor | None, task: str) -> torch.Tensor:
    """Label loss averaged over rows that have a label (synthetic transfer rows have weight 0)."""
    if task == "regression":
        per_row = (student_out - label) ** 2
    else:
        per_row = F.binary_cross_entropy_with_logits(student_out, label, reduction="none")
    if weight is None:
        return per_row.mean()
    return (per_row * weight).sum() / weight.sum().clamp_min(1.0)


def distillation_loss(student_logit: torch.Tensor, teacher_logit: torch.Tensor, label: torch.Tensor,
                      method: Distillation | HintDistillation, weight: torch.Tensor | None = None,
                      offset: float = 0.0) -> torch.Tensor:
    """Mean of ``α·T²·KL(teacher_T ‖ student_T) + (1−α)·CE(student + offset, label)`` over rows.

    ``weight`` (0/1 per row) restricts the label term to labelled rows; ``offset``
    (:attr:`~finlite.methods.targets.DistillData.label_offset`) moves the student's logit in the
    label term only.
    """
    t = float(method.temperature)
    kl = _binary_kl(teacher_logit / t, student_logit / t).mean()
    return method.alpha * t * t * kl + (1.0 - method.alpha) * _label_term(student_logit + offset, label, weight,
                                                                         "classification")


def regression_distillation_loss(student_out: torch.Tensor, teacher_out: torch.Tensor, label: torch.Tensor,
                                 method: RegressionDistillation, task: str = "classification",
                                 weight: torch.Tensor | None = None, offset: float = 0.0) -> torch.Tensor:
    """``α·MSE|Huber(student, teacher) + (1−α)·label loss`` (CE for classification, MSE for regression);
    with ``weighting="relative"`` the teacher term of each row is weighted by ``1 / (|teacher| + floor)``
    (normalised to mean 1 over the rows)."""
    if method.weighting == "relative":
        if method.loss == "mse":
            per_row = (student_out - teacher_out) ** 2
        else:
            per_row = F.huber_loss(student_out, teacher_out, delta=float(method.delta), reduction="none")
        rel = 1.0 / (teacher_out.detach().abs() + float(method.weighting_floor))
        match = (per_row * rel).sum() / rel.sum()
    elif method.loss == "mse":
        match = F.mse_loss(student_out, teacher_out)
    else:
        match = F.huber_loss(student_out, teacher_out, delta=float(method.delta))
    return method.alpha * match + (1.0 - method.alpha) * _label_term(
        student_out + offset if task == "classification" else student_out, label, weight, task)


#: The least rise of the log-odds per standard deviation of a constrained column that training
#: asks for (in the declared direction). Without it the penalty is satisfied by a flat response,
#: and a student fine-tuned towards a teacher that moves the other way settles on a slope of
#: about zero whose sign is noise: many wrong-way steps of 1e-5 in a grid check. A hundredth of
#: a log-odds per standard deviation is far below any effect a validator reads.
MONOTONE_MARGIN = 0.01


def monotone_penalty(model: nn.Module, x: torch.Tensor, out: torch.Tensor, columns: Sequence[tuple[int, int]],
                     delta: torch.Tensor | float, margin: float = 0.0) -> torch.Tensor:
    """``Σ_columns mean(relu(sign · (f(x) − f(x + δ·e_j)) + margin·δ))``: how far the log-odds
    ``out = f(x)`` move against each column's sign when its encoded column ``j`` rises by
    ``delta`` (a number or one per row, in standard deviations); with ``margin`` > 0 a move the
    right way of less than ``margin`` per standard deviation is penalised too."""
    total = out.new_zeros(())
    for j, sign in columns:
        shifted = x.clone()
        shifted[:, j] = shifted[:, j] + delta
        total = total + F.relu(sign * (out - model(shifted)) + margin * delta).mean()
    return total


def _constrained_columns(method: MethodConfig, index: Mapping[str, int] | None) -> tuple[list[tuple[int, int]], float]:
    """``method``'s monotone constraint as ``[(encoded column, sign)]`` and its weight; ([], 0.0)
    for a loss without one (then training is exactly the unconstrained one).

    Raises:
        ConfigError: the method has monotone columns that ``index`` does not locate.
    """
    if not isinstance(method, Distillation) or not method.monotone:
        return [], 0.0
    if index is None or any(c not in index for c, _ in method.monotone):
        raise ConfigError("This distillation has monotone columns; pass monotone_index=monotone_index(method, "
                          "prepared.preprocessor) (distill_from_teacher and recipes do it).", param="monotone")
    return [(int(index[c]), sign) for c, sign in method.monotone], float(method.monotone_weight)


# -- training -----------------------------------------------------------------------------------
@dataclass
class DistillResult:
    """The trained student (a new object) and what training did."""

    model: FinliteModel
    method: AnyDistillation
    training: TrainResult
    synthetic_rows: int = 0


def apply_masks(model: nn.Module, masks: Masks) -> None:
    """Zero the pruned weights again (an optimiser step may have moved them). Once; a training
    loop takes :func:`mask_step`, which looks the parameters up once for every step."""
    mask_step(model, masks)(model)


def mask_step(model: nn.Module, masks: Masks) -> Callable[[Any], None]:
    """:func:`apply_masks` for every optimiser step of one training run of ``model``: the masked
    parameters are looked up once, not on every step (the optimiser updates them in place, and
    restoring the best epoch copies into them, so they stay the same tensors)."""
    if not masks:
        return lambda _m: None
    params = dict(model.named_parameters())
    pairs = [(params[name], mask) for name, mask in masks.items()]

    def step(_m: Any) -> None:
        with torch.no_grad():
            for param, mask in pairs:
                param.mul_(mask)
    return step


def student_widths(method: AnyDistillation, rows: int | None = None) -> tuple[int, ...]:
    """The hidden widths ``method`` gives a student trained on ``rows`` rows: ``large_hidden``
    when it is set and ``rows`` is at least :data:`finlite.training.loop.LARGE_ROWS`, else ``hidden``."""
    if method.large_hidden is not None and rows is not None and rows >= LARGE_ROWS:
        return tuple(method.large_hidden)
    return tuple(method.hidden)


def make_student(method: AnyDistillation, n_features: int, rows: int | None = None, *,
                 window: int | None = None, task: str = "classification",
                 bins: EdgesConfig | None = None) -> FinliteModel:
    """A fresh student as the method describes it: an MLP of widths :func:`student_widths` for
    ``rows`` training rows (``hidden`` when ``rows`` is not given), or a logistic model.

    With ``window`` (the data are windows ``[rows, window, n_features]`` of a series) the
    student is a forecaster of ``task`` ("regression" or "classification"): "mlp" an MLP over the
    flattened window, "logistic" a linear model of it, "gru"/"lstm" a recurrent model and "tcn"
    a temporal convolutional network of those widths. ``bins`` (``[[column, [edges…]], …]``, from
    :func:`student_bins`) gives an MLP student of a table its input bins.
    """
    widths = student_widths(method, rows)
    if window is None:
        if method.student in ("gru", "lstm", "tcn"):
            raise ConfigError(f"A {method.student!r} student reads windows of a series [rows, steps, features]; "
                              "these data are a table. Use student: mlp or logistic.", param="student")
        if method.student == "logistic":
            return LogisticRegression(n_features)
        if bins and widths:
            # The first layer reads one input per bin: weights, gradients, two Adam moments and a
            # best-epoch copy of it must fit before anything is allocated.
            inputs = n_features + sum(len(edges) + 1 for _, edges in bins)
            check_memory(inputs * widths[0] * 4 * 5, f"The 'input_bins' parameter ({method.input_bins} per column, "
                         f"{inputs:,} inputs to the first layer)", "choose fewer bins or a narrower first layer")
        return TabularMLP(n_features, widths, dropout=0.0, bins=bins or None)
    if method.student in ("gru", "lstm"):
        return SequenceModel(method.student, n_features, widths, task=task)
    if method.student == "tcn":
        return TemporalConvNet(n_features, widths, task=task)
    return WindowMLP(window, n_features, () if method.student == "logistic" else widths, task=task)


def student_bins(method: AnyDistillation, teacher: FinliteModel | None, x: np.ndarray) -> list[list[Any]] | None:
    """The input bins ``method`` asks for on the encoded training rows ``x``: edges at ``teacher``'s
    split thresholds or at quantiles of ``x`` (see :mod:`finlite.models.bins`); None when
    ``input_bins`` is 0 or no column has bins.

    Raises:
        ConfigError: bins for windows of a series, or ``input_bins_from: teacher`` with a teacher
            that is not a boosted ensemble of a table.
    """
    if not method.input_bins:
        return None
    if x.ndim != 2:
        raise ConfigError("The 'input_bins' parameter bins the columns of a table; these data are windows of a "
                          "series. Leave input bins off (input_bins=0).", param="input_bins")
    if method.input_bins_from == "teacher":
        edges = teacher_edges(teacher, x, method.input_bins)
    else:
        edges = quantile_edges(x, method.input_bins)
    return edges or None


class _HintStudent(nn.Module):
    """The student plus the projection of its hidden layer, trained together."""

    def __init__(self, student: TabularMLP, layer: int, teacher_width: int) -> None:
        super().__init__()
        self.student = student
        self.layer = layer
        width = student.hidden[layer]
        self.project = nn.Linear(width, teacher_width)
        self.features: torch.Tensor | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, self.features = self.student.forward_with_hidden(x, self.layer)
        return out


def _layer_index(model: TabularMLP, index: int, who: str) -> int:
    n = len(model.hidden)
    if not -n <= index < n:
        raise ConfigError(f"HintDistillation: {who}_layer {index} is out of range; the {who} has {n} hidden "
                          f"layer(s) (valid: {-n}..{n - 1}).")
    return index % n


def distill_from_teacher(teacher: FinliteModel, student: FinliteModel, method: AnyDistillation, *,
                         data: PreparedData, train: TrainConfig | None = None, masks: Masks | None = None,
                         hint_teacher: TabularMLP | None = None) -> DistillResult:
    """:func:`distill` from a model: its outputs on ``data``'s training and validation rows are
    computed here (:func:`~finlite.methods.targets.distill_data`); a torch MLP teacher is also the
    hint teacher of :class:`HintDistillation` unless ``hint_teacher`` is given."""
    if not isinstance(data, PreparedData):
        raise param_error("distill_from_teacher", "data", "PreparedData (finlite.data.prepare(...)), whose rows the "
                          "teacher labels", type(data).__name__)
    targets = distill_data(data, lambda x: teacher_logits(teacher, x))
    if isinstance(method, HintDistillation) and hint_teacher is None and isinstance(teacher, TabularMLP):
        hint_teacher = teacher
    index = monotone_index(method, data.preprocessor) if isinstance(method, Distillation) and method.monotone \
        else None
    result = distill(targets, student, method, train=train, masks=masks, hint_teacher=hint_teacher,
                     monotone_index=index)
    if masks is None:  # a fresh student: a new category is an average one, not chance
        average_unseen(result.model, data.preprocessor, data.x_train)
    return result


def distill(data: DistillData, student: FinliteModel, method: AnyDistillation, *, train: TrainConfig | None = None,
            masks: Masks | None = None, hint_teacher: TabularMLP | None = None,
            monotone_index: Mapping[str, int] | None = None) -> DistillResult:
    """Train a copy of ``student`` to imitate a teacher's outputs ``data``.

    ``data`` holds the teacher's outputs on the training and validation rows, computed once and
    reusable, from any kind of teacher (:func:`~finlite.methods.targets.distill_data`; from a
    torch model in one call: :func:`distill_from_teacher`). Early stopping watches the same loss
    on the validation split, so the kept epoch is the one that imitates the teacher best on rows
    neither model trained on. A regression student learns the targets divided by the spread of
    the training labels (a daily return is about 0.01: Adam's steps would otherwise move its output
    as much as the forecasts differ); its output layer is divided by that spread before training
    and multiplied by it after, so a student that forecasts in the targets' units continues from
    there, and the model returned does too. ``masks`` (from unstructured pruning) keep pruned weights at zero:
    this is how a pruned student is fine-tuned. ``hint_teacher`` is the torch teacher whose
    hidden activations :class:`HintDistillation` matches. ``monotone_index`` gives the encoded
    column of each of a :class:`Distillation`'s ``monotone`` columns (:func:`monotone_index`;
    :func:`distill_from_teacher` and the recipe step find it themselves). Neither input model is changed.

    Raises:
        ConfigError: ``data`` is not DistillData (a model passed instead: use
            :func:`distill_from_teacher`), or the method does not fit the task or the models.
    """
    if not isinstance(data, DistillData):
        raise param_error("distill", "data", "DistillData (the teacher's outputs, from distill_data()); to distil "
                          "from a model, call distill_from_teacher(teacher, student, method, data=prepared)",
                          type(data).__name__)
    if not isinstance(method, _StudentSpec):
        raise param_error("distill", "method", "a distillation config (Distillation, RegressionDistillation or "
                          "HintDistillation)", type(method).__name__)
    train = train or TrainConfig()
    dd = data
    model = copy.deepcopy(student)
    masks = masks or {}
    apply_masks(model, masks)
    rows = dd.source()  # mini-batches built on demand: a streamed transfer set is never materialised
    x_val, y_val, t_val = (torch.from_numpy(a) for a in (dd.x_val, dd.y_val, dd.t_val))
    # A forecast of a daily return is about 0.01: learnt as it is, Adam's steps (about lr on every
    # weight) move the output as much as the teacher's forecasts differ from each other. The student
    # learns the targets divided by their spread, which is folded into its output layer afterwards.
    scale, out_layer = _target_scale(dd, model, isinstance(method, RegressionDistillation) and method.alpha == 1.0)
    fold_scale(out_layer, 1.0 / scale)

    if isinstance(method, RegressionDistillation):
        def base_loss(out: torch.Tensor, t: torch.Tensor, y: torch.Tensor, w: torch.Tensor | None) -> torch.Tensor:
            return regression_distillation_loss(out, t / scale, y / scale, method, dd.task, w, dd.label_offset)
    else:
        if dd.task != "classification":
            raise ConfigError(f"{type(method).__name__} is for classifiers; use regression_distillation for a "
                              "regression model.")

        def base_loss(out: torch.Tensor, t: torch.Tensor, y: torch.Tensor, w: torch.Tensor | None) -> torch.Tensor:
            return distillation_loss(out, t, y, method, w, dd.label_offset)

    constrained, mono_weight = _constrained_columns(method, monotone_index)

    trained: nn.Module = model
    if isinstance(method, HintDistillation):
        if not isinstance(hint_teacher, TabularMLP) or not isinstance(model, TabularMLP):
            raise ConfigError("HintDistillation needs a torch MLP teacher and an MLP student (hidden layers to "
                              "match); use distillation for a boosted-tree teacher.")
        t_layer = _layer_index(hint_teacher, method.teacher_layer, "teacher")
        s_layer = _layer_index(model, method.student_layer, "student")
        frozen = hint_teacher
        frozen.eval()

        def hints(x: torch.Tensor) -> torch.Tensor:
            # The teacher's hidden activations, computed per batch (a frozen network: no gradient).
            with torch.inference_mode():
                _, h = frozen.forward_with_hidden(x, t_layer)
            return h.clone()

        rows.extra["h"] = hints
        trained = _HintStudent(model, s_layer, hint_teacher.hidden[t_layer])

        def loss_fn(out: torch.Tensor, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
            hint = F.mse_loss(trained.project(trained.features), batch["h"])
            return base_loss(out, batch["t"], batch["y"], batch["w"]) + method.beta * hint
    elif constrained:
        def loss_fn(out: torch.Tensor, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
            x = batch["x"]
            # A random rise per row (up to one standard deviation; torch's generator, seeded by fit)
            # checks the direction at many step sizes, as the report's shift and grid do.
            delta = torch.rand(x.shape[0], dtype=x.dtype)
            penalty = monotone_penalty(trained, x, out, constrained, delta, MONOTONE_MARGIN)
            return base_loss(out, batch["t"], batch["y"], batch["w"]) + mono_weight * penalty
    else:
        def loss_fn(out: torch.Tensor, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
            return base_loss(out, batch["t"], batch["y"], batch["w"])

    def validate(m: nn.Module) -> float:
        with torch.inference_mode():
            m.eval()
            out = forward_rows(m, x_val)
            score = float(base_loss(out, t_val, y_val, None))
            if constrained:  # the kept epoch imitates the teacher AND keeps the declared directions
                score += mono_weight * float(monotone_penalty(m, x_val, out, constrained, 0.5, MONOTONE_MARGIN))
            return -score

    result = fit(trained, rows, loss_fn, validate, train, after_step=mask_step(model, masks),
                 desc="distilling" if not masks else "fine-tuning", score_name="-loss")
    fold_scale(out_layer, scale)
    model.eval()
    return DistillResult(model=model, method=method, training=result, synthetic_rows=dd.n_synthetic)


def _target_scale(dd: DistillData, model: nn.Module, imitate_only: bool = False) -> tuple[float, nn.Linear | None]:
    """For a regression student: the spread of the training labels (of the teacher's outputs when
    the labels are constant) and the layer it is folded into; (1.0, None) otherwise. The labels'
    spread, not the teacher's, when the loss mixes both: a forecaster's outputs vary far less than
    what it forecasts, and the label term would then dominate the loss in those units. With
    ``imitate_only`` (alpha = 1: the labels play no part) the teacher's spread: the student must
    reproduce differences between forecasts that are a few hundredths of the labels' spread (a
    return forecast's sign flips within them), which in the labels' units are lost in the noise
    of the optimiser."""
    layer = output_layer(model) if dd.task == "regression" else None
    if layer is None:
        return 1.0, None
    for values in ((dd.t_train, dd.y_train) if imitate_only else (dd.y_train, dd.t_train)):
        spread = float(np.std(np.asarray(values, dtype=np.float64))) if len(values) else 0.0
        if math.isfinite(spread) and spread > 0:
            return spread, layer
    return 1.0, None


# -- in a recipe ---------------------------------------------------------------------------------
def tuning_loss(ctx: StepContext) -> MethodConfig:
    """The loss that fine-tunes a changed model in a recipe: the last kept distillation's
    (:meth:`~finlite.methods.registry.MethodConfig.fine_tune_loss`), or plain soft targets before any."""
    if ctx.distillation is not None:
        return ctx.distillation
    # A forecaster's outputs are numbers, not log-odds: it is fine-tuned by matching them.
    return RegressionDistillation() if ctx.base.task == "regression" else Distillation()


def _fine_tuning_loss(ctx: StepContext) -> AnyDistillation:
    loss = tuning_loss(ctx)
    if not isinstance(loss, (Distillation, RegressionDistillation, HintDistillation)):
        raise ConfigError(f"The fine-tuning loss {type(loss).__name__} is not a distillation; a distillation "
                          "config's fine_tune_loss() must return one.")
    return loss


def _apply_distillation(method: AnyDistillation, state: StepState, ctx: StepContext,
                        train: Mapping[str, Any]) -> tuple[StepState, dict[str, Any]]:
    """Train a fresh student from the teacher (on the method's transfer set, if any)."""
    hint: TabularMLP | None = None
    if isinstance(method, HintDistillation):
        if not isinstance(ctx.teacher, TabularMLP):
            raise ConfigError("hint_distillation needs a torch MLP teacher (its hidden activations are the hint); "
                              "use distillation for this teacher.")
        hint = ctx.teacher
    dd = ctx.data_for(method)
    x = ctx.data.x_train
    # Windows [rows, steps, features] of a series get a forecaster student of the data's task.
    window = int(x.shape[1]) if x.ndim == 3 else None
    task = "regression" if dd.task == "regression" else "classification"
    bins = student_bins(method, ctx.teacher, x)
    student = make_student(method, int(x.shape[-1]), rows=len(x), window=window, task=task, bins=bins)
    # distill() trains a regression student in units of the label spread, dividing its output layer
    # by the spread first (a student that already forecasts continues where it is): a fresh one is
    # put in the targets' units here, so it starts from its own initialisation.
    scale, out_layer = _target_scale(dd, student, isinstance(method, RegressionDistillation) and method.alpha == 1.0)
    fold_scale(out_layer, scale)
    index = None
    if isinstance(method, Distillation) and method.monotone:
        index = monotone_index(method, ctx.table_data(method).preprocessor)
    config = ctx.training(train)
    result = distill(dd, student, method, train=config, hint_teacher=hint, monotone_index=index)
    # The most epochs and the schedule beside the epochs run: whether the run ended at its cap
    # while still improving is read from them (evaluate.summary_report.training_notes).
    info = {"student": result.model.config(), "synthetic_rows": result.synthetic_rows,
            "best_epoch": result.training.best_epoch, "epochs_run": result.training.epochs_run,
            "epochs_max": config.epochs, "schedule": config.schedule,
            # A run stopped by a non-finite loss ran out of its epochs too, not because it improved.
            **({"diverged": True} if result.training.diverged is not None else {})}
    if isinstance(ctx.data, PreparedData):  # a new category: an average one, not chance
        average_recorded(info, result.model, ctx.data.preprocessor, ctx.data.x_train)
    if method.input_bins:
        binned = result.model.bins if isinstance(result.model, TabularMLP) else None
        info["input_bins"] = {"from": method.input_bins_from, "columns": len(bins or []),
                              "inputs": int(x.shape[-1]) if binned is None else binned.out_features}
    # A new student starts afresh: no masks, plan or files of the model it replaces.
    return StepState(result.model), info


register_handler(Distillation, RegressionDistillation, HintDistillation)(_apply_distillation)
