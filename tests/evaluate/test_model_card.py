"""MODEL_CARD.md: intended use, data, metrics with intervals, segments, limitations, change classification."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from finlite.errors import DataError
from finlite.evaluate.model_card import CHANGE_CLASSES, DEFAULT_USES, fenced, render_model_card
from finlite.evaluate.sections import Section, Table

HEADINGS = ["# Model card: student", "## Intended use", "## Out-of-scope uses and human oversight",
            "## Training and evaluation data", "## Inputs", "## Metrics", "## Segment results", "## Fairness",
            "## Limitations", "## Change classification", "### What changed", "### Recipe steps and gates",
            "### Evidence"]
#: The columns the discrimination section writes (finlite.evaluate.validation).
DISCRIMINATION_COLUMNS = ["metric", "teacher", "teacher_lower", "teacher_upper", "student", "student_lower",
                          "student_upper", "difference", "difference_lower", "difference_upper"]


def section(id: str, status: str = "PASS", summary: str = "Fine.", tables: list[Table] | None = None) -> dict[str, Any]:
    return Section(id=id, title=id.replace("_", " ").capitalize(), status=status,  # type: ignore[arg-type]
                   threshold="rule", summary=summary, tables=tables or []).to_dict()


def credit_report(**statuses: str) -> dict[str, Any]:
    """A binary report as the orchestrator writes it; ``statuses`` overrides a section's status."""
    disc = Table("discrimination_metrics", "Discrimination with 95 % bootstrap intervals", DISCRIMINATION_COLUMNS,
                 [["auc", 0.8123, 0.78, 0.84, 0.80111, 0.77, 0.83, 0.0112, -0.004, 0.027],
                  ["ks", 0.5, None, None, 0.49, 0.4, 0.58, 0.01, -0.02, 0.04]])
    seg = Table("segments", "Per segment", ["column", "segment", "rows", "AUC difference (T − S)", "95 % CI low",
                                            "95 % CI high", "weak spot"],
                [["purpose", "car <new> | used", 1234, 0.012, -0.01, 0.03, ""]])
    ids = ["summary", "discrimination", "calibration", "stability", "decisions", "segments", "fairness", "privacy",
           "cost", "reproducibility"]
    sections = [section(i, statuses.get(i, "PASS"), f"{i} summary <b>.",
                        [disc] if i == "discrimination" else [seg] if i == "segments" else None) for i in ids]
    return {"format": 1, "title": "finlite validation report: student", "task": "binary", "status": "PASS",
            "generated_from": {"artifact": "student", "teacher": "teacher", "teacher_manifest_sha256": "ab" * 32},
            "data": {"source": "german_credit.csv", "rows": 1000, "split": {"method": "stratified",
                                                                           "rows": {"train": 600, "test": 200}}},
            "change": {"steps_kept": ["distillation", "magnitude_pruning"], "size_ratio": 12.345,
                       "teacher": {"path": "/runs/teacher", "manifest_sha256": "cd" * 32}},
            "sections": sections, "unrelated": [1, 2, 3]}


def part(card: str, heading: str) -> str:
    """The text under ``heading`` up to the next heading of the same or a higher level."""
    level = heading.split(" ")[0]
    start = card.index(heading + "\n") + len(heading) + 1
    nxt = re.search(rf"^#{{1,{len(level)}}} ", card[start:], flags=re.M)
    return card[start:start + nxt.start()] if nxt else card[start:]


def test_the_card_has_every_part_in_order() -> None:
    card = render_model_card(credit_report())
    headings = [line for line in card.splitlines() if line.startswith("#")]
    assert headings[:13] == HEADINGS and headings[13].startswith("### Classification: ")
    assert card.endswith("\n") and not card.endswith("\n\n")


