"""Knowledge distillation: a teacher's soft scores train a smaller student."""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from finlite._util import param_error
from finlite.compress.registry import register_method
from finlite.data.prepared import PreparedData
from finlite.models.base import FinliteModel
from finlite.training import TrainConfig, TrainResult, fit

__all__ = ["DistillResult", "Distillation", "distillation_loss", "distill"]

Masks = dict[str, torch.Tensor]


@register_method("distillation")
@dataclass(frozen=True)
class Distillation:
    """Soft-target distillation for a binary classifier (Hinton, Vinyals & Dean 2015).

    ``loss = α·T²·KL(teacher_T ‖ student_T) + (1 − α)·CE(student, label)``, where ``teacher_T``
    and ``student_T`` are the two-class distributions ``[1 − σ(z/T), σ(z/T)]`` of each model's
    logit ``z`` softened by the temperature ``T``. The ``T²`` factor keeps the soft term's
    gradients on the same scale as the label term's when ``T`` changes.

    Example recipe step: ``{method: distillation, temperature: 2.0, alpha: 0.9}``.

    Args:
        temperature: T > 0; higher values soften both distributions.
        alpha: weight of the teacher term in [0, 1]; 1 ignores the labels.
    """

    temperature: float = 2.0
    alpha: float = 0.9

    def __post_init__(self) -> None:
        if isinstance(self.temperature, bool) or not isinstance(self.temperature, (int, float)) or not self.temperature > 0:
            raise param_error("Distillation", "temperature", "a positive number", self.temperature)
        if isinstance(self.alpha, bool) or not isinstance(self.alpha, (int, float)) or not 0 <= self.alpha <= 1:
            raise param_error("Distillation", "alpha", "a number in [0, 1]", self.alpha)


def _binary_kl(teacher_logit: torch.Tensor, student_logit: torch.Tensor) -> torch.Tensor:
    """KL(teacher ‖ student) per row for two-class distributions given by logits."""
    log_t1, log_t0 = F.logsigmoid(teacher_logit), F.logsigmoid(-teacher_logit)
    log_s1, log_s0 = F.logsigmoid(student_logit), F.logsigmoid(-student_logit)
    return log_t1.exp() * (log_t1 - log_s1) + log_t0.exp() * (log_t0 - log_s0)


def distillation_loss(student_logit: torch.Tensor, teacher_logit: torch.Tensor, label: torch.Tensor,
                      method: Distillation) -> torch.Tensor:
    """Mean of ``α·T²·KL(teacher_T ‖ student_T) + (1−α)·CE(student, label)`` over rows."""
    t = float(method.temperature)
    kl = _binary_kl(teacher_logit / t, student_logit / t).mean()
    ce = F.binary_cross_entropy_with_logits(student_logit, label)
    return method.alpha * t * t * kl + (1.0 - method.alpha) * ce


@dataclass
class DistillResult:
    """The trained student (a new object) and what training did."""

    model: FinliteModel
    method: Distillation
    training: TrainResult


def apply_masks(model: FinliteModel, masks: Masks) -> None:
    """Zero the pruned weights again (an optimiser step may have moved them)."""
    if not masks:
        return
    with torch.no_grad():
        params = dict(model.named_parameters())
        for name, mask in masks.items():
            params[name].mul_(mask)


@torch.inference_mode()
def teacher_logits(teacher: FinliteModel, x: np.ndarray) -> torch.Tensor:
    """The teacher's logits on ``x`` in evaluation mode."""
    teacher.eval()
    return teacher(torch.from_numpy(x)).detach().clone()


def distill(teacher: FinliteModel, student: FinliteModel, method: Distillation, *, data: PreparedData,
            train: TrainConfig | None = None, masks: Masks | None = None) -> DistillResult:
    """Train a copy of ``student`` to imitate ``teacher`` on the training split of ``data``.

    Early stopping watches the same loss on the validation split, so the kept epoch is the one
    that imitates the teacher best on rows neither model trained on. ``masks`` (from
    unstructured pruning) keep pruned weights at zero: this is how a pruned student is
    fine-tuned. Neither input model is changed.
    """
    train = train or TrainConfig()
    model = copy.deepcopy(student)
    masks = masks or {}
    apply_masks(model, masks)
    t_train = teacher_logits(teacher, data.x_train)
    t_val = teacher_logits(teacher, data.x_val)
    tensors = {"x": torch.from_numpy(data.x_train), "y": torch.from_numpy(data.y_train), "t": t_train}
    x_val, y_val = torch.from_numpy(data.x_val), torch.from_numpy(data.y_val)

    def loss_fn(logits: torch.Tensor, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return distillation_loss(logits, batch["t"], batch["y"], method)

    def validate(m: FinliteModel) -> float:
        with torch.inference_mode():
            return -float(distillation_loss(m(x_val), t_val, y_val, method))

    result = fit(model, tensors, loss_fn, validate, train, after_step=lambda m: apply_masks(m, masks),
                 desc="distilling")
    return DistillResult(model=model, method=method, training=result)
