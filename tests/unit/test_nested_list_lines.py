"""Highlights and notes holding indented list lines (Reader's nested lists: "Intro:\\n  - first")
stay ONE block as Logseq's parser (mldoc, configured as Logseq configures it) reads the page, and
syncd reading the page back sees the block as it wrote it (issue 10, item 10).

What mldoc does with a continuation line, found with it: a `-` item (`- x`, `-` alone, `-\\tx`)
after any spaces or tabs starts a block of its own, and so does a heading (`#`s then a space, a
tab or nothing), at any indentation; `*`, `+` and numbered items stay in the block (as a list),
as the Readwise export writes them. syncd escapes the first two with a backslash before the
marker, keeping the line's own indentation.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from syncd.core.model import Book, Highlight
from syncd.core.plan import Options, new_page_records, observe_page, plan_page
from syncd.core.render import Style, render_new_page
from syncd.core.templates import Templates
from tests.support.mldoc import Block, MldocParser

STYLES = {f: Style(templates=Templates(f), tz=timezone.utc) for f in ("logseq", "obsidian")}
T0 = datetime(2023, 3, 17, 17, 5, tzinfo=timezone.utc)
INDENTS = ["", " ", "  ", "   ", "    ", "\t", "\t\t", " \t", "\t  ", "        "]
MARKERS = ["- ", "-", "-\t", "* ", "+ ", "1. ", "12) ", "# ", "## ", "###### ", "####### ",
           "#", "#\t", "---", "***", "> ", "-- ", "#tag "]
LINES = [f"{indent}{marker}{word}" for indent in INDENTS for marker in MARKERS
         for word in ("item", "")]
_UNESCAPE = re.compile(r"^([ \t]*)\\([-#])", re.MULTILINE)


def book_of(texts: list[tuple[str, str]]) -> Book:
    return Book(1, "Nested", highlights=tuple(
        Highlight(10 + i, text, note=note) for i, (text, note) in enumerate(texts)))


def page_of(book: Book, fmt: str) -> tuple[str, dict[int, object]]:
    style = STYLES[fmt]
    blocks, records = new_page_records(book, list(book.highlights), style)
    return (render_new_page(book, "Nested", blocks, style, T0),
            {r.highlight_id: r for r in records})


def lines_of(text: str) -> list[str]:
    """The lines of a block as a reader sees them: without the escape, the indentation or
    trailing white space."""
    return [line.strip() for line in _UNESCAPE.sub(r"\1\2", text).split("\n")]


def assert_one_block_each(tree_blocks: tuple[Block, ...], book: Book) -> None:
    """Under the page's one header block: one block per highlight holding all its lines, the
    note its only child, holding all of its lines."""
    (header,) = [b for b in tree_blocks if b.text.startswith("Highlights first synced")]
    assert len(tree_blocks) == 1, [b.text for b in tree_blocks]
    assert len(header.children) == len(book.highlights)
    for block, highlight in zip(header.children, book.highlights, strict=True):
        assert lines_of(block.text) == [line.strip() for line in highlight.text.split("\n")]
        if highlight.note:
            (note,) = block.children
            assert lines_of(note.text.removeprefix("**Note**: ")) == [
                line.strip() for line in highlight.note.split("\n")]
            assert note.children == ()
        else:
            assert block.children == ()


def test_readers_nested_list_stays_one_block(mldoc: MldocParser) -> None:
    """issue 10, item 10: the issue's own example, in a highlight and in its note."""
    nested = "Intro:\n  - first\n\t- second\n    -\n  # not a heading\n  * star\n  1. one"
    book = book_of([(nested, nested), ("Next highlight.", "")])
    text, _ = page_of(book, "logseq")
    assert "\t  \t\\- second" in text and "\t    \\- first" in text  # indentation kept
    assert "\t    * star" in text and "\t    1. one" in text  # mldoc keeps these: as they are
    assert_one_block_each(mldoc.parse(text).blocks, book)


