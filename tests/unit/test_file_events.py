"""Merging bursts of file events into page changes, and telling pages from other files."""

from __future__ import annotations

from collections.abc import Iterable

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from syncd.core.file_events import Changes, FileEvent, merge_events, page_event
from syncd.core.page_files import is_page


def created(path: str) -> FileEvent:
    return FileEvent("created", path)


def modified(path: str) -> FileEvent:
    return FileEvent("modified", path)


def deleted(path: str) -> FileEvent:
    return FileEvent("deleted", path)


def moved(path: str, dest: str) -> FileEvent:
    return FileEvent("moved", path, dest)


def changes(
    changed: Iterable[str] = (),
    deleted: Iterable[str] = (),
    moved: tuple[tuple[str, str], ...] = (),
) -> Changes:
    return Changes(frozenset(changed), frozenset(deleted), moved)


MERGE_CASES = {
    "nothing": ([], changes()),
    "one of each, unrelated": (
        [modified("a.md"), created("b.md"), deleted("c.md"), moved("d.md", "e.md")],
        changes(changed={"a.md", "b.md"}, deleted={"c.md"}, moved=(("d.md", "e.md"),)),
    ),
    "created then deleted is nothing": ([created("a.md"), deleted("a.md")], changes()),
    "created, written, deleted is nothing": (
        [created("a.md"), modified("a.md"), modified("a.md"), deleted("a.md")],
        changes(),
    ),
    "modified many times is one change": ([modified("a.md")] * 20, changes(changed={"a.md"})),
    "created then modified is one change": (
        [created("a.md"), modified("a.md")],
        changes(changed={"a.md"}),
    ),
    "modified then deleted is deleted": (
        [modified("a.md"), deleted("a.md")],
        changes(deleted={"a.md"}),
    ),
    "deleted then created is changed (delete and create save)": (
        [deleted("a.md"), created("a.md"), modified("a.md")],
        changes(changed={"a.md"}),
    ),
    "a rename chain is one move": (
        [moved("a.md", "b.md"), moved("b.md", "c.md")],
        changes(moved=(("a.md", "c.md"),)),
    ),
    "moved then modified is a move and a change": (
        [moved("a.md", "b.md"), modified("b.md")],
        changes(changed={"b.md"}, moved=(("a.md", "b.md"),)),
    ),
    "modified then moved is a move and a change": (
        [modified("a.md"), moved("a.md", "b.md")],
        changes(changed={"b.md"}, moved=(("a.md", "b.md"),)),
    ),
    "moved then deleted is the old page deleted": (
        [moved("a.md", "b.md"), deleted("b.md")],
        changes(deleted={"a.md"}),
    ),
    "moved away and back is a change, no move": (
        [moved("a.md", "b.md"), moved("b.md", "a.md")],
        changes(changed={"a.md"}),
    ),
    "moved then a new page at the old name": (
        [moved("a.md", "b.md"), created("a.md")],
        changes(changed={"a.md"}, moved=(("a.md", "b.md"),)),
    ),
    "created then moved is a change at the new name, no move": (
        [created("x.md"), modified("x.md"), moved("x.md", "y.md")],
        changes(changed={"y.md"}),
    ),
    "a page renamed over another page": (
        [modified("b.md"), moved("a.md", "b.md")],
        changes(changed={"b.md"}, moved=(("a.md", "b.md"),)),
    ),
    "a new page renamed over a deleted one": (
        [deleted("b.md"), created("x.md"), moved("x.md", "b.md")],
        changes(changed={"b.md"}),
    ),
    "two pages swapped through a third name": (
        [moved("a.md", "t.md"), moved("b.md", "a.md"), moved("t.md", "b.md")],
        changes(moved=(("a.md", "b.md"), ("b.md", "a.md"))),
    ),
    "moves come in an order that works one by one": (
        [moved("b.md", "c.md"), moved("a.md", "b.md"), moved("c.md", "d.md")],
        changes(moved=(("b.md", "d.md"), ("a.md", "b.md"))),
    ),
    "a cycle of moves comes last": (
        [
            moved("x.md", "y.md"),
            moved("a.md", "t.md"),
            moved("b.md", "a.md"),
            moved("t.md", "b.md"),
        ],
        changes(moved=(("x.md", "y.md"), ("a.md", "b.md"), ("b.md", "a.md"))),
    ),
    "a page moved into a folder": (
        [moved("Book.md", "pages/Books/Book.md")],
        changes(moved=(("Book.md", "pages/Books/Book.md"),)),
    ),
    # A move with one side that is not a page: only the page side counts.
    "temp file renamed over a page is a change, temp ignored": (
        [
            created("pages/.syncd-abc.tmp"),
            modified("pages/.syncd-abc.tmp"),
            moved("pages/.syncd-abc.tmp", "pages/Book.md"),
        ],
        changes(changed={"pages/Book.md"}),
    ),
    "gedit save: backup rename, then temp renamed over the page": (
        [
            created(".goutputstream-XYZ"),
            modified(".goutputstream-XYZ"),
            moved("a.md", "a.md~"),
            moved(".goutputstream-XYZ", "a.md"),
        ],
        changes(changed={"a.md"}),
    ),
    "vim save: write test, swap file, backup": (
        [
            created("4913"),
            deleted("4913"),
            moved("a.md", "a.md~"),
            created("a.md"),
            modified("a.md"),
            deleted("a.md~"),
            modified(".a.md.swp"),
        ],
        changes(changed={"a.md"}),
    ),
    "a page renamed to a non-page is deleted": (
        [moved("a.md", "a.txt")],
        changes(deleted={"a.md"}),
    ),
    "a page moved to the trash is deleted": (
        [moved("a.md", ".trash/a.md")],
        changes(deleted={"a.md"}),
    ),
    "a non-page renamed to a page is created": (
        [moved("notes.txt", "notes.md")],
        changes(changed={"notes.md"}),
    ),
    "a page restored from logseq/bak is created": (
        [moved("logseq/bak/pages/a/2024.md", "pages/a.md")],
        changes(changed={"pages/a.md"}),
    ),
    "moves between non-pages are nothing": ([moved("a.txt", "b.txt")], changes()),
    "events on non-pages are nothing": (
        [
            created(".git/index.lock"),
            modified(".obsidian/workspace.json"),
            created("logseq/bak/pages/a.md"),
            deleted("logseq/.recycle/a.md"),
            modified("pages/.syncd-1.tmp"),
            modified("assets/image.png"),
        ],
        changes(),
    ),
    "a missed create: modified after a move away is a change": (
        [moved("a.md", "b.md"), modified("a.md")],
        changes(changed={"a.md"}, moved=(("a.md", "b.md"),)),
    ),
}


