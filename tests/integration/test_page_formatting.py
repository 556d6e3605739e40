"""Issue 10, item 8: Logseq's own formatting of a page is not the user's edit.

Logseq with `:export/bullet-indentation :two-spaces` (or four) re-saves a page with every level
indented by spaces instead of a tab, adds `collapsed::` and `id::` properties, and editors strip
trailing white space. None of that makes a highlight "edited": a change in Readwise is still
applied in place, new highlights are appended indented as the page is, and Logseq's parser
(mldoc) reads the result as the intended outline."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest

from tests.support.harness import Harness, harness
from tests.support.mldoc import Block, MldocParser

BLOCK_ID = "id:: 6571f0a5-7d1e-4c35-9a43-1d0e8f2b6c11"


def logseq_resave(text: str, unit: str) -> str:
    """The page as Logseq re-saves it with spaces for bullet indentation: every leading tab is
    `unit`; the header is collapsed and the first highlight gets a block id."""
    lines = [re.sub(r"^\t+", lambda m: unit * len(m.group()), line) for line in text.split("\n")]
    header = next(i for i, line in enumerate(lines) if line.startswith("- Highlights first"))
    lines.insert(header + 1, "  collapsed:: true")
    first = next(i for i, line in enumerate(lines) if "HL1X" in line)
    lines.insert(first + 1, unit + "  " + BLOCK_ID)
    return "\n".join(lines)


def statuses(h: Harness) -> list[str]:
    state = h.state()
    try:
        return sorted(r.status for r in state.highlights(1).values())
    finally:
        state.close()


def walden(h: Harness) -> Path:
    h.server.add_book(
        title="Walden",
        highlights=[
            {
                "text": "HL1X Simplify.\nA second line.",
                "note": "Mine.",
                "tags": ["idea"],
                "location": 12,
                "location_type": "page",
                "url": "https://example.com/1",
            },
            {"text": "HL2X I went to the woods."},
            {"text": "HL3X Time is but the stream."},
        ],
    )
    h.sync()
    [name] = h.page_names()
    return h.pages / name


def outline(blocks: tuple[Block, ...]) -> list[tuple[str, list[object]]]:
    """Each block's first line, three words of it, and its children."""
    return [(" ".join(b.text.split("\n")[0].split()[:3]), outline(b.children)) for b in blocks]


@pytest.mark.parametrize("unit", ["  ", "    "])
def test_a_page_logseq_reindented_with_spaces_is_not_edited_and_stays_consistent(
    tmp_path: Path, mldoc: MldocParser, unit: str
) -> None:
    with harness(tmp_path, readwise="twin") as h:
        page = walden(h)
        page.write_text(logseq_resave(page.read_text(encoding="utf-8"), unit), encoding="utf-8")
        resaved = page.read_text(encoding="utf-8")
        h.now += timedelta(hours=1)
        h.server.update_highlight(1, text="HL1X Simplify, simplify.\nA second line.")
        h.server.add_highlight(
            1, text="HL4X Our life is frittered away by detail.", note="Also mine."
        )
        h.now += timedelta(hours=1)
        report = h.sync()
        text = page.read_text(encoding="utf-8")
        assert statuses(h) == ["written"] * 4
        again = h.sync()
    o = report.outcome
    assert (o.updated, o.new, o.conflicts, o.kept_out) == (1, 1, 0, 0), report.summary()
    assert again.outcome.new == again.outcome.updated == again.outcome.conflicts == 0
    assert "\t" not in text  # every block syncd wrote follows the page's indentation
    assert text.startswith(resaved.split("HL1X")[0])
    assert f"{unit}- HL1X Simplify, simplify.\n{unit}  A second line. ([Page" in text
    assert f"{unit}  {BLOCK_ID}\n{unit * 2}- **Tags**" in text  # Logseq's id kept, in place
    assert text.count("HL1X") == text.count("HL4X") == 1
    assert f"\n- New highlights added [[Nov 19th, 2022]] at 2:00 AM\n{unit}- HL4X" in text
    assert f"\n{unit * 2}- **Note**: Also mine." in text
    tree = mldoc.parse(text)
    assert outline(tree.blocks) == [
        (
            "Highlights first synced",
            [
                (
                    "HL1X Simplify, simplify.",
                    [("**Tags**: #[[idea]]", []), ("**Note**: Mine.", [])],
                ),
                ("HL2X I went", []),
                ("HL3X Time is", []),
            ],
        ),
        ("New highlights added", [("HL4X Our life", [("**Note**: Also mine.", [])])]),
    ]
    highlight = tree.blocks[0].children[0]
    assert highlight.text.startswith("HL1X Simplify, simplify.\nA second line.")


def test_a_highlight_ending_in_spaces_stays_syncds_when_they_are_stripped(tmp_path: Path) -> None:
    with harness(tmp_path, readwise="twin") as h:
        h.server.add_book(
            title="Walden",
            highlights=[
                {
                    "text": "HL1X Simplify.   \nA second line.",
                    "location": 3,
                    "location_type": "page",
                    "url": "https://example.com/1",
                },
                {"text": "HL2X I went to the woods."},
            ],
        )
        h.sync()
        [name] = h.page_names()
        page = h.pages / name
        text = page.read_text(encoding="utf-8")
        assert "Simplify.   \n" in text
        page.write_text(
            "\n".join(line.rstrip() for line in text.split("\n")), encoding="utf-8"
        )  # an editor's save: trailing white space stripped
        h.now += timedelta(hours=1)
        assert h.sync().outcome.conflicts == 0 and statuses(h) == ["written"] * 2
        h.now += timedelta(hours=1)
        h.server.update_highlight(1, text="HL1X Simplify, simplify.   \nA second line.")
        h.now += timedelta(hours=1)
        report = h.sync()
        text = page.read_text(encoding="utf-8")
        assert statuses(h) == ["written"] * 2
    assert (report.outcome.updated, report.outcome.conflicts) == (1, 0), report.summary()
    assert text.count("HL1X") == 1 and "HL1X Simplify, simplify." in text
