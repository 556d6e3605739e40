"""The schema of the configuration: every key with its type, default, description and example.

The single source of truth: checking (`check`), defaults, config.example.yaml, the README's
table and the starter config (`generate`) are all derived from `SCHEMA`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

#: What each kind of option accepts, as said in "expected ..." messages.
KINDS: Mapping[str, str] = MappingProxyType(
    {
        "string": "a string",
        "path": "a path (a string)",
        "boolean": "true or false",
        "duration": "a duration such as 60m, 90s, 2h or 1h30m, or a number of seconds",
        "list": "a list of strings",
    }
)


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
PUSH_FIELDS = ("note", "tags", "text")  # as syncd.core.fields.FIELDS
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
                    "allowed for 127.0.0.1, localhost and ::1 (a local test server). The API's "
                    "own path, /api/v2 (as pasted from Readwise's docs), is left out: syncd "
                    "adds it. `syncd init --base-url` sets it.",
                    default="https://readwise.io",
                ),
            },
        ),
        "vault": Section(
            description="The Logseq graph or Obsidian vault the pages are written to.",
            options={
                "path": Option(
                    "path",
                    "The graph's or vault's top folder. Required. A folder one off (a Logseq "
                    "graph's pages/ or journals/, a folder inside an Obsidian vault) is "
                    "refused, naming the graph or vault above it.",
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
                    '"Readwise".',
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
                    "boolean", "Whether `syncd run` syncs as soon as it starts.", default=True
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
                    "Sync only books that carry at least one of these tags (empty: every book).",
                    default=(),
                ),
                "exclude_tags": Option(
                    "list", "Never sync books that carry any of these tags.", default=()
                ),
                "update_changed_highlights": Option(
                    "boolean",
                    "Rewrite a highlight changed in Readwise, when you have not edited its block.",
                    default=True,
                ),
                "remove_deleted_highlights": Option(
                    "boolean",
                    "Remove a highlight deleted in Readwise, when you have not edited its block.",
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
                "block_ids": Option(
                    "boolean",
                    "Give every highlight block a stable id derived from its Readwise id "
                    "(Logseq: an id:: property; Obsidian: ^rw<id>), so block references keep "
                    "resolving after a resync and on other machines. Blocks you edited get none.",
                    default=False,
                ),
                "reader_full_text": Option(
                    "boolean",
                    "Write the full text of each synced Readwise Reader document (fetched from "
                    "Reader's API, as Markdown) to Full Document Contents/, linked from its "
                    "book's new page; written once, never over your edits.",
                    default=False,
                ),
                "push": Option(
                    "list",
                    "The fields of a highlight whose edits in the vault flow back to Readwise: "
                    "any of note, tags, text (empty: one-way sync, as before). See the README's "
                    '"Your edits reach Readwise".',
                    default=(),
                    choices=PUSH_FIELDS,
                ),
                "push_delay": Option(
                    "duration",
                    "How long `syncd run` waits after a page was last saved before it pushes "
                    "its edits (a note half-typed is never sent); `syncd sync` pushes at once.",
                    default="60s",
                ),
            },
        ),
        "templates": Section(
            description="Optional Jinja2 templates, with Readwise's own variable names, that "
            "replace the built-in ones (see the README). Leave a key out to keep the built-in "
            "template.",
            options={
                "page_title": Option(
                    "string",
                    "The page's title.",
                    example="{{ title }} (highlights)",
                    default_doc="built in",
                    nullable=True,
                ),
                "metadata": Option(
                    "string",
                    "The page's properties or metadata block.",
                    example="author:: [[{{ author }}]]",
                    default_doc="built in",
                    nullable=True,
                ),
                "highlight_header": Option(
                    "string",
                    "The block heading each sync's new highlights.",
                    example="New highlights added [[{{ date }}]] at {{ time }}",
                    default_doc="built in",
                    nullable=True,
                ),
                "highlight": Option(
                    "string",
                    "One highlight.",
                    example="{{ highlight_text }}",
                    default_doc="built in",
                    nullable=True,
                ),
                "sync_log": Option(
                    "string",
                    "One line of the sync log page.",
                    example="On [[{{ date }}]] Readwise synced {{ num_highlights }} "
                    "highlight{{ num_highlights|pluralize }}.",
                    default_doc="built in",
                    nullable=True,
                ),
                "frontmatter": Option(
                    "string",
                    "Obsidian only: a new page's YAML front matter, without the "
                    "--- lines; each {{ value }} is written as a YAML value of its type.",
                    example="author: {{ authors }}",
                    default_doc="none (see sync.frontmatter)",
                    nullable=True,
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
