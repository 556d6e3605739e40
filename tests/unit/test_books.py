"""syncd/core/books.py: finding a book by what a person typed (an id, a title with or without
" (highlights)", a page path from the current folder or the vault, `~/`), suggesting near
matches, and the lines `syncd status` shows."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from syncd.core.books import BookEntry, attention, book_line, find_book
from syncd.errors import UsageError

HOME = Path("/home/ann")
VAULT = HOME / "notes"
BOOKS = [
    BookEntry(101, "Walden (highlights)", "pages/Walden (highlights).md", "active", {"written": 2}),
    BookEntry(102, "Walden (highlights) (2)", "pages/Walden (highlights) (2).md", "active"),
    BookEntry(103, "Deep Work", "pages/Deep Work.md", "deleted", {"conflict": 1}),
    BookEntry(104, "2024", "pages/2024.md", "active"),
    BookEntry(105, "Never written", None, None, problem="failed: bad record"),
]


def find(text: str, cwd: Path = VAULT) -> int:
    return find_book(text, BOOKS, vault=VAULT, cwd=cwd, home=HOME).book_id


@pytest.mark.parametrize(
    ("typed", "book_id"),
    [
        ("103", 103),
        (" 103 ", 103),
        ("Deep Work", 103),
        ("deep work", 103),
        ("DEEP WORK (highlights)", 103),
        ("Walden (highlights)", 101),  # the exact title wins over the key both share
        ("Walden (highlights) (2)", 102),
        ("pages/Deep Work.md", 103),
        (str(VAULT / "pages" / "Deep Work.md"), 103),
        ("~/notes/pages/Deep Work.md", 103),
        ("2024", 104),  # a title that is all digits but no book id: found by title
    ],
)
def test_find_book_by_id_title_or_path_from_the_vault(typed: str, book_id: int) -> None:
    assert find(typed) == book_id


def test_a_page_path_is_read_from_the_current_folder_too() -> None:
    assert find("Deep Work.md", cwd=VAULT / "pages") == 103
    assert find("../pages/Deep Work.md", cwd=VAULT / "journals") == 103


def test_a_path_outside_the_vault_names_no_page() -> None:
    with pytest.raises(UsageError):
        find("../outside/Deep Work.md", cwd=VAULT)


def test_a_title_several_books_share_asks_for_the_id_naming_them() -> None:
    with pytest.raises(UsageError) as caught:
        find("Walden")
    message = str(caught.value)
    assert "matches 2 books" in message and "book 101" in message and "book 102" in message
    assert "give the book id" in message and "\n" not in message


def test_an_unknown_book_suggests_near_matches_in_one_line() -> None:
    with pytest.raises(UsageError) as caught:
        find("Deep Wrok")
    message = str(caught.value)
    assert message.startswith("no book 'Deep Wrok' is known; did you mean 'Deep Work' (book 103")
    assert "\n" not in message


def test_nothing_near_gives_the_hint_and_nothing_typed_is_an_error() -> None:
    with pytest.raises(UsageError) as caught:
        find("zzzzzzzzzz")
    assert "did you mean" not in str(caught.value)
    assert "syncd status --books" in str(caught.value)
    with pytest.raises(UsageError, match="no book given"):
        find("   ")


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.from_regex(r"[A-Za-z][A-Za-z ]{0,15}[A-Za-z]", fullmatch=True),
        min_size=1,
        max_size=8,
        unique_by=str.casefold,
    ),
    st.data(),
)
def test_every_book_is_found_by_its_id_by_its_page_and_by_its_unique_title(
    titles: list[str], data: st.DataObject
) -> None:
    books = [
        BookEntry(1000 + i, title, f"pages/{title}.md", "active") for i, title in enumerate(titles)
    ]
    book = data.draw(st.sampled_from(books))
    assert find_book(str(book.book_id), books, vault=VAULT, cwd=HOME, home=HOME) == book
    assert find_book(book.path or "", books, vault=VAULT, cwd=VAULT, home=HOME) == book
    assert find_book(book.title.upper(), books, vault=VAULT, cwd=HOME, home=HOME) == book
    assert find_book(f"{book.title} (highlights)", books, vault=VAULT, cwd=HOME, home=HOME) == book


def test_attention_sorts_books_by_what_needs_a_look() -> None:
    waiting = BookEntry(106, "Lost page", problem="waiting: two pages may be it")
    found = attention([*BOOKS, waiting])
    assert {what: [b.book_id for b in books] for what, books in found.items()} == {
        "conflicts": [103],
        "deleted": [103],
        "waiting": [106],
        "failed": [105],
    }


def test_book_line_counts_highlights_and_names_the_problem() -> None:
    line = book_line(
        BookEntry(
            7, "T", "pages/T.md", "active", {"written": 3, "edited": 1, "conflict": 1}, "failed: x"
        )
    )
    assert line.split() == [
        "7",
        "active",
        "pages/T.md",
        "[T]",
        "5",
        "highlights",
        "(1",
        "edited,",
        "1",
        "conflict)",
        "failed:",
        "x",
    ]
    assert "1 highlight " in book_line(BookEntry(8, "U", highlights={"written": 1})) + " "
    assert book_line(BookEntry(8, "U")).split()[:4] == ["8", "no", "page", "-"]


TITLED = [
    BookEntry(201, "Book 100: books title (highlights)", "pages/a.md", "deleted"),
    BookEntry(202, "Book 1000: another (highlights)", "pages/b.md", "active"),
    BookEntry(203, "Deep Work - Rules for Focus", "pages/c.md", "active"),
    BookEntry(204, "Deep Water", "pages/d.md", "active"),
]


@pytest.mark.parametrize(
    ("typed", "book_id"),
    [("Book 100", 201), ("book 100:", 201), ("Book 1000", 202), ("Deep Work", 203)],
)
def test_the_first_words_of_a_title_find_it(typed: str, book_id: int) -> None:
    """issue 21, item 7: words that begin one title, ending where a word ends."""
    assert find_book(typed, TITLED, vault=VAULT, cwd=VAULT, home=HOME).book_id == book_id


def test_words_that_begin_several_titles_list_them_and_a_near_miss_is_offered() -> None:
    with pytest.raises(UsageError, match=r"'Deep' begins 2 titles: .*book 203.*book 204"):
        find_book("Deep", TITLED, vault=VAULT, cwd=VAULT, home=HOME)
    with pytest.raises(UsageError, match=r"did you mean 'Book 100: books title"):
        find_book("Book 10", TITLED, vault=VAULT, cwd=VAULT, home=HOME)
