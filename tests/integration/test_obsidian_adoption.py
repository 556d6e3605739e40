"""Adoption of vaults Readwise's official Obsidian plugin filled (issue 11, item 2): files in the
plugin's format (the project's own fixture, and real files from the shared corpus where it is
there), copied into a temporary vault at test time, are recognised; highlights
already on them are not added again; a new one is appended in the real format; the plugin's
`Readwise Syncs.md` is continued."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tests.golden.test_obsidian_pages import USABLE
from tests.support import owned_fixtures
from tests.support.corpus import corpus_param
from tests.support.harness import harness
from tests.support.obsidian_corpus import ObsidianFile, read_corpus

AT = datetime(2026, 3, 2, 9, 5, tzinfo=timezone.utc)
# One file per format generation the corpus holds: 2022-2023 (standardgalactic), 2023 appends
# (hantianjz `_history`), 2024 with double-spaced names (laztaxon), 2026 (armitd).
GENERATIONS = {
    "2023-appends": "_extras/hantianjz+notes/_history/29896e8/Articles/How to Do Great Work.md",
    "2022": "standardgalactic+third-brain/Books/The Mom Test.md",
    "2024-double-space": "laztaxon+obsidian/Articles/Getting Started With Statistics for UX  "
    "UX Booth.md",
    "2026-tags": "laztaxon+obsidian/Books/Atomic Habits.md",
    "2026-tweets": "armitd+second-brain/Tweets/Tweets From Hayes.md",
    "2026-chapters": "armitd+second-brain/Books/DevOps Adoption Strategies.md",
}


# The project's own fixture (tests/golden/fixtures/obsidian): chapter headings and Kindle
# locations; a Reader document with its full text linked, document note, tags and summary.
OWNED = {
    "owned-chapters": "Books/The Cartographer's Apprentice.md",
    "owned-full-document": "Articles/Designing for the Second Read.md",
}
CORPUS_LOG = "standardgalactic+third-brain/_history/a492e56/Readwise Syncs.md"


def _golden(path: str) -> ObsidianFile:
    return next(g for g in USABLE if g.path == path)


@pytest.mark.parametrize(
    "generation",
    [*OWNED, *(corpus_param(generation, id=generation) for generation in GENERATIONS)],
)
def test_a_plugin_filled_vault_is_taken_over(tmp_path: Path, generation: str) -> None:
    if generation in OWNED:
        golden, log = _golden(OWNED[generation]), owned_fixtures.obsidian_sync_log()
    else:
        golden, log = _golden(GENERATIONS[generation]), read_corpus(CORPUS_LOG)
    settings = {"vault": {"format": "obsidian"}, "sync": {"sync_log_page": "Readwise"}}
    with harness(tmp_path, settings=settings, edn=None, readwise="twin") as h:
        page = h.pages / golden.category_folder / golden.name
        page.parent.mkdir(parents=True)
        page.write_bytes(golden.text.encode("utf-8"))
        (h.pages / "Readwise Syncs.md").write_bytes(log.encode("utf-8"))
        h.now = AT - timedelta(hours=1)
        h.server.add_book(**golden.book)
        for sync in golden.syncs:
            for highlight in sync.highlights:
                h.server.add_highlight(golden.book["user_book_id"], **highlight)
        h.server.add_highlight(
            golden.book["user_book_id"],
            id=1,
            text="A new one.\n\nTwo lines.",
            url="https://read.readwise.io/read/new",
            location_type="offset",
        )
        report = h.sync(at=AT)
        assert report.outcome.new == 1
        assert h.page_names() == sorted(
            [f"{golden.category_folder}/{golden.name}", "Readwise Syncs.md"]
        )
        label = "View Tweet" if golden.book["category"] == "tweets" else "View Highlight"
        assert h.page(f"{golden.category_folder}/{golden.name}") == golden.text + (
            "## New highlights added March 2, 2026 at 9:05 AM\n"
            f"- A new one.\n  Two lines. ([{label}](https://read.readwise.io/read/new))\n"
        )
        assert h.page("Readwise Syncs.md") == log + (
            "- [[2026-03-02]] 9:05 AM \u2014 Synced 1 highlight from 1 document.\n"
            f"    - 1 highlights from {golden.book['title']}\n\n"
        )
        again = h.sync(at=AT + timedelta(hours=1))
        assert again.outcome.new == 0 and again.pages_changed == 0


def test_a_chapter_heading_syncd_wrote_is_its_highlight_block(tmp_path: Path) -> None:
    """A heading highlight (tagged `h1`) is written as `### text`: the next sync finds it there
    (not deleted), so a change in Readwise rewrites it in place, once."""
    with harness(tmp_path, settings={"vault": {"format": "obsidian"}}, readwise="twin") as h:
        h.now = AT - timedelta(hours=2)
        book = h.server.add_book(title="Walden", author="Thoreau")["user_book_id"]
        heading = h.server.add_highlight(book, text="Economy", tags=[{"name": "h1"}])
        h.server.add_highlight(book, text="Simplify, simplify.")
        h.sync(at=AT - timedelta(hours=1))
        page = h.pages / "Books" / "Walden.md"
        assert "\n### Economy\n" in page.read_text(encoding="utf-8")
        h.now = AT - timedelta(minutes=30)
        h.server.update_highlight(heading["id"], text="Economy, chapter one")
        report = h.sync(at=AT)
        assert report.outcome.updated == 1
        text = page.read_text(encoding="utf-8")
        assert "\n### Economy, chapter one\n" in text and "### Economy\n" not in text
