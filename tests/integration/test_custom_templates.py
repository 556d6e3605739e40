"""Custom templates: what users paste from readwise.io works, and a broken one is named.

Readwise documents its default templates on its export settings pages; pasted into syncd's
config, they must give the output they describe: for Logseq, the pages of the corpus; for
Obsidian, Readwise's default Markdown export (the golden files in `tests/golden/obsidian`)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml

from syncd.cli import main
from tests.support import owned_fixtures
from tests.support.corpus import corpus_pages, corpus_param
from tests.support.harness import harness
from tests.support.mldoc import MldocParser

# As Readwise documents its Logseq export (no `- ` bullets: indentation makes the children).
LOGSEQ_DOCUMENTED = {
    "highlight_header": (
        "{% if is_new_page %}\n"
        "Highlights first synced by [[Readwise]] [[{{date}}]]\n"
        "{% elif has_new_highlights %}\n"
        "New highlights added [[{{date}}]] at {{time}}\n"
        "{% endif %}\n"
    ),
    "highlight": (
        "{{ highlight_text }}{% if highlight_location and highlight_location_url %} "
        "([{{highlight_location}}]({{highlight_location_url}})){% elif highlight_location %} "
        "({{highlight_location}}){% endif %}\n"
        "    {% if highlight_tags %}\n"
        "    **Tags**: {% for tag in highlight_tags %}#[[{{tag}}]] {% endfor %}\n"
        "    {% endif %}\n"
        "    {% if highlight_note %}\n"
        "    **Note**: {{ highlight_note }}\n"
        "    {% endif %}\n"
    ),
    "sync_log": (
        "On [[{{date|date('M jS, Y')}}]] at {{time}} Readwise synced {{num_highlights}} "
        "highlight{{num_highlights|pluralize}} from {{num_books}} "
        "book{{num_books|pluralize}}.\n"
    ),
}

# Readwise's Obsidian defaults, as users copy them from the export settings.
OBSIDIAN_DEFAULTS = {
    "page_title": "# {{title}}",
    "metadata": (
        "{% if image_url -%}\n"
        "![rw-book-cover]({{image_url}})\n"
        "\n"
        "{% endif -%}\n"
        "## Metadata\n"
        "- Author: {% if author %}[[{{author}}]]{% endif %}\n"
        "- Full Title: {{full_title}}\n"
        "- Category: #{{category}}\n"
        "{% if document_note -%}\n"
        "- Document Note: {{document_note}}\n"
        "{% endif -%}\n"
        "{% if document_tags -%}\n"
        "- Document Tags: {% for tag in document_tags %}[[{{tag}}]] {% endfor %}\n"
        "{% endif -%}\n"
        "{% if summary -%}\n"
        "- Summary: {{summary}}\n"
        "{% endif -%}\n"
        "{% if url -%}\n"
        "- URL: {{url}}\n"
        "{% endif -%}\n"
    ),
    "highlight_header": (
        "{% if is_new_page %}\n"
        "## Highlights\n"
        "{% elif has_new_highlights -%}\n"
        "## New highlights added {{date|date('F j, Y')}} at {{time}}\n"
        "{% endif -%}\n"
    ),
    "highlight": (
        "- {{ highlight_text }}{% if highlight_location and highlight_location_url %} "
        "([{{highlight_location}}]({{highlight_location_url}})){% elif highlight_location %} "
        "({{highlight_location}}){% endif %}{% if highlight_tags %}\n"
        "    - Tags: {% for tag in highlight_tags %}[[{{tag}}]] {% endfor %}{% endif %}"
        "{% if highlight_note %}\n"
        "    - Note: {{ highlight_note }}{% endif %}\n"
    ),
}

T0 = datetime(2022, 11, 19, 17, 5, tzinfo=timezone.utc)


@pytest.mark.parametrize("source", ["owned", corpus_param("corpus", id="corpus")])
def test_readwise_documented_logseq_templates_give_the_corpus_pages(
    tmp_path: Path, source: str
) -> None:
    """(The project's own fixture pages, or the corpus's.)"""
    pages = [
        p
        for p in (owned_fixtures.logseq_pages() if source == "owned" else corpus_pages())
        if any(h["tags"] or h["note"] for h in p.highlights) and len(p.syncs) > 1
    ][:3]
    assert pages
    for i, golden in enumerate(pages):
        with harness(
            tmp_path / str(i), settings={"templates": LOGSEQ_DOCUMENTED}, readwise="twin"
        ) as h:
            h.now = golden.syncs[0].at - timedelta(seconds=2)
            h.server.add_book(**golden.book)
            for sync in golden.syncs:
                for highlight in sync.highlights:
                    h.server.add_highlight(golden.book["user_book_id"], **highlight)
                h.sync(at=sync.at)
            assert h.page(golden.file_name) == golden.text


@pytest.mark.parametrize("source", ["owned", corpus_param("corpus", id="corpus")])
def test_readwise_obsidian_defaults_give_the_corpus_files(tmp_path: Path, source: str) -> None:
    """Readwise's Obsidian templates, set as custom templates, give the files its export wrote
    (those with tags, notes, document notes, summaries and later syncs; the project's own
    fixture's, or the corpus's)."""
    from tests.golden.test_obsidian_pages import CORPUS_USABLE, OWNED, resync

    wanted = [
        g
        for g in (OWNED if source == "owned" else CORPUS_USABLE)
        if len(g.syncs) > 1
        or g.book["summary"]
        or any(h["tags"] or h["note"] for s in g.syncs for h in s.highlights)
    ][:8]
    assert len(wanted) == (5 if source == "owned" else 8)
    settings = {"vault": {"format": "obsidian"}, "templates": OBSIDIAN_DEFAULTS}
    for i, golden in enumerate(wanted):
        assert resync(tmp_path / str(i), golden, settings)[1] == golden.text, golden.path


def test_indented_template_lines_become_nested_blocks_in_logseq(
    tmp_path: Path, mldoc: MldocParser
) -> None:
    """A custom highlight template with a child and a grandchild; multi-line text stays in its
    block, with `-` and `#` continuation lines escaped."""
    template = (
        "{{ highlight_text }}\n"
        "\tQuoted from [[{{ title }}]]\n"
        "\t\t{% if highlight_note %}My note: {{ highlight_note }}{% endif %}\n"
    )
    with harness(tmp_path, settings={"templates": {"highlight": template}}, readwise="twin") as h:
        h.now = T0 - timedelta(hours=1)
        h.server.add_book(
            title="Walden",
            highlights=[
                {"text": "First line\n- a dash line\n# a hash line\nlast", "note": "Mine."}
            ],
        )
        h.sync(at=T0)
        tree = mldoc.parse(h.page("Walden (highlights).md"))
    (header,) = tree.blocks
    (highlight,) = header.children
    assert highlight.text.split("\n")[0] == "First line" and "last" in highlight.text
    (quoted,) = highlight.children
    assert quoted.text == "Quoted from [[Walden]]"
    assert [child.text for child in quoted.children] == ["My note: Mine."]


def test_daily_note_date_is_there_when_obsidian_has_daily_notes(tmp_path: Path) -> None:
    with harness(
        tmp_path,
        edn=None,
        readwise="twin",
        settings={
            "vault": {"format": "obsidian"},
            "templates": {"highlight_header": "## Synced on [[{{ daily_note_date }}]]\n"},
        },
    ) as h:
        (h.vault / ".obsidian").mkdir()
        (h.vault / ".obsidian" / "daily-notes.json").write_text(
            '{"format": "dddd, MMMM Do YYYY", "folder": "Daily"}'
        )
        h.now = T0 - timedelta(hours=1)
        h.server.add_book(title="Walden", highlights=[{"text": "Simplify."}])
        h.sync(at=T0)
        assert "## Synced on [[Saturday, November 19th 2022]]\n- Simplify." in h.page(
            "Books/Walden.md"
        )


@pytest.mark.parametrize(
    ("template", "line"),
    [
        ("{{ highlight_text }}\n{% if highlight_note %}\n{{ highlight_note }\n{% endif %}", 3),
        ("{% for tag in highlight_tags %}#{{ tag }}", 1),
    ],
)
def test_a_broken_template_fails_the_config_check_naming_section_and_line(
    tmp_path: Path, template: str, line: int, capsys: pytest.CaptureFixture[str]
) -> None:
    config: dict[str, Any] = {
        "readwise": {"token": "tok-templates-123", "base_url": "http://127.0.0.1:9"},
        "vault": {"path": str(tmp_path)},
        "state_dir": str(tmp_path.parent / "state-t"),
        "templates": {"highlight": template},
    }
    path = tmp_path.parent / "templates.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    path.chmod(0o600)
    assert main(["sync", "--config", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert f"{path}: at 'templates.highlight': line {line}:" in err


def test_doctor_names_a_broken_template(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "vault": {"path": str(tmp_path)},
                "templates": {"metadata": "{% if url %}url:: {{ url }}"},
            }
        )
    )
    assert main(["doctor", "--config", str(path)]) == 1
    out = capsys.readouterr().out
    assert out.startswith("FAIL config:") and "at 'templates.metadata': line 1:" in out
