"""Reader full text end to end (issue 11, last part): `syncd sync` with `sync.reader_full_text`
against the loopback Readwise serving Reader's v3 list, with an article, an EPUB, Reader's rate
limit hit (429, then the same request after `Retry-After`), a full text the user edited kept
across later syncs, and the option off asking Reader nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

import syncd.edges.reader
import syncd.engine.wiring
from syncd.cli import main
from syncd.edges.reader import ReaderClient
from syncd.edges.readwise import ReadwiseClient
from syncd.testing.fakereadwise import FakeReadwise
from tests.e2e.conftest import TOKEN

NOW = "2023-03-17T17:05:00Z"
ARTICLE_HTML = (
    "<html><head><title>x</title><style>p{}</style></head><body>"
    "<h1>The March of Nines</h1><p>In the modern world we <b>measure</b> things a lot."
    "<script>document.cookie</script></p><iframe src='https://ads.example'>ad text</iframe>"
    "<ul><li>one</li><li>two</li></ul><p>See <a href='https://kk.org'>Kevin</a>.</p>"
    "</body></html>"
)
ARTICLE_HEAD = (  # the page's and its full text's
    "# The March of Nines\n\n"
    "## Metadata\n"
    "- Author: [[Kevin Kelly]]\n"
    "- Full Title: The March of Nines\n"
    "- Category: #articles\n"
    "- URL: https://kevinkelly.substack.com/p/the-march-of-nines\n\n"
)
ARTICLE_PAGE = (
    ARTICLE_HEAD + "## Full Document\n"
    "[[Full Document Contents/Articles/The March of Nines.md|See full document content \u2192]]\n\n"
    "## Highlights\n"
    "- only about once every 1 million miles ([View Highlight](https://read.readwise.io/read/01h1))\n"
)
ARTICLE_TEXT = (
    ARTICLE_HEAD + "## Full Document\n"
    "# The March of Nines\n\n"
    "In the modern world we **measure** things a lot.\n\n"
    "- one\n- two\n\n"
    "See [Kevin](https://kk.org).\n"
)
EPUB_TAIL = (
    "## Full Document\n"
    "Full text of this document omitted because this document is an EPUB\n"
    "[Download original file \u2192](https://readwise.io/reader/document_raw_content/261153508)\n"
)


class Reader:
    """The loopback Reader's clock for its rate limit, moved by the client's waits."""

    def __init__(self, server: FakeReadwise) -> None:
        self.seconds = 0.0
        self.waits: list[float] = []
        server.reader_limit.clock = lambda: self.seconds

    def wait(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.seconds += seconds


@pytest.fixture
def reader(monkeypatch: pytest.MonkeyPatch, server: FakeReadwise) -> Reader:
    """`syncd sync` in-process; its clients' retries move the loopback clock, never wait."""
    clock = Reader(server)
    real = syncd.engine.wiring.make_client

    def fast(config: Any, **kwargs: Any) -> ReadwiseClient:
        return real(config, **{**kwargs, "sleep": lambda _: None})

    class VirtualReader(ReaderClient):
        # Its waits move the loopback clock, whatever wait the command hands it.
        sleep = property(lambda self: clock.wait, lambda self, value: None)

    monkeypatch.setattr(syncd.engine.wiring, "make_client", fast)
    # The wiring imports Reader's client when a config asks for full text (issue 20).
    monkeypatch.setattr(syncd.edges.reader, "ReaderClient", VirtualReader)
    monkeypatch.setenv("SYNCD_NOW", NOW)
    monkeypatch.delenv("READWISE_TOKEN", raising=False)
    return clock


