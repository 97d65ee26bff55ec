"""Properties of the validation primitives (finlite.evaluate.validation) over generated inputs."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from finlite.evaluate import metrics as m
from finlite.evaluate import validation as v
from finlite.evaluate.fidelity import psi


@st.composite
def _labelled(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Labels with both classes, scores on a coarse grid (many ties) and resample counts."""
    n = draw(st.integers(4, 40))
    y = np.array(draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)), dtype=float)
    y[0], y[1] = 0.0, 1.0
    p = np.array(draw(st.lists(st.integers(0, 8), min_size=n, max_size=n)), dtype=float) / 8
    w = np.array(draw(st.lists(st.integers(0, 3), min_size=n, max_size=n)), dtype=float)
    return y, p, w


@settings(max_examples=150, deadline=None)
@given(_labelled(), st.booleans(), st.sampled_from([0.0, 0.01, 0.1, 0.3]))
def test_counted_ranking_metrics_equal_the_metrics_on_repeated_rows(
        data: tuple[np.ndarray, np.ndarray, np.ndarray], merge: bool, fpr: float) -> None:
    """A resample's counts w are its rows repeated w times: every counted metric equals the plain
    metric on those rows (NaN when a class is missing), merged negative runs or not."""
    y, p, w = data
    idx = np.repeat(np.arange(y.size), w.astype(int))
    ranked = v._Ranked(y, p, merge_negative_runs=merge)
    pos, neg = ranked.groups(w[None, :])
    # Counting a resample from its row indices gives the same runs as weighting by its counts.
    pos_i, neg_i = ranked.groups_of(idx[None, :])
    np.testing.assert_array_equal(pos_i, pos)
    np.testing.assert_array_equal(neg_i, neg)
    # And from its counts per row, as the bootstrap counts one resample at a time.
    pos_c, neg_c = ranked.groups_of_counts(w.astype(np.float64))
    np.testing.assert_array_equal(pos_c, pos)
    np.testing.assert_array_equal(neg_c, neg)
    ys, ps = y[idx], p[idx]
    both = idx.size and 0 < ys.sum() < ys.size
    for fn, plain in ((v._auc_g, m.auc), (v._ks_g, m.ks), (v._ap_g, m.average_precision)):
        got = float(fn(v._Counts(pos, neg))[0])
        if both:
            assert got == pytest.approx(plain(ys, ps), abs=1e-12)
        else:
            assert np.isnan(got) or plain is m.average_precision
    got_r = float(v._recall_g(fpr)(v._Counts(pos, neg))[0])
    if both:
        assert got_r == pytest.approx(m.recall_at_fpr(ys, ps, fpr), abs=1e-12)


_VALUES = st.lists(st.floats(-3, 3, allow_nan=False, width=32), min_size=1, max_size=60)


@settings(max_examples=100, deadline=None)
@given(_VALUES, _VALUES, st.integers(1, 12))
def test_psi_table_total_is_fidelity_psi_and_shares_sum_to_one(e: list[float], a: list[float], bins: int) -> None:
    out = v.psi_table(np.array(e), np.array(a), bins)
    assert out["psi"] == pytest.approx(psi(np.array(e), np.array(a), bins), abs=1e-12)
    assert out["psi"] >= -1e-12
    assert sum(r["expected_share"] for r in out["bins"]) == pytest.approx(1.0)
    assert sum(r["actual_share"] for r in out["bins"]) == pytest.approx(1.0)


@settings(max_examples=100, deadline=None)
@given(_VALUES, _VALUES)
def test_csi_of_a_column_against_itself_is_zero(e: list[float], a: list[float]) -> None:
    col = np.array(e + a)
    assert v.csi_table(col, col)["csi"] == pytest.approx(0.0, abs=1e-12)
    assert v.csi_table(np.array(e), np.array(a))["csi"] >= -1e-12


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 80), st.integers(0, 80))
def test_mcnemar_is_symmetric_and_a_probability(b: int, c: int) -> None:
    ab, ba = v.mcnemar(b, c), v.mcnemar(c, b)
    assert ab["p_value"] == pytest.approx(ba["p_value"]) and ab["statistic"] == pytest.approx(ba["statistic"])
    assert 0.0 <= ab["p_value"] <= 1.0
    if b == c and b + c < 25:  # exact test: no evidence either way (the corrected chi-square is not 1)
        assert ab["p_value"] == pytest.approx(1.0)


