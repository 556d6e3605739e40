"""What a no-op `syncd sync` imports (issue 20): only what a sync that writes nothing needs.
Rendering (Jinja2), the daemon's watcher and scheduler are imported when they are used, not
with the modules that name them: on this project's machine every syncd process compiles its
modules again (`PYTHONDONTWRITEBYTECODE`), and a no-op was mostly imports."""

from __future__ import annotations

from pathlib import Path

from syncd.testing.fakereadwise import FakeReadwise
from tests.e2e.test_cli import run, write_config

NOT_FOR_A_NOOP = ("jinja2", "markupsafe", "watchdog", "apscheduler")
# syncd's own: Reader's client (`sync.reader_full_text` is off), the books' list (`status`)
NOT_OURS_FOR_A_NOOP = ("syncd.edges.reader", "syncd.core.books")


def imported(stderr: str) -> set[str]:
    """The modules a process run with PYTHONPROFILEIMPORTTIME imported, by name."""
    return {
        line.rpartition("|")[2].strip()
        for line in stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }


def test_a_no_op_sync_imports_no_renderer_watcher_or_scheduler(
    tmp_path: Path, server: FakeReadwise, vault: Path
) -> None:
    config = write_config(tmp_path, server, vault)
    first = run("sync", "--config", str(config), env={"PYTHONPROFILEIMPORTTIME": "1"})
    assert first.returncode == 0, first.stderr
    assert "jinja2" in imported(first.stderr)  # a page was rendered: the check below can fail
    noop = run("sync", "--config", str(config), env={"PYTHONPROFILEIMPORTTIME": "1"})
    assert noop.returncode == 0, noop.stderr
    assert noop.stdout.startswith("0 new highlights"), noop.stdout
    modules = imported(noop.stderr)
    assert "syncd.engine.run" in modules
    assert sorted(m for m in modules if m.split(".")[0] in NOT_FOR_A_NOOP) == []
    assert sorted(modules & set(NOT_OURS_FOR_A_NOOP)) == []
