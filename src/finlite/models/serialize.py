"""Model weights on disk: safetensors, with sparse tensors stored as a bit mask plus non-zeros."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from finlite.errors import ArtifactError
from finlite.models.base import FinliteModel, build_model

__all__ = ["WEIGHTS", "load_weights", "save_weights", "weights_nbytes"]

WEIGHTS = "weights.safetensors"
_SPARSE_KEY = "finlite.sparse"
_MASK_SUFFIX = "::mask"
_STORAGE_KEY = "finlite.storage"


def save_weights(model: FinliteModel, path: str | Path) -> dict[str, int]:
    """Write a model's tensors to safetensors, sparse ones compactly.

    A tensor is stored as a packed bit mask plus its non-zero values whenever that takes fewer
    bytes than the dense tensor (for float32, below about 97 % density). A model whose
    ``weight_storage`` is "float16" has its float tensors written as float16. Integer tensors
    (int8 weights) are written as they are. Returns ``{tensor name: non-zeros}`` for the
    tensors stored sparsely.
    """
    storage = getattr(model, "weight_storage", "float32")
    tensors: dict[str, torch.Tensor] = {}
    sparse: dict[str, list[int]] = {}
    counts: dict[str, int] = {}
    for name, tensor in model.state_dict().items():
        t = tensor.detach().contiguous().cpu()
        if storage == "float16" and t.is_floating_point():
            t = t.half()
        flat = t.flatten()
        nonzero = flat != 0
        nnz = int(nonzero.sum())
        compact = (flat.numel() + 7) // 8 + nnz * flat.element_size()
        if t.is_floating_point() and compact < flat.numel() * flat.element_size():
            bits = np.packbits(nonzero.numpy())
            tensors[name] = flat[nonzero].clone()
            tensors[name + _MASK_SUFFIX] = torch.from_numpy(bits)
            sparse[name] = list(t.shape)
            counts[name] = nnz
        else:
            tensors[name] = t.clone()
    save_file(tensors, str(path), metadata={_SPARSE_KEY: json.dumps(sparse, sort_keys=True), _STORAGE_KEY: storage})
    return counts


def load_weights(model_config: Mapping[str, Any], path: str | Path) -> FinliteModel:
    """Rebuild a model from its config and a safetensors file written by :func:`save_weights`."""
    model = build_model(dict(model_config))
    state: dict[str, torch.Tensor] = {}
    with safe_open(str(path), framework="pt") as fh:
        meta = fh.metadata() or {}
        sparse = json.loads(meta.get(_SPARSE_KEY, "{}"))
        storage = meta.get(_STORAGE_KEY, "float32")
        for key in fh.keys():
            if key.endswith(_MASK_SUFFIX):
                continue
            tensor = fh.get_tensor(key)
            if key in sparse:
                shape = sparse[key]
                n = int(np.prod(shape))
                mask = np.unpackbits(fh.get_tensor(key + _MASK_SUFFIX).numpy(), count=n).astype(bool)
                dense = torch.zeros(n, dtype=tensor.dtype)
                dense[torch.from_numpy(mask)] = tensor
                tensor = dense.reshape(tuple(shape))
            if tensor.dtype == torch.float16:
                tensor = tensor.float()  # stored as float16, computed in float32
            state[key] = tensor
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        raise ArtifactError(f"Weights in {str(path)!r} do not fit the model config: {exc}") from exc
    if storage != "float32":
        model.weight_storage = storage
    model.eval()
    return model


def weights_nbytes(model: FinliteModel) -> int:
    """Bytes the model's weights take in an artifact (written to a scratch file and measured)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / WEIGHTS
        save_weights(model, path)
        return path.stat().st_size
