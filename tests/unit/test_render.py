"""syncd/core/render.py: books and highlights into page text through the vault's templates.
Pure: the same book, style and moment give the same text."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone, tzinfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from syncd.core.model import Book, Highlight
from syncd.core.outline import bullet_depth, parse_blocks
from syncd.core.render import (
    NBSP,
    Style,
    append_text,
    heading_level,
    location,
    page_title,
    render_addition,
    render_highlights,
    render_new_page,
    render_sync_log_entry,
    split_authors,
)
from syncd.core.templates import LINE_BREAK, Templates, clean

NOW = datetime(2023, 3, 17, 23, 30, tzinfo=timezone.utc)
LOGSEQ = Style(templates=Templates("logseq"), tz=timezone.utc)
OBSIDIAN = Style(templates=Templates("obsidian"), tz=timezone.utc)
TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=30)


@pytest.mark.parametrize(
    ("book", "highlight", "expected"),
    [
        (
            Book(1, "K", asin="B01"),
            Highlight(1, "t", location=27, location_type="location"),
            (f"Location{NBSP}27", "https://readwise.io/to_kindle?action=open&asin=B01&location=27"),
        ),
        (
            Book(1, "K"),
            Highlight(1, "t", location=27, location_type="location"),
            (f"Location{NBSP}27", None),
        ),
        (Book(1, "P"), Highlight(1, "t", location=8, location_type="page"), (f"Page{NBSP}8", None)),
        (
            Book(1, "V"),
            Highlight(1, "t", location=3725, location_type="time_offset", url="https://v"),
            (f"Time{NBSP}1:02:05", "https://v"),
        ),
        (
            Book(1, "A", category="articles"),
            Highlight(1, "t", location_type="offset", url="https://a"),
            ("View Highlight", "https://a"),
        ),
        (
            Book(1, "T", category="tweets"),
            Highlight(1, "t", url="https://x"),
            ("View Tweet", "https://x"),
        ),
        (Book(1, "N"), Highlight(1, "t"), (None, None)),
    ],
)
def test_location_label_and_link(
    book: Book, highlight: Highlight, expected: tuple[str | None, str | None]
) -> None:
    assert location(book, highlight) == expected


def test_heading_level_from_readwise_s_h_tags() -> None:
    assert heading_level(Highlight(1, "t", tags=("favorite", "H2"))) == 2
    assert heading_level(Highlight(1, "t", tags=("h7", "h"))) is None


@pytest.mark.parametrize(
    ("author", "names"),
    [
        ("A, B and C", ["A", "B", "C"]),
        ("A & B", ["A", "B"]),
        ("A; B", ["A", "B"]),
        ("A, and B", ["A", "B"]),
        ("Anderson", ["Anderson"]),
        ("", []),
        ("Line\nbreak", ["Line break"]),
    ],
)
def test_split_authors(author: str, names: list[str]) -> None:
    assert split_authors(author) == names


@settings(max_examples=200, deadline=None)
@given(TEXT, TEXT)
def test_append_text_keeps_every_existing_byte_and_starts_the_addition_on_a_new_line(
    existing: str, addition: str
) -> None:
    out = append_text(existing, addition)
    assert out.startswith(existing)
    assert out.endswith(addition.lstrip("\n") if not existing else addition)
    if existing:
        assert out[len(existing) - 1] == "\n" or out[len(existing)] == "\n"


@settings(max_examples=200, deadline=None)
@given(TEXT.filter(str.strip), st.sampled_from([LOGSEQ, OBSIDIAN]))
def test_a_page_title_is_one_line_whatever_the_book_s_title(title: str, style: Style) -> None:
    out = page_title(Book(1, title), style, NOW)
    assert "\n" not in out and "\r" not in out and "\x00" not in out


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(TEXT.filter(str.strip), TEXT), min_size=1, max_size=6))
def test_a_new_logseq_page_has_one_highlight_block_per_highlight_under_its_header(
    texts: list[tuple[str, str]],
) -> None:
    book = Book(
        1,
        "Walden",
        highlights=tuple(
            Highlight(10 + i, text, note=note) for i, (text, note) in enumerate(texts)
        ),
    )
    blocks = render_highlights(book, book.highlights, LOGSEQ)
    page = render_new_page(book, "Walden (highlights)", blocks, LOGSEQ, NOW)
    assert page.startswith("title:: Walden (highlights)\n")
    lines = page.split("\n")
    parsed = parse_blocks(lines, "\t")
    headers = [b for b in parsed if b.depth == 0 and "first synced" in lines[b.start]]
    assert len(headers) == 1
    assert len([b for b in parsed if b.depth == 1]) == len(texts)
    assert render_new_page(book, "Walden (highlights)", blocks, LOGSEQ, NOW) == page


def test_a_header_dates_the_sync_in_the_vault_s_time_zone() -> None:
    book = Book(1, "Walden", highlights=(Highlight(1, "Simplify."),))
    blocks = render_highlights(book, book.highlights, LOGSEQ)
    east = Style(templates=Templates("logseq"), tz=timezone(timedelta(hours=2)))
    assert "[[Mar 17th, 2023]]" in render_addition(book, blocks, LOGSEQ, NOW)
    assert "[[Mar 18th, 2023]]" in render_addition(book, blocks, east, NOW)


def test_an_obsidian_addition_is_a_heading_and_ends_the_page_with_a_line_break() -> None:
    book = Book(1, "Walden", highlights=(Highlight(1, "Simplify."),))
    blocks = render_highlights(book, book.highlights, OBSIDIAN)
    addition = render_addition(book, blocks, OBSIDIAN, NOW)
    assert addition.startswith("## ") and addition.endswith("- Simplify.\n")
    page = render_new_page(book, "Walden", blocks, OBSIDIAN, NOW)
    assert page.startswith("Walden\n\n") and page.endswith("\n")


def test_the_sync_log_entry_counts_and_obsidian_s_names_each_book() -> None:
    logseq = render_sync_log_entry(3, 1, LOGSEQ, NOW)
    assert logseq.startswith("- ") and "\n" not in logseq.strip()
    assert "3 highlights" in logseq and "1 book" in logseq
    obsidian = render_sync_log_entry(3, 2, OBSIDIAN, NOW, [("Walden", 2), ("Line\nbreak", 1)])
    assert obsidian.endswith("\n\n") and "Walden" in obsidian and "Line break" in obsidian


def test_a_new_page_s_dates_are_formatted_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 20: a new page's title, head and header each formatted the sync's date and time
    (three times a book); the same moment's are formatted once, another moment's anew."""
    import syncd.core.render as render

    calls: list[datetime] = []
    real = render.format_time

    def counted(moment: datetime) -> str:
        calls.append(moment)
        return real(moment)

    monkeypatch.setattr(render, "format_time", counted)
    book = Book(7, "Walden", author="Thoreau")
    pages: list[str] = []
    for style in (LOGSEQ, OBSIDIAN):
        for now in (NOW, NOW + timedelta(minutes=1)):
            title = page_title(book, style, now)
            pages.append(render_new_page(book, title, ["- a"], style, now))
    assert calls == [NOW, NOW + timedelta(minutes=1)] * 2
    # A later moment's date shows: the next day's.
    later = NOW + timedelta(hours=1)
    assert "Mar 18th, 2023" in render_new_page(book, "Walden", ["- a"], LOGSEQ, later)
    assert "Mar 18th, 2023" not in pages[0]


