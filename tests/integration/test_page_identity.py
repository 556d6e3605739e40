"""Which page is a book's page once it is no longer where syncd left it (issue 10, items 1, 2, 9).

Real vaults, the loopback server and real SQLite: the user (and file-sync tools) act on the files
between syncs, or under a running daemon's watcher; the outcome checked is where the next new
highlight lands (and where it never does), and what `syncd status` says.
"""

from __future__ import annotations

import logging
import os
import shutil
import sqlite3
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml

from syncd.cli import main
from syncd.edges.state import State
from syncd.edges.state_files import database_path
from syncd.errors import VaultError
from tests.integration.test_reconcile import Running
from tests.support.harness import Harness, harness

T0 = datetime(2023, 3, 17, 17, 5, tzinfo=timezone.utc)
LATER = T0 + timedelta(hours=1)
PAGES = {"logseq": "pages/Walden (highlights).md", "obsidian": "Readwise/Books/Walden.md"}
NEW = "Time is but the stream."
WAIT = 20.0  # seconds: only a bound for failure, never a synchronisation


@pytest.fixture(params=["logseq", "obsidian"])
def h(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Harness]:
    """A vault with one synced book, Walden, of three highlights."""
    with harness(tmp_path, settings={"vault": {"format": request.param}}) as h:
        synced(h, request.param)
        yield h


def synced(h: Harness, page_format: str) -> None:
    h.format = page_format  # type: ignore[attr-defined]
    h.file = h.vault / PAGES[page_format]  # type: ignore[attr-defined]
    h.now = T0 - timedelta(hours=1)
    book = h.server.add_book(
        title="Walden",
        author="Thoreau",
        asin="B01",
        highlights=[
            {"text": text, "location": n, "location_type": "location"}
            for n, text in (
                (1, "Simplify, simplify."),
                (2, "I went to the woods."),
                (3, "Our life is frittered away by detail."),
            )
        ],
    )
    h.book_id = book["user_book_id"]  # type: ignore[attr-defined]
    h.sync(at=T0)
    h.now = T0 + timedelta(minutes=20)  # upstream changes are stamped after the cursor


def new_highlight(h: Harness, at: datetime = LATER) -> None:
    """A highlight made just before `at`, after every earlier sync, then a sync at `at`."""
    h.now = at - timedelta(minutes=1)
    h.server.add_highlight(h.book_id, text=NEW)  # type: ignore[attr-defined]
    h.sync(at=at)


def block_line(h: Harness, text: str) -> str:
    """The first line of the highlight block holding `text`, as syncd wrote it."""
    page = h.file.read_text(encoding="utf-8")  # type: ignore[attr-defined]
    return next(line for line in page.split("\n") if text in line).strip()


def journal_path(h: Harness) -> Path:
    if h.format == "logseq":  # type: ignore[attr-defined]
        return h.vault / "journals" / "2023_03_17.md"
    return h.vault / "2023-03-17.md"  # an Obsidian daily note, by Obsidian's default name


def other_pages(h: Harness) -> dict[Path, str]:
    return {p: p.read_text(encoding="utf-8") for p in h.vault.rglob("*.md")}


def state_of(h: Harness) -> Any:
    state = h.state()
    try:
        return state.page(h.book_id), state.problems(), state.counts()  # type: ignore[attr-defined]
    finally:
        state.close()


# issue 10, item 1: a journal or daily note holding one copied highlight is never the page


@pytest.mark.parametrize("what", ["deleted", "renamed"])
def test_a_journal_holding_a_copied_highlight_is_never_the_page(h: Harness, what: str) -> None:
    """issue 10, item 1: one highlight line copied into today's journal (Logseq) or daily note
    (Obsidian), then the book's page deleted or renamed: the next new highlight goes to the
    renamed page, or nowhere; the journal is never written."""
    journal = journal_path(h)
    journal.parent.mkdir(parents=True, exist_ok=True)
    mine = f"- my thoughts today\n{block_line(h, 'I went to the woods.')}\n- more of mine"
    journal.write_text(mine, encoding="utf-8")
    renamed = h.file.parent / "walden, my copy.md"  # type: ignore[attr-defined]
    if what == "deleted":
        h.file.unlink()  # type: ignore[attr-defined]
    else:
        h.file.rename(renamed)  # type: ignore[attr-defined]
    new_highlight(h)
    assert journal.read_text(encoding="utf-8") == mine
    if what == "renamed":
        assert renamed.read_text(encoding="utf-8").rstrip("\n").endswith(NEW)
    else:
        assert state_of(h)[0].status == "deleted"


