"""Writing one sync's pages: new pages in durable batches, updates planned against the page as
it is on disk and re-planned when the user wrote it first, and the sync log's line.

A `PageWriter` lives for one sync (`syncd.engine.run.Run`). It decides nothing about which page
is a book's (`PageFinder` does) nor what a page should say (`syncd.core.plan` does): it names new
pages, writes, and records what it wrote, each write recorded before it is made
(`syncd.engine.pending`).
"""

from __future__ import annotations

import difflib
import itertools
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path

from syncd.core.model import Book, Highlight
from syncd.core.plan import Outcome, PagePlan, new_page_records, nothing_to_plan, plan_page
from syncd.core.records import HighlightRecord, PageRecord, PendingWrite
from syncd.core.render import (
    LOGSEQ,
    PageFormat,
    append_text,
    page_title,
    render_new_page,
    render_sync_log_entry,
)
from syncd.edges.atomic import PageChanged
from syncd.edges.state import State
from syncd.edges.vault import Draft, PageFile
from syncd.engine.finder import PageFinder
from syncd.engine.pending import digest, intend, record_page
from syncd.engine.ports import VaultPort
from syncd.engine.report import SyncReport
from syncd.engine.settings import SyncSettings
from syncd.engine.sync_log import SyncLog, is_sync_log
from syncd.errors import VaultError

log = logging.getLogger("syncd.sync")

WRITE_ATTEMPTS = 5  # re-read and re-plan this often when the user writes a page meanwhile
# New pages are put in place and remembered in batches: made durable together, one transaction
# for this many pages (or this many bytes of page text), instead of an fsync and one each.
BATCH_PAGES = 500
BATCH_BYTES = 8 << 20
# Readwise's export collapses runs of spaces in file names since early 2025; files it named
# before keep them (`UX  UX Booth.md`). A first sync before this moment names them as it did.
SPACES_COLLAPSED_SINCE = datetime(2025, 1, 1, tzinfo=timezone.utc)


class PageLeft(Exception):
    """The book's page left (deleted or moved) while it was being synced; what syncd knows of
    it has been brought in line with the vault: the book is to be looked at again."""


@dataclass
class _NewPage:
    record: PageRecord
    book_title: str
    draft: Draft
    highlights: list[HighlightRecord]
    digest: str = ""  # of the text written (see `pending.settle`)
    spans: list[tuple[int, int] | None] | None = None  # of the blocks in it (PendingWrite)


class _NewPages:
    """New pages written as drafts, not yet in place nor remembered (state)."""

    def __init__(self, vault: VaultPort) -> None:
        self.drafts = vault.drafts()
        self.pages: list[_NewPage] = []
        self.books: set[int] = set()
        self.names: set[str] = set()  # casefolded
        self.paths: set[str] = set()


