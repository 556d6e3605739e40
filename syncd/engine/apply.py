"""Applying one sync's plans: pages written through the vault, what was written remembered in
the state, in one transaction per page (new pages: per batch).

`Applier` is what a `syncd.engine.run.Run` does with what it decided; `PlanApplier` does it, and
`syncd.engine.dry_run.PlanPrinter` only prints it. Nothing here decides: the page's act and text
come in a `BookPlan` (`syncd.core.book_plan`). Each write is recorded before it is made
(`syncd.engine.pending`), so a kill between the two is healed by the next sync.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from syncd.core.page_life import PageAct, PageStatus
from syncd.core.records import BookProblem, HighlightRecord, PageRecord, PendingWrite
from syncd.edges.atomic import PageChanged
from syncd.engine.finder import PageFinder
from syncd.engine.pending import (
    block_spans,
    digest,
    forget_made,
    intend,
    record_page,
)
from syncd.engine.push import PUSH_SEEN, Pusher
from syncd.engine.report import SyncReport
from syncd.engine.sync_log import SyncLog, sync_log_update
from syncd.engine.sync_settings import SyncSettings
from syncd.errors import VaultError
from syncd.ports import Draft, PageFile, StatePort, VaultPort

if TYPE_CHECKING:  # plans come from the planner, built when a sync plans its first book
    from syncd.core.book_plan import BookPlan

log = logging.getLogger("syncd.sync")

# New pages are put in place and remembered in batches: made durable together, one transaction
# for this many pages (or this many bytes of page text), instead of an fsync and one each.
BATCH_PAGES = 500
BATCH_BYTES = 8 << 20
# State key: "on" once a sync ran with `sync.block_ids` on (turned on: every book is fetched once).
BLOCK_IDS = "block_ids"
# State key: "1" once a sync ended well (cleared as the next begins). Only a sync that did not
# (killed, or stopped by an error) can have left temporary files: the next sync looks for them
# (in the folders of new pages and of every page), not every sync (a folder of the user's, where
# they moved a page, holds their notes too).
ENDED_WELL = "ended_well"


class Applier(Protocol):
    """What a sync does with what it decided (see the module doc)."""

    def prepare(self) -> None:
        """Before the first request: heal what a kill left, and look at the pages."""

    def look(self, record: PageRecord) -> PageRecord:
        """Look for a book's page (see `PageFinder.reconcile`); return its record now."""

    def apply(self, plan: BookPlan) -> None:
        """Carry out one book's plan. Raise PageChanged if the user wrote the page first."""

    def flush(self) -> None:
        """Put the new pages planned so far in place, and remember them."""

    def remember_failure(self, problem: BookProblem) -> None:
        """Remember that a book failed: the next syncs fetch it again, by id."""

    def succeeded(self, book_id: int) -> None:
        """Forget that a book failed before."""

    def fetched_again(self, returned: set[int], gone: set[int]) -> None:
        """Books whose page came back were fetched again; books failed before are gone."""

    def write_sync_log(self, highlights: int, books: int, started: datetime) -> None:
        """Tell the sync log page of this sync's new highlights."""

    def finish(self, cursor: str | None, block_ids: bool) -> None:
        """Remember where the next sync starts."""

    def ended_well(self) -> None:
        """Remember that the sync ended well (the next need not look for a crash's leftovers)."""


@dataclass
class _NewPage:
    plan: BookPlan
    draft: Draft
    digest: str  # of the text written (see `pending.settle`)
    spans: list[tuple[int, int] | None] | None  # of the blocks in it (PendingWrite)


class PlanHandler:
    """What carrying out one sync's plans works with, whether it applies them or prints them."""

    def __init__(
        self,
        *,
        vault: VaultPort,
        state: StatePort,
        settings: SyncSettings,
        finder: PageFinder,
        sync_log: SyncLog,
        report: SyncReport,
    ) -> None:
        self.vault = vault
        self.state = state
        self.settings = settings
        self.finder = finder
        self.sync_log = sync_log
        self.report = report


