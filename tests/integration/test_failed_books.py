"""One book never stops the others (issue 10, item 6): a record that does not fit (a lone
surrogate), a template, a name, a write that fails for one book fails that book alone; it is
named, shown by `syncd status`, and fetched again by id at each later sync (the cursor moves on)
until it succeeds. Page names never run out."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml

import syncd.core.book_plan
from syncd.cli import main
from syncd.core.records import PageRecord
from syncd.edges.readwise import format_cursor
from syncd.edges.vault import PageFile, Vault
from syncd.engine.run import CURSOR_OVERLAP
from tests.support.harness import Harness, harness

T0 = datetime(2023, 3, 17, 17, 5, tzinfo=timezone.utc)


def add(h: Harness, title: str, *texts: str, **fields: Any) -> int:
    book = h.server.add_book(
        title=title, author="A. Writer", highlights=[{"text": text, **fields} for text in texts]
    )
    return int(book["user_book_id"])


def problems(h: Harness) -> list[tuple[int, str, str]]:
    state = h.state()
    try:
        return [(p.book_id, p.kind, p.title) for p in state.problems()]
    finally:
        state.close()


def export_ids(h: Harness) -> list[str]:
    """The `ids` of the export requests made since the requests were last cleared."""
    return [r.query["ids"] for r in h.server.requests_to("export") if "ids" in r.query]


def test_a_lone_surrogate_fails_its_book_alone_and_it_is_fetched_again_by_id(
    tmp_path: Path,
) -> None:
    """issue 10, item 6 (a, d): a highlight holding "\\ud800" (valid JSON) fails its book only;
    the books after it sync; the next syncs fetch it again by id although the cursor moved on,
    and once Readwise's record is mended it syncs and the failure is forgotten."""
    with harness(tmp_path) as h:
        h.now = T0 - timedelta(hours=1)
        add(h, "Walden", "Simplify, simplify.")
        broken = add(h, "Broken Record", "Fine words.", "Half \ud800 a character.")
        add(h, "Zebra", "Stripes.")  # after the broken one in the export
        bad = h.server.book(broken)["highlights"][1]["id"]

        report = h.sync(at=T0)
        assert [book for book, _ in report.failed] == [broken]
        assert report.failed[0][1].startswith(f"book {broken} (Broken Record): ")
        assert "lone surrogate" in report.failed[0][1]
        assert h.page_names() == ["Walden (highlights).md", "Zebra (highlights).md"]
        assert problems(h) == [(broken, "failed", "Broken Record")]
        assert report.cursor == format_cursor(T0 - CURSOR_OVERLAP)

        h.server.clear_requests()
        report = h.sync(at=T0 + timedelta(hours=1))  # still broken: fetched by id, fails again
        assert [book for book, _ in report.failed] == [broken]
        first = h.server.requests_to("export")[0]  # the cursor moved on:
        assert first.query["updatedAfter"] == format_cursor(T0 - CURSOR_OVERLAP)
        assert export_ids(h) == [str(broken)]

        # Readwise mends the record, stamped before the cursor: only a fetch by id finds it.
        h.now = T0 + timedelta(minutes=30)
        h.server.update_highlight(bad, text="Half a character, mended.", updated_at=h.now)
        h.server.clear_requests()
        report = h.sync(at=T0 + timedelta(hours=2))
        assert not report.failed and report.outcome.new == 2
        assert export_ids(h) == [str(broken)]
        page = h.page("Broken Record (highlights).md")
        assert "Fine words." in page and "Half a character, mended." in page
        assert problems(h) == []
        assert report.cursor == format_cursor(T0 + timedelta(hours=2) - CURSOR_OVERLAP)

        h.server.clear_requests()
        report = h.sync(at=T0 + timedelta(hours=3))  # nothing failed: no fetch by id
        assert export_ids(h) == [] and report.outcome.new == 0


