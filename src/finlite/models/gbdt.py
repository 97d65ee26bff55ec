"""Boosted-tree teachers: LightGBM and XGBoost ensembles behind finlite's model interface.

The ensemble is scored by its own library (never re-implemented) and stored in the artifact
as the library's own model format held in a uint8 tensor (LightGBM's text model, XGBoost's
UBJSON), next to the out-of-fold log-odds of the training rows. Nothing is pickled.

Inputs: a booster trained by finlite reads the encoded matrix (``input.mode = "encoded"``), or,
for a market forecaster (``window`` set), the window of the last ``window`` rows of features
``[rows, window, features]`` flattened step by step (oldest first) into one row of
``window · features`` lag features.
An imported booster was trained on raw numeric columns; finlite's encoding of those columns
is undone (``x · std + mean``, NaN where the missing indicator is 1, and each value kept on the
side of every split its encoded value lies: :func:`encoded_cuts`) before the booster sees them
(``input.mode = "columns"``), so the teacher and the student share one preprocessor.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

import numpy as np
import torch

from finlite._booster_check import check_booster
from finlite._spec import finite_number
from finlite._util import is_whole, param_error, set_within
from finlite.errors import ConfigError
from finlite.models.base import FinliteModel, register_model

__all__ = ["LIBRARIES", "OBJECTIVES", "BoostedEnsemble", "ScoreMemo", "active_memo", "encoded_cuts", "load_booster",
           "remembered_scores", "remembering_scores", "require", "split_points", "trained_constraints"]

LIBRARIES = ("lightgbm", "xgboost")

#: What an ensemble outputs: "binary" (log-odds; P(positive) through a sigmoid) or "regression"
#: (the forecast itself, identity link).
OBJECTIVES = ("binary", "regression")

#: Batches of at least this many rows have their scores remembered (see
#: :meth:`BoostedEnsemble.logits_np`): one compress run scores the same splits several times (the
#: gates, the evaluation, the report), and a large ensemble takes seconds per 100,000 rows where
#: hashing the rows takes milliseconds. Smaller batches (SHAP, latency timing) are scored as they come.
MEMO_MIN_ROWS = 4_096
#: The most rows of remembered scores per job (float64, 8 bytes a row: 32 MiB), the oldest batch dropped first.
MEMO_MAX_ROWS = 4_000_000


class ScoreMemo:
    """One job's remembered scores: ``{(ensemble, dtype, shape, digest): float64 scores}``.

    It belongs to the job, not to the model: it is made when the outermost
    :func:`remembered_scores` block opens and dropped when that block closes, so nothing stays in
    memory after the job returns, however long the caller keeps its teacher. Each ensemble keys its
    entries with a token renewed whenever it is built or loads other weights, so scores of an old
    booster are never answered for a new one. Threads of one job may share it (a lock guards it).
    """

    def __init__(self) -> None:
        self._items: OrderedDict[tuple[Any, ...], np.ndarray] = OrderedDict()
        self._rows = 0
        self._lock = threading.Lock()

    @property
    def rows(self) -> int:
        """Rows of scores held now."""
        return self._rows

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: tuple[Any, ...]) -> np.ndarray | None:
        """A copy of the scores kept under ``key`` (the caller may change it), or None."""
        with self._lock:
            hit = self._items.get(key)
            return None if hit is None else hit.copy()

    def put(self, key: tuple[Any, ...], scores: np.ndarray) -> None:
        """Keep a copy of ``scores`` under ``key``, dropping the oldest batches past :data:`MEMO_MAX_ROWS` rows."""
        kept = scores.copy()
        with self._lock:
            old = self._items.pop(key, None)
            self._rows -= 0 if old is None else len(old)
            self._items[key] = kept
            self._rows += len(kept)
            while len(self._items) > 1 and self._rows > MEMO_MAX_ROWS:
                _, dropped = self._items.popitem(last=False)
                self._rows -= len(dropped)


# The store of the job running in this context (thread, block): None unless a job turns it on, so
# code that times a model, or a caller scoring the same rows to measure something, gets real work.
_MEMO: ContextVar[ScoreMemo | None] = ContextVar("finlite_score_memo", default=None)
# Ensembles' memo tokens: a new one per build and per load of weights (never reused, unlike id()).
_TOKENS = itertools.count()
_F = TypeVar("_F", bound=Callable[..., Any])


def active_memo() -> ScoreMemo | None:
    """The store scores are remembered in here, or None where nothing is remembered."""
    return _MEMO.get()


@contextmanager
def remembered_scores(on: bool = True) -> Iterator[None]:
    """Within the block (in this thread), boosted ensembles remember the scores of their large
    batches (see :meth:`BoostedEnsemble.logits_np`) in the enclosing job's store, or in a new one
    dropped when the block ends; ``on=False`` turns that off inside, as timing code does."""
    outer = _MEMO.get()  # an outer job's store, even while empty (a ScoreMemo with no entry is falsy)
    with set_within(_MEMO, (outer if outer is not None else ScoreMemo()) if on else None):
        yield


def remembering_scores(fn: _F) -> _F:
    """Run ``fn`` within :func:`remembered_scores` (the jobs that score one split several times)."""
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with remembered_scores():
            return fn(*args, **kwargs)
    return wrapper  # type: ignore[return-value]


def require(library: str) -> Any:
    """Import a boosting library, or raise a ConfigError that says how to install it."""
    if library not in LIBRARIES:
        raise param_error("BoostedEnsemble", "library", f"one of {LIBRARIES}", library)
    try:
        if library == "lightgbm":
            import lightgbm
            return lightgbm
        import xgboost
        return xgboost
    except ImportError as exc:
        package = "lightgbm" if library == "lightgbm" else "xgboost-cpu"
        raise ConfigError(f"The {library} teacher needs the {package} package: pip install 'finlite[gbdt]' "
                          f"(or pip install {package}).") from exc


#: An imported booster's raw values come back from finlite's float32 encoding snapped to the
#: nearest number of at most this many decimals within the encoding's error (BoostedEnsemble.features).
SNAP_DECIMALS = 6
SNAP_F32_EPS = float(np.finfo(np.float32).eps)  # a float32 ulp of z is at most |z| times this
SNAP_F64_SLACK = 8 * float(np.finfo(np.float64).eps)  # the float64 arithmetic of z * std + mean


def split_points(library: str, booster: Any) -> dict[int, np.ndarray]:
    """Each feature's distinct numeric split thresholds, ascending, as its library compares them:
    XGBoost's are float32 numbers (``x < t`` goes left, in float32), LightGBM's doubles (``x <= t``
    goes left). A feature that also has a categorical split is left out (a set test, not an order)."""
    found: dict[int, set[float]] = {}
    categorical: set[int] = set()
    if library == "lightgbm":
        # Read from the model text, not dump_model(): its JSON took 1.6 s for 300 trees of 255
        # leaves, the text 0.15 s. Each tree lists its splits' features, thresholds and decision
        # types (bit 0: categorical) in the same order.
        current: dict[str, str] = {}
        for line in [*booster.model_to_string().splitlines(), "Tree="]:
            if line.startswith(("Tree=", "end of trees")):
                features = [int(v) for v in current.get("split_feature", "").split()]
                thresholds = [float(v) for v in current.get("threshold", "").split()]
                decisions = [int(v) for v in current.get("decision_type", "").split()]
                for feature, threshold, decision in zip(features, thresholds, decisions, strict=True):
                    if decision & 1:
                        categorical.add(feature)
                    else:
                        found.setdefault(feature, set()).add(threshold)
                current = {}
                if line.startswith("end of trees"):
                    break
            elif line.startswith(("split_feature=", "threshold=", "decision_type=")):
                key, _, value = line.partition("=")
                current[key] = value
    else:
        gb = json.loads(bytes(booster.save_raw("json")))["learner"]["gradient_booster"]
        for tree in (gb["gbtree"] if gb.get("name") == "dart" else gb)["model"]["trees"]:
            kinds = tree.get("split_type") or []
            for n, left in enumerate(tree["left_children"]):
                if left < 0:
                    continue
                feature = int(tree["split_indices"][n])
                if n < len(kinds) and kinds[n]:
                    categorical.add(feature)
                else:
                    found.setdefault(feature, set()).add(float(np.float32(tree["split_conditions"][n])))
    return {f: np.asarray(sorted(v), dtype=np.float64) for f, v in found.items() if f not in categorical}


#: LightGBM reads an input within this of zero as zero (kZeroThreshold, a float32 1e-35) before any
#: split compares it, and puts splits at ±this around zero's bin.
LGB_ZERO = float(np.float32(1e-35))


def encoded_cuts(library: str, thresholds: np.ndarray, mean: float, std: float) -> np.ndarray:
    """Where a raw column's split thresholds fall in finlite's float32 encoding of the column,
    ``float32((v - mean) / std)`` computed in float64 as every encoder computes it.

    The encoding never decreases as v grows, so a row whose encoded value lies below a
    threshold's place had a raw value on the threshold's left, and above it on its right, however
    the float32 rounding blurred the value; a row encoded exactly on the place is sent right for
    XGBoost (``<``) and left for LightGBM (``<=``). XGBoost sends v left when float32(v) < t, that
    is when v lies below the smallest double that rounds to t, and that double is placed. LightGBM
    sends v left when v <= t, after reading any |v| <= :data:`LGB_ZERO` as 0; the largest value it
    sends left is placed (:func:`_lgb_sides`). Where a place lands on zero's own encoding (a split
    right beside zero: LightGBM's -1e-35, XGBoost's 1e-6), or for LightGBM on that of any value
    it reads as zero, it moves just past it, so zero, and the values its encoding cannot tell from
    zero, go the way zero goes.
    """
    given = np.asarray(thresholds, dtype=np.float64)
    t, back = np.unique(given, return_inverse=True)  # ascending: the places are made to keep that order
    return _places(library, t, mean, std)[back.reshape(given.shape)]


def _places(library: str, t: np.ndarray, mean: float, std: float) -> np.ndarray:
    """:func:`encoded_cuts` of distinct thresholds in ascending order."""
    with np.errstate(over="ignore"):  # a threshold beyond the encodable range: its place is ±inf
        if library == "xgboost":
            t32 = t.astype(np.float32)
            below = np.nextafter(t32, np.float32(-np.inf)).astype(np.float64)
            mid = (below + t) / 2  # exact in float64; float32 rounding takes it up only on a tie to even
            smallest_right = np.where(mid.astype(np.float32) == t32, mid, np.nextafter(mid, np.inf))
            cuts = ((smallest_right - mean) / std).astype(np.float32)
        else:
            cuts = ((_lgb_sides(t)[0] - mean) / std).astype(np.float32)
        # Zero is the value tables hold most, and boosters split right beside it (LightGBM at -1e-35
        # between negatives and zero; XGBoost at 1e-6 or 1e-5 between zero and blanks or positives).
        # Such a place can land on zero's own encoding, where the tie sent zero the other way: rows
        # with a zero scored 0.80 where XGBoost gave 0.50, 0.88 where LightGBM gave 0.12 (reviews,
        # 2026-12-03). Each place is moved just past zero's encoding to the side zero goes.
        zero = np.float32((0.0 - mean) / std)
        if library == "xgboost":  # left when e < place: zero goes left of every t > 0
            lift = (t > 0) & (cuts <= zero)
            cuts[lift] = np.nextafter(zero, np.float32(np.inf))
            return np.maximum.accumulate(cuts)  # a higher threshold keeps its place at or above it
        # LightGBM: left when e <= place; zero, and every |v| <= LGB_ZERO it reads as zero, goes right
        # of every t < 0. Centred on a median of 0 (an imported booster's column of many zeros),
        # -LGB_ZERO has an encoding of its own, which the place of the split at -LGB_ZERO shares, so
        # the place moves below it too (-LGB_ZERO, the split's own threshold, went left: probes of
        # bench/import_parity.py).
        zero_low = np.float32((-LGB_ZERO - mean) / std)
        drop = (t < 0) & (cuts >= zero_low)
        cuts[drop] = np.nextafter(zero_low, np.float32(-np.inf))
        return np.minimum.accumulate(cuts[::-1])[::-1]  # a lower threshold keeps its place at or below it


def _lgb_sides(t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per LightGBM threshold: (the largest value it sends left, the smallest it sends right),
    counting LightGBM's reading of any |v| <= LGB_ZERO as 0."""
    small = np.abs(t) <= LGB_ZERO
    left = np.where(~small, t, np.where(t >= 0, LGB_ZERO, np.nextafter(-LGB_ZERO, -np.inf)))
    right = np.where(~small, np.nextafter(t, np.inf), np.where(t >= 0, np.nextafter(LGB_ZERO, np.inf), -LGB_ZERO))
    return left, right


