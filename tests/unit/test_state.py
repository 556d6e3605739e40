"""syncd/edges/state.py: what only the SQLite state database does (the records themselves are held
to the same contract as the in-memory twin in tests/contract/test_state_contract.py): an older
database is brought up to date; a damaged file is corrupt (moved aside and rebuilt) while a
locked one is busy (never moved aside); a read-only copy writes nothing."""

from __future__ import annotations

import hashlib
import json
import os
import random
import sqlite3
import string
import zlib
from dataclasses import astuple, fields
from pathlib import Path

import pytest

from syncd.core.decision import Status
from syncd.core.records import HighlightRecord, PageRecord, PageStatus
from syncd.edges.state import SCHEMA_VERSION, State
from syncd.edges.state_files import (
    CorruptStateError,
    StateBusyError,
    StateError,
    database_path,
    state_error,
)
from syncd.edges.state_work import _page_fields
from tests.contract.test_state_contract import page


def test_a_new_database_has_the_schema_version(state: State) -> None:
    assert state.get("schema_version") == str(SCHEMA_VERSION)


def test_page_names_follow_another_connection_s_commit(state: State) -> None:
    assert not state.page_names().has_path("pages/B5.md")
    other = State(state.path)
    try:
        other.put_page(page(5))
    finally:
        other.close()
    assert state.page_names().has_path("pages/B5.md")


