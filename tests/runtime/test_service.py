"""The HTTP service, in-process (TestClient) and over a real socket (``finlite serve``)."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from fastapi.testclient import TestClient

from finlite.runtime import Predictor
from finlite.runtime.service import AuditLog, create_app
from tests.runtime.test_service_abuse import wait_until_serving

TOKEN = "t0ken-for-tests"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def _records(frame: pd.DataFrame, fields: list[str]) -> list[dict]:
    return frame[fields].to_dict("records")


@pytest.fixture()
def client(exported_dir: Path, tmp_path: Path) -> TestClient:
    audit = AuditLog(tmp_path / "audit.jsonl")
    app = create_app(exported_dir, token=TOKEN, audit=audit, max_body_bytes=200_000, max_batch=500)
    return TestClient(app)


def test_predict_one_and_many(client: TestClient, exported_dir: Path, german: pd.DataFrame, tmp_path: Path) -> None:
    predictor = Predictor(exported_dir)
    records = _records(german.head(20), predictor.fields)
    expected = predictor.predict_score(records)
    one = client.post("/predict", json=records[0], headers={**AUTH, "X-Request-ID": "req-1"})
    assert one.status_code == 200 and one.headers["x-request-id"] == "req-1"
    body = one.json()
    assert body["score"] == pytest.approx(expected[0], abs=1e-6) and body["decision"] == int(expected[0] >= 0.5)
    assert body["model_sha256"] == predictor.model_sha256 and body["unseen"] == []
    many = client.post("/predict", json={"records": records}, headers=AUTH).json()
    assert np.abs(np.array([r["score"] for r in many["results"]]) - expected).max() < 1e-6
    lines = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert len(lines) == 21 and lines[0]["request_id"] == "req-1"
    assert {"time", "request_id", "model_sha256", "score", "decision", "cutoff"} <= set(lines[0])
    assert lines[0]["manifest_sha256"] == predictor.manifest["manifest_sha256"]
    assert "features" not in lines[0] and [line["index"] for line in lines[1:]] == list(range(20))
    # The server's own id of each request, in a header, is the key of its audit lines whatever
    # X-Request-ID the client reused (an MLOps walk-through, 2026-12-06).
    again = client.post("/predict", json=records[1], headers={**AUTH, "X-Request-ID": "req-1"})
    assert again.headers["x-request-id"] == "req-1" and one.headers["x-finlite-request-id"] != \
        again.headers["x-finlite-request-id"]
    lines = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert lines[0]["server_request_id"] == one.headers["x-finlite-request-id"]
    assert lines[-1]["server_request_id"] == again.headers["x-finlite-request-id"]


def _said_per_record_and_logged(client: TestClient, record: dict[str, Any], odd: dict[str, Any], key: str,
                                fields: list[str], audit: Path) -> dict[str, Any]:
    """Post ``odd`` alone, ``record`` alone, then both in one batch: the answer names ``fields``
    under ``key`` for ``odd`` only, in both forms, and so does each audit line. Returns ``odd``'s
    single answer."""
    one: dict[str, Any] = client.post("/predict", json=odd, headers=AUTH).json()
    assert one[key] == fields
    assert key not in client.post("/predict", json=record, headers=AUTH).json()
    many = client.post("/predict", json={"records": [record, odd]}, headers=AUTH).json()["results"]
    assert key not in many[0] and many[1][key] == fields
    lines = [json.loads(line) for line in audit.read_text().splitlines()]
    assert [line.get(key) for line in lines] == [fields, None, None, fields]
    return one


def test_a_blank_number_is_said_per_record_and_in_the_audit_log(client: TestClient, exported_dir: Path,
                                                                 german: pd.DataFrame, tmp_path: Path) -> None:
    """A decision taken on a training median (a blank income) was not told apart from one taken on
    the applicant's own value: score counts blanks per run, serve now names them per record."""
    predictor = Predictor(exported_dir)
    record = _records(german.head(1), predictor.fields)[0]
    blank = dict(record, credit_amount=None, age_in_years="  ")
    one = _said_per_record_and_logged(client, record, blank, "imputed", ["credit_amount", "age_in_years"],
                                      tmp_path / "audit.jsonl")
    assert one["score"] == pytest.approx(predictor.predict_score([blank])[0], abs=1e-6)
    schema = client.get("/openapi.json", headers=AUTH).json()
    answered = schema["paths"]["/predict"]["post"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert "imputed" in json.dumps(answered)


def test_a_number_beyond_every_training_value_is_said_per_record_and_in_the_audit_log(
        client: TestClient, exported_dir: Path, german: pd.DataFrame, tmp_path: Path) -> None:
    """A credit amount of 40,000 (training: 250 to 18,424) is accepted and scored as given, and
    batch scoring counts such rows; serve said nothing of it per record. Now it names the field,
    as it names a blank or an unseen category, and the audit log keeps it."""
    predictor = Predictor(exported_dir)
    record = _records(german.head(1), predictor.fields)[0]
    far = dict(record, credit_amount=40_000, age_in_years=100, duration_in_month=float(german["duration_in_month"].max()))
    # The training maximum itself (duration_in_month) is no value beyond.
    one = _said_per_record_and_logged(client, record, far, "outside", ["credit_amount", "age_in_years"],
                                      tmp_path / "audit.jsonl")
    assert one["score"] == pytest.approx(predictor.predict_score([far])[0], abs=1e-6)
    # The Predictor's record path says the same, and batch scoring counts the same rows.
    beyond: list[str] = []
    predictor.explain_record(far, outside=beyond)
    assert beyond == ["credit_amount", "age_in_years"]
    table = pa.Table.from_pylist([record, far, far])
    assert predictor.encoder.prepare_arrow(table).outside == {"credit_amount": 2, "age_in_years": 2}
    schema = client.get("/openapi.json", headers=AUTH).json()
    answered = schema["paths"]["/predict"]["post"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert "beyond every value of the training table" in json.dumps(answered)


def test_field_errors_are_422_with_location(client: TestClient, exported_dir: Path, german: pd.DataFrame) -> None:
    record = _records(german.head(1), Predictor(exported_dir).fields)[0]
    bad = dict(record, credit_amount="a lot", purpose=[1])
    del bad["age_in_years"]
    response = client.post("/predict", json=bad, headers=AUTH)
    assert response.status_code == 422
    detail = {tuple(d["loc"]): (d["type"], d["msg"]) for d in response.json()["detail"]}
    assert detail[("body", "age_in_years")][0] == "missing"
    assert detail[("body", "credit_amount")] == ("type", "expected a number, got the text 'a lot'")
    assert detail[("body", "purpose")][0] == "type"
    batch = client.post("/predict", json={"records": [record, {"credit_amount": 1}]}, headers=AUTH)
    assert batch.status_code == 422
    assert ["body", "records", 1, "age_in_years"] in [d["loc"] for d in batch.json()["detail"]]
    assert client.post("/predict", content=b"{not json", headers=AUTH | {"Content-Type": "application/json"}).status_code == 422
    assert client.post("/predict", json=[1, 2], headers=AUTH).status_code == 422
    not_a_list = client.post("/predict", json={"records": 5}, headers=AUTH)
    assert not_a_list.status_code == 422 and not_a_list.json()["detail"][0]["loc"] == ["body", "records"]
    unseen = client.post("/predict", json=dict(record, purpose="spaceship"), headers=AUTH).json()
    assert unseen["unseen"] == ["purpose"] and 0 < unseen["score"] < 1
    assert "unseen_empty" not in unseen  # a new category, not a lost value


def test_an_empty_category_is_told_apart_from_a_new_one(exported_dir: Path, german: pd.DataFrame,
                                                         tmp_path: Path) -> None:
    """A field sent empty where training never saw it empty is scored as unseen, as before, and said
    to be empty (unseen_empty), in the answer and the audit line, as score's notes tell them apart."""
    audit = AuditLog(tmp_path / "audit.jsonl")
    client = TestClient(create_app(exported_dir, audit=audit))
    record = _records(german.head(1), Predictor(exported_dir).fields)[0]
    assert german["housing"].notna().all() and german["purpose"].notna().all()
    one = client.post("/predict", json=dict(record, housing=None, purpose="spaceship")).json()
    assert sorted(one["unseen"]) == ["housing", "purpose"]
    assert one["unseen_empty"] == ["housing"]
    batch = client.post("/predict", json={"records": [dict(record, housing="  "), record,
                                                      dict(record, purpose="spaceship")]}).json()["results"]
    assert [r.get("unseen_empty") for r in batch] == [["housing"], None, None]
    assert batch[0]["unseen"] == ["housing"] and batch[2]["unseen"] == ["purpose"]
    lines = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()
             if '"prediction"' in line]
    assert [line.get("unseen_empty") for line in lines] == [["housing"], ["housing"], None, None]
    schema = client.get("/openapi.json").json()["paths"]["/predict"]["post"]["responses"]
    assert "unseen_empty" in json.dumps(schema)


def test_limits_token_metadata_and_openapi(client: TestClient, exported_dir: Path, german: pd.DataFrame) -> None:
    record = _records(german.head(1), Predictor(exported_dir).fields)[0]
    assert client.post("/predict", content=b" " * 200_001, headers=AUTH | {"Content-Type": "application/json"}).status_code == 413
    assert client.post("/predict", json={"records": [record] * 501}, headers=AUTH).status_code == 413
    assert client.post("/predict", json=record).status_code == 401
    wrong = client.post("/predict", json=record, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401 and wrong.headers["www-authenticate"] == "Bearer"
    assert client.get("/metadata").status_code == 401
    assert client.get("/health").json()["status"] == "ok"  # no token for load balancers
    meta = client.get("/metadata", headers=AUTH).json()
    assert meta["schema"]["target"] == "creditability" and "purpose" in meta["schema"]["categorical"]
    assert meta["model_sha256"] == Predictor(exported_dir).model_sha256 and meta["parity"]["onnx"]["flips"] == 0
    assert "auc" in json.dumps(meta["metrics"])
    assert client.get("/openapi.json").status_code == 401  # the pages describe the model: token too
    spec = client.get("/openapi.json", headers=AUTH).json()
    record_schema = spec["paths"]["/predict"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert "age_in_years" in record_schema["oneOf"][0]["required"]
    assert client.get("/docs", headers=AUTH).status_code == 200


def test_audit_features_only_when_asked(exported_dir: Path, german: pd.DataFrame, tmp_path: Path) -> None:
    audit = AuditLog(tmp_path / "audit.jsonl")
    client = TestClient(create_app(exported_dir, audit=audit, audit_features=True))
    record = _records(german.head(1), Predictor(exported_dir).fields)[0]
    assert client.post("/predict", json=record).status_code == 200  # no token configured
    line = json.loads((tmp_path / "audit.jsonl").read_text())
    assert line["features"]["purpose"] == record["purpose"]
    # A category sent as a number too large for a double is scored as the unseen category "inf";
    # orjson wrote it as null, which a replay would score as missing. The line records "inf",
    # and the record sent with that text gets the same score.
    body = json.dumps(record).replace(json.dumps(record["purpose"]), "1e400", 1)
    assert '"purpose": 1e400' in body
    answer = client.post("/predict", content=body, headers={"content-type": "application/json"})
    assert answer.status_code == 200 and answer.json()["unseen"] == ["purpose"]
    line = json.loads((tmp_path / "audit.jsonl").read_text().splitlines()[-1])
    assert line["features"]["purpose"] == "inf" and line["unseen"] == ["purpose"]
    replay = client.post("/predict", json={**record, "purpose": line["features"]["purpose"]}).json()
    assert replay["score"] == answer.json()["score"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_over_a_real_socket(exported_dir: Path, german: pd.DataFrame, tmp_path: Path) -> None:
    token_file, audit = tmp_path / "token", tmp_path / "audit.jsonl"
    token_file.write_text(TOKEN + "\n")
    port = _free_port()
    finlite = Path(sys.executable).parent / "finlite"
    proc = subprocess.Popen([str(finlite), "serve", str(exported_dir), "--port", str(port), "--token-file",
                             str(token_file), "--audit-log", str(audit)], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_serving(proc, port, 30)
        records = _records(german.head(5), Predictor(exported_dir).fields)
        with httpx.Client(base_url=base, headers=AUTH, timeout=5) as http:
            scores = [http.post("/predict", json=r).json()["score"] for r in records]
            assert http.post("/predict", json={}).status_code == 422
        assert np.abs(np.array(scores) - Predictor(exported_dir).predict_score(records)).max() < 1e-6
        assert httpx.post(f"{base}/predict", json=records[0]).status_code == 401
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    lines = [json.loads(line) for line in audit.read_text().splitlines()]
    # A start line, the five decisions, a stop line: each decision traces to the input it was made
    # on (input_sha256, without the data) and the start line to how the artifact was trusted.
    assert [line["event"] for line in lines] == ["start", *["prediction"] * 5, "stop"]
    start = lines[0]
    manifest = Predictor(exported_dir).manifest
    assert start["manifest_sha256"] == manifest["manifest_sha256"] == lines[1]["manifest_sha256"]
    assert start["signature"] == {"signed": False, "verified": None} and start["pinned_manifest_sha256"] is None
    assert (start["pid"], start["port"], start["workers"], start["audit_features"]) == (proc.pid, port, 1, False)
    assert "features" not in lines[1]
    # The digest is that of the record's fields as sent, keys sorted, compact (checked by hand).
    expected = hashlib.sha256(json.dumps(records[0], sort_keys=True, separators=(",", ":"),
                                         ensure_ascii=False).encode()).hexdigest()
    assert lines[1]["input_sha256"] == expected
    assert len({line["input_sha256"] for line in lines[1:6]}) == 5


def test_serve_refuses_an_empty_token_file(exported_dir: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from finlite.cli import app

    (tmp_path / "token").write_text("  \n")
    result = CliRunner().invoke(app, ["serve", str(exported_dir), "--token-file", str(tmp_path / "token")])
    assert result.exit_code == 2 and "is empty; put the bearer token in it" in result.output


def test_the_start_line_records_the_operators_pin_only(exported_dir: Path) -> None:
    """Under --workers N the parent pins each worker to the digest it verified; the start line
    said that pin as if the operator had set one (a review, 2026-12-05)."""
    from finlite.runtime.service import ServeSettings, service_event

    predictor = Predictor(exported_dir)
    digest = str(predictor.manifest["manifest_sha256"])
    alone = ServeSettings(artifact=str(exported_dir), manifest_sha256=digest)
    assert service_event("start", predictor, alone)["pinned_manifest_sha256"] == digest
    assert service_event("start", predictor, ServeSettings(artifact=str(exported_dir)))["pinned_manifest_sha256"] is None
    worker = ServeSettings(artifact=str(exported_dir), manifest_sha256=digest, parent_pid=1)
    assert service_event("start", predictor, worker)["pinned_manifest_sha256"] is None
    pinned = ServeSettings(artifact=str(exported_dir), manifest_sha256=digest, parent_pid=1, operator_pin=digest)
    assert service_event("start", predictor, pinned)["pinned_manifest_sha256"] == digest
    stop = service_event("stop", predictor, alone)
    assert stop["event"] == "stop" and stop["manifest_sha256"] == digest and "signature" not in stop


def test_a_port_taken_after_the_check_stops_the_start_with_exit_2_and_a_stop_line(
        exported_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The port is checked before the artifact loads; one taken in between made uvicorn exit with
    its own status 3 (1 on older versions: finlite's "a gate decided"). It is a ConfigError (exit
    2) naming the address, and the audit log's start line has its stop line."""
    from finlite.errors import ConfigError
    from finlite.runtime import service

    monkeypatch.setattr(service, "_check_bindable", lambda host, port: None)  # the race: free when checked
    with socket.socket() as taken:
        taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        audit = tmp_path / "audit.jsonl"
        with pytest.raises(ConfigError, match=rf"The service stopped before serving on 127\.0\.0\.1:{port} \(uvicorn "
                                              r"exited with status \d+; .*Choose another --port"):
            service.serve(exported_dir, port=port, audit_log=audit)
    assert [json.loads(line)["event"] for line in audit.read_text().splitlines()] == ["start", "stop"]


def test_a_keyed_audit_log_records_hmacs_nobody_without_the_key_can_link(exported_dir: Path, german: pd.DataFrame,
                                                                          tmp_path: Path) -> None:
    """input_sha256 is a plain sha256 of a record's fields: knowing 20 of German credit's 22,
    the other two were found in 0.1 s by trying values (a data-protection walk-through,
    2026-12-07). With --audit-key-file each line holds the HMAC-SHA256 under the bank's key
    instead, in every worker, and the start line names the key by an id, never the key."""
    import hmac

    from typer.testing import CliRunner

    from finlite.cli import app
    from finlite.runtime.service import audit_key_id, input_digest

    key_file, audit = tmp_path / "audit.key", tmp_path / "audit.jsonl"
    key = b"0f" * 32
    key_file.write_bytes(key + b"\n")
    key_file.chmod(0o600)
    port = _free_port()
    finlite = Path(sys.executable).parent / "finlite"
    proc = subprocess.Popen([str(finlite), "serve", str(exported_dir), "--port", str(port), "--audit-log", str(audit),
                             "--audit-key-file", str(key_file), "--workers", "2"], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        wait_until_serving(proc, port, 60)
        records = _records(german.head(4), Predictor(exported_dir).fields)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
            for r in records:
                assert http.post("/predict", json=r).status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    lines = [json.loads(line) for line in audit.read_text().splitlines()]
    decided = [line for line in lines if line["event"] == "prediction"]
    starts = [line for line in lines if line["event"] == "start"]
    assert len(decided) == 4 and len(starts) == 2  # one start line per worker
    assert all(s["input_digest"] == "hmac-sha256" and s["audit_key_id"] == audit_key_id(key) for s in starts)
    assert key.decode() not in audit.read_text()
    # Checked by hand: HMAC-SHA256 of the record's fields, keys sorted, compact.
    want = {hmac.new(key, json.dumps(r, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(),
                     hashlib.sha256).hexdigest() for r in records}
    assert {line["input_hmac_sha256"] for line in decided} == want
    assert not any("input_sha256" in line for line in decided)
    assert input_digest(records[0], key) in want and input_digest(records[0]) not in want
    # Refused before the port is bound: a short key, a key without a log, the log over the key.
    runner = CliRunner()
    (tmp_path / "short.key").write_text("secret\n")
    short = runner.invoke(app, ["serve", str(exported_dir), "--audit-key-file", str(tmp_path / "short.key"),
                                "--audit-log", str(tmp_path / "a2.jsonl")])
    assert short.exit_code == 2 and "holds 6 bytes; an audit key needs at least 32 random bytes" in short.output
    alone = runner.invoke(app, ["serve", str(exported_dir), "--audit-key-file", str(key_file), "--no-audit"])
    assert alone.exit_code == 2 and "writes no audit log (--no-audit)" in alone.output
    over = runner.invoke(app, ["serve", str(exported_dir), "--audit-key-file", str(key_file), "--audit-log",
                               str(key_file)])
    assert over.exit_code == 2 and "--audit-key-file" in over.output and key_file.read_bytes() == key + b"\n"
    # A key every client holds keys nothing (a review, 2026-12-07).
    shared = runner.invoke(app, ["serve", str(exported_dir), "--audit-key-file", str(key_file), "--token-file",
                                 str(key_file), "--audit-log", str(tmp_path / "a3.jsonl")])
    assert shared.exit_code == 2 and "--audit-key-file is the --token-file file" in shared.output
    public = runner.invoke(app, ["serve", str(exported_dir), "--audit-key-file", str(key_file), "--verify-key",
                                 str(key_file), "--audit-log", str(tmp_path / "a4.jsonl")])
    assert public.exit_code == 2 and "--audit-key-file is the --verify-key file" in public.output
