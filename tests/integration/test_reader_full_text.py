"""Reader full text against the loopback server (issue 11, last part), for bad input: titles
that are only removed characters, 1,000-character titles, titles differing only in case,
YAML-hostile metadata, a document that does not fit, many documents past Reader's rate limit,
a file there before syncd. Every file valid and inside the vault, nothing of the user's lost, a
bad document failing alone (named, the others written), never a traceback."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from syncd.engine.reader_pass import KEY
from tests.support.harness import Harness, harness

HOSTILE_TITLES = [
    "???",
    "A" * 1000,
    "Case Only Title",
    "case only title",
    'key: "value" # not: yaml\n--- [x] {y}',
    "../../../etc/passwd",
]


def add_reader_book(h: Harness, n: int, title: str, **document: Any) -> str:
    document_id = f"01doc{n:04d}"
    h.server.library.reader.add_document(
        id=document_id,
        title=title,
        html_content=f"<p>Text of {n}</p><script>steal()</script>",
        **document,
    )
    h.server.add_book(
        user_book_id=1000 + n,
        title=title,
        author='Ann: "B" - [[x]]',
        category="articles",
        source="reader",
        unique_url=f"https://read.readwise.io/read/{document_id}",
        highlights=[{"id": 5000 + n, "text": f"highlight {n}"}],
    )
    return document_id


def full_texts(h: Harness) -> list[Path]:
    return sorted(p for p in h.vault.rglob("*.md") if "Full Document Contents" in str(p))


@pytest.mark.parametrize("page_format", ["obsidian", "logseq"])
def test_hostile_titles_and_a_bad_document(tmp_path: Path, page_format: str) -> None:
    settings = {
        "vault": {"format": page_format},
        "sync": {"reader_full_text": True, "frontmatter": page_format == "obsidian"},
    }
    with harness(tmp_path, settings=settings, edn=None if page_format == "obsidian" else "{}") as h:
        for n, title in enumerate(HOSTILE_TITLES):
            add_reader_book(h, n, title)
        bad = add_reader_book(h, 99, "Bad document")
        h.server.library.reader.update_document(bad, html_content={"not": "text"})
        report = h.sync()
        assert [message for _, message in report.failed] == [
            f"full text of document {bad} (Bad document): field 'html_content' should be str"
        ]
        files = full_texts(h)
        assert len(files) == len(HOSTILE_TITLES)  # the bad one alone is missing
        assert len({p.as_posix().casefold() for p in files}) == len(files)
        for path in files:
            assert h.vault.resolve() in path.resolve().parents
            assert len(path.name.encode()) <= 255
            text = path.read_bytes().decode("utf-8")
            assert "steal()" not in text and "Text of" in text
            if page_format == "obsidian":
                front = text.split("---\n")[1]
                assert isinstance(yaml.safe_load(front), dict)
        # The bad document is fetched again (by id) at the next sync, and written once fixed.
        h.server.library.reader.update_document(bad, html_content="<p>fixed</p>")
        report = h.sync()
        assert not report.failed
        assert len(full_texts(h)) == len(HOSTILE_TITLES) + 1


def test_many_documents_past_readers_rate_limit(tmp_path: Path) -> None:
    settings = {"vault": {"format": "obsidian"}, "sync": {"reader_full_text": True}}
    with harness(tmp_path, settings=settings, edn=None) as h:
        for n in range(25):
            add_reader_book(h, n, f"Article {n}")
        report = h.sync()
        assert not report.failed and report.full_texts == 25
        statuses = [r.status for r in h.server.requests_to("reader")]
        assert statuses.count(429) == 1 and statuses.count(200) == 25
        assert h.reader_waits == [60.0]  # the window's first request leaves it after 60 s


def test_a_file_there_before_is_left_alone_unless_it_is_the_same_text(tmp_path: Path) -> None:
    settings = {"vault": {"format": "obsidian"}, "sync": {"reader_full_text": True}}
    with harness(tmp_path, settings=settings, edn=None) as h:
        mine = add_reader_book(h, 1, "Mine")
        same = add_reader_book(h, 2, "Same")
        folder = h.pages / "Full Document Contents" / "Articles"
        folder.mkdir(parents=True)
        (folder / "Mine.md").write_text("my own notes\n", encoding="utf-8")
        h.sync()
        assert (folder / "Mine.md").read_text("utf-8") == "my own notes\n"
        written = (folder / "Same.md").read_text("utf-8")
        # As if the official plugin had written the same text: taken as syncd's.
        (folder / "Same.md").unlink()
        state = h.state()
        try:
            record = json.loads(state.get(KEY + same) or "{}")
            record.update(status="wanted", digest="")
            state.set(KEY + same, json.dumps(record))
            assert json.loads(state.get(KEY + mine) or "{}")["status"] == "kept"
        finally:
            state.close()
        (folder / "Same.md").write_text(written, encoding="utf-8")
        assert h.sync().full_texts == 0  # adopted, not written again
        h.server.library.reader.update_document(same, html_content="<p>new text</p>")
        assert h.sync().full_texts == 1
        assert (folder / "Same.md").read_text("utf-8").endswith("## Full Document\nnew text\n")
        assert (folder / "Mine.md").read_text("utf-8") == "my own notes\n"


def test_a_book_reader_does_not_have_and_highlights_in_reader_are_not_written(
    tmp_path: Path,
) -> None:
    settings = {"vault": {"format": "obsidian"}, "sync": {"reader_full_text": True}}
    with harness(tmp_path, settings=settings, edn=None) as h:
        h.server.add_book(
            title="Gone", source="reader", external_id="01gone", highlights=[{"text": "x"}]
        )
        add_reader_book(h, 1, "Here")
        h.server.library.reader.add_document(id="01h", parent_id="01doc0001", category="note")
        report = h.sync()
        assert not report.failed and report.full_texts == 1
        assert [p.name for p in full_texts(h)] == ["Here.md"]
        asked = [r.query.get("id") for r in h.server.requests_to("reader")]
        assert sorted(asked) == ["01doc0001", "01gone"]
        report = h.sync()  # nothing changed: one list of the changes, no document asked again
        assert report.full_texts == 0
        assert [r.query.get("id") for r in h.server.requests_to("reader")][2:] == [None]


def test_a_logseq_full_text_reads_back_in_logseq_as_its_paragraphs(tmp_path: Path) -> None:
    """Logseq's own parser (mldoc) reads the full text page as one block per paragraph, a
    list's items as blocks, and the book's page with its link block before the highlights."""
    from tests.support.mldoc import parse_pages

    html = (
        "<h2>Intro</h2><p>First paragraph,\nsame block.</p><ul><li>one</li><li>two"
        "<ul><li>nested</li></ul></li></ul><p>- looks like a block</p><p># looks like a heading</p>"
    )
    settings = {"sync": {"reader_full_text": True}}
    with harness(tmp_path, settings=settings) as h:
        document = add_reader_book(h, 1, "Walden")
        h.server.library.reader.update_document(document, html_content=html)
        assert not h.sync().failed
        full = h.page("Full Document Contents___Articles___Walden (highlights).md")
        page = h.page("Walden (highlights).md")
    tree, book = parse_pages([full, page])
    assert tree.properties["title"] == "Full Document Contents/Articles/Walden (highlights)"
    assert [b.text for b in tree.blocks] == [
        "## Intro",
        "First paragraph,\nsame block.",
        "one",
        "two",
        "looks like a block",  # markdownify leaves a leading `- ` as it is: a list item
        "# looks like a heading",
    ]
    assert [c.text for c in tree.blocks[3].children] == ["nested"]
    assert (
        book.blocks[0].text
        == "Full document: [[Full Document Contents/Articles/Walden (highlights)]]"
    )
    assert book.blocks[1].text.startswith("Highlights first synced by [[Readwise]]")


def test_a_20_mb_document_over_http(tmp_path: Path) -> None:
    settings = {"vault": {"format": "obsidian"}, "sync": {"reader_full_text": True}}
    paragraph = "<p>" + "wörd " * 200 + "</p>"
    with harness(tmp_path, settings=settings, edn=None) as h:
        big = add_reader_book(h, 1, "Big")
        add_reader_book(h, 2, "Small")
        html = paragraph * (20_000_000 // len(paragraph))
        h.server.library.reader.update_document(big, html_content=html)
        report = h.sync()
        assert not report.failed and report.full_texts == 2
        text = (h.pages / "Full Document Contents" / "Articles" / "Big.md").read_bytes()
        assert len(text) > 19_000_000
        assert text.decode("utf-8").endswith("wörd\n")


@pytest.mark.parametrize("page_format", ["obsidian", "logseq"])
def test_a_full_text_is_never_taken_for_its_books_page(tmp_path: Path, page_format: str) -> None:
    """The full text opens as the book's page does (its title and metadata) and its article may
    hold what marks a page of syncd's ("## Highlights", Logseq's first-sync header) and the
    highlights' own words: when the book's page is deleted, the full text is still never
    written to, and the book's page is taken for deleted."""
    settings = {"vault": {"format": page_format}, "sync": {"reader_full_text": True}}
    with harness(tmp_path, settings=settings, edn=None if page_format == "obsidian" else "{}") as h:
        document_id = add_reader_book(h, 1, "Marked")
        h.server.library.reader.update_document(
            document_id,
            html_content="<h2>Highlights</h2><p>highlight 1</p>"
            "<ul><li>Highlights first synced by [[Readwise]]</li><li>highlight 1</li></ul>",
        )
        h.sync()
        (texts,) = full_texts(h)
        before = texts.read_bytes()
        (page,) = (p for p in h.vault.rglob("*.md") if "Marked" in p.name and p != texts)
        page.unlink()
        h.server.add_highlight(1001, text="highlight 2")
        report = h.sync()
        assert not report.failed
        assert texts.read_bytes() == before
        state = h.state()
        try:
            record = state.page(1001)
            assert record is not None and record.status == "deleted"
        finally:
            state.close()


