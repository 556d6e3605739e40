"""The configuration: one schema, and everything derived from it (SPEC §1, §2).

`SCHEMA` below is the single source of truth: for every key it gives the type, the default, a
description and an example. It drives

- validation (`config_from_mapping`, `load_config`): unknown keys, wrong types and missing
  required keys are refused with one line naming the file, the key and the problem;
- defaults: a key left out takes the schema's default;
- the commented example (`example_config`, checked in as `config.example.yaml`);
- the README's table of every key (`key_table`);
- the starter config that `syncd init` writes (`starter_config`).

After that structural pass, a second pass checks what the schema cannot say on its own (the
token's source, the base URL's scheme, the time zone, the state folder's place) and builds the
frozen `Config` the rest of syncd reads.

Conventions a user can rely on: `${VAR}` in any string value is replaced by the environment
variable VAR (`$${VAR}` for a literal `${VAR}`; an unset variable is an error); `~` is the home
folder; a relative path is relative to the config file's folder. The Readwise token never
appears in an error message or a repr.
"""

from __future__ import annotations

import difflib
import math
import os
import re
import stat
import textwrap
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

import yaml

from syncd.errors import ConfigError

# --------------------------------------------------------------------------------------------
# The schema
# --------------------------------------------------------------------------------------------

#: What each kind of option accepts, as said in "expected ..." messages.
KINDS: Mapping[str, str] = MappingProxyType({
    "string": "a string",
    "path": "a path (a string)",
    "boolean": "true or false",
    "duration": "a duration such as 60m, 90s, 2h or 1h30m, or a number of seconds",
    "list": "a list of strings",
})


@dataclass(frozen=True)
class Option:
    """One key of the schema.

    `default` is the value used when the key is left out; None means there is no fixed default
    (the key is optional, or its default is computed, as `default_doc` then says). `example` is
    what the generated configs show for a key without a fixed default.
    """

    kind: str
    description: str
    default: Any = None
    example: Any = None
    default_doc: str | None = None
    required: bool = False
    nullable: bool = False
    choices: tuple[str, ...] = ()
    expand_env: bool = True  # False: expanded later, by the code that needs the value


@dataclass(frozen=True)
class Section:
    """A mapping of keys; left out (or null), all its keys take their defaults."""

    description: str
    options: Mapping[str, Option | Section]


CATEGORIES = ("books", "articles", "tweets", "podcasts", "supplementals")
FORMATS = ("logseq", "obsidian")
LOG_LEVELS = ("debug", "info", "warning", "error")
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
MIN_INTERVAL = 1.0  # seconds; short intervals are for tests, the default is an hour
MAX_INTERVAL = 365 * 24 * 3600.0

