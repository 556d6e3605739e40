"""syncd/commands/status.py: what `syncd status` collects from a real state database, and the
lines it shows."""

from __future__ import annotations

from pathlib import Path

from syncd.commands.status import ATTENTION_SHOWN, collect_status, format_status
from syncd.config.load import config_from_mapping
from syncd.config.values import Config
from syncd.core.decision import Status
from syncd.core.records import BookProblem, HighlightRecord, PageRecord
from syncd.edges.state import State
from syncd.edges.state_files import database_path
from syncd.engine.report import SyncReport
from syncd.engine.state_summary import book_entries, record_error, record_sync


def make_config(tmp_path: Path) -> Config:
    (tmp_path / "graph").mkdir(exist_ok=True)
    return config_from_mapping(
        {
            "readwise": {"token": "t"},
            "vault": {"path": str(tmp_path / "graph")},
            "state_dir": str(tmp_path / "state"),
        },
        None,
        {},
    )


def state_of(config: Config) -> State:
    return State(database_path(config.state_dir, config.vault.path))


def fill(state: State) -> None:
    state.put_page(PageRecord(1, "pages/Walden.md", "Walden", "active"))
    state.put_page(PageRecord(2, "pages/Gone.md", "Gone", "deleted"))
    state.put_highlights(
        [
            HighlightRecord(10, 1, "", "", Status.WRITTEN),
            HighlightRecord(11, 1, "", "", Status.CONFLICT),
            HighlightRecord(12, 1, "", "", Status.CONFLICT),
            HighlightRecord(20, 2, "", "", Status.DELETED),
        ]
    )
    state.put_problem(BookProblem(1, "waiting", "Walden", "two pages may be it"))
    state.put_problem(BookProblem(3, "failed", "Broken", "field 'text' missing"))


def test_a_vault_never_synced_says_so_and_creates_no_database(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    status = collect_status(config)
    assert status == {"vault": str(config.vault.path), "daemon_pid": None, "synced": False}
    assert format_status(status).splitlines() == [
        f"vault: {config.vault.path}",
        "daemon: not running",
        "never synced",
    ]
    assert not (tmp_path / "state").exists()


def test_book_entries_join_pages_highlights_and_problems(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    state = state_of(config)
    try:
        fill(state)
        entries = book_entries(state)
    finally:
        state.close()
    assert [(b.book_id, b.path, b.status, dict(b.highlights), b.problem) for b in entries] == [
        (
            1,
            "pages/Walden.md",
            "active",
            {"written": 1, "conflict": 2},
            "waiting: two pages may be it",
        ),
        (2, "pages/Gone.md", "deleted", {"deleted": 1}, None),
        (3, None, None, {}, "failed: field 'text' missing"),
    ]


def test_collect_and_format_name_every_book_that_needs_a_look(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    state = state_of(config)
    try:
        fill(state)
        record_sync(state, SyncReport())
        record_error(state, RuntimeError())
    finally:
        state.close()
    status = collect_status(config)
    assert status["synced"] and status["counts"]["conflict"] == 2
    assert status["last_error"] == "RuntimeError" and status["last_success"]
    assert "books" not in status
    text = format_status(status)
    assert "conflicts (your block kept; Readwise's change not applied): 1" in text
    assert "  pages/Walden.md (book 1, Walden): 2 conflicts" in text
    assert "  pages/Gone.md (book 2, Gone)" in text
    assert "  - (book 3, Broken)" in text
    assert "book 3 (Broken) failed: field 'text' missing" in text
    assert text.endswith("`syncd status --books` lists every book and its page")
    listed = format_status(collect_status(config, books=True))
    assert "every book (3): id, page status, page, [title], highlights" in listed
    assert listed.splitlines()[-1].split()[:3] == ["3", "no", "page"]


def test_a_failed_sync_keeps_the_last_success_and_a_good_one_clears_the_error(
    tmp_path: Path,
) -> None:
    config = make_config(tmp_path)
    state = state_of(config)
    try:
        record_sync(state, SyncReport())
        success = state.get("last_success")
        failed = SyncReport()
        failed.failed.append((3, "book 3: bad"))
        record_sync(state, failed)
        assert state.get("last_error") == "book 3: bad" and state.get("last_success") == success
        record_sync(state, SyncReport())
        assert state.get("last_error") is None
    finally:
        state.close()


def test_long_sections_are_cut_unless_every_book_is_asked_for(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    state = state_of(config)
    try:
        for n in range(ATTENTION_SHOWN + 5):
            state.put_page(PageRecord(100 + n, f"pages/D{n}.md", f"D{n}", "deleted"))
    finally:
        state.close()
    short = format_status(collect_status(config))
    assert (
        f"pages you deleted (not re-created; `syncd resync BOOK` does): {ATTENTION_SHOWN + 5}"
        in short
    )
    assert "  ... and 5 more (`syncd status --books`)" in short
    assert sum(line.startswith("  pages/D") for line in short.splitlines()) == ATTENTION_SHOWN
    full = format_status(collect_status(config, books=True))
    assert sum(line.startswith("  pages/D") for line in full.splitlines()) == ATTENTION_SHOWN + 5


def test_a_corrupt_database_is_told_of_and_left_for_the_next_sync(tmp_path: Path) -> None:
    """Issue 22, item 4: `syncd status` only looks; it moved a corrupt database aside and
    rebuilt it (a write, under a state folder it may only read)."""
    config = make_config(tmp_path)
    state = state_of(config)
    fill(state)
    state.close()
    database = database_path(config.state_dir, config.vault.path)
    database.write_bytes(b"not a database at all " * 200)
    before = sorted((p.name, p.read_bytes()) for p in config.state_dir.iterdir())
    status = collect_status(config)
    assert not status["synced"] and "is corrupt" in status["state_problem"]
    assert f"state: the state database {database} is corrupt" in format_status(status)
    assert sorted((p.name, p.read_bytes()) for p in config.state_dir.iterdir()) == before
