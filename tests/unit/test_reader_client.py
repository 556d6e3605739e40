"""Unit tests of Reader's API client (`syncd.edges.reader`) against `responses` mocks: the list's
parameters and paging, and the retries it shares with the export's client (429 waits
`Retry-After`, 5xx and bad bodies retried with backoff, 401 not retried), the token never in an
error or a log line."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import responses

from syncd.edges.reader import ReaderClient
from syncd.edges.readwise import ApiClient, RetryPolicy
from syncd.errors import AuthError, UnreachableError

BASE = "https://readwise.test"
LIST_URL = f"{BASE}/api/v3/list/"
TOKEN = "tok-SECRET-reader-77"


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def client(sleeps: list[float]) -> ReaderClient:
    return ReaderClient(
        BASE, TOKEN, sleep=sleeps.append, rand=lambda: 0.5, policy=RetryPolicy(attempts=3)
    )


def page(results: list[Any], cursor: str | None = None) -> dict[str, Any]:
    return {"count": len(results), "nextPageCursor": cursor, "results": results}


def query(call: Any) -> dict[str, list[str]]:
    return parse_qs(urlsplit(call.request.url).query)


def test_the_reader_client_shares_the_export_clients_plumbing() -> None:
    assert issubclass(ReaderClient, ApiClient)
    assert "_request" not in ReaderClient.__dict__ and "_attempt" not in ReaderClient.__dict__


def test_documents_changed_since_a_moment_page_by_page_with_their_html(
    rsps: responses.RequestsMock,
) -> None:
    rsps.get(
        LIST_URL,
        json=page([{"id": "a"}], "next-1"),
        headers={"Date": "Fri, 17 Mar 2023 17:05:00 GMT"},
    )
    rsps.get(LIST_URL, json=page([{"id": "b"}]))
    since = datetime(2023, 3, 1, tzinfo=timezone.utc)
    pages = list(client([]).documents(updated_after=since))
    assert [p.results for p in pages] == [[{"id": "a"}], [{"id": "b"}]]
    assert pages[0].server_time == datetime(2023, 3, 17, 17, 5, tzinfo=timezone.utc)
    first, second = rsps.calls
    assert query(first) == {
        "withHtmlContent": ["true"],
        "updatedAfter": ["2023-03-01T00:00:00.000000Z"],
    }
    assert query(second)["pageCursor"] == ["next-1"]
    assert first.request.headers["Authorization"] == f"Token {TOKEN}"


def test_one_document_by_id(rsps: responses.RequestsMock) -> None:
    rsps.get(LIST_URL, json=page([]))
    assert [p.results for p in client([]).documents(document_id="01x")] == [[]]
    assert query(rsps.calls[0]) == {"withHtmlContent": ["true"], "id": ["01x"]}


def test_429_waits_retry_after_then_asks_again(rsps: responses.RequestsMock) -> None:
    rsps.get(LIST_URL, status=429, headers={"Retry-After": "42"})
    rsps.get(LIST_URL, json=page([{"id": "a"}]))
    sleeps: list[float] = []
    assert [p.results for p in client(sleeps).documents()] == [[{"id": "a"}]]
    assert sleeps == [42.0]
    assert query(rsps.calls[0]) == query(rsps.calls[1])


def test_5xx_and_bad_json_are_retried_then_fail_clearly(
    rsps: responses.RequestsMock, caplog: pytest.LogCaptureFixture
) -> None:
    rsps.get(LIST_URL, status=503)
    rsps.get(LIST_URL, body="{not json")
    rsps.get(LIST_URL, json={"results": "no list"})
    sleeps: list[float] = []
    with caplog.at_level(logging.DEBUG), pytest.raises(UnreachableError) as raised:
        list(client(sleeps).documents())
    assert "/api/v3/list/ failed 3 times" in str(raised.value)
    assert "invalid answer body" in str(raised.value)
    assert len(sleeps) == 2
    assert TOKEN not in caplog.text and TOKEN not in str(raised.value)


def test_a_refused_token_is_not_retried(rsps: responses.RequestsMock) -> None:
    rsps.get(LIST_URL, status=401, json={"detail": "Invalid token."})
    with pytest.raises(AuthError) as raised:
        list(client([]).documents())
    assert len(rsps.calls) == 1 and TOKEN not in str(raised.value)


def test_results_pass_through_untouched(rsps: responses.RequestsMock) -> None:
    weird = [{"id": 5, "html_content": None}, "not an object", {"id": "\ud800"}]
    rsps.get(LIST_URL, body=json.dumps(page(weird)))
    assert next(iter(client([]).documents())).results == weird
