"""Adverse-action reasons at decision time: which raw fields pushed an applicant's score towards
the positive ("bad") class, for the letters a lender must send when it declines (ECOA /
Regulation B in the US, GDPR Art. 22 and the CCD in the EU).

The validation report explains a sample of declined applicants with SHAP against a background
of training rows (:mod:`finlite.evaluate.explain`); a deployed artifact carries no customer's
row, so the runtime measures against one **reference input** instead, the training rows' typical
applicant, recorded by ``finlite export`` (``export.reasons`` in the manifest): a number's
reference is its training median (its mean in artifacts exported before 2026-12-05, whose
records lack ``numbers_at``, and for a points scorecard, whose offsets measure against the mean); a category's is the training share of each of its one-hot columns.
An aggregate, not a person.

Each raw field's contribution to the log-odds is its baseline Shapley value against that
reference, taken from one antithetic pair of orderings: the field removed from the applicant
(set to the reference with every other field as the applicant has it) and the field added to
the reference (every other field at the reference), averaged::

    phi_j = 1/2 * [(l(x) - l(x with j at the reference)) + (l(reference with j as x) - l(reference))]

where ``l`` is the model's log-odds. This is exact for a model whose fields interact at most in
pairs (for a linear model it is ``w_j * (x_j - ref_j)``),
deterministic, and costs ``2 * fields + 1`` rows through the exported model per applicant (41
for German credit's 20 fields). A points scorecard rounds its binary inputs, so a fractional
mean would be no category at all: its reference is a real applicant (each field's most common
category) and recorded per-field offsets bring each contribution back to the field's average
points over the training rows (up to :data:`OFFSET_ROWS` of them, seeded; :func:`reference_record`),
exactly on those rows, since a scorecard is additive. A field's one-hot columns and a number's
missing indicator move together, as in the report. The reasons are the fields with the largest positive
contributions, at most :data:`TOP`, each at least :data:`MIN_SHARE` of the row's positive
contributions together: a principal reason, not noise (a walk-through, 2026-12-05: EDUCATION, with
no effect in the data, was a stated reason in 219 of 454 declines at a median 0.06 logit beside
PAY_0's 2.5). The largest always is one, so a row with a positive contribution (of at least a
millionth, as contributions are rounded) has a reason.

numpy only: the Predictor's ONNX session scores the rows.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from finlite._keys import MISSING, category_key
from finlite.errors import ArtifactError

if TYPE_CHECKING:
    from finlite.runtime.reason_codes import ReasonCodes

__all__ = ["METHOD", "MIN_SHARE", "OFFSET_ROWS", "TOP", "ReasonModel", "field_columns", "material_floors",
           "reference_record"]

#: The method's name as recorded with the reference (``export.reasons.method``).
METHOD = "baseline-shapley-pair"
#: Reasons given per applicant by default (the US adverse-action practice: up to four).
TOP = 4
#: Least share of a row's positive contributions (their sum) a field (or code) needs to be one of
#: its reasons: with 20 fields or fewer the largest always has it.
MIN_SHARE = 0.05
#: Most rows scored at once while explaining (applicants x (2 x fields + 1)).
_ROWS_AT_ONCE = 16384
#: Probabilities are clipped this far inside (0, 1) before the log-odds: float32 scores saturate.
_EPS = 1e-7
#: Most training rows a rounding model's offsets are averaged over (see reference_record).
OFFSET_ROWS = 20000


def field_columns(encoder: Any) -> list[tuple[str, list[int]]]:
    """Each raw field of a runtime :class:`~finlite.runtime.encoder.Encoder` with the encoded
    columns that carry it: a number and its missing indicator, a weight-of-evidence column, or a
    one-hot group with its other and unseen columns. Fields in the encoder's order."""
    columns: dict[str, list[int]] = {name: [] for name in encoder.fields}
    for i, (name, _, _, _, indicator) in enumerate(encoder.numeric):
        columns[name].append(i)
        if indicator >= 0:
            columns[name].append(indicator)
    for name, _, _, column in encoder.valued:
        columns[name].append(column)
    for name, lookup, unseen, _ in encoder.categorical:
        first = min(lookup.values(), default=unseen)
        columns[name].extend(range(first, unseen + 1))
    return [(name, cols) for name, cols in columns.items()]