@pytest.mark.parametrize("fmt", sorted(STYLES))
def test_every_marker_at_every_indentation_is_read_back_as_written(fmt: str) -> None:
    """issue 10, item 10: syncd re-reading its page sees every block as it wrote it. (Lines
    without trailing white space: a line ending in spaces is item 8's, see test_plan_*.)"""
    book = book_of([(f"Intro:\n{line.rstrip()}\nend", f"Note:\n{line.rstrip()}")
                    for line in LINES])
    text, records = page_of(book, fmt)
    assert observe_page(text, records, STYLES[fmt].page_format) == []
    plan = plan_page(book, list(book.highlights), text, records, STYLES[fmt], T0, Options())
    assert plan.text is None and plan.outcome.conflicts == 0


def test_every_marker_at_every_indentation_stays_in_its_block(mldoc: MldocParser) -> None:
    """issue 10, item 10: `-`, `*`, `+`, numbered, `#` lines, after spaces and tabs, with and
    without text after them: one block per highlight and per note."""
    book = book_of([(f"Intro:\n{line}\nend", f"Note:\n{line}") for line in LINES])
    text, _ = page_of(book, "logseq")
    assert_one_block_each(mldoc.parse(text).blocks, book)


TEXT_LINES = st.builds(lambda indent, marker, word: f"{indent}{marker}{word}".rstrip(),
                       st.sampled_from(INDENTS), st.sampled_from([*MARKERS, ""]),
                       st.sampled_from(["item", "two words", "", "#x", "- y"])
                       ).filter(str.strip)  # a blank line, like trailing spaces, is item 8's
TEXTS = st.builds(lambda lines: "\n".join(["First", *lines, "last"]),
                  st.lists(TEXT_LINES, min_size=1, max_size=6))


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(TEXTS, st.one_of(st.just(""), TEXTS)), min_size=1, max_size=12))
def test_property_one_block_per_highlight_and_no_false_edit(
        mldoc: MldocParser, texts: list[tuple[str, str]]) -> None:
    """issue 10, item 10 (property): whatever list markers and indentation the lines of a
    highlight or note hold, mldoc reads one block per highlight (its note its one child), and
    syncd reading the page back finds every block untouched."""
    book = book_of(texts)
    text, records = page_of(book, "logseq")
    assert_one_block_each(mldoc.parse(text).blocks, book)
    assert observe_page(text, records, STYLES["logseq"].page_format) == []


def test_obsidian_keeps_the_lines_inside_the_bullet() -> None:
    """issue 10, item 10, Obsidian (with issue 11's fidelity): every line of a highlight
    continues its bullet, indented two spaces, as Readwise's export writes it (`  - ChatGPT`,
    `  #3. Hick's Law` are in the corpus, unescaped); only a line that would read as a block of
    its own, a `- ` at a whole number of 4-space levels, gets a backslash, so that it is text of
    the bullet rather than a child."""
    nested = "Intro:\n  - first\n\t- second\n# head\n  * star\n- third"
    text, _ = page_of(book_of([(nested, "")]), "obsidian")
    body = text.split("## Highlights\n", 1)[1].rstrip("\n").split("\n")
    assert body == ["- Intro:", "    \\- first", "  \t- second", "  # head", "    * star",
                    "  - third"]


def test_obsidian_page_with_the_plugin_s_list_lines_is_adopted_without_duplicates() -> None:
    """issue 11 with issue 10, item 10: a page as Readwise's plugin wrote it, a highlight whose
    lines are a list (`  - ChatGPT`), is read back with the list inside the highlight: adopting
    it (no records) recognises the highlight, adds nothing, changes nothing."""
    listing = "Tools I use:\n- ChatGPT\n- Copilot\n- Gemini"
    book = book_of([(listing, "a note\n- with a list"), ("Second.", "")])
    text, _ = page_of(book, "obsidian")
    assert "\n  - ChatGPT\n  - Copilot\n" in text and "\n      - with a list" in text
    plan = plan_page(book, list(book.highlights), text, {}, STYLES["obsidian"], T0, Options())
    assert plan.text is None and plan.outcome.new == 0
