"""Two-way sync's three-way merge as a property of one highlight's push plan (issue 19): for any
base, vault and Readwise values of its text, note and tags, each field is decided on its own.
A field is sent only where the user changed it, with the user's value (tags: merged with
Readwise's); a field both sides changed differently is a conflict, neither sent nor
overwritten, and does not hold the others back; the page shows Readwise's value of a field
only it changed; and the sync after it, Readwise holding what was sent, sends nothing, writes
nothing and keeps the same conflicts. Pure: no files, no server."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from syncd.core.decision import Status
from syncd.core.fields import Fields
from syncd.core.model import Highlight
from syncd.core.records import HighlightRecord
from syncd.core.render import render_highlights
from syncd.core.three_way import merge_tags
from tests.unit.test_push_plan import BOOK, H1, H2, plan, style, synced_with

TEXTS = ("Simplify, simplify.", "Simplify!", "Simplify, more.")
NOTES = ("the core", "", "mine", "theirs")
VALUES = st.builds(
    Fields,
    st.sampled_from(TEXTS),
    st.sampled_from(NOTES),
    st.frozensets(st.sampled_from(("a", "b", "c"))),
)
TEXTUAL = ("text", "note")
NOTE = {"logseq": "\t\t- **Note**: ", "obsidian": "    - Note: "}


def shown(fields: Fields) -> Highlight:
    return replace(H1, text=fields.text, note=fields.note, tags=tuple(sorted(fields.tags)))


def on_page(fmt: str, page: str, fields: Fields) -> None:
    """The page shows highlight 1 with these values (highlight 2 has no note, no tags)."""
    assert fields.text in page and not any(t in page for t in TEXTS if t != fields.text)
    notes = [n for n in NOTES if n and f"{NOTE[fmt]}{n}\n" in page + "\n"]
    assert notes == ([fields.note] if fields.note else [])
    assert {t for t in "abc" if f"[[{t}]]" in page} == fields.tags


@settings(max_examples=300, deadline=None)
@given(
    fmt=st.sampled_from(["logseq", "obsidian"]),
    base=VALUES,
    vault=VALUES,
    readwise=VALUES,
    keep=st.sampled_from([None, "vault", "readwise"]),
)
def test_each_field_is_decided_on_its_own_and_the_next_sync_is_quiet(
    fmt: str, base: Fields, vault: Fields, readwise: Fields, keep: str | None
) -> None:
    """`keep`: the side `syncd resolve` kept for the highlight's conflicts (None: none)."""
    text, records = synced_with(fmt, shown(base))
    recorded: HighlightRecord = records[1]  # type: ignore[assignment]
    typed = render_highlights(BOOK, [shown(vault)], style(fmt))[0]
    page = text.replace(recorded.block, typed)
    if typed != recorded.block:  # (the scan finds the block edited)
        records = {**records, 1: replace(recorded, status=Status.EDITED)}
    upstream = replace(shown(readwise), updated_at="2024-01-01T09:00:00Z")
    p = plan(fmt, page, records, fetched=(upstream, H2), keep={1: keep} if keep else {})

    both = {  # the fields both sides changed, differently
        name
        for name in TEXTUAL
        if len({getattr(base, name), getattr(vault, name), getattr(readwise, name)}) == 3
    }
    conflicts = {c.field for push in p.pushes for c in push.conflicts}
    assert conflicts == (both if keep is None else set())
    mine = {  # the fields whose vault value wins: changed by the user alone, or kept
        name
        for name in TEXTUAL
        if getattr(vault, name) != getattr(base, name) == getattr(readwise, name)
        or (name in both and keep != "readwise")
    }
    merged_tags = merge_tags(base.tags, vault.tags, readwise.tags)
    for send in p.sends:
        assert send.field not in conflicts
        assert getattr(vault, send.field) != getattr(base, send.field)  # the user changed it
        wanted = merged_tags if send.field == "tags" else getattr(vault, send.field)
        assert send.after == wanted
    assert {send.field for send in p.sends} & set(TEXTUAL) == mine - conflicts
    after = p.after or page
    expected = Fields(
        *(
            getattr(vault, name)
            if name in mine or getattr(readwise, name) == getattr(base, name)
            else getattr(readwise, name)
            for name in TEXTUAL
        ),
        merged_tags,
    )
    on_page(fmt, after, expected)

    # The sync after it: Readwise holds what was sent (a tag added after those it had); the
    # records are those remembered.
    held = upstream
    for send in p.sends:
        if send.field == "tags":
            tags = send.after
            assert isinstance(tags, frozenset)
            kept = tuple(t for t in held.tags if t in tags)
            held = replace(held, tags=kept + tuple(sorted(tags - set(kept))))
        else:
            held = replace(held, **{send.field: send.after})
    again = plan(
        fmt,
        after,
        {**records, **{r.highlight_id: r for r in p.highlights}},
        fetched=(replace(held, updated_at="2024-01-01T09:05:00Z"), H2),
    )
    assert again.sends == [] and again.after is None
    assert {c.field for push in again.pushes for c in push.conflicts} == conflicts
