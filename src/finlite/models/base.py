"""What every finlite torch model offers: logits of the positive class and a rebuildable config."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from finlite._util import closest
from finlite.errors import ConfigError, FinliteError

__all__ = ["FORWARD_ROWS", "FinliteModel", "build_model", "forward_rows", "register_model", "registered_models"]

#: The most rows per forward pass when a whole split is scored (validation after every epoch).
#: One pass over SBA's 179,434 validation loans writes hidden activations of tens of MB that
#: miss the cache; 2,048 rows at a time keep them in it. Measured on one thread (training
#: runs on one): a (128, 64) MLP in 127 ms instead of 345 ms, a (256, 128) one in 311 ms instead
#: of 834, with the same outputs to the bit in both.
FORWARD_ROWS = 2048
# A last piece shorter than this joins the one before it (see forward_rows).
_LEAST_PIECE = 64

_MODELS: dict[str, type[FinliteModel]] = {}


class FinliteModel(nn.Module):
    """Base class: ``forward(x)`` returns one logit per row (P(positive) = sigmoid(logit)).

    Subclasses set ``kind`` and implement :meth:`config`, from which :func:`build_model`
    rebuilds an identical architecture; weights travel separately (safetensors).
    """

    kind: str = ""
    #: Whether :func:`forward_rows` may score this model's rows in pieces (rows scored
    #: independently in evaluation mode, as in every torch network here); False where one pass
    #: is faster, as for a boosted ensemble.
    score_in_pieces: bool = True
    #: How float tensors are written to disk: "float32", or "float16" after fp16 quantization.
    weight_storage: str = "float32"

    def config(self) -> dict[str, Any]:
        """The architecture as JSON-ready data, including ``kind``."""
        raise NotImplementedError(f"{type(self).__name__} must define config()")

    def linear_layers(self) -> list[tuple[str, nn.Linear]]:
        """The Linear layers in forward order, with their parameter-name prefixes."""
        return [(name, m) for name, m in self.named_modules() if isinstance(m, nn.Linear)]

    @torch.inference_mode()
    def predict_proba(self, x: torch.Tensor) -> torch.Tensor:
        """P(positive) for each row, in evaluation mode."""
        was_training = self.training
        self.eval()
        try:
            return torch.sigmoid(self(x))
        finally:
            self.train(was_training)


def forward_rows(model: nn.Module, x: torch.Tensor, rows: int = FORWARD_ROWS) -> torch.Tensor:
    """``model(x)`` computed in pieces of ``rows`` rows, concatenated in order.

    For a network in evaluation mode, whose rows do not interact (every finlite torch network: an
    MLP, a recurrent, convolutional or attention forecaster over each row's own window), this is
    one pass's result, faster on large inputs on one thread (:data:`FORWARD_ROWS`). Pieces start
    at multiples of ``rows`` (a power of two keeps every row where the matrix kernels' blocks put
    it in one pass), and a last piece of fewer than :data:`_LEAST_PIECE` rows joins the one before
    it (a piece of 1-3 rows takes another kernel); measured here, the outputs are then one pass's
    to the bit, which no library promises. Up to ``rows`` rows, and for a model with
    ``score_in_pieces`` False (a boosted ensemble, whose library is fastest given every row at
    once), it is one pass. Training scores its validation split this way after every epoch.
    """
    if rows < 1:
        raise ValueError(f"forward_rows: rows must be at least 1, got {rows}")
    n = len(x)
    if n <= rows or not getattr(model, "score_in_pieces", True):
        out: torch.Tensor = model(x)
        return out
    starts = list(range(0, n, rows))
    if len(starts) > 1 and n - starts[-1] < _LEAST_PIECE:
        starts.pop()
    ends = [*starts[1:], n]
    return torch.cat([model(x[a:b]) for a, b in zip(starts, ends, strict=True)])


def register_model(cls: type[FinliteModel]) -> type[FinliteModel]:
    """Class decorator: make ``cls`` rebuildable from its config by :func:`build_model`."""
    _MODELS[cls.kind] = cls
    return cls


def registered_models() -> dict[str, type[FinliteModel]]:
    """Every model kind that :func:`build_model` rebuilds, with its class (a copy)."""
    return dict(_MODELS)


def build_model(config: dict[str, Any]) -> FinliteModel:
    """Rebuild a model (with fresh weights) from :meth:`FinliteModel.config` output."""
    kind = config.get("kind")
    if kind not in _MODELS:
        raise ConfigError(f"Unknown model kind {kind!r}.{closest(str(kind), _MODELS)} Known: {', '.join(sorted(_MODELS))}.")
    params = {k: v for k, v in config.items() if k != "kind"}
    try:
        return _MODELS[kind](**params)
    except FinliteError:
        raise
    except (TypeError, ValueError, OverflowError, RuntimeError) as exc:
        # A config read from a manifest is untrusted: a width of "a" or 1e400 is its error, not a traceback.
        raise ConfigError(f"Model config for kind {kind!r} is invalid: {exc}.") from exc
