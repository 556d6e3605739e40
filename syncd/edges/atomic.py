"""File operations that cannot leave a page half-written or overwrite a save: durable temporary
files beside a page (fsync, or one `syncfs` for many), the page and a temporary file exchanged
in one step (`renameat2` RENAME_EXCHANGE) with what was exchanged out checked, a new page put
in place only where no file is (RENAME_NOREPLACE), and a file's identity (device, inode).
Where the system lacks `renameat2` (not Linux, old kernels, some file systems) the check and the
rename are two steps, the best a portable program can do.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import logging
import os
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from syncd.core.page_files import TEMP_PREFIX, TEMP_SUFFIX

log = logging.getLogger("syncd.vault")

LATE_WRITE_WAIT = 0.5  # seconds: the longest a write waits for others to close a replaced page


class PageChanged(Exception):
    """The page changed on disk between reading it and replacing it."""


def _kernel_reports_syncfs_errors() -> bool:
    """Linux 5.8 and later: syncfs returns the write errors seen since the descriptor opened."""
    system = os.uname()  # (not `platform`'s: that module costs a no-op sync its import)
    if system.sysname != "Linux":
        return False
    try:
        major, minor = (int(part) for part in system.release.split(".")[:2])
    except ValueError:
        return False
    return (major, minor) >= (5, 8)


def _load_syncfs() -> Callable[[int], int] | None:
    if not _kernel_reports_syncfs_errors():
        return None
    try:
        function = ctypes.CDLL(None, use_errno=True).syncfs
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_int]
    return function


SYNCFS = _load_syncfs()


def syncfs(fd: int) -> None:
    """Write everything pending on `fd`'s filesystem to disk; raise OSError on failure."""
    assert SYNCFS is not None
    if SYNCFS(fd) != 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code))


