"""A command's stop by a signal (a scheduler's SIGTERM, a lost terminal's SIGHUP, Ctrl-C), kept so
that it is never lost.

The handler raises ``SystemExit(128 + signal)`` where the main thread stands, so every ``finally``
and cleanup runs and no temporary output is left behind. Python discards an exception raised
inside a weak-reference callback or a ``__del__`` ("Exception ignored in ..."): a SIGTERM that
landed while an import ran such a callback (the first half-second of ``score``, importing ONNX
Runtime) was swallowed, the job ran on, wrote its output and exited 0, and the repeated signal was
ignored (a scheduler owner's walk-through, 2026-12-07). :func:`install` hooks
``sys.unraisablehook``: a discarded stop is delivered again, to be raised where it counts (up to
:data:`_MAX_RESENDS` times), and a command that still ends as if none had come exits with the
stop's code (:func:`finished`). And
an error the interrupted work met afterwards (an import cut short reads "ImportError:
initialization failed", which was told as a broken artifact with exit 2) is the stop's:
:func:`requested` lets the command line's error handler exit with the signal's code instead.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from typing import Any

__all__ = ["finished", "install", "requested"]

_requested: int | None = None
_previous_hook: Any = None
#: Re-sends of one discarded stop at most: a stretch of work spent mostly inside callbacks can
#: discard every one (a review, 2026-12-07: 179 in 3 s); the command's end then exits with the
#: stop's code all the same (:func:`finished`).
_MAX_RESENDS = 50
_resends = 0


def requested() -> int | None:
    """The signal that asked this process to stop (SIGTERM, SIGHUP or SIGINT), or None."""
    return _requested


def _stop(signum: int, frame: Any) -> None:
    """SIGTERM or SIGHUP: end as Ctrl-C ends a command, through every cleanup; exit 128 + the
    signal's number, as the shell reports a process ended by it. Further signals of that kind are
    ignored while the clean-up runs (a supervisor repeating its SIGTERM must not interrupt it)."""
    global _requested
    first = _requested is None
    _requested = signum
    signal.signal(signum, signal.SIG_IGN)
    if first:
        # Neutral: the signal may land after an output was already renamed into place. After SIGHUP
        # the terminal may be gone, and writing to it fails (EIO): the exit must not become that error.
        with contextlib.suppress(OSError, ValueError):
            sys.stderr.write(f"finlite: stopped by {signal.Signals(signum).name}; removing any partial output.\n")
    raise SystemExit(128 + signum)


def _interrupt(signum: int, frame: Any) -> None:
    """Ctrl-C: recorded, then Python's own KeyboardInterrupt, so an error the interrupted start-up
    meets afterwards is the stop's (exit 130), not "export the artifact again" with exit 2."""
    global _requested
    _requested = signum
    signal.default_int_handler(signum, frame)


def finished(code: Any) -> Any:
    """The exit code of a command that ended with ``code``: the stop's (128 + its number) when a
    stop was asked for and the command still ended as if none had been (0 or None), else ``code``."""
    if _requested is not None and code in (0, None):
        return 128 + _requested
    return code


def _send_again(signum: int) -> None:
    """Send ``signum`` to this process a moment from now, from another thread: sent from the hook
    itself, its handler ran inside the hook, and that exit was discarded too."""
    def later() -> None:
        time.sleep(0.01)
        os.kill(os.getpid(), signum)

    threading.Thread(target=later, name="finlite-stop", daemon=True).start()


def _unraisable(info: Any) -> None:
    """``sys.unraisablehook``: a stop discarded inside a callback is sent again (its handler then
    runs in the main thread's own code, where its exit is raised); anything else goes to the hook
    there was."""
    global _requested, _resends
    if info.exc_type in (SystemExit, KeyboardInterrupt) and _requested is not None:
        if _resends < _MAX_RESENDS:
            _resends += 1
            if info.exc_type is SystemExit:
                signal.signal(_requested, _stop)
            _send_again(_requested)
        return
    (_previous_hook or sys.__unraisablehook__)(info)


def install() -> None:
    """Stop on SIGTERM and SIGHUP as on Ctrl-C (SIGHUP only where it is not ignored already:
    ``nohup``'s choice is kept), record Ctrl-C, and deliver again a stop Python discarded
    (:func:`_unraisable`). Main thread only."""
    global _previous_hook
    if threading.current_thread() is not threading.main_thread():
        return
    signal.signal(signal.SIGTERM, _stop)
    if signal.getsignal(signal.SIGHUP) is signal.SIG_DFL:
        signal.signal(signal.SIGHUP, _stop)
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:  # not where it is ignored (a background job)
        signal.signal(signal.SIGINT, _interrupt)
    if sys.unraisablehook is not _unraisable:
        _previous_hook = sys.unraisablehook
        sys.unraisablehook = _unraisable
