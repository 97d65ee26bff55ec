"""Adverse-action reasons: why a declined applicant was declined, by the teacher and by the student.

A lender that declines an applicant must say why (ECOA / Regulation B in the US, the CCD and
GDPR Art. 22 in the EU): the principal reasons. When a compressed student replaces a teacher,
its reasons must still be the teacher's, or the letters sent to customers change. This module
computes per-row contributions to the log-odds of the positive ("bad") class:

* exactly for linear models: ``w_j · (x_j − mean of the background's x_j)``; for a points
  scorecard the same with each column's points converted to log-odds;
* with interventional TreeSHAP for a LightGBM / XGBoost teacher (``shap.TreeExplainer`` with the
  same background rows as the other models, so teacher and student reasons share one reference
  point; the library's own path-dependent ``pred_contrib`` only when SHAP cannot read the booster);
* with SHAP's permutation explainer for anything else (an MLP, a pruned or int8 network), on
  the model's log-odds against a small seeded background of training rows, masking whole raw
  columns at once (a one-hot group or a missing indicator moves with its column, so every
  masked row is one the encoder could have produced).

Contributions are then folded per RAW column (:func:`reason_codes`) and the columns pushing
hardest towards the positive class are the reasons. :func:`build_explanations` compares the
teacher's and the student's reasons on the applicants of the test split that either model
declines (after deployment the letters come from the student's declines).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from finlite._protected import USE_ADVICE
from finlite.errors import ConfigError, DataError
from finlite.evaluate._order import content_order, frame_order
from finlite.evaluate.sections import Plot, Section, Series, Status, Table, TabularInputs

__all__ = [
    "BACKGROUND_ROWS",
    "EXPLAINED_ROWS",
    "TOP",
    "build_explanations",
    "contribution_method",
    "contributions",
    "raw_columns",
    "reason_codes",
]

#: Most declined applicants explained (a deterministic sample beyond this): SHAP costs a few
#: milliseconds a row, so 200 rows keep the section within seconds at any table size.
EXPLAINED_ROWS = 200
#: Fewest explained rows whose share of changed principal reasons can FAIL the section (below,
#: at most WARN): the alert overlap's own minimum, :data:`finlite.evaluate.operating.MIN_ALERTS`.
MIN_EXPLAINED = 20
#: Most training rows in the background that SHAP and linear contributions are measured against.
#: SHAP's cost is explained rows x permutations x (2 x columns + 1) x background rows model rows
#: (200 x 3 x 61 x 50 = 1.8 million for 30 columns); 100 rows would double it. Teacher and
#: student are explained against the same rows, so their reasons are compared like for like.
BACKGROUND_ROWS = 50
#: Reasons per applicant (the US adverse-action practice: up to four principal reasons).
TOP = 4
#: Permutations (each forward and backward) SHAP's permutation explainer averages per row; one
#: antithetic pair is already exact for models with at most pairwise interactions. Measured on
#: German credit (a trained 32-unit MLP, 200 rows): another seed changed 1 % of the principal
#: reasons at 3 permutations, none at 10 (for 3x the time).
_PERMUTATIONS = 3
#: Thresholds of the section: principal reason unchanged for at least this share ...
_PASS_UNCHANGED, _WARN_UNCHANGED = 0.80, 0.60
#: ... and a mean overlap of the top-4 lists of at least this.
_PASS_OVERLAP = 0.75
#: Share of the deployed student's explained declines whose principal reason is a column named like a
#: protected attribute (not declared) from which the section is at least WARN.
_NAMED_PRINCIPAL_WARN = 0.05
#: Share of a model's explained declines with one column as the principal reason from which the
#: section says that column decides (with at least _DOMINANT_MIN_ROWS explained): SBA's Term was the
#: teacher's for 92 % of them, a column suspected of leakage, and nothing said so (a validator's
#: walk-through, 2026-12-05). Informative: the status is not changed by it.
_DOMINANT_PRINCIPAL, _DOMINANT_MIN_ROWS = 0.8, 20
_EXAMPLES = 10


class _Words:
    """The section's words for what a flag does: a credit model declines applicants (whose
    adverse-action notice states the reasons), a fraud model flags transactions for an analyst
    (a fraud engineer's walk-through, 2026-12-06: a fraud report spoke of declined applicants)."""

    def __init__(self, domain: str) -> None:
        fraud = domain == "fraud"
        self.fraud = fraud
        self.row, self.rows = ("transaction", "transactions") if fraud else ("applicant", "applicants")
        self.a_row = "a transaction" if fraud else "an applicant"
        self.declined = "flagged" if fraud else "declined"
        self.declines = "flags" if fraud else "declines"  # the verb, and the noun of the rows declined
        self.decline = "flag" if fraud else "decline"
        self.title = "Explanations (reasons for flagged transactions)" if fraud else \
            "Explanations (adverse-action reasons)"
        self.told = ("what finlite serve and score --reasons tell the analyst reviewing a flagged transaction" if fraud
                     else "what finlite serve and score --reasons tell a declined applicant")


#: What a protected attribute among a fraud model's reasons means (USE_ADVICE speaks of credit notices).
_FRAUD_USE_ADVICE = ("a reason that is a protected characteristic means the model flags transactions on it: review "
                     "whether it may, since a control that holds or refuses payments by a protected characteristic "
                     "can be unlawful discrimination")
#: A fraud model's explanations are at most WARN: its flags send no adverse-action notice, and a
#: changed reason is a finding for the analysts who read them, not a material change.
_FRAUD_CAP_NOTE = ("A fraud flag sends no adverse-action notice: the reasons guide the analyst who reviews the "
                   "flagged transaction, so reasons that change are a finding to review (WARN at most), not a "
                   "material change (FAIL). Pass --domain credit where a flag is a credit decision.")


# -- the encoded → raw mapping -------------------------------------------------------------------
def raw_columns(preprocessor: Any) -> list[str]:
    """The raw column behind each encoded column of a fitted tabular Preprocessor, in the order of
    its ``feature_names``: a standardised number and its missing indicator both belong to the
    number's column, a weight-of-evidence column and every one-hot column of a group to the
    categorical column.

    Raises:
        ConfigError: ``preprocessor`` is not a fitted tabular Preprocessor (e.g. a market one).
    """
    numeric = getattr(preprocessor, "numeric_", None)
    categorical = getattr(preprocessor, "categorical_", None)
    if numeric is None or categorical is None:
        raise ConfigError(f"Reason codes need a tabular Preprocessor (raw columns encoded); got "
                          f"{type(preprocessor).__name__}.")
    names = list(preprocessor.feature_names)  # raises when it is not fitted
    raw = [n.name for n in numeric]
    raw.extend(n.name for n in numeric if n.indicator)
    # Weight-of-evidence / target columns sit before the one-hot groups (Preprocessor.column_groups).
    raw.extend(c.name for c in categorical if c.encoding != "onehot")
    for c in categorical:
        if c.encoding == "onehot":
            raw.extend([c.name] * int(c.width))
    if len(raw) != len(names):  # pragma: no cover - the Preprocessor's layout changed without this
        raise ConfigError(f"The preprocessor has {len(names)} encoded columns but its layout gives {len(raw)}; "
                          "finlite.evaluate.explain.raw_columns must follow Preprocessor.feature_names.")
    return raw


def _group_indices(raw: Sequence[str]) -> tuple[list[str], list[list[int]]]:
    """Distinct raw columns in first-seen order and the encoded indices of each."""
    order: dict[str, list[int]] = {}
    for i, name in enumerate(raw):
        order.setdefault(name, []).append(i)
    return list(order), list(order.values())


def reason_codes(contrib: np.ndarray, feature_names: Sequence[str], groups: Mapping[str, str],
                 top: int = TOP) -> list[list[str]]:
    """The ``top`` reasons of each row: raw columns ranked by their contribution towards the
    positive class.

    ``contrib`` is ``[rows, encoded columns]`` (log-odds, positive = towards "bad");
    ``feature_names`` names its columns and ``groups`` maps each encoded name to its raw column
    (one-hot columns and missing indicators fold into their column; a name not in ``groups`` is
    its own column). Only columns with a positive summed contribution of at least
    :data:`finlite.runtime.reasons.MIN_SHARE` of the row's positive contributions together (or
    the largest) are reasons, as the deployed reasons are, largest first, ties broken by name so
    the lists are deterministic; a row may have fewer than ``top``.

    Raises:
        DataError: ``contrib`` does not have one column per feature name.
        ConfigError: ``top`` is not a positive integer.
    """
    contrib = np.asarray(contrib, dtype=np.float64)
    if contrib.ndim != 2 or contrib.shape[1] != len(feature_names):
        raise DataError(f"reason_codes needs contributions of shape [rows, {len(feature_names)}] (one column per "
                        f"feature name); got shape {contrib.shape}.")
    if isinstance(top, bool) or not isinstance(top, int) or top < 1:
        raise ConfigError(f"The 'top' parameter of reason_codes must be a positive integer. Got {top!r} instead.",
                          param="top")
    raw = [groups.get(name, name) for name in feature_names]
    columns, members = _group_indices(raw)
    summed = np.zeros((contrib.shape[0], len(columns)))
    for g, idx in enumerate(members):
        summed[:, g] = contrib[:, idx].sum(axis=1)
    # Ties by name: sort the columns by name once, then a stable sort by contribution keeps that order.
    by_name = np.argsort(np.asarray(columns, dtype=object), kind="stable")
    out: list[list[str]] = []
    from finlite.runtime.reasons import material_floors

    # The deployed reasons' materiality floor (runtime/reasons.py), so the report compares like
    # with like: SHAP's lists and the deployed ones under one rule (a review, 2026-12-05).
    floors = material_floors(summed)
    for row, floor in zip(summed, floors, strict=True):
        ranked = by_name[np.argsort(-row[by_name], kind="stable")]
        out.append([columns[g] for g in ranked[:top] if row[g] > 0 and row[g] >= floor])
    return out


# -- contributions -----------------------------------------------------------------------------
def contribution_method(model: Any) -> str:
    """How :func:`contributions` attributes ``model``'s log-odds, in words."""
    from finlite.models.gbdt import BoostedEnsemble
    from finlite.models.linear import LogisticRegression
    from finlite.models.scorecard import IntegerLogistic, ScorecardModel

    if isinstance(model, (LogisticRegression, IntegerLogistic)):
        return "exact (linear: weight x (value - background mean))"
    if isinstance(model, ScorecardModel):
        return "exact (scorecard points in log-odds, against the background mean)"
    if isinstance(model, BoostedEnsemble):
        return (f"{model.library} interventional TreeSHAP against the background rows (shap.TreeExplainer; the "
                "library's path-dependent values only if SHAP cannot read the booster)")
    return "SHAP permutation explainer on the log-odds"


def _log_odds(model: Any) -> Any:
    """``model``'s log-odds on float rows as float64 numpy, in evaluation mode."""
    import torch

    def f(x: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            was = model.training
            model.eval()
            try:
                out = model(torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)))
            finally:
                model.train(was)
        return np.asarray(out.double().numpy()).reshape(len(x))
    return f


