"""Tests for syncd.core.dates: Logseq journal titles, page times and Django's date filter."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from syncd.core.dates import (
    DEFAULT_JOURNAL_FORMAT,
    LOGSEQ_JOURNAL_FORMATS,
    format_journal_date,
    format_time,
)
from syncd.core.django_dates import django_date
from tests.support.corpus import CORPUS, CORPUS_PAGES

SATURDAY = dt.date(2022, 11, 19)
WEDNESDAY = dt.date(2023, 3, 1)

# What each built-in Logseq format gives for 2022-11-19 and for 2023-03-01 (padding, short day).
BUILT_IN = {
    "do MMM yyyy": ("19th Nov 2022", "1st Mar 2023"),
    "do MMMM yyyy": ("19th November 2022", "1st March 2023"),
    "MMM do, yyyy": ("Nov 19th, 2022", "Mar 1st, 2023"),
    "MMMM do, yyyy": ("November 19th, 2022", "March 1st, 2023"),
    "E, dd-MM-yyyy": ("Sat, 19-11-2022", "Wed, 01-03-2023"),
    "E, dd.MM.yyyy": ("Sat, 19.11.2022", "Wed, 01.03.2023"),
    "E, MM/dd/yyyy": ("Sat, 11/19/2022", "Wed, 03/01/2023"),
    "E, yyyy/MM/dd": ("Sat, 2022/11/19", "Wed, 2023/03/01"),
    "EEE, dd-MM-yyyy": ("Sat, 19-11-2022", "Wed, 01-03-2023"),
    "EEE, dd.MM.yyyy": ("Sat, 19.11.2022", "Wed, 01.03.2023"),
    "EEE, MM/dd/yyyy": ("Sat, 11/19/2022", "Wed, 03/01/2023"),
    "EEE, yyyy/MM/dd": ("Sat, 2022/11/19", "Wed, 2023/03/01"),
    "EEEE, dd-MM-yyyy": ("Saturday, 19-11-2022", "Wednesday, 01-03-2023"),
    "EEEE, dd.MM.yyyy": ("Saturday, 19.11.2022", "Wednesday, 01.03.2023"),
    "EEEE, MM/dd/yyyy": ("Saturday, 11/19/2022", "Wednesday, 03/01/2023"),
    "EEEE, yyyy/MM/dd": ("Saturday, 2022/11/19", "Wednesday, 2023/03/01"),
    "dd-MM-yyyy": ("19-11-2022", "01-03-2023"),
    "dd.MM.yyyy": ("19.11.2022", "01.03.2023"),
    "MM/dd/yyyy": ("11/19/2022", "03/01/2023"),
    "MM-dd-yyyy": ("11-19-2022", "03-01-2023"),
    "MM_dd_yyyy": ("11_19_2022", "03_01_2023"),
    "yyyy/MM/dd": ("2022/11/19", "2023/03/01"),
    "yyyy-MM-dd": ("2022-11-19", "2023-03-01"),
    "yyyy-MM-dd EEEE": ("2022-11-19 Saturday", "2023-03-01 Wednesday"),
    "yyyy_MM_dd": ("2022_11_19", "2023_03_01"),
    "yyyyMMdd": ("20221119", "20230301"),
    "yyyy年MM月dd日": ("2022年11月19日", "2023年03月01日"),
}


def test_every_built_in_format_has_an_expectation() -> None:
    assert set(BUILT_IN) == set(LOGSEQ_JOURNAL_FORMATS)
    assert len(LOGSEQ_JOURNAL_FORMATS) == len(set(LOGSEQ_JOURNAL_FORMATS))
    assert DEFAULT_JOURNAL_FORMAT == "MMM do, yyyy"
    assert DEFAULT_JOURNAL_FORMAT in LOGSEQ_JOURNAL_FORMATS


@pytest.mark.parametrize("fmt", LOGSEQ_JOURNAL_FORMATS)
def test_built_in_formats(fmt: str) -> None:
    assert (format_journal_date(SATURDAY, fmt), format_journal_date(WEDNESDAY, fmt)) == BUILT_IN[
        fmt
    ]


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (1, "Mar 1st, 2023"),
        (2, "Mar 2nd, 2023"),
        (3, "Mar 3rd, 2023"),
        (4, "Mar 4th, 2023"),
        (10, "Mar 10th, 2023"),
        (11, "Mar 11th, 2023"),
        (12, "Mar 12th, 2023"),
        (13, "Mar 13th, 2023"),
        (20, "Mar 20th, 2023"),
        (21, "Mar 21st, 2023"),
        (22, "Mar 22nd, 2023"),
        (23, "Mar 23rd, 2023"),
        (24, "Mar 24th, 2023"),
        (30, "Mar 30th, 2023"),
        (31, "Mar 31st, 2023"),
    ],
)
def test_default_format_ordinals(day: int, expected: str) -> None:
    assert format_journal_date(dt.date(2023, 3, day), "MMM do, yyyy") == expected


def test_all_month_abbreviations() -> None:
    titles = [format_journal_date(dt.date(2023, month, 5), "MMM") for month in range(1, 13)]
    assert titles == [
        "Jan",
        "Feb",
        "Mar",
        "Apr",
        "May",
        "Jun",
        "Jul",
        "Aug",
        "Sep",
        "Oct",
        "Nov",
        "Dec",
    ]


def test_a_datetime_is_formatted_by_its_date() -> None:
    moment = dt.datetime(2022, 11, 19, 23, 59)
    assert format_journal_date(moment, "MMM do, yyyy") == "Nov 19th, 2022"


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        ("'Journal' yyyy-MM-dd", "Journal 2022-11-19"),
        ("yyyy 'week' ww", "2022 week 46"),
        ("d 'of' MMMM", "19 of November"),
        ("''yy", "'22"),
        ("'it''s' d", "its 19"),  # as cljs-time: '' inside quotes ends one section, opens another
        ("'unclosed", "unclosed"),
        ("'a-z: MMM' d", "a-z: MMM 19"),
        ("[[yyyy]]", "[[2022]]"),
    ],
)
def test_quoted_and_literal_text(fmt: str, expected: str) -> None:
    assert format_journal_date(SATURDAY, fmt) == expected


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        ("y", "2022"),
        ("yy", "22"),
        ("YYYY", "2022"),
        ("M", "11"),
        ("d", "19"),
        ("D", "19"),  # cljs-time prints the day of the month for D
        ("DDD", "019"),
        ("xxxx-'W'ww-E", "2022-W46-Sat"),
        ("HH:mm:ss.SSS a", "00:00:00.000 am"),
        ("h A", "12 AM"),
        ("Mo", "11th"),
    ],
)
def test_other_cljs_time_tokens(fmt: str, expected: str) -> None:
    assert format_journal_date(SATURDAY, fmt) == expected


def test_iso_week_year_at_new_year() -> None:
    # 2021-01-01 is in ISO week 53 of 2020.
    assert format_journal_date(dt.date(2021, 1, 1), "xxxx-'W'ww") == "2020-W53"


def test_time_tokens_read_a_datetime() -> None:
    moment = dt.datetime(2023, 3, 17, 17, 5, 9, 120_000)
    assert (
        format_journal_date(moment, "yyyy-MM-dd HH:mm:ss.SSS h a A")
        == "2023-03-17 17:05:09.120 5 pm PM"
    )


@pytest.mark.parametrize("token", ["Q", "EE", "yyy", "MMMMM", "G", "Z", "dddd", "EEEEE", "oo"])
def test_unknown_tokens_raise_naming_the_token(token: str) -> None:
    with pytest.raises(ValueError, match=re.escape(repr(token))):
        format_journal_date(SATURDAY, f"yyyy {token}")


@pytest.mark.parametrize("fmt", ["o", "MMM o", "'x'o", "E o"])
def test_ordinal_without_a_number_raises(fmt: str) -> None:
    with pytest.raises(ValueError, match="'o'"):
        format_journal_date(SATURDAY, fmt)


@given(st.dates(min_value=dt.date(1000, 1, 1), max_value=dt.date(9999, 12, 31)))
def test_default_format_round_trips(day: dt.date) -> None:
    title = format_journal_date(day, "MMM do, yyyy")
    match = re.fullmatch(r"([A-Z][a-z]{2}) (\d{1,2})(st|nd|rd|th), (\d{4})", title)
    assert match is not None
    parsed = dt.datetime.strptime(f"{match[1]} {match[2]} {match[4]}", "%b %d %Y").date()
    assert parsed == day
    expected_suffix = (
        "th" if day.day in (11, 12, 13) else {1: "st", 2: "nd", 3: "rd"}.get(day.day % 10, "th")
    )
    assert match[3] == expected_suffix


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (dt.datetime(2023, 3, 17, 17, 5), "5:05 PM"),
        (dt.datetime(2023, 3, 17, 0, 20), "12:20 AM"),
        (dt.datetime(2023, 3, 17, 12, 15), "12:15 PM"),
        (dt.datetime(2023, 3, 17, 0, 0), "12:00 AM"),
        (dt.datetime(2023, 3, 17, 9, 0, 59), "9:00 AM"),
        (dt.datetime(2023, 3, 17, 11, 59), "11:59 AM"),
        (dt.datetime(2023, 3, 17, 23, 59), "11:59 PM"),
    ],
)
def test_format_time(moment: dt.datetime, expected: str) -> None:
    assert format_time(moment) == expected


def _corpus_texts() -> list[str]:
    return [path.read_bytes().decode("utf-8") for path in sorted(CORPUS_PAGES.glob("*.md"))]


@CORPUS
def test_corpus_dates_and_times_are_reproduced() -> None:
    """Every [[date]] and 'at h:mm AM' in the real pages is what the formatters write."""
    dates: set[str] = set()
    times: set[str] = set()
    for text in _corpus_texts():
        dates.update(re.findall(r"\[\[([A-Z][a-z]{2} \d{1,2}[a-z]{2}, \d{4})\]\]", text))
        times.update(re.findall(r"\]\] at (\d{1,2}:\d{2} [AP]M)", text))
    assert len(dates) > 10
    assert len(times) > 5
    for title in dates:
        match = re.fullmatch(r"(\w{3}) (\d+)\w\w, (\d{4})", title)
        assert match is not None
        day_value = dt.datetime.strptime(" ".join(match.groups()), "%b %d %Y").date()
        assert format_journal_date(day_value, DEFAULT_JOURNAL_FORMAT) == title
    for text in times:
        moment = dt.datetime.strptime(f"2023-01-01 {text}", "%Y-%m-%d %I:%M %p")
        assert format_time(moment) == text


# --------------------------------------------------------------------------- django_date

NAIVE = dt.datetime(2022, 11, 19, 17, 5, 9, 123)
EST = dt.timezone(dt.timedelta(hours=-5), "EST")
AWARE = dt.datetime(2021, 1, 3, 0, 30, tzinfo=EST)

# Every letter, as Django 5.2's django.utils.dateformat writes it (TIME_ZONE = "UTC").
DJANGO_LETTERS = [
    ("d", "19", "03"),
    ("D", "Sat", "Sun"),
    ("j", "19", "3"),
    ("l", "Saturday", "Sunday"),
    ("N", "Nov.", "Jan."),
    ("S", "th", "rd"),
    ("w", "6", "0"),
    ("z", "323", "3"),
    ("W", "46", "53"),
    ("F", "November", "January"),
    ("m", "11", "01"),
    ("M", "Nov", "Jan"),
    ("n", "11", "1"),
    ("b", "nov", "jan"),
    ("t", "30", "31"),
    ("L", "False", "False"),
    ("o", "2022", "2020"),
    ("y", "22", "21"),
    ("Y", "2022", "2021"),
    ("E", "November", "January"),
    ("a", "p.m.", "a.m."),
    ("A", "PM", "AM"),
    ("f", "5:05", "12:30"),
    ("g", "5", "12"),
    ("G", "17", "0"),
    ("h", "05", "12"),
    ("H", "17", "00"),
    ("i", "05", "30"),
    ("s", "09", "00"),
    ("u", "000123", "000000"),
    ("e", "", "EST"),
    ("P", "5:05 p.m.", "12:30 a.m."),
    ("O", "+0000", "-0500"),
    ("T", "UTC", "EST"),
    ("U", "1668877509", "1609651800"),
    ("c", "2022-11-19T17:05:09.000123", "2021-01-03T00:30:00-05:00"),
    ("r", "Sat, 19 Nov 2022 17:05:09 +0000", "Sun, 03 Jan 2021 00:30:00 -0500"),
    ("I", "0", "0"),
    ("Z", "0", "-18000"),
]


@pytest.mark.parametrize(("letter", "naive", "aware"), DJANGO_LETTERS)
def test_django_letters(letter: str, naive: str, aware: str) -> None:
    assert django_date(NAIVE, letter) == naive
    assert django_date(AWARE, letter) == aware


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        ("F j, Y", "November 19, 2022"),
        ("M jS, Y", "Nov 19th, 2022"),
        ("Y-m-d", "2022-11-19"),
        ("g:i A", "5:05 PM"),
        ("F jS, Y", "November 19th, 2022"),
        ("l \\t\\h\\e jS \\o\\f F", "Saturday the 19th of November"),
        ("\\\\d \\j", "\\d j"),  # an escaped letter stays; the escaping backslash goes
        ("Y \\", "2022 \\"),  # a lone trailing backslash stays
        ("[k/p/q/x]", "[k/p/q/x]"),  # not format letters: literal
    ],
)
def test_django_formats(fmt: str, expected: str) -> None:
    assert django_date(NAIVE, fmt) == expected


@pytest.mark.parametrize(
    ("hour", "minute", "f", "p", "a_"),
    [
        (0, 0, "12", "midnight", "a.m."),
        (12, 0, "12", "noon", "p.m."),
        (0, 5, "12:05", "12:05 a.m.", "a.m."),
        (12, 30, "12:30", "12:30 p.m.", "p.m."),
        (17, 0, "5", "5 p.m.", "p.m."),
        (9, 7, "9:07", "9:07 a.m.", "a.m."),
    ],
)
def test_django_f_p_and_a(hour: int, minute: int, f: str, p: str, a_: str) -> None:
    moment = dt.datetime(2022, 11, 19, hour, minute)
    assert (django_date(moment, "f"), django_date(moment, "P"), django_date(moment, "a")) == (
        f,
        p,
        a_,
    )


@pytest.mark.parametrize(
    ("day", "suffix"),
    [
        (1, "st"),
        (2, "nd"),
        (3, "rd"),
        (4, "th"),
        (11, "th"),
        (12, "th"),
        (13, "th"),
        (21, "st"),
        (22, "nd"),
        (23, "rd"),
        (31, "st"),
    ],
)
def test_django_ordinal_suffix(day: int, suffix: str) -> None:
    assert django_date(dt.date(2023, 1, day), "S") == suffix


def test_django_bare_date() -> None:
    day = dt.date(2024, 2, 29)
    assert django_date(day, "F jS, Y") == "February 29th, 2024"
    assert django_date(day, "c") == "2024-02-29"
    assert django_date(day, "L t") == "True 29"
    assert django_date(day, "g:i A") == "12:00 AM"


@pytest.mark.parametrize("month", range(1, 13))
def test_django_ap_month_names(month: int) -> None:
    expected = [
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
    ][month - 1]
    assert django_date(dt.date(2023, month, 1), "N") == expected
