"""Warnings about files that hold the Readwise token and that others than their owner may read."""

from __future__ import annotations

import stat
from collections.abc import Mapping
from pathlib import Path

import yaml

from syncd.config.check import VARIABLE


def config_permission_warning(path: Path) -> str | None:
    """Given a config file's path, return a one-line warning if the file holds a token and
    others than its owner may read it; None otherwise (also when it cannot be read or parsed:
    loading it reports that)."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
        if not mode & 0o044:  # only its owner may read it: no need to look inside
            return None
        data = yaml.safe_load(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None
    if not _holds_token(data):
        return None
    who = {0o040: "its group", 0o004: "other users"}.get(mode & 0o044, "its group and others")
    return (
        f"{path} holds a Readwise token and can be read by {who} (mode {mode:04o}); "
        f"run: chmod 600 {path}"
    )


def token_file_permission_warning(path: Path | None) -> str | None:
    """Given the token file's path (None: no token file), return a one-line warning if others
    than its owner may read it; None otherwise (also when it is missing or empty: reading the
    token reports that)."""
    if path is None:
        return None
    try:
        info = path.stat()
    except OSError:
        return None
    mode = stat.S_IMODE(info.st_mode)
    if not mode & 0o044 or not info.st_size:
        return None
    who = {0o040: "its group", 0o004: "other users"}.get(mode & 0o044, "its group and others")
    return (
        f"the token file {path} (readwise.token_file) can be read by {who} "
        f"(mode {mode:04o}); run: chmod 600 {path}"
    )


def _holds_token(data: object) -> bool:
    """Whether a parsed config writes the token itself (not only `${VAR}` references)."""
    readwise = data.get("readwise") if isinstance(data, Mapping) else None
    token = readwise.get("token") if isinstance(readwise, Mapping) else None
    return isinstance(token, (str, int)) and bool(VARIABLE.sub("", str(token)).strip())
