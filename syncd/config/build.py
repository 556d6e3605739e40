"""The semantic pass: what the schema's types alone do not say (the token's source, the base URL's
scheme, the time zone, the state folder's place), into the frozen `Config`.
"""

from __future__ import annotations

import math
import os
import re
import zoneinfo
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

from syncd.config.check import Context, expand_variables
from syncd.config.schema import CATEGORIES, KINDS, LOOPBACK_HOSTS, MAX_INTERVAL, MIN_INTERVAL
from syncd.config.values import Config, ReadwiseConfig, SyncConfig, VaultConfig
from syncd.errors import ConfigError


def build_config(tree: Mapping[str, Any], context: Context, require_token: bool) -> Config:
    vault = _vault(tree["vault"], context)
    token, token_source = _token(tree["readwise"], context, require_token)
    return Config(
        source=context.source,
        readwise=ReadwiseConfig(
            token=token,
            base_url=_base_url(tree["readwise"]["base_url"], context),
            token_file=_token_file(tree["readwise"], context),
            token_source=token_source,
            base_url_source=_in_file("readwise.base_url", context),
        ),
        vault=vault,
        state_dir=_state_dir(tree["state_dir"], vault.path, context),
        sync=_sync(tree["sync"], context),
        templates=_templates(tree, vault, context),
        log_level=tree["log_level"],
    )


def _templates(tree: Mapping[str, Any], vault: VaultConfig, context: Context) -> Mapping[str, str]:
    """The templates the user overrides; with sync.frontmatter and no templates.frontmatter,
    the built-in front matter. Front matter is Obsidian's: refused for a Logseq graph."""
    templates = {name: text for name, text in tree["templates"].items() if text is not None}
    if vault.format != "obsidian":
        for key, on in (
            ("sync.frontmatter", tree["sync"]["frontmatter"]),
            ("templates.frontmatter", "frontmatter" in templates),
        ):
            if on:
                raise context.error(
                    key,
                    "front matter is for vault.format obsidian; a Logseq "
                    "page's properties are its metadata template",
                )
    if tree["sync"]["frontmatter"] and "frontmatter" not in templates:
        from syncd.core.templates import default_frontmatter

        templates["frontmatter"] = default_frontmatter()
    return MappingProxyType(templates)


_NO_TOKEN = "no Readwise token (set readwise.token, readwise.token_file or $READWISE_TOKEN)"
_BAD_TOKEN_CHARACTER = re.compile(r"[\s\x00-\x1f\x7f]")


def _in_file(key: str, context: Context) -> str:
    """A config key and the file that holds (or would hold) it, for messages."""
    return f"{key} in {context.source}" if context.source else key


def _token(section: Mapping[str, Any], context: Context, require_token: bool) -> tuple[str, str]:
    """Return the token ($READWISE_TOKEN, else readwise.token, else readwise.token_file's text)
    and where it came from, said for a message ("$READWISE_TOKEN", "readwise.token in FILE",
    "the token file PATH (readwise.token_file in FILE)").

    Raise ConfigError (never quoting the token) if none is found or it cannot be read, unless
    `require_token` is false: then return "" instead.
    """
    try:
        token, source = _find_token(section, context)
    except ConfigError:
        if require_token:
            raise
        return "", ""
    if not token and require_token:
        raise context.error("readwise.token", _NO_TOKEN)
    return token, source


def _find_token(section: Mapping[str, Any], context: Context) -> tuple[str, str]:
    from_env = context.env.get("READWISE_TOKEN", "").strip()
    if from_env:
        token = _checked_token(from_env, "readwise.token", "$READWISE_TOKEN", context)
        return token, "$READWISE_TOKEN"
    if section["token"]:
        text = expand_variables(
            section["token"], "readwise.token", context.env, context.source
        ).strip()
        if text:
            token = _checked_token(text, "readwise.token", "the token", context)
            return token, _in_file("readwise.token", context)
    if section["token_file"]:
        where = "readwise.token_file"
        path = _path(
            expand_variables(section["token_file"], where, context.env, context.source),
            where,
            context,
        )
        token = _checked_token(_read_token_file(path, context), where, f"{path}", context)
        return token, f"the token file {path} ({_in_file(where, context)})"
    return "", ""


def _token_file(section: Mapping[str, Any], context: Context) -> Path | None:
    """Return readwise.token_file's path; None when it is not set or names a variable that is
    not set (reading the token reports that, when the file is needed)."""
    if not section["token_file"]:
        return None
    where = "readwise.token_file"
    try:
        return _path(
            expand_variables(section["token_file"], where, context.env, context.source),
            where,
            context,
        )
    except ConfigError:
        return None


