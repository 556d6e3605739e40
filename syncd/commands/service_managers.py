"""The two service managers `syncd service` knows: systemd user units (Linux) and launchd agents
(macOS). The unit and plist texts are pure; installing, removing and asking about them goes
through `systemctl --user` and `launchctl`.
"""

from __future__ import annotations

import contextlib
import os
import plistlib
import shlex
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from importlib import resources
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
from syncd.config.build import xdg_dir
from syncd.errors import SyncdError, UsageError


def _systemd_quote(word: str) -> str:
    """Quote one word of an ExecStart= line: `%` and `$` escaped, quotes when needed."""
    word = word.replace("%", "%%").replace("$", "$$")
    if word and not any(c in word for c in " \t\"'\\;"):
        return word
    return '"' + word.replace("\\", "\\\\").replace('"', '\\"') + '"'


def unit_text(
    shipped: str,
    command: Sequence[str],
    verb: str,
    config_path: Path | None,
    token_file: Path,
    *,
    description: str | None = None,
) -> str:
    """Given a shipped unit's text, return it as installed: ExecStart= runs `command verb`
    (with --config when given), LoadCredential= loads `token_file`, Description= is
    `description` when given."""
    words = [*command, verb, *(["--config", str(config_path)] if config_path else [])]
    header = (
        "# Written by `syncd service install`; `syncd service uninstall` removes it unless "
        "you\n# changed it (then it is yours, and kept).\n"
    )
    lines = []
    for line in shipped.splitlines():
        if line.startswith("Description=") and description:
            line = f"Description={description}"
        elif line.startswith("ExecStart="):
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


@dataclass(frozen=True)
class Installed:
    """A syncd unit or agent found installed: its name, file, the config it runs (None: not
    told) and whether it is the daemon (else the timer's)."""

    name: str
    path: Path
    config: Path | None
    daemon: bool


def _names(context: Context, *, timer: bool) -> tuple[str, ...]:
    """The units this config's service is made of: `syncd.service` for the default config,
    `syncd@NAME.service` for another; the timer's likewise."""
    at = f"@{context.instance}" if context.instance else ""
    if timer:
        return (f"syncd-sync{at}.service", f"syncd-sync{at}.timer")
    return (f"syncd{at}.service",)


def _is_syncd_unit(name: str) -> bool:
    base, dot, kind = name.rpartition(".")
    if not dot or kind not in ("service", "timer") or base.endswith("@"):
        return False  # a template (syncd@.service) is no service of its own
    stem = base.split("@", 1)[0]
    return stem == "syncd-sync" or (stem == "syncd" and kind == "service")


def _config_of_words(words: Sequence[str], context: Context) -> Path | None:
    if "--config" in words:
        index = words.index("--config")
        if index + 1 < len(words):
            return Path(os.path.abspath(os.path.expanduser(words[index + 1])))
        return None
    return context.default_config_path()


def _unit_config(path: Path, context: Context) -> Path | None:
    """The config a unit file's ExecStart= runs (the default config when it gives none)."""
    name = path.name
    if name.endswith(".timer"):  # a timer runs its service
        path = path.with_name(name.removesuffix(".timer") + ".service")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    line = next((x for x in text.splitlines() if x.startswith("ExecStart=")), None)
    if line is None:
        return None
    instance = path.name.partition("@")[2].rpartition(".")[0]
    value = line.removeprefix("ExecStart=")
    specifiers = {
        "%E": str(xdg_dir(context.env, "XDG_CONFIG_HOME", ".config")),
        "%h": str(context.home),
        "%i": instance,
        "%I": instance,
        "%%": "%",
        "$$": "$",
    }
    for key, replacement in specifiers.items():
        value = value.replace(key, replacement)
    try:
        return _config_of_words(shlex.split(value), context)
    except ValueError:
        return None