def test_the_card_names_the_inputs_the_protected_ones_and_the_fairness_evidence() -> None:
    """A fair-lending review (2026-12-05): the card had no list of inputs (that the model reads sex
    and marital status was nowhere), fairness was one line, and no out-of-scope use or human
    oversight was stated (EU AI Act Art. 13-14)."""
    report = credit_report(fairness="WARN")
    report["card"] = {"inputs": {"numeric": ["age_in_years", "credit_amount"],
                                 "categorical": ["personal_status_and_sex", "foreign_worker"],
                                 "protected_declared": ["personal_status_and_sex"],
                                 "protected_by_name": ["age_in_years", "foreign_worker"]}}
    rules = Table("fairness_rules_0", "sex: rules", ["measure", "teacher", "student", "change (S − T)",
                                                      "widening 95% low", "widening 95% high", "flag"],
                  [["approval-rate ratio", 0.988, 0.975, -0.013, -0.08, 0.10, ""]])
    fairness = Section(id="fairness", title="Fairness", status="WARN", threshold="rule", summary="sex: ratio 0.975.",
                       tables=[Table("fairness_groups_0", "groups", ["group"], [["F"]]), rules],
                       notes=["sex: inconclusive on the approval-rate ratio"]).to_dict()
    report["sections"] = [fairness if s["id"] == "fairness" else s for s in report["sections"]]
    card = render_model_card(report)
    inputs = part(card, "## Inputs")
    assert "The model reads 4 feature(s)." in inputs and "- categorical: personal_status_and_sex, foreign_worker" in inputs
    assert "**protected attributes it reads (declared)**: personal_status_and_sex" in inputs
    assert "named like a protected attribute: age_in_years, foreign_worker (not declared protected" in inputs
    fair = part(card, "## Fairness").lstrip()
    assert fair.startswith("**Fairness: WARN.** sex: ratio 0.975.")
    # The change and the widening's interval stay apart: for the ratio the widening is T − S, so
    # "-0.013 [-0.08, 0.1]" paired a fall with the interval of its opposite (a review, 2026-12-05).
    assert "| approval-rate ratio | 0.988 | 0.975 | -0.013 | -0.08 | 0.1 |  |" in fair and "groups" not in fair
    assert "| measure | teacher | student | change (S − T) | widening 95% low | widening 95% high | flag |" in fair
    assert "- sex: inconclusive on the approval-rate ratio" in fair
    assert "credit officer" in part(card, "## Out-of-scope uses and human oversight")
    # Without the section: why, from the report's omitted list; an older report: no inputs list.
    report["sections"] = [s for s in report["sections"] if s["id"] != "fairness"]
    report["omitted"] = [{"id": "fairness", "reason": "no protected column named (--protected)"}]
    del report["card"]
    card = render_model_card(report)
    assert part(card, "## Fairness").lstrip().startswith("Fairness was not assessed: no protected column named (--protected).")
    assert part(card, "## Inputs").lstrip().startswith("The report records no list of the model's inputs.")


def test_protected_attributes_the_model_reads_untested_are_a_limitation() -> None:
    """A card said PASS for a model reading SEX and AGE with no fairness section, fairness simply
    left out of the count (a walk-through of Taiwan's credit-card book, 2026-12-05): such
    features are a limitation now; with the fairness section present they are its business."""
    report = credit_report()
    report["card"] = {"inputs": {"numeric": ["AGE", "LIMIT_BAL"], "categorical": ["SEX"], "protected_declared": [],
                                 "protected_by_name": ["SEX", "AGE"], "geography_by_name": []}}
    assert "Protected attributes not assessed" not in part(render_model_card(report), "## Limitations")
    report["sections"] = [s for s in report["sections"] if s["id"] != "fairness"]
    report["omitted"] = [{"id": "fairness", "reason": "no protected column named (--protected)"}]
    limitations = part(render_model_card(report), "## Limitations")
    assert ("- **Protected attributes not assessed**: the model reads SEX, AGE, named like protected attributes, and "
            "no fairness section tests them (none was declared with --protected): its decisions and adverse-action "
            "reasons may depend on them directly.") in " ".join(limitations.split())
    report["card"]["inputs"]["protected_by_name"] = []
    assert "Protected attributes not assessed" not in part(render_model_card(report), "## Limitations")
    # Declared, but the section could not be built: said as such, the declared columns listed (a review, 2026-12-05).
    report["card"]["inputs"]["protected_declared"] = ["AGE"]
    report["omitted"] = [{"id": "fairness", "reason": "could not be built: boom", "error": True}]
    limitations = " ".join(part(render_model_card(report), "## Limitations").split())
    assert ("the model reads AGE, declared protected or named like one, and the fairness section could not be built "
            "(could not be built: boom): its decisions and adverse-action reasons may depend on it directly") \
        in limitations


def test_a_student_miscalibrated_in_absolute_terms_is_a_limitation() -> None:
    """The calibration section judges the student against its teacher: it PASSed a student whose
    lowest band predicted 2.5 % against 5.7 % observed, its teacher being as far off (a
    walk-through of Taiwan's book, 2026-12-05). The card's limitations say so."""
    report = credit_report()
    calibration = next(s for s in report["sections"] if s["id"] == "calibration")
    bands = [{"band": 1, "mean_predicted": 0.025, "observed_rate": 0.057},
             {"band": 2, "mean_predicted": 0.051, "observed_rate": 0.080}]
    calibration["metrics"] = {"student": {"hosmer_lemeshow": {"p_value": 2.8e-14}, "bands_failing": 5, "bands": bands}}
    limitations = part(render_model_card(report), "## Limitations")
    assert ("- **The student's probabilities are miscalibrated in absolute terms** (Hosmer–Lemeshow p 2.8e-14, 5 "
            "band(s) off at p < 0.01; band 1 predicts 2.5% against 5.7% observed)") in limitations
    # Significant on a large split but not material (half a point on 5.5 %): not a limitation.
    calibration["metrics"]["student"]["bands"] = [{"band": 1, "mean_predicted": 0.050, "observed_rate": 0.055}]
    assert "miscalibrated" not in render_model_card(report)
    calibration["metrics"]["student"]["bands"] = bands
    calibration["metrics"]["student"]["hosmer_lemeshow"]["p_value"] = 0.2
    assert "miscalibrated" not in render_model_card(report)


