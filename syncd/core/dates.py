"""Dates and times as the pages show them.

Pure formatters:

- `format_journal_date` writes a date the way Logseq names its journal page for it, from the
  graph's ``:journal/page-title-format`` (``MMM do, yyyy`` -> ``Nov 19th, 2022``), so that
  ``[[...]]`` links in synced pages land on the journal page.
- `format_time` writes the ``5:05 PM`` of ``New highlights added [[date]] at 5:05 PM``.
- `format_moment` writes a date with moment.js tokens (Obsidian's daily note names).

(`django_dates.django_date` is the fourth, for Readwise's template filter.)

Logseq formats journal titles with cljs-time (``tf/unparse (tf/formatter fmt) date`` in
``logseq.common.util.date-time/format``), not with date-fns: its pattern letters look like
date-fns / Joda ones, and `format_journal_date` follows cljs-time's unparser where they differ
(for instance ``E`` and ``EEE`` both give ``Mon``, ``D`` is the day of the month, and ``''``
inside a quoted section ends it and starts a new one rather than writing a quote). English names
only, as Logseq writes them.
"""

from __future__ import annotations

import datetime
import functools
import re
from collections.abc import Callable

__all__ = [
    "DEFAULT_JOURNAL_FORMAT",
    "LOGSEQ_JOURNAL_FORMATS",
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

MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

# --------------------------------------------------------------------------- journal titles


def as_datetime(value: datetime.date) -> datetime.datetime:
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
            if fmt[i + 1 : i + 2] == "'":
                parts.append((False, "'"))
                i += 2
                continue
            end = fmt.find("'", i + 1)
            end = len(fmt) if end < 0 else end
            parts.append((False, fmt[i + 1 : end]))
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


def hour12(moment: datetime.datetime) -> int:
    return moment.hour % 12 or 12


# token -> (the field it prints, least digits, most digits), as cljs-time's unparser.
_NUMERIC: dict[str, tuple[str, int, int]] = {
    "S": ("millis", 1, 2),
    "SSS": ("millis", 3, 3),
    "s": ("second", 1, 2),
    "ss": ("second", 2, 2),
    "m": ("minute", 1, 2),
    "mm": ("minute", 2, 2),
    "h": ("hour12", 1, 2),
    "hh": ("hour12", 2, 2),
    "H": ("hour", 1, 2),
    "HH": ("hour", 2, 2),
    "d": ("day", 1, 2),
    "dd": ("day", 2, 2),
    # cljs-time prints the day of the month for D (its day-of-year unparser reads getDate).
    "D": ("day", 1, 3),
    "DD": ("day", 2, 3),
    "DDD": ("day", 3, 3),
    "M": ("month", 1, 2),
    "MM": ("month", 2, 2),
    "y": ("year", 1, 4),
    "yy": ("year", 2, 2),
    "yyyy": ("year", 4, 4),
    "Y": ("year", 1, 4),
    "YY": ("year", 2, 2),
    "YYYY": ("year", 4, 4),
    "x": ("weekyear", 1, 4),
    "xx": ("weekyear", 2, 2),
    "xxxx": ("weekyear", 4, 4),
    "w": ("week", 1, 2),
    "ww": ("week", 2, 2),
}

_TEXT: dict[str, Callable[[datetime.datetime], str]] = {
    "MMM": lambda d: MONTHS[d.month - 1][:3],
    "MMMM": lambda d: MONTHS[d.month - 1],
    "E": lambda d: DAYS[d.weekday()][:3],
    "EEE": lambda d: DAYS[d.weekday()][:3],
    "EEEE": lambda d: DAYS[d.weekday()],
    "a": lambda d: "am" if d.hour < 12 else "pm",
    "A": lambda d: "AM" if d.hour < 12 else "PM",
}


def _field(moment: datetime.datetime, name: str) -> int:
    """Given a moment and a field name of `_NUMERIC`, return the number that token prints."""
    if name == "millis":
        return moment.microsecond // 1000
    if name == "hour12":
        return hour12(moment)
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
    raise ValueError(
        f"journal date format {fmt!r}: token 'o' must follow a day, month, year or time number"
    )


def format_journal_date(day: datetime.date, fmt: str) -> str:
    """Given a date and a Logseq ``:journal/page-title-format`` pattern, return the title Logseq
    gives that day's journal page (``MMM do, yyyy`` -> ``Nov 19th, 2022``).

    Pattern letters are those of cljs-time, which Logseq uses: ``d dd`` day, ``o`` ordinal suffix
    of the number before it (``do`` -> ``19th``), ``M MM MMM MMMM`` month, ``y yy yyyy`` year,
    ``E EEE EEEE`` weekday, ``x w`` ISO week-year and week, ``H h m s S a A`` time of day (a bare
    date is midnight); ``'text'`` is literal and any character that is not an ASCII letter is
    literal. Raise ValueError naming the token for a letter run cljs-time cannot print.
    """
    moment = as_datetime(day)
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
    return f"{hour12(moment)}:{moment.minute:02d} {'AM' if moment.hour < 12 else 'PM'}"


# --------------------------------------------------------------------------- Django's date filter

# As Django's `django.utils.dateformat`: a format letter not preceded by a backslash is replaced;
# in the text between letters, a backslash and the character after it give that character.
_MOMENT_TOKEN = re.compile(
    r"\[[^\]]*\]|YYYY|YY|MMMM|MMM|MM|Mo|M|DDDD|DDD|DD|Do|D|dddd|ddd|dd|d|HH|H|hh|h|mm|m|ss|s|A|a"
)


def format_moment(moment: datetime.datetime, fmt: str) -> str:
    """Format `moment` with a moment.js pattern (`YYYY-MM-DD`, `dddd, MMMM Do YYYY`, `[Week] W`
    literals in brackets); letters that are no token are kept as they are."""
    hour12 = moment.hour % 12 or 12

    def token(match: re.Match[str]) -> str:
        t = match.group()
        values = {
            "YYYY": f"{moment.year:04d}",
            "YY": f"{moment.year % 100:02d}",
            "MMMM": MONTHS[moment.month - 1],
            "MMM": MONTHS[moment.month - 1][:3],
            "MM": f"{moment.month:02d}",
            "Mo": f"{moment.month}{_ordinal_suffix(moment.month)}",
            "M": str(moment.month),
            "DDDD": f"{moment.timetuple().tm_yday:03d}",
            "DDD": str(moment.timetuple().tm_yday),
            "DD": f"{moment.day:02d}",
            "Do": f"{moment.day}{_ordinal_suffix(moment.day)}",
            "D": str(moment.day),
            "dddd": DAYS[moment.weekday()],
            "ddd": DAYS[moment.weekday()][:3],
            "dd": DAYS[moment.weekday()][:2],
            "d": str((moment.weekday() + 1) % 7),
            "HH": f"{moment.hour:02d}",
            "H": str(moment.hour),
            "hh": f"{hour12:02d}",
            "h": str(hour12),
            "mm": f"{moment.minute:02d}",
            "m": str(moment.minute),
            "ss": f"{moment.second:02d}",
            "s": str(moment.second),
            "A": "AM" if moment.hour < 12 else "PM",
            "a": "am" if moment.hour < 12 else "pm",
        }
        return t[1:-1] if t.startswith("[") else values[t]

    return _MOMENT_TOKEN.sub(token, fmt)
