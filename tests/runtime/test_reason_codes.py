"""A lender's reason codes (runtime/reason_codes.py): the table is checked as untrusted input, a
code's contribution is the sum of its fields', and Predictor, ``finlite score`` and ``finlite
serve`` give codes instead of field names when given the table."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import socket
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from finlite.cli import app
from finlite.errors import ConfigError
from finlite.runtime import Predictor
from finlite.runtime.batch import score_file
from finlite.runtime.reason_codes import MAX_BYTES, ReasonCodes
from finlite.runtime.service import AuditLog, create_app

FIELDS = ("duration", "amount", "age", "purpose")
TABLE = ("field,code,text\nduration,R05,Amount or term of the loan\namount,R05,Amount or term of the loan\n"
         "age,R90,Age\npurpose,R12,\"Purpose of the loan, as stated\"\n")


def test_a_table_maps_every_field_and_groups_shared_codes() -> None:
    codes = ReasonCodes.parse(TABLE, FIELDS)
    assert codes.codes == ("R05", "R90", "R12")
    assert codes.fields_of("R05") == ["duration", "amount"] and codes.text_of["R12"] == "Purpose of the loan, as stated"
    assert codes.citing(["age"]) == ["R90"] and codes.label("R05") == "R05 (duration, amount)"
    assert codes.sha256 == hashlib.sha256(TABLE.encode()).hexdigest()
    assert codes.to_dict()["codes"]["R05"] == {"text": "Amount or term of the loan", "fields": ["duration", "amount"]}


@pytest.mark.parametrize(("text", "message"), [
    ("", r"is empty; give a header field,code,text"),
    ("field,code\nduration,R1\n", r"has the header 'field,code'; it must be exactly 'field,code,text'"),
    ("field,code,text\nduraton,R1,x\n", r"line 2: the model has no field 'duraton'. Did you mean 'duration'\?"),
    ("field,code,text\nduration,R1,x\nduration,R2,y\n", r"line 3: the field 'duration' is listed again"),
    ("field,code,text\nduration,,x\n", r"line 2: the field 'duration' has no code"),
    ("field,code,text\nduration,R1,\n", r"line 2: the field 'duration' has no statement"),
    ("field,code,text\nduration,R1,x,extra\n", r"line 2: 4 value\(s\); each row has a field, a code and a statement"),
    ("field,code,text\nduration,R1,x\namount,R1,y\n", r"line 3: the code 'R1' has two statements \('x' and 'y'\)"),
    ("field,code,text\nduration," + "R" * 33 + ",x\n", r"a code is at most 32 characters"),
    ("field,code,text\nduration,R1,\"a\nb\"\n", r"holds a control character"),
    ("field,code,text\nduration,R1,x\n", r"gives no code for 3 of the model's reason fields: amount, age, purpose"),
    # A spreadsheet opening score's CSV runs a cell starting a formula (a fair-lending walk-through).
    ("field,code,text\nduration,=1+1,x\n", r"line 2: the code or statement of 'duration' starts with '=', which a "
                                           r"spreadsheet opening score's CSV output runs as a formula"),
    ("field,code,text\nduration,R1,@SUM(A1)\n", r"line 2: the code or statement of 'duration' starts with '@'"),
])
def test_a_bad_table_is_refused_naming_the_line_and_the_fix(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        ReasonCodes.parse(text, FIELDS, source="codes.csv")


def test_errors_name_the_files_line_and_a_spreadsheets_habits_are_accepted() -> None:
    """Blank rows and a statement over two lines do not shift the line named; trailing empty cells
    (a spreadsheet's ",,") are no value; a code that reads as missing in a CSV is refused."""
    text = "field,code,text\n\n\nduration,R05,\"Amount, or term\"\n\namount,R05,\"Amount, or term\"\nage,R90,Age\nprupose,R12,x\n"
    with pytest.raises(ConfigError, match=r"line 8: the model has no field 'prupose'. Did you mean 'purpose'\?"):
        ReasonCodes.parse(text, FIELDS, source="codes.csv")
    with pytest.raises(ConfigError, match=r"line 3: the code or statement of 'amount' holds a control character"):
        ReasonCodes.parse("field,code,text\n\namount,R05,\"two\nlines\"\nage,R90,Age\n", FIELDS)
    padded = "field,code,text,,\r\n" + "".join(f"{f},C{i},s{i},,\r\n" for i, f in enumerate(FIELDS))
    assert ReasonCodes.parse(padded, FIELDS).codes == ("C0", "C1", "C2", "C3")
    for missing in ("NA", "null", "N/A", "None", "nan"):
        with pytest.raises(ConfigError, match=rf"line 2: the code '{missing}' of 'duration' reads as a missing value"):
            ReasonCodes.parse(f"field,code,text\nduration,{missing},x\n", FIELDS)
    codes = ReasonCodes.parse(TABLE, FIELDS)
    again = ReasonCodes.from_dict(json.loads(json.dumps(codes.to_dict())), FIELDS)
    assert (again.code_of, again.text_of, again.codes, again.sha256) == (codes.code_of, codes.text_of, codes.codes,
                                                                         codes.sha256)
    with pytest.raises(ConfigError, match=r"does not map this model's reason fields"):
        ReasonCodes.from_dict(codes.to_dict(), ("duration", "amount"))


def test_the_file_is_read_as_untrusted_input(tmp_path: Path) -> None:
    good = tmp_path / "codes.csv"
    good.write_bytes(b"\xef\xbb\xbf" + TABLE.encode())  # a spreadsheet's CSV UTF-8 starts with a byte-order mark
    assert ReasonCodes.read(good, FIELDS).codes == ("R05", "R90", "R12")
    link = tmp_path / "link.csv"
    os.symlink(good, link)
    with pytest.raises(ConfigError, match=r"is a symbolic link; pass the file itself"):
        ReasonCodes.read(link, FIELDS)
    (tmp_path / "big.csv").write_bytes(b"x" * (MAX_BYTES + 1))
    with pytest.raises(ConfigError, match=r"is 1,048,577 bytes or more; a reason-codes table may be at most"):
        ReasonCodes.read(tmp_path / "big.csv", FIELDS)
    (tmp_path / "latin.csv").write_bytes("field,code,text\nage,R9,\xe2ge\n".encode("latin-1"))
    with pytest.raises(ConfigError, match=r"is not UTF-8 text \(byte 23 is 0xe2\); save it as CSV UTF-8"):
        ReasonCodes.read(tmp_path / "latin.csv", FIELDS)
    with pytest.raises(ConfigError, match=r"Cannot read the reason-codes file .*missing.csv"):
        ReasonCodes.read(tmp_path / "missing.csv", FIELDS)
    with pytest.raises(ConfigError, match=r"Cannot read the reason-codes file .*not a regular file"):
        ReasonCodes.read(tmp_path, FIELDS)
    codes = ReasonCodes.read(good, FIELDS)
    with pytest.raises(ConfigError, match=r"were read for the fields duration, amount, age, purpose"):
        codes.check_fields(("duration", "amount"), "another model")


@given(st.lists(st.integers(0, 3), min_size=4, max_size=4),
       st.lists(st.floats(-5, 5, allow_nan=False), min_size=4, max_size=4))
def test_a_codes_contribution_is_the_sum_of_its_fields(assignment: list[int], contributions: list[float]) -> None:
    lines = ["field,code,text"] + [f"{f},C{c},statement {c}" for f, c in zip(FIELDS, assignment, strict=True)]
    codes = ReasonCodes.parse("\n".join(lines), FIELDS)
    summed = np.asarray(contributions) @ codes.grouping
    by_hand: dict[str, float] = {}
    for f, value in zip(FIELDS, contributions, strict=True):
        by_hand[codes.code_of[f]] = by_hand.get(codes.code_of[f], 0.0) + value
    assert summed.tolist() == pytest.approx([by_hand[c] for c in codes.codes])


# -- on the session's exported German student ------------------------------------------------------
def _write_codes(predictor: Predictor, path: Path) -> ReasonCodes:
    """Amount and duration under one code, the other fields one each (as a lender's table often does)."""
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["field", "code", "text"])
        for i, name in enumerate(predictor.reason_fields):
            if name in ("duration_in_month", "credit_amount"):
                w.writerow([name, "AT01", "Amount or term of the credit requested"])
            else:
                w.writerow([name, f"R{i:02d}", f"Your {name.replace('_', ' ')}"])
    return predictor.read_reason_codes(path)


