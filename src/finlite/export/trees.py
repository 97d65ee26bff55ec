"""LightGBM and XGBoost ensembles as ONNX: an ``ai.onnx.ml`` TreeEnsembleRegressor (the log-odds,
or the forecast of a regression ensemble) read from the library's own dump, registered as the
exporter of :class:`BoostedEnsemble`. An ensemble over windows of a series reads ``x`` as
``[rows, window, features]`` and flattens it (a Reshape) as the model does; a regression
ensemble's graph has no Sigmoid (:func:`finlite.export.graph.to_onnx` names its output
``prediction``)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from onnx import TensorProto, numpy_helper

from finlite.errors import ExportError
from finlite.export.graph import ML_DOMAIN, _Graph, register_exporter
from finlite.models.gbdt import BoostedEnsemble, encoded_cuts

#: LightGBM's kZeroThreshold: with missing type "Zero", values within it take the default branch.
_LGB_ZERO = 1e-35


@dataclass
class _Trees:
    """The flat node and leaf lists TreeEnsembleRegressor takes, one entry per node or leaf."""

    tree: list[int] = field(default_factory=list)
    node: list[int] = field(default_factory=list)
    feature: list[int] = field(default_factory=list)
    mode: list[str] = field(default_factory=list)
    value: list[float] = field(default_factory=list)
    true: list[int] = field(default_factory=list)
    false: list[int] = field(default_factory=list)
    missing_true: list[int] = field(default_factory=list)
    leaf_tree: list[int] = field(default_factory=list)
    leaf_node: list[int] = field(default_factory=list)
    leaf_weight: list[float] = field(default_factory=list)

    def split(self, t: int, n: int, feature: int, mode: str, value: float, true: int, false: int,
              missing_true: bool) -> None:
        self.tree.append(t)
        self.node.append(n)
        self.feature.append(feature)
        self.mode.append(mode)
        self.value.append(value)
        self.true.append(true)
        self.false.append(false)
        self.missing_true.append(int(missing_true))

    def leaf(self, t: int, n: int, weight: float) -> None:
        self.split(t, n, 0, "LEAF", 0.0, 0, 0, False)
        self.leaf_tree.append(t)
        self.leaf_node.append(n)
        self.leaf_weight.append(weight)


def _lightgbm_trees(booster: Any) -> tuple[_Trees, float]:
    """LightGBM's own JSON dump as nodes. Its rule per split (tree.h, NumericalDecision): NaN counts
    as 0 unless the missing type is NaN; a missing value (NaN, or |x| ≤ 1e-35 for missing type
    Zero) takes the default branch; otherwise ``x <= threshold`` goes left. Thresholds are doubles
    and so is the comparison, so the graph keeps them as doubles."""
    dump = booster.dump_model()
    trees = _Trees()
    infos = dump.get("tree_info", [])
    scale = 1.0 / len(infos) if dump.get("average_output") and infos else 1.0  # random-forest mode averages
    for t, info in enumerate(infos):
        counter = [0]

        def walk(node: dict[str, Any], t: int = t, counter: list[int] = counter) -> int:
            me = counter[0]
            counter[0] += 1
            if "split_index" not in node:
                trees.leaf(t, me, float(node["leaf_value"]) * scale)
                return me
            if node.get("decision_type") != "<=":
                raise ExportError(f"LightGBM tree {t} has a {node.get('decision_type')!r} (categorical) split; the "
                                  "ONNX tree ensemble takes numeric splits only. Train the teacher on finlite's "
                                  "encoded columns (finlite train --model lightgbm).")
            threshold, default_left = float(node["threshold"]), bool(node["default_left"])
            missing = node.get("missing_type", "None")
            if missing == "NaN":
                missing_true = default_left
            elif missing == "Zero":
                # Zero and NaN take the default branch; the graph sends NaN there, and zero must go
                # there by its comparison too, or the split cannot be written as x <= threshold.
                missing_true = default_left
                if (threshold >= _LGB_ZERO) != default_left or -_LGB_ZERO <= threshold < _LGB_ZERO:
                    raise ExportError(
                        f"LightGBM tree {t}, split {node['split_index']}: zero_as_missing sends zero to the "
                        f"{'left' if default_left else 'right'} of the threshold {threshold!r}, which no ONNX "
                        "tree node can express. Retrain the booster with zero_as_missing=false.")
            else:  # None: NaN is read as 0 and compared
                missing_true = threshold >= 0.0
            slot = len(trees.tree)
            trees.split(t, me, int(node["split_feature"]), "BRANCH_LEQ", threshold, -1, -1, missing_true)
            left = walk(node["left_child"])
            right = walk(node["right_child"])
            trees.true[slot], trees.false[slot] = left, right
            return me

        walk(info["tree_structure"])
    return trees, 0.0


def _xgboost_trees(booster: Any) -> tuple[_Trees, float]:
    """XGBoost's own model JSON as nodes. Its rule: a missing value takes the default branch,
    otherwise ``x < split_condition`` goes left ("yes"), compared in float32. The base score of a
    logistic objective is a probability, so the graph starts from its log-odds."""
    model = json.loads(bytes(booster.save_raw("json")))
    learner = model["learner"]
    gb = learner["gradient_booster"]
    drops = gb.get("weight_drop") if gb.get("name") == "dart" else None
    trees_json = (gb["gbtree"] if gb.get("name") == "dart" else gb)["model"]["trees"]
    trees = _Trees()
    for t, tree in enumerate(trees_json):
        left, right = tree["left_children"], tree["right_children"]
        cond, index, default = tree["split_conditions"], tree["split_indices"], tree["default_left"]
        weight = float(drops[t]) if drops else 1.0
        if any(tree.get("split_type", ())):  # 1 = a categorical split: a set test, not x < threshold
            raise ExportError(f"XGBoost tree {t} has a categorical split (enable_categorical); the ONNX tree "
                              "ensemble takes numeric splits only. Train the teacher on finlite's encoded columns "
                              "(finlite train --model xgboost).")
        stack = [0]
        while stack:
            n = stack.pop()
            if left[n] < 0:
                trees.leaf(t, n, float(np.float32(cond[n])) * weight)
                continue
            trees.split(t, n, int(index[n]), "BRANCH_LT", float(np.float32(cond[n])), int(left[n]), int(right[n]),
                        bool(default[n]))
            stack.extend((int(right[n]), int(left[n])))
    base = float(str(learner["learner_model_param"]["base_score"]).strip("[]"))
    objective = learner.get("objective", {}).get("name", "binary:logistic")
    if objective in ("binary:logistic", "reg:logistic"):
        base = float(np.log(base / (1.0 - base)))
    return trees, base


def _tree_ensemble(g: _Graph, x: str, trees: _Trees, base: float) -> str:
    """One TreeEnsembleRegressor summing every tree's leaf and ``base``: the log-odds, ``[rows, 1]``.

    Thresholds and leaf values are stored as doubles, so ONNX Runtime compares and sums
    in double precision, as LightGBM does (exact for XGBoost's float32 thresholds too)."""
    as_double = {"nodes_values_as_tensor": numpy_helper.from_array(np.asarray(trees.value, np.float64)),
                 "target_weights_as_tensor": numpy_helper.from_array(np.asarray(trees.leaf_weight, np.float64)),
                 # ONNX Runtime reads the base in the output's type (float32); a booster's base is a
                 # float32 already (XGBoost) or 0 (LightGBM folds it into the first tree).
                 "base_values": [base]}
    return g.op("TreeEnsembleRegressor", [x], "trees", domain=ML_DOMAIN, n_targets=1, aggregate_function="SUM",
                post_transform="NONE", nodes_treeids=trees.tree, nodes_nodeids=trees.node,
                nodes_featureids=trees.feature, nodes_modes=trees.mode, nodes_truenodeids=trees.true,
                nodes_falsenodeids=trees.false, nodes_missing_value_tracks_true=trees.missing_true,
                target_ids=[0] * len(trees.leaf_tree), target_treeids=trees.leaf_tree,
                target_nodeids=trees.leaf_node, **as_double)


def _encoded_columns(g: _Graph, x: str, spec: dict[str, Any]) -> str:
    """An imported booster's columns of finlite's encoded row, in double precision, NaN where the
    column's missing indicator is 1: the booster's thresholds are moved into the encoding
    (:func:`_encoded_splits`) instead of the values out of it, so nothing is rebuilt here."""
    index = np.asarray(spec["index"], dtype=np.int64)
    z = g.op("Cast", [g.op("Gather", [x, g.const(index, "columns")], axis=1)], to=TensorProto.DOUBLE)
    indicators = [int(i) if i is not None and int(i) >= 0 else -1 for i in spec.get("missing_index", [])]
    if any(i >= 0 for i in indicators):
        has = np.asarray([i >= 0 for i in indicators] + [False] * (len(index) - len(indicators)))
        gathered = g.op("Gather", [x, g.const(np.asarray([max(i, 0) for i in indicators]
                                                         + [0] * (len(index) - len(indicators)), np.int64),
                                              "indicators")], axis=1)
        missing = g.op("And", [g.op("Greater", [gathered, g.const(0.5)]), g.const(has, "has_indicator", dtype=bool)])
        z = g.op("Where", [missing, g.const(np.float64(np.nan), "nan", dtype=np.float64), z])
    return z


def _encoded_splits(trees: _Trees, model: BoostedEnsemble) -> None:
    """Each split's raw threshold replaced by its cut in finlite's float32 encoding of the column
    (:func:`~finlite.models.gbdt.encoded_cuts`), with the comparison kept: an encoded value below
    the cut had a raw value left of the threshold, and above it right of it. A value encoded exactly
    on the cut goes right for XGBoost (``<``) and left for LightGBM (``<=``), as
    :meth:`~finlite.models.gbdt.BoostedEnsemble.features` decides it, so the graph and the model
    score alike. Where the missing branch is taken is unchanged (it was decided on the raw threshold)."""
    mean, std = model.input["mean"], model.input["std"]
    values = np.asarray(trees.value, dtype=np.float64)
    features = np.asarray(trees.feature, dtype=np.int64)
    splits = np.asarray([m != "LEAF" for m in trees.mode])
    for j in np.unique(features[splits]).tolist():
        if j >= len(std):
            raise ExportError(f"A split of the imported booster reads feature #{j}, but its input map has "
                              f"{len(std)} columns; its config and its trees disagree. Import the booster again.")
        at = splits & (features == j)
        values[at] = encoded_cuts(model.library, values[at], mean[j], std[j])
    trees.value = values.tolist()


def _boosted_shape(model: BoostedEnsemble, width: int | None) -> list[Any]:
    if model.window is not None:
        return ["rows", model.window, _steps_width(model)]
    return ["rows", width or _boosted_width(model)]


@register_exporter(BoostedEnsemble, input_shape=_boosted_shape)
def _boosted_logit(g: _Graph, model: BoostedEnsemble, x: str) -> str:
    """A LightGBM or XGBoost teacher: its trees read from the library's own dump."""
    booster = model.model
    trees, base = _lightgbm_trees(booster) if model.library == "lightgbm" else _xgboost_trees(booster)
    if model.window is not None:
        # [rows, window, features] -> [rows, window·features], oldest step first, as the model flattens.
        flat = np.asarray([-1, model.window * _steps_width(model)], dtype=np.int64)
        x = g.op("Reshape", [x, g.const(flat, "window_shape")])
    if model.input.get("mode") == "columns":
        x = _encoded_columns(g, x, model.input)  # doubles already
        _encoded_splits(trees, model)
    else:
        # ONNX Runtime compares and sums in the input's type: doubles, as LightGBM does (and exact
        # for XGBoost's float32 features and thresholds); float32 thresholds would need rounding per split.
        x = g.op("Cast", [x], to=TensorProto.DOUBLE)
    return _tree_ensemble(g, x, trees, base)


def export_refusal(model: BoostedEnsemble) -> str | None:
    """Why ``finlite export`` would refuse this booster's trees (a split no ONNX tree node can
    express), or None: said when it is imported, not first at export (a bring-your-own-model
    walk-through, 2026-12-07, imported a zero_as_missing booster with parity 0 and met the refusal
    only when deploying it)."""
    try:
        _lightgbm_trees(model.model) if model.library == "lightgbm" else _xgboost_trees(model.model)
    except ExportError as exc:
        return str(exc)
    return None


def _steps_width(model: BoostedEnsemble) -> int:
    """Features per step of an ensemble over windows: the booster's inputs over the window."""
    total = _boosted_width(model)
    if not isinstance(total, int) or model.window is None or total % model.window:
        raise ExportError(f"The ensemble reads {total} features, which do not split into windows of {model.window} "
                          "steps; its config and its trees disagree. Train it again.")
    return total // model.window


def _boosted_width(model: BoostedEnsemble) -> int | str:
    if model.input.get("mode") == "columns":
        return "features"  # the encoded width is not stored with an imported booster; the Predictor checks it
    booster = model.model
    return int(booster.num_feature()) if model.library == "lightgbm" else int(booster.num_features())
