"""The mechanisms behind the figures of README "Performance", checked without timing anything
(`python -m benchmarks.run` measures the figures themselves):

- a no-op sync reads no page file and makes one request; a page whose size or mtime changed is
  the only one read;
- a sync that brings one highlight reads only that book's page;
- a first sync holds one export page of books in memory at a time: the books of a page are let
  go before the next page is fetched.

Page reads are seen through an audit hook on `open` (the tests run as root, so an unreadable file
would not show them).
"""

from __future__ import annotations

import os
import sys
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

import syncd.engine.run
from syncd.core.model import Book
from syncd.edges.readwise import ExportPage, ReadwiseClient
from tests.support.harness import Harness, harness

BOOKS = 10

_recorders: list[list[str]] = []  # the open `page_reads` blocks, innermost last


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if event != "open" or not _recorders:
        return
    path, mode, flags = args
    if not isinstance(path, str) or not path.endswith(".md"):
        return
    if isinstance(mode, str):
        reading = "r" in mode or "+" in mode
    else:
        reading = isinstance(flags, int) and (flags & os.O_ACCMODE) in (os.O_RDONLY, os.O_RDWR)
    if reading:
        _recorders[-1].append(os.path.abspath(path))


_hooked = False


@contextmanager
def page_reads(vault: Path) -> Iterator[list[str]]:
    """Record the `.md` files under `vault` opened for reading inside the block (relative,
    POSIX). An audit hook cannot be removed, so one hook serves every block."""
    global _hooked
    if not _hooked:
        sys.addaudithook(_audit)
        _hooked = True
    opened: list[str] = []
    _recorders.append(opened)
    found: list[str] = []
    try:
        yield found
    finally:
        _recorders.remove(opened)
        root = str(vault.resolve()) + os.sep
        found += sorted({Path(p[len(root) :]).as_posix() for p in opened if p.startswith(root)})


def library(h: Harness, books: int = BOOKS) -> list[dict[str, Any]]:
    return [
        h.server.add_book(
            title=f"Book {n}",
            author="Someone",
            highlights=[
                {
                    "text": f"Highlight {n}.{i}",
                    "location": i,
                    "location_type": "page",
                    "url": f"https://example.com/{n}/{i}",
                }
                for i in range(1, 4)
            ],
        )
        for n in range(1, books + 1)
    ]


def synced(tmp_path: Path) -> Iterator[Harness]:
    with harness(tmp_path) as h:
        library(h)  # made an hour before the first sync: outside its cursor's overlap
        h.now += timedelta(hours=1)
        report = h.sync()
        assert report.pages_created == BOOKS and not report.failed
        h.now += timedelta(hours=1)
        yield h


@pytest.fixture
def synced_library(tmp_path: Path) -> Iterator[Harness]:
    """A harness whose library was synced once, an hour ago (see `synced`)."""
    yield from synced(tmp_path)


def test_a_no_op_sync_reads_no_page_file_and_makes_one_request(synced_library: Harness) -> None:
    h = synced_library
    h.server.clear_requests()
    with page_reads(h.vault) as read:
        report = h.sync()
    assert report.outcome.new == 0 and report.pages_changed == 0
    assert read == []
    assert report.requests == 1 and len(h.server.requests) == 1


def test_a_page_whose_size_or_mtime_changed_is_the_only_one_read(synced_library: Harness) -> None:
    h = synced_library
    [first, second, *_] = h.page_names()
    os.utime(h.pages / first, ns=(0, 1_000_000_000))  # mtime only, same bytes
    with open(h.pages / second, "a", encoding="utf-8") as page:
        page.write("\n- a thought of mine")
    with page_reads(h.vault) as read:
        report = h.sync()
    assert read == [f"pages/{first}", f"pages/{second}"]
    assert report.requests == 1
    with page_reads(h.vault) as read:  # looked at once: remembered as it now is
        h.sync()
    assert read == []


def test_a_sync_bringing_one_highlight_reads_only_that_books_page(synced_library: Harness) -> None:
    h = synced_library
    book = h.server.books[3]
    h.server.add_highlight(
        book["user_book_id"],
        text="One more.",
        location=9,
        location_type="page",
        url="https://example.com/more",
    )
    h.server.clear_requests()
    with page_reads(h.vault) as read:
        report = h.sync()
    assert report.outcome.new == 1 and report.pages_changed == 1
    assert read == ["pages/Book 4 (highlights).md"]
    assert report.requests == 1 and len(h.server.requests) == 1
    assert "One more." in h.page("Book 4 (highlights).md")