def test_an_obsidian_daily_note_in_its_folder_is_never_the_page(tmp_path: Path) -> None:
    """issue 10, item 1: the daily-notes folder Obsidian is set to, whatever the note's name."""
    with harness(tmp_path, settings={"vault": {"format": "obsidian"}}) as h:
        (h.vault / ".obsidian").mkdir()
        (h.vault / ".obsidian" / "daily-notes.json").write_text(
            '{"folder": "Daily", "format": "dddd, MMMM Do YYYY"}', encoding="utf-8"
        )
        synced(h, "obsidian")
        note = h.vault / "Daily" / "Friday, March 17th 2023.md"
        note.parent.mkdir()
        text = h.file.read_text(encoding="utf-8")  # type: ignore[attr-defined]
        note.write_text("Today I read.\n\n" + text, encoding="utf-8")  # every block, even
        h.file.unlink()  # type: ignore[attr-defined]
        new_highlight(h)
        assert NEW not in note.read_text(encoding="utf-8")
        assert state_of(h)[0].status == "deleted"


def test_a_page_with_its_own_title_holding_a_copied_line_is_not_the_page(tmp_path: Path) -> None:
    """issue 10, item 1: a note of the user's (own `title::`) holding one copied line sorts
    before the renamed page, which is recognised by its `title::` (a copy, not the same file)."""
    with harness(tmp_path, settings={"vault": {"format": "logseq"}}) as h:
        synced(h, "logseq")
        note = h.vault / "pages" / "A reading list.md"
        mine = f"title:: A reading list\n\n- {block_line(h, 'Simplify')[2:]}"
        note.write_text(mine, encoding="utf-8")
        text = h.file.read_text(encoding="utf-8")  # type: ignore[attr-defined]
        # The user edited every highlight: only the title says which page it is.
        text = (
            text.replace("Simplify, simplify.", "Simplify!")
            .replace("I went to the woods.", "Woods.")
            .replace("Our life", "My life")
        )
        copy = h.vault / "pages" / "walden.md"
        copy.write_text(text, encoding="utf-8")
        h.file.unlink()  # type: ignore[attr-defined]
        new_highlight(h)
        assert note.read_text(encoding="utf-8") == mine
        assert copy.read_text(encoding="utf-8").endswith(NEW)


def test_an_obsidian_page_renamed_is_followed_by_its_file_identity(tmp_path: Path) -> None:
    """issue 10, item 1: an Obsidian page (no `title::`) renamed and mostly rewritten by the
    user keeps its inode: followed, while a daily note holding a copied line is not."""
    with harness(tmp_path, settings={"vault": {"format": "obsidian"}}) as h:
        synced(h, "obsidian")
        note = journal_path(h)
        mine = block_line(h, "Our life") + "\n"
        note.write_text(mine, encoding="utf-8")
        renamed = h.file.parent / "Thoreau - Walden.md"  # type: ignore[attr-defined]
        h.file.rename(renamed)  # type: ignore[attr-defined]
        text = renamed.read_text(encoding="utf-8")
        with open(renamed, "r+", encoding="utf-8") as handle:  # edited in place: same file
            handle.write(
                text.replace("I went to the woods.", "Woods!").replace(
                    "Our life is frittered", "My life is frittered"
                )
            )
        new_highlight(h)
        assert note.read_text(encoding="utf-8") == mine
        assert renamed.read_text(encoding="utf-8").rstrip("\n").endswith(NEW)


# issue 10, item 2: file-sync tools' copies are never the page


CONFLICT_NAMES = {
    "syncthing": "{stem}.sync-conflict-20240101-120000-ABCDEFG.md",
    "dropbox": "{stem} (Someone's conflicted copy 2024-01-01).md",
    "icloud": "{stem} 2.md",
    "nextcloud": "{stem} (conflicted copy 2024-01-01 120000).md",
}


