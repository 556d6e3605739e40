"""A page's blocks, indexed for finding what syncd wrote there. Pure.

Blocks are compared as syncd writes them: indented with the format's unit, at highlight depth,
without block ids (Logseq's `id::` and `collapsed::` properties, Obsidian's `^id`) and trailing
white space, whatever the page's own indentation. Re-indenting a page, stripping trailing
spaces or giving a block an id is not an edit. A block syncd wrote that is no longer on the page
as written is looked for by likeness (`SIMILAR`): found, it is the user's edit of it. In
Obsidian a chapter heading (`###` and deeper at a line's start) is a block too: the one a
heading highlight is written as.
"""

from __future__ import annotations

import difflib
import re

from syncd.core.outline import (
    OBSIDIAN_IDS,
    PageBlock,
    block_id_of,
    detect_indent,
    normalise,
    parse_blocks,
    reindent,
    with_block_id,
)
from syncd.core.render import LOGSEQ, PageFormat, block_id

_CHAPTER = re.compile(r"^#{3,6} ")  # as `render_obsidian_highlight` writes heading highlights
_LOCATION_SUFFIX = re.compile(r" \(\[[^\]]*\]\(\S*\)\)$")
SIMILAR = 0.6  # how alike a block must stay to count as the user's edit rather than a deletion


def highlight_text(lines: list[str]) -> str:
    """Return the text of a highlight block's own lines, without bullet, indentation and
    location link, for recognising it by its words."""
    if not lines:
        return ""
    parts = [lines[0].lstrip("\t ")[1:].lstrip(" ")]
    for line in lines[1:]:
        rest = line.lstrip("\t ")
        parts.append(rest[1:] if rest.startswith(("\\-", "\\#")) else rest)
    text = OBSIDIAN_IDS.sub("", "\n".join(parts).rstrip())  # an Obsidian block id is not text
    return _LOCATION_SUFFIX.sub("", text)


def _words(text: str) -> str:
    return " ".join(text.split())


class PageIndex:
    """A page's blocks, indexed for finding what syncd wrote (see the module doc)."""

    def __init__(self, text: str, fmt: PageFormat) -> None:
        self.fmt = fmt
        self.obsidian = fmt.name != LOGSEQ.name  # its block ids are `^id` at a line's end
        self.text = text
        self.lines = text.split("\n")
        self.unit = detect_indent(self.lines, fmt.indent)
        self.blocks = parse_blocks(self.lines, self.unit)
        if self.obsidian:  # a chapter heading (`###`, `####`...) is a heading highlight's block
            headings = [i for i, line in enumerate(self.lines) if _CHAPTER.match(line)]
            self.blocks = sorted(
                [*self.blocks, *(PageBlock(0, i, i + 1, i + 1) for i in headings)],
                key=lambda block: block.start,
            )
        self.by_norm: dict[str, PageBlock] = {}
        for block in self.blocks:
            self.by_norm.setdefault(self.norm(block), block)

    def canonical(self, start: int, end: int) -> list[str]:
        """Lines [start, end) of the page, indented with the format's unit."""
        return reindent(self.lines[start:end], self.unit, self.fmt.indent)

    def on_page(self, text: str) -> str:
        """Text indented with the format's unit, as indented on this page."""
        return "\n".join(reindent(text.split("\n"), self.fmt.indent, self.unit))

    def norm(self, block: PageBlock) -> str:
        """A block's text as if it sat where syncd writes highlights, for comparison."""
        return move(
            normalise(self.canonical(block.start, block.end), obsidian=self.obsidian),
            block.depth,
            self.fmt.highlight_depth,
            self.fmt.indent,
        )

    def find(self, written: str) -> PageBlock | None:
        """The block on the page that is `written` (a block as syncd wrote it), untouched."""
        return self.by_norm.get(normalise(written.split("\n"), obsidian=self.obsidian))

    def with_id(self, block: PageBlock, highlight_id: int) -> list[str] | None:
        """The block's lines on the page given the highlight's stable id; None when the block
        carries an id already (syncd's, or one Logseq or Obsidian gave it: references to it
        must keep resolving)."""
        lines = self.lines[block.start : block.end]
        end = block.own_end - block.start
        logseq = not self.obsidian
        if block_id_of(lines, end, logseq=logseq) is not None:
            return None
        return with_block_id(lines, end, block_id(highlight_id, self.fmt), logseq=logseq)

    def own_text(self, block: PageBlock) -> str:
        return highlight_text(self.lines[block.start : block.own_end])

    def find_by_text(self, text: str, taken: set[int]) -> PageBlock | None:
        wanted = _words(text)
        return next(
            (b for b in self.blocks if b.start not in taken and _words(self.own_text(b)) == wanted),
            None,
        )

    def likeness(self, written: str, block: PageBlock) -> float:
        """How alike a block's first line is to that of `written` (0 to 1; `SIMILAR` and up:
        the user's edit of it)."""
        first = self._first_line(written.split("\n", 1)[0])
        line = self._first_line(self.lines[block.start])
        return difflib.SequenceMatcher(None, first, line, autojunk=False).ratio()

    def holds(self, written: str, block: PageBlock) -> bool:
        """Whether a block's first line holds that of `written` whole (words typed around it)."""
        first = self._first_line(written.split("\n", 1)[0])
        return bool(first) and first in self._first_line(self.lines[block.start])

    def _first_line(self, line: str) -> str:
        """A block's first line as likeness reads it: without its bullet and indent, nor an
        Obsidian block id at its end (`^id`, which Obsidian adds: not the user's words; world
        seed 3869551496: a short text with words appended read as deleted with the id)."""
        line = line.lstrip("\t- ")
        return OBSIDIAN_IDS.sub("", line) if self.obsidian else line

    def alike_blocks(self, written: str, blocks: list[PageBlock]) -> list[tuple[int, float]]:
        """The blocks (their index in `blocks`) whose first line is `SIMILAR` or more alike that
        of `written`, with the likeness."""
        first = self._first_line(written.split("\n", 1)[0])
        found = []
        for j, block in enumerate(blocks):
            line = self._first_line(self.lines[block.start])
            matcher = difflib.SequenceMatcher(None, first, line, autojunk=False)
            if matcher.real_quick_ratio() >= SIMILAR and (alike := matcher.ratio()) >= SIMILAR:
                found.append((j, alike))
        return found


def move(text: str, depth: int, to: int, unit: str) -> str:
    """Re-indent a block's text from `depth` to depth `to`."""
    if depth == to:
        return text
    lines = text.split("\n")
    if depth > to:
        cut = unit * (depth - to)
        return "\n".join(line.removeprefix(cut) for line in lines)
    return "\n".join(unit * (to - depth) + line for line in lines)