def test_a_database_of_an_older_syncd_gains_the_page_identity_columns(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    old = sqlite3.connect(path)
    old.executescript("""
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        INSERT INTO meta VALUES ('schema_version', '1'), ('cursor', '2023-01-01T00:00:00Z');
        CREATE TABLE pages (book_id INTEGER PRIMARY KEY, path TEXT NOT NULL,
                            title TEXT NOT NULL, status TEXT NOT NULL,
                            size INTEGER, mtime_ns INTEGER);
        INSERT INTO pages VALUES (7, 'pages/Old.md', 'Old', 'active', 12, 34);
    """)
    old.commit()
    old.close()
    state = State(path)
    try:
        assert state.page(7) == PageRecord(7, "pages/Old.md", "Old", "active", 12, 34, None, None)
        assert state.get("cursor") == "2023-01-01T00:00:00Z"
        state.put_page(page(7, device=1, inode=2))
        assert state.page(7) == page(7, device=1, inode=2)
    finally:
        state.close()


def test_an_unknown_schema_version_is_corrupt_and_moved_aside(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    state = State(path)
    state.set("schema_version", "99")
    state.put_page(page(1))
    state.close()
    with pytest.raises(CorruptStateError, match="unknown schema version 99"):
        State(path)
    rebuilt, aside = State.open_or_rebuild(path)
    try:
        assert aside is not None and aside.exists() and rebuilt.pages() == []
    finally:
        rebuilt.close()


def test_a_database_damaged_past_its_first_page_is_corrupt(tmp_path: Path) -> None:
    """The integrity check reads every page: damage far into the file is found on opening,
    not mid-sync."""
    path = tmp_path / "db.sqlite3"
    state = State(path)
    with state.transaction():
        state.put_highlights(
            # (Blocks that do not compress: a book's blocks are stored compressed.)
            HighlightRecord(i, 1, hashlib.sha512(bytes(i)).hexdigest() * 4, "s", Status.WRITTEN)
            for i in range(2000)
        )
    state._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    state.close()
    data = bytearray(path.read_bytes())
    assert len(data) > 40 * 4096
    data[20 * 4096 : 20 * 4096 + 4096] = b"\xa5" * 4096
    path.write_bytes(bytes(data))
    later_tick(path)
    with pytest.raises(CorruptStateError):
        State(path).close()
    rebuilt, aside = State.open_or_rebuild(path)
    rebuilt.close()
    assert aside is not None


def test_a_lock_another_connection_holds_is_busy_not_corrupt(state: State) -> None:
    other = State(state.path, busy_timeout=0)
    try:
        with state.transaction():
            state.put_page(page(1))
            with pytest.raises(sqlite3.OperationalError) as raised, other.transaction():
                other.put_page(page(2))
        error = other.error(raised.value)
        assert isinstance(error, StateBusyError)
        assert f"the state database {state.path} is locked by another process" in str(error)
    finally:
        other.close()
    assert [p.book_id for p in state.pages()] == [1]


@pytest.mark.parametrize(
    ("message", "kind"),
    [
        ("database is locked", StateBusyError),
        ("database table is locked", StateBusyError),
        ("database disk image is malformed", CorruptStateError),
        ("file is not a database", CorruptStateError),
        ("unable to open database file", StateError),
    ],
)
def test_state_error_tells_busy_from_corrupt(
    tmp_path: Path, message: str, kind: type[Exception]
) -> None:
    error = state_error(sqlite3.OperationalError(message), tmp_path / "db.sqlite3", 1.5)
    assert type(error) is kind
    if kind is StateError:
        assert str(error).startswith(f"state folder {tmp_path}: ")


def test_replaced_sees_another_file_put_at_the_path(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    state = State(path)
    try:
        assert not state.replaced()
        (tmp_path / "other").write_bytes(b"")
        (tmp_path / "other").replace(path)
        assert state.replaced()
    finally:
        state.close()


def test_a_read_only_copy_writes_nothing_under_the_state_folder(tmp_path: Path) -> None:
    path = tmp_path / "state" / "db.sqlite3"
    empty = State.read_only_copy(path)
    empty.put_page(page(1))
    empty.close()
    assert not (tmp_path / "state").exists()
    real = State(path)
    real.put_page(page(2))
    real.close()
    copy = State.read_only_copy(path)
    try:
        assert [p.book_id for p in copy.pages()] == [2]
        copy.put_page(page(3))
    finally:
        copy.close()
    again = State(path)
    try:
        assert [p.book_id for p in again.pages()] == [2]
    finally:
        again.close()


def test_each_vault_has_its_own_database_in_a_shared_state_folder(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = database_path(tmp_path / "state", tmp_path / "a")
    assert first != database_path(tmp_path / "state", tmp_path / "b")
    assert first == database_path(tmp_path / "state", tmp_path / "b" / ".." / "a")
    assert first.parent == tmp_path / "state"


def test_a_database_from_before_two_way_sync_gains_its_tables(tmp_path: Path) -> None:
    """issue 19: a database an older syncd made (no pushes, conflicts, older blocks) is brought
    up to date on opening; its records stay, and a block replaced after that is kept."""
    from syncd.edges.state_pages import PAGES_SCHEMA
    from syncd.edges.state_work import WORK_SCHEMA

    path = tmp_path / "old.sqlite3"
    db = sqlite3.connect(path)
    db.executescript(
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
        + PAGES_SCHEMA
        + WORK_SCHEMA
        + "INSERT INTO meta VALUES ('schema_version', '1');"
        + "INSERT INTO highlights VALUES (10, 1, '- a', 's', 'written');"
    )
    db.commit()
    db.close()
    state = State(path)
    assert state.pushes() == [] and state.conflicts() == []
    state.put_highlights([HighlightRecord(10, 1, "- b", "s", Status.WRITTEN)])
    assert state.older_blocks(10) == {"- a"}
    state.close()


# --- the integrity check: when the database was not closed cleanly, or changed since ---------


@pytest.fixture
def statements(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The SQL statements every connection opened from now on runs."""
    seen: list[str] = []
    connect = sqlite3.connect

    def traced(*args: object, **kwargs: object) -> sqlite3.Connection:
        connection = connect(*args, **kwargs)  # type: ignore[arg-type]
        connection.set_trace_callback(seen.append)
        return connection

    monkeypatch.setattr(sqlite3, "connect", traced)
    return seen


def later_tick(path: Path) -> None:
    """Give the file the mtime of a later tick of the file system's clock: a write within the
    same tick as syncd's close (a millisecond or so later, as a test writes) can leave mtime and
    ctime as they were, which the world's writes, coming later, do not."""
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))


def checks(statements: list[str]) -> int:
    return sum("quick_check" in statement for statement in statements)


def filled(path: Path) -> None:
    state = State(path)
    with state.transaction():
        state.put_page(page(1))
        state.put_highlights(
            HighlightRecord(i, 1, "x" * 500, "s", Status.WRITTEN) for i in range(200)
        )
    state.close()


def test_a_database_syncd_closed_cleanly_is_not_checked_again_on_open(
    tmp_path: Path, statements: list[str]
) -> None:
    """Issue 20: the check reads the whole file (most of a no-op sync's cost at 10,000 pages);
    a database syncd closed and nobody changed since is opened without it."""
    path = tmp_path / "db.sqlite3"
    filled(path)
    statements.clear()
    State(path).close()
    State(path).close()
    assert checks(statements) == 0


def test_a_database_not_closed_cleanly_is_checked_on_open(
    tmp_path: Path, statements: list[str]
) -> None:
    """A process killed with the database open (its write-ahead log still there, or no stamp
    of a clean close): the next open checks the whole file."""
    path = tmp_path / "db.sqlite3"
    filled(path)
    killed = State(path)
    killed.put_page(page(2))
    statements.clear()
    State(path).close()  # while the other connection (a killed syncd's) still holds the log
    assert checks(statements) == 1
    killed._db.close()  # a kill: no clean close of syncd's
    statements.clear()
    State(path).close()
    assert checks(statements) == 1
    statements.clear()
    State(path).close()
    assert checks(statements) == 0


@pytest.mark.parametrize("how", ["same size", "other size", "replaced"])
def test_a_database_changed_since_syncd_closed_it_is_checked_on_open(
    tmp_path: Path, statements: list[str], how: str
) -> None:
    path = tmp_path / "db.sqlite3"
    filled(path)
    data = path.read_bytes()
    if how == "replaced":
        (tmp_path / "copy").write_bytes(data)
        (tmp_path / "copy").replace(path)
    else:
        path.write_bytes(data if how == "same size" else data + bytes(4096))
        later_tick(path)
    statements.clear()
    State(path).close()
    assert checks(statements) == 1


def test_the_daemon_s_open_checks_the_whole_file_always(
    tmp_path: Path, statements: list[str]
) -> None:
    """The daemon keeps the database open for days: it asks for the check at its start."""
    path = tmp_path / "db.sqlite3"
    filled(path)
    statements.clear()
    State(path, check=True).close()
    State.open_or_rebuild(path, check=True)[0].close()
    assert checks(statements) == 2


def _blocks_of_a_library(books: int, per_book: int) -> list[HighlightRecord]:
    """Blocks shaped like a page's: words of a few thousand, a location link, now and then a
    note (seeded)."""
    rng = random.Random(20)
    # (A vocabulary of 500 words, the common ones far more often: how a language repeats.)
    words = ["".join(rng.choices(string.ascii_lowercase, k=rng.randint(2, 9))) for _ in range(500)]
    weights = [1 / rank for rank in range(1, 501)]
    records = []
    for book_id in range(1, books + 1):
        for n in range(per_book):
            highlight_id = book_id * 1000 + n
            text = " ".join(rng.choices(words, weights, k=rng.randint(15, 70)))
            block = (
                f"- {text.capitalize()}. ([Location {rng.randint(1, 9999)}]"
                f"(https://readwise.io/to_kindle?action=open&asin=B{book_id:09d}"
                f"&location={n * 17}))"
            )
            if rng.random() < 0.3:
                note = " ".join(rng.choices(words, weights, k=12))
                block += f"\n    - Note: {note} ^rw{highlight_id}"
            records.append(HighlightRecord(highlight_id, book_id, block, "d" * 24, Status.WRITTEN))
    return records


def test_the_database_of_a_first_sync_is_smaller_than_the_blocks_it_holds(
    tmp_path: Path,
) -> None:
    """Issue 20: a first sync's state database no bigger than the pages. The blocks are most
    of the pages' bytes; stored one by one, with their rows and indexes, the database was 1.4
    times the pages."""
    path = tmp_path / "db.sqlite3"
    records = _blocks_of_a_library(300, 10)
    state = State(path)
    for book_id in range(1, 301):
        with state.transaction():
            state.put_page(page(book_id))
            state.put_highlights(r for r in records if r.book_id == book_id)
    state.close()
    blocks = sum(len(r.block.encode()) for r in records)
    assert path.stat().st_size < blocks
    state = State(path)
    try:
        for book_id in (1, 150, 300):
            assert state.highlights(book_id) == {
                r.highlight_id: r for r in records if r.book_id == book_id
            }
    finally:
        state.close()


def rows_an_older_syncd_wrote(tmp_path: Path, *rows: tuple[str, tuple[object, ...]]) -> Path:
    """A new state database with `rows` (statement, parameters) put in as an older syncd stored
    them, beside this one's connection; return its path."""
    path = tmp_path / "db.sqlite3"
    State(path).close()
    old = sqlite3.connect(path)
    for statement, parameters in rows:
        old.execute(statement, parameters)
    old.commit()
    old.close()
    return path


def test_blocks_an_older_syncd_stored_whole_read_back_beside_new_ones(tmp_path: Path) -> None:
    path = rows_an_older_syncd_wrote(
        tmp_path,
        ("INSERT INTO highlights VALUES (1, 7, '- old one', 'a', 'written')", ()),
        ("INSERT INTO highlights VALUES (2, 7, '- old two\n    - Note: n', 'b', 'edited')", ()),
    )
    state = State(path)
    try:
        assert state.highlights(7)[2] == HighlightRecord(
            2, 7, "- old two\n    - Note: n", "b", Status.EDITED
        )
        with state.transaction():
            state.put_highlights([HighlightRecord(1, 7, "- new one", "c", Status.WRITTEN)])
            state.put_highlights([HighlightRecord(3, 7, "- three \ud800", "d", Status.WRITTEN)])
        assert state.highlights(7) == {
            1: HighlightRecord(1, 7, "- new one", "c", Status.WRITTEN),
            2: HighlightRecord(2, 7, "- old two\n    - Note: n", "b", Status.EDITED),
            3: HighlightRecord(3, 7, "- three \ud800", "d", Status.WRITTEN),
        }
        with state.transaction():
            state.delete_book(7)
        assert state.highlights(7) == {}
        assert state._db.execute("SELECT count(*) FROM blocks").fetchone()[0] == 0
    finally:
        state.close()


def test_blocks_of_any_text_read_back_as_put(state: State) -> None:
    """A book's blocks are stored one after the other with their lengths (issue 20): no text
    in them is taken for the separators."""
    texts = ["", "- a:1,2\n", "\x00", "\n\n", "- \ud800 é 😀", '["x", 1]', ",", ":", "- z"]
    records = [HighlightRecord(n, 5, text, "s", Status.WRITTEN) for n, text in enumerate(texts)]
    records.append(HighlightRecord(-3, 5, "- negative id", "s", Status.WRITTEN))
    with state.transaction():
        state.put_highlights(records)
    assert state.highlights(5) == {r.highlight_id: r for r in records}


def test_blocks_an_older_syncd_packed_as_json_read_back(tmp_path: Path) -> None:
    packed = zlib.compress(json.dumps([[1, "- one"], [2, '- two \\ "x"']]).encode(), 1)
    path = rows_an_older_syncd_wrote(
        tmp_path,
        ("INSERT INTO blocks VALUES (7, ?)", (packed,)),
        ("INSERT INTO highlights VALUES (1, 7, x'', 'a', 'written')", ()),
        ("INSERT INTO highlights VALUES (2, 7, x'', 'b', 'written')", ()),
    )
    state = State(path)
    try:
        assert state.highlights(7) == {
            1: HighlightRecord(1, 7, "- one", "a", Status.WRITTEN),
            2: HighlightRecord(2, 7, '- two \\ "x"', "b", Status.WRITTEN),
        }
        with state.transaction():
            state.put_highlights([HighlightRecord(3, 7, "- three", "c", Status.WRITTEN)])
        assert state.highlights(7)[1] == HighlightRecord(1, 7, "- one", "a", Status.WRITTEN)
        assert state.highlights(7)[3] == HighlightRecord(3, 7, "- three", "c", Status.WRITTEN)
    finally:
        state.close()


def test_a_pending_page_record_is_stored_with_every_field_in_order() -> None:
    """The pending write's page is stored from a tuple built by hand (astuple is slow): it
    must be astuple's, field for field, when PageRecord gains one."""
    record = PageRecord(7, "pages/A.md", "A", PageStatus.ACTIVE, 1, 2, 3, 4, "opening")
    assert _page_fields(record) == astuple(record)
    assert len(_page_fields(record)) == len(fields(PageRecord))
