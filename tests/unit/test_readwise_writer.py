"""Unit tests of the Readwise client's write endpoints (`ReadwiseClient` as a
`syncd.ports.HighlightWriter`) against `responses` mocks: what goes on the wire (only the fields
given, as JSON), the retry rules they share with reads (429 waits `Retry-After`, 5xx backed off
then given up on), the errors (401/403, 404, 400 with Readwise's reason), the write limiter
(never over 240 requests in any minute, with a clock and a sleep that never wait), a redirect
to another host (the token is not sent there), and the token in no message or log line.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import pytest
import requests
import responses

from syncd.edges.readwise import (
    HighlightGone,
    NoApiError,
    ReadwiseClient,
    ReadwiseError,
    RetryPolicy,
    WriteLimiter,
    WriteRefused,
    WriteRejected,
)
from syncd.errors import UnreachableError
from syncd.ports import Tag

BASE = "https://readwise.test"
HIGHLIGHT_URL = f"{BASE}/api/v2/highlights/5/"
TAGS_URL = f"{BASE}/api/v2/highlights/5/tags/"
TOKEN = "tok-SECRET-77a0f3"
CHANGED = "2024-05-06T07:08:09.123456Z"


class FakeTime:
    """A clock (seconds) and a sleep that moves it, recording every wait; nothing waits."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def time_() -> FakeTime:
    return FakeTime()


def make_client(time_: FakeTime, **kwargs: Any) -> ReadwiseClient:
    kwargs.setdefault("policy", RetryPolicy(attempts=3, rate_limit_waits=3))
    kwargs.setdefault("write_limiter", WriteLimiter(clock=time_.clock, sleep=time_.sleep))
    return ReadwiseClient(BASE, TOKEN, sleep=time_.sleep, rand=lambda: 0.5, **kwargs)


def highlight(**fields: Any) -> dict[str, Any]:
    return {"id": 5, "text": "t", "note": "", "updated_at": CHANGED, **fields}


def sent_json(call: Any) -> Any:
    return json.loads(call.request.body)


# --- what is sent -------------------------------------------------------------------------------


def test_a_patch_sends_only_the_fields_given_as_json_with_the_token(
    rsps: responses.RequestsMock, time_: FakeTime
) -> None:
    rsps.patch(HIGHLIGHT_URL, json=highlight(note="n"))
    when = make_client(time_).update_highlight(5, note="n")
    assert when == datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=timezone.utc)
    [call] = rsps.calls
    assert call.request.method == "PATCH"
    assert sent_json(call) == {"note": "n"}
    assert call.request.headers["Content-Type"] == "application/json"
    assert call.request.headers["Authorization"] == f"Token {TOKEN}"


def test_the_time_of_the_change_is_the_date_header_without_updated_at_and_none_without_either(
    rsps: responses.RequestsMock, time_: FakeTime
) -> None:
    rsps.patch(HIGHLIGHT_URL, json={"id": 5}, headers={"Date": "Mon, 06 May 2024 07:08:09 GMT"})
    rsps.patch(HIGHLIGHT_URL, body="not json")
    client = make_client(time_)
    assert client.update_highlight(5, text="x") == datetime(
        2024, 5, 6, 7, 8, 9, tzinfo=timezone.utc
    )
    assert client.update_highlight(5, text="x") is None
    assert len(rsps.calls) == 2  # a body that is not JSON after a 200: the change is made


def test_tags_are_read_page_by_page_until_next_is_empty(
    rsps: responses.RequestsMock, time_: FakeTime
) -> None:
    rsps.get(
        TAGS_URL,
        json={"count": 3, "next": "x", "results": [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}]},
        match=[responses.matchers.query_param_matcher({"page": "1", "page_size": "1000"})],
    )
    rsps.get(
        TAGS_URL,
        json={"count": 3, "next": None, "results": [{"id": 3, "name": "c d"}]},
        match=[responses.matchers.query_param_matcher({"page": "2", "page_size": "1000"})],
    )
    assert make_client(time_).highlight_tags(5) == [Tag(1, "a"), Tag(2, "b"), Tag(3, "c d")]


def test_a_tag_is_posted_by_name(rsps: responses.RequestsMock, time_: FakeTime) -> None:
    rsps.post(TAGS_URL, json={"id": 9, "name": "[[x]]"}, status=201)
    assert make_client(time_).add_tag(5, "[[x]]") == Tag(9, "[[x]]")
    assert sent_json(rsps.calls[0]) == {"name": "[[x]]"}


# --- retries --------------------------------------------------------------------------------------


