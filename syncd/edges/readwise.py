"""The Readwise API client: token check and the export, fetched one page at a time.

Every request has connect and read timeouts. 429 waits `Retry-After` (capped); 5xx, connection
errors, timeouts and bodies that are not the JSON the API promises are retried with exponential
backoff and jitter, a bounded number of times; 401/403 stop at once. The token is only ever put in
the `Authorization` header: no message, log line or exception of this module contains it.
"""

from __future__ import annotations

import email.utils
import logging
import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests

from syncd import __version__
from syncd.errors import AuthError, SyncdError, UnreachableError

log = logging.getLogger("syncd.readwise")

MAX_RETRY_AFTER = 300.0  # seconds: a longer Retry-After is capped to this
MAX_BACKOFF = 60.0
EXPORT_PATH = "/api/v2/export/"
# A listing's `count` beyond this is taken for a server fault (a library of a million books is
# far beyond any Readwise account), as is one that is not a whole number from 0 up.
MAX_COUNT = 1_000_000
# Books a listing may serve beyond its largest `count` (it grows while it is paged through).
COUNT_SLACK = 100
# Pages in a row with no book and yet a next page: a listing that never ends.
MAX_EMPTY_PAGES = 3
# The same book this many times in one listing: the server is going round in circles.
MAX_SAME_BOOK = 3  # `Listing` counts no further: it keeps the books served once and twice
MAX_REDIRECTS = 5


class ReadwiseError(SyncdError):
    """Readwise answered with something syncd cannot use and retrying will not fix (e.g. 404)."""

    exit_code = 4


@dataclass(frozen=True)
class ExportPage:
    """One page of `GET /api/v2/export/`: the raw book records, parsed later one by one."""

    count: int
    results: list[Any]
    next_cursor: str | None
    # Readwise's clock when it answered (the `Date` header); None when absent or unparseable.
    server_time: datetime | None = None
    raw_count: object = None  # the `count` as the body gave it (None: none given)
    # How the listing changed while it was paged through, once `Listing` saw it (None: it did
    # not, as far as the pages tell).
    changed: str | None = None

    @classmethod
    def of(cls, body: dict[str, Any], date: str | None) -> ExportPage:
        """Given an answer's JSON body (holding a `results` list) and its `Date` header."""
        cursor = body.get("nextPageCursor")
        count = body.get("count")
        return cls(
            count=count if isinstance(count, int) else len(body["results"]),
            results=body["results"],
            next_cursor=str(cursor) if cursor not in (None, "") else None,
            server_time=http_date(date),
            raw_count=count,
        )


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 6  # tries per request for 5xx, timeouts and bad bodies
    rate_limit_waits: int = 10  # 429 answers tolerated per request
    backoff_base: float = 1.0


