"""The Syncer: one vault's syncs, and what the daemon tells it between them.

The imperative shell around the pure core (`syncd.core`): the Readwise client, the vault, the
state database and the clock are passed in, with the frozen `SyncSettings`, when it is built;
nothing changes it afterwards. Each `sync` is a `Run` of its own; between syncs the daemon hands
it what the watcher saw (`scan`, `move`), which its `PageFinder` reconciles.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import datetime

from syncd.engine.finder import PageFinder
from syncd.engine.report import SyncReport
from syncd.engine.run import Run
from syncd.engine.sync_log import SyncLog
from syncd.engine.sync_settings import SyncSettings
from syncd.ports import HighlightWriter, ReaderPort, ReadwisePort, StatePort, VaultPort


class Syncer:
    """Runs syncs of one vault with the parts it is given."""

    def __init__(
        self,
        *,
        client: ReadwisePort,
        vault: VaultPort,
        state: StatePort,
        settings: SyncSettings,
        clock: Callable[[], datetime],
        progress: Callable[[int, int, int], None] | None = None,
        should_stop: Callable[[], bool] = lambda: False,
        reader: ReaderPort | None = None,
        writer: HighlightWriter | None = None,
    ) -> None:
        self.client = client
        self.writer = writer  # Readwise's write endpoints, for `sync.push`
        self.reader = reader  # Reader's API, for `sync.reader_full_text`
        self.vault = vault
        self.state = state
        self.settings = settings
        self.clock = clock
        self.progress = progress  # (books done, books in all, highlights done)
        self.should_stop = should_stop  # asked before each book; True: raise Stopped
        self.finder = PageFinder(vault, state, settings.layout, settings.style.page_format)
        self.sync_log = SyncLog(
            state, settings.sync_log_page, lists_books=settings.layout.page_format == "obsidian"
        )

    def sync(
        self,
        *,
        full: bool = False,
        dry_run: bool = False,
        book_ids: list[int] | None = None,
        quiet_before_ns: int | None = None,
    ) -> SyncReport:
        """Run one sync; return its report. Raise SyncdError for what stops the whole sync
        (a state database another process keeps locked among them).

        With `book_ids`, only those books are fetched (whole), and the cursor stays. With
        `quiet_before_ns` (the daemon's push delay), a page saved after it is not pushed yet."""
        try:
            run = Run(
                client=self.client,
                vault=self.vault,
                state=self.state,
                settings=self.settings,
                clock=self.clock,
                finder=self.finder,
                sync_log=self.sync_log,
                progress=self.progress,
                should_stop=self.should_stop,
                dry_run=dry_run,
                reader=self.reader,
                writer=self.writer,
                quiet_before_ns=quiet_before_ns,
            )
            return run.execute(full=full, book_ids=book_ids)
        except sqlite3.Error as error:
            raise self.state.error(error) from None

    def scan(self, only: set[str] | None = None) -> int:
        """Reconcile the pages whose size or mtime changed, the writes a kill interrupted
        settled (see `PageFinder.scan_settled`). Return pages looked at."""
        return self.finder.scan_settled(self.sync_log, only)

    def move(self, source: str, destination: str) -> None:
        """The watcher saw a page renamed or moved (see `PageFinder.move`)."""
        self.finder.move(source, destination)

    def forget(self, book_id: int) -> None:
        """Drop what syncd knows of a book's page, so that its next sync creates it anew."""
        self.finder.forget(book_id)
