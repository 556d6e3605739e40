"""The systemd units in `systemd/` (README "Running under systemd"): `systemd-analyze verify`
accepts each one without a word, and each carries the directives the daemon and the README rely on.

`systemd-analyze --user verify` loads a unit the way the user's service manager would, and
reports unknown keys, bad values and missing executables on stderr. Two things make it usable in
a test:

- `%h/.local/bin/syncd` must exist, or verify fails ("Command ... is not executable"). Instead of
  rewriting the units, the test points HOME at a temporary home whose `~/.local/bin/syncd` is a
  link to an existing executable (this Python), so the files are verified byte for byte as
  shipped. The temporary HOME (and XDG_CONFIG_HOME) also keeps the tester's own user units out.
- `--user` needs XDG_RUNTIME_DIR (without it: "Failed to initialize manager"); a private one is
  made in tmp_path.

stderr is compared with "" unfiltered: on the machines this was written on (systemd 252, not
booted with systemd) verify prints nothing for a good unit, so any line is about the units.
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

UNIT_DIR = Path(__file__).resolve().parents[2] / "systemd"
DAEMONS = ("syncd.service", "syncd@.service")
SERVICES = (*DAEMONS, "syncd-sync.service")
TIMER = "syncd-sync.timer"
UNITS = (*SERVICES, TIMER)

SYSTEMD_ANALYZE = shutil.which("systemd-analyze")
needs_systemd_analyze = pytest.mark.skipif(
    SYSTEMD_ANALYZE is None,
    reason="systemd-analyze not found (install systemd to verify the unit files)",
)

#: Hardening every service carries: each works in a user service without user namespaces.
HARDENING = {
    "UMask": "0077",
    "NoNewPrivileges": "yes",
    "LockPersonality": "yes",
    "RestrictRealtime": "yes",
    "RestrictSUIDSGID": "yes",
    "RestrictNamespaces": "yes",
    "SystemCallArchitectures": "native",
    "MemoryDenyWriteExecute": "yes",
    "RestrictAddressFamilies": "AF_UNIX AF_INET AF_INET6",
    "SystemCallFilter": "@system-service",
    "SystemCallErrorNumber": "EPERM",
    "LimitCORE": "0",
}

#: Settings left out on purpose: in a user service they need unprivileged user namespaces (the
#: service would not start where those are disabled), or, for StateDirectory=, mean a different
#: folder on older systemd (below $XDG_CONFIG_HOME).
LEFT_OUT = (
    "PrivateTmp",
    "ProtectSystem",
    "ProtectHome",
    "ReadWritePaths",
    "PrivateDevices",
    "PrivateUsers",
    "ProtectKernelTunables",
    "ProtectKernelModules",
    "ProtectKernelLogs",
    "ProtectControlGroups",
    "ProtectClock",
    "ProtectHostname",
    "StateDirectory",
    "CapabilityBoundingSet",
)


def directives(name: str) -> dict[str, dict[str, list[str]]]:
    """Given a unit file's name, return {section: {key: [values, in order]}} for its active
    (uncommented) lines."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] | None = None
    for line in (UNIT_DIR / name).read_text().splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), {})
            continue
        assert current is not None, f"{name}: {line!r} before any section"
        key, _, value = line.partition("=")
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def one(name: str, section: str, key: str) -> str:
    values = directives(name).get(section, {}).get(key)
    assert values, f"{name}: no {key}= in [{section}]"
    assert len(values) == 1, f"{name}: {key}= set {len(values)} times"
    return values[0]


# --------------------------------------------------------------------------------------------
# systemd-analyze verify
# --------------------------------------------------------------------------------------------


@pytest.fixture
def verify_env(tmp_path: Path) -> dict[str, str]:
    """An environment in which `systemd-analyze --user verify` can check the units as shipped."""
    home = tmp_path / "home"
    bin_dir = home / ".local" / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "syncd").symlink_to(sys.executable)  # what %h/.local/bin/syncd must find
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700)
    env = {key: value for key, value in os.environ.items() if not key.startswith("XDG_")}
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_RUNTIME_DIR=str(runtime),
        LC_ALL="C.UTF-8",
        SYSTEMD_COLORS="0",
    )
    return env


