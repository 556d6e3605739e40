"""Golden Logseq pages turned back into the Readwise export data that they show.

The golden tests serve, from a fake Readwise server, the book and highlights a corpus page shows,
run syncd at each of the page's sync moments (``SYNCD_NOW``), and compare the written file byte
for byte with the page. This module is the pure half of that: `parse_golden_page` reads a page
written by Readwise's own Logseq export and returns export-shaped records (the fields
`syncd.core.model.parse_book` reads, plus the other fields of Readwise's export with neutral
values), grouped by the sync that first brought them.

What a page does not show is filled in by fixed conventions, so that every run sees the same data:
- The first sync (``- Highlights first synced by [[Readwise]] [[Nov 19th, 2022]]``) carries no time
  on the page; it is taken to have run at 00:00 UTC of that date. A later sync
  (``- New highlights added [[Mar 17th, 2023]] at 5:05 PM``) ran at that time, read as UTC.
- A highlight's ``created_at``, ``updated_at`` and ``highlighted_at`` are its sync's moment minus
  one second (ISO 8601, explicit ``Z``).
- The book's ``user_book_id`` is derived from a crc32 of the page's file name; highlight ids are
  ``user_book_id * 1000 + n`` for the n-th highlight on the page (from 1), so they increase in page
  order.
- ``title`` and ``readable_title`` are the page's title without `` (highlights)``.

Nothing here reads the file system except `corpus_pages`, `seed_page` and `sync_log_lines`; the
first and last give nothing when the shared folder is absent, and the tests that need the corpus
are marked `corpus` (`CORPUS`, `corpus_param`), which tests/conftest.py deselects without it.
"""

from __future__ import annotations

import copy
import os
import re
import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

#: The shared folder beside the clone (`../shared`), or `$SYNCD_TEST_SHARED` when set.
SHARED: Path = Path(
    os.environ.get("SYNCD_TEST_SHARED") or Path(__file__).resolve().parents[2].parent / "shared"
)
CORPUS_PAGES: Path = SHARED / "corpus" / "logseq-readwise" / "pages"
SYNC_LOG_PAGE: Path = CORPUS_PAGES / "Readwise.md"
SEED: Path = SHARED / "seeds" / "000_d3f1784dc771efdb.txt"

HIGHLIGHT_IDS_PER_BOOK = 1000

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

# `MMM do, yyyy` and `h:mm a` as Logseq (date-fns) writes them.
_DATE = r"(?P<month>[A-Z][a-z]{2}) (?P<day>\d{1,2})(?P<ordinal>st|nd|rd|th), (?P<year>\d{4})"
_TIME = r"(?P<hour>\d{1,2}):(?P<minute>\d{2}) (?P<meridiem>AM|PM)"
_FIRST_SYNC = re.compile(rf"- Highlights first synced by \[\[Readwise\]\] \[\[{_DATE}\]\]")
_LATER_SYNC = re.compile(rf"- New highlights added \[\[{_DATE}\]\] at {_TIME}")
_SYNC_LOG = re.compile(
    rf"- On \[\[{_DATE}\]\] at {_TIME} Readwise synced (?P<highlights>\d+) highlights?"
    r" from (?P<books>\d+) books?\."
)

# The link at the end of a highlight's last text line. The text before it is greedy, so the match
# is the last link on the line; the URL runs to the closing "))" at the very end, so a URL that
# holds parentheses is read whole.
_LOCATION = re.compile(
    r"(?P<text>.*) \(\[(?P<label>View Highlight|View Tweet"
    r"|Time\xa0(?P<hours>\d+):(?P<minutes>[0-5]\d):(?P<seconds>[0-5]\d)"
    r"|Location\xa0(?P<location>\d+)|Page\xa0(?P<page>\d+))\]\((?P<url>\S+)\)\)"
)
_TAG = re.compile(r"#\[\[(.*?)\]\]")

_PROPERTIES = (
    "title",
    "author",
    "full-title",
    "category",
    "url",
    "document_note",
    "summary",
    "tags",
)
_TITLE_SUFFIX = " (highlights)"
_TEXT_INDENT = "\t  "
_NOTE_INDENT = "\t\t  "
_TAGS_PREFIX = "\t\t- **Tags**: "
_NOTE_PREFIX = "\t\t- **Note**: "

# Only decoration: syncd does not read `source`.
_SOURCES = {"tweets": "twitter", "podcasts": "snipd", "articles": "reader", "books": ""}


