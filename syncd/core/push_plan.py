"""What two-way sync (issue 19) decides for one page's highlights: what to push to Readwise,
what to pull onto the page, what is a conflict. Pure.

For each highlight the user edited (its record `edited` or `conflict`: the page showed the
block changed) whose block is located on the book's page (at highlight depth, by likeness to
the block syncd last wrote, exactly once), three values of each field are read: the base (the
block syncd last wrote or agreed, `HighlightRecord.block`; a field's value a push made by a
sync killed before its record, `agreed_values`), the vault (the located block) and Readwise's
(the fetched highlight), and merged field by field (`syncd.core.three_way`):

- only the vault changed: pushed (when the field is in `sync.push`);
- only Readwise changed: pulled (the block rewritten with the merged values);
- both to the same value: agreed (the record takes the block as it is);
- both, differently: a conflict (nothing pushed, nothing overwritten; the vault keeps its
  value) until `syncd resolve` keeps one side. The highlight's other fields are pushed and
  pulled beside it (the record's block: the base of the fields in conflict, the merged values
  of the others), unless a note is one `.word` (Readwise's inline tag) on a side.

Never pushed: a block equal to an older block of the highlight's record (a restored copy), a
field whose value is that field's in an older block and not the base's (a restore, then an edit
of another field: Readwise's value stands and the block shows it, see `_untyped_to_base`), the
removal of a tag an older block lacked, all such tags gone (a restore took them, or the user:
the tags are a conflict, see `_restored_away`), one whose fields cannot be read without
guessing (`syncd.core.fields.read_fields`), one located twice, one that may be another
highlight's edit as well (told in `syncd status`, as the others above that leave the user's
edit standing are), a deleted block, a field not in
`sync.push` (the highlight is then left as it was: the user's edit stays, as in a one-way
sync).

After a push the record's block is the vault's block and its source the digest of rendering
the values Readwise now holds, so the next sync writes no file and pushes nothing.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime

from syncd.core.decision import Status
from syncd.core.fields import (
    FIELDS,
    Fields,
    emptied_lines,
    fields_of,
    read_fields,
    shown_lossy,
)
from syncd.core.matching import best_pairs, held_whole
from syncd.core.model import Book, Highlight
from syncd.core.outline import PageBlock, normalise
from syncd.core.page_index import SIMILAR, PageIndex
from syncd.core.records import FieldConflict, FieldValue, HighlightRecord, Push, digest
from syncd.core.render import OBSIDIAN, Style, render_highlights
from syncd.core.three_way import (
    FieldMerge,
    Outcome,
    merge_field,
    merge_fields,
    merge_tags,
    readwise_view,
)

KEEP_SIDES = ("vault", "readwise")  # `syncd resolve HIGHLIGHT --keep ...`
EDITED = (Status.EDITED, Status.CONFLICT)  # records whose block the user changed
# ... and those a push plan looks at: a block rewritten whole reads as deleted to likeness,
# but its location link still tells it.
LOOKED_AT = (*EDITED, Status.DELETED)
# A highlight's location link, ending its first line: ` ([Location 12](https://...))`.
_LINK = re.compile(r" \(\[[^\]]*\]\(\S+\)\)$")
# A line of a text that is an indented list item; in Obsidian, any list item (its export shows
# a text's lines indented under the highlight's bullet, as a block typed there would be)
_LIST_LINE = {False: re.compile(r"[ \t]+- "), True: re.compile(r"[ \t]*- ")}


@dataclass(frozen=True)
class PushFacts:
    """What a page's push plan needs besides the page and its records: the fields that flow
    back (`sync.push`; empty: none), the page's path (for conflicts), the older blocks of the
    page's highlights (`older_wanted`), the conflicts the user resolved (highlight -> the
    side kept), the pushes a kill left unrecorded that Readwise holds (`agreed_values`:
    highlight -> field -> (before, after)), and the values of the pushes a kill left whose fate
    cannot be told (`settled`: `sent`; highlight -> field -> value)."""

    fields: frozenset[str]
    page: str
    older: Mapping[int, frozenset[str]] = field(default_factory=dict)
    keep: Mapping[int, str] = field(default_factory=dict)
    agreed: Mapping[int, Mapping[str, tuple[FieldValue, FieldValue]]] = field(default_factory=dict)
    unsure: Mapping[int, Mapping[str, FieldValue]] = field(default_factory=dict)


@dataclass(frozen=True)
class Send:
    """One field to send to Readwise: its value there now (`before`) and the one to send;
    `seen`: the `updated_at` of the copy of the highlight the plan read `before` from."""

    highlight_id: int
    field: str
    before: FieldValue
    after: FieldValue
    seen: str | None = None


@dataclass(frozen=True)
class HighlightPush:
    """What two-way sync decided for one edited highlight: the fields to send, the conflicts,
    the block to put on the page instead of the user's (a pull; None: it stays), and the record
    to remember once every send is made."""

    highlight_id: int
    block: PageBlock
    sends: tuple[Send, ...]
    conflicts: tuple[FieldConflict, ...]
    rewritten: str | None
    record: HighlightRecord


@dataclass(frozen=True)
class Skipped:
    """An edit two-way sync leaves alone, and why (a line for the log); `lasting`: `syncd
    status` tells of it until it changes (a highlight deleted in Readwise)."""

    highlight_id: int
    why: str
    lasting: bool = False


@dataclass(frozen=True)
class Unsure:
    """A block on the page that may be this highlight's edit or `other`'s (alike both, a digit
    apart): pushed to neither, and `syncd status` says so while the user's edit stands."""

    other: int


