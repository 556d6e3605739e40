"""The page watcher on a real folder: watchdog's events, debounced and merged into page changes.

Every wait is for the callback (a queue) or a logged line (an event), with a generous timeout
that only bounds a failure. To show that something was *not* reported, a sentinel page is written
afterwards: events arrive in order, so the first callback that carries the sentinel carries
everything before it too.
"""

from __future__ import annotations

import errno
import logging
import os
import queue
import shutil
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from watchdog.events import (
    DirCreatedEvent,
    DirDeletedEvent,
    FileClosedEvent,
    FileCreatedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileOpenedEvent,
)
from watchdog.observers.api import BaseObserver
from watchdog.observers.inotify import InotifyEmitter

from syncd.core.file_events import Changes
from syncd.edges.watcher import PageWatcher, inotify_limits

# watchdog 7 warns when a folder created inside a new folder gets its inotify watch twice (a race
# between its own recursive set-up and the creation event); it is harmless to the events.
pytestmark = pytest.mark.filterwarnings("ignore:Callback with id:RuntimeWarning")

TIMEOUT = 10.0  # seconds; a bound on failures, never a way to wait for something
DEBOUNCE = 0.1
PAGE = "pages/Walden.md"
SENTINEL = "pages/Sentinel.md"


class Recorder:
    """The ``on_changes`` callback: a queue of what it was given."""

    def __init__(self) -> None:
        self.calls: queue.Queue[Changes] = queue.Queue()

    def __call__(self, changes: Changes) -> None:
        self.calls.put(changes)

    def next(self) -> Changes:
        try:
            return self.calls.get(timeout=TIMEOUT)
        except queue.Empty:
            pytest.fail(f"no changes reported within {TIMEOUT} s")

    def until(self, page: str) -> list[Changes]:
        """Return the callbacks up to and including the first that mentions ``page``."""
        calls = [self.next()]
        while not mentions(calls[-1], page):
            calls.append(self.next())
        return calls

    def assert_silent(self) -> None:
        assert self.calls.empty(), self.calls.get_nowait()


def mentions(changes: Changes, page: str) -> bool:
    moved = {path for move in changes.moved for path in move}
    return page in changes.changed | changes.deleted | moved


def write(root: Path, relative: str, text: str = "- a highlight\n") -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


@pytest.fixture
def vault(tmp_path: Path) -> Path:
    root = tmp_path / "vault"
    (root / "pages").mkdir(parents=True)
    (root / "logseq" / "bak").mkdir(parents=True)
    (root / ".git").mkdir()
    return root


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def watch(vault: Path, recorder: Recorder) -> Iterator[Callable[..., PageWatcher]]:
    """Start a watcher on the vault (keyword arguments go to PageWatcher); stop it afterwards."""
    started: list[PageWatcher] = []

    def start(**kwargs: Any) -> PageWatcher:
        kwargs.setdefault("debounce", DEBOUNCE)
        watcher = PageWatcher(vault, recorder, **kwargs)
        watcher.start()
        started.append(watcher)
        return watcher

    yield start
    for watcher in started:
        watcher.stop()


@contextmanager
def thread_errors() -> Iterator[list[threading.ExceptHookArgs]]:
    """Collect the exceptions that escape any thread inside the block.

    Set in the test's body, inside pytest's own hook for its call phase, which it restores.
    """
    errors: list[threading.ExceptHookArgs] = []
    saved, threading.excepthook = threading.excepthook, errors.append
    try:
        yield errors
    finally:
        threading.excepthook = saved


class LogLine(logging.Handler):
    """Sets ``seen`` when a record containing ``text`` is logged (from any thread)."""

    def __init__(self, text: str) -> None:
        super().__init__(logging.DEBUG)
        self.text = text
        self.seen = threading.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if self.text in record.getMessage():
            self.seen.set()


@pytest.fixture
def log_line() -> Iterator[Callable[[str], LogLine]]:
    handlers: list[LogLine] = []
    logger = logging.getLogger("syncd.watcher")

    def watch_for(text: str) -> LogLine:
        handler = LogLine(text)
        logger.addHandler(handler)
        handlers.append(handler)
        return handler

    yield watch_for
    for handler in handlers:
        logger.removeHandler(handler)


