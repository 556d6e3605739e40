"""Which files of a vault are pages, and the names of syncd's own temporary files. Pure."""

from __future__ import annotations

from pathlib import PurePosixPath

PAGE_SUFFIX = ".md"
_SKIPPED_FOLDERS = frozenset({"node_modules"})
_SKIPPED_LOGSEQ_FOLDERS = frozenset({"bak", ".recycle", "version-files"})
_TEMP_SUFFIXES = ("~", ".swp", ".tmp")
_TEMP_NAMES = frozenset({"4913"})
TEMP_PREFIX = ".syncd-"
TEMP_SUFFIX = ".tmp"


def is_page(relative_path: str) -> bool:
    """Given a path relative to the vault root, return whether it can be a page.

    A page is a ``*.md`` file that is not hidden, not an editor's temporary, swap or backup file,
    and not under a hidden folder (``.git``, ``.obsidian``, ``.trash``, ``logseq/.recycle``),
    ``node_modules``, ``logseq/bak`` or ``logseq/version-files``.
    """
    parts = PurePosixPath(relative_path).parts
    if not parts or parts[0] == "/" or ".." in parts:
        return False
    name = parts[-1]
    if not name.endswith(PAGE_SUFFIX):
        return False
    if name.endswith(_TEMP_SUFFIXES) or name in _TEMP_NAMES or name.startswith(".#"):
        return False
    for index, part in enumerate(parts):
        if part.startswith(".") or part in _SKIPPED_FOLDERS:
            return False
        folder_below = parts[index + 1] if index + 2 < len(parts) else None
        if part == "logseq" and folder_below in _SKIPPED_LOGSEQ_FOLDERS:
            return False
    return True
