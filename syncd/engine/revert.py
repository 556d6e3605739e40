"""`syncd revert`: pushes put back in Readwise, each recorded as a push of its own.

A push's `before` is sent back (text and note by PATCH; tags: those it added removed, those it
removed added), recorded first as an intent that `reverts` it and settled once sent, as any
push (`syncd.engine.push`). The vault follows at the sync the command runs next: the block
syncd last wrote is untouched, Readwise changed it, so it is rewritten in place.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from syncd.core.push_plan import Send
from syncd.core.records import Push
from syncd.edges.readwise import HighlightGone, WriteRejected
from syncd.engine.push import send
from syncd.errors import UsageError
from syncd.ports import HighlightWriter, StatePort


class RevertError(UsageError):
    """A push that cannot be reverted (unknown, not made, reverted already)."""


def to_revert(state: StatePort, number: int | None, since: datetime | None) -> list[Push]:
    """The pushes `syncd revert N` or `syncd revert --since TIME` puts back, newest first: N
    (made, not reverted yet), or every push made at or after TIME not reverted yet (reverts
    themselves aside)."""
    pushes = state.pushes()
    reverted = {p.reverts for p in pushes if p.reverts is not None and p.state == "made"}
    if number is not None:
        found = next((p for p in pushes if p.number == number), None)
        if found is None:
            raise RevertError(f"no push {number} in the history (see `syncd history`)")
        if found.state != "made":
            raise RevertError(f"push {number} was not made ({found.state}): nothing to revert")
        if number in reverted:
            raise RevertError(f"push {number} was reverted already")
        return [found]
    assert since is not None
    return [
        p
        for p in pushes
        if p.state == "made"
        and p.reverts is None
        and p.number not in reverted
        and datetime.fromisoformat(p.at) >= since
    ]


def revert(
    state: StatePort,
    writer: HighlightWriter,
    pushes: list[Push],
    clock: Callable[[], datetime],
) -> tuple[list[Push], list[str]]:
    """Put each push's `before` back in Readwise (newest first); return the reverts made and
    one line per push that could not be (its highlight gone, its value refused). WriteRefused
    stops it (the token may not write)."""
    made: list[Push] = []
    errors: list[str] = []
    for push in pushes:
        intent = Push(
            0,
            clock().isoformat(timespec="seconds"),
            push.book_id,
            push.highlight_id,
            push.field,
            push.after,
            push.before,
            reverts=push.number,
            book=push.book,
        )
        with state.transaction():
            number = state.add_push(intent)
        try:
            send(writer, Send(push.highlight_id, push.field, push.after, push.before))
        except (HighlightGone, WriteRejected) as error:
            errors.append(f"push {push.number}: {error}")
            with state.transaction():
                state.settle_push(number, "dropped")
            continue
        except BaseException:
            with state.transaction():
                state.settle_push(number, "dropped")
            raise
        with state.transaction():
            state.settle_push(number, "made")
        made.append(Push(**{**vars(intent), "number": number, "state": "made"}))
    return made, errors