# With inotify.


def test_a_written_page_is_changed(vault: Path, recorder: Recorder, watch: Callable) -> None:
    watcher = watch()
    assert watcher.mode == "inotify"
    write(vault, PAGE)
    assert recorder.next() == Changes(changed=frozenset({PAGE}))


def test_a_renamed_page_is_moved(vault: Path, recorder: Recorder, watch: Callable) -> None:
    write(vault, PAGE)
    watch()
    (vault / PAGE).rename(vault / "pages/Walden (highlights).md")
    assert recorder.next() == Changes(moved=((PAGE, "pages/Walden (highlights).md"),))


def test_a_page_moved_to_another_folder_is_moved(
    vault: Path, recorder: Recorder, watch: Callable
) -> None:
    write(vault, PAGE)
    (vault / "Readwise").mkdir()
    watch()
    (vault / PAGE).rename(vault / "Readwise/Walden.md")
    assert recorder.next() == Changes(moved=((PAGE, "Readwise/Walden.md"),))


def test_a_deleted_page_is_deleted(vault: Path, recorder: Recorder, watch: Callable) -> None:
    write(vault, PAGE)
    watch()
    (vault / PAGE).unlink()
    assert recorder.next() == Changes(deleted=frozenset({PAGE}))


def test_a_temp_file_replacing_a_page_is_a_change_of_the_page(
    vault: Path, recorder: Recorder, watch: Callable
) -> None:
    write(vault, PAGE)
    watch()
    temp = vault / "pages/.syncd-abc.tmp"
    with open(temp, "w", encoding="utf-8") as file:
        file.write("- a highlight\n- another\n")
        file.flush()
        os.fsync(file.fileno())
    os.replace(temp, vault / PAGE)
    assert recorder.next() == Changes(changed=frozenset({PAGE}))


def test_files_that_are_not_pages_are_ignored(
    vault: Path, recorder: Recorder, watch: Callable
) -> None:
    watch()
    write(vault, ".git/index.lock", "lock")
    write(vault, ".git/objects/ab/cdef.md")
    write(vault, "logseq/bak/pages/Walden/2024-01-31T10_00_00.000Z.Desktop.md")
    write(vault, ".obsidian/workspace.json", "{}")
    write(vault, "pages/Walden.md~")
    write(vault, "assets/cover.png", "png")
    write(vault, SENTINEL)
    calls = recorder.until(SENTINEL)
    assert calls == [Changes(changed=frozenset({SENTINEL}))]


def test_a_burst_of_writes_is_one_callback(
    vault: Path, recorder: Recorder, watch: Callable
) -> None:
    watch()
    for count in range(20):
        write(vault, PAGE, f"- highlight {count}\n")
    assert recorder.next() == Changes(changed=frozenset({PAGE}))
    write(vault, SENTINEL)
    assert recorder.next() == Changes(changed=frozenset({SENTINEL}))


def test_pages_in_a_new_folder_are_seen(vault: Path, recorder: Recorder, watch: Callable) -> None:
    watch()
    (vault / "Readwise/Books").mkdir(parents=True)
    write(vault, "Readwise/Books/Walden.md")
    calls = recorder.until("Readwise/Books/Walden.md")
    assert calls[-1].changed == {"Readwise/Books/Walden.md"}


def test_a_failing_callback_is_logged_and_watching_goes_on(
    vault: Path, watch: Callable, caplog: pytest.LogCaptureFixture
) -> None:
    delivered: queue.Queue[Changes] = queue.Queue()

    def on_changes(changes: Changes) -> None:
        delivered.put(changes)
        if PAGE in changes.changed:
            raise RuntimeError("reconcile failed")

    watcher = PageWatcher(vault, on_changes, debounce=DEBOUNCE)
    watcher.start()
    try:
        write(vault, PAGE)
        assert delivered.get(timeout=TIMEOUT).changed == {PAGE}
        write(vault, SENTINEL)
        assert delivered.get(timeout=TIMEOUT).changed == {SENTINEL}
    finally:
        watcher.stop()
    assert any(r.exc_info and "reconcile failed" in str(r.exc_info[1]) for r in caplog.records)


