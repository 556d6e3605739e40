"""What the state stores of pages: the page of each book and what syncd last wrote of each of
its highlights (the `pages`, `highlights` and `blocks` tables), for `syncd.edges.state.State`.

A highlight's block (its text as syncd last wrote it: most of a page's bytes) is kept with the
other blocks of its book, compressed together (`blocks`): a book's blocks share most of their
words and markup, and stored one by one they made the database bigger than the pages. Its row in
`highlights` then holds an empty BLOB in place of the block; a row an older syncd wrote holds the
block's text, read as it is.
"""

from __future__ import annotations

import json
import sqlite3
import zlib
from collections import defaultdict
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
CREATE TABLE IF NOT EXISTS blocks (
    book_id INTEGER PRIMARY KEY,
    data BLOB NOT NULL               -- the book's blocks, compressed: see _pack
);
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
        records, blocks = {}, None
        for highlight_id, _, block, source, status in rows:
            if isinstance(block, bytes):  # in the book's compressed blocks
                if blocks is None:
                    blocks = self._blocks(book_id)
                block = blocks[highlight_id]
            records[highlight_id] = highlight_record(highlight_id, book_id, block, source, status)
        return records

    def _blocks(self, book_id: int) -> dict[int, str]:
        row = self._db.execute("SELECT data FROM blocks WHERE book_id = ?", (book_id,)).fetchone()
        return {} if row is None else _unpack(row[0])

    def put_highlights(self, records: Iterable[HighlightRecord]) -> None:
        by_book: dict[int, list[HighlightRecord]] = defaultdict(list)
        for record in records:
            by_book[record.book_id].append(record)
        for book_id, put in by_book.items():
            blocks = self._blocks(book_id)
            # A block replaced is kept as an older block of its highlight (issue 19: a page
            # restored to one of them is never pushed); an older syncd kept blocks whole.
            whole = "SELECT highlight_id, block FROM highlights WHERE book_id = ? AND block != ?"
            before = {**dict(self._db.execute(whole, (book_id, _IN_BLOCKS))), **blocks}
            older = [
                (r.highlight_id, block)
                for r in put
                if (block := before.get(r.highlight_id)) and block != r.block
            ]
            self._db.executemany("INSERT OR IGNORE INTO older_blocks VALUES (?, ?)", older)
            blocks.update((r.highlight_id, r.block) for r in put)
            data = _pack(blocks)
            self._db.execute("INSERT OR REPLACE INTO blocks VALUES (?, ?)", (book_id, data))
            self._db.executemany(
                "INSERT OR REPLACE INTO highlights VALUES (?, ?, ?, ?, ?)",
                ((r.highlight_id, book_id, _IN_BLOCKS, r.source, r.status) for r in put),
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
        self._db.execute("DELETE FROM blocks WHERE book_id = ?", (book_id,))
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


# A highlight row's block when the block is in its book's `blocks` row.
_IN_BLOCKS = b""


# The first character of a book's blocks as `_pack` stores them; an older syncd stored them as
# JSON (`[[highlight id, block], ...]`), read as they are.
_PACKED = "\x00"


def _pack(blocks: dict[int, str]) -> bytes:
    """A book's blocks as stored: `_PACKED`, a line of `highlight id:length` (in characters,
    comma-separated), then the blocks one after the other; UTF-8 (a lone surrogate kept as it
    is), zlib at its fastest level (a first sync packs every block it writes; the slower levels
    save a few percent more). Not JSON: a block need not be escaped (a quarter of the time)."""
    head = ",".join([f"{highlight_id}:{len(block)}" for highlight_id, block in blocks.items()])
    text = _PACKED + head + "\n" + "".join(blocks.values())
    return zlib.compress(text.encode("utf-8", "surrogatepass"), 1)


def _unpack(data: bytes) -> dict[int, str]:
    text = zlib.decompress(data).decode("utf-8", "surrogatepass")
    if not text.startswith(_PACKED):  # as an older syncd stored them
        return {int(highlight_id): block for highlight_id, block in json.loads(text)}
    head, _, body = text.partition("\n")
    blocks, at = {}, 0
    for item in head[len(_PACKED) :].split(",") if len(head) > len(_PACKED) else ():
        highlight_id, _, length = item.partition(":")
        end = at + int(length)
        blocks[int(highlight_id)] = body[at:end]
        at = end
    return blocks


def page_record(
    book_id: int, path: str, title: str, status: str, *rest: int | str | None
) -> PageRecord:
    return PageRecord(book_id, path, title, PageStatus(status), *rest)  # type: ignore[arg-type]


def highlight_record(
    highlight_id: int, book_id: int, block: str, source: str, status: str
) -> HighlightRecord:
    return HighlightRecord(highlight_id, book_id, block, source, Status(status))
