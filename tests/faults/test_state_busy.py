"""A busy state database is not a corrupt one (issue 10, item 5).

Another process (here a real second process, as an `sqlite3` shell would be) holds a lock on the
state database: syncd waits (a short busy timeout here, a few seconds by default), then says so
in one line and exits 5. The database is never moved aside, and what it remembers (a block the
user deleted) still holds once the lock is gone. A state folder that cannot be used is named
with the system's reason, never a traceback.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

import syncd.edges.state
import syncd.engine.wiring
from syncd.cli import main
from syncd.edges.state import State
from syncd.edges.state_files import StateBusyError, database_path
from syncd.testing.fakereadwise import FakeReadwise
from tests.support.processes import TOKEN, write_config

PAGE = "Walden (highlights).md"
HOLDER = r"""
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None)
if sys.argv[2] == "exclusive-mode":  # after a write, the lock stays until the connection ends
    db.execute("PRAGMA locking_mode=EXCLUSIVE")
    db.execute("BEGIN IMMEDIATE")
    db.execute("INSERT OR REPLACE INTO meta VALUES ('holder', 'was here')")
    db.execute("COMMIT")
else:
    db.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
sys.stdin.read()  # until the test closes our stdin
db.close()
"""


@contextmanager
def lock_held(path: Path, kind: str) -> Iterator[None]:
    """A second process holding a lock on the database at `path` until the block ends."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(path), kind],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
        yield
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        assert holder.wait(timeout=60) == 0


@pytest.fixture
def synced_vault(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Path, Path, Path]]:
    """(config, vault, database) after a first sync of two highlights."""
    monkeypatch.setattr(syncd.edges.state, "DEFAULT_BUSY_TIMEOUT", 0.2)
    real = syncd.engine.wiring.make_client
    monkeypatch.setattr(
        syncd.engine.wiring,
        "make_client",
        lambda config, **kw: real(config, **{**kw, "sleep": lambda _: None}),
    )
    monkeypatch.setenv("SYNCD_NOW", "2023-03-17T17:05:00Z")
    monkeypatch.delenv("READWISE_TOKEN", raising=False)
    vault = tmp_path / "graph"
    vault.mkdir()
    with FakeReadwise(token=TOKEN) as server:
        server.add_book(
            title="Walden",
            author="Thoreau",
            highlights=[
                {"text": "Simplify, simplify.", "updated_at": "2023-01-01T00:00:00Z"},
                {"text": "I went to the woods.", "updated_at": "2023-01-01T00:00:00Z"},
            ],
        )
        config = write_config(
            tmp_path / "config.yaml",
            server.url,
            vault,
            tmp_path / "state",
            sync={"sync_log_page": None},
        )
        assert main(["sync", "--config", str(config)]) == 0
        yield config, vault, database_path(tmp_path / "state", vault)


