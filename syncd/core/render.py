"""Rendering: books and highlights into page text, through the vault's templates. Pure.

A page is written once, whole, on a book's first sync; after that syncd only appends one dated
block per sync (`render_addition`) or replaces single highlight blocks (`render_highlights`), so
the rest of the page stays as the user left it.
"""

from __future__ import annotations

import functools
import re
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from typing import Any

from syncd.core.dates import format_journal_date, format_moment, format_time
from syncd.core.django_dates import django_date
from syncd.core.model import Book, Highlight
from syncd.core.outline import (
    Block,
    bullet_depth,
    own_end,
    render_blocks,
    template_blocks,
    with_block_id,
)
from syncd.core.templates import (
    LINE_BREAK,
    TemplateDate,
    Templates,
    check_frontmatter,
    clean,
    location_text,
)
from syncd.errors import TemplateError

NBSP = "\u00a0"
KINDLE_URL = "https://readwise.io/to_kindle?action=open&asin={asin}&location={location}"
DEFAULT_JOURNAL_FORMAT = "MMM do, yyyy"
_PROPERTY = re.compile(r"^[\w.-]+::")
# Readwise's heading highlights: tagged `h1`, `h2`, ... (the `.h1` action in their note).
_HEADING_TAG = re.compile(r"^h([1-6])$", re.IGNORECASE)
_BREAKS = re.compile(LINE_BREAK + "+")
# A highlight's own address at Readwise; a Logseq block id is the name-based UUID (version 5, URL
# namespace) of it, so that anyone can derive the id of a highlight's block from its id.
HIGHLIGHT_URL = "https://readwise.io/open/{id}"
# How Readwise's Obsidian export continues a multi-line value on the next lines.
OBSIDIAN_CONTINUATION = {
    "highlight_text": "  ",
    "highlight_note": "      ",
    "document_note": "   ",
    "summary": "",
}
# A line of a value that may read as a block of its own once indented (see `_obsidian_value`).
_CONTINUED_DASH = re.compile(LINE_BREAK + " *-")


@dataclass(frozen=True)
class PageFormat:
    """What differs between the page formats: indentation, where highlights sit, how a page
    names itself, and how its sync headers are written."""

    name: str
    indent: str  # one level of indentation
    highlight_depth: int  # the depth of highlight blocks
    header_is_block: bool  # Logseq: the dated header is a block; Obsidian: a Markdown heading
    first_sync_mark: str  # text on every page the Readwise export wrote in this format

    def title_line(self, title: str) -> str:
        return f"title:: {title}" if self.name == "logseq" else title


LOGSEQ = PageFormat("logseq", "\t", 1, True, "Highlights first synced by [[Readwise]]")
OBSIDIAN = PageFormat("obsidian", "    ", 0, False, "## Highlights")
PAGE_FORMATS = {f.name: f for f in (LOGSEQ, OBSIDIAN)}


@dataclass(frozen=True)
class Style:
    """How pages look in one vault: its templates, date formats and time zone."""

    templates: Templates
    tz: tzinfo
    journal_format: str = DEFAULT_JOURNAL_FORMAT  # Logseq's journal page titles
    daily_note_format: str | None = None  # Obsidian's daily notes (moment.js), when configured

    @property
    def page_format(self) -> PageFormat:
        return PAGE_FORMATS[self.templates.page_format]

    def date(self, now: datetime) -> TemplateDate:
        """`date` as templates see it: a link target for the day in Logseq ("Nov 19th, 2022"),
        Readwise's Markdown date in Obsidian ("November 19, 2022"). (The text is the day's:
        formatted once a day, not once a book.)"""
        local = now.astimezone(self.tz)
        logseq = self.page_format is LOGSEQ
        return TemplateDate(_day_text(logseq, self.journal_format, local.date()), local)

    def time(self, now: datetime) -> str:
        return format_time(now.astimezone(self.tz))

    def dates(self, now: datetime) -> dict[str, Any]:
        """The date variables of every template: `date`, `time` and, in a vault with daily
        notes, `daily_note_date` (the day's note title, to link to it). (Formatted once for a
        book's page, whose title, head and header all show them: the last answer is kept.)"""
        local = now.astimezone(self.tz)  # the zone may follow the machine's (a daemon's)
        key = (local.replace(tzinfo=None), local.utcoffset(), local.tzname())
        style, last_key, last_values = _last_dates[0]  # (one tuple: read whole, or not at all)
        if style is self and last_key == key:
            return last_values
        values: dict[str, Any] = {"date": self.date(now), "time": self.time(now)}
        if self.daily_note_format:
            values["daily_note_date"] = format_moment(
                now.astimezone(self.tz), self.daily_note_format
            )
        _last_dates[0] = (self, key, values)
        return values


