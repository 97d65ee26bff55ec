"""Sanity of a ``preprocessor.json`` before anything encodes with it (torch- and pandas-free).

Both readers of the file, the pandas :class:`finlite.data.preprocess.Preprocessor` and the
runtime :class:`finlite.runtime.encoder.Encoder`, call :func:`check_preprocessor_spec` first,
so a forged or damaged file fails the same way in both. A hash only says the file is the one
the manifest lists; this says its numbers can be used: a zero or non-finite scale, or a
non-finite centre, turns every score into NaN or infinity.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from finlite.errors import DataError

__all__ = ["check_preprocessor_spec", "finite_number"]

_FORMAT = "finlite.preprocessor/1"
_F32_MAX = 3.4028234663852886e38  # the largest float32, as finlite._finite.F32_MAX


def finite_number(value: Any) -> bool:
    """True for a JSON number that is finite as a float (not a bool, not NaN/inf, not a huge int)."""
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
    ``std`` above zero and a boolean ``indicator``; every categorical field has a text ``name``
    and a list of distinct text ``categories``; feature names are unique; the lists agree with
    the spec's own schema (and with ``manifest_schema``, the artifact manifest's, when given).

    Raises:
        DataError: naming ``source``, the field and the value, and how to fix it.
    """
    def bad(what: str) -> DataError:
        return DataError(f"{source} is not usable: {what}. The file is damaged or was edited; re-create the "
                         "artifact (or re-fit the preprocessor).")

    if not isinstance(spec, Mapping) or spec.get("format") != _FORMAT:
        raise DataError(f"{source} is not a finlite preprocessor (expected format {_FORMAT!r}).")
    numeric, categorical, schema = spec.get("numeric"), spec.get("categorical"), spec.get("schema")
    if not isinstance(numeric, list) or not isinstance(categorical, list) or not isinstance(schema, Mapping):
        raise bad("'numeric' and 'categorical' must be lists and 'schema' an object")
    names: list[str] = []
    for i, item in enumerate(numeric):
        if not isinstance(item, Mapping) or not isinstance(item.get("name"), str) or not item["name"]:
            raise bad(f"numeric field #{i} has no text 'name'")
        name = item["name"]
        for key in ("median", "mean"):
            if not finite_number(item.get(key)):
                raise bad(f"numeric field {name!r} has {key} {item.get(key)!r}, not a finite number")
        std = item.get("std")
        if not finite_number(std) or std <= 0:
            raise bad(f"numeric field {name!r} has std {std!r}; the scale must be a finite number above zero "
                      "(a zero scale would make every score NaN)")
        if not abs((item["median"] - item["mean"]) / std) <= _F32_MAX:
            # A missing value is imputed with the median: standardised beyond float32 it would reach
            # the model as infinity. Training never writes this (|median - mean| <= the scale).
            raise bad(f"numeric field {name!r} has median {item['median']!r} so far from its mean {item['mean']!r} "
                      f"(scale {std!r}) that an imputed missing value would overflow float32")
        if not isinstance(item.get("indicator"), bool):
            raise bad(f"numeric field {name!r} has indicator {item.get('indicator')!r}, not true or false")
        names.append(name)
    for i, item in enumerate(categorical):
        if not isinstance(item, Mapping) or not isinstance(item.get("name"), str) or not item["name"]:
            raise bad(f"categorical field #{i} has no text 'name'")
        name, categories = item["name"], item.get("categories")
        if not isinstance(categories, list) or not all(isinstance(c, str) for c in categories):
            raise bad(f"categorical field {name!r} has categories {categories!r:.80}, not a list of text values")
        if len(set(categories)) != len(categories):
            raise bad(f"categorical field {name!r} lists a category twice")
        names.append(name)
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise bad(f"field name(s) {', '.join(map(repr, repeated))} appear more than once")
    for kind, listed in (("numeric", names[:len(numeric)]), ("categorical", names[len(numeric):])):
        declared = schema.get(kind, [])
        if list(declared) != listed:
            raise bad(f"its {kind} fields {listed} differ from its schema's {list(declared)}")
        if manifest_schema is not None and list(manifest_schema.get(kind, [])) != listed:
            raise bad(f"its {kind} fields {listed} differ from the artifact manifest's schema "
                      f"{list(manifest_schema.get(kind, []))}")
