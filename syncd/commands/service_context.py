"""What `syncd service` works with: where it runs (`Context`: the platform, the environment, the
command a unit runs) and the record of what install wrote (`Record`, `place`), so that only
files syncd wrote, unchanged since, are ever replaced or removed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
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
    vault_format: str = "logseq"
    config_token_file: Path | None = None  # the config's readwise.token_file, when it has one
    dry_run: bool = False  # say what would be written and run; do nothing
    replace: bool = False  # take over a unit or agent that runs another config

    @property
    def home(self) -> Path:
        return Path(self.env.get("HOME") or str(Path.home()))

    @property
    def token_file(self) -> Path:
        """The token file the unit loads: the config's own, else `readwise-token` beside it."""
        if self.config_token_file is not None and self.config_token_file.is_file():
            return self.config_token_file
        return self.config_path.parent / "readwise-token"

    @property
    def instance(self) -> str:
        """The service's name for this config: "" for the default config (`syncd.service`,
        `io.syncd.run`), else the config file's name without `.yaml` (`syncd@work.service`,
        `io.syncd.run.work`), made of letters, digits and `_.-` only."""
        if self.default_config:
            return ""
        stem = self.config_path.name
        for suffix in (".yaml", ".yml"):
            stem = stem.removesuffix(suffix)
        return re.sub(r"[^A-Za-z0-9_.-]", "-", stem).strip(".") or "config"

    @property
    def format_phrase(self) -> str:
        return "an Obsidian vault" if self.vault_format == "obsidian" else "a Logseq graph"

    def default_config_path(self) -> Path:
        env = {key: value for key, value in self.env.items() if key != "SYNCD_CONFIG"}
        return Path(os.path.abspath(find_config_path(None, env)))

    def tool(self, name: str) -> str:
        found = shutil.which(name, path=self.env.get("PATH", os.defpath))
        if found is None:
            what = "systemd" if name == "systemctl" else "launchd"
            raise UsageError(
                f"service: {name} not found, so this system has no {what} to run "
                "syncd; start `syncd run` another way (see the README)"
            )
        return found

    def call(self, name: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [self.tool(name), *args],
            env=dict(self.env),
            text=True,
            capture_output=True,
            timeout=120,
            check=False,
        )
        if check and result.returncode != 0:
            reason = (result.stderr or result.stdout).strip().splitlines()
            raise ServiceError(
                f"service: `{name} {' '.join(args)}` failed (exit "
                f"{result.returncode}): {reason[-1] if reason else 'no message'}"
            )
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


def make_context(
    config_arg: str | None,
    env: Mapping[str, str],
    platform: str,
    out: TextIO,
    **options: object,
) -> Context:
    config_path = Path(os.path.abspath(find_config_path(config_arg, env)))
    default = Path(
        os.path.abspath(
            find_config_path(
                None, {key: value for key, value in env.items() if key != "SYNCD_CONFIG"}
            )
        )
    )
    return Context(
        env=env,
        platform=platform,
        config_path=config_path,
        default_config=config_path == default,
        command=syncd_command(),
        out=out,
        **options,  # type: ignore[arg-type]
    )


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


def place(
    files: Mapping[Path, bytes],
    record: Record,
    say: Callable[[str], None],
    *,
    force: frozenset[Path] = frozenset(),
) -> Placed:
    """Write each file unless it is there already as it should be, or is not ours to replace
    (the files in `force` are replaced all the same: `--replace`)."""
    placed = Placed([], {})
    for path, data in files.items():
        if path.exists():
            old = path.read_bytes()
            if old == data:
                say(f"{path} is installed already, unchanged")
                record.files[str(path)] = _digest(data)
                continue
            if not record.ours(path) and path not in force:
                say(
                    f"{path} was changed since syncd wrote it, or was not written by syncd: kept "
                    "as it is (remove it and run `syncd service install` again for syncd's)"
                )
                continue
            placed.replaced[path] = old
        else:
            placed.created.append(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        _write_atomic(path, data)
        record.files[str(path)] = _digest(data)
        say(f"wrote {path}")
    return placed