def systemd_installed(context: Context) -> list[Installed]:
    """Every syncd unit in the user's unit folder, whichever config it runs."""
    folder = _unit_dir(context)
    try:
        names = sorted(p.name for p in folder.iterdir() if _is_syncd_unit(p.name))
    except OSError:
        return []
    return [
        Installed(
            name,
            folder / name,
            _unit_config(folder / name, context),
            name.startswith("syncd@") or name == "syncd.service",
        )
        for name in names
    ]


def _same(a: Path | None, b: Path) -> bool:
    return a is not None and os.path.realpath(a) == os.path.realpath(b)


def systemd_files(context: Context, *, timer: bool) -> dict[Path, bytes]:
    config = None if context.default_config else context.config_path
    folder = _unit_dir(context)
    who = f"syncd ({context.config_path.name})" if context.instance else "syncd"
    into = context.format_phrase
    if timer:
        service, timer_unit = _names(context, timer=True)
        timer_text = "\n".join(
            f"Description={who}: sync Readwise highlights into {into} every hour"
            if line.startswith("Description=")
            else line
            for line in _shipped_unit("syncd-sync.timer").splitlines()
        )
        return {
            folder / service: unit_text(
                _shipped_unit("syncd-sync.service"),
                context.command,
                "sync",
                config,
                context.token_file,
                description=f"{who}: one sync of Readwise highlights into {into}",
            ).encode(),
            folder / timer_unit: (timer_text + "\n").encode(),
        }
    (service,) = _names(context, timer=False)
    return {
        folder / service: unit_text(
            _shipped_unit("syncd.service"),
            context.command,
            "run",
            config,
            context.token_file,
            description=f"{who}: Readwise highlights into {into}",
        ).encode()
    }


def _uninstall_hint(context: Context) -> str:
    option = "" if context.default_config else f" --config {shlex.quote(str(context.config_path))}"
    return f"syncd service uninstall{option}"


def _check_others(
    context: Context,
    installed: Sequence[Installed],
    names: Sequence[str],
    *,
    timer: bool,
    what: str,
) -> frozenset[Path]:
    """Refuse (UsageError) to install over a unit or agent that runs another config unless
    --replace, or beside one that already runs this config under another name or as the other
    kind (daemon, timer). Return the files --replace allows to replace."""
    replace: set[Path] = set()
    for found in installed:
        mine = _same(found.config, context.config_path)
        if found.name in names:
            if mine:
                continue
            if not context.replace:
                other = found.config or "a config syncd cannot tell"
                raise UsageError(
                    f"service: {found.path} runs the config {other}; installing "
                    f"{context.config_path} there would stop that one's syncs. Give "
                    "--replace to do so, or give this config a file name of its own "
                    f"(the {what} is named after it)"
                )
            replace.add(found.path)
        elif mine:
            if found.daemon == (not timer):
                reason = f"already runs {context.config_path}"
            else:
                reason = (
                    f"runs {context.config_path} too; the daemon and the timer would "
                    "contend for the vault"
                )
            raise UsageError(
                f"service: {found.path} is installed and {reason}: run "
                f"`{_uninstall_hint(context)}` first"
            )
    return frozenset(replace)


def _show(
    context: Context, files: dict[Path, bytes], commands: Sequence[str], say: Callable[[str], None]
) -> None:
    """--dry-run: every file that would be written, whole, and every command that would run."""
    for path, data in files.items():
        there = "replacing the one there" if path.exists() else "new"
        say(f"would write {path} ({there}):")
        for line in data.decode("utf-8").splitlines():
            say(f"    {line}")
    for command in commands:
        say(f"would run: {command}")
    say("dry run: nothing written, nothing run")


