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
