"""Logseq outlines: template output into blocks, blocks into page lines, page text into blocks.

A Logseq page is a list of blocks: a line `<tabs>- text` starts a block at depth len(tabs), and
its text continues on lines indented with the same tabs plus two spaces. A page may be indented
with two or four spaces a level instead of a tab (Logseq's `:export/bullet-indentation`): each
page's own unit is found (`detect_indent`), and blocks move between units (`reindent`). Parsing
keeps line numbers only, never rewritten text, so that syncd can change one block of a page and
leave every other byte as the user (or Logseq) wrote it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from syncd.core.templates import LINE_BREAK

_BULLET = re.compile(r"^(\t*|[ ]*)-(?: |$)")
_HEADING = re.compile(r"^#{1,6}(?: |$)")
# Continuation lines that Logseq's parser (mldoc) would read as a new block, written with a
# backslash before their first non-blank character so that the text stays in its block: a `-`
# list item (`- x`, `-` alone), also indented by spaces or tabs (Reader's nested lists), and a
# heading (`#`s then a space, a tab or nothing), indented or not; and, as always, any line
# starting with `-`. mldoc keeps `*`, `+` and numbered items (`1.`, `1)`) in the block as a
# list, and the Readwise export writes them as they are: left alone.
_NEEDS_ESCAPE = re.compile(r"^(?:-|[ \t]*(?:-|#+)(?:[ \t]|$))")
LOGSEQ_OWN_PROPERTY = re.compile(r"^\s*(id|collapsed)::")
LOGSEQ_ID = re.compile(r"^\s*id::[ \t]*(\S+)")
# Obsidian's block id: a `^` and letters, digits or dashes at the end of a block's text, after
# white space (Obsidian adds a random one, `^6a1b2c`, when a block is first linked to).
OBSIDIAN_ID = re.compile(r"[ \t]\^([A-Za-z0-9-]+)[ \t]*$")
# Every id at a line's end: syncd's `^rw5` after text that itself ends like one (`x ^2`).
OBSIDIAN_IDS = re.compile(r"(?:[ \t]\^[A-Za-z0-9-]+)+[ \t]*$")


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


def block_lines(block: Block, base_depth: int = 0, unit: str = "\t") -> list[str]:
    """Return the page lines of one block: bullet line, then continuation lines indented by two
    spaces more; a continuation line that would start a block of its own (a `-` list item or a
    heading, indented or not) gets a backslash before its marker (`\\-`, `  \\- x`) so that it
    stays inside the block. `unit` is one level of indentation."""
    indent = unit * (base_depth + block.depth)
    if "\n" not in block.text:  # one line (most blocks)
        return [f"{indent}- {block.text}"]
    first, *rest = block.text.split("\n")
    lines = [f"{indent}- {first}"]
    for line in rest:
        if _NEEDS_ESCAPE.match(line):
            blank = len(line) - len(line.lstrip(" \t"))
            line = f"{line[:blank]}\\{line[blank:]}"
        lines.append(f"{indent}  {line}")
    return lines


def render_blocks(blocks: list[Block], base_depth: int = 0, unit: str = "\t") -> str:
    return "\n".join([line for block in blocks for line in block_lines(block, base_depth, unit)])


@dataclass(frozen=True)
class PageBlock:
    """A block found on a page: depth, and the lines [start, end) of it and all its children."""

    depth: int
    start: int
    own_end: int  # end of the block's own lines (its children follow)
    end: int


def bullet_depth(line: str, unit: str = "\t") -> int | None:
    """Return the depth of a line that starts a block, None for any other line. Tabs count one
    level each; spaces count one level per `unit` of spaces (two when the unit is a tab). With a
    unit of spaces (Obsidian's four), a `- ` indented by a part of a unit is text, not a block:
    Readwise continues a highlight with 2 spaces and a note with 6, and writes a list line of
    the highlight's text (`  - ChatGPT`) as it is."""
    match = _BULLET.match(line)
    if not match:
        return None
    indent = match.group(1)
    if indent.startswith("\t") or not indent:
        return len(indent)
    if unit.startswith(" "):
        return None if len(indent) % len(unit) else len(indent) // len(unit)
    return len(indent) // 2


def parse_blocks(lines: list[str], unit: str = "\t") -> list[PageBlock]:
    """Given a page's lines, return its blocks in order, each with its line span. A Markdown
    heading at the start of a line ends the block before it and belongs to none."""
    marks = []  # (line, depth); depth None for a heading
    for i, line in enumerate(lines):
        depth = bullet_depth(line, unit)
        if depth is not None or _HEADING.match(line):
            marks.append((i, depth))
    spans: list[tuple[int, int, int]] = []  # depth, start, own_end
    ends: list[int] = []
    open_blocks: list[int] = []  # indices into spans of blocks not ended yet, deeper last
    for k, (start, depth) in enumerate(marks):
        # A heading ends every block; a bullet ends those as deep as it or deeper.
        while open_blocks and (depth is None or spans[open_blocks[-1]][0] >= depth):
            ends[open_blocks.pop()] = start
        if depth is not None:
            own_end = marks[k + 1][0] if k + 1 < len(marks) else len(lines)
            open_blocks.append(len(spans))
            spans.append((depth, start, own_end))
            ends.append(len(lines))
    return [
        PageBlock(depth, start, own_end, end)
        for (depth, start, own_end), end in zip(spans, ends, strict=True)
    ]


def normalise(lines: list[str], *, obsidian: bool = False) -> str:
    """Return a block's lines as compared to what syncd wrote: Logseq's own additions (`id::`,
    `collapsed::` properties) or, in Obsidian (`obsidian`), block ids (`^rw123`, `^6a1b2c` at
    a line's end), and trailing whitespace do not count as an edit."""
    if obsidian:  # `id::` is text there
        kept = [OBSIDIAN_IDS.sub("", line.rstrip()) for line in lines]
    else:
        kept = [line.rstrip() for line in lines if not LOGSEQ_OWN_PROPERTY.match(line)]
    while kept and not kept[-1]:
        kept.pop()
    return "\n".join(kept)


def detect_indent(lines: list[str], default: str) -> str:
    """Return a page's unit of indentation: a tab, or the spaces of its least indented nested
    bullet (Logseq re-saves pages with two or four); `default` for a page without nesting.
    When a page holds both as much, the `default`'s kind wins. With a `default` of spaces
    (Obsidian's four), a bullet indented by a part of it is text of a block (see
    `bullet_depth`), not nesting, and so makes the page's unit spaces, as does any bullet
    indented by a whole number of it, however many lines the user indented with tabs
    (Obsidian's own setting; Obsidian never re-indents a page): each tab still counts one
    level (see `bullet_depth`)."""
    tabs = 0
    widths: list[int] = []
    part = False  # a bullet indented by a part of a `default` of spaces: text
    for line in lines:
        match = _BULLET.match(line)
        if match and match.group(1):
            if match.group(1).startswith("\t"):
                tabs += 1
            elif not default.startswith(" ") or len(match.group(1)) % len(default) == 0:
                widths.append(len(match.group(1)))
            else:
                part = True
    if not tabs and not widths:
        return default
    if default.startswith(" ") and (widths or part):
        return " " * min(widths, default=len(default))
    if tabs > len(widths) or (tabs == len(widths) and default == "\t"):
        return "\t"
    return " " * min(widths)


def reindent(lines: list[str], unit: str, to: str) -> list[str]:
    """Return lines of blocks indented with `unit` a level as indented with `to`: each bullet
    line's indentation, and a continuation line's indentation up to its block's, are replaced;
    every other character is kept. A page may mix tabs and spaces (a block typed with a tab
    in a page Logseq saved with two spaces): each bullet is read at its own depth (see
    `bullet_depth`), its continuation lines by its own indentation."""
    other = " " if unit == "\t" else "\t"
    if unit == to and not any(line.startswith(other) for line in lines):
        return list(lines)  # nothing indented otherwise: as it is
    out = []
    depth: int | None = None  # the depth of the block the line is in
    indent = ""  # that block's bullet's own indentation
    for line in lines:
        match = _BULLET.match(line)
        if match and (bullet := bullet_depth(line, unit)) is not None:
            depth, indent = bullet, match.group(1)
            out.append(to * depth + line[len(indent) :])
        elif _HEADING.match(line):
            depth = None
            out.append(line)
        elif depth and line.startswith(indent):
            out.append(to * depth + line[len(indent) :])
        else:
            out.append(line)
    return out


def own_end(lines: list[str], unit: str) -> int:
    """Given a block's lines (its bullet line first), return where its own lines end: at its
    first child's bullet line, or at the end."""
    return next(
        (i for i, line in enumerate(lines[1:], 1) if bullet_depth(line, unit) is not None),
        len(lines),
    )


def block_id_of(lines: list[str], end: int, *, logseq: bool) -> str | None:
    """Given a block's lines and the end of its own lines, return the id the block carries:
    Logseq's `id::` property, or Obsidian's `^id` at the end of its own text; None without."""
    if logseq:
        return next((m.group(1) for line in lines[1:end] if (m := LOGSEQ_ID.match(line))), None)
    last = next((line for line in reversed(lines[:end]) if line.strip()), "")
    match = OBSIDIAN_ID.search(last)
    return match.group(1) if match else None


def with_block_id(lines: list[str], end: int, block_id: str, *, logseq: bool) -> list[str]:
    """Given a block's lines and the end of its own lines, return them carrying `block_id`:
    in Logseq an `id::` property line right after the block's first line (Logseq's order is
    the first line, the properties, then the rest of the text); in Obsidian ` ^<id>` at the end
    of the block's own text (its last non-blank line before its children)."""
    if logseq:
        first = lines[0]
        indent = first[: len(first) - len(first.lstrip(" \t"))]
        return [first, f"{indent}  id:: {block_id}", *lines[1:]]
    last = next((i for i in range(end - 1, -1, -1) if lines[i].strip()), 0)
    return [*lines[:last], f"{lines[last].rstrip()} ^{block_id}", *lines[last + 1 :]]


def carry_child_ids(old: list[str], new: list[str], unit: str) -> list[str]:
    """Obsidian: given the child lines of a block as on the page (`old`) and as rewritten
    (`new`), both at the same depth, return `new` with the ids an editor gave old children
    (`    - Note: … ^n0te1`, at the end of the child's last line) on the new child of the same
    field (the text before its first `:`). A child whose field is gone stays as it was, id and
    all, after the others: a link to it must keep resolving."""
    carried = [*new]
    kept: list[str] = []
    ends = {_field(new[start]): end for start, end in _items(new, unit)}
    for start, end in _items(old, unit):
        item = old[start:end]
        last = max((i for i, line in enumerate(item) if line.strip()), default=0)
        ids = OBSIDIAN_IDS.search(item[last])
        if ids is None:
            continue
        target = ends.get(_field(item[0]))
        if target is None:
            kept += item[: last + 1]
            continue
        at = max(i for i in range(target) if carried[i].strip() or i == 0)
        if OBSIDIAN_IDS.search(carried[at]) is None:
            carried[at] = carried[at].rstrip() + ids.group(0).rstrip()
    return carried + kept


def _items(lines: list[str], unit: str) -> list[tuple[int, int]]:
    """Where the child items among `lines` are: [start, end), each from a bullet to the next."""
    starts = [i for i, line in enumerate(lines) if bullet_depth(line, unit) is not None]
    return list(zip(starts, [*starts[1:], len(lines)][: len(starts)], strict=True))


def _field(line: str) -> str:
    return line.strip().partition(":")[0]
