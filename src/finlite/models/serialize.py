"""Model weights on disk: safetensors, with sparse tensors stored as a bit mask plus non-zeros."""

from __future__ import annotations

import json
import math
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from finlite._manifest import WEIGHTS_FORMATS
from finlite._util import set_within
from finlite.errors import ArtifactError
from finlite.models.base import FinliteModel, build_model

__all__ = ["WEIGHTS", "WEIGHTS_FORMAT", "current_weights_format", "load_weights", "save_weights", "weights_format", "weights_nbytes"]

WEIGHTS = "weights.safetensors"
_MASK_SUFFIX = "::mask"
# The safetensors library keeps metadata in a hash map, so with two or more keys their order in
# the file header changes from one process to the next and two identical runs write different
# bytes. finlite writes one key holding canonical JSON (sorted keys); the two keys of artifacts
# written before that are still read.
_META_KEY = "finlite"
_SPARSE_KEY = "finlite.sparse"
_STORAGE_KEY = "finlite.storage"

#: How :func:`save_weights` chooses a tensor's form, recorded in the manifest as ``weights_format``.
#: 1 (artifacts before 2026-12-03; no key in their manifest): float tensors sparse whenever their
#: values and mask take fewer bytes than the dense tensor, integer tensors always dense, so an
#: int8 model pruned to 80 % was larger on disk than the float one. 2: every tensor sparse when
#: that saves bytes, its header entries counted too (a mask costs a header entry: a small tensor
#: "stored sparsely" grew the file).
WEIGHTS_FORMAT = WEIGHTS_FORMATS[-1]
_FORMAT: ContextVar[int] = ContextVar("finlite_weights_format", default=WEIGHTS_FORMAT)
# Bytes a sparse tensor's header entries cost beyond its name (twice: the mask's entry and the
# metadata's): dtype, shape and offsets of the mask, the shape in the metadata, JSON punctuation
# and the header's padding to 8 bytes. Measured: 96-104 bytes for a 15-character name, 2 x 15 +
# 66-74; a few bytes more here, so a tensor on the edge stays dense.
_SPARSE_HEADER_BYTES = 80


@contextmanager
def weights_format(version: int) -> Iterator[None]:
    """Within the block, :func:`save_weights` writes ``version``'s form (reproducing an artifact
    written in an earlier one gives its bytes again: ``finlite reproduce`` compares them)."""
    if version not in WEIGHTS_FORMATS:
        raise ArtifactError(f"Weights format {version!r} is not one this finlite writes {WEIGHTS_FORMATS}; the "
                            "artifact was made by a newer finlite or its manifest was altered.")
    with set_within(_FORMAT, version):
        yield


def current_weights_format() -> int:
    """The form :func:`save_weights` writes here (see :data:`WEIGHTS_FORMAT`)."""
    return _FORMAT.get()


def save_weights(model: FinliteModel, path: str | Path) -> dict[str, int]:
    """Write a model's tensors to safetensors, sparse ones compactly.

    A tensor is stored as a packed bit mask plus its non-zero values whenever that takes fewer
    bytes than the dense tensor, its extra header entries included (for a float32 weight of a
    few hundred values, below about 90 % density; for int8, below about 80 %). A model whose
    ``weight_storage`` is "float16" has its float tensors written as float16. In weights format 1
    (:func:`weights_format`) only float tensors were considered and headers not counted.
    Returns ``{tensor name: non-zeros}`` for the tensors stored sparsely.
    """
    version = _FORMAT.get()
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
        if version == 1:
            sparse_pays = t.is_floating_point() and compact < flat.numel() * flat.element_size()
        else:
            compact += 2 * len(name.encode()) + _SPARSE_HEADER_BYTES
            sparse_pays = t.dtype != torch.bool and compact < flat.numel() * flat.element_size()
        if sparse_pays:
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


#: Tensors that may hold ±inf (bin edges, whose outer bins are open-ended), by their last name part.
_OPEN_ENDED = frozenset({"edges"})