def older_wanted(records: Mapping[int, HighlightRecord]) -> list[int]:
    """The highlights whose older blocks a push plan needs: none when the user edited none;
    else every one's. An edited highlight's own tell a restore from its edit; the others' tell
    another highlight's old block put back (a paste, a file-sync tool, a copy pasted twice
    before Readwise's change was pulled into one copy) from this one's edit, alike as it may
    be (`_claims`; world seeds 2058060340, 2058060326 and 2844986505: an unedited highlight's
    old block, more alike an edited or deleted one's record than its edit, was taken for that
    edit, its text sent)."""
    if not any(r.status in LOOKED_AT for r in records.values()):
        return []
    return list(records)


def plan_pushes(
    book: Book,
    fetched: list[Highlight],
    disk: PageIndex,
    records: Mapping[int, HighlightRecord],
    style: Style,
    facts: PushFacts,
    taken: set[int],
) -> tuple[dict[int, HighlightPush], list[Skipped]]:
    """Given a book's (unique) fetched highlights, its page, the records of what syncd wrote
    there and the facts above, return what two-way sync decided for each edited highlight it
    handles (by id; the others are decided as in a one-way sync) and why some were skipped
    (one line each, for the log). The blocks located are added to `taken`."""
    decided: dict[int, HighlightPush] = {}
    skipped: list[Skipped] = []
    if not facts.fields:
        return decided, skipped
    fmt = style.page_format
    claims = _claims(disk, records, taken, fmt.highlight_depth, facts.older)
    for h in fetched:
        record = records.get(h.id)
        # A push a kill left that Readwise holds (`agreed`) is the base of its field, though the
        # record still holds the block before it: that block, shown again whole (an undo, a
        # restore), is no longer as syncd wrote it.
        agreed = facts.agreed.get(h.id, {})
        if record is None or (record.status not in LOOKED_AT and not agreed):
            continue
        if h.deleted_in_readwise:
            if record.status in EDITED and disk.find(record.block) is None:
                why = f"highlight {h.id} ({book.title}) is deleted in Readwise; its edit stays "
                skipped.append(Skipped(h.id, why + "in the vault", lasting=True))
            continue
        found: PageBlock | int | Unsure | None = disk.find(record.block)
        if found is not None and record.status is not Status.CONFLICT and not agreed:
            continue  # as syncd wrote it: nothing of the user's to push
        if found is None:  # (a conflict's block put back as written: Readwise's is pulled)
            # Another highlight's block (a copy of it pasted, an edit of it) or an older one of
            # it put back (a restore) may be what is there instead.
            found = _locate(disk, record, taken, fmt.highlight_depth, claims.get(h.id, 0))
        if isinstance(found, Unsure):
            why = (
                f"highlight {h.id} ({book.title}): its edit cannot be told from highlight "
                f"{found.other}'s (their blocks are alike); not pushed, the edit stays in the vault"
            )
            skipped.append(Skipped(h.id, why, lasting=record.status in EDITED))
            continue
        if isinstance(found, int):
            if found > 1:
                why = (
                    f"highlight {h.id} ({book.title}): its block is on the page {found} times; "
                    "not pushed"
                )
                skipped.append(Skipped(h.id, why, lasting=record.status in EDITED))
            continue
        block = found
        vault_block = disk.norm(block)
        older = facts.older.get(h.id, frozenset())
        if any(_norm(disk, old) == vault_block for old in older):
            continue  # an older copy put back (a restore, a file-sync tool): never pushed
        recorded = read_fields(_norm(disk, record.block), book, h, style)
        base = None if recorded is None else _agreed_base(recorded, agreed)
        vault = read_fields(vault_block, book, h, style)
        if base is None or vault is None:
            why = (
                f"highlight {h.id} ({book.title}): its fields cannot be told apart in its "
                "block; not pushed, the edit stays in the vault"
            )
            skipped.append(Skipped(h.id, why, lasting=record.status in EDITED))
            continue
        if _bullet_typed(base, vault, fmt is OBSIDIAN):
            why = (
                f"highlight {h.id} ({book.title}): a bullet under its text may be a block of "
                "your own, not a line of the text; not pushed, the edit stays in the vault"
            )
            skipped.append(Skipped(h.id, why, lasting=True))
            continue
        earlier = [
            (fields, emptied_lines(norm, book, h, style))
            for old in older
            if (fields := read_fields(norm := _norm(disk, old), book, h, style)) is not None
        ]
        if agreed and recorded is not None:
            # The recorded block, older than the pushes a kill left: its values shown again
            # were put back or typed back (never pushed on their own, `_untyped_to_base`);
            # compared as the base is (a note the pushes replaced: as Readwise holds it).
            shape = recorded if base.note == recorded.note else readwise_view(recorded)
            emptied = emptied_lines(_norm(disk, record.block), book, h, style)
            earlier.append((shape, emptied))
        shown = (vault, emptied_lines(vault_block, book, h, style))
        typed = _untyped_to_base(base, shown, earlier)
        one = _decide(book, h, record, block, vault_block, base, typed, vault, style, facts)
        if isinstance(one, Skipped):
            skipped.append(one)
        elif one is not None:
            taken.add(block.start)
            decided[h.id] = one
    return decided, skipped


