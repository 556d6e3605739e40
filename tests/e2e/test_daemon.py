"""`syncd run` as systemd runs it: a subprocess against the loopback server, talking the notify
protocol over a real AF_UNIX datagram socket, driven by signals and by edits to its pages."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from syncd.testing.fakereadwise import FakeReadwise

TOKEN = "tok-daemon-0123456789"
PAGE = "Walden (highlights).md"
WAIT = 30.0  # seconds: a bound for failure only


class Daemon:
    """A `syncd run` subprocess and the notify socket it reports to."""

    def __init__(self, tmp_path: Path, server: FakeReadwise, interval: str) -> None:
        self.vault = tmp_path / "graph"
        self.vault.mkdir()
        self.config = tmp_path / "config.yaml"
        self.write_config(server, interval)
        self.socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.socket.bind(str(tmp_path / "notify.sock"))
        self.socket.settimeout(WAIT)
        env = {
            **os.environ,
            "NOTIFY_SOCKET": str(tmp_path / "notify.sock"),
            "TZ": "UTC",
            "SYNCD_NOW": "2023-03-17T17:05:00Z",
        }
        env.pop("READWISE_TOKEN", None)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "syncd", "run", "--config", str(self.config)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.messages: list[str] = []

    def write_config(self, server: FakeReadwise, interval: str, **extra: Any) -> None:
        data = {
            "readwise": {"token": TOKEN, "base_url": server.url},
            "vault": {"path": str(self.vault), "timezone": "UTC"},
            "state_dir": str(self.vault.parent / "state"),
            "sync": {"interval": interval, "sync_log_page": None},
            **extra,
        }
        self.config.write_text(yaml.safe_dump(data), encoding="utf-8")
        self.config.chmod(0o600)

    def wait_for(self, wanted: Callable[[str], bool]) -> str:
        """Read notify messages until one satisfies `wanted`; return it."""
        while True:
            message = self.socket.recv(4096).decode()
            self.messages.append(message)
            if wanted(message):
                return message

    def status(self) -> dict[str, Any]:
        result = subprocess.run(
            [sys.executable, "-m", "syncd", "status", "--json", "--config", str(self.config)],
            capture_output=True,
            text=True,
            check=True,
        )
        return json.loads(result.stdout)

    def page(self) -> str:
        return (self.vault / "pages" / PAGE).read_text(encoding="utf-8")

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.socket.close()


@pytest.fixture
def walden() -> Iterator[FakeReadwise]:
    """A loopback Readwise holding one book, Walden, of three highlights."""
    with FakeReadwise(token=TOKEN) as server:
        server.add_book(
            title="Walden",
            author="Thoreau",
            highlights=[
                {"text": "Simplify, simplify."},
                {"text": "I went to the woods."},
                {"text": "Our life is frittered away by detail."},
            ],
        )
        yield server


@pytest.fixture
def daemon(tmp_path: Path, walden: FakeReadwise) -> Iterator[Daemon]:
    d = Daemon(tmp_path, walden, interval="2s")
    yield d
    d.close()


def synced(message: str) -> bool:
    return message.startswith("STATUS=last sync")


def test_daemon_syncs_follows_edits_and_stops_cleanly(daemon: Daemon, walden: FakeReadwise) -> None:
    assert daemon.wait_for(lambda m: "READY=1" in m).startswith("READY=1")
    daemon.wait_for(synced)
    page = daemon.page()
    edited = page.replace("Simplify, simplify.", "Simplify, simplify! (mine)")
    edited = "\n".join(line for line in edited.split("\n") if "I went to the woods." not in line)
    (daemon.vault / "pages" / PAGE).write_text(edited, encoding="utf-8")

    ids = [h["id"] for h in walden.book(1)["highlights"]]
    walden.update_highlight(ids[0], text="Simplify, simplify, upstream.")
    walden.update_highlight(ids[1], text="I went to the woods, upstream.")
    walden.add_highlight(1, text="Time is but the stream I go a-fishing in.")
    daemon.process.send_signal(signal.SIGUSR1)
    daemon.wait_for(lambda m: synced(m) and "1 new highlight" in m)

    daemon.process.send_signal(signal.SIGTERM)
    assert daemon.process.wait(timeout=10) == 0
    assert any(m.startswith("STOPPING=1") for m in daemon.messages) or daemon.wait_for(
        lambda m: m.startswith("STOPPING=1")
    )
    assert daemon.page() == edited + (
        "\n- New highlights added [[Mar 17th, 2023]] at 5:05 PM\n"
        "\t- Time is but the stream I go a-fishing in."
    )
    counts = daemon.status()["counts"]
    assert counts["conflict"] == 1 and counts["deleted"] == 1 and counts["written"] == 2
    stderr = daemon.process.stderr.read() if daemon.process.stderr else ""
    assert TOKEN not in stderr


def test_broken_config_on_sighup_keeps_the_old_one(daemon: Daemon, walden: FakeReadwise) -> None:
    daemon.wait_for(lambda m: "READY=1" in m)
    daemon.wait_for(synced)
    daemon.config.write_text("vault: [not, a, mapping", encoding="utf-8")
    daemon.process.send_signal(signal.SIGHUP)
    walden.add_highlight(1, text="Still syncing after a bad reload.")
    daemon.process.send_signal(signal.SIGUSR1)
    daemon.wait_for(lambda m: synced(m) and "1 new highlight" in m)
    daemon.process.send_signal(signal.SIGTERM)
    assert daemon.process.wait(timeout=10) == 0
    stderr = daemon.process.stderr.read() if daemon.process.stderr else ""
    assert "reload failed, keeping the running config" in stderr
    assert str(daemon.config) in stderr


def test_a_vault_deleted_while_running_is_survived(daemon: Daemon, walden: FakeReadwise) -> None:
    import shutil

    daemon.wait_for(lambda m: "READY=1" in m)
    daemon.wait_for(synced)
    shutil.rmtree(daemon.vault)
    daemon.process.send_signal(signal.SIGUSR1)
    daemon.wait_for(lambda m: m.startswith("STATUS=last sync failed"))
    assert daemon.process.poll() is None  # still running, no crash loop
    daemon.process.send_signal(signal.SIGTERM)
    assert daemon.process.wait(timeout=10) == 0
    stderr = daemon.process.stderr.read() if daemon.process.stderr else ""
    assert "sync failed" in stderr and "next try at" in stderr


def cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime, in clock ticks


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_an_idle_daemon_uses_no_cpu(tmp_path: Path, walden: FakeReadwise) -> None:
    """Nothing to do: every thread blocks (queue, scheduler, inotify); no busy loop. The window
    is a measuring interval, not a synchronisation; what is asserted is CPU ticks used."""
    d = Daemon(tmp_path, walden, interval="1h")
    try:
        d.wait_for(lambda m: "READY=1" in m)
        d.wait_for(synced)
        before = cpu_ticks(d.process.pid)
        time.sleep(3)
        used = cpu_ticks(d.process.pid) - before
        assert used <= 2, f"{used} ticks of CPU in 3 s of idling"
    finally:
        d.close()


def test_a_refused_token_stops_the_daemon_with_exit_3_without_retrying(tmp_path: Path) -> None:
    """issue 12, item 7 (refused token): the daemon does not retry a token Readwise refuses
    every minute; it stops with exit 3, which the units' RestartPreventExitStatus= keeps from
    being restarted. And (item 8) APScheduler's own INFO lines stay out of its log."""
    with FakeReadwise(token="the-account-s-real-token") as server:
        server.add_book(title="Walden", highlights=[{"text": "Simplify, simplify."}])
        daemon = Daemon(tmp_path, server, interval="2s")
        try:
            assert daemon.process.wait(timeout=WAIT) == 3
            stderr = daemon.process.stderr.read() if daemon.process.stderr else ""
            assert len(server.requests_to("export")) == 1  # asked once, not again
        finally:
            daemon.close()
    assert "refused the token" in stderr and "stopping (exit 3)" in stderr
    assert TOKEN not in stderr
    status = daemon.status()
    assert "refused the token" in status["last_error"]
    for unit in ("syncd.service", "syncd@.service"):
        text = (Path(__file__).parents[2] / "systemd" / unit).read_text(encoding="utf-8")
        assert "RestartPreventExitStatus=2 3" in text


