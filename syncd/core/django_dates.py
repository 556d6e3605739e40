"""Django's date format letters, for the `date('F j, Y')` filter of Readwise's (Django-style)
export templates. Pure; English names, as Readwise writes them.
"""

from __future__ import annotations

import calendar
import datetime
import re
from collections.abc import Callable
from email.utils import format_datetime

from syncd.core.dates import DAYS, MONTHS, as_datetime, hour12

_DJANGO_LETTERS = re.compile(r"(?<!\\)([aAbcdDeEfFgGhHiIjlLmMnNoOPrsStTUuwWyYzZ])")
_DJANGO_ESCAPED = re.compile(r"\\(.)", re.DOTALL)

_MONTHS_AP = (
    "Jan.",
    "Feb.",
    "March",
    "April",
    "May",
    "June",
    "July",
    "Aug.",
    "Sept.",
    "Oct.",
    "Nov.",
    "Dec.",
)


def _offset_seconds(moment: datetime.datetime) -> int | None:
    offset = moment.utcoffset()
    return None if offset is None else offset.days * 86400 + offset.seconds


def _django_f(moment: datetime.datetime) -> str:
    hour = hour12(moment)
    return f"{hour}:{moment.minute:02d}" if moment.minute else str(hour)


def _django_a(moment: datetime.datetime) -> str:
    return "a.m." if moment.hour < 12 else "p.m."


def _django_P(moment: datetime.datetime) -> str:
    if moment.minute == 0 and moment.hour == 0:
        return "midnight"
    if moment.minute == 0 and moment.hour == 12:
        return "noon"
    return f"{_django_f(moment)} {_django_a(moment)}"


def _django_O(moment: datetime.datetime) -> str:
    seconds = _offset_seconds(moment) or 0
    sign = "-" if seconds < 0 else "+"
    seconds = abs(seconds)
    return f"{sign}{seconds // 3600:02d}{(seconds // 60) % 60:02d}"


def _django_I(moment: datetime.datetime) -> str:
    return "1" if moment.dst() else "0"


def _django_S(moment: datetime.datetime) -> str:
    if moment.day in (11, 12, 13):
        return "th"
    return {1: "st", 2: "nd", 3: "rd"}.get(moment.day % 10, "th")


_DJANGO: dict[str, Callable[[datetime.datetime], str]] = {
    # day
    "d": lambda m: f"{m.day:02d}",
    "j": lambda m: str(m.day),
    "D": lambda m: DAYS[m.weekday()][:3],
    "l": lambda m: DAYS[m.weekday()],
    "S": _django_S,
    "w": lambda m: str((m.weekday() + 1) % 7),
    "z": lambda m: str(m.timetuple().tm_yday),
    # week
    "W": lambda m: str(m.isocalendar()[1]),
    # month
    "F": lambda m: MONTHS[m.month - 1],
    "E": lambda m: MONTHS[m.month - 1],  # the genitive month name: the same word in English
    "m": lambda m: f"{m.month:02d}",
    "M": lambda m: MONTHS[m.month - 1][:3],
    "n": lambda m: str(m.month),
    "b": lambda m: MONTHS[m.month - 1][:3].lower(),
    "N": lambda m: _MONTHS_AP[m.month - 1],
    "t": lambda m: str(calendar.monthrange(m.year, m.month)[1]),
    # year
    "L": lambda m: str(calendar.isleap(m.year)),
    "o": lambda m: str(m.isocalendar()[0]),
    "y": lambda m: f"{m.year % 100:02d}",
    "Y": lambda m: f"{m.year:04d}",
    # time
    "a": _django_a,
    "A": lambda m: "AM" if m.hour < 12 else "PM",
    "f": _django_f,
    "g": lambda m: str(hour12(m)),
    "G": lambda m: str(m.hour),
    "h": lambda m: f"{hour12(m):02d}",
    "H": lambda m: f"{m.hour:02d}",
    "i": lambda m: f"{m.minute:02d}",
    "s": lambda m: f"{m.second:02d}",
    "u": lambda m: f"{m.microsecond:06d}",
    "P": _django_P,
    # time zone
    "e": lambda m: (m.tzname() or "") if m.tzinfo is not None else "",
    "I": _django_I,
    "O": _django_O,
    "T": lambda m: m.tzname() or "",
    "Z": lambda m: str(_offset_seconds(m) or 0),
    # full date/time
    "c": lambda m: m.isoformat(),
    "r": format_datetime,  # RFC 5322
    "U": lambda m: str(calendar.timegm(m.utctimetuple())),
}
# Letters that read a moment's zone: a naive moment is taken as UTC for them (as Django does
# with TIME_ZONE = "UTC"; `e` and `c` show a naive moment as naive, as Django does).
_DJANGO_ZONED = frozenset("IOTZrU")


def django_date(moment: datetime.date | datetime.datetime, fmt: str) -> str:
    """Given a date or datetime and a Django/PHP date format, return it formatted as Django's
    ``date`` filter does (``'F j, Y'`` -> ``November 19, 2022``, ``'g:i A'`` -> ``5:05 PM``).

    Letters: ``d j D l N S w z W F m M n b t L o y Y E`` (date), ``a A f g G h H i s u P``
    (time: ``a`` is ``a.m.``/``p.m.``, ``f`` is ``5`` or ``5:30``, ``P`` adds ``midnight`` and
    ``noon``), ``e I O T Z`` (time zone), ``c r U``. A backslash makes the next character
    literal; every other character is literal. A bare date is taken at midnight, and a naive
    moment is read as UTC (Django's output with ``TIME_ZONE = "UTC"``).
    """
    value = as_datetime(moment)
    aware = value if value.tzinfo is not None else value.replace(tzinfo=datetime.timezone.utc)
    pieces: list[str] = []
    for index, piece in enumerate(_DJANGO_LETTERS.split(fmt)):
        if index % 2 and piece == "c" and not isinstance(moment, datetime.datetime):
            pieces.append(moment.isoformat())  # Django writes a bare date as 2022-11-19
        elif index % 2:
            pieces.append(_DJANGO[piece](aware if piece in _DJANGO_ZONED else value))
        elif piece:
            pieces.append(_DJANGO_ESCAPED.sub(r"\1", piece))
    return "".join(pieces)


# --------------------------------------------------------------------------------------------
# moment.js formats (Obsidian's daily notes: `.obsidian/daily-notes.json`, default YYYY-MM-DD)
# --------------------------------------------------------------------------------------------
