"""The operating point: set from the data (training bad rate or a flag rate), agreement over a band."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from finlite.errors import ConfigError, DataError
from finlite.evaluate.operating import (
    FLAG_RATE_BAND,
    OperatingPoint,
    agreement_band,
    check_decisive,
    cutoff_at_flag_rate,
    operating_point,
)


def _book(rows: int = 2000, bad_rate: float = 0.05, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Scores of a 5 %-bad book: all far below 0.5, so a 0.5 cut-off would flag nobody."""
    rng = np.random.default_rng(seed)
    y = (rng.random(rows) < bad_rate).astype(np.float64)
    scores = np.clip(0.03 + 0.06 * y + rng.normal(scale=0.02, size=rows), 1e-4, 0.3)
    return scores, y


def test_default_cutoff_flags_the_training_bad_rate() -> None:
    scores, y = _book()
    assert (scores >= 0.5).sum() == 0  # the old default decides nothing on this book
    point = operating_point(scores, y)
    assert point.method == "training_bad_rate" and point.flag_rate == pytest.approx(y.mean())
    assert np.mean(scores >= point.cutoff) == pytest.approx(y.mean(), abs=1e-3)
    assert point.flagged_train == pytest.approx(np.mean(scores >= point.cutoff))
    given = operating_point(scores, y, flag_rate=0.1)
    assert given.method == "flag_rate" and np.mean(scores >= given.cutoff) == pytest.approx(0.1, abs=1e-3)
    assert given.cutoff < point.cutoff  # flagging more rows means a lower cut-off
    explicit = operating_point(scores, y, cutoff=0.2)
    assert (explicit.cutoff, explicit.method, explicit.flag_rate) == (0.2, "cutoff", None)
    assert point.describe() == f"cut-off {point.cutoff:.6g} on P(positive) (the teacher's score at the training bad rate, {y.mean():.1%})"


def test_operating_point_options_are_checked() -> None:
    scores, y = _book()
    with pytest.raises(ConfigError, match="cutoff= or flag_rate=, not both") as info:
        operating_point(scores, y, cutoff=0.2, flag_rate=0.1)
    assert info.value.param == "flag_rate"
    with pytest.raises(ConfigError, match=r"'flag_rate' parameter of train must be a number in \(0, 1\)"):
        operating_point(scores, y, flag_rate=1.0)
    with pytest.raises(DataError, match=r"holds no positive rows.*flag_rate="):
        operating_point(scores, np.zeros_like(y))
    assert cutoff_at_flag_rate(np.ones(10), 0.1) < 1.0  # saturated scores: a cut-off stays inside (0, 1)


def test_manifest_round_trip_and_old_manifests() -> None:
    point = OperatingPoint(cutoff=0.12, method="flag_rate", flag_rate=0.1, flagged_train=0.1)
    manifest = {"cutoff": 0.12, "operating_point": point.to_dict()}
    assert OperatingPoint.from_manifest(manifest) == point
    old = OperatingPoint.from_manifest({"cutoff": 0.5})
    assert (old.cutoff, old.method, old.flag_rate) == (0.5, "recorded", None)
    # A rate-based record without its rate (hand-edited) is read as a bare cut-off, and still described.
    bare = OperatingPoint.from_manifest({"cutoff": 0.2, "operating_point": {"method": "flag_rate", "flag_rate": None}})
    assert (bare.method, bare.flag_rate) == ("recorded", None) and bare.describe().startswith("cut-off 0.2 ")


