"""Batch scoring beyond one machine, on Ray: ``finlite score ... --engine ray [--address ADDR]``.

The file is read in blocks by Ray Data (Parquet row groups spread over read tasks; a CSV is
streamed by one task, since its rows cannot be located without parsing it), each block is
scored by an actor pool that holds one :class:`~finlite.runtime.Predictor` per actor (one ONNX
Runtime thread each), and the driver writes the scores, in the input's row order, to a
temporary file that is renamed into place only when every row has scored: the same output
columns (ids, ``score``, ``decision``), the same scores and the same fail-closed errors as the
local :func:`~finlite.runtime.batch.score_file`.

Every block carries its file row numbers, so a bad value is reported by column, file row and
value exactly as the local run reports it, and the driver checks that the rows come back in
order (a block lost or reordered is an error, never a silent gap).

Each actor verifies the artifact itself (every file's sha256, and the signature when a key is
given), pinned to the manifest the driver verified, so every worker scores the very artifact
the caller trusted. Ray is optional (``pip install 'finlite[ray]'``); this module imports it
only when called, and never imports torch.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from finlite import _limits, _paths
from finlite._finite import float32_cutoff
from finlite._util import check_flags, check_parquet_batch, check_parquet_size, not_parquet
from finlite._version import code_sha256
from finlite.errors import ArtifactError, ConfigError, DataError, FinliteError, ScoreError
from finlite.runtime import _native
from finlite.runtime._fastenc import block_buffer
from finlite.runtime.batch import (  # one writer (temporary file, fsync, rename), one column check
    FLAG_COLUMNS,
    INCOMPLETE_COLUMN,
    POINTS_COLUMN,
    InputDigest,
    RunCounts,
    ScoreLimits,
    ScoreSummary,
    _check_columns,
    _check_ids,
    _csv_where,
    _feature_bins,
    _floor_notes,
    _gate_notes,
    _kind,
    _reference_bins,
    _Writer,
    check_input_file,
    chunk_reasons,
    count_incomplete,
    csv_header,
    flag_columns,
    flag_rate_notes,
    id_column,
    ids_as_written,
    imported_booster,
    incomplete_texts,
    learned_blanks,
    limits_refusal,
    new_columns_notes,
    open_csv_text,
    points_column,
    provenance,
    psi_bins,
    rangeless_fields,
    reason_counts,
    run_record,
    stored_index_columns,
)
from finlite.runtime.predictor import score_blocks
from finlite.runtime.reason_codes import (
    ReasonCodes,
    codes_file,
    masked_protected_notes,
    not_the_applicant_values,
    protected_values,
    reason_columns,
    reasons_setup,
)
from finlite.runtime.stability import LEVELS

__all__ = ["RAY_MISSING", "RayScoreSummary", "check_cluster_code", "check_worker_code", "connect", "driver_code",
           "joined_cluster", "ready_cluster", "require_cpus", "require_ray", "score_file_ray"]

RAY_MISSING = ("--engine ray needs Ray, which is not installed. Install finlite's Ray extra with "
               "pip install 'finlite[ray]' (or drop --engine ray to run on this machine alone).")

# The file row number (1-based, as the local run names rows) of every row, carried with the
# block from the read task to the actor and back to the driver, then dropped.
_ROW = "__finlite_row"
# A block that failed comes back as a one-row table with this column (the error's kind and
# message as JSON) instead of an exception: the driver raises it and stops the run itself, which
# kills the actors. (A worker exception makes Ray Data stop the run without killing them, and an
# actor blocked on output nobody reads would keep its CPU for as long as the Ray session lives.)
_ERROR = "__finlite_error"
# What an actor counted in a block (rows per unseen category, scores per stability bin), as JSON
# in the block's first row (null in the others): counted once however Ray Data later splits or
# joins blocks, summed by the driver, then dropped.
_STATS = "__finlite_stats"


def require_ray() -> Any:
    """The ``ray`` module, or a ConfigError saying how to install it."""
    try:
        import ray
        import ray.data
    except ImportError:
        raise ConfigError(RAY_MISSING) from None
    return ray


def connect(address: str | None = None, *, num_cpus: int | None = None) -> bool:
    """Make sure this process is connected to Ray; True when this call started (and owns) it.

    An existing connection (``ray.init`` called by the caller, e.g. a test or a notebook) is used
    as it is. Otherwise ``address`` joins a running cluster ("auto", "HOST:6379" or
    "ray://HOST:10001"); without one, the cluster ``$RAY_ADDRESS`` names when it is set, else a
    local Ray of this process's own starts with one CPU per available core. A HOST:PORT address
    (and what "auto" resolves to) is probed first (:func:`probe_address`).
    """
    ray = require_ray()
    if address is not None and not address.strip():
        # An empty --address (an unset shell variable) must not quietly mean "a local Ray".
        raise ConfigError(f"--address {address!r} is empty; give the cluster's address ('auto' on a cluster node, "
                          "HOST:6379 or ray://HOST:10001), or drop --address to run a local Ray.")
    label = "--address"
    if not address and os.environ.get("RAY_ADDRESS", "").strip():
        # The cluster the environment names (`ray job submit` sets RAY_ADDRESS for the command it
        # runs): joined as Ray itself would, not silently replaced by a local Ray (a review).
        address, label = os.environ["RAY_ADDRESS"].strip(), "$RAY_ADDRESS"
    if address:  # even beside an existing connection: an address given is one that must answer
        probe_address(address, label=label)
    if ray.is_initialized():
        return False
    quiet = {"include_dashboard": False, "log_to_driver": False, "logging_level": "ERROR"}
    try:
        with keep_signal_handlers():
            if address:
                ray.init(address=address, **quiet)
            else:
                # "local": a Ray of this process's own, even where a cluster started by 'ray start'
                # runs on this machine (ray.init joined it and then refused num_cpus: a review).
                ray.init(address="local", num_cpus=num_cpus or _limits.available_cores(), **quiet)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        said = (str(exc).splitlines()[0] if str(exc) else type(exc).__name__).rstrip(". ")
        if "Ray Client requires" in said:  # ray://: the finlite[ray] extra installs ray[data] only
            raise ConfigError(f"--address {address!r} is a Ray Client address, and Ray Client is not installed (pip "
                              "install 'ray[client]'); or give the head's GCS address instead (HOST:6379), which needs "
                              "nothing more.") from None
        where = f"the Ray cluster at {label} {address!r}" if address else "a local Ray"
        # Ray's own reason for a refused token is in its log lines, not in the exception: where this
        # machine holds a token a join to HOST:PORT does not send, that cause is named as a likely one
        # (a cluster engineer's walk-through, 2026-12-07), beside the others.
        token = _unsent_token() if address and address.strip().lower() != "auto" else None
        hint = (f" This machine holds a Ray authentication token ({token}), and a head started with 'ray start --head' "
                "on a machine holding one (Ray 2.60 writes ~/.ray/auth_token when it first starts a local cluster, "
                "finlite's --engine ray without --address included) requires its token, which Ray sends to 'auto' "
                "but not to HOST:PORT: if Ray logged 'InvalidAuthToken' above, export RAY_AUTH_MODE=token with the "
                "head's token in this environment (RAY_AUTH_TOKEN or RAY_AUTH_TOKEN_PATH; on the head's own machine "
                "its file is that one), or give --address auto on a node of the cluster." if token else "")
        raise ConfigError(f"Cannot start or join {where}: {said}. Check that the head node runs ('ray start --head') "
                          "and that the address is its GCS address (HOST:6379) or 'auto' on a cluster node; a cluster "
                          "that requires Ray's token authentication needs RAY_AUTH_MODE=token and its token in this "
                          "environment too; drop --address (and unset RAY_ADDRESS) to run a local Ray." + hint) \
            from None
    return True


def _unsent_token() -> str | None:
    """Where this machine keeps a Ray authentication token that a join to an explicit address
    does not send (RAY_AUTH_MODE unset), or None: the cause of Ray 2.60's "InvalidAuthToken"
    against a head started here after a local Ray wrote the token (a cluster engineer's
    walk-through, 2026-12-07)."""
    if os.environ.get("RAY_AUTH_MODE", "").strip():
        return None
    if os.environ.get("RAY_AUTH_TOKEN", "").strip():
        return "$RAY_AUTH_TOKEN"
    named = os.environ.get("RAY_AUTH_TOKEN_PATH", "").strip()
    path = Path(named).expanduser() if named else Path.home() / ".ray" / "auth_token"
    try:  # an empty file is no token to Ray
        return str(path) if path.is_file() and path.read_text(encoding="utf-8", errors="replace").strip() else None
    except OSError:
        return None


def require_cpus(ray: Any, address: str | None) -> int:
    """The cluster's CPUs, refused when there are none: an actor or a task that needs one would
    wait for ever, saying nothing (scoring refused it; the search waited past its budget: a
    cluster engineer's walk-through, 2026-12-07)."""
    cpus = int(ray.cluster_resources().get("CPU", 0))
    if cpus < 1:
        raise ConfigError(f"The Ray cluster{f' at --address {address!r}' if address else ''} has no CPU to give an "
                          "actor or a task (each takes one); start its nodes with CPUs ('ray start --num-cpus N').",
                          param="address")
    return cpus


#: How a finlite without a code digest (compiled files only, or run from a zip) names its code:
#: by its version, which two such installs must at least share (their code is compared no further).
_NO_DIGEST = "no-digest:"


def driver_code() -> str:
    """This process's finlite code as the workers compare it: its
    :func:`finlite._version.code_sha256`, or where it has none its version (a driver without a
    digest checked nothing and said nothing: a review, 2026-12-07)."""
    from finlite._version import __version__

    return code_sha256() or f"{_NO_DIGEST}{__version__}"


def check_worker_code(driver: str | None) -> None:
    """Refuse to work where this process's finlite code is not the driver's (``driver``, its
    :func:`driver_code`; None: a driver older than that, with nothing to compare). A cluster whose
    nodes ran other finlite code scored other decisions, and nothing said or recorded it (a
    cluster engineer's walk-through, 2026-12-07: 19,926 of 1,000,000 decisions changed)."""
    if driver is None:
        return
    from finlite._version import __version__

    if driver_code() != driver:
        import socket

        raise ConfigError(_other_code(socket.gethostname(), __version__, code_sha256(), driver))


def _other_code(host: str, version: str | None, mine: str | None, driver: str) -> str:
    """The refusal of a worker whose finlite code is not the driver's."""
    what = (f"finlite {version}, code sha256 {mine[:16]}…" if mine else
            "no finlite installed" if version is None else
            f"finlite {version}, with no code digest: an install without its source (compiled or zipped), or a "
            "finlite older than this check")
    theirs = (f"finlite {driver.removeprefix(_NO_DIGEST)}, with no code digest: only versions compared"
              if driver.startswith(_NO_DIGEST) else f"{driver[:16]}…")
    return (f"A Ray worker on {host} runs other finlite code than the driver ({what}; the driver's {theirs}): "
            "its results could differ from the driver's. Install the same finlite on every node of the cluster "
            "(docs/scale.md), or start this process again if finlite changed on disk since it first ran; nothing "
            "was written.")


def ready_cluster(ray: Any, address: str | None, owned: bool) -> int:
    """A Ray that :func:`connect` reached, made ready for work: its CPUs (refused when none:
    :func:`require_cpus`) and, on a cluster joined or given (:func:`joined_cluster`), every
    node's finlite code compared with this one's (:func:`check_cluster_code`)."""
    cpus = require_cpus(ray, address)
    if joined_cluster(address, owned):  # a local Ray of this process's own runs this very code
        check_cluster_code(ray, driver_code())
    return cpus


def joined_cluster(address: str | None, owned: bool) -> bool:
    """Whether this process works on a cluster it joined or was given (``--address``,
    $RAY_ADDRESS, a Ray the caller started), not on a local Ray of its own (:func:`connect`
    returned ``owned`` True for both a local start and a join: the check of the cluster's code
    never ran from the command line, a review, 2026-12-07)."""
    return not owned or bool(address) or bool(os.environ.get("RAY_ADDRESS", "").strip())


def check_cluster_code(ray: Any, driver: str | None, timeout: float = 120.0) -> None:
    """Ask every live node of a cluster with CPUs which finlite code it has, before any work:
    the actors' and tasks' own check (:func:`check_worker_code`) cannot be reached on a node whose
    finlite predates it (its ``_Scorer`` took no ``code``: a Ray traceback, exit 1; a review,
    2026-12-07). The question is a function sent by value, which any finlite answers.

    Raises:
        ConfigError: naming the first node whose code differs, or that did not answer.
    """
    if driver is None:
        return
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    def digest() -> tuple[str, str | None, str | None]:
        import socket

        version: str | None = None
        try:
            from finlite._version import __version__

            version = __version__
        except ImportError:  # no finlite at all on that node
            pass
        try:
            from finlite._version import code_sha256 as own
            mine = own()
        except ImportError:  # a finlite older than its code digest
            mine = None
        return socket.gethostname(), version, mine

    nodes = [n for n in ray.nodes() if n.get("Alive") and float((n.get("Resources") or {}).get("CPU", 0)) > 0]
    ask = ray.remote(num_cpus=0, max_retries=0)(digest)
    refs = [ask.options(scheduling_strategy=NodeAffinitySchedulingStrategy(n["NodeID"], soft=False)).remote()
            for n in nodes]
    try:
        answers = ray.get(refs, timeout=timeout)
    except (ray.exceptions.RayError, TimeoutError) as exc:  # a node that cannot answer cannot be trusted to score
        raise ConfigError(f"A Ray node could not say which finlite it runs ({type(exc).__name__}: "
                          f"{str(exc).splitlines()[0][:200] if str(exc) else 'no answer'}); check that every node of "
                          "the cluster is alive ('ray status') and has finlite installed (docs/scale.md); nothing was "
                          "written.") from None
    for node, (host, version, mine) in zip(nodes, answers, strict=True):
        if (mine or f"{_NO_DIGEST}{version}") != driver:
            where = f"{host} ({node.get('NodeManagerAddress') or node.get('NodeID', '')[:12]})"
            raise ConfigError(_other_code(where, version, mine, driver))


#: Seconds the address probe waits to connect and for the GCS's first answer.
PROBE_SECONDS = 5.0
#: The HTTP/2 connection preface: a gRPC server (Ray's GCS) answers it with a SETTINGS frame.
_H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


def probe_address(address: str, timeout: float = PROBE_SECONDS, *, label: str = "--address") -> None:
    """Refuse, within about ``2 * timeout`` seconds, a HOST:PORT ``--address`` where no Ray GCS
    answers: ray.init retries such an address for about 14 minutes, deaf to SIGTERM (a closed
    port, a host that does not resolve, a web server's port: a review, 2026-12-05). The GCS is a
    gRPC server, so it answers the HTTP/2 preface with a SETTINGS frame; that is all this checks.
    "auto", ray:// addresses, and a cluster using TLS (RAY_USE_TLS) are left to Ray.

    ``label`` names where the address came from in the messages ("--address", "$RAY_ADDRESS").

    Raises:
        ConfigError: naming the address and what was found there.
    """
    import socket

    given = address
    if address.strip().lower() == "auto":
        # Resolved as Ray resolves it: $RAY_ADDRESS, else the cluster 'ray start' recorded on this
        # machine. Unprobed, "auto" joined a dead RAY_ADDRESS and hung (a review, 2026-12-05).
        address = os.environ.get("RAY_ADDRESS", "").strip() or _recorded_cluster() or ""
        if not address or address.lower() == "auto":
            return  # no cluster recorded: Ray says so at once
    if "://" in address:
        return
    host, sep, port_text = address.strip().rpartition(":")
    if sep and host and port_text.isdigit() and not 0 < int(port_text) < 65536:
        # Ray retried such a port for minutes (a cluster engineer's walk-through, 2026-12-07).
        raise ConfigError(f"The port of {label} {_said(given, address)} is {int(port_text)}, which no port is (1 to "
                          "65535); give the head's GCS address, HOST:6379 by default.", param="address")
    if not sep or not host or not port_text.isdigit():
        return  # not HOST:PORT: Ray's own message says what it takes, at once
    host = host.strip("[]")  # [::1]:6379
    fix = ("Check the address (the head's GCS address, HOST:6379 by default: 'ray status' on the head prints it), "
           "that 'ray start --head' runs there and that this machine may reach its port; drop --address (and unset "
           "RAY_ADDRESS) to run a local Ray.")
    try:
        conn = socket.create_connection((host, int(port_text)), timeout=timeout)
    except OSError as exc:
        why = "no answer" if isinstance(exc, TimeoutError) else (exc.strerror or str(exc) or type(exc).__name__)
        raise ConfigError(f"Cannot reach the Ray cluster at {label} {_said(given, address)}: {why}. {fix}",
                          param="address") from None
    if os.environ.get("RAY_USE_TLS", "").strip().lower() in ("1", "true"):
        conn.close()
        return
    with conn:
        try:
            conn.settimeout(timeout)
            conn.sendall(_H2_PREFACE)
            head = conn.recv(9)
        except OSError:
            head = b""
    if len(head) < 4 or head[3] != 0x04:  # not a SETTINGS frame: not a gRPC server
        raise ConfigError(f"Something answers at {label} {_said(given, address)}, but not Ray's GCS (a gRPC "
                          f"server). {fix}", param="address")


def _said(given: str, address: str) -> str:
    """The address as the message names it: as given, and what "auto" or $RAY_ADDRESS made of it."""
    if given == address:
        return repr(address)
    return f"{given!r} ({address}, from $RAY_ADDRESS or the cluster 'ray start' recorded)"


def _recorded_cluster() -> str | None:
    """The GCS address of the cluster 'ray start' last recorded on this machine, or None."""
    import tempfile

    for folder in (os.environ.get("RAY_TMPDIR"), "/tmp", tempfile.gettempdir()):
        if not folder:
            continue
        try:
            with open(os.path.join(folder, "ray", "ray_current_cluster"), encoding="utf-8", errors="replace") as fh:
                line = fh.readline(1024).strip()
        except OSError:
            continue
        if line:
            return line
    return None


@contextlib.contextmanager
def keep_signal_handlers() -> Iterator[None]:
    """Keep this process's Python handlers of SIGTERM, SIGHUP and SIGINT across Ray's start and
    stop, which put Ray's own in their place: a SIGTERM then ended ``finlite score --engine ray``
    with exit 15 and a stack dump, not 143 after removing its partial output (a review)."""
    import signal
    import threading

    kept: dict[int, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for name in ("SIGTERM", "SIGHUP", "SIGINT"):
            number = getattr(signal, name, None)
            if number is not None and callable(signal.getsignal(number)):
                kept[number] = signal.getsignal(number)
    try:
        yield
    finally:
        for number, handler in kept.items():
            signal.signal(number, handler)


# -- reading: a Ray Data datasource whose blocks know their file rows ------------------------------

def _parquet_pieces(path: Path, chunk_rows: int) -> list[tuple[list[int], int, int]]:
    """Row groups gathered into read tasks of about ``chunk_rows`` rows: (groups, first row, rows)."""
    import pyarrow.parquet as pq

    meta = pq.ParquetFile(path).metadata
    pieces: list[tuple[list[int], int, int]] = []
    groups: list[int] = []
    start, rows = 1, 0
    for g in range(meta.num_row_groups):
        groups.append(g)
        rows += meta.row_group(g).num_rows
        if rows >= chunk_rows:
            pieces.append((groups, start, rows))
            start, groups, rows = start + rows, [], 0
    if groups or not pieces:
        pieces.append((groups, start, rows))
    return pieces


def _with_rows(table: Any, first: int) -> Any:
    import pyarrow as pa

    return table.append_column(_ROW, pa.array(np.arange(first, first + table.num_rows, dtype=np.int64)))


def _error_block(exc: FinliteError) -> Any:
    import json

    import pyarrow as pa

    return pa.table({_ERROR: [json.dumps({"kind": type(exc).__name__, "message": str(exc)})]})


def _raise_error_block(table: Any) -> None:
    import json

    record = json.loads(table.column(_ERROR)[0].as_py())
    kinds = {k.__name__: k for k in (ScoreError, DataError, ArtifactError, ConfigError)}
    raise kinds.get(record["kind"], DataError)(record["message"])


def _read_parquet(path: str, groups: list[int], first: int, columns: list[str], dictionary: list[str],
                  chunk_rows: int) -> Iterator[Any]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        reader = pq.ParquetFile(path, read_dictionary=dictionary)
        if not groups:  # an empty file: one empty block with the right columns
            yield _with_rows(reader.schema_arrow.empty_table().select(columns), first)
            return
        for batch in reader.iter_batches(batch_size=chunk_rows, row_groups=groups, columns=columns):
            check_parquet_batch(Path(path), batch, first)  # as the local reader checks each batch
            yield _with_rows(pa.Table.from_batches([batch]), first)
            first += batch.num_rows
    except DataError as exc:
        yield _error_block(exc)
    except (pa.ArrowInvalid, OSError) as exc:
        yield _error_block(DataError(f"Cannot read {path!r} as Parquet near row {first} ({exc}); check the file."))


def _read_csv(path: str, columns: list[str], chunk_rows: int, ids: list[str], fields: list[str]) -> Iterator[Any]:
    import pyarrow as pa

    first = 1
    try:
        # Every column as text, as the local run reads it (batch.open_csv_text): the encoder parses
        # numbers itself and names the row and column of a bad value; ids keep their text as
        # written (batch.ids_as_written: an id spelled NA is not a missing value).
        reader = ids_as_written(iter(open_csv_text(Path(path), columns, chunk_rows)), Path(path), ids, fields,
                                chunk_rows)
        produced = False
        for batch in reader:
            produced = True
            yield _with_rows(pa.Table.from_batches([batch]), first)
            first += batch.num_rows
        if not produced:
            yield _with_rows(pa.table({c: pa.array([], pa.string()) for c in columns}), first)
    except (pa.ArrowInvalid, OSError) as exc:
        yield _error_block(DataError(f"Cannot read {path!r} after row {first - 1}: {exc}. Fix the file and score "
                                     "it again."))
    except DataError as exc:
        yield _error_block(exc)


def _datasource(path: Path, kind: str, columns: list[str], dictionary: list[str], chunk_rows: int, ids: list[str],
                fields: list[str]) -> Any:
    """A Ray Data datasource over ``path`` whose blocks carry their file row numbers."""
    from ray.data import Datasource, ReadTask
    from ray.data.block import BlockMetadata

    source = str(path)
    size = path.stat().st_size

    class _Rows(Datasource):  # defined here: Ray Data ships it to the read tasks by value
        def estimate_inmemory_data_size(self) -> int | None:
            return size * 4

        def get_name(self) -> str:
            return "FinliteRows"

        def get_read_tasks(self, parallelism: int, per_task_row_limit: int | None = None,
                           data_context: Any = None) -> list[Any]:
            def meta(rows: int | None, nbytes: int | None) -> Any:
                return BlockMetadata(num_rows=rows, size_bytes=nbytes, exec_stats=None, input_files=(source,))

            if kind == "csv":  # rows cannot be located without parsing: one task streams the file
                return [ReadTask(lambda: _read_csv(source, columns, chunk_rows, ids, fields), meta(None, size * 4))]
            tasks = []
            for groups, first, rows in _parquet_pieces(path, chunk_rows):
                def read(groups: list[int] = groups, first: int = first) -> Iterator[Any]:
                    return _read_parquet(source, groups, first, columns, dictionary, chunk_rows)
                tasks.append(ReadTask(read, meta(rows, None)))
            return tasks

    return _Rows()  # type: ignore[no-untyped-call]  # Ray's Datasource.__init__ has no annotations


# -- scoring: one Predictor per actor ---------------------------------------------------------------

class _Scorer:
    """A Ray Data actor: verifies the artifact once, then scores the blocks it is handed."""

    def __init__(self, artifact: str, variant: str, key_pem: str | None, manifest_sha256: str, source: str,
                 ids: list[str], reasons: int = 0, codes: ReasonCodes | None = None, total: int | None = None,
                 flags: bool = False, no_impute: bool = False, code: str | None = None) -> None:
        from finlite.runtime.predictor import Predictor
        from finlite.signing import load_public_key_pem

        # The key travels as PEM text (key objects do not pickle); False: no key, and no
        # $FINLITE_VERIFY_KEY of the worker's either, exactly as the driver decided.
        self.source, self.ids, self.reasons, self.codes = source, ids, reasons, codes
        self.flags = flags  # score --flags: each row's imputed, outside and unseen fields (batch.flag_columns)
        self.total = total  # the file's rows when known (a Parquet footer's): the samples' stride from the start
        self.protected: list[str] = []
        self.scale: tuple[float, float] | None = None
        # A refused artifact is reported with the first block (see _ERROR), not raised: Ray
        # would retry a failed actor start and report it as ActorDiedError, not ArtifactError.
        self.failure: FinliteError | None = None
        self._block: np.ndarray | None = None  # the encoded rows of one block (see _buffer)
        self.feature_bins: Any = None  # the fields' recorded bins (set with the predictor below)
        try:
            check_worker_code(code)  # the driver's finlite, or nothing scored here
            key: Any = load_public_key_pem(key_pem) if key_pem is not None else False
            self.predictor = Predictor(artifact, variant=variant, threads=1, verify_key=key,
                                       manifest_sha256=manifest_sha256, no_impute=no_impute)
            self.cutoff = float32_cutoff(self.predictor.cutoff)  # as the local run and the Predictor
            self.scale = self.predictor.points_scale  # a points scorecard's totals (batch.points_column)
            # The training scores' stability bins, as the local run reads them (batch._reference_bins),
            # and each field's (batch._feature_bins).
            self.reference = _reference_bins(self.predictor)
            self.feature_bins = _feature_bins(self.predictor)
            _native.compile_in_background()  # an actor scores many blocks: the compiled fill pays
            if reasons:
                if codes is not None:  # read and checked by the driver: the same model, pinned above
                    codes.check_fields(self.predictor.reason_fields, artifact)
                self.protected = protected_values(self.predictor, codes)
                # Counted with them, as the local run counts them (batch.other_party_notes).
                self.protected += [v for v in not_the_applicant_values(self.predictor, codes)
                                   if v not in self.protected]
        except FinliteError as exc:
            self.failure = exc

    def __call__(self, batch: Any) -> Any:
        if _ERROR in batch.column_names:  # a read task's error: pass it on to the driver
            return batch
        if self.failure is not None:
            return _error_block(self.failure)
        try:
            return self._score(batch)
        except FinliteError as exc:  # a bad value, a NaN score: reported by the driver (see _ERROR)
            return _error_block(exc)

    def _buffer(self) -> np.ndarray:
        """This actor's reusable block of encoded rows (runtime/_fastenc.block_rows)."""
        if self._block is None:
            self._block = block_buffer(self.predictor.encoder.n_features)
        return self._block

    def _score(self, batch: Any) -> Any:
        import pyarrow as pa

        rows = batch.column(_ROW).to_numpy()
        n = len(rows)
        score = np.zeros(n, np.float32)
        unseen: dict[str, int] = {}
        unseen_empty: dict[str, int] = {}
        imputed: dict[str, int] = {}
        outside: dict[str, int] = {}
        decision = np.zeros(n, np.int8)
        texts: list[list[str | None]] = [[None] * n for _ in range(self.reasons)]
        left_out: list[str | None] = [None] * n  # the reasons' incomplete column (batch.incomplete_texts)
        flagged: list[dict[str, Any]] = []  # each part's flag columns (score --flags), in row order
        # Rows of one batch are consecutive unless Ray Data joined blocks: encode each run of
        # consecutive rows with its own first row, so an error names the right file row.
        breaks = np.flatnonzero(np.diff(rows) != 1) + 1 if n > 1 else np.zeros(0, np.int64)
        for lo, hi in zip(np.r_[0, breaks], np.r_[breaks, n], strict=True):
            if hi == lo:
                continue
            part = batch.slice(int(lo), int(hi - lo))
            first = int(rows[lo])
            prepared = self.predictor.encoder.prepare_arrow(part, first_row=first, source=self.source,
                                                            row_flags=self.flags or self.reasons > 0)
            # Encoded and scored a cache-sized block at a time, as local scoring does (predictor.score_blocks).
            # Every score checked (count and value) there: fail closed, no NaN ever decides.
            score[lo:hi] = score_blocks(prepared, self.predictor.session, self._buffer(), self.source, first=first)
            decision[lo:hi] = score[lo:hi] >= self.cutoff
            for name, count in prepared.unseen.items():
                unseen[name] = unseen.get(name, 0) + count
            for name, count in prepared.unseen_empty.items():
                unseen_empty[name] = unseen_empty.get(name, 0) + count
            for name, count in prepared.imputed.items():
                imputed[name] = imputed.get(name, 0) + count
            for name, count in prepared.outside.items():
                outside[name] = outside.get(name, 0) + count
            if self.reasons:  # as the local run gives them (batch.chunk_reasons)
                part_texts = chunk_reasons(self.predictor, prepared, decision[lo:hi], self._buffer(), self.reasons,
                                           self.codes)
                for column, values in zip(texts, part_texts, strict=True):
                    column[lo:hi] = values
                left_out[lo:hi] = incomplete_texts(prepared.flags, decision[lo:hi], self.predictor.protected_fields)
            if self.flags:
                flagged.append(flag_columns(prepared.flags or {}, int(hi - lo)))
        columns = {c: id_column(batch, c) for c in self.ids}
        columns["score"] = pa.array(score, type=pa.float32())
        columns["decision"] = pa.array(decision, type=pa.int8())
        if self.scale is not None:  # as the local run writes it
            columns[POINTS_COLUMN] = points_column(score, self.scale)
        for j, values in enumerate(texts):
            columns[f"reason_{j + 1}"] = pa.array(values, type=pa.string())
        if self.reasons:
            columns[INCOMPLETE_COLUMN] = pa.array(left_out, type=pa.string())
        if self.flags:  # as the local run writes them, after the reasons
            for name in FLAG_COLUMNS.values():
                parts = [p[name] for p in flagged]
                columns[name] = pa.concat_arrays(parts) if parts else pa.array([], type=pa.string())
        columns[_ROW] = batch.column(_ROW)
        cited, unexplained = reason_counts(texts, decision, self.protected)
        stats: dict[str, Any] = {"unseen": unseen, "unseen_empty": unseen_empty, "imputed": imputed,
                                 "outside": outside, "cited": cited,
                                 "unexplained": unexplained, "rows": n, "incomplete": count_incomplete(left_out)}
        if self.feature_bins is not None:  # the rows the local run bins (by file position: stability.sample)
            fields = self.feature_bins.empty()
            for lo, hi in zip(np.r_[0, breaks], np.r_[breaks, n], strict=True):
                if hi > lo:
                    for name, counted in self.feature_bins.count(batch.slice(int(lo), int(hi - lo)),
                                                                 int(rows[lo]), self.total).items():
                        fields[name] += counted
            stats["fields"] = {name: _used_levels(counted) for name, counted in fields.items()}
        if self.reference is not None:  # the rows the local run bins (by file position: batch.psi_bins)
            bins = np.zeros((LEVELS, self.reference[1].size), dtype=np.int64)
            for lo, hi in zip(np.r_[0, breaks], np.r_[breaks, n], strict=True):
                if hi > lo:
                    bins += psi_bins(self.reference[0], self.reference[1].size, score[lo:hi], int(rows[lo]),
                                     self.total)
            stats["bins"] = _used_levels(bins)
        columns[_STATS] = pa.array([json.dumps(stats)] + [None] * (n - 1), type=pa.string()) if n else \
            pa.array([], type=pa.string())
        return pa.table(columns)


def _used_levels(counts: np.ndarray) -> dict[str, list[int]]:
    """A block's counts per level and bin (stability.level_counts) as JSON: the levels it
    counted rows of, by number (a block's rows fill a few of the 40)."""
    return {str(level): [int(c) for c in counts[level]] for level in np.flatnonzero(counts.any(axis=1)).tolist()}


def _from_levels(record: dict[str, list[int]] | None, size: int) -> np.ndarray | None:
    """A block's :func:`_used_levels` record as counts per level and bin (``size`` bins)."""
    if record is None:
        return None
    out = np.zeros((LEVELS, size), dtype=np.int64)
    for level, counts in record.items():
        out[int(level)] = counts
    return out


def _finlite_cause(exc: BaseException) -> FinliteError | None:
    """The finlite error a worker raised, unwrapped from Ray's RayTaskError (whose text is a traceback)."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        e = todo.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, FinliteError) and not type(e).__module__.startswith("ray"):
            return e
        todo += [e.__cause__, e.__context__, getattr(e, "cause", None)]
    return None


# -- the run ---------------------------------------------------------------------------------------

@dataclass
class RayScoreSummary(ScoreSummary):
    """What a Ray run did: a :class:`ScoreSummary` plus the number of actors used."""

    workers: int

    def to_dict(self) -> dict[str, Any]:
        """The run as JSON-ready values, with the engine and its actors."""
        return {**super().to_dict(), "engine": "ray", "workers": self.workers}

    @property
    def cutoff(self) -> float | None:
        """The decision cut-off the run scored at (its provenance's), as the local run's line says it."""
        value = (self.provenance or {}).get("cutoff")
        return float(value) if isinstance(value, (int, float)) else None


def _parquet_schema(src: Path) -> Any:
    import pyarrow.parquet as pq

    return pq.read_schema(src)


def _file_columns(src: Path, kind: str) -> list[str]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        if kind == "parquet":
            return list(pq.read_schema(src).names)
        return csv_header(src)
    except (pa.ArrowInvalid, OSError) as exc:
        # The file's fault told as the local run tells it (what the file holds, a first line too long …).
        if kind == "parquet":
            other = not_parquet(src)
            where = f": {other}" if other else ""
        else:
            where = _csv_where(src, exc)
        raise DataError(f"Cannot read {str(src)!r} as {'Parquet' if kind == 'parquet' else 'CSV'} ({exc}){where}; "
                        "check the file.") from exc


def score_file_ray(artifact: str | os.PathLike[str], source: str | os.PathLike[str],
                   out: str | os.PathLike[str], *, id_columns: Sequence[str] = (), chunk_rows: int = 65536,
                   variant: str = "fp32", address: str | None = None, workers: int | None = None,
                   verify_key: Any = None, manifest_sha256: str | None = None, overwrite: bool = False,
                   progress: bool = False, reasons: int = 0,
                   reason_codes: ReasonCodes | str | os.PathLike[str] | None = None,
                   flags: bool = False, no_impute: bool = False,
                   limits: ScoreLimits | None = None) -> RayScoreSummary:
    """Score every row of a CSV or Parquet file on Ray and write ids, ``score`` and ``decision``.

    The output equals :func:`finlite.runtime.batch.score_file`'s, row for row: same columns,
    same order, same float32 scores. ``workers`` is the number of scoring actors (one core and
    one Predictor each; default: every CPU of the cluster). Without ``address`` a local Ray is
    started with the cores available and shut down afterwards; with one, this process joins
    that cluster, whose nodes must see the artifact and the input at the same paths. ``flags``
    adds the local run's flag columns (:data:`finlite.runtime.batch.FLAG_COLUMNS`), equal to them;
    ``no_impute`` refuses a blank training never saw, as ``Predictor(no_impute=True)`` does locally;
    ``limits`` (:class:`~finlite.runtime.batch.ScoreLimits`) must hold for the output to be written.

    Raises:
        ConfigError: Ray is not installed, the cluster cannot be reached, ``workers`` is out of
            range, or ``out`` is an input.
        ArtifactError: the artifact is not exported, altered, or not signed by ``verify_key``.
        DataError: the input is missing, unreadable, lacks a column, or holds a bad value (named
            by column, file row and value); the output exists and ``overwrite`` is false.
        ScoreError: the model returned a non-finite score for some row. Nothing is written on
            any failure.
    """
    check_flags("score_file_ray", overwrite=overwrite, progress=progress)
    from finlite._manifest import trusted_key
    from finlite.runtime.predictor import Predictor
    from finlite.signing import load_public_key

    ray = require_ray()
    src, dst = Path(source), Path(out)
    check_input_file(src)
    _paths.check_not_input(dst, {"input file": src, "artifact": artifact, "reason-codes file": codes_file(reason_codes)},
                           "out")
    _paths.check_replaceable_file(dst, overwrite=overwrite, option="out")
    _paths.check_writable_file(dst, "out")
    _paths.clean_file_leftovers(dst.parent, dst.name)
    chunk_rows = _limits.check_count(chunk_rows, "chunk_rows", low=1)
    if workers is not None:
        workers = _limits.check_count(workers, "workers", low=1, high=100_000)
    in_kind, out_kind = _kind(src, "Input file"), _kind(dst, "Output file")

    # The driver verifies first (a bad artifact or key fails before any cluster work), then pins
    # the actors to the manifest it verified and hands them the same trusted key.
    trusted = trusted_key(verify_key)
    key = load_public_key(trusted[0]) if trusted is not None else None
    local = Predictor(Path(artifact), variant=variant, threads=1, verify_key=key if key is not None else False,
                      manifest_sha256=manifest_sha256, no_impute=no_impute)
    key_pem = None
    if key is not None:
        from cryptography.hazmat.primitives import serialization

        key_pem = key.public_bytes(serialization.Encoding.PEM,
                                   serialization.PublicFormat.SubjectPublicKeyInfo).decode("ascii")
    pin = str(local.manifest["manifest_sha256"])
    if local.market is not None:
        # Each forecast reads its asset's previous rows in date order; Ray's blocks split the file
        # anywhere. A price file is small next to a loan book: score it on this machine.
        raise ConfigError(f"{artifact} is a market forecaster: each forecast reads the rows before it in date order, "
                          "which Ray's blocks of the file would split. Score the price file with the local engine; one "
                          "process forecasts every date of the S&P 500 in well under a second.",
                          param="engine")

    fields = local.fields
    reasons = _limits.check_count(reasons, "reasons", low=0, high=64, fix="Four is the US adverse-action practice.")
    codes = reasons_setup(local, reasons, reason_codes)
    k = reason_columns(local, reasons, codes)  # refuses an artifact without a reference
    reason_names = [f"reason_{j + 1}" for j in range(k)] + ([INCOMPLETE_COLUMN] if k else [])
    flag_names = list(FLAG_COLUMNS.values()) if flags else []
    point_names = [POINTS_COLUMN] if local.points_scale is not None else []
    ids = list(dict.fromkeys(id_columns))
    _check_ids(ids, ("score", "decision", *point_names, *reason_names, *flag_names, _ROW))
    names = _file_columns(src, in_kind)
    _check_columns(src, names, fields, ids)
    columns = [c for c in names if c in set(fields) | set(ids)]
    dictionary = [c for c in local.encoder.category_fields if c in names]
    total = None
    if in_kind == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        parquet = pq.ParquetFile(src)
        total = parquet.metadata.num_rows
        # Before any block is read, as locally; each block is checked as it is read.
        check_parquet_size(Path(src), columns)
        # A nested column cannot be read dictionary-encoded; the encoder refuses it by name.
        schema = parquet.schema_arrow
        dictionary = [c for c in dictionary if not pa.types.is_nested(schema.field(c).type)]
    origin = provenance(local, src, k, codes, flags)
    reference = _reference_bins(local)
    feature_bins = _feature_bins(local)
    # A stored pandas index is no column training had or lacked (it read it as the index).
    index = stored_index_columns(_parquet_schema(src)) if in_kind == "parquet" else set()
    gate_notes = _gate_notes(local) + masked_protected_notes(local, codes) + _floor_notes(local, k) \
        + new_columns_notes(local, str(src), [c for c in names if c not in index], ids)
    manifest = local.manifest  # the operating point's flag rate, for the run's decision-rate note
    learned = learned_blanks(local.encoder)  # fields whose blanks training learned: no lost feed
    imported = imported_booster(local)  # an imported booster's blanks elsewhere are scored unlike it
    decides = local.decision_cutoff is not None  # --max-flag-share reads its decisions
    if limits is not None and limits.max_flag_share is not None and not decides:
        raise ConfigError(f"--max-flag-share limits the share of rows decided 1; {local.path} is a {local.task} model, "
                          "which decides nothing. Drop it.", param="max_flag_share")
    # The reasons' values about the loan, not the applicant: told apart from the protected ones.
    protected = protected_values(local, codes) if k else []
    others = [v for v in not_the_applicant_values(local, codes) if v not in protected] if k else []
    unlisted = local.encoder.rare_unlisted  # rare training values the artifact does not list count as unseen
    rangeless = rangeless_fields(local.encoder)  # no range recorded: --max-outside-share cannot be judged on them
    keyless = local.encoder.keyless
    blank_protected = sorted(local.protected_fields) if k else []  # said apart from the incomplete column
    del local

    # The temporary output first, then Ray: a Ray this call started is always shut down by the
    # finally below, and a failed start (ConfigError) leaves no temporary file behind.
    writer = _Writer(dst, out_kind, origin, overwrite=overwrite)
    digest: InputDigest | None = None
    try:
        digest = InputDigest(src)  # on the driver, beside the cluster's reading
        owned = connect(address)
    except BaseException:
        if digest is not None:
            digest.close()
        writer.abort()
        raise
    bar = None
    start = time.perf_counter()
    rows = positives = 0
    counts = RunCounts(reference, codes, feature_bins, stale_export=feature_bins is None, total=total,
                       others=others, unlisted=unlisted,
                       rangeless=rangeless, keyless=keyless, imported=imported, learned=learned,
                       protected=blank_protected)
    psi = None
    batches: Any = None
    ds = scored = None
    # Ray Data's advice to raise the concurrency of a run with fewer blocks than actors is noise
    # on a scoring run's stderr (note 69's "Ray noise"): kept off while the run lasts.
    hushed = contextlib.ExitStack()
    hushed.enter_context(warnings.catch_warnings())
    warnings.filterwarnings("ignore", message=r"The minimum number of concurrent actors", category=UserWarning)
    try:
        from ray.data import DataContext

        cpus = ready_cluster(ray, address, owned)  # no CPU: no actor would ever be placed, the run waited for ever
        # One CPU per actor: more than the cluster has would not run, yet were reported as run.
        size = min(workers or cpus, cpus)
        if workers is not None and workers > cpus:
            have = f"{cpus:,} CPU" + ("s" if cpus > 1 else "")
            gate_notes = [*gate_notes, f"--workers {workers:,} asked for more actors than the cluster's {have}; "
                                       f"{cpus:,} scored (one CPU each)."]
        context = DataContext.get_current()
        context.execution_options.preserve_order = True  # the output keeps the input's row order
        # A worker's DataError reaches the driver as itself (Ray's RayTaskError subclasses it),
        # not as a UserCodeException that keeps only its traceback text.
        context.raise_original_map_exception = True
        context.enable_progress_bars = progress
        if not progress:
            # Ray Data's log lines (the plan, "execution finished", a worker's error with its
            # traceback) are noise here: a failure is raised below as finlite's own error.
            logging.getLogger("ray.data").setLevel(logging.CRITICAL)
        # Read tasks take no CPU slot: the actors hold every core, and reading (Arrow's threads,
        # I/O) overlaps with scoring, as the local run's reader thread does.
        # One block per read task as this module cuts them (Parquet row groups of about
        # --chunk-rows rows): Ray Data would otherwise split them into smaller blocks, each
        # paying the per-block cost of a hand-off between processes.
        tasks = len(_parquet_pieces(src, chunk_rows)) if in_kind == "parquet" else 1
        # At most one read task per two actors at a time: reading a block costs less than
        # encoding and scoring it, and zero-CPU tasks would otherwise start a process each.
        # The path as this process finds it: a relative one was opened in the workers' folder on a
        # cluster, which could hold another file of that name (scored without a word: a review).
        ds = ray.data.read_datasource(_datasource(src.absolute(), in_kind, columns, dictionary, chunk_rows, ids, fields),
                                      num_cpus=0,
                                      override_num_blocks=tasks, concurrency=max(1, (size + 1) // 2))
        scored = ds.map_batches(
            _Scorer, batch_format="pyarrow", batch_size=None, num_cpus=1,
            compute=ray.data.ActorPoolStrategy(size=size),
            fn_constructor_kwargs={"artifact": str(Path(artifact).resolve()), "variant": variant,
                                   "key_pem": key_pem, "manifest_sha256": pin, "source": str(src), "ids": ids,
                                   "reasons": k, "codes": codes, "total": total, "flags": flags,
                                   "no_impute": no_impute, "code": driver_code()})
        if progress:
            from tqdm import tqdm

            from finlite._util import terminal_safe

            bar = tqdm(total=total, unit="rows", unit_scale=True, desc=terminal_safe(f"scoring {src.name} on Ray"),
                       leave=True)
        batches = iter(scored.iter_batches(batch_format="pyarrow", batch_size=None, prefetch_batches=2))
        for table in batches:
            if _ERROR in table.column_names:
                _raise_error_block(table)
            numbers = table.column(_ROW).to_numpy()
            n = len(numbers)
            # Every row exactly once, in file order: anything else would be a silent gap or swap.
            if n and (numbers[0] != rows + 1 or numbers[-1] != rows + n or (np.diff(numbers) != 1).any()):
                raise DataError(f"Ray returned rows of {str(src)!r} out of order (expected row {rows + 1}, got "
                                f"{int(numbers[0])}); nothing was written. Score it again.")
            for text in table.column(_STATS).drop_null().to_pylist():
                stats = json.loads(text)
                fields = stats.get("fields")
                counts.add(stats["unseen"],
                           None if counts.binned is None else _from_levels(stats.get("bins"), counts.binned.shape[1]),
                           stats["cited"], stats["unexplained"],
                           None if fields is None or counts.field_counts is None else
                           {name: _from_levels(record, counts.field_counts[name].shape[1])
                            for name, record in fields.items()},
                           stats.get("imputed"), rows=stats["rows"], unseen_empty=stats.get("unseen_empty"),
                           outside=stats.get("outside"), incomplete=stats.get("incomplete", 0))
            table = table.drop_columns([_ROW, _STATS])
            if n or not writer.tables:  # the first block, even empty, gives the output its columns
                writer.write(table)
            rows += n
            positives += int(np.asarray(table.column("decision")).sum()) if n else 0
            if bar is not None:
                bar.update(n)
        if not writer.tables:  # no block at all: still a valid, empty file with the header
            import pyarrow as pa

            writer.write(pa.table({**{c: pa.array([], pa.string()) for c in ids},
                                   "score": pa.array([], pa.float32()), "decision": pa.array([], pa.int8()),
                                   **{c: pa.array([], pa.int32()) for c in point_names},
                                   **{c: pa.array([], pa.string()) for c in (*reason_names, *flag_names)}}))
        if total is not None and rows != total:
            raise DataError(f"Ray returned {rows:,} of the {total:,} rows of {str(src)!r}; nothing was written. "
                            "Score it again.")
        psi = counts.psi()
        if limits is not None and limits.any():  # as the local run: beyond them, nothing is written
            breached = limits.breaches(rows, psi, counts.csi(), counts.imputed, counts.unseen_empty, counts.outside,
                                       learned, positives=positives if decides else None, rangeless=rangeless,
                                       unseen=counts.unseen, keyless=keyless, unlisted=counts.unlisted)
            if breached:
                raise limits_refusal(breached, str(src))
        # never empty here: a header-only table was written above
        input_sha256 = digest.result()
        writer.commit(None, run_record(rows, positives, psi, counts.unseen, counts.csi(), counts.imputed,
                                       counts.unseen_empty, counts.outside, input_sha256=input_sha256))
    except BaseException as exc:
        digest.close()
        writer.abort()
        cause = _finlite_cause(exc)
        if cause is not None and cause is not exc:
            raise cause from None
        raise
    finally:
        hushed.close()
        if bar is not None:
            bar.close()
        if batches is not None and hasattr(batches, "close"):
            # Stop the execution now (a generator's close): its actors would otherwise hold their
            # CPUs for as long as anything, such as a caller's traceback, refers to this frame.
            batches.close()
        ds = scored = batches = None
        if owned:
            with keep_signal_handlers():
                ray.shutdown()
    return RayScoreSummary(rows, time.perf_counter() - start, positives, dst, size, csi=counts.csi(),
                           notes=gate_notes + flag_rate_notes(manifest, rows, positives)
                           + counts.notes(rows, positives, psi), unseen=counts.unseen, psi=psi,
                           provenance=origin, imputed=counts.imputed, unseen_empty=counts.unseen_empty,
                           outside=counts.outside, input_sha256=input_sha256)
