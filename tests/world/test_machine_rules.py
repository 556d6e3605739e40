"""The world's rules for the machine and a misbehaving server (issue 22): its zone (`TZ`) and
clock changed between steps, a server that misbehaves in its listing. Their steps replay clean in
both formats, and the checks they carry fail on the bugs they are there for (an offset taken at
start, a listing's bound not kept)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

import syncd.core.render
import syncd.edges.listing
from syncd.core.dates import format_time
from syncd.edges.listing import Listing
from syncd.ports import ExportPage
from tests.world.world import ZONES, next_change, replay

STEPS = """\
{head}add_book(n=2, odd='', seconds=1)
sync()
zone_changes(zone='EST5EDT,M3.2.0,M11.1.0')
clock_jumps(seconds=1800)
readwise_new_highlight(odd='', seconds=1)
  picked book 1 ({page})
sync()
zone_changes(zone='Australia/Lord_Howe')
clock_jumps(seconds=59)
readwise_new_highlight(odd='', seconds=1)
  picked book 1 ({page})
sync()
zone_changes(zone='Nowhere/Atlantis')
add_book(n=2, odd='', seconds=1)
server_misbehaves(how='cursor_endless', after=0, mid='change')
server_misbehaves(how='html', after=1, mid='change')
zone_changes(zone='')
server_misbehaves(how='redirect', after=0, mid='change')
server_misbehaves(how='count_huge', after=0, mid='change')
zone_changes(zone='Europe/Berlin')
clock_jumps(seconds=-1)
server_misbehaves(how='served_twice', after=1, mid='change')
readwise_new_highlight(odd='', seconds=1)
  picked book 1 ({page})
server_misbehaves(how='listing_changes', after=0, mid='change')
  picked changing 1
sync()
add_book(n=1, odd='', seconds=1)
readwise_new_highlight(odd='', seconds=1)
  picked book 1 ({page})
server_misbehaves(how='listing_changes', after=0, mid='add')
  picked changing 2
sync()
readwise_new_highlight(odd='', seconds=1)
  picked book 1 ({page})
readwise_new_highlight(odd='', seconds=1)
  picked book 2 ({page2})
readwise_new_highlight(odd='', seconds=1)
  picked book 3 ({page3})
server_misbehaves(how='listing_changes', after=1, mid='delete')
  picked changing 3
sync()
zone_changes(zone='CET-1CEST,M3.5.0,M10.5.0/3')
readwise_new_highlight(odd='', seconds=1)
  picked book 1 ({page})
daemon_runs_through_change(seconds=1800)
zone_changes(zone='America/New_York')
readwise_new_highlight(odd='', seconds=1)
  picked book 1 ({page})
daemon_runs_through_change(seconds=0)
"""
FORMATS = {
    "logseq": ("", "pages/Book b-{} (highlights).md"),
    "obsidian": ("# obsidian\n", "Readwise/Books/Book b-{}.md"),
}


def steps(kind: str) -> str:
    head, page = FORMATS[kind]
    return STEPS.format(head=head, page=page.format(1), page2=page.format(2), page3=page.format(3))


@pytest.mark.parametrize("kind", sorted(FORMATS))
def test_zones_clocks_and_a_misbehaving_server_replay_clean(kind: str) -> None:
    replay(steps(kind))


@pytest.mark.parametrize("kind", sorted(FORMATS))
def test_an_offset_taken_at_start_breaks_the_header_invariant(
    kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The bug of issue 22, item 1, put back: times shown with the zone's January offset. A
    sync at 07:30 UTC on the night New York springs forward shows "2:30 AM"."""

    def time(self: syncd.core.render.Style, now: datetime) -> str:
        fixed = timezone(self.tz.utcoffset(datetime(2024, 1, 1)) or timedelta(0))
        return format_time(now.astimezone(fixed))

    monkeypatch.setattr(syncd.core.render.Style, "time", time)
    with pytest.raises(AssertionError, match=r"at 2:30 AM'? shows no sync's time"):
        replay(steps(kind))


def test_a_listing_without_bounds_breaks_the_misbehaving_server_rule(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The listing's bounds taken away: an absurd count passes, and the rule says so."""

    def check(self: Listing, page: ExportPage) -> ExportPage:
        return page

    monkeypatch.setattr(syncd.edges.listing.Listing, "check", check)
    with pytest.raises(AssertionError, match="count_huge: the sync succeeded"):
        replay(
            "add_book(n=2, odd='', seconds=1)\nadd_book(n=1, odd='', seconds=1)\n"
            "server_misbehaves(how='count_huge', after=0, mid='change')\n"
        )


def test_next_change_finds_the_daylight_saving_changes() -> None:
    start = datetime(2024, 1, 1, tzinfo=timezone.utc)
    assert next_change(ZONES["America/New_York"], start) == datetime(
        2024, 3, 10, 7, tzinfo=timezone.utc
    )
    assert next_change(ZONES["CET-1CEST,M3.5.0,M10.5.0/3"], start) == datetime(
        2024, 3, 31, 1, tzinfo=timezone.utc
    )
    lord_howe = datetime(2024, 4, 6, 15, tzinfo=timezone.utc)  # 2:00 +11 to 1:30 +10:30
    assert next_change(ZONES["Australia/Lord_Howe"], start) == lord_howe
    assert next_change(ZONES["UTC"], start) is None