def test_agreement_over_the_band_uses_the_teachers_cutoff_at_each_flag_rate() -> None:
    scores, _ = _book()
    same = agreement_band(scores, scores)
    assert [b["flag_rate"] for b in same] == list(FLAG_RATE_BAND) and all(b["agreement"] == 1.0 for b in same)
    # A student whose ranking is reversed in the riskiest tenth disagrees there, not at 30 %... by construction:
    student = scores.copy()
    top = scores >= np.quantile(scores, 0.9)
    student[top] = scores.min()
    band = {b["flag_rate"]: b for b in agreement_band(scores, student)}
    assert band[0.1]["agreement"] == pytest.approx(1 - np.mean(top), abs=2e-3)
    assert band[0.01]["cutoff"] > band[0.3]["cutoff"]
    # Each point says what the student flags there: the same share as the teacher when it ranks
    # the same, and almost nothing when its scores sit on another (lower) scale.
    assert all(b["student_flagged"] == pytest.approx(b["flag_rate"], abs=2e-3) for b in same)
    shrunk = {b["flag_rate"]: b for b in agreement_band(scores, scores * 1e-3)}
    assert all(b["student_flagged"] == 0.0 for b in shrunk.values())
    assert shrunk[0.3]["agreement"] == pytest.approx(0.7, abs=2e-3)  # "agrees" without deciding anything
    # The report's row says so before the share is read as the same decisions (note 71).
    from finlite.evaluate.report import _rows
    fidelity = {"agreement": 1.0, "psi": 0.0, "spearman": 1.0, "agreement_band": list(shrunk.values())}
    cells = {r[0]: r[2] for r in _rows({"teacher": {}, "student": {}, "fidelity": fidelity})}
    assert cells["agreement, teacher flags 30%"].startswith("70.0% (no flag in common: it counts only rows neither "
                                                            "flags, flags 0.0%")
    fidelity["agreement_band"] = same
    assert not [c for c in (r[2] for r in _rows({"teacher": {}, "student": {}, "fidelity": fidelity}))
                if "in common" in str(c)]


def test_the_band_says_what_a_tied_teacher_really_flags() -> None:
    """With a tenth of the teacher's scores tied at the top, the 1 %, 2 % and 5 % cut-offs all
    sit on the tie and flag 10 %; the band said "teacher flags 1 %" there without a word."""
    rng = np.random.default_rng(0)
    teacher = np.concatenate([np.full(100, 0.9), rng.uniform(0.0, 0.8, 900)])
    band = {b["flag_rate"]: b for b in agreement_band(teacher, teacher)}
    for rate in (0.01, 0.02, 0.05):
        assert band[rate]["cutoff"] == 0.9 and band[rate]["teacher_flagged"] == pytest.approx(0.1)
    assert band[0.3]["teacher_flagged"] == pytest.approx(0.3, abs=2e-3)
    from finlite.evaluate.report import _rows
    fidelity = {"agreement": 1.0, "psi": 0.0, "spearman": 1.0, "agreement_band": list(band.values())}
    point = operating_point(teacher, np.zeros(1000), flag_rate=0.05)
    assert point.flagged_train == pytest.approx(0.1)
    assert point.describe().endswith("given; it flags 10.0% of the training rows)")
    labels = [r[0] for r in _rows({"teacher": {}, "student": {}, "fidelity": fidelity})]
    assert "agreement, teacher flags 1% (10.0%: tied scores)" in labels
    assert "agreement, teacher flags 30%" in labels
    # Untied scores on few rows miss a share by a row's rounding: no talk of ties (a review saw
    # "tied scores" on 5 of 6 rows of 333 untied scores).
    untied = rng.uniform(0.0, 1.0, 333)
    band = agreement_band(untied, untied)
    fidelity = {"agreement": 1.0, "psi": 0.0, "spearman": 1.0, "agreement_band": band}
    assert not [r[0] for r in _rows({"teacher": {}, "student": {}, "fidelity": fidelity}) if "tied" in r[0]]
    assert all(b["teacher_ties_at_cutoff"] <= 1 for b in band)
    assert not any(b["tied"] for b in band)
    # A fraud-range rate over many rows: 180 of 10,000 tied at the top flag 1.8 % where 1 % was asked
    # (a review: an absolute one-point rule missed it).
    many = np.concatenate([np.full(180, 0.95), rng.uniform(0.0, 0.9, 9820)])
    low = {b["flag_rate"]: b for b in agreement_band(many, many)}
    assert low[0.01]["tied"] and low[0.01]["teacher_flagged"] == pytest.approx(0.018)


def test_a_degenerate_operating_point_is_refused() -> None:
    check_decisive(0.3, 100, 0.2, "agreement")
    with pytest.raises(ConfigError, match=r"agreement is judged at the cut-off 0.5 .* flags no row of the 100 rows "
                                          r"\(flag rate 0.0%\).*pass flag_rate="):
        check_decisive(0.0, 100, 0.5, "agreement")
    with pytest.raises(ConfigError, match="flags every row"):
        check_decisive(1.0, 100, 0.01, "f1")