def _booster_contributions(model: Any, x: np.ndarray, background: np.ndarray | None = None,
                           notes: list[str] | None = None) -> np.ndarray:
    """Per-feature contributions of a booster's raw score, placed on the encoded columns they read:
    interventional TreeSHAP against ``background`` (they sum to f(x) − mean f(background), the
    reference the linear and SHAP explanations of a student use), or the library's own
    path-dependent contributions (against the training expectation) without a background or when
    SHAP cannot read the booster (said in ``notes``, when given)."""
    if model.window is not None:
        raise ConfigError("Reason codes are for tables; this ensemble reads windows of a series.")
    feats = model.features(x)
    phi: np.ndarray | None = None
    if background is not None:
        try:
            import shap

            explainer = shap.TreeExplainer(model.model, data=np.asarray(model.features(background), dtype=np.float64),
                                           feature_perturbation="interventional", model_output="raw")
            phi = np.asarray(explainer.shap_values(np.asarray(feats, dtype=np.float64)), dtype=np.float64)
            phi = phi.reshape(len(x), -1)
        except Exception as exc:  # noqa: BLE001 - any SHAP failure falls back to the library's own values
            phi = None
            if notes is not None:
                notes.append(f"SHAP could not read this booster ({type(exc).__name__}: {str(exc)[:160]}), so these "
                             f"reasons are {model.library}'s own path-dependent contributions (against the "
                             "training expectation, not the background rows)")
    if phi is None and model.library == "lightgbm":
        phi = np.asarray(model.model.predict(feats, pred_contrib=True), dtype=np.float64)
    elif phi is None:
        from finlite.models.gbdt import require

        xgb = require("xgboost")
        names = model.model.feature_names
        matrix = xgb.DMatrix(feats, missing=np.nan, feature_names=names)
        phi = np.asarray(model.model.predict(matrix, pred_contribs=True), dtype=np.float64)
    if phi.shape[1] == np.asarray(feats).shape[1] + 1:
        phi = phi[:, :-1]  # the library's last column is the expected value (bias), no column's doing
    if model.input.get("mode") != "columns":
        return phi
    # An imported booster reads raw numeric columns: each lands on its standardised column.
    out = np.zeros((len(x), x.shape[1]))
    out[:, np.asarray(model.input["index"], dtype=int)] = phi
    return out


