"""One contract for the two Readwise clients a sync can be given: the real `ReadwiseClient` talking
HTTP to the loopback `FakeReadwise`, and the in-memory `ReadwiseTwin`. Both read the same
`Library`; every test here runs on both and must see the same thing: pages and counts, cursors,
`updatedAfter`, `ids`, deleted records, the server's time, a record that breaks the schema, a
refused token. The last tests put the two side by side on the sample library.

What only HTTP has (retries, faults, timeouts) is tested in
tests/integration/test_client_loopback.py.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Protocol

import pytest

from syncd.core.model import BookSchemaError, parse_book
from syncd.edges.readwise import ExportPage, ReadwiseClient, RetryPolicy
from syncd.errors import AuthError
from syncd.testing.fakereadwise import FakeReadwise
from syncd.testing.library import Library
from syncd.testing.readwise_twin import ReadwiseTwin
from syncd.testing.sample_library import LATER_HIGHLIGHTS, SAMPLE_BOOKS
from tests.support.clock import Clock

TOKEN = "contract-token-not-secret"
# Microseconds and a whole-second boundary close by: the server's `Date` has seconds only.
T0 = datetime(2023, 3, 17, 17, 5, 9, 999_999, tzinfo=timezone.utc)


class AnyClient(Protocol):
    """What the sync calls on a Readwise client (both kinds have it)."""

    requests_made: int

    def check_token(self) -> None: ...

    def export(
        self, updated_after: datetime | None = None, book_ids: list[int] | None = None
    ) -> Iterator[ExportPage]: ...


@dataclass
class Side:
    """One way of reading `library`: `connect(token_ok)` returns a client over it."""

    library: Library
    clock: Clock
    connect: Callable[[bool], Any]

    def client(self, *, token_ok: bool = True) -> AnyClient:
        client: AnyClient = self.connect(token_ok)
        return client


def _no_wait(_seconds: float) -> None:
    """Retries never wait here (and none is expected)."""


@pytest.fixture(params=["loopback", "twin"])
def side(request: pytest.FixtureRequest) -> Iterator[Side]:
    clock = Clock(T0)
    library = Library(page_size=2, clock=clock)
    if request.param == "twin":
        yield Side(library, clock, lambda ok: ReadwiseTwin(library, token_accepted=ok))
        return
    with FakeReadwise(token=TOKEN, library=library) as server:

        def connect(ok: bool) -> ReadwiseClient:
            return ReadwiseClient(
                server.url,
                TOKEN if ok else "wrong-token",
                sleep=_no_wait,
                policy=RetryPolicy(attempts=2, rate_limit_waits=1),
            )

        yield Side(library, clock, connect)
    assert server.errors == []
    assert all(r.fault is None for r in server.requests)


def add_books(library: Library, count: int, *, updated_at: datetime = T0) -> None:
    for number in range(1, count + 1):
        library.add_book(
            user_book_id=number,
            title=f"Book {number}",
            highlights=[
                {"id": number * 10, "text": f"Highlight of book {number}", "updated_at": updated_at}
            ],
        )


def export(client: AnyClient, **kwargs: Any) -> list[ExportPage]:
    return list(client.export(**kwargs))


def book_ids(pages: list[ExportPage]) -> list[Any]:
    return [record["user_book_id"] for page in pages for record in page.results]


def highlight_ids(pages: list[ExportPage]) -> list[int]:
    return [h["id"] for page in pages for record in page.results for h in record["highlights"]]


# --- the token ----------------------------------------------------------------------------------


def test_an_accepted_token_passes_the_check(side: Side) -> None:
    client = side.client()
    client.check_token()
    assert client.requests_made == 1


def test_a_refused_token_fails_the_check_and_the_export_with_auth_error(side: Side) -> None:
    add_books(side.library, 1)
    client = side.client(token_ok=False)
    with pytest.raises(AuthError, match="refused the token"):
        client.check_token()
    with pytest.raises(AuthError, match="refused the token"):
        export(client)


# --- paging -------------------------------------------------------------------------------------


def test_five_books_come_in_pages_of_two_each_counting_all_five(side: Side) -> None:
    add_books(side.library, 5)
    client = side.client()
    pages = export(client)
    assert [len(p.results) for p in pages] == [2, 2, 1]
    assert [p.count for p in pages] == [5, 5, 5]
    assert [p.next_cursor is None for p in pages] == [False, False, True]
    assert book_ids(pages) == [1, 2, 3, 4, 5]
    assert client.requests_made == 3


def test_an_exact_multiple_of_the_page_size_ends_without_an_empty_page(side: Side) -> None:
    add_books(side.library, 4)
    pages = export(side.client())
    assert [len(p.results) for p in pages] == [2, 2]
    assert pages[-1].next_cursor is None


def test_an_empty_library_is_one_empty_page(side: Side) -> None:
    pages = export(side.client())
    assert [(p.count, p.results, p.next_cursor) for p in pages] == [(0, [], None)]


def test_a_book_without_a_visible_highlight_is_not_exported(side: Side) -> None:
    add_books(side.library, 2)
    side.library.add_book(user_book_id=3, title="No highlights")
    assert book_ids(export(side.client())) == [1, 2]


# --- updatedAfter and ids -------------------------------------------------------------------


def test_updated_after_returns_only_what_changed_after_it(side: Side) -> None:
    add_books(side.library, 5)
    later = T0 + timedelta(hours=1)
    side.library.update_highlight(30, text="edited", updated_at=later)
    side.library.add_highlight(5, id=51, text="new", updated_at=later)
    side.library.update_book(1, title="Renamed", updated_at=later)  # no highlight changed
    pages = export(side.client(), updated_after=T0 + timedelta(minutes=1))
    assert book_ids(pages) == [1, 3, 5]
    assert highlight_ids(pages) == [30, 51]
    assert pages[0].results[0]["title"] == "Renamed"
    assert pages[0].results[0]["highlights"] == []
    assert pages[0].count == 3


def test_updated_after_is_strictly_after(side: Side) -> None:
    add_books(side.library, 2)
    assert export(side.client(), updated_after=T0)[0].results == []
    assert book_ids(export(side.client(), updated_after=T0 - timedelta(microseconds=1))) == [1, 2]


def test_updated_after_in_another_timezone_means_the_same_instant(side: Side) -> None:
    add_books(side.library, 2)
    side.library.update_highlight(20, text="edited", updated_at=T0 + timedelta(seconds=1))
    plus_two = timezone(timedelta(hours=2))
    pages = export(side.client(), updated_after=T0.astimezone(plus_two))
    assert highlight_ids(pages) == [20]


def test_ids_return_only_those_books_paged_and_counted(side: Side) -> None:
    add_books(side.library, 6)
    pages = export(side.client(), book_ids=[6, 2, 4, 99])
    assert book_ids(pages) == [2, 4, 6]
    assert [p.count for p in pages] == [3, 3]


def test_ids_and_updated_after_together(side: Side) -> None:
    add_books(side.library, 4)
    later = T0 + timedelta(days=1)
    for highlight in (10, 20, 30):
        side.library.update_highlight(highlight, note="n", updated_at=later)
    pages = export(side.client(), updated_after=T0, book_ids=[2, 3, 4])
    assert book_ids(pages) == [2, 3]


# --- deleted records ------------------------------------------------------------------------


def test_deleted_and_discarded_highlights_and_deleted_books_are_exported_as_such(
    side: Side,
) -> None:
    add_books(side.library, 3)
    side.library.add_highlight(1, id=11, text="discarded", is_discard=True)
    side.library.delete_highlight(20, updated_at=T0 + timedelta(minutes=1))
    side.library.delete_book(3)
    results = [r for p in export(side.client()) for r in p.results]
    assert [r["user_book_id"] for r in results] == [1, 2, 3]
    assert [(h["id"], h["is_discard"], h["is_deleted"]) for h in results[0]["highlights"]] == [
        (10, False, False),
        (11, True, False),
    ]
    assert [(h["id"], h["is_deleted"]) for h in results[1]["highlights"]] == [(20, True)]
    assert results[2]["is_deleted"] is True


def test_a_deletion_is_a_change_after_the_cursor(side: Side) -> None:
    add_books(side.library, 2)
    side.library.delete_highlight(10, updated_at=T0 + timedelta(seconds=5))
    pages = export(side.client(), updated_after=T0)
    assert [
        (h["id"], h["is_deleted"]) for p in pages for r in p.results for h in r["highlights"]
    ] == [(10, True)]


# --- the server's time ----------------------------------------------------------------------


def test_every_page_carries_the_server_clock_to_the_second_in_utc(side: Side) -> None:
    add_books(side.library, 3)
    pages = export(side.client())
    assert [p.server_time for p in pages] == [T0.replace(microsecond=0)] * 2
    assert all(
        p.server_time is not None and p.server_time.utcoffset() == timedelta(0) for p in pages
    )


def test_the_server_time_is_the_server_s_not_the_machine_s(side: Side) -> None:
    add_books(side.library, 1)
    side.clock.now = datetime(2031, 1, 2, 3, 4, 5, 600_000, tzinfo=timezone(timedelta(hours=-7)))
    [page] = export(side.client())
    assert page.server_time == datetime(2031, 1, 2, 10, 4, 5, tzinfo=timezone.utc)


# --- strange and broken records -------------------------------------------------------------


def test_a_record_that_breaks_the_schema_is_handed_over_as_it_is(side: Side) -> None:
    add_books(side.library, 1)
    broken = {"user_book_id": 2, "title": None, "highlights": [{"id": "x", "text": 5}]}
    side.library.put_record(broken)
    side.library.put_record({"title": "no id at all", "highlights": "not a list"})
    results = [r for p in export(side.client()) for r in p.results]
    assert results[1:] == [broken, {"title": "no id at all", "highlights": "not a list"}]
    parse_book(results[0])
    with pytest.raises(BookSchemaError):
        parse_book(results[1])


def test_strange_text_comes_back_exactly(side: Side) -> None:
    texts = [
        "a lone surrogate \ud800 here",
        "emoji 🦉 and RTL \u202e",
        "nul \x00 byte",
        "line\r\nbreaks\u2028and\u2029more",
        " " * 3,
        "",
    ]
    side.library.add_book(
        user_book_id=1,
        title="Strange\ttitle",
        highlights=[{"id": i + 1, "text": text, "updated_at": T0} for i, text in enumerate(texts)],
    )
    [page] = export(side.client())
    assert page.results[0]["title"] == "Strange\ttitle"
    assert [h["text"] for h in page.results[0]["highlights"]] == texts


def test_values_come_back_as_json_gives_them(side: Side) -> None:
    side.library.add_book(
        user_book_id=1,
        highlights=[
            {
                "id": 1,
                "location": 2**63,
                "end_location": 1.5,
                "note": None,
                "extra": ("a", "tuple"),
                "updated_at": T0,
            }
        ],
    )
    [page] = export(side.client())
    highlight = page.results[0]["highlights"][0]
    assert (highlight["location"], highlight["end_location"], highlight["note"]) == (
        2**63,
        1.5,
        None,
    )
    assert highlight["extra"] == ["a", "tuple"]  # what the wire makes of a tuple


# --- the two side by side -------------------------------------------------------------------


@contextmanager
def both(library: Library) -> Iterator[tuple[AnyClient, AnyClient]]:
    """The real client over a loopback server on `library`, and the twin on it."""
    with FakeReadwise(token=TOKEN, library=library) as server:
        yield ReadwiseClient(server.url, TOKEN, sleep=_no_wait), ReadwiseTwin(library)


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"updated_after": datetime(2022, 11, 20, tzinfo=timezone.utc)},
        {"book_ids": [1003, 1001]},
        {
            "updated_after": datetime(2022, 11, 21, 12, tzinfo=timezone.utc),
            "book_ids": [1002, 1003],
        },
    ],
    ids=["all", "after", "ids", "after+ids"],
)
def test_the_twin_and_the_client_return_the_same_pages_of_the_sample_library(
    query: dict[str, Any],
) -> None:
    clock = Clock(datetime(2022, 11, 21, 8, 0, tzinfo=timezone.utc))
    library = Library(page_size=2, clock=clock, books=copy.deepcopy(SAMPLE_BOOKS))
    clock.advance(days=1)
    for book_id, highlights in LATER_HIGHLIGHTS.items():
        for highlight in copy.deepcopy(highlights):
            library.add_highlight(book_id, **highlight)
    with both(library) as (real, twin):
        real_pages, twin_pages = export(real, **query), export(twin, **query)
        assert real_pages == twin_pages
        assert real_pages and real_pages[0].count > 0
        assert real.requests_made == twin.requests_made == len(real_pages)
