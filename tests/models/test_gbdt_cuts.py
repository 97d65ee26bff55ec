"""An imported booster reads raw columns rebuilt from finlite's float32 encoding: each of its split
thresholds has a place in that encoding (encoded_cuts), and a rebuilt value kept in the gap its
encoded value lies in must take the raw value's side of every split, whatever the rounding did."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from finlite.models.gbdt import LGB_ZERO, _lgb_sides, _sides, encoded_cuts


def _left(library: str, value: np.ndarray, threshold: float) -> np.ndarray:
    """The library's own rule: XGBoost compares in float32 (``x < t``); LightGBM reads any
    |x| <= 1e-35 as 0 (kZeroThreshold), then compares in double (``x <= t``)."""
    if library == "xgboost":
        return np.asarray(value.astype(np.float32) < np.float32(threshold))
    return np.asarray(np.where(np.abs(value) <= LGB_ZERO, 0.0, value) <= threshold)


def _undecidable(library: str, t: float, encoded: np.ndarray, mean: float, std: float) -> np.ndarray:
    """Rows whose encoding is also that of a raw value on the threshold's other side: the largest
    value the library sends left and the smallest it sends right encode alike, and so does the row."""
    if library == "xgboost":
        t32 = np.float32(t)
        mid = (float(np.nextafter(t32, np.float32(-np.inf))) + t) / 2
        right = mid if np.float32(mid) == t32 else float(np.nextafter(mid, np.inf))
        left = float(np.nextafter(right, -np.inf))
    else:
        left_a, right_a = _lgb_sides(np.asarray([t]))
        left, right = float(left_a[0]), float(right_a[0])
    low, high = np.float32((left - mean) / std), np.float32((right - mean) / std)
    return np.asarray((low == high) & (encoded == low))


def _check_sides(library: str, t: np.ndarray, v: np.ndarray, mean: float, std: float, *, strict: bool = False) -> None:
    """Every rebuilt value, kept in the gap its encoded value lies in, goes the way the exported
    graph sends its encoded value at every threshold (XGBoost: left below the place; LightGBM: left
    at or below it), and that is the raw value's way wherever the encoding can tell (``strict``:
    the encoding is fine enough to tell every row)."""
    encoded = ((v - mean) / std).astype(np.float32)  # as every encoder writes it
    cuts = encoded_cuts(library, t, mean, std)
    assert (np.diff(cuts) >= 0).all()  # the places keep the thresholds' order: searchsorted is valid
    lower, upper = _sides(library, t)
    gap = np.searchsorted(cuts, encoded, side="right" if library == "xgboost" else "left")
    rebuilt = encoded.astype(np.float64) * std + mean
    # Whatever value the rebuild (and snapping) gives, even one right on a threshold or next to it.
    for start in (rebuilt, *(np.full_like(v, x) for x in (*t, *np.nextafter(t, -np.inf), *np.nextafter(t, np.inf)))):
        if library == "xgboost":
            start = start.astype(np.float32).astype(np.float64)
        kept = np.clip(start, lower[gap], upper[gap])
        for i, threshold in enumerate(t):
            went = _left(library, kept, threshold)
            graph = encoded < cuts[i] if library == "xgboost" else encoded <= cuts[i]
            assert (went == graph).all()
            told = np.ones(len(v), dtype=bool) if strict else ~_undecidable(library, threshold, encoded, mean, std)
            assert (went[told] == _left(library, v, threshold)[told]).all()


def _near(t: np.ndarray) -> np.ndarray:
    """Values on and next to each threshold, and halfway between a float32 threshold and the float32
    number below it (which rounds to either by the parity of its last digit: ties to even)."""
    halfway = (np.nextafter(t.astype(np.float32), np.float32(-np.inf)).astype(np.float64) + t) / 2
    return np.concatenate([t, np.nextafter(t, -np.inf), np.nextafter(t, np.inf), halfway,
                           np.nextafter(halfway, -np.inf), np.nextafter(halfway, np.inf)])


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["xgboost", "lightgbm"]),
       st.lists(st.floats(-1e6, 1e6, allow_subnormal=False), min_size=1, max_size=12),
       st.lists(st.floats(-1e6, 1e6, allow_subnormal=False), min_size=1, max_size=40),
       st.floats(-1e5, 1e5), st.floats(1e-3, 1e5), st.booleans(), st.booleans())
def test_a_rebuilt_value_takes_the_raw_values_side_of_every_split(library: str, points: list[float],
                                                                   values: list[float], mean: float, std: float,
                                                                   on_points: bool, zero_splits: bool) -> None:
    # XGBoost's thresholds are float32 numbers; split at observed values, so rows often sit on them.
    t = np.unique(np.asarray(points, dtype=np.float32 if library == "xgboost" else np.float64).astype(np.float64))
    v = np.asarray(values, dtype=np.float64)
    if on_points:
        v = np.concatenate([v, _near(t)])
    if library == "lightgbm" and zero_splits:
        # LightGBM's splits around zero's bin (negatives | zero | positives), and zeros to send.
        t = np.unique(np.concatenate([t, [-LGB_ZERO, LGB_ZERO]]))
        v = np.concatenate([v, [0.0, -0.0, LGB_ZERO, -LGB_ZERO, 1e-300, -1e-300]])
    assume(np.isfinite(((v - mean) / std).astype(np.float32)).all())
    _check_sides(library, t, v, mean, std)


@pytest.mark.parametrize("library", ["xgboost", "lightgbm"])
@pytest.mark.parametrize("level", [123456.7, 123456.703125, 0.1, -77.3])  # float32 last digits odd and even
def test_an_encoding_finer_than_float32_places_every_row_as_its_library_does(library: str, level: float) -> None:
    """A column whose spread is small next to its level (a balance near 123,456 with a spread of
    1e-9) is encoded more finely than float32 holds the raw value: XGBoost's own float32 rounding
    (to the even neighbour on a tie) then decides which raw values fall left of a threshold, and
    every row, the one halfway between two float32 numbers included, must be placed as it does."""
    t = np.asarray([float(np.float32(level))]) if library == "xgboost" else np.asarray([level])
    halfway = float((np.nextafter(np.float32(t[0]), np.float32(-np.inf)) + t[0]) / 2) if library == "xgboost" else t[0]
    _check_sides(library, t, _near(t), halfway, 1e-9, strict=True)


@pytest.mark.parametrize(("mean", "std"), [(0.3, 1.0), (-2.0, 0.5), (0.0, 1e-3), (1e6, 1e3), (0.0, 0.837)])
def test_zero_keeps_its_own_bin_at_lightgbm_splits_around_zero(mean: float, std: float) -> None:
    """LightGBM splits a column of negatives, zeros and positives at -1e-35 and 1e-35. The value it
    sends left of -1e-35 encodes as zero does, and the tie sent zero left: in the exported graph, rows
    with a zero scored 0.88 where the booster gave 0.12 (a review, 2026-12-03). Zero goes right of
    the split below it and left of the one above it, in the graph and in the model alike.

    Centred on a median of 0 (an import's column of many zeros), ±1e-35 have encodings of their
    own, and LightGBM reads them as zero: they go zero's way too (-1e-35, the split's own
    threshold, went left: bench/import_parity.py's probes, 2026-12-05)."""
    t = np.asarray([-LGB_ZERO, LGB_ZERO])
    zero = np.float32((0.0 - mean) / std)
    cuts = encoded_cuts("lightgbm", t, mean, std)
    assert zero > cuts[0] and zero <= cuts[1]  # the graph's rule: left at or below the place
    for read_as_zero in (-LGB_ZERO, LGB_ZERO, 1e-300, -1e-300):
        encoded = np.float32((read_as_zero - mean) / std)
        assert encoded > cuts[0] and encoded <= cuts[1], read_as_zero
    lower, upper = _sides("lightgbm", t)
    gap = int(np.searchsorted(cuts, zero, side="left"))
    kept = np.clip(np.asarray([zero * std + mean]), lower[gap], upper[gap])
    assert not _left("lightgbm", kept, t[0])[0] and _left("lightgbm", kept, t[1])[0]
    # Unsorted and repeated thresholds (one per node, as the exporter passes them) get the same places.
    assert encoded_cuts("lightgbm", np.asarray([LGB_ZERO, -LGB_ZERO, LGB_ZERO]), mean, std).tolist() == [
        cuts[1], cuts[0], cuts[1]]


@pytest.mark.parametrize(("library", "points"), [("xgboost", [1e-6, 1e-5, 0.5]), ("xgboost", [-0.5, 0.0, 1e-6]),
                                                 ("lightgbm", [-0.5, -1e-6, 0.0]), ("lightgbm", [-1e-5, 1e-6])])
@pytest.mark.parametrize(("mean", "std"), [(0.3, 1.0), (50.0, 20.0), (1e6, 1e3)])
def test_zero_goes_its_own_way_at_a_split_beside_it(library: str, points: list[float], mean: float,
                                                    std: float) -> None:
    """XGBoost splits zero from blanks or positives at 1e-6 (exact) or 1e-5 (hist), a place on zero's
    own encoding, and the tie sent zero right: 0.80 where XGBoost gave 0.50 (a review, 2026-12-03).
    Zero goes its own way at every split, in the graph's rule and in the model's gaps."""
    t = np.unique(np.asarray(points, dtype=np.float32 if library == "xgboost" else np.float64).astype(np.float64))
    zero = np.float32((0.0 - mean) / std)
    cuts = encoded_cuts(library, t, mean, std)
    assert (np.diff(cuts) >= 0).all()
    graph = zero < cuts if library == "xgboost" else zero <= cuts
    truth = np.asarray([_left(library, np.zeros(1), x)[0] for x in t])  # the library on a raw zero
    assert (graph == truth).all()
    lower, upper = _sides(library, t)
    gap = int(np.searchsorted(cuts, zero, side="right" if library == "xgboost" else "left"))
    kept = np.clip(np.asarray([0.0]), lower[gap], upper[gap])
    assert [bool(_left(library, kept, x)[0]) for x in t] == truth.tolist()


def test_a_threshold_beyond_the_encodable_range_has_an_infinite_place() -> None:
    assert encoded_cuts("xgboost", np.array([3e38]), 0.0, 1e-3)[0] == np.inf
    assert encoded_cuts("lightgbm", np.array([-1e300]), 0.0, 1.0)[0] == -np.inf


def test_lightgbm_split_points_read_from_the_text_match_its_own_dump() -> None:
    """split_points reads LightGBM's model text (10x faster than dump_model on large boosters);
    checked against the thresholds LightGBM's own JSON dump lists, blanks (threshold=inf) included."""
    import lightgbm as lgb

    from finlite.models.gbdt import split_points

    rng = np.random.default_rng(0)
    x = rng.normal(size=(3000, 4))
    x[rng.random(3000) < 0.2, 1] = np.nan
    x[rng.random(3000) < 0.3, 2] = 0.0
    y = ((np.nan_to_num(x[:, 0]) + np.isnan(x[:, 1]) + rng.normal(size=3000)) > 0.5).astype(int)
    booster = lgb.train({"objective": "binary", "verbose": -1, "num_leaves": 31, "min_data_in_leaf": 5}, lgb.Dataset(x, y),
                        40)
    expected: dict[int, set[float]] = {}
    stack = [info["tree_structure"] for info in booster.dump_model()["tree_info"]]
    while stack:
        node = stack.pop()
        if "split_index" in node:
            threshold = float(node["threshold"])  # JSON holds no infinity: the dump writes 1e300 for inf
            expected.setdefault(int(node["split_feature"]), set()).add(np.inf if threshold >= 1e300 else threshold)
            stack.extend((node["left_child"], node["right_child"]))
    got = split_points("lightgbm", booster)
    assert {j: sorted(v) for j, v in expected.items()} == {j: v.tolist() for j, v in got.items()}
    assert any(np.isinf(v).any() for v in got.values())  # a split of blanks against every number is there
