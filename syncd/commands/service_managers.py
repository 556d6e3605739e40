"""systemd user units (Linux) for `syncd service`, and what both service managers share: which
config an installed unit or agent runs (`Installed`), the refusals of install, the dry run.
The unit texts are pure; installing, removing and asking about them goes through
`systemctl --user`. launchd agents (macOS) are in `service_launchd`.
"""

from __future__ import annotations

import contextlib
import os
import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from syncd.commands.service_context import (
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
        + (
            f"# This unit runs the config {config_path}, not the default one.\n"
            if config_path
            else ""
        )
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


def config_of_words(words: Sequence[str], context: Context) -> Path | None:
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
        return config_of_words(shlex.split(value), context)
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


def same_config(a: Path | None, b: Path) -> bool:
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


def check_others(
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
        mine = same_config(found.config, context.config_path)
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


def show_dry_run(
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
    replace = check_others(context, systemd_installed(context), names, timer=timer, what="unit")
    if not context.token_file.exists():
        raise UsageError(
            f"service: {context.token_file} does not exist; the unit loads the "
            "token from it (run `syncd init`, or write the token there, chmod 600)"
        )
    files = systemd_files(context, timer=timer)
    enable = names[-1]
    commands = [("--user", "daemon-reload"), ("--user", "enable", "--now", enable)]
    if context.dry_run:
        show_dry_run(context, files, [" ".join(("systemctl", *c)) for c in commands], say)
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
        f"{names[0].rpartition('.')[0]}"
    )


def systemd_uninstall(context: Context, say: Callable[[str], None]) -> int:
    context.tool("systemctl")
    record = Record(context.env)
    installed = systemd_installed(context)
    mine = [u for u in installed if same_config(u.config, context.config_path)]
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
