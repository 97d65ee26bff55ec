"""The PruningPlan: what pruning will remove, generated first, then saved, inspected, edited, applied.

A plan is plain data. Per layer it holds the weight shape, the importance score of every
candidate (a weight or a neuron), the indices that go, and the counts. Counts are stored so
a person can read a plan without a calculator; on load they must agree with the index lists.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from finlite._paths import FileTooLarge, read_small_file
from finlite._util import StrictJSONError, dump_json, is_whole, strict_json_loads, write_text_atomic
from finlite.errors import ConfigError, UnusablePlanError

__all__ = ["LayerPlan", "PruningPlan"]

_FORMAT = "finlite.pruning_plan/1"
# A plan stores one score per weight: a 1,000 x 1,000 layer is ~20 MB of JSON. Far larger is no plan.
MAX_PLAN_BYTES = 256 * 1024 * 1024
UNITS = ("weight", "neuron")


@dataclass
class LayerPlan:
    """The plan for one Linear layer.

    Attributes:
        name: the layer's module name in the model, e.g. ``layers.0``.
        shape: its weight shape ``[out_features, in_features]``.
        unit: "weight" (single weights, flat row-major indices) or "neuron" (output units).
        scores: importance of each candidate; lower goes first.
        pruned: indices of the candidates removed, ascending.
    """

    name: str
    shape: list[int]
    unit: str
    scores: list[float]
    pruned: list[int] = field(default_factory=list)

    @property
    def total(self) -> int:
        """Candidates in the layer (weights, or neurons)."""
        return len(self.scores)

    @property
    def kept(self) -> int:
        """Candidates that stay."""
        return self.total - len(self.pruned)

    def validate(self, where: str) -> None:
        """Raise ConfigError when indices are out of range, repeated, or remove everything."""
        if self.unit not in UNITS:
            raise ConfigError(f"{where}: unit must be one of {UNITS}; got {self.unit!r}.")
        if (not isinstance(self.shape, list) or len(self.shape) != 2
                or not all(is_whole(d) and d >= 1 for d in self.shape)):
            raise ConfigError(f"{where}: shape must be [rows, columns] of a weight matrix; got {self.shape!r:.80}.")
        if not isinstance(self.pruned, list) or not all(is_whole(i) for i in self.pruned):
            # checked before set(): a list or an object among the indices is unhashable
            raise ConfigError(f"{where}: 'pruned' must be a list of whole-number indices; got {self.pruned!r:.80}.")
        expected = self.shape[0] * self.shape[1] if self.unit == "weight" else self.shape[0]
        if self.total != expected:
            raise ConfigError(f"{where}: {self.total} scores for a {self.unit} plan of shape {self.shape}; "
                              f"expected {expected}.")
        if len(set(self.pruned)) != len(self.pruned):
            raise ConfigError(f"{where}: 'pruned' lists an index twice.")
        bad = [i for i in self.pruned if not isinstance(i, int) or not 0 <= i < self.total]
        if bad:
            raise ConfigError(f"{where}: pruned index {bad[0]!r} is outside 0..{self.total - 1}.")
        if self.unit == "neuron" and self.kept < 1:
            raise ConfigError(f"{where}: the plan removes all {self.total} neurons; keep at least one.")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form with the counts alongside the lists."""
        return {"name": self.name, "shape": list(self.shape), "unit": self.unit, "total": self.total,
                "pruned_count": len(self.pruned), "kept": self.kept,
                "pruned": list(self.pruned), "scores": list(self.scores)}


