"""Golden tests: every page of the project's own Logseq fixtures (tests/golden/fixtures/logseq) and,
where the shared corpus is there, every corpus page (and the seed), re-synced from the book and
highlights it shows, comes out with the same file name and the same bytes, and reads in Logseq as
the same outline. (tests/golden/test_owned_fixtures.py syncs the owned library itself.)"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from tests.support import owned_fixtures
from tests.support.corpus import CORPUS, GoldenPage, corpus_pages, corpus_param, seed_page
from tests.support.harness import harness
from tests.support.mldoc import MldocParser

OWNED = owned_fixtures.logseq_pages()
CORPUS_PAGES = corpus_pages()
PAGES = [
    *(pytest.param(p, id=f"owned/{p.file_name[:60]}") for p in OWNED),
    *(corpus_param(p, id=p.file_name[:60]) for p in CORPUS_PAGES),
]


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


@pytest.mark.parametrize("golden", PAGES)
def test_corpus_page_is_reproduced_byte_for_byte(tmp_path: Path, golden: GoldenPage) -> None:
    name, text = resync(tmp_path, golden)
    assert name == golden.file_name
    assert text == golden.text


@CORPUS
def test_seed_page_is_reproduced_as_far_as_it_goes(tmp_path: Path) -> None:
    """The seed is cut short inside its second highlight: the part that is there must match."""
    seed = seed_page()
    name, text = resync(tmp_path, seed)
    assert (
        name == "Episode 20 —  Hattie Zhou, Mila, on Supermasks, Iterative Learning, "
        "and Fortuitous Forgetting (highlights).md"
    )
    assert text == seed.text


@pytest.mark.parametrize("source", ["owned", corpus_param("corpus", id="corpus")])
def test_resynced_pages_read_in_logseq_as_the_outline_readwise_wrote(
    tmp_path: Path, mldoc: MldocParser, source: str
) -> None:
    """Logseq's parser sees: the properties, one top-level block per sync, one child per
    highlight (never split), and Tags/Note grandchildren."""
    sample = OWNED if source == "owned" else [*CORPUS_PAGES[::8], seed_page()]
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