@pytest.mark.parametrize("polling", [False, True], ids=["inotify", "polling"])
def test_deleting_the_vault_is_logged_not_raised(
    vault: Path,
    recorder: Recorder,
    watch: Callable,
    log_line: Callable[[str], LogLine],
    polling: bool,
) -> None:
    write(vault, PAGE)
    gone = log_line("disappeared")
    factory = no_inotify_watches_left if polling else None
    with thread_errors() as errors:
        watcher = watch(observer_factory=factory, polling_interval=0.05)
        assert watcher.mode == ("polling" if polling else "inotify")
        shutil.rmtree(vault)
        assert gone.seen.wait(TIMEOUT), "the vault's disappearance was not logged"
        watcher.flush()
        watcher.stop()  # joins every thread the watcher started
    assert not errors
    # Whatever was reported before the watch ended is about the pages that went with the vault.
    while not recorder.calls.empty():
        assert recorder.calls.get_nowait().changed <= {PAGE}


def test_a_missing_vault_does_not_start(tmp_path: Path, recorder: Recorder) -> None:
    watcher = PageWatcher(tmp_path / "nowhere", recorder)
    with pytest.raises(FileNotFoundError):
        watcher.start()
    assert watcher.mode is None


# Without inotify: polling.


class _NoWatchesLeft(InotifyEmitter):
    """inotify's emitter when ``fs.inotify.max_user_watches`` is used up."""

    def on_thread_start(self) -> None:
        raise OSError(errno.ENOSPC, "inotify watch limit reached")


class _NoInstancesLeft(InotifyEmitter):
    """inotify's emitter when ``fs.inotify.max_user_instances`` is used up."""

    def on_thread_start(self) -> None:
        raise OSError(errno.EMFILE, "inotify instance limit reached")


def no_inotify_watches_left() -> BaseObserver:
    return BaseObserver(_NoWatchesLeft)


def no_inotify_instances_left() -> BaseObserver:
    return BaseObserver(_NoInstancesLeft)


@pytest.mark.parametrize(
    ("factory", "sysctl"),
    [
        (no_inotify_watches_left, "fs.inotify.max_user_watches"),
        (no_inotify_instances_left, "fs.inotify.max_user_instances"),
    ],
    ids=["ENOSPC", "EMFILE"],
)
def test_without_inotify_the_watcher_polls_and_says_so_once(
    vault: Path,
    recorder: Recorder,
    watch: Callable,
    caplog: pytest.LogCaptureFixture,
    factory: Callable[[], BaseObserver],
    sysctl: str,
) -> None:
    write(vault, "pages/Old.md")
    with caplog.at_level(logging.WARNING, logger="syncd.watcher"):
        watcher = watch(observer_factory=factory, polling_interval=0.05)
        assert watcher.mode == "polling"
        write(vault, PAGE)
        assert recorder.next() == Changes(changed=frozenset({PAGE}))
        (vault / "pages/Old.md").rename(vault / "pages/New.md")
        assert recorder.next() == Changes(moved=(("pages/Old.md", "pages/New.md"),))
    warnings = [r for r in caplog.records if r.name == "syncd.watcher"]
    assert len(warnings) == 1
    assert warnings[0].levelno == logging.WARNING
    assert "polling" in warnings[0].getMessage()
    assert sysctl in warnings[0].getMessage()
    assert "\n" not in warnings[0].getMessage()


# Timing and event conversion, with an observer the test drives by hand.


class HandObserver:
    """Stands in for watchdog's observer: the test hands it the events a real one would see."""

    def __init__(self) -> None:
        self.handler: Any = None
        self.path = ""

    def schedule(self, handler: Any, path: str, **_: Any) -> None:
        self.handler, self.path = handler, path

    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass

    def join(self, timeout: float | None = None) -> None:
        pass

    def unschedule_all(self) -> None:
        pass

    def send(self, event: Any) -> None:
        self.handler.dispatch(event)


