"""The vault on disk: reading pages, and writing them atomically without clobbering the user.

Every write goes to a temporary file in the page's own folder, is fsynced, then put in place of
the page. Just before, the page is read again: if its bytes are no longer the ones the new text
was computed from, the user (or Logseq) wrote it meanwhile, and `PageChanged` is raised so that
the caller re-reads and plans again. On Linux the page and the temporary file are exchanged in
one step and what was exchanged out is checked to be the page as read: a version an editor
renamed over the page after that read is exchanged back (`atomic.swap`). The page stays open
across the exchange, so that bytes written into it in place meanwhile (by an editor that had it
open) are seen: they are put back, and `PageChanged` is raised too. New pages are written as
`Drafts`: many temporary files made durable together (one `syncfs` of the filesystem instead of
an fsync each: a first sync writes thousands), then each put in place unless a file is there
(checked by the rename itself where the system can). Nothing is ever written outside the vault
folder, and a symlink is never followed for a write.
"""

from __future__ import annotations

import errno
import logging
import os
import secrets
import stat
from pathlib import Path

from syncd.core.line_endings import PLAIN, join, split
from syncd.core.page_files import TEMP_PREFIX, TEMP_SUFFIX, is_page
from syncd.edges import atomic, file_checks, folders
from syncd.edges.atomic import PageChanged, file_identity
from syncd.errors import VaultError
from syncd.ports import Draft, FolderStamp, PageFile

log = logging.getLogger("syncd.vault")
WRITE_ATTEMPTS = 5  # times syncd puts back what was written into a page it replaced


def folder_problem(folder: Path) -> str | None:
    """Given a folder syncd must write in, return what is wrong with it, in a few words with the
    OS's own reason ("does not exist", "is a file, not a folder", "cannot be written: Read-only
    file system"), or None when a file can be made in it. Nothing is left in the folder."""
    try:
        mode = os.stat(folder).st_mode
    except FileNotFoundError:
        return "does not exist"
    except NotADirectoryError:
        return "does not exist (a part of its path is a file)"
    except OSError as error:
        return f"cannot be reached: {error.strerror or error}"
    if not stat.S_ISDIR(mode):
        return "is a file, not a folder"
    # The OS's answer, with its reason: an unnamed file (Linux) leaves no trace at all; where
    # that is not supported, a hidden file that is removed at once.
    fd: int | None = None
    if hasattr(os, "O_TMPFILE"):
        try:
            fd = os.open(folder, os.O_TMPFILE | os.O_WRONLY, 0o600)
        except OSError as error:
            if error.errno not in (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL):
                return f"cannot be written: {error.strerror or error}"
    if fd is None:
        probe = folder / f"{TEMP_PREFIX}probe-{secrets.token_hex(4)}{TEMP_SUFFIX}"
        try:
            fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        except OSError as error:
            return f"cannot be written: {error.strerror or error}"
        os.unlink(probe)
    os.close(fd)
    return None


