"""FakeReadwise, driven over HTTP by a plain `requests` client: the API contract syncd relies on
(auth, export paging and filters, record shape) and every injectable fault as a client sees it.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import datetime, timezone
from typing import Any

import pytest
import requests

from syncd.core.model import parse_book
from syncd.testing.fakereadwise import FakeReadwise
from syncd.testing.faults import Fault
from syncd.testing.sample_library import LATER_HIGHLIGHTS, SAMPLE_BOOKS
from tests.support.clock import Clock

TOKEN = "s3cret-test-token-4f1a"
AUTH = {"Authorization": f"Token {TOKEN}"}
T0 = datetime(2023, 3, 17, 17, 5, tzinfo=timezone.utc)

BOOK_FIELDS = [
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
]
HIGHLIGHT_FIELDS = [
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
]


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture
def server(clock: Clock) -> Iterator[FakeReadwise]:
    with FakeReadwise(token=TOKEN, page_size=2, clock=clock) as fake:
        yield fake
    assert fake.errors == []


def export(server: FakeReadwise, timeout: float = 5, **params: str) -> requests.Response:
    return requests.get(
        f"{server.url}/api/v2/export/", headers=AUTH, params=params, timeout=timeout
    )


def export_all(server: FakeReadwise, **params: str) -> list[dict[str, Any]]:
    """Follow the cursor chain; return every book of every page."""
    books: list[dict[str, Any]] = []
    cursor = None
    while True:
        page_params = dict(params, **({"pageCursor": cursor} if cursor else {}))
        answer = export(server, **page_params)
        assert answer.status_code == 200
        body = answer.json()
        books.extend(body["results"])
        cursor = body["nextPageCursor"]
        if cursor is None:
            return books


def add_books(server: FakeReadwise, count: int, when: str = "2023-01-01T00:00:00Z") -> None:
    for n in range(1, count + 1):
        server.add_book(
            user_book_id=n * 10,
            title=f"Book {n}",
            highlights=[{"id": n * 100, "text": f"Highlight of book {n}", "updated_at": when}],
        )


# --- auth -----------------------------------------------------------------------------------


def test_auth_answers_204_to_the_token(server: FakeReadwise) -> None:
    answer = requests.get(f"{server.url}/api/v2/auth/", headers=AUTH, timeout=5)
    assert answer.status_code == 204
    assert answer.content == b""


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Token wrong"},
        {"Authorization": TOKEN},
        {"Authorization": f"Bearer {TOKEN}"},
    ],
)
@pytest.mark.parametrize("path", ["/api/v2/auth/", "/api/v2/export/"])
def test_every_endpoint_refuses_a_missing_or_wrong_token(
    server: FakeReadwise, headers: dict[str, str], path: str
) -> None:
    answer = requests.get(server.url + path, headers=headers, timeout=5)
    assert answer.status_code == 401
    assert "detail" in answer.json()


def test_a_wrong_token_is_invalid_token(server: FakeReadwise) -> None:
    answer = requests.get(
        f"{server.url}/api/v2/export/", headers={"Authorization": "Token nope"}, timeout=5
    )
    assert answer.json() == {"detail": "Invalid token."}


def test_unknown_path_is_404(server: FakeReadwise) -> None:
    assert requests.get(f"{server.url}/api/v2/books/", headers=AUTH, timeout=5).status_code == 404


# --- export: paging and shape ---------------------------------------------------------------


def test_pages_follow_the_cursor_chain_and_serve_every_book_once(server: FakeReadwise) -> None:
    add_books(server, 5)
    first = export(server).json()
    assert first["count"] == 5
    assert [b["user_book_id"] for b in first["results"]] == [10, 20]
    assert isinstance(first["nextPageCursor"], str)
    second = export(server, pageCursor=first["nextPageCursor"]).json()
    assert second["count"] == 5
    assert [b["user_book_id"] for b in second["results"]] == [30, 40]
    third = export(server, pageCursor=second["nextPageCursor"]).json()
    assert [b["user_book_id"] for b in third["results"]] == [50]
    assert third["nextPageCursor"] is None
    assert [b["user_book_id"] for b in export_all(server)] == [10, 20, 30, 40, 50]
    assert len(server.requests_to("export")) == 3 + 3


def test_an_exact_multiple_of_the_page_size_ends_with_a_null_cursor(server: FakeReadwise) -> None:
    add_books(server, 4)
    second = export(server, pageCursor=export(server).json()["nextPageCursor"]).json()
    assert [b["user_book_id"] for b in second["results"]] == [30, 40]
    assert second["nextPageCursor"] is None


def test_an_empty_library_is_one_empty_page(server: FakeReadwise) -> None:
    assert export(server).json() == {"count": 0, "nextPageCursor": None, "results": []}


def test_paging_stays_correct_while_the_library_changes(server: FakeReadwise) -> None:
    add_books(server, 4)
    first = export(server).json()
    server.add_book(user_book_id=5, title="Added before the served ones")
    server.add_highlight(5, text="new")
    server.add_book(user_book_id=99, title="Added after")
    server.add_highlight(99, text="new too")
    rest = export_all(server, pageCursor=first["nextPageCursor"])
    assert [b["user_book_id"] for b in rest] == [30, 40, 99]


def test_default_page_size_is_readwise_s_1000(clock: Clock) -> None:
    with FakeReadwise(token=TOKEN, clock=clock) as fake:
        for n in range(1, 1003):
            fake.add_book(user_book_id=n, title=f"B{n}", highlights=[{"text": "x"}])
        body = export(fake).json()
        assert body["count"] == 1002
        assert len(body["results"]) == 1000
        assert len(export(fake, pageCursor=body["nextPageCursor"]).json()["results"]) == 2


def test_records_have_readwise_s_fields_in_order_and_parse(server: FakeReadwise) -> None:
    server.add_book(
        title="Walden",
        author="H. D. Thoreau",
        asin="B0000TEST1",
        book_tags=["nature"],
        highlights=[
            {
                "text": "Simplify, simplify.",
                "location": 982,
                "location_type": "location",
                "note": "yes",
                "tags": ["life"],
            }
        ],
    )
    [book] = export(server).json()["results"]
    assert list(book) == BOOK_FIELDS
    assert list(book["highlights"][0]) == HIGHLIGHT_FIELDS
    assert book["book_tags"][0]["name"] == "nature" and isinstance(book["book_tags"][0]["id"], int)
    highlight = book["highlights"][0]
    assert highlight["book_id"] == book["user_book_id"]
    assert highlight["updated_at"] == "2023-03-17T17:05:00.000000Z"
    parsed = parse_book(book)
    assert parsed.title == "Walden" and parsed.asin == "B0000TEST1"
    assert parsed.tags == ("nature",)
    assert parsed.highlights[0].tags == ("life",) and parsed.highlights[0].note == "yes"


def test_ids_are_assigned_and_returned(server: FakeReadwise) -> None:
    book = server.add_book(title="A")
    highlight = server.add_highlight(book["user_book_id"], text="x")
    other = server.add_highlight(book["user_book_id"], text="y")
    assert other["id"] == highlight["id"] + 1
    assert server.add_book(title="B")["user_book_id"] == book["user_book_id"] + 1


def test_a_book_without_highlights_is_not_exported(server: FakeReadwise) -> None:
    server.add_book(title="Empty")
    assert export(server).json()["count"] == 0


def test_the_caller_s_objects_stay_the_caller_s(server: FakeReadwise) -> None:
    tags = [{"id": 1, "name": "a"}]
    given = {"title": "B", "book_tags": tags, "highlights": [{"text": "x", "tags": tags}]}
    server.add_book(**given)
    tags[0]["name"] = "changed"
    [book] = export(server).json()["results"]
    assert book["book_tags"][0]["name"] == "a"
    assert book["highlights"][0]["tags"][0]["name"] == "a"
    assert given["highlights"] == [{"text": "x", "tags": tags}]


def test_the_sample_library_serves_as_is_and_parses(server: FakeReadwise, clock: Clock) -> None:
    server.load(SAMPLE_BOOKS)
    books = export_all(server)
    assert books == SAMPLE_BOOKS
    parsed = [parse_book(book) for book in books]
    assert {b.category for b in parsed} == {"podcasts", "books", "articles", "tweets"}
    podcast = parsed[0]
    assert podcast.title == (
        "Episode 20 —  Hattie Zhou, Mila, on Supermasks, Iterative "
        "Learning, and Fortuitous Forgetting"
    )
    assert podcast.author == "Generally Intelligent"
    first = podcast.highlights[0]
    assert (first.location, first.location_type) == (539, "time_offset")
    assert first.text.startswith("The Lottery Ticket Hypothesis for Deep Learning\n\nSummary:\n")
    assert first.text.endswith("by training the sparse network, which is pretty counterintuitive.")
    assert any("\n-" in h.text for b in parsed for h in b.highlights)
    cursor = "2023-03-17T17:05:00Z"  # the first sync's cursor: the clock before it
    clock.advance(minutes=1)
    for book_id, highlights in LATER_HIGHLIGHTS.items():
        for highlight in highlights:
            server.add_highlight(book_id, **highlight)
    later = export_all(server, updatedAfter=cursor)
    assert {b["user_book_id"]: [h["id"] for h in b["highlights"]] for b in later} == {
        book_id: [h["id"] for h in hs] for book_id, hs in LATER_HIGHLIGHTS.items()
    }
    assert later[0]["highlights"][0]["text"].startswith(
        "What Is a Not-Correlational?\n\nKey takeaways:\n"
    )


# --- export: filters ------------------------------------------------------------------------


def test_updated_after_brings_only_changed_highlights(server: FakeReadwise, clock: Clock) -> None:
    server.add_book(
        user_book_id=1,
        title="Old",
        highlights=[{"id": 11, "text": "old", "updated_at": "2023-01-01T00:00:00Z"}],
    )
    server.add_book(
        user_book_id=2,
        title="Mixed",
        highlights=[
            {"id": 21, "text": "old", "updated_at": "2023-01-01T00:00:00Z"},
            {"id": 22, "text": "new", "updated_at": "2023-02-01T00:00:00Z"},
        ],
    )
    clock.advance(minutes=1)
    server.update_highlight(11, text="changed later")
    books = export_all(server, updatedAfter="2023-01-15T00:00:00Z")
    assert [(b["user_book_id"], [h["id"] for h in b["highlights"]]) for b in books] == [
        (1, [11]),
        (2, [22]),
    ]
    assert books[0]["highlights"][0]["updated_at"] == "2023-03-17T17:06:00.000000Z"


def test_updated_after_is_strict_and_reads_offsets(server: FakeReadwise) -> None:
    server.add_book(
        user_book_id=1,
        title="B",
        highlights=[{"id": 11, "text": "a", "updated_at": "2023-02-01T12:00:00Z"}],
    )
    assert export(server, updatedAfter="2023-02-01T12:00:00Z").json()["count"] == 0
    assert export(server, updatedAfter="2023-02-01T11:59:59.999999Z").json()["count"] == 1
    # 13:00+01:00 is 12:00Z: not strictly after; 12:30+01:00 is 11:30Z: after.
    assert export(server, updatedAfter="2023-02-01T13:00:00+01:00").json()["count"] == 0
    assert export(server, updatedAfter="2023-02-01T12:30:00+01:00").json()["count"] == 1


def test_updated_after_looks_at_the_highlights_of_changed_books_only(
    server: FakeReadwise, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The benchmarks' no-op sync asks with a new cursor each time: the server passes over a
    book unchanged since without looking at its highlights (it looked at all 100,000, 80 ms of
    each no-op at 10,000 books), and still decides in full a book with a highlight whose time
    does not parse (shown: it counts as changed) or a raw record."""
    import syncd.testing.library as library

    for n in range(1, 21):
        server.add_book(
            user_book_id=n,
            title=f"B{n}",
            highlights=[{"id": 100 + n, "text": "a", "updated_at": f"2023-01-{n:02}T00:00:00Z"}],
        )
    server.add_book(
        user_book_id=21, title="Odd", highlights=[{"id": 121, "text": "a", "updated_at": "soon"}]
    )
    looked: list[int] = []
    included = library.included

    def counted(entry: Any, query: Any) -> bool:
        looked.append(entry.record["user_book_id"])
        return included(entry, query)

    monkeypatch.setattr(library, "included", counted)
    books = export_all(server, updatedAfter="2023-01-18T12:00:00Z")
    assert sorted(b["user_book_id"] for b in books) == [19, 20, 21]
    assert sorted(looked) == [19, 20, 21]


