"""Tests of tests/support/corpus.py: golden pages read back into the export data they show.

The strongest check is `test_every_page_renders_back_byte_for_byte`: a small renderer written
here from the page format turns each parse back into text, which must be the page itself. If that
holds, nothing on the page was lost or misread by the parser.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from syncd.core.model import parse_book
from tests.support import owned_fixtures
from tests.support.corpus import (
    CORPUS,
    CORPUS_PAGES,
    SEED,
    SYNC_LOG_PAGE,
    GoldenPage,
    corpus_pages,
    parse_golden_page,
    parse_sync_log_line,
    seed_page,
    sync_log_lines,
)

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@pytest.fixture(scope="module")
def pages() -> list[GoldenPage]:
    return corpus_pages()


def _lines(page: GoldenPage) -> list[str]:
    return page.text.split("\n")


# -- a renderer of the page format, used only to check that parsing loses nothing ---------------


def _date(at: datetime) -> str:
    day = at.day
    ordinal = "th" if 11 <= day <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{_MONTHS[at.month - 1]} {day}{ordinal}, {at.year}"


def _time(at: datetime) -> str:
    return f"{(at.hour + 11) % 12 + 1}:{at.minute:02d} {'PM' if at.hour >= 12 else 'AM'}"


def _continued(text: str, indent: str) -> str:
    first, *rest = text.split("\n")
    return "\n".join(
        [first, *(indent + ("\\" + line if line.startswith("-") else line) for line in rest)]
    )


def _suffix(highlight: dict[str, Any], book: dict[str, Any]) -> str:
    kind, location, url = highlight["location_type"], highlight["location"], highlight["url"]
    if kind == "location":
        link = f"https://readwise.io/to_kindle?action=open&asin={book['asin']}&location={location}"
        return f" ([Location\xa0{location}]({link}))"
    if url is None:
        return ""
    if kind == "time_offset":
        hours, rest = divmod(location, 3600)
        return f" ([Time\xa0{hours}:{rest // 60:02d}:{rest % 60:02d}]({url}))"
    if kind == "page":
        return f" ([Page\xa0{location}]({url}))"
    label = "View Tweet" if book["category"] == "tweets" else "View Highlight"
    return f" ([{label}]({url}))"


def _tag_links(tags: list[dict[str, Any]]) -> str:
    return " ".join(f"#[[{tag['name']}]]" for tag in tags)


def _highlight_lines(highlight: dict[str, Any], book: dict[str, Any]) -> list[str]:
    lines = [f"\t- {_continued(highlight['text'], chr(9) + '  ')}{_suffix(highlight, book)}"]
    if highlight["tags"]:
        lines.append(f"\t\t- **Tags**: {_tag_links(highlight['tags'])}")
    if highlight["note"]:
        lines.append(f"\t\t- **Note**: {_continued(highlight['note'], chr(9) * 2 + '  ')}")
    return "\n".join(lines).split("\n")


def _render(page: GoldenPage) -> str:
    book = page.book
    lines = [
        f"title:: {book['readable_title']} (highlights)",
        f"author:: [[{book['author']}]]",
        f'full-title:: "{book["readable_title"]}"',
        f"category:: #{book['category']}",
    ]
    if book["source_url"]:
        lines.append(f"url:: {book['source_url']}")
    if book["document_note"]:
        lines.append(f"document_note:: {book['document_note']}")
    if book["summary"]:
        lines.append(f"summary:: {book['summary']}")
    if book["book_tags"]:
        lines.append(f"tags:: {_tag_links(book['book_tags'])}")
    lines.append("")
    for index, sync in enumerate(page.syncs):
        if index == 0:
            lines.append(f"- Highlights first synced by [[Readwise]] [[{_date(sync.at)}]]")
        else:
            lines.append(f"- New highlights added [[{_date(sync.at)}]] at {_time(sync.at)}")
        for highlight in sync.highlights:
            lines.extend(_highlight_lines(highlight, book))
    return "\n".join(lines)


# -- the corpus ---------------------------------------------------------------------------------


@CORPUS
def test_every_corpus_page_parses(pages: list[GoldenPage]) -> None:
    names = [page.file_name for page in pages]
    assert len(pages) == 192
    assert names == sorted(names)
    assert SYNC_LOG_PAGE.name not in names
    assert {path.name for path in CORPUS_PAGES.glob("*.md")} == {*names, SYNC_LOG_PAGE.name}


@CORPUS
def test_every_page_renders_back_byte_for_byte(pages: list[GoldenPage]) -> None:
    for page in [*pages, seed_page()]:
        assert _render(page) == page.text, page.file_name


def test_every_owned_page_parses_and_renders_back_byte_for_byte() -> None:
    """The project's own fixture pages (tests/golden/fixtures/logseq) read as the corpus's do."""
    pages = owned_fixtures.logseq_pages()
    assert len(pages) == 8
    for page in pages:
        assert _render(page) == page.text, page.file_name


@CORPUS
def test_highlight_count_is_the_number_of_child_blocks(pages: list[GoldenPage]) -> None:
    for page in pages:
        children = sum(line.startswith("\t- ") for line in _lines(page))
        assert len(page.highlights) == children, page.file_name
    assert sum(len(page.highlights) for page in pages) == 949


@CORPUS
def test_one_sync_event_per_top_level_block(pages: list[GoldenPage]) -> None:
    for page in pages:
        top_level = sum(line.startswith("- ") for line in _lines(page))
        assert len(page.syncs) == top_level, page.file_name
        assert all(sync.highlights for sync in page.syncs), page.file_name
    assert sum(len(page.syncs) for page in pages) == 192 + 94


@CORPUS
def test_sync_times_strictly_increase_and_are_utc(pages: list[GoldenPage]) -> None:
    for page in pages:
        moments = [sync.at for sync in page.syncs]
        assert all(at.utcoffset() == timedelta(0) for at in moments), page.file_name
        assert moments == sorted(set(moments)), page.file_name
        first = moments[0]
        assert (first.hour, first.minute, first.second) == (0, 0, 0), page.file_name


@CORPUS
def test_highlight_timestamps_are_one_second_before_their_sync(pages: list[GoldenPage]) -> None:
    for page in pages:
        for sync in page.syncs:
            stamp = (sync.at - timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
            for highlight in sync.highlights:
                assert highlight["updated_at"] == stamp, page.file_name
                assert highlight["created_at"] == highlight["highlighted_at"] == stamp


@CORPUS
def test_later_sync_reads_its_time(pages: list[GoldenPage]) -> None:
    (page,) = [p for p in pages if p.file_name == "Tweets From Rob Henderson (highlights).md"]
    times = [sync.at for sync in page.syncs]
    assert datetime(2023, 2, 9, 15, 21, tzinfo=timezone.utc) in times


@CORPUS
def test_ids_are_stable_unique_and_in_page_order(pages: list[GoldenPage]) -> None:
    book_ids = [page.book["user_book_id"] for page in pages]
    assert len(set(book_ids)) == len(book_ids)
    assert all(isinstance(i, int) and i > 0 for i in book_ids)
    for page in pages:
        ids = [h["id"] for h in page.highlights]
        assert ids == sorted(set(ids)), page.file_name
        assert all(h["book_id"] == page.book["user_book_id"] for h in page.highlights)
    again = parse_golden_page(pages[0].file_name, pages[0].text)
    assert again == pages[0]


@CORPUS
def test_records_are_export_shaped_and_fit_syncd_model(pages: list[GoldenPage]) -> None:
    for page in pages:
        assert "highlights" not in page.book
        for index, sync in enumerate(page.syncs):
            record = page.export_record(index)
            book = parse_book(record)
            assert book.id == page.book["user_book_id"]
            assert book.title == page.book["readable_title"] == page.book["title"]
            assert [h.text for h in book.highlights] == [h["text"] for h in sync.highlights]
            assert not any(h.deleted_in_readwise for h in book.highlights)


@CORPUS
def test_book_properties(pages: list[GoldenPage]) -> None:
    by_name = {page.file_name: page.book for page in pages}
    quoted = by_name["%22Measure Twice, Cut Once... (highlights).md"]
    assert quoted["title"] == '"Measure Twice, Cut Once...'
    assert quoted["author"] == "@NoahHaber on Twitter"
    assert quoted["category"] == "tweets"
    assert quoted["source_url"] == "https://twitter.com/NoahHaber/status/1315300855063642116"
    assert quoted["unique_url"] is None
    assert sum(bool(book["source_url"]) for book in by_name.values()) == 164
    assert sum(bool(book["document_note"]) for book in by_name.values()) == 11
    assert by_name["10% Happier (highlights).md"]["document_note"].startswith("Dan Harris’s book")


@CORPUS
def test_time_location_becomes_seconds(pages: list[GoldenPage]) -> None:
    first = seed_page().syncs[0].highlights[0]
    assert (first["location"], first["location_type"]) == (539, "time_offset")
    assert first["url"] == "https://share.snipd.com/snip/9f9472e1-89d3-4fe9-990e-7f138cf06510"
    timed = [h for page in pages for h in page.highlights if h["location_type"] == "time_offset"]
    assert len(timed) == 47
    assert all(isinstance(h["location"], int) and h["url"] for h in timed)


@CORPUS
def test_view_tweet_pages_are_tweets(pages: list[GoldenPage]) -> None:
    tweet_pages = [page for page in pages if "([View Tweet](" in page.text]
    assert tweet_pages
    for page in tweet_pages:
        assert page.book["category"] == "tweets", page.file_name
        assert "([View Highlight](" not in page.text, page.file_name
    linked = [h for page in tweet_pages for h in page.highlights if h["url"]]
    assert len(linked) == 376
    assert all(h["location_type"] == "offset" and h["location"] is None for h in linked)


@CORPUS
def test_highlights_without_a_link_have_no_url_or_location(pages: list[GoldenPage]) -> None:
    unlinked = [h for page in pages for h in page.highlights if h["url"] is None]
    assert len(unlinked) == 949 - 376 - 337 - 47
    assert all(h["location"] is None and h["location_type"] is None for h in unlinked)


@CORPUS
def test_tags_and_notes_are_extracted(pages: list[GoldenPage]) -> None:
    highlights = [h for page in pages for h in page.highlights]
    assert sum(bool(h["tags"]) for h in highlights) == 78
    assert sum(bool(h["note"]) for h in highlights) == 51
    by_name = {page.file_name: page for page in pages}
    measure = by_name["%22Measure Twice, Cut Once... (highlights).md"].highlights
    assert [t["name"] for t in measure[1]["tags"]] == ["favorite"]
    assert all(isinstance(t["id"], int) for h in highlights for t in h["tags"])
    pumps = by_name["Intuition Pumps and Other Tools for Thinking (highlights).md"]
    (noted,) = [h for h in pumps.highlights if h["note"].startswith("Sorites Paradox")]
    assert noted["note"] == (
        "Sorites Paradox: 🤔\nNo grains make a heap, yet it's there 🐣\n"
        "Little by little it grows 🌊"
    )
    assert [t["name"] for t in pumps.book["book_tags"]] == ["intuition pumps", "philosophy"]
    assert sum(bool(page.book["book_tags"]) for page in pages) == 7


@CORPUS
def test_multiline_text_round_trips(pages: list[GoldenPage]) -> None:
    multiline = 0
    for page in pages:
        lines = _lines(page)
        starts = [i for i, line in enumerate(lines) if line.startswith("\t- ")]
        assert len(starts) == len(page.highlights)
        for start, highlight in zip(starts, page.highlights, strict=True):
            text_lines = highlight["text"].split("\n")
            multiline += len(text_lines) > 1
            rebuilt = [f"\t- {text_lines[0]}", *(f"\t  {line}" for line in text_lines[1:])]
            rebuilt[-1] += _suffix(highlight, page.book)
            assert lines[start : start + len(rebuilt)] == rebuilt, page.file_name
            after = lines[start + len(rebuilt)] if start + len(rebuilt) < len(lines) else "- "
            assert not after.startswith("\t  "), page.file_name
    assert multiline > 100


@CORPUS
def test_seed_parses_with_its_cut_short_highlight() -> None:
    seed = seed_page()
    assert seed.file_name == SEED.name
    assert seed.book["category"] == "podcasts"
    assert seed.book["author"] == "Generally Intelligent"
    assert [sync.at for sync in seed.syncs] == [
        datetime(2022, 11, 19, tzinfo=timezone.utc),
        datetime(2023, 3, 17, 17, 5, tzinfo=timezone.utc),
    ]
    assert [len(sync.highlights) for sync in seed.syncs] == [1, 1]
    first = seed.syncs[0].highlights[0]
    assert first["text"].startswith("The Lottery Ticket Hypothesis for Deep Learning\n\nSummary:")
    assert first["text"].endswith("which is pretty counterintuitive.")
    last = seed.syncs[1].highlights[0]
    assert last["text"] == "What Is a Not-Correlational?\n\nKey takeaways:"
    assert last["url"] is None and last["location"] is None


# -- the format's rarer cases, on made-up pages --------------------------------------------------

_HEAD = (
    'title:: A Book (highlights)\nauthor:: [[Someone]]\nfull-title:: "A Book"\n'
    "category:: #books\n\n- Highlights first synced by [[Readwise]] [[Jan 1st, 2023]]\n"
)


def test_kindle_location_page_and_parenthesised_url() -> None:
    text = (
        _HEAD + "\t- Kindle text ([Location\xa0982](https://readwise.io/to_kindle?action=open"
        "&asin=B00TEST123&location=982))\n"
        + "\t- Paper text ([Page\xa012](https://example.com/p))\n"
        + "\t- A ]( inside ([View Highlight](https://en.wikipedia.org/wiki/Foo_(bar)))\n"
        + "- New highlights added [[Jan 2nd, 2023]] at 12:20 AM\n"
        + "\t- first\n\t  \\- dashed\n\t  \n\t  last\n"
        + "\t\t- **Tags**: #[[a b]] #[[c]]\n\t\t- **Note**: note\n\t\t  \\- more"
    )
    page = parse_golden_page("A Book (highlights).md", text)
    kindle, paper, wiki = page.syncs[0].highlights
    assert page.book["asin"] == "B00TEST123"
    assert (kindle["text"], kindle["location"], kindle["location_type"], kindle["url"]) == (
        "Kindle text",
        982,
        "location",
        None,
    )
    assert (paper["location"], paper["location_type"], paper["url"]) == (
        12,
        "page",
        "https://example.com/p",
    )
    assert wiki["text"] == "A ]( inside"
    assert wiki["url"] == "https://en.wikipedia.org/wiki/Foo_(bar)"
    assert page.syncs[1].at == datetime(2023, 1, 2, 0, 20, tzinfo=timezone.utc)
    (dashed,) = page.syncs[1].highlights
    assert dashed["text"] == "first\n- dashed\n\nlast"
    assert [t["name"] for t in dashed["tags"]] == ["a b", "c"]
    assert dashed["note"] == "note\n- more"
    assert _render(page) == text


@pytest.mark.parametrize(
    "broken",
    [
        _HEAD.replace('full-title:: "A Book"', 'full-title:: "Another"'),
        _HEAD.replace("(highlights)", "(notes)"),
        _HEAD.replace("\n\n", "\n"),
        _HEAD + "\t- x\n- Highlights first synced by [[Readwise]] [[Jan 2nd, 2023]]",
        _HEAD + "\t- x\n- New highlights added [[Jan 2nd, 2023]]",
        _HEAD.replace("1st", "1th") + "\t- x",
        _HEAD + "\t- x\n\t\t- **Note**: n\n\t  after the note",
        _HEAD + "\t- x\n\t\t- something else",
        _HEAD + "\t- x ([Location\xa01](https://example.com/kindle))",
    ],
)
def test_a_page_that_does_not_fit_raises(broken: str) -> None:
    with pytest.raises(ValueError, match=r"^A Book \(highlights\)\.md:\d+: "):
        parse_golden_page("A Book (highlights).md", broken)


# -- the sync log page ---------------------------------------------------------------------------


@CORPUS
def test_parse_sync_log_line_reads_every_log_line() -> None:
    lines = sync_log_lines()
    parsed = [parse_sync_log_line(line) for line in lines]
    assert len(lines) == 1752
    assert sum(p is not None for p in parsed) == 1750
    unparsed = [line for line, p in zip(lines, parsed, strict=True) if p is None]
    assert unparsed == [
        "-",
        "- * On [[Nov 19th, 2022]] at 9:11 PM Readwise synced 147 highlights from 46 books.",
    ]
    read = [line for line, p in zip(lines, parsed, strict=True) if p is not None]
    assert all(re.fullmatch(r"- On \[\[.*", line) for line in read)
    assert parsed[0] == (datetime(2022, 11, 19, 20, 25, tzinfo=timezone.utc), 23704, 4361)
    moments = [p[0] for p in parsed if p]
    assert moments == sorted(moments)


def test_parse_sync_log_line_cases() -> None:
    assert parse_sync_log_line(
        "- On [[Nov 21st, 2022]] at 12:20 AM Readwise synced 134 highlights from 44 books."
    ) == (datetime(2022, 11, 21, 0, 20, tzinfo=timezone.utc), 134, 44)
    assert parse_sync_log_line(
        "- On [[May 2nd, 2023]] at 12:05 PM Readwise synced 1 highlight from 1 book."
    ) == (datetime(2023, 5, 2, 12, 5, tzinfo=timezone.utc), 1, 1)
    assert parse_sync_log_line("-") is None
    assert parse_sync_log_line("") is None
    starred = "- * On [[Nov 19th, 2022]] at 9:11 PM Readwise synced 147 highlights from 46 books."
    assert parse_sync_log_line(starred) is None
    assert (
        parse_sync_log_line(
            "- On [[Nov 19th, 2022]] at 9:11 PM Readwise synced 147 highlights from 46 books"
        )
        is None
    )
    assert (
        parse_sync_log_line(
            "- On [[Nov 19nd, 2022]] at 9:11 PM Readwise synced 147 highlights from 46 books."
        )
        is None
    )