def test_the_command_exits_1_names_the_failed_book_and_status_shows_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """issue 10, item 6: exit 1, the book named on one line of stderr, no traceback, and
    `syncd status` (text and JSON) lists it as failed."""
    with harness(tmp_path) as h:
        h.now = T0 - timedelta(hours=1)
        add(h, "Walden", "Simplify, simplify.")
        broken = add(h, "Broken \udc80 Title", "Half \ud800 a character.")
        config = tmp_path / "config.yaml"
        config.write_text(
            yaml.safe_dump(
                {
                    "readwise": {"token": h.server.token, "base_url": h.server.url},
                    "vault": {"path": str(h.vault), "timezone": "UTC"},
                    "state_dir": str(h.state_dir),
                }
            ),
            encoding="utf-8",
        )
        config.chmod(0o600)
        monkeypatch.setenv("SYNCD_NOW", "2023-03-17T17:05:00Z")
        monkeypatch.delenv("READWISE_TOKEN", raising=False)
        capsys.readouterr()
        assert main(["sync", "--config", str(config)]) == 1
        err = capsys.readouterr().err
        named = [line for line in err.splitlines() if line.startswith("syncd: failed:")]
        assert named == [
            f"syncd: failed: book {broken} (Broken \\udc80 Title): field "
            "'readable_title' holds a lone surrogate (not valid Unicode text)"
        ]
        assert "Traceback" not in err and h.server.token not in err
        assert (h.pages / "Walden (highlights).md").exists()

        assert main(["status", "--config", str(config)]) == 0
        out = capsys.readouterr().out
        assert f"book {broken} (Broken \\udc80 Title) failed: field" in out
        assert main(["status", "--json", "--config", str(config)]) == 0
        status = json.loads(capsys.readouterr().out)
        assert [(b["book_id"], b["kind"]) for b in status["books_not_synced"]] == [
            (broken, "failed")
        ]
        assert status["cursor"] is not None


def test_more_than_999_books_with_one_title_each_get_their_own_page(tmp_path: Path) -> None:
    """issue 10, item 6 (b): names never run out (the 1,000th same-title book stopped every
    sync)."""
    with harness(tmp_path) as h:
        h.now = T0 - timedelta(hours=1)
        h.server.load(
            [{"title": "Notes", "highlights": [{"text": f"Highlight {n}."}]} for n in range(1003)]
        )
        report = h.sync(at=T0)
        assert not report.failed and report.pages_created == 1003
        names = h.page_names()
        assert len(names) == 1003
        assert {
            "Notes (highlights).md",
            "Notes (highlights) (999).md",
            "Notes (highlights) (1000).md",
            "Notes (highlights) (1003).md",
        } <= set(names)
        texts = {h.page(name).rsplit("- ", 1)[1] for name in names}
        assert texts == {f"Highlight {n}." for n in range(1003)}  # each book on its own page


def test_choosing_a_name_reads_only_the_candidate_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """issue 10, item 6 (b): with 1,500 pages of one title known, new books of that title get
    the next names, reading one file each (the names taken are known from the state)."""
    reads: list[Path] = []
    real_read = Vault.read

    def read(vault: Vault, path: Path, *, candidate: bool = False) -> PageFile:
        reads.append(path)
        return real_read(vault, path, candidate=candidate)

    with harness(tmp_path) as h:
        state = h.state()
        with state.transaction():
            for n in range(1, 1501):
                suffix = "" if n == 1 else f" ({n})"
                state.put_page(
                    PageRecord(
                        10_000 + n,
                        f"pages/Notes (highlights){suffix}.md",
                        f"Notes (highlights){suffix}",
                        "deleted",
                    )
                )
        state.close()
        h.now = T0 - timedelta(hours=1)
        for n in range(3):
            add(h, "Notes", f"New {n}.")
        # The pages folder is there (were it not, no file would be read at all: nothing can be
        # in it; see tests/integration/test_naming_probes.py).
        h.pages.mkdir(parents=True)
        monkeypatch.setattr(Vault, "read", read)
        report = h.sync(at=T0)
        assert not report.failed and report.pages_created == 3
        assert h.page_names() == [f"Notes (highlights) ({n}).md" for n in (1501, 1502, 1503)]
        assert sorted(path.name for path in reads) == h.page_names()


def test_a_book_whose_template_fails_fails_alone(tmp_path: Path) -> None:
    """issue 10, item 6 (c): a custom template that divides by the number of tags works for
    the books whose highlights have tags and fails, with the template named, for the one
    whose highlight has none; the failure is remembered."""
    template = "- {{ highlight_text }} ({{ 12 // highlight_tags|length }} per tag)"
    with harness(tmp_path, settings={"templates": {"highlight": template}}) as h:
        h.now = T0 - timedelta(hours=1)
        add(h, "Walden", "Simplify.", tags=[{"name": "a"}, {"name": "b"}])
        odd = add(h, "Odd", "No tags at all.")
        add(h, "Zebra", "Stripes.", tags=[{"name": "c"}])
        report = h.sync(at=T0)
        assert [book for book, _ in report.failed] == [odd]
        assert "templates.highlight" in report.failed[0][1]
        assert "ZeroDivisionError" in report.failed[0][1]
        assert "(6 per tag)" in h.page("Walden (highlights).md")
        assert "(12 per tag)" in h.page("Zebra (highlights).md")
        assert not (h.pages / "Odd (highlights).md").exists()
        assert problems(h) == [(odd, "failed", "Odd")]


