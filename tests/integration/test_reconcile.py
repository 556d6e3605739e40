"""README "Your edits", row by row: what the user did to a page, and what syncd does about it.

Each row runs two ways, in a Logseq graph and in an Obsidian vault: with the daemon stopped (the
edit is found by the scan a sync starts with) and with the daemon running (the edit is found
through real watchdog events, before the next sync). The outcome checked is the page's bytes and
the counts `syncd status` shows.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from syncd.edges.state import State
from syncd.edges.state_files import database_path
from syncd.edges.vault import Vault
from syncd.engine.daemon import Daemon
from syncd.engine.wiring import make_syncer
from tests.support.harness import Harness, harness

T0 = datetime(2023, 3, 17, 17, 5, tzinfo=timezone.utc)
PAGE = "Walden (highlights).md"
PAGES = {"logseq": "pages/Walden (highlights).md", "obsidian": "Readwise/Books/Walden.md"}
WAIT = 20.0  # seconds: only a bound for failure, never a synchronisation


class Stopped:
    """The daemon is not running: edits are seen by the scan at the start of the next sync."""

    def __init__(self, h: Harness) -> None:
        self.h = h

    def user_changed(self) -> None:
        pass

    def sync(self, at: datetime, **kwargs: Any) -> None:
        self.h.sync(at=at, **kwargs)

    def stop(self) -> None:
        pass


class Running:
    """The daemon runs in a thread with its watcher; each edit is waited for as an event."""

    def __init__(self, h: Harness) -> None:
        self.h = h
        self.state = State(database_path(h.config.state_dir, h.vault))
        config = h.config
        self.daemon = Daemon(
            config,
            self.state,
            env={},
            debounce=0.05,
            make_syncer=self._syncer,
            load_config=lambda: config,
        )
        self.synced: queue.SimpleQueue[str] = queue.SimpleQueue()
        self.changed: queue.SimpleQueue[object] = queue.SimpleQueue()
        self.daemon.hooks.after_sync.append(self.synced.put)
        self.daemon.hooks.after_changes.append(self.changed.put)
        self.thread = threading.Thread(target=self.daemon.run, daemon=True)
        self.thread.start()
        self.synced.get(timeout=WAIT)  # the sync on start

    def _syncer(self, config: Any, state: State, **parts: Any) -> Any:
        from syncd.edges.readwise import ReadwiseClient

        client = ReadwiseClient(
            config.readwise.base_url, config.readwise.token, sleep=lambda _: None
        )
        return make_syncer(
            config,
            state,
            {},
            client=client,
            clock=lambda: self.h.now,
            should_stop=parts["should_stop"],
            progress=parts["progress"],
        )

    def user_changed(self) -> None:
        self.changed.get(timeout=WAIT)

    def sync(self, at: datetime, **kwargs: Any) -> None:
        self.h.now = at
        self.daemon.request_sync(full=kwargs.get("full", False))
        self.synced.get(timeout=WAIT)

    def stop(self) -> None:
        self.daemon.request_stop()
        self.thread.join(WAIT)
        assert not self.thread.is_alive()
        self.state.close()


@pytest.fixture(
    params=[
        ("logseq", "stopped"),
        ("logseq", "running"),
        ("obsidian", "stopped"),
        ("obsidian", "running"),
    ],
    ids="-".join,
)
def synced_walden(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Harness, Any]]:
    """A vault with one synced book, Walden, of three highlights; and the way syncd runs."""
    page_format, mode = request.param
    with harness(tmp_path, settings={"vault": {"format": page_format}}) as h:
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
        h.ids = [x["id"] for x in book["highlights"]]  # type: ignore[attr-defined]
        h.sync(at=T0)
        h.now = T0 + timedelta(minutes=10)
        driver = Stopped(h) if mode == "stopped" else Running(h)
        h.now = T0 + timedelta(minutes=20)  # upstream changes are stamped after every cursor
        try:
            yield h, driver
        finally:
            driver.stop()


def counts(h: Harness) -> dict[str, int]:
    state = h.state()
    try:
        return state.counts()
    finally:
        state.close()


def page(h: Harness) -> str:
    return h.file.read_text(encoding="utf-8")  # type: ignore[attr-defined]


def write(h: Harness, text: str) -> None:
    h.file.write_text(text, encoding="utf-8")  # type: ignore[attr-defined]


def edit(h: Harness, old: str, new: str) -> None:
    text = page(h)
    assert old in text
    write(h, text.replace(old, new))


def added(h: Harness, text: str) -> str:
    """What a sync at LATER appends to a page for one new highlight without location."""
    if h.format == "logseq":  # type: ignore[attr-defined]
        return f"\n- New highlights added [[Mar 17th, 2023]] at 6:05 PM\n\t- {text}"
    # Right after the page's last line, as Readwise's plugin appends (issue 11).
    return f"## New highlights added March 17, 2023 at 6:05 PM\n- {text}\n"


LATER = T0 + timedelta(hours=1)


def test_new_highlight_is_appended_under_a_dated_block(synced_walden: tuple[Harness, Any]) -> None:
    h, run = synced_walden
    h.server.add_highlight(h.book_id, text="Time is but the stream.")
    run.sync(LATER)
    assert page(h).endswith(added(h, "Time is but the stream."))


def test_changed_in_readwise_untouched_block_is_rewritten_in_place(
    synced_walden: tuple[Harness, Any],
) -> None:
    h, run = synced_walden
    before = page(h)
    h.server.update_highlight(h.ids[1], text="I went to the woods deliberately.")
    run.sync(LATER)
    assert page(h) == before.replace("I went to the woods.", "I went to the woods deliberately.")
    assert counts(h)["written"] == 3


def test_changed_in_readwise_edited_block_stays_and_is_a_conflict(
    synced_walden: tuple[Harness, Any],
) -> None:
    h, run = synced_walden
    edit(h, "I went to the woods.", "I went to the woods. (my favourite line)")
    run.user_changed()
    edited = page(h)
    h.server.update_highlight(h.ids[1], text="I went to the woods deliberately.")
    run.sync(LATER)
    assert page(h) == edited
    assert counts(h)["conflict"] == 1


def test_deleted_in_readwise_is_kept(synced_walden: tuple[Harness, Any]) -> None:
    h, run = synced_walden
    before = page(h)
    h.server.delete_highlight(h.ids[0])
    run.sync(LATER)
    assert page(h) == before


def test_deleted_in_readwise_is_removed_when_asked_and_untouched(
    synced_walden: tuple[Harness, Any],
) -> None:
    h, run = synced_walden
    h.config = h.make_config({"sync": {"remove_deleted_highlights": True}})
    if isinstance(run, Running):
        run.daemon.config = h.config
        run.daemon.syncer = run.daemon._new_syncer(h.config)
    h.server.delete_highlight(h.ids[0])
    run.sync(LATER)
    assert "Simplify, simplify." not in page(h)
    assert "I went to the woods." in page(h)
    assert counts(h)["removed"] == 1


def test_block_the_user_deleted_is_never_added_back(synced_walden: tuple[Harness, Any]) -> None:
    h, run = synced_walden
    lines = page(h).split("\n")
    kept = [line for line in lines if "I went to the woods." not in line]
    write(h, "\n".join(kept))
    run.user_changed()
    h.server.update_highlight(h.ids[1], text="I went to the woods, changed upstream.")
    run.sync(LATER)
    run.sync(LATER + timedelta(hours=1), full=True)
    assert page(h) == "\n".join(kept)
    assert counts(h)["deleted"] == 1


def test_block_the_user_edited_is_never_overwritten(synced_walden: tuple[Harness, Any]) -> None:
    h, run = synced_walden
    edit(h, "Simplify, simplify.", "Simplify, simplify, simplify!")
    run.user_changed()
    edited = page(h)
    run.sync(LATER, full=True)
    assert page(h) == edited
    assert counts(h)["edited"] == 1


def test_what_the_user_added_is_kept_byte_for_byte(synced_walden: tuple[Harness, Any]) -> None:
    h, run = synced_walden
    text = page(h)
    if h.format == "logseq":  # type: ignore[attr-defined]
        mine = (
            text.replace("category:: #books", "category:: #books\nrating:: 5")
            + "\n\t\t- my child block under the last highlight\n- my own top-level block\n  text"
        )
        mine = mine.replace("- Highlights first synced", "- my note\n- Highlights first synced")
    else:
        mine = (
            "---\ntags: [reading]\nrating: 5\n---\n"
            + text.replace("## Highlights", "My summary, in my words.\n\n## Highlights")
            + "        - my child item under the last highlight\n\nA closing paragraph.\n"
        )
    write(h, mine)
    run.user_changed()
    h.server.add_highlight(h.book_id, text="Time is but the stream.")
    run.sync(LATER)
    assert page(h) == mine + added(h, "Time is but the stream.")


def test_page_the_user_deleted_is_not_recreated(synced_walden: tuple[Harness, Any]) -> None:
    h, run = synced_walden
    h.file.unlink()  # type: ignore[attr-defined]
    run.user_changed()
    h.server.add_highlight(h.book_id, text="Time is but the stream.")
    run.sync(LATER)
    assert sorted(h.vault.rglob("*.md")) == []
    assert counts(h)["deleted_pages"] == 1


def test_renamed_page_keeps_receiving_highlights(synced_walden: tuple[Harness, Any]) -> None:
    """Logseq renames a page by renaming the file and changing its `title::` (the file keeps
    its identity: a page with another title is followed only so, see test_page_identity);
    Obsidian renames the file."""
    h, run = synced_walden
    text = page(h)
    folder = h.file.parent  # type: ignore[attr-defined]
    if h.format == "logseq":  # type: ignore[attr-defined]
        text = text.replace("title:: Walden (highlights)", "title:: Thoreau/Walden")
        renamed = folder / "Thoreau___Walden.md"
        h.file.rename(renamed)  # type: ignore[attr-defined]
        renamed.write_text(text, encoding="utf-8")
    else:
        renamed = folder / "Thoreau - Walden.md"
        renamed.write_text(text, encoding="utf-8")
        h.file.unlink()  # type: ignore[attr-defined]
    run.user_changed()
    h.server.add_highlight(h.book_id, text="Time is but the stream.")
    run.sync(LATER)
    assert sorted(h.vault.rglob("*.md")) == [renamed]
    assert renamed.read_text(encoding="utf-8") == text + added(h, "Time is but the stream.")


def test_page_moved_to_another_folder_keeps_receiving_highlights(
    synced_walden: tuple[Harness, Any],
) -> None:
    h, run = synced_walden
    (h.vault / "books").mkdir()
    moved = h.vault / "books" / "walden.md"
    h.file.rename(moved)  # type: ignore[attr-defined]
    run.user_changed()
    h.server.add_highlight(h.book_id, text="Time is but the stream.")
    run.sync(LATER)
    assert sorted(h.vault.rglob("*.md")) == [moved]
    assert moved.read_text().endswith(added(h, "Time is but the stream."))


def test_logseqs_own_additions_are_not_edits(synced_walden: tuple[Harness, Any]) -> None:
    h, run = synced_walden
    if h.format != "logseq":  # type: ignore[attr-defined]
        pytest.skip("Logseq's block properties; Obsidian adds none")
    text = page(h)
    first = next(line for line in text.split("\n") if "I went to the woods." in line)
    logseq = text.replace(
        first, first + "\n\t  id:: 6411c1f0-0000-4000-8000-000000000001\n\t  collapsed:: true"
    )
    write(h, logseq)
    run.user_changed()
    h.server.update_highlight(h.ids[1], text="I went to the woods deliberately.")
    run.sync(LATER)
    assert page(h) == logseq.replace("I went to the woods.", "I went to the woods deliberately.")
    assert counts(h)["edited"] == 0 and counts(h)["written"] == 3


def test_a_write_by_the_user_during_the_sync_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The page changes between syncd reading it and replacing it: syncd re-reads and plans
    again on top of the user's bytes."""
    with harness(tmp_path) as h:
        h.now = T0 - timedelta(hours=1)
        book = h.server.add_book(title="Walden", highlights=[{"text": "Simplify."}])
        h.sync(at=T0)
        h.now = T0 + timedelta(minutes=10)
        h.server.add_highlight(book["user_book_id"], text="Time is but the stream.")
        real_write = Vault.write
        calls = []

        def user_types_first(self: Vault, path: Path, text: str, expected: str | None) -> Any:
            if not calls:
                path.write_text(path.read_text() + "\n- typed by the user", encoding="utf-8")
            calls.append(path)
            return real_write(self, path, text, expected)

        monkeypatch.setattr(Vault, "write", user_types_first)
        h.sync(at=LATER)
        text = h.page(PAGE)
        assert "- typed by the user\n- New highlights added" in text
        assert text.count("Time is but the stream.") == 1 and len(calls) == 2


