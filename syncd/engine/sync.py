"""One sync: fetch what changed from Readwise, plan each book's page, write, remember.

The imperative shell around `syncd.core.plan`: the client, vault, state and clock are passed in.
Books are handled one export page at a time, so memory holds one page of books, not the library. Any
failure while handling one book (a record that does not fit, a template, a plan, a name, a write)
fails that book alone: it is named, remembered as failed (`State.put_problem`) and the others
sync. The cursor moves on all the same: failed books are fetched again, whole and by id, at each
later sync until they succeed.
"""

from __future__ import annotations

import difflib
import hashlib
import itertools
import json
import logging
import re
import sqlite3
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path, PurePosixPath
from typing import Any

from syncd.core.filenames import logseq_file_stem, obsidian_file_stem
from syncd.core.identity import (
    Evidence,
    Journals,
    Verdict,
    blocks_found,
    decide,
    is_conflict_copy,
    strong,
)
from syncd.core.model import Book, BookSchemaError, Highlight, parse_book
from syncd.core.plan import (
    Options,
    Outcome,
    PagePlan,
    new_page_records,
    observe_page,
    on_page,
    page_title_of,
    plan_page,
)
from syncd.core.render import (
    LOGSEQ,
    PageFormat,
    Style,
    append_text,
    page_title,
    render_new_page,
    render_sync_log_entry,
)
from syncd.edges.atomic import PageChanged
from syncd.edges.graph_settings import GraphSettings
from syncd.edges.readwise import ExportPage, ReadwiseClient, format_cursor, parse_cursor
from syncd.edges.state import (
    BookProblem,
    HighlightRecord,
    PageRecord,
    PendingWrite,
    State,
    StateError,
)
from syncd.edges.vault import Draft, Drafts, PageFile, Vault
from syncd.errors import AuthError, UnreachableError, VaultError

log = logging.getLogger("syncd.sync")

CATEGORY_FOLDERS = {"books": "Books", "articles": "Articles", "tweets": "Tweets",
                    "podcasts": "Podcasts", "supplementals": "Supplementals"}
WRITE_ATTEMPTS = 5  # re-read and re-plan this often when the user writes a page meanwhile
# A page missing from where syncd left it is looked for in the vault's pages; when that list may
# be older than a move, it is made again, at most this often per sync or scan (so that deleting
# many pages at once costs a few walks of the vault, not one each).
RELISTS = 10
# New pages are put in place and remembered in batches: made durable together, one transaction
# for this many pages (or this many bytes of page text), instead of an fsync and one each.
BATCH_PAGES = 500
BATCH_BYTES = 8 << 20
# The cursor is Readwise's clock (never the local one) less this much: what Readwise changed while
# it answered the first request is fetched again next time; highlights are matched by id, so
# fetching one again changes nothing.
CURSOR_OVERLAP = timedelta(minutes=1)
# State key: "H B", new highlights and their books recorded but not yet told of in the sync log.
UNLOGGED = "unlogged"
UNLOGGED_BOOKS = "unlogged_books"  # JSON [[title, new highlights], ...] for Obsidian's sync log
# Readwise's export collapses runs of spaces in file names since early 2025; files it named
# before keep them (`UX  UX Booth.md`). A first sync before this moment names them as it did.
SPACES_COLLAPSED_SINCE = datetime(2025, 1, 1, tzinfo=timezone.utc)
# Books that failed before are fetched again by id, this many ids per export request.
RETRY_IDS_PER_REQUEST = 100


@dataclass
class SyncReport:
    """What one sync did; `summary()` is the line the command ends with."""

    outcome: Outcome = field(default_factory=Outcome)
    pages_changed: int = 0
    pages_created: int = 0
    failed: list[tuple[object, str]] = field(default_factory=list)
    requests: int = 0
    cursor: str | None = None
    diffs: list[str] = field(default_factory=list)

    dry_run: bool = False  # a dry run's summary says what it would do

    def summary(self) -> str:
        o = self.outcome
        if self.dry_run:
            parts = [f"would add {o.new} new highlight{_s(o.new)} in {self.pages_changed} "
                     f"page{_s(self.pages_changed)} ({self.pages_created} new)"]
            parts += [text for n, text in (
                (o.updated, f"would update {o.updated}"),
                (o.removed, f"would remove {o.removed}"),
                (o.kept_out, f"{o.kept_out} would stay out because you deleted them"),
                (o.conflicts, f"{o.conflicts} conflict{_s(o.conflicts)} would be kept as you "
                              "edited them"),
                (len(self.failed), f"{len(self.failed)} book{_s(len(self.failed))} failed"))
                if n]
            return "; ".join(parts)
        parts = [f"{o.new} new highlight{_s(o.new)} in {self.pages_changed} "
                 f"page{_s(self.pages_changed)} ({self.pages_created} new)"]
        parts += [f"{n} {what}" for n, what in (
            (o.updated, "updated"), (o.removed, "removed"),
            (o.kept_out, "kept out because you deleted them"),
            (o.conflicts, f"conflict{_s(o.conflicts)} kept as you edited them"),
            (len(self.failed), f"book{_s(len(self.failed))} failed")) if n]
        return "; ".join(parts)

    def as_json(self) -> dict[str, object]:
        o = self.outcome
        return {"new_highlights": o.new, "pages_changed": self.pages_changed,
                "pages_created": self.pages_created, "updated": o.updated, "removed": o.removed,
                "kept_out": o.kept_out, "conflicts": o.conflicts,
                "failed_books": [{"book": b, "error": e} for b, e in self.failed],
                "requests": self.requests, "cursor": self.cursor, "summary": self.summary()}


def _s(n: int) -> str:
    return "" if n == 1 else "s"


