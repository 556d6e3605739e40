"""issue 22, class 2: the bounds a paginated listing is held to (`Listing`), as the client and
the in-memory twin apply them, page by page."""

from __future__ import annotations

from typing import Any

import pytest

from syncd.edges.listing import (
    COUNT_SLACK,
    MAX_COUNT,
    ExportPage,
    Listing,
    ReadwiseError,
    export_page,
)


def page(ids: list[int], cursor: str | None, count: Any = 10) -> ExportPage:
    return export_page(
        {"count": count, "nextPageCursor": cursor, "results": [{"user_book_id": i} for i in ids]},
        None,
    )


def walk(listing: Listing, *pages: ExportPage) -> None:
    for p in pages:
        listing.check(p)


def test_a_listing_that_behaves_passes() -> None:
    walk(Listing("/x/"), page([1, 2], "a"), page([3, 4], "b"), page([5], None, count=11))


def test_a_cursor_sent_twice_stops_it() -> None:
    with pytest.raises(ReadwiseError, match="same next-page cursor twice for /x/ \\(page 3\\)"):
        walk(Listing("/x/"), page([1], "a"), page([2], "b"), page([3], "a"))


def test_empty_pages_that_go_on_stop_it() -> None:
    with pytest.raises(ReadwiseError, match="3 empty pages in a row"):
        walk(Listing("/x/"), page([], "a"), page([], "b"), page([], "c"))


def test_a_book_served_a_third_time_stops_it() -> None:
    with pytest.raises(ReadwiseError, match="served book 1 3 times"):
        walk(Listing("/x/"), page([1, 2], "a"), page([1], "b"), page([1], "c"))


def test_more_books_than_the_count_allows_stop_it() -> None:
    pages = [page([n], f"c{n}", count=1) for n in range(COUNT_SLACK + 5)]
    with pytest.raises(ReadwiseError, match="more than its count \\(1\\) allows"):
        walk(Listing("/x/"), *pages)


@pytest.mark.parametrize("count", [-1, MAX_COUNT + 1, "many", 1.5, True, None])
def test_a_count_that_is_no_count_stops_it(count: Any) -> None:
    listing = Listing("/x/")
    if count is None:  # no count at all: nothing to hold it to
        walk(listing, page([1], None, count=None))
        return
    with pytest.raises(ReadwiseError, match="impossible count"):
        walk(listing, page([1], None, count=count))


def test_a_listing_that_changed_says_so_on_its_pages() -> None:
    listing = Listing("/x/")
    assert listing.check(page([1, 2], "a")).changed is None
    assert listing.check(page([2, 3], "b")).changed == "book 2 came twice"
    assert listing.check(page([4], None, count=12)).changed == "book 2 came twice"
    other = Listing("/x/")
    other.check(page([1], "a"))
    assert other.check(page([2], None, count=11)).changed == "its count went from 10 to 11"
