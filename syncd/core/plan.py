"""The sync plan for one page: given what Readwise now holds, what syncd last wrote and what is
on disk, decide the page's new text and what to remember. Pure: no files, no clock, no network.

The rules are the README's "Your edits: what syncd does": a block syncd wrote and the user did
not touch may be updated or removed; a block the user edited or deleted is never written again;
new highlights are appended under one dated header; anything else on the page is kept byte for
byte.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from itertools import dropwhile

from syncd.core.decision import (
    LOOKED_FOR,
    Act,
    Action,
    Facts,
    Option,
    Seen,
    Status,
    decide,
)
from syncd.core.matching import match_lost
from syncd.core.model import Book, Highlight
from syncd.core.outline import (
    LOGSEQ_OWN_PROPERTY,
    PageBlock,
    block_id_of,
    carry_child_ids,
    own_end,
    with_block_id,
)
from syncd.core.page_index import PageIndex, move
from syncd.core.plan_terms import Options, Outcome
from syncd.core.push_plan import HighlightPush, PushFacts, Skipped, plan_pushes
from syncd.core.records import HighlightRecord, digest
from syncd.core.render import (
    Style,
    append_text,
    block_id,
    identified,
    render_addition,
    render_highlights,
)


@dataclass(frozen=True)
class PagePlan:
    text: str | None  # the page's new text; None when it stays as it is
    records: list[HighlightRecord] = field(default_factory=list)
    outcome: Outcome = field(default_factory=Outcome)
    pushes: list[HighlightPush] = field(default_factory=list)  # two-way sync's decisions
    skipped: list[Skipped] = field(default_factory=list)  # edits not pushed, and why


def plan_page(
    book: Book,
    fetched: list[Highlight],
    text: str,
    records: Mapping[int, HighlightRecord],
    style: Style,
    now: datetime,
    options: Options,
    push: PushFacts | None = None,
) -> PagePlan:
    """Given a book's fetched highlights, the page's current text and the records of what syncd
    wrote there, return the page's new text and the records to save: each highlight's action is
    decided (`syncd.core.decision`), then the actions are applied to the page. With `push`
    (two-way sync), the highlights the user edited are merged with Readwise's first
    (`syncd.core.push_plan`)."""
    disk = PageIndex(text, style.page_format)
    decided, skipped = _decide(book, fetched, disk, records, style, options, push)
    plan = _apply(book, decided, disk, style, now, ids=options.block_ids)
    return replace(plan, skipped=skipped)


@dataclass(frozen=True)
class _Decided:
    """One highlight, what syncd knows of it, and the action decided for it."""

    highlight: Highlight
    rendered: str  # its block as rendered now
    source: str  # digest of `rendered`
    record: HighlightRecord | None
    block: PageBlock | None  # its block on the page, when found there
    action: Action
    push: HighlightPush | None = None  # two-way sync decided it instead


def _decide(
    book: Book,
    fetched: list[Highlight],
    disk: PageIndex,
    records: Mapping[int, HighlightRecord],
    style: Style,
    options: Options,
    push: PushFacts | None = None,
) -> tuple[list[_Decided], list[Skipped]]:
    on = _enabled(options)
    # Blocks on the page as syncd wrote them are theirs; the others may be found by likeness.
    taken = {block.start for rec in records.values() if (block := disk.find(rec.block)) is not None}
    decided = []
    unique = list({h.id: h for h in fetched}.values())
    pushes: dict[int, HighlightPush] = {}
    skipped: list[Skipped] = []
    if push is not None:
        pushes, skipped = plan_pushes(book, unique, disk, records, style, push, taken)
    # The blocks syncd wrote that are not on the page as written, paired with their edits
    lost = [
        record
        for h in unique
        if (record := records.get(h.id)) is not None
        and record.status in LOOKED_FOR
        and record.status != Status.DELETED
        and h.id not in pushes
        and disk.find(record.block) is None
    ]
    edits = match_lost(disk, lost, taken)
    for h, rendered in zip(unique, render_highlights(book, unique, style), strict=True):
        source = digest(rendered)
        record = records.get(h.id)
        if h.id in pushes:
            two_way = pushes[h.id]
            keep = Action(Act.KEEP, None, "two-way sync")
            decided.append(_Decided(h, rendered, source, record, two_way.block, keep, two_way))
            continue
        seen, block = _look(disk, h, rendered, record, taken, edits)
        facts = Facts(
            record.status if record else None,
            seen,
            h.deleted_in_readwise,
            record is not None and source != record.source,
        )
        decided.append(_Decided(h, rendered, source, record, block, decide(facts, on)))
    return decided, skipped


def _look(
    disk: PageIndex,
    h: Highlight,
    rendered: str,
    record: HighlightRecord | None,
    taken: set[int],
    edits: Mapping[int, PageBlock],
) -> tuple[Seen | None, PageBlock | None]:
    """Where the highlight's block is on the page (None: not looked for, the decision does not
    need it). A block found by text or likeness (`edits`: `match_lost`) is taken: no other
    highlight is found there."""
    if record is None:
        if h.deleted_in_readwise:
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
    if record.status == Status.DELETED:
        return Seen.ABSENT, None  # deleted, and still gone: nothing of it is looked for
    edit = edits.get(h.id)
    if edit is None or edit.start in taken:
        return Seen.ABSENT, None
    taken.add(edit.start)
    return Seen.SIMILAR, edit


def _apply(
    book: Book, decided: list[_Decided], disk: PageIndex, style: Style, now: datetime, *, ids: bool
) -> PagePlan:
    """Apply the decided actions to the page: the new text, the records to save, the counts.
    With `ids` (sync.block_ids), the blocks written carry their highlight's stable id."""
    fmt = style.page_format
    outcome = Outcome()
    saved: list[HighlightRecord] = []
    replacements: list[tuple[PageBlock, list[str]]] = []
    to_append: list[str] = []

    def written(h: Highlight, block: str, source: str) -> None:
        saved.append(HighlightRecord(h.id, book.id, block, source, Status.WRITTEN))

    pushes: list[HighlightPush] = []
    for d in decided:
        act, h, block = d.action.act, d.highlight, d.block
        if d.push is not None:
            two_way = d.push
            pushes.append(two_way)
            record = two_way.record
            if two_way.rewritten is not None:
                rewritten, ours = _rewritten(disk, two_way.block, two_way.rewritten, h.id, ids)
                replacements.append((two_way.block, rewritten))
                if ours and not two_way.conflicts:  # (in conflict, the record keeps a base)
                    record = replace(record, block=identified(two_way.rewritten, h.id, fmt))
                outcome.updated += 1
            saved.append(record)
            outcome.conflicts += bool(two_way.conflicts)
            outcome.pushed += len(two_way.sends)
            continue
        if act is Act.APPEND:
            new = identified(d.rendered, h.id, fmt) if ids else d.rendered
            to_append.append(new)
            written(h, new, d.source)
            outcome.new += 1
        elif act is Act.ADOPT:
            assert block is not None
            if ids and (lines := disk.with_id(block, h.id)) is not None:
                replacements.append((block, lines))
                written(h, identified(disk.norm(block), h.id, fmt), d.source)
            else:
                written(h, disk.norm(block), d.source)
        elif act is Act.UPDATE:
            assert block is not None
            lines, ours = _rewritten(disk, block, d.rendered, h.id, ids)
            replacements.append((block, lines))
            written(h, identified(d.rendered, h.id, fmt) if ours else d.rendered, d.source)
            outcome.updated += 1
        elif act is Act.GIVE_ID:
            assert block is not None and d.record is not None
            if (lines := disk.with_id(block, h.id)) is not None:
                replacements.append((block, lines))
                saved.append(replace(d.record, block=identified(d.record.block, h.id, fmt)))
        elif act is Act.REMOVE:
            assert block is not None
            replacements.append((block, []))
            outcome.removed += 1
        if d.record is not None and d.action.then is not None and act is not Act.UPDATE:
            saved.append(replace(d.record, status=d.action.then))
        outcome.conflicts += act is Act.CONFLICT
        outcome.kept_out += act in (Act.KEEP_OUT, Act.MARK_DELETED) and not h.deleted_in_readwise

    lines = disk.lines
    for block, new_lines in sorted(replacements, key=lambda item: -item[0].start):
        lines = lines[: block.start] + new_lines + lines[block.end :]
    new_text = "\n".join(lines)
    if to_append:
        # New blocks follow the page's own indentation.
        new_text = append_text(new_text, disk.on_page(render_addition(book, to_append, style, now)))
    return PagePlan(new_text if new_text != disk.text else None, saved, outcome, pushes)


