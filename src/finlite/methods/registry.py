"""Method configs registered by name, and the handlers that apply them, keyed by config type.

A recipe step ``{method: NAME, ...}`` and the Python config object are the same thing and
round-trip through plain data (no code runs on load): every method config is a
:class:`MethodConfig` (a frozen, keyword-only dataclass) registered under its name with
:func:`register_method`. The function that applies a config inside a recipe is registered for
its class with :func:`register_handler` (as torchao keys its handlers by config type), and the
recipe runner finds it with :func:`handler_for`; the runner knows no method family by name.

Adding a method is one config class, one handler and one registry line each::

    @register_method("scale_weights")
    @dataclass(frozen=True, kw_only=True)
    class ScaleWeights(MethodConfig):
        factor: float = 0.5

    @register_handler(ScaleWeights)
    def _apply(method: ScaleWeights, state: StepState, ctx: StepContext,
               train: Mapping[str, Any]) -> tuple[StepState, dict[str, Any]]:
        model = copy.deepcopy(state.need_model(method))  # a copy: the given state stays as it is
        scale_output_layer(model, method.factor)
        return StepState(model, dict(state.masks), state.plan, dict(state.extra_files)), {}
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Self, TypeVar

from finlite._util import closest
from finlite.errors import ConfigError

if TYPE_CHECKING:
    from finlite.methods.base import StepContext, StepState

__all__ = [
    "FORMAT_KEY",
    "Handler",
    "MethodConfig",
    "handler_for",
    "method_from_dict",
    "method_name",
    "method_to_dict",
    "register_handler",
    "register_method",
    "registered_handlers",
    "registered_methods",
    "temporary_method",
]

#: The key of a step's config format version in its plain-data form.
FORMAT_KEY = "format"
# Keys of the plain-data form that are not config fields.
_RESERVED = ("method", FORMAT_KEY)


@dataclass(frozen=True, kw_only=True)
class MethodConfig:
    """Base class of every method config: frozen, keyword-only, named in the registry.

    A subclass is a ``@dataclass(frozen=True, kw_only=True)`` whose fields are the method's
    parameters, validated in ``__post_init__`` with finlite's :class:`~finlite.errors.ConfigError`.
    :func:`register_method` sets :attr:`method`, the name recipes use.

    Plain data: :meth:`to_dict` writes ``{"method": name, "format": version, **fields}`` and
    :meth:`from_dict` reads it back. When a config's fields change (a parameter renamed, a
    default's meaning changed), the class raises :attr:`format_version` and overrides
    :meth:`upgrade` to turn older dicts into the new form, so recipes written before still load.
    A dict without ``format`` (a hand-written recipe, or one written before formats were
    recorded) is read as format 1, the first format.
    """

    #: The registry name (set by :func:`register_method`).
    method: ClassVar[str] = ""
    #: The version of this config's plain-data form that :meth:`to_dict` writes.
    format_version: ClassVar[int] = 1
    #: True for configs that train a student from the teacher: a kept step of such a method
    #: becomes the fine-tuning loss (:meth:`fine_tune_loss`) of the steps after it.
    is_distillation: ClassVar[bool] = False

    def fine_tune_loss(self) -> MethodConfig:
        """The distillation whose loss fine-tunes later steps after this one is kept (distillations only)."""
        raise ConfigError(f"{type(self).__name__} is not a distillation method; only a distillation's loss can "
                          "fine-tune later steps.")

    def to_dict(self) -> dict[str, Any]:
        """``{"method": name, "format": version, **fields}`` with JSON-ready values."""
        out: dict[str, Any] = {"method": method_name(self), FORMAT_KEY: type(self).format_version}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, Mapping):
                value = dict(value)
            elif isinstance(value, tuple):
                value = list(value)  # YAML and JSON have lists, not tuples
            out[f.name] = value
        return out

    @classmethod
    def upgrade(cls, params: dict[str, Any], version: int) -> dict[str, Any]:
        """Turn ``params`` written in format ``version`` (older than :attr:`format_version`) into
        the current form. Override when the format changes; the default changes nothing."""
        return params

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str = "the step") -> Self:
        """Build this config from its plain-data form (``method`` and ``format`` optional).

        Raises:
            ConfigError: the dict names another method, a format this finlite cannot read, or
                a parameter the config does not have; or a value fails the config's checks.
        """
        params = dict(data)
        name = params.pop("method", cls.method)
        if name != cls.method:
            raise ConfigError(f"{where} is a {name!r} step, not {cls.method!r}; read it with method_from_dict().")
        version = params.pop(FORMAT_KEY, 1)
        current = cls.format_version
        if isinstance(version, bool) or not isinstance(version, int) or not 1 <= version <= current:
            raise ConfigError(f"The 'format' of method {name!r} in {where} must be an integer from 1 to {current} "
                              f"(this finlite reads formats up to {current}); got {version!r}. Drop 'format' from a "
                              "hand-written step, or upgrade finlite to read a recipe written by a newer one.",
                              param=FORMAT_KEY)
        if version < current:
            params = cls.upgrade(params, version)
        allowed = {f.name for f in dataclasses.fields(cls)}
        for key in params:
            if key not in allowed:
                raise ConfigError(f"Unknown parameter {key!r} for method {name!r} in {where}."
                                  f"{closest(str(key), allowed)} Parameters: {', '.join(sorted(allowed))}.",
                                  param=str(key))
        try:
            return cls(**params)
        except ConfigError as exc:
            # ``param`` travels on: the recipe loader points at that key's own line with it.
            raise ConfigError(f"{where}: {exc}", param=exc.param) from exc


C = TypeVar("C", bound=MethodConfig)
_REGISTRY: dict[str, type[MethodConfig]] = {}

#: How a handler applies one config inside a recipe: ``handler(method, state, ctx, train)``
#: returns the new state and the step's info (recorded as is). ``state`` is the model so far
#: (never changed: the handler works on copies), ``ctx`` what every step reads (data, teacher
#: outputs, the fine-tuning loss, the seed) and ``train`` the step's ``train:`` overrides
#: (apply them with :meth:`~finlite.methods.base.StepContext.training` or
#: :meth:`~finlite.methods.base.StepContext.fine_tuning`).
Handler = Callable[[Any, "StepState", "StepContext", Mapping[str, Any]], "tuple[StepState, dict[str, Any]]"]
_HANDLERS: dict[type[MethodConfig], Handler] = {}


def register_method(name: str) -> Callable[[type[C]], type[C]]:
    """Class decorator: register a :class:`MethodConfig` subclass under ``name`` (the recipe name).

    Raises:
        ConfigError: the class is not a frozen, keyword-only MethodConfig dataclass, or the name
            is taken by another class.
    """
    def wrap(cls: type[C]) -> type[C]:
        params = getattr(cls, "__dataclass_params__", None)
        if not (isinstance(cls, type) and issubclass(cls, MethodConfig) and "__dataclass_fields__" in vars(cls)
                and params is not None and params.frozen
                and all(f.kw_only for f in dataclasses.fields(cls))):
            raise ConfigError(f"{getattr(cls, '__name__', cls)!r} cannot be registered as method {name!r}: a method "
                              "config is a MethodConfig subclass decorated @dataclass(frozen=True, kw_only=True).")
        reserved = [f.name for f in dataclasses.fields(cls) if f.name in _RESERVED]
        if reserved:
            raise ConfigError(f"{cls.__name__} cannot be registered as method {name!r}: its field {reserved[0]!r} "
                              f"clashes with a key of the plain-data form ({', '.join(_RESERVED)}); rename the field.")
        if name in _REGISTRY and _REGISTRY[name] is not cls:
            raise ConfigError(f"Method name {name!r} is already registered by {_REGISTRY[name].__name__}; choose "
                              "another name.")
        _REGISTRY[name] = cls
        cls.method = name
        return cls
    return wrap


def register_handler(*config_types: type[MethodConfig]) -> Callable[[Handler], Handler]:
    """Decorator: ``handler`` applies configs of ``config_types`` (and their subclasses) in a recipe."""
    def wrap(handler: Handler) -> Handler:
        for config_type in config_types:
            _HANDLERS[config_type] = handler
        return handler
    return wrap


def handler_for(config: MethodConfig) -> Handler:
    """The handler registered for ``config``'s class, else for its nearest registered base class.

    Raises:
        ConfigError: no handler is registered for the config's class or any base of it.
    """
    for cls in type(config).__mro__:
        found = _HANDLERS.get(cls)
        if found is not None:
            return found
    name = getattr(type(config), "method", "") or type(config).__name__
    raise ConfigError(f"Method {name!r} ({type(config).__name__}) has no handler, so no recipe can apply it; "
                      "register one with @register_handler(" + type(config).__name__ + ") in its module.")


def registered_methods() -> list[str]:
    """Names of every registered method, sorted."""
    return sorted(_REGISTRY)


def registered_handlers() -> dict[type[MethodConfig], Handler]:
    """Every config class with a handler (a copy)."""
    return dict(_HANDLERS)


def method_class(name: str) -> type[MethodConfig]:
    """The config class registered under ``name``.

    Raises:
        ConfigError: no method has that name (the message suggests the closest).
    """
    if name not in _REGISTRY:
        raise ConfigError(f"Unknown method {name!r}.{closest(str(name), _REGISTRY)} "
                          f"Known methods: {', '.join(registered_methods())}.")
    return _REGISTRY[name]


def method_name(config: Any) -> str:
    """The registry name of a config object."""
    name = getattr(type(config), "method", None)
    if not isinstance(name, str) or _REGISTRY.get(name) is not type(config):
        raise ConfigError(f"{type(config).__name__} is not a registered finlite method config; pass a config such "
                          "as MagnitudePruning(sparsity=0.5).")
    return name


def method_to_dict(config: Any) -> dict[str, Any]:
    """``{"method": name, "format": version, **fields}`` with JSON-ready values (:meth:`MethodConfig.to_dict`)."""
    method_name(config)
    result: dict[str, Any] = config.to_dict()
    return result


def method_from_dict(data: Any, where: str = "the step") -> MethodConfig:
    """Build a config from ``{"method": name, "format": version, **fields}`` (``format`` optional).

    Unknown names and parameters are errors naming the closest valid one.
    """
    if not isinstance(data, Mapping) or "method" not in data:
        raise ConfigError(f"{where} must be a mapping with a 'method' key; got {data!r}.")
    name = data["method"]
    if not isinstance(name, str) or name not in _REGISTRY:
        raise ConfigError(f"Unknown method {name!r} in {where}.{closest(str(name), _REGISTRY)} "
                          f"Known methods: {', '.join(registered_methods())}.")
    return _REGISTRY[name].from_dict(data, where)


@contextmanager
def temporary_method(name: str, config_type: type[C], handler: Handler | None = None) -> Iterator[type[C]]:
    """Register ``config_type`` as ``name`` (and ``handler`` for it) for the ``with`` block only.

    For tests and experiments: the registry is as it was afterwards, even when the block raises.
    """
    if name in _REGISTRY:
        raise ConfigError(f"Method name {name!r} is already registered by {_REGISTRY[name].__name__}; a temporary "
                          "method needs a free name.")
    old_handler = _HANDLERS.get(config_type)
    old_name = vars(config_type).get("method")  # the class's own name, if it had one before
    register_method(name)(config_type)
    if handler is not None:
        register_handler(config_type)(handler)
    try:
        yield config_type
    finally:
        _REGISTRY.pop(name, None)
        if old_name is None:
            del config_type.method  # back to the base class's (unregistered) name
        else:
            config_type.method = old_name
        if handler is not None:
            if old_handler is None:
                _HANDLERS.pop(config_type, None)
            else:
                _HANDLERS[config_type] = old_handler