def _scorecard_pieces(model: Any, x: np.ndarray) -> np.ndarray:
    """Each encoded column's part of a scorecard's log-odds: ``−points / factor``."""
    import torch

    xt = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
    factor = float(model.factor)
    out = np.zeros((len(x), x.shape[1]))
    for j in range(model.n_numeric):
        bucket = torch.bucketize(xt[:, j].contiguous(), model.edges[j], right=True)
        out[:, j] = -model.numeric_points[j][bucket].double().numpy() / factor
    binary = np.round(x[:, model.n_numeric:].astype(np.float64))
    out[:, model.n_numeric:] = -binary * model.binary_points.double().numpy() / factor
    return out


class _GroupMasker:
    """SHAP masker over raw columns: a masked-in column takes the explained row's values in all
    its encoded columns, a masked-out one the background rows' (so every row is a valid encoding)."""

    def __init__(self, background: np.ndarray, groups: Sequence[Sequence[int]]) -> None:
        self.background = background
        self.shape = (len(background), len(groups))
        self.columns = np.zeros((len(groups), background.shape[1]), dtype=bool)
        for g, cols in enumerate(groups):
            self.columns[g, list(cols)] = True

    def __call__(self, mask: np.ndarray, x: np.ndarray) -> tuple[np.ndarray]:
        keep = self.columns[np.asarray(mask, dtype=bool)].any(axis=0)
        out = self.background.copy()
        out[:, keep] = x[keep]
        return (out,)

    def mask_shapes(self, *args: Any) -> list[tuple[int]]:
        return [(self.shape[1],)]


def _identity(values: Any) -> Any:
    """The identity link, as plain Python (SHAP's own is a numba function, compiled on first use)."""
    return values


_UNCOMPILED_LOCK = threading.Lock()


@contextmanager
def _uncompiled_averaging() -> Iterator[bool]:
    """Within the block, SHAP averages the masked model's outputs with the plain Python form of its
    numba helper (``_build_fixed_single_output.py_func``), not the compiled one; yields whether it
    does (False where this shap has no such helper: then nothing is changed, and the explainer
    must keep shap's own link, which the compiled helper requires).

    Compiling it costs 7-9 s of every new process on this 2-core machine (most of it numba's
    first-use set-up), while the loop it runs is a hundred-odd steps per explained row: a report
    explained 200 rows in about 6 s uncompiled against 11 s with the compile. The two forms sum the
    background's outputs in another order; the outputs here are float32 log-odds, whose sums over
    the 50 background rows are exact in float64, so the values came out the same to the bit.
    """
    try:
        from shap.utils import _masked_model as masked
    except ImportError:  # another layout of shap: it compiles, as it always did
        yield False
        return
    with _UNCOMPILED_LOCK:
        compiled = getattr(masked, "_build_fixed_single_output", None)
        plain = getattr(compiled, "py_func", None)
        if plain is None:
            yield False
            return
        masked._build_fixed_single_output = plain
        try:
            yield True
        finally:
            masked._build_fixed_single_output = compiled


