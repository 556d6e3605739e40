"""One-shot syncs against the loopback Readwise server: appending, idempotence, adoption of the
official plugin's pages, title clashes, bad records and the graph's own settings."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from syncd.edges.vault import Draft, Drafts
from syncd.engine.apply import PlanApplier
from syncd.testing.faults import Fault
from tests.support import owned_fixtures
from tests.support.corpus import corpus_pages, corpus_param
from tests.support.harness import Harness, harness

T0 = datetime(2023, 3, 17, 17, 5, tzinfo=timezone.utc)
PAGE = "Walden (highlights).md"


def add_walden(h: Harness, *texts: str) -> int:
    book = h.server.add_book(
        title="Walden",
        author="Henry David Thoreau",
        category="books",
        asin="B0001",
        highlights=[
            {"text": t, "location": 10 * (i + 1), "location_type": "location"}
            for i, t in enumerate(texts)
        ],
    )
    return int(book["user_book_id"])


def mtimes(h: Harness) -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in h.pages.glob("*")}


def test_second_sync_with_nothing_new_writes_nothing_and_asks_once(tmp_path: Path) -> None:
    with harness(tmp_path) as h:
        h.now = T0 - timedelta(hours=1)
        add_walden(h, "Simplify, simplify.")
        h.sync(at=T0)
        before = mtimes(h)
        h.server.clear_requests()
        report = h.sync(at=T0 + timedelta(hours=1))
        assert report.outcome.new == 0 and report.pages_changed == 0
        assert len(h.server.requests_to("export")) == 1
        assert report.requests == 1
        assert mtimes(h) == before


def test_highlight_added_between_syncs_lands_once_under_one_dated_block(tmp_path: Path) -> None:
    with harness(tmp_path) as h:
        h.now = T0 - timedelta(hours=1)
        book = add_walden(h, "Simplify, simplify.")
        h.sync(at=T0)
        h.now = T0 + timedelta(minutes=30)
        h.server.add_highlight(
            book, text="I went to the woods.", location=99, location_type="location"
        )
        h.sync(at=T0 + timedelta(hours=1))
        h.sync(at=T0 + timedelta(hours=2))
        h.sync(at=T0 + timedelta(hours=3), full=True)
        text = h.page(PAGE)
        assert text.count("I went to the woods.") == 1
        assert text.count("Simplify, simplify.") == 1
        assert text.endswith(
            "- New highlights added [[Mar 17th, 2023]] at 6:05 PM\n"
            "\t- I went to the woods. ([Location\u00a099](https://readwise.io/to_kindle?"
            "action=open&asin=B0001&location=99))"
        )
        assert text.count("New highlights added") == 1


def test_full_sync_refetches_everything_and_duplicates_nothing(tmp_path: Path) -> None:
    with harness(tmp_path) as h:
        h.now = T0 - timedelta(hours=1)
        add_walden(h, "One.", "Two.")
        h.sync(at=T0)
        first = h.page(PAGE)
        h.server.clear_requests()
        report = h.sync(at=T0 + timedelta(hours=1), full=True)
        assert "updatedAfter" not in h.server.requests_to("export")[0].query
        assert report.outcome.new == 0
        assert h.page(PAGE) == first


def test_dry_run_prints_a_diff_and_writes_nothing(tmp_path: Path) -> None:
    with harness(tmp_path) as h:
        h.now = T0 - timedelta(hours=1)
        add_walden(h, "Simplify, simplify.")
        report = h.sync(at=T0, dry_run=True)
        assert h.page_names() == []
        (told,) = report.printed
        line, diff = told.split("\n", 1)
        assert line == "# book 1 (Walden): create pages/Walden (highlights).md: 1 new"
        assert diff.startswith("--- /dev/null\n+++ b/pages/Walden (highlights).md\n")
        assert "+- Highlights first synced by [[Readwise]] [[Mar 17th, 2023]]" in diff
        state = h.state()
        assert state.get("cursor") is None and state.pages() == []
        state.close()


def test_cursor_is_readwise_time_of_the_first_answer_less_a_minute(tmp_path: Path) -> None:
    """The cursor comes from Readwise's `Date` header, never the local clock (issue 10, item
    4); here both clocks agree, see tests/integration/test_server_clock.py for when not."""
    with harness(tmp_path) as h:
        add_walden(h, "Simplify, simplify.")
        report = h.sync(at=T0)
        assert report.cursor == "2023-03-17T17:04:00.000000Z"
        h.server.clear_requests()
        h.sync(at=T0 + timedelta(hours=1))
        (request,) = h.server.requests_to("export")
        assert request.query["updatedAfter"] == "2023-03-17T17:04:00.000000Z"


def test_bad_record_skips_that_book_only_and_remembers_it_as_failed(tmp_path: Path) -> None:
    """The cursor moves on: the failed book is remembered, to be fetched again by id (issue 10,
    item 6)."""
    with harness(tmp_path) as h:
        h.now = T0 - timedelta(hours=1)
        add_walden(h, "Simplify, simplify.")
        h.server.put_record(
            {"user_book_id": 777, "title": "Broken", "highlights": [{"id": 5, "text": None}]}
        )
        report = h.sync(at=T0)
        assert [book for book, _ in report.failed] == [777]
        assert (
            "book 777 (Broken)" in report.failed[0][1]
            and "'highlights[0].text'" in report.failed[0][1]
        )
        assert h.page_names() == [PAGE]
        state = h.state()
        assert state.get("cursor") == report.cursor is not None
        (problem,) = state.problems()
        assert (problem.book_id, problem.kind, problem.title) == (777, "failed", "Broken")
        state.close()


def test_two_books_with_one_title_get_two_pages(tmp_path: Path) -> None:
    with harness(tmp_path) as h:
        h.now = T0 - timedelta(hours=1)
        add_walden(h, "First book's highlight.")
        add_walden(h, "Second book's highlight.")
        h.sync(at=T0)
        assert h.page_names() == ["Walden (highlights) (2).md", PAGE]
        assert "First book's" in h.page(PAGE)
        assert "Second book's" in h.page("Walden (highlights) (2).md")


def test_a_page_syncd_did_not_write_is_never_written(tmp_path: Path) -> None:
    with harness(tmp_path) as h:
        h.pages.mkdir()
        mine = "title:: Walden (highlights)\n\n- my own notes on Walden"
        (h.pages / PAGE).write_text(mine, encoding="utf-8")
        h.now = T0 - timedelta(hours=1)
        add_walden(h, "Simplify, simplify.")
        h.sync(at=T0)
        assert h.page(PAGE) == mine
        assert "Simplify, simplify." in h.page("Walden (highlights) (2).md")


def test_a_page_made_by_the_user_while_syncd_writes_new_pages_is_left_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """New pages are put in place together after their text is written: a file the user made
    at one of their paths meanwhile is kept; that book fails and is synced next time."""
    mine = "title:: Walden (highlights)\n\n- my own notes on Walden"
    real_place = Drafts.place

    def place(drafts: Drafts) -> list[Draft]:
        (h.pages / PAGE).write_text(mine, encoding="utf-8")
        return real_place(drafts)

    with harness(tmp_path) as h:
        h.now = T0 - timedelta(hours=1)
        walden = add_walden(h, "Simplify, simplify.")
        h.server.add_book(title="Cape Cod", highlights=[{"text": "The sea."}])
        monkeypatch.setattr(Drafts, "place", place)
        report = h.sync(at=T0)
        monkeypatch.undo()
        assert [book for book, _ in report.failed] == [walden]
        assert "a file appeared there while syncd wrote the page" in report.failed[0][1]
        assert report.outcome.new == 1 and report.pages_created == 1
        assert h.page(PAGE) == mine and "The sea." in h.page("Cape Cod (highlights).md")
        state = h.state()
        assert [(p.book_id, p.kind) for p in state.problems()] == [(walden, "failed")]
        state.close()
        report = h.sync(at=T0 + timedelta(hours=1))  # Walden: fetched again by its id
        assert not report.failed and report.outcome.new == 1
        state = h.state()
        assert state.problems() == []
        state.close()
        assert h.page(PAGE) == mine
        assert "Simplify, simplify." in h.page("Walden (highlights) (2).md")


@pytest.mark.parametrize("source", ["owned", corpus_param("corpus", id="corpus")])
def test_pages_of_the_official_plugin_are_adopted_not_duplicated(
    tmp_path: Path, source: str
) -> None:
    """A page the Readwise plugin wrote (the project's own fixture's, or the corpus's): what is
    on it is recognised, only new highlights go under a new dated block at its end."""
    pages = owned_fixtures.logseq_pages() if source == "owned" else corpus_pages()
    golden = next(p for p in pages if len(p.syncs) == 1 and len(p.highlights) >= 2)
    with harness(tmp_path) as h:
        h.pages.mkdir()
        (h.pages / golden.file_name).write_bytes(golden.text.encode())
        h.now = golden.syncs[0].at
        book_id = golden.book["user_book_id"]
        h.server.add_book(**golden.book)
        for highlight in golden.highlights:
            h.server.add_highlight(book_id, **highlight)
        h.server.add_highlight(book_id, text="A highlight made after the plugin's last sync.")
        report = h.sync(at=T0)
        assert report.outcome.new == 1 and report.pages_created == 0
        assert h.page_names() == [golden.file_name]
        assert h.page(golden.file_name) == golden.text + (
            "\n- New highlights added [[Mar 17th, 2023]] at 5:05 PM\n"
            "\t- A highlight made after the plugin's last sync."
        )


def test_the_graphs_journal_format_and_legacy_file_names_are_followed(tmp_path: Path) -> None:
    edn = ';; a comment :file/name-format :triple-lowbar\n{:journal/page-title-format "yyyy-MM-dd"}'
    with harness(tmp_path, edn=edn) as h:
        h.now = T0 - timedelta(hours=1)
        h.server.add_book(title="Tabs/Spaces", highlights=[{"text": "Indent."}])
        h.sync(at=T0)
        (name,) = h.page_names()
        assert name == "Tabs%2FSpaces (highlights).md"  # :legacy, as Logseq reads this graph
        assert "- Highlights first synced by [[Readwise]] [[2023-03-17]]" in h.page(name)


def test_a_vault_without_logseq_config_gets_triple_lowbar_names(tmp_path: Path) -> None:
    with harness(tmp_path, edn=None) as h:
        h.now = T0 - timedelta(hours=1)
        h.server.add_book(title="Tabs/Spaces", highlights=[{"text": "Indent."}])
        h.sync(at=T0)
        assert h.page_names() == ["Tabs___Spaces (highlights).md"]


def test_sync_log_page_gets_one_line_per_sync_that_brought_something(tmp_path: Path) -> None:
    with harness(tmp_path, settings={"sync": {"sync_log_page": "Readwise"}}) as h:
        h.now = T0 - timedelta(hours=1)
        add_walden(h, "One.", "Two.")
        h.server.add_book(title="Other", highlights=[{"text": "Three."}])
        h.sync(at=T0)
        h.sync(at=T0 + timedelta(hours=1))
        assert h.page("Readwise.md") == (
            "- On [[Mar 17th, 2023]] at 5:05 PM Readwise synced 3 highlights from 2 books."
        )


def test_a_sync_stopped_before_its_log_line_is_told_of_by_the_next(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Killed after its highlights were recorded, a sync wrote no log line; the next one, with
    nothing new of its own, writes it (and only once)."""
    with harness(tmp_path, settings={"sync": {"sync_log_page": "Readwise"}}) as h:
        h.now = T0 - timedelta(hours=1)
        add_walden(h, "One.", "Two.")
        h.server.add_book(title="Other", highlights=[{"text": "Three."}])

        def killed(*args: object) -> None:
            raise KeyboardInterrupt

        monkeypatch.setattr(PlanApplier, "write_sync_log", killed)
        with pytest.raises(KeyboardInterrupt):
            h.sync(at=T0)
        monkeypatch.undo()
        assert "Readwise.md" not in h.page_names()
        assert h.sync(at=T0 + timedelta(hours=1)).outcome.new == 0
        h.sync(at=T0 + timedelta(hours=2))
        assert h.page("Readwise.md") == (
            "- On [[Mar 17th, 2023]] at 6:05 PM Readwise synced 3 highlights from 2 books."
        )


@pytest.mark.parametrize(
    "fault",
    [Fault.status(503), Fault.reset(), Fault.bad_json(), Fault.truncated(), Fault.retry_after(0)],
    ids=["503", "reset", "bad-json", "truncated", "429"],
)
def test_a_passing_fault_is_retried_and_the_sync_completes(tmp_path: Path, fault: Fault) -> None:
    with harness(tmp_path) as h:
        h.now = T0 - timedelta(hours=1)
        add_walden(h, "Simplify, simplify.")
        h.server.inject("export", fault, times=1)
        report = h.sync(at=T0)
        assert report.outcome.new == 1 and report.requests == 2
        assert h.page_names() == [PAGE]


def test_the_new_pages_a_sync_remembers_hold_no_page_text(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 20: the records of a first sync's new pages are kept until it ends (10,000 in a
    first sync of 10,000 books); with each page's opening, 7 MB of its peak memory. The
    opening is in the state, where the page is recorded."""
    from syncd.engine import planner

    planners: list[planner.BookPlanner] = []
    made = planner.BookPlanner.__init__

    def keep(self: planner.BookPlanner, **parts: Any) -> None:
        made(self, **parts)
        planners.append(self)

    monkeypatch.setattr(planner.BookPlanner, "__init__", keep)
    with harness(tmp_path) as h:
        book_id = add_walden(h, "One.", "Two.")
        h.sync(T0)
        assert [p.new_pages[book_id].opening for p in planners] == [None]
        state = h.state()
        try:
            recorded = state.page(book_id)
            assert recorded is not None and recorded.opening
        finally:
            state.close()
