"""Reader full text (`sync.reader_full_text`): the text of each synced Reader document, as a
Markdown file beside the highlights, written once and never over the user's edits.

Which documents: those of the books syncd syncs (a book from Reader with a page), not every
document saved in Reader as the official plugin does (it writes one file per document, read or
not: 1,545 texts for 21 highlighted books in the corpus), which floods a vault with what the
user never highlighted. A book's document is `syncd.core.full_text.reader_document_id`.

Where: Obsidian `<Readwise folder>/Full Document Contents/<Category>/<page's file name>`, as the
plugin writes it; Logseq the page `Full Document Contents/<Category>/<page's name>` (its file
named as the graph names namespaced pages). A book's new page links it.

When: a book synced while the option is on is remembered (`full_text:<document id>` in the
state: its file's path, the page's head, what syncd wrote there); after the export, Reader is
asked for the documents changed since the Reader cursor (Reader's own clock, less the overlap
the export cursor has) and, one request each, for those not fetched yet. Reader allows 20
requests a minute: a 429 waits its `Retry-After`, as every request of the client does.

Never over edits: a file is created only where there is none (or one with the very text syncd
would write); it is rewritten, when Reader's text changes, only while it holds exactly what
syncd wrote there (compare-and-swap: the write fails if it changed meanwhile). A file the user
edited, deleted, or that was there before is left alone for good. A document that fails (a
record that does not fit, HTML that cannot be converted, a file that cannot be written) fails
alone, named on stderr, and is fetched again at the next sync.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

from syncd.core.full_text import (
    DocumentSchemaError,
    document_markdown,
    full_text_link,
    full_text_name,
    full_text_page,
    parse_document,
    reader_document_id,
)
from syncd.core.model import Book
from syncd.core.records import PageStatus
from syncd.core.render import LOGSEQ, page_title, render_page_head
from syncd.edges.atomic import PageChanged
from syncd.edges.readwise import ReadwiseError, format_cursor, parse_cursor
from syncd.engine.layout import CATEGORY_FOLDERS
from syncd.engine.pending import digest
from syncd.engine.report import SyncReport
from syncd.engine.sync_settings import SyncSettings
from syncd.errors import AuthError, UnreachableError, VaultError
from syncd.ports import ExportPage, ReaderPort, StatePort, VaultPort

log = logging.getLogger("syncd.sync")

KEY = "full_text:"  # + the document's id: its record (JSON)
CURSOR = "reader_cursor"  # Reader's clock at its first answer of the last pass, less OVERLAP
OVERLAP = timedelta(minutes=1)  # as the export cursor's (`run.CURSOR_OVERLAP`)
# wanted: to fetch by id; written: as syncd wrote it, rewritten when Reader's text changes;
# kept: the user's (edited, or there before): never written; deleted: the user deleted it;
# absent: Reader has no such document.
STATUSES = ("wanted", "written", "kept", "deleted", "absent")


class ReaderPass:
    """The Reader full texts of one sync (see the module doc)."""

    def __init__(
        self,
        *,
        reader: ReaderPort | None,
        vault: VaultPort,
        state: StatePort,
        settings: SyncSettings,
        report: SyncReport,
        should_stop: Callable[[], bool] = lambda: False,
    ) -> None:
        self.reader = reader if settings.reader_full_text else None
        self.vault = vault
        self.state = state
        self.settings = settings
        self.report = report
        self.should_stop = should_stop
        self._logseq = settings.style.page_format is LOGSEQ

    def link(self, book: Book, path: Path, name: str) -> str | None:
        """The link a book's new page (at `path`, named `name`) holds to its full text."""
        if not self.settings.reader_full_text or reader_document_id(book) is None:
            return None
        return full_text_link(self._target(book, path, name)[0], logseq=self._logseq)

    def _target(self, book: Book, path: Path, name: str) -> tuple[str, Path]:
        """The full text's name (as a link gives it) and path, beside a page."""
        folder = CATEGORY_FOLDERS.get(book.category, book.category.capitalize())
        layout = self.settings.layout
        if self._logseq:
            target = full_text_name(folder, name)
            return target, layout.page_path(target)
        target = full_text_name(folder, path.name)
        return target, layout.pages / target

    def want(self, book: Book, path: str, name: str, now: datetime) -> None:
        """Remember that a synced book's document is to be written beside its page (relative
        `path`, named `name`): once written (or the user's), a book's record stays as it is;
        until then, it follows the page's latest name."""
        document_id = reader_document_id(book)
        if self.reader is None or document_id is None:
            return
        known = self.state.get(KEY + document_id)
        if known is not None and json.loads(known).get("status") != "wanted":
            return
        target, file = self._target(book, Path(path), name)
        title = target if self._logseq else page_title(book, self.settings.style, now)
        record = {
            "book": book.id,
            "title": book.title,
            "path": self.vault.relative(file),
            "head": render_page_head(book, title, self.settings.style, now),
            "status": "wanted",
            "digest": "",
        }
        self.state.set(KEY + document_id, json.dumps(record))

    def sync(self) -> None:
        """Fetch and write the full texts due (see the module doc); a failure of Reader itself
        fails the pass (named, the cursor kept), not the sync."""
        if self.reader is None:
            return
        records = {
            key[len(KEY) :]: json.loads(value) for key, value in self.state.entries(KEY).items()
        }
        due = {
            i
            for i, r in records.items()
            if r.get("status") == "written" or self._wanted_and_placed(r)
        }
        if not due:
            return
        cursor = self.state.get(CURSOR)
        handled: set[str] = set()
        moment: list[datetime | None] = [None]
        try:
            if cursor is not None:
                pages = self.reader.documents(updated_after=parse_cursor(cursor))
                if not self._take(pages, records, due, handled, moment):
                    return
            for document_id in sorted(due - handled):
                if records[document_id]["status"] != "wanted":
                    continue
                pages = self.reader.documents(document_id=document_id)
                if not self._take(pages, records, {document_id}, handled, moment):
                    return
                if document_id not in handled:
                    log.info("Reader has no document %s; its full text is not written", document_id)
                    self._put(document_id, records[document_id], status="absent")
        except (AuthError, UnreachableError, ReadwiseError) as error:
            log.error("Reader full text: %s", error)
            self.report.failed.append((None, f"Reader full text: {error}"))
            return
        if moment[0] is not None:
            self.state.set(CURSOR, format_cursor(moment[0] - OVERLAP))

    def _wanted_and_placed(self, record: dict[str, object]) -> bool:
        """Whether a wanted full text's book has its page in place (a new page that could not
        be placed fails its book, and its name may change at the next sync)."""
        page = self.state.page(int(str(record["book"])))
        return (
            record.get("status") == "wanted"
            and page is not None
            and page.status == PageStatus.ACTIVE
        )

    def _take(
        self,
        pages: Iterator[ExportPage],
        records: dict[str, dict[str, object]],
        due: set[str],
        handled: set[str],
        moment: list[datetime | None],
    ) -> bool:
        """Write the documents of `due` among these pages; False if the sync is to stop."""
        for page in pages:
            if moment[0] is None:
                moment[0] = page.server_time or _newest(page.results)
            for raw in page.results:
                if self.should_stop():
                    return False
                document_id = raw.get("id") if isinstance(raw, dict) else None
                if not isinstance(document_id, str) or document_id not in due:
                    continue
                handled.add(document_id)
                self._write_one(document_id, records[document_id], raw)
        return True

    def _write_one(self, document_id: str, record: dict[str, object], raw: object) -> None:
        """Write one document's full text; any failure fails it alone (fetched again next
        sync)."""
        try:
            document = parse_document(raw)
            if document.is_part:
                return
            book_id = int(str(record["book"]))
            text = full_text_page(
                str(record["head"]), document_markdown(document, book_id), logseq=self._logseq
            )
            self._place(document_id, record, text)
        except (VaultError, OSError) as error:
            if not self.vault.present():
                raise
            self._fail(document_id, record, str(error))
        except DocumentSchemaError as error:
            self._fail(document_id, record, error.problem)
        except Exception as error:  # HTML that cannot be converted, text that cannot be written
            self._fail(document_id, record, f"{type(error).__name__}: {error}")

    def _place(self, document_id: str, record: dict[str, object], text: str) -> None:
        path = self.vault.path(str(record["path"]))
        current = self.vault.read(path).text
        written = str(record.get("digest") or "")
        if current is None and written:
            self._put(document_id, record, status="deleted")  # the user deleted it
            return
        if current is not None and current != text and digest(current) != written:
            log.info("%s: not syncd's as it wrote it; the full text is left alone", path)
            self._put(document_id, record, status="kept")
            return
        if current != text:
            try:
                self.vault.write(path, text, current)
            except PageChanged:
                log.info("%s: changed while syncd wrote it; left alone", path)
                self._put(document_id, record, status="kept")
                return
            self.report.full_texts += 1
        self._put(document_id, record, status="written", digest=digest(text))

    def _put(self, document_id: str, record: dict[str, object], **changes: object) -> None:
        record.update(changes)
        self.state.set(KEY + document_id, json.dumps(record))

    def _fail(self, document_id: str, record: dict[str, object], reason: str) -> None:
        title = " ".join(str(record.get("title", "")).split())
        reason = " ".join(reason.encode("utf-8", "backslashreplace").decode("utf-8").split())
        message = f"full text of document {document_id} ({title}): {reason}"
        log.error("%s", message)
        self.report.failed.append((record.get("book"), message))
        self._put(document_id, record, status="wanted")


def _newest(results: Iterable[object]) -> datetime | None:
    """The newest `updated_at` of a page of documents: the cursor without a `Date` header."""
    newest = None
    for raw in results:
        value = raw.get("updated_at") if isinstance(raw, dict) else None
        try:
            moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            continue
        moment = moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
        newest = moment if newest is None or moment > newest else newest
    return newest
