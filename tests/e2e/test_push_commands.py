"""Two-way sync's commands as a user runs them (issue 19): `syncd sync` pushes an edit,
`syncd history` lists it, `syncd revert` puts the old value back (the page follows),
`syncd sync --dry-run` sends nothing, `syncd conflicts` and `syncd status` show a conflict and
`syncd resolve` settles it; bad input is one line and exit 2. The CLI as a subprocess, against
the loopback server, on a real vault."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from syncd.testing.fakereadwise import FakeReadwise

pytestmark = pytest.mark.writes_readwise

TOKEN = "tok-push-0123456789abcdef"
NOTE = "\t\t- **Note**: "


class Synced:
    """One book (Walden, a highlight with a note) synced into a Logseq graph with sync.push
    on for every field."""

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
                    "sync": {"sync_log_page": None, "push": ["note", "tags", "text"]},
                }
            )
        )
        self.config.chmod(0o600)
        book = server.add_book(
            title="Walden",
            author="Thoreau",
            highlights=[{"text": "Simplify, simplify.", "note": "the core"}],
        )
        self.highlight_id = book["highlights"][0]["id"]
        self.page = self.vault / "pages" / "Walden (highlights).md"
        assert self.run("sync").returncode == 0

    def note(self) -> str:
        return str(self.server.library.highlight(self.highlight_id)["note"])

    def edit(self, old: str, new: str) -> None:
        text = self.page.read_text(encoding="utf-8")
        assert old in text
        self.page.write_text(text.replace(old, new), encoding="utf-8")

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "TZ": "UTC"}
        env.pop("READWISE_TOKEN", None)
        return subprocess.run(
            [sys.executable, "-m", "syncd", *args, "--config", str(self.config)],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            check=False,
        )


@pytest.fixture
def synced(tmp_path: Path) -> Iterator[Synced]:
    with FakeReadwise(token=TOKEN) as server:
        yield Synced(tmp_path, server)


def test_sync_pushes_history_lists_revert_restores(synced: Synced) -> None:
    synced.edit(NOTE + "the core", NOTE + "mine")
    dry = synced.run("sync", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert f'# push highlight {synced.highlight_id} (Walden): note: "the core" → "mine"' in (
        dry.stdout
    )
    assert synced.server.writes == [] and synced.note() == "the core"
    done = synced.run("sync")
    assert done.returncode == 0, done.stderr
    assert "1 field pushed to Readwise" in done.stdout
    assert synced.note() == "mine"
    synced.server.clear_requests()
    again = synced.run("sync")
    assert again.returncode == 0 and synced.server.writes == []
    history = synced.run("history")
    (line,) = history.stdout.splitlines()
    assert line.startswith("1  ") and "Walden" in line
    assert f'highlight {synced.highlight_id}  note: "the core" → "mine"' in line
    reverted = synced.run("revert", "1")
    assert reverted.returncode == 0, reverted.stderr
    assert synced.note() == "the core"
    assert NOTE + "the core" in synced.page.read_text(encoding="utf-8")
    lines = synced.run("history").stdout.splitlines()
    assert lines[0].startswith("2  ") and '"mine" → "the core" (reverts 1)' in lines[0]
    synced.server.clear_requests()
    assert synced.run("sync").returncode == 0 and synced.server.writes == []
    twice = synced.run("revert", "1")
    assert twice.returncode == 2 and twice.stderr == "syncd: push 1 was reverted already\n"


def test_revert_since_puts_back_every_push_since(synced: Synced) -> None:
    synced.edit(NOTE + "the core", NOTE + "first")
    assert synced.run("sync").returncode == 0
    synced.edit(NOTE + "first", NOTE + "second")
    assert synced.run("sync").returncode == 0
    assert synced.note() == "second"
    done = synced.run("revert", "--since", "2000-01-01")
    assert done.returncode == 0, done.stderr
    assert synced.note() == "the core"


def test_a_conflict_is_shown_and_resolved(synced: Synced) -> None:
    synced.edit(NOTE + "the core", NOTE + "mine")
    synced.server.update_highlight(synced.highlight_id, note="theirs")
    assert synced.run("sync").returncode == 0
    assert synced.note() == "theirs"
    conflicts = synced.run("conflicts").stdout
    assert (
        f'highlight {synced.highlight_id} in pages/Walden (highlights).md: note: vault "mine", '
        'Readwise "theirs" (last agreed "the core")'
    ) in conflicts
    status = synced.run("status").stdout
    assert "conflicting fields: 1" in status and 'vault "mine"' in status
    resolved = synced.run("resolve", str(synced.highlight_id), "--keep", "vault")
    assert resolved.returncode == 0, resolved.stdout + resolved.stderr
    assert synced.note() == "mine"
    assert synced.run("conflicts").stdout == "no conflicts\n"


def test_a_conflict_resolved_for_readwise_rewrites_the_block(synced: Synced) -> None:
    synced.edit(NOTE + "the core", NOTE + "mine")
    synced.server.update_highlight(synced.highlight_id, note="theirs")
    assert synced.run("sync").returncode == 0
    resolved = synced.run("resolve", str(synced.highlight_id), "--keep", "readwise")
    assert resolved.returncode == 0, resolved.stdout + resolved.stderr
    assert NOTE + "theirs" in synced.page.read_text(encoding="utf-8")
    assert synced.note() == "theirs"
    synced.server.clear_requests()
    assert synced.run("sync").returncode == 0 and synced.server.writes == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("revert", "7"), "syncd: no push 7 in the history (see `syncd history`)\n"),
        (("revert",), "syncd: name one push (`syncd revert N`) or a time (`--since TIME`)\n"),
        (("revert", "--since", "soon"), "syncd: --since 'soon': expected a date or time"),
        (("resolve", "5", "--keep", "vault"), "syncd: highlight 5 has no conflict"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    synced: Synced, args: tuple[str, ...], message: str
) -> None:
    done = synced.run(*args)
    assert done.returncode == 2
    assert done.stderr.startswith(message) and done.stderr.count("\n") == 1
    assert "Traceback" not in done.stderr and TOKEN not in done.stderr + done.stdout
