"""Files of Readwise's official Obsidian export turned back into the Readwise data they show.

The Obsidian golden tests serve, from the loopback Readwise server, the book and highlights a
corpus file (`../shared/corpus/obsidian-readwise/`) shows, sync at each of the file's sync moments
and compare the written file, name included, byte for byte. This module is the pure half: it
reads a file and returns export-shaped records grouped by the sync that brought them, or says
why the file cannot be rebuilt from what it shows (`Unusable`).

Conventions for what a file does not show (every run sees the same data):
- The first sync (`## Highlights`) carries no date: it is taken to be 2025-06-01 00:00 UTC, or
  2024-06-01 for a file named before Readwise collapsed runs of spaces in file names (its name
  keeps the double space of a removed ` | `); a day before its first later sync if that is
  earlier. A later sync (`## New highlights added July 15, 2023 at 2:21 AM`) ran at that moment,
  read as UTC. Highlights' timestamps are their sync's moment minus one second.
- The book's id is a crc32 of the file's path; highlight ids are `book id * 1000 + n`.
- A heading line (`### x`, `#### x`) is a Readwise heading highlight: tagged `h1` (`h2`), with
  Readwise's `.h1` (`.h2`) note.
- A file named `x-2.md` is the second book of its name: the test syncs one book of that title
  first.

A sync log (`Readwise Syncs.md`) is read into its entries: the moment and, per book line, the
book's title and how many highlights it brought.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from syncd.core.filenames import obsidian_file_stem
from tests.support.corpus import HIGHLIGHT_IDS_PER_BOOK, SHARED, corpus_present, stable_id

CORPUS: Path = SHARED / "corpus" / "obsidian-readwise"
SYNC_LOG_NAME = "Readwise Syncs.md"
FULL_TEXT_FOLDER = "Full Document Contents"

_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_LATER = re.compile(
    r"## New highlights added (?P<month>[A-Z][a-z]+) (?P<day>\d{1,2}), "
    r"(?P<year>\d{4}) at (?P<hour>\d{1,2}):(?P<minute>\d\d) (?P<ampm>AM|PM)"
)
_LOG_ENTRY = re.compile(
    r"- \[\[(?P<date>\d{4}-\d\d-\d\d)\]\] (?P<hour>\d{1,2}):(?P<minute>\d\d) "
    r"(?P<ampm>AM|PM) \u2014 Synced (?P<highlights>\d+) highlights? from "
    r"(?P<books>\d+) documents?\."
)
_LOG_BOOK = re.compile(r"    - (?P<count>\d+) highlights from (?P<title>.*)")
_LOCATION = re.compile(
    r"(?P<text>.*?) \((?:\[(?P<label>[^\]]*)\]\((?P<url>\S+)\)|(?P<plain>(?:Location|Page)\xa0"
    r"\d+))\)"
)
_KINDLE = re.compile(
    r"https://readwise\.io/to_kindle\?action=open&asin=(?P<asin>\w+)"
    r"&location=(?P<location>\d+)"
)
_TAGS = re.compile(r"\[\[(.*?)\]\] ")
_FULL_DOCUMENT = re.compile(
    r"\n\n## Full Document\n\[\[(?P<target>Full Document Contents/[^|\]\n]+)"
    r"\|See full document content \u2192\]\]\n\n## Highlights\n"
)
_NUMBERED = re.compile(r"(?P<stem>.*)-(?P<n>[2-9])")
_CATEGORIES = {
    "Books": "books",
    "Articles": "articles",
    "Tweets": "tweets",
    "Podcasts": "podcasts",
    "Supplementals": "supplementals",
}
FIRST_SYNC = datetime(2025, 6, 1, tzinfo=timezone.utc)
FIRST_SYNC_SPACES_KEPT = datetime(2024, 6, 1, tzinfo=timezone.utc)


class Unusable(Exception):
    """A corpus file that cannot be rebuilt from the data it shows; the message says why."""


@dataclass(frozen=True)
class ObsidianSync:
    at: datetime
    highlights: tuple[dict[str, Any], ...]


@dataclass(frozen=True)
class ObsidianFile:
    """A corpus highlight file and the book and syncs it shows."""

    path: str  # relative to the corpus folder
    category_folder: str
    name: str  # file name, `.md` included
    number: int  # 2 for `x-2.md`: the second book of that file name
    text: str
    book: dict[str, Any]
    syncs: tuple[ObsidianSync, ...]
    full_document: str | None = None  # the `## Full Document` link's target, if any


@dataclass(frozen=True)
class SyncLogEntry:
    at: datetime
    books: tuple[tuple[str, int], ...]  # (title, highlights)


def _utc(year: int, month: int, day: int, hour: int, minute: int, ampm: str) -> datetime:
    if not 1 <= hour <= 12:
        raise Unusable(f"bad hour {hour}")
    return datetime(
        year, month, day, hour % 12 + (12 if ampm == "PM" else 0), minute, tzinfo=timezone.utc
    )


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _read(path: Path) -> str:
    return path.read_bytes().decode("utf-8")


def _metadata(lines: list[str]) -> dict[str, str]:
    """The `- Key: value` lines of `## Metadata` (continuation lines joined with `\\n`)."""
    keys = ("Author", "Full Title", "Category", "Document Note", "Document Tags", "Summary", "URL")
    found: dict[str, list[str]] = {}
    current: str | None = None
    for line in lines:
        key = next((k for k in keys if line.startswith(f"- {k}: ") or line == f"- {k}:"), None)
        if (
            key is not None
            and key not in found
            and keys.index(key) > max((keys.index(k) for k in found), default=-1)
        ):
            current = key
            found[key] = [line[len(key) + 4 :]]
        elif current == "Document Note" and line.startswith("   "):
            found[current].append(line[3:])
        elif current == "Summary":
            found[current].append(line)
        elif current == "Author":
            raise Unusable(
                "the author holds a line break, which breaks its [[link]]; syncd "
                "writes a space there (better than Readwise)"
            )
        else:
            raise Unusable(f"unexpected metadata line {line[:60]!r}")
    if "Author" not in found:
        raise Unusable(
            "no `- Author:` line (a 2023 template left it out for an empty author; "
            "syncd writes `- Author: ` as Readwise does today)"
        )
    for key in ("Full Title", "Category"):
        if key not in found:
            raise Unusable(f"no {key} in the metadata")
    return {key: "\n".join(value) for key, value in found.items()}


def _tags(value: str) -> list[dict[str, Any]]:
    names = _TAGS.findall(value)
    if "".join(f"[[{n}]] " for n in names) != value:
        raise Unusable(f"tags {value!r} not in the `[[a]] [[b]] ` form")
    return [{"id": stable_id(n), "name": n} for n in names]


def _first_sync(name_stem: str, title: str) -> datetime:
    kept = obsidian_file_stem(title, collapse_spaces=False)
    if kept == name_stem and obsidian_file_stem(title) != kept:
        return FIRST_SYNC_SPACES_KEPT
    return FIRST_SYNC


def parse_obsidian_file(path: str, text: str) -> ObsidianFile:
    """Given a corpus file's path (relative to the corpus) and text, return what it shows.
    Raise Unusable, saying why, for a file that cannot be rebuilt from it."""
    parts = path.split("/")
    folder, name = parts[-2], parts[-1]
    if folder not in _CATEGORIES:
        raise Unusable(f"not in a category folder ({folder!r})")
    if text.startswith("---\n"):
        raise Unusable("YAML front matter: written by a user's own template, not the default")
    if not text.startswith("# "):
        raise Unusable("no `# title` line: a file re-created holding only a later chunk")
    full_document = None
    if "\n## Full Document\n" in text:
        link = _FULL_DOCUMENT.search(text)
        if link is None:
            raise Unusable("a `## Full Document` section not as the plugin writes it")
        full_document = link["target"]
        whole, text = text, text.replace(link[0], "\n\n## Highlights\n", 1)
    if text.endswith("\n\n"):
        raise Unusable("ends with a blank line that no field of its data explains")
    lines = text.split("\n")
    assert lines[-1] == ""
    lines = lines[:-1]
    title = lines[0][2:]
    i = 2
    if lines[1] != "":
        raise Unusable("no blank line after the title")
    cover = ""
    if lines[i].startswith("![rw-book-cover]("):
        cover = lines[i][len("![rw-book-cover](") : -1]
        if lines[i] != f"![rw-book-cover]({cover})" or lines[i + 1] != "":
            raise Unusable("unexpected cover lines")
        i += 2
    if lines[i] != "## Metadata":
        raise Unusable("no `## Metadata`")
    try:
        end = lines.index("## Highlights", i)
    except ValueError:
        raise Unusable("no `## Highlights`") from None
    if lines[end - 1] != "":
        raise Unusable("no blank line before `## Highlights`")
    meta = _metadata(lines[i + 1 : end - 1])
    if meta["Full Title"] != title:
        raise Unusable("Full Title differs from the title")
    author = meta["Author"]
    if author:
        match = re.fullmatch(r"\[\[(.*)\]\]", author)
        if match is None:
            raise Unusable(f"author {author!r} is not a [[link]]")
        author = match.group(1)
    category = meta["Category"]
    if category != "#" + _CATEGORIES[folder]:
        raise Unusable(f"category {category!r} is not that of the folder")
    numbered = _NUMBERED.fullmatch(name[:-3])
    number = int(numbered["n"]) if numbered else 1
    stem = numbered["stem"] if numbered else name[:-3]
    book_id = stable_id(path)
    book: dict[str, Any] = {
        "user_book_id": book_id,
        "title": title,
        "readable_title": title,
        "author": author,
        "source": "",
        "cover_image_url": cover,
        "unique_url": None,
        "summary": meta.get("Summary", ""),
        "document_note": meta.get("Document Note", ""),
        "book_tags": _tags(meta["Document Tags"]) if "Document Tags" in meta else [],
        "category": _CATEGORIES[folder],
        "readwise_url": f"https://readwise.io/bookreview/{book_id}",
        "source_url": meta.get("URL") or None,
        "asin": None,
        "is_deleted": False,
    }
    groups: list[tuple[datetime | None, list[dict[str, Any]]]] = [(None, [])]
    current: dict[str, Any] | None = None
    number_in_book = 0

    def new_highlight(text_line: str, tags: list[dict[str, Any]], note: str) -> dict[str, Any]:
        nonlocal number_in_book
        number_in_book += 1
        highlight = {
            "id": book_id * HIGHLIGHT_IDS_PER_BOOK + number_in_book,
            "lines": [text_line],
            "tags": tags,
            "note": note,
            "book_id": book_id,
        }
        groups[-1][1].append(highlight)
        return highlight

    for line in lines[end + 1 :]:
        later = _LATER.fullmatch(line)
        if later:
            if later["month"] not in _MONTHS:
                raise Unusable(f"unknown month in {line!r}")
            groups.append(
                (
                    _utc(
                        int(later["year"]),
                        _MONTHS.index(later["month"]) + 1,
                        int(later["day"]),
                        int(later["hour"]),
                        int(later["minute"]),
                        later["ampm"],
                    ),
                    [],
                )
            )
            current = None
        elif line.startswith(("### ", "#### ", "##### ", "###### ")):
            level = len(line.split(" ", 1)[0]) - 2
            new_highlight(
                line.split(" ", 1)[1],
                [{"id": stable_id(f"h{level}"), "name": f"h{level}"}],
                f".h{level}",
            )
            current = None
        elif line.startswith("- "):
            current = new_highlight(line[2:], [], "")
        elif (
            line.startswith("    - Tags: ")
            and current is not None
            and not current["tags"]
            and not current["note"]
        ):
            current["tags"] = _tags(line[len("    - Tags: ") :])
        elif line.startswith("    - Note: ") and current is not None and not current["note"]:
            current["note"] = line[len("    - Note: ") :]
        elif line.startswith("      ") and current is not None and current["note"]:
            current["note"] += "\n" + line[6:]
        elif (
            line.startswith("  ")
            and not line.startswith("    - ")
            and current is not None
            and not current["tags"]
            and not current["note"]
        ):
            current["lines"].append(line[2:])
        else:
            raise Unusable(f"unexpected line {line[:60]!r}")
    if (
        len(groups) > 2
        and len({json.dumps([h["lines"] for h in g[1]]) for g in groups[1:]}) < len(groups) - 1
    ):
        raise Unusable(
            "the same chunk appended more than once (Readwise's plugin did so to a "
            "file the user had edited; syncd appends each highlight once)"
        )
    later_moments = [at for at, _ in groups[1:] if at is not None]
    first = _first_sync(stem, title)
    if later_moments and min(later_moments) <= first:
        first = min(later_moments) - timedelta(days=1)
    syncs = []
    for at, highlights in groups:
        moment = at or first
        records = []
        for h in highlights:
            records.append(_record(h, book, moment))
        syncs.append(ObsidianSync(moment, tuple(records)))
    if not syncs[0].highlights:
        raise Unusable("no highlight under `## Highlights`")
    if full_document is not None:  # a Reader document: its id here, the file's text as shown
        book.update(source="reader", external_id=f"golden{book_id}")
        text = whole
    return ObsidianFile(path, folder, name, number, text, book, tuple(syncs), full_document)


def _record(h: dict[str, Any], book: dict[str, Any], at: datetime) -> dict[str, Any]:
    *head, last = h["lines"]
    location: int | None = None
    location_type: str | None = None
    url: str | None = None
    match = _LOCATION.fullmatch(last)
    if match and not h["note"].startswith(".h"):
        last = match["text"]
        label = match["label"] or match["plain"]
        url = match["url"]
        if label in ("View Highlight", "View Tweet"):
            location_type = "offset"
            if (label == "View Tweet") != (book["category"] == "tweets"):
                raise Unusable(f"a {label} link in #{book['category']}")
        elif label.startswith("Location\xa0") and url:
            kindle = _KINDLE.fullmatch(url)
            if kindle is None or kindle["location"] != label[9:]:
                raise Unusable(f"Kindle link {url!r} does not match {label!r}")
            if book["asin"] not in (None, kindle["asin"]):
                raise Unusable("a second asin")
            book["asin"] = kindle["asin"]
            location, location_type, url = int(label[9:]), "location", None
        elif label.startswith(("Location\xa0", "Page\xa0")) and label.split("\xa0")[1].isdigit():
            location = int(label.split("\xa0")[1])
            location_type = "page" if label.startswith("Page") else "location"
        elif label.startswith("Time\xa0") and re.fullmatch(r"\d+:\d\d:\d\d", label[5:]):
            hours, minutes, seconds = (int(x) for x in label[5:].split(":"))
            location, location_type = hours * 3600 + minutes * 60 + seconds, "time_offset"
        else:
            raise Unusable(f"unknown location label {label!r}")
    moment = _iso(at - timedelta(seconds=1))
    return {
        "id": h["id"],
        "text": "\n".join([*head, last]),
        "location": location,
        "location_type": location_type,
        "note": h["note"],
        "color": "",
        "highlighted_at": moment,
        "created_at": moment,
        "updated_at": moment,
        "external_id": None,
        "end_location": None,
        "url": url,
        "tags": h["tags"],
        "is_favorite": False,
        "is_discard": False,
        "is_deleted": False,
        "readwise_url": f"https://readwise.io/open/{h['id']}",
        "book_id": h["book_id"],
    }


def parse_sync_log(text: str) -> list[SyncLogEntry]:
    """Given a `Readwise Syncs.md`, return its entries; raise Unusable if it is not one."""
    entries: list[SyncLogEntry] = []
    books: list[tuple[str, int]] = []
    at: datetime | None = None
    expected: tuple[int, int] = (0, 0)

    def close() -> None:
        if at is not None:
            if (sum(n for _, n in books), len(books)) != expected:
                raise Unusable(f"the entry of {at} does not add up")
            entries.append(SyncLogEntry(at, tuple(books)))

    for line in text.split("\n"):
        entry = _LOG_ENTRY.fullmatch(line)
        book = _LOG_BOOK.fullmatch(line)
        if entry:
            close()
            year, month, day = (int(x) for x in entry["date"].split("-"))
            at = _utc(year, month, day, int(entry["hour"]), int(entry["minute"]), entry["ampm"])
            books, expected = [], (int(entry["highlights"]), int(entry["books"]))
        elif book and at is not None:
            books.append((book["title"], int(book["count"])))
        elif line:
            raise Unusable(f"unexpected line {line[:60]!r}")
    close()
    return entries


def corpus_files() -> tuple[list[ObsidianFile], list[tuple[str, str]], list[str]]:
    """Return (the usable highlight files, the unusable ones with why, the sync logs): every
    `.md` of the corpus but its README and Reader full-text files, `_history/` included; none
    when the corpus is absent (the tests that need it are marked `corpus`)."""
    if not corpus_present():
        return [], [], []
    usable: list[ObsidianFile] = []
    unusable: list[tuple[str, str]] = []
    logs: list[str] = []
    for path in sorted(CORPUS.rglob("*.md")):
        relative = path.relative_to(CORPUS).as_posix()
        if relative == "README.md" or f"/{FULL_TEXT_FOLDER}/" in f"/{relative}":
            continue
        if path.name == SYNC_LOG_NAME:
            logs.append(relative)
            continue
        try:
            usable.append(parse_obsidian_file(relative, _read(path)))
        except Unusable as why:
            unusable.append((relative, str(why)))
    return usable, unusable, logs


def read_corpus(relative: str) -> str:
    return _read(CORPUS / relative)
