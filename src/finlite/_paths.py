"""Where finlite writes: outputs that never destroy an input, replacements that survive a kill.

Three duties, shared by every command that writes:

- :func:`check_not_input` refuses an output path that is, contains or lies inside one of the
  command's inputs (data file, teacher artifact, booster, plan, recipe, token file...), on
  resolved real paths, so ``train proj/loans.csv --out proj --force`` cannot delete the data.
- :func:`check_replaceable` lets ``overwrite=True`` (``--force``) replace only a finlite artifact
  folder or an empty folder, never a user's folder or file; :func:`check_replaceable_file` is the
  same rule for a single output file (``score -o``), and :func:`check_writable_file` proves a side
  output such as ``--save-plan`` can be written before any work starts. Both refuse an existing
  output without ``overwrite`` through :func:`output_exists`, the one message for "the output
  exists" (its error carries ``param="overwrite"``, which the command line names ``--force``).
- :func:`exchange` swaps two folders in one step (Linux ``renameat2(RENAME_EXCHANGE)``), so an
  artifact path always holds either the complete old or the complete new folder; temporary names
  carry the writer's PID (``.NAME.tmp-<pid>-<tag>``, ``.NAME.old-<pid>-<tag>``,
  ``.NAME.<pid>-<tag>.tmp``), and :func:`clean_leftovers` / :func:`clean_file_leftovers` remove
  those of dead processes on the next write, restoring an artifact a killed fallback swap had moved
  aside. Leftovers of a live process are never touched.

``option`` names the output as the caller knows it: a Python parameter (``"out"``, the default:
messages say ``out='runs/x'`` and ``overwrite=True``, and the error's ``param`` says which value to
change) or, for a check only the command line makes, its flag (``"--save-plan"``, ``"-o"``). The
command line turns parameter spellings into its flags (see ``finlite.cli``).

Tests inject kills with the environment variable ``FINLITE_TEST_KILL_AT=<point>`` (see
:func:`kill_point`); unset, each point costs one comparison. The points: ``writing`` (the new
folder half written), ``before-swap`` (written, nothing moved), ``exchanged`` (swapped, old not yet
deleted), ``old-moved`` and ``new-moved`` (between the fallback's two renames, and after them),
``removing-old`` (old folder half deleted), ``score-writing`` (one chunk of score output written),
``score-before-rename`` (output complete under its temporary name) and ``signature-writing``
(``signature.json`` written under its temporary name in the staged copy).

Limit: a writer is judged alive by its PID (``kill(pid, 0)``). A leftover written from another PID
namespace (another container sharing the folder) carries a PID that means nothing here: when no
process here has it, the leftover is treated as dead. Leftovers are only ever finlite's own
temporary copies, so at worst a concurrent writer elsewhere fails; no user file is at stake.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import json
import logging
import os
import re
import secrets
import shutil
import signal
import stat
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from finlite.errors import ArtifactError, ConfigError, DataError, FinliteError

__all__ = ["KILL_ENV", "FileTooLarge", "NotRegularFile", "check_folder_writable", "check_not_input", "check_output_dir",
           "check_outside_artifacts", "check_replaceable", "check_replaceable_file", "check_writable_file",
           "clean_file_leftovers", "clean_leftovers", "even_file_modes", "exchange", "fsync_dir", "fsync_file",
           "fsync_tree", "is_artifact_dir", "kill_point", "new_old_name", "new_temp_dir", "new_temp_file", "output_exists",
           "pid_alive", "read_bounded", "read_small_file", "remove_tree"]

log = logging.getLogger("finlite")

KILL_ENV = "FINLITE_TEST_KILL_AT"
#: The signal the hook sends, by name (``TERM`` for a scheduler's stop); SIGKILL when unset.
KILL_SIGNAL_ENV = "FINLITE_TEST_KILL_SIGNAL"
# Read once at import: the test helpers set it in a child process's environment.
_KILL_AT = os.environ.get(KILL_ENV) or None
_KILL_SIGNAL = signal.Signals[f"SIG{os.environ.get(KILL_SIGNAL_ENV) or 'KILL'}"] if _KILL_AT else signal.SIGKILL

PathLike = str | os.PathLike[str]


def error_number(exc: OSError) -> int | None:
    """The errno of ``exc``: its own, or for Arrow's I/O errors (which carry none) the
    "[errno N]" in their text."""
    if exc.errno is not None:
        return int(exc.errno)
    found = re.search(r"\[errno (\d+)\]", str(exc))
    return int(found.group(1)) if found else None


class NotRegularFile(OSError):
    """A path read as a file names a directory, a device, a named pipe or a socket."""


class FileTooLarge(ValueError):
    """A file holds more bytes than its reader allows; ``size`` is what was found (at least)."""

    def __init__(self, size: int) -> None:
        super().__init__(size)
        self.size = size


def read_bounded(fh: Any, size: int, limit: int) -> bytes:
    """At most ``limit`` + 1 bytes of the open binary file ``fh``, whose size was ``size`` when
    checked: read as that size first, then on to the limit only if the file grew. (A read of
    ``limit`` + 1 bytes at once reserves that much: under ``ulimit -v`` every artifact's 4 GiB
    cap failed to load a 5 KB model, a review of 2026-12-05.)"""
    data: bytes = fh.read(min(size, limit) + 1)
    if size < len(data) <= limit:  # it grew after the check: the rest, up to one byte past the limit,
        parts = [data]             # a MiB at a time (one read of the rest reserved all of it at once)
        have = len(data)
        while have <= limit:
            part = fh.read(min(1 << 20, limit + 1 - have))
            if not part:
                break
            parts.append(part)
            have += len(part)
        data = b"".join(parts)
    return data


def read_small_file(path: PathLike, limit: int) -> bytes:
    """The bytes of the regular file at ``path``, refused beyond ``limit`` bytes.

    The file is opened without blocking (a named pipe would otherwise wait for a writer for
    ever), checked to be a regular file (``/dev/zero`` reports size 0 and never ends), and read
    to at most ``limit`` + 1 bytes (it may grow after the check).

    Raises:
        NotRegularFile: a directory, device, pipe or socket (an OSError whose ``strerror`` says so).
        FileTooLarge: more than ``limit`` bytes.
        OSError: as ``open`` raises it (missing, not permitted).
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise NotRegularFile(errno.EINVAL, "not a regular file (a directory, a device, a pipe or a socket)",
                                 os.fspath(path))
        if info.st_size > limit:
            raise FileTooLarge(info.st_size)
        os.set_blocking(fd, True)
        fh = os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
    with fh:
        data = read_bounded(fh, info.st_size, limit)
    if len(data) > limit:
        raise FileTooLarge(len(data))
    return data


