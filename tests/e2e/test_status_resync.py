"""`syncd status` lists the books and their pages, with what needs a look; `syncd resync` finds a
book as a person names it (issue 12, item 5): the CLI as a subprocess, against the loopback
server, on a real vault."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pexpect
import pytest
import yaml

from syncd.testing.fakereadwise import FakeReadwise

TOKEN = "tok-status-0123456789abcdef"
NOW = "2023-03-17T17:05:00Z"
BROKEN = 4242


class ThreeBooks:
    """Three books synced (two titled Walden, so one page is `Walden (highlights) (2)`), a
    fourth that fails; then the user deletes the Odyssey's page and edits a Walden block that
    Readwise then changes (a conflict)."""

    def __init__(self, tmp_path: Path, server: FakeReadwise) -> None:
        self.server = server
        self.vault = tmp_path / "graph"
        self.vault.mkdir()
        self.config = tmp_path / "config.yaml"
        self.config.write_text(
            yaml.safe_dump(
                {
                    "readwise": {"token": TOKEN, "base_url": server.url},
                    "vault": {"path": str(self.vault), "timezone": "UTC"},
                    "state_dir": str(tmp_path / "state"),
                    "sync": {"sync_log_page": None},
                }
            )
        )
        self.config.chmod(0o600)
        self.walden = server.add_book(
            title="Walden",
            author="Thoreau",
            highlights=[{"text": "Simplify, simplify."}, {"text": "I went to the woods."}],
        )
        self.walden2 = server.add_book(
            title="Walden",
            author="Someone Else",
            highlights=[{"text": "Another Walden altogether."}],
        )
        self.odyssey = server.add_book(
            title="The Odyssey",
            author="Homer",
            highlights=[{"text": "Sing to me of the man, Muse."}],
        )
        server.put_record({"user_book_id": BROKEN, "title": "Broken Book", "highlights": "no"})
        assert self.run("sync").returncode == 1
        self.pages = self.vault / "pages"
        self.odyssey_page = self.pages / "The Odyssey (highlights).md"
        self.odyssey_text = self.odyssey_page.read_text(encoding="utf-8")
        self.odyssey_page.unlink()
        walden = self.pages / "Walden (highlights).md"
        walden.write_text(
            walden.read_text(encoding="utf-8").replace(
                "Simplify, simplify.", "Simplify, simplify. (so true)"
            ),
            encoding="utf-8",
        )
        server.update_highlight(self.walden["highlights"][0]["id"], text="Simplify!")
        assert self.run("sync").returncode == 1

    def run(self, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "SYNCD_NOW": NOW, "TZ": "UTC"}
        env.pop("READWISE_TOKEN", None)
        return subprocess.run(
            [sys.executable, "-m", "syncd", *args, "--config", str(self.config)],
            capture_output=True,
            text=True,
            env=env,
            cwd=cwd,
            timeout=120,
            check=False,
        )


@pytest.fixture
def three_books(tmp_path: Path) -> Iterator[ThreeBooks]:
    """See ThreeBooks."""
    with FakeReadwise(token=TOKEN) as server:
        yield ThreeBooks(tmp_path, server)


def test_status_shows_conflicts_deleted_pages_and_failed_books(three_books: ThreeBooks) -> None:
    """issue 12, item 5: `syncd status` names the pages with conflicts, the pages the user
    deleted and the books that failed, each with its book id and page; `--books` (and its
    JSON) lists every book with its page, the page's status and its highlights."""
    # A book that waits, as the sync records one (the broken record's book failed for real).
    from syncd.config.load import load_config
    from syncd.core.records import BookProblem
    from syncd.edges.state import State
    from syncd.edges.state_files import database_path

    config = load_config(three_books.config, {})
    state = State(database_path(config.state_dir, config.vault.path))
    state.put_problem(
        BookProblem(
            5151, "waiting", "Lost Book", "its page is gone and 2 pages have strong evidence"
        )
    )
    state.close()
    result = three_books.run("status")
    assert result.returncode == 0, result.stderr
    out = result.stdout.splitlines()
    walden_id, odyssey_id = three_books.walden["user_book_id"], three_books.odyssey["user_book_id"]
    assert (
        out[out.index("conflicts (your block kept; Readwise's change not applied): 1") + 1]
        == f"  pages/Walden (highlights).md (book {walden_id}, Walden (highlights)): 1 conflict"
    )
    deleted = out.index("pages you deleted (not re-created; `syncd resync BOOK` does): 1")
    assert out[deleted + 1] == (
        f"  pages/The Odyssey (highlights).md (book {odyssey_id}, The Odyssey (highlights))"
    )
    failed = out.index("books that failed (fetched again next sync): 1")
    assert out[failed + 1] == f"  - (book {BROKEN}, Broken Book)"
    waiting = out.index("books waiting for their page to be clear (nothing written for them): 1")
    assert out[waiting + 1] == "  - (book 5151, Lost Book)"
    assert out[-1] == "`syncd status --books` lists every book and its page"

    books = three_books.run("status", "--books").stdout.splitlines()
    listing = books[books.index(next(b for b in books if b.startswith("every book (5)"))) + 1 :]
    assert [int(line.split()[0]) for line in listing] == sorted(
        (walden_id, three_books.walden2["user_book_id"], odyssey_id, BROKEN, 5151)
    )
    by_id = {int(line.split()[0]): line for line in listing}
    assert (
        "active   pages/Walden (highlights).md  [Walden (highlights)]  2 highlights "
        "(1 conflict)" in by_id[walden_id]
    )
    assert "pages/Walden (highlights) (2).md" in by_id[three_books.walden2["user_book_id"]]
    assert "deleted  pages/The Odyssey (highlights).md" in by_id[odyssey_id]
    assert by_id[BROKEN].endswith(
        "no page  -  [Broken Book]  0 highlights  failed: field "
        "'highlights' should be list, got str"
    )
    assert "no page  -  [Lost Book]  0 highlights  waiting: its page is gone" in by_id[5151]

    data = json.loads(three_books.run("status", "--json", "--books").stdout)
    assert {b["book_id"]: b["status"] for b in data["books"]} == {
        walden_id: "active",
        three_books.walden2["user_book_id"]: "active",
        odyssey_id: "deleted",
        BROKEN: None,
        5151: None,
    }
    assert [b["book_id"] for b in data["attention"]["conflicts"]] == [walden_id]
    assert [b["book_id"] for b in data["attention"]["deleted"]] == [odyssey_id]
    assert "books" not in json.loads(three_books.run("status", "--json").stdout)


