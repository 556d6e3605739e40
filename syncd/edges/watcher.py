"""Watching the vault: `PageWatcher`, a watchdog observer on the vault (inotify, or polling when
inotify is out of watches or instances), and a `threading.Timer` that fires once the vault has
been quiet for `debounce` seconds; each burst of raw events becomes one `Changes`
(`syncd.core.file_events.merge_events`). syncd's own writes come back as changes too:
reconciling them costs a stat each (the page's size and mtime are what syncd recorded), so they
are not filtered out.
"""

from __future__ import annotations

import errno
import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from watchdog.events import FileModifiedEvent, FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver
from watchdog.observers.polling import PollingObserver

from syncd.core.file_events import Changes, EventKind, FileEvent, merge_events, page_event

logger = logging.getLogger("syncd.watcher")
INOTIFY_PROC_DIR = Path("/proc/sys/fs/inotify")
DEFAULT_POLLING_INTERVAL = 5.0
# While the vault folder is gone, how often (seconds) to look whether it is back.
ROOT_RETURN_INTERVAL = 1.0

# The watchdog event types that matter, as `FileEvent` kinds. "closed" is a close after writing:
# it re-arms the debounce once a slow writer has finished. Opens and attribute changes do not count.
_EVENT_KINDS: dict[str, EventKind] = {
    "created": "created",
    "modified": "modified",
    "closed": "modified",
    "deleted": "deleted",
    "moved": "moved",
}


def inotify_limits(proc_dir: Path = INOTIFY_PROC_DIR) -> dict[str, int | None]:
    """Return the kernel's inotify limits ``max_user_watches`` and ``max_user_instances``, each
    None when it cannot be read (not Linux, or /proc not mounted)."""
    limits: dict[str, int | None] = {}
    for name in ("max_user_watches", "max_user_instances"):
        try:
            limits[name] = int((proc_dir / name).read_text().strip())
        except (OSError, ValueError):
            limits[name] = None
    return limits


def _limit_hint(error: OSError) -> str:
    """Return the sysctl to raise for an inotify start-up error."""
    if error.errno == errno.ENOSPC:
        return "raise fs.inotify.max_user_watches (sysctl -w fs.inotify.max_user_watches=524288)"
    if error.errno == errno.EMFILE:
        return "raise fs.inotify.max_user_instances (sysctl -w fs.inotify.max_user_instances=512)"
    return "check fs.inotify.max_user_watches and fs.inotify.max_user_instances"


class _Handler(FileSystemEventHandler):
    """Hands every watchdog event to the watcher; watchdog calls it from its dispatch thread."""

    def __init__(self, watcher: PageWatcher) -> None:
        self._watcher = watcher

    def on_any_event(self, event: FileSystemEvent) -> None:
        self._watcher._on_raw_event(event)