_DIR_LEFTOVER = re.compile(r"^\.(?P<name>.+)\.(?P<kind>tmp|old)-(?P<pid>\d+)-(?P<tag>[0-9a-f]{8})$")
_FILE_LEFTOVER = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)-(?P<tag>[0-9a-f]{8})\.tmp$")


def kill_point(name: str) -> None:
    """Test hook: SIGKILL this process here when ``FINLITE_TEST_KILL_AT`` names this point (or
    send the signal ``FINLITE_TEST_KILL_SIGNAL`` names)."""
    if _KILL_AT is not None and name == _KILL_AT:
        os.kill(os.getpid(), _KILL_SIGNAL)


# -- naming an output in the caller's language ----------------------------------------------------
def _is_flag(option: str) -> bool:
    """True for a command-line flag or argument name (``--out``, ``-o``, ``ARTIFACT``), False for a
    Python parameter name (``out``)."""
    return option.startswith("-") or option.isupper() or not option.isidentifier()


def _spelled(option: str, path: PathLike) -> str:
    """``out='runs/x'`` for a parameter, ``--out 'runs/x'`` for a flag."""
    return f"{option} {os.fspath(path)!r}" if _is_flag(option) else f"{option}={os.fspath(path)!r}"


def _param(option: str) -> str | None:
    return None if _is_flag(option) else option


def output_exists(out: PathLike, *, option: str = "out",
                  error: type[FinliteError] = ArtifactError) -> FinliteError:
    """The one error for "the output is already there and ``overwrite`` is false".

    Every writer that refuses to replace an existing output (artifact folders, score files,
    synthetic portfolios) raises this, so the message always has one shape: the output, as the
    caller named it, and the parameter that allows replacing it (``overwrite=True``; the command
    line says ``--force``). The error's ``param`` is ``"overwrite"``.

    Args:
        out: the output path.
        option: the caller's name for the output: a parameter (``"out"``) or a flag (``"-o"``).
        error: the class to raise: ArtifactError for artifact folders, DataError for data files.
    """
    return error(f"{_spelled(option, out)} already exists; choose another path or pass overwrite=True to replace "
                 "it.", param="overwrite")


# -- refusing outputs that would destroy an input --------------------------------------------------
def _real(path: PathLike) -> str:
    return os.path.realpath(os.path.abspath(os.fspath(path)))


def _inside(child: str, parent: str) -> bool:
    return child != parent and child.startswith(parent.rstrip(os.sep) + os.sep)


