"""File events in, page changes out: pure.

`FileEvent` is one raw event (paths relative to the vault root); `page_event` says what it does
to pages; `merge_events` folds a burst of events into `Changes`, what the daemon must reconcile.
An editor that saves by writing a temporary file and renaming it over the page, or by deleting
and re-creating the page, shows up as one changed page; a page created and deleted within the
burst does not show up at all; a rename chain is one move.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from syncd.core.page_files import is_page

EventKind = Literal["created", "modified", "deleted", "moved"]


@dataclass(frozen=True)
class FileEvent:
    """One file event: ``path`` (and ``dest`` for a move) relative to the vault root, POSIX."""

    kind: EventKind
    path: str
    dest: str | None = None

    def __post_init__(self) -> None:
        if self.kind == "moved" and self.dest is None:
            raise ValueError(f"a move needs a destination: {self.path!r}")
        if self.kind != "moved" and self.dest is not None:
            raise ValueError(f"only a move has a destination: {self.kind} {self.path!r}")


@dataclass(frozen=True)
class Changes:
    """What a burst of events did to the vault's pages.

    ``moved`` holds ``(old, new)`` pairs for pages renamed or moved (their content may also have
    changed: then ``new`` is in ``changed`` too); ``changed`` the pages to re-read; ``deleted`` the
    pages that are gone. Each ``old`` names a page as it was before the burst; the moves are
    ordered so that doing them one after the other works (``b -> c`` before ``a -> b``), except
    for a cycle of moves (two pages swapped), which only works done at once, as a mapping.
    """

    changed: frozenset[str] = frozenset()
    deleted: frozenset[str] = frozenset()
    moved: tuple[tuple[str, str], ...] = ()

    def __bool__(self) -> bool:
        return bool(self.changed or self.deleted or self.moved)


def page_event(event: FileEvent) -> FileEvent | None:
    """Given a raw event, return it as seen from the pages only, or None if it touches none.

    A move between a page and a file that is not one is half of a save or a trash: a temporary
    file renamed over a page creates the page, a page renamed to a backup name deletes it.
    """
    if event.dest is None:
        return event if is_page(event.path) else None
    source, dest = is_page(event.path), is_page(event.dest)
    if source and dest:
        return event
    if source:
        return FileEvent("deleted", event.path)
    if dest:
        return FileEvent("created", event.dest)
    return None


@dataclass
class _Track:
    """A file present now: where it was when the burst began (None: created during it)."""

    origin: str | None
    dirty: bool = False


@dataclass
class _Burst:
    """The state `merge_events` folds events into."""

    current: dict[str, _Track] = field(default_factory=dict)  # path now -> its file
    originals: set[str] = field(default_factory=set)  # paths whose file from before was touched

    def adopt(self, path: str) -> _Track:
        """Return the file at ``path``, first seen now: a file from before the burst, unless the
        file that was at ``path`` then has already been accounted for (a missed create)."""
        if path in self.current:
            return self.current.pop(path)
        if path in self.originals:
            return _Track(origin=None)
        self.originals.add(path)
        return _Track(origin=path)


def merge_events(events: Sequence[FileEvent]) -> Changes:
    """Given a burst of file events in the order they happened, return what they did to the pages.

    Events about files that are not pages are dropped first (see `page_event`). Then each path is
    followed to where its file is at the end: created then deleted is nothing; deleted then
    created (an editor saving by delete and create) is changed; a file created during the burst
    and renamed (a temporary file renamed over a page) is a changed page at its last name, never a
    move; an older page renamed, perhaps several times, is one move from its first to its last
    name, and also changed if it was written or renamed over another page on the way.

    inotify does not report the file a rename replaces, so a rename onto a name no earlier event
    mentioned is taken to be onto a free name: if a page there is overwritten that way and then
    renamed again or deleted within the same burst, its loss is left to the next scan.
    """
    burst = _Burst()
    for raw in events:
        event = page_event(raw)
        if event is None:
            continue
        if event.kind == "created":
            if event.path in burst.current:
                burst.current[event.path].dirty = True  # a missed delete: the content is new
            else:
                burst.current[event.path] = _Track(origin=None)
        elif event.kind == "modified":
            track = burst.adopt(event.path)
            track.dirty = True
            burst.current[event.path] = track
        elif event.kind == "deleted":
            burst.adopt(event.path)  # and dropped: the file is gone
        elif event.dest is not None:  # moved
            track = burst.adopt(event.path)
            if event.dest in burst.current:
                burst.current.pop(event.dest)
                track.dirty = True  # renamed over a page: that name has new content
            if track.origin == event.dest:
                track.dirty = True  # moved back: cheaper to re-read than to prove nothing changed
            burst.current[event.dest] = track

    carried = {track.origin for track in burst.current.values()}
    changed = frozenset(
        path for path, track in burst.current.items() if track.origin is None or track.dirty
    )
    moved = _in_applicable_order(
        (track.origin, path)
        for path, track in burst.current.items()
        if track.origin is not None and track.origin != path
    )
    deleted = frozenset(
        path for path in burst.originals if path not in carried and path not in burst.current
    )
    return Changes(changed=changed, deleted=deleted, moved=moved)


def _in_applicable_order(moves: Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    """Return the moves ordered so that doing them one by one works: a move out of a name comes
    before the move into it. Moves in a cycle (a swap) cannot be ordered so and come last."""
    pending = sorted(moves)
    ordered: list[tuple[str, str]] = []
    while pending:
        sources = {source for source, _ in pending}
        ready = [move for move in pending if move[1] not in sources]
        if not ready:
            ordered += pending  # only cycles are left
            break
        ordered += ready
        pending = [move for move in pending if move[1] in sources]
    return tuple(ordered)
