"""The method registry: every method has a handler, every model kind an exporter, handlers are
found by config type, and configs are frozen, keyword-only and versioned plain data."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import pytest

import finlite.methods
from finlite.errors import ConfigError
from finlite.export import registered_exporters
from finlite.methods import (
    Distillation,
    MagnitudePruning,
    MethodConfig,
    StaticInt8,
    StepContext,
    StepState,
    handler_for,
    method_from_dict,
    method_to_dict,
    register_method,
    registered_methods,
    temporary_method,
)
from finlite.methods.registry import method_class
from finlite.models import registered_models
from finlite.recipe.spec import Recipe

# Every method a recipe may name today; users' recipes spell these, so they never change.
NAMES = ["distillation", "dynamic_int8", "fp16", "gradual_pruning", "hint_distillation", "integer_weights",
         "low_rank", "magnitude_pruning", "qat", "regression_distillation", "regularized_pruning", "scorecard",
         "static_int8", "taylor_pruning"]
# Model kinds with no ONNX form, and why. Empty: every kind, boosted ensembles included, exports.
NO_EXPORTER: dict[str, str] = {}


def test_registry_names_are_unchanged() -> None:
    assert registered_methods() == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_every_method_is_a_frozen_keyword_only_config_with_a_handler(name: str) -> None:
    cls = method_class(name)
    config = cls()  # every shipped method has defaults for every parameter
    assert isinstance(config, MethodConfig) and cls.method == name
    assert callable(handler_for(config))
    fields = dataclasses.fields(cls)
    assert all(f.kw_only for f in fields)
    if fields:
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(config, fields[0].name, getattr(config, fields[0].name))
        with pytest.raises(TypeError, match="positional"):
            cls(getattr(config, fields[0].name))


def test_every_model_kind_has_an_onnx_exporter() -> None:
    exporters = registered_exporters()
    kinds = registered_models()
    assert {"mlp", "mlp_int8", "logistic", "logistic_int", "scorecard", "sequence", "sequence_int8", "gbdt"} <= set(kinds)
    missing = sorted(kind for kind, cls in kinds.items() if cls not in exporters)
    assert missing == sorted(NO_EXPORTER)


@dataclass(frozen=True, kw_only=True)
class _NoHandler(MethodConfig):
    level: int = 1


def test_a_method_without_a_handler_is_an_error_naming_it() -> None:
    with temporary_method("p1_no_handler", _NoHandler):
        with pytest.raises(ConfigError, match=r"Method 'p1_no_handler' \(_NoHandler\) has no handler"):
            handler_for(_NoHandler())
        recipe = Recipe.from_yaml("steps:\n  - {method: p1_no_handler}\n", "r.yaml")  # it reads; it cannot run
        assert recipe.steps[0].method == _NoHandler()
    assert "p1_no_handler" not in registered_methods()


def test_handlers_are_found_through_the_class_hierarchy() -> None:
    @dataclass(frozen=True, kw_only=True)
    class SharperDistillation(Distillation):
        """A subclass with no handler of its own: the distillation handler applies it."""

    assert handler_for(SharperDistillation(temperature=4.0)) is handler_for(Distillation())
    assert handler_for(MagnitudePruning()) is not handler_for(Distillation())


def test_register_method_refuses_a_mutable_or_positional_config() -> None:
    @dataclass(frozen=True)
    class Positional(MethodConfig):
        level: int = 1

    class Plain:
        level = 1

    for cls in (Positional, Plain):
        with pytest.raises(ConfigError, match=r"MethodConfig subclass decorated @dataclass\(frozen=True, kw_only=True\)"):
            register_method("p1_refused")(cls)
    with pytest.raises(ConfigError, match="'distillation' is already registered by Distillation"):
        register_method("distillation")(_NoHandler)

    @dataclass(frozen=True, kw_only=True)
    class Clashing(MethodConfig):
        format: int = 3

    with pytest.raises(ConfigError, match="its field 'format' clashes with a key of the plain-data form"):
        register_method("p1_refused")(Clashing)
    assert "p1_refused" not in registered_methods()


def test_a_kept_distillation_names_the_loss_that_fine_tunes_later_steps() -> None:
    assert [method_class(n).is_distillation for n in NAMES].count(True) == 3
    assert Distillation(temperature=3.0).fine_tune_loss() == Distillation(temperature=3.0)
    # A hint's projection is gone after training: later steps keep only its soft-target loss.
    assert finlite.methods.HintDistillation(temperature=3.0, alpha=0.5, beta=2.0).fine_tune_loss() == \
        Distillation(temperature=3.0, alpha=0.5)
    with pytest.raises(ConfigError, match="MagnitudePruning is not a distillation method"):
        MagnitudePruning().fine_tune_loss()


def test_to_dict_writes_the_format_and_round_trips() -> None:
    config = StaticInt8(calibration="entropy", weight_bits=8)
    data = method_to_dict(config)
    assert data["method"] == "static_int8" and data["format"] == 1 and data["calibration"] == "entropy"
    assert config.to_dict() == data
    assert method_from_dict(json.loads(json.dumps(data))) == config
    assert StaticInt8.from_dict(data) == config
    # Written without a format (presets, hand-written recipes): the same config.
    assert method_from_dict({"method": "static_int8", "calibration": "entropy", "weight_bits": 8}) == config


def test_an_unreadable_format_is_an_error() -> None:
    with pytest.raises(ConfigError, match=r"'format' of method 'magnitude_pruning' in the step must be an integer "
                                          r"from 1 to 1.*got 2"):
        method_from_dict({"method": "magnitude_pruning", "format": 2})
    with pytest.raises(ConfigError, match=r"got '1'"):
        method_from_dict({"method": "magnitude_pruning", "format": "1"})
    with pytest.raises(ConfigError, match="is a 'fp16' step, not 'magnitude_pruning'"):
        MagnitudePruning.from_dict({"method": "fp16"})


@dataclass(frozen=True, kw_only=True)
class _Clip(MethodConfig):
    """A config whose format 2 renamed ``limit`` (format 1) to ``bound`` and made it a fraction."""

    format_version: ClassVar[int] = 2
    bound: float = 0.5

    @classmethod
    def upgrade(cls, params: dict[str, Any], version: int) -> dict[str, Any]:
        params = dict(params)
        if version < 2 and "limit" in params:
            params["bound"] = params.pop("limit") / 100  # format 1 gave a percentage
        return params


def _noop(method: MethodConfig, state: StepState, ctx: StepContext,
          train: Mapping[str, Any]) -> tuple[StepState, dict[str, Any]]:
    return state, {}


def test_an_older_format_is_upgraded_when_read() -> None:
    with temporary_method("p1_clip", _Clip, _noop):
        assert _Clip(bound=0.25).to_dict() == {"method": "p1_clip", "format": 2, "bound": 0.25}
        # No format: written before formats were recorded, i.e. format 1.
        assert method_from_dict({"method": "p1_clip", "limit": 25}) == _Clip(bound=0.25)
        assert method_from_dict({"method": "p1_clip", "format": 1, "limit": 40}) == _Clip(bound=0.4)
        assert method_from_dict({"method": "p1_clip", "format": 2, "bound": 0.3}) == _Clip(bound=0.3)
        with pytest.raises(ConfigError, match=r"Unknown parameter 'limit' for method 'p1_clip' in the step\. Parameters: bound\."):
            method_from_dict({"method": "p1_clip", "format": 2, "limit": 40})
        recipe = Recipe.from_yaml("steps:\n  - {method: p1_clip, limit: 10}\n", "old.yaml")
        assert recipe.steps[0].method == _Clip(bound=0.1)
    assert "p1_clip" not in registered_methods()
    with pytest.raises(ConfigError, match="has no handler"):
        handler_for(_Clip())


@pytest.mark.parametrize(("make", "message"), [
    (lambda: MagnitudePruning(granularity="row"), r"'granularity' parameter of MagnitudePruning must be "
                                                  r"'weight' or 'neuron'\. Got 'row'"),
    (lambda: StaticInt8(require_faster="always"), r"'require_faster' parameter of StaticInt8 must be one of"),
    (lambda: StaticInt8(calibration="max"), r"'calibration' parameter of StaticInt8 must be one of"),
    (lambda: Distillation(transfer="noise"), r"'transfer' parameter of Distillation must be one of"),
    (lambda: finlite.methods.RegularizedPruning(penalty="l0"), r"'penalty' parameter of RegularizedPruning"),
])
def test_literal_choices_are_still_checked_when_built(make: Any, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        make()
