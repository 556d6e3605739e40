"""Golden tests for Obsidian vaults: Readwise's default Markdown export, as its documented default
templates describe it (cover, metadata, `## Highlights`, dated `## New highlights added` headings,
locations with U+00A0, Tags and Note children, multi-line text), in `Readwise/<Category>/`.

The expected files in `tests/golden/obsidian/` were written out by hand from those templates."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tests.support.harness import Harness, harness

EXPECTED = Path(__file__).parent / "obsidian"
FIRST = datetime(2022, 11, 19, 17, 5, tzinfo=timezone.utc)
SECOND = datetime(2023, 3, 17, 17, 5, tzinfo=timezone.utc)

BOOKS = [
    {"user_book_id": 1, "title": "Walden; or, Life in the Woods", "readable_title": "Walden",
     "author": "Henry David Thoreau", "category": "books", "asin": "B082RJTRFY",
     "cover_image_url": "https://images-na.ssl-images-amazon.com/images/I/51Walden.jpg",
     "book_tags": [{"id": 1, "name": "philosophy"}, {"id": 2, "name": "nature"}],
     "highlights": [
         {"id": 11, "text": "Our life is frittered away by detail. Simplify, simplify.",
          "location": 982, "location_type": "location", "tags": [{"id": 3, "name": "favorite"}],
          "note": "The whole book in two words."},
         {"id": 12, "text": "I went to the woods because I wished to live deliberately.",
          "location": 1410, "location_type": "location"}]},
    {"user_book_id": 2, "title": "Small tools beat big plans",
     "readable_title": "Small Tools Beat Big Plans", "author": "@plaintext_pat on Twitter",
     "category": "tweets", "source_url": "https://twitter.com/plaintext_pat/status/1",
     "highlights": [
         {"id": 21, "text": "Small tools beat big plans.\n\nFinish the script on Sunday.",
          "url": "https://twitter.com/plaintext_pat/status/1", "note": "Thread"}]},
    {"user_book_id": 3, "title": "Episode 20", "readable_title": "Episode 20",
     "author": "Generally Intelligent", "category": "podcasts",
     "source_url": "https://share.snipd.com/episode/2eb3",
     "highlights": [
         {"id": 31, "text": "The lottery ticket hypothesis.", "location": 539,
          "location_type": "time_offset", "url": "https://share.snipd.com/snip/9f94"},
         {"id": 32, "text": "Forgetting can help.", "location": 3725,
          "location_type": "time_offset", "url": "https://share.snipd.com/snip/3c2d"}]},
]
FILES = ["Books/Walden.md", "Podcasts/Episode 20.md", "Tweets/Small Tools Beat Big Plans.md"]


def sync_library(h: Harness) -> dict[str, str]:
    """Sync the library, then (a day later) one more highlight for Walden; return the pages."""
    h.now = FIRST - timedelta(hours=1)
    h.server.load(BOOKS)
    h.sync(at=FIRST)
    h.now = FIRST + timedelta(days=1)
    h.server.add_highlight(1, id=13, text="Time is but the stream I go a-fishing in.",
                           location=2215, location_type="location")
    h.sync(at=SECOND)
    return {name: h.page(name) for name in h.page_names()}


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    with harness(tmp_path_factory.mktemp("obsidian"), settings={"vault": {"format": "obsidian"}},
                 edn=None) as h:
        assert h.pages == h.vault / "Readwise"
        return sync_library(h)


def test_the_files_are_where_readwise_puts_them(written: dict[str, str]) -> None:
    assert sorted(written) == FILES


@pytest.mark.parametrize("name", FILES)
def test_obsidian_page_is_byte_for_byte_the_default_export(written: dict[str, str],
                                                           name: str) -> None:
    assert written[name] == (EXPECTED / name).read_text(encoding="utf-8")
