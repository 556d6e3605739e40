"""Golden tests for the sync log page: the corpus's `Readwise.md`, line for line and whole."""

from __future__ import annotations

from datetime import timedelta, timezone
from pathlib import Path

from syncd.core.render import Style, render_sync_log_entry
from syncd.core.templates import Templates
from tests.support.corpus import parse_sync_log_line, require_shared, sync_log_lines
from tests.support.harness import harness

require_shared()
LINES = sync_log_lines()


def test_every_sync_log_line_is_rendered_byte_for_byte() -> None:
    style = Style(templates=Templates("logseq"), tz=timezone.utc)
    checked = 0
    for line in LINES:
        parsed = parse_sync_log_line(line)
        if parsed is None:
            continue  # "-" and "- * On ...": the user's own edits of the page
        at, highlights, books = parsed
        assert render_sync_log_entry(highlights, books, style, at) == line
        checked += 1
    assert checked == 1750


def test_a_sync_appends_its_line_to_the_plugins_sync_log_page(tmp_path: Path) -> None:
    """The page the plugin wrote, less its last line, gets exactly that line back from a sync
    that brings the same numbers at the same time."""
    at, num_highlights, num_books = parse_sync_log_line(LINES[-1]) or (None, 0, 0)
    assert at is not None
    with harness(tmp_path, settings={"sync": {"sync_log_page": "Readwise"}}, readwise="twin") as h:
        h.pages.mkdir()
        (h.pages / "Readwise.md").write_bytes("\n".join(LINES[:-1]).encode())
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
        assert h.page("Readwise.md") == "\n".join(LINES)
