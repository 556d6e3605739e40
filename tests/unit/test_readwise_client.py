"""Unit tests of the Readwise API client (`syncd.edges.readwise`) against `responses` mocks.

They cover README "Reliability": the token check, export paging and its parameters, the retry
rules (429 with `Retry-After`, 5xx, connection errors, timeouts and bad bodies with backoff;
401/403 and other 4xx not retried), the token never leaking into errors or logs, and records
passing through the client untouched so that `syncd.core.model.parse_book` is the one place that
checks their shape.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import tracemalloc
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses
from hypothesis import given, settings
from hypothesis import strategies as st

from syncd.core.model import BookSchemaError, parse_book
from syncd.edges.readwise import (
    MAX_BACKOFF,
    MAX_RETRY_AFTER,
    ExportPage,
    ReadwiseClient,
    ReadwiseError,
    RetryPolicy,
    format_cursor,
    json_body,
    parse_cursor,
    retry_after,
)
from syncd.errors import AuthError, UnreachableError

BASE = "https://readwise.test"
AUTH_URL = f"{BASE}/api/v2/auth/"
EXPORT_URL = f"{BASE}/api/v2/export/"
TOKEN = "tok-SECRET-5d1e9c"


class Sleeps:
    """A stand-in for `time.sleep` that records what it was asked and never waits."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


def make_client(
    sleeps: Sleeps, *, policy: RetryPolicy | None = None, rand: float = 0.5, **kwargs: Any
) -> ReadwiseClient:
    return ReadwiseClient(
        BASE, TOKEN, policy=policy or RetryPolicy(), sleep=sleeps, rand=lambda: rand, **kwargs
    )


def book(book_id: int, *highlight_ids: int) -> dict[str, Any]:
    """A minimal export record that `parse_book` accepts."""
    return {
        "user_book_id": book_id,
        "title": f"Book {book_id}",
        "readable_title": f"Book {book_id}",
        "highlights": [{"id": h, "text": f"highlight {h}"} for h in highlight_ids],
    }


def page_body(
    results: list[Any], cursor: str | None = None, count: int | None = None
) -> dict[str, Any]:
    return {
        "count": len(results) if count is None else count,
        "nextPageCursor": cursor,
        "results": results,
    }


def query(call: Any) -> dict[str, list[str]]:
    return parse_qs(urlsplit(call.request.url).query, keep_blank_values=True)


def export_all(client: ReadwiseClient, **kwargs: Any) -> list[ExportPage]:
    return list(client.export(**kwargs))


# --- the token check --------------------------------------------------------------------------


def test_token_check_accepts_204_and_sends_the_token_header(
    rsps: responses.RequestsMock, sleeps: Sleeps
) -> None:
    rsps.get(AUTH_URL, status=204)
    client = make_client(sleeps)

    client.check_token()

    assert len(rsps.calls) == 1
    headers = rsps.calls[0].request.headers
    assert headers["Authorization"] == f"Token {TOKEN}"
    assert headers["User-Agent"].startswith("syncd/")
    assert client.requests_made == 1
    assert sleeps.calls == []


