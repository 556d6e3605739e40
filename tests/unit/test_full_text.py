"""Reader full text, the pure half (`syncd.core.full_text`): a book's Reader document, a
document record, HTML into Markdown (hostile HTML, broken markup, 20 MB) and the file."""

from __future__ import annotations

import pytest

from syncd.core.full_text import (
    EPUB_TEXT,
    DocumentSchemaError,
    ReaderDocument,
    document_markdown,
    full_text_link,
    full_text_page,
    html_to_markdown,
    parse_document,
    reader_document_id,
)
from syncd.core.model import Book, parse_book


def book(**fields: object) -> Book:
    return parse_book({"user_book_id": 7, "title": "T", "highlights": [], **fields})


def test_a_reader_books_document_is_its_external_id_or_its_reader_url() -> None:
    assert reader_document_id(book(source="reader", external_id="01abc")) == "01abc"
    url = "https://read.readwise.io/read/01xyz"
    assert reader_document_id(book(source="reader", unique_url=url)) == "01xyz"
    assert reader_document_id(book(source="reader", unique_url=url + "?x=1")) == "01xyz"
    assert reader_document_id(book(source="kindle", external_id="01abc")) is None
    assert reader_document_id(book(source="reader", unique_url="https://x.com/a")) is None
    assert reader_document_id(book(source="reader", external_id=12)) == "12"
    assert reader_document_id(book(source="reader", external_id=True)) is None


def test_a_document_record_is_parsed_or_named_with_its_field() -> None:
    document = parse_document(
        {"id": "01a", "title": "T", "category": "article", "html_content": "<p>x</p>"}
    )
    assert document == ReaderDocument("01a", "T", "article", "<p>x</p>")
    assert not document.is_part
    assert parse_document({"id": "01h", "parent_id": "01a", "category": "highlight"}).is_part
    for record, problem in [
        ([], "record is not an object"),
        ({"title": "x"}, "missing or bad field 'id'"),
        ({"id": "\ud800"}, "missing or bad field 'id'"),
        ({"id": "01a", "title": 3}, "field 'title' should be str"),
        ({"id": "01a", "html_content": {"a": 1}}, "field 'html_content' should be str"),
    ]:
        with pytest.raises(DocumentSchemaError) as raised:
            parse_document(record)
        assert raised.value.problem == problem


def test_what_runs_or_embeds_is_dropped_not_turned_into_text() -> None:
    html = (
        "<p>Kept <b>bold</b></p><script>alert('x')</script><style>p{color:red}</style>"
        "<iframe src='https://evil.example'>frame text</iframe><object>obj text</object>"
        "<embed src='x.swf'><form><input value='field'><button>Press</button>form text</form>"
        "<noscript>no script</noscript><svg><text>svg text</text></svg>"
    )
    assert html_to_markdown(html) == "Kept **bold**"


def test_links_that_run_code_lose_their_target() -> None:
    html = (
        "<a href='javascript:alert(1)'>a</a> <a href=' JaVaScRiPt:x'>b</a> "
        "<a href='data:text/html,x'>c</a> <a href='https://ok.example/p?q=1'>d</a> "
        "<a href='#note'>e</a> <a href='/relative'>f</a> <img src='javascript:x' alt='i'>"
    )
    text = html_to_markdown(html)
    assert "javascript" not in text.lower() and "data:" not in text
    assert "[d](https://ok.example/p?q=1)" in text and "[e](#note)" in text
    assert "[f](/relative)" in text


@pytest.mark.parametrize(
    "html",
    [
        "<div><p>unclosed <b>bold <i>both</div></table></p>",
        "<<<>>><p>&bogus; &#xD800; &#0; \x00 \x0b</p>",
        "<table><tr><td>a<td>b<tr><td>c</table>",
        "</p></p><li>orphan item",
        "<p>" + "<span>" * 20_000 + "deep" + "</span>" * 20_000 + "</p>",
        "text with a lone \ud800 surrogate",
        "",
    ],
)
def test_broken_markup_never_raises_and_gives_clean_text(html: str) -> None:
    text = html_to_markdown(html)
    assert isinstance(text, str)
    text.encode("utf-8")  # writable: no lone surrogate
    assert "\x00" not in text and "\r" not in text and "\t" not in text
    assert not text.startswith("\n") and not text.endswith("\n")


def test_deeply_nested_markup_becomes_its_text() -> None:
    assert "deep" in html_to_markdown("<div>" * 5_000 + "deep" + "</div>" * 5_000)


def test_a_20_mb_document_is_converted() -> None:
    paragraph = "<p>" + "word " * 200 + "</p>\n"
    html = paragraph * (20_000_000 // len(paragraph))
    text = html_to_markdown(html)
    assert text.count("\n\n") == 20_000_000 // len(paragraph) - 1
    assert text.startswith("word word")


def test_an_epub_is_not_written_but_linked() -> None:
    epub = ReaderDocument("01e", "Book", "epub", "<p>all of it</p>")
    assert document_markdown(epub, 261153508) == EPUB_TEXT.format(id=261153508)
    assert "all of it" not in document_markdown(epub, 1)


def test_the_obsidian_file_is_the_head_then_the_full_document() -> None:
    head = "# T\n\n## Metadata\n- Author: \n- Full Title: T\n- Category: #articles\n\n"
    assert full_text_page(head, "Text.", logseq=False) == head + "## Full Document\nText.\n"
    link = full_text_link("Full Document Contents/Articles/T.md", logseq=False)
    assert link == (
        "## Full Document\n[[Full Document Contents/Articles/T.md|See full document content →]]\n"
    )


def test_the_logseq_page_is_a_block_a_paragraph_and_lists_as_blocks() -> None:
    head = "title:: Full Document Contents/Articles/T\n\n"
    markdown = "## Intro\n\nOne.\nTwo.\n\n- a\n- b\n  - c\n    d\n\n- x\n\n#tag line\n- not a list"
    assert full_text_page(head, markdown, logseq=True) == (
        head + "- ## Intro\n- One.\n  Two.\n- a\n- b\n\t- c\n\t  d\n- x\n"
        "- #tag line\n  \\- not a list\n"
    )
    assert full_text_page(head, "", logseq=True) == head + "-\n"
    assert full_text_link("Full Document Contents/Articles/T", logseq=True) == (
        "- Full document: [[Full Document Contents/Articles/T]]"
    )
