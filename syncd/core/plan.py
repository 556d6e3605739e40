"""The sync plan for one page: given what Readwise now holds, what syncd last wrote and what is
on disk, decide the page's new text and what to remember. Pure: no files, no clock, no network.

The rules are SPEC §6: a block syncd wrote and the user did not touch may be updated or removed;
a block the user edited or deleted is never written again; new highlights are appended under one
dated header; anything else on the page is kept byte for byte.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime

from syncd.core.model import Book, Highlight
from syncd.core.outline import (
    LOGSEQ_OWN_PROPERTY as _LOGSEQ_OWN_PROPERTY,
)
from syncd.core.outline import (
    PageBlock,
    bullet_depth,
    detect_indent,
    normalise,
    parse_blocks,
    reindent,
)
from syncd.core.render import PageFormat, Style, append_text, render_addition, render_highlights
from syncd.edges.state import HighlightRecord

_LOCATION_SUFFIX = re.compile(r" \(\[[^\]]*\]\(\S*\)\)$")
SIMILAR = 0.6  # how alike a block must stay to count as the user's edit rather than a deletion


@dataclass(frozen=True)
class Options:
    update_changed_highlights: bool = True
    remove_deleted_highlights: bool = False


@dataclass
class Outcome:
    """What a plan did, in numbers for the summary and `syncd status`."""

    new: int = 0
    updated: int = 0
    removed: int = 0
    kept_out: int = 0  # not added because the user deleted them
    conflicts: int = 0

    def add(self, other: Outcome) -> None:
        for name in vars(self):
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass(frozen=True)
class PagePlan:
    text: str | None  # the page's new text; None when it stays as it is
    records: list[HighlightRecord] = field(default_factory=list)
    outcome: Outcome = field(default_factory=Outcome)


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()[:24]


def highlight_text(lines: list[str]) -> str:
    """Return the text of a highlight block's own lines, without bullet, indentation and
    location link, for recognising it by its words."""
    if not lines:
        return ""
    parts = [lines[0].lstrip("\t ")[1:].lstrip(" ")]
    for line in lines[1:]:
        rest = line.lstrip("\t ")
        parts.append(rest[1:] if rest.startswith(("\\-", "\\#")) else rest)
    return _LOCATION_SUFFIX.sub("", "\n".join(parts).rstrip())


def _words(text: str) -> str:
    return " ".join(text.split())


class _Disk:
    """A page's blocks, indexed for finding what syncd wrote.

    Blocks are compared as syncd writes them (indented with the format's unit, at highlight
    depth, without Logseq's own properties and trailing white space), whatever the page's own
    indentation (`unit`): re-indenting a page or stripping trailing spaces is not an edit."""

    def __init__(self, text: str, fmt: PageFormat) -> None:
        self.fmt = fmt
        self.lines = text.split("\n")
        self.unit = detect_indent(self.lines, fmt.indent)
        self.blocks = parse_blocks(self.lines, self.unit)
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
        return _move(normalise(self.canonical(block.start, block.end)), block.depth,
                     self.fmt.highlight_depth, self.fmt.indent)

    def find(self, written: str) -> PageBlock | None:
        """The block on the page that is `written` (a block as syncd wrote it), untouched."""
        return self.by_norm.get(normalise(written.split("\n")))

    def own_text(self, block: PageBlock) -> str:
        return highlight_text(self.lines[block.start:block.own_end])

    def find_by_text(self, text: str, taken: set[int]) -> PageBlock | None:
        wanted = _words(text)
        return next((b for b in self.blocks
                     if b.start not in taken and _words(self.own_text(b)) == wanted), None)

    def find_similar(self, written: str, taken: set[int]) -> PageBlock | None:
        first = written.split("\n", 1)[0].lstrip("\t- ")
        for block in self.blocks:
            if block.start in taken:
                continue
            line = self.lines[block.start].lstrip("\t- ")
            matcher = difflib.SequenceMatcher(None, first, line, autojunk=False)
            if matcher.real_quick_ratio() >= SIMILAR and matcher.ratio() >= SIMILAR:
                return block
        return None


def _move(text: str, depth: int, to: int, unit: str) -> str:
    """Re-indent a block's text from `depth` to depth `to`."""
    if depth == to:
        return text
    lines = text.split("\n")
    if depth > to:
        cut = unit * (depth - to)
        return "\n".join(line.removeprefix(cut) for line in lines)
    return "\n".join(unit * (to - depth) + line for line in lines)


def plan_page(book: Book, fetched: list[Highlight], text: str,
              records: Mapping[int, HighlightRecord], style: Style, now: datetime,
              options: Options) -> PagePlan:
    """Given a book's fetched highlights, the page's current text and the records of what syncd
    wrote there, return the page's new text and the records to save."""
    fmt = style.page_format
    disk = _Disk(text, fmt)
    outcome = Outcome()
    saved: list[HighlightRecord] = []
    replacements: list[tuple[PageBlock, list[str]]] = []
    to_append: list[str] = []
    taken = {block.start for rec in records.values()
             if (block := disk.find(rec.block)) is not None}

    def remember(h: Highlight, block: str, source: str, status: str) -> None:
        saved.append(HighlightRecord(h.id, book.id, block, source, status))

    unique = list({h.id: h for h in fetched}.values())
    for h, rendered in zip(unique, render_highlights(book, unique, style), strict=True):
        source = digest(rendered)
        record = records.get(h.id)
        if record is None:
            if h.deleted:
                continue
            # Already on the page: a crash after the write, or a page the plugin wrote.
            found = disk.find(rendered)
            if found is None or found.start in taken:
                found = disk.find_by_text(h.text, taken)
            if found is not None:
                taken.add(found.start)
                remember(h, disk.norm(found), source, "written")
            else:
                to_append.append(rendered)
                remember(h, rendered, source, "written")
                outcome.new += 1
            continue
        if record.status in ("deleted", "removed"):
            # The user deleted it (or Readwise did and syncd removed it): it stays out.
            outcome.kept_out += not h.deleted and record.status == "deleted"
            continue
        if record.status in ("edited", "conflict"):
            # The user's block stays; a change in Readwise is shown as a conflict.
            if source != record.source or record.status == "conflict":
                outcome.conflicts += 1
                saved.append(replace(record, status="conflict"))
            continue
        block = disk.find(record.block)
        if block is None:
            status = _lost(disk, record, taken)
            changed = source != record.source
            if status == "edited" and changed:
                status = "conflict"
                outcome.conflicts += 1
            outcome.kept_out += status == "deleted" and not h.deleted
            saved.append(replace(record, status=status))
        elif h.deleted:
            if options.remove_deleted_highlights:
                # Deleted in Readwise and untouched here: removed on request only.
                replacements.append((block, []))
                saved.append(replace(record, status="removed"))
                outcome.removed += 1
        elif source != record.source and options.update_changed_highlights:
            # Changed in Readwise, untouched here: rewritten in place, Logseq's own `id::` and
            # `collapsed::` lines kept so that block references still resolve.
            own = rendered.split("\n")
            cut = next((i for i, line in enumerate(own[1:], 1)
                        if bullet_depth(line, fmt.indent) is not None), len(own))
            own_lines = _move("\n".join(disk.canonical(block.start, block.own_end)),
                              block.depth, fmt.highlight_depth, fmt.indent).split("\n")
            kept = [line for line in own_lines[1:] if _LOGSEQ_OWN_PROPERTY.match(line)]
            new_block = "\n".join(own[:cut] + kept + own[cut:])
            replacements.append((block, disk.on_page(_move(
                new_block, fmt.highlight_depth, block.depth, fmt.indent)).split("\n")))
            remember(h, rendered, source, "written")
            outcome.updated += 1

    lines = disk.lines
    for block, new_lines in sorted(replacements, key=lambda item: -item[0].start):
        lines = lines[:block.start] + new_lines + lines[block.end:]
    new_text = "\n".join(lines)
    if to_append:
        # New blocks follow the page's own indentation.
        new_text = append_text(new_text,
                               disk.on_page(render_addition(book, to_append, style, now)))
    return PagePlan(new_text if new_text != text else None, saved, outcome)


def observe_page(text: str, records: Mapping[int, HighlightRecord],
                 fmt: PageFormat) -> list[HighlightRecord]:
    """Given a page's text and the records of what syncd wrote there, return the records whose
    status the page now changes: blocks the user edited or deleted (or put back as written)."""
    disk = _Disk(text, fmt)
    present = {rec.highlight_id: block for rec in records.values()
               if rec.status != "removed" and (block := disk.find(rec.block)) is not None}
    taken = {block.start for block in present.values()}
    changed = []
    for record in records.values():
        if record.status == "removed":
            continue
        if record.highlight_id in present:
            status = "written"
        else:
            status = _lost(disk, record, taken)
            if status == "edited" and record.status == "conflict":
                status = "conflict"
        if status != record.status:
            changed.append(replace(record, status=status))
    return changed


def on_page(text: str, records: Mapping[int, HighlightRecord],
            fmt: PageFormat) -> list[HighlightRecord]:
    """Given a page's text and records of blocks syncd meant to write there, return those whose
    block is on the page as meant (indentation and trailing white space aside)."""
    disk = _Disk(text, fmt)
    return [rec for rec in records.values()
            if rec.status == "written" and disk.find(rec.block) is not None]


def page_title_of(text: str) -> str | None:
    """Return the `title::` property of a page's first line, if it has one."""
    first = text.split("\n", 1)[0]
    return first[len("title::"):].strip() if first.startswith("title::") else None


def _lost(disk: _Disk, record: HighlightRecord, taken: set[int]) -> str:
    """A block syncd wrote is no longer on the page as written: was it edited or deleted?"""
    similar = disk.find_similar(record.block, taken)
    if similar is None:
        return "deleted"
    taken.add(similar.start)
    return "edited"


def new_page_records(book: Book, fetched: list[Highlight], style: Style
                     ) -> tuple[list[str], list[HighlightRecord]]:
    """Return the rendered blocks of a new page's highlights and the records for them."""
    kept = [h for h in {h.id: h for h in fetched}.values() if not h.deleted]
    blocks = render_highlights(book, kept, style)
    return blocks, [HighlightRecord(h.id, book.id, rendered, digest(rendered), "written")
                    for h, rendered in zip(kept, blocks, strict=True)]
