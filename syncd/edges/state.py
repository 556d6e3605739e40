"""The state database (SQLite under `state_dir`, never in the vault).

It remembers which page holds which book, what syncd last wrote for every highlight, the cursor,
and the outcome of the last sync. The vault stays the truth for content: when this database is
lost or corrupt (it fails an integrity check, or is not a database), it is moved aside and rebuilt
from the pages (see `syncd.engine.sync`). The integrity check reads the whole file, so it runs
only when the file may be damaged: when syncd did not close it cleanly (a kill, a crash, damage
met while it was open) or something changed it since (see `CLOSED`). A database another
process holds a lock on is not corrupt: it is waited for (`busy_timeout`), then
StateBusyError. A folder that cannot be written or is gone is StateError, naming it and the
system's reason.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from syncd.edges.atomic import file_identity
from syncd.edges.state_files import (
    DEFAULT_BUSY_TIMEOUT,
    CorruptStateError,
    StateError,
    copy_database,
    folder_reason,
    state_error,
)
from syncd.edges.state_pages import PAGES_SCHEMA, PageTables
from syncd.edges.state_push import PUSH_SCHEMA, PushTables
from syncd.edges.state_work import WORK_SCHEMA, WorkTables

SCHEMA_VERSION = 1
# Beside the database: the file's stamp (device, inode, size, mtime, ctime) as syncd last closed
# it cleanly, its write-ahead log folded in. Opening a database whose file still matches it
# skips the integrity check; opening removes it until the next clean close.
CLOSED = ".closed"
SCHEMA = (
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    + PAGES_SCHEMA
    + WORK_SCHEMA
    + PUSH_SCHEMA  # issue 19: created in a database an older syncd made, too
)


class State(PageTables, WorkTables, PushTables):
    """A connection to one vault's state database: its meta values here, its pages
    (`PageTables`), its work under way (`WorkTables`) and its pushes (`PushTables`) in modules
    of their own."""

    def __init__(
        self, path: Path, *, busy_timeout: float | None = None, check: bool | None = None
    ) -> None:
        """Open (or create) the database at `path`; wait up to `busy_timeout` seconds
        (default DEFAULT_BUSY_TIMEOUT) for another process's lock, on opening and on every
        later statement. `check`: check the whole file (None: when it may be damaged, see
        `closed_cleanly`)."""
        busy_timeout = DEFAULT_BUSY_TIMEOUT if busy_timeout is None else busy_timeout
        self.path = path
        self.busy_timeout = busy_timeout
        self._names, self._names_version = None, None  # see PageTables
        self._stamp_on_close = False
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as error:
            raise StateError(
                f"state folder {path.parent}: cannot create it "
                f"({folder_reason(path.parent, error)})"
            ) from None
        check = not closed_cleanly(path) or bool(check)
        try:
            # One runner uses the connection at a time; the daemon may build it on another thread.
            self._db = sqlite3.connect(
                path, isolation_level=None, check_same_thread=False, timeout=busy_timeout
            )
            # A new database's pages: 16 KB, not 4 KB, so that a book's compressed blocks (a
            # few KB each, see state_pages) fill them rather than one to a page, half empty.
            self._db.execute("PRAGMA page_size=16384")
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(SCHEMA)
            self._migrate()
            version = self.get("schema_version")
            if version is None:
                self.set("schema_version", str(SCHEMA_VERSION))
            elif version != str(SCHEMA_VERSION):
                raise CorruptStateError(f"unknown schema version {version}")
            # Every page of the file, not only those opening it reads: a database damaged
            # further in would otherwise fail mid-sync (20 to 60 ms for 100,000 highlights,
            # most of a no-op sync's work: so only when it may be damaged).
            if check:
                problem = self._db.execute("PRAGMA quick_check(1)").fetchone()[0]
                if problem != "ok":
                    raise CorruptStateError(problem)
        except sqlite3.DatabaseError as error:
            with suppress(AttributeError, sqlite3.Error):
                self._db.close()
            raise state_error(error, path, busy_timeout) from None
        self._identity = file_identity(path)
        self._stamp_on_close = True

    def _migrate(self) -> None:
        """Bring a database an older syncd made up to date: columns added since."""
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(pages)")}
        for column, kind in (("device", "INTEGER"), ("inode", "INTEGER"), ("opening", "TEXT")):
            if column not in columns:
                self._db.execute(f"ALTER TABLE pages ADD COLUMN {column} {kind}")
        pushes = {row[1] for row in self._db.execute("PRAGMA table_info(pushes)")}
        if "seen" not in pushes:  # issue 19: a push's `seen` (see Push)
            self._db.execute("ALTER TABLE pushes ADD COLUMN seen TEXT")

    @classmethod
    def open_or_rebuild(
        cls, path: Path, *, busy_timeout: float | None = None, check: bool | None = None
    ) -> tuple[State, Path | None]:
        """Open the database; if it is corrupt, move it aside and start a new one. A locked
        one is waited for, then StateBusyError: never moved aside.

        Return the state and where the corrupt file went (None when nothing was moved)."""
        try:
            return cls(path, busy_timeout=busy_timeout, check=check), None
        except CorruptStateError:
            aside = path.with_name(f"{path.name}.corrupt-{int(time.time())}")
            for suffix in ("", "-wal", "-shm"):
                source = Path(str(path) + suffix)
                if source.exists():
                    os.replace(source, Path(str(aside) + suffix))
            return cls(path, busy_timeout=busy_timeout), aside

    @classmethod
    def read_only_copy(cls, path: Path, *, busy_timeout: float | None = None) -> State:
        """Return a State over an in-memory copy of the database at `path` (empty when there
        is none), for a dry run and `syncd status`: nothing is created or written under the
        state folder, which may be one this user can only read (see `copy_database`)."""
        busy_timeout = DEFAULT_BUSY_TIMEOUT if busy_timeout is None else busy_timeout
        memory = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
        try:
            if path.exists():
                copy_database(path, memory, busy_timeout)
                problem = memory.execute("PRAGMA quick_check(1)").fetchone()[0]
                if problem != "ok":
                    raise CorruptStateError(problem)
            memory.executescript(SCHEMA)
        except sqlite3.DatabaseError as error:
            memory.close()
            raise state_error(error, path, busy_timeout) from None
        except CorruptStateError:
            memory.close()
            raise
        state = cls.__new__(cls)
        state.path, state.busy_timeout, state._db = path, busy_timeout, memory
        state._names, state._names_version = None, None
        state._identity = file_identity(path)
        state._stamp_on_close = False  # a copy: the file's stamp is not its to write
        if state.get("schema_version") is None:
            state.set("schema_version", str(SCHEMA_VERSION))
        return state

    def error(self, error: sqlite3.Error) -> Exception:
        """What an SQLite error met while using this database means (see `state_error`). A
        corrupt one is not stamped as closed cleanly: the next open checks it (and moves it
        aside)."""
        meant = state_error(error, self.path, self.busy_timeout)
        if isinstance(meant, CorruptStateError):
            self._stamp_on_close = False
        return meant

    def replaced(self) -> bool:
        """True when the database file this connection has open is no longer at its path:
        deleted, or another file put there (the connection would go on with the old one)."""
        return file_identity(self.path) != self._identity

    def close(self) -> None:
        """Close the connection; when it was the last one (its write-ahead log is folded into
        the file and gone) and no damage was met, stamp the file as closed cleanly."""
        self._db.close()
        if self._stamp_on_close and not self.replaced():
            self._stamp_on_close = False
            stamp_closed(self.path)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            self._names = None
            raise
        self._db.execute("COMMIT")

    # meta: cursor, last sync outcome, Reader full texts (`full_text:<document id>`)
    def entries(self, prefix: str) -> dict[str, str]:
        query = "SELECT key, value FROM meta WHERE substr(key, 1, ?) = ?"
        return dict(self._db.execute(query, (len(prefix), prefix)).fetchall())

    def get(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set(self, key: str, value: str | None) -> None:
        if value is None:
            self._db.execute("DELETE FROM meta WHERE key = ?", (key,))
        else:
            self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))


def _stamp_path(path: Path) -> Path:
    return path.with_name(path.name + CLOSED)


def _file_stamp(path: Path) -> str | None:
    """What changes when anything writes or replaces the file (None: no file)."""
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return f"{stat.st_dev} {stat.st_ino} {stat.st_size} {stat.st_mtime_ns} {stat.st_ctime_ns}"


def closed_cleanly(path: Path) -> bool:
    """Whether the database at `path` is as syncd last closed it cleanly (or there is none: a
    new one needs no check). Forgets that it was: the database is being opened to be written.
    A write-ahead log beside it means a connection did not close (a kill, another process)."""
    stamp = _stamp_path(path)
    try:
        seen = stamp.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError):
        seen = None
    with suppress(OSError):
        stamp.unlink()
    now = _file_stamp(path)
    if now is None:
        return True
    return seen == now and not Path(str(path) + "-wal").exists()


def stamp_closed(path: Path) -> None:
    """Stamp the database at `path` as closed cleanly (a best effort: without the stamp the
    next open checks it); not while its write-ahead log is there (another connection has it)."""
    if Path(str(path) + "-wal").exists():
        return
    now = _file_stamp(path)
    if now is not None:
        with suppress(OSError):
            _stamp_path(path).write_text(now, encoding="ascii")
