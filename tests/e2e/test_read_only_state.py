"""Issue 22, item 4: looking does not need the right to write.

`syncd status`, `status --json`, `doctor` and `sync --dry-run` work on a state folder the user
can read but not write, and change nothing in it: an administrator looking at a service
account's state (played by root without the capabilities that pass over mode bits and owners,
the state the service account's, readable by others), a
read-only snapshot (played by a read-only bind mount, the commands run as root, whom mode bits
do not stop). Each way is tried here; one this machine cannot play is skipped with its reason.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from syncd.testing.fakereadwise import FakeReadwise
from tests.support.processes import REPO, write_config

TOKEN = "tok-readonly-0123456789abcdef"
SERVICE = 1234  # the service account whose state is looked at


def snapshot(folder: Path) -> dict[str, tuple[bytes, int, int]]:
    """Every file in `folder`: its bytes, mtime and mode (and the folder's own mtime)."""
    found = {".": (b"", folder.stat().st_mtime_ns, folder.stat().st_mode)}
    for path in sorted(folder.rglob("*")):
        stat = path.stat()
        found[path.relative_to(folder).as_posix()] = (
            path.read_bytes(),
            stat.st_mtime_ns,
            stat.st_mode,
        )
    return found


class Looker:
    """A synced vault whose state folder is then made readable but not writable, one way."""

    def __init__(self, root: Path, server: FakeReadwise, book_id: int, how: str) -> None:
        self.root, self.server, self.book_id, self.how = root, server, book_id, how
        self.vault = root / "graph"
        self.vault.mkdir()
        self.state = root / "state"
        self.config = write_config(
            root / "config.yaml", server.url, self.vault, self.state, token=TOKEN
        )
        self.prefix: list[str] = []
        done = self.run("sync")
        assert done.returncode == 0, done.stderr
        assert any(self.state.iterdir())
        server.add_highlight(self.book_id, text="Heaven is under our feet.")
        self.mounted = False
        if how == "read-only mount":
            self._mount_read_only()
        else:
            self._as_an_administrator()
        self.before = snapshot(self.state)

    def _mount_read_only(self) -> None:
        bind = subprocess.run(
            ["mount", "--bind", str(self.state), str(self.state)], capture_output=True, text=True
        )
        if bind.returncode != 0:
            pytest.skip(f"no bind mount here: {bind.stderr.strip()}")
        self.mounted = True
        remount = subprocess.run(
            ["mount", "-o", "remount,ro,bind", str(self.state)], capture_output=True, text=True
        )
        if remount.returncode != 0:
            pytest.skip(f"no read-only remount here: {remount.stderr.strip()}")
        probe = self.state / "probe"
        with pytest.raises(OSError):
            probe.write_bytes(b"")  # root cannot write there: read-only indeed

    def _as_an_administrator(self) -> None:
        setpriv = shutil.which("setpriv")
        if os.geteuid() != 0 or setpriv is None:
            pytest.skip("needs root and setpriv to drop the rights to write others' files")
        # The state is the service account's; the administrator (root without the
        # capabilities that pass over mode bits and owners) may read it, not write it.
        for path in [self.state, *self.state.rglob("*")]:
            os.chown(path, SERVICE, SERVICE)
            path.chmod(0o755 if path.is_dir() else 0o644)
        caps = "dac_override,dac_read_search,fowner,chown"
        drop = ",".join(f"-{cap}" for cap in caps.split(","))
        self.prefix = [setpriv, f"--bounding-set={drop}", f"--inh-caps={drop}"]

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "SYNCD_NOW": "2023-03-17T17:05:00Z", "TZ": "UTC"}
        env["PYTHONPATH"] = str(REPO)  # this worktree's syncd
        env.pop("READWISE_TOKEN", None)
        env.pop("XDG_CONFIG_HOME", None)
        return subprocess.run(
            [*self.prefix, sys.executable, "-m", "syncd", *args, "--config", str(self.config)],
            capture_output=True,
            text=True,
            env=env,
            cwd=self.root,
            timeout=120,
            check=False,
        )

    def close(self) -> None:
        if self.mounted:
            subprocess.run(["umount", str(self.state)], check=True)


@pytest.fixture(params=["read-only mount", "another user's state"])
def looker(request: pytest.FixtureRequest) -> Iterator[Looker]:
    root = Path(tempfile.mkdtemp(prefix="syncd-looking-"))
    looker = None
    try:
        with FakeReadwise(token=TOKEN) as server:
            book = server.add_book(
                title="Walden", author="Thoreau", highlights=[{"text": "Simplify, simplify."}]
            )
            looker = Looker(root, server, book["user_book_id"], request.param)
            yield looker
    finally:
        if looker is not None:
            looker.close()
        shutil.rmtree(root)


def test_status_shows_the_state_and_changes_nothing(looker: Looker) -> None:
    done = looker.run("status")
    assert done.returncode == 0, done.stderr
    assert "last successful sync:" in done.stdout and "books: 1; pages: 1" in done.stdout
    assert "Traceback" not in done.stderr
    done = looker.run("status", "--json")
    assert done.returncode == 0, done.stderr
    status = json.loads(done.stdout)
    assert status["synced"] and status["counts"]["highlights"] == 1
    assert snapshot(looker.state) == looker.before


def test_a_dry_run_shows_what_a_sync_would_write_and_changes_nothing(looker: Looker) -> None:
    done = looker.run("sync", "--dry-run")
    assert done.returncode == 0, done.stderr
    assert "+\t- Heaven is under our feet." in done.stdout
    assert snapshot(looker.state) == looker.before


def test_doctor_says_the_state_cannot_be_written_and_why_and_changes_nothing(
    looker: Looker,
) -> None:
    done = looker.run("doctor")
    assert "Traceback" not in done.stderr + done.stdout
    [line] = [line for line in done.stdout.splitlines() if " state: " in line]
    reason = "Read-only file system" if looker.how == "read-only mount" else "Permission denied"
    assert line.startswith("FAIL state: ") and reason in line, done.stdout
    assert "can be read" in line
    assert done.returncode == 1
    assert snapshot(looker.state) == looker.before