def test_a_fraud_range_rate_is_described_with_its_digits() -> None:
    """'--flag-rate 0.0001' was described as "flag rate 0.0%", and a fraud bad rate of 0.17 % as 0.2 %."""
    point = OperatingPoint(cutoff=0.9, method="flag_rate", flag_rate=0.0001, flagged_train=0.00017)
    assert "at the flag rate 0.01% given; it flags 0.017% of the training rows" in point.describe()
    assert "training bad rate, 0.17%" in OperatingPoint(cutoff=0.5, method="training_bad_rate",
                                                         flag_rate=0.0017).describe()
    assert "training bad rate, 30.0%" in OperatingPoint(cutoff=0.5, method="training_bad_rate", flag_rate=0.3).describe()


def test_a_share_short_of_all_rows_never_reads_100_percent() -> None:
    from finlite._util import percent

    assert (percent(0.9999), percent(0.99996), percent(0.999), percent(1.0)) == ("99.99%", "99.996%", "99.9%", "100.0%")


def test_a_direction_models_rate_is_its_share_of_up_moves() -> None:
    from finlite.evaluate.operating import rate_name

    point = OperatingPoint(cutoff=0.53, method="training_bad_rate", flag_rate=0.526)
    assert point.describe(rate_name("direction")).endswith("(the teacher's score at the training share of up moves, "
                                                           "52.6%)")
    assert "training bad rate, 52.6%" in point.describe(rate_name("binary"))


@settings(max_examples=300, deadline=None)
@given(st.floats(-1.0, 1.0, allow_nan=False, allow_subnormal=True)
       | st.floats(0.0, 1e-3, exclude_min=True).map(lambda short: 1.0 - short))
def test_percent_reads_as_the_share_it_stands_for(share: float) -> None:
    """Never scientific notation, two significant digits below 1 %, one decimal from it, and
    never "100.0%" for a share short of all rows (two significant digits of the shortfall)."""
    from finlite._util import percent

    text = percent(share)
    assert text.endswith("%") and "e" not in text
    if text[0] in "<>":
        assert 0 < abs(share) < 1e-8 or (text == ">99.999999%" and 0 < 1 - share < 1e-8)
        return
    value = float(text[:-1])
    if share < 1 and f"{share:.1%}" == "100.0%":
        assert value < 100
        assert abs((100 - value) - (1 - share) * 100) <= 0.05 * (1 - share) * 100 + 1e-12
    elif abs(share) >= 0.01 or abs(value) >= 1:
        assert text == f"{share:.1%}"
    else:
        assert abs(value - share * 100) <= 0.05 * abs(share * 100) + 1e-12  # two significant digits


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 1), st.floats(0, 1)), min_size=1, max_size=60), st.floats(0.01, 0.99))
def test_alert_overlap_is_the_jaccard_index_of_the_flagged_rows(pairs: list[tuple[float, float]], cut: float) -> None:
    from finlite.evaluate.fidelity import alert_overlap

    t, s = np.array(pairs).T
    mine = {i for i, v in enumerate(t) if v >= cut}
    theirs = {i for i, v in enumerate(s) if v >= cut}
    value = alert_overlap(t, s, cut)
    if not mine | theirs:  # neither flags a row: nothing to compare, not a perfect score
        assert value is None and alert_overlap(s, t, cut) is None
        return
    assert value is not None
    assert value == pytest.approx(len(mine & theirs) / len(mine | theirs), abs=1e-12)  # sets, computed apart
    assert value == pytest.approx(alert_overlap(s, t, cut), abs=1e-12)  # symmetric
    assert (value == 1.0) == (mine == theirs)
    # Flagging more rows the teacher does not flag never raises it (they add to the union only).
    louder = alert_overlap(t, np.where(t < cut, np.maximum(s, cut), s), cut)
    assert louder is not None and louder <= value + 1e-12