def _expected(predictor: Predictor, codes: ReasonCodes, x: np.ndarray, top: int) -> list[list[tuple[str, float]]]:
    """Per row, the top codes by the summed contributions of their fields, computed by hand."""
    contributions = predictor._reason_model().contributions(x)  # each field's, as Predictor.reasons ranks them
    out = []
    for row in contributions:
        totals: dict[str, float] = {}
        for name, value in zip(predictor.reason_fields, row, strict=True):
            totals[codes.code_of[name]] = totals.get(codes.code_of[name], 0.0) + float(value)
        ranked = sorted(totals.items(), key=lambda kv: (-kv[1], codes.codes.index(kv[0])))
        # A reason is at least 5 % of the row's positive push (the largest always is one).
        floor = min(0.05 * sum(v for v in totals.values() if v > 0), max(totals.values()))
        out.append([(c, v) for c, v in ranked if v > 0 and round(v, 6) >= round(floor, 6)][:top])
    return out


@pytest.mark.slow
def test_the_predictor_ranks_codes_by_their_fields_summed(exported_dir: Path, german: pd.DataFrame,
                                                          tmp_path: Path) -> None:
    predictor = Predictor(exported_dir)
    codes = _write_codes(predictor, tmp_path / "codes.csv")
    records = german[predictor.fields].head(80)
    got = predictor.reasons(records, 3, codes)
    expected = _expected(predictor, codes, predictor.encode(records), 3)
    assert any(len(r) for r in got)
    for mine, theirs in zip(got, expected, strict=True):
        assert [(r["code"], r["contribution"]) for r in mine] == [(c, pytest.approx(v, abs=2e-6)) for c, v in theirs]
        for r in mine:
            assert r["text"] == codes.text_of[r["code"]] and r["fields"] == codes.fields_of(r["code"])
    assert any(r["code"] == "AT01" for row in got for r in row)  # the shared code is cited
    with pytest.raises(ConfigError, match=r"'top' parameter must be a positive whole number of at most 19"):
        predictor.reasons(records, 20, codes)  # 20 fields, 19 codes