def _shap_contributions(f: Any, x: np.ndarray, background: np.ndarray, seed: int,
                        groups: Sequence[Sequence[int]]) -> np.ndarray:
    import shap
    import torch

    # SHAP draws each row's permutations from one stream, row after row: the same applicant's
    # contributions moved by up to 0.07 log-odds with its place in the file, and 3 of 300 principal
    # reasons changed (a metamorphic review, 2026-12-07). The rows go in their content order
    # (_order) and come back in the caller's.
    order = content_order(x)
    x = x[order]
    masker = _GroupMasker(background, groups)
    evals = _PERMUTATIONS * (2 * len(groups) + 1)
    # shap seeds (and draws from) numpy's global generator: keep the caller's stream as it was.
    state = np.random.get_state()
    threads = torch.get_num_threads()
    # Thousands of small batches: a second intra-op thread only spin-waits (measured 30x slower
    # on a loaded 2-core machine), as in the training loop.
    torch.set_num_threads(1)
    try:
        with _uncompiled_averaging() as plain:
            # The plain helper takes the identity link in plain Python (shap's own is a numba function
            # too). linearize_link must then be off: shap only skips re-weighting for its own identity.
            links: dict[str, Any] = {"link": _identity, "linearize_link": False} if plain else {}
            explainer = shap.explainers.Permutation(f, masker, seed=seed % (2**32), **links)
            result = explainer(x, max_evals=evals, batch_size=evals, silent=True)
    finally:
        np.random.set_state(state)
        torch.set_num_threads(threads)
    values = np.empty((len(x), len(groups)))
    values[order] = np.asarray(result.values, dtype=np.float64).reshape(len(x), len(groups))
    out = np.zeros((len(x), x.shape[1]))
    for g, cols in enumerate(groups):
        out[:, cols[0]] = values[:, g]  # a group's value on its first column; reason_codes sums the group
    return out


def contributions(model: Any, x_encoded: np.ndarray, background: np.ndarray, seed: int = 0,
                  groups: Sequence[Sequence[int]] | None = None, notes: list[str] | None = None) -> np.ndarray:
    """Per-row contributions of each encoded column to ``model``'s log-odds, ``[rows, columns]``.

    Linear models and scorecards: exact, ``piece_j(x) − mean over background of piece_j``, so a
    row's contributions sum to its log-odds minus the background's mean log-odds. LightGBM /
    XGBoost (:class:`~finlite.models.gbdt.BoostedEnsemble`): interventional TreeSHAP against
    ``background`` (they sum to the raw score minus the background's mean raw score: the same
    reference point as the other models). Any
    other model: SHAP's permutation explainer (seeded by ``seed``) on the log-odds, which sums to
    ``f(x) − mean f(background)``. ``groups`` (lists of encoded column indices, e.g. one per raw
    column) are masked together by SHAP, and each group's value is put on its first column;
    without them every encoded column is its own group. ``notes`` (a list) receives a line when a
    booster's contributions had to fall back from TreeSHAP to the library's own.

    Raises:
        DataError: ``x_encoded`` and ``background`` are not matrices of the same width, or the
            background is empty.
    """
    from finlite.models.gbdt import BoostedEnsemble
    from finlite.models.linear import LogisticRegression
    from finlite.models.scorecard import IntegerLogistic, ScorecardModel

    x = np.asarray(x_encoded, dtype=np.float64)
    bg = np.asarray(background, dtype=np.float64)
    if x.ndim != 2 or bg.ndim != 2 or x.shape[1] != bg.shape[1] or len(bg) == 0:
        raise DataError(f"contributions needs encoded rows and a non-empty background of the same width; got shapes "
                        f"{x.shape} and {bg.shape}.")
    if len(x) == 0:
        return np.zeros((0, x.shape[1]))
    if isinstance(model, BoostedEnsemble):
        return _booster_contributions(model, x, bg, notes)
    if isinstance(model, (LogisticRegression, IntegerLogistic)):
        if isinstance(model, LogisticRegression):
            w = model.linear.weight.detach().double().numpy().reshape(-1)
        else:
            w = model.weight_int.double().numpy() * float(model.weight_scale)
        out: np.ndarray = (x - bg.mean(axis=0)) * w
        return out
    if isinstance(model, ScorecardModel):
        pieces: np.ndarray = _scorecard_pieces(model, x) - _scorecard_pieces(model, bg).mean(axis=0)
        return pieces
    cols = [list(g) for g in groups] if groups is not None else [[j] for j in range(x.shape[1])]
    return _shap_contributions(_log_odds(model), x, bg, seed, cols)


# -- the report section --------------------------------------------------------------------------
def _model_reasons(scored: Any, rows: Any, background: Any, seed: int) -> tuple[list[list[str]], str]:
    pre = scored.preprocessor
    raw = raw_columns(pre)
    names = list(pre.feature_names)
    _, members = _group_indices(raw)
    x = np.asarray(scored.encode(rows), dtype=np.float64)
    bg = np.asarray(scored.encode(background), dtype=np.float64)
    notes: list[str] = []
    contrib = contributions(scored.model, x, bg, seed, groups=members, notes=notes)
    method = contribution_method(scored.model) + "".join(f"; here: {n}" for n in notes)
    return reason_codes(contrib, names, dict(zip(names, raw, strict=True)), TOP), method


def deployed_reference(model: Any, preprocessor: Any, x_train: Any, run: Any, seed: int) -> dict[str, Any]:
    """The reasons reference ``finlite export`` records for ``model`` (``export.reasons``;
    :func:`finlite.runtime.reasons.reference_record`), from its training rows encoded in-sample
    (``x_train``) and ``run`` (rows to P(positive)): a points scorecard, whose graph rounds every
    column from its ``n_numeric`` on, and a tree ensemble, which splits its one-hot columns at a
    threshold, get a real reference applicant and per-field offsets."""
    from finlite.models.gbdt import BoostedEnsemble
    from finlite.models.scorecard import ScorecardModel
    from finlite.runtime.encoder import Encoder
    from finlite.runtime.reasons import field_columns, reference_record

    binary_from = model.n_numeric if isinstance(model, ScorecardModel) else None
    encoder = Encoder(preprocessor.to_dict())
    # A tree ensemble reads a category's share as a category: its reference is a real applicant.
    return reference_record(np.asarray(x_train, dtype=np.float32), field_columns(encoder),
                            run, binary_from=binary_from, seed=seed, numbers=len(encoder.numeric),
                            splits=isinstance(model, BoostedEnsemble))