def check_not_input(out: PathLike, inputs: Mapping[str, object] | Iterable[object], option: str = "out", *,
                    replaceable: bool = True) -> None:
    """Refuse when ``out`` is, contains or lies inside any of ``inputs``, or lies inside any
    finlite artifact folder (:func:`check_outside_artifacts`).

    ``inputs`` maps a description ("data file", "teacher artifact", "--plan file") to a path, or
    is a plain iterable of paths; entries that are None or not paths (a DataFrame) are skipped.
    Paths are compared after resolving symbolic links, and with ``samefile`` (hard links) where
    both exist, so no spelling of the same place slips through. ``replaceable=False`` for an
    output the caller has no ``overwrite`` (``--force``) for (an appended log, an artifact
    written in place): the message then does not mention one.

    Raises:
        ConfigError: the output overlaps an input; the message names both and how to fix it.
    """
    check_name_lengths(Path(out), option, ConfigError)  # before anything looks the path up
    items = inputs.items() if isinstance(inputs, Mapping) else (("input", p) for p in inputs)
    out_real = _real(out)
    for label, path in items:
        if not isinstance(path, (str, os.PathLike)):
            continue
        in_real = _real(path)
        same = out_real == in_real
        if not same and os.path.exists(out) and os.path.exists(path):
            try:
                same = os.path.samefile(out, path)
            except OSError:
                same = False
        if same:
            relation = "is"
        elif _inside(in_real, out_real):
            relation = "contains"
        elif _inside(out_real, in_real):
            relation = "is inside"
        else:
            continue
        # A flag means the command line made this check itself: it names its own --force.
        force = "--force" if _is_flag(option) else "overwrite=True"
        either = f" (with or without {force})" if replaceable else ""
        raise ConfigError(
            f"{_spelled(option, out)} {relation} the {label} {os.fspath(path)!r}: writing there would destroy "
            f"an input, so finlite refuses it{either}. Choose an output path outside every input.",
            param=_param(option))
    check_outside_artifacts(out, option)  # after the inputs: an artifact the command reads is named as that input


def check_outside_artifacts(out: PathLike, option: str = "out") -> None:
    """Refuse an output that lies inside a finlite artifact folder (at any depth).

    A file written there breaks the artifact: a replaced file no longer has its manifest's
    sha256, and a new one is an entry its manifest does not list; either way the artifact is
    refused from then on. Commands that amend an artifact (export, sign) write through the
    artifact writer, not through an output option.

    Raises:
        ConfigError: naming the output and the artifact folder.
    """
    folder = Path(_real(out)).parent
    while True:
        if is_artifact_dir(folder):
            raise ConfigError(
                f"{_spelled(option, out)} lies inside the finlite artifact {str(folder)!r}: a file written there would "
                "break the artifact (its manifest lists and hashes every file), so finlite refuses it (with or without "
                "--force). Choose an output path outside every artifact folder.", param=_param(option))
        if folder == folder.parent:
            return
        folder = folder.parent


def check_output_dir(out: PathLike, *, overwrite: bool, inputs: Mapping[str, object] | Iterable[object] = (),
                     option: str = "out") -> None:
    """Every check before an artifact is written at ``out``, run before any work: ``out`` is no
    input (:func:`check_not_input`), leftovers of killed runs there are cleaned (an artifact a
    killed swap moved aside is restored), and whatever is there may be replaced
    (:func:`check_replaceable`).

    Raises:
        ConfigError: ``out`` overlaps an input.
        ArtifactError: ``out`` exists and may not be replaced.
    """
    check_not_input(out, inputs, option)
    check_not_here(out, option)
    clean_leftovers(out)
    check_replaceable(out, overwrite=overwrite, option=option)
    check_folder_writable(Path(out), option, ArtifactError)


def check_not_here(out: PathLike, option: str = "out") -> None:
    """Refuse an output folder that is the working folder or holds it (``--out .``): an artifact
    replaces its folder by a rename, which cannot replace the folder a process stands in (it
    failed after the training with "Device or resource busy"; a review, 2026-12-03).

    Raises:
        ConfigError: ``out`` is the current folder or one above it.
    """
    try:
        here, target = Path.cwd().resolve(), Path(out).resolve()
    except (OSError, RuntimeError) as exc:
        # A loop of symbolic links (RuntimeError up to Python 3.12, ELOOP after): refused now, not
        # after the work (compress ended in a traceback there: a review, 2026-12-03).
        if isinstance(exc, RuntimeError) or getattr(exc, "errno", None) == errno.ELOOP:
            raise ConfigError(f"{_spelled(option, Path(out))} passes through a loop of symbolic links; give a path "
                              "that leads to a real folder.", param=_param(option)) from None
        return
    if here == target or target in here.parents:
        raise ConfigError(f"{_spelled(option, Path(out))} is the folder you are working in{'' if here == target else ' or holds it'}; "
                          "the output is written as a folder of its own. Give a new folder's name (runs/model, "
                          "say).", param=_param(option))


# -- what overwrite=True (--force) may replace ------------------------------------------------------------------
def _artifact_files(path: Path) -> set[str] | None:
    """The names a finlite artifact folder may hold (its manifest's files, the manifest, the
    signature), or None when ``path`` holds no ``finlite.artifact/1`` manifest."""
    from finlite._manifest import FORMAT, MANIFEST, SIGNATURE

    manifest = path / MANIFEST
    try:  # is_file raises for a name too long (ENAMETOOLONG): no artifact there either way
        if not manifest.is_file() or manifest.is_symlink():
            return None
        if manifest.stat().st_size > 64 << 20:  # no manifest is this big; do not read a huge file
            return None
        data = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        return None
    files = data.get("files")
    return {MANIFEST, SIGNATURE, *(files if isinstance(files, dict) else ())}