@pytest.mark.parametrize("kind", ["begin-exclusive", "exclusive-mode"])
def test_a_locked_database_is_waited_for_then_exit_5_and_kept(
    synced_vault: tuple[Path, Path, Path], kind: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 10, item 5: a traceback (BEGIN EXCLUSIVE) or the live database moved aside and
    rebuilt, the deleted block back (exclusive locking mode), before."""
    config, vault, database = synced_vault
    page = vault / "pages" / PAGE
    mine = "\n".join(
        line for line in page.read_text("utf-8").split("\n") if "I went to the woods." not in line
    )
    page.write_text(mine, encoding="utf-8")  # the user deletes a block
    capsys.readouterr()
    inode = database.stat().st_ino
    with lock_held(database, kind):
        assert main(["sync", "--config", str(config)]) == 5
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "Traceback" not in err, err
        assert f"the state database {database} is locked by another process" in err
        assert database.stat().st_ino == inode  # the same file: nothing moved aside
        # Reading is allowed beside a write transaction (WAL), not beside exclusive mode.
        assert main(["status", "--config", str(config)]) == (0 if kind == "begin-exclusive" else 5)
        err = capsys.readouterr().err
        assert "Traceback" not in err
        assert kind == "begin-exclusive" or "is locked by another process" in err
    assert not [name for name in os.listdir(database.parent) if "corrupt" in name]
    assert database.stat().st_ino == inode
    assert main(["sync", "--config", str(config)]) == 0, capsys.readouterr().err
    assert page.read_text("utf-8") == mine  # the deleted block stays deleted
    state = State(database)
    try:
        assert state.counts()["deleted"] == 1
    finally:
        state.close()


def test_open_waits_for_the_lock_and_never_calls_it_corrupt(tmp_path: Path) -> None:
    """Issue 10, item 5: at the State level, opening a database held in exclusive locking mode
    is StateBusyError, not CorruptStateError: `open_or_rebuild` moves nothing aside."""
    database = tmp_path / "state.sqlite3"
    State(database).close()
    with (
        lock_held(database, "exclusive-mode"),
        pytest.raises(StateBusyError, match=r"waited 0\.1 s"),
    ):
        State.open_or_rebuild(database, busy_timeout=0.1)
    assert sorted(p.name for p in tmp_path.iterdir() if "corrupt" in p.name) == []
    state, aside = State.open_or_rebuild(database, busy_timeout=0.1)
    try:
        assert aside is None and state.get("holder") == "was here"
    finally:
        state.close()


def test_a_file_that_is_not_a_database_is_still_moved_aside(tmp_path: Path) -> None:
    """Issue 10, item 5: only a file that is not a database (or fails the integrity check) is
    corrupt; that one is still moved aside and rebuilt."""
    database = tmp_path / "state.sqlite3"
    database.write_bytes(b"this is not an sqlite database, just some bytes " * 100)
    state, aside = State.open_or_rebuild(database, busy_timeout=0.1)
    state.close()
    assert aside is not None and aside.exists()


@pytest.mark.parametrize("command", ["sync", "run", "status"])
def test_a_state_folder_that_cannot_be_made_is_one_line(
    tmp_path: Path,
    command: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Issue 10, item 5: the state folder cannot be made (here a file is where its parent
    should be): one line naming the folder and the system's reason, never a traceback."""
    monkeypatch.delenv("READWISE_TOKEN", raising=False)
    (tmp_path / "graph").mkdir()
    (tmp_path / "blocked").write_text("a file, not a folder")
    state_dir = tmp_path / "blocked" / "state"
    with FakeReadwise(token=TOKEN) as server:
        config = write_config(tmp_path / "config.yaml", server.url, tmp_path / "graph", state_dir)
        code = main([command, "--config", str(config)])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    if command == "status":  # nothing to read there: never synced, and said so
        assert code == 0
        return
    assert code == 5
    assert err == (
        f"syncd: state folder {state_dir}: cannot write the lock file there (Not a directory)\n"
    )


def test_a_database_path_that_cannot_be_opened_names_the_folder_and_reason(tmp_path: Path) -> None:
    """Issue 10, item 5: a database that cannot be opened (here a folder is where the file
    should be) is not corrupt: it is never moved aside; the message names the folder."""
    database = tmp_path / "state.sqlite3"
    database.mkdir()
    with pytest.raises(syncd.edges.state.StateError) as raised:
        State.open_or_rebuild(database, busy_timeout=0.1)
    assert not isinstance(raised.value, StateBusyError)
    assert str(raised.value) == f"state folder {tmp_path}: {os.strerror(21)}"
    assert database.is_dir() and sorted(p.name for p in tmp_path.iterdir()) == ["state.sqlite3"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a read-only folder")
def test_a_read_only_state_folder_is_one_line(
    synced_vault: tuple[Path, Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 10, item 5."""
    config, _, database = synced_vault
    database.parent.chmod(0o500)
    try:
        assert main(["sync", "--config", str(config)]) == 5
        err = capsys.readouterr().err
        assert err.startswith(f"syncd: state folder {database.parent}")
        assert "Permission denied" in err and "Traceback" not in err
        # Looking needs only the right to read (issue 22, item 4).
        assert main(["status", "--config", str(config)]) == 0
        assert "Traceback" not in capsys.readouterr().err
    finally:
        database.parent.chmod(0o700)
