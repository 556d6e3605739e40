"""A dry run: every plan of a sync printed, nothing applied.

`PlanPrinter` stands where `syncd.engine.apply.PlanApplier` stands in a real sync: the run
decides exactly as it would (`syncd.core.book_plan`), and the printer turns each plan into a
line and, for a page whose text changes, a diff of it (`diff -u`). Nothing is written, looked
for or remembered, in the vault or in the state.
"""

from __future__ import annotations

from datetime import datetime

from syncd.core.book_plan import BookPlan
from syncd.core.records import BookProblem, PageRecord
from syncd.engine.full_texts import FullTexts
from syncd.engine.ports import VaultPort
from syncd.engine.report import SyncReport, unified_diff
from syncd.engine.settings import SyncSettings
from syncd.engine.sync_log import sync_log_update


class PlanPrinter:
    """Prints the plans of one sync (see the module doc)."""

    def __init__(
        self, *, vault: VaultPort, settings: SyncSettings, report: SyncReport, full_texts: FullTexts
    ) -> None:
        self.vault = vault
        self.settings = settings
        self.report = report
        self.full_texts = full_texts

    def prepare(self) -> None:
        """Nothing is healed or looked at: a dry run sees the pages as syncd last left them."""

    def look(self, record: PageRecord) -> PageRecord:
        return record  # looking remembers what it finds: a dry run does not look

    def apply(self, plan: BookPlan) -> None:
        if plan.after is not None and plan.page is not None:
            self.report.diffs.append(unified_diff(plan.page.path, plan.before, plan.after))

    def flush(self) -> None:
        """Nothing is held back: a dry run puts nothing in place."""

    def remember_failure(self, problem: BookProblem) -> None:
        """Nothing is remembered."""

    def succeeded(self, book_id: int) -> None:
        """Nothing is remembered."""

    def fetched_again(self, returned: set[int], gone: set[int]) -> None:
        """Nothing is remembered."""

    def write_sync_log(self, highlights: int, books: int, started: datetime) -> None:
        update = sync_log_update(self.vault, self.settings, highlights, books, started, [])
        if update is not None:
            path, before, after = update
            self.report.diffs.append(unified_diff(self.vault.relative(path), before, after))

    def finish(self, cursor: str | None, block_ids: bool) -> None:
        """Nothing is remembered: the next sync starts where this one did."""
