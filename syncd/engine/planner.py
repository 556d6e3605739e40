"""Planning one book: its facts gathered, its plan decided by the core (`BookPlanner`).

The facts are the book's page record, the page's stat and its text where the plan needs it, and
the name a new page would take (`syncd.engine.naming`); when the page is not where syncd left it
and something may be written, it is looked for first (the `look` a sync is given: the finder's,
remembering what it finds). The core decides: the page's act (`syncd.core.page_life.ON_SYNC`),
then the page's text and records (`syncd.core.book_plan`). Nothing here writes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime

from syncd.core.book_plan import (
    BookPlan,
    PageSeen,
    plan_kept_out,
    plan_new_page,
    plan_page_update,
)
from syncd.core.decision import Status
from syncd.core.model import Book, Highlight
from syncd.core.page_life import PageAct, SyncFacts, on_sync
from syncd.core.plan import nothing_to_plan
from syncd.core.push_plan import (
    PushFacts,
    Send,
    agreed_values,
    held,
    lay_over,
    older_wanted,
    settled,
)
from syncd.core.records import FieldValue, HighlightRecord, PageRecord, PageStatus, Push
from syncd.engine.naming import PageNamer
from syncd.engine.push import PUSH_SEEN
from syncd.engine.reader_pass import ReaderPass
from syncd.engine.sync_settings import SyncSettings
from syncd.ports import StatePort, VaultPort

LOOKS = 3  # a book's page is looked for at most this often while it is planned


class BookPlanner:
    """Plans the books of one sync, remembering the new pages it planned: their names and paths
    are taken, and until they are put in place their records are known only here."""

    def __init__(
        self,
        *,
        vault: VaultPort,
        state: StatePort,
        settings: SyncSettings,
        clock: Callable[[], datetime],
        look: Callable[[PageRecord], PageRecord],
        reader_pass: ReaderPass,
    ) -> None:
        self.vault = vault
        self.state = state
        self.settings = settings
        self.clock = clock
        self.look = look
        self.reader_pass = reader_pass
        self.namer = PageNamer(vault, state, settings)
        self.new_pages: dict[int, PageRecord] = {}
        self._new_names: set[str] = set()  # casefolded
        self._new_paths: set[str] = set()
        self.recreate: set[int] = set()  # deleted pages to create anew (resync_deleted_pages)
        # Two-way sync (issue 19): whether edits are pushed in this run (off: `sync.push` is
        # empty, or Readwise refused a write); a page saved after this moment (ns) is not
        # pushed yet (the daemon's `push_delay`; None: pushed at once); the pushes a kill left
        # `sent`, by book; the conflicts the user resolved (highlight -> the side kept).
        self.pushing = bool(settings.push)
        self.quiet_before_ns: int | None = None
        self.waiting: int | None = None  # the latest mtime of a page whose pushes wait
        self.intents: dict[int, list[Push]] = {}
        self.keep: dict[int, str] = {}
        # The values this run pushed (the pusher's, by highlight and field): laid over a copy
        # of a highlight fetched before the push (`syncd.core.push_plan.lay_over`).
        self.pushed: Mapping[int, Mapping[str, Send]] = {}

    def plan(self, book: Book) -> BookPlan:
        """Gather the book's facts and decide its plan (see `syncd.core.page_life.ON_SYNC`),
        looking for its page first when it is not where syncd left it and something may be
        written."""
        pushed = self.pushed
        fetched = [lay_over(h, pushed[h.id]) if h.id in pushed else h for h in book.highlights]
        # A deleted page to create anew is forgotten (by the applier, or in a dry run here).
        record = None if book.id in self.recreate else self.state.page(book.id)
        if record is not None and self._unchanged(book, fetched, record):
            return BookPlan(book.id, book.title, PageAct.UPDATE, record)
        looked, looks = False, 0
        while True:
            page = None
            if record is not None and record.status == PageStatus.ACTIVE:
                page = self.vault.read(self.vault.path(record.path))
            act = on_sync(
                SyncFacts(
                    status=None if record is None else record.status,
                    at_place=page is not None and page.text is not None,
                    to_write=record is not None
                    and record.status != PageStatus.ACTIVE
                    and self._to_write(book.id, fetched),
                    looked=looked,
                    recreate=self.settings.resync_deleted_pages,
                )
            )
            if act is not PageAct.LOOK:
                break
            assert record is not None
            status, record = record.status, self.look(record)
            looks += 1
            # Looked for again when looking changed what the record says (a page seen gone
            # mid-save is looked at once it is back), a few times at most.
            looked = record.status == status or looks == LOOKS
        if act is PageAct.CREATE:
            return self._plan_new_page(book, fetched)
        assert record is not None
        if act is PageAct.UPDATE:
            assert page is not None and page.text is not None
            records = self.state.highlights(book.id)
            fates = self._fates(book.id, fetched)
            push = self._push_facts(record, page.mtime_ns, records, fates)
            plan = plan_page_update(
                book,
                fetched,
                act,
                record,
                page.text,
                PageSeen(page.size, page.mtime_ns, page.file_id),
                records,
                self.settings.style,
                self.clock(),
                self.settings.options,
                push,
            )
            plan.pushes_looked = push is not None
            plan.fetched = frozenset(h.id for h in fetched)
            return self._settle(plan, fetched, fates)
        if act is PageAct.RECREATE:
            self.recreate.add(book.id)  # fetched whole after this pass
        if act is PageAct.KEEP_OUT:  # not re-created (see `syncd resync`)
            return plan_kept_out(book, fetched, record, self.state.highlights(book.id))
        return BookPlan(book.id, book.title, act, record)

    def _push_facts(
        self,
        record: PageRecord,
        mtime_ns: int | None,
        records: Mapping[int, HighlightRecord],
        fates: list[tuple[Push, str]],
    ) -> PushFacts | None:
        """What two-way sync needs to plan the page's pushes; None when nothing is pushed
        (`sync.push` off, pushing paused, or the page saved too recently). The pushes a kill
        left that Readwise holds are the base of their fields (`agreed_values`)."""
        if not self.pushing:
            return None
        quiet = self.quiet_before_ns
        if quiet is not None and mtime_ns is not None and mtime_ns > quiet:
            # saved within push_delay: a note may be half-typed (the daemon comes back)
            self.waiting = max(self.waiting or 0, mtime_ns)
            return None
        older = {h: self.state.older_blocks(h) for h in older_wanted(records)}
        keep = {h: side for h, side in self.keep.items() if h in records}
        agreed = agreed_values(fates)
        unsure: dict[int, dict[str, FieldValue]] = {}
        for p, fate in reversed(fates):  # (newest first: the newest push of a field counts)
            if fate == "sent":
                unsure.setdefault(p.highlight_id, {})[p.field] = p.after
        return PushFacts(self.settings.push, record.path, older, keep, agreed, unsure)

    def _fates(self, book_id: int, fetched: list[Highlight]) -> list[tuple[Push, str]]:
        """The pushes a kill left `sent` for this book, each with its fate by what Readwise
        holds now (`settled`: made, dropped, or `sent` still: not known)."""
        latest = {h.id: h for h in fetched}
        return [
            (p, settled(p, latest[p.highlight_id]))
            for p in self.intents.get(book_id, [])
            if p.highlight_id in latest
        ]

    def _settle(
        self, plan: BookPlan, fetched: list[Highlight], fates: list[tuple[Push, str]]
    ) -> BookPlan:
        """The pushes a kill left `sent` for this book, settled: made or dropped by what
        Readwise holds now. One whose fate is not known stays `sent` (its field a conflict,
        `PushFacts.unsure`, or its edit not looked at in this sync) until the plan leaves its
        highlight's record written, with a new base (the user kept a side, the two sides
        agreed, the edit undone): then it is settled by what Readwise holds. One Readwise
        holds of a highlight left in conflict stays `sent` too: its record may still hold the
        block before it, and it is the base of its field (`agreed_values`) until a record
        takes it in (settled then, the conflict would flip to a pull the next sync)."""
        latest = {h.id: h for h in fetched}
        written = {r.highlight_id for r in plan.highlights if r.status is Status.WRITTEN}
        conflicted = {d.highlight_id for d in plan.pushes if d.conflicts}
        plan.settled = []
        for p, fate in fates:
            if fate == "sent":
                if p.highlight_id not in written:
                    continue
                fate = "made" if held(p, latest[p.highlight_id]) else "dropped"
            elif fate == "made" and p.highlight_id in conflicted:
                continue
            plan.settled.append((p.number, fate))
        return plan

    def _unchanged(self, book: Book, fetched: list[Highlight], record: PageRecord) -> bool:
        """Whether the book was fetched again with nothing new (the cursor's overlap brings the
        books the last sync changed) while its page is as syncd recorded it (size and mtime, as
        `scan` trusts them): then the plan would change nothing, and the page is not read."""
        if self.pushing and (
            book.id in self.intents
            or self.state.get(f"{PUSH_SEEN}{book.id}") != str(record.mtime_ns)
        ):
            return False  # the user's edits, or a push a kill left, to look at
        return (
            record.status == PageStatus.ACTIVE
            and record.size is not None
            and self.vault.stat_relative(record.path) == (record.size, record.mtime_ns)
            and nothing_to_plan(
                book,
                fetched,
                self.state.highlights(book.id),
                self.settings.style,
                self.settings.options,
            )
        )

    def _plan_new_page(self, book: Book, fetched: list[Highlight]) -> BookPlan:
        """The plan of a book syncd has no page for: a new page, or the official plugin's
        page adopted where it is."""
        now, style, options = self.clock(), self.settings.style, self.settings.options
        title, name, path, adopted = self.namer.choose(book, now, self._new_names, self._new_paths)
        record = PageRecord(book.id, self.vault.relative(path), name, PageStatus.ACTIVE)
        if adopted is not None and adopted.text is not None:
            # A page the official plugin wrote: adopted; highlights on it are recognised.
            seen = PageSeen(adopted.size, adopted.mtime_ns, adopted.file_id)
            return plan_page_update(
                book, fetched, PageAct.CREATE, record, adopted.text, seen, {}, style, now, options
            )
        link = self.reader_pass.link(book, path, name)
        plan = plan_new_page(book, fetched, record, title, style, now, options, link)
        if plan.after is not None and plan.page is not None:
            # Kept for the whole sync, for 10,000 new books in a first sync: without the page's
            # opening (kept in the state once the page is in place), 7 MB less at the peak.
            self.new_pages[book.id] = replace(plan.page, opening=None)
            self._new_names.add(name.casefold())
            self._new_paths.add(plan.page.path)
        return plan

    def _to_write(self, book_id: int, fetched: list[Highlight]) -> bool:
        """Whether Readwise sent something to write: a new highlight, or a change to one that
        syncd wrote."""
        known = self.state.highlights(book_id)
        return any(
            not h.deleted_in_readwise
            and (h.id not in known or known[h.id].status == Status.WRITTEN)
            for h in fetched
        )
