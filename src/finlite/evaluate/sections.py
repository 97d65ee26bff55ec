"""The shape of validation evidence: sections with a badge, numbers, tables and plot data.

A report is a list of :class:`Section` objects. Each carries everything the HTML page, the
model card and ``report.json`` show: its stable ``id`` (the HTML anchor and the JSON key), a
PASS / WARN / FAIL ``status`` with the ``threshold`` (the rule, in words) that decided it, its
numbers under snake_case names, its tables and the data of its plots. Plots are data, never
images, so ``report.html`` is a pure function of ``report.json`` and rebuilds byte for byte.
Plot data is aggregated (curves of at most a few hundred points, binned tables), so a report on
a million rows is as small as one on a thousand.

The inputs every tabular section builder reads (:class:`ScoredModel`, :class:`TabularInputs`)
live here too, so the builders in :mod:`finlite.evaluate` do not import each other.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from finlite._verdict import STATUSES, report_verdict, unbuilt_sections
from finlite.errors import ConfigError

__all__ = ["DOMAINS", "STATUSES", "DecisionWords", "Plot", "ScoredModel", "Section", "Series", "Table", "TabularInputs", "curve_points",
           "json_number", "report_verdict", "table_domain", "unbuilt_sections", "worst"]

Status = Literal["PASS", "WARN", "FAIL"]
#: Most points a plotted curve keeps (its ends always kept): enough for a smooth curve on paper.
MAX_POINTS = 201


def json_number(value: Any) -> Any:
    """``value`` as JSON can hold it: numpy scalars to Python, non-finite floats to None
    (a report never writes NaN; a statistic that cannot be computed is null with a note)."""
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        f = float(value)
        return f if np.isfinite(f) else None
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, Mapping):
        return {str(k): json_number(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [json_number(v) for v in value]
    return value


#: The largest magnitude a plotted value may have: finlite's plots hold rates, scores, metric
#: values and counts; a value near float64's limit breaks the axis arithmetic.
_PLOTTABLE = 1e15


@dataclass
class Series:
    """One line, step curve or set of bars of a plot."""

    name: str
    x: list[float]
    y: list[float]
    style: Literal["line", "step", "bar", "scatter"] = "line"

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "x": json_number(self.x), "y": json_number(self.y), "style": self.style}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Series:
        """Read back, checked (a stored report.json is untrusted): ``x`` and ``y`` lists of numbers
        (or null) of one length; ValueError or TypeError naming what is wrong."""
        x, y = d["x"], d["y"]
        if not isinstance(x, list) or not isinstance(y, list) or len(x) != len(y):
            raise ValueError(f"series {str(d['name'])!r}: x and y must be lists of the same length")
        if any(v is not None and (isinstance(v, bool) or not isinstance(v, (int, float)) or abs(v) > _PLOTTABLE)
               for v in (*x, *y)):
            # 1.7e308 passed as a finite number and made matplotlib raise "arange: cannot compute
            # length" (the diff's review, 2026-12-04 night).
            raise ValueError(f"series {str(d['name'])!r}: x and y must hold numbers within ±{_PLOTTABLE:g} (or null)")
        return cls(name=str(d["name"]), x=list(x), y=list(y), style=d.get("style", "line"))


@dataclass
class Plot:
    """The data of one chart: the renderer draws it (SVG), the JSON keeps it.

    ``x_ticks`` labels categorical x positions (bars at x = 0, 1, …); ``reference`` adds a
    guide line ("diagonal": y = x, e.g. a ROC or reliability chart).
    """

    id: str
    title: str
    x_label: str
    y_label: str
    series: list[Series]
    x_scale: Literal["linear", "log"] = "linear"
    reference: Literal["diagonal"] | None = None
    x_ticks: list[str] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "x_label": self.x_label, "y_label": self.y_label,
                "series": [s.to_dict() for s in self.series], "x_scale": self.x_scale,
                "reference": self.reference, "x_ticks": self.x_ticks}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Plot:
        """Read back, checked: ``series`` a list, ``x_ticks`` null or a list of text (a stored
        report.json with ``x_ticks: 5`` gave a TypeError traceback, a security review, 2026-12-04)."""
        ticks = d.get("x_ticks")
        if ticks is not None and (not isinstance(ticks, list) or not all(isinstance(t, str) for t in ticks)):
            raise ValueError(f"plot {str(d['id'])!r}: x_ticks must be null or a list of text")
        if not isinstance(d["series"], list):
            raise ValueError(f"plot {str(d['id'])!r}: series must be a list")
        return cls(id=str(d["id"]), title=str(d["title"]), x_label=str(d["x_label"]), y_label=str(d["y_label"]),
                   series=[Series.from_dict(s) for s in d["series"]], x_scale=d.get("x_scale", "linear"),
                   reference=d.get("reference"), x_ticks=d.get("x_ticks"))


@dataclass
class Table:
    """A table: ``columns`` headers and ``rows`` of cells (str, int, float or None).

    Numbers stay numbers here (the JSON twin keeps them exact); the renderer formats them.
    """

    id: str
    caption: str
    columns: list[str]
    rows: list[list[Any]]

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "caption": self.caption, "columns": list(self.columns),
                "rows": [json_number(list(r)) for r in self.rows]}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Table:
        return cls(id=str(d["id"]), caption=str(d["caption"]), columns=list(d["columns"]),
                   rows=[list(r) for r in d["rows"]])


@dataclass
class Section:
    """One section of the validation report.

    ``id`` is stable and snake_case (``summary``, ``discrimination``, ``calibration`` …);
    ``status`` is PASS, WARN or FAIL by ``threshold`` (the rule in words, e.g. "FAIL when the
    student's AUC is below the teacher's beyond the 95 % paired interval; WARN when …");
    ``summary`` says in one or two plain sentences what the section found; ``metrics`` holds
    every number under snake_case names (nested dicts allowed; no NaN: :func:`json_number`).
    """

    id: str
    title: str
    status: Status
    threshold: str
    summary: str
    metrics: dict[str, Any] = field(default_factory=dict)
    tables: list[Table] = field(default_factory=list)
    plots: list[Plot] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"section {self.id!r}: status must be one of {STATUSES}, got {self.status!r}")

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "status": self.status, "threshold": self.threshold,
                "summary": self.summary, "metrics": json_number(self.metrics),
                "tables": [t.to_dict() for t in self.tables], "plots": [p.to_dict() for p in self.plots],
                "notes": list(self.notes)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Section:
        return cls(id=str(d["id"]), title=str(d["title"]), status=d["status"], threshold=str(d["threshold"]),
                   summary=str(d["summary"]), metrics=dict(d.get("metrics") or {}),
                   tables=[Table.from_dict(t) for t in d.get("tables") or []],
                   plots=[Plot.from_dict(p) for p in d.get("plots") or []], notes=list(d.get("notes") or []))


def worst(statuses: Iterable[str]) -> Status:
    """The worst of ``statuses`` (FAIL > WARN > PASS); PASS for none."""
    rank = max((STATUSES.index(s) for s in statuses), default=0)
    return STATUSES[rank]  # type: ignore[return-value]


def curve_points(x: np.ndarray, y: np.ndarray, max_points: int = MAX_POINTS) -> tuple[list[float], list[float]]:
    """At most ``max_points`` points of a curve, evenly spaced along it, first and last kept:
    what a plot needs, whatever the number of rows behind it."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if len(x) > max_points:
        keep = np.unique(np.linspace(0, len(x) - 1, max_points).round().astype(np.int64))
        x, y = x[keep], y[keep]
    return [float(v) for v in x], [float(v) for v in y]


@dataclass
class ScoredModel:
    """One of the two models a report compares, with its own encoder and its scores.

    ``scores_test`` / ``scores_train`` are the task's scores (P(positive class) for a binary
    model, the prediction for regression) on the test rows and on the scored training rows (all
    of them, or a seeded sample of a large training split: ``finlite.jobs.report.TRAIN_SCORE_ROWS``),
    in row order.
    ``score_frame`` scores raw rows (a DataFrame with the data's columns) through the model's
    own preprocessor, for sections that change inputs (robustness, monotonicity); ``encode``
    gives that preprocessor's matrix (explanations).
    """

    name: str
    model: Any  # a FinliteModel (torch); typed loosely so this module stays import-light
    preprocessor: Any  # finlite.data.preprocess.Preprocessor
    scores_test: np.ndarray
    scores_train: np.ndarray | None
    score_frame: Callable[[pd.DataFrame], np.ndarray]
    encode: Callable[[pd.DataFrame], np.ndarray]


#: What a binary table model decides, for the report's words and the explanations' status:
#: "credit" declines applicants (an adverse-action notice states the reasons: ECOA / Regulation B),
#: "fraud" flags transactions for review (no notice; the reasons guide the reviewing analyst).
DOMAINS = ("credit", "fraud")
#: Words in a data file's name that make a binary model a fraud model when --domain is not given.
_FRAUD_HINTS = ("fraud", "creditcard", "transaction", "payment")


def table_domain(source: Any, stated: str | None = None) -> str:
    """The domain (:data:`DOMAINS`) of a binary table model: ``stated`` (``--domain``) when given,
    else "fraud" when the data file's name says so (ULB's ``creditcard.csv``), else "credit".

    Raises:
        ConfigError: ``stated`` is not one of :data:`DOMAINS`.
    """
    if stated is not None:
        if stated not in DOMAINS:
            raise ConfigError(f"--domain must be one of {', '.join(DOMAINS)}; got {stated!r}.", param="domain")
        return stated
    name = str(source or "").lower()
    return "fraud" if any(w in name for w in _FRAUD_HINTS) else "credit"


@dataclass(frozen=True)
class DecisionWords:
    """The words a report section uses for what a binary model's decisions do: a credit model
    *declines* (flags) applicants and *approves* the rest; a fraud model *flags* transactions for
    review and *passes* the rest (a fraud report spoke of approvals and wrongful declines: the
    fraud engineer's walk-through, 2026-12-06). The metrics' JSON keys stay the same in both
    (``approval_rate`` is the share of rows scored below the cut-off); only the words change."""

    approval: str  # noun: "approval" / "pass", as in "approval rate"
    approved: str  # "approved" / "passed"
    approves: str  # the verb: "approves" / "passes"
    declined: str  # "declined" / "flagged"
    wrongful: str  # the rate of the other class flagged: "wrongful-decline" / "wrongful-flag"
    good: str  # the other class: "good" / "legitimate"
    equal_opportunity: str  # what 1 − the wrongful rate is
    protected_input: str  # why a protected column among the inputs matters
    captured: str | None  # the positive class named in the capture gap ("bad"); None: the data's own label

    @classmethod
    def of(cls, domain: str) -> DecisionWords:
        """The words for ``domain`` (:data:`DOMAINS`; anything else reads as credit)."""
        if domain == "fraud":
            return cls(approval="pass", approved="passed", approves="passes", declined="flagged", wrongful="wrongful-flag",
                       good="legitimate",
                       equal_opportunity="the share of legitimate transactions passed (passed | legitimate)",
                       protected_input="their flags (and the reasons given for them) can depend on it directly (a "
                                       "control that holds or refuses payments by a protected characteristic can be "
                                       "unlawful discrimination)",
                       captured=None)
        return cls(approval="approval", approved="approved", approves="approves", declined="declined", wrongful="wrongful-decline",
                   good="good", equal_opportunity="the equal-opportunity rate of lending (approved | good)",
                   protected_input="their decisions (and adverse-action reasons) can depend on it directly (ECOA / "
                                   "Regulation B prohibit that basis in US credit decisions)",
                   captured="bad")


@dataclass
class TabularInputs:
    """Everything a tabular (credit, fraud) report section reads.

    ``test_frame`` / ``train_frame`` are the raw rows (the data's columns, target included) of the
    test and training splits (``test_frame`` in the order of the scores); ``y_test`` / ``y_train`` the
    labels of the scored rows, in the order of ``scores_test`` / ``scores_train`` (1 = the positive
    class, e.g. "bad" or "fraud"; ``y_train`` covers a seeded sample of a large training split). A row is *flagged* (declined) when its score
    is >= ``cutoff``; *approved* otherwise. ``ids`` name the test rows in files and tables (the id
    column's values, or the 1-based row number of the data file), ``id_name`` says which.
    ``segments`` / ``protected`` are raw column names; ``monotone`` maps a raw numeric column to +1
    (P(positive) must not fall as it rises) or -1 (must not rise). ``seed`` seeds every resample.
    """

    task: str
    cutoff: float | None
    teacher: ScoredModel
    student: ScoredModel
    y_test: np.ndarray
    y_train: np.ndarray
    test_frame: pd.DataFrame
    train_frame: pd.DataFrame
    ids: np.ndarray
    id_name: str
    numeric: Sequence[str]
    categorical: Sequence[str]
    positive: str
    seed: int = 0
    segments: Sequence[str] = ()
    protected: Sequence[str] = ()
    monotone: Mapping[str, int] = field(default_factory=dict)
    #: Rows of the training split, when ``y_train`` / ``scores_train`` are a sample of it (None: all of them).
    train_rows_total: int | None = None
    #: What the decisions are (:data:`DOMAINS`): "credit" (a flag declines an applicant, whose
    #: adverse-action notice gives reasons) or "fraud" (a flag sends a transaction to an analyst).
    domain: str = "credit"
    #: For a report judged on a hold-out: each model's metrics on its own test split when it was
    #: validated (``{"teacher": {...}, "student": {...}}``, the manifests' ``metrics.test``), which
    #: discrimination and calibration judge the hold-out against. Without it every rule compared the
    #: student with its teacher only, and a model both had stopped serving passed (a monitoring
    #: walk-through, 2026-12-06: AUC 0.787 at validation, 0.605 on the hold-out, PASS).
    validated: Mapping[str, Mapping[str, Any]] | None = None
    #: Under a split by account (``train --group-column``): each test row's account as a code
    #: 0..G-1, in the order of ``y_test``; the discrimination intervals then resample whole
    #: accounts (a cluster bootstrap). None: rows are resampled.
    test_groups: np.ndarray | None = None
    #: A credit model's PD master scale: each grade's upper PD bound, rising, the last 1
    #: (:func:`finlite.evaluate.validation.master_scale`; empty: finlite's generic scale), by which
    #: the calibration section back-tests the PDs grade by grade.
    grades: Sequence[float] = ()
    #: The long-run default rate the teacher's PDs were calibrated to (``train --central-tendency
    #: RATE``), where it is not its training split's own: their level differs from the test
    #: split's rate by design, which the calibration section then says rather than judges. None: none.
    central_tendency: float | None = None
    #: A hold-out's periods, over which the calibration section back-tests a credit model's PDs
    #: (``report --holdout --period-column``): ``column``, ``freq`` (how its dates are grouped;
    #: None: its values), ``codes`` (each judged row's period, in the order of ``y_test``) and
    #: ``names`` (the periods in order), as :func:`finlite.evaluate.periods.read_periods` read them.
    periods: Mapping[str, Any] | None = None
