"""The three-way merge of a highlight's fields: base, vault, Readwise. Pure.

For each pushable field (`syncd.core.fields.FIELDS`) syncd knows three values: the base (what
both sides last agreed on: the block syncd last wrote, read back), the vault's (the block on
the page now) and Readwise's (the highlight as fetched). `merge_field` decides, per field:
nothing changed (SAME), only the vault changed (PUSH), only Readwise changed (PULL), both
changed to the same value (AGREED), both changed differently (CONFLICT: nothing is pushed,
nothing overwritten, the vault keeps the user's value). Tags merge as sets (additions and
removals from both sides) and so never conflict. The README prints the table
(`three_way_table`); a test checks every combination against it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from syncd.core.fields import FIELDS, Fields

# Readwise's inline tagging: a note that is a period and one word (`.probability`) becomes the
# tag `probability` on Readwise's side, and no note. `.c1`, `.c2`... (concatenation) and `.h1`
# to `.h6` (headings) are its other actions: what Readwise makes of them is left to it.
_INLINE_TAG = re.compile(r"\.([^\s.]\S*)")
_ACTION = re.compile(r"c\d+|h[1-6]", re.IGNORECASE)


class Outcome(Enum):
    SAME = "same"  # all three equal: nothing to do
    PUSH = "push"  # only the vault changed: Readwise gets the vault's value
    PULL = "pull"  # only Readwise changed: the block gets Readwise's value
    AGREED = "agreed"  # both changed, to the same value: nothing to send, a new base
    CONFLICT = "conflict"  # both changed, differently: nothing sent or overwritten


@dataclass(frozen=True)
class FieldMerge:
    field: str
    outcome: Outcome
    value: str | frozenset[str]  # the value both sides hold after it (CONFLICT: the vault's)


def merge_tags(
    base: frozenset[str], vault: frozenset[str], readwise: frozenset[str]
) -> frozenset[str]:
    """Tags as sets: what either side added, and what neither side removed, so that
    merged = (base ∪ added by the vault ∪ added by Readwise) − removed by either."""
    added = (vault - base) | (readwise - base)
    removed = (base - vault) | (base - readwise)
    return (base | added) - removed


def merge_field(
    field: str,
    base: str | frozenset[str],
    vault: str | frozenset[str],
    readwise: str | frozenset[str],
) -> FieldMerge:
    """Decide one field. Text and note (strings): all equal → SAME; only the vault changed →
    PUSH; only Readwise → PULL; both to the same value → AGREED; both differently → CONFLICT
    (value: the vault's, which stays). Tags (sets): merged as `merge_tags`; PUSH when Readwise
    lacks the merged set, PULL when the vault does. When both lack it (each side added or
    removed a different tag) the outcome is PUSH with the merged set as its value: Readwise
    gets the merged set, and the block is rewritten with it too (the engine rewrites the
    block of any PUSH whose value is not the vault's). Both sides changed the same way:
    AGREED."""
    if field not in FIELDS:
        raise ValueError(f"not a field: {field!r}")
    if field == "tags":
        if not (
            isinstance(base, frozenset)
            and isinstance(vault, frozenset)
            and isinstance(readwise, frozenset)
        ):
            raise TypeError("tags merge as frozensets")
        merged = merge_tags(base, vault, readwise)
        if vault == readwise:
            return FieldMerge(field, Outcome.SAME if vault == base else Outcome.AGREED, vault)
        if readwise != merged:
            return FieldMerge(field, Outcome.PUSH, merged)
        return FieldMerge(field, Outcome.PULL, merged)
    if not (isinstance(base, str) and isinstance(vault, str) and isinstance(readwise, str)):
        raise TypeError(f"{field} merges as text")
    if vault == readwise:
        return FieldMerge(field, Outcome.SAME if vault == base else Outcome.AGREED, vault)
    if readwise == base:
        return FieldMerge(field, Outcome.PUSH, vault)
    if vault == base:
        return FieldMerge(field, Outcome.PULL, readwise)
    return FieldMerge(field, Outcome.CONFLICT, vault)


def readwise_view(fields: Fields) -> Fields:
    """What Readwise will hold after receiving these values: its inline tagging turns a note
    that is one period-word (`.probability`, white space around it aside) into the tag
    `probability` and leaves no note. Readwise documents the rule as "start any note with a .
    and follow it with a single word (no spaces)"; syncd reads it conservatively: a note with
    anything else in it (`.tag and more`, `.a .b`) stays a note as it is, and Readwise's other
    action notes (`.c1`, `.c2`...: concatenation; `.h1` to `.h6`: headings) are not predicted:
    the next pull brings what Readwise made of them."""
    match = _INLINE_TAG.fullmatch(fields.note.strip())
    if match is None or _ACTION.fullmatch(match.group(1)):
        return fields
    return Fields(fields.text, "", fields.tags | {match.group(1)})


def merge_fields(base: Fields, vault: Fields, readwise: Fields) -> list[FieldMerge]:
    """Decide every field, in `FIELDS` order. The base and the vault are compared as Readwise
    will hold them (`readwise_view`), so a note typed `.tag` is a tag added, and the round trip
    after it is quiet."""
    base, vault = readwise_view(base), readwise_view(vault)
    return [
        merge_field(name, getattr(base, name), getattr(vault, name), getattr(readwise, name))
        for name in FIELDS
    ]


# The equality classes of (base, vault, Readwise) of a text field, with an example of each.
TEXT_CASES: tuple[tuple[str, tuple[str, str, str]], ...] = (
    ("all equal", ("a", "a", "a")),
    ("only the vault changed", ("a", "b", "a")),
    ("only Readwise changed", ("a", "a", "b")),
    ("both changed, to the same value", ("a", "b", "b")),
    ("both changed, differently", ("a", "b", "c")),
)


def _yes(held: bool) -> str:
    return "has it" if held else "-"


def three_way_table() -> str:
    """The three-way decision as Markdown tables, for the README: text and note by the
    equality of their three values; tags one tag at a time, by which sides hold it."""
    lines = [
        "| text, note: base, vault, Readwise | outcome | value after | what syncd does |",
        "|---|---|---|---|",
    ]
    what = {
        Outcome.SAME: "nothing",
        Outcome.PUSH: "sends the vault's value to Readwise",
        Outcome.PULL: "rewrites the block with Readwise's value",
        Outcome.AGREED: "nothing to send; the new value is the base",
        Outcome.CONFLICT: "sends nothing of it, overwrites nothing of it; reports a conflict",
    }
    for name, (base, vault, readwise) in TEXT_CASES:
        merge = merge_field("text", base, vault, readwise)
        value = {
            Outcome.SAME: "as it was",
            Outcome.PUSH: "the vault's",
            Outcome.PULL: "Readwise's",
            Outcome.AGREED: "the one both hold",
            Outcome.CONFLICT: "each its own (the vault keeps the user's)",
        }[merge.outcome]
        lines.append(f"| {name} | {merge.outcome.value} | {value} | {what[merge.outcome]} |")
    lines += [
        "",
        "| a tag: in base | in vault | in Readwise | merged | outcome (this tag alone) |",
        "|---|---|---|---|---|",
    ]
    tag = frozenset({"t"})
    for in_base in (True, False):
        for in_vault in (True, False):
            for in_readwise in (True, False):
                sets = [tag if held else frozenset() for held in (in_base, in_vault, in_readwise)]
                merge = merge_field("tags", *sets)
                lines.append(
                    f"| {_yes(in_base)} | {_yes(in_vault)} | {_yes(in_readwise)} "
                    f"| {_yes(bool(merge.value))} | {merge.outcome.value} |"
                )
    return "\n".join(lines) + "\n"
