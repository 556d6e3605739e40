"""Shared pytest fixtures, and the `corpus` marker.

A test marked `corpus` compares syncd with the shared corpus of pages Readwise wrote
(`../shared` beside the clone, or `$SYNCD_TEST_SHARED`). Without the corpus such tests are
deselected, not skipped: the header of the run says so, and the byte-for-byte tests run on the
project's own fixtures (`tests/golden/fixtures`), which the corpus tests check where it is there.
"""

from __future__ import annotations

import pytest

from tests.support.corpus import SHARED, corpus_present
from tests.support.mldoc import MldocParser, ensure_installed


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "corpus: compares with the shared Readwise corpus (../shared); deselected without it",
    )


def pytest_report_header(config: pytest.Config) -> str:
    if corpus_present():
        return f"Readwise corpus: {SHARED} (the corpus tests run)"
    return (
        f"Readwise corpus: not at {SHARED}; the tests marked `corpus` are deselected, the "
        "byte-for-byte tests run on tests/golden/fixtures"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if corpus_present():
        return
    deselected = [item for item in items if item.get_closest_marker("corpus") is not None]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = [item for item in items if item.get_closest_marker("corpus") is None]


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
