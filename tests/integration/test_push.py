"""Two-way sync (issue 19), end to end through the loopback Readwise: an edit in the vault is in
Readwise after one sync; the sync after it writes no file and sends no write request. Both
formats, each field; conflicts, pulls beside pushes, what is never pushed, and the errors of
the issue's bad input."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from syncd.edges.state import State
from syncd.edges.state_files import database_path
from tests.support.harness import Harness, harness

pytestmark = pytest.mark.writes_readwise

T0 = datetime(2023, 3, 17, 17, 5, tzinfo=timezone.utc)
PAGES = {"logseq": "pages/Walden (highlights).md", "obsidian": "Readwise/Books/Walden.md"}
NOTE = {"logseq": "\t\t- **Note**: ", "obsidian": "    - Note: "}
TAGS = {"logseq": "\t\t- **Tags**: ", "obsidian": "    - Tags: "}


class Vault:
    """A synced vault with one book (Walden, three highlights, the first with a note and a
    tag), and what a test does to it."""

    def __init__(self, h: Harness, page_format: str) -> None:
        self.h = h
        self.format = page_format
        self.file = h.vault / PAGES[page_format]
        self.at = T0

    def edit(self, old: str, new: str, count: int = 1) -> None:
        text = self.file.read_text(encoding="utf-8")
        assert text.count(old) == count, (old, text)
        self.file.write_text(text.replace(old, new), encoding="utf-8")

    def sync(self, **kwargs: Any) -> Any:
        self.at += timedelta(minutes=10)
        self.h.server.clock = lambda: self.at
        return self.h.sync(at=self.at, **kwargs)

    def highlight(self, n: int) -> dict[str, Any]:
        return self.h.server.library.highlight(self.ids[n])

    def tags(self, n: int) -> set[str]:
        return {t["name"] for t in self.highlight(n)["tags"]}

    def quiet(self) -> None:
        """The sync after: no file written, no write request."""
        before = self.file.read_bytes()
        mtime = self.file.stat().st_mtime_ns
        self.h.server.clear_requests()
        report = self.sync()
        assert self.h.server.writes == []
        assert report.pages_changed == 0, report.plans
        assert self.file.read_bytes() == before and self.file.stat().st_mtime_ns == mtime

    def pushes(self) -> list[Any]:
        state = State(database_path(self.h.config.state_dir, self.h.vault))
        try:
            return state.pushes()
        finally:
            state.close()

    def conflicts(self) -> list[tuple[str, Any, Any, Any]]:
        """The conflicts the state holds, each as (field, base, vault, Readwise)."""
        state = State(database_path(self.h.config.state_dir, self.h.vault))
        try:
            return [(c.field, c.base, c.vault, c.readwise) for c in state.conflicts()]
        finally:
            state.close()


@pytest.fixture(params=["logseq", "obsidian"])
def vault(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Vault]:
    with walden_synced(tmp_path, request.param) as v:
        yield v


@pytest.fixture(params=["logseq", "obsidian"])
def vault_with_ids(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Vault]:
    """As `vault`, with `sync.block_ids` on: each block syncd writes carries its id."""
    with walden_synced(tmp_path, request.param, block_ids=True) as v:
        yield v


@contextmanager
def walden_synced(tmp_path: Path, page_format: str, **sync: Any) -> Iterator[Vault]:
    sync["push"] = ["note", "tags", "text"]
    settings = {"vault": {"format": page_format}, "sync": sync}
    with harness(tmp_path, settings=settings) as h:
        v = Vault(h, page_format)
        h.server.clock = lambda: v.at
        book = h.server.add_book(
            title="Walden",
            author="Thoreau",
            asin="B01",
            highlights=[
                {
                    "text": "Simplify, simplify.",
                    "location": 1,
                    "location_type": "location",
                    "note": "the core",
                    "tags": ["life"],
                },
                {"text": "I went to the woods.", "location": 2, "location_type": "location"},
                {
                    "text": "Our life is frittered away by detial.",
                    "location": 3,
                    "location_type": "location",
                },
            ],
        )
        v.book_id = book["user_book_id"]  # type: ignore[attr-defined]
        v.ids = [x["id"] for x in book["highlights"]]  # type: ignore[attr-defined]
        v.sync()
        yield v


def test_a_note_edited_in_the_vault_is_in_readwise_after_one_sync(vault: Vault) -> None:
    vault.edit(NOTE[vault.format] + "the core", NOTE[vault.format] + "the very core")
    report = vault.sync()
    assert vault.highlight(0)["note"] == "the very core"
    assert report.outcome.pushed == 1
    vault.quiet()
    (push,) = vault.pushes()
    assert (push.field, push.before, push.after, push.state) == (
        "note",
        "the core",
        "the very core",
        "made",
    )


def test_a_note_added_to_a_highlight_without_one_creates_it(vault: Vault) -> None:
    line = "- I went to the woods. ([Location\u00a02](https://readwise.io/to_kindle?action=open&asin=B01&location=2))"
    vault.edit(line, line + "\n" + NOTE[vault.format] + "why I went")
    vault.sync()
    assert vault.highlight(1)["note"] == "why I went"
    vault.quiet()


def test_a_note_emptied_clears_it(vault: Vault) -> None:
    vault.edit(NOTE[vault.format] + "the core", NOTE[vault.format])
    vault.sync()
    assert vault.highlight(0)["note"] == ""
    vault.quiet()


def test_tags_added_and_removed_in_the_vault_are_in_readwise(vault: Vault) -> None:
    old = {"logseq": "#[[life]]", "obsidian": "[[life]]"}[vault.format]
    new = {"logseq": "#[[simple life]] #[[🌲, woods]]", "obsidian": "[[simple life]] [[🌲, woods]]"}
    vault.edit(TAGS[vault.format] + old, TAGS[vault.format] + new[vault.format])
    vault.sync()
    assert vault.tags(0) == {"simple life", "🌲, woods"}
    vault.quiet()


def test_a_tag_line_added_where_there_was_none_creates_tags(vault: Vault) -> None:
    line = "- I went to the woods. ([Location\u00a02](https://readwise.io/to_kindle?action=open&asin=B01&location=2))"
    tags = {"logseq": "#[[woods]]", "obsidian": "[[woods]]"}[vault.format]
    vault.edit(line, line + "\n" + TAGS[vault.format] + tags)
    vault.sync()
    assert vault.tags(1) == {"woods"}
    vault.quiet()


def test_text_corrected_in_the_vault_is_in_readwise(vault: Vault) -> None:
    vault.edit("frittered away by detial.", "frittered away by detail.")
    vault.sync()
    assert vault.highlight(2)["text"] == "Our life is frittered away by detail."
    vault.quiet()


def test_both_changed_differently_is_a_conflict_nothing_pushed_nothing_overwritten(
    vault: Vault,
) -> None:
    vault.edit(NOTE[vault.format] + "the core", NOTE[vault.format] + "mine")
    vault.h.server.update_highlight(vault.ids[0], note="theirs")
    vault.h.server.clear_requests()
    report = vault.sync()
    assert vault.h.server.writes == []
    assert vault.highlight(0)["note"] == "theirs"
    assert NOTE[vault.format] + "mine" in vault.file.read_text(encoding="utf-8")
    assert report.outcome.conflicts == 1
    state = State(database_path(vault.h.config.state_dir, vault.h.vault))
    try:
        (conflict,) = state.conflicts()
    finally:
        state.close()
    assert (conflict.field, conflict.base, conflict.vault, conflict.readwise) == (
        "note",
        "the core",
        "mine",
        "theirs",
    )
    assert conflict.page == PAGES[vault.format].removeprefix("pages/").join(
        ("pages/", "")
    ) or conflict.page.endswith(".md")


def test_readwise_s_change_is_pulled_beside_the_vault_s_push(vault: Vault) -> None:
    vault.edit(NOTE[vault.format] + "the core", NOTE[vault.format] + "mine")
    vault.h.server.update_highlight(vault.ids[0], text="Simplify, simplify, simplify.")
    vault.sync()
    assert vault.highlight(0)["note"] == "mine"
    text = vault.file.read_text(encoding="utf-8")
    assert "Simplify, simplify, simplify." in text and NOTE[vault.format] + "mine" in text
    vault.quiet()


def test_both_changed_to_the_same_value_sends_nothing(vault: Vault) -> None:
    vault.edit(NOTE[vault.format] + "the core", NOTE[vault.format] + "same")
    vault.h.server.update_highlight(vault.ids[0], note="same")
    vault.h.server.clear_requests()
    vault.sync()
    assert vault.h.server.writes == []
    vault.quiet()


def test_an_older_copy_of_the_page_put_back_is_never_pushed(vault: Vault) -> None:
    older = vault.file.read_text(encoding="utf-8")
    vault.h.server.update_highlight(vault.ids[0], note="changed in Readwise")
    vault.sync()
    assert "changed in Readwise" in vault.file.read_text(encoding="utf-8")
    vault.file.write_text(older, encoding="utf-8")  # a file-sync tool restores the old page
    vault.h.server.clear_requests()
    vault.sync()
    assert vault.h.server.writes == []
    assert vault.highlight(0)["note"] == "changed in Readwise"


def test_a_deleted_block_or_page_is_never_a_deletion_in_readwise(vault: Vault) -> None:
    text = vault.file.read_text(encoding="utf-8")
    start = text.index("- Simplify")
    end = text.index("- I went")
    vault.file.write_text(text[:start] + text[end:], encoding="utf-8")
    vault.h.server.clear_requests()
    vault.sync()
    vault.file.unlink()
    vault.sync()
    assert vault.h.server.writes == []
    assert vault.highlight(0)["note"] == "the core" and vault.tags(0) == {"life"}


def test_a_highlight_pasted_twice_is_skipped(vault: Vault) -> None:
    text = vault.file.read_text(encoding="utf-8")
    start = text.index("- Simplify")
    end = text.index("- I went")
    block = text[start:end]
    indent = text[text.rindex("\n", 0, start) + 1 : start]
    edited = block.replace("the core", "mine")
    vault.file.write_text(text[:start] + edited + indent + edited + text[end:], encoding="utf-8")
    vault.h.server.clear_requests()
    vault.sync()
    assert vault.h.server.writes == []
    assert vault.highlight(0)["note"] == "the core"
    # (Logseq: the copy pasted after the block's last line lands as its child)
    assert [p.split(":")[0] for p in problems(vault)] == [f"highlight {vault.ids[0]} (Walden)"]
    vault.file.write_text(text, encoding="utf-8")  # the user puts the page back as it was
    vault.sync()
    assert problems(vault) == []


def problems(vault: Vault) -> list[str]:
    """The push problems `syncd status` shows."""
    from syncd.commands.status import collect_status

    return list(collect_status(vault.h.config)["push_problems"])


def test_a_copy_in_another_page_is_never_pushed(vault: Vault) -> None:
    text = vault.file.read_text(encoding="utf-8")
    start = text.index("- Simplify")
    end = text.index("- I went")
    mine = vault.file.parent / "My notes.md"
    mine.write_text(text[start:end].replace("the core", "mine"), encoding="utf-8")
    vault.h.server.clear_requests()
    vault.sync()
    assert vault.h.server.writes == []


def test_push_off_sends_no_write_request(tmp_path: Path) -> None:
    with harness(tmp_path, settings={"vault": {"format": "logseq"}}) as h:
        h.server.add_book(
            title="Walden",
            asin="B01",
            highlights=[{"text": "Simplify.", "location": 1, "location_type": "location"}],
        )
        h.sync(at=T0)
        page = h.vault / PAGES["logseq"]
        page.write_text(
            page.read_text(encoding="utf-8").replace("Simplify.", "Simplify!"), encoding="utf-8"
        )
        h.sync(at=T0 + timedelta(minutes=5))
        assert h.server.writes == []


def test_a_token_that_may_not_write_pauses_pushing_and_pulling_goes_on(vault: Vault) -> None:
    vault.h.server.read_only = True
    vault.edit(NOTE[vault.format] + "the core", NOTE[vault.format] + "mine")
    vault.edit("by detial.", "by detail.")
    vault.h.server.add_highlight(vault.book_id, text="A new one.", location=4)  # type: ignore[attr-defined]
    vault.h.server.clear_requests()
    report = vault.sync()
    assert len(report.push_errors) == 1 and "HTTP 403" in report.push_errors[0]
    assert len(vault.h.server.writes) == 1  # the first refused; no other tried
    text = vault.file.read_text(encoding="utf-8")
    assert "A new one." in text and NOTE[vault.format] + "mine" in text and "by detail." in text
    assert vault.highlight(0)["note"] == "the core"
    vault.h.server.read_only = False
    vault.sync()
    assert vault.highlight(0)["note"] == "mine"
    assert vault.highlight(2)["text"] == "Our life is frittered away by detail."
    vault.quiet()


def test_text_over_readwise_s_limit_is_one_highlight_s_error_and_the_others_go_on(
    vault: Vault,
) -> None:
    long = "x" * 8192
    vault.edit("frittered away by detial.", long)
    vault.edit(NOTE[vault.format] + "the core", NOTE[vault.format] + "mine")
    report = vault.sync()
    (error,) = report.push_errors
    assert f"highlight {vault.ids[2]}" in error and "8191" in error and "\n" not in error
    assert long in vault.file.read_text(encoding="utf-8")  # the vault keeps it
    assert vault.highlight(0)["note"] == "mine"
    assert vault.highlight(2)["text"] == "Our life is frittered away by detial."


def test_a_note_of_ten_thousand_characters_is_refused_and_kept(vault: Vault) -> None:
    vault.edit(NOTE[vault.format] + "the core", NOTE[vault.format] + "n" * 10_000)
    report = vault.sync()
    assert len(report.push_errors) == 1 and "note" in report.push_errors[0]
    assert "n" * 10_000 in vault.file.read_text(encoding="utf-8")
    assert vault.highlight(0)["note"] == "the core"


def test_a_highlight_gone_from_readwise_keeps_the_edit(vault: Vault) -> None:
    from syncd.testing.faults import Fault

    vault.edit(NOTE[vault.format] + "the core", NOTE[vault.format] + "mine")
    vault.h.server.inject(f"/api/v2/highlights/{vault.ids[0]}/", Fault.status(404), times=None)
    report = vault.sync()
    assert len(report.push_errors) == 1 and "no longer in Readwise" in report.push_errors[0]
    assert NOTE[vault.format] + "mine" in vault.file.read_text(encoding="utf-8")
    from syncd.commands.status import collect_status, format_status

    shown = format_status(collect_status(vault.h.config))
    assert "edits kept in the vault, not in Readwise: 1" in shown
    assert f"highlight {vault.ids[0]} is no longer in Readwise" in shown


def test_429_and_5xx_while_pushing_are_waited_out(vault: Vault) -> None:
    from syncd.testing.faults import Fault

    vault.edit(NOTE[vault.format] + "the core", NOTE[vault.format] + "mine")
    path = f"/api/v2/highlights/{vault.ids[0]}/"
    vault.h.server.inject(path, Fault.retry_after(1), times=1)
    vault.h.server.inject(path, Fault.status(503), times=1)
    report = vault.sync()
    assert report.push_errors == []
    assert vault.highlight(0)["note"] == "mine"
    vault.quiet()


def test_a_note_that_is_one_period_word_becomes_a_tag_and_the_round_trip_is_quiet(
    vault: Vault,
) -> None:
    vault.edit(NOTE[vault.format] + "the core", NOTE[vault.format] + ".simplicity")
    vault.sync()
    assert vault.tags(0) == {"life", "simplicity"} and vault.highlight(0)["note"] == ""
    vault.quiet()


class Killed(BaseException):
    """A kill: nothing after it runs, and the transaction it interrupts is not committed."""


@pytest.mark.parametrize("point", ["before the request", "after it", "before the state commits"])
@pytest.mark.parametrize("field", ["note", "tags"])
def test_a_kill_at_every_point_of_a_push_leaves_the_value_once_and_loses_nothing(
    vault: Vault, monkeypatch: pytest.MonkeyPatch, point: str, field: str
) -> None:
    import syncd.engine.apply
    import syncd.engine.push

    if field == "note":
        vault.edit(NOTE[vault.format] + "the core", NOTE[vault.format] + "mine")
    else:
        old = {"logseq": "#[[life]]", "obsidian": "[[life]]"}[vault.format]
        new = {"logseq": "#[[life]] #[[woods]]", "obsidian": "[[life]] [[woods]]"}[vault.format]
        vault.edit(TAGS[vault.format] + old, TAGS[vault.format] + new)
    send, record_page = syncd.engine.push.send, syncd.engine.apply.record_page

    def killed_send(*args: Any) -> None:
        if point == "after it":
            send(*args)
        raise Killed

    def killed_record(*args: Any) -> None:
        raise Killed

    if point == "before the state commits":
        monkeypatch.setattr(syncd.engine.apply, "record_page", killed_record)
    else:
        monkeypatch.setattr(syncd.engine.push, "send", killed_send)
    with pytest.raises(Killed):
        vault.sync()
    monkeypatch.setattr(syncd.engine.push, "send", send)
    monkeypatch.setattr(syncd.engine.apply, "record_page", record_page)
    vault.sync()
    if field == "note":
        assert vault.highlight(0)["note"] == "mine"
    else:
        assert sorted(t["name"] for t in vault.highlight(0)["tags"]) == ["life", "woods"]
    text = vault.file.read_text(encoding="utf-8")
    assert "mine" in text or "woods" in text
    assert all(p.state != "sent" for p in vault.pushes())
    vault.quiet()


def mine_pushed_then_killed(vault: Vault, monkeypatch: pytest.MonkeyPatch) -> None:
    """The note "mine" typed and pushed by a sync killed before the state recorded the page."""
    import syncd.engine.apply

    vault.edit(NOTE[vault.format] + "the core", NOTE[vault.format] + "mine")

    def killed(*args: Any) -> None:
        raise Killed

    monkeypatch.setattr(syncd.engine.apply, "record_page", killed)
    with pytest.raises(Killed):
        vault.sync()
    monkeypatch.undo()


@pytest.mark.parametrize("again", ["yours", ".simplicity"])
def test_an_edit_over_a_value_a_killed_sync_pushed_is_pushed_over_it(
    vault: Vault, monkeypatch: pytest.MonkeyPatch, again: str
) -> None:
    """A note pushed by a sync killed before the state recorded it (Readwise holds it), then
    typed over: both sides agreed on the pushed note, so the new one is the user's edit of it,
    pushed, never taken for Readwise's change of the older note (world replay 3153404639: a
    `.word` note, read as no note, took the pushed note for Readwise's and pulled it over the
    user's; another note was a conflict of the user's value with syncd's own)."""
    mine_pushed_then_killed(vault, monkeypatch)
    assert vault.highlight(0)["note"] == "mine"
    vault.edit(NOTE[vault.format] + "mine", NOTE[vault.format] + again)
    vault.sync()
    if again == "yours":
        assert vault.highlight(0)["note"] == "yours"
    else:
        assert vault.highlight(0)["note"] == "" and vault.tags(0) == {"life", "simplicity"}
    assert "mine" not in vault.file.read_text(encoding="utf-8")
    assert all(p.state != "sent" for p in vault.pushes())
    vault.quiet()


