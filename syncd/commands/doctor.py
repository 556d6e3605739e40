"""`syncd doctor`: checks that a sync can work here, one line per check.

Each check returns a `Check` (ok or not, and a sentence); the command prints them all and fails
if any failed, so a user sees every problem at once rather than one per run.
"""

from __future__ import annotations

import argparse
import logging
import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from syncd.commands.common import EXIT_OK, EXIT_PARTIAL, load
from syncd.config.permissions import config_permission_warning, token_file_permission_warning
from syncd.config.values import Config
from syncd.errors import SyncdError


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str

    def line(self) -> str:
        return f"{'ok  ' if self.ok else 'FAIL'} {self.name}: {self.detail}"


def check_token(config: Config) -> Check:
    from syncd.edges.readwise import RetryPolicy
    from syncd.engine.wiring import make_client

    if not config.readwise.token:
        return Check(
            "token", False, "no Readwise token (readwise.token, token_file or $READWISE_TOKEN)"
        )
    try:
        make_client(config, policy=RetryPolicy(attempts=2, rate_limit_waits=1)).check_token()
    except SyncdError as error:
        return Check("token", False, str(error))
    return Check("token", True, f"{config.readwise.base_url} accepts it")


def check_vault(config: Config) -> Check:
    from syncd.edges.vault import folder_problem
    from syncd.engine.wiring import layout_for, vault_origin, vault_place_problem

    root = config.vault.path
    problem = folder_problem(root)
    if problem:
        return Check("vault", False, f"{root} {problem} (set by {vault_origin(config)})")
    off = vault_place_problem(config)
    if off:
        return Check("vault", False, f"{vault_origin(config)}: {off}")
    folder = layout_for(config).pages
    probe = (folder if folder.is_dir() else root) / f".syncd-doctor-{secrets.token_hex(4)}.tmp"
    try:
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as error:
        return Check("vault", False, f"cannot write in {probe.parent}: {error.strerror}")
    return Check("vault", True, f"{folder} can be written")


def check_state(config: Config) -> Check:
    """Whether the state folder can hold this vault's state: found (or can be made) and
    written. Nothing is written to find out, so that a look at a folder one may only read
    (another account's, a read-only snapshot) changes nothing."""
    from syncd.edges.state_files import database_path, unwritable_reason

    database = database_path(config.state_dir, config.vault.path)
    folder = config.state_dir
    while not folder.exists() and folder.parent != folder:
        folder = folder.parent  # made by the first sync: it must be made in there
    if not folder.is_dir():
        return Check("state", False, f"{config.state_dir} cannot be made: {folder} is a file")
    readable = database.exists() and os.access(database, os.R_OK)
    seen = f"{database} can be read" if readable else "no state yet (made by the first sync)"
    if readable:
        problem = _damage(database)
        if problem:
            return Check("state", False, problem)
        seen += " and is whole"
    reason = unwritable_reason(folder)
    if reason:
        return Check(
            "state",
            False,
            f"{seen}, but {folder} cannot be written ({reason}): `syncd status` and "
            "`sync --dry-run` work, a sync would not",
        )
    return Check("state", True, f"{seen}; {folder} can be written")


def _damage(database: Path) -> str | None:
    """What is wrong with the state database, checked whole (a sync checks it only when it may
    be damaged: see `syncd.edges.state`), on a copy in memory: nothing is written beside it."""
    from syncd.edges.state import State
    from syncd.edges.state_files import CorruptStateError
    from syncd.errors import SyncdError

    try:
        State.read_only_copy(database).close()
    except CorruptStateError as error:
        return (
            f"the state database {database} is corrupt ({' '.join(str(error).split())}); the "
            "next sync moves it aside and rebuilds it from the vault"
        )
    except SyncdError as error:  # busy: another process holds it longer than waited
        return str(error)
    return None