@pytest.mark.parametrize("tool", sorted(CONFLICT_NAMES))
def test_a_conflict_copy_next_to_a_renamed_page_is_never_written(h: Harness, tool: str) -> None:
    """issue 10, item 2: a file-sync tool made a copy of the page (all of syncd's blocks, the
    same `title::`), then the user renamed the page: new highlights go to the renamed page.
    (iCloud's `X 2.md` is a copy beside `X.md`, or named after the book's page.)"""
    stem = h.file.stem  # type: ignore[attr-defined]
    copy = h.file.parent / CONFLICT_NAMES[tool].format(stem=stem)  # type: ignore[attr-defined]
    shutil.copyfile(h.file, copy)  # type: ignore[attr-defined]
    before = copy.read_text(encoding="utf-8")
    renamed = h.file.parent / "zz walden.md"  # type: ignore[attr-defined]
    h.file.rename(renamed)  # type: ignore[attr-defined]
    new_highlight(h)
    assert copy.read_text(encoding="utf-8") == before
    assert renamed.read_text(encoding="utf-8").rstrip("\n").endswith(NEW)


def test_the_page_restored_at_its_place_beside_a_copy_stays_the_page(h: Harness) -> None:
    """issue 10, item 2: Syncthing put the page back at its place (a new file) and left its
    copy beside it: the page at its place is the book's page; the copy is not touched."""
    copy = h.file.with_name(h.file.stem + ".sync-conflict-20240101-120000-ABCDEFG.md")  # type: ignore[attr-defined]
    shutil.copyfile(h.file, copy)  # type: ignore[attr-defined]
    text = h.file.read_text(encoding="utf-8")  # type: ignore[attr-defined]
    h.file.unlink()  # type: ignore[attr-defined]
    h.file.write_text(text, encoding="utf-8")  # type: ignore[attr-defined]
    new_highlight(h)
    assert copy.read_text(encoding="utf-8") == text
    assert h.file.read_text(encoding="utf-8").rstrip("\n").endswith(NEW)  # type: ignore[attr-defined]


# ambiguous evidence: the book waits, and says so


def test_a_book_with_two_candidate_pages_waits_and_status_says_why(
    h: Harness, tmp_path: Path
) -> None:
    """issue 10, item 1: the page was duplicated (two new files, both the whole page, the same
    `title::` in Logseq) and the original deleted: neither is written; the book waits, and
    `syncd status` names it and why; once one copy is removed, the other is followed."""
    one = h.file.parent / "walden one.md"  # type: ignore[attr-defined]
    two = h.file.parent / "walden two.md"  # type: ignore[attr-defined]
    for copy in (one, two):
        shutil.copyfile(h.file, copy)  # type: ignore[attr-defined]
    h.file.unlink()  # type: ignore[attr-defined]
    before = other_pages(h)
    new_highlight(h)
    assert other_pages(h) == before
    record, problems, _ = state_of(h)
    assert record.status == "waiting"
    assert [(p.book_id, p.kind) for p in problems] == [(h.book_id, "waiting")]  # type: ignore[attr-defined]
    config = tmp_path / "config.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "readwise": {"token": h.server.token, "base_url": h.server.url},
                "vault": {"path": str(h.vault), "format": h.format},  # type: ignore[attr-defined]
                "state_dir": str(h.state_dir),
            }
        ),
        encoding="utf-8",
    )
    config.chmod(0o600)
    out = _status(config)
    line = next(line for line in out.split("\n") if f"book {h.book_id}" in line)  # type: ignore[attr-defined]
    assert "waiting" in line and "walden one.md" in line and "walden two.md" in line
    two.unlink()
    h.sync(at=LATER + timedelta(minutes=5))
    assert one.read_text(encoding="utf-8").rstrip("\n").endswith(NEW)
    record, problems, _ = state_of(h)
    assert record.status == "active" and problems == []
    assert f"book {h.book_id}" not in _status(config)  # type: ignore[attr-defined]


def _status(config: Path) -> str:
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["status", "--config", str(config)]) == 0
    return out.getvalue()


def test_a_minority_of_the_blocks_is_not_enough(h: Harness) -> None:
    """issue 10, item 1: a page of the user's with one of the three blocks (no title) is not
    the book's page, even when nothing else is (two of three would be: more than half)."""
    note = h.vault / "notes.md"
    mine = "My notes\n\n" + block_line(h, "Our life") + "\n"
    note.write_text(mine, encoding="utf-8")
    h.file.unlink()  # type: ignore[attr-defined]
    new_highlight(h)
    assert note.read_text(encoding="utf-8") == mine


# issue 10, item 9: a page that leaves the vault and comes back


