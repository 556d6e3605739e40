"""Block references resolved as the editors resolve them, for tests of stable block ids.

* Logseq: `((uuid))` resolves to the block whose `id::` property is that UUID. Pages are read by
  Logseq's own parser (mldoc): a block's properties are the `Property_Drawer` node that follows
  its `Heading` node (before the next Heading). The id must be on exactly one block of the
  graph (Logseq refuses a duplicate).
* Obsidian: `[[Note#^id]]` resolves, in the note named `Note`, to the block whose text ends with
  ` ^id`; for a list item, the `^id` at the end of its own text (its last line before its
  sub-items). Also on exactly one block of the vault.

Each resolver returns the referenced block's own text (its lines, bullet, indentation and id
left out), or None when the reference does not resolve.
"""

from __future__ import annotations

import re
from pathlib import Path

from tests.support.mldoc import parse_raw

_ITEM = re.compile(r"^(\s*)- ")


def logseq_block_ids(texts: list[str]) -> list[tuple[str, str]]:
    """Given pages' texts, return (id, first line of its block) for every block whose
    properties (as mldoc parses them) hold an `id`."""
    found = []
    for text, ast in zip(texts, parse_raw(texts), strict=True):
        data = text.encode("utf-8")
        heading: str | None = None
        for node, pos in ast:
            if node[0] == "Heading":
                source = data[pos["start_pos"] : pos["end_pos"]].decode("utf-8")
                heading = source.split("\n", 1)[0].strip().removeprefix("- ")
            elif node[0] == "Property_Drawer" and heading is not None:
                found += [(value, heading) for key, value, *_ in node[1] if key == "id"]
    return found


def resolve_logseq(graph: Path, uuid: str) -> str | None:
    """Resolve `((uuid))` in the Logseq graph at `graph`: the first line of its block."""
    texts = [p.read_text(encoding="utf-8") for p in sorted(graph.rglob("*.md"))]
    hits = [line for block_id, line in logseq_block_ids(texts) if block_id == uuid]
    assert len(hits) <= 1, f"id {uuid} on {len(hits)} blocks"
    return hits[0] if hits else None


def resolve_obsidian(vault: Path, link: str) -> str | None:
    """Resolve `[[Note#^id]]` (given as `Note#^id`) in the Obsidian vault at `vault`."""
    note, _, block_id = link.partition("#^")
    pages = [p for p in vault.rglob("*.md") if p.stem == note]
    assert len(pages) <= 1, f"{len(pages)} notes named {note}"
    hits = []
    for page in pages:
        lines = page.read_text(encoding="utf-8").split("\n")
        for i, line in enumerate(lines):
            if not re.search(rf"\s\^{re.escape(block_id)}\s*$", line):
                continue
            # The list item whose own text ends here: up to its bullet line.
            start = i
            while start > 0 and not _ITEM.match(lines[start]) and lines[start - 1].strip():
                start -= 1
            own = [lines[start].strip().removeprefix("- ")] + [
                part.strip() for part in lines[start + 1 : i + 1]
            ]
            text = "\n".join(own)
            hits.append(text[: text.rindex("^") - 1].rstrip())
    assert len(hits) <= 1, f"id {block_id} on {len(hits)} blocks"
    return hits[0] if hits else None
