"""syncd/edges/state.py: the state database, on real SQLite files. Records round trip; counts
are what `syncd status` shows; an older database is brought up to date; a damaged file is
corrupt (moved aside and rebuilt) while a locked one is busy (never moved aside)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from syncd.core.decision import Status
from syncd.core.records import BookProblem, HighlightRecord, PageRecord, PendingWrite
from syncd.edges.state import SCHEMA_VERSION, State
from syncd.edges.state_files import (
    CorruptStateError,
    StateBusyError,
    StateError,
    database_path,
    state_error,
)


def page(book_id: int, **changes: object) -> PageRecord:
    fields: dict[str, object] = {
        "book_id": book_id,
        "path": f"pages/B{book_id}.md",
        "title": f"B{book_id}",
        "status": "active",
    }
    return PageRecord(**{**fields, **changes})  # type: ignore[arg-type]


TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=20)
PAGES = st.builds(
    PageRecord,
    book_id=st.integers(1, 2**62),
    path=TEXT,
    title=TEXT,
    status=st.sampled_from(["active", "deleted", "waiting"]),
    size=st.none() | st.integers(0, 2**40),
    mtime_ns=st.none() | st.integers(0, 2**62),
    device=st.none() | st.integers(0, 2**62),
    inode=st.none() | st.integers(0, 2**62),
)
HIGHLIGHTS = st.builds(
    HighlightRecord,
    highlight_id=st.integers(1, 2**62),
    book_id=st.integers(1, 3),
    block=TEXT,
    source=TEXT,
    status=st.sampled_from(list(Status)),
)


@settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(PAGES, max_size=5, unique_by=lambda p: p.book_id),
    st.lists(HIGHLIGHTS, max_size=8, unique_by=lambda h: h.highlight_id),
)
def test_pages_and_highlights_read_back_as_put(
    state: State, pages: list[PageRecord], highlights: list[HighlightRecord]
) -> None:
    with state.transaction():
        for record in state.pages():
            state.delete_book(record.book_id)
        for book_id in (1, 2, 3):
            state.delete_book(book_id)
        for record in pages:
            state.put_page(record)
        state.put_highlights(highlights)
    assert state.pages() == sorted(pages, key=lambda p: p.book_id)
    for record in pages:
        assert state.page(record.book_id) == record
    for book_id in (1, 2, 3):
        assert state.highlights(book_id) == {
            h.highlight_id: h for h in highlights if h.book_id == book_id
        }
    names = state.page_names()
    assert all(names.has_path(p.path) and names.has_name(p.title.casefold()) for p in pages)


def test_delete_book_forgets_its_page_highlights_and_name(state: State) -> None:
    state.put_page(page(1))
    state.put_page(page(2))
    state.put_highlights(
        [
            HighlightRecord(10, 1, "- a", "s", Status.WRITTEN),
            HighlightRecord(20, 2, "- b", "s", Status.EDITED),
        ]
    )
    assert state.page_names().has_path("pages/B1.md")
    state.delete_book(1)
    assert state.page(1) is None and state.highlights(1) == {}
    assert not state.page_names().has_path("pages/B1.md")
    assert state.highlights(2)[20].status is Status.EDITED


def test_a_rolled_back_transaction_leaves_nothing_and_forgets_the_cached_names(
    state: State,
) -> None:
    state.put_page(page(1))
    assert state.page_names().has_name("b1")
    with pytest.raises(RuntimeError), state.transaction():
        state.put_page(page(2))
        state.delete_book(1)
        raise RuntimeError("killed mid-sync")
    assert [p.book_id for p in state.pages()] == [1]
    names = state.page_names()
    assert names.has_name("b1") and not names.has_name("b2")


def test_page_names_follow_another_connection_s_commit(state: State) -> None:
    assert not state.page_names().has_path("pages/B5.md")
    other = State(state.path)
    try:
        other.put_page(page(5))
    finally:
        other.close()
    assert state.page_names().has_path("pages/B5.md")


def test_problems_by_kind_and_cleared_by_kind(state: State) -> None:
    state.put_problem(BookProblem(3, "failed", "Three", "bad record: field 'text'"))
    state.put_problem(BookProblem(1, "waiting", "One", "two pages may be it"))
    state.put_problem(BookProblem(3, "waiting", "Three", "replaces the failure"))
    assert [p.book_id for p in state.problems()] == [1, 3]
    assert state.problems("failed") == []
    assert state.problems("waiting")[1].reason == "replaces the failure"
    state.clear_problem(1, "failed")  # not that kind: kept
    assert len(state.problems()) == 2
    state.clear_problem(1)
    state.clear_problem(3, "waiting")
    assert state.problems() == []
    with pytest.raises(AssertionError):
        state.put_problem(BookProblem(4, "lost", "Four", "no such kind"))


@settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.builds(
            PendingWrite,
            path=st.from_regex(r"pages/[a-z]{1,8}\.md", fullmatch=True),
            digest=TEXT,
            page=st.none() | PAGES,
            highlights=st.lists(HIGHLIGHTS, max_size=3),
            log_highlights=st.integers(-5, 5),
            log_books=st.integers(-5, 5),
            log_titles=st.lists(st.tuples(TEXT, st.integers(0, 9)), max_size=3),
        ),
        max_size=4,
        unique_by=lambda w: w.path,
    )
)
def test_pending_writes_round_trip(state: State, writes: list[PendingWrite]) -> None:
    state.clear_pending()
    state.put_pending(writes)
    assert state.pending() == sorted(writes, key=lambda w: w.path)
    state.clear_pending()
    assert state.pending() == []


def test_counts_are_by_page_and_highlight_status(state: State) -> None:
    assert state.counts() == {
        "books": 0,
        "pages": 0,
        "deleted_pages": 0,
        "highlights": 0,
        **{s.value: 0 for s in Status},
    }
    state.put_page(page(1))
    state.put_page(page(2, status="deleted"))
    state.put_page(page(3, status="waiting"))
    state.put_highlights(
        [
            HighlightRecord(i, 1, "", "", s)
            for i, s in enumerate(
                [Status.WRITTEN, Status.WRITTEN, Status.CONFLICT, Status.REMOVED], 1
            )
        ]
    )
    counts = state.counts()
    assert (counts["books"], counts["pages"], counts["deleted_pages"]) == (3, 2, 1)
    assert (counts["highlights"], counts["written"], counts["conflict"], counts["edited"]) == (
        4,
        2,
        1,
        0,
    )


def test_meta_values_set_replace_and_delete(state: State) -> None:
    assert state.get("schema_version") == str(SCHEMA_VERSION)
    state.set("cursor", "a")
    state.set("cursor", "b")
    assert state.get("cursor") == "b"
    state.set("cursor", None)
    assert state.get("cursor") is None


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
            HighlightRecord(i, 1, "x" * 500, "s", Status.WRITTEN) for i in range(2000)
        )
    state._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    state.close()
    data = bytearray(path.read_bytes())
    assert len(data) > 40 * 4096
    data[20 * 4096 : 20 * 4096 + 4096] = b"\xa5" * 4096
    path.write_bytes(bytes(data))
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