def _decide(
    book: Book,
    h: Highlight,
    record: HighlightRecord,
    block: PageBlock,
    vault_block: str,
    base: Fields,
    vault: Fields,
    showing: Fields,
    style: Style,
    facts: PushFacts,
) -> HighlightPush | Skipped | None:
    """The plan for one highlight: `vault` holds the values the user typed (the others are
    the base's), `showing` those the block shows (the block is rewritten when they differ from
    the merged values); Skipped when an edit cannot be pushed without sending what the user
    did not type."""
    readwise = fields_of(h)
    keep = facts.keep.get(h.id)
    unsure = facts.unsure.get(h.id, {})
    merged: dict[str, FieldValue] = {}
    outcomes: set[Outcome] = set()
    sends: list[Send] = []
    conflicts: list[FieldConflict] = []
    for merge in merge_fields(base, vault, readwise):
        name, outcome, value = merge.field, merge.outcome, merge.value
        if name in unsure and not _bases_agree(merge, unsure[name], vault, readwise):
            outcome, value = Outcome.CONFLICT, getattr(readwise_view(vault), name)
        if getattr(vault, name) != getattr(showing, name) and keep != "readwise":
            # An earlier value of the field on the page: put back by a restore, or typed back
            # (the two cannot be told apart): a conflict until `syncd resolve` says which.
            outcome = Outcome.PUSH if keep == "vault" else Outcome.CONFLICT
            value = getattr(showing, name)
            if name == "tags":  # as Readwise holds them (a `.word` note's tag counted)
                value = readwise_view(showing).tags
                if keep == "vault":  # the removals are the user's: merged with Readwise's
                    value = merge_tags(readwise_view(base).tags, value, readwise.tags)
        if outcome is Outcome.CONFLICT and keep == "readwise":
            outcome, value = Outcome.PULL, getattr(readwise, name)
        elif outcome is Outcome.CONFLICT and keep == "vault":
            outcome, value = Outcome.PUSH, getattr(vault, name)
        if outcome in (Outcome.PUSH, Outcome.CONFLICT) and name not in facts.fields:
            return None  # an edit of a field that does not flow back: the user's, as before
        if outcome is Outcome.PUSH and name in shown_lossy(book, h, style):
            # The page shows Readwise's value lossy: the edit read from it would send what the
            # user never touched (a blank line lost). Never pushed; the edit stays, as before.
            why = (
                f"highlight {h.id} ({book.title}): its {name} in Readwise is not shown exactly "
                "on the page (a blank line, a control character, a carriage return, an escape); "
                "its edit stays in the vault, not pushed"
            )
            return Skipped(h.id, why, lasting=True)
        merged[name] = value
        outcomes.add(outcome)
        if outcome is Outcome.CONFLICT:
            conflicts.append(
                FieldConflict(
                    h.id,
                    book.id,
                    name,
                    facts.page,
                    readwise_view(base).tags if name == "tags" else getattr(base, name),
                    value,
                    getattr(readwise, name),
                )
            )
        elif outcome is Outcome.PUSH:
            sends.append(Send(h.id, name, getattr(readwise, name), value, h.updated_at))
    kept = replace(record, status=Status.CONFLICT)
    if conflicts and (
        not {Outcome.PUSH, Outcome.PULL} & outcomes
        or any(readwise_view(fields) != fields for fields in (base, vault, showing))
    ):
        # Nothing to send or pull beside the conflict; or a note that is one `.word`
        # (Readwise's inline tag: note and tags one value there) on a side: nothing at all.
        return HighlightPush(h.id, block, (), tuple(conflicts), None, kept)
    values = Fields(str(merged["text"]), str(merged["note"]), frozenset(merged["tags"]))
    held = readwise_view(values)  # what Readwise holds once the sends are made
    after = replace(h, text=held.text, note=held.note, tags=_ordered(held.tags, h.tags))
    rendered = render_highlights(book, [after], style)[0]
    rewritten = None
    block_text = vault_block
    if values != readwise_view(showing):  # a field pulled: the block shows the merged values
        shown = replace(h, text=values.text, note=values.note, tags=_ordered(values.tags, h.tags))
        rewritten = render_highlights(book, [shown], style)[0]
        block_text = rewritten
    if conflicts:
        # The fields in conflict keep the base they had (the block shows the user's values),
        # so that the next sync finds the same conflict; the others take the merged values,
        # which both sides hold once the sends are made and the block shows.
        conflicted = {c.field for c in conflicts}
        new = Fields(*(getattr(base if name in conflicted else values, name) for name in FIELDS))
        at_base = replace(h, text=new.text, note=new.note, tags=_ordered(new.tags, h.tags))
        based = replace(kept, block=render_highlights(book, [at_base], style)[0])
        return HighlightPush(h.id, block, tuple(sends), tuple(conflicts), rewritten, based)
    record = HighlightRecord(h.id, book.id, block_text, digest(rendered), Status.WRITTEN)
    return HighlightPush(h.id, block, tuple(sends), (), rewritten, record)


