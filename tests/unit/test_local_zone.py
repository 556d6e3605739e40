"""issue 22, class 1: the zone the pages' times are in, resolved from `TZ` (an edge), converting
each instant under the rules in force at it: a daemon that runs through a daylight-saving change
follows it (main kept the offset it started with)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from syncd.config.load import config_from_mapping
from syncd.core.dates import format_time
from syncd.edges.local_zone import POSIX_RULE, CLibraryZone, zone_from_env
from syncd.engine.wiring import settings_for

UTC = timezone.utc


@pytest.fixture
def process_tz() -> Iterator[None]:
    """Restore the process's `TZ` (and the C library's reading of it) after the test."""
    before = os.environ.get("TZ")
    yield
    if before is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = before
    time.tzset()


def set_tz(value: str) -> None:
    os.environ["TZ"] = value
    time.tzset()


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.usefixtures("process_tz")
@pytest.mark.parametrize("tz", ["America/New_York", "EST5EDT,M3.2.0,M11.1.0"])
def test_a_zone_made_once_follows_both_changes(tmp_path: Path, tz: str) -> None:
    """The daemon makes its settings once (`settings_for`) and syncs for days: each instant is
    shown with the offset in force then, whatever the date it started on."""
    set_tz(tz)
    (tmp_path / "graph").mkdir()
    config = config_from_mapping(
        {"readwise": {"token": "t"}, "vault": {"path": str(tmp_path / "graph")}}, None, {}
    )
    style = settings_for(config, os.environ).style
    assert style.time(utc("2023-03-12T06:30:00")) == "1:30 AM"
    assert style.time(utc("2023-03-12T07:30:00")) == "3:30 AM"  # main: 2:30 AM in December
    assert style.time(utc("2023-11-05T05:30:00")) == "1:30 AM"  # EDT
    assert style.time(utc("2023-11-05T06:30:00")) == "1:30 AM"  # EST, an hour later
    assert style.time(utc("2023-11-05T07:30:00")) == "2:30 AM"
    assert style.time(utc("2023-12-25T17:05:00")) == "12:05 PM"
    assert style.time(utc("2023-07-04T17:05:00")) == "1:05 PM"


@pytest.mark.usefixtures("process_tz")
def test_the_c_library_zone_is_a_consistent_tzinfo() -> None:
    set_tz("CET-1CEST,M3.5.0,M10.5.0/3")
    zone = CLibraryZone()
    for step in range(0, 24 * 4 * 2):  # every quarter hour of two days around each change
        for base in (utc("2023-03-25T12:00:00"), utc("2023-10-28T12:00:00")):
            instant = base + timedelta(minutes=15 * step)
            local = instant.astimezone(zone)
            assert local.astimezone(UTC) == instant, (instant, local, local.fold)
    assert format_time(utc("2023-10-29T00:30:00").astimezone(zone)) == "2:30 AM"
    assert format_time(utc("2023-10-29T01:30:00").astimezone(zone)) == "2:30 AM"
    assert utc("2023-10-29T01:30:00").astimezone(zone).fold == 1
    assert utc("2023-07-01T12:00:00").astimezone(zone).tzname() == "CEST"


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ("America/New_York", "ZoneInfo"),
        (":Europe/Paris", "ZoneInfo"),
        ("CET-1CEST,M3.5.0,M10.5.0/3", "CLibraryZone"),
        ("<+0330>-3:30", "CLibraryZone"),
        ("EST5EDT", "ZoneInfo"),
        ("JST-9", "CLibraryZone"),
        (":JST-9", "CLibraryZone"),
        (":/etc/localtime", "CLibraryZone"),
    ],
)
def test_what_the_c_library_accepts_is_a_zone(value: str, kind: str) -> None:
    if value.startswith(":/") and not os.path.isfile(value[1:]):
        pytest.skip("no such file here")
    zone, warning = zone_from_env({"TZ": value})
    assert warning is None
    assert type(zone).__name__ == kind


def test_tz_unset_is_the_machines_zone() -> None:
    zone, warning = zone_from_env({})
    assert isinstance(zone, CLibraryZone) and warning is None


@pytest.mark.parametrize(
    "value", ["", "  ", "Nowhere/Atlantis", ":Nowhere", ":/no/such/file", "+5"]
)
def test_garbage_is_utc_with_one_line_saying_so(value: str) -> None:
    zone, warning = zone_from_env({"TZ": value})
    assert zone is UTC
    assert warning is not None and "\n" not in warning and "UTC" in warning


def test_the_posix_rule_grammar() -> None:
    for rule in ("UTC0", "CET-1CEST", "NZST-12NZDT,M9.5.0,M4.1.0/3", "AAA3BBB,J60/2,J300/2"):
        assert POSIX_RULE.fullmatch(rule), rule
    for text in ("CET", "Nowhere/Atlantis", "12", "CET-1CEST,M3"):
        assert not POSIX_RULE.fullmatch(text), text
