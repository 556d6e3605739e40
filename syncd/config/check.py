"""The structural pass: a config's keys and types against the schema, `${VAR}` expanded,
defaults filled in. Every problem is one ConfigError naming the file, the key and the value.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from syncd.config.schema import KINDS, SCHEMA, Option, Section
from syncd.errors import ConfigError


@dataclass(frozen=True)
class Context:
    source: Path | None
    env: Mapping[str, str]

    def error(self, key: str | None, problem: str) -> ConfigError:
        return ConfigError(self.source, key or None, problem)


MISSING = object()
VARIABLE = re.compile(r"\$(\$?)\{([A-Za-z_][A-Za-z0-9_]*)\}")


def check_section(section: Section, data: object, where: str, context: Context) -> dict[str, Any]:
    """Given a schema section and its data (None: left out), return every key's checked value,
    defaults filled in. Raise ConfigError on an unknown key, a wrong type or a missing key."""
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise context.error(where, f"expected a mapping of keys, got {describe(data)}")
    for key in data:
        if not isinstance(key, str) or key not in section.options:
            raise context.error(join_key(where, str(key)), _unknown_key(str(key), section))
    checked: dict[str, Any] = {}
    for name, spec in section.options.items():
        value = data.get(name, MISSING)
        if isinstance(spec, Section):
            checked[name] = check_section(
                spec, None if value is MISSING else value, join_key(where, name), context
            )
        else:
            checked[name] = _check_option(spec, value, join_key(where, name), context)
    return checked


def _check_option(spec: Option, value: object, where: str, context: Context) -> Any:
    """Given an option's schema, its raw value (or MISSING) and its key, return the value with
    `${VAR}` expanded, or the default. Raise ConfigError if it is missing or of the wrong type."""
    if value is MISSING:
        if spec.required:
            raise context.error(where, "required key is missing")
        return spec.default
    if value is None and spec.nullable:
        return None
    if spec.kind == "list":
        return _check_list(spec, value, where, context)
    if not _has_kind(spec.kind, value):
        got = describe(value)
        if value is None and spec.kind == "path":  # YAML reads a bare ~ as null
            got = "null (no value; write '~' in quotes for the home folder)"
        raise context.error(where, f"expected {KINDS[spec.kind]}, got {got}")
    if isinstance(value, str) and spec.expand_env:
        value = expand_variables(value, where, context.env, context.source)
    _check_choice(spec, value, where, context)
    return value


def _check_list(spec: Option, value: object, where: str, context: Context) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise context.error(where, f"expected {KINDS['list']}, got {describe(value)}")
    items: list[str] = []
    for index, item in enumerate(value):
        item_where = f"{where}[{index}]"
        if not isinstance(item, str):
            raise context.error(item_where, f"expected a string, got {describe(item)}")
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


def _check_choice(spec: Option, value: object, where: str, context: Context) -> None:
    if spec.choices and value not in spec.choices:
        raise context.error(where, f"expected one of {', '.join(spec.choices)}, got {value!r}")


def expand_variables(
    text: str, where: str, env: Mapping[str, str], source: Path | None = None
) -> str:
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

    return VARIABLE.sub(replace, text)


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
        keys.append(join_key(where, name))
        if isinstance(spec, Section):
            keys.extend(_all_keys(spec, join_key(where, name)))
    return keys


def join_key(where: str, name: str) -> str:
    return f"{where}.{name}" if where else name


def describe(value: object) -> str:
    """Given a YAML value, return its type as a user would name it (never the value itself:
    it may be the token)."""
    if value is None:
        return "null (no value)"
    for kind, name in (
        (bool, "a boolean"),
        (int, "an integer"),
        (float, "a number"),
        (str, "a string"),
        (list, "a list"),
        (Mapping, "a mapping"),
    ):
        if isinstance(value, kind):
            return name
    return f"a {type(value).__name__}"