@dataclass(frozen=True)
class Layout:
    """Where a vault keeps its pages and how it names their files: Logseq as the graph names
    files; Obsidian as Readwise's export does, in a folder per category."""

    root: Path
    pages: Path
    graph: GraphSettings
    page_format: str = "logseq"

    def page_path(self, name: str, category: str = "", *, number: int = 1,
                  collapse_spaces: bool = True) -> Path:
        """The path of a page; in Obsidian, the `number`-th book of that file name gets `-2`,
        `-3`, ... after it, as Readwise's export names it."""
        if self.page_format == "obsidian":
            folder = CATEGORY_FOLDERS.get(category, category.capitalize())
            stem = obsidian_file_stem(name, collapse_spaces=collapse_spaces)
            return self.pages / folder / (stem + ("" if number == 1 else f"-{number}") + ".md")
        return self.pages / (logseq_file_stem(name, self.graph.name_format) + ".md")

    def new_page_folders(self) -> list[Path]:
        """The folders new pages are written into: where a crash can leave a temporary file
        of a page syncd does not know yet."""
        if self.page_format != "obsidian":
            return [self.pages]
        return [self.pages / folder for folder in {*CATEGORY_FOLDERS.values()}
                | {p.name for p in self.pages.glob("*/")}]


@dataclass
class _NewPage:
    record: PageRecord
    book_title: str
    draft: Draft
    highlights: list[HighlightRecord]
    digest: str = ""  # of the text written (see `_settle_writes`)


class _NewPages:
    """New pages written as drafts, not yet in place nor remembered (state)."""

    def __init__(self, vault: Vault) -> None:
        self.drafts = Drafts(vault)
        self.pages: list[_NewPage] = []
        self.books: set[int] = set()
        self.names: set[str] = set()  # casefolded
        self.paths: set[str] = set()


class Stopped(Exception):
    """The daemon asked the sync to stop; the page in hand was finished."""


