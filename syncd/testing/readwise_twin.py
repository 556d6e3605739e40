"""An in-memory twin of the Readwise client: the same calls, answered from a `Library`, no HTTP.

`ReadwiseTwin` stands in for `syncd.edges.readwise.ReadwiseClient` wherever a sync needs one
(`make_syncer(..., client=twin)`): `check_token()`, `export(updated_after, book_ids)` yielding
`ExportPage`s, `requests_made`, and a `sleep` the daemon may swap. A listing is held to the
bounds the client holds it to (`syncd.edges.listing.Listing`). It asks the library exactly
what the client asks the loopback server (the same query parameters), reads the same JSON body,
and stamps each page with the time the server's `Date` header would carry (the library's clock,
to the second). tests/contract/test_readwise_contract.py holds both to the same results.

It is also a `syncd.ports.HighlightWriter`: `update_highlight`, `highlight_tags`, `add_tag`
and `remove_tag` ask `syncd.testing.highlight_writes` what the loopback server would answer
(the same request path, query and JSON body the client sends) and read the answer with the
client's own rules (`write_error`, `changed_at`), so they change the library and fail exactly
as the client over the server does. `read_only = True`: a token that may read but not write.

What it does not do is everything HTTP: no retries, no faults, no timeouts, no token on a wire,
no rate limit. Tests of those use `syncd.testing.fakereadwise.FakeReadwise` and the real client.
"""

from __future__ import annotations

import email.utils
import json
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from syncd.edges.listing import Listing, ReadwiseError, export_page
from syncd.edges.reader import LIST_PATH
from syncd.edges.readwise import (
    EXPORT_PATH,
    HIGHLIGHTS_PATH,
    HighlightGone,
    ReadwiseClient,
    WriteRefused,
    changed_at,
    format_cursor,
    write_error,
)
from syncd.errors import AuthError
from syncd.ports import ExportPage, Tag
from syncd.testing.export import BadQuery
from syncd.testing.highlight_writes import Answer, answer_write
from syncd.testing.library import Library

__all__ = ["ReaderTwin", "ReadwiseTwin"]


class ReadwiseTwin:
    """Given a library, answer as `ReadwiseClient` answers when talking to a server over it.

    `token_accepted`: False makes every call fail as a refused token does (AuthError; a write:
    WriteRefused). `read_only`: the token may read but not write (WriteRefused on a write).
    """

    tags_page_size = ReadwiseClient.tags_page_size

    def __init__(
        self, library: Library, *, token_accepted: bool = True, read_only: bool = False
    ) -> None:
        self.library = library
        self.token_accepted = token_accepted
        self.read_only = read_only
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

    # the write endpoints (`syncd.ports.HighlightWriter`) ---------------------------------------

    def update_highlight(
        self, highlight_id: int, *, text: str | None = None, note: str | None = None
    ) -> datetime | None:
        """PATCH the fields given, as the client does; return the server's time of the change."""
        fields = {
            name: value for name, value in (("text", text), ("note", note)) if value is not None
        }
        if not fields:
            raise ValueError("update_highlight needs a text or a note")
        answer = self._write("PATCH", f"{HIGHLIGHTS_PATH}{highlight_id}/", highlight_id, fields)
        return changed_at(
            answer.body, email.utils.formatdate(self.library.now().timestamp(), usegmt=True)
        )

    def highlight_tags(self, highlight_id: int) -> list[Tag]:
        """The highlight's tags, every page of the list, as the client asks for them."""
        tags: list[Tag] = []
        page = 1
        while True:
            query = {"page": str(page), "page_size": str(self.tags_page_size)}
            body = self._write(
                "GET", f"{HIGHLIGHTS_PATH}{highlight_id}/tags/", highlight_id, None, query
            ).body
            tags.extend(Tag(value["id"], value["name"]) for value in body["results"])
            if not body["next"] or not body["results"]:
                return tags
            page += 1

    def add_tag(self, highlight_id: int, name: str) -> Tag:
        """Add a tag by name, as the client does; return it as the library holds it."""
        body = self._write(
            "POST", f"{HIGHLIGHTS_PATH}{highlight_id}/tags/", highlight_id, {"name": name}
        ).body
        return Tag(body["id"], body["name"])

    def remove_tag(self, highlight_id: int, tag_id: int) -> None:
        """Remove a tag by id, as the client does (a tag already gone: nothing to do)."""
        path = f"{HIGHLIGHTS_PATH}{highlight_id}/tags/{tag_id}/"
        try:
            self._write("DELETE", path, highlight_id, None)
        except HighlightGone:
            self.highlight_tags(highlight_id)  # raises HighlightGone if the highlight is

    def _write(
        self,
        method: str,
        path: str,
        highlight_id: int,
        fields: object,
        query: dict[str, str] | None = None,
    ) -> Answer:
        """Send one request to the write endpoints as the client would; return the answer or
        raise the error the client raises for it."""
        self.requests_made += 1
        if not self.token_accepted:
            raise WriteRefused(401)
        body = b"" if fields is None else json.dumps(fields).encode("utf-8")
        answer = answer_write(
            self.library, method, path, query or {}, body, read_only=self.read_only
        )
        self._check(answer, highlight_id)
        return answer

    @staticmethod
    def _check(answer: Answer, highlight_id: int) -> None:
        error = write_error(answer.status, answer.body, highlight_id)
        if error is not None:
            raise error
        if answer.status >= 300:  # pragma: no cover - the library answers nothing else
            raise ReadwiseError(f"Readwise answered HTTP {answer.status}")

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
