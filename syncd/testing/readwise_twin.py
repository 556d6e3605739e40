"""An in-memory twin of the Readwise client: the same calls, answered from a `Library`, no HTTP.

`ReadwiseTwin` stands in for `syncd.edges.readwise.ReadwiseClient` wherever a sync needs one
(`make_syncer(..., client=twin)`): `check_token()`, `export(updated_after, book_ids)` yielding
`ExportPage`s, `requests_made`, and a `sleep` the daemon may swap. A listing is held to the
bounds the client holds it to (`syncd.edges.listing.Listing`). It asks the library exactly
what the client asks the loopback server (the same query parameters), reads the same JSON body,
and stamps each page with the time the server's `Date` header would carry (the library's clock,
to the second). tests/contract/test_readwise_contract.py holds both to the same results.

What it does not do is everything HTTP: no retries, no faults, no timeouts, no token on a wire.
Tests of those use `syncd.testing.fakereadwise.FakeReadwise` and the real client.
"""

from __future__ import annotations

import email.utils
import json
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from syncd.edges.listing import Listing, ReadwiseError, export_page
from syncd.edges.reader import LIST_PATH
from syncd.edges.readwise import EXPORT_PATH, format_cursor
from syncd.errors import AuthError
from syncd.ports import ExportPage
from syncd.testing.export import BadQuery
from syncd.testing.library import Library

__all__ = ["ReaderTwin", "ReadwiseTwin"]


class ReadwiseTwin:
    """Given a library, answer as `ReadwiseClient` answers when talking to a server over it.

    `token_accepted`: False makes every call fail as a refused token does (AuthError).
    """

    def __init__(self, library: Library, *, token_accepted: bool = True) -> None:
        self.library = library
        self.token_accepted = token_accepted
        self.requests_made = 0
        self.sleep: Callable[[float], None] = _never_waits  # the client's retry wait; unused

    def check_token(self) -> None:
        """Return if the token is accepted. Raise AuthError if it is refused."""
        self.requests_made += 1
        self.library.now()  # the server reads its clock for the answer's Date, as here
        self._refuse_unless_accepted()

    def export(
        self, updated_after: datetime | None = None, book_ids: list[int] | None = None
    ) -> Iterator[ExportPage]:
        """Yield the export page by page, following `nextPageCursor` until it runs out.

        As the client does, the next page is asked for before the current one is handed over.
        """
        params: dict[str, str] = {"includeDeleted": "true"}
        if updated_after is not None:
            params["updatedAfter"] = format_cursor(updated_after)
        if book_ids:
            params["ids"] = ",".join(str(i) for i in book_ids)
        ahead = None
        listing = Listing(EXPORT_PATH)
        while True:
            self.requests_made += 1
            page = listing.check(ahead if ahead is not None else self._export_page(params))
            ahead = None
            cursor = page.next_cursor
            if cursor:
                params = {**params, "pageCursor": cursor}
                ahead = self._export_page(params)
            yield page
            del page
            if not cursor:
                return

    def _export_page(self, params: dict[str, str]) -> ExportPage:
        self._refuse_unless_accepted()
        try:
            body: Any = json.loads(self.library.export_body(params))
        except BadQuery:
            raise ReadwiseError(f"Readwise answered HTTP 400 for {EXPORT_PATH}") from None
        return _page(body, self.library)

    def _refuse_unless_accepted(self) -> None:
        if not self.token_accepted:
            raise AuthError(
                "Readwise refused the token (HTTP 401); check readwise.token or $READWISE_TOKEN"
            )


class ReaderTwin:
    """Given a library, answer as `syncd.edges.reader.ReaderClient` answers when talking to a
    server over it (Reader's list, `library.reader`); no HTTP, no rate limit."""

    def __init__(self, library: Library) -> None:
        self.library = library
        self.requests_made = 0
        self.sleep: Callable[[float], None] = _never_waits

    def documents(
        self, updated_after: datetime | None = None, document_id: str | None = None
    ) -> Iterator[ExportPage]:
        """Yield Reader's documents page by page, as the client does."""
        params: dict[str, str] = {"withHtmlContent": "true"}
        if updated_after is not None:
            params["updatedAfter"] = format_cursor(updated_after)
        if document_id is not None:
            params["id"] = document_id
        listing = Listing(LIST_PATH)
        while True:
            self.requests_made += 1
            try:
                body: Any = json.loads(self.library.reader.list_body(params))
            except BadQuery:
                raise ReadwiseError(f"Readwise answered HTTP 400 for {LIST_PATH}") from None
            page = listing.check(_page(body, self.library))
            yield page
            if not page.next_cursor:
                return
            params = {**params, "pageCursor": page.next_cursor}


def _page(body: Any, library: Library) -> ExportPage:
    """One page of an answer, stamped with the time the server's `Date` header would carry."""
    return export_page(body, email.utils.formatdate(library.now().timestamp(), usegmt=True))


def _never_waits(seconds: float) -> None:
    """The twin never retries, so nothing ever waits."""