def verify(unit: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    assert SYSTEMD_ANALYZE is not None
    return subprocess.run(
        [SYSTEMD_ANALYZE, "--user", "verify", str(unit)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@needs_systemd_analyze
@pytest.mark.parametrize("name", UNITS)
def test_systemd_analyze_verify_accepts_the_unit(name: str, verify_env: dict[str, str]) -> None:
    result = verify(UNIT_DIR / name, verify_env)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""


@needs_systemd_analyze
def test_verify_does_report_a_bad_line(tmp_path: Path, verify_env: dict[str, str]) -> None:
    """The check above is not vacuous: here, verify does speak up about a unit's mistakes."""
    broken = tmp_path / "units" / "syncd.service"
    broken.parent.mkdir()
    text = (UNIT_DIR / "syncd.service").read_text()
    broken.write_text(text.replace("Type=notify\n", "Type=notify\nWatchdogSecs=5min\n"))
    result = verify(broken, verify_env)
    assert "Unknown key 'WatchdogSecs'" in result.stderr


@needs_systemd_analyze
def test_verify_needs_the_executable(tmp_path: Path, verify_env: dict[str, str]) -> None:
    """Why verify_env provides ~/.local/bin/syncd: without it, verify fails."""
    (Path(verify_env["HOME"]) / ".local" / "bin" / "syncd").unlink()
    result = verify(UNIT_DIR / "syncd.service", verify_env)
    assert result.returncode != 0
    assert "is not executable" in result.stderr


# --------------------------------------------------------------------------------------------
# The directives syncd relies on
# --------------------------------------------------------------------------------------------


def test_the_units_are_all_there() -> None:
    assert sorted(path.name for path in UNIT_DIR.glob("*.service")) == sorted(
        [*SERVICES, "syncd-system@.service"]
    )  # the system unit: tests/unit/test_system_unit.py
    assert sorted(path.name for path in UNIT_DIR.glob("*.timer")) == [TIMER]


@pytest.mark.parametrize("name", DAEMONS)
def test_the_daemon_units(name: str) -> None:
    assert one(name, "Service", "Type") == "notify"
    assert one(name, "Service", "NotifyAccess") == "main"
    assert one(name, "Service", "Restart") == "on-failure"
    assert one(name, "Service", "WatchdogSec") == "5min"
    assert one(name, "Service", "TimeoutStopSec") == "15"  # the daemon promises 10 s
    assert one(name, "Service", "RestartSec")
    assert one(name, "Service", "RestartPreventExitStatus") == "2 3"
    assert one(name, "Service", "ExecReload") == "/bin/kill -HUP $MAINPID"
    assert one(name, "Install", "WantedBy") == "default.target"


def test_the_daemon_runs_the_default_config() -> None:
    assert one("syncd.service", "Service", "ExecStart") == "%h/.local/bin/syncd run"


def test_the_instance_daemon_runs_its_own_config() -> None:
    assert (
        one("syncd@.service", "Service", "ExecStart")
        == "%h/.local/bin/syncd run --config %E/syncd/%i.yaml"
    )


@pytest.mark.parametrize("name", SERVICES)
def test_every_service_gets_the_token(name: str) -> None:
    service = directives(name)["Service"]
    credentials = service.get("LoadCredential", [])
    assert credentials or service.get("EnvironmentFile"), f"{name}: no way to pass the token"
    assert credentials == ["readwise-token:%E/syncd/readwise-token"]
    # The alternative stays in the file, commented out, for the README to point to.
    assert re.search(r"^#EnvironmentFile=-%E/syncd/", (UNIT_DIR / name).read_text(), re.M)


@pytest.mark.parametrize("name", SERVICES)
def test_every_service_is_hardened_alike(name: str) -> None:
    for key, value in HARDENING.items():
        assert one(name, "Service", key) == value


@pytest.mark.parametrize("name", SERVICES)
def test_no_setting_that_needs_user_namespaces(name: str) -> None:
    service = directives(name)["Service"]
    assert [key for key in LEFT_OUT if key in service] == []


def test_the_oneshot_service() -> None:
    assert one("syncd-sync.service", "Service", "Type") == "oneshot"
    assert one("syncd-sync.service", "Service", "ExecStart") == "%h/.local/bin/syncd sync"
    assert "WatchdogSec" not in directives("syncd-sync.service")["Service"]
    assert "Install" not in directives("syncd-sync.service")  # started by the timer only


def test_the_timer() -> None:
    assert one(TIMER, "Timer", "OnCalendar") == "hourly"
    assert one(TIMER, "Timer", "Persistent") == "true"
    assert one(TIMER, "Timer", "RandomizedDelaySec") == "5min"
    assert one(TIMER, "Install", "WantedBy") == "timers.target"


@pytest.mark.parametrize("name", UNITS)
def test_every_directive_has_a_comment(name: str) -> None:
    lines = (UNIT_DIR / name).read_text().splitlines()
    bare = [
        line
        for before, line in itertools.pairwise(lines)
        if re.match(r"^[A-Za-z]+=", line) and not before.startswith("#")
    ]
    assert bare == []