@pytest.mark.slow
def test_score_and_serve_give_the_codes_and_record_the_table(exported_dir: Path, german: pd.DataFrame,
                                                             german_csv: Path, tmp_path: Path) -> None:
    predictor = Predictor(exported_dir)
    path = tmp_path / "codes.csv"
    codes = _write_codes(predictor, path)
    frame = german.drop(columns="creditability")
    expected = predictor.reasons(frame, 3, codes)
    out = tmp_path / "scores.parquet"
    result = CliRunner().invoke(app, ["score", str(exported_dir), str(german_csv), "-o", str(out), "--reasons", "3",
                                      "--reason-codes", str(path), "--chunk-rows", "300", "-q"])
    assert result.exit_code == 0, result.output
    got = pd.read_parquet(out)
    for i, row in enumerate(got.itertuples(index=False)):
        wanted = [r["code"] for r in expected[i]] if row.decision else []
        assert [v for v in (row.reason_1, row.reason_2, row.reason_3) if pd.notna(v)] == wanted
    meta = json.loads(pq.ParquetFile(out).metadata.metadata[b"finlite.provenance"])
    assert meta["reason_codes"]["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert meta["reason_codes"]["codes"]["AT01"]["fields"] == ["duration_in_month", "credit_amount"]
    assert "the lender's reason codes" in meta["columns"]["reason_1"]
    # A protected field's citation is told by its code and the field behind it (age_in_years is among
    # the German student's reasons).
    age = codes.code_of["age_in_years"]
    cited = int((got[["reason_1", "reason_2", "reason_3"]] == age).any(axis=1).sum())
    assert cited > 0 and f"{age} (age_in_years) in {cited:,} of the " in result.output.replace("\n", " ")
    assert predictor.reasons(frame.head(5), 3, path) == expected[:5]  # the table's path does as well

    records = frame.head(60).to_dict("records")
    decided = predictor.predict(records)
    client = TestClient(create_app(exported_dir, audit=AuditLog(tmp_path / "audit.jsonl"), reasons=3,
                                   reason_codes=path))
    many = client.post("/predict", json={"records": records}).json()["results"]
    for i, answer in enumerate(many):
        assert answer.get("reasons") == (expected[i] if decided[i] else None)
    first = int(np.flatnonzero(decided)[0])
    assert client.post("/predict", json=records[first]).json()["reasons"] == expected[first]
    assert client.get("/metadata").json()["reason_codes"] == codes.to_dict()
    audited = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert audited[first]["reasons"] == expected[first]

    # Refused before anything is scored or served.
    bad = tmp_path / "bad.csv"
    bad.write_text("field,code,text\nage_in_year,R1,Age\n")
    with socket.socket() as probe:  # a port that is free now: the table is refused, not the port
        probe.bind(("127.0.0.1", 0))
        port = str(probe.getsockname()[1])
    cases = [
        (["score", str(exported_dir), str(german_csv), "-o", str(tmp_path / "x.csv"), "--reasons", "2",
          "--reason-codes", str(bad)], "the model has no field 'age_in_year'. Did you mean 'age_in_years'?"),
        (["score", str(exported_dir), str(german_csv), "-o", str(tmp_path / "x.csv"), "--reason-codes", str(path)],
         "they need reasons (e.g. --reasons 4)"),
        (["score", str(exported_dir), str(german_csv), "-o", str(path), "--force", "--reasons", "2", "--reason-codes",
          str(path)], "is the --reason-codes file"),  # an output never replaces an input, even with --force
        (["serve", str(exported_dir), "--no-audit", "--reason-codes", str(path)], "--reason-codes names the reasons "
         "given with a decision; it needs --reasons N"),
        (["serve", str(exported_dir), "--no-audit", "--reasons", "2", "--reason-codes", str(bad), "--port", port],
         "the model has no field 'age_in_year'"),
    ]
    for args, message in cases:
        refused = CliRunner().invoke(app, args)
        assert refused.exit_code == 2, (args, refused.output)
        assert message in refused.output and "Traceback" not in refused.output, (args, refused.output)
    assert not (tmp_path / "x.csv").exists() and ReasonCodes.read(path, predictor.reason_fields).sha256 == codes.sha256
    with pytest.raises(ConfigError, match=r"is the reason-codes file"):
        score_file(predictor, german_csv, path, overwrite=True, reasons=2, reason_codes=codes)
    with pytest.raises(ConfigError, match=r"Reason codes name the reasons given with a decision; they need reasons"):
        create_app(exported_dir, reason_codes=path)


@pytest.mark.slow
def test_every_worker_of_serve_gives_the_table_its_parent_read(exported_dir: Path, german: pd.DataFrame,
                                                               tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                               forecast_dir: Path) -> None:
    """serve --workers N: each worker reads the table again and refuses bytes other than those its
    parent read and checked, so no two workers give different codes."""
    from dataclasses import asdict

    from finlite.runtime.service import ServeSettings, app_from_environment

    predictor = Predictor(exported_dir)
    path = tmp_path / "codes.csv"
    codes = _write_codes(predictor, path)
    settings = ServeSettings(artifact=str(exported_dir), reasons=2, reason_codes=str(path), allowed_hosts=("testserver",),
                             reason_codes_sha256=codes.sha256)
    monkeypatch.setenv("FINLITE_SERVE_SETTINGS", json.dumps(asdict(settings)))
    client = TestClient(app_from_environment())
    assert client.get("/metadata").json()["reason_codes"]["sha256"] == codes.sha256
    records = german[predictor.fields].head(40).to_dict("records")
    first = int(np.flatnonzero(predictor.predict(records))[0])
    assert client.post("/predict", json=records[first]).json()["reasons"] == predictor.reasons(
        records[first:first + 1], 2, codes)[0]
    path.write_text(path.read_text().replace("Amount or term", "Size or term"))  # edited after the start
    with pytest.raises(ConfigError, match=r"changed after the service started .* Restart the service"):
        app_from_environment()
    with pytest.raises(ConfigError, match=r"holds a forecaster; adverse-action reasons .* Drop --reasons and"):
        create_app(forecast_dir, reason_codes=path)


def test_a_code_that_files_a_protected_field_under_another_statement_is_warned_of(
        exported_dir: Path, german_csv: Path, tmp_path: Path) -> None:
    """age_in_years mapped to "Length of employment" beside present_employment_since was accepted
    without a word: a decline age caused was stated as employment (a compliance review,
    2026-12-06). score's notes and serve's start say which code mixes a protected field with others."""
    from finlite.runtime.batch import score_file
    from finlite.runtime.reason_codes import masked_protected_notes

    predictor = Predictor(exported_dir)
    path = tmp_path / "codes.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["field", "code", "text"])
        for i, name in enumerate(predictor.reason_fields):
            shared = name in ("age_in_years", "present_employment_since")
            w.writerow([name, "R06" if shared else f"C{i:02d}", "Length of employment" if shared else name])
    codes = predictor.read_reason_codes(path)
    (note,) = masked_protected_notes(predictor, codes)
    assert note.startswith("warning: reason code R06 ('Length of employment') stands for the protected field(s) "
                           "age_in_years and for present_employment_since")
    summary = score_file(predictor, german_csv, tmp_path / "out.csv", reasons=2, reason_codes=path)
    assert note in summary.notes
    assert masked_protected_notes(predictor, _write_codes(predictor, tmp_path / "plain.csv")) == []
    assert masked_protected_notes(predictor, None) == []
    # Two codes of one statement disguise it too (age as C99 "Length of employment" beside employment's
    # C11 of the same words: a fair-lending walk-through, 2026-12-07).
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["field", "code", "text"])
        for i, name in enumerate(predictor.reason_fields):
            alike = {"age_in_years": "C99", "present_employment_since": "C11"}.get(name)
            w.writerow([name, alike or f"C{i:02d}", "Length of employment" if alike else name])
    (note,) = masked_protected_notes(predictor, predictor.read_reason_codes(path))
    pair = sorted(["C11 (present_employment_since)", "C99 (age_in_years)"],
                  key=lambda c: predictor.reason_fields.index(c.split("(")[1].rstrip(")")))
    assert note.startswith(f"warning: reason codes {', '.join(pair)} print the same statement ('Length of "
                           "employment'), and C99 stand(s) for a protected field"), note
