"""A Readwise-compatible HTTP server on 127.0.0.1, for `syncd demo`, the tests and the benchmarks.

`FakeReadwise` serves the two endpoints syncd uses, `GET /api/v2/auth/` and
`GET /api/v2/export/`, from an in-memory library, with the records shaped exactly as Readwise's
export shapes them. Tests change the library while the server runs (`add_book`,
`add_highlight`, `update_highlight`, `delete_highlight`, `put_record`), look at what was asked
(`requests`), and make chosen requests fail (`inject` with a `Fault`)::

    with FakeReadwise(token="secret", page_size=2) as server:
        server.add_book(title="Walden", highlights=[{"text": "Simplify, simplify."}])
        server.inject("export", Fault.status(503), times=2)
        ...  # point a client at server.url

Choices the real API leaves open, made here and relied on by the tests:
- Books are ordered by id; `nextPageCursor` is an opaque string naming the last book served, so
  paging stays correct while the library changes; `count` is the number of books matching the
  query across all pages.
- A book appears only when it carries at least one highlight, except that with `updatedAfter` a
  book whose metadata changed after that time appears even with no changed highlight.
- Deleted or discarded highlights, and deleted books, appear only with `includeDeleted=true`.
- A record stored with `put_record` is served as it is (it may break the schema on purpose);
  with `updatedAfter` it appears when it was stored after that time.
- One request per connection (HTTP/1.0), so a fault never leaves a broken connection in a
  client's pool. Bad parameters get 400, unknown paths 404, both with a JSON `detail`.

The standard library only. The token is never printed, logged or recorded; the server writes
nothing on stderr.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import contextlib
import copy
import functools
import hmac
import io
import json
import secrets
import socket
import struct
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

__all__ = ["ENDPOINTS", "FakeReadwise", "Fault", "FaultRule", "RecordedRequest"]

#: Short names for the endpoints, usable wherever a path is asked for.
ENDPOINTS: dict[str, str] = {"auth": "/api/v2/auth/", "export": "/api/v2/export/"}

#: How often a held ("hang") response looks whether it may go on or the server stops.
_HANG_POLL = 0.02

_BOOK_FIELDS = (
    "user_book_id", "title", "readable_title", "author", "source", "cover_image_url",
    "unique_url", "summary", "book_tags", "category", "document_note", "readwise_url",
    "source_url", "asin", "is_deleted", "highlights",
)
_HIGHLIGHT_FIELDS = (
    "id", "text", "location", "location_type", "note", "color", "highlighted_at", "created_at",
    "updated_at", "external_id", "end_location", "url", "book_id", "tags", "is_favorite",
    "is_discard", "is_deleted", "readwise_url",
)
_TIME_FIELDS = ("highlighted_at", "created_at", "updated_at")
_SOURCES = {"books": "kindle", "articles": "reader", "tweets": "twitter", "podcasts": "snipd"}


# --- time -----------------------------------------------------------------------------------

def parse_time(value: str) -> datetime:
    """Given an ISO 8601 time (`Z`, an offset, or none meaning UTC), return an aware datetime.

    Raise ValueError if it is not one.
    """
    text = value.strip()
    if text[-1:] in ("Z", "z"):
        text = text[:-1] + "+00:00"
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def format_time(moment: datetime) -> str:
    """Given a datetime (naive meaning UTC), return it as Readwise writes times: UTC with `Z`."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    text = moment.astimezone(timezone.utc).isoformat(timespec="microseconds")
    return text.replace("+00:00", "Z")


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


