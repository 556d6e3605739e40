"""A book's page through its life: two tables of rules, pure.

A page is ACTIVE (where syncd left it, or followed it), DELETED (the user deleted it, or it left
the vault) or WAITING (gone, and several files may be it). Two moments decide what happens to it:

- `ON_SYNC`: Readwise sent the book. What its record says, whether its page is at its place,
  whether there is anything to write, and whether the page was looked for in this sync give the
  page's act: create it, update it, look for it first, wait, create it anew, or keep its
  highlights out.
- `ON_LOOK`: syncd looked at the page (at a scan, after a file event, or because something is
  to be written). Whether a file is at its place, what evidence says of it (see
  `syncd.core.identity`) and whether it was found elsewhere give the act: follow it, follow it
  back, leave a file of the user's alone, or remember it as deleted or waiting.

The first matching row wins. The engine gathers the facts and carries out the act; the README
prints both tables (`page_rules_table`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any


class PageStatus(str, Enum):
    """Where a book's page stands, as the state remembers it."""

    ACTIVE = "active"  # where its record's path says
    DELETED = "deleted"  # the user deleted it, or it left the vault: followed if it comes back
    WAITING = "waiting"  # gone, and several files may be it: nothing written until it is clear

    def __str__(self) -> str:
        return self.value


class PageAct(Enum):
    CREATE = "create"  # write the book's first page (or adopt the official plugin's)
    UPDATE = "update"  # plan the page against what Readwise sent, and write it
    LOOK = "look for it"  # look for the page (moved? back?), then decide again
    WAIT = "wait"  # write nothing for the book until it is clear which page is its own
    RECREATE = "create anew"  # forget the deleted page: the book is fetched whole and written
    KEEP_OUT = "keep out"  # the user deleted the page: its new highlights stay out
    FOLLOW = "follow"  # the file is the book's page: remember it as it is, its edits observed
    FOLLOW_BACK = "follow back"  # ... and fetch the book again whole: what was kept out returns
    LEAVE_ALONE = "leave alone"  # a file of the user's: its stat remembered, not read again
    MARK_DELETED = "mark deleted"  # remember the page as deleted
    MARK_WAITING = "mark waiting"  # remember the book as waiting, and why


NEVER = None  # no record: syncd never wrote a page for the book
ANY = frozenset({True, False})
NOT_ACTIVE = frozenset({PageStatus.DELETED, PageStatus.WAITING})
EVERY = frozenset(PageStatus)


@dataclass(frozen=True)
class SyncFacts:
    """What syncd knows of a book's page when Readwise sends the book."""

    status: PageStatus | None  # its record (NEVER: no page yet)
    at_place: bool  # an active page's file is where its record says
    to_write: bool  # a new highlight, or a change to one syncd wrote
    looked: bool  # the page was looked for in this sync already
    recreate: bool  # `sync.resync_deleted_pages` is on


@dataclass(frozen=True)
class LookFacts:
    """What syncd saw when it looked at a book's page."""

    status: PageStatus  # its record
    at_place: bool  # a file is at the recorded path
    strong: bool  # that file is the page by strong evidence (the same file, its opening, ...)
    found: bool  # not at its place, but found elsewhere (see syncd.core.identity.which_page)
    unclear: bool  # not found, and several files may be it


@dataclass(frozen=True)
class SyncRule:
    status: frozenset[PageStatus | None]
    at_place: frozenset[bool]
    to_write: frozenset[bool]
    looked: frozenset[bool]
    recreate: frozenset[bool]
    act: PageAct
    why: str

    def matches(self, facts: SyncFacts) -> bool:
        return (
            facts.status in self.status
            and facts.at_place in self.at_place
            and facts.to_write in self.to_write
            and facts.looked in self.looked
            and facts.recreate in self.recreate
        )


@dataclass(frozen=True)
class LookRule:
    status: frozenset[PageStatus]
    at_place: frozenset[bool]
    strong: frozenset[bool]
    found: frozenset[bool]
    unclear: frozenset[bool]
    act: PageAct
    why: str

    def matches(self, facts: LookFacts) -> bool:
        return (
            facts.status in self.status
            and facts.at_place in self.at_place
            and facts.strong in self.strong
            and facts.found in self.found
            and facts.unclear in self.unclear
        )


def _one(value: Any) -> frozenset[Any]:
    return value if isinstance(value, frozenset) else frozenset({value})


def _on_sync(status: Any, at_place: Any, to_write: Any, looked: Any, recreate: Any,
             act: PageAct, why: str) -> SyncRule:  # fmt: skip
    return SyncRule(
        _one(status), _one(at_place), _one(to_write), _one(looked), _one(recreate), act, why
    )


def _on_look(status: Any, at_place: Any, strong: Any, found: Any, unclear: Any,
             act: PageAct, why: str) -> LookRule:  # fmt: skip
    return LookRule(
        _one(status), _one(at_place), _one(strong), _one(found), _one(unclear), act, why
    )


