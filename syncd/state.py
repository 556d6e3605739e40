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
from collections import Counter
from collections.abc import Iterable, Iterator
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
CREATE TABLE IF NOT EXISTS book_problems (
    book_id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,              -- see PROBLEM_KINDS
    title TEXT NOT NULL,             -- the book's title, for `syncd status`
    reason TEXT NOT NULL             -- one line: why
);
"""
# written: on the page as syncd wrote it; edited: the user changed the block; deleted: the user
# removed it; conflict: edited by the user and changed in Readwise; removed: syncd removed it
# because Readwise deleted it.
HIGHLIGHT_STATUSES = ("written", "edited", "deleted", "conflict", "removed")
# failed: handling the book failed (bad record, unwritable page); it is fetched again by id on
# later syncs until it succeeds. waiting: syncd lacks clear evidence of which page is the book's
# (its page is gone and no page is clearly it); nothing is written for it until there is.
PROBLEM_KINDS = ("failed", "waiting")


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


@dataclass(frozen=True)
class BookProblem:
    """A book syncd could not sync: `kind` is one of PROBLEM_KINDS."""

    book_id: int
    kind: str
    title: str
    reason: str


class PageNames:
    """The paths and the (casefolded) names of every page record, deleted ones too: what a new
    book's page must not take. Kept up to date by `State`, so that choosing the page of each of
    10,000 new books does not read every page record again."""

    def __init__(self) -> None:
        self._by_book: dict[int, tuple[str, str]] = {}
        self._paths: Counter[str] = Counter()
        self._names: Counter[str] = Counter()

    def put(self, page: PageRecord) -> None:
        self.drop(page.book_id)
        key = (page.path, page.title.casefold())
        self._by_book[page.book_id] = key
        self._paths[key[0]] += 1
        self._names[key[1]] += 1

    def drop(self, book_id: int) -> None:
        key = self._by_book.pop(book_id, None)
        if key is not None:
            for counter, value in ((self._paths, key[0]), (self._names, key[1])):
                counter[value] -= 1
                if not counter[value]:
                    del counter[value]

    def has_path(self, path: str) -> bool:
        return path in self._paths

    def has_name(self, casefolded: str) -> bool:
        return casefolded in self._names


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
        # The page names, and the database's data_version they were read at: another
        # connection's commit changes it, and the names are read again.
        self._names: PageNames | None = None
        self._names_version: object = None
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
            # Every page of the file, not only those opening it reads: a database damaged
            # further in would otherwise fail mid-sync (about 20 ms for 100,000 highlights).
            problem = self._db.execute("PRAGMA quick_check(1)").fetchone()[0]
            if problem != "ok":
                raise CorruptStateError(problem)
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
            self._names = None
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
        if self._names is not None:
            self._names.put(page)

    def page_names(self) -> PageNames:
        """Return the paths and names every page record uses (see `PageNames`)."""
        version = self._db.execute("PRAGMA data_version").fetchone()[0]
        if self._names is None or version != self._names_version:
            names = PageNames()
            for page in self.pages():
                names.put(page)
            self._names, self._names_version = names, version
        return self._names

    # highlights
    def highlights(self, book_id: int) -> dict[int, HighlightRecord]:
        rows = self._db.execute("SELECT * FROM highlights WHERE book_id = ?", (book_id,))
        return {row[0]: HighlightRecord(*row) for row in rows}

    def put_highlights(self, records: Iterable[HighlightRecord]) -> None:
        self._db.executemany("INSERT OR REPLACE INTO highlights VALUES (?, ?, ?, ?, ?)",
                             ((r.highlight_id, r.book_id, r.block, r.source, r.status)
                              for r in records))

    def delete_book(self, book_id: int) -> None:
        self._db.execute("DELETE FROM pages WHERE book_id = ?", (book_id,))
        self._db.execute("DELETE FROM highlights WHERE book_id = ?", (book_id,))
        if self._names is not None:
            self._names.drop(book_id)

    # books that failed or wait
    def problems(self, kind: str | None = None) -> list[BookProblem]:
        """Return the books that failed or wait (only those of `kind` when given)."""
        rows = self._db.execute("SELECT * FROM book_problems ORDER BY book_id")
        return [problem for row in rows if kind in (None, (problem := BookProblem(*row)).kind)]

    def put_problem(self, problem: BookProblem) -> None:
        assert problem.kind in PROBLEM_KINDS, problem.kind
        self._db.execute("INSERT OR REPLACE INTO book_problems VALUES (?, ?, ?, ?)",
                         (problem.book_id, problem.kind, problem.title, problem.reason))

    def clear_problem(self, book_id: int, kind: str | None = None) -> None:
        """Forget a book's problem (only a problem of `kind` when given)."""
        if kind is None:
            self._db.execute("DELETE FROM book_problems WHERE book_id = ?", (book_id,))
        else:
            self._db.execute("DELETE FROM book_problems WHERE book_id = ? AND kind = ?",
                             (book_id, kind))

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
