"""The service under abuse: hostile bodies, non-finite numbers, broken scores, bad options.

Every case asserts the HTTP status (or exit code) and the message; a Schemathesis run fuzzes
the API from its own OpenAPI schema and must find no 5xx.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from finlite._finite import check_scores, record_score_error
from finlite.cli import app as cli
from finlite.errors import ConfigError
from finlite.runtime import Predictor, service
from finlite.runtime.service import MAX_ERRORS, AuditLog, bounded_http_protocol, create_app

TOKEN = "t0ken-for-abuse-tests"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
JSON = {"Content-Type": "application/json"}
NUMERIC = "credit_amount"


@pytest.fixture(scope="module")
def predictor(exported_dir: Path) -> Predictor:
    return Predictor(exported_dir)


@pytest.fixture(scope="module")
def record(predictor: Predictor, german: pd.DataFrame) -> dict[str, Any]:
    return german[predictor.fields].head(1).to_dict("records")[0]


@pytest.fixture()
def audit_path(tmp_path: Path) -> Path:
    return tmp_path / "audit.jsonl"


@pytest.fixture()
def client(predictor: Predictor, audit_path: Path) -> TestClient:
    return TestClient(create_app(predictor, token=TOKEN, audit=AuditLog(audit_path), max_body_bytes=100_000),
                      headers=JSON)


def _with(record: dict[str, Any], field: str, literal: str) -> bytes:
    """The record as JSON text with ``field``'s value replaced by the raw JSON ``literal``."""
    return json.dumps(dict(record, **{field: "@@"})).replace('"@@"', literal).encode()


def _only(response: httpx.Response) -> dict[str, Any]:
    body = response.json()
    assert body["error_count"] == len(body["detail"]) == 1, body
    return body["detail"][0]


