"""Hostile titles give one valid file each, inside the pages folder, in both formats; and the
config's filters (categories, book tags) decide which books sync."""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tests.support.harness import harness

T0 = datetime(2023, 3, 17, 17, 5, tzinfo=timezone.utc)
HOSTILE = [
    "../../etc/passwd",
    "/abs/path",
    "CON",
    ".hidden",
    "x" * 400,
    "nul\x00and\x07bell",
    "a/b/c",
    "emoji 📚🔥",
    "right-to-left \u202eעברית\u202c",
    "tab\tand\nnewline",
    "..",
    "",
    "   ",
]


def outside(root: Path, vault: Path, state: Path) -> set[Path]:
    """Everything under `root` that is neither in the vault nor in syncd's state folder."""
    return {
        p for p in root.rglob("*") if vault not in [p, *p.parents] and state not in [p, *p.parents]
    }


@pytest.mark.parametrize("page_format", ["logseq", "obsidian"])
def test_hostile_titles_stay_inside_the_pages_folder(tmp_path: Path, page_format: str) -> None:
    with harness(tmp_path, settings={"vault": {"format": page_format}}, readwise="twin") as h:
        before = outside(tmp_path, h.vault, h.state_dir)
        h.now = T0 - timedelta(hours=1)
        for n, title in enumerate(HOSTILE):
            h.server.add_book(title=title, highlights=[{"text": f"Highlight {n}."}])
        report = h.sync(at=T0)
        assert report.failed == [] and report.pages_created == len(HOSTILE)
        files = sorted(h.pages.rglob("*.md"))
        assert len(files) == len(HOSTILE)
        for file in files:
            assert h.pages.resolve() in file.resolve().parents
            assert len(file.name.encode()) <= 255 and not file.name.startswith(".")
            assert "\x00" not in file.name and "/" not in file.name
        texts = "".join(f.read_text(encoding="utf-8") for f in files)
        assert all(texts.count(f"Highlight {n}.") == 1 for n in range(len(HOSTILE)))
        assert outside(tmp_path, h.vault, h.state_dir) == before
        assert not any(os.path.islink(p) for p in h.vault.rglob("*"))


def test_categories_and_book_tags_filter_what_syncs(tmp_path: Path) -> None:
    settings = {
        "sync": {
            "categories": ["books", "articles"],
            "include_tags": ["keep"],
            "exclude_tags": ["private"],
        }
    }
    with harness(tmp_path, settings=settings, readwise="twin") as h:
        h.now = T0 - timedelta(hours=1)
        for title, category, tags in [
            ("Kept", "books", ["keep"]),
            ("Untagged", "books", []),
            ("A tweet", "tweets", ["keep"]),
            ("Private", "articles", ["Keep", "private"]),
            ("Kept article", "articles", ["KEEP", "other"]),
        ]:
            h.server.add_book(
                title=title,
                category=category,
                book_tags=[{"id": i, "name": t} for i, t in enumerate(tags)],
                highlights=[{"text": f"From {title}."}],
            )
        h.sync(at=T0)
        assert h.page_names() == ["Kept (highlights).md", "Kept article (highlights).md"]
