"""Fixtures the unit tests share: a real state database in a temporary folder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from syncd.edges.state import State


@pytest.fixture
def state(tmp_path: Path) -> Iterator[State]:
    """A new, empty state database (real SQLite) under `tmp_path / "state"`."""
    db = State(tmp_path / "state" / "db.sqlite3")
    yield db
    db.close()