class PlanApplier(PlanHandler):
    """Applies the plans of one sync (see the module doc)."""

    def __init__(
        self,
        *,
        fail: Callable[[int | None, str, str], None],
        failed_before: set[int],
        pusher: Pusher,
        **parts: Any,
    ) -> None:
        super().__init__(**parts)
        self.pusher = pusher  # sends a plan's pushes to Readwise (two-way sync)
        self.fail = fail  # fails one book: named, remembered, fetched again by the next sync
        self.failed_before = failed_before
        self._drafts = self.vault.drafts()
        self._new: list[_NewPage] = []

    def prepare(self) -> None:
        if self.state.get(ENDED_WELL) is None:
            self._remove_temporary_files()
        self.state.set(ENDED_WELL, None)  # until this sync ends well
        self.finder.scan_settled(self.sync_log)
        self.finder.look_for_waiting()

    def _remove_temporary_files(self) -> None:
        """A crash's leftovers: in the folders new pages go to and next to pages the user
        moved (where the writes a kill interrupted were going: `settle`). (Told apart by their
        relative, '/'-separated names: a Path per folder, not per page.)"""
        layout = self.settings.layout
        folders = {path.rpartition("/")[0] for path in self.state.page_paths(PageStatus.ACTIVE)}
        # (Logseq writes every new page into the pages folder: not listed for its folders.)
        subfolders = self.vault.subfolders(layout.pages) if layout.page_format == "obsidian" else ()
        for folder in {*layout.new_page_folders(subfolders)} | {
            self.vault.path(folder) for folder in folders
        }:
            self.vault.remove_temporary_files(folder)

    def look(self, record: PageRecord) -> PageRecord:
        self.finder.reconcile(record)
        return self.state.page(record.book_id) or record

    def apply(self, plan: BookPlan) -> None:
        if plan.act is PageAct.RECREATE:
            self.finder.forget(plan.book_id)
        elif plan.new_file:
            self._write_new_page(plan)
        elif plan.seen is not None:  # planned against a page that is there
            self._write_page(plan)

    def _write_new_page(self, plan: BookPlan) -> None:
        """Write a new book's page as a draft; `flush` puts it in place and remembers it."""
        assert plan.page is not None and plan.after is not None
        draft = self._drafts.write(self.vault.path(plan.page.path), plan.after)
        spans = block_spans(plan.after, [h.block for h in plan.highlights])
        self._new.append(_NewPage(plan, draft, digest(plan.after), spans))
        if len(self._new) >= BATCH_PAGES or self._drafts.size >= BATCH_BYTES:
            self.flush()

    def flush(self) -> None:
        """Put the new pages written so far in place (made durable together), then remember
        them (one transaction). A page whose place was taken meanwhile (a file appeared there)
        fails its book, which the next sync fetches again; if the disk fails, every book of the
        batch fails, as a failed write would have failed it. The others go on."""
        new, self._new = self._new, []
        if not new:
            return
        drafts, self._drafts = self._drafts, self.vault.drafts()
        intend(
            self.state,
            [
                PendingWrite(
                    page.plan.page.path,
                    page.digest,
                    page.plan.page,
                    page.plan.highlights,
                    len(page.plan.highlights),
                    1,
                    [(page.plan.title, len(page.plan.highlights))],
                    page.spans,
                )
                for page in new
                if page.plan.page is not None
            ],
        )
        try:
            refused = {draft.path for draft in drafts.place()}
        except VaultError as error:
            if not self.vault.present():
                raise
            for page in new:
                self._fail_new_page(page.plan, str(error))
            return
        placed = []
        for page in new:
            if page.draft.path in refused:
                self._fail_new_page(
                    page.plan,
                    f"{page.draft.path}: a file appeared there while "
                    "syncd wrote the page; it is left alone",
                )
            else:
                placed.append(page)
        with self.state.transaction():
            for page in placed:
                assert page.plan.page is not None
                device, inode = page.draft.file_id or (None, None)
                self.state.put_page(
                    replace(
                        page.plan.page,
                        size=page.draft.size,
                        mtime_ns=page.draft.mtime_ns,
                        device=device,
                        inode=inode,
                    )
                )
                self.state.put_highlights(page.plan.highlights)
                if self.settings.push:  # a new page: nothing of the user's to look at yet
                    self.state.set(f"{PUSH_SEEN}{page.plan.book_id}", str(page.draft.mtime_ns))
                if page.plan.book_id in self.failed_before:
                    self.state.clear_problem(page.plan.book_id, "failed")
            self._recorded(
                sum(len(page.plan.highlights) for page in placed),
                len(placed),
                [(page.plan.title, len(page.plan.highlights)) for page in placed],
            )

    def _fail_new_page(self, plan: BookPlan, error: str) -> None:
        self.fail(plan.book_id, plan.title, error)
        self.report.outcome.new -= len(plan.highlights)
        self.report.pages_created -= 1
        self.report.pages_changed -= 1

    def _write_page(self, plan: BookPlan) -> None:
        """Write a page that is there (if its text changes) and remember it, in one
        transaction. Raise PageChanged if the user wrote it first."""
        assert plan.page is not None and plan.seen is not None
        for skipped in plan.skipped:  # edits two-way sync leaves alone, and why
            log.info("%s", skipped.why)
        sent = self.pusher.push(plan)  # first: the page records what Readwise now holds
        # A highlight whose push failed keeps its record (its edit is looked at again).
        kept = [h for h in plan.highlights if h.highlight_id not in sent.failed]
        try:
            written = self._write_text(plan, kept)
        except PageChanged:
            with self.state.transaction():  # what was sent is settled; the page is planned anew
                self.pusher.record(replace(plan, pushes=[], settled=[]), sent)
            raise
        with self.state.transaction():
            record_page(self.state, plan.page, written, self.settings.style.page_format)
            self.state.put_highlights(kept)
            self.pusher.record(plan, sent)
            if plan.pushes_looked and not sent.failed:  # a push that failed: looked at again
                self.state.set(f"{PUSH_SEEN}{plan.book_id}", str(written.mtime_ns))
            self._recorded(plan.outcome.new, 1, [(plan.title, plan.outcome.new)])

    def _write_text(self, plan: BookPlan, highlights: list[HighlightRecord]) -> PageFile:
        """Write the page's new text, if it changes, recorded first as pending with the
        `highlights` its record takes; return the page as it is then."""
        assert plan.page is not None and plan.seen is not None
        written: PageFile
        if plan.after is not None:
            intend(
                self.state,
                [
                    PendingWrite(
                        plan.page.path,
                        digest(plan.after),
                        replace(plan.page, status=PageStatus.ACTIVE),
                        highlights,
                        plan.outcome.new,
                        1 if plan.outcome.new else 0,
                        [(plan.title, plan.outcome.new)],
                    )
                ],
            )
            written = self.vault.write(self.vault.path(plan.page.path), plan.after, plan.before)
        else:
            seen = plan.seen
            written = PageFile(
                self.vault.path(plan.page.path), plan.before, seen.size, seen.mtime_ns, seen.file_id
            )
        return written

    def _recorded(self, highlights: int, books: int, titles: list[tuple[str, int]]) -> None:
        """In the transaction that records a write: add its new highlights (of `books` books,
        with their titles and counts) to those the sync log has yet to tell of, so that a sync
        killed before its log line is told of by the next one; the write is no longer
        pending."""
        if highlights:
            self.sync_log.add(highlights, books, [[t, n] for t, n in titles])
        forget_made(self.state)

    def remember_failure(self, problem: BookProblem) -> None:
        self.state.put_problem(problem)

    def succeeded(self, book_id: int) -> None:
        self.state.clear_problem(book_id, "failed")

    def fetched_again(self, returned: set[int], gone: set[int]) -> None:
        if returned & self.finder.returned_books():
            with self.state.transaction():
                self.finder.set_returned(self.finder.returned_books() - returned)
        for book_id in gone:
            self.state.clear_problem(book_id, "failed")

    def write_sync_log(self, highlights: int, books: int, started: datetime) -> None:
        """Append a line to the sync log page, if it is syncd's (or the plugin's) to write."""
        told = [(str(title), int(n)) for title, n in self.sync_log.untold_books()]
        update = sync_log_update(self.vault, self.settings, highlights, books, started, told)
        if update is not None:
            path, before, after = update
            # Told once the line is there: see `pending.settle`.
            intend(
                self.state,
                [
                    PendingWrite(
                        self.vault.relative(path),
                        digest(after),
                        None,
                        [],
                        -highlights,
                        -books,
                        told,
                    )
                ],
            )
            try:
                self.vault.write(path, after, before)
            except (PageChanged, VaultError) as error:
                log.warning("sync log page not updated: %s", error)
                with self.state.transaction():
                    forget_made(self.state)
                return
        with self.state.transaction():
            self.sync_log.told()
            forget_made(self.state)

    def finish(self, cursor: str | None, block_ids: bool) -> None:
        self.state.set("cursor", cursor)
        self.state.set(BLOCK_IDS, "on" if block_ids else None)

    def ended_well(self) -> None:
        self.state.set(ENDED_WELL, "1")
