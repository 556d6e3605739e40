"""The search for pages that left the vault and came back: once per change of the vault.

While a book's page is deleted and syncd recorded its file (device and inode), every scan looks
for that file elsewhere in the vault (it may have come back under another name or folder while
syncd did not watch). Listing the vault and reading every page's identity at every sync would
cost as much as the vault is big, so `Lookout` remembers, in the state, the last search: which
file identities it looked for, which pages syncd knew then, and each folder's stamp (device,
inode, mtime and ctime: a name added, removed or renamed in a folder changes them). A file can
only come back through a folder whose names changed, so the next search stats the folders it
knows and lists only those whose stamp changed (and the folders new under them); when the
identities looked for grew, or the pages syncd knows changed, it lists the whole vault again.

A stamp is trusted only once the folder has been still for `SETTLED_NS`: a file system whose
clock is coarse (a second, two on FAT) could leave a folder changed just after it was listed
with the stamp it had, so such a folder is listed again at the next search. Correctness never
depends on a file event: a search on a vault the memo does not describe lists it whole.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass

from syncd.core.page_files import is_page
from syncd.core.records import PageRecord, PageStatus
from syncd.ports import FolderStamp, StatePort, VaultPort

log = logging.getLogger("syncd.sync")

# State key: the last search (JSON; see `Memo`).
MEMO = "return_search"
SETTLED_NS = 3_000_000_000  # a folder changed this recently is listed again at the next search

FileId = tuple[int, int]


@dataclass(frozen=True)
class Memo:
    """What the last search saw: the identities it looked for (`gone`), a digest of the pages
    syncd knew (`known`), and every folder of the vault with its stamp (None: changed too
    recently to be trusted, listed again at the next search). Folders are relative to the
    vault's root ("" the root itself)."""

    gone: frozenset[FileId]
    known: str
    folders: dict[str, FolderStamp | None]

    def dump(self) -> str:
        return json.dumps(
            {
                "gone": sorted(self.gone),
                "known": self.known,
                "folders": {name: stamp for name, stamp in sorted(self.folders.items())},
            },
            separators=(",", ":"),
        )

    @classmethod
    def load(cls, text: str | None) -> Memo | None:
        """The memo in `text`, or None (nothing stored, or not a memo this code wrote)."""
        try:
            data = json.loads(text or "")
            gone = frozenset((int(d), int(i)) for d, i in data["gone"])
            folders: dict[str, FolderStamp | None] = {}
            for name, stamp in data["folders"].items():
                folders[str(name)] = None if stamp is None else _stamp(stamp)
            return cls(gone, str(data["known"]), folders)
        except (ValueError, TypeError, KeyError, AttributeError):
            return None


def _stamp(value: list[int]) -> FolderStamp:
    device, inode, mtime, ctime = (int(n) for n in value)
    return device, inode, mtime, ctime


def digest(paths: Collection[str]) -> str:
    """A digest of a set of paths (those of the pages syncd knows)."""
    hashed = hashlib.sha256()
    for path in sorted(paths):
        hashed.update(path.encode("utf-8", "surrogateescape") + b"\0")
    return hashed.hexdigest()


