"""Where a vault's state database lives, and what opening it can meet: a database another
process holds (busy: waited for, then StateBusyError), a folder that cannot be written or is gone
(StateError), a database that fails its integrity check (CorruptStateError).
"""

from __future__ import annotations

import errno
import hashlib
import os
import sqlite3
from pathlib import Path

from syncd.errors import VaultError


def database_path(state_dir: Path, vault: Path) -> Path:
    """Return the database file of one vault: several vaults may share a state_dir."""
    key = hashlib.sha256(str(vault.resolve()).encode()).hexdigest()[:16]
    return state_dir / f"vault-{key}.sqlite3"


DEFAULT_BUSY_TIMEOUT = 5.0  # seconds to wait for another process's lock on the database
_SQLITE_BUSY, _SQLITE_LOCKED, _SQLITE_CORRUPT, _SQLITE_NOTADB = 5, 6, 11, 26


class CorruptStateError(Exception):
    """The database file is not a usable syncd database."""


class StateError(VaultError):
    """The state database cannot be used now (its folder is unwritable or gone); exit 5."""


class StateBusyError(StateError):
    """Another process holds a lock on the state database, longer than syncd waits."""


def state_error(error: sqlite3.Error, path: Path, busy_timeout: float) -> Exception:
    """Given an SQLite error on the database at `path`, return what it means: StateBusyError,
    CorruptStateError (only for a damaged file or one that is not a database), or StateError
    naming the folder and the system's reason."""
    code = getattr(error, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else None
    if primary in (_SQLITE_BUSY, _SQLITE_LOCKED) or "locked" in str(error):
        return StateBusyError(
            f"the state database {path} is locked by another process (waited "
            f"{busy_timeout:g} s); close what holds it (e.g. an sqlite3 shell) and try again"
        )
    if primary in (_SQLITE_CORRUPT, _SQLITE_NOTADB) or (
        primary is None and ("malformed" in str(error) or "not a database" in str(error))
    ):
        return CorruptStateError(str(error))
    reason = os.strerror(errno.EISDIR) if path.is_dir() else folder_reason(path.parent, error)
    return StateError(f"state folder {path.parent}: {reason}")


def folder_reason(folder: Path, error: BaseException) -> str:
    """The system's reason a database in `folder` cannot be opened or written."""
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    if not folder.is_dir():
        return os.strerror(errno.ENOENT)
    return unwritable_reason(folder) or str(error)


def unwritable_reason(folder: Path) -> str | None:
    """Why this user cannot write in `folder` (the system's words: "Read-only file system",
    "Permission denied"), or None when it can. Nothing is written to find out."""
    try:
        if os.statvfs(folder).f_flag & os.ST_RDONLY:
            return os.strerror(errno.EROFS)
    except OSError as error:
        return error.strerror or str(error)
    if not os.access(folder, os.W_OK | os.X_OK):
        return os.strerror(errno.EACCES)
    return None


def copy_database(path: Path, memory: sqlite3.Connection, busy_timeout: float) -> None:
    """Copy the database at `path` into `memory`, writing nothing beside it: the file as it
    stands (`immutable`), or through SQLite's read-only mode when a write-ahead log beside it
    may hold part of it (another syncd runs). Read-only mode must write the log's shared-memory
    index, which a user who may only read (or a read-only snapshot) cannot: then the file as
    it stands, without what the log holds beyond it."""
    wal = Path(str(path) + "-wal").exists()
    try:
        _copy(path, "mode=ro" if wal else "immutable=1", memory, busy_timeout)
    except sqlite3.OperationalError as error:
        if not wal or "locked" in str(error) or "busy" in str(error):
            raise
        _copy(path, "immutable=1", memory, busy_timeout)


def _copy(path: Path, mode: str, memory: sqlite3.Connection, busy_timeout: float) -> None:
    uri = f"{path.absolute().as_uri()}?{mode}"
    source = sqlite3.connect(uri, uri=True, timeout=busy_timeout, isolation_level=None)
    try:
        # A read transaction first, waited for as long as `busy_timeout` (then "database is
        # locked"): the backup itself would retry a locked database for ever.
        source.execute("BEGIN")
        source.execute("SELECT count(*) FROM sqlite_master").fetchone()
        source.backup(memory)
    finally:
        source.close()
