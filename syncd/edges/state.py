"""The state database (SQLite under `state_dir`, never in the vault).

It remembers which page holds which book, what syncd last wrote for every highlight, the cursor,
and the outcome of the last sync. The vault stays the truth for content: when this database is
lost or corrupt (it fails an integrity check, or is not a database), it is moved aside and rebuilt
from the pages (see `syncd.engine.sync`). A database another process holds a lock on is not
corrupt: it is waited for (`busy_timeout`), then StateBusyError. A folder that cannot be
written or is gone is StateError, naming it and the system's reason.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Collection, Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import astuple
from pathlib import Path

from syncd.core.decision import Status
from syncd.core.records import (
    PROBLEM_KINDS,
    BookProblem,
    HighlightRecord,
    PageNames,
    PageRecord,
    PageStatus,
    PendingWrite,
)
from syncd.edges.atomic import file_identity
from syncd.edges.state_files import (
    DEFAULT_BUSY_TIMEOUT,
    CorruptStateError,
    StateError,
    copy_database,
    folder_reason,
    state_error,
)

SCHEMA_VERSION = 1
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS pages (
    book_id INTEGER PRIMARY KEY,
    path TEXT NOT NULL,              -- relative to the vault, '/'-separated
    title TEXT NOT NULL,
    status TEXT NOT NULL,            -- a PageStatus
    size INTEGER, mtime_ns INTEGER,  -- the file as syncd last read or wrote it
    device INTEGER, inode INTEGER, opening TEXT  -- its identity, its opening (added: _migrate)
);
CREATE TABLE IF NOT EXISTS highlights (
    highlight_id INTEGER PRIMARY KEY,
    book_id INTEGER NOT NULL,
    block TEXT NOT NULL,             -- the block as syncd last wrote it, normalised
    source TEXT NOT NULL,            -- digest of the rendering it came from
    status TEXT NOT NULL             -- see HIGHLIGHT_STATUSES
);
CREATE INDEX IF NOT EXISTS highlights_by_book ON highlights (book_id);
CREATE INDEX IF NOT EXISTS pages_by_path ON pages (path);
CREATE TABLE IF NOT EXISTS book_problems (
    book_id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,              -- see PROBLEM_KINDS
    title TEXT NOT NULL,             -- the book's title, for `syncd status`
    reason TEXT NOT NULL             -- one line: why
);
CREATE TABLE IF NOT EXISTS pending_writes (  -- see PendingWrite
    path TEXT PRIMARY KEY,
    digest TEXT NOT NULL,
    page TEXT,                       -- JSON of the PageRecord's fields; NULL: the sync log page
    highlights TEXT NOT NULL,        -- JSON: a list of HighlightRecord fields
    log_highlights INTEGER NOT NULL,
    log_books INTEGER NOT NULL,
    log_titles TEXT NOT NULL         -- JSON: [title, highlights] of the books, for Obsidian's log
);
"""
# See syncd.core.decision.Status.
HIGHLIGHT_STATUSES = tuple(status.value for status in Status)


def _json(value: object) -> str:
    # ASCII: a lone surrogate (valid JSON from Readwise, or a page's undecodable byte) stays an
    # escape, which SQLite's UTF-8 can store.
    return json.dumps(value, separators=(",", ":"))


