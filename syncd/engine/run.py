"""One sync, from the first request to the cursor it leaves: `Run`.

Each book goes through three steps: `syncd.engine.planner.BookPlanner` gathers its facts (its
page record, the page's text where it is needed, the name a new page would take) and has the
core decide its plan (`syncd.core.book_plan`: the page's act from `syncd.core.page_life`, each
block's from `syncd.core.decision`); the applier carries it out
(`syncd.engine.apply.PlanApplier`) or, in a dry run, prints it
(`syncd.engine.dry_run.PlanPrinter`): the one place a dry run differs.

Books are handled one export page at a time, so memory holds one page of books, not the library.
Any failure while handling one book (a record that does not fit, a template, a plan, a name, a
write) fails that book alone: it is named, remembered as failed (`State.put_problem`) and the
others sync. The cursor moves on all the same: failed books are fetched again, whole and by id,
at each later sync until they succeed. The cursor is Readwise's clock, never the local one.

The planner, and with it the planning engine (`syncd.core.book_plan`, `syncd.core.plan` and
all they decide with), is built on first need (`Run.planner`): when the first record is
planned, or when push is on. Only there is it imported. A sync that plans nothing (Readwise
tells of no change, no page changed, nothing pending) imports none of it: a one-shot sync from
a timer, most often such a no-op, is mostly Python's start and imports (issue 20). What a no-op
does use (the applier's bookkeeping, the finder's scan) imports no planning module.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from syncd.core.model import Book, BookSchemaError, parse_book
from syncd.core.records import BookProblem, PageStatus
from syncd.edges.atomic import PageChanged
from syncd.edges.readwise import format_cursor, parse_cursor
from syncd.edges.state_files import StateError
from syncd.engine.apply import BLOCK_IDS, Applier, PlanApplier
from syncd.engine.finder import PageFinder
from syncd.engine.push import KEEP, PUSH_SEEN, Pusher
from syncd.engine.reader_pass import ReaderPass
from syncd.engine.report import SyncReport
from syncd.engine.sync_log import SyncLog
from syncd.engine.sync_settings import SyncSettings
from syncd.errors import AuthError, UnreachableError, VaultError
from syncd.ports import (
    ExportPage,
    HighlightWriter,
    ReaderPort,
    ReadwisePort,
    StatePort,
    VaultPort,
)

if TYPE_CHECKING:  # imported when the first book is planned: see `Run.planner`
    from syncd.core.book_plan import BookPlan
    from syncd.core.plan_terms import Outcome
    from syncd.engine.planner import BookPlanner

log = logging.getLogger("syncd.sync")

# The cursor is Readwise's clock (never the local one) less this much: what Readwise changed while
# it answered the first request is fetched again next time; highlights are matched by id, so
# fetching one again changes nothing.
CURSOR_OVERLAP = timedelta(minutes=1)
WRITE_ATTEMPTS = 5  # gather, plan and apply again this often when the user writes a page first
# Books that failed before are fetched again by id, this many ids per export request.
RETRY_IDS_PER_REQUEST = 100


class Stopped(Exception):
    """The daemon asked the sync to stop; the page in hand was finished."""


class Run:
    """One sync (a dry run: one that decides as a sync does and prints what it decided)."""

    def __init__(
        self,
        *,
        client: ReadwisePort,
        vault: VaultPort,
        state: StatePort,
        settings: SyncSettings,
        clock: Callable[[], datetime],
        finder: PageFinder,
        sync_log: SyncLog,
        progress: Callable[[int, int, int], None] | None,
        should_stop: Callable[[], bool],
        dry_run: bool,
        reader: ReaderPort | None = None,
        writer: HighlightWriter | None = None,
        quiet_before_ns: int | None = None,
    ) -> None:
        if dry_run:  # the one place a dry run differs: see `_dry_run`
            state, finder, sync_log = _dry_run(vault, state, finder, sync_log)
        self.client = client
        self.vault = vault
        self.state = state
        self.settings = settings
        self.clock = clock
        self.progress = progress
        self.should_stop = should_stop
        self.report = SyncReport(dry_run=dry_run)
        self.sync_log = sync_log
        self.failed_before = {problem.book_id for problem in state.problems("failed")}
        self.reader_pass = ReaderPass(
            reader=None if dry_run else reader,
            vault=vault,
            state=state,
            settings=settings,
            report=self.report,
            should_stop=should_stop,
        )
        parts: dict[str, Any] = {
            "vault": vault,
            "state": state,
            "settings": settings,
            "finder": finder,
            "sync_log": sync_log,
            "report": self.report,
        }
        self.applier: Applier
        self._pusher: Pusher | None = None
        if dry_run:
            from syncd.engine.dry_run import PlanPrinter

            self.applier = PlanPrinter(**parts)
        else:
            self._pusher = Pusher(
                writer=writer if settings.push else None,
                state=state,
                report=self.report,
                clock=clock,
                pause=self._pause_pushing,
            )
            self.applier = PlanApplier(
                **parts, fail=self.fail, failed_before=self.failed_before, pusher=self._pusher
            )
        self.finder = finder
        self._quiet_before_ns = quiet_before_ns
        self._planner: BookPlanner | None = None  # built on first need: see `planner`
        if settings.push:  # the pushes a kill left are read before the sync does anything
            self._planner = self._new_planner()
        self._edited: set[int] = set()  # books whose edits are looked at: fetched by id
        self._server_time: datetime | None = None  # Readwise's clock at its first answer
        self._newest_seen: datetime | None = None  # the newest `updated_at` it sent
        self._fetch_later: set[int] = set()  # skipped in the first pass: fetched whole by id
        self._seen: set[int] = set()  # books of the records handled in this sync
        # How a listing changed while it was paged through (its count, a book served twice):
        # a book may have been skipped, so the cursor stays (see `_next_cursor`).
        self._listing_changed: str | None = None

    @property
    def planner(self) -> BookPlanner:
        """The planner of this sync's books, built (and the planning engine imported) on first
        need: when the first record is planned, or at the start when push is on (see the
        module doc)."""
        if self._planner is None:
            self._planner = self._new_planner()
        return self._planner

    def _new_planner(self) -> BookPlanner:
        from syncd.engine.planner import BookPlanner  # the one place: see the module doc

        planner = BookPlanner(
            vault=self.vault,
            state=self.state,
            settings=self.settings,
            clock=self.clock,
            look=self.applier.look,
            reader_pass=self.reader_pass,
        )
        if self._pusher is not None:
            planner.pushed = self._pusher.pushed
        # Two-way sync (issue 19): a page saved after `quiet_before_ns` is not pushed yet; the
        # pushes a kill left are settled, the conflicts the user resolved applied.
        planner.quiet_before_ns = self._quiet_before_ns
        if self.settings.push:
            for intent in self.state.pushes("sent"):
                planner.intents.setdefault(intent.book_id, []).append(intent)
            planner.keep = {
                int(key[len(KEEP) :]): side for key, side in self.state.entries(KEEP).items()
            }
        return planner

    def execute(self, *, full: bool, book_ids: list[int] | None) -> SyncReport:
        """Run the sync; return its report. With `book_ids`, only those books are fetched
        (whole), and the cursor stays."""
        report = self.report
        self.finder.forget_listing()
        started = self.clock()  # the sync log's date; the cursor is Readwise's clock
        cursor = self.state.get("cursor")
        # `block_ids` just turned on: every book is fetched once, so that every block syncd
        # wrote (and the user did not touch) gets its id, not only those of changed books.
        ids_now = self.settings.options.block_ids and self.state.get(BLOCK_IDS) != "on"
        since = None if full or book_ids or cursor is None or ids_now else parse_cursor(cursor)
        self.vault.check()
        self.applier.prepare()
        if self.settings.push and not book_ids:
            # Books whose page changed since a push plan last looked at it (or a push a kill
            # left): fetched whole by id after the first pass, so Readwise's side is fresh
            # (pushed, then pulled). Turned on, every book is fetched once.
            seen = self.state.entries(PUSH_SEEN)
            self._edited = {
                page.book_id
                for page in self.state.pages(PageStatus.ACTIVE)
                if seen.get(f"{PUSH_SEEN}{page.book_id}") != str(page.mtime_ns)
            } | set(self.planner.intents)
        requests_before = self.client.requests_made
        touched: list[int] = []
        # Books that failed before are fetched whole after the first pass (an export with a
        # cursor carries only a book's changed highlights), not in it.
        self._fetch_later = set() if book_ids else set(self.failed_before) | self._edited
        try:
            self._fetch(self.client.export(updated_after=since, book_ids=book_ids), touched)
            self._fetch_again(touched)
            self.applier.flush()
            self.reader_pass.sync()
        finally:
            self._fetch_later = set()
            report.requests = self.client.requests_made - requests_before
        if self.settings.sync_log_page:
            # What this sync recorded, and what a sync killed before its log line did.
            highlights, num_books = self.sync_log.untold()
            if highlights:
                self.applier.write_sync_log(highlights, num_books, started)
        if not book_ids:  # failed books are remembered and fetched again
            report.cursor = self._next_cursor(cursor)
            self.applier.finish(report.cursor, self.settings.options.block_ids)
        report.push_waiting = None if self._planner is None else self._planner.waiting
        self.applier.ended_well()
        return report

    def _fetch_again(self, touched: list[int]) -> None:
        """Fetch whole, by id, the books that failed in earlier syncs, the deleted pages to
        create anew and the books whose page came back (before this sync or during it: a page
        found again while its book synced); forget the failure of a book Readwise no longer
        has, and the return of a book fetched again."""
        retry = self._fetch_later
        self._fetch_later = set()
        fetched: set[int] = set()
        returned = self.finder.returned_books
        while again := sorted((retry | self._recreate() | returned()) - fetched):
            fetched.update(again)
            for start in range(0, len(again), RETRY_IDS_PER_REQUEST):
                chunk = again[start : start + RETRY_IDS_PER_REQUEST]
                self._fetch(self.client.export(book_ids=chunk), touched)
        gone = (retry - self._seen) & self.failed_before
        for book_id in sorted(gone):
            log.info("book %s failed before and is no longer in Readwise; not retried", book_id)
        self.applier.fetched_again(fetched, gone)

    def _recreate(self) -> set[int]:
        """The deleted pages to create anew that planning found (none: nothing planned)."""
        return set() if self._planner is None else self._planner.recreate

    def _fetch(self, pages: Iterator[ExportPage], touched: list[int]) -> None:
        done = highlights = 0
        try:
            for page in pages:
                log.info("export page: %d book(s)", len(page.results))
                self._listing_changed = self._listing_changed or page.changed
                if self._server_time is None and self._newest_seen is None:
                    self._server_time = page.server_time  # the first answer's
                record = None
                for record in page.results:
                    if self._server_time is None:
                        self._note_updated_at(record)
                    if self.should_stop():
                        raise Stopped
                    book_id = self._sync_record(record)
                    if book_id is not None:
                        touched.append(book_id)
                    done += 1
                    if self.progress:
                        if isinstance(record, dict):
                            highlights += len(record.get("highlights") or ())
                        self.progress(done, page.count, highlights)
                self.applier.flush()
                # Let go of this page before the next is fetched: one page in memory at a time.
                del page, record
        finally:
            self.applier.flush()

    def _note_updated_at(self, record: object) -> None:
        """Keep the newest `updated_at` of a raw export record (book or highlight): the cursor
        when Readwise's answers carry no usable `Date`."""
        if not isinstance(record, dict):
            return
        highlights = record.get("highlights")
        for item in [record, *(highlights if isinstance(highlights, list) else ())]:
            value = item.get("updated_at") if isinstance(item, dict) else None
            if not isinstance(value, str):
                continue
            try:
                moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                continue
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=timezone.utc)
            if self._newest_seen is None or moment > self._newest_seen:
                self._newest_seen = moment

    def _next_cursor(self, previous: str | None) -> str | None:
        """The cursor a sync leaves: Readwise's clock at its first answer (or, without one, the
        newest `updated_at` it sent) less the overlap; `previous` when Readwise told neither
        (an empty library behind a server that sends no `Date`), or when a listing changed
        while it was paged through (a book it skipped is fetched next time). Never the local
        clock."""
        if self._listing_changed is not None:
            log.warning(
                "Readwise's listing changed while syncd paged through it (%s); the next sync "
                "asks for the same span again",
                self._listing_changed,
            )
            return previous
        moment = self._server_time or self._newest_seen
        if moment is None:
            return previous
        return format_cursor(moment - CURSOR_OVERLAP)

    def _wanted(self, book: Book) -> bool:
        """The config's filters: categories, and book tags to include (any) or exclude."""
        tags = {tag.casefold() for tag in book.tags}
        return (
            (self.settings.categories is None or book.category in self.settings.categories)
            and (not self.settings.include_tags or bool(tags & self.settings.include_tags))
            and not tags & self.settings.exclude_tags
        )

    def _sync_record(self, record: object) -> int | None:
        """Sync one export record; return the book's id if it brought new highlights.

        Any failure with this book fails it alone (see `fail`); only what stops every book
        stops the sync: the vault's folder gone, the state database failing, Readwise refusing
        or unreachable, the daemon asking to stop."""
        book_id, title = _id_and_title(record)
        if book_id in self._fetch_later:
            return None  # it failed before: fetched whole, by id, after this pass
        if book_id is not None:
            self._seen.add(book_id)
        try:
            book = parse_book(record)
            if not self._wanted(book):
                self._succeeded(book.id)
                return None
            outcome = self._sync_book(book)
            if self.reader_pass.reader is not None:
                page = self.planner.new_pages.get(book.id) or self.state.page(book.id)
                if page is not None and page.status == PageStatus.ACTIVE:
                    self.reader_pass.want(book, page.path, page.title, self.clock())
        except (Stopped, sqlite3.Error, StateError, AuthError, UnreachableError):
            raise
        except VaultError as error:
            if not self.vault.present():
                raise
            self.fail(book_id, title, str(error))
            return None
        except BookSchemaError as error:
            self.fail(book_id, title, error.problem, shown_id=error.book_id)
            return None
        except Exception as error:  # a template, a plan, a name, text that cannot be written
            self.fail(book_id, title, f"{type(error).__name__}: {error}")
            return None
        self._succeeded(book.id)
        self.report.outcome.add(outcome)
        return book.id if outcome.new else None

    def fail(
        self, book_id: int | None, title: str, reason: str, *, shown_id: object = None
    ) -> None:
        """Fail one book: named in the report (one line per cause), and (but in a dry run)
        remembered, so that later syncs fetch it again by id until it succeeds. `shown_id`:
        the id the record gave when it is not a usable one."""
        name = _one_line(str(book_id if book_id is not None else shown_id))
        title, reason = _one_line(title), _one_line(reason)
        shown = f"book {name} ({title})" if title else f"book {name}"
        # Told at the end, one line per cause (`SyncReport.failure_lines`): a read-only pages
        # folder is one line, not one per book.
        message = self.report.add_failure(
            book_id if book_id is not None else shown_id, shown, reason
        )
        log.debug("%s", message)
        if book_id is not None:
            self.applier.remember_failure(BookProblem(book_id, "failed", title, reason))

    def _succeeded(self, book_id: int) -> None:
        """Forget that a book failed before, once what this sync did for it is remembered (a
        new page: when it is put in place, see `PlanApplier.flush`)."""
        if book_id in self.failed_before and book_id not in self.planner.new_pages:
            self.applier.succeeded(book_id)

    def _sync_book(self, book: Book) -> Outcome:
        """Sync one book: gather its facts, plan, apply; again if the user wrote the page
        first (the plan is made anew against the page as it is then)."""
        if book.id in self.planner.new_pages:  # its new page, written this sync: first put in place
            self.applier.flush()
            del self.planner.new_pages[book.id]
        for _ in range(WRITE_ATTEMPTS):
            plan = self.planner.plan(book)
            try:
                self.applier.apply(plan)
            except PageChanged:
                log.info("the page of book %s changed while syncing; reading it again", book.id)
                self.finder.forget_listing()  # it may have moved meanwhile
                continue
            self._count(plan)
            return plan.outcome
        raise VaultError(
            f"the page of book {book.id} kept changing while syncd wrote it; will retry next sync"
        )

    def _pause_pushing(self) -> None:
        """Readwise refused a write: no more pushes are planned in this run."""
        self.planner.pushing = False

    def _count(self, plan: BookPlan) -> None:
        """Count an applied plan's page in the report, and keep its line."""
        if plan.after is not None:
            self.report.pages_changed += 1
            if plan.new_file:
                self.report.pages_created += 1
        self.report.plans.append(plan.line())


