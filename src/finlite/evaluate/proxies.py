"""How well a model's other inputs stand in for a protected attribute (proxy analysis).

Dropping a protected column from a credit model does not keep it out of the decisions: other
inputs (age of the oldest account, housing, years at the job) can carry it. A fair-lending review
asks how well they do. For each group of a protected column, a logistic regression (scikit-learn)
predicts membership of the group from the model's inputs other than the protected columns, and its
cross-validated AUC says how strong a proxy they are together; each input alone (a number ranked by
its value, a category by its group share out of fold) names the inputs that carry most of it. The fits use the training split (a seeded sample of at most
:data:`PROXY_ROWS` rows), never the test rows the rest of the report judges.

An AUC of :data:`PROXY_WARN` or more makes the fairness section WARN: a reviewer then asks whether
those inputs are needed (the less discriminatory alternative) and reads the group rates with that
in mind. A strong proxy is evidence to review, not a finding of disparate impact: the approval-rate
tables are that.

scikit-learn (which fairlearn requires) is imported inside :func:`proxy_strength`.
"""

from __future__ import annotations

import warnings
import zlib
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from finlite.data.schema import numeric_column
from finlite.evaluate._order import frame_order

#: The cross-validated AUC from which the other inputs count as a strong proxy (WARN). 0.8 is
#: where discrimination is usually called excellent (Hosmer and Lemeshow); below it the table still
#: shows how strong they are.
PROXY_WARN = 0.8
#: Training rows the fits use at most (a seeded sample beyond). A group's fits took 0.4 s on
#: German credit's 20 inputs and up to about 4.5 s with 50 inputs on a loaded 2-core machine.
PROXY_ROWS = 10_000
#: Groups tested per protected column at most, the largest first (the report says which others were not).
PROXY_MAX_GROUPS = 8
#: Folds of the cross-validation.
PROXY_FOLDS = 5
#: The strongest single inputs listed per group.
PROXY_TOP = 3
#: Rows a group needs, in the sample, in and out of the group, to be tested.
PROXY_MIN_ROWS = 30
#: Categories per input that get their own column in the fits (the most frequent; the rest are one
#: "infrequent" column): an ID-like input must not become thousands of columns.
PROXY_MAX_CATEGORIES = 50
MISSING = "(missing)"


def _design(frame: pd.DataFrame, numeric: Sequence[str], categorical: Sequence[str]) -> pd.DataFrame:
    """The inputs as the fits take them: numbers as float (money text read; NaN where blank),
    categories as text with blanks as their own value."""
    columns: dict[str, Any] = {}
    for name in numeric:
        columns[name] = numeric_column(frame[name], name, "the training data", money=True)
    for name in categorical:
        series = frame[name]
        columns[name] = np.where(series.isna().to_numpy(), MISSING, series.astype(str).to_numpy(dtype=object))
    return pd.DataFrame(columns, index=range(len(frame)))


def _pipeline(numeric: Sequence[str], categorical: Sequence[str], seed: int) -> Any:
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline, make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    parts: list[tuple[str, Any, list[str]]] = []
    if numeric:
        parts.append(("numeric", make_pipeline(SimpleImputer(strategy="median", add_indicator=True,
                                                             keep_empty_features=True), StandardScaler()),
                      list(numeric)))
    if categorical:
        parts.append(("categorical", OneHotEncoder(handle_unknown="infrequent_if_exist",
                                                   max_categories=PROXY_MAX_CATEGORIES), list(categorical)))
    return Pipeline([("inputs", ColumnTransformer(parts)),
                     ("model", LogisticRegression(max_iter=1000, random_state=seed))])


