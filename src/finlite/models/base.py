"""What every finlite torch model offers: logits of the positive class and a rebuildable config."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from finlite._util import closest
from finlite.errors import ConfigError, FinliteError

__all__ = ["FinliteModel", "build_model", "register_model", "registered_models"]

_MODELS: dict[str, type[FinliteModel]] = {}


class FinliteModel(nn.Module):
    """Base class: ``forward(x)`` returns one logit per row (P(positive) = sigmoid(logit)).

    Subclasses set ``kind`` and implement :meth:`config`, from which :func:`build_model`
    rebuilds an identical architecture; weights travel separately (safetensors).
    """

    kind: str = ""
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
