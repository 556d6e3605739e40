"""`StateOverlay`: a state that reads through to another and keeps its own changes in memory.

A dry run decides as a sync does, and a sync looks at the pages before it plans (a page the
user deleted or moved, an edited block): what looking finds is remembered, and the plans after
it read it. In a dry run that memory is this overlay, over the real state, which is never
written: the dry run decides what the sync would, and nothing of it stays.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Collection, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from syncd.core.decision import Status
from syncd.core.records import (
    PROBLEM_KINDS,
    BookProblem,
    FieldConflict,
    HighlightRecord,
    PageNames,
    PageRecord,
    PageStamp,
    PageStatus,
    PendingWrite,
    Push,
    stamp_of,
)
from syncd.ports import StatePort

GONE = None  # in a table of changes: the record was deleted


@dataclass
class _Changes:
    meta: dict[str, str | None] = field(default_factory=dict)
    pages: dict[int, PageRecord | None] = field(default_factory=dict)
    highlights: dict[int, dict[int, HighlightRecord]] = field(default_factory=dict)  # by book
    forgotten: set[int] = field(default_factory=set)  # books whose highlights were deleted
    problems: dict[int, BookProblem | None] = field(default_factory=dict)
    pending: list[PendingWrite] | None = None  # None: the base's
    pushes: dict[int, Push] = field(default_factory=dict)  # new or settled here
    conflicts: dict[int, list[FieldConflict]] = field(default_factory=dict)  # by highlight
    older: dict[int, frozenset[str]] = field(default_factory=dict)  # changed here

    def copy(self) -> _Changes:
        return _Changes(
            dict(self.meta),
            dict(self.pages),
            {book: dict(records) for book, records in self.highlights.items()},
            set(self.forgotten),
            dict(self.problems),
            None if self.pending is None else list(self.pending),
            dict(self.pushes),
            {key: list(value) for key, value in self.conflicts.items()},
            dict(self.older),
        )


class StateOverlay:
    """`base` as changed by what was put here; `base` itself is only read."""

    def __init__(self, base: StatePort) -> None:
        self.base = base
        self._changes = _Changes()
        self._names: PageNames | None = None

    @contextmanager
    def transaction(self) -> Iterator[None]:
        saved = self._changes.copy()
        try:
            yield
        except BaseException:
            self._changes, self._names = saved, None
            raise

    def error(self, error: sqlite3.Error) -> Exception:
        return self.base.error(error)

    def close(self) -> None:
        """Nothing to let go of: the base is its owner's to close."""

    def entries(self, prefix: str) -> dict[str, str]:
        entries = self.base.entries(prefix)
        for key, value in self._changes.meta.items():
            if key.startswith(prefix):
                if value is GONE:
                    entries.pop(key, None)
                else:
                    entries[key] = value
        return entries

    def get(self, key: str) -> str | None:
        if key in self._changes.meta:
            return self._changes.meta[key]
        return self.base.get(key)

    def set(self, key: str, value: str | None) -> None:
        self._changes.meta[key] = value

    def page(self, book_id: int) -> PageRecord | None:
        if book_id in self._changes.pages:
            return self._changes.pages[book_id]
        return self.base.page(book_id)

    def pages(self, status: PageStatus | None = None) -> list[PageRecord]:
        changed = self._changes.pages
        pages = {p.book_id: p for p in self.base.pages() if p.book_id not in changed}
        pages.update({book_id: p for book_id, p in changed.items() if p is not GONE})
        return [p for _, p in sorted(pages.items()) if status is None or p.status == status]

    def page_stamps(self) -> list[PageStamp]:
        if not self._changes.pages:
            return self.base.page_stamps()
        return [stamp_of(page) for page in self.pages()]

    def pages_at(self, paths: Collection[str]) -> list[PageRecord]:
        if not self._changes.pages:
            return self.base.pages_at(paths)
        wanted = set(paths)
        return [page for page in self.pages() if page.path in wanted]

    def page_paths(self, status: PageStatus) -> list[str]:
        if not self._changes.pages:
            return self.base.page_paths(status)
        return [page.path for page in self.pages(status)]

    def put_page(self, page: PageRecord) -> None:
        self._changes.pages[page.book_id] = page
        if self._names is not None:
            self._names.put(page)

    def page_names(self) -> PageNames:
        if self._names is None:
            self._names = PageNames()
            for page in self.pages():
                self._names.put(page)
        return self._names

    def highlights(self, book_id: int) -> dict[int, HighlightRecord]:
        known = {} if book_id in self._changes.forgotten else self.base.highlights(book_id)
        return {**known, **self._changes.highlights.get(book_id, {})}

    def put_highlights(self, records: Iterable[HighlightRecord]) -> None:
        for record in records:
            old = self.highlights(record.book_id).get(record.highlight_id)
            if old is not None and old.block not in ("", record.block):
                self._changes.older[record.highlight_id] = self.older_blocks(
                    record.highlight_id
                ) | {old.block}
            self._changes.highlights.setdefault(record.book_id, {})[record.highlight_id] = record

    def delete_book(self, book_id: int) -> None:
        for highlight_id in self.highlights(book_id):
            self._changes.older[highlight_id] = frozenset()
        self._changes.pages[book_id] = GONE
        self._changes.highlights.pop(book_id, None)
        self._changes.forgotten.add(book_id)
        for conflict in self.conflicts():
            if conflict.book_id == book_id:
                self._changes.conflicts[conflict.highlight_id] = []
        if self._names is not None:
            self._names.drop(book_id)

    def problems(self, kind: str | None = None) -> list[BookProblem]:
        changed = self._changes.problems
        problems = {p.book_id: p for p in self.base.problems() if p.book_id not in changed}
        problems.update({book_id: p for book_id, p in changed.items() if p is not GONE})
        return [p for _, p in sorted(problems.items()) if kind in (None, p.kind)]

    def put_problem(self, problem: BookProblem) -> None:
        assert problem.kind in PROBLEM_KINDS, problem.kind
        self._changes.problems[problem.book_id] = problem

    def clear_problem(self, book_id: int, kind: str | None = None) -> None:
        changed = self._changes.problems
        problem = (
            changed[book_id]
            if book_id in changed
            else next((p for p in self.base.problems() if p.book_id == book_id), None)
        )
        if problem is not None and kind in (None, problem.kind):
            changed[book_id] = GONE

    def put_pending(self, writes: Iterable[PendingWrite]) -> None:
        pending = {write.path: write for write in self.pending()}
        pending.update({write.path: write.as_stored() for write in writes})
        self._changes.pending = list(pending.values())

    def pending(self) -> list[PendingWrite]:
        if self._changes.pending is None:
            return self.base.pending()
        return sorted(self._changes.pending, key=lambda write: write.path)

    def clear_pending(self) -> None:
        self._changes.pending = []

    def add_push(self, push: Push) -> int:
        number = max([p.number for p in self.pushes()], default=0) + 1
        self._changes.pushes[number] = Push(**{**vars(push), "number": number})
        return number

    def settle_push(self, number: int, state: str) -> None:
        push = next((p for p in self.pushes() if p.number == number), None)
        if push is not None:
            self._changes.pushes[number] = Push(**{**vars(push), "state": state})

    def pushes(self, state: str | None = None) -> list[Push]:
        pushes = {p.number: p for p in self.base.pushes()}
        pushes.update(self._changes.pushes)
        return [p for _, p in sorted(pushes.items(), reverse=True) if state in (None, p.state)]

    def put_conflicts(self, highlight_id: int, conflicts: Iterable[FieldConflict]) -> None:
        self._changes.conflicts[highlight_id] = list(conflicts)

    def conflicts(self) -> list[FieldConflict]:
        changed = self._changes.conflicts
        kept = [c for c in self.base.conflicts() if c.highlight_id not in changed]
        mine = [c for conflicts in changed.values() for c in conflicts]
        return sorted([*kept, *mine], key=lambda c: (c.highlight_id, c.field))

    def older_blocks(self, highlight_id: int) -> frozenset[str]:
        older = self._changes.older.get(highlight_id)
        return self.base.older_blocks(highlight_id) if older is None else older

    def page_count(self) -> int:
        count = self.base.page_count()
        for book_id, page in self._changes.pages.items():
            for counted, sign in ((self.base.page(book_id), -1), (page, 1)):
                if counted is not None and counted.status != PageStatus.DELETED:
                    count += sign
        return count

    def counts(self) -> dict[str, int]:
        """The base's counts, less what the changed books counted there, plus what they count
        here."""
        counts = self.base.counts()
        for book_id, page in self._changes.pages.items():
            for counted, sign in ((self.base.page(book_id), -1), (page, 1)):
                if counted is not None:
                    counts["books"] += sign
                    counts[
                        "deleted_pages" if counted.status == PageStatus.DELETED else "pages"
                    ] += sign
        for book_id in {*self._changes.highlights, *self._changes.forgotten}:
            for records, sign in (
                (self.base.highlights(book_id), -1),
                (self.highlights(book_id), 1),
            ):
                for record in records.values():
                    counts[Status(record.status).value] += sign
                    counts["highlights"] += sign
        return counts
