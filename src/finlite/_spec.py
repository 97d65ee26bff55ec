"""Sanity of a ``preprocessor.json`` before anything encodes with it (torch- and pandas-free).

Both readers of the file, the pandas :class:`finlite.data.preprocess.Preprocessor` and the
runtime :class:`finlite.runtime.encoder.Encoder`, call :func:`check_preprocessor_spec` first,
so a forged or damaged file fails the same way in both. A hash only says the file is the one
the manifest lists; this says its numbers can be used: a zero or non-finite scale, or a
non-finite centre, turns every score into NaN or infinity.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any, TypeGuard

from finlite._finite import SQUASH_MIN_SCALE, squash_one
from finlite._keys import OTHER, UNSEEN
from finlite.errors import DataError

__all__ = ["check_market_spec", "check_preprocessor_spec", "finite_number", "is_market_spec"]

_FORMAT = "finlite.preprocessor/2"
#: A file with a squashed numeric column (preprocess.Encoding.extremes): a reader of version 2
#: would ignore the squash and standardise raw values by the squashed values' mean and spread,
#: so such a file says it needs a newer reader (a review, 2026-12-05).
FORMAT_SQUASHED = "finlite.preprocessor/3"
_FORMATS = ("finlite.preprocessor/1", _FORMAT, FORMAT_SQUASHED)  # version 1: one-hot over every training value
_ENCODINGS = ("onehot", "woe", "target")
_PARSES = ("number", "money", "percent")
# Most values one categorical column may list (kept + other): a training split of 900,000 rows has
# fewer; far more is a forged file meant to exhaust memory.
MAX_VALUES = 5_000_000
_F32_MAX = 3.4028234663852886e38  # the largest float32, as finlite._finite.F32_MAX
#: The market preprocessor format this finlite reads, and the most features (a few per extra
#: column) and extra columns one may list: far above any real model, far below a forged file
#: meant to exhaust memory.
_MARKET_FORMAT = 1
MAX_MARKET_FEATURES = 4096
# What the manifest's schema and the preprocessor's spec must agree on.
_MARKET_KEYS = ("date_column", "target", "id_column", "volume_column", "objective", "horizon", "window")


def finite_number(value: Any) -> TypeGuard[float]:
    """True for a JSON number that is finite as a float (not a bool, not NaN/inf, not a huge int).

    A type guard: after a true answer the type checker treats ``value`` as a number.
    """
    # An int too large for a float (JSON allows 1e400 written out as digits) is not finite either.
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def check_preprocessor_spec(spec: Any, source: str = "preprocessor.json",
                            manifest_schema: Mapping[str, Any] | None = None) -> None:
    """Refuse a preprocessor spec whose numbers or names cannot encode records correctly.

    Checked: every numeric field has a text ``name``, finite ``median`` and ``mean``, a finite
    ``std`` above zero, a boolean ``indicator`` and a known ``parse`` rule; every categorical field
    has a text ``name``, a known ``encoding`` and lists of distinct text ``categories`` and
    ``other`` values (disjoint; at most 5,000,000 over all fields); a weight-of-evidence / target field
    has one finite ``values`` entry per category (within float32) and a finite ``default``;
    the ``encoding`` settings are in range; feature names are unique; the lists agree with the
    spec's own schema (and with ``manifest_schema``, the artifact manifest's, when given: the
    spec's schema must then name its target and classes, and the same as the manifest's).
    Version 1 files (only names and categories) pass as one-hot fields.

    Raises:
        DataError: naming ``source``, the field and the value, and how to fix it.
    """
    def bad(what: str) -> DataError:
        return DataError(f"{source} is not usable: {what}. The file is damaged or was edited; re-create the "
                         "artifact (or re-fit the preprocessor).")

    if not isinstance(spec, Mapping) or spec.get("format") not in _FORMATS:
        raise DataError(f"{source} is not a finlite preprocessor (expected format {_FORMAT!r} or "
                        f"{FORMAT_SQUASHED!r}); a newer finlite may have written it.")
    v1 = spec["format"] == _FORMATS[0]
    if not v1:
        _check_encoding(spec.get("encoding"), bad)
    numeric, categorical, schema = spec.get("numeric"), spec.get("categorical"), spec.get("schema")
    if not isinstance(numeric, list) or not isinstance(categorical, list) or not isinstance(schema, Mapping):
        raise bad("'numeric' and 'categorical' must be lists and 'schema' an object")
    if not v1:
        _check_known_keys(spec, numeric, categorical, schema, source)
    if manifest_schema is not None:  # an artifact's: what it scores for is part of what it is
        target = schema.get("target")
        if not isinstance(target, str) or not target or "positive" not in schema or "negative" not in schema:
            raise bad("its schema names no target column with its positive and negative classes")
        if not isinstance(manifest_schema, Mapping):
            raise bad(f"the artifact manifest's schema is {type(manifest_schema).__name__}, not an object")
        for key in ("target", "positive", "negative"):
            if manifest_schema.get(key) != schema[key]:
                raise bad(f"its schema's {key} {schema[key]!r:.80} differs from the artifact manifest's "
                          f"{manifest_schema.get(key)!r:.80}")
    names: list[str] = []
    values_seen = 0
    for i, item in enumerate(numeric):
        if not isinstance(item, Mapping) or not isinstance(item.get("name"), str) or not item["name"]:
            raise bad(f"numeric field #{i} has no text 'name'")
        name = item["name"]
        for key in ("median", "mean"):
            if not finite_number(item.get(key)):
                raise bad(f"numeric field {name!r} has {key} {item.get(key)!r}, not a finite number")
        std = item.get("std")
        if not finite_number(std) or not 0 < std <= _F32_MAX:
            # Above float32's range every value of the field would standardise to 0: the field
            # silently ignored (1e308 was accepted: a review of hostile files, 2026-12-03).
            raise bad(f"numeric field {name!r} has std {std!r}; the scale must be a finite number above zero "
                      "and within float32's range (a zero scale would make every score NaN)")
        squashed = item.get("squash")
        if "squash" in item:
            # A squashed column (preprocess.Encoding.extremes): its values are read as d / (1 + |d|),
            # d = (value - center) / scale, before (u - mean) / std; u lies within -1..1.
            if spec.get("format") != FORMAT_SQUASHED or (isinstance(spec.get("encoding"), Mapping)
                                                          and spec["encoding"].get("extremes") != "squash"):
                raise bad(f"numeric field {name!r} is squashed in a file whose format or encoding says nothing is "
                          f"(format {FORMAT_SQUASHED!r} and encoding extremes 'squash' go with a squash)")
            if not isinstance(squashed, Mapping) or set(squashed) != {"center", "scale"} \
                    or not finite_number(squashed["center"]) or not finite_number(squashed["scale"]) \
                    or not SQUASH_MIN_SCALE <= squashed["scale"] <= _F32_MAX or abs(squashed["center"]) > _F32_MAX:
                raise bad(f"numeric field {name!r} has squash {squashed!r:.80}, not a center and a scale of at least "
                          f"{SQUASH_MIN_SCALE:g} (finite float32 numbers)")
            if "low" not in item or "high" not in item:
                raise bad(f"numeric field {name!r} is squashed but records no training range (low and high), which "
                          "training writes with every squash")
            if not (abs(item["mean"]) <= 1 and std <= 1 and (1 + abs(item["mean"])) / std <= _F32_MAX):
                # Training writes the mean and spread of values within -1..1: no other could be.
                raise bad(f"numeric field {name!r} is squashed, and its mean {item['mean']!r:.40} and std {std!r:.40} "
                          "are not those of values within -1 to 1")
        median_read = item["median"] if squashed is None else squash_one(item["median"], squashed["center"],
                                                                             squashed["scale"])
        if not abs((median_read - item["mean"]) / std) <= _F32_MAX:
            # A missing value is imputed with the median: standardised beyond float32 it would reach
            # the model as infinity. Training never writes this (|median - mean| <= the scale).
            raise bad(f"numeric field {name!r} has median {item['median']!r} so far from its mean {item['mean']!r} "
                      f"(scale {std!r}) that an imputed missing value would overflow float32")
        if "low" in item or "high" in item:  # the training range (artifacts from 2026-12-03 on)
            low, high = item.get("low"), item.get("high")
            if not (finite_number(low) and finite_number(high) and low <= item["median"] <= high
                    and abs(low) <= _F32_MAX and abs(high) <= _F32_MAX):
                # The median imputes a missing value: outside the range, paths would disagree on it.
                raise bad(f"numeric field {name!r} has training range {low!r:.40} to {high!r:.40}, not two finite "
                          f"float32 numbers around its median {item['median']!r:.40}")
            # The mean and the spread of values within the range lie within it: a mean of 1e9 for
            # amounts of 250 to 18,424 approved every applicant, a scale of 3e38 ignored the field
            # (a review of hostile files, 2026-12-04). A column constant in training is scaled by 1,
            # whatever the range (widened to every split's values) says.
            if squashed is not None:  # the range as the mean and spread are computed: squashed
                # Training's centre and scale are a median and a percentile range of values within
                # the range: a scale wider than the range would squash every value to about one
                # number (the field ignored).
                if not (low <= squashed["center"] <= high and squashed["scale"] <= high - low):
                    raise bad(f"numeric field {name!r} has squash center {squashed['center']!r:.40} and scale "
                              f"{squashed['scale']!r:.40}, not a centre within its training range {low!r:.40} to "
                              f"{high!r:.40} and a scale at most that range")
                low, high = (squash_one(v, squashed["center"], squashed["scale"]) for v in (low, high))
            slack = 1e-6 * max(abs(low), abs(high), 1.0)
            if not low - slack <= item["mean"] <= high + slack:
                raise bad(f"numeric field {name!r} has mean {item['mean']!r:.40} outside its training range {low!r:.40} "
                          f"to {high!r:.40}, which holds every value it was computed from")
            if not (std <= (high - low) / 2 * (1 + 1e-6) + slack or std == 1.0):
                raise bad(f"numeric field {name!r} has std {std!r:.40}, more than half its training range {low!r:.40} "
                          f"to {high!r:.40}, which no spread of values within that range has")
        if not isinstance(item.get("indicator"), bool):
            raise bad(f"numeric field {name!r} has indicator {item.get('indicator')!r}, not true or false")
        if item.get("parse", "number") not in _PARSES:
            raise bad(f"numeric field {name!r} has parse rule {item.get('parse')!r:.40}, not one of {', '.join(_PARSES)}")
        names.append(name)
    for i, item in enumerate(categorical):
        if not isinstance(item, Mapping) or not isinstance(item.get("name"), str) or not item["name"]:
            raise bad(f"categorical field #{i} has no text 'name'")
        name, categories = item["name"], item.get("categories")
        if not isinstance(categories, list) or not all(isinstance(c, str) for c in categories):
            raise bad(f"categorical field {name!r} has categories {categories!r:.80}, not a list of text values")
        other = item.get("other", [])
        if not isinstance(other, list) or not all(isinstance(c, str) for c in other):
            raise bad(f"categorical field {name!r} has other values {other!r:.80}, not a list of text values")
        values_seen += len(categories) + len(other)
        if values_seen > MAX_VALUES:  # per field and over all fields: each value costs memory at load
            raise bad(f"categorical field {name!r} brings the values listed to {values_seen:,}, more than the "
                      f"{MAX_VALUES:,} finlite accepts in one preprocessor")
        if len(set(categories).union(other)) != len(categories) + len(other):
            raise bad(f"categorical field {name!r} lists a category twice")
        kind = item.get("encoding", "onehot")
        if kind not in _ENCODINGS or (v1 and kind != "onehot"):
            raise bad(f"categorical field {name!r} has encoding {kind!r:.40}, not one of {', '.join(_ENCODINGS)}")
        if kind != "onehot":
            values, default = item.get("values"), item.get("default")
            if not isinstance(values, list) or len(values) != len(categories):
                raise bad(f"categorical field {name!r} needs one number in 'values' per category")
            for value in (*values, default):
                if not finite_number(value) or abs(value) > _F32_MAX:
                    raise bad(f"categorical field {name!r} has the {kind} value {value!r:.40}, not a finite number "
                              "within float32")
        names.append(name)
    # Counted in one pass: names.count per name is quadratic, hours on a forged file of 10^5 fields.
    repeated = sorted(n for n, k in Counter(names).items() if k > 1)
    if repeated:
        raise bad(f"field name(s) {', '.join(map(repr, repeated))} appear more than once")
    for rule in ("money", "percent"):
        listed_rule = schema.get(rule, [])
        if not isinstance(listed_rule, list) or not all(isinstance(m, str) for m in listed_rule) \
                or not set(listed_rule) <= set(names[:len(numeric)]):
            raise bad(f"its schema's {rule} columns {listed_rule!r:.80} are not among its numeric fields")
    both = set(schema.get("money", [])) & set(schema.get("percent", []))
    if both:
        raise bad(f"its schema lists {sorted(both)!r:.80} as both money and percent columns")
    for kind, listed in (("numeric", names[:len(numeric)]), ("categorical", names[len(numeric):])):
        declared = schema.get(kind, [])
        if not isinstance(declared, list) or declared != listed:
            raise bad(f"its {kind} fields {listed!r:.200} differ from its schema's {declared!r:.200}")
        recorded = manifest_schema.get(kind, []) if manifest_schema is not None else listed
        if not isinstance(recorded, list) or recorded != listed:
            raise bad(f"its {kind} fields {listed!r:.200} differ from the artifact manifest's schema {recorded!r:.200}")
    if "feature_names" in spec:
        # The encoded columns the file describes, in order, as the Preprocessor names them: a
        # category list reordered (or a field's encoding changed) without its names scored other
        # columns for each value (a review of hostile files, 2026-12-04).
        written = spec["feature_names"]
        expected = encoded_names(numeric, categorical)
        if written != expected:
            at = next((i for i, (a, b) in enumerate(zip(written, expected, strict=False)) if a != b),
                      min(len(written), len(expected))) if isinstance(written, list) else 0
            raise bad(f"its feature_names {str(written)[:120]} do not match the columns its fields encode "
                      f"(column {at}: {expected[at] if at < len(expected) else 'none'!r:.80} expected)")


#: The suffix of a numeric column's missing-value indicator among the encoded columns.
MISSING_SUFFIX = "__is_missing"


def encoded_names(numeric: Sequence[Mapping[str, Any]], categorical: Sequence[Mapping[str, Any]]) -> list[str]:
    """The encoded columns' names, in order, from a spec's fields (``name`` and ``indicator`` of
    each numeric field; ``name``, ``encoding`` (default one-hot), ``categories`` and ``other`` of
    each categorical one). The one rule: :meth:`finlite.data.preprocess.Preprocessor.feature_names`
    names its columns with it, and a spec whose ``feature_names`` differ is refused."""
    names: list[str] = [item["name"] for item in numeric]
    names.extend(f"{item['name']}{MISSING_SUFFIX}" for item in numeric if item["indicator"])
    valued = [item for item in categorical if item.get("encoding", "onehot") != "onehot"]
    names.extend(f"{item['name']}__{item['encoding']}" for item in valued)
    for item in categorical:
        if item.get("encoding", "onehot") == "onehot":
            names.extend(f"{item['name']}={c}" for c in item["categories"])
            if item.get("other"):
                names.append(f"{item['name']}={OTHER}")
            names.append(f"{item['name']}={UNSEEN}")
    return names


#: Every key a version 2 or 3 preprocessor.json may hold, by where it stands. Each changes how a
#: record is read or encoded, so a key outside them is refused, not passed over: a finlite that
#: ignored the training range (``low``/``high``) a later one wrote scored an amount of 5e6 that
#: the artifact refuses, exit 0 (an upgrade and rollback walk-through, 2026-12-07). A change that
#: adds one is read by the finlite that writes it and refused by every earlier one from here on.
KNOWN_KEYS: dict[str, frozenset[str]] = {
    "file": frozenset({"format", "schema", "encoding", "numeric", "categorical", "feature_names", "all_blank_rows"}),
    "encoding": frozenset({"max_categories", "min_category_count", "high_cardinality", "folds", "seed", "smoothing",
                           "numeric_center", "extremes", "group_column", "rare_values"}),
    "numeric": frozenset({"name", "median", "mean", "std", "indicator", "parse", "low", "high", "squash"}),
    "categorical": frozenset({"name", "encoding", "categories", "other", "values", "default"}),
    # finlite.data.schema.Schema's fields (a test holds them equal).
    "schema": frozenset({"target", "positive", "negative", "numeric", "categorical", "drop", "date_column", "task",
                         "money", "notes", "percent"}),
}


def _check_known_keys(spec: Mapping[str, Any], numeric: list[Any], categorical: list[Any],
                      schema: Mapping[str, Any], source: str) -> None:
    """Refuse a key this finlite does not know (see :data:`KNOWN_KEYS`), naming it and where."""
    encoding = spec.get("encoding")
    places: list[tuple[str, Any, str]] = [("file", spec, "at its top level"), ("schema", schema, "in its schema"),
                                          ("encoding", encoding, "in its encoding")]
    places += [("numeric", item, f"in numeric field {item.get('name')!r:.80}") for item in numeric
               if isinstance(item, Mapping)]
    places += [("categorical", item, f"in categorical field {item.get('name')!r:.80}") for item in categorical
               if isinstance(item, Mapping)]
    for kind, block, where in places:
        if not isinstance(block, Mapping):
            continue
        unknown = sorted(str(k) for k in block if k not in KNOWN_KEYS[kind])
        if unknown:
            raise DataError(f"{source} holds the field {unknown[0]!r:.80} {where}, which this finlite does not know: a "
                            "newer finlite may have written it, and scoring without it could decide otherwise than "
                            "the artifact was validated to. Use the finlite that made the artifact, or a newer one.")


def _check_encoding(encoding: Any, bad: Any) -> None:
    """The ``encoding`` block of a version 2 file: the settings of :class:`finlite.data.preprocess.Encoding`."""
    if not isinstance(encoding, Mapping):
        raise bad("'encoding' must be an object")
    bounds = {"max_categories": (1, 100_000), "min_category_count": (1, 2**31 - 1), "folds": (2, 20),
              "seed": (0, 2**32 - 1)}
    for key, (low, high) in bounds.items():
        value = encoding.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise bad(f"encoding {key} is {value!r:.40}, not a whole number from {low:,} to {high:,}")
    if encoding.get("high_cardinality") not in ("woe", "target", "onehot"):
        raise bad(f"encoding high_cardinality is {encoding.get('high_cardinality')!r:.40}, not woe, target or onehot")
    smoothing = encoding.get("smoothing")
    if not finite_number(smoothing) or not 0 <= smoothing <= 1e9:
        raise bad(f"encoding smoothing is {smoothing!r:.40}, not a finite number from 0 to 1e9")
    if encoding.get("numeric_center", "mean") not in ("mean", "median"):  # preprocess.NUMERIC_CENTERS
        raise bad(f"encoding numeric_center is {encoding.get('numeric_center')!r:.40}, not mean or median")
    if encoding.get("extremes", "scale") not in ("squash", "scale"):  # preprocess.EXTREMES
        raise bad(f"encoding extremes is {encoding.get('extremes')!r:.40}, not squash or scale")
    if encoding.get("rare_values", "listed") not in ("listed", "unseen"):  # preprocess.RARE_VALUES
        raise bad(f"encoding rare_values is {encoding.get('rare_values')!r:.40}, not listed or unseen")


def is_market_spec(spec: Any) -> bool:
    """True for a market (price series) preprocessor's JSON: an object with ``"kind": "market"``."""
    return isinstance(spec, Mapping) and spec.get("kind") == "market"