def agreed_values(
    fates: Iterable[tuple[Push, str]],
) -> dict[int, dict[str, tuple[FieldValue, FieldValue]]]:
    """Of the pushes a kill left `sent`, each with its fate (`settled`), those Readwise holds
    now (made), by highlight and field (the last push of a field that Readwise holds), each as
    (before, after): the vault held `after` when its push was planned (tags: with Readwise's
    changes merged in) and Readwise holds it, so both sides agreed on it, though the record
    (the base) still holds the block before it (`_agreed_base`)."""
    agreed: dict[int, dict[str, tuple[FieldValue, FieldValue]]] = {}
    for push, fate in sorted(fates, key=lambda pair: pair[0].number):
        if fate == "made":
            agreed.setdefault(push.highlight_id, {})[push.field] = (push.before, push.after)
    return agreed


def _agreed_base(recorded: Fields, pushed: Mapping[str, tuple[FieldValue, FieldValue]]) -> Fields:
    """The base of a highlight whose pushes a kill left unrecorded, Readwise holding their
    values (`agreed_values`): those values, both sides' once the push was made; the recorded
    block's for the other fields. Without them, syncd's own push reads as Readwise's change of
    the recorded value: the user's edit over it is a conflict with syncd's own value, or, a
    note typed `.word` (no note, as Readwise holds it, `readwise_view`) over the pushed note,
    the pushed note pulled back over the user's (world replay 3153404639).

    Shaped as a block shows its values, for `_untyped_to_base` to compare with the vault's: a
    note sent is taken as Readwise holds it (a `.word` note: its tag, no note), beside the tags
    Readwise holds (a recorded `.word` note's tag among them: a note sent does not take it
    off); a recorded `.word` note stays as typed while its tag is agreed (its tag shown by the
    note, not the tags), else it is taken as Readwise holds it.

    Tags pushed are a merge: Readwise's changes since the record (`before` against it) went into
    the value sent, and the page, its rewrite killed, never showed them. The tags' base is the
    page's side of it (the value sent without Readwise's additions, with its removals put back):
    Readwise's changes are then pulled onto the page, never sent back undone (world seed
    79565825: a tag Readwise added, merged into a push a kill left, was taken off in Readwise as
    though the user had removed it)."""
    if not pushed:
        return recorded
    agreed = {name: after for name, (_, after) in pushed.items()}
    text = str(agreed.get("text", recorded.text))
    held = readwise_view(recorded)
    tags = agreed.get("tags", held.tags)
    assert isinstance(tags, frozenset)
    if "tags" in pushed:
        before = pushed["tags"][0]
        assert isinstance(before, frozenset)
        tags = (tags - (before - held.tags)) | ((held.tags - before) - tags)
    if "note" in agreed:
        sent = readwise_view(Fields("", str(agreed["note"]), frozenset()))
        return Fields(text, sent.note, tags | sent.tags)
    if "tags" not in agreed:
        return replace(recorded, text=text)
    inline = held.tags - recorded.tags  # the recorded note's tag, shown by the note alone
    if inline <= tags:
        return Fields(text, recorded.note, tags - inline)
    return Fields(text, held.note, tags)


