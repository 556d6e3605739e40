"""Golden tests for the sync log page, line for line and whole: the owned fixture's `Readwise.md`
(tests/golden/fixtures/logseq) and, where the shared corpus is there, the corpus's."""

from __future__ import annotations

from datetime import timedelta, timezone
from pathlib import Path

import pytest

from syncd.core.render import Style, render_sync_log_entry
from syncd.core.templates import Templates
from tests.support import owned_fixtures
from tests.support.corpus import corpus_param, parse_sync_log_line, sync_log_lines
from tests.support.harness import harness

# The sync log lines of each source, and how many are Readwise's (the rest: the user's edits).
SOURCES = [
    pytest.param(owned_fixtures.logseq_sync_log().split("\n"), 10, id="owned"),
    corpus_param(sync_log_lines(), 1750, id="corpus"),
]


@pytest.mark.parametrize(("lines", "count"), SOURCES)
def test_every_sync_log_line_is_rendered_byte_for_byte(lines: list[str], count: int) -> None:
    style = Style(templates=Templates("logseq"), tz=timezone.utc)
    checked = 0
    for line in lines:
        parsed = parse_sync_log_line(line)
        if parsed is None:
            continue  # "-" and "- * On ...": the user's own edits of the page
        at, highlights, books = parsed
        assert render_sync_log_entry(highlights, books, style, at) == line
        checked += 1
    assert checked == count


@pytest.mark.parametrize(("lines", "count"), SOURCES)
def test_a_sync_appends_its_line_to_the_plugins_sync_log_page(
    tmp_path: Path, lines: list[str], count: int
) -> None:
    """The page the plugin wrote, less its last line, gets exactly that line back from a sync
    that brings the same numbers at the same time."""
    at, num_highlights, num_books = parse_sync_log_line(lines[-1]) or (None, 0, 0)
    assert at is not None
    with harness(tmp_path, settings={"sync": {"sync_log_page": "Readwise"}}, readwise="twin") as h:
        h.pages.mkdir()
        (h.pages / "Readwise.md").write_bytes("\n".join(lines[:-1]).encode())
        h.now = at - timedelta(hours=1)
        for book in range(num_books):
            extra = 1 if book < num_highlights % num_books else 0
            h.server.add_book(
                title=f"Book {book}",
                highlights=[
                    {"text": f"Highlight {book}.{n}"}
                    for n in range(num_highlights // num_books + extra)
                ],
            )
        h.sync(at=at)
        assert h.page("Readwise.md") == "\n".join(lines)
