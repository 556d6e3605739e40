"""The books syncd knows, as a person names them: pure.

`syncd resync BOOK` finds a book by what was typed (a Readwise book id, a title with or without
" (highlights)", or a page's path) and, when nothing matches, suggests near matches; `syncd
status` lists the books with their pages and what needs a look. Nothing here reads the state or
the disk: the commands hand in the records.
"""

from __future__ import annotations

import difflib
import posixpath
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from syncd.core.records import PageStatus
from syncd.errors import UsageError

# " (highlights)" that the default page title adds, and " (2)" that a clash adds.
_SUFFIXES = re.compile(r"(?: \(highlights\))?(?: \(\d+\))?\Z", re.IGNORECASE)
HINT = "give a Readwise book id, a title or a page path (`syncd status --books` lists them)"


@dataclass(frozen=True)
class BookEntry:
    """One book: its page (path relative to the vault; None when it has no page yet), the
    page's status (active, deleted, waiting; None: no page), its highlights by status, and
    its problem (failed or waiting), if any."""

    book_id: int
    title: str
    path: str | None = None
    status: PageStatus | None = None
    highlights: Mapping[str, int] = field(default_factory=dict)
    problem: str | None = None  # "failed: reason" or "waiting: reason"

    def describe(self) -> str:
        where = f", {self.path}" if self.path else ""
        return f"'{self.title}' (book {self.book_id}{where})"


def _key(title: str) -> str:
    return _SUFFIXES.sub("", title.strip()).casefold()


def _as_page_path(text: str, vault: Path, cwd: Path, home: Path) -> set[str]:
    """The vault-relative paths `text` may name: from the current folder, or from the vault."""
    if text == "~" or text.startswith("~/"):
        text = str(home) + text[1:]
    paths = set()
    for base in (cwd, vault):
        full = Path(posixpath.normpath(base / text))
        try:
            paths.add(full.relative_to(vault).as_posix())
        except ValueError:
            continue
    return paths


def find_book(
    text: str, books: Sequence[BookEntry], *, vault: Path, cwd: Path, home: Path
) -> BookEntry:
    """Given what a user typed for a book, return its entry: a book id, a page path (from the
    current folder or the vault), an exact title, or a title without " (highlights)" (and a
    clash's " (2)"). Raise UsageError, one line, when none matches (with near matches) or
    several do (with their ids)."""
    wanted = text.strip()
    if not wanted:
        raise UsageError(f"no book given; {HINT}")
    if wanted.isdigit():
        found = [b for b in books if b.book_id == int(wanted)]
        if found:
            return found[0]
    paths = _as_page_path(wanted, vault, cwd, home)
    found = [b for b in books if b.path is not None and b.path in paths]
    if found:
        return found[0]
    # Last, the first words of a title, ending where a word ends ("Book 100" for "Book 100:
    # books title", never for "Book 1000"): the words a user remembers.
    for same, found_as, give in (
        (lambda b: b.title.casefold() == wanted.casefold(), "matches {} books", "the book id"),
        (lambda b: _key(b.title) == _key(wanted), "matches {} books", "the book id"),
        (
            lambda b: _begins(_key(b.title), _key(wanted)),
            "begins {} titles",
            "more of the title or the book id",
        ),
    ):
        found = [b for b in books if same(b)]
        if len(found) == 1:
            return found[0]
        if found:
            listed = ", ".join(b.describe() for b in found[:5])
            more = f" and {len(found) - 5} more" if len(found) > 5 else ""
            raise UsageError(
                f"{wanted!r} {found_as.format(len(found))}: {listed}{more}; give {give}"
            )
    near = _near(wanted, books)
    raise UsageError(
        f"no book {wanted!r} is known; "
        + (f"did you mean {near}? {HINT[0].upper()}{HINT[1:]}" if near else HINT)
    )


def _begins(title: str, words: str) -> bool:
    """True when `title` begins with `words` and a word ends there."""
    if not words or not title.startswith(words):
        return False
    rest = title[len(words) :]
    return not rest or not (rest[0].isalnum() or words[-1:].isspace())


def _main_title(title: str) -> str:
    """A title without its subtitle (after ': ' or ' - ') and " (highlights)"."""
    return re.split(r": | - ", _SUFFIXES.sub("", title), maxsplit=1)[0]


def _near(wanted: str, books: Sequence[BookEntry]) -> str:
    """Up to three books whose title (or page path) is like `wanted`, as a phrase."""
    names: dict[str, BookEntry] = {}
    for book in books:
        titles = (book.title, _SUFFIXES.sub("", book.title), _main_title(book.title))
        for name in (*titles, book.path or ""):
            if name:
                names.setdefault(name.casefold(), book)
    close = difflib.get_close_matches(wanted.casefold(), list(names), n=6, cutoff=0.6)
    chosen: list[BookEntry] = []
    for name in close:
        if names[name] not in chosen:
            chosen.append(names[name])
    if not chosen:
        return ""
    return " or ".join(b.describe() for b in chosen[:3])


def attention(books: Sequence[BookEntry]) -> dict[str, list[BookEntry]]:
    """The books that need a look, by what: conflicts, pages deleted by the user, waiting,
    failed."""
    return {
        "conflicts": [b for b in books if b.highlights.get("conflict")],
        "deleted": [b for b in books if b.status == PageStatus.DELETED],
        "waiting": [b for b in books if (b.problem or "").startswith("waiting")],
        "failed": [b for b in books if (b.problem or "").startswith("failed")],
    }


def book_line(book: BookEntry) -> str:
    """One line of `syncd status --books`: id, page status, page, title, highlights."""
    counts = book.highlights
    total = sum(counts.values())
    details = ", ".join(
        f"{counts[status]} {label}"
        for status, label in (
            ("edited", "edited"),
            ("deleted", "deleted by you"),
            ("conflict", "conflict" + ("" if counts.get("conflict") == 1 else "s")),
            ("removed", "removed"),
        )
        if counts.get(status)
    )
    highlights = f"{total} highlight{'' if total == 1 else 's'}" + (
        f" ({details})" if details else ""
    )
    status = book.status or "no page"
    line = f"{book.book_id:>10}  {status:<8} {book.path or '-'}  [{book.title}]  {highlights}"
    return line + (f"  {book.problem}" if book.problem else "")