def _bases_agree(merge: FieldMerge, pushed: FieldValue, vault: Fields, readwise: Fields) -> bool:
    """Whether a field a killed push may have sent (`pushed`, its fate not known) is decided
    alike from either base it may have: the record's (`merge`: the request never reached
    Readwise) and the value pushed (it did, and Readwise may have changed the field since).
    When they differ, which is right cannot be told (world seed 3153404604: a tag pushed, then
    removed in Readwise; from the record's base the tag is sent again, undoing Readwise's
    removal), and the field is a conflict: nothing sent, nothing pulled, until they agree or
    `syncd resolve` keeps a side."""
    name = merge.field
    other = merge_field(name, pushed, getattr(readwise_view(vault), name), getattr(readwise, name))
    return Outcome.CONFLICT not in (merge.outcome, other.outcome) and merge.value == other.value


def lay_over(h: Highlight, pushed: Mapping[str, Send]) -> Highlight:
    """A copy of a highlight fetched before this run pushed to it, with the values the run
    pushed laid over the stale ones: within one run, what the run pushed is what Readwise holds
    (world seed 14635: a book served twice in one sync; the second copy, fetched before the
    first copy's push, still held the old text and was read as "only Readwise changed", pulling
    it over the user's edit). A field is stale only where the copy is the one the push was
    planned from (the same `updated_at`) and still holds the value the push replaced: a copy
    fetched later, or holding another value, is Readwise's newer change and is pulled as it is."""
    values = fields_of(h)
    changed: dict[str, FieldValue] = {}
    for name, item in pushed.items():
        if item.seen == h.updated_at and getattr(values, name) == item.before:
            changed[name] = item.after
    if not changed:
        return h
    tags = changed.get("tags", values.tags)
    assert isinstance(tags, frozenset)
    return replace(
        h,
        text=str(changed.get("text", h.text)),
        note=str(changed.get("note", h.note)),
        tags=_ordered(tags, h.tags),
    )


def _untyped_to_base(
    base: Fields,
    shown: tuple[Fields, frozenset[str]],
    earlier: list[tuple[Fields, frozenset[str]]],
) -> Fields:
    """The vault's values with each field the user may not have typed put back to the base's:
    a value that differs from the base and equals that field's value in an older block of the
    highlight (one syncd wrote or agreed before) was put back by a file-sync tool or a backup,
    or typed back exactly, and the two cannot be told apart. Such a field is never pushed on
    its own (world 1-push-b: a restore then an edit of another field sent the tag the restore
    took back), nor overwritten (world 11386: a pushed note emptied again, an older block
    having none, was read as restored and the old note written back): `_decide` makes it a
    conflict, which `syncd resolve --keep vault|readwise` settles.

    `shown` and `earlier`: the vault's values and those of each older block, each with the
    fields whose line the block shows emptied (`emptied_lines`). A restore puts a block back
    whole (world 27522): a value shown otherwise than the older block shows it (a note emptied
    with its line kept, where the older block had no note line) is typed, the user's. A field
    shown as the older block shows it stays a restore's even when another field's line differs
    (world 2058060345: the note-less block put back, then an empty `Tags:` line added: the note
    emptied is not the user's to send): what differs is typed in that other line only."""
    vault, emptied = shown
    values: dict[str, FieldValue] = {}
    for name in FIELDS:
        mine = getattr(vault, name)
        if mine != getattr(base, name) and any(
            getattr(f, name) == mine and (name in gone) == (name in emptied) for f, gone in earlier
        ):
            mine = getattr(base, name)
        elif name == "text" and _typed_over_older(vault.text, base.text, [f for f, _ in earlier]):
            mine = base.text
        values[name] = mine
    if values["tags"] == vault.tags:  # (else the whole field is already the base's)
        values["tags"] = vault.tags | _restored_away(base, vault, [f for f, _ in earlier])
    return Fields(str(values["text"]), str(values["note"]), frozenset(values["tags"]))


