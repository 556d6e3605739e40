"""syncd/engine/report.py: what failed, one line per cause (issue 21, item 5)."""

from __future__ import annotations

from syncd.engine.report import SyncReport, cause_of


def test_a_page_write_failing_is_caused_by_its_folder() -> None:
    assert cause_of("/g/pages/A b.md: cannot write page: the disk is full") == (
        "cannot write in /g/pages: the disk is full"
    )
    assert cause_of("field 'highlights' should be list, got str") == (
        "field 'highlights' should be list, got str"
    )


def test_many_books_one_cause_is_one_line_and_a_lone_failure_keeps_its_message() -> None:
    report = SyncReport()
    for n in range(2000):
        report.add_failure(n, f"book {n} (T{n})", f"/g/pages/T{n}.md: cannot write page: nope")
    report.add_failure(7, "book 7 (Odd)", "a template failed")
    report.failed.append((None, "Reader full text: unreachable"))
    assert report.failure_lines() == [
        "2000 books failed: cannot write in /g/pages: nope (book 0 (T0), book 1 (T1), "
        "book 2 (T2) and 1997 more)",
        "book 7 (Odd): a template failed",
        "Reader full text: unreachable",
    ]
    assert len(report.failed) == 2002  # every book is still named in --json and the state