def _read_token_file(path: Path, context: Context) -> str:
    where = "readwise.token_file"
    try:
        with path.open("rb") as handle:
            raw = handle.read(4097)
    except OSError as error:
        raise context.error(where, f"cannot read {path}: {error.strerror or error}") from None
    if len(raw) > 4096:
        raise context.error(where, f"{path} is too large to hold a token")
    try:
        token = raw.decode("utf-8-sig").strip()
    except UnicodeDecodeError:
        raise context.error(where, f"{path} is not UTF-8 text") from None
    if not token:
        raise context.error(where, f"{path} is empty")
    return token


def _checked_token(token: str, where: str, what: str, context: Context) -> str:
    # A space or newline inside would break, or inject into, the Authorization header.
    if _BAD_TOKEN_CHARACTER.search(token):
        raise context.error(where, f"{what} contains spaces or control characters")
    return token


def redact_url(text: str) -> str:
    """Return a URL fit for a message: its user name and password, query and fragment (where a
    token may have been put) replaced by `***`. Works on text that does not parse as a URL."""
    text = text.strip()
    cut = min((i for i in (text.find("?"), text.find("#")) if i >= 0), default=-1)
    if cut >= 0:
        text = text[:cut] + text[cut] + "***"
    start = text.find("//") + 2 if "//" in text else 0
    end = next((i for i in range(start, len(text)) if text[i] in "/?#"), len(text))
    at = text.rfind("@", start, end)
    if at >= 0:
        text = text[:start] + "***" + text[at:]
    return text


# The API's own path, which syncd adds: pasted at the end of the address, it is left out.
_API_PATH = re.compile(r"/+api/+v[23]/*\Z", re.IGNORECASE)


def _base_url(text: str, context: Context) -> str:
    """Return the API address without a trailing slash, nor `/api/v2` (or `/api/v3`)
    that syncd adds itself. Raise ConfigError unless it is https://, or http:// to a loopback
    host. Messages show the URL redacted (`redact_url`)."""
    where = "readwise.base_url"
    shown = repr(redact_url(text))
    parts = urlsplit(text.strip())
    try:
        host = parts.hostname
        _ = parts.port  # a bad port raises ValueError
    except ValueError:
        raise context.error(where, f"{shown} is not a valid URL") from None
    if parts.username or parts.password:
        raise context.error(where, f"{shown} must not hold a user name or password")
    if parts.query or parts.fragment:
        raise context.error(where, f"{shown} must not have a query or a fragment")
    if parts.scheme not in ("https", "http") or not host:
        raise context.error(where, f"expected an https:// URL, got {shown}")
    if parts.scheme == "http" and host not in LOOPBACK_HOSTS:
        raise context.error(
            where,
            f"{shown} is not https:// (http:// is allowed only for 127.0.0.1, localhost and ::1)",
        )
    return _API_PATH.sub("", text.strip()).rstrip("/")


def _vault(section: Mapping[str, Any], context: Context) -> VaultConfig:
    return VaultConfig(
        path=_path(section["path"], "vault.path", context),
        format=section["format"],
        folder=_folder(section["folder"], context),
        timezone=_timezone(section["timezone"], context),
    )


def _folder(text: str | None, context: Context) -> str | None:
    """Return the folder, normalised. Raise ConfigError if it could lead out of the vault."""
    if text is None:
        return None
    if not text.strip():
        raise context.error(
            "vault.folder",
            "must not be empty (use '.' for the vault's top folder, or null for the default)",
        )
    folder = PurePosixPath(text)
    if folder.is_absolute() or ".." in folder.parts:
        raise context.error(
            "vault.folder",
            f"{text!r} must be a folder inside the vault (a relative path without '..')",
        )
    return str(folder)


def _timezone(name: str | None, context: Context) -> str | None:
    if name is None:
        return None
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise context.error(
            "vault.timezone",
            f"unknown time zone {name!r} (expected an IANA name such as Europe/Berlin)",
        ) from None
    return name


def _state_dir(text: str | None, vault: Path, context: Context) -> Path:
    """Return the state folder (the XDG default when `text` is None). Raise ConfigError if it
    is inside the vault."""
    if text is None:
        state_dir = xdg_dir(context.env, "XDG_STATE_HOME", ".local/state") / "syncd"
        which = "the default state_dir"
    else:
        state_dir = _path(text, "state_dir", context)
        which = "state_dir"
    resolved_state, resolved_vault = state_dir.resolve(), vault.resolve()
    if resolved_state == resolved_vault or resolved_vault in resolved_state.parents:
        raise context.error(
            "state_dir",
            f"{which} {state_dir} is inside the vault {vault}; "
            "set state_dir to a folder outside it",
        )
    return state_dir