def test_a_netrc_entry_for_the_host_does_not_replace_the_token(
    rsps: responses.RequestsMock, sleeps: Sleeps, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A `~/.netrc` naming Readwise's host (curl's, say) is not syncd's: requests' own netrc
    lookup put Basic credentials in the place of the token (401: the token refused), and
    imported `netrc` and looked for the file on every request."""
    netrc = tmp_path / "netrc"
    netrc.write_text("machine readwise.test login someone password other\n", encoding="utf-8")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    rsps.get(AUTH_URL, status=204)
    rsps.get(EXPORT_URL, json={"count": 0, "nextPageCursor": None, "results": []})
    client = make_client(sleeps)

    client.check_token()
    export_all(client)

    assert [call.request.headers["Authorization"] for call in rsps.calls] == [f"Token {TOKEN}"] * 2


@pytest.mark.parametrize("status", [401, 403])
def test_token_check_refused_raises_auth_error_without_retry(
    rsps: responses.RequestsMock, sleeps: Sleeps, status: int
) -> None:
    rsps.get(AUTH_URL, status=status, json={"detail": "Invalid token."})
    client = make_client(sleeps)

    with pytest.raises(AuthError) as caught:
        client.check_token()

    assert caught.value.exit_code == 3
    assert str(status) in str(caught.value)
    assert TOKEN not in str(caught.value)
    assert len(rsps.calls) == 1
    assert client.requests_made == 1
    assert sleeps.calls == []


@pytest.mark.parametrize("status", [401, 403])
def test_export_refused_raises_auth_error_without_retry(
    rsps: responses.RequestsMock, sleeps: Sleeps, status: int
) -> None:
    rsps.get(EXPORT_URL, status=status, json={"detail": "Invalid token."})
    client = make_client(sleeps)

    with pytest.raises(AuthError):
        export_all(client)

    assert len(rsps.calls) == 1
    assert sleeps.calls == []


def test_every_request_carries_connect_and_read_timeouts(
    rsps: responses.RequestsMock, sleeps: Sleeps
) -> None:
    rsps.get(AUTH_URL, status=204)
    rsps.get(EXPORT_URL, json=page_body([]))
    client = make_client(sleeps, timeout=(3.0, 9.0))

    client.check_token()
    export_all(client)

    assert [call.request.req_kwargs["timeout"] for call in rsps.calls] == [(3.0, 9.0)] * 2


# --- the export and its parameters ------------------------------------------------------------


def test_export_follows_next_page_cursor_until_it_runs_out(
    rsps: responses.RequestsMock, sleeps: Sleeps
) -> None:
    rsps.get(EXPORT_URL, json=page_body([book(1, 11), book(2, 21)], cursor="c-1", count=5))
    rsps.get(EXPORT_URL, json=page_body([book(3, 31), book(4, 41)], cursor="c-2", count=5))
    rsps.get(EXPORT_URL, json=page_body([book(5, 51)], cursor=None, count=5))
    client = make_client(sleeps)

    pages = export_all(client)

    assert [[r["user_book_id"] for r in p.results] for p in pages] == [[1, 2], [3, 4], [5]]
    assert [p.count for p in pages] == [5, 5, 5]
    assert [p.next_cursor for p in pages] == ["c-1", "c-2", None]
    queries = [query(call) for call in rsps.calls]
    assert len(queries) == 3
    assert "pageCursor" not in queries[0]
    assert queries[1]["pageCursor"] == ["c-1"]
    assert queries[2]["pageCursor"] == ["c-2"]
    assert all(q["includeDeleted"] == ["true"] for q in queries)
    assert all("updatedAfter" not in q and "ids" not in q for q in queries)
    assert client.requests_made == 3


def test_export_is_fetched_lazily_with_the_next_page_on_its_way_while_one_is_used(
    rsps: responses.RequestsMock, sleeps: Sleeps
) -> None:
    bodies = [
        page_body([book(1, 11)], cursor="c-1"),
        page_body([book(2, 21)], cursor="c-2"),
        page_body([book(3, 31)]),
    ]
    asked: list[threading.Event] = [threading.Event() for _ in bodies]

    def answer(request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        n = sum(event.is_set() for event in asked)
        asked[n].set()
        return 200, {"Content-Type": "application/json"}, json.dumps(bodies[n])

    rsps.add_callback(responses.GET, EXPORT_URL, callback=answer)
    client = make_client(sleeps)

    pages = client.export()
    assert not asked[0].is_set()  # nothing is asked before the first page is wanted
    assert next(pages).results[0]["user_book_id"] == 1
    # The second page is asked for while the caller holds the first, not the third: its
    # cursor is only known once the second page is read.
    assert asked[1].wait(timeout=30)
    assert not asked[2].is_set()
    assert next(pages).results[0]["user_book_id"] == 2
    assert asked[2].wait(timeout=30)
    assert next(pages).results[0]["user_book_id"] == 3
    assert next(pages, None) is None
    assert len(rsps.calls) == 3 and client.requests_made == 3
    assert [
        parse_qs(urlsplit(c.request.url or "").query).get("pageCursor") for c in rsps.calls
    ] == [None, ["c-1"], ["c-2"]]


def test_an_error_of_a_page_fetched_ahead_is_retried_as_any_other(
    rsps: responses.RequestsMock, sleeps: Sleeps
) -> None:
    rsps.get(EXPORT_URL, json=page_body([book(1, 11)], cursor="c-1"))
    rsps.get(EXPORT_URL, body=requests.ConnectionError("connection reset"))
    rsps.get(EXPORT_URL, status=503)
    rsps.get(EXPORT_URL, json=page_body([book(2, 21)]))
    client = make_client(sleeps)

    pages = export_all(client)

    assert [p.results[0]["user_book_id"] for p in pages] == [1, 2]
    assert len(sleeps.calls) == 2 and client.requests_made == 4


def test_empty_string_cursor_ends_the_export(rsps: responses.RequestsMock, sleeps: Sleeps) -> None:
    rsps.get(EXPORT_URL, json=page_body([book(1, 11)], cursor=""))
    client = make_client(sleeps)

    pages = export_all(client)

    assert len(pages) == 1
    assert pages[0].next_cursor is None
    assert len(rsps.calls) == 1


def test_count_falls_back_to_the_number_of_results(
    rsps: responses.RequestsMock, sleeps: Sleeps
) -> None:
    rsps.get(EXPORT_URL, json={"nextPageCursor": None, "results": [book(1, 11), book(2, 21)]})

    pages = export_all(make_client(sleeps))

    assert pages[0].count == 2


def test_export_sends_updated_after_as_utc_with_z_and_ids_comma_joined(
    rsps: responses.RequestsMock, sleeps: Sleeps
) -> None:
    rsps.get(EXPORT_URL, json=page_body([book(7, 71)], cursor="next"))
    rsps.get(EXPORT_URL, json=page_body([book(9, 91)]))
    plus_two = timezone(timedelta(hours=2))
    since = datetime(2024, 5, 6, 9, 30, 15, 250000, tzinfo=plus_two)

    export_all(make_client(sleeps), updated_after=since, book_ids=[7, 9, 12])

    first, second = (query(call) for call in rsps.calls)
    assert first["updatedAfter"] == ["2024-05-06T07:30:15.250000Z"]
    assert first["ids"] == ["7,9,12"]
    assert first["includeDeleted"] == ["true"]
    # The filters stay on every page, next to the cursor.
    assert second["updatedAfter"] == first["updatedAfter"]
    assert second["ids"] == ["7,9,12"]
    assert second["includeDeleted"] == ["true"]
    assert second["pageCursor"] == ["next"]


def test_export_without_filters_sends_only_include_deleted(
    rsps: responses.RequestsMock, sleeps: Sleeps
) -> None:
    rsps.get(EXPORT_URL, json=page_body([]))

    export_all(make_client(sleeps), updated_after=None, book_ids=None)

    assert query(rsps.calls[0]) == {"includeDeleted": ["true"]}


def test_format_and_parse_cursor_round_trip_in_utc() -> None:
    moment = datetime(2023, 3, 17, 19, 5, 1, 123456, tzinfo=timezone(timedelta(hours=2)))

    text = format_cursor(moment)

    assert text == "2023-03-17T17:05:01.123456Z"
    back = parse_cursor(text)
    assert back == moment
    assert back.utcoffset() == timedelta(0)
    with pytest.raises(ValueError):
        parse_cursor("not a time")


# --- 429 and Retry-After ----------------------------------------------------------------------


def test_429_waits_retry_after_then_succeeds(rsps: responses.RequestsMock, sleeps: Sleeps) -> None:
    rsps.get(
        EXPORT_URL,
        status=429,
        headers={"Retry-After": "7"},
        json={"detail": "Request was throttled."},
    )
    rsps.get(EXPORT_URL, json=page_body([book(1, 11)]))
    retries: list[tuple[str, float]] = []
    client = make_client(sleeps, on_retry=lambda reason, wait: retries.append((reason, wait)))

    pages = export_all(client)

    assert sleeps.calls == [7.0]
    assert [r["user_book_id"] for r in pages[0].results] == [1]
    assert len(rsps.calls) == 2
    assert client.requests_made == 2
    assert len(retries) == 1
    assert "429" in retries[0][0]
    assert retries[0][1] == 7.0


def test_retry_after_longer_than_five_minutes_is_capped(
    rsps: responses.RequestsMock, sleeps: Sleeps
) -> None:
    rsps.get(EXPORT_URL, status=429, headers={"Retry-After": "86400"})
    rsps.get(EXPORT_URL, json=page_body([book(1, 11)]))

    export_all(make_client(sleeps))

    assert MAX_RETRY_AFTER == 300.0
    assert sleeps.calls == [300.0]


def test_retry_after_as_an_http_date(rsps: responses.RequestsMock, sleeps: Sleeps) -> None:
    # A date in the past asks for no wait, one far ahead is capped: neither depends on the clock.
    rsps.get(EXPORT_URL, status=429, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})
    rsps.get(EXPORT_URL, status=429, headers={"Retry-After": "Fri, 01 Jan 2100 00:00:00 GMT"})
    rsps.get(EXPORT_URL, json=page_body([book(1, 11)]))

    pages = export_all(make_client(sleeps))

    assert sleeps.calls == [0.0, 300.0]
    assert pages[0].results == [book(1, 11)]


def test_retry_after_parses_seconds_and_http_dates() -> None:
    now = datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    in_90_s = format_datetime(now + timedelta(seconds=90), usegmt=True)

    assert retry_after({"Retry-After": "7"}, now=now) == 7.0
    assert retry_after({"Retry-After": " 12 "}, now=now) == 12.0
    assert retry_after({"Retry-After": "0"}, now=now) == 0.0
    assert retry_after({"Retry-After": in_90_s}, now=now) == 90.0
    assert retry_after({"Retry-After": "3600"}, now=now) == MAX_RETRY_AFTER
    assert retry_after({}, now=now) == 60.0
    assert retry_after({"Retry-After": "soon, maybe"}, now=now) == 60.0


def test_429_without_retry_after_waits_a_minute(
    rsps: responses.RequestsMock, sleeps: Sleeps
) -> None:
    rsps.get(EXPORT_URL, status=429)
    rsps.get(EXPORT_URL, json=page_body([]))

    export_all(make_client(sleeps))

    assert sleeps.calls == [60.0]


def test_rate_limit_waits_are_bounded(rsps: responses.RequestsMock, sleeps: Sleeps) -> None:
    rsps.get(EXPORT_URL, status=429, headers={"Retry-After": "1"})
    client = make_client(sleeps, policy=RetryPolicy(attempts=2, rate_limit_waits=3))

    with pytest.raises(UnreachableError) as caught:
        export_all(client)

    assert sleeps.calls == [1.0, 1.0, 1.0]
    assert len(rsps.calls) == 4
    assert "/api/v2/export/" in str(caught.value)
    assert TOKEN not in str(caught.value)


def test_429_does_not_use_up_the_attempts_for_failures(
    rsps: responses.RequestsMock, sleeps: Sleeps
) -> None:
    rsps.get(EXPORT_URL, status=500)
    rsps.get(EXPORT_URL, status=429, headers={"Retry-After": "2"})
    rsps.get(EXPORT_URL, status=429, headers={"Retry-After": "2"})
    rsps.get(EXPORT_URL, json=page_body([book(1, 11)]))
    client = make_client(sleeps, policy=RetryPolicy(attempts=2))

    pages = export_all(client)

    assert pages[0].results == [book(1, 11)]
    assert sleeps.calls == [0.75, 2.0, 2.0]


# --- 5xx and backoff --------------------------------------------------------------------------


def test_server_errors_are_retried_with_growing_backoff(
    rsps: responses.RequestsMock, sleeps: Sleeps
) -> None:
    rsps.get(EXPORT_URL, status=500)
    rsps.get(EXPORT_URL, status=502)
    rsps.get(EXPORT_URL, json=page_body([book(1, 11), book(2, 21)]))
    client = make_client(sleeps, policy=RetryPolicy(attempts=6, backoff_base=1.0), rand=0.5)

    pages = export_all(client)

    # step * (0.5 + rand / 2): 1 s then 2 s steps, at three quarters each.
    assert sleeps.calls == [0.75, 1.5]
    assert [r["user_book_id"] for r in pages[0].results] == [1, 2]
    assert client.requests_made == 3


@pytest.mark.parametrize(
    ("rand", "expected"), [(0.0, [0.5, 1.0, 2.0, 4.0]), (1.0, [1.0, 2.0, 4.0, 8.0])]
)
def test_backoff_jitter_stays_between_half_and_the_whole_step(
    rsps: responses.RequestsMock, sleeps: Sleeps, rand: float, expected: list[float]
) -> None:
    for _ in range(4):
        rsps.get(EXPORT_URL, status=503)
    rsps.get(EXPORT_URL, json=page_body([]))

    export_all(make_client(sleeps, policy=RetryPolicy(attempts=5), rand=rand))

    assert sleeps.calls == expected


def test_backoff_is_capped(rsps: responses.RequestsMock, sleeps: Sleeps) -> None:
    rsps.get(EXPORT_URL, status=503)
    client = make_client(sleeps, policy=RetryPolicy(attempts=10), rand=1.0)

    with pytest.raises(UnreachableError):
        export_all(client)

    assert sleeps.calls == [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, MAX_BACKOFF, MAX_BACKOFF, MAX_BACKOFF]


def test_server_errors_every_time_give_up_after_the_policy_attempts(
    rsps: responses.RequestsMock, sleeps: Sleeps
) -> None:
    rsps.get(EXPORT_URL, status=503)
    policy = RetryPolicy(attempts=4)
    client = make_client(sleeps, policy=policy)

    with pytest.raises(UnreachableError) as caught:
        export_all(client)

    assert caught.value.exit_code == 4
    assert len(rsps.calls) == policy.attempts
    assert client.requests_made == policy.attempts
    assert len(sleeps.calls) == policy.attempts - 1
    message = str(caught.value)
    assert "/api/v2/export/" in message
    assert "503" in message
    assert TOKEN not in message
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__


def test_token_check_also_retries_server_errors(
    rsps: responses.RequestsMock, sleeps: Sleeps
) -> None:
    rsps.get(AUTH_URL, status=502)
    rsps.get(AUTH_URL, status=204)
    client = make_client(sleeps)

    client.check_token()

    assert len(rsps.calls) == 2
    assert len(sleeps.calls) == 1


# --- connection errors, timeouts and bad bodies -----------------------------------------------


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (requests.ConnectionError("connection refused"), "connection failed"),
        (requests.ConnectTimeout("connect timed out"), "timed out"),
        (requests.ReadTimeout("read timed out"), "timed out"),
    ],
)
def test_connection_errors_and_timeouts_are_retried(
    rsps: responses.RequestsMock, sleeps: Sleeps, error: Exception, reason: str
) -> None:
    rsps.get(EXPORT_URL, body=error)
    rsps.get(EXPORT_URL, json=page_body([book(3, 31)]))
    reasons: list[str] = []
    client = make_client(sleeps, on_retry=lambda why, wait: reasons.append(why))

    pages = export_all(client)

    assert pages[0].results == [book(3, 31)]
    assert len(rsps.calls) == 2
    assert client.requests_made == 2
    assert sleeps.calls == [0.75]
    assert len(reasons) == 1
    assert reason in reasons[0]


def test_connection_errors_every_time_give_up(rsps: responses.RequestsMock, sleeps: Sleeps) -> None:
    rsps.get(EXPORT_URL, body=requests.ConnectionError(f"Token {TOKEN} went nowhere"))
    client = make_client(sleeps, policy=RetryPolicy(attempts=3))

    with pytest.raises(UnreachableError) as caught:
        export_all(client)

    assert client.requests_made == 3
    assert "/api/v2/export/" in str(caught.value)
    assert TOKEN not in str(caught.value)


@pytest.mark.parametrize(
    "body",
    [
        '{"count": 1, "results": [',  # truncated
        "<html>Bad gateway</html>",  # not JSON at all
        json.dumps({"count": 1, "nextPageCursor": None}),  # JSON without `results`
        json.dumps({"count": 1, "results": {"user_book_id": 1}}),  # `results` not a list
        json.dumps([book(1, 11)]),  # not an object
    ],
)
def test_bad_bodies_are_retried_then_succeed(
    rsps: responses.RequestsMock, sleeps: Sleeps, body: str
) -> None:
    rsps.get(EXPORT_URL, status=200, body=body, content_type="application/json")
    rsps.get(EXPORT_URL, json=page_body([book(1, 11)]))
    reasons: list[str] = []
    client = make_client(sleeps, on_retry=lambda why, wait: reasons.append(why))

    pages = export_all(client)

    assert pages[0].results == [book(1, 11)]
    assert len(rsps.calls) == 2
    assert sleeps.calls == [0.75]
    assert len(reasons) == 1
    assert "invalid answer body" in reasons[0]


@pytest.mark.parametrize("status", [400, 404, 410])
def test_other_client_errors_raise_readwise_error_without_retry(
    rsps: responses.RequestsMock, sleeps: Sleeps, status: int
) -> None:
    rsps.get(EXPORT_URL, status=status, json={"detail": "Not found."})
    client = make_client(sleeps)

    with pytest.raises(ReadwiseError) as caught:
        export_all(client)

    assert str(status) in str(caught.value)
    assert "/api/v2/export/" in str(caught.value)
    assert TOKEN not in str(caught.value)
    assert len(rsps.calls) == 1
    assert sleeps.calls == []


def test_token_check_with_an_unexpected_success_status_is_an_error(
    rsps: responses.RequestsMock, sleeps: Sleeps
) -> None:
    rsps.get(AUTH_URL, status=404)

    with pytest.raises(ReadwiseError):
        make_client(sleeps).check_token()

    assert len(rsps.calls) == 1


# --- the token stays secret -------------------------------------------------------------------


def test_token_appears_in_no_log_record_or_error(
    rsps: responses.RequestsMock, sleeps: Sleeps, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    rsps.get(AUTH_URL, status=204)
    rsps.get(EXPORT_URL, status=500)
    rsps.get(EXPORT_URL, body=requests.ConnectionError("reset by peer"))
    rsps.get(EXPORT_URL, status=429, headers={"Retry-After": "1"})
    rsps.get(EXPORT_URL, body='{"results": [')
    rsps.get(EXPORT_URL, json=page_body([book(1, 11)], cursor="c-1"))
    rsps.get(EXPORT_URL, status=401)
    client = make_client(sleeps)
    client.check_token()

    with pytest.raises(AuthError) as caught:
        export_all(client)

    assert all(call.request.headers["Authorization"] == f"Token {TOKEN}" for call in rsps.calls)
    retry_lines = [
        r for r in caplog.records if r.name == "syncd.readwise" and r.levelno == logging.WARNING
    ]
    assert len(retry_lines) == 4
    assert all("/api/v2/export/" in r.getMessage() for r in retry_lines)
    for record in caplog.records:
        assert TOKEN not in record.getMessage()
        assert TOKEN not in repr(record.args)
    assert TOKEN not in caplog.text
    assert TOKEN not in str(caught.value)
    assert TOKEN not in repr(caught.value)


def test_requests_made_counts_every_attempt(rsps: responses.RequestsMock, sleeps: Sleeps) -> None:
    rsps.get(AUTH_URL, status=204)
    rsps.get(EXPORT_URL, status=503)
    rsps.get(EXPORT_URL, json=page_body([book(1, 11)], cursor="c-1"))
    rsps.get(EXPORT_URL, body=requests.ReadTimeout("slow"))
    rsps.get(EXPORT_URL, json=page_body([book(2, 21)]))
    client = make_client(sleeps)
    assert client.requests_made == 0

    client.check_token()
    assert client.requests_made == 1
    export_all(client)

    assert client.requests_made == 5
    assert len(rsps.calls) == 5


# --- records pass through; parse_book checks them ---------------------------------------------

BOOK_ID = 4242


def test_records_pass_through_the_client_untouched(
    rsps: responses.RequestsMock, sleeps: Sleeps
) -> None:
    broken = {"user_book_id": BOOK_ID, "title": "No highlights key", "extra": {"x": [1, 2]}}
    good = book(7, 71)
    rsps.get(EXPORT_URL, json=page_body([broken, good, "not even an object"]))

    pages = export_all(make_client(sleeps))

    assert pages[0].results == [broken, good, "not even an object"]
    with pytest.raises(BookSchemaError) as caught:
        parse_book(pages[0].results[0])
    assert caught.value.book_id == BOOK_ID
    assert parse_book(pages[0].results[1]).id == 7


# --- Readwise's clock: the `Date` header ------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("Fri, 17 Mar 2023 17:05:09 GMT", datetime(2023, 3, 17, 17, 5, 9, tzinfo=timezone.utc)),
        ("Friday, 17-Mar-23 17:05:09 GMT", datetime(2023, 3, 17, 17, 5, 9, tzinfo=timezone.utc)),
        ("Fri Mar 17 17:05:09 2023", datetime(2023, 3, 17, 17, 5, 9, tzinfo=timezone.utc)),
        ("Fri, 17 Mar 2023 19:05:09 +0200", datetime(2023, 3, 17, 17, 5, 9, tzinfo=timezone.utc)),
        ("yesterday", None),
        ("Fri, 31 Feb 2023 17:05:09 GMT", None),
        ("", None),
    ],
)
def test_export_pages_carry_readwise_time_from_the_date_header(
    rsps: responses.RequestsMock, sleeps: Sleeps, header: str, expected: datetime | None
) -> None:
    """Issue 10, item 4: the cursor comes from Readwise's clock; an absent or unparseable
    `Date` is None (the sync then uses the newest `updated_at`), never an error."""
    headers = {"Date": header} if header else {}
    rsps.get(EXPORT_URL, json=page_body([book(1, 10)], cursor="c2"), headers=headers)
    rsps.get(
        EXPORT_URL, json=page_body([book(2, 20)]), headers={"Date": "Fri, 17 Mar 2023 18:00:00 GMT"}
    )
    first, second = export_all(make_client(sleeps))
    assert first.server_time == expected
    assert second.server_time == datetime(2023, 3, 17, 18, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("base", "shown"),
    [
        ("https://readwise.io", "https://readwise.io:443/api/v2/export/"),
        ("http://127.0.0.1:8123/rw", "http://127.0.0.1:8123/rw/api/v2/export/"),
        ("http://[::1]", "http://[::1]:80/api/v2/export/"),
    ],
)
def test_a_message_shows_the_url_with_scheme_host_port_and_path(base: str, shown: str) -> None:
    """issue 21, item 3: the URL a failure names; the token is never in it."""
    client = ReadwiseClient(base, "tok-secret-123")
    assert client.shown_url("/api/v2/export/") == shown


def _answer(body: bytes, content_type: str = "application/json; charset=utf-8") -> Any:
    response = requests.Response()
    response._content = body
    response.status_code = 200
    response.headers["Content-Type"] = content_type
    response.encoding = requests.utils.get_encoding_from_headers(response.headers)
    return response


ODD_TEXTS = [
    "plain",
    "café Øresund",
    "東京 時間 日本語",
    "🧠 and 𝄞, a pair of escapes each",
    "an escape of a lone surrogate: \\ud800, a pair: \\ud83e\\udde0, then 🧠",
    'quotes \\" and a backslash \\\\ and a tab \\t',
    "an emoji after an escaped backslash \\\\🧠, and after a backslash (not JSON) \\🧠",
]


@pytest.mark.parametrize("text", ODD_TEXTS)
@pytest.mark.parametrize("content_type", ["application/json; charset=utf-8", "application/json"])
def test_an_answer_s_json_is_what_requests_reads(text: str, content_type: str) -> None:
    body = ('{"results": [{"text": "' + text + '", "n": [1, 2.5, null, true]}]}').encode()
    assert _read(json_body, body, content_type) == _read(requests.Response.json, body, content_type)


def _read(read: Any, body: bytes, content_type: str) -> object:
    """What `read` makes of an answer: its JSON, or the error it is not JSON."""
    try:
        return read(_answer(body, content_type))
    except ValueError:
        return ValueError


def test_malformed_utf8_reads_as_requests_reads_it() -> None:
    body = (
        b'{"results": [{"text": "a\xff\xfeb \xe6\x9d\xb1 c\xe6\xf0\x9f\xa7\xa0\xa0 '
        b'\xf0\xf0\x9f\xa7\xa0"}],'
        b' "past U+10FFFF": "\xf4\x90\x80\x80", "overlong": "\xf0\x80\x80\x80\xf0\x9f\xa7\xa0",'
        b' "x": "\xf0\x9f\xa7"}'
    )
    for content_type in ("application/json; charset=utf-8", "application/json"):
        assert json_body(_answer(body, content_type)) == _answer(body, content_type).json()
    with pytest.raises(ValueError):
        json_body(_answer(b'{"results": [], "x": "\xe6\x9d'[:-1] + b"\xff"))


def test_an_export_page_with_an_emoji_is_parsed_without_a_text_four_bytes_a_character() -> None:
    """Issue 20: one emoji made the text parsed four bytes a character: for a page of 1,000
    books, 37 MB beside the page's 10 MB, most of a first sync's peak memory."""
    record = {"title": "Book", "highlights": [{"text": "words " * 80}] * 10}
    results = [{"title": "Book 🧠", "highlights": []}] + [record] * 300
    body = json.dumps({"results": results}, ensure_ascii=False).encode()
    response = _answer(body)
    response.content  # noqa: B018 (read before measuring)
    tracemalloc.start()
    try:
        parsed = json_body(response)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert parsed == json.loads(body)
    # The records parsed and the text they are parsed from, of one byte a character: about 2.5
    # times the body; with a text of four bytes a character, 5.5 times.
    assert peak < 3.5 * len(body)


@pytest.mark.parametrize("content_type", ["application/json; charset=utf-8", "application/json"])
def test_an_answer_s_bytes_are_let_go_of_before_its_text_is_parsed(
    monkeypatch: pytest.MonkeyPatch, content_type: str
) -> None:
    """Issue 20: the bytes of an export page (10 MB for 1,000 books) were held while its
    text was parsed, at a first sync's peak."""
    body = json.dumps({"results": [{"title": "Book 🧠"}] * 1000}, ensure_ascii=False).encode()
    response = _answer(body, content_type)
    held: list[int] = []
    real = json.loads

    def loads(text: str) -> Any:
        held.append(sys.getrefcount(body))
        return real(text)

    monkeypatch.setattr(json, "loads", loads)
    unheld = sys.getrefcount(body) - 1  # without the answer's reference
    assert json_body(response) == real(body)
    assert held == [unheld]