class PageWatcher:
    """Watches the pages under ``root`` and calls ``on_changes`` with merged bursts of changes.

    ``on_changes`` runs in the debounce timer's thread (or in the caller's, for `flush`), never
    twice at once, and only with a non-empty `Changes`. ``observer_factory`` makes the native
    observer (watchdog's ``Observer`` by default); if starting it fails with an `OSError` (inotify
    limits) the watcher polls every ``polling_interval`` seconds instead.
    """

    def __init__(
        self,
        root: Path,
        on_changes: Callable[[Changes], None],
        debounce: float = 0.5,
        observer_factory: Callable[[], BaseObserver] | None = None,
        *,
        polling_interval: float = DEFAULT_POLLING_INTERVAL,
        return_interval: float = ROOT_RETURN_INTERVAL,
    ) -> None:
        self.root = Path(root)
        self._root_str = os.fsdecode(self.root.absolute())
        self._on_changes = on_changes
        self._debounce = debounce
        self._observer_factory = observer_factory or Observer
        self._polling_interval = polling_interval
        self._return_interval = return_interval
        self._stop_event = threading.Event()  # wakes the wait for a vault folder that went
        self._return_thread: threading.Thread | None = None

        self._lock = threading.Lock()  # guards the batch and the timer
        self._deliver_lock = threading.Lock()  # one on_changes at a time, batches in order
        self._batch: list[FileEvent] = []
        self._deadline = 0.0
        self._timer: threading.Timer | None = None
        self._observer: BaseObserver | None = None
        self._mode: Literal["inotify", "polling"] | None = None
        self._stopped = False
        self._root_gone = False

    @property
    def mode(self) -> Literal["inotify", "polling"] | None:
        """How the vault is watched: "inotify", "polling", or None before `start`."""
        return self._mode

    def start(self) -> None:
        """Start watching. Raise `OSError` if even polling cannot watch ``root``."""
        if self._observer is not None or self._stopped:
            raise RuntimeError("a PageWatcher starts once")
        if not self.root.is_dir():
            raise FileNotFoundError(errno.ENOENT, "vault folder not found", str(self.root))
        try:
            self._observer = self._start_observer(self._observer_factory())
            self._mode = "inotify"
        except OSError as error:
            logger.warning(
                "Cannot watch %s with inotify (%s); polling every %g s instead — to fix, %s",
                self.root,
                error.strerror or error,
                self._polling_interval,
                _limit_hint(error),
            )
            self._observer = self._start_observer(PollingObserver(timeout=self._polling_interval))
            self._mode = "polling"

    def _start_observer(self, observer: BaseObserver) -> BaseObserver:
        """Schedule ``observer`` on the root and start it; on failure leave nothing running."""
        try:
            observer.schedule(_Handler(self), self._root_str, recursive=True)
            observer.start()
        except BaseException:
            observer.unschedule_all()
            raise
        return observer

    def stop(self) -> None:
        """Stop watching: cancel the pending delivery (its events are dropped; call `flush` first
        to keep them) and join the observer's and the timer's threads."""
        with self._lock:
            self._stopped = True
            timer, self._timer = self._timer, None
            self._batch.clear()
            returning = self._return_thread
        self._stop_event.set()
        if returning is not None and returning is not threading.current_thread():
            returning.join()
        if timer is not None:
            timer.cancel()
            if timer is not threading.current_thread():
                timer.join()
        observer, self._observer = self._observer, None
        if observer is not None:
            observer.stop()
            if observer is not threading.current_thread():
                observer.join()

    def flush(self) -> None:
        """Deliver the pending events now, in the calling thread, if there are any."""
        self._deliver()

    # Event intake, in watchdog's thread.

    def _on_raw_event(self, raw: FileSystemEvent) -> None:
        if raw.is_directory:
            if raw.event_type == "deleted" and os.fsdecode(raw.src_path) == self._root_str:
                self._on_root_gone()
            return
        event = self._to_page_event(raw)
        if event is None:
            return
        with self._lock:
            if self._stopped:
                return
            self._batch.append(event)
            self._deadline = time.monotonic() + self._debounce
            if self._timer is None:
                self._arm(self._debounce)

    def _to_page_event(self, raw: FileSystemEvent) -> FileEvent | None:
        """Return a watchdog file event as a `FileEvent` about pages, or None."""
        kind = _EVENT_KINDS.get(raw.event_type)
        path = self._relative(raw.src_path)
        dest = self._relative(raw.dest_path) if kind == "moved" else None
        if kind is None:
            return None
        if kind != "moved":
            return None if path is None else page_event(FileEvent(kind, path))
        if path is not None and dest is not None:
            return page_event(FileEvent("moved", path, dest))
        if dest is not None:  # moved in from outside the vault
            return page_event(FileEvent("created", dest))
        if path is not None:  # moved out of the vault
            return page_event(FileEvent("deleted", path))
        return None

    def _relative(self, path: bytes | str) -> str | None:
        """Return an absolute path from watchdog relative to the root, POSIX, or None if outside."""
        if not path:
            return None
        relative = os.path.relpath(os.fsdecode(path), self._root_str)
        if relative == "." or relative.startswith(".." + os.sep) or relative == "..":
            return None
        return Path(relative).as_posix()

    def _on_root_gone(self) -> None:
        with self._lock:
            if self._root_gone or self._stopped:
                return
            self._root_gone = True
            self._return_thread = threading.Thread(
                target=self._wait_for_root, daemon=True, name="syncd-watcher-return"
            )
            self._return_thread.start()
        logger.warning("Vault folder %s disappeared; no longer watching it", self.root)

    def _wait_for_root(self) -> None:
        """While the vault folder is gone, look for it every `return_interval` seconds; when it
        is back (restored, remounted), watch it again, and report every page in it as changed,
        so that what happened meanwhile is reconciled (a stat each for pages unchanged)."""
        while not self._stop_event.wait(self._return_interval):
            if not self.root.is_dir():
                continue
            with self._lock:
                if self._stopped:
                    return
                old, self._observer = self._observer, None
            if old is not None:
                old.stop()
                old.join()
            try:
                observer = self._start_observer(
                    self._observer_factory()
                    if self._mode == "inotify"
                    else PollingObserver(timeout=self._polling_interval)
                )
            except OSError as error:
                if not self.root.is_dir():
                    continue  # gone again
                logger.error(
                    "Cannot watch %s again (%s); pages are still checked before every sync",
                    self.root,
                    error,
                )
                return
            with self._lock:
                if self._stopped:
                    observer.stop()
                    observer.join()
                    return
                self._observer = observer
                self._root_gone = False
                self._return_thread = None
            logger.warning("Vault folder %s is back; watching it again", self.root)
            for folder, dirs, files in os.walk(self.root):
                dirs[:] = [d for d in dirs if not d.startswith(".")]
                for name in files:
                    self._on_raw_event(FileModifiedEvent(os.path.join(folder, name)))
            return

    # Delivery, in the timer's thread.

    def _arm(self, delay: float) -> None:
        """Start the debounce timer. Hold ``_lock``."""
        self._timer = threading.Timer(delay, self._on_timer)
        self._timer.daemon = True
        self._timer.name = "syncd-watcher-debounce"
        self._timer.start()

    def _on_timer(self) -> None:
        with self._lock:
            if self._stopped or self._timer is not threading.current_thread():
                return
            remaining = self._deadline - time.monotonic()
            if remaining > 0:
                # Events came in since the timer was armed: wait out the rest of the quiet time.
                # Re-arming here rather than on every event starts one thread per quiet period.
                self._arm(remaining)
                return
            self._timer = None
        self._deliver()

    def _deliver(self) -> None:
        with self._deliver_lock:
            with self._lock:
                batch, self._batch = self._batch, []
                if self._timer is not None and self._timer is not threading.current_thread():
                    self._timer.cancel()
                    self._timer = None
            changes = merge_events(batch)
            if not changes:
                return
            try:
                self._on_changes(changes)
            except Exception:
                # One bad batch must not end the watching; the next scan catches what it missed.
                logger.exception("Handling changed pages failed: %s", changes)
