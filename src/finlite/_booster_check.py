"""Structural check of a LightGBM or XGBoost model file, in Python, before the library reads it.

Both libraries trust their model files: a truncated LightGBM text model, a child index out of
range or a wrong array length makes them abort or segfault the whole process (LightGBM even
parses its trees on OpenMP threads, where its own errors turn into ``terminate``). finlite
therefore parses the file's structure here first, with bounded size and work, and refuses
anything that does not describe a well-formed binary classifier with numeric splits:

* LightGBM text: the header keys, the byte offsets in ``tree_sizes``, every ``Tree=`` block
  (array lengths, child indices that form one tree, split features within ``max_feature_idx``),
  the ``end of trees`` marker and the parameter lines.
* XGBoost JSON, and UBJSON through a small bounded decoder: learner / gradient_booster / model /
  trees, equal array lengths per tree, children and parents that form one tree, split indices
  below ``num_feature``, ``tree_info`` and ``iteration_indptr``.

The check never calls either library, so it cannot crash natively itself; every refusal is a
:class:`~finlite.errors.ConfigError` naming the file, what is wrong and how to fix it.
"""

from __future__ import annotations

import itertools
import json
import math
import re
import struct
from typing import Any, ClassVar

from finlite._util import StrictJSONError, strict_json_loads
from finlite.errors import ConfigError

__all__ = ["MAX_BOOSTER_BYTES", "MAX_DEPTH", "check_booster"]

MAX_BOOSTER_BYTES = 512 * 1024 * 1024  # 512 MiB: far above any credit or fraud ensemble
MAX_DEPTH = 256  # deepest tree accepted; the libraries' JSON dumps nest two levels per tree level
_MAX_FEATURES = 1_000_000
_MAX_LEAVES = 131_072  # LightGBM's own upper limit on num_leaves
_MAX_NODES = 2 * _MAX_LEAVES
_MAX_TREES = 1_000_000
# Values decoded from one JSON/UBJSON file at most (each costs a Python object): about 30 times
# what a 1,000-tree XGBoost model of depth 8 holds, and a bound on the checker's own memory.
_MAX_ITEMS = 32_000_000
_INT32 = 2**31 - 1
_FIX = "Save the model again with booster.save_model(path) from the library that trained it"


class _Bad(Exception):
    """Internal: what is wrong, turned into a ConfigError naming the file by :func:`check_booster`."""


class _Unsupported(_Bad):
    """Internal: a well-formed model of a kind finlite does not take (saving it again will not help)."""


def check_booster(raw: bytes, source: str, objective: str = "binary") -> str:
    """Check that ``raw`` is a well-formed LightGBM or XGBoost binary classifier (or, with
    ``objective="regression"``, a squared-error regression); return its library.

    Args:
        raw: the model file's bytes (LightGBM text, XGBoost JSON or XGBoost UBJSON).
        source: how to name the file in messages (a path, or "the artifact's booster").
        objective: "binary" (imported files and credit teachers) or "regression" (a boosted
            forecaster that finlite trained on windows of a series).

    Returns:
        "lightgbm" or "xgboost".

    Raises:
        ConfigError: the bytes are not such a model, naming what is wrong and the fix.
    """
    if len(raw) > MAX_BOOSTER_BYTES:
        raise ConfigError(f"{source} is {len(raw):,} bytes; finlite reads booster files up to "
                          f"{MAX_BOOSTER_BYTES // 2**20} MiB. Pass a smaller model (fewer or shallower trees).")
    if not raw.strip():
        raise ConfigError(f"{source} is empty. {_FIX}: LightGBM as text, XGBoost as .json or .ubj.")
    if raw.startswith((b"tree\n", b"tree\r\n")):
        library, check = "lightgbm", _check_lightgbm
    elif raw.startswith(b"{"):
        library, check = "xgboost", _check_xgboost
    else:
        raise ConfigError(f"{source} is neither a LightGBM text model nor an XGBoost JSON/UBJSON model (the first "
                          f"starts with the line 'tree', the second with '{{'). {_FIX}: LightGBM with "
                          "booster.save_model('model.txt'), "
                          "XGBoost with booster.save_model('model.json').")
    if objective not in _OBJECTIVE_NAMES:
        raise ConfigError(f"check_booster's objective must be 'binary' or 'regression'; got {objective!r}.",
                          param="objective")
    try:
        check(raw, objective)
    except _Unsupported as exc:
        kind = "LightGBM" if library == "lightgbm" else "XGBoost"
        need = _OBJECTIVE_NAMES[objective].split(" (")[0]
        raise ConfigError(f"{source} is a {kind} model finlite cannot use: {exc}. Train {need} on numeric columns "
                          "(plain trees, no categorical or linear ones) and save that.") from None
    except _Bad as exc:
        kind = "LightGBM" if library == "lightgbm" else "XGBoost"
        raise ConfigError(f"{source} is not a valid {kind} model: {exc}. {_FIX}; finlite checks the file before "
                          f"{library} reads it, because a malformed file can crash the library.") from None
    except RecursionError:  # defensive: every parser below bounds its depth
        raise ConfigError(f"{source} is nested too deeply to be a model file. {_FIX}.") from None
    return library


