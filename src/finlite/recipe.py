"""Recipes: ordered compression steps plus quality gates, written in YAML, and their runner.

A recipe file::

    name: balanced
    steps:
      - {method: distillation, temperature: 2.0, alpha: 0.9, hidden: [32]}
      - {method: magnitude_pruning, sparsity: 0.5}
      - {method: dynamic_int8}
    gates:
      auc: {max_drop: 0.005}
      agreement: {min: 0.99}

It is read with ``yaml.safe_load`` (no tags, no code) and every step is resolved only through
the method registry; an unknown method, parameter or gate is an error naming it, its line in
the file and the closest valid name. :meth:`Recipe.to_yaml` writes it back.

The runner (:func:`run_recipe`) applies the steps in order. After each step the candidate is
evaluated on the validation split against the teacher; a step whose candidate fails any gate
is rolled back (the next step starts from the last kept model) and the record says which gate
failed and by how much. Gates decide on the validation split so that the test split stays a
fair final check: the kept model is then evaluated on the test split and the gates are checked
again there, which is what the artifact and the exit code report.

Latency gates judge the deployed model: the candidate's ONNX export scored by the runtime
Predictor's session (:func:`deployed_latency`), never torch eager. An int8 step with
``require_faster`` is also timed side by side with the float model it replaces and rolled back
where it is not faster (gates ``speedup_batch1`` / ``speedup_batch``; both timings recorded).
"""

from __future__ import annotations

import copy
import dataclasses
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml

from finlite._finite import shown
from finlite._spec import finite_number
from finlite._timing import cpu_info, latency_us, throughput
from finlite._util import closest, dump_json, write_text_atomic
from finlite.compress.distill import (
    Distillation,
    DistillData,
    HintDistillation,
    RegressionDistillation,
    distill,
    distill_data,
    make_student,
    teacher_logits,
    with_transfer_for,
)
from finlite.compress.factorize import LowRankFactorization, factorize
from finlite.compress.linear import IntegerWeights, Scorecard, integer_logistic, make_scorecard, scorecard_table
from finlite.compress.plan import PruningPlan
from finlite.compress.prune import (
    GradualPruning,
    MagnitudePruning,
    RegularizedPruning,
    TaylorPruning,
    apply_plan,
    gradual_prune,
    plan_pruning,
    regularized_prune,
)
from finlite.compress.quantize import (
    DynamicInt8,
    Fp16Weights,
    QuantizationAwareTraining,
    StaticInt8,
    activation_scale,
    calibration_rows,
    finish_qat,
    layer_inputs,
    prepare_qat,
    quantize,
)
from finlite.compress.registry import method_from_dict, method_name, method_to_dict
from finlite.data.prepared import PreparedData
from finlite.errors import ConfigError
from finlite.evaluate.cost import measure_latency
from finlite.evaluate.fidelity import agreement, psi, spearman
from finlite.evaluate.metrics import classification_metrics
from finlite.models.base import FinliteModel
from finlite.models.mlp import TabularMLP
from finlite.models.serialize import weights_nbytes
from finlite.training import TrainConfig, seed_everything

__all__ = ["Gate", "GateResult", "Recipe", "RecipeResult", "Step", "StepRecord", "deployed_latency", "load_preset",
           "presets", "run_recipe", "speed_check"]

# Metrics a gate can name. "drop" metrics are compared with the teacher (teacher − candidate);
# the others are absolute values of the candidate (fidelity is measured against the teacher).
DROP_METRICS = ("auc", "gini", "ks", "pr_auc", "f1", "accuracy")
VALUE_METRICS = ("agreement", "psi", "spearman", "brier", "log_loss", "latency_p50_us", "latency_p99_us",
                 "size_bytes", "size_ratio", "max_abs_diff")
GATE_METRICS = DROP_METRICS + VALUE_METRICS
GATE_KEYS = ("max_drop", "min", "max")
TRAIN_KEYS = ("epochs", "batch_size", "lr", "weight_decay", "patience", "schedule")
TOP_KEYS = ("name", "description", "steps", "gates")


# -- locations in a YAML file ---------------------------------------------------------------------
# A recipe is a few dozen lines. These bounds are far above any real one and far below what
# hurts: a 316-byte "billion laughs" file (anchors whose aliases nest) expands to billions of
# nodes, and both yaml.safe_load and the line walk below would build every one of them.
MAX_YAML_BYTES = 256 * 1024
MAX_YAML_ALIASES = 100
MAX_YAML_NODES = 100_000
MAX_YAML_DEPTH = 64
MAX_STEPS = 50


def _flow_depth(text: str) -> int:
    """Deepest nesting of YAML flow brackets ([ and {) outside quotes and comments.

    PyYAML's scanner slows down quadratically with flow depth (5,000 levels take seconds), so
    the depth is measured with this linear scan before PyYAML sees the text. Block nesting
    needs indentation, which the size limit already bounds.
    """
    depth = deepest = 0
    quote = ""
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if quote:
            if ch == "\\" and quote == '"':
                i += 1  # skip the escaped character
            elif ch == quote:
                quote = ""
        elif ch in "\"'" and (i == 0 or text[i - 1] in " \t\n[{,:-"):  # a quote opens only a scalar
            quote = ch
        elif ch == "#" and (i == 0 or text[i - 1] in " \t\n"):
            end = text.find("\n", i)
            i = n if end < 0 else end
            continue
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth = max(0, depth - 1)
        i += 1
    return deepest


