"""Writing one sync's pages: new pages in durable batches, updates planned against the page as
it is on disk and re-planned when the user wrote it first, and the sync log's line.

A `PageWriter` lives for one sync (`syncd.engine.run.Run`). It decides nothing about which page
is a book's (`PageFinder` does) nor what a page should say (`syncd.core.plan` does): it names new
pages, writes, and records what it wrote, each write recorded before it is made
(`syncd.engine.pending`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from syncd.core.identity import opening
from syncd.core.model import Book, Highlight
from syncd.core.plan import Outcome, PagePlan, new_page_records, nothing_to_plan, plan_page
from syncd.core.records import HighlightRecord, PageRecord, PageStatus, PendingWrite
from syncd.core.render import (
    append_text,
    render_new_page,
    render_sync_log_entry,
)
from syncd.edges.atomic import PageChanged
from syncd.edges.vault import Draft, PageFile
from syncd.engine.finder import PageFinder
from syncd.engine.full_texts import FullTexts
from syncd.engine.naming import PageNamer
from syncd.engine.pending import block_spans, digest, intend, record_page
from syncd.engine.ports import StatePort, VaultPort
from syncd.engine.report import SyncReport, unified_diff
from syncd.engine.settings import SyncSettings
from syncd.engine.sync_log import SyncLog, is_sync_log
from syncd.errors import VaultError

log = logging.getLogger("syncd.sync")

WRITE_ATTEMPTS = 5  # re-read and re-plan this often when the user writes a page meanwhile
# New pages are put in place and remembered in batches: made durable together, one transaction
# for this many pages (or this many bytes of page text), instead of an fsync and one each.
BATCH_PAGES = 500
BATCH_BYTES = 8 << 20


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

    def __init__(
        self,
        *,
        vault: VaultPort,
        state: StatePort,
        settings: SyncSettings,
        clock: Callable[[], datetime],
        finder: PageFinder,
        sync_log: SyncLog,
        report: SyncReport,
        dry_run: bool,
        failed_before: set[int],
        fail: Callable[[int | None, str, str], None],
        full_texts: FullTexts,
    ) -> None:
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
        self.full_texts = full_texts
        self._new_pages = _NewPages(vault)
        self.namer = PageNamer(vault, state, settings)

    def page_of(self, book_id: int) -> PageRecord | None:
        """The record of a book's page: the new one written this sync, or the one remembered."""
        new = [page.record for page in self._new_pages.pages if page.record.book_id == book_id]
        return new[-1] if new else self.state.page(book_id)

    def is_new(self, book_id: int) -> bool:
        """Whether the book's new page is written but not yet in place nor remembered."""
        return book_id in self._new_pages.books

    def first_sync(self, book: Book, fetched: list[Highlight]) -> Outcome:
        """Write the page of a book syncd has none for (or adopt the official plugin's)."""
        now, style = self.clock(), self.settings.style
        title, name, path, adopted = self.namer.choose(
            book, now, self._new_pages.names, self._new_pages.paths
        )
        if adopted is not None:
            # A page the official plugin wrote: adopted; highlights on it are recognised.
            record = PageRecord(book.id, self.vault.relative(path), name, PageStatus.ACTIVE)
            return self._apply(
                book,
                record,
                adopted,
                lambda page: plan_page(
                    book, fetched, page.text or "", {}, style, now, self.settings.options
                ),
            )
        blocks, records = new_page_records(book, fetched, style, self.settings.options.block_ids)
        if not blocks:
            return Outcome()
        link = self.full_texts.link(book, path, name)
        text = render_new_page(book, title, blocks, style, now, link)
        if self.dry_run:
            self._write(path, text, None)
        else:
            mark = style.page_format.first_sync_mark
            self._write_new_page(
                book,
                PageRecord(
                    book.id,
                    self.vault.relative(path),
                    name,
                    PageStatus.ACTIVE,
                    opening=opening(text, mark),
                ),
                path,
                text,
                records,
            )
        self.report.pages_created += 1
        self.report.pages_changed += 1
        return Outcome(new=len(blocks))

    def _write_new_page(
        self,
        book: Book,
        record: PageRecord,
        path: Path,
        text: str,
        highlights: list[HighlightRecord],
    ) -> None:
        """Write a new book's page as a draft; `remember_new_pages` puts it in place and
        remembers it."""
        new = self._new_pages
        draft = new.drafts.write(path, text)
        new.pages.append(
            _NewPage(
                record,
                book.title,
                draft,
                highlights,
                digest(text),
                block_spans(text, [h.block for h in highlights]),
            )
        )
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
        intend(
            self.state,
            [
                PendingWrite(
                    page.record.path,
                    page.digest,
                    page.record,
                    page.highlights,
                    len(page.highlights),
                    1,
                    [(page.book_title, len(page.highlights))],
                    page.spans,
                )
                for page in new.pages
            ],
        )
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
                self._fail_new_page(
                    page,
                    f"{page.draft.path}: a file appeared there while "
                    "syncd wrote the page; it is left alone",
                )
            else:
                placed.append(page)
        with self.state.transaction():
            for page in placed:
                device, inode = page.draft.file_id or (None, None)
                self.state.put_page(
                    replace(
                        page.record,
                        size=page.draft.size,
                        mtime_ns=page.draft.mtime_ns,
                        device=device,
                        inode=inode,
                    )
                )
                self.state.put_highlights(page.highlights)
                if page.record.book_id in self.failed_before:
                    self.state.clear_problem(page.record.book_id, "failed")
            self._recorded(
                sum(len(page.highlights) for page in placed),
                len(placed),
                [(page.book_title, len(page.highlights)) for page in placed],
            )

    def _fail_new_page(self, page: _NewPage, error: str) -> None:
        self.fail(page.record.book_id, page.book_title, error)
        self.report.outcome.new -= len(page.highlights)
        self.report.pages_created -= 1
        self.report.pages_changed -= 1

    def update_page(self, book: Book, fetched: list[Highlight], record: PageRecord) -> Outcome:
        """Bring the book's page up to date with what Readwise sent. Raise PageLeft if the page
        turns out deleted meanwhile."""
        if (
            record.size is not None
            and self.vault.stat_relative(record.path) == (record.size, record.mtime_ns)
            and nothing_to_plan(
                book,
                fetched,
                self.state.highlights(book.id),
                self.settings.style,
                self.settings.options,
            )
        ):
            # Fetched again with nothing new (the cursor's overlap brings the books the last
            # sync changed), its page as syncd recorded it (size and mtime, as `scan` trusts
            # them): the plan would change nothing, so the page is not read.
            return Outcome()
        page = self.vault.read(self.vault.path(record.path))
        if page.text is None and not self.dry_run:
            self.finder.reconcile(record)  # moved (followed) or deleted (remembered)?
            record = self.state.page(book.id) or record
            if record.status == PageStatus.DELETED:
                raise PageLeft
            page = self.vault.read(self.vault.path(record.path))
        if page.text is None:
            return Outcome()
        records = self.state.highlights(book.id)
        now, style, options = self.clock(), self.settings.style, self.settings.options
        return self._apply(
            book,
            record,
            page,
            lambda current: plan_page(
                book, fetched, current.text or "", records, style, now, options
            ),
        )

    def _apply(
        self,
        book: Book,
        record: PageRecord,
        page: PageFile,
        make_plan: Callable[[PageFile], PagePlan],
    ) -> Outcome:
        """Plan against the page and write; re-read and plan again if the user wrote it first.
        Raise PageLeft if the page was deleted or moved meanwhile."""
        for _ in range(WRITE_ATTEMPTS):
            plan = make_plan(page)
            written: PageFile | None = page
            if plan.text is not None:
                if not self.dry_run:
                    intend(
                        self.state,
                        [
                            PendingWrite(
                                self.vault.relative(page.path),
                                digest(plan.text),
                                replace(record, status=PageStatus.ACTIVE),
                                plan.records,
                                plan.outcome.new,
                                1 if plan.outcome.new else 0,
                                [(book.title, plan.outcome.new)],
                            )
                        ],
                    )
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
                    record_page(self.state, record, written, self.settings.style.page_format)
                    self.state.put_highlights(plan.records)
                    self._recorded(plan.outcome.new, 1, [(book.title, plan.outcome.new)])
            if plan.text is not None:
                self.report.pages_changed += 1
            return plan.outcome
        raise VaultError(f"{page.path}: kept changing while syncd wrote it; will retry next sync")

    def _write(self, path: Path, text: str, expected: str | None) -> PageFile | None:
        if self.dry_run:
            self.report.diffs.append(unified_diff(self.vault.relative(path), expected, text))
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
            books = (
                [(title, n) for title, n in self.sync_log.untold_books()]
                if not self.dry_run
                else []
            )
            entry = render_sync_log_entry(
                num_highlights, num_books, self.settings.style, now, books
            )
            text = append_text(page.text or "", entry)
            if not self.dry_run:  # told, once the line is there: see `pending.settle`
                intend(
                    self.state,
                    [
                        PendingWrite(
                            self.vault.relative(path),
                            digest(text),
                            None,
                            [],
                            -num_highlights,
                            -num_books,
                            books,
                        )
                    ],
                )
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