def test_a_student_whose_mean_prediction_misses_the_observed_rate_is_a_limitation() -> None:
    """A low-default student at 4.4 times its 1.4 % default rate (Jeffreys p 0.006) had a silent
    card: Hosmer-Lemeshow has no power at two defaults (a walk-through, 2026-12-07)."""
    from finlite.evaluate.validation import calibration_in_the_large

    report = credit_report()
    calibration = next(s for s in report["sections"] if s["id"] == "calibration")
    off = calibration_in_the_large(2, 142, 0.0617)
    calibration["metrics"] = {"in_the_large": {"student": off, "teacher": off}}
    limitations = " ".join(part(render_model_card(report), "## Limitations").split())
    assert (f"- **The student's mean prediction is off the observed rate** (6.17% against 1.41%, 2 of 142 rows: a "
            f"factor of 4.38 above it, Jeffreys test p {off['p_value']:.2g})") in limitations
    calibration["metrics"]["in_the_large"]["student"] = calibration_in_the_large(2, 142, 0.016)
    assert "mean prediction is off" not in render_model_card(report)


def test_a_master_scale_grade_whose_pd_is_too_low_is_a_limitation() -> None:
    """The per-grade PD back-test's grades too low at 1 % (Jeffreys, one-sided) are named on the
    card, with their bounds, PD and observed rate."""
    from finlite.evaluate.validation import grade_backtest

    report = credit_report()
    calibration = next(s for s in report["sections"] if s["id"] == "calibration")
    grades = grade_backtest([1] * 9 + [0] * 191, [0.015] * 200, (0.01, 0.02))
    assert grades[0]["grade"] == 2 and grades[0]["p_value"] < 0.01  # 4.5 % observed against a PD of 1.5 %
    calibration["metrics"] = {"pd_grades": {"student": {"grades": grades, "underestimated_status_level": [2]}}}
    limitations = " ".join(part(render_model_card(report), "## Limitations").split())
    assert ("- **The student's PD is too low in 1 grade(s) of finlite's generic master scale (the report's --grades "
            "gives the bank's)**: grade 2 (1.00%–2.00%: mean PD "
            f"1.50% against 4.50% observed, 9 of 200; Jeffreys p {grades[0]['p_value']:.2g}). Those applicants "
            "default more often than priced") in limitations
    calibration["metrics"]["pd_grades"]["scale_source"] = "given"
    assert "too low in 1 grade(s) of the bank's master scale**" in render_model_card(report)
    calibration["metrics"]["pd_grades"]["student"]["underestimated_status_level"] = []
    assert "too low in" not in render_model_card(report)


def test_a_price_files_alarms_are_limitations() -> None:
    """A split found in a forecaster's training prices sat in the card's list of data notes only
    (a quant's walk-through, 2026-12-07): each alarm is a limitation, five at most and a count."""
    report = credit_report()
    report["data"] = {"alarms": [f"column 'close' moves by 1.4-fold or more ({i})" for i in range(7)]}
    limitations = part(render_model_card(report), "## Limitations")
    assert "- **The price data may be wrong**: column 'close' moves by 1.4-fold or more (0)" in limitations
    assert "(4)" in limitations and "(5)" not in limitations and "and 2 more such note(s)" in limitations
    report["data"] = {"notes": ["asset 'A': 3 business day(s) missing"]}
    assert "price data may be wrong" not in render_model_card(report)


def test_intended_use_is_the_reports_or_a_default_by_task() -> None:
    report = credit_report()
    assert part(render_model_card(report), "## Intended use").strip() == DEFAULT_USES["credit"]
    report["card"] = {"intended_use": "Score SME loans <only>."}
    assert part(render_model_card(report), "## Intended use").strip() == "Score SME loans &lt;only&gt;."
    cases = [("binary", "creditcard.csv", "fraud"), ("binary", "ulb_fraud.parquet", "fraud"),
             ("forecast", "spy.csv", "markets"), ("direction", "spy.csv", "markets"),
             ("regression", "lgd.csv", "regression"), ("survival", "x.csv", "other")]
    for task, source, use in cases:
        report = {**credit_report(), "task": task, "data": {"source": source}}
        assert part(render_model_card(report), "## Intended use").strip() == DEFAULT_USES[use], (task, source)


def test_data_lists_every_recorded_fact() -> None:
    text = part(render_model_card(credit_report()), "## Training and evaluation data")
    assert text.strip().splitlines() == ["- source: german_credit.csv", "- rows: 1,000", "- split.method: stratified",
                                         "- split.rows.train: 600", "- split.rows.test: 200"]


def test_metrics_show_intervals() -> None:
    text = part(render_model_card(credit_report()), "## Metrics")
    assert "**Discrimination: PASS.** discrimination summary &lt;b&gt;." in text
    lines = [ln for ln in text.splitlines() if ln.startswith("|")]
    assert lines[0] == ("| metric | teacher [95 % interval] | student [95 % interval] | difference [95 % interval] |")
    assert lines[2] == "| auc | 0.8123 [0.78, 0.84] | 0.8011 [0.77, 0.83] | 0.0112 [-0.004, 0.027] |"
    assert lines[3] == "| ks | 0.5 | 0.49 [0.4, 0.58] | 0.01 [-0.02, 0.04] |"  # no interval: the estimate alone