@dataclass(frozen=True)
class SyncEvent:
    """One sync of a page: when it ran, and the highlights it first brought (in page order)."""

    at: datetime  # UTC-aware; the moment that sync ran
    highlights: tuple[dict[str, Any], ...]  # export-shaped highlight records


@dataclass(frozen=True)
class GoldenPage:
    """A golden page, and the book and highlights it shows as Readwise's export would give them."""

    file_name: str
    text: str
    book: dict[str, Any]  # export-shaped book record without "highlights"
    syncs: tuple[SyncEvent, ...]

    @property
    def highlights(self) -> tuple[dict[str, Any], ...]:
        """Every highlight on the page, in page order."""
        return tuple(h for sync in self.syncs for h in sync.highlights)

    def export_record(self, sync_index: int) -> dict[str, Any]:
        """Given the index of one of the page's syncs, return the export record (a deep copy) that
        the fake server answers at that sync: the book with the highlights that sync brought."""
        highlights = list(self.syncs[sync_index].highlights)
        return copy.deepcopy({**self.book, "highlights": highlights})


def stable_id(text: str) -> int:
    """Given a string, return a positive int id (below 2**31) that is the same on every run."""
    return zlib.crc32(text.encode("utf-8")) % (2**31 - 2) + 1


def _problem(file_name: str, line_number: int, problem: str) -> ValueError:
    return ValueError(f"{file_name}:{line_number}: {problem}")


