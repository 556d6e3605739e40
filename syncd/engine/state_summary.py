"""What the commands that tell of a vault keep in its state and read back: the last sync (when
it ran, its summary, the error that stopped it or the books that failed, or that it was
interrupted), written by the commands and the daemon that run syncs; and every book the state
knows, with its page and its highlights counted (`syncd status --books`, `syncd resync`)."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from syncd.engine.report import SyncReport
from syncd.ports import StatePort

if TYPE_CHECKING:  # imported by `book_entries` (status, resync), not by every sync
    from syncd.core.books import BookEntry


def record_sync(state: StatePort, report: SyncReport) -> None:
    """Remember a finished sync: its time and summary; an error only if books failed."""
    state.set("last_sync", datetime.now(timezone.utc).isoformat(timespec="seconds"))
    state.set("last_summary", report.summary())
    if report.failed:
        state.set("last_error", "; ".join(report.failure_lines()))
    else:
        state.set("last_success", datetime.now(timezone.utc).isoformat(timespec="seconds"))
        state.set("last_error", None)


def interrupted_line(how: str, pages_written: int) -> str:
    """What a sync stopped before its end did: `interrupted (Ctrl-C) after N pages written`."""
    return (
        f"interrupted ({how}) after {pages_written} page{'' if pages_written == 1 else 's'} written"
    )


def record_interrupted(state: StatePort, how: str, pages_written: int) -> None:
    """Remember a sync stopped before its end (Ctrl-C, or the daemon asked to stop): `status`
    shows it as the last sync, and as the last error until a sync completes."""
    line = interrupted_line(how, pages_written)
    state.set("last_sync", datetime.now(timezone.utc).isoformat(timespec="seconds"))
    state.set("last_summary", f"{line}; the next sync continues")
    state.set("last_error", f"the last sync was {line}; the next sync continues")


def record_error(state: StatePort, error: BaseException) -> None:
    """Remember why the last sync failed as a whole (Readwise unreachable, ...)."""
    state.set("last_error", str(error) or type(error).__name__)


def book_entries(state: StatePort) -> list[BookEntry]:
    """Every book the state knows: those with a page, and those that failed or wait without
    one; each with its highlights counted by status."""
    from syncd.core.books import BookEntry

    problems = {p.book_id: p for p in state.problems()}
    entries = []
    for page in state.pages():
        counts = Counter(h.status.value for h in state.highlights(page.book_id).values())
        problem = problems.pop(page.book_id, None)
        entries.append(
            BookEntry(
                page.book_id,
                page.title,
                page.path,
                page.status,
                dict(counts),
                f"{problem.kind}: {problem.reason}" if problem else None,
            )
        )
    entries += [
        BookEntry(p.book_id, p.title, problem=f"{p.kind}: {p.reason}") for p in problems.values()
    ]
    return sorted(entries, key=lambda b: b.book_id)