def test_429_waits_retry_after_and_sends_the_same_write_again(
    rsps: responses.RequestsMock, time_: FakeTime
) -> None:
    rsps.patch(HIGHLIGHT_URL, status=429, headers={"Retry-After": "7"})
    rsps.patch(HIGHLIGHT_URL, json=highlight())
    client = make_client(time_)
    client.update_highlight(5, text="again")
    assert time_.sleeps == [7.0]
    assert [sent_json(call) for call in rsps.calls] == [{"text": "again"}] * 2
    assert client.requests_made == 2


def test_5xx_is_retried_with_backoff_then_given_up_on_without_the_token(
    rsps: responses.RequestsMock, time_: FakeTime, caplog: pytest.LogCaptureFixture
) -> None:
    rsps.post(TAGS_URL, status=503)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(UnreachableError, match="failed 3 times") as failed:
        make_client(time_).add_tag(5, "t")
    assert len(rsps.calls) == 3
    assert time_.sleeps == [0.75, 1.5]  # backoff with the jitter at its middle
    assert TOKEN not in str(failed.value) and TOKEN not in caplog.text


def test_a_5xx_then_success_is_one_change(rsps: responses.RequestsMock, time_: FakeTime) -> None:
    rsps.patch(HIGHLIGHT_URL, status=502)
    rsps.patch(HIGHLIGHT_URL, json=highlight())
    assert make_client(time_).update_highlight(5, text="t") is not None
    assert len(rsps.calls) == 2


def test_a_connection_error_is_retried(rsps: responses.RequestsMock, time_: FakeTime) -> None:
    rsps.patch(HIGHLIGHT_URL, body=requests.ConnectionError("reset"))
    rsps.patch(HIGHLIGHT_URL, json=highlight())
    make_client(time_).update_highlight(5, text="t")
    assert len(rsps.calls) == 2


def test_a_delete_retried_after_its_first_try_went_through_finds_the_tag_gone_and_is_done(
    rsps: responses.RequestsMock, time_: FakeTime
) -> None:
    rsps.delete(f"{TAGS_URL}9/", status=503)
    rsps.delete(f"{TAGS_URL}9/", status=404, json={"detail": "Not found."})
    rsps.get(TAGS_URL, json={"count": 0, "next": None, "results": []})
    make_client(time_).remove_tag(5, 9)
    assert [call.request.method for call in rsps.calls] == ["DELETE", "DELETE", "GET"]


def test_a_delete_on_a_highlight_gone_is_highlight_gone(
    rsps: responses.RequestsMock, time_: FakeTime
) -> None:
    rsps.delete(f"{TAGS_URL}9/", status=404, json={"detail": "Not found."})
    rsps.get(TAGS_URL, status=404, json={"detail": "Not found."})
    with pytest.raises(HighlightGone):
        make_client(time_).remove_tag(5, 9)


# --- errors ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("status", "why"), [(401, "not valid"), (403, "may read but not write")])
def test_a_refused_write_is_write_refused_at_once(
    rsps: responses.RequestsMock, time_: FakeTime, status: int, why: str
) -> None:
    rsps.patch(HIGHLIGHT_URL, status=status, json={"detail": f"no, {TOKEN}"})
    with pytest.raises(WriteRefused, match=why) as refused:
        make_client(time_).update_highlight(5, note="n")
    assert len(rsps.calls) == 1
    assert TOKEN not in str(refused.value)
    assert refused.value.exit_code == 3


def test_400_is_write_rejected_with_readwise_s_reason_shortened_to_one_line_without_the_token(
    rsps: responses.RequestsMock, time_: FakeTime
) -> None:
    reason = f"Ensure this field\nhas no more than 8191 characters ({TOKEN}). " + "more " * 100
    rsps.patch(HIGHLIGHT_URL, status=400, json={"text": [reason]})
    with pytest.raises(WriteRejected) as rejected:
        make_client(time_).update_highlight(5, text="x" * 9000)
    error = rejected.value
    assert (error.highlight_id, error.field) == (5, "text")
    assert str(error).startswith("Readwise refused the text of highlight 5: Ensure this field has")
    assert "\n" not in str(error) and TOKEN not in str(error) and len(error.reason) <= 160
    assert len(rsps.calls) == 1


@pytest.mark.parametrize(
    ("body", "field", "reason"),
    [
        ({"detail": "JSON parse error"}, "request", "JSON parse error"),
        ({"name": ["This field may not be blank."]}, "name", "This field may not be blank."),
        ("plain text", "request", "plain text"),
        (None, "request", "invalid request (HTTP 400)"),
    ],
)
def test_400_bodies_of_other_shapes(
    rsps: responses.RequestsMock, time_: FakeTime, body: Any, field: str, reason: str
) -> None:
    if body is None:
        rsps.post(TAGS_URL, status=400, body="")
    else:
        rsps.post(TAGS_URL, status=400, json=body)
    with pytest.raises(WriteRejected) as rejected:
        make_client(time_).add_tag(5, " ")
    assert (rejected.value.field, rejected.value.reason) == (field, reason)


