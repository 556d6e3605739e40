"""issue 21, items 3 to 7, through the real command line (a subprocess, or a pty where the user
would be at a terminal) against the loopback Readwise: errors that say where to look, a vault
path one folder off, one message per cause, an interrupted first sync, `resync` by the first
words of a title."""

from __future__ import annotations

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

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "tok-where-0123456789abcdef"
NOW = "2023-03-17T17:05:00Z"


def environment(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SYNCD_", "READWISE_"))}
    env.update(PYTHONPATH=str(ROOT), SYNCD_NOW=NOW, TZ="UTC", TERM="xterm", **extra)
    return env


def write_config(path: Path, readwise: dict[str, Any], vault: Path, **extra: Any) -> Path:
    data: dict[str, Any] = {
        "readwise": readwise,
        "vault": {"path": str(vault), "timezone": "UTC", **extra.pop("vault", {})},
        "state_dir": str(path.parent / "state"),
        **extra,
    }
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    path.chmod(0o600)
    return path


def syncd(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "syncd", *args],
        capture_output=True,
        text=True,
        env=env or environment(),
        timeout=120,
        check=False,
    )


def terminal(*args: str, env: dict[str, str] | None = None) -> pexpect.spawn:
    return pexpect.spawn(
        sys.executable,
        ["-m", "syncd", *args],
        env=env or environment(),
        encoding="utf-8",
        timeout=60,
        dimensions=(24, 200),
    )


@pytest.fixture
def server() -> Iterator[FakeReadwise]:
    with FakeReadwise(token=TOKEN) as server:
        yield server


# --- item 7: `resync` by the words a user remembers ------------------------------------------


def test_resync_finds_a_book_by_the_first_words_of_its_title(
    tmp_path: Path, server: FakeReadwise
) -> None:
    """issue 21, item 7: "Book 100" finds "Book 100: books title" (not "Book 1000: ..."); words
    that begin no title are offered the near matches."""
    wanted = server.add_book(title="Book 100: books title", highlights=[{"text": "One."}])
    server.add_book(title="Book 1000: another title", highlights=[{"text": "Two."}])
    vault = tmp_path / "graph"
    vault.mkdir()
    config = write_config(tmp_path / "c.yaml", {"token": TOKEN, "base_url": server.url}, vault)
    assert syncd("sync", "--config", str(config)).returncode == 0
    (page,) = [
        p
        for p in (vault / "pages").iterdir()
        if p.name.startswith("Book 100") and "1000" not in p.name
    ]
    text = page.read_text(encoding="utf-8")
    page.unlink()
    result = syncd("resync", "Book 100", "--config", str(config))
    assert result.returncode == 0, result.stderr
    assert page.read_text(encoding="utf-8") == text
    assert f"book {wanted['user_book_id']}" in result.stdout

    near = syncd("resync", "Book 10", "--config", str(config))
    assert near.returncode == 2
    assert "did you mean 'Book 100: books title (highlights)'" in near.stderr, near.stderr
