"""A Readwise-compatible HTTP server on 127.0.0.1, for `syncd demo`, the tests and the benchmarks.

`FakeReadwise` serves the endpoints syncd uses, `GET /api/v2/auth/`, `GET /api/v2/export/` and
Reader's `GET /api/v3/list/` (over 20 requests a minute: 429 and `Retry-After`), from an
in-memory `syncd.testing.library.Library` (its own, or one given), with the records shaped
exactly as Readwise's export shapes them; and the write endpoints of two-way sync,
`PATCH /api/v2/highlights/<id>/`, `GET`/`POST /api/v2/highlights/<id>/tags/` and
`DELETE /api/v2/highlights/<id>/tags/<tag id>/`, as `syncd.testing.highlight_writes` answers
them (validation, 404 for a deleted highlight, inline `.tags`, `updated_at` moved to the
server's clock). `read_only = True` makes the token one Readwise accepts for reading but
refuses for writing (403 on every write). A write's recorded request keeps its JSON body, so a
test can assert that no write was sent (`writes`). Tests change the library while
the server runs (`add_book`, `add_highlight`, `update_highlight`, `delete_highlight`,
`put_record`), look at what was asked (`requests`), and make chosen requests fail (`inject` with
a `syncd.testing.faults.Fault`)::

    with FakeReadwise(token="secret", page_size=2) as server:
        server.add_book(title="Walden", highlights=[{"text": "Simplify, simplify."}])
        server.inject("export", Fault.status(503), times=2)
        ...  # point a client at server.url

This module is the HTTP side: lifecycle, the token, recording requests, applying faults, the
`Date` header (the library's clock). What the export answers is the library's
(`syncd.testing.export`). One request per connection (HTTP/1.0), so a fault never leaves a broken
connection in a client's pool. Bad parameters get 400, unknown paths 404, both with a JSON
`detail`.

The standard library only. The token is never printed, logged or recorded; the server writes
nothing on stderr.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from syncd.testing.export import BadQuery, json_body
from syncd.testing.faults import Fault, FaultRule, answer_instead, path_matches, pick, rewrite
from syncd.testing.highlight_writes import Answer, answer_write, is_write_path
from syncd.testing.library import Library, utc_now
from syncd.testing.reader_library import RateLimit
from syncd.testing.wire import Handler, LoopbackServer, Response

__all__ = ["ENDPOINTS", "FakeReadwise", "RecordedRequest"]

#: Short names for the endpoints, usable wherever a path is asked for.
ENDPOINTS: dict[str, str] = {
    "auth": "/api/v2/auth/",
    "export": "/api/v2/export/",
    "reader": "/api/v3/list/",
    "highlights": "/api/v2/highlights/*",  # every write endpoint (and a highlight's tag list)
}

#: The methods that change something in Readwise.
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass
class RecordedRequest:
    """One request as the server saw it, without the token.

    `query` keeps the last value of each parameter; `headers` leaves out `Authorization`;
    `fault` is the kind of fault that answered it, if any; `status` is the status sent
    (None when no response was sent); `body` is the request's body, parsed as JSON when it is
    JSON (else the text), None when it had none.
    """

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    fault: str | None = None
    status: int | None = None
    body: Any = None

    @property
    def is_write(self) -> bool:
        """Whether the request asked to change something (POST, PUT, PATCH or DELETE)."""
        return self.method in WRITE_METHODS


class FakeReadwise:
    """A Readwise export API on 127.0.0.1 serving an in-memory library; see the module doc.

    `token`: the one accepted token (default: a random one, readable as `.token`).
    `page_size`: books per export page (Readwise: 1000).
    `clock`: the server's notion of now, used for `updated_at` defaults and the `Date` header.
    `books`: records to load at once, as `add_book` takes them.
    `library`: serve this library (its page size and clock) instead of a new one; `page_size`
    and `clock` are then not to be given.
    `reader_clock`: seconds, for Reader's limit of 20 requests a minute (`reader_limit`); a
    test moves it (the client's `sleep` can) instead of waiting.
    `read_only`: the token may read but not write (403 on every write; settable later).
    """

    def __init__(
        self,
        token: str | None = None,
        *,
        page_size: int = 1000,
        clock: Callable[[], datetime] = utc_now,
        books: Iterable[Mapping[str, Any]] = (),
        library: Library | None = None,
        reader_clock: Callable[[], float] = time.monotonic,
        host: str = "127.0.0.1",
        read_only: bool = False,
    ) -> None:
        self._host = host
        self.read_only = read_only  # the token may read but not write: 403 on every write
        self._token = token if token is not None else secrets.token_urlsafe(24)
        if library is None:
            library = Library(page_size=page_size, clock=clock)
        self.library = library
        self.reader_limit = RateLimit(reader_clock)
        self._lock = threading.RLock()
        self._rules: list[FaultRule] = []
        self._requests: list[RecordedRequest] = []
        self._errors: list[BaseException] = []
        self._connections: set[socket.socket] = set()
        self._stopping = threading.Event()
        self._httpd: LoopbackServer | None = None
        self._thread: threading.Thread | None = None
        self.load(books)

    # lifecycle -------------------------------------------------------------------------------

    def start(self) -> FakeReadwise:
        """Bind a free port on 127.0.0.1 and serve in a background thread; return self."""
        if self._httpd is not None:
            return self
        self._stopping.clear()
        self._httpd = LoopbackServer((self._host, 0), self)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.01},
            name="fakereadwise",
            daemon=True,
        )
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
        """The base URL, `http://127.0.0.1:PORT` (or `host`, as 127.0.0.2); only while started."""
        if self._httpd is None:
            raise RuntimeError("FakeReadwise is not started")
        return f"http://{self._host}:{self._httpd.server_address[1]}"

    @property
    def token(self) -> str:
        """The accepted token (for the caller's own client; never shown by the server)."""
        return self._token

    def __repr__(self) -> str:
        where = self.url if self._httpd is not None else "stopped"
        return f"<FakeReadwise {where}, {len(self.library)} books>"

    # the library (see `Library` for each) ----------------------------------------------------

    @property
    def page_size(self) -> int:
        """Books per export page (the library's)."""
        return self.library.page_size

    @page_size.setter
    def page_size(self, value: int) -> None:
        self.library.page_size = value

    @property
    def clock(self) -> Callable[[], datetime]:
        """The server's notion of now (the library's clock): `updated_at` defaults, `Date`."""
        return self.library.clock

    @clock.setter
    def clock(self, value: Callable[[], datetime]) -> None:
        self.library.clock = value

    def load(self, books: Iterable[Mapping[str, Any]]) -> None:
        """Add every record of `books` as `add_book` does."""
        self.library.load(books)

    def add_book(self, **fields: Any) -> dict[str, Any]:
        """Store a book; return a copy of the stored export record (`Library.add_book`)."""
        return self.library.add_book(**fields)

    def update_book(
        self, book_id: int, /, *, updated_at: str | datetime | None = None, **fields: Any
    ) -> dict[str, Any]:
        """Change a book's metadata fields (`Library.update_book`)."""
        return self.library.update_book(book_id, updated_at=updated_at, **fields)

    def delete_book(self, book_id: int) -> None:
        """Mark a book deleted (`Library.delete_book`)."""
        self.library.delete_book(book_id)

    def add_highlight(self, book_id: int, /, **fields: Any) -> dict[str, Any]:
        """Store a highlight in book `book_id` (`Library.add_highlight`)."""
        return self.library.add_highlight(book_id, **fields)

    def update_highlight(self, highlight_id: int, /, **fields: Any) -> dict[str, Any]:
        """Change fields of a highlight (`Library.update_highlight`)."""
        return self.library.update_highlight(highlight_id, **fields)

    def delete_highlight(
        self, highlight_id: int, *, updated_at: str | datetime | None = None
    ) -> dict[str, Any]:
        """Mark a highlight deleted (`Library.delete_highlight`)."""
        return self.library.delete_highlight(highlight_id, updated_at=updated_at)

    def put_record(self, raw: Mapping[str, Any]) -> None:
        """Store a record to be served as it is (`Library.put_record`)."""
        self.library.put_record(raw)

    def book(self, book_id: int) -> dict[str, Any]:
        """Return a copy of the stored record of book `book_id` (all its highlights)."""
        return self.library.book(book_id)

    @property
    def books(self) -> list[dict[str, Any]]:
        """Copies of every stored record, by id."""
        return self.library.books

    # faults and records ----------------------------------------------------------------------

    def inject(
        self, endpoint: str, fault: Fault, *, times: int | None = 1, after: int = 0
    ) -> FaultRule:
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
        return [r for r in self.requests if path_matches(path, r.path)]

    @property
    def writes(self) -> list[RecordedRequest]:
        """The recorded requests that asked to change something (see `is_write`)."""
        return [r for r in self.requests if r.is_write]

    def clear_requests(self) -> None:
        """Forget the recorded requests."""
        with self._lock:
            self._requests.clear()

    @property
    def errors(self) -> list[BaseException]:
        """Unexpected exceptions raised while handling requests (answered with 500)."""
        with self._lock:
            return list(self._errors)

    # answering (the `syncd.testing.wire.Owner` of the server) --------------------------------

    def now(self) -> datetime:
        """The server's time, for the `Date` header."""
        return self.library.now()

    def opened(self, connection: socket.socket) -> None:
        """Keep an accepted connection, to drop it on `stop`."""
        with self._lock:
            self._connections.add(connection)

    def closed(self, connection: socket.socket) -> None:
        """Forget a finished connection."""
        with self._lock:
            self._connections.discard(connection)

    def server_error(self, error: BaseException) -> None:
        """Keep an unexpected error of the HTTP side for the tests (`errors`)."""
        with self._lock:
            self._errors.append(error)

    def _authorized(self, handler: Handler) -> Response | None:
        """Return a 401 response unless the request carries the token."""
        given = handler.headers.get("Authorization")
        if given is None:
            return _json_response(401, {"detail": "Authentication credentials were not provided."})
        if not hmac.compare_digest(given.encode(), f"Token {self._token}".encode()):
            return _json_response(401, {"detail": "Invalid token."})
        return None

    def _answer(
        self, handler: Handler, path: str, query: Mapping[str, str], body: bytes = b""
    ) -> Response:
        """Return the normal answer to a request."""
        if is_write_path(path):
            refused = self._authorized(handler)
            if refused is not None:
                return refused
            answer = answer_write(
                self.library, handler.command, path, query, body, read_only=self.read_only
            )
            return _write_response(answer)
        if path not in ENDPOINTS.values():
            return _json_response(404, {"detail": "Not found."})
        if handler.command != "GET":
            return _json_response(405, {"detail": f'Method "{handler.command}" not allowed.'})
        refused = self._authorized(handler)
        if refused is not None:
            return refused
        if path == ENDPOINTS["auth"]:
            return Response(204)
        if path == ENDPOINTS["reader"] and (wait := self.reader_limit.admit()) is not None:
            detail = {"detail": f"Request was throttled. Expected in {wait:.0f} s."}
            return _json_response(429, detail, ("Retry-After", f"{wait:.0f}"))
        try:
            reader = path == ENDPOINTS["reader"]
            body = (self.library.reader.list_body if reader else self.library.export_body)(query)
        except BadQuery as problem:
            return _json_response(400, {"detail": str(problem)})
        return Response(200, body, [("Content-Type", "application/json")])

    def _redact(self, text: str) -> str:
        return text.replace(self._token, "***") if self._token else text

    def _record(self, handler: Handler) -> tuple[RecordedRequest, str, dict[str, str], bytes]:
        parts = urlsplit(handler.path)
        path = parts.path if parts.path.endswith("/") else parts.path + "/"
        query = {
            name: values[-1]
            for name, values in parse_qs(parts.query, keep_blank_values=True).items()
        }
        recorded = RecordedRequest(
            method=handler.command,
            path=self._redact(path),
            query={self._redact(k): self._redact(v) for k, v in query.items()},
            headers={
                name: self._redact(value)
                for name, value in handler.headers.items()
                if name.lower() != "authorization"
            },
        )
        body = _read_body(handler)
        if body:
            text = self._redact(body.decode("utf-8", "replace"))
            try:
                recorded.body = json.loads(text)
            except ValueError:
                recorded.body = text
        return recorded, path, query, body

    def handle(self, handler: Handler) -> None:
        """Answer one request: record it, apply a fault if one is due, else answer normally."""
        recorded, path, query, body = self._record(handler)
        with self._lock:
            self._requests.append(recorded)
            fault = pick(self._rules, path)
        recorded.fault = fault.kind if fault else None
        try:
            if fault is not None and fault.kind == "reset":
                handler.reset_connection()
                return
            if fault is not None and (instead := answer_instead(fault, handler.path)):
                response = instead
            elif fault is not None and fault.kind == "rewrite":
                response = self._answer(handler, path, fault.query_for(query))
                if response.status == 200:
                    response = Response(200, rewrite(response.body, fault, query), response.headers)
            else:
                if fault is not None and fault.kind == "hang" and not fault.hold(self._stopping):
                    handler.close_connection = True
                    return  # stopping: leave without an answer
                response = self._answer(handler, path, query, body)
        except Exception as error:  # a bug in this server: answer 500 and keep it for tests
            with self._lock:
                self._errors.append(error)
            response = _json_response(500, {"detail": "fake server error"})
        recorded.status = response.status
        if fault is not None and fault.kind == "truncated":
            handler.send_truncated(response, short_read=fault.short_read)
        else:
            handler.send(response)


def _endpoint_path(endpoint: str) -> str:
    """A path to match requests by: a name of ENDPOINTS, "*", a path, or a path prefix ending
    in "*" ("/api/v2/highlights/12/*": that highlight's endpoints)."""
    path = ENDPOINTS.get(endpoint, endpoint)
    return path if path.endswith(("/", "*")) else path + "/"


def _read_body(handler: Handler) -> bytes:
    """The request's body (as much as `Content-Length` says; none without it)."""
    try:
        length = int(handler.headers.get("Content-Length") or 0)
    except ValueError:
        return b""
    return handler.rfile.read(length) if length > 0 else b""


def _write_response(answer: Answer) -> Response:
    if answer.body is None:
        return Response(answer.status)
    return _json_response(answer.status, answer.body)


def _json_response(status: int, value: object, *headers: tuple[str, str]) -> Response:
    return Response(status, json_body(value), [("Content-Type", "application/json"), *headers])
