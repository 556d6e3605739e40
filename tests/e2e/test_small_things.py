"""The small things of issue 21, item 10, through the real command line (a pseudo-terminal where
a person would be reading): "1 conflict", the config's permission warning once per sync, the
daemon telling when the next sync is due (its log and `syncd status`), and `doctor`'s report
with no log line inside it."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pexpect
import pytest
import yaml

from syncd.testing.fakereadwise import FakeReadwise
from syncd.testing.faults import Fault

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "tok-small-0123456789abcdef"


class Setup:
    def __init__(self, tmp_path: Path, server: FakeReadwise, *, mode: int = 0o600) -> None:
        self.tmp = tmp_path
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
                    "sync": {"sync_log_page": None, "interval": "1h"},
                }
            )
        )
        self.config.chmod(mode)
        self.env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("READWISE_", "SYNCD_", "NOTIFY_", "JOURNAL_"))
        }
        self.env.update(PYTHONPATH=str(ROOT), TZ="UTC", TERM="dumb")

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "syncd", *args, "--config", str(self.config)],
            capture_output=True,
            text=True,
            env=self.env,
            timeout=120,
            check=False,
        )

    def at_terminal(self, *args: str) -> tuple[int, str]:
        child = pexpect.spawn(
            sys.executable,
            ["-m", "syncd", *args, "--config", str(self.config)],
            env=self.env,
            encoding="utf-8",
            timeout=120,
            dimensions=(24, 200),
        )
        child.expect(pexpect.EOF)
        child.close()
        return child.exitstatus if child.exitstatus is not None else -1, child.before or ""


@pytest.fixture
def server() -> Iterator[FakeReadwise]:
    with FakeReadwise(token=TOKEN) as server:
        server.add_book(
            title="Walden",
            author="Thoreau",
            highlights=[{"text": "Simplify, simplify."}, {"text": "I went to the woods."}],
        )
        yield server


def test_one_conflict_is_not_conflicts(tmp_path: Path, server: FakeReadwise) -> None:
    """issue 21, item 10: `syncd status` said "1 conflicts"."""
    setup = Setup(tmp_path, server)
    assert setup.run("sync").returncode == 0
    page = setup.vault / "pages" / "Walden (highlights).md"
    page.write_text(page.read_text().replace("Simplify, simplify.", "Simplify, simplify. (yes)"))
    walden = server.books[0]
    server.update_highlight(walden["highlights"][0]["id"], text="Simplify!")
    assert setup.run("sync").returncode == 0
    out = setup.run("status").stdout
    assert "1 conflict, 0 removed)" in out
    assert "1 conflicts" not in out


def test_the_permission_warning_once_per_sync(tmp_path: Path, server: FakeReadwise) -> None:
    """issue 21, item 10: a config others may read, holding the token: one warning a sync."""
    setup = Setup(tmp_path, server, mode=0o644)
    code, output = setup.at_terminal("sync")
    assert code == 0, output
    assert output.count("holds a Readwise token and can be read by") == 1, output


def test_doctor_report_has_no_log_line_inside_it(tmp_path: Path, server: FakeReadwise) -> None:
    """issue 21, item 10: every line `doctor` prints at a terminal is one of its checks, even
    when the config is readable by others (a check says so) and Readwise needs a retry."""
    setup = Setup(tmp_path, server, mode=0o644)
    server.inject("auth", Fault.retry_after(0, status=503))
    code, output = setup.at_terminal("doctor")
    assert code == 1, output
    lines = [line for line in output.splitlines() if line.strip()]
    assert [line[:5] for line in lines] == ["ok   ", "FAIL ", *["ok   "] * (len(lines) - 2)]
    assert len(lines) >= 6 and "can be read by" in lines[1]


def test_the_daemon_says_when_the_next_sync_is_due(tmp_path: Path, server: FakeReadwise) -> None:
    """issue 21, item 10: after each sync the daemon logs when the next one is due, and
    `syncd status` shows it while the daemon runs."""
    setup = Setup(tmp_path, server)
    notify_path = tmp_path / "notify.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as notify:
        notify.bind(str(notify_path))
        notify.settimeout(120)
        daemon = subprocess.Popen(
            [sys.executable, "-m", "syncd", "run", "--config", str(setup.config)],
            env={**setup.env, "NOTIFY_SOCKET": str(notify_path)},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            messages: list[str] = []
            while not any("STATUS=last sync" in m for m in messages):
                messages.append(notify.recv(4096).decode())
            status = setup.run("status").stdout
        finally:
            daemon.send_signal(signal.SIGTERM)
            _, err = daemon.communicate(timeout=60)
    assert daemon.returncode == 0, err
    logged = re.search(r"next sync at (\d\d\d\d-\d\d-\d\d \d\d:\d\d:\d\d)", err)
    assert logged, err
    shown = re.search(r"^next sync: (\S+ \S+) \(the daemon, pid \d+\)$", status, re.M)
    assert shown, status
    assert shown.group(1) == logged.group(1)
    # without the daemon, no next sync is promised
    assert "next sync" not in setup.run("status").stdout
