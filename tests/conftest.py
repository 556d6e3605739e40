"""Shared pytest fixtures, and the `corpus` marker.

A test marked `corpus` compares syncd with the shared corpus of pages Readwise wrote
(`../shared` beside the clone, or `$SYNCD_TEST_SHARED`). Without the corpus such tests are
deselected, not skipped: the header of the run says so, and the byte-for-byte tests run on the
project's own fixtures (`tests/golden/fixtures`), which the corpus tests check where it is there.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.corpus import SHARED, corpus_present
from tests.support.mldoc import MldocParser, ensure_installed


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "corpus: compares with the shared Readwise corpus (../shared); deselected without it",
    )
    config.addinivalue_line(
        "markers",
        "writes_readwise: the test sends write requests to the loopback Readwise on purpose "
        "(two-way sync with sync.push on, the write endpoints' own tests)",
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


# The write endpoints' own tests (branch pushapi): they write on purpose.
WRITE_ENDPOINT_TESTS = frozenset({"test_readwise_writes.py", "test_readwise_writer.py"})


@pytest.fixture(autouse=True)
def _no_write_without_push(request: pytest.FixtureRequest) -> Iterator[None]:
    """issue 19: with `sync.push` absent, syncd never asks Readwise to change anything. Every
    loopback Readwise a test starts is watched: a test that is not marked `writes_readwise`
    (the two-way sync tests, the write endpoints' own) fails if any write request reached it,
    whatever sent it (a sync in the test's process, or a `syncd` process it started)."""
    from syncd.testing.fakereadwise import FakeReadwise

    started: list[FakeReadwise] = []
    original = FakeReadwise.start

    def start(self: FakeReadwise) -> FakeReadwise:
        started.append(self)
        return original(self)

    FakeReadwise.start = start  # type: ignore[method-assign]
    try:
        yield
    finally:
        FakeReadwise.start = original  # type: ignore[method-assign]
    if (
        request.node.get_closest_marker("writes_readwise") is None
        and request.node.path.name not in WRITE_ENDPOINT_TESTS
    ):
        writes = [f"{r.method} {r.path}" for server in started for r in server.writes]
        assert not writes, f"write requests without sync.push: {writes}"
