"""What a sync decides for one book before anything is written: `BookPlan`, pure.

The engine gathers a book's facts (its page record, the page's text where it is needed, the
name a new page would take) and the core decides the plan: the page's act
(`syncd.core.page_life`), the page's text before and after (`syncd.core.plan` decides each
block), the records to remember and the counts. The engine then applies the plan, or, in a dry
run, prints it: the two never decide differently.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from syncd.core.identity import opening
from syncd.core.model import Book, Highlight
from syncd.core.page_life import PageAct, PageStatus
from syncd.core.plan import Options, Outcome, new_page_records, plan_page
from syncd.core.push_plan import HighlightPush, PushFacts, Send, Skipped
from syncd.core.records import HighlightRecord, PageRecord
from syncd.core.render import Style, render_new_page


@dataclass(frozen=True)
class PageSeen:
    """A page's stat as it was read: what is remembered of it when nothing is written."""

    size: int | None
    mtime_ns: int | None
    file_id: tuple[int, int] | None


@dataclass
class BookPlan:
    """One book's plan. `after` is the page's new text (None: the file stays as it is), made
    against `before` (None: no file there yet); `page` is the book's page as the plan leaves
    it, `highlights` the records to remember."""

    book_id: int
    title: str  # the book's
    act: PageAct
    page: PageRecord | None = None
    before: str | None = None
    after: str | None = None
    highlights: list[HighlightRecord] = field(default_factory=list)
    outcome: Outcome = field(default_factory=Outcome)
    seen: PageSeen | None = None  # the page as read (None: not read, nothing to remember)
    # Two-way sync (issue 19): what it decided for the highlights the user edited, the edits
    # it did not push and why, and the pushes a kill left unsettled: (number, now made or
    # dropped), by what Readwise holds now.
    pushes: list[HighlightPush] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    settled: list[tuple[int, str]] = field(default_factory=list)
    pushes_looked: bool = False  # the user's edits were looked at (see PUSH_SEEN)
    fetched: frozenset[int] = frozenset()  # ... those of these highlights (fetched)

    @property
    def sends(self) -> list[Send]:
        """The fields to send to Readwise, in the order of the highlights."""
        return [send for push in self.pushes for send in push.sends]

    @property
    def new_file(self) -> bool:
        """Whether the plan writes a file where there was none (a new page)."""
        return self.after is not None and self.before is None

    @property
    def worth_telling(self) -> bool:
        """Whether a dry run tells of the plan: it writes, waits, keeps highlights out or
        creates a page anew (a page that stays as it is goes unsaid)."""
        return (
            self.after is not None
            or self.act in (PageAct.WAIT, PageAct.RECREATE)
            or self.outcome.kept_out > 0
        )

    def line(self) -> str:
        """The plan in one line, as a dry run prints it."""
        o = self.outcome
        counts = ", ".join(
            f"{n} {what}"
            for n, what in (
                (o.new, "new"),
                (o.updated, "updated"),
                (o.removed, "removed"),
                (o.kept_out, "kept out"),
                (o.conflicts, "in conflict"),
            )
            if n
        )
        if o.pushed:
            counts += (", " if counts else "") + f"{o.pushed} pushed"
        where = f" {self.page.path}" if self.page is not None else ""
        change = "" if self.after is not None or self.act is not PageAct.UPDATE else " (unchanged)"
        return f"book {self.book_id} ({self.title}): {self.act.value}{where}{change}" + (
            f": {counts}" if counts else ""
        )


def plan_new_page(
    book: Book,
    fetched: list[Highlight],
    page: PageRecord,
    title: str,
    style: Style,
    now: datetime,
    options: Options,
    link: str | None,
) -> BookPlan:
    """The plan of a book's first page, at `page.path`, named `page.title`, stating `title`."""
    blocks, records = new_page_records(book, fetched, style, options.block_ids)
    if not blocks:
        return BookPlan(book.id, book.title, PageAct.CREATE)
    text = render_new_page(book, title, blocks, style, now, link)
    page = PageRecord(
        page.book_id,
        page.path,
        page.title,
        PageStatus.ACTIVE,
        opening=opening(text, style.page_format.first_sync_mark),
    )
    return BookPlan(
        book.id, book.title, PageAct.CREATE, page, None, text, records, Outcome(new=len(blocks))
    )


def plan_page_update(
    book: Book,
    fetched: list[Highlight],
    act: PageAct,
    page: PageRecord,
    text: str,
    seen: PageSeen,
    records: Mapping[int, HighlightRecord],
    style: Style,
    now: datetime,
    options: Options,
    push: PushFacts | None = None,
) -> BookPlan:
    """The plan of a page that is there (the book's, or the official plugin's to adopt); with
    `push`, the user's edits merged with Readwise's (`syncd.core.push_plan`)."""
    plan = plan_page(book, fetched, text, records, style, now, options, push)
    return BookPlan(
        book.id,
        book.title,
        act,
        page,
        text,
        plan.text,
        plan.records,
        plan.outcome,
        seen,
        plan.pushes,
        plan.skipped,
    )


def plan_kept_out(
    book: Book, fetched: list[Highlight], page: PageRecord, known: Mapping[int, HighlightRecord]
) -> BookPlan:
    """A deleted page's book: its new highlights stay out (see `syncd resync`)."""
    kept_out = sum(1 for h in fetched if not h.deleted_in_readwise and h.id not in known)
    return BookPlan(book.id, book.title, PageAct.KEEP_OUT, page, outcome=Outcome(kept_out=kept_out))
