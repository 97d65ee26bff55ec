"""The scoring service: an exported artifact behind HTTP (FastAPI), without torch.

Endpoints:

- ``GET /health``: liveness and the model hash (never needs the token, for load balancers);
- ``GET /metadata``: schema with categories, model and manifest hashes, cut-off, metrics, parity;
- ``POST /predict``: one record (a JSON object of fields) or a batch (``{"records": [...]}``);
- ``GET /docs`` and ``/openapi.json``: the OpenAPI page, with the artifact's fields in the schema.

Every request body is checked against the artifact's schema before scoring. All problems are
returned at once as 422 with each field's location and reason (missing field, wrong type);
a category never seen in training is scored in the training's unseen bucket, as the
preprocessor does, and reported in ``unseen``. Bodies above the size limit get 413. With a
token, ``/predict`` and ``/metadata`` need ``Authorization: Bearer <token>``. Each prediction
appends one JSON line to the audit log: request id, time, model hash, score, decision (and the
raw features only when asked).
"""

from __future__ import annotations

import hmac
import json
import threading
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from finlite.errors import ConfigError
from finlite.runtime.encoder import FieldError, RecordErrors
from finlite.runtime.predictor import Predictor

__all__ = ["AuditLog", "create_app", "read_token"]

MAX_BODY_BYTES = 1 << 20
MAX_BATCH = 10_000
# Batches above this many records are encoded in a worker thread so the event loop keeps serving.
_THREADPOOL_ABOVE = 64


def read_token(path: str | Path) -> str:
    """The bearer token in ``path`` (surrounding whitespace removed).

    Raises:
        ConfigError: the file is missing, unreadable or empty.
    """
    try:
        token = Path(path).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(f"Cannot read the token file {str(path)!r} ({exc.strerror or exc}); check --token-file.") \
            from exc
    if not token:
        raise ConfigError(f"The token file {str(path)!r} is empty; put the bearer token in it.")
    return token


