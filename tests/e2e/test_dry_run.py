"""`syncd sync --dry-run` writes nothing at all (issue 10, item 10): no state folder, database
or lock file, no vault file (not even a crash's leftover removed); it still prints the diff."""

from __future__ import annotations

import os
from pathlib import Path

from syncd.core.page_files import TEMP_PREFIX, TEMP_SUFFIX
from syncd.testing.fakereadwise import FakeReadwise
from tests.e2e.conftest import TOKEN
from tests.e2e.test_cli import run, write_config
from tests.support.processes import snapshot


def stamps(root: Path) -> dict[str, int]:
    """Every path under `root` with its mtime: a file rewritten with the same bytes shows."""
    return {str(p.relative_to(root)): p.lstat().st_mtime_ns for p in root.rglob("*")}


def test_a_dry_run_on_a_fresh_machine_writes_nothing_and_prints_the_diff(
    tmp_path: Path, server: FakeReadwise, vault: Path
) -> None:
    """Issue 10, item 10: it used to create the state folder, database and lock file."""
    (vault / "logseq").mkdir()
    (vault / "logseq" / "config.edn").write_text("{:file/name-format :triple-lowbar}\n")
    (vault / "pages").mkdir()
    leftover = vault / "pages" / f"{TEMP_PREFIX}crash{TEMP_SUFFIX}"
    leftover.write_text("a crash's leftover: a real sync removes it, a dry run does not")
    config = write_config(tmp_path, server, vault)
    before, times = snapshot(vault), stamps(vault)
    result = run("sync", "--dry-run", "--config", str(config))
    assert result.returncode == 0, result.stderr
    assert "+++ b/pages/Walden (highlights).md" in result.stdout
    assert "+\t- Simplify, simplify." in result.stdout
    assert not (tmp_path / "state").exists()
    assert snapshot(vault) == before and stamps(vault) == times
    assert TOKEN not in result.stdout + result.stderr


def test_a_dry_run_after_a_sync_reads_the_state_and_writes_nothing(
    tmp_path: Path, server: FakeReadwise, vault: Path
) -> None:
    """Issue 10, item 10: the database is read, not opened for writing: no file of the state
    folder changes (not even a write-ahead log beside it), and the diff knows what was synced."""
    config = write_config(tmp_path, server, vault, sync={"sync_log_page": None})
    assert run("sync", "--config", str(config)).returncode == 0
    server.add_highlight(1, text="Time is but the stream I go a-fishing in.")
    state = tmp_path / "state"
    before = snapshot(vault), snapshot(state), stamps(vault), stamps(state)
    result = run("sync", "--dry-run", "--config", str(config))
    assert result.returncode == 0, result.stderr
    assert "+\t- Time is but the stream I go a-fishing in." in result.stdout
    lines = result.stdout.splitlines()
    assert "--- a/pages/Walden (highlights).md" in lines  # a page known from the state
    added = [line for line in lines if line.startswith("+") and "Simplify" in line]
    removed = [line for line in lines if line.startswith("-") and "Simplify" in line]
    assert len(added) == len(removed) <= 1  # at most its last line gains a newline
    assert (snapshot(vault), snapshot(state), stamps(vault), stamps(state)) == before
    assert sorted(os.listdir(state)) == sorted(before[1])
