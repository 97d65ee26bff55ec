"""The scoring service: an exported artifact behind HTTP (FastAPI), without torch.

Endpoints:

- ``GET /health``: liveness and the model hash (never needs the token, for load balancers);
- ``GET /metadata``: schema with categories, model and manifest hashes, cut-off, metrics, parity;
- ``POST /predict``: one record (a JSON object of fields) or a batch (``{"records": [...]}``);
- ``GET /docs``, ``/redoc`` and ``/openapi.json``: the OpenAPI page, with the artifact's fields
  in the schema (Swagger UI and ReDoc from the installed fastapi-offline package, never a CDN).

Every request body is parsed strictly (no ``NaN``/``Infinity`` literals, no number that is
infinite as a double, at most 1,024 levels of nesting) and checked against the artifact's
schema before scoring. Problems are returned as 422 with each field's location and reason
(missing field, wrong type, a value that is not finite or does not fit float32), the first
:data:`MAX_ERRORS` of them with the total count; a category never seen in training is scored
in the training's unseen bucket, as the preprocessor does, and reported in ``unseen`` (and in
``unseen_empty`` when it was sent empty or blank where training never saw it so). Bodies
above the size limit get 413. With a token, every endpoint but ``/health`` (the OpenAPI pages
included) needs ``Authorization: Bearer <token>``.

Fail closed: a score that is not a probability (NaN or infinite, e.g. from an extreme input)
is never turned into a decision; the request gets 422 naming the record. The audit log (a
JSON-lines file created private, mode 0600) gets one ``"event": "prediction"`` line per
delivered prediction (request id, time, model and manifest hashes, the input's digest
(:func:`input_digest`), score, decision, cut-off, the adverse-action reasons given with a
decision of 1, the unseen (and of those the empty), imputed and outside fields, and the raw features only when
asked), one
``"event": "error"`` line per request that reached the model but got no decision (non-finite
score, internal error), and per serving process a ``"start"`` line (what it serves, under which
checks: :func:`service_event`) and a ``"stop"`` line at shutdown. Requests refused before
scoring (401, 413, 422 on the body) get no audit line: nothing was decided. Every error response is an ordinary
response, so a keep-alive connection stays usable for the next request.

The /predict path is kept lean because it is the hot path: the app dispatches ``POST /predict``
before Starlette's middleware and router, orjson parses and serialises, one
record is encoded straight into the ONNX session's bound input buffer, the token check is a
constant-time compare in the handler (no dependency injection), the audit line is one
``os.write`` on an ``O_APPEND`` descriptor, and the timestamp text is cached per second.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import errno
import fcntl
import functools
import hashlib
import hmac
import json
import logging
import math
import os
import re
import signal
import socket
import stat
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import orjson
from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, Response

# The app uvicorn answers with past limit_concurrency (text/plain); BoundedHttpToolsProtocol swaps it.
from uvicorn.protocols.http.flow_control import service_unavailable as _uvicorn_busy

from finlite._finite import RANGE_MARGIN
from finlite._keys import MISSING, category_key
from finlite._limits import available_cores
from finlite._manifest import failed_gates_warning
from finlite._money import MONEY
from finlite._paths import FileTooLarge, read_small_file
from finlite._protected import USE_ADVICE
from finlite._util import check_flags
from finlite.data.market import MarketPreprocessor
from finlite.errors import ArtifactError, ConfigError, DataError, FinliteError, ScoreError
from finlite.runtime.audit import chain_lines, tail_sha256
from finlite.runtime.encoder import FieldError, RecordErrors
from finlite.runtime.predictor import Predictor, points_of, report_status_warning
from finlite.runtime.reason_codes import (
    ReasonCodes,
    masked_protected_notes,
    protected_fields,
    reason_columns,
    reasons_setup,
)
from finlite.runtime.reasons import empty_fields, incomplete_fields

__all__ = ["AUDIT_EVENTS", "MAX_BATCH", "MAX_BODY_BYTES", "MAX_ERRORS", "AuditLog", "ServeSettings",
           "app_from_environment", "check_settings", "create_app", "input_digest", "read_token", "serve",
           "service_event", "worker_app"]

log = logging.getLogger("finlite.service")

MAX_BODY_BYTES = 1 << 20
#: Bounds of --max-body-bytes: below 1 KiB no real record fits, above 64 MiB one request could
#: hold a worker's memory hostage.
BODY_LIMIT_RANGE = (1 << 10, 64 << 20)
MAX_BATCH = 10_000
#: Field errors listed in one 422 body (the total is always given): 10,000 empty records would
#: otherwise answer a 40 KB request with megabytes of errors.
MAX_ERRORS = 100
#: orjson's nesting limit; a deeper body is refused as 422 (a valid body nests 3 levels).
MAX_DEPTH = 1024
# Batches above this many records are encoded in a worker thread so the event loop keeps serving.
_THREADPOOL_ABOVE = 64
_MAX_TOKEN_FILE_BYTES = 4096
_REQUEST_ID = re.compile(r"[\x21-\x7e]{1,128}")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_HOST_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?")
_ENV = "FINLITE_SERVE_SETTINGS"
_JSON = "application/json"
#: Seconds a request may take to send its body once its headers are in (a client that trickles
#: its body would otherwise hold a connection, and its part of the body limit, for ever).
BODY_TIMEOUT_S = 10.0
#: Bytes of request line and headers one request may send (h11's default too): a bearer token
#: and the usual headers take a few hundred; the C parser uvicorn prefers has no limit of its own.
MAX_HEADER_BYTES = 16 << 10
#: Seconds from a connection's first byte (or its opening) to the end of a request's headers: a
#: client that trickles them (slowloris) is disconnected instead of holding the connection.
HEADER_TIMEOUT_S = 10.0
#: Connections served at once; more get a 503 (each may hold up to the body limit), in JSON as
#: every other answer (uvicorn's own is the text "Service Unavailable").
MAX_CONNECTIONS = 256
#: Host headers a service bound to a loopback address answers: a web page that makes a browser
#: resolve its own name to 127.0.0.1 (DNS rebinding) sends its name, and is refused.
LOOPBACK_HOSTS = frozenset({b"127.0.0.1", b"localhost", b"[::1]"})


# -- configuration ----------------------------------------------------------------------------------
#: Fewer characters than this in a bearer token get a warning at start-up (32 hex digits are 128 bits).
MIN_TOKEN_CHARS = 16


def read_token(path: str | Path) -> str:
    """The bearer token in ``path`` (surrounding whitespace removed).

    Raises:
        ConfigError: the file is missing, unreadable, binary, not UTF-8, too large, empty, or
            the token holds characters an HTTP header cannot carry (spaces, controls, non-ASCII).
    """
    where = f"The token file {str(path)!r}"
    try:
        raw = read_small_file(path, _MAX_TOKEN_FILE_BYTES)  # a pipe or a device is refused, not waited on
    except FileTooLarge:
        raise ConfigError(f"{where} is larger than {_MAX_TOKEN_FILE_BYTES} bytes; it must hold only the bearer "
                          "token (one line of text). Check --token-file.") from None
    except OSError as exc:
        raise ConfigError(f"Cannot read the token file {str(path)!r} ({exc.strerror or exc}); check --token-file.") \
            from exc
    try:
        token = raw.decode("utf-8").strip()
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{where} is not UTF-8 text (byte {exc.start} is {raw[exc.start]:#04x}; a binary file?); "
                          "put the bearer token in it as one line of text.") from None
    if not token:
        raise ConfigError(f"{where} is empty; put the bearer token in it.")
    bad = next((i for i, ch in enumerate(token) if not "\x21" <= ch <= "\x7e"), None)
    if bad is not None:
        raise ConfigError(f"{where} holds the character {token[bad]!r} at position {bad}; a bearer token is one "
                          "line of visible ASCII (letters, digits and punctuation, no spaces or control "
                          "characters). Write it again, e.g. with: openssl rand -hex 32 > TOKEN_FILE")
    return token


@dataclass(frozen=True)
class ServeSettings:
    """Everything ``finlite serve`` needs, validated by :func:`check_settings`.

    It travels to worker processes as JSON in an environment variable (paths only, never the
    token itself), so ``--workers N`` re-creates the same app in every process.
    """

    artifact: str
    host: str = "127.0.0.1"
    port: int = 8000
    token_file: str | None = None
    audit_log: str | None = None
    audit_features: bool = False
    max_body_bytes: int = MAX_BODY_BYTES
    access_log: bool = False
    workers: int = 1
    verify_key: str | None = None
    manifest_sha256: str | None = None
    allowed_hosts: tuple[str, ...] = ()
    #: Adverse-action reasons given per record decided positive (0: none; see create_app).
    reasons: int = 0
    #: The lender's reason-codes table (a CSV path): the reasons are its codes (see create_app).
    reason_codes: str | None = None
    #: Refuse a null or blank in a field training never saw blank (422 naming the field), instead
    #: of deciding on the training median or the unseen category (``Predictor(no_impute=True)``).
    no_impute: bool = False
    #: The sha256 of the table the parent read and checked: every worker of --workers N reads the
    #: file again (an environment variable is too small for a large table) and refuses other bytes.
    reason_codes_sha256: str | None = None
    #: Where a worker of --workers N that cannot start writes why (a file in a private folder of
    #: the parent's), and the parent's pid, which that worker asks to stop (see :func:`worker_app`).
    failure_file: str | None = None
    parent_pid: int | None = None
    #: A file holding a secret key (``--audit-key-file``): the audit lines' input digests are then
    #: HMAC-SHA256 under it (``input_hmac_sha256``), which nobody without the key can link to an
    #: applicant by trying values (a plain sha256 of a record's few unknown fields can be; a
    #: data-protection walk-through, 2026-12-07).
    audit_key_file: str | None = None
    #: The --manifest-sha256 the operator gave (None: none), which a worker's start line records:
    #: under --workers N the parent pins every worker to the digest it verified itself, which is
    #: not the operator's pin.
    operator_pin: str | None = None

    def predictor(self) -> Predictor:
        """Load the artifact with the trust options given (a key, a pinned manifest digest)."""
        return Predictor(self.artifact, verify_key=self.verify_key, manifest_sha256=self.manifest_sha256,
                         no_impute=self.no_impute)


def check_settings(settings: ServeSettings) -> ServeSettings:
    """Validate the options of ``serve``; returns the settings with the digest normalised.

    Raises:
        ConfigError: naming the option, the value and the accepted range.
    """
    check_flags("serve", audit_features=settings.audit_features, access_log=settings.access_log)
    if not 1 <= settings.port <= 65535:
        raise ConfigError(f"--port {settings.port} is not a TCP port; use 1 to 65535 (e.g. 8000).")
    low, high = BODY_LIMIT_RANGE
    if not low <= settings.max_body_bytes <= high:
        raise ConfigError(f"--max-body-bytes {settings.max_body_bytes} is outside {low} (1 KiB) to {high} (64 MiB); "
                          f"the default {MAX_BODY_BYTES} (1 MiB) fits a batch of about 1,000 records.")
    cores = available_cores()
    if not 1 <= settings.workers <= cores:
        raise ConfigError(f"--workers {settings.workers} is outside 1 to {cores} (the cores this process may use); "
                          "each worker is a process scoring on one core.")
    digest = settings.manifest_sha256
    if digest is not None:
        digest = digest.strip().lower()
        if not _HEX64.fullmatch(digest):
            raise ConfigError(f"--manifest-sha256 {settings.manifest_sha256!r} is not a sha256 digest (64 hex "
                              "digits); copy it from 'finlite inspect ARTIFACT' or GET /metadata.")
    if settings.verify_key is not None and not Path(settings.verify_key).is_file():
        raise ConfigError(f"--verify-key {settings.verify_key!r} is not a file; give the trusted public key "
                          "(PEM) of the artifact's signer.")
    for name in settings.allowed_hosts:
        if not isinstance(name, str) or not _HOST_NAME.fullmatch(name):
            raise ConfigError(f"--allowed-host {name!r} is not a host name (letters, digits, dots and hyphens, e.g. "
                              "api.bank.internal); give the name a local proxy forwards in its Host header.")
    if isinstance(settings.reasons, bool) or not isinstance(settings.reasons, int) or not 0 <= settings.reasons <= 64:
        raise ConfigError(f"--reasons {settings.reasons!r} is not a number of reasons from 0 (none) to 64; four is "
                          "the US adverse-action practice.")
    if settings.reason_codes is not None and not settings.reasons:
        raise ConfigError("--reason-codes names the reasons given with a decision; it needs --reasons N (e.g. "
                          "--reasons 4).")
    if settings.audit_log is not None:
        _check_audit_path(settings)
    elif settings.audit_key_file is not None:
        raise ConfigError("--audit-key-file keys the audit log's input digests, and this service writes no audit log "
                          "(--no-audit). Drop one of them.")
    if settings.audit_key_file is not None:
        # A key every client holds (the bearer token) or anyone may read (a public key) keys nothing
        # (a review, 2026-12-07).
        for option, other in (("--token-file", settings.token_file), ("--verify-key", settings.verify_key)):
            if other is not None and _same_file(settings.audit_key_file, other):
                raise ConfigError(f"--audit-key-file is the {option} file {str(other)!r}: the audit key must be a "
                                  "secret of its own, which no client holds. Write one with: openssl rand -hex 32 > "
                                  "KEY_FILE")
    return ServeSettings(**{**asdict(settings), "manifest_sha256": digest})


def _same_file(a: str | Path, b: str | Path) -> bool:
    """Whether two paths name one file (the same path, or the same file by device and inode)."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.abspath(a) == os.path.abspath(b)


def _check_audit_path(settings: ServeSettings) -> None:
    # Appending to the artifact would break its verification; to the token or key, destroy them.
    from finlite._paths import check_not_input

    if settings.audit_log is None:
        return
    from finlite._manifest import VERIFY_KEY_ENV

    check_not_input(settings.audit_log, {"artifact": settings.artifact, "--token-file": settings.token_file,
                                         "--verify-key": settings.verify_key, "--audit-key-file": settings.audit_key_file,
                                         f"${VERIFY_KEY_ENV}": os.environ.get(VERIFY_KEY_ENV) or None},
                    "--audit-log", replaceable=False)


