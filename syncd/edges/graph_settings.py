"""What a Logseq graph's `logseq/config.edn` says about pages: file-name format, journal title
format and pages folder. Read with a few patterns, not a full EDN parser: only these keys matter.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from syncd.core.render import DEFAULT_JOURNAL_FORMAT


@dataclass(frozen=True)
class GraphSettings:
    name_format: str = "triple-lowbar"  # Logseq's default for new graphs
    journal_format: str = DEFAULT_JOURNAL_FORMAT
    pages_directory: str = "pages"
    journals_directory: str = "journals"
    found: bool = False  # whether the graph has a logseq/config.edn at all


def _strip_comments(edn: str) -> str:
    """Drop `;` comments, leaving `;` inside strings alone."""
    return re.sub(r'("(?:[^"\\]|\\.)*")|;[^\n]*', lambda m: m.group(1) or "", edn)


def _string_value(edn: str, key: str) -> str | None:
    match = re.search(re.escape(key) + r'\s+"((?:[^"\\]|\\.)*)"', edn)
    return match.group(1).replace('\\"', '"') if match else None


def parse_settings(edn: str | None) -> GraphSettings:
    """Given the text of `logseq/config.edn` (None when the graph has none), return its settings.

    A graph with a config.edn that lacks `:file/name-format` is `:legacy`, as Logseq reads it;
    a graph with none at all gets `:triple-lowbar`, Logseq's default for new graphs."""
    if edn is None:
        return GraphSettings()
    edn = _strip_comments(edn)
    name_format = re.search(r":file/name-format\s+:([\w-]+)", edn)
    return GraphSettings(
        name_format=name_format.group(1) if name_format else "legacy",
        journal_format=_string_value(edn, ":journal/page-title-format") or DEFAULT_JOURNAL_FORMAT,
        pages_directory=_string_value(edn, ":pages-directory") or "pages",
        journals_directory=_string_value(edn, ":journals-directory") or "journals",
        found=True,
    )


def read_settings(graph: Path) -> GraphSettings:
    try:
        text = (graph / "logseq" / "config.edn").read_text(encoding="utf-8", errors="replace")
    except (FileNotFoundError, NotADirectoryError):
        return parse_settings(None)
    return parse_settings(text)
