"""Readwise's golden Logseq pages, read by Logseq's own parser (mldoc), have the expected outline.

This pins down what the page checks of syncd rely on: on every page of the project's own fixture
(tests/golden/fixtures/logseq) and, where the shared corpus is there, every real page written by
Readwise's Logseq export (and the seed page, cut short at its end) mldoc finds the page
properties from the ``key:: value`` lines, one top-level block per ``- `` line, one child block
per highlight (``\\t- `` line, however many continuation lines it has) and the
``**Tags**``/``**Note**`` grandchildren. Small hand-written pages record how mldoc treats
continuation lines.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.corpus import (
    CORPUS,
    CORPUS_PAGES,
    SEED,
    SYNC_LOG_PAGE,
    corpus_param,
    corpus_present,
)
from tests.support.mldoc import Block, MldocParser, PageTree
from tests.support.owned_fixtures import FIXTURES

PAGES_DIR = CORPUS_PAGES
SYNC_LOG = SYNC_LOG_PAGE
OWNED_DIR = FIXTURES / "logseq" / "expected"
TOP_PREFIXES = ("Highlights first synced by ", "New highlights added ")
REQUIRED_PROPERTIES = ("title", "author", "full-title", "category")


def _read(path: Path) -> str:
    return path.read_bytes().decode("utf-8")


def _owned_pages() -> list[Path]:
    """The book pages of the project's own Logseq fixture."""
    return sorted(p for p in OWNED_DIR.glob("*.md") if p.name != SYNC_LOG.name)


def _corpus_pages() -> list[Path]:
    """The golden book pages (not the sync log) and the seed; none without the corpus."""
    if not corpus_present():
        return []
    return [*sorted(p for p in PAGES_DIR.glob("*.md") if p != SYNC_LOG), SEED]


def _book_pages() -> list[Path]:
    return [*_owned_pages(), *_corpus_pages()]


@pytest.fixture(scope="module")
def book_trees(mldoc: MldocParser) -> dict[Path, tuple[str, PageTree]]:
    """Every golden book page (the owned ones, and the corpus's and the seed where it is
    there), parsed with a single node run."""
    paths = _book_pages()
    texts = [_read(path) for path in paths]
    return dict(zip(paths, zip(texts, mldoc.parse_many(texts), strict=True), strict=True))


def _header_properties(text: str) -> dict[str, str]:
    header = text.split("\n\n", 1)[0]
    return dict(line.split(":: ", 1) for line in header.split("\n"))


def _highlight_texts(lines: list[str]) -> list[str]:
    """The texts of the highlight blocks in one top-level block's lines, read by hand."""
    texts: list[list[str]] = []
    for line in lines:
        if line.startswith("\t- "):
            texts.append([line[3:]])
        elif line.startswith("\t  ") and texts:
            texts[-1].append(line[3:])
        elif not line.startswith("\t\t"):
            raise AssertionError(f"unexpected line in a highlight: {line!r}")
    return ["\n".join(parts) for parts in texts]


def _check_book_page(text: str, tree: PageTree) -> None:
    header = _header_properties(text)
    for key in REQUIRED_PROPERTIES:
        assert tree.properties.get(key) == header[key], key
    assert tree.properties == header

    lines = text.split("\n")
    starts = [i for i, line in enumerate(lines) if line.startswith("- ")]
    assert len(tree.blocks) == len(starts)
    for block, start, end in zip(tree.blocks, starts, [*starts[1:], len(lines)], strict=True):
        assert block.text == lines[start][2:]
        assert block.text.startswith(TOP_PREFIXES)
        own = lines[start + 1 : end]
        # A multi-line highlight is ONE block: children == lines starting with exactly "\t- ".
        assert len(block.children) == sum(line.startswith("\t- ") for line in own)
        assert [child.text for child in block.children] == _highlight_texts(own)
        grandchildren = [g for child in block.children for g in child.children]
        assert len(grandchildren) == sum(line.startswith("\t\t- ") for line in own)
        for grandchild in grandchildren:
            assert grandchild.text.startswith(("**Tags**", "**Note**"))
            assert grandchild.children == ()


