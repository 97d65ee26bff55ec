"""Bounds on the work one command may ask for: cores, memory, seeds, counts, finite numbers.

Every check here runs *before* the work it guards (an allocation, a thread pool, a loop over
folds), so a bad value ends in a :class:`~finlite.errors.ConfigError` that names the option and
the fix instead of a hang, an out-of-memory kill or a native crash. ``option`` is the caller's
name for the value: a Python parameter name (``"rows"``, from the library: the message says "the
'rows' parameter" and the error's ``param`` is ``"rows"``, which the command line turns into its
flag) or a flag (``"--chunk-rows"``, from a check only the command line makes). Only the standard library is
used: the runtime imports this module too and must stay torch-free.
"""

from __future__ import annotations

import math
import numbers
import os
from pathlib import Path
from typing import Any

from finlite.errors import ConfigError

__all__ = [
    "MAX_DEPTH",
    "MAX_FOLDS",
    "MAX_SEED",
    "MAX_WIDTH",
    "MIN_FOLDS",
    "available_cores",
    "available_memory",
    "check_count",
    "check_finite",
    "check_memory",
    "check_seed",
    "check_threads",
    "format_bytes",
    "keep_freed_memory",
]

MAX_SEED = 2**32 - 1
"""Largest seed accepted: numpy's legacy seeding (and so every library built on it) takes 32 bits."""
MIN_FOLDS, MAX_FOLDS = 2, 20
"""Out-of-fold scores need 2 folds at least; beyond 20 each refit adds time and no information."""
MAX_WIDTH = 65_536
"""Widest hidden layer accepted; a credit model this wide is a typo (and the memory check follows)."""
MAX_DEPTH = 256
"""Most layers a model config may describe (the command line takes 16): a config read from a
manifest is untrusted, and a million one-unit layers would take minutes to build, even on torch's
allocation-free ``meta`` device."""

# Share of the available memory one request may take: the rest is left for the process itself
# (Python, torch, the table) and for the other programs on the machine.
_MEMORY_SHARE = 0.8


#: Fewer rows than this give no score PSI or feature CSI judgement: a handful of rows says nothing
#: of a population (``finlite score`` computes none; the report's stability section is not judged).
PSI_MIN_ROWS = 100

#: Fewest training rows behind a category value that an artifact or report names with a number of
#: its own (a bin of the stability record or the report's CSI tables; below it, a warning where the
#: encoding keeps one): a value of fewer rows is a few customers' (a data-protection walk-through,
#: 2026-12-07). The default --min-category-count.
CATEGORY_MIN_ROWS = 10

#: Fewest rows of each class whose metrics a validator can read as evidence: with fewer, one row
#: moves them by whole points (the commands warn; the report's discrimination section is at
#: least WARN, so the model card lists it among the limitations).
THIN_CLASS_ROWS = 30

