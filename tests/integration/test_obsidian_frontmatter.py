"""YAML front matter for Obsidian (issue 11, front matter): `sync.frontmatter: true` (or a
`templates.frontmatter`) starts each new page with properties of the right types (text, list,
date), read back here by a YAML parser (PyYAML) for every usable book of the shared corpus and
for YAML-hostile metadata; properties the user adds or edits survive later syncs; a custom
template whose own text is not YAML fails its book alone, with one line."""

from __future__ import annotations

import datetime as dt
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml

from syncd.core.model import parse_book
from syncd.core.render import Style, render_frontmatter, split_authors
from syncd.core.templates import Templates, default_frontmatter
from syncd.errors import TemplateError
from tests.golden.test_obsidian_pages import CORPUS_USABLE, OWNED
from tests.support.corpus import corpus_param
from tests.support.harness import harness

AT = datetime(2026, 3, 2, 9, 5, tzinfo=timezone.utc)
AT_DAY_BEFORE = "2026-03-01T00:00:00Z"
STYLE = Style(
    templates=Templates("obsidian", {"frontmatter": default_frontmatter()}), tz=timezone.utc
)
SETTINGS = {"vault": {"format": "obsidian"}, "sync": {"frontmatter": True}}
HOSTILE = {
    "title": "Key: \"value\" # not a comment\n---\nand 'quotes' - [x] {y} *z* &a !b %c @d `e`",
    "author": 'O\'Brien: Ann, Bob #2 and Carol "CJ" Jones',
    "book_tags": [{"id": 1, "name": "a: b"}, {"id": 2, "name": "#c"}, {"id": 3, "name": "- d"}],
    "source_url": "https://example.com/a?b=c#d: e",
}


def properties_of(page: str) -> dict[str, Any]:
    """The page's front matter, parsed by PyYAML; the page must start with it."""
    assert page.startswith("---\n")
    head, _, _ = page[4:].partition("\n---\n")
    parsed = yaml.safe_load(head)
    assert isinstance(parsed, dict)
    return parsed


def check_types(properties: dict[str, Any], book: dict[str, Any]) -> None:
    """Text is a str equal to Readwise's, authors and tags lists of str, the sync day a date."""
    assert properties["title"] == " ".join(book["readable_title"].splitlines())
    assert properties["category"] == book["category"]
    assert properties.get("author", []) == split_authors(book["author"] or "")
    assert all(isinstance(a, str) and a for a in properties.get("author", []))
    assert properties.get("tags", []) == [t["name"] for t in book.get("book_tags", [])]
    for key, field in (
        ("url", "source_url"),
        ("cover", "cover_image_url"),
        ("readwise", "readwise_url"),
    ):
        assert isinstance(properties.get(key, ""), str)
        if key != "url":
            assert properties.get(key, "") == (book.get(field) or "")
    assert type(properties["synced"]) is dt.date


@pytest.mark.parametrize(
    ("goldens", "least"),
    [pytest.param(OWNED, 8, id="owned"), corpus_param(CORPUS_USABLE, 400, id="corpus")],
)
def test_every_corpus_book_gets_typed_properties(goldens: list[Any], least: int) -> None:
    """issue 11, front matter: for every book of the project's own fixture and every usable
    corpus book, PyYAML reads the built-in front matter as a mapping of the right types, equal
    to the book's own metadata."""
    assert len(goldens) >= least
    for golden in goldens:
        book = parse_book({**golden.book, "highlights": []})
        properties = properties_of(render_frontmatter(book, STYLE, AT))
        check_types(properties, golden.book)
        assert properties["synced"] == AT.date()


@pytest.mark.parametrize(
    "author,names",
    [
        ("Ann", ["Ann"]),
        ("Ann, Bob and Carol", ["Ann", "Bob", "Carol"]),
        ("Ann and Bob", ["Ann", "Bob"]),
        ("Ann; Bob & Carol", ["Ann", "Bob", "Carol"]),
        ("", []),
        ("Ann, Bob, and Carol", ["Ann", "Bob", "Carol"]),
    ],
)
def test_several_authors_are_a_list(author: str, names: list[str]) -> None:
    assert split_authors(author) == names


