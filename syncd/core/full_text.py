"""Reader full text: a Readwise Reader document's text as a Markdown file. Pure.

A book the Readwise export says came from Reader (`source: "reader"`) is one Reader document:
its id is the export's `external_id`, or else the last part of its `unique_url`
(`https://read.readwise.io/read/<id>`). Reader's API (`GET /api/v3/list/`) gives the document's
`html_content`; it becomes Markdown with markdownify (scripts, styles, frames, embedded objects
and forms dropped, not turned into text), and the file is the book page's head (the same title
and metadata) then `## Full Document` and the text, as Readwise's Obsidian export writes
`Full Document Contents/<Category>/<file name>.md`. An EPUB's text is not written: a line says
so and links the original file, as the export does.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from syncd.core.model import Book, has_lone_surrogate
from syncd.core.outline import Block, render_blocks

FULL_TEXT_FOLDER = "Full Document Contents"
READER_URL = "https://read.readwise.io/read/"
LINK_TEXT = "See full document content \u2192"
EPUB_TEXT = (
    "Full text of this document omitted because this document is an EPUB\n"
    "[Download original file \u2192](https://readwise.io/reader/document_raw_content/{id})"
)
# Dropped with everything in them: what runs, embeds another page or asks for input.
DROPPED_TAGS = (
    "script",
    "style",
    "noscript",
    "template",
    "iframe",
    "frame",
    "frameset",
    "object",
    "embed",
    "applet",
    "form",
    "input",
    "button",
    "select",
    "textarea",
    "svg",
    "canvas",
    "head",
    "meta",
    "link",
)
_SAFE_SCHEMES = re.compile(r"^\s*(?:https?:|mailto:|#|/|[^:/?#\s]+(?:[/?#]|$))", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_BLANK_LINES = re.compile(r"\n{3,}")
_CHUNKS = re.compile(r"\n[ \t]*\n")
_LIST_ITEM = re.compile(r"^( *)- ")


class DocumentSchemaError(ValueError):
    """A Reader document record that does not fit; `document_id` is None if it has none."""

    def __init__(self, document_id: object, problem: str) -> None:
        super().__init__(f"document {document_id}: {problem}")
        self.document_id = document_id
        self.problem = problem


@dataclass(frozen=True)
class ReaderDocument:
    """What syncd uses of one result of Reader's `GET /api/v3/list/`."""

    id: str
    title: str = ""
    category: str = ""
    html: str = ""
    parent_id: str | None = None
    updated_at: str | None = None

    @property
    def is_part(self) -> bool:
        """A highlight or a note (Reader lists them as documents of their parent)."""
        return self.parent_id is not None or self.category in ("highlight", "note")


def reader_document_id(book: Book) -> str | None:
    """Given a book of the export, its Reader document's id; None for a book not from Reader."""
    if book.source.casefold() != "reader":
        return None
    if book.external_id:
        return book.external_id
    url = book.unique_url or ""
    if url.startswith(READER_URL):
        tail = url[len(READER_URL) :].split("?")[0].strip("/")
        if tail and "/" not in tail:
            return tail
    return None


def parse_document(record: object) -> ReaderDocument:
    """Given one result of Reader's list, return a ReaderDocument; raise DocumentSchemaError
    (naming the document and the field) for one that does not fit."""
    if not isinstance(record, Mapping):
        raise DocumentSchemaError(None, "record is not an object")
    document_id = record.get("id")
    if not isinstance(document_id, str) or not document_id or has_lone_surrogate(document_id):
        raise DocumentSchemaError(document_id, "missing or bad field 'id'")
    fields: dict[str, Any] = {}
    for key, name in (("title", "title"), ("category", "category"), ("updated_at", "updated_at")):
        value = record.get(key)
        if value is not None and not isinstance(value, str):
            raise DocumentSchemaError(document_id, f"field {key!r} should be str")
        fields[name] = value
    html = record.get("html_content")
    if html is not None and not isinstance(html, str):
        raise DocumentSchemaError(document_id, "field 'html_content' should be str")
    parent = record.get("parent_id")
    return ReaderDocument(
        id=document_id,
        title=fields["title"] or "",
        category=fields["category"] or "",
        html=html or "",
        parent_id=str(parent) if parent not in (None, "") else None,
        updated_at=fields["updated_at"],
    )


