"""Golden tests of Reader full text (issue 11, last part): every full text file of the project's
own Obsidian fixture (tests/golden/fixtures/obsidian) and, where the shared corpus is there, of
the Obsidian corpus (`Full Document Contents/<Category>/<name>.md`, written by Readwise's official
plugin),
rebuilt from the book its head shows, synced with `sync.reader_full_text` on, comes out at the
same path with the same head (title, cover, metadata, `## Full Document`) byte for byte; an
EPUB's whole file too (its text is a fixed line and the link to the original, by the book's
id). An article's text is Readwise's own HTML-to-Markdown conversion of HTML the corpus does not
hold: only its head is compared. The highlight files linking a full text are reproduced byte for
byte with the rest of the corpus (tests/golden/test_obsidian_pages.py).

A file whose head cannot be rebuilt is listed with the reason (`Unusable`); `test_counts` says
how many."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.support import owned_fixtures
from tests.support.corpus import CORPUS as NEEDS_CORPUS
from tests.support.corpus import corpus_param, corpus_present
from tests.support.harness import harness
from tests.support.obsidian_corpus import (
    CORPUS,
    FULL_TEXT_FOLDER,
    ObsidianFile,
    Unusable,
    parse_obsidian_file,
    read_corpus,
)

SECTION = "\n\n## Full Document\n"
EPUB = re.compile(
    r"Full text of this document omitted because this document is an EPUB\n"
    r"\[Download original file \u2192\]\(https://readwise\.io/reader/document_raw_content/"
    r"(?P<id>\d+)\)\n"
)


def corpus_full_texts() -> dict[str, str]:
    """The corpus's full text files by path; none without the corpus."""
    if not corpus_present():
        return {}
    texts = {}
    for path in sorted(CORPUS.rglob("*.md")):
        relative = path.relative_to(CORPUS).as_posix()
        if FULL_TEXT_FOLDER in relative.split("/"):
            texts[relative] = read_corpus(relative)
    return texts


def full_text_files(
    texts: dict[str, str],
) -> tuple[list[tuple[str, str, ObsidianFile, int | None]], list[tuple[str, str]]]:
    """Given full text files by path, (usable: path, text, the book its head shows, the EPUB's
    id), (unusable, why)."""
    usable, unusable = [], []
    for relative, text in texts.items():
        parts = relative.split("/")
        where = parts.index(FULL_TEXT_FOLDER)
        if SECTION not in text:
            unusable.append((relative, "no `## Full Document` section"))
            continue
        head = text[: text.index(SECTION)]
        as_page = "/".join(parts[:where] + parts[where + 1 :])
        try:
            golden = parse_obsidian_file(as_page, f"{head}\n\n## Highlights\n- placeholder\n")
        except Unusable as why:
            unusable.append((relative, str(why)))
            continue
        epub = EPUB.fullmatch(text[text.index(SECTION) + len(SECTION) :])
        usable.append((relative, text, golden, int(epub["id"]) if epub else None))
    return usable, unusable


OWNED, OWNED_UNUSABLE = full_text_files(owned_fixtures.obsidian_full_texts())
USABLE, UNUSABLE = full_text_files(corpus_full_texts())


def _placeholder(golden: ObsidianFile, n: int) -> dict[str, Any]:
    return {
        **golden.book,
        "user_book_id": n,
        "source": "",
        "highlights": [{"id": n * 1000 + 1, "text": "placeholder"}],
    }


@pytest.mark.parametrize(
    ("expected", "golden", "epub"),
    [
        *(pytest.param(*u[1:], id=f"owned/{u[0][:80]}") for u in OWNED),
        *(corpus_param(*u[1:], id=u[0][:80]) for u in USABLE),
    ],
)
def test_full_text_file_head_is_reproduced(
    tmp_path: Path, expected: str, golden: ObsidianFile, epub: int | None
) -> None:
    settings = {"vault": {"format": "obsidian"}, "sync": {"reader_full_text": True}}
    book = {**golden.book, "source": "reader", "external_id": "golden-document"}
    if epub is not None:
        book["user_book_id"] = epub
    with harness(tmp_path, settings=settings, edn=None, readwise="twin") as h:
        h.now = golden.syncs[0].at - timedelta(seconds=2)
        h.server.library.reader.add_document(
            id="golden-document",
            category="epub" if epub is not None else "article",
            html_content="<p>Readwise's own conversion</p>",
        )
        for n in range(1, golden.number):
            h.server.load([_placeholder(golden, n)])
        h.server.add_book(**book)
        for highlight in golden.syncs[0].highlights:
            h.server.add_highlight(book["user_book_id"], **highlight)
        report = h.sync(at=golden.syncs[0].at)
        assert not report.failed
        path = f"{FULL_TEXT_FOLDER}/{golden.category_folder}/{golden.name}"
        assert h.has_page(path), h.page_names()
        written = h.page(path)
    if epub is not None:
        assert written == expected
    else:
        end = expected.index(SECTION) + len(SECTION)
        assert written[:end] == expected[:end]
        assert written[end:] == "Readwise's own conversion\n"


def test_owned_counts() -> None:
    """The owned fixture's full texts are all usable: an article and an EPUB."""
    assert OWNED_UNUSABLE == []
    assert sorted(epub is not None for *_, epub in OWNED) == [False, True]


@NEEDS_CORPUS
def test_counts() -> None:
    for path, why in UNUSABLE:
        print(f"not usable: {path}: {why}")
    epubs = sum(1 for *_, epub in USABLE if epub is not None)
    assert (len(USABLE), len(UNUSABLE), epubs) == (254, 3, 33)