def test_updated_after_brings_a_book_whose_metadata_changed(
    server: FakeReadwise, clock: Clock
) -> None:
    server.add_book(
        user_book_id=1,
        title="B",
        highlights=[{"id": 11, "text": "a", "updated_at": "2023-01-01T00:00:00Z"}],
    )
    assert export(server, updatedAfter="2023-02-01T00:00:00Z").json()["count"] == 0
    server.update_book(1, title="B, renamed")
    [book] = export(server, updatedAfter="2023-02-01T00:00:00Z").json()["results"]
    assert book["title"] == "B, renamed" and book["highlights"] == []


def test_pages_of_an_updated_after_query_chain_too(server: FakeReadwise) -> None:
    add_books(server, 3, when="2023-01-01T00:00:00Z")
    for n in (4, 5, 6):
        server.add_book(
            user_book_id=n * 10,
            title=f"New {n}",
            highlights=[{"id": n * 100, "text": "new", "updated_at": "2023-03-01T00:00:00Z"}],
        )
    books = export_all(server, updatedAfter="2023-02-01T00:00:00Z")
    assert [b["user_book_id"] for b in books] == [40, 50, 60]
    assert export(server, updatedAfter="2023-02-01T00:00:00Z").json()["count"] == 3


def test_ids_select_books(server: FakeReadwise) -> None:
    add_books(server, 5)
    books = export_all(server, ids="20,50,40")
    assert [b["user_book_id"] for b in books] == [20, 40, 50]
    assert export(server, ids="999").json()["count"] == 0


