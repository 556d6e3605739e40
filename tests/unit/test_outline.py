"""syncd/core/outline.py: template output into blocks, blocks into page lines, page lines into
blocks, and a page's unit of indentation; and, through a whole rendered page, the escaping that
keeps a highlight's list lines in its block.

Highlights and notes holding indented list lines (Reader's nested lists: "Intro:\\n  - first")
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
from syncd.core.outline import Block as OutlineBlock
from syncd.core.outline import (
    block_lines,
    bullet_depth,
    carry_child_ids,
    detect_indent,
    normalise,
    parse_blocks,
    reindent,
    render_blocks,
    template_blocks,
)
from syncd.core.page_reading import observe_page
from syncd.core.plan import new_page_records, plan_page
from syncd.core.plan_terms import Options
from syncd.core.render import Style, render_new_page
from syncd.core.templates import Templates
from tests.support.mldoc import Block, MldocParser

STYLES = {f: Style(templates=Templates(f), tz=timezone.utc) for f in ("logseq", "obsidian")}
T0 = datetime(2023, 3, 17, 17, 5, tzinfo=timezone.utc)
INDENTS = ["", " ", "  ", "   ", "    ", "\t", "\t\t", " \t", "\t  ", "        "]
MARKERS = [
    "- ",
    "-",
    "-\t",
    "* ",
    "+ ",
    "1. ",
    "12) ",
    "# ",
    "## ",
    "###### ",
    "####### ",
    "#",
    "#\t",
    "---",
    "***",
    "> ",
    "-- ",
    "#tag ",
]
LINES = [
    f"{indent}{marker}{word}" for indent in INDENTS for marker in MARKERS for word in ("item", "")
]
_UNESCAPE = re.compile(r"^([ \t]*)\\([-#])", re.MULTILINE)


def book_of(texts: list[tuple[str, str]]) -> Book:
    return Book(
        1,
        "Nested",
        highlights=tuple(
            Highlight(10 + i, text, note=note) for i, (text, note) in enumerate(texts)
        ),
    )


def page_of(book: Book, fmt: str) -> tuple[str, dict[int, object]]:
    style = STYLES[fmt]
    blocks, records = new_page_records(book, list(book.highlights), style)
    return (
        render_new_page(book, "Nested", blocks, style, T0),
        {r.highlight_id: r for r in records},
    )


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
                line.strip() for line in highlight.note.split("\n")
            ]
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
    book = book_of([(f"Intro:\n{line.rstrip()}\nend", f"Note:\n{line.rstrip()}") for line in LINES])
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


TEXT_LINES = st.builds(
    lambda indent, marker, word: f"{indent}{marker}{word}".rstrip(),
    st.sampled_from(INDENTS),
    st.sampled_from([*MARKERS, ""]),
    st.sampled_from(["item", "two words", "", "#x", "- y"]),
).filter(str.strip)  # a blank line, like trailing spaces, is item 8's
TEXTS = st.builds(
    lambda lines: "\n".join(["First", *lines, "last"]), st.lists(TEXT_LINES, min_size=1, max_size=6)
)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(TEXTS, st.one_of(st.just(""), TEXTS)), min_size=1, max_size=12))
def test_property_one_block_per_highlight_and_no_false_edit(
    mldoc: MldocParser, texts: list[tuple[str, str]]
) -> None:
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
    assert body == [
        "- Intro:",
        "    \\- first",
        "  \t- second",
        "  # head",
        "    * star",
        "  - third",
    ]


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


# --- the outline's own parts --------------------------------------------------------------


def test_template_output_nests_by_indentation_with_or_without_bullets() -> None:
    output = "- top\n\tchild\n\t\tgrandchild\n    - sibling, four spaces as a tab\n\n- next"
    assert [(b.depth, b.text) for b in template_blocks(output)] == [
        (0, "top"),
        (1, "child"),
        (2, "grandchild"),
        (1, "sibling, four spaces as a tab"),
        (0, "next"),
    ]


def test_block_lines_escape_continuations_that_would_start_a_block() -> None:
    block = OutlineBlock(0, "first\n- dash\n# heading\n#tag stays\n\nlast")
    assert block_lines(block, 1) == [
        "\t- first",
        "\t  \\- dash",
        "\t  \\# heading",
        "\t  #tag stays",
        "\t  ",
        "\t  last",
    ]
    assert block_lines(block, 1, "    ")[1] == "      \\- dash"


def test_parse_blocks_spans_and_headings_end_blocks() -> None:
    lines = ["title:: x", "", "- a", "\t- b", "\t  more b", "- c", "## Heading", "- d"]
    blocks = parse_blocks(lines)
    assert [(b.depth, b.start, b.own_end, b.end) for b in blocks] == [
        (0, 2, 3, 5),
        (1, 3, 5, 5),
        (0, 5, 6, 6),
        (0, 7, 8, 8),
    ]


UNITS = ["\t", "  ", "    "]
WORDS = st.from_regex(r"[a-z][a-z ]{0,8}", fullmatch=True)


@st.composite
def outlines(draw: st.DrawFn) -> list[tuple[int, str, list[str]]]:
    """Blocks of a page in order: depth (each at most one deeper than the one before), first
    line, continuation lines."""
    depths = [0]
    for _ in range(draw(st.integers(0, 10))):
        depths.append(draw(st.integers(0, depths[-1] + 1)))
    return [(d, draw(WORDS), draw(st.lists(WORDS, max_size=2))) for d in depths]


def page_lines(outline: list[tuple[int, str, list[str]]], unit: str) -> list[str]:
    lines = []
    for depth, first, more in outline:
        lines.append(f"{unit * depth}- {first}")
        lines += [f"{unit * depth}  {line}" for line in more]
    return lines


@settings(max_examples=150, deadline=None)
@given(outlines(), st.sampled_from(UNITS))
def test_parse_blocks_finds_every_block_at_its_depth_and_line(
    outline: list[tuple[int, str, list[str]]], unit: str
) -> None:
    lines = page_lines(outline, unit)
    blocks = parse_blocks(lines, unit)
    assert [b.depth for b in blocks] == [depth for depth, _, _ in outline]
    starts = [i for i, line in enumerate(lines) if line.lstrip(" \t").startswith("- ")]
    assert [b.start for b in blocks] == starts
    for block, following in zip(blocks, [*blocks[1:], None], strict=True):
        assert block.own_end == (following.start if following else len(lines))
        # a block's span ends where the next block not deeper than it starts
        later = [b.start for b in blocks if b.start > block.start and b.depth <= block.depth]
        assert block.end == (later[0] if later else len(lines))


@settings(max_examples=150, deadline=None)
@given(outlines(), st.sampled_from(UNITS), st.sampled_from(UNITS))
def test_detect_indent_finds_the_unit_a_nested_page_was_written_with(
    outline: list[tuple[int, str, list[str]]], unit: str, default: str
) -> None:
    lines = page_lines(outline, unit)
    nested = any(depth for depth, _, _ in outline)
    if default.startswith(" ") and unit.startswith(" ") and len(unit) % len(default):
        return  # two spaces on a page whose default is four: text, not nesting (bullet_depth)
    assert detect_indent(lines, default) == (unit if nested else default)


@settings(max_examples=150, deadline=None)
@given(outlines(), st.sampled_from(UNITS), st.sampled_from(UNITS))
def test_reindent_round_trips_and_keeps_the_blocks(
    outline: list[tuple[int, str, list[str]]], unit: str, to: str
) -> None:
    lines = page_lines(outline, unit)
    moved = reindent(lines, unit, to)
    assert moved == page_lines(outline, to)
    assert reindent(moved, to, unit) == lines
    assert [(b.depth, b.start, b.own_end, b.end) for b in parse_blocks(moved, to)] == [
        (b.depth, b.start, b.own_end, b.end) for b in parse_blocks(lines, unit)
    ]


def test_reindent_leaves_headings_and_lines_outside_blocks_alone() -> None:
    lines = [
        "title:: x",
        "  not a block",
        "- a",
        "\t- b",
        "\t  more b",
        "## Heading",
        "\t\tafter a heading",
    ]
    assert reindent(lines, "\t", "  ") == [
        "title:: x",
        "  not a block",
        "- a",
        "  - b",
        "    more b",
        "## Heading",
        "\t\tafter a heading",
    ]


def test_obsidian_four_space_unit_reads_a_two_space_dash_as_text() -> None:
    assert bullet_depth("  - ChatGPT", "    ") is None
    assert bullet_depth("    - nested", "    ") == 1
    assert bullet_depth("  - nested", "\t") == 1
    assert detect_indent(["- a", "  - list line of a"], "    ") == "    "


def test_normalise_ignores_logseq_s_own_properties_and_trailing_space() -> None:
    assert normalise(["- a  ", "  id:: 6412", "  collapsed:: true", "  more", "", ""]) == (
        "- a\n  more"
    )
    assert normalise(["- a", "  idea:: kept"]) != normalise(["- a"])


@settings(max_examples=150, deadline=None)
@given(outlines(), st.sampled_from(UNITS))
def test_template_output_rendered_as_blocks_parses_back_to_the_same_depths(
    outline: list[tuple[int, str, list[str]]], unit: str
) -> None:
    blocks = [OutlineBlock(depth, first) for depth, first, _ in outline]
    text = render_blocks(blocks, 0, unit)
    assert [(b.depth, b.text) for b in template_blocks(text)] == [
        (depth, first.rstrip()) for depth, first, _ in outline
    ]
    assert [b.depth for b in parse_blocks(text.split("\n"), unit)] == [
        depth for depth, _, _ in outline
    ]


def test_ids_obsidian_gave_a_blocks_children_are_carried_to_the_rewritten_ones() -> None:
    old = ["    - Tags: [[life]] ^t4g", "    - Note: The famous", "      one. ^n0te1", ""]
    new = ["    - Tags: [[life]] [[woods]] ", "    - Note: The famous", "      one, again."]
    assert carry_child_ids(old, new, "    ") == [
        "    - Tags: [[life]] [[woods]] ^t4g",
        "    - Note: The famous",
        "      one, again. ^n0te1",
    ]
    # The note is gone from Readwise: the old note stays, with its id, after the others.
    assert carry_child_ids(old, new[:1], "    ") == [
        "    - Tags: [[life]] [[woods]] ^t4g",
        "    - Note: The famous",
        "      one. ^n0te1",
    ]
    # No id: nothing carried; a new child that has an id keeps its own.
    assert carry_child_ids(new, new, "    ") == new
    # The note cleared in Readwise, no child left (world seed 22, Obsidian: it raised).
    assert carry_child_ids(old[1:], [], "    ") == ["    - Note: The famous", "      one. ^n0te1"]
    assert carry_child_ids(["\t- a tab list line"], [], "    ") == []


def test_an_obsidian_block_id_is_not_part_of_a_block_s_likeness() -> None:
    """World seed 3869551496: Obsidian gave a highlight's block an id (` ^73bc78`) and the user
    appended words to its short text; read with the id, the first line was less than SIMILAR
    alike the block syncd wrote, so the edit was taken for a deletion (never pushed, never
    updated). The id is Obsidian's, not the user's words: likeness reads the line without it."""
    from syncd.core.page_index import SIMILAR, PageIndex
    from syncd.core.render import OBSIDIAN

    text = "## Highlights\n- hl-1v1 words of 1 pt-2 pt-4 pt-5 ^73bc78\n- hl-2v1 words of 2\n"
    disk = PageIndex(text, OBSIDIAN)
    edited = next(b for b in disk.blocks if "hl-1v1" in disk.lines[b.start])
    assert disk.likeness("- hl-1v1 words of 1", edited) >= SIMILAR
    assert [j for j, _ in disk.alike_blocks("- hl-1v1 words of 1", [edited])] == [0]