def systemd_install(context: Context, timer: bool, say: Callable[[str], None]) -> None:
    context.tool("systemctl")
    names = _names(context, timer=timer)
    replace = _check_others(context, systemd_installed(context), names, timer=timer, what="unit")
    if not context.token_file.exists():
        raise UsageError(
            f"service: {context.token_file} does not exist; the unit loads the "
            "token from it (run `syncd init`, or write the token there, chmod 600)"
        )
    files = systemd_files(context, timer=timer)
    enable = names[-1]
    commands = [("--user", "daemon-reload"), ("--user", "enable", "--now", enable)]
    if context.dry_run:
        _show(context, files, [" ".join(("systemctl", *c)) for c in commands], say)
        return
    record = Record(context.env)
    placed = place(files, record, say, force=replace)
    try:
        for command in commands:
            context.call("systemctl", *command)
        if replace:  # the unit ran another config until now: start it with this one
            context.call("systemctl", "--user", "restart", enable)
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
        f"enabled and started {enable} for {context.config_path}; logs: journalctl --user -u "
        f"{enable.rpartition('.')[0] if not timer else names[0].rpartition('.')[0]}"
    )


def systemd_uninstall(context: Context, say: Callable[[str], None]) -> int:
    context.tool("systemctl")
    record = Record(context.env)
    installed = systemd_installed(context)
    mine = [u for u in installed if _same(u.config, context.config_path)]
    # the timer before its service, so that it does not start the service again meanwhile
    mine.sort(key=lambda u: (u.daemon, not u.name.endswith(".timer")))
    removed = False
    for unit in mine:
        if not record.ours(unit.path):
            say(f"{unit.path} was not written by syncd, or was changed since: kept")
            continue
        context.call("systemctl", "--user", "disable", "--now", unit.name, check=False)
        unit.path.unlink()
        record.files.pop(str(unit.path), None)
        removed = True
        say(f"stopped, disabled and removed {unit.path}")
    if not mine:
        others = ", ".join(f"{u.name} ({u.config})" for u in installed if u.config) or "none"
        say(
            f"nothing to uninstall: no syncd unit in {_unit_dir(context)} runs "
            f"{context.config_path} (installed: {others})"
        )
        return 0
    if removed:
        record.save()
        context.call("systemctl", "--user", "daemon-reload", check=False)
    return 0


def systemd_status(context: Context, say: Callable[[str], None]) -> int:
    context.tool("systemctl")
    record = Record(context.env)
    installed = systemd_installed(context)
    for unit in installed:
        whose = "written by syncd" if record.ours(unit.path) else "changed by you (or not syncd's)"
        enabled = context.call("systemctl", "--user", "is-enabled", unit.name, check=False)
        active = context.call("systemctl", "--user", "is-active", unit.name, check=False)
        say(
            f"{unit.name}: {unit.path} ({whose}); config {unit.config or 'unknown'}; "
            f"{enabled.stdout.strip() or 'unknown'}, {active.stdout.strip() or 'unknown'}"
        )
    if not installed:
        say("not installed (run `syncd service install`)")
        return 1
    return 0


# --------------------------------------------------------------------------------------------
# launchd
# --------------------------------------------------------------------------------------------


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
            words = plistlib.loads(path.read_bytes()).get("ProgramArguments", [])
            config = _config_of_words([str(w) for w in words], context)
        except Exception:  # a plist syncd cannot read: its config is not known
            config = None
        yield Installed(label, path, config, daemon)


def _domain() -> str:
    return f"gui/{os.getuid()}"


def launchd_install(context: Context, timer: bool, say: Callable[[str], None]) -> None:
    context.tool("launchctl")
    label = _label(context, timer=timer)
    replace = _check_others(context, list(_agents(context)), [label], timer=timer, what="agent")
    files = launchd_files(context, timer=timer)
    path = _agent_path(context, label)
    commands = [("bootout", f"{_domain()}/{label}"), ("bootstrap", _domain(), str(path))]
    if context.dry_run:
        _show(context, files, [" ".join(("launchctl", *c)) for c in commands], say)
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
    mine = [a for a in installed if _same(a.config, context.config_path)]
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