def _check_yaml_size(text: str, source: str) -> yaml.Node | None:
    """Refuse YAML that is too large, or whose aliases expand too far, before building anything.

    Composes the node graph once (an alias is a reference there, not a copy, so this is linear
    in the text) and counts the nodes the aliases would expand to, memoised per node.
    """
    size = len(text.encode("utf-8", errors="replace"))
    if size > MAX_YAML_BYTES:
        raise ConfigError(f"{source} is {size:,} bytes; a recipe may be at most {MAX_YAML_BYTES:,} bytes. "
                          "Pass the recipe YAML file itself (a few dozen lines), not another file.")
    depth = _flow_depth(text)
    if depth > MAX_YAML_DEPTH:
        raise ConfigError(f"{source} nests [ ] or {{ }} {depth} levels deep; a recipe needs a few levels (at most "
                          f"{MAX_YAML_DEPTH} are allowed). Pass the recipe YAML file itself.")
    try:
        aliases = sum(isinstance(event, yaml.AliasEvent) for event in yaml.parse(text, Loader=yaml.SafeLoader))
        if aliases > MAX_YAML_ALIASES:
            raise ConfigError(f"{source} uses {aliases} YAML aliases (*name); at most {MAX_YAML_ALIASES} are "
                              "allowed. Write the repeated parts out instead of referring to anchors.")
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source} is not valid YAML: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{source} nests lists or mappings too deeply to be a recipe; a recipe is a mapping "
                          "of 'steps' and 'gates', a few levels deep.") from None
    expanded: dict[int, int] = {}

    def count(node: yaml.Node) -> int:
        known = expanded.get(id(node))
        if known is not None:
            return known
        expanded[id(node)] = 1  # a cycle (not possible with safe YAML, but cheap to rule out) counts once
        total = 1
        if isinstance(node, yaml.MappingNode):
            total += sum(count(k) + count(v) for k, v in node.value)
        elif isinstance(node, yaml.SequenceNode):
            total += sum(count(item) for item in node.value)
        expanded[id(node)] = total
        return total

    try:
        nodes = count(root) if root is not None else 0
    except RecursionError:
        raise ConfigError(f"{source} nests lists or mappings too deeply to be a recipe.") from None
    if nodes > MAX_YAML_NODES:
        raise ConfigError(f"{source} expands to {nodes:,} YAML nodes through its aliases; at most "
                          f"{MAX_YAML_NODES:,} are allowed. Write the recipe without nested anchors and aliases.")
    return root


def _locations(text: str) -> dict[tuple[Any, ...], int]:
    """Map each key path (e.g. ``("steps", 1, "sparsity")``) to its 1-based line in the file.

    Call only on text that passed :func:`_check_yaml_size`: the walk follows aliases.
    """
    out: dict[tuple[Any, ...], int] = {}
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except (yaml.YAMLError, RecursionError):
        return out

    def walk(node: yaml.Node, path: tuple[Any, ...]) -> None:
        out.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                child = (*path, key.value)
                out[child] = key.start_mark.line + 1
                walk(value, child)
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                walk(item, (*path, i))
    if root is not None:
        walk(root, ())
    return out


def _huge_int(data: Any) -> tuple[tuple[Any, ...], int] | None:
    """The key path and value of the first integer too large for a float (YAML reads 10**400
    written out as an int), or None. A loop, not recursion: the data may nest deeply."""
    stack: list[tuple[tuple[Any, ...], Any]] = [((), data)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, Mapping):
            stack.extend(((*path, k), v) for k, v in reversed(list(value.items())))
        elif isinstance(value, (list, tuple)):
            stack.extend(((*path, i), v) for i, v in reversed(list(enumerate(value))))
        elif isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 1023:
            return path, value
    return None


class _Where:
    """Formats "recipe.yaml, line 7 (steps[1].sparsity)" for error messages."""

    def __init__(self, source: str, lines: dict[tuple[Any, ...], int]) -> None:
        self.source, self.lines = source, lines

    def __call__(self, *path: Any) -> str:
        dotted = "".join(f"[{p}]" if isinstance(p, int) else (f".{p}" if i else str(p)) for i, p in enumerate(path))
        line = self.lines.get(tuple(path))
        return f"{self.source}, line {line} ({dotted})" if line else f"{self.source} ({dotted or 'top level'})"