def test_forecast_and_regression_metrics_come_from_their_sections() -> None:
    fc = Table("accuracy", "Pooled test-period metrics", ["model", "metric", "value", "95% low", "95% high"],
               [["student", "rmse", 0.0123, 0.011, 0.0135]])
    report = {"task": "forecast", "sections": [section("forecast_accuracy", tables=[fc])]}
    assert "| student | rmse | 0.0123 [0.011, 0.0135] |" in render_model_card(report)
    acc = Table("accuracy_metrics", "Accuracy", DISCRIMINATION_COLUMNS,
                [["rmse", 1.5, 1.4, 1.6, 1.55, 1.45, 1.65, -0.05, -0.1, 0.0]])
    report = {"task": "regression", "sections": [section("accuracy", tables=[acc])]}
    assert "| rmse | 1.5 [1.4, 1.6] | 1.55 [1.45, 1.65] | -0.05 [-0.1, 0] |" in render_model_card(report)


def test_a_forecaster_without_an_edge_says_so_among_its_limitations() -> None:
    """"Forecast accuracy: PASS" and "Trading view: PASS" judge the student against the teacher;
    for models that beat neither the naive forecast nor buy-and-hold they read as approval (a
    quant's walk-through, 2026-12-05). The population limitation speaks of markets."""
    def models(teacher: float, student: float, naive: float) -> dict[str, Any]:
        return {n: {"rmse": {"value": v, "ci": [v, v]}} for n, v in
                (("teacher", teacher), ("student", student), ("naive", naive))}

    def report(rmse: dict[str, Any], lows: tuple[float | None, float | None]) -> dict[str, Any]:
        accuracy = Section(id="forecast_accuracy", title="Forecast accuracy", status="PASS", threshold="rule",
                           summary="Fine.", metrics={"models": rmse}).to_dict()
        versus = {n: {"ci": [low, 1.0]} for n, low in zip(("teacher", "student"), lows, strict=True)}
        trading = Section(id="trading", title="Trading view", status="PASS", threshold="rule", summary="Fine.",
                          metrics={"assets": {"SPX": {"sharpe_vs_buy_and_hold": versus}}}).to_dict()
        return {"task": "direction", "sections": [accuracy, trading]}

    text = part(render_model_card(report(models(0.50, 0.51, 0.49), (-0.3, None))), "## Limitations")
    assert ("- **No edge over the naive forecast**: neither the teacher (RMSE 0.5) nor the student (0.51) forecasts "
            "more accurately than the naive forecast (0.49) on the test period.") in text
    assert "- **No edge over buy-and-hold**: neither model's trading view beats buy-and-hold" in text
    # A universe's models that rank the assets are said to, beside the RMSE (a validator's walk-through).
    ranking = report(models(0.50, 0.51, 0.49), (-0.3, None))
    ranking["sections"].append(Section(id="diebold_mariano", title="Diebold–Mariano tests", status="PASS",
                                       threshold="rule", summary="Fine.",
                                       metrics={"ranks_assets": {"teacher": True, "student": False}}).to_dict())
    assert ("on the test period, though the teacher ranks the assets of each date better than chance (the "
            "Diebold–Mariano section).") in part(render_model_card(ranking), "## Limitations")
    assert "change of regime" in text and "new products" not in text
    short = {**report(models(0.50, 0.51, 0.49), (-0.3, None)), "forecast": {"warnings": ["the test period holds 29"]}}
    assert "- **Short test period**: the test period holds 29" in part(render_model_card(short), "## Limitations")
    text = part(render_model_card(report(models(0.48, 0.51, 0.49), (0.1, -0.2))), "## Limitations")
    assert "No edge" not in text  # the teacher beats the naive forecast, and beats buy-and-hold
    # At h > 1 an interval above 0 on the first start day's book is no edge when the staggered book,
    # which depends on no start day, does not beat buy-and-hold's (a quant's walk-through, 2026-12-06).
    staggered = report(models(0.48, 0.51, 0.49), (0.1, -0.2))

    def book(model: float, hold: float) -> dict[str, Any]:
        side = {"long_flat": {"sharpe": model}, "long_short": {"sharpe": model - 0.2}}
        return {"teacher": side, "student": side, "buy_and_hold": {"sharpe": hold}}

    staggered["sections"][1]["metrics"]["assets"]["SPX"]["staggered"] = book(0.24, 0.38)
    text = part(render_model_card(staggered), "## Limitations")
    assert ("**No edge over buy-and-hold**: neither model's trading view beats buy-and-hold after costs beyond "
            "sampling noise (the trading section gives the intervals): the interval above zero is of the first start "
            "day's book alone") in text
    staggered["sections"][1]["metrics"]["assets"]["SPX"]["staggered"] = book(0.5, 0.38)
    assert "No edge over buy-and-hold" not in part(render_model_card(staggered), "## Limitations")
    assert "No edge" not in part(render_model_card(credit_report()), "## Limitations")
    # A panel is judged on every asset, not the first alone (a review, 2026-12-05).
    panel = report(models(0.48, 0.51, 0.49), (-0.3, None))
    assets = panel["sections"][1]["metrics"]["assets"]
    assets["ZZZ"] = {"sharpe_vs_buy_and_hold": {"teacher": {"ci": [0.6, 1.5]}, "student": {"ci": [0.5, 1.4]}}}
    assets["FEW"] = {"periods": 1}  # too few periods to trade: not judged
    text = part(render_model_card(panel), "## Limitations")
    assert "**No edge over buy-and-hold on 1 of 2 assets**: on SPX, neither model's trading view" in text
    assert "chance" not in text  # a report written before the trading section counted against chance
    # With the section's count beside chance, the assets with an edge are put in proportion: 8 of 300
    # random walks showed one, and the card listed the other 292 as if these 8 had an edge.
    panel["sections"][1]["metrics"]["edge_over_buy_and_hold"] = {
        "judged": 2, "assets_with_edge": 1, "edge_assets": ["ZZZ"], "expected_by_chance": 0.05}
    text = part(render_model_card(panel), "## Limitations")
    assert ("Read the 1 asset with an edge beside chance: with no edge on any asset, about 0.1 of the 2 judged "
            "would show one (each 95 % interval lies above zero on a nominal 2.5 % of assets)") in text
    panel["sections"][1]["metrics"]["edge_over_buy_and_hold"]["assets_with_edge"] = 3
    assert "Read the 3 assets with an edge beside chance" in part(render_model_card(panel), "## Limitations")
    panel["sections"][1]["metrics"]["edge_over_buy_and_hold"]["expected_by_chance"] = "0.05"  # forged: left out
    assert "chance" not in part(render_model_card(panel), "## Limitations")
    del panel["sections"][1]["metrics"]["edge_over_buy_and_hold"]
    del assets["ZZZ"]
    assets["QQQ"] = {"sharpe_vs_buy_and_hold": {"teacher": {"ci": [-0.1, 1.5]}, "student": {"ci": [None, None]}}}
    assert "beyond sampling noise on any of its 2 assets" in part(render_model_card(panel), "## Limitations")
    # A forged interval: no traceback, and [True] is no lower bound above 0.
    assets["QQQ"]["sharpe_vs_buy_and_hold"] = {"teacher": {"ci": 5}, "student": {"ci": [True]}}
    assert "beyond sampling noise on any of its 2 assets" in part(render_model_card(panel), "## Limitations")


