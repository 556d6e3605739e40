"""What a sync is told once, when its Syncer is built: frozen, made from the config by
`syncd.engine.wiring.settings_for`. Nothing changes it afterwards; per-sync state lives in
`syncd.engine.run.Run`.
"""

from __future__ import annotations

from dataclasses import dataclass

from syncd.core.plan_terms import Options
from syncd.core.render import Style
from syncd.engine.layout import Layout


@dataclass(frozen=True)
class SyncSettings:
    layout: Layout
    style: Style
    options: Options
    categories: tuple[str, ...] | None = None  # None: every category
    include_tags: frozenset[str] = frozenset()  # casefolded; empty: no filter
    exclude_tags: frozenset[str] = frozenset()  # casefolded
    sync_log_page: str | None = None  # None: no sync log
    resync_deleted_pages: bool = False  # a page the user deleted is written anew
    reader_full_text: bool = False  # Reader documents' text in Full Document Contents
    push: frozenset[str] = frozenset()  # the fields whose vault edits flow back (sync.push)
    push_delay: float = 60.0  # seconds a page is left alone before the daemon pushes it
