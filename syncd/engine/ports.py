"""What the engine needs of the vault: the real one (`syncd.edges.vault.Vault`) and its
in-memory twin (`syncd.testing.memory_vault.MemoryVault`) both provide it, and one contract test
suite (`tests/contract`) holds both to the same behaviour."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from syncd.edges.vault import Draft, PageFile


class DraftsPort(Protocol):
    """A batch of new pages: written aside, then put in place together."""

    size: int  # bytes of page text held

    def write(self, path: Path, text: str) -> Draft: ...

    def place(self) -> list[Draft]: ...


class VaultPort(Protocol):
    """The vault's folder: its pages read, written without clobbering, listed."""

    root: Path

    def check(self) -> None: ...

    def present(self) -> bool: ...

    def missing_or_empty(self) -> bool: ...

    def relative(self, path: Path) -> str: ...

    def path(self, relative: str) -> Path: ...

    def read(self, path: Path) -> PageFile: ...

    def stat(self, path: Path) -> tuple[int, int] | None: ...

    def write(self, path: Path, text: str, expected: str | None) -> PageFile: ...

    def read_text(self, path: Path) -> str | None: ...

    def siblings(self, path: Path) -> set[str]: ...

    def subfolders(self, folder: Path) -> set[str]: ...

    def drafts(self) -> DraftsPort: ...

    def pages(self) -> list[Path]: ...

    def remove_temporary_files(self, folder: Path) -> int: ...
