"""Reading, verifying and amending an artifact's manifest without torch.

Both :mod:`finlite.artifact` (which rebuilds the torch model) and :mod:`finlite.runtime`
(which never imports torch) open artifacts through :func:`read_verified`, so the two check
hashes the same way.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import shutil
import stat
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

from finlite._spec import _F32_MAX, finite_number  # a reasons reference is a float32 model input
from finlite._util import dump_json, sha256_file, strict_json_loads
from finlite.errors import ArtifactError, ConfigError

__all__ = [
    "FORMAT",
    "MANIFEST",
    "SIGNATURE",
    "WEIGHTS_FORMATS",
    "amend_artifact",
    "check_manifest",
    "import_step",
    "manifest_digest",
    "read_listed",
    "read_member",
    "read_verified",
    "refuse_working_folder",
    "verify_artifact",
]

FORMAT = "finlite.artifact/1"
#: The forms of weights.safetensors an artifact may record as ``weights_format`` (the last is the
#: one written now; see finlite.models.serialize.WEIGHTS_FORMAT).
WEIGHTS_FORMATS = (1, 2)
MANIFEST = "manifest.json"
#: The task of a manifest that records none; it decides, so its manifest must hold a cut-off.
DECIDING_DEFAULT_TASK = "binary"


def manifest_digest(manifest: Mapping[str, Any], own: str = "manifest_sha256") -> str:
    """sha256 of the manifest's canonical JSON without its own digest field ``own`` (a refused
    run's record digests itself by the same rule, without ``record_sha256``)."""
    body = {k: v for k, v in manifest.items() if k != own}
    return hashlib.sha256(json.dumps(body, sort_keys=True, allow_nan=False).encode()).hexdigest()


# -- confinement: what an artifact folder may hold, and how big -------------------------------
# A file name in the manifest is a plain name inside the artifact folder: no separators, no
# '..', nothing absolute, no hidden names. Anything else could make a reader open a file
# outside the folder.
_PLAIN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}\Z")
_HEX64 = re.compile(r"[0-9a-f]{64}\Z")
#: A model kind as finlite's registry names them ("mlp", "gbdt", "sequence" …).
_KIND = re.compile(r"[a-z][a-z0-9_]{0,39}\Z")

#: The most inputs or units a layer of a model finlite writes can have: far above any encoding
#: budget, far below what would make a reader allocate gigabytes from a forged number.
MAX_LAYER_WIDTH = 1 << 20
#: The signature written by ``finlite sign``; like the manifest, it is not listed in the manifest.
SIGNATURE = "signature.json"
#: The files ``finlite export`` writes; an export record may point at these and nothing else.
EXPORT_FILES = ("model.onnx", "model_int8.onnx")
#: Caps checked (from the file's size) before anything is read or hashed. The weights of the
#: largest finlite model are a few MiB; the caps only stop a planted file from costing hours.
MAX_MANIFEST_BYTES = 16 << 20
MAX_FILE_BYTES = 4 << 30
#: A member that is parsed whole (JSON, YAML) becomes Python objects of a few times its size, in
#: every process that loads it: far less is allowed than for weights. SBA's preprocessor.json is
#: about 0.3 MB from 20,000 rows; a pruning plan may be larger (its own cap). Members not parsed
#: on load (report.html, MODEL_CARD.md, flips.csv, which grows with the flipped rows; a report's
#: re-rendering copies them as text) keep the weights' cap.
MAX_TEXT_FILE_BYTES = 64 << 20
MAX_PLAN_FILE_BYTES = 256 << 20
_TEXT_SUFFIXES = (".json", ".yaml", ".yml")
MAX_TOTAL_BYTES = 8 << 30
MAX_FILES = 256
#: Environment variable naming a trusted public key (PEM) used when no key is passed.
VERIFY_KEY_ENV = "FINLITE_VERIFY_KEY"

# O_NOFOLLOW refuses a symlink at open time (no window between a check and the open);
# O_NONBLOCK keeps a planted FIFO from blocking the open (no effect on regular files).
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
_DIR_FD = os.open in os.supports_dir_fd and hasattr(os, "O_DIRECTORY")


def plain_file_name(name: Any) -> bool:
    """A name a manifest may list: letters, digits, '.', '_', '-', no '..', not hidden, at most 128."""
    return isinstance(name, str) and bool(_PLAIN_NAME.match(name)) and ".." not in name


def _fmt_bytes(n: int) -> str:
    return f"{n / (1 << 30):.1f} GiB" if n >= 1 << 30 else f"{n / (1 << 20):.1f} MiB" if n >= 1 << 20 else f"{n:,} bytes"


def open_member(root: Path, name: str, cap: int, dir_fd: int | None = None) -> tuple[int, int]:
    """Open the file ``name`` directly inside ``root`` for reading: (descriptor, size).

    Refuses a symbolic link (``O_NOFOLLOW``, so nothing can be swapped in between a check and
    the open), anything but a regular file (checked with ``fstat`` on the open descriptor),
    and a file over ``cap`` bytes, before a byte is read.

    Raises:
        FileNotFoundError: there is no such file (the caller words the message).
        ArtifactError: a link, a folder or special file, too large, or unreadable.
    """
    where = root / name
    try:
        fd = os.open(name, _OPEN_FLAGS, dir_fd=dir_fd) if dir_fd is not None else os.open(where, _OPEN_FLAGS)
    except FileNotFoundError:
        raise
    except OSError as exc:
        if exc.errno == errno.ELOOP or where.is_symlink():
            raise ArtifactError(f"Artifact file {str(where)!r} is a symbolic link; finlite reads only regular files "
                                "inside the artifact folder, so a link cannot make it read a file from elsewhere. "
                                "Replace the link with the file itself (or re-create the artifact).") from None
        raise ArtifactError(f"Artifact file {str(where)!r} cannot be opened ({exc.strerror or exc}); check it and "
                            "its permissions.") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = "a folder" if stat.S_ISDIR(info.st_mode) else "not a regular file"
            raise ArtifactError(f"Artifact file {str(where)!r} is {kind}; an artifact holds only the regular files "
                                "its manifest lists. Remove it or re-create the artifact.")
        if info.st_size > cap:
            raise ArtifactError(f"Artifact file {str(where)!r} is {_fmt_bytes(info.st_size)}, over the "
                                f"{_fmt_bytes(cap)} finlite accepts for it; it was not read. A finlite artifact's "
                                "files are far smaller: this one was replaced or padded. Re-create the artifact.")
    except BaseException:
        os.close(fd)
        raise
    return fd, info.st_size


