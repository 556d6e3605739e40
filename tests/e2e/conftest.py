"""Fixtures the command-line tests share: a loopback Readwise holding one book, and a vault."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from syncd.testing.fakereadwise import FakeReadwise

TOKEN = "tok-e2e-0123456789abcdef"


@pytest.fixture
def server() -> Iterator[FakeReadwise]:
    with FakeReadwise(token=TOKEN) as server:
        server.add_book(
            title="Walden",
            author="Thoreau",
            highlights=[{"text": "Simplify, simplify.", "updated_at": "2023-01-01T00:00:00Z"}],
        )
        yield server


@pytest.fixture
def vault(tmp_path: Path) -> Path:
    path = tmp_path / "graph"
    path.mkdir()
    return path