# -- LightGBM text --------------------------------------------------------------------------------
_INT_RE = re.compile(r"[+-]?\d{1,18}")
# Plain decimal numbers only: LightGBM writes no nan in a tree, and inf only as a split threshold
# (blanks against every number: _floats(infinite=True)); its fast parser's handling of other such
# words (and of overflowing exponents) is not worth trusting.
_FLOAT_RE = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d{1,3})?")
_PARAM_RE = re.compile(r"\[[A-Za-z0-9_]+: [^\x00-\x1f]*\]")
_NUM = r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d{1,3})?"
_INFO_RE = re.compile(rf"none|\[{_NUM}:{_NUM}\]|-?\d+(?::-?\d+)*")
# Names the libraries write into their own JSON dumps unescaped (LightGBM refuses them when training).
_BAD_NAME = re.compile(r'[\x00-\x1f"\\,:\[\]{}<]')
_TREE_KEYS = {"num_leaves", "num_cat", "split_feature", "split_gain", "threshold", "decision_type", "left_child",
              "right_child", "leaf_value", "leaf_weight", "leaf_count", "internal_value", "internal_weight",
              "internal_count", "is_linear", "shrinkage", "cat_boundaries", "cat_threshold",
              # a linear tree's fields: known, so such a file is named as a linear tree (refused below)
              "leaf_const", "leaf_features", "leaf_coeff", "num_features"}
_HEADER_REQUIRED = ("version", "num_class", "num_tree_per_iteration", "label_index", "max_feature_idx", "objective",
                    "feature_names", "feature_infos", "tree_sizes")
_LGB_OBJECTIVE = re.compile(r"(binary( sigmoid:[0-9.eE+-]+)?|cross_entropy|xentropy)")
# A squared-error regression (what LightGBM writes for objective=regression / l2 / mse); not
# "regression sqrt" (reg_sqrt), whose raw output is the square root of the forecast.
_LGB_REGRESSION = re.compile(r"regression(_l2)?")
#: Per expected objective: LightGBM's header pattern, XGBoost's objective names, and the words
#: for messages. A binary booster's raw output is log-odds; a regression's is the forecast.
_OBJECTIVE_NAMES = {"binary": "a binary classifier (objective 'binary' or 'cross_entropy')",
                    "regression": "a squared-error regression (objective 'regression')"}
_LGB_OBJECTIVES = {"binary": _LGB_OBJECTIVE, "regression": _LGB_REGRESSION}


def _int(text: str, what: str, low: int = -_INT32 - 1, high: int = _INT32) -> int:
    if not _INT_RE.fullmatch(text):
        raise _Bad(f"{what} is {text[:40]!r}, not an integer")
    value = int(text)
    if not low <= value <= high:
        raise _Bad(f"{what} is {value}, outside {low}..{high}")
    return value


def _tokens(text: str) -> list[str]:
    """Space-separated values as the libraries split them: on ' ' only, empty pieces skipped."""
    return [t for t in text.split(" ") if t]


def _floats(text: str, n: int, what: str, *, infinite: bool = False) -> list[float]:
    """``n`` finite numbers (``infinite``: ``inf`` and ``-inf`` too, never NaN)."""
    items = _tokens(text)
    if len(items) != n:
        raise _Bad(f"{what} has {len(items)} values but needs {n}")
    out = []
    for item in items:
        value = float(item) if _FLOAT_RE.fullmatch(item) else math.nan
        if infinite and item in ("inf", "-inf"):
            value = float(item)
        elif not math.isfinite(value):
            raise _Bad(f"{what} holds {item[:40]!r}, not a finite number")
        out.append(value)
    return out


def _ints(text: str, n: int, what: str, low: int = -_INT32 - 1, high: int = _INT32) -> list[int]:
    items = _tokens(text)
    if len(items) != n:
        raise _Bad(f"{what} has {len(items)} values but needs {n}")
    return [_int(item, what, low, high) for item in items]