SCHEMA = Section(
    description="syncd configuration.",
    options={
        "readwise": Section(
            description="Where the highlights come from.",
            options={
                "token": Option(
                    "string",
                    "Your Readwise access token, from https://readwise.io/access_token. "
                    "$READWISE_TOKEN, when set, overrides it; without either, token_file is "
                    "read. If you write the token here, keep this file private (chmod 600).",
                    example="your-readwise-access-token",
                    default_doc="none",
                    nullable=True,
                    expand_env=False,
                ),
                "token_file": Option(
                    "path",
                    "A file holding the token, read when neither $READWISE_TOKEN nor token is "
                    "set; surrounding whitespace is ignored. Under systemd's LoadCredential=, "
                    "use ${CREDENTIALS_DIRECTORY}/readwise-token.",
                    example="~/.config/syncd/readwise-token",
                    default_doc="none",
                    nullable=True,
                    expand_env=False,
                ),
                "base_url": Option(
                    "string",
                    "The Readwise API's address. It must be https://, except that http:// is "
                    "allowed for 127.0.0.1, localhost and ::1 (a local test server).",
                    default="https://readwise.io",
                ),
            },
        ),
        "vault": Section(
            description="The Logseq graph or Obsidian vault the pages are written to.",
            options={
                "path": Option(
                    "path",
                    "The graph's or vault's top folder. Required.",
                    example="~/notes",
                    required=True,
                ),
                "format": Option(
                    "string",
                    "The page format: logseq or obsidian.",
                    default="logseq",
                    choices=FORMATS,
                ),
                "folder": Option(
                    "string",
                    "The folder, inside the vault, that new pages go to. Logseq's default is "
                    "the graph's :pages-directory (\"pages\" when unset); Obsidian's is "
                    "\"Readwise\".",
                    example="pages",
                    default_doc="depends on the format",
                    nullable=True,
                ),
                "timezone": Option(
                    "string",
                    "The IANA time zone that dates and times on pages are shown in.",
                    example="Europe/Berlin",
                    default_doc="the local time zone ($TZ)",
                    nullable=True,
                ),
            },
        ),
        "state_dir": Option(
            "path",
            "Where syncd keeps its state database and lock. Never inside the vault.",
            example="~/.local/state/syncd",
            default_doc="$XDG_STATE_HOME/syncd, or ~/.local/state/syncd",
            nullable=True,
        ),
        "sync": Section(
            description="What is synced, and when.",
            options={
                "interval": Option(
                    "duration",
                    "How often `syncd run` syncs: 60m, 90s, 2h, 1h30m, or a number of "
                    "seconds (at least 1). Up to 10% of random delay is added.",
                    default="60m",
                ),
                "on_start": Option(
                    "boolean", "Whether `syncd run` syncs as soon as it starts.", default=True,
                ),
                "categories": Option(
                    "list",
                    "The Readwise categories to sync: any of books, articles, tweets, "
                    "podcasts, supplementals.",
                    default=CATEGORIES,
                    choices=CATEGORIES,
                ),
                "include_tags": Option(
                    "list",
                    "Sync only books that carry at least one of these tags (empty: every "
                    "book).",
                    default=(),
                ),
                "exclude_tags": Option(
                    "list",
                    "Never sync books that carry any of these tags.",
                    default=(),
                ),
                "update_changed_highlights": Option(
                    "boolean",
                    "Rewrite a highlight changed in Readwise, when you have not edited its "
                    "block.",
                    default=True,
                ),
                "remove_deleted_highlights": Option(
                    "boolean",
                    "Remove a highlight deleted in Readwise, when you have not edited its "
                    "block.",
                    default=False,
                ),
                "resync_deleted_pages": Option(
                    "boolean",
                    "Re-create a page you deleted when its book has new highlights.",
                    default=False,
                ),
                "sync_log_page": Option(
                    "string",
                    "The page each sync adds a line to; null disables it.",
                    default="Readwise",
                    nullable=True,
                ),
                "frontmatter": Option(
                    "boolean",
                    "Obsidian only: start each new page with YAML front matter (properties: "
                    "title, author, category, tags, url, source, cover, readwise, synced), or "
                    "with templates.frontmatter when set. Properties you add or edit are kept.",
                    default=False,
                ),
            },
        ),
        "templates": Section(
            description="Optional Jinja2 templates, with Readwise's own variable names, that "
            "replace the built-in ones (see the README). Leave a key out to keep the built-in "
            "template.",
            options={
                "page_title": Option(
                    "string", "The page's title.",
                    example="{{ title }} (highlights)", default_doc="built in", nullable=True,
                ),
                "metadata": Option(
                    "string", "The page's properties or metadata block.",
                    example="author:: [[{{ author }}]]", default_doc="built in", nullable=True,
                ),
                "highlight_header": Option(
                    "string", "The block heading each sync's new highlights.",
                    example="New highlights added [[{{ date }}]] at {{ time }}",
                    default_doc="built in", nullable=True,
                ),
                "highlight": Option(
                    "string", "One highlight.",
                    example="{{ highlight_text }}", default_doc="built in", nullable=True,
                ),
                "sync_log": Option(
                    "string", "One line of the sync log page.",
                    example="On [[{{ date }}]] Readwise synced {{ num_highlights }} "
                    "highlight{{ num_highlights|pluralize }}.",
                    default_doc="built in", nullable=True,
                ),
                "frontmatter": Option(
                    "string", "Obsidian only: a new page's YAML front matter, without the "
                    "--- lines; each {{ value }} is written as a YAML value of its type.",
                    example="author: {{ authors }}", default_doc="none (see "
                    "sync.frontmatter)", nullable=True,
                ),
            },
        ),
        "log_level": Option(
            "string",
            "How much syncd logs: debug, info, warning or error.",
            default="info",
            choices=LOG_LEVELS,
        ),
    },
)