@pytest.mark.parametrize(
    "path",
    [
        *(pytest.param(p, id=f"owned/{p.name}") for p in _owned_pages()),
        *(corpus_param(p, id=p.name) for p in _corpus_pages()),
    ],
)
def test_golden_page_outline(path: Path, book_trees: dict[Path, tuple[str, PageTree]]) -> None:
    text, tree = book_trees[path]
    _check_book_page(text, tree)


@CORPUS
def test_corpus_is_all_there(book_trees: dict[Path, tuple[str, PageTree]]) -> None:
    assert len(book_trees) == 8 + 193  # the owned pages, 192 corpus book pages and the seed


@CORPUS
def test_seed_cut_short_still_parses(book_trees: dict[Path, tuple[str, PageTree]]) -> None:
    _text, tree = book_trees[SEED]
    assert [b.text.split(" [[")[0] for b in tree.blocks] == [
        "Highlights first synced by",
        "New highlights added",
    ]
    assert tree.blocks[1].children == (Block("What Is a Not-Correlational?\n\nKey takeaways:"),)


@CORPUS
def test_sync_log_page_is_one_top_level_block_per_line(mldoc: MldocParser) -> None:
    text = _read(SYNC_LOG)
    tree = mldoc.parse(text)
    lines = text.split("\n")
    assert all(line == "-" or line.startswith("- ") for line in lines)
    assert [block.text for block in tree.blocks] == [line[2:] for line in lines]
    assert all(block.children == () for block in tree.blocks)
    assert tree.properties == {}
    # The corpus has an empty block and one whose text starts with "* ".
    assert "" in [block.text for block in tree.blocks]
    assert any(block.text.startswith("* On [[") for block in tree.blocks)


# ---------------------------------------------------------------- continuation lines, by hand

HEAD = "title:: T (highlights)\n\n- Highlights first synced by [[Readwise]] [[Nov 19th, 2022]]\n"


def _page(*continuation: str) -> str:
    body = "".join(f"\n\t  {line}" for line in continuation)
    return f"{HEAD}\t- line one{body}\n\t- next"


def test_escaped_dash_continuation_stays_in_the_block(mldoc: MldocParser) -> None:
    tree = mldoc.parse(_page("\\- line two"))
    assert tree.blocks[0].children == (Block("line one\n\\- line two"), Block("next"))
    # mldoc reads it as a plain paragraph of the block, rendering "- line two".
    nodes = [node for node, _pos in mldoc.parse_raw([_page("\\- line two")])[0]]
    assert nodes[-2] == ["Paragraph", [["Plain", "\t  - line two"], ["Break_Line"]]]


def test_unescaped_dash_continuation_becomes_a_nested_child_block(mldoc: MldocParser) -> None:
    tree = mldoc.parse(_page("- line two"))
    assert tree.blocks[0].children == (Block("line one", (Block("line two"),)), Block("next"))


def test_markdown_heading_continuation_splits_off_a_top_level_block(mldoc: MldocParser) -> None:
    # "\t  # x" is a Markdown heading to mldoc, and Logseq makes such a heading a level-1
    # block: the highlight is cut in two and the rest jumps to the top level.
    tree = mldoc.parse(_page("# line two"))
    assert [block.text for block in tree.blocks] == [
        "Highlights first synced by [[Readwise]] [[Nov 19th, 2022]]",
        "# line two",
    ]
    assert tree.blocks[1].children == (Block("next"),)


@pytest.mark.parametrize(
    "line",
    ["", "* item", "+ item", "1. item", "> quote", "#tag text", "key:: value", "---", "```"],
    ids=repr,
)
def test_other_continuation_lines_stay_in_the_block(mldoc: MldocParser, line: str) -> None:
    tree = mldoc.parse(_page(line, "last"))
    assert tree.blocks[0].children == (Block(f"line one\n{line}\nlast"), Block("next"))


def test_blank_continuation_line_is_kept_as_an_empty_line(mldoc: MldocParser) -> None:
    # "\t  " (indent plus two spaces) is an empty line of the block; mldoc sees the two
    # trailing spaces as a hard line break but keeps the paragraph in the block.
    tree = mldoc.parse(_page("", "after"))
    assert tree.blocks[0].children[0].text == "line one\n\nafter"


def test_trailing_spaces_are_kept(mldoc: MldocParser) -> None:
    tree = mldoc.parse(f"{HEAD}\t- line one  \n\t  two \n\t- next")
    assert tree.blocks[0].children[0] == Block("line one  \ntwo ")
