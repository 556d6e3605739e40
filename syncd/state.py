"""The state database (SQLite under `state_dir`, never in the vault).

It remembers which page holds which book, what syncd last wrote for every highlight, the cursor,
and the outcome of the last sync. The vault stays the truth for content: when this database is
lost or corrupt, it is moved aside and rebuilt from the pages (see `syncd.sync`).
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

SCHEMA_VERSION = 1
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS pages (
    book_id INTEGER PRIMARY KEY,
    path TEXT NOT NULL,              -- relative to the vault, '/'-separated
    title TEXT NOT NULL,
    status TEXT NOT NULL,            -- active | deleted (the user deleted the page)
    size INTEGER, mtime_ns INTEGER   -- the file as syncd last read or wrote it
);
CREATE TABLE IF NOT EXISTS highlights (
    highlight_id INTEGER PRIMARY KEY,
    book_id INTEGER NOT NULL,
    block TEXT NOT NULL,             -- the block as syncd last wrote it, normalised
    source TEXT NOT NULL,            -- digest of the rendering it came from
    status TEXT NOT NULL             -- see HIGHLIGHT_STATUSES
);
CREATE INDEX IF NOT EXISTS highlights_by_book ON highlights (book_id);
"""
# written: on the page as syncd wrote it; edited: the user changed the block; deleted: the user
# removed it; conflict: edited by the user and changed in Readwise; removed: syncd removed it
# because Readwise deleted it.
HIGHLIGHT_STATUSES = ("written", "edited", "deleted", "conflict", "removed")


@dataclass(frozen=True)
class PageRecord:
    book_id: int
    path: str
    title: str
    status: str
    size: int | None = None
    mtime_ns: int | None = None


@dataclass(frozen=True)
class HighlightRecord:
    highlight_id: int
    book_id: int
    block: str
    source: str
    status: str


def database_path(state_dir: Path, vault: Path) -> Path:
    """Return the database file of one vault: several vaults may share a state_dir."""
    key = hashlib.sha256(str(vault.resolve()).encode()).hexdigest()[:16]
    return state_dir / f"vault-{key}.sqlite3"


class CorruptStateError(Exception):
    """The database file is not a usable syncd database."""


class State:
    """A connection to one vault's state database."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            # One runner uses the connection at a time; the daemon may build it on another thread.
            self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(SCHEMA)
            version = self.get("schema_version")
            if version is None:
                self.set("schema_version", str(SCHEMA_VERSION))
            elif version != str(SCHEMA_VERSION):
                raise CorruptStateError(f"unknown schema version {version}")
            self._db.execute("SELECT count(*) FROM pages").fetchone()
        except sqlite3.DatabaseError as error:
            raise CorruptStateError(str(error)) from None

    @classmethod
    def open_or_rebuild(cls, path: Path) -> tuple[State, Path | None]:
        """Open the database; if it is corrupt, move it aside and start a new one.

        Return the state and where the corrupt file went (None when nothing was moved)."""
        try:
            return cls(path), None
        except CorruptStateError:
            aside = path.with_name(f"{path.name}.corrupt-{int(time.time())}")
            for suffix in ("", "-wal", "-shm"):
                source = Path(str(path) + suffix)
                if source.exists():
                    os.replace(source, Path(str(aside) + suffix))
            return cls(path), aside

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    # meta: cursor, last sync outcome
    def get(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set(self, key: str, value: str | None) -> None:
        if value is None:
            self._db.execute("DELETE FROM meta WHERE key = ?", (key,))
        else:
            self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    # pages
    def page(self, book_id: int) -> PageRecord | None:
        row = self._db.execute("SELECT * FROM pages WHERE book_id = ?", (book_id,)).fetchone()
        return PageRecord(*row) if row else None

    def pages(self) -> list[PageRecord]:
        rows = self._db.execute("SELECT * FROM pages ORDER BY book_id")
        return [PageRecord(*row) for row in rows]

    def put_page(self, page: PageRecord) -> None:
        self._db.execute("INSERT OR REPLACE INTO pages VALUES (?, ?, ?, ?, ?, ?)",
                         (page.book_id, page.path, page.title, page.status, page.size,
                          page.mtime_ns))

    # highlights
    def highlights(self, book_id: int) -> dict[int, HighlightRecord]:
        rows = self._db.execute("SELECT * FROM highlights WHERE book_id = ?", (book_id,))
        return {row[0]: HighlightRecord(*row) for row in rows}

    def put_highlight(self, record: HighlightRecord) -> None:
        self._db.execute("INSERT OR REPLACE INTO highlights VALUES (?, ?, ?, ?, ?)",
                         (record.highlight_id, record.book_id, record.block, record.source,
                          record.status))

    def delete_book(self, book_id: int) -> None:
        self._db.execute("DELETE FROM pages WHERE book_id = ?", (book_id,))
        self._db.execute("DELETE FROM highlights WHERE book_id = ?", (book_id,))

    def counts(self) -> dict[str, int]:
        """Return the numbers `syncd status` shows."""
        counts = {"books": 0, "pages": 0, "deleted_pages": 0, "highlights": 0}
        for status, n in self._db.execute("SELECT status, count(*) FROM pages GROUP BY status"):
            counts["books"] += n
            counts["pages" if status == "active" else "deleted_pages"] += n
        for status in HIGHLIGHT_STATUSES:
            counts[status] = 0
        for status, n in self._db.execute(
                "SELECT status, count(*) FROM highlights GROUP BY status"):
            counts[status] = n
            counts["highlights"] += n
        return counts