def test_a_page_whose_place_was_taken_gets_its_full_text_beside_the_page_it_finally_has(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The book's new page could not be put in place (the user made a file there meanwhile):
    the book fails and no full text is written for it yet; the next sync gives the page another
    name, and the full text follows that name, so that the page's link resolves."""
    from syncd.edges.vault import Drafts

    real_place = Drafts.place
    settings = {"vault": {"format": "obsidian"}, "sync": {"reader_full_text": True}}
    with harness(tmp_path, settings=settings, edn=None) as h:
        add_reader_book(h, 1, "Taken")
        mine = h.pages / "Articles" / "Taken.md"

        def place(drafts: Drafts) -> list[Any]:
            mine.parent.mkdir(parents=True, exist_ok=True)
            mine.write_text("my own note", encoding="utf-8")
            return real_place(drafts)

        monkeypatch.setattr(Drafts, "place", place)
        report = h.sync()
        monkeypatch.undo()
        assert [book for book, _ in report.failed] == [1001]
        assert full_texts(h) == []
        report = h.sync()
        assert not report.failed
        page = (h.pages / "Articles" / "Taken-2.md").read_text(encoding="utf-8")
        (text,) = full_texts(h)
        assert f"[[Full Document Contents/Articles/{text.name}|" in page
        assert mine.read_text(encoding="utf-8") == "my own note"
