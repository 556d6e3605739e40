"""`syncd service install [--timer] | uninstall | status` (issue 12, item 2), on both platforms,
with fake `systemctl` and `launchctl` scripts on PATH that record every call. The installed
systemd units are checked with `systemd-analyze verify`, the launchd plist with plistlib."""

from __future__ import annotations

import os
import plistlib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from syncd.cli import main
from syncd.commands import service_context

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "tok-service-0123456789abcdef"
SYSTEMD_ANALYZE = shutil.which("systemd-analyze")  # before the tests narrow PATH
FAKE = """#!/bin/sh
echo "${0##*/} $*" >> "$FAKE_LOG"
if [ -n "$FAKE_FAIL" ]; then echo "$FAKE_FAIL" >&2; exit 1; fi
exit 0
"""


class World:
    def __init__(self, root: Path, monkeypatch: pytest.MonkeyPatch, platform: str) -> None:
        self.home = root / "home"
        self.vault = self.home / "notes"
        self.vault.mkdir(parents=True)
        self.bin = root / "bin"
        self.bin.mkdir()
        self.log = root / "calls.log"
        self.platform = platform
        self.monkeypatch = monkeypatch
        for key in [k for k in os.environ if k.startswith(("XDG_", "SYNCD_", "READWISE_"))]:
            monkeypatch.delenv(key)
        monkeypatch.setenv("HOME", str(self.home))
        monkeypatch.setenv("XDG_CONFIG_HOME", str(self.home / ".config"))
        monkeypatch.setenv("XDG_STATE_HOME", str(self.home / ".local" / "state"))
        monkeypatch.setenv("PATH", str(self.bin))
        monkeypatch.setenv("FAKE_LOG", str(self.log))
        monkeypatch.setattr(service_context, "current_platform", lambda: platform)
        config = self.home / ".config" / "syncd"
        config.mkdir(parents=True)
        (config / "config.yaml").write_text(
            f"readwise:\n  token_file: {config / 'readwise-token'}\nvault:\n  path: {self.vault}\n"
        )
        (config / "readwise-token").write_text(TOKEN + "\n")
        (config / "readwise-token").chmod(0o600)
        (config / "config.yaml").chmod(0o600)
        self.token_file = config / "readwise-token"

    def fake(self, name: str) -> None:
        path = self.bin / name
        path.write_text(FAKE)
        path.chmod(0o755)

    def calls(self) -> list[str]:
        return self.log.read_text().splitlines() if self.log.exists() else []

    @property
    def unit_dir(self) -> Path:
        return self.home / ".config" / "systemd" / "user"

    @property
    def agents(self) -> Path:
        return self.home / "Library" / "LaunchAgents"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["service", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def linux(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> World:
    world = World(tmp_path, monkeypatch, "linux")
    world.fake("systemctl")
    return world


@pytest.fixture
def mac(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> World:
    world = World(tmp_path, monkeypatch, "darwin")
    world.fake("launchctl")
    return world


def verify(unit: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    analyze = SYSTEMD_ANALYZE
    if analyze is None:
        pytest.skip("systemd-analyze not found (install systemd to verify the unit files)")
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700, exist_ok=True)
    env = {key: value for key, value in os.environ.items() if not key.startswith("XDG_")}
    env.update(
        XDG_RUNTIME_DIR=str(runtime), LC_ALL="C.UTF-8", SYSTEMD_COLORS="0", PATH="/usr/bin:/bin"
    )
    return subprocess.run(
        [analyze, "--user", "verify", str(unit)],
        env=env,
        text=True,
        capture_output=True,
        timeout=120,
        check=False,
    )


def exec_start(unit: Path) -> str:
    return next(line for line in unit.read_text().splitlines() if line.startswith("ExecStart="))


# --------------------------------------------------------------------------------------------
# systemd
# --------------------------------------------------------------------------------------------


def test_install_writes_the_unit_running_this_syncd_and_enables_it(
    linux: World, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """issue 12, item 2: ExecStart= is the syncd running now (here `python -m syncd`, as in a
    virtualenv), LoadCredential= the token file init wrote; systemctl --user enables it."""
    code, out, err = run(capsys, "install")
    assert code == 0, err
    unit = linux.unit_dir / "syncd.service"
    assert exec_start(unit) == f"ExecStart={sys.executable} -m syncd run"
    assert f"LoadCredential=readwise-token:{linux.token_file}" in unit.read_text()
    assert linux.calls() == [
        "systemctl --user daemon-reload",
        "systemctl --user enable --now syncd.service",
    ]
    assert "enabled and started syncd.service" in out
    result = verify(unit, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert TOKEN not in unit.read_text()


def test_install_twice_changes_nothing(linux: World, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "install")[0] == 0
    before = (linux.unit_dir / "syncd.service").read_bytes()
    code, out, _ = run(capsys, "install")
    assert code == 0
    assert "installed already, unchanged" in out
    assert (linux.unit_dir / "syncd.service").read_bytes() == before


def test_a_unit_the_user_edited_is_kept_by_install_and_uninstall(
    linux: World, capsys: pytest.CaptureFixture[str]
) -> None:
    """issue 12, item 2: an edited unit is the user's: install keeps it with a message,
    uninstall keeps it too."""
    assert run(capsys, "install")[0] == 0
    unit = linux.unit_dir / "syncd.service"
    edited = unit.read_text().replace("RestartSec=30s", "RestartSec=2min")
    unit.write_text(edited)
    code, out, _ = run(capsys, "install")
    assert code == 0
    assert "was changed since syncd wrote it" in out and "kept" in out
    assert unit.read_text() == edited
    code, out, _ = run(capsys, "uninstall")
    assert code == 0
    assert "kept" in out
    assert unit.read_text() == edited


def test_uninstall_removes_what_install_made_and_nothing_else(
    linux: World, capsys: pytest.CaptureFixture[str]
) -> None:
    linux.unit_dir.mkdir(parents=True)
    mine = linux.unit_dir / "backup.service"
    mine.write_text("[Service]\nExecStart=/bin/true\n")
    assert run(capsys, "install")[0] == 0
    code, out, _ = run(capsys, "uninstall")
    assert "removed" in out
    assert code == 0
    assert sorted(p.name for p in linux.unit_dir.iterdir()) == ["backup.service"]
    assert "systemctl --user disable --now syncd.service" in linux.calls()
    assert linux.calls()[-1] == "systemctl --user daemon-reload"
    # the config and token are init's, not install's: still there
    assert linux.token_file.exists()
    assert run(capsys, "uninstall")[1].startswith("nothing to uninstall")


def test_the_timer_is_two_units_that_verify(
    linux: World, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = run(capsys, "install", "--timer")
    assert code == 0, err
    service_unit = linux.unit_dir / "syncd-sync.service"
    assert exec_start(service_unit) == f"ExecStart={sys.executable} -m syncd sync"
    assert linux.calls()[-1] == "systemctl --user enable --now syncd-sync.timer"
    result = verify(linux.unit_dir / "syncd-sync.timer", tmp_path)
    assert result.returncode == 0, result.stderr
    # the daemon next to the timer would contend for the vault's lock
    code, _, err = run(capsys, "install")
    assert code == 2 and "run `syncd service uninstall` first" in err
    assert run(capsys, "uninstall")[0] == 0
    assert list(linux.unit_dir.iterdir()) == []


def test_a_config_elsewhere_goes_on_the_command_line(
    linux: World, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """issue 21, item 1: another config's service is an instance named after it, beside the
    default config's (which it does not touch), and verifies."""
    other = linux.home / "my configs" / "work.yaml"
    other.parent.mkdir()
    other.write_text((linux.home / ".config" / "syncd" / "config.yaml").read_text())
    (other.parent / "readwise-token").write_text(TOKEN)
    assert run(capsys, "install")[0] == 0
    default = (linux.unit_dir / "syncd.service").read_bytes()
    code, _, err = run(capsys, "install", "--config", str(other))
    assert code == 0, err
    unit = linux.unit_dir / "syncd@work.service"
    assert exec_start(unit) == (f'ExecStart={sys.executable} -m syncd run --config "{other}"')
    assert (linux.unit_dir / "syncd.service").read_bytes() == default
    result = verify(unit, tmp_path)
    assert result.returncode == 0, result.stderr


def test_systemctl_refusing_leaves_nothing_installed(
    linux: World, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_FAIL", "Failed to connect to bus: No medium found")
    code, _, err = run(capsys, "install")
    assert code == 1
    assert err.strip().splitlines() == [
        "syncd: service: `systemctl --user daemon-reload` failed (exit 1): Failed to connect "
        "to bus: No medium found"
    ]
    assert not (linux.unit_dir / "syncd.service").exists()


def test_without_systemd_a_clear_line(linux: World, capsys: pytest.CaptureFixture[str]) -> None:
    (linux.bin / "systemctl").unlink()
    code, _, err = run(capsys, "install")
    assert code == 2
    assert "systemctl not found, so this system has no systemd" in err
    assert not linux.unit_dir.exists()


def test_without_the_token_file_nothing_is_written(
    linux: World, capsys: pytest.CaptureFixture[str]
) -> None:
    linux.token_file.unlink()
    code, _, err = run(capsys, "install")
    assert code == 2
    assert "readwise-token" in err
    assert not linux.unit_dir.exists()
    assert linux.calls() == []


def test_status_says_what_is_installed(linux: World, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "status")
    assert code == 1 and "not installed" in out
    assert run(capsys, "install")[0] == 0
    code, out, _ = run(capsys, "status")
    assert code == 0
    assert out.startswith("syncd.service: ") and "written by syncd" in out


# --------------------------------------------------------------------------------------------
# launchd
# --------------------------------------------------------------------------------------------


def test_mac_install_writes_a_launch_agent_and_bootstraps_it(
    mac: World, capsys: pytest.CaptureFixture[str]
) -> None:
    """issue 12, item 2: run at load, kept alive with a throttle, logs in ~/Library/Logs/syncd,
    loaded with `launchctl bootstrap gui/<uid>`."""
    code, _, err = run(capsys, "install")
    assert code == 0, err
    path = mac.agents / "io.syncd.run.plist"
    agent = plistlib.loads(path.read_bytes())
    logs = mac.home / "Library" / "Logs" / "syncd"
    assert agent == {
        "Label": "io.syncd.run",
        "ProgramArguments": [sys.executable, "-m", "syncd", "run"],
        "RunAtLoad": True,
        "ProcessType": "Background",
        "StandardOutPath": str(logs / "io.syncd.run.log"),
        "StandardErrorPath": str(logs / "io.syncd.run.log"),
        "KeepAlive": {"SuccessfulExit": False},
        "ThrottleInterval": 30,
    }
    assert logs.is_dir()
    uid = os.getuid()
    assert mac.calls() == [
        f"launchctl bootout gui/{uid}/io.syncd.run",
        f"launchctl bootstrap gui/{uid} {path}",
    ]
    code, out, _ = run(capsys, "install")
    assert "installed already, unchanged" in out
    code, out, _ = run(capsys, "uninstall")
    assert code == 0
    assert not path.exists()
    assert mac.calls()[-1] == f"launchctl bootout gui/{uid}/io.syncd.run"


def test_mac_one_agent_per_config(mac: World, capsys: pytest.CaptureFixture[str]) -> None:
    """issue 21, item 1: a second config gets its own agent, named after it; status lists both;
    uninstall --config removes that one only; --dry-run writes and runs nothing."""
    other = mac.home / "notes" / "obsidian.yaml"
    other.write_text((mac.home / ".config" / "syncd" / "config.yaml").read_text())
    (other.parent / "readwise-token").write_text(TOKEN)
    code, out, _ = run(capsys, "install", "--dry-run", "--config", str(other))
    path = mac.agents / "io.syncd.run.obsidian.plist"
    assert code == 0 and f"would write {path} (new):" in out
    assert f"would run: launchctl bootstrap gui/{os.getuid()} {path}" in out
    assert not mac.agents.exists() and mac.calls() == []
    assert run(capsys, "install")[0] == 0
    assert run(capsys, "install", "--config", str(other))[0] == 0
    agent = plistlib.loads(path.read_bytes())
    assert agent["Label"] == "io.syncd.run.obsidian"
    assert agent["ProgramArguments"][-2:] == ["--config", str(other)]
    code, out, _ = run(capsys, "status")
    assert [line.split(":")[0] for line in out.splitlines()] == [
        "io.syncd.run",
        "io.syncd.run.obsidian",
    ]
    code, out, _ = run(capsys, "uninstall", "--config", str(other))
    assert code == 0 and not path.exists()
    assert (mac.agents / "io.syncd.run.plist").exists()
    assert mac.calls()[-1] == f"launchctl bootout gui/{os.getuid()}/io.syncd.run.obsidian"


def test_mac_timer_and_edited_agent(mac: World, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "install", "--timer")[0] == 0
    path = mac.agents / "io.syncd.sync.plist"
    agent = plistlib.loads(path.read_bytes())
    assert agent["StartInterval"] == 3600 and agent["ProgramArguments"][-1] == "sync"
    assert "KeepAlive" not in agent
    edited = path.read_bytes().replace(b"3600", b"1800")
    path.write_bytes(edited)
    code, out, _ = run(capsys, "uninstall")
    assert code == 0 and "kept" in out
    assert path.read_bytes() == edited


def test_mac_without_launchd_a_clear_line(mac: World, capsys: pytest.CaptureFixture[str]) -> None:
    (mac.bin / "launchctl").unlink()
    code, _, err = run(capsys, "install")
    assert code == 2
    assert "launchctl not found, so this system has no launchd" in err
    assert not mac.agents.exists()


def test_mac_bootstrap_refused_leaves_nothing(
    mac: World, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_FAIL", "Bootstrap failed: 5: Input/output error")
    code, _, err = run(capsys, "install")
    assert code == 1 and "Bootstrap failed" in err
    assert list(mac.agents.iterdir()) == []


def test_the_packaged_units_are_the_shipped_ones() -> None:
    """`pip install` carries syncd/units/; they must not drift from systemd/."""
    for name in ("syncd.service", "syncd-sync.service", "syncd-sync.timer"):
        assert (ROOT / "syncd" / "units" / name).read_text() == (
            ROOT / "systemd" / name
        ).read_text()


def test_a_syncd_service_an_older_syncd_gave_another_config_is_undone_by_config(
    linux: World, capsys: pytest.CaptureFixture[str]
) -> None:
    """issue 21, item 1: before, `install --config obsidian.yaml` rewrote syncd.service to run
    that config. Now status says so, install for either config refuses to add a second
    service or take that one over, and `uninstall --config obsidian.yaml` removes it; then each
    config installs its own."""
    import hashlib
    import json

    obsidian = linux.home / ".config" / "syncd" / "obsidian.yaml"
    obsidian.write_text((linux.home / ".config" / "syncd" / "config.yaml").read_text())
    obsidian.chmod(0o600)
    assert run(capsys, "install")[0] == 0
    unit = linux.unit_dir / "syncd.service"
    old = unit.read_text().replace(" -m syncd run\n", f" -m syncd run --config {obsidian}\n")
    unit.write_text(old)  # what the older syncd wrote, and recorded as its own
    record = linux.home / ".local" / "state" / "syncd" / "services.json"
    record.write_text(json.dumps({str(unit): hashlib.sha256(old.encode()).hexdigest()}))
    code, out, _ = run(capsys, "status")
    assert f"config {obsidian};" in out
    code, _, err = run(capsys, "install", "--config", str(obsidian))
    assert code == 2 and f"{unit} is installed and already runs {obsidian}" in err
    code, _, err = run(capsys, "install")
    assert code == 2 and f"{unit} runs the config {obsidian}" in err
    code, out, _ = run(capsys, "uninstall", "--config", str(obsidian))
    assert code == 0 and f"removed {unit}" in out
    assert run(capsys, "install", "--config", str(obsidian))[0] == 0
    assert run(capsys, "install")[0] == 0
    assert sorted(p.name for p in linux.unit_dir.iterdir()) == [
        "syncd.service",
        "syncd@obsidian.service",
    ]
