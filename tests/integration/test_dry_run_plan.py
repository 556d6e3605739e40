"""A dry run decides what the sync would: the same vault, synced for real after a dry run,
gets the plan the dry run printed, book by book, in both formats; and the dry run wrote nothing,
in the vault or in the state."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from syncd.edges.state import State
from syncd.edges.state_files import database_path
from tests.support.harness import Harness, harness
from tests.support.processes import snapshot

T0 = datetime(2023, 3, 17, 17, 5, tzinfo=timezone.utc)
SETTINGS = {
    "logseq": {"sync": {"sync_log_page": "Readwise"}},
    "obsidian": {"vault": {"format": "obsidian"}, "sync": {"sync_log_page": "Readwise"}},
}


def add(h: Harness, title: str, *texts: str) -> dict[str, Any]:
    return h.server.add_book(
        title=title,
        author="An Author",
        category="books",
        highlights=[
            {"text": text, "location": 10 * n, "location_type": "location"}
            for n, text in enumerate(texts, 1)
        ],
    )


def database(h: Harness) -> dict[str, object]:
    """Every record the state holds, read through its own connection."""
    state = State(database_path(h.config.state_dir, h.vault))
    try:
        return {
            "pages": state.pages(),
            "highlights": {p.book_id: state.highlights(p.book_id) for p in state.pages()},
            "problems": state.problems(),
            "cursor": state.get("cursor"),
        }
    finally:
        state.close()


@pytest.mark.parametrize("fmt", ["logseq", "obsidian"])
def test_a_dry_run_decides_the_plan_the_sync_then_carries_out(tmp_path: Path, fmt: str) -> None:
    with harness(tmp_path, edn=None if fmt == "obsidian" else "", settings=SETTINGS[fmt]) as h:
        h.now = T0 - timedelta(hours=1)
        walden = add(h, "Walden", "Simplify, simplify.", "I went to the woods.", "Our life.")
        deleted = add(h, "Deleted Later", "Soon gone.")["user_book_id"]
        traveller = add(h, "Moved Later", "Travels far.")["user_book_id"]
        h.sync(at=T0)
        pages = {p.name: p for p in h.pages.rglob("*.md")}
        # The user edits a block, deletes another, deletes a page and moves one.
        walden_page = next(p for name, p in pages.items() if name.startswith("Walden"))
        text = walden_page.read_text(encoding="utf-8")
        walden_page.write_text(
            text.replace("Simplify, simplify.", "Simplify, simplify!").replace(
                "I went to the woods.", "(mine now)"
            ),
            encoding="utf-8",
        )
        next(p for name, p in pages.items() if name.startswith("Deleted")).unlink()
        moved = next(p for name, p in pages.items() if name.startswith("Moved"))
        (moved.parent / "elsewhere").mkdir()
        moved.rename(moved.parent / "elsewhere" / moved.name)
        # Readwise: new highlights, a changed one, new books, two of them with one title.
        h.now = T0 + timedelta(minutes=30)
        h.server.add_highlight(walden["user_book_id"], text="Time is but the stream.", location=99)
        h.server.add_highlight(deleted, text="Kept out.", location=5)
        h.server.add_highlight(traveller, text="Found where it went.", location=5)
        add(h, "Twins", "First twin.")
        add(h, "Twins", "Second twin.")
        h.server.update_highlight(walden["highlights"][2]["id"], text="Our life is frittered away.")

        later = T0 + timedelta(hours=1)
        vault_before, state_before = snapshot(h.vault), database(h)
        dry = h.sync(at=later, dry_run=True)
        assert snapshot(h.vault) == vault_before and database(h) == state_before
        real = h.sync(at=later)

        assert dry.plans == real.plans
        assert len(dry.plans) == 5
        assert any("Moved Later): update" in plan and "elsewhere/" in plan for plan in dry.plans)
        assert any("Deleted Later): keep out" in plan for plan in dry.plans)
        counts = (dry.outcome, dry.pages_changed, dry.pages_created, dry.failed)
        assert counts == (real.outcome, real.pages_changed, real.pages_created, real.failed)
        printed = "".join(dry.printed)
        for plan in dry.plans:
            if "unchanged" not in plan:
                assert f"# {plan}\n" in printed


@pytest.mark.parametrize("fmt", ["logseq", "obsidian"])
def test_a_page_the_sync_leaves_alone_fails_its_book_in_the_dry_run_too(
    tmp_path: Path, fmt: str
) -> None:
    """A read-only page: the sync leaves it alone and fails its book; the dry run says so too,
    and prints no diff the sync would not write."""
    with harness(tmp_path, edn=None if fmt == "obsidian" else "", settings=SETTINGS[fmt]) as h:
        h.now = T0 - timedelta(hours=1)
        book = add(h, "Walden", "Simplify, simplify.")
        h.sync(at=T0)
        (page,) = h.pages.rglob("Walden*.md")
        page.chmod(0o444)
        h.server.add_highlight(book["user_book_id"], text="Time is but the stream.", location=9)
        dry = h.sync(at=T0 + timedelta(hours=1), dry_run=True)
        real = h.sync(at=T0 + timedelta(hours=1))
        assert [message for _, message in dry.failed] == [m for _, m in real.failed]
        assert "read-only" in real.failed[0][1]
        assert dry.plans == real.plans == []
        assert not any("+++" in told for told in dry.printed)
