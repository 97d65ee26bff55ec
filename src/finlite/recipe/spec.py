"""Recipes as data: ordered steps (a registered method config and training overrides) and gates,
read from YAML and written back.

A recipe file::

    name: balanced
    steps:
      - {method: distillation, temperature: 2.0, alpha: 0.9, hidden: [32]}
      - {method: magnitude_pruning, sparsity: 0.5}
      - {method: dynamic_int8}
    gates:
      auc: {max_drop: 0.005}
      agreement: {min: 0.99}

It is read with PyYAML's safe loader (no tags, no code; YAML 1.2 numbers), bounded in size, aliases and depth before
anything is built, and every step is resolved only through the method registry; an unknown
method, parameter or gate is an error naming it, its line in the file and the closest valid name.
:meth:`Recipe.to_yaml` writes it back.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from finlite._finite import shown
from finlite._paths import FileTooLarge, read_small_file
from finlite._spec import finite_number
from finlite._util import closest, write_text_atomic
from finlite.errors import ConfigError
from finlite.methods.registry import method_from_dict, method_name, method_to_dict
from finlite.recipe.gates import DROP_METRICS, GATE_KEYS, GATE_METRICS, INCREASE_METRICS, Gate
from finlite.training.loop import TrainConfig

TRAIN_KEYS = ("epochs", "batch_size", "lr", "weight_decay", "patience", "schedule")


TOP_KEYS = ("name", "description", "steps", "gates")
#: The longest recipe name and description (a name is a title; a description a paragraph or two).
MAX_NAME_CHARS, MAX_DESCRIPTION_CHARS = 200, 10_000


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
    # Where a scalar may start, and so a quote open one: at a line's first character (after its
    # indentation), after [ { or , and after an indicator : - ? followed by white space. Within
    # plain text ("don 't", "a:'b") a quote is a character: counted as one, it hid every bracket
    # after it, and 8,000 levels took 30 s to refuse (a review, 2026-12-04 evening).
    last, spaced = "\n", False  # the line's last character that is not white space; white space since
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if quote:
            if ch == "\\" and quote == '"':
                i += 1  # skip the escaped character
            elif ch == quote and quote == "'" and text[i + 1:i + 2] == "'":
                i += 1  # '' is a quote inside a single-quoted scalar
            elif ch == quote:
                quote, last, spaced = "", ch, False
            i += 1
            continue
        if ch in "\"'" and (last in "\n[{," or (last in ":-?" and spaced)):
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
        if ch == "\n":
            last, spaced = "\n", False
        elif ch in " \t":
            spaced = True
        elif not quote:
            last, spaced = ch, False
        i += 1
    return deepest


class _RecipeLoader(yaml.SafeLoader):
    """PyYAML's safe loader (no tags, no code) with YAML 1.2's numbers instead of YAML 1.1's.

    YAML 1.1 reads ``1e-4`` as text (a float needs a dot), ``1:30`` as 90 (base 60) and ``010``
    as 8 (octal): ``lr: 1e-4`` was refused as "Got '1e-4'" and ``temperature: 1:30`` ran at 90.
    Here a number is what YAML 1.2 and JSON say: decimal integers (``0x``/``0o`` spelled out),
    floats with or without a dot, ``.inf`` and ``.nan``; anything else stays text, which the
    checks then name. Booleans and the rest are unchanged.
    """


_INT, _FLOAT = "tag:yaml.org,2002:int", "tag:yaml.org,2002:float"
_RecipeLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in (_INT, _FLOAT)]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}
_RecipeLoader.add_implicit_resolver(_INT, re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$"),
                                    list("-+0123456789"))
_RecipeLoader.add_implicit_resolver(
    _FLOAT, re.compile(r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)"
                       r"|\.(?:nan|NaN|NAN))$"), list("-+.0123456789"))


class _RecipeDumper(yaml.SafeDumper):
    """PyYAML's safe dumper, quoting text as the loader above reads numbers: a name such as
    "1e5" is written '1e5', so the file reads back as the text it was."""


# Text quoted when it would read as a number to this loader (YAML 1.2) or to a YAML 1.1 reader
# (yaml.safe_load elsewhere: "1:30" is 90 there), so the file means one thing to both.
_RecipeDumper.yaml_implicit_resolvers = {
    first: list(resolvers) for first, resolvers in yaml.SafeDumper.yaml_implicit_resolvers.items()}
for _first, _resolvers in _RecipeLoader.yaml_implicit_resolvers.items():
    _RecipeDumper.yaml_implicit_resolvers.setdefault(_first, []).extend(
        r for r in _resolvers if r[0] in (_INT, _FLOAT))


def _construct_int(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> int:
    text = str(loader.construct_scalar(node))
    if text.startswith(("0x", "0o")):
        return int(text[2:], 16 if text[1] == "x" else 8)
    return int(text, 10)  # "010" is ten, as in JSON and YAML 1.2


_RecipeLoader.add_constructor(_INT, _construct_int)


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
        aliases = sum(isinstance(event, yaml.AliasEvent) for event in yaml.parse(text, Loader=_RecipeLoader))
        if aliases > MAX_YAML_ALIASES:
            raise ConfigError(f"{source} uses {aliases} YAML aliases (*name); at most {MAX_YAML_ALIASES} are "
                              "allowed. Write the repeated parts out instead of referring to anchors.")
        root = yaml.compose(text, Loader=_RecipeLoader)
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
            # YAML keeps the last of two equal keys: a second 'gates:' would drop the first's gates
            # without a word, so a key named twice in one mapping is refused.
            lines: dict[str, int] = {}
            for key, _ in node.value:
                if isinstance(key, yaml.ScalarNode) and key.value != "<<":
                    if key.value in lines:
                        raise ConfigError(
                            f"{source} names {key.value!r} twice in one mapping (lines {lines[key.value]} and "
                            f"{key.start_mark.line + 1}); YAML would keep only the second and ignore the first "
                            "without a word. Keep one of them.")
                    lines[key.value] = key.start_mark.line + 1
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
        root = yaml.compose(text, Loader=_RecipeLoader)
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
        return f"{self.source}, line {line} ({dotted or 'top level'})" if line else f"{self.source} ({dotted or 'top level'})"


def _at_key(exc: ConfigError, where: _Where, path: tuple[Any, ...], keys: Mapping[str, Any]) -> ConfigError:
    """``exc`` pointing at the line of the key it is about (``exc.param``), not only its step.

    The new error carries no ``param``: the value to change is in the file, at the place named,
    and the command line must not name a flag for it.
    """
    message = str(exc)
    if exc.param is not None and exc.param in keys:
        message = message.replace(where(*path), where(*path, exc.param), 1)
    return ConfigError(message)


# -- recipes -------------------------------------------------------------------------------------
def _inert_settings_dropped(data: Any) -> Any:
    """A recorded recipe without the settings earlier finlite versions wrote that had no effect,
    and which a recipe file may no longer hold: ``transfer_size`` beside ``transfer: none`` (the
    market recipe when a series is too large for a transfer set) and ``input_bins_from`` without
    ``input_bins`` (search candidates before their bins were named only when used)."""
    if not isinstance(data, Mapping) or not isinstance(data.get("steps"), list):
        return data
    steps = []
    for step in data["steps"]:
        if isinstance(step, Mapping):
            step = dict(step)
            if step.get("transfer", "none") == "none":
                step.pop("transfer_size", None)
            if not step.get("input_bins"):
                step.pop("input_bins_from", None)
        steps.append(step)
    return {**data, "steps": steps}


#: Methods that store the weights in another form (int8, float16): the last word on them. A later
#: step would retrain or rebuild float32 weights and silently drop it (fp16 then low_rank was
#: saved with float32 tensors under a manifest saying float16), or refuse only after the steps
#: before it had trained.
QUANTIZATION_METHODS = ("dynamic_int8", "static_int8", "qat", "fp16")
#: Steps that store the weights in another form without training: a ``train:`` on one does nothing.
UNTRAINED_METHODS = ("dynamic_int8", "static_int8", "fp16")
#: Steps that train a new student from the teacher, whatever the steps before them made.
STUDENT_METHODS = ("distillation", "regression_distillation", "hint_distillation")


#: Most training epochs a recipe may ask for in all (each step's epochs, times its rounds for
#: gradual pruning): each is bounded alone, but 50 steps of 50 rounds of 100,000 epochs were not.
MAX_RECIPE_EPOCHS = 1_000_000


def _check_total_work(steps: list[Step], where: _Where) -> None:
    """Refuse a recipe whose steps' explicit epochs add up beyond :data:`MAX_RECIPE_EPOCHS`."""
    total = sum(int(step.train.get("epochs") or 0) * (step.method.steps if step.name == "gradual_pruning" else 1)
                for step in steps)
    if total > MAX_RECIPE_EPOCHS:
        raise ConfigError(f"{where('steps')} asks for {total:,} training epochs in all (each step's epochs, times "
                          f"its rounds for gradual_pruning); a recipe may ask for at most {MAX_RECIPE_EPOCHS:,}. Lower "
                          "the steps' epochs (early stopping ends most runs in far fewer).")