def _check_lightgbm(raw: bytes, objective: str = "binary") -> None:
    # The library receives the model as a C string: a NUL byte would silently cut it short.
    if b"\x00" in raw:
        raise _Bad("it contains a NUL byte")
    if b"\r" in raw:
        raise _Bad("it has Windows line endings (\\r\\n), which shift the byte offsets in its tree_sizes line")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _Bad(f"it is not UTF-8 text (byte {exc.start})") from None
    # Header: key=value lines up to the first Tree= line.
    header: dict[str, str] = {}
    pos = 0
    first = True
    while True:
        if pos >= len(text):
            raise _Bad("it has no trees (no 'Tree=' line): the file is truncated or empty")
        end = text.find("\n", pos)
        end = len(text) if end < 0 else end
        line = text[pos:end]
        if line.startswith("Tree="):
            break
        if first:
            if line != "tree":
                raise _Bad("the first line is not 'tree'")
            first = False
        elif line:
            key, eq, value = line.partition("=")
            if not eq and key not in ("average_output",):
                raise _Bad(f"header line {line[:60]!r} is not key=value")
            if "=" in value and key not in ("feature_names", "monotone_constraints"):
                raise _Bad(f"header line {line[:60]!r} holds more than one '='")
            if key in header:
                raise _Bad(f"header key {key!r} appears twice")
            header[key] = value
        pos = end + 1
    missing = [k for k in _HEADER_REQUIRED if k not in header]
    if missing == ["objective"]:
        # LightGBM writes no objective line for a booster trained with a custom objective (a Python
        # function): the file is valid, its scores are no probability finlite can read (it said
        # "save the model again": a bring-your-own-model walk-through, 2026-12-07).
        raise _Unsupported("the header names no objective, as LightGBM writes a booster trained with a custom "
                           f"objective function; finlite reads {_OBJECTIVE_NAMES[objective]}")
    if missing:
        raise _Bad(f"the header lacks {', '.join(missing)}")
    if _int(header["num_class"], "num_class") != 1 or _int(header["num_tree_per_iteration"],
                                                            "num_tree_per_iteration") != 1:
        # Several classes is a model of another kind; one class and not one tree a round, a broken file.
        kind = _Unsupported if _int(header["num_class"], "num_class") > 1 else _Bad
        raise kind(f"num_class={header['num_class']} and num_tree_per_iteration={header['num_tree_per_iteration']}, "
                   "but finlite's boosted teachers are binary classifiers (both 1)")
    if not _LGB_OBJECTIVES[objective].fullmatch(header["objective"]):
        raise _Unsupported(f"objective is {header['objective'][:60]!r}; finlite needs {_OBJECTIVE_NAMES[objective]}")
    _int(header["label_index"], "label_index", 0)
    if header.get("linear_tree", "0") not in ("0", ""):
        raise _Unsupported("linear_tree is set; finlite reads plain trees only")
    n_features = _int(header["max_feature_idx"], "max_feature_idx", 0, _MAX_FEATURES - 1) + 1
    for key in ("feature_names", "feature_infos", "monotone_constraints"):
        if key in header and len(_tokens(header[key])) != n_features:
            raise _Bad(f"{key} lists {len(_tokens(header[key]))} features but max_feature_idx says {n_features}")
    for name in _tokens(header["feature_names"]):
        if _BAD_NAME.search(name):
            raise _Bad(f"feature name {name[:40]!r} holds a character LightGBM does not allow in names")
    for info in _tokens(header["feature_infos"]):
        if not _INFO_RE.fullmatch(info):
            raise _Bad(f"feature_infos holds {info[:40]!r}, not '[min:max]', 'none' or category values")
    sizes = _ints(header["tree_sizes"], len(_tokens(header["tree_sizes"])), "tree_sizes", 1, MAX_BOOSTER_BYTES)
    if not sizes or len(sizes) > _MAX_TREES:
        raise _Bad(f"tree_sizes lists {len(sizes)} trees")
    # The library jumps to each tree by these byte offsets (counted in bytes, from the first Tree=
    # line), on parallel threads: every offset must land exactly on its own block.
    start = len(text[:pos].encode("utf-8"))
    for i, size in enumerate(sizes):
        block = raw[start:start + size]
        if len(block) != size:
            raise _Bad(f"tree {i}: tree_sizes says {size} bytes but the file ends first (it is truncated)")
        following = raw[start + size:start + size + 12]
        if not (following.startswith(b"Tree=") if i + 1 < len(sizes) else following == b"end of trees"):
            # Measure the block as laid out, to say how far off the byte count is.
            nxt = [raw.find(marker, start + 1) for marker in (b"\nTree=", b"\nend of trees")]
            actual = min((n for n in nxt if n >= 0), default=len(raw) - 1) + 1 - start
            if actual != size:
                raise _Bad(f"tree {i}: tree_sizes says {size} bytes but the tree takes {actual} bytes (a tree was "
                           "edited or cut short, or tree_sizes is wrong)")
        _check_lgb_tree(i, block.decode("utf-8", errors="replace"), n_features)
        start += size
    rest = raw[start:]
    if not rest.startswith(b"end of trees\n") and rest != b"end of trees":
        got = rest[:30].decode("utf-8", errors="replace")
        raise _Bad(f"the {len(sizes)} trees of tree_sizes are not followed by 'end of trees' "
                   f"(found {got!r}): the file is truncated or tree_sizes is wrong")
    _check_lgb_tail(rest.decode("utf-8"))


