"""`syncd service install [--timer] | uninstall | status`: run syncd in the background.

On Linux a systemd *user* unit (`syncd.service`, the daemon; or `syncd-sync.service` plus
`syncd-sync.timer`, an hourly one-shot sync) is written to `$XDG_CONFIG_HOME/systemd/user/` and
enabled with `systemctl --user`; on macOS a launchd agent is written to `~/Library/LaunchAgents/`
and loaded with `launchctl bootstrap gui/<uid>`.

Rules it keeps:
- The unit runs the syncd that runs this command: the `syncd` script it was started as, else
  `<this python> -m syncd` (a virtualenv, pipx, ~/.local/bin all work), with `--config` when the
  config is not the default one. The token reaches the unit from the token file beside the config
  (`LoadCredential=`); the config names the same file.
- What install writes is recorded (path and SHA-256) in `$XDG_STATE_HOME/syncd/services.json`.
  A file already there that syncd did not write, or that was changed since, is kept as it is and
  said so; `uninstall` removes only files whose bytes are still the ones install wrote.
- When the service manager refuses (no user bus, a bad unit), the files this run wrote are taken
  back: nothing is left half-installed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import plistlib
import secrets
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TextIO

from syncd.config.build import xdg_dir
from syncd.config.load import find_config_path
from syncd.errors import SyncdError, UsageError

DAEMON_UNITS = ("syncd.service",)
TIMER_UNITS = ("syncd-sync.service", "syncd-sync.timer")
DAEMON_LABEL, TIMER_LABEL = "io.syncd.run", "io.syncd.sync"
THROTTLE_SECONDS = 30
TIMER_SECONDS = 3600


class ServiceError(SyncdError):
    """The service manager is missing or refused a step."""

    exit_code = 1


@dataclass(frozen=True)
class Context:
    """Where things go, and how to run the service manager."""

    env: Mapping[str, str]
    platform: str
    config_path: Path
    default_config: bool
    command: tuple[str, ...]  # how to start this syncd
    out: TextIO

    @property
    def home(self) -> Path:
        return Path(self.env.get("HOME") or str(Path.home()))

    @property
    def token_file(self) -> Path:
        return self.config_path.parent / "readwise-token"

    def tool(self, name: str) -> str:
        found = shutil.which(name, path=self.env.get("PATH", os.defpath))
        if found is None:
            what = "systemd" if name == "systemctl" else "launchd"
            raise UsageError(f"service: {name} not found, so this system has no {what} to run "
                             "syncd; start `syncd run` another way (see the README)")
        return found

    def call(self, name: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run([self.tool(name), *args], env=dict(self.env), text=True,
                                capture_output=True, timeout=120, check=False)
        if check and result.returncode != 0:
            reason = (result.stderr or result.stdout).strip().splitlines()
            raise ServiceError(f"service: `{name} {' '.join(args)}` failed (exit "
                               f"{result.returncode}): {reason[-1] if reason else 'no message'}")
        return result


def current_platform() -> str:
    return sys.platform


def syncd_command(argv0: str = sys.argv[0]) -> tuple[str, ...]:
    """Return how to start the syncd running now: its console script when started as one, else
    this interpreter with `-m syncd` (the interpreter of a virtualenv keeps its packages)."""
    script = Path(argv0)
    if script.name == "syncd" and script.is_file() and os.access(script, os.X_OK):
        return (os.path.abspath(script),)
    return (sys.executable, "-m", "syncd")


def make_context(config_arg: str | None, env: Mapping[str, str], platform: str,
                 out: TextIO) -> Context:
    config_path = Path(os.path.abspath(find_config_path(config_arg, env)))
    default = Path(os.path.abspath(find_config_path(None, {
        key: value for key, value in env.items() if key != "SYNCD_CONFIG"})))
    return Context(env=env, platform=platform, config_path=config_path,
                   default_config=config_path == default, command=syncd_command(), out=out)


# --------------------------------------------------------------------------------------------
# What is written (pure)
# --------------------------------------------------------------------------------------------

def _systemd_quote(word: str) -> str:
    """Quote one word of an ExecStart= line: `%` and `$` escaped, quotes when needed."""
    word = word.replace("%", "%%").replace("$", "$$")
    if word and not any(c in word for c in ' \t"\'\\;'):
        return word
    return '"' + word.replace("\\", "\\\\").replace('"', '\\"') + '"'


def unit_text(shipped: str, command: Sequence[str], verb: str, config_path: Path | None,
              token_file: Path) -> str:
    """Given a shipped unit's text, return it as installed: ExecStart= runs `command verb`
    (with --config when given), LoadCredential= loads `token_file`."""
    words = [*command, verb, *(["--config", str(config_path)] if config_path else [])]
    header = ("# Written by `syncd service install`; `syncd service uninstall` removes it unless "
              "you\n# changed it (then it is yours, and kept).\n")
    lines = []
    for line in shipped.splitlines():
        if line.startswith("ExecStart="):
            line = "ExecStart=" + " ".join(_systemd_quote(word) for word in words)
        elif line.startswith("LoadCredential="):
            line = f"LoadCredential=readwise-token:{_systemd_quote(str(token_file))}"
        lines.append(line)
    return header + "\n".join(lines) + "\n"


def plist_bytes(label: str, command: Sequence[str], verb: str, config_path: Path | None,
                logs: Path, *, timer: bool) -> bytes:
    """Return the launchd agent's plist: run at load; the daemon kept alive (restarted after a
    failure, at most every THROTTLE_SECONDS), the timer every TIMER_SECONDS; logs in `logs`."""
    agent: dict[str, object] = {
        "Label": label,
        "ProgramArguments": [*command, verb,
                             *(["--config", str(config_path)] if config_path else [])],
        "RunAtLoad": True,
        "ProcessType": "Background",
        "StandardOutPath": str(logs / f"{label}.log"),
        "StandardErrorPath": str(logs / f"{label}.log"),
    }
    if timer:
        agent["StartInterval"] = TIMER_SECONDS
    else:
        agent["KeepAlive"] = {"SuccessfulExit": False}
        agent["ThrottleInterval"] = THROTTLE_SECONDS
    return plistlib.dumps(agent, sort_keys=False)


# --------------------------------------------------------------------------------------------
# The record of what install wrote
# --------------------------------------------------------------------------------------------

def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Record:
    """{path: sha256} of the files install wrote, in the state folder."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.path = xdg_dir(env, "XDG_STATE_HOME", ".local/state") / "syncd" / "services.json"
        try:
            self.files: dict[str, str] = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            self.files = {}

    def ours(self, path: Path) -> bool:
        """Whether `path` holds exactly the bytes install wrote there."""
        try:
            return self.files.get(str(path)) == _digest(path.read_bytes())
        except OSError:
            return False

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        _write_atomic(self.path, json.dumps(self.files, indent=1, sort_keys=True).encode())