def _sync(section: Mapping[str, Any], context: Context) -> SyncConfig:
    sync_log_page = section["sync_log_page"]
    if sync_log_page is not None and not sync_log_page.strip():
        raise context.error(
            "sync.sync_log_page", "must not be empty (use null to disable the sync log)"
        )
    return SyncConfig(
        interval=_interval(section["interval"], context),
        on_start=section["on_start"],
        categories=_categories(section["categories"], context),
        update_changed_highlights=section["update_changed_highlights"],
        remove_deleted_highlights=section["remove_deleted_highlights"],
        resync_deleted_pages=section["resync_deleted_pages"],
        sync_log_page=sync_log_page,
        include_tags=section["include_tags"],
        exclude_tags=section["exclude_tags"],
        frontmatter=section["frontmatter"],
        block_ids=section["block_ids"],
        reader_full_text=section["reader_full_text"],
        push=section["push"],
        push_delay=_push_delay(section["push_delay"], context),
    )


def _categories(categories: tuple[str, ...], context: Context) -> tuple[str, ...]:
    if not categories:
        raise context.error(
            "sync.categories", f"must list at least one category (any of {', '.join(CATEGORIES)})"
        )
    return categories


_DURATION = re.compile(
    r"(?:(?P<d>\d+(?:\.\d+)?)\s*d)?\s*(?:(?P<h>\d+(?:\.\d+)?)\s*h)?\s*"
    r"(?:(?P<m>\d+(?:\.\d+)?)\s*m)?\s*(?:(?P<s>\d+(?:\.\d+)?)\s*s)?"
)
_UNIT_SECONDS = {"d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0}


def parse_duration(value: str | float) -> float | None:
    """Given `60m`, `90s`, `2h`, `1h30m`, `1d`, or a number of seconds (as a number or a string),
    return the seconds; None if it is not a duration."""
    if isinstance(value, (int, float)):
        return float(value)
    text = value.strip().lower()
    try:
        return float(text)
    except ValueError:
        pass
    match = _DURATION.fullmatch(text)
    if not text or not match:
        return None
    return sum(
        float(amount) * _UNIT_SECONDS[unit]
        for unit, amount in match.groupdict().items()
        if amount is not None
    )


def _interval(value: str | float, context: Context) -> float:
    seconds = parse_duration(value)
    if seconds is None or not math.isfinite(seconds):
        raise context.error("sync.interval", f"expected {KINDS['duration']}, got {value!r}")
    if not MIN_INTERVAL <= seconds <= MAX_INTERVAL:
        raise context.error("sync.interval", f"{value!r} is out of range (from 1s to 365d)")
    return seconds


def _push_delay(value: str | float, context: Context) -> float:
    seconds = parse_duration(value)
    if seconds is None or not math.isfinite(seconds):
        raise context.error("sync.push_delay", f"expected {KINDS['duration']}, got {value!r}")
    if not 0 <= seconds <= MAX_INTERVAL:
        raise context.error("sync.push_delay", f"{value!r} is out of range (from 0s to 365d)")
    return seconds


def _path(text: str, where: str, context: Context) -> Path:
    """Given a path from the config, return it absolute: `~` expanded, and a relative path taken
    from the config file's folder (the current folder when there is no file)."""
    if not text.strip():
        raise context.error(where, "must not be empty")
    expanded = Path(expand_home(text, context.env))
    base = context.source.parent if context.source else Path.cwd()
    return Path(os.path.abspath(base / expanded))


def expand_home(text: str, env: Mapping[str, str]) -> str:
    """Given a path, return it with a leading `~` replaced by $HOME from `env`."""
    if text == "~" or text.startswith("~/"):
        return _home(env) + text[1:]
    return os.path.expanduser(text)  # ~user, or nothing to do


def _home(env: Mapping[str, str]) -> str:
    return env.get("HOME") or str(Path.home())


def xdg_dir(env: Mapping[str, str], variable: str, fallback: str) -> Path:
    """Return an XDG base folder: $variable when set and absolute (as the XDG spec asks), else
    ~/fallback."""
    value = env.get(variable, "")
    if value and os.path.isabs(value):
        return Path(value)
    return Path(_home(env)) / fallback
