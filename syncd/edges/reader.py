"""Readwise Reader's API (v3): the documents changed since a moment, or one document, with
their HTML (`GET /api/v3/list/?withHtmlContent=true`), one page of documents at a time.

The same requests as the export's (`syncd.edges.readwise.ApiClient`): timeouts, 429 waits
`Retry-After` (Reader allows 20 requests a minute), 5xx, connection errors and bodies that are
not the JSON promised are retried with backoff, 401/403 stop at once; the token is only in the
`Authorization` header.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from syncd.edges.readwise import ApiClient, ExportPage, format_cursor

LIST_PATH = "/api/v3/list/"


class ReaderClient(ApiClient):
    """Given a base URL and a token, list Reader's documents (see the module doc)."""

    def documents(
        self, updated_after: datetime | None = None, document_id: str | None = None
    ) -> Iterator[ExportPage]:
        """Yield Reader's documents (highlights and notes among them: they have a
        `parent_id`) page by page, with their HTML: those changed after `updated_after`, or the
        one `document_id` (none when Reader has no such document)."""
        params: dict[str, str] = {"withHtmlContent": "true"}
        if updated_after is not None:
            params["updatedAfter"] = format_cursor(updated_after)
        if document_id is not None:
            params["id"] = document_id
        yield from self._pages(LIST_PATH, params)
