"""The socket side of the loopback Readwise: an HTTP/1.0 server and its request handler.

`LoopbackServer` serves on a thread per connection and hands every request to its `Owner`
(`syncd.testing.fakereadwise.FakeReadwise`), which decides the answer; `Handler` writes it
whole, cut short (`send_truncated`) or not at all (`reset_connection`), and dates it with the
owner's clock. Quiet: nothing on stderr, so never a path or header with a token.
"""

from __future__ import annotations

import contextlib
import io
import socket
import struct
import sys
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol

__all__ = ["Handler", "LoopbackServer", "Owner", "Response"]


@dataclass
class Response:
    """An answer to send: status, body and headers (Content-Length is added)."""

    status: int
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)


class Owner(Protocol):
    """What the server asks of the object that answers its requests."""

    def handle(self, handler: Handler) -> None:
        """Answer the request `handler` holds, through its `send*` methods."""

    def now(self) -> datetime:
        """The time the `Date` header carries."""

    def opened(self, connection: socket.socket) -> None:
        """A connection was accepted (to be dropped if the server stops)."""

    def closed(self, connection: socket.socket) -> None:
        """A connection is done."""

    def server_error(self, error: BaseException) -> None:
        """A handler failed with something other than a client going away."""


class LoopbackServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # the default 5 drops SYNs under a burst of parallel clients

    def __init__(self, address: tuple[str, int], owner: Owner) -> None:
        self.owner = owner
        super().__init__(address, Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Quiet: a client that went away mid-answer is normal here (timeouts, resets); anything
        # else is a bug in this server, kept for the tests to see rather than printed.
        error = sys.exc_info()[1]
        if error is not None and not isinstance(error, OSError):
            self.owner.server_error(error)


class Handler(BaseHTTPRequestHandler):
    """Hands every request to the owner; one request per connection (HTTP/1.0)."""

    server: LoopbackServer
    protocol_version = "HTTP/1.0"
    server_version = "FakeReadwise/1.0"
    sys_version = ""

    def setup(self) -> None:
        super().setup()
        self.server.owner.opened(self.connection)

    def finish(self) -> None:
        self.server.owner.closed(self.connection)
        with contextlib.suppress(OSError):
            super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: no line on stderr per request (and so never the path with a token)."""

    def date_time_string(self, timestamp: float | None = None) -> str:
        """The `Date` header: the owner's clock (`FakeReadwise.clock`), as Readwise's
        answers carry Readwise's time (not the time of the machine running the tests)."""
        if timestamp is None:
            timestamp = self.server.owner.now().timestamp()
        return super().date_time_string(timestamp)

    def do_GET(self) -> None:
        self.server.owner.handle(self)

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_GET

    def _head(self, response: Response, length: int) -> None:
        self.send_response(response.status)
        for name, value in response.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(length))
        self.end_headers()

    def send(self, response: Response) -> None:
        """Write a whole response; a client that has gone away is ignored."""
        try:
            self._head(response, len(response.body))
            if response.body and self.command != "HEAD":
                self.wfile.write(response.body)
        except OSError:
            self.close_connection = True

    def send_truncated(self, response: Response, *, short_read: bool) -> None:
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
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()
