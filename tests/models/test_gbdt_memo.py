"""Within a job that turns it on, a boosted teacher remembers the scores of its recent large
batches: one compress run scores the same splits for its gates, its evaluation and its report, and
a large ensemble is slow. Outside it, and while a model is timed, every call scores."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pytest

from finlite.jobs import compress as compress_job
from finlite.jobs import cost, report, search
from finlite.models import gbdt
from finlite.models.gbdt import BoostedEnsemble, active_memo, remembered_scores


def _teacher(rows: int = 600, features: int = 5, seed: int = 0) -> tuple[BoostedEnsemble, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(rows, features)).astype(np.float32)
    noise = np.random.default_rng(seed).normal(scale=0.5, size=rows)  # another seed: another booster, same rows
    y = (x[:, 0] - x[:, 1] + noise > 0).astype(int)
    booster = lgb.train({"objective": "binary", "verbose": -1, "num_leaves": 7, "num_threads": 1},
                        lgb.Dataset(x, y), num_boost_round=10)
    return BoostedEnsemble.from_booster("lightgbm", booster), x


class _Counting:
    """Stands for the booster and counts the rows it is asked to score."""

    def __init__(self, booster: object) -> None:
        self.booster, self.rows = booster, 0

    def predict(self, feats: np.ndarray, **kwargs: object) -> np.ndarray:
        self.rows += len(feats)
        return self.booster.predict(feats, **kwargs)  # type: ignore[attr-defined]

    def __getattr__(self, name: str) -> object:  # num_feature and the rest: the booster's own
        return getattr(self.booster, name)


def test_a_large_batch_with_the_same_bytes_is_scored_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gbdt, "MEMO_MIN_ROWS", 100)
    teacher, x = _teacher()
    counting = _Counting(teacher.model)
    teacher._model = counting
    teacher.logits_np(x)
    teacher.logits_np(x)  # no job turned remembering on: scored again
    assert counting.rows == 2 * len(x) and active_memo() is None
    counting.rows = 0
    with remembered_scores():
        _remembers(teacher, counting, x)
        memo = active_memo()
        assert memo is not None and len(memo) == 2
    assert active_memo() is None  # the job's store goes with it: nothing stays on the teacher
    teacher.logits_np(x)
    assert counting.rows == 3 * len(x) + 100
    with remembered_scores():  # a later job starts empty
        teacher.logits_np(x)
    assert counting.rows == 4 * len(x) + 100


def _remembers(teacher: BoostedEnsemble, counting: _Counting, x: np.ndarray) -> None:
    first = teacher.logits_np(x)
    again = teacher.logits_np(x.copy())  # equal bytes in another array
    assert counting.rows == len(x)
    np.testing.assert_array_equal(first, again)
    again[0] += 1.0  # the caller's copy, not the remembered one
    np.testing.assert_array_equal(teacher.logits_np(x), first)
    changed = x.copy()
    changed[-1, -1] = np.nextafter(changed[-1, -1], np.float32(np.inf))  # one bit of one value
    teacher.logits_np(changed)
    assert counting.rows == 2 * len(x)
    teacher.logits_np(x[:50])  # below MEMO_MIN_ROWS: scored every time
    teacher.logits_np(x[:50])
    assert counting.rows == 2 * len(x) + 100
    np.testing.assert_array_equal(first, counting.booster.predict(x.astype(np.float64), raw_score=True))


def test_the_memo_keeps_at_most_its_rows_and_forgets_what_was_scored_before_a_load(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gbdt, "MEMO_MIN_ROWS", 100)
    monkeypatch.setattr(gbdt, "MEMO_MAX_ROWS", 1_000)
    teacher, x = _teacher()
    with remembered_scores():
        memo = active_memo()
        assert memo is not None
        for shift in range(4):
            teacher.logits_np(x + shift)
        assert memo.rows <= 1_000 and len(memo) == 1
        counting = _Counting(teacher.model)
        teacher._model = counting
        teacher.logits_np(x + 3)  # the newest batch is still there
        assert counting.rows == 0
        teacher.load_state_dict(teacher.state_dict())  # loading weights: what was remembered is not used
        counting = _Counting(teacher.model)
        teacher._model = counting
        teacher.logits_np(x + 3)
        assert counting.rows == len(x)
        assert memo.rows <= 1_000


def test_nested_jobs_share_one_store_and_each_ensemble_has_its_own_entries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gbdt, "MEMO_MIN_ROWS", 100)
    first, x = _teacher()
    second, _ = _teacher(seed=1)
    counting = _Counting(second.model)
    second._model = counting
    with remembered_scores():
        outer = active_memo()
        a = first.logits_np(x)
        with remembered_scores():  # a job run by a job (the search's report) keeps the same store
            assert active_memo() is outer
            np.testing.assert_array_equal(first.logits_np(x), a)
            b = second.logits_np(x)  # equal rows, another ensemble: not answered with first's scores
        assert counting.rows == len(x) and not np.array_equal(a, b)
        with remembered_scores(False):
            assert active_memo() is None
        assert active_memo() is outer and outer is not None and len(outer) == 2


def test_timing_a_teacher_scores_every_call_even_inside_a_remembering_job(monkeypatch: pytest.MonkeyPatch) -> None:
    # The cost section times batches of 4,096 repeated rows: answered from memory, a 733-tree
    # teacher would look as fast as a hash.
    monkeypatch.setattr(gbdt, "MEMO_MIN_ROWS", 64)
    monkeypatch.setattr(cost, "BATCH_SIZES", (1, 256))
    monkeypatch.setattr(cost, "BUDGET_S", 0.0)  # the fewest repeats: 3 timed calls and a warm-up per size
    teacher, x = _teacher()
    counting = _Counting(teacher.model)
    teacher._model = counting
    with remembered_scores():
        timed = cost._torch_latency(teacher, x[:300])
        assert counting.rows >= 4 * 256 + 4
        before = counting.rows
        teacher.logits_np(x[:300])
        teacher.logits_np(x[:300])
        assert counting.rows == before + 300  # the job's own scoring is still remembered
    assert timed["256"]["repeats"] >= 3


class _Seen(Exception):
    """Raised by a patched first step of a job, carrying whether scores were remembered there."""


def _flag(*args: object, **kwargs: object) -> None:
    raise _Seen(active_memo() is not None)


@pytest.mark.parametrize(("module", "first", "job"), [
    (compress_job, "_setup", lambda: compress_job.compress("teacher", "data.csv")),
    (search, "_setup", lambda: search.search_students("teacher", "data.csv")),
    (report, "load", lambda: report.rebuild_report("student", "data.csv")),
])
def test_compress_search_and_the_report_rebuild_remember_scores(monkeypatch: pytest.MonkeyPatch, module: object,
                                                                first: str, job: object) -> None:
    monkeypatch.setattr(module, first, _flag)
    with pytest.raises(_Seen) as seen:
        job()  # type: ignore[operator]
    assert seen.value.args == (True,)
    assert active_memo() is None  # and only while the job runs


def test_the_jobs_that_score_one_split_several_times_remember() -> None:
    """compress, search and the report's rebuild each run within remembered_scores (the rebuild's
    decorator once slid onto a helper inserted above it: a review, 2026-12-06)."""
    from finlite.jobs.compress import compress
    from finlite.jobs.report import rebuild_report
    from finlite.jobs.search import search_students

    for job in (compress, search_students, rebuild_report):
        wrapped = getattr(job, "__wrapped__", None)
        assert wrapped is not None and wrapped.__name__ == job.__name__, job
