"""The vault on disk: reading pages, and writing them atomically without clobbering the user.

Every write goes to a temporary file in the page's own folder, is fsynced, then renamed over the
page. Just before the rename the page is read again: if its bytes are no longer the ones the new
text was computed from, the user (or Logseq) wrote it meanwhile, and `PageChanged` is raised so
that the caller re-reads and plans again. Nothing is ever written outside the vault folder, and a
symlink is never followed for a write.
"""

from __future__ import annotations

import errno
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from syncd.errors import VaultError

TEMP_PREFIX = ".syncd-"
TEMP_SUFFIX = ".tmp"


class PageChanged(Exception):
    """The page changed on disk between reading it and replacing it."""


@dataclass(frozen=True)
class PageFile:
    """A page as read from disk: text (None when the file does not exist) and its stat."""

    path: Path
    text: str | None
    size: int | None = None
    mtime_ns: int | None = None


class Vault:
    """The folder of a Logseq graph or Obsidian vault."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._real_root = Path(os.path.realpath(root))

    def check(self) -> None:
        """Raise VaultError if the vault folder is missing or cannot be written."""
        if not self.root.is_dir():
            raise VaultError(f"vault {self.root}: not a folder (check vault.path)")
        if not os.access(self.root, os.W_OK | os.X_OK):
            raise VaultError(f"vault {self.root}: cannot be written")

    def relative(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()

    def path(self, relative: str) -> Path:
        return self.root / relative

    def inside(self, path: Path) -> bool:
        """True if `path`'s folder, with every symlink resolved, is inside the vault, and the
        file itself is not a symlink."""
        if path.is_symlink():
            return False
        real_parent = Path(os.path.realpath(path.parent))
        return real_parent == self._real_root or self._real_root in real_parent.parents

    def read(self, path: Path) -> PageFile:
        try:
            with open(path, "rb") as handle:
                stat = os.fstat(handle.fileno())
                data = handle.read()
        except FileNotFoundError:
            return PageFile(path, None)
        except IsADirectoryError:
            raise VaultError(f"{path}: is a folder where a page should be") from None
        text = data.decode("utf-8", errors="surrogateescape")
        return PageFile(path, text, stat.st_size, stat.st_mtime_ns)

    def stat(self, path: Path) -> tuple[int, int] | None:
        try:
            stat = path.stat()
        except (FileNotFoundError, NotADirectoryError):
            return None
        return stat.st_size, stat.st_mtime_ns

    def write(self, path: Path, text: str, expected: str | None) -> PageFile:
        """Replace `path` with `text` if it still holds `expected` (None: must not exist).

        Return the page as written. Raise PageChanged if the page changed meanwhile, VaultError
        if the vault cannot be written or the path leads outside it."""
        if not self.inside(path):
            raise VaultError(f"{path}: outside the vault or a symlink; not written")
        path.parent.mkdir(parents=True, exist_ok=True)
        if not self.inside(path):  # a folder created above may not be a link out
            raise VaultError(f"{path}: outside the vault or a symlink; not written")
        data = text.encode("utf-8", errors="surrogateescape")
        temp = path.parent / f"{TEMP_PREFIX}{secrets.token_hex(6)}{TEMP_SUFFIX}"
        try:
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(data)
                    handle.flush()
                    os.fsync(handle.fileno())
                if self.read(path).text != expected:
                    raise PageChanged(str(path))
                os.replace(temp, path)
            finally:
                if temp.exists():
                    temp.unlink()
            _fsync_folder(path.parent)
        except OSError as error:
            raise VaultError(_describe(path, error)) from None
        stat = path.stat()
        return PageFile(path, text, stat.st_size, stat.st_mtime_ns)

    def remove_temporary_files(self, folder: Path) -> int:
        """Remove temporary files a crash may have left in `folder`; return how many."""
        removed = 0
        if folder.is_dir():
            for temp in folder.glob(f"{TEMP_PREFIX}*{TEMP_SUFFIX}"):
                temp.unlink(missing_ok=True)
                removed += 1
        return removed


def _fsync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _describe(path: Path, error: OSError) -> str:
    reasons = {errno.ENOSPC: "the disk is full", errno.EROFS: "the vault is read-only",
               errno.EACCES: "permission denied", errno.EPERM: "permission denied",
               errno.EDQUOT: "the disk quota is exceeded"}
    reason = reasons.get(error.errno or 0, error.strerror or str(error))
    return f"{path}: cannot write page: {reason}"
