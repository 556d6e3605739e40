"""Pending writes (`State.put_pending`, `Syncer._settle_writes`): a first sync killed after new
pages are in place but before they are recorded leaves records the next sync settles, and those
records are exactly what an uninterrupted sync records, whatever the highlights' text (blocks of
new pages are stored as where they are in the page's text, not again: see PendingWrite.spans)."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timezone
from pathlib import Path

from syncd.core.records import HighlightRecord, PageRecord, PendingWrite
from syncd.edges.state import State
from syncd.edges.state_files import database_path
from tests.support.harness import Harness, harness
from tests.world.test_regressions import sync

T0 = datetime(2024, 1, 1, 9, 0, tzinfo=timezone.utc)
ODD = [
    "plain words",
    "ends in spaces   ",
    "ünïcödé — ספר ☕ 知识",
    "two\nlines\n\nand a gap",
    "  - an indented list line\n\tand a tab",
    "plain words",
    "- looks like a bullet",
    "the summary's own words",
]


def library(h: Harness) -> None:
    for n in range(3):
        book = h.server.add_book(
            title=f"Odd {n}", author="Someone", summary="the summary's own words"
        )["user_book_id"]
        for i, text in enumerate(ODD):
            h.server.add_highlight(
                book,
                text=text,
                note="a note" if i % 3 == 0 else "",
                tags=[{"name": "tagged"}] if i % 4 == 0 else [],
            )


def records(h: Harness) -> list[tuple[object, ...]]:
    db = sqlite3.connect(database_path(h.config.state_dir, h.vault))
    try:
        return db.execute("SELECT * FROM highlights ORDER BY highlight_id").fetchall()
    finally:
        db.close()


def test_a_first_sync_killed_before_recording_new_pages_is_settled_as_if_not_killed(
    tmp_path: Path,
) -> None:
    with harness(tmp_path / "clean") as clean, harness(tmp_path / "killed") as killed:
        for h in (clean, killed):
            h.now = T0
            library(h)
        assert sync(clean) is not None
        assert sync(killed, crash=("after_replace", 2)) is None  # two pages in place, unrecorded
        assert records(killed) == []
        db = sqlite3.connect(database_path(killed.config.state_dir, killed.vault))
        try:
            stored = "".join(row[0] for row in db.execute("SELECT highlights FROM pending_writes"))
        finally:
            db.close()
        assert "plain words" not in stored  # the blocks are the pages' text: not stored again
        report = sync(killed)
        assert report is not None and report.outcome.new == len(ODD)  # the page never placed
        assert records(killed) == records(clean)
        assert killed.page_names() == clean.page_names()
        for name in clean.page_names():
            assert killed.page(name) == clean.page(name)


def test_pending_writes_read_back_as_written(tmp_path: Path) -> None:
    text = "title:: T\n\n- a\n- b\n  - c"
    blocks = [("- a", (11, 14)), ("- b\n  - c", (15, 24)), ("- not in it", None)]
    highlights = [
        HighlightRecord(n, 7, block, f"s{n}", "written") for n, (block, _) in enumerate(blocks)
    ]
    write = PendingWrite(
        "pages/T.md",
        "d",
        PageRecord(7, "pages/T.md", "T", "active"),
        highlights,
        3,
        1,
        [("T", 3)],
        [span for _, span in blocks],
    )
    assert all(text[span[0] : span[1]] == block for block, span in blocks if span)
    state = State(tmp_path / "state.sqlite3")
    try:
        with state.transaction():
            state.put_pending([write, PendingWrite("log.md", "e", None, [], -3, -1, [])])
        log, back = state.pending()  # by path
    finally:
        state.close()
    assert back.written(text) == highlights
    assert back.blocks_known() == highlights[2:]  # the others only with the text written
    assert (back.path, back.digest, back.page, back.log_titles) == (
        write.path,
        write.digest,
        write.page,
        write.log_titles,
    )
    assert log == PendingWrite("log.md", "e", None, [], -3, -1, [])
