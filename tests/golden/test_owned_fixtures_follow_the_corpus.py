"""The project's own fixtures (tests/golden/fixtures) are in Readwise's real format: checked against
the shared corpus, where it is there (CI). Every test here is marked `corpus`.

tests/golden/test_owned_fixtures.py holds syncd to the owned expected pages byte for byte from any
clone; this module is what makes that a check of Readwise's format rather than of syncd against
itself:
- every line of the owned expected pages has a shape (`tests.support.line_shapes`: the line with
  the user's data masked) that the corpus shows, but for the few listed in `NOT_IN_CORPUS`, each
  with its reason;
- every shape the corpus shows is in the owned pages (but for the user's own edits in
  `CORPUS_ONLY`): the fixtures exercise each of the corpus's hazards;
- file names: each way the corpus turns a title into a file name (Logseq's escapes, the characters
  Obsidian's export drops, the `-2` of a second book of a name) occurs in the owned pages, and
  they use no other;
- the order of lines within a page is checked by the corpus's own readers
  (`parse_golden_page`, `parse_obsidian_file`, written from the corpus and held to it by
  tests/unit/test_corpus_support.py and the golden tests), which read every owned page
  (tests/golden/test_corpus_pages.py, test_obsidian_pages.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from pathlib import Path

import pytest

from syncd.core.filenames import obsidian_file_stem
from tests.support import owned_fixtures
from tests.support.corpus import CORPUS, CORPUS_PAGES, SYNC_LOG_PAGE
from tests.support.line_shapes import (
    logseq_shapes,
    logseq_sync_log_shapes,
    obsidian_shapes,
    obsidian_sync_log_shapes,
)
from tests.support.obsidian_corpus import CORPUS as OBSIDIAN_CORPUS
from tests.support.obsidian_corpus import (
    FULL_TEXT_FOLDER,
    SYNC_LOG_NAME,
    corpus_files,
    read_corpus,
)

pytestmark = CORPUS

KINDLE = "([Location\xa09](https://readwise.io/to_kindle?action=open&asin=…&location=9))"

# Shapes of the owned pages that the corpus does not show, and why they are there.
NOT_IN_CORPUS = {
    "logseq": {
        f"\t- … {KINDLE}": "a Kindle location: no book of the Logseq corpus is from a Kindle; "
        "the link is the one the Obsidian corpus's Kindle books carry (and the product spec's)",
        f"\t  \\-… {KINDLE}": "a multi-line Kindle highlight whose last line starts with `-`: "
        "the shapes above and below, on one line",
        "\t  \\-…": "a text line starting with `-`, written `\\-` so that Logseq keeps it in the "
        "highlight's block (the product spec; tests/unit/test_mldoc_corpus.py shows mldoc "
        "otherwise makes it a child block); no corpus highlight has such a line",
    },
    "obsidian": {
        f"  … {KINDLE}": "a multi-line Kindle highlight: the corpus's Kindle highlights are one "
        "line each; its continuation line and its link are each in the corpus",
    },
}
# Shapes of the corpus that the owned pages leave out, and why.
CORPUS_ONLY = {
    "logseq": {
        "-": "an empty block the user added to the sync log page",
        "- * On [[Mon 9th, 9]] at 9:9 PM Readwise synced 9 highlights from 9 books.": "a sync "
        "log line the user turned into a list item",
    },
    "obsidian": {
        "- Full Title: … ": "a title ending in a space, seen on one full text file only (of a "
        "document with no highlight file): its `# title` line is trimmed, so the corpus's reader "
        "cannot rebuild a page of it (tests/golden/test_obsidian_full_text.py lists it unusable)",
    },
}


def _shapes(
    pages: Iterable[tuple[str, str]], shape: Callable[[str, str], list[str]]
) -> dict[str, str]:
    """Each shape of the pages' lines, with where it first occurs (`page:line`)."""
    found: dict[str, str] = {}
    for name, text in pages:
        for number, line_shape in enumerate(shape(name, text), start=1):
            found.setdefault(line_shape, f"{name}:{number}")
    return found


def _logseq_shape(name: str, text: str) -> list[str]:
    return (logseq_sync_log_shapes if name == SYNC_LOG_PAGE.name else logseq_shapes)(text)