def test_deleted_highlights_only_with_include_deleted(server: FakeReadwise, clock: Clock) -> None:
    server.add_book(
        user_book_id=1,
        title="B",
        highlights=[
            {"id": 11, "text": "kept", "updated_at": "2023-01-01T00:00:00Z"},
            {"id": 12, "text": "deleted", "updated_at": "2023-01-01T00:00:00Z"},
            {"id": 13, "text": "discarded", "updated_at": "2023-01-01T00:00:00Z"},
        ],
    )
    clock.advance(hours=1)
    server.delete_highlight(12)
    server.update_highlight(13, is_discard=True)
    [book] = export(server).json()["results"]
    assert [h["id"] for h in book["highlights"]] == [11]
    [book] = export(server, includeDeleted="true").json()["results"]
    assert [(h["id"], h["is_deleted"], h["is_discard"]) for h in book["highlights"]] == [
        (11, False, False),
        (12, True, False),
        (13, False, True),
    ]
    assert book["highlights"][1]["updated_at"] == "2023-03-17T18:05:00.000000Z"
    changed = export(server, updatedAfter="2023-03-17T17:30:00Z", includeDeleted="true").json()
    assert [h["id"] for h in changed["results"][0]["highlights"]] == [12, 13]
    # Without includeDeleted, a book whose only changes are deletions is not sent at all.
    assert export(server, updatedAfter="2023-03-17T17:30:00Z").json()["count"] == 0