class Listing:
    """The bounds one paginated listing is held to, page by page: it ends, within a number of
    requests its own `count` bounds, or `check` raises ReadwiseError naming what went wrong.

    A cursor sent twice, a `count` that is no count (negative, not a number, beyond
    `MAX_COUNT`), more books than the largest `count` allows, `MAX_EMPTY_PAGES` empty pages
    in a row that still name a next one, a book served `MAX_SAME_BOOK` times. Shared by the
    client and the in-memory twin.

    A listing that changed while it was paged through (its `count` changed, a book came a
    second time) is no error: the pages from then on say how (`ExportPage.changed`), so that
    the sync keeps its cursor (a book the shifting listing skipped comes next time)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.pages = 0
        self._cursors: set[str] = set()
        self._largest_count = 0
        self._served = 0
        self._empty_in_a_row = 0
        self._first_count: int | None = None
        self._once: set[object] = set()  # the books served so far
        self._twice: set[object] = set()  # ... of which those served twice
        self.changed: str | None = None

    def check(self, page: ExportPage) -> ExportPage:
        """Given the next page of the listing, return it (with `changed` set once the listing
        is seen to have changed). Raise ReadwiseError if the listing broke a bound."""
        raw_count = page.raw_count
        self.pages += 1
        where = f"{self.path} (page {self.pages})"
        if raw_count is not None and (
            not isinstance(raw_count, int)
            or isinstance(raw_count, bool)
            or not 0 <= raw_count <= MAX_COUNT
        ):
            raise ReadwiseError(
                f"Readwise answered an impossible count {_short(raw_count)} for {where}"
            )
        if isinstance(raw_count, int):
            self._largest_count = max(self._largest_count, raw_count)
            if self._first_count is None:
                self._first_count = raw_count
            elif raw_count != self._first_count and self.changed is None:
                self.changed = f"its count went from {self._first_count} to {raw_count}"
        self._served += len(page.results)
        if raw_count is not None and self._served > self._largest_count + COUNT_SLACK:
            raise ReadwiseError(
                f"Readwise served {self._served} books for {where}, more than its count "
                f"({self._largest_count}) allows; stopped"
            )
        for record in page.results:
            key = record.get("user_book_id", record.get("id")) if isinstance(record, dict) else None
            if not isinstance(key, (int, str)) or isinstance(key, bool):
                continue
            if key in self._twice:
                raise ReadwiseError(
                    f"Readwise served book {_short(key)} {MAX_SAME_BOOK} times in one listing "
                    f"of {where}; stopped"
                )
            if key in self._once:
                self._twice.add(key)
                self.changed = self.changed or f"book {_short(key)} came twice"
            self._once.add(key)
        if self.changed is not None:
            page = replace(page, changed=self.changed)
        cursor = page.next_cursor
        if cursor is None:
            return page
        if cursor in self._cursors:
            raise ReadwiseError(
                f"Readwise sent the same next-page cursor twice for {where}; stopped "
                "(its listing goes round in circles)"
            )
        self._cursors.add(cursor)
        self._empty_in_a_row = 0 if page.results else self._empty_in_a_row + 1
        if self._empty_in_a_row >= MAX_EMPTY_PAGES:
            raise ReadwiseError(
                f"Readwise sent {self._empty_in_a_row} empty pages in a row for {where}, each "
                "naming a next one; stopped"
            )
        return page


def _short(value: object) -> str:
    """A value from an answer, as a message shows it: one line, at most 40 characters."""
    text = " ".join(repr(value).split())
    return text if len(text) <= 40 else text[:37] + "..."


class _Retryable(Exception):
    """A failed attempt worth retrying, with the wait the server asked for (if any)."""

    def __init__(self, reason: str, wait: float | None = None) -> None:
        super().__init__(reason)
        self.wait = wait


class ApiClient:
    """Given a base URL and a token, GET from Readwise's APIs with the retries above: the
    plumbing `ReadwiseClient` (v2) and `syncd.edges.reader.ReaderClient` (Reader's v3) share.

    `sleep` and `rand` are injected so that tests never wait; `on_retry(reason, wait)` is told of
    every retry (the daemon logs one line per failed attempt).
    """

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        session: requests.Session | None = None,
        timeout: tuple[float, float] = (10.0, 60.0),
        policy: RetryPolicy = RetryPolicy(),
        sleep: Callable[[float], None] = time.sleep,
        rand: Callable[[], float] = random.random,
        on_retry: Callable[[str, float], None] | None = None,
    ) -> None:
        self._base = base_url.rstrip("/")
        self._session = session or requests.Session()
        self._session.headers.update(
            {"Authorization": f"Token {token}", "User-Agent": f"syncd/{__version__}"}
        )
        self._timeout = timeout
        self._policy = policy
        self.sleep = sleep  # how retries wait; the daemon swaps in one that ends on stop
        self._rand = rand
        self._on_retry = on_retry
        self.requests_made = 0
        self._one_request = threading.Lock()

    def _send_ahead(self, path: str, params: Mapping[str, str]) -> Future[requests.Response]:
        """Send a GET on a thread of its own; the answer (or error) waits in the Future. A
        request left behind (the sync stopped) ends on its own; the program does not wait."""
        sent: Future[requests.Response] = Future()

        def run() -> None:
            try:
                sent.set_result(self._get(path, params))
            except BaseException as error:  # handed over to the caller, raised there
                sent.set_exception(error)

        threading.Thread(target=run, name="syncd-fetch-ahead", daemon=True).start()
        return sent

    def _get(self, path: str, params: Mapping[str, str]) -> requests.Response:
        # One request at a time on the session (a Session is not made for threads): a request
        # sent ahead and then left behind is waited for, not overlapped.
        with self._one_request:
            response = self._session.get(
                self._base + path, params=params, timeout=self._timeout, allow_redirects=False
            )
            for _ in range(MAX_REDIRECTS):
                if not response.is_redirect:
                    return response
                target = urljoin(response.url, response.headers["Location"])
                response.close()
                if not _same_origin(target, self._base):
                    raise ReadwiseError(
                        f"Readwise redirected {path} to another host "
                        f"({_origin(target)}); syncd does not follow it with your token "
                        "(check readwise.base_url)"
                    )
                response = self._session.get(target, timeout=self._timeout, allow_redirects=False)
            raise ReadwiseError(f"Readwise redirected {path} more than {MAX_REDIRECTS} times")

    def _pages(self, path: str, params: dict[str, str]) -> Iterator[ExportPage]:
        """Yield the answers of a paginated list (`count`, `nextPageCursor`, `results`) page by
        page, following `nextPageCursor` until it runs out.

        While the caller works on one page, the next is already being fetched (its bytes, not
        yet parsed): the sync waits for Readwise only as long as Readwise is slower than it."""
        sent = None
        listing = Listing(path)
        while True:
            page = listing.check(self._page(path, params, sent))
            cursor = page.next_cursor
            if cursor:
                params = {**params, "pageCursor": cursor}
                sent = self._send_ahead(path, params)
            yield page
            del page  # the caller is done with it: not kept while the next one is parsed
            if not cursor:
                return

    def _page(
        self, path: str, params: Mapping[str, str], sent: Future[requests.Response] | None = None
    ) -> ExportPage:
        def parse(response: requests.Response) -> ExportPage:
            kind = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
            if kind in ("text/html", "application/xhtml+xml"):
                # A captive portal's or a proxy's page: not Readwise; retrying will not help.
                raise ReadwiseError(
                    f"Readwise answered HTTP {response.status_code} with an HTML page, not "
                    f"JSON, for {path} (a captive portal or a proxy in the way?)"
                )
            body = response.json()
            if not isinstance(body, dict) or not isinstance(body.get("results"), list):
                raise ValueError("no 'results' list")
            return ExportPage.of(body, response.headers.get("Date"))

        return self._request(path, params, parse=parse, sent=sent)

    def _request(
        self,
        path: str,
        params: Mapping[str, str],
        parse: Callable[[requests.Response], Any] | None = None,
        sent: Future[requests.Response] | None = None,
    ) -> Any:
        """GET `path` until it succeeds or retrying is no use; `sent`: the first attempt's
        request, already sent ahead."""
        failures = rate_limited = 0
        while True:
            try:
                attempt, sent = sent, None
                return self._attempt(path, params, parse, attempt)
            except _Retryable as retry:
                if retry.wait is not None:
                    rate_limited += 1
                    if rate_limited > self._policy.rate_limit_waits:
                        raise UnreachableError(
                            f"Readwise kept rate-limiting {path} "
                            f"({rate_limited} times); try again later"
                        ) from None
                    wait = retry.wait
                else:
                    failures += 1
                    if failures >= self._policy.attempts:
                        raise UnreachableError(
                            f"Readwise unreachable: {path} failed {failures} times, last: {retry}"
                        ) from None
                    wait = self._backoff(failures)
                log.warning("%s: %s; retrying in %.1f s", path, retry, wait)
                if self._on_retry:
                    self._on_retry(str(retry), wait)
                self.sleep(wait)

    def _attempt(
        self,
        path: str,
        params: Mapping[str, str],
        parse: Callable[[requests.Response], Any] | None,
        sent: Future[requests.Response] | None,
    ) -> Any:
        self.requests_made += 1
        try:
            response = sent.result() if sent is not None else self._get(path, params)
        except requests.Timeout:
            raise _Retryable("timed out") from None
        except requests.RequestException as error:
            raise _Retryable(f"connection failed ({type(error).__name__})") from None
        status = response.status_code
        if status in (401, 403):
            raise AuthError(
                f"Readwise refused the token (HTTP {status}); "
                "check readwise.token or $READWISE_TOKEN"
            )
        if status == 429:
            raise _Retryable("rate limited (HTTP 429)", wait=retry_after(response.headers))
        if status >= 500:
            raise _Retryable(f"server error (HTTP {status})")
        if status >= 400:
            raise ReadwiseError(f"Readwise answered HTTP {status} for {path}")
        if parse is None:
            return response
        try:
            return parse(response)
        except ReadwiseError:
            raise
        except (ValueError, requests.RequestException) as error:
            # A truncated or invalid body: the content is read lazily, so it fails here.
            raise _Retryable(f"invalid answer body ({type(error).__name__})") from None

    def _backoff(self, failures: int) -> float:
        """Exponential backoff with full jitter between half and the whole of the step."""
        step = min(MAX_BACKOFF, self._policy.backoff_base * 2 ** (failures - 1))
        return step * (0.5 + self._rand() / 2)


class ReadwiseClient(ApiClient):
    """Readwise's v2 API: the token check and the export."""

    def check_token(self) -> None:
        """Return if Readwise accepts the token. Raise AuthError if it refuses it."""
        response = self._request("/api/v2/auth/", {})
        if response.status_code != 204:
            raise ReadwiseError(f"Readwise answered {response.status_code} to the token check")

    def export(
        self, updated_after: datetime | None = None, book_ids: list[int] | None = None
    ) -> Iterator[ExportPage]:
        """Yield the export page by page (see `_pages`)."""
        params: dict[str, str] = {"includeDeleted": "true"}
        if updated_after is not None:
            params["updatedAfter"] = format_cursor(updated_after)
        if book_ids:
            params["ids"] = ",".join(str(i) for i in book_ids)
        yield from self._pages(EXPORT_PATH, params)


def _origin(url: str) -> str:
    """The scheme, host and port of a URL (never a user name or password it holds)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    return f"{parts.scheme}://{host}" + (f":{parts.port}" if parts.port else "")


def _same_origin(url: str, base: str) -> bool:
    try:
        return _origin(url) == _origin(base)
    except ValueError:  # a port that is no number
        return False


def retry_after(headers: Mapping[str, str], *, now: datetime | None = None) -> float:
    """Given response headers, return the seconds `Retry-After` asks for, capped; 60 if absent."""
    value = headers.get("Retry-After", "").strip()
    seconds = 60.0
    if value.isdigit():
        seconds = float(value)
    elif value:
        try:
            when = email.utils.parsedate_to_datetime(value)
            seconds = (when - (now or datetime.now(timezone.utc))).total_seconds()
        except (TypeError, ValueError):
            pass
    return max(0.0, min(seconds, MAX_RETRY_AFTER))


def http_date(value: str | None) -> datetime | None:
    """Parse an HTTP `Date` header (RFC 9110: IMF-fixdate, or the obsolete forms) into an aware
    UTC time; None when it is missing or does not parse."""
    if not value:
        return None
    try:
        moment = email.utils.parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if moment.tzinfo is None:  # "-0000": a time given in UTC without saying where it came from
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def format_cursor(moment: datetime) -> str:
    """Return a UTC ISO 8601 time with an explicit `Z`, as the cursor is saved and sent."""
    utc = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return utc.isoformat(timespec="microseconds") + "Z"


def parse_cursor(text: str) -> datetime:
    """Inverse of `format_cursor`; raise ValueError on anything else."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(timezone.utc)