def _check_lgb_tree(i: int, block: str, n_features: int) -> None:
    lines = block.split("\n")
    if not lines or not re.fullmatch(r"Tree=\d{1,9}", lines[0]) or int(lines[0][5:]) != i:
        raise _Bad(f"tree {i}: its block does not start with 'Tree={i}' (tree_sizes does not match the trees)")
    fields: dict[str, str] = {}
    k = 1
    while k < len(lines) and lines[k]:
        key, eq, value = lines[k].partition("=")
        if not eq:
            raise _Bad(f"tree {i}: line {lines[k][:40]!r} is not key=value")
        if key not in _TREE_KEYS:
            raise _Bad(f"tree {i}: unknown field {key[:40]!r}")
        if key in fields:
            raise _Bad(f"tree {i}: field {key!r} appears twice")
        fields[key] = value
        k += 1
    # A block ends with a blank line; what follows, up to the next tree, must be blank too.
    if k >= len(lines) or any(lines[k:]):
        raise _Bad(f"tree {i}: the block does not end with a blank line (tree_sizes does not match the trees)")
    for key in ("num_leaves", "num_cat", "leaf_value"):
        if key not in fields:
            raise _Bad(f"tree {i}: the {key} field is missing")
    leaves = _int(fields["num_leaves"], f"tree {i}: num_leaves", 1, _MAX_LEAVES)
    if _int(fields["num_cat"], f"tree {i}: num_cat") != 0 or "cat_boundaries" in fields or "cat_threshold" in fields:
        raise _Unsupported(f"tree {i}: it has categorical splits; finlite reads boosters with numeric splits only")
    if "is_linear" in fields and _int(fields["is_linear"], f"tree {i}: is_linear") != 0:
        raise _Unsupported(f"tree {i}: it is a linear tree (linear_tree=true); finlite reads plain trees only")
    _floats(fields["leaf_value"], leaves, f"tree {i}: leaf_value")
    if "shrinkage" in fields:
        _floats(fields["shrinkage"], 1, f"tree {i}: shrinkage")
    # A tree that found no split (one leaf: a constant) is written with an empty leaf_weight.
    if "leaf_weight" in fields and not (leaves == 1 and not fields["leaf_weight"].strip()):
        _floats(fields["leaf_weight"], leaves, f"tree {i}: leaf_weight")
    if "leaf_count" in fields:
        _ints(fields["leaf_count"], leaves, f"tree {i}: leaf_count", 0)
    splits = leaves - 1
    if splits == 0:
        return
    for key in ("split_feature", "threshold", "decision_type", "left_child", "right_child"):
        if key not in fields:
            raise _Bad(f"tree {i}: {leaves} leaves but no {key} field")
    for key in ("split_gain", "internal_value", "internal_weight"):
        if key in fields:
            _floats(fields[key], splits, f"tree {i}: {key}")
    if "internal_count" in fields:
        _ints(fields["internal_count"], splits, f"tree {i}: internal_count", 0)
    features = _tokens(fields["split_feature"])
    if len(features) != splits:
        raise _Bad(f"tree {i}: {leaves} leaves but {len(features)} split features (needs {splits})")
    _ints(fields["split_feature"], splits, f"tree {i}: split_feature", 0, n_features - 1)
    # LightGBM writes threshold=inf for a split that sends blanks one way and every number the other
    # (a column with blanks; a review, 2026-12-03, found such files refused as malformed).
    _floats(fields["threshold"], splits, f"tree {i}: threshold", infinite=True)
    for d in _ints(fields["decision_type"], splits, f"tree {i}: decision_type", 0, 127):
        # bit 0: categorical; bit 1: default left; bits 2-3: missing type (0 none, 1 zero, 2 NaN).
        if d & 1 or d > 11 or (d >> 2) & 3 == 3:
            raise _Bad(f"tree {i}: decision_type {d} is not a numeric split")
    left = _ints(fields["left_child"], splits, f"tree {i}: left_child", -leaves, splits - 1)
    right = _ints(fields["right_child"], splits, f"tree {i}: right_child", -leaves, splits - 1)
    _check_tree_shape(f"tree {i}", splits, leaves, left, right)