# --------------------------------------------------------------------------------------------
# The result
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReadwiseConfig:
    token: str = field(repr=False)  # "" when none was required and none was found
    base_url: str  # without a trailing slash
    token_file: Path | None = None  # readwise.token_file, when set (and its ${VAR}s are)


@dataclass(frozen=True)
class VaultConfig:
    path: Path
    format: str  # "logseq" | "obsidian"
    folder: str | None  # relative to the vault; None: the format's default
    timezone: str | None  # a valid IANA name; None: the local time zone


@dataclass(frozen=True)
class SyncConfig:
    interval: float  # seconds
    on_start: bool
    categories: tuple[str, ...]
    update_changed_highlights: bool
    remove_deleted_highlights: bool
    resync_deleted_pages: bool
    sync_log_page: str | None
    include_tags: tuple[str, ...]  # book-tag filters; empty: no filter
    exclude_tags: tuple[str, ...]
    frontmatter: bool = False  # Obsidian: new pages get YAML front matter


@dataclass(frozen=True)
class Config:
    source: Path | None
    readwise: ReadwiseConfig
    vault: VaultConfig
    state_dir: Path
    sync: SyncConfig
    templates: Mapping[str, str]  # only the templates the user overrides
    log_level: str


# --------------------------------------------------------------------------------------------
# Finding and loading
# --------------------------------------------------------------------------------------------


def find_config_path(explicit: str | None, env: Mapping[str, str]) -> Path:
    """Given `--config`'s value (or None) and the environment, return the config file's path.

    The order is `--config`, then `$SYNCD_CONFIG`, then `$XDG_CONFIG_HOME/syncd/config.yaml`
    (`~/.config` when XDG_CONFIG_HOME is unset or not absolute). The file may not exist.
    """
    chosen = explicit or env.get("SYNCD_CONFIG")
    if chosen:
        return Path(os.path.abspath(_expand_home(chosen, env)))
    return _xdg_dir(env, "XDG_CONFIG_HOME", ".config") / "syncd" / "config.yaml"


def load_config(path: Path, env: Mapping[str, str], *, require_token: bool = True) -> Config:
    """Given a config file's path and the environment, return its Config.

    Raise ConfigError, naming the file (and the key, and its line for bad YAML), if the file is
    missing, unreadable, not YAML, or not a valid configuration.
    """
    return config_from_mapping(_parse_yaml(path, _read_text(path)), path, env,
                               require_token=require_token)


def config_from_mapping(data: object, source: Path | None, env: Mapping[str, str], *,
                        require_token: bool = True) -> Config:
    """Given parsed YAML (None for an empty file), its file and the environment, return a Config.

    With `require_token` false, a missing or unreadable token leaves `readwise.token` empty
    instead of failing (for commands that never talk to Readwise). Raise ConfigError, naming
    `source` and the key, for anything the configuration gets wrong.
    """
    context = _Context(source, env)
    if data is not None and not isinstance(data, Mapping):
        raise context.error(None, f"expected a mapping of keys at the top, got {_describe(data)}")
    tree = _check_section(SCHEMA, data, "", context)
    return _build_config(tree, context, require_token)


