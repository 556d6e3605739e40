"""The domain: books and highlights as Readwise exports them, parsed into plain dataclasses.

`parse_book` is the one place where the shape of a Readwise export record is checked. A record
that does not fit raises `BookSchemaError` naming the book's id and the field, so that the caller
can skip that book and keep the others.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
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
    deleted_in_readwise: bool = False  # deleted or discarded there


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
    source: str = ""  # "reader" for a document saved in Readwise Reader
    external_id: str | None = None  # the source's own id (Reader: the document's id)

    @property
    def url(self) -> str | None:
        return self.source_url or self.unique_url or None


# What each field of an export record must be when present, and whether it must be present.
_Schema = tuple[tuple[str, tuple[type, ...], bool], ...]
_HIGHLIGHT_FIELDS: _Schema = (
    ("id", (int,), True),
    ("text", (str,), True),
    ("note", (str,), False),
    ("location", (int,), False),
    ("location_type", (str,), False),
    ("url", (str,), False),
    ("tags", (list,), False),
    ("updated_at", (str,), False),
    ("is_deleted", (bool,), False),
    ("is_discard", (bool,), False),
)
_BOOK_FIELDS: _Schema = (
    ("user_book_id", (int,), True),
    ("highlights", (list,), True),
    ("readable_title", (str,), False),
    ("author", (str,), False),
    ("category", (str,), False),
    ("source_url", (str,), False),
    ("unique_url", (str,), False),
    ("asin", (str,), False),
    ("cover_image_url", (str,), False),
    ("summary", (str,), False),
    ("document_note", (str,), False),
    ("book_tags", (list,), False),
    ("readwise_url", (str,), False),
    ("source", (str,), False),
)


def has_lone_surrogate(text: str) -> bool:
    """True for text holding a lone surrogate (valid in JSON's `\\ud800`, not Unicode text)."""
    if text.isascii():
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _check(record: Mapping[str, Any], schema: _Schema, book_id: object, where: str = "") -> None:
    """Raise BookSchemaError for the first field of `record` that does not fit `schema`; a
    text holding a lone surrogate does not fit (it cannot be written to a page or stored)."""
    for key, kinds, required in schema:
        value = record.get(key)
        if value is None:
            if required:
                raise BookSchemaError(book_id, f"missing field {where + key!r}")
        elif value.__class__ not in kinds and (
            # bool is an int in Python; an id or location that is a bool is a wrong type.
            not isinstance(value, kinds) or isinstance(value, bool)
        ):
            names = "/".join(k.__name__ for k in kinds)
            raise BookSchemaError(
                book_id, f"field {where + key!r} should be {names}, got {type(value).__name__}"
            )
        elif value.__class__ is str and has_lone_surrogate(value):
            raise BookSchemaError(
                book_id, f"field {where + key!r} holds a lone surrogate (not valid Unicode text)"
            )


def _tag_names(tags: list[Any] | None, key: str, book_id: object, where: str) -> tuple[str, ...]:
    if not tags:
        return ()
    names = []
    for tag in tags:
        name = tag.get("name") if isinstance(tag, Mapping) else None
        if not isinstance(name, str):
            raise BookSchemaError(book_id, f"field {where + key!r} holds a tag without a name")
        if has_lone_surrogate(name):
            raise BookSchemaError(
                book_id,
                f"field {where + key!r} holds a tag with a lone surrogate (not valid Unicode text)",
            )
        names.append(name)
    return tuple(names)


def parse_highlight(record: object, book_id: object, index: int) -> Highlight:
    """Given one highlight of an export record, return a Highlight. Raise BookSchemaError."""
    where = f"highlights[{index}]."
    if not isinstance(record, Mapping):
        raise BookSchemaError(book_id, f"{where[:-1]} is not an object")
    get: Callable[[str], Any] = record.get
    id_, text, note, url = get("id"), get("text"), get("note"), get("url")
    location, location_type, updated_at = get("location"), get("location_type"), get("updated_at")
    tags, deleted, discarded = get("tags"), get("is_deleted"), get("is_discard")
    # What JSON gives a highlight that fits, checked at once (a tenth of a first sync's parsing
    # was `_check`'s loop); anything else is checked field by field, in the schema's order, for
    # the first that does not fit.
    fits = (
        id_.__class__ is int
        and text.__class__ is str
        and (note is None or note.__class__ is str)
        and (location is None or location.__class__ is int)
        and (location_type is None or location_type.__class__ is str)
        and (url is None or url.__class__ is str)
        and (tags is None or tags.__class__ is list)
        and (updated_at is None or updated_at.__class__ is str)
        and (deleted is None or deleted.__class__ is bool)
        and (discarded is None or discarded.__class__ is bool)
    )
    if fits:
        texts = text + (note or "") + (location_type or "") + (url or "") + (updated_at or "")
        fits = texts.isascii() or not has_lone_surrogate(texts)
    if not fits:
        _check(record, _HIGHLIGHT_FIELDS, book_id, where)
    return Highlight(
        id=id_,
        text=text,
        note=note or "",
        location=location,
        location_type=location_type,
        url=url or None,
        tags=_tag_names(tags, "tags", book_id, where) if tags else (),
        updated_at=updated_at,
        deleted_in_readwise=bool(deleted or discarded),
    )


def parse_book(record: object) -> Book:
    """Given one record of `results` in a Readwise export answer, return a Book.

    Raise BookSchemaError, naming the book's id and the field, if the record does not fit.
    """
    if not isinstance(record, Mapping):
        raise BookSchemaError(None, "record is not an object")
    book_id = record.get("user_book_id")
    _check(record, _BOOK_FIELDS, book_id)
    get = record.get
    title = get("readable_title")
    if not title:  # the readable title, else the title
        _check(record, (("title", (str,), True),), book_id)
        title = get("title")
    if not title:
        raise BookSchemaError(book_id, "empty field 'title'")
    return Book(
        id=record["user_book_id"],
        title=title,
        author=get("author") or "",
        category=get("category") or "books",
        source_url=get("source_url") or None,
        unique_url=get("unique_url") or None,
        asin=get("asin") or None,
        cover_image_url=get("cover_image_url") or None,
        summary=get("summary") or "",
        document_note=get("document_note") or "",
        tags=_tag_names(get("book_tags"), "book_tags", book_id, ""),
        readwise_url=get("readwise_url") or None,
        highlights=tuple(
            parse_highlight(h, book_id, i) for i, h in enumerate(record["highlights"])
        ),
        source=get("source") or "",
        external_id=_text_id(get("external_id")),
    )


def _text_id(value: object) -> str | None:
    """An id the export may give as text or number (`external_id`), as text; None else."""
    if isinstance(value, bool) or not isinstance(value, (str, int)) or value == "":
        return None
    text = str(value)
    return None if has_lone_surrogate(text) else text