def _deployed_reasons(scored: Any, rows: Any, train_frame: Any, seed: int) -> list[list[str]]:
    """The reasons the deployed artifact gives for ``rows`` (:mod:`finlite.runtime.reasons`:
    baseline Shapley values against the training rows' typical applicant, one antithetic pair),
    computed here on the model itself, so the report shows how they compare with SHAP's."""
    from finlite.runtime.encoder import Encoder
    from finlite.runtime.reasons import ReasonModel, field_columns

    log_odds = _log_odds(scored.model)

    def probability(x: np.ndarray) -> np.ndarray:
        return np.asarray(1.0 / (1.0 + np.exp(-log_odds(x))), dtype=np.float64)

    # As finlite export records it (the same helper and seed: the artifact's).
    record = deployed_reference(scored.model, scored.preprocessor, scored.encode(train_frame), probability, seed)
    model = ReasonModel(field_columns(Encoder(scored.preprocessor.to_dict())), record["reference"], probability,
                        "the student", offsets=record.get("offsets"), min_share=record["min_share"])
    x = np.asarray(scored.encode(rows), dtype=np.float32)
    return [[w["field"] for w in why] for why in model.reasons(x, TOP)]


def _overlap(a: Sequence[str], b: Sequence[str]) -> float:
    """Shared reasons over the longer list (1 when neither has any)."""
    longest = max(len(a), len(b))
    return len(set(a) & set(b)) / longest if longest else 1.0


