"""A clock that tests move by hand, for the loopback server and the syncer."""

from __future__ import annotations

from datetime import datetime, timedelta


class Clock:
    """A server clock the test moves by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)
