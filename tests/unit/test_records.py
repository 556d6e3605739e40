"""syncd/core/records.py: PageNames, the index of the paths and names page records use, kept
up to date by put and drop, checked against recounting every record."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from syncd.core.records import PageNames, PageRecord

PATHS = st.sampled_from(["pages/a.md", "pages/b.md", "pages/A.md", "pages/c.md"])
TITLES = st.sampled_from(["a", "A", "b", "Straße", "STRASSE", "c"])
OPS = st.lists(
    st.one_of(
        st.tuples(st.just("put"), st.integers(1, 5), PATHS, TITLES),
        st.tuples(st.just("drop"), st.integers(1, 6), st.just(""), st.just("")),
    ),
    max_size=40,
)


@settings(max_examples=300, deadline=None)
@given(OPS)
def test_page_names_always_agree_with_the_records_they_were_told_of(
    ops: list[tuple[str, int, str, str]],
) -> None:
    names = PageNames()
    records: dict[int, PageRecord] = {}
    for op, book_id, path, title in ops:
        if op == "put":
            record = PageRecord(book_id, path, title, "active")
            names.put(record)
            records[book_id] = record
        else:
            names.drop(book_id)
            records.pop(book_id, None)
        for candidate in ("pages/a.md", "pages/b.md", "pages/A.md", "pages/c.md"):
            assert names.has_path(candidate) == any(r.path == candidate for r in records.values())
        for title_ in ("a", "b", "straße", "strasse", "c", "A"):
            assert names.has_name(title_) == any(
                r.title.casefold() == title_ for r in records.values()
            )


def test_names_are_casefolded_and_paths_are_not() -> None:
    names = PageNames()
    names.put(PageRecord(1, "pages/Straße.md", "Straße", "deleted"))
    assert names.has_name("strasse") and not names.has_name("Straße")
    assert names.has_path("pages/Straße.md") and not names.has_path("pages/straße.md")


def test_a_name_two_books_share_stays_until_both_are_dropped() -> None:
    names = PageNames()
    names.put(PageRecord(1, "pages/x.md", "X", "active"))
    names.put(PageRecord(2, "pages/x.md", "x", "deleted"))
    names.drop(1)
    assert names.has_path("pages/x.md") and names.has_name("x")
    names.drop(2)
    names.drop(2)  # dropping an unknown book changes nothing
    assert not names.has_path("pages/x.md") and not names.has_name("x")
