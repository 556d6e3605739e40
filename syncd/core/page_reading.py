"""What a page's text tells of the blocks syncd wrote there: which the user edited, deleted or
put back (`observe_page`), which blocks a write meant are on it (`on_page`), and the page's
`title::` (`page_title_of`). Pure: no files.

Apart from `syncd.core.plan` (which decides a page's new text): following a page the user
changed, or settling a write a kill interrupted, reads a page but plans nothing, and does not
import the planner (issue 20).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from syncd.core.decision import OBSERVED, Facts, Seen, Status, decide
from syncd.core.matching import match_lost
from syncd.core.page_index import PageIndex
from syncd.core.records import HighlightRecord
from syncd.core.render import PageFormat


def observe_page(
    text: str, records: Mapping[int, HighlightRecord], fmt: PageFormat
) -> list[HighlightRecord]:
    """Given a page's text and the records of what syncd wrote there, return the records whose
    status the page now changes (`syncd.core.decision.OBSERVED`): blocks the user edited or
    deleted, or put back as written."""
    disk = PageIndex(text, fmt)
    present = {
        rec.highlight_id: block
        for rec in records.values()
        if rec.status != Status.REMOVED and (block := disk.find(rec.block)) is not None
    }
    taken = {block.start for block in present.values()}
    live = [rec for rec in records.values() if rec.status != Status.REMOVED]
    edits = match_lost(disk, [rec for rec in live if rec.highlight_id not in present], taken)
    changed = []
    for record in live:
        hid = record.highlight_id
        seen = Seen.AS_WRITTEN if hid in present else Seen.SIMILAR if hid in edits else Seen.ABSENT
        status = decide(Facts(record.status, seen, False, False), rules=OBSERVED).then
        if status is not None and status != record.status:
            changed.append(replace(record, status=status))
    return changed


def on_page(
    text: str, records: Mapping[int, HighlightRecord], fmt: PageFormat
) -> list[HighlightRecord]:
    """Given a page's text and records of blocks syncd meant to write there, return those whose
    block is on the page as meant (indentation and trailing white space aside)."""
    disk = PageIndex(text, fmt)
    return [
        rec
        for rec in records.values()
        if rec.status == Status.WRITTEN and disk.find(rec.block) is not None
    ]


def page_title_of(text: str) -> str | None:
    """Return the `title::` property of a page's first line, if it has one."""
    first = text.split("\n", 1)[0]
    return first[len("title::") :].strip() if first.startswith("title::") else None