def _write_atomic(path: Path, data: bytes) -> None:
    temp = path.parent / f".{path.name}.{secrets.token_hex(4)}.tmp"
    try:
        with open(temp, "xb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()


@dataclass
class Placed:
    """Files placed by one install: to take back if a later step fails."""

    created: list[Path]
    replaced: dict[Path, bytes]

    def undo(self) -> None:
        for path in self.created:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        for path, data in self.replaced.items():
            _write_atomic(path, data)


def place(files: Mapping[Path, bytes], record: Record, say: Callable[[str], None]) -> Placed:
    """Write each file unless it is there already as it should be, or is not ours to replace."""
    placed = Placed([], {})
    for path, data in files.items():
        if path.exists():
            old = path.read_bytes()
            if old == data:
                say(f"{path} is installed already, unchanged")
                record.files[str(path)] = _digest(data)
                continue
            if not record.ours(path):
                say(f"{path} was changed since syncd wrote it, or was not written by syncd: kept "
                    "as it is (remove it and run `syncd service install` again for syncd's)")
                continue
            placed.replaced[path] = old
        else:
            placed.created.append(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        _write_atomic(path, data)
        record.files[str(path)] = _digest(data)
        say(f"wrote {path}")
    return placed


# --------------------------------------------------------------------------------------------
# systemd
# --------------------------------------------------------------------------------------------

def _unit_dir(context: Context) -> Path:
    return xdg_dir(context.env, "XDG_CONFIG_HOME", ".config") / "systemd" / "user"


def _shipped_unit(name: str) -> str:
    return resources.files("syncd").joinpath("units", name).read_text(encoding="utf-8")


def systemd_files(context: Context, *, timer: bool) -> dict[Path, bytes]:
    config = None if context.default_config else context.config_path
    folder = _unit_dir(context)
    if timer:
        return {
            folder / "syncd-sync.service": unit_text(
                _shipped_unit("syncd-sync.service"), context.command, "sync", config,
                context.token_file).encode(),
            folder / "syncd-sync.timer": _shipped_unit("syncd-sync.timer").encode(),
        }
    return {folder / "syncd.service": unit_text(_shipped_unit("syncd.service"), context.command,
                                                "run", config, context.token_file).encode()}


def _systemd_install(context: Context, timer: bool, say: Callable[[str], None]) -> None:
    context.tool("systemctl")
    other = TIMER_UNITS if not timer else DAEMON_UNITS
    for name in other:
        if (_unit_dir(context) / name).exists():
            raise UsageError(f"service: {_unit_dir(context) / name} is installed; the daemon and "
                             "the timer would contend for the vault: run `syncd service "
                             "uninstall` first")
    if not context.token_file.exists():
        raise UsageError(f"service: {context.token_file} does not exist; the unit loads the "
                         "token from it (run `syncd init`, or write the token there, chmod 600)")
    record = Record(context.env)
    placed = place(systemd_files(context, timer=timer), record, say)
    enable = "syncd-sync.timer" if timer else "syncd.service"
    try:
        context.call("systemctl", "--user", "daemon-reload")
        context.call("systemctl", "--user", "enable", "--now", enable)
    except SyncdError:
        placed.undo()
        for path in [*placed.created]:
            record.files.pop(str(path), None)
        record.save()
        with contextlib.suppress(SyncdError):
            context.call("systemctl", "--user", "daemon-reload", check=False)
        raise
    record.save()
    say(f"enabled and started {enable}; logs: journalctl --user -u "
        f"{'syncd-sync' if timer else 'syncd'}")


def _systemd_uninstall(context: Context, say: Callable[[str], None]) -> int:
    context.tool("systemctl")
    record = Record(context.env)
    found = False
    for name in (*DAEMON_UNITS, *TIMER_UNITS[::-1]):
        path = _unit_dir(context) / name
        if not path.exists():
            continue
        found = True
        if not record.ours(path):
            say(f"{path} was not written by syncd, or was changed since: kept")
            continue
        context.call("systemctl", "--user", "disable", "--now", name, check=False)
        path.unlink()
        record.files.pop(str(path), None)
        say(f"stopped, disabled and removed {path}")
    if not found:
        say("nothing to uninstall: no syncd unit in " + str(_unit_dir(context)))
        return 0
    record.save()
    context.call("systemctl", "--user", "daemon-reload", check=False)
    return 0


def _systemd_status(context: Context, say: Callable[[str], None]) -> int:
    context.tool("systemctl")
    record = Record(context.env)
    found = False
    for name in (*DAEMON_UNITS, *TIMER_UNITS):
        path = _unit_dir(context) / name
        if not path.exists():
            continue
        found = True
        whose = "written by syncd" if record.ours(path) else "changed by you (or not syncd's)"
        enabled = context.call("systemctl", "--user", "is-enabled", name, check=False)
        active = context.call("systemctl", "--user", "is-active", name, check=False)
        say(f"{name}: {path} ({whose}); {enabled.stdout.strip() or 'unknown'}, "
            f"{active.stdout.strip() or 'unknown'}")
    if not found:
        say("not installed (run `syncd service install`)")
        return 1
    return 0


# --------------------------------------------------------------------------------------------
# launchd
# --------------------------------------------------------------------------------------------

def _agent_path(context: Context, label: str) -> Path:
    return context.home / "Library" / "LaunchAgents" / f"{label}.plist"


def launchd_files(context: Context, *, timer: bool) -> dict[Path, bytes]:
    label = TIMER_LABEL if timer else DAEMON_LABEL
    config = None if context.default_config else context.config_path
    logs = context.home / "Library" / "Logs" / "syncd"
    return {_agent_path(context, label): plist_bytes(label, context.command,
                                                     "sync" if timer else "run", config, logs,
                                                     timer=timer)}


def _domain() -> str:
    return f"gui/{os.getuid()}"


def _launchd_install(context: Context, timer: bool, say: Callable[[str], None]) -> None:
    context.tool("launchctl")
    label, other = (TIMER_LABEL, DAEMON_LABEL) if timer else (DAEMON_LABEL, TIMER_LABEL)
    if _agent_path(context, other).exists():
        raise UsageError(f"service: {_agent_path(context, other)} is installed; the daemon and "
                         "the timer would contend for the vault: run `syncd service uninstall` "
                         "first")
    (context.home / "Library" / "Logs" / "syncd").mkdir(parents=True, exist_ok=True)
    record = Record(context.env)
    placed = place(launchd_files(context, timer=timer), record, say)
    path = _agent_path(context, label)
    try:
        context.call("launchctl", "bootout", f"{_domain()}/{label}", check=False)  # a reinstall
        context.call("launchctl", "bootstrap", _domain(), str(path))
    except SyncdError:
        placed.undo()
        for created in placed.created:
            record.files.pop(str(created), None)
        record.save()
        raise
    record.save()
    say(f"loaded {label}; logs: {context.home / 'Library' / 'Logs' / 'syncd' / label}.log")


def _agents_there(context: Context) -> list[tuple[str, Path]]:
    """The label and file of each syncd agent (the daemon's, the timer's) found installed."""
    return [(label, path) for label in (DAEMON_LABEL, TIMER_LABEL)
            if (path := _agent_path(context, label)).exists()]


def _launchd_uninstall(context: Context, say: Callable[[str], None]) -> int:
    context.tool("launchctl")
    record = Record(context.env)
    agents = _agents_there(context)
    for label, path in agents:
        if not record.ours(path):
            say(f"{path} was not written by syncd, or was changed since: kept")
            continue
        context.call("launchctl", "bootout", f"{_domain()}/{label}", check=False)
        path.unlink()
        record.files.pop(str(path), None)
        say(f"unloaded and removed {path}")
    if not agents:
        say("nothing to uninstall: no syncd agent in " + str(_agent_path(context, "x").parent))
        return 0
    record.save()
    return 0


def _launchd_status(context: Context, say: Callable[[str], None]) -> int:
    context.tool("launchctl")
    record = Record(context.env)
    agents = _agents_there(context)
    for label, path in agents:
        whose = "written by syncd" if record.ours(path) else "changed by you (or not syncd's)"
        loaded = context.call("launchctl", "print", f"{_domain()}/{label}", check=False)
        say(f"{label}: {path} ({whose}); {'loaded' if loaded.returncode == 0 else 'not loaded'}")
    if not agents:
        say("not installed (run `syncd service install`)")
        return 1
    return 0


# --------------------------------------------------------------------------------------------
# The command
# --------------------------------------------------------------------------------------------

def run_service(action: str, *, timer: bool, context: Context) -> int:
    """`syncd service ACTION`: install, uninstall or status, for this platform."""

    def say(line: str) -> None:
        print(line, file=context.out, flush=True)

    if context.platform.startswith("linux"):
        if action == "install":
            _systemd_install(context, timer, say)
            return 0
        return _systemd_uninstall(context, say) if action == "uninstall" else \
            _systemd_status(context, say)
    if context.platform == "darwin":
        if action == "install":
            _launchd_install(context, timer, say)
            return 0
        return _launchd_uninstall(context, say) if action == "uninstall" else \
            _launchd_status(context, say)
    raise UsageError(f"service: no service manager syncd knows on {context.platform} (systemd "
                     "on Linux, launchd on macOS); start `syncd run` another way")
