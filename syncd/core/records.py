"""What syncd remembers of pages and highlights, as plain dataclasses (the state database stores
them; the core decides with them)."""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field, replace

from syncd.core.decision import Status
from syncd.core.page_life import PageStatus

# What a scan of every page reads of each record, a plain tuple: book id, path, status (as its
# text), size, mtime_ns and 1 when its opening is known (0 if not). The record itself is read
# only for a page whose size or mtime changed (most do not).
PageStamp = tuple[int, str, str, int | None, int | None, int]


def digest(text: str) -> str:
    """A block's or a page's digest, as records keep it."""
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()[:24]


@dataclass(frozen=True)
class PageRecord:
    book_id: int
    path: str
    title: str
    status: PageStatus
    size: int | None = None
    mtime_ns: int | None = None
    device: int | None = None
    inode: int | None = None
    # Its opening as syncd last wrote or followed it (see syncd.core.identity.opening); None:
    # recorded by an older syncd, yet to be read.
    opening: str | None = None


def stamp_of(page: PageRecord) -> PageStamp:
    """What a scan reads of a page record (see `PageStamp`)."""
    return (
        page.book_id,
        page.path,
        str(page.status),
        page.size,
        page.mtime_ns,
        int(page.opening is not None),
    )


@dataclass(frozen=True)
class HighlightRecord:
    highlight_id: int
    book_id: int
    block: str  # the block as syncd last wrote it
    source: str  # digest of the block as rendered from Readwise's data
    status: Status


# failed: handling the book failed (bad record, unwritable page); it is fetched again by id on
# later syncs until it succeeds. waiting: syncd lacks clear evidence of which page is the book's
# (its page is gone and no page is clearly it); nothing is written for it until there is.
PROBLEM_KINDS = ("failed", "waiting")


@dataclass(frozen=True)
class BookProblem:
    """A book syncd could not sync: `kind` is one of PROBLEM_KINDS."""

    book_id: int
    kind: str
    title: str
    reason: str


class PageNames:
    """The paths and the (casefolded) names of every page record, deleted ones too: what a new
    book's page must not take. Kept up to date by `State`, so that choosing the page of each of
    10,000 new books does not read every page record again."""

    def __init__(self) -> None:
        self._by_book: dict[int, tuple[str, str]] = {}
        self._paths: Counter[str] = Counter()
        self._names: Counter[str] = Counter()

    def put(self, page: PageRecord) -> None:
        self.drop(page.book_id)
        key = (page.path, page.title.casefold())
        self._by_book[page.book_id] = key
        self._paths[key[0]] += 1
        self._names[key[1]] += 1

    def drop(self, book_id: int) -> None:
        key = self._by_book.pop(book_id, None)
        if key is not None:
            for counter, value in ((self._paths, key[0]), (self._names, key[1])):
                counter[value] -= 1
                if not counter[value]:
                    del counter[value]

    def has_path(self, path: str) -> bool:
        return path in self._paths

    def has_name(self, casefolded: str) -> bool:
        return casefolded in self._names


@dataclass(frozen=True)
class PendingWrite:
    """A page write syncd is about to make, saved before it and dropped in the transaction that
    records it. After a kill in between, a page at `path` holding the text of digest `digest`
    was written: `page` and `highlights` are then what syncd knows of it, and the sync log's
    count of highlights and books not yet told of changes by `log_highlights`, `log_books`
    (with the books' titles and counts, `log_titles`, which Obsidian's log lists)."""

    path: str
    digest: str
    page: PageRecord | None
    highlights: list[HighlightRecord]
    log_highlights: int = 0
    log_books: int = 0
    log_titles: list[tuple[str, int]] = field(default_factory=list)
    # For each highlight, where its block is in the text being written ([start, end), in
    # characters), or None: a block stored this way is not stored again (a first sync's blocks
    # are its pages' text); read back, its record's block is "" until `written` fills it in.
    spans: list[tuple[int, int] | None] | None = None

    def written(self, text: str) -> list[HighlightRecord]:
        """The highlights, every block whole, given the text this write wrote (its digest
        checked): what recording the write records."""
        if self.spans is None:
            return self.highlights
        return [
            h if span is None else replace(h, block=text[span[0] : span[1]])
            for h, span in zip(self.highlights, self.spans, strict=True)
        ]

    def as_stored(self) -> PendingWrite:
        """The write as a state gives it back: a block stored as its span reads empty."""
        if not self.spans or not any(self.spans):
            return replace(self, spans=None)
        highlights = [
            h if span is None else replace(h, block="")
            for h, span in zip(self.highlights, self.spans, strict=True)
        ]
        return replace(self, highlights=highlights)

    def blocks_known(self) -> list[HighlightRecord]:
        """The highlights whose block is stored whole (all but those stored as a span)."""
        if self.spans is None:
            return self.highlights
        return [h for h, span in zip(self.highlights, self.spans, strict=True) if span is None]


# A field's value as Readwise stores it: text and note are strings, tags a set of names.
FieldValue = str | frozenset[str]
PUSH_STATES = ("sent", "made", "dropped")


@dataclass(frozen=True)
class Push:
    """One field of one highlight sent to Readwise (issue 19): recorded as `sent` before the
    request, settled `made` once Readwise holds `after` (or `dropped` when the request surely
    never changed Readwise, and the next sync plans afresh; see
    `syncd.core.push_plan.settled`). `reverts`: the number of the push it puts back (`syncd
    revert`). `number` is 0 until the state gives it one; `at` is an ISO 8601 time. `seen`:
    the highlight's `updated_at` in Readwise just before the request (None: not known), which
    tells, after a kill, whether the request may have changed it."""

    number: int
    at: str
    book_id: int
    highlight_id: int
    field: str
    before: FieldValue
    after: FieldValue
    reverts: int | None = None
    state: str = "sent"
    book: str = ""  # the book's title, for `syncd history`
    seen: str | None = None


@dataclass(frozen=True)
class FieldConflict:
    """A field both the vault and Readwise changed, differently, since they last agreed: nothing
    is pushed, nothing overwritten, until `syncd resolve` (or an edit that agrees)."""

    highlight_id: int
    book_id: int
    field: str
    page: str  # the page's path, relative to the vault
    base: FieldValue
    vault: FieldValue
    readwise: FieldValue
