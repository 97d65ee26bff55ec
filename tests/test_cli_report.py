"""`finlite report` and compress's report options on the command line: output, refusals, exit codes."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from finlite.cli import app

runner = CliRunner()


@pytest.mark.slow
def test_report_renders_the_stored_report_into_a_sibling_folder(exported_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "student-report"
    result = runner.invoke(app, ["report", str(exported_dir), "--out", str(out)])
    stored = json.loads((exported_dir / "report.json").read_text())
    expected = 1 if stored["status"] == "FAIL" else 0  # a FAIL report is still written, then exits 1
    assert result.exit_code == expected, result.output
    for section in stored["sections"]:
        assert f"{section['status']:<5} {section['id']}: " in result.output
    assert f"report: {out / 'report.html'} (overall {stored['status']})" in result.output
    assert (out / "report.html").read_bytes() == (exported_dir / "report.html").read_bytes()
    mask = os.umask(0)
    os.umask(mask)  # every file a plain write's mode (they were 0600 each): the 0700 folder keeps them private
    assert {p.stat().st_mode & 0o777 for p in out.iterdir()} == {0o666 & ~mask}
    assert out.stat().st_mode & 0o777 == 0o700
    again = runner.invoke(app, ["report", str(exported_dir), "--out", str(out)])
    assert again.exit_code == 2 and "--out" in again.output and "already exists" in again.output
    assert "--force" in again.output
    assert runner.invoke(app, ["report", str(exported_dir), "--out", str(out), "--force"]).exit_code == expected


@pytest.mark.slow
def test_report_prints_its_default_folder_relative_to_the_working_folder(exported_dir: Path, tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """As the other commands print their outputs (it printed the resolved absolute path)."""
    import shutil

    shutil.copytree(exported_dir, tmp_path / "student")
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["report", "student"])
    assert "report: student-report/report.html (overall " in result.output, result.output
    assert (tmp_path / "student-report" / "report.html").is_file()


@pytest.mark.slow
def test_report_refuses_bad_input_with_exit_2(exported_dir: Path, teacher_dir: Path, loans_csv: Path,
                                             tmp_path: Path) -> None:
    cases = [
        (["report", str(exported_dir), "--segments", "purpose", "--out", str(tmp_path / "a")],
         "--segments changes what the report is built from"),
        (["report", str(exported_dir), str(loans_csv), "--out", str(tmp_path / "b")], "is not the table"),
        (["report", str(teacher_dir), "--out", str(tmp_path / "c")], "holds no report.json"),
        (["report", str(exported_dir), "--out", str(exported_dir / "inside")], "is inside the artifact"),
        (["report", str(exported_dir), "--monotone", "duration_in_month:up"], "--monotone"),
        (["report", str(exported_dir), "--domain", "fraud", "--out", str(tmp_path / "d")],
         "--domain changes what the report is built from"),
        (["report", str(exported_dir), "--grades", "0.01", "--out", str(tmp_path / "e")],
         "--grades changes what the report is built from"),
    ]
    for args, message in cases:
        result = runner.invoke(app, args)
        assert result.exit_code == 2, (args, result.output)
        assert message in result.output and "Traceback" not in result.output, (args, result.output)
    assert not (tmp_path / "b").exists() and not (exported_dir / "inside").exists()


@pytest.mark.slow
def test_compress_refuses_bad_report_options_before_any_training(teacher_dir: Path, german_csv: Path,
                                                                tmp_path: Path) -> None:
    out = tmp_path / "s"
    cases = [
        (["--segments", "nope"], "--segments names the column 'nope'"),
        (["--protected", "purpose,"], "--protected takes column names separated by commas"),
        (["--protected", "creditability"], "--protected names 'creditability', the label the model predicts"),
        (["--segments", "creditability"], "--segments names 'creditability', the label"),
        (["--monotone", "purpose:+"], "--monotone names 'purpose', which is not a numeric feature"),
        (["--enforce-monotone"], "--enforce-monotone trains the student under the declared monotone constraints"),
        (["--id-column", "loan_id"], "--id-column names the column 'loan_id'"),
        (["--search", "--segments", "purpose"], "--search writes the report with the defaults"),
        (["--domain", "aml"], "--domain must be one of credit, fraud; got 'aml'"),
        (["--search", "--domain", "fraud"], "--search writes the report with the defaults"),
        (["--grades", "5"], "a grade's upper PD bound is a fraction in (0, 1]; got '5' (a percentage? write 0.05"),
        (["--grades", "0.1,0.05"], "the upper bounds must rise grade by grade; '0.05' follows 0.1"),
        (["--grades", "0.01", "--domain", "fraud"], "--grades is a credit model's PD master scale"),
        (["--search", "--grades", "0.01"], "--search writes the report with the defaults"),
        (["--grades", ""], "--grades is empty"),  # it was taken for no scale
        (["--search", "--grades", ""], "--search writes the report with the defaults"),
    ]
    for extra, message in cases:
        result = runner.invoke(app, ["compress", str(teacher_dir), str(german_csv), "--out", str(out), "--quiet",
                                     *extra])
        assert result.exit_code == 2, (extra, result.output)
        assert message in result.output, (extra, result.output)
    assert not out.exists()


@pytest.mark.slow
def test_report_back_tests_the_pds_on_the_banks_master_scale(exported_dir: Path, german_csv: Path,
                                                             tmp_path: Path) -> None:
    """--grades: the calibration section's per-grade Jeffreys test reads the bank's scale, which
    report.json records."""
    out = tmp_path / "graded"
    result = runner.invoke(app, ["report", str(exported_dir), str(german_csv), "--grades", "0.1,0.3,0.6",
                                 "--out", str(out)])
    assert result.exit_code in (0, 1), result.output
    stored = json.loads((out / "report.json").read_text())
    assert stored["options"]["grades"] == [0.1, 0.3, 0.6, 1.0]
    [calibration] = [s for s in stored["sections"] if s["id"] == "calibration"]
    graded = calibration["metrics"]["pd_grades"]
    assert graded["scale"] == [0.1, 0.3, 0.6, 1.0] and graded["scale_source"] == "given"
    rows = sum(g["rows"] for g in graded["student"]["grades"])
    assert rows == stored["rows"] and {g["grade"] for g in graded["student"]["grades"]} <= {1, 2, 3, 4}
    assert "Per grade of the master scale (4 grades of the bank's scale (--grades))" in calibration["summary"]
    assert any(t["id"] == "pd_grades_student" for t in calibration["tables"])
    # Recorded so that a rebuild of an artifact whose report was built with it (and reproduce) reads it again.
    from finlite.jobs.report import ReportOptions

    assert ReportOptions.from_dict(stored["options"]).grades == (0.1, 0.3, 0.6, 1.0)
    assert "grades" not in ReportOptions().to_dict()  # an older report's form when none is given
    again = tmp_path / "again"
    rebuilt = runner.invoke(app, ["report", str(exported_dir), str(german_csv), "--out", str(again)])
    assert rebuilt.exit_code in (0, 1), rebuilt.output
    # Without --grades a report of this artifact reads its own stored options: the default scale here.
    [default] = [s for s in json.loads((again / "report.json").read_text())["sections"] if s["id"] == "calibration"]
    assert default["metrics"]["pd_grades"]["scale_source"] == "default"


def test_report_exits_1_when_its_overall_status_is_fail(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A FAIL section is a threshold the validation decided on: the files are written, the exit code is 1
    (a gate decided), and PASS or WARN exit 0."""
    import finlite.jobs.report as report_job

    def fake_rebuild(artifact: Path, data: object, **_: object) -> Path:
        folder = tmp_path / "written"
        folder.mkdir(exist_ok=True)
        sections = [{"id": "discrimination", "status": status, "summary": "AUC drop"}]
        (folder / "report.json").write_text(json.dumps({"status": status, "sections": sections}))
        return folder

    for status, code in (("FAIL", 1), ("WARN", 0), ("PASS", 0)):
        monkeypatch.setattr(report_job, "rebuild_report", fake_rebuild)
        result = runner.invoke(app, ["report", str(tmp_path / "student")])
        assert result.exit_code == code, (status, result.output)
        assert f"{status:<5} discrimination: AUC drop" in result.output
        assert ("overall status is FAIL (exit code 1)" in result.output) == (status == "FAIL")


def test_a_section_summary_quoting_the_data_reaches_the_terminal_written_out(monkeypatch: pytest.MonkeyPatch,
                                                                             tmp_path: Path) -> None:
    """A segment value from the file (an escape sequence, a right-to-left override) is in the
    segments summary: `report` printed it raw (the diff's review, 2026-12-04)."""
    import finlite.jobs.report as report_job

    def fake_rebuild(artifact: Path, data: object, **_: object) -> Path:
        folder = tmp_path / "written"
        folder.mkdir(exist_ok=True)
        summary = "1 weak spot(s) among 3 segments of 1 column(s): kind=a\x1b]0;pwned\x07\u202eb (agreement)."
        (folder / "report.json").write_text(json.dumps({"status": "WARN", "sections": [
            {"id": "segments", "status": "WARN", "summary": summary}]}))
        return folder

    monkeypatch.setattr(report_job, "rebuild_report", fake_rebuild)
    result = runner.invoke(app, ["report", str(tmp_path / "student")])
    assert result.exit_code == 0, result.output
    assert "kind=a\\x1b]0;pwned\\x07\\u202eb (agreement)" in result.output
    assert not any(ch in result.output for ch in "\x1b\x07\u202e")
