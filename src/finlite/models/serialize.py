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
_MASK_SUFFIX = "::mask"
# The safetensors library keeps metadata in a hash map, so with two or more keys their order in
# the file header changes from one process to the next and two identical runs write different
# bytes. finlite writes one key holding canonical JSON (sorted keys); the two keys of artifacts
# written before that are still read.
_META_KEY = "finlite"
_SPARSE_KEY = "finlite.sparse"
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
    meta = json.dumps({"sparse": sparse, "storage": storage}, sort_keys=True, separators=(",", ":"))
    save_file(tensors, str(path), metadata={_META_KEY: meta})
    return counts


class _VerifiedBytes:
    """The part of ``safe_open``'s interface :func:`load_weights` uses, over bytes already hashed."""

    def __init__(self, data: bytes, path: str | Path) -> None:
        from safetensors.torch import load as load_bytes

        try:  # the safetensors header: 8 bytes of little-endian length, then JSON
            size = int.from_bytes(data[:8], "little")
            meta = json.loads(data[8:8 + size]).get("__metadata__") or {}
            self._tensors = load_bytes(data)
        except Exception as exc:  # noqa: BLE001 - any malformed content is the same error
            raise ArtifactError(f"{str(path)!r} is not a readable safetensors file ({exc}); save the model "
                                "again.") from None
        self._meta = meta

    def __enter__(self) -> _VerifiedBytes:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def metadata(self) -> dict[str, str]:
        return self._meta

    def keys(self) -> list[str]:
        return list(self._tensors)

    def get_tensor(self, key: str) -> torch.Tensor:
        return self._tensors[key]


def load_weights(model_config: Mapping[str, Any], path: str | Path, data: bytes | None = None) -> FinliteModel:
    """Rebuild a model from its config and a safetensors file written by :func:`save_weights`.

    ``data``, when given, is the file's content already read and verified (``path`` then only
    names it in messages): the model is built from exactly the bytes that were hashed.
    """
    model = build_model(dict(model_config))
    state: dict[str, torch.Tensor] = {}
    with (safe_open(str(path), framework="pt") if data is None else _VerifiedBytes(data, path)) as fh:
        sparse, storage = _read_meta(fh.metadata() or {}, path)
        for key in fh.keys():  # noqa: SIM118 - a safetensors handle has keys() but is not iterable
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


def _read_meta(meta: Mapping[str, str], path: str | Path) -> tuple[dict[str, list[int]], str]:
    """(sparse tensor shapes, storage) from the one-key metadata, or the two keys of older artifacts."""
    try:
        if _META_KEY in meta:
            doc = json.loads(meta[_META_KEY])
            sparse, storage = doc.get("sparse", {}), doc.get("storage", "float32")
        else:
            sparse, storage = json.loads(meta.get(_SPARSE_KEY, "{}")), meta.get(_STORAGE_KEY, "float32")
    except (json.JSONDecodeError, AttributeError) as exc:
        raise ArtifactError(f"The metadata of {str(path)!r} is not finlite's JSON ({exc}); save the model again.") from None
    if not isinstance(sparse, dict) or not isinstance(storage, str):
        raise ArtifactError(f"The metadata of {str(path)!r} is not finlite's JSON; save the model again.")
    return sparse, storage


def weights_nbytes(model: FinliteModel) -> int:
    """Bytes the model's weights take in an artifact (written to a scratch file and measured)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / WEIGHTS
        save_weights(model, path)
        return path.stat().st_size
