"""What the state stores of work under way: the books that failed or wait, and the page writes
about to be made (the `book_problems` and `pending_writes` tables), for
`syncd.edges.state.State`."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable

from syncd.core.records import PROBLEM_KINDS, BookProblem, PageRecord, PendingWrite
from syncd.edges.state_pages import highlight_record, page_record

WORK_SCHEMA = """
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


class WorkTables:
    """The books that failed or wait, and the pending writes, of a state database (`_db`)."""

    _db: sqlite3.Connection

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
                    None if w.page is None else _json(_page_fields(w.page)),
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
                    highlight_record(highlight_id, book_id, "" if span else block, source, status)
                )
                spans.append(span)
            writes.append(
                PendingWrite(
                    path,
                    digest,
                    None if page is None else page_record(*json.loads(page)),
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


def _page_fields(page: PageRecord) -> tuple[object, ...]:
    """A page record's fields in order, as `astuple` gives them (which copies each deeply:
    5 times as long, for every new page of a first sync)."""
    return (
        page.book_id,
        page.path,
        page.title,
        page.status,
        page.size,
        page.mtime_ns,
        page.device,
        page.inode,
        page.opening,
    )


def _json(value: object) -> str:
    # ASCII: a lone surrogate (valid JSON from Readwise, or a page's undecodable byte) stays an
    # escape, which SQLite's UTF-8 can store.
    return json.dumps(value, separators=(",", ":"))