def test_flag_overlap_takes_flags_not_numbers() -> None:
    from finlite.evaluate.operating import flag_overlap

    assert flag_overlap(np.array([True, False, True]), np.array([True, True, True])) == pytest.approx(2 / 3)
    with pytest.raises(DataError, match=r"two equally long arrays of flags \(booleans\); got int64 \(3,\)"):
        flag_overlap(np.array([1, 0, 2]), np.array([True, True, True]))
    with pytest.raises(DataError, match="equally long"):
        flag_overlap(np.array([True]), np.array([True, False]))


def test_the_band_gives_the_alert_overlap_where_agreement_hides_it() -> None:
    """A fraud book: the teacher flags 1 %; a student keeps 99 % agreement while half the alerts differ."""
    rng = np.random.default_rng(3)
    teacher = rng.random(10_000)
    student = teacher.copy()
    top = np.argsort(teacher)[-100:]  # the teacher's 1 % alerts
    student[top[:50]] = rng.random(50) * 0.5  # half of them dropped by the student ...
    low = np.flatnonzero(teacher < 0.5)[:50]
    student[low] = 0.999 + rng.random(50) * 1e-4  # ... and 50 others raised instead
    point = {b["flag_rate"]: b for b in agreement_band(teacher, student)}[0.01]
    assert point["agreement"] == pytest.approx(0.99)
    assert point["alert_overlap"] == pytest.approx(50 / 150)