def _read_text(path: Path) -> str:
    """Given a config file's path, return its text. Raise ConfigError if it cannot be read."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(path, None, "no such file (write one with `syncd init`, or pass "
                                      "--config PATH)") from None
    except IsADirectoryError:
        raise ConfigError(path, None, "is a folder, not a config file") from None
    except OSError as error:
        raise ConfigError(path, None, f"cannot read it: {error.strerror or error}") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ConfigError(path, None, "is not UTF-8 text") from None


class _UniqueKeyLoader(yaml.SafeLoader):
    """A safe YAML loader that refuses a key given twice in one mapping (YAML says last wins,
    which silently drops a setting)."""


def _construct_unique_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode,
                              deep: bool = False) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        try:
            duplicate = key in seen
            seen.add(key)
        except TypeError:  # an unhashable key: construct_mapping says so
            continue
        if duplicate:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key '{key}'", key_node.start_mark)
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
                                 _construct_unique_mapping)


def _parse_yaml(path: Path, text: str) -> object:
    """Given a file's path and text, return the parsed YAML. Raise ConfigError on bad YAML.

    The message is built from the parser's problem and position only: the parser's full text
    quotes the offending line, which may hold the token.
    """
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        what = " ".join(str(error.problem or error.context or "syntax error").split())
        raise ConfigError(path, None, f"invalid YAML{where}: {what}") from None
    except yaml.YAMLError:
        raise ConfigError(path, None, "invalid YAML") from None


# --------------------------------------------------------------------------------------------
# The structural pass: keys and types, against the schema
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Context:
    source: Path | None
    env: Mapping[str, str]

    def error(self, key: str | None, problem: str) -> ConfigError:
        return ConfigError(self.source, key or None, problem)


_MISSING = object()
_VARIABLE = re.compile(r"\$(\$?)\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _check_section(section: Section, data: object, where: str,
                   context: _Context) -> dict[str, Any]:
    """Given a schema section and its data (None: left out), return every key's checked value,
    defaults filled in. Raise ConfigError on an unknown key, a wrong type or a missing key."""
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise context.error(where, f"expected a mapping of keys, got {_describe(data)}")
    for key in data:
        if not isinstance(key, str) or key not in section.options:
            raise context.error(_join(where, str(key)), _unknown_key(str(key), section))
    checked: dict[str, Any] = {}
    for name, spec in section.options.items():
        value = data.get(name, _MISSING)
        if isinstance(spec, Section):
            checked[name] = _check_section(spec, None if value is _MISSING else value,
                                           _join(where, name), context)
        else:
            checked[name] = _check_option(spec, value, _join(where, name), context)
    return checked


def _check_option(spec: Option, value: object, where: str, context: _Context) -> Any:
    """Given an option's schema, its raw value (or _MISSING) and its key, return the value with
    `${VAR}` expanded, or the default. Raise ConfigError if it is missing or of the wrong type."""
    if value is _MISSING:
        if spec.required:
            raise context.error(where, "required key is missing")
        return spec.default
    if value is None and spec.nullable:
        return None
    if spec.kind == "list":
        return _check_list(spec, value, where, context)
    if not _has_kind(spec.kind, value):
        got = _describe(value)
        if value is None and spec.kind == "path":  # YAML reads a bare ~ as null
            got = "null (no value; write '~' in quotes for the home folder)"
        raise context.error(where, f"expected {KINDS[spec.kind]}, got {got}")
    if isinstance(value, str) and spec.expand_env:
        value = expand_variables(value, where, context.env, context.source)
    _check_choice(spec, value, where, context)
    return value


def _check_list(spec: Option, value: object, where: str, context: _Context) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise context.error(where, f"expected {KINDS['list']}, got {_describe(value)}")
    items: list[str] = []
    for index, item in enumerate(value):
        item_where = f"{where}[{index}]"
        if not isinstance(item, str):
            raise context.error(item_where, f"expected a string, got {_describe(item)}")
        item = expand_variables(item, item_where, context.env, context.source)
        _check_choice(spec, item, item_where, context)
        if item not in items:
            items.append(item)
    return tuple(items)


def _has_kind(kind: str, value: object) -> bool:
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "duration":
        return isinstance(value, (str, int, float)) and not isinstance(value, bool)
    return isinstance(value, str)


def _check_choice(spec: Option, value: object, where: str, context: _Context) -> None:
    if spec.choices and value not in spec.choices:
        raise context.error(where, f"expected one of {', '.join(spec.choices)}, got {value!r}")


def expand_variables(text: str, where: str, env: Mapping[str, str],
                     source: Path | None = None) -> str:
    """Given a string value and its key, return it with each `${VAR}` replaced from `env`
    (`$${VAR}` stays a literal `${VAR}`). Raise ConfigError naming the key and the variable if
    one is not set."""

    def replace(match: re.Match[str]) -> str:
        escaped, name = match.groups()
        if escaped:
            return "${" + name + "}"
        if name not in env:
            raise ConfigError(source, where, f"environment variable ${{{name}}} is not set")
        return env[name]

    return _VARIABLE.sub(replace, text)


def _unknown_key(key: str, section: Section) -> str:
    """Given an unknown key and its section, return the problem, with the likeliest fix."""
    close = difflib.get_close_matches(key, list(section.options), n=1, cutoff=0.6)
    if close:
        return f"unknown key (did you mean '{close[0]}'?)"
    elsewhere = [path for path in _all_keys(SCHEMA, "") if path.rsplit(".", 1)[-1] == key]
    if elsewhere:
        return f"unknown key here (did you mean '{elsewhere[0]}'?)"
    return f"unknown key (expected one of {', '.join(section.options)})"


def _all_keys(section: Section, where: str) -> list[str]:
    keys: list[str] = []
    for name, spec in section.options.items():
        keys.append(_join(where, name))
        if isinstance(spec, Section):
            keys.extend(_all_keys(spec, _join(where, name)))
    return keys


def _join(where: str, name: str) -> str:
    return f"{where}.{name}" if where else name


def _describe(value: object) -> str:
    """Given a YAML value, return its type as a user would name it (never the value itself:
    it may be the token)."""
    if value is None:
        return "null (no value)"
    for kind, name in ((bool, "a boolean"), (int, "an integer"), (float, "a number"),
                       (str, "a string"), (list, "a list"), (Mapping, "a mapping")):
        if isinstance(value, kind):
            return name
    return f"a {type(value).__name__}"


# --------------------------------------------------------------------------------------------
# The semantic pass: what the types alone do not say
# --------------------------------------------------------------------------------------------


def _build_config(tree: Mapping[str, Any], context: _Context, require_token: bool) -> Config:
    vault = _vault(tree["vault"], context)
    return Config(
        source=context.source,
        readwise=ReadwiseConfig(
            token=_token(tree["readwise"], context, require_token),
            base_url=_base_url(tree["readwise"]["base_url"], context),
            token_file=_token_file(tree["readwise"], context),
        ),
        vault=vault,
        state_dir=_state_dir(tree["state_dir"], vault.path, context),
        sync=_sync(tree["sync"], context),
        templates=_templates(tree, vault, context),
        log_level=tree["log_level"],
    )


def _templates(tree: Mapping[str, Any], vault: VaultConfig,
               context: _Context) -> Mapping[str, str]:
    """The templates the user overrides; with sync.frontmatter and no templates.frontmatter,
    the built-in front matter. Front matter is Obsidian's: refused for a Logseq graph."""
    templates = {name: text for name, text in tree["templates"].items() if text is not None}
    if vault.format != "obsidian":
        for key, on in (("sync.frontmatter", tree["sync"]["frontmatter"]),
                        ("templates.frontmatter", "frontmatter" in templates)):
            if on:
                raise context.error(key, "front matter is for vault.format obsidian; a Logseq "
                                         "page's properties are its metadata template")
    if tree["sync"]["frontmatter"] and "frontmatter" not in templates:
        from syncd.core.templates import default_frontmatter

        templates["frontmatter"] = default_frontmatter()
    return MappingProxyType(templates)


