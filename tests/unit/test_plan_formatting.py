"""Issue 10, item 8, as properties of the pure plan: however a page syncd wrote is re-indented
(a tab, two or four spaces a level), stripped of trailing white space or given Logseq's own
`id::`/`collapsed::` lines, no record it holds turns edited or deleted, nothing is rewritten,
and a later sync's new blocks follow the page's indentation."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from syncd.core.model import Book, Highlight
from syncd.core.outline import detect_indent, parse_blocks
from syncd.core.page_reading import observe_page
from syncd.core.plan import new_page_records, plan_page
from syncd.core.plan_terms import Options
from syncd.core.render import Style, render_new_page
from syncd.core.templates import Templates

STYLES = {f: Style(templates=Templates(f), tz=timezone.utc) for f in ("logseq", "obsidian")}
T0 = datetime(2023, 3, 17, 17, 5, tzinfo=timezone.utc)
BOOK = Book(id=1, title="Walden", author="Thoreau", highlights=())
WORD = st.sampled_from(["alpha", "beta", "gamma", "delta", "- dash", "# hash", "x  ", "  y"])
LINE = st.lists(WORD, min_size=1, max_size=4).map(" ".join)
TEXT = st.lists(LINE, min_size=1, max_size=3).map("\n".join)


@st.composite
def highlights(draw: st.DrawFn) -> list[Highlight]:
    count = draw(st.integers(1, 4))
    return [
        Highlight(
            i,
            f"h{i}x " + draw(TEXT),
            note=draw(st.sampled_from(["", "a note  "])),
            tags=draw(st.sampled_from([(), ("idea",)])),
            location=draw(st.sampled_from([None, 7])),
            location_type="page",
            url=draw(st.sampled_from([None, f"https://example.com/{i}"])),
        )
        for i in range(1, count + 1)
    ]


def reformat(text: str, page_format: str, unit: str, strip: bool, properties: bool) -> str:
    """The page as Logseq (or an editor) re-saves it; not using syncd's own code."""
    # Obsidian's levels are four spaces: those before a nested bullet or its text's lines.
    level = r"^\t+" if page_format == "logseq" else r"^(?:    )+(?=- |  )"
    width = 1 if page_format == "logseq" else 4
    lines = [
        re.sub(level, lambda m: unit * (len(m.group()) // width), line) for line in text.split("\n")
    ]
    if strip:
        lines = [line.rstrip() for line in lines]
    if properties:
        out = []
        for line in lines:
            out.append(line)
            if re.match(r"^\s*- h\d+x", line):
                indent = line[: len(line) - len(line.lstrip())]
                out += [f"{indent}  collapsed:: true", f"{indent}  id:: 64f0c0de-{len(out):04d}"]
        lines = out
    return "\n".join(lines)


@settings(max_examples=200, deadline=None)
@given(
    page_format=st.sampled_from(sorted(STYLES)),
    fetched=highlights(),
    unit=st.sampled_from(["\t", "  ", "    "]),
    strip=st.booleans(),
    properties=st.booleans(),
)
def test_reformatting_a_page_never_makes_a_written_record_edited(
    page_format: str, fetched: list[Highlight], unit: str, strip: bool, properties: bool
) -> None:
    # Obsidian never re-indents a page; Readwise's own 2-space lines in it (a highlight's list
    # line, `  - item`) would read as nesting once a page's unit were a tab or two spaces.
    assume(page_format == "logseq" or unit == "    ")
    style = STYLES[page_format]
    fmt = style.page_format
    blocks, saved = new_page_records(BOOK, fetched, style)
    records = {r.highlight_id: r for r in saved}
    text = reformat(
        render_new_page(BOOK, "Walden", blocks, style, T0),
        page_format,
        unit,
        strip,
        properties and page_format == "logseq",
    )
    assert observe_page(text, records, fmt) == []
    unchanged = plan_page(BOOK, fetched, text, records, style, T0, Options())
    assert unchanged.text is None and unchanged.outcome.conflicts == 0
    assert {r.status for r in unchanged.records} <= {"written"}

    changed = Highlight(1, fetched[0].text + " (revised)", note="changed upstream")
    new = Highlight(99, "h99x a new one", note="with a note", tags=("idea",))
    later = plan_page(
        BOOK, [changed, *fetched[1:], new], text, records, style, T0 + timedelta(hours=1), Options()
    )
    assert later.text is not None
    o = later.outcome
    assert (o.updated, o.new, o.conflicts, o.kept_out) == (1, 1, 0, 0)
    lines = later.text.split("\n")
    page_unit = detect_indent(text.split("\n"), fmt.indent)
    assert detect_indent(lines, fmt.indent) == page_unit
    if page_unit != "\t":
        assert not any(line.startswith("\t") for line in lines)
    # The changed highlight and the new one sit at the depth of their kind.
    depths = {lines[b.start].lstrip(" \t")[:6]: b.depth for b in parse_blocks(lines, page_unit)}
    assert depths["- h1x "] == depths["- h99x"] == fmt.highlight_depth
    assert observe_page(later.text, {r.highlight_id: r for r in later.records}, fmt) == []