def is_artifact_dir(path: PathLike) -> bool:
    """True when ``path`` is a folder holding a ``manifest.json`` of format ``finlite.artifact/1``."""
    return _artifact_files(Path(path)) is not None


def check_replaceable(out: PathLike, *, overwrite: bool, option: str = "out") -> None:
    """Check that an artifact may be written at ``out``.

    Nothing there is fine. Something there needs ``overwrite`` (``--force``), and even then only
    a finlite artifact folder (holding nothing but what its manifest lists) or an empty folder is
    ever replaced: never a symbolic link, a file or any other folder (``--out ~/Documents --force``
    must not delete the documents).

    Raises:
        ArtifactError: ``out`` exists and may not be replaced; the message says why.
    """
    path = Path(out)
    if not os.path.lexists(path):
        return
    if not overwrite:
        raise output_exists(path, option=option, error=ArtifactError)
    where, param = _spelled(option, path), _param(option)
    if path.is_symlink():
        raise ArtifactError(
            f"{where} is a symbolic link; overwrite=True replaces only a finlite artifact folder or an empty "
            "folder, never a link. Choose another path, or remove the link yourself.", param=param)
    if not path.is_dir():
        raise ArtifactError(
            f"{where} is a file, not a finlite artifact folder; overwrite=True replaces only an artifact "
            "folder (one holding a finlite.artifact/1 manifest.json) or an empty folder, so the file was left as "
            "it is. Choose another path, or move the file away yourself.", param=param)
    try:
        entries = sorted(p.name for p in path.iterdir())
    except OSError as exc:
        raise ArtifactError(f"{where} cannot be read ({exc.strerror}); check its permissions.", param=param) from exc
    allowed = _artifact_files(path)
    if allowed is not None:
        # An artifact folder someone has put their own files into is no longer only finlite's.
        foreign = [name for name in entries if name not in allowed]
        if foreign:
            shown = ", ".join(repr(n) for n in foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
            raise ArtifactError(
                f"{where} is a finlite artifact, but it also holds {len(foreign)} entr"
                f"{'y' if len(foreign) == 1 else 'ies'} its manifest does not list ({shown}); overwrite=True would "
                "delete them, so nothing was touched. Move them out of the folder, or choose another path.",
                param=param)
        return
    if entries:
        raise ArtifactError(
            f"{where} is a folder that is neither a finlite artifact (no manifest.json of format "
            "finlite.artifact/1) nor empty; overwrite=True replaces only artifact folders, so nothing in it was "
            "touched. Choose another path, or empty or remove the folder yourself.", param=param)


def check_replaceable_file(out: PathLike, *, overwrite: bool, option: str = "out") -> None:
    """Check that an output file may be written at ``out``: absent, or (with ``overwrite``) a regular file.

    Raises:
        DataError: ``out`` exists and ``overwrite`` is false, or it is a folder, a device or
            anything else that is not a regular file.
        ConfigError: a name in ``out`` is too long for the file system.
    """
    check_name_lengths(Path(out), option, ConfigError)  # before anything looks the path up
    check_outside_artifacts(out, option)
    path = Path(out)
    if not os.path.lexists(path):
        return
    if path.is_symlink():  # replaced, the link would be gone; written through, its target would change
        named = option if _is_flag(option) else f"the {option!r} parameter"
        raise DataError(f"Output {str(path)!r} is a symbolic link; finlite neither writes through a link nor replaces "
                        f"one, with or without overwrite=True. Point {named} at the file itself, or choose another "
                        "path.", param=_param(option))
    if not path.is_file():
        kind = "a folder" if path.is_dir() else "not a regular file"
        named = option if _is_flag(option) else f"the {option!r} parameter"
        raise DataError(f"Output {str(path)!r} is {kind}; {named} must name a file, which finlite writes or "
                        "(with overwrite=True) replaces. Choose another path.", param=_param(option))
    if not overwrite:
        raise output_exists(path, option=option, error=DataError)


def place_file(tmp: PathLike, out: PathLike, *, overwrite: bool, option: str = "out") -> None:
    """Move the finished temporary file ``tmp`` to ``out``; without ``overwrite``, never over a file
    that appeared there while it was written (another run, another program: the check before the
    work is minutes old by then). ``tmp`` is left in place when this raises (the caller removes it).

    The name is taken with a hard link, which fails if anything holds it; a file system without
    hard links gets a last check and a rename (a window of microseconds, not of the whole run).

    Raises:
        DataError: ``out`` exists now and ``overwrite`` is false.
    """
    if overwrite:
        os.replace(tmp, out)
        return
    try:
        os.link(tmp, out, follow_symlinks=False)
    except FileExistsError:
        raise DataError(f"{_spelled(option, out)} appeared while this run wrote it (another run or program wrote it "
                        "meanwhile); it was left as it is and this run's output discarded. Choose another path, or "
                        "pass overwrite=True to replace it.", param="overwrite") from None
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EMLINK, errno.EXDEV, errno.ENOSYS):
            raise
        if os.path.lexists(out):
            raise output_exists(out, option=option, error=DataError) from None
        os.replace(tmp, out)
        return
    os.unlink(tmp)


