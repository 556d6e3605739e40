"""The two service managers `syncd service` knows: systemd user units (Linux) and launchd agents
(macOS). The unit and plist texts are pure; installing, removing and asking about them goes
through `systemctl --user` and `launchctl`.
"""

from __future__ import annotations

import contextlib
import os
import plistlib
from collections.abc import Callable, Sequence
from importlib import resources
from pathlib import Path

from syncd.commands.service_context import (
    DAEMON_LABEL,
    DAEMON_UNITS,
    THROTTLE_SECONDS,
    TIMER_LABEL,
    TIMER_SECONDS,
    TIMER_UNITS,
    Context,
    Record,
    place,
)
from syncd.config.build import xdg_dir
from syncd.errors import SyncdError, UsageError


def _systemd_quote(word: str) -> str:
    """Quote one word of an ExecStart= line: `%` and `$` escaped, quotes when needed."""
    word = word.replace("%", "%%").replace("$", "$$")
    if word and not any(c in word for c in " \t\"'\\;"):
        return word
    return '"' + word.replace("\\", "\\\\").replace('"', '\\"') + '"'


def unit_text(
    shipped: str, command: Sequence[str], verb: str, config_path: Path | None, token_file: Path
) -> str:
    """Given a shipped unit's text, return it as installed: ExecStart= runs `command verb`
    (with --config when given), LoadCredential= loads `token_file`."""
    words = [*command, verb, *(["--config", str(config_path)] if config_path else [])]
    header = (
        "# Written by `syncd service install`; `syncd service uninstall` removes it unless "
        "you\n# changed it (then it is yours, and kept).\n"
    )
    lines = []
    for line in shipped.splitlines():
        if line.startswith("ExecStart="):
            line = "ExecStart=" + " ".join(_systemd_quote(word) for word in words)
        elif line.startswith("LoadCredential="):
            line = f"LoadCredential=readwise-token:{_systemd_quote(str(token_file))}"
        lines.append(line)
    return header + "\n".join(lines) + "\n"


def plist_bytes(
    label: str,
    command: Sequence[str],
    verb: str,
    config_path: Path | None,
    logs: Path,
    *,
    timer: bool,
) -> bytes:
    """Return the launchd agent's plist: run at load; the daemon kept alive (restarted after a
    failure, at most every THROTTLE_SECONDS), the timer every TIMER_SECONDS; logs in `logs`."""
    agent: dict[str, object] = {
        "Label": label,
        "ProgramArguments": [
            *command,
            verb,
            *(["--config", str(config_path)] if config_path else []),
        ],
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


def _unit_dir(context: Context) -> Path:
    return xdg_dir(context.env, "XDG_CONFIG_HOME", ".config") / "systemd" / "user"


def _shipped_unit(name: str) -> str:
    return (resources.files("syncd") / "units" / name).read_text(encoding="utf-8")


def systemd_files(context: Context, *, timer: bool) -> dict[Path, bytes]:
    config = None if context.default_config else context.config_path
    folder = _unit_dir(context)
    if timer:
        return {
            folder / "syncd-sync.service": unit_text(
                _shipped_unit("syncd-sync.service"),
                context.command,
                "sync",
                config,
                context.token_file,
            ).encode(),
            folder / "syncd-sync.timer": _shipped_unit("syncd-sync.timer").encode(),
        }
    return {
        folder / "syncd.service": unit_text(
            _shipped_unit("syncd.service"), context.command, "run", config, context.token_file
        ).encode()
    }


def systemd_install(context: Context, timer: bool, say: Callable[[str], None]) -> None:
    context.tool("systemctl")
    other = TIMER_UNITS if not timer else DAEMON_UNITS
    for name in other:
        if (_unit_dir(context) / name).exists():
            raise UsageError(
                f"service: {_unit_dir(context) / name} is installed; the daemon and "
                "the timer would contend for the vault: run `syncd service "
                "uninstall` first"
            )
    if not context.token_file.exists():
        raise UsageError(
            f"service: {context.token_file} does not exist; the unit loads the "
            "token from it (run `syncd init`, or write the token there, chmod 600)"
        )
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
    say(
        f"enabled and started {enable}; logs: journalctl --user -u "
        f"{'syncd-sync' if timer else 'syncd'}"
    )


def systemd_uninstall(context: Context, say: Callable[[str], None]) -> int:
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


def systemd_status(context: Context, say: Callable[[str], None]) -> int:
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
        say(
            f"{name}: {path} ({whose}); {enabled.stdout.strip() or 'unknown'}, "
            f"{active.stdout.strip() or 'unknown'}"
        )
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
    return {
        _agent_path(context, label): plist_bytes(
            label, context.command, "sync" if timer else "run", config, logs, timer=timer
        )
    }


def _domain() -> str:
    return f"gui/{os.getuid()}"


def launchd_install(context: Context, timer: bool, say: Callable[[str], None]) -> None:
    context.tool("launchctl")
    label, other = (TIMER_LABEL, DAEMON_LABEL) if timer else (DAEMON_LABEL, TIMER_LABEL)
    if _agent_path(context, other).exists():
        raise UsageError(
            f"service: {_agent_path(context, other)} is installed; the daemon and "
            "the timer would contend for the vault: run `syncd service uninstall` "
            "first"
        )
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
    return [
        (label, path)
        for label in (DAEMON_LABEL, TIMER_LABEL)
        if (path := _agent_path(context, label)).exists()
    ]


def launchd_uninstall(context: Context, say: Callable[[str], None]) -> int:
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


def launchd_status(context: Context, say: Callable[[str], None]) -> int:
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
