"""Finding what the user did to the pages since syncd last looked: `PageFinder`.

It scans the pages syncd keeps (`scan`: only those whose size or mtime changed are read), looks
again for the books that wait, follows what the watcher saw moved (`move`) or appear
(`came_back_here`), and has the pages that left the vault searched for once per change of it
(`syncd.engine.lookout`). Each page found changed is followed as `PageFollower` does.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from syncd.core.identity import Openings, never_a_page, opening, strong
from syncd.core.page_reading import page_title_of
from syncd.core.records import PageRecord, PageStatus, stamp_of
from syncd.core.render import LOGSEQ
from syncd.engine.follower import PageFollower
from syncd.engine.lookout import look_for_returned
from syncd.engine.pending import digest, parked_texts, settle
from syncd.engine.sync_log import SyncLog
from syncd.errors import VaultError

log = logging.getLogger("syncd.sync")


class PageFinder(PageFollower):
    """Keeps what syncd knows of its pages in line with the vault."""

    def scan_settled(self, sync_log: SyncLog, only: set[str] | None = None) -> int:
        """`scan`, once the writes a kill interrupted are settled (see `pending.settle`; those
        whose page moved unseen, once the scan found it): a block such a write put on a page
        is syncd's, even if the user edits it before the next sync. Return pages looked at."""
        settle(self.vault, self.state, self.fmt, sync_log, self.came_back, final=False)
        looked = self.scan(only)
        settle(self.vault, self.state, self.fmt, sync_log, self.came_back)
        return looked

    def scan(self, only: set[str] | None = None) -> int:
        """Compare every page syncd keeps (or those at the paths in `only`) with what it wrote;
        a page whose size and mtime did not change is not read. A deleted (or waiting) book's
        page costs a stat of where it was: a file back there is looked at. Paths in `only` that
        no book has are looked at as pages that may have come back elsewhere. Return pages
        looked at. Raise VaultError if the vault folder itself is gone: no page is then taken
        for deleted."""
        self.check_root()
        self.forget_listing()  # a page moved since the list was made must be found
        looked = 0
        # The daemon's few paths: their records only (not every page's, for every save). Every
        # page: its stamp, the record read only of a page that changed (as it is now: looking
        # at a page before it may have changed another's).
        few = only is not None and len(only) <= 500
        if few and only is not None:
            stamps = [stamp_of(record) for record in self.state.pages_at(only)]
        else:
            stamps = self.state.page_stamps()
        active = str(PageStatus.ACTIVE)
        unread = []  # pages an older syncd recorded, their opening not known yet: read once
        for book_id, path, status, size, mtime_ns, opening_known in stamps:
            if only is not None and path not in only:
                continue
            stat = self.vault.stat_relative(path)
            if stat is not None and stat == (size, mtime_ns):
                if not opening_known and status == active:
                    unread.append(book_id)
                continue
            if status != active and stat is None:
                continue
            record = self.state.page(book_id)
            if record is None or record.path != path:
                continue  # looked at (and followed) while another page was
            looked += 1
            try:
                self.reconcile(record)
            except VaultError as error:  # e.g. a folder where the page was: left for later
                self.check_root()
                log.error("page %s: %s", record.path, error)
        if unread:  # once per page an older syncd recorded: no transaction on every scan
            with self.state.transaction():
                for book_id in unread:
                    record = self.state.page(book_id)
                    if record is None or record.opening is not None:
                        continue
                    text = self.vault.read(self.vault.path(record.path)).text or ""
                    self.state.put_page(
                        replace(record, opening=opening(text, self.fmt.first_sync_mark))
                    )
        if only is not None:
            known = {stamp[1] for stamp in stamps}
            for path in sorted(only - known):
                looked += self.came_back_here(path)
        elif any(r.inode is not None for r in self.state.pages(PageStatus.DELETED)):
            # As the pages just looked at left them: a page seen deleted is looked for now.
            looked += self._look_for_returned(self.state.pages())
        return looked

    def _look_for_returned(self, records: list[PageRecord]) -> int:
        """Find the pages of deleted books that came back elsewhere in the vault while syncd
        did not watch (see `syncd.engine.lookout.look_for_returned`). Return pages read."""
        parked = parked_texts(self.state)

        def written_here(path: str) -> int:
            return self._written_here(path, parked)

        here = written_here if parked else None
        return look_for_returned(self.vault, self.state, records, self.came_back_here, here)

    def _written_here(self, path: str, parked: dict[str, int]) -> int:
        """A page no book has appeared at `path`: if it holds exactly the text a write a kill
        left unrecorded was writing (see `pending.parked_texts`) for a book whose page is
        deleted, it is that book's page, come back (the write made it a new file, whose
        identity syncd never recorded); unless no page is ever there (a file-sync tool's
        copy of it holds that text too: world seed 1290752023; its folder is listed only for a
        page that holds such a text). Return 1 (the page was read)."""
        page = self.vault.read(self.vault.path(path))
        if page.text is None:
            return 1
        book_id = parked.get(digest(page.text))
        record = None if book_id is None else self.state.page(book_id)
        if (
            record is not None
            and record.status == PageStatus.DELETED
            and never_a_page(path, self._siblings(path), self._journals()) is None
        ):
            log.info("page of book %s is back, at %s", record.book_id, path)
            self._follow(replace(record, path=path), page)
        return 1

    def look_for_waiting(self) -> None:
        """Look again for the page of every book that waits (the vault is walked once, and
        only when some book waits)."""
        for record in self.state.pages(PageStatus.WAITING):
            self.reconcile(record)

    def move(self, source: str, destination: str) -> None:
        """The watcher saw a page renamed or moved: follow it, unless it went where a book's
        page never is (a journal, a file-sync tool's copy): then it is looked for as gone."""
        self._vault_pages = None
        for record in self.state.pages_at([source]):
            # A waiting book's page is still where syncd left it until this move; a deleted
            # book's page that came back is looked at below, on its evidence.
            if record.status != PageStatus.DELETED:
                if never_a_page(destination, self._siblings(destination), self._journals()) is None:
                    record = replace(record, path=destination)
                self.reconcile(record)
        self.came_back_here(destination)

    def came_back_here(self, path: str, records: list[PageRecord] | None = None) -> int:
        """A page appeared at `path` (the watcher said so): if it is, by strong evidence (the
        same file, its `title::`), the page of a book whose page had left, follow it. Return
        1 if the page was read. `records`: every page record (None: read when needed, so that
        a save of the user's costs no more when syncd keeps many pages)."""
        # Waiting books are decided by looking at every page: before each sync.
        if records is None:
            gone = self.state.pages(PageStatus.DELETED)
            if not gone or self.state.pages_at([path]):
                return 0
        else:
            gone = [r for r in records if r.status == PageStatus.DELETED]
            if not gone or any(r.path == path for r in records):
                return 0
        page = self.vault.read(self.vault.path(path))
        if page.text is None:
            return 1
        title = (page_title_of(page.text) or "").casefold() if self.fmt is LOGSEQ else None
        siblings: set[str] | None = None
        openings: Openings | None = None
        for record in gone:
            if (
                record.inode is None or page.file_id != (record.device, record.inode)
            ) and title != record.title.casefold():
                continue  # neither the same file nor its title: not even a candidate
            if records is None or siblings is None or openings is None:
                records = self.state.pages() if records is None else records
                siblings = self._siblings(path)
                openings = Openings.of(records)
            if (
                title
                and title != record.title.casefold()
                and any(r.title.casefold() == title for r in records if r.book_id != record.book_id)
            ):
                continue  # its `title::` is another book's: that book's page
            if strong(self._evidence(record, page, siblings, openings=openings)):
                log.info("page of book %s is back, at %s", record.book_id, path)
                self._follow(replace(record, path=path), page)
                break
        return 1
