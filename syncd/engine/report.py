"""What one sync did: `SyncReport`, and the summary line a command ends with."""

from __future__ import annotations

import difflib
import posixpath
from collections import Counter
from dataclasses import dataclass, field

from syncd.core.plan_terms import Outcome
from syncd.edges.atomic import WRITE_FAILED

NAMED_IN_A_GROUP = 3  # books named in the line of a cause many failed for


@dataclass
class SyncReport:
    """What one sync did; `summary()` is the line the command ends with."""

    outcome: Outcome = field(default_factory=Outcome)
    pages_changed: int = 0
    pages_created: int = 0
    failed: list[tuple[object, str]] = field(default_factory=list)
    requests: int = 0
    cursor: str | None = None
    plans: list[str] = field(default_factory=list)  # each book's plan, in a line
    printed: list[str] = field(default_factory=list)  # a dry run's: its plans and their diffs
    full_texts: int = 0  # Reader full texts written
    # What books failed for, by cause: [(book's name, its message)] (see `failure_lines`).
    causes: dict[str, list[tuple[str, str]]] = field(default_factory=dict)

    # Two-way sync: why pushes failed (Readwise refused the token's writes, a highlight gone
    # or a value refused), one line each.
    push_errors: list[str] = field(default_factory=list)
    # The latest mtime (ns) of a page whose edits wait for `push_delay` (None: none wait).
    push_waiting: int | None = None

    dry_run: bool = False  # a dry run's summary says what it would do

    def add_failure(self, book: object, name: str, reason: str) -> str:
        """Record that a book failed (`name`: "book 12 (Title)"); return its one-line message."""
        message = f"{name}: {reason}"
        self.failed.append((book, message))
        self.causes.setdefault(cause_of(reason), []).append((name, message))
        return message

    def failure_lines(self) -> list[str]:
        """What failed, one line per cause: a book's own message when it alone failed for that
        cause; `N books failed: CAUSE (book 1 (A), book 2 (B), book 3 (C) and N-3 more)` when
        several did (every book of a read-only pages folder: one line, not one per book)."""
        lines = []
        grouped: Counter[str] = Counter()
        for cause, books in self.causes.items():
            grouped.update(message for _, message in books)
            if len(books) == 1:
                lines.append(books[0][1])
                continue
            named = ", ".join(name for name, _ in books[:NAMED_IN_A_GROUP])
            more = len(books) - NAMED_IN_A_GROUP
            lines.append(
                f"{len(books)} books failed: {cause} ({named}"
                + (f" and {more} more" if more > 0 else "")
                + ")"
            )
        for _, message in self.failed:  # failures recorded without a cause (full texts)
            if grouped[message]:
                grouped[message] -= 1
            else:
                lines.append(message)
        return lines

    def summary(self) -> str:
        o = self.outcome
        if self.dry_run:
            parts = [
                f"would add {o.new} new highlight{_s(o.new)} in {self.pages_changed} "
                f"page{_s(self.pages_changed)} ({self.pages_created} new)"
            ]
            parts += [
                text
                for n, text in (
                    (o.updated, f"would update {o.updated}"),
                    (o.removed, f"would remove {o.removed}"),
                    (o.kept_out, f"{o.kept_out} would stay out because you deleted them"),
                    (
                        o.conflicts,
                        f"{o.conflicts} conflict{_s(o.conflicts)} would be kept as you edited them",
                    ),
                    (o.pushed, f"would push {o.pushed} field{_s(o.pushed)} to Readwise"),
                    (len(self.failed), f"{len(self.failed)} book{_s(len(self.failed))} failed"),
                )
                if n
            ]
            return "; ".join(parts)
        parts = [
            f"{o.new} new highlight{_s(o.new)} in {self.pages_changed} "
            f"page{_s(self.pages_changed)} ({self.pages_created} new)"
        ]
        parts += [
            f"{n} {what}"
            for n, what in (
                (o.updated, "updated"),
                (o.removed, "removed"),
                (o.kept_out, "kept out because you deleted them"),
                (o.conflicts, f"conflict{_s(o.conflicts)} kept as you edited them"),
                (self.full_texts, f"full text{_s(self.full_texts)} written"),
                (o.pushed, f"field{_s(o.pushed)} pushed to Readwise"),
                (len(self.failed), f"book{_s(len(self.failed))} failed"),
            )
            if n
        ]
        return "; ".join(parts)

    def as_json(self) -> dict[str, object]:
        o = self.outcome
        return {
            "new_highlights": o.new,
            "pages_changed": self.pages_changed,
            "pages_created": self.pages_created,
            "updated": o.updated,
            "removed": o.removed,
            "kept_out": o.kept_out,
            "conflicts": o.conflicts,
            "pushed": o.pushed,
            "push_errors": self.push_errors,
            "failed_books": [{"book": b, "error": e} for b, e in self.failed],
            "failures": self.failure_lines(),
            "full_texts": self.full_texts,
            "requests": self.requests,
            "cursor": self.cursor,
            "summary": self.summary(),
        }


def cause_of(reason: str) -> str:
    """What a failure's reason says of every book it stops, without the book's own page:
    `PATH: cannot write page: REASON` is `cannot write in FOLDER: REASON`; any other reason is
    its own cause."""
    path, found, why = reason.partition(WRITE_FAILED)
    if not found:
        return reason
    return f"cannot write in {posixpath.dirname(path) or '.'}: {why}"


def _s(n: int) -> str:
    return "" if n == 1 else "s"


def unified_diff(name: str, old: str | None, new: str) -> str:
    """A dry run's diff of one page (`old` None: a new page), as `diff -u` shows it."""
    lines = difflib.unified_diff(
        (old or "").splitlines(keepends=True),
        new.splitlines(keepends=True),
        fromfile=f"a/{name}" if old is not None else "/dev/null",
        tofile=f"b/{name}",
    )
    return "".join(
        line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines
    )