def test_404_in_json_is_the_highlight_gone(rsps: responses.RequestsMock, time_: FakeTime) -> None:
    rsps.patch(HIGHLIGHT_URL, status=404, json={"detail": "Not found."})
    with pytest.raises(HighlightGone, match="highlight 5 is no longer in Readwise"):
        make_client(time_).update_highlight(5, note="n")


def test_404_as_an_html_page_is_no_readwise_api_there(
    rsps: responses.RequestsMock, time_: FakeTime
) -> None:
    rsps.patch(HIGHLIGHT_URL, status=404, body="<html>nope</html>", content_type="text/html")
    with pytest.raises(NoApiError, match="no Readwise API"):
        make_client(time_).update_highlight(5, note="n")


# --- redirects ------------------------------------------------------------------------------------


def test_a_write_redirected_to_another_host_is_not_sent_there(
    rsps: responses.RequestsMock, time_: FakeTime
) -> None:
    elsewhere = "https://evil.test/api/v2/highlights/5/"
    rsps.patch(HIGHLIGHT_URL, status=307, headers={"Location": elsewhere})
    rsps.patch(elsewhere, json=highlight())
    with pytest.raises(ReadwiseError, match=r"another host \(https://evil.test\)") as refused:
        make_client(time_).update_highlight(5, note="n")
    assert [call.request.url for call in rsps.calls] == [HIGHLIGHT_URL]
    assert TOKEN not in str(refused.value)


def test_a_write_redirected_on_the_same_host_is_sent_again_with_its_body(
    rsps: responses.RequestsMock, time_: FakeTime
) -> None:
    moved = f"{BASE}/api/v2/highlights/5/moved/"
    rsps.patch(HIGHLIGHT_URL, status=308, headers={"Location": "/api/v2/highlights/5/moved/"})
    rsps.patch(moved, json=highlight())
    make_client(time_).update_highlight(5, note="n")
    assert [(c.request.method, c.request.url, sent_json(c)) for c in rsps.calls] == [
        ("PATCH", HIGHLIGHT_URL, {"note": "n"}),
        ("PATCH", moved, {"note": "n"}),
    ]


# --- the limiter ----------------------------------------------------------------------------------


def test_the_limiter_never_lets_more_than_240_requests_into_any_minute(time_: FakeTime) -> None:
    limiter = WriteLimiter(clock=time_.clock, sleep=time_.sleep)
    sent = []
    for number in range(1000):
        time_.now += 0.1 if number % 50 else 3.0  # bursts and pauses
        limiter.acquire()
        sent.append(time_.now)
    assert time_.sleeps  # it had to wait
    for index, moment in enumerate(sent):
        in_minute = [t for t in sent[index:] if t < moment + 60.0]
        assert len(in_minute) <= 240


def test_240_writes_go_at_once_and_the_241st_waits_out_the_minute(
    rsps: responses.RequestsMock, time_: FakeTime
) -> None:
    rsps.patch(HIGHLIGHT_URL, json=highlight())
    client = make_client(time_)
    for _ in range(240):
        client.update_highlight(5, note="n")
    assert time_.sleeps == []
    time_.now += 10.0
    client.update_highlight(5, note="n")
    assert time_.sleeps == [50.0]


def test_every_retry_counts_against_the_limit(
    rsps: responses.RequestsMock, time_: FakeTime
) -> None:
    rsps.patch(HIGHLIGHT_URL, status=500)
    rsps.patch(HIGHLIGHT_URL, json=highlight())
    limiter = WriteLimiter(2, clock=time_.clock, sleep=time_.sleep)
    make_client(time_, write_limiter=limiter).update_highlight(5, note="n")
    rsps.patch(HIGHLIGHT_URL, json=highlight())
    time_.sleeps.clear()
    make_client(time_, write_limiter=limiter).update_highlight(5, note="n")
    assert time_.sleeps and time_.sleeps[0] > 0


def test_a_sleep_that_does_not_move_the_clock_still_ends(time_: FakeTime) -> None:
    waits: list[float] = []
    limiter = WriteLimiter(3, clock=lambda: 0.0, sleep=waits.append)
    for _ in range(10):
        limiter.acquire()
    assert len(waits) == 7


def test_the_default_limiter_waits_with_the_client_s_sleep_as_the_daemon_swaps_it(
    rsps: responses.RequestsMock,
) -> None:
    client = ReadwiseClient(BASE, TOKEN)
    waits: list[float] = []
    client.sleep = waits.append
    client.write_limiter.per_minute = 1
    rsps.patch(HIGHLIGHT_URL, json=highlight())
    client.update_highlight(5, note="a")
    client.update_highlight(5, note="b")
    assert len(waits) == 1 and 0 < waits[0] <= 60.0
