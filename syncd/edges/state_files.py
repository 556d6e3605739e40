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
    if not os.access(folder, os.W_OK | os.X_OK):
        return os.strerror(errno.EACCES)
    return str(error)
