"""One contract, two memories: the SQLite state database and its in-memory twin keep and give
back the same records, roll back the same way and count alike. Every test runs against both, so
a twin that drifts from the database fails here before it makes another test pass wrongly."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from syncd.core.decision import Status
from syncd.core.records import (
    BookProblem,
    FieldConflict,
    HighlightRecord,
    PageRecord,
    PageStatus,
    PendingWrite,
    Push,
    stamp_of,
)
from syncd.edges.state import State
from syncd.engine.state_overlay import StateOverlay
from syncd.ports import StatePort
from syncd.testing.memory_state import MemoryState
from tests.support.harness import harness

T0 = datetime(2023, 3, 17, 17, 5, tzinfo=timezone.utc)
WORDS = (
    "I went to the woods because I wished to live deliberately.",
    "Our life is frittered away by detail. Simplify, simplify.",
    "Time is but the stream I go a-fishing in.",
)


@pytest.fixture(params=["sqlite", "memory", "overlay"])
def state(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StatePort]:
    """The SQLite state, its in-memory twin, and a dry run's overlay over the SQLite state."""
    if request.param == "memory":
        yield MemoryState()
        return
    database = State(tmp_path / "state" / "db.sqlite3")
    yield database if request.param == "sqlite" else StateOverlay(database)
    database.close()


def page(book_id: int, **changes: object) -> PageRecord:
    fields: dict[str, object] = {
        "book_id": book_id,
        "path": f"pages/B{book_id}.md",
        "title": f"B{book_id}",
        "status": PageStatus.ACTIVE,
    }
    return PageRecord(**{**fields, **changes})  # type: ignore[arg-type]


TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=20)
PAGES = st.builds(
    PageRecord,
    book_id=st.integers(1, 2**62),
    path=TEXT,
    title=TEXT,
    status=st.sampled_from(list(PageStatus)),
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
    state: StatePort, pages: list[PageRecord], highlights: list[HighlightRecord]
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


def test_delete_book_forgets_its_page_highlights_and_name(state: StatePort) -> None:
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
    state: StatePort,
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


def test_problems_by_kind_and_cleared_by_kind(state: StatePort) -> None:
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
def test_pending_writes_round_trip(state: StatePort, writes: list[PendingWrite]) -> None:
    state.clear_pending()
    state.put_pending(writes)
    assert state.pending() == sorted(writes, key=lambda w: w.path)
    state.clear_pending()
    assert state.pending() == []


def test_counts_are_by_page_and_highlight_status(state: StatePort) -> None:
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
    # The pages alone (a sync's "pages written" when Ctrl-C stops it), without counting every
    # highlight: the same number.
    assert state.page_count() == counts["pages"] == 2
    assert (counts["highlights"], counts["written"], counts["conflict"], counts["edited"]) == (
        4,
        2,
        1,
        0,
    )


def test_meta_values_set_replace_and_delete(state: StatePort) -> None:
    state.set("cursor", "a")
    state.set("cursor", "b")
    assert state.get("cursor") == "b"
    state.set("cursor", None)
    assert state.get("cursor") is None


def test_a_page_s_status_reads_back_as_a_page_status(state: StatePort) -> None:
    state.put_page(page(1, status=PageStatus.DELETED))
    state.put_page(page(2))
    record = state.page(1)
    assert record is not None and record.status is PageStatus.DELETED
    assert [p.book_id for p in state.pages(PageStatus.ACTIVE)] == [2]
    assert state.page_paths(PageStatus.DELETED) == ["pages/B1.md"]


def test_page_stamps_are_what_a_scan_reads_of_every_record(state: StatePort) -> None:
    """Issue 20: a scan of every page reads each record's stamp, not the record."""
    state.put_page(page(3, status="deleted", device=1, inode=2))
    state.put_page(page(1, opening="# T", size=10, mtime_ns=20))
    state.put_page(page(2, status="waiting"))
    assert state.page_stamps() == [stamp_of(p) for p in state.pages()]
    assert state.page_stamps()[:2] == [
        (1, "pages/B1.md", "active", 10, 20, 1),
        (2, "pages/B2.md", "waiting", None, None, 0),
    ]


def test_pages_at_are_the_records_at_those_paths(state: StatePort) -> None:
    state.put_page(page(2))
    state.put_page(page(1, path="pages/Shared.md"))
    state.put_page(page(3, path="pages/Shared.md", status=PageStatus.DELETED))
    assert [p.book_id for p in state.pages_at(["pages/Shared.md", "pages/B2.md"])] == [1, 2, 3]
    assert state.pages_at(["pages/None.md"]) == []


def test_entries_are_the_keys_under_a_prefix(state: StatePort) -> None:
    state.set("full_text:a", "1")
    state.set("full_text:b", "2")
    state.set("full_textual", "3")
    state.set("cursor", "x")
    assert state.entries("full_text:") == {"full_text:a": "1", "full_text:b": "2"}


def test_a_pending_write_s_block_stored_as_its_span_reads_back_empty(state: StatePort) -> None:
    text = "- a\n- b\n"
    record = HighlightRecord(10, 1, "- b", "s", Status.WRITTEN)
    state.put_pending([PendingWrite("pages/B1.md", "d", page(1), [record], spans=[(4, 7)])])
    (back,) = state.pending()
    assert back.highlights[0].block == "" and back.spans == [(4, 7)]
    assert back.written(text) == [record]


def test_syncs_through_either_state_write_the_same_pages(tmp_path: Path) -> None:
    """The engine cannot tell them apart: the same library, the same edits and deletions by the
    user, synced remembering in SQLite or in the twin, leave the same pages and the same counts."""
    results = []
    for memory_state in (False, True):
        with harness(
            tmp_path / str(memory_state), readwise="twin", memory=True, memory_state=memory_state
        ) as h:
            h.now = T0
            book = h.server.add_book(
                title="Walden",
                author="Henry David Thoreau",
                highlights=[{"text": t, "location": n} for n, t in enumerate(WORDS, 1)],
            )
            h.sync()
            assert h.memory is not None
            (name,) = h.page_names()
            path = h.pages / name
            text = h.page(name)
            h.memory.put(
                h.memory.relative(path),
                text.replace("Our life is", "Our life is, alas,").replace(WORDS[2], "Mine."),
            )
            h.now = T0 + timedelta(hours=1)
            h.server.add_highlight(int(book["user_book_id"]), text="Last.", location=4)
            h.sync()
            h.sync(at=T0 + timedelta(hours=2), full=True)
            state = h.state()
            results.append((h.page_names(), h.page(name), state.counts()))
            state.close()
    assert results[0] == results[1]
    _, text, counts = results[0]
    assert "Our life is, alas," in text and WORDS[2] not in text and "\t- Last." in text
    assert (counts["highlights"], counts["edited"], counts["deleted"]) == (4, 1, 1)


def test_an_overlay_reads_its_base_and_never_writes_it(tmp_path: Path) -> None:
    """What a dry run looks at and decides stays in the overlay: the base reads as before."""
    base = State(tmp_path / "db.sqlite3")
    try:
        base.put_page(page(1))
        base.put_page(page(2))
        base.put_highlights([HighlightRecord(10, 1, "- a", "s", Status.WRITTEN)])
        base.put_problem(BookProblem(2, "failed", "B2", "bad"))
        base.set("cursor", "c")
        before = (base.pages(), base.highlights(1), base.problems(), base.counts())
        overlay = StateOverlay(base)
        assert overlay.pages() == base.pages() and overlay.highlights(1) == base.highlights(1)
        overlay.put_page(page(1, status=PageStatus.DELETED))
        overlay.delete_book(2)
        overlay.put_highlights([HighlightRecord(11, 1, "- b", "s", Status.EDITED)])
        overlay.clear_problem(2)
        overlay.set("cursor", None)
        assert [(p.book_id, p.status) for p in overlay.pages()] == [(1, PageStatus.DELETED)]
        assert set(overlay.highlights(1)) == {10, 11} and overlay.problems() == []
        assert overlay.get("cursor") is None and overlay.counts()["deleted_pages"] == 1
        assert (base.pages(), base.highlights(1), base.problems(), base.counts()) == before
        assert base.get("cursor") == "c"
    finally:
        base.close()


# two-way sync (issue 19)


def push(highlight_id: int, field: str, before: object, after: object, **more: object) -> Push:
    return Push(0, "2026-12-07T12:00:00+00:00", 1, highlight_id, field, before, after, **more)  # type: ignore[arg-type]


def test_pushes_are_numbered_rising_and_listed_newest_first(state: StatePort) -> None:
    first = state.add_push(push(10, "note", "", "mine", book="Walden"))
    second = state.add_push(push(10, "tags", frozenset({"a"}), frozenset({"a", "b 🌲"})))
    third = state.add_push(push(11, "text", "typo", "fixed"))
    assert first < second < third
    listed = state.pushes()
    assert [p.number for p in listed] == [third, second, first]
    assert listed[1].before == frozenset({"a"}) and listed[1].after == frozenset({"a", "b 🌲"})
    assert listed[2].book == "Walden" and listed[2].after == "mine"
    assert all(p.state == "sent" for p in listed)
    state.settle_push(second, "made")
    state.settle_push(third, "dropped")
    assert [p.number for p in state.pushes("sent")] == [first]
    assert [p.number for p in state.pushes("made")] == [second]
    reverted = state.add_push(push(10, "note", "mine", "", reverts=first))
    assert state.pushes()[0].reverts == first and state.pushes()[0].number == reverted


def test_a_push_recorded_in_a_rolled_back_transaction_is_gone(state: StatePort) -> None:
    kept = state.add_push(push(10, "note", "", "a"))
    with pytest.raises(RuntimeError), state.transaction():
        state.settle_push(kept, "made")
        state.add_push(push(10, "note", "a", "b"))
        raise RuntimeError("killed")
    assert [(p.number, p.state) for p in state.pushes()] == [(kept, "sent")]


def test_conflicts_replace_a_highlight_s_and_go_with_its_book(state: StatePort) -> None:
    state.put_page(page(1))
    state.put_page(page(2))
    note = FieldConflict(10, 1, "note", "pages/B1.md", "", "mine", "theirs")
    tags = FieldConflict(10, 1, "tags", "pages/B1.md", frozenset(), frozenset({"x"}), frozenset())
    other = FieldConflict(20, 2, "text", "pages/B2.md", "a", "b", "c")
    state.put_conflicts(10, [note, tags])
    state.put_conflicts(20, [other])
    assert state.conflicts() == [note, tags, other]
    state.put_conflicts(10, [note])
    assert state.conflicts() == [note, other]
    state.put_conflicts(10, [])
    assert state.conflicts() == [other]
    state.delete_book(2)
    assert state.conflicts() == []


def test_a_highlight_s_older_blocks_are_kept_until_its_book_is_forgotten(
    state: StatePort,
) -> None:
    state.put_page(page(1))
    state.put_highlights([HighlightRecord(10, 1, "- a", "s", Status.WRITTEN)])
    assert state.older_blocks(10) == frozenset()
    state.put_highlights([HighlightRecord(10, 1, "- a", "s2", Status.EDITED)])
    assert state.older_blocks(10) == frozenset()  # the same block: nothing older
    state.put_highlights([HighlightRecord(10, 1, "- b", "s", Status.WRITTEN)])
    state.put_highlights([HighlightRecord(10, 1, "- c", "s", Status.WRITTEN)])
    assert state.older_blocks(10) == {"- a", "- b"}
    state.delete_book(1)
    assert state.older_blocks(10) == frozenset()
