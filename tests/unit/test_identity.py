"""The pure rule of which page is a book's page (syncd.core.identity); issue 10, items 1 and 2."""

from __future__ import annotations

from dataclasses import replace

import pytest

from syncd.core.identity import (
    Evidence,
    Journals,
    Openings,
    blocks_found,
    by_content,
    is_conflict_copy,
    opening,
    strong,
    which_page,
)


@pytest.mark.parametrize(
    "name",
    [
        "Walden.sync-conflict-20240101-120000-ABCDEFG.md",
        "Walden (highlights).sync-conflict-20231231-235959-7QXZ2KD.md",
        "Walden (Someone's conflicted copy 2024-01-01).md",
        "Walden (Jane's conflicted copy).md",
        "Walden (conflicted copy 2024-01-01 120000).md",
    ],
)
def test_conflict_copies_by_their_name(name: str) -> None:
    """issue 10, item 2: Syncthing, Dropbox and Nextcloud mark a copy in its name."""
    assert is_conflict_copy(name)


def test_a_numbered_name_is_a_copy_only_beside_its_original() -> None:
    """issue 10, item 2: iCloud and Obsidian Sync name a copy "X 2.md" beside "X.md"; syncd
    names its own clashes "X (2).md", and a title may end in a number."""
    assert is_conflict_copy("Walden 2.md", {"Walden.md", "Walden 2.md"})
    assert not is_conflict_copy("Walden 2.md", {"Walden 2.md"})
    assert not is_conflict_copy("Walden (2).md", {"Walden.md"})
    assert not is_conflict_copy("Catch 22.md", {"Catch 22.md", "Catch-22.md"})
    assert not is_conflict_copy("Walden.md", {"Walden.md", "Walden 2.md"})


def test_journals_and_daily_notes() -> None:
    """issue 10, item 1: Logseq's journals folder (as configured), Obsidian's daily notes
    folder and date-named notes."""
    logseq = Journals("journals")
    assert logseq.holds("journals/2023_03_17.md")
    assert not logseq.holds("pages/journals.md")
    assert Journals("diary/days").holds("diary/days/2023_03_17.md")
    assert not Journals("diary/days").holds("diary/2023_03_17.md")
    obsidian = Journals("Daily", "dddd, MMMM Do YYYY")
    assert obsidian.holds("Daily/anything.md")
    assert obsidian.holds("Friday, March 17th 2023.md")
    assert obsidian.holds("Notes/2023-03-17.md")  # Obsidian's default name
    assert not obsidian.holds("Readwise/Books/Walden.md")
    assert not Journals(None, "YYYY-MM-DD").holds("Readwise/Books/2023 in review.md")
    assert Journals(None, "[Day] YYYY.MM.DD").holds("Day 2023.03.17.md")


def test_content_needs_syncd_s_header_and_a_clear_majority_of_its_blocks() -> None:
    """issue 10, item 1: never a single line, never a page of the user's: more than half of the
    written blocks, on a page holding syncd's first-sync header."""
    assert not by_content(Evidence("a.md", blocks_on_page=1, blocks_written=1))
    # Two of three highlights copied into a page of the user's: still theirs (world test).
    assert not by_content(Evidence("a.md", blocks_on_page=2, blocks_written=3))
    assert not by_content(Evidence("a.md", blocks_on_page=3, blocks_written=3))
    assert not by_content(Evidence("a.md", blocks_on_page=2, blocks_written=4, marked=True))
    assert by_content(Evidence("a.md", blocks_on_page=3, blocks_written=4, marked=True))
    # Logseq renamed it (a new title::) after an editor saved it as a new file: syncd's header
    # and most of its highlights are what is left, even for a book of one highlight.
    assert by_content(
        Evidence("a.md", blocks_on_page=1, blocks_written=1, other_title=True, marked=True)
    )
    assert not by_content(
        Evidence("a.md", blocks_on_page=1, blocks_written=1, marked=True, excluded="a journal page")
    )