class Vault:
    """The folder of a Logseq graph or Obsidian vault."""

    def __init__(self, root: Path, origin: str = "vault.path") -> None:
        self.root = root
        self.origin = origin  # where the path came from, for errors: "vault.path in FILE"
        self._real_root = Path(os.path.realpath(root))
        self._root_text = str(root)
        self._root_prefix = os.path.join(self._root_text, "")  # the root and a separator
        # Folders found inside the vault, by (device, inode): the same folder need not have
        # every link on its path resolved again for each page written into it.
        self._checked: dict[Path, tuple[int, int]] = {}
        self._unlisted: set[str] = set()  # folders that could not be listed: warned about once

    def check(self) -> None:
        """Raise VaultError, naming the folder, what is wrong and where its path came from, if
        the vault folder is missing, not a folder, or cannot be written."""
        problem = folder_problem(self.root)
        if problem:
            raise VaultError(f"vault {self.root}: {problem} (set by {self.origin})")

    def present(self) -> bool:
        """Whether the vault folder is there."""
        return self.root.is_dir()

    def missing_or_empty(self) -> bool:
        """Whether the vault folder is missing, unreadable or empty (a disk not mounted)."""
        try:
            return not any(self.root.iterdir())
        except OSError:
            return True

    def relative(self, path: Path) -> str:
        # As `path.relative_to(self.root).as_posix()`, by the text of a path in the vault (a
        # first sync asks this for every page it names: a fifth of the time).
        text = str(path)
        if text.startswith(self._root_prefix) and len(text) > len(self._root_prefix):
            inside = text[len(self._root_prefix) :]
            return inside if os.sep == "/" else inside.replace(os.sep, "/")
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

    def folder_for(self, path: Path) -> int:
        """Make sure `path` can be written: its folder exists (it is made) and is inside the
        vault, and `path` is not a link. Return the folder's device. Raise VaultError if not.

        A folder is checked once; after that it is known by its device and inode: a folder
        found at its path later with the same ones is the same folder, inside the vault."""
        folder = path.parent
        known = self._checked.get(folder)
        if known is None or file_identity(folder) != known:
            if not self.inside(path):
                raise VaultError(f"{path}: outside the vault or a symlink; not written")
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                raise VaultError(atomic.describe_error(path, error)) from None
            if not self.inside(path):  # a folder made above may not be a link out
                raise VaultError(f"{path}: outside the vault or a symlink; not written")
            known = file_identity(folder)
            if known is not None:
                self._checked[folder] = known
        elif path.is_symlink():
            raise VaultError(f"{path}: outside the vault or a symlink; not written")
        assert known is not None
        return known[0]

    def read(self, path: Path, *, candidate: bool = False) -> PageFile:
        """The page at `path` (text None when there is no file), its text with LF line endings
        and no byte-order mark (`form`: how the file holds it). Raise VaultError, naming the
        page, if it is not a regular file (a FIFO, a device: never opened) or cannot be read;
        but for a `candidate` (a file looked at as maybe a book's page): then it is none."""
        try:
            found = file_checks.read(path)
        except VaultError:
            if candidate:
                return PageFile(path, None)
            raise
        if found is None:
            return PageFile(path, None)
        data, status = found
        text, form = split(data.decode("utf-8", errors="surrogateescape"))
        identity = (status.st_dev, status.st_ino)
        return PageFile(path, text, status.st_size, status.st_mtime_ns, identity, form)

    def no_folder(self, folder: Path) -> bool:
        """True when nothing is at `folder` (nor, then, at any path in it): no folder, no file,
        no link; False for anything there, and when that cannot be told (a folder on its way
        that cannot be searched)."""
        try:
            os.lstat(folder)
        except (FileNotFoundError, NotADirectoryError):
            return True
        except OSError:
            return False
        return False

    def stat(self, path: Path) -> tuple[int, int] | None:
        """The size and mtime of the file at `path`; None when there is none."""
        try:
            stat = os.stat(path)
        except (FileNotFoundError, NotADirectoryError):
            return None
        return stat.st_size, stat.st_mtime_ns

    def stat_relative(self, relative: str) -> tuple[int, int] | None:
        """`stat` of the file at a path relative to the vault: without a Path object, as a
        scan does it for every page."""
        try:
            stat = os.stat(self._root_prefix + relative)
        except (FileNotFoundError, NotADirectoryError):
            return None
        return stat.st_size, stat.st_mtime_ns

    def file_id(self, path: Path) -> tuple[int, int] | None:
        """The file's device and inode (None: no file there), without reading it."""
        return file_identity(path)

    def check_replaceable(self, path: Path) -> None:
        """Raise VaultError if the page at `path` is one `write` leaves alone (read-only, not
        a regular file, its lines ending both ways: see `file_checks.replaceable`); a page gone
        meanwhile is not this check's to tell."""
        try:
            file_checks.replaceable(path)
        except PageChanged:
            pass
        except OSError as error:
            raise VaultError(atomic.describe_error(path, error)) from None

    def write(self, path: Path, text: str, expected: str | None) -> PageFile:
        """Replace `path` with `text` if it still holds `expected` (None: must not exist).

        Return the page as written. Raise PageChanged if the page changed meanwhile, VaultError
        if the vault cannot be written or the path leads outside it."""
        self.folder_for(path)
        try:
            attributes, form = (None, PLAIN) if expected is None else file_checks.replaceable(path)
            data = join(text, form).encode("utf-8", errors="surrogateescape")
            temp, ours = atomic.write_beside(path, data, durable=True, like=attributes)
            try:
                before = (
                    None
                    if expected is None
                    else join(expected, form).encode("utf-8", "surrogateescape")
                )
                late = atomic.swap(path, temp, before)
                if late != before:
                    # Written in place while it was replaced (an editor had it open): those
                    # bytes went to the file replaced. Theirs win: keep them, plan again.
                    assert before is not None and late is not None
                    self._put_back(path, before, late, data, attributes)
                    raise PageChanged(str(path))
            finally:
                temp.unlink(missing_ok=True)
            atomic.fsync_path(path.parent)
        except atomic.OwnerNotKept as error:
            raise VaultError(f"{path}: {error.strerror}; left alone") from None
        except OSError as error:
            raise VaultError(atomic.describe_error(path, error)) from None
        # The stat of the file syncd wrote, not of whatever is at `path` by now: an editor may
        # have saved over it since, and that save must look like a change to the next scan.
        return PageFile(
            path, text, ours.st_size, ours.st_mtime_ns, (ours.st_dev, ours.st_ino), form
        )

    def _put_back(
        self,
        path: Path,
        before: bytes,
        late: bytes,
        ours: bytes,
        attributes: atomic.Attributes | None,
    ) -> None:
        """`path` holds `ours`, syncd's new text computed from `before`, which replaced a file
        someone wrote into meanwhile (`late` is what it held at the end): keep what they wrote.
        What they appended is appended again, on a line of its own (to the page as it now is,
        without replacing it, so that nothing written meanwhile is lost); anything else, or
        anything written into a page syncd read empty (an editor saving in place truncates the
        file first), is put back whole, in place of `ours`."""
        for _ in range(WRITE_ATTEMPTS):
            if before and late.startswith(before):
                added = late[len(before) :]
                if added and not ours.endswith(b"\n") and not added.startswith((b"\n", b"\r")):
                    added = (b"\r\n" if b"\r\n" in ours else b"\n") + added  # the page's
                fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_NOFOLLOW)
                try:
                    atomic.write_all(fd, added)
                    os.fsync(fd)
                finally:
                    os.close(fd)
                return
            back, _ = atomic.write_beside(path, late, durable=True, like=attributes)
            try:
                written_meanwhile = atomic.swap(path, back, ours)
            except PageChanged:
                log.warning(
                    "%s: changed again while syncd put back what was written into it "
                    "meanwhile; keeping the newest",
                    path,
                )
                return
            finally:
                back.unlink(missing_ok=True)
            if written_meanwhile == ours:
                return
            # Written in place again, into `ours`, while it was put back: theirs too.
            assert written_meanwhile is not None
            before, late, ours = ours, written_meanwhile, late
        log.warning(
            "%s: kept being written while syncd put back what was written into it "
            "meanwhile; keeping the newest",
            path,
        )

    def read_text(self, path: Path) -> str | None:
        """A settings file's text (None when it is missing or not UTF-8)."""
        try:
            return path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None

    def siblings(self, path: Path) -> set[str]:
        """The names in `path`'s folder (none when it cannot be listed)."""
        try:
            return {entry.name for entry in path.parent.iterdir()}
        except OSError:
            return set()

    def subfolders(self, folder: Path) -> set[str]:
        """The names of the folders in `folder`."""
        return {p.name for p in folder.glob("*/")}

    def folder_stamp(self, relative: str) -> FolderStamp | None:
        """See `syncd.edges.folders.folder_stamp` ("": the vault's root)."""
        return folders.folder_stamp(os.path.join(self._root_text, relative))

    def list_folder(self, relative: str) -> tuple[list[str], dict[str, int]] | None:
        """See `syncd.edges.folders.list_folder` ("": the vault's root)."""
        return folders.list_folder(os.path.join(self._root_text, relative), self._unlisted)

    def drafts(self) -> Drafts:
        """A batch of new pages to write (see `Drafts`)."""
        return Drafts(self)

    def pages(self) -> list[Path]:
        """Every file in the vault that can be a page (see `is_page`)."""
        found = []

        def unlisted(error: OSError) -> None:
            if error.filename is not None and error.filename != self._root_text:
                folders.warn_unlisted(str(error.filename), error, self._unlisted)

        for folder, dirs, files in os.walk(self.root, onerror=unlisted):
            dirs[:] = [d for d in dirs if not d.startswith(".")]
            found += [path for name in files if is_page(self.relative(path := Path(folder, name)))]
        return found

    def remove_temporary_files(self, folder: Path) -> int:
        """Remove temporary files a crash may have left in `folder`; return how many. A folder
        that leads out of the vault (a link) is left alone: they cannot be syncd's."""
        removed = 0
        real = Path(os.path.realpath(folder))
        if folder.is_dir() and (real == self._real_root or self._real_root in real.parents):
            for temp in folder.glob(f"{TEMP_PREFIX}*{TEMP_SUFFIX}"):
                temp.unlink(missing_ok=True)
                removed += 1
        return removed


