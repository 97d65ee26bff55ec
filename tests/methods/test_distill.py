"""The distillation loss against hand-computed values, and the training loop's reproducibility."""

from __future__ import annotations

import math

import pytest
import torch

import finlite
from finlite.data import prepare
from finlite.errors import ConfigError
from finlite.methods import Distillation, distill_from_teacher, distillation_loss
from finlite.models import TabularMLP
from tests.conftest import FAST, make_loans


def _kl2(p: float, q: float) -> float:
    return p * math.log(p / q) + (1 - p) * math.log((1 - p) / (1 - q))


def _sig(z: float) -> float:
    return 1 / (1 + math.exp(-z))


def test_loss_matches_formula_by_hand() -> None:
    zs, zt, y = torch.tensor([0.3, -1.2]), torch.tensor([1.5, -0.4]), torch.tensor([1.0, 0.0])
    method = Distillation(temperature=2.0, alpha=0.7)
    kl = sum(_kl2(_sig(t / 2), _sig(s / 2)) for s, t in zip(zs.tolist(), zt.tolist(), strict=True)) / 2
    ce = (-math.log(_sig(0.3)) - math.log(1 - _sig(-1.2))) / 2
    expected = 0.7 * 4 * kl + 0.3 * ce
    assert float(distillation_loss(zs, zt, y, method)) == pytest.approx(expected, rel=1e-6)


def test_alpha_extremes() -> None:
    zs, zt, y = torch.tensor([0.3, -1.2]), torch.tensor([1.5, -0.4]), torch.tensor([1.0, 0.0])
    ce = torch.nn.functional.binary_cross_entropy_with_logits(zs, y)
    assert float(distillation_loss(zs, zt, y, Distillation(alpha=0.0))) == pytest.approx(float(ce))
    # alpha=1 with the student equal to the teacher: nothing left to learn.
    assert float(distillation_loss(zt, zt, y, Distillation(alpha=1.0))) == pytest.approx(0.0, abs=1e-7)


def test_distillation_config_errors() -> None:
    with pytest.raises(ConfigError, match=r"'temperature' parameter of Distillation must be a positive number\. Got 0"):
        Distillation(temperature=0)
    with pytest.raises(ConfigError, match=r"'alpha' parameter of Distillation must be a number in \[0, 1\]\. Got 1\.5"):
        Distillation(alpha=1.5)


def test_distill_imitates_teacher_and_leaves_inputs_alone() -> None:
    data = prepare(make_loans(500), target="defaulted")
    torch.manual_seed(0)
    teacher = TabularMLP(data.x_train.shape[1], (32,), dropout=0.0).eval()
    student = TabularMLP(data.x_train.shape[1], (4,), dropout=0.0)
    before = [p.clone() for p in student.parameters()]
    result = distill_from_teacher(teacher, student, Distillation(alpha=1.0, temperature=1.0), data=data,
                                  train=finlite.TrainConfig(epochs=150, patience=150, lr=1e-2, progress=False))
    assert all(torch.equal(a, b) for a, b in zip(before, student.parameters(), strict=True))
    x = torch.from_numpy(data.x_test)
    gap_after = (result.model.predict_proba(x) - teacher.predict_proba(x)).abs().mean()
    gap_before = (student.predict_proba(x) - teacher.predict_proba(x)).abs().mean()
    assert gap_after < 0.5 * gap_before


def test_same_seed_same_metrics_different_seed_differs() -> None:
    frame = make_loans(400)
    a = finlite.train(frame, target="defaulted", hidden=(16,), seed=1, config=FAST)
    b = finlite.train(frame, target="defaulted", hidden=(16,), seed=1, config=FAST)
    c = finlite.train(frame, target="defaulted", hidden=(16,), seed=2, config=FAST)
    assert a.metrics == b.metrics
    assert all(torch.equal(p, q) for p, q in zip(a.model.parameters(), b.model.parameters(), strict=True))
    assert a.metrics["test"]["auc"] != c.metrics["test"]["auc"]


def test_train_config_errors() -> None:
    with pytest.raises(ConfigError, match=r"'epochs' parameter of TrainConfig must be a positive integer\. Got 0"):
        finlite.TrainConfig(epochs=0)
    with pytest.raises(ConfigError, match=r"'model' parameter of train must be one of \('mlp', 'logistic', 'lightgbm', 'xgboost'\)\. Got 'gbm'"):
        finlite.train(make_loans(50), target="defaulted", model="gbm")


def test_mask_step_zeroes_the_pruned_weights_after_every_step_as_apply_masks_does() -> None:
    from finlite.methods.distill import apply_masks, mask_step

    torch.manual_seed(0)
    model = TabularMLP(6, hidden=(4,))
    masks = {"layers.0.weight": (torch.rand(4, 6) > 0.5).float()}
    step = mask_step(model, masks)
    reference = TabularMLP(6, hidden=(4,))
    for _ in range(3):  # the optimiser moves the weights in place between steps
        with torch.no_grad():
            for param in model.parameters():
                param.add_(torch.randn_like(param))
        reference.load_state_dict(model.state_dict())
        step(model)
        apply_masks(reference, masks)
        weight = model.state_dict()["layers.0.weight"]
        assert torch.equal(weight, reference.state_dict()["layers.0.weight"])
        assert torch.all(weight[masks["layers.0.weight"] == 0] == 0)
        assert torch.count_nonzero(weight) == torch.count_nonzero(masks["layers.0.weight"])
    mask_step(model, {})(model)  # no masks: nothing to do