def _rewritten(
    disk: PageIndex, block: PageBlock, rendered: str, highlight_id: int, ids: bool
) -> tuple[list[str], bool]:
    """The lines of an untouched block rewritten in place with its highlight's new text, at the
    block's depth and in the page's indentation: the block's Logseq properties (`id::`,
    `collapsed::`) after its own lines, and the id it carried (or, with `ids`, its own), so that
    references to it still resolve; the blank lines after it stay (an Obsidian page's last line
    break). Also whether the block now carries syncd's own id."""
    fmt = disk.fmt
    logseq = not disk.obsidian
    new = rendered.split("\n")
    own_lines = move(
        "\n".join(disk.canonical(block.start, block.own_end)),
        block.depth,
        fmt.highlight_depth,
        fmt.indent,
    ).split("\n")
    kept = [line for line in own_lines[1:] if logseq and LOGSEQ_OWN_PROPERTY.match(line)]
    cut = own_end(new, fmt.indent)
    new = new[:cut] + kept + new[cut:]
    carried = block_id_of(own_lines, len(own_lines), logseq=logseq)
    if not logseq and block.own_end < block.end:  # ids Obsidian gave its Note, its Tags
        children = disk.canonical(block.own_end, block.end)
        old = move("\n".join(children), block.depth, fmt.highlight_depth, fmt.indent)
        new = new[:cut] + carry_child_ids(old.split("\n"), new[cut:], fmt.indent)
    if new[0].startswith("#") and not logseq:
        pass  # an Obsidian heading highlight: no id
    elif carried is not None and not logseq:
        new = with_block_id(new, cut, carried, logseq=False)
    elif carried is None and ids:
        new = with_block_id(new, cut, block_id(highlight_id, fmt), logseq=logseq)
    ours = block_id_of(new, own_end(new, fmt.indent), logseq=logseq) == block_id(highlight_id, fmt)
    span = disk.lines[block.start : block.end]
    blank = len(span) - len(list(dropwhile(lambda line: not line.strip(), reversed(span))))
    lines = disk.on_page(move("\n".join(new), fmt.highlight_depth, block.depth, fmt.indent)).split(
        "\n"
    )
    return lines + span[len(span) - blank :], ours