def test_status_books_goes_through_the_pager_on_a_small_terminal(
    three_books: ThreeBooks, tmp_path: Path
) -> None:
    """issue 12, item 5 (paged): on a terminal shorter than the list, `--books` goes through
    $PAGER; plain `syncd status` (short) and a pipe are never paged."""
    pager = tmp_path / "pager.sh"
    pager.write_text("#!/bin/sh\necho PAGED; cat\n")
    pager.chmod(0o755)
    env = {**os.environ, "PAGER": str(pager), "TZ": "UTC"}
    env.pop("READWISE_TOKEN", None)
    child = pexpect.spawn(
        sys.executable,
        ["-m", "syncd", "status", "--books", "--config", str(three_books.config)],
        env=env,
        dimensions=(8, 120),
        encoding="utf-8",
        timeout=60,
    )
    child.expect(pexpect.EOF)
    text = child.before.replace("\r\n", "\n")
    child.close()
    assert child.exitstatus == 0
    assert text.startswith("PAGED\n") and "every book (4)" in text
    assert "PAGED" not in three_books.run("status", "--books").stdout


def test_resync_finds_a_book_by_id_title_without_suffix_or_page_path(
    three_books: ThreeBooks,
) -> None:
    """issue 12, item 5: `syncd resync` takes the book id, the title with or without
    " (highlights)" (any case), or the page's path (from the current folder, or the vault)."""
    odyssey_id = three_books.odyssey["user_book_id"]
    asked: list[tuple[str, Path | None]] = [
        ("the odyssey", None),
        (str(odyssey_id), None),
        ("THE ODYSSEY (HIGHLIGHTS)", None),
        ("The Odyssey (highlights).md", three_books.pages),
        ("pages/The Odyssey (highlights).md", three_books.vault.parent),  # from the vault
        (str(three_books.odyssey_page), None),
    ]
    for text, cwd in asked:
        result = three_books.run("resync", text, cwd=cwd)
        assert result.returncode == 0, (text, result.stderr)
        assert three_books.odyssey_page.read_text(encoding="utf-8") == three_books.odyssey_text, (
            text
        )
        again = three_books.run("resync", text, cwd=cwd)
        assert (
            again.stdout.strip() == "pages/The Odyssey (highlights).md is there; nothing "
            "to re-create"
        )
        three_books.odyssey_page.unlink()
        assert three_books.run("sync").returncode == 1  # the deletion noticed: deleted again


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "Walden",
            "'Walden' matches 2 books: 'Walden (highlights)' (book {w1}, "
            "pages/Walden (highlights).md), 'Walden (highlights) (2)' (book {w2}, "
            "pages/Walden (highlights) (2).md); give the book id",
        ),
        (
            "The Odysey",
            "no book 'The Odysey' is known; did you mean 'The Odyssey (highlights)' "
            "(book {o}, pages/The Odyssey (highlights).md)? Give a Readwise book id, "
            "a title or a page path (`syncd status --books` lists them)",
        ),
        ("Zen and the Art", "no book 'Zen and the Art' is known; give a Readwise book id"),
        ("999999", "no book '999999' is known; give a Readwise book id"),
        ("pages/Nothing Here.md", "no book 'pages/Nothing Here.md' is known; give"),
        ("  ", "no book given; give a Readwise book id"),
    ],
)
def test_resync_of_an_unknown_or_ambiguous_book_is_one_line_exit_2(
    three_books: ThreeBooks, text: str, message: str
) -> None:
    """issue 12, item 5 (bad input): nothing matches (near matches suggested, when there are
    any) or several books do (their ids listed): one line, exit 2, nothing written."""
    ids: dict[str, Any] = {
        "w1": three_books.walden["user_book_id"],
        "w2": three_books.walden2["user_book_id"],
        "o": three_books.odyssey["user_book_id"],
    }
    before = sorted(p.name for p in three_books.pages.iterdir())
    result = three_books.run("resync", text)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("syncd: " + message.format(**ids)), lines
    assert sorted(p.name for p in three_books.pages.iterdir()) == before