# -- the OpenAPI pages, offline ---------------------------------------------------------------------
#: The pages' files (from the fastapi-offline package): their URL and media type.
_DOCS_ASSETS = {"swagger-ui-bundle.js": ("/docs/swagger-ui-bundle.js", "text/javascript"),
                "swagger-ui.css": ("/docs/swagger-ui.css", "text/css"),
                "redoc.standalone.js": ("/redoc/redoc.standalone.js", "text/javascript")}
#: Only this service's own scripts, styles and JSON (the pages' inline start-up script and styles
#: included; ReDoc runs a worker from a blob); nothing may be framed or sent elsewhere.
_DOCS_HEADERS = {"Content-Security-Policy": "default-src 'none'; script-src 'self' 'unsafe-inline'; "
                 "style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; "
                 "connect-src 'self'; worker-src 'self' blob:; base-uri 'none'; form-action 'none'; "
                 "frame-ancestors 'none'",
                 "X-Content-Type-Options": "nosniff"}


@functools.cache
def _docs_asset(name: str) -> bytes:
    """The bytes of one of :data:`_DOCS_ASSETS`, read once from the installed package."""
    import importlib.resources

    return importlib.resources.files("fastapi_offline").joinpath("static", name).read_bytes()


def _offline_page(page: HTMLResponse) -> Response:
    """``page`` with :data:`_DOCS_HEADERS`, so the browser loads nothing from another site."""
    page.headers.update(_DOCS_HEADERS)
    return page


# -- the audit log ----------------------------------------------------------------------------------
#: Opens refuse a symbolic link (0 where the platform has no such flag).
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


def _starts_as_audit_log(path: Path, opened: os.stat_result) -> bool:
    """True when the file's first line begins as :class:`AuditLog` writes one: a JSON object whose
    sorted keys reach ``"event": "prediction"`` or ``"error"`` within its first 64 KiB. A line may be longer than that (audit features with long text come after ``event``),
    so the check reads a prefix, never a whole line.

    A log this process may append to but not read (a write-only logging policy) cannot be
    checked and is used as it is; a file swapped in since it was opened is not judged either.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK | _NOFOLLOW)
    except PermissionError:
        return True
    except OSError:
        return False  # swapped for a link since it was opened: not judged, so not appended to
    try:
        seen = os.fstat(fd)
        if (seen.st_dev, seen.st_ino) != (opened.st_dev, opened.st_ino):
            return False
        head = os.pread(fd, 1 << 16, 0).split(b"\n", 1)[0]
    finally:
        os.close(fd)
    event = head.find(b'"event":')
    return head.startswith(b'{"') and event > 0 and head[event + 8:].lstrip().startswith(
        tuple(b'"%s"' % name.encode() for name in AUDIT_EVENTS))


#: The events of an audit line: a service start and stop, a delivered prediction, an error.
AUDIT_EVENTS = ("prediction", "error", "start", "stop")


def input_digest(values: Mapping[str, Any], key: bytes | None = None) -> str:
    """The sha256 (hex) an audit line records of a record's fields as received (``input_sha256``):
    of the UTF-8 JSON of ``values`` (field name to the value the request held, as parsed) with
    sorted keys and no spaces, as ``orjson.dumps(values, option=orjson.OPT_SORT_KEYS)`` writes it.
    That is Python's ``json.dumps(values, sort_keys=True, separators=(",", ":"),
    ensure_ascii=False)`` except for how some floats are written (orjson ``1e-7``, Python
    ``1e-07``): to check a digest, call this function on the record. A lender that
    keeps the application elsewhere proves with it which input a logged decision was made on,
    without the log holding the applicant's data (``--audit-features`` writes the data itself;
    the digest is then that of the line's ``features``). With ``key`` (``serve --audit-key-file``)
    it is the HMAC-SHA256 of the same bytes under that key (``input_hmac_sha256``)."""
    data = orjson.dumps(values, option=orjson.OPT_SORT_KEYS)
    if key is not None:
        return hmac.new(key, data, hashlib.sha256).hexdigest()
    return hashlib.sha256(data).hexdigest()


#: Bounds of an audit key file's content: 32 bytes is HMAC-SHA256's own strength ('openssl rand
#: -hex 32' writes 64 characters).
MIN_AUDIT_KEY_BYTES, _MAX_AUDIT_KEY_FILE_BYTES = 32, 4096


def read_audit_key(path: str | Path) -> bytes:
    """The secret key in ``path`` (its bytes, surrounding whitespace removed).

    Raises:
        ConfigError: the file is missing, unreadable, too large, or holds fewer than
            :data:`MIN_AUDIT_KEY_BYTES` bytes.
    """
    where = f"The audit key file {str(path)!r}"
    try:
        raw = read_small_file(path, _MAX_AUDIT_KEY_FILE_BYTES)
    except FileTooLarge:
        raise ConfigError(f"{where} is larger than {_MAX_AUDIT_KEY_FILE_BYTES} bytes; it must hold only a secret key, "
                          "e.g. written by: openssl rand -hex 32 > KEY_FILE") from None
    except OSError as exc:
        raise ConfigError(f"Cannot read the audit key file {str(path)!r} ({exc.strerror or exc}); check "
                          "--audit-key-file.") from exc
    key = raw.strip()  # a trailing newline (openssl's) is no part of the key
    if len(key) < MIN_AUDIT_KEY_BYTES:
        raise ConfigError(f"{where} holds {len(key)} bytes; an audit key needs at least {MIN_AUDIT_KEY_BYTES} random "
                          "bytes (a short key can be guessed, and with it every digest linked to an applicant). Write "
                          "one with: openssl rand -hex 32 > KEY_FILE")
    return key


def audit_key_id(key: bytes) -> str:
    """A name for ``key`` that reveals nothing of it (the first 16 hex digits of its HMAC of a
    fixed text): a start line records it, so an auditor knows which key the digests need."""
    return hmac.new(key, b"finlite audit key id", hashlib.sha256).hexdigest()[:16]


def _digest_field(line: dict[str, Any], values: Any, key: bytes | None) -> None:
    """Record ``values``' digest on ``line``: keyed (``input_hmac_sha256``) or plain (``input_sha256``)."""
    line["input_sha256" if key is None else "input_hmac_sha256"] = input_digest(values, key)


def service_event(event: str, predictor: Predictor, settings: ServeSettings,
                  key: bytes | None = None) -> dict[str, Any]:
    """The audit line of a service start or stop (one per process): what it serves and how it
    was trusted (the manifest and model digests, the pinned digest if any, the signature and
    whether a trusted key verified it), its cut-off, reasons and audit options, the finlite
    that serves and the process. A decision's line names the manifest; this line says under
    which checks that manifest was loaded. ``key``: the input digests' key (``--audit-key-file``),
    named by :func:`audit_key_id`, never written."""
    from finlite._version import __version__

    line: dict[str, Any] = {"event": event, "time": _Clock().now(), "pid": os.getpid(), "finlite": __version__,
                            "artifact": str(settings.artifact), "model_sha256": predictor.model_sha256,
                            "manifest_sha256": str(predictor.manifest["manifest_sha256"])}
    if event == "start":
        pin = settings.manifest_sha256 if settings.parent_pid is None else settings.operator_pin
        line.update({"pinned_manifest_sha256": pin, "signature": dict(predictor.signature),
                     "cutoff": predictor.decision_cutoff if predictor.market is not None else predictor.cutoff,
                     "variant": predictor.variant, "reasons": settings.reasons, "no_impute": settings.no_impute,
                     "reason_codes_sha256": settings.reason_codes_sha256, "audit_features": settings.audit_features,
                     "host": settings.host, "port": settings.port, "workers": settings.workers})
        if key is not None:  # which key the input digests need (never the key)
            line.update({"input_digest": "hmac-sha256", "audit_key_id": audit_key_id(key)})
    return line


#: How long /health answers 503 after a failed audit write before the next request may try again.
AUDIT_RETRY_SECONDS = 10.0