def check_writable_file(path: PathLike, option: str, *, expect_json_format: str | None = None,
                        overwrite: bool = True) -> None:
    """Prove, before any work, that a file can be written at ``path`` (its folder exists or can be
    made, and accepts a new file).

    With ``expect_json_format``, an existing file is replaced only when it is JSON of that
    ``format`` (a file of the same kind written earlier), never some other file of the user's,
    and only with ``overwrite`` (``--force``): a pruning plan edited by hand carries the format
    too, and a dry run again under its name lost the edits (a security review, 2026-12-06).

    Raises:
        ConfigError: the path is a folder, an existing file of another kind, or not writable.
    """
    check_outside_artifacts(path, option)
    target = Path(path)
    if target.is_symlink():  # the atomic write would replace the link itself (a security review, 2026-12-06)
        raise ConfigError(f"{_spelled(option, target)} is a symbolic link; finlite neither writes through a link nor "
                          "replaces one. Point it at the file itself, or choose another path.", param=_param(option))
    if target.is_dir():
        raise ConfigError(f"{_spelled(option, target)} is a folder; name a file to write (e.g. plan.json).",
                          param=_param(option))
    if os.path.lexists(target) and expect_json_format is not None:
        try:  # utf-8-sig: a plan re-saved by an editor with a byte order mark is still finlite's own
            data = json.loads(target.read_text(encoding="utf-8-sig")) if target.stat().st_size < 64 << 20 else None
        except (OSError, ValueError):
            data = None
        if not isinstance(data, dict) or data.get("format") != expect_json_format:
            raise ConfigError(
                f"{_spelled(option, target)} exists and is not a {expect_json_format} file written by finlite; "
                "finlite will not replace it. Choose another path, or remove the file yourself.", param=_param(option))
        if not overwrite:
            raise ConfigError(f"{_spelled(option, target)} exists (a {expect_json_format} file, perhaps edited by hand); "
                              "pass --force to replace it, or choose another path.", param=_param(option))
    check_folder_writable(target, option, ConfigError)


#: The longest name of one file or folder most file systems take (ext4, XFS, APFS, NTFS: 255).
NAME_MAX = 255


def check_name_lengths(target: Path, option: str, error: type[FinliteError], *, temporary: bool = True) -> None:
    """Refuse a path with a name too long for the file system, naming it: a 300-character folder
    name was told as "File name too long" of an artifact's manifest.json, a file finlite only
    looked for (a review, 2026-12-04). The output's own name must leave room for the temporary
    name it is written under first (``.NAME.<pid>-<tag>.tmp``), unless ``temporary`` is false (a
    folder made as it is, such as the demo's)."""
    # The temporary names (.NAME.PID-TAG.tmp, .NAME.tmp-PID-TAG, .NAME.old-PID-TAG) add 15 bytes and
    # the process id's digits: counted as 7 (the largest Linux pid), so the limit is the same each run.
    extra = 15 + 7
    parts = target.parts
    for i, part in enumerate(parts):
        size = len(part.encode("utf-8", "surrogateescape"))
        last = temporary and i == len(parts) - 1
        if size > NAME_MAX or (last and size + extra > NAME_MAX):
            room = f"; finlite writes it under a temporary name {extra} bytes longer first, so it may have at most " \
                f"{NAME_MAX - extra}" if last else f"; a name may have at most {NAME_MAX}"
            raise error(f"{_spelled(option, target)} cannot be written: the name {part[:40]!r}… is {size} bytes long"
                        f"{room}. Choose a shorter name.", param=_param(option))


def _read_only_mount(folder: Path) -> bool:
    """Whether ``folder`` is on a file system mounted read-only (False where that cannot be told)."""
    try:
        return bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    except (OSError, AttributeError):
        return False


def check_folder_writable(target: Path, option: str, error: type[FinliteError]) -> None:
    """Raise ``error`` unless a new entry can be made beside ``target`` (its folder exists and
    takes a new file, or the nearest existing ancestor is a writable folder)."""
    check_name_lengths(target, option, error)
    folder = target.parent
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise error(f"{_spelled(option, target)} cannot be written: {str(existing)!r} is not a folder. "
                    "Choose a path in a writable folder.", param=_param(option))
    try:
        if existing == folder:  # the real test: create (and remove) a file where the output will go
            new_temp_file(target).unlink()
        elif not os.access(existing, os.W_OK | os.X_OK):
            # A read-only mount was said as "Permission denied", sending the operator to chmod (an
            # MLOps walk-through, 2026-12-06).
            code = errno.EROFS if _read_only_mount(existing) else errno.EACCES
            raise OSError(code, os.strerror(code), str(existing))
    except OSError as exc:
        raise error(f"{_spelled(option, target)} cannot be written ({exc.strerror or exc}); choose a path in a "
                    "writable folder. Checked before any work, so nothing was written.", param=_param(option)) from exc


