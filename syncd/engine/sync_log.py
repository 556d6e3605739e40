"""The sync log page: the new highlights (and their books) that a log line has yet to tell of,
and the page's text with this sync's line (`sync_log_update`).

They are counted in the transaction that records each write, so that a sync killed before its
log line is told of by the next one; the line itself is written by
`syncd.engine.apply.PlanApplier.write_sync_log`.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import datetime
from pathlib import Path
from typing import Any

from syncd.core.render import append_text, render_sync_log_entry
from syncd.engine.sync_settings import SyncSettings
from syncd.ports import StatePort, VaultPort

log = logging.getLogger("syncd.sync")

# State key: "H B", new highlights and their books recorded but not yet told of in the sync log.
UNLOGGED = "unlogged"
UNLOGGED_BOOKS = "unlogged_books"  # JSON [[title, new highlights], ...] for Obsidian's sync log


class SyncLog:
    """What the sync log page (`page`, None: no log) has yet to tell of, kept in the state."""

    def __init__(self, state: StatePort, page: str | None, *, lists_books: bool) -> None:
        self.state = state
        self.page = page
        self.lists_books = lists_books  # Obsidian's log names each book

    def add(self, highlights: int, books: int, titles: list[list[Any]]) -> None:
        """Add to (or, negative, take from) the highlights and books not yet told; in Obsidian,
        whose log names each book, add `titles` ([title, count] of the books added), or take
        that many from the front of those listed (the ones a log line told)."""
        if not self.page:
            return
        before_highlights, before_books = self.untold()
        total = (max(0, before_highlights + highlights), max(0, before_books + books))
        self.state.set(UNLOGGED, f"{total[0]} {total[1]}" if any(total) else None)
        if self.lists_books:
            listed = self.untold_books()
            if highlights < 0:
                listed = listed[len(titles) :]
            else:
                listed += [[t, n] for t, n in titles if n]
            self.state.set(
                UNLOGGED_BOOKS, json.dumps(listed, ensure_ascii=False) if listed else None
            )

    def untold_books(self) -> list[list[Any]]:
        """[title, new highlights] of the books the (Obsidian) sync log has yet to tell of."""
        try:
            listed = json.loads(self.state.get(UNLOGGED_BOOKS) or "[]")
        except ValueError:
            return []
        return (
            [
                item
                for item in listed
                if isinstance(item, list)
                and len(item) == 2
                and isinstance(item[0], str)
                and isinstance(item[1], int)
            ]
            if isinstance(listed, list)
            else []
        )

    def untold(self) -> tuple[int, int]:
        """New highlights, and their books, that the sync log has yet to tell of."""
        value = self.state.get(UNLOGGED) or "0 0"
        try:
            highlights, books = (int(n) for n in value.split())
        except ValueError:
            return 0, 0
        return highlights, books

    def told(self) -> None:
        """A log line told of everything untold."""
        self.state.set(UNLOGGED, None)
        self.state.set(UNLOGGED_BOOKS, None)


def is_sync_log(text: str) -> bool:
    """True for a sync log page: syncd's (Logseq's `- On ... Readwise synced`), or the one
    Readwise's Obsidian plugin writes (`- [[2023-01-07]] 3:42 AM — Synced 19 highlights`)."""
    return (
        "Readwise synced" in text
        or text.startswith("- On")
        or re.match(r"- \[\[[^\]\n]*\]\] \d{1,2}:\d\d [AP]M \u2014 Synced ", text) is not None
    )


def sync_log_update(
    vault: VaultPort,
    settings: SyncSettings,
    highlights: int,
    books: int,
    now: datetime,
    listed: list[tuple[str, int]],
) -> tuple[Path, str | None, str] | None:
    """The sync log page's path, its text (None: no page yet) and its text with a line telling
    of `highlights` new highlights in `books` books (in Obsidian, `listed` by title); None when
    the page there is not a sync log page (left alone, with a warning)."""
    assert settings.sync_log_page is not None
    path = settings.layout.page_path(settings.sync_log_page)
    page = vault.read(path)
    if page.text and not is_sync_log(page.text):
        log.warning("%s is not a sync log page; not writing to it", path)
        return None
    entry = render_sync_log_entry(highlights, books, settings.style, now, listed)
    return path, page.text, append_text(page.text or "", entry)
