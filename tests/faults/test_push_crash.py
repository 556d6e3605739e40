"""Two-way sync killed with SIGKILL at every point of a push (issue 19): before the request is
sent (its intent recorded), just after Readwise answered it, and as the transaction that
settles it with its page commits. The next `syncd sync` leaves Readwise with the user's value
once (a tag added once, never twice), no push left unsettled, nothing lost on either side; the
sync after it sends nothing. The real command line, killed by `tests.support.crashpoint`."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from syncd.edges.state import State
from syncd.edges.state_files import database_path
from syncd.testing.fakereadwise import FakeReadwise

pytestmark = pytest.mark.writes_readwise

TOKEN = "tok-push-crash-0123456789abcdef"
PAGES = {"logseq": "pages/Walden (highlights).md", "obsidian": "Readwise/Books/Walden.md"}
NOTE = {"logseq": "\t\t- **Note**: ", "obsidian": "    - Note: "}
TAGS = {
    "logseq": ("#[[life]]", "#[[life]] #[[woods]]"),
    "obsidian": ("[[life]]", "[[life]] [[woods]]"),
}


class Vault:
    def __init__(self, tmp_path: Path, server: FakeReadwise, page_format: str) -> None:
        self.server = server
        self.root = tmp_path / "vault"
        self.root.mkdir()
        self.state_dir = tmp_path / "state"
        self.config = tmp_path / "config.yaml"
        self.config.write_text(
            yaml.safe_dump(
                {
                    "readwise": {"token": TOKEN, "base_url": server.url},
                    "vault": {"path": str(self.root), "format": page_format, "timezone": "UTC"},
                    "state_dir": str(self.state_dir),
                    "sync": {"sync_log_page": None, "push": ["note", "tags", "text"]},
                }
            )
        )
        self.config.chmod(0o600)
        book = server.add_book(
            title="Walden",
            author="Thoreau",
            highlights=[{"text": "Simplify, simplify.", "note": "the core", "tags": ["life"]}],
        )
        self.highlight_id = book["highlights"][0]["id"]
        self.page = self.root / PAGES[page_format]
        assert self.run("sync").returncode == 0

    def run(
        self, *args: str, crash: tuple[str, int] | None = None
    ) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "TZ": "UTC"}
        env.pop("READWISE_TOKEN", None)
        head = (
            ["-m", "tests.support.crashpoint", crash[0], str(crash[1]), "--"]
            if crash
            else [
                "-m",
                "syncd",
            ]
        )
        return subprocess.run(
            [sys.executable, *head, *args, "--config", str(self.config)],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            check=False,
        )

    def pushes(self) -> list[object]:
        state = State(database_path(self.state_dir, self.root))
        try:
            return state.pushes()  # type: ignore[return-value]
        finally:
            state.close()


@pytest.fixture(params=["logseq", "obsidian"])
def vault(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Vault]:
    with FakeReadwise(token=TOKEN) as server:
        yield Vault(tmp_path, server, request.param)


@pytest.mark.parametrize(
    "crash", [("push-request", 1), ("push-sent", 1), ("push-sent", 2), ("push-settle", 1)]
)
def test_a_kill_at_every_point_of_a_push(vault: Vault, crash: tuple[str, int]) -> None:
    page_format = "logseq" if "pages/" in str(vault.page) else "obsidian"
    text = vault.page.read_text(encoding="utf-8")
    old, new = TAGS[page_format]
    text = text.replace(NOTE[page_format] + "the core", NOTE[page_format] + "mine")
    vault.page.write_text(text.replace(old, new), encoding="utf-8")
    killed = vault.run("sync", crash=crash)
    assert killed.returncode == -9, killed.stderr
    done = vault.run("sync")
    assert done.returncode == 0, done.stderr
    held = vault.server.library.highlight(vault.highlight_id)
    assert held["note"] == "mine"
    assert sorted(t["name"] for t in held["tags"]) == ["life", "woods"]  # added once
    page = vault.page.read_text(encoding="utf-8")
    assert NOTE[page_format] + "mine" in page and new in page
    assert all(p.state != "sent" for p in vault.pushes())  # type: ignore[attr-defined]
    vault.server.clear_requests()
    before = vault.page.read_bytes()
    assert vault.run("sync").returncode == 0
    assert vault.server.writes == [] and vault.page.read_bytes() == before
