"""Naming a new book's page: its title, its file name, and whether a page there is one to adopt.

Two books never share a page: a name another book has, or a page syncd did not write, makes the
name (and a Logseq title) distinct with a number (Logseq `Title (2)`, Obsidian `Title-2.md` as
Readwise's export names them); numbers never run out. A page the official plugin wrote for the
book (its title line and first-sync header) is adopted where it is.
"""

from __future__ import annotations

import itertools
from collections.abc import Set
from datetime import datetime, timezone
from pathlib import Path

from syncd.core.model import Book
from syncd.core.render import LOGSEQ, PageFormat, page_title
from syncd.engine.sync_settings import SyncSettings
from syncd.ports import PageFile, StatePort, VaultPort

# Readwise's export collapses runs of spaces in file names since early 2025; files it named
# before keep them (`UX  UX Booth.md`). A first sync before this moment names them as it did.
SPACES_COLLAPSED_SINCE = datetime(2025, 1, 1, tzinfo=timezone.utc)


class PageNamer:
    """Chooses new books' pages for one sync, remembering per name the number to try first."""

    def __init__(self, vault: VaultPort, state: StatePort, settings: SyncSettings) -> None:
        self.vault = vault
        self.state = state
        self.settings = settings
        # (casefolded name, category) -> the number to try first for a clash of that name
        self._hints: dict[tuple[str, str], int] = {}
        # The folder new pages of each category go in, and whether nothing was there when first
        # asked (a first sync into a new vault or category folder): then no page in it is read
        # to adopt or to avoid. Once syncd makes the folder, what is in it is its own new pages
        # (`new_paths`) or files put there meanwhile, which placing a new page never replaces.
        self._folders: dict[str, Path] = {}
        self._no_folder: dict[Path, bool] = {}

    def choose(
        self, book: Book, now: datetime, new_names: Set[str], new_paths: Set[str]
    ) -> tuple[str, str, Path, PageFile | None]:
        """Return a new book's page: its title (as the page states it), its name (as syncd and
        the file know it: the title in Logseq, the book's title in Obsidian), its path, and the
        page itself if it is one to adopt.

        Two books never share a page: a name another book has, or a page syncd did not write,
        makes the name (and a Logseq title) distinct with a number; numbers never run out. The
        names taken are known (`PageNames`, and `new_names` and `new_paths` of the pages written
        but not yet remembered); only a free name's file is read. The number to try
        first is remembered per name, so that the 1,000th book of one title tries one name, not
        a thousand."""
        fmt, layout = self.settings.style.page_format, self.settings.layout
        base = page_title(book, self.settings.style, now)
        base_name = base if fmt is LOGSEQ else book.title
        owned = self.state.page_names()
        hint = (base_name.casefold(), book.category)
        folder_there = not self._no_folder_for(book.category)
        if fmt is not LOGSEQ:
            # Both file names (the title's runs of spaces collapsed, and as before 2025) made
            # once, not once per number tried; most titles have one name for both.
            stem, older_stem = layout.obsidian_stems(base_name)
            if now < SPACES_COLLAPSED_SINCE:
                stem = older_stem
        for n in itertools.count(self._hints.get(hint, 1)):
            if fmt is LOGSEQ:
                suffix = "" if n == 1 else f" ({n})"
                name, title = base_name + suffix, base + suffix
                path = layout.page_path(name, book.category)
            else:
                # Readwise's `x.com-2.md`: the file name numbered, the `# title` as it is.
                name, title = base_name + ("" if n == 1 else f"-{n}"), base
                path = layout.obsidian_path(stem, book.category, n)
            relative = self.vault.relative(path)
            if (
                owned.has_name(name.casefold())
                or owned.has_path(relative)
                or name.casefold() in new_names
                or relative in new_paths
            ):
                continue
            if not folder_there:
                self._hints[hint] = n + 1
                return title, name, path, None
            if fmt is LOGSEQ:
                # The plugin's page where Logseq named it (a control character in its name).
                native = layout.logseq_named_path(name)
                if (
                    native is not None
                    and native != path
                    and not owned.has_path(self.vault.relative(native))
                    and self.vault.relative(native) not in new_paths
                ):
                    found = self.vault.read(native)
                    if found.text is not None and _written_by_readwise(
                        found.text, fmt.title_line(title), fmt
                    ):
                        return title, name, native, found
            elif older_stem != stem:
                # The plugin's file named before 2025 (`UX  UX Booth.md`) is adopted where it is.
                older = layout.obsidian_path(older_stem, book.category, n)
                if not owned.has_path(self.vault.relative(older)):
                    found = self.vault.read(older)
                    if found.text is not None and _written_by_readwise(
                        found.text, fmt.title_line(title), fmt
                    ):
                        return title, name, older, found
            existing = self.vault.read(path)
            if existing.text is None or _written_by_readwise(
                existing.text, fmt.title_line(title), fmt
            ):
                self._hints[hint] = n + 1
                return title, name, path, existing if existing.text is not None else None
        raise AssertionError("unreachable: page names never run out")

    def _no_folder_for(self, category: str) -> bool:
        """True when nothing was at the folder of new pages of `category` when first asked in
        this sync (see `_no_folder`): a read of a page in it cannot find one."""
        folder = self._folders.get(category)
        if folder is None:
            folder = self._folders[category] = self.settings.layout.page_folder(category)
        missing = self._no_folder.get(folder)
        if missing is None:
            missing = self._no_folder[folder] = self.vault.no_folder(folder)
        return missing


def _after_frontmatter(text: str) -> str:
    """A Markdown page's text after its YAML front matter (`---` ... `---` first), if any."""
    if text.startswith("---\n"):
        end = text.find("\n---\n", 3)
        if end != -1:
            return text[end + 5 :]
    return text


def _written_by_readwise(text: str, title_line: str, fmt: PageFormat) -> bool:
    """True for a page the Readwise export (or syncd) wrote, starting with this title line (in
    Obsidian exactly: a title differing in case is another book's)."""
    first = text.split("\n", 1)[0]
    if fmt.name == "obsidian":
        first = _after_frontmatter(text).split("\n", 1)[0]
        return fmt.first_sync_mark in text and first == title_line
    return fmt.first_sync_mark in text and first.casefold() == title_line.casefold()
