"""Finding the config file and reading it: the path's precedence, the YAML (duplicate keys are
refused), then the structural (`check`) and semantic (`build`) passes.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from syncd.config.build import build_config, expand_home, xdg_dir
from syncd.config.check import Context, check_section, describe
from syncd.config.schema import SCHEMA
from syncd.config.values import Config
from syncd.errors import ConfigError


def find_config_path(explicit: str | None, env: Mapping[str, str]) -> Path:
    """Given `--config`'s value (or None) and the environment, return the config file's path.

    The order is `--config`, then `$SYNCD_CONFIG`, then `$XDG_CONFIG_HOME/syncd/config.yaml`
    (`~/.config` when XDG_CONFIG_HOME is unset or not absolute). The file may not exist.
    """
    chosen = explicit or env.get("SYNCD_CONFIG")
    if chosen:
        return Path(os.path.abspath(expand_home(chosen, env)))
    return xdg_dir(env, "XDG_CONFIG_HOME", ".config") / "syncd" / "config.yaml"


def load_config(path: Path, env: Mapping[str, str], *, require_token: bool = True) -> Config:
    """Given a config file's path and the environment, return its Config.

    Raise ConfigError, naming the file (and the key, and its line for bad YAML), if the file is
    missing, unreadable, not YAML, or not a valid configuration.
    """
    return config_from_mapping(
        _parse_yaml(path, _read_text(path)), path, env, require_token=require_token
    )


def config_from_mapping(
    data: object, source: Path | None, env: Mapping[str, str], *, require_token: bool = True
) -> Config:
    """Given parsed YAML (None for an empty file), its file and the environment, return a Config.

    With `require_token` false, a missing or unreadable token leaves `readwise.token` empty
    instead of failing (for commands that never talk to Readwise). Raise ConfigError, naming
    `source` and the key, for anything the configuration gets wrong.
    """
    context = Context(source, env)
    if data is not None and not isinstance(data, Mapping):
        raise context.error(None, f"expected a mapping of keys at the top, got {describe(data)}")
    tree = check_section(SCHEMA, data, "", context)
    return build_config(tree, context, require_token)


def _read_text(path: Path) -> str:
    """Given a config file's path, return its text. Raise ConfigError if it cannot be read."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(
            path, None, "no such file (write one with `syncd init`, or pass --config PATH)"
        ) from None
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


def _construct_unique_mapping(
    loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False
) -> dict[Any, Any]:
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
                None, None, f"duplicate key '{key}'", key_node.start_mark
            )
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_unique_mapping
)


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
