"""What a no-op `syncd sync` imports (issue 20): only what a sync that writes nothing needs.
Rendering (Jinja2), the daemon's watcher and scheduler are imported when they are used, not
with the modules that name them; the planning engine when the first book is planned
(`syncd.engine.run.Run.planner`): on this project's machine every syncd process compiles its
modules again (`PYTHONDONTWRITEBYTECODE`), and a no-op was mostly imports."""

from __future__ import annotations

from pathlib import Path

from syncd.testing.fakereadwise import FakeReadwise
from tests.e2e.test_cli import run, write_config

# Rendering, the daemon's; of Python's own, what only a Logseq block id needs (uuid, and
# `platform`, which it loads)
NOT_FOR_A_NOOP = ("jinja2", "markupsafe", "watchdog", "apscheduler", "uuid", "platform")
# syncd's own: Reader's client (`sync.reader_full_text` is off), the books' list (`status`)
NOT_OURS_FOR_A_NOOP = ("syncd.edges.reader", "syncd.core.books")
# syncd's planning engine: what plans a book's page and its pushes (`Run.planner`)
PLANNING = (
    "syncd.engine.planner",
    "syncd.engine.naming",
    "syncd.core.book_plan",
    "syncd.core.plan",
    "syncd.core.push_plan",
    "syncd.core.fields",
    "syncd.core.three_way",
)


def imported(stderr: str) -> set[str]:
    """The modules a process run with PYTHONPROFILEIMPORTTIME imported, by name."""
    return {
        line.rpartition("|")[2].strip()
        for line in stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }


def test_a_no_op_sync_imports_no_renderer_watcher_scheduler_or_planner(
    tmp_path: Path, server: FakeReadwise, vault: Path
) -> None:
    config = write_config(tmp_path, server, vault)
    first = run("sync", "--config", str(config), env={"PYTHONPROFILEIMPORTTIME": "1"})
    assert first.returncode == 0, first.stderr
    # A page was rendered and planned: the checks below can fail.
    assert "jinja2" in imported(first.stderr)
    assert sorted(imported(first.stderr) & set(PLANNING)) == sorted(PLANNING)
    noop = run("sync", "--config", str(config), env={"PYTHONPROFILEIMPORTTIME": "1"})
    assert noop.returncode == 0, noop.stderr
    assert noop.stdout.startswith("0 new highlights"), noop.stdout
    modules = imported(noop.stderr)
    assert "syncd.engine.run" in modules
    assert sorted(m for m in modules if m.split(".")[0] in NOT_FOR_A_NOOP) == []
    assert sorted(modules & set(NOT_OURS_FOR_A_NOOP)) == []
    assert sorted(modules & set(PLANNING)) == []
