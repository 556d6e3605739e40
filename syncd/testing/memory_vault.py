"""The vault's in-memory twin, for tests where the disk is not what is tested.

`MemoryVault` keeps files as bytes in a dict and behaves as `syncd.edges.vault.Vault` does where
the engine can tell (the contract tests in `tests/contract` hold both to it): a write replaces
the page only if it still holds what the plan was made from (else `PageChanged`), a replaced
page is a new file (a new inode, as the real vault's exchange makes it), a new page never takes
the place of a file that appeared meanwhile, a path out of the vault is refused. Tests play the
user with `put`, `rename` and `remove`, which keep or change a file's identity as the real
operations do.
"""

from __future__ import annotations

import itertools
import posixpath
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from syncd.core.line_endings import PLAIN, form_of, join, split
from syncd.core.page_files import TEMP_PREFIX, TEMP_SUFFIX, is_page
from syncd.edges.atomic import PageChanged
from syncd.edges.file_checks import mixed_endings
from syncd.errors import VaultError
from syncd.ports import Draft, FolderStamp, PageFile

DEVICE = 1


@dataclass(frozen=True)
class _File:
    data: bytes
    mtime_ns: int
    inode: int


class MemoryVault:
    """A vault folder held in memory (see the module doc)."""

    def __init__(self, root: Path = Path("/memory/vault")) -> None:
        self.root = root
        self.origin = "vault.path"
        self.files: dict[Path, _File] = {}
        self.folders: set[Path] = {root}
        self._inodes = itertools.count(2)
        self._ticks = itertools.count(1_700_000_000_000_000_000, 1_000_000)  # a clock, in ns

    # what the user (or another program) does
    def put(self, relative: str, text: str) -> None:
        """Write a file in place (its identity kept), or create it."""
        path = self.path(relative)
        self._make_folders(path.parent)
        old = self.files.get(path)
        inode = old.inode if old else next(self._inodes)
        self.files[path] = _File(text.encode("utf-8", "surrogateescape"), next(self._ticks), inode)

    def rename(self, source: str, destination: str) -> None:
        """Move a file (its identity kept), over whatever was at `destination`."""
        target = self.path(destination)
        self._make_folders(target.parent)
        self.files[target] = self.files.pop(self.path(source))

    def remove(self, relative: str) -> None:
        del self.files[self.path(relative)]

    def text(self, relative: str) -> str | None:
        file = self.files.get(self.path(relative))
        return None if file is None else file.data.decode("utf-8", "surrogateescape")

    # the vault's interface (syncd.ports.VaultPort)
    def check(self) -> None:
        if not self.present():
            raise VaultError(f"vault {self.root}: does not exist (set by {self.origin})")

    def present(self) -> bool:
        return self.root in self.folders

    def missing_or_empty(self) -> bool:
        return not self.present() or not any(
            self.root in (path.parent, *path.parents)
            for path in [*self.files, *self.folders]
            if path != self.root
        )

    def relative(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()

    def path(self, relative: str) -> Path:
        return self.root / relative

    def read(self, path: Path, *, candidate: bool = False) -> PageFile:
        if path in self.folders:
            if candidate:
                return PageFile(path, None)
            raise VaultError(f"{path}: is a folder where a page should be")
        file = self.files.get(path)
        if file is None:
            return PageFile(path, None)
        text, form = split(file.data.decode("utf-8", "surrogateescape"))
        return PageFile(path, text, len(file.data), file.mtime_ns, (DEVICE, file.inode), form)

    def no_folder(self, folder: Path) -> bool:
        return folder not in self.folders and folder not in self.files

    def stat(self, path: Path) -> tuple[int, int] | None:
        file = self.files.get(path)
        return None if file is None else (len(file.data), file.mtime_ns)

    def stat_relative(self, relative: str) -> tuple[int, int] | None:
        return self.stat(self.path(relative))

    def file_id(self, path: Path) -> tuple[int, int] | None:
        file = self.files.get(path)
        return None if file is None else (DEVICE, file.inode)

    def check_replaceable(self, path: Path) -> None:
        self._writable(path)
        current = self.files.get(path)
        if current is not None and form_of(current.data.decode("utf-8", "surrogateescape")).mixed:
            raise VaultError(mixed_endings(path))

    def write(self, path: Path, text: str, expected: str | None) -> PageFile:
        self._writable(path)
        current = self.files.get(path)
        form = PLAIN
        if current is not None and expected is not None:
            self.check_replaceable(path)
            form = form_of(current.data.decode("utf-8", "surrogateescape"))
        if (expected is None and current is not None) or (
            expected is not None
            and (
                current is None
                or current.data != join(expected, form).encode("utf-8", "surrogateescape")
            )
        ):
            raise PageChanged(str(path))
        self._make_folders(path.parent)
        self.files[path] = _File(
            join(text, form).encode("utf-8", "surrogateescape"),
            next(self._ticks),
            next(self._inodes),
        )
        return self.read(path)

    def read_text(self, path: Path) -> str | None:
        file = self.files.get(path)
        try:
            return None if file is None else file.data.decode("utf-8")
        except UnicodeDecodeError:
            return None

    def siblings(self, path: Path) -> set[str]:
        return {
            p.name
            for p in [*self.files, *self.folders]
            if p.parent == path.parent and p != self.root
        }

    def subfolders(self, folder: Path) -> set[str]:
        return {p.name for p in self.folders if p.parent == folder and p != self.root}

    def drafts(self) -> MemoryDrafts:
        return MemoryDrafts(self)

    def folder_stamp(self, relative: str) -> FolderStamp | None:
        # What a folder's mtime and ctime stand for: the names in it and the files they lead to.
        folder = self.path(relative) if relative else self.root
        if folder not in self.folders:
            return None
        entries = sorted(
            (path.name, file.inode) for path, file in self.files.items() if path.parent == folder
        )
        entries += sorted((path.name, 0) for path in self.folders if path.parent == folder)
        return DEVICE, hash(folder), 0, hash(tuple(entries))

    def list_folder(self, relative: str) -> tuple[list[str], dict[str, int]] | None:
        folder = self.path(relative) if relative else self.root
        if folder not in self.folders:
            return None
        folders = [
            path.name
            for path in self.folders
            if path.parent == folder
            and path != self.root
            and not path.name.startswith(".")
            and path.name != "node_modules"
        ]
        files = {p.name: file.inode for p, file in sorted(self.files.items()) if p.parent == folder}
        return sorted(folders), files

    def pages(self) -> list[Path]:
        return [path for path in self.files if is_page(self.relative(path))]

    def remove_temporary_files(self, folder: Path) -> int:
        temps = [
            p
            for p in self.files
            if p.parent == folder
            and p.name.startswith(TEMP_PREFIX)
            and p.name.endswith(TEMP_SUFFIX)
        ]
        for path in temps:
            del self.files[path]
        return len(temps)

    def _writable(self, path: Path) -> None:
        normal = PurePosixPath(posixpath.normpath(path.as_posix()))
        if normal != PurePosixPath(path.as_posix()) or self.root not in Path(normal).parents:
            raise VaultError(f"{path}: outside the vault or a symlink; not written")
        if path in self.folders:
            raise VaultError(f"{path}: is a folder where a page should be")

    def _make_folders(self, folder: Path) -> None:
        while folder != self.root and folder not in self.folders:
            if folder in self.files:
                raise VaultError(f"{folder}: a file where a folder should be")
            self.folders.add(folder)
            folder = folder.parent


class MemoryDrafts:
    """New pages held aside, then put in place unless a file appeared at their path."""

    def __init__(self, vault: MemoryVault) -> None:
        self._vault = vault
        self._drafts: list[tuple[Draft, bytes]] = []
        self.size = 0

    def write(self, path: Path, text: str) -> Draft:
        self._vault._writable(path)
        data = text.encode("utf-8", "surrogateescape")
        draft = Draft(
            path,
            path.with_name(f"{TEMP_PREFIX}{path.name}{TEMP_SUFFIX}"),
            len(data),
            next(self._vault._ticks),
            (DEVICE, next(self._vault._inodes)),
        )
        self._drafts.append((draft, data))
        self.size += len(text)
        return draft

    def place(self) -> list[Draft]:
        drafts, self._drafts, self.size = self._drafts, [], 0
        refused = []
        for draft, data in drafts:
            if draft.path in self._vault.files:
                refused.append(draft)
                continue
            assert draft.file_id is not None
            self._vault._make_folders(draft.path.parent)
            self._vault.files[draft.path] = _File(data, draft.mtime_ns, draft.file_id[1])
        return refused
