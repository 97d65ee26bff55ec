"""The int8 fast path: uint8 activations with static scales, in the form ONNX Runtime fuses; int8
on disk; parity on German credit; gates that time the deployed ONNX model; int8 kept only where
it is faster. No timed assertions: structure, recorded fields and decisions from recorded numbers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from onnx import numpy_helper
from safetensors import safe_open

import finlite.recipe.gates as recipe_module
from finlite.data.prepared import PreparedData, prepare
from finlite.errors import ConfigError
from finlite.export.timing import deployed_latency
from finlite.jobs.export import export
from finlite.methods.quantize import StaticInt8, activation_range, finish_qat, prepare_qat, quantize
from finlite.models import TabularMLP
from finlite.models.quantized import Int8Linear, QuantizedMLP
from finlite.models.serialize import load_weights, save_weights
from finlite.recipe.presets import load_preset
from finlite.recipe.runner import run_recipe
from finlite.recipe.search import candidate_recipe
from finlite.recipe.spec import Recipe
from finlite.training.loop import TrainConfig

TINY = TrainConfig(epochs=2, patience=1, progress=False)


@pytest.fixture(scope="module")
def credit(german: Any) -> PreparedData:
    return prepare(german, target="creditability")


def _mlp(width: int, hidden: tuple[int, ...], **kw: Any) -> TabularMLP:
    torch.manual_seed(0)
    return TabularMLP(width, hidden, dropout=0.0, **kw).eval()


def _static(model: TabularMLP, x: np.ndarray) -> QuantizedMLP:
    q = quantize(model, StaticInt8(calibration="percentile"), calibration_x=x).model
    assert isinstance(q, QuantizedMLP)
    return q


def _optimized_ops(data: bytes, tmp_path: Path) -> list[str]:
    """The node types ONNX Runtime actually runs after its graph optimiser."""
    options = ort.SessionOptions()
    options.optimized_model_filepath = str(tmp_path / "optimized.onnx")
    options.log_severity_level = 3
    ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
    return [n.op_type for n in onnx.load(str(tmp_path / "optimized.onnx")).graph.node]


def test_exported_int8_graph_has_uint8_static_activations_and_parity_on_german_credit(
        credit: PreparedData, tmp_path: Path) -> None:
    model = _mlp(credit.x_train.shape[1], (32, 16))
    q = _static(model, credit.x_train)
    assert q.mode == "static_uint8"
    data, parity = export(q, credit.x_test, cutoff=0.5)
    assert parity.passed and parity.flips == 0 and parity.max_abs_diff < 1e-3
    graph = onnx.load_from_string(data).graph
    inits = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    ops = [n.op_type for n in graph.node]
    # No activation range is computed at run time: no dynamic quantization, no ReduceMax / Abs.
    assert not {"DynamicQuantizeLinear", "ReduceMax", "Abs"} & set(ops)
    quantizers = [n for n in graph.node if n.op_type == "QuantizeLinear"]
    assert len(quantizers) == 3  # one per layer
    for node, layer in zip(quantizers, [m for m in q.modules() if isinstance(m, Int8Linear)], strict=True):
        scale, zero = inits[node.input[1]], inits[node.input[2]]  # constants: static
        assert zero.dtype == np.uint8 and scale.dtype == np.float32 and scale.shape == ()
        assert float(scale) == pytest.approx(float(layer.input_scale)) and int(zero) == int(layer.input_zero_point)
    # Hidden layers after a ReLU quantize with zero point 0 (the ReLU's floor is the uint8 floor).
    assert [int(inits[n.input[2]]) for n in quantizers[1:]] == [0, 0]
    # Weights are int8 initializers; every matrix in the file is integer.
    matrices = [a for a in inits.values() if a.ndim == 2]
    assert matrices and all(a.dtype == np.int8 for a in matrices)
    last = next(n for n in graph.node if n.op_type == "MatMulInteger")
    producer = {o: n for n in graph.node for o in n.output}
    assert producer[last.input[0]].op_type == "QuantizeLinear" and inits[last.input[1]].dtype == np.int8
    # ONNX Runtime fuses the hidden layers into QGemm (uint8 × int8, requantized), drops the ReLUs.
    fused = _optimized_ops(data, tmp_path)
    assert fused.count("QGemm") == 2 and "Relu" not in fused and "MatMulInteger" in fused
    assert "Gemm" not in fused  # nothing left computing in float


def test_int8_weights_stay_int8_on_disk_and_reload_identically(credit: PreparedData, tmp_path: Path) -> None:
    q = _static(_mlp(credit.x_train.shape[1], (16,)), credit.x_train)
    save_weights(q, tmp_path / "q.safetensors")
    with safe_open(str(tmp_path / "q.safetensors"), framework="pt") as fh:
        names = fh.keys()  # a safe_open handle is not iterable itself
        tensors = {k: fh.get_tensor(k) for k in names}
    weights = {k: t for k, t in tensors.items() if k.endswith("weight_int8")}
    assert len(weights) == 2 and all(t.dtype == torch.int8 for t in weights.values())
    # 7-bit by default: exact in ONNX Runtime's uint8 × int8 kernels even without VNNI.
    assert max(int(t.abs().max()) for t in weights.values()) == 63
    wide = quantize(_mlp(credit.x_train.shape[1], (16,)), StaticInt8(weight_bits=8), calibration_x=credit.x_train).model
    assert max(int(m.weight_int8.abs().max()) for m in wide.modules() if isinstance(m, Int8Linear)) == 127
    assert all(t.dtype == torch.int32 for k, t in tensors.items() if k.endswith("input_zero_point"))
    assert not [k for k, t in tensors.items() if t.is_floating_point() and t.dim() == 2]
    again = load_weights(q.config(), tmp_path / "q.safetensors")
    x = torch.from_numpy(credit.x_test)
    assert torch.equal(again(x), q(x))


def test_uint8_layer_is_exact_integer_arithmetic() -> None:
    torch.manual_seed(0)
    linear = torch.nn.Linear(20, 5)
    layer = Int8Linear.from_float(linear, input_scale=0.03, zero_point=120)  # [-3.6, 4.05]
    x = torch.randn(7, 20)
    u = torch.clamp(torch.round(x / 0.03) + 120, 0, 255).to(torch.int64)
    acc = (u - 120) @ layer.weight_int8.to(torch.int64).t() + layer.bias_int32().to(torch.int64)
    expected = acc.float() * (torch.tensor(0.03) * layer.weight_scale)
    assert torch.equal(layer(x), expected)
    assert torch.allclose(layer(x), linear(x), atol=0.1)  # still close to the float layer
    with pytest.raises(ValueError, match="zero point in"):
        Int8Linear.from_float(linear, input_scale=0.02, zero_point=300)


def test_activation_ranges_put_relu_outputs_at_zero_point_zero() -> None:
    scale, zero = activation_range(np.abs(np.random.default_rng(0).normal(size=5000)), "minmax")
    assert zero == 0 and scale > 0
    values = np.random.default_rng(1).normal(size=5000)
    scale, zero = activation_range(values, "minmax")
    assert 0 < zero < 255 and scale * 255 == pytest.approx(values.max() - values.min(), rel=1e-5)
    lo_scale, _ = activation_range(np.concatenate([values, [80.0]]), "percentile", 99.9)
    assert lo_scale * 255 < 10  # the outlier is clipped, not stretched over the range


@pytest.mark.parametrize("kw", [{"activation": "gelu"}, {"ranks": [4, None, None]}])
def test_other_activations_and_low_rank_layers_keep_integer_products(credit: PreparedData, kw: dict[str, Any],
                                                                      tmp_path: Path) -> None:
    q = _static(_mlp(credit.x_train.shape[1], (24, 8), **kw), credit.x_train)
    data, parity = export(q, credit.x_test)
    assert parity.passed
    fused = _optimized_ops(data, tmp_path)
    assert "Gemm" not in fused and "MatMul" not in fused  # every product stays integer


def test_qat_converts_to_the_uint8_form(credit: PreparedData) -> None:
    model = _mlp(credit.x_train.shape[1], (16, 8))
    qat = prepare_qat(model, [0.05, 0.05, 0.05], momentum=0.1)
    q = finish_qat(qat)
    assert q.mode == "static_uint8"
    layers = [m for m in q.modules() if isinstance(m, Int8Linear)]
    assert [int(m.input_zero_point) for m in layers] == [128, 0, 0]  # raw input symmetric; ReLU outputs from 0
    assert export(q, credit.x_test)[1].passed


def test_latency_gate_times_the_deployed_onnx_model(credit: PreparedData) -> None:
    teacher = _mlp(credit.x_train.shape[1], (16,))
    recipe = Recipe.from_dict({"steps": [{"method": "static_int8", "require_faster": "both"}],
                               "gates": {"latency_p50_us": {"max": 1e9}}})
    result = run_recipe(recipe, credit, teacher, cutoff=0.5, seed=0, train=TINY, fine_tune=TINY, teacher_bytes=1000)
    record = result.records[0]
    assert record.metrics["timed"] == "onnx" and record.metrics["rows_per_second"] > 0
    assert [g.metric for g in record.gates] == ["latency_p50_us", "speedup_batch1", "speedup_batch"]
    timing = record.info["timing"]
    for variant in ("float", "int8"):  # both timings recorded, both of the ONNX models
        assert timing[variant]["timed"] == "onnx" and timing[variant]["latency_p50_us"] > 0
    before, after = timing["float"], timing["int8"]
    assert timing["speedup_batch1"] == pytest.approx(before["latency_p50_us"] / after["latency_p50_us"])
    assert timing["speedup_batch"] == pytest.approx(after["rows_per_second"] / before["rows_per_second"])
    faster = timing["speedup_batch1"] >= 1 and timing["speedup_batch"] >= 1
    assert record.status == ("kept" if faster else "rolled_back")  # decided by what was measured
    assert (result.model is not None and result.model.kind == "mlp_int8") == faster


def _fake_timings(float_p50: float, int8_p50: float, float_rps: float, int8_rps: float) -> Any:
    def fake(models: list[Any], x: np.ndarray, **_: Any) -> list[dict[str, Any]]:
        assert [m.kind for m in models] == ["mlp", "mlp_int8"]  # the float model first, then its int8 form
        return [{"latency_p50_us": float_p50, "latency_p99_us": float_p50, "rows_per_second": float_rps,
                 "batch": 16_384, "timed": "onnx"},
                {"latency_p50_us": int8_p50, "latency_p99_us": int8_p50, "rows_per_second": int8_rps,
                 "batch": 16_384, "timed": "onnx"}]
    return fake


def test_slower_int8_step_is_rolled_back_with_the_reason(credit: PreparedData, monkeypatch: pytest.MonkeyPatch) -> None:
    teacher = _mlp(credit.x_train.shape[1], (16,))
    recipe = Recipe.from_dict({"steps": [{"method": "static_int8", "require_faster": "both"}]})
    common = {"cutoff": 0.5, "seed": 0, "train": TINY, "fine_tune": TINY, "teacher_bytes": 1000}
    # Slower at batch 1 (as tiny students are), faster in a batch: "both" rolls it back.
    monkeypatch.setattr(recipe_module, "deployed_latency", _fake_timings(6.0, 9.0, 4e6, 9e6))
    result = run_recipe(recipe, credit, teacher, **common)
    record = result.records[0]
    assert record.status == "rolled_back" and result.model is None
    failed = record.failed_gates
    assert [g.metric for g in failed] == ["speedup_batch1"]
    assert failed[0].value == pytest.approx(6.0 / 9.0) and "speedup_batch1 0.666667 < min 1" in failed[0].message
    timing = record.info["timing"]
    assert timing["float"]["latency_p50_us"] == 6.0 and timing["int8"]["latency_p50_us"] == 9.0
    # The same numbers with the batch rule keep it.
    batch_only = Recipe.from_dict({"steps": [{"method": "static_int8", "require_faster": "batch"}]})
    kept = run_recipe(batch_only, credit, teacher, **common)
    assert kept.records[0].status == "kept" and kept.model is not None and kept.model.kind == "mlp_int8"
    # Without a rule the step is not timed at all.
    monkeypatch.setattr(recipe_module, "deployed_latency", lambda *a, **k: pytest.fail("timed without a rule"))
    plain = run_recipe(Recipe.from_dict({"steps": [{"method": "static_int8"}]}), credit, teacher, **common)
    assert plain.records[0].status == "kept" and "timing" not in plain.records[0].info


def test_presets_and_search_use_the_fast_form_and_rules_are_checked(credit: PreparedData) -> None:
    step = load_preset("balanced").steps[-1].method
    assert isinstance(step, StaticInt8) and step.require_faster == "both"
    int8 = candidate_recipe((8,), 2.0, 0.0, 8, []).steps[-1].method
    assert isinstance(int8, StaticInt8)
    with pytest.raises(ConfigError, match="require_faster"):
        Recipe.from_dict({"steps": [{"method": "static_int8", "require_faster": "sometimes"}]})
    with pytest.raises(ConfigError, match=r"weight_bits.*7 .*or 8"):
        Recipe.from_dict({"steps": [{"method": "qat", "weight_bits": 4}]})
    # deployed_latency times the models' ONNX exports, each with its own session.
    model = _mlp(credit.x_train.shape[1], (8,))
    timed = deployed_latency([model, _static(model, credit.x_train)], credit.x_val, repeats=20, batch_rows=256)
    assert [t["timed"] for t in timed] == ["onnx", "onnx"] and all(t["batch"] == 256 for t in timed)