# Style.dates' last style, local moment and answer (callers copy the answer, never change it).
_last_dates: list[tuple[Any, Any, dict[str, Any]]] = [(None, None, {})]


@functools.lru_cache(maxsize=64)  # (a few days in a process's life)
def _day_text(logseq: bool, journal_format: str, day: date) -> str:
    """`Style.date`'s text of a day: Logseq's journal title, else "November 19, 2022"."""
    if logseq:
        return format_journal_date(day, journal_format)
    return django_date(day, "F j, Y")


def location(book: Book, highlight: Highlight) -> tuple[str | None, str | None]:
    """Return the (label, link) a highlight shows after its text; (None, None) without a link."""
    kind, where = highlight.location_type, highlight.location
    if kind == "location" and where is not None and book.asin:
        return f"Location{NBSP}{where}", KINDLE_URL.format(asin=book.asin, location=where)
    if not highlight.url:
        if kind in ("location", "page") and where is not None:
            # Readwise writes the place without a link: `(Location 27)`, `(Page 8)`.
            return f"{'Page' if kind == 'page' else 'Location'}{NBSP}{where}", None
        return None, None
    if kind == "location" and where is not None:
        return f"Location{NBSP}{where}", highlight.url
    if kind == "page" and where is not None:
        return f"Page{NBSP}{where}", highlight.url
    if kind == "time_offset" and where is not None:
        hours, rest = divmod(where, 3600)
        return f"Time{NBSP}{hours}:{rest // 60:02d}:{rest % 60:02d}", highlight.url
    return ("View Tweet" if book.category == "tweets" else "View Highlight"), highlight.url


def book_context(book: Book, style: Style, now: datetime) -> dict[str, Any]:
    """Return the variables Readwise's templates know for a book, at the time `now`."""
    return {**_book_variables(book), **style.dates(now)}


def _book_variables(book: Book) -> dict[str, Any]:
    """A book's own variables. A book's page asks for them five times (its name, its highlights,
    its head, its header, its front matter): the last book's are kept, and the same dict given
    (callers copy it, never change it)."""
    last_book, last_values = _last_book[0]  # (one tuple: read whole, or not at all)
    if last_book() is book:
        return last_values
    values = _variables(book)
    _last_book[0] = (weakref.ref(book), values)
    return values


# _book_variables' last book (a weak reference: a daemon between syncs does not keep the last
# book's highlights; a book gone is never taken for another at its address) and answer.
_last_book: list[tuple[Callable[[], Book | None], dict[str, Any]]] = [(lambda: None, {})]


def _variables(book: Book) -> dict[str, Any]:
    title = clean(book.title, keep_controls=True).replace(LINE_BREAK, " ")
    return {
        "title": title,
        "full_title": title,
        "author": clean(book.author).replace("\x00", " "),
        "category": book.category,
        "url": book.url or "",
        "source_url": book.source_url or "",
        "image_url": book.cover_image_url or "",
        "document_tags": [clean(tag) for tag in book.tags],
        "document_note": clean(book.document_note),
        "summary": clean(book.summary),
    }


def heading_level(highlight: Highlight) -> int | None:
    """Return 1 for a Readwise heading highlight tagged `h1`, 2 for `h2`, ...; None else."""
    for tag in highlight.tags:
        match = _HEADING_TAG.match(tag)
        if match:
            return int(match.group(1))
    return None


