"""The cursor is Readwise's clock, never the local one (issue 10, item 4).

The loopback server runs on a clock of its own (`Harness.server_offset`) and says so in its
`Date` header, as Readwise does; the syncer's clock (`Harness.now`) only dates what it renders.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import requests

from syncd.edges.readwise import ReadwiseClient, RetryPolicy, format_cursor
from syncd.engine.report import SyncReport
from syncd.engine.run import CURSOR_OVERLAP
from syncd.engine.wiring import make_syncer
from tests.support.harness import Harness, harness

T0 = datetime(2023, 3, 17, 17, 5, tzinfo=timezone.utc)
PAGE = "Walden (highlights).md"
# Readwise's clock minus the local one: Readwise 10 min ahead; the local clock 3 s, 10 min ahead.
OFFSETS = [timedelta(minutes=10), timedelta(seconds=-3), timedelta(minutes=-10)]


def add_walden(h: Harness, *texts: str) -> int:
    book = h.server.add_book(
        title="Walden",
        author="Henry David Thoreau",
        category="books",
        highlights=[
            {"text": t, "location": 10 * (i + 1), "location_type": "location"}
            for i, t in enumerate(texts)
        ],
    )
    return int(book["user_book_id"])


@pytest.mark.parametrize(
    "offset", OFFSETS, ids=["readwise-ahead-10min", "local-ahead-3s", "local-ahead-10min"]
)
def test_a_highlight_made_right_after_a_sync_is_fetched_by_the_next(
    tmp_path: Path, offset: timedelta
) -> None:
    """Issue 10, item 4: with the local clock ahead, the cursor used to be in Readwise's future
    and a highlight made just after a sync was never fetched (only `--full` found it)."""
    with harness(tmp_path, settings={"sync": {"sync_log_page": "Readwise Syncs"}}) as h:
        h.server_offset = offset
        h.now = T0 - timedelta(hours=1)
        book = add_walden(h, "Simplify, simplify.")
        h.now = T0
        first = h.sync()
        assert first.cursor == format_cursor(T0 + offset - CURSOR_OVERLAP)
        h.now = T0 + timedelta(seconds=1)  # right after the sync, by both clocks
        h.server.add_highlight(
            book, text="Made right after.", location=20, location_type="location"
        )
        h.now = T0 + timedelta(seconds=2)
        second = h.sync()
        assert second.outcome.new == 1
        assert "Made right after." in h.page(PAGE)
        third = h.sync(at=T0 + timedelta(hours=1))  # nothing new: nothing told twice
        assert third.outcome.new == 0 and third.pages_changed == 0
        assert h.page(PAGE).count("Made right after.") == 1
        log = h.page("Readwise Syncs.md")
        assert log.count("Readwise synced 1 highlight from 1 book") == 2, log


@pytest.mark.parametrize(
    "offset", OFFSETS, ids=["readwise-ahead-10min", "local-ahead-3s", "local-ahead-10min"]
)
def test_highlights_fetched_again_in_the_overlap_change_nothing(
    tmp_path: Path, offset: timedelta
) -> None:
    """Issue 10, item 4: the overlap fetches the last minute's highlights again; written ones
    are matched by id: no duplicate, no "updated", a block the user edited stays edited."""
    with harness(tmp_path, settings={"sync": {"sync_log_page": "Readwise Syncs"}}) as h:
        h.server_offset = offset
        h.now = T0
        add_walden(h, "Simplify, simplify.", "Our life is frittered away by detail.")
        h.sync()
        page = h.pages / PAGE
        page.write_text(
            page.read_text("utf-8").replace("Simplify, simplify.", "Simplify, simplify!! (mine)"),
            "utf-8",
        )
        before = page.read_bytes()
        log_before = (h.pages / "Readwise Syncs.md").read_bytes()
        h.server.clear_requests()
        report = h.sync(at=T0 + timedelta(seconds=30))
        (request,) = h.server.requests_to("export")
        assert request.query["updatedAfter"] == format_cursor(T0 + offset - CURSOR_OVERLAP)
        assert report.requests == 1
        o = report.outcome
        assert (o.new, o.updated, o.conflicts, o.removed, report.pages_changed) == (0, 0, 0, 0, 0)
        assert page.read_bytes() == before
        assert (h.pages / "Readwise Syncs.md").read_bytes() == log_before


def _sync_without_date(h: Harness) -> SyncReport:
    """One sync through a client that never sees a `Date` header (a proxy dropped it)."""
    session = requests.Session()

    def drop_date(response: requests.Response, *args: Any, **kwargs: Any) -> None:
        response.headers.pop("Date", None)

    session.hooks["response"].append(drop_date)
    client = ReadwiseClient(
        h.config.readwise.base_url,
        h.config.readwise.token,
        session=session,
        sleep=lambda _: None,
        policy=RetryPolicy(attempts=3),
    )
    state = h.state()
    try:
        syncer = make_syncer(h.config, state, {}, client=client, clock=lambda: h.now)
        return syncer.sync()
    finally:
        state.close()


def test_without_a_date_header_the_cursor_is_the_newest_updated_at(tmp_path: Path) -> None:
    """Issue 10, item 4: no `Date` from Readwise: the newest `updated_at` it sent, less the
    overlap; the local clock (here a day ahead) is never used."""
    with harness(tmp_path) as h:
        h.server_offset = timedelta(days=-1)
        h.now = T0
        book = add_walden(h, "Simplify, simplify.")
        h.now = T0 + timedelta(minutes=5)
        h.server.add_highlight(book, text="Later.", location=20, location_type="location")
        h.now = T0 + timedelta(minutes=7)
        report = _sync_without_date(h)
        newest = T0 + timedelta(minutes=5) + h.server_offset
        assert report.cursor == format_cursor(newest - CURSOR_OVERLAP)
        h.now = T0 + timedelta(minutes=8)
        h.server.add_highlight(book, text="Right after.", location=30, location_type="location")
        report = _sync_without_date(h)
        assert report.outcome.new == 1 and "Right after." in h.page(PAGE)


def test_without_date_nor_highlights_the_cursor_stays(tmp_path: Path) -> None:
    """Issue 10, item 4: an empty answer without `Date` tells nothing of Readwise's clock: the
    previous cursor is kept (the first sync leaves none)."""
    with harness(tmp_path) as h:
        assert _sync_without_date(h).cursor is None
        state = h.state()
        state.set("cursor", "2023-03-17T17:00:00.000000Z")
        state.close()
        assert _sync_without_date(h).cursor == "2023-03-17T17:00:00.000000Z"
        state = h.state()
        assert state.get("cursor") == "2023-03-17T17:00:00.000000Z"
        state.close()