def reference_record(x_train: np.ndarray, fields: Sequence[tuple[str, list[int]]],
                     run: Callable[[np.ndarray], np.ndarray], *, binary_from: int | None = None,
                     max_rows: int = OFFSET_ROWS, seed: int = 0, numbers: int = 0,
                     splits: bool = False) -> dict[str, Any]:
    """What ``finlite export`` records for reasons, from the training rows as the deployed
    encoder gives them (``x_train``, in-sample: no out-of-fold encodings).

    The reference is their mean encoded input, but for the first ``numbers`` columns (the
    numeric values, by the Preprocessor's layout), whose median it takes (not for a points
    scorecard, ``binary_from``, whose offsets move every contribution back to the training mean): a few extreme
    utilisations (1,000 to 43,000 among ratios of 0 to 1.5) moved the mean to 18, no applicant's
    utilisation was above the reference, and a decline that utilisation alone caused never named
    it (a walk-through, 2026-12-05). A model that rounds some inputs to 0/1 (a points
    scorecard reads every column from ``binary_from`` on so: one-hot, missing-indicator and
    weight-of-evidence columns)
    would read a mean's fractional shares as no category at all, so its reference takes each
    field's most common category (an indicator its rounded share) and per-field ``offsets`` move
    every contribution back to the training mean: for an additive model the reasons are then
    each field's points against their training average, exactly (``offset_j`` = minus the mean,
    over up to ``max_rows`` seeded training rows, of putting field j of a training row into the
    reference).

    A tree ensemble (``splits``) reads a one-hot or indicator column by a threshold, so a share
    is a category too: LightGBM splits at 1e-35 and read the shares as a member of every category,
    XGBoost at 1 as a member of none, and a deployed LightGBM teacher named the checking account
    the principal reason of 277 of its 284 declines (TreeSHAP: 126; a compliance review,
    2026-12-06). Its reference is a real applicant: the numbers' medians, each one-hot group's most
    common category and each 0/1 column's rounded share (a column of other values, such as weight
    of evidence, its median), with per-field offsets as a scorecard's.
    """
    x = np.asarray(x_train, dtype=np.float64)
    mean = x.mean(axis=0)
    # The floor a reason needs, recorded so that a later finlite gives this export's reasons (one
    # whose export recorded none gives them without a floor, as finlite did before 2026-12-05).
    record: dict[str, Any] = {"method": METHOD, "reference": [float(v) for v in mean], "rows": len(x),
                              "min_share": MIN_SHARE}
    if splits and binary_from is None and len(x):
        zero_one = np.all((x == 0.0) | (x == 1.0), axis=0)
        # Every column not 0/1 (the numbers, a weight of evidence or target encoding) at its median:
        # a value training rows hold, where a mean of encoded categories may be none.
        middle = ~zero_one
        ref = mean.copy()
        if middle.any():
            ref[middle] = np.median(x[:, middle], axis=0)
        for _, cols in fields:
            binary = [c for c in cols if c >= numbers and zero_one[c]]
            if len(binary) > 1:  # a one-hot group: its most common column (the first of a tie)
                ref[binary] = 0.0
                ref[binary[int(np.argmax(mean[binary]))]] = 1.0
            elif binary:  # a missing indicator: its rounded share
                ref[binary] = np.round(mean[binary])
        return _with_offsets(record, x, fields, ref, run, max_rows, seed) | {"numbers_at": "median",
                                                                            "categories_at": "mode"}
    if binary_from is None:
        if numbers and len(x):
            middle = mean.copy()
            middle[:numbers] = np.median(x[:, :numbers], axis=0)
            record["reference"] = [float(v) for v in middle]
            record["numbers_at"] = "median"
        return record
    ref = mean.copy()
    for _, cols in fields:
        binary = [c for c in cols if c >= binary_from]
        if len(binary) > 1:  # a one-hot group: its most common column (the first of a tie)
            ref[binary] = 0.0
            ref[binary[int(np.argmax(mean[binary]))]] = 1.0
        elif binary:  # a missing indicator (or a one-column field the model rounds)
            ref[binary] = np.round(mean[binary])
    return _with_offsets(record, x, fields, ref, run, max_rows, seed)


def _with_offsets(record: dict[str, Any], x: np.ndarray, fields: Sequence[tuple[str, list[int]]], ref: np.ndarray,
                  run: Callable[[np.ndarray], np.ndarray], max_rows: int, seed: int) -> dict[str, Any]:
    """``record`` with reference ``ref`` and the per-field offsets that move each contribution back
    to the training average (minus the mean, over up to ``max_rows`` seeded rows of ``x``, of
    putting field j of a training row into the reference)."""
    rows = x if len(x) <= max_rows else x[np.sort(np.random.default_rng(seed).choice(len(x), max_rows,
                                                                                      replace=False))]
    effects = ReasonModel(fields, [float(v) for v in ref], run).added_effects(rows.astype(np.float32))
    record["reference"] = [float(v) for v in ref]
    record["offsets"] = {name: -float(v) for (name, _), v in zip(fields, effects.mean(axis=0), strict=True)}
    record["offset_rows"] = len(rows)
    return record