def test_emphasis_marks_of_the_data_are_escaped() -> None:
    """A category "__other__" rendered in bold and "*promo*" in italics, renaming a segment (a
    validator's walk-through, 2026-12-07); an underscore inside a name is no emphasis and stays."""
    from finlite.evaluate.model_card import markdown_cell

    assert markdown_cell("purpose=__other__") == "purpose=\\_\\_other\\_\\_"
    assert markdown_cell("radio|tv *promo*") == "radio\\|tv \\*promo\\*"
    assert markdown_cell("status_of_existing_checking_account") == "status_of_existing_checking_account"
    assert markdown_cell("a`b~c") == "a\\`b\\~c"
    # A backslash of the data cannot undo the escape, in a cell or in running text (a review).
    from finlite.evaluate.model_card import _text

    assert _text("radio \\*promo\\*") == "radio \\\\\\*promo\\\\\\*"


def test_segment_results_are_escaped_for_markdown() -> None:
    text = part(render_model_card(credit_report(segments="WARN")), "## Segment results")
    assert "**Segments: WARN.**" in text
    row = next(ln for ln in text.splitlines() if ln.startswith("| purpose"))
    assert row == "| purpose | car &lt;new&gt; \\| used | 1,234 | 0.012 [-0.01, 0.03] |  |"
    assert "<new>" not in text
    assert len(re.findall(r"(?<!\\)\|", row)) == 6  # five cells: the escaped pipe does not split one
    # A forged report's section title was written raw in this heading line (a review of hostile
    # files, 2026-12-03); it is escaped here as everywhere else in the card.
    report = credit_report()
    report["sections"][5]["title"] = "<script>alert(1)</script>Segments"
    text = part(render_model_card(report), "## Segment results")
    assert "**&lt;script&gt;alert(1)&lt;/script&gt;Segments: PASS.**" in text and "<script>" not in text


def test_limitations_list_what_did_not_pass_and_the_fixed_ones() -> None:
    text = part(render_model_card(credit_report(fairness="WARN", privacy="FAIL")), "## Limitations")
    bullets = text.strip().splitlines()
    # Each with the rule that set its status (the section's threshold), in a nested bullet.
    assert bullets[:4] == ["- Fairness (WARN): fairness summary &lt;b&gt;.", "  - Rule: rule",
                           "- Privacy (FAIL): privacy summary &lt;b&gt;.", "  - Rule: rule"]
    bullets = [b for b in bullets if not b.startswith("  - Rule: ")]
    # The report's data says the split was stratified: the evidence is in-time, and the card says so.
    assert bullets[2].startswith("- The test rows are a random (stratified) sample of the same file and period")
    assert "not a privacy protection" in bullets[3]
    assert "population" in bullets[4]
    assert len(bullets) == 6


