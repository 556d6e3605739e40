"""The reconcile decision for one highlight: a table of rules, pure.

For every highlight Readwise sent, syncd knows three things: what its record says (`Status`:
syncd wrote the block, the user edited or deleted it, ...; or no record), where its block is on
the page (`Seen`), and whether Readwise deleted or changed it since syncd last wrote it. `decide`
looks them up in `RULES`, the first matching row wins, and returns an `Action`: what to do with
the block and the status to remember. `syncd.core.plan` gathers the facts and applies the actions
to the page's text; the README prints this table (`rules_table`).

`OBSERVED` is the same idea for what a user's edit alone tells (no Readwise side): it keeps the
records of a page in line with the page between syncs.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any


class Status(str, Enum):
    """What syncd remembers of a highlight's block."""

    WRITTEN = "written"  # on the page as syncd wrote it
    EDITED = "edited"  # the user changed the block
    CONFLICT = "conflict"  # the user changed it, and Readwise changed it since
    DELETED = "deleted"  # the user removed the block
    REMOVED = "removed"  # syncd removed it because Readwise deleted it


class Seen(Enum):
    """Where a highlight's block is on the page."""

    AS_WRITTEN = "as written"  # as syncd wrote it (indentation and trailing spaces aside)
    FOUND = "found"  # no record, but the highlight's words are on the page
    SIMILAR = "alike"  # not as written, but a block at least 60% alike is (the user's edit)
    ABSENT = "absent"  # nowhere


class Act(Enum):
    APPEND = "append"  # add the block under the sync's dated header
    ADOPT = "adopt"  # remember the block already on the page as syncd's
    UPDATE = "update"  # rewrite the block in place
    REMOVE = "remove"  # take the block off the page
    GIVE_ID = "give id"  # add the highlight's stable id to the block, if it has none
    CONFLICT = "conflict"  # keep the user's block; count Readwise's change as a conflict
    MARK_EDITED = "mark edited"  # keep the user's block; never write it again
    MARK_DELETED = "mark deleted"  # the user deleted it; it stays out
    KEEP_OUT = "keep out"  # it stays out (the user deleted it before)
    KEEP = "keep"  # nothing to do


class Option(str, Enum):
    """A `sync.` option of the config that a rule needs on (its value is the key's name)."""

    UPDATE_CHANGED = "update_changed_highlights"
    REMOVE_DELETED = "remove_deleted_highlights"
    BLOCK_IDS = "block_ids"


NEVER = None  # no record: syncd never wrote the highlight
ANY = "any"  # in a rule, a column that matches every value


@dataclass(frozen=True)
class Facts:
    """What syncd knows of one highlight when it syncs its book."""

    status: Status | None  # its record (NEVER: syncd never wrote it)
    seen: Seen | None  # where its block is on the page (None: not looked for)
    deleted_in_readwise: bool
    changed: bool  # its text in Readwise differs from what syncd last wrote


@dataclass(frozen=True)
class Action:
    act: Act
    then: Status | None  # the status to remember; None: the record stays as it is
    why: str


@dataclass(frozen=True)
class Rule:
    """One row of a table: when every column matches, its action."""

    status: frozenset[Status | None]  # each column: the values it matches
    seen: frozenset[Seen | None]
    deleted_in_readwise: frozenset[bool]
    changed: frozenset[bool]
    option: Option | None  # an option that must be on
    action: Action

    def matches(self, facts: Facts, options: frozenset[Option]) -> bool:
        return (
            facts.status in self.status
            and facts.seen in self.seen
            and facts.deleted_in_readwise in self.deleted_in_readwise
            and facts.changed in self.changed
            and (self.option is None or self.option in options)
        )


_EVERY: dict[str, frozenset[Any]] = {
    "status": frozenset({NEVER, *Status}),
    "seen": frozenset({None, *Seen}),
    "deleted_in_readwise": frozenset({False, True}),
    "changed": frozenset({False, True}),
}


def _rule(
    status: Any,
    seen: Any,
    deleted_in_readwise: Any,
    changed: Any,
    act: Act,
    then: Status | None,
    why: str,
    option: Option | None = None,
) -> Rule:
    """A rule from its columns: ANY, one value, or a tuple of values."""

    def values(column: str, value: Any) -> frozenset[Any]:
        if value == ANY:
            return _EVERY[column]
        return frozenset(value) if isinstance(value, tuple) else frozenset({value})

    return Rule(
        values("status", status),
        values("seen", seen),
        values("deleted_in_readwise", deleted_in_readwise),
        values("changed", changed),
        option,
        Action(act, then, why),
    )


W, E, C, D, R = Status.WRITTEN, Status.EDITED, Status.CONFLICT, Status.DELETED, Status.REMOVED