def nothing_to_plan(
    book: Book,
    fetched: list[Highlight],
    records: Mapping[int, HighlightRecord],
    style: Style,
    options: Options,
) -> bool:
    """Given a book's fetched highlights and the records of what syncd wrote on its page,
    return whether planning against the page as it was when recorded (every block syncd wrote
    as written) would change nothing: every highlight is recorded, and its decision is to keep
    the block and the record as they are. (A book fetched again by the cursor's overlap.)"""
    unique = list({h.id: h for h in fetched}.values())
    if any(h.id not in records for h in unique):
        return False
    on = _enabled(options)
    for h, rendered in zip(unique, render_highlights(book, unique, style), strict=True):
        record = records[h.id]
        seen = Seen.AS_WRITTEN if record.status == Status.WRITTEN else None
        action = decide(
            Facts(record.status, seen, h.deleted_in_readwise, digest(rendered) != record.source), on
        )
        if action.act is Act.GIVE_ID and block_id(h.id, style.page_format) in record.block:
            continue  # it carries its id already
        if action.act is not Act.KEEP or action.then is not None:
            return False
    return True


def _enabled(options: Options) -> frozenset[Option]:
    """The options that are on (an `Options` field is named as its `Option`'s value)."""
    return frozenset(option for option in Option if getattr(options, option.value))


def new_page_records(
    book: Book, fetched: list[Highlight], style: Style, block_ids: bool = False
) -> tuple[list[str], list[HighlightRecord]]:
    """Return the rendered blocks of a new page's highlights and the records for them: the
    highlights the decision appends to an empty page; with `block_ids`, each block carries its
    highlight's stable id (not part of its digest)."""
    # On an empty page the decision turns on whether Readwise deleted the highlight alone:
    # decided once for each, not once per highlight.
    appended = {
        deleted: decide(Facts(None, None if deleted else Seen.ABSENT, deleted, False)).act
        is Act.APPEND
        for deleted in (False, True)
    }
    kept = [h for h in {h.id: h for h in fetched}.values() if appended[bool(h.deleted_in_readwise)]]
    plain = render_highlights(book, kept, style)
    blocks = [
        identified(rendered, h.id, style.page_format) if block_ids else rendered
        for h, rendered in zip(kept, plain, strict=True)
    ]
    return blocks, [
        HighlightRecord(h.id, book.id, block, digest(rendered), Status.WRITTEN)
        for h, block, rendered in zip(kept, blocks, plain, strict=True)
    ]