# -- gates --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class GateResult:
    """One gate checked against one candidate: its value, the limit, and the margin."""

    metric: str
    kind: str
    limit: float
    value: float
    passed: bool

    @property
    def message(self) -> str:
        """E.g. "auc drop 0.0123 > max_drop 0.005 (by 0.0073)"."""
        what = f"{self.metric} drop" if self.kind == "max_drop" else self.metric
        if self.passed:
            return f"{what} {self.value:.6g} within {self.kind} {self.limit:g}"
        sign = ">" if self.kind in ("max_drop", "max") else "<"
        return f"{what} {self.value:.6g} {sign} {self.kind} {self.limit:g} (by {abs(self.value - self.limit):.4g})"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form with the message."""
        return {"metric": self.metric, "kind": self.kind, "limit": self.limit, "value": self.value,
                "passed": self.passed, "message": self.message}


@dataclass(frozen=True)
class Gate:
    """A quality gate: ``metric`` with one or more of ``max_drop`` (vs the teacher), ``min``, ``max``."""

    metric: str
    max_drop: float | None = None
    min: float | None = None
    max: float | None = None

    def check(self, candidate: Mapping[str, float], teacher: Mapping[str, float]) -> list[GateResult]:
        """Compare the candidate's measured metrics (and the teacher's, for drops) with the limits."""
        results = []
        value = float(candidate[self.metric])
        if self.max_drop is not None:
            drop = float(teacher[self.metric]) - value
            results.append(GateResult(self.metric, "max_drop", self.max_drop, drop, drop <= self.max_drop + 1e-12))
        if self.min is not None:
            results.append(GateResult(self.metric, "min", self.min, value, value >= self.min - 1e-12))
        if self.max is not None:
            results.append(GateResult(self.metric, "max", self.max, value, value <= self.max + 1e-12))
        return results

    def to_dict(self) -> dict[str, float]:
        """The YAML mapping for this gate."""
        return {k: getattr(self, k) for k in GATE_KEYS if getattr(self, k) is not None}


# -- recipes -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Step:
    """One recipe step: a registered method config and optional training overrides."""

    method: Any
    train: Mapping[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """The method's registry name."""
        return method_name(self.method)

    def to_dict(self) -> dict[str, Any]:
        """``{method: name, ...fields, train: {...}}`` (fields at their defaults are left out)."""
        defaults = {f.name: f.default for f in dataclasses.fields(self.method)
                    if f.default is not dataclasses.MISSING}
        full = method_to_dict(self.method)
        out = {"method": full.pop("method")}
        for key, value in full.items():
            default = defaults.get(key, dataclasses.MISSING)
            if isinstance(default, tuple):
                default = list(default)
            if value != default:
                out[key] = value
        if self.train:
            out["train"] = dict(self.train)
        return out

    def train_config(self, base: TrainConfig) -> TrainConfig:
        """``base`` with this step's overrides."""
        return replace(base, **dict(self.train)) if self.train else base