def test_reports_add_the_fraud_budgets_where_the_rows_hold_enough_alerts() -> None:
    from finlite.evaluate.fidelity import fidelity_metrics
    from finlite.evaluate.operating import report_band
    from finlite.evaluate.report import render_markdown, render_table

    assert report_band(1_000) == FLAG_RATE_BAND  # 0.5 % would be 5 alerts: not shown
    assert report_band(4_000) == (0.005, *FLAG_RATE_BAND)
    assert report_band(20_000) == (0.001, 0.005, *FLAG_RATE_BAND)
    rng = np.random.default_rng(1)
    teacher = rng.random(30_000)
    student = np.clip(teacher + rng.normal(scale=0.001, size=teacher.size), 0, 1)
    fidelity = fidelity_metrics(teacher, student, (teacher > 0.5).astype(float), 0.9)
    band = {round(b["flag_rate"], 6): b for b in fidelity["agreement_band"]}
    assert list(band) == [0.001, 0.005, *FLAG_RATE_BAND]
    top = teacher >= np.quantile(teacher, 0.999)  # the teacher's 0.1 %, counted apart
    mine = student >= band[0.001]["cutoff"]
    assert band[0.001]["alert_overlap"] == pytest.approx(np.sum(top & mine) / np.sum(top | mine))
    report = {"split": "test", "rows": teacher.size, "teacher": {}, "student": {}, "fidelity": fidelity, "ratios": {"size_ratio": 2.0},
              "operating_point": {"description": "given", "flagged_by_teacher": 0.1, "flagged_by_student": 0.1}}
    text = render_table(report)
    assert "agreement, teacher flags 0.1%" in text and "agreement, teacher flags 1%" in text
    cells = fidelity["swap_set"]
    both = cells["teacher_positive/student_positive"]["count"]
    either = both + cells["teacher_positive/student_negative"]["count"] + cells["teacher_negative/student_positive"]["count"]
    lo, hi = fidelity["alert_overlap_ci"]
    # With its counts and its exact interval.
    assert f"{fidelity['alert_overlap']:.1%} ({both:,} / {either:,}; 95% CI {lo:.1%}–{hi:.1%})" in text
    assert both / either == pytest.approx(fidelity["alert_overlap"])
    quiet = fidelity_metrics(teacher, student, np.zeros(teacher.size), 1.5)  # neither flags a row
    assert quiet["alert_overlap_ci"] is None and quiet["agreement_ci"][1] == 1.0
    assert "- (neither flags a row)" in render_table({**report, "fidelity": quiet})
    # A direction forecaster's table: its up calls, and no fraud desk's recall at 0.1 % FPR.
    metrics = {"auc": 0.51, "recall_at_0.1pct_fpr": 0.0, "flagged_rate": 0.55}
    plain = render_table({**report, "teacher": metrics, "student": metrics})
    assert "flagged at cut-off" in plain and "recall at 0.1 % FPR" in plain
    direction = render_table({**report, "task": "direction", "teacher": metrics, "student": metrics})
    assert "called up at cut-off" in direction and "flagged at cut-off" not in direction
    assert "recall at 0.1 % FPR" not in direction
    # A report written before the intervals were recorded still renders, without them.
    older = {k: v for k, v in fidelity.items() if not k.endswith("_ci")}
    assert f"({both:,} / {either:,})" in render_table({**report, "fidelity": older})
    assert "teacher flags 0.1 % to 30 % of the rows" in render_markdown(report)
    small = {**report, "fidelity": fidelity_metrics(teacher[:1000], student[:1000], np.zeros(1000), 0.9)}
    assert "teacher flags 1 % to 30 % of the rows" in render_markdown(small)
    # On 1,000 rows the 1 % point compares about 10 alerts: its counts are shown, not a share.
    one = next(p for p in small["fidelity"]["agreement_band"] if p["flag_rate"] == 0.01)
    top, mine = teacher[:1000] >= one["cutoff"], student[:1000] >= one["cutoff"]
    assert (one["flagged_by_both"], one["flagged_by_either"]) == (int(np.sum(top & mine)), int(np.sum(top | mine)))
    assert one["flagged_by_either"] < 20
    assert f"overlap {one['flagged_by_both']} of {one['flagged_by_either']}, positives caught: " in render_table(small)
    ten = next(p for p in small["fidelity"]["agreement_band"] if p["flag_rate"] == 0.1)
    assert ten["flagged_by_either"] >= 20 and f"overlap {ten['alert_overlap']:.1%}, " in render_table(small)
    # The positives each model catches at each budget, counted here (zero labels here: none caught).
    assert (ten["teacher_positives_flagged"], ten["student_positives_flagged"], ten["positives"]) == (0, 0, 0)
    labelled = fidelity["agreement_band"]
    y = (teacher > 0.5).astype(float)
    for point in labelled:
        assert point["positives"] == int(y.sum())
        assert point["teacher_positives_flagged"] == int(np.sum((teacher >= point["cutoff"]) & (y == 1)))
        assert point["student_positives_flagged"] == int(np.sum((student >= point["cutoff"]) & (y == 1)))
    p1 = band[0.001]
    assert (f"positives caught: teacher {p1['teacher_positives_flagged']:,}, student "
            f"{p1['student_positives_flagged']:,} of {p1['positives']:,})") in text
    # Two score scales that rank alike: the PSI row says so rather than read as instability.
    from finlite.evaluate.report import _rows

    scaled = {"teacher": {}, "student": {}, "fidelity": {"agreement": 0.97, "psi": 1.46, "spearman": 0.96}}
    cell = {r[0]: r[2] for r in _rows(scaled)}["PSI (student vs teacher)"]
    assert cell == "1.4600 (the score scales differ; over all rows they rank alike: Spearman 0.96)"
    scaled["fidelity"]["spearman"] = 0.5
    assert {r[0]: r[2] for r in _rows(scaled)}["PSI (student vs teacher)"] == "1.4600"
    # Under evaluate --baseline's columns the cells name the baseline and the artifact too.
    renamed = render_table(small, names=("baseline", "artifact"))
    assert "positives caught: baseline " in renamed and "positives caught: teacher" not in renamed
    # A direction forecaster's intro speaks of up calls.
    up = render_markdown({**small, "task": "direction"})
    assert "the teacher calls 10.0% up and the student" in up and "teacher flags" not in up
    assert "overlap of the up calls are also shown where the teacher calls 1 % to 30 % of the rows up" in up


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 400), st.integers(0, 400), st.sampled_from([0.8, 0.9, 0.95, 0.99]))
def test_share_interval_is_the_exact_binomial_interval(k: int, extra: int, level: float) -> None:
    """Checked against statsmodels' Clopper-Pearson ("beta") interval, an independent computation."""
    from statsmodels.stats.proportion import proportion_confint

    from finlite.evaluate.operating import share_interval

    n = k + extra
    got = share_interval(k, n, level)
    if n == 0:
        assert got is None
        return
    assert got is not None
    want = proportion_confint(k, n, alpha=1 - level, method="beta")
    assert got == pytest.approx((float(np.nan_to_num(want[0])), float(np.nan_to_num(want[1], nan=1.0))), abs=1e-9)
    assert got[0] <= k / n <= got[1]


