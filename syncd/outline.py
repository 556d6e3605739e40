"""Logseq outlines: template output into blocks, blocks into page lines, page text into blocks.

A Logseq page is a list of blocks: a line `<tabs>- text` starts a block at depth len(tabs), and
its text continues on lines indented with the same tabs plus two spaces. Parsing keeps line
numbers only, never rewritten text, so that syncd can change one block of a page and leave every
other byte as the user (or Logseq) wrote it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from syncd.templates import LINE_BREAK

_BULLET = re.compile(r"^(\t*|[ ]*)-(?: |$)")
LOGSEQ_OWN_PROPERTY = re.compile(r"^\s*(id|collapsed)::")


@dataclass(frozen=True)
class Block:
    """A block as a template described it: depth below its parent, and text (may hold '\\n')."""

    depth: int
    text: str


def template_blocks(output: str) -> list[Block]:
    """Given a template's output, return its blocks: each non-blank line is one, its leading
    indentation (tabs or spaces) says how deep it sits, and a leading `- ` is the bullet."""
    blocks: list[Block] = []
    widths: list[int] = []  # indentation width of each open ancestor
    for line in output.split("\n"):
        if not line.strip():
            continue
        stripped = line.lstrip(" \t")
        width = len(line[: len(line) - len(stripped)].expandtabs(4))
        while widths and widths[-1] >= width:
            widths.pop()
        depth = len(widths)
        widths.append(width)
        if stripped.startswith("- "):
            stripped = stripped[2:]
        elif stripped == "-":
            stripped = ""
        blocks.append(Block(depth, stripped.rstrip().replace(LINE_BREAK, "\n")))
    return blocks


def block_lines(block: Block, base_depth: int = 0) -> list[str]:
    """Return the page lines of one block: bullet line, then continuation lines; a continuation
    line starting with `-` is escaped as `\\-` so that Logseq keeps it inside the block."""
    indent = "\t" * (base_depth + block.depth)
    first, *rest = block.text.split("\n")
    lines = [f"{indent}- {first}"]
    for line in rest:
        escaped = "\\" + line if line.startswith("-") else line
        lines.append(f"{indent}  {escaped}")
    return lines


def render_blocks(blocks: list[Block], base_depth: int = 0) -> str:
    return "\n".join(line for block in blocks for line in block_lines(block, base_depth))


@dataclass(frozen=True)
class PageBlock:
    """A block found on a page: depth, and the lines [start, end) of it and all its children."""

    depth: int
    start: int
    own_end: int  # end of the block's own lines (its children follow)
    end: int


def bullet_depth(line: str) -> int | None:
    """Return the depth of a line that starts a block, None for any other line."""
    match = _BULLET.match(line)
    if not match:
        return None
    indent = match.group(1)
    return len(indent) if indent.startswith("\t") or not indent else len(indent) // 2


def parse_blocks(lines: list[str]) -> list[PageBlock]:
    """Given a page's lines, return its blocks in order, each with its line span."""
    starts = [(i, d) for i, line in enumerate(lines) if (d := bullet_depth(line)) is not None]
    blocks = []
    for k, (start, depth) in enumerate(starts):
        own_end = starts[k + 1][0] if k + 1 < len(starts) else len(lines)
        end = next((s for s, d in starts[k + 1:] if d <= depth), len(lines))
        blocks.append(PageBlock(depth, start, own_end, end))
    return blocks


def normalise(lines: list[str]) -> str:
    """Return a block's lines as compared to what syncd wrote: Logseq's own additions (`id::`,
    `collapsed::` properties) and trailing whitespace do not count as an edit."""
    kept = [line.rstrip() for line in lines if not LOGSEQ_OWN_PROPERTY.match(line)]
    while kept and not kept[-1]:
        kept.pop()
    return "\n".join(kept)