_NO_TOKEN = "no Readwise token (set readwise.token, readwise.token_file or $READWISE_TOKEN)"
_BAD_TOKEN_CHARACTER = re.compile(r"[\s\x00-\x1f\x7f]")


def _token(section: Mapping[str, Any], context: _Context, require_token: bool) -> str:
    """Return the token: $READWISE_TOKEN, else readwise.token, else readwise.token_file's text.

    Raise ConfigError (never quoting the token) if none is found or it cannot be read, unless
    `require_token` is false: then return "" instead.
    """
    try:
        token = _find_token(section, context)
    except ConfigError:
        if require_token:
            raise
        return ""
    if not token and require_token:
        raise context.error("readwise.token", _NO_TOKEN)
    return token


def _find_token(section: Mapping[str, Any], context: _Context) -> str:
    from_env = context.env.get("READWISE_TOKEN", "").strip()
    if from_env:
        return _checked_token(from_env, "readwise.token", "$READWISE_TOKEN", context)
    if section["token"]:
        text = expand_variables(section["token"], "readwise.token", context.env,
                                context.source).strip()
        if text:
            return _checked_token(text, "readwise.token", "the token", context)
    if section["token_file"]:
        where = "readwise.token_file"
        path = _path(expand_variables(section["token_file"], where, context.env,
                                      context.source), where, context)
        return _checked_token(_read_token_file(path, context), where, f"{path}", context)
    return ""