def available_cores() -> int:
    """Cores this process may run on (its CPU affinity, which containers and ``taskset`` narrow)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not Linux
        return max(1, os.cpu_count() or 1)


def _cgroup_room() -> int | None:
    """Bytes left under a cgroup v2 memory limit, or None when there is no limit."""
    base = Path("/sys/fs/cgroup")
    try:
        limit = (base / "memory.max").read_text().strip()
        if limit == "max":
            return None
        return max(0, int(limit) - int((base / "memory.current").read_text().strip()))
    except (OSError, ValueError):
        return None


def available_memory() -> int | None:
    """Bytes of memory available to new allocations, or None when it cannot be told.

    ``MemAvailable`` of ``/proc/meminfo`` (what the kernel can hand out without swapping),
    narrowed by a cgroup v2 limit when the process runs in one, and by this process's own
    limits (``ulimit -v`` and ``-d``, which batch schedulers set): what is left of each above
    the address space or data the process maps already.
    """
    found: int | None = None
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    found = int(line.split()[1]) * 1024
                    break
    except (OSError, ValueError, IndexError):
        found = None
    for room in (_cgroup_room(), _process_room()):
        if room is not None:
            found = room if found is None else min(found, room)
    return found


def _process_room() -> int | None:
    """Bytes left under this process's RLIMIT_AS and RLIMIT_DATA (each against the size of
    ``/proc/self/status``'s VmSize and VmData), or None when neither is set or cannot be read.
    Under ``ulimit -v`` the machine's free memory said a 2.4 GiB encoding would fit, and it
    failed with a MemoryError (a review, 2026-12-05)."""
    try:
        import resource
    except ImportError:  # pragma: no cover - not a POSIX system
        return None
    try:
        # latin-1 reads any byte: the Name line holds the program's name as it was started (pythön).
        with open("/proc/self/status", encoding="latin-1") as fh:
            sizes = {k: int(v.split()[0]) * 1024 for k, v in (line.split(":", 1) for line in fh if ":" in line)
                     if k in ("VmSize", "VmData")}
    except (OSError, ValueError, IndexError):
        return None
    room: int | None = None
    for limit, used in ((resource.RLIMIT_AS, "VmSize"), (resource.RLIMIT_DATA, "VmData")):
        try:
            soft = resource.getrlimit(limit)[0]
        except (OSError, ValueError):  # pragma: no cover
            continue
        if soft == resource.RLIM_INFINITY or used not in sizes:
            continue
        left = max(int(soft) - sizes[used], 0)
        room = left if room is None else min(room, left)
    return room


def format_bytes(n: float) -> str:
    """Human-readable size: ``27.0 GiB``."""
    value = float(n)
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if abs(value) < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"  # pragma: no cover


def check_memory(nbytes: float, what: str, fix: str) -> None:
    """Refuse a request for ``nbytes`` that would not fit in the memory available now.

    Args:
        nbytes: estimated bytes the request will allocate.
        what: the request, e.g. ``"--batch 100000000"``.
        fix: how to ask for less, e.g. ``"lower --batch"``.

    Raises:
        ConfigError: the estimate exceeds the share of available memory a request may take.
    """
    free = available_memory()
    if free is None:
        return
    if nbytes > _MEMORY_SHARE * free:
        raise ConfigError(f"{what} needs about {format_bytes(nbytes)} of memory, more than {memory_share_text(free)}; "
                          f"{fix}.")


def memory_share_text(free: float) -> str:
    """What one request may take of ``free`` bytes, said in full: "the 0.9 GiB one request may
    take (80 % of the 1.2 GiB available to this process)". (Saying only "1.2 GiB is available"
    beside a need of 1.0 GiB read as a refusal of something that fits: a review, 2026-12-05.)"""
    if free < 1 << 20:  # a limit (ulimit -v) at or below what the process holds already
        return "what this process may still allocate, nearly nothing (its memory limit, e.g. ulimit -v, is reached)"
    return (f"the {format_bytes(_MEMORY_SHARE * free)} one request may take ({_MEMORY_SHARE:.0%} of the "
            f"{format_bytes(free)} available to this process)")


def _is_int(value: Any) -> bool:
    # A numpy integer is a whole number too (np.int64 from a frame's shape or np.random: numpy
    # registers its integers as numbers.Integral, its bool not); a bool is not.
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def plain_ints(config: Any, names: tuple[str, ...]) -> None:
    """Turn the numpy integers among a frozen dataclass's ``names`` into plain ints, in place.

    A seed from ``np.random`` or a size from a frame's shape is a whole number; kept as a plain
    int the settings still write as JSON (such values were refused: a review of the Python API,
    2026-12-05). Anything else is left for the dataclass's own checks to refuse.
    """
    for name in names:
        value = getattr(config, name)
        if _is_int(value) and not isinstance(value, int):
            object.__setattr__(config, name, int(value))


def _named(option: str) -> tuple[str, str | None]:
    """How a message names ``option``, and the Python parameter it is (None for a flag)."""
    if option.startswith("-") or option.isupper() or not option.isidentifier():
        return option, None  # a flag or an argument (ARTIFACT) of a check the command line makes
    return f"The {option!r} parameter", option


def check_count(value: Any, option: str, *, low: int = 1, high: int | None = None, fix: str = "") -> int:
    """Validate an integer option in ``[low, high]`` and return it."""
    if not _is_int(value) or value < low or (high is not None and value > high):
        if low == 1:
            rule = "a positive whole number" + (f" of at most {high:,}" if high is not None else "")
        else:
            rule = f"a whole number from {low} to {high}" if high is not None else f"a whole number of at least {low}"
        label, param = _named(option)
        raise ConfigError(f"{label} must be {rule}; got {value!r}." + (f" {fix}" if fix else ""), param=param)
    return int(value)


def check_seed(value: Any, option: str = "seed") -> int:
    """Validate a seed: a whole number from 0 to 2**32 - 1."""
    return check_count(value, option, low=0, high=MAX_SEED, fix="Pick any seed in that range, e.g. 0.")


def check_threads(value: Any, option: str = "threads") -> int:
    """Validate a thread count: from 1 to the cores this process may use (more only adds contention)."""
    cores = available_cores()
    return check_count(value, option, low=1, high=cores,
                       fix=f"This machine gives the process {cores} core(s); leave it unset to use them all.")


def check_finite(value: Any, option: str, *, low: float | None = None, high: float | None = None,
                 low_open: bool = False, high_open: bool = False) -> float:
    """Validate a finite number within optional bounds (open or closed) and return it as float."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if ok and low is not None:
        ok = value > low if low_open else value >= low
    if ok and high is not None:
        ok = value < high if high_open else value <= high
    if not ok:
        span = []
        if low is not None:
            span.append(f"{'>' if low_open else '≥'} {low:g}")
        if high is not None:
            span.append(f"{'<' if high_open else '≤'} {high:g}")
        rule = " and ".join(span)
        label, param = _named(option)
        raise ConfigError(f"{label} must be a finite number{(' ' + rule) if rule else ''}; got {value!r}.", param=param)
    return float(value)


#: glibc's ``mallopt`` parameters (malloc.h): M_TRIM_THRESHOLD and M_MMAP_THRESHOLD.
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3


def keep_freed_memory(reuse_bytes: int = 256 << 20) -> bool:
    """Let this process's C allocator keep up to ``reuse_bytes`` of freed memory for reuse.

    A streaming job (``finlite score``) allocates and frees a few megabytes per chunk from
    several threads. glibc's defaults hand that memory back to the kernel after each chunk and
    take it again for the next, each page a fault: 145,000 of them (about 0.9 CPU-s of kernel
    time) over 10 M rows, against 25,000 with memory kept. Only the command line calls this, on a
    process it owns; a library call does not change its caller's allocator. Returns False where
    the C library has no ``mallopt`` (not glibc), changing nothing.
    """
    import ctypes

    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    reuse = int(min(reuse_bytes, 2**31 - 1))
    # A fixed mmap threshold (32 MiB, glibc's largest dynamic one) also keeps chunk-sized
    # buffers on the heap, where the trim threshold lets them be reused.
    return bool(mallopt(_M_MMAP_THRESHOLD, 32 << 20)) and bool(mallopt(_M_TRIM_THRESHOLD, reuse))