def read_member(root: Path, name: str, cap: int, dir_fd: int | None = None) -> bytes:
    """The bytes of ``name`` inside ``root``, opened as :func:`open_member` does (at most ``cap``)."""
    from finlite._paths import read_bounded

    fd, size = open_member(root, name, cap, dir_fd)
    with os.fdopen(fd, "rb") as fh:
        data = read_bounded(fh, size, cap)
    if len(data) > cap:  # it grew after fstat
        raise ArtifactError(f"Artifact file {str(root / name)!r} grew past {_fmt_bytes(cap)} while being read; "
                            "something is writing the artifact folder. Try again when it is finished.")
    return data


def read_listed(root: Path, manifest: Mapping[str, Any], name: str) -> bytes:
    """The bytes of a file the (verified) manifest lists, checked against its sha256 once more.

    For readers that use a file after :func:`read_verified`: what they parse is exactly what
    was hashed, even if the folder is written to in between.

    Raises:
        ArtifactError: not listed, a link, too large, missing or different from the manifest.
    """
    expected = manifest["files"].get(name)
    if expected is None:
        raise ArtifactError(f"The manifest of {str(root)!r} does not list {name}; the artifact is incomplete.")
    try:
        data = read_member(root, name, member_cap(name))
    except FileNotFoundError:
        raise ArtifactError(f"Artifact file {str(root / name)!r} listed in the manifest is missing.") from None
    actual = hashlib.sha256(data).hexdigest()
    if actual != expected:
        raise ArtifactError(f"Artifact file {str(root / name)!r} has sha256 {actual[:16]}…, but the manifest "
                            f"records {expected[:16]}…; it was altered after saving. Refusing to load it.")
    return data