def material_floors(contrib: np.ndarray, share: float = MIN_SHARE) -> np.ndarray:
    """Each row's least contribution a reason needs (``contrib``: rows x fields or codes):
    ``share`` (:data:`MIN_SHARE`) of its positive contributions together, capped at its largest so
    that one always stays. The deployed reasons and the report's SHAP reasons share it."""
    if not len(contrib) or not contrib.shape[1]:  # no rows, or no fields: no floor to reach
        return np.zeros(len(contrib))
    out: np.ndarray = np.minimum(share * np.clip(contrib, 0.0, None).sum(axis=1), contrib.max(axis=1))
    return out


def _log_odds(p: np.ndarray) -> np.ndarray:
    q = np.clip(p, _EPS, 1.0 - _EPS, dtype=np.float64)
    return np.asarray(np.log(q / (1.0 - q)), dtype=np.float64)


class ReasonModel:
    """Contributions and reasons for encoded rows of one model (see the module's docstring).

    ``run`` scores float32 rows ``[n, n_features]`` and returns P(positive) (checked finite by
    the caller's scoring path).
    """

    def __init__(self, fields: Sequence[tuple[str, list[int]]], reference: Sequence[float],
                 run: Callable[[np.ndarray], np.ndarray], where: str = "the artifact",
                 offsets: Mapping[str, float] | None = None, min_share: float = MIN_SHARE) -> None:
        width = sum(len(c) for _, c in fields)
        if isinstance(min_share, bool) or not isinstance(min_share, (int, float)) or not 0.0 <= min_share < 1.0:
            raise ArtifactError(f"{where}: export.reasons.min_share must be a share from 0 to below 1; got "
                                f"{min_share!r:.40}. Export the artifact again.")
        #: The least share of a row's positive contributions a reason needs (the export's record).
        self.min_share = float(min_share)
        ref = np.asarray(reference, dtype=np.float64)
        # Checked as the model reads it (float32): 1e39 is finite in JSON and infinite there.
        if (ref.ndim != 1 or ref.size != width or not np.isfinite(ref).all()
                or not np.isfinite(ref.astype(np.float32)).all()):
            raise ArtifactError(f"{where}: export.reasons.reference must be {width} finite float32 numbers (one per "
                                f"encoded input); got {ref.size}. Export the artifact again.")
        names = [name for name, _ in fields]
        if offsets is not None and (set(offsets) != set(names)
                                    or not all(np.isfinite(float(v)) for v in offsets.values())):
            raise ArtifactError(f"{where}: export.reasons.offsets must give one finite number per field "
                                f"({', '.join(names)}). Export the artifact again.")
        self._offsets = np.array([float(offsets[n]) for n in names]) if offsets is not None else None
        self.fields = [name for name, _ in fields]
        self.mask = np.zeros((len(fields), width), dtype=bool)
        for g, (_, cols) in enumerate(fields):
            self.mask[g, cols] = True
        self.reference = ref.astype(np.float32)
        # Row j of the "removed" block is x * keep[j] + ref_put[j] (the field's columns from the
        # reference, the others from x) and of the "added" block x * put[j] + ref_keep[j]: exact
        # (x * 1 + 0 is x, x * 0 + r is r for finite values), and two numpy calls each.
        self._put = self.mask.astype(np.float32)
        self._keep = 1.0 - self._put
        self._ref_put = self.reference * self._put
        self._ref_keep = self.reference * self._keep
        self._run = run
        self._base = float(_log_odds(run(self.reference.reshape(1, -1)))[0])

    def contributions(self, x: np.ndarray) -> np.ndarray:
        """Each field's contribution to the log-odds of each row of ``x`` (``[n, fields]``)."""
        n, g = len(x), len(self.fields)
        out = np.empty((n, g), dtype=np.float64)
        per = max(1, _ROWS_AT_ONCE // (2 * g + 1))
        for lo in range(0, n, per):
            rows = np.asarray(x[lo:lo + per], dtype=np.float32)[:, None, :]
            m = len(rows)
            # Per applicant: itself, each field set to the reference, the reference with each field as the applicant's.
            batch = np.empty((m, 2 * g + 1, rows.shape[2]), dtype=np.float32)
            batch[:, :1] = rows
            removed, added = batch[:, 1:g + 1], batch[:, g + 1:]
            np.multiply(rows, self._keep, out=removed)
            removed += self._ref_put
            np.multiply(rows, self._put, out=added)
            added += self._ref_keep
            odds = _log_odds(self._run(batch.reshape(m * (2 * g + 1), -1))).reshape(m, 2 * g + 1)
            out[lo:lo + m] = 0.5 * ((odds[:, :1] - odds[:, 1:g + 1]) + (odds[:, g + 1:] - self._base))
        if self._offsets is not None:
            out += self._offsets
        return out

    def added_effects(self, x: np.ndarray) -> np.ndarray:
        """Per row of ``x`` and field j: the log-odds of the reference with field j taken from the
        row, minus the reference's (``[n, fields]``)."""
        n, g = len(x), len(self.fields)
        out = np.empty((n, g), dtype=np.float64)
        per = max(1, _ROWS_AT_ONCE // g)
        for lo in range(0, n, per):
            rows = np.asarray(x[lo:lo + per], dtype=np.float32)[:, None, :]
            m = len(rows)
            added = np.empty((m, g, rows.shape[2]), dtype=np.float32)
            np.multiply(rows, self._put, out=added)
            added += self._ref_keep
            out[lo:lo + m] = _log_odds(self._run(added.reshape(m * g, -1))).reshape(m, g) - self._base
        return out

    def reasons(self, x: np.ndarray, top: int = TOP, codes: ReasonCodes | None = None) -> list[list[dict[str, Any]]]:
        """Per row, up to ``top`` fields that pushed it towards the positive class the most
        (contribution > 0, and at least :data:`MIN_SHARE` of the row's positive contributions
        together, or the largest), largest first (ties in field order), each
        ``{"field", "contribution"}``.

        With ``codes`` (a lender's :class:`~finlite.runtime.reason_codes.ReasonCodes` for these
        fields) the reasons are codes instead: each code's contribution is the sum of its fields'
        (Shapley values add over a group of fields), and each item is ``{"code", "text", "fields",
        "contribution"}``, up to ``top`` codes, largest first (ties in code order)."""
        contrib = self.contributions(x)
        names: Sequence[str] = self.fields
        if codes is not None:
            codes.check_fields(self.fields, "this model")
            contrib, names = contrib @ codes.grouping, codes.codes
        # Ranked by the values as given (rounded to 6 places), so that two contributions that read
        # alike are listed in field order as documented; ranked unrounded, 0.31094068 came before
        # 0.31094065 and both read 0.310941 (a reason-code audit, 2026-12-07).
        rounded = np.round(contrib, 6)
        order = np.argsort(-rounded, axis=1, kind="stable")[:, :top].tolist()
        values = rounded.tolist()
        # The materiality floor of each row: a share of its positive contributions, capped at its
        # largest so that one always stays (rounded as the values are, so the two compare alike).
        floors = np.round(material_floors(contrib, self.min_share), 6).tolist()
        if codes is None:
            return [[{"field": names[j], "contribution": row[j]} for j in picked if row[j] > 0 and row[j] >= floor]
                    for picked, row, floor in zip(order, values, floors, strict=True)]
        members = [codes.members[c] for c in names]
        return [[{"code": names[j], "text": codes.text_of[names[j]], "fields": list(members[j]),
                  "contribution": row[j]} for j in picked if row[j] > 0 and row[j] >= floor]
                for picked, row, floor in zip(order, values, floors, strict=True)]


def empty_fields(unseen: list[str], record: Mapping[str, Any]) -> list[str]:
    """Of a record's ``unseen`` fields, those it sent empty or blank (a null, empty or blank text:
    the missing key), where training never saw the field so: a lost value, not a new category."""
    return [name for name in unseen if category_key(record.get(name)) == MISSING] if unseen else []


def incomplete_fields(why: list[dict[str, Any]] | None, imputed: list[str] | None,
                      empty: list[str] | None, protected: Collection[str] = ()) -> list[str]:
    """The fields of a record given reasons (``why``) sent blank where the model has no learned
    treatment of a blank: numbers that took the training median (``imputed``) and categories
    training never saw blank (``empty``). The decision was taken on an incomplete application,
    and the reasons cannot state those blanks' part in it (a category training saw blank has its
    learned missing column, which a reason can name). A blank
    number takes the training median, which is the reasons' own reference, so its effect is in no
    reason for most models (a compliance review, 2026-12-06: 150 declines of 300 approved
    applicants with one field blanked, none naming it), and where a model's offsets or missing
    indicator make it one, the reason states a value the applicant never gave (a review, the same
    day): each is listed, cited or not. Not the ``protected`` fields (:attr:`Predictor.protected_fields`):
    a notice of incompleteness asks for the missing information, and Regulation B (1002.5) limits
    asking for some of it (sex, marital status); a fair-lending walk-through (2026-12-07) was
    advised to ask for them (``score`` says such blanks in a note of their own)."""
    if why is None:
        return []
    return [f for f in dict.fromkeys([*(imputed or []), *(empty or [])]) if f not in protected]
