"""Weights files are untrusted: what a file's metadata says of a sparse tensor, and what the
manifest's config says of the model, are checked against each other before anything is allocated."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors.torch import load_file, save_file

from finlite.errors import ArtifactError, ConfigError
from finlite.methods import MagnitudePruning, prune
from finlite.models import TabularMLP
from finlite.models.base import build_model
from finlite.models.serialize import load_weights, save_weights


def sparse_file(tmp_path: Path) -> tuple[dict[str, Any], Path, dict[str, torch.Tensor], dict[str, Any]]:
    """A pruned model saved with sparse tensors: (config, path, tensors, metadata)."""
    torch.manual_seed(0)
    model = prune(TabularMLP(12, hidden=(32, 16)), MagnitudePruning(sparsity=0.8)).model
    path = tmp_path / "weights.safetensors"
    assert save_weights(model, path), "the pruned layers must be stored sparsely for these tests"
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as fh:
        meta = json.loads(fh.metadata()["finlite"])
    return model.config(), path, load_file(str(path)), meta


def forge(path: Path, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
    save_file(tensors, str(path), metadata={"finlite": json.dumps(meta)})


def test_the_sparse_file_round_trips(tmp_path: Path) -> None:
    config, path, _, _ = sparse_file(tmp_path)
    again = load_weights(config, path)
    assert sum(int((t == 0).sum()) for t in again.state_dict().values()) > 0


@pytest.mark.parametrize("shape", [[2**20, 2**20], [32, 13], [32], [32, "12"], [32.0, 12.0]])
def test_a_recorded_shape_that_is_not_the_models_is_refused_before_allocating(tmp_path: Path, shape: list[Any]) -> None:
    config, path, tensors, meta = sparse_file(tmp_path)
    name = next(iter(meta["sparse"]))
    meta["sparse"][name] = shape  # 2**40 elements: numpy would try to unpack a terabyte of mask bits
    forge(path, tensors, meta)
    with pytest.raises(ArtifactError, match=rf"Sparse tensor '{name}'.*records shape .* but the model's is"):
        load_weights(config, path)


def test_a_sparse_tensor_the_model_does_not_have_is_refused(tmp_path: Path) -> None:
    config, path, tensors, meta = sparse_file(tmp_path)
    name = next(iter(meta["sparse"]))
    tensors["extra"], tensors["extra::mask"] = tensors[name].clone(), tensors[name + "::mask"].clone()
    meta["sparse"]["extra"] = [2**31, 2**31]
    forge(path, tensors, meta)
    with pytest.raises(ArtifactError, match=r"Sparse tensor 'extra'.*is not a tensor of the model"):
        load_weights(config, path)


def test_a_mask_of_the_wrong_length_or_values_of_the_wrong_count_are_refused(tmp_path: Path) -> None:
    config, path, tensors, meta = sparse_file(tmp_path)
    name = next(iter(meta["sparse"]))
    short = dict(tensors)
    short[name + "::mask"] = tensors[name + "::mask"][:-3].clone()
    forge(path, short, meta)
    with pytest.raises(ArtifactError, match=rf"'{name}'.*has a mask of .* not 48 bytes"):
        load_weights(config, path)
    fewer = dict(tensors)
    fewer[name] = tensors[name][:-1].clone()
    forge(path, fewer, meta)
    with pytest.raises(ArtifactError, match=rf"'{name}'.*holds \d+ values for \d+ set mask bits"):
        load_weights(config, path)
    nomask = {k: v for k, v in tensors.items() if k != name + "::mask"}
    forge(path, nomask, meta)
    with pytest.raises(ArtifactError, match=rf"'{name}'.*has no mask"):
        load_weights(config, path)


def test_a_config_larger_than_its_weights_can_hold_is_refused_before_the_model_is_built(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config, path, _, _ = sparse_file(tmp_path)
    built: list[str] = []
    real = TabularMLP.__init__

    def spy(self: TabularMLP, *args: Any, **kwargs: Any) -> None:
        built.append(str(torch.get_default_device()))
        real(self, *args, **kwargs)

    monkeypatch.setattr(TabularMLP, "__init__", spy)
    # 20,000 × 20,000 float32 is 1.6 GB: a three-line edit of a manifest must not cost that.
    with pytest.raises(ArtifactError, match=r"describes 400,\d+,\d+ parameters, more than a weights file of \d+"):
        load_weights({**config, "hidden": [20_000, 20_000]}, path)
    assert built == ["meta"], "only the allocation-free probe may be built"


@pytest.mark.parametrize("hidden", [["64"], [2.5], [True], 64, {"a": 1}])
def test_a_width_that_is_not_a_whole_number_is_refused_not_converted(hidden: Any) -> None:
    with pytest.raises(ConfigError, match="'hidden' parameter of TabularMLP must be a list of positive integers"):
        build_model({"kind": "mlp", "in_features": 4, "hidden": hidden})


def test_any_other_failure_of_a_config_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="Model config for kind 'mlp' is invalid"):
        build_model({"kind": "mlp", "in_features": 4, "hidden": [4], "dropout": "x"})  # a TypeError
    with pytest.raises(ConfigError, match="Model config for kind 'sequence' is invalid: input_size"):
        build_model({"kind": "sequence", "cell": "lstm", "in_features": -3, "hidden": [4]})  # torch's ValueError


@pytest.mark.parametrize("dtype", [torch.bool, torch.float64, torch.int64])
def test_a_tensor_of_another_dtype_is_refused_not_cast(tmp_path: Path, dtype: torch.dtype) -> None:
    # load_state_dict casts silently: a teacher with bool weights scored every row 1.0.
    model = TabularMLP(4, hidden=(3,))
    tensors = {k: v.clone() for k, v in model.state_dict().items()}
    tensors["layers.0.weight"] = tensors["layers.0.weight"].to(dtype)
    path = tmp_path / "weights.safetensors"
    save_file(tensors, str(path), metadata={"finlite": json.dumps({"sparse": {}, "storage": "float32"})})
    with pytest.raises(ArtifactError, match=rf"Tensor 'layers.0.weight' .* holds {dtype} values; the model's are "
                                            "torch.float32"):
        load_weights(model.config(), path)


@pytest.mark.parametrize(("key", "value", "storage"), [("layers.1.bias", math.inf, "float32"),
                                                    ("layers.0.weight", -math.inf, "float32"),
                                                    ("layers.0.weight", math.nan, "float16")])
def test_a_tensor_that_is_not_finite_is_refused(tmp_path: Path, key: str, value: float, storage: str) -> None:
    """An infinite bias in a re-hashed artifact was loaded by every command: each applicant scored
    1.0 (or 0.0 for -inf), evaluate reported AUC 0.5 with exit 0, export wrote it to ONNX."""
    model = TabularMLP(4, hidden=(3,))
    tensors = {k: v.clone() for k, v in model.state_dict().items()}
    tensors[key].view(-1)[0] = value
    if storage == "float16":
        tensors = {k: v.half() for k, v in tensors.items()}
    path = tmp_path / "weights.safetensors"
    save_file(tensors, str(path), metadata={"finlite": json.dumps({"sparse": {}, "storage": storage})})
    with pytest.raises(ArtifactError, match=rf"Tensor '{re.escape(key)}' in .*weights\.safetensors' holds 1 value\(s\) "
                                            rf"that are not finite \(e\.g\. {value}\).*damaged or was altered"):
        load_weights(model.config(), path)


@pytest.mark.parametrize(("config", "message"), [
    ({"kind": "mlp", "in_features": 4, "hidden": [1] * 100_000}, "'hidden' parameter of TabularMLP must be at most 256"),
    ({"kind": "tcn", "in_features": 4, "channels": [2] * 1_000}, "'channels' parameter of TemporalConvNet must be a "
                                                                 "non-empty list of at most 256"),
    ({"kind": "transformer", "in_features": 4, "window": 5, "layers": 10**6},
     "'layers' parameter of TransformerForecaster must be at most 256"),
])
def test_a_config_of_absurd_depth_is_refused_before_any_layer_is_built(config: dict[str, Any], message: str) -> None:
    # A manifest is untrusted: 100,000 one-unit layers took minutes to build, even on the meta device.
    import finlite.models.temporal  # noqa: F401 - registers the forecasters

    with pytest.raises(ConfigError, match=message):
        build_model(config)


def _saved(model: torch.nn.Module, path: Path, version: int) -> tuple[int, dict[str, int]]:
    from finlite.models.serialize import weights_format

    with weights_format(version):
        sparse = save_weights(model, path)  # type: ignore[arg-type]
    return path.stat().st_size, sparse


# At 95 % the float file is the smaller: int8 weights carry a float scale per output channel.
@pytest.mark.parametrize("sparsity", [0.5, 0.8])
def test_a_pruned_int8_model_is_smaller_on_disk_than_the_pruned_float_one(tmp_path: Path, sparsity: float) -> None:
    """int8 weights were stored densely however sparse: an int8 model pruned to 80 % took more bytes
    than the float one (4,120 against 3,318 here), so quantizing a pruned student made it larger."""
    import numpy as np

    from finlite.methods.quantize import StaticInt8, quantize

    torch.manual_seed(0)
    pruned = prune(TabularMLP(61, hidden=(32, 16)), MagnitudePruning(sparsity=sparsity)).model
    int8 = quantize(pruned, StaticInt8(), calibration_x=np.random.default_rng(0).normal(size=(300, 61))
                    .astype(np.float32)).model
    float_bytes, _ = _saved(pruned, tmp_path / "float.safetensors", 2)
    old_bytes, old_sparse = _saved(int8, tmp_path / "old.safetensors", 1)
    new_bytes, new_sparse = _saved(int8, tmp_path / "new.safetensors", 2)
    assert not old_sparse and {"layers.0.weight_int8", "layers.1.weight_int8"} <= set(new_sparse)
    assert new_bytes < old_bytes and new_bytes < float_bytes
    for name in new_sparse:  # the counts recorded are the tensors' non-zeros
        assert new_sparse[name] == int((int8.state_dict()[name] != 0).sum())
    for path in (tmp_path / "old.safetensors", tmp_path / "new.safetensors"):
        again = load_weights(int8.config(), path)
        for name, tensor in int8.state_dict().items():
            assert torch.equal(again.state_dict()[name], tensor), name


def test_a_tensor_too_small_to_pay_for_its_mask_stays_dense(tmp_path: Path) -> None:
    """Stored sparsely, a small tensor's mask entry in the header cost more than its zeros saved (a
    scorecard's file grew from 1,146 to 1,184 bytes in a trial): format 2 counts the header."""
    model = TabularMLP(4, hidden=(2,))
    with torch.no_grad():
        model.layers[0].weight.copy_(torch.tensor([[0.5, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.25]]))
    old_bytes, old_sparse = _saved(model, tmp_path / "old.safetensors", 1)
    new_bytes, new_sparse = _saved(model, tmp_path / "new.safetensors", 2)
    assert "layers.0.weight" in old_sparse and not new_sparse  # 8 values, 6 zeros: the mask does not pay
    assert new_bytes < old_bytes


def test_an_unknown_weights_format_is_refused() -> None:
    from finlite.models.serialize import weights_format

    with pytest.raises(ArtifactError, match=r"Weights format 3 is not one this finlite writes \(1, 2\)"), \
            weights_format(3):
        pass
