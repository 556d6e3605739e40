"""A dry run: every plan of a sync printed, nothing applied.

`PlanPrinter` stands where `syncd.engine.apply.PlanApplier` stands in a real sync: the run
decides exactly as it would (`syncd.core.book_plan`), looking at the pages as a sync does (what
it finds is remembered in a `StateOverlay`, in memory only), and the printer turns each plan into a
line (after a `#`) and, for a page whose text changes, a diff of it (`diff -u`, which `patch`
reads past those lines). With `sync.push`, the fields it would send to Readwise are lines too
(`# push highlight N (book): note: "old" → "new"`); nothing is sent. Nothing is written, looked
for or remembered, in the vault, in the state or in Readwise.
"""

from __future__ import annotations

from datetime import datetime

from syncd.core.book_plan import BookPlan
from syncd.core.push_plan import push_lines
from syncd.core.records import BookProblem, PageRecord
from syncd.engine.apply import PlanHandler
from syncd.engine.report import unified_diff
from syncd.engine.sync_log import sync_log_update


class PlanPrinter(PlanHandler):
    """Prints the plans of one sync (see the module doc)."""

    def prepare(self) -> None:
        """The pages are looked at as a sync does (a crash's leftovers are not removed)."""
        self.finder.scan()
        self.finder.look_for_waiting()

    def look(self, record: PageRecord) -> PageRecord:
        self.finder.reconcile(record)
        return self.state.page(record.book_id) or record

    def apply(self, plan: BookPlan) -> None:
        if plan.after is not None and plan.before is not None and plan.page is not None:
            # A page the sync would leave alone (read-only, ...) fails its book here too.
            self.vault.check_replaceable(self.vault.path(plan.page.path))
        if plan.outcome.new:  # as the applier counts it, for the sync log's line
            self.sync_log.add(plan.outcome.new, 1, [[plan.title, plan.outcome.new]])
        if not plan.worth_telling and not plan.sends:
            return
        told = f"# {plan.line()}\n"
        # What it would send to Readwise (two-way sync): `# push highlight N (book): ...`.
        titles = {send.highlight_id: plan.title for send in plan.sends}
        told += "".join(line + "\n" for line in push_lines(plan.sends, titles))
        if plan.after is not None and plan.page is not None:
            told += unified_diff(plan.page.path, plan.before, plan.after)
        self.report.printed.append(told)

    def flush(self) -> None:
        """Nothing is held back: a dry run puts nothing in place."""

    def remember_failure(self, problem: BookProblem) -> None:
        """Nothing is remembered."""

    def succeeded(self, book_id: int) -> None:
        """Nothing is remembered."""

    def fetched_again(self, returned: set[int], gone: set[int]) -> None:
        """Nothing is remembered."""

    def write_sync_log(self, highlights: int, books: int, started: datetime) -> None:
        listed = [(str(title), int(n)) for title, n in self.sync_log.untold_books()]
        update = sync_log_update(self.vault, self.settings, highlights, books, started, listed)
        if update is not None:
            path, before, after = update
            line = f"# the sync log: {highlights} new highlights in {books} books\n"
            self.report.printed.append(
                line + unified_diff(self.vault.relative(path), before, after)
            )

    def finish(self, cursor: str | None, block_ids: bool) -> None:
        """Nothing is remembered: the next sync starts where this one did."""

    def ended_well(self) -> None:
        """Nothing is remembered."""