class Drafts:
    """New pages written to temporary files beside where they go, then put in place together.

    `place` makes every draft durable at once (one `syncfs` per filesystem, where Linux reports
    its errors; else an fsync each), then renames each into place, unless a file appeared at
    its path meanwhile: that one is not written. A draft is never left half-written where a
    page goes; a crash leaves its temporary file, which the next sync removes."""

    def __init__(self, vault: Vault) -> None:
        self._vault = vault
        self._drafts: list[Draft] = []
        self._devices: dict[int, int] = {}  # device -> a descriptor on it, open from the first
        self.size = 0  # bytes of page text held

    def write(self, path: Path, text: str) -> Draft:
        """Write a new page's text to a temporary file beside `path`; raise VaultError if the
        page cannot be written there (outside the vault, disk full, ...)."""
        device = self._vault.folder_for(path)
        data = text.encode("utf-8", errors="surrogateescape")
        try:
            if device not in self._devices and atomic.SYNCFS is not None:
                # Opened before any page is written: syncfs reports the errors seen since.
                self._devices[device] = os.open(path.parent, os.O_RDONLY)
            temp, stat = atomic.write_beside(path, data, durable=False)
        except OSError as error:
            raise VaultError(atomic.describe_error(path, error)) from None
        draft = Draft(path, temp, stat.st_size, stat.st_mtime_ns, (stat.st_dev, stat.st_ino))
        self._drafts.append(draft)
        self.size += len(text)
        return draft

    def place(self) -> list[Draft]:
        """Make the drafts durable and put each in place; return those not placed because a
        file appeared at their path meanwhile. Raise VaultError if the disk fails: then the
        drafts not yet in place are dropped, and those in place may not be durable."""
        drafts, self._drafts, self.size = self._drafts, [], 0
        devices, self._devices = self._devices, {}
        refused = []
        renamed: set[Path] = set()  # drafts whose temporary file is gone: renamed into place
        try:
            if devices:
                for fd in devices.values():
                    atomic.syncfs(fd)
            else:
                for draft in drafts:
                    atomic.fsync_path(draft.temp)
            for draft in drafts:
                try:
                    if atomic.place_new(draft.path, draft.temp):
                        renamed.add(draft.temp)
                except PageChanged:
                    refused.append(draft)
            for folder in sorted({draft.path.parent for draft in drafts}):
                atomic.fsync_path(folder)
        except OSError as error:
            raise VaultError(atomic.describe_folder_error(drafts[0].path.parent, error)) from None
        finally:
            for fd in devices.values():
                os.close(fd)
            for draft in drafts:
                if draft.temp not in renamed:  # (not an unlink per page that fails)
                    draft.temp.unlink(missing_ok=True)
        return refused
