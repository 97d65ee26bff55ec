"""Piecewise-linear input bins: how an MLP student reads the numbers a boosted teacher splits on.

A LightGBM or XGBoost teacher is a sum of step functions of its inputs; an MLP over standardised
numbers has to build every step out of ReLUs, and on a loan book of half a million rows it keeps
only about 97 % of the teacher's decisions. Binning each numeric column at the teacher's own split
thresholds and giving the network one input per bin, ``clip((x − lo) / (hi − lo), 0, 1)`` (the
piecewise-linear encoding of Gorishniy, Rubachev & Babenko 2022, "On Embeddings for Numerical
Features in Tabular Deep Learning"), hands it those steps directly: measured on SBA
(``bench/sba_student_inputs.py``) it halves the student's AUC drop and adds 0.6–0.8 points of
agreement at the same training length.

:class:`InputBins` is that layer: fixed (no trained weights), stored as its edges in the model's
config, exported to ONNX as Gather → Sub → Div → Min → Max (the columns it leaves alone pass
unchanged), so the deployed model computes it exactly as torch does. :func:`teacher_edges` reads the edges
from a booster's trees; :func:`quantile_edges` from the training rows (any teacher).
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from finlite._util import param_error
from finlite.errors import ConfigError

__all__ = ["MAX_EDGE", "MAX_EDGES", "InputBins", "binnable_columns", "check_edges", "check_teacher_splits",
           "has_teacher_splits", "quantile_edges", "teacher_edges"]

#: The most edges (bins − 1) one column may have: bounds the work a hostile config can ask for.
MAX_EDGES = 255
#: The largest edge, in the encoded (standardised) units the bins read. It also keeps the outer
#: bins (one unit beyond the outer edges) a nonzero width in float32, which holds to 2**24.
MAX_EDGE = 1e6
#: Rows, spread evenly over the training rows, whose quantiles place quantile bins. The training
#: rows keep the file's order, which may be sorted by date, id or amount: its first rows would
#: place every edge in one corner of the book (and judge a column from its first months only).
_QUANTILE_ROWS = 200_000
#: Rows per block when scanning every training row (bounded temporaries on a loan book).
_SCAN_ROWS = 65_536

#: One column's edges in a config: ``[column index, [e0, e1, …]]``, strictly increasing.
EdgesConfig = Sequence[Sequence[Any]]


def check_edges(in_features: int, edges: Any, owner: str = "InputBins") -> list[tuple[int, list[float]]]:
    """``edges`` (``[[column, [e0, e1, …]], …]``) validated: each column once, in range and in
    increasing order, each with 1 to :data:`MAX_EDGES` finite edges within ±:data:`MAX_EDGE`,
    strictly increasing as float32.

    Raises:
        ConfigError: naming the column and what is wrong (a model config is untrusted input).
    """
    if not isinstance(edges, (list, tuple)) or not edges:
        raise param_error(owner, "bins", "a non-empty list of [column, [edges…]] pairs", edges)
    out: list[tuple[int, list[float]]] = []
    previous = -1
    for item in edges:
        if not isinstance(item, (list, tuple)) or len(item) != 2 or not isinstance(item[1], (list, tuple)):
            raise param_error(owner, "bins", "[column, [edges…]] pairs", item)
        column, values = item
        if isinstance(column, bool) or not isinstance(column, int) or not previous < column < in_features:
            raise ConfigError(f"{owner}: bins names column {column!r}; columns must be whole numbers in increasing "
                              f"order below the input width {in_features}.", param="bins")
        if not 1 <= len(values) <= MAX_EDGES:
            raise ConfigError(f"{owner}: column {column} has {len(values)} bin edges; give 1 to {MAX_EDGES}.",
                              param="bins")
        floats: list[float] = []
        for v in values:
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or abs(v) > MAX_EDGE:
                raise ConfigError(f"{owner}: column {column} has the bin edge {v!r}; edges are finite numbers of at "
                                  f"most {MAX_EDGE:g} in size (the encoded, standardised units).", param="bins")
            floats.append(float(np.float32(v)))
        if any(b <= a for a, b in itertools.pairwise(floats)):
            raise ConfigError(f"{owner}: the bin edges of column {column} are not strictly increasing.", param="bins")
        out.append((column, floats))
        previous = column
    return out


class InputBins(nn.Module):
    """Each binned column becomes one input per bin, ``clip((x − lo) / (hi − lo), 0, 1)``; the other
    columns follow unchanged, in their order.

    With edges ``e0 < … < ek`` a column has k + 2 bins: ``[e0 − 1, e0]``, ``[e0, e1]``, …,
    ``[ek, ek + 1]`` (the outer two one unit wide: the inputs are standardised, so that is one
    standard deviation). The layer is monotone non-decreasing in every input, so a monotone
    constraint on a binned column still means what it says.

    Args:
        in_features: width of the rows it reads.
        edges: ``[[column, [e0, e1, …]], …]`` (see :func:`check_edges`).
    """

    lo: torch.Tensor
    width: torch.Tensor
    column: torch.Tensor
    rest: torch.Tensor

    def __init__(self, in_features: int, edges: EdgesConfig) -> None:
        super().__init__()
        checked = check_edges(in_features, edges)
        self.in_features = int(in_features)
        self.edges: list[tuple[int, list[float]]] = checked
        lo: list[float] = []
        width: list[float] = []
        column: list[int] = []
        for c, values in checked:
            bounds = np.array([values[0] - 1.0, *values, values[-1] + 1.0], dtype=np.float32)
            lo += bounds[:-1].tolist()
            width += np.diff(bounds).tolist()
            column += [c] * (len(bounds) - 1)
        binned = {c for c, _ in checked}
        # Not in the state dict: the config's edges are the one stored form (rebuilt on load).
        self.register_buffer("lo", torch.tensor(lo, dtype=torch.float32), persistent=False)
        self.register_buffer("width", torch.tensor(width, dtype=torch.float32), persistent=False)
        self.register_buffer("column", torch.tensor(column, dtype=torch.long), persistent=False)
        self.register_buffer("rest", torch.tensor([j for j in range(in_features) if j not in binned],
                                                  dtype=torch.long), persistent=False)
        self.out_features = len(lo) + len(self.rest)

    def config(self) -> list[list[Any]]:
        """The edges as a model config stores them: ``[[column, [e0, e1, …]], …]``."""
        return [[c, list(v)] for c, v in self.edges]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[rows, in_features]`` → ``[rows, out_features]``: the bins, then the other columns."""
        binned = ((x[:, self.column] - self.lo) / self.width).clamp(0.0, 1.0)
        if len(self.rest) == 0:
            return binned
        return torch.cat([binned, x[:, self.rest]], dim=1)