def _ordinal(day: int) -> str:
    if 11 <= day % 100 <= 13:
        return "th"
    return {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")


def _moment(match: re.Match[str]) -> datetime:
    """Given a match of `_DATE` (and maybe `_TIME`), return the UTC moment. Raise ValueError."""
    if match["month"] not in _MONTHS:
        raise ValueError(f"unknown month {match['month']!r}")
    day = int(match["day"])
    if match["ordinal"] != _ordinal(day):
        raise ValueError(f"wrong ordinal in {match.group(0)!r}")
    hour = minute = 0
    if "hour" in match.re.groupindex:
        hour, minute = int(match["hour"]), int(match["minute"])
        if not 1 <= hour <= 12 or minute > 59:
            raise ValueError(f"bad time in {match.group(0)!r}")
        hour = hour % 12 + (12 if match["meridiem"] == "PM" else 0)
    return datetime(
        int(match["year"]),
        _MONTHS.index(match["month"]) + 1,
        day,
        hour,
        minute,
        tzinfo=timezone.utc,
    )


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _tags(value: str) -> list[dict[str, Any]] | None:
    """Given `#[[a]] #[[b]]`, return export-shaped tags; None if the value is not in that form."""
    names = _TAG.findall(value)
    if not names or " ".join(f"#[[{name}]]" for name in names) != value:
        return None
    return [{"id": stable_id(name), "name": name} for name in names]


def _continuation(content: str) -> str:
    # Readwise writes a continuation line that starts with "-" as "\-" so Logseq keeps it in
    # the block.
    return content[1:] if content.startswith("\\-") else content


@dataclass
class _Block:
    """A highlight while its lines are read."""

    line_number: int
    lines: list[str]
    tags: list[dict[str, Any]] | None = None
    note: list[str] | None = None


def _location(last_line: str) -> tuple[str, dict[str, Any], str | None]:
    """Given a highlight's last text line, return (the line without its link, the location fields
    of the highlight (with the "label" of a View link), the book's asin if the link names one).
    Raise ValueError."""
    match = _LOCATION.fullmatch(last_line)
    if match is None:
        return last_line, {"location": None, "location_type": None, "url": None}, None
    url, label = match["url"], match["label"]
    if label in ("View Highlight", "View Tweet"):
        fields = {"location": None, "location_type": "offset", "url": url, "label": label}
        return match["text"], fields, None
    if match["hours"] is not None:
        seconds = int(match["hours"]) * 3600 + int(match["minutes"]) * 60 + int(match["seconds"])
        fields = {"location": seconds, "location_type": "time_offset", "url": url}
        return match["text"], fields, None
    if match["page"] is not None:
        fields = {"location": int(match["page"]), "location_type": "page", "url": url}
        return match["text"], fields, None
    # A Kindle location links to Readwise's "open in Kindle" redirect, built from the asin.
    location = int(match["location"])
    query = parse_qs(urlsplit(url).query)
    asin = (query.get("asin") or [""])[0]
    expected = f"https://readwise.io/to_kindle?action=open&asin={asin}&location={location}"
    if not asin or url != expected:
        raise ValueError(f"Kindle location link {url!r} is not {expected!r}")
    return match["text"], {"location": location, "location_type": "location", "url": None}, asin


def _properties(file_name: str, lines: list[str]) -> dict[str, str]:
    """Given the property lines of a page, return them by name. Raise ValueError."""
    properties: dict[str, str] = {}
    for number, line in enumerate(lines, start=1):
        name, separator, value = line.partition(":: ")
        if not separator or name not in _PROPERTIES:
            raise _problem(file_name, number, f"not a known property line: {line!r}")
        if name in properties:
            raise _problem(file_name, number, f"property {name!r} twice")
        if _PROPERTIES.index(name) < max((_PROPERTIES.index(k) for k in properties), default=-1):
            raise _problem(file_name, number, f"property {name!r} out of order")
        properties[name] = value
    for name in ("title", "author", "full-title", "category"):
        if name not in properties:
            raise _problem(file_name, 1, f"missing property {name!r}")
    return properties


def _book(file_name: str, properties: dict[str, str]) -> dict[str, Any]:
    """Given a page's properties, return its export-shaped book record. Raise ValueError."""
    title = properties["title"]
    if not title.endswith(_TITLE_SUFFIX):
        raise _problem(file_name, 1, f"title does not end with {_TITLE_SUFFIX!r}")
    title = title[: -len(_TITLE_SUFFIX)]
    if properties["full-title"] != f'"{title}"':
        raise _problem(file_name, 3, "full-title is not the quoted title")
    author = re.fullmatch(r"\[\[(.*)\]\]", properties["author"])
    if author is None:
        raise _problem(file_name, 2, "author is not a [[link]]")
    category = re.fullmatch(r"#(\S+)", properties["category"])
    if category is None:
        raise _problem(file_name, 4, "category is not a #tag")
    book_tags: list[dict[str, Any]] | None = []
    if "tags" in properties:
        book_tags = _tags(properties["tags"])
        if book_tags is None:
            raise _problem(file_name, 1, f"tags property {properties['tags']!r} is not #[[tag]]s")
    book_id = stable_id(file_name)
    return {
        "user_book_id": book_id,
        "title": title,
        "author": author.group(1),
        "readable_title": title,
        "source": _SOURCES.get(category.group(1), ""),
        "cover_image_url": "",
        "unique_url": None,
        "summary": properties.get("summary", ""),
        "document_note": properties.get("document_note", ""),
        "book_tags": book_tags,
        "category": category.group(1),
        "readwise_url": f"https://readwise.io/bookreview/{book_id}",
        "source_url": properties.get("url") or None,
        "asin": None,
        "is_deleted": False,
    }


def _highlight(
    file_name: str, block: _Block, book: dict[str, Any], number: int, at: datetime
) -> dict[str, Any]:
    """Given a highlight's lines, return its export-shaped record; set the book's asin if its
    link names one. Raise ValueError."""
    try:
        last, fields, asin = _location(block.lines[-1])
    except ValueError as error:
        raise _problem(file_name, block.line_number, str(error)) from None
    if asin is not None:
        if book["asin"] not in (None, asin):
            raise _problem(file_name, block.line_number, f"a second asin {asin!r}")
        book["asin"] = asin
    if fields.get("label") == "View Tweet" and book["category"] != "tweets":
        raise _problem(file_name, block.line_number, "a View Tweet link outside #tweets")
    highlight_id = book["user_book_id"] * HIGHLIGHT_IDS_PER_BOOK + number
    moment = _iso(at - timedelta(seconds=1))
    return {
        "id": highlight_id,
        "text": "\n".join([*block.lines[:-1], last]),
        "location": fields["location"],
        "location_type": fields["location_type"],
        "note": "\n".join(block.note) if block.note is not None else "",
        "color": "",
        "highlighted_at": moment,
        "created_at": moment,
        "updated_at": moment,
        "external_id": None,
        "end_location": None,
        "url": fields["url"],
        "tags": block.tags or [],
        "is_favorite": False,
        "is_discard": False,
        "is_deleted": False,
        "readwise_url": f"https://readwise.io/open/{highlight_id}",
        "book_id": book["user_book_id"],
    }


def parse_golden_page(file_name: str, text: str) -> GoldenPage:
    """Given a page's file name and its whole text, return the book and highlights it shows,
    grouped by the sync that first brought them.

    Raise ValueError, naming the file and line, if the page does not fit the format of Readwise's
    Logseq export.
    """
    lines = text.split("\n")
    if "" not in lines:
        raise _problem(file_name, len(lines), "no blank line after the properties")
    blank = lines.index("")
    book = _book(file_name, _properties(file_name, lines[:blank]))

    syncs: list[tuple[datetime, list[_Block]]] = []
    block: _Block | None = None
    for number, line in enumerate(lines[blank + 1 :], start=blank + 2):
        if line.startswith("- "):
            pattern = _LATER_SYNC if syncs else _FIRST_SYNC
            match = pattern.fullmatch(line)
            if match is None:
                raise _problem(file_name, number, f"not a sync header here: {line!r}")
            try:
                syncs.append((_moment(match), []))
            except ValueError as error:
                raise _problem(file_name, number, str(error)) from None
            block = None
        elif line.startswith("\t- "):
            if not syncs:
                raise _problem(file_name, number, "a highlight before any sync header")
            block = _Block(number, [line[3:]])
            syncs[-1][1].append(block)
        elif line.startswith(_TEXT_INDENT):
            if block is None or block.tags is not None or block.note is not None:
                raise _problem(file_name, number, "a text line outside a highlight's text")
            block.lines.append(_continuation(line[len(_TEXT_INDENT) :]))
        elif line.startswith(_TAGS_PREFIX):
            tags = _tags(line[len(_TAGS_PREFIX) :])
            if block is None or block.tags is not None or block.note is not None or tags is None:
                raise _problem(file_name, number, f"unexpected tags line: {line!r}")
            block.tags = tags
        elif line.startswith(_NOTE_PREFIX):
            if block is None or block.note is not None:
                raise _problem(file_name, number, "a note outside a highlight, or a second one")
            block.note = [line[len(_NOTE_PREFIX) :]]
        elif line.startswith(_NOTE_INDENT):
            if block is None or block.note is None:
                raise _problem(file_name, number, "a note line outside a note")
            block.note.append(_continuation(line[len(_NOTE_INDENT) :]))
        else:
            raise _problem(file_name, number, f"unexpected line: {line!r}")

    if not syncs:
        raise _problem(file_name, len(lines), "no 'Highlights first synced by' block")
    count = sum(len(blocks) for _, blocks in syncs)
    if count >= HIGHLIGHT_IDS_PER_BOOK:
        raise _problem(file_name, len(lines), f"{count} highlights: too many for the id scheme")
    events = []
    number = 0
    for at, blocks in syncs:
        highlights = []
        for block in blocks:
            number += 1
            highlights.append(_highlight(file_name, block, book, number, at))
        events.append(SyncEvent(at=at, highlights=tuple(highlights)))
    return GoldenPage(file_name=file_name, text=text, book=book, syncs=tuple(events))


def parse_sync_log_line(line: str) -> tuple[datetime, int, int] | None:
    """Given a line of the sync log page (Readwise.md), return (the UTC moment of the sync, the
    number of highlights, the number of books); None if the line is not a sync log line."""
    match = _SYNC_LOG.fullmatch(line)
    if match is None:
        return None
    try:
        at = _moment(match)
    except ValueError:
        return None
    return at, int(match["highlights"]), int(match["books"])


def corpus_present() -> bool:
    """Whether the shared corpus (the Logseq pages, the seed, the Obsidian files) is there."""
    return (
        CORPUS_PAGES.is_dir()
        and SEED.is_file()
        and (SHARED / "corpus" / "obsidian-readwise").is_dir()
    )


#: Marks a test (or a parameter) that reads the shared corpus: deselected without it
#: (tests/conftest.py), so that a clone without the corpus runs no test that cannot pass.
CORPUS = pytest.mark.corpus


def corpus_param(*values: Any, id: str | None = None) -> Any:
    """A `pytest.param` of corpus data, marked `corpus`."""
    return pytest.param(*values, marks=CORPUS, id=id)


def _read(path: Path) -> str:
    # Bytes, not read_text(): no newline translation, so the text is the file's exact bytes.
    return path.read_bytes().decode("utf-8")


def corpus_pages() -> list[GoldenPage]:
    """Return every golden page of the corpus except the sync log page, sorted by file name;
    none when the corpus is absent."""
    if not corpus_present():
        return []
    return [
        parse_golden_page(path.name, _read(path))
        for path in sorted(CORPUS_PAGES.glob("*.md"), key=lambda p: p.name)
        if path.name != SYNC_LOG_PAGE.name
    ]


def seed_page() -> GoldenPage:
    """Return the seed page; its last highlight, cut short in the file, is kept as the text that
    is there. Only for tests marked `corpus`."""
    return parse_golden_page(SEED.name, _read(SEED))


def sync_log_lines() -> list[str]:
    """Return the lines of the corpus's sync log page (Readwise.md); none when the corpus is
    absent."""
    if not corpus_present():
        return []
    return _read(SYNC_LOG_PAGE).split("\n")