def test_strong_evidence() -> None:
    assert strong(Evidence("a.md", moved_here=True))
    assert strong(Evidence("a.md", same_file=True, blocks_on_page=1, blocks_written=5, marked=True))
    # An inode number freed by a deleted page and given to a new file of the user's, holding a
    # highlight they copied (found by the world test):
    assert not strong(Evidence("a.md", same_file=True, blocks_on_page=1, blocks_written=5))
    assert not strong(Evidence("a.md", same_file=True, blocks_on_page=0, blocks_written=5))
    # ... even when the book has no block left as written (found by the world test).
    assert not strong(Evidence("a.md", same_file=True))
    # The user deleted every highlight block, then Logseq renamed the page (file and title::):
    # the first-sync header syncd wrote is still on it.
    assert strong(
        Evidence(
            "a.md",
            same_file=True,
            other_title=True,
            blocks_on_page=0,
            blocks_written=5,
            marked=True,
        )
    )
    assert strong(
        Evidence(
            "a.md",
            same_file=True,
            other_title=True,
            blocks_on_page=1,
            blocks_written=3,
            marked=True,
        )
    )  # Logseq renamed it: file and title
    assert strong(Evidence("a.md", title_matches=True))
    assert not strong(Evidence("a.md", title_matches=True, excluded="a file-sync tool's copy"))
    assert not strong(Evidence("a.md", moved_here=True, excluded="a journal page"))
    assert strong(Evidence("a.md", at_place=True, blocks_on_page=1, blocks_written=3, marked=True))
    assert not strong(Evidence("a.md", at_place=True, blocks_written=3, marked=True))
    # A note of the user's at the deleted page's place, holding a highlight they pasted.
    assert not strong(Evidence("a.md", at_place=True, blocks_on_page=1, blocks_written=3))


def test_decide() -> None:
    one = Evidence("one.md", title_matches=True)
    two = Evidence("two.md", title_matches=True)
    most = Evidence("most.md", blocks_on_page=3, blocks_written=4, marked=True)
    assert which_page([]).path is None and which_page([]).waiting is None
    assert which_page([one, most]).path == "one.md"  # strong evidence beats content
    assert which_page([most]).path == "most.md"
    both = which_page([one, two])
    assert both.path is None and both.waiting and "one.md" in both.waiting
    assert "two.md" in both.waiting
    again = which_page([most, Evidence("copy.md", blocks_on_page=4, blocks_written=4, marked=True)])
    assert again.path is None and again.waiting


def test_blocks_found_counts_edited_blocks_only_when_asked() -> None:
    written = ["- hl-1 words of one", "- hl-2 words of two"]
    page = ["title:: Mine", "- hl-1 words of one and mine", "- hl-2 words of two"]
    assert blocks_found(written, page, edited=False) == 1
    assert blocks_found(written, page, edited=True) == 2
    # A block the user deleted is not found in another of the book's blocks that looks alike.
    assert blocks_found(written, ["- hl-2 words of two"], edited=True) == 1
    assert blocks_found(written, ["- something else entirely"], edited=True) == 0


def test_a_deleted_pages_inode_number_alone_is_not_enough() -> None:
    """Once a book's page was deleted, the file system may give its inode number to another
    file: the same file counts then only with one of the book's blocks on it."""
    reused = Evidence("pages/Other.md", same_file=True, marked=True, page_deleted=True)
    assert not strong(reused)
    assert strong(replace(reused, blocks_on_page=1))
    assert strong(replace(reused, page_deleted=False))  # a live page renamed: followed


LOGSEQ_PAGE = """title:: Walden (highlights)
author:: [[Thoreau]]
full-title:: "Walden"
category:: #books

- Highlights first synced by [[Readwise]] [[Mar 17th, 2023]]
	- Simplify, simplify.
"""
MARK = "Highlights first synced by [[Readwise]]"


