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
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime

from syncd.core.decision import LOOKED_FOR, OBSERVED, Act, Action, Facts, Seen, Status, decide
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
from syncd.core.records import HighlightRecord
from syncd.core.render import PageFormat, Style, append_text, render_addition, render_highlights

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
    wrote there, return the page's new text and the records to save: each highlight's action is
    decided (`syncd.core.decision`), then the actions are applied to the page."""
    disk = _Disk(text, style.page_format)
    return _apply(book, _decide(book, fetched, disk, records, style, options), disk, style, now)


@dataclass(frozen=True)
class _Decided:
    """One highlight, what syncd knows of it, and the action decided for it."""

    highlight: Highlight
    rendered: str  # its block as rendered now
    source: str  # digest of `rendered`
    record: HighlightRecord | None
    block: PageBlock | None  # its block on the page, when found there
    action: Action


def _decide(book: Book, fetched: list[Highlight], disk: _Disk,
            records: Mapping[int, HighlightRecord], style: Style,
            options: Options) -> list[_Decided]:
    on = frozenset(name for name, value in asdict(options).items() if value)
    # Blocks on the page as syncd wrote them are theirs; the others may be found by likeness.
    taken = {block.start for rec in records.values()
             if (block := disk.find(rec.block)) is not None}
    decided = []
    unique = list({h.id: h for h in fetched}.values())
    for h, rendered in zip(unique, render_highlights(book, unique, style), strict=True):
        source = digest(rendered)
        record = records.get(h.id)
        seen, block = _look(disk, h, rendered, record, taken)
        facts = Facts(record.status if record else None, seen, h.deleted,
                      record is not None and source != record.source)
        decided.append(_Decided(h, rendered, source, record, block, decide(facts, on)))
    return decided


def _look(disk: _Disk, h: Highlight, rendered: str, record: HighlightRecord | None,
          taken: set[int]) -> tuple[Seen | None, PageBlock | None]:
    """Where the highlight's block is on the page (None: not looked for, the decision does not
    need it). A block found by text or likeness is taken: no other highlight is found there."""
    if record is None:
        if h.deleted:
            return None, None
        found = disk.find(rendered)
        seen = Seen.AS_WRITTEN
        if found is None or found.start in taken:
            found, seen = disk.find_by_text(h.text, taken), Seen.FOUND
        if found is None:
            return Seen.ABSENT, None
        taken.add(found.start)
        return seen, found
    if record.status not in LOOKED_FOR:
        return None, None
    block = disk.find(record.block)
    if block is not None:
        return Seen.AS_WRITTEN, block
    return _lost(disk, record, taken)


def _apply(book: Book, decided: list[_Decided], disk: _Disk, style: Style,
           now: datetime) -> PagePlan:
    """Apply the decided actions to the page: the new text, the records to save, the counts."""
    outcome = Outcome()
    saved: list[HighlightRecord] = []
    replacements: list[tuple[PageBlock, list[str]]] = []
    to_append: list[str] = []
    for d in decided:
        act, h = d.action.act, d.highlight
        if act is Act.APPEND:
            to_append.append(d.rendered)
            saved.append(HighlightRecord(h.id, book.id, d.rendered, d.source, Status.WRITTEN))
            outcome.new += 1
        elif act is Act.ADOPT:
            assert d.block is not None
            saved.append(HighlightRecord(h.id, book.id, disk.norm(d.block), d.source,
                                         Status.WRITTEN))
        elif act is Act.UPDATE:
            assert d.block is not None
            replacements.append((d.block, _updated(disk, d.block, d.rendered)))
            saved.append(HighlightRecord(h.id, book.id, d.rendered, d.source, Status.WRITTEN))
            outcome.updated += 1
        elif act is Act.REMOVE:
            assert d.block is not None
            replacements.append((d.block, []))
            outcome.removed += 1
        if d.record is not None and d.action.then is not None and act is not Act.UPDATE:
            saved.append(replace(d.record, status=d.action.then))
        outcome.conflicts += act is Act.CONFLICT
        outcome.kept_out += act in (Act.KEEP_OUT, Act.MARK_DELETED) and not h.deleted

    lines = disk.lines
    for block, new_lines in sorted(replacements, key=lambda item: -item[0].start):
        lines = lines[:block.start] + new_lines + lines[block.end:]
    new_text = "\n".join(lines)
    if to_append:
        # New blocks follow the page's own indentation.
        new_text = append_text(new_text,
                               disk.on_page(render_addition(book, to_append, style, now)))
    return PagePlan(new_text if new_text != "\n".join(disk.lines) else None, saved, outcome)


def _updated(disk: _Disk, block: PageBlock, rendered: str) -> list[str]:
    """The lines of a block rewritten in place with its new text, Logseq's own `id::` and
    `collapsed::` lines kept so that block references still resolve, at the block's depth and in
    the page's indentation."""
    fmt = disk.fmt
    own = rendered.split("\n")
    cut = next((i for i, line in enumerate(own[1:], 1)
                if bullet_depth(line, fmt.indent) is not None), len(own))
    own_lines = _move("\n".join(disk.canonical(block.start, block.own_end)),
                      block.depth, fmt.highlight_depth, fmt.indent).split("\n")
    kept = [line for line in own_lines[1:] if _LOGSEQ_OWN_PROPERTY.match(line)]
    new_block = "\n".join(own[:cut] + kept + own[cut:])
    return disk.on_page(_move(new_block, fmt.highlight_depth, block.depth,
                              fmt.indent)).split("\n")