def _dry_run(
    vault: VaultPort, state: StatePort, finder: PageFinder, sync_log: SyncLog
) -> tuple[StatePort, PageFinder, SyncLog]:
    """A dry run's state, finder and sync log: what it looks at and decides is remembered in
    a `StateOverlay` over the real state, in memory only (its plans are printed, not applied:
    `syncd.engine.dry_run.PlanPrinter`)."""
    from syncd.engine.state_overlay import StateOverlay

    overlay = StateOverlay(state)
    return (
        overlay,
        PageFinder(vault, overlay, finder.layout, finder.fmt),
        SyncLog(overlay, sync_log.page, lists_books=sync_log.lists_books),
    )


def _id_and_title(record: object) -> tuple[int | None, str]:
    """A record's book id (None when it has no usable one) and title, to name it when it fails:
    read before the record is checked, so that a record that does not fit is named too."""
    if not isinstance(record, Mapping):
        return None, ""
    book_id = record.get("user_book_id")
    title = record.get("readable_title") or record.get("title")
    return (
        book_id if isinstance(book_id, int) and not isinstance(book_id, bool) else None,
        title if isinstance(title, str) else "",
    )


def _one_line(text: str) -> str:
    """Text as one printable line: white space runs (line breaks too) as one space, a lone
    surrogate as its escape."""
    return " ".join(text.encode("utf-8", "backslashreplace").decode("utf-8").split())