def test_yaml_hostile_metadata_is_valid_yaml_of_the_same_values(tmp_path: Path) -> None:
    """issue 11, bad input: `: `, `#`, `---`, quotes, newlines, several authors, tags that look
    like YAML: the page's front matter is one YAML mapping holding exactly Readwise's values,
    and the page below it is the page without front matter."""
    with harness(tmp_path, settings=SETTINGS, edn=None, readwise="twin") as h:
        h.server.add_book(
            user_book_id=7,
            category="articles",
            **HOSTILE,
            highlights=[{"id": 71, "text": "First.", "updated_at": "2026-03-01T00:00:00Z"}],
        )
        report = h.sync(at=AT)
        assert not report.failed
        (name,) = h.page_names()
        page = h.page(name)
        properties = properties_of(page)
        assert properties["title"] == " ".join(HOSTILE["title"].splitlines())
        assert properties["author"] == ["O'Brien: Ann", "Bob #2", 'Carol "CJ" Jones']
        assert properties["tags"] == ["a: b", "#c", "- d"]
        assert properties["source"] == HOSTILE["source_url"]
        assert properties["synced"] == AT.date()
        # Exactly one front matter, then the page as Readwise writes it.
        body = page.split("\n---\n", 1)[1]
        assert body.startswith("# Key:") and "\n## Highlights\n- First.\n" in body


def test_a_user_s_properties_survive_later_syncs(tmp_path: Path) -> None:
    """issue 11, front matter: the user adds a property and edits one syncd wrote; Readwise then
    changes the book's title and author and adds a highlight. The next sync appends the
    highlight and leaves the front matter byte for byte as the user left it (syncd writes front
    matter only when it creates a page): the user's property is there, their edit kept."""
    with harness(tmp_path, settings=SETTINGS, edn=None, readwise="twin") as h:
        h.server.add_book(
            user_book_id=8,
            title="Walden",
            author="Henry David Thoreau",
            category="books",
            highlights=[{"id": 81, "text": "Simplify.", "updated_at": AT_DAY_BEFORE}],
        )
        h.sync(at=AT)
        path = h.pages / "Books" / "Walden.md"
        page = path.read_text(encoding="utf-8")
        edited = page.replace(
            'category: "books"\n',
            'category: "favourite books"\nstatus: reading\n'
            "aliases:\n  - Life in the Woods\nrating: 5\n",
            1,
        )
        assert edited != page
        path.write_text(edited, encoding="utf-8")
        h.server.update_book(
            8,
            title="Walden; or, Life in the Woods",
            author="H. D. Thoreau",
            updated_at=AT + timedelta(hours=1),
        )
        h.server.add_highlight(
            8,
            id=82,
            text="Our life is frittered away by detail.",
            updated_at=(AT + timedelta(hours=1)).isoformat(),
        )
        report = h.sync(at=AT + timedelta(hours=2))
        assert not report.failed and report.outcome.new == 1
        after = path.read_text(encoding="utf-8")
        assert after.startswith(edited.rstrip("\n"))  # front matter and old text as they were
        assert after.endswith("- Our life is frittered away by detail.\n")
        properties = properties_of(after)
        assert properties["status"] == "reading" and properties["rating"] == 5
        assert properties["aliases"] == ["Life in the Woods"]
        assert properties["category"] == "favourite books"
        assert properties["author"] == ["Henry David Thoreau"]
        assert after.count("\n---\n") == 1 and after.count("# Walden") == 1
        # And a sync with nothing new changes nothing.
        h.sync(at=AT + timedelta(hours=3))
        assert path.read_text(encoding="utf-8") == after


