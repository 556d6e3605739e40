"""The project's own golden fixtures, synced byte for byte from the clone (no shared corpus needed).

Each library of tests/golden/fixtures (Readwise export records written for the project, with the
corpus's hazards: odd and long titles, tags, notes, multi-line text, every location kind, chapter
headings, first and later syncs at every date and time form, the sync log, Reader full text)
is synced through the loopback Readwise over HTTP, one sync per moment it lists; every page
written must be its expected page, path and bytes. The expected pages are syncd's output,
checked against the corpus where it is there (test_owned_fixtures_follow_the_corpus.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.owned_fixtures import OwnedLibrary, expected_pages, libraries, sync_library

LIBRARIES = libraries()


def test_both_formats_have_a_library() -> None:
    assert sorted(library.format for library in LIBRARIES) == ["logseq", "obsidian"]


@pytest.mark.parametrize("library", LIBRARIES, ids=[library.name for library in LIBRARIES])
def test_owned_library_is_synced_byte_for_byte(tmp_path: Path, library: OwnedLibrary) -> None:
    expected = expected_pages(library)
    written = sync_library(tmp_path, library)
    assert sorted(written) == sorted(expected)
    for name, text in expected.items():
        assert written[name] == text, (
            f"{name} differs from tests/golden/fixtures/{library.name}/expected/{name}"
        )