@dataclass
class PruningPlan:
    """Per-layer removals for one model, plus the method that produced them.

    Attributes:
        method: the pruning config as ``{"method": name, ...}``.
        model: the config of the model the plan was made for; the applied plan records the model it
            was applied to instead (the layers' shapes are what is checked).
        layers: one :class:`LayerPlan` per pruned layer, in forward order.
    """

    method: dict[str, Any]
    model: dict[str, Any]
    layers: list[LayerPlan]

    @property
    def unit(self) -> str:
        """"weight" for unstructured plans, "neuron" for structured ones."""
        return self.layers[0].unit if self.layers else "weight"

    def sparsity(self) -> float:
        """Share of candidates removed across all layers."""
        total = sum(layer.total for layer in self.layers)
        return sum(len(layer.pruned) for layer in self.layers) / total if total else 0.0

    def check_usable(self, where: str = "The pruning plan") -> None:
        """Refuse a weight plan after which no input reaches the output: a layer left without a
        weight, or layers in a chain whose kept weights no longer join (at sparsity 0.999 the
        first layer kept a weight into neuron 11 and the second one reading neuron 15). Either
        model gives every row the same score. Checked when a plan is made or applied, not when an
        artifact's recorded plan is read (the model was served as it is).

        Raises:
            UnusablePlanError: the plan cuts every path from the inputs to the output.
        """
        if self.unit != "weight" or not self.layers:
            return
        empty = next((layer for layer in self.layers if layer.kept < 1), None)
        if empty is not None:
            raise UnusablePlanError(f"{where} removes all {empty.total} weights of layer {empty.name!r}, so the model "
                                    "would give every row the same score; prune less (a lower --sparsity or "
                                    "layer_sparsity), or keep at least one weight in every layer.")
        shapes = [layer.shape for layer in self.layers]
        if any(shapes[i + 1][1] != shapes[i][0] for i in range(len(shapes) - 1)):
            return  # not one chain of layers: what joins them is not in the plan
        live: np.ndarray = np.ones(shapes[0][1], dtype=bool)  # every input reaches the first layer
        for layer in self.layers:
            kept = np.ones(layer.shape[0] * layer.shape[1], dtype=bool)
            kept[np.asarray(layer.pruned, dtype=np.int64)] = False
            # A neuron depends on the inputs when a kept weight reads a neuron that does.
            live = np.asarray((kept.reshape(layer.shape) & live[None, :]).any(axis=1))
            if not live.any():
                raise UnusablePlanError(f"{where} leaves no path from the inputs to the output: from layer "
                                        f"{layer.name!r} on, no kept weight reads a neuron that still depends on "
                                        "them, so the model would give every row the same score. Prune less (a lower "
                                        "--sparsity or layer_sparsity).")

    def summary(self) -> str:
        """A small table, one line per layer, for people reviewing the plan."""
        lines = [f"pruning plan ({self.method.get('method')}, unit={self.unit}, "
                 f"overall sparsity {self.sparsity():.1%})",
                 f"{'layer':<14}{'shape':>12}{'total':>9}{'pruned':>9}{'kept':>9}{'sparsity':>10}"]
        for layer in self.layers:
            share = len(layer.pruned) / layer.total if layer.total else 0.0
            lines.append(f"{layer.name:<14}{'x'.join(map(str, layer.shape)):>12}{layer.total:>9}"
                         f"{len(layer.pruned):>9}{layer.kept:>9}{share:>10.1%}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"format": _FORMAT, "method": self.method, "model": self.model,
                "sparsity": self.sparsity(), "layers": [layer.to_dict() for layer in self.layers]}

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "the plan") -> PruningPlan:
        """Rebuild a plan, checking its structure and that counts agree with the index lists."""
        if not isinstance(data, dict) or data.get("format") != _FORMAT:
            raise ConfigError(f"{source} is not a finlite pruning plan (expected format {_FORMAT!r}).")
        if not isinstance(data.get("layers", []), list):
            raise ConfigError(f"{source}: 'layers' must be a list of layer plans; got {type(data['layers']).__name__}.")
        layers = []
        for i, raw in enumerate(data.get("layers", [])):
            if not isinstance(raw, dict):
                raise ConfigError(f"{source}, layer {i}: must be a mapping with name, shape, unit, scores and pruned; "
                                  f"got {type(raw).__name__}.")
            where = f"{source}, layer {i} ({raw.get('name', '?')})"
            shape = raw.get("shape")
            if not isinstance(shape, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in shape):
                # int() read "16" and 71.9 as 16 and 71: an edited shape is refused, not coerced.
                raise ConfigError(f"{where}: 'shape' must be a list of whole numbers (the layer's weight shape); got "
                                  f"{shape!r:.80}.")
            try:
                layer = LayerPlan(name=str(raw["name"]), shape=list(shape), unit=str(raw["unit"]),
                                  scores=[float(s) for s in raw["scores"]], pruned=sorted(raw["pruned"]))
            except (KeyError, TypeError, ValueError) as exc:
                raise ConfigError(f"{where}: field {exc} is missing or malformed.") from exc
            except OverflowError:  # float() of an integer beyond 1e308 written out in digits
                raise ConfigError(f"{where}: 'scores' holds an integer too large for a number; scores must be finite "
                                  "numbers. Fix the edited value or make the plan again with --save-plan.") from None
            if not all(math.isfinite(v) for v in layer.scores):
                raise ConfigError(f"{where}: 'scores' holds a NaN or infinite value; scores must be finite numbers.")
            layer.validate(where)
            if "pruned_count" in raw and raw["pruned_count"] != len(layer.pruned):
                raise ConfigError(f"{where}: 'pruned_count' says {raw['pruned_count']} but 'pruned' lists "
                                  f"{len(layer.pruned)} indices; make them agree.")
            layers.append(layer)
        if not layers:
            raise ConfigError(f"{source} has no layers.")
        names = [layer.name for layer in layers]
        repeated = next((n for n in names if names.count(n) > 1), None)
        if repeated is not None:  # the last one was applied, and the plan recorded both
            raise ConfigError(f"{source} lists layer {repeated!r} more than once; give each layer one plan.")
        if len({layer.unit for layer in layers}) != 1:
            raise ConfigError(f"{source} mixes weight and neuron layers; a plan has one unit.")
        for key in ("method", "model"):
            if not isinstance(data.get(key, {}), dict):
                raise ConfigError(f"{source}: {key!r} must be a mapping; got {type(data[key]).__name__}.")
        return cls(method=dict(data.get("method", {})), model=dict(data.get("model", {})), layers=layers)

    def save(self, path: str | Path) -> None:
        """Write the plan as JSON (atomically)."""
        write_text_atomic(path, dump_json(self.to_dict()))

    @classmethod
    def load(cls, path: str | Path) -> PruningPlan:
        """Read a plan written by :meth:`save` (and possibly edited by hand)."""
        file = Path(path)

        try:
            if file.is_dir():
                raise ConfigError(f"Pruning plan {str(file)!r} is a directory; pass the plan's JSON file.")
            # Bounded as it is read: the path could name anything (a device, a pipe).
            # A plan is edited by hand, and some editors (Notepad) save UTF-8 with a byte order mark:
            # it was refused with "fix the edited value" (a review, 2026-12-04). The mark is dropped.
            text = read_small_file(file, MAX_PLAN_BYTES).decode("utf-8-sig")
            # Strict: NaN/Infinity, and a key given twice (a second "layers" silently replaced the first).
            data = strict_json_loads(text)
        except FileTooLarge as exc:
            raise ConfigError(f"Pruning plan {str(file)!r} is {exc.size:,} bytes or more; a plan may be at most "
                              f"{MAX_PLAN_BYTES:,} bytes. Pass a plan written by --save-plan.") from None
        except OSError as exc:
            raise ConfigError(f"Cannot read pruning plan {str(file)!r}: {exc.strerror or exc}; check the path.") from None
        except UnicodeDecodeError:
            raise ConfigError(f"Pruning plan {str(file)!r} is not UTF-8 text (a binary file?); pass the JSON file "
                              "written by 'finlite compress --save-plan'.") from None
        except json.JSONDecodeError as exc:
            raise ConfigError(f"Cannot read pruning plan {str(file)!r}: it is not valid JSON ({exc}). Pass the JSON "
                              "file written by 'finlite compress --save-plan'.") from None
        except ConfigError:  # a ValueError too: raised above with its own message
            raise
        except StrictJSONError as exc:
            raise ConfigError(f"Pruning plan {str(file)!r}: {exc}. Fix the edited value or make the plan again with "
                              "--save-plan.") from None
        except ValueError as exc:  # json's int() of a number of more than 4,300 digits
            raise ConfigError(f"Cannot read pruning plan {str(file)!r}: it holds a number too long to read ({exc}). "
                              "Pass the JSON file written by 'finlite compress --save-plan'.") from None
        except RecursionError:
            raise ConfigError(f"Pruning plan {str(file)!r} nests too deeply to be a plan; pass the JSON file "
                              "written by 'finlite compress --save-plan'.") from None
        return cls.from_dict(data, str(file))
