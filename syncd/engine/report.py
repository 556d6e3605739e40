"""What one sync did: `SyncReport`, and the summary line a command ends with."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

from syncd.core.plan import Outcome


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

    dry_run: bool = False  # a dry run's summary says what it would do

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
            "failed_books": [{"book": b, "error": e} for b, e in self.failed],
            "full_texts": self.full_texts,
            "requests": self.requests,
            "cursor": self.cursor,
            "summary": self.summary(),
        }


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