# -- temporary names that say whose they are -------------------------------------------------------
def _tag() -> str:
    return secrets.token_hex(4)


def new_temp_dir(out: PathLike) -> Path:
    """Create and return an empty sibling folder ``.NAME.tmp-<pid>-<tag>`` of ``out``, private to
    its owner (0700, as artifacts have always been created). ``out`` is made absolute first:
    ``.`` has no name and is its own parent, so the folder landed inside ``out`` (a review,
    2026-12-03)."""
    out = Path(os.path.abspath(out))
    while True:
        tmp = out.parent / f".{out.name}.tmp-{os.getpid()}-{_tag()}"
        try:
            tmp.mkdir(mode=0o700)
            return tmp
        except FileExistsError:
            continue


def new_old_name(out: Path) -> Path:
    """A free sibling name ``.NAME.old-<pid>-<tag>`` for the folder a fallback swap moves aside."""
    out = Path(os.path.abspath(out))
    while True:
        old = out.parent / f".{out.name}.old-{os.getpid()}-{_tag()}"
        if not os.path.lexists(old):
            return old


def make_parents(out: PathLike) -> list[Path]:
    """Make the folders ``out`` goes in; return those it made, deepest first, for
    :func:`remove_made` (a failed run then leaves no folder it made behind)."""
    made: list[Path] = []
    folder = Path(out).parent
    while not folder.exists() and folder != folder.parent:
        made.append(folder)
        folder = folder.parent
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    return made


def remove_made(made: Iterable[Path]) -> None:
    """Remove folders :func:`make_parents` made, deepest first, each only while empty: anything
    written there since stays."""
    for folder in made:
        try:
            folder.rmdir()
        except OSError:
            break


def new_temp_file(out: PathLike) -> Path:
    """Create (empty, exclusively, private: 0600) and return a sibling file ``.NAME.<pid>-<tag>.tmp``
    of ``out``; scores and plans stay private to their owner, as they always were."""
    out = Path(out)
    while True:
        tmp = out.parent / f".{out.name}.{os.getpid()}-{_tag()}.tmp"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            continue
        os.close(fd)
        return tmp


def _keep_owner_bits(tmp: PathLike, out: PathLike, *, folder: bool, bits: int) -> None:
    """Give ``tmp`` the group and the permission bits (within ``bits``) of ``out``, a regular file
    or a folder as ``folder`` says; anything else at ``out`` (a link, nothing) is left to the
    caller's checks."""
    try:
        held = os.lstat(out)
    except OSError:
        return
    if not (stat.S_ISDIR(held.st_mode) if folder else stat.S_ISREG(held.st_mode)):
        return
    mode = stat.S_IMODE(held.st_mode) & bits
    if os.lstat(tmp).st_gid != held.st_gid:
        try:  # another group than ours: only a member of it (or root) may give it
            os.chown(tmp, -1, held.st_gid)
        except OSError:
            mode &= ~0o2070  # the group could not be kept: its bits would open the file to ours instead
    os.chmod(tmp, mode)


def keep_mode(tmp: PathLike, out: PathLike) -> None:
    """Give ``tmp`` the group and permission bits of the regular file ``out`` it is about to
    replace (``--force``), so a scores file the operator opened to a reporting account
    (``chgrp reporting; chmod 640``) stays open to it; a new file keeps :func:`new_temp_file`'s
    0600. Never setuid, setgid or sticky bits."""
    _keep_owner_bits(tmp, out, folder=False, bits=0o777)


def keep_dir_mode(tmp: PathLike, out: PathLike) -> None:
    """Give the finished folder ``tmp`` the group and permission bits of the folder ``out`` it is
    about to replace (``sign``, ``export``, ``--force``), so an artifact the operator opened to a
    serving account (``chgrp serving; chmod 2750``) stays open to it; a new folder keeps
    :func:`new_temp_dir`'s 0700. Called once the files are written: a read-only folder's mode
    given first would refuse them (a review, 2026-12-04 evening). Setgid is kept (new files take
    the group); never setuid or sticky."""
    _keep_owner_bits(tmp, out, folder=True, bits=0o2777)


def pid_alive(pid: int) -> bool:
    """Whether a process with this id exists (in doubt: yes, so its files are left alone)."""
    if pid <= 0 or os.name != "posix":
        return True
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError):  # OverflowError: past any pid_t, no process has it
        return False
    except OSError:  # EPERM: it exists, owned by someone else
        return True
    return True