@pytest.mark.parametrize("emoji", ["", " 🧠"])
def test_an_export_page_s_records_are_not_all_in_memory_at_once(
    rsps: responses.RequestsMock, sleeps: Sleeps, emoji: str
) -> None:
    """Issue 20: an export page (1,000 books) was parsed whole, its records all in memory
    while the first was synced: 30 to 40 MB at a first sync's peak. Now each record is parsed
    when it is reached and let go of when the sync moves on: the page's text and one record
    are held, not every record."""
    highlights = [{"id": h, "text": f"highlight {h}{emoji}", "note": f"n{h}"} for h in range(10)]
    results = [{**book(n), "highlights": highlights} for n in range(300)]
    body = json.dumps(page_body(results), ensure_ascii=False).encode()
    rsps.get(EXPORT_URL, body=body, content_type="application/json")
    client = make_client(sleeps)
    pages = client.export()
    tracemalloc.start()
    try:
        page = next(pages)
        seen, held = [], 0
        for record in page.results:  # what is held while a record is synced
            held = max(held, tracemalloc.get_traced_memory()[0])
            seen.append(parse_book(record).id)
    finally:
        tracemalloc.stop()
    assert seen == list(range(300))
    assert next(pages, None) is None
    # Every record at once: about four times the body; one at a time: the text (at most two
    # bytes a character) and one record.
    assert held < 2 * len(body)


_PIECES = [b"a", b"\\", b'"', b"\xf0", b"\x9f", b"\xa7", b"\xa0", b"\x80", b"\xe6", b"\xff"]


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from([*_PIECES, "🧠".encode(), "😀".encode()]), max_size=16))
def test_characters_past_the_bmp_are_escaped_as_the_byte_regex_escapes_them(
    pieces: list[bytes],
) -> None:
    """Issue 20: a character escaped before is escaped again without a regex match; the same
    bytes as a match of every character (after a backslash, not) give."""
    from syncd.edges import readwise

    content = b"".join(pieces)
    expected = readwise._PAST_BMP.sub(readwise._escaped, content)
    assert readwise._past_bmp_escaped(content) == expected  # (the escapes now known)
    assert readwise._past_bmp_escaped(content) == expected