class Syncer:
    """Runs syncs of one vault with the parts it is given."""

    def __init__(self, *, client: ReadwiseClient, vault: Vault, state: State, layout: Layout,
                 style: Style, options: Options, clock: Callable[[], datetime],
                 categories: tuple[str, ...] | None = None,
                 tags: tuple[tuple[str, ...], tuple[str, ...]] = ((), ()),
                 sync_log_page: str | None = None,
                 progress: Callable[[int, int, int], None] | None = None) -> None:
        self.client = client
        self.vault = vault
        self.state = state
        self.layout = layout
        self.style = style
        self.options = options
        self.clock = clock
        self.categories = categories
        self.include_tags, self.exclude_tags = (frozenset(t.casefold() for t in group)
                                                for group in tags)
        self.sync_log_page = sync_log_page
        self.progress = progress
        self.resync_deleted_pages = False
        self.should_stop: Callable[[], bool] = lambda: False
        self._dry_run = False
        self._report = SyncReport()
        self._vault_pages: list[Path] | None = None
        self._journal_folders: Journals | None = None  # read with the list of pages
        self._relisted = 0  # times `_vault_pages` was made again in this sync or scan
        self._recreate: list[int] = []  # deleted pages to create anew (resync_deleted_pages)
        # Books whose page came back (or became clear) since their last sync: what Readwise has
        # for them is fetched again, so that highlights kept out meanwhile reach the page.
        self._returned: set[int] = set()
        self._new_pages = _NewPages(vault)
        self._server_time: datetime | None = None  # Readwise's clock at its first answer
        self._newest_seen: datetime | None = None  # the newest `updated_at` it sent
        self._failed_before: set[int] = set()  # books that failed in an earlier sync
        self._fetch_later: set[int] = set()  # skipped in the first pass: fetched whole by id
        self._seen: set[int] = set()  # books of the records handled in this sync
        # (casefolded name, category) -> the number to try first for a clash of that name
        self._name_hints: dict[tuple[str, str], int] = {}

    def sync(self, *, full: bool = False, dry_run: bool = False,
             book_ids: list[int] | None = None) -> SyncReport:
        """Run one sync; return its report. Raise SyncdError for what stops the whole sync
        (a state database another process keeps locked among them).

        With `book_ids`, only those books are fetched (whole), and the cursor stays."""
        try:
            return self._sync(full=full, dry_run=dry_run, book_ids=book_ids)
        except sqlite3.Error as error:
            raise self.state.error(error) from None

    def _sync(self, *, full: bool, dry_run: bool, book_ids: list[int] | None) -> SyncReport:
        self._dry_run = dry_run
        self._report = report = SyncReport(dry_run=dry_run)
        self._vault_pages = None
        self._relisted = 0
        started = self.clock()  # the sync log's date; the cursor is Readwise's clock
        self._server_time = self._newest_seen = None
        cursor = self.state.get("cursor")
        since = None if full or book_ids or cursor is None else parse_cursor(cursor)
        self.vault.check()
        if not dry_run:  # a dry run writes (and removes) nothing
            # A crash's leftovers: in the pages folder, next to pages the user moved, and where
            # the writes a kill interrupted were going (the page may have moved on since).
            for folder in {*self.layout.new_page_folders()} | {
                    self.vault.path(p.path).parent for p in self.state.pages()
                    if p.status == "active"} | {
                    self.vault.path(w.path).parent for w in self.state.pending()}:
                self.vault.remove_temporary_files(folder)
            self._settle_writes()
            self.scan()
        requests_before = self.client.requests_made
        touched: list[int] = []
        self._recreate = []
        if not dry_run:
            self._look_for_waiting()
            self._recreate = sorted(self._returned)
            self._returned.clear()
        self._seen = set()
        self._failed_before = {problem.book_id for problem in self.state.problems("failed")}
        # Books that failed before are fetched whole after the first pass (an export with a
        # cursor carries only a book's changed highlights), not in it.
        self._fetch_later = set() if book_ids else set(self._failed_before)
        try:
            self._fetch(self.client.export(updated_after=since, book_ids=book_ids), touched)
            self._fetch_again(touched)
        finally:
            self._fetch_later = set()
            report.requests = self.client.requests_made - requests_before
        if self.sync_log_page:
            if dry_run:  # nothing was recorded: this sync's own
                failed = {book_id for book_id, _ in report.failed}
                highlights, num_books = report.outcome.new, len(set(touched) - failed)
            else:  # what this sync recorded, and what a sync killed before its log line did
                highlights, num_books = self._unlogged()
            if highlights:
                self._log_sync(highlights, num_books, started)
        if not dry_run and not book_ids:  # failed books are remembered and fetched again
            report.cursor = self._next_cursor(cursor)
            self.state.set("cursor", report.cursor)
        return report

    def _fetch_again(self, touched: list[int]) -> None:
        """Fetch whole, by id, the books that failed in earlier syncs and the deleted pages to
        create anew; forget the failure of a book Readwise no longer has."""
        retry = self._fetch_later
        self._fetch_later = set()
        fetched: set[int] = set()
        while again := sorted((retry | set(self._recreate)) - fetched):
            fetched.update(again)
            for start in range(0, len(again), RETRY_IDS_PER_REQUEST):
                chunk = again[start:start + RETRY_IDS_PER_REQUEST]
                self._fetch(self.client.export(book_ids=chunk), touched)
        for book_id in sorted(retry - self._seen):
            log.info("book %s failed before and is no longer in Readwise; not retried", book_id)
            if not self._dry_run:
                self.state.clear_problem(book_id, "failed")

    def _fetch(self, pages: Iterator[ExportPage], touched: list[int]) -> None:
        done = highlights = 0
        try:
            for page in pages:
                log.info("export page: %d book(s)", len(page.results))
                if self._server_time is None and self._newest_seen is None:
                    self._server_time = page.server_time  # the first answer's
                record = None
                for record in page.results:
                    if self._server_time is None:
                        self._note_updated_at(record)
                    if self.should_stop():
                        raise Stopped
                    book_id = self._sync_record(record)
                    if book_id is not None:
                        touched.append(book_id)
                    done += 1
                    if self.progress:
                        if isinstance(record, dict):
                            highlights += len(record.get("highlights") or ())
                        self.progress(done, page.count, highlights)
                self._remember_new_pages()
                # Let go of this page before the next is fetched: one page in memory at a time.
                del page, record
        finally:
            self._remember_new_pages()

    def _note_updated_at(self, record: object) -> None:
        """Keep the newest `updated_at` of a raw export record (book or highlight): the cursor
        when Readwise's answers carry no usable `Date`."""
        if not isinstance(record, dict):
            return
        highlights = record.get("highlights")
        for item in [record, *(highlights if isinstance(highlights, list) else ())]:
            value = item.get("updated_at") if isinstance(item, dict) else None
            if not isinstance(value, str):
                continue
            try:
                moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                continue
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=timezone.utc)
            if self._newest_seen is None or moment > self._newest_seen:
                self._newest_seen = moment

    def _next_cursor(self, previous: str | None) -> str | None:
        """The cursor a sync leaves: Readwise's clock at its first answer (or, without one, the
        newest `updated_at` it sent) less the overlap; `previous` when Readwise told neither
        (an empty library behind a server that sends no `Date`). Never the local clock."""
        moment = self._server_time or self._newest_seen
        if moment is None:
            return previous
        return format_cursor(moment - CURSOR_OVERLAP)

    # reconciliation: what the user did to the pages since syncd last looked
    def scan(self, only: set[str] | None = None) -> int:
        """Compare every page syncd keeps (or those at the paths in `only`) with what it wrote;
        a page whose size and mtime did not change is not read. A deleted (or waiting) book's
        page costs a stat of where it was: a file back there is looked at. Paths in `only` that
        no book has are looked at as pages that may have come back elsewhere. Return pages
        looked at. Raise VaultError if the vault folder itself is gone: no page is then taken
        for deleted."""
        self._check_root()
        self._vault_pages = None  # a page moved since the list was made must be found
        self._relisted = 0
        looked = 0
        records = self.state.pages()
        for record in records:
            if only is not None and record.path not in only:
                continue
            stat = self.vault.stat(self.vault.path(record.path))
            if stat is not None and stat == (record.size, record.mtime_ns):
                continue
            if record.status != "active" and stat is None:
                continue
            looked += 1
            try:
                self.reconcile(record)
            except VaultError as error:  # e.g. a folder where the page was: left for later
                self._check_root()
                log.error("page %s: %s", record.path, error)
        if only is not None:
            known = {record.path for record in records}
            for path in sorted(only - known):
                looked += self._came_back_here(path, records)
        return looked

    def _look_for_waiting(self) -> None:
        """Look again for the page of every book that waits (the vault is walked once, and
        only when some book waits)."""
        for record in self.state.pages():
            if record.status == "waiting":
                self.reconcile(record)

    def _check_root(self) -> None:
        """Raise VaultError if the vault folder is missing, or empty (an unmounted disk): then
        pages are not where syncd left them, and none was deleted by the user."""
        root = self.vault.root
        try:
            empty = not any(root.iterdir())
        except OSError:
            empty = True
        if empty and any(p.status == "active" for p in self.state.pages()):
            raise VaultError(f"vault {root}: missing or empty (deleted, or a disk not mounted?); "
                             "no page is taken for deleted")

    def reconcile(self, record: PageRecord) -> None:
        """Bring the state of one page in line with the file: moved, deleted, edited blocks; a
        deleted page back at its place is followed again."""
        page = self.vault.read(self.vault.path(record.path))
        if page.text is not None and record.status != "active":
            if not strong(self._evidence(record, page, siblings=(), at_place=True)):
                # A file of the user's where the deleted page was: remembered, so that it is
                # not read again until it changes.
                self.state.put_page(replace(record, size=page.size, mtime_ns=page.mtime_ns))
                return
            log.info("page %s is back", record.path)
        if page.text is None:
            self._check_root()
            verdict, moved = self._find_moved(record)
            if moved is None:
                status = "waiting" if verdict.waiting else "deleted"
                if status == "deleted" and record.status == "active":
                    log.info("page %s was deleted; its highlights stay out", record.path)
                with self.state.transaction():
                    self.state.put_page(replace(record, status=status, size=None,
                                                mtime_ns=None))
                    if verdict.waiting:
                        log.warning("book %s (%s) waits: %s", record.book_id, record.title,
                                    verdict.waiting)
                        self.state.put_problem(BookProblem(record.book_id, "waiting",
                                                           record.title, verdict.waiting))
                    else:
                        self._clear_waiting(record.book_id)
                return
            log.info("page %s moved to %s", record.path, self.vault.relative(moved.path))
            page = moved
            record = replace(record, path=self.vault.relative(moved.path))
        self._follow(record, page)

    def _follow(self, record: PageRecord, page: PageFile) -> None:
        """Record `page` as the book's page, as it is on disk."""
        assert page.text is not None
        fmt = self.style.page_format
        changed = observe_page(page.text, self.state.highlights(record.book_id), fmt)
        # The name follows a rename: Logseq's `title::`, or an Obsidian file's name.
        title = (page_title_of(page.text) if fmt is LOGSEQ else Path(record.path).stem) \
            or record.title
        device, inode = page.file_id or (None, None)
        if record.status != "active":
            self._returned.add(record.book_id)
        with self.state.transaction():
            self.state.put_page(replace(record, title=title, status="active", size=page.size,
                                        mtime_ns=page.mtime_ns, device=device, inode=inode))
            self.state.put_highlights(changed)
            self._clear_waiting(record.book_id)

    def _clear_waiting(self, book_id: int) -> None:
        self.state.clear_problem(book_id, "waiting")

    def move(self, source: str, destination: str) -> None:
        """The watcher saw a page renamed or moved: follow it, unless it went where a book's
        page never is (a journal, a file-sync tool's copy): then it is looked for as gone."""
        self._vault_pages = None
        for record in self.state.pages():
            # A waiting book's page is still where syncd left it until this move; a deleted
            # book's page that came back is looked at below, on its evidence.
            if record.path == source and record.status != "deleted":
                if self._never_a_page(destination, self._siblings(destination)) is None:
                    record = replace(record, path=destination)
                self.reconcile(record)
        self._came_back_here(destination, self.state.pages())

    def _came_back_here(self, path: str, records: list[PageRecord]) -> int:
        """A page appeared at `path` (the watcher said so): if it is, by strong evidence (the
        same file, its `title::`), the page of a book whose page had left, follow it. Return
        1 if the page was read."""
        # Waiting books are decided by looking at every page: before each sync.
        gone = [r for r in records if r.status == "deleted"]
        if not gone or any(r.path == path for r in records):
            return 0
        page = self.vault.read(self.vault.path(path))
        if page.text is None:
            return 1
        title = (page_title_of(page.text) or "").casefold() \
            if self.style.page_format is LOGSEQ else None
        siblings = self._siblings(path)
        for record in gone:
            if (record.inode is None or page.file_id != (record.device, record.inode)) \
                    and title != record.title.casefold():
                continue  # neither the same file nor its title: not even a candidate
            if strong(self._evidence(record, page, siblings)):
                log.info("page of book %s is back, at %s", record.book_id, path)
                self._follow(replace(record, path=path), page)
                break
        return 1

    def _siblings(self, path: str) -> set[str]:
        folder = self.vault.path(path).parent
        try:
            return {entry.name for entry in folder.iterdir()}
        except OSError:
            return set()

    def _journals(self) -> Journals:
        """Where the vault keeps journals or daily notes (read again with the list of pages)."""
        if self._journal_folders is None:
            if self.style.page_format is LOGSEQ:
                self._journal_folders = Journals(self.layout.graph.journals_directory, None)
            else:
                self._journal_folders = Journals(*_daily_notes(self.vault.root))
        return self._journal_folders

    def _never_a_page(self, path: str, siblings: Collection[str]) -> str | None:
        """Why the page at `path` can never be a book's page (None: it can)."""
        if self._journals().holds(path):
            return "a journal page or daily note"
        if is_conflict_copy(PurePosixPath(path).name, siblings):
            return "a file-sync tool's copy"
        return None

    def _written(self, book_id: int) -> list[str]:
        """The first line of every block syncd last wrote for the book (and still holds as
        written): what content evidence looks for."""
        return [rec.block.split("\n", 1)[0].strip()
                for rec in self.state.highlights(book_id).values() if rec.status == "written"]

    def _evidence(self, record: PageRecord, page: PageFile, siblings: Collection[str],
                  at_place: bool = False, content: bool = True,
                  written: list[str] | None = None) -> Evidence:
        """What `page` shows about being the page of `record`'s book (see syncd.core.identity)."""
        assert page.text is not None
        path = self.vault.relative(page.path)
        # A copy named after the book's page ("X 2.md") stays a copy once the page is renamed.
        recorded = PurePosixPath(record.path)
        if recorded.parent == PurePosixPath(path).parent:
            siblings = {*siblings, recorded.name}
        excluded = None if at_place else self._never_a_page(path, siblings)
        title = page_title_of(page.text) if self.style.page_format is LOGSEQ else None
        if written is None:
            written = self._written(record.book_id)
        marked = self.style.page_format.first_sync_mark in page.text
        on_page = 0
        if written:
            # Blocks the user edited count too on a page holding syncd's header (not elsewhere:
            # comparing every line of every page would be slow, and a copy is never enough).
            on_page = blocks_found(written, [line.strip() for line in page.text.split("\n")],
                                   edited=marked and excluded is None)
        same = (record.inode is not None and page.file_id == (record.device, record.inode))
        return Evidence(
            path=path, excluded=excluded, same_file=same, at_place=at_place,
            title_matches=title is not None and title.casefold() == record.title.casefold(),
            other_title=title is not None and title.casefold() != record.title.casefold(),
            blocks_on_page=on_page if (content or same or at_place) else 0,
            blocks_written=len(written) if (content or same or at_place) else 0,
            marked=marked)

    def _find_moved(self, record: PageRecord) -> tuple[Verdict, PageFile | None]:
        """Find the page of `record`'s book, no longer where it was, among the pages no other
        book has (see syncd.core.identity for the rule). A deleted book's page is found only by
        strong evidence (the same file, its `title::`), never by content."""
        owned = {p.path for p in self.state.pages()
                 if p.status != "deleted" and p.book_id != record.book_id}
        fresh = self._vault_pages is None
        content = record.status != "deleted"
        written = self._written(record.book_id)
        while True:
            paths = self._all_pages()
            folders: dict[Path, set[str]] = {}
            for path in paths:
                folders.setdefault(path.parent, set()).add(path.name)
            candidates: dict[str, PageFile] = {}
            evidence = []
            for path in paths:
                relative = self.vault.relative(path)
                if relative in owned:
                    continue
                page = self.vault.read(path)
                if not page.text:
                    continue
                found = self._evidence(record, page, folders[path.parent], content=content,
                                       written=written)
                if found.excluded is None and (strong(found) or found.blocks_on_page):
                    candidates[relative] = page
                    evidence.append(found)
            verdict = decide(evidence)
            if not content and verdict.path is None:
                verdict = Verdict(None)  # a deleted book stays deleted when in doubt
            if verdict.path is not None:
                return verdict, candidates[verdict.path]
            if verdict.waiting or fresh or self._relisted >= RELISTS:
                return verdict, None
            # The list may be older than a move the user made since (a sync can be long).
            self._relisted += 1
            self._vault_pages = None
            fresh = True

    def _all_pages(self) -> list[Path]:
        if self._vault_pages is None:
            self._journal_folders = None
            self._vault_pages = sorted(self.vault.pages())
        return self._vault_pages

    def _sync_record(self, record: object) -> int | None:
        """Sync one export record; return the book's id if it brought new highlights.

        Any failure with this book fails it alone (see `_fail`); only what stops every book
        stops the sync: the vault's folder gone, the state database failing, Readwise refusing
        or unreachable, the daemon asking to stop."""
        book_id, title = _id_and_title(record)
        if book_id in self._fetch_later:
            return None  # it failed before: fetched whole, by id, after this pass
        if book_id is not None:
            self._seen.add(book_id)
        try:
            book = parse_book(record)
            if not self._wanted(book):
                self._succeeded(book.id)
                return None
            outcome = self._sync_book(book)
        except (Stopped, sqlite3.Error, StateError, AuthError, UnreachableError):
            raise
        except VaultError as error:
            if not self.vault.root.is_dir():
                raise
            self._fail(book_id, title, str(error))
            return None
        except BookSchemaError as error:
            self._fail(book_id, title, error.problem, shown_id=error.book_id)
            return None
        except Exception as error:  # a template, a plan, a name, text that cannot be written
            self._fail(book_id, title, f"{type(error).__name__}: {error}")
            return None
        self._succeeded(book.id)
        self._report.outcome.add(outcome)
        return book.id if outcome.new else None

    def _fail(self, book_id: int | None, title: str, reason: str, *,
              shown_id: object = None) -> None:
        """Fail one book: named on one line in the log and the report, and (but in a dry run)
        remembered, so that later syncs fetch it again by id until it succeeds. `shown_id`:
        the id the record gave when it is not a usable one."""
        name = _one_line(str(book_id if book_id is not None else shown_id))
        title, reason = _one_line(title), _one_line(reason)
        message = f"book {name} ({title}): {reason}" if title else f"book {name}: {reason}"
        log.error("%s", message)
        self._report.failed.append((book_id if book_id is not None else shown_id, message))
        if book_id is not None and not self._dry_run:
            self.state.put_problem(BookProblem(book_id, "failed", title, reason))

    def _succeeded(self, book_id: int) -> None:
        """Forget that a book failed before, once what this sync did for it is remembered (a
        new page: when it is put in place, see `_remember_new_pages`)."""
        if (book_id in self._failed_before and not self._dry_run
                and book_id not in self._new_pages.books):
            self.state.clear_problem(book_id, "failed")

    def _wanted(self, book: Book) -> bool:
        """The config's filters: categories, and book tags to include (any) or exclude."""
        tags = {tag.casefold() for tag in book.tags}
        return ((self.categories is None or book.category in self.categories)
                and (not self.include_tags or bool(tags & self.include_tags))
                and not tags & self.exclude_tags)

    def _sync_book(self, book: Book) -> Outcome:
        fetched = list(book.highlights)
        if book.id in self._new_pages.books:
            self._remember_new_pages()
        record = self.state.page(book.id)
        if record is None:
            return self._first_sync(book, fetched)
        self._remember_new_pages()  # what follows reads what syncd knows of other pages
        if record.status != "active":
            known = self.state.highlights(book.id)
            if any(not h.deleted and h.id not in known for h in fetched) and not self._dry_run:
                # Something to write: has its page come back, or become clear, meanwhile?
                self.reconcile(record)
                record = self.state.page(book.id) or record
                if record.status == "active":
                    return self._update_page(book, fetched, record)
        if record.status == "waiting":
            return Outcome()  # nothing is written until it is clear which page is the book's
        if record.status == "deleted" and self.resync_deleted_pages:
            if book.id not in self._recreate:
                self.forget(book.id)
                self._recreate.append(book.id)  # fetched whole after this pass
            return Outcome()
        if record.status == "deleted":
            # The user deleted the page: it is not re-created (see `syncd resync`).
            known = self.state.highlights(book.id)
            return Outcome(kept_out=sum(1 for h in fetched
                                        if not h.deleted and h.id not in known))
        return self._update_page(book, fetched, record)

    def _first_sync(self, book: Book, fetched: list[Highlight]) -> Outcome:
        now = self.clock()
        title, name, path, adopted = self._choose_page(book, now)
        if adopted is not None:
            # A page the official plugin wrote: adopted; highlights on it are recognised.
            record = PageRecord(book.id, self.vault.relative(path), name, "active")
            return self._apply(book, record, adopted,
                               lambda page: plan_page(book, fetched, page.text or "", {},
                                                      self.style, now, self.options))
        blocks, records = new_page_records(book, fetched, self.style)
        if not blocks:
            return Outcome()
        text = render_new_page(book, title, blocks, self.style, now)
        if self._dry_run:
            self._write(path, text, None)
        else:
            self._write_new_page(book, PageRecord(book.id, self.vault.relative(path), name,
                                                  "active"), path, text, records)
        self._report.pages_created += 1
        self._report.pages_changed += 1
        return Outcome(new=len(blocks))

    def _write_new_page(self, book: Book, record: PageRecord, path: Path, text: str,
                        highlights: list[HighlightRecord]) -> None:
        """Write a new book's page as a draft; `_remember_new_pages` puts it in place and
        remembers it."""
        new = self._new_pages
        draft = new.drafts.write(path, text)
        new.pages.append(_NewPage(record, book.title, draft, highlights, _digest(text)))
        new.books.add(book.id)
        new.names.add(record.title.casefold())
        new.paths.add(record.path)
        if len(new.pages) >= BATCH_PAGES or new.drafts.size >= BATCH_BYTES:
            self._remember_new_pages()

    def _remember_new_pages(self) -> None:
        """Put the new pages written so far in place (made durable together), then remember
        them (one transaction). A page whose place was taken meanwhile (a file appeared there)
        fails its book, which the next sync fetches again; if the disk fails, every book of the
        batch fails, as a failed write would have failed it. The others go on."""
        new = self._new_pages
        if not new.pages:
            return
        self._new_pages = _NewPages(self.vault)
        self._intend([PendingWrite(page.record.path, page.digest, page.record, page.highlights,
                                   len(page.highlights), 1,
                                   [(page.book_title, len(page.highlights))])
                      for page in new.pages])
        try:
            refused = {draft.path for draft in new.drafts.place()}
        except VaultError as error:
            if not self.vault.root.is_dir():
                raise
            for page in new.pages:
                self._fail_new_page(page, str(error))
            return
        placed = []
        for page in new.pages:
            if page.draft.path in refused:
                self._fail_new_page(page, f"{page.draft.path}: a file appeared there while "
                                          "syncd wrote the page; it is left alone")
            else:
                placed.append(page)
        with self.state.transaction():
            for page in placed:
                device, inode = page.draft.file_id or (None, None)
                self.state.put_page(replace(page.record, size=page.draft.size,
                                            mtime_ns=page.draft.mtime_ns, device=device,
                                            inode=inode))
                self.state.put_highlights(page.highlights)
                if page.record.book_id in self._failed_before:
                    self.state.clear_problem(page.record.book_id, "failed")
            self._count_for_log(sum(len(page.highlights) for page in placed), len(placed),
                                [(page.book_title, len(page.highlights)) for page in placed])

    def _fail_new_page(self, page: _NewPage, error: str) -> None:
        self._fail(page.record.book_id, page.book_title, error)
        self._report.outcome.new -= len(page.highlights)
        self._report.pages_created -= 1
        self._report.pages_changed -= 1

    def forget(self, book_id: int) -> None:
        """Drop what syncd knows of a book's page, so that its next sync creates it anew."""
        with self.state.transaction():
            self.state.delete_book(book_id)
            self._clear_waiting(book_id)

    def _update_page(self, book: Book, fetched: list[Highlight], record: PageRecord) -> Outcome:
        page = self.vault.read(self.vault.path(record.path))
        if page.text is None and not self._dry_run:
            self.reconcile(record)  # moved (followed) or deleted (remembered)?
            record = self.state.page(book.id) or record
            if record.status == "deleted":
                return self._sync_book(book)
            page = self.vault.read(self.vault.path(record.path))
        if page.text is None:
            return Outcome()
        records = self.state.highlights(book.id)
        now = self.clock()
        return self._apply(book, record, page,
                           lambda current: plan_page(book, fetched, current.text or "", records,
                                                     self.style, now, self.options))

    def _apply(self, book: Book, record: PageRecord, page: PageFile,
               make_plan: Callable[[PageFile], PagePlan]) -> Outcome:
        """Plan against the page and write; re-read and plan again if the user wrote it first."""
        for _ in range(WRITE_ATTEMPTS):
            plan = make_plan(page)
            written: PageFile | None = page
            if plan.text is not None:
                if not self._dry_run:
                    self._intend([PendingWrite(
                        self.vault.relative(page.path), _digest(plan.text),
                        replace(record, status="active"), plan.records, plan.outcome.new,
                        1 if plan.outcome.new else 0, [(book.title, plan.outcome.new)])])
                try:
                    written = self._write(page.path, plan.text, page.text)
                except PageChanged:
                    log.info("%s changed while syncing; reading it again", page.path)
                    page = self.vault.read(page.path)
                    if page.text is None:
                        # Deleted or moved meanwhile: not re-created; looked at as a sync
                        # does at its start (a deletion is remembered, a move followed).
                        self._vault_pages = None
                        self.reconcile(record)
                        return self._sync_book(book)
                    continue
            if not self._dry_run and written is not None:
                with self.state.transaction():
                    self._put_page(record, written)
                    self.state.put_highlights(plan.records)
                    self._count_for_log(plan.outcome.new, 1, [(book.title, plan.outcome.new)])
            if plan.text is not None:
                self._report.pages_changed += 1
            return plan.outcome
        raise VaultError(f"{page.path}: kept changing while syncd wrote it; will retry next sync")

    def _choose_page(self, book: Book, now: datetime) -> tuple[str, str, Path, PageFile | None]:
        """Return a new book's page: its title (as the page states it), its name (as syncd and
        the file know it: the title in Logseq, the book's title in Obsidian), its path, and the
        page itself if it is one to adopt.

        Two books never share a page: a name another book has, or a page syncd did not write,
        makes the name (and a Logseq title) distinct with a number; numbers never run out. The
        names taken are known (`PageNames`); only a free name's file is read. The number to try
        first is remembered per name, so that the 1,000th book of one title tries one name, not
        a thousand."""
        fmt = self.style.page_format
        base = page_title(book, self.style, now)
        base_name = base if fmt is LOGSEQ else book.title
        owned = self.state.page_names()
        new = self._new_pages
        hint = (base_name.casefold(), book.category)
        for n in itertools.count(self._name_hints.get(hint, 1)):
            if fmt is LOGSEQ:
                suffix = "" if n == 1 else f" ({n})"
                name, title = base_name + suffix, base + suffix
                path = self.layout.page_path(name, book.category)
            else:
                # Readwise's `x.com-2.md`: the file name numbered, the `# title` as it is.
                name, title = base_name + ("" if n == 1 else f"-{n}"), base
                path = self.layout.page_path(base_name, book.category, number=n,
                                             collapse_spaces=now >= SPACES_COLLAPSED_SINCE)
            relative = self.vault.relative(path)
            if (owned.has_name(name.casefold()) or owned.has_path(relative)
                    or name.casefold() in new.names or relative in new.paths):
                continue
            if fmt is not LOGSEQ:
                # The plugin's file named before 2025 (`UX  UX Booth.md`) is adopted where it is.
                older = self.layout.page_path(base_name, book.category, number=n,
                                              collapse_spaces=False)
                if older != path and not owned.has_path(self.vault.relative(older)):
                    found = self.vault.read(older)
                    if found.text is not None and _written_by_readwise(
                            found.text, fmt.title_line(title), fmt):
                        return title, name, older, found
            existing = self.vault.read(path)
            if existing.text is None or _written_by_readwise(existing.text,
                                                             fmt.title_line(title), fmt):
                self._name_hints[hint] = n + 1
                return title, name, path, existing if existing.text is not None else None
        raise AssertionError("unreachable: page names never run out")

    def _write(self, path: Path, text: str, expected: str | None) -> PageFile | None:
        if self._dry_run:
            self._report.diffs.append(_diff(self.vault.relative(path), expected, text))
            return None
        return self.vault.write(path, text, expected)

    def _put_page(self, record: PageRecord, written: PageFile) -> None:
        device, inode = written.file_id or (None, None)
        self.state.put_page(PageRecord(record.book_id, record.path, record.title, "active",
                                       written.size, written.mtime_ns, device, inode))
        self._clear_waiting(record.book_id)

    def _count_for_log(self, highlights: int, books: int,
                       titles: list[tuple[str, int]]) -> None:
        """In the transaction that records a write: add its new highlights (of `books` books,
        with their titles and counts) to those the sync log has yet to tell of, so that a sync
        killed before its log line is told of by the next one; the write is no longer
        pending."""
        if self.sync_log_page and highlights:
            self._add_unlogged(highlights, books, [[t, n] for t, n in titles])
        self.state.clear_pending()

    def _add_unlogged(self, highlights: int, books: int, titles: list[list[Any]]) -> None:
        """Add to (or, negative, take from) the highlights and books not yet told; in Obsidian,
        whose log names each book, add `titles` ([title, count] of the books added), or take
        that many from the front of those listed (the ones a log line told)."""
        before_highlights, before_books = self._unlogged()
        total = (max(0, before_highlights + highlights), max(0, before_books + books))
        self.state.set(UNLOGGED, f"{total[0]} {total[1]}" if any(total) else None)
        if self.layout.page_format == "obsidian":
            listed = self._unlogged_books()
            if highlights < 0:
                listed = listed[len(titles):]
            else:
                listed += [[t, n] for t, n in titles if n]
            self.state.set(UNLOGGED_BOOKS,
                           json.dumps(listed, ensure_ascii=False) if listed else None)

    def _unlogged_books(self) -> list[list[Any]]:
        """[title, new highlights] of the books the (Obsidian) sync log has yet to tell of."""
        try:
            listed = json.loads(self.state.get(UNLOGGED_BOOKS) or "[]")
        except ValueError:
            return []
        return [item for item in listed if isinstance(item, list) and len(item) == 2
                and isinstance(item[0], str) and isinstance(item[1], int)] \
            if isinstance(listed, list) else []

    def _intend(self, writes: list[PendingWrite]) -> None:
        """Before page writes: remember each (see `PendingWrite`), in a transaction of its own,
        so that a kill between a write and the transaction recording it is healed by the next
        sync (`_settle_writes`), and a state database another process holds stops the sync
        before anything is written."""
        with self.state.transaction():
            self.state.clear_pending()
            self.state.put_pending(writes)

    def _settle_writes(self) -> None:
        """After a kill between page writes and the transaction recording them: a page holding
        the very text that was being written was written, so it is recorded now as that
        transaction would have recorded it (its highlights as written, their count for the sync
        log; for the log page, its line as told). A page that does not hold it was not written,
        or was changed since (which cannot be told apart): its blocks that stand as the write
        meant them are recorded as written, so that they are not taken for the user's edits;
        the rest of the page is looked at as any page is, and the sync log may undercount."""
        pending = self.state.pending()
        if not pending:
            return
        with self.state.transaction():
            for write in pending:
                page = self.vault.read(self.vault.path(write.path))
                if page.text is None:
                    continue
                if _digest(page.text) != write.digest:
                    # Changed since (the user edited it, or it was never written): a block on
                    # it as the write meant it is that highlight as syncd wrote it, not an edit.
                    if write.page is not None and self.state.page(write.page.book_id):
                        self.state.put_highlights(on_page(
                            page.text, {h.highlight_id: h for h in write.highlights},
                            self.style.page_format))
                    continue
                if write.page is not None:
                    log.info("%s was written by a sync that stopped before recording it; "
                             "recorded now", write.path)
                    self._put_page(write.page, page)
                    self.state.put_highlights(write.highlights)
                if self.sync_log_page:
                    self._add_unlogged(write.log_highlights, write.log_books,
                                       [[t, n] for t, n in write.log_titles])
            self.state.clear_pending()

    def _unlogged(self) -> tuple[int, int]:
        """New highlights, and their books, that the sync log has yet to tell of."""
        value = self.state.get(UNLOGGED) or "0 0"
        try:
            highlights, books = (int(n) for n in value.split())
        except ValueError:
            return 0, 0
        return highlights, books

    def _log_sync(self, num_highlights: int, num_books: int, now: datetime) -> None:
        """Append a line to the sync log page, if it is syncd's (or the plugin's) to write."""
        assert self.sync_log_page is not None
        path = self.layout.page_path(self.sync_log_page)
        page = self.vault.read(path)
        if page.text and not _is_sync_log(page.text):
            log.warning("%s is not a sync log page; not writing to it", path)
        else:
            books = [(title, n) for title, n in self._unlogged_books()] \
                if not self._dry_run else []
            entry = render_sync_log_entry(num_highlights, num_books, self.style, now, books)
            text = append_text(page.text or "", entry)
            if not self._dry_run:  # told, once the line is there: see `_settle_writes`
                self._intend([PendingWrite(self.vault.relative(path), _digest(text), None, [],
                                           -num_highlights, -num_books, books)])
            try:
                self._write(path, text, page.text)
            except (PageChanged, VaultError) as error:
                log.warning("sync log page not updated: %s", error)
                if not self._dry_run:
                    with self.state.transaction():
                        self.state.clear_pending()
                return
        if not self._dry_run:
            with self.state.transaction():
                self.state.set(UNLOGGED, None)
                self.state.set(UNLOGGED_BOOKS, None)
                self.state.clear_pending()


