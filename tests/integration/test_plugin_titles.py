"""Issue 22, item 6: titles as the official plugin writes them, and every plugin file adopted.

A title holding a control character (U+0013 and the like) or a no-break space: the plugin drops
them from the file name (a no-break space becomes a space) but keeps them as they are in the
`# title` and `- Full Title:` lines (Logseq: `title::` and `full-title::`, and Logseq names the
file with the control character in it). syncd writes the same lines, and a vault the plugin
filled is taken over where the plugin's file is: never a `-2` (or a second Logseq file of the
same page) beside it."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tests.support.harness import harness

AT = datetime(2026, 3, 2, 9, 5, tzinfo=timezone.utc)
TITLES = {
    "control": ("Ctrl\x13Char Book", "CtrlChar Book"),
    "no-break space": ("No\xa0Break Space", "No Break Space"),
    "both": ("Unit\x1fSeparated\xa0and\x07Bell", "UnitSeparated andBell"),
}


def plugin_obsidian_file(title: str) -> str:
    """The file the official Obsidian plugin writes for a book of one highlight."""
    return (
        f"# {title}\n\n## Metadata\n- Author: [[Thoreau]]\n- Full Title: {title}\n"
        "- Category: #books\n\n## Highlights\n- Simplify, simplify.\n"
    )


@pytest.mark.parametrize("kind", list(TITLES))
def test_obsidian_writes_the_title_as_the_plugin_does(tmp_path: Path, kind: str) -> None:
    title, file_name = TITLES[kind]
    with harness(tmp_path, settings={"vault": {"format": "obsidian"}}, readwise="twin") as h:
        h.server.add_book(title=title, author="Thoreau", highlights=[{"text": "Simplify."}])
        h.sync(at=AT)
        assert h.page_names() == [f"Books/{file_name}.md"]
        text = h.page(f"Books/{file_name}.md")
        assert text.startswith(f"# {title}\n") and f"\n- Full Title: {title}\n" in text


@pytest.mark.parametrize("kind", list(TITLES))
def test_obsidian_takes_the_plugins_file_over(tmp_path: Path, kind: str) -> None:
    title, file_name = TITLES[kind]
    with harness(tmp_path, settings={"vault": {"format": "obsidian"}}, readwise="twin") as h:
        plugin = plugin_obsidian_file(title)
        (h.pages / "Books").mkdir(parents=True)
        (h.pages / "Books" / f"{file_name}.md").write_text(plugin, encoding="utf-8")
        book = h.server.add_book(
            title=title, author="Thoreau", highlights=[{"text": "Simplify, simplify."}]
        )
        h.server.add_highlight(book["user_book_id"], text="Heaven is under our feet.")
        report = h.sync(at=AT)
        assert not report.failed and report.outcome.new == 1
        assert h.page_names() == [f"Books/{file_name}.md"]  # never a -2 beside it
        assert h.page(f"Books/{file_name}.md") == plugin + (
            "## New highlights added March 2, 2026 at 9:05 AM\n- Heaven is under our feet.\n"
        )


def plugin_logseq_page(title: str) -> str:
    return (
        f'title:: {title} (highlights)\nauthor:: [[Thoreau]]\nfull-title:: "{title}"\n'
        "category:: #books\n\n- Highlights first synced by [[Readwise]] [[Mar 1st, 2026]]\n"
        "\t- Simplify, simplify."
    )


@pytest.mark.parametrize("kind", list(TITLES))
def test_logseq_writes_the_title_as_the_plugin_does(tmp_path: Path, kind: str) -> None:
    title, _ = TITLES[kind]
    with harness(tmp_path, readwise="twin") as h:
        h.server.add_book(title=title, author="Thoreau", highlights=[{"text": "Simplify."}])
        h.sync(at=AT)
        [name] = h.page_names()
        text = h.page(name)
        assert text.startswith(f"title:: {title} (highlights)\n")
        assert f'\nfull-title:: "{title}"\n' in text


@pytest.mark.parametrize("kind", list(TITLES))
def test_logseq_takes_the_plugins_page_over_where_logseq_named_it(
    tmp_path: Path, kind: str
) -> None:
    title, _ = TITLES[kind]
    with harness(tmp_path, readwise="twin") as h:
        # Logseq names the plugin's page: its own rules leave control characters in the name.
        plugin = plugin_logseq_page(title)
        h.pages.mkdir(parents=True)
        (h.pages / f"{title} (highlights).md").write_text(plugin, encoding="utf-8")
        book = h.server.add_book(
            title=title, author="Thoreau", highlights=[{"text": "Simplify, simplify."}]
        )
        h.server.add_highlight(book["user_book_id"], text="Heaven is under our feet.")
        report = h.sync(at=AT)
        assert not report.failed and report.outcome.new == 1
        assert h.page_names() == [f"{title} (highlights).md"]  # one file for the page
        assert h.page(f"{title} (highlights).md") == plugin + (
            "\n- New highlights added [[Mar 2nd, 2026]] at 9:05 AM\n\t- Heaven is under our feet."
        )
        again = h.sync(at=AT + timedelta(hours=1))
        assert again.outcome.new == 0 and again.pages_changed == 0