def test_a_plugin_page_with_front_matter_is_adopted(tmp_path: Path) -> None:
    """issue 11 (adoption): a page Readwise's plugin wrote with readwise.io's front matter
    option on (the `# title` line after the properties) is taken over, not given a `-2` page;
    its highlights are not added again."""
    with harness(tmp_path, settings=SETTINGS, edn=None, readwise="twin") as h:
        folder = h.pages / "Books"
        folder.mkdir(parents=True)
        page = (
            '---\nauthor: "[[Henry David Thoreau]]"\ntitle: Walden\nmine: kept\n---\n'
            "# Walden\n\n## Metadata\n- Author: [[Henry David Thoreau]]\n"
            "- Full Title: Walden\n- Category: #books\n\n## Highlights\n- Simplify.\n"
        )
        (folder / "Walden.md").write_text(page, encoding="utf-8")
        h.server.add_book(
            user_book_id=9,
            title="Walden",
            author="Henry David Thoreau",
            category="books",
            highlights=[
                {"id": 91, "text": "Simplify.", "updated_at": "2026-03-01T00:00:00Z"},
                {"id": 92, "text": "Sounds.", "updated_at": "2026-03-01T00:00:00Z"},
            ],
        )
        report = h.sync(at=AT)
        assert not report.failed and report.outcome.new == 1
        assert h.page_names() == ["Books/Walden.md"]
        after = h.page("Books/Walden.md")
        assert after.startswith(page) and after.count("Simplify.") == 1
        assert after.endswith("- Sounds.\n")


def test_a_template_that_is_not_yaml_fails_its_book_alone(tmp_path: Path) -> None:
    """issue 11, bad input: a custom template's own text that is not YAML (`{{ title }}` alone
    is a value, not a property) fails each book with one line naming templates.frontmatter and
    the book; nothing is written for it, and no invalid front matter ever is."""
    book = parse_book({"user_book_id": 5, "title": "T", "highlights": []})
    style = Style(
        templates=Templates("obsidian", {"frontmatter": "- {{ title }}\n"}), tz=timezone.utc
    )
    with pytest.raises(TemplateError) as caught:
        render_frontmatter(book, style, AT)
    message = str(caught.value)
    assert "templates.frontmatter" in message and "book 5" in message and "\n" not in message
    settings = {
        "vault": {"format": "obsidian"},
        "templates": {"frontmatter": "title: {{ title }}\nbroken: [\n"},
    }
    with harness(tmp_path, settings=settings, edn=None, readwise="twin") as h:
        h.server.add_book(
            user_book_id=6,
            title="Six",
            highlights=[{"id": 61, "text": "x", "updated_at": "2026-03-01T00:00:00Z"}],
        )
        report = h.sync(at=AT)
        assert [book_id for book_id, _ in report.failed] == [6]
        assert "templates.frontmatter" in report.failed[0][1]
        assert h.page_names() == []


def test_values_are_typed_in_a_custom_template() -> None:
    """Each `{{ value }}` of a custom template is a YAML value of its type: a list stays a list,
    a date a date, text text, even hostile text; a missing variable is an empty text."""
    book = parse_book(
        {
            "user_book_id": 5,
            "title": "a: b # c",
            "author": "A and B",
            "book_tags": [{"id": 1, "name": "x"}],
            "highlights": [],
        }
    )
    style = Style(
        templates=Templates(
            "obsidian",
            {
                "frontmatter": (
                    "t: {{ title }}\nwho: {{ authors }}\ntags: {{ document_tags }}\n"
                    "day: {{ date }}\nn: {{ book_id }}\nnothing: {{ no_such_variable }}\n"
                )
            },
        ),
        tz=timezone.utc,
    )
    assert properties_of(render_frontmatter(book, style, AT)) == {
        "t": "a: b # c",
        "who": ["A", "B"],
        "tags": ["x"],
        "day": AT.date(),
        "n": 5,
        "nothing": "",
    }