def _sides(library: str, thresholds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The raw values a row may take between consecutive thresholds: ``(lower, upper)``, one entry
    per gap (below the first threshold, between each pair, above the last), such that the library
    sends any value in ``[lower[k], upper[k]]`` right of the first k thresholds and left of the rest."""
    inf = np.array([np.inf])
    t = np.asarray(thresholds, dtype=np.float64)
    if library == "xgboost":  # right of t: float32(v) >= t; left of t: float32(v) < t
        below = np.nextafter(t.astype(np.float32), np.float32(-np.inf)).astype(np.float64)
        return np.concatenate((-inf, t)), np.concatenate((below, inf))
    left, right = _lgb_sides(t)
    return np.concatenate((-inf, right)), np.concatenate((left, inf))


def _check_input(spec: Any) -> dict[str, Any]:
    """The ensemble's input map, refused unless it is one finlite writes: ``{"mode": "encoded"}``, or
    ``"columns"`` with distinct column ``index`` es and one finite ``mean``, positive finite ``std``
    and (optionally) missing-indicator index (or -1 / None) per column.

    It comes from a manifest, which is untrusted: a forged map of 65,536 copies of column 0 made
    scoring 1,000 rows take 3 GB before the booster refused it.
    """
    def bad(why: str) -> ConfigError:
        return param_error("BoostedEnsemble", "input", why, spec if len(repr(spec)) < 200 else f"{repr(spec)[:200]}…")

    if not isinstance(spec, dict) or spec.get("mode") not in ("encoded", "columns"):
        raise bad("an object whose mode is 'encoded' or 'columns'")
    if spec["mode"] == "encoded":
        return dict(spec)
    index, mean, std = spec.get("index"), spec.get("mean"), spec.get("std")
    missing = spec.get("missing_index", [])
    if not isinstance(index, list) or not all(is_whole(i) and i >= 0 for i in index) or len(set(index)) != len(index):
        raise bad("a 'columns' map whose index lists distinct column numbers")
    if (not isinstance(mean, list) or not isinstance(std, list) or len(mean) != len(index) or len(std) != len(index)
            or not all(finite_number(m) for m in mean) or not all(finite_number(s) and s > 0 for s in std)):
        raise bad("a 'columns' map with one finite mean and one finite std above zero per column")
    if not isinstance(missing, list) or len(missing) > len(index) or not all(
            i is None or (is_whole(i) and i >= -1) for i in missing):
        raise bad("a 'columns' map whose missing_index holds a column number, -1 or null per column")
    return dict(spec)


@register_model
class BoostedEnsemble(FinliteModel):
    """A LightGBM or XGBoost ensemble whose forward pass returns its log-odds (a binary classifier)
    or its forecast (``objective="regression"``).

    Args:
        library: "lightgbm" or "xgboost".
        n_bytes: size of the serialized booster (so the buffer can be rebuilt before loading).
        n_train: number of out-of-fold training log-odds stored with it (0 = none).
        input: how encoded rows become the booster's features (see the module docstring).
        trees: number of trees; nodes: total nodes (splits and leaves), for cost reports.
        oof_folds: folds of the out-of-fold predictions (0 when there are none).
        window: for windows of a series ``[rows, window, features]``: the window length (the
            input is flattened inside the model); None for tabular rows.
        objective: "binary" (the output is log-odds) or "regression" (the output is the
            forecast); a regression ensemble's ``task`` is "regression", as a forecaster's.
    """

    kind = "gbdt"
    # Its library is fastest given every row at once (and multi-threaded): never split the rows.
    score_in_pieces = False
    booster: torch.Tensor  # a buffer: the library's model file, byte for byte

    def __init__(self, library: str, n_bytes: int, n_train: int = 0, input: dict[str, Any] | None = None,
                 trees: int = 0, nodes: int = 0, max_depth: int = 0, oof_folds: int = 0, window: int | None = None,
                 objective: str = "binary", monotone: list[int] | None = None) -> None:
        super().__init__()
        if library not in LIBRARIES:
            raise param_error("BoostedEnsemble", "library", f"one of {LIBRARIES}", library)
        if objective not in OBJECTIVES:
            raise param_error("BoostedEnsemble", "objective", f"one of {OBJECTIVES}", objective)
        if window is not None and (isinstance(window, bool) or not isinstance(window, int) or window < 1):
            raise param_error("BoostedEnsemble", "window", "a whole number of steps, 1 or more, or None", window)
        if monotone is not None and (not isinstance(monotone, list)
                                     or any(isinstance(v, bool) or v not in (-1, 0, 1) for v in monotone)):
            raise param_error("BoostedEnsemble", "monotone", "a list of -1, 0 or 1 per input column, or None",
                              monotone)
        self.window, self.objective = window, objective
        # The monotone_constraints it was trained with, one per input column (None: not known).
        # Kept here because XGBoost's saved model drops its training parameters.
        self.monotone = None if monotone is None else [int(v) for v in monotone]
        # What task_of_model reads: a regression ensemble forecasts, a binary one classifies.
        self.task = "regression" if objective == "regression" else "classification"
        self.library, self.n_train = library, int(n_train)
        self.input = _check_input(input or {"mode": "encoded"})
        self.trees, self.nodes, self.max_depth, self.oof_folds = int(trees), int(nodes), int(max_depth), int(oof_folds)
        self.register_buffer("booster", torch.zeros(int(n_bytes), dtype=torch.uint8))
        # Out-of-fold log-odds are training evidence, not part of the deployed model: they are
        # kept out of the weights file (the artifact stores them in oof_logits.safetensors) so
        # the teacher's size is the size of its trees.
        self.oof: np.ndarray | None = None
        self._model: Any = None
        self._n_inputs: int | None = None
        self._gap_table: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] | None = None
        # Names this booster in a job's ScoreMemo; renewed when other weights are loaded.
        self._memo_token = next(_TOKENS)

    # -- construction -----------------------------------------------------------------------
    @classmethod
    def from_booster(cls, library: str, booster: Any, *, oof: np.ndarray | None = None,
                     input: dict[str, Any] | None = None, oof_folds: int = 0, window: int | None = None,
                     objective: str = "binary") -> BoostedEnsemble:
        """Wrap a trained ``lightgbm.Booster`` or ``xgboost.Booster`` (``window``: it was trained on
        flattened windows of that many steps; ``objective``: what its raw output is)."""
        raw = _serialize(library, booster)
        try:
            trees, nodes, depth = _structure(library, booster)
        except (ValueError, KeyError, TypeError, RecursionError) as exc:  # the library's dump did not parse
            raise ConfigError(f"The {library} booster's own dump of its trees could not be read ({exc}); save the "
                              "model again with booster.save_model(path).") from None
        out = cls(library, len(raw), 0 if oof is None else len(oof), input, trees, nodes, depth, oof_folds,
                  window=window, objective=objective, monotone=trained_constraints(library, booster))
        with torch.no_grad():
            out.booster.copy_(torch.frombuffer(bytearray(raw), dtype=torch.uint8))
        if oof is not None:
            out.set_oof(oof)
        out._model = booster
        return out

    def shifted(self, shift: float) -> BoostedEnsemble:
        """The same ensemble with ``shift`` added to every row's log-odds, as a new ensemble (this
        one is unchanged): the calibration of its PDs to a central tendency
        (:mod:`finlite.training.central`). The trees' splits, hence the ranking, are untouched.

        LightGBM: every row reaches exactly one leaf of the first tree, so ``shift`` goes into
        each of that tree's leaf values, through LightGBM's own ``Booster.set_leaf_output``.
        XGBoost: into the model's ``base_score``, the constant every row's margin starts from (in
        its JSON model; a probability for a logistic objective, as the exporter reads it), so its
        trees, and the node weights SHAP reads, stay as trained. The stored out-of-fold log-odds
        move by the same shift. The caller checks that the scores moved by it.

        Raises:
            ConfigError: a regression ensemble (no log-odds), an imported booster (it is the
                bank's own model, scored as it came), a window forecaster, or a LightGBM model that
                averages its trees (a random forest: a leaf's shift would be divided).
        """
        if self.objective != "binary" or self.input.get("mode") != "encoded" or self.window is not None:
            raise ConfigError("central_tendency shifts the log-odds of a binary ensemble trained by finlite on a "
                              "table; this one " + ("forecasts a value" if self.objective != "binary" else
                                                    "was imported (its trees are scored as they came)"
                                                    if self.input.get("mode") != "encoded" else "reads windows")
                              + ". Drop central_tendency.", param="central_tendency")
        source = f"The {self.library} booster to calibrate"
        booster = load_booster(self.library, self._check_bytes(), source)  # a copy: self keeps its trees
        if self.library == "lightgbm":
            text = booster.model_to_string()
            first = (booster.dump_model().get("tree_info") or [None])[0]
            if first is None or re.search(r"^average_output\b", text, re.M):
                raise ConfigError(f"{source} " + ("has no tree to carry the shift" if first is None else
                                                  "averages its trees (a random forest)")
                                  + "; finlite shifts a sum of trees. Drop central_tendency.", param="central_tendency")
            for leaf in range(int(first["num_leaves"])):
                booster.set_leaf_output(0, leaf, booster.get_leaf_output(0, leaf) + float(shift))
        else:
            from scipy.special import expit, logit

            model = json.loads(bytes(booster.save_raw("json")))
            learner = model["learner"]
            param = learner["learner_model_param"]
            base = float(str(param["base_score"]).strip("[]"))
            # The margin every row starts from: base_score itself, or its log-odds for a logistic
            # objective (as XGBoost and finlite's exporter read it).
            if learner.get("objective", {}).get("name", "binary:logistic") in ("binary:logistic", "reg:logistic"):
                moved = float(expit(float(logit(base)) + float(shift)))
            else:
                moved = base + float(shift)
            param["base_score"] = f"[{moved!r}]"
            booster = require("xgboost").Booster()
            booster.load_model(bytearray(json.dumps(model).encode("utf-8")))
        oof = None if self.oof is None else self.oof.astype(np.float64) + float(shift)
        out = BoostedEnsemble.from_booster(self.library, booster, oof=oof, input=self.input,
                                           oof_folds=self.oof_folds, window=self.window, objective=self.objective)
        out.monotone = self.monotone  # XGBoost's file drops its training parameters: keep what was recorded
        return out

    def load_state_dict(self, state_dict: Any, strict: bool = True, assign: bool = False) -> Any:
        """Load the tensors and check the booster's bytes; the library reads them on first use.

        Raises:
            ConfigError: the stored bytes are not a well-formed booster of this library.
        """
        result = super().load_state_dict(state_dict, strict=strict, assign=assign)
        self._model = None
        self._gap_table = None
        self._memo_token = next(_TOKENS)  # a job's remembered scores are of the old booster
        self._checked = False
        self._check_bytes()  # fail at load time, naming the artifact, not at the first prediction
        return result

    def _check_bytes(self) -> bytes:
        """The stored booster bytes, checked in Python before any library sees them."""
        raw = bytes(self.booster.numpy().tobytes())
        if not getattr(self, "_checked", False):
            source = f"The {self.library} booster stored in the artifact's weights"
            # The weights file is hashed, but its bytes still reach native code: check them first.
            if check_booster(raw, source, self.objective) != self.library:
                raise ConfigError(f"{source} is not a {self.library} model; the artifact's config and weights "
                                  "disagree. Train or import the teacher again.")
            self._checked = True
        return raw

    @property
    def model(self) -> Any:
        """The library's booster object, parsed from the stored bytes when first needed."""
        if self._model is None:
            raw = self._check_bytes()
            self._model = load_booster(self.library, raw, f"The {self.library} booster stored in the artifact's weights")
        return self._model

    def n_inputs(self) -> int:
        """How many features the booster reads (parsed once, from the stored booster)."""
        if self._n_inputs is None:
            booster = self.model
            self._n_inputs = int(booster.num_feature()) if self.library == "lightgbm" else int(booster.num_features())
        return self._n_inputs

    def set_oof(self, values: np.ndarray) -> None:
        """Attach the out-of-fold log-odds of the training rows (length ``n_train``)."""
        values = np.asarray(values, dtype=np.float32).ravel()
        if len(values) != self.n_train:
            raise ConfigError(f"{len(values)} out-of-fold values for a teacher trained on {self.n_train} rows.")
        if not np.isfinite(values).all():  # a distillation target: one NaN makes the student learn nothing
            bad = int(np.flatnonzero(~np.isfinite(values))[0])
            raise ConfigError(f"Out-of-fold value #{bad + 1} is {float(values[bad])!r}, not a finite log-odds (as float32); "
                              "the teacher's out-of-fold scores are damaged. Re-train the teacher.")
        self.oof = values

    @property
    def oof_logits(self) -> np.ndarray | None:
        """Out-of-fold log-odds of the training rows, or None."""
        return None if self.oof is None else self.oof.copy()

    # -- scoring ------------------------------------------------------------------------------
    def features(self, x: np.ndarray) -> np.ndarray:
        """The booster's input matrix for encoded rows ``x`` (windows ``[rows, window, features]``
        flattened into one row each, oldest step first).

        An imported booster's raw columns are rebuilt from the encoding and kept, per split, on the
        side the encoded value lies (see :func:`encoded_cuts`); ``x`` is compared as given, float32
        as every encoder writes it, as the exported graph compares it."""
        if self.window is not None and np.ndim(x) == 3:
            if x.shape[1] != self.window:
                raise ConfigError(f"This ensemble reads windows of {self.window} steps; got windows of {x.shape[1]}. "
                                  "Build the windows with the artifact's own preprocessor.", param="window")
            return np.asarray(x, dtype=np.float64).reshape(len(x), -1)
        width = self.n_inputs()
        if self.input.get("mode") != "columns":
            if np.shape(x)[-1] != width:
                raise ConfigError(f"Encoded rows have {np.shape(x)[-1]} values; this {self.library} booster reads "
                                  f"{width}. The artifact's preprocessor and booster do not belong together; "
                                  "re-create the artifact.")
            return np.asarray(x, dtype=np.float64)
        idx = np.asarray(self.input["index"], dtype=int)
        reads = [*idx.tolist(), *(i for i in self.input.get("missing_index", []) if i is not None)]
        if len(idx) != width or (reads and max(reads) >= np.shape(x)[-1]):
            raise ConfigError(f"This ensemble's input map reads {len(idx)} of {np.shape(x)[-1]} encoded columns (up to "
                              f"#{max(reads, default=0)}), but its {self.library} booster takes {width}; the model "
                              "config does not fit its booster or preprocessor. Re-create the artifact.")
        z = x[:, idx].astype(np.float64)
        std, mean = np.asarray(self.input["std"]), np.asarray(self.input["mean"])
        raw: np.ndarray = z * std + mean
        # The encoding is float32, so undoing it leaves an error of up to half a float32 ulp of z
        # times std (the float64 arithmetic adds next to nothing). The booster's splits are decided
        # from the encoded value below; the rebuilt value is what the out-of-fold refits train on
        # and explanations show, so a value within twice that error of a number of at most
        # SNAP_DECIMALS decimals (fewest first: 0, ages, months, counts, money in cents) is taken
        # to be that number. Twice the error stays well under the spacing of such numbers
        # wherever the encoding still tells them apart.
        tol = SNAP_F32_EPS * std * np.abs(z) + SNAP_F64_SLACK * (np.abs(mean) + std * np.abs(z))
        free = np.ones(raw.shape, dtype=bool)
        for decimals in range(SNAP_DECIMALS + 1):
            scale = 10.0 ** decimals
            near = np.rint(raw * scale) / scale
            snap = free & (np.abs(raw - near) <= tol)
            raw[snap] = near[snap]
            free &= ~snap
        # XGBoost splits at observed values (`age < 30`, `income < 24082.04`), which a rebuilt
        # value crosses whenever 30 comes back as 29.999998; snapping mends that only for numbers
        # of few decimals (27-125 of 1,500 rows of ratios or incomes in cents still differed from
        # the booster's own scores: bench/import_parity.py). The encoded value decides instead: each of the booster's
        # thresholds has its place in the encoding (encoded_cuts), and the rebuilt value is kept
        # within the gap between the thresholds whose places the encoded value lies between, where
        # the library sends it the raw value's way at every split. Only a row encoded exactly on a
        # threshold's place is undecided: it goes right for XGBoost (`<`), left for LightGBM (`<=`).
        # The exported graph compares the encoded value with the same places.
        if self.library == "xgboost":  # XGBoost reads float32: the gap's bounds are float32 numbers
            with np.errstate(over="ignore"):
                raw = raw.astype(np.float32).astype(np.float64)
        for j, (cuts, lower, upper) in self._gaps().items():
            # Compared as float32, as every encoder writes it and the exported graph reads it.
            e = np.asarray(x[:, idx[j]], dtype=np.float32)
            k = np.searchsorted(cuts, e, side="right" if self.library == "xgboost" else "left")
            raw[:, j] = np.clip(raw[:, j], lower[k], upper[k])
        for j, ind in enumerate(self.input.get("missing_index", [])):
            if ind is not None and ind >= 0:
                raw[x[:, ind] > 0.5, j] = np.nan
        return raw

    def _gaps(self) -> dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Per raw column the booster splits: its thresholds' places in the encoding and the raw
        bounds of each gap between them (read from the booster once, then kept)."""
        table = self._gap_table
        if table is None:
            token = self._memo_token  # renewed by load_state_dict: a table of the old booster is not kept
            std, mean = self.input["std"], self.input["mean"]
            table = {}
            for j, points in split_points(self.library, self.model).items():
                if j >= len(std):  # features() checked the widths; a forged config cannot get here
                    raise ConfigError(f"A split of this {self.library} booster reads feature #{j}, but its input "
                                      f"map has {len(std)} columns; re-create the artifact.")
                table[j] = (encoded_cuts(self.library, points, mean[j], std[j]), *_sides(self.library, points))
            if token == self._memo_token:
                self._gap_table = table
        return table

    def boundary_rows(self, base: np.ndarray, limit: int = 200_000) -> np.ndarray:
        """Encoded rows on and next to every split's place (and at zero) in each raw column the
        booster splits, each set into copies of ``base`` rows: where the exported graph and the
        model decide a split from the encoded value, and where a test split's rows seldom fall.
        An imported booster's export checks its parity on them too. At most ``limit`` rows (an even
        sample of the places when there are more)."""
        if self.input.get("mode") != "columns" or len(base) == 0:
            return np.empty((0, np.shape(base)[-1]), dtype=np.float32)
        idx = np.asarray(self.input["index"], dtype=int)
        std, mean = self.input["std"], self.input["mean"]
        probes: list[tuple[int, np.ndarray]] = []
        for j, (cuts, _, _) in self._gaps().items():
            zero = np.float32((0.0 - mean[j]) / std[j])
            values = np.concatenate([cuts, np.nextafter(cuts, np.float32(-np.inf)), np.nextafter(cuts, np.float32(np.inf)),
                                     [zero, np.nextafter(zero, np.float32(-np.inf)), np.nextafter(zero, np.float32(np.inf))]])
            values = np.unique(values[np.isfinite(values)].astype(np.float32))
            probes.append((int(idx[j]), values))
        column = np.concatenate([np.full(len(v), c) for c, v in probes]) if probes else np.empty(0, dtype=int)
        value = np.concatenate([v for _, v in probes]) if probes else np.empty(0, dtype=np.float32)
        if len(value) > limit:  # a booster of very many splits: an even sample of its places, not all of them
            keep = np.unique(np.linspace(0, len(value) - 1, limit).astype(np.int64))
            column, value = column[keep], value[keep]
        per_base = len(value)
        if per_base == 0:
            return np.empty((0, np.shape(base)[-1]), dtype=np.float32)
        bases = np.asarray(base, dtype=np.float32)[: max(1, min(8, limit // per_base))]
        out = np.repeat(bases, per_base, axis=0)
        rows = np.arange(len(out))
        out[rows, np.tile(column, len(bases))] = np.tile(value, len(bases))
        return out

    @contextmanager
    def one_thread(self) -> Iterator[None]:
        """Score on one thread while the context lasts, as a server scores one request: ``finlite
        bench`` times batch 1 so. With every core, LightGBM's threads stalled on a loaded 2-core
        machine and one row took 40 µs in one run and 7,500 µs in the next (an MLOps walk-through,
        2026-12-06); ONNX Runtime was timed on one thread all along."""
        if self.library == "lightgbm":
            before: int | None = getattr(self, "_threads", None)
            self._threads: int | None = 1
            try:
                yield
            finally:
                self._threads = before
            return
        config = json.loads(self.model.save_config())
        previous = config.get("learner", {}).get("generic_param", {}).get("nthread", 0)
        self.model.set_param({"nthread": 1})
        try:
            yield
        finally:
            self.model.set_param({"nthread": previous})

    def logits_np(self, x: np.ndarray) -> np.ndarray:
        """The raw output for encoded rows, as float64: log-odds, or the forecast of a regression.

        Within :func:`remembered_scores` (compress, search and the report turn it on), a batch of
        :data:`MEMO_MIN_ROWS` rows or more that holds the same bytes as one this ensemble scored
        earlier in the job gets those scores again (a copy) instead of a second pass through the
        trees: the booster is fixed. The key is the ensemble's memo token and the rows' shape,
        dtype and BLAKE2b digest; the store is the job's (:class:`ScoreMemo`).
        """
        arr = np.asarray(x)
        memo = _MEMO.get()
        key = self._memo_key(arr) if memo is not None else None
        if memo is not None and key is not None:
            hit = memo.get(key)
            if hit is not None:
                return hit
        feats = self.features(arr)
        if self.library == "lightgbm":
            threads = getattr(self, "_threads", None)
            out = np.asarray(self.model.predict(feats, raw_score=True, **({"num_threads": threads} if threads else {})),
                             dtype=np.float64)
        else:
            out = np.asarray(self.model.inplace_predict(feats, predict_type="margin"), dtype=np.float64)
        if memo is not None and key is not None:
            memo.put(key, out)
        return out

    def _memo_key(self, arr: np.ndarray) -> tuple[Any, ...] | None:
        """The memo's key for a batch (None: too small to be worth remembering, or too large to keep)."""
        if arr.ndim < 2 or arr.dtype.kind not in "fiub" or not MEMO_MIN_ROWS <= len(arr) <= MEMO_MAX_ROWS:
            return None
        digest = hashlib.blake2b(np.ascontiguousarray(arr).data, digest_size=32).hexdigest()
        return (self._memo_token, arr.dtype.str, arr.shape, digest)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Log-odds (or the forecast) per row, computed by the boosting library, not differentiable."""
        return torch.from_numpy(self.logits_np(x.detach().numpy()).astype(np.float32))

    def stored_parameters(self) -> tuple[int, int]:
        """Tree nodes (splits and leaves): the ensemble's counterpart of parameters."""
        return self.nodes, self.nodes

    def operations_per_row(self) -> tuple[int, int]:
        """About one comparison per tree level per tree, plus one addition per tree."""
        ops = self.trees * (max(self.max_depth, 1) + 1)
        return ops, ops

    def config(self) -> dict[str, Any]:
        """Architecture for :func:`finlite.models.build_model` (the trees travel as a tensor)."""
        return {"kind": self.kind, "library": self.library, "n_bytes": int(self.booster.numel()),
                "n_train": self.n_train, "input": self.input, "trees": self.trees, "nodes": self.nodes,
                "max_depth": self.max_depth, "oof_folds": self.oof_folds, "window": self.window,
                "objective": self.objective, "monotone": self.monotone}


def constraint_list(value: Any) -> list[int]:
    """A library's ``monotone_constraints`` setting as one int per feature ([] when unset)."""
    if value is None:
        return []
    if isinstance(value, str):
        parts = [p for p in re.split(r"[\s,()\[\]]+", value) if p]
        try:
            return [int(float(p)) for p in parts]
        except ValueError:
            return []  # a dict form keyed by feature name: not produced by finlite's training
    if isinstance(value, (list, tuple)):
        return [int(v) for v in value]
    return []


def trained_constraints(library: str, booster: Any) -> list[int] | None:
    """The ``monotone_constraints`` a booster was trained with, as -1/0/+1 per input column ([]
    for none; None when the booster's configuration cannot be read).

    LightGBM keeps them in its model text. XGBoost keeps its training parameters only in the
    booster object it trained: one read back from its file reports none, which is why
    :class:`BoostedEnsemble` records them when it wraps a booster.
    """
    try:
        if library == "lightgbm":
            signs = constraint_list(booster.params.get("monotone_constraints"))
            return [1 if v > 0 else -1 if v < 0 else 0 for v in signs]
        config = json.loads(booster.save_config())
        param = config.get("learner", {}).get("gradient_booster", {}).get("tree_train_param")
        if param is None:
            return None
        return [1 if v > 0 else -1 if v < 0 else 0 for v in constraint_list(param.get("monotone_constraints"))]
    except (AttributeError, ValueError, TypeError):
        return None


def load_booster(library: str, raw: bytes, source: str) -> Any:
    """The library's booster from bytes that :func:`finlite._booster_check.check_booster` accepted.

    Raises:
        ConfigError: the library still refuses the bytes (its own message, re-worded).
    """
    lib = require(library)
    try:
        if library == "lightgbm":
            return lib.Booster(model_str=raw.decode("utf-8"))
        booster = lib.Booster()
        booster.load_model(bytearray(raw))
        return booster
    except Exception as exc:  # noqa: BLE001 - the library's own parse error, re-worded
        detail = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
        raise ConfigError(f"{source} passed finlite's structure check but {library} could not read it: {detail}. "
                          "Save the model again with booster.save_model(path).") from None


def _serialize(library: str, booster: Any) -> bytes:
    if library == "lightgbm":
        text: str = booster.model_to_string()
        return text.encode("utf-8")
    return bytes(booster.save_raw("ubj"))


def _structure(library: str, booster: Any) -> tuple[int, int, int]:
    """(trees, nodes, deepest tree) read from the library's own dump."""
    if library == "lightgbm":
        dump = booster.dump_model()
        trees = dump.get("tree_info", [])

        def walk(node: dict[str, Any], depth: int) -> tuple[int, int]:
            if "leaf_value" in node and "split_index" not in node:
                return 1, depth
            left = walk(node["left_child"], depth + 1)
            right = walk(node["right_child"], depth + 1)
            return 1 + left[0] + right[0], max(left[1], right[1])
        counts = [walk(t["tree_structure"], 0) for t in trees]
        return len(trees), sum(c[0] for c in counts), max((c[1] for c in counts), default=0)
    dumps = booster.get_dump(dump_format="json")
    trees = [json.loads(d) for d in dumps]

    def walk_x(node: dict[str, Any], depth: int) -> tuple[int, int]:
        kids = node.get("children", [])
        if not kids:
            return 1, depth
        parts = [walk_x(k, depth + 1) for k in kids]
        return 1 + sum(p[0] for p in parts), max(p[1] for p in parts)
    counts = [walk_x(t, 0) for t in trees]
    return len(trees), sum(c[0] for c in counts), max((c[1] for c in counts), default=0)