@pytest.mark.parametrize("back", ["at its place", "elsewhere"])
def test_a_page_moved_out_of_the_vault_and_back_gets_new_highlights(
    h: Harness, tmp_path: Path, back: str
) -> None:
    """issue 10, item 9: the page is out of the vault during a sync (taken for deleted), then
    comes back, at its place or in another folder: new highlights reach it."""
    outside = tmp_path / "outside.md"
    h.file.rename(outside)  # type: ignore[attr-defined]
    h.sync(at=T0 + timedelta(minutes=30))
    assert state_of(h)[0].status == "deleted"
    target = h.file if back == "at its place" else h.vault / "archive" / "walden.md"  # type: ignore[attr-defined]
    target.parent.mkdir(exist_ok=True)
    outside.rename(target)
    new_highlight(h)
    assert target.read_text(encoding="utf-8").rstrip("\n").endswith(NEW)
    assert state_of(h)[0].status == "active"


def test_a_missing_vault_marks_no_page_deleted(h: Harness, tmp_path: Path) -> None:
    """issue 10, item 9: the vault folder gone (deleted, a disk not mounted): the scan stops
    with a VaultError; once it is back, the page is still the book's page."""
    aside = tmp_path / "aside"
    h.vault.rename(aside)
    state = h.state()
    try:
        from syncd.engine.wiring import make_syncer

        h.vault.mkdir()  # an empty mount point
        syncer = make_syncer(h.config, state, {})
        with pytest.raises(VaultError, match="missing or empty"):
            syncer.scan()
        h.vault.rmdir()
        with pytest.raises(VaultError):
            h.sync(at=LATER)
    finally:
        state.close()
    aside.rename(h.vault)
    assert state_of(h)[0].status == "active"
    new_highlight(h, LATER + timedelta(minutes=1))
    assert h.file.read_text(encoding="utf-8").rstrip("\n").endswith(NEW)  # type: ignore[attr-defined]


class LogLine(logging.Handler):
    def __init__(self, text: str) -> None:
        super().__init__(logging.DEBUG)
        self.text = text
        self.seen = threading.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if self.text in record.getMessage():
            self.seen.set()


def test_watching_resumes_when_the_vault_folder_is_restored(tmp_path: Path) -> None:
    """issue 10, item 9: under a running daemon (a real PageWatcher), the whole vault folder is
    deleted and restored; then a page is edited: the daemon sees it and reconciles it, and no
    page was taken for deleted meanwhile."""
    with harness(tmp_path, settings={"vault": {"format": "logseq"}}) as h:
        synced(h, "logseq")
        backup = tmp_path / "backup"
        shutil.copytree(h.vault, backup)
        back = LogLine("is back; watching it again")
        gone = LogLine("disappeared")
        logger = logging.getLogger("syncd.watcher")
        for handler in (back, gone):
            logger.addHandler(handler)
        run = Running(h)
        try:
            shutil.rmtree(h.vault)
            assert gone.seen.wait(WAIT)
            shutil.copytree(backup, h.vault)
            assert back.seen.wait(WAIT), "watching did not resume"
            text = h.file.read_text(encoding="utf-8")  # type: ignore[attr-defined]
            h.file.write_text(
                text.replace("Simplify, simplify.", "Simplify!"),  # type: ignore[attr-defined]
                encoding="utf-8",
            )
            page = os.path.relpath(h.file, h.vault)  # type: ignore[attr-defined]
            while True:
                changes = run.changed.get(timeout=WAIT)
                if page in changes.changed:  # type: ignore[attr-defined]
                    break
            record, _, counts = state_of(h)
            assert record.status == "active"
            assert counts["edited"] == 1 and counts["deleted_pages"] == 0
        finally:
            for handler in (back, gone):
                logger.removeHandler(handler)
            run.stop()


def test_an_older_database_gains_the_file_identity_columns(tmp_path: Path) -> None:
    """A state database made before pages had a device and inode is migrated on open."""
    path = database_path(tmp_path / "state", tmp_path / "vault")
    path.parent.mkdir()
    import sqlite3

    old = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE pages (book_id INTEGER PRIMARY KEY, path TEXT NOT NULL, title TEXT NOT NULL,
                    status TEXT NOT NULL, size INTEGER, mtime_ns INTEGER);
