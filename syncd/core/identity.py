"""Which page is a book's page, once it is no longer where syncd left it: the rule, pure.

A page is a book's page only with strong evidence. syncd created it (the page at its recorded
path; once the book's page was deleted, a page there again is it only with syncd's first-sync
header and one of the book's blocks on it: a note the user makes of that name, even with a
highlight pasted in, is not) or adopted it (the official plugin's page), or followed it there:

- a move event from the watcher (the page was renamed or moved while syncd watched);
- the same file: the device and inode syncd recorded when it last wrote or read the page (a
  rename or a move within the vault keeps them), with syncd's first-sync header still on it
  (an inode number freed by a deleted page is soon given to a new file of the user's, which may
  hold a highlight they copied, but not that header);
- its `title::` (Logseq: the first line) equal to the title syncd recorded for the page;
- its content, but only on a page holding syncd's first-sync header ("Highlights first synced
  by [[Readwise]]"), and either its opening as syncd last wrote it (every line up to that
  header: Logseq's page properties, Obsidian's title and metadata; `title::` aside) or more
  than half of the highlight blocks syncd last wrote for the book (and still considers as
  written), as written or as the user edited them: highlights the user copied into a page of
  their own are never enough, however many. A page whose `title::` changed is the book's page
  then too: Logseq's rename rewrites `title::`, an editor that saves by writing a new file
  gives the page a new inode, and the user may have deleted most highlights, so after all of
  that (while syncd was not watching) the opening and the header are what is left to know it
  by.

Some pages are never a book's page, whatever they hold: a journal page (Logseq's journals
folder), an Obsidian daily note (its folder, or a note named by the daily-note date format),
a copy made by a file-sync tool (`is_conflict_copy`), a Reader full text (`never_a_page`), a
page another book owns (at that book's recorded path, with that book's title as its `title::`,
or (but through a move) opening as that book's page does and not as this one's: highlights of
two books can read alike), and (except through the same file or a move) a page whose own
`title::` names something else.

When exactly one page has strong evidence, it is the book's page. When several do, or none does
but some page holds a majority of the book's blocks alongside another (two such pages), the
evidence is unclear: the book waits, and nothing is written for it. When no page has any
evidence, the page was deleted.
"""

from __future__ import annotations

import difflib
import json
import re
from collections import Counter
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath

from syncd.core.full_text import FULL_TEXT_FOLDER
from syncd.core.records import PageRecord

SIMILAR = 0.6  # how alike a line must be to a block's first line to count as that block, edited

_SYNCTHING = re.compile(r"\.sync-conflict-\d{8}-\d{6}(-[0-9A-Za-z]+)?(\.|$)")
# Dropbox: "X (Someone's conflicted copy 2024-01-01).md"; Nextcloud/ownCloud:
# "X (conflicted copy 2024-01-01 120000).md"; Google Drive's "X (Conflict ...)" too.
_CONFLICTED = re.compile(r" \([^()]*(conflicted copy|conflict)[^()]*\)(\.[^.]*)?$", re.IGNORECASE)
# iCloud and Obsidian Sync: "X 2.md" beside "X.md" (syncd names its own clashes "X (2).md").
_NUMBERED = re.compile(r"^(.+) (\d+)(\.[^.]*)$")


def is_conflict_copy(name: str, siblings: Collection[str] = ()) -> bool:
    """Given a file name and the names of the files beside it, return whether the file is a
    copy made by a file-sync tool: Syncthing's `X.sync-conflict-20240101-120000-ABCDEFG.md`,
    Dropbox's `X (Someone's conflicted copy 2024-01-01).md`, Nextcloud's
    `X (conflicted copy 2024-01-01 120000).md`, or iCloud's and Obsidian Sync's `X 2.md` when
    `X.md` is beside it."""
    if _SYNCTHING.search(name) or _CONFLICTED.search(name):
        return True
    numbered = _NUMBERED.match(name)
    return numbered is not None and numbered.group(1) + numbered.group(3) in siblings


def never_a_page(path: str, siblings: Collection[str], journals: Journals) -> str | None:
    """Given a page's path (relative to the vault root), the names of the files beside it and
    where the vault keeps journals, return why it can never be a book's page (None: it can)."""
    if journals.holds(path):
        return "a journal page or daily note"
    if is_conflict_copy(PurePosixPath(path).name, siblings):
        return "a file-sync tool's copy"
    if any(part.startswith(FULL_TEXT_FOLDER) for part in PurePosixPath(path).parts):
        return "a Reader full text"  # it opens as its book's page does
    return None


