"""The progress bar of `syncd sync` on a terminal; plain log lines otherwise.

Rules it keeps:
- It shows at once, before Readwise answers ("asking Readwise for changes since ...").
- It fits the terminal: the line is cut to the width less one column, so it never wraps (a
  wrapped `\\r` line would scroll a new line at every redraw).
- Log lines print above it, never on its line: while the bar is up, the root logger's handler is
  swapped for one that clears the bar's line, writes the record, and draws the bar again.
- It shows books done of the total, highlights seen, and an ETA once there is a rate to go by.
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Callable
from types import TracebackType
from typing import TextIO

CLEAR_LINE = "\r\x1b[K"


def format_bar(
    width: int, done: int, total: int, highlights: int, eta_seconds: float | None
) -> str:
    """Return the bar's line for a terminal `width` columns wide: never longer than width - 1.
    Narrower terminals drop the bar first, then shorten the words."""
    total = max(total, done, 1)
    eta = ""
    if eta_seconds is not None:
        minutes, seconds = divmod(int(eta_seconds + 0.5), 60)
        eta = f", ETA {minutes}:{seconds:02d}"
    room = width - 1
    tail = f"{done}/{total} books, {highlights} highlights{eta}"
    bar_width = min(30, room - len(tail) - 3)
    if bar_width >= 5:
        filled = bar_width * done // total
        return f"[{'#' * filled}{' ' * (bar_width - filled)}] {tail}"
    for line in (tail, f"{done}/{total} books, {highlights} hl{eta}"):
        if len(line) <= room:
            return line
    return f"{done}/{total} books"[:room]


class ProgressBar:
    """One redrawn line on a terminal stream, with log records printed above it."""

    def __init__(
        self,
        stream: TextIO,
        *,
        columns: Callable[[], int] = lambda: shutil.get_terminal_size().columns,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._stream = stream
        self._columns = columns
        self._clock = clock
        self._line = ""
        self._started = clock()
        self._saved: list[logging.Handler] = []

    # the bar
    def start(self, text: str) -> None:
        """Show `text` on the bar's line at once (before any progress is known)."""
        self._started = self._clock()
        self._draw(text[: max(self._columns() - 1, 1)])

    def update(self, done: int, total: int, highlights: int = 0) -> None:
        elapsed = self._clock() - self._started
        eta = elapsed / done * (max(total, done) - done) if done and elapsed > 0 else None
        self._draw(format_bar(self._columns(), done, total, highlights, eta))

    def _draw(self, line: str) -> None:
        self._line = line
        self._stream.write(CLEAR_LINE + line)
        self._stream.flush()

    def close(self) -> None:
        self._restore_logging()
        if self._line:
            self._stream.write(CLEAR_LINE)
            self._stream.flush()
            self._line = ""

    # log records above the bar
    def write_above(self, text: str) -> None:
        self._stream.write(CLEAR_LINE + text + "\n" + self._line)
        self._stream.flush()

    def capture_logging(self) -> None:
        """Send the root logger's records through the bar while it is up."""
        root = logging.getLogger()
        self._saved = list(root.handlers)
        formatter = self._saved[0].formatter if self._saved else None
        root.handlers[:] = [_AboveBar(self, formatter)]

    def _restore_logging(self) -> None:
        if self._saved:
            logging.getLogger().handlers[:] = self._saved
            self._saved = []

    def __enter__(self) -> ProgressBar:
        self.capture_logging()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()


class _AboveBar(logging.Handler):
    def __init__(self, bar: ProgressBar, formatter: logging.Formatter | None) -> None:
        super().__init__()
        self._bar = bar
        if formatter:
            self.setFormatter(formatter)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._bar.write_above(self.format(record))
        except Exception:  # a log line must never break the sync
            self.handleError(record)