def write_config(tmp_path: Path, server: FakeReadwise, vault: Path, full_text: bool) -> Path:
    data: dict[str, Any] = {
        "readwise": {"token": TOKEN, "base_url": server.url},
        "vault": {"path": str(vault), "format": "obsidian", "timezone": "UTC"},
        "state_dir": str(tmp_path / "state"),
        "sync": {"reader_full_text": full_text, "sync_log_page": None},
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    path.chmod(0o600)
    return path


def add_library(server: FakeReadwise) -> dict[str, int]:
    reader = server.library.reader
    reader.add_document(
        id="01art", title="The March of Nines", category="article", html_content=ARTICLE_HTML
    )
    reader.add_document(id="01hl", parent_id="01art", category="highlight", title="")
    reader.add_document(id="01epub", title="Building a Second Brain", category="epub")
    article = server.add_book(
        title="The March of Nines",
        author="Kevin Kelly",
        category="articles",
        source="reader",
        unique_url="https://read.readwise.io/read/01art",
        source_url="https://kevinkelly.substack.com/p/the-march-of-nines",
        highlights=[
            {
                "id": 101,
                "text": "only about once every 1 million miles",
                "location_type": "offset",
                "url": "https://read.readwise.io/read/01h1",
            }
        ],
    )
    epub = server.add_book(
        user_book_id=261153508,
        title="Building a Second Brain",
        author="Tiago Forte",
        category="books",
        source="reader",
        external_id="01epub",
        highlights=[{"id": 102, "text": "How PARA Works"}],
    )
    return {"article": article["user_book_id"], "epub": epub["user_book_id"]}


def test_full_text_end_to_end_article_epub_rate_limit_and_an_edit_kept(
    tmp_path: Path,
    server: FakeReadwise,
    vault: Path,
    reader: Reader,
    capsys: pytest.CaptureFixture[str],
) -> None:
    books = add_library(server)
    server.add_book(title="Kindle Book", highlights=[{"text": "not from Reader"}])
    server.reader_limit.limit = 1  # the second Reader request of the minute is refused
    config = write_config(tmp_path, server, vault, full_text=True)
    assert main(["--config", str(config), "sync"]) == 0
    folder = vault / "Readwise"
    assert (folder / "Articles" / "The March of Nines.md").read_text("utf-8") == ARTICLE_PAGE
    article = folder / "Full Document Contents" / "Articles" / "The March of Nines.md"
    assert article.read_text("utf-8") == ARTICLE_TEXT
    epub = folder / "Full Document Contents" / "Books" / "Building a Second Brain.md"
    assert epub.read_text("utf-8").endswith("\n\n" + EPUB_TAIL)
    assert "## Full Document" not in (folder / "Books" / "Kindle Book.md").read_text("utf-8")
    assert sorted(p.name for p in (folder / "Full Document Contents").rglob("*.md")) == [
        "Building a Second Brain.md",
        "The March of Nines.md",
    ]
    # Reader's limit: the second request got 429, the client waited its Retry-After, then
    # the same request succeeded.
    asked = server.requests_to("reader")
    assert [r.status for r in asked] == [200, 429, 200]
    assert asked[1].query == asked[2].query and asked[2].query["withHtmlContent"] == "true"
    assert reader.waits == [60.0]
    assert "full text" in capsys.readouterr().out

    # The user edits the article's full text; Reader's text changes: the edit stays, at this
    # sync and the next.
    edited = ARTICLE_TEXT + "\nMy own note.\n"
    article.write_text(edited, encoding="utf-8")
    server.library.reader.update_document("01art", html_content="<p>Rewritten by Reader</p>")
    server.add_highlight(books["article"], text="a second highlight", location_type="offset")
    server.reader_limit.limit = 20
    for _ in range(2):
        assert main(["--config", str(config), "sync"]) == 0
        assert article.read_text("utf-8") == edited
    assert "Rewritten" not in article.read_text("utf-8")
    assert server.requests_to("reader")[-1].query.get("updatedAfter")


def test_an_unedited_full_text_follows_reader_and_a_deleted_one_stays_deleted(
    tmp_path: Path, server: FakeReadwise, vault: Path, reader: Reader
) -> None:
    add_library(server)
    config = write_config(tmp_path, server, vault, full_text=True)
    assert main(["--config", str(config), "sync"]) == 0
    folder = vault / "Readwise" / "Full Document Contents"
    article = folder / "Articles" / "The March of Nines.md"
    epub = folder / "Books" / "Building a Second Brain.md"
    epub.unlink()
    server.library.reader.update_document("01art", html_content="<p>Rewritten by Reader</p>")
    server.library.reader.update_document("01epub", title="changed")
    assert main(["--config", str(config), "sync"]) == 0
    assert article.read_text("utf-8").endswith("## Full Document\nRewritten by Reader\n")
    assert not epub.exists()


def test_option_off_asks_reader_nothing_and_links_nothing(
    tmp_path: Path, server: FakeReadwise, vault: Path, reader: Reader
) -> None:
    add_library(server)
    config = write_config(tmp_path, server, vault, full_text=False)
    assert main(["--config", str(config), "sync"]) == 0
    assert server.requests_to("reader") == []
    assert not (vault / "Readwise" / "Full Document Contents").exists()
    page = (vault / "Readwise" / "Articles" / "The March of Nines.md").read_text("utf-8")
    assert "## Full Document" not in page


def test_a_bad_document_fails_alone_named_on_stderr_without_a_traceback(
    tmp_path: Path,
    server: FakeReadwise,
    vault: Path,
    reader: Reader,
    capsys: pytest.CaptureFixture[str],
) -> None:
    add_library(server)
    server.library.reader.update_document("01art", html_content=["not", "html"])
    config = write_config(tmp_path, server, vault, full_text=True)
    code = main(["--config", str(config), "sync"])
    err = capsys.readouterr().err
    assert code == 1
    assert "full text of document 01art (The March of Nines): field 'html_content'" in err
    assert "Traceback" not in err and TOKEN not in err
    folder = vault / "Readwise" / "Full Document Contents"
    assert (folder / "Books" / "Building a Second Brain.md").exists()
    assert not (folder / "Articles" / "The March of Nines.md").exists()