# -- durability ------------------------------------------------------------------------------------
def _fsync_path(path: PathLike, flags: int = os.O_RDONLY) -> None:
    try:
        fd = os.open(path, flags)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:  # some filesystems cannot fsync a directory; durability is best effort there
        pass
    finally:
        os.close(fd)


def fsync_file(path: PathLike) -> None:
    """Flush a file's bytes to disk (best effort)."""
    _fsync_path(path)


def fsync_dir(path: PathLike) -> None:
    """Flush a folder's entries (renames, new names) to disk, where the system allows it."""
    _fsync_path(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))


def process_umask() -> int:
    """This process's umask, read without changing it where Linux says it (``/proc/self/status``,
    Linux 4.7 and later); elsewhere set and put straight back (finlite's writers run on one thread)."""
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8) & 0o777
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o077)
    os.umask(mask)
    return mask


def even_file_modes(path: PathLike) -> None:
    """Give every regular file of a finished artifact folder one mode, what a plain write would
    give it (``0666`` less the umask): files an export or a signature rewrote through a private
    temporary file were 0600 beside a 0644 manifest, so an operator who opened the folder to a
    group (``chgrp serving; chmod 750``) found some files unreadable to it (note 71). The folder's
    own mode (0700 when new) is what keeps an artifact private."""
    mode = 0o666 & ~process_umask()
    for child in Path(path).iterdir():
        if child.is_file() and not child.is_symlink() and stat.S_IMODE(child.lstat().st_mode) != mode:
            os.chmod(child, mode)


def fsync_tree(path: PathLike) -> None:
    """Flush every file of a (flat) folder, then the folder itself: cheap for an artifact."""
    root = Path(path)
    for child in root.iterdir():
        if child.is_file() and not child.is_symlink():
            _fsync_path(child)
    fsync_dir(root)


# -- the atomic exchange ---------------------------------------------------------------------------
def _load_renameat2() -> object | None:
    if not hasattr(os, "uname") or os.uname().sysname != "Linux":
        return None
    try:
        func = ctypes.CDLL(None, use_errno=True).renameat2  # glibc 2.28 and later
    except (OSError, AttributeError):
        return None
    func.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    func.restype = ctypes.c_int
    return func


#: glibc's renameat2, or None (then :func:`exchange` reports False). Tests set it to None to
#: exercise the two-rename fallback.
_RENAMEAT2 = _load_renameat2()
_RENAME_EXCHANGE = 2


