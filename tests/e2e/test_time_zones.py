"""issue 22, class 1: the time a page shows is the zone's at that instant, for any `TZ` the C
library accepts, through the real command line (`syncd sync`, `syncd run`)."""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from syncd.testing.fakereadwise import FakeReadwise
from tests.support.processes import TIMEOUT, run_syncd, syncd_command, syncd_env, write_config

TOKEN = "tok-tz-0123456789abcdef"
POSIX_CET = "CET-1CEST,M3.5.0,M10.5.0/3"


@pytest.fixture
def server() -> Iterator[FakeReadwise]:
    with FakeReadwise(token=TOKEN) as server:
        server.add_book(title="Walden", author="Thoreau", highlights=[{"text": "Simplify."}])
        yield server


def configured(tmp_path: Path, server: FakeReadwise, name: str = "graph") -> Path:
    vault = tmp_path / name
    vault.mkdir()
    return write_config(
        tmp_path / f"{name}.yaml",
        server.url,
        vault,
        tmp_path / f"{name}-state",
        token=TOKEN,
        vault={"path": str(vault), "timezone": None},
    )


def sync_at(tmp_path: Path, server: FakeReadwise, tz: str | None, now: str, name: str) -> str:
    """`syncd sync` at `now` under `TZ=tz` (None: unset); return the sync log's line."""
    config = configured(tmp_path, server, name)
    env = syncd_env(SYNCD_NOW=now)
    if tz is None:
        env.pop("TZ", None)
    else:
        env["TZ"] = tz
    result = run_syncd("sync", "--config", str(config), env=env)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return (tmp_path / name / "pages" / "Readwise.md").read_text(encoding="utf-8").splitlines()[-1]


@pytest.mark.parametrize(
    ("tz", "now", "shown"),
    [
        # New York springs forward at 07:00 UTC on 12 March 2023: 07:30 UTC is 3:30 AM EDT
        # (main wrote "2:30 AM", a time that did not exist there that night).
        ("America/New_York", "2023-03-12T07:30:00Z", "[[Mar 12th, 2023]] at 3:30 AM"),
        ("America/New_York", "2023-03-12T06:30:00Z", "[[Mar 12th, 2023]] at 1:30 AM"),
        # ... and falls back at 06:00 UTC on 5 November: 1:30 AM twice, an hour apart.
        ("America/New_York", "2023-11-05T05:30:00Z", "[[Nov 5th, 2023]] at 1:30 AM"),
        ("America/New_York", "2023-11-05T06:30:00Z", "[[Nov 5th, 2023]] at 1:30 AM"),
        ("America/New_York", "2023-07-01T16:05:00Z", "[[Jul 1st, 2023]] at 12:05 PM"),
        # A POSIX rule, as routers and NAS firmware set it: summer time in July, not in January.
        (POSIX_CET, "2023-07-01T16:05:00Z", "[[Jul 1st, 2023]] at 6:05 PM"),
        (POSIX_CET, "2023-01-01T16:05:00Z", "[[Jan 1st, 2023]] at 5:05 PM"),
        (POSIX_CET, "2023-03-26T00:59:00Z", "[[Mar 26th, 2023]] at 1:59 AM"),
        (POSIX_CET, "2023-03-26T01:00:00Z", "[[Mar 26th, 2023]] at 3:00 AM"),
        (":Europe/Paris", "2023-07-01T16:05:00Z", "[[Jul 1st, 2023]] at 6:05 PM"),
        ("Asia/Kolkata", "2023-07-01T16:05:00Z", "[[Jul 1st, 2023]] at 9:35 PM"),
    ],
)
def test_the_sync_log_shows_the_zones_time_at_that_instant(
    tmp_path: Path, server: FakeReadwise, tz: str, now: str, shown: str
) -> None:
    assert f"On {shown} Readwise synced" in sync_at(tmp_path, server, tz, now, "graph")