@dataclass
class Recipe:
    """Ordered steps and the gates every kept step must pass."""

    steps: list[Step]
    gates: list[Gate] = field(default_factory=list)
    name: str = ""
    description: str = ""

    # -- reading --
    @classmethod
    def from_dict(cls, data: Any, source: str = "the recipe", lines: dict[tuple[Any, ...], int] | None = None) -> Recipe:
        """Build a recipe from plain data, checking every name against the registry."""
        where = _Where(source, lines or {})
        if not isinstance(data, Mapping):
            raise ConfigError(f"{where()} must be a mapping with 'steps' (and optionally 'gates', 'name'); "
                              f"got {type(data).__name__}.")
        huge = _huge_int(data)
        if huge is not None:  # checked here once: every numeric check below would raise OverflowError on it
            raise ConfigError(f"{where(*huge[0])} holds {shown(huge[1])}, an integer too large for a number; a "
                              "recipe's numbers are small, e.g. 0.005 or 30.")
        for key in data:
            if key not in TOP_KEYS:
                raise ConfigError(f"Unknown key {key!r} at {where(key)}.{closest(str(key), TOP_KEYS)} "
                                  f"Recipe keys: {', '.join(TOP_KEYS)}.")
        raw_steps = data.get("steps")
        if not isinstance(raw_steps, list) or not raw_steps:
            raise ConfigError(f"{where('steps')} must be a non-empty list of steps, e.g. "
                              "'- {method: distillation}'.")
        if len(raw_steps) > MAX_STEPS:  # each step may be a training run
            raise ConfigError(f"{where('steps')} lists {len(raw_steps)} steps; a recipe may have at most {MAX_STEPS}. "
                              "Split it into several recipes, each run on the last one's output.")
        steps = []
        for i, raw in enumerate(raw_steps):
            if not isinstance(raw, Mapping) or "method" not in raw:
                raise ConfigError(f"Step at {where('steps', i)} must be a mapping with a 'method' key; got {raw!r}.")
            params = {k: v for k, v in raw.items() if k != "train"}
            try:
                method = method_from_dict(params, where("steps", i))
            except ConfigError as exc:
                # Point at the offending key's own line when the message names it.
                for key in params:
                    if f"parameter {key!r}" in str(exc):
                        raise ConfigError(str(exc).replace(where("steps", i), where("steps", i, key))) from None
                raise
            train = raw.get("train") or {}
            if not isinstance(train, Mapping):
                raise ConfigError(f"{where('steps', i, 'train')} must be a mapping such as {{epochs: 30}}.")
            for key in train:
                if key not in TRAIN_KEYS:
                    raise ConfigError(f"Unknown training setting {key!r} at {where('steps', i, 'train', key)}."
                                      f"{closest(str(key), TRAIN_KEYS)} Settings: {', '.join(TRAIN_KEYS)}.")
            try:
                TrainConfig(**dict(train))
            except ConfigError as exc:
                raise ConfigError(f"{where('steps', i, 'train')}: {exc}") from None
            steps.append(Step(method=method, train=dict(train)))
        gates = []
        raw_gates = data.get("gates") or {}
        if not isinstance(raw_gates, Mapping):
            raise ConfigError(f"{where('gates')} must be a mapping such as 'auc: {{max_drop: 0.005}}'.")
        for metric, spec in raw_gates.items():
            if metric not in GATE_METRICS:
                raise ConfigError(f"Unknown gate metric {metric!r} at {where('gates', metric)}."
                                  f"{closest(str(metric), GATE_METRICS)} Gate metrics: {', '.join(GATE_METRICS)}.")
            if not isinstance(spec, Mapping) or not spec:
                raise ConfigError(f"Gate {metric!r} at {where('gates', metric)} needs a limit such as "
                                  "{max_drop: 0.005}, {min: 0.99} or {max: 0.1}.")
            for key, value in spec.items():
                if key not in GATE_KEYS:
                    raise ConfigError(f"Unknown gate limit {key!r} for {metric!r} at {where('gates', metric, key)}."
                                      f"{closest(str(key), GATE_KEYS)} Limits: {', '.join(GATE_KEYS)}.")
                if key == "max_drop" and metric not in DROP_METRICS:
                    raise ConfigError(f"Gate {metric!r} at {where('gates', metric, key)} cannot use max_drop (it is "
                                      f"not compared with the teacher); use min or max. max_drop works for: "
                                      f"{', '.join(DROP_METRICS)}.")
                if not finite_number(value):  # an int too large for a float (10**400) is not finite either
                    raise ConfigError(f"Gate limit at {where('gates', metric, key)} must be a number; got {shown(value)}.")
            gates.append(Gate(metric=str(metric), **{k: float(v) for k, v in spec.items()}))
        return cls(steps=steps, gates=gates, name=str(data.get("name") or ""),
                   description=str(data.get("description") or ""))

    @classmethod
    def from_yaml(cls, text: str, source: str = "the recipe") -> Recipe:
        """Parse YAML text with ``safe_load``; errors name the line."""
        _check_yaml_size(text, source)  # before anything is built from it
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ConfigError(f"{source} is not valid YAML: {exc}") from None
        except RecursionError:
            raise ConfigError(f"{source} nests lists or mappings too deeply to be a recipe.") from None
        except ValueError as exc:  # PyYAML's int() of a number of more than 4,300 digits
            raise ConfigError(f"{source} holds a number too long to read ({exc}); a recipe's numbers are short, "
                              "e.g. 0.005 or 30.") from None
        return cls.from_dict(data, source, _locations(text))

    @classmethod
    def load(cls, path: str | Path) -> Recipe:
        """Read a recipe file."""
        file = Path(path)
        try:
            if file.is_dir():
                raise ConfigError(f"Recipe {str(file)!r} is a directory; pass a recipe YAML file.")
            size = file.stat().st_size
            if size > MAX_YAML_BYTES:  # checked before reading: the file could be anything
                raise ConfigError(f"Recipe {str(file)!r} is {size:,} bytes; a recipe may be at most "
                                  f"{MAX_YAML_BYTES:,} bytes. Pass the recipe YAML file itself.")
            text = file.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"Cannot read recipe {str(path)!r}: {exc.strerror or exc}; check the path.") from None
        except UnicodeDecodeError:
            raise ConfigError(f"Recipe {str(path)!r} is not UTF-8 text (a binary file?); pass a recipe YAML file, "
                              "e.g. one written by Recipe.save or copied from finlite's presets.") from None
        return cls.from_yaml(text, str(path))

    # -- writing --
    def to_dict(self) -> dict[str, Any]:
        """Plain data that :meth:`from_dict` reads back to an equal recipe."""
        out: dict[str, Any] = {}
        if self.name:
            out["name"] = self.name
        if self.description:
            out["description"] = self.description
        out["steps"] = [step.to_dict() for step in self.steps]
        if self.gates:
            out["gates"] = {gate.metric: gate.to_dict() for gate in self.gates}
        return out

    def to_yaml(self) -> str:
        """YAML text (block style, keys in recipe order)."""
        return yaml.safe_dump(self.to_dict(), sort_keys=False, default_flow_style=None, allow_unicode=True)

    def save(self, path: str | Path) -> None:
        """Write :meth:`to_yaml` atomically."""
        write_text_atomic(path, self.to_yaml())

    @property
    def needs_latency(self) -> bool:
        """True when a gate needs timing measurements."""
        return any(g.metric.startswith("latency") for g in self.gates)


def presets() -> list[str]:
    """Names of the recipes that ship with finlite."""
    root = Path(__file__).parent / "recipes"
    return sorted(p.stem for p in root.glob("*.yaml"))


def load_preset(name: str) -> Recipe:
    """A recipe shipped with finlite: "smallest", "fastest" or "balanced"."""
    names = presets()
    if name not in names:
        raise ConfigError(f"Unknown preset {name!r}.{closest(name, names)} Presets: {', '.join(names)}.")
    path = Path(__file__).parent / "recipes" / f"{name}.yaml"
    return Recipe.from_yaml(path.read_text(encoding="utf-8"), f"preset {name!r} ({path.name})")


