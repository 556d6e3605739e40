"""One page of a paginated Readwise listing (`ExportPage`), and the bounds a listing is held to
(`Listing`): a server that misbehaves (a cursor that repeats or never ends, an impossible
`count`, a book served again and again) ends the sync with a clear error within a bounded number
of requests. Shared by the client (`syncd.edges.readwise`) and its in-memory twin.
"""

from __future__ import annotations

import email.utils
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import datetime, timezone
from typing import Any

from syncd.edges.listing_json import Records, book_key
from syncd.errors import SyncdError
from syncd.ports import ExportPage

__all__ = ["ExportPage", "Listing", "ReadwiseError", "export_page", "http_date"]

# A listing's `count` beyond this is taken for a server fault (a library of a million books is
# far beyond any Readwise account), as is one that is not a whole number from 0 up.
MAX_COUNT = 1_000_000
# Books a listing may serve beyond its largest `count` (it grows while it is paged through).
COUNT_SLACK = 100
# Pages in a row with no book and yet a next page: a listing that never ends.
MAX_EMPTY_PAGES = 3
# The same book this many times in one listing: the server is going round in circles.
MAX_SAME_BOOK = 3  # `Listing` counts no further: it keeps the books served once and twice


class ReadwiseError(SyncdError):
    """Readwise answered with something syncd cannot use and retrying will not fix (e.g. 404)."""

    exit_code = 4


def export_page(body: dict[str, Any], date: str | None) -> ExportPage:
    """One page of a listing, given an answer's JSON body (holding a `results` list) and its
    `Date` header."""
    cursor = body.get("nextPageCursor")
    count = body.get("count")
    return ExportPage(
        count=count if isinstance(count, int) else len(body["results"]),
        results=body["results"],
        next_cursor=str(cursor) if cursor not in (None, "") else None,
        server_time=http_date(date),
        raw_count=count,
    )


class Listing:
    """The bounds one paginated listing is held to, page by page: it ends, within a number of
    requests its own `count` bounds, or `check` raises ReadwiseError naming what went wrong.

    A cursor sent twice, a `count` that is no count (negative, not a number, beyond
    `MAX_COUNT`), more books than the largest `count` allows, `MAX_EMPTY_PAGES` empty pages
    in a row that still name a next one, a book served `MAX_SAME_BOOK` times. Shared by the
    client and the in-memory twin.

    A listing that changed while it was paged through (its `count` changed, a book came a
    second time) is no error: the pages from then on say how (`ExportPage.changed`), so that
    the sync keeps its cursor (a book the shifting listing skipped comes next time)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.pages = 0
        self._cursors: set[str] = set()
        self._largest_count = 0
        self._served = 0
        self._empty_in_a_row = 0
        self._first_count: int | None = None
        self._once: set[object] = set()  # the books served so far
        self._twice: set[object] = set()  # ... of which those served twice
        self.changed: str | None = None

    def check(self, page: ExportPage) -> ExportPage:
        """Given the next page of the listing, return it (with `changed` set once the listing
        is seen to have changed). Raise ReadwiseError if the listing broke a bound."""
        raw_count = page.raw_count
        self.pages += 1
        where = f"{self.path} (page {self.pages})"
        if raw_count is not None and (
            not isinstance(raw_count, int)
            or isinstance(raw_count, bool)
            or not 0 <= raw_count <= MAX_COUNT
        ):
            raise ReadwiseError(
                f"Readwise answered an impossible count {_short(raw_count)} for {where}"
            )
        if isinstance(raw_count, int):
            self._largest_count = max(self._largest_count, raw_count)
            if self._first_count is None:
                self._first_count = raw_count
            elif raw_count != self._first_count and self.changed is None:
                self.changed = f"its count went from {self._first_count} to {raw_count}"
        self._served += len(page.results)
        if raw_count is not None and self._served > self._largest_count + COUNT_SLACK:
            raise ReadwiseError(
                f"Readwise served {self._served} books for {where}, more than its count "
                f"({self._largest_count}) allows; stopped"
            )
        for key in book_keys(page.results):
            if not isinstance(key, (int, str)) or isinstance(key, bool):
                continue
            if key in self._twice:
                raise ReadwiseError(
                    f"Readwise served book {_short(key)} {MAX_SAME_BOOK} times in one listing "
                    f"of {where}; stopped"
                )
            if key in self._once:
                self._twice.add(key)
                self.changed = self.changed or f"book {_short(key)} came twice"
            self._once.add(key)
        if self.changed is not None:
            page = replace(page, changed=self.changed)
        cursor = page.next_cursor
        if cursor is None:
            return page
        if cursor in self._cursors:
            raise ReadwiseError(
                f"Readwise sent the same next-page cursor twice for {where}; stopped "
                "(its listing goes round in circles)"
            )
        self._cursors.add(cursor)
        self._empty_in_a_row = 0 if page.results else self._empty_in_a_row + 1
        if self._empty_in_a_row >= MAX_EMPTY_PAGES:
            raise ReadwiseError(
                f"Readwise sent {self._empty_in_a_row} empty pages in a row for {where}, each "
                "naming a next one; stopped"
            )
        return page


def book_keys(results: Sequence[Any]) -> Iterator[object]:
    """The book of each record of a page (`user_book_id`, else `id`; None when it has neither):
    read when the answer was checked for records parsed later (`Records`)."""
    if isinstance(results, Records):
        yield from results.keys
        return
    yield from map(book_key, results)


def _short(value: object) -> str:
    """A value from an answer, as a message shows it: one line, at most 40 characters."""
    text = " ".join(repr(value).split())
    return text if len(text) <= 40 else text[:37] + "..."


def http_date(value: str | None) -> datetime | None:
    """Parse an HTTP `Date` header (RFC 9110: IMF-fixdate, or the obsolete forms) into an aware
    UTC time; None when it is missing or does not parse."""
    if not value:
        return None
    try:
        moment = email.utils.parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if moment.tzinfo is None:  # "-0000": a time given in UTC without saying where it came from
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)
