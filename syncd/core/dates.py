"""Dates and times as the pages show them.

Three pure formatters:

- `format_journal_date` writes a date the way Logseq names its journal page for it, from the
  graph's ``:journal/page-title-format`` (``MMM do, yyyy`` -> ``Nov 19th, 2022``), so that
  ``[[...]]`` links in synced pages land on the journal page.
- `format_time` writes the ``5:05 PM`` of ``New highlights added [[date]] at 5:05 PM``.
- `django_date` implements the ``date('F j, Y')`` filter of Readwise's (Django-style) export
  templates, with Django's format letters.

Logseq formats journal titles with cljs-time (``tf/unparse (tf/formatter fmt) date`` in
``logseq.common.util.date-time/format``), not with date-fns: its pattern letters look like
date-fns / Joda ones, and `format_journal_date` follows cljs-time's unparser where they differ
(for instance ``E`` and ``EEE`` both give ``Mon``, ``D`` is the day of the month, and ``''``
inside a quoted section ends it and starts a new one rather than writing a quote). English names
only, as Logseq writes them.
"""

from __future__ import annotations

import calendar
import datetime
import functools
import re
from collections.abc import Callable
from email.utils import format_datetime

__all__ = [
    "DEFAULT_JOURNAL_FORMAT",
    "LOGSEQ_JOURNAL_FORMATS",
    "django_date",
    "format_journal_date",
    "format_time",
]

DEFAULT_JOURNAL_FORMAT = "MMM do, yyyy"

# The formats Logseq offers in Settings > Editor > "Preferred date format"
# (`journal-title-formatters` in Logseq's `frontend.date` / `frontend.common.date`), in its order.
LOGSEQ_JOURNAL_FORMATS: tuple[str, ...] = (
    "do MMM yyyy",
    "do MMMM yyyy",
    "MMM do, yyyy",
    "MMMM do, yyyy",
    "E, dd-MM-yyyy",
    "E, dd.MM.yyyy",
    "E, MM/dd/yyyy",
    "E, yyyy/MM/dd",
    "EEE, dd-MM-yyyy",
    "EEE, dd.MM.yyyy",
    "EEE, MM/dd/yyyy",
    "EEE, yyyy/MM/dd",
    "EEEE, dd-MM-yyyy",
    "EEEE, dd.MM.yyyy",
    "EEEE, MM/dd/yyyy",
    "EEEE, yyyy/MM/dd",
    "dd-MM-yyyy",
    "dd.MM.yyyy",
    "MM/dd/yyyy",
    "MM-dd-yyyy",
    "MM_dd_yyyy",
    "yyyy/MM/dd",
    "yyyy-MM-dd",
    "yyyy-MM-dd EEEE",
    "yyyy_MM_dd",
    "yyyyMMdd",
    "yyyy年MM月dd日",
)

_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

# --------------------------------------------------------------------------- journal titles


def _as_datetime(value: datetime.date) -> datetime.datetime:
    """Given a date or a datetime, return a datetime (a bare date is taken at midnight)."""
    if isinstance(value, datetime.datetime):
        return value
    return datetime.datetime.combine(value, datetime.time.min)


@functools.lru_cache(maxsize=16)
def _tokenize_cljs_time(fmt: str) -> tuple[tuple[bool, str], ...]:
    """Given a cljs-time pattern, return its parts as (is_token, text) pairs.

    A token is a run of one ASCII letter; ``'...'`` is quoted text and ``''`` a literal quote;
    any other run of characters is literal.
    """
    parts: list[tuple[bool, str]] = []
    i = 0
    while i < len(fmt):
        char = fmt[i]
        if char == "'":
            if fmt[i + 1:i + 2] == "'":
                parts.append((False, "'"))
                i += 2
                continue
            end = fmt.find("'", i + 1)
            end = len(fmt) if end < 0 else end
            parts.append((False, fmt[i + 1:end]))
            i = end + 1
        elif char.isascii() and char.isalpha():
            j = i
            while j < len(fmt) and fmt[j] == char:
                j += 1
            parts.append((True, fmt[i:j]))
            i = j
        else:
            j = i
            while j < len(fmt) and fmt[j] != "'" and not (fmt[j].isascii() and fmt[j].isalpha()):
                j += 1
            parts.append((False, fmt[i:j]))
            i = j
    return tuple(parts)


def _period(value: int, least: int, most: int) -> str:
    """Zero-pad to `least` digits, then keep the last `most` (cljs-time's unparse-period)."""
    text = str(value).zfill(least)
    return text[-most:]


