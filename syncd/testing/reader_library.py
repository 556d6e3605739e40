"""An in-memory Readwise Reader library: documents, and Reader's list over them (API v3).

`ReaderLibrary.list_body` answers `GET /api/v3/list/` as the JSON body Reader sends: `count`,
`nextPageCursor` and one page of `results` (100 a page, as Reader). Parameters: `updatedAfter`
(documents changed after it), `id` (that one document), `withHtmlContent` (`html_content` is
in each result only when `true`), `category`, `location`, `pageCursor`. Documents are listed in
the order they last changed (then by id); the page cursor names the last one served. Highlights
and notes are documents too, with a `parent_id` (`add_document(parent_id=...)`).

`RateLimit` is Reader's 20 requests a minute, on a clock the tests move (no test sleeps): the
loopback server answers the request over the limit with 429 and `Retry-After`.

Thread-safe: one lock around every change and every answer.
"""

from __future__ import annotations

import base64
import binascii
import copy
import json
import math
import threading
from collections import deque
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from syncd.testing.export import BadQuery, json_body, updated_after
from syncd.testing.export_shapes import format_time, parse_time

__all__ = ["RateLimit", "ReaderLibrary"]

DOCUMENT_FIELDS = (
    "id",
    "url",
    "source_url",
    "title",
    "author",
    "source",
    "category",
    "location",
    "tags",
    "site_name",
    "word_count",
    "created_at",
    "updated_at",
    "published_date",
    "summary",
    "image_url",
    "content",
    "parent_id",
    "reading_progress",
    "notes",
    "html_content",
)


class ReaderLibrary:
    """The documents a Reader account holds; see the module doc. `clock`: now (a datetime)."""

    def __init__(self, clock: Callable[[], datetime], *, page_size: int = 100) -> None:
        self.clock = clock
        self.page_size = page_size
        self.lock = threading.RLock()
        self._documents: dict[str, dict[str, Any]] = {}
        self._next = 1

    def __len__(self) -> int:
        return len(self._documents)

    def add_document(self, **fields: Any) -> dict[str, Any]:
        """Store a document; return a copy of its record. Missing fields get Reader-like
        defaults (`id`: a new one; `updated_at`, `created_at`: now; `category`: article)."""
        with self.lock:
            document_id = str(fields.get("id") or f"01reader{self._next:018d}")
            self._next += 1
            now = format_time(self.clock())
            record: dict[str, Any] = {
                "id": document_id,
                "url": f"https://read.readwise.io/read/{document_id}",
                "source_url": None,
                "title": "Untitled",
                "author": "",
                "source": "Reader RSS",
                "category": "article",
                "location": "new",
                "tags": {},
                "site_name": "",
                "word_count": 0,
                "created_at": now,
                "updated_at": now,
                "published_date": None,
                "summary": "",
                "image_url": "",
                "content": None,
                "parent_id": None,
                "reading_progress": 0,
                "notes": "",
                "html_content": "",
            }
            record.update(copy.deepcopy(fields))
            record["id"] = document_id
            self._documents[document_id] = record
            return copy.deepcopy(record)

    def update_document(self, document_id: str, /, **fields: Any) -> dict[str, Any]:
        """Change a document's fields; it counts as changed now (or at `updated_at`)."""
        with self.lock:
            record = self._documents[document_id]
            record.update(copy.deepcopy(fields))
            record["updated_at"] = fields.get("updated_at") or format_time(self.clock())
            return copy.deepcopy(record)

    def put_record(self, raw: Mapping[str, Any], key: str) -> None:
        """Store a record as it is under `key` (it may break the schema)."""
        with self.lock:
            self._documents[key] = copy.deepcopy(dict(raw))

    def list_body(self, params: Mapping[str, str]) -> bytes:
        """Given a list request's query parameters, return the JSON body of the answer. Raise
        BadQuery for a parameter that cannot be read."""
        after = updated_after(params)
        last = _decode(params["pageCursor"]) if params.get("pageCursor") else None
        html = params.get("withHtmlContent", "").lower() == "true"
        with self.lock:
            keys = sorted(
                _key(record, key)
                for key, record in self._documents.items()
                if _matches(record, key, params, after)
            )
            start = sum(1 for k in keys if last is not None and k <= last)
            page = keys[start : start + self.page_size]
            more = start + len(page) < len(keys)
            results = [_served(self._documents[key], html) for _, key in page]
            return json_body(
                {
                    "count": len(keys),
                    "nextPageCursor": _encode(page[-1]) if more and page else None,
                    "results": results,
                }
            )


class RateLimit:
    """At most `limit` requests in any `window` seconds of `clock` (Reader: 20 a minute)."""

    def __init__(self, clock: Callable[[], float], limit: int = 20, window: float = 60.0) -> None:
        self.clock = clock
        self.limit = limit
        self.window = window
        self._times: deque[float] = deque()
        self._lock = threading.Lock()
        self.refused = 0

    def admit(self) -> float | None:
        """Count a request; return None if it is within the limit, else the seconds to wait."""
        with self._lock:
            now = self.clock()
            while self._times and self._times[0] <= now - self.window:
                self._times.popleft()
            if len(self._times) >= self.limit:
                self.refused += 1
                return max(1.0, math.ceil(self._times[0] + self.window - now))
            self._times.append(now)
            return None


def _key(record: Mapping[str, Any], key: str) -> tuple[str, str]:
    updated = record.get("updated_at")
    return (updated if isinstance(updated, str) else "", key)


def _matches(
    record: Mapping[str, Any], key: str, params: Mapping[str, str], after: datetime | None
) -> bool:
    if params.get("id") and params["id"] != key:
        return False
    for name in ("category", "location"):
        if params.get(name) and record.get(name) != params[name]:
            return False
    if after is None:
        return True
    try:
        return parse_time(str(record.get("updated_at"))) > after
    except ValueError:
        return True


def _served(record: Mapping[str, Any], html: bool) -> dict[str, Any]:
    served = {name: record[name] for name in DOCUMENT_FIELDS if name in record}
    served.update((k, v) for k, v in record.items() if k not in served)
    if not html:
        served.pop("html_content", None)
    return copy.deepcopy(served)


def _encode(key: tuple[str, str]) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(key)).encode()).decode()


def _decode(cursor: str) -> tuple[str, str]:
    try:
        value = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        updated, key = value
        return (str(updated), str(key))
    except (ValueError, TypeError, binascii.Error):
        raise BadQuery("pageCursor is not a cursor this server gave") from None