# -- the runner ----------------------------------------------------------------------------------
@dataclass
class StepRecord:
    """What happened to one step: "kept", "rolled_back" (failed a gate) or "skipped" (nothing to
    work on because the distillation before it was rolled back), with gates and validation metrics."""

    index: int
    method: dict[str, Any]
    status: str
    gates: list[GateResult]
    metrics: dict[str, Any]
    info: dict[str, Any]
    seconds: float

    @property
    def failed_gates(self) -> list[GateResult]:
        """The gates this step's candidate failed."""
        return [g for g in self.gates if not g.passed]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"index": self.index, "method": self.method, "status": self.status,
                "gates": [g.to_dict() for g in self.gates], "validation": self.metrics, "info": self.info,
                "seconds": round(self.seconds, 3)}


@dataclass
class RecipeResult:
    """The model the kept steps produced (None when no step was kept) and every step's record."""

    model: FinliteModel | None
    records: list[StepRecord]
    plan: PruningPlan | None
    extra_files: dict[str, str] = field(default_factory=dict)

    @property
    def kept(self) -> list[StepRecord]:
        """Records of the steps that were kept."""
        return [r for r in self.records if r.status == "kept"]


@dataclass
class _Context:
    """What every step reads: data, teacher outputs, training defaults, the seed."""

    data: PreparedData
    base: DistillData
    teacher: FinliteModel
    teacher_fn: Any
    seed: int
    train: TrainConfig
    fine_tune: TrainConfig
    cutoff: float = 0.5
    # The loss and rows that fine-tuning uses: those of the last kept distillation step (its
    # transfer set included), or plain soft targets on the training rows before any.
    distillation: Any = field(default_factory=Distillation)
    tuning: DistillData | None = None
    transfer_cache: dict[tuple[Any, ...], DistillData] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.tuning is None:
            self.tuning = self.base

    def keep(self, step: Step) -> None:
        """A kept distillation step becomes the fine-tuning loss and data of the steps after it."""
        if isinstance(step.method, (Distillation, RegressionDistillation, HintDistillation)):
            self.distillation = step.method
            self.tuning = self.data_for(step.method)

    def data_for(self, method: Any) -> DistillData:
        """Training data for a distillation method, with its transfer set (cached per setting)."""
        if method.transfer == "none" or method.transfer_size == 0:
            return self.base
        key = (method.transfer, float(method.transfer_size), float(method.transfer_noise))
        if key not in self.transfer_cache:
            # Streamed: the synthetic rows are rebuilt per batch, only the teacher's outputs are kept.
            self.transfer_cache[key] = with_transfer_for(self.base, self.data, self.teacher_fn, method.transfer,
                                                         float(method.transfer_size), float(method.transfer_noise),
                                                         self.seed)
        return self.transfer_cache[key]


@dataclass
class _State:
    model: FinliteModel | None
    masks: dict[str, torch.Tensor]
    plan: PruningPlan | None
    extra_files: dict[str, str] = field(default_factory=dict)


