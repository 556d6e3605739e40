"""An in-memory Readwise library: books, highlights, tags, ids, timestamps and the export.

`Library` holds what the loopback server (`syncd.testing.fakereadwise.FakeReadwise`) and the
in-memory client twin (`syncd.testing.readwise_twin.ReadwiseTwin`) serve, with no HTTP. Tests
change it while a sync runs (`add_book`, `add_highlight`, `update_highlight`,
`delete_highlight`, `put_record`...); `export_body` answers one export request, as the JSON
body Readwise would send. The query semantics are in `syncd.testing.export`, the record shapes
in `syncd.testing.export_shapes`.

Books are ordered by id; `count` is the number of books matching the query across all pages.
Thread-safe: one lock around every change and every answer.
"""

from __future__ import annotations

import bisect
import copy
import threading
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timezone
from typing import Any

from syncd.testing.export import (
    ExportQuery,
    encode_cursor,
    included,
    json_body,
    last_change,
    render,
)
from syncd.testing.export_shapes import (
    BOOK_FIELDS,
    Entry,
    book_record,
    format_time,
    highlight_record,
    ordered,
    parse_time,
    parsed,
    times_as_text,
)
from syncd.testing.reader_library import ReaderLibrary

__all__ = ["Library"]


def utc_now() -> datetime:
    """The machine's time, aware, in UTC: a library's default clock."""
    return datetime.now(timezone.utc)


