"""A logistic-regression teacher fitted as credit modellers and validators fit one: by maximum
likelihood, on the whole training split at once.

``finlite train --model logistic`` trained its one linear layer as it trains a network (Adam,
mini-batches, early stopping on the validation split's AUC). On a low-default portfolio that
stopped on a handful of validation defaults (a walk-through, 2026-12-07): German credit cut to
10 defaults gave a mean PD of 6.4 % against 1.4 % observed (this fit: 1.54 % on the test rows;
README, "train"), and no validator refitting the rows would get its coefficients. Here the fit is
scikit-learn's :class:`~sklearn.linear_model.LogisticRegression` (L-BFGS in float64 to its
gradient tolerance), whose coefficients become the layer's weights.

The penalty is scikit-learn's default ridge, C = 1 (½‖w‖² added to C times the summed log-loss,
the intercept unpenalised; ``train --penalty-c`` sets another C, or ``none``: the unpenalised
maximum, whose probabilities are statsmodels' ``Logit``'s where the encoded design has full rank.
With every one-hot level encoded it has not (German credit: rank 47 of 73 columns), so the
coefficients are not identified and L-BFGS, started at zero and moving within the rows' span,
stops at the smallest-norm ones; the fit's record says so, and where a column separates the
classes the maximum lies at infinity, which the record says too): the one-hot columns of a rare category, or a handful of defaults, would
otherwise separate the classes and send an unpenalised maximum to infinity; the summed loss grows
with the rows, so on a large book the penalty fades. The intercept being free, the fitted mean
probability on the training rows equals their default rate (the score equation of the
intercept, up to the penalty's pull on the other coefficients): the model is calibrated in the
large where it was fitted.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import torch

from finlite.models.linear import LogisticRegression

__all__ = ["FIT_METHOD", "L2_C", "MIN_C", "check_penalty_c", "fit_logistic"]

#: The ``fit`` record's method name (``steps[0].fit.method`` in a teacher's manifest).
FIT_METHOD = "maximum_likelihood"
#: scikit-learn's inverse ridge strength (its default).
L2_C = 1.0
#: L-BFGS iterations at most, and the gradient tolerance it stops at (scikit-learn's default is
#: 1e-4: tightened, so that a validator refitting the same rows gets the same coefficients).
MAX_ITER, TOL = 5_000, 1e-8
#: The smallest C taken: below it the summed loss's gradient falls under the tolerance at once,
#: and L-BFGS stops at zero, the intercept too (C = 1e-300 gave a mean PD of 50 %: a review).
MIN_C = 1e-6
#: A fitted logit beyond this on a training row (a probability within 3e-7 of 0 or 1) marks an
#: unpenalised fit whose classes a column separates: its maximum lies at infinity (L-BFGS stopped
#: at logits of 19 on the label as a column).
SEPARATED_LOGIT = 15.0


def check_penalty_c(c: Any) -> float | None:
    """A ridge's inverse strength as the fit takes it: a finite number above 0, or None for no
    penalty at all.

    Raises:
        ConfigError: naming ``penalty_c`` and what it takes.
    """
    from finlite.errors import ConfigError

    if c is None:
        return None
    if isinstance(c, bool) or not isinstance(c, (int, float, np.integer, np.floating)) or not np.isfinite(c) \
            or not c >= MIN_C:
        raise ConfigError(f"penalty_c is the ridge's inverse strength, a number of at least {MIN_C:g} (scikit-learn's "
                          f"C; 1 by default, larger: a weaker penalty), or none for plain maximum likelihood; got "
                          f"{c!r}.", param="penalty_c")
    return float(c)


def fit_logistic(net: LogisticRegression, x: np.ndarray, y: np.ndarray, c: float | None = L2_C) -> dict[str, Any]:
    """Fit ``net``'s weights to ``x`` (rows of encoded inputs) and the 0/1 labels ``y`` by
    maximum likelihood, L2-penalised at inverse strength ``c`` (None: unpenalised); the record of
    the fit (method, penalty, C, solver, iterations, whether it converged, the library's version)
    for the teacher's manifest.

    Raises:
        ValueError: ``y`` holds one class only (the caller's split refuses that first).
        ConfigError: the fit's float64 working copies would not fit in the memory available.
    """
    import sklearn
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression as Fitter

    from finlite._limits import check_memory

    # The fit reads the rows in float64, and L-BFGS holds a few more arrays of their size: about
    # 3.2 times the float32 matrix measured (400,000 x 50: 257 MB beside its 80 MB), so 4 times
    # its 4 bytes a cell here.
    rows, width = np.shape(x)
    check_memory(4.0 * 4 * rows * width, f"fitting the logistic regression on {rows:,} rows x {width:,} inputs",
                 "train on fewer rows (a sample), or fewer one-hot columns (--max-categories), or train --model "
                 "lightgbm, which bins its inputs")
    features = np.asarray(x, dtype=np.float64)
    labels = np.asarray(y, dtype=np.float64).reshape(-1)
    if np.unique(labels).size < 2:
        raise ValueError("a logistic regression needs both classes in its training rows")
    c = check_penalty_c(c)
    # No penalty is C = inf (scikit-learn 1.8 deprecated penalty=None for it).
    fitter = Fitter(C=c if c is not None else np.inf, solver="lbfgs", max_iter=MAX_ITER, tol=TOL)
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always", ConvergenceWarning)
        fitter.fit(features, labels)
    converged = not any(issubclass(w.category, ConvergenceWarning) for w in said)
    with torch.no_grad():
        net.linear.weight.copy_(torch.from_numpy(fitter.coef_.astype(np.float32)))
        net.linear.bias.copy_(torch.from_numpy(fitter.intercept_.astype(np.float32)))
    record: dict[str, Any] = {
        "method": FIT_METHOD, "penalty": "l2" if c is not None else "none", "C": c, "solver": "lbfgs", "tol": TOL,
        "iterations": int(np.max(fitter.n_iter_)), "converged": converged,
        "library": f"scikit-learn {sklearn.__version__}"}
    if c is None:  # what an unpenalised maximum may lack: identified coefficients, a finite maximum
        # The rank of [1, X] from its Gram matrix, built without a copy of the rows.
        total = features.sum(axis=0)
        gram = np.block([[np.array([[float(rows)]]), total[None, :]], [total[:, None], features.T @ features]])
        record["design_rank"] = int(np.linalg.matrix_rank(gram))
        record["design_columns"] = width + 1
        logits = features @ fitter.coef_.ravel() + float(fitter.intercept_[0])
        record["separated"] = bool(np.max(np.abs(logits)) > SEPARATED_LOGIT)
    return record
