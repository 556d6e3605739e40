"""Shared pytest fixtures."""

from __future__ import annotations

import pytest

from tests.support.mldoc import MldocParser, ensure_installed


@pytest.fixture(scope="session")
def mldoc() -> MldocParser:
    """Logseq's Markdown parser (npm ``mldoc``), installed on first use: ``.parse(text)``."""
    ensure_installed()
    return MldocParser()


@pytest.fixture(scope="session", autouse=True)
def _state_home(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Keep the default state folder (where syncd also locks each vault it syncs, whatever the
    config's state_dir) out of the real home: every test and the syncd processes it starts get
    a temporary $XDG_STATE_HOME, unless a test sets its own."""
    import os

    os.environ["XDG_STATE_HOME"] = str(tmp_path_factory.mktemp("xdg-state"))
