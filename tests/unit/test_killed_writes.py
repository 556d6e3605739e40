"""What the next sync keeps of a page write a kill left unrecorded (`settled_blocks`): a block
on the page as meant is written; a block alike a highlight new to syncd is taken for the
user's edit of it only on evidence (the write made, the block more alike it than any other
highlight's); in doubt nothing is recorded, so that the highlight is written."""

from __future__ import annotations

from syncd.core.decision import Status
from syncd.core.killed_writes import settled_blocks
from syncd.core.records import HighlightRecord
from syncd.core.render import LOGSEQ, OBSIDIAN, PageFormat

BOOK = 7
HEAD = "title:: Walden (highlights)\nauthor:: [[Thoreau]]\n\n"
FIRST = "- Highlights first synced by [[Readwise]] [[Jan 1st, 2024]]"
ADDED = "- New highlights added [[Jan 2nd, 2024]] at 9:05 AM"
NEW = "I went to the woods because I wished to live deliberately."


def rec(
    highlight_id: int, text: str, status: Status = Status.WRITTEN, *, obsidian: bool = False
) -> HighlightRecord:
    block = f"- {text}" if obsidian else f"\t- {text}"
    return HighlightRecord(highlight_id, BOOK, block, f"source-{highlight_id}", status)


def page(*lines: str, added: list[str] | None = None) -> str:
    """A Logseq page: the first header with `lines` under it, then (the write made) the
    header it added with `added` under it."""
    text = HEAD + FIRST + "\n" + "".join(f"\t- {line}\n" for line in lines)
    if added is not None:
        text += ADDED + "\n" + "".join(f"\t- {line}\n" for line in added)
    return text


def settle(
    text: str,
    meant: list[HighlightRecord],
    known: list[HighlightRecord],
    *,
    replaced: bool,
    fmt: PageFormat = LOGSEQ,
) -> dict[int, Status]:
    """What is kept of the highlights new to syncd."""
    kept = settled_blocks(
        text,
        {r.highlight_id: r for r in meant},
        {r.highlight_id: r for r in known},
        fmt,
        replaced=replaced,
    )
    old = {r.highlight_id for r in known}
    return {r.highlight_id: r.status for r in kept if r.highlight_id not in old}


def test_a_block_on_the_page_as_meant_is_written() -> None:
    known = [rec(1, "Simplify, simplify.")]
    text = page("Simplify, simplify.", added=[NEW])
    assert settle(text, [*known, rec(2, NEW)], known, replaced=True) == {2: Status.WRITTEN}


def test_the_new_highlights_block_edited_after_the_write_was_made_is_edited() -> None:
    known = [rec(1, "Simplify, simplify.")]
    edit = "I went to the woods because I wished to live deliberately, and so should you."
    text = page("Simplify, simplify.", added=[edit])
    assert settle(text, [*known, rec(2, NEW)], known, replaced=True) == {2: Status.EDITED}


def test_a_block_alike_the_new_highlight_on_a_page_the_write_never_reached_is_left_out() -> None:
    """The page is the file the write was planned against and none of its lines are there:
    a block of the user's alike the new highlight is no evidence it was written."""
    known = [rec(1, "Simplify, simplify.")]
    text = page("Simplify, simplify.", "I went to the woods because I wished to live.")
    assert settle(text, [*known, rec(2, NEW)], known, replaced=False) == {}


def test_an_edited_pasted_copy_of_a_highlight_on_the_page_is_not_the_new_ones_edit() -> None:
    """World seed 537073140: the user pasted a highlight's block twice and edited one copy;
    a write adding a highlight alike it was killed, then the page saved by rename. The copy
    is more alike the highlight it was pasted from: the new highlight is written."""
    known = [rec(1, "Simplify, simplify.")]
    text = page("Simplify, simplify.", "Simplify, simplify. Yes!")
    meant = [*known, rec(2, "Simplify, simplify, simplify.")]
    assert settle(text, meant, known, replaced=True) == {}


def test_the_edited_block_of_a_highlight_the_user_deleted_is_not_the_new_ones_edit() -> None:
    """World seed 537073258 (Obsidian): a highlight syncd recorded as deleted by the user is
    back on the page, edited (a file-sync tool's old version); a write adding a highlight alike
    it was killed. The block is more alike the deleted highlight's: the new one is written."""
    known = [rec(1, "Our life is frittered away by detail.", Status.DELETED, obsidian=True)]
    text = "# Walden\n\n## Highlights\n- Our life is frittered away by detail, he says.\n"
    meant = [rec(2, "Our life is frittered away by trifles.", obsidian=True)]
    assert settle(text, meant, known, replaced=True, fmt=OBSIDIAN) == {}


def test_a_block_as_alike_another_highlight_as_the_new_one_is_left_out() -> None:
    """World seed 537073071: a block as alike a highlight syncd knows (here one whose text
    Readwise changed since, the old version put back) as the new highlight is no evidence it
    is the new one's: in doubt, the new highlight is written."""
    known = [rec(1, "Chapter 1, revised"), rec(2, "Chapter 2")]
    text = page("Chapter 2", "Chapter 1")
    meant = [*known, rec(3, "Chapter 3")]
    # "Chapter 1" is as alike "Chapter 2" (on the page as written) as "Chapter 3".
    assert settle(text, meant, known, replaced=True) == {}


def test_an_edited_copy_of_another_new_highlight_of_the_write_is_not_this_ones_edit() -> None:
    known = [rec(1, "Simplify, simplify.")]
    other = "Our life is frittered away by detail."
    text = page(
        "Simplify, simplify.", added=[other, "Our life is frittered away by detail, he says."]
    )
    meant = [*known, rec(2, other), rec(3, "Our life is frittered away by trifles.")]
    assert settle(text, meant, known, replaced=True) == {2: Status.WRITTEN}


def test_each_new_highlight_edited_is_edited() -> None:
    known = [rec(1, "Simplify, simplify.")]
    meant = [*known, rec(2, NEW), rec(3, "Our life is frittered away by detail.")]
    text = page(
        "Simplify, simplify.",
        added=[
            "I went to the woods because I wished to live deliberately, and so should you.",
            "Our life is frittered away by detail, he says.",
        ],
    )
    assert settle(text, meant, known, replaced=True) == {2: Status.EDITED, 3: Status.EDITED}


def test_the_new_highlights_edit_is_found_beside_a_block_as_alike_another() -> None:
    """The block most alike the new highlight is as alike another's (no evidence); a block
    less alike it, but alike no other highlight as much, is its edit."""
    known = [rec(1, "Simplify, simplify.")]
    meant = [*known, rec(2, "Simplify, simplify, simplify.")]
    text = page(
        "Simplify, simplify.",
        "Simplify, simplify. Yes!",
        added=["Simplify, simplify, simplify, and then simplify some more."],
    )
    assert settle(text, meant, known, replaced=True) == {2: Status.EDITED}