def _obsidian_value(name: str, value: str) -> str:
    """A multi-line value as Readwise's Obsidian export writes it: a paragraph break in a
    highlight or note is one line break; continuation lines indented as the field wants, and
    written as they are (`  - ChatGPT`), but for one that would read as a block of its own
    (a `- ` at a whole number of levels, `    - first`): it gets a backslash before its `-`, so
    that it stays text of its bullet (issue 10, item 10)."""
    if LINE_BREAK not in value:  # one line (most values): as it is
        return value
    continuation = OBSIDIAN_CONTINUATION[name]
    first, *rest = value.split(LINE_BREAK)
    if name in ("highlight_text", "highlight_note") and len(rest) > 1:
        # A run of line breaks is one: the empty lines inside it go (a split and a list, not a
        # regex over a transcript's kilobytes).
        rest = [line for line in rest[:-1] if line] + rest[-1:]
    if name == "summary" or not _CONTINUED_DASH.search(value):  # no line to escape
        return ("\n" + continuation).join([first, *rest])
    lines = [first]
    for line in rest:
        line = continuation + line
        if (
            line.lstrip(" ").startswith("-")  # (what a bullet starts with, after spaces)
            and bullet_depth(line, OBSIDIAN.indent) is not None
        ):
            blank = len(line) - len(line.lstrip(" "))
            line = f"{line[:blank]}\\{line[blank:]}"
        lines.append(line)
    return "\n".join(lines)


def render_obsidian_highlight(
    book: Book, highlight: Highlight, style: Style, book_variables: dict[str, Any]
) -> str:
    """Return a highlight's Markdown lines as Readwise's Obsidian export writes them: a heading
    highlight as `###` (h1), `####` (h2)...; any other through the `highlight` template, with
    trailing spaces kept (`- Tags: [[a]] `)."""
    level = heading_level(highlight)
    if level is not None:
        text = _BREAKS.sub(" ", clean(highlight.text)).strip()
        return "#" * min(level + 2, 6) + " " + text
    context = highlight_context(book, highlight, book_variables)
    context["highlight_text"] = context["highlight_text"].strip(LINE_BREAK)
    for name in ("highlight_text", "highlight_note"):
        context[name] = _obsidian_value(name, context[name])
    output = style.templates.render("highlight", context).replace(LINE_BREAK, " ")
    if "\n" not in output:  # one line (a highlight without tags, note or line break)
        return output if output.strip() else "-"
    return "\n".join([line for line in output.split("\n") if line.strip()]) or "-"


def highlight_context(
    book: Book, highlight: Highlight, book_variables: dict[str, Any]
) -> dict[str, Any]:
    """The highlight template's variables: the highlight's, and its book's (`_book_variables`,
    but no dates, so that what a highlight renders to does not change with the day)."""
    label, link = location(book, highlight)
    return {
        **book_variables,
        "highlight_text": clean(highlight.text),
        "highlight_location": label or "",
        "highlight_location_url": link or "",
        "highlight_note": clean(highlight.note),
        "highlight_tags": [clean(tag) for tag in highlight.tags],
        "highlight_id": highlight.id,
    }


def page_title(book: Book, style: Style, now: datetime) -> str:
    """Return the page's title, as the `page_title` template gives it, on one line."""
    text = style.templates.render("page_title", book_context(book, style, now))
    return text.replace("\x00", " ").replace("\n", " ").strip()


def render_highlights(book: Book, highlights: Iterable[Highlight], style: Style) -> list[str]:
    """Return, for each highlight, the lines of its block (and its Tags/Note children)."""
    fmt = style.page_format
    default = style.templates.default_highlight
    # The default template reads the highlight's variables alone: its book's are not copied in.
    variables = {} if default else _book_variables(book)
    if fmt is OBSIDIAN:
        return [
            render_obsidian_highlight(book, highlight, style, variables) for highlight in highlights
        ]
    if default:
        return [
            render_blocks(
                _default_logseq_blocks(highlight_context(book, highlight, variables)),
                fmt.highlight_depth,
                fmt.indent,
            )
            for highlight in highlights
        ]
    return [
        render_blocks(
            template_blocks(
                style.templates.render("highlight", highlight_context(book, highlight, variables))
            ),
            fmt.highlight_depth,
            fmt.indent,
        )
        for highlight in highlights
    ]


