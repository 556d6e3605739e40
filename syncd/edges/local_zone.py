"""The local time zone: which zone the pages' dates and times are in, read from `TZ`.

`zone_from_env` gives the `tzinfo` the pure core converts instants with (`Style.tz`), and a
one-line warning when `TZ` is no zone at all:

- `TZ` unset, a POSIX rule (`CET-1CEST,M3.5.0,M10.5.0/3`, as routers and NAS firmware set it) or
  `:/path/to/a/zone/file`: `CLibraryZone`, which asks the C library's `localtime()` for each
  instant, so that a time is shown under the rules in force at that instant (a daemon running
  through a daylight-saving change follows it, as does one whose `/etc/localtime` is changed
  while it runs).
- A zone name (`America/New_York`, `:Europe/Paris`): `zoneinfo.ZoneInfo`, the same rules.
- Set but empty, or neither a name nor a rule (`Nowhere/Atlantis`): UTC, as the C library does,
  with a warning saying so.

Never a fixed offset taken at start: that is what showed "2:30 AM" for an instant of the night
New York springs forward, a time that did not exist.
"""

from __future__ import annotations

import os
import re
import time
import zoneinfo
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone, tzinfo

__all__ = ["CLibraryZone", "zone_from_env"]

_DAY = 86400
_OFFSET = r"[+-]?\d{1,2}(?::\d{1,2}(?::\d{1,2})?)?"
_NAME = r"(?:[A-Za-z]{3,}|<[A-Za-z0-9+-]{3,}>)"
_DATE = r"(?:J\d{1,3}|\d{1,3}|M\d{1,2}\.\d\.\d)"
_RULE = rf"{_DATE}(?:/[+-]?\d{{1,3}}(?::\d{{1,2}}(?::\d{{1,2}})?)?)?"
#: A POSIX TZ rule (POSIX.1 section 8.3): std offset [dst [offset] [,start[/time],end[/time]]].
POSIX_RULE = re.compile(rf"{_NAME}{_OFFSET}(?:{_NAME}(?:{_OFFSET})?(?:,{_RULE},{_RULE})?)?")


class CLibraryZone(tzinfo):
    """The process's local zone as the C library's `localtime()` reads it (`TZ`, else
    `/etc/localtime`), asked again at each instant: the offset in force then, not at start."""

    def fromutc(self, dt: datetime) -> datetime:
        if dt.tzinfo is not self:
            raise ValueError("fromutc: dt.tzinfo is not self")
        instant = dt.replace(tzinfo=timezone.utc).timestamp()
        local = (dt + timedelta(seconds=_gmtoff(instant))).replace(tzinfo=self)
        # The later of two instants showing the same wall time (the hour repeated in autumn).
        if self.utcoffset(local) != timedelta(seconds=_gmtoff(instant)):
            local = local.replace(fold=1)
        return local

    def utcoffset(self, dt: datetime | None) -> timedelta | None:
        if dt is None:
            return None
        return timedelta(seconds=_gmtoff(self._instant(dt)))

    def dst(self, dt: datetime | None) -> timedelta | None:
        return None  # not known from localtime() alone; nothing in syncd asks

    def tzname(self, dt: datetime | None) -> str | None:
        if dt is None:
            return None
        return time.localtime(self._instant(dt)).tm_zone

    @staticmethod
    def _instant(dt: datetime) -> float:
        """The POSIX time a wall time names here (PEP 495: `fold` picks the earlier or later of
        a repeated time; a time in a gap is read with the offset before the change)."""
        wall = dt.replace(tzinfo=timezone.utc, fold=0).timestamp()
        offsets = sorted({_gmtoff(wall - _DAY), _gmtoff(wall), _gmtoff(wall + _DAY)}, reverse=True)
        matches = [wall - o for o in offsets if _gmtoff(wall - o) == o]
        if matches:
            return matches[-1] if dt.fold and len(matches) > 1 else matches[0]
        return wall - _gmtoff(wall - _DAY)

    def __repr__(self) -> str:
        return "CLibraryZone()"


def _gmtoff(instant: float) -> int:
    return time.localtime(instant).tm_gmtoff


def zone_from_env(env: Mapping[str, str]) -> tuple[tzinfo, str | None]:
    """Given the environment, return the zone `TZ` names and a warning (None when it is one)."""
    if "TZ" not in env:
        return CLibraryZone(), None
    value = env["TZ"]
    if not value.strip():
        return timezone.utc, "TZ is set but empty; dates and times are shown in UTC"
    name = value[1:] if value.startswith(":") else value
    if name.startswith("/"):
        if os.path.isfile(name):
            return CLibraryZone(), None
        return timezone.utc, f"TZ={value!r}: no zone file there; dates and times are shown in UTC"
    try:
        return zoneinfo.ZoneInfo(name), None
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        pass
    if POSIX_RULE.fullmatch(name):  # the C library reads a rule after a colon as well
        return CLibraryZone(), None
    return timezone.utc, (
        f"TZ={value!r} is neither a time zone name nor a POSIX TZ rule; "
        "dates and times are shown in UTC"
    )
