"""Page writes recorded before they are made, and settled after a kill.

Before syncd writes a page it records the write (`intend`: the path, a digest of the new text,
and what the transaction after the write will record), in a transaction of its own. A kill
between the write and that transaction is healed by the next sync (`settle`); a state database
another process holds stops the sync before anything is written.
"""

from __future__ import annotations

import hashlib
import logging

from syncd.core.identity import opening
from syncd.core.plan import on_page
from syncd.core.records import PageRecord, PageStatus, PendingWrite
from syncd.core.render import PageFormat
from syncd.engine.sync_log import SyncLog
from syncd.ports import PageFile, StatePort, VaultPort

log = logging.getLogger("syncd.sync")


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def intend(state: StatePort, writes: list[PendingWrite]) -> None:
    """Before page writes: remember each, in a transaction of its own."""
    with state.transaction():
        state.clear_pending()
        state.put_pending(writes)


def record_page(state: StatePort, record: PageRecord, written: PageFile, fmt: PageFormat) -> None:
    """Remember `written` as the book's page, as it is on disk (in the caller's transaction)."""
    device, inode = written.file_id or (None, None)
    state.put_page(
        PageRecord(
            record.book_id,
            record.path,
            record.title,
            PageStatus.ACTIVE,
            written.size,
            written.mtime_ns,
            device,
            inode,
            opening(written.text or "", fmt.first_sync_mark),
        )
    )
    state.clear_problem(record.book_id, "waiting")


def settle(vault: VaultPort, state: StatePort, fmt: PageFormat, sync_log: SyncLog) -> None:
    """After a kill between page writes and the transaction recording them: a page holding
    the very text that was being written was written, so it is recorded now as that
    transaction would have recorded it (its highlights as written, their count for the sync
    log; for the log page, its line as told). A page that does not hold it was not written,
    or was changed since (which cannot be told apart): its blocks that stand as the write
    meant them are recorded as written, so that they are not taken for the user's edits;
    the rest of the page is looked at as any page is, and the sync log may undercount."""
    pending = state.pending()
    if not pending:
        return
    # A kill before a replace leaves the temporary file beside where the page was going: once
    # the write is settled, nothing remembers that folder (the page may have moved on since).
    for folder in {write.path.rpartition("/")[0] for write in pending}:
        vault.remove_temporary_files(vault.path(folder))
    with state.transaction():
        for write in pending:
            page = vault.read(vault.path(write.path))
            if page.text is None:
                continue
            if digest(page.text) != write.digest:
                # Changed since (the user edited it, or it was never written): a block on it
                # as the write meant it is that highlight as syncd wrote it, not an edit.
                if write.page is not None and state.page(write.page.book_id):
                    state.put_highlights(
                        on_page(page.text, {h.highlight_id: h for h in write.blocks_known()}, fmt)
                    )
                continue
            if write.page is not None:
                log.info(
                    "%s was written by a sync that stopped before recording it; recorded now",
                    write.path,
                )
                record_page(state, write.page, page, fmt)
                state.put_highlights(write.written(page.text))
            sync_log.add(
                write.log_highlights, write.log_books, [[t, n] for t, n in write.log_titles]
            )
        state.clear_pending()


def block_spans(text: str, blocks: list[str]) -> list[tuple[int, int] | None] | None:
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