def _obsidian_shape(name: str, text: str) -> list[str]:
    if name.split("/")[-1] == SYNC_LOG_NAME:
        return obsidian_sync_log_shapes(text)
    if f"{FULL_TEXT_FOLDER}/" in name:
        # A full text file: its head is the page's; its text, Readwise's conversion of HTML the
        # corpus does not hold, is compared only for an EPUB (a fixed line and link).
        head, section, body = text.partition("\n## Full Document\n")
        if "this document is an EPUB" not in body:
            body = ""
        return obsidian_shapes(head + section + body)
    return obsidian_shapes(text)


def _corpus_pages(format_: str) -> list[tuple[str, str]]:
    if format_ == "logseq":
        return [(p.name, p.read_bytes().decode("utf-8")) for p in sorted(CORPUS_PAGES.glob("*.md"))]
    usable, _unusable, logs = corpus_files()
    full_texts = [
        path.relative_to(OBSIDIAN_CORPUS).as_posix()
        for path in sorted(OBSIDIAN_CORPUS.rglob("*.md"))
        if FULL_TEXT_FOLDER in path.relative_to(OBSIDIAN_CORPUS).parts
    ]
    return [
        *((g.path, g.text) for g in usable),
        *((log, read_corpus(log)) for log in logs),
        *((path, read_corpus(path)) for path in full_texts),
    ]


def _owned_pages(format_: str) -> list[tuple[str, str]]:
    return list(owned_fixtures.expected_pages(owned_fixtures.load(format_)).items())


SHAPE = {"logseq": _logseq_shape, "obsidian": _obsidian_shape}


@pytest.mark.parametrize("format_", ["logseq", "obsidian"])
def test_every_line_of_the_owned_pages_has_a_shape_the_corpus_shows(format_: str) -> None:
    corpus = _shapes(_corpus_pages(format_), SHAPE[format_])
    owned = _shapes(_owned_pages(format_), SHAPE[format_])
    unseen = {shape: where for shape, where in owned.items() if shape not in corpus}
    assert sorted(unseen) == sorted(NOT_IN_CORPUS[format_]), unseen


@pytest.mark.parametrize("format_", ["logseq", "obsidian"])
def test_every_shape_the_corpus_shows_is_in_the_owned_pages(format_: str) -> None:
    corpus = _shapes(_corpus_pages(format_), SHAPE[format_])
    owned = _shapes(_owned_pages(format_), SHAPE[format_])
    missing = {shape: where for shape, where in corpus.items() if shape not in owned}
    assert sorted(missing) == sorted(CORPUS_ONLY[format_]), missing


def _logseq_escapes(pages: Iterable[tuple[str, str]]) -> set[str]:
    """How the pages' titles became file names: the escapes (`%3A`, `___`) in them."""
    return {
        escape
        for name, text in pages
        if text.startswith("title:: ")
        for escape in re.findall(r"%[0-9A-F]{2}|___", name)
    }


def _obsidian_name_changes(pages: Iterable[tuple[str, str]]) -> set[str]:
    """How the highlight files' titles became file names: the characters dropped (a space: a
    run collapsed), and `-N` for a later book of the same name."""
    changes: set[str] = set()
    for path, text in pages:
        if not text.startswith("# ") or f"{FULL_TEXT_FOLDER}/" in path:
            continue
        title, stem = text.split("\n", 1)[0][2:], path.split("/")[-1][:-3]
        numbered = re.fullmatch(r"(.*)-[2-9]", stem)
        plain = {obsidian_file_stem(title), obsidian_file_stem(title, collapse_spaces=False)}
        if numbered and stem not in plain:
            changes.add("-N")
            stem = numbered[1]
        changes.update(char for char in set(title) if title.count(char) > stem.count(char))
    return changes


def test_owned_file_names_change_titles_as_the_corpus_does() -> None:
    assert _logseq_escapes(_owned_pages("logseq")) == _logseq_escapes(_corpus_pages("logseq"))
    owned = _obsidian_name_changes(_owned_pages("obsidian"))
    assert owned == _obsidian_name_changes(_corpus_pages("obsidian"))
    assert owned == {":", "?", "|", '"', "/", " ", "-N"}


def test_the_corpus_is_where_the_shapes_come_from() -> None:
    """The shapes compared above are many and come from the whole corpus (not an empty set)."""
    for format_ in ("logseq", "obsidian"):
        corpus = _shapes(_corpus_pages(format_), SHAPE[format_])
        assert len(corpus) > 40, format_
    assert Path(CORPUS_PAGES).is_dir()
