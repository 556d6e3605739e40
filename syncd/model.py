"""The domain: books and highlights as Readwise exports them, parsed into plain dataclasses.

`parse_book` is the one place where the shape of a Readwise export record is checked. A record
that does not fit raises `BookSchemaError` naming the book's id and the field, so that the caller
can skip that book and keep the others.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


class BookSchemaError(ValueError):
    """An export record that does not fit the schema; `book_id` is None if even that is missing."""

    def __init__(self, book_id: object, problem: str) -> None:
        super().__init__(f"book {book_id}: {problem}")
        self.book_id = book_id
        self.problem = problem


@dataclass(frozen=True)
class Highlight:
    id: int
    text: str
    note: str = ""
    location: int | None = None
    location_type: str | None = None
    url: str | None = None
    tags: tuple[str, ...] = ()
    updated_at: str | None = None
    deleted: bool = False  # deleted or discarded in Readwise


@dataclass(frozen=True)
class Book:
    id: int
    title: str  # the readable title, as Readwise's export writes it on pages
    author: str = ""
    category: str = "books"
    source_url: str | None = None
    unique_url: str | None = None
    asin: str | None = None
    cover_image_url: str | None = None
    summary: str = ""
    document_note: str = ""
    tags: tuple[str, ...] = ()
    readwise_url: str | None = None
    highlights: tuple[Highlight, ...] = ()

    @property
    def url(self) -> str | None:
        return self.source_url or self.unique_url or None


def _field(record: Mapping[str, Any], key: str, kinds: tuple[type, ...], book_id: object,
           *, required: bool = False, where: str = "") -> Any:
    value = record.get(key)
    if value is None:
        if required:
            raise BookSchemaError(book_id, f"missing field {where}{key!r}")
        return None
    # bool is an int in Python; an id or location that is a bool is a wrong type all the same.
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
        names = "/".join(k.__name__ for k in kinds)
        raise BookSchemaError(
            book_id, f"field {where}{key!r} should be {names}, got {type(value).__name__}")
    return value


def _tag_names(record: Mapping[str, Any], key: str, book_id: object, where: str) -> tuple[str, ...]:
    tags = _field(record, key, (list,), book_id, where=where) or []
    names = []
    for tag in tags:
        name = tag.get("name") if isinstance(tag, Mapping) else None
        if not isinstance(name, str):
            raise BookSchemaError(book_id, f"field {where}{key!r} holds a tag without a name")
        names.append(name)
    return tuple(names)


def parse_highlight(record: object, book_id: object, index: int) -> Highlight:
    """Given one highlight of an export record, return a Highlight. Raise BookSchemaError."""
    where = f"highlights[{index}]."
    if not isinstance(record, Mapping):
        raise BookSchemaError(book_id, f"{where[:-1]} is not an object")
    return Highlight(
        id=_field(record, "id", (int,), book_id, required=True, where=where),
        text=_field(record, "text", (str,), book_id, required=True, where=where),
        note=_field(record, "note", (str,), book_id, where=where) or "",
        location=_field(record, "location", (int,), book_id, where=where),
        location_type=_field(record, "location_type", (str,), book_id, where=where),
        url=_field(record, "url", (str,), book_id, where=where) or None,
        tags=_tag_names(record, "tags", book_id, where),
        updated_at=_field(record, "updated_at", (str,), book_id, where=where),
        deleted=bool(_field(record, "is_deleted", (bool,), book_id, where=where)
                     or _field(record, "is_discard", (bool,), book_id, where=where)),
    )


def parse_book(record: object) -> Book:
    """Given one record of `results` in a Readwise export answer, return a Book.

    Raise BookSchemaError, naming the book's id and the field, if the record does not fit.
    """
    if not isinstance(record, Mapping):
        raise BookSchemaError(None, "record is not an object")
    book_id = record.get("user_book_id")
    _field(record, "user_book_id", (int,), book_id, required=True)
    highlights = _field(record, "highlights", (list,), book_id, required=True)
    readable = _field(record, "readable_title", (str,), book_id)
    title = readable or _field(record, "title", (str,), book_id, required=not readable)
    if not title:
        raise BookSchemaError(book_id, "empty field 'title'")
    return Book(
        id=book_id,
        title=title,
        author=_field(record, "author", (str,), book_id) or "",
        category=_field(record, "category", (str,), book_id) or "books",
        source_url=_field(record, "source_url", (str,), book_id) or None,
        unique_url=_field(record, "unique_url", (str,), book_id) or None,
        asin=_field(record, "asin", (str,), book_id) or None,
        cover_image_url=_field(record, "cover_image_url", (str,), book_id) or None,
        summary=_field(record, "summary", (str,), book_id) or "",
        document_note=_field(record, "document_note", (str,), book_id) or "",
        tags=_tag_names(record, "book_tags", book_id, ""),
        readwise_url=_field(record, "readwise_url", (str,), book_id) or None,
        highlights=tuple(parse_highlight(h, book_id, i) for i, h in enumerate(highlights)),
    )
