"""A one-line progress bar for terminals (`syncd sync` on a TTY); plain log lines otherwise."""

from __future__ import annotations

from typing import TextIO

WIDTH = 30


class ProgressBar:
    """Redraws `[#####     ] 120/4361 books` in place on the given terminal stream."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._drawn = False

    def update(self, done: int, total: int) -> None:
        total = max(total, done, 1)
        filled = WIDTH * done // total
        self._stream.write(f"\r[{'#' * filled}{' ' * (WIDTH - filled)}] {done}/{total} books")
        self._stream.flush()
        self._drawn = True

    def close(self) -> None:
        if self._drawn:
            self._stream.write("\n")
            self._stream.flush()
