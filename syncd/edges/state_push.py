"""What the state stores of two-way sync (issue 19): the pushes sent to Readwise (its history,
and the intents a kill may leave), the conflicts between the vault and Readwise, and the
blocks syncd recorded for a highlight before its current one (a page restored to one of them is
never pushed), for `syncd.edges.state.State`."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable

from syncd.core.records import PUSH_STATES, FieldConflict, FieldValue, Push

PUSH_SCHEMA = """
CREATE TABLE IF NOT EXISTS pushes (  -- see Push
    number INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    book_id INTEGER NOT NULL,
    book TEXT NOT NULL,
    highlight_id INTEGER NOT NULL,
    field TEXT NOT NULL,
    before TEXT NOT NULL,            -- JSON: a string, or a sorted list of tags
    after TEXT NOT NULL,
    reverts INTEGER,
    state TEXT NOT NULL,             -- see PUSH_STATES
    seen TEXT                        -- Readwise's updated_at before the request (NULL: unknown)
);
CREATE INDEX IF NOT EXISTS pushes_by_state ON pushes (state);
CREATE TABLE IF NOT EXISTS conflicts (  -- see FieldConflict
    highlight_id INTEGER NOT NULL,
    field TEXT NOT NULL,
    book_id INTEGER NOT NULL,
    page TEXT NOT NULL,
    base TEXT NOT NULL,              -- JSON, as pushes.before
    vault TEXT NOT NULL,
    readwise TEXT NOT NULL,
    PRIMARY KEY (highlight_id, field)
);
CREATE TABLE IF NOT EXISTS older_blocks (  -- blocks a highlight's record held before
    highlight_id INTEGER NOT NULL,
    block TEXT NOT NULL,
    PRIMARY KEY (highlight_id, block)
);
"""


def dump_value(value: FieldValue) -> str:
    return json.dumps(value if isinstance(value, str) else sorted(value))


def load_value(text: str) -> FieldValue:
    value = json.loads(text)
    return value if isinstance(value, str) else frozenset(str(tag) for tag in value)


class PushTables:
    """The pushes, conflicts and older blocks of a state database (`_db`)."""

    _db: sqlite3.Connection

    def add_push(self, push: Push) -> int:
        """Record a push (its number ignored); return the number it is given."""
        assert push.state in PUSH_STATES, push.state
        cursor = self._db.execute(
            "INSERT INTO pushes (at, book_id, book, highlight_id, field, before, after, "
            "reverts, state, seen) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                push.at,
                push.book_id,
                push.book,
                push.highlight_id,
                push.field,
                dump_value(push.before),
                dump_value(push.after),
                push.reverts,
                push.state,
                push.seen,
            ),
        )
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def settle_push(self, number: int, state: str) -> None:
        assert state in PUSH_STATES, state
        self._db.execute("UPDATE pushes SET state = ? WHERE number = ?", (state, number))

    def pushes(self, state: str | None = None) -> list[Push]:
        """The pushes (only those in `state` when given), newest first."""
        where, args = ("", ()) if state is None else ("WHERE state = ?", (state,))
        rows = self._db.execute(
            "SELECT number, at, book_id, book, highlight_id, field, before, after, reverts, "
            f"state, seen FROM pushes {where} ORDER BY number DESC",
            args,
        )
        return [
            Push(
                number,
                at,
                book_id,
                highlight_id,
                field,
                load_value(before),
                load_value(after),
                reverts,
                state_,
                book,
                seen,
            )
            for (
                number,
                at,
                book_id,
                book,
                highlight_id,
                field,
                before,
                after,
                reverts,
                state_,
                seen,
            ) in rows
        ]

    def put_conflicts(self, highlight_id: int, conflicts: Iterable[FieldConflict]) -> None:
        """The highlight's conflicts are now `conflicts` (none: it has none)."""
        self._db.execute("DELETE FROM conflicts WHERE highlight_id = ?", (highlight_id,))
        self._db.executemany(
            "INSERT INTO conflicts VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                (
                    c.highlight_id,
                    c.field,
                    c.book_id,
                    c.page,
                    dump_value(c.base),
                    dump_value(c.vault),
                    dump_value(c.readwise),
                )
                for c in conflicts
            ),
        )

    def conflicts(self) -> list[FieldConflict]:
        """Every conflict, by highlight and field."""
        rows = self._db.execute("SELECT * FROM conflicts ORDER BY highlight_id, field")
        return [
            FieldConflict(
                highlight_id, book_id, field, page, *map(load_value, (base, vault, readwise))
            )
            for highlight_id, field, book_id, page, base, vault, readwise in rows
        ]

    def older_blocks(self, highlight_id: int) -> frozenset[str]:
        """The blocks the highlight's record held before its current one."""
        rows = self._db.execute(
            "SELECT block FROM older_blocks WHERE highlight_id = ?", (highlight_id,)
        )
        return frozenset(row[0] for row in rows)