@settings(max_examples=100, deadline=None)
@given(_labelled(), st.integers(1, 12))
def test_tables_partition_the_rows(data: tuple[np.ndarray, np.ndarray, np.ndarray], bins: int) -> None:
    y, p, _ = data
    lift = v.lift_table(y, p, bins)
    rel = v.reliability_table(y, p, bins)
    assert sum(r["rows"] for r in lift) == y.size == sum(r["count"] for r in rel)
    assert sum(r["positives"] for r in lift) == int(y.sum()) == sum(r["positives"] for r in rel)
    assert lift[-1]["cumulative_capture"] == pytest.approx(1.0)
    assert all(0.0 <= r["p_value"] <= 1.0 for r in rel)
    assert 0.0 <= v.expected_calibration_error(y, p, bins) <= 1.0
    _, cp, cn = v.ks_curve(y, p)
    assert max(0.0, float(np.max(cn - cp))) == pytest.approx(m.ks(y, p))
    fpr, tpr = v.roc_points(y, p)
    assert np.trapezoid(tpr, fpr) == pytest.approx(m.auc(y, p))


def _csi_by_value(expected: list[object], actual: list[object], min_share: float,
                  min_rows: int = 1) -> dict[str, tuple[float, float]]:
    """Categorical CSI shares worked value by value, independently of the hashed grouping: each
    value's label is its category as the model's encoder reads it (1, 1.0 and "1" one category;
    True and 1 one in a column of booleans), rare and unseen labels pool into "other", missing
    values apart."""
    def key(value: object) -> str | None:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return None
        if isinstance(value, bool):
            return "True" if value else "False"
        if isinstance(value, int):
            return str(value)
        if isinstance(value, float):
            return str(int(value)) if value.is_integer() else repr(value)
        return str(value).strip() or None

    def label(value: object) -> str:
        k = key(value)
        return "missing" if k is None else f"={k}"
    e_lab = [label(x) for x in expected]
    kept = {lab for lab in set(e_lab) if lab != "missing" and e_lab.count(lab) / len(e_lab) >= min_share
            and e_lab.count(lab) >= min_rows}
    booleans = {"True", "False", "1", "0"}
    trained = {lab[1:] for lab in kept}  # scored values are looked up among the kept values
    swap = {"1": "True", "True": "1", "0": "False", "False": "0"}

    def aliased(lab: str) -> str:  # a boolean and 1 / 0 stand for each other in a column of booleans
        k = lab[1:]
        if lab == "missing" or k in trained or not trained <= booleans or k not in swap:
            return lab
        return f"={swap[k]}" if swap[k] in trained else lab
    a_lab = [aliased(label(x)) for x in actual]

    def binned(lab: str) -> str:
        if lab == "missing":
            return lab
        if lab not in kept:
            return "other"
        return lab if lab in ("=other", "=missing") else lab[1:]
    shares: dict[str, tuple[float, float]] = {}
    for b in {binned(x) for x in e_lab + a_lab}:
        shares[b] = (sum(binned(x) == b for x in e_lab) / len(e_lab), sum(binned(x) == b for x in a_lab) / len(a_lab))
    return shares


# Text, whole numbers, and mixtures of 1, 1.0, "1" and True (one key to a hash table, one category to the encoder).
_CATEGORY = st.one_of(st.sampled_from(["a", "b", "c", "1", "other", "missing"]), st.integers(0, 3),
                      st.sampled_from([1.0, 2.5, True, False, None, float("nan")]))
_CATEGORIES = st.one_of(st.lists(st.sampled_from(["a", "b", "c", "d"]), min_size=1, max_size=60),
                        st.lists(st.integers(0, 5), min_size=1, max_size=60),
                        st.lists(_CATEGORY, min_size=1, max_size=60))


@settings(max_examples=200, deadline=None)
@given(_CATEGORIES, _CATEGORIES, st.sampled_from([0.0, 0.05, 0.2]), st.sampled_from([1, 3, 10]))
def test_categorical_csi_bins_equal_a_value_by_value_count(expected: list[object], actual: list[object],
                                                           min_share: float, min_rows: int) -> None:
    import pandas as pd

    out = v.csi_table(pd.Series(expected, dtype=object), pd.Series(actual, dtype=object), categorical=True,
                      min_share=min_share, min_rows=min_rows)
    got = {r["bin"]: (r["expected_share"], r["actual_share"]) for r in out["bins"]}
    want = _csi_by_value(expected, actual, min_share, min_rows)
    assert got.keys() == want.keys()
    for b, (e, a) in want.items():
        assert got[b][0] == pytest.approx(e, abs=1e-12) and got[b][1] == pytest.approx(a, abs=1e-12)