def test_a_page_edited_into_something_that_is_not_blocks_loses_nothing(
    synced_walden: tuple[Harness, Any],
) -> None:
    h, run = synced_walden
    garbage = "\x00\x01 not an outline at all\n\t\t\t-\n  - -\n" + "é" * 50
    write(h, garbage)
    run.user_changed()
    h.server.add_highlight(h.book_id, text="Time is but the stream.")
    run.sync(LATER)
    text = page(h)
    assert text.startswith(garbage)  # the user's bytes, all of them
    assert text.count("Time is but the stream.") == 1
    assert counts(h)["deleted"] == 3  # what syncd wrote is gone: never written again


def test_a_page_replaced_by_a_folder_fails_that_book_only(tmp_path: Path) -> None:
    with harness(tmp_path) as h:
        h.now = T0 - timedelta(hours=1)
        walden = h.server.add_book(title="Walden", highlights=[{"text": "Simplify."}])
        h.server.add_book(title="Other", highlights=[{"text": "Elsewhere."}])
        h.sync(at=T0)
        (h.pages / PAGE).unlink()
        (h.pages / PAGE).mkdir()
        h.now = T0 + timedelta(minutes=10)
        h.server.add_highlight(walden["user_book_id"], text="Time is but the stream.")
        other = h.server.books[1]["user_book_id"]
        h.server.add_highlight(other, text="More elsewhere.")
        report = h.sync(at=LATER)
        assert [book for book, _ in report.failed] == [walden["user_book_id"]]
        assert "is a folder where a page should be" in report.failed[0][1]
        assert h.page("Other (highlights).md").endswith("\t- More elsewhere.")
        assert (h.pages / PAGE).is_dir()