class PageWriter:
    """Writes the pages of one sync (a dry run: only says what it would write)."""

    def __init__(self, *, vault: VaultPort, state: State, settings: SyncSettings,
                 clock: Callable[[], datetime], finder: PageFinder, sync_log: SyncLog,
                 report: SyncReport, dry_run: bool, failed_before: set[int],
                 fail: Callable[[int | None, str, str], None]) -> None:
        self.vault = vault
        self.state = state
        self.settings = settings
        self.clock = clock
        self.finder = finder
        self.sync_log = sync_log
        self.report = report
        self.dry_run = dry_run
        self.failed_before = failed_before
        self.fail = fail  # fails one book: named, remembered, retried by the next sync
        self._new_pages = _NewPages(vault)
        # (casefolded name, category) -> the number to try first for a clash of that name
        self._name_hints: dict[tuple[str, str], int] = {}

    def is_new(self, book_id: int) -> bool:
        """Whether the book's new page is written but not yet in place nor remembered."""
        return book_id in self._new_pages.books

    def first_sync(self, book: Book, fetched: list[Highlight]) -> Outcome:
        """Write the page of a book syncd has none for (or adopt the official plugin's)."""
        now, style = self.clock(), self.settings.style
        title, name, path, adopted = self._choose_page(book, now)
        if adopted is not None:
            # A page the official plugin wrote: adopted; highlights on it are recognised.
            record = PageRecord(book.id, self.vault.relative(path), name, "active")
            return self._apply(book, record, adopted,
                               lambda page: plan_page(book, fetched, page.text or "", {},
                                                      style, now, self.settings.options))
        blocks, records = new_page_records(book, fetched, style,
                                           self.settings.options.block_ids)
        if not blocks:
            return Outcome()
        text = render_new_page(book, title, blocks, style, now)
        if self.dry_run:
            self._write(path, text, None)
        else:
            self._write_new_page(book, PageRecord(book.id, self.vault.relative(path), name,
                                                  "active"), path, text, records)
        self.report.pages_created += 1
        self.report.pages_changed += 1
        return Outcome(new=len(blocks))

    def _write_new_page(self, book: Book, record: PageRecord, path: Path, text: str,
                        highlights: list[HighlightRecord]) -> None:
        """Write a new book's page as a draft; `remember_new_pages` puts it in place and
        remembers it."""
        new = self._new_pages
        draft = new.drafts.write(path, text)
        new.pages.append(_NewPage(record, book.title, draft, highlights, digest(text),
                                  _spans(text, [h.block for h in highlights])))
        new.books.add(book.id)
        new.names.add(record.title.casefold())
        new.paths.add(record.path)
        if len(new.pages) >= BATCH_PAGES or new.drafts.size >= BATCH_BYTES:
            self.remember_new_pages()

    def remember_new_pages(self) -> None:
        """Put the new pages written so far in place (made durable together), then remember
        them (one transaction). A page whose place was taken meanwhile (a file appeared there)
        fails its book, which the next sync fetches again; if the disk fails, every book of the
        batch fails, as a failed write would have failed it. The others go on."""
        new = self._new_pages
        if not new.pages:
            return
        self._new_pages = _NewPages(self.vault)
        intend(self.state, [PendingWrite(page.record.path, page.digest, page.record,
                                         page.highlights, len(page.highlights), 1,
                                         [(page.book_title, len(page.highlights))],
                                         page.spans)
                            for page in new.pages])
        try:
            refused = {draft.path for draft in new.drafts.place()}
        except VaultError as error:
            if not self.vault.present():
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
                if page.record.book_id in self.failed_before:
                    self.state.clear_problem(page.record.book_id, "failed")
            self._recorded(sum(len(page.highlights) for page in placed), len(placed),
                           [(page.book_title, len(page.highlights)) for page in placed])

    def _fail_new_page(self, page: _NewPage, error: str) -> None:
        self.fail(page.record.book_id, page.book_title, error)
        self.report.outcome.new -= len(page.highlights)
        self.report.pages_created -= 1
        self.report.pages_changed -= 1

    def update_page(self, book: Book, fetched: list[Highlight], record: PageRecord) -> Outcome:
        """Bring the book's page up to date with what Readwise sent. Raise PageLeft if the page
        turns out deleted meanwhile."""
        if (record.size is not None
                and self.vault.stat_relative(record.path) == (record.size, record.mtime_ns)
                and nothing_to_plan(book, fetched, self.state.highlights(book.id),
                                    self.settings.style, self.settings.options)):
            # Fetched again with nothing new (the cursor's overlap brings the books the last
            # sync changed), its page as syncd recorded it (size and mtime, as `scan` trusts
            # them): the plan would change nothing, so the page is not read.
            return Outcome()
        page = self.vault.read(self.vault.path(record.path))
        if page.text is None and not self.dry_run:
            self.finder.reconcile(record)  # moved (followed) or deleted (remembered)?
            record = self.state.page(book.id) or record
            if record.status == "deleted":
                raise PageLeft
            page = self.vault.read(self.vault.path(record.path))
        if page.text is None:
            return Outcome()
        records = self.state.highlights(book.id)
        now, style, options = self.clock(), self.settings.style, self.settings.options
        return self._apply(book, record, page,
                           lambda current: plan_page(book, fetched, current.text or "", records,
                                                     style, now, options))

    def _apply(self, book: Book, record: PageRecord, page: PageFile,
               make_plan: Callable[[PageFile], PagePlan]) -> Outcome:
        """Plan against the page and write; re-read and plan again if the user wrote it first.
        Raise PageLeft if the page was deleted or moved meanwhile."""
        for _ in range(WRITE_ATTEMPTS):
            plan = make_plan(page)
            written: PageFile | None = page
            if plan.text is not None:
                if not self.dry_run:
                    intend(self.state, [PendingWrite(
                        self.vault.relative(page.path), digest(plan.text),
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
                        self.finder.forget_listing()
                        self.finder.reconcile(record)
                        raise PageLeft from None
                    continue
            if not self.dry_run and written is not None:
                with self.state.transaction():
                    record_page(self.state, record, written)
                    self.state.put_highlights(plan.records)
                    self._recorded(plan.outcome.new, 1, [(book.title, plan.outcome.new)])
            if plan.text is not None:
                self.report.pages_changed += 1
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
        fmt, layout = self.settings.style.page_format, self.settings.layout
        base = page_title(book, self.settings.style, now)
        base_name = base if fmt is LOGSEQ else book.title
        owned = self.state.page_names()
        new = self._new_pages
        hint = (base_name.casefold(), book.category)
        for n in itertools.count(self._name_hints.get(hint, 1)):
            if fmt is LOGSEQ:
                suffix = "" if n == 1 else f" ({n})"
                name, title = base_name + suffix, base + suffix
                path = layout.page_path(name, book.category)
            else:
                # Readwise's `x.com-2.md`: the file name numbered, the `# title` as it is.
                name, title = base_name + ("" if n == 1 else f"-{n}"), base
                path = layout.page_path(base_name, book.category, number=n,
                                        collapse_spaces=now >= SPACES_COLLAPSED_SINCE)
            relative = self.vault.relative(path)
            if (owned.has_name(name.casefold()) or owned.has_path(relative)
                    or name.casefold() in new.names or relative in new.paths):
                continue
            if fmt is not LOGSEQ:
                # The plugin's file named before 2025 (`UX  UX Booth.md`) is adopted where it is.
                older = layout.page_path(base_name, book.category, number=n,
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
        if self.dry_run:
            self.report.diffs.append(_diff(self.vault.relative(path), expected, text))
            return None
        return self.vault.write(path, text, expected)

    def _recorded(self, highlights: int, books: int, titles: list[tuple[str, int]]) -> None:
        """In the transaction that records a write: add its new highlights (of `books` books,
        with their titles and counts) to those the sync log has yet to tell of, so that a sync
        killed before its log line is told of by the next one; the write is no longer
        pending."""
        if highlights:
            self.sync_log.add(highlights, books, [[t, n] for t, n in titles])
        self.state.clear_pending()

    def write_sync_log(self, num_highlights: int, num_books: int, now: datetime) -> None:
        """Append a line to the sync log page, if it is syncd's (or the plugin's) to write."""
        assert self.settings.sync_log_page is not None
        path = self.settings.layout.page_path(self.settings.sync_log_page)
        page = self.vault.read(path)
        if page.text and not is_sync_log(page.text):
            log.warning("%s is not a sync log page; not writing to it", path)
        else:
            books = [(title, n) for title, n in self.sync_log.untold_books()] \
                if not self.dry_run else []
            entry = render_sync_log_entry(num_highlights, num_books, self.settings.style, now,
                                          books)
            text = append_text(page.text or "", entry)
            if not self.dry_run:  # told, once the line is there: see `pending.settle`
                intend(self.state, [PendingWrite(self.vault.relative(path), digest(text), None,
                                                 [], -num_highlights, -num_books, books)])
            try:
                self._write(path, text, page.text)
            except (PageChanged, VaultError) as error:
                log.warning("sync log page not updated: %s", error)
                if not self.dry_run:
                    with self.state.transaction():
                        self.state.clear_pending()
                return
        if not self.dry_run:
            with self.state.transaction():
                self.sync_log.told()
                self.state.clear_pending()


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


def _diff(name: str, old: str | None, new: str) -> str:
    lines = difflib.unified_diff((old or "").splitlines(keepends=True),
                                 new.splitlines(keepends=True),
                                 fromfile=f"a/{name}" if old is not None else "/dev/null",
                                 tofile=f"b/{name}")
    return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n"
                   for line in lines)


def _spans(text: str, blocks: list[str]) -> list[tuple[int, int] | None] | None:
    """Where each block is in `text`, in order ([start, end) in characters), None for one not
    in it as it is: what a pending write stores instead of the block (see PendingWrite)."""
    spans: list[tuple[int, int] | None] = []
    at = 0
    for block in blocks:
        start = text.find(block, at) if block else -1
        if start < 0:
            spans.append(None)
        else:
            at = start + len(block)
            spans.append((start, at))
    return spans if any(spans) else None
