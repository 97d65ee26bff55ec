"""The ``finlite`` command's entry point: the process set-up that must come before numpy loads,
then the command line (:func:`finlite.cli.main`).

It imports nothing heavy itself: numpy's BLAS reads its thread count once, when numpy is first
imported, which ``finlite.cli`` does.
"""

from __future__ import annotations

import os
import sys

#: Commands whose process gets one BLAS thread (``OPENBLAS_NUM_THREADS=1``, unless set already).
#: numpy's OpenBLAS starts a thread per core when it loads, and each spins for about 0.1 s of CPU
#: waiting for work before it sleeps: 0.25 against 0.14 CPU-s of user time for ``finlite score``
#: on a 1,000-row file here, on a 2-core machine where the spinning thread takes the core the
#: scoring threads are about to use. These commands run their numbers through ONNX Runtime (its
#: own threads) and numpy's element-wise loops; the only matrix products they make (the reason
#: codes' grouping) are small and made on threads that already use every core.
ONE_BLAS_THREAD = frozenset({"score", "serve"})

#: Commands that stamp what they write with ``SOURCE_DATE_EPOCH`` (an artifact's or an export's
#: ``created_utc``, through :func:`finlite._util.utc_timestamp`): a bad value is refused before
#: numpy loads.
STAMPED = frozenset({"train", "import-teacher", "compress", "search", "demo", "export", "reproduce"})


def main() -> None:
    """Console-script entry point (``finlite``)."""
    args = sys.argv[1:]
    if args and args[0] in ONE_BLAS_THREAD:
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    # Before numpy too: its f2py (which scipy imports) reads SOURCE_DATE_EPOCH with int(), and a
    # value such as "abc", or a blank one, stopped the command with numpy's traceback (exit 1).
    # A command that stamps what it writes with it refuses a bad value with our message (exit 2);
    # the others never read it, so a bad or blank value is dropped from this process's environment
    # rather than stopping them (a review, 2026-12-06).
    from finlite._util import source_date_epoch
    from finlite.errors import ConfigError

    try:
        source_date_epoch()
    except ConfigError as exc:
        if args and args[0] in STAMPED:
            print(f"error: {exc}", file=sys.stderr)
            raise SystemExit(2) from None
        del os.environ["SOURCE_DATE_EPOCH"]
    if os.environ.get("SOURCE_DATE_EPOCH", "x").strip() == "":  # blank: unset for finlite, int("") for numpy
        del os.environ["SOURCE_DATE_EPOCH"]
    from finlite.cli import main as run

    run()
