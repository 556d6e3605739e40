"""The Readwise client (`syncd.edges.readwise.ReadwiseClient`) against a real `FakeReadwise` on
127.0.0.1: paging, `updatedAfter`, every injectable fault retried to success over real sockets,
a refused token stopping at once, and the token never reaching what the server records.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from syncd.core.model import BookSchemaError, parse_book
from syncd.edges.readwise import ExportPage, ReadwiseClient, RetryPolicy
from syncd.errors import AuthError, UnreachableError
from syncd.testing.fakereadwise import FakeReadwise
from syncd.testing.faults import Fault
from tests.support.clock import Clock

TOKEN = "loopback-SECRET-token-83c2"
T0 = datetime(2023, 3, 17, 17, 5, tzinfo=timezone.utc)


class Retries:
    """Records the client's `on_retry(reason, wait)` calls and its (never waiting) sleeps."""

    def __init__(self) -> None:
        self.reasons: list[str] = []
        self.waits: list[float] = []
        self.sleeps: list[float] = []

    def on_retry(self, reason: str, wait: float) -> None:
        self.reasons.append(reason)
        self.waits.append(wait)

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture
def server(clock: Clock) -> Iterator[FakeReadwise]:
    with FakeReadwise(token=TOKEN, page_size=2, clock=clock) as fake:
        yield fake
    assert fake.errors == []


@pytest.fixture
def retries() -> Retries:
    return Retries()


def client_for(
    server: FakeReadwise,
    retries: Retries,
    *,
    token: str = TOKEN,
    timeout: tuple[float, float] = (5.0, 10.0),
    policy: RetryPolicy | None = None,
) -> ReadwiseClient:
    return ReadwiseClient(
        server.url,
        token,
        timeout=timeout,
        policy=policy or RetryPolicy(),
        sleep=retries.sleep,
        rand=lambda: 0.5,
        on_retry=retries.on_retry,
    )


def add_books(server: FakeReadwise, count: int) -> None:
    for number in range(1, count + 1):
        server.add_book(
            user_book_id=number,
            title=f"Book {number}",
            highlights=[
                {"id": number * 10, "text": f"Highlight of book {number}", "updated_at": T0}
            ],
        )


def book_ids(pages: list[ExportPage]) -> list[int]:
    return [record["user_book_id"] for page in pages for record in page.results]


# --- paging and filters -----------------------------------------------------------------------


def test_pagination_over_five_books_with_pages_of_two(
    server: FakeReadwise, retries: Retries
) -> None:
    add_books(server, 5)
    client = client_for(server, retries)

    pages = list(client.export())

    assert [len(page.results) for page in pages] == [2, 2, 1]
    assert book_ids(pages) == [1, 2, 3, 4, 5]
    assert all(page.count == 5 for page in pages)
    assert pages[-1].next_cursor is None
    books = [parse_book(record) for page in pages for record in page.results]
    assert [b.highlights[0].text for b in books] == [f"Highlight of book {n}" for n in range(1, 6)]
    seen = server.requests_to("export")
    assert len(seen) == 3
    assert client.requests_made == 3
    assert "pageCursor" not in seen[0].query
    assert seen[1].query["pageCursor"] == pages[0].next_cursor
    assert seen[2].query["pageCursor"] == pages[1].next_cursor
    assert all(r.query["includeDeleted"] == "true" for r in seen)
    assert all(r.status == 200 and r.fault is None for r in seen)
    assert retries.reasons == []


def test_updated_after_returns_only_what_changed_after_the_cursor(
    server: FakeReadwise, retries: Retries, clock: Clock
) -> None:
    add_books(server, 3)
    cursor = T0 + timedelta(minutes=1)
    clock.advance(minutes=2)
    server.add_highlight(2, id=99, text="A later thought", updated_at=T0 + timedelta(minutes=2))
    server.add_book(
        user_book_id=4,
        title="New book",
        highlights=[{"id": 40, "text": "Fresh", "updated_at": T0 + timedelta(minutes=3)}],
    )
    client = client_for(server, retries)

    pages = list(client.export(updated_after=cursor))

    records = {r["user_book_id"]: r for page in pages for r in page.results}
    assert sorted(records) == [2, 4]
    assert [h["id"] for h in records[2]["highlights"]] == [99]
    assert [h["id"] for h in records[4]["highlights"]] == [40]
    assert server.requests_to("export")[0].query["updatedAfter"] == "2023-03-17T17:06:00.000000Z"
    # Without the cursor, everything comes back.
    full = list(client.export())
    assert book_ids(full) == [1, 2, 3, 4]


def test_ids_filter_reaches_the_server(server: FakeReadwise, retries: Retries) -> None:
    add_books(server, 5)

    pages = list(client_for(server, retries).export(book_ids=[2, 5]))

    assert book_ids(pages) == [2, 5]
    assert server.requests_to("export")[0].query["ids"] == "2,5"