def test_bad_parameters_are_400(server: FakeReadwise) -> None:
    assert export(server, updatedAfter="yesterday").status_code == 400
    assert export(server, ids="1,x").status_code == 400
    assert export(server, pageCursor="not-a-cursor!").status_code == 400


def test_put_record_serves_a_schema_breaking_record_as_is(server: FakeReadwise) -> None:
    add_books(server, 1)
    raw = {"user_book_id": 15, "title": 42, "highlights": "not a list"}
    server.put_record(raw)
    results = export(server).json()["results"]
    assert results[1] == raw
    server.put_record({"user_book_id": 15, "title": "Fixed", "highlights": []})
    assert export(server).json()["results"][1]["title"] == "Fixed"


def test_concurrent_clients_all_get_answers(server: FakeReadwise) -> None:
    add_books(server, 5)
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: export(server).json()["count"], range(32)))
    assert answers == [5] * 32


# --- faults ---------------------------------------------------------------------------------


def test_retry_after_is_429_with_the_header_then_normal(server: FakeReadwise) -> None:
    add_books(server, 1)
    rule = server.inject("export", Fault.retry_after(3))
    answer = export(server)
    assert answer.status_code == 429
    assert answer.headers["Retry-After"] == "3"
    assert "throttled" in answer.json()["detail"]
    assert export(server).status_code == 200
    assert rule.fired == 1 and server.faults == []


@pytest.mark.parametrize("code", [500, 502, 503, 504])
def test_server_errors_for_the_given_number_of_requests(server: FakeReadwise, code: int) -> None:
    add_books(server, 1)
    server.inject("export", Fault.status(code), times=2)
    assert [export(server).status_code for _ in range(3)] == [code, code, 200]
    assert [r.fault for r in server.requests_to("export")] == ["status", "status", None]


def test_a_fault_for_the_nth_request_only(server: FakeReadwise) -> None:
    add_books(server, 1)
    server.inject("export", Fault.status(503), after=2)
    assert [export(server).status_code for _ in range(4)] == [200, 200, 503, 200]
    # Auth requests do not count towards an export fault.
    server.inject("export", Fault.status(502), after=1)
    assert requests.get(f"{server.url}/api/v2/auth/", headers=AUTH, timeout=5).status_code == 204
    assert [export(server).status_code for _ in range(3)] == [200, 502, 200]


