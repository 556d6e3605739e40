"""launchd agents (macOS) for `syncd service`: the plist text is pure; installing, removing and
asking about agents goes through `launchctl`. The default config's agent is `io.syncd.run`
(`io.syncd.sync` for the timer), another config's `io.syncd.run.NAME`, named after its file.
"""

from __future__ import annotations

import os
import plistlib
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from syncd.commands.service_context import (
    DAEMON_LABEL,
    THROTTLE_SECONDS,
    TIMER_LABEL,
    TIMER_SECONDS,
    Context,
    Record,
    place,
)
from syncd.commands.service_managers import (
    Installed,
    check_others,
    config_of_words,
    same_config,
    show_dry_run,
)
from syncd.errors import SyncdError


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


def _agents_dir(context: Context) -> Path:
    return context.home / "Library" / "LaunchAgents"


def _agent_path(context: Context, label: str) -> Path:
    return _agents_dir(context) / f"{label}.plist"


def _label(context: Context, *, timer: bool) -> str:
    base = TIMER_LABEL if timer else DAEMON_LABEL
    return f"{base}.{context.instance}" if context.instance else base


def _logs(context: Context) -> Path:
    return context.home / "Library" / "Logs" / "syncd"


def launchd_files(context: Context, *, timer: bool) -> dict[Path, bytes]:
    label = _label(context, timer=timer)
    config = None if context.default_config else context.config_path
    return {
        _agent_path(context, label): plist_bytes(
            label, context.command, "sync" if timer else "run", config, _logs(context), timer=timer
        )
    }


def _agents(context: Context) -> Iterator[Installed]:
    try:
        paths = sorted(
            _agents_dir(context).glob("io.syncd.*.plist"), key=lambda p: p.name[: -len(".plist")]
        )
    except OSError:
        return
    for path in paths:
        label = path.name.removesuffix(".plist")
        daemon = label == DAEMON_LABEL or label.startswith(DAEMON_LABEL + ".")
        if not daemon and not (label == TIMER_LABEL or label.startswith(TIMER_LABEL + ".")):
            continue
        try:
            agent = plistlib.loads(path.read_bytes())
            words = agent.get("ProgramArguments", []) if isinstance(agent, dict) else []
            config = config_of_words([str(w) for w in words], context)
        except (OSError, ValueError, plistlib.InvalidFileException):  # not readable: unknown
            config = None
        yield Installed(label, path, config, daemon)


def _domain() -> str:
    return f"gui/{os.getuid()}"


def launchd_install(context: Context, timer: bool, say: Callable[[str], None]) -> None:
    context.tool("launchctl")
    label = _label(context, timer=timer)
    replace = check_others(context, list(_agents(context)), [label], timer=timer, what="agent")
    files = launchd_files(context, timer=timer)
    path = _agent_path(context, label)
    commands = [("bootout", f"{_domain()}/{label}"), ("bootstrap", _domain(), str(path))]
    if context.dry_run:
        show_dry_run(context, files, [" ".join(("launchctl", *c)) for c in commands], say)
        return
    _logs(context).mkdir(parents=True, exist_ok=True)
    record = Record(context.env)
    placed = place(files, record, say, force=replace)
    try:
        context.call("launchctl", *commands[0], check=False)  # a reinstall
        context.call("launchctl", *commands[1])
    except SyncdError:
        placed.undo()
        for created in placed.created:
            record.files.pop(str(created), None)
        record.save()
        raise
    record.save()
    say(f"loaded {label} for {context.config_path}; logs: {_logs(context) / label}.log")


def launchd_uninstall(context: Context, say: Callable[[str], None]) -> int:
    context.tool("launchctl")
    record = Record(context.env)
    installed = list(_agents(context))
    mine = [a for a in installed if same_config(a.config, context.config_path)]
    for agent in mine:
        if not record.ours(agent.path):
            say(f"{agent.path} was not written by syncd, or was changed since: kept")
            continue
        context.call("launchctl", "bootout", f"{_domain()}/{agent.name}", check=False)
        agent.path.unlink()
        record.files.pop(str(agent.path), None)
        say(f"unloaded and removed {agent.path}")
    if not mine:
        others = ", ".join(f"{a.name} ({a.config})" for a in installed if a.config) or "none"
        say(
            f"nothing to uninstall: no syncd agent in {_agents_dir(context)} runs "
            f"{context.config_path} (installed: {others})"
        )
        return 0
    record.save()
    return 0


def launchd_status(context: Context, say: Callable[[str], None]) -> int:
    context.tool("launchctl")
    record = Record(context.env)
    agents = list(_agents(context))
    for agent in agents:
        whose = "written by syncd" if record.ours(agent.path) else "changed by you (or not syncd's)"
        loaded = context.call("launchctl", "print", f"{_domain()}/{agent.name}", check=False)
        say(
            f"{agent.name}: {agent.path} ({whose}); config {agent.config or 'unknown'}; "
            f"{'loaded' if loaded.returncode == 0 else 'not loaded'}"
        )
    if not agents:
        say("not installed (run `syncd service install`)")
        return 1
    return 0
