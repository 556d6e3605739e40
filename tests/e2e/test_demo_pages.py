"""The demo's pages (every location kind, tags, notes, multi-line text, lines starting with `-`)
read in Logseq's own parser as the outline syncd meant to write."""

from __future__ import annotations

import io
from pathlib import Path

from syncd.commands.demo import run_demo
from syncd.testing.sample_library import LATER_HIGHLIGHTS, SAMPLE_BOOKS
from tests.support.mldoc import MldocParser


def test_demo_pages_parse_into_one_block_per_sync_and_one_child_per_highlight(
    tmp_path: Path, mldoc: MldocParser
) -> None:
    assert run_demo(str(tmp_path / "graph"), out=io.StringIO()) == 0
    pages = {
        p.name: p.read_text(encoding="utf-8")
        for p in (tmp_path / "graph" / "pages").glob("*(highlights).md")
    }
    assert len(pages) == len(SAMPLE_BOOKS)
    trees = dict(zip(pages, mldoc.parse_many(list(pages.values())), strict=True))
    for book in SAMPLE_BOOKS:
        later = LATER_HIGHLIGHTS.get(book["user_book_id"], [])
        (name,) = [
            n
            for n, t in trees.items()
            if t.properties["full-title"] == f'"{book["readable_title"]}"'
        ]
        tree = trees[name]
        expected = [len(book["highlights"])] + ([len(later)] if later else [])
        assert [len(block.children) for block in tree.blocks] == expected, name
        for block, highlights in zip(tree.blocks, [book["highlights"], later], strict=False):
            for child, highlight in zip(block.children, highlights, strict=True):
                # The whole text is in the one block: nothing was split off into a child.
                assert child.text.replace("\\-", "-").startswith(highlight["text"].rstrip()), name
                kinds = [g.text.split(":", 1)[0] for g in child.children]
                assert kinds == (["**Tags**"] if highlight.get("tags") else []) + (
                    ["**Note**"] if highlight.get("note") else []
                ), name