_MOMENT_TOKENS = [
    ("YYYY", r"\d{4}"),
    ("YY", r"\d{2}"),
    ("MMMM", r"[^\W\d_]+"),
    ("MMM", r"[^\W\d_]{3,4}\.?"),
    ("MM", r"\d{2}"),
    ("Mo", r"\d{1,2}(st|nd|rd|th)"),
    ("M", r"\d{1,2}"),
    ("DDDD", r"\d{3}"),
    ("DDD", r"\d{1,3}"),
    ("DD", r"\d{2}"),
    ("Do", r"\d{1,2}(st|nd|rd|th)"),
    ("D", r"\d{1,2}"),
    ("dddd", r"[^\W\d_]+"),
    ("ddd", r"[^\W\d_]{3}"),
    ("dd", r"[^\W\d_]{2}"),
    ("d", r"\d"),
    ("E", r"\d"),
    ("e", r"\d"),
    ("WW", r"\d{2}"),
    ("W", r"\d{1,2}"),
    ("ww", r"\d{2}"),
    ("w", r"\d{1,2}"),
    ("gggg", r"\d{4}"),
    ("GGGG", r"\d{4}"),
    ("Q", r"\d"),
]


def _moment_pattern(fmt: str) -> re.Pattern[str]:
    """A pattern matching the names moment.js `fmt` gives dates (text in `[...]` as is)."""
    out = []
    i = 0
    while i < len(fmt):
        if fmt[i] == "[":
            end = fmt.find("]", i)
            end = len(fmt) if end < 0 else end
            out.append(re.escape(fmt[i + 1 : end]))
            i = end + 1
            continue
        for token, pattern in _MOMENT_TOKENS:
            if fmt.startswith(token, i):
                out.append(pattern)
                i += len(token)
                break
        else:
            out.append(re.escape(fmt[i]))
            i += 1
    return re.compile("".join(out) + r"\Z")


def blocks_found(written: Collection[str], lines: Collection[str], *, edited: bool) -> int:
    """Given the first lines of the blocks syncd wrote for a book and a page's lines (both
    stripped), return how many of those blocks are on the page: as written, and (`edited`) also
    as the user edited them (a line at least SIMILAR alike)."""
    present = set(lines)
    found = sum(1 for line in written if line and line in present)
    if edited:
        others = [line for line in present - set(written) if line]  # not one of its blocks
        found += sum(
            1
            for line in written
            if line and line not in present and any(_alike(line, other) for other in others)
        )
    return found


def _alike(a: str, b: str) -> bool:
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    return matcher.real_quick_ratio() >= SIMILAR and matcher.ratio() >= SIMILAR


def opening(text: str, mark: str) -> str:
    """Given a page's text and its format's first-sync mark, return the page's opening: its
    lines up to the first one holding the mark (that one included), stripped, without blank
    lines, without `title::` (the page's name: a rename changes it) and without YAML front
    matter (Obsidian rewrites it as the user edits a property); "" when no line holds the
    mark."""
    if text.startswith("---\n"):
        end = text.find("\n---\n", 3)
        text = text[end + 5 :] if end >= 0 else text
    lines = []
    for line in text.split("\n"):
        line = line.strip()
        if line and not line.startswith("title::"):
            lines.append(line)
        if mark in line:
            return "\n".join(lines)
    return ""


class Openings:
    """The openings of the books' pages as syncd last wrote them, to tell which books' page
    opening a page holds (every line of it, in any order, among others the user added)."""

    def __init__(self, openings: Mapping[int, str | None]) -> None:
        wanted = {book: _syncds(o) for book, o in openings.items() if o}
        counts = Counter(line for lines in wanted.values() for line in lines)
        # Each opening is looked up by its rarest line: a page is checked against few.
        self._by_line: dict[str, list[tuple[int, frozenset[str]]]] = {}
        for book, lines in wanted.items():
            rarest = min(lines, key=lambda line: (counts[line], line))
            self._by_line.setdefault(rarest, []).append((book, lines))

    @classmethod
    def of(cls, pages: Iterable[PageRecord]) -> Openings:
        return cls({page.book_id: page.opening for page in pages})

    def books(self, page_opening: str | None) -> set[int]:
        """The books whose page opening `page_opening` (see `opening`) holds."""
        if not page_opening:
            return set()
        lines = _syncds(page_opening)
        return {
            book
            for line in lines
            for book, wanted in self._by_line.get(line, ())
            if wanted <= lines
        }


_PROPERTY = re.compile(r"^[^\s:]+::( |$)")


def _syncds(page_opening: str) -> frozenset[str]:
    """The lines of an opening (see `opening`) that are syncd's to compare: a Logseq page's
    (its header a block, `- ...`) are its page properties and that header; a block the user
    typed above the header is not (a file-sync tool's old version or an undo takes it away
    while the page stays the book's). An Obsidian page's: all of them."""
    lines = page_opening.split("\n")
    if not lines[-1].startswith("- "):
        return frozenset(lines)
    return frozenset([*(line for line in lines[:-1] if _PROPERTY.match(line)), lines[-1]])


