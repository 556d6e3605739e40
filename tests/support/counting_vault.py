"""A vault port that counts what the engine asks of the vault (files read, stat'ed, listed),
around the real vault: the counting tests compare those counts between vaults of different
sizes, without timing anything."""

from __future__ import annotations

import os
from collections import Counter
from contextlib import suppress
from pathlib import Path
from typing import Any

from syncd.edges.vault import PageFile, Vault
from syncd.ports import FolderStamp


class CountingVault:
    """Delegates to a real `Vault`; `counts` says how many files were read, stat'ed and listed
    (a listing counts every name it returned), and `reads` which pages were read."""

    def __init__(self, vault: Vault) -> None:
        self._vault = vault
        self.root = vault.root
        self.counts: Counter[str] = Counter()
        self.reads: list[str] = []

    def reset(self) -> None:
        self.counts.clear()
        self.reads.clear()

    def __getattr__(self, name: str) -> Any:  # what is not counted: written, checked
        return getattr(self._vault, name)

    def read(self, path: Path, *, candidate: bool = False) -> PageFile:
        self.counts["read"] += 1
        self.reads.append(self._vault.relative(path))
        return self._vault.read(path, candidate=candidate)

    def read_text(self, path: Path) -> str | None:
        self.counts["settings read"] += 1  # a settings file (Obsidian's daily notes)
        return self._vault.read_text(path)

    def stat(self, path: Path) -> tuple[int, int] | None:
        self.counts["stat"] += 1
        return self._vault.stat(path)

    def no_folder(self, folder: Path) -> bool:
        self.counts["stat"] += 1
        return self._vault.no_folder(folder)

    def stat_relative(self, relative: str) -> tuple[int, int] | None:
        self.counts["stat"] += 1
        return self._vault.stat_relative(relative)

    def file_id(self, path: Path) -> tuple[int, int] | None:
        self.counts["stat"] += 1
        return self._vault.file_id(path)

    def folder_stamp(self, relative: str) -> FolderStamp | None:
        self.counts["stat"] += 1
        return self._vault.folder_stamp(relative)

    def missing_or_empty(self) -> bool:
        self.counts["listed"] += 1  # stops at the first name
        return self._vault.missing_or_empty()

    def pages(self) -> list[Path]:
        found = self._vault.pages()
        self.counts["listed"] += len(found)
        self.counts["walks"] += 1
        return found

    def list_folder(self, relative: str) -> tuple[list[str], dict[str, int]] | None:
        listed = self._vault.list_folder(relative)
        if listed is not None:
            self.counts["listed"] += len(listed[0]) + len(listed[1])
        return listed

    def siblings(self, path: Path) -> set[str]:
        found = self._vault.siblings(path)
        self.counts["listed"] += len(found)
        return found

    def remove_temporary_files(self, folder: Path) -> int:
        with suppress(OSError):  # a listing of the folder, looking for what a crash left
            self.counts["listed"] += len(os.listdir(folder))
        return self._vault.remove_temporary_files(folder)

    def subfolders(self, folder: Path) -> set[str]:
        found = self._vault.subfolders(folder)
        self.counts["listed"] += len(found)
        return found
