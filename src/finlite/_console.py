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


def main() -> None:
    """Console-script entry point (``finlite``)."""
    args = sys.argv[1:]
    if args and args[0] in ONE_BLAS_THREAD:
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    # Before numpy too: its f2py (which scipy imports) reads SOURCE_DATE_EPOCH with int() and a
    # value such as "abc" stopped the command with a traceback instead of our message and exit 2.
    from finlite._util import source_date_epoch
    from finlite.errors import ConfigError

    try:
        source_date_epoch()
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    from finlite.cli import main as run

    run()