def _audit(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


# -- JSON parsing ----------------------------------------------------------------------------------
@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_literals_are_422(client: TestClient, record: dict, literal: str) -> None:
    response = client.post("/predict", content=_with(record, NUMERIC, literal), headers=AUTH)
    assert response.status_code == 422
    error = _only(response)
    # The field holding the literal is named (it was the body as a whole: a fuzz, 2026-12-07).
    assert error["type"] == "json_invalid" and error["loc"] == ["body", NUMERIC]
    assert error["msg"].startswith(f"{literal} is not a JSON number") and "send null" in error["msg"]
    batch = json.dumps({"records": [record, "@@"]}).replace('"@@"', _with(record, NUMERIC, literal).decode())
    error = _only(client.post("/predict", content=batch, headers=AUTH))
    assert error["loc"] == ["body", "records", 1, NUMERIC] and error["type"] == "json_invalid"
    # The first in the body's order, wherever it nests; the loop reads a deep body without recursion.
    nested = b'{"b": [1, {"c": [2, ' + literal.encode() + b']}], "a": NaN}'
    assert _only(client.post("/predict", content=nested, headers=AUTH))["loc"] == ["body", "b", 1, "c", 1]
    deep = b"[" * 900 + literal.encode() + b"]" * 900
    error = _only(client.post("/predict", content=deep, headers=AUTH))
    assert error["loc"] == ["body", *[0] * 900] and error["msg"].startswith(f"{literal} is not")


@pytest.mark.parametrize(("literal", "kind", "words"), [
    ("1e400", "value", "is not finite"),            # a JSON number that overflows a double: infinity
    ("1e300", "value", "does not fit the model's float32"),
    ('"1e309"', "value", "is not finite"),          # numeric text that parses to infinity
    ("-1e39", "value", "does not fit the model's float32"),
    # An integer beyond 64 bits was refused for the body as a whole (a review, 2026-12-06): now at
    # its field, read as the float it is (infinity past a double's range).
    ("1" + "0" * 400, "value", "is not finite"),
    ("-1" + "0" * 400, "value", "is not finite"),
    ("1" + "0" * 40, "value", "does not fit the model's float32"),
    ("true", "type", "got a boolean"),              # a boolean is not a number (it used to score as 1)
    ("false", "type", "got a boolean"),
])
def test_refused_numbers_are_422_at_their_field(client: TestClient, record: dict, audit_path: Path, literal: str,
                                                 kind: str, words: str) -> None:
    response = client.post("/predict", content=_with(record, NUMERIC, literal), headers=AUTH)
    assert response.status_code == 422
    error = _only(response)
    assert error["loc"] == ["body", NUMERIC] and error["type"] == kind and words in error["msg"]
    if words == "is not finite":  # the client sent a finite literal: why it reads as infinity is said
        assert "a number beyond ±1.8e308, such as 1e309, reads as infinity" in error["msg"]
    batch = json.dumps({"records": [record, "@@"]}).replace('"@@"', _with(record, NUMERIC, literal).decode())
    error = _only(client.post("/predict", content=batch, headers=AUTH))
    assert error["loc"] == ["body", "records", 1, NUMERIC] and error["type"] == kind
    assert _audit(audit_path) == []  # nothing decided, nothing audited


def test_deep_nesting_and_bad_bytes_are_422(client: TestClient) -> None:
    for body in (b"[" * 10_000 + b"]" * 10_000, b'{"a":' * 10_000 + b"1" + b"}" * 10_000):
        error = _only(client.post("/predict", content=body, headers=AUTH))
        assert error["type"] == "json_invalid" and "nested deeper than 1024 levels" in error["msg"]
    for body, words in ((b"", "empty document"), (b"\xff\xfe{}", "the body is not valid UTF-8: byte 0 is b'\\xff'"),
                        (b'{"a": "ow\xff"}', "the body is not valid UTF-8: byte 9 is b'\\xff'; send JSON as UTF-8"),
                        (b"{not json", "invalid JSON"),
                        (b'{"a": 1e400, "b": NaN}', "NaN is not a JSON number"),
                        (b'{"a": 1e400, "b": "\\ud800"}', "cannot be processed (str is not valid UTF-8")):
        response = client.post("/predict", content=body, headers=AUTH)
        assert response.status_code == 422 and words in _only(response)["msg"], body
    # A deep body holding a number too large for a double: read again by the standard parser, then
    # walked for wide integers; past a few hundred levels that walk raised RecursionError, a 500
    # (found in the final read, 2026-12-06).
    for depth in (300, 600):
        deep = b"[" * depth + b"1e400" + b"]" * depth
        response = client.post("/predict", content=deep, headers=AUTH)
        assert response.status_code == 422 and "nests arrays or objects too deeply" in _only(response)["msg"], depth
    assert "expected a JSON object" in _only(client.post("/predict", json=[1, 2], headers=AUTH))["msg"]
    assert "expected a JSON object" in _only(client.post("/predict", json="text", headers=AUTH))["msg"]


def test_ten_thousand_empty_records_get_a_small_422(predictor: Predictor) -> None:
    client = TestClient(create_app(predictor), headers=JSON)  # default limits: 1 MiB, 10,000 records
    body = b'{"records":[' + b",".join([b"{}"] * 10_000) + b"]}"
    response = client.post("/predict", content=body)
    assert response.status_code == 422 and len(response.content) < 20_000  # it was 26 MB
    payload = response.json()
    assert payload["error_count"] == 10_000 * len(predictor.fields) and len(payload["detail"]) == MAX_ERRORS
    assert payload["detail"][0] == {"loc": ["body", "records", 0, predictor.fields[0]], "type": "missing",
                                    "msg": "field required (a number, or null when unknown)"}


def test_oversize_bodies_are_413_declared_or_streamed(client: TestClient, record: dict) -> None:
    declared = client.post("/predict", content=b" " * 100_001, headers=AUTH)
    assert declared.status_code == 413 and "larger than 100000 bytes" in declared.json()["detail"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit holds while streaming
        for _ in range(200):
            yield b" " * 1_000

    streamed = client.post("/predict", content=chunks(), headers=AUTH)
    assert streamed.status_code == 413 and "larger than 100000 bytes" in streamed.json()["detail"]
    too_many = client.post("/predict", json={"records": [record] * 10_001}, headers=AUTH)
    assert too_many.status_code == 413


def test_request_id_is_checked_and_echoed(client: TestClient, record: dict, audit_path: Path) -> None:
    long_id = client.post("/predict", json=record, headers={**AUTH, "X-Request-ID": "x" * 129})
    assert long_id.status_code == 422 and _only(long_id)["loc"] == ["header", "x-request-id"]
    ok = client.post("/predict", json=record, headers={**AUTH, "X-Request-ID": "abc-123"})
    assert ok.status_code == 200 and ok.headers["x-request-id"] == "abc-123" == ok.json()["request_id"]
    assert [line["request_id"] for line in _audit(audit_path)] == ["abc-123"]


# -- the token on every page -------------------------------------------------------------------------
def test_token_guards_docs_openapi_and_redoc(client: TestClient) -> None:
    for path in ("/docs", "/redoc", "/openapi.json", "/metadata"):
        refused = client.get(path)
        assert refused.status_code == 401 and refused.json() == {"detail": "missing or wrong bearer token"}, path
        assert refused.headers["www-authenticate"] == "Bearer"
        assert client.get(path, headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert client.get(path, headers=AUTH).status_code == 200, path
    assert client.get("/health").status_code == 200  # load balancers need no token
    # The scheme's case does not matter (RFC 7235; "bearer" was refused: a review, 2026-12-03).
    for scheme in ("bearer", "BEARER"):
        assert client.get("/metadata", headers={"Authorization": f"{scheme} {TOKEN}"}).status_code == 200
    assert client.get("/metadata", headers={"Authorization": f"Basic {TOKEN}"}).status_code == 401
    assert client.get("/metadata", headers={"Authorization": TOKEN}).status_code == 401
    two = [("authorization", f"Bearer {TOKEN}"), ("authorization", "Bearer wrong")]
    assert client.get("/metadata", headers=two).status_code == 401  # which one counts differs: neither
    assert client.post("/predict", json={}, headers=[*two, ("content-type", "application/json")]).status_code == 401
    spec = client.get("/openapi.json", headers=AUTH).json()
    assert spec["paths"]["/predict"]["post"]["security"] == [{"bearer": []}]
    assert "/docs" not in spec["paths"] and "/openapi.json" not in spec["paths"]


def test_the_docs_pages_load_nothing_from_another_site(client: TestClient) -> None:
    # FastAPI's defaults load Swagger UI from jsDelivr, ReDoc's fonts from Google and a favicon from
    # fastapi.tiangolo.com: a blank page on an offline network, third-party script beside the token
    # (a review, 2026-12-03). Every file the pages name is served here, behind the token.
    import re

    for page in ("/docs", "/redoc"):
        answer = client.get(page, headers=AUTH)
        html = answer.text
        assert answer.status_code == 200 and "default-src 'none'" in answer.headers["content-security-policy"]
        assert not re.search(r"(?:https?:)?//", html), page  # no absolute URL at all
        assets = re.findall(r'(?:src|href)="(/[^"]+)"', html)
        assert assets, page
        for url in assets:
            assert client.get(url).status_code == 401, url
            served = client.get(url, headers=AUTH)
            assert served.status_code == 200 and len(served.content) > 10_000, url
            assert served.headers["content-type"].startswith(("text/javascript", "text/css")), url
            assert served.headers["x-content-type-options"] == "nosniff"


def test_openapi_describes_the_real_body(predictor: Predictor) -> None:
    spec = TestClient(create_app(predictor)).get("/openapi.json").json()
    body = spec["paths"]["/predict"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    one, many = body["oneOf"]
    assert one["required"] == predictor.fields and one["not"] == {"required": ["records"]}
    number = one["properties"][NUMERIC]["anyOf"]
    assert number[0]["type"] == "number" and number[1] == {"type": "null"}
    assert -3.5e38 < number[0]["minimum"] < number[0]["maximum"] < 3.5e38  # finite, within float32
    assert many["required"] == ["records"] and many["properties"]["records"]["items"] == one
    assert set(spec["paths"]["/predict"]["post"]["responses"]) >= {"200", "401", "413", "422"}


# -- the audit log ------------------------------------------------------------------------------------
def test_audit_file_is_private_and_a_loose_one_is_reported(tmp_path: Path) -> None:
    fresh = AuditLog(tmp_path / "new" / "audit.jsonl")
    assert stat.S_IMODE(os.stat(fresh.path).st_mode) == 0o600 and fresh.warning is None
    fresh.close()
    loose = tmp_path / "loose.jsonl"
    loose.write_text("")
    loose.chmod(0o644)
    audit = AuditLog(loose)
    assert audit.warning is not None and "mode 0644" in audit.warning and "chmod 600" in audit.warning
    audit.close()
    with pytest.raises(Exception, match=r"not a regular file|Cannot open the audit log"):
        AuditLog(tmp_path)


def test_an_audit_log_that_is_a_link_is_refused_and_never_written_through(tmp_path: Path) -> None:
    # A link planted at the log's path would send every decision wherever it points (a review,
    # 2026-12-03: it was followed).
    target = tmp_path / "elsewhere.jsonl"
    target.write_text("")
    link = tmp_path / "audit.jsonl"
    link.symlink_to(target)
    with pytest.raises(ConfigError, match=r"'.*audit.jsonl' is a symbolic link, and finlite never writes through one"):
        AuditLog(link)
    dangling = tmp_path / "dangling.jsonl"
    dangling.symlink_to(tmp_path / "not-yet.jsonl")  # O_CREAT would have made the target
    with pytest.raises(ConfigError, match=r"is a symbolic link"):
        AuditLog(dangling)
    assert target.read_bytes() == b"" and not (tmp_path / "not-yet.jsonl").exists()


def test_a_link_swapped_in_for_the_log_is_no_place_for_a_decision(predictor: Predictor, record: dict,
                                                                     tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    audit = AuditLog(path)
    client = TestClient(create_app(predictor, audit=audit), raise_server_exceptions=False)
    assert client.post("/predict", json=record).status_code == 200
    path.rename(tmp_path / "audit.1.jsonl")
    target = tmp_path / "elsewhere.jsonl"
    target.write_text("")
    path.symlink_to(target)
    refused = client.post("/predict", json=record)
    assert refused.status_code == 500 and "was moved or removed and cannot be opened again at its path" in refused.json()["detail"]
    assert target.read_bytes() == b""
    audit.close()


def test_health_says_unavailable_while_the_audit_log_cannot_take_a_line(predictor: Predictor, record: dict,
                                                                         tmp_path: Path) -> None:
    """/health answered 200 "ok" while every /predict answered 500 for an audit log whose folder
    was moved away (an MLOps walk-through, 2026-12-06): a load balancer kept sending traffic."""
    folder = tmp_path / "logs"
    audit = AuditLog(folder / "audit.jsonl")
    client = TestClient(create_app(predictor, audit=audit), raise_server_exceptions=False)
    assert client.get("/health").status_code == 200 and client.get("/health").json()["status"] == "ok"
    folder.rename(tmp_path / "logs.gone")
    gone = client.get("/health")
    assert gone.status_code == 503 and gone.json()["status"] == "unavailable"
    assert "the audit log's folder is gone: no decision can be recorded" in gone.json()["detail"]
    assert client.head("/health").status_code == 503
    assert client.post("/predict", json=record).status_code == 500
    assert "the last audit write failed" in client.get("/health").json()["detail"]
    (tmp_path / "logs.gone").rename(folder)  # the volume is back
    assert client.get("/health").status_code == 503  # the failure is recent: not yet tried again
    audit._failed_at -= 11  # ten seconds on, a node no request reaches is offered traffic again
    assert client.get("/health").status_code == 200
    assert client.post("/predict", json=record).status_code == 200 and audit.failing is None
    assert client.get("/health").status_code == 200
    audit.close()
    # Without an audit log there is nothing to fail.
    assert TestClient(create_app(predictor)).get("/health").status_code == 200


def test_an_audit_log_of_another_account_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log = tmp_path / "audit.jsonl"
    AuditLog(log).close()
    assert AuditLog(log).warning is None
    monkeypatch.setattr(os, "geteuid", lambda: os.stat(log).st_uid + 1)  # as if another account ran serve
    audit = AuditLog(log)
    assert audit.warning is not None and f"belongs to another user (uid {os.stat(log).st_uid})" in audit.warning
    audit.close()


def test_no_audit_line_for_refused_requests(client: TestClient, record: dict, audit_path: Path) -> None:
    bad = dict(record)
    del bad[NUMERIC]
    assert client.post("/predict", json=record).status_code == 401
    assert client.post("/predict", json=bad, headers=AUTH).status_code == 422
    assert client.post("/predict", content=b"{", headers=AUTH).status_code == 422
    assert client.post("/predict", content=b" " * 100_001, headers=AUTH).status_code == 413
    assert client.post("/predict", json={"records": [record, bad]}, headers=AUTH).status_code == 422
    assert _audit(audit_path) == []
    assert client.post("/predict", json=record, headers=AUTH).status_code == 200
    assert [line["event"] for line in _audit(audit_path)] == ["prediction"]


def _broken(predictor: Predictor, *, single: Any = None, batch: Any = None) -> Predictor:
    """A copy of ``predictor`` whose model answers NaN (or raises), as a broken artifact would."""
    clone = Predictor.__new__(Predictor)
    clone.__dict__.update(predictor.__dict__)
    if single is not None:
        clone.explain_record = single  # type: ignore[method-assign]
    if batch is not None:
        clone.score_vector = batch  # type: ignore[method-assign]
    return clone


def test_a_non_finite_score_is_never_a_decision(predictor: Predictor, record: dict, audit_path: Path) -> None:
    def nan_record(_: Any, imputed: Any = None, outside: Any = None) -> tuple[float, list[str]]:
        raise record_score_error(float("nan"))

    def nan_rows(x: np.ndarray) -> np.ndarray:
        scores = np.full(len(x), 0.25, dtype=np.float32)
        scores[1] = np.nan
        check_scores(scores, "the encoded rows", unit="record", first=0)
        return scores

    def silent_nan(_: Any, imputed: Any = None, outside: Any = None) -> tuple[float, list[str]]:  # no ScoreError: the service checks
        return float("nan"), []

    app = create_app(_broken(predictor, single=nan_record, batch=nan_rows), audit=AuditLog(audit_path))
    client = TestClient(app, headers=JSON)
    one = client.post("/predict", json=record, headers={"X-Request-ID": "r-one"})
    assert one.status_code == 422
    error = _only(one)
    assert error["loc"] == ["body"] and error["type"] == "score" and "no decision was made" in error["msg"]
    many = client.post("/predict", json={"records": [record] * 3}, headers={"X-Request-ID": "r-many"})
    assert many.status_code == 422 and _only(many)["loc"] == ["body", "records", 1]
    silent = TestClient(create_app(_broken(predictor, single=silent_nan), audit=AuditLog(audit_path)), headers=JSON)
    assert silent.post("/predict", json=record, headers={"X-Request-ID": "r-silent"}).status_code == 422
    lines = _audit(audit_path)
    assert [(line["event"], line["request_id"], line["status"], line["records"]) for line in lines] == [
        ("error", "r-one", 422, [0]), ("error", "r-many", 422, [1]), ("error", "r-silent", 422, [0])]
    assert all("score" not in line and "decision" not in line for line in lines)


def test_every_audit_line_has_a_server_id_no_client_chose(predictor: Predictor, record: dict,
                                                           audit_path: Path) -> None:
    """X-Request-ID was the audit log's only key: a client could give two requests one id (a
    review, 2026-12-03). It still names the request (tracing), beside the server's own id."""
    client = TestClient(create_app(predictor, audit=AuditLog(audit_path)), headers=JSON)
    for body in (record, {"records": [record, record]}, record):
        assert client.post("/predict", json=body, headers={"X-Request-ID": "LOAN-1"}).status_code == 200
    own = client.post("/predict", json=record).json()["request_id"]
    lines = _audit(audit_path)
    assert [line["request_id"] for line in lines] == ["LOAN-1"] * 4 + [own]
    ids = [line["server_request_id"] for line in lines]
    assert all(len(i) == 32 and int(i, 16) >= 0 for i in ids) and ids[-1] == own
    assert len(set(ids)) == 4 and ids[1] == ids[2]  # one per request; a batch's lines share it


def test_an_internal_error_is_a_500_with_an_error_line(predictor: Predictor, record: dict,
                                                       audit_path: Path) -> None:
    def crash(_: Any, imputed: Any = None, outside: Any = None) -> tuple[float, list[str]]:
        raise RuntimeError("boom")

    client = TestClient(create_app(_broken(predictor, single=crash), audit=AuditLog(audit_path)), headers=JSON,
                        raise_server_exceptions=False)
    response = client.post("/predict", json=record, headers={"X-Request-ID": "r-crash"})
    assert response.status_code == 500 and "no decision was made (request r-crash)" in response.json()["detail"]
    assert "the model failed while scoring (RuntimeError: boom)" in response.json()["detail"]
    lines = _audit(audit_path)
    assert len(lines) == 1 and "score" not in lines[0]
    assert {k: lines[0][k] for k in ("event", "status", "request_id", "error")} == {
        "event": "error", "status": 500, "request_id": "r-crash",
        "error": "the model failed while scoring (RuntimeError: boom); see the server log"}


def test_an_unwritable_audit_log_delivers_no_decision(predictor: Predictor, record: dict, tmp_path: Path,
                                                      caplog: pytest.LogCaptureFixture,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    import errno

    import finlite.runtime.service as service

    audit = AuditLog(tmp_path / "audit.jsonl")
    client = TestClient(create_app(predictor, audit=audit), raise_server_exceptions=False, headers=JSON)

    def full(fd: int, data: Any) -> int:  # every write fails with ENOSPC, as on a full disk
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(service.os, "write", full)
    response = client.post("/predict", json=record, headers={"X-Request-ID": "r-disk"})
    audit.close()
    assert response.status_code == 500 and "score" not in response.json()
    assert response.json()["detail"].startswith("the audit log could not be written (No space left on device); "
                                                "no decision was made (request r-disk)")
    # The server log has one line naming the file and the cause, no traceback: two a request flooded
    # it as the disk filled (an MLOps walk-through, 2026-12-06); the error line's own failure likewise.
    [logged] = [r for r in caplog.records if "r-disk" in r.getMessage()]
    assert logged.getMessage() == ("request r-disk: the audit log could not be written (No space left on device): "
                                   f"{tmp_path / 'audit.jsonl'}")
    assert not any(r.exc_info for r in caplog.records), [r.getMessage() for r in caplog.records if r.exc_info]
    assert any(r.getMessage() == f"cannot write the error line to the audit log {tmp_path / 'audit.jsonl'}: No space "
                                 "left on device" for r in caplog.records)


def test_a_write_that_fails_part_way_leaves_no_line_of_it(predictor: Predictor, record: dict, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """A full disk mid-write left the first lines of a request that was answered 500 (no
    decision), and a cut line that swallowed the next delivered record."""
    import errno

    import finlite.runtime.service as service

    path = tmp_path / "audit.jsonl"
    audit = AuditLog(path)
    client = TestClient(create_app(predictor, audit=audit), raise_server_exceptions=False, headers=JSON)
    assert client.post("/predict", json=record).status_code == 200
    before = path.read_bytes()
    real_write = os.write
    calls: list[int] = []

    def half_then_full(fd: int, data: Any) -> int:
        calls.append(len(data))
        if len(calls) == 1:
            return real_write(fd, bytes(data[: len(data) // 2]))
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(service.os, "write", half_then_full)
    assert client.post("/predict", json={"records": [record] * 20}).status_code == 500
    monkeypatch.setattr(service.os, "write", real_write)
    assert path.read_bytes() == before  # none of the refused request's lines
    assert client.post("/predict", json=record, headers={"X-Request-ID": "after"}).status_code == 200
    audit.close()
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert len(lines) == 2 and lines[-1]["request_id"] == "after"
    # Rotated (renamed, then deleted): the lines went on into the renamed file, then into a deleted
    # one, and no new log appeared (a review, 2026-12-03). Each write follows the path.
    path.rename(tmp_path / "audit.1.jsonl")
    client = TestClient(create_app(predictor, audit=(rotated := AuditLog(path))), raise_server_exceptions=False,
                        headers=JSON)
    path.rename(tmp_path / "audit.2.jsonl")
    assert client.post("/predict", json=record, headers={"X-Request-ID": "rotated"}).status_code == 200
    (tmp_path / "audit.2.jsonl").unlink()
    path.unlink()
    assert client.post("/predict", json=record, headers={"X-Request-ID": "removed"}).status_code == 200
    rotated.close()
    assert [json.loads(line)["request_id"] for line in path.read_text().splitlines()] == ["removed"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    # A file at the path that is no audit log is never appended to: no decision, and the client's
    # 500 names no path (the operator's log has it).
    other = AuditLog(tmp_path / "other.jsonl")
    guarded = TestClient(create_app(predictor, audit=other), raise_server_exceptions=False, headers=JSON)
    (tmp_path / "other.jsonl").rename(tmp_path / "other.1.jsonl")
    (tmp_path / "other.jsonl").write_text("id,score\n1,0.5\n")
    refused = guarded.post("/predict", json=record)
    other.close()
    assert refused.status_code == 500 and "was moved or removed and cannot be opened again at its path" in refused.json()["detail"]
    assert "other.jsonl" not in refused.text and (tmp_path / "other.jsonl").read_text() == "id,score\n1,0.5\n"
    (tmp_path / "audit.1.jsonl").rename(path)
    # A log whose last line was cut short (a crash) is ended before the next record.
    with path.open("ab") as fh:
        fh.write(b'{"event": "predic')
    again = AuditLog(path)
    again.write([{"event": "prediction", "request_id": "next"}])
    again.close()
    assert json.loads(path.read_text().splitlines()[-1])["request_id"] == "next"


# -- over a real socket: keep-alive after errors ----------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def _running(app: FastAPI, **options: Any) -> Iterator[str]:
    import uvicorn

    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="critical", **options))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_an_error_keeps_the_connection_alive(predictor: Predictor, record: dict, audit_path: Path) -> None:
    calls = {"n": 0}

    def flaky(rec: Any, imputed: Any = None, outside: Any = None) -> tuple[float, list[str]]:  # a crash, then the real model
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("boom")
        return predictor.explain_record(rec, imputed, outside)

    app = create_app(_broken(predictor, single=flaky), token=TOKEN, audit=AuditLog(audit_path))
    with _running(app) as base, httpx.Client(base_url=base, headers=AUTH | JSON, timeout=10) as http:
        def port_of(response: httpx.Response) -> int:
            return response.extensions["network_stream"].get_extra_info("client_addr")[1]

        first = http.post("/predict", json=record)
        assert first.status_code == 500  # the crash: an ordinary response, not a dropped connection
        used = port_of(first)
        for body in (_with(record, NUMERIC, "NaN"), b"[" * 5_000, _with(record, NUMERIC, "1e300"), b"{"):
            bad = http.post("/predict", content=body)
            assert bad.status_code == 422 and port_of(bad) == used
        assert http.post("/predict", content=b" " * 2_000_000).status_code == 413
        good = http.post("/predict", json=record)
        assert good.status_code == 200 and 0 <= good.json()["score"] <= 1
        assert port_of(good) == used  # the same TCP connection served the valid request
    assert [line["event"] for line in _audit(audit_path)] == ["error", "prediction"]


# -- the serve command's options ----------------------------------------------------------------------
@pytest.mark.parametrize(("args", "message"), [
    (["--port", "70000"], "--port 70000 is not a TCP port; use 1 to 65535"),
    (["--port", "0"], "--port 0 is not a TCP port"),
    (["--max-body-bytes", "0"], "--max-body-bytes 0 is outside 1024 (1 KiB) to 67108864 (64 MiB)"),
    (["--max-body-bytes", "100000000000"], "--max-body-bytes 100000000000 is outside"),
    (["--workers", "0"], "--workers 0 is outside 1 to"),
    (["--workers", "10000"], "--workers 10000 is outside 1 to"),
    (["--manifest-sha256", "abc"], "--manifest-sha256 'abc' is not a sha256 digest (64 hex digits)"),
    (["--verify-key", "/no/such/key.pem"], "--verify-key '/no/such/key.pem' is not a file"),
])
def test_serve_refuses_bad_options(exported_dir: Path, tmp_path: Path, args: list[str], message: str) -> None:
    result = CliRunner().invoke(cli, ["serve", str(exported_dir), "--audit-log", str(tmp_path / "a.jsonl"), *args])
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split()) and "Traceback" not in result.output
    assert not (tmp_path / "a.jsonl").exists()


@pytest.mark.parametrize(("content", "message"), [
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "is not UTF-8 text (byte 0 is 0x89; a binary file?)"),
    (b"tok\xffen", "is not UTF-8 text (byte 3 is 0xff"),
    (b"", "is empty; put the bearer token in it"),
    (b"two words", "holds the character ' ' at position 3"),
    (b"nul\x00byte", "holds the character '\\x00' at position 3"),
    (b"x" * 5000, "is larger than 4096 bytes"),
])
def test_serve_refuses_bad_token_files(exported_dir: Path, tmp_path: Path, content: bytes, message: str) -> None:
    token = tmp_path / "token"
    token.write_bytes(content)
    result = CliRunner().invoke(cli, ["serve", str(exported_dir), "--token-file", str(token), "--no-audit"])
    assert result.exit_code == 2 and message in " ".join(result.output.split()), result.output
    assert "Traceback" not in result.output


def test_serve_prints_an_ipv6_address_in_brackets(exported_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """http://::1:8000 is no URL (an MLOps walk-through, 2026-12-06)."""
    import uvicorn

    import finlite.runtime.service as service

    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: None)  # checked and announced; not served
    # The port check binds the address: a machine without an IPv6 loopback would refuse it before the
    # line is printed, so it is left out here (the line is what this test reads).
    checked: list[tuple[str, int]] = []
    monkeypatch.setattr(service, "_check_bindable", lambda host, port: checked.append((host, port)))
    port = _free_port()
    result = CliRunner().invoke(cli, ["serve", str(exported_dir), "--no-audit", "--host", "::1", "--port", str(port)])
    assert result.exit_code == 0, result.output
    assert checked == [("::1", port)]
    assert f" on http://[::1]:{port} with 1 worker(s)" in result.output


def test_serve_warns_of_a_token_file_others_can_read(exported_dir: Path, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """A world-readable token file was used silently (a review, 2026-12-03)."""
    import uvicorn

    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: None)  # checked and announced; not served
    token = tmp_path / "token"
    token.write_text(TOKEN)
    token.chmod(0o644)
    result = CliRunner().invoke(cli, ["serve", str(exported_dir), "--token-file", str(token), "--no-audit",
                                      "--port", str(_free_port())])
    assert result.exit_code == 0, result.output
    assert "warning: the token file" in result.output and "can be read by other users (mode 0644)" in result.output
    token.chmod(0o600)
    quiet = CliRunner().invoke(cli, ["serve", str(exported_dir), "--token-file", str(token), "--no-audit",
                                     "--port", str(_free_port())])
    assert "warning: the token file" not in quiet.output
    assert "a short token can be guessed" not in quiet.output  # 21 characters
    # A 5-character token was accepted without a word (a review, 2026-12-03): used, and warned of.
    token.write_text("abc12")
    short = CliRunner().invoke(cli, ["serve", str(exported_dir), "--token-file", str(token), "--no-audit",
                                     "--port", str(_free_port())])
    assert short.exit_code == 0, short.output
    assert f"warning: the bearer token in {str(token)!r} is 5 characters; a short token can be guessed" in short.output


def test_serve_refuses_an_audit_log_on_an_input(exported_dir: Path, tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text(TOKEN)
    inside = CliRunner().invoke(cli, ["serve", str(exported_dir), "--audit-log", str(exported_dir / "audit.jsonl")])
    assert inside.exit_code == 2 and "is inside the artifact" in inside.output
    assert not (exported_dir / "audit.jsonl").exists()
    on_token = CliRunner().invoke(cli, ["serve", str(exported_dir), "--token-file", str(token), "--audit-log",
                                        str(token)])
    assert on_token.exit_code == 2 and "is the --token-file" in on_token.output
    assert token.read_text() == TOKEN


def test_serve_passes_the_trust_options_to_the_predictor(exported_dir: Path, tmp_path: Path) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    from finlite.runtime.service import ServeSettings, check_settings

    artifact = tmp_path / "artifact"
    shutil.copytree(exported_dir, artifact)  # signing writes into it
    key = ed25519.Ed25519PrivateKey.generate()
    private, public = tmp_path / "key.pem", tmp_path / "key.pub.pem"
    private.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    public.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM,
                                                     serialization.PublicFormat.SubjectPublicKeyInfo))
    unsigned = CliRunner().invoke(cli, ["serve", str(artifact), "--no-audit", "--verify-key", str(public)])
    assert unsigned.exit_code == 2 and "is not signed" in unsigned.output
    pinned = CliRunner().invoke(cli, ["serve", str(artifact), "--no-audit", "--manifest-sha256", "0" * 64])
    assert pinned.exit_code == 2 and "not the pinned" in pinned.output
    assert CliRunner().invoke(cli, ["sign", str(artifact), "--key", str(private)]).exit_code == 0
    digest = Predictor(artifact).metadata()["manifest_sha256"]
    settings = check_settings(ServeSettings(str(artifact), verify_key=str(public), manifest_sha256=digest.upper()))
    assert settings.manifest_sha256 == digest  # normalised, then checked by the Predictor
    assert settings.predictor().model_sha256 == Predictor(exported_dir).model_sha256


def wait_until_serving(proc: subprocess.Popen, port: int, seconds: float = 60.0) -> None:
    """Wait for a ``finlite serve`` subprocess to answer /health on ``port``; fail with its output
    if it exits first, or after ``seconds``."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else ""
        assert time.monotonic() < deadline, f"the service did not start in {seconds:g} s"
        time.sleep(0.2)


def test_serve_with_two_workers(exported_dir: Path, german: pd.DataFrame, tmp_path: Path) -> None:
    audit, port = tmp_path / "audit.jsonl", _free_port()
    finlite = Path(sys.executable).parent / "finlite"
    proc = subprocess.Popen([str(finlite), "serve", str(exported_dir), "--port", str(port), "--workers", "2",
                             "--audit-log", str(audit)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    records = german[Predictor(exported_dir).fields].head(6).to_dict("records")
    try:
        wait_until_serving(proc, port)
        for rec in records:  # a new connection each: the kernel spreads them over the workers
            response = httpx.post(f"http://127.0.0.1:{port}/predict", json=rec, timeout=10)
            assert response.status_code == 200
    finally:
        proc.terminate()
        out = proc.communicate(timeout=20)[0].decode()
    assert "with 2 worker(s)" in out
    lines = _audit(audit)
    # Each worker process writes its start line before it answers, then the decisions.
    starts = [line for line in lines if line["event"] == "start"]
    assert len(starts) == 2 and len({line["pid"] for line in starts}) == 2
    # The parent pins each worker to the digest it verified; the line records the operator's pin (none).
    assert all(line["pinned_manifest_sha256"] is None and line["workers"] == 2 for line in starts)
    assert [line["event"] for line in lines if line["event"] not in ("start", "stop")] == ["prediction"] * len(records)
    # and each its stop line when the service shuts down.
    assert sorted(line["pid"] for line in lines if line["event"] == "stop") == sorted(line["pid"] for line in starts)
    assert stat.S_IMODE(audit.stat().st_mode) == 0o600


@pytest.mark.slow  # starts the service with two worker processes: about 10 s
def test_a_worker_that_cannot_restart_stops_the_service_with_exit_2(exported_dir: Path, tmp_path: Path) -> None:
    # Before: a worker restarted after its artifact had changed refused to load it, with a
    # traceback, and uvicorn started it again every half second, forever, beside the other one.
    artifact, port = tmp_path / "artifact", _free_port()
    shutil.copytree(exported_dir, artifact)
    finlite = Path(sys.executable).parent / "finlite"
    proc = subprocess.Popen([str(finlite), "serve", str(artifact), "--port", str(port), "--workers", "2", "--no-audit"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        wait_until_serving(proc, port)
        changed = artifact / "preprocessor.json"
        changed.write_text(changed.read_text() + " ")  # no longer the bytes the manifest's hash names
        children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
        workers = [int(c) for c in children if b"spawn_main" in Path(f"/proc/{c}/cmdline").read_bytes()]
        assert len(workers) == 2
        os.kill(workers[0], signal.SIGKILL)  # uvicorn starts a new worker in its place
        code = proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
        out = proc.communicate(timeout=20)[0].decode()
    assert code == 2, out
    assert "The service stopped: a worker process could not start." in out and "preprocessor.json" in out, out
    assert "Traceback" not in out, out


@pytest.mark.slow  # starts the service with two worker processes: about 10 s
def test_workers_stop_when_their_supervisor_is_killed(exported_dir: Path, tmp_path: Path) -> None:
    """A SIGKILLed ``finlite serve --workers 2`` left its workers serving decisions and writing the
    audit log with nothing managing them, and a new service could not take the port (an MLOps
    walk-through, 2026-12-06)."""
    audit, port = tmp_path / "audit.jsonl", _free_port()
    finlite = Path(sys.executable).parent / "finlite"
    proc = subprocess.Popen([str(finlite), "serve", str(exported_dir), "--port", str(port), "--workers", "2",
                             "--audit-log", str(audit)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    workers: list[int] = []
    try:
        wait_until_serving(proc, port)
        children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
        workers = [int(c) for c in children if b"spawn_main" in Path(f"/proc/{c}/cmdline").read_bytes()]
        assert len(workers) == 2
        # Both workers serving (each writes its start line before it answers): the port answers as
        # soon as one does, and a loaded machine left the other still loading the model when the
        # supervisor died (it then stops with no line to write).
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and sorted(
                line["pid"] for line in _audit(audit) if line["event"] == "start") != sorted(workers):
            time.sleep(0.2)
        started = sorted(line["pid"] for line in _audit(audit) if line["event"] == "start")
        assert started == sorted(workers), f"workers {workers} did not all start serving: {started}"
        proc.kill()
        proc.wait(timeout=20)
        deadline = time.monotonic() + 30
        while any(Path(f"/proc/{w}").exists() and b"spawn_main" in Path(f"/proc/{w}/cmdline").read_bytes()
                  for w in workers) and time.monotonic() < deadline:
            time.sleep(0.2)
        alive = [w for w in workers if Path(f"/proc/{w}").exists()
                 and b"spawn_main" in Path(f"/proc/{w}/cmdline").read_bytes()]
        assert not alive, f"workers {alive} still run without their supervisor"
        with pytest.raises(httpx.TransportError):
            httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)
    finally:
        for w in workers:
            with contextlib.suppress(OSError):
                os.kill(w, signal.SIGKILL)
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=20)
    # Each worker stopped as on SIGTERM: its audit stop line written, the chain intact.
    lines = _audit(audit)
    assert sorted(line["pid"] for line in lines if line["event"] == "stop") == sorted(workers)


# -- fuzzing ----------------------------------------------------------------------------------------
_json = st.recursive(st.none() | st.booleans() | st.floats(allow_nan=False, allow_infinity=False) | st.integers() | st.text(max_size=8),
                     lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                                   max_size=4), max_leaves=20)


def test_any_json_body_gets_no_5xx(predictor: Predictor, record: dict) -> None:
    client = TestClient(create_app(predictor), raise_server_exceptions=False, headers=JSON)

    @given(body=_json, patch=st.dictionaries(st.sampled_from(predictor.fields), _json, max_size=3),
           batch=st.booleans())
    @settings(max_examples=80, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    def run(body: Any, patch: dict[str, Any], batch: bool) -> None:
        near = dict(record, **patch)  # records close to valid reach the encoder and the model
        for payload in (body, {"records": [near, body]} if batch else near):
            response = client.post("/predict", content=json.dumps(payload, allow_nan=False))
            assert response.status_code in (200, 413, 422), (payload, response.text)
            if response.status_code == 200:
                results = response.json().get("results") or [response.json()]
                assert all(0 <= r["score"] <= 1 and r["decision"] in (0, 1) for r in results)

    run()


@pytest.mark.slow  # a few hundred generated requests: about 4 s
def test_schemathesis_finds_no_5xx(predictor: Predictor, audit_path: Path) -> None:
    import schemathesis
    from schemathesis import GenerationMode
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    app = create_app(predictor, token=TOKEN, audit=AuditLog(audit_path), max_batch=20)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app, headers=AUTH)
    checks = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
    statuses: dict[str, set[int]] = {}
    for result in schema.get_all_operations():
        operation = result.ok()
        # Bodies that break the schema too (wrong types, missing fields), where there is a body.
        modes = [GenerationMode.POSITIVE] + ([GenerationMode.NEGATIVE] if operation.method.upper() == "POST" else [])
        for mode in modes:
            examples = 60 if operation.method.upper() == "POST" else 5
            _fuzz(operation, mode, examples, checks, statuses.setdefault(f"{operation.label} {mode.value}", set()))
    assert statuses["POST /predict positive"] >= {200}
    assert statuses["POST /predict negative"] & {401, 413, 422}
    assert all(code < 500 for codes in statuses.values() for code in codes), statuses


def _fuzz(operation: Any, mode: Any, examples: int, checks: list[Any], seen: set[int]) -> None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    def run(case: Any) -> None:
        seen.add(case.call_and_validate(headers=AUTH, checks=checks).status_code)

    run()


def test_a_request_id_with_quotes_stays_valid_json(client: TestClient, record: dict) -> None:
    response = client.post("/predict", json=record, headers={**AUTH, "X-Request-ID": 'a"b\\c'})
    assert response.status_code == 200 and response.json()["request_id"] == 'a"b\\c'


def test_serve_refuses_a_port_in_use_and_a_bad_host(exported_dir: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = CliRunner().invoke(cli, ["serve", str(exported_dir), "--no-audit", "--port", str(port)])
    assert result.exit_code == 2 and f"Cannot listen on 127.0.0.1:{port}" in result.output
    result = CliRunner().invoke(cli, ["serve", str(exported_dir), "--no-audit", "--host", "no-such-host.invalid"])
    assert result.exit_code == 2 and "is not an address this machine can listen on" in result.output
    # An address of another machine is the host's fault, not the port's.
    result = CliRunner().invoke(cli, ["serve", str(exported_dir), "--no-audit", "--host", "192.0.2.1"])
    assert result.exit_code == 2 and "--host must be an address of this machine" in result.output
    assert "another --port" not in result.output
    # "reachable from other machines" was said before the address was refused (seen on 2026-12-04),
    # and before the artifact was.
    assert "warning: binding" not in result.output
    result = CliRunner().invoke(cli, ["serve", str(exported_dir.parent / "nowhere"), "--no-audit", "--host", "0.0.0.0"])
    assert result.exit_code == 2 and "warning: binding" not in result.output, result.output


# -- requests that must not be scored: cut short, keys twice, not JSON, another host -----------------
def _raw(base: str, request: bytes, *, then_close: bool = True, wait: float = 5.0) -> bytes:
    """Send raw bytes to the server at ``base``; the reply (b"" when it closed without one)."""
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=wait) as conn:
        conn.sendall(request)
        if then_close:
            conn.shutdown(socket.SHUT_WR)
        chunks = []
        try:
            while chunk := conn.recv(65536):
                chunks.append(chunk)
        except (TimeoutError, ConnectionResetError):
            pass
        return b"".join(chunks)


def test_a_body_cut_short_is_neither_scored_nor_audited(predictor: Predictor, record: dict,
                                                        audit_path: Path) -> None:
    # The handler used to score whatever had arrived when the client went away, and audit it as
    # a delivered prediction.
    body = json.dumps(record).encode()
    head = (b"POST /predict HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n"
            b"content-length: %d\r\n\r\n" % (len(body) + 200))
    app = create_app(predictor, audit=AuditLog(audit_path))
    with _running(app) as base:
        reply = _raw(base, head + body)
        assert reply == b"" or b" 400 " in reply.split(b"\r\n", 1)[0]
        ok = httpx.post(f"{base}/predict", json=record, timeout=10)
        assert ok.status_code == 200
    assert [line["event"] for line in _audit(audit_path)] == ["prediction"]  # only the complete request


def test_a_key_twice_is_422_naming_it(client: TestClient, record: dict, audit_path: Path) -> None:
    # orjson keeps the last value: a proxy that read the first would have checked another request.
    text = json.dumps(record)
    twice = text[:-1] + f', "{NUMERIC}": 1e9}}'
    response = client.post("/predict", content=twice, headers=AUTH | JSON)
    assert response.status_code == 422 and f"the key '{NUMERIC}' appears twice" in _only(response)["msg"]
    batch = '{"records": [' + text + '], "records": []}'
    response = client.post("/predict", content=batch, headers=AUTH | JSON)
    assert response.status_code == 422 and "the key 'records' appears twice" in _only(response)["msg"]
    # A colon inside a text value is no key: still scored.
    odd = json.dumps(dict(record, purpose="car: new"))
    assert client.post("/predict", content=odd, headers=AUTH | JSON).status_code == 200
    assert [line["event"] for line in _audit(audit_path)] == ["prediction"]


@pytest.mark.parametrize("kind", [None, "text/plain", "application/x-www-form-urlencoded", "multipart/form-data"])
def test_a_body_not_sent_as_json_is_415(client: TestClient, record: dict, audit_path: Path, kind: str | None) -> None:
    # Any web page can make a browser POST these to 127.0.0.1 without asking.
    bare = TestClient(client.app)  # no default Content-Type
    headers = AUTH if kind is None else AUTH | {"Content-Type": kind}
    response = bare.post("/predict", content=json.dumps(record), headers=headers)
    assert response.status_code == 415 and "Content-Type: application/json" in response.json()["detail"]
    # Two Content-Type headers, either order: neither counts (the last one did, a review, 2026-12-06).
    for pair in ([kind or "text/plain", "application/json"], ["application/json", kind or "text/plain"],
                 ["application/json", "application/json"]):
        twice = bare.post("/predict", content=json.dumps(record),
                          headers=[*AUTH.items(), *(("Content-Type", k) for k in pair)])
        assert twice.status_code == 415, pair
    ok = client.post("/predict", content=json.dumps(record), headers=AUTH | {"Content-Type": "Application/JSON; "
                                                                                           "charset=utf-8"})
    assert ok.status_code == 200
    assert [line["event"] for line in _audit(audit_path)] == ["prediction"]


def test_an_empty_batch_is_422(client: TestClient) -> None:
    response = client.post("/predict", json={"records": []}, headers=AUTH)
    assert response.status_code == 422 and "the batch is empty" in _only(response)["msg"]


def test_a_loopback_service_answers_its_own_host_names_only(predictor: Predictor, record: dict) -> None:
    # DNS rebinding: a page whose name resolves to 127.0.0.1 sends its own name as Host.
    from finlite.runtime.service import ServeSettings, check_settings, host_check

    app = create_app(predictor)
    # As serve sets it on 127.0.0.1 without a token, with the name a local proxy forwards.
    app.allowed_hosts = host_check("127.0.0.1", None, ("api.bank.internal",))  # type: ignore[attr-defined]
    client = TestClient(app, headers=JSON)
    for host in ("attacker.example", "attacker.example:8000", "10.0.0.1", "127.0.0.1.attacker.example"):
        for method, path in (("GET", "/metadata"), ("POST", "/predict")):
            response = client.request(method, path, json=record, headers={"Host": host})
            assert response.status_code == 421 and "127.0.0.1 or localhost only" in response.json()["detail"]
    for host in ("127.0.0.1:8000", "localhost", "LOCALHOST:9", "[::1]:8000", "api.bank.internal:443"):
        assert client.post("/predict", json=record, headers={"Host": host}).status_code == 200
    # Two Host headers: only the first was read (a review, 2026-12-03); which one a proxy read is
    # not known, so neither counts.
    from finlite.runtime.service import _host_allowed

    allowed = frozenset({b"127.0.0.1"})
    assert _host_allowed([(b"host", b"127.0.0.1:8000")], allowed)
    assert not _host_allowed([(b"host", b"127.0.0.1"), (b"host", b"evil.com")], allowed)
    assert not _host_allowed([], allowed)
    # The whole header is read: a port of digits at most (a review, 2026-12-06).
    v6 = frozenset({b"[::1]"})
    assert _host_allowed([(b"host", b"127.0.0.1:")], allowed) and _host_allowed([(b"host", b"[::1]:8000")], v6)
    for forged in (b"127.0.0.1:80@evil.com", b"127.0.0.1:evil.com", b"127.0.0.1:80:81"):
        assert not _host_allowed([(b"host", forged)], allowed), forged
    for forged in (b"[::1]evil.com", b"[::1]:80x", b"[::1"):
        assert not _host_allowed([(b"host", forged)], v6), forged
    assert TestClient(create_app(predictor)).get("/health", headers={"Host": "example.org"}).status_code == 200
    # A token guards the service itself; another interface is the network's to guard.
    assert host_check("127.0.0.1", "t0ken") is None and host_check("0.0.0.0", None) is None
    assert host_check("::1", None) is not None and host_check("localhost", None) is not None
    with pytest.raises(ConfigError, match=r"--allowed-host 'a b' is not a host name"):
        check_settings(ServeSettings(artifact="x", allowed_hosts=("a b",)))


# -- the connection: header size and slow clients -------------------------------------------------------
def test_headers_are_bounded_in_size_and_time(predictor: Predictor, record: dict,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(service, "HEADER_TIMEOUT_S", 1.0)
    monkeypatch.setattr(service, "BODY_TIMEOUT_S", 1.0)
    app = create_app(predictor)
    with _running(app, http=bounded_http_protocol()) as base:
        big = b"GET /health HTTP/1.1\r\nhost: 127.0.0.1\r\nx-big: " + b"a" * (service.MAX_HEADER_BYTES + 10)
        assert _raw(base, big + b"\r\n\r\n").startswith(b"HTTP/1.1 431 ")
        # A long query string in one write (measured by the app, not the chunk counter) too.
        query = b"POST /predict?" + b"a" * (service.MAX_HEADER_BYTES + 10) + b" HTTP/1.1\r\nhost: 127.0.0.1\r\n"
        body = json.dumps(record).encode()
        query += b"content-type: application/json\r\ncontent-length: %d\r\n\r\n" % len(body) + body
        assert _raw(base, query).startswith(b"HTTP/1.1 431 ")
        # A request line longer than the parser's own limit, in one write: uvicorn's plain-text 400
        # ("Invalid HTTP request received."), now the 431 of the rest; bytes that are no HTTP get a
        # JSON 400 (a review, 2026-12-03).
        line = b"GET /health?" + b"a" * (70 << 10) + b" HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n"
        refused = _raw(base, line)
        assert refused.startswith(b"HTTP/1.1 431 ") and b"application/json" in refused, refused[:200]
        garbage = _raw(base, b"\x16\x03\x01 not http at all\r\n\r\n")
        assert garbage.startswith(b"HTTP/1.1 400 ") and b'"the request is not valid HTTP/1.1' in garbage, garbage[:200]
        start = time.monotonic()
        assert _raw(base, b"GET /health HTTP/1.1\r\nhost: 127", then_close=False) == b""  # trickled, then closed
        assert _raw(base, b"", then_close=False) == b""  # nothing sent at all: closed too
        assert time.monotonic() - start < 8
        body = json.dumps(record).encode()
        slow = (b"POST /predict HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n"
                b"content-length: %d\r\n\r\n" % len(body)) + body[:10]
        assert b" 408 " in _raw(base, slow, then_close=False).split(b"\r\n", 1)[0]
        # Answered 413 before its declared 70 MiB arrived: the body clock then closed the connection
        # with a second answer, 408, for the same request (a review, 2026-12-03); now without one.
        huge = (b"POST /predict HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n"
                b"content-length: %d\r\n\r\n" % (70 << 20)) + b" " * (2 << 20)
        answered = _raw(base, huge, then_close=False)
        assert answered.startswith(b"HTTP/1.1 413 ") and answered.count(b"HTTP/1.1 ") == 1, answered
        # The same, body sent in full: the connection then idled open for ever (uvicorn's keep-alive
        # clock, cancelled by the body's chunks, was never started again: the diff's review).
        whole = (b"POST /predict HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n"
                 b"content-length: %d\r\n\r\n" % (2 << 20)) + b" " * (2 << 20)
        start = time.monotonic()
        answered = _raw(base, whole, then_close=False, wait=30)
        assert answered.startswith(b"HTTP/1.1 413 ") and time.monotonic() - start < 15  # closed by keep-alive
        # An ordinary request on one kept-alive connection, twice: the bounds reset per request.
        with httpx.Client(base_url=base, timeout=10) as http:
            assert http.get("/health").status_code == 200
            time.sleep(1.5)  # longer than the header clock, shorter than uvicorn's keep-alive
            assert http.post("/predict", json=record).status_code == 200


def test_past_the_connection_limit_the_503_is_json(predictor: Predictor) -> None:
    """uvicorn answered "Service Unavailable" as text/plain past limit_concurrency; every other
    answer of the service is JSON, and a client parsing it failed there."""
    # The swap overrides uvicorn's own _start_asgi_task, which it has from 0.45 (pyproject's floor);
    # before, the 503 was started elsewhere and the override never ran.
    assert "_start_asgi_task" in vars(service._HttpToolsProtocol)
    app = create_app(predictor)
    with _running(app, http=bounded_http_protocol(), limit_concurrency=2) as base:
        host, port = base.removeprefix("http://").split(":")
        held = [socket.create_connection((host, int(port)), timeout=5) for _ in range(2)]
        try:
            time.sleep(0.3)  # both connections accepted before the third request
            reply = _raw(base, b"GET /health HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n")
        finally:
            for conn in held:
                conn.close()
        head, _, body = reply.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 503 "), reply[:200]
        assert b"content-type: application/json" in head.lower() and b"retry-after: 1" in head.lower()
        assert json.loads(body)["detail"].startswith("the service is at its limit of 2 connections; nothing was scored")
        time.sleep(0.3)
        with httpx.Client(base_url=base, timeout=10) as http:  # below the limit again: served
            assert http.get("/health").status_code == 200


_TEXT = st.text(alphabet=st.sampled_from('ab:"\\ é\u2028'), max_size=6)
_JSONS = st.recursive(st.none() | st.integers(-5, 5) | _TEXT,
                      lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TEXT, inner, max_size=3),
                      max_leaves=12)


def _dump(value: object, ascii_only: bool, escape_colons: bool) -> str:
    """JSON of ``value``, its texts' colons written as the escape \\u003a when ``escape_colons``
    (a text's JSON holds no structural colon, so each colon in it is the text's own)."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_dump(k, ascii_only, escape_colons)}: {_dump(v, ascii_only, escape_colons)}"
                               for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_dump(v, ascii_only, escape_colons) for v in value) + "]"
    text = json.dumps(value, ensure_ascii=ascii_only)
    return text.replace(":", "\\u003a") if escape_colons and isinstance(value, str) else text


@settings(max_examples=300, deadline=None)
@given(value=st.dictionaries(_TEXT, _JSONS, min_size=1, max_size=4), key=_TEXT, data=st.data())
def test_the_duplicate_key_check_refuses_exactly_the_bodies_with_a_key_twice(value: dict, key: str,
                                                                             data: st.DataObject) -> None:
    from finlite.runtime.service import _BadBody, _parse

    ascii_only, escape = data.draw(st.booleans()), data.draw(st.booleans())
    body = _dump(value, ascii_only, escape).encode()
    assert _parse(body) == value  # colons and escapes in keys and texts are no duplicates
    # The repeated key written as the body writes its texts, or the other way (a colon escaped in
    # one spelling and not in the other is still one key).
    first, second = _dump(key, ascii_only, escape), _dump(key, ascii_only, data.draw(st.booleans()))
    twice = body[:-1] + f", {first}: 1, {second}: 2}}".encode()
    with pytest.raises(_BadBody, match="appears twice"):
        _parse(twice)


def test_escapes_other_than_a_colon_take_the_fast_check(monkeypatch: pytest.MonkeyPatch) -> None:
    """A body with \\u escapes was read again by the standard parser, 0.4-0.7 s of the event loop
    per MB (a review, 2026-12-06): only an escaped colon can hide a repeat, and only a body that
    may hold one (more colons than its parse writes back) is read again."""
    from finlite.runtime import service

    calls = []
    monkeypatch.setattr(service.json, "loads", lambda *a, **k: calls.append(1))
    body = b'{"x": [' + b",".join([b'{"a":{"b":[1]}}'] * 2000) + b'], "y": "\\u0041\\u003a"}'
    assert service._parse(body)["y"] == "A:" and calls == []
    assert service._parse(b'{"y": "\\\\u003a", "z": 1}') == {"y": "\\u003a", "z": 1} and calls == [1]


def test_health_answers_head_as_get(predictor: Predictor) -> None:
    # A load balancer that probes with HEAD saw 405 and took the service for down.
    client = TestClient(create_app(predictor))
    response = client.head("/health")
    assert response.status_code == 200 and response.content == b""
    assert client.get("/health").json()["status"] == "ok"


def test_a_body_deeper_than_orjson_writes_is_still_checked_for_repeated_keys(client: TestClient) -> None:
    # orjson reads 1,024 levels but writes 254: the key check's re-serialisation raised TypeError (a 500).
    from finlite.runtime.service import _BadBody, _parse

    deep = b'{"a":' * 300 + b"1" + b"}" * 300
    assert isinstance(_parse(deep), dict)
    with pytest.raises(_BadBody, match="the key 'a' appears twice"):
        _parse(b'{"b":' * 300 + b'{"a":1,"a":2}' + b"}" * 300)
    assert client.post("/predict", content=deep, headers=AUTH).status_code == 422
    # Between the standard parser's depth (about 990) and orjson's (1,024) the repeat went unseen
    # and the last value was scored (a review, 2026-12-03): a body whose keys cannot be checked is refused.
    hidden = b'{"a":1,"a":2,"zz":' + b"[" * 1000 + b"]" * 1000 + b"}"
    with pytest.raises(_BadBody, match="too deeply for its keys to be checked for repeats"):
        _parse(hidden)


def test_a_batch_envelope_with_another_key_and_a_non_utf8_charset_are_refused(predictor: Predictor, record: dict,
                                                                              audit_path: Path) -> None:
    """{"records": [...], "x": 1} was scored with "x" ignored, and a body declared latin-1 was
    read as UTF-8 (seen on 2026-12-04)."""
    client = TestClient(create_app(predictor, audit=AuditLog(audit_path)))
    extra = client.post("/predict", json={"records": [record], "cutoff": 0.3}, headers=JSON)
    assert extra.status_code == 422
    error = _only(extra)
    assert error["loc"] == ["body", "cutoff"] and error["type"] == "extra_forbidden" and "alone" in error["msg"]
    body = json.dumps(record).encode()
    for declared in ("application/json; charset=latin-1", 'application/json; charset="ISO-8859-1"'):
        refused = client.post("/predict", content=body, headers={"Content-Type": declared})
        assert refused.status_code == 415 and "send JSON as UTF-8" in refused.json()["detail"]
    for declared in ("application/json; charset=utf-8", "application/json;charset=UTF8", "application/json"):
        assert client.post("/predict", content=body, headers={"Content-Type": declared}).status_code == 200
    assert [line.get("event") for line in _audit(audit_path)] == ["prediction"] * 3  # three scored, nothing else


def test_a_path_with_a_trailing_slash_is_404_not_a_redirect(client: TestClient, record: dict,
                                                            audit_path: Path) -> None:
    """POST /predict/ was a 307 to /predict (seen on 2026-12-04): a path the service does not
    have is a 404, and nothing is scored or audited."""
    response = client.post("/predict/", content=json.dumps(record).encode(), headers=AUTH, follow_redirects=False)
    assert response.status_code == 404 and "location" not in response.headers
    assert _audit(audit_path) == []


@pytest.mark.parametrize("status", ["FAIL", "WARN", "PASS"])
def test_serve_says_when_the_validation_report_is_not_pass(exported_dir: Path, tmp_path: Path, status: str,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """export said so; serve started without a word (a fraud engineer's walk-through, 2026-12-06)."""
    import json
    import shutil

    import uvicorn

    from tests.test_artifact_trust import rehash

    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: None)  # checked and announced; not served
    art = tmp_path / "art"
    shutil.copytree(exported_dir, art)
    report = json.loads((art / "report.json").read_text())
    (art / "report.json").write_text(json.dumps({**report, "status": status}))
    rehash(art)
    result = CliRunner().invoke(cli, ["serve", str(art), "--no-audit", "--port", str(_free_port())])
    assert result.exit_code == 0, result.output
    from finlite.cli import _report_verdict

    verdict = _report_verdict((art / "report.json").read_bytes(), "report.json")
    assert verdict is not None and verdict[0] == status
    said = (f"{art}'s validation report is {status} ({verdict[1]}; report.html, MODEL_CARD.md): read it before "
            "relying on")
    assert (said in " ".join(result.output.split())) == (status != "PASS")
    assert ("warning: " + said in " ".join(result.output.split())) == (status == "FAIL")


def test_a_worker_finding_a_changed_artifact_says_restart_not_pin(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Under --workers N the parent pins every worker to the digest it verified: a worker that
    restarted on a changed artifact said "pin the new digest" to an operator who pinned nothing
    (an MLOps walk-through, 2026-12-06)."""
    import finlite.runtime.service as service
    from finlite.errors import ArtifactError

    def refuse() -> Any:
        raise ArtifactError("'art' has manifest sha256 aa, not the pinned bb; this is not the artifact you pinned.")

    failure = tmp_path / "why.txt"
    monkeypatch.setattr(service, "app_from_environment", refuse)
    for pin, said in ((None, "changed while the service ran"), ("b" * 64, "not the pinned")):
        if failure.exists():
            failure.unlink()
        monkeypatch.setenv(service._ENV, json.dumps({"artifact": "art", "failure_file": str(failure),
                                                    "parent_pid": -1, "operator_pin": pin}))
        with pytest.raises(SystemExit):
            service.worker_app()
        assert said in failure.read_text()