def _column_range(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each column's smallest and largest value over every row of ``x``, and whether it holds a
    third value (one that is neither; the rows are scanned for it in blocks)."""
    arr = np.asarray(x)
    if arr.shape[0] == 0:
        empty = np.zeros(arr.shape[1])
        return empty, empty, np.zeros(arr.shape[1], dtype=bool)
    low, high = arr.min(axis=0), arr.max(axis=0)
    third = np.zeros(arr.shape[1], dtype=bool)
    for start in range(0, arr.shape[0], _SCAN_ROWS):
        block = arr[start:start + _SCAN_ROWS]
        third |= ((block != low) & (block != high) & ~np.isnan(block)).any(axis=0)
    return low, high, third


def binnable_columns(x: np.ndarray) -> list[int]:
    """Columns of the encoded rows ``x`` (at least one row) with more than two distinct values
    over all rows (numbers, weight-of-evidence and target encodings; not one-hot or indicator
    columns). Every row counts: in a file sorted by date a column may vary only in its later rows."""
    return [int(j) for j in np.flatnonzero(_column_range(x)[2])]


def _spread_rows(x: np.ndarray) -> np.ndarray:
    """At most :data:`_QUANTILE_ROWS` rows of ``x``, evenly spaced from its first to its last, in its
    own dtype (a column is widened to float64 when its quantiles are taken: on 124 encoded columns
    the whole sample in float64 held 200 MB)."""
    arr = np.asarray(x)
    n = arr.shape[0]
    rows = np.unique(np.linspace(0, n - 1, min(n, _QUANTILE_ROWS)).round().astype(np.int64))
    out: np.ndarray = arr[rows]
    return out


def _thin(thresholds: np.ndarray, gains: np.ndarray, max_edges: int) -> np.ndarray:
    """At most ``max_edges`` of a column's split thresholds, at gain-weighted quantiles of them."""
    unique = np.unique(thresholds)
    if len(unique) <= max_edges:
        return unique
    order = np.argsort(thresholds, kind="stable")
    share = np.cumsum(gains[order]) / gains.sum() if gains.sum() > 0 else np.arange(1, len(order) + 1) / len(order)
    picks = np.searchsorted(share, np.linspace(0.0, 1.0, max_edges + 2)[1:-1])
    return np.unique(thresholds[order][np.minimum(picks, len(order) - 1)])


def _lightgbm_splits(booster: Any) -> list[tuple[int, float, float]]:
    out: list[tuple[int, float, float]] = []
    stack = [tree["tree_structure"] for tree in booster.dump_model()["tree_info"]]
    while stack:
        node = stack.pop()
        if "split_feature" in node:
            if node.get("decision_type", "<=") == "<=":  # numeric splits (categorical ones are "==")
                out.append((int(node["split_feature"]), float(node["threshold"]), float(node.get("split_gain", 1.0))))
            stack += [node["left_child"], node["right_child"]]
    return out


def _xgboost_splits(booster: Any) -> list[tuple[int, float, float]]:
    names = list(booster.feature_names or [])
    out: list[tuple[int, float, float]] = []
    stack = [json.loads(tree) for tree in booster.get_dump(dump_format="json", with_stats=True)]
    while stack:
        node = stack.pop()
        if "split" in node and "split_condition" in node:
            name = str(node["split"])
            if name in names:
                k = names.index(name)
            elif name[:1] == "f" and name[1:].isdigit():  # XGBoost's own names without feature_names
                k = int(name[1:])
            else:
                raise ConfigError(f"The XGBoost teacher splits on the feature {name!r}, which is neither one of its "
                                  "feature names nor an index (f0, f1, …), so its thresholds cannot be put on "
                                  "finlite's columns; bin at quantiles of the training rows "
                                  "(input_bins_from='quantiles').", param="input_bins_from")
            out.append((k, float(node["split_condition"]), float(node.get("gain", 1.0))))
        stack += node.get("children", [])
    return out


def has_teacher_splits(teacher: Any) -> bool:
    """Whether :func:`teacher_edges` can read ``teacher``'s split thresholds: a LightGBM or XGBoost
    ensemble of a table (encoded rows or raw columns), not of a forecaster's windows."""
    mode = (getattr(teacher, "input", None) or {}).get("mode")
    return (getattr(teacher, "library", None) in ("lightgbm", "xgboost") and getattr(teacher, "window", None) is None
            and mode in ("encoded", "columns"))


def check_teacher_splits(teacher: Any) -> None:
    """Refuse a teacher whose split thresholds :func:`teacher_edges` cannot read.

    Raises:
        ConfigError: the teacher is not a LightGBM or XGBoost ensemble of a table (naming
            quantile bins, which any teacher can use).
    """
    if not has_teacher_splits(teacher):
        raise ConfigError("Bins at the teacher's split thresholds need a LightGBM or XGBoost teacher of a table; "
                          "for this teacher bin at quantiles of the training rows (input_bins_from='quantiles').",
                          param="input_bins_from")


def teacher_edges(teacher: Any, x: np.ndarray, max_bins: int) -> list[list[Any]]:
    """Bin edges for the encoded rows ``x`` at a LightGBM or XGBoost teacher's split thresholds:
    per binnable column (:func:`binnable_columns`) the thresholds its trees use within the values
    seen in any row of ``x``, at most ``max_bins − 1`` of them (gain-weighted quantiles when the trees use more). An imported
    booster reads raw columns (``input.mode = "columns"``): its thresholds are put back into the
    encoded (standardised) units. Columns no tree splits on are left unbinned.

    Raises:
        ConfigError: the teacher is not a boosted ensemble of tables (use quantile bins).
    """
    check_teacher_splits(teacher)
    library = teacher.library
    mode = teacher.input["mode"]
    splits = _lightgbm_splits(teacher.model) if library == "lightgbm" else _xgboost_splits(teacher.model)
    if mode == "columns":  # booster feature k is encoded column index[k], destandardised
        index, mean, std = (teacher.input[k] for k in ("index", "mean", "std"))
        splits = [(int(index[k]), (t - float(mean[k])) / float(std[k]), g) for k, t, g in splits
                  if k < len(index) and float(std[k]) > 0]
    by_column: dict[int, list[tuple[float, float]]] = {}
    for k, t, g in splits:
        if math.isfinite(t):
            by_column.setdefault(k, []).append((t, max(g, 0.0)))
    out: list[list[Any]] = []
    lows, highs, third = _column_range(x)
    for j in (int(k) for k in np.flatnonzero(third)):
        if j in by_column:
            # Only thresholds inside the values seen (in any training row): one outside them (a
            # booster's split for missing values, a far tail) bins nothing, and float32 must hold
            # every edge.
            low, high = float(lows[j]), float(highs[j])
            kept = [(a, b) for a, b in by_column[j] if low <= a < high and abs(a) <= MAX_EDGE]
            if not kept:
                continue
            at = np.array([a for a, _ in kept], dtype=np.float64)
            gains = np.array([b for _, b in kept], dtype=np.float64)
            edges = np.unique(_thin(at, gains, min(max_bins - 1, MAX_EDGES)).astype(np.float32))
            out.append([j, [float(e) for e in edges]])
    return out


def quantile_edges(x: np.ndarray, max_bins: int) -> list[list[Any]]:
    """Bin edges at the quantiles of the encoded training rows ``x`` (any teacher): per binnable
    column, the distinct values among its ``1/max_bins, 2/max_bins, …`` quantiles (of at most
    200,000 rows spread evenly over ``x``, so a sorted file's quantiles are the whole book's)."""
    sample = _spread_rows(x)  # the whole book's quantiles, whatever order its rows are in
    qs = np.linspace(0.0, 1.0, max_bins + 1)[1:-1]
    out: list[list[Any]] = []
    for j in binnable_columns(x):
        edges = np.unique(np.quantile(sample[:, j].astype(np.float64), qs).astype(np.float32))[:MAX_EDGES]
        edges = edges[np.abs(edges) <= MAX_EDGE]
        if len(edges):
            out.append([j, [float(e) for e in edges]])
    return out
