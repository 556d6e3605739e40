"""Golden tests for Obsidian vaults (issue 11, item 1): every highlight file of the project's own
Obsidian fixture (tests/golden/fixtures/obsidian) and, where the shared corpus is there, every
usable file of the corpus of Readwise's official Obsidian export
(`../shared/corpus/obsidian-readwise/`, `_history/` included), rebuilt from the book and
highlights it shows and synced at its dates with the loopback server, comes out with the same path
(category folder and file name) and the same bytes; so do the sync logs (`Readwise Syncs.md`).

A file that cannot be rebuilt from what it shows is listed in `UNUSABLE` with the reason
(`tests.support.obsidian_corpus.Unusable`); `test_counts` states the counts that the README
gives."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.support import owned_fixtures
from tests.support.corpus import CORPUS, corpus_param
from tests.support.harness import harness
from tests.support.obsidian_corpus import (
    ObsidianFile,
    corpus_files,
    parse_sync_log,
    read_corpus,
)

OWNED = owned_fixtures.obsidian_files()
CORPUS_USABLE, UNUSABLE, SYNC_LOGS = corpus_files()
#: The owned files and the corpus's usable ones (none without the corpus).
USABLE = [*OWNED, *CORPUS_USABLE]
SETTINGS = {"vault": {"format": "obsidian"}}


def _placeholder(golden: ObsidianFile, n: int) -> dict[str, Any]:
    """An earlier book of the same title, so that the golden file is the `n+1`-th of its name."""
    book_id = n  # below the golden book's id: the server lists books by id
    return {
        **golden.book,
        "user_book_id": book_id,
        "highlights": [
            {"id": book_id * 1000 + 1, "text": "placeholder", "updated_at": "2020-01-01T00:00:00Z"}
        ],
    }


def resync(
    root: Path, golden: ObsidianFile, settings: dict[str, Any] | None = None
) -> tuple[list[str], str]:
    """Sync the file's book once per sync it shows; return (the pages' paths, its text). A
    file linking its Reader full text is synced with `sync.reader_full_text` on."""
    settings = dict(settings or SETTINGS)
    if golden.full_document:
        settings["sync"] = {**settings.get("sync", {}), "reader_full_text": True}
    with harness(root, settings=settings, edn=None, readwise="twin") as h:
        h.now = golden.syncs[0].at - timedelta(seconds=2)
        if golden.full_document:
            h.server.library.reader.add_document(
                id=golden.book["external_id"], html_content="<p>Full text.</p>"
            )
        for n in range(1, golden.number):
            h.server.load([_placeholder(golden, n)])
        h.server.add_book(**golden.book)
        for sync in golden.syncs:
            h.now = sync.at - timedelta(seconds=2)
            for highlight in sync.highlights:
                h.server.add_highlight(golden.book["user_book_id"], **highlight)
            report = h.sync(at=sync.at)
            assert not report.failed
            assert report.outcome.new == len(sync.highlights) + (golden.number - 1) * (
                sync is golden.syncs[0]
            )
        path = f"{golden.category_folder}/{golden.name}"
        return h.page_names(), h.page(path) if h.has_page(path) else ""


@pytest.mark.parametrize(
    "golden",
    [
        *(pytest.param(g, id=f"owned/{g.path[:80]}") for g in OWNED),
        *(corpus_param(g, id=g.path[:80]) for g in CORPUS_USABLE),
    ],
)
def test_corpus_file_is_reproduced_byte_for_byte(tmp_path: Path, golden: ObsidianFile) -> None:
    names, text = resync(tmp_path, golden)
    assert f"{golden.category_folder}/{golden.name}" in names
    assert text == golden.text


_EMPTY_SYNC = re.compile(
    r"- \[\[[-\d]+\]\] \d+:\d\d [AP]M \u2014 Synced 0 highlights from 0 "
    r"documents\.\n\n"
)
# Sync logs with entries of syncs that brought nothing: syncd does not log those (a daemon that
# syncs every few minutes would fill the page), so these match once such entries are left out.
EMPTY_ENTRIES = {
    "standardgalactic+third-brain/Readwise Syncs.md": 12,
    "standardgalactic+third-brain/_history/7ced1de/Readwise Syncs.md": 12,
}


@pytest.mark.parametrize(
    ("relative", "text"),
    [
        pytest.param("owned", owned_fixtures.obsidian_sync_log(), id="owned"),
        *(corpus_param(r, read_corpus(r), id=r) for r in SYNC_LOGS),
    ],
)
def test_sync_log_is_reproduced_byte_for_byte(tmp_path: Path, relative: str, text: str) -> None:
    """Each entry of a `Readwise Syncs.md` (the plugin's, its earlier versions in `_history/`
    too): a sync at its moment bringing its books' highlights, in its order, gives the same
    file."""
    assert len(_EMPTY_SYNC.findall(text)) == EMPTY_ENTRIES.get(relative, 0)
    text = _EMPTY_SYNC.sub("", text)
    entries = parse_sync_log(text)
    settings = {**SETTINGS, "sync": {"sync_log_page": "Readwise"}}
    with harness(tmp_path, settings=settings, edn=None, readwise="twin") as h:
        next_id = 1
        for entry in entries:
            h.now = entry.at - timedelta(seconds=2)
            for title, count in entry.books:
                h.server.add_book(
                    user_book_id=next_id, title=title, readable_title=title, category="articles"
                )
                for k in range(count):
                    h.server.add_highlight(next_id, id=next_id * 1000 + k, text=f"h{k}")
                next_id += 1
            h.sync(at=entry.at)
        assert h.page("Readwise Syncs.md") == text


@CORPUS
def test_counts() -> None:
    """The counts the README states: usable highlight files, all reproduced (the tests above),
    and the files left out with their reasons."""
    for path, why in UNUSABLE:
        print(f"not usable: {path}: {why}")
    assert len(CORPUS_USABLE) + len(UNUSABLE) == 541
    assert len(SYNC_LOGS) == 6
    assert (len(CORPUS_USABLE), len(UNUSABLE)) == (515, 26)
    assert sum(1 for g in CORPUS_USABLE if g.full_document) == 21  # linking a Reader full text