def _daily_notes(vault: Path) -> tuple[str | None, str]:
    """An Obsidian vault's daily notes: their folder (None: the vault's root, or not set) and
    the moment.js format of their names (Obsidian's default when not set)."""
    try:
        settings = json.loads((vault / ".obsidian" / "daily-notes.json").read_text("utf-8"))
    except (OSError, ValueError):
        settings = {}
    if not isinstance(settings, dict):
        settings = {}
    folder, fmt = settings.get("folder"), settings.get("format")
    return (folder.strip("/") if isinstance(folder, str) and folder.strip("/") else None,
            fmt if isinstance(fmt, str) and fmt else "YYYY-MM-DD")


def _is_sync_log(text: str) -> bool:
    """True for a sync log page: syncd's (Logseq's `- On ... Readwise synced`), or the one
    Readwise's Obsidian plugin writes (`- [[2023-01-07]] 3:42 AM — Synced 19 highlights`)."""
    return ("Readwise synced" in text or text.startswith("- On")
            or re.match(r"- \[\[[^\]\n]*\]\] \d{1,2}:\d\d [AP]M \u2014 Synced ", text) is not None)


def _id_and_title(record: object) -> tuple[int | None, str]:
    """A record's book id (None when it has no usable one) and title, to name it when it fails:
    read before the record is checked, so that a record that does not fit is named too."""
    if not isinstance(record, Mapping):
        return None, ""
    book_id = record.get("user_book_id")
    title = record.get("readable_title") or record.get("title")
    return (book_id if isinstance(book_id, int) and not isinstance(book_id, bool) else None,
            title if isinstance(title, str) else "")