def load_weights(model_config: Mapping[str, Any], path: str | Path, data: bytes | None = None) -> FinliteModel:
    """Rebuild a model from its config and a safetensors file written by :func:`save_weights`.

    ``data``, when given, is the file's content already read and verified (``path`` then only
    names it in messages): the model is built from exactly the bytes that were hashed.
    """
    expected = _expected_shapes(model_config, len(data) if data is not None else Path(path).stat().st_size, path)
    model = build_model(dict(model_config))
    state: dict[str, torch.Tensor] = {}
    with (safe_open(str(path), framework="pt") if data is None else _VerifiedBytes(data, path)) as fh:
        sparse, storage = _read_meta(fh.metadata() or {}, path)
        for key in fh.keys():  # noqa: SIM118 - a safetensors handle has keys() but is not iterable
            if key.endswith(_MASK_SUFFIX):
                continue
            tensor = fh.get_tensor(key)
            if key in sparse:
                tensor = _densify(key, tensor, fh, sparse[key], expected, path)
            if tensor.dtype == torch.float16:
                tensor = tensor.float()  # stored as float16, computed in float32
            if key in expected and tensor.dtype != expected[key][1]:
                # load_state_dict would cast silently: bool weights scored every row 1.0.
                raise ArtifactError(f"Tensor {key!r} in {str(path)!r} holds {tensor.dtype} values; the model's are "
                                    f"{expected[key][1]}. The file does not belong to this model; save the model "
                                    "again.")
            # One infinite bias scored every applicant 1.0 (or 0.0), silently, on every path:
            # training never writes one (a non-finite loss stops it), so the file is damaged. Bin
            # edges are the exception: a scorecard's open-ended bins end at ±inf (never NaN).
            if tensor.is_floating_point():
                open_ended = key.rsplit(".", 1)[-1] in _OPEN_ENDED
                ok = ~torch.isnan(tensor) if open_ended else torch.isfinite(tensor)
            else:
                ok = None
            if ok is not None and not bool(ok.all()):
                bad = tensor[~ok]
                raise ArtifactError(f"Tensor {key!r} in {str(path)!r} holds {int(bad.numel()):,} value(s) that are not "
                                    f"finite (e.g. {float(bad.flatten()[0])}); the model would score every row alike "
                                    "or NaN. The file is damaged or was altered: save the model again.")
            state[key] = tensor
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        raise ArtifactError(f"Weights in {str(path)!r} do not fit the model config: {exc}") from exc
    if storage != "float32":
        model.weight_storage = storage
    model.eval()
    return model


def _expected_shapes(model_config: Mapping[str, Any], nbytes: int,
                     path: str | Path) -> dict[str, tuple[tuple[int, ...], torch.dtype]]:
    """The shape and dtype of every tensor the config's model holds, found before any weight is allocated.

    The model is built on torch's ``meta`` device, which records shapes and allocates nothing. A
    file that :func:`save_weights` wrote holds at least one bit per parameter (a sparse tensor's
    mask), so a config describing more parameters than ``8 * nbytes`` cannot be this file's and
    is refused before a hostile manifest's widths make the real model take gigabytes.
    """
    with torch.device("meta"):
        probe = build_model(dict(model_config))
    shapes = {name: (tuple(t.shape), t.dtype) for name, t in probe.state_dict().items()}
    params = sum(math.prod(shape) for shape, _ in shapes.values())
    if params > 8 * nbytes:
        raise ArtifactError(f"The model config for {str(path)!r} describes {params:,} parameters, more than a weights "
                            f"file of {nbytes:,} bytes can hold; the manifest does not belong to these weights. Save "
                            "the model again.")
    return shapes


def _densify(key: str, values: torch.Tensor, fh: Any, shape: Any,
             expected: Mapping[str, tuple[tuple[int, ...], torch.dtype]], path: str | Path) -> torch.Tensor:
    """A sparse tensor (its non-zeros plus a packed bit mask) as the dense tensor it stands for.

    Everything the file says of it is checked against the model before anything is allocated:
    the recorded shape must be the model's, the mask must have one bit per element, and the
    non-zeros must be as many as the mask's set bits. A file is untrusted, and its metadata
    alone must never size an allocation.
    """
    def refuse(why: str) -> ArtifactError:
        return ArtifactError(f"Sparse tensor {key!r} in {str(path)!r} {why}; the file is damaged or does not belong "
                             "to this model. Save the model again.")

    if key not in expected:
        raise refuse("is not a tensor of the model")
    want = expected[key][0]
    if (not isinstance(shape, list) or len(shape) != len(want)
            or any(type(d) is not int or d != w for d, w in zip(shape, want, strict=True))):
        raise refuse(f"records shape {shape!r}, but the model's is {list(want)}")
    n = math.prod(want)
    try:
        packed = fh.get_tensor(key + _MASK_SUFFIX)
    except Exception:  # noqa: BLE001 - safe_open and the verified-bytes reader differ in the error
        raise refuse("has no mask") from None
    if packed.dtype != torch.uint8 or packed.dim() != 1 or packed.numel() != (n + 7) // 8:
        raise refuse(f"has a mask of {packed.numel():,} {packed.dtype} values, not {(n + 7) // 8:,} bytes")
    mask = np.unpackbits(packed.numpy(), count=n).astype(bool)
    if values.dim() != 1 or values.numel() != int(mask.sum()):
        raise refuse(f"holds {values.numel():,} values for {int(mask.sum()):,} set mask bits")
    dense = torch.zeros(n, dtype=values.dtype)
    dense[torch.from_numpy(mask)] = values
    return dense.reshape(want)


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
