"""What the engine needs of the world it syncs, and the types that cross between them:
Readwise (`ReadwisePort`, answering in `ExportPage`s), Reader (`ReaderPort`), the vault
(`VaultPort`, reading `PageFile`s and writing `Draft`s) and what syncd remembers (`StatePort`);
and, for two-way sync, Readwise's write endpoints for highlights (`HighlightWriter`, with `Tag`).

The real edges (`syncd.edges.readwise.ReadwiseClient`, `syncd.edges.reader.ReaderClient`,
`syncd.edges.vault.Vault`, `syncd.edges.state.State`) and their in-memory twins
(`syncd.testing.readwise_twin.ReadwiseTwin` and `ReaderTwin`,
`syncd.testing.memory_vault.MemoryVault`, `syncd.testing.memory_state.MemoryState`) provide
them, and one contract test suite each (`tests/contract`) holds the real one and its twin to
the same behaviour. This module sits below the edges and the engine: it imports only the core.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Collection, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from syncd.core.line_endings import PLAIN, Form
from syncd.core.records import (
    BookProblem,
    FieldConflict,
    HighlightRecord,
    PageNames,
    PageRecord,
    PageStamp,
    PageStatus,
    PendingWrite,
    Push,
)


@dataclass(frozen=True)
class ExportPage:
    """One page of a Readwise listing (`GET /api/v2/export/`, Reader's `/api/v3/list/`): the raw
    records, parsed later one by one."""

    count: int
    results: Sequence[Any]  # a list, or records parsed when reached (`listing_json.Records`)
    next_cursor: str | None
    # Readwise's clock when it answered (the `Date` header); None when absent or unparseable.
    server_time: datetime | None = None
    raw_count: object = None  # the `count` as the body gave it (None: none given)
    # How the listing changed while it was paged through, once `Listing` saw it (None: it did
    # not, as far as the pages tell).
    changed: str | None = None


@dataclass(frozen=True)
class PageFile:
    """A page as read from disk: text (None when the file does not exist) and its stat."""

    path: Path
    text: str | None
    size: int | None = None
    mtime_ns: int | None = None
    file_id: tuple[int, int] | None = None  # device and inode: kept by a rename or a move
    form: Form = PLAIN  # the file's line endings and byte-order mark (`text` has neither)


# A folder's device, inode, mtime and ctime (ns): a name added, removed or renamed in it changes
# them (a file's text written in place does not).
FolderStamp = tuple[int, int, int, int]


@dataclass(frozen=True)
class Draft:
    """A new page in a temporary file (`temp`) until `DraftsPort.place` puts it at `path`."""

    path: Path
    temp: Path
    size: int
    mtime_ns: int
    file_id: tuple[int, int] | None = None  # the temporary file's: renamed, the page's


class ReadwisePort(Protocol):
    """Readwise's export: what changed since a moment (or the books asked for), one page of
    books at a time, with Readwise's own clock."""

    requests_made: int

    def check_token(self) -> None: ...

    def export(
        self, updated_after: datetime | None = None, book_ids: list[int] | None = None
    ) -> Iterator[ExportPage]: ...


@dataclass(frozen=True)
class Tag:
    """A tag on a highlight, as Readwise holds it: its id (to remove it by) and its name."""

    id: int
    name: str


class HighlightWriter(Protocol):
    """Readwise's v2 write endpoints for highlights: a highlight's text and note, and its tags.

    Errors (`syncd.edges.readwise`): `WriteRefused` (401/403: the token may not write),
    `HighlightGone` (404), `WriteRejected` (400: Readwise refused the value)."""

    requests_made: int

    def update_highlight(
        self, highlight_id: int, *, text: str | None = None, note: str | None = None
    ) -> datetime | None:
        """PATCH the fields given; return the server's time of the change (its `updated_at`,
        else its `Date`), None if it gave neither."""
        ...

    def highlight_tags(self, highlight_id: int) -> list[Tag]:
        """The highlight's tags (every page of the list)."""
        ...

    def add_tag(self, highlight_id: int, name: str) -> Tag:
        """Add a tag by name; return it as Readwise holds it (a tag it had already: that one)."""
        ...

    def remove_tag(self, highlight_id: int, tag_id: int) -> None:
        """Remove a tag by id (one already gone: nothing to do)."""
        ...


class ReaderPort(Protocol):
    """Readwise Reader's list of documents (API v3), with their HTML, one page at a time:
    those changed after a moment, or one by its id."""

    requests_made: int

    def documents(
        self, updated_after: datetime | None = None, document_id: str | None = None
    ) -> Iterator[ExportPage]: ...


class DraftsPort(Protocol):
    """A batch of new pages: written aside, then put in place together."""

    size: int  # bytes of page text held

    def write(self, path: Path, text: str) -> Draft: ...

    def place(self) -> list[Draft]: ...


class VaultPort(Protocol):
    """The vault's folder: its pages read, written without clobbering, listed."""

    root: Path

    def check(self) -> None: ...

    def present(self) -> bool: ...

    def missing_or_empty(self) -> bool: ...

    def relative(self, path: Path) -> str: ...

    def path(self, relative: str) -> Path: ...

    def read(self, path: Path, *, candidate: bool = False) -> PageFile: ...

    def stat(self, path: Path) -> tuple[int, int] | None: ...

    def stat_relative(self, relative: str) -> tuple[int, int] | None: ...

    def no_folder(self, folder: Path) -> bool: ...

    def file_id(self, path: Path) -> tuple[int, int] | None: ...

    def check_replaceable(self, path: Path) -> None: ...

    def write(self, path: Path, text: str, expected: str | None) -> PageFile: ...

    def read_text(self, path: Path) -> str | None: ...

    def siblings(self, path: Path) -> set[str]: ...

    def subfolders(self, folder: Path) -> set[str]: ...

    def drafts(self) -> DraftsPort: ...

    def pages(self) -> list[Path]: ...

    def folder_stamp(self, relative: str) -> FolderStamp | None: ...

    def list_folder(self, relative: str) -> tuple[list[str], dict[str, int]] | None: ...

    def remove_temporary_files(self, folder: Path) -> int: ...


class StatePort(Protocol):
    """What syncd remembers of one vault: settings and cursors by key, a record per book's page,
    what it last wrote of every highlight, the books that failed or wait, and the page writes
    about to be made. Changes made inside `transaction()` are kept together or not at all."""

    def transaction(self) -> AbstractContextManager[None]: ...

    def error(self, error: sqlite3.Error) -> Exception:
        """What an error the store raised means, as the error to show (see StateError)."""
        ...

    def entries(self, prefix: str) -> dict[str, str]: ...

    def get(self, key: str) -> str | None: ...

    def set(self, key: str, value: str | None) -> None: ...

    def page(self, book_id: int) -> PageRecord | None: ...

    def pages(self, status: PageStatus | None = None) -> list[PageRecord]: ...

    def page_stamps(self) -> list[PageStamp]: ...

    def pages_at(self, paths: Collection[str]) -> list[PageRecord]: ...

    def page_paths(self, status: PageStatus) -> list[str]: ...

    def put_page(self, page: PageRecord) -> None: ...

    def page_names(self) -> PageNames: ...

    def highlights(self, book_id: int) -> dict[int, HighlightRecord]: ...

    def put_highlights(self, records: Iterable[HighlightRecord]) -> None: ...

    def delete_book(self, book_id: int) -> None: ...

    def problems(self, kind: str | None = None) -> list[BookProblem]: ...

    def put_problem(self, problem: BookProblem) -> None: ...

    def clear_problem(self, book_id: int, kind: str | None = None) -> None: ...

    def put_pending(self, writes: Iterable[PendingWrite]) -> None: ...

    def pending(self) -> list[PendingWrite]: ...

    def clear_pending(self) -> None: ...

    def page_count(self) -> int: ...

    def counts(self) -> dict[str, int]: ...

    # two-way sync (issue 19)
    def add_push(self, push: Push) -> int:
        """Record a push (its number ignored); return the number it is given (rising)."""
        ...

    def settle_push(self, number: int, state: str) -> None: ...

    def pushes(self, state: str | None = None) -> list[Push]:
        """The pushes (only those in `state` when given), newest first."""
        ...

    def put_conflicts(self, highlight_id: int, conflicts: Iterable[FieldConflict]) -> None:
        """The highlight's conflicts are now `conflicts` (none: it has none)."""
        ...

    def conflicts(self) -> list[FieldConflict]: ...

    def older_blocks(self, highlight_id: int) -> frozenset[str]:
        """The blocks the highlight's record held before its current one (`put_highlights`
        keeps them; `delete_book` forgets them)."""
        ...
