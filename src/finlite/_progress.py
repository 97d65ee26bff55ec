"""The one progress helper for every step that can take more than a few seconds.

Training, distillation, fine-tuning after pruning, the student search and boosted-teacher
fitting all report through :class:`Progress`:

- on a terminal (stderr is a TTY) a tqdm bar with rows/s and an ETA;
- anywhere else (CI, a scheduler's log, a pipe) one plain line per unit (epoch, candidate,
  or every ``every`` boosting rounds) on stderr, so a 20-minute job never prints nothing::

      finlite distilling: epoch 3/40  812,345 rows/s  elapsed 0:00:12  ETA 0:02:30  val -loss -0.0123 (best -0.0100)

- nothing at all when progress is off (``--quiet``, or ``progress=False`` in the API).

The ETA assumes every remaining unit takes the mean time of those done so far; with early
stopping it is an upper bound.
"""

from __future__ import annotations

import sys
import time
from types import TracebackType
from typing import Any, Literal, TextIO

from finlite._util import terminal_safe

__all__ = ["Progress", "format_seconds", "progress_mode"]

Mode = Literal["bar", "lines", "off"]


def progress_mode(enabled: bool | str, stream: TextIO | None = None) -> Mode:
    """How progress is shown: "bar" on a terminal, "lines" elsewhere, "off" when disabled.

    ``enabled`` is a bool (True = pick by the stream) or one of the modes, to force it.
    """
    if enabled in ("bar", "lines", "off"):
        return enabled  # type: ignore[return-value]
    if not enabled:
        return "off"
    stream = stream if stream is not None else sys.stderr
    try:
        tty = bool(stream.isatty())
    except (AttributeError, ValueError):  # a closed or exotic stream: plain lines are always safe
        tty = False
    return "bar" if tty else "lines"


def format_seconds(seconds: float) -> str:
    """``H:MM:SS`` (what tqdm prints too), for elapsed time and ETA."""
    seconds = max(0, round(seconds))
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


class Progress:
    """Progress of one step over ``total`` units (epochs, candidates, boosting rounds).

    Args:
        step: the step's name, printed first ("training mlp", "distilling", "search").
        total: the most units the step runs (early stopping may end it sooner).
        unit: what one unit is called in the output.
        enabled: True (bar on a terminal, lines elsewhere), False (nothing), or a mode.
        every: in "lines" mode print only every ``every`` units (and the last); boosting rounds
            are many and short, epochs are few and long.
        stream: where to write (default: ``sys.stderr`` at creation).
    """

    def __init__(self, step: str, total: int, *, unit: str = "epoch", enabled: bool | str = True, every: int = 1,
                 stream: TextIO | None = None) -> None:
        self.step, self.total, self.unit, self.every = step, max(int(total), 1), unit, max(int(every), 1)
        self.stream = stream if stream is not None else sys.stderr
        self.mode: Mode = progress_mode(enabled, self.stream)
        self.done = 0
        self.rows = 0
        self.start = time.perf_counter()
        self._bar: Any = None
        if self.mode == "bar":
            from tqdm.auto import tqdm

            self._bar = tqdm(total=self.total, desc=terminal_safe(step), unit=unit, leave=False, file=self.stream)

    def update(self, n: int = 1, *, rows: int = 0, metric: str | None = None) -> None:
        """Record ``n`` more units that processed ``rows`` rows; ``metric`` is shown as is."""
        self.done += n
        self.rows += rows
        elapsed = time.perf_counter() - self.start
        rate = self.rows / elapsed if elapsed > 0 and self.rows else None
        if self.mode == "bar":
            postfix = {}
            if rate is not None:
                postfix["rows/s"] = f"{rate:,.0f}"
            if metric:
                postfix["now"] = metric
            self._bar.set_postfix(postfix, refresh=False)
            self._bar.update(n)
        elif self.mode == "lines" and (self.done % self.every == 0 or self.done >= self.total):
            self.stream.write(self.line(elapsed, rate, metric) + "\n")
            self.stream.flush()

    def line(self, elapsed: float, rate: float | None, metric: str | None) -> str:
        """The plain progress line of "lines" mode."""
        eta = elapsed / self.done * (self.total - self.done) if self.done else 0.0
        parts = [f"finlite {terminal_safe(self.step)}: {self.unit} {self.done}/{self.total}"]
        if rate is not None:
            parts.append(f"{rate:,.0f} rows/s")
        parts.append(f"elapsed {format_seconds(elapsed)}")
        parts.append(f"ETA {format_seconds(eta)}")
        if metric:
            parts.append(metric)
        return "  ".join(parts)

    def close(self) -> None:
        """Remove the bar (lines mode has nothing to undo)."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
