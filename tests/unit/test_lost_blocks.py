"""A block syncd wrote that is not on the page as written is looked for by likeness: the
user's edit of it. Several such records are paired with the page's blocks together, the most
alike first, not in the records' order: one record must not take another's edit because it
was looked for first."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone

import pytest

from syncd.core.decision import Status
from syncd.core.model import Book, Highlight
from syncd.core.page_reading import observe_page
from syncd.core.plan import new_page_records, plan_page
from syncd.core.plan_terms import Options
from syncd.core.render import Style, render_new_page
from syncd.core.templates import Templates

T0 = datetime(2024, 1, 1, tzinfo=timezone.utc)
BOOK = Book(id=1, title="Book b-1", author="World", highlights=())
ONE = Highlight(1, "hl-1v1 words of 1")
THREE = Highlight(3, "hl-3v1 words of 3", note="a note on 3")


def style(fmt: str) -> Style:
    return Style(templates=Templates(fmt), tz=timezone.utc)


def one_deleted_three_edited(fmt: str) -> tuple[str, dict]:  # type: ignore[type-arg]
    """Highlight 1's block deleted, highlight 3's note emptied; the two texts a digit apart."""
    blocks, rows = new_page_records(BOOK, [ONE, THREE], style(fmt))
    text = render_new_page(BOOK, "Book b-1", blocks, style(fmt), T0, None)
    records = {r.highlight_id: r for r in rows}
    mine = text.replace(blocks[0] + "\n", "").replace("a note on 3", "my own")
    assert "hl-1v1" not in mine and "my own" in mine
    return mine, records


@pytest.mark.parametrize("fmt", ["logseq", "obsidian"])
def test_a_deleted_block_never_takes_the_edit_of_a_block_more_alike_another(fmt: str) -> None:
    """World seed 324161665: highlight 1 deleted, looked for first, took highlight 3's edited
    block (its first line 94% alike); highlight 3 read as deleted, its edit never pushed."""
    mine, records = one_deleted_three_edited(fmt)
    changed = {
        r.highlight_id: r.status for r in observe_page(mine, records, style(fmt).page_format)
    }
    assert changed == {1: Status.DELETED, 3: Status.EDITED}


@pytest.mark.parametrize("fmt", ["logseq", "obsidian"])
def test_an_update_of_a_deleted_highlight_is_never_written_into_another_s_edit(fmt: str) -> None:
    """The same page in a one-way sync, Readwise having changed highlight 1: its new text is
    not written over highlight 3's edited block; highlight 3's edit stays."""
    mine, records = one_deleted_three_edited(fmt)
    changed = replace(ONE, text="hl-1v2 words of 1")
    plan = plan_page(BOOK, [changed, THREE], mine, records, style(fmt), T0, Options())
    assert plan.text is None or ("my own" in plan.text and "hl-1v2" not in plan.text)
    assert {r.highlight_id: r.status for r in plan.records if r.status is not Status.WRITTEN} == {
        1: Status.DELETED,
        3: Status.EDITED,
    }


@pytest.mark.parametrize("fmt", ["logseq", "obsidian"])
def test_words_appended_keep_a_block_its_own_beside_a_deleted_neighbour(fmt: str) -> None:
    """Highlight 1's text with words appended (69% alike its record), highlight 3 deleted (its
    record 88% alike that block, a digit apart): the block holds highlight 1's text whole, so
    it is highlight 1's edit; highlight 3 is deleted."""
    blocks, rows = new_page_records(BOOK, [ONE, THREE], style(fmt))
    text = render_new_page(BOOK, "Book b-1", blocks, style(fmt), T0, None)
    records = {r.highlight_id: r for r in rows}
    mine = text.replace(blocks[1], "").replace("of 1", "of 1 pt-2 pt-4 pt-5")
    assert "hl-3v1" not in mine
    seen = observe_page(mine, records, style(fmt).page_format)
    assert {r.highlight_id: r.status for r in seen} == {1: Status.EDITED, 3: Status.DELETED}