def test_the_card_states_what_the_split_makes_of_the_evidence() -> None:
    """In-time evidence said as such; an out-of-time split's periods named; a hold-out's report
    and a record without a split say nothing of it (a validator's review, 2026-12-04)."""
    report = credit_report()
    dated = {**report, "data": {**report["data"], "split": {"method": "out-of-time", "config": {"whole_dates": True}},
                                "dates": {"train": ["2015-01-01", "2017-11-01"], "validation": ["2017-12-01", "2018-03-01"],
                                          "test": ["2018-04-01", "2018-12-01"]}}}
    text = part(render_model_card(dated), "## Limitations")
    assert ("- Out-of-time: trained on dates 2015-01-01 to 2017-11-01, tested on 2018-04-01 to 2018-12-01 (each date "
            "in one part).") in text
    assert "stratified" not in text
    older = {**dated, "data": {**dated["data"], "split": {"method": "out-of-time", "config": {"date_column": "d"}}}}
    assert "(cut at the shares' rows by an older finlite: a date at a cut may lie in two parts)" in part(
        render_model_card(older), "## Limitations")
    for data in ({**report["data"], "holdout": {"rows": 500}}, {"rows": 1000}):
        text = part(render_model_card({**report, "data": data}), "## Limitations")
        assert "stratified" not in text and "Out-of-time" not in text
    # A split by account: unseen accounts, but the same period.
    grouped = {**report, "data": {**report["data"], "split": {"method": "grouped",
                                                              "config": {"group_column": "account_id"}}}}
    assert ("- The test rows are the rows of a random (stratified) sample of account_id values, each value's rows in "
            "one part, from the same file and period as the training rows: the evidence is of accounts the model never "
            "trained on, but in-time, and no out-of-time test was made.") in part(render_model_card(grouped),
                                                                                  "## Limitations")
    # A forecaster's walk-forward: fitted once, its folds blocks of the test period (read as refits).
    walked = {**dated, "data": {**dated["data"], "split": {"method": "walk-forward", "config": {"folds": 3}}}}
    assert ("- Walk-forward: the model was fitted once, on dates 2015-01-01 to 2017-11-01 (early-stopped on "
            "2017-12-01 to 2018-03-01), and judged unchanged on 2018-04-01 to 2018-12-01; the folds are consecutive "
            "blocks of that test period, judged one by one, not refits.") in part(render_model_card(walked),
                                                                                  "## Limitations")


@pytest.mark.parametrize(("statuses", "expected"), [
    ({}, "PASS"), ({"stability": "WARN"}, "WARN"), ({"fairness": "WARN", "decisions": "FAIL"}, "FAIL"),
    ({"summary": "FAIL"}, "FAIL"),  # a failed gate is evidence
    ({"cost": "FAIL", "reproducibility": "WARN"}, "PASS"),  # the run, not the model's behaviour
])
def test_the_change_is_classified_by_the_worst_evidence(statuses: dict[str, str], expected: str) -> None:
    card = render_model_card(credit_report(**statuses))
    label = CHANGE_CLASSES[expected][0]
    assert f"### Classification: {label}\n" in card
    assert f"worst evidence status {expected};" in card
    # The counts say what they count: the page's badge counts every section (a validator saw
    # "6 PASS, 2 WARN, 2 FAIL" beside "7 pass, 3 warn, 2 fail of 12").
    assert re.search(r"; \d+ PASS, \d+ WARN, \d+ FAIL of \d+ evidence sections; cost and reproducibility are "
                     r"about the run and not counted\)", card)


def test_what_changed_and_the_evidence_table() -> None:
    card = render_model_card(credit_report(decisions="WARN"))
    larger = credit_report(decisions="WARN")
    larger["change"] = {**larger["change"], "size_ratio": 0.6158}
    assert "the student's weights are 1.6x larger than the teacher's" in render_model_card(larger)
    changed = part(card, "### What changed").strip().splitlines()
    assert changed == ["- Compression steps kept: distillation, magnitude_pruning.",
                       "- Size: the student's weights are 12.3x smaller than the teacher's (bytes of weights; ratio "
                       "teacher / student 12.35).",
                       "- teacher.path: /runs/teacher", f"- teacher.manifest_sha256: {'cd' * 32}"]
    rows = [ln for ln in part(card, "### Evidence").splitlines() if ln.startswith("|")][2:]
    assert [r.split(" | ")[0][2:] for r in rows] == ["Summary", "Discrimination", "Calibration", "Stability",
                                                    "Decisions", "Segments", "Fairness", "Privacy"]
    assert rows[4] == "| Decisions | WARN | decisions summary &lt;b&gt;. |"


def test_the_card_is_a_pure_function_of_report_json() -> None:
    report = credit_report(fairness="WARN")
    card = render_model_card(report)
    assert render_model_card(json.loads(json.dumps(report))) == card
    assert render_model_card({**report, "unrelated": {"x": object()}}) == card
    assert "http" not in card


def test_a_minimal_report_still_gives_a_card() -> None:
    card = render_model_card({"sections": [section("stability", "WARN")]})
    assert card.startswith("# Model card: finlite model\n")
    assert "The report records no description of the data." in card
    assert "The report holds no metrics section." in card and "The report holds no segments section." in card
    assert "- The report records no description of the change." in card
    assert f"### Classification: {CHANGE_CLASSES['WARN'][0]}" in card
    assert part(card, "## Intended use").strip() == DEFAULT_USES["other"]


def test_a_report_without_sections_is_refused() -> None:
    with pytest.raises(DataError, match=r"no 'sections' list"):
        render_model_card({"task": "binary"})


