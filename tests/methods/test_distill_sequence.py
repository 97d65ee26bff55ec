"""Distillation into window students (an MLP over the window, a TCN, a GRU) through the recipe
runner, from a GRU teacher on windows of an AR(2) series, with a forecasting gate."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from finlite.data.prepared import SplitArrays
from finlite.errors import ConfigError
from finlite.methods.distill import RegressionDistillation, make_student
from finlite.models import QuantizedWindowMLP, SequenceModel, TemporalConvNet, WindowMLP
from finlite.models.serialize import weights_nbytes
from finlite.recipe.runner import run_recipe
from finlite.recipe.spec import Recipe
from finlite.training.loop import TrainConfig, fit
from tests.conftest import ar2_windows

TRAIN = TrainConfig(epochs=25, patience=6, lr=5e-3, batch_size=64, progress=False)
TUNE = TrainConfig(epochs=5, patience=3, lr=2e-3, batch_size=64, progress=False)


@pytest.fixture(scope="module")
def gru_teacher() -> tuple[SplitArrays, SequenceModel]:
    x, y = ar2_windows(steps=16)
    data = SplitArrays(x[:450], y[:450], x[450:575], y[450:575], x[575:], y[575:], task="regression")
    torch.manual_seed(0)
    teacher = SequenceModel("gru", 1, [24])
    fit(teacher, {"x": torch.from_numpy(data.x_train), "y": torch.from_numpy(data.y_train)},
        lambda out, b: torch.nn.functional.mse_loss(out, b["y"]),
        lambda m: -float(torch.nn.functional.mse_loss(m(torch.from_numpy(data.x_val)),
                                                      torch.from_numpy(data.y_val)).detach()), TRAIN)
    return data, teacher.eval()


def _rmse(model: torch.nn.Module, x: np.ndarray, y: np.ndarray) -> float:
    with torch.inference_mode():
        model.eval()
        return float(np.sqrt(np.mean((model(torch.from_numpy(x)).numpy() - y) ** 2)))


@pytest.mark.slow
def test_a_gru_teacher_distils_into_window_mlp_and_tcn_students_through_the_runner(
        gru_teacher: tuple[SplitArrays, SequenceModel]) -> None:
    data, teacher = gru_teacher
    teacher_rmse = _rmse(teacher, data.x_test, data.y_test)
    assert teacher_rmse < 0.6  # it learned the series: the noise alone is 0.5, the series' own sd ≈ 0.6
    gates = {"rmse": {"max_increase": 0.05}}
    for student, hidden, extra, kind in [
        ("mlp", [16], [{"method": "dynamic_int8"}], "window_mlp_int8"),
        ("tcn", [8, 8], [{"method": "magnitude_pruning", "sparsity": 0.5, "granularity": "neuron"}], "tcn"),
    ]:
        recipe = Recipe.from_dict({"steps": [{"method": "regression_distillation", "student": student,
                                              "hidden": hidden, "alpha": 0.9}, *extra], "gates": gates})
        result = run_recipe(recipe, data, teacher, cutoff=None, seed=0, train=TRAIN, fine_tune=TUNE,
                            teacher_bytes=weights_nbytes(teacher))
        assert [r.status for r in result.records] == ["kept", "kept"], [r.to_dict() for r in result.records]
        distilled = result.records[0]
        assert distilled.info["student"]["kind"] == ("window_mlp" if student == "mlp" else "tcn")
        assert distilled.info["student"]["task"] == "regression"
        assert distilled.gates[0].metric == "rmse" and distilled.gates[0].passed
        model = result.model
        assert model is not None and model.kind == kind
        if kind == "tcn":
            assert isinstance(model, TemporalConvNet) and model.channels == [4, 4]
        else:
            assert isinstance(model, QuantizedWindowMLP) and model.window == 16
        # The gate held on the validation split; the test split agrees.
        assert _rmse(model, data.x_test, data.y_test) < teacher_rmse + 0.05


def test_window_data_get_window_students_of_the_data_task() -> None:
    gru = make_student(RegressionDistillation(student="gru", hidden=(8, 4)), 3, window=12, task="classification")
    assert isinstance(gru, SequenceModel) and gru.hidden == [8, 4] and gru.task == "classification"
    mlp = make_student(RegressionDistillation(hidden=(8,)), 3, window=12, task="regression")
    assert isinstance(mlp, WindowMLP) and mlp.config()["window"] == 12 and mlp.hidden == (8,)
    linear = make_student(RegressionDistillation(student="logistic"), 3, window=12)
    assert isinstance(linear, WindowMLP) and linear.hidden == () and len(linear.layers) == 1
    tcn = make_student(RegressionDistillation(student="tcn", hidden=(6, 6)), 3, window=12)
    assert isinstance(tcn, TemporalConvNet) and tcn.channels == [6, 6]
    with pytest.raises(ConfigError, match=r"A 'tcn' student reads windows of a series .*these data are a table"):
        make_student(RegressionDistillation(student="tcn"), 3)
    with pytest.raises(ConfigError, match=r"'student' parameter of RegressionDistillation must be one of"):
        RegressionDistillation(student="transformer")  # type: ignore[arg-type]


def test_windows_get_a_transfer_set_of_jittered_or_mixed_windows(gru_teacher: tuple[SplitArrays, SequenceModel]) -> None:
    from finlite.methods.targets import TransferSet, distill_data, teacher_logits

    data, teacher = gru_teacher
    for kind in ("perturb", "mixup"):
        plan = TransferSet.for_windows(data.x_train, kind=kind, size=2, noise=0.5, seed=3)
        windows = plan.materialise()
        assert windows.shape == (900, *data.x_train.shape[1:]) and windows.dtype == np.float32
        np.testing.assert_array_equal(plan.rows(np.array([5, 7])), windows[[5, 7]])
        assert not np.allclose(windows, data.x_train[plan.a])  # not copies of the training windows
    base = distill_data(data, lambda x: teacher_logits(teacher, x), transfer="perturb", transfer_size=1.0,
                        transfer_noise=0.2, seed=0)
    assert base.n_synthetic == 450 and len(base.t_transfer) == 450
    rows = base.source()
    batch = rows.batch(torch.tensor([0, 449, 450, 899]))  # real and synthetic windows in one batch
    assert batch["x"].shape == (4, *data.x_train.shape[1:])
    assert batch["w"].tolist() == [1.0, 1.0, 0.0, 0.0]
    with torch.inference_mode():  # the teacher labelled the synthetic windows
        np.testing.assert_allclose(teacher(batch["x"][2:]).numpy(), batch["t"][2:].numpy(), rtol=1e-5, atol=1e-6)


def test_relative_weighting_counts_an_error_relative_to_the_teachers_output() -> None:
    from finlite.methods.distill import regression_distillation_loss

    teacher = torch.tensor([0.05, 2.0])
    near_zero_miss = torch.tensor([-0.05, 2.0])  # a sign flip where the teacher is near zero
    far_miss = torch.tensor([0.05, 1.9])  # the same error, where the teacher is far from zero
    y = torch.zeros(2)
    uniform = RegressionDistillation(alpha=1.0, loss="mse")
    relative = RegressionDistillation(alpha=1.0, loss="mse", weighting="relative", weighting_floor=0.1)
    assert float(regression_distillation_loss(near_zero_miss, teacher, y, uniform, "regression")) == pytest.approx(
        float(regression_distillation_loss(far_miss, teacher, y, uniform, "regression")))
    near = float(regression_distillation_loss(near_zero_miss, teacher, y, relative, "regression"))
    far = float(regression_distillation_loss(far_miss, teacher, y, relative, "regression"))
    assert near > 10 * far
    # weights 1/(|t| + floor), normalised: (1/0.15 * 0.01) / (1/0.15 + 1/2.1)
    assert near == pytest.approx((0.01 / 0.15) / (1 / 0.15 + 1 / 2.1), rel=1e-5)
    with pytest.raises(ConfigError, match="weighting"):
        RegressionDistillation(weighting="inverse")
    with pytest.raises(ConfigError, match="weighting_floor"):
        RegressionDistillation(weighting="relative", weighting_floor=0.0)
    assert RegressionDistillation.from_dict(relative.to_dict()) == relative


def test_a_jittered_transfer_set_that_would_not_fit_in_memory_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    from finlite import _limits
    from finlite.methods.targets import TransferSet

    windows = np.zeros((1000, 30, 12), dtype=np.float32)
    monkeypatch.setattr(_limits, "available_memory", lambda: 1 << 20)  # 1 MiB free
    with pytest.raises(ConfigError, match=r"10 jittered copies of 1,000 windows of 360 values.*lower transfer_size"):
        TransferSet.for_windows(windows, kind="perturb", size=10, noise=0.5, seed=0)
    assert len(TransferSet.for_windows(windows, kind="mixup", size=10, noise=0.5, seed=0)) == 10_000  # no jitter