A, D, W = PageStatus.ACTIVE, PageStatus.DELETED, PageStatus.WAITING

# fmt: off
ON_SYNC: tuple[SyncRule, ...] = (
    #        record      at place  to write  looked  recreate  act
    _on_sync(NEVER,      ANY,      ANY,      ANY,    ANY,      PageAct.CREATE,   "no page yet: written, or the official plugin's page adopted"),
    _on_sync(A,          True,     ANY,      ANY,    ANY,      PageAct.UPDATE,   "where syncd left it: brought up to date"),
    _on_sync(A,          False,    ANY,      False,  ANY,      PageAct.LOOK,     "not where syncd left it: followed if it moved, remembered as deleted if not"),
    _on_sync(A,          False,    ANY,      True,   ANY,      PageAct.WAIT,     "not where syncd left it even once looked for (moved again meanwhile): nothing written now"),
    _on_sync(NOT_ACTIVE, ANY,      True,     False,  ANY,      PageAct.LOOK,     "something to write: has the page come back, or become clear, meanwhile?"),
    _on_sync(W,          ANY,      ANY,      ANY,    ANY,      PageAct.WAIT,     "several files may be its page: nothing is written until one clearly is"),
    _on_sync(D,          ANY,      ANY,      ANY,    True,     PageAct.RECREATE, "deleted, and sync.resync_deleted_pages is on: written anew, whole"),
    _on_sync(D,          ANY,      ANY,      ANY,    False,    PageAct.KEEP_OUT, "the user deleted the page: it is not re-created (syncd resync does)"),
)

ON_LOOK: tuple[LookRule, ...] = (
    #        record      at place  strong  found   unclear  act
    _on_look(A,          True,     ANY,    ANY,    ANY,     PageAct.FOLLOW,       "where syncd left it: the user's edits are observed"),
    _on_look(NOT_ACTIVE, True,     True,   ANY,    ANY,     PageAct.FOLLOW_BACK,  "back at its place, by strong evidence: followed, the book fetched again"),
    _on_look(NOT_ACTIVE, True,     False,  ANY,    ANY,     PageAct.LEAVE_ALONE,  "a file of the user's where the page was: not read again until it changes"),
    _on_look(A,          False,    ANY,    True,   ANY,     PageAct.FOLLOW,       "moved or renamed: followed where it went"),
    _on_look(NOT_ACTIVE, False,    ANY,    True,   ANY,     PageAct.FOLLOW_BACK,  "found elsewhere: followed, the book fetched again"),
    _on_look(EVERY,      False,    ANY,    False,  True,    PageAct.MARK_WAITING, "gone, and several files may be it: the book waits"),
    _on_look(EVERY,      False,    ANY,    False,  False,   PageAct.MARK_DELETED, "gone and not found: the user deleted it; its highlights stay out"),
)
# fmt: on


def on_sync(facts: SyncFacts) -> PageAct:
    """The page's act when Readwise sent its book (the first rule of ON_SYNC that matches)."""
    return next(rule.act for rule in ON_SYNC if rule.matches(facts))


def on_look(facts: LookFacts) -> PageAct:
    """The page's act once syncd looked at it (the first rule of ON_LOOK that matches)."""
    return next(rule.act for rule in ON_LOOK if rule.matches(facts))


def page_rules_table() -> str:
    """Both tables as Markdown, for the README."""

    yes_no: dict[Any, str] = {True: "yes", False: "no"}
    status: dict[Any, str] = {NEVER: "no page yet", **{s: s.value for s in PageStatus}}

    def cell(values: frozenset[Any], names: dict[Any, str] = yes_no) -> str:
        if values in (ANY, EVERY, frozenset({NEVER, *EVERY})):
            return "any"
        return ", ".join(sorted(names[v] for v in values))

    lines = [
        "When Readwise sends a book:",
        "",
        "| page | at its place | anything to write | looked for | resync_deleted_pages | act "
        "| why |",
        "|---|---|---|---|---|---|---|",
        *(
            f"| {cell(r.status, status)} | {cell(r.at_place)} | {cell(r.to_write)} "
            f"| {cell(r.looked)} "
            f"| {cell(r.recreate)} | {r.act.value} | {r.why} |"
            for r in ON_SYNC
        ),
        "",
        "When syncd looks at a page:",
        "",
        "| page | a file at its place | strong evidence | found elsewhere | several may be it "
        "| act | why |",
        "|---|---|---|---|---|---|---|",
        *(
            f"| {cell(r.status, status)} | {cell(r.at_place)} | {cell(r.strong)} "
            f"| {cell(r.found)} | {cell(r.unclear)} | {r.act.value} | {r.why} |"
            for r in ON_LOOK
        ),
    ]
    return "\n".join(lines) + "\n"