def test_a_dated_header_across_the_spring_change(tmp_path: Path, server: FakeReadwise) -> None:
    """The second sync's "New highlights added" header, at 07:30 UTC on the night New York
    springs forward: 3:30 AM (main: 2:30 AM, a time that did not exist)."""
    sync_at(tmp_path, server, "America/New_York", "2023-03-12T06:30:00Z", "graph")
    server.add_highlight(server.books[0]["user_book_id"], text="Second.")
    config = tmp_path / "graph.yaml"
    env = syncd_env(SYNCD_NOW="2023-03-12T07:30:00Z", TZ="America/New_York")
    result = run_syncd("sync", "--config", str(config), env=env)
    assert result.returncode == 0, result.stderr
    page = (tmp_path / "graph" / "pages" / "Walden (highlights).md").read_text(encoding="utf-8")
    assert "- New highlights added [[Mar 12th, 2023]] at 3:30 AM\n" in page + "\n", page


def test_an_obsidian_header_and_sync_log_across_the_spring_change(
    tmp_path: Path, server: FakeReadwise
) -> None:
    vault = tmp_path / "vault"
    vault.mkdir()
    config = write_config(
        tmp_path / "vault.yaml",
        server.url,
        vault,
        tmp_path / "state",
        token=TOKEN,
        vault={"path": str(vault), "timezone": None, "format": "obsidian"},
    )
    for now in ("2023-03-12T06:30:00Z", "2023-03-12T07:30:00Z"):
        env = syncd_env(SYNCD_NOW=now, TZ="America/New_York")
        result = run_syncd("sync", "--config", str(config), env=env)
        assert result.returncode == 0, result.stderr
        server.add_highlight(server.books[0]["user_book_id"], text=f"Added after {now}.")
    page = (vault / "Readwise" / "Books" / "Walden.md").read_text(encoding="utf-8")
    assert "\n## New highlights added March 12, 2023 at 3:30 AM\n" in page, page
    syncs = (vault / "Readwise" / "Readwise Syncs.md").read_text(encoding="utf-8")
    assert "- [[2023-03-12]] 1:30 AM — Synced" in syncs, syncs
    assert "- [[2023-03-12]] 3:30 AM — Synced" in syncs, syncs


def test_a_laptop_that_travels_between_syncs_shows_each_syncs_own_zone(
    tmp_path: Path, server: FakeReadwise
) -> None:
    now = "2023-07-01T16:05:00Z"
    assert "at 12:05 PM Readwise" in sync_at(tmp_path, server, "America/New_York", now, "ny")
    tokyo = sync_at(tmp_path, server, "Asia/Tokyo", now, "tokyo")
    assert "On [[Jul 2nd, 2023]] at 1:05 AM Readwise" in tokyo


def test_tz_unset_and_a_zone_file_path_follow_the_machines_zone(
    tmp_path: Path, server: FakeReadwise
) -> None:
    local = os.path.realpath("/etc/localtime")
    if not os.path.isfile(local):
        pytest.skip("no /etc/localtime here")
    now = "2023-07-01T16:05:00Z"
    unset = sync_at(tmp_path, server, None, now, "unset")
    path = sync_at(tmp_path, server, ":/etc/localtime", now, "path")
    assert unset.split("]]")[1] == path.split("]]")[1]


@pytest.mark.parametrize("tz", ["Nowhere/Atlantis", "", ":/no/such/zone", "garbage-!"])
def test_a_tz_that_is_no_zone_warns_once_and_shows_utc(
    tmp_path: Path, server: FakeReadwise, tz: str
) -> None:
    config = configured(tmp_path, server)
    env = syncd_env(SYNCD_NOW="2023-07-01T16:05:00Z", TZ=tz)
    result = run_syncd("sync", "--config", str(config), env=env)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    warnings = [line for line in result.stderr.splitlines() if "TZ" in line]
    assert len(warnings) == 1, result.stderr
    assert "UTC" in warnings[0]
    log_page = (tmp_path / "graph" / "pages" / "Readwise.md").read_text(encoding="utf-8")
    assert "On [[Jul 1st, 2023]] at 4:05 PM Readwise" in log_page