# fmt: off
RULES: tuple[Rule, ...] = (
    # (deleted and changed: in Readwise)
    #     record on the page                    deleted changed act             then  why
    _rule(NEVER, ANY,                           True,  ANY,   Act.KEEP,         None, "never written, and deleted in Readwise: nothing to do"),
    _rule(NEVER, (Seen.AS_WRITTEN, Seen.FOUND), ANY,   ANY,   Act.ADOPT,        W,    "already on the page (a write a kill left unrecorded, or the official plugin's page): taken as syncd's, not added again"),
    _rule(NEVER, ANY,                           ANY,   ANY,   Act.APPEND,       W,    "a new highlight: appended under the sync's dated header"),
    _rule(D,     Seen.AS_WRITTEN,               ANY,   ANY,   Act.KEEP,         W,    "back on the page as syncd wrote it (put back, or seen gone mid-save): syncd's again"),
    _rule(D,     ANY,                           ANY,   ANY,   Act.KEEP_OUT,     None, "the user deleted its block: it stays out"),
    _rule(R,     ANY,                           ANY,   ANY,   Act.KEEP,         None, "removed when Readwise deleted it: it stays out"),
    _rule(C,     ANY,                           ANY,   ANY,   Act.CONFLICT,     C,    "the user's edit stays; Readwise's change is still a conflict"),
    _rule(E,     ANY,                           ANY,   True,  Act.CONFLICT,     C,    "edited here and changed in Readwise: the user's words stay, the change is a conflict"),
    _rule(E,     ANY,                           ANY,   False, Act.KEEP,         None, "the user's edit stays"),
    _rule(W,     Seen.SIMILAR,                  ANY,   True,  Act.CONFLICT,     C,    "edited here (found alike) and changed in Readwise: a conflict"),
    _rule(W,     Seen.SIMILAR,                  ANY,   False, Act.MARK_EDITED,  E,    "edited here (found alike): the user's block, never written again"),
    _rule(W,     Seen.ABSENT,                   ANY,   ANY,   Act.MARK_DELETED, D,    "the user deleted its block: it stays out"),
    _rule(W,     Seen.AS_WRITTEN,               True,  ANY,   Act.REMOVE,       R,    "deleted in Readwise, untouched here: removed", option=Option.REMOVE_DELETED),
    _rule(W,     Seen.AS_WRITTEN,               True,  ANY,   Act.KEEP,         None, "deleted in Readwise: kept (sync.remove_deleted_highlights is off)"),
    _rule(W,     Seen.AS_WRITTEN,               False, True,  Act.UPDATE,       W,    "changed in Readwise, untouched here: rewritten in place (Logseq's id:: and collapsed:: kept)", option=Option.UPDATE_CHANGED),
    _rule(W,     Seen.AS_WRITTEN,               False, ANY,   Act.GIVE_ID,      None, "untouched: given its stable id, if it has none", option=Option.BLOCK_IDS),
    _rule(W,     Seen.AS_WRITTEN,               ANY,   ANY,   Act.KEEP,         None, "as syncd wrote it, and nothing to change"),
)
# fmt: on

#: What a page alone tells of a block syncd wrote (between syncs, and before each): the status
#: to remember. A removed highlight is not looked for.
# fmt: off
OBSERVED: tuple[Rule, ...] = (
    #     record        on the page      deleted changed act         then why
    _rule((W, E, C, D), Seen.AS_WRITTEN, ANY, ANY, Act.KEEP,         W, "on the page as syncd wrote it (untouched, or put back)"),
    _rule(C,            Seen.SIMILAR,    ANY, ANY, Act.KEEP,         C, "still the user's edit, still a conflict"),
    _rule((W, E, D),    Seen.SIMILAR,    ANY, ANY, Act.MARK_EDITED,  E, "edited by the user (found alike)"),
    _rule((W, E, C, D), Seen.ABSENT,     ANY, ANY, Act.MARK_DELETED, D, "deleted by the user"),
)
# fmt: on

#: The record statuses whose block `decide` needs looked for on the page.
LOOKED_FOR: frozenset[Status | None] = frozenset({NEVER, W, D})


def decide(
    facts: Facts, options: frozenset[Option] = frozenset(), *, rules: tuple[Rule, ...] = RULES
) -> Action:
    """Return the action of the first rule that matches `facts` (with these options on)."""
    for rule in rules:
        if rule.matches(facts, options):
            return rule.action
    raise AssertionError(f"no rule matches {facts}")  # the last rules match every case


def rules_table(rules: tuple[Rule, ...] = RULES) -> str:
    """The rules as a Markdown table, for the README."""

    def cell(column: str, values: frozenset[Any]) -> str:
        if values == _EVERY[column]:
            return "any"
        return ", ".join(sorted("never written" if v is None else v.value for v in values))

    def readwise(rule: Rule) -> str:
        parts = []
        if len(rule.deleted_in_readwise) == 1:
            parts.append("deleted" if True in rule.deleted_in_readwise else "not deleted")
        if len(rule.changed) == 1:
            parts.append("changed" if True in rule.changed else "unchanged")
        return ", ".join(parts) or "any"

    lines = [
        "| record | on the page | in Readwise | option on | action | remembered | why |",
        "|---|---|---|---|---|---|---|",
    ]
    for rule in rules:
        then = rule.action.then.value if rule.action.then else "as it was"
        option = f"sync.{rule.option.value}" if rule.option else ""
        lines.append(
            f"| {cell('status', rule.status)} | {cell('seen', rule.seen)} | "
            f"{readwise(rule)} | {option} "
            f"| {rule.action.act.value} | {then} | {rule.action.why} |"
        )
    return "\n".join(lines) + "\n"