def test_omitted_sections_are_named_under_the_evidence() -> None:
    report = {**credit_report(), "omitted": [{"id": "fairness", "reason": "no protected column named"},
                                             {"id": "monotonicity", "reason": "no monotone column declared"}]}
    evidence = part(render_model_card(report), "### Evidence")
    assert evidence.strip().endswith("Not in the report: fairness (no protected column named); monotonicity "
                                     "(no monotone column declared).")
    assert "Not in the report" not in render_model_card(credit_report())


def test_a_link_or_image_in_the_data_stays_text() -> None:
    report = credit_report()
    seg = report["sections"][5]["tables"][0]
    seg["rows"][0][1] = "![x](http://host/p.png)"
    text = part(render_model_card(report), "## Segment results")
    assert "](" not in text and "![x]\\(http://host/p.png)" in text  # no viewer fetches it


def test_characters_a_terminal_acts_on_are_written_out_and_scripts_stay() -> None:
    """MODEL_CARD.md is the file people cat: an escape sequence or a right-to-left override in a
    segment value sat raw in it (the diff's review, 2026-12-04). A Persian word's zero-width
    non-joiner and an emoji's joiner are text and stay."""
    report = credit_report()
    seg = report["sections"][5]["tables"][0]
    seg["rows"][0][1] = "a\x1b]0;pwned\x07\u202eb"
    seg["rows"].append(["purpose", "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645 \U0001f469\u200d\U0001f4bb",
                        50, 0.0, 0.0, 0.0, ""])
    card = render_model_card(report)
    assert not any(ch in card for ch in "\x1b\x07\u202e")
    text = part(card, "## Segment results")
    assert "a\\\\x1b]0;pwned\\\\x07\\\\u202eb" in text  # a cell doubles the backslash: shown as one
    assert "\u0645\u06cc\u200c\u062e" in text and "\U0001f469\u200d\U0001f4bb" in text


def test_a_section_that_could_not_be_built_keeps_the_change_from_being_non_material() -> None:
    report = {**credit_report(), "status": "WARN",
              "omitted": [{"id": "robustness", "reason": "could not be built: no spread", "error": True}]}
    card = render_model_card(report)
    assert f"### Classification: {CHANGE_CLASSES['WARN'][0]}\n" in card
    assert "robustness (could not be built: no spread)" in card


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(["`", "~", "\n", "#", " ", "a", "!", "[", "]", "(", ")", "<", ">"]),
               max_size=60))
def test_a_fenced_block_holds_any_text_as_code(text: str) -> None:
    """A dropped column named 'zz\\n```\\n# INJECTED' closed report.md's fixed fence and put its own
    heading, image and HTML into the validation evidence (a security review, 2026-12-04 night).
    Checked with markdown-it (CommonMark): the whole text stays one code block."""
    from markdown_it import MarkdownIt

    tokens = MarkdownIt("commonmark").parse("\n".join(["# report", "", *fenced(text), "", "after"]))
    kinds = [t.type for t in tokens]
    assert kinds.count("fence") == 1 and kinds.count("heading_open") == 1, kinds
    assert tokens[kinds.index("fence")].content.rstrip("\n") == text.rstrip("\n")


def test_the_limitations_list_training_notes_on_leaks_and_extremes() -> None:
    """Training's notes on a column that may leak the label, and on extremes that set a column's
    scale, reach the card's limitations (a walk-through, 2026-12-05: the card listed
    LendingClub's recoveries among the inputs and said nothing; a utilisation with three values
    in the thousands left an MLP blind to it, said only on the command line)."""
    report = credit_report()
    assert "Possible label leak" not in render_model_card(report)  # an older report: none recorded
    report["card"] = {"possible_leaks": ["column 'recoveries' alone separates the training labels (AUC 1.0000)"],
                      "extreme_values": ["column 'util': 3 training value(s) lie more than 1,000 times the 1st-99th "
                                         "percentile range (0 to 1.5) outside it"],
                      "clocks": ["column 'Time' rises with the row order: it never falls down the file's 284,807 rows"]}
    limitations = part(render_model_card(report), "## Limitations")
    assert "- **Possible label leak**: column 'recoveries' alone separates the training labels" in limitations
    assert "- **Extreme values or codes among the numbers**: column 'util': 3 training value(s)" in limitations
    assert "- **A clock or counter among the inputs**: column 'Time' rises with the row order" in limitations


def test_features_that_locate_the_applicant_are_named_as_possible_proxies() -> None:
    """LendingClub's zip_code and addr_state, classic redlining proxies, went unmentioned when no
    protected column was named (a walk-through, 2026-12-05)."""
    from finlite._protected import likely_geography

    assert likely_geography(["zip_code", "addr_state", "State", "loan_amnt", "home_ownership", "Zip", "estate"]) == [
        "zip_code", "addr_state", "State", "Zip"]
    # Tenure, contact and status fields locate no one; a place in other words or in camelCase does
    # (reviews, 2026-12-05).
    assert likely_geography(["time_at_address", "email_address", "loan_state", "application_state",
                             "state_of_account", "years_at_address", "marital_state", "state_employee"]) == []
    places = ["residence_state", "billing_address", "addr1", "BorrState", "ProjectCounty", "CensusTract",
              "census_tract", "derived_msa_md", "zip3"]
    assert likely_geography(places) == places
    report = credit_report()
    report["card"] = {"inputs": {"numeric": ["loan_amnt"], "categorical": ["zip_code", "addr_state"],
                                 "protected_declared": [], "protected_by_name": [],
                                 "geography_by_name": ["zip_code", "addr_state"]}}
    inputs = part(render_model_card(report), "## Inputs")
    assert "- features named like a place (the applicant's, or another party's such as a lender's): zip_code, " \
           "addr_state (a geography can stand in for a protected " \
           "attribute, as in redlining" in inputs