def build_explanations(inp: TabularInputs) -> Section:
    """The ``explanations`` section: top-4 adverse-action reasons of the declined applicants of the
    test split (declined by the teacher or by the student: after deployment the letters come from
    the student's declines) from the teacher and from the student; their overlap and the share
    whose principal reason changed, overall and separately on the rows only one model declines.

    At most :data:`EXPLAINED_ROWS` declined applicants are explained (a seeded sample, kept in
    test order), against :data:`BACKGROUND_ROWS` seeded training rows (the same for both models).

    Raises:
        ConfigError: the inputs have no cut-off (a task without decisions).
    """
    if inp.cutoff is None:
        raise ConfigError("The explanations section needs a cut-off (declined applicants); this task makes no "
                          "decisions.", param="cutoff")
    w = _Words(inp.domain)
    threshold = (f"Over the {w.rows} {w.declined} by the teacher or the student: PASS when the principal reason is "
                 f"unchanged for at least {_PASS_UNCHANGED:.0%} and the top-{TOP} lists overlap by at least "
                 f"{_PASS_OVERLAP:.2f} on average; WARN when the principal reason is unchanged for at least "
                 f"{_WARN_UNCHANGED:.0%}; FAIL below; WARN whatever the shares where fewer than {MIN_EXPLAINED} "
                 "are explained. "
                 "At least WARN when the deployed student's reasons cite a "
                 f"column declared protected (--protected) for any explained {w.row} it {w.declines}, or give one "
                 f"named like a protected attribute as the principal reason for {_NAMED_PRINCIPAL_WARN:.0%} of them "
                 "or more: the model then decides on a protected characteristic."
                 + (" At most WARN for a fraud model (--domain fraud): its flags send no adverse-action notice."
                    if w.fraud else ""))
    teacher_scores = np.asarray(inp.teacher.scores_test, dtype=np.float64)
    student_scores = np.asarray(inp.student.scores_test, dtype=np.float64)
    t_flag, s_flag = teacher_scores >= inp.cutoff, student_scores >= inp.cutoff
    declined = np.flatnonzero(t_flag | s_flag)
    title = w.title
    if len(declined) == 0:
        return Section(id="explanations", title=title, status="WARN", threshold=threshold,
                       summary=f"Neither model {w.declines} {w.a_row} of the test split at the cut-off, so there are "
                               "no reasons to compare.",
                       metrics={"declined": 0, "explained": 0, "overlap_mean": None,
                                "principal_unchanged_share": None, "principal_changed_share": None},
                       notes=[f"No test row scores at or above the cut-off {inp.cutoff:.6g}."])
    rng = np.random.default_rng(inp.seed)
    if len(declined) > EXPLAINED_ROWS:
        # Drawn from the declined rows in their content order (_order), so the same rows in another
        # order explain the same applicants (then listed in the file's order).
        listed = frame_order(inp.test_frame.iloc[declined], np.asarray(inp.y_test)[declined],
                             teacher_scores[declined], student_scores[declined])
        pick = np.sort(declined[listed][rng.choice(len(declined), EXPLAINED_ROWS, replace=False)])
    else:
        pick = declined
    n_bg = min(BACKGROUND_ROWS, len(inp.train_frame))
    if n_bg == 0:
        raise DataError("The explanations section needs training rows for its background; the training frame is "
                        "empty.")
    bg_rows = np.sort(rng.choice(len(inp.train_frame), n_bg, replace=False))
    rows = inp.test_frame.iloc[pick]
    background = inp.train_frame.iloc[bg_rows]
    t_reasons, t_method = _model_reasons(inp.teacher, rows, background, inp.seed)
    s_reasons, s_method = _model_reasons(inp.student, rows, background, inp.seed)
    # What the deployed student tells the applicants it declines (runtime/reasons.py), next to SHAP's.
    d_reasons = _deployed_reasons(inp.student, rows, inp.train_frame, inp.seed)
    s_declined = s_flag[pick]
    d_same = [(d[0] if d else None) == (s[0] if s else None)
              for d, s, keep in zip(d_reasons, s_reasons, s_declined, strict=True) if keep]
    deployed_same = float(np.mean(d_same)) if d_same else None
    deployed_overlap = float(np.mean([_overlap(d, s) for d, s, keep in zip(d_reasons, s_reasons, s_declined,
                                                                          strict=True) if keep])) if d_same else None

    principal_t = [r[0] if r else None for r in t_reasons]
    principal_s = [r[0] if r else None for r in s_reasons]
    same = np.array([a == b for a, b in zip(principal_t, principal_s, strict=True)], dtype=bool)
    unchanged = float(np.mean(same))
    # Rows only one model declines (a flipped decision) are reported apart: their letters are new
    # (or gone), not re-worded.
    flipped = t_flag[pick] != s_flag[pick]
    unchanged_both = float(np.mean(same[~flipped])) if (~flipped).any() else None
    unchanged_flipped = float(np.mean(same[flipped])) if flipped.any() else None
    overlap = float(np.mean([_overlap(a, b) for a, b in zip(t_reasons, s_reasons, strict=True)]))
    status: Status
    if unchanged >= _PASS_UNCHANGED and overlap >= _PASS_OVERLAP:
        status = "PASS"
    elif unchanged >= _WARN_UNCHANGED:
        status = "WARN"
    else:
        status = "FAIL"
    capped = w.fraud and status == "FAIL"
    if capped:
        status = "WARN"
    # A share of a handful of letters is no evidence either way: one declined applicant of a
    # low-default portfolio whose principal reason changed was FAIL, and made the card's change
    # "material" (a walk-through, 2026-12-07). Below MIN_EXPLAINED rows the status is WARN.
    few = len(pick) < MIN_EXPLAINED
    if few:
        status = "WARN"

    def counts(principal: Sequence[str | None]) -> dict[str, int]:
        out: dict[str, int] = {}
        for p in principal:
            key = p if p is not None else "(none)"
            out[key] = out.get(key, 0) + 1
        return out

    ct, cs = counts(principal_t), counts(principal_s)
    columns = sorted(set(ct) | set(cs), key=lambda c: (-ct.get(c, 0), -cs.get(c, 0), c))
    n = len(pick)
    table = Table(id="principal_reasons", caption=f"How often each column is the principal reason of a {w.declined} "
                  f"{w.row} (count and share of the explained {w.rows})",
                  columns=["column", "teacher", "student", "teacher_share", "student_share"],
                  rows=[[c, ct.get(c, 0), cs.get(c, 0), ct.get(c, 0) / n, cs.get(c, 0) / n] for c in columns])
    plot = Plot(id="principal_reasons", title=f"Principal reason of {w.declined} {w.rows}", x_label="column",
                y_label=f"share of {w.declined} {w.rows}",
                series=[Series("teacher", [float(i) for i in range(len(columns))], [ct.get(c, 0) / n for c in columns],
                               "bar"),
                        Series("student", [float(i) for i in range(len(columns))], [cs.get(c, 0) / n for c in columns],
                               "bar")],
                x_ticks=list(columns))
    # A model's reasons only where that model declines the row: the deployed student's were shown
    # for rows it approves, reasons serve and score never give (a reason-code audit, 2026-12-07).
    def given(reasons: list[str], declines: bool) -> str:
        return "; ".join(reasons) if declines else "—"

    examples = Table(id="reason_examples", caption=f"The first {min(_EXAMPLES, n)} explained {w.declined} {w.rows} "
                     f"(by {inp.id_name}) and their top-{TOP} reasons (a dash where that model does not {w.decline} "
                     f"the {w.row})",
                     columns=[inp.id_name, "teacher_score", "student_score", "teacher_reasons", "student_reasons",
                              "deployed_reasons"],
                     rows=[[_cell(inp.ids[i]), float(teacher_scores[i]), float(student_scores[i]),
                            given(t_reasons[k], bool(t_flag[i])), given(s_reasons[k], bool(s_flag[i])),
                            given(d_reasons[k], bool(s_flag[i]))]
                           for k, i in enumerate(pick[:_EXAMPLES])])
    notes = [f"Teacher: {t_method}; student: {s_method}. Contributions are to the log-odds of the positive class "
             f"({inp.positive}); a column's one-hot, missing-indicator and encoded parts are summed into it, and only "
             "columns pushing towards the positive class are reasons (ties by name). Overlap: the reasons two lists "
             "share over the length of the longer list (1 when neither has any)."]
    if len(declined) > EXPLAINED_ROWS:
        notes.append(f"{EXPLAINED_ROWS} of the {len(declined):,} {w.declined} {w.rows} are explained (a sample seeded "
                     f"with {inp.seed}), to keep SHAP's cost bounded.")
    notes.append(f"{w.declined.capitalize()}: by the teacher or the student ({int(t_flag.sum()):,} and "
                 f"{int(s_flag.sum()):,} test rows; {int((t_flag != s_flag).sum()):,} {w.declined} by one model only). "
                 f"Principal reason unchanged: {_share(unchanged_both)} where both {w.decline}, "
                 f"{_share(unchanged_flipped)} on the {int(flipped.sum())} explained rows only one model {w.declines}.")
    notes.append(f"Deployed reasons ({w.told}): each column's "
                 f"baseline Shapley value against the training rows' typical {w.row}, from one antithetic pair "
                 f"(finlite.runtime.reasons), computed here on the student over the {len(inp.train_frame):,} training "
                 f"rows the report reads. On the {len(d_same)} explained {w.rows} the student {w.declines}, their "
                 f"principal reason is SHAP's for {_share(deployed_same)}, and the top-{TOP} lists share "
                 + ("n/a" if deployed_overlap is None else f"{deployed_overlap:.2f}") + " of their reasons on "
                 "average. Informative: the status above judges teacher against student.")
    notes.append(f"Background: {n_bg} training rows (seeded with {inp.seed}), the same rows for teacher and student: "
                 "every method attributes f(x) − mean f(background). With 50 rows the reference point itself varies "
                 "a little from seed to seed.")
    changed = 1.0 - unchanged
    dominant = _dominant_reasons(ct, cs, n)
    if dominant:
        notes.append(f"One column decides, among the explained {w.declined} {w.rows}: {'; '.join(dominant)}. A model "
                     "that leans on one input this much is only as sound as that input: check that it is known when "
                     f"the {'transaction is scored' if w.fraud else 'application is decided'} (not recorded after the "
                     "outcome) and means the same in every segment, and how the decisions change without it.")
    cited = _protected_citations(inp, {"teacher": t_reasons, "student": s_reasons, "deployed": d_reasons},
                                 {"teacher": t_flag[pick], "student": s_declined, "deployed": s_declined})
    parties = _other_party_reasons(inp, {"teacher": t_reasons, "student": s_reasons, "deployed": d_reasons},
                                   {"teacher": t_flag[pick], "student": s_declined, "deployed": s_declined})
    if parties and not w.fraud:  # the note's case is a notice to an applicant, who cannot act on a lender's name
        notes.append(_other_party_note(parties))
    summary = (f"Of {n:,} {w.declined} {w.rows} explained, the principal reason is the same for {unchanged:.1%} "
               f"(changed for {changed:.1%}); the top-{TOP} reason lists share {overlap:.2f} of their reasons on "
               "average.")
    if dominant:
        summary += f" One column decides: {'; '.join(dominant)}."
    deployed_cited = cited["deployed"]
    named_principal = sum(k for c, k in deployed_cited["principal_by_column"].items() if c not in cited["declared"])
    if status == "PASS" and (any(c in cited["declared"] for c in deployed_cited["columns"])
                             or named_principal >= _NAMED_PRINCIPAL_WARN * max(deployed_cited["declined"], 1)):
        # The card said PASS and "Non-material change" for a student whose letters named SEX for a
        # third of its declines: the status says it too (a walk-through, 2026-12-05). A name is a
        # hint, not a finding: only as the principal reason of a share of declines does it count
        # (a name among a few top-four lists, never first, stays PASS).
        status = "WARN"
    if deployed_cited["any"]:
        # A reason that is a protected characteristic means the model decides on it (ECOA /
        # Regulation B): said where a reviewer reads first, not only in serve's and score's
        # warnings (a fair-lending review).
        summary += (f" The reasons the deployed student gives cite a protected attribute "
                    f"({', '.join(deployed_cited['columns'])}) for {deployed_cited['any']} of the "
                    f"{deployed_cited['declined']} {w.rows} it {w.declines} here")
        # How often depends on the reference each method measures from: the headline gave the
        # deployed count alone, the lowest of three (9 of 58 against SHAP's 25 and 24: a
        # compliance review, 2026-12-06).
        summary += (f"; SHAP's reasons, measured against training rows rather than one typical {w.row}, for "
                    f"{cited['student']['any']} of {cited['student']['declined']} (the student) and "
                    f"{cited['teacher']['any']} of {cited['teacher']['declined']} (the teacher).")
        notes.append(f"Protected attributes among the reasons (declared with --protected, or named like one: "
                     f"{', '.join(cited['columns'])}): of the {w.rows} each model {w.declines}, the deployed student's "
                     f"reasons cite one for {deployed_cited['any']} of {deployed_cited['declined']} (as the principal "
                     f"reason for {deployed_cited['principal']}); the teacher's SHAP reasons for "
                     f"{cited['teacher']['any']} of {cited['teacher']['declined']}: "
                     f"{_FRAUD_USE_ADVICE if w.fraud else USE_ADVICE}. The fairness section "
                     "says whether the model reads it.")
    if few:
        summary += (f" Only {len(pick)} {w.declined} {w.row if len(pick) == 1 else w.rows} could be explained, fewer "
                    f"than the {MIN_EXPLAINED} a share of changed reasons needs to mean anything: WARN, neither PASS "
                    "nor FAIL. Judge the reasons on a larger test split or hold-out.")
    if capped:
        summary += (f" The principal reason is kept for less than the {_WARN_UNCHANGED:.0%} a credit model needs (FAIL "
                    "there); WARN for a fraud model, whose flags send no adverse-action notice.")
        notes.append(_FRAUD_CAP_NOTE)
    metrics: dict[str, Any] = {
        "domain": inp.domain, "declined": len(declined), "explained": int(n), "top": TOP, "background_rows": int(n_bg),
        "overlap_mean": overlap, "principal_unchanged_share": unchanged, "principal_changed_share": changed,
        "declined_teacher": int(t_flag.sum()), "declined_student": int(s_flag.sum()),
        "declined_one_model": int((t_flag != s_flag).sum()), "explained_flipped": int(flipped.sum()),
        "principal_unchanged_share_both_declined": unchanged_both,
        "principal_unchanged_share_flipped": unchanged_flipped,
        "teacher_method": t_method, "student_method": s_method,
        "deployed_method": f"baseline Shapley against the training rows' typical {w.row} (each number's median "
                           "and each category's share of the encoded input; a scorecard: its most common "
                           "categories, with offsets to the average points), one antithetic pair",
        "deployed_principal_same_as_shap_share": deployed_same, "deployed_overlap_with_shap_mean": deployed_overlap,
        "principal_reason_counts": {"teacher": ct, "student": cs},
        "protected_citations": cited,
        "other_party_principal": parties,
    }
    return Section(id="explanations", title=title, status=status, threshold=threshold, summary=summary,
                   metrics=metrics, tables=[table, examples], plots=[plot], notes=notes)