def _one_line(text: str) -> str:
    """Text as one printable line: white space runs (line breaks too) as one space, a lone
    surrogate as its escape."""
    return " ".join(text.encode("utf-8", "backslashreplace").decode("utf-8").split())


def _after_frontmatter(text: str) -> str:
    """A Markdown page's text after its YAML front matter (`---` ... `---` first), if any."""
    if text.startswith("---\n"):
        end = text.find("\n---\n", 3)
        if end != -1:
            return text[end + 5:]
    return text


def _written_by_readwise(text: str, title_line: str, fmt: PageFormat) -> bool:
    """True for a page the Readwise export (or syncd) wrote, starting with this title line (in
    Obsidian exactly: a title differing in case is another book's)."""
    first = text.split("\n", 1)[0]
    if fmt.name == "obsidian":
        first = _after_frontmatter(text).split("\n", 1)[0]
        return fmt.first_sync_mark in text and first == title_line
    return fmt.first_sync_mark in text and first.casefold() == title_line.casefold()


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _diff(name: str, old: str | None, new: str) -> str:
    lines = difflib.unified_diff((old or "").splitlines(keepends=True),
                                 new.splitlines(keepends=True),
                                 fromfile=f"a/{name}" if old is not None else "/dev/null",
                                 tofile=f"b/{name}")
    return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n"
                   for line in lines)