class Library:
    """The books a Readwise account holds, and the export over them; see the module doc.

    `page_size`: books per export page (Readwise: 1000).
    `clock`: the library's notion of now, used for `updated_at` defaults (and, by the server
    and the twin, as Readwise's time when it answers).
    `books`: records to load at once, as `add_book` takes them.
    """

    def __init__(
        self,
        *,
        page_size: int = 1000,
        clock: Callable[[], datetime] = utc_now,
        books: Iterable[Mapping[str, Any]] = (),
    ) -> None:
        if page_size < 1:
            raise ValueError("page_size must be at least 1")
        self.page_size = page_size
        self.clock = clock
        self.lock = threading.RLock()
        self._books: dict[int, Entry] = {}
        self._highlights: dict[int, int] = {}  # highlight id -> book key
        self._tag_ids: dict[str, int] = {}
        self._next_book_id = 1
        self._next_highlight_id = 1
        self._version = 0
        self._match_cache: tuple[tuple[Any, ...], list[int]] | None = None
        self.reader = ReaderLibrary(lambda: self.now())  # Reader's documents (API v3)
        self.load(books)

    def __len__(self) -> int:
        return len(self._books)

    def now(self) -> datetime:
        """The clock's time, aware (a naive time means UTC)."""
        moment = self.clock()
        return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)

    # changes ---------------------------------------------------------------------------------

    def load(self, books: Iterable[Mapping[str, Any]]) -> None:
        """Add every record of `books` as `add_book` does (without copies to return)."""
        with self.lock:
            for book in books:
                self._store_book(book)

    def add_book(self, **fields: Any) -> dict[str, Any]:
        """Store a book; return (a copy of) the stored export record.

        Missing fields get Readwise-like defaults; `user_book_id` is assigned when absent;
        `highlights` (optional) are stored as `add_highlight` stores them. Its metadata counts
        as changed at the newest highlight's `updated_at`, or now when it has none.
        """
        with self.lock:
            return copy.deepcopy(self._store_book(fields))

    def update_book(
        self, book_id: int, /, *, updated_at: str | datetime | None = None, **fields: Any
    ) -> dict[str, Any]:
        """Change a book's metadata fields (not its highlights); its metadata counts as changed
        at `updated_at` (default now). Return a copy of the record."""
        fields = copy.deepcopy(fields)
        fields.pop("highlights", None)
        fields.pop("user_book_id", None)
        with self.lock:
            entry = self._book(book_id)
            if "book_tags" in fields:
                fields["book_tags"] = self._tags(fields["book_tags"])
            entry.record.update(fields)
            entry.record = ordered(entry.record, BOOK_FIELDS)
            entry.updated = parse_time(self._stamp(updated_at))
            self._changed()
            return copy.deepcopy(entry.record)

    def delete_book(self, book_id: int) -> None:
        """Mark a book deleted (`is_deleted: true`); its metadata counts as changed now."""
        self.update_book(book_id, is_deleted=True)

    def add_highlight(self, book_id: int, /, **fields: Any) -> dict[str, Any]:
        """Store a highlight in book `book_id`; return a copy of the stored record.

        `id` is assigned when absent; `created_at` and `updated_at` default to now; `tags` may
        be names or `{"id", "name"}` objects; a `book_id` among `fields` is overridden.
        """
        with self.lock:
            entry = self._book(book_id)
            stored = self._add_highlight(entry, dict(fields))
            self._changed()
            return copy.deepcopy(stored)

    def update_highlight(self, highlight_id: int, /, **fields: Any) -> dict[str, Any]:
        """Change fields of a highlight; `updated_at` becomes the given one, or now.
        Return a copy of the record."""
        fields = copy.deepcopy(fields)
        with self.lock:
            highlight = self._highlight(highlight_id)
            stamp = self._stamp(fields.pop("updated_at", None))
            if "tags" in fields:
                fields["tags"] = self._tags(fields["tags"])
            times_as_text(fields)
            fields.pop("id", None)
            fields.pop("book_id", None)
            highlight.update(fields)
            highlight["updated_at"] = stamp
            self._changed()
            return copy.deepcopy(highlight)

    def delete_highlight(
        self, highlight_id: int, *, updated_at: str | datetime | None = None
    ) -> dict[str, Any]:
        """Mark a highlight deleted (`is_deleted: true`, `updated_at` now or as given)."""
        return self.update_highlight(highlight_id, is_deleted=True, updated_at=updated_at)

    def put_record(self, raw: Mapping[str, Any]) -> None:
        """Store a book record exactly as given, to be served as-is (it may break the schema).

        A record whose `user_book_id` is an int replaces the book with that id; any other
        record gets a fresh place in the id order. It counts as changed now.
        """
        record = copy.deepcopy(dict(raw))
        with self.lock:
            book_id = record.get("user_book_id")
            if not isinstance(book_id, int) or isinstance(book_id, bool):
                book_id = self._next_book_id
            self._next_book_id = max(self._next_book_id, book_id + 1)
            old = self._books.get(book_id)
            if old is not None and not old.raw:
                for highlight in old.record["highlights"]:
                    self._highlights.pop(highlight["id"], None)
            self._books[book_id] = Entry(record, raw=True, updated=self.now())
            self._changed()

    # reading ---------------------------------------------------------------------------------

    def book(self, book_id: int) -> dict[str, Any]:
        """Return a copy of the stored record of book `book_id` (all its highlights)."""
        with self.lock:
            return copy.deepcopy(self._book(book_id, raw_ok=True).record)

    def highlight(self, highlight_id: int) -> dict[str, Any]:
        """Return a copy of the stored record of highlight `highlight_id` (KeyError: none)."""
        with self.lock:
            return copy.deepcopy(self._highlight(highlight_id))

    @property
    def books(self) -> list[dict[str, Any]]:
        """Copies of every stored record, by id."""
        with self.lock:
            return [copy.deepcopy(self._books[key].record) for key in sorted(self._books)]

    def export_body(self, params: Mapping[str, str]) -> bytes:
        """Given an export request's query parameters, return the JSON body of its answer:
        `count`, `nextPageCursor` and one page of `results`.

        Raise `syncd.testing.export.BadQuery` if a parameter cannot be read.
        """
        query = ExportQuery.parse(params)
        with self.lock:
            keys = self._matching(query)
            start = 0 if query.last is None else bisect.bisect_right(keys, query.last)
            if query.offset is not None:  # by offset, in the order of the last change
                keys = sorted(keys, key=lambda key: (last_change(self._books[key]), key))
                start = query.offset
            page = keys[start : start + self.page_size]
            more = start + len(page) < len(keys)
            cursor = None
            if more and page:
                at = start + len(page)
                cursor = encode_cursor(page[-1]) if query.offset is None else f"offset:{at}"
            return json_body(
                {
                    "count": len(keys),
                    "nextPageCursor": cursor,
                    "results": [render(self._books[key], query) for key in page],
                }
            )

    # internals -------------------------------------------------------------------------------

    def _matching(self, query: ExportQuery) -> list[int]:
        """Return the sorted keys of the books the query selects (cached per library state)."""
        key = (self._version, *query.selection)
        if self._match_cache is not None and self._match_cache[0] == key:
            return self._match_cache[1]
        keys = [
            book_id
            for book_id in sorted(self._books)
            if (query.ids is None or book_id in query.ids) and included(self._books[book_id], query)
        ]
        self._match_cache = (key, keys)
        return keys

    def _stamp(self, value: str | datetime | None) -> str:
        if value is None:
            return format_time(self.now())
        return format_time(value) if isinstance(value, datetime) else value

    def _changed(self) -> None:
        self._version += 1
        self._match_cache = None

    def _book(self, book_id: int, *, raw_ok: bool = False) -> Entry:
        entry = self._books.get(book_id)
        if entry is None:
            raise KeyError(f"no book {book_id}")
        if entry.raw and not raw_ok:
            raise ValueError(f"book {book_id} is a raw record; replace it with put_record")
        return entry

    def _highlight(self, highlight_id: int) -> dict[str, Any]:
        key = self._highlights.get(highlight_id)
        if key is None:
            raise KeyError(f"no highlight {highlight_id}")
        for highlight in self._books[key].record["highlights"]:
            if highlight["id"] == highlight_id:
                return highlight
        raise KeyError(f"no highlight {highlight_id}")  # pragma: no cover - index is in sync

    def _tags(self, tags: Iterable[Any]) -> list[Any]:
        result = []
        for tag in tags:
            if isinstance(tag, str):
                tag_id = self._tag_ids.setdefault(tag, 1000 + len(self._tag_ids))
                result.append({"id": tag_id, "name": tag})
            else:
                result.append(dict(tag) if isinstance(tag, Mapping) else tag)
        return result

    def _store_book(self, given: Mapping[str, Any]) -> dict[str, Any]:
        """Store a book record built from `given` (see `add_book`); return the stored record.

        Copies what it keeps (tags included), so the caller's objects stay the caller's.
        """
        fields = dict(given)
        highlights = [dict(h) for h in fields.pop("highlights", None) or []]
        book_id = fields.get("user_book_id")
        if book_id is None:
            book_id = self._next_book_id
        if not isinstance(book_id, int) or isinstance(book_id, bool):
            raise TypeError("user_book_id must be an int; use put_record for a bad record")
        if book_id in self._books:
            raise ValueError(f"book {book_id} exists already")
        ids = [h["id"] for h in highlights if h.get("id") is not None]
        clash = set(ids) & self._highlights.keys() or len(set(ids)) != len(ids)
        if clash:
            raise ValueError(f"book {book_id}: a highlight id is used twice")
        self._next_book_id = max(self._next_book_id, book_id + 1)
        record = book_record(book_id, fields)
        record["book_tags"] = self._tags(record["book_tags"])
        entry = Entry(record, raw=False, updated=self.now())
        self._books[book_id] = entry
        for highlight in highlights:
            self._add_highlight(entry, highlight)
        times = [t for h in record["highlights"] if (t := parsed(h.get("updated_at")))]
        if times:
            entry.updated = max(times)
        self._changed()
        return record

    def _add_highlight(self, entry: Entry, fields: dict[str, Any]) -> dict[str, Any]:
        book_id = entry.record["user_book_id"]
        highlight_id = fields.get("id")
        if highlight_id is None:
            highlight_id = self._next_highlight_id
        if highlight_id in self._highlights:
            raise ValueError(f"highlight {highlight_id} exists already")
        self._next_highlight_id = max(self._next_highlight_id, highlight_id + 1)
        highlight = highlight_record(highlight_id, book_id, format_time(self.now()), fields)
        highlight["tags"] = self._tags(highlight["tags"])
        entry.record["highlights"].append(highlight)
        self._highlights[highlight_id] = book_id
        return highlight