@pytest.fixture
def hand(vault: Path, recorder: Recorder) -> Iterator[tuple[PageWatcher, HandObserver]]:
    observer = HandObserver()
    watcher = PageWatcher(vault, recorder, debounce=3600, observer_factory=lambda: observer)
    watcher.start()
    yield watcher, observer
    watcher.stop()


def test_flush_delivers_at_once_in_the_calling_thread(
    vault: Path, recorder: Recorder, hand: tuple[PageWatcher, HandObserver]
) -> None:
    watcher, observer = hand
    observer.send(FileCreatedEvent(str(vault / PAGE)))
    observer.send(FileModifiedEvent(str(vault / PAGE)))
    recorder.assert_silent()  # an hour of debounce to go
    watcher.flush()
    assert recorder.calls.get_nowait() == Changes(changed=frozenset({PAGE}))
    watcher.flush()
    recorder.assert_silent()  # nothing pending: no empty callback


def test_stop_drops_the_pending_events_and_the_timer(
    vault: Path, recorder: Recorder, hand: tuple[PageWatcher, HandObserver]
) -> None:
    watcher, observer = hand
    observer.send(FileModifiedEvent(str(vault / PAGE)))
    watcher.stop()
    assert not any(t.name == "syncd-watcher-debounce" for t in threading.enumerate())
    observer.send(FileModifiedEvent(str(vault / PAGE)))
    watcher.flush()
    recorder.assert_silent()


def test_raw_events_become_page_events(
    vault: Path, recorder: Recorder, hand: tuple[PageWatcher, HandObserver]
) -> None:
    watcher, observer = hand
    outside = vault.parent / "elsewhere"
    events = [
        DirCreatedEvent(str(vault / "Readwise")),
        FileOpenedEvent(str(vault / "pages/Read.md")),
        FileClosedEvent(str(vault / "pages/Written.md")),
        FileMovedEvent(str(vault / "pages/.syncd-1.tmp"), str(vault / "pages/Replaced.md")),
        FileMovedEvent(str(vault / "pages/Out.md"), str(outside / "Out.md")),
        FileMovedEvent(str(outside / "In.md"), str(vault / "pages/In.md")),
        FileMovedEvent(str(vault / "pages/Old.md"), str(vault / "Readwise/New.md")),
        FileModifiedEvent(str(vault / ".git/config.md")),
    ]
    for event in events:
        observer.send(event)
    watcher.flush()
    assert recorder.calls.get_nowait() == Changes(
        changed=frozenset({"pages/Written.md", "pages/Replaced.md", "pages/In.md"}),
        deleted=frozenset({"pages/Out.md"}),
        moved=(("pages/Old.md", "Readwise/New.md"),),
    )


def test_the_vault_root_going_is_one_log_line(
    vault: Path, hand: tuple[PageWatcher, HandObserver], caplog: pytest.LogCaptureFixture
) -> None:
    _, observer = hand
    with caplog.at_level(logging.INFO, logger="syncd.watcher"):
        observer.send(DirDeletedEvent(observer.path))
        observer.send(DirDeletedEvent(observer.path))
    assert [r.getMessage() for r in caplog.records] == [
        f"Vault folder {vault} disappeared; no longer watching it"
    ]


# For `syncd doctor`.


def test_inotify_limits_reads_proc(tmp_path: Path) -> None:
    (tmp_path / "max_user_watches").write_text("524288\n")
    (tmp_path / "max_user_instances").write_text("not a number\n")
    assert inotify_limits(tmp_path) == {"max_user_watches": 524288, "max_user_instances": None}
    assert inotify_limits(tmp_path / "missing") == {
        "max_user_watches": None,
        "max_user_instances": None,
    }


def test_inotify_limits_of_this_machine() -> None:
    limits = inotify_limits()
    assert set(limits) == {"max_user_watches", "max_user_instances"}
    assert all(value is None or value > 0 for value in limits.values())
