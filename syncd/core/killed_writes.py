"""What a page write a kill left unrecorded leaves, once the page changed since. Pure.

Syncd records each page write before making it (`syncd.engine.pending`). After a kill between
the write and the transaction recording it, a page that no longer holds the written text was
either never written or changed since, which cannot be told apart in general; its blocks tell
what can be told (`settled_blocks`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from syncd.core.decision import Status
from syncd.core.outline import normalise
from syncd.core.page_index import SIMILAR, PageIndex
from syncd.core.page_reading import on_page
from syncd.core.records import HighlightRecord
from syncd.core.render import PageFormat


def settled_blocks(
    text: str,
    meant: Mapping[int, HighlightRecord],
    known: Mapping[int, HighlightRecord],
    fmt: PageFormat,
    *,
    replaced: bool,
) -> list[HighlightRecord]:
    """Given a page's text, the blocks a killed write `meant` to leave on it and the records
    syncd held of the page before it (`known`), return the records to keep (`replaced`: the
    page is no longer the file syncd recorded before the write: written, or saved since):

    - a block on the page as meant is that highlight as written;
    - when the write was made (the page `replaced`, or a block it added is there as meant, or
      the line a block it added begins with, on no block syncd knew: a file the user saved
      since may have been given the number of the file the write replaced), a
      highlight new to syncd (not in `known`) whose block is not there as meant, but alike a
      block (`SIMILAR`) that is no copy of any highlight's block as written and that is more
      alike it than the block of every other highlight syncd knows of the page (in `known`,
      whatever it holds of it, or in `meant`), was written and edited by the user since:
      recorded as edited, so that it is not written again;
    - any other is left as it was: it may never have been written. A page `replaced` is weak
      evidence (an editor's save by rename since makes another file too), and a block as
      alike another highlight may be that one's: a pasted copy the user edited, an old version
      a file-sync tool put back, the block of a highlight the user deleted. Written again,
      a highlight the user did edit is there twice; taken for edited, one never written is
      lost for good: in doubt, it is written."""
    as_meant = on_page(text, meant, fmt)
    done = {rec.highlight_id for rec in as_meant}
    new = [
        rec
        for rec in meant.values()
        if rec.highlight_id not in known
        and rec.highlight_id not in done
        and rec.status == Status.WRITTEN
    ]
    added = any(rec.highlight_id not in known for rec in as_meant) or _begun(text, new, known)
    if not new or not (replaced or added):  # the write may never have been made
        return as_meant
    disk = PageIndex(text, fmt)
    records = [*known.values(), *as_meant]
    written = {
        normalise(rec.block.split("\n"), obsidian=disk.obsidian)
        for rec in records
        if rec.status != Status.REMOVED
    }
    free = [block for block in disk.blocks if disk.norm(block) not in written]
    # The blocks syncd knows of the page's highlights: a block as alike another highlight's
    # (or more) is as likely that one's copy or edit as the new highlight's edit.
    rivals = [
        (rec.highlight_id, rec.block)
        for rec in (*known.values(), *meant.values())
        if rec.block.strip()
    ]
    edited = []
    for rec in new:
        others = [block for highlight_id, block in rivals if highlight_id != rec.highlight_id]
        scored = [
            (score, block)
            for block in free
            if (score := disk.likeness(rec.block, block)) >= SIMILAR
            and all(disk.likeness(other, block) < score for other in others)
        ]
        best = max(scored, key=lambda pair: pair[0], default=None)
        if best is None:
            continue
        free.remove(best[1])
        edited.append(replace(rec, status=Status.EDITED))
    return as_meant + edited


def _begun(text: str, new: list[HighlightRecord], known: Mapping[int, HighlightRecord]) -> bool:
    """Whether the line one of the `new` blocks begins with (its bullet and the highlight's
    first line) begins a line of the page, whole or followed by what the user added at its end
    (words, an Obsidian `^id`), on no block syncd knew (a highlight Readwise holds twice): put
    there by the write, whatever the user typed on it or under it since."""
    before = {line.strip() for rec in known.values() for line in rec.block.split("\n")}
    lines = {line.strip() for line in text.split("\n")} - before
    firsts = {rec.block.split("\n", 1)[0].strip() for rec in new} - before
    # (A bare bullet, an empty highlight's, is as likely the user's empty block.)
    return any(
        first.lstrip("-*+ ") and (line == first or line[len(first) : len(first) + 1].isspace())
        for first in firsts
        for line in lines
        if line.startswith(first)
    )
