"""Shared pytest fixtures."""

from __future__ import annotations

import pytest

from tests.support.mldoc import MldocParser, ensure_installed


@pytest.fixture(scope="session")
def mldoc() -> MldocParser:
    """Logseq's Markdown parser (npm ``mldoc``), installed on first use: ``.parse(text)``."""
    ensure_installed()
    return MldocParser()
