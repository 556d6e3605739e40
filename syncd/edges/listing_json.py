"""A listing's answer parsed so that its records are never all in memory at once: `parse_listing`
reads the JSON object of an answer, its `results` array as `Records`, each record made when it
is reached and let go of when the caller moves on.

A page of 1,000 books, all parsed at once, was 30 to 40 MB of dicts and strings (the peak of a
first sync of 10,000 books was that page's parse); its text is a third of that. The whole text
is still parsed up front, record by record, so that an answer cut short or not JSON fails at once
(and is fetched again, as before) and not halfway through its books; each record is then parsed
again when it is reached (a few percent of a first sync's time, against a quarter of its peak).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from typing import Any, overload

_DECODER = json.JSONDecoder()
_SPACE = re.compile(r"[ \t\n\r]*")  # JSON's white space


class Records(Sequence[Any]):
    """The records of a `results` array, each parsed from the answer's text when it is reached
    (a new object at each reading: the caller keeps what it keeps). `keys`: each record's book
    (`user_book_id`, else `id`; None when it has neither or is no object), read when the text
    was checked."""

    def __init__(self, text: str, starts: list[int], keys: list[object]) -> None:
        self._text = text
        self._starts = starts
        self.keys = keys

    def __len__(self) -> int:
        return len(self._starts)

    @overload
    def __getitem__(self, index: int) -> Any: ...

    @overload
    def __getitem__(self, index: slice) -> list[Any]: ...

    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            return [self._parse(start) for start in self._starts[index]]
        return self._parse(self._starts[index])

    def __iter__(self) -> Iterator[Any]:
        for start in self._starts:
            yield self._parse(start)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence) and not isinstance(other, (str, bytes)):
            return len(self) == len(other) and list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Records({len(self)} records)"

    def _parse(self, start: int) -> Any:
        return _DECODER.raw_decode(self._text, start)[0]


def book_key(record: object) -> object:
    """The book a listing's record is of: its `user_book_id`, else its `id`; None when it has
    neither or is no object."""
    return record.get("user_book_id", record.get("id")) if isinstance(record, dict) else None


def parse_listing(text: str) -> Any:
    """The JSON value of `text`, as `json.loads` gives it, but for an object's `results` array
    (at the top), which is `Records`. Raise ValueError (`json.JSONDecodeError`) where
    `json.loads` would."""
    at = _SPACE.match(text, 0).end()  # type: ignore[union-attr]
    if not text.startswith("{", at):
        return json.loads(text)
    body: dict[str, Any] = {}
    at = _SPACE.match(text, at + 1).end()  # type: ignore[union-attr]
    if text.startswith("}", at):
        return _end(text, at + 1, body)
    while True:
        if not text.startswith('"', at):
            message = "Expecting property name enclosed in double quotes"
            raise json.JSONDecodeError(message, text, at)
        key, at = _DECODER.raw_decode(text, at)
        at = _SPACE.match(text, at).end()  # type: ignore[union-attr]
        if not text.startswith(":", at):
            raise json.JSONDecodeError("Expecting ':' delimiter", text, at)
        at = _SPACE.match(text, at + 1).end()  # type: ignore[union-attr]
        if key == "results" and text.startswith("[", at):
            body[key], at = _records(text, at)
        else:
            body[key], at = _value(text, at)
        at = _SPACE.match(text, at).end()  # type: ignore[union-attr]
        if text.startswith("}", at):
            return _end(text, at + 1, body)
        if not text.startswith(",", at):
            raise json.JSONDecodeError("Expecting ',' delimiter", text, at)
        at = _SPACE.match(text, at + 1).end()  # type: ignore[union-attr]


def _value(text: str, at: int) -> tuple[Any, int]:
    try:
        return _DECODER.raw_decode(text, at)
    except StopIteration:  # (what the C scanner raises at the end of the text)
        raise json.JSONDecodeError("Expecting value", text, at) from None


def _records(text: str, at: int) -> tuple[Records, int]:
    """The array starting at `at` (its `[`), checked record by record, each let go of at once;
    and where it ends."""
    starts: list[int] = []
    keys: list[object] = []
    at = _SPACE.match(text, at + 1).end()  # type: ignore[union-attr]
    if text.startswith("]", at):
        return Records(text, starts, keys), at + 1
    while True:
        record, end = _value(text, at)
        starts.append(at)
        keys.append(book_key(record))
        del record
        at = _SPACE.match(text, end).end()  # type: ignore[union-attr]
        if text.startswith("]", at):
            return Records(text, starts, keys), at + 1
        if not text.startswith(",", at):
            raise json.JSONDecodeError("Expecting ',' delimiter", text, at)
        at = _SPACE.match(text, at + 1).end()  # type: ignore[union-attr]


def _end(text: str, at: int, body: dict[str, Any]) -> dict[str, Any]:
    at = _SPACE.match(text, at).end()  # type: ignore[union-attr]
    if at != len(text):
        raise json.JSONDecodeError("Extra data", text, at)
    return body