def _hour12(moment: datetime.datetime) -> int:
    return moment.hour % 12 or 12


# token -> (the field it prints, least digits, most digits), as cljs-time's unparser.
_NUMERIC: dict[str, tuple[str, int, int]] = {
    "S": ("millis", 1, 2), "SSS": ("millis", 3, 3),
    "s": ("second", 1, 2), "ss": ("second", 2, 2),
    "m": ("minute", 1, 2), "mm": ("minute", 2, 2),
    "h": ("hour12", 1, 2), "hh": ("hour12", 2, 2),
    "H": ("hour", 1, 2), "HH": ("hour", 2, 2),
    "d": ("day", 1, 2), "dd": ("day", 2, 2),
    # cljs-time prints the day of the month for D (its day-of-year unparser reads getDate).
    "D": ("day", 1, 3), "DD": ("day", 2, 3), "DDD": ("day", 3, 3),
    "M": ("month", 1, 2), "MM": ("month", 2, 2),
    "y": ("year", 1, 4), "yy": ("year", 2, 2), "yyyy": ("year", 4, 4),
    "Y": ("year", 1, 4), "YY": ("year", 2, 2), "YYYY": ("year", 4, 4),
    "x": ("weekyear", 1, 4), "xx": ("weekyear", 2, 2), "xxxx": ("weekyear", 4, 4),
    "w": ("week", 1, 2), "ww": ("week", 2, 2),
}

_TEXT: dict[str, Callable[[datetime.datetime], str]] = {
    "MMM": lambda d: _MONTHS[d.month - 1][:3],
    "MMMM": lambda d: _MONTHS[d.month - 1],
    "E": lambda d: _DAYS[d.weekday()][:3],
    "EEE": lambda d: _DAYS[d.weekday()][:3],
    "EEEE": lambda d: _DAYS[d.weekday()],
    "a": lambda d: "am" if d.hour < 12 else "pm",
    "A": lambda d: "AM" if d.hour < 12 else "PM",
}


def _field(moment: datetime.datetime, name: str) -> int:
    """Given a moment and a field name of `_NUMERIC`, return the number that token prints."""
    if name == "millis":
        return moment.microsecond // 1000
    if name == "hour12":
        return _hour12(moment)
    if name == "weekyear":
        return moment.isocalendar()[0]
    if name == "week":
        return moment.isocalendar()[1]
    value: int = getattr(moment, name)
    return value


def _ordinal_suffix(number: int) -> str:
    # cljs-time's table: only these numbers get st/nd/rd (so 11, 12, 13 get "th").
    return {1: "st", 2: "nd", 3: "rd", 21: "st", 22: "nd", 23: "rd", 31: "st"}.get(number, "th")


def _ordinal_base(moment: datetime.datetime, previous: str | None, fmt: str) -> int:
    """Given the field of the token before an ``o``, return the number its suffix is for, read
    as cljs-time reads it. Raise ValueError if cljs-time has no number for that token."""
    if previous in ("millis", "second", "minute", "day", "year"):
        return _field(moment, previous)
    if previous in ("hour", "hour12"):
        return moment.hour  # cljs-time reads getHours (0-23) for both h and H
    if previous == "month":
        return moment.month - 1  # cljs-time reads getMonth, which counts from 0
    raise ValueError(f"journal date format {fmt!r}: token 'o' must follow a day, month, year "
                     "or time number")


def format_journal_date(day: datetime.date, fmt: str) -> str:
    """Given a date and a Logseq ``:journal/page-title-format`` pattern, return the title Logseq
    gives that day's journal page (``MMM do, yyyy`` -> ``Nov 19th, 2022``).

    Pattern letters are those of cljs-time, which Logseq uses: ``d dd`` day, ``o`` ordinal suffix
    of the number before it (``do`` -> ``19th``), ``M MM MMM MMMM`` month, ``y yy yyyy`` year,
    ``E EEE EEEE`` weekday, ``x w`` ISO week-year and week, ``H h m s S a A`` time of day (a bare
    date is midnight); ``'text'`` is literal and any character that is not an ASCII letter is
    literal. Raise ValueError naming the token for a letter run cljs-time cannot print.
    """
    moment = _as_datetime(day)
    out: list[str] = []
    previous_field: str | None = None
    for is_token, text in _tokenize_cljs_time(fmt):
        field: str | None = None
        if not is_token:
            out.append(text)
        elif text in _NUMERIC:
            field, least, most = _NUMERIC[text]
            out.append(_period(_field(moment, field), least, most))
        elif text in _TEXT:
            out.append(_TEXT[text](moment))
        elif text == "o":
            out.append(_ordinal_suffix(_ordinal_base(moment, previous_field, fmt)))
        else:
            raise ValueError(f"journal date format {fmt!r}: unsupported token {text!r}")
        previous_field = field
    return "".join(out)