def inert_settings(params: Mapping[str, Any]) -> dict[str, str]:
    """The settings of one recipe step (``{method: name, ...}``) that would do nothing, each with
    why and how to fix it: ``norm`` on weight pruning (single weights are ranked by magnitude),
    ``scope: global`` on gradual neuron pruning (each round prunes layer by layer), a
    ``percentile`` beside another calibration. Defaults never count (a step written with
    ``norm: l2`` on weights reads back)."""
    name = params.get("method")
    granularity = params.get("granularity", "weight")
    found: dict[str, str] = {}
    if name in ("magnitude_pruning", "gradual_pruning") and params.get("norm", "l2") != "l2" and granularity == "weight":
        found["norm"] = (f"{params['norm']!r} scores whole neurons; single weights are ranked by their magnitude. Add "
                         "granularity: neuron, or drop norm")
    if name == "gradual_pruning" and params.get("scope") == "global" and granularity == "neuron":
        found["scope"] = ("global is not how gradual pruning removes neurons: each round prunes every layer to the "
                          "share of its own width. Drop scope, or use magnitude_pruning for a global ranking")
    if (name in ("static_int8", "qat") and params.get("percentile", 99.99) != 99.99
            and params.get("calibration", "percentile") != "percentile"):
        found["percentile"] = (f"{params['percentile']!r} sets the percentile of calibration: percentile, not of "
                               f"{params.get('calibration')!r}. Drop percentile, or set calibration: percentile")
    # More settings a step ignores (a recipe fuzz, 2026-12-07: each ran as the plain step).
    if name in STUDENT_METHODS:
        if params.get("transfer", "none") == "none" and params.get("transfer_noise", 0.1) != 0.1:
            found["transfer_noise"] = (f"{params['transfer_noise']!r} sets the noise of a transfer set, and transfer is "
                                       "'none'. Set transfer: perturb (with transfer_size), or drop transfer_noise")
        if params.get("student", "mlp") == "logistic":
            for key, default in (("hidden", [16]), ("large_hidden", None)):
                if key in params and params[key] != default and list(params[key] or []) != list(default or []):
                    found[key] = (f"{params[key]!r} sets an MLP student's widths, and the student is 'logistic', "
                                  f"which has no hidden layer. Drop {key}, or set student: mlp")
    if name == "distillation" and not params.get("monotone") and params.get("monotone_weight", 1.0) != 1.0:
        found["monotone_weight"] = (f"{params['monotone_weight']!r} weighs the monotone penalty, and no column is "
                                    "declared monotone. Declare them (monotone: {column: 1}), or drop monotone_weight")
    if name == "regression_distillation" and params.get("loss", "mse") != "huber" and params.get("delta", 1.0) != 1.0:
        found["delta"] = (f"{params['delta']!r} is Huber's threshold, and the loss is {params.get('loss', 'mse')!r}. "
                          "Set loss: huber, or drop delta")
    if name == "low_rank" and params.get("rank") is not None and params.get("energy", 0.9) != 0.9:
        found["energy"] = (f"{params['energy']!r} chooses each layer's rank, and rank {params['rank']!r} fixes it. "
                           "Drop one of them")
    return found