def _same_folder(a: Path, b: Path) -> bool:
    """Whether ``a`` and ``b`` name one folder (by device and inode: relative, absolute or
    through a link alike); False when either cannot be read."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def exchange(a: PathLike, b: PathLike) -> bool:
    """Atomically swap two entries of the same folder; False when the system cannot (then nothing moved).

    Raises:
        OSError: the swap was possible in principle but failed (e.g. permissions).
    """
    func = _RENAMEAT2
    a, b = Path(a), Path(b)
    # The same folder however each is written: a temporary folder's absolute path beside the
    # user's relative ``kx/student`` compared unequal as text, and the artifact was replaced in two
    # renames, with an instant (or, after a kill, until the next write) of no artifact at its path
    # (a security review, 2026-12-06).
    if func is None or not _same_folder(a.parent, b.parent):
        return False
    dfd = os.open(a.parent, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        rc = func(dfd, os.fsencode(a.name), dfd, os.fsencode(b.name), _RENAME_EXCHANGE)  # type: ignore[operator]
        if rc == 0:
            return True
        err = ctypes.get_errno()
    finally:
        os.close(dfd)
    if err in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP, getattr(errno, "ENOTSUP", errno.EOPNOTSUPP)):
        return False  # an old kernel or a filesystem without RENAME_EXCHANGE
    raise OSError(err, os.strerror(err), str(a), None, str(b))


def remove_tree(path: PathLike) -> None:
    """Delete a folder finlite made or replaced (best effort: what cannot be removed is a leftover
    for later). A replaced artifact its operator made read-only is made writable first, or its
    files could not be unlinked."""
    root = Path(path)
    with contextlib.suppress(OSError):
        held = os.lstat(root)
        if stat.S_ISDIR(held.st_mode) and not stat.S_IMODE(held.st_mode) & stat.S_IWUSR:
            os.chmod(root, stat.S_IMODE(held.st_mode) | stat.S_IRWXU)
    try:
        children = sorted(root.iterdir())
    except OSError:
        children = []
    for i, child in enumerate(children):
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                child.unlink()
        if i == 0:
            kill_point("removing-old")
    shutil.rmtree(root, ignore_errors=True)


# -- leftovers of killed runs ----------------------------------------------------------------------
def _report(message: str) -> str:
    # The "finlite" logger: without logging configured, Python prints warnings on stderr as is.
    log.warning("warning: %s", message)
    return message


def interrupted_swap(out: PathLike) -> Path | None:
    """The newest ``.NAME.old-<pid>-<tag>`` folder beside a missing ``out`` whose writer is dead:
    the artifact a killed two-rename replacement moved aside (None when there is none). A reader
    names it, where it said only "does not exist" (a security review, 2026-12-06)."""
    out = Path(out)
    try:
        entries = list(out.parent.iterdir())
    except OSError:
        return None
    olds = []
    for entry in entries:
        match = _DIR_LEFTOVER.match(entry.name)
        if (match is not None and match["name"] == out.name and match["kind"] == "old" and not entry.is_symlink()
                and entry.is_dir() and not pid_alive(int(match["pid"]))):
            with contextlib.suppress(OSError):
                olds.append((entry.stat().st_mtime, entry))
    return max(olds)[1] if olds else None


def clean_leftovers(out: PathLike) -> list[str]:
    """Remove the temporary folders that dead writers left beside ``out``, and restore ``out`` from
    an ``.old-`` leftover when a killed two-rename swap left the path empty. Returns the reports
    (each also logged as a warning on the ``finlite`` logger, i.e. stderr by default).
    """
    out = Path(out)
    parent = out.parent
    try:
        entries = list(parent.iterdir())
    except OSError:
        return []
    dead: list[tuple[Path, str]] = []
    for entry in entries:
        match = _DIR_LEFTOVER.match(entry.name)
        if (match is None or match["name"] != out.name or entry.is_symlink() or not entry.is_dir()
                or pid_alive(int(match["pid"]))):
            continue
        dead.append((entry, match["kind"]))
    reports: list[str] = []
    if not os.path.lexists(out):
        # A two-rename swap was killed between its renames: the previous artifact waits under an
        # ``.old-`` name. Put the newest complete one back; keep any other, since it may be the only
        # copy of the user's artifact (never delete what cannot be shown to be a spare).
        olds = sorted((p for p, kind in dead if kind == "old"), key=lambda p: p.stat().st_mtime, reverse=True)
        restored = None
        for old in olds:
            if restored is None and _complete_artifact(old):
                os.rename(old, out)
                fsync_dir(parent)
                restored = old
                reports.append(_report(f"restored {str(out)!r} from {str(old)!r}: a run that was replacing it was "
                                       "killed half-way, so the previous artifact is back in place."))
            elif restored is None:
                reports.append(_report(f"kept {str(old)!r}, left by an interrupted run that was replacing "
                                       f"{str(out)!r}: it is not a complete artifact, so it was not restored. "
                                       "Inspect it, then delete it yourself."))
        dead = [(p, k) for p, k in dead if k != "old" or (restored is not None and p != restored)]
    for path, _ in dead:
        remove_tree(path)
        reports.append(_report(f"removed a leftover of an interrupted run: {str(path)!r}"))
    return reports


def _complete_artifact(path: Path) -> bool:
    from finlite._manifest import read_verified

    try:  # completeness, not trust: a signature is checked when the artifact is used
        read_verified(path, verify_key=False)
    except (ArtifactError, ConfigError):
        return False
    return True


#: The leftovers of other outputs a run names before it counts the rest (see clean_file_leftovers).
_LISTED_LEFTOVERS = 3


def clean_file_leftovers(folder: PathLike, name: str | None = None) -> list[str]:
    """Remove ``.NAME.<pid>-<tag>.tmp`` files of dead writers in ``folder`` (only NAME when given).

    With ``name``, the dead writers' leftovers of other names are reported, not removed: a nightly
    job writes a new name each night, so a killed night's file stayed unseen for good (an SRE's
    review, 2026-12-05). They are not removed because a writer on another machine sharing the
    folder has a process id this machine cannot check; this run's own name it is about to write.
    """
    try:
        entries = list(Path(folder).iterdir())
    except OSError:
        return []
    reports = []
    others: list[tuple[Path, int]] = []
    for entry in entries:
        match = _FILE_LEFTOVER.match(entry.name)
        if (match is None or entry.is_symlink() or not entry.is_file() or pid_alive(int(match["pid"]))):
            continue
        if name is not None and match["name"] != name:
            with contextlib.suppress(OSError):
                others.append((entry, entry.stat().st_size))
            continue
        try:
            entry.unlink()
        except OSError:
            continue
        reports.append(_report(f"removed a leftover of an interrupted run: {str(entry)!r}"))
    if others:
        others.sort(key=lambda item: item[0].name)
        shown = ", ".join(repr(str(path)) for path, _ in others[:_LISTED_LEFTOVERS])
        more = f" and {len(others) - _LISTED_LEFTOVERS} more" if len(others) > _LISTED_LEFTOVERS else ""
        reports.append(_report(
            f"{len(others)} leftover(s) of interrupted runs that wrote other files here ({sum(b for _, b in others):,} "
            f"bytes), left as they are: {shown}{more}. Their processes have ended; delete them if no run on another "
            "machine writes to this folder."))
    return reports
