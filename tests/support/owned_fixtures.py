"""The project's own golden fixtures: small Readwise libraries, and the pages syncd writes for them.

`tests/golden/fixtures/<name>/library.json` is a library written for the project (no text of the
shared corpus): its `syncs`, each a moment (`at`) and the records Readwise's export answers at
that sync (`export`: the books changed since the last sync, each with its new highlights, shaped
as `/api/v2/export/` shapes them) and, for Reader full text, the Reader documents
(`reader`). Its `format` (logseq or obsidian) and `settings` (config sections merged into the
test harness's) say how it is synced. `tests/golden/fixtures/<name>/expected/` holds every page
syncd wrote for it, by its path under the pages folder, byte for byte.

The expected pages are syncd's output, reviewed against the shared corpus: where the corpus is
there (CI), tests/golden/test_owned_fixtures_follow_the_corpus.py checks that every line of them
has a shape the corpus shows, and the corpus's every shape is in them. So a clone without the
corpus still checks, byte for byte, that syncd writes Readwise's real format.

After a deliberate change of the output, rewrite the expected pages and review the diff:

    PYTHONPATH=. python3 -m tests.support.owned_fixtures --write
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from syncd.testing.export_shapes import parse_time
from tests.support.corpus import GoldenPage, parse_golden_page
from tests.support.harness import TRIPLE_LOWBAR_EDN, harness
from tests.support.obsidian_corpus import (
    FULL_TEXT_FOLDER,
    SYNC_LOG_NAME,
    ObsidianFile,
    parse_obsidian_file,
)

FIXTURES: Path = Path(__file__).resolve().parents[1] / "golden" / "fixtures"


@dataclass(frozen=True)
class Sync:
    at: datetime
    export: tuple[dict[str, Any], ...]
    reader: tuple[dict[str, Any], ...]


@dataclass(frozen=True)
class OwnedLibrary:
    """One owned library and where its expected pages are."""

    name: str
    format: str
    settings: dict[str, Any]
    syncs: tuple[Sync, ...]

    @property
    def expected_dir(self) -> Path:
        return FIXTURES / self.name / "expected"


def load(name: str) -> OwnedLibrary:
    """Given a fixture's folder name, return its library."""
    data = json.loads((FIXTURES / name / "library.json").read_bytes().decode("utf-8"))
    syncs = tuple(
        Sync(
            at=parse_time(sync["at"]),
            export=tuple(sync["export"]),
            reader=tuple(sync.get("reader", ())),
        )
        for sync in data["syncs"]
    )
    return OwnedLibrary(name, data["format"], data.get("settings", {}), syncs)


def libraries() -> list[OwnedLibrary]:
    """Every owned library, by name."""
    return [load(path.parent.name) for path in sorted(FIXTURES.glob("*/library.json"))]


def sync_library(root: Path, library: OwnedLibrary) -> dict[str, str]:
    """Sync the library into a new vault under `root`, one sync per entry of its `syncs` over
    the loopback Readwise (HTTP); return every page written, by its path under the pages
    folder, as text (its exact bytes, decoded)."""
    settings = {**library.settings, "vault": {"format": library.format}}
    edn = TRIPLE_LOWBAR_EDN if library.format == "logseq" else None
    with harness(root, settings=settings, edn=edn) as h:
        known: set[int] = set()
        for sync in library.syncs:
            h.now = sync.at - timedelta(hours=1)
            for document in sync.reader:
                h.server.library.reader.add_document(**document)
            for record in sync.export:
                book_id = record["user_book_id"]
                if book_id in known:
                    for highlight in record["highlights"]:
                        h.server.add_highlight(book_id, **highlight)
                else:
                    h.server.add_book(**record)
                    known.add(book_id)
            report = h.sync(at=sync.at)
            assert not report.failed, report.failed
            assert report.outcome.new == sum(len(r["highlights"]) for r in sync.export)
        return {name: h.page(name) for name in h.page_names()}


def expected_pages(library: OwnedLibrary) -> dict[str, str]:
    """The library's expected pages, by path under the pages folder."""
    folder = library.expected_dir
    return {
        path.relative_to(folder).as_posix(): path.read_bytes().decode("utf-8")
        for path in sorted(folder.rglob("*.md"))
    }


def write_expected(library: OwnedLibrary) -> None:
    """Replace the library's expected pages with what syncd writes now."""
    with tempfile.TemporaryDirectory() as root:
        pages = sync_library(Path(root), library)
    shutil.rmtree(library.expected_dir, ignore_errors=True)
    for name, text in pages.items():
        path = library.expected_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode("utf-8"))


# -- the expected pages, read as the golden tests read the corpus -------------------------------

LOGSEQ_SYNC_LOG = "Readwise.md"


def logseq_pages() -> list[GoldenPage]:
    """The owned Logseq library's expected book pages, read by the corpus's page reader (which
    refuses a line not in the export's format)."""
    pages = expected_pages(load("logseq"))
    return [
        parse_golden_page(name, text) for name, text in pages.items() if name != LOGSEQ_SYNC_LOG
    ]


def logseq_sync_log() -> str:
    """The owned Logseq library's expected sync log page."""
    return expected_pages(load("logseq"))[LOGSEQ_SYNC_LOG]


def obsidian_files() -> list[ObsidianFile]:
    """The owned Obsidian library's expected highlight files, read by the corpus's file reader
    (which raises `Unusable` for a file not in the plugin's format)."""
    return [
        parse_obsidian_file(name, text)
        for name, text in expected_pages(load("obsidian")).items()
        if name != SYNC_LOG_NAME and not name.startswith(f"{FULL_TEXT_FOLDER}/")
    ]


def obsidian_full_texts() -> dict[str, str]:
    """The owned Obsidian library's expected Reader full text files, by path."""
    return {
        name: text
        for name, text in expected_pages(load("obsidian")).items()
        if name.startswith(f"{FULL_TEXT_FOLDER}/")
    }


def obsidian_sync_log() -> str:
    """The owned Obsidian library's expected sync log (`Readwise Syncs.md`)."""
    return expected_pages(load("obsidian"))[SYNC_LOG_NAME]


def main(argv: list[str]) -> int:
    if argv != ["--write"]:
        print("usage: python3 -m tests.support.owned_fixtures --write", file=sys.stderr)
        return 2
    for library in libraries():
        write_expected(library)
        print(f"{library.expected_dir}: {len(expected_pages(library))} pages")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
