"""Following a book's page: one page looked at (`PageFollower.reconcile`), and what follows.

Where a page syncd keeps is not what it last wrote, it is looked at and the rule of
`syncd.core.page_life.ON_LOOK` decides: follow it (moved, or with the user's edits), follow it
back, leave a file of the user's alone, or remember it as deleted or waiting. A page gone from
its place is looked for among the vault's pages by the evidence of `syncd.core.identity`. The
books whose page came back are remembered in the state (`RETURNED`): Readwise is asked again for
all they hold, so that what was kept out while the page was away reaches it, even after a kill
or a restart.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import replace
from pathlib import Path, PurePosixPath

from syncd.core.decision import Status
from syncd.core.identity import (
    Evidence,
    Journals,
    Openings,
    Verdict,
    blocks_found,
    daily_notes,
    never_a_page,
    opening,
    strong,
    which_page,
)
from syncd.core.page_life import LookFacts, PageAct, on_look
from syncd.core.page_reading import observe_page, page_title_of
from syncd.core.records import BookProblem, PageRecord, PageStatus
from syncd.core.render import LOGSEQ, PageFormat
from syncd.engine.layout import Layout
from syncd.errors import VaultError
from syncd.ports import PageFile, StatePort, VaultPort

log = logging.getLogger("syncd.sync")

# A page missing from where syncd left it is looked for in the vault's pages; when that list may
# be older than a move, it is made again, at most this often per sync or scan (so that deleting
# many pages at once costs a few walks of the vault, not one each).
RELISTS = 10
# State key: "B B ...", books whose page came back (or became clear) since their last sync: what
# Readwise has for them is fetched again, whole, so that highlights kept out meanwhile reach the
# page. Kept in the state (not in memory), so that a kill or a restart does not lose them.
RETURNED = "returned_books"


class PageFollower:
    """Brings what syncd knows of one page at a time in line with the vault."""

    def __init__(self, vault: VaultPort, state: StatePort, layout: Layout, fmt: PageFormat) -> None:
        self.vault = vault
        self.state = state
        self.layout = layout
        self.fmt = fmt
        self._vault_pages: list[Path] | None = None
        self._journal_folders: Journals | None = None  # read with the list of pages
        self._relisted = 0  # times `_vault_pages` was made again in this sync or scan

    def forget_listing(self) -> None:
        """The vault's pages may have moved since they were listed: list them again when needed."""
        self._vault_pages = None
        self._relisted = 0

    def check_root(self) -> None:
        """Raise VaultError if the vault folder is missing, or empty (an unmounted disk): then
        pages are not where syncd left them, and none was deleted by the user."""
        if self.vault.missing_or_empty() and any(
            p.status == PageStatus.ACTIVE for p in self.state.pages()
        ):
            raise VaultError(
                f"vault {self.vault.root}: missing or empty (deleted, or a disk "
                "not mounted?); no page is taken for deleted"
            )

    def reconcile(self, record: PageRecord) -> None:
        """Look at one book's page and act as `syncd.core.page_life.ON_LOOK` says: follow it
        (moved, or with the user's edits), follow it back, leave a file of the user's alone,
        or remember it as deleted or waiting."""
        page = self.vault.read(self.vault.path(record.path))
        at_place = page.text is not None
        verdict, moved = Verdict(None), None
        if not at_place:
            self.check_root()
            verdict, moved = self._find_moved(record)
        act = on_look(
            LookFacts(
                status=record.status,
                at_place=at_place,
                strong=at_place
                and record.status != PageStatus.ACTIVE
                and strong(self._evidence(record, page, siblings=(), at_place=True)),
                found=moved is not None,
                unclear=verdict.waiting is not None,
            )
        )
        if act is PageAct.LEAVE_ALONE:
            # Remembered, so that it is not read again until it changes.
            self.state.put_page(replace(record, size=page.size, mtime_ns=page.mtime_ns))
            return
        if act in (PageAct.MARK_DELETED, PageAct.MARK_WAITING):
            self._mark_gone(record, verdict)
            return
        if moved is not None:
            log.info("page %s moved to %s", record.path, self.vault.relative(moved.path))
            page, record = moved, replace(record, path=self.vault.relative(moved.path))
        elif act is PageAct.FOLLOW_BACK:
            log.info("page %s is back", record.path)
        self._follow(record, page)

    def _mark_gone(self, record: PageRecord, verdict: Verdict) -> None:
        """Remember a book's page as deleted, or the book as waiting (`verdict.waiting`: why)."""
        status = PageStatus.WAITING if verdict.waiting else PageStatus.DELETED
        if status == PageStatus.DELETED and record.status == PageStatus.ACTIVE:
            log.info("page %s was deleted; its highlights stay out", record.path)
        with self.state.transaction():
            self.state.put_page(replace(record, status=status, size=None, mtime_ns=None))
            if verdict.waiting:
                log.warning("book %s (%s) waits: %s", record.book_id, record.title, verdict.waiting)
                self.state.put_problem(
                    BookProblem(record.book_id, "waiting", record.title, verdict.waiting)
                )
            else:
                self._clear_waiting(record.book_id)

    def _follow(self, record: PageRecord, page: PageFile) -> None:
        """Record `page` as the book's page, as it is on disk."""
        assert page.text is not None
        fmt = self.fmt
        changed = observe_page(page.text, self.state.highlights(record.book_id), fmt)
        # The name follows a rename: Logseq's `title::`, or an Obsidian file's name.
        title = (
            page_title_of(page.text) if fmt is LOGSEQ else Path(record.path).stem
        ) or record.title
        device, inode = page.file_id or (None, None)
        with self.state.transaction():
            self.state.put_page(
                replace(
                    record,
                    title=title,
                    status=PageStatus.ACTIVE,
                    size=page.size,
                    mtime_ns=page.mtime_ns,
                    device=device,
                    inode=inode,
                    opening=opening(page.text, fmt.first_sync_mark),
                )
            )
            self.state.put_highlights(changed)
            self._clear_waiting(record.book_id)
            if record.status != PageStatus.ACTIVE:
                self.came_back(record.book_id)

    def came_back(self, book_id: int) -> None:
        """A book's page that was deleted (or waited) is its page again: the book is fetched
        again whole by the next sync (see RETURNED). In the caller's transaction."""
        self.set_returned(self.returned_books() | {book_id})

    def returned_books(self) -> set[int]:
        """Books whose page came back and that are yet to be fetched again (see RETURNED)."""
        return {int(n) for n in (self.state.get(RETURNED) or "").split() if n.isdigit()}

    def set_returned(self, books: set[int]) -> None:
        self.state.set(RETURNED, " ".join(str(n) for n in sorted(books)) or None)

    def forget(self, book_id: int) -> None:
        """Drop what syncd knows of a book's page, so that its next sync creates it anew."""
        with self.state.transaction():
            self.state.delete_book(book_id)
            self._clear_waiting(book_id)

    def _clear_waiting(self, book_id: int) -> None:
        self.state.clear_problem(book_id, "waiting")

    def _siblings(self, path: str) -> set[str]:
        return self.vault.siblings(self.vault.path(path))

    def _journals(self) -> Journals:
        """Where the vault keeps journals or daily notes (read again with the list of pages)."""
        if self._journal_folders is None:
            if self.fmt is LOGSEQ:
                self._journal_folders = Journals(self.layout.graph.journals_directory, None)
            else:
                settings = self.vault.read_text(self.vault.path(".obsidian/daily-notes.json"))
                self._journal_folders = Journals(*daily_notes(settings))
        return self._journal_folders

    def _written(self, book_id: int) -> list[str]:
        """The first line of every block syncd last wrote for the book (and still holds as
        written): what content evidence looks for."""
        return [
            rec.block.split("\n", 1)[0].strip()
            for rec in self.state.highlights(book_id).values()
            if rec.status == Status.WRITTEN
        ]

    def _evidence(
        self,
        record: PageRecord,
        page: PageFile,
        siblings: Collection[str],
        at_place: bool = False,
        written: list[str] | None = None,
        openings: Openings | None = None,
    ) -> Evidence:
        """What `page` shows about being the page of `record`'s book (see syncd.core.identity)."""
        assert page.text is not None
        path = self.vault.relative(page.path)
        # A copy named after the book's page ("X 2.md") stays a copy once the page is renamed.
        recorded = PurePosixPath(record.path)
        if recorded.parent == PurePosixPath(path).parent:
            siblings = {*siblings, recorded.name}
        excluded = None if at_place else never_a_page(path, siblings, self._journals())
        title = page_title_of(page.text) if self.fmt is LOGSEQ else None
        if written is None:
            written = self._written(record.book_id)
        marked = self.fmt.first_sync_mark in page.text
        on_page = 0
        if written:
            # Blocks the user edited count too on a page holding syncd's header (not elsewhere:
            # comparing every line of every page would be slow, and a copy is never enough).
            on_page = blocks_found(
                written,
                [line.strip() for line in page.text.split("\n")],
                edited=marked and excluded is None,
            )
        same = record.inode is not None and page.file_id == (record.device, record.inode)
        if openings is None:
            openings = Openings.of(self.state.pages())
        opens_as = openings.books(opening(page.text, self.fmt.first_sync_mark))
        return Evidence(
            path=path,
            excluded=excluded,
            same_file=same,
            at_place=at_place,
            title_matches=title is not None and title.casefold() == record.title.casefold(),
            other_title=title is not None and title.casefold() != record.title.casefold(),
            blocks_on_page=on_page,
            blocks_written=len(written),
            marked=marked,
            page_deleted=record.status == PageStatus.DELETED,
            opens_as_written=opens_as == {record.book_id},
            anothers_opening=bool(opens_as) and record.book_id not in opens_as,
        )

    def _find_moved(self, record: PageRecord) -> tuple[Verdict, PageFile | None]:
        """Find the page of `record`'s book, no longer where it was, among the pages no other
        book has (see syncd.core.identity for the rule). A deleted book's page is found only by
        strong evidence (the same file, its `title::`), never by content."""
        pages = self.state.pages()
        owned = {
            p.path for p in pages if p.status != PageStatus.DELETED and p.book_id != record.book_id
        }
        # A page whose `title::` is another book's is that book's (highlights of two books can
        # read alike, and look like this book's blocks edited).
        titled = (
            {p.title.casefold() for p in pages if p.book_id != record.book_id}
            if self.fmt is LOGSEQ
            else set()
        )
        fresh = self._vault_pages is None
        content = record.status != PageStatus.DELETED
        written = self._written(record.book_id)
        openings = Openings.of(pages)
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
                page = self.vault.read(path, candidate=True)  # a FIFO, say: none
                if not page.text or (page_title_of(page.text) or "").casefold() in titled:
                    continue  # another book's (even of an inode number once this page's)
                found = self._evidence(
                    record, page, folders[path.parent], written=written, openings=openings
                )
                # A deleted book's page is found by strong evidence only.
                if strong(found) or (
                    content
                    and found.excluded is None
                    and (found.blocks_on_page or found.opens_as_written)
                ):
                    candidates[relative] = page
                    evidence.append(found)
            verdict = which_page(evidence)
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
