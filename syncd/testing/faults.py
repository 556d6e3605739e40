"""The faults the loopback Readwise can answer with, and the rules that choose when.

A `Fault` says how to answer a request instead of (or on top of) the normal answer; a
`FaultRule` says which requests to an endpoint get it. Hand both to
`syncd.testing.fakereadwise.FakeReadwise.inject`::

    server.inject("export", Fault.status(503), times=2)
    server.inject("export", Fault.retry_after(2), after=1)

`pick` chooses the fault (if any) that answers a request, and counts it; `Fault.hold` waits as a
"hang" fault says. The HTTP side of each kind (resets, cut bodies) is the server's.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit

from syncd.testing.wire import Response

__all__ = ["Fault", "FaultRule", "answer_instead", "path_matches", "pick", "rewrite"]

#: A captive portal's page, as a hotel's Wi-Fi answers any request before one signs in.
CAPTIVE_PORTAL = b"<!DOCTYPE html><html><body>Sign in to the Wi-Fi</body></html>"
#: The cursors an endless listing makes up, each new.
_ENDLESS = itertools.count(1)
#: How often a held ("hang") response looks whether it may go on or the server stops.
_HANG_POLL = 0.02


@dataclass(frozen=True, eq=False)
class Fault:
    """How to answer a request instead of (or on top of) the normal answer.

    Build one with a class method; hand it to `FakeReadwise.inject`:

    - `Fault.status(503)`: that status with a small JSON body (any code, any body).
    - `Fault.retry_after(2)`: 429 with `Retry-After: 2`.
    - `Fault.reset()`: close the connection with a TCP reset, no response at all.
    - `Fault.hang(release=event, delay=5)`: hold the request until `event` is set or `delay`
      seconds pass (without either: until the server stops), then answer normally. A client
      with a shorter read timeout sees a timeout. Never holds up `FakeReadwise.stop`.
    - `Fault.truncated()`: the normal 200 answer, cut in half. By default Content-Length
      claims the whole body and the connection closes early (the client sees an incomplete
      read); with `short_read=False` the header matches the cut body (the client sees a 200
      whose JSON does not parse).
    - `Fault.bad_json()`: 200 with a JSON content type and a body that is not JSON.
    - `Fault.html()`: 200 with an HTML page (a captive portal, a proxy's login page).
    - `Fault.redirect(url)`: 302 to `url` (another host, say); the query is kept.

    A server that misbehaves in its answer's body (the normal answer, changed):

    - `Fault.cursor_repeats()`: `nextPageCursor` is the cursor the request sent (the first
      page's stays as it is): the client is sent round the same page again and again.
    - `Fault.cursor_endless()`: every answer is the first page, with a new `nextPageCursor`:
      a listing that never ends.
    - `Fault.count(value)`: `count` is `value` (any JSON value: -1, 10**15, "many").
    - `Fault.served_twice(books=True, highlights=False)`: every book of the page comes twice
      in `results`; with `highlights`, every highlight twice in its book.
    - `Fault.offset_paging()`: the listing paged by offset in the order of the books' last
      change (`syncd.testing.export`), as a server whose listing shifts when a book changes.

    Any fault may carry `before`, called when it answers, before the answer is made (to change
    the library between two pages of a listing, say).
    """

    kind: str
    status_code: int = 200
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes | None = None
    release: threading.Event | None = None
    delay: float | None = None
    short_read: bool = True
    rewrite: str | None = None  # "cursor_repeats", "cursor_endless", "count", "served_twice"
    value: Any = None  # the `count` of a "count" fault; (books, highlights) of "served_twice"
    before: Callable[[], None] | None = None

    @classmethod
    def status(
        cls,
        code: int,
        *,
        body: bytes | str | Mapping[str, Any] | list[Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Fault:
        """Answer with status `code`; `body` (JSON-encoded unless bytes/str) defaults to a
        DRF-style `{"detail": <reason phrase>}`."""
        if body is None:
            try:
                phrase = HTTPStatus(code).phrase
            except ValueError:
                phrase = "Error"
            body = {"detail": phrase}
        return cls(
            "status",
            status_code=code,
            headers=tuple((headers or {}).items()),
            body=_encode_body(body),
        )

    @classmethod
    def retry_after(cls, seconds: float, *, status: int = 429) -> Fault:
        """Answer 429 (or `status`) with `Retry-After: <seconds>`, as Readwise throttles."""
        shown = str(int(seconds)) if float(seconds).is_integer() else str(seconds)
        detail = f"Request was throttled. Expected available in {shown} seconds."
        return cls(
            "status",
            status_code=status,
            headers=(("Retry-After", shown),),
            body=_encode_body({"detail": detail}),
        )

    @classmethod
    def reset(cls) -> Fault:
        """Close the connection with a TCP reset before any byte of a response."""
        return cls("reset")

    @classmethod
    def hang(cls, release: threading.Event | None = None, delay: float | None = None) -> Fault:
        """Hold the response until `release` is set, `delay` seconds pass or the server stops;
        then answer normally (or, if the server is stopping, close without answering)."""
        return cls("hang", release=release, delay=delay)

    @classmethod
    def truncated(cls, *, short_read: bool = True) -> Fault:
        """Send only the first half of the normal body; see the class docstring for
        `short_read`."""
        return cls("truncated", short_read=short_read)

    @classmethod
    def bad_json(cls, body: bytes = b'{"count": 1, "nextPageCursor": null, "results": [{') -> Fault:
        """Answer 200 `application/json` with `body`, which is not valid JSON."""
        return cls("bad_json", body=body)

    @classmethod
    def html(
        cls, body: bytes = b"<!DOCTYPE html><html><body>Sign in to the Wi-Fi</body></html>"
    ) -> Fault:
        """Answer 200 `text/html` with `body`."""
        return cls("html", body=body)

    @classmethod
    def redirect(cls, url: str, *, status: int = 302) -> Fault:
        """Answer `status` with `Location: url` followed by the request's query."""
        return cls("redirect", status_code=status, body=url.encode())

    @classmethod
    def cursor_repeats(cls) -> Fault:
        """The normal answer, with the request's own `pageCursor` as `nextPageCursor`."""
        return cls("rewrite", rewrite="cursor_repeats")

    @classmethod
    def cursor_endless(cls) -> Fault:
        """The first page, whatever was asked, with a `nextPageCursor` never sent before."""
        return cls("rewrite", rewrite="cursor_endless")

    @classmethod
    def count(cls, value: Any) -> Fault:
        """The normal answer, with `count` set to `value`."""
        return cls("rewrite", rewrite="count", value=value)

    @classmethod
    def offset_paging(cls, *, before: Callable[[], None] | None = None) -> Fault:
        """The listing paged by offset (`offset:N` cursors) in the order of last change."""
        return cls("rewrite", rewrite="offset_paging", before=before)

    @classmethod
    def served_twice(cls, *, books: bool = True, highlights: bool = False) -> Fault:
        """The normal answer with every book (and/or every highlight of each book) twice."""
        return cls("rewrite", rewrite="served_twice", value=(books, highlights))

    def query_for(self, query: Mapping[str, str]) -> Mapping[str, str]:
        """The query the normal answer is made for: an endless listing's is always page one."""
        if self.rewrite == "cursor_endless":
            return {k: v for k, v in query.items() if k != "pageCursor"}
        if self.rewrite == "offset_paging":
            return {**query, "pageCursor": query.get("pageCursor") or "offset:0"}
        return query

    def hold(self, stopping: threading.Event) -> bool:
        """Wait as a "hang" fault says; return False if `stopping` is set first."""
        deadline = None if self.delay is None else time.monotonic() + self.delay
        while not stopping.is_set():
            if self.release is not None and self.release.is_set():
                return True
            if deadline is not None and time.monotonic() >= deadline:
                return True
            wait = _HANG_POLL if deadline is None else min(_HANG_POLL, deadline - time.monotonic())
            stopping.wait(max(wait, 0))
        return False


@dataclass(eq=False)
class FaultRule:
    """One injected fault: which endpoint, which requests, and how often it has fired.

    It skips the first `after` requests to its endpoint (counted from when it was injected),
    then answers the next `times` of them (`None`: every one) with `fault`. When two rules
    want the same request, the one injected first answers it.
    """

    endpoint: str  # a path such as "/api/v2/export/", a prefix and "*", or "*" for every path
    fault: Fault
    times: int | None = 1
    after: int = 0
    seen: int = 0
    fired: int = 0

    @property
    def exhausted(self) -> bool:
        """True when the rule will answer no further request."""
        return self.times is not None and self.fired >= self.times

    def _matches(self, path: str) -> bool:
        return path_matches(self.endpoint, path)

    def _wants(self) -> bool:
        return self.seen > self.after and not self.exhausted


def path_matches(endpoint: str, path: str) -> bool:
    """Whether a request's `path` is one `endpoint` names: "*" (every path), the path itself,
    or a prefix of it followed by "*" ("/api/v2/highlights/*")."""
    if endpoint.endswith("*"):
        return path.startswith(endpoint[:-1])
    return endpoint == path


def pick(rules: Iterable[FaultRule], path: str) -> Fault | None:
    """Given the rules in the order injected and a request's path, count the request on every
    rule for that path and return the fault of the first that wants it (None: answer
    normally). The caller holds the lock that guards `rules`."""
    chosen = None
    for rule in rules:
        if not rule._matches(path):
            continue
        rule.seen += 1
        if chosen is None and rule._wants():
            rule.fired += 1
            chosen = rule.fault
    if chosen is not None and chosen.before is not None:
        chosen.before()
    return chosen


def _encode_body(body: bytes | str | Mapping[str, Any] | list[Any]) -> bytes:
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode()
    return json.dumps(body).encode()


def answer_instead(fault: Fault, request_path: str) -> Response | None:
    """The response of a fault that answers instead of the server (a status, a body that is
    not JSON, an HTML page, a redirect); None for the other kinds. `request_path`: the
    request's path and query, which a redirect keeps."""
    if fault.kind == "status":
        headers = [("Content-Type", "application/json"), *fault.headers]
        return Response(fault.status_code, fault.body or b"", headers)
    if fault.kind in ("bad_json", "html"):
        kind = "text/html" if fault.kind == "html" else "application/json"
        return Response(200, fault.body or b"", [("Content-Type", kind)])
    if fault.kind == "redirect":
        parts = urlsplit(request_path)
        target = (fault.body or b"").decode() + parts.path
        location = f"{target}?{parts.query}" if parts.query else target
        return Response(fault.status_code, b"", [("Location", location)])
    return None


def rewrite(body: bytes, fault: Fault, query: Mapping[str, str]) -> bytes:
    """Given the normal answer's JSON body, return it changed as a "rewrite" fault says."""
    value = json.loads(body)
    if fault.rewrite == "cursor_repeats" and query.get("pageCursor"):
        value["nextPageCursor"] = query["pageCursor"]
    elif fault.rewrite == "cursor_endless":
        value["nextPageCursor"] = f"endless-{next(_ENDLESS)}"  # never given before
    elif fault.rewrite == "count":
        value["count"] = fault.value
    elif fault.rewrite == "served_twice":
        books, highlights = fault.value
        results = value.get("results") or []
        if highlights:
            for record in results:
                record["highlights"] = [h for h in record["highlights"] for _ in (1, 2)]
        value["results"] = [r for r in results for _ in (1, 2)] if books else results
    return json.dumps(value).encode()
