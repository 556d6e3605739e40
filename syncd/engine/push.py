"""Sending a plan's pushes to Readwise (issue 19): `Pusher`, and `send`, one field's requests.

Each push is recorded as an intent (`sent`) and committed just before its request, with the
highlight's `updated_at` in Readwise then (`seen`: the plan's copy's, or the answer's to this
run's previous write to it); the applier settles it (`made`) in the transaction that records
the page. A kill between the two leaves it `sent`: the next sync settles it by what Readwise
holds (`syncd.core.push_plan.settled`): made when Readwise holds the value (the base of its
field in that sync's plan, `syncd.core.push_plan.agreed_values`: the record still holds the
block before it; it stays `sent` while its highlight is a conflict); dropped (planned afresh,
sent again if the edit still stands) when the highlight is still at `seen`, so the request
never changed it; else its fate cannot be told (Readwise changed since and lacks the value:
the request, then Readwise's change of it, or Readwise's change alone), and the field is a
conflict rather than a guess (a tag is added once, and a tag Readwise removed after the push
is not added again). A push not begun when the kill came was never recorded: planned afresh.

Errors: `WriteRefused` (the token may read but not write) pauses pushing for the rest of the
run, with one error; `HighlightGone` (deleted in Readwise) and `WriteRejected` (a value Readwise
refuses) fail that highlight alone: the vault keeps the edit, `syncd status` says why
(`PUSH_PROBLEM` entries), the other highlights go on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from syncd.core.decision import Status
from syncd.core.records import Push
from syncd.edges.readwise import HighlightGone, WriteRefused, WriteRejected
from syncd.engine.report import SyncReport
from syncd.ports import HighlightWriter, StatePort

if TYPE_CHECKING:  # a Run makes its pusher before it plans anything (issue 20)
    from syncd.core.book_plan import BookPlan
    from syncd.core.push_plan import Send

log = logging.getLogger("syncd.sync")

# State keys: "push_problem:<highlight id>" -> why its edit stays in the vault (for status);
# "keep:<highlight id>" -> the side `syncd resolve` kept ("vault" or "readwise").
PUSH_PROBLEM = "push_problem:"
KEEP = "keep:"
# "push_seen:<book id>" -> the mtime (ns) of the book's page when a push plan last looked at
# it: a page whose recorded mtime differs has edits to look at (its book is fetched by id).
PUSH_SEEN = "push_seen:"


def send(writer: HighlightWriter, item: Send) -> datetime | None:
    """Make Readwise hold `item.after` in the field: text and note by PATCH, tags by adding
    those it lacks and removing those it should not have (its tags read first, so a tag
    a killed sync added is not added again). Return the highlight's `updated_at` after it
    when Readwise's answer tells it (a PATCH's), else None."""
    if item.field == "text":
        assert isinstance(item.after, str)
        return writer.update_highlight(item.highlight_id, text=item.after)
    if item.field == "note":
        assert isinstance(item.after, str)
        return writer.update_highlight(item.highlight_id, note=item.after)
    assert isinstance(item.after, frozenset) and isinstance(item.before, frozenset)
    held = {tag.name: tag.id for tag in writer.highlight_tags(item.highlight_id)}
    for name in sorted(item.after - held.keys()):
        writer.add_tag(item.highlight_id, name)
    for name in sorted(held.keys() - item.after):
        if name in item.before:  # only what the vault removed: a tag added meanwhile stays
            writer.remove_tag(item.highlight_id, held[name])
    return None


@dataclass
class Sent:
    """What sending a plan's pushes did: the pushes made (numbers), those dropped, and the
    highlights whose records must stay as they were (a send failed)."""

    made: list[int] = field(default_factory=list)
    dropped: list[int] = field(default_factory=list)
    failed: set[int] = field(default_factory=set)
    problems: dict[int, str | None] = field(default_factory=dict)  # highlight -> why (None: ok)


def as_push(
    send: Send, number: int, at: str, book_id: int, title: str, seen: str | None = None
) -> Push:
    """A send as the state records it; `seen`: Readwise's `updated_at` of the highlight just
    before the request (see `syncd.core.push_plan.settled`)."""
    return Push(
        number,
        at,
        book_id,
        send.highlight_id,
        send.field,
        send.before,
        send.after,
        book=title,
        seen=seen,
    )


class Pusher:
    """Sends the pushes of one sync's plans (see the module doc)."""

    def __init__(
        self,
        *,
        writer: HighlightWriter | None,
        state: StatePort,
        report: SyncReport,
        clock: Callable[[], datetime],
        pause: Callable[[], None],
    ) -> None:
        self.writer = writer
        self.state = state
        self.report = report
        self.clock = clock
        self.pause = pause  # stops planning pushes for the rest of the run
        self.paused = writer is None
        # The sends made in this run, by highlight and field: a copy of a highlight fetched
        # before its push (a book served twice, a plan made again) is stale for those fields
        # (`syncd.core.push_plan.lay_over`).
        self.pushed: dict[int, dict[str, Send]] = {}
        # The highlights this run wrote to, each with its `updated_at` after the last write as
        # Readwise answered it (None: not told): the `seen` of the next push to it.
        self.answered: dict[int, str | None] = {}

    def push(self, plan: BookPlan) -> Sent:
        """Record the plan's pushes as intents (committed), then send them."""
        sent = Sent()
        if plan.pushes_looked:  # the page read again: what status told of its edits is redone
            sent.problems.update(dict.fromkeys(self._problems_of(plan.fetched)))
        if not plan.pushes and not plan.skipped:
            return sent
        for decided in plan.pushes:
            sent.problems[decided.highlight_id] = None
        for skipped in plan.skipped:
            if skipped.lasting:  # `syncd status` tells of it
                sent.problems[skipped.highlight_id] = skipped.why
        if not plan.sends:
            return sent
        at = self.clock().isoformat(timespec="seconds")
        for item in plan.sends:
            hid = item.highlight_id
            seen = self.answered.get(hid, item.seen)
            with self.state.transaction():  # the intent, before its request
                number = self.state.add_push(
                    as_push(item, 0, at, plan.book_id, plan.title, seen=seen)
                )
            if self.paused or hid in sent.failed:
                sent.dropped.append(number)
                sent.failed.add(hid)
                continue
            self.answered[hid] = None  # (a kill or an error: what it changed is not known)
            try:
                assert self.writer is not None
                changed = send(self.writer, item)
            except WriteRefused as error:
                self.paused = True
                self.pause()
                self.report.push_errors.append(str(error))
                sent.dropped.append(number)
                sent.failed.add(item.highlight_id)
                sent.problems.pop(item.highlight_id, None)
                continue
            except (HighlightGone, WriteRejected) as error:
                why = f"highlight {item.highlight_id} ({plan.title}): {error}"
                log.warning("%s", why)
                self.report.push_errors.append(why)
                sent.dropped.append(number)
                sent.failed.add(item.highlight_id)
                sent.problems[item.highlight_id] = str(error)
                continue
            sent.made.append(number)
            self.answered[hid] = changed.isoformat() if isinstance(changed, datetime) else None
            self.pushed.setdefault(item.highlight_id, {})[item.field] = item
        plan.outcome.pushed = len(sent.made)
        return sent

    def _problems_of(self, highlights: frozenset[int]) -> list[int]:
        """Those of the highlights (a plan's, looked at again) `syncd status` tells a push
        problem of: a plan made from some of a book's highlights (an export's changes) says
        nothing of the others' edits (world seed 1979851998: a problem cleared unseen)."""
        told = self.state.entries(PUSH_PROBLEM)
        return [hid for hid in highlights if f"{PUSH_PROBLEM}{hid}" in told]

    def record(self, plan: BookPlan, sent: Sent) -> None:
        """In the transaction that records the page: settle the pushes, remember the
        conflicts and why a highlight's edit stayed in the vault, forget a resolution used."""
        for number in sent.made:
            self.state.settle_push(number, "made")
        for number in sent.dropped:
            self.state.settle_push(number, "dropped")
        for number, state in plan.settled:
            self.state.settle_push(number, state)
        if plan.highlights and (conflicts := self.state.conflicts()):
            # A highlight no longer in conflict (its edit undone, Readwise's value pulled)
            settled_ids = {
                r.highlight_id for r in plan.highlights if r.status is not Status.CONFLICT
            }
            for highlight_id in {c.highlight_id for c in conflicts} & settled_ids:
                if highlight_id not in sent.failed:
                    self.state.put_conflicts(highlight_id, [])
        for decided in plan.pushes:
            highlight_id = decided.highlight_id
            if highlight_id not in sent.failed:
                self.state.put_conflicts(highlight_id, decided.conflicts)
                if not decided.conflicts:
                    self.state.set(KEEP + str(highlight_id), None)
        for highlight_id, why in sent.problems.items():
            self.state.set(PUSH_PROBLEM + str(highlight_id), why)