def test_the_daemon_log_holds_no_apscheduler_chatter(tmp_path: Path, walden: FakeReadwise) -> None:
    """issue 12, item 8: APScheduler's INFO lines ("Added job", "Running job", "Scheduler
    started") are silenced; under systemd (JOURNAL_STREAM) every line names its logger."""
    vault = tmp_path / "graph"
    vault.mkdir()
    config = tmp_path / "config.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "readwise": {"token": TOKEN, "base_url": walden.url},
                "vault": {"path": str(vault), "timezone": "UTC"},
                "state_dir": str(tmp_path / "state"),
                "sync": {"interval": "1s", "sync_log_page": None},
                "log_level": "debug",
            }
        )
    )
    config.chmod(0o600)
    env = {**os.environ, "JOURNAL_STREAM": "8:1", "TZ": "UTC"}
    env.pop("READWISE_TOKEN", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "syncd", "run", "--config", str(config)],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    try:
        assert process.stderr is not None
        syncs = 0
        while syncs < 2:  # the sync on start and a scheduled one: the scheduler ran a job
            line = process.stderr.readline()
            assert line, "".join(lines)
            lines.append(line)
            syncs += "syncd.daemon: sync: " in line
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=WAIT) == 0
        lines += process.stderr.readlines()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert any("syncd.daemon:" in line for line in lines)
    assert not [line for line in lines if "apscheduler" in line], "".join(lines)


def test_the_state_database_deleted_under_the_daemon_stops_it(daemon: Daemon) -> None:
    """Issue 10, item 5: the daemon notices its database deleted (its path no longer names the
    file it has open) before the next sync, says so and stops with exit 5: it does not go on
    with a database nobody will open again, nor rebuild one that forgets what the user
    deleted."""
    daemon.wait_for(lambda m: "READY=1" in m)
    daemon.wait_for(synced)
    page = daemon.page()
    state_dir = daemon.vault.parent / "state"
    for path in state_dir.glob("*.sqlite3*"):
        path.unlink()
    daemon.process.send_signal(signal.SIGUSR1)
    assert daemon.process.wait(timeout=WAIT) == 5
    stderr = daemon.process.stderr.read() if daemon.process.stderr else ""
    assert "was deleted or replaced while syncd ran; stopping" in stderr, stderr
    assert "Traceback" not in stderr
    assert not list(state_dir.glob("*.sqlite3"))  # not rebuilt
    assert daemon.page() == page