def check_format(config: Config) -> Check:
    """The vault's own settings, in its format's words: a Logseq graph's (file names, journal
    titles, pages folder), an Obsidian vault's (.obsidian/, daily notes, the pages folder); a
    vault of the other format than vault.format fails."""
    from syncd.edges.vault_place import FORMAT_NAMES, one_folder_off, vault_format

    if not config.vault.path.is_dir():  # not "ok": there is nothing to read
        name = f"{config.vault.format} settings"
        return Check(name, False, f"not read: {config.vault.path} is not a folder")
    off = one_folder_off(config.vault.path)
    if off is not None:
        return Check(
            f"{config.vault.format} settings",
            False,
            f"not read: they are the {FORMAT_NAMES[off.format]}'s, in {off.root}",
        )
    found = vault_format(config.vault.path)
    if found is not None and found != config.vault.format:
        return Check(
            "vault.format",
            False,
            f"{config.vault.format}, but {config.vault.path} is an {FORMAT_NAMES[found]} "
            f"(set vault.format: {found})",
        )
    if config.vault.format == "obsidian":
        return check_obsidian(config)
    return check_graph(config)


def check_obsidian(config: Config) -> Check:
    from syncd.engine.wiring import daily_note_format, layout_for

    root = config.vault.path
    where = (
        ".obsidian/ found"
        if (root / ".obsidian").is_dir()
        else "no .obsidian/ (not opened in Obsidian yet; its defaults)"
    )
    daily = daily_note_format(root)
    days = f"daily notes {daily!r}" if daily else "no daily notes set up"
    pages = layout_for(config).pages.relative_to(root).as_posix()
    return Check("obsidian settings", True, f"{where}: {days}, pages in {pages!r}")


def check_graph(config: Config) -> Check:
    from syncd.engine.wiring import layout_for

    graph = layout_for(config).graph
    where = "logseq/config.edn" if graph.found else "no logseq/config.edn (Logseq's defaults)"
    return Check(
        "logseq settings",
        True,
        f"{where}: file names :{graph.name_format}, journal titles "
        f"{graph.journal_format!r}, pages in {graph.pages_directory!r}",
    )


def check_watcher(config: Config, limits: Mapping[str, int | None]) -> Check:
    if not config.vault.path.is_dir():
        return Check("watcher", False, f"nothing to watch: {config.vault.path} is not a folder")
    watches = limits.get("max_user_watches")
    folders = sum(1 for _ in os.walk(config.vault.path))
    if watches is None:
        return Check("watcher", True, "no inotify here; the daemon will poll")
    if folders > watches:
        return Check(
            "watcher",
            False,
            f"{folders} folders but fs.inotify.max_user_watches is "
            f"{watches}; raise it or the daemon will poll",
        )
    return Check("watcher", True, f"{folders} folders to watch, limit {watches}")


def check_permissions(path: Path) -> Check:
    warning = config_permission_warning(path)
    return Check("config file", warning is None, warning or f"{path} is private")


def check_token_file(path: Path, config: Config) -> Check:
    if not path.exists():  # the token check says why that matters, when it does
        return Check("token file", bool(config.readwise.token), f"{path} does not exist")
    warning = token_file_permission_warning(path)
    return Check("token file", warning is None, warning or f"{path} is private")


def run_checks(
    config: Config, config_path: Path, limits: Callable[[], Mapping[str, int | None]]
) -> list[Check]:
    token_file = config.readwise.token_file
    return [
        check_permissions(config_path),
        *([check_token_file(token_file, config)] if token_file else []),
        check_token(config),
        check_vault(config),
        check_state(config),
        check_format(config),
        check_watcher(config, limits()),
    ]


def command(args: argparse.Namespace) -> int:
    from syncd.config.load import find_config_path
    from syncd.edges.watcher import inotify_limits
    from syncd.errors import ConfigError

    # The report's lines say all there is: no log line among them (the config's permission
    # warning is its own check; a retry of the token check ends in that check's line).
    logging.disable(logging.CRITICAL)
    try:
        try:
            config = load(args, require_token=False)
        except ConfigError as error:
            print(f"FAIL config: {error}")
            return EXIT_PARTIAL
        print(f"ok   config: {config.source}", flush=True)
        checks = []
        for check in run_checks(config, find_config_path(args.config, os.environ), inotify_limits):
            print(check.line(), flush=True)
            checks.append(check)
    finally:
        logging.disable(logging.NOTSET)
    return EXIT_OK if all(check.ok for check in checks) else EXIT_PARTIAL