def _one_more(h: Harness) -> str:
    """Add a highlight to the fourth book and sync it in; return the book's page name."""
    book = h.server.books[3]
    h.server.add_highlight(
        book["user_book_id"],
        text="One more.",
        location=9,
        location_type="page",
        url="https://example.com/more",
    )
    report = h.sync()
    assert report.outcome.new == 1 and report.pages_changed == 1
    return "Book 4 (highlights).md"


def test_a_book_fetched_again_by_the_cursors_overlap_reads_no_page(
    synced_library: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cursor is Readwise's clock less an overlap, so the sync after one that brought a
    highlight fetches that book again: its page, unchanged since, is not read, nor changed."""
    h = synced_library
    name = _one_more(h)
    before = (h.pages / name).stat()
    fetched: list[int] = []
    sync_book = syncd.engine.run.Run._sync_book

    def spy(self: syncd.engine.run.Run, book: Book) -> Any:
        fetched.append(book.id)
        return sync_book(self, book)

    monkeypatch.setattr(syncd.engine.run.Run, "_sync_book", spy)
    for seconds in (10, 20):  # both within the overlap: the book is in the export again
        h.now += timedelta(seconds=seconds)
        fetched.clear()
        with page_reads(h.vault) as read:
            report = h.sync()
        assert fetched == [h.server.books[3]["user_book_id"]]
        assert read == []
        assert report.outcome.new == 0 and report.pages_changed == 0
    after = (h.pages / name).stat()
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)


def test_a_book_fetched_again_whose_page_changed_is_read(synced_library: Harness) -> None:
    """... but when the page changed since (the user edited the new highlight away), the page
    is read and the edit is seen; the highlight is not written again."""
    h = synced_library
    name = _one_more(h)
    text = h.page(name)
    (h.pages / name).write_text(
        text.replace("One more.", "One more, as I read it."), encoding="utf-8"
    )
    h.now += timedelta(seconds=10)
    with page_reads(h.vault) as read:
        report = h.sync()
    assert read == [f"pages/{name}"]
    assert report.outcome.new == 0 and report.pages_changed == 0
    assert h.page(name).count("One more") == 1
    state = h.state()
    try:
        records = state.highlights(h.server.books[3]["user_book_id"]).values()
        assert {r.status for r in records if "One more" in r.block} == {"edited"}
    finally:
        state.close()


def test_a_book_fetched_again_with_a_changed_highlight_is_updated(synced_library: Harness) -> None:
    """... and a highlight changed in Readwise within the overlap is read and updated."""
    h = synced_library
    name = _one_more(h)
    highlight = h.server.books[3]["highlights"][-1]
    h.now += timedelta(seconds=10)
    h.server.update_highlight(highlight["id"], text="One more, corrected.")
    with page_reads(h.vault) as read:
        report = h.sync()
    assert read == [f"pages/{name}"]
    assert report.outcome.updated == 1
    assert "One more, corrected." in h.page(name) and "One more." not in h.page(name)


class _Results(list):  # type: ignore[type-arg]
    """An export page's records, in a list that a weak reference can follow."""


def test_a_first_sync_holds_one_export_page_of_books_at_a_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pages: list[weakref.ref[_Results]] = []
    books: list[weakref.ref[Book]] = []
    pages_alive_at_fetch: list[int] = []
    books_alive: list[int] = []
    real_page = ReadwiseClient._page
    real_parse_book = syncd.engine.run.parse_book

    def export_page(self: ReadwiseClient, path: str, params: Any, sent: Any = None) -> ExportPage:
        pages_alive_at_fetch.append(sum(ref() is not None for ref in pages))
        page = real_page(self, path, params, sent)
        results = _Results(page.results)
        pages.append(weakref.ref(results))
        return ExportPage(page.count, results, page.next_cursor)

    def parse_book(record: object) -> Book:
        book = real_parse_book(record)
        books.append(weakref.ref(book))
        books_alive.append(sum(ref() is not None for ref in books))
        return book

    monkeypatch.setattr(ReadwiseClient, "_page", export_page)
    monkeypatch.setattr(syncd.engine.run, "parse_book", parse_book)
    with harness(tmp_path) as h:
        h.server.page_size = 2
        library(h)
        report = h.sync()
    assert report.pages_created == BOOKS and report.requests == BOOKS // 2
    assert len(pages) == BOOKS // 2 and len(books) == BOOKS
    # When a page is fetched, the page before it is gone: one page in memory at a time...
    assert pages_alive_at_fetch == [0] * (BOOKS // 2)
    # ...and of its books, no more than the page holds.
    assert max(books_alive) <= h.server.page_size