def test_a_broken_record_passes_through_and_parse_book_names_it(
    server: FakeReadwise, retries: Retries
) -> None:
    add_books(server, 1)
    broken = {"user_book_id": 77, "title": "Broken", "readable_title": "Broken"}
    server.put_record(broken)

    pages = list(client_for(server, retries).export())

    records = [r for page in pages for r in page.results]
    assert records[1] == broken
    assert parse_book(records[0]).id == 1
    with pytest.raises(BookSchemaError) as caught:
        parse_book(records[1])
    assert "77" in str(caught.value)
    assert "'highlights'" in str(caught.value)


# --- faults, retried to success ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "reason", "wait"),
    [
        pytest.param(Fault.retry_after(0), "429", 0.0, id="429"),
        pytest.param(Fault.status(503), "503", 0.75, id="503"),
        pytest.param(Fault.status(500, body=b"<html>oops</html>"), "500", 0.75, id="500-html"),
        pytest.param(Fault.reset(), "connection failed", 0.75, id="reset"),
        pytest.param(Fault.truncated(), "connection failed", 0.75, id="truncated-short-read"),
        pytest.param(
            Fault.truncated(short_read=False), "invalid answer body", 0.75, id="truncated-json"
        ),
        pytest.param(Fault.bad_json(), "invalid answer body", 0.75, id="bad-json"),
    ],
)
def test_a_fault_on_the_first_export_request_is_retried(
    server: FakeReadwise, retries: Retries, fault: Fault, reason: str, wait: float
) -> None:
    add_books(server, 3)
    server.inject("export", fault, times=1)
    client = client_for(server, retries)

    pages = list(client.export())

    assert book_ids(pages) == [1, 2, 3]
    seen = server.requests_to("export")
    assert [r.fault for r in seen] == [fault.kind, None, None]
    assert client.requests_made == 3
    assert len(retries.reasons) == 1
    assert reason in retries.reasons[0]
    assert retries.sleeps == [wait]


def test_a_hanging_request_times_out_and_is_retried(server: FakeReadwise, retries: Retries) -> None:
    add_books(server, 1)
    release = threading.Event()
    server.inject("export", Fault.hang(release=release), times=1)
    client = client_for(server, retries, timeout=(5.0, 0.2))

    try:
        pages = list(client.export())
    finally:
        release.set()

    assert book_ids(pages) == [1]
    seen = server.requests_to("export")
    assert [r.fault for r in seen] == ["hang", None]
    assert seen[1].status == 200
    assert retries.reasons == ["timed out"]
    assert client.requests_made == 2


def test_a_server_failing_every_time_gives_up_after_the_policy_attempts(
    server: FakeReadwise, retries: Retries
) -> None:
    add_books(server, 1)
    server.inject("export", Fault.status(502), times=None)
    client = client_for(server, retries, policy=RetryPolicy(attempts=3))

    with pytest.raises(UnreachableError) as caught:
        list(client.export())

    assert len(server.requests_to("export")) == 3
    assert len(retries.sleeps) == 2
    assert "/api/v2/export/" in str(caught.value)
    assert TOKEN not in str(caught.value)


# --- the token --------------------------------------------------------------------------------


def test_the_right_token_passes_the_check(server: FakeReadwise, retries: Retries) -> None:
    client = client_for(server, retries)

    client.check_token()

    assert [r.status for r in server.requests_to("auth")] == [204]


@pytest.mark.parametrize("call", ["check_token", "export"])
def test_a_wrong_token_stops_at_once(server: FakeReadwise, retries: Retries, call: str) -> None:
    add_books(server, 1)
    client = client_for(server, retries, token="not-the-token")
    action: dict[str, Any] = {
        "check_token": client.check_token,
        "export": lambda: list(client.export()),
    }

    with pytest.raises(AuthError) as caught:
        action[call]()

    assert caught.value.exit_code == 3
    assert "not-the-token" not in str(caught.value)
    assert len(server.requests) == 1
    assert server.requests[0].status == 401
    assert client.requests_made == 1
    assert retries.reasons == [] and retries.sleeps == []


def test_a_403_stops_at_once(server: FakeReadwise, retries: Retries) -> None:
    add_books(server, 1)
    server.inject("export", Fault.status(403), times=None)
    client = client_for(server, retries)

    with pytest.raises(AuthError):
        list(client.export())

    assert len(server.requests) == 1


def test_the_token_is_not_in_what_the_server_recorded(
    server: FakeReadwise, retries: Retries
) -> None:
    add_books(server, 3)
    server.inject("export", Fault.status(503), times=1)
    client = client_for(server, retries)

    client.check_token()
    pages = list(client.export(updated_after=T0 - timedelta(days=1), book_ids=[1, 2, 3]))

    assert book_ids(pages) == [1, 2, 3]
    recorded = server.requests
    assert len(recorded) == 4  # auth, the 503, then two pages
    for request in recorded:
        assert TOKEN not in repr(request)
        assert "authorization" not in {name.lower() for name in request.headers}
        assert request.headers.get("User-Agent", "").startswith("syncd/")