def fsync_path(path: Path) -> None:
    """fsync a file or a folder by its path."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


@dataclass(frozen=True)
class Attributes:
    """What a page's file holds besides its bytes, kept when syncd rewrites it: permission
    bits, owner and group, extended attributes (`user.*`, Finder tags, POSIX ACLs as
    `system.posix_acl_*`), each as (name, value)."""

    mode: int
    uid: int
    gid: int
    xattrs: tuple[tuple[str, bytes], ...] = ()


def attributes_of(path: Path, stat: os.stat_result) -> Attributes:
    """The attributes of the file at `path` (`stat`: its lstat). A file system without extended
    attributes has none to keep."""
    xattrs: list[tuple[str, bytes]] = []
    if hasattr(os, "listxattr"):
        try:
            names = os.listxattr(path, follow_symlinks=False)
        except OSError as error:
            if error.errno not in _NO_XATTRS:
                raise
            names = []
        for name in names:
            try:
                xattrs.append((name, os.getxattr(path, name, follow_symlinks=False)))
            except OSError as error:
                if error.errno not in (*_NO_XATTRS, errno.ENODATA):
                    raise
    return Attributes(stat.st_mode & 0o7777, stat.st_uid, stat.st_gid, tuple(xattrs))


class OwnerNotKept(OSError):
    """A rewritten page could not be given the owner or group of the page it replaces."""


def give_attributes(fd: int, path: Path, attributes: Attributes) -> None:
    """Give the open file `fd` (syncd's new text for `path`) the page's attributes: owner and
    group first (a change of owner clears set-id bits), then the mode, then extended
    attributes, each only where it differs. Raise OwnerNotKept if the owner or group cannot be
    given (the page is then not replaced: it would change hands). A mode or an extended
    attribute that cannot be set (a `security.*` one the system keeps for itself) is named in
    a warning; the page is written."""
    own = os.fstat(fd)
    if (own.st_uid, own.st_gid) != (attributes.uid, attributes.gid):
        try:
            os.fchown(fd, attributes.uid, attributes.gid)
        except OSError as error:
            raise OwnerNotKept(
                error.errno,
                f"owned by uid {attributes.uid}, group {attributes.gid}; syncd (uid "
                f"{os.geteuid()}) cannot give a rewritten page that owner",
            ) from None
    lost = []
    if own.st_mode & 0o7777 != attributes.mode:
        try:
            os.fchmod(fd, attributes.mode)
        except OSError as error:  # a file system without modes (FAT): both have the mount's
            lost.append(f"mode {attributes.mode:04o} ({error.strerror or error})")
    for name, value in attributes.xattrs:
        try:
            os.setxattr(fd, name, value)
        except OSError as error:
            lost.append(f"{name} ({error.strerror or error})")
    if lost:
        log.warning("%s: not kept: %s", path, ", ".join(lost))


def write_beside(
    path: Path, data: bytes, *, durable: bool, like: Attributes | None = None
) -> tuple[Path, os.stat_result]:
    """Write `data` to a new temporary file in `path`'s folder, fsynced if `durable`; return
    the file and its stat. `like`: the attributes of the page it is to replace, given to the
    file before any byte is written (a page only its owner may read never has its text in a
    file others can read). If that fails, no file is left."""
    temp = path.parent / f"{TEMP_PREFIX}{secrets.token_hex(6)}{TEMP_SUFFIX}"
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644 if like is None else 0o600)
    try:
        if like is not None:
            give_attributes(fd, path, like)
        write_all(fd, data)
        if durable:
            os.fsync(fd)
        return temp, os.fstat(fd)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    finally:
        os.close(fd)


def file_identity(path: Path) -> tuple[int, int] | None:
    """The (device, inode) of what `path` leads to (links followed), or None if nothing."""
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return stat.st_dev, stat.st_ino


def swap(path: Path, temp: Path, expected: bytes | None) -> bytes | None:
    """Put `temp` at `path` if `path` holds `expected` (None: there is no file), else raise
    PageChanged. Return the replaced file's bytes read again just after, through a descriptor
    opened before: not `expected` if someone wrote that file in place meanwhile.

    On Linux the page is exchanged with `temp` in one step (renameat2 RENAME_EXCHANGE) and what
    comes back is checked to be the very file checked before: if a newer version was renamed
    over the page in between (an editor saving), it is exchanged back, so that the newest of
    the user's versions ends at `path`, and PageChanged is raised. A new page is put in place
    only if no file is there (RENAME_NOREPLACE, else a hard link, which fails if one is).

    Where renameat2 is not to be had (macOS, an old kernel, a filesystem refusing it), the page
    is checked and then `temp` renamed over it, as the very last steps, once `temp` is written
    and durable: a version another process renames over the page in the microseconds between
    the check and the rename is replaced. Bytes written in place are seen either way."""
    if expected is None:
        place_new(path, temp)
        return None
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        raise PageChanged(str(path)) from None
    try:
        checked = os.fstat(fd)
        if _read_all(fd) != expected or _identity_of(path) != (checked.st_dev, checked.st_ino):
            raise PageChanged(str(path))
        if not _exchange_checked(path, temp, (checked.st_dev, checked.st_ino)):
            os.replace(temp, path)
        _wait_until_closed(fd)
        return _read_all(fd)
    finally:
        os.close(fd)


def _exchange_checked(path: Path, temp: Path, checked: tuple[int, int]) -> bool:
    """Exchange `temp` and `path`; return False, having done nothing, where that cannot be done.
    If what comes to `temp` is the file `checked` (device, inode), it is removed (it stays
    open for `swap`); anything else is a newer version someone renamed over the page after the
    check: it is exchanged back (again, for as long as yet newer ones come back), so that the
    newest ends at `path` and syncd's text at `temp`; then PageChanged is raised."""
    held = [os.open(temp, os.O_RDONLY)]  # open: no inode compared below is reused meanwhile
    try:
        try:
            renameat2(temp, path, RENAME_EXCHANGE)
        except FileNotFoundError:
            raise PageChanged(str(path)) from None  # deleted (or moved) since the check
        except OSError as error:
            if error.errno in _UNSUPPORTED:
                return False
            raise
        if _identity_of(temp) == checked:
            os.unlink(temp)
            return True
        placed = os.fstat(held[0])  # syncd's text, now at `path`
        while True:
            # At `temp`: a version renamed over the page after `placed` went there; newer.
            held.append(os.open(temp, os.O_RDONLY | os.O_NOFOLLOW))
            newer = os.fstat(held[-1])
            try:
                renameat2(temp, path, RENAME_EXCHANGE)
            except FileNotFoundError:
                break  # the page was deleted meanwhile: that stands
            if _identity_of(temp) == (placed.st_dev, placed.st_ino):
                break  # what came back is what was placed: the newer version is in place
            placed = newer  # an even newer one came back: it goes in place in turn
        log.info("%s: saved by another program while syncd wrote it; theirs is kept", path)
        raise PageChanged(str(path))
    finally:
        for fd in held:
            os.close(fd)


def place_new(path: Path, temp: Path) -> bool:
    """Rename `temp` to `path` unless a file is there; raise PageChanged if one is. Return
    whether `temp` is gone (False: it was linked at `path`, and is left to remove)."""
    try:
        renameat2(temp, path, RENAME_NOREPLACE)
        return True
    except FileExistsError:
        raise PageChanged(str(path)) from None
    except OSError as error:
        if error.errno not in _UNSUPPORTED:
            raise
    try:
        os.link(temp, path)  # also never replaces a file
        return False
    except FileExistsError:
        raise PageChanged(str(path)) from None
    except OSError as error:
        if error.errno not in (*_UNSUPPORTED, errno.EPERM, errno.EMLINK):
            raise
    # No way to refuse atomically: a file appearing between this check and the rename is lost.
    if os.path.lexists(path):
        raise PageChanged(str(path))
    os.replace(temp, path)
    return True


def _identity_of(path: Path) -> tuple[int, int] | None:
    """The (device, inode) of the file at `path` itself (a link is not followed), or None."""
    try:
        stat = os.lstat(path)
    except FileNotFoundError:
        return None
    return stat.st_dev, stat.st_ino


RENAME_NOREPLACE = 1
RENAME_EXCHANGE = 2
# What a kernel, C library or filesystem without renameat2 (or without the flag) answers.
_UNSUPPORTED = frozenset({errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP})
# What a file system without extended attributes answers.
_NO_XATTRS = (errno.ENOTSUP, errno.EOPNOTSUPP, errno.ENOSYS)


def _load_renameat2() -> Callable[[int, bytes, int, bytes, int], int] | None:
    if os.uname().sysname != "Linux":
        return None
    try:
        function = ctypes.CDLL(None, use_errno=True).renameat2  # glibc 2.28 and later
    except (OSError, AttributeError):
        return None
    function.argtypes = [
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_uint,
    ]
    function.restype = ctypes.c_int
    return function


_RENAMEAT2 = _load_renameat2()
_AT_FDCWD = -100


def renameat2(source: Path, destination: Path, flags: int) -> None:
    """renameat2(2) with `flags`; raise OSError (ENOSYS where the C library lacks it)."""
    if _RENAMEAT2 is None:
        raise OSError(errno.ENOSYS, os.strerror(errno.ENOSYS))
    if _RENAMEAT2(_AT_FDCWD, os.fsencode(source), _AT_FDCWD, os.fsencode(destination), flags) != 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code), str(source), None, str(destination))