def _check_tree_shape(name: str, splits: int, leaves: int, left: list[int], right: list[int]) -> None:
    """LightGBM layout: node ``j`` < splits is internal; a child ``c < 0`` is leaf ``~c``."""
    seen_node = [False] * splits
    seen_leaf = [False] * leaves
    seen_node[0] = True
    stack = [(0, 0)]
    while stack:
        node, depth = stack.pop()
        if depth >= MAX_DEPTH:
            raise _Bad(f"{name} is deeper than {MAX_DEPTH} levels")
        for child in (left[node], right[node]):
            if child >= 0:
                if seen_node[child]:
                    raise _Bad(f"{name}: node {child} is reached twice (the children do not form a tree)")
                seen_node[child] = True
                stack.append((child, depth + 1))
            else:
                leaf = ~child
                if seen_leaf[leaf]:
                    raise _Bad(f"{name}: leaf {leaf} is reached twice (the children do not form a tree)")
                seen_leaf[leaf] = True
    if not all(seen_node) or not all(seen_leaf):
        raise _Bad(f"{name}: some nodes or leaves are not reachable from the root (the children do not form a tree)")


def _check_lgb_tail(rest: str) -> None:
    in_params = False
    for line in rest.split("\n"):
        if line == "parameters:":
            in_params = True
        elif line == "end of parameters":
            return
        elif in_params and line and not _PARAM_RE.fullmatch(line):
            raise _Bad(f"parameter line {line[:60]!r} is not '[name: value]'")
    if in_params:
        raise _Bad("the parameters section has no 'end of parameters' line (the file is truncated)")


# -- XGBoost JSON / UBJSON --------------------------------------------------------------------------
_XGB_OBJECTIVES = ("binary:logistic", "binary:logitraw", "reg:logistic")
_XGB_REGRESSION = ("reg:squarederror",)
_TREE_ARRAYS = ("base_weights", "default_left", "left_children", "right_children", "loss_changes", "parents",
                "split_conditions", "split_indices", "split_type", "sum_hessian")
_NO_PARENT = 2**31 - 1  # XGBoost's root parent (-1 stored in 31 bits)


def _check_xgboost(raw: bytes, objective: str = "binary") -> None:
    # JSON's first key (after any white space: a file pretty-printed for review, which XGBoost
    # loads) starts with '"'; UBJSON's with a length marker, never white space.
    if raw[1:].lstrip(b" \t\r\n")[:1] == b'"':
        model = _decode_json(raw)
    else:
        model = _Ubjson(raw).document()
    _check_xgb_model(model, objective)


