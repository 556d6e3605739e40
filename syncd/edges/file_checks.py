"""A page's file as the system has it: whether it is a regular file syncd may read (a FIFO or a
device node is never opened for reading: it could hang, or have effects), and whether syncd may
replace it, with what it must keep: its attributes (mode, owner, group, extended attributes) and
its form (line endings, byte-order mark). A page the user made read-only, or one whose lines end
both ways, is left alone.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from syncd.core.line_endings import Form, form_of
from syncd.edges import atomic
from syncd.edges.atomic import PageChanged
from syncd.errors import VaultError


def kind(mode: int) -> str | None:
    """None for a regular file; else what the file is, in a few words."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device node"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def not_a_page(path: Path, what: str) -> VaultError:
    return VaultError(f"{path}: is {what} where a page should be; left alone")


def read(path: Path) -> tuple[bytes, os.stat_result] | None:
    """The bytes and stat of the regular file at `path` (links followed); None when there is
    none. Raise VaultError, naming the file, if it is not a regular file (never opened) or
    cannot be read (with its mode when permissions are why)."""
    try:
        found = kind(os.stat(path).st_mode)
        if found is None:
            # O_NONBLOCK: a FIFO put here since the stat does not hang the open.
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
            try:
                status = os.fstat(fd)
                found = kind(status.st_mode)
                data = atomic.read_all(fd) if found is None else b""
            finally:
                os.close(fd)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as error:
        raise VaultError(f"{path}: cannot be read: {_reason(path, error)}") from None
    if found is not None:
        raise not_a_page(path, found)
    return data, status


def _reason(path: Path, error: OSError) -> str:
    """Why a file cannot be read, with its mode when permissions are the reason."""
    if error.errno in (errno.EACCES, errno.EPERM):
        try:
            return f"permission denied (mode {os.stat(path).st_mode & 0o7777:04o})"
        except OSError:
            return "permission denied"
    return error.strerror or str(error)


def replaceable(path: Path) -> tuple[atomic.Attributes, Form]:
    """The attributes and form of the page at `path`, which syncd is about to replace. Raise
    PageChanged if it is gone; VaultError, naming the page and why it is left alone, if it is
    not a regular file, is read-only (no owner write permission, as `chmod a-w` or a file
    manager's "read only" make it; root too leaves it alone), this user may not write it, or
    its lines end both ways (CRLF and LF)."""
    try:
        found = os.lstat(path)
    except FileNotFoundError:
        raise PageChanged(str(path)) from None
    what = kind(found.st_mode)
    if what is not None:
        raise not_a_page(path, what)
    mode = found.st_mode & 0o7777
    writable = os.access(path, os.W_OK, follow_symlinks=False)
    if not writable and os.statvfs(path.parent).f_flag & os.ST_RDONLY:
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))  # the whole vault
    if not mode & stat.S_IWUSR or not writable:
        why = (
            f"the page is read-only (mode {mode:04o})"
            if not mode & stat.S_IWUSR
            else f"this user (uid {os.geteuid()}) may not write the page (uid "
            f"{found.st_uid}'s, mode {mode:04o})"
        )
        raise VaultError(
            f"{path}: {why}; syncd leaves it alone and its new highlights wait until it can "
            "be written"
        )
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW)
    try:
        form = form_of(atomic.read_all(fd).decode("utf-8", "surrogateescape"))
    finally:
        os.close(fd)
    if form.mixed:
        raise VaultError(mixed_endings(path))
    return atomic.attributes_of(path, found), form


def mixed_endings(path: Path) -> str:
    return (
        f"{path}: the page has mixed line endings (CRLF and LF); syncd does not write it "
        "until its lines end one way, and its new highlights wait"
    )
