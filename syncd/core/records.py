"""What syncd remembers of pages and highlights, as plain dataclasses (the state database stores
them; the core decides with them)."""

from __future__ import annotations

from dataclasses import dataclass

from syncd.core.decision import Status


@dataclass(frozen=True)
class PageRecord:
    book_id: int
    path: str
    title: str
    status: str  # one of syncd.edges.state.PAGE_STATUSES
    size: int | None = None
    mtime_ns: int | None = None
    device: int | None = None
    inode: int | None = None


@dataclass(frozen=True)
class HighlightRecord:
    highlight_id: int
    book_id: int
    block: str  # the block as syncd last wrote it
    source: str  # digest of the block as rendered from Readwise's data
    status: Status