def _default_logseq_blocks(context: dict[str, Any]) -> list[Block]:
    """The blocks of syncd/templates/logseq/highlight.j2's output, as `template_blocks` reads
    them from its Python twin's (`templates._logseq_highlight`), without the text between: the
    highlight's text and place, then its tags and its note one level deeper. (Its values are
    `clean`'s: a line break is a LINE_BREAK, never a "\n".) A test holds the two to the same
    blocks."""
    text = context["highlight_text"] + location_text(context)
    blocks = [Block(0, text.rstrip().replace(LINE_BREAK, "\n"))]
    tags = context["highlight_tags"]
    if tags:
        text = "**Tags**: " + "".join([f"#[[{tag}]] " for tag in tags])
        blocks.append(Block(1, text.rstrip().replace(LINE_BREAK, "\n")))
    note = context["highlight_note"]
    if note:
        blocks.append(Block(1, ("**Note**: " + note).rstrip().replace(LINE_BREAK, "\n")))
    return blocks


def block_id(highlight_id: int, fmt: PageFormat) -> str:
    """Return the stable id of a highlight's block (`sync.block_ids`): in Logseq the UUID of
    its Readwise address (`id:: <uuid>`), in Obsidian `rw<id>` (`^rw<id>`). The same on every
    machine and after every resync, so a reference to the block keeps resolving."""
    if fmt.name == LOGSEQ.name:
        import uuid  # here: it loads `platform`, which a sync that writes no block never needs

        return str(uuid.uuid5(uuid.NAMESPACE_URL, HIGHLIGHT_URL.format(id=highlight_id)))
    return f"rw{highlight_id}"


def identified(block: str, highlight_id: int, fmt: PageFormat) -> str:
    """Return a highlight's block (as `render_highlights` gives it) carrying its stable id; an
    Obsidian heading highlight (`### Chapter`) stays as it is: a link names it by its text."""
    lines = block.split("\n")
    if fmt.name != LOGSEQ.name and lines[0].startswith("#"):
        return block
    return "\n".join(
        with_block_id(
            lines,
            own_end(lines, fmt.indent),
            block_id(highlight_id, fmt),
            logseq=fmt.name == LOGSEQ.name,
        )
    )


def _header(book: Book, style: Style, now: datetime, *, is_new_page: bool) -> str:
    """Return the header above a sync's highlights: a block in Logseq, heading lines else."""
    context = {
        **book_context(book, style, now),
        "is_new_page": is_new_page,
        "has_new_highlights": True,
    }
    output = style.templates.render("highlight_header", context)
    if style.page_format.header_is_block:
        return render_blocks(template_blocks(output))
    return "\n".join(line.rstrip() for line in output.strip("\n").split("\n"))


def _with_highlights(style: Style, header: str, blocks: list[str]) -> str:
    fmt = style.page_format
    if fmt.header_is_block and not header:
        # A custom template without a header: highlights become top-level blocks.
        blocks = [_outdent(block, fmt.indent) for block in blocks]
    return "\n".join(part for part in (header, *blocks) if part)


def _outdent(lines: str, unit: str) -> str:
    return "\n".join(line.removeprefix(unit) for line in lines.split("\n"))


def render_new_page(
    book: Book,
    title: str,
    highlight_blocks: list[str],
    style: Style,
    now: datetime,
    full_document: str | None = None,
) -> str:
    """Return a whole new page: the title line and metadata, a blank line, the first header and
    its highlights. Logseq's metadata are properties (one per line); Obsidian's, Markdown.
    `full_document`: the link to the book's Reader full text, put before the highlights."""
    fmt = style.page_format
    body = _with_highlights(style, _header(book, style, now, is_new_page=True), highlight_blocks)
    if full_document:
        body = f"{full_document}\n{body}"
    return render_page_head(book, title, style, now) + body + ("" if fmt is LOGSEQ else "\n")