@pytest.mark.parametrize(("events", "expected"), MERGE_CASES.values(), ids=MERGE_CASES.keys())
def test_merge_events(events: list[FileEvent], expected: Changes) -> None:
    assert merge_events(events) == expected


def test_merge_events_takes_any_sequence_and_is_pure() -> None:
    events = (moved("a.md", "b.md"), modified("b.md"))
    first = merge_events(events)
    assert merge_events(list(events)) == first
    assert events == (moved("a.md", "b.md"), modified("b.md"))


def test_changes_are_falsy_when_empty() -> None:
    assert not Changes(frozenset(), frozenset(), ())
    assert Changes(frozenset({"a.md"}), frozenset(), ())


@pytest.mark.parametrize(
    ("kind", "dest"), [("moved", None), ("created", "b.md"), ("deleted", "b.md")]
)
def test_file_event_checks_its_destination(kind: str, dest: str | None) -> None:
    with pytest.raises(ValueError):
        FileEvent(kind, "a.md", dest)  # type: ignore[arg-type]


PAGE_CASES = {
    "a.md": True,
    "pages/Book Title.md": True,
    "journals/2024_01_31.md": True,
    "Readwise/Books/Deep Work.md": True,
    "logseq/custom.md": True,  # logseq/ itself is not skipped, only its backups
    "bak/a.md": True,
    "logseq/bak.md": True,
    "a.markdown": False,
    "a.txt": False,
    "a.MD.txt": False,
    "assets/image.png": False,
    ".git/a.md": False,
    "sub/.git/a.md": False,
    ".obsidian/a.md": False,
    ".trash/a.md": False,
    "logseq/bak/pages/a/2024-01-01T10_00_00.000Z.Desktop.md": False,
    "logseq/.recycle/pages_a.md": False,
    "logseq/version-files/incoming/pages/a.md": False,
    "node_modules/pkg/README.md": False,
    ".hidden.md": False,
    "pages/.syncd-abc.tmp": False,
    "pages/.syncd-abc.md": False,
    "pages/a.md~": False,
    "pages/.#a.md": False,
    "pages/.a.md.swp": False,
    "pages/a.md.swp": False,
    "pages/a.md.tmp": False,
    "pages/4913": False,
    "": False,
    "/abs/a.md": False,
    "../outside.md": False,
}