def _refuse_inert(params: Mapping[str, Any], where: _Where, i: int) -> None:
    """Refuse a setting written in a recipe step that would do nothing (the CLI refuses the same
    combinations): the writer expects an effect that never comes (a review, 2026-12-03). A
    recipe finlite writes leaves such settings out (:meth:`Step.to_dict`), so it reads back."""
    for key, why in inert_settings(params).items():
        raise ConfigError(f"{where('steps', i, key)}: {key} {why}.")


#: Methods that turn the model into another kind (a points table, integer weights) that no
#: other method works on: a step after one failed only once the steps before it had trained.
FINAL_METHODS = ("scorecard", "integer_weights")


def _check_step_order(steps: list[Step], where: _Where, *, recorded: bool = False) -> None:
    """Refuse, before any step runs, a step after a quantization step (naming both), and one after
    a step that makes a scorecard or integer weights (a recorded recipe may hold ``fp16`` after
    one: earlier versions ran it). Refuse too a step whose work a later one discards while the
    record would still call it kept (a recipe fuzz, 2026-12-07; a recorded recipe keeps its order):
    a distillation after any step (it trains a fresh student from the teacher: a pruning before it
    was recorded as kept, 50 % sparse, on a dense student), and a low-rank step after pruning of
    single weights (its dense factors bring the pruned weights back)."""
    for i, step in enumerate(steps):
        if step.name in STUDENT_METHODS and i > 0 and not recorded:
            raise ConfigError(f"Step {step.name!r} at {where('steps', i)} comes after {steps[i - 1].name!r} (step "
                              f"{i}): a distillation trains a new student from the teacher, so what the steps before "
                              "it made would be discarded while the record called them kept. Make it the recipe's "
                              "first step (to try other students, use 'finlite search').")
        pruned = [k for k in range(i) if getattr(steps[k].method, "granularity", None) == "weight"]
        if step.name == "low_rank" and pruned and not recorded:
            first = pruned[0]
            raise ConfigError(f"Step 'low_rank' at {where('steps', i)} comes after {steps[first].name!r} (step "
                              f"{first + 1}), which prunes single weights: low rank replaces each layer by dense "
                              "factors, so the pruned weights would come back while the record called them pruned. "
                              "Put low_rank before the pruning, or prune whole neurons (granularity: neuron).")
        if step.name in FINAL_METHODS and i + 1 < len(steps) and not recorded:
            later = steps[i + 1]
            made = "a scorecard (a points table)" if step.name == "scorecard" else "integer weights"
            raise ConfigError(f"Step {later.name!r} at {where('steps', i + 1)} comes after {step.name!r} (step "
                              f"{i + 1}), which makes {made}: its last form (pruning, low rank or int8 do not "
                              f"apply to it, and fp16 would round its points). Make {step.name!r} the recipe's "
                              "last step.")
        if step.name in QUANTIZATION_METHODS and i + 1 < len(steps):
            later = steps[i + 1]
            raise ConfigError(f"Step {later.name!r} at {where('steps', i + 1)} comes after {step.name!r} (step "
                              f"{i + 1}), which stores the weights as {'float16' if step.name == 'fp16' else 'int8'}; "
                              "a later step would retrain or rebuild them in float32. Make the quantization step "
                              "the recipe's last.")


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
        """``{method: name, ...fields, train: {...}}`` (fields at their defaults, and settings that did
        nothing (:func:`inert_settings`), are left out)."""
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
        for key in inert_settings(out):  # it did nothing, and a recipe file may not hold it
            out.pop(key)
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
    #: Where its gates were read, for messages about them once the task is known ("r.yaml, line 5
    #: (gates)"); not part of the recipe (neither compared nor written).
    gates_at: str = field(default="", compare=False, repr=False)
    #: Read from an artifact's recipe.yaml (``recorded=True``): it runs as an earlier finlite ran
    #: it, refusals added since aside (``reproduce``).
    recorded: bool = field(default=False, compare=False, repr=False)

    # -- reading --
    @classmethod
    def from_dict(cls, data: Any, source: str = "the recipe", lines: dict[tuple[Any, ...], int] | None = None, *,
                  recorded: bool = False) -> Recipe:
        """Build a recipe from plain data, checking every name against the registry.

        ``recorded``: a recipe finlite already wrote into an artifact, whose name and description
        are not held to today's lengths (an artifact made before the caps still reproduces)."""
        where = _Where(source, lines or {})
        if data is None:  # an empty file (only comments, 'null', '---'): YAML reads nothing
            raise ConfigError(f"{source} holds no recipe (it is empty, or null); a recipe is a mapping with 'steps' (and "
                              "optionally 'gates', 'name'), e.g. 'steps: [{method: distillation}]'.")
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
                raise _at_key(exc, where, ("steps", i), params) from None
            if not recorded:  # an artifact's recipe.yaml may hold them: earlier versions wrote them
                _refuse_inert(params, where, i)
            train = raw.get("train")
            train = {} if train is None or train == [] else train  # 0 or "" is refused below, not read as none
            if not isinstance(train, Mapping):
                raise ConfigError(f"{where('steps', i, 'train')} must be a mapping such as {{epochs: 30}}.")
            if train and params["method"] in UNTRAINED_METHODS and not recorded:
                raise ConfigError(f"{where('steps', i, 'train')}: {params['method']} does not train (it converts the "
                                  "weights as they are), so its training settings would do nothing. Drop train, or "
                                  "use qat for int8 that trains.")
            for key in train:
                if key not in TRAIN_KEYS:
                    raise ConfigError(f"Unknown training setting {key!r} at {where('steps', i, 'train', key)}."
                                      f"{closest(str(key), TRAIN_KEYS)} Settings: {', '.join(TRAIN_KEYS)}.")
            try:
                TrainConfig(**dict(train))
            except ConfigError as exc:
                at = ("steps", i, "train", exc.param) if exc.param in train else ("steps", i, "train")
                raise ConfigError(f"{where(*at)}: {exc}") from None
            steps.append(Step(method=method, train=dict(train)))
        _check_step_order(steps, where, recorded=recorded)
        _check_total_work(steps, where)
        gates = []
        raw_gates = data.get("gates")
        raw_gates = {} if raw_gates is None or raw_gates == [] else raw_gates  # "no gates", as an empty list
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
                if key == "max_increase" and metric not in INCREASE_METRICS:
                    raise ConfigError(f"Gate {metric!r} at {where('gates', metric, key)} cannot use max_increase (it "
                                      "is not an error measured against the teacher); use max_drop, min or max. "
                                      f"max_increase works for: {', '.join(INCREASE_METRICS)}.")
                if not finite_number(value):  # an int too large for a float (10**400) is not finite either
                    raise ConfigError(f"Gate limit at {where('gates', metric, key)} must be a number; got {shown(value)}.")
            try:
                gates.append(Gate(metric=str(metric), **{k: float(v) for k, v in spec.items()}))
            except ConfigError as exc:  # a limit outside the metric's values: name where it is written
                raise ConfigError(f"{where('gates', metric)}: {exc}") from None
        for key, most in (("name", MAX_NAME_CHARS), ("description", MAX_DESCRIPTION_CHARS)):
            if data.get(key) is not None and not isinstance(data[key], str):
                raise ConfigError(f"{where(key)} must be text; got {shown(data[key])}. Quote it if it is meant as text.")
            if not recorded and isinstance(data.get(key), str) and len(data[key]) > most:
                # Copied into the manifest, the report and every log line that names the recipe.
                raise ConfigError(f"{where(key)} is {len(data[key]):,} characters; at most {most:,} are allowed. "
                                  "Shorten it.")
        return cls(steps=steps, gates=gates, name=str(data.get("name") or ""),
                   description=str(data.get("description") or ""),
                   gates_at=where("gates") if gates and lines else "", recorded=recorded)

    @classmethod
    def from_yaml(cls, text: str, source: str = "the recipe", *, recorded: bool = False) -> Recipe:
        """Parse YAML text with the safe loader (YAML 1.2 numbers); errors name the line.

        ``recorded``: the text is a ``recipe.yaml`` finlite wrote into an artifact (reproduce),
        whose settings that did nothing (see :func:`_inert_settings_dropped`) were written by
        earlier versions: they are dropped, not refused.
        """
        _check_yaml_size(text, source)  # before anything is built from it
        try:
            data = yaml.load(text, Loader=_RecipeLoader)  # a SafeLoader subclass: no tags, no code
        except yaml.YAMLError as exc:
            raise ConfigError(f"{source} is not valid YAML: {exc}") from None
        except RecursionError:
            raise ConfigError(f"{source} nests lists or mappings too deeply to be a recipe.") from None
        except ValueError as exc:  # PyYAML's int() of a number of more than 4,300 digits
            raise ConfigError(f"{source} holds a number too long to read ({exc}); a recipe's numbers are short, "
                              "e.g. 0.005 or 30.") from None
        if recorded:
            data = _inert_settings_dropped(data)
        return cls.from_dict(data, source, _locations(text), recorded=recorded)

    @classmethod
    def load(cls, path: str | Path) -> Recipe:
        """Read a recipe file."""
        file = Path(path)
        try:
            if file.is_dir():
                raise ConfigError(f"Recipe {str(file)!r} is a directory; pass a recipe YAML file.")
            # Bounded as it is read: the path could name anything (a device, a pipe).
            text = read_small_file(file, MAX_YAML_BYTES).decode("utf-8")
        except FileTooLarge as exc:
            raise ConfigError(f"Recipe {str(file)!r} is {exc.size:,} bytes or more; a recipe may be at most "
                              f"{MAX_YAML_BYTES:,} bytes. Pass the recipe YAML file itself.") from None
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
        return yaml.dump(self.to_dict(), Dumper=_RecipeDumper, sort_keys=False, default_flow_style=None,
                         allow_unicode=True)

    def save(self, path: str | Path) -> None:
        """Write :meth:`to_yaml` atomically."""
        write_text_atomic(path, self.to_yaml())

    @property
    def needs_latency(self) -> bool:
        """True when a gate needs timing measurements."""
        return any(g.metric.startswith("latency") for g in self.gates)
