"""The Readwise API client: token check and the export, fetched one page at a time; and, for
two-way sync, the write endpoints of highlights (`HighlightWriter`).

Every request has connect and read timeouts. 429 waits `Retry-After` (capped); 5xx, connection
errors, timeouts and bodies that are not the JSON the API promises are retried with exponential
backoff and jitter, a bounded number of times; 401/403 stop at once. The token is only ever put in
the `Authorization` header: no message, log line or exception of this module contains it, and
a redirect to another host is never followed with it.

Writes (`update_highlight`, `highlight_tags`, `add_tag`, `remove_tag`; what Readwise documents of
them: `syncd.testing.highlight_writes`) are retried as reads are (a PATCH sends the same values
again; a tag POSTed twice is the same tag; a DELETE whose first try went through finds the tag
gone, which is what it wanted) and kept at or under 240 requests a minute, Readwise's base rate,
by `WriteLimiter`. Their errors: `WriteRefused` (401/403: the token may read but not write),
`HighlightGone` (404: deleted in Readwise), `WriteRejected` (400: Readwise refused a value,
with its reason).
"""

from __future__ import annotations

import collections
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
from syncd.edges.listing_json import Records, parse_listing
from syncd.errors import AuthError, UnreachableError
from syncd.ports import Tag

__all__ = [
    "EXPORT_PATH",
    "ApiClient",
    "ExportPage",
    "HighlightGone",
    "ReadwiseClient",
    "ReadwiseError",
    "RetryPolicy",
    "WriteLimiter",
    "WriteRefused",
    "WriteRejected",
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
HIGHLIGHTS_PATH = "/api/v2/highlights/"
WRITES_PER_MINUTE = 240  # Readwise's base rate per token
MAX_REASON = 160  # characters of Readwise's reason a WriteRejected shows
MAX_TAG_PAGES = 1000


class WriteRefused(ReadwiseError):
    """HTTP 401/403 on a write: Readwise lets the token read but not change highlights.
    Pushing pauses for the run; pulling goes on."""

    exit_code = 3

    def __init__(self, status: int, token_source: str = "readwise.token or $READWISE_TOKEN"):
        why = "it may read but not write" if status == 403 else "the token is not valid"
        super().__init__(
            f"Readwise refused to let the token from {token_source} change highlights "
            f"(HTTP {status}): {why}; edits are not pushed (pulling goes on); a token that "
            f"may write: {TOKEN_URL}"
        )
        self.status = status


class HighlightGone(ReadwiseError):
    """HTTP 404 on a write: the highlight is no longer in Readwise (deleted there)."""

    def __init__(self, highlight_id: int) -> None:
        super().__init__(
            f"highlight {highlight_id} is no longer in Readwise (HTTP 404: deleted there?); "
            "its edit stays in the vault"
        )
        self.highlight_id = highlight_id


class WriteRejected(ReadwiseError):
    """HTTP 400 on a write: Readwise refused a value (e.g. text over 8,191 characters)."""

    def __init__(self, highlight_id: int, field: str, reason: str) -> None:
        super().__init__(f"Readwise refused the {field} of highlight {highlight_id}: {reason}")
        self.highlight_id = highlight_id
        self.field = field
        self.reason = reason


class WriteLimiter:
    """Keeps requests at or under `per_minute` in any 60 seconds: the request that would be
    one too many waits (`sleep`) until the oldest of the last `per_minute` is a minute old.

    `clock` (seconds, monotonic) and `sleep` are injected so that tests never wait; a `sleep`
    that does not move `clock` still ends (the wait is counted as done)."""

    def __init__(
        self,
        per_minute: int = WRITES_PER_MINUTE,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if per_minute < 1:
            raise ValueError("per_minute must be at least 1")
        self.per_minute = per_minute
        self.clock = clock
        self.sleep = sleep
        self._sent: collections.deque[float] = collections.deque()
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Wait, if need be, until one more request keeps the rate; return the wait."""
        with self._lock:
            now = self.clock()
            while self._sent and self._sent[0] <= now - 60.0:
                self._sent.popleft()
            wait = 0.0
            if len(self._sent) >= self.per_minute:
                wait = self._sent[0] + 60.0 - now
                log.info("%d requests in the last minute; waiting %.1f s", self.per_minute, wait)
                self.sleep(wait)
                now = max(self.clock(), self._sent[0] + 60.0)
                self._sent.popleft()
            self._sent.append(now)
            return wait


def json_body(response: requests.Response) -> Any:
    """The JSON of an answer, as `response.json()` reads it, parsed from a text of at most two
    bytes a character: each character past the BMP (an emoji) written as its JSON escape (a
    pair of `\\uXXXX`) before the bytes are decoded. One emoji in an export page made the
    text `response.json()` parses four bytes a character: 37 MB for a page of 1,000 books,
    most of a first sync's peak memory. The answer's bytes are let go of once decoded, not
    held while the text is parsed (its `content` reads empty after). An answer of another
    encoding than UTF-8, or one with no character past the BMP, is read by
    `response.json()`."""
    encoding = (response.encoding or "").lower().replace("_", "-")
    content = response.content
    if encoding in ("utf-8", "utf8"):
        errors = "replace"  # as `response.text` decodes
    elif not response.encoding and requests.utils.guess_json_utf(content) == "utf-8":
        errors = "strict"  # as `response.json()` decodes first (then tries `response.text`)
    else:
        return response.json()
    if not any(lead in content for lead in _PAST_BMP_LEADS):
        return response.json()
    escaped = _past_bmp_escaped(content)
    if errors == "replace":  # decoding cannot fail: the bytes are let go of before
        content = response._content = b""  # (requests keeps them there: 10 MB a page)
    try:
        text = escaped.decode("utf-8", errors)
    except UnicodeDecodeError:
        return response.json()  # then `response.text`, as requests does
    content = response._content = escaped = b""
    return json.loads(text)


def listing_body(response: requests.Response) -> Any:
    """The JSON of a listing's answer, as `json_body` reads it, but for its `results`: records
    parsed one at a time when they are reached (`syncd.edges.listing_json`), from the answer's
    text, its bytes let go of."""
    return parse_listing(answer_text(response))


def answer_text(response: requests.Response) -> str:
    """The text of an answer, as `response.json()` decodes it before it parses it (each
    character past the BMP written as its JSON escape, as `json_body` does); the answer's
    bytes let go of (its `content` reads empty after)."""
    encoding = (response.encoding or "").lower().replace("_", "-")
    content = response.content
    if encoding in ("utf-8", "utf8"):
        errors = "replace"  # as `response.text` decodes
    elif not response.encoding and (guessed := requests.utils.guess_json_utf(content)):
        if guessed != "utf-8":
            try:
                text = content.decode(guessed)
            except UnicodeDecodeError:
                return response.text  # as `response.json()` does
            response._content = b""
            return text
        errors = "strict"  # as `response.json()` decodes first (then tries `response.text`)
    else:
        return response.text
    if any(lead in content for lead in _PAST_BMP_LEADS):
        content = _past_bmp_escaped(content)
    try:
        text = content.decode("utf-8", errors)
    except UnicodeDecodeError:
        return response.text  # as `response.json()` does
    content = response._content = b""
    return text


# The UTF-8 of a character past the BMP: a lead byte F0 to F4 and three continuation bytes (a
# lead byte always starts a character: what stands around it decodes the same without it). In
# an answer that is JSON it is in a string, where an escape reads as the character; but for
# one after a backslash (not JSON: an escape of the backslash would make it so): left as it is.
_PAST_BMP = re.compile(rb"[\xf0-\xf4][\x80-\xbf]{3}")
_PAST_BMP_LEADS = (b"\xf0", b"\xf1", b"\xf2", b"\xf3", b"\xf4")
_ESCAPES: dict[bytes, bytes] = {}
BACKSLASH = ord("\\")


def _past_bmp_escaped(content: bytes) -> bytes:
    """`content` with each character past the BMP escaped (see `_PAST_BMP`). Emoji, the most
    of them by far, start with F0: found by `bytes.find` (a regex scanning for the five lead
    bytes took 3 times as long)."""
    if any(lead in content for lead in _PAST_BMP_LEADS[1:]):
        return _PAST_BMP.sub(_escaped, content)
    parts: list[bytes | memoryview] = []  # (views: the bytes between are not copied twice)
    view = memoryview(content)
    done = 0
    at = content.find(b"\xf0")
    while at != -1:
        # A character escaped before, not after a backslash: its escape, without a match (an
        # export holds the same few emoji many times over).
        escape = _ESCAPES.get(content[at : at + 4])
        if escape is not None and (not at or content[at - 1] != BACKSLASH):
            parts += (view[done:at], escape)
            done = at + 4
            at = content.find(b"\xf0", done)
            continue
        match = _PAST_BMP.match(content, at)
        if match is None:
            at = content.find(b"\xf0", at + 1)
            continue
        parts += (view[done:at], _escaped(match))
        done = match.end()
        at = content.find(b"\xf0", done)
    parts.append(view[done:])
    return b"".join(parts)


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


class _TokenAuth(requests.auth.AuthBase):
    """`Authorization: Token <token>` on every request of a session."""

    def __init__(self, token: str) -> None:
        self._header = f"Token {token}"

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = self._header
        return request

    def __repr__(self) -> str:  # never the token
        return "_TokenAuth(...)"


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
        self._secret = token  # only to take it out of a message that quotes it
        self._base_url_source = base_url_source  # where the address is set, said when it fails
        self._session = session or requests.Session()
        self._session.headers["User-Agent"] = f"syncd/{__version__}"
        # The token as the session's auth, not only a header: with no auth of its own, requests
        # looks the host up in ~/.netrc on every request (importing `netrc`), and an entry
        # there (curl's, say) replaced the token with Basic credentials.
        self._session.auth = _TokenAuth(token)
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
        return self._send("GET", path, params)

    def _send(
        self,
        method: str,
        path: str,
        params: Mapping[str, str],
        body: bytes | None = None,
    ) -> requests.Response:
        """Send one request; a redirect is followed (with the same method and body) only to
        the base URL's own scheme, host and port, so the token never goes elsewhere."""
        headers = {"Content-Type": "application/json"} if body is not None else None
        # One request at a time on the session (a Session is not made for threads): a request
        # sent ahead and then left behind is waited for, not overlapped.
        with self._one_request:
            response = self._session.request(
                method,
                self._base + path,
                params=params,
                data=body,
                headers=headers,
                timeout=self._timeout,
                allow_redirects=False,
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
                response = self._session.request(
                    method,
                    target,
                    data=body,
                    headers=headers,
                    timeout=self._timeout,
                    allow_redirects=False,
                )
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
            body = listing_body(response)
            if not isinstance(body, dict) or not isinstance(body.get("results"), (list, Records)):
                raise ValueError("no 'results' list")
            return export_page(body, response.headers.get("Date"))

        return self._request(path, params, parse=parse, sent=sent)

    def _request(
        self,
        path: str,
        params: Mapping[str, str],
        parse: Callable[[requests.Response], Any] | None = None,
        sent: Future[requests.Response] | None = None,
        *,
        write: _Write | None = None,
    ) -> Any:
        """GET `path` until it succeeds or retrying is no use; `sent`: the first attempt's
        request, already sent ahead; `write`: the request is that write instead of a GET."""
        failures = rate_limited = 0
        while True:
            try:
                attempt, sent = sent, None
                return self._attempt(path, params, parse, attempt, write)
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
        write: _Write | None = None,
    ) -> Any:
        if write is not None:
            write.limiter.acquire()
        self.requests_made += 1
        try:
            if sent is not None:
                response = sent.result()
            elif write is not None:
                response = self._send(write.method, path, params, write.body)
            else:
                response = self._get(path, params)
        except requests.Timeout:
            raise _Retryable("timed out") from None
        except requests.RequestException as error:
            raise _Retryable(f"connection failed ({type(error).__name__})") from None
        status = response.status_code
        if write is not None:
            refusal = write_error(
                status,
                _json_or_none(response),
                write.highlight_id,
                token_source=self._token_source,
                html=_is_html(response),
                secret=self._secret,
            )
            if refusal is not None:
                raise refusal
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


@dataclass(frozen=True)
class _Write:
    """A write request: its method, JSON body, the highlight it is about, the limiter."""

    method: str
    body: bytes | None
    highlight_id: int
    limiter: WriteLimiter


class ReadwiseClient(ApiClient):
    """Readwise's v2 API: the token check and the export; the highlights' write endpoints.

    `write_limiter`: keeps the write endpoints' requests at or under 240 a minute (default:
    one on the machine's clock that waits with the client's `sleep`)."""

    tags_page_size = 1000  # tags asked for per page of a highlight's tag list

    def __init__(
        self, base_url: str, token: str, *, write_limiter: WriteLimiter | None = None, **kwargs: Any
    ) -> None:
        super().__init__(base_url, token, **kwargs)
        self.write_limiter = write_limiter or WriteLimiter(sleep=lambda s: self.sleep(s))

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

    # the write endpoints (`syncd.ports.HighlightWriter`) ---------------------------------------

    def update_highlight(
        self, highlight_id: int, *, text: str | None = None, note: str | None = None
    ) -> datetime | None:
        """PATCH the highlight's `text` and/or `note` (only those given); return the server's
        time of the change (the answer's `updated_at`, else its `Date`), None if neither.
        Raise WriteRefused, HighlightGone or WriteRejected as Readwise answers."""
        fields = {
            name: value for name, value in (("text", text), ("note", note)) if value is not None
        }
        if not fields:
            raise ValueError("update_highlight needs a text or a note")
        response = self._write("PATCH", f"{HIGHLIGHTS_PATH}{highlight_id}/", highlight_id, fields)
        return changed_at(_json_or_none(response), response.headers.get("Date"))

    def highlight_tags(self, highlight_id: int) -> list[Tag]:
        """The highlight's tags, every page of the list. Raise as `update_highlight`."""
        path = f"{HIGHLIGHTS_PATH}{highlight_id}/tags/"
        tags: list[Tag] = []
        for page in range(1, MAX_TAG_PAGES + 1):
            params = {"page": str(page), "page_size": str(self.tags_page_size)}
            body = self._request(
                path, params, parse=_tag_page, write=self._writing("GET", highlight_id)
            )
            tags.extend(body["results"])
            if not body["next"] or not body["results"]:
                return tags
        raise ReadwiseError(f"the tags of highlight {highlight_id} ran over {MAX_TAG_PAGES} pages")

    def add_tag(self, highlight_id: int, name: str) -> Tag:
        """Add a tag by name (Readwise answers a tag the highlight has with that tag); return it
        as Readwise holds it. Raise as `update_highlight`."""
        path = f"{HIGHLIGHTS_PATH}{highlight_id}/tags/"
        write = self._writing("POST", highlight_id, {"name": name})
        tag: Tag = self._request(path, {}, parse=_one_tag, write=write)
        return tag

    def remove_tag(self, highlight_id: int, tag_id: int) -> None:
        """Remove a tag by id. A tag the highlight no longer carries (a retried DELETE whose
        first try went through) is nothing to do; a highlight gone raises HighlightGone."""
        path = f"{HIGHLIGHTS_PATH}{highlight_id}/tags/{tag_id}/"
        try:
            self._write("DELETE", path, highlight_id, None)
        except HighlightGone:
            self.highlight_tags(highlight_id)  # raises HighlightGone if the highlight is

    def _writing(self, method: str, highlight_id: int, fields: object = None) -> _Write:
        body = None if fields is None else json.dumps(fields).encode("utf-8")
        return _Write(method, body, highlight_id, self.write_limiter)

    def _write(
        self, method: str, path: str, highlight_id: int, fields: object
    ) -> requests.Response:
        response: requests.Response = self._request(
            path, {}, write=self._writing(method, highlight_id, fields)
        )
        return response


def write_error(
    status: int,
    body: object,
    highlight_id: int,
    *,
    token_source: str = "readwise.token or $READWISE_TOKEN",
    html: bool = False,
    secret: str = "",
) -> ReadwiseError | None:
    """Given a write's answer (status, JSON body or None), return the error it means for the
    highlight (WriteRefused, HighlightGone, WriteRejected), None for the others (success, 429,
    5xx: the retry rules of reads; a 404 page in HTML: no Readwise API there). `secret`: the
    token, never shown even if the body quotes it."""
    if status in (401, 403):
        return WriteRefused(status, token_source)
    if status == 404 and not html:
        return HighlightGone(highlight_id)
    if status == 400:
        field, reason = rejection(body, secret)
        return WriteRejected(highlight_id, field, reason)
    return None


def rejection(body: object, secret: str = "") -> tuple[str, str]:
    """Given a 400 answer's JSON body, return the field Readwise names and its reason, as one
    shortened line ("request" when it names no field), `secret` (the token) left out."""
    field, reason = "request", "invalid request (HTTP 400)"
    if isinstance(body, dict) and body:
        names = [name for name in ("text", "note", "name") if name in body] or list(body)
        name = str(names[0])
        value = body[name]
        message = value[0] if isinstance(value, list) and value else value
        field = name if name not in ("detail", "non_field_errors") else "request"
        reason = str(message)
    elif isinstance(body, (str, list)) and body:
        reason = str(body[0] if isinstance(body, list) else body)
    if secret:
        reason = reason.replace(secret, "***")
    reason = " ".join(reason.split())
    if len(reason) > MAX_REASON:
        reason = reason[: MAX_REASON - 1] + "…"
    return field, reason


def changed_at(body: object, date: str | None) -> datetime | None:
    """The server's time of a change: the answer's `updated_at` (or `updated`), else its
    `Date` header; None if it has neither, or neither parses."""
    if isinstance(body, dict):
        for key in ("updated_at", "updated"):
            value = body.get(key)
            if isinstance(value, str):
                try:
                    return parse_cursor(value)
                except ValueError:
                    pass
    if date:
        try:
            return email.utils.parsedate_to_datetime(date).astimezone(timezone.utc)
        except (TypeError, ValueError):
            return None
    return None


def _json_or_none(response: requests.Response) -> object:
    try:
        return response.json()
    except (ValueError, requests.RequestException):
        return None


def _is_html(response: requests.Response) -> bool:
    kind = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
    return kind in ("text/html", "application/xhtml+xml")


def _tag(value: object) -> Tag:
    if (
        isinstance(value, dict)
        and isinstance(value.get("id"), int)
        and not isinstance(value.get("id"), bool)
        and isinstance(value.get("name"), str)
    ):
        return Tag(value["id"], value["name"])
    raise ValueError("not a tag")


def _one_tag(response: requests.Response) -> Tag:
    return _tag(response.json())


def _tag_page(response: requests.Response) -> dict[str, Any]:
    body = response.json()
    if not isinstance(body, dict) or not isinstance(body.get("results"), list):
        raise ValueError("no 'results' list")
    return {"results": [_tag(value) for value in body["results"]], "next": body.get("next")}


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