def test_a_fault_for_every_request_until_cleared(server: FakeReadwise) -> None:
    server.inject("*", Fault.status(503), times=None)
    assert [export(server).status_code for _ in range(5)] == [503] * 5
    assert requests.get(f"{server.url}/api/v2/auth/", headers=AUTH, timeout=5).status_code == 503
    server.clear_faults()
    assert export(server).status_code == 200


def test_reset_is_a_connection_error(server: FakeReadwise) -> None:
    add_books(server, 1)
    server.inject("export", Fault.reset())
    with pytest.raises(requests.exceptions.ConnectionError):
        export(server)
    assert export(server).status_code == 200
    assert [r.status for r in server.requests_to("export")] == [None, 200]


def test_hang_is_a_read_timeout_and_does_not_hold_up_stop(clock: Clock) -> None:
    fake = FakeReadwise(token=TOKEN, clock=clock).start()
    try:
        add_books(fake, 1)
        fake.inject("export", Fault.hang())
        with pytest.raises(requests.exceptions.ReadTimeout):
            export(fake, timeout=0.2)
    finally:
        started = time.monotonic()
        fake.stop()
        assert time.monotonic() - started < 2
    assert fake.errors == []


def test_hang_answers_once_released(server: FakeReadwise) -> None:
    add_books(server, 1)
    release = threading.Event()
    server.inject("export", Fault.hang(release=release))
    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(export, server, 10)
        with pytest.raises(FutureTimeout):
            pending.result(timeout=0.1)
        release.set()
        assert pending.result(timeout=10).json()["count"] == 1


def test_hang_with_a_delay_is_a_slow_answer(server: FakeReadwise) -> None:
    add_books(server, 1)
    server.inject("export", Fault.hang(delay=0.05))
    assert export(server, timeout=10).json()["count"] == 1


def test_truncated_body_is_an_incomplete_read(server: FakeReadwise) -> None:
    add_books(server, 3)
    server.inject("export", Fault.truncated())
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        export(server)
    assert export(server).json()["count"] == 3


def test_truncated_body_with_a_matching_length_is_invalid_json(server: FakeReadwise) -> None:
    add_books(server, 3)
    server.inject("export", Fault.truncated(short_read=False))
    answer = export(server)
    assert answer.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(answer.content)
    assert answer.content.startswith(b'{"count": 3')


def test_bad_json_is_200_with_a_body_that_does_not_parse(server: FakeReadwise) -> None:
    add_books(server, 1)
    server.inject("export", Fault.bad_json())
    answer = export(server)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "application/json"
    with pytest.raises(json.JSONDecodeError):
        json.loads(answer.content)


def test_faults_on_the_same_endpoint_apply_in_order(server: FakeReadwise) -> None:
    add_books(server, 1)
    server.inject("export", Fault.retry_after(1))
    server.inject("export", Fault.status(502))
    assert [export(server).status_code for _ in range(3)] == [429, 502, 200]


# --- what is recorded -----------------------------------------------------------------------


def test_requests_are_recorded_with_their_parameters(server: FakeReadwise) -> None:
    add_books(server, 3)
    export_all(server, updatedAfter="2022-12-01T00:00:00Z", includeDeleted="true")
    recorded = server.requests_to("export")
    assert len(recorded) == 2
    assert recorded[0].query == {"updatedAfter": "2022-12-01T00:00:00Z", "includeDeleted": "true"}
    assert set(recorded[1].query) == {"updatedAfter", "includeDeleted", "pageCursor"}
    assert all(r.method == "GET" and r.status == 200 for r in recorded)
    server.clear_requests()
    assert server.requests == []


def test_the_token_is_never_recorded_or_printed(
    server: FakeReadwise, capfd: pytest.CaptureFixture[str]
) -> None:
    add_books(server, 1)
    requests.get(f"{server.url}/api/v2/auth/", headers=AUTH, timeout=5)
    export(server)
    # Even a client that puts the token where it does not belong.
    requests.get(
        f"{server.url}/api/v2/export/?token={TOKEN}", headers={**AUTH, "X-Echo": TOKEN}, timeout=5
    )
    server.inject("export", Fault.status(500))
    export(server)
    assert len(server.requests) == 4
    assert TOKEN not in repr(server.requests)
    assert all("authorization" not in {h.lower() for h in r.headers} for r in server.requests)
    assert TOKEN not in repr(server)
    out, err = capfd.readouterr()
    assert out == "" and err == ""
