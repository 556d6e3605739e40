"""The configuration as the rest of syncd reads it: frozen dataclasses, built once by `build`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class ReadwiseConfig:
    token: str = field(repr=False)  # "" when none was required and none was found
    base_url: str  # without a trailing slash
    token_file: Path | None = None  # readwise.token_file, when set (and its ${VAR}s are)
    # Where the token and the base URL came from, for messages that say where to look.
    token_source: str = "readwise.token or $READWISE_TOKEN"
    base_url_source: str = "readwise.base_url"


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
    block_ids: bool = False  # highlight blocks carry ids derived from their Readwise ids
    reader_full_text: bool = False  # Reader documents' text written to Full Document Contents
    push: tuple[str, ...] = ()  # the fields whose vault edits flow back to Readwise
    push_delay: float = 60.0  # seconds a page is left alone before the daemon pushes it


@dataclass(frozen=True)
class Config:
    source: Path | None
    readwise: ReadwiseConfig
    vault: VaultConfig
    state_dir: Path
    sync: SyncConfig
    templates: Mapping[str, str]  # only the templates the user overrides
    log_level: str
