"""The report's section shapes: JSON round trips, the worst status, curve thinning."""

from __future__ import annotations

import json

import numpy as np
import pytest

from finlite.evaluate.sections import Plot, Section, Series, Table, curve_points, json_number, worst


def _section() -> Section:
    return Section(
        id="discrimination", title="Discrimination", status="WARN", threshold="WARN when the CI excludes 0",
        summary="The student ranks slightly worse.",
        metrics={"auc": {"teacher": np.float32(0.75), "student": 0.74, "ci": [np.float64(0.7), float("nan")]},
                 "rows": np.int64(300), "ok": np.bool_(True)},
        tables=[Table(id="lift", caption="Lift by decile", columns=["decile", "lift"], rows=[[1, np.float64(2.5)]])],
        plots=[Plot(id="roc", title="ROC", x_label="FPR", y_label="TPR", reference="diagonal",
                    series=[Series(name="teacher", x=[0.0, 1.0], y=[0.0, 1.0])])],
        notes=["a note"])


def test_section_round_trips_through_strict_json() -> None:
    section = _section()
    text = json.dumps(section.to_dict(), allow_nan=False)  # NaN became null, numpy became Python
    back = Section.from_dict(json.loads(text))
    assert back.to_dict() == section.to_dict()
    assert back.metrics["auc"]["ci"] == [0.7, None]
    assert back.metrics["rows"] == 300 and back.metrics["ok"] is True
    assert back.plots[0].reference == "diagonal" and back.tables[0].rows == [[1, 2.5]]


def test_a_status_outside_pass_warn_fail_is_refused() -> None:
    with pytest.raises(ValueError, match=r"status must be one of"):
        Section(id="x", title="X", status="OK", threshold="", summary="")  # type: ignore[arg-type]


def test_worst_status() -> None:
    assert worst([]) == "PASS"
    assert worst(["PASS", "WARN", "PASS"]) == "WARN"
    assert worst(["WARN", "FAIL", "PASS"]) == "FAIL"


def test_curve_points_keeps_the_ends_and_at_most_the_cap() -> None:
    x = np.linspace(0, 1, 100_000)
    xs, ys = curve_points(x, x ** 2, max_points=201)
    assert len(xs) == 201 and xs[0] == 0.0 and xs[-1] == 1.0 and ys[-1] == 1.0
    assert np.all(np.diff(xs) > 0)
    short_x, _ = curve_points(np.array([0.0, 0.5]), np.array([1.0, 2.0]))
    assert short_x == [0.0, 0.5]


def test_json_number_leaves_text_and_none_alone() -> None:
    assert json_number({"a": None, "b": "x", "c": [np.inf, -np.inf, 1]}) == {"a": None, "b": "x", "c": [None, None, 1]}