def _dominant_reasons(teacher: Mapping[str, int], student: Mapping[str, int], explained: int) -> list[str]:
    """For each model whose principal reason is one column for at least :data:`_DOMINANT_PRINCIPAL`
    of ``explained`` declined applicants (from :data:`_DOMINANT_MIN_ROWS` of them; "(none)" never
    counts): "Term is the teacher's principal reason for 92% of them (the student's for 85%)", once
    per column. Each model's own: a student led by another column than its teacher hid the
    teacher's (a review, 2026-12-05)."""
    if explained < _DOMINANT_MIN_ROWS:
        return []
    said: list[str] = []
    seen: set[str] = set()
    for who, counts, other_who, other in (("teacher", teacher, "student", student),
                                          ("student", student, "teacher", teacher)):
        top = max((c for c in counts if c != "(none)"), key=lambda c: (counts[c], c), default=None)
        if top is None or counts[top] < _DOMINANT_PRINCIPAL * explained or top in seen:
            continue
        seen.add(top)
        said.append(f"{top} is the {who}'s principal reason for {counts[top] / explained:.0%} of them (the "
                    f"{other_who}'s for {other.get(top, 0) / explained:.0%})")
    return said


def _other_party_reasons(inp: TabularInputs, reasons: Mapping[str, Sequence[Sequence[str]]],
                         declined: Mapping[str, np.ndarray]) -> dict[str, dict[str, int]]:
    """For each input named like a party other than the applicant
    (:func:`finlite._protected.likely_other_party`: Bank, BankState) that is the principal reason of
    some explained applicant a model declines: per model, of how many, with ``declined`` (per
    model) beside them. Empty when no such column leads any decline."""
    from finlite._protected import likely_other_party

    look = likely_other_party([*inp.numeric, *inp.categorical])
    if not look:
        return {}
    out: dict[str, dict[str, int]] = {}
    totals = {name: int(np.sum(declined[name])) for name in reasons}
    for column in look:
        counts = {name: sum(bool(r) and r[0] == column and bool(keep)
                            for r, keep in zip(lists, declined[name], strict=True))
                  for name, lists in reasons.items()}
        if any(counts.values()):
            out[column] = {**counts, **{f"{name}_declined": totals[name] for name in reasons}}
    return out


