"""What a neural model does with a category its training rows never held.

A one-hot encoded column has an ``__unseen__`` column for values training never saw
(:mod:`finlite.data.preprocess`). No training row sets it, so the first layer's weights on it get
no gradient and stay where the random initialisation put them: a feed that sends a blank or a
new merchant category moved a fraud teacher's alerts from 187 to 434 of 20,000 rows, a
seed's worth of chance, and its student's from 148 to 751 (a fraud engineer's walk-through,
2026-12-04 night). Teacher and student then disagree on those rows at random too.

:func:`average_unseen` gives each such column the first layer's weights of an *average*
category instead: the mean of the seen categories' weight columns (``__other__`` included),
weighted by their share of the training rows. The first layer is linear in its inputs, so an
unseen value then moves every first-layer unit exactly as far as a training row's category
does on average: a new value is scored as a typical one, the same way for every seed.
It is applied once a model has learned from the rows (a teacher's training, a student's
distillation) and again after each pruning step's fine-tuning, which moves the seen columns'
weights and leaves these (no row sets them), on the weights the pruning kept. The steps record
it (:data:`RECORD_KEY`) so that ``finlite reproduce`` does the same.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from contextvars import ContextVar
from typing import Any

import numpy as np
import torch
from torch import nn

from finlite._keys import UNSEEN, UNSEEN_AVERAGED, averaged_groups
from finlite._util import set_within

__all__ = ["RECORD_KEY", "average_recorded", "average_unseen", "averaging", "recorded"]

#: The key of a training or distillation step's record that says the averaging ran (its value:
#: the groups set). An artifact made before it existed lacks it: ``finlite reproduce`` then runs
#: the job without it (:func:`averaging`), so the weights come out as they were recorded.
RECORD_KEY = UNSEEN_AVERAGED
_ENABLED: ContextVar[bool] = ContextVar("finlite_unseen_averaging", default=True)


@contextlib.contextmanager
def averaging(enabled: bool) -> Iterator[None]:
    """Within the block, :func:`average_unseen` runs only when ``enabled`` (reproducing an
    artifact made before finlite averaged the unseen buckets)."""
    with set_within(_ENABLED, bool(enabled)):
        yield


def recorded(steps: Any) -> bool:
    """Whether a manifest's ``steps`` record the averaging (a teacher's train step, or a step's
    ``info``): an artifact without the record is reproduced without it."""
    return averaged_groups(steps) is not None


def average_recorded(record: dict[str, Any], model: nn.Module, preprocessor: Any, x_train: np.ndarray,
                     masks: Mapping[str, torch.Tensor] | None = None) -> None:
    """:func:`average_unseen`, and the groups it set written into a step's ``record`` (its info, or
    a teacher's train step) so that ``finlite reproduce`` does it again; nothing, and no record,
    within :func:`averaging` (False)."""
    if _ENABLED.get():
        record[RECORD_KEY] = average_unseen(model, preprocessor, x_train, masks=masks)


def _first_layer(model: nn.Module) -> tuple[nn.Linear, Callable[[int], int | None]] | None:
    """The Linear that reads the encoded row and where input column j sits in its input; None
    for a model with no such layer (trees, a scorecard, a forecaster)."""
    from finlite.models.linear import LogisticRegression
    from finlite.models.mlp import TabularMLP

    if isinstance(model, LogisticRegression):
        return model.linear, lambda j: j
    if not isinstance(model, TabularMLP):
        return None
    first = model.layers[0]
    # A low-rank layer is two factors; the first reads the inputs.
    layer = first if isinstance(first, nn.Linear) else next(m for m in first.modules() if isinstance(m, nn.Linear))
    if model.bins is None:
        return layer, lambda j: j
    # Input bins put the binned columns' bins first, then the other columns in their order.
    rest = {int(c): i for i, c in enumerate(model.bins.rest.tolist())}
    offset = len(model.bins.lo)
    return layer, lambda j: offset + rest[j] if j in rest else None


def average_unseen(model: nn.Module, preprocessor: Any, x_train: np.ndarray,
                   masks: Mapping[str, torch.Tensor] | None = None) -> int:
    """Set, in place, the first-layer weights of each one-hot group's ``__unseen__`` column to the
    training-share-weighted mean of the group's other columns' weights (see the module's
    docstring). A group whose unseen column some training row sets keeps what it learned.

    Args:
        model: the trained network (a :class:`~finlite.models.mlp.TabularMLP` or
            :class:`~finlite.models.linear.LogisticRegression`; any other model is left alone).
        preprocessor: the :class:`~finlite.data.preprocess.Preprocessor` that encoded ``x_train``.
        x_train: the encoded training rows.
        masks: a pruned model's masks (parameter name → 0/1): a weight pruned to zero stays zero,
            so the model stays as sparse as its plan says (called again after the fine-tuning
            that follows pruning, which moves the seen columns' weights).

    Returns:
        How many groups were set.
    """
    if not _ENABLED.get():
        return 0
    found = _first_layer(model)
    column_groups = getattr(preprocessor, "column_groups", None)
    x = np.asarray(x_train)
    if found is None or column_groups is None or x.ndim != 2 or len(x) == 0:
        return 0
    layer, position = found
    params = dict(model.named_parameters())
    mask = next((m for name, m in (masks or {}).items() if params.get(name) is layer.weight), None)
    _, groups = column_groups()
    names = list(preprocessor.feature_names)
    changed = 0
    with torch.no_grad():
        for group in groups:
            # The group's columns are contiguous, its unseen bucket last (Preprocessor.column_groups).
            first, last = group[0], group[-1]
            places = [position(j) for j in group]
            if (len(group) < 2 or group != list(range(first, last + 1)) or not names[last].endswith("=" + UNSEEN)
                    or any(p is None for p in places) or np.any(x[:, last] != 0)):
                continue
            share = x[:, first:last].sum(axis=0, dtype=np.float64)  # a view: no copy of the rows
            if not np.isfinite(share).all() or share.sum() <= 0:
                continue
            weights = torch.from_numpy(share / share.sum()).to(layer.weight.dtype)
            column = layer.weight[:, torch.tensor(places[:-1], dtype=torch.long)] @ weights
            layer.weight[:, places[-1]] = column if mask is None else column * mask[:, places[-1]]
            changed += 1
    return changed