def observe_page(text: str, records: Mapping[int, HighlightRecord],
                 fmt: PageFormat) -> list[HighlightRecord]:
    """Given a page's text and the records of what syncd wrote there, return the records whose
    status the page now changes (`syncd.core.decision.OBSERVED`): blocks the user edited or
    deleted, or put back as written."""
    disk = _Disk(text, fmt)
    present = {rec.highlight_id: block for rec in records.values()
               if rec.status != Status.REMOVED
               and (block := disk.find(rec.block)) is not None}
    taken = {block.start for block in present.values()}
    changed = []
    for record in records.values():
        if record.status == Status.REMOVED:
            continue
        seen = Seen.AS_WRITTEN if record.highlight_id in present \
            else _lost(disk, record, taken)[0]
        status = decide(Facts(record.status, seen, False, False), rules=OBSERVED).then
        if status is not None and status != record.status:
            changed.append(replace(record, status=status))
    return changed


def on_page(text: str, records: Mapping[int, HighlightRecord],
            fmt: PageFormat) -> list[HighlightRecord]:
    """Given a page's text and records of blocks syncd meant to write there, return those whose
    block is on the page as meant (indentation and trailing white space aside)."""
    disk = _Disk(text, fmt)
    return [rec for rec in records.values()
            if rec.status == Status.WRITTEN and disk.find(rec.block) is not None]


def page_title_of(text: str) -> str | None:
    """Return the `title::` property of a page's first line, if it has one."""
    first = text.split("\n", 1)[0]
    return first[len("title::"):].strip() if first.startswith("title::") else None


def _lost(disk: _Disk, record: HighlightRecord,
          taken: set[int]) -> tuple[Seen, PageBlock | None]:
    """A block syncd wrote is no longer on the page as written: is a block alike there (the
    user's edit, taken), or none (deleted)?"""
    similar = disk.find_similar(record.block, taken)
    if similar is None:
        return Seen.ABSENT, None
    taken.add(similar.start)
    return Seen.SIMILAR, similar


def new_page_records(book: Book, fetched: list[Highlight], style: Style
                     ) -> tuple[list[str], list[HighlightRecord]]:
    """Return the rendered blocks of a new page's highlights and the records for them: the
    highlights the decision appends to an empty page."""
    kept = [h for h in {h.id: h for h in fetched}.values()
            if decide(Facts(None, None if h.deleted else Seen.ABSENT, h.deleted, False)).act
            is Act.APPEND]
    blocks = render_highlights(book, kept, style)
    return blocks, [HighlightRecord(h.id, book.id, rendered, digest(rendered), Status.WRITTEN)
                    for h, rendered in zip(kept, blocks, strict=True)]