@dataclass(frozen=True)
class Journals:
    """Where a vault keeps its journal pages or daily notes: a folder (relative to the vault
    root; None: none) and the moment.js format of a daily note's name (Obsidian; None: none)."""

    folder: str | None = "journals"
    note_format: str | None = None

    def holds(self, relative: str) -> bool:
        """Return whether the page at `relative` (to the vault root) is a journal page or a
        daily note: under the journals folder, or (Obsidian) named as a daily note is."""
        path = PurePosixPath(relative)
        folder = PurePosixPath((self.folder or "").strip("/")).parts
        if folder and path.parts[: len(folder)] == folder and len(path.parts) > len(folder):
            return True
        if self.note_format is None:
            return False
        stem = path.name[: -len(path.suffix)] if path.suffix else path.name
        # The note's name, and Obsidian's default (notes made before the format changed).
        return any(_moment_pattern(fmt).match(stem) for fmt in {self.note_format, "YYYY-MM-DD"})


@dataclass(frozen=True)
class Evidence:
    """What one page (a candidate) shows about being a book's page, once its recorded page is
    gone. `path` is relative to the vault root."""

    path: str
    excluded: str | None = None  # why it can never be the book's page (journal, copy, ...)
    moved_here: bool = False  # the watcher saw the page moved here
    at_place: bool = False  # at the path syncd recorded (a deleted page come back)
    same_file: bool = False  # the device and inode syncd recorded
    title_matches: bool = False  # its `title::` is the recorded title
    other_title: bool = False  # its own `title::` names something else
    blocks_on_page: int = 0  # of the book's written blocks, how many are on it
    blocks_written: int = 0  # the book's blocks syncd last wrote and considers written
    marked: bool = False  # it holds the first-sync header ("Highlights first synced by")
    # The book's page was deleted (or left the vault) since syncd recorded its file: the file
    # system may have given its inode number to another file, another book's page among them.
    page_deleted: bool = False
    opens_as_written: bool = False  # it opens as syncd last wrote the book's page (no other's)
    anothers_opening: bool = False  # it opens as another book's page, not as this one's


def strong(evidence: Evidence) -> bool:
    """Whether a page's evidence alone makes it the book's page (see the module's rule)."""
    if evidence.excluded:
        return False
    if evidence.moved_here:
        return True
    if evidence.anothers_opening:
        return False
    # Once the page was deleted, a file there (or of its inode number) is it only with more
    # of the page on it than the header: one of its blocks, or its opening.
    more = evidence.blocks_on_page > 0 or evidence.opens_as_written
    if evidence.same_file and evidence.marked and (not evidence.page_deleted or more):
        return True
    if evidence.other_title:
        return False
    return evidence.title_matches or (evidence.at_place and evidence.marked and more)


def by_content(evidence: Evidence) -> bool:
    """Whether a page (not excluded, not opening as another book's) holds syncd's first-sync
    header and either the book's opening or a clear majority of its written blocks."""
    return (
        not evidence.excluded
        and evidence.marked
        and not evidence.anothers_opening
        and (evidence.opens_as_written or 2 * evidence.blocks_on_page > evidence.blocks_written)
    )


@dataclass(frozen=True)
class Verdict:
    """The book's page (`path`), or None: then `waiting` says why the book waits (None: the
    page is gone)."""

    path: str | None
    waiting: str | None = None


def which_page(candidates: Collection[Evidence]) -> Verdict:
    """Given the evidence of every page that might be a book's, return which is its page."""
    for kind, test in (
        ("strong evidence of being it", strong),
        ("its opening or most of its highlights", by_content),
    ):
        found = sorted(e.path for e in candidates if test(e))
        if len(found) == 1:
            return Verdict(found[0])
        if found:
            names = ", ".join(found[:3]) + (f" and {len(found) - 3} more" if len(found) > 3 else "")
            return Verdict(
                None,
                f"its page is gone and {len(found)} pages have {kind}: "
                f"{names}; keep one (or run `syncd resync`)",
            )
    return Verdict(None)


def daily_notes(settings: str | None) -> tuple[str | None, str]:
    """Given an Obsidian vault's `.obsidian/daily-notes.json` (None: none), return where its
    daily notes are (None: the vault's root, or not set) and the moment.js format of their names
    (Obsidian's default when not set)."""
    try:
        parsed = json.loads(settings or "{}")
    except ValueError:
        parsed = {}
    if not isinstance(parsed, dict):
        parsed = {}
    folder, fmt = parsed.get("folder"), parsed.get("format")
    return (
        folder.strip("/") if isinstance(folder, str) and folder.strip("/") else None,
        fmt if isinstance(fmt, str) and fmt else "YYYY-MM-DD",
    )
