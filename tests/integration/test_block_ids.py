"""Stable block ids (issue 11, `sync.block_ids: true`): every highlight block carries an id
derived from its Readwise id (Logseq: `id::` with a UUID; Obsidian: `^rw<id>`), so that a
reference the user makes today still resolves after `--full`, after syncd rewrites the block in
place, and in a vault synced from scratch on a second machine. References are resolved as the
editors resolve them (`tests.support.blockrefs`: Logseq's parser for Logseq). An id is never
added to a block the user edited, a block Logseq or Obsidian gave an id keeps it, and turning
the option on or off never makes a block look edited."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from syncd.testing.fakereadwise import FakeReadwise
from tests.support.blockrefs import logseq_block_ids, resolve_logseq, resolve_obsidian
from tests.support.harness import Harness, harness
from tests.support.mldoc import MldocParser

T0 = datetime(2023, 3, 17, 17, 5, tzinfo=timezone.utc)
LATER = T0 + timedelta(hours=2)
PAGES = {"logseq": "pages/Walden (highlights).md", "obsidian": "Readwise/Books/Walden.md"}
HIGHLIGHTS = [
    {"text": "Simplify, simplify.", "location": 1, "location_type": "location"},
    {
        "text": "I went to the woods\nbecause I wished to live deliberately.",
        "note": "The famous one.",
        "tags": ["life"],
        "location": 2,
        "location_type": "location",
    },
    {"text": "Our life is frittered away by detail.", "location": 3, "location_type": "location"},
]


def settings(fmt: str, block_ids: bool | None = True) -> dict[str, object]:
    sync: dict[str, object] = {} if block_ids is None else {"block_ids": block_ids}
    return {"vault": {"format": fmt}, "sync": sync}


def expected_id(fmt: str, highlight_id: int) -> str:
    """The id a highlight's block carries, derived here independently of syncd's code: the
    UUID (v5, URL namespace) of the highlight's Readwise address, or `rw<id>`."""
    if fmt == "logseq":
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"https://readwise.io/open/{highlight_id}"))
    return f"rw{highlight_id}"


def resolve(h: Harness, fmt: str, highlight_id: int) -> str | None:
    """Resolve a reference to the highlight's block, as the user made it on the first day."""
    if fmt == "logseq":
        return resolve_logseq(h.vault, expected_id(fmt, highlight_id))
    return resolve_obsidian(h.vault, f"Walden#^{expected_id(fmt, highlight_id)}")


def page(h: Harness, fmt: str) -> str:
    return (h.vault / PAGES[fmt]).read_text(encoding="utf-8")


def write_page(h: Harness, fmt: str, text: str) -> None:
    (h.vault / PAGES[fmt]).write_text(text, encoding="utf-8")


def counts(h: Harness) -> dict[str, int]:
    state = h.state()
    try:
        return state.counts()
    finally:
        state.close()