def test_the_same_moment_s_dates_follow_a_zone_that_changed() -> None:
    """A daemon's zone follows the machine's (a laptop that travels): the same moment formatted
    after the zone changed shows the new zone's time, not the answer kept for the old one
    (issue 22; the e2e daemon test that moves /etc/localtime failed with it kept)."""
    from dataclasses import replace as with_field

    class Machine(tzinfo):
        offset = timedelta(hours=-4)

        def utcoffset(self, dt: datetime | None) -> timedelta:
            return self.offset

        def dst(self, dt: datetime | None) -> timedelta:
            return timedelta(0)

        def tzname(self, dt: datetime | None) -> str:
            return f"UTC{self.offset}"

    zone = Machine()
    style = with_field(LOGSEQ, tz=zone)
    first = style.dates(NOW)["time"]
    zone.offset = timedelta(hours=9)
    assert style.dates(NOW)["time"] != first


# Text as Readwise's records hold it: line breaks of each kind, list and heading markers, white
# space Python strips but does not split lines at, control characters, past the BMP.
_ODD_TEXT = st.lists(
    st.sampled_from(
        ["a", " ", "\n", "\r", "\t", "\x00", "\x0b", "-", "#", "*", "\u2028", "🧠", "  ", "- "]
    ),
    max_size=12,
).map("".join)
_BOOKS = st.builds(
    Book,
    id=st.integers(1, 9),
    title=_ODD_TEXT.filter(str.strip),
    author=_ODD_TEXT,
    document_note=_ODD_TEXT,
    summary=_ODD_TEXT,
    tags=st.lists(_ODD_TEXT, max_size=2).map(tuple),
    category=st.sampled_from(["books", "articles", "tweets"]),
    source_url=st.sampled_from([None, "", "https://s"]),
    unique_url=st.sampled_from([None, "https://u"]),
    cover_image_url=st.sampled_from([None, "https://c"]),
    readwise_url=st.sampled_from([None, "https://r"]),
    highlights=st.lists(
        st.builds(
            Highlight,
            id=st.integers(1, 9),
            text=_ODD_TEXT,
            note=_ODD_TEXT,
            location=st.one_of(st.none(), st.integers(0, 9)),
            location_type=st.sampled_from([None, "location", "page", "offset"]),
            url=st.sampled_from([None, "https://x"]),
            tags=st.lists(st.sampled_from(["a", "h2", "b\nc", " "]), max_size=2).map(tuple),
        ),
        max_size=4,
    ).map(tuple),
)


