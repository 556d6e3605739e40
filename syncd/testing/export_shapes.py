"""The shapes of the records the loopback Readwise serves: fields, their order, their defaults.

A book record and its highlight records are built here exactly as Readwise's
`/api/v2/export/` shapes them (every field, in the export's order, unknown extras after), with
times written as Readwise writes them: UTC with a `Z`. `Entry` is one stored book of a
`syncd.testing.library.Library`. Pure: no clock, no I/O; the library passes its time in.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

BOOK_FIELDS = (
    "user_book_id",
    "title",
    "readable_title",
    "author",
    "source",
    "cover_image_url",
    "unique_url",
    "summary",
    "book_tags",
    "category",
    "document_note",
    "readwise_url",
    "source_url",
    "asin",
    "is_deleted",
    "highlights",
)
HIGHLIGHT_FIELDS = (
    "id",
    "text",
    "location",
    "location_type",
    "note",
    "color",
    "highlighted_at",
    "created_at",
    "updated_at",
    "external_id",
    "end_location",
    "url",
    "book_id",
    "tags",
    "is_favorite",
    "is_discard",
    "is_deleted",
    "readwise_url",
)
TIME_FIELDS = ("highlighted_at", "created_at", "updated_at")
_SOURCES = {"books": "kindle", "articles": "reader", "tweets": "twitter", "podcasts": "snipd"}


@dataclass
class Entry:
    """A stored book: its record, whether it is raw (`put_record`: served as it is), and when
    its metadata last changed."""

    record: dict[str, Any]
    raw: bool
    updated: datetime


def parse_time(value: str) -> datetime:
    """Given an ISO 8601 time (`Z`, an offset, or none meaning UTC), return an aware datetime.

    Raise ValueError if it is not one.
    """
    text = value.strip()
    if text[-1:] in ("Z", "z"):
        text = text[:-1] + "+00:00"
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def format_time(moment: datetime) -> str:
    """Given a datetime (naive meaning UTC), return it as Readwise writes times: UTC with `Z`."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    text = moment.astimezone(timezone.utc).isoformat(timespec="microseconds")
    return text.replace("+00:00", "Z")


def parsed(value: object) -> datetime | None:
    """Parse a stored time; None when it is missing or does not parse."""
    return _parse_cached(value) if isinstance(value, str) else None


@functools.lru_cache(maxsize=1 << 17)
def _parse_cached(value: str) -> datetime | None:
    # Cached: a filtered export compares every highlight's `updated_at` on every request.
    try:
        return parse_time(value)
    except ValueError:
        return None


def changed_after(value: object, after: datetime) -> bool:
    """Given a stored `updated_at`, return whether it is after `after`; a time that is missing
    or does not parse counts as changed."""
    moment = parsed(value)
    return moment is None or moment > after


def times_as_text(fields: dict[str, Any]) -> None:
    """Write the datetimes among `fields`' time fields as Readwise's text, in place."""
    for name in TIME_FIELDS:
        if isinstance(fields.get(name), datetime):
            fields[name] = format_time(fields[name])


def ordered(record: dict[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    """Return `record` with the export's fields first, in the export's order, extras after."""
    result = {name: record[name] for name in names if name in record}
    result.update((k, v) for k, v in record.items() if k not in result)
    return result


def book_record(book_id: int, fields: dict[str, Any]) -> dict[str, Any]:
    """Given a book id and the given fields (no highlights), return the book's export record
    with Readwise-like defaults for the missing fields and an empty `highlights` list."""
    title = fields.get("title") or "Untitled"
    category = fields.get("category") or "books"
    defaults: dict[str, Any] = {
        "user_book_id": book_id,
        "title": title,
        "readable_title": title,
        "author": "",
        "source": _SOURCES.get(category, "api"),
        "cover_image_url": "",
        "unique_url": None,
        "summary": "",
        "book_tags": [],
        "category": category,
        "document_note": "",
        "readwise_url": f"https://readwise.io/bookreview/{book_id}",
        "source_url": None,
        "asin": None,
        "is_deleted": False,
    }
    return ordered({**defaults, **fields, "highlights": []}, BOOK_FIELDS)


def highlight_record(
    highlight_id: int, book_id: int, now: str, fields: dict[str, Any]
) -> dict[str, Any]:
    """Given ids, the time now (as text) and the given fields, return the highlight's export
    record with Readwise-like defaults (`created_at`, `updated_at`: now); `book_id` wins."""
    defaults: dict[str, Any] = {
        "id": highlight_id,
        "text": "",
        "location": None,
        "location_type": "order",
        "note": "",
        "color": "",
        "highlighted_at": None,
        "created_at": now,
        "updated_at": now,
        "external_id": None,
        "end_location": None,
        "url": None,
        "book_id": book_id,
        "tags": [],
        "is_favorite": False,
        "is_discard": False,
        "is_deleted": False,
        "readwise_url": f"https://readwise.io/open/{highlight_id}",
    }
    times_as_text(fields)
    return ordered({**defaults, **fields, "book_id": book_id}, HIGHLIGHT_FIELDS)