class AuditLog:
    """An append-only JSON-lines file: one line per delivered prediction, one per scoring error,
    and one per service start and stop (:func:`service_event`).

    The file is created private (mode 0600): it holds decisions about people. An existing file
    that others may read, or that another account owns, is used, with :attr:`warning` saying so;
    a symbolic link is refused (at the open: ``O_NOFOLLOW``); an existing file whose first
    line is not an audit record (a CSV, a manifest) is refused, never appended to. Each :meth:`write` is one
    ``os.write`` on an ``O_APPEND`` descriptor, so lines from several worker processes never
    interleave.

    Raises:
        ConfigError: the path cannot be opened for appending, is a symbolic link, is not a regular
            file, or holds something other than an audit log.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.warning: str | None = None
        #: The key of the input digests (``serve --audit-key-file``), or None: plain sha256.
        self.digest_key: bytes | None = None
        #: Why the last write failed (None: it did not): /health answers 503 while it is set, so a
        #: load balancer stops sending a node requests it can decide none of (an MLOps walk-through,
        #: 2026-12-06: /health said "ok" while every /predict answered 500).
        self.failing: str | None = None
        self._failed_at = 0.0  # time.monotonic() of that failure
        #: The service's start line (:func:`service_event`): repeated, marked ``"continued": true``,
        #: as the first line of a new file after the log was rotated. None: nothing repeated.
        self.opening: dict[str, Any] | None = None
        #: (device, inode, size, sha256 of the last line) after this process's last append: while
        #: the file still has that size, no other worker wrote since, and nothing is read back.
        self._tail: tuple[int, int, int, str | None] | None = None
        self._fd = self._open(make_folder=True)
        #: The same file open for reading (-1: it cannot be read back, and its lines are not
        #: chained): the chain's previous line is read through it when another worker wrote last.
        self._rfd = self._reader(self._fd)
        self._lock = threading.Lock()

    def _open(self, *, make_folder: bool) -> int:
        """Open (or create, 0600) the log at :attr:`path` for appending, checked as the class says,
        and end a line cut short; the descriptor. ``make_folder``: create a missing folder (at
        start; never on a rotation, where a missing folder is an unmounted volume, not a new log)."""
        path = self.path
        self.warning = None  # of this file only: a rotated log's new file is 0600
        try:
            if make_folder:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            # Without blocking: a named pipe with no reader fails at once (ENXIO) instead of waiting;
            # anything but a regular file is refused below. Write-only: a log the service may append
            # to but not read is used as it is.
            # O_NOFOLLOW: a symbolic link is refused at the open itself (a link planted where the log
            # goes would send decisions about people wherever it points; no check-then-open window).
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC | os.O_NONBLOCK
                         | _NOFOLLOW, 0o600)
        except OSError as exc:
            if exc.errno == errno.ELOOP or self.path.is_symlink():
                raise ConfigError(f"The audit log {str(path)!r} is a symbolic link, and finlite never writes "
                                  "through one; give --audit-log the real file's path.") from exc
            raise ConfigError(f"Cannot open the audit log {str(path)!r} for appending ({exc.strerror or exc}); "
                              "check --audit-log and the folder's permissions.") from exc
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            os.close(fd)
            raise ConfigError(f"The audit log {str(path)!r} is not a regular file; give a file path to --audit-log.")
        os.set_blocking(fd, True)  # a regular file: writes are whole, as they always were
        if os.fstat(fd).st_size and not _starts_as_audit_log(self.path, os.fstat(fd)):
            os.close(fd)
            # Appending to a CSV or another artifact's manifest.json would corrupt it.
            raise ConfigError(f"The audit log {str(path)!r} already holds data that is not a finlite audit log (its "
                              "first line is not an audit record), and finlite appends only to its own logs; give "
                              "--audit-log a new file or one an earlier 'finlite serve' wrote.")
        owner = os.fstat(fd).st_uid
        if mode & 0o077:
            # Used all the same (it may be shared on purpose); serve() prints this warning.
            self.warning = (f"the audit log {str(path)!r} can be read by other users (mode {stat.S_IMODE(mode):04o}); "
                            f"it records decisions about people: chmod 600 {str(path)!r}")
        elif hasattr(os, "geteuid") and owner != os.geteuid():
            # Another account owns the file (and so can read every decision and change its mode);
            # used all the same, as a shared log may be, but said.
            self.warning = (f"the audit log {str(path)!r} belongs to another user (uid {owner}), who can read "
                            "every decision in it; give --audit-log a file this account owns")
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                if not self._ends_a_line(fd):
                    # A line cut short (a crash mid-write) is ended, so the next record is a line
                    # of its own; under the file lock, so several workers end it once.
                    self._append(b"\n", fd)
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        except OSError as exc:
            os.close(fd)
            raise ConfigError(f"Cannot append to the audit log {str(path)!r} ({exc.strerror or exc}); check "
                              "--audit-log, the disk's free space and the file's permissions.") from exc
        return fd

    def _reopen(self) -> None:
        """Open the file :attr:`path` names now in place of the rotated one (call under ``self._lock``).

        logrotate (or an operator) renames or deletes the log: the lines went on into the renamed
        file, or into a deleted one lost at the next restart, and no new log appeared (a review,
        2026-12-03). Each write checks the path (:meth:`_moved`, under the file lock) and comes here.

        Raises:
            OSError: the new file cannot be opened or is refused (the request then delivers nothing).
        """
        try:
            fd = self._open(make_folder=False)
        except ConfigError as exc:
            # The detail (a path, an option) is the operator's, in the server log; the client's 500
            # says only that no decision was made.
            log.error("the audit log %s was moved or removed, and no new log can be opened there: %s", self.path, exc)
            raise OSError(errno.EIO, "the audit log was moved or removed and cannot be opened again at its path") \
                from None
        rfd = self._reader(fd)
        os.close(self._fd)
        if self._rfd >= 0:
            os.close(self._rfd)
        self._fd, self._rfd, self._tail = fd, rfd, None
        log.warning("the audit log %s was moved or removed; writing to a new file at that path", self.path)
        if self.warning:
            log.warning("%s", self.warning)

    def _reader(self, fd: int) -> int:
        """The log open at ``fd`` opened again for reading (the chain reads a line another worker
        wrote last), or -1 when this account may not read it (a write-only logging policy): its
        lines are then not chained, and :attr:`warning` says so."""
        try:
            rfd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK | _NOFOLLOW)
        except OSError:
            rfd = -1
        else:
            seen, held = os.fstat(rfd), os.fstat(fd)
            if (seen.st_dev, seen.st_ino) != (held.st_dev, held.st_ino):  # swapped since: not this log
                os.close(rfd)
                rfd = -1
        if rfd < 0:
            unchained = (f"the audit log {str(self.path)!r} cannot be read back by this account, so its lines are not "
                         "hash-chained ('finlite audit' cannot show an edit); let the service read its log")
            self.warning = f"{self.warning}; {unchained}" if self.warning else unchained
        return rfd

    def _moved(self) -> bool:
        """Whether :attr:`path` no longer names the open file (renamed away, deleted, replaced). A
        path that cannot be checked (permissions) counts as not moved: the open file still takes
        the lines, as before rotation was followed."""
        try:
            # lstat: a link put in the log's place is a move (the reopen then refuses it).
            named = os.lstat(self.path)
        except FileNotFoundError:
            return True
        except OSError:
            return False
        held = os.fstat(self._fd)
        return (named.st_dev, named.st_ino) != (held.st_dev, held.st_ino)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """This process's threads (a lock) and the other workers (an exclusive ``flock`` on the
        file) one at a time: an append, and taking back a failed one, never interleave. The file
        is the one :attr:`path` names now (a rotated log is followed)."""
        with self._lock:
            # Checked once the file lock is held (another worker may rotate the log while this one
            # waits for it): two syscalls per write, and a reopen only after a rotation.
            for _ in range(3):
                fcntl.flock(self._fd, fcntl.LOCK_EX)
                try:
                    moved = self._moved()
                except BaseException:
                    fcntl.flock(self._fd, fcntl.LOCK_UN)
                    raise
                if not moved:
                    break
                fcntl.flock(self._fd, fcntl.LOCK_UN)
                self._reopen()
            else:
                log.warning("the audit log %s was rotated three times while waiting for its lock; writing to the "
                            "file open now", self.path)
                fcntl.flock(self._fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(self._fd, fcntl.LOCK_UN)

    def _ends_a_line(self, fd: int) -> bool:
        """Whether the log is empty or ends with a line break; True when it cannot be read back
        (a log the service may only append to)."""
        size = os.fstat(fd).st_size
        if not size:
            return True
        try:
            reader = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK | _NOFOLLOW)
        except OSError:
            return True
        try:
            return os.pread(reader, 1, size - 1) in (b"\n", b"")
        finally:
            os.close(reader)

    def write(self, entries: list[dict[str, Any]]) -> None:
        """Append ``entries`` (one JSON line each, keys sorted, then the chain's ``prev_sha256``:
        :mod:`finlite.runtime.audit`) in one write.

        A write that fails part way (a full disk) is taken back: the caller answers that no
        decision was made, so none of the request's lines may stay in the log, and no partial
        line may swallow the next record. Under the file lock, no other worker appends meanwhile,
        so each line links to the one before it in the file, whichever worker wrote that.
        """
        lines = [orjson.dumps(e, default=str, option=orjson.OPT_SORT_KEYS | orjson.OPT_APPEND_NEWLINE)
                 for e in entries]
        try:
            with self._locked():
                held = os.fstat(self._fd)
                opening = self.opening
                if not held.st_size and opening is not None and entries[:1] != [opening]:
                    # A rotated log's new file: its first line says what serves and how (the start
                    # line again, marked), so the file read alone names its model (note 69's leftover).
                    lines.insert(0, orjson.dumps({**opening, "time": _Clock().now(), "started": opening.get("time"),
                                                  "continued": True},
                                                 default=str, option=orjson.OPT_SORT_KEYS | orjson.OPT_APPEND_NEWLINE))
                if self._rfd < 0:  # a log this account may not read back: appended unchained
                    self._append(b"".join(lines), start=held.st_size)
                else:
                    key = (held.st_dev, held.st_ino, held.st_size)
                    tail = self._tail
                    prev = tail[3] if tail is not None and tail[:3] == key else tail_sha256(self._rfd, held.st_size)
                    data, last = chain_lines(lines, prev)
                    self._append(data, start=held.st_size)
                    self._tail = (held.st_dev, held.st_ino, held.st_size + len(data), last)
        except OSError as exc:
            self.failing, self._failed_at = exc.strerror or str(exc), time.monotonic()
            raise
        self.failing = None

    def ready(self) -> str | None:
        """Why the log cannot take a line now (None: it can, as far as can be told without writing):
        the last write failed within :data:`AUDIT_RETRY_SECONDS`, or the folder of :attr:`path`
        is gone (an unmounted volume). A failure older than that is tried again by the next
        request: a node a load balancer stopped sending requests to would otherwise never write
        again to learn that the disk was freed (a review, 2026-12-06)."""
        if self.failing is not None and time.monotonic() - self._failed_at < AUDIT_RETRY_SECONDS:
            return f"the last audit write failed ({self.failing})"
        if not self.path.parent.is_dir():
            return "the audit log's folder is gone"
        return None

    def _append(self, data: bytes, fd: int | None = None, start: int | None = None) -> None:
        """Append ``data`` whole to ``fd`` (default: the log's), or leave the file as it was
        (call under :meth:`_locked`; ``start``: the file's size, when the caller has it)."""
        fd = self._fd if fd is None else fd
        if start is None:
            start = os.fstat(fd).st_size
        view = memoryview(data)
        try:
            while view:  # a regular file takes it whole; the loop covers a short write
                view = view[os.write(fd, view):]
        except OSError:
            if len(view) < len(data):
                os.ftruncate(fd, start)
            raise

    def close(self) -> None:
        """Close the file."""
        with self._lock:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1
            if self._rfd >= 0:
                os.close(self._rfd)
                self._rfd = -1


class _Clock:
    """UTC timestamps with milliseconds; the date-time text is formatted once per second."""

    def __init__(self) -> None:
        self._second = -1
        self._prefix = ""

    def now(self) -> str:
        t = time.time()
        second = int(t)
        if second != self._second:
            self._prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
            self._second = second
        return f"{self._prefix}.{int((t - second) * 1000):03d}Z"


# -- request parsing --------------------------------------------------------------------------------
#: The server's own id of the request being handled: every audit line carries it beside the
#: ``request_id`` (which a client may set with X-Request-ID, to trace it, and may repeat), so each
#: request's evidence has a key no client chose (a review, 2026-12-03).
_SERVER_ID: contextvars.ContextVar[str] = contextvars.ContextVar("finlite_server_request_id", default="")
#: The address the request being handled came from (the peer's IP: a load balancer's, behind
#: one; "" over a Unix socket): every audit line names it, for an auditor asking who asked for a
#: decision (note 69's leftover).
_CLIENT: contextvars.ContextVar[str] = contextvars.ContextVar("finlite_client", default="")


def _client_of(scope: Mapping[str, Any]) -> str:
    """The peer's host of an ASGI scope ("" when the server gives none)."""
    client = scope.get("client")
    return str(client[0]) if client else ""


class _BadBody(Exception):
    """The body is not acceptable JSON; ``args[0]`` is the message for the 422 and ``loc`` where
    in the body it is, when one value is to blame (``["records", 3, "income"]``)."""

    def __init__(self, message: str, loc: tuple[str | int, ...] = ()) -> None:
        super().__init__(message)
        self.loc = loc


class _Constant:
    """Where a ``NaN``/``Infinity`` literal stood, as the standard parser read it: the body is
    read whole, then walked for the first one so the 422 names its field (it named only the body:
    a cross-path fuzz, 2026-12-07)."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name


class _CutShort(Exception):
    """The client disconnected before the end of its request body."""


def _audited(value: Any) -> Any:
    """A field's value as the audit line records it. JSON has no infinity, and orjson writes one
    as null, which a replay would score as a missing value. Only a category can hold one here
    (a number too large for a double, such as 1e400; numeric fields refuse it): it was scored as
    the category "inf" (or "-inf"), which the text records exactly."""
    if type(value) is float and not math.isfinite(value):
        return category_key(value)
    return value


def _first_constant(payload: Any) -> tuple[_Constant, tuple[str | int, ...]] | None:
    """The first ``NaN``/``Infinity`` literal of a parsed body in document order, with its place;
    a loop with a stack, not recursion, for a body nested as deep as the parser reads."""
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(payload, ())]
    while stack:
        value, where = stack.pop()
        if type(value) is _Constant:
            return value, where
        if type(value) is dict:
            stack.extend((item, (*where, key)) for key, item in reversed(value.items()))
        elif type(value) is list:
            stack.extend((item, (*where, i)) for i, item in reversed(list(enumerate(value))))
    return None


def _parse(body: bytes) -> Any:
    """The JSON body, strictly: orjson, with a precise message when it refuses.

    orjson refuses ``NaN``/``Infinity`` literals, numbers that overflow a double (``1e400``) and
    nesting beyond 1,024 levels. A number that overflows is re-read with the standard parser
    (as infinity) so the encoder can name the field that holds it.
    """
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        reason = str(exc)
    else:
        _check_unique_keys(body, payload)
        return payload
    if "depth limit" in reason:
        raise _BadBody(f"JSON nested deeper than {MAX_DEPTH} levels; a record is an object of field values, a "
                       "batch is {\"records\": [record, ...]}")
    if "UTF-8" in reason:
        # orjson says "surrogates not allowed" at char 0 wherever the bad byte is (a review, 2026-12-06).
        try:
            body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _BadBody(f"the body is not valid UTF-8: byte {exc.start:,} is {body[exc.start:exc.start + 1]!r}; "
                           "send JSON as UTF-8 text") from None
    try:
        payload = json.loads(body.decode("utf-8"), parse_constant=_Constant)
    except (ValueError, RecursionError):
        payload = None
    else:
        found = _first_constant(payload)
        if found is not None:
            constant, where = found
            raise _BadBody(f"{constant.name} is not a JSON number (JSON has no NaN or Infinity); send null for an "
                           "unknown value", where)
        if "infinity" in reason or "64-bit" in reason:
            # Only numbers too large for a double or an integer: the encoder reports where. An
            # integer beyond 64 bits is read as the float it is (infinity past a double's range),
            # as a CSV reader reads it, so the field holding it is named (the body as a whole
            # was: a review, 2026-12-06). The standard parser is also laxer than orjson (unpaired
            # surrogate escapes), and the answer and the audit line are written with orjson:
            # refuse what it cannot write.
            try:
                payload = _wide_ints_as_floats(payload)
            except RecursionError:  # as deep as the standard parser reads, with the handler's frames above
                raise _BadBody("the body nests arrays or objects too deeply to be read; send records as flat "
                               "objects of field values") from None
            try:
                orjson.dumps(payload)
            except TypeError as exc:
                if "Recursion limit" in str(exc):  # orjson writes 254 levels at most
                    raise _BadBody("the body nests arrays or objects too deeply to be read; send records as flat "
                                   "objects of field values") from None
                raise _BadBody(f"the body holds a value that cannot be processed ({exc}): a string with an unpaired "
                               "surrogate escape") from None
            _check_unique_keys(body, payload)
            return payload
    raise _BadBody(f"invalid JSON: {reason}")


def _wide_ints_as_floats(value: Any) -> Any:
    """``value`` (parsed JSON) with each integer beyond 64 bits as a float: the nearest double,
    or an infinity of its sign past a double's range (the encoder refuses it, naming the field)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        if -(2**63) <= value < 2**64:
            return value
        try:
            return float(value)
        except OverflowError:
            return math.inf if value > 0 else -math.inf
    if isinstance(value, list):
        return [_wide_ints_as_floats(v) for v in value]
    if isinstance(value, dict):
        return {k: _wide_ints_as_floats(v) for k, v in value.items()}
    return value


def _refuse_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, item in pairs:
        if key in seen:
            raise _BadBody(f"the key {key!r} appears twice in one object; JSON parsers disagree on which value counts "
                           "(a proxy may have checked the other one), so send each field once")
        seen[key] = item
    return seen


def _check_unique_keys(body: bytes, payload: Any) -> None:
    """Refuse an object with a key twice (JSON parsers keep the last value, silently).

    Each key is followed by one colon outside strings, and every colon in a parsed text is one
    in the body or an escape of one (``\\u003a``); a dropped pair only removes keys and colons.
    orjson writes the parsed value back the same way (one colon per key, texts as they are), so
    when the body holds no more colons (its escaped ones counted) than that writing, no key was
    dropped: the usual case costs one serialisation in C and a few counts. Otherwise the body is
    read again by the standard parser, which names the repeated key.
    """
    # A colon written as an escape (backslash-u003a) is a colon once parsed: counted beside the body's own.
    # Every such escape is counted (one after an escaped backslash is text, not a colon, and only
    # sends the body the slow way): the count never falls short, so a repeated key is never
    # missed. A body with other escapes went the slow way, 0.4-0.7 s of the event loop for 1 MB
    # (a review, 2026-12-06).
    escaped = body.count(b"\\u003a") + body.count(b"\\u003A")
    try:
        if body.count(b":") + escaped <= orjson.dumps(payload).count(b":"):
            return
    except TypeError:  # orjson writes at most 254 levels; the standard parser below reads deeper
        pass
    try:
        json.loads(body.decode("utf-8"), object_pairs_hook=_refuse_duplicates,
                   parse_constant=lambda name: 0.0, parse_float=lambda text: 0.0)
    except RecursionError:
        # orjson reads up to 1,024 levels, the standard parser fewer: a body nested between the two
        # could hide a key given twice, and its last value was scored (a review, 2026-12-03).
        raise _BadBody("the body nests arrays or objects too deeply for its keys to be checked for repeats; send "
                       "records as flat objects of field values") from None
    except ValueError:  # orjson read it; nothing more to say here
        return


def _error_body(detail: list[dict[str, Any]], total: int | None = None) -> bytes:
    total = len(detail) if total is None else total
    return orjson.dumps({"detail": detail[:MAX_ERRORS], "error_count": total})


def _field_errors(errors: list[FieldError], batch: bool) -> list[dict[str, Any]]:
    out = []
    for e in errors[:MAX_ERRORS]:
        loc: list[Any] = ["body", "records", e.record] if batch else ["body"]
        if e.field:
            loc.append(e.field)
        out.append({"loc": loc, "msg": e.reason, "type": e.kind})
    return out


# -- OpenAPI ----------------------------------------------------------------------------------------
def _record_schema(predictor: Predictor) -> dict[str, Any]:
    """JSON Schema of one record, for the OpenAPI page: what the encoder accepts for sure."""
    props: dict[str, Any] = {}
    for name, *_ in predictor.encoder.numeric:
        # The encoder's own bounds: within float32, raw and standardised, and near the training range.
        low, high = predictor.encoder.bounds[name]
        near = (f", and within {RANGE_MARGIN:g} widths of the training range beyond it"
                if name in predictor.encoder.spans else "")
        props[name] = {"anyOf": [{"type": "number", "minimum": low, "maximum": high}, {"type": "null"}],
                       "description": "a finite number from minimum to maximum (within float32, also once "
                                      f"standardised{near}); null when "
                                      "unknown (imputed). A number written as text (\"35\") is read as a CSV "
                                      "cell is; any other text is refused"}
        if name in predictor.encoder.money:  # money or percent text ("$60,000.00", "13.56%") is read as in training
            props[name]["anyOf"].insert(1, {"type": "string"})
            written = "money (\"$60,000.00\")" if predictor.encoder.text_rules[name] == MONEY else \
                "a percentage (\"13.56%\", read as 13.56)"
            props[name]["description"] += f", except {written} written as text, which is read as in training"
    if predictor.encoder.no_impute:  # serve --no-impute: a blank training never saw is a 422
        learned = {name for name, *_, ind in predictor.encoder.numeric if ind >= 0}
        for name, *_ in predictor.encoder.numeric:
            if name not in learned:
                props[name]["description"] = props[name]["description"].replace(
                    "null when unknown (imputed)", "null is refused (422: --no-impute, training never saw it blank)")
    refused = "; null or empty is refused (422: --no-impute, training never saw it blank)"
    for name, keys, _, categories in predictor.encoder.categorical:
        props[name] = {"anyOf": [{"type": "string"}, {"type": "number"}, {"type": "boolean"}, {"type": "null"}],
                       "examples": categories[:20],
                       "description": "category; unseen values use the unseen bucket and are reported"
                                      + (refused if predictor.encoder.no_impute and MISSING not in keys else "")}
    for name, values, *_ in predictor.encoder.valued:
        props[name] = {"anyOf": [{"type": "string"}, {"type": "number"}, {"type": "boolean"}, {"type": "null"}],
                       "description": "category (weight of evidence / target encoded); unseen values take the "
                                      "prior and are reported"
                                      + (refused if predictor.encoder.no_impute and MISSING not in values else "")}
    schema: dict[str, Any] = {"type": "object", "properties": props, "required": predictor.fields,
                              "additionalProperties": True}
    if "records" not in predictor.fields:
        schema["not"] = {"required": ["records"]}  # a "records" key makes the body a batch
    return schema


def _responses(max_body_bytes: int) -> dict[int | str, dict[str, Any]]:
    text = {"type": "object", "required": ["detail"], "properties": {"detail": {"type": "string"}}}
    result: dict[str, Any] = {"type": "object", "required": ["score", "decision", "unseen"], "properties": {
        "score": {"type": "number", "minimum": 0, "maximum": 1, "description": "P(positive class)"},
        "decision": {"type": "integer", "enum": [0, 1], "description": "1 when score >= cutoff"},
        "unseen": {"type": "array", "items": {"type": "string"}},
        "points": {"type": ["integer", "null"], "description": "a points scorecard's total (higher is lower risk); "
                   "absent for other models; null where the score is too close to 0 or 1 to recover it"},
        "unseen_empty": {"type": "array", "items": {"type": "string"}, "description": "of the unseen fields, those sent "
                         "empty or blank (null, empty text) where training never saw them so: a lost value, not a new "
                         "category; absent when none was"},
        "imputed": {"type": "array", "items": {"type": "string"}, "description": "numeric fields sent blank (null "
                    "or empty text) that took their training median; absent when none did"},
        "outside": {"type": "array", "items": {"type": "string"}, "description": "numeric fields whose value lies "
                    "beyond every value of the training table (accepted and scored as given, but the model never saw "
                    "such a value: check it for an error or a change of units); absent when none does"},
        "reasons": {"type": "array", "description": "with decision 1 (when the service gives reasons): the fields that "
                    "pushed the score towards the positive class the most, largest first, each at least 5 % of that push "
                    "(adverse-action reasons); "
                    "with --reason-codes, the lender's codes instead (code, text, fields)",
                    "items": {"type": "object", "required": ["contribution"], "properties": {
                        "field": {"type": "string"},
                        "code": {"type": "string", "description": "the lender's reason code (--reason-codes)"},
                        "text": {"type": "string", "description": "the statement the notice prints for the code"},
                        "fields": {"type": "array", "items": {"type": "string"},
                                   "description": "the model's fields the code stands for"},
                        "contribution": {"type": "number", "description": "to the log-odds, against the average "
                                         "applicant of the training rows (a code's: its fields' summed)"}}}},
        "incomplete": {"type": "array", "items": {"type": "string"}, "description": "with decision 1 and reasons: the "
                       "numbers sent blank and categories sent blank where training never saw them so (imputed, "
                       "unseen_empty). The decision was taken on an incomplete "
                       "application, and the reasons cannot state a blank's part in it (a blank number takes the "
                       "training median, the reasons' own reference): a notice of incompleteness (Regulation B "
                       "1002.9(c)) may be due; absent when none"},
        "no_reason": {"type": "boolean", "description": "true with decision 1 and reasons when no field pushed the score "
                      "towards the positive class (reasons is empty): the decision has no reason to state; absent "
                      "otherwise"}}}
    head = {"request_id": {"type": "string"}, "model_sha256": {"type": "string"}, "cutoff": {"type": "number"}}
    one = {"type": "object", "required": ["request_id", "model_sha256", "cutoff", "score", "decision", "unseen"],
           "properties": {**head, **result["properties"]}}
    many = {"type": "object", "required": ["request_id", "model_sha256", "cutoff", "results"],
            "properties": {**head, "results": {"type": "array", "items": result}}}
    invalid = {"type": "object", "required": ["detail", "error_count"], "properties": {
        "detail": {"type": "array", "maxItems": MAX_ERRORS, "items": {
            "type": "object", "required": ["loc", "msg", "type"], "properties": {
                "loc": {"type": "array"}, "msg": {"type": "string"},
                "type": {"type": "string", "description": "missing, type, value, blank_refused, empty_record "
                                                          "(loc: the pseudo-field '(every field)'), score or "
                                                          "json_invalid"}}}},
        "error_count": {"type": "integer", "description": "all errors found (at most 100 are listed)"}}}

    def content(schema: dict[str, Any]) -> dict[str, Any]:
        return {"content": {_JSON: {"schema": schema}}}

    return {
        200: {"description": "one result per record", **content({"oneOf": [one, many]})},
        401: {"description": "missing or wrong bearer token", **content(text)},
        413: {"description": f"body above {max_body_bytes} bytes, or too many records", **content(text)},
        422: {"description": "invalid body or fields, or no decision possible (non-finite score); no audit "
                             "prediction line", **content(invalid)},
        500: {"description": "internal error; no decision was made, an error line is in the audit log",
              **content(text)},
    }


# -- forecasters: a price history in, the forecast for its last date out -------------------------------
#: A history may hold at most this many times the rows a forecast needs (the model's warmup + 1):
#: enough for any client that sends a margin, never an unbounded feature computation.
HISTORY_FACTOR = 10


def history_limit(warmup: int) -> int:
    """The most rows a /predict history may hold for a model that needs ``warmup`` rows of history."""
    return HISTORY_FACTOR * (warmup + 1)


class _HistoryError(Exception):
    """A history the service refuses before forecasting: ``status`` (413 or 422) and the detail."""

    def __init__(self, status: int, detail: list[dict[str, Any]]) -> None:
        super().__init__(status, detail)
        self.status, self.detail = status, detail


def _read_history(payload: Mapping[str, Any], columns: list[str], max_rows: int) -> tuple[dict[str, list[Any]], int]:
    """The ``history`` of a /predict body as a dict of equally long lists of ``columns`` and of
    any other column sent (checked by the forecaster as a DataFrame's are: a price-named column the
    model does not read must hold prices too; they were dropped here, so serve forecast histories
    every other path refuses: a cross-path fuzz, 2026-12-07), and its row count.

    Accepted: ``{"history": {"date": [...], "close": [...], ...}}`` or ``{"history": [{"date": ...,
    "close": ...}, ...]}``. Values are checked by the forecaster itself (dates, numbers, order).

    Raises:
        _HistoryError: 422 for a missing or malformed history (naming the column or row), 413
            for more than ``max_rows`` rows.
    """
    def refuse(loc: list[Any], msg: str, kind: str = "type") -> _HistoryError:
        return _HistoryError(422, [{"loc": ["body", "history", *loc], "msg": msg, "type": kind}])

    if "history" not in payload:
        raise _HistoryError(422, [{"loc": ["body", "history"], "type": "missing", "msg": (
            "field required: this model forecasts from a price history, {\"history\": {" + ", ".join(
                f'"{c}": [...]' for c in columns) + "}} (or a list of row objects)")}])
    if len(payload) > 1:  # {"history": ..., "cutoff": 0.0} was answered at the model's own cut-off, silently
        other = next(k for k in payload if k != "history")
        raise _HistoryError(422, [{"loc": ["body", other], "type": "extra_forbidden", "msg": (
            f"a forecast's body is {{\"history\": ...}} alone; {other!r} would change nothing (the model, its window "
            "and any cut-off are the artifact's)")}])
    history = payload["history"]
    rows = len(history) if isinstance(history, list) else None
    if isinstance(history, dict):
        lengths = {c: len(v) for c, v in history.items() if c in columns and isinstance(v, list)}
        rows = max(lengths.values(), default=0)
    if rows is not None and rows > max_rows:
        raise _HistoryError(413, [{"loc": ["body", "history"], "type": "size", "msg": (
            f"the history holds {rows} rows; the limit is {max_rows} ({HISTORY_FACTOR} times the {max_rows // HISTORY_FACTOR} "
            "rows a forecast needs). Send only the most recent rows.")}])
    if isinstance(history, list):
        out: dict[str, list[Any]] = {c: [] for c in columns}
        for i, row in enumerate(history):
            # ``loc`` holds the JSON index (from 0); the text counts rows from 1, as the forecaster's
            # own messages about a value do ("row 11" for index 10, a review of 2026-12-04 evening).
            if not isinstance(row, dict):
                raise refuse([i], f"row {i + 1} is a {type(row).__name__}, not an object of column values")
            for c in columns:
                if c not in row:
                    raise refuse([i, c], f"row {i + 1} has no {c!r} value; every row needs {', '.join(columns)}",
                                 "missing")
                out[c].append(row[c])
            for c in row:  # another column: null in the rows that lack it, as a DataFrame of the rows holds it
                if c not in out:
                    out[c] = [None] * i
                if c not in columns:
                    out[c].append(row[c])
            for values in out.values():
                if len(values) == i:
                    values.append(None)
        return out, len(history)
    if not isinstance(history, dict):
        raise refuse([], f"expected an object of columns ({', '.join(columns)}) holding lists of values, or a list "
                         f"of row objects; got a {type(history).__name__}")
    for c in columns:
        if c not in history:
            raise refuse([c], f"column {c!r} is missing; the history needs {', '.join(columns)}", "missing")
        if not isinstance(history[c], list):
            raise refuse([c], f"column {c!r} is a {type(history[c]).__name__}, not a list of values")
    first = columns[0]
    for c in history:
        if not isinstance(history[c], list):
            raise refuse([c], f"column {c!r} is a {type(history[c]).__name__}, not a list of values")
        if len(history[c]) != len(history[first]):
            raise refuse([c], f"column {c!r} holds {len(history[c])} values but {first!r} holds "
                              f"{len(history[first])}; every column needs one value per row", "value")
    return dict(history), len(history[first])


def _history_schema(predictor: Predictor, market: MarketPreprocessor, max_rows: int) -> dict[str, Any]:
    """JSON Schema of a forecaster's /predict body, for the OpenAPI page."""
    spec = market.spec
    columns = predictor.fields

    def column_schema(name: str) -> dict[str, Any]:
        if name == spec.date_column:
            return {"type": "string", "description": "a date, e.g. 2018-12-31; one row per date (and asset), "
                                                      "oldest first or in any order"}
        if name == spec.id_column:
            return {"type": "string", "description": "the asset"}
        return {"type": "number", "description": "a finite number" + (" above zero (a price)" if name == spec.target
                                                                       else "")}

    need = int(market.warmup) + 1
    by_column = {"type": "object", "required": columns, "additionalProperties": True, "properties": {
        c: {"type": "array", "items": column_schema(c), "minItems": need, "maxItems": max_rows} for c in columns}}
    by_row = {"type": "array", "minItems": need, "maxItems": max_rows, "items": {
        "type": "object", "required": columns, "properties": {c: column_schema(c) for c in columns}}}
    return {"type": "object", "required": ["history"], "additionalProperties": False, "properties": {"history": {
        "oneOf": [by_column, by_row],
        "description": f"the most recent rows of the price series: at least {need} (the window of {spec.window} "
                       f"plus the history its features need), at most {max_rows}; the forecast is for the last "
                       "date"}}}


def _forecast_responses(predictor: Predictor, market: MarketPreprocessor,
                        max_body_bytes: int) -> dict[int | str, dict[str, Any]]:
    """The responses of a forecaster's /predict, for the OpenAPI page."""
    spec = market.spec
    props: dict[str, Any] = {
        "request_id": {"type": "string"}, "model_sha256": {"type": "string"},
        "cutoff": {"type": ["number", "null"], "description": "P(up) at or above it is decided up (direction only)"},
        "date": {"type": "string", "description": "the last date of the history: the forecast is for "
                                                  f"{spec.horizon} step(s) after it"},
        "horizon": {"type": "integer"},
        "forecast": {"type": "number", "description": predictor.metadata()["market"]["output"]},
        "last_price": {"type": "number", "description": "the target's value at the last date"},
        "notes": {"type": "array", "items": {"type": "string"},
                  "description": "only when the history's dates are not a plain Monday-Friday calendar: business "
                                 "days missing, rows on a weekend (the forecast reads the rows as they are)"}}
    if spec.id_column:
        if spec.id_column == "horizon":  # the horizon is then answered as forecast_horizon (data.market.horizon_column)
            props["forecast_horizon"] = props["horizon"]
        props[spec.id_column] = {"type": "string"}
    if spec.objective == "price":
        props["log_change"] = {"type": "number", "description": "the forecast log change of the price"}
    if predictor.decision_cutoff is not None:
        props["probability"] = {"type": "number", "minimum": 0, "maximum": 1, "description": "P(up)"}
        props["decision"] = {"type": "integer", "enum": [0, 1], "description": "1 (up) when probability >= cutoff"}
    common = _responses(max_body_bytes)
    return {**common, 200: {"description": "the forecast for the last date of the history",
                            "content": {_JSON: {"schema": {"type": "object", "required": [
                                "request_id", "model_sha256", "date", "forecast"], "properties": props}}}},
            413: {**common[413], "description": f"body above {max_body_bytes} bytes, or a history longer than the "
                                                "limit"}}


# -- the app ----------------------------------------------------------------------------------------
#: One answer of /predict: status, body, raw headers. The handler builds these directly so the
#: hot path allocates no Response object and no header dict.
_Answer = tuple[int, bytes, list[tuple[bytes, bytes]]]
_CONTENT_TYPE = (b"content-type", b"application/json")
#: The charset parameter of a Content-Type header (quoted or not).
_CHARSET = re.compile(rb"""(?i)\bcharset\s*=\s*"?([^";\s]+)""")


class _PredictEndpoint:
    """``POST /predict`` as a plain ASGI app, routed ahead of the FastAPI route that documents it.

    A FastAPI endpoint pays for dependency solving, a sub-response and a Response object on
    every request; this one reads the headers and the body from the ASGI channel and sends the
    answer itself. Behaviour is identical: the FastAPI route calls the same handler.
    """

    def __init__(self, handle: Callable[[list[tuple[bytes, bytes]], Any], Any]) -> None:
        self.handle = handle

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        _CLIENT.set(_client_of(scope))
        status, body, headers = await self.handle(scope["headers"], receive)
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _model_errors() -> tuple[type[BaseException], ...]:
    """What ONNX Runtime raises when a model fails at run time (its own classes are not
    RuntimeError subclasses), plus RuntimeError itself."""
    from onnxruntime.capi import onnxruntime_pybind11_state as ort_state

    names = ("Fail", "InvalidArgument", "RuntimeException", "EPFail", "NotImplemented")
    return (RuntimeError, *(getattr(ort_state, n) for n in names if isinstance(getattr(ort_state, n, None), type)))


class _ScoringApp(FastAPI):
    """FastAPI with ``POST /predict`` dispatched before the middleware stack.

    The scoring handler answers every error itself (never raises), so Starlette's error and
    exception middleware and the router add nothing on the hot path but their cost; every
    other request (the documented /predict route included) goes through FastAPI as usual.
    With ``allowed_hosts`` set (``serve`` on a loopback address without a token), a request
    whose Host header names another host is refused first (421), whatever its route.
    """

    fast_predict: Any = None
    allowed_hosts: frozenset[bytes] | None = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            refusal = None
            # The request line counts too: a path or query string of 60 KB is no smaller a header.
            path = scope.get("raw_path") or scope.get("path", "").encode("utf-8", "replace")
            line = len(path) + len(scope.get("query_string") or b"") + 16
            if line + sum(len(k) + len(v) + 4 for k, v in scope["headers"]) > MAX_HEADER_BYTES:
                refusal = 431, orjson.dumps({"detail": f"request line and headers are larger than {MAX_HEADER_BYTES} "
                                                       "bytes"})
            elif self.allowed_hosts is not None and not _host_allowed(scope["headers"], self.allowed_hosts):
                refusal = 421, _OTHER_HOST
            if refusal is not None:
                await send({"type": "http.response.start", "status": refusal[0], "headers": [
                    _CONTENT_TYPE, (b"content-length", str(len(refusal[1])).encode())]})
                await send({"type": "http.response.body", "body": refusal[1]})
                return
        if (self.fast_predict is not None and scope["type"] == "http" and scope["path"] == "/predict"
                and scope["method"] == "POST"):
            await self.fast_predict(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


_OTHER_HOST = orjson.dumps({"detail": "this service answers requests to 127.0.0.1 or localhost only (the Host header "
                                      "names another host); a proxy on this machine that forwards its own name is "
                                      "named with serve --allowed-host NAME"})


def _host_allowed(headers: list[tuple[bytes, bytes]], allowed: frozenset[bytes]) -> bool:
    """Whether the request's one Host header names one of ``allowed`` (any port). Two Host
    headers are refused: which one counts differs between a proxy and a server (RFC 7230 says
    400), and only the first was read (a review, 2026-12-03)."""
    hosts = [value for key, value in headers if key == b"host"]
    if len(hosts) != 1:
        return False
    raw = hosts[0].strip().lower()
    # The whole header: a name (or [IPv6]) and at most ":" and a port of digits (RFC 7230's
    # uri-host [":" port]). "127.0.0.1:80@evil.com" and "[::1]evil.com" passed on their first
    # part (a review, 2026-12-06).
    if raw.startswith(b"["):
        name, close, rest = raw.partition(b"]")
        name += close
    else:
        name, colon, port = raw.partition(b":")
        rest = colon + port
    if rest and not (rest.startswith(b":") and (rest == b":" or rest[1:].isdigit())):
        return False
    return name in allowed


def _token_matches(given: bytes | None, token: bytes | None) -> bool:
    """Whether an Authorization header carries the bearer ``token``: the scheme's case does not
    matter (RFC 7235: "bearer" and "BEARER" were refused), the token is compared in constant time."""
    if token is None:
        return True
    scheme, _, value = (given or b"").partition(b" ")
    return hmac.compare_digest(value.strip(), token) and scheme.lower() == b"bearer"


def host_check(host: str, token: str | None, extra: tuple[str, ...] = ()) -> frozenset[bytes] | None:
    """The Host names a service bound to ``host`` answers, or None for any.

    Bound to a loopback address with no token, a page in the user's browser whose name a DNS
    rebinding points at 127.0.0.1 could read scores: only the loopback names (and ``extra``, the
    names a local proxy forwards) are answered. With a token, or bound to another interface, the
    token and the network decide."""
    if token is not None or not _is_loopback(host):
        return None
    return LOOPBACK_HOSTS | {name.strip().lower().encode("ascii") for name in extra}


def _is_loopback(host: str) -> bool:
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


_HttpToolsProtocol: Any
try:  # uvicorn's C-parser protocol (httptools): what it uses when httptools is installed
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol as _HttpToolsProtocol
except ImportError:  # pragma: no cover - httptools is a dependency
    _HttpToolsProtocol = None

_TOO_LARGE = (b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: application/json\r\n"
              b"connection: close\r\ncontent-length: %d\r\n\r\n%s")
_TOO_SLOW = (b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\n"
             b"connection: close\r\ncontent-length: %d\r\n\r\n%s")
_NOT_HTTP = (b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\n"
             b"connection: close\r\ncontent-length: %d\r\n\r\n%s")


async def _busy(scope: Any, receive: Any, send: Any, *, limit: int = MAX_CONNECTIONS) -> None:
    """The answer past uvicorn's ``limit_concurrency`` (``limit``, :data:`MAX_CONNECTIONS` as
    ``serve`` runs), in JSON like every other answer of the service: a client parsing the body
    read uvicorn's plain text "Service Unavailable". The connection is closed; nothing was scored."""
    detail = orjson.dumps({"detail": f"the service is at its limit of {limit} connections; nothing was scored. "
                                     "Retry in a moment, or reuse fewer connections."})
    await send({"type": "http.response.start", "status": 503,
                "headers": [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(detail)),
                            (b"connection", b"close"), (b"retry-after", b"1")]})
    await send({"type": "http.response.body", "body": detail, "more_body": False})


def bounded_http_protocol() -> Any:
    """uvicorn's httptools protocol with each request bounded on the connection: request line and
    headers at most :data:`MAX_HEADER_BYTES` (431) and within :data:`HEADER_TIMEOUT_S` of the
    connection opening or the request's first byte (else closed), the body within
    :data:`BODY_TIMEOUT_S` of its headers (408, and the handler sees a disconnect: nothing is
    scored). uvicorn's keep-alive timeout covers the time between requests. Without httptools,
    "h11" (uvicorn's pure-Python parser, whose header limit ``serve`` sets)."""
    return "h11" if _HttpToolsProtocol is None else BoundedHttpToolsProtocol


if _HttpToolsProtocol is not None:
    class BoundedHttpToolsProtocol(_HttpToolsProtocol):  # type: ignore[misc]
        """See :func:`bounded_http_protocol` (module level: ``serve --workers`` pickles it)."""

        # Where the current request is: its headers begun and not ended, or its body begun and
        # not ended. A clock runs only while one of them is partly received: a request that
        # arrives in one piece (the usual case) never starts one.
        _in_headers = False
        _in_body = False
        _header_bytes = 0
        _clock: asyncio.TimerHandle | None = None

        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            self._arm(HEADER_TIMEOUT_S)  # a connection that never sends a byte is closed too

        def _start_asgi_task(self, cycle: Any, app: Any) -> None:
            # Past limit_concurrency uvicorn runs its own text 503 app: this service answers in JSON.
            if app is _uvicorn_busy:
                app = functools.partial(_busy, limit=self.limit_concurrency)
            super()._start_asgi_task(cycle, app)

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _arm(self, seconds: float) -> None:
            if self._clock is None:
                self._clock = self.loop.call_later(seconds, self._expire)

        def _disarm(self) -> None:
            if self._clock is not None:
                self._clock.cancel()
                self._clock = None

        def _expire(self) -> None:
            self._clock = None
            if self.transport.is_closing():
                return
            if self._in_body and self.cycle is not None and getattr(self.cycle, "response_complete", False):
                # Answered already (a 413 before the rest of an oversized body): a second answer, 408,
                # for the same request would read as the reply to the client's next one (a review,
                # 2026-12-03). The connection is closed without a word.
                log.info("closed a connection still sending an answered request's body after %g s", BODY_TIMEOUT_S)
            elif self._in_body:  # the app waits for the rest of the body: it gets a disconnect, scores nothing
                log.info("closed a connection whose request body did not arrive within %g s", BODY_TIMEOUT_S)
                detail = orjson.dumps({"detail": f"the request body did not arrive within {BODY_TIMEOUT_S:g} s; "
                                                 "nothing was scored"})
                self.transport.write(_TOO_SLOW % (len(detail), detail))
            elif self._in_headers or self.cycle is None:  # trickled headers, or nothing sent at all
                log.info("closed a connection whose request headers did not arrive within %g s", HEADER_TIMEOUT_S)
            else:
                return  # between requests: uvicorn's keep-alive timeout applies
            self.transport.close()

        def _refuse(self) -> None:
            self._disarm()
            detail = orjson.dumps({"detail": f"request line and headers are larger than {MAX_HEADER_BYTES} bytes"})
            self.transport.write(_TOO_LARGE % (len(detail), detail))
            self.transport.close()

        _head_bytes = 0  # bytes received since the last request's headers ended (see send_400_response)

        def send_400_response(self, msg: str) -> None:
            """uvicorn's answer to bytes its parser refuses, as this service answers: JSON, and 431
            when the request line and headers run past :data:`MAX_HEADER_BYTES` (a 70 KB request
            line in one write got uvicorn's "Invalid HTTP request received." as plain text: a
            review, 2026-12-03)."""
            self._disarm()
            # Not in a body: the refused bytes were a request line and headers (the parser may fail
            # on an overlong line before it reports a message begun, over several chunks).
            if not self._in_body and self._head_bytes > MAX_HEADER_BYTES:
                self._refuse()
                return
            detail = orjson.dumps({"detail": "the request is not valid HTTP/1.1; nothing was scored"})
            self.transport.write(_NOT_HTTP % (len(detail), detail))
            self.transport.close()

        def data_received(self, data: bytes) -> None:
            if not self._in_body:
                self._head_bytes += len(data)
            super().data_received(data)
            if self.transport.is_closing():
                return
            if self._in_headers:
                # Headers that span chunks are counted as they come (the parser buffers them);
                # those that end within one chunk are measured by the app (_ScoringApp, 431).
                self._header_bytes += len(data)
                if self._header_bytes > MAX_HEADER_BYTES:
                    self._refuse()
                    return
                self._arm(HEADER_TIMEOUT_S)
            elif self._in_body:
                self._arm(BODY_TIMEOUT_S)

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._in_headers, self._header_bytes = True, 0
            self._disarm()  # the opening clock: a request has begun
            # Nor is the connection idle: a keep-alive clock armed when the previous request's body
            # ended (see on_message_complete) must not close it under this one, pipelined in the
            # same chunk (the diff's review, 2026-12-03).
            task = getattr(self, "timeout_keep_alive_task", None)
            if task is not None:
                task.cancel()
                self.timeout_keep_alive_task = None

        def on_headers_complete(self) -> None:
            self._in_headers = False
            self._disarm()
            # uvicorn may refuse the request here (an overlong URL): its bytes still count as the
            # head's, for send_400_response's 431.
            super().on_headers_complete()
            self._in_body, self._head_bytes = True, 0

        def on_message_complete(self) -> None:
            super().on_message_complete()
            self._in_body = False
            self._disarm()
            cycle = self.cycle
            if cycle is not None and cycle.response_complete and getattr(self, "timeout_keep_alive_task", 0) is None \
                    and not self.transport.is_closing():
                # Answered before its body ended (a 413, a 401): uvicorn started the keep-alive clock
                # with the answer, each later chunk of the body cancelled it, and nothing started it
                # again, so the connection stayed open for ever once idle (a review, 2026-12-03).
                self.timeout_keep_alive_task = self.loop.call_later(self.timeout_keep_alive,
                                                                    self.timeout_keep_alive_handler)


def create_app(artifact: str | Path | Predictor, *, token: str | None = None, audit: AuditLog | None = None,
               audit_features: bool = False, max_body_bytes: int = MAX_BODY_BYTES,
               max_batch: int = MAX_BATCH, reasons: int = 0,
               reason_codes: ReasonCodes | str | Path | None = None) -> FastAPI:
    """The FastAPI application serving ``artifact`` (a folder or a loaded :class:`Predictor`).

    ``reasons``: adverse-action reasons given with every record decided positive (and written to
    its audit line), at most this many (:meth:`Predictor.reasons`; 4 is the US practice); 0, the
    default, none. They cost ``2 x fields + 1`` model rows per declined record (about 50 µs for
    German credit's 20 fields), which is why a fraud service, whose declines need no letter,
    does not pay for them unless asked. An artifact that cannot give them is refused.
    ``reason_codes`` (the lender's table, a CSV path or :class:`~finlite.runtime.reason_codes.ReasonCodes`)
    makes them its codes (``{"code", "text", "fields", "contribution"}``); /metadata then shows the table.
    """
    from starlette.routing import Route

    check_flags("create_app", audit_features=audit_features)
    predictor = artifact if isinstance(artifact, Predictor) else Predictor(artifact)
    meta = predictor.metadata()
    market = predictor.market
    if market is None:
        what = f"Scores P({meta['schema']['target']} = {meta['schema']['positive']!r})"
    else:
        what = (f"Forecasts {market.spec.objective} of {market.spec.target!r} {market.spec.horizon} step(s) ahead "
                "from a price history")
    # The OpenAPI pages are added below, behind the token when there is one.
    app = _ScoringApp(title=f"finlite scoring service: {predictor.path.name}",
                  description=f"{what} with the {meta['model']['kind']} model {predictor.model_sha256[:16]}….",
                  version=str(meta["versions"].get("finlite", "")),
                  docs_url=None, redoc_url=None, openapi_url=None,
                  # "/predict/" is no path of the service: a 404, not a 307 to "/predict" that a
                  # client re-sends its body to (through whatever host the Location names).
                  redirect_slashes=False)
    expected = token.encode() if token else None
    model_sha256 = predictor.model_sha256
    # The artifact as approved (its manifest: cut-off, preprocessing, gates), not only the ONNX
    # graph: two artifacts of one graph at other cut-offs share a model_sha256 (a validator's review).
    manifest_sha256 = str(predictor.manifest["manifest_sha256"])  # present: loading verified it
    fields = predictor.fields
    records_is_field = "records" in fields
    give = 0  # reasons per record decided positive
    codes: ReasonCodes | None = None  # the lender's codes they are given as (None: the fields)
    protected: frozenset[str] = frozenset()  # left out of a decline's incomplete fields (never asked for)
    scale = None  # a points scorecard's (offset, factor): its total goes with each answer
    if market is None:  # a forecaster has neither a record encoder nor (unless it decides) a cut-off
        cutoff = predictor.cutoff
        encoder = predictor.encoder
        scale = predictor.points_scale
        explain_record = predictor.explain_record
        give = reasons
        if isinstance(give, bool) or not isinstance(give, int) or not 0 <= give <= 64:
            raise ConfigError(f"reasons must be a number of reasons from 0 (none) to 64; got {reasons!r}.",
                              param="reasons")
        if give:
            # Now, not with the first declined applicant: an artifact that cannot give them is
            # refused at start-up, and the reference (and the codes) read and checked once.
            codes = reasons_setup(predictor, give, reason_codes)
            give = reason_columns(predictor, give, codes)
            protected = predictor.protected_fields  # its report read now, not on the first declined request
            if codes is not None:
                meta = {**meta, "reason_codes": codes.to_dict()}
        elif reason_codes is not None:
            raise ConfigError("Reason codes name the reasons given with a decision; they need reasons (e.g. "
                              "reasons=4).", param="reason_codes")
    elif reasons or reason_codes is not None:
        raise _forecaster_reasons(predictor)
    clock = _Clock()
    model_errors = _model_errors()
    too_large = orjson.dumps({"detail": f"request body is larger than {max_body_bytes} bytes"})
    not_json_body = orjson.dumps({"detail": "send the body as JSON with the header Content-Type: application/json"})
    cut_short = orjson.dumps({"detail": "the connection closed before the end of the request body; nothing was "
                                        "scored"})
    unauthorized_body = orjson.dumps({"detail": "missing or wrong bearer token"})
    meta_body = orjson.dumps(meta, default=str)
    health_body = orjson.dumps({"status": "ok", "model_sha256": model_sha256})
    # The answer's fixed head, serialised once: {"request_id": ..., then this, then the result.
    head = orjson.dumps({"model_sha256": model_sha256, "cutoff": predictor.decision_cutoff if market is not None
                         else cutoff})[1:-1]

    def authorized(request: Request) -> bool:
        if expected is None:
            return True
        given = request.headers.getlist("authorization")
        return len(given) == 1 and _token_matches(given[0].encode("latin-1"), expected)

    def unauthorized() -> Response:
        return Response(unauthorized_body, 401, {"content-type": _JSON, "www-authenticate": "Bearer"})

    def json_response(body: bytes) -> Response:
        return Response(body, 200, {"content-type": _JSON})

    def answer(status: int, body: bytes, request_id: str | None = None) -> _Answer:
        headers = [_CONTENT_TYPE, (b"content-length", str(len(body)).encode())]
        if request_id is not None:
            headers.append((b"x-request-id", request_id.encode()))
        return status, body, headers

    def invalid(detail: list[dict[str, Any]], total: int | None = None, request_id: str | None = None) -> _Answer:
        return answer(422, _error_body(detail, total), request_id)

    def audit_error(request_id: str, status: int, error: str, records: list[int] | None = None) -> None:
        if audit is None:
            return
        line: dict[str, Any] = {"event": "error", "time": clock.now(), "request_id": request_id,
                                "server_request_id": _SERVER_ID.get() or request_id,
                                "client": _CLIENT.get(),
                                "model_sha256": model_sha256, "manifest_sha256": manifest_sha256, "status": status,
                                "error": error}
        if records is not None:
            line["records"] = records[:MAX_ERRORS]
            line["record_count"] = len(records)
        try:
            audit.write([line])
        except OSError as exc:  # one line, no traceback: a full disk fails every request (an MLOps walk-through)
            log.error("cannot write the error line to the audit log %s: %s", audit.path, exc.strerror or exc)

    def audit_line(now: str, request_id: str, score: float, decision: int, unseen: list[str],
                   record: Mapping[str, Any], index: int | None,
                   why: list[dict[str, Any]] | None = None, imputed: list[str] | None = None,
                   empty: list[str] | None = None, outside: list[str] | None = None,
                   incomplete: list[str] | None = None) -> dict[str, Any]:
        line: dict[str, Any] = {"event": "prediction", "time": now, "request_id": request_id,
                                "server_request_id": _SERVER_ID.get() or request_id, "client": _CLIENT.get(),
                                "model_sha256": model_sha256, "manifest_sha256": manifest_sha256, "score": score,
                                "decision": decision, "cutoff": cutoff}
        if index is not None:
            line["index"] = index
        if unseen:
            line["unseen"] = unseen
        if empty:
            line["unseen_empty"] = empty
        if imputed:
            line["imputed"] = imputed
        if outside:
            line["outside"] = outside
        if why is not None:
            line["reasons"] = why  # what the applicant was told: the letter's evidence
            if incomplete:
                line["incomplete"] = incomplete
            if not why and decision:
                line["no_reason"] = True
        values = {k: _audited(record[k]) for k in fields}
        _digest_field(line, values, audit.digest_key if audit is not None else None)  # which input, not its data
        if audit_features:
            line["features"] = values
        return line

    async def read_body(receive: Any, declared: bytes | None) -> bytes | None:
        """The body, or None when it is larger than the limit (read no further than that).

        Straight from the ASGI ``receive`` channel: a small body is one message, so the usual
        case is one await and no copy.
        """
        if declared is not None and declared.isdigit() and int(declared) > max_body_bytes:
            return None
        chunks: list[bytes] = []
        size = 0
        # A body that stops arriving is ended by serve's protocol (BoundedHttpToolsProtocol: 408,
        # then a disconnect here), without a timer per request.
        while True:
            message = await receive()
            if message["type"] != "http.request":
                # The client went away before the end of its body: what arrived is not the
                # request it meant, so nothing is scored (and nothing audited).
                raise _CutShort
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > max_body_bytes:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    def non_finite(request_id: str, indices: list[int], batch: bool) -> _Answer:
        where = ", ".join(str(i) for i in indices[:10]) + (" …" if len(indices) > 10 else "")
        error = "the model returned no valid score (NaN, infinite, or a probability outside [0, 1]); no decision was made"
        log.warning("request %s: %s for record(s) %s", request_id, error, where)
        audit_error(request_id, 422, error, indices)
        msg = (f"{error} for this record; check it for extreme values (if the values are ordinary, the artifact is "
               "broken: see the server log)")
        detail = [{"loc": ["body", "records", i] if batch else ["body"], "msg": msg, "type": "score"}
                  for i in indices[:MAX_ERRORS]]
        return invalid(detail, len(indices), request_id)

    def reasons_failed(request_id: str, indices: list[int], batch: bool) -> _Answer:
        # The records' own scores were finite; a row the reasons built from them (a field set to the
        # reference) was not, so no decision goes out without its reasons.
        error = "the adverse-action reasons could not be computed (a non-finite score among the reasons' rows)"
        log.warning("request %s: %s", request_id, error)
        audit_error(request_id, 422, error, indices)
        detail = [{"loc": ["body", "records", i] if batch else ["body"], "msg": f"{error}; no decision was made "
                   "(see the server log)", "type": "score"} for i in indices[:MAX_ERRORS]]
        return invalid(detail, len(indices), request_id)

    async def score_records(request_id: str, payload: dict[str, Any]) -> _Answer:
        # {"records": [...]} is a batch, unless the model has a feature of that name.
        batch = "records" in payload and not records_is_field
        if not batch:
            imputed: list[str] = []
            outside: list[str] = []
            try:
                value, unseen = explain_record(payload, imputed, outside)  # the fast path: the session's bound buffer
            except RecordErrors:
                # The fast path stops at the first problem; list them all.
                try:
                    encoder.encode_records([payload], "the request")
                except RecordErrors as exc:
                    return invalid(_field_errors(exc.errors, False), len(exc.errors), request_id)
                raise
            except ScoreError:
                value, unseen = float("nan"), []
            if not 0.0 <= value <= 1.0:  # NaN compares false: fail closed
                return non_finite(request_id, [0], False)
            decision = 1 if value >= cutoff else 0
            why = None
            if decision and give:  # only a declined applicant pays for the reasons (2 x fields + 1 rows)
                try:
                    why = predictor.reasons_encoded(encoder.encode_record(payload)[0], give, codes)[0]
                except ScoreError:  # a non-finite score among the reasons' rows: no decision goes out
                    return reasons_failed(request_id, [0], False)
            empty = empty_fields(unseen, payload)
            left_out = incomplete_fields(why, imputed, empty, protected)
            if audit is not None:
                audit.write([audit_line(clock.now(), request_id, value, decision, unseen, payload, None, why,
                                        imputed, empty, outside, left_out)])
            one: dict[str, Any] = {"score": value, "decision": decision, "unseen": unseen}
            if scale is not None:  # the scorecard's points total, as the bank publishes it
                total, lost = points_of(np.array([value]), scale)
                one["points"] = None if lost[0] else int(total[0])
            if empty:  # a lost value, told apart from a new category (as score's notes tell them)
                one["unseen_empty"] = empty
            if imputed:  # a decision taken on a training median: said, as an unseen category is
                one["imputed"] = imputed
            if outside:  # a value the model never saw the like of: said, as batch scoring counts it
                one["outside"] = outside
            if why is not None:
                one["reasons"] = why
                if left_out:  # blanks the reasons cannot name (see incomplete_fields)
                    one["incomplete"] = left_out
                if not why:  # declined, and no field to give as its reason: said, as score warns of it
                    one["no_reason"] = True
            result = orjson.dumps(one)
            return answer(200, b'{"request_id":%s,%s,%s' % (orjson.dumps(request_id), head, result[1:]), request_id)
        records = payload["records"]
        if len(payload) > 1:  # {"records": [...], "cutoff": 0.3}: no other key changes what is scored
            other = next(k for k in payload if k != "records")
            return invalid([{"loc": ["body", other], "msg": f"a batch is {{\"records\": [...]}} alone; {other!r} "
                             "would change nothing (each record's fields go inside it)", "type": "extra_forbidden"}],
                           request_id=request_id)
        if not isinstance(records, list):
            return invalid([{"loc": ["body", "records"], "msg": "expected a list of records", "type": "type"}],
                           request_id=request_id)
        if not records:  # a batch that decides nothing is a client's mistake, not a success
            return invalid([{"loc": ["body", "records"], "msg": "the batch is empty; send at least one record",
                             "type": "value"}], request_id=request_id)
        if len(records) > max_batch:
            return answer(413, orjson.dumps({"detail": f"{len(records)} records in one request; the limit is "
                                                       f"{max_batch}"}), request_id)
        try:
            imputed_all: list[list[str]] = []
            outside_all: list[list[str]] = []
            if len(records) > _THREADPOOL_ABOVE:
                x, unseen_all = await run_in_threadpool(encoder.encode_records, records, "the request", imputed_all,
                                                        outside_all)
            else:
                x, unseen_all = encoder.encode_records(records, "the request", imputed_all, outside_all)
        except RecordErrors as exc:
            return invalid(_field_errors(exc.errors, True), len(exc.errors), request_id)
        try:
            scores = predictor.score_vector(x).tolist() if len(x) else []
        except ScoreError as exc:
            return non_finite(request_id, list(getattr(exc, "rows", None) or range(len(x))), True)
        bad = [i for i, s in enumerate(scores) if not 0.0 <= s <= 1.0]  # belt and braces: NaN fails this
        if bad:
            return non_finite(request_id, bad, True)
        results = []
        for s, u, b, o, rec in zip(scores, unseen_all, imputed_all, outside_all, records, strict=True):
            e = empty_fields(u, rec)
            results.append({"score": s, "decision": 1 if s >= cutoff else 0, "unseen": u,
                            **({"unseen_empty": e} if e else {}), **({"imputed": b} if b else {}),
                            **({"outside": o} if o else {})})
        if scale is not None and results:  # the scorecard's points totals, as the bank publishes them
            totals, lost = points_of(np.array(scores), scale)
            for r, t, gone in zip(results, totals.tolist(), lost.tolist(), strict=True):
                r["points"] = None if gone else int(t)
        if give:
            declined = [i for i, r in enumerate(results) if r["decision"]]
            if declined:
                try:
                    if len(declined) > _THREADPOOL_ABOVE:  # off the event loop, as the encoding above
                        given = await run_in_threadpool(predictor.reasons_encoded, x[declined], give, codes)
                    else:
                        given = predictor.reasons_encoded(x[declined], give, codes)
                except ScoreError:
                    return reasons_failed(request_id, declined, True)
                for i, why in zip(declined, given, strict=True):
                    results[i]["reasons"] = why
                    left_out = incomplete_fields(why, results[i].get("imputed"), results[i].get("unseen_empty"),
                                                 protected)
                    if left_out:
                        results[i]["incomplete"] = left_out
                    if not why:
                        results[i]["no_reason"] = True
        if audit is not None and results:
            now = clock.now()
            audit.write([audit_line(now, request_id, r["score"], r["decision"], r["unseen"], rec, i, r.get("reasons"),
                                    r.get("imputed"), r.get("unseen_empty"), r.get("outside"), r.get("incomplete"))
                         for i, (r, rec) in enumerate(zip(results, records, strict=True))])
        return answer(200, orjson.dumps({"request_id": request_id, "model_sha256": model_sha256, "cutoff": cutoff,
                                         "results": results}), request_id)

    max_history = 0 if market is None else history_limit(int(market.warmup))
    id_column = None if market is None else market.spec.id_column

    async def score_history(request_id: str, payload: dict[str, Any]) -> _Answer:
        # A forecaster answers {"history": {column: [values]}} (or a list of row objects) with the
        # forecast for its last date.
        try:
            history, rows = _read_history(payload, fields, max_history)
        except _HistoryError as exc:
            if exc.status == 413:
                return answer(413, orjson.dumps({"detail": exc.detail[0]["msg"]}), request_id)
            return invalid(exc.detail, request_id=request_id)
        # Ids as the price reader reads them (spaces stripped; a missing or blank one is its own error,
        # named by the reader: a blank was told as "several assets", a review of 2026-12-04 evening).
        if id_column is not None and len({str(v).strip() for v in history[id_column]
                                          if v is not None and str(v).strip()}) > 1:
            return invalid([{"loc": ["body", "history", id_column], "type": "value", "msg": (
                f"the history holds several assets (column {id_column!r}); /predict forecasts one asset per request: "
                "send each asset's rows in a request of its own")}], request_id=request_id)
        try:
            # With the history's notes (gaps, weekend rows, tenfold jumps; a volatility below 0), as
            # train and score print them; none on a clean history.
            if rows > _THREADPOOL_ABOVE:
                result = await run_in_threadpool(predictor.forecast, history, "the request's history", notes=True)
            else:
                result = predictor.forecast(history, "the request's history", notes=True)
        except DataError as exc:  # a short history's message says the model's window is fixed (Predictor._windows)
            return invalid([{"loc": ["body", "history"], "msg": str(exc), "type": "value"}], request_id=request_id)
        except ScoreError:
            return non_finite(request_id, [0], False)
        if market is None:  # not reached: score_history is the forecasters' handler
            raise RuntimeError("score_history needs a market forecaster")
        if not result["notes"]:  # the answer has notes only where there are some
            del result["notes"]
        if audit is not None:
            line: dict[str, Any] = {"event": "prediction", "time": clock.now(), "request_id": request_id,
                                    "server_request_id": _SERVER_ID.get() or request_id, "client": _CLIENT.get(),
                                    "model_sha256": model_sha256, "manifest_sha256": manifest_sha256,
                                    "cutoff": predictor.decision_cutoff, "rows": rows, **result}
            _digest_field(line, history, audit.digest_key)  # the history as received
            if audit_features:
                line["history"] = history
            audit.write([line])
        return answer(200, b'{"request_id":%s,%s,%s' % (orjson.dumps(request_id), head, orjson.dumps(result)[1:]),
                      request_id)

    score = score_records if market is None else score_history

    async def handle(raw_headers: list[tuple[bytes, bytes]], receive: Any) -> _Answer:
        """Everything /predict does, from the raw headers and the ASGI receive channel."""
        # The three headers it needs, in one pass over the raw (lower-case) list.
        auth = declared = given = None
        json_body = False
        charset: bytes | None = None
        auths = types = 0
        for key, value in raw_headers:
            if key == b"authorization":
                auth, auths = value, auths + 1
            elif key == b"content-length":
                declared = value
            elif key == b"x-request-id":
                given = value
            elif key == b"content-type":
                # application/json, with parameters or not: a form or text/plain POST, which any web
                # page can make a browser send to 127.0.0.1, is never scored.
                kind, _, parameters = value.partition(b";")
                types += 1
                # Two Content-Type headers: the last counted, so the order decided between 200 and 415
                # (a review, 2026-12-06); as with Host and Authorization, neither counts.
                json_body = kind.strip().lower() == b"application/json" and types == 1
                found = _CHARSET.search(parameters)
                charset = found.group(1).lower() if found else None
        # Two Authorization headers: which one counts differs between readers; neither does.
        if expected is not None and (auths > 1 or not _token_matches(auth, expected)):
            return 401, unauthorized_body, [_CONTENT_TYPE, (b"content-length", str(len(unauthorized_body)).encode()),
                                            (b"www-authenticate", b"Bearer")]
        given_id = None
        if given is not None:
            given_id = given.decode("latin-1")
            if not _REQUEST_ID.fullmatch(given_id):
                return invalid([{"loc": ["header", "x-request-id"], "msg": "X-Request-ID must be 1 to 128 visible "
                                                                            "ASCII characters", "type": "value"}])
        if not json_body:
            return answer(415, not_json_body)
        if charset is not None and charset not in (b"utf-8", b"utf8", b"us-ascii", b"ascii"):  # ASCII is UTF-8
            # JSON is UTF-8 (RFC 8259); a body declared latin-1 was read as UTF-8 regardless.
            return answer(415, orjson.dumps({"detail": f"the body is declared charset={charset.decode('latin-1')}; "
                                                       "send JSON as UTF-8 (charset=utf-8, or no charset)"}))
        try:
            body = await read_body(receive, declared)
        except _CutShort:
            log.info("a request ended before its body did; nothing was scored")
            return answer(400, cut_short)
        if body is None:
            return answer(413, too_large)
        try:
            payload = _parse(body)
        except _BadBody as exc:
            return invalid([{"loc": ["body", *exc.loc], "msg": exc.args[0], "type": "json_invalid"}])
        if type(payload) is not dict:
            return invalid([{"loc": ["body"], "msg": "expected a JSON object: one record, or {\"records\": [...]}",
                             "type": "type"}])
        # 128 random bits, as uuid4 has, without building a UUID object.
        server_id = os.urandom(16).hex()
        _SERVER_ID.set(server_id)  # this request's task (and the threads it scores in) only
        request_id = given_id or server_id
        # The two ways a valid request can still fail: the audit line cannot be written (a full
        # disk), or ONNX Runtime fails inside the model. Either way no decision is delivered, the
        # caller gets an ordinary 500 (the connection stays usable) and the server log has the
        # traceback. Anything else is a bug and propagates to the server's own error handling.
        caught: BaseException
        try:
            status, answered, headers = await score(request_id, payload)
            # The server's own id of this request, the key of its audit lines whatever X-Request-ID
            # the client sent (a client reusing one could not join its answer to one line: an MLOps
            # walk-through, 2026-12-06).
            return status, answered, [*headers, (b"x-finlite-request-id", server_id.encode())]
        except OSError as exc:
            failure, caught = f"the audit log could not be written ({exc.strerror or exc})", exc
        except model_errors as exc:
            failure, caught = f"the model failed while scoring ({type(exc).__name__}: {str(exc)[:200]})", exc
        # Outside the except blocks there is no exception to log ("NoneType: None"): pass it. An
        # audit log that cannot be written (a full disk, its folder removed) is one line naming the
        # file and the cause: two tracebacks a request flooded the server log just as the disk
        # filled (an MLOps walk-through, 2026-12-06); a model's failure keeps its traceback.
        if isinstance(caught, OSError):
            log.error("request %s: %s: %s", request_id, failure, audit.path if audit is not None else "")
        else:
            log.error("request %s: %s", request_id, failure, exc_info=caught)
        audit_error(request_id, 500, f"{failure}; see the server log")
        return answer(500, orjson.dumps({"detail": f"{failure}; no decision was made (request {request_id}); "
                                                   "see the server log"}), request_id)

    if market is not None:
        body_schema = _history_schema(predictor, market, max_history)
        responses = _forecast_responses(predictor, market, max_body_bytes)
    else:
        record_schema = _record_schema(predictor)
        body_schema = {"oneOf": [record_schema, {
            "type": "object", "required": ["records"], "additionalProperties": False,
            "properties": {"records": {"type": "array", "items": record_schema, "maxItems": max_batch}}}]}
        if records_is_field:
            body_schema = record_schema
        responses = _responses(max_body_bytes)

    @app.post("/predict", openapi_extra={"requestBody": {"required": True, "content": {_JSON: {"schema": body_schema}}}},
              responses=responses)
    async def predict(request: Request) -> Response:
        """Score one record, or a batch ``{"records": [...]}``; a forecaster: the forecast for the last
        date of ``{"history": ...}``."""
        _CLIENT.set(_client_of(request.scope))
        status, body, headers = await handle(request.scope["headers"], request.receive)
        response = Response(body, status)
        response.raw_headers = headers
        return response

    # The hot path: the same handler as a plain ASGI route, matched before the documented route.
    fast = _PredictEndpoint(handle)
    app.router.routes.insert(0, Route("/predict", fast, methods=["POST"], include_in_schema=False))
    app.fast_predict = fast  # and, ahead of everything, from the app itself

    @app.get("/health", responses={200: {"description": "alive", "content": {_JSON: {"schema": {
        "type": "object", "required": ["status", "model_sha256"],
        "properties": {"status": {"type": "string"}, "model_sha256": {"type": "string"}}}}}},
        503: {"description": "alive, but the audit log cannot take a line (its last write failed, or its folder is "
                             "gone): no decision would be made, so a load balancer should send none here"}})
    async def health() -> Response:
        broken = None if audit is None else audit.ready()
        if broken is not None:  # alive, but no decision can be made: not ready for traffic
            return Response(orjson.dumps({"status": "unavailable", "model_sha256": model_sha256,
                                          "detail": f"{broken}: no decision can be recorded, so none is made"}),
                            503, {"content-type": _JSON})
        return json_response(health_body)

    # Load balancers often probe with HEAD: the same answer, the server sends no body.
    app.head("/health", include_in_schema=False)(health)

    @app.get("/metadata", responses={200: {"description": "the artifact's schema, hashes, cut-off, metrics",
                                           "content": {_JSON: {"schema": {"type": "object"}}}},
                                     401: _responses(max_body_bytes)[401]})
    async def metadata(request: Request) -> Response:
        if not authorized(request):
            return unauthorized()
        return json_response(meta_body)

    # The OpenAPI pages describe the model's fields, so they are behind the token too.
    @app.get("/openapi.json", include_in_schema=False)
    async def openapi(request: Request) -> Response:
        if not authorized(request):
            return unauthorized()
        return json_response(orjson.dumps(app.openapi()))

    # The pages' scripts and styles are served from the installed fastapi-offline package, never
    # a CDN: a bank's service runs without the internet, and a page that holds the bearer token
    # must not run third-party script (FastAPI's defaults load jsDelivr, Google Fonts and a favicon
    # from fastapi.tiangolo.com). The Content-Security-Policy makes the browser refuse anything
    # from elsewhere as well.
    @app.get("/docs", include_in_schema=False)
    async def docs(request: Request) -> Response:
        if not authorized(request):
            return unauthorized()
        return _offline_page(get_swagger_ui_html(openapi_url="/openapi.json", title=f"{app.title} - docs",
                                                 swagger_js_url=_DOCS_ASSETS["swagger-ui-bundle.js"][0],
                                                 swagger_css_url=_DOCS_ASSETS["swagger-ui.css"][0],
                                                 swagger_favicon_url="data:,",
                                                 # no badge fetched from validator.swagger.io
                                                 swagger_ui_parameters={"validatorUrl": None}))

    @app.get("/redoc", include_in_schema=False)
    async def redoc(request: Request) -> Response:
        if not authorized(request):
            return unauthorized()
        return _offline_page(get_redoc_html(openapi_url="/openapi.json", title=f"{app.title} - ReDoc",
                                            redoc_js_url=_DOCS_ASSETS["redoc.standalone.js"][0],
                                            redoc_favicon_url="data:,", with_google_fonts=False))

    for name in _DOCS_ASSETS:
        _docs_asset(name)  # read now (once per process): a missing file stops the start, not a page

    def asset_route(name: str, media_type: str) -> Callable[[Request], Awaitable[Response]]:
        async def asset(request: Request) -> Response:
            if not authorized(request):
                return unauthorized()
            return Response(_docs_asset(name), media_type=media_type,
                            headers={"Cache-Control": "private, max-age=3600", **_DOCS_HEADERS})
        return asset

    for name, (url, media_type) in _DOCS_ASSETS.items():
        app.get(url, include_in_schema=False)(asset_route(name, media_type))

    if expected is not None:
        # Declared so the Swagger page offers "Authorize" and clients know to send the token.
        def with_security() -> dict[str, Any]:
            if app.openapi_schema is None:
                schema = FastAPI.openapi(app)
                schema.setdefault("components", {})["securitySchemes"] = {"bearer": {"type": "http",
                                                                                     "scheme": "bearer"}}
                for path in ("/predict", "/metadata"):
                    for operation in schema["paths"][path].values():
                        operation["security"] = [{"bearer": []}]
                app.openapi_schema = schema
            return app.openapi_schema

        app.openapi = with_security  # type: ignore[method-assign]
    return app


# -- running it -------------------------------------------------------------------------------------
def _check_bindable(host: str, port: int) -> None:
    """Fail with a message (exit 2) when the address cannot be listened on, before loading."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise ConfigError(f"--host {host!r} is not an address this machine can listen on ({exc.strerror}); use "
                          "127.0.0.1 (this machine only) or 0.0.0.0 (every interface).") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            probe.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRNOTAVAIL:  # the address is no interface of this machine
                raise ConfigError(f"Cannot listen on {host}:{port} ({exc.strerror or exc}): --host must be an address "
                                  "of this machine; use 127.0.0.1 (this machine only) or 0.0.0.0 (every "
                                  "interface).") from None
            raise ConfigError(f"Cannot listen on {host}:{port} ({exc.strerror or exc}); choose another --port (one "
                              "that is free, and 1024 or above unless running as root).") from None


def _open(settings: ServeSettings) -> tuple[Predictor, str | None, AuditLog | None]:
    token = read_token(settings.token_file) if settings.token_file is not None else None
    key = read_audit_key(settings.audit_key_file) if settings.audit_key_file is not None else None
    predictor = settings.predictor()
    audit = AuditLog(settings.audit_log) if settings.audit_log is not None else None
    if audit is not None:
        audit.digest_key = key
    return predictor, token, audit


def app_from_environment() -> FastAPI:
    """The app of one worker process of ``serve --workers N``: settings from the environment.

    uvicorn needs an import string to start several processes; the parent validated the
    settings and passes them (file paths, never the token) in ``FINLITE_SERVE_SETTINGS``.
    """
    raw = os.environ.get(_ENV)
    if not raw:
        raise ConfigError(f"{_ENV} is not set; start the service with 'finlite serve'.")
    settings = ServeSettings(**json.loads(raw))
    predictor, token, audit = _open(settings)
    codes = None
    if settings.reason_codes is not None and settings.reasons:
        codes = predictor.read_reason_codes(settings.reason_codes)
        if settings.reason_codes_sha256 is not None and codes.sha256 != settings.reason_codes_sha256:
            raise ConfigError(f"The reason-codes file {settings.reason_codes!r} changed after the service started "
                              f"(sha256 {codes.sha256[:16]}…, not {settings.reason_codes_sha256[:16]}…); this worker "
                              "refuses to give other codes than its siblings. Restart the service to use the new "
                              "table.", param="reason_codes")
    app = create_app(predictor, token=token, audit=audit, audit_features=settings.audit_features,
                     max_body_bytes=settings.max_body_bytes, reasons=settings.reasons, reason_codes=codes)
    app.allowed_hosts = host_check(settings.host, token, settings.allowed_hosts)  # type: ignore[attr-defined]
    if audit is not None:  # each worker process says what it serves, under which checks
        _audit_lifecycle(app, audit, predictor, settings)
    return app


def _audit_lifecycle(app: FastAPI, audit: AuditLog, predictor: Predictor, settings: ServeSettings) -> None:
    """Write the process's start line now (an error here stops the start: no decision goes out
    unlogged) and its stop line when the server shuts down (the lifespan's end: after the open
    requests are answered). uvicorn re-raises SIGTERM once it has stopped, so code after
    ``uvicorn.run`` never runs; the lifespan's end does."""
    start = service_event("start", predictor, settings, audit.digest_key)
    audit.write([start])
    audit.opening = start  # a rotated log's new file starts with it again
    previous = app.router.lifespan_context  # kept: the app's own start-up and shut-down run as before

    @contextlib.asynccontextmanager
    async def lifespan(scope_app: Any) -> Any:
        async with previous(scope_app) as state:
            yield state
        try:
            audit.write([service_event("stop", predictor, settings)])
        except OSError as exc:
            log.error("cannot write the stop line to the audit log %s: %s", audit.path, exc.strerror or exc)

    app.router.lifespan_context = lifespan


def serve(artifact: str | Path, *, host: str = "127.0.0.1", port: int = 8000, token_file: str | Path | None = None,
          audit_log: str | Path | None = None, audit_features: bool = False, max_body_bytes: int = MAX_BODY_BYTES,
          access_log: bool = False, workers: int = 1, verify_key: str | Path | None = None,
          manifest_sha256: str | None = None, announce: Callable[[str], None] | None = None,
          allowed_hosts: tuple[str, ...] = (), reasons: int = 0, reason_codes: str | Path | None = None,
          no_impute: bool = False, audit_key_file: str | Path | None = None) -> None:
    """Run the service with uvicorn until interrupted (binds 127.0.0.1 unless told otherwise).

    Bound to a loopback address without a token, only requests whose Host is a loopback name or
    one of ``allowed_hosts`` (a local proxy's) are answered (see :func:`host_check`).

    Everything is checked, and the artifact loaded and verified, before the port is bound, so a
    bad option or artifact fails at once (:class:`~finlite.errors.FinliteError`). ``announce``
    receives warnings and the "serving" line.

    Raises:
        ConfigError: an option is out of range, the token file or audit log is unusable.
        ArtifactError: the artifact does not verify (checksums, signature, pinned digest).
    """
    import uvicorn

    def text(value: str | Path | None) -> str | None:
        return None if value is None else str(value)

    settings = check_settings(ServeSettings(
        artifact=str(artifact), host=host, port=port, token_file=text(token_file), audit_log=text(audit_log),
        audit_features=audit_features, max_body_bytes=max_body_bytes, access_log=access_log, workers=workers,
        verify_key=text(verify_key), manifest_sha256=manifest_sha256, allowed_hosts=tuple(allowed_hosts),
        reasons=reasons, reason_codes=text(reason_codes), no_impute=no_impute, audit_key_file=text(audit_key_file)))
    _check_bindable(host, port)
    say = announce or (lambda line: None)
    predictor, token, audit = _open(settings)
    gates = failed_gates_warning(predictor.manifest, str(artifact))
    if gates:
        say(gates)
    verdict = report_status_warning(predictor, str(artifact))
    if verdict is not None:  # export says so; serve started without a word (a fraud engineer's walk-through)
        say(verdict)
    if host not in ("127.0.0.1", "localhost", "::1"):  # after the checks: no warning for a run refused
        say(f"warning: binding {host}; the service is reachable from other machines"
            + ("" if token_file else " and needs no token"))
    if audit is not None and audit.warning:
        say(f"warning: {audit.warning}")
    if token is not None and len(token) < MIN_TOKEN_CHARS:  # used all the same: a test bench may want a short one
        say(f"warning: the bearer token in {str(token_file)!r} is {len(token)} characters; a short token can be "
            f"guessed. Use at least {MIN_TOKEN_CHARS} random characters, e.g.: openssl rand -hex 32 > "
            f"{str(token_file)!r}")
    if token_file is not None:
        with contextlib.suppress(OSError):
            mode = os.stat(token_file).st_mode
            if mode & 0o077:  # used all the same: the operator may share it on purpose
                say(f"warning: the token file {str(token_file)!r} can be read by other users (mode "
                    f"{stat.S_IMODE(mode):04o}); anyone who reads it can get decisions: chmod 600 {str(token_file)!r}")
    if audit_key_file is not None:
        with contextlib.suppress(OSError):
            mode = os.stat(audit_key_file).st_mode
            if mode & 0o077:  # used all the same, as the token file is
                say(f"warning: the audit key file {str(audit_key_file)!r} can be read by other users (mode "
                    f"{stat.S_IMODE(mode):04o}); anyone who reads it can link the audit log's digests to applicants: "
                    f"chmod 600 {str(audit_key_file)!r}")
    codes = None
    if (reasons or reason_codes is not None) and predictor.market is not None:
        # Refused before "serving ... on" is said (it was said, then the start failed: an upgrade
        # walk-through, 2026-12-07).
        raise _forecaster_reasons(predictor)
    if reasons and predictor.market is None:
        if reason_codes is not None:  # read and checked now: a bad table stops the start, before the port is bound
            codes = predictor.read_reason_codes(reason_codes)
        protected = protected_fields(predictor)
        if protected:
            cited = "" if codes is None else f" (codes {', '.join(codes.citing(protected))})"
            say(f"warning: the reasons may name feature(s) declared protected or whose names suggest a protected attribute: "
                f"{', '.join(protected)}{cited}: {USE_ADVICE}.")
        for note in masked_protected_notes(predictor, codes):
            say(note)
        if predictor.reasons_floor_note:
            say(f"note: {predictor.reasons_floor_note}")
    # An IPv6 address goes in brackets in a URL: http://::1:8000 is none (an MLOps walk-through).
    url_host = f"[{host}]" if ":" in host and not host.startswith("[") else host
    say(f"serving {artifact} (model {predictor.model_sha256[:16]}) on http://{url_host}:{port} with {workers} "
        f"worker(s); OpenAPI page: /docs" + ("" if audit is None else f"; audit log {audit.path}"))
    options: dict[str, Any] = {"host": host, "port": port, "log_level": "warning", "access_log": access_log,
                               "http": bounded_http_protocol(), "limit_concurrency": MAX_CONNECTIONS,
                               "h11_max_incomplete_event_size": MAX_HEADER_BYTES}
    if workers == 1:
        app = create_app(predictor, token=token, audit=audit, audit_features=audit_features,
                         max_body_bytes=settings.max_body_bytes, reasons=reasons, reason_codes=codes)
        app.allowed_hosts = host_check(host, token, tuple(allowed_hosts))  # type: ignore[attr-defined]
        if audit is not None:
            _audit_lifecycle(app, audit, predictor,
                             replace(settings, reason_codes_sha256=None if codes is None else codes.sha256))
        try:
            _run_server(uvicorn, app, host, port, options)
        finally:
            if audit is not None:
                audit.close()
        return
    # Several processes: each worker loads the artifact and opens the audit log itself.
    if audit is not None:
        audit.close()
    # Each worker loads the artifact this process verified, pinned by its manifest digest: one
    # swapped in meanwhile (even one signed by the same key) is refused, not served beside it.
    # The reason codes likewise: each worker reads the file again and refuses other bytes than these.
    pinned = replace(settings, manifest_sha256=str(predictor.manifest["manifest_sha256"]),
                     reason_codes_sha256=None if codes is None else codes.sha256, operator_pin=settings.manifest_sha256)
    with tempfile.TemporaryDirectory(prefix="finlite-serve-") as private:  # mode 0700
        failure = Path(private) / "worker-failure.txt"
        pinned = replace(pinned, failure_file=str(failure), parent_pid=os.getpid())
        os.environ[_ENV] = json.dumps(asdict(pinned))
        try:
            _run_server(uvicorn, "finlite.runtime.service:worker_app", host, port,
                        {**options, "factory": True, "workers": workers})
        finally:
            if failure.exists():  # a worker could not start: the service stopped on its request
                raise ConfigError(f"The service stopped: a worker process could not start. {failure.read_text()}")


def _forecaster_reasons(predictor: Any) -> ConfigError:
    """The refusal of reasons for a forecaster, which decides no record."""
    return ConfigError(f"{predictor.path} holds a forecaster; adverse-action reasons are for records a classifier "
                       "declines. Drop --reasons and --reason-codes.", param="reasons")


def _run_server(uvicorn: Any, app: Any, host: str, port: int, options: dict[str, Any]) -> None:
    """``uvicorn.run``, with its own exit on a failed start (the port taken between the check
    and the bind: uvicorn logs why and exits 1 or 3, which ``finlite serve`` passed on as its
    status, where 1 means a gate decided) turned into a ConfigError (exit 2)."""
    try:
        uvicorn.run(app, **options)
    except SystemExit as exc:
        if exc.code in (None, 0):
            raise
        raise ConfigError(f"The service stopped before serving on {host}:{port} (uvicorn exited with status "
                          f"{exc.code}; the line above says why, e.g. the port was taken after finlite checked "
                          "it). Choose another --port, or start it again.") from None


#: uvicorn's exit status for a worker that failed before serving (its supervisor then stops).
_STARTUP_FAILURE = 3


#: Linux's prctl option that sends a signal to this process when its parent dies.
_PR_SET_PDEATHSIG = 1


def _stop_with_parent(parent: int | None) -> None:
    """Make this worker stop (SIGTERM: it finishes its requests, writes its audit stop line) when
    the ``finlite serve`` process that supervises it dies. Killed with SIGKILL (the OOM killer, a
    ``kill -9``), the supervisor left its workers scoring and writing the audit log with nothing
    managing them, and a new ``finlite serve`` could not take the port (an MLOps walk-through,
    2026-12-06). On Linux the kernel sends the signal (``PR_SET_PDEATHSIG``); elsewhere (macOS: serve
    needs ``fcntl``, so not Windows, whose ``getppid`` would keep the dead parent's id) a thread
    looks for a new parent every second. A worker orphaned before it got here exits at once."""
    if not isinstance(parent, int) or isinstance(parent, bool) or parent <= 0:
        return  # no supervisor named: nothing to watch, and no signal asked for
    gone = "finlite serve: worker %d stops: its supervisor (pid %d) is gone"
    if os.getppid() != parent:  # orphaned already, in its first second
        logging.getLogger("uvicorn.error").error(gone, os.getpid(), parent)
        raise SystemExit(0)
    armed = False
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            armed = ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0) == 0
        except (OSError, AttributeError):
            armed = False
    if os.getppid() != parent:  # the supervisor died between the check and the request
        logging.getLogger("uvicorn.error").error(gone, os.getpid(), parent)
        raise SystemExit(0)
    if armed:
        return

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        logging.getLogger("uvicorn.error").error(gone, os.getpid(), parent)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="finlite-parent-watch", daemon=True).start()


