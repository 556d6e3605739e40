"""Configs generated from the schema: config.example.yaml, the README's table of every key, and
the starter config `syncd init` writes.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from typing import Any

import yaml

from syncd.config.check import MISSING, join_key
from syncd.config.schema import SCHEMA, Option, Section

_WIDTH = 100

_EXAMPLE_HEADER = """\
syncd configuration: every key, with its default. Generated from the schema
(syncd/config/schema.py, by `syncd.config.generate.example_config()`); do not edit by hand.

syncd reads --config PATH, else $SYNCD_CONFIG, else $XDG_CONFIG_HOME/syncd/config.yaml
(~/.config/syncd/config.yaml). Keys left out take their defaults; a key shown commented out has
no fixed default. ${VAR} in any value is replaced by the environment variable VAR ($${VAR} for a
literal ${VAR}); ~ is your home folder; a relative path is relative to this file's folder."""

_STARTER_HEADER = """\
syncd configuration, written by `syncd init` (see `syncd init --help`). Only the keys most people
set; syncd's README describes the others and what syncd does with your pages. ${VAR} in a value
is replaced by the environment variable VAR."""

_STARTER_KEYS = (
    "readwise.token",
    "readwise.token_file",
    "vault.path",
    "vault.format",
    "sync.interval",
)


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
            options += _all_options(spec, join_key(where, name))
        else:
            options.append((join_key(where, name), spec))
    return options


def starter_config(
    vault_path: str,
    token: str | None,
    *,
    vault_format: str = "logseq",
    token_file: str | None = None,
    base_url: str | None = None,
) -> str:
    """Given the vault's path, the token (None: the user gives it another way), the vault's
    format, the token file and the API's address (None: the default, not written), return a
    short commented config for `syncd init` to write."""
    values: dict[str, Any] = {"vault.path": vault_path, "vault.format": vault_format}
    keys = frozenset(_STARTER_KEYS)
    if base_url:
        values["readwise.base_url"] = base_url
        keys |= {"readwise.base_url"}
    if token:
        values["readwise.token"] = token
    if token_file:
        values["readwise.token_file"] = token_file
    lines = [*_comment(_STARTER_HEADER, 0), ""]
    lines += _render_section(SCHEMA, "", 0, values=values, only=keys)
    return "\n".join(lines) + "\n"


def _render_section(
    section: Section,
    where: str,
    indent: int,
    *,
    values: Mapping[str, Any],
    only: frozenset[str] | None,
) -> list[str]:
    """Return the YAML lines of a section's keys: each one's description as a comment, then
    the key (commented out when it has no value to show); a blank line between keys.
    `values` overrides shown values by dotted key; `only` limits which keys are shown."""
    lines: list[str] = []
    for name, spec in section.options.items():
        key = join_key(where, name)
        if only is not None and not any(k == key or k.startswith(key + ".") for k in only):
            continue
        if lines:
            lines.append("")
        lines += _comment(
            spec.description if isinstance(spec, Section) else _option_comment(spec), indent
        )
        if isinstance(spec, Section):
            lines.append(f"{' ' * indent}{name}:")
            lines += _render_section(spec, key, indent + 2, values=values, only=only)
        else:
            lines.append(_option_line(name, spec, indent, values.get(key, MISSING)))
    return lines


def _option_comment(spec: Option) -> str:
    if spec.default is None and spec.default_doc:
        return f"{spec.description} Default: {spec.default_doc}."
    return spec.description


def _option_line(name: str, spec: Option, indent: int, value: object) -> str:
    pad = " " * indent
    if value is not MISSING:
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
        wrapped = textwrap.wrap(
            paragraph, width=_WIDTH - indent - 2, break_on_hyphens=False, break_long_words=False
        ) or [""]
        lines += [f"{pad}# {line}".rstrip() for line in wrapped]
    return lines