def _hash_member(root: Path, name: str, dir_fd: int | None, cap: int) -> str:
    fd, _ = open_member(root, name, cap, dir_fd)
    digest, seen = hashlib.sha256(), 0
    with os.fdopen(fd, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            seen += len(chunk)
            if seen > cap:
                raise ArtifactError(f"Artifact file {str(root / name)!r} grew past {_fmt_bytes(cap)} while being "
                                    "hashed; something is writing the artifact folder.")
            digest.update(chunk)
    return digest.hexdigest()


def parse_json_bytes(data: bytes, where: str, what: str) -> Any:
    """Strict JSON from bytes: UTF-8 only, no NaN/Infinity, no duplicate keys, bounded nesting.

    Raises:
        ArtifactError: naming ``where`` and what is wrong with it.
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ArtifactError(f"{where!r} is not UTF-8 text (byte {exc.start} is {data[exc.start:exc.start + 1]!r}); "
                            f"it is not a finlite {what}: the artifact is damaged or was replaced. "
                            "Re-create the artifact.") from None
    try:
        return strict_json_loads(text)
    except RecursionError:
        raise ArtifactError(f"{where!r} nests JSON too deeply to be a finlite {what}; re-create the artifact.") from None
    except ValueError as exc:  # JSONDecodeError is a ValueError, as are the hooks' refusals
        raise ArtifactError(f"{where!r} is not valid JSON ({exc}); it is not a finlite {what}: the artifact is "
                            "damaged or was edited. Re-create the artifact.") from None


def member_cap(name: str) -> int:
    """The most bytes an artifact member may hold: :data:`MAX_TEXT_FILE_BYTES` for JSON and YAML,
    which are parsed whole (:data:`MAX_PLAN_FILE_BYTES` for the pruning plan), :data:`MAX_FILE_BYTES`
    else."""
    if name.lower().endswith(_TEXT_SUFFIXES):
        return min(MAX_FILE_BYTES, MAX_PLAN_FILE_BYTES if name == "pruning_plan.json" else MAX_TEXT_FILE_BYTES)
    return MAX_FILE_BYTES


def check_manifest(manifest: Any, where: str) -> dict[str, Any]:
    """Check the manifest's shape, so no consumer can crash on (or be misled by) a forged field.

    ``files`` is a mapping of plain names to 64-hex sha256 values, ``cutoff`` a finite number
    in (0, 1) (or null for a manifest naming a task other than binary: a forecast decides
    nothing; the readers refuse a missing cut-off for a task that decides), the fields the commands print have their types, and an ``export`` record names
    only ``model.onnx`` or ``model_int8.onnx`` and only when the manifest lists it.

    Raises:
        ArtifactError: naming the field and its value.
    """
    def bad(field: str, why: str) -> ArtifactError:
        return ArtifactError(f"{where!r} field {field} {why}; the manifest is damaged or forged. "
                             "Re-create the artifact (or ask its publisher for an intact copy).")

    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ArtifactError(f"{where!r} is not a {FORMAT} manifest.")
    if manifest.get("manifest_sha256") != manifest_digest(manifest):
        raise ArtifactError(f"{where!r} was modified after the artifact was saved (its digest does "
                            "not match); re-create the artifact instead of editing it.")
    files = manifest.get("files")
    if not isinstance(files, dict) or not files:
        raise bad("'files'", "is not a non-empty mapping of file name to sha256")
    if len(files) > MAX_FILES:
        raise bad("'files'", f"lists {len(files)} files, more than the {MAX_FILES} finlite accepts")
    for name, digest in files.items():
        if name in (MANIFEST, SIGNATURE) or not plain_file_name(name):
            raise bad("'files'", f"names {name!r}, which is not a plain file name inside the artifact folder "
                      "(letters, digits, '.', '_', '-'; no path separators, no '..', not absolute, not hidden)")
        if not isinstance(digest, str) or not _HEX64.match(digest):
            raise bad(f"'files.{name}'", f"is {digest!r}, not a sha256 (64 lower-case hex digits)")
    cutoff = manifest.get("cutoff")
    task = manifest.get("task")
    # A model that makes no decisions (a forecast) records no cut-off. Which tasks decide is
    # finlite.tasks' knowledge, a layer above this one: here a missing cut-off is accepted only
    # for a manifest that names a task other than the default binary one, and the readers
    # (artifact.load, the Predictor) refuse it for a task that decides.
    undecided = cutoff is None and isinstance(task, str) and task not in ("", DECIDING_DEFAULT_TASK)
    if not undecided and (not finite_number(cutoff) or not 0 < cutoff < 1):
        raise bad("'cutoff'", f"is {cutoff!r}, not a finite number between 0 and 1")
    if task is not None and not isinstance(task, str):
        raise bad("'task'", f"is a {type(task).__name__}, not text")
    for field in ("model", "schema"):  # every artifact finlite writes has both; every reader reads them
        if field not in manifest:
            raise bad(f"{field!r}", "is missing")
    for field, kind in (("role", str), ("model", dict), ("schema", dict), ("data", dict), ("metrics", dict),
                        ("steps", list)):
        if field in manifest and not isinstance(manifest[field], kind):
            raise bad(f"{field!r}", f"is a {type(manifest[field]).__name__}, not a {kind.__name__}")
    _check_model_and_schema(manifest["model"], manifest["schema"], undecided, bad)
    data = manifest.get("data")
    if isinstance(data, dict):
        # What evaluate, export and reproduce read to find the training table and rebuild its split.
        digest = data.get("content_sha256")
        if not isinstance(digest, str) or not _HEX64.match(digest):
            raise bad("'data.content_sha256'", f"is {digest!r:.80}, not a sha256 (64 lower-case hex digits)")
        split = data.get("split")
        if not isinstance(split, dict) or not isinstance(split.get("config"), dict):
            raise bad("'data.split.config'", "is missing or not an object (the settings that split the training "
                      "table)")
    for i, step in enumerate(manifest.get("steps", [])):
        if not isinstance(step, dict):
            raise bad("'steps'", "holds an entry that is not an object")
        for key in ("step", "method", "status"):
            if step.get(key) is not None and not isinstance(step[key], str):
                raise bad(f"'steps[{i}].{key}'", f"is a {type(step[key]).__name__}, not text")
        _check_gates(step.get("gates", []), f"'steps[{i}].gates'", bad)
    metrics = manifest.get("metrics", {})
    if isinstance(metrics, dict):
        _check_gates(metrics.get("gates", []), "'metrics.gates'", bad)
        test = metrics.get("test", {})
        if not isinstance(test, dict):
            raise bad("'metrics.test'", f"is a {type(test).__name__}, not an object")
        # The numbers inspect prints and serve's /metadata reports: a number, or null where a metric
        # was undefined (a class absent from the split: a direction forecaster's test period that
        # only rose has no AUC or KS).
        for key in ("auc", "ks", *_NUMERIC_TEST_METRICS):
            if test.get(key) is not None and not finite_number(test[key]):
                raise bad(f"'metrics.test.{key}'", f"is {test[key]!r:.40}, not a finite number (or null)")
        # Counts and shares within what they can be: /metadata reported "rows": -5 as it was.
        for key in _COUNT_TEST_METRICS:
            if test.get(key) is not None and not _count(test[key]):
                raise bad(f"'metrics.test.{key}'", f"is {test[key]!r:.40}, not a whole number of at least 0")
        for key, (low, high) in _BOUNDED_TEST_METRICS.items():
            if test.get(key) is not None and not low <= test[key] <= high:
                raise bad(f"'metrics.test.{key}'", f"is {test[key]!r:.40}, outside {low:g} to {high:g}")
    if isinstance(data, dict):
        _check_data_counts(data, bad)
    if isinstance(metrics, dict):
        _check_forecast_metrics(metrics.get("forecast"), bad)
    sparse = manifest.get("sparse_tensors")
    if sparse is not None and (not isinstance(sparse, dict) or not all(
            isinstance(k, str) and _count(v) for k, v in sparse.items())):
        raise bad("'sparse_tensors'", "is not an object of tensor name to a whole number of stored values")
    weights = manifest.get("weights_format")  # how weights.safetensors chose each tensor's form
    if weights is not None and (type(weights) is not int or weights not in WEIGHTS_FORMATS):
        raise bad("'weights_format'", f"is {weights!r:.40}, not one of {WEIGHTS_FORMATS} (a newer finlite's "
                  "artifact, or altered)")
    seed = manifest.get("seed")
    if seed is not None and (not _count(seed) or seed > 2**32 - 1):  # what reproduce and the report reuse
        raise bad("'seed'", f"is {seed!r:.40}, not a whole number from 0 to {2**32 - 1}")
    versions = manifest.get("versions", {})
    if not isinstance(versions, dict) or not all(isinstance(v, str) for v in versions.values()):
        raise bad("'versions'", "is not an object of package name to version text")
    point = manifest.get("operating_point")
    if point is not None:
        if not isinstance(point, dict) or not isinstance(point.get("method", ""), str):
            raise bad("'operating_point'", "is not an object with a text 'method'")
        for key in ("cutoff", "flag_rate", "flagged_train"):
            value = point.get(key)
            if value is not None and (not finite_number(value) or not 0 <= value <= 1):
                raise bad(f"'operating_point.{key}'", f"is {value!r:.40}, not a number from 0 to 1")
        # save_artifact writes one cut-off in both places; two that differ leave it to chance which
        # one a reader decides at (score and serve read 'cutoff', the report the operating point).
        if point.get("cutoff") is not None and cutoff is not None and point["cutoff"] != cutoff:
            raise bad("'cutoff'", f"is {cutoff!r:.40}, but 'operating_point.cutoff' is {point['cutoff']!r:.40}; "
                      "finlite writes one cut-off in both")
    export = manifest.get("export")
    if export is not None:
        if not isinstance(export, dict):
            raise bad("'export'", "is not an object")
        for key in ("onnx", "onnx_int8"):
            record = export.get(key)
            if record is None:
                continue
            if not isinstance(record, dict):
                raise bad(f"'export.{key}'", "is not an object")
            allowed = ("model.onnx",) if key == "onnx" else EXPORT_FILES
            target = record.get("file", record.get("same_as"))
            if target not in allowed:
                raise bad(f"'export.{key}'", f"points at {target!r}; an export record may only name "
                          + " or ".join(repr(a) for a in allowed))
            if target not in files:
                raise bad(f"'export.{key}'", f"points at {target!r}, which the manifest does not list (so its "
                          "sha256 is not checked)")
            parity = record.get("parity")
            if parity is not None and (not isinstance(parity, dict) or not finite_number(parity.get("tolerance", 0.0))
                                       or not finite_number(parity.get("max_abs_diff", 0.0))
                                       or not _count(parity.get("flips", 0))):
                raise bad(f"'export.{key}.parity'", "is not an object with finite tolerance and max_abs_diff (and a "
                          "whole number of flips)")
            # The counts evaluate compares against (check_served_model): whole numbers, never text.
            against = record.get("against_float")
            if key == "onnx_int8" and "file" in record and against is None:  # export always measures it
                raise bad(f"'export.{key}.against_float'", "is missing, so the int8 model cannot be checked "
                          "against the float model")
            if (parity is not None and not _count(parity.get("max_flips", 0))) or (against is not None and (
                    not isinstance(against, dict) or not finite_number(against.get("max_abs_diff"))
                    or not _count(against.get("flips")))):
                raise bad(f"'export.{key}'", "holds a parity record whose max_flips, max_abs_diff or flips is not "
                          "a finite number (a non-negative whole number for counts)")
        reasons = export.get("reasons")
        if reasons is not None and (
                not isinstance(reasons, dict) or not isinstance(reasons.get("method"), str)
                or not isinstance(reasons.get("reference"), list) or not reasons["reference"]
                or not all(finite_number(v) and abs(v) <= _F32_MAX for v in reasons["reference"])
                or not _count(reasons.get("rows"))
                or ("offsets" in reasons and (not isinstance(reasons["offsets"], dict)
                                              or not all(finite_number(v) for v in reasons["offsets"].values())
                                              or not _count(reasons.get("offset_rows"))))
                or ("min_share" in reasons and not (finite_number(reasons["min_share"])
                                                    and 0 <= reasons["min_share"] < 1))):
            raise bad("'export.reasons'", "is not an object with a method, a non-empty list of reference numbers within "
                      "float32's range, "
                      "a whole number of rows, (for a scorecard) finite offsets per field and a share below 1 "
                      "(min_share)")
    # The served model is listed with the record of its parity check; listed without one, evaluate
    # would skip checking it against the weights while score and serve still read it. (An int8
    # file without a record, left by an 'export --int8' before a plain export removed it again, is
    # never read without one, so it is no risk; export no longer leaves one.)
    recorded = ({r.get("file", r.get("same_as")) for r in export.values() if isinstance(r, dict)}
                if isinstance(export, dict) else set())
    if "model.onnx" in files and "model.onnx" not in recorded:
        raise bad("'export'", "has no record of model.onnx, which 'files' lists (the served model is listed with its "
                  "parity check)")
    return manifest


def _check_model_and_schema(model: Mapping[str, Any], schema: Mapping[str, Any], undecided: bool, bad: Any) -> None:
    """The fields of ``model`` and ``schema`` that the readers use (score, serve's /metadata, the
    Predictor, inspect) before anything checks them against the model files."""
    kind = model.get("kind")
    if not isinstance(kind, str) or not _KIND.match(kind):
        raise bad("'model.kind'", f"is {kind!r:.60}, not a model kind (lower-case letters, digits and '_')")
    width = model.get("in_features")
    if width is not None and (not _count(width) or not 1 <= width <= MAX_LAYER_WIDTH):
        raise bad("'model.in_features'", f"is {width!r:.40}, not a whole number from 1 to {MAX_LAYER_WIDTH:,}")
    hidden = model.get("hidden")
    if hidden is not None and (not isinstance(hidden, list) or len(hidden) > 64 or not all(
            _count(h) and 1 <= h <= MAX_LAYER_WIDTH for h in hidden)):
        raise bad("'model.hidden'", f"is {hidden!r:.60}, not a list of layer widths (whole numbers from 1 to "
                  f"{MAX_LAYER_WIDTH:,})")
    if not isinstance(schema.get("target"), str):
        raise bad("'schema.target'", "is missing or not text (the label column's name)")
    if schema.get("kind") != "market" and not undecided:  # a table's classifier: its classes and columns
        for key in ("positive", "negative"):
            if not isinstance(schema.get(key), str):
                raise bad(f"'schema.{key}'", "is missing or not text (the label of a class)")
        for key in ("numeric", "categorical"):
            if not isinstance(schema.get(key, []), list):
                raise bad(f"'schema.{key}'", "is not a list")


#: Numbers a manifest's ``metrics.test`` may hold (credit and forecast models), checked as such.
_NUMERIC_TEST_METRICS = ("accuracy", "brier", "cutoff", "f1", "precision", "recall", "flagged_rate", "gini",
                         "log_loss", "pr_auc", "rows", "positives", "parameters", "nonzero_parameters", "model_bytes",
                         "flops_per_row", "rmse", "mae", "mase", "mape", "directional_accuracy",
                         "information_coefficient", "sharpe", "max_drawdown", "turnover", "r2")


#: Of those, the counts (whole numbers ≥ 0) and the numbers with a range.
_COUNT_TEST_METRICS = ("rows", "positives", "parameters", "nonzero_parameters", "model_bytes")
_BOUNDED_TEST_METRICS = {key: (0.0, 1.0) for key in ("accuracy", "auc", "brier", "cutoff", "f1", "precision", "recall",
                                                     "flagged_rate", "ks", "pr_auc", "directional_accuracy")} | {
    "gini": (-1.0, 1.0), "information_coefficient": (-1.0, 1.0)}


def _check_data_counts(data: Mapping[str, Any], bad: Any) -> None:
    """The training table's record: ``rows`` and each split part's rows whole numbers ≥ 0, each
    part's positive rate a share from 0 to 1 (inspect and /metadata show them)."""
    if data.get("rows") is not None and not _count(data["rows"]):
        raise bad("'data.rows'", f"is {data['rows']!r:.40}, not a whole number of at least 0")
    split = data.get("split")
    parts = split.get("rows") if isinstance(split, dict) else None
    if parts is not None and (not isinstance(parts, dict) or not all(_count(v) for v in parts.values())):
        raise bad("'data.split.rows'", "is not an object of split part to a whole number of rows")
    rates = data.get("positive_rate")
    if rates is not None and (not isinstance(rates, dict) or not all(
            finite_number(v) and 0 <= v <= 1 for v in rates.values() if v is not None)):
        raise bad("'data.positive_rate'", "is not an object of split part to a share from 0 to 1")
    # A forecaster's split dates: evaluate reads the last fitted one to pick a hold-out's dates.
    dates = data.get("dates")
    if dates is not None and (not isinstance(dates, dict) or not all(
            span is None or (isinstance(span, list) and len(span) == 2 and all(_iso_date(d) for d in span))
            for span in dates.values())):
        raise bad("'data.dates'", "is not an object of split part to [first, last] ISO dates or date-times (or null)")


def _iso_date(value: Any) -> bool:
    import datetime

    try:
        # A day, or a date-time: an out-of-time split by a column with times of day records them.
        return isinstance(value, str) and bool(datetime.datetime.fromisoformat(value))
    except ValueError:
        return False


def _check_forecast_metrics(forecast: Any, bad: Any) -> None:
    """A forecaster's recorded MASE scales (``metrics.forecast.mase_scale``), which evaluate uses
    to scale a hold-out's MASE: positive numbers or null, ``units`` at least."""
    scale = forecast.get("mase_scale") if isinstance(forecast, dict) else None
    if scale is not None and not (isinstance(scale, dict) and "units" in scale and all(
            value is None or (finite_number(value) and value > 0) for value in scale.values())):
        raise bad("'metrics.forecast.mase_scale'", f"is {scale!r:.80}, not an object of positive numbers (or null)")


def _check_gates(gates: Any, field: str, bad: Any) -> None:
    """A list of gate results as the commands print them: objects with a boolean ``passed`` and a
    text ``message``."""
    if not isinstance(gates, list) or not all(
            isinstance(g, dict) and isinstance(g.get("passed"), bool) and isinstance(g.get("message"), str)
            for g in gates):
        raise bad(field, "is not a list of gate results (objects with a true/false 'passed' and a text 'message')")


def import_step(manifest: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The first step of a teacher ``import-teacher`` made from a booster file (its library,
    file, sha256 and the import's warnings), or None for a model finlite trained: what the
    student's report and card and ``score``'s note on blanks read of an imported teacher."""
    steps = manifest.get("steps")
    first = steps[0] if isinstance(steps, list) and steps and isinstance(steps[0], Mapping) else None
    return first if first is not None and first.get("step") == "import" else None


def failed_gates(manifest: Mapping[str, Any]) -> list[str]:
    """The messages of the gates a compressed artifact failed on its test split (``metrics.gates``
    of a checked manifest); empty when it passed them, or has none (a teacher). Read from the
    gates themselves, not ``metrics.gates_passed``: a manifest whose summary disagrees with its
    gates fails closed."""
    metrics = manifest.get("metrics")
    if not isinstance(metrics, Mapping):
        return []
    return [str(g.get("message")) for g in metrics.get("gates") or []
            if isinstance(g, Mapping) and g.get("passed") is False]


def failed_gates_warning(manifest: Mapping[str, Any], where: str) -> str | None:
    """The warning ``score`` and ``serve`` give for an artifact that failed its gates (exported all
    the same with ``accept_failed_gates``, or before export refused such artifacts), or None."""
    failed = failed_gates(manifest)
    if not failed:
        return None
    export = manifest.get("export")
    how = ("It was exported with --accept-failed-gates." if isinstance(export, Mapping)
           and export.get("accepted_failed_gates") else "It was exported before finlite refused such artifacts.")
    return (f"warning: {where} failed its quality gates on the test split ({'; '.join(failed)}); its decisions are "
            f"not the evidence its recipe asked for. {how}")


def int8_warning(manifest: Mapping[str, Any], variant: str, where: str) -> str | None:
    """The warning ``score --int8`` gives when export measured the int8 model deciding some test
    rows unlike the float model the validation report judged (or, for a forecast of a number,
    turning the sign of some forecasts), or None: for the float model, an int8 model that agreed
    on every test row, or a model that is integer already (``same_as``).

    ``export --int8`` prints the count once; a scoring job that runs the int8 file months later
    said nothing of it, so its decisions passed for the validated ones."""
    if variant != "int8":
        return None
    export = manifest.get("export")
    if not isinstance(export, Mapping):
        return None
    record = export.get("onnx_int8")
    if not isinstance(record, Mapping) or "file" not in record:
        return None
    against = record.get("against_float")
    if not isinstance(against, Mapping):
        return None
    rows = export.get("rows")
    of = f" of {rows:,}" if _count(rows) else ""
    unit = "test windows" if manifest.get("task") in ("forecast", "direction") else "test rows"  # a forecaster's
    flips, turned = against.get("flips") or 0, against.get("direction_flips") or 0
    if _count(flips) and flips > 0:
        auc = ""
        if finite_number(against.get("auc_float")) and finite_number(against.get("auc_int8")):
            auc = f"; test AUC {against['auc_float']:.4f} -> {against['auc_int8']:.4f}"
        what = (f"decided {flips:,}{of} {unit} unlike the float model that the validation report judged "
                f"(max |Δp| {float(against['max_abs_diff']):.2g}{auc})")
    elif _count(turned) and turned > 0:
        what = (f"forecast the opposite direction to the float model that the validation report judged on "
                f"{turned:,}{of} test windows (max |Δ| {float(against['max_abs_diff']):.2g})")
    else:
        return None
    return (f"warning: {where}: its int8 model ({record['file']}) {what}, as export measured; these are not the "
            "validated decisions. Score with the float model for them (leave out --int8; in Python, "
            "Predictor(..., variant='fp32')).")


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 1 << 53


def _check_pin(manifest: Mapping[str, Any], pin: str, where: str) -> None:
    expected = str(pin).strip().lower()
    if not _HEX64.match(expected):
        raise ConfigError(f"The pinned manifest sha256 {pin!r} is not 64 hexadecimal digits; copy the value "
                          "'finlite inspect' prints as 'manifest sha256'.")
    if manifest["manifest_sha256"] != expected:
        raise ArtifactError(f"{where!r} has manifest sha256 {manifest['manifest_sha256']}, not the pinned "
                            f"{expected}; this is not the artifact you pinned (it was replaced, re-exported or "
                            "re-trained). Refusing to load it: check where it came from, or pin the new digest.")


def read_verified(path: str | Path, required: tuple[str, ...] = (), *, verify_key: Any = None,
                  manifest_sha256: str | None = None) -> tuple[Path, dict[str, Any]]:
    """The artifact folder and its manifest, after checking that it is confined, intact and trusted.

    Checks, before any file is used: the manifest is strict UTF-8 JSON (no NaN/Infinity) of
    the right shape (:func:`check_manifest`); its file names are plain names in the folder;
    the folder holds exactly the listed files (plus ``manifest.json`` and ``signature.json``),
    no symbolic links, subfolders or leftovers; every file is within the size caps, then its
    sha256 matches. The folder itself may be a symbolic link: the caller chose that path; only
    its contents are confined.

    Args:
        verify_key: a trusted public key (PEM path or loaded key). With one (or with the
            environment variable ``FINLITE_VERIFY_KEY`` naming one), the artifact must carry a
            ``signature.json`` made with the matching private key over these exact manifest
            bytes (``finlite sign``); unsigned or wrongly signed artifacts are refused.
        manifest_sha256: the expected ``manifest_sha256`` (pinning one exact artifact).

    Raises:
        ArtifactError: the folder or manifest is missing, unreadable or malformed, a file name
            escapes the folder, a file is a link, missing, extra, too large or altered, or the
            signature or pin does not match.
        ConfigError: the key or pin given is unusable, or ``path`` is not a path.
    """
    return verify_artifact(path, required, verify_key=verify_key, manifest_sha256=manifest_sha256)[:2]


def trusted_key(verify_key: Any = None) -> tuple[Any, str] | None:
    """The key to verify with and how it was given: ``verify_key``, else ``$FINLITE_VERIFY_KEY``, else None."""
    if verify_key is not None and verify_key is not False:
        return verify_key, f"trusted key {str(verify_key)!r}" if isinstance(verify_key, (str, Path)) else "trusted key"
    raw = os.environ.get(VERIFY_KEY_ENV)
    env = (raw or "").strip()
    if verify_key is None and env:
        return env, f"trusted key {env!r} (from {VERIFY_KEY_ENV})"
    if verify_key is None and raw is not None:
        # Set but blank (FINLITE_VERIFY_KEY="$KEY" with KEY unset): the operator asked for a check
        # and named no key; reading unchecked would fail open.
        raise ConfigError(f"{VERIFY_KEY_ENV} is set but empty, so it names no trusted key. Set it to the trusted "
                          "public key's PEM file, or unset it to read artifacts without a signature check; "
                          "nothing was read.")
    return None


def verify_artifact(path: str | Path, required: tuple[str, ...] = (), *, verify_key: Any = None,
                    manifest_sha256: str | None = None) -> tuple[Path, dict[str, Any], dict[str, Any]]:
    """:func:`read_verified` plus what is known of the signature (for ``finlite inspect``).

    The third item is ``{"signed": bool, "algorithm", "fingerprint", "verified": bool | None,
    "verified_with"}``; ``verified`` is None when no trusted key was given. ``verify_key=False``
    ignores ``FINLITE_VERIFY_KEY`` and a signature that no longer matches the manifest (used by
    ``finlite sign``, which makes signatures); any other reader refuses such a signature.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise ConfigError(f"An artifact is named by its folder's path (text or a pathlib.Path); got "
                          f"{type(path).__name__}.", param="artifact")
    root = Path(path)
    if not root.is_dir():
        what = "is not a directory" if root.exists() or root.is_symlink() else "does not exist"
        from finlite._paths import interrupted_swap

        waiting = interrupted_swap(root) if what == "does not exist" else None
        if waiting is not None:  # a two-rename replacement killed between its renames
            raise ArtifactError(f"Artifact {str(root)!r} does not exist, but {str(waiting)!r} beside it is the "
                                "artifact that was there: a run replacing it was killed half-way. Rename it back to "
                                f"{root.name!r} (a train or compress writing to that path puts it back too).")
        raise ArtifactError(f"Artifact {str(root)!r} {what}; pass the folder written by "
                            "'finlite train' or 'finlite compress'.")
    try:
        dir_fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY) if _DIR_FD else None
    except OSError as exc:
        raise ArtifactError(f"Artifact {str(root)!r} cannot be opened ({exc.strerror or exc}); check its "
                            "permissions.") from None
    try:
        return _verify_open(root, dir_fd, required, verify_key, manifest_sha256)
    finally:
        if dir_fd is not None:
            os.close(dir_fd)


def _verify_open(root: Path, dir_fd: int | None, required: tuple[str, ...], verify_key: Any,
                 pin: str | None) -> tuple[Path, dict[str, Any], dict[str, Any]]:
    manifest_path = root / MANIFEST
    try:
        raw = read_member(root, MANIFEST, MAX_MANIFEST_BYTES, dir_fd)
    except FileNotFoundError:
        raise ArtifactError(f"Artifact {str(root)!r} has no {MANIFEST}; it is incomplete or not a finlite "
                            "artifact.") from None
    manifest = check_manifest(parse_json_bytes(raw, str(manifest_path), "manifest"), str(manifest_path))
    files: dict[str, str] = manifest["files"]
    for name in required:
        if name not in files:
            raise ArtifactError(f"The manifest of {str(root)!r} does not list {name}; the artifact is incomplete.")

    # Signature and pin first: cheap, and an untrusted artifact is refused before any hashing.
    from finlite import signing

    key = trusted_key(verify_key)
    trust = signing.check_signature(root, raw, manifest, key, dir_fd)
    if trust.get("signed") and trust.get("self_consistent") is False and verify_key is not False:
        # Without a trusted key a signature proves nothing of who made the artifact, but one that
        # does not match its own manifest (or cannot be read) proves the manifest changed after
        # signing: evidence of tampering, never a model to score with. Only 'finlite sign'
        # (verify_key=False), which vouches for the content anew, goes on.
        why = trust.get("problem") or ("its signature does not match manifest.json, which was changed after signing "
                                       "(e.g. a file replaced and re-hashed)")
        raise ArtifactError(f"Artifact {str(root)!r} carries {SIGNATURE}, but {why.rstrip('.')}. Refusing to use it: get an intact "
                            "copy from its publisher, or, if you trust its content, sign it again ('finlite sign "
                            "ARTIFACT --key PRIVATE.pem').")
    if pin is not None:
        _check_pin(manifest, pin, str(manifest_path))

    # The file set is exact: every entry is listed (or is the manifest/signature), none is a link.
    try:
        entries = sorted(os.listdir(dir_fd if dir_fd is not None else root))
    except OSError as exc:
        raise ArtifactError(f"Artifact {str(root)!r} cannot be listed ({exc.strerror or exc}).") from None
    present = set(entries)
    for name in sorted(files):
        if name not in present:
            raise ArtifactError(f"Artifact file {str(root / name)!r} listed in the manifest is missing.")
    extra: list[str] = []
    sizes: dict[str, int] = {}
    for name in entries:
        try:
            info = os.stat(name, dir_fd=dir_fd, follow_symlinks=False) if dir_fd is not None else \
                os.lstat(root / name)
        except OSError:
            continue  # vanished while listing: the hash pass below reports a listed file that is gone
        if stat.S_ISLNK(info.st_mode):
            raise ArtifactError(f"Artifact file {str(root / name)!r} is a symbolic link; finlite reads only regular "
                                "files inside the artifact folder, so a link cannot make it read a file from "
                                "elsewhere. Replace the link with the file itself (or re-create the artifact).")
        if name in files:
            sizes[name] = info.st_size
        elif name not in (MANIFEST, SIGNATURE) or not stat.S_ISREG(info.st_mode):
            extra.append(name + ("/" if stat.S_ISDIR(info.st_mode) else ""))
    if extra:
        shown = ", ".join(repr(e) for e in extra[:10]) + (f" and {len(extra) - 10} more" if len(extra) > 10 else "")
        raise ArtifactError(f"Artifact {str(root)!r} holds {len(extra)} entr{'y' if len(extra) == 1 else 'ies'} its "
                            f"manifest does not list: {shown}. An artifact folder holds exactly the files of its "
                            "manifest (plus manifest.json and signature.json), so nothing unverified sits next to "
                            "the model. Move them out (a hidden '.tmp'/'.old' name is a leftover of an interrupted "
                            "write and can be deleted), or re-create the artifact.")
    total = sum(sizes.values())
    for name, size in sorted(sizes.items()):
        cap = member_cap(name)
        if size > cap:
            raise ArtifactError(f"Artifact file {str(root / name)!r} is {_fmt_bytes(size)}, over the "
                                f"{_fmt_bytes(cap)} finlite accepts for one file{' of text' if cap < MAX_FILE_BYTES else ''}; "
                                "it was not hashed. A finlite artifact's files are far smaller: re-create the artifact.")
    if total > MAX_TOTAL_BYTES:
        raise ArtifactError(f"Artifact {str(root)!r} holds {_fmt_bytes(total)}, over the "
                            f"{_fmt_bytes(MAX_TOTAL_BYTES)} finlite accepts for one artifact; nothing was hashed.")
    for name, expected in sorted(files.items()):
        try:
            actual = _hash_member(root, name, dir_fd, member_cap(name))
        except FileNotFoundError:
            raise ArtifactError(f"Artifact file {str(root / name)!r} listed in the manifest is missing.") from None
        if actual != expected:
            raise ArtifactError(f"Artifact file {str(root / name)!r} has sha256 {actual[:16]}…, but the manifest "
                                f"records {expected[:16]}…; it was altered after saving. Refusing to load it.")
    return root, manifest, trust


def swap_in(tmp: Path, out: Path) -> None:
    """Put the finished folder ``tmp`` (a sibling of ``out``) at ``out``, replacing what is there.

    At every instant ``out`` holds either the complete old folder or the complete new one: on
    Linux the two are exchanged in one ``renameat2(RENAME_EXCHANGE)`` call, then the old one
    (now at the temporary name) is deleted. Where the system cannot exchange, the old folder is
    renamed to ``.NAME.old-<pid>-<tag>`` and the new one renamed in; a kill between those two
    renames leaves the path empty for an instant, and the next write to ``out``
    (:func:`finlite._paths.clean_leftovers`) puts the old artifact back. Files and folders are
    fsynced first, so a power cut cannot expose a renamed but unwritten artifact either.

    Only a finlite artifact folder or an empty folder is ever replaced
    (:func:`finlite._paths.check_replaceable`).

    Raises:
        ArtifactError: ``out`` holds something that may not be replaced.
    """
    from finlite import _paths

    tmp, out = Path(tmp), Path(out)
    _paths.even_file_modes(tmp)  # one mode for every file, whichever writer made it
    _paths.keep_dir_mode(tmp, out)  # a replaced artifact's group and mode (a new one stays 0700)
    _paths.fsync_tree(tmp)
    _paths.kill_point("before-swap")
    if not os.path.lexists(out):
        os.rename(tmp, out)
        _paths.fsync_dir(out.parent)
        return
    _paths.check_replaceable(out, overwrite=True)
    if _paths.exchange(tmp, out):  # ``tmp`` now names the old folder
        _paths.fsync_dir(out.parent)
        _paths.kill_point("exchanged")
        _paths.remove_tree(tmp)
        return
    old = _paths.new_old_name(out)
    os.rename(out, old)
    _paths.kill_point("old-moved")
    try:
        os.rename(tmp, out)
    except BaseException:
        os.rename(old, out)  # put the old artifact straight back
        raise
    _paths.fsync_dir(out.parent)
    _paths.kill_point("new-moved")
    _paths.remove_tree(old)


def refuse_working_folder(path: str | Path) -> None:
    """Refuse to amend the artifact this process runs inside: the folder is replaced as a whole,
    and "." failed with "Device or resource busy (.)" (a review, 2026-12-05); replaced by its
    absolute name, it would leave the shell in a deleted folder where the artifact seems gone."""
    try:
        inside = Path(os.getcwd()).resolve().is_relative_to(Path(path).resolve())
    except (OSError, RuntimeError):
        return
    if inside:
        raise ConfigError(f"Artifact {str(path)!r} is the folder this command runs in (or holds it); finlite changes "
                          "an artifact by replacing its folder as a whole, which cannot be done from inside it. Run "
                          "the command from another folder (e.g. cd .. first).", param="artifact")


def amend_artifact(path: str | Path, files: Mapping[str, bytes], fields: Mapping[str, Any], *,
                   sign_with: Any = None, verify_key: Any = None, manifest_sha256: str | None = None,
                   drop: Collection[str] = ()) -> dict[str, Any]:
    """Add (or replace) files and top-level manifest fields of a verified artifact, atomically;
    the listed files named in ``drop`` are left out of the new folder and its manifest.

    The folder is copied to a temporary sibling ``.NAME.tmp-<pid>-<tag>``, amended there,
    re-hashed and swapped into place by :func:`swap_in`, so a failure or a kill at any instant
    leaves the artifact complete at its path (old or new). Leftovers of earlier killed runs are
    cleaned first. Returns the new manifest.

    A signed artifact is re-signed with ``sign_with`` (a private key: PEM path or loaded key)
    in the staged copy before the swap, only if its current signature verifies with that key's
    public key; without a key, or with another key, a signed artifact is refused (ArtifactError).
    ``verify_key=False`` (what :func:`finlite.signing.sign_artifact` passes: signing vouches
    for the content) skips both the trusted-key check and that one.
    ``verify_key`` and ``manifest_sha256`` are checked as :func:`read_verified` does: a caller
    that loaded the artifact first (export) pins the digest it loaded, so what it re-signs is
    the artifact it checked, not one swapped in meanwhile. The staged copy is made from the
    bytes just verified, never by copying the folder as it is by then.
    """
    from finlite import _paths

    # A link to the artifact (which readers accept) names the folder the user means: amend that
    # folder, staged beside it, and leave the link as it is (swap_in never replaces a link).
    path = os.path.realpath(path) if os.path.islink(path) else path
    refuse_working_folder(path)
    _paths.clean_leftovers(path)  # restores the artifact if a killed swap had moved it aside
    root, manifest = read_verified(path, verify_key=verify_key)
    if manifest_sha256 is not None and manifest["manifest_sha256"] != str(manifest_sha256).strip().lower():
        # The caller read this digest itself: the artifact changed while the command ran. "Not the
        # artifact you pinned" named a pin nobody set (two exports of one artifact at once: a
        # scheduler owner's walk-through, 2026-12-07).
        raise ArtifactError(f"Artifact {str(root)!r} changed while this command ran (its manifest sha256 is now "
                            f"{manifest['manifest_sha256']}, not the {str(manifest_sha256)[:64]} it read first): "
                            "another command (export, sign, report, a training with --force) wrote it meanwhile. "
                            "Nothing was written; run the command again once that one has finished.")
    if sign_with is None and os.path.lexists(root / SIGNATURE):
        # Amending changes manifest.json, which voids the signature: re-sign or refuse, never drop it silently.
        raise ArtifactError(f"Artifact {str(root)!r} is signed ({SIGNATURE}); changing it would void the signature. "
                            "Pass the private key (sign_with='PRIVATE.pem') so the amended artifact is re-signed; "
                            "nothing was written.", param="sign_with")
    if sign_with is not None and verify_key is not False and os.path.lexists(root / SIGNATURE):
        # The signature being replaced must be this key's and still verify: re-signing must never
        # launder an artifact changed (and re-hashed) after it was signed. 'finlite sign'
        # (verify_key=False) is the explicit way to vouch for content anew.
        from finlite.signing import load_private_key

        private = load_private_key(sign_with, "sign_with")  # a loaded key passes through, checked as supported
        try:
            read_verified(root, verify_key=private.public_key(), manifest_sha256=manifest["manifest_sha256"])
        except ArtifactError as exc:
            raise ArtifactError(f"Artifact {str(root)!r} is signed, but not verifiably by the key given to re-sign it "
                                f"({exc}). Re-signing would vouch for content this key never signed, so nothing was "
                                "written; check the artifact, and sign it explicitly ('finlite sign') only if you "
                                "trust it.", param="sign_with") from None
    staged = _paths.new_temp_dir(root)
    try:
        for name in manifest["files"]:  # re-read and re-checked: only verified bytes are (re-)signed
            if name not in files and name not in drop:
                (staged / name).write_bytes(read_listed(root, manifest, name))
        _paths.kill_point("writing")
        for name, data in files.items():
            (staged / name).write_bytes(data)
        manifest = {**manifest, **fields}
        kept = {name: digest for name, digest in manifest.get("files", {}).items() if name not in drop}
        manifest["files"] = {**kept, **{name: sha256_file(staged / name) for name in files}}
        manifest["manifest_sha256"] = manifest_digest(manifest)
        (staged / MANIFEST).write_text(dump_json(manifest), encoding="utf-8")
        if sign_with is not None:  # sign the new manifest bytes before they go live
            from finlite.signing import write_signature

            write_signature(staged, sign_with)
        swap_in(staged, root)
    finally:
        # After the swap this is the old folder (already removed) or, on failure, the staged copy.
        shutil.rmtree(staged, ignore_errors=True)
    return manifest
