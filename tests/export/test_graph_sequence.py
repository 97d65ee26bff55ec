"""ONNX export of the window forecasters: each graph matches its torch model on random windows."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import onnx
import pytest
import torch

from finlite.export.graph import registered_exporters, to_onnx
from finlite.export.parity import check_parity, onnx_session, run_onnx
from finlite.methods.quantize import DynamicInt8, Fp16Weights, StaticInt8, quantize
from finlite.models import (
    FinliteModel,
    QuantizedWindowMLP,
    SequenceModel,
    TemporalConvNet,
    TransformerForecaster,
    WindowMLP,
)

WINDOW, FEATURES = 20, 4

MAKERS: dict[str, Callable[[str], FinliteModel]] = {
    "tcn": lambda task: TemporalConvNet(FEATURES, channels=(16, 8, 8), kernel_size=3, task=task),
    "transformer": lambda task: TransformerForecaster(FEATURES, WINDOW, d_model=16, heads=4, layers=2, ff=32,
                                                      task=task),
    "window_mlp": lambda task: WindowMLP(WINDOW, FEATURES, hidden=(32, 16), task=task),
    "lstm": lambda task: SequenceModel("lstm", FEATURES, [16, 8], task=task),
    "gru": lambda task: SequenceModel("gru", FEATURES, [16, 8], task=task),
}


def _windows(rows: int = 256, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(rows, WINDOW, FEATURES)).astype(np.float32)


def _exported(model: FinliteModel, x: np.ndarray) -> tuple[np.ndarray, onnx.ModelProto]:
    proto = to_onnx(model)
    session = onnx_session(proto.SerializeToString())
    output = "prediction" if getattr(model, "task", None) == "regression" else "probability"
    return run_onnx(session, x, output), proto


def _reference(model: FinliteModel, x: np.ndarray) -> np.ndarray:
    with torch.inference_mode():
        model.eval()
        out = model(torch.from_numpy(x)).numpy().astype(np.float64)
    return out if getattr(model, "task", None) == "regression" else 1.0 / (1.0 + np.exp(-out))


@pytest.mark.parametrize("task", ["regression", "classification"])
@pytest.mark.parametrize("kind", sorted(MAKERS))
def test_every_forecaster_exports_with_parity(kind: str, task: str) -> None:
    torch.manual_seed(0)
    model = MAKERS[kind](task).eval()
    x = _windows()
    got, proto = _exported(model, x)
    ref = _reference(model, x)
    parity = check_parity(ref, got, cutoff=None if task == "regression" else 0.5, tolerance=1e-4)
    assert parity.passed, parity.problems
    assert parity.max_abs_diff < 1e-4 and parity.flips == 0
    assert [o.name for o in proto.graph.output] == (["prediction"] if task == "regression"
                                                    else ["probability", "logit"])
    dims = proto.graph.input[0].type.tensor_type.shape.dim
    assert dims[-1].dim_value == FEATURES and len(dims) == 3
    if kind in ("transformer", "window_mlp"):  # a fixed window: the position embedding, the flattened width
        assert dims[1].dim_value == WINDOW


def test_the_graph_reads_the_same_rows_one_at_a_time() -> None:
    torch.manual_seed(1)
    model = MAKERS["transformer"]("regression").eval()
    x = _windows(rows=8)
    session = onnx_session(to_onnx(model).SerializeToString())
    batch = run_onnx(session, x, "prediction")
    single = np.concatenate([run_onnx(session, x[i:i + 1], "prediction") for i in range(len(x))])
    assert np.allclose(batch, single, atol=1e-6)


@pytest.mark.parametrize("kind", ["tcn", "transformer"])
def test_float16_forecasters_export_their_stored_weights(kind: str) -> None:
    torch.manual_seed(2)
    half = quantize(MAKERS[kind]("regression").eval(), Fp16Weights()).model
    x = _windows()
    got, proto = _exported(half, x)
    assert np.abs(got - _reference(half, x)).max() < 1e-4
    stored = {init.data_type for init in proto.graph.initializer if init.name.startswith(("convs", "blocks"))}
    assert stored == {onnx.TensorProto.FLOAT16}


@pytest.mark.parametrize("method", [DynamicInt8(), StaticInt8(calibration="minmax", samples=128)],
                         ids=["dynamic", "static_uint8"])
def test_an_int8_window_mlp_stays_a_window_model_and_exports_with_parity(method: object) -> None:
    torch.manual_seed(3)
    model = MAKERS["window_mlp"]("regression").eval()
    x = _windows(seed=4)
    q = quantize(model, method, calibration_x=x[:128]).model  # type: ignore[arg-type]
    assert isinstance(q, QuantizedWindowMLP) and q.window == WINDOW and q.in_features == FEATURES
    got, _ = _exported(q, x)
    ref = _reference(q, x)
    assert np.abs(got - ref).max() < 1e-3  # int8: a rounding may differ in the last bit
    assert np.abs(ref - _reference(model, x)).max() < 0.05 * np.abs(_reference(model, x)).max() + 1e-3


def test_every_window_forecaster_class_has_an_exporter() -> None:
    exporters = registered_exporters()
    for cls in (TemporalConvNet, TransformerForecaster, WindowMLP, QuantizedWindowMLP):
        assert cls in exporters