def _typed_over_older(mine: str, base: str, earlier: list[Fields]) -> bool:
    """Whether a text the vault shows, not the base's, is an edit of an older block's text
    rather than of the base's (`SIMILAR` alike it, and more alike than the base's): typed over
    an older text a restore put back (world seed 302474079: words appended to a text a
    file-sync tool put back as it was before Readwise changed it, and shown lossy). Sent, it
    would put back what the user never typed over Readwise's text; `_decide` makes it a
    conflict."""
    if mine == base:
        return False
    near = difflib.SequenceMatcher(None, mine, base, autojunk=False).ratio()
    for f in earlier:
        if f.text != base:
            alike = difflib.SequenceMatcher(None, mine, f.text, autojunk=False).ratio()
            if alike >= SIMILAR and alike > near:
                return True
    return False


def _bullet_typed(base: Fields, vault: Fields, obsidian: bool) -> bool:
    """Whether the vault's text holds a list line (`_LIST_LINE`) its base did not:
    beside or under a highlight's text, a block the user types renders as a line of the text
    would (Obsidian's export shows a text's lines indented under its bullet), so it may be a
    block of the user's own and is never sent as the text (world seeds 2446121135, under a
    text's list line, deeper, and 1979852032, beside it: sent, then lost from the page when
    Readwise changed the text and syncd pulled it)."""
    had = set(base.text.split("\n")[1:])
    listed = _LIST_LINE[obsidian]
    return any(listed.match(line) and line not in had for line in vault.text.split("\n")[1:])


def _restored_away(base: Fields, vault: Fields, earlier: list[Fields]) -> frozenset[str]:
    """The tags (as Readwise holds them, `readwise_view`) the base has and the vault lacks that
    a restore may have taken away, not the user: those an older block lacked, where the vault
    lacks every tag of the base that block lacked (a restore puts a block back whole, taking
    them all; the user may then add tags in it, world 27532, or type over a `.word` note,
    2058060252). Such removals are never sent on their own: `_decide` makes the tags a
    conflict. An older block whose values are all the vault's is not one (the block is not
    it: what differs is typed, see `_untyped_to_base`)."""
    had, has = readwise_view(base).tags, readwise_view(vault).tags
    away: set[str] = set()
    for old in earlier:
        lacked = had - readwise_view(old).tags
        if old != vault and lacked and not lacked & has:
            away |= lacked
    return frozenset(away)