def _cv_auc(design: pd.DataFrame, y: np.ndarray, numeric: Sequence[str], categorical: Sequence[str],
            seed: int) -> float:
    """The out-of-fold AUC of membership predicted from these inputs (stratified folds, seeded)."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    folds = StratifiedKFold(n_splits=PROXY_FOLDS, shuffle=True, random_state=seed)
    with warnings.catch_warnings():
        # A fold that does not converge in 1,000 steps still ranks; the AUC is what is reported.
        warnings.simplefilter("ignore", ConvergenceWarning)
        scores = cross_val_predict(_pipeline(numeric, categorical, seed), design[[*numeric, *categorical]], y,
                                   cv=folds, method="predict_proba")[:, 1]
    return float(roc_auc_score(y, scores))


def _single_auc(design: pd.DataFrame, name: str, y: np.ndarray, numeric: bool, seed: int) -> float:
    """How well one input alone predicts membership: a number ranked by its value (either
    direction; blanks at the median), a category by its group share out of fold (each fold's rows
    get the share of the other folds' rows with that category, smoothed towards the overall share)."""
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold

    if numeric:
        x = design[name].to_numpy(dtype=np.float64)
        finite = np.isfinite(x)
        x = np.where(finite, x, float(np.median(x[finite])) if finite.any() else 0.0)
        auc = float(roc_auc_score(y, x))
        return max(auc, 1.0 - auc)
    codes = pd.factorize(design[name])[0]
    k = int(codes.max()) + 1
    share = np.empty(len(y), dtype=np.float64)
    for fit, held in StratifiedKFold(n_splits=PROXY_FOLDS, shuffle=True, random_state=seed).split(codes, y):
        rows = np.bincount(codes[fit], minlength=k)
        members = np.bincount(codes[fit], weights=y[fit], minlength=k)
        prior = float(y[fit].mean())
        share[held] = ((members + prior) / (rows + 1.0))[codes[held]]  # one pseudo-row at the prior
    return float(roc_auc_score(y, share))


def proxy_strength(frame: pd.DataFrame, column: str, codes: np.ndarray, labels: Sequence[str],
                   numeric: Sequence[str], categorical: Sequence[str], seed: int) -> dict[str, Any]:
    """How well ``numeric`` and ``categorical`` (the model's inputs, the protected columns left
    out) predict each group of ``column`` on ``frame`` (the training rows; ``codes[i]`` is row i's
    group in ``labels``).

    Tested: each group with at least :data:`PROXY_MIN_ROWS` sampled rows in it and out of it,
    except "(missing)" and a pooled "other" group; of two groups that hold every row, only the
    first (the other's AUC is the same); at most the :data:`PROXY_MAX_GROUPS` largest. Returns
    ``{"rows", "inputs", "groups": [{"group", "rows", "auc", "top_inputs": [{"input", "auc"}]}],
    "max_auc", "strong", "untested"}`` (``strong``: the groups at :data:`PROXY_WARN` or above;
    ``untested``: testable groups beyond the largest), or ``{"skipped": why}`` when no input is
    left or no group can be tested.
    """
    inputs = [*numeric, *categorical]
    if not inputs:
        return {"skipped": "the model has no input besides the protected columns"}
    n = len(frame)
    rng = np.random.default_rng([seed, zlib.crc32(column.encode("utf-8"))])
    # Drawn from the rows in their content order (finlite.evaluate._order): the same rows in another
    # order give the same sample.
    take = (np.sort(frame_order(frame, np.asarray(codes))[rng.choice(n, PROXY_ROWS, replace=False)]) if n > PROXY_ROWS
            else np.arange(n))
    sample = frame.iloc[take]
    group_of = np.asarray(codes)[take]
    counts = np.bincount(group_of, minlength=len(labels))
    testable = [k for k, label in enumerate(labels)
                if label != MISSING and not label.startswith("other (")
                and counts[k] >= PROXY_MIN_ROWS and len(take) - counts[k] >= PROXY_MIN_ROWS]
    if len(testable) == 2 and counts[testable].sum() == len(take):
        testable = testable[:1]  # the complement's AUC is the same
    if not testable:
        return {"skipped": f"no group has {PROXY_MIN_ROWS} training rows in it and out of it"}
    largest = set(sorted(testable, key=lambda k: (-counts[k], k))[:PROXY_MAX_GROUPS])
    untested = [labels[k] for k in testable if k not in largest]
    testable = [k for k in testable if k in largest]
    design = _design(sample, numeric, categorical)
    groups: list[dict[str, Any]] = []
    aucs: list[float] = []
    for k in testable:
        y = (group_of == k).astype(np.int64)
        single = sorted(((name, _single_auc(design, name, y, name in numeric, seed)) for name in inputs),
                        key=lambda item: -item[1])
        aucs.append(_cv_auc(design, y, list(numeric), list(categorical), seed))
        groups.append({"group": labels[k], "rows": int(counts[k]), "auc": aucs[-1],
                       "top_inputs": [{"input": name, "auc": auc} for name, auc in single[:PROXY_TOP]]})
    return {"rows": len(take), "inputs": inputs, "groups": groups, "max_auc": max(aucs),
            "strong": [g["group"] for g, auc in zip(groups, aucs, strict=True) if auc >= PROXY_WARN],
            "untested": untested}
