"""``MODEL_CARD.md``: the model card of a compressed artifact, written from its ``report.json``.

The card says in a page what a model-risk reviewer asks first: what the model is for, on which
data it was trained and evaluated, how well it does (with intervals), how it does per segment,
what it cannot be relied on for, and, because a compressed model replaces another one, what
changed relative to the teacher and the evidence that the change is (or is not) material.

Everything comes from the report dict (the same one ``report.html`` renders), so the card is a
pure function of ``report.json``: no clock, no machine, no file read. Text from the data (column
names, segment values) is escaped so it cannot break a table or inject HTML into a Markdown viewer.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from finlite._spec import finite_number
from finlite._util import document_safe
from finlite.evaluate.html import format_cell, omitted_sections, report_sections
from finlite.evaluate.sections import DOMAINS, STATUSES, Section, Table, table_domain, worst

__all__ = ["CHANGE_CLASSES", "DEFAULT_USES", "fenced", "markdown_cell", "render_model_card"]

#: The intended use written when the report does not state one (``report["card"]["intended_use"]``).
DEFAULT_USES: dict[str, str] = {
    "credit": ("Credit decisioning: score applications for the probability of the adverse outcome ('bad') and "
               "decline (or refer) those at or above the cut-off, replacing the teacher model this student was "
               "compressed from, for applicants from the population the data describes."),
    "fraud": ("Fraud flagging: score payments or transactions for the probability of fraud and flag those at or "
              "above the cut-off for review or refusal, replacing the teacher model this student was compressed "
              "from, for traffic like the data's."),
    "markets": ("Market forecasting: forecast the quantity the teacher forecasts, over the same horizon, from a price "
                "history like the training file's, replacing the teacher model this student was compressed from. Not "
                "investment advice: compare with the naive forecast and buy-and-hold first."),
    "regression": ("Estimate the target for rows like the training table's, replacing the teacher model this student "
                   "was compressed from."),
    "other": "Replace the teacher model this student was compressed from, for the task and data it was trained on.",
}
#: Out-of-scope uses and human oversight by domain (EU AI Act Art. 13-14; SR 11-7's limits of use),
#: written when the report does not state them (``report["card"]["oversight"]``).
DEFAULT_OVERSIGHT: dict[str, list[str]] = {
    "credit": [
        "Out of scope: applicants, products, channels or periods unlike the training data above; uses the teacher "
        "was not approved for (pricing, limits, collections); a decision no person can review where the law "
        "requires one (GDPR Art. 22, EU AI Act Art. 14).",
        "Human oversight: a decline or referral (score at or above the cut-off) should be reviewable by a credit "
        "officer who sees the score, the adverse-action reasons (finlite serve --reasons) and this card; the "
        "service's audit log records every decision with its input's digest and the reasons given.",
        "Monitoring: finlite score reports the scores' PSI and the fields' CSI against the training rows on every "
        "run; a WARN there is a reason to re-validate before the next decision cycle.",
    ],
    "fraud": [
        "Out of scope: traffic, merchants or periods unlike the training data above; closing an account or "
        "refusing a payment with no review path.",
        "Human oversight: flagged transactions go to review by an analyst who sees the score and this card; the "
        "service's audit log records every decision with its input's digest.",
        "Monitoring: finlite score reports the scores' PSI and the fields' CSI against the training rows on every "
        "run; fraud patterns move, so re-validate on recent labelled traffic regularly.",
    ],
    "markets": [
        "Out of scope: other assets, horizons or data frequencies than the training file's; trading without the "
        "firm's risk limits; any use as investment advice.",
        "Human oversight: forecasts inform a person's or a risk-limited system's decision; compare with the naive "
        "forecast and buy-and-hold (the report does) before relying on them.",
    ],
    "regression": ["Out of scope: rows unlike the training table's.",
                   "Human oversight: estimates inform a person's decision; review them against the evidence here."],
    "other": ["Out of scope: tasks and data other than the ones it was trained on."],
}
#: The change classification by the report's worst status: finlite's proposal; the validator decides.
CHANGE_CLASSES: dict[str, tuple[str, str]] = {
    "PASS": ("Non-material change",
             "every section of the evidence is within its thresholds: the student makes the teacher's decisions, "
             "ranks as well and behaves the same on the checks below."),
    "WARN": ("Change with findings to review",
             "no section fails, but at least one is beyond a warning threshold; review the sections marked WARN "
             "before approving the replacement."),
    "FAIL": ("Material change",
             "at least one section fails its threshold; the student should not replace the teacher without a "
             "full re-validation (or a better compression)."),
}
#: Sections holding a model's headline metrics with intervals, by task family (the first present is used).
_METRIC_SECTIONS = ("discrimination", "accuracy", "forecast_accuracy")
#: Sections about the run rather than the behaviour of the student (the summary counts: it holds the gates).
_NOT_EVIDENCE = {"cost", "reproducibility"}
_POPULATION = ("The evidence holds for the population and period of the data it was computed on; a change in that "
               "population (new products, channels, regions or economic conditions) calls for new evidence.")
_FIXED_LIMITATIONS = (
    "Compression (distillation, pruning, quantization) is not a privacy protection: the student can reveal "
    "whether a record was in its training data much as the teacher can (see the privacy section, when present).",
    _POPULATION,
    "Intervals describe the sampling noise of the test rows, not drift over time or a change in how the data is "
    "collected.",
)
#: The fixed limitation on the population, for a forecaster: markets have no products or channels.
_MARKET_POPULATION = ("The evidence holds for the asset(s), horizon and period of the price history it was computed "
                      "on; a change of regime (volatility, rates, liquidity, market structure) calls for new evidence.")
_LOW = re.compile(r"(lower|low)$", re.I)
_HIGH = re.compile(r"(upper|high)$", re.I)


#: "](" is what makes ``[text](url)`` a link and ``![alt](url)`` an image: breaking it leaves both plain text.
_MARKDOWN_LINK = re.compile(r"\]\(")
#: Markdown's emphasis, strike-through and code marks: ``*``, ``~`` and a backtick anywhere, ``_``
#: where it touches no letter or digit on one side (emphasis cannot start or end inside a word).
_EMPHASIS = re.compile(r"[*~`]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")


def _text(value: Any, *, cell: bool = False) -> str:
    """Data as Markdown text: formatted like the HTML report, on one line, with no raw HTML, no
    live link or image (a category named ``![x](http://host/p.png)`` must not make a viewer fetch)
    and no emphasis; a backslash of the data is doubled first. In a table ``cell`` ``|`` is
    escaped too."""
    text = document_safe(format_cell(value))  # as report.html: no escape sequence, no reversed value
    # A backslash of the data is doubled, in a cell or not: "radio \\*promo\\*" otherwise undid the
    # escaping of its marks below (a review, 2026-12-07).
    text = text.replace("\\", "\\\\")
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = " ".join(_MARKDOWN_LINK.sub(r"]\\(", text).split())
    # Emphasis, strike-through and code marks of the data are escaped: a category "__other__" was
    # rendered "**other**" in bold and "radio|tv *promo*" in italics, renaming a segment (a
    # validator's walk-through, 2026-12-07). An underscore inside a word (status_of_account) is
    # no emphasis in Markdown and is left as it is.
    text = _EMPHASIS.sub(r"\\\g<0>", text)
    return text.replace("|", "\\|") if cell else text


def fenced(text: str) -> list[str]:
    """``text`` as the lines of a Markdown code block whose fence is longer than any run of
    backticks in it: a column name holding a newline and three backticks closed a fixed fence and
    put its own headings, links and images into report.md (a security review, 2026-12-04 night)."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return [fence, text, fence]


def markdown_cell(value: Any) -> str:
    """``value`` as one Markdown table cell: no raw HTML, no live link or image, ``|`` and
    backslashes escaped, on one line (data in a report must not reshape its table)."""
    return _text(value, cell=True)


_cell = markdown_cell


def _domain(report: Mapping[str, Any]) -> str:
    """Which default intended use fits: by task, and for a binary classifier by what the data is about."""
    task = str(report.get("task") or "")
    if task in ("forecast", "direction"):
        return "markets"
    if task == "regression":
        return "regression"
    if task != "binary":
        return "other"
    if report.get("domain") in DOMAINS:  # as the report was built (--domain, or the file's name)
        return str(report["domain"])
    # An older report records none: its title and data file's name, read as the report reads them.
    data = report.get("data") if isinstance(report.get("data"), Mapping) else {}
    return table_domain(" ".join(str(x) for x in (report.get("title"), (data or {}).get("source"))))


def _intended_use(report: Mapping[str, Any]) -> str:
    card = report.get("card")
    stated = card.get("intended_use") if isinstance(card, Mapping) else None
    if stated:
        return _text(stated)
    evidence = report.get("forecast")
    if isinstance(evidence, Mapping) and evidence.get("objective") == "volatility":
        # A volatility is traded by no buy-and-hold: it feeds a risk measure (a market-risk
        # walk-through, 2026-12-07).
        return VOLATILITY_USE
    return DEFAULT_USES[_domain(report)]


#: The intended use of a volatility forecaster's card.
VOLATILITY_USE = ("Volatility forecasting: forecast the realised volatility the teacher forecasts, over the same "
                  "horizon and in its units (the square root of the summed squared daily log returns), from a price "
                  "history like the training file's, replacing the teacher model this student was compressed from. "
                  "Before scaling a VaR or expected shortfall by it, compare it with the naive forecast and RiskMetrics' "
                  "EWMA and check its variance ratio, QLIKE and the VaR backtest (exceptions, traffic-light zone, "
                  "Kupiec's and Christoffersen's tests) in the report.")


def _decisions(fraud: bool) -> str:
    """What a protected input can sway: a credit model's decisions and adverse-action reasons, a
    fraud model's flags and their reasons (a fraud card spoke of adverse action: a review)."""
    return "flags and the reasons given for them" if fraud else "decisions and adverse-action reasons"


def _input_lines(report: Mapping[str, Any]) -> list[str]:
    """The features the model reads, with the protected ones said: declared (``--protected``) and
    named like a protected attribute."""
    card = report.get("card") if isinstance(report.get("card"), Mapping) else {}
    inputs = (card or {}).get("inputs")
    if not isinstance(inputs, Mapping):
        return ["The report records no list of the model's inputs.", ""]

    def names(key: str) -> list[str]:
        value = inputs.get(key)
        return [str(v) for v in value] if isinstance(value, list) else []

    numeric, categorical = names("numeric"), names("categorical")
    lines = [f"The model reads {len(numeric) + len(categorical)} feature(s).", "",
             f"- numeric: {', '.join(_text(n) for n in numeric) or 'none'}",
             f"- categorical: {', '.join(_text(n) for n in categorical) or 'none'}"]
    declared, by_name = names("protected_declared"), names("protected_by_name")
    fraud = _domain(report) == "fraud"
    if declared:
        lines.append(f"- **protected attributes it reads (declared)**: {', '.join(_text(n) for n in declared)}: its "
                     f"{_decisions(fraud)} can depend on them directly (see Fairness).")
    if by_name:
        lines.append(f"- features named like a protected attribute: {', '.join(_text(n) for n in by_name)} (not "
                     "declared protected, so not tested for fairness; name them with --protected).")
    places = names("geography_by_name")
    if places:
        lines.append("- features named like a place ("
                     + ("the customer's, or another party's such as a merchant's" if fraud else
                        "the applicant's, or another party's such as a lender's") + "): "
                     f"{', '.join(_text(n) for n in places)} (a geography can "
                     "stand in for a protected attribute, as in redlining; with a protected column named, the "
                     "fairness section's proxy analysis measures how well the inputs predict it).")
    return [*lines, ""]


#: A Hosmer-Lemeshow p-value below this says the student's probabilities are off in absolute
#: terms, when its worst band is off by this share of its observed rate (and a point) too.
_CALIBRATION_P, _CALIBRATION_GAP = 0.01, 0.2


def _absolute_calibration(by_id: Mapping[str, Section]) -> list[str]:
    """A limitation when the student's probabilities differ from the observed rates (Hosmer-
    Lemeshow p below 0.01): the calibration section judges the student against its teacher, and
    PASSed a student whose lowest band predicted 2.5 % against 5.7 % observed because the teacher
    was as far off; a bank that uses the scores as PDs (provisioning, pricing) must know (a
    walk-through, 2026-12-05)."""
    section = by_id.get("calibration")
    student = section.metrics.get("student") if section is not None else None
    if not isinstance(student, Mapping) or _central_tendency(section) is not None:
        return []  # calibrated to a long-run rate: off the split's bands by design (_mean_miscalibration says so)
    test = student.get("hosmer_lemeshow")
    p = test.get("p_value") if isinstance(test, Mapping) else None
    if not isinstance(p, (int, float)) or not p < _CALIBRATION_P:
        return []
    bands = [b for b in student.get("bands") or [] if isinstance(b, Mapping)
             and isinstance(b.get("mean_predicted"), (int, float)) and isinstance(b.get("observed_rate"), (int, float))]
    worst = max(bands, key=lambda b: abs(b["mean_predicted"] - b["observed_rate"]), default=None)
    # Material, not only significant: on a large test split the test rejects a trivial gap (the
    # final read, 2026-12-05). A band off by a fifth of its observed rate and a point or more.
    if worst is None or not (abs(worst["mean_predicted"] - worst["observed_rate"])
                             >= max(_CALIBRATION_GAP * worst["observed_rate"], 0.01)):
        return []
    example = (f"; band {_text(worst.get('band'))} predicts {worst['mean_predicted']:.1%} against "
               f"{worst['observed_rate']:.1%} observed")
    failing = student.get("bands_failing")
    counted = f", {failing} band(s) off at p < 0.01" if isinstance(failing, int) else ""
    return [f"- **The student's probabilities are miscalibrated in absolute terms** (Hosmer–Lemeshow p {p:.2g}"
            f"{counted}{example}). The calibration section judges the student against its teacher, which may be as "
            "far off: recalibrate (on a hold-out) before using the scores as probabilities (of default, of fraud)."]


def _central_tendency(section: Section | None) -> float | None:
    """The long-run rate the calibration section read the PDs as calibrated to (on a test split:
    ``in_the_large.central_tendency``), or None."""
    record = section.metrics.get("in_the_large") if section is not None else None
    central = record.get("central_tendency") if isinstance(record, Mapping) else None
    return float(central) if isinstance(central, (int, float)) and not isinstance(central, bool) else None


def _mean_miscalibration(by_id: Mapping[str, Section]) -> list[str]:
    """A limitation when the student's mean prediction misses the observed rate beyond sampling
    noise (the calibration section's ``in_the_large``, judged by
    :func:`finlite.evaluate.validation.calibration_status`): a low-default portfolio's student at
    4.4 times its 1.4 % default rate had a card silent on it, as Hosmer-Lemeshow has no power at a
    handful of defaults (a walk-through, 2026-12-07)."""
    from finlite.evaluate.validation import calibration_status

    section = by_id.get("calibration")
    record = section.metrics.get("in_the_large") if section is not None else None
    central = _central_tendency(section)
    if central is not None and isinstance(record, Mapping) and isinstance(record.get("student"), Mapping):
        mine = record["student"]
        return [f"- **The PDs are calibrated to a central tendency of {central:.2%}** (train --central-tendency), "
                f"not to the test split's rate ({mine['observed_rate']:.2%}; the student's mean prediction there "
                f"{mine['mean_predicted']:.2%}): their level is the long-run rate's by design, so the test split "
                "cannot judge it. Back-test the PDs against each later period's defaults (report --holdout, "
                "evaluate)."]
    mine = record.get("student") if isinstance(record, Mapping) else None
    needed = ("p_value", "mean_predicted", "observed_rate", "positives", "rows")
    # The factor is None where the mean prediction is 0 (a student that predicts 0 everywhere):
    # the section FAILs, and the card was silent (a boundary audit, 2026-12-07).
    if (not isinstance(mine, Mapping) or not all(isinstance(mine.get(k), (int, float)) for k in needed)
            or not (mine.get("factor") is None or isinstance(mine.get("factor"), (int, float)))):
        return []
    periods = section.metrics.get("by_period") if section is not None else None
    theirs = periods.get("student") if isinstance(periods, Mapping) else None
    if isinstance(periods, Mapping) and isinstance(theirs, Mapping) and theirs.get("status_from") == "pooled":
        # One or two periods: their back-test's verdict (at most WARN for PDs set to a long-run rate).
        if theirs.get("status") == "PASS":
            return []
        return [f"- **The student's PDs are below the default rate of the hold-out's {len(theirs['periods'])} "
                f"period(s) of {periods.get('column')!r}** ({mine['mean_predicted']:.2%} against "
                f"{mine['observed_rate']:.2%}; {theirs['status']})"
                + (": the PDs were calibrated to a long-run rate, which one or two periods may sit off; back-test "
                   "over three periods or more before recalibrating." if theirs.get("capped") else
                   ": recalibrate them before relying on them.")]
    if isinstance(periods, Mapping) and isinstance(theirs, Mapping) and theirs.get("status_from") == "long_run":
        # Over the periods the long run judges the level; the pooled test is said, not acted on.
        run = theirs["long_run"]
        if theirs.get("status") != "PASS":
            return [f"- **The student's PDs are too low over the periods of {periods.get('column')!r}**: the long-run "
                    f"default rate {run['default_rate']:.2%} (the mean of {run['periods']} periods' rates) against a "
                    f"mean PD of {run['mean_pd']:.2%}, beyond the periods' spread (t-test p {run['p_under']:.2g}, "
                    "one-sided): recalibrate them to the long-run rate (train --central-tendency) before relying "
                    "on them."]
        if calibration_status(mine) == "PASS":
            return []
        return [f"- Over all the hold-out's rows the student's mean prediction ({mine['mean_predicted']:.2%}) is off "
                f"the observed rate ({mine['observed_rate']:.2%}) beyond sampling noise, but over the "
                f"{run['periods']} periods of {periods.get('column')!r} the long-run default rate "
                f"({run['default_rate']:.2%}) is within the periods' spread of the mean PD ({run['mean_pd']:.2%}; "
                f"t-test p {run['p_under']:.2g}): the pooled test takes the periods' defaults as independent. Watch "
                "the periods that miss (the calibration section's pd_by_period)."]
    if calibration_status(mine) == "PASS":
        return []
    way = "above" if mine["mean_predicted"] > mine["observed_rate"] else "below"
    if isinstance(record, Mapping) and record.get("conservative"):  # a credit hold-out's PDs above its defaults
        return [f"- **The student's PDs are above the observed default rate** ({mine['mean_predicted']:.2%} against "
                f"{mine['observed_rate']:.2%}, {int(mine['positives']):,} of {int(mine['rows']):,} rows: a factor of "
                f"{mine['factor']:.2f}, Jeffreys test p {mine['p_value']:.2g}): conservative, as a PD back-test reads "
                "it, so no failure; the capital and provisions they drive are overstated: review the calibration."]
    factor = "no factor (it predicts 0)" if mine["factor"] is None else f"a factor of {mine['factor']:.2f} {way} it"
    return [f"- **The student's mean prediction is off the observed rate** ({mine['mean_predicted']:.2%} against "
            f"{mine['observed_rate']:.2%}, {int(mine['positives']):,} of {int(mine['rows']):,} rows: {factor}, "
            f"Jeffreys test p {mine['p_value']:.2g}). Every probability it gives is "
            "off on average: recalibrate it (on a hold-out) before using the scores as probabilities (of default, "
            "of fraud)."]


def _underestimated_grades(by_id: Mapping[str, Section]) -> list[str]:
    """A limitation naming the master-scale grades whose student PD the Jeffreys test finds too
    low (the calibration section's ``pd_grades``, at its status level, Holm-corrected): the grades
    a validator reads first, as the applicants there default more often than priced; it says
    whose scale they are (finlite's generic one unless the report was given the bank's)."""
    section = by_id.get("calibration")
    graded = section.metrics.get("pd_grades") if section is not None else None
    student = graded.get("student") if isinstance(graded, Mapping) else None
    low = student.get("underestimated_status_level") if isinstance(student, Mapping) else None
    grades = student.get("grades") if isinstance(student, Mapping) else None
    if not isinstance(low, list) or not low or not isinstance(grades, list):
        return []
    if isinstance(graded, Mapping) and graded.get("central_tendency") is not None:
        return []  # their level is a long-run rate's on a test split of another: _mean_miscalibration says so
    shown = []
    for g in grades:
        if isinstance(g, Mapping) and g.get("grade") in low and all(
                isinstance(g.get(k), (int, float)) for k in ("pd_low", "pd_high", "mean_pd", "observed_rate",
                                                             "defaults", "rows", "p_value")):
            shown.append(f"grade {int(g['grade'])} ({g['pd_low']:.2%}–{g['pd_high']:.2%}: mean PD {g['mean_pd']:.2%} "
                         f"against {g['observed_rate']:.2%} observed, {int(g['defaults']):,} of {int(g['rows']):,}; "
                         f"Jeffreys p {g['p_value']:.2g})")
    if not shown:
        return []
    scale = "the bank's master scale" if isinstance(graded, Mapping) and graded.get("scale_source") == "given" else \
        "finlite's generic master scale (the report's --grades gives the bank's)"
    return [f"- **The student's PD is too low in {len(shown)} grade(s) of {scale}**: {'; '.join(shown[:5])}"
            + (f"; and {len(shown) - 5} more" if len(shown) > 5 else "")
            + ". Those applicants default more often than priced: recalibrate before using the PDs there."]


def _thin_grades(by_id: Mapping[str, Section]) -> list[str]:
    """A limitation naming the master-scale grades whose test could hardly find a student PD half
    the truth (the calibration section's ``pd_grades``, ``low_power``): a pass there is weak
    evidence, which the card left to the calibration paragraph (a validator's walk-through,
    2026-12-07)."""
    section = by_id.get("calibration")
    graded = section.metrics.get("pd_grades") if section is not None else None
    student = graded.get("student") if isinstance(graded, Mapping) else None
    thin = student.get("low_power") if isinstance(student, Mapping) else None
    if not isinstance(thin, list) or not thin:
        return []
    return [f"- **Grade(s) {', '.join(map(str, thin[:10]))}{' …' if len(thin) > 10 else ''} hold too few obligors "
            "for their PD**: their back-test at 5 % would find a PD half the true default rate less than half the "
            "time (power_2x), so their pass is weak evidence; read them pooled with a neighbouring grade or over "
            "several periods."]


def _price_alarms(report: Mapping[str, Any]) -> list[str]:
    """A limitation for each note of a forecaster's price file that says the prices may be wrong
    (the data's ``alarms``: a move at a split's ratio, a tenfold jump, a stale feed, a gap longer
    than any holiday, assets on other frequencies): a split found in training sat in the card's
    list of data notes only, and neither the limitations nor the verdict named it (a quant's
    walk-through, 2026-12-07)."""
    data = report.get("data")
    alarms = data.get("alarms") if isinstance(data, Mapping) else None
    if not isinstance(alarms, list) or not alarms:
        return []
    shown = [f"- **The price data may be wrong**: {_text(str(a))}" for a in alarms[:5]]
    if len(alarms) > 5:
        shown.append(f"- **The price data may be wrong**: and {len(alarms) - 5} more such note(s) (report.json's data).")
    return shown


def _unassessed_protected(report: Mapping[str, Any], by_id: Mapping[str, Section]) -> list[str]:
    """A limitation for the features named like a protected attribute that the model reads while
    no fairness section tests any (none declared with --protected): the card said PASS for a
    model reading SEX and AGE, with fairness left out of the count (a walk-through, 2026-12-05)."""
    card = report.get("card") if isinstance(report.get("card"), Mapping) else {}
    inputs = (card or {}).get("inputs")
    if "fairness" in by_id or not isinstance(inputs, Mapping):
        return []
    declared, named = ([str(v) for v in inputs.get(key) or [] if isinstance(v, str)]
                       for key in ("protected_declared", "protected_by_name"))
    read = list(dict.fromkeys([*declared, *named]))
    if not read:
        return []
    shown, many = ", ".join(_text(n) for n in read), len(read) > 1
    them = "them" if many else "it"
    omitted = next((o for o in report.get("omitted") or [] if isinstance(o, Mapping) and o.get("id") == "fairness"),
                   {})
    why = (f"the fairness section could not be built ({_text(omitted.get('reason'))})" if declared or omitted.get("error")
           else "no fairness section tests " + them + " (none was declared with --protected)")
    return [f"- **Protected attributes not assessed**: the model reads {shown}, "
            f"{'declared protected or ' if declared else ''}named like {'protected attributes' if many else 'one'}, "
            f"and {why}: its {_decisions(_domain(report) == 'fraud')} may depend on {them} directly. "
            + (f"Build the report again so the fairness section tests {them}."
               if declared else f"Declare {them} with --protected so the fairness section tests {them} (dropping a "
               "column does not keep what stands in for it out of the decisions).")]


def _fairness_lines(report: Mapping[str, Any], by_id: Mapping[str, Section]) -> list[str]:
    """The fairness section's verdict, each protected column's rules (teacher, student, the
    widening's interval) and the notes that say what was not assessed; or why there is none."""
    section = by_id.get("fairness")
    if section is None:
        reason = next((_text(o.get("reason")) for o in report.get("omitted") or []
                       if isinstance(o, Mapping) and o.get("id") == "fairness"), "not in the report")
        return [f"Fairness was not assessed: {reason}.", ""]
    lines = [f"**{_text(section.title)}: {_text(section.status)}.** {_text(section.summary)}", ""]
    for table in section.tables:
        if table.id.startswith(("fairness_rules_", "fairness_auc_", "fairness_proxy_")):
            # Not merged: the interval is of the widening (teacher − student for the ratio), not of
            # the change beside it, so one cell "change [interval]" would pair the wrong numbers.
            rows = [[_cell(v) for v in row] for row in table.rows]
            lines += [f"*{_text(table.caption)}*", "", *_table([_cell(c) for c in table.columns], rows), ""]
    lines += [f"- {_text(note)}" for note in section.notes] + [""]
    return lines


def _oversight_lines(report: Mapping[str, Any]) -> list[str]:
    card = report.get("card") if isinstance(report.get("card"), Mapping) else {}
    stated = (card or {}).get("oversight")
    items = [str(x) for x in stated] if isinstance(stated, list) and stated else DEFAULT_OVERSIGHT[_domain(report)]
    return [f"- {_text(item)}" for item in items] + [""]


def _flatten(value: Any, key: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(value, Mapping):
        for k, v in value.items():
            yield from _flatten(v, f"{key}.{k}" if key else str(k))
    else:
        yield key, value


def _merged(table: Table) -> tuple[list[str], list[list[str]]]:
    """Columns and formatted rows of ``table``, each (estimate, low, high) column triple merged into
    one cell "estimate [low, high]"."""
    cols = [str(c) for c in table.columns]
    groups: list[tuple[int, ...]] = []
    j = 0
    while j < len(cols):
        if j + 2 < len(cols) and _LOW.search(cols[j + 1]) and _HIGH.search(cols[j + 2]):
            groups.append((j, j + 1, j + 2))
            j += 3
        else:
            groups.append((j,))
            j += 1
    header = [_cell(cols[g[0]]) + (" [95 % interval]" if len(g) == 3 else "") for g in groups]
    rows = []
    for row in table.rows:
        cells = []
        for g in groups:
            vals = [row[i] if i < len(row) else None for i in g]
            if len(g) == 3 and vals[0] is not None and vals[1] is not None and vals[2] is not None:
                cells.append(f"{_cell(vals[0])} [{_cell(vals[1])}, {_cell(vals[2])}]")
            else:
                cells.append(_cell(vals[0]))
        rows.append(cells)
    return header, rows


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(list(r) + [""] * (len(header) - len(r))) + " |" for r in rows]
    return lines


def _section_table(section: Section) -> list[str]:
    """The section's status and summary, then its first table (intervals merged)."""
    lines = [f"**{_text(section.title)}: {_text(section.status)}.** {_text(section.summary)}", ""]
    if section.tables:
        table = section.tables[0]
        lines += [f"*{_text(table.caption)}*", ""]
        lines += _table(*_merged(table))
        lines.append("")
    return lines


def _identity_lines(report: Mapping[str, Any], by_id: Mapping[str, Section]) -> list[str]:
    """Which model the card describes, should it travel without its artifact (an inventory, a
    committee pack): the sha256 of its model files, the finlite and seed that made it, and the
    operating point with how it was set. The card named only its teacher's hashes, and its cut-off
    only inside the findings (a validator's walk-through, 2026-12-06)."""
    lines = []
    section = by_id.get("reproducibility")
    metrics = section.metrics if section is not None and isinstance(section.metrics, Mapping) else {}
    files = metrics.get("files")
    if isinstance(files, Mapping) and files:
        lines.append("- model files (sha256): " + "; ".join(f"{_text(k)} {_text(v)}" for k, v in sorted(files.items())))
    versions = metrics.get("versions")
    made = []
    if isinstance(versions, Mapping) and versions.get("finlite") is not None:
        made.append(f"finlite {_text(versions['finlite'])}")
    if isinstance(metrics.get("seed"), int):
        made.append(f"seed {metrics['seed']}")
    if made:
        lines.append("- made by: " + ", ".join(made))
    point = report.get("operating_point")
    if isinstance(point, Mapping) and point.get("description"):
        lines.append(f"- operating point: {_text(point['description'])}")
    return lines


def _data_lines(report: Mapping[str, Any]) -> list[str]:
    data = report.get("data")
    if not isinstance(data, Mapping) or not data:
        return ["The report records no description of the data.", ""]
    return [f"- {_text(key)}: {_cell(value)}" for key, value in _flatten(data)] + [""]


def _change_lines(report: Mapping[str, Any], sections: list[Section]) -> list[str]:
    change = report.get("change") if isinstance(report.get("change"), Mapping) else {}
    change = change or {}
    evidence = [s for s in sections if s.id not in _NOT_EVIDENCE]
    # A section that could not be built is missing evidence: at least WARN, as the report says.
    failed = [o for o in report.get("omitted") or [] if isinstance(o, Mapping) and o.get("error")]
    status = worst([*(s.status for s in evidence), *("WARN" for _ in failed)])
    label, why = CHANGE_CLASSES[status]
    lines = ["### What changed", ""]
    steps = change.get("steps_kept")
    if isinstance(steps, list):
        lines.append(f"- Compression steps kept: {', '.join(_text(s) for s in steps) if steps else 'none'}.")
    ratio = change.get("size_ratio")
    if isinstance(ratio, (int, float)) and not isinstance(ratio, bool):
        # A ratio below 1 is a larger student ("0.6158 times smaller" beside "1.6x larger" in the
        # same card: a quant's walk-through, 2026-12-06).
        from finlite.evaluate.summary_report import size_words

        lines.append(f"- Size: the student's weights are {size_words(float(ratio))} than the teacher's (bytes of "
                     f"weights; ratio teacher / student {_text(float(ratio))}).")
    others = [(k, v) for k, v in change.items() if k not in ("steps_kept", "size_ratio")]
    lines += [f"- {_text(k)}: {_cell(v)}" for key, value in others for k, v in _flatten(value, key)]
    if len(lines) == 2:
        lines.append("- The report records no description of the change.")
    follows = next((t for s in sections if s.id == "summary" for t in s.tables if t.id == "summary_fidelity"), None)
    if follows is not None and follows.rows:  # the student against its teacher, each measure named for what it compares
        lines += ["", f"### {_text(follows.caption)}", "", *_table(*_merged(follows))]
    lines += ["", "### Recipe steps and gates", "", *_gate_lines(sections)]
    lines += ["", "### Evidence", ""]
    if evidence:
        lines += _table(["Section", "Status", "Finding"], [[_cell(s.title), s.status, _cell(s.summary)]
                                                           for s in evidence])
    else:
        lines.append("The report holds no evidence section.")
    omitted = omitted_sections(report)
    if omitted:
        lines += ["", "Not in the report: " + "; ".join(f"{_text(i)} ({_text(r)})" for i, r in omitted) + "."]
    # Of the evidence sections only: the page's badge counts every section, cost and reproducibility too.
    counts = (", ".join(f"{sum(s.status == st for s in evidence)} {st}" for st in STATUSES)
              + f" of {len(evidence)} evidence sections; {' and '.join(sorted(_NOT_EVIDENCE))} are about the run "
              "and not counted")
    lines += ["", f"### Classification: {label}", "",
              f"{label} (worst evidence status {status}; {counts}): {why} This is finlite's reading of the "
              "evidence; the model owner and the validator decide.", ""]
    return lines


def _gate_lines(sections: Sequence[Section]) -> list[str]:
    """The recipe's steps with the gate values each was judged by on the validation split, and the
    kept model's gates checked again on the test split (the summary section's tables). A validator
    asks which gates the student passed and by what margin, not only how many (the card gave the
    count alone; a walk-through, 2026-12-06). A run with no gates says so: nothing stopped a
    student worse than its teacher but the evidence."""
    summary = next((s for s in sections if s.id == "summary"), None)
    if summary is None:
        return ["The report holds no summary section: the recipe's steps and gates are not recorded here."]
    tables = {t.id: t for t in summary.tables}
    lines: list[str] = []
    for key in ("summary_steps", "summary_gates"):
        table = tables.get(key)
        if table is not None:
            lines += [f"*{_text(table.caption)}*", "", *_table(*_merged(table)), ""]
    if "summary_gates" not in tables:
        lines.append("The recipe had no gates: no threshold stopped a student worse than its teacher, and the "
                     "evidence below is the only check of the change.")
    while lines and not lines[-1]:
        lines.pop()
    return lines


def _run_warnings(report: Mapping[str, Any], shown: Sequence[str]) -> list[str]:
    """The warnings the run raised (``report["warnings"]``: a student far from its teacher, a
    network kept at its first epoch, a hold-out of mostly training rows ...), each a limitation.
    The summary section is WARN for them, but its finding names none, so the card said "Summary
    (WARN)" without a reason (2026-12-06). Those in ``shown`` (the short test period, listed under
    its own name) are left out."""
    warned = report.get("warnings")
    out = []
    for warning in warned if isinstance(warned, list) else []:
        text = str(warning)
        body = text[len("warning: "):] if text.lower().startswith("warning: ") else text
        if body not in shown and text not in shown:
            out.append(f"- **Warning from the run**: {_text(body)}")
    return out


def _card_list(report: Mapping[str, Any], key: str) -> list[str]:
    """Training's notes the card lists (``report["card"][key]``): on input columns that may leak
    the label (``possible_leaks``), and on far values and codes among a column's numbers
    (``extreme_values``: whether they set its scale, or the column was squashed), and on clocks
    and counters among the inputs (``clocks``), and on what the split did to the evidence (``split``)."""
    card = report.get("card") if isinstance(report.get("card"), Mapping) else {}
    notes = (card or {}).get(key)
    return [str(n) for n in notes] if isinstance(notes, list) else []


def _selection_limitations(report: Mapping[str, Any]) -> list[str]:
    """A search's choice said: the best of many candidates on the validation split looks better
    there than it is; the test split judged the chosen one alone."""
    change = report.get("change")
    chosen = change.get("selection") if isinstance(change, Mapping) else None
    if not isinstance(chosen, Mapping) or not isinstance(chosen.get("candidates"), int):
        return []
    return [f"The student was chosen by finlite search among {chosen['candidates']:,} candidates, "
            f"{_text(chosen.get('passed_validation_gates'))} of which passed the gates on the validation split "
            f"(objective {_text(chosen.get('objective'))}), so its validation numbers are optimistic. Its test-split "
            "numbers, on rows no candidate was chosen by, are the evidence; every candidate's are in search.json."]


def _imported_teacher(report: Mapping[str, Any]) -> list[str]:
    """A teacher imported from a booster file (``report["teacher_import"]``), said as such with
    what finlite cannot know of it, and the warnings its import raised: the card read it as a
    model finlite trained on this table's training split (a bring-your-own-model walk-through,
    2026-12-07)."""
    imported = report.get("teacher_import")
    if not isinstance(imported, Mapping):
        return []
    library = {"lightgbm": "LightGBM", "xgboost": "XGBoost"}.get(str(imported.get("library")), str(imported.get("library")))
    digest = str(imported.get("file_sha256") or "")
    lines = [f"- **Imported teacher**: the teacher is a {_text(library)} booster imported from "
             f"{_text(imported.get('file'))} (sha256 {_text(digest[:16])}…), trained outside finlite. finlite "
             "checked that it scores as the file does and refitted its settings out of fold; it cannot know which "
             "rows the booster was fitted or early-stopped on, nor check the pipeline that made it for leakage. If "
             "those rows include this table's validation or test rows, the teacher's metrics here are in-sample, "
             "and so is the student's difference from them: judge both on a table the booster never saw."]
    lines += [f"- **Teacher import warning**: {_text(w)}" for w in imported.get("warnings") or []]
    return lines


_PAIR = ("teacher", "student")


def _no_edge(by_id: Mapping[str, Section]) -> list[str]:
    """A forecaster's evidence without an edge said as a limitation of its own: the sections judge
    the student against the teacher (whether it can replace it), so "Forecast accuracy: PASS" and
    "Trading view: PASS" read as approval of models that beat neither the naive forecast nor
    buy-and-hold (a quant's walk-through, 2026-12-05)."""
    said = []
    accuracy = by_id.get("forecast_accuracy")
    models = accuracy.metrics.get("models") if accuracy is not None and isinstance(accuracy.metrics, Mapping) else None
    if isinstance(models, Mapping):
        try:
            rmse = {n: float(models[n]["rmse"]["value"]) for n in ("teacher", "student", "naive")}
        except (KeyError, TypeError, ValueError):
            rmse = {}
        if rmse and rmse["teacher"] >= rmse["naive"] and rmse["student"] >= rmse["naive"]:
            dm = by_id.get("diebold_mariano")
            ranks = dm.metrics.get("ranks_assets") if dm is not None and isinstance(dm.metrics, Mapping) else None
            ranked = [n for n in _PAIR if isinstance(ranks, Mapping) and ranks.get(n) is True]
            said.append(f"**No edge over the naive forecast**: neither the teacher (RMSE {rmse['teacher']:.4g}) nor "
                        f"the student ({rmse['student']:.4g}) forecasts more accurately than the naive forecast "
                        f"({rmse['naive']:.4g}) on the test period"
                        + (f", though {' and '.join('the ' + n for n in ranked)} rank{'s' if len(ranked) == 1 else ''} "
                           "the assets of each date better than chance (the Diebold–Mariano section)" if ranked else "")
                        + ". The sections above judge whether the student can "
                        "replace the teacher, not whether either is worth deploying.")
    trading = by_id.get("trading")
    assets = trading.metrics.get("assets") if trading is not None and isinstance(trading.metrics, Mapping) else None
    judged, flat = 0, []  # assets with the comparison, and those where neither model beats buy-and-hold
    start_day_only: list[str] = []  # of them, those with an edge on the first start day's book alone
    for asset, view in (assets.items() if isinstance(assets, Mapping) else ()):
        versus = view.get("sharpe_vs_buy_and_hold") if isinstance(view, Mapping) else None
        if not isinstance(versus, Mapping) or not all(isinstance(versus.get(n), Mapping) for n in _PAIR):
            continue  # too few periods to trade: nothing to judge
        judged += 1
        cis = [versus[n].get("ci") for n in _PAIR]
        lows = [ci[0] if isinstance(ci, list) and ci else None for ci in cis]
        if not any(finite_number(low) and low > 0 for low in lows):  # a forged [True] is no bound
            flat.append(str(asset))
        elif not _staggered_edge(view):
            # At h > 1 the interval is of the first start day's book, one of h: an edge that the
            # staggered book (no start day) does not show is none (a quant's walk-through,
            # 2026-12-06: only start day 0 of 5 had an interval above 0).
            flat.append(str(asset))
            start_day_only.append(str(asset))
    if judged and len(flat) == judged:
        where = "" if judged == 1 else f" on any of its {judged} assets"
        said.append(f"**No edge over buy-and-hold**: neither model's trading view beats buy-and-hold after costs "
                    f"beyond sampling noise{where} (the trading section gives the intervals)"
                    + (": the interval above zero is of the first start day's book alone, and the staggered book, "
                       "which depends on no start day, does not beat buy-and-hold's" if start_day_only else "")
                    + ".")
    elif flat:  # a panel where some assets have an edge and others none: the others named
        shown = ", ".join(_text(a) for a in flat[:10]) + (f" and {len(flat) - 10} more" if len(flat) > 10 else "")
        said.append(f"**No edge over buy-and-hold on {len(flat)} of {judged} assets**: on {shown}, neither model's "
                    "trading view beats buy-and-hold after costs beyond sampling noise (the trading section gives the "
                    "intervals)." + _edge_by_chance(trading.metrics.get("edge_over_buy_and_hold") if trading else None))
    return [f"- {text}" for text in said]


def _staggered_edge(view: Mapping[str, Any]) -> bool:
    """Whether a model's staggered book (h > 1: 1/h of the capital in each start day's book) has a
    higher Sharpe ratio than buy-and-hold's on the same steps, in either strategy; True where there
    is no staggered book (h = 1, or a report written before it), which leaves the interval's word."""
    book = view.get("staggered")
    if not isinstance(book, Mapping):
        return True
    try:
        hold = float(book["buy_and_hold"]["sharpe"])
        best = max(float(book[m][s]["sharpe"]) for m in _PAIR for s in ("long_flat", "long_short"))
    except (KeyError, TypeError, ValueError):
        return True
    return best > hold


def _edge_by_chance(edge: Any) -> str:
    """The assets with an edge over buy-and-hold beside how many chance alone gives at the nominal rate (the
    trading section's ``edge_over_buy_and_hold``; nothing for a report written before it)."""
    if not isinstance(edge, Mapping):
        return ""
    count, floor, judged = edge.get("assets_with_edge"), edge.get("expected_by_chance"), edge.get("judged")
    if not (isinstance(count, int) and not isinstance(count, bool) and count > 0 and finite_number(floor)
            and isinstance(judged, int) and not isinstance(judged, bool)):
        return ""
    which = "the 1 asset with an edge" if count == 1 else f"the {count} assets with an edge"
    return (f" Read {which} beside chance: with no edge on any asset, about {floor:.1f} of the {judged:,} judged "
            "would show one (each 95 % interval lies above zero on a nominal 2.5 % of assets), and more when the test "
            "period is short, as each asset's better strategy of either model is picked after the fact; only a "
            "count far above that is evidence of an edge.")


def _split_limitations(report: Mapping[str, Any]) -> list[str]:
    """What the split makes of the evidence: a stratified split's test rows share the training
    rows' period (in-time evidence only, and its stability section compares two random samples);
    an out-of-time split's periods; a forecaster's walk-forward: fitted once, its folds blocks of
    the test period. For a hold-out: that its period is the user's word, and when most of its rows
    are the artifact's own test split, that the evidence is in-time after all (a validator's
    walk-through, 2026-12-06: the card dropped its in-time limitation for the test split passed
    as a hold-out)."""
    data = report.get("data")
    if not isinstance(data, Mapping):
        return []
    split = data.get("split")
    holdout = data.get("holdout")
    if isinstance(holdout, Mapping):
        rows = holdout.get("rows")
        overlap = holdout.get("rows_in_training_table")
        in_test = overlap.get("test") if isinstance(overlap, Mapping) else None
        name = _text(holdout.get("source"))
        if isinstance(rows, int) and isinstance(in_test, int) and rows > 0 and in_test >= 0.5 * rows:
            return [f"The hold-out {name} is mostly the artifact's own test split ({in_test:,} of its {rows:,} rows "
                    "equal test-split rows): the evidence is in-time, not out-of-time. Judge rows from after the "
                    "training table's period for out-of-time evidence."]
        return [f"The evidence is the hold-out {name}: finlite records its content hash and checks it against the "
                "training rows, but not its period; that it is later than the training table (out-of-time) rests on "
                "how it was drawn."]
    if not isinstance(split, Mapping):
        return []
    if split.get("method") == "stratified":
        return ["The test rows are a random (stratified) sample of the same file and period as the training rows: "
                "the evidence is in-time, and no out-of-time test was made. Its stability section compares two random "
                "samples of one period, so it shows sampling noise, not drift. For out-of-time evidence split by date "
                "(train --date-column) or judge a later period (report --holdout)."]
    config = split.get("config")
    if split.get("method") == "grouped" and isinstance(config, Mapping):
        column = _text(config.get("group_column"))
        return [f"The test rows are the rows of a random (stratified) sample of {column} values, each value's rows "
                "in one part, from the same file and period as the training rows: the evidence is of accounts the "
                "model never trained on, but in-time, and no out-of-time test was made. Its discrimination "
                "intervals resample whole accounts (a cluster bootstrap); its other intervals and tests (decisions, "
                "segments, calibration, DeLong's) treat rows as independent, where an account's rows move together, "
                "so they are narrower than its accounts allow. Its stability section compares two random samples of one period, so it shows "
                "sampling noise, not drift. For out-of-time evidence judge a later period (report --holdout)."]
    dates = data.get("dates")
    if split.get("method") == "out-of-time" and isinstance(dates, Mapping):
        spans = {k: v for k, v in dates.items() if isinstance(v, list) and len(v) == 2}
        if {"train", "test"} <= spans.keys():
            config = split.get("config")
            # Only a split cut between dates keeps each in one part (an older finlite cut at the shares' rows).
            whole = ("each date in one part" if isinstance(config, Mapping) and config.get("whole_dates") is True else
                     "cut at the shares' rows by an older finlite: a date at a cut may lie in two parts")
            return [f"Out-of-time: trained on dates {_text(spans['train'][0])} to {_text(spans['train'][1])}, tested "
                    f"on {_text(spans['test'][0])} to {_text(spans['test'][1])} ({whole}). The evidence holds for "
                    "that later period, not beyond it."]
    if split.get("method") == "walk-forward" and isinstance(dates, Mapping):
        spans = {k: v for k, v in dates.items() if isinstance(v, list) and len(v) == 2}
        if {"train", "validation", "test"} <= spans.keys():
            # "walk-forward, folds=3" read as three refits (a quant's walk-through, 2026-12-06).
            return [f"Walk-forward: the model was fitted once, on dates {_text(spans['train'][0])} to "
                    f"{_text(spans['train'][1])} (early-stopped on {_text(spans['validation'][0])} to "
                    f"{_text(spans['validation'][1])}), and judged unchanged on {_text(spans['test'][0])} to "
                    f"{_text(spans['test'][1])}; the folds are consecutive blocks of that test period, judged one by "
                    "one, not refits. The evidence holds for that period, not beyond it."]
    return []


def render_model_card(report: Mapping[str, Any]) -> str:
    """``MODEL_CARD.md`` for ``report`` (the dict written as ``report.json``): a pure function of it.

    Sections: intended use (``report["card"]["intended_use"]``, else a default by task: credit
    decisioning, fraud flagging or market forecasting), out-of-scope uses and human oversight
    (``report["card"]["oversight"]``, else :data:`DEFAULT_OVERSIGHT`), training and evaluation data
    (``report["data"]``), the inputs (``report["card"]["inputs"]``: the features, the protected
    ones said), metrics with intervals (the first table of the discrimination, accuracy
    or forecast_accuracy section), segment results (the segments section), fairness for a
    binary classifier (each protected column's rules and what was not assessed, or why the
    section is missing), limitations (every
    WARN / FAIL section's summary, training's notes on columns that may leak the label and on
    extremes that set a column's scale, then the fixed ones) and the change classification (what
    changed, ``report["change"]``; the recipe's steps and gates with their values, from the summary
    section; and the status of every evidence section).

    Raises:
        DataError: when the report's sections are missing or malformed.
    """
    sections = report_sections(report)
    by_id = {s.id: s for s in sections}
    source = report.get("generated_from")
    name = source.get("artifact") if isinstance(source, Mapping) else source
    status = report.get("status") if report.get("status") in STATUSES else worst(s.status for s in sections)
    lines = [f"# Model card: {_text(name or report.get('title') or 'finlite model')}", ""]
    lines.append(f"Validation status: **{status}** (the worst of {len(sections)} report sections, at least WARN when one "
                 f"could not be built; the full evidence "
                 "is in report.html and every number in report.json).")
    if isinstance(source, Mapping):
        lines += [""] + [f"- {_text(k)}: {_cell(v)}" for k, v in source.items() if v is not None]
    if report.get("task") is not None:
        lines.append(f"- task: {_cell(report['task'])}")
    lines += _identity_lines(report, by_id)
    lines += ["", "## Intended use", "", _intended_use(report), ""]
    lines += ["## Out-of-scope uses and human oversight", "", *_oversight_lines(report)]
    lines += ["## Training and evaluation data", "", *_data_lines(report)]
    if _domain(report) != "markets":
        lines += ["## Inputs", "", *_input_lines(report)]
    lines += ["## Metrics", ""]
    metric = next((by_id[i] for i in _METRIC_SECTIONS if i in by_id), None)
    lines += _section_table(metric) if metric else ["The report holds no metrics section.", ""]
    if "calibration" in by_id:  # the Metrics had no calibration figure (a validator's walk-through, 2026-12-06)
        calibration = by_id["calibration"]
        lines += [f"**{_text(calibration.title)}: {_text(calibration.status)}.** {_text(calibration.summary)}", ""]
    lines += ["## Segment results", ""]
    lines += _section_table(by_id["segments"]) if "segments" in by_id else ["The report holds no segments section.", ""]
    if report.get("task") == "binary":
        lines += ["## Fairness", "", *_fairness_lines(report, by_id)]
    lines += ["## Limitations", ""]
    for s in sections:
        if s.status != "PASS":
            # With the rule that set the status: the finding's numbers alone did not say why a student
            # better than its teacher was WARN (a validator's walk-through, 2026-12-06).
            lines.append(f"- {_text(s.title)} ({s.status}): {_text(s.summary)}")
            if s.threshold:
                lines.append(f"  - Rule: {_text(s.threshold)}")
    markets = _domain(report) == "markets"
    # A test period too short to judge on (jobs.forecast.thin_warnings), as the evidence table says it.
    evidence = report.get("forecast")
    thin = evidence.get("warnings") if markets and isinstance(evidence, Mapping) else None
    thin = [str(w) for w in thin] if isinstance(thin, list) else []
    lines += _run_warnings(report, shown=thin)
    lines += [f"- **Possible label leak**: {_text(note)}" for note in _card_list(report, "possible_leaks")]
    lines += [f"- **Extreme values or codes among the numbers**: {_text(note)}"
              for note in _card_list(report, "extreme_values")]
    lines += [f"- **A clock or counter among the inputs**: {_text(note)}" for note in _card_list(report, "clocks")]
    lines += [f"- **What the split did to the evidence**: {_text(note)}" for note in _card_list(report, "split")]
    lines += _imported_teacher(report)
    lines += _unassessed_protected(report, by_id)
    lines += _absolute_calibration(by_id)
    lines += _mean_miscalibration(by_id)
    lines += _underestimated_grades(by_id)
    lines += _thin_grades(by_id)
    lines += _price_alarms(report)
    lines += _no_edge(by_id) if markets else []
    # A volatility forecast's scale or sign is no short test period (a review, 2026-12-07).
    lines += [f"- **{'Volatility forecasts' if 'volatility forecasts' in w else 'Short test period'}**: {_text(w)}"
              for w in thin]
    fixed = tuple(_MARKET_POPULATION if markets and text is _POPULATION else text for text in _FIXED_LIMITATIONS)
    lines += [f"- {text}" for text in (*_split_limitations(report), *_selection_limitations(report), *fixed)] + [""]
    lines += ["## Change classification", "", *_change_lines(report, sections)]
    return "\n".join(lines).rstrip("\n") + "\n"