def test_the_recorded_note_back_over_one_a_killed_sync_pushed_stays_a_conflict(
    vault: Vault, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A note pushed by a sync killed before the state recorded it, then the note as recorded
    shown again (a restore, or typed back: they cannot be told apart) beside a text typed: the
    note is a conflict, neither sent nor overwritten, in that sync and in the syncs after it
    (the push stays the evidence of the note both sides agreed on), until `syncd resolve`. The
    text, typed, is sent (per field), once."""
    mine_pushed_then_killed(vault, monkeypatch)
    vault.edit(NOTE[vault.format] + "mine", NOTE[vault.format] + "the core")
    vault.edit("Simplify, simplify.", "Simplify!")
    for n in range(3):
        if n == 2:  # the page saved again: looked at again
            vault.edit("Simplify!", "Simplify!!")
        vault.h.server.clear_requests()
        vault.sync()
        assert len(vault.h.server.writes) == (n != 1)
        assert vault.highlight(0)["text"] == ("Simplify!!" if n == 2 else "Simplify!")
        assert vault.highlight(0)["note"] == "mine"
        text = vault.file.read_text(encoding="utf-8")
        assert NOTE[vault.format] + "the core" in text and "Simplify!" in text
        assert vault.conflicts() == [("note", "mine", "the core", "mine")]
    state = State(database_path(vault.h.config.state_dir, vault.h.vault))
    try:  # as `syncd resolve HIGHLIGHT --keep vault` does
        state.set(f"keep:{vault.ids[0]}", "vault")
    finally:
        state.close()
    vault.sync()
    assert vault.highlight(0)["note"] == "the core"
    assert vault.highlight(0)["text"] == "Simplify!!"
    assert all(p.state != "sent" for p in vault.pushes())
    vault.quiet()


def test_the_recorded_block_back_whole_over_a_note_a_killed_sync_pushed_is_a_conflict(
    vault: Vault, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As above with nothing else typed: the block is the recorded one exactly (an undo, or a
    restore), yet Readwise holds the pushed note, which both sides agreed on. It was read as the
    block syncd wrote, untouched, and the pushed note was pulled over the user's undo. A
    conflict, nothing sent, nothing overwritten, until `syncd resolve`."""
    mine_pushed_then_killed(vault, monkeypatch)
    vault.edit(NOTE[vault.format] + "mine", NOTE[vault.format] + "the core")
    for _ in range(2):
        vault.h.server.clear_requests()
        vault.sync()
        assert vault.h.server.writes == []
        assert vault.highlight(0)["note"] == "mine"
        assert NOTE[vault.format] + "the core" in vault.file.read_text(encoding="utf-8")
        assert vault.conflicts() == [("note", "mine", "the core", "mine")]


def test_a_conflict_in_one_field_holds_that_field_alone(vault: Vault) -> None:
    """Three-way per field: the note edited here and changed in Readwise is a conflict; the
    tag added beside it is sent, merged with the one Readwise added, which the block now shows
    (never taken off as though the user removed it: world seed 4273192033); the text Readwise
    changed is written into the block, the user's note kept. The syncs after it send nothing
    and write nothing, the conflict stays until `syncd resolve` keeps a side."""
    pushed_and_pulled_beside_a_conflict(vault)


def test_a_conflict_beside_a_push_and_a_pull_in_blocks_with_ids(vault_with_ids: Vault) -> None:
    """As above, each block carrying its id: the block rewritten keeps it, and the record
    keeps the base of the field in conflict (not the block with its id)."""
    pushed_and_pulled_beside_a_conflict(vault_with_ids)
    assert vault_with_ids.pushes()[0].field == "tags"


def pushed_and_pulled_beside_a_conflict(vault: Vault) -> None:
    tag = {"logseq": "#[[life]]", "obsidian": "[[life]]"}[vault.format]
    more = {"logseq": " #[[simple]]", "obsidian": " [[simple]]"}[vault.format]
    vault.edit(NOTE[vault.format] + "the core", NOTE[vault.format] + "mine")
    vault.edit(TAGS[vault.format] + tag, TAGS[vault.format] + tag + more)
    vault.h.server.update_highlight(
        vault.ids[0], text="Simplify, simplify!", note="theirs", tags=["life", "theirs"]
    )
    report = vault.sync()
    assert report.outcome.conflicts == 1 and report.outcome.pushed == 1
    assert vault.highlight(0)["text"] == "Simplify, simplify!"
    assert vault.highlight(0)["note"] == "theirs"
    assert vault.tags(0) == {"life", "simple", "theirs"}
    text = vault.file.read_text(encoding="utf-8")
    assert NOTE[vault.format] + "mine" in text and "Simplify, simplify!" in text
    assert all(f"[[{t}]]" in text for t in ("life", "simple", "theirs"))
    for _ in range(2):
        assert vault.conflicts() == [("note", "the core", "mine", "theirs")]
        vault.quiet()
        assert vault.tags(0) == {"life", "simple", "theirs"}
    state = State(database_path(vault.h.config.state_dir, vault.h.vault))
    try:  # as `syncd resolve HIGHLIGHT --keep readwise` does
        state.set(f"keep:{vault.ids[0]}", "readwise")
    finally:
        state.close()
    vault.h.server.clear_requests()
    vault.sync(book_ids=[vault.book_id])  # type: ignore[attr-defined]
    assert vault.h.server.writes == []
    text = vault.file.read_text(encoding="utf-8")
    assert NOTE[vault.format] + "theirs" in text and vault.conflicts() == []
    vault.quiet()


def test_a_field_typed_beside_one_in_conflict_is_sent(vault: Vault) -> None:
    """The text corrected beside a note in conflict is sent; the conflict stays, and the
    syncs after it send nothing again."""
    vault.edit(NOTE[vault.format] + "the core", NOTE[vault.format] + "mine")
    vault.edit("Simplify, simplify.", "Simplify, simplify!")
    vault.h.server.update_highlight(vault.ids[0], note="theirs")
    report = vault.sync()
    assert report.outcome.conflicts == 1 and report.outcome.pushed == 1
    assert vault.highlight(0)["text"] == "Simplify, simplify!"
    assert vault.highlight(0)["note"] == "theirs"
    assert NOTE[vault.format] + "mine" in vault.file.read_text(encoding="utf-8")
    vault.quiet()
    assert vault.conflicts() == [("note", "the core", "mine", "theirs")]


def test_a_dry_run_prints_what_it_would_push_and_sends_nothing(vault: Vault) -> None:
    vault.edit(NOTE[vault.format] + "the core", NOTE[vault.format] + "mine")
    vault.edit("by detial.", "by detail.")
    vault.h.server.clear_requests()
    report = vault.sync(dry_run=True)
    assert vault.h.server.writes == []
    printed = "".join(report.printed)
    assert f'# push highlight {vault.ids[0]} (Walden): note: "the core" → "mine"\n' in printed
    assert (
        f"# push highlight {vault.ids[2]} (Walden): text: "
        '"Our life is frittered away by detial." → "Our life is frittered away by detail."\n'
    ) in printed
    assert "would push 2 fields to Readwise" in report.summary()
    assert vault.pushes() == []
    vault.sync()  # and the sync does what the dry run said
    assert vault.highlight(0)["note"] == "mine"


EDITS = {
    "note": (lambda f: (NOTE[f] + "the core", NOTE[f] + "mine")),
    "tags": (
        lambda f: (
            TAGS[f] + {"logseq": "#[[life]]", "obsidian": "[[life]]"}[f],
            TAGS[f] + {"logseq": "#[[life]] #[[woods]]", "obsidian": "[[life]] [[woods]]"}[f],
        )
    ),
    "text": (lambda f: ("Simplify, simplify.", "Simplify, simplify, simplify.")),
}


@pytest.mark.parametrize("field", ["note", "tags", "text"])
def test_the_daemon_pushes_a_saved_page_once_it_was_left_alone_for_push_delay(
    vault: Vault, field: str
) -> None:
    """The daemon's clock is injected: the push is scheduled at the page's last mtime plus
    `sync.push_delay`; a sync before then sends nothing, one at that moment pushes, and the
    one after is quiet. No sleep: the daemon's steps are driven one by one."""
    from syncd.core.file_events import Changes
    from syncd.engine.daemon import Daemon
    from syncd.engine.wiring import make_syncer

    h = vault.h
    config = h.make_config({"sync": {"push_delay": "90s"}})
    state = State(database_path(config.state_dir, h.vault))
    now = [datetime.now(timezone.utc)]
    daemon = Daemon(
        config,
        state,
        env={},
        make_syncer=lambda config, state, **parts: make_syncer(
            config, state, {}, clock=lambda: vault.at, should_stop=parts["should_stop"]
        ),
        load_config=lambda: config,
        clock=lambda: now[0],
    )
    try:
        vault.edit(*EDITS[field](vault.format))
        mtime = vault.file.stat().st_mtime_ns
        relative = vault.file.relative_to(h.vault).as_posix()
        daemon._reconcile([Changes(changed=frozenset({relative}))])
        epoch = datetime(1970, 1, 1, tzinfo=timezone.utc)
        due = epoch + timedelta(microseconds=-(-mtime // 1000), seconds=90)
        assert daemon.push_scheduled == due
        h.server.clear_requests()
        now[0] = due - timedelta(seconds=1)  # a scheduled sync, the page saved 89 s ago
        vault.at += timedelta(minutes=10)
        daemon._sync(full=False)
        assert h.server.writes == []
        assert daemon.push_scheduled == due  # still waiting: it comes back then
        now[0] = due
        vault.at += timedelta(minutes=10)
        daemon._sync(full=False)
        expected = {
            "note": ("note", "mine"),
            "tags": ("tags", [{"life", "woods"}]),
            "text": ("text", "Simplify, simplify, simplify."),
        }[field]
        got = vault.highlight(0)[expected[0]]
        if field == "tags":
            assert {t["name"] for t in got} == {"life", "woods"}
        else:
            assert got == expected[1]
        h.server.clear_requests()
        before = vault.file.read_bytes()
        vault.at += timedelta(minutes=10)
        daemon._sync(full=False)
        assert h.server.writes == [] and vault.file.read_bytes() == before
    finally:
        state.close()


def test_a_note_line_removed_clears_the_note(vault: Vault) -> None:
    vault.edit("\n" + NOTE[vault.format] + "the core", "")
    vault.sync()
    assert vault.highlight(0)["note"] == ""
    vault.quiet()


def test_what_the_user_did_not_type_is_never_pushed(vault: Vault) -> None:
    """Re-indentation, ids, trailing white space, a template change: nothing is sent."""
    text = vault.file.read_text(encoding="utf-8")
    if vault.format == "logseq":
        changed = text.replace("\t", "  ")  # Logseq re-indented the page with two spaces
        changed = changed.replace(
            "location=1))", "location=1))\n    id:: 6571f0e4-0000-4000-8000-000000000001"
        )
    else:
        changed = text.replace("location=1))", "location=1)) ^abc123")
    changed = changed.replace("the core", "the core   ")  # trailing spaces
    vault.file.write_text(changed, encoding="utf-8")
    vault.h.server.clear_requests()
    vault.sync()
    assert vault.h.server.writes == []
    vault.h.settings["templates"] = {"highlight": "- {{ highlight_text }} (new template)\n"}
    vault.h.config = vault.h.make_config({})
    vault.sync()
    assert vault.h.server.writes == []


def test_a_block_moved_under_another_highlight_is_never_pushed(vault: Vault) -> None:
    text = vault.file.read_text(encoding="utf-8")
    start, end = text.index("- Simplify"), text.index("- I went")
    indent = text[text.rindex("\n", 0, start) + 1 : start]
    block = text[start:end].replace("the core", "moved")
    unit = "\t" if vault.format == "logseq" else "    "
    moved = "\n".join(unit + line if line else line for line in block.split("\n"))
    rest = text[:start] + text[end:]
    at = rest.index("location=2))") + len("location=2))")
    vault.file.write_text(rest[:at] + "\n" + indent + moved.rstrip("\n") + rest[at:], "utf-8")
    vault.h.server.clear_requests()
    vault.sync()
    assert vault.h.server.writes == []


def test_a_field_that_cannot_be_told_apart_is_never_guessed(vault: Vault) -> None:
    child = {"logseq": "\t\t- my own thought", "obsidian": "    - my own thought"}[vault.format]
    vault.edit(NOTE[vault.format] + "the core", NOTE[vault.format] + "mine\n" + child)
    vault.h.server.clear_requests()
    vault.sync()
    assert vault.h.server.writes == []
    assert vault.highlight(0)["note"] == "the core"
    assert problems(vault) == [
        f"highlight {vault.ids[0]} (Walden): its fields cannot be told apart in its block; "
        "not pushed, the edit stays in the vault"
    ]


def test_tags_with_hash_brackets_and_emoji(vault: Vault) -> None:
    old = {"logseq": "#[[life]]", "obsidian": "[[life]]"}[vault.format]
    new = {"logseq": "#[[C#]] #[[🌲]]", "obsidian": "[[C#]] [[🌲]]"}[vault.format]
    vault.edit(TAGS[vault.format] + old, TAGS[vault.format] + new)
    vault.sync()
    assert vault.tags(0) == {"C#", "🌲"}
    vault.quiet()
    nested = {"logseq": "#[[a [[b]]]]", "obsidian": "[[a [[b]]]]"}[vault.format]
    vault.edit(TAGS[vault.format] + new, TAGS[vault.format] + nested)
    vault.h.server.clear_requests()
    vault.sync()
    assert vault.h.server.writes == [] and vault.tags(0) == {"C#", "🌲"}


def test_an_empty_text_is_refused_by_readwise_and_kept_in_the_vault(vault: Vault) -> None:
    vault.edit("Our life is frittered away by detial.", "")
    report = vault.sync()
    if report.push_errors:  # read as an empty text: Readwise refuses it, for that one alone
        (error,) = report.push_errors
        assert "blank" in error and f"highlight {vault.ids[2]}" in error
    assert vault.highlight(2)["text"] == "Our life is frittered away by detial."


def test_a_conflict_whose_edit_is_undone_takes_readwise_s_value(vault: Vault) -> None:
    vault.edit(NOTE[vault.format] + "the core", NOTE[vault.format] + "mine")
    vault.h.server.update_highlight(vault.ids[0], note="theirs")
    assert vault.sync().outcome.conflicts == 1
    vault.edit(NOTE[vault.format] + "mine", NOTE[vault.format] + "the core")  # undone
    vault.sync()
    assert NOTE[vault.format] + "theirs" in vault.file.read_text(encoding="utf-8")
    state = State(database_path(vault.h.config.state_dir, vault.h.vault))
    try:
        assert state.conflicts() == []
    finally:
        state.close()
    vault.quiet()


def test_a_refused_push_then_a_kill_before_the_page_is_recorded_loses_no_edit(
    vault: Vault, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pull rewrites the block while the push beside it is refused, and the sync is killed
    after the page is written: the write settled next time must not take the edit for
    pushed (else Readwise's value would overwrite it)."""
    import syncd.engine.apply

    vault.edit(NOTE[vault.format] + "the core", NOTE[vault.format] + "mine")
    vault.h.server.update_highlight(vault.ids[0], text="Simplify, simplify, simplify.")
    vault.h.server.read_only = True

    def killed(*args: Any) -> None:
        raise Killed

    monkeypatch.setattr(syncd.engine.apply, "record_page", killed)
    with pytest.raises(Killed):
        vault.sync()
    monkeypatch.undo()
    vault.h.server.read_only = False
    vault.sync()
    assert vault.highlight(0)["note"] == "mine"
    text = vault.file.read_text(encoding="utf-8")
    assert NOTE[vault.format] + "mine" in text and "Simplify, simplify, simplify." in text
    vault.quiet()


def test_a_highlight_deleted_in_readwise_while_edited_keeps_the_edit_and_status_says_so(
    vault: Vault,
) -> None:
    from syncd.commands.status import collect_status, format_status

    vault.edit(NOTE[vault.format] + "the core", NOTE[vault.format] + "mine")
    vault.h.server.delete_highlight(vault.ids[0])
    vault.h.server.clear_requests()
    vault.sync()
    assert vault.h.server.writes == []
    assert NOTE[vault.format] + "mine" in vault.file.read_text(encoding="utf-8")
    shown = format_status(collect_status(vault.h.config))
    assert f"highlight {vault.ids[0]} (Walden) is deleted in Readwise; its edit stays" in shown


def test_an_edit_of_a_text_the_page_shows_lossy_is_not_pushed_and_status_says_why(
    vault: Vault,
) -> None:
    """World seed 3387419952: a text with a blank line, which Obsidian's page shows as one line
    break (in Logseq: a CR LF, shown as a line break) edited in the vault: the page's version
    would lose what the user never touched; nothing is sent, the edit stays, status says why."""
    from syncd.commands.status import collect_status, format_status

    breaks = "\n\n" if vault.format == "obsidian" else "\r\n"
    lossy = f"Our life is frittered away{breaks}by detial."
    vault.h.server.update_highlight(vault.ids[2], text=lossy)
    vault.sync()
    vault.edit("by detial.", "by detail.")
    vault.h.server.clear_requests()
    vault.sync()
    assert vault.h.server.writes == []
    assert vault.highlight(2)["text"] == lossy
    assert "by detail." in vault.file.read_text(encoding="utf-8")
    shown = format_status(collect_status(vault.h.config))
    assert "edits kept in the vault, not in Readwise: 1" in shown
    assert f"highlight {vault.ids[2]} (Walden): its text in Readwise is not shown exactly" in shown


def test_a_book_served_twice_after_an_edit_keeps_the_edit_and_pulls_readwise_s_change(
    vault: Vault,
) -> None:
    """World seed 14635: the export serves the book twice in one sync (a server's paging
    fault). The first copy's plan pushes the user's text; the second copy was fetched before
    the push and still holds the old text: it must not be read as "only Readwise changed" and
    pulled over the edit. A change Readwise made (the note) is still pulled."""
    from syncd.testing.faults import Fault

    vault.edit("frittered away by detial.", "frittered away by detail.")
    vault.edit(NOTE[vault.format] + "the core", NOTE[vault.format] + "mine")
    vault.h.server.update_highlight(vault.ids[2], note="Readwise's own note")
    vault.h.server.inject("export", Fault.served_twice(highlights=True), times=None)
    vault.sync()
    vault.h.server.clear_faults()
    text = vault.file.read_text(encoding="utf-8")
    assert "frittered away by detail." in text and "detial" not in text
    assert NOTE[vault.format] + "mine" in text
    assert NOTE[vault.format] + "Readwise's own note" in text
    assert vault.highlight(2)["text"] == "Our life is frittered away by detail."
    assert vault.highlight(2)["note"] == "Readwise's own note"
    assert vault.highlight(0)["note"] == "mine"
    vault.quiet()


def test_a_push_problem_stays_while_readwise_changes_another_highlight_of_the_book(
    vault: Vault,
) -> None:
    """World seed 1979851998: a highlight's edit is told in `syncd status` (here: its block
    pasted twice); Readwise then changes another highlight of the book, so the next sync plans
    the page from that highlight alone. The first one's line stays: that plan said nothing of
    its edit."""
    text = vault.file.read_text(encoding="utf-8")
    start, end = text.index("- Simplify"), text.index("- I went")
    block = text[start:end]
    indent = text[text.rindex("\n", 0, start) + 1 : start]
    edited = block.replace("the core", "mine")
    vault.file.write_text(text[:start] + edited + indent + edited + text[end:], encoding="utf-8")
    vault.sync()
    told = problems(vault)
    assert [p.split(":")[0] for p in told] == [f"highlight {vault.ids[0]} (Walden)"]
    vault.h.server.update_highlight(vault.ids[2], text="Our life is frittered away by detail.")
    vault.sync()
    assert "by detail." in vault.file.read_text(encoding="utf-8")
    assert problems(vault) == told