@pytest.fixture(params=["logseq", "obsidian"])
def fmt(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def synced(tmp_path: Path, fmt: str) -> Iterator[tuple[Harness, list[int]]]:
    """Walden, three highlights, synced once with block ids on."""
    with harness(
        tmp_path,
        settings=settings(fmt),
        edn=None if fmt == "obsidian" else '{:journal/page-title-format "MMM do, yyyy"}\n',
    ) as h:
        h.now = T0 - timedelta(hours=1)
        book = h.server.add_book(
            title="Walden", author="Thoreau", asin="B01", highlights=HIGHLIGHTS
        )
        h.book_id = book["user_book_id"]  # type: ignore[attr-defined]
        h.sync(at=T0)
        yield h, [x["id"] for x in book["highlights"]]


FIRST_LINES = [
    "Simplify, simplify. ([Location\u00a01](https://readwise.io/to_kindle?action=open"
    "&asin=B01&location=1))",
    "I went to the woods",
]


def test_every_highlight_block_carries_its_id(synced: tuple[Harness, list[int]], fmt: str) -> None:
    h, ids = synced
    text = page(h, fmt)
    assert resolve(h, fmt, ids[0]) == FIRST_LINES[0]
    if fmt == "logseq":
        # The property right after the block's first line, as Logseq writes it.
        assert (
            f"\t- I went to the woods\n\t  id:: {expected_id(fmt, ids[1])}\n"
            "\t  because I wished to live deliberately."
        ) in text
        assert resolve(h, fmt, ids[1]) == "I went to the woods"
    else:
        # At the end of the list item's own text, before its Tags and Note.
        assert (
            f"- I went to the woods\n  because I wished to live deliberately. ([Location"
            f"\u00a02](https://readwise.io/to_kindle?action=open&asin=B01&location=2)) "
            f"^{expected_id(fmt, ids[1])}\n    - Tags: [[life]] \n"
        ) in text
        assert resolve(h, fmt, ids[1]).startswith(  # type: ignore[union-attr]
            "I went to the woods\nbecause I wished to live deliberately."
        )
    assert all(resolve(h, fmt, i) for i in ids)


def test_a_reference_resolves_after_a_full_resync(
    synced: tuple[Harness, list[int]], fmt: str
) -> None:
    h, ids = synced
    before = page(h, fmt)
    h.now = LATER
    report = h.sync(full=True)
    assert page(h, fmt) == before  # nothing to do: every block is syncd's, untouched
    assert report.outcome.new == report.outcome.updated == report.outcome.conflicts == 0
    assert resolve(h, fmt, ids[0]) == FIRST_LINES[0]
    # The state lost (a resync from nothing over the same vault): the page is recognised,
    # nothing is added again, and every id stays where it was.
    shutil.rmtree(h.state_dir)
    report = h.sync(full=True)
    assert page(h, fmt) == before
    assert report.outcome.new == 0
    assert resolve(h, fmt, ids[0]) == FIRST_LINES[0]
    assert counts(h)["written"] == 3


def test_a_reference_resolves_after_an_in_place_update(
    synced: tuple[Harness, list[int]], fmt: str
) -> None:
    h, ids = synced
    h.now = T0 + timedelta(minutes=30)
    h.server.update_highlight(ids[0], text="Simplify, simplify, simplify.")
    h.server.update_highlight(ids[1], text="I went to the woods\nbecause I wished to live.")
    h.server.update_highlight(ids[2], text="Our life is frittered away.")
    before = page(h, fmt)
    report = h.sync(at=LATER)
    assert report.outcome.updated == 3 and report.outcome.conflicts == 0
    # The last block rewritten too: the page ends as it did (Obsidian: with a line break).
    assert page(h, fmt).rpartition("))")[2] == before.rpartition("))")[2]
    assert page(h, fmt).endswith("\n" if fmt == "obsidian" else expected_id(fmt, ids[2]))
    assert resolve(h, fmt, ids[2]).startswith("Our life is frittered away. (")  # type: ignore[union-attr]
    assert resolve(h, fmt, ids[0]).startswith("Simplify, simplify, simplify. (")  # type: ignore[union-attr]
    if fmt == "logseq":
        assert resolve(h, fmt, ids[1]) == "I went to the woods"
    else:
        assert resolve(h, fmt, ids[1]).startswith(  # type: ignore[union-attr]
            "I went to the woods\nbecause I wished to live. ("
        )
    assert page(h, fmt).count(expected_id(fmt, ids[1])) == 1
    assert counts(h)["written"] == 3
    again = h.sync(at=LATER + timedelta(hours=1))
    assert again.outcome.updated == 0 and again.outcome.conflicts == 0


def test_a_vault_synced_from_scratch_on_a_second_machine_has_the_same_ids(
    synced: tuple[Harness, list[int]], fmt: str, tmp_path: Path
) -> None:
    h, ids = synced
    # The user's note on the first machine, referring to a highlight.
    note = (
        f"- See (({expected_id(fmt, ids[1])}))\n"
        if fmt == "logseq"
        else f"See [[Walden#^{expected_id(fmt, ids[1])}]]\n"
    )
    second = Harness(
        tmp_path / "second",
        h.server,
        settings=settings(fmt),
        edn=None if fmt == "obsidian" else '{:journal/page-title-format "MMM do, yyyy"}\n',
    )
    second.sync(at=T0)
    assert page(second, fmt) == page(h, fmt)
    # The note, carried over to the second machine, resolves there to the same highlight.
    folder = second.vault / ("pages" if fmt == "logseq" else "")
    (folder / "My note.md").write_text(note, encoding="utf-8")
    assert resolve(second, fmt, ids[1]) == resolve(h, fmt, ids[1]) is not None
    # Synced at another time, with the highlight changed meanwhile: still the same id.
    third = Harness(
        tmp_path / "third",
        h.server,
        settings=settings(fmt),
        edn=None if fmt == "obsidian" else '{:journal/page-title-format "MMM do, yyyy"}\n',
    )
    h.server.update_highlight(ids[1], text="I went to the woods, to live deliberately.")
    third.sync(at=LATER)
    assert resolve(third, fmt, ids[1]).startswith(  # type: ignore[union-attr]
        "I went to the woods, to live deliberately."
    )


def test_turning_block_ids_on_gives_ids_to_untouched_blocks_only(tmp_path: Path, fmt: str) -> None:
    """A vault synced without ids; the user edits one block and links to another (the editor
    gives that block its own id); then `block_ids` is turned on: the untouched blocks get their
    ids, the edited block gets none and stays the user's, the linked block keeps the editor's
    id; nothing is counted as an edit that was not. Turned off again, nothing changes."""
    edn = None if fmt == "obsidian" else '{:journal/page-title-format "MMM do, yyyy"}\n'
    with harness(tmp_path, settings=settings(fmt, None), edn=edn) as h:
        h.now = T0 - timedelta(hours=1)
        book = h.server.add_book(
            title="Walden", author="Thoreau", asin="B01", highlights=HIGHLIGHTS
        )
        ids = [x["id"] for x in book["highlights"]]
        h.sync(at=T0)
        plain = page(h, fmt)
        assert "id::" not in plain and "^rw" not in plain
        # The user edits the third block and links to the first: the editor's own id.
        editors_id = "6571f0a5-7d1e-4c35-9a43-1d0e8f2b6c11" if fmt == "logseq" else "a1b2c3"
        first = next(line for line in plain.split("\n") if "Simplify, simplify." in line)
        linked = f"{first}\n\t  id:: {editors_id}" if fmt == "logseq" else f"{first} ^{editors_id}"
        edited = plain.replace(first, linked).replace("frittered away", "frittered, frittered")
        write_page(h, fmt, edited)
        h.config = h.make_config({"sync": {"block_ids": True}})
        report = h.sync(at=LATER)
        text = page(h, fmt)
        assert report.outcome.conflicts == 0 and report.outcome.new == 0
        assert counts(h) == {**counts(h), "written": 2, "edited": 1}
        assert expected_id(fmt, ids[1]) in text  # untouched: given its id
        assert expected_id(fmt, ids[0]) not in text  # the editor's id stays its only one
        assert expected_id(fmt, ids[2]) not in text  # edited: never touched
        assert "frittered, frittered" in text
        assert (
            text.replace(f"\n\t  id:: {expected_id(fmt, ids[1])}", "").replace(
                f" ^{expected_id(fmt, ids[1])}", ""
            )
            == edited
        )
        if fmt == "logseq":
            assert resolve_logseq(h.vault, editors_id) == first.strip().removeprefix("- ")
        else:
            assert resolve_obsidian(h.vault, f"Walden#^{editors_id}") == first.removeprefix("- ")
        assert resolve(h, fmt, ids[1])
        # A change in Readwise to the linked block: rewritten, the editor's id kept.
        h.server.update_highlight(ids[0], text="Simplify!")
        report = h.sync(at=LATER + timedelta(hours=1))
        assert report.outcome.updated == 1 and report.outcome.conflicts == 0
        if fmt == "logseq":
            assert resolve_logseq(h.vault, editors_id).startswith("Simplify! (")  # type: ignore[union-attr]
        else:
            assert resolve_obsidian(h.vault, f"Walden#^{editors_id}").startswith(  # type: ignore[union-attr]
                "Simplify! ("
            )
        # Turned off: the ids stay (references keep resolving), nothing is an edit, a new
        # highlight gets none.
        with_ids = page(h, fmt)
        h.config = h.make_config({"sync": {"block_ids": False}})
        h.server.add_highlight(book["user_book_id"], text="Time is but the stream.")
        report = h.sync(at=LATER + timedelta(hours=2))
        text = page(h, fmt)
        assert text.startswith(with_ids) and report.outcome.new == 1
        assert "Time is but the stream." in text.removeprefix(with_ids)
        assert "id::" not in text.removeprefix(with_ids) and "^" not in text.removeprefix(with_ids)
        assert counts(h) == {**counts(h), "written": 3, "edited": 1}
        assert resolve(h, fmt, ids[1])


def test_logseq_reads_the_id_as_the_blocks_property(
    synced: tuple[Harness, list[int]], fmt: str, mldoc: MldocParser
) -> None:
    """Logseq's parser: the id is a property of the highlight's block (not text, not a block of
    its own), and the page's outline is the one without ids."""
    if fmt != "logseq":
        pytest.skip("Logseq's parser")
    h, ids = synced
    text = page(h, fmt)
    found = dict(logseq_block_ids([text]))
    assert sorted(found) == sorted(expected_id(fmt, i) for i in ids)
    plain = "\n".join(line for line in text.split("\n") if "id:: " not in line)
    assert [b.text.split("\n")[0] for b in mldoc.parse(text).blocks[0].children] == [
        b.text.split("\n")[0] for b in mldoc.parse(plain).blocks[0].children
    ]
    note = mldoc.parse(text).blocks[0].children[1].children
    assert [b.text for b in note] == ["**Tags**: #[[life]]", "**Note**: The famous one."]


def test_two_books_never_share_an_id(tmp_path: Path, fmt: str) -> None:
    with FakeReadwise(token="t") as server:
        h = Harness(
            tmp_path,
            server,
            settings=settings(fmt),
            edn=None if fmt == "obsidian" else '{:journal/page-title-format "MMM do, yyyy"}\n',
        )
        server.clock = lambda: h.now  # type: ignore[method-assign]
        h.now = T0 - timedelta(hours=1)
        for title in ("Walden", "Civil Disobedience"):
            server.add_book(title=title, highlights=[{"text": "Same words."}] * 3)
        h.sync(at=T0)
        texts = [p.read_text(encoding="utf-8") for p in h.vault.rglob("*.md")]
    marks = (
        [i for i, _ in logseq_block_ids(texts)]
        if fmt == "logseq"
        else [w for t in texts for w in t.split() if w.startswith("^rw")]
    )
    assert len(marks) == 6 == len(set(marks))


@pytest.fixture
def obsidian_walden(tmp_path: Path) -> Iterator[tuple[Harness, list[int]]]:
    """An Obsidian vault, `block_ids` off, Walden synced: the harness and the highlights' ids."""
    with harness(tmp_path, settings=settings("obsidian", None), edn=None) as h:
        h.now = T0 - timedelta(hours=1)
        book = h.server.add_book(
            title="Walden", author="Thoreau", asin="B01", highlights=HIGHLIGHTS
        )
        h.sync(at=T0)
        yield h, [x["id"] for x in book["highlights"]]


def test_obsidians_own_block_id_is_not_an_edit_and_is_kept(
    obsidian_walden: tuple[Harness, list[int]],
) -> None:
    """With `block_ids` off: Obsidian gives a block a random id (`^a1b2c3`) when the user first
    links to it; the block is still syncd's, untouched, and a change in Readwise rewrites it
    with that id kept (before, the id made it the user's edit, and the change a conflict)."""
    h, ids = obsidian_walden
    text = page(h, "obsidian")
    own_end = (
        "deliberately. ([Location\u00a02](https://readwise.io/to_kindle?action=open"
        "&asin=B01&location=2))"
    )
    write_page(h, "obsidian", text.replace(own_end, own_end + " ^a1b2c3"))
    h.server.update_highlight(ids[1], text="I went to the woods\nto live deliberately.")
    report = h.sync(at=LATER)
    assert report.outcome.updated == 1 and report.outcome.conflicts == 0
    assert counts(h) == {**counts(h), "written": 3, "edited": 0, "conflict": 0}
    assert resolve_obsidian(h.vault, "Walden#^a1b2c3") == (
        "I went to the woods\nto live deliberately. ([Location\u00a02](https://readwise.io/"
        "to_kindle?action=open&asin=B01&location=2))"
    )


def test_obsidians_id_on_a_note_is_kept_when_the_highlight_is_rewritten(
    obsidian_walden: tuple[Harness, list[int]],
) -> None:
    """Obsidian gives the note under a highlight an id (`^n0te1`, at the end of the note's
    line) when the user links to the note; a change of the highlight in Readwise rewrites the
    block in place, and the note keeps its id: the link still resolves."""
    h, ids = obsidian_walden
    text = page(h, "obsidian")
    write_page(h, "obsidian", text.replace("Note: The famous one.", "Note: The famous one. ^n0te1"))
    h.server.update_highlight(ids[1], text="I went to the woods\nto live deliberately.")
    report = h.sync(at=LATER)
    assert report.outcome.updated == 1 and report.outcome.conflicts == 0
    after = page(h, "obsidian")
    assert "to live deliberately." in after
    assert resolve_obsidian(h.vault, "Walden#^n0te1") == "Note: The famous one."
