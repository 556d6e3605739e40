"""A vault's folders as the search for a page that left sees them: a folder's stamp (what
changes when a name in it is added, removed or renamed) and its names, listed without a stat
per file. A folder that cannot be listed is named in one warning (per process and folder)."""

from __future__ import annotations

import logging
import os
import stat

from syncd.ports import FolderStamp

log = logging.getLogger("syncd.vault")


def folder_stamp(path: str) -> FolderStamp | None:
    """The stamp of the folder at `path`; None when there is no folder there (a link to one
    included)."""
    try:
        found = os.lstat(path)
    except OSError:
        return None
    if not stat.S_ISDIR(found.st_mode):
        return None
    return found.st_dev, found.st_ino, found.st_mtime_ns, found.st_ctime_ns


def list_folder(path: str, warned: set[str]) -> tuple[list[str], dict[str, int]] | None:
    """The names in the folder at `path`: its folders that can hold pages (neither hidden, nor
    `node_modules`, nor links) and its files (links too, as a walk of the vault lists them),
    each with the inode number the listing gives (not a stat; 0 for a link; on some file
    systems not the file's). None when it cannot be listed (gone, or not readable: then a
    warning names it, unless `warned` holds it already)."""
    folders: list[str] = []
    files: dict[str, int] = {}
    try:
        with os.scandir(path) as entries:
            for entry in entries:
                try:
                    is_folder = entry.is_dir()
                    if is_folder and entry.is_symlink():
                        continue  # never followed: a loop, or a folder out of the vault
                except OSError:
                    continue
                if not is_folder:  # a link's number is its own: 0, not known
                    files[entry.name] = 0 if entry.is_symlink() else entry.inode()
                elif not entry.name.startswith(".") and entry.name != "node_modules":
                    folders.append(entry.name)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as error:
        warn_unlisted(path, error, warned)
        return None
    return folders, files


def warn_unlisted(path: str, error: OSError, warned: set[str]) -> None:
    """Warn, once (`warned` remembers), that the folder at `path` cannot be listed."""
    if path not in warned:
        warned.add(path)
        log.warning(
            "folder %s cannot be listed (%s): pages in it are not looked at",
            path,
            error.strerror or error,
        )