def test_share_interval_refuses_counts_that_are_not_counts() -> None:
    from finlite.evaluate.operating import share_interval

    with pytest.raises(DataError, match=r"whole counts 0 <= k <= n; got k=5, n=3"):
        share_interval(5, 3)
    with pytest.raises(DataError, match=r"got k=1.5"):
        share_interval(1.5, 3)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"level must lie between 0 and 1 .*got 95"):
        share_interval(1, 3, 95)


def test_fidelity_gives_the_intervals_of_agreement_and_overlap() -> None:
    """97 of 127 alerts shared, as bench/fraud.py's distilled student on 56,962 payments."""
    from finlite.evaluate.fidelity import fidelity_metrics

    rows = 56_962
    teacher, student = np.zeros(rows), np.zeros(rows)
    teacher[:109] = student[:97] = 1.0  # 97 both, 12 teacher only
    student[109:127] = 1.0  # 18 student only
    f = fidelity_metrics(teacher, student, np.zeros(rows), 0.5)
    assert f["alert_overlap"] == pytest.approx(97 / 127)
    assert f["alert_overlap_ci"] == pytest.approx([0.68027, 0.83460], abs=1e-5)  # statsmodels, beta
    assert f["agreement"] == pytest.approx(1 - 30 / rows)
    assert f["agreement_ci"][0] < f["agreement"] < f["agreement_ci"][1] < 1.0


def test_a_pruned_students_non_zero_flops_are_shown_beside_the_dense_count() -> None:
    """A 50 %-pruned student's dense FLOPs made it look costlier than its teacher (a validator's
    walk-through, 2026-12-06): the non-zero count is shown where it differs from the dense one."""
    from finlite.evaluate.fidelity import fidelity_metrics
    from finlite.evaluate.report import render_table

    rng = np.random.default_rng(0)
    teacher = rng.random(500)
    fidelity = fidelity_metrics(teacher, teacher, (teacher > 0.5).astype(float), 0.5)
    base = {"split": "test", "rows": 500, "fidelity": fidelity, "ratios": {"size_ratio": 2.0}}
    dense = {"flops_per_row": 1512, "flops_per_row_nonzero": 1512}
    pruned = render_table({**base, "teacher": dense, "student": {"flops_per_row": 2353, "flops_per_row_nonzero": 1177}})
    row = next(line for line in pruned.splitlines() if line.startswith("FLOPs per row (non-zero weights)"))
    assert row.split()[-2:] == ["1,512", "1,177"]
    same = render_table({**base, "teacher": dense, "student": {"flops_per_row": 600, "flops_per_row_nonzero": 600}})
    assert "FLOPs per row" in same and "non-zero weights" not in same


def test_recall_at_a_tenth_of_a_percent_fpr_on_few_negatives_says_what_it_is() -> None:
    """On 140 negatives, 0.1 % of them allows no false positive: the row said "recall at 0.1 % FPR"
    of what was the recall at none (a validator's walk-through, 2026-12-06)."""
    from finlite.evaluate.fidelity import fidelity_metrics
    from finlite.evaluate.report import render_table

    rng = np.random.default_rng(0)
    teacher = rng.random(200)
    base = {"split": "test", "rows": 200, "ratios": {"size_ratio": 2.0},
            "fidelity": fidelity_metrics(teacher, teacher, (teacher > 0.7).astype(float), 0.5)}
    few = {"rows": 200, "positives": 60, "recall_at_0.1pct_fpr": 0.05}
    text = render_table({**base, "teacher": few, "student": few})
    assert "recall at 0.1 % FPR (at no false positive: 140 negatives)" in text
    many = {"rows": 20_000, "positives": 60, "recall_at_0.1pct_fpr": 0.4}
    text = render_table({**base, "teacher": many, "student": many})
    assert "recall at 0.1 % FPR" in text and "at no false positive" not in text