def _claims(
    disk: PageIndex,
    records: Mapping[int, HighlightRecord],
    taken: set[int],
    depth: int,
    older: Mapping[int, frozenset[str]],
) -> dict[int, PageBlock | int | Unsure]:
    """For each record the page does not show as written (the user's edit, a deletion), the
    free block at highlight depth that is its edit by likeness (its first line: SIMILAR and
    up), else how many blocks may be it (0: none; 2 and up: never a guess), or `Unsure` (it
    may be another's edit as well: below). A block is not one record's when a highlight not
    looked for here (its block on the page as written, an older block of another highlight put
    back) is as alike or more: a copy or an edit of that one
    (world seeds 3430990579 and 2083275877). Nor is it surely that one's: a record left with
    no block is `Unsure` of it (not pushed, and `syncd status` says so), unless its first line
    is that one's to the letter (a copy put back, no edit of this one's); it was 0, the edit
    neither pushed nor told (world seed 1036053259: words appended to a text read, to
    characters, more alike an older block of the highlight above with other words appended
    than its own record). The records looked for are given their blocks
    together, the sum of likeness the most it can be: one highlight's block a digit apart
    from another's is more alike to the other's edit than to its own when both are edited,
    and taken one by one, the first would take the other's edit and push its values (world
    seed 3491127130). A block more alike (or as alike) another edited highlight is this
    one's only when that one holds a block of its own: else (its edit pasted twice, not found)
    it may be that one's (world seed 5821: a deleted highlight took a pasted copy of another's
    edit); nor, when that one holds none, a block that one may be an edit of (its likeness
    SIMILAR and no other's more): one deleted and the other edited, a digit apart, whose edit
    it is cannot be told (world seed 1310925000: the block more alike the deleted one). Nor
    when it is as alike the block that one holds as this one's record, or more (a copy of that
    one's edit, edited again: world seed 1310925002). A record's likeness to a block is the
    most of its block's and of its own older blocks' (`older`): an older block of it put back
    by a restore, then edited, is its own even when its first line is more alike another
    highlight's than the record's (world seed 3378912573: a text pushed with words appended,
    the page put back without them). A block whose first line is another edited highlight's
    record's, unchanged, is never this one's edit (its own first line changed): it is that
    one's, or a copy of it (world seed 3918167472: two highlights a digit apart, one's block
    pasted twice, the other's text edited; the copies, more alike the other's record than its
    edit, were taken for its edit pasted twice, the edit never pushed)."""
    free = [b for b in disk.blocks if b.start not in taken and b.depth == depth]
    looking = [r for r in records.values() if r.status in LOOKED_AT and disk.find(r.block) is None]
    if not looking or not free:
        return {}
    ids = {r.highlight_id for r in looking}
    fixed = [(r.highlight_id, r.block) for r in records.values() if r.highlight_id not in ids]
    # Blocks alike to the letter are copies of one block (pasted): one candidate, its copies
    # counted, so that one highlight takes them all (never a guess) and another highlight is
    # not matched with a copy the first left over (world seed 3597570857).
    copies: dict[str, list[int]] = {}
    for j, b in enumerate(free):
        copies.setdefault(disk.norm(b), []).append(j)
    count = {js[0]: len(js) for js in copies.values()}
    alike: dict[tuple[int, int], float] = {}  # (highlight, block): likeness
    score: dict[tuple[int, int], float] = {}  # ... of the blocks that may be its
    owns: dict[int, list[str]] = {}  # highlight -> its record's block and its older ones
    rival: dict[tuple[int, int], tuple[float, int]] = {}  # ... that may be another's as well
    for r in looking:
        others = fixed + [
            (i, block) for i, blocks in older.items() if i != r.highlight_id for block in blocks
        ]
        own = owns[r.highlight_id] = [r.block, *sorted(older.get(r.highlight_id, ()))]
        looked = [o.block for o in looking if o.highlight_id != r.highlight_id]
        for j, b in enumerate(free):
            alike[(r.highlight_id, j)] = mine = max(disk.likeness(w, b) for w in own)
            held = held_whole(disk, b, own, [block for _, block in others] + looked)
            if j not in count or mine < SIMILAR or held is False:
                continue
            if held:  # (its text whole, no other's: its own, however alike another's)
                score[(r.highlight_id, j)] = mine
                continue
            if mine < 1.0 and any(disk.likeness(o, b) == 1.0 for o in looked):
                continue
            most, other = max(
                ((disk.likeness(block, b), i) for i, block in others), default=(0.0, 0)
            )
            if most < mine:
                score[(r.highlight_id, j)] = mine
            elif most < 1.0:  # (alike to the letter: that one's copy, not an edit of this one)
                rival[(r.highlight_id, j)] = (mine, other)
    matched = best_pairs(score)
    held_blocks = set(matched.values())
    claims: dict[int, PageBlock | int | Unsure] = {}
    at: dict[int, int] = {}  # highlight -> its block's index, while it holds one
    for r in looking:
        hid = r.highlight_id
        if hid not in matched:
            # Its edit may be a free block that reads as alike another highlight's as its own
            # (an edit of that one's block, or of an older one put back): not pushed, told.
            maybe = [rival[(hid, j)] for j in count if (hid, j) in rival and j not in held_blocks]
            claims[hid] = Unsure(max(maybe)[1]) if maybe else 0
            continue
        best = score[(hid, matched[hid])]
        tied = sum(n for j, n in count.items() if score.get((hid, j)) == best)
        if tied > 1:
            claims[hid] = tied  # (pasted twice: never a guess)
        else:
            claims[hid], at[hid] = free[matched[hid]], matched[hid]
    # A block more alike (or as alike) another edited highlight is this one's only when that
    # one holds a block of its own: else (pasted twice, not found) it may be that one's; so
    # may a block that one may be an edit of (SIMILAR), when the matching left that one none
    # (deleted, to likeness): whose edit it is cannot be told (one deleted, the other edited,
    # a digit apart). SIMILAR, not its score: a third highlight's block on the page as alike
    # drops the score, and the block would be this one's in the sync after, not in this one
    # (world seed 3186486134: a new highlight a digit apart, a note pushed a sync late). Nor
    # is it this one's when it is as alike the block that one holds as this one's record, or
    # more (a copy of that one's edit, edited again).
    unsure = True
    while unsure:
        unsure = False
        for hid, j in list(at.items()):
            for o in ids - {hid}:
                k = at.get(o, j)
                if held_whole(disk, free[j], owns[hid], owns[o]):
                    continue  # it holds this one's text whole, not that one's
                if (
                    k == j
                    and (
                        alike[(o, j)] >= alike[(hid, j)]
                        or (alike[(o, j)] >= SIMILAR and o not in matched)
                    )
                ) or (k != j and disk.likeness(disk.norm(free[k]), free[j]) >= alike[(hid, j)]):
                    claims[hid] = Unsure(o)
                    if o not in at and claims.get(o) == 0:
                        claims[o] = Unsure(hid)
                    del at[hid]
                    unsure = True
                    break
    return claims


