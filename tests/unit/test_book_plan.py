"""syncd/core/book_plan.py: a book's plan decided from its facts, pure. A first page holds every
highlight Readwise has not deleted, with its opening remembered; a page that is there gets only
what the block decision says; a deleted page's new highlights are counted out; each plan reads
as one line, and says whether a dry run tells of it."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from syncd.core.book_plan import (
    BookPlan,
    PageSeen,
    plan_kept_out,
    plan_new_page,
    plan_page_update,
)
from syncd.core.decision import Status
from syncd.core.identity import opening
from syncd.core.model import Book, Highlight
from syncd.core.page_life import PageAct, PageStatus
from syncd.core.plan_terms import Options, Outcome
from syncd.core.records import HighlightRecord, PageRecord
from syncd.core.render import Style
from syncd.core.templates import Templates

T0 = datetime(2023, 3, 17, 17, 5, tzinfo=timezone.utc)
BOOK = Book(id=7, title="Walden", author="Thoreau", highlights=())
PAGE = PageRecord(7, "pages/Walden.md", "Walden", PageStatus.ACTIVE)
SEEN = PageSeen(10, 20, (1, 2))


def style(fmt: str) -> Style:
    return Style(templates=Templates(fmt), tz=timezone.utc)


def highlight(n: int, *, deleted: bool = False) -> Highlight:
    return Highlight(n, f"Highlight number {n}, long enough.", deleted_in_readwise=deleted)


@pytest.mark.parametrize("fmt", ["logseq", "obsidian"])
def test_a_first_page_holds_every_highlight_readwise_kept(fmt: str) -> None:
    fetched = [highlight(1), highlight(2, deleted=True), highlight(3)]
    plan = plan_new_page(BOOK, fetched, PAGE, "Walden", style(fmt), T0, Options(), None)
    assert plan.act is PageAct.CREATE and plan.new_file and plan.before is None
    assert plan.after is not None and "number 1" in plan.after and "number 3" in plan.after
    assert "number 2" not in plan.after
    assert [h.highlight_id for h in plan.highlights] == [1, 3]
    assert all(h.status is Status.WRITTEN for h in plan.highlights)
    assert plan.outcome == Outcome(new=2)
    mark = style(fmt).page_format.first_sync_mark
    assert plan.page is not None and plan.page.opening == opening(plan.after, mark)


def test_a_book_with_nothing_to_show_gets_no_page() -> None:
    plan = plan_new_page(
        BOOK, [highlight(1, deleted=True)], PAGE, "Walden", style("logseq"), T0, Options(), None
    )
    assert plan.after is None and plan.page is None and not plan.worth_telling


def test_a_page_that_is_there_gets_only_what_is_new() -> None:
    first = plan_new_page(
        BOOK, [highlight(1)], PAGE, "Walden", style("logseq"), T0, Options(), None
    )
    assert first.after is not None
    records = {h.highlight_id: h for h in first.highlights}
    again = plan_page_update(
        BOOK, [highlight(1)], PageAct.UPDATE, PAGE, first.after, SEEN, records,
        style("logseq"), T0, Options(),
    )  # fmt: skip
    assert again.after is None and again.outcome == Outcome() and again.seen == SEEN
    assert not again.worth_telling and again.line().endswith("(unchanged)")
    more = plan_page_update(
        BOOK, [highlight(1), highlight(2)], PageAct.UPDATE, PAGE, first.after, SEEN, records,
        style("logseq"), T0, Options(),
    )  # fmt: skip
    assert more.after is not None and more.after.startswith(first.after)
    assert more.outcome == Outcome(new=1) and not more.new_file
    assert more.line() == "book 7 (Walden): update pages/Walden.md: 1 new"


def test_a_deleted_page_counts_its_new_highlights_out() -> None:
    known = {1: HighlightRecord(1, 7, "- one", "s", Status.WRITTEN)}
    gone = PageRecord(7, "pages/Walden.md", "Walden", PageStatus.DELETED)
    plan = plan_kept_out(
        BOOK, [highlight(1), highlight(2), highlight(3, deleted=True)], gone, known
    )
    assert plan.outcome == Outcome(kept_out=1) and plan.after is None
    assert (
        plan.worth_telling
        and plan.line() == "book 7 (Walden): keep out pages/Walden.md: 1 kept out"
    )


def test_a_dry_run_tells_of_waiting_and_creating_anew() -> None:
    assert BookPlan(7, "Walden", PageAct.WAIT, PAGE).worth_telling
    assert BookPlan(7, "Walden", PageAct.RECREATE, PAGE).worth_telling
    assert not BookPlan(7, "Walden", PageAct.UPDATE, PAGE).worth_telling
