"""Wiring: from a Config and the environment, the parts a sync needs (client, vault, state, clock,
style) and the per-vault lock that keeps two syncd processes apart.
"""

from __future__ import annotations

import ctypes
import fcntl
import json
import logging
import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager, suppress
from datetime import datetime, timezone, tzinfo
from pathlib import Path
from typing import IO, cast
from zoneinfo import ZoneInfo

from syncd.config.build import xdg_dir
from syncd.config.values import Config
from syncd.core.plan_terms import Options
from syncd.core.render import Style
from syncd.core.templates import Templates
from syncd.edges.graph_settings import GraphSettings, read_settings
from syncd.edges.local_zone import zone_from_env
from syncd.edges.readwise import ReadwiseClient
from syncd.edges.state import State
from syncd.edges.state_files import StateError, database_path
from syncd.edges.vault import Vault
from syncd.engine.layout import Layout
from syncd.engine.sync import Syncer
from syncd.engine.sync_settings import SyncSettings
from syncd.errors import ConfigError, VaultError
from syncd.ports import HighlightWriter, ReaderPort, ReadwisePort, StatePort, VaultPort

log = logging.getLogger("syncd.app")
_M_MMAP_THRESHOLD = -3  # mallopt(3) parameter, glibc


def clock_from_env(env: Mapping[str, str]) -> Callable[[], datetime]:
    """Return "now": `$SYNCD_NOW` when set (for reproducible output), else the real UTC time."""
    fixed = env.get("SYNCD_NOW")
    if not fixed:
        return lambda: datetime.now(timezone.utc)
    try:
        moment = datetime.fromisoformat(fixed.replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(
            "$SYNCD_NOW", None, f"{fixed!r} is not an ISO 8601 time (e.g. 2023-03-17T17:05:00Z)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.astimezone()
    return lambda: moment


def vault_timezone(config: Config, env: Mapping[str, str]) -> tzinfo:
    """The zone the pages' dates and times are in: `vault.timezone`, else the one `TZ` names
    (`syncd.edges.local_zone`; garbage: UTC, and a warning). Rules, not an offset: each instant
    is shown under the rules in force at it."""
    if config.vault.timezone:
        return ZoneInfo(config.vault.timezone)
    zone, warning = zone_from_env(env)
    if warning:
        log.warning("%s", warning)
    return zone


def layout_for(config: Config) -> Layout:
    if config.vault.format == "obsidian":
        folder = config.vault.folder or "Readwise"
        return Layout(config.vault.path, config.vault.path / folder, GraphSettings(), "obsidian")
    graph = read_settings(config.vault.path)
    folder = config.vault.folder or graph.pages_directory
    return Layout(config.vault.path, config.vault.path / folder, graph)


def daily_note_format(vault: Path) -> str | None:
    """The moment.js format of an Obsidian vault's daily notes, if it has them configured."""
    try:
        settings = json.loads((vault / ".obsidian" / "daily-notes.json").read_text("utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(settings, dict):
        return None
    fmt = settings.get("format")
    return fmt if isinstance(fmt, str) and fmt else "YYYY-MM-DD"


def style_for(config: Config, layout: Layout, env: Mapping[str, str]) -> Style:
    templates = Templates(config.vault.format, config.templates, source=config.source)
    daily = daily_note_format(config.vault.path) if config.vault.format == "obsidian" else None
    return Style(
        templates=templates,
        tz=vault_timezone(config, env),
        journal_format=layout.graph.journal_format,
        daily_note_format=daily,
    )


def lock_path(config: Config) -> Path:
    return database_path(config.state_dir, config.vault.path).with_suffix(".lock")


def shared_lock_path(config: Config, env: Mapping[str, str]) -> Path:
    """The vault's lock in the default state folder, whatever `state_dir` says: so that two
    configs naming one vault with different state folders still exclude each other."""
    default = xdg_dir(env, "XDG_STATE_HOME", ".local/state") / "syncd"
    return database_path(default, config.vault.path).with_suffix(".lock")


@contextmanager
def vault_lock(config: Config, env: Mapping[str, str] | None = None) -> Iterator[IO[str]]:
    """Hold the vault's lock for the duration; raise VaultError if another syncd holds it. The
    lock is in the state folder, and also in the default state folder when that is another one
    (there only when it can be made: a best effort)."""
    path = lock_path(config)
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        handle = open(path, "a+")  # noqa: SIM115 (closed by the `with` below)
    except OSError as error:
        raise StateError(
            f"state folder {path.parent}: cannot write the lock file there "
            f"({error.strerror or error})"
        ) from None
    with ExitStack() as held:
        held.enter_context(handle)
        _take(handle, config)
        shared = shared_lock_path(config, os.environ if env is None else env)
        if shared != path:
            try:
                shared.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                other = held.enter_context(open(shared, "a+"))
            except OSError:
                other = None
            if other is not None:
                _take(other, config)
        yield handle


def _take(handle: IO[str], config: Config) -> None:
    """Lock the open lock file `handle` and write who holds it: the pid, and the config it runs
    (told to a second config of the vault); raise VaultError if another syncd holds it."""
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        pid, _, source = handle.read().strip().partition("\n")
        holder = f"pid {pid or '?'}" + (f", config {source}" if source else "")
        raise VaultError(f"another syncd ({holder}) holds the vault {config.vault.path}") from None
    handle.seek(0)
    handle.truncate()
    source = os.path.abspath(config.source) if config.source else ""
    handle.write(f"{os.getpid()}\n{source}")
    handle.flush()


def lock_holder(config: Config) -> int | None:
    """Return the pid of the syncd holding the vault's lock, or None if it is free."""
    path = lock_path(config)
    try:
        handle = open(path)  # noqa: SIM115 (closed by the `with` below)
    except OSError:  # none (or unreadable): no syncd holds it
        return None
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            text = handle.read().strip().partition("\n")[0]
            return int(text) if text.isdigit() else -1
        fcntl.flock(handle, fcntl.LOCK_UN)
    return None


def open_state(config: Config, *, check: bool | None = None) -> State:
    """The vault's state, opened (`check`: see `State`), or moved aside and rebuilt when it is
    corrupt."""
    path = database_path(config.state_dir, config.vault.path)
    state, aside = State.open_or_rebuild(path, check=check)
    if aside is not None:
        log.warning(
            "the state database was corrupt; moved it to %s and rebuilding from the vault", aside
        )
    return state


def make_client(config: Config, **kwargs: object) -> ReadwiseClient:
    return ReadwiseClient(
        config.readwise.base_url,
        config.readwise.token,
        token_source=config.readwise.token_source,
        base_url_source=config.readwise.base_url_source,
        **kwargs,  # type: ignore[arg-type]
    )


def give_back_freed_memory() -> None:
    """Have glibc's malloc return large freed blocks (an export page's body, its text) to the
    system. By default it raises its mmap threshold once such a block is freed, so that later
    ones come from the heap and stay with the process when freed: a first sync of 100,000
    highlights then peaked about 25 MB higher and ended about 35 MB higher. Elsewhere: nothing."""
    with suppress(OSError, AttributeError):
        ctypes.CDLL(None).mallopt(_M_MMAP_THRESHOLD, 128 * 1024)


def sync_log_page_for(config: Config) -> str | None:
    """The sync log page's name: in Obsidian the default (`Readwise`) is Readwise's own
    `Readwise Syncs` (`Readwise/Readwise Syncs.md`), so a vault the plugin filled goes on."""
    name = config.sync.sync_log_page
    if name == "Readwise" and config.vault.format == "obsidian":
        return "Readwise Syncs"
    return name


def vault_origin(config: Config) -> str:
    """Where the vault's path came from, for error messages: the key and the config file."""
    return f"vault.path in {config.source}" if config.source else "vault.path"


def vault_place_problem(config: Config) -> str | None:
    """What is wrong with where vault.path points, when it is one folder off: a Logseq graph's
    pages/ or journals/ folder (pages would go to pages/pages/), a folder inside an Obsidian
    vault (its settings missed); naming the graph or vault above and what to set. None when
    it is a top folder (or inside none)."""
    from syncd.edges.vault_place import one_folder_off

    off = one_folder_off(config.vault.path)
    if off is None:
        return None
    landing = ""
    if off.format == "logseq" and config.vault.format == "logseq":
        folder = config.vault.folder or layout_for(config).pages.name
        landing = f"; pages would go to {off.path / folder}"
    return f"{off.describe()}, not its top folder{landing}: {off.advice()}"


def check_vault_place(config: Config) -> None:
    """Raise ConfigError (at vault.path, exit 2) when vault.path is one folder off (see
    `vault_place_problem`): nothing is written there."""
    problem = vault_place_problem(config)
    if problem:
        raise ConfigError(config.source, "vault.path", problem)


def settings_for(config: Config, env: Mapping[str, str]) -> SyncSettings:
    """The settings every sync of this config is run with, made once."""
    layout = layout_for(config)
    return SyncSettings(
        layout=layout,
        style=style_for(config, layout, env),
        options=Options(
            config.sync.update_changed_highlights,
            config.sync.remove_deleted_highlights,
            config.sync.block_ids,
        ),
        categories=config.sync.categories,
        include_tags=frozenset(tag.casefold() for tag in config.sync.include_tags),
        exclude_tags=frozenset(tag.casefold() for tag in config.sync.exclude_tags),
        sync_log_page=sync_log_page_for(config),
        resync_deleted_pages=config.sync.resync_deleted_pages,
        reader_full_text=config.sync.reader_full_text,
        push=frozenset(config.sync.push),
        push_delay=config.sync.push_delay,
    )


def make_syncer(
    config: Config,
    state: StatePort,
    env: Mapping[str, str],
    *,
    client: ReadwisePort | None = None,
    clock: Callable[[], datetime] | None = None,
    progress: Callable[[int, int, int], None] | None = None,
    should_stop: Callable[[], bool] = lambda: False,
    sleep: Callable[[float], None] | None = None,
    vault: VaultPort | None = None,
    reader: ReaderPort | None = None,
) -> Syncer:
    """The Syncer of this config: the real client (waiting with `sleep` before a retry)
    unless one is given, the clock `SYNCD_NOW` fixes (or the system's) unless one is given, the
    vault folder of the config unless a vault is given."""
    give_back_freed_memory()
    if vault is None:
        vault = Vault(config.vault.path, origin=vault_origin(config))
    vault.check()
    if client is None:
        client = make_client(config) if sleep is None else make_client(config, sleep=sleep)
    if reader is None and config.sync.reader_full_text:
        from syncd.edges.reader import ReaderClient

        reader = ReaderClient(
            config.readwise.base_url,
            config.readwise.token,
            token_source=config.readwise.token_source,
            base_url_source=config.readwise.base_url_source,
        )
        if sleep is not None:
            reader.sleep = sleep
    return Syncer(
        client=client,
        vault=vault,
        state=state,
        settings=settings_for(config, env),
        clock=clock or clock_from_env(env),
        progress=progress,
        should_stop=should_stop,
        reader=reader,
        # Readwise's write endpoints, only with sync.push on: with it off, none is ever asked.
        writer=_writer(client) if config.sync.push else None,
    )


def _writer(client: ReadwisePort) -> HighlightWriter | None:
    """The client as Readwise's write endpoints, when it has them (the real client and the
    twin do)."""
    return cast(HighlightWriter, client) if hasattr(client, "update_highlight") else None
