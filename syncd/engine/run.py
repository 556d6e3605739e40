"""One sync, from the first request to the cursor it leaves: `Run`.

Books are handled one export page at a time, so memory holds one page of books, not the library.
Any failure while handling one book (a record that does not fit, a template, a plan, a name, a
write) fails that book alone: it is named, remembered as failed (`State.put_problem`) and the
others sync. The cursor moves on all the same: failed books are fetched again, whole and by id,
at each later sync until they succeed. The cursor is Readwise's clock, never the local one.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime, timedelta, timezone

from syncd.core.model import Book, BookSchemaError, parse_book
from syncd.core.plan import Outcome
from syncd.core.records import BookProblem
from syncd.edges.readwise import ExportPage, format_cursor, parse_cursor
from syncd.edges.state import State
from syncd.edges.state_files import StateError
from syncd.engine.finder import PageFinder
from syncd.engine.full_texts import FullTexts
from syncd.engine.pending import settle
from syncd.engine.ports import ReaderPort, ReadwisePort, VaultPort
from syncd.engine.report import SyncReport
from syncd.engine.settings import SyncSettings
from syncd.engine.sync_log import SyncLog
from syncd.engine.writer import WRITE_ATTEMPTS, PageLeft, PageWriter
from syncd.errors import AuthError, UnreachableError, VaultError

log = logging.getLogger("syncd.sync")

# The cursor is Readwise's clock (never the local one) less this much: what Readwise changed while
# it answered the first request is fetched again next time; highlights are matched by id, so
# fetching one again changes nothing.
CURSOR_OVERLAP = timedelta(minutes=1)
# State key: "on" once a sync ran with `sync.block_ids` on (turned on: every book is fetched once).
BLOCK_IDS = "block_ids"
# Books that failed before are fetched again by id, this many ids per export request.
RETRY_IDS_PER_REQUEST = 100


class Stopped(Exception):
    """The daemon asked the sync to stop; the page in hand was finished."""


class Run:
    """One sync (a dry run: one that writes and remembers nothing)."""

    def __init__(
        self,
        *,
        client: ReadwisePort,
        vault: VaultPort,
        state: State,
        settings: SyncSettings,
        clock: Callable[[], datetime],
        finder: PageFinder,
        sync_log: SyncLog,
        progress: Callable[[int, int, int], None] | None,
        should_stop: Callable[[], bool],
        dry_run: bool,
        reader: ReaderPort | None = None,
    ) -> None:
        self.client = client
        self.vault = vault
        self.state = state
        self.settings = settings
        self.clock = clock
        self.finder = finder
        self.progress = progress
        self.should_stop = should_stop
        self.dry_run = dry_run
        self.report = SyncReport(dry_run=dry_run)
        self.sync_log = sync_log
        self.failed_before = {problem.book_id for problem in state.problems("failed")}
        self.full_texts = FullTexts(
            reader=reader,
            vault=vault,
            state=state,
            settings=settings,
            report=self.report,
            dry_run=dry_run,
            should_stop=should_stop,
        )
        self.writer = PageWriter(
            vault=vault,
            state=state,
            settings=settings,
            clock=clock,
            finder=finder,
            sync_log=self.sync_log,
            report=self.report,
            dry_run=dry_run,
            failed_before=self.failed_before,
            fail=self.fail,
            full_texts=self.full_texts,
        )
        self._server_time: datetime | None = None  # Readwise's clock at its first answer
        self._newest_seen: datetime | None = None  # the newest `updated_at` it sent
        self._fetch_later: set[int] = set()  # skipped in the first pass: fetched whole by id
        self._seen: set[int] = set()  # books of the records handled in this sync
        self._recreate: list[int] = []  # deleted pages to create anew (resync_deleted_pages)

    def execute(self, *, full: bool, book_ids: list[int] | None) -> SyncReport:
        """Run the sync; return its report. With `book_ids`, only those books are fetched
        (whole), and the cursor stays."""
        dry_run, report = self.dry_run, self.report
        self.finder.forget_listing()
        started = self.clock()  # the sync log's date; the cursor is Readwise's clock
        cursor = self.state.get("cursor")
        # `block_ids` just turned on: every book is fetched once, so that every block syncd
        # wrote (and the user did not touch) gets its id, not only those of changed books.
        ids_now = self.settings.options.block_ids and self.state.get(BLOCK_IDS) != "on"
        since = None if full or book_ids or cursor is None or ids_now else parse_cursor(cursor)
        self.vault.check()
        if not dry_run:  # a dry run writes (and removes) nothing
            # A crash's leftovers: in the pages folder and next to pages the user moved (where
            # the writes a kill interrupted were going: `settle`). (Told apart by their
            # relative, '/'-separated names: a Path per folder, not per page.)
            layout = self.settings.layout
            folders = {path.rpartition("/")[0] for path in self.state.page_paths("active")}
            for folder in {*layout.new_page_folders(self.vault.subfolders(layout.pages))} | {
                self.vault.path(folder) for folder in folders
            }:
                self.vault.remove_temporary_files(folder)
            fmt = self.settings.style.page_format
            settle(self.vault, self.state, fmt, self.sync_log, final=False)
            self.finder.scan()
            settle(self.vault, self.state, fmt, self.sync_log)  # on pages the scan found moved
        requests_before = self.client.requests_made
        touched: list[int] = []
        if not dry_run:
            self.finder.look_for_waiting()
        # Books that failed before are fetched whole after the first pass (an export with a
        # cursor carries only a book's changed highlights), not in it.
        self._fetch_later = set() if book_ids else set(self.failed_before)
        try:
            self._fetch(self.client.export(updated_after=since, book_ids=book_ids), touched)
            self._fetch_again(touched)
            self.writer.remember_new_pages()
            self.full_texts.sync()
        finally:
            self._fetch_later = set()
            report.requests = self.client.requests_made - requests_before
        if self.settings.sync_log_page:
            if dry_run:  # nothing was recorded: this sync's own
                failed = {book_id for book_id, _ in report.failed}
                highlights, num_books = report.outcome.new, len(set(touched) - failed)
            else:  # what this sync recorded, and what a sync killed before its log line did
                highlights, num_books = self.sync_log.untold()
            if highlights:
                self.writer.write_sync_log(highlights, num_books, started)
        if not dry_run and not book_ids:  # failed books are remembered and fetched again
            report.cursor = self._next_cursor(cursor)
            self.state.set("cursor", report.cursor)
            self.state.set(BLOCK_IDS, "on" if self.settings.options.block_ids else None)
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
        while again := sorted((retry | set(self._recreate) | returned()) - fetched):
            fetched.update(again)
            for start in range(0, len(again), RETRY_IDS_PER_REQUEST):
                chunk = again[start : start + RETRY_IDS_PER_REQUEST]
                self._fetch(self.client.export(book_ids=chunk), touched)
        if not self.dry_run and fetched & returned():
            with self.state.transaction():
                self.finder.set_returned(returned() - fetched)
        for book_id in sorted(retry - self._seen):
            log.info("book %s failed before and is no longer in Readwise; not retried", book_id)
            if not self.dry_run:
                self.state.clear_problem(book_id, "failed")

    def _fetch(self, pages: Iterator[ExportPage], touched: list[int]) -> None:
        done = highlights = 0
        try:
            for page in pages:
                log.info("export page: %d book(s)", len(page.results))
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
                self.writer.remember_new_pages()
                # Let go of this page before the next is fetched: one page in memory at a time.
                del page, record
        finally:
            self.writer.remember_new_pages()

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
        (an empty library behind a server that sends no `Date`). Never the local clock."""
        moment = self._server_time or self._newest_seen
        if moment is None:
            return previous
        return format_cursor(moment - CURSOR_OVERLAP)

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
            if self.full_texts.reader is not None:
                page = self.writer.page_of(book.id)
                if page is not None and page.status == "active":
                    self.full_texts.want(book, page.path, page.title, self.clock())
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
        """Fail one book: named on one line in the log and the report, and (but in a dry run)
        remembered, so that later syncs fetch it again by id until it succeeds. `shown_id`:
        the id the record gave when it is not a usable one."""
        name = _one_line(str(book_id if book_id is not None else shown_id))
        title, reason = _one_line(title), _one_line(reason)
        message = f"book {name} ({title}): {reason}" if title else f"book {name}: {reason}"
        log.error("%s", message)
        self.report.failed.append((book_id if book_id is not None else shown_id, message))
        if book_id is not None and not self.dry_run:
            self.state.put_problem(BookProblem(book_id, "failed", title, reason))

    def _succeeded(self, book_id: int) -> None:
        """Forget that a book failed before, once what this sync did for it is remembered (a
        new page: when it is put in place, see `PageWriter.remember_new_pages`)."""
        if book_id in self.failed_before and not self.dry_run and not self.writer.is_new(book_id):
            self.state.clear_problem(book_id, "failed")

    def _wanted(self, book: Book) -> bool:
        """The config's filters: categories, and book tags to include (any) or exclude."""
        tags = {tag.casefold() for tag in book.tags}
        return (
            (self.settings.categories is None or book.category in self.settings.categories)
            and (not self.settings.include_tags or bool(tags & self.settings.include_tags))
            and not tags & self.settings.exclude_tags
        )

    def _sync_book(self, book: Book) -> Outcome:
        """Sync one book to its page; look at it again when its page left meanwhile."""
        if self.writer.is_new(book.id):
            self.writer.remember_new_pages()
        for _ in range(WRITE_ATTEMPTS):
            try:
                return self._sync_book_once(book)
            except PageLeft:
                continue
        raise VaultError(
            f"the page of book {book.id} kept moving while syncd wrote it; will retry next sync"
        )

    def _sync_book_once(self, book: Book) -> Outcome:
        fetched = list(book.highlights)
        record = self.state.page(book.id)
        if record is None:
            return self.writer.first_sync(book, fetched)
        self.writer.remember_new_pages()  # what follows reads what syncd knows of other pages
        if record.status != "active":
            known = self.state.highlights(book.id)
            if (
                any(
                    not h.deleted and (h.id not in known or known[h.id].status == "written")
                    for h in fetched
                )
                and not self.dry_run
            ):
                # Something to write (a new highlight, or one changed that syncd wrote): has
                # its page come back, or become clear, meanwhile?
                self.finder.reconcile(record)
                record = self.state.page(book.id) or record
                if record.status == "active":
                    return self.writer.update_page(book, fetched, record)
        if record.status == "waiting":
            return Outcome()  # nothing is written until it is clear which page is the book's
        if record.status == "deleted" and self.settings.resync_deleted_pages:
            if book.id not in self._recreate:
                self.finder.forget(book.id)
                self._recreate.append(book.id)  # fetched whole after this pass
            return Outcome()
        if record.status == "deleted":
            # The user deleted the page: it is not re-created (see `syncd resync`).
            known = self.state.highlights(book.id)
            return Outcome(kept_out=sum(1 for h in fetched if not h.deleted and h.id not in known))
        return self.writer.update_page(book, fetched, record)


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
