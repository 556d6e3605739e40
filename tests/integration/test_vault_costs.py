"""What syncd asks of a vault that is mostly the user's own notes (issue 20), counted, not timed.

The same story is played in a vault of 200 and of 2,000 notes of the user's (in folders, with
attachments) beside syncd's pages, through a vault port that counts the files read, stat'ed and
listed (`tests.support.counting_vault`): a no-op sync, the user deleting a page, moving one
into a folder of theirs, renaming one, a new highlight, and the daemon reconciling one save.
Apart from the one sync that sees a page gone (it looks for the page in the whole vault, once),
every count is the same in both vaults: no sync lists, stats or reads the user's notes again.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

import syncd.engine.lookout
import syncd.engine.run
from syncd.core.records import PageRecord
from syncd.edges.state import State
from syncd.edges.vault import Vault
from syncd.engine.wiring import make_syncer
from syncd.errors import SyncdError
from syncd.testing.faults import Fault
from syncd.testing.readwise_twin import ReadwiseTwin
from syncd.testing.user_notes import write_user_notes
from tests.support.counting_vault import CountingVault
from tests.support.harness import harness

T0 = datetime(2024, 5, 1, 9, 0, tzinfo=timezone.utc)
BOOKS = 6
SIZES = (200, 2000)
PAGES = {"logseq": "pages", "obsidian": "Readwise/Books"}
NOTES_UNDER = {"logseq": "pages", "obsidian": ""}  # where a user of each keeps notes


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def story(root: Path, page_format: str, notes: int) -> dict[str, Counter[str]]:
    """The counts of each step of the story, in a vault of `notes` notes of the user's."""
    costs: dict[str, Counter[str]] = {}
    loaded: Counter[str] = Counter()  # page records read from the state, by status asked
    pages_of = State.pages

    def counted(self: State, status: str | None = None) -> list[PageRecord]:
        records = pages_of(self, status)
        loaded[status or "every"] += len(records)
        return records

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(State, "pages", counted)
        return _story(root, page_format, notes, costs, loaded)


def _story(
    root: Path, page_format: str, notes: int, costs: dict[str, Counter[str]], loaded: Counter[str]
) -> dict[str, Counter[str]]:
    with harness(root, readwise="twin", settings={"vault": {"format": page_format}}) as h:
        h.now = at(-10)
        books = [
            h.server.add_book(
                title=f"Book {n}",
                author="Someone",
                highlights=[{"text": f"Highlight {k} of book {n}.", "location": k} for k in (1, 2)],
            )["user_book_id"]
            for n in range(BOOKS)
        ]
        h.sync(at=at(0))
        made = write_user_notes(h.vault, notes, under=NOTES_UNDER[page_format])
        port = CountingVault(Vault(h.vault))
        h.port = port
        pages = h.vault / PAGES[page_format]
        ext = ".md"
        name = "Book {} (highlights).md" if page_format == "logseq" else "Book {}.md"
        page = {n: pages / name.format(n) for n in range(BOOKS)}
        assert all(p.is_file() for p in page.values()), sorted(os.listdir(pages))
        notes_folder = next(
            p
            for p in sorted((h.vault / NOTES_UNDER[page_format]).iterdir())
            if p.is_dir() and p.name[0].isupper() and p != pages
        )
        minute = iter(range(1, 1000))

        def step(name: str) -> None:
            port.reset()
            h.sync(at=at(next(minute)))
            costs[name] = Counter(port.counts)

        step("first sync beside the notes")
        step("no-op")
        page[0].unlink()  # the user deletes a page
        step("sync that sees a page deleted")
        step("no-op after a deletion")
        step("no-op after a deletion, again")
        h.now = at(next(minute))
        h.server.add_highlight(books[1], text="A new one.", location=9)
        step("one highlight after a deletion")
        step("no-op after a write")
        page[2].rename(notes_folder / f"Moved{ext}")  # the user moves a page among their notes
        step("sync that sees a page moved")
        step("no-op after a move")
        page[3].rename(page[3].with_name(f"Renamed{ext}"))  # and renames one
        step("sync that sees a page renamed")
        step("no-op after a rename")
        # The daemon: one save of a page, reconciled as the watcher tells it.
        with page[4].open("a", encoding="utf-8") as handle:
            handle.write("- a line of the user's\n")
        state = h.state()
        try:
            syncer = make_syncer(
                h.config,
                state,
                {},
                client=ReadwiseTwin(h.server.library),
                clock=lambda: h.now,
                vault=port,  # type: ignore[arg-type]
            )
            note = h.vault / made.notes[7]
            note.write_text(note.read_text(encoding="utf-8") + "- more\n", encoding="utf-8")
            for name, saved in (("a page", page[4]), ("a note of the user's", note)):
                port.reset()
                loaded.clear()
                syncer.scan(only={port.relative(saved)})
                costs[f"daemon: a save of {name} reconciled"] = Counter(port.counts)
                # Page records read from the state: those of the path (and the deleted pages'
                # for a path no book has), never every page's.
                costs[f"daemon: a save of {name}, records"] = Counter(loaded)
            for name, moved in (
                ("a page", page[5]),
                ("a note of the user's", h.vault / made.notes[8]),
            ):
                target = moved.with_name(f"Renamed {moved.name}")
                moved.rename(target)
                port.reset()
                loaded.clear()
                syncer.move(port.relative(moved), port.relative(target))
                costs[f"daemon: a move of {name} reconciled"] = Counter(port.counts)
                costs[f"daemon: a move of {name}, records"] = Counter(loaded)
        finally:
            state.close()
    return costs


