"""syncd/engine/sync_log.py: what the sync log page has yet to tell of, kept in a real state
database so that a sync killed before its log line is told of by the next one."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from syncd.edges.state import State
from syncd.engine.sync_log import UNLOGGED, UNLOGGED_BOOKS, SyncLog, is_sync_log


def test_untold_adds_up_across_syncs_and_connections(state: State) -> None:
    log = SyncLog(state, "Readwise Syncs", lists_books=False)
    assert log.untold() == (0, 0)
    log.add(3, 1, [["Walden", 3]])
    log.add(2, 2, [["A", 1], ["B", 1]])
    again = State(state.path)  # the next run, after a kill before the log line
    try:
        assert SyncLog(again, "Readwise Syncs", lists_books=False).untold() == (5, 3)
    finally:
        again.close()
    assert log.untold_books() == []  # Logseq's log does not name books
    log.told()
    assert log.untold() == (0, 0) and state.get(UNLOGGED) is None


def test_obsidian_s_log_lists_the_books_and_takes_the_told_ones_from_the_front(
    state: State,
) -> None:
    log = SyncLog(state, "Readwise Syncs", lists_books=True)
    log.add(3, 1, [["Walden", 3]])
    log.add(2, 2, [["Émile", 1], ["Zero", 0], ["B", 1]])
    assert log.untold_books() == [["Walden", 3], ["Émile", 1], ["B", 1]]
    log.add(-3, -1, [["Walden", 3]])  # a log line told of Walden
    assert log.untold() == (2, 2)
    assert log.untold_books() == [["Émile", 1], ["B", 1]]
    log.told()
    assert log.untold_books() == [] and state.get(UNLOGGED_BOOKS) is None


def test_no_log_page_keeps_nothing(state: State) -> None:
    log = SyncLog(state, None, lists_books=True)
    log.add(4, 1, [["Walden", 4]])
    assert log.untold() == (0, 0) and log.untold_books() == []
    assert state.get(UNLOGGED) is None


@pytest.mark.parametrize("stored", ["garbage", "1", "1 2 3", "x y"])
def test_a_damaged_count_reads_as_nothing_untold(state: State, stored: str) -> None:
    state.set(UNLOGGED, stored)
    assert SyncLog(state, "Log", lists_books=False).untold() == (0, 0)


@pytest.mark.parametrize("stored", ["not json", '{"a": 1}', '[["t", "1"], [2, 2], ["ok", 2, 3]]'])
def test_damaged_book_lists_keep_only_well_formed_items(state: State, stored: str) -> None:
    state.set(UNLOGGED_BOOKS, stored)
    assert SyncLog(state, "Log", lists_books=True).untold_books() == []


@settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.tuples(st.integers(-10, 10), st.integers(-5, 5)), max_size=10))
def test_untold_never_goes_below_zero(state: State, steps: list[tuple[int, int]]) -> None:
    log = SyncLog(state, "Log", lists_books=False)
    log.told()
    expected = (0, 0)
    for highlights, books in steps:
        log.add(highlights, books, [])
        expected = (max(0, expected[0] + highlights), max(0, expected[1] + books))
        assert log.untold() == expected


@pytest.mark.parametrize(
    ("text", "is_log"),
    [
        ("- On [[Mar 17th, 2023]] at 17:05, Readwise synced 3 highlights from 1 book.", True),
        ("- [[2023-01-07]] 3:42 AM \u2014 Synced 19 highlights from 2 books", True),
        ("- [[2023-01-07]] 13:42 \u2014 Synced 19 highlights", False),
        ("title:: Walden\n- a highlight", False),
    ],
)
def test_is_sync_log(text: str, is_log: bool) -> None:
    assert is_sync_log(text) is is_log