def _merge_masks(old: dict[str, torch.Tensor], new: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    out = dict(new)
    for name, mask in old.items():
        if name in out and out[name].shape == mask.shape:
            out[name] = out[name] * mask
        elif name not in out:
            out[name] = mask
    return out


class _NoModel(ConfigError):
    """No model to work on yet (raised before any change is made)."""


def _need_model(state: _State, step: Step) -> FinliteModel:
    if state.model is None:
        raise _NoModel(f"Step {step.name!r} needs a torch model to work on, but the teacher is not one (e.g. a "
                          "boosted ensemble) and no distillation step has produced a student yet. Put a "
                          "distillation step first.")
    return state.model


def _fine_tune_method(ctx: _Context) -> Any:
    d = ctx.distillation
    if isinstance(d, HintDistillation):  # the hint's projection is gone; keep its soft-target loss
        return Distillation(temperature=d.temperature, alpha=d.alpha)
    return d


def _execute(step: Step, state: _State, ctx: _Context) -> tuple[_State, dict[str, Any]]:
    """Apply one step to a copy of the state; the input state is not changed."""
    m = step.method
    seed_everything(ctx.seed)
    if isinstance(m, (Distillation, RegressionDistillation, HintDistillation)):
        dd = ctx.data_for(m)
        student = make_student(m, ctx.data.x_train.shape[1], rows=len(ctx.data.x_train))
        hint = ctx.teacher if isinstance(m, HintDistillation) else None
        if isinstance(m, HintDistillation) and not isinstance(hint, TabularMLP):
            raise ConfigError("hint_distillation needs a torch MLP teacher (its hidden activations are the hint); "
                              "use distillation for this teacher.")
        result = distill(dd, student, m, train=step.train_config(ctx.train), hint_teacher=hint)
        info = {"student": result.model.config(), "synthetic_rows": result.synthetic_rows,
                "best_epoch": result.training.best_epoch, "epochs_run": result.training.epochs_run}
        return _State(result.model, {}, None), info
    model = _need_model(state, step)
    tune = step.train_config(ctx.fine_tune)
    if isinstance(m, (MagnitudePruning, TaylorPruning)):
        plan = plan_pruning(model, m, data=ctx.tuning, distillation=_fine_tune_method(ctx))
        pruned = apply_plan(model, plan)
        masks = _merge_masks(state.masks, pruned.masks) if plan.unit == "weight" else {}
        tuned = distill(ctx.tuning, pruned.model, _fine_tune_method(ctx), train=tune, masks=masks)
        info = {"planned_sparsity": plan.sparsity(), "unit": plan.unit, "best_epoch": tuned.training.best_epoch}
        return _State(tuned.model, masks, plan, dict(state.extra_files)), info
    if isinstance(m, RegularizedPruning):
        result = regularized_prune(model, m, data=ctx.tuning, distillation=_fine_tune_method(ctx), train=tune,
                                   masks=state.masks)
        masks = _merge_masks(state.masks, result.masks) if result.plan.unit == "weight" else {}
        return _State(result.model, masks, result.plan, dict(state.extra_files)), {
            "removed_share": result.plan.sparsity(), "unit": result.plan.unit}
    if isinstance(m, GradualPruning):
        result, rounds = gradual_prune(model, m, data=ctx.tuning, distillation=_fine_tune_method(ctx), train=tune)
        return _State(result.model, result.masks, result.plan, dict(state.extra_files)), {"rounds": rounds}
    if isinstance(m, LowRankFactorization):
        fact = factorize(model, m)
        tuned = distill(ctx.tuning, fact.model, _fine_tune_method(ctx), train=tune)
        return _State(tuned.model, {}, state.plan, dict(state.extra_files)), {"layers": fact.layers}
    if isinstance(m, (DynamicInt8, Fp16Weights)):
        result = quantize(model, m)
        return _State(result.model, {}, state.plan, dict(state.extra_files)), result.info
    if isinstance(m, (StaticInt8, QuantizationAwareTraining)):
        rows = calibration_rows(ctx.data.y_train, m.samples, m.rare_share, ctx.seed)
        cal = ctx.data.x_train[rows]
        info: dict[str, Any] = {"calibration_rows": int(len(rows)),
                                "calibration_positives": int(ctx.data.y_train[rows].sum())}
        if isinstance(m, StaticInt8):
            result = quantize(model, m, calibration_x=cal)
            info.update(result.info)
            return _State(result.model, {}, state.plan, dict(state.extra_files)), info
        if not isinstance(model, TabularMLP):
            raise ConfigError(f"qat fine-tunes a float MLP; this model is {model.kind!r}. Put qat after distillation "
                              "and pruning, instead of another quantization step.")
        scales = [activation_scale(v, m.calibration, m.percentile) for v in layer_inputs(model, cal)]
        qat_model = prepare_qat(model, scales, m.momentum, m.weight_bits)
        tuned = distill(ctx.tuning, qat_model, _fine_tune_method(ctx), train=tune, masks=state.masks)
        final = finish_qat(tuned.model)
        info.update({"best_epoch": tuned.training.best_epoch,
                     "input_scales": [float(layer.input_scale) for layer in final.modules()
                                      if hasattr(layer, "weight_int8")]})
        return _State(final, {}, state.plan, dict(state.extra_files)), info
    if isinstance(m, IntegerWeights):
        return _State(integer_logistic(model, m), {}, state.plan, dict(state.extra_files)), {"bits": m.bits}
    if isinstance(m, Scorecard):
        n_numeric, _ = ctx.data.preprocessor.column_groups()
        card = make_scorecard(model, m, ctx.data.x_train, n_numeric)
        exact = make_scorecard(model, m, ctx.data.x_train, n_numeric, rounded=False)
        info = {}
        for split, x in (("validation", ctx.data.x_val), ("test", ctx.data.x_test)):
            xt = torch.from_numpy(x)
            cut = _cutoff_logit(ctx)
            logistic = model(xt).detach().numpy() >= cut
            binned = exact(xt).detach().numpy() >= cut
            rounded = card(xt).detach().numpy() >= cut
            info[split] = {"flips_from_rounding": int((binned != rounded).sum()),
                           "flips_from_binning": int((logistic != binned).sum()),
                           "flips_vs_logistic": int((logistic != rounded).sum()), "rows": int(len(x))}
        units = [(num.mean, num.std) for num in ctx.data.preprocessor.numeric_]
        table = scorecard_table(card, ctx.data.preprocessor.feature_names, units)
        files = {**state.extra_files, "scorecard.json": dump_json({"method": method_to_dict(m), "points": table})}
        return _State(card, {}, state.plan, files), info
    raise ConfigError(f"The recipe runner has no rule for method {step.name!r}.")


def _cutoff_logit(ctx: _Context) -> float:
    return float(np.log(ctx.cutoff / (1 - ctx.cutoff)))


# -- timing the deployed model ---------------------------------------------------------------------
#: Rows of the large batch that the gates time (rows per second); batch 1 is timed row by row.
GATE_BATCH_ROWS = 16_384


class _Deployed:
    """A model as it is deployed: its ONNX export in the runtime Predictor's session (one thread),
    batch 1 through the Predictor's bound-buffer path, a large batch in one call."""

    def __init__(self, model: FinliteModel, x: np.ndarray, batch_rows: int) -> None:
        from finlite.export import to_onnx
        from finlite.runtime.predictor import _Slot, model_session

        self.session = model_session(to_onnx(model).SerializeToString(), threads=1)
        width = x.shape[1]
        x = np.ascontiguousarray(x, dtype=np.float32) if len(x) else np.zeros((1, width), np.float32)
        self.slot = _Slot(self.session, width)
        self.rows = [x[i:i + 1] for i in range(min(len(x), 256))]  # different encoded records, as served
        self.batch = np.ascontiguousarray(np.resize(x, (batch_rows, width)))  # x's rows repeated
        self.p50: list[float] = []
        self.p99: list[float] = []
        self.rps: list[float] = []

    def _score_batch(self, batch: np.ndarray) -> Any:
        return self.session.run(["probability"], {"x": batch})

    def measure(self, repeats: int) -> None:
        one = latency_us(self.slot.run_vector, self.rows, repeats=repeats, warmup=min(50, repeats))
        self.p50.append(one["p50_us"])
        self.p99.append(one["p99_us"])
        self.rps.append(throughput(self._score_batch, self.batch, len(self.batch), min_seconds=0.1))

    def result(self) -> dict[str, Any]:
        # The best round: on a shared machine noise only ever adds time.
        return {"latency_p50_us": min(self.p50), "latency_p99_us": min(self.p99),
                "rows_per_second": max(self.rps), "batch": len(self.batch), "timed": "onnx"}


def deployed_latency(models: list[FinliteModel], x: np.ndarray, *, repeats: int = 200, rounds: int = 1,
                     batch_rows: int = GATE_BATCH_ROWS) -> list[dict[str, Any]]:
    """Latency (batch-1 p50/p99 in µs) and rows per second of each model as deployed.

    Each model is exported to ONNX (no parity check: timing only) and scored by the runtime
    Predictor's ONNX Runtime session on the encoded rows ``x``: one row at a time, as a server
    scores, and ``batch_rows`` rows per call, as batch scoring does. Several models are timed in
    alternating rounds so that they share the machine's conditions. A model with no ONNX form
    is timed in torch eager (``"timed": "torch"``).
    """
    from finlite.errors import ExportError

    timers: list[_Deployed | None] = []
    for model in models:
        try:
            timers.append(_Deployed(model, x, batch_rows))
        except ExportError:
            timers.append(None)
    for _ in range(max(1, rounds)):
        for timer in timers:
            if timer is not None:
                timer.measure(repeats)
    out = []
    for model, timer in zip(models, timers, strict=True):
        if timer is None:
            out.append({**measure_latency(model, x.shape[1], repeats=repeats, batch_repeats=3), "timed": "torch"})
        else:
            out.append(timer.result())
    return out


def speed_check(previous: FinliteModel, candidate: FinliteModel, x: np.ndarray, rule: str,
                rounds: int = 3) -> tuple[list[GateResult], dict[str, Any]]:
    """Time an int8 candidate against the float model it replaces, side by side (see
    :func:`deployed_latency`), and the gates its ``require_faster`` rule sets: speed-up (float
    time ÷ int8 time) ≥ 1 at batch 1, in a large batch, or both."""
    before, after = deployed_latency([previous, candidate], x, rounds=rounds)
    speedup_one = before["latency_p50_us"] / after["latency_p50_us"] if after["latency_p50_us"] > 0 else float("inf")
    speedup_batch = after["rows_per_second"] / before["rows_per_second"] if before["rows_per_second"] > 0 else 0.0
    gates = []
    if rule in ("batch1", "both"):
        gates.append(GateResult("speedup_batch1", "min", 1.0, speedup_one, speedup_one >= 1.0))
    if rule in ("batch", "both"):
        gates.append(GateResult("speedup_batch", "min", 1.0, speedup_batch, speedup_batch >= 1.0))
    info = {"rule": rule, "float": before, "int8": after, "speedup_batch1": speedup_one,
            "speedup_batch": speedup_batch, "cpu": cpu_info()}
    return gates, info


def evaluate_candidate(model: FinliteModel, x: np.ndarray, y: np.ndarray, p_teacher: np.ndarray, cutoff: float,
                       *, timing: bool, teacher_bytes: int) -> dict[str, Any]:
    """The metrics gates read, for one candidate on one split.

    With ``timing``, the latency metrics are those of the deployed model: its ONNX export
    scored by the runtime's session (:func:`deployed_latency`), not the torch model.
    """
    p = model.predict_proba(torch.from_numpy(x)).numpy().astype(np.float64)
    out = classification_metrics(y, p, cutoff)
    out.update({"agreement": agreement(p_teacher, p, cutoff), "psi": psi(p_teacher, p),
                "spearman": spearman(p_teacher, p),
                "max_abs_diff": float(np.max(np.abs(p_teacher - p))) if len(p) else 0.0})
    size = weights_nbytes(model)
    out["size_bytes"] = size
    out["size_ratio"] = teacher_bytes / size if size else float("inf")
    if timing:
        out.update(deployed_latency([model], x)[0])
    return out


def run_recipe(recipe: Recipe, data: PreparedData, teacher: FinliteModel, *, cutoff: float, seed: int,
               train: TrainConfig, fine_tune: TrainConfig, teacher_bytes: int,
               train_logits: np.ndarray | None = None, timing: bool = False,
               progress: Any = None, start: FinliteModel | None = None,
               base: DistillData | None = None, start_distillation: Any = None) -> RecipeResult:
    """Apply ``recipe`` to ``teacher`` on ``data``: steps in order, each kept only if it passes every gate.

    Args:
        recipe: the steps and gates.
        data: the teacher's data, split and encoded as the teacher was trained.
        teacher: the teacher (a torch model, or a boosted ensemble behind the same interface).
        cutoff: the decision threshold that agreement and the decision metrics use.
        seed: seeds every step.
        train, fine_tune: defaults for distillation from scratch and for fine-tuning after a
            change; a step's ``train:`` overrides them.
        teacher_bytes: the teacher's size on disk, for the ``size_ratio`` gate.
        train_logits: teacher outputs for the training rows to use instead of its own
            (out-of-fold predictions of a boosted ensemble).
        timing: measure latency after each step (needed when a gate names latency): the
            exported ONNX model in the runtime's session, batch 1 and a large batch.
        progress: called with (step index, total, message) as the run advances.
        start: the model the first step works on (default: the teacher when it is a torch
            model); the search uses it to share one distilled student among candidates.
        base: ready teacher outputs (:func:`~finlite.compress.distill.distill_data`), to reuse.
        start_distillation: the distillation that produced ``start``; fine-tuning then uses its
            loss and transfer set, exactly as if it had been a kept step of this recipe.
    """
    teacher_fn = lambda x: teacher_logits(teacher, x)  # noqa: E731
    base = base if base is not None else distill_data(data, teacher_fn, train_logits=train_logits)
    ctx = _Context(data=data, base=base, teacher=teacher, teacher_fn=teacher_fn, seed=seed, train=train,
                   fine_tune=fine_tune, cutoff=cutoff)
    if start_distillation is not None:
        ctx.keep(Step(start_distillation))
    timing = timing or recipe.needs_latency
    p_teacher = teacher.predict_proba(torch.from_numpy(data.x_val)).numpy().astype(np.float64)
    teacher_metrics = classification_metrics(data.y_val, p_teacher, cutoff)
    # A torch teacher can itself be pruned or quantized; a boosted ensemble (no parameters) cannot.
    is_torch = next(teacher.parameters(), None) is not None
    initial = start if start is not None else (teacher if is_torch else None)
    state = _State(copy.deepcopy(initial) if initial is not None else None, {}, None)
    records: list[StepRecord] = []
    for i, step in enumerate(recipe.steps):
        if progress is not None:
            progress(i, len(recipe.steps), f"step {i + 1}/{len(recipe.steps)}: {step.name}")
        start = time.perf_counter()
        try:
            candidate, info = _execute(step, state, ctx)
        except _NoModel as exc:
            if not records:  # the recipe itself is wrong: nothing could ever produce a model here
                raise ConfigError(f"Recipe step {i + 1} ({step.name}): {exc}") from None
            # An earlier distillation was rolled back: this step has nothing to work on.
            records.append(StepRecord(index=i, method=step.to_dict(), status="skipped", gates=[], metrics={},
                                      info={"reason": "no student: the distillation before it was rolled back"},
                                      seconds=time.perf_counter() - start))
            continue
        except ConfigError as exc:
            raise ConfigError(f"Recipe step {i + 1} ({step.name}): {exc}") from None
        metrics = evaluate_candidate(candidate.model, data.x_val, data.y_val, p_teacher, cutoff,  # type: ignore[arg-type]
                                     timing=timing, teacher_bytes=teacher_bytes)
        gates = [r for gate in recipe.gates for r in gate.check(metrics, teacher_metrics)]
        rule = getattr(step.method, "require_faster", "no")
        if rule != "no" and state.model is not None and candidate.model is not None:
            # An int8 step pays only where the deployed int8 model beats the float one it replaces.
            speed_gates, info["timing"] = speed_check(state.model, candidate.model, data.x_val, rule)
            gates.extend(speed_gates)
        kept = all(g.passed for g in gates)
        records.append(StepRecord(index=i, method=step.to_dict(), status="kept" if kept else "rolled_back",
                                  gates=gates, metrics=_slim(metrics), info=info,
                                  seconds=time.perf_counter() - start))
        if kept:
            state = candidate
            ctx.keep(step)
    if progress is not None:
        progress(len(recipe.steps), len(recipe.steps), "done")
    # With no step kept there is no new model: the teacher itself is not a compression result.
    any_kept = any(r.status == "kept" for r in records)
    return RecipeResult(model=state.model if any_kept else None, records=records, plan=state.plan,
                        extra_files=state.extra_files)


def _slim(metrics: dict[str, Any]) -> dict[str, Any]:
    keep = ("auc", "gini", "ks", "pr_auc", "f1", "brier", "agreement", "psi", "spearman", "max_abs_diff",
            "size_bytes", "size_ratio", "latency_p50_us", "latency_p99_us", "rows_per_second", "batch", "timed")
    return {k: metrics[k] for k in keep if k in metrics}