@pytest.fixture(scope="module")
def stories(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[tuple[str, int], dict]]:
    with pytest.MonkeyPatch.context() as patch:
        # Time is not what is tested here: a folder's stamp is trusted as soon as it is taken
        # (the settle window has its own test, in tests/unit/test_lookout.py).
        patch.setattr(syncd.engine.lookout, "SETTLED_NS", 0)
        yield {
            (fmt, size): story(tmp_path_factory.mktemp(f"{fmt}{size}"), fmt, size)
            for fmt in PAGES
            for size in SIZES
        }


@pytest.mark.parametrize("page_format", list(PAGES))
def test_no_sync_but_the_one_seeing_a_page_gone_costs_more_with_more_notes(
    stories: dict[tuple[str, int], dict[str, Counter[str]]], page_format: str
) -> None:
    small, large = (stories[page_format, size] for size in SIZES)
    grew = {
        step: (dict(small[step]), dict(large[step]))
        for step in small
        if small[step] != large[step] and not step.startswith("sync that sees")
    }
    assert not grew, grew
    # The syncs that saw a page gone looked for it in the whole vault, once.
    assert large["sync that sees a page deleted"]["listed"] > SIZES[1]


@pytest.mark.parametrize("page_format", list(PAGES))
def test_a_no_op_after_a_deletion_reads_and_lists_nothing(
    stories: dict[tuple[str, int], dict[str, Counter[str]]], page_format: str
) -> None:
    costs = stories[page_format, SIZES[1]]
    for step in ("no-op", "no-op after a deletion, again", "no-op after a rename"):
        assert costs[step]["read"] == 0, (step, costs[step])
        assert costs[step]["walks"] == 0, (step, costs[step])
        # Listed: the vault's root (is it there?) and the pages folder's subfolders (where a
        # kill may have left a temporary file), as in a vault where no page was ever deleted.
        assert costs[step]["listed"] == costs["no-op"]["listed"], (step, costs[step])
    # Only the vault's root (is it there?): a sync that ended well left no temporary file.
    assert costs["no-op"]["listed"] == 1, costs