@pytest.mark.parametrize(
    "tz", [POSIX_CET, "America/New_York", ":/etc/localtime", None, "Nowhere/Atlantis", ""]
)
def test_the_daemon_runs_under_any_tz(tmp_path: Path, server: FakeReadwise, tz: str | None) -> None:
    """`syncd run` starts, does its first sync and stops on SIGTERM, without a traceback
    (on main, APScheduler's tzlocal raised on the POSIX rule)."""
    config = configured(tmp_path, server)
    env = syncd_env(SYNCD_NOW="2023-07-01T16:05:00Z")
    if tz is None:
        env.pop("TZ", None)
    else:
        env["TZ"] = tz
    process = subprocess.Popen(
        [*syncd_command("run", "--config", str(config))],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    try:
        assert process.stderr is not None
        while True:  # until the first sync's line (or the end: the assertion says why)
            line = process.stderr.readline()
            lines.append(line)
            assert line, "".join(lines)
            if " sync: " in line or line.startswith("sync: "):
                break
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=TIMEOUT) == 0, "".join(lines)
        lines += process.stderr.readlines()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    output = "".join(lines)
    assert "Traceback" not in output, output
    log_page = (tmp_path / "graph" / "pages" / "Readwise.md").read_text(encoding="utf-8")
    if tz == POSIX_CET:
        assert "On [[Jul 1st, 2023]] at 6:05 PM Readwise" in log_page
    if tz in ("Nowhere/Atlantis", ""):
        assert "On [[Jul 1st, 2023]] at 4:05 PM Readwise" in log_page
        assert "dates and times are shown in UTC" in output


def _can_bind_mount() -> bool:
    """Whether this machine lets a test give a process its own `/etc` (a private mount
    namespace: root, or unprivileged user namespaces)."""
    if not shutil.which("unshare"):
        return False
    probe = subprocess.run(
        ["unshare", "-m", "--propagation", "private", "true"], capture_output=True, check=False
    )
    return probe.returncode == 0


@pytest.mark.skipif(not _can_bind_mount(), reason="needs a private mount namespace (unshare -m)")
def test_a_daemon_on_a_laptop_that_travels_follows_the_machines_zone(
    tmp_path: Path, server: FakeReadwise
) -> None:
    """`syncd run` with `TZ` unset, while the machine's zone changes under it (as
    `timedatectl set-timezone` replaces the `/etc/localtime` link): the next sync's line is in
    the new zone (main kept the offset it started with). The daemon sees an `/etc` of its own
    (a private mount namespace), whose `localtime` link the test changes."""
    etc = tmp_path / "etc"
    etc.mkdir()
    (etc / "localtime").symlink_to("/usr/share/zoneinfo/America/New_York")
    config = configured(tmp_path, server)
    env = syncd_env(SYNCD_NOW="2023-07-01T16:05:00Z")
    env.pop("TZ")
    run = " ".join(shlex.quote(part) for part in syncd_command("run", "--config", str(config)))
    process = subprocess.Popen(
        [
            "unshare",
            "-m",
            "--propagation",
            "private",
            "sh",
            "-c",
            f"mount --bind {shlex.quote(str(etc))} /etc && exec {run}",
        ],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )
    lines: list[str] = []

    def until_synced() -> None:
        assert process.stderr is not None
        while True:
            line = process.stderr.readline()
            lines.append(line)
            assert line, "".join(lines)
            if " sync: " in line or line.startswith("sync: "):
                return

    try:
        until_synced()
        (etc / "localtime").unlink()
        (etc / "localtime").symlink_to("/usr/share/zoneinfo/Asia/Tokyo")
        server.add_highlight(server.books[0]["user_book_id"], text="Written in Tokyo.")
        process.send_signal(signal.SIGUSR1)
        until_synced()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=TIMEOUT) == 0, "".join(lines)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    log_page = (tmp_path / "graph" / "pages" / "Readwise.md").read_text(encoding="utf-8")
    first, second = log_page.splitlines()[-2:]
    assert first.startswith("- On [[Jul 1st, 2023]] at 12:05 PM Readwise"), log_page
    assert second.startswith("- On [[Jul 2nd, 2023]] at 1:05 AM Readwise"), log_page