def _other_party_note(parties: Mapping[str, Mapping[str, int]]) -> str:
    """The note on declines whose principal reason names a party other than the applicant."""
    def share(k: int, n: int) -> str:
        return f"{k}" + (f" ({k / n:.1%})" if n else "")

    said = "; ".join(f"{column} is the principal reason for {share(c['teacher'], c['teacher_declined'])} of the "
                     f"teacher's {c['teacher_declined']} explained declines, {share(c['student'], c['student_declined'])}"
                     f" of the student's {c['student_declined']}, and {share(c['deployed'], c['deployed_declined'])} of "
                     f"the student's {c['deployed_declined']} by the reasons it deploys"
                     for column, c in parties.items())
    return (f"Reasons that name another party: {said}. The column is named like a party to the loan other than the "
            "applicant (a lender, its branch or staff, a broker, dealer or seller, the channel): as an adverse-action "
            "reason it tells "
            "applicants where they applied, not what about them led to the decline, and they cannot act on it. "
            "Review whether the model should read it, and how a notice states such a reason; the status is not "
            "changed by this.")


def _protected_citations(inp: TabularInputs, reasons: Mapping[str, Sequence[Sequence[str]]],
                         declined: Mapping[str, np.ndarray]) -> dict[str, Any]:
    """How often each model's reasons cite a protected attribute (a column declared protected, or
    one named like one: :func:`finlite._protected.likely_protected`), over the explained
    applicants that model declines: ``any`` (among its top reasons), ``principal`` (first), and
    per column; ``columns`` lists the attributes looked for."""
    from finlite.evaluate.groups import protected_inputs

    declared, by_name = protected_inputs([*inp.numeric, *inp.categorical], inp.protected, inp.test_frame.columns)
    look = declared + by_name
    out: dict[str, Any] = {"columns": look, "declared": declared}
    for name, lists in reasons.items():
        rows = [r for r, keep in zip(lists, declined[name], strict=True) if keep]
        per = {c: sum(c in r for r in rows) for c in look}
        first = {c: sum(bool(r) and r[0] == c for r in rows) for c in look}
        out[name] = {"declined": len(rows), "any": sum(any(c in r for c in look) for r in rows),
                     "principal": sum(bool(r) and r[0] in look for r in rows),
                     "by_column": {c: k for c, k in per.items() if k},
                     "principal_by_column": {c: k for c, k in first.items() if k},
                     "columns": [c for c in look if per[c]]}
    return out


def _share(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def _cell(value: Any) -> Any:
    """An id as a table cell: numbers stay numbers, anything else becomes text."""
    if isinstance(value, (np.integer, int)) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, (np.floating, float)):
        return float(value)
    return str(value)