class Lookout:
    """One search: `pages` says which pages to look at, `remember` stores what it saw."""

    def __init__(self, vault: VaultPort, state: StatePort) -> None:
        self.vault = vault
        self.state = state
        self._folders: dict[str, FolderStamp | None] = {}
        self.whole = False  # the whole vault was listed (no memo fitted)
        self.folders_listed = 0
        self._stored: str | None = None  # the memo as the state held it

    def pages(self, gone: frozenset[FileId], known: str) -> Iterator[tuple[str, int | None]]:
        """The pages (relative paths, each with its inode number when its listing gave it, see
        `_list`) where a file of an identity in `gone` may have come back since the last search;
        every page of the vault when that search does not fit."""
        self._stored = self.state.get(MEMO)
        memo = Memo.load(self._stored)
        if memo is None or not gone <= memo.gone or memo.known != known:
            self.whole = True
            yield from self._walk("")
            return
        for folder, stamp in memo.folders.items():
            now = self.vault.folder_stamp(folder)
            if now is None:
                continue  # gone (its parent changed: listed there if it comes back)
            if stamp is not None and now == stamp:
                self._folders[folder] = stamp
                continue
            yield from self._list(folder, now, memo.folders)

    def remember(self, gone: frozenset[FileId], known: str) -> None:
        """Store this search's memo (the folders it stamped), for the next search."""
        text = Memo(gone, known, self._folders).dump()
        if text != self._stored:
            self.state.set(MEMO, text)

    @staticmethod
    def forget(state: StatePort) -> None:
        """Drop the memo: the next search lists the whole vault."""
        if state.get(MEMO) is not None:
            state.set(MEMO, None)

    def _walk(self, folder: str) -> Iterator[tuple[str, int | None]]:
        yield from self._list(folder, self.vault.folder_stamp(folder), {})

    def _list(
        self, folder: str, stamp: FolderStamp | None, known: dict[str, FolderStamp | None]
    ) -> Iterator[tuple[str, int | None]]:
        """The pages in `folder` (stamped `stamp` before it is listed, so that a change made
        while it is listed shows next time), and in each folder under it that `known` (the
        memo's folders) does not hold: new since the last search. Each page comes with the
        inode number its listing gave, when that is the file's own (checked on the folder's
        first page: on some file systems a listing's numbers are not the files'; else None)."""
        if stamp is None:
            return
        listed = self.vault.list_folder(folder)
        if listed is None:  # gone meanwhile, or not readable: tried again at the next search
            self._folders[folder] = None
            return
        self.folders_listed += 1
        settled = stamp[2] < time.time_ns() - SETTLED_NS
        self._folders[folder] = stamp if settled else None
        folders, files = listed
        prefix = f"{folder}/" if folder else ""
        trusted: bool | None = None
        for name, inode in files.items():
            if not is_page(relative := prefix + name):
                continue
            if trusted is None:
                found = self.vault.file_id(self.vault.path(relative))
                trusted = found is None or found[1] == inode
            yield relative, inode if trusted and inode else None
        for name in folders:
            below = prefix + name
            if below not in known:
                yield from self._walk(below)


def look_for_returned(
    vault: VaultPort,
    state: StatePort,
    records: list[PageRecord],
    came_back_here: Callable[[str, list[PageRecord]], int],
    written_here: Callable[[str], int] | None = None,
) -> int:
    """Find the pages of deleted books that came back elsewhere in the vault while syncd did
    not watch (moved out of the vault and back under another name or folder): a page no book
    has, of the file identity syncd recorded for a deleted book's page, is looked at as a page
    that appeared there (`came_back_here`: strong evidence only). Only when some deleted book
    has a recorded identity, and only where the vault changed since the last search: the pages
    there are listed and their identities read (no page is read unless its identity matches,
    or, given `written_here`, no book has it: while a write a kill left unrecorded waits for
    its page, gone from the vault, a page there may be the new file that write made, looked at
    by its text). Return pages read."""
    gone = frozenset(
        (r.device, r.inode)
        for r in records
        if r.status == PageStatus.DELETED and r.inode is not None and r.device is not None
    )
    if not gone:
        return 0
    known = {record.path for record in records}
    key = digest(known)
    lookout = Lookout(vault, state)
    looked = 0
    inodes = {inode for _, inode in gone}
    for relative, inode in lookout.pages(gone, key):
        if relative in known:
            continue
        if (inode is None or inode in inodes) and vault.file_id(vault.path(relative)) in gone:
            looked += came_back_here(relative, records)
            records = state.pages()
        elif written_here is not None:
            looked += written_here(relative)
            records = state.pages()
    if looked and {r.path for r in records} != known:
        Lookout.forget(state)  # a page followed: the next search lists the vault
    else:
        lookout.remember(gone, key)
    return looked
