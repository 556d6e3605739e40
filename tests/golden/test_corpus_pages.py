"""Golden tests: every corpus page (and the seed), re-synced from the book and highlights it shows,
comes out with the same file name and the same bytes, and reads in Logseq as the same outline."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from tests.support.corpus import GoldenPage, corpus_pages, require_shared, seed_page
from tests.support.harness import harness
from tests.support.mldoc import MldocParser

require_shared()
PAGES = corpus_pages()
SEED = seed_page()


def resync(root: Path, golden: GoldenPage) -> tuple[str, str]:
    """Serve the page's book, sync once per sync the page shows; return (file name, text)."""
    with harness(root, readwise="twin") as h:
        h.now = golden.syncs[0].at - timedelta(seconds=2)
        h.server.add_book(**golden.book)
        for sync in golden.syncs:
            for highlight in sync.highlights:
                h.server.add_highlight(golden.book["user_book_id"], **highlight)
            report = h.sync(at=sync.at)
            assert report.outcome.new == len(sync.highlights)
        (name,) = h.page_names()
        return name, h.page(name)


@pytest.mark.parametrize("golden", PAGES, ids=[p.file_name[:60] for p in PAGES])
def test_corpus_page_is_reproduced_byte_for_byte(tmp_path: Path, golden: GoldenPage) -> None:
    name, text = resync(tmp_path, golden)
    assert name == golden.file_name
    assert text == golden.text


def test_seed_page_is_reproduced_as_far_as_it_goes(tmp_path: Path) -> None:
    """The seed is cut short inside its second highlight: the part that is there must match."""
    name, text = resync(tmp_path, SEED)
    assert (
        name == "Episode 20 —  Hattie Zhou, Mila, on Supermasks, Iterative Learning, "
        "and Fortuitous Forgetting (highlights).md"
    )
    assert text == SEED.text


def test_resynced_pages_read_in_logseq_as_the_outline_readwise_wrote(
    tmp_path: Path, mldoc: MldocParser
) -> None:
    """Logseq's parser sees: the properties, one top-level block per sync, one child per
    highlight (never split), and Tags/Note grandchildren."""
    sample = [*PAGES[::8], SEED]
    texts = [resync(tmp_path / str(i), golden)[1] for i, golden in enumerate(sample)]
    for golden, tree in zip(sample, mldoc.parse_many(texts), strict=True):
        assert tree.properties["title"] == golden.book["readable_title"] + " (highlights)"
        assert tree.properties["category"] == "#" + golden.book["category"]
        assert len(tree.blocks) == len(golden.syncs)
        for block, sync in zip(tree.blocks, golden.syncs, strict=True):
            assert block.text.startswith(("Highlights first synced by", "New highlights added"))
            assert len(block.children) == len(sync.highlights)
            for child, highlight in zip(block.children, sync.highlights, strict=True):
                assert child.text.startswith(highlight["text"].split("\n")[0].lstrip())
                kinds = [g.text.split(":", 1)[0] for g in child.children]
                expected = (["**Tags**"] if highlight["tags"] else []) + (
                    ["**Note**"] if highlight["note"] else []
                )
                assert kinds == expected