def check_market_spec(spec: Any, source: str = "preprocessor.json",
                      manifest_schema: Mapping[str, Any] | None = None) -> None:
    """Refuse a market preprocessor spec whose numbers or sizes cannot be used, before it is built.

    Checked: the kind and format; ``features`` is a list of distinct text names (at most
    :data:`MAX_MARKET_FEATURES`), ``mean`` and ``std`` one finite number per feature, every
    ``std`` above zero, ``spec`` an object whose extra columns are bounded; and, when
    ``manifest_schema`` (the artifact manifest's) is given, that it is a market schema
    describing the same columns, objective, horizon, window and features. The spec itself is
    validated further by :meth:`finlite.data.market.MarketPreprocessor.from_dict`.

    Raises:
        DataError: naming ``source``, the field and the value, and how to fix it.
    """
    def bad(what: str) -> DataError:
        return DataError(f"{source} is not usable: {what}. The file is damaged or was edited; re-create the "
                         "artifact (or retrain the model).")

    if not is_market_spec(spec) or spec.get("format") != _MARKET_FORMAT:
        raise DataError(f"{source} is not a finlite market preprocessor (expected kind 'market', format "
                        f"{_MARKET_FORMAT}).")
    features = spec.get("features")
    if not isinstance(features, list) or not features or len(features) > MAX_MARKET_FEATURES:
        raise bad(f"'features' must list 1 to {MAX_MARKET_FEATURES:,} feature names")
    if not all(isinstance(name, str) and name for name in features):
        raise bad("'features' holds a name that is not non-empty text")
    repeated = sorted(n for n, k in Counter(features).items() if k > 1)
    if repeated:
        raise bad(f"feature name(s) {', '.join(map(repr, repeated))} appear more than once")
    for key in ("mean", "std"):
        values = spec.get(key)
        if not isinstance(values, list) or len(values) != len(features):
            raise bad(f"{key!r} must hold one number per feature ({len(features)})")
        for name, value in zip(features, values, strict=True):
            if not finite_number(value) or abs(value) > _F32_MAX:
                raise bad(f"feature {name!r} has {key} {value!r:.40}, not a finite number within float32")
            if key == "std" and value <= 0:
                raise bad(f"feature {name!r} has std {value!r}; the scale must be above zero (a zero scale would "
                          "make every forecast NaN)")
    inner = spec.get("spec")
    if not isinstance(inner, Mapping):
        raise bad("'spec' must be an object (the market spec)")
    extra = inner.get("extra_columns", [])
    if not isinstance(extra, list) or len(extra) > MAX_MARKET_FEATURES:
        raise bad(f"'spec.extra_columns' must be a list of at most {MAX_MARKET_FEATURES:,} column names")
    if manifest_schema is None:
        return
    if manifest_schema.get("kind") != "market":
        raise bad("it is a market preprocessor, but the artifact manifest's schema is not a market schema")
    for key in _MARKET_KEYS:
        if manifest_schema.get(key) != inner.get(key):
            raise bad(f"its {key} {inner.get(key)!r:.60} differs from the artifact manifest's "
                      f"{manifest_schema.get(key)!r:.60}")
    if list(manifest_schema.get("extra_columns", [])) != list(extra):
        raise bad(f"its extra columns {extra!r:.80} differ from the artifact manifest's")
    if list(manifest_schema.get("features", [])) != features:
        raise bad("its features differ from the artifact manifest's schema")