def _decode_json(raw: bytes) -> Any:
    if raw.count(b",") > _MAX_ITEMS:
        raise _Bad(f"it holds more than {_MAX_ITEMS:,} values")
    depth = 0
    # Nesting bound before json.loads recurses; only the brackets are looped over (brackets
    # inside strings count too, which can only make the bound stricter).
    keep = b"[]{}"
    brackets = raw.translate(None, delete=bytes(b for b in range(256) if b not in keep))
    for byte in brackets:
        if byte in (0x5B, 0x7B):
            depth += 1
            if depth > 64:
                raise _Bad("it nests more than 64 levels")
        elif byte in (0x5D, 0x7D):
            depth -= 1

    try:
        return strict_json_loads(raw.decode("utf-8"))
    except StrictJSONError as exc:
        raise _Bad(str(exc)) from None
    except UnicodeDecodeError as exc:
        raise _Bad(f"it is not UTF-8 JSON (byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise _Bad(f"it is not complete JSON ({exc.msg} at byte {exc.pos}; a truncated file?)") from None


class _Ubjson:
    """Bounded decoder of the UBJSON subset XGBoost writes; every count is checked against the bytes left."""

    _SCALARS: ClassVar[dict[bytes, tuple[str, int]]] = {b"i": (">b", 1), b"U": (">B", 1), b"I": (">h", 2), b"l": (">i", 4),
                                              b"L": (">q", 8), b"d": (">f", 4), b"D": (">d", 8)}

    def __init__(self, raw: bytes) -> None:
        self.raw, self.pos, self.items = raw, 0, 0

    def spend(self, n: int) -> None:
        """Count decoded values against the budget before making them."""
        self.items += n
        if self.items > _MAX_ITEMS:
            raise _Bad(f"UBJSON holds more than {_MAX_ITEMS:,} values")

    def document(self) -> Any:
        value = self.value(0)
        if self.pos != len(self.raw):
            raise _Bad(f"UBJSON data ends at byte {self.pos} but the file has {len(self.raw)} bytes")
        return value

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.raw):
            raise _Bad(f"UBJSON data is cut off at byte {len(self.raw)} (the file is truncated)")
        out = self.raw[self.pos:self.pos + n]
        self.pos += n
        return out

    def count(self, marker: bytes) -> int:
        if marker not in (b"i", b"U", b"I", b"l", b"L"):
            raise _Bad(f"UBJSON length at byte {self.pos} has type {marker!r}, not an integer")
        fmt, size = self._SCALARS[marker]
        n = struct.unpack(fmt, self.take(size))[0]
        if n < 0 or n > len(self.raw) - self.pos:  # every element takes at least one byte
            raise _Bad(f"UBJSON length {n} at byte {self.pos} is larger than the rest of the file")
        return int(n)

    def value(self, depth: int, marker: bytes | None = None) -> Any:
        if depth > 64:
            raise _Bad("UBJSON nests more than 64 levels")
        if marker is None:
            marker = self.take(1)
        if marker in self._SCALARS:
            fmt, size = self._SCALARS[marker]
            return struct.unpack(fmt, self.take(size))[0]
        if marker == b"T":
            return True
        if marker == b"F":
            return False
        if marker == b"Z":
            return None
        if marker == b"S":
            return self.string()
        if marker == b"[":
            return self.array(depth)
        if marker == b"{":
            return self.object(depth)
        raise _Bad(f"UBJSON holds an unknown type marker {marker!r} at byte {self.pos - 1}")

    def string(self) -> str:
        data = self.take(self.count(self.take(1)))
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            raise _Bad(f"UBJSON string before byte {self.pos} is not UTF-8") from None

    def array(self, depth: int) -> list[Any]:
        kind: bytes | None = None
        if self.raw[self.pos:self.pos + 1] == b"$":
            self.take(1)
            kind = self.take(1)
            if kind not in self._SCALARS:  # XGBoost types arrays of numbers only
                raise _Bad(f"UBJSON typed array at byte {self.pos} has element type {kind!r}")
            if self.take(1) != b"#":
                raise _Bad(f"UBJSON typed array at byte {self.pos} has no count")
        if kind is not None or self.raw[self.pos:self.pos + 1] == b"#":
            if kind is None:
                self.take(1)
            n = self.count(self.take(1))
            self.spend(n)
            if kind is not None and kind in self._SCALARS:
                fmt, size = self._SCALARS[kind]
                data = self.take(n * size)  # checked against the bytes left before unpacking
                return list(struct.unpack(f">{n}{fmt[1]}", data))
            return [self.value(depth + 1, kind) for _ in range(n)]
        out: list[Any] = []
        while True:
            marker = self.take(1)
            if marker == b"]":
                return out
            self.spend(1)
            out.append(self.value(depth + 1, marker))

    def object(self, depth: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        counted = self.raw[self.pos:self.pos + 1] == b"#"
        n = -1
        if counted:
            self.take(1)
            n = self.count(self.take(1))
        while n != 0:
            if not counted and self.raw[self.pos:self.pos + 1] == b"}":
                self.take(1)
                return out
            self.spend(1)
            key = self.string()
            if key in out:
                raise _Bad(f"UBJSON key {key[:40]!r} appears twice in one object")
            out[key] = self.value(depth + 1)
            n -= 1
        return out


def _get(obj: Any, key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if not isinstance(obj, dict) or key not in obj:
        raise _Bad(f"{where} has no {key!r}")
    value = obj[key]
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise _Bad(f"{where}.{key} is a {type(value).__name__}")
    return value


def _num_str(obj: Any, key: str, where: str, low: int, high: int) -> int:
    """XGBoost stores model parameters as decimal strings ("13")."""
    text = _get(obj, key, str, where)
    return _int(text, f"{where}.{key}", low, high)


def _int_array(obj: Any, key: str, where: str, n: int, low: int, high: int) -> list[int]:
    values = _get(obj, key, list, where)
    if len(values) != n:
        raise _Bad(f"{where}: {key} has {len(values)} entries but needs {n}")
    for v in values:
        if isinstance(v, bool):
            v = int(v)
        if not isinstance(v, int) or not low <= v <= high:
            raise _Bad(f"{where}: {key} holds {v!r}, outside {low}..{high}")
    return [int(v) for v in values]


def _float_array(obj: Any, key: str, where: str, n: int) -> list[float]:
    values = _get(obj, key, list, where)
    if len(values) != n:
        raise _Bad(f"{where}: {key} has {len(values)} entries but num_nodes is {n}")
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        raise _Bad(f"{where}: {key} holds a value that is not a number")
    return [float(v) for v in values]


def _check_xgb_model(doc: Any, objective: str = "binary") -> None:
    learner = _get(doc, "learner", dict, "the file")
    version = _get(doc, "version", list, "the file")
    if len(version) != 3 or not all(isinstance(v, int) and not isinstance(v, bool) for v in version) \
            or not 1 <= version[0] < 100:
        raise _Bad(f"version is {version!r}, not [major, minor, patch] of XGBoost 1.0 or later")
    param = _get(learner, "learner_model_param", dict, "learner")
    n_features = _num_str(param, "num_feature", "learner_model_param", 1, _MAX_FEATURES)
    if _num_str(param, "num_class", "learner_model_param", 0, _INT32) > 1:
        raise _Unsupported("num_class is above 1, but finlite's boosted teachers are binary classifiers")
    if "num_target" in param and _num_str(param, "num_target", "learner_model_param", 1, _INT32) != 1:
        raise _Unsupported("num_target is not 1, but finlite's boosted teachers are binary classifiers")
    declared = _get(_get(learner, "objective", dict, "learner"), "name", str, "learner.objective")
    allowed = _XGB_OBJECTIVES if objective == "binary" else _XGB_REGRESSION
    if declared not in allowed:
        # XGBoost records its default, reg:squarederror, for a booster trained with a custom
        # objective function too (a walk-through, 2026-12-07).
        custom = (" (XGBoost also writes 'reg:squarederror' for a booster trained with a custom objective function: "
                  "train it with objective='binary:logistic')" if declared == "reg:squarederror" and objective == "binary"
                  else "")
        raise _Unsupported(f"objective is {declared[:40]!r}; finlite needs {_OBJECTIVE_NAMES[objective].split(' (')[0]} "
                           f"({', '.join(allowed)}){custom}")
    if "base_score" in param:
        _check_base_score(param["base_score"], declared)
    for key in ("feature_names", "feature_types"):
        if key in learner:
            names = _get(learner, key, list, "learner")
            if names and len(names) != n_features:
                raise _Bad(f"learner.{key} has {len(names)} entries but num_feature is {n_features}")
            if not all(isinstance(n, str) for n in names):
                raise _Bad(f"learner.{key} holds a value that is not a string")
            bad = [n for n in names if _BAD_NAME.search(n)]
            if bad:
                raise _Bad(f"learner.{key} holds {bad[0][:40]!r}, with a character XGBoost does not allow in names")
    if any(t not in ("float", "int", "i", "q") for t in learner.get("feature_types", [])):
        raise _Unsupported("learner.feature_types declares a categorical or unknown feature type; finlite reads "
                   "numeric features only")
    booster = _get(learner, "gradient_booster", dict, "learner")
    name = _get(booster, "name", str, "gradient_booster")
    if name == "dart":
        inner = _get(booster, "gbtree", dict, "gradient_booster")
        trees = _check_gbtree(_get(inner, "model", dict, "gradient_booster.gbtree"), n_features)
        drops = _float_array(booster, "weight_drop", "gradient_booster", trees)
        if not all(math.isfinite(d) for d in drops):
            raise _Bad("gradient_booster.weight_drop holds a non-finite value")
    elif name == "gbtree":
        _check_gbtree(_get(booster, "model", dict, "gradient_booster"), n_features)
    elif name == "gblinear":  # a valid file of a linear model ("save the model again" misled: a walk-through)
        raise _Unsupported("the booster is 'gblinear', a linear model; finlite reads tree boosters (gbtree or dart)")
    else:
        raise _Bad(f"the booster is {name[:40]!r}; finlite reads tree boosters (gbtree or dart)")


def _check_base_score(value: Any, objective: str) -> None:
    """XGBoost's starting prediction: a probability in (0, 1) for the logistic objectives, a finite
    margin otherwise. Outside that, XGBoost raised a traceback on load, or (at 1) the export
    divided by zero (a review, 2026-12-03). Written as "5E-1", or "[5E-1]" since XGBoost 3."""
    text = value.strip() if isinstance(value, str) else ""
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1].strip()
    try:
        number = float(text) if re.fullmatch(_NUM, text) else math.nan
    except ValueError:
        number = math.nan
    logistic = objective in ("binary:logistic", "reg:logistic")
    if not math.isfinite(number) or (logistic and not 0 < number < 1):
        shown = repr(value)[:40]
        raise _Bad(f"learner_model_param.base_score is {shown}, but "
                   + ("a logistic model's base_score is a probability strictly between 0 and 1"
                      if logistic else "base_score must be a finite number"))


def _check_gbtree(model: dict[str, Any], n_features: int) -> int:
    where = "gradient_booster.model"
    gparam = _get(model, "gbtree_model_param", dict, where)
    n_trees = _num_str(gparam, "num_trees", f"{where}.gbtree_model_param", 0, _MAX_TREES)
    if "num_parallel_tree" in gparam:
        _num_str(gparam, "num_parallel_tree", f"{where}.gbtree_model_param", 1, _MAX_TREES)
    trees = _get(model, "trees", list, where)
    if len(trees) != n_trees:
        raise _Bad(f"num_trees is {n_trees} but {len(trees)} trees are stored")
    _int_array(model, "tree_info", where, n_trees, 0, 0)  # one output group: every tree in group 0
    if "iteration_indptr" in model:
        ptr = _get(model, "iteration_indptr", list, where)
        ok = ptr and all(isinstance(p, int) and not isinstance(p, bool) for p in ptr) and ptr[0] == 0 \
            and ptr[-1] == n_trees and all(a <= b for a, b in itertools.pairwise(ptr))
        if not ok:
            raise _Bad("iteration_indptr does not run from 0 to num_trees in increasing steps")
    cats = model.get("cats")
    if isinstance(cats, dict) and any(cats.get(k) for k in ("enc", "feature_segments", "sorted_idx")):
        raise _Unsupported("the model encodes categorical features; finlite reads numeric features only")
    for i, tree in enumerate(trees):
        _check_xgb_tree(i, tree, n_features)
    return n_trees


def _check_xgb_tree(i: int, tree: Any, n_features: int) -> None:
    where = f"tree {i}"
    if not isinstance(tree, dict):
        raise _Bad(f"{where} is not an object")
    if "id" in tree and tree["id"] != i:
        raise _Bad(f"{where} has id {tree['id']!r}")
    tparam = _get(tree, "tree_param", dict, where)
    n = _num_str(tparam, "num_nodes", f"{where}.tree_param", 1, _MAX_NODES)
    tree_features = _num_str(tparam, "num_feature", f"{where}.tree_param", 0, _MAX_FEATURES)
    deleted = _num_str(tparam, "num_deleted", f"{where}.tree_param", 0, n - 1) if "num_deleted" in tparam else 0
    if "size_leaf_vector" in tparam and _num_str(tparam, "size_leaf_vector", f"{where}.tree_param", 0, 1) > 1:
        raise _Bad(f"{where} is a multi-output tree; finlite reads binary classifiers")
    width = min(n_features, tree_features) if tree_features else n_features
    for key in _TREE_ARRAYS:
        if key not in tree:
            raise _Bad(f"{where} has no {key!r}")
    left = _int_array(tree, "left_children", where, n, -1, n - 1)
    right = _int_array(tree, "right_children", where, n, -1, n - 1)
    parents = _int_array(tree, "parents", where, n, 0, _NO_PARENT)
    index = _int_array(tree, "split_indices", where, n, 0, _INT32)
    _int_array(tree, "default_left", where, n, 0, 1)
    if any(_int_array(tree, "split_type", where, n, 0, 1)):
        raise _Bad(f"{where} has categorical splits; finlite reads numeric splits only")
    for key in ("categories", "categories_nodes", "categories_segments", "categories_sizes"):
        if tree.get(key):
            raise _Bad(f"{where} has categorical splits ({key}); finlite reads numeric splits only")
    values = _float_array(tree, "split_conditions", where, n)
    for key in ("base_weights", "loss_changes", "sum_hessian"):
        _float_array(tree, key, where, n)
    if parents[0] != _NO_PARENT:
        raise _Bad(f"{where}: the root's parent is {parents[0]}, not none")
    # Walk from the root: every child in range, reached once, with its parent recorded.
    reached = [False] * n
    reached[0] = True
    stack = [(0, 0)]
    count = 1
    while stack:
        node, depth = stack.pop()
        if (left[node] < 0) != (right[node] < 0):
            raise _Bad(f"{where}: node {node} has only one child")
        if left[node] < 0:
            if not math.isfinite(values[node]):
                raise _Bad(f"{where}: leaf {node} has a non-finite value")
            continue
        if depth >= MAX_DEPTH:
            raise _Bad(f"{where} is deeper than {MAX_DEPTH} levels")
        if index[node] >= width:
            raise _Bad(f"{where}: node {node} splits on feature {index[node]} but the model has {width} features")
        if math.isnan(values[node]):
            raise _Bad(f"{where}: node {node} has a NaN threshold")
        for child in (left[node], right[node]):
            if child == 0 or reached[child]:
                raise _Bad(f"{where}: node {child} is reached twice (the children do not form a tree)")
            if parents[child] != node:
                raise _Bad(f"{where}: node {child} is a child of node {node} but records parent {parents[child]}")
            reached[child] = True
            count += 1
            stack.append((child, depth + 1))
    # Nodes the pruner deleted stay in the arrays, unreachable; they must be plain leaves.
    for node in range(n):
        if not reached[node] and (left[node] != -1 or right[node] != -1
                                  or not (parents[node] < n or parents[node] == _NO_PARENT)):
            raise _Bad(f"{where}: node {node} is not reachable from the root (the children do not form a tree)")
    if n - count > deleted:
        raise _Bad(f"{where}: {n - count} nodes are not reachable from the root but num_deleted is {deleted}")