"""
    db = sqlite3.connect(path)
    db.executescript(old)
    db.execute("INSERT INTO pages VALUES (1, 'pages/a.md', 'a', 'active', 3, 4)")
    db.execute("INSERT INTO meta VALUES ('schema_version', '1')")
    db.commit()
    db.close()
    state = State(path)
    try:
        record = state.page(1)
        assert record is not None and record.path == "pages/a.md" and record.inode is None
    finally:
        state.close()


def two_books_alike(h: Harness, second: tuple[int, ...]) -> tuple[int, int]:
    """Books One (highlights 1, 2) and Two (`second`), their highlights all "hl-N words of N"
    (alike enough to pass for each other's, edited), synced: their ids."""
    h.now = T0 - timedelta(hours=1)
    one, two = (
        h.server.add_book(
            title=title,
            author="Someone",
            highlights=[{"text": f"hl-{n} words of {n}"} for n in numbers],
        )["user_book_id"]
        for title, numbers in (("One", (1, 2)), ("Two", second))
    )
    h.sync(at=T0)
    return one, two


def test_another_books_renamed_page_is_never_taken_for_a_deleted_page(tmp_path: Path) -> None:
    """issue 10, item 1 (found by the world test): two books whose highlights look alike; the
    user deletes the first one's page and renames the second one's file (syncd not watching).
    The renamed page holds syncd's header and blocks like the first book's, but its `title::`
    names the second book, which syncd knows: it is never the first book's page. The first
    book's new highlight is not written anywhere (its page was deleted); the second's page is
    followed."""
    with harness(tmp_path, settings={"vault": {"format": "logseq"}}) as h:
        first, second = two_books_alike(h, (3,))
        pages = h.vault / "pages"
        (pages / "One (highlights).md").unlink()
        os.rename(pages / "Two (highlights).md", pages / "Renamed.md")
        h.now = LATER - timedelta(minutes=1)
        h.server.add_highlight(first, text="hl-5 words of 5")
        h.server.add_highlight(second, text="hl-6 words of 6")
        report = h.sync(at=LATER)
        assert not report.failed
        renamed = (pages / "Renamed.md").read_text(encoding="utf-8")
        assert "hl-5" not in renamed and "hl-6 words of 6" in renamed
        assert sorted(p.name for p in pages.iterdir()) == ["Renamed.md"]
        state = State(database_path(h.config.state_dir, h.vault))
        try:
            assert (state.page(first).status, state.page(second).path) == (  # type: ignore[union-attr]
                "deleted",
                "pages/Renamed.md",
            )
        finally:
            state.close()


def drop_lines(text: str, *words: str) -> str:
    return "".join(
        line for line in text.splitlines(keepends=True) if not any(w in line for w in words)
    )


def renamed_anew_and_emptied(h: Harness) -> Path:
    """While syncd does not watch: Walden's page renamed (Logseq: `title::` too), saved by an
    editor as a new file, two of its three highlights deleted. Return where it is."""
    text = drop_lines(h.file.read_text(encoding="utf-8"), "Simplify", "I went")  # type: ignore[attr-defined]
    text = text.replace("title:: Walden (highlights)", "title:: Thoreau's woods")
    renamed = h.file.parent / "Thoreau's woods.md"  # type: ignore[attr-defined]
    h.file.unlink()  # type: ignore[attr-defined]
    renamed.write_text(text, encoding="utf-8")  # a new file (a new inode)
    return renamed


def test_a_renamed_page_saved_anew_with_most_highlights_deleted_is_followed(h: Harness) -> None:
    """issue 10, item 1 (found by the world test): while syncd did not watch, the user renamed
    the page (Logseq: `title::` too), an editor saved it as a new file, and the user deleted two
    of its three highlights. Neither the file, the title nor most of the blocks is left; its
    opening as syncd wrote it (properties or metadata, and the first-sync header) is: the page
    is followed and the new highlight lands on it."""
    renamed = renamed_anew_and_emptied(h)
    new_highlight(h)
    assert renamed.read_text(encoding="utf-8").rstrip("\n").endswith(NEW)
    assert state_of(h)[0].path == renamed.relative_to(h.vault).as_posix()


@pytest.mark.parametrize("page_format", ["logseq", "obsidian"])
def test_another_books_page_renamed_anew_is_not_a_gone_page_s_by_likeness(
    tmp_path: Path, page_format: str
) -> None:
    """issue 10, item 1 (found by the world test, seed 502): two books whose highlights read
    alike; the first one's page is deleted, the second one's renamed (Logseq: `title::` too)
    and saved as a new file while syncd did not watch. The renamed page holds syncd's header
    and blocks like the first book's, but it opens as the second book's page: it is the
    second book's, never the first's."""
    with harness(tmp_path, settings={"vault": {"format": page_format}}) as h:
        first, second = two_books_alike(h, (3, 4))
        folder = h.vault / ("pages" if page_format == "logseq" else "Readwise/Books")
        one, two = (next(folder.glob(f"{name}*.md")) for name in ("One", "Two"))
        text = two.read_text(encoding="utf-8").replace("title:: Two", "title:: Renamed")
        one.unlink()
        two.unlink()
        renamed = folder / "Renamed.md"
        renamed.write_text(text, encoding="utf-8")
        h.now = LATER - timedelta(minutes=1)
        h.server.add_highlight(first, text="hl-5 words of 5")
        h.server.add_highlight(second, text="hl-6 words of 6")
        report = h.sync(at=LATER)
        assert not report.failed
        after = renamed.read_text(encoding="utf-8")
        assert "hl-5" not in after and "hl-6 words of 6" in after
        assert sorted(p.name for p in folder.iterdir()) == ["Renamed.md"]
        state = State(database_path(h.config.state_dir, h.vault))
        try:
            assert state.page(first).status == "deleted"  # type: ignore[union-attr]
            record = state.page(second)
            assert record is not None and record.path == renamed.relative_to(h.vault).as_posix()
        finally:
            state.close()


def test_a_page_of_no_highlights_that_left_and_came_back_renamed_is_followed(
    h: Harness, tmp_path: Path
) -> None:
    """issue 10, items 1 and 9 (found by the world test, seed 9030): the user deleted every
    highlight on the page, then it left the vault during a sync (taken for deleted) and came
    back under another name (Logseq: `title::` too): the same file, syncd's header and its
    opening, no block of the book. It is followed; the new highlight lands on it."""
    text = drop_lines(h.file.read_text(encoding="utf-8"), "Simplify", "I went", "Our life")  # type: ignore[attr-defined]
    h.file.write_text(text, encoding="utf-8")  # type: ignore[attr-defined]
    h.sync(at=T0 + timedelta(minutes=30))
    outside = tmp_path / "outside.md"
    h.file.rename(outside)  # type: ignore[attr-defined]
    h.sync(at=T0 + timedelta(minutes=40))
    assert state_of(h)[0].status == "deleted"
    back = h.file.parent / "Thoreau's woods.md"  # type: ignore[attr-defined]
    outside.rename(back)
    with open(back, "r+", encoding="utf-8") as page:  # Logseq's rename: `title::` too
        page.write(text.replace("title:: Walden (highlights)", "title:: Thoreau's woods"))
        page.truncate()
    new_highlight(h)
    assert back.read_text(encoding="utf-8").rstrip("\n").endswith(NEW)


def test_a_page_an_older_syncd_recorded_learns_its_opening_at_the_next_scan(h: Harness) -> None:
    """A database from before openings were kept (the column added, empty): the next sync's
    scan reads each page once for its opening; then a page renamed, saved anew and emptied of
    most highlights is followed by it, as for a page syncd wrote since."""
    path = database_path(h.config.state_dir, h.vault)
    db = sqlite3.connect(path)
    with db:
        db.execute("UPDATE pages SET opening = NULL")
    db.close()
    h.sync(at=T0 + timedelta(minutes=30))
    assert state_of(h)[0].opening  # learnt
    renamed = renamed_anew_and_emptied(h)
    new_highlight(h)
    assert renamed.read_text(encoding="utf-8").rstrip("\n").endswith(NEW)


def test_an_obsidian_page_whose_properties_obsidian_rewrote_is_followed_by_its_opening(
    tmp_path: Path,
) -> None:
    """Front matter on: the user edited a property (Obsidian rewrites the YAML), then the page
    was renamed, saved anew and emptied of most highlights while syncd was stopped. The
    opening syncd knows it by is the title and metadata, not the front matter: followed."""
    settings = {"vault": {"format": "obsidian"}, "sync": {"frontmatter": True}}
    with harness(tmp_path, settings=settings, edn=None) as h:
        synced(h, "obsidian")
        text = h.file.read_text(encoding="utf-8")  # type: ignore[attr-defined]
        front, _, rest = text.removeprefix("---\n").partition("\n---\n")
        assert 'author: ["Thoreau"]' in front
        # As Obsidian writes properties back: quotes dropped, lists one item a line.
        front = front.replace('"', "").replace("author: [Thoreau]", "author:\n  - Thoreau")
        h.file.write_text(f"---\n{front}\nrating: 5\n---\n{rest}", encoding="utf-8")  # type: ignore[attr-defined]
        renamed = renamed_anew_and_emptied(h)
        new_highlight(h)
        assert renamed.read_text(encoding="utf-8").rstrip("\n").endswith(NEW)