class AuditLog:
    """An append-only JSON-lines file; one line per prediction, flushed after each request."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 -- held for the server's life
        self._lock = threading.Lock()

    def write(self, entries: list[dict[str, Any]]) -> None:
        """Append ``entries`` (one line each) and flush."""
        text = "".join(json.dumps(e, sort_keys=True, separators=(",", ":"), default=str) + "\n" for e in entries)
        with self._lock:
            self._fh.write(text)
            self._fh.flush()

    def close(self) -> None:
        """Close the file."""
        with self._lock:
            self._fh.close()


def _record_schema(predictor: Predictor) -> dict[str, Any]:
    """JSON Schema of one record, for the OpenAPI page."""
    props: dict[str, Any] = {}
    for name, *_ in predictor.encoder.numeric:
        props[name] = {"type": ["number", "null"], "description": "number; null when unknown (imputed)"}
    for name, _, _, categories in predictor.encoder.categorical:
        props[name] = {"type": ["string", "number", "boolean", "null"], "examples": categories[:20],
                       "description": "category; unseen values use the unseen bucket and are reported"}
    return {"type": "object", "properties": props, "required": predictor.fields, "additionalProperties": True}


def _field_errors(errors: list[FieldError], batch: bool) -> list[dict[str, Any]]:
    out = []
    for e in errors:
        loc: list[Any] = ["body", "records", e.record] if batch else ["body"]
        if e.field:
            loc.append(e.field)
        out.append({"loc": loc, "msg": e.reason, "type": e.kind})
    return out


def create_app(artifact: str | Path | Predictor, *, token: str | None = None, audit: AuditLog | None = None,
               audit_features: bool = False, max_body_bytes: int = MAX_BODY_BYTES,
               max_batch: int = MAX_BATCH) -> FastAPI:
    """The FastAPI application serving ``artifact`` (a folder or a loaded :class:`Predictor`)."""
    predictor = artifact if isinstance(artifact, Predictor) else Predictor(artifact)
    meta = predictor.metadata()
    app = FastAPI(title=f"finlite scoring service: {predictor.path.name}",
                  description=f"Scores P({meta['schema']['target']} = {meta['schema']['positive']!r}) with the "
                              f"{meta['model']['kind']} model {predictor.model_sha256[:16]}….",
                  version=str(meta["versions"].get("finlite", "")))
    expected = f"Bearer {token}".encode() if token else None

    def authorize(request: Request) -> None:
        if expected is None:
            return
        given = request.headers.get("authorization", "").encode()
        if not hmac.compare_digest(given, expected):
            raise HTTPException(status_code=401, detail="missing or wrong bearer token",
                                headers={"WWW-Authenticate": "Bearer"})

    record_schema = _record_schema(predictor)
    body_schema = {"oneOf": [record_schema, {"type": "object", "required": ["records"], "properties": {
        "records": {"type": "array", "items": record_schema, "maxItems": max_batch}}}]}

    @app.get("/health")
    async def health() -> dict[str, Any]:
        return {"status": "ok", "model_sha256": predictor.model_sha256}

    @app.get("/metadata", dependencies=[Depends(authorize)])
    async def metadata() -> dict[str, Any]:
        return meta

    @app.post("/predict", dependencies=[Depends(authorize)],
              openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": body_schema}}}},
              responses={413: {"description": "body or batch too large"}, 422: {"description": "invalid fields"}})
    async def predict(request: Request) -> JSONResponse:
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > max_body_bytes:
            return JSONResponse({"detail": f"request body is larger than {max_body_bytes} bytes"}, status_code=413)
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > max_body_bytes:
                return JSONResponse({"detail": f"request body is larger than {max_body_bytes} bytes"},
                                    status_code=413)
        try:
            payload = json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            return _invalid([{"loc": ["body"], "msg": f"invalid JSON: {exc}", "type": "json_invalid"}])
        if not isinstance(payload, dict):
            return _invalid([{"loc": ["body"], "msg": "expected a JSON object: one record, or {\"records\": [...]}",
                              "type": "type"}])
        request_id = request.headers.get("x-request-id") or uuid.uuid4().hex
        # {"records": [...]} is a batch, unless the model has a feature of that name.
        batch = "records" in payload and "records" not in predictor.fields
        if batch and not isinstance(payload["records"], list):
            return _invalid([{"loc": ["body", "records"], "msg": "expected a list of records", "type": "type"}])
        records: list[Mapping[str, Any]] = payload["records"] if batch else [payload]
        if len(records) > max_batch:
            return JSONResponse({"detail": f"{len(records)} records in one request; the limit is {max_batch}"},
                                status_code=413)
        try:
            if batch and len(records) > _THREADPOOL_ABOVE:
                x, unseen = await run_in_threadpool(predictor.encoder.encode_records, records, "the request")
            else:
                x, unseen = predictor.encoder.encode_records(records, "the request")
        except RecordErrors as exc:
            return _invalid(_field_errors(exc.errors, batch))
        scores = predictor.score_vector(x) if len(x) else []
        cutoff = predictor.cutoff
        results = [{"score": float(s), "decision": int(s >= cutoff), "unseen": u}
                   for s, u in zip(scores, unseen, strict=True)]
        if audit is not None:
            now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
            lines = []
            for i, (res, rec) in enumerate(zip(results, records, strict=True)):
                line = {"time": now, "request_id": request_id, "model_sha256": predictor.model_sha256,
                        "score": res["score"], "decision": res["decision"], "cutoff": cutoff}
                if batch:
                    line["index"] = i
                if res["unseen"]:
                    line["unseen"] = res["unseen"]
                if audit_features:
                    line["features"] = {k: rec[k] for k in predictor.fields}
                lines.append(line)
            audit.write(lines)
        head = {"request_id": request_id, "model_sha256": predictor.model_sha256, "cutoff": cutoff}
        body_out = {**head, "results": results} if batch else {**head, **results[0]}
        return JSONResponse(body_out, headers={"x-request-id": request_id})

    return app


def _invalid(detail: list[dict[str, Any]]) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=422)


def serve(artifact: str | Path, *, host: str = "127.0.0.1", port: int = 8000, token_file: str | Path | None = None,
          audit_log: str | Path | None = None, audit_features: bool = False, max_body_bytes: int = MAX_BODY_BYTES,
          access_log: bool = False) -> None:
    """Run the service with uvicorn until interrupted (binds 127.0.0.1 unless told otherwise)."""
    import uvicorn

    token = read_token(token_file) if token_file is not None else None
    predictor = Predictor(artifact)
    audit = AuditLog(audit_log) if audit_log is not None else None
    app = create_app(predictor, token=token, audit=audit, audit_features=audit_features,
                     max_body_bytes=max_body_bytes)
    try:
        uvicorn.run(app, host=host, port=port, log_level="warning", access_log=access_log)
    finally:
        if audit is not None:
            audit.close()