def _token_file(section: Mapping[str, Any], context: _Context) -> Path | None:
    """Return readwise.token_file's path; None when it is not set or names a variable that is
    not set (reading the token reports that, when the file is needed)."""
    if not section["token_file"]:
        return None
    where = "readwise.token_file"
    try:
        return _path(expand_variables(section["token_file"], where, context.env,
                                      context.source), where, context)
    except ConfigError:
        return None


def _read_token_file(path: Path, context: _Context) -> str:
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


def _checked_token(token: str, where: str, what: str, context: _Context) -> str:
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


def _base_url(text: str, context: _Context) -> str:
    """Return the API address without a trailing slash. Raise ConfigError unless it is https://,
    or http:// to a loopback host. Messages show the URL redacted (`redact_url`)."""
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
        raise context.error(where, f"{shown} is not https:// (http:// is allowed only for "
                                   "127.0.0.1, localhost and ::1)")
    return text.strip().rstrip("/")


def _vault(section: Mapping[str, Any], context: _Context) -> VaultConfig:
    return VaultConfig(
        path=_path(section["path"], "vault.path", context),
        format=section["format"],
        folder=_folder(section["folder"], context),
        timezone=_timezone(section["timezone"], context),
    )


def _folder(text: str | None, context: _Context) -> str | None:
    """Return the folder, normalised. Raise ConfigError if it could lead out of the vault."""
    if text is None:
        return None
    if not text.strip():
        raise context.error("vault.folder", "must not be empty (use '.' for the vault's top "
                                            "folder, or null for the default)")
    folder = PurePosixPath(text)
    if folder.is_absolute() or ".." in folder.parts:
        raise context.error("vault.folder", f"{text!r} must be a folder inside the vault "
                                            "(a relative path without '..')")
    return str(folder)


def _timezone(name: str | None, context: _Context) -> str | None:
    if name is None:
        return None
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise context.error("vault.timezone", f"unknown time zone {name!r} (expected an IANA "
                                              "name such as Europe/Berlin)") from None
    return name


def _state_dir(text: str | None, vault: Path, context: _Context) -> Path:
    """Return the state folder (the XDG default when `text` is None). Raise ConfigError if it
    is inside the vault."""
    if text is None:
        state_dir = _xdg_dir(context.env, "XDG_STATE_HOME", ".local/state") / "syncd"
        which = "the default state_dir"
    else:
        state_dir = _path(text, "state_dir", context)
        which = "state_dir"
    resolved_state, resolved_vault = state_dir.resolve(), vault.resolve()
    if resolved_state == resolved_vault or resolved_vault in resolved_state.parents:
        raise context.error("state_dir", f"{which} {state_dir} is inside the vault {vault}; "
                                         "set state_dir to a folder outside it")
    return state_dir


def _sync(section: Mapping[str, Any], context: _Context) -> SyncConfig:
    sync_log_page = section["sync_log_page"]
    if sync_log_page is not None and not sync_log_page.strip():
        raise context.error("sync.sync_log_page", "must not be empty (use null to disable "
                                                  "the sync log)")
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
    )


def _categories(categories: tuple[str, ...], context: _Context) -> tuple[str, ...]:
    if not categories:
        raise context.error("sync.categories", "must list at least one category (any of "
                                               f"{', '.join(CATEGORIES)})")
    return categories


_DURATION = re.compile(
    r"(?:(?P<d>\d+(?:\.\d+)?)\s*d)?\s*(?:(?P<h>\d+(?:\.\d+)?)\s*h)?\s*"
    r"(?:(?P<m>\d+(?:\.\d+)?)\s*m)?\s*(?:(?P<s>\d+(?:\.\d+)?)\s*s)?")
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
    return sum(float(amount) * _UNIT_SECONDS[unit]
               for unit, amount in match.groupdict().items() if amount is not None)


