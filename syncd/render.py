"""Rendering: books and highlights into page text, through the vault's templates. Pure.

A page is written once, whole, on a book's first sync; after that syncd only appends one dated
block per sync (`render_addition`) or replaces single highlight blocks (`render_highlight`), so
the rest of the page stays as the user left it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any

from syncd.dates import format_journal_date, format_time
from syncd.model import Book, Highlight
from syncd.outline import Block, render_blocks, template_blocks
from syncd.templates import TemplateDate, Templates, clean

NBSP = "\u00a0"
KINDLE_URL = "https://readwise.io/to_kindle?action=open&asin={asin}&location={location}"
DEFAULT_JOURNAL_FORMAT = "MMM do, yyyy"


@dataclass(frozen=True)
class Style:
    """How pages look in one vault: its templates, journal date format and time zone."""

    templates: Templates
    tz: tzinfo
    journal_format: str = DEFAULT_JOURNAL_FORMAT
    extra: dict[str, Any] = field(default_factory=dict)  # more template variables, e.g. dates

    def date(self, now: datetime) -> TemplateDate:
        local = now.astimezone(self.tz)
        return TemplateDate(format_journal_date(local.date(), self.journal_format), local)

    def time(self, now: datetime) -> str:
        return format_time(now.astimezone(self.tz))


def location(book: Book, highlight: Highlight) -> tuple[str | None, str | None]:
    """Return the (label, link) a highlight shows after its text; (None, None) without a link."""
    kind, where = highlight.location_type, highlight.location
    if kind == "location" and where is not None and book.asin:
        return f"Location{NBSP}{where}", KINDLE_URL.format(asin=book.asin, location=where)
    if not highlight.url:
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
    title = clean(book.title).replace("\x00", " ")
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
        "date": style.date(now),
        "time": style.time(now),
        **style.extra,
    }


def highlight_context(book: Book, highlight: Highlight) -> dict[str, Any]:
    label, link = location(book, highlight)
    return {
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


def render_highlight(book: Book, highlight: Highlight, style: Style, base_depth: int = 1) -> str:
    """Return the lines of one highlight's block (and its Tags/Note children)."""
    output = style.templates.render("highlight", highlight_context(book, highlight))
    return render_blocks(template_blocks(output), base_depth)


def _header(book: Book, style: Style, now: datetime, *, is_new_page: bool) -> list[Block]:
    context = {**book_context(book, style, now),
               "is_new_page": is_new_page, "has_new_highlights": True}
    return template_blocks(style.templates.render("highlight_header", context))


def _with_highlights(header: list[Block], blocks: list[str]) -> str:
    parts = [render_blocks(header)] if header else []
    depth = 1 if header else 0
    # Highlights sit one level below the header's first block.
    parts.extend(_shift(block, depth - 1) for block in blocks)
    return "\n".join(part for part in parts if part)


def _shift(lines: str, by: int) -> str:
    if by >= 0:
        return "\n".join("\t" * by + line for line in lines.split("\n"))
    return "\n".join(line[-by:] if line.startswith("\t" * -by) else line
                     for line in lines.split("\n"))


def render_new_page(book: Book, title: str, highlight_blocks: list[str], style: Style,
                    now: datetime) -> str:
    """Return a whole new page: properties, a blank line, the first header and its highlights."""
    metadata = style.templates.render("metadata", book_context(book, style, now))
    properties = [f"title:: {title}"]
    properties += [line.rstrip().replace("\x00", " ")
                   for line in metadata.split("\n") if line.strip()]
    body = _with_highlights(_header(book, style, now, is_new_page=True), highlight_blocks)
    return "\n".join(properties) + "\n\n" + body


def render_addition(book: Book, highlight_blocks: list[str], style: Style, now: datetime) -> str:
    """Return the text appended to a page for a later sync: one dated header and its highlights."""
    return _with_highlights(_header(book, style, now, is_new_page=False), highlight_blocks)


def render_sync_log_entry(num_highlights: int, num_books: int, style: Style,
                          now: datetime) -> str:
    context = {"date": style.date(now), "time": style.time(now),
               "num_highlights": num_highlights, "num_books": num_books, **style.extra}
    return render_blocks(template_blocks(style.templates.render("sync_log", context)))


def append_text(existing: str, addition: str) -> str:
    """Return `existing` with `addition` after it on a new line, every existing byte kept."""
    if not existing:
        return addition
    return existing + addition if existing.endswith("\n") else existing + "\n" + addition