def format_time(moment: datetime.datetime) -> str:
    """Given a moment, return its time of day as the pages write it: ``5:05 PM``, ``12:20 AM``."""
    return f"{_hour12(moment)}:{moment.minute:02d} {'AM' if moment.hour < 12 else 'PM'}"


# --------------------------------------------------------------------------- Django's date filter

# As Django's `django.utils.dateformat`: a format letter not preceded by a backslash is replaced;
# in the text between letters, a backslash and the character after it give that character.
_DJANGO_LETTERS = re.compile(r"(?<!\\)([aAbcdDeEfFgGhHiIjlLmMnNoOPrsStTUuwWyYzZ])")
_DJANGO_ESCAPED = re.compile(r"\\(.)", re.DOTALL)

_MONTHS_AP = ("Jan.", "Feb.", "March", "April", "May", "June", "July", "Aug.", "Sept.", "Oct.",
              "Nov.", "Dec.")


def _offset_seconds(moment: datetime.datetime) -> int | None:
    offset = moment.utcoffset()
    return None if offset is None else offset.days * 86400 + offset.seconds


def _django_f(moment: datetime.datetime) -> str:
    hour = _hour12(moment)
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
    "D": lambda m: _DAYS[m.weekday()][:3],
    "l": lambda m: _DAYS[m.weekday()],
    "S": _django_S,
    "w": lambda m: str((m.weekday() + 1) % 7),
    "z": lambda m: str(m.timetuple().tm_yday),
    # week
    "W": lambda m: str(m.isocalendar()[1]),
    # month
    "F": lambda m: _MONTHS[m.month - 1],
    "E": lambda m: _MONTHS[m.month - 1],  # the genitive month name: the same word in English
    "m": lambda m: f"{m.month:02d}",
    "M": lambda m: _MONTHS[m.month - 1][:3],
    "n": lambda m: str(m.month),
    "b": lambda m: _MONTHS[m.month - 1][:3].lower(),
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
    "g": lambda m: str(_hour12(m)),
    "G": lambda m: str(m.hour),
    "h": lambda m: f"{_hour12(m):02d}",
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
    value = _as_datetime(moment)
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

_MOMENT_TOKEN = re.compile(
    r"\[[^\]]*\]|YYYY|YY|MMMM|MMM|MM|Mo|M|DDDD|DDD|DD|Do|D|dddd|ddd|dd|d|HH|H|hh|h|mm|m|ss|s|A|a")


def format_moment(moment: datetime.datetime, fmt: str) -> str:
    """Format `moment` with a moment.js pattern (`YYYY-MM-DD`, `dddd, MMMM Do YYYY`, `[Week] W`
    literals in brackets); letters that are no token are kept as they are."""
    hour12 = moment.hour % 12 or 12

    def token(match: re.Match[str]) -> str:
        t = match.group()
        values = {
            "YYYY": f"{moment.year:04d}", "YY": f"{moment.year % 100:02d}",
            "MMMM": _MONTHS[moment.month - 1], "MMM": _MONTHS[moment.month - 1][:3],
            "MM": f"{moment.month:02d}", "Mo": f"{moment.month}{_ordinal_suffix(moment.month)}",
            "M": str(moment.month), "DDDD": f"{moment.timetuple().tm_yday:03d}",
            "DDD": str(moment.timetuple().tm_yday), "DD": f"{moment.day:02d}",
            "Do": f"{moment.day}{_ordinal_suffix(moment.day)}", "D": str(moment.day),
            "dddd": _DAYS[moment.weekday()], "ddd": _DAYS[moment.weekday()][:3],
            "dd": _DAYS[moment.weekday()][:2], "d": str((moment.weekday() + 1) % 7),
            "HH": f"{moment.hour:02d}", "H": str(moment.hour), "hh": f"{hour12:02d}",
            "h": str(hour12), "mm": f"{moment.minute:02d}", "m": str(moment.minute),
            "ss": f"{moment.second:02d}", "s": str(moment.second),
            "A": "AM" if moment.hour < 12 else "PM", "a": "am" if moment.hour < 12 else "pm",
        }
        return t[1:-1] if t.startswith("[") else values[t]

    return _MOMENT_TOKEN.sub(token, fmt)