class State:
    """A connection to one vault's state database."""

    def __init__(self, path: Path, *, busy_timeout: float | None = None) -> None:
        """Open (or create) the database at `path`; wait up to `busy_timeout` seconds
        (default DEFAULT_BUSY_TIMEOUT) for another process's lock, on opening and on every
        later statement."""
        busy_timeout = DEFAULT_BUSY_TIMEOUT if busy_timeout is None else busy_timeout
        self.path = path
        self.busy_timeout = busy_timeout
        # The page names, and the database's data_version they were read at: another
        # connection's commit changes it, and the names are read again.
        self._names: PageNames | None = None
        self._names_version: object = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as error:
            raise StateError(
                f"state folder {path.parent}: cannot create it "
                f"({folder_reason(path.parent, error)})"
            ) from None
        try:
            # One runner uses the connection at a time; the daemon may build it on another thread.
            self._db = sqlite3.connect(
                path, isolation_level=None, check_same_thread=False, timeout=busy_timeout
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(SCHEMA)
            self._migrate()
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
            with suppress(AttributeError, sqlite3.Error):
                self._db.close()
            raise state_error(error, path, busy_timeout) from None
        self._identity = file_identity(path)

    def _migrate(self) -> None:
        """Bring a database an older syncd made up to date: columns added since."""
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(pages)")}
        for column, kind in (("device", "INTEGER"), ("inode", "INTEGER"), ("opening", "TEXT")):
            if column not in columns:
                self._db.execute(f"ALTER TABLE pages ADD COLUMN {column} {kind}")

    @classmethod
    def open_or_rebuild(
        cls, path: Path, *, busy_timeout: float | None = None
    ) -> tuple[State, Path | None]:
        """Open the database; if it is corrupt, move it aside and start a new one. A locked
        one is waited for, then StateBusyError: never moved aside.

        Return the state and where the corrupt file went (None when nothing was moved)."""
        try:
            return cls(path, busy_timeout=busy_timeout), None
        except CorruptStateError:
            aside = path.with_name(f"{path.name}.corrupt-{int(time.time())}")
            for suffix in ("", "-wal", "-shm"):
                source = Path(str(path) + suffix)
                if source.exists():
                    os.replace(source, Path(str(aside) + suffix))
            return cls(path, busy_timeout=busy_timeout), aside

    @classmethod
    def read_only_copy(cls, path: Path, *, busy_timeout: float | None = None) -> State:
        """Return a State over an in-memory copy of the database at `path` (empty when there
        is none), for a dry run and `syncd status`: nothing is created or written under the
        state folder, which may be one this user can only read (see `copy_database`)."""
        busy_timeout = DEFAULT_BUSY_TIMEOUT if busy_timeout is None else busy_timeout
        memory = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
        try:
            if path.exists():
                copy_database(path, memory, busy_timeout)
                problem = memory.execute("PRAGMA quick_check(1)").fetchone()[0]
                if problem != "ok":
                    raise CorruptStateError(problem)
            memory.executescript(SCHEMA)
        except sqlite3.DatabaseError as error:
            memory.close()
            raise state_error(error, path, busy_timeout) from None
        except CorruptStateError:
            memory.close()
            raise
        state = cls.__new__(cls)
        state.path, state.busy_timeout, state._db = path, busy_timeout, memory
        state._names, state._names_version = None, None
        state._identity = file_identity(path)
        if state.get("schema_version") is None:
            state.set("schema_version", str(SCHEMA_VERSION))
        return state

    def error(self, error: sqlite3.Error) -> Exception:
        """What an SQLite error met while using this database means (see `state_error`)."""
        return state_error(error, self.path, self.busy_timeout)

    def replaced(self) -> bool:
        """True when the database file this connection has open is no longer at its path:
        deleted, or another file put there (the connection would go on with the old one)."""
        return file_identity(self.path) != self._identity

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

    # meta: cursor, last sync outcome, Reader full texts (`full_text:<document id>`)
    def entries(self, prefix: str) -> dict[str, str]:
        query = "SELECT key, value FROM meta WHERE substr(key, 1, ?) = ?"
        return dict(self._db.execute(query, (len(prefix), prefix)).fetchall())

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
        return _page(*row) if row else None

    def pages(self, status: PageStatus | None = None) -> list[PageRecord]:
        """Every page record (only those of `status` when given), by book."""
        where, args = ("", ()) if status is None else ("WHERE status = ?", (str(status),))
        rows = self._db.execute(f"SELECT * FROM pages {where} ORDER BY book_id", args)
        return [_page(*row) for row in rows]

    def pages_at(self, paths: Collection[str]) -> list[PageRecord]:
        """The page records at `paths` (a few hundred at most), by book."""
        query = f"SELECT * FROM pages WHERE path IN ({', '.join('?' * len(paths))})"
        rows = self._db.execute(query + " ORDER BY book_id", tuple(paths))
        return [_page(*row) for row in rows]

    def page_paths(self, status: PageStatus) -> list[str]:
        """The paths of the page records of `status` (no records made: cheap for 10,000)."""
        rows = self._db.execute("SELECT path FROM pages WHERE status = ?", (str(status),))
        return [row[0] for row in rows]

    def put_page(self, page: PageRecord) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO pages VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                page.book_id,
                page.path,
                page.title,
                str(page.status),
                page.size,
                page.mtime_ns,
                page.device,
                page.inode,
                page.opening,
            ),
        )
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
        return {row[0]: _highlight(*row) for row in rows}

    def put_highlights(self, records: Iterable[HighlightRecord]) -> None:
        self._db.executemany(
            "INSERT OR REPLACE INTO highlights VALUES (?, ?, ?, ?, ?)",
            ((r.highlight_id, r.book_id, r.block, r.source, r.status) for r in records),
        )

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
        self._db.execute(
            "INSERT OR REPLACE INTO book_problems VALUES (?, ?, ?, ?)",
            (problem.book_id, problem.kind, problem.title, problem.reason),
        )

    def clear_problem(self, book_id: int, kind: str | None = None) -> None:
        """Forget a book's problem (only a problem of `kind` when given)."""
        if kind is None:
            self._db.execute("DELETE FROM book_problems WHERE book_id = ?", (book_id,))
        else:
            self._db.execute(
                "DELETE FROM book_problems WHERE book_id = ? AND kind = ?", (book_id, kind)
            )

    # writes about to be made (see PendingWrite)
    def put_pending(self, writes: Iterable[PendingWrite]) -> None:
        # Written before every page write, for every highlight a first sync writes: tuples
        # built by hand (`astuple` copies deeply, several times slower), JSON without spaces,
        # a block that is in the text written as its span there (see PendingWrite.spans).
        self._db.executemany(
            "INSERT OR REPLACE INTO pending_writes VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                (
                    w.path,
                    w.digest,
                    None if w.page is None else _json(astuple(w.page)),
                    _json(
                        [
                            (
                                h.highlight_id,
                                h.book_id,
                                h.block if span is None else span,
                                h.source,
                                h.status,
                            )
                            for h, span in zip(
                                w.highlights, w.spans or [None] * len(w.highlights), strict=True
                            )
                        ]
                    ),
                    w.log_highlights,
                    w.log_books,
                    _json(w.log_titles),
                )
                for w in writes
            ),
        )

    def pending(self) -> list[PendingWrite]:
        rows = self._db.execute("SELECT * FROM pending_writes ORDER BY path")
        writes = []
        for path, digest, page, highlights, log_highlights, log_books, titles in rows:
            records, spans = [], []
            for highlight_id, book_id, block, source, status in json.loads(highlights):
                span = (int(block[0]), int(block[1])) if isinstance(block, list) else None
                records.append(
                    _highlight(highlight_id, book_id, "" if span else block, source, status)
                )
                spans.append(span)
            writes.append(
                PendingWrite(
                    path,
                    digest,
                    None if page is None else _page(*json.loads(page)),
                    records,
                    log_highlights,
                    log_books,
                    [(str(title), int(n)) for title, n in json.loads(titles)],
                    spans if any(spans) else None,
                )
            )
        return writes

    def clear_pending(self) -> None:
        self._db.execute("DELETE FROM pending_writes")

    def counts(self) -> dict[str, int]:
        """Return the numbers `syncd status` shows."""
        counts = {"books": 0, "pages": 0, "deleted_pages": 0, "highlights": 0}
        for status, n in self._db.execute("SELECT status, count(*) FROM pages GROUP BY status"):
            counts["books"] += n
            counts["pages" if status != PageStatus.DELETED else "deleted_pages"] += n
        counts.update(dict.fromkeys(HIGHLIGHT_STATUSES, 0))
        for status, n in self._db.execute(
            "SELECT status, count(*) FROM highlights GROUP BY status"
        ):
            counts[status] = n
            counts["highlights"] += n
        return counts


def _page(book_id: int, path: str, title: str, status: str, *rest: int | str | None) -> PageRecord:
    return PageRecord(book_id, path, title, PageStatus(status), *rest)  # type: ignore[arg-type]


def _highlight(
    highlight_id: int, book_id: int, block: str, source: str, status: str
) -> HighlightRecord:
    return HighlightRecord(highlight_id, book_id, block, source, Status(status))