def test_the_card_lists_the_recipes_steps_and_gates_with_their_values() -> None:
    report = credit_report()
    steps = Table("summary_steps", "Recipe steps (judged on the validation split)",
                  ["step", "method", "status", "gates on the validation split, or the reason"],
                  [[1, "distillation", "kept", "auc max_drop 0.01: 0.004 <= 0.01"],
                   [2, "dynamic_int8", "rejected", "agreement min 0.99: 0.981 < 0.99"]])
    gates = Table("summary_gates", "Gates checked again on the test split", ["gate", "passed"],
                  [["auc max_drop 0.01: 0.006 <= 0.01", "yes"], ["agreement min 0.99: 0.992 >= 0.99", "yes"]])
    follows = Table("summary_fidelity", "How closely the student follows the teacher", ["measure", "value"],
                    [["PSI of the student's scores against the teacher's (test rows)", 0.1491]])
    report["sections"][0] = section("summary", tables=[Table("summary_metrics", "m", ["metric"], [["auc"]]), follows,
                                                       steps, gates])
    card = render_model_card(report)
    assert part(card, "### How closely the student follows the teacher").strip().splitlines() == [
        "| measure | value |", "|---|---|", "| PSI of the student's scores against the teacher's (test rows) | 0.1491 |"]
    text = part(card, "### Recipe steps and gates")
    assert "*Recipe steps (judged on the validation split)*" in text
    assert "| 2 | dynamic_int8 | rejected | agreement min 0.99: 0.981 &lt; 0.99 |" in text
    assert "*Gates checked again on the test split*" in text
    assert "| agreement min 0.99: 0.992 &gt;= 0.99 | yes |" in text
    assert "no gates" not in text and "| auc |" not in text  # the metrics table stays under Metrics

    report["sections"][0] = section("summary", tables=[steps])
    text = part(render_model_card(report), "### Recipe steps and gates")
    assert "The recipe had no gates: no threshold stopped a student worse than its teacher" in text
    report["sections"] = report["sections"][1:]
    text = part(render_model_card(report), "### Recipe steps and gates")
    assert text.strip() == ("The report holds no summary section: the recipe's steps and gates are not recorded "
                            "here.")


def test_the_runs_warnings_are_limitations_each_said_once() -> None:
    """The summary is WARN for a run's warning, but its finding names none: the card said "Summary
    (WARN)" without a reason (2026-12-06)."""
    report = credit_report(summary="WARN")
    report["warnings"] = ["WARNING: the student's test AUC 0.5000 is 0.3161 below its teacher's <b>",
                          "warning: the teacher's early stopping kept its first epoch of 7", 3]
    text = part(render_model_card(report), "## Limitations")
    assert "- **Warning from the run**: the student's test AUC 0.5000 is 0.3161 below its teacher's &lt;b&gt;" in text
    assert "- **Warning from the run**: the teacher's early stopping kept its first epoch of 7" in text
    assert "- **Warning from the run**: 3" in text
    # A forecaster's short test period is said under its own name, not twice.
    short = {**report, "task": "forecast", "forecast": {"warnings": ["the test period holds 29"]},
             "warnings": ["warning: the test period holds 29"]}
    text = part(render_model_card(short), "## Limitations")
    assert "- **Short test period**: the test period holds 29" in text and "Warning from the run" not in text
    report["warnings"] = "not a list"
    assert "Warning from the run" not in render_model_card(report)


def test_a_volatility_forecasters_card_speaks_of_risk_not_buy_and_hold() -> None:
    """A volatility card spoke of buy-and-hold and filed its forecasts' scale under "Short test
    period" (a market-risk walk-through and a review, 2026-12-07)."""
    from finlite.evaluate.model_card import VOLATILITY_USE

    warning = ("the teacher's volatility forecasts understate the test period's realised variance (realised / "
               "forecast 1.59): a VaR or expected shortfall scaled by them is breached more often than its level.")
    thin = "the test period holds 29 labelled window(s); with fewer than 60 its errors move with each one."
    report = {**credit_report(), "task": "forecast", "data": {"source": "spy.csv"},
              "forecast": {"objective": "volatility", "warnings": [warning, thin]}}
    card = render_model_card(report)
    assert part(card, "## Intended use").strip() == VOLATILITY_USE and "buy-and-hold" not in VOLATILITY_USE
    limits = part(card, "## Limitations")
    assert f"- **Volatility forecasts**: {warning}" in limits and f"- **Short test period**: {thin}" in limits
    returns = {**report, "forecast": {"objective": "return"}}
    assert part(render_model_card(returns), "## Intended use").strip() == DEFAULT_USES["markets"]
