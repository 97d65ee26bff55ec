"""Method configs registered by name, so a recipe step ``{method: NAME, ...}`` and the Python
config object are the same thing and round-trip through plain data (no code runs on load)."""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

from finlite._util import closest
from finlite.errors import ConfigError

__all__ = ["method_from_dict", "method_name", "method_to_dict", "register_method", "registered_methods"]

_REGISTRY: dict[str, type] = {}
T = TypeVar("T")


def register_method(name: str):  # noqa: ANN201 - decorator factory
    """Class decorator: register a frozen config dataclass under ``name``."""
    def wrap(cls: type[T]) -> type[T]:
        if not dataclasses.is_dataclass(cls):
            raise TypeError(f"{cls.__name__} must be a dataclass to be registered")
        if name in _REGISTRY and _REGISTRY[name] is not cls:
            raise ConfigError(f"Method name {name!r} is already registered by {_REGISTRY[name].__name__}.")
        _REGISTRY[name] = cls
        cls.method = name  # type: ignore[attr-defined]
        return cls
    return wrap


def registered_methods() -> list[str]:
    """Names of every registered method, sorted."""
    return sorted(_REGISTRY)


def method_name(config: Any) -> str:
    """The registry name of a config object."""
    name = getattr(type(config), "method", None)
    if name not in _REGISTRY:
        raise ConfigError(f"{type(config).__name__} is not a registered finlite method config.")
    return name


def method_to_dict(config: Any) -> dict[str, Any]:
    """``{"method": name, **fields}`` with JSON-ready values."""
    out: dict[str, Any] = {"method": method_name(config)}
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        if isinstance(value, dict):
            value = dict(value)
        elif isinstance(value, tuple):
            value = list(value)  # YAML and JSON have lists, not tuples
        out[f.name] = value
    return out


def method_from_dict(data: dict[str, Any], where: str = "the step") -> Any:
    """Build a config from ``{"method": name, **fields}``; unknown names and fields are errors."""
    if not isinstance(data, dict) or "method" not in data:
        raise ConfigError(f"{where} must be a mapping with a 'method' key; got {data!r}.")
    name = data["method"]
    if name not in _REGISTRY:
        raise ConfigError(f"Unknown method {name!r} in {where}.{closest(str(name), _REGISTRY)} "
                          f"Known methods: {', '.join(registered_methods())}.")
    cls = _REGISTRY[name]
    allowed = {f.name for f in dataclasses.fields(cls)}
    params = {k: v for k, v in data.items() if k != "method"}
    for key in params:
        if key not in allowed:
            raise ConfigError(f"Unknown parameter {key!r} for method {name!r} in {where}.{closest(key, allowed)} "
                              f"Parameters: {', '.join(sorted(allowed))}.")
    try:
        return cls(**params)
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from exc
