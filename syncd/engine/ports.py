"""What the engine needs of the world it syncs: Readwise (`ReadwisePort`), Reader
(`ReaderPort`) and the vault (`VaultPort`). The real edges (`syncd.edges.readwise.ReadwiseClient`,
`syncd.edges.reader.ReaderClient`, `syncd.edges.vault.Vault`) and their in-memory twins
(`syncd.testing.readwise_twin.ReadwiseTwin` and `ReaderTwin`,
`syncd.testing.memory_vault.MemoryVault`) both provide them, and one contract test suite each
(`tests/contract`) holds the real one and its twin to the same behaviour."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Protocol

from syncd.edges.folders import FolderStamp
from syncd.edges.readwise import ExportPage
from syncd.edges.vault import Draft, PageFile


class ReadwisePort(Protocol):
    """Readwise's export: what changed since a moment (or the books asked for), one page of
    books at a time, with Readwise's own clock."""

    requests_made: int

    def check_token(self) -> None: ...

    def export(
        self, updated_after: datetime | None = None, book_ids: list[int] | None = None
    ) -> Iterator[ExportPage]: ...


class ReaderPort(Protocol):
    """Readwise Reader's list of documents (API v3), with their HTML, one page at a time:
    those changed after a moment, or one by its id."""

    requests_made: int

    def documents(
        self, updated_after: datetime | None = None, document_id: str | None = None
    ) -> Iterator[ExportPage]: ...


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

    def stat_relative(self, relative: str) -> tuple[int, int] | None: ...

    def file_id(self, path: Path) -> tuple[int, int] | None: ...

    def write(self, path: Path, text: str, expected: str | None) -> PageFile: ...

    def read_text(self, path: Path) -> str | None: ...

    def siblings(self, path: Path) -> set[str]: ...

    def subfolders(self, folder: Path) -> set[str]: ...

    def drafts(self) -> DraftsPort: ...

    def pages(self) -> list[Path]: ...

    def folder_stamp(self, relative: str) -> FolderStamp | None: ...

    def list_folder(self, relative: str) -> tuple[list[str], dict[str, int]] | None: ...

    def remove_temporary_files(self, folder: Path) -> int: ...