def _interval(value: str | float, context: _Context) -> float:
    seconds = parse_duration(value)
    if seconds is None or not math.isfinite(seconds):
        raise context.error("sync.interval", f"expected {KINDS['duration']}, got {value!r}")
    if not MIN_INTERVAL <= seconds <= MAX_INTERVAL:
        raise context.error("sync.interval", f"{value!r} is out of range (from 1s to 365d)")
    return seconds


def _path(text: str, where: str, context: _Context) -> Path:
    """Given a path from the config, return it absolute: `~` expanded, and a relative path taken
    from the config file's folder (the current folder when there is no file)."""
    if not text.strip():
        raise context.error(where, "must not be empty")
    expanded = Path(_expand_home(text, context.env))
    base = context.source.parent if context.source else Path.cwd()
    return Path(os.path.abspath(base / expanded))


def _expand_home(text: str, env: Mapping[str, str]) -> str:
    """Given a path, return it with a leading `~` replaced by $HOME from `env`."""
    if text == "~" or text.startswith("~/"):
        return _home(env) + text[1:]
    return os.path.expanduser(text)  # ~user, or nothing to do


def _home(env: Mapping[str, str]) -> str:
    return env.get("HOME") or str(Path.home())


def _xdg_dir(env: Mapping[str, str], variable: str, fallback: str) -> Path:
    """Return an XDG base folder: $variable when set and absolute (as the XDG spec asks), else
    ~/fallback."""
    value = env.get(variable, "")
    if value and os.path.isabs(value):
        return Path(value)
    return Path(_home(env)) / fallback


# --------------------------------------------------------------------------------------------
# The generated configs
# --------------------------------------------------------------------------------------------

_WIDTH = 100

_EXAMPLE_HEADER = """\
syncd configuration: every key, with its default. Generated from the schema in syncd/config.py
(`syncd.config.example_config()`); do not edit by hand.

syncd reads --config PATH, else $SYNCD_CONFIG, else $XDG_CONFIG_HOME/syncd/config.yaml
(~/.config/syncd/config.yaml). Keys left out take their defaults; a key shown commented out has
no fixed default. ${VAR} in any value is replaced by the environment variable VAR ($${VAR} for a
literal ${VAR}); ~ is your home folder; a relative path is relative to this file's folder."""

_STARTER_HEADER = """\
syncd configuration, written by `syncd init` (see `syncd init --help`). Only the keys most people
set; syncd's README describes the others and what syncd does with your pages. ${VAR} in a value
is replaced by the environment variable VAR."""

_STARTER_KEYS = ("readwise.token", "readwise.token_file", "vault.path", "vault.format",
                 "sync.interval")


def example_config() -> str:
    """Return the text of config.example.yaml: every key of the schema, with its description
    and default (commented out, with an example, when it has no fixed default)."""
    lines = [*_comment(_EXAMPLE_HEADER, 0), ""]
    lines += _render_section(SCHEMA, "", 0, values={}, only=None)
    return "\n".join(lines) + "\n"


def key_table() -> str:
    """Return the README's table of every key of the schema: the key, its default (or what
    decides it) and what it does, in Markdown (a test keeps the README in step with it)."""
    rows = ["| key | default | what it does |", "| --- | --- | --- |"]
    for key, spec in _all_options(SCHEMA, ""):
        if spec.required:
            default = "required"
        elif spec.default is not None:
            default = f"`{_yaml_scalar(spec.default)}`"
        else:
            default = spec.default_doc or "none"
        rows.append(f"| `{key}` | {_cell(default)} | {_cell(spec.description)} |")
    return "\n".join(rows) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _all_options(section: Section, where: str) -> list[tuple[str, Option]]:
    options: list[tuple[str, Option]] = []
    for name, spec in section.options.items():
        if isinstance(spec, Section):
            options += _all_options(spec, _join(where, name))
        else:
            options.append((_join(where, name), spec))
    return options


