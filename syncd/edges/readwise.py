"""The Readwise API client: token check and the export, fetched one page at a time.

Every request has connect and read timeouts. 429 waits `Retry-After` (capped); 5xx, connection
errors, timeouts and bodies that are not the JSON the API promises are retried with exponential
backoff and jitter, a bounded number of times; 401/403 stop at once. The token is only ever put in
the `Authorization` header: no message, log line or exception of this module contains it.
"""

from __future__ import annotations

import email.utils
import json
import logging
import random
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests

from syncd import __version__
from syncd.edges.listing import ExportPage, Listing, ReadwiseError, export_page
from syncd.errors import AuthError, UnreachableError

__all__ = [
    "EXPORT_PATH",
    "ApiClient",
    "ExportPage",
    "ReadwiseClient",
    "ReadwiseError",
    "RetryPolicy",
    "format_cursor",
    "parse_cursor",
    "retry_after",
]

log = logging.getLogger("syncd.readwise")

MAX_RETRY_AFTER = 300.0  # seconds: a longer Retry-After is capped to this
MAX_BACKOFF = 60.0
EXPORT_PATH = "/api/v2/export/"
MAX_REDIRECTS = 5
DEFAULT_BASE_URL = "https://readwise.io"
TOKEN_URL = "https://readwise.io/access_token"


def json_body(response: requests.Response) -> Any:
    """The JSON of an answer, as `response.json()` reads it, parsed from a text of at most two
    bytes a character: each character past the BMP (an emoji) written as its JSON escape (a
    pair of `\\uXXXX`) before the bytes are decoded. One emoji in an export page made the
    text `response.json()` parses four bytes a character: 37 MB for a page of 1,000 books,
    most of a first sync's peak memory. An answer of another encoding than UTF-8, or one
    with no character past the BMP, is read by `response.json()`."""
    encoding = (response.encoding or "").lower().replace("_", "-")
    content = response.content
    if encoding in ("utf-8", "utf8"):
        errors = "replace"  # as `response.text` decodes
    elif not response.encoding and requests.utils.guess_json_utf(content) == "utf-8":
        errors = "strict"  # as `response.json()` decodes first (then tries `response.text`)
    else:
        return response.json()
    if not _PAST_BMP_LEAD.search(content):
        return response.json()
    try:
        text = _PAST_BMP.sub(_escaped, content).decode("utf-8", errors)
    except UnicodeDecodeError:
        return response.json()  # then `response.text`, as requests does
    return json.loads(text)


# The UTF-8 of a character past the BMP: a lead byte F0 to F4 and three continuation bytes (a
# lead byte always starts a character: what stands around it decodes the same without it). In
# an answer that is JSON it is in a string, where an escape reads as the character; but for
# one after a backslash (not JSON: an escape of the backslash would make it so): left as it is.
_PAST_BMP = re.compile(rb"[\xf0-\xf4][\x80-\xbf]{3}")
_PAST_BMP_LEAD = re.compile(rb"[\xf0-\xf4]")
_ESCAPES: dict[bytes, bytes] = {}
BACKSLASH = ord("\\")


def _escaped(match: re.Match[bytes]) -> bytes:
    found, start = match.group(), match.start()
    if start and match.string[start - 1] == BACKSLASH:
        return found
    escape = _ESCAPES.get(found)
    if escape is None:
        try:
            units = found.decode("utf-8").encode("utf-16-be", "surrogatepass")
        except UnicodeDecodeError:  # not UTF-8 (past U+10FFFF, overlong): decoded as it is
            return found
        escape = ("\\u" + units.hex("|", 2).replace("|", "\\u")).encode("ascii")
        if len(_ESCAPES) < 4096:
            _ESCAPES[found] = escape
    return escape


class NoApiError(ReadwiseError):
    """HTTP 404 at one of the API's own paths: no Readwise API at `readwise.base_url`, a
    config error (exit 2)."""

    exit_code = 2


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 6  # tries per request for 5xx, timeouts and bad bodies
    rate_limit_waits: int = 10  # 429 answers tolerated per request
    backoff_base: float = 1.0


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
        token_source: str = "readwise.token or $READWISE_TOKEN",
        base_url_source: str = "readwise.base_url",
    ) -> None:
        self._base = base_url.rstrip("/")
        self._token_source = token_source  # where the token came from, said when refused
        self._base_url_source = base_url_source  # where the address is set, said when it fails
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
            body = json_body(response)
            if not isinstance(body, dict) or not isinstance(body.get("results"), list):
                raise ValueError("no 'results' list")
            return export_page(body, response.headers.get("Date"))

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
                            f"Readwise kept rate-limiting {self.shown_url(path)} "
                            f"({rate_limited} times); try again later"
                        ) from None
                    wait = retry.wait
                else:
                    failures += 1
                    if failures >= self._policy.attempts:
                        raise UnreachableError(
                            f"Readwise unreachable: {self.shown_url(path)} failed {failures} "
                            f"times, last: {retry}; check {self._base_url_source} and the network"
                        ) from None
                    wait = self._backoff(failures)
                log.warning("%s: %s; retrying in %.1f s", self.shown_url(path), retry, wait)
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
                f"Readwise refused the token (HTTP {status}) from {self._token_source}; "
                f"put a valid one there (from {TOKEN_URL})"
            )
        if status == 429:
            raise _Retryable("rate limited (HTTP 429)", wait=retry_after(response.headers))
        if status >= 500:
            raise _Retryable(f"server error (HTTP {status})")
        if status == 404 and path.startswith("/api/"):
            raise NoApiError(
                f"no Readwise API at {self.shown_url(path)} (HTTP 404); check "
                f"{self._base_url_source} (Readwise's own is {DEFAULT_BASE_URL})"
            )
        if status >= 400:
            raise ReadwiseError(f"Readwise answered HTTP {status} for {self.shown_url(path)}")
        if parse is None:
            return response
        try:
            return parse(response)
        except ReadwiseError:
            raise
        except (ValueError, requests.RequestException) as error:
            # A truncated or invalid body: the content is read lazily, so it fails here.
            raise _Retryable(f"invalid answer body ({type(error).__name__})") from None

    def shown_url(self, path: str) -> str:
        """The URL of `path` as a message shows it: scheme, host, port (the default one too)
        and path; no query (the token is never in a URL, but a query could hold anything)."""
        parts = urlsplit(self._base + path)
        try:
            port = parts.port or {"https": 443, "http": 80}.get(parts.scheme)
            host = parts.hostname or ""
        except ValueError:
            return self._base + path
        if ":" in host:
            host = f"[{host}]"
        return f"{parts.scheme}://{host}{f':{port}' if port else ''}{parts.path}"

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


def format_cursor(moment: datetime) -> str:
    """Return a UTC ISO 8601 time with an explicit `Z`, as the cursor is saved and sent."""
    utc = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return utc.isoformat(timespec="microseconds") + "Z"


def parse_cursor(text: str) -> datetime:
    """Inverse of `format_cursor`; raise ValueError on anything else."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(timezone.utc)
