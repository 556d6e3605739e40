"""What the state stores of pages: the page of each book and what syncd last wrote of each of
its highlights (the `pages` and `highlights` tables), for `syncd.edges.state.State`."""

from __future__ import annotations

import sqlite3
from collections.abc import Collection, Iterable

from syncd.core.decision import Status
from syncd.core.records import HighlightRecord, PageNames, PageRecord, PageStamp, PageStatus

PAGES_SCHEMA = """
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
"""
# See syncd.core.decision.Status.
HIGHLIGHT_STATUSES = tuple(status.value for status in Status)


class PageTables:
    """The pages and highlights of a state database (`_db`)."""

    _db: sqlite3.Connection
    # The page names, and the database's data_version they were read at: another connection's
    # commit changes it, and the names are read again.
    _names: PageNames | None = None
    _names_version: object = None

    def page(self, book_id: int) -> PageRecord | None:
        row = self._db.execute("SELECT * FROM pages WHERE book_id = ?", (book_id,)).fetchone()
        return page_record(*row) if row else None

    def pages(self, status: PageStatus | None = None) -> list[PageRecord]:
        """Every page record (only those of `status` when given), by book."""
        where, args = ("", ()) if status is None else ("WHERE status = ?", (str(status),))
        rows = self._db.execute(f"SELECT * FROM pages {where} ORDER BY book_id", args)
        return [page_record(*row) for row in rows]

    def page_stamps(self) -> list[PageStamp]:
        """What a scan of every page reads of each record (see `PageStamp`), by book: a
        quarter of the time every record takes (their titles and openings not read)."""
        query = "SELECT book_id, path, status, size, mtime_ns, opening IS NOT NULL FROM pages"
        return self._db.execute(query + " ORDER BY book_id").fetchall()

    def pages_at(self, paths: Collection[str]) -> list[PageRecord]:
        """The page records at `paths` (a few hundred at most), by book."""
        query = f"SELECT * FROM pages WHERE path IN ({', '.join('?' * len(paths))})"
        rows = self._db.execute(query + " ORDER BY book_id", tuple(paths))
        return [page_record(*row) for row in rows]

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
        return {row[0]: highlight_record(*row) for row in rows}

    def put_highlights(self, records: Iterable[HighlightRecord]) -> None:
        self._db.executemany(
            "INSERT OR REPLACE INTO highlights VALUES (?, ?, ?, ?, ?)",
            ((r.highlight_id, r.book_id, r.block, r.source, r.status) for r in records),
        )

    def delete_book(self, book_id: int) -> None:
        self._db.execute("DELETE FROM pages WHERE book_id = ?", (book_id,))
        self._db.execute(
            "DELETE FROM older_blocks WHERE highlight_id IN "
            "(SELECT highlight_id FROM highlights WHERE book_id = ?)",
            (book_id,),
        )
        self._db.execute("DELETE FROM highlights WHERE book_id = ?", (book_id,))
        self._db.execute("DELETE FROM conflicts WHERE book_id = ?", (book_id,))
        if self._names is not None:
            self._names.drop(book_id)

    def page_count(self) -> int:
        """The pages syncd keeps (not deleted): `counts()["pages"]`, without reading every
        highlight."""
        query = "SELECT count(*) FROM pages WHERE status != ?"
        return int(self._db.execute(query, (str(PageStatus.DELETED),)).fetchone()[0])

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


def page_record(
    book_id: int, path: str, title: str, status: str, *rest: int | str | None
) -> PageRecord:
    return PageRecord(book_id, path, title, PageStatus(status), *rest)  # type: ignore[arg-type]


def highlight_record(
    highlight_id: int, book_id: int, block: str, source: str, status: str
) -> HighlightRecord:
    return HighlightRecord(highlight_id, book_id, block, source, Status(status))
