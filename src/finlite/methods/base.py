"""What a method's handler works with inside a recipe: the context every step reads and the state
each step turns into a new one.

The recipe runner (:mod:`finlite.recipe.runner`) owns the order of steps, the gates and the
rollback; the handlers (one per config type, :func:`~finlite.methods.registry.register_handler`)
own what a step does. Both meet here, below the runner, so a method family never imports it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import torch

from finlite.data.prepared import PreparedData, SplitArrays
from finlite.errors import ConfigError
from finlite.methods.plan import PruningPlan
from finlite.methods.registry import MethodConfig, method_name
from finlite.methods.targets import DistillData, TeacherFn, with_transfer_for
from finlite.models.base import FinliteModel
from finlite.training.loop import TrainConfig

__all__ = ["Masks", "NoModelError", "StepContext", "StepState", "merge_masks", "monotone_index"]

Masks = dict[str, torch.Tensor]


class NoModelError(ConfigError):
    """A step needs a torch model to work on and there is none yet (raised before any change).

    The runner turns it into a "skipped" record when an earlier distillation was rolled back,
    and into an error naming the step when the recipe itself can never produce a model there.
    """


@dataclass
class StepState:
    """The model the steps so far produced, and what travels with it.

    ``model`` is None until a distillation produces a student when the teacher is not a torch
    model (a boosted ensemble). ``masks`` hold pruned weights at zero while later steps
    fine-tune; ``plan`` is the last pruning plan; ``extra_files`` are files for the artifact
    (``{name: text}``, e.g. a scorecard's points table). Handlers return a new state and leave
    the one they were given unchanged.
    """

    model: FinliteModel | None
    masks: Masks = field(default_factory=dict)
    plan: PruningPlan | None = None
    extra_files: dict[str, str] = field(default_factory=dict)

    def need_model(self, method: MethodConfig) -> FinliteModel:
        """The model to work on.

        Raises:
            NoModelError: there is none yet (the teacher is not a torch model and no
                distillation step has produced a student).
        """
        if self.model is None:
            raise NoModelError(f"Step {method_name(method)!r} needs a torch model to work on, but the teacher is not "
                               "one (e.g. a boosted ensemble) and no distillation step has produced a student yet. "
                               "Put a distillation step first.")
        return self.model


def merge_masks(old: Masks, new: Masks) -> Masks:
    """Pruning masks after a further pruning step: a weight pruned by either stays pruned."""
    out = dict(new)
    for name, mask in old.items():
        if name in out and out[name].shape == mask.shape:
            out[name] = out[name] * mask
        elif name not in out:
            out[name] = mask
    return out


def monotone_index(method: Any, preprocessor: Any) -> dict[str, int]:
    """The encoded column of each of ``method.monotone``'s raw columns (pairs ``(column, sign)``):
    a numeric column's standardised value (its missing indicator is left as it is).

    Raises:
        ConfigError: a column is not a numeric column of the preprocessor (naming it and the
            numeric columns), or the preprocessor is not a table's.
    """
    numeric = [n.name for n in getattr(preprocessor, "numeric_", None) or []]
    out: dict[str, int] = {}
    for column, _ in getattr(method, "monotone", ()):
        if column not in numeric:
            raise ConfigError(f"The 'monotone' parameter of Distillation names {column!r}, which is not a numeric "
                              f"column of the data; numeric columns: {', '.join(numeric) or 'none'}.",
                              param="monotone")
        out[column] = numeric.index(column)
    return out


@dataclass
class StepContext:
    """What every step reads: data, the teacher and its outputs, training defaults, the seed.

    Attributes:
        data: the teacher's data, split and encoded as the teacher was trained.
        base: the teacher's outputs on the training and validation rows.
        teacher: the teacher model; ``teacher_fn`` its outputs on encoded rows.
        seed: seeds every step.
        train, fine_tune: defaults for training a student from scratch and for fine-tuning
            after a change; a step's ``train:`` overrides them (:meth:`training`, :meth:`fine_tuning`).
        cutoff: the decision threshold (a probability) that decision counts use; None for a
            task without decisions (regression).
        distillation: the loss fine-tuning uses: that of the last kept distillation step
            (None before any: plain soft targets, see :func:`finlite.methods.distill.tuning_loss`).
        tuning: the rows fine-tuning uses: those of the last kept distillation step (its
            transfer set included), or the training rows before any.
        monotone_index: the encoded column of each raw column that the fine-tuning loss
            constrains (:func:`monotone_index`, resolved once when a distillation with
            ``monotone`` is kept); None when it constrains none. Every fine-tune passes it to
            :func:`~finlite.methods.distill.distill`, so a pruned, quantized or factorised
            student keeps the declared directions too.
        transfer_cache: transfer sets already labelled by the teacher, by setting.
        ready_plan: a ready pruning plan (e.g. edited by hand: the CLI's ``--plan``) that a
            magnitude or Taylor pruning step applies instead of making its own.
    """

    data: SplitArrays
    base: DistillData
    teacher: FinliteModel
    teacher_fn: TeacherFn
    seed: int
    train: TrainConfig
    fine_tune: TrainConfig
    cutoff: float | None = None
    distillation: MethodConfig | None = None
    tuning: DistillData | None = None
    monotone_index: dict[str, int] | None = None
    transfer_cache: dict[tuple[Any, ...], DistillData] = field(default_factory=dict)
    ready_plan: PruningPlan | None = None
    #: The recipe is an artifact's recorded one (reproduce): it runs as it ran then.
    recorded: bool = False

    def __post_init__(self) -> None:
        if self.tuning is None:
            self.tuning = self.base

    @property
    def tuning_data(self) -> DistillData:
        """The rows and teacher outputs fine-tuning uses (see :attr:`tuning`)."""
        return self.tuning if self.tuning is not None else self.base

    def keep(self, method: MethodConfig) -> None:
        """A kept distillation step becomes the fine-tuning loss and data of the steps after it
        (with its monotone constraint, located once here: see :attr:`monotone_index`)."""
        if type(method).is_distillation:
            loss = method.fine_tune_loss()
            index = monotone_index(loss, self.table_data(method).preprocessor) \
                if getattr(loss, "monotone", ()) else None
            self.distillation = loss
            self.tuning = self.data_for(method)
            self.monotone_index = index

    def data_for(self, method: Any) -> DistillData:
        """Training data for a distillation method, with its transfer set (cached per setting)."""
        if method.transfer == "none" or method.transfer_size == 0:
            return self.base
        key = (method.transfer, float(method.transfer_size), float(method.transfer_noise))
        if key not in self.transfer_cache:
            # Streamed: the synthetic rows are rebuilt per batch, only the teacher's outputs are kept.
            self.transfer_cache[key] = with_transfer_for(self.base, self.data, self.teacher_fn, method.transfer,
                                                         float(method.transfer_size), float(method.transfer_noise),
                                                         self.seed)
        return self.transfer_cache[key]

    def training(self, overrides: Mapping[str, Any]) -> TrainConfig:
        """The settings for training a student from scratch, with a step's overrides."""
        return replace(self.train, **dict(overrides)) if overrides else self.train

    def fine_tuning(self, overrides: Mapping[str, Any]) -> TrainConfig:
        """The settings for fine-tuning after a change, with a step's overrides."""
        return replace(self.fine_tune, **dict(overrides)) if overrides else self.fine_tune

    def table_data(self, method: MethodConfig) -> PreparedData:
        """The data as a table's encoding, for a method that needs its preprocessor.

        Raises:
            ConfigError: the recipe runs on bare arrays (e.g. windows of a series), naming the method.
        """
        if not isinstance(self.data, PreparedData):
            raise ConfigError(f"{method_name(method)!r} needs data prepared from a table (its preprocessor); this "
                              f"recipe runs on bare {self.data.task} arrays. Leave that step out.")
        return self.data

    def cutoff_logit(self, method: MethodConfig) -> float:
        """The decision threshold on the logit scale, for ``method``, which counts decisions.

        Raises:
            ConfigError: the task makes no decisions (no cut-off), naming the method.
        """
        if self.cutoff is None:
            raise ConfigError(f"{method_name(method)!r} counts decisions at the cut-off, but this recipe's task makes "
                              "none (no cut-off). Leave that step out.")
        return float(np.log(self.cutoff / (1 - self.cutoff)))
