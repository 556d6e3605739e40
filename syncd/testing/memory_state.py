"""`MemoryState`: what syncd remembers, held in dictionaries: the in-memory twin of the SQLite
state (`syncd.edges.state.State`). Both provide `syncd.ports.StatePort`, and one contract
suite (`tests/contract/test_state_contract.py`) holds them to the same behaviour."""

from __future__ import annotations

import sqlite3
from collections.abc import Collection, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import replace

from syncd.core.decision import Status
from syncd.core.records import (
    PROBLEM_KINDS,
    PUSH_STATES,
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


class MemoryState:
    """The state of one vault, in memory: nothing survives the object."""

    def __init__(self) -> None:
        self._meta: dict[str, str] = {}
        self._pages: dict[int, PageRecord] = {}
        self._highlights: dict[int, HighlightRecord] = {}
        self._problems: dict[int, BookProblem] = {}
        self._pending: dict[str, PendingWrite] = {}
        self._pushes: dict[int, Push] = {}
        self._conflicts: dict[tuple[int, str], FieldConflict] = {}
        self._older: dict[int, frozenset[str]] = {}

    @contextmanager
    def transaction(self) -> Iterator[None]:
        # The records are frozen: a copy of each table is a snapshot of it.
        tables = (
            "_meta",
            "_pages",
            "_highlights",
            "_problems",
            "_pending",
            "_pushes",
            "_conflicts",
            "_older",
        )
        saved = {name: dict(getattr(self, name)) for name in tables}
        try:
            yield
        except BaseException:
            for name, table in saved.items():
                setattr(self, name, table)
            raise

    def close(self) -> None:
        """Nothing to let go of (the SQLite state closes its connection)."""

    def error(self, error: sqlite3.Error) -> Exception:
        return error  # nothing here raises one

    def entries(self, prefix: str) -> dict[str, str]:
        return {key: value for key, value in self._meta.items() if key.startswith(prefix)}

    def get(self, key: str) -> str | None:
        return self._meta.get(key)

    def set(self, key: str, value: str | None) -> None:
        if value is None:
            self._meta.pop(key, None)
        else:
            self._meta[key] = value

    def page(self, book_id: int) -> PageRecord | None:
        return self._pages.get(book_id)

    def pages(self, status: PageStatus | None = None) -> list[PageRecord]:
        return [
            page
            for _, page in sorted(self._pages.items())
            if status is None or page.status == status
        ]

    def page_stamps(self) -> list[PageStamp]:
        return [stamp_of(page) for page in self.pages()]

    def pages_at(self, paths: Collection[str]) -> list[PageRecord]:
        wanted = set(paths)
        return [page for _, page in sorted(self._pages.items()) if page.path in wanted]

    def page_paths(self, status: PageStatus) -> list[str]:
        return [page.path for page in self._pages.values() if page.status == status]

    def put_page(self, page: PageRecord) -> None:
        self._pages[page.book_id] = replace(page, status=PageStatus(page.status))

    def page_names(self) -> PageNames:
        names = PageNames()
        for page in self._pages.values():
            names.put(page)
        return names

    def highlights(self, book_id: int) -> dict[int, HighlightRecord]:
        return {
            highlight_id: record
            for highlight_id, record in self._highlights.items()
            if record.book_id == book_id
        }

    def put_highlights(self, records: Iterable[HighlightRecord]) -> None:
        for record in records:
            old = self._highlights.get(record.highlight_id)
            if old is not None and old.block not in ("", record.block):
                self._older[old.highlight_id] = self._older.get(old.highlight_id, frozenset()) | {
                    old.block
                }
            self._highlights[record.highlight_id] = replace(record, status=Status(record.status))

    def delete_book(self, book_id: int) -> None:
        self._pages.pop(book_id, None)
        for highlight_id in list(self.highlights(book_id)):
            del self._highlights[highlight_id]
            self._older.pop(highlight_id, None)
        for key, conflict in list(self._conflicts.items()):
            if conflict.book_id == book_id:
                del self._conflicts[key]

    def problems(self, kind: str | None = None) -> list[BookProblem]:
        return [
            problem for _, problem in sorted(self._problems.items()) if kind in (None, problem.kind)
        ]

    def put_problem(self, problem: BookProblem) -> None:
        assert problem.kind in PROBLEM_KINDS, problem.kind
        self._problems[problem.book_id] = problem

    def clear_problem(self, book_id: int, kind: str | None = None) -> None:
        problem = self._problems.get(book_id)
        if problem is not None and kind in (None, problem.kind):
            del self._problems[book_id]

    def put_pending(self, writes: Iterable[PendingWrite]) -> None:
        for write in writes:
            self._pending[write.path] = write.as_stored()

    def pending(self) -> list[PendingWrite]:
        return [write for _, write in sorted(self._pending.items())]

    def clear_pending(self) -> None:
        self._pending.clear()

    def add_push(self, push: Push) -> int:
        assert push.state in PUSH_STATES, push.state
        number = max(self._pushes, default=0) + 1
        self._pushes[number] = replace(push, number=number)
        return number

    def settle_push(self, number: int, state: str) -> None:
        assert state in PUSH_STATES, state
        if number in self._pushes:
            self._pushes[number] = replace(self._pushes[number], state=state)

    def pushes(self, state: str | None = None) -> list[Push]:
        return [
            push
            for _, push in sorted(self._pushes.items(), reverse=True)
            if state in (None, push.state)
        ]

    def put_conflicts(self, highlight_id: int, conflicts: Iterable[FieldConflict]) -> None:
        for key in [key for key in self._conflicts if key[0] == highlight_id]:
            del self._conflicts[key]
        for conflict in conflicts:
            self._conflicts[(highlight_id, conflict.field)] = conflict

    def conflicts(self) -> list[FieldConflict]:
        return [conflict for _, conflict in sorted(self._conflicts.items())]

    def older_blocks(self, highlight_id: int) -> frozenset[str]:
        return self._older.get(highlight_id, frozenset())

    def page_count(self) -> int:
        return sum(page.status != PageStatus.DELETED for page in self._pages.values())

    def counts(self) -> dict[str, int]:
        counts = {"books": len(self._pages), "pages": 0, "deleted_pages": 0, "highlights": 0}
        for page in self._pages.values():
            counts["pages" if page.status != PageStatus.DELETED else "deleted_pages"] += 1
        counts.update({status.value: 0 for status in Status})
        for record in self._highlights.values():
            counts[record.status.value] += 1
            counts["highlights"] += 1
        return counts