@pytest.mark.parametrize("back", ["a folder of notes", "a new folder in a new folder", "the root"])
def test_a_page_back_after_syncs_that_did_not_look_is_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, back: str
) -> None:
    """The page leaves the vault, syncs see it gone and then stop listing the vault (nothing
    changed in it); it comes back under another name: the next sync finds it (its folder
    changed) and new highlights reach it. Stamps are trusted at once: the hardest case."""
    monkeypatch.setattr(syncd.engine.lookout, "SETTLED_NS", 0)
    with harness(tmp_path / "h", readwise="twin", settings={"vault": {"format": "obsidian"}}) as h:
        h.now = at(-10)
        book = h.server.add_book(title="Walden", highlights=[{"text": "Simplify.", "location": 1}])
        h.sync(at=at(0))
        made = write_user_notes(h.vault, 30, folders=3)
        page = h.vault / "Readwise/Books/Walden.md"
        page.rename(tmp_path / "outside.md")
        port = CountingVault(Vault(h.vault))
        h.port = port
        for minute in (1, 2, 3):
            port.reset()
            h.sync(at=at(minute))
        assert port.counts["listed"] < 5 and port.counts["read"] == 0, port.counts
        target = {
            "a folder of notes": h.vault / made.folders[1] / "mine now.md",
            "a new folder in a new folder": h.vault / made.folders[2] / "new" / "newer" / "w.md",
            "the root": h.vault / "w.md",
        }[back]
        target.parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "outside.md").rename(target)
        h.now = at(4)
        h.server.add_highlight(book["user_book_id"], text="Time is but the stream.", location=2)
        h.sync(at=at(5))
        assert target.read_text(encoding="utf-8").rstrip("\n").endswith("Time is but the stream.")


@pytest.mark.parametrize("page_format", list(PAGES))
def test_the_daemon_reconciles_a_save_without_reading_every_page_record(
    stories: dict[tuple[str, int], dict[str, Counter[str]]], page_format: str
) -> None:
    costs = stories[page_format, SIZES[1]]
    for name in ("a page", "a note of the user's"):
        for change in ("save", "move"):
            assert costs[f"daemon: a {change} of {name}, records"]["every"] == 0, costs
            assert costs[f"daemon: a {change} of {name} reconciled"]["read"] == 1, costs
    assert costs["daemon: a save of a page, records"]["deleted"] == 0, costs


@pytest.mark.parametrize("how", ["an older syncd's state", "a sync that failed"])
def test_temporary_files_are_looked_for_after_a_sync_that_did_not_end_well(
    tmp_path: Path, how: str
) -> None:
    """A sync that ended well left no temporary file, so the next does not list folders for
    them; one that did not (killed, failed, or run by an older syncd that did not say) may have,
    so the next removes them, beside a page moved into a folder of the user's too."""
    with harness(tmp_path, settings={"vault": {"format": "obsidian"}}) as h:
        h.now = at(-10)
        h.server.add_book(title="Walden", highlights=[{"text": "Simplify.", "location": 1}])
        h.sync(at=at(0))
        (h.vault / "reading").mkdir()
        (h.vault / "Readwise/Books/Walden.md").rename(h.vault / "reading/Walden.md")
        h.sync(at=at(1))
        leftovers = [h.vault / "reading/.syncd-killed.tmp", h.vault / "Readwise/Books/.syncd-k.tmp"]
        for leftover in leftovers:
            leftover.write_text("half a page", encoding="utf-8")
        state = h.state()
        try:
            if how == "an older syncd's state":
                state.set(syncd.engine.apply.ENDED_WELL, None)
            else:
                h.sync(at=at(2))  # ended well: the leftovers stay unlooked for
                assert all(leftover.exists() for leftover in leftovers)
                h.server.inject("export", Fault.status(403), times=1)
        finally:
            state.close()
        if how == "a sync that failed":
            with pytest.raises(SyncdError):
                h.sync(at=at(3))
        h.sync(at=at(4))
        assert not any(leftover.exists() for leftover in leftovers)
