"""Batch-1 timings of a boosted model run on one thread, as a server scores one request."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import xgboost as xgb

import finlite
from finlite.jobs.bench import _one_thread
from finlite.models.gbdt import BoostedEnsemble


def test_lightgbm_predicts_on_one_thread_only_inside_the_context(boosted_dir: Path) -> None:
    """LightGBM timed at batch 1 with every core took 40 µs in one run and 7,500 µs in the next on
    a loaded 2-core machine (an MLOps walk-through, 2026-12-06)."""
    model = finlite.load(boosted_dir).model
    assert isinstance(model, BoostedEnsemble)
    booster = model.model
    seen: list[dict[str, Any]] = []
    real = booster.predict

    def spy(*args: Any, **kwargs: Any) -> Any:
        seen.append(kwargs)
        return real(*args, **kwargs)

    booster.predict = spy
    rows = np.zeros((2, model.n_inputs()), np.float32)
    plain = model.logits_np(rows)
    import torch

    threads = torch.get_num_threads()
    with _one_thread(model):
        alone = model.logits_np(rows)
        assert torch.get_num_threads() == 1
    model.logits_np(rows)
    assert [k.get("num_threads") for k in seen] == [None, 1, None]
    assert np.array_equal(plain, alone) and torch.get_num_threads() == threads


def test_xgboost_gets_its_thread_setting_back() -> None:
    rng = np.random.default_rng(0)
    x = rng.random((200, 4))
    booster = xgb.train({"objective": "binary:logistic", "nthread": 2}, xgb.DMatrix(x, label=x[:, 0] > 0.5), 3)
    model = BoostedEnsemble("xgboost", 0)
    model._model = booster

    def nthread() -> int:
        return int(json.loads(booster.save_config())["learner"]["generic_param"]["nthread"])

    with model.one_thread():
        assert nthread() == 1
    assert nthread() == 2