def render_page_head(book: Book, title: str, style: Style, now: datetime) -> str:
    """Return what a new page holds before its first header: the title line and metadata, and
    the blank line after them (in Logseq, then the metadata lines that are not properties, as
    blocks; in Obsidian, the front matter first). A Reader full text starts with it too."""
    fmt = style.page_format
    context = book_context(book, style, now)
    if fmt is OBSIDIAN:
        for name in ("document_note", "summary"):
            context[name] = _obsidian_value(name, context[name])
    metadata = style.templates.render("metadata", context)
    if fmt is LOGSEQ:
        # `key:: value` lines are the page's properties; any other line (Readwise's documented
        # template puts the cover image there) becomes a block of its own before the header.
        lines = [line.rstrip().replace("\x00", " ") for line in metadata.split("\n")]
        properties = [fmt.title_line(title)] + [line for line in lines if _PROPERTY.match(line)]
        blocks = [
            Block(0, line.strip()) for line in lines if line.strip() and not _PROPERTY.match(line)
        ]
        lead = render_blocks(blocks)
        return "\n".join(properties) + "\n\n" + (f"{lead}\n" if lead else "")
    # Trailing spaces stay: Readwise writes `- Author: ` and `- Document Tags: [[a]] `.
    head = metadata.replace(LINE_BREAK, " ").strip("\n")
    page = f"{fmt.title_line(title)}\n\n{head}\n\n" if head else f"{fmt.title_line(title)}\n\n"
    return render_frontmatter(book, style, now) + page


def render_frontmatter(book: Book, style: Style, now: datetime) -> str:
    """Return a new Obsidian page's YAML front matter (`---` lines included), or "" when the
    `frontmatter` template is empty (the default). Every value is a YAML value of its type
    (text, list, date: see `templates.yaml_value`); output that is still not a YAML mapping
    (a custom template's own text) raises TemplateError naming the template and the book, and
    the book fails alone: syncd never writes front matter Obsidian cannot read."""
    context = {
        **book_context(book, style, now),
        "authors": split_authors(book.author),
        "readwise_url": book.readwise_url or "",
        "book_id": book.id,
    }
    output = style.templates.render("frontmatter", context)
    if not output.strip():
        return ""
    yaml_text = "\n".join(line.rstrip() for line in output.strip("\n").split("\n") if line.strip())
    try:
        check_frontmatter(yaml_text)
    except ValueError as error:
        raise TemplateError(
            style.templates.source, "templates.frontmatter", f"book {book.id}: {error}"
        ) from None
    return f"---\n{yaml_text}\n---\n"


_AUTHOR_SPLIT = re.compile(r",\s*(?:and\s+)?|\s+and\s+|\s*;\s*|\s+&\s+")


def split_authors(author: str) -> list[str]:
    """Readwise's author text (`A, B and C`, `A & B`, `A; B`) as a list of names."""
    text = clean(author).replace(LINE_BREAK, " ")
    return [name.strip() for name in _AUTHOR_SPLIT.split(text) if name.strip()]


def render_addition(book: Book, highlight_blocks: list[str], style: Style, now: datetime) -> str:
    """Return the text appended to a page for a later sync: one dated header and its highlights.
    In Markdown the header is a heading right after the page's last line (as Readwise's plugin
    appends it), and the page keeps ending with a line break."""
    text = _with_highlights(style, _header(book, style, now, is_new_page=False), highlight_blocks)
    return text if style.page_format.header_is_block else f"{text}\n"


def render_sync_log_entry(
    num_highlights: int,
    num_books: int,
    style: Style,
    now: datetime,
    books: Iterable[tuple[str, int]] = (),
) -> str:
    """Return a sync's entry for the sync log page. `books` are (title, new highlights) of the
    books it brought; Obsidian's log (as Readwise's plugin writes `Readwise Syncs.md`) has a line
    per book and ends each entry with a blank line."""
    context = {
        **style.dates(now),
        "num_highlights": num_highlights,
        "num_books": num_books,
        "books": [
            {"title": clean(title).replace(LINE_BREAK, " "), "num_highlights": n}
            for title, n in books
        ],
    }
    output = style.templates.render("sync_log", context)
    if style.page_format is OBSIDIAN:
        return output.strip("\n") + "\n\n"
    return render_blocks(template_blocks(output))


def append_text(existing: str, addition: str) -> str:
    """Return `existing` with `addition` after it on a new line, every existing byte kept."""
    if not existing:
        return addition.lstrip("\n")
    return existing + addition if existing.endswith("\n") else existing + "\n" + addition