@pytest.mark.parametrize(("path", "expected"), PAGE_CASES.items(), ids=PAGE_CASES.keys())
def test_is_page(path: str, expected: bool) -> None:
    assert is_page(path) is expected


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        (modified("a.md"), modified("a.md")),
        (modified("a.txt"), None),
        (moved("a.md", "b.md"), moved("a.md", "b.md")),
        (moved("a.md", "a.md~"), deleted("a.md")),
        (moved(".syncd-1.tmp", "a.md"), created("a.md")),
        (moved("a.txt", "b.txt"), None),
    ],
)
def test_page_event_keeps_the_page_side(event: FileEvent, expected: FileEvent | None) -> None:
    assert page_event(event) == expected


# Property: whatever a burst does, applying its `Changes` to the pages from before the burst
# (moves, deletions, then re-reading the changed pages) gives the pages after it.

NAMES = ["a.md", "b.md", "c.md", "pages/d.md", ".syncd-1.tmp", "a.md~"]


@st.composite
def bursts(draw: st.DrawFn) -> tuple[dict[str, int], list[FileEvent], dict[str, int]]:
    """Return files before a burst (path -> content), the burst's events, the files after."""
    before = {name: index for index, name in enumerate(NAMES) if draw(st.booleans())}
    files = dict(before)
    events: list[FileEvent] = []
    next_content = len(NAMES)
    for _ in range(draw(st.integers(0, 12))):
        path = draw(st.sampled_from(NAMES))
        action = draw(st.sampled_from(["write", "delete", "move", "move"]))
        if path not in files:
            files[path] = next_content
            events += [created(path), modified(path)]
        elif action == "write":
            files[path] = next_content
            events.append(modified(path))
        elif action == "delete":
            del files[path]
            events.append(deleted(path))
        else:
            # inotify does not report the file a rename replaces: a rename onto a file no event
            # has mentioned yet is taken to be onto a free name, so only generate those renames.
            mentioned = {event.path for event in events} | {event.dest for event in events}
            free = [n for n in NAMES if n != path and (n not in files or n in mentioned)]
            if not free:
                continue
            dest = draw(st.sampled_from(free))
            files[dest] = files.pop(path)
            events.append(moved(path, dest))
        next_content += 1
    return before, events, files


@settings(max_examples=500)
@given(bursts())
@example(
    ({"a.md": 0, "b.md": 1}, [moved("b.md", "c.md"), moved("a.md", "b.md")], {"b.md": 0, "c.md": 1})
)
@example(
    (
        {"a.md": 0, "b.md": 1},
        [moved("a.md", "c.md"), moved("b.md", "a.md"), moved("c.md", "b.md")],
        {"a.md": 1, "b.md": 0},
    )
)
def test_applying_the_changes_gives_the_pages_after_the_burst(
    burst: tuple[dict[str, int], list[FileEvent], dict[str, int]],
) -> None:
    before, events, after = burst
    result = merge_events(events)
    pages = {path: content for path, content in before.items() if is_page(path)}
    # The moves one by one, as they are ordered; what is left once a move would land on the
    # source of a later one is a cycle, done at once.
    moves = list(result.moved)
    while moves and moves[0][1] not in {source for source, _ in moves[1:]}:
        source, dest = moves.pop(0)
        pages[dest] = pages.pop(source)
    assert {source for source, _ in moves} == {dest for _, dest in moves}  # only cycles left
    taken = {source: pages.pop(source) for source, _ in moves}
    for source, dest in moves:
        pages[dest] = taken[source]
    for path in result.deleted:
        del pages[path]
    for path in result.changed:
        pages[path] = after[path]
    assert pages == {path: content for path, content in after.items() if is_page(path)}
    assert not result.changed & result.deleted