def _wait_until_closed(fd: int) -> None:
    """Wait, for at most LATE_WRITE_WAIT, until no other process has the file open (they may
    still be writing into it). Linux tells with a lease: a write lease is granted only to the one
    process that has a file open. Where leases are not to be had, return at once."""
    if not hasattr(fcntl, "F_SETLEASE") or os.fstat(fd).st_nlink:
        return  # a file still reachable by a name could be opened, breaking the lease
    deadline = time.monotonic() + LATE_WRITE_WAIT
    while True:
        try:
            fcntl.fcntl(fd, fcntl.F_SETLEASE, fcntl.F_WRLCK)
        except OSError as error:
            if error.errno != errno.EAGAIN or time.monotonic() >= deadline:
                return
            time.sleep(0.001)
            continue
        fcntl.fcntl(fd, fcntl.F_SETLEASE, fcntl.F_UNLCK)
        return


def read_all(fd: int) -> bytes:
    """Every byte of the open file `fd`, from its start."""
    data = _read_all(fd)
    assert data is not None
    return data


def _read_all(fd: int | None) -> bytes | None:
    if fd is None:
        return None
    chunks = []
    offset = 0
    while chunk := os.pread(fd, 1 << 20, offset):
        chunks.append(chunk)
        offset += len(chunk)
    return b"".join(chunks)


WRITE_FAILED = ": cannot write page: "  # between a page's path and the reason


def describe_error(path: Path, error: OSError) -> str:
    """`PATH: cannot write page: REASON`, the OS's error said for a user."""
    return f"{path}{WRITE_FAILED}{_reason(error)}"


def describe_folder_error(folder: Path, error: OSError) -> str:
    """`cannot write in FOLDER: REASON`, for pages of that folder written together."""
    return f"cannot write in {folder}: {_reason(error)}"


def _reason(error: OSError) -> str:
    reasons = {
        errno.ENOSPC: "the disk is full",
        errno.EROFS: "the vault is read-only",
        errno.EACCES: "permission denied",
        errno.EPERM: "permission denied",
        errno.EDQUOT: "the disk quota is exceeded",
    }
    return reasons.get(error.errno or 0, error.strerror or str(error))
