"""Page writes recorded before they are made, and settled after a kill.

Before syncd writes a page it records the write (`intend`: the path, a digest of the new text,
and what the transaction after the write will record), in a transaction of its own. A kill
between the write and that transaction is healed by the next sync (`settle`); a state database
another process holds stops the sync before anything is written. A write whose page left the
vault before it was settled waits (parked) until the page comes back (`forget_made`).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import replace

from syncd.core.identity import opening
from syncd.core.killed_writes import settled_blocks
from syncd.core.records import PageRecord, PageStatus, PendingWrite
from syncd.core.render import PageFormat
from syncd.engine.sync_log import SyncLog
from syncd.ports import PageFile, StatePort, VaultPort

log = logging.getLogger("syncd.sync")

# Set while a pending write waits for its page, gone from the vault, to come back (see `settle`).
PARKED = "parked_writes"


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def intend(state: StatePort, writes: list[PendingWrite]) -> None:
    """Before page writes: remember each, in a transaction of its own."""
    with state.transaction():
        forget_made(state)
        state.put_pending(writes)


def forget_made(state: StatePort) -> None:
    """Drop the pending writes (in the caller's transaction): made and recorded, or about to be
    replaced by new ones; but not one parked by `settle`, while its book's page is deleted."""
    if state.get(PARKED) is None:
        state.clear_pending()
        return
    parked = [write for write in state.pending() if _parked(state, write)]
    state.clear_pending()
    state.put_pending(parked)
    if not parked:
        state.set(PARKED, None)


def parked_texts(state: StatePort) -> dict[str, int]:
    """The parked writes (see `settle`): the digest of each one's text, with its book. A file
    holding exactly that text, wherever it comes back in the vault, is that book's page: the
    write may have been made (a new file, whose identity syncd never recorded) before the page
    left the vault."""
    if state.get(PARKED) is None:
        return {}
    return {
        write.digest: write.page.book_id
        for write in state.pending()
        if write.page is not None and _parked(state, write)
    }


def _parked(state: StatePort, write: PendingWrite) -> bool:
    if write.page is None:
        return False
    now = state.page(write.page.book_id)
    return now is not None and now.status == PageStatus.DELETED


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


def settle(
    vault: VaultPort,
    state: StatePort,
    fmt: PageFormat,
    sync_log: SyncLog,
    came_back: Callable[[int], None],
    *,
    final: bool = True,
) -> None:
    """After a kill between page writes and the transaction recording them: a page holding
    the very text that was being written was written, so it is recorded now as that
    transaction would have recorded it (its highlights as written, their count for the sync
    log; for the log page, its line as told). A page that does not hold it was not written,
    or was changed since (which cannot be told apart): its blocks that stand as the write
    meant them are recorded as written, so that they are not taken for the user's edits, and
    a block alike one the write added (a highlight syncd had no record of, claimed by no other
    block) is the user's edit of it; the rest of the page is looked at as any page is, and the
    sync log may undercount.

    A page is looked for where the write was going, else where its book's page is now (the
    watcher saw it moved). Not `final`: a write whose page is in neither place is kept, to be
    settled again once the vault is scanned (the page renamed while syncd did not watch);
    `final`: it is kept (parked) while the book's page is deleted, to be settled once the page
    comes back (a block the write added and the user edited is not written again then), and
    dropped otherwise. A parked write recorded once its page is back tells `came_back` (in
    the transaction): what Readwise changed while the page was away is fetched again (world
    seed 1713799837: a highlight Readwise changed then was never written)."""
    pending = state.pending()
    if not pending:
        return
    # A kill before a replace leaves the temporary file beside where the page was going: once
    # the write is settled, nothing remembers that folder (the page may have moved on since).
    for folder in {write.path.rpartition("/")[0] for write in pending}:
        vault.remove_temporary_files(vault.path(folder))
    kept = []
    with state.transaction():
        for write in pending:
            record, page = _where(vault, state, write)
            if page.text is None:
                if write.page is not None and (not final or _parked(state, write)):
                    kept.append(write)
                continue
            if digest(page.text) != write.digest:
                # Changed since (the user edited it, or it was never written): a block on it
                # as the write meant it is that highlight as syncd wrote it, not an edit.
                now = None if record is None else state.page(record.book_id)
                if now is not None:
                    meant = {h.highlight_id: h for h in write.blocks_known()}
                    known = state.highlights(now.book_id)
                    # Still the file the page was before the write (not the one syncd
                    # recorded since, following a move)?
                    before = (record.device, record.inode)  # type: ignore[union-attr]
                    same = before[1] is not None and page.file_id == before
                    state.put_highlights(
                        settled_blocks(page.text, meant, known, fmt, replaced=not same)
                    )
                continue
            if record is not None:
                log.info(
                    "%s was written by a sync that stopped before recording it; recorded now",
                    record.path,
                )
                away = _parked(state, write)
                record_page(state, record, page, fmt)
                state.put_highlights(write.written(page.text))
                if away:
                    came_back(record.book_id)
            sync_log.add(
                write.log_highlights, write.log_books, [[t, n] for t, n in write.log_titles]
            )
        state.clear_pending()
        if kept:
            state.put_pending(kept)
        if final:
            state.set(PARKED, "1" if kept else None)


def _where(
    vault: VaultPort, state: StatePort, write: PendingWrite
) -> tuple[PageRecord | None, PageFile]:
    """The page a pending write was going to, as its record would be now, and the file: where
    the write was going, else where the book's page is now recorded (moved since)."""
    page = vault.read(vault.path(write.path))
    if page.text is not None or write.page is None:
        return write.page, page
    now = state.page(write.page.book_id)
    if now is None or now.status != PageStatus.ACTIVE or now.path == write.path:
        return write.page, page
    return replace(write.page, path=now.path, title=now.title), vault.read(vault.path(now.path))


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
