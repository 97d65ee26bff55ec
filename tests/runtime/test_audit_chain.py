"""The audit log's hash chain (finlite.runtime.audit) and 'finlite audit': an edited, inserted or
removed decision line is found and named; an untouched log, written by several workers and
rotated, verifies."""

from __future__ import annotations

import hashlib
import itertools
import json
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from finlite.cli import app
from finlite.errors import DataError
from finlite.runtime.audit import CHAIN_KEY, chain_lines, verify_audit_log
from finlite.runtime.service import AuditLog, create_app


def _entry(i: int) -> dict[str, object]:
    return {"event": "prediction", "time": f"2026-12-06T18:00:{i % 60:02d}.000Z", "request_id": f"r{i}", "score": i / 100,
            "decision": i % 2}


def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def test_each_line_links_to_the_one_before_whichever_worker_wrote_it(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    one, two = AuditLog(path), AuditLog(path)  # two workers' handles on one file
    for i in range(6):
        (one if i % 3 else two).write([_entry(i)])
    one.write([_entry(6), _entry(7)])  # a batch: one write of two lines
    lines = _lines(path)
    assert len(lines) == 8
    # By hand: the first line links to nothing, each other to the sha256 of the bytes before it.
    assert json.loads(lines[0])[CHAIN_KEY] is None
    for before, line in itertools.pairwise(lines):
        assert json.loads(line)[CHAIN_KEY] == hashlib.sha256(before).hexdigest()
    assert lines[0].endswith(b',"prev_sha256":null}\n')  # the link is the line's last key
    check = verify_audit_log([path])
    assert check.intact and check.lines == 8 and check.events == {"prediction": 8}
    assert check.last_sha256 == hashlib.sha256(lines[-1]).hexdigest()
    result = CliRunner().invoke(app, ["audit", str(path)])
    assert result.exit_code == 0, result.output
    assert "8 audit line(s) in 1 file(s) (8 prediction)" in result.output and "intact" in result.output
    assert check.last_sha256 in result.output


def test_a_log_named_twice_or_beside_its_copy_is_refused(tmp_path: Path) -> None:
    """The same file named twice, or a rotated file beside a .gz made from it, was "intact" with
    its decisions counted twice (an MLOps walk-through, 2026-12-06)."""
    import gzip
    import os

    path = tmp_path / "audit.jsonl.1"
    log = AuditLog(path)
    log.write([_entry(i) for i in range(3)])
    log.close()
    with pytest.raises(DataError, match=r"audit.jsonl.1' is named twice: its lines would be checked and counted twice"):
        verify_audit_log([path, path])
    os.link(path, tmp_path / "hard.jsonl")
    with pytest.raises(DataError, match=r"hard.jsonl' is named twice \(as '.*audit.jsonl.1'\)"):
        verify_audit_log([path, tmp_path / "hard.jsonl"])
    (tmp_path / "audit.jsonl.1.gz").write_bytes(gzip.compress(path.read_bytes()))
    with pytest.raises(DataError, match=r"audit.jsonl.1' and '.*audit.jsonl.1.gz' begin with the same line: one is a "
                                        r"copy of the other"):
        verify_audit_log([path, tmp_path / "audit.jsonl.1.gz"])
    result = CliRunner().invoke(app, ["audit", str(path), str(path)])
    assert result.exit_code == 2 and "named twice" in result.output
    assert verify_audit_log([path]).lines == 3


@pytest.mark.parametrize("tamper,line,why", [
    ("edit", 4, "its prev_sha256 is not the sha256 of the line before it"),
    ("delete", 4, "its prev_sha256 is not the sha256 of the line before it"),
    ("insert", 4, "a chain starts again here"),
    # A line with no link at all: inserted, or appended by a finlite from before the chain (a
    # rollback; an upgrade walk-through, 2026-12-07).
    ("unlinked", 4, "no prev_sha256 after the chain began: this line was inserted, or written by a finlite before "
                    "2026-12-06 (a rollback) appending to this log"),
    ("head", 1, "the file's first line links to a line before it"),
    ("cut", 6, "the last line is cut short"),
])
def test_an_altered_log_is_found_and_the_break_named(tmp_path: Path, tamper: str, line: int, why: str) -> None:
    path = tmp_path / "audit.jsonl"
    log = AuditLog(path)
    for i in range(6):
        log.write([_entry(i)])
    log.close()
    lines = _lines(path)
    if tamper == "edit":  # an approval turned into a decline
        lines[2] = lines[2].replace(b'"decision":0', b'"decision":1')
    elif tamper == "delete":
        del lines[3]
    elif tamper == "insert":
        lines.insert(3, json.dumps({**_entry(99), CHAIN_KEY: None}).encode() + b"\n")
    elif tamper == "unlinked":
        lines.insert(3, json.dumps(_entry(99)).encode() + b"\n")
    elif tamper == "head":
        del lines[0]
    else:
        lines[-1] = lines[-1][:-10]
    path.write_bytes(b"".join(lines))
    check = verify_audit_log([path])
    assert not check.intact and check.breaks[0]["line"] == line and why in check.breaks[0]["why"]
    result = CliRunner().invoke(app, ["audit", str(path), "--json"])
    assert result.exit_code == 1
    assert json.loads(result.output)["breaks"][0]["line"] == line


def test_a_rotated_log_starts_a_chain_per_file_and_both_verify(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    log = AuditLog(path)
    log.write([_entry(0)])
    log.write([_entry(1)])
    path.rename(tmp_path / "audit.jsonl.1")  # logrotate with nocreate
    log.write([_entry(2)])
    assert json.loads(_lines(path)[0])[CHAIN_KEY] is None
    check = verify_audit_log([tmp_path / "audit.jsonl.1", path])
    assert check.intact and check.lines == 3
    # With the service's start line known, a new file opens with it again, marked: read alone, the
    # file names what served its decisions (a rotated file began with a bare prediction).
    log.opening = {"event": "start", "time": "2026-12-06T18:00:00.000Z", "pid": 7, "model_sha256": "ab" * 32}
    path.rename(tmp_path / "audit.jsonl.2")
    log.write([_entry(3)])
    first, second = (json.loads(x) for x in _lines(path))
    assert first["event"] == "start" and first["continued"] is True and first["pid"] == 7
    assert first["started"] == "2026-12-06T18:00:00.000Z" and first["time"] != first["started"]
    assert second["request_id"] == "r3" and verify_audit_log([path]).intact
    log.write([_entry(4)])  # not again within the file
    assert sum(json.loads(x)["event"] == "start" for x in _lines(path)) == 1


def test_an_unchained_or_foreign_file_is_not_verified(tmp_path: Path) -> None:
    old = tmp_path / "old.jsonl"  # a log from before the chain: nothing to check it by
    old.write_text("".join(json.dumps(_entry(i)) + "\n" for i in range(3)))
    result = CliRunner().invoke(app, ["audit", str(old)])
    assert result.exit_code == 1 and "NOT VERIFIED: no line carries a prev_sha256" in result.output
    csv = tmp_path / "scores.csv"
    csv.write_text("a,b\n1,2\n")
    with pytest.raises(DataError, match="does not start with a JSON line; it is not a finlite audit log"):
        verify_audit_log([csv])
    link = tmp_path / "link.jsonl"
    link.symlink_to(old)
    result = CliRunner().invoke(app, ["audit", str(link)])
    assert result.exit_code == 2 and "is a symbolic link" in result.output
    result = CliRunner().invoke(app, ["audit", str(tmp_path / "missing.jsonl")])
    assert result.exit_code == 2 and "does not exist" in result.output
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    result = CliRunner().invoke(app, ["audit", str(empty)])
    assert result.exit_code == 1 and "holds no audit line" in result.output


def test_serve_chains_its_lines_and_names_the_client(exported_dir: Path, german: pd.DataFrame, tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    log = AuditLog(path)
    client = TestClient(create_app(exported_dir, audit=log))
    records = german.drop(columns="creditability").head(3).to_dict("records")
    assert client.post("/predict", json=records[0]).status_code == 200
    assert client.post("/predict", json={"records": records[1:]}).status_code == 200
    lines = [json.loads(x) for x in _lines(path)]
    decisions = [x for x in lines if x["event"] == "prediction"]
    assert len(decisions) == 3 and all(x["client"] == "testclient" for x in decisions)
    assert verify_audit_log([path]).intact


@settings(max_examples=60, deadline=None)
@given(n=st.integers(2, 12), where=st.data())
def test_any_edit_or_removal_before_the_last_line_breaks_the_chain(n: int, where: st.DataObject) -> None:
    """Property: chain n lines; change a byte of any line but the last, or remove any line but the
    last: the chain breaks, at the line after the change."""
    data, _ = chain_lines([json.dumps(_entry(i)).encode() + b"\n" for i in range(n)], None)
    lines = data.splitlines(keepends=True)
    k = where.draw(st.integers(0, n - 2))
    edit = where.draw(st.booleans())
    if edit:
        lines[k] = lines[k].replace(b'"request_id": "r', b'"request_id": "x', 1)
        assert b'"x' in lines[k]
    else:
        del lines[k]
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "audit.jsonl"
        path.write_bytes(b"".join(lines))
        check = verify_audit_log([path])
    # An edited line k (from 0) breaks the next line's link, k + 2 counted from 1; a removed one
    # leaves the line after it in its place, linked to the removed line: k + 1.
    assert not check.intact and check.breaks[0]["line"] == (k + 2 if edit else k + 1)


def test_a_recorded_line_an_older_prefix_rotation_order_and_crashes_are_told_right(tmp_path: Path) -> None:
    """A review of the chain (2026-12-06): the 'last line' came from whichever file was named last
    (a glob lists audit.jsonl before audit.jsonl.1); a log an older finlite began never verified;
    a cut line counted twice; nothing checked a sha256 recorded earlier; .gz files were refused."""
    import gzip

    path = tmp_path / "audit.jsonl"
    path.write_text("".join(json.dumps(_entry(i)) + "\n" for i in range(2)))  # an older finlite's lines
    log = AuditLog(path)
    log.write([_entry(2)])
    log.write([_entry(3)])
    check = verify_audit_log([path])
    assert check.intact and check.unchained_prefix == 2 and check.per_file[0]["unchained_prefix"] == 2
    result = CliRunner().invoke(app, ["audit", str(path)])
    assert result.exit_code == 0 and "its first 2 line(s) were written before the chain began" in result.output
    recorded = check.last_sha256
    path.rename(tmp_path / "audit.jsonl.1")
    log.write([_entry(4)])
    newest = hashlib.sha256(_lines(path)[-1]).hexdigest()
    # Named as a glob sorts them: the newest line is still the live file's.
    both = verify_audit_log(sorted(tmp_path.glob("audit.jsonl*")))
    assert both.intact and both.last_sha256 == newest and both.last_time == _entry(4)["time"]
    # The line recorded earlier is found, in the rotated file ...
    found = verify_audit_log([path, tmp_path / "audit.jsonl.1"], expect=recorded)
    assert found.intact and found.expected == {"sha256": recorded, "found": True,
                                               "file": str(tmp_path / "audit.jsonl.1"), "line": 4}
    # ... and, once it is cut away, its absence fails the check.
    rotated = _lines(tmp_path / "audit.jsonl.1")
    (tmp_path / "audit.jsonl.1").write_bytes(b"".join(rotated[:-1]))
    cut = CliRunner().invoke(app, ["audit", str(tmp_path / "audit.jsonl.1"), "--expect", recorded])
    assert cut.exit_code == 1 and "NOT FOUND: lines were cut from the log's end, or changed" in cut.output
    bad = CliRunner().invoke(app, ["audit", str(path), "--expect", "abc"])
    assert bad.exit_code == 2 and "--expect takes a sha256 of 64 hexadecimal digits" in bad.output
    # logrotate's compressed files are read.
    packed = tmp_path / "audit.jsonl.2.gz"
    packed.write_bytes(gzip.compress(b"".join(rotated)))
    assert verify_audit_log([packed]).intact
    # A write cut short by a crash: one break, said as a cut; alone in a file, a break too, not a refusal.
    crashed = tmp_path / "crashed.jsonl"
    crashed.write_bytes(b"".join(rotated[:-1]) + rotated[-1][:-20])
    check = verify_audit_log([crashed])
    assert check.break_count == 1 and "cut short" in check.breaks[0]["why"]
    only = tmp_path / "only.jsonl"
    only.write_bytes(rotated[0][:-20])
    assert verify_audit_log([only]).break_count == 1


def test_a_stripped_rotated_file_a_damaged_gz_and_a_late_prefix_are_not_intact(tmp_path: Path) -> None:
    """A review (2026-12-06): a rotated file with every link stripped and its decisions flipped was
    'intact' beside a chained live file; a damaged .gz ended in a traceback."""
    import gzip

    path = tmp_path / "audit.jsonl"
    log = AuditLog(path)
    log.write([_entry(0)])
    log.write([_entry(1)])
    path.rename(tmp_path / "audit.jsonl.1")
    log.write([_entry(2)])
    rotated = tmp_path / "audit.jsonl.1"
    stripped = [json.loads(x) for x in _lines(rotated)]
    rotated.write_text("".join(json.dumps({**{k: v for k, v in e.items() if k != CHAIN_KEY},
                                           "decision": 1 - e["decision"]}) + "\n" for e in stripped))
    check = verify_audit_log([path, rotated])
    assert not check.intact and check.unverified_files == [str(rotated)] and not check.break_count
    told = CliRunner().invoke(app, ["audit", str(path), str(rotated)])
    assert told.exit_code == 1 and f"NOT VERIFIED: {rotated}: no line carries a prev_sha256" in told.output
    assert verify_audit_log([path]).intact  # the chained file alone
    # An empty file (logrotate's create) names no newest line of its own, and hides none.
    empty = tmp_path / "audit.jsonl.0"
    empty.write_bytes(b"")
    assert verify_audit_log([path, empty]).last_sha256 == hashlib.sha256(_lines(path)[-1]).hexdigest()
    # A copytruncate between a worker's size check and its write: the emptied file's first line
    # links to the copy's last line, which continues the chain across the two files given together.
    copy = tmp_path / "copy.jsonl"
    copy.write_bytes(b"".join(_lines(path)))
    after, _ = chain_lines([json.dumps(_entry(9)).encode() + b"\n"], hashlib.sha256(_lines(copy)[-1]).hexdigest())
    truncated = tmp_path / "truncated.jsonl"
    truncated.write_bytes(after)
    assert verify_audit_log([copy, truncated]).intact and not verify_audit_log([truncated]).intact
    # Lines without a link dated after the chain began are no older finlite's prefix.
    late = tmp_path / "late.jsonl"
    chained = _lines(path)
    late.write_bytes(json.dumps({**_entry(59), "time": "2026-12-07T00:00:00.000Z"}).encode() + b"\n" + b"".join(chained))
    assert not verify_audit_log([late]).intact
    packed = tmp_path / "audit.jsonl.2.gz"
    packed.write_bytes(gzip.compress(b"".join(chained))[:-12])  # cut short
    result = CliRunner().invoke(app, ["audit", str(packed)])
    assert result.exit_code == 2 and "is damaged or cut short" in result.output and "Traceback" not in result.output
    packed.write_bytes(b"\x1f\x8b\x08\x00" + b"\x00" * 40)  # a gzip header and garbage
    result = CliRunner().invoke(app, ["audit", str(packed)])
    assert result.exit_code == 2 and "Traceback" not in result.output
    # Files with no time to order them by: no newest line is named (the last one given could be the oldest).
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    for target, start in ((a, 0), (b, 5)):
        data, _ = chain_lines([json.dumps({"event": "prediction", "n": start + i}).encode() + b"\n" for i in range(2)],
                              None)
        target.write_bytes(data)
    assert verify_audit_log([a, b]).last_sha256 is None and verify_audit_log([a]).last_sha256 is not None