def worker_app() -> FastAPI:
    """:func:`app_from_environment` for a worker process started by ``serve --workers N``.

    A worker that cannot start (the artifact or the reason-codes table changed after the
    parent checked them, a file became unreadable) must not leave a traceback in the log, nor
    be started again and again beside workers that do serve: it writes why to the parent's
    private failure file, logs one line, asks the parent to stop (SIGTERM: every uvicorn version
    stops all its workers on it) and exits. ``finlite serve`` then exits 2 with the reason.
    """
    try:
        parent = json.loads(os.environ.get(_ENV) or "{}").get("parent_pid")
    except (ValueError, AttributeError):
        parent = None
    _stop_with_parent(parent)
    try:
        return app_from_environment()
    except (FinliteError, OSError) as exc:
        raw = os.environ.get(_ENV) or "{}"
        try:
            settings = json.loads(raw)
        except ValueError:
            settings = {}
        failure, parent = settings.get("failure_file"), settings.get("parent_pid")
        if isinstance(exc, ArtifactError) and "not the pinned" in str(exc) and not settings.get("operator_pin"):
            # The parent pinned every worker to the digest it verified; the operator pinned
            # nothing, so "pin the new digest" was no fix (an MLOps walk-through, 2026-12-06).
            exc = ArtifactError(f"the artifact {settings.get('artifact')!r} changed while the service ran (a worker "
                                "restarting found another manifest than the one the service started on, and will not "
                                "serve a second model beside the first). Restart finlite serve to serve the new "
                                "artifact, or put the old one back.")
        logging.getLogger("uvicorn.error").error("finlite serve: worker %d could not start: %s", os.getpid(), exc)
        if isinstance(failure, str):
            with contextlib.suppress(OSError):  # the first worker to fail tells why; O_EXCL: never a link
                fd = os.open(failure, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "w", encoding="utf-8") as out:
                    out.write(str(exc))
        if isinstance(parent, int) and parent == os.getppid():
            os.kill(parent, signal.SIGTERM)
        raise SystemExit(_STARTUP_FAILURE) from None