def _locate(
    disk: PageIndex,
    record: HighlightRecord,
    taken: set[int],
    depth: int,
    claim: PageBlock | int | Unsure,
) -> PageBlock | int | Unsure:
    """The block on the page that is the user's edit of `record.block`, at highlight depth and
    not another highlight's: the one ending its first line with the same location link (a
    link carries the highlight's place: its text may be rewritten whole), else its `claim`
    (`_claims`: by likeness, with the other edited highlights). A record the page showed
    deleted is looked for by likeness too: the page's observation takes the first block
    alike, which may be another highlight's edit, its own deleted (world seed 1). Else how
    many blocks may be it (0; 2 and up: pasted twice, never a guess)."""
    free = [b for b in disk.blocks if b.start not in taken and b.depth == depth]
    first = _norm(disk, record.block).split("\n", 1)[0]
    link = _LINK.search(first)
    if link is not None:
        linked = [b for b in free if disk.norm(b).split("\n", 1)[0].endswith(link.group(0))]
        if len(linked) == 1:
            return linked[0]
        if len(linked) > 1:
            return len(linked)
    if isinstance(claim, PageBlock) and claim.start in taken:
        return 0  # (taken by a highlight its location link located)
    return claim


def _norm(disk: PageIndex, written: str) -> str:
    """A block syncd wrote, as `PageIndex.norm` gives a block on the page."""
    return normalise(written.split("\n"), obsidian=disk.obsidian)


def _ordered(tags: frozenset[str], first: tuple[str, ...]) -> tuple[str, ...]:
    """Tags in the order Readwise keeps them: those it had, in its order, then the new ones
    (added in this order: sorted)."""
    return tuple(t for t in first if t in tags) + tuple(sorted(tags - set(first)))


def push_lines(sends: list[Send], titles: Mapping[int, str]) -> list[str]:
    """A dry run's lines for what it would push: `# push highlight N (book): note: "old" →
    "new"`."""
    return [
        f"# push highlight {s.highlight_id} ({titles.get(s.highlight_id, '')}): {s.field}: "
        f"{show_value(s.before)} → {show_value(s.after)}"
        for s in sends
    ]


def show_value(value: FieldValue, limit: int = 60) -> str:
    """A field's value on one line, quoted (tags: sorted, comma-separated, in brackets)."""
    if not isinstance(value, str):
        return "[" + ", ".join(sorted(value)) + "]"
    one = " ".join(value.split("\n"))
    if len(one) > limit:
        one = one[: limit - 1] + "…"
    return '"' + one.replace('"', '\\"') + '"'


def held(push: Push, h: Highlight) -> bool:
    """Whether Readwise holds the push's value (as its inline tagging keeps a note)."""
    if push.field == "tags":
        tags = set(h.tags)
        after, before = push.after, push.before
        assert isinstance(after, frozenset) and isinstance(before, frozenset)
        return after <= tags and not (before - after) & tags
    if push.field == "note":
        assert isinstance(push.after, str)
        return readwise_view(Fields("", push.after, frozenset())).note == h.note
    return push.after == h.text


def settled(push: Push, h: Highlight) -> str:
    """A push a kill left `sent` (recorded just before its request, see
    `syncd.engine.push.Pusher`): `made` when Readwise holds its value now; `dropped` when the
    highlight is still at the `updated_at` seen just before the request (the request never
    changed it: the sync plans afresh, and the push is made again if the edit still stands);
    else `sent` still: Readwise changed since, and lacks the value, so the request may have
    been made and its value changed since in Readwise, or not made and Readwise changed
    something else. Which cannot be told: the field is merged from both bases
    (`PushFacts.unsure`), a conflict unless they agree (world seed 3153404604: a tag pushed,
    the sync killed, the tag removed in Readwise, then added again)."""
    if held(push, h):
        return "made"
    if push.seen is not None and _same_time(push.seen, h.updated_at):
        return "dropped"
    return "sent"


def _same_time(a: str, b: str | None) -> bool:
    """Whether two of Readwise's times are the same moment (written alike or not)."""
    if b is None:
        return False
    try:
        return datetime.fromisoformat(a) == datetime.fromisoformat(b)
    except ValueError:
        return a == b


__all__ = [
    "FIELDS",
    "KEEP_SIDES",
    "HighlightPush",
    "PushFacts",
    "Send",
    "Skipped",
    "agreed_values",
    "held",
    "lay_over",
    "older_wanted",
    "plan_pushes",
    "push_lines",
    "settled",
    "show_value",
]
