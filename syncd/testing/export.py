"""The export query's semantics, as the loopback Readwise answers `GET /api/v2/export/`.

`ExportQuery.parse` reads the query parameters (`updatedAfter`, `ids`, `includeDeleted`,
`pageCursor`) and raises `BadQuery` (a 400 over HTTP) on a value it cannot read. `included` and
`visible` say which books and which of their highlights a query shows; `render` gives the record
served. Choices the real API leaves open, made here and relied on by the tests:

- A book appears only when it carries at least one highlight, except that with `updatedAfter` a
  book whose metadata changed after that time appears even with no changed highlight.
- Deleted or discarded highlights, and deleted books, appear only with `includeDeleted=true`.
- A raw record (`put_record`) is served as it is; with `updatedAfter` it appears when it was
  stored after that time.
- `nextPageCursor` is an opaque string naming the last book served, so paging stays correct
  while the library changes. A cursor `offset:N` (which a fault sends, `Fault.offset_paging`)
  asks instead for the listing as a server paging by offset over the books in the order of
  their last change serves it: a book changed while the listing is paged moves to its end, so
  it comes twice and the book after the page served is skipped.

Pure: the library holds the books and the lock.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from syncd.testing.export_shapes import Entry, changed_after, parse_time


class BadQuery(ValueError):
    """A query parameter the export cannot read; the message names it."""


@dataclass(frozen=True)
class ExportQuery:
    """What one export request asks for; `last`: the book key the page cursor names;
    `offset`: the place an `offset:N` cursor names."""

    after: datetime | None = None
    ids: frozenset[int] | None = None
    include_deleted: bool = False
    last: int | None = None
    offset: int | None = None

    @classmethod
    def parse(cls, params: Mapping[str, str]) -> ExportQuery:
        """Given the query parameters (last value of each), return the query.

        Raise BadQuery if `updatedAfter`, `ids` or `pageCursor` cannot be read.
        """
        after = updated_after(params)
        ids = None
        if params.get("ids"):
            try:
                ids = frozenset(int(part) for part in params["ids"].split(",") if part.strip())
            except ValueError:
                raise BadQuery("ids must be comma-separated book ids") from None
        include_deleted = params.get("includeDeleted", "").lower() == "true"
        cursor = params.get("pageCursor") or ""
        if cursor.startswith("offset:"):
            if not cursor[7:].isdigit():
                raise BadQuery("pageCursor is not a cursor this server gave")
            return cls(after, ids, include_deleted, None, int(cursor[7:]))
        last = decode_cursor(cursor) if cursor else None
        return cls(after, ids, include_deleted, last)

    @property
    def selection(self) -> tuple[Any, ...]:
        """What decides which books match (not the page): a cache key."""
        return (self.after, self.ids, self.include_deleted)


def visible(entry: Entry, query: ExportQuery) -> list[dict[str, Any]]:
    """The highlights a query shows: not deleted (unless asked), changed after `after`.
    A highlight whose `updated_at` is missing or does not parse counts as changed."""
    after, include_deleted = query.after, query.include_deleted
    return [
        h
        for h in entry.record["highlights"]
        if (include_deleted or not (h.get("is_deleted") or h.get("is_discard")))
        and (after is None or changed_after(h.get("updated_at"), after))
    ]


def included(entry: Entry, query: ExportQuery) -> bool:
    """Whether the query shows the book at all (see the module doc)."""
    after = query.after
    if entry.raw:
        deleted = entry.record.get("is_deleted") is True
        return (query.include_deleted or not deleted) and (after is None or entry.updated > after)
    if entry.record.get("is_deleted") and not query.include_deleted:
        return False
    if after is not None and entry.updated > after:
        return True
    return bool(visible(entry, query))


def render(entry: Entry, query: ExportQuery) -> dict[str, Any]:
    """The record served for a book the query shows (shared, not copied: encode it at once)."""
    if entry.raw:
        return entry.record
    return {**entry.record, "highlights": visible(entry, query)}


def last_change(entry: Entry) -> datetime:
    """When a book last changed: its metadata or any of its highlights."""
    times = [entry.updated]
    for highlight in entry.record.get("highlights") or ():
        with contextlib.suppress(ValueError, TypeError, AttributeError):
            times.append(parse_time(highlight["updated_at"]))
    return max(times)


def encode_cursor(book_key: int) -> str:
    """The opaque `nextPageCursor` naming the last book of a page."""
    return base64.urlsafe_b64encode(f"book:{book_key}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """The book key a cursor from `encode_cursor` names. Raise BadQuery on any other text."""
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, _, number = text.partition(":")
        if kind != "book":
            raise ValueError(kind)
        return int(number)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise BadQuery("pageCursor is not a cursor this server gave") from None


def json_body(value: object) -> bytes:
    """Encode `value` as an answer's JSON body (UTF-8; a lone surrogate as its escape)."""
    try:
        return json.dumps(value, ensure_ascii=False).encode()
    except UnicodeEncodeError:  # a lone surrogate: valid JSON only as an escape, "\ud800"
        return json.dumps(value).encode()


def updated_after(params: Mapping[str, str]) -> datetime | None:
    """The `updatedAfter` of a query (None without one). Raise BadQuery if it cannot be read."""
    if not params.get("updatedAfter"):
        return None
    try:
        return parse_time(params["updatedAfter"])
    except ValueError:
        raise BadQuery("updatedAfter is not an ISO 8601 date and time") from None