def html_to_markdown(html: str) -> str:
    """Given a document's HTML, return it as Markdown. What runs or embeds (scripts, styles,
    frames, objects, forms) is dropped with its content; links other than to the web, mail or
    within the page lose their target (`javascript:` never becomes a link); broken markup is
    read as browsers read it, never an error. Markup nested too deep to convert becomes its
    plain text."""
    # Imported here: a third of a second, paid only by a sync that writes full texts.
    from bs4 import BeautifulSoup
    from markdownify import MarkdownConverter

    html = _SURROGATE.sub("\ufffd", html)
    soup = BeautifulSoup(html, "html.parser")
    for tag in soup.find_all(DROPPED_TAGS):
        tag.decompose()
    for tag in soup.find_all(["a", "img"]):
        for attribute in ("href", "src"):
            value = tag.get(attribute)
            if isinstance(value, str) and not _SAFE_SCHEMES.match(value):
                del tag[attribute]
    try:
        text = MarkdownConverter(heading_style="ATX", bullets="-").convert_soup(soup)
    except RecursionError:
        text = soup.get_text("\n\n")
    return tidy(text)


def tidy(text: str) -> str:
    """Markdown as a page holds it: LF line breaks, no control characters or tabs, no trailing
    white space on a line, at most one blank line in a row, none at the start or end."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", "    ")
    text = _CONTROL.sub("", text)
    text = "\n".join(line.rstrip() for line in text.split("\n"))
    return _BLANK_LINES.sub("\n\n", text).strip("\n")


def document_markdown(document: ReaderDocument, book_id: int) -> str:
    """The Markdown of a document's text: an EPUB's says that it is left out and links it."""
    if document.category == "epub":
        return EPUB_TEXT.format(id=book_id)
    return html_to_markdown(document.html)


def full_text_page(head: str, markdown: str, *, logseq: bool) -> str:
    """The full text file: `head` (the book page's title and metadata) then the text. In
    Obsidian, `## Full Document` and the Markdown as Readwise's export writes them; in Logseq,
    one block per paragraph (a line inside one that would start a block is escaped)."""
    if not logseq:
        return f"{head}## Full Document\n{markdown}\n"
    chunks = [chunk.strip("\n") for chunk in _CHUNKS.split(markdown) if chunk.strip()]
    blocks = [block for chunk in chunks for block in _logseq_blocks(chunk)]
    return f"{head}{render_blocks(blocks) if blocks else '-'}\n"


def _logseq_blocks(chunk: str) -> list[Block]:
    """A paragraph as Logseq blocks: one block, but a `-` list, whose items become blocks (a
    nested item a child block)."""
    lines = chunk.split("\n")
    if not _LIST_ITEM.match(lines[0]):
        return [Block(0, chunk)]
    items: list[tuple[int, list[str]]] = []
    for line in lines:
        item = _LIST_ITEM.match(line)
        if item:
            items.append((len(item.group(1)) // 2, [line[item.end() :]]))
        else:
            items[-1][1].append(line.strip())
    blocks: list[Block] = []
    depth = -1
    for level, text in items:
        depth = min(level, depth + 1)  # a child is at most one level below its parent
        blocks.append(Block(depth, "\n".join(text)))
    return blocks


def full_text_name(category_folder: str, page_name: str) -> str:
    """The name of a full text in the vault: `Full Document Contents/<Category>/<page name>`
    (in Obsidian a path below the Readwise folder, in Logseq a namespaced page)."""
    return f"{FULL_TEXT_FOLDER}/{category_folder}/{page_name}"


def full_text_link(target: str, *, logseq: bool) -> str:
    """The link a book's new page holds to its full text, before its highlights."""
    if logseq:
        return f"- Full document: [[{target}]]"
    return f"## Full Document\n[[{target}|{LINK_TEXT}]]\n"