def test_any_exception_while_rendering_one_book_fails_that_book_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """issue 10, item 6 (c): an unexpected exception (here a UnicodeEncodeError raised by the
    renderer for one book, first as a new page then as an addition) is that book's failure,
    named with its type; nothing of that book is written or recorded."""
    real_new, real_addition = syncd.core.book_plan.render_new_page, syncd.core.plan.render_addition
    victim: list[int] = []

    def new_page(book: Any, *args: Any) -> str:
        if book.id in victim:
            raise UnicodeEncodeError("utf-8", "x", 0, 1, "odd data")
        return str(real_new(book, *args))

    def addition(book: Any, *args: Any) -> str:
        if book.id in victim:
            raise RuntimeError("the renderer broke")
        return str(real_addition(book, *args))

    monkeypatch.setattr(syncd.core.book_plan, "render_new_page", new_page)
    monkeypatch.setattr(syncd.core.plan, "render_addition", addition)
    with harness(tmp_path) as h:
        h.now = T0 - timedelta(hours=1)
        walden = add(h, "Walden", "Simplify.")
        victim.append(add(h, "Victim", "First."))
        report = h.sync(at=T0)
        assert [book for book, _ in report.failed] == victim
        assert "UnicodeEncodeError" in report.failed[0][1]
        assert h.page_names() == ["Walden (highlights).md"]
        state = h.state()
        assert state.page(victim[0]) is None and state.highlights(victim[0]) == {}
        state.close()

        victim.remove(victim[0])
        victim.append(walden)  # now Walden's addition fails; the victim syncs on its retry
        h.now = T0 + timedelta(minutes=10)
        h.server.add_highlight(walden, text="Later.")
        before = h.page("Walden (highlights).md")
        report = h.sync(at=T0 + timedelta(hours=1))
        assert [book for book, _ in report.failed] == [walden]
        assert "RuntimeError: the renderer broke" in report.failed[0][1]
        assert h.page("Walden (highlights).md") == before
        assert "First." in h.page("Victim (highlights).md")
        assert problems(h) == [(walden, "failed", "Walden")]


def test_a_book_whose_page_is_taken_by_a_folder_fails_alone(tmp_path: Path) -> None:
    """issue 10, item 6 (c): a folder where a book's page is (or where a new page would go)
    fails that book, with the path named; the others sync; the book is fetched again by id
    and syncs once the folder is gone."""
    with harness(tmp_path) as h:
        h.now = T0 - timedelta(hours=1)
        walden = add(h, "Walden", "Simplify.")
        h.sync(at=T0)
        (h.pages / "Walden (highlights).md").unlink()
        (h.pages / "Walden (highlights).md").mkdir()
        (h.pages / "Cape Cod (highlights).md").mkdir()
        h.now = T0 + timedelta(minutes=10)
        h.server.add_highlight(walden, text="Later.")
        cape = add(h, "Cape Cod", "The sea.")
        zebra = add(h, "Zebra", "Stripes.")
        report = h.sync(at=T0 + timedelta(hours=1))
        assert sorted(book for book, _ in report.failed) == sorted([walden, cape])
        assert all("is a folder where a page should be" in error for _, error in report.failed)
        assert "Stripes." in h.page("Zebra (highlights).md")
        assert sorted(problems(h)) == sorted(
            [(walden, "failed", "Walden"), (cape, "failed", "Cape Cod")]
        )
        (h.pages / "Cape Cod (highlights).md").rmdir()
        h.server.clear_requests()
        report = h.sync(at=T0 + timedelta(hours=2))
        assert export_ids(h) == [f"{min(walden, cape)},{max(walden, cape)}"]
        assert [book for book, _ in report.failed] == [walden]
        assert "The sea." in h.page("Cape Cod (highlights).md")
        assert problems(h) == [(walden, "failed", "Walden")]
        assert zebra not in {book for book, _, _ in problems(h)}