def test_a_pages_opening_is_what_precedes_and_holds_the_first_sync_header() -> None:
    assert opening(LOGSEQ_PAGE, MARK) == (
        'author:: [[Thoreau]]\nfull-title:: "Walden"\ncategory:: #books\n'
        "- Highlights first synced by [[Readwise]] [[Mar 17th, 2023]]"
    )
    # A rename's new `title::`, indentation and blank lines are not part of it.
    renamed = LOGSEQ_PAGE.replace("title:: Walden (highlights)", "title:: Woods")
    assert opening(renamed.replace("\n\n", "\n  \n"), MARK) == opening(LOGSEQ_PAGE, MARK)
    assert opening("- a note of mine\n- Simplify, simplify.\n", MARK) == ""
    obsidian = "# Walden\n\n## Metadata\n- Author: [[Thoreau]]\n\n## Highlights\n- Simplify.\n"
    assert opening(obsidian, "## Highlights") == (
        "# Walden\n## Metadata\n- Author: [[Thoreau]]\n## Highlights"
    )
    # Front matter is not part of it: Obsidian rewrites it when the user edits a property.
    front = "---\ntitle: Walden\ntags:\n  - books\n---\n"
    assert opening(front + obsidian, "## Highlights") == opening(obsidian, "## Highlights")


def test_openings_tell_whose_page_a_page_opens_as() -> None:
    walden = opening(LOGSEQ_PAGE, MARK)
    assert walden is not None
    other = walden.replace('"Walden"', '"Cape Cod"')
    openings = Openings({1: walden, 2: other, 3: None, 4: walden})  # 4: same title, same day
    assert openings.books(walden) == {1, 4}
    assert openings.books(other) == {2}
    # Lines the user added to the opening do not hide it; a line of it removed does.
    assert openings.books(other + "\ntags:: reading") == {2}
    assert openings.books(other.replace("category:: #books\n", "")) == set()
    assert openings.books(None) == set()


def test_a_block_the_user_typed_above_the_header_is_not_part_of_a_logseq_opening() -> None:
    """World seed 303511946: the user typed a block above syncd's header (recorded with the
    page's opening); a file-sync tool then put back an older version, without it, and the page
    was renamed in Logseq: it still opens as the book's page (its properties and header). An
    Obsidian page's metadata list is its opening, bullets and all."""
    typed = LOGSEQ_PAGE.replace("\n- Highlights", "\n- my own thought\n  more of it\n- Highlights")
    openings = Openings({1: opening(typed, MARK)})
    renamed = LOGSEQ_PAGE.replace("title:: Walden (highlights)", "title:: Woods")
    assert openings.books(opening(renamed, MARK)) == {1}
    assert openings.books(opening(renamed.replace("category:: #books\n", ""), MARK)) == set()
    obsidian = "# Walden\n## Metadata\n- Author: [[Thoreau]]\n- mine\n## Highlights"
    assert Openings({1: obsidian}).books(obsidian.replace("- mine\n", "")) == set()


def test_the_opening_follows_a_page_and_another_books_opening_rules_it_out() -> None:
    """issue 10, item 1 (world test): renamed (`title::` too), saved as a new file, most of its
    highlights deleted: its opening and header are left, enough by content; a page opening as
    another book's is never this one's by content or file, only by a move."""
    left = Evidence("a.md", marked=True, other_title=True, blocks_written=3, blocks_on_page=1)
    assert not by_content(left)
    assert by_content(replace(left, opens_as_written=True))
    assert not by_content(replace(left, opens_as_written=True, marked=False))
    anothers = Evidence("b.md", marked=True, blocks_written=2, blocks_on_page=2)
    assert by_content(anothers)  # its blocks read alike this book's...
    anothers = replace(anothers, anothers_opening=True)
    assert not by_content(anothers)  # ... but it opens as another book's page
    assert not strong(replace(anothers, same_file=True, page_deleted=True))  # a reused inode
    assert strong(replace(anothers, moved_here=True))