# --- faults ---------------------------------------------------------------------------------

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
    """

    kind: str
    status_code: int = 200
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes | None = None
    release: threading.Event | None = None
    delay: float | None = None
    short_read: bool = True

    @classmethod
    def status(cls, code: int, *, body: bytes | str | Mapping[str, Any] | list[Any] | None = None,
               headers: Mapping[str, str] | None = None) -> Fault:
        """Answer with status `code`; `body` (JSON-encoded unless bytes/str) defaults to a
        DRF-style `{"detail": <reason phrase>}`."""
        if body is None:
            try:
                phrase = HTTPStatus(code).phrase
            except ValueError:
                phrase = "Error"
            body = {"detail": phrase}
        return cls("status", status_code=code, headers=tuple((headers or {}).items()),
                   body=_encode_body(body))

    @classmethod
    def retry_after(cls, seconds: float, *, status: int = 429) -> Fault:
        """Answer 429 (or `status`) with `Retry-After: <seconds>`, as Readwise throttles."""
        shown = str(int(seconds)) if float(seconds).is_integer() else str(seconds)
        detail = f"Request was throttled. Expected available in {shown} seconds."
        return cls("status", status_code=status, headers=(("Retry-After", shown),),
                   body=_encode_body({"detail": detail}))

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


@dataclass(eq=False)
class FaultRule:
    """One injected fault: which endpoint, which requests, and how often it has fired.

    It skips the first `after` requests to its endpoint (counted from when it was injected),
    then answers the next `times` of them (`None`: every one) with `fault`. When two rules
    want the same request, the one injected first answers it.
    """

    endpoint: str  # a path such as "/api/v2/export/", or "*" for every path
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
        return self.endpoint in ("*", path)

    def _wants(self) -> bool:
        return self.seen > self.after and not self.exhausted


def _encode_body(body: bytes | str | Mapping[str, Any] | list[Any]) -> bytes:
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode()
    return json.dumps(body).encode()


def _endpoint_path(endpoint: str) -> str:
    if endpoint == "*":
        return endpoint
    path = ENDPOINTS.get(endpoint, endpoint)
    return path if path.endswith("/") else path + "/"


# --- recorded requests ----------------------------------------------------------------------

@dataclass
class RecordedRequest:
    """One request as the server saw it, without the token.

    `query` keeps the last value of each parameter; `headers` leaves out `Authorization`;
    `fault` is the kind of fault that answered it, if any; `status` is the status sent
    (None when no response was sent).
    """

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    fault: str | None = None
    status: int | None = None


# --- the library ----------------------------------------------------------------------------

@dataclass
class _Entry:
    """A stored book: its record, whether it is raw (`put_record`), and when its metadata
    last changed."""

    record: dict[str, Any]
    raw: bool
    updated: datetime


@dataclass
class _Response:
    status: int
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)


class _BadRequest(Exception):
    pass


class FakeReadwise:
    """A Readwise export API on 127.0.0.1 serving an in-memory library; see the module doc.

    `token`: the one accepted token (default: a random one, readable as `.token`).
    `page_size`: books per export page (Readwise: 1000).
    `clock`: the server's notion of now, used for `updated_at` defaults and the `Date` header.
    `books`: records to load at once, as `add_book` takes them.
    """

    def __init__(self, token: str | None = None, *, page_size: int = 1000,
                 clock: Callable[[], datetime] = _utc_now,
                 books: Iterable[Mapping[str, Any]] = ()) -> None:
        if page_size < 1:
            raise ValueError("page_size must be at least 1")
        self._token = token if token is not None else secrets.token_urlsafe(24)
        self.page_size = page_size
        self.clock = clock
        self._lock = threading.RLock()
        self._books: dict[int, _Entry] = {}
        self._highlights: dict[int, int] = {}  # highlight id -> book key
        self._tag_ids: dict[str, int] = {}
        self._next_book_id = 1
        self._next_highlight_id = 1
        self._version = 0
        self._match_cache: tuple[tuple[Any, ...], list[int]] | None = None
        self._rules: list[FaultRule] = []
        self._requests: list[RecordedRequest] = []
        self._errors: list[BaseException] = []
        self._connections: set[socket.socket] = set()
        self._stopping = threading.Event()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.load(books)

    # lifecycle -------------------------------------------------------------------------------

    def start(self) -> FakeReadwise:
        """Bind a free port on 127.0.0.1 and serve in a background thread; return self."""
        if self._httpd is not None:
            return self
        self._stopping.clear()
        self._httpd = _HTTPServer(("127.0.0.1", 0), _Handler, self)
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={
            "poll_interval": 0.01}, name="fakereadwise", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving: release held requests, drop open connections, close the port."""
        httpd = self._httpd
        if httpd is None:
            return
        self._stopping.set()
        httpd.shutdown()
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        httpd.server_close()  # joins the handler threads, which all end promptly now
        if self._thread is not None:
            self._thread.join()
        self._httpd = None
        self._thread = None

    def __enter__(self) -> FakeReadwise:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The base URL, `http://127.0.0.1:PORT`; only while started."""
        if self._httpd is None:
            raise RuntimeError("FakeReadwise is not started")
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    @property
    def token(self) -> str:
        """The accepted token (for the caller's own client; never shown by the server)."""
        return self._token

    def __repr__(self) -> str:
        where = self.url if self._httpd is not None else "stopped"
        return f"<FakeReadwise {where}, {len(self._books)} books>"

    # library ---------------------------------------------------------------------------------

    def load(self, books: Iterable[Mapping[str, Any]]) -> None:
        """Add every record of `books` as `add_book` does (without copies to return)."""
        with self._lock:
            for book in books:
                self._store_book(book)

    def add_book(self, **fields: Any) -> dict[str, Any]:
        """Store a book; return (a copy of) the stored export record.

        Missing fields get Readwise-like defaults; `user_book_id` is assigned when absent;
        `highlights` (optional) are stored as `add_highlight` stores them. Its metadata counts
        as changed at the newest highlight's `updated_at`, or now when it has none.
        """
        with self._lock:
            return copy.deepcopy(self._store_book(fields))

    def update_book(self, book_id: int, /, *, updated_at: str | datetime | None = None,
                    **fields: Any) -> dict[str, Any]:
        """Change a book's metadata fields (not its highlights); its metadata counts as changed
        at `updated_at` (default now). Return a copy of the record."""
        fields = copy.deepcopy(fields)
        fields.pop("highlights", None)
        fields.pop("user_book_id", None)
        with self._lock:
            entry = self._book(book_id)
            if "book_tags" in fields:
                fields["book_tags"] = self._tags(fields["book_tags"])
            entry.record.update(fields)
            entry.record = _ordered(entry.record, _BOOK_FIELDS)
            entry.updated = parse_time(self._stamp(updated_at))
            self._changed()
            return copy.deepcopy(entry.record)

    def delete_book(self, book_id: int) -> None:
        """Mark a book deleted (`is_deleted: true`); its metadata counts as changed now."""
        self.update_book(book_id, is_deleted=True)

    def add_highlight(self, book_id: int, /, **fields: Any) -> dict[str, Any]:
        """Store a highlight in book `book_id`; return a copy of the stored record.

        `id` is assigned when absent; `created_at` and `updated_at` default to now; `tags` may
        be names or `{"id", "name"}` objects; a `book_id` among `fields` is overridden.
        """
        with self._lock:
            entry = self._book(book_id)
            stored = self._add_highlight(entry, dict(fields))
            self._changed()
            return copy.deepcopy(stored)

    def update_highlight(self, highlight_id: int, /, **fields: Any) -> dict[str, Any]:
        """Change fields of a highlight; `updated_at` becomes the given one, or now.
        Return a copy of the record."""
        fields = copy.deepcopy(fields)
        with self._lock:
            highlight = self._highlight(highlight_id)
            stamp = self._stamp(fields.pop("updated_at", None))
            if "tags" in fields:
                fields["tags"] = self._tags(fields["tags"])
            for name in _TIME_FIELDS:
                if isinstance(fields.get(name), datetime):
                    fields[name] = format_time(fields[name])
            fields.pop("id", None)
            fields.pop("book_id", None)
            highlight.update(fields)
            highlight["updated_at"] = stamp
            self._changed()
            return copy.deepcopy(highlight)

    def delete_highlight(self, highlight_id: int, *,
                         updated_at: str | datetime | None = None) -> dict[str, Any]:
        """Mark a highlight deleted (`is_deleted: true`, `updated_at` now or as given)."""
        return self.update_highlight(highlight_id, is_deleted=True, updated_at=updated_at)

    def put_record(self, raw: Mapping[str, Any]) -> None:
        """Store a book record exactly as given, to be served as-is (it may break the schema).

        A record whose `user_book_id` is an int replaces the book with that id; any other
        record gets a fresh place in the id order. It counts as changed now.
        """
        record = copy.deepcopy(dict(raw))
        with self._lock:
            book_id = record.get("user_book_id")
            if not isinstance(book_id, int) or isinstance(book_id, bool):
                book_id = self._next_book_id
            self._next_book_id = max(self._next_book_id, book_id + 1)
            old = self._books.get(book_id)
            if old is not None and not old.raw:
                for highlight in old.record["highlights"]:
                    self._highlights.pop(highlight["id"], None)
            self._books[book_id] = _Entry(record, raw=True, updated=self._now())
            self._changed()

    def book(self, book_id: int) -> dict[str, Any]:
        """Return a copy of the stored record of book `book_id` (all its highlights)."""
        with self._lock:
            return copy.deepcopy(self._book(book_id, raw_ok=True).record)

    @property
    def books(self) -> list[dict[str, Any]]:
        """Copies of every stored record, by id."""
        with self._lock:
            return [copy.deepcopy(self._books[key].record) for key in sorted(self._books)]

    # faults and records ----------------------------------------------------------------------

    def inject(self, endpoint: str, fault: Fault, *, times: int | None = 1,
               after: int = 0) -> FaultRule:
        """Answer requests to `endpoint` with `fault`; return the rule (see `FaultRule`).

        `endpoint`: "export", "auth", a path such as "/api/v2/export/", or "*" for all.
        `times`: how many requests it answers (None: all). `after`: how many requests to that
        endpoint it lets through first, so the Nth request is `after=N - 1, times=1`.
        """
        if times is not None and times < 1:
            raise ValueError("times must be at least 1, or None for every request")
        rule = FaultRule(_endpoint_path(endpoint), fault, times=times, after=after)
        with self._lock:
            self._rules.append(rule)
        return rule

    @property
    def faults(self) -> list[FaultRule]:
        """The injected rules that may still fire, in the order they were injected."""
        with self._lock:
            return [rule for rule in self._rules if not rule.exhausted]

    def clear_faults(self) -> None:
        """Forget every injected fault."""
        with self._lock:
            self._rules.clear()

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of every request received so far, oldest first, token left out."""
        with self._lock:
            return list(self._requests)

    def requests_to(self, endpoint: str) -> list[RecordedRequest]:
        """The recorded requests to `endpoint` ("export", "auth" or a path)."""
        path = _endpoint_path(endpoint)
        return [r for r in self.requests if path in ("*", r.path)]

    def clear_requests(self) -> None:
        """Forget the recorded requests."""
        with self._lock:
            self._requests.clear()

    @property
    def errors(self) -> list[BaseException]:
        """Unexpected exceptions raised while handling requests (answered with 500)."""
        with self._lock:
            return list(self._errors)

    # internals: library ----------------------------------------------------------------------

    def _now(self) -> datetime:
        moment = self.clock()
        return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)

    def _stamp(self, value: str | datetime | None) -> str:
        if value is None:
            return format_time(self._now())
        return format_time(value) if isinstance(value, datetime) else value

    def _changed(self) -> None:
        self._version += 1
        self._match_cache = None

    def _book(self, book_id: int, *, raw_ok: bool = False) -> _Entry:
        entry = self._books.get(book_id)
        if entry is None:
            raise KeyError(f"no book {book_id}")
        if entry.raw and not raw_ok:
            raise ValueError(f"book {book_id} is a raw record; replace it with put_record")
        return entry

    def _highlight(self, highlight_id: int) -> dict[str, Any]:
        key = self._highlights.get(highlight_id)
        if key is None:
            raise KeyError(f"no highlight {highlight_id}")
        for highlight in self._books[key].record["highlights"]:
            if highlight["id"] == highlight_id:
                return highlight
        raise KeyError(f"no highlight {highlight_id}")  # pragma: no cover - index is in sync

    def _tags(self, tags: Iterable[Any]) -> list[Any]:
        result = []
        for tag in tags:
            if isinstance(tag, str):
                tag_id = self._tag_ids.setdefault(tag, 1000 + len(self._tag_ids))
                result.append({"id": tag_id, "name": tag})
            else:
                result.append(dict(tag) if isinstance(tag, Mapping) else tag)
        return result

    def _store_book(self, given: Mapping[str, Any]) -> dict[str, Any]:
        """Store a book record built from `given` (see `add_book`); return the stored record.

        Copies what it keeps (tags included), so the caller's objects stay the caller's.
        """
        fields = dict(given)
        highlights = [dict(h) for h in fields.pop("highlights", None) or []]
        book_id = fields.get("user_book_id")
        if book_id is None:
            book_id = self._next_book_id
        if not isinstance(book_id, int) or isinstance(book_id, bool):
            raise TypeError("user_book_id must be an int; use put_record for a bad record")
        if book_id in self._books:
            raise ValueError(f"book {book_id} exists already")
        ids = [h["id"] for h in highlights if h.get("id") is not None]
        clash = set(ids) & self._highlights.keys() or len(set(ids)) != len(ids)
        if clash:
            raise ValueError(f"book {book_id}: a highlight id is used twice")
        self._next_book_id = max(self._next_book_id, book_id + 1)
        title = fields.get("title") or "Untitled"
        category = fields.get("category") or "books"
        defaults: dict[str, Any] = {
            "user_book_id": book_id, "title": title, "readable_title": title, "author": "",
            "source": _SOURCES.get(category, "api"), "cover_image_url": "",
            "unique_url": None, "summary": "", "book_tags": [], "category": category,
            "document_note": "", "readwise_url": f"https://readwise.io/bookreview/{book_id}",
            "source_url": None, "asin": None, "is_deleted": False,
        }
        record = _ordered({**defaults, **fields, "highlights": []}, _BOOK_FIELDS)
        record["book_tags"] = self._tags(record["book_tags"])
        entry = _Entry(record, raw=False, updated=self._now())
        self._books[book_id] = entry
        for highlight in highlights:
            self._add_highlight(entry, highlight)
        times = [t for h in record["highlights"] if (t := _parsed(h.get("updated_at")))]
        if times:
            entry.updated = max(times)
        self._changed()
        return record

    def _add_highlight(self, entry: _Entry, fields: dict[str, Any]) -> dict[str, Any]:
        book_id = entry.record["user_book_id"]
        highlight_id = fields.get("id")
        if highlight_id is None:
            highlight_id = self._next_highlight_id
        if highlight_id in self._highlights:
            raise ValueError(f"highlight {highlight_id} exists already")
        self._next_highlight_id = max(self._next_highlight_id, highlight_id + 1)
        now = format_time(self._now())
        defaults: dict[str, Any] = {
            "id": highlight_id, "text": "", "location": None, "location_type": "order",
            "note": "", "color": "", "highlighted_at": None, "created_at": now,
            "updated_at": now, "external_id": None, "end_location": None, "url": None,
            "book_id": book_id, "tags": [], "is_favorite": False, "is_discard": False,
            "is_deleted": False, "readwise_url": f"https://readwise.io/open/{highlight_id}",
        }
        for name in _TIME_FIELDS:
            if isinstance(fields.get(name), datetime):
                fields[name] = format_time(fields[name])
        highlight = _ordered({**defaults, **fields, "book_id": book_id}, _HIGHLIGHT_FIELDS)
        highlight["tags"] = self._tags(highlight["tags"])
        entry.record["highlights"].append(highlight)
        self._highlights[highlight_id] = book_id
        return highlight

    # internals: export -----------------------------------------------------------------------

    def _visible(self, entry: _Entry, after: datetime | None,
                 include_deleted: bool) -> list[dict[str, Any]]:
        """The highlights a query shows: not deleted (unless asked), changed after `after`.
        A highlight whose `updated_at` is missing or does not parse counts as changed."""
        return [h for h in entry.record["highlights"]
                if (include_deleted or not (h.get("is_deleted") or h.get("is_discard")))
                and (after is None or _changed_after(h.get("updated_at"), after))]

    def _included(self, entry: _Entry, after: datetime | None, include_deleted: bool) -> bool:
        if entry.raw:
            deleted = entry.record.get("is_deleted") is True
            return (include_deleted or not deleted) and (after is None or entry.updated > after)
        if entry.record.get("is_deleted") and not include_deleted:
            return False
        if after is not None and entry.updated > after:
            return True
        return bool(self._visible(entry, after, include_deleted))

    def _matching(self, after: datetime | None, ids: frozenset[int] | None,
                  include_deleted: bool) -> list[int]:
        """Return the sorted keys of the books the query selects (cached per library state)."""
        key = (self._version, after, ids, include_deleted)
        if self._match_cache is not None and self._match_cache[0] == key:
            return self._match_cache[1]
        keys = [book_id for book_id in sorted(self._books)
                if (ids is None or book_id in ids)
                and self._included(self._books[book_id], after, include_deleted)]
        self._match_cache = (key, keys)
        return keys

    def _render(self, entry: _Entry, after: datetime | None,
                include_deleted: bool) -> dict[str, Any]:
        if entry.raw:
            return entry.record
        return {**entry.record, "highlights": self._visible(entry, after, include_deleted)}

    def _export(self, query: Mapping[str, str]) -> _Response:
        after = None
        if query.get("updatedAfter"):
            try:
                after = parse_time(query["updatedAfter"])
            except ValueError:
                raise _BadRequest("updatedAfter is not an ISO 8601 date and time") from None
        ids = None
        if query.get("ids"):
            try:
                ids = frozenset(int(part) for part in query["ids"].split(",") if part.strip())
            except ValueError:
                raise _BadRequest("ids must be comma-separated book ids") from None
        include_deleted = query.get("includeDeleted", "").lower() == "true"
        last = _decode_cursor(query["pageCursor"]) if query.get("pageCursor") else None
        with self._lock:
            keys = self._matching(after, ids, include_deleted)
            start = 0 if last is None else bisect.bisect_right(keys, last)
            page = keys[start:start + self.page_size]
            more = start + len(page) < len(keys)
            answer = {
                "count": len(keys),
                "nextPageCursor": _encode_cursor(page[-1]) if more and page else None,
                "results": [self._render(self._books[k], after, include_deleted) for k in page],
            }
            return _json_response(200, answer)

    # internals: HTTP -------------------------------------------------------------------------

    def _authorized(self, handler: BaseHTTPRequestHandler) -> _Response | None:
        """Return a 401 response unless the request carries the token."""
        given = handler.headers.get("Authorization")
        if given is None:
            return _json_response(401, {"detail": "Authentication credentials were not provided."})
        if not hmac.compare_digest(given.encode(), f"Token {self._token}".encode()):
            return _json_response(401, {"detail": "Invalid token."})
        return None

    def _answer(self, handler: BaseHTTPRequestHandler, path: str,
                query: Mapping[str, str]) -> _Response:
        """Return the normal answer to a request."""
        if path not in ENDPOINTS.values():
            return _json_response(404, {"detail": "Not found."})
        if handler.command != "GET":
            return _json_response(405, {"detail": f'Method "{handler.command}" not allowed.'})
        refused = self._authorized(handler)
        if refused is not None:
            return refused
        if path == ENDPOINTS["auth"]:
            return _Response(204)
        try:
            return self._export(query)
        except _BadRequest as problem:
            return _json_response(400, {"detail": str(problem)})

    def _redact(self, text: str) -> str:
        return text.replace(self._token, "***") if self._token else text

    def _record(self, handler: BaseHTTPRequestHandler
                ) -> tuple[RecordedRequest, str, dict[str, str]]:
        parts = urlsplit(handler.path)
        path = parts.path if parts.path.endswith("/") else parts.path + "/"
        query = {name: values[-1]
                 for name, values in parse_qs(parts.query, keep_blank_values=True).items()}
        recorded = RecordedRequest(
            method=handler.command,
            path=self._redact(path),
            query={self._redact(k): self._redact(v) for k, v in query.items()},
            headers={name: self._redact(value) for name, value in handler.headers.items()
                     if name.lower() != "authorization"},
        )
        return recorded, path, query

    def _pick_fault(self, path: str) -> Fault | None:
        chosen = None
        for rule in self._rules:
            if not rule._matches(path):
                continue
            rule.seen += 1
            if chosen is None and rule._wants():
                rule.fired += 1
                chosen = rule.fault
        return chosen

    def _handle(self, handler: _Handler) -> None:
        """Answer one request: record it, apply a fault if one is due, else answer normally."""
        recorded, path, query = self._record(handler)
        with self._lock:
            self._requests.append(recorded)
            fault = self._pick_fault(path)
        recorded.fault = fault.kind if fault else None
        try:
            if fault is not None and fault.kind == "reset":
                handler.reset_connection()
                return
            if fault is not None and fault.kind == "status":
                response = _Response(fault.status_code, fault.body or b"",
                                     [("Content-Type", "application/json"), *fault.headers])
            elif fault is not None and fault.kind == "bad_json":
                response = _Response(200, fault.body or b"",
                                     [("Content-Type", "application/json")])
            else:
                if fault is not None and fault.kind == "hang" and not self._hold(fault):
                    handler.close_connection = True
                    return  # stopping: leave without an answer
                response = self._answer(handler, path, query)
        except Exception as error:  # a bug in this server: answer 500 and keep it for tests
            with self._lock:
                self._errors.append(error)
            response = _json_response(500, {"detail": "fake server error"})
        recorded.status = response.status
        if fault is not None and fault.kind == "truncated":
            handler.send_truncated(response, short_read=fault.short_read)
        else:
            handler.send(response)

    def _hold(self, fault: Fault) -> bool:
        """Wait as a "hang" fault says; return False if the server is stopping."""
        deadline = None if fault.delay is None else time.monotonic() + fault.delay
        while not self._stopping.is_set():
            if fault.release is not None and fault.release.is_set():
                return True
            if deadline is not None and time.monotonic() >= deadline:
                return True
            wait = _HANG_POLL if deadline is None else min(_HANG_POLL,
                                                          deadline - time.monotonic())
            self._stopping.wait(max(wait, 0))
        return False


def _ordered(record: dict[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    """Return `record` with the export's fields first, in the export's order, extras after."""
    ordered = {name: record[name] for name in names if name in record}
    ordered.update((k, v) for k, v in record.items() if k not in ordered)
    return ordered


def _parsed(value: object) -> datetime | None:
    """Parse a stored time; None when it is missing or does not parse."""
    return _parse_cached(value) if isinstance(value, str) else None


@functools.lru_cache(maxsize=1 << 17)
def _parse_cached(value: str) -> datetime | None:
    # Cached: a filtered export compares every highlight's `updated_at` on every request.
    try:
        return parse_time(value)
    except ValueError:
        return None


def _changed_after(value: object, after: datetime) -> bool:
    moment = _parsed(value)
    return moment is None or moment > after


def _encode_cursor(book_key: int) -> str:
    return base64.urlsafe_b64encode(f"book:{book_key}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, _, number = text.partition(":")
        if kind != "book":
            raise ValueError(kind)
        return int(number)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise _BadRequest("pageCursor is not a cursor this server gave") from None


def _json_response(status: int, value: object) -> _Response:
    try:
        body = json.dumps(value, ensure_ascii=False).encode()
    except UnicodeEncodeError:  # a lone surrogate: valid JSON only as an escape, "\ud800"
        body = json.dumps(value).encode()
    return _Response(status, body, [("Content-Type", "application/json")])


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # the default 5 drops SYNs under a burst of parallel clients

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler],
                 fake: FakeReadwise) -> None:
        self.fake = fake
        super().__init__(address, handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Quiet: a client that went away mid-answer is normal here (timeouts, resets); anything
        # else is a bug in this server, kept for the tests to see rather than printed.
        error = sys.exc_info()[1]
        if error is not None and not isinstance(error, OSError):
            with self.fake._lock:
                self.fake._errors.append(error)


class _Handler(BaseHTTPRequestHandler):
    """Hands every request to the FakeReadwise; one request per connection (HTTP/1.0)."""

    server: _HTTPServer
    protocol_version = "HTTP/1.0"
    server_version = "FakeReadwise/1.0"
    sys_version = ""

    def setup(self) -> None:
        super().setup()
        with self.server.fake._lock:
            self.server.fake._connections.add(self.connection)

    def finish(self) -> None:
        with self.server.fake._lock:
            self.server.fake._connections.discard(self.connection)
        with contextlib.suppress(OSError):
            super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: no line on stderr per request (and so never the path with a token)."""

    def date_time_string(self, timestamp: float | None = None) -> str:
        """The `Date` header: the server's own clock (`FakeReadwise.clock`), as Readwise's
        answers carry Readwise's time (not the time of the machine running the tests)."""
        if timestamp is None:
            timestamp = self.server.fake._now().timestamp()
        return super().date_time_string(timestamp)

    def do_GET(self) -> None:
        self.server.fake._handle(self)

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_GET

    def _head(self, response: _Response, length: int) -> None:
        self.send_response(response.status)
        for name, value in response.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(length))
        self.end_headers()

    def send(self, response: _Response) -> None:
        """Write a whole response; a client that has gone away is ignored."""
        try:
            self._head(response, len(response.body))
            if response.body and self.command != "HEAD":
                self.wfile.write(response.body)
        except OSError:
            self.close_connection = True

    def send_truncated(self, response: _Response, *, short_read: bool) -> None:
        """Write the first half of the body; Content-Length claims the whole when short_read."""
        cut = response.body[: len(response.body) // 2]
        try:
            self._head(response, len(response.body) if short_read else len(cut))
            self.wfile.write(cut)
            self.wfile.flush()
            if short_read:
                self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.close_connection = True

    def reset_connection(self) -> None:
        """Close the socket with a TCP reset (SO_LINGER 0), writing nothing."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.wfile.flush()
        self.rfile.close()
        self.wfile.close()  # the makefile references go first, so close() below is real
        self.wfile = io.BytesIO()  # what the base class still flushes after we return
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
        self.connection.close()