@pytest.mark.parametrize("page_format", ["logseq", "obsidian"])
@settings(max_examples=300, deadline=None)
@given(book=_BOOKS)
def test_the_default_templates_python_twins_write_what_the_templates_write(
    page_format: str, book: Book
) -> None:
    """Issue 20: the default highlight, page title, header and front matter templates are
    rendered in Python (a Logseq highlight straight into its blocks); the same templates given
    as the config's (rendered by Jinja) write the same pages."""
    from syncd.core.templates import default_sources

    defaults = Style(templates=Templates(page_format), tz=timezone.utc)
    sources = default_sources(page_format)
    jinja = Style(
        templates=Templates(
            page_format, {name: sources[name] for name in defaults.templates._twins}
        ),
        tz=timezone.utc,
    )
    assert not jinja.templates.default_highlight and defaults.templates.default_highlight
    pages = []
    for style in (defaults, jinja):
        title = page_title(book, style, NOW)
        blocks = render_highlights(book, book.highlights, style)
        page = render_new_page(book, title, blocks or ["- x"], style, NOW)
        pages.append((title, blocks, page, render_addition(book, blocks, style, NOW)))
    assert pages[0] == pages[1]


def test_a_book_s_variables_are_made_once_for_its_page(monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 20: a new page's name, highlights, head, header and front matter each made the
    book's variables (cleaning its title, author, notes, tags): five times a book."""
    import syncd.core.render as render

    books: list[Book] = []
    real = render._variables

    def counted(book: Book) -> dict[str, object]:
        books.append(book)
        return real(book)

    monkeypatch.setattr(render, "_variables", counted)
    walden, emma = Book(7, "Walden", author="Thoreau"), Book(8, "Emma", author="Austen")
    custom = Style(
        templates=Templates("obsidian", {"highlight": "- {{ title }}: {{ highlight_text }}"}),
        tz=timezone.utc,
    )
    for book in (walden, emma):
        for style in (LOGSEQ, OBSIDIAN, custom):
            title = page_title(book, style, NOW)
            blocks = render_highlights(book, [Highlight(1, "a"), Highlight(2, "b")], style)
            render_new_page(book, title, blocks, style, NOW)
    assert books == [walden, emma]
    assert render_highlights(emma, [Highlight(1, "a")], custom) == ["- Emma: a"]


def _obsidian_value_as_before(name: str, value: str) -> str:
    """render._obsidian_value before its shortcuts (issue 20): every value split and every
    continuation line read by `bullet_depth`."""
    import syncd.core.render as render

    if name in ("highlight_text", "highlight_note"):
        value = render._BREAKS.sub(LINE_BREAK, value)
    first, *rest = value.split(LINE_BREAK)
    lines = [first]
    for line in rest:
        line = render.OBSIDIAN_CONTINUATION[name] + line
        if name != "summary" and bullet_depth(line, "    ") is not None:
            blank = len(line) - len(line.lstrip(" "))
            line = f"{line[:blank]}\\{line[blank:]}"
        lines.append(line)
    return "\n".join(lines)


@settings(max_examples=500, deadline=None)
@given(st.sampled_from(["highlight_text", "highlight_note", "document_note", "summary"]), _ODD_TEXT)
def test_an_obsidian_value_is_written_as_before_its_shortcuts(name: str, text: str) -> None:
    import syncd.core.render as render

    value = clean(text)
    assert render._obsidian_value(name, value) == _obsidian_value_as_before(name, value)


def test_the_last_book_s_variables_do_not_keep_the_book() -> None:
    """A daemon between syncs does not hold the last book rendered (its highlights)."""
    import weakref

    book = Book(9, "Gone", highlights=(Highlight(1, "x" * 1000),))
    page_title(book, LOGSEQ, NOW)
    gone = weakref.ref(book)
    del book
    assert gone() is None
    assert page_title(Book(9, "Other"), LOGSEQ, NOW) == "Other (highlights)"