def starter_config(vault_path: str, token: str | None, *, vault_format: str = "logseq",
                   token_file: str | None = None) -> str:
    """Given the vault's path, the token (None: the user gives it another way), the vault's
    format and the token file, return a short commented config for `syncd init` to write."""
    values: dict[str, Any] = {"vault.path": vault_path, "vault.format": vault_format}
    if token:
        values["readwise.token"] = token
    if token_file:
        values["readwise.token_file"] = token_file
    lines = [*_comment(_STARTER_HEADER, 0), ""]
    lines += _render_section(SCHEMA, "", 0, values=values, only=frozenset(_STARTER_KEYS))
    return "\n".join(lines) + "\n"


def _render_section(section: Section, where: str, indent: int, *, values: Mapping[str, Any],
                    only: frozenset[str] | None) -> list[str]:
    """Return the YAML lines of a section's keys: each one's description as a comment, then
    the key (commented out when it has no value to show); a blank line between keys.
    `values` overrides shown values by dotted key; `only` limits which keys are shown."""
    lines: list[str] = []
    for name, spec in section.options.items():
        key = _join(where, name)
        if only is not None and not any(k == key or k.startswith(key + ".") for k in only):
            continue
        if lines:
            lines.append("")
        lines += _comment(spec.description if isinstance(spec, Section)
                          else _option_comment(spec), indent)
        if isinstance(spec, Section):
            lines.append(f"{' ' * indent}{name}:")
            lines += _render_section(spec, key, indent + 2, values=values, only=only)
        else:
            lines.append(_option_line(name, spec, indent, values.get(key, _MISSING)))
    return lines


def _option_comment(spec: Option) -> str:
    if spec.default is None and spec.default_doc:
        return f"{spec.description} Default: {spec.default_doc}."
    return spec.description


def _option_line(name: str, spec: Option, indent: int, value: object) -> str:
    pad = " " * indent
    if value is not _MISSING:
        return f"{pad}{name}: {_yaml_scalar(value)}"
    if spec.required:
        return f"{pad}{name}: {_yaml_scalar(spec.example)}"
    if spec.default is not None:
        return f"{pad}{name}: {_yaml_scalar(spec.default)}"
    return f"{pad}# {name}: {_yaml_scalar(spec.example)}"


def _yaml_scalar(value: object) -> str:
    """Return a value as one line of YAML (a list in flow style)."""
    if isinstance(value, tuple):
        value = list(value)
    text = yaml.safe_dump(value, default_flow_style=True, allow_unicode=True, width=10**9)
    return text.removesuffix("\n").removesuffix("\n...").strip()


def _comment(text: str, indent: int) -> list[str]:
    """Return `text` as comment lines, wrapped to the line width; its own line breaks kept."""
    pad = " " * indent
    lines: list[str] = []
    for paragraph in text.splitlines():
        wrapped = textwrap.wrap(paragraph, width=_WIDTH - indent - 2, break_on_hyphens=False,
                                break_long_words=False) or [""]
        lines += [f"{pad}# {line}".rstrip() for line in wrapped]
    return lines


# --------------------------------------------------------------------------------------------
# Permissions
# --------------------------------------------------------------------------------------------


def config_permission_warning(path: Path) -> str | None:
    """Given a config file's path, return a one-line warning if the file holds a token and
    others than its owner may read it; None otherwise (also when it cannot be read or parsed:
    loading it reports that)."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
        data = yaml.safe_load(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None
    if not mode & 0o044 or not _holds_token(data):
        return None
    who = {0o040: "its group", 0o004: "other users"}.get(mode & 0o044, "its group and others")
    return (f"{path} holds a Readwise token and can be read by {who} (mode {mode:04o}); "
            f"run: chmod 600 {path}")


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
    return (f"the token file {path} (readwise.token_file) can be read by {who} "
            f"(mode {mode:04o}); run: chmod 600 {path}")


def _holds_token(data: object) -> bool:
    """Whether a parsed config writes the token itself (not only `${VAR}` references)."""
    readwise = data.get("readwise") if isinstance(data, Mapping) else None
    token = readwise.get("token") if isinstance(readwise, Mapping) else None
    return isinstance(token, (str, int)) and bool(_VARIABLE.sub("", str(token)).strip())
