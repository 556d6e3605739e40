"""The daemon behind `syncd run`. One runner does everything, in order: syncs (on start, on
schedule, on SIGUSR1), reconciliation of pages the watcher saw change, config reloads (SIGHUP),
stop (SIGTERM/SIGINT). Requests wait in one queue, so syncs never overlap and none is lost.

Correctness never depends on a file event: every sync starts with a scan of the pages whose size
or mtime changed. Events only make the daemon notice sooner.

The state database deleted or replaced under the daemon (its path no longer names the file the
daemon has open) stops it with exit 5 and a clear error, before any more work: going on with the
old file would keep syncing into a database nobody will open again, and starting a new one would
forget which pages and blocks the user deleted and bring them back. Whoever removed it decides
(restore it, or start syncd again to rebuild from the vault).
"""

from __future__ import annotations

import logging
import queue
import signal
import sqlite3
import threading
import time
from collections.abc import Callable, Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Protocol

from syncd.config.values import Config
from syncd.core.file_events import Changes
from syncd.edges.notify import Notifier
from syncd.edges.state import State
from syncd.edges.watcher import PageWatcher
from syncd.engine.run import Stopped
from syncd.engine.sync import Syncer
from syncd.errors import AuthError, ConfigError, SyncdError, UnreachableError

log = logging.getLogger("syncd.daemon")

EXIT_STATE_GONE = 5  # the state database was deleted or replaced under the daemon
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
RETRY_FIRST = 30.0  # seconds before the first retry when Readwise is unreachable
STOP = "stop"


@dataclass(frozen=True)
class Request:
    kind: str  # "sync", "changes", "reload", "stop"
    changes: Changes | None = None
    full: bool = False


@dataclass
class DaemonHooks:
    """Callbacks for tests and the notify protocol: told after each piece of work."""

    after_sync: list[Callable[[str], None]] = field(default_factory=list)
    after_changes: list[Callable[[Changes], None]] = field(default_factory=list)


class MakeSyncer(Protocol):
    """Builds the Syncer of a config (`syncd.engine.wiring.make_syncer`, the environment
    given), with the daemon's parts: when to stop, a heartbeat, and the client's waits."""

    def __call__(
        self,
        config: Config,
        state: State,
        *,
        should_stop: Callable[[], bool],
        progress: Callable[[int, int, int], None],
        sleep: Callable[[float], None],
    ) -> Syncer: ...


class Daemon:
    """Runs syncd for one vault until stopped. `make_syncer` builds a Syncer;
    `load_config()` reads the config again on SIGHUP."""

    def __init__(
        self,
        config: Config,
        state: State,
        *,
        make_syncer: MakeSyncer,
        load_config: Callable[[], Config],
        env: Mapping[str, str],
        debounce: float = 0.5,
        clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
    ) -> None:
        self.config = config
        self._clock = clock  # the wall clock pages' mtimes are on (push_delay); tests fix it
        self.state = state
        self._make_syncer = make_syncer
        self._load_config = load_config
        self._queue: queue.SimpleQueue[Request] = queue.SimpleQueue()
        self._stopping = threading.Event()
        self._notifier = Notifier(env)
        self._debounce = debounce
        self.hooks = DaemonHooks()
        self.syncer = self._new_syncer(config)
        self._scheduler: Any = None
        self._watcher: PageWatcher | None = None
        self._failures = 0
        self._heartbeat = time.monotonic()
        self.exit_code = 0
        self.push_scheduled: datetime | None = None  # when the pushes wait for (push_delay)

    # requests: safe from signal handlers and other threads (SimpleQueue.put is reentrant)
    def request_sync(self, full: bool = False) -> None:
        self._queue.put(Request("sync", full=full))

    def request_stop(self) -> None:
        self._stopping.set()
        self._queue.put(Request(STOP))

    def request_reload(self) -> None:
        self._queue.put(Request("reload"))

    def _on_changes(self, changes: Changes) -> None:
        self._queue.put(Request("changes", changes=changes))

    def install_signal_handlers(self) -> None:
        signal.signal(signal.SIGTERM, lambda *_: self.request_stop())
        signal.signal(signal.SIGINT, lambda *_: self.request_stop())
        signal.signal(signal.SIGHUP, lambda *_: self.request_reload())
        signal.signal(signal.SIGUSR1, lambda *_: self.request_sync())

    def run(self) -> int:
        """Scan, start watcher and schedule, serve requests until stopped; return exit code."""
        if self._state_gone():
            return self.exit_code
        self.syncer.scan()
        self._start_watcher()
        self._start_scheduler(first_sync=self.config.sync.on_start)
        self._notifier.ready("watching " + str(self.config.vault.path))
        pinger = threading.Thread(target=self._ping_watchdog, name="syncd-watchdog", daemon=True)
        pinger.start()
        try:
            self._serve()
        finally:
            self._notifier.stopping()
            self._stopping.set()
            self._shutdown()
            self._remember_next(None)  # no daemon, no next sync
        return self.exit_code

    def _serve(self) -> None:
        while True:
            batch = [self._queue.get()]
            while not self._queue.empty():  # merge what piled up: one sync, all changes
                batch.append(self._queue.get_nowait())
            self._heartbeat = time.monotonic()
            if any(r.kind == STOP for r in batch):
                return
            if any(r.kind == "reload" for r in batch):
                self._reload()
            if self._state_gone():
                return
            changes = [r.changes for r in batch if r.kind == "changes" and r.changes]
            if changes:
                self._reconcile(changes)
            syncs = [r for r in batch if r.kind == "sync"]
            if syncs:
                self._sync(full=any(r.full for r in syncs))
            self._heartbeat = time.monotonic()

    def _state_gone(self) -> bool:
        """True (and the daemon is to stop, exit 5) when the state database was deleted or
        replaced under it; see the module's docstring."""
        if not self.state.replaced():
            return False
        log.error(
            "the state database %s was deleted or replaced while syncd ran; stopping "
            "so that pages and blocks you deleted are not brought back (restore it, or "
            "start syncd again to rebuild it from the vault)",
            self.state.path,
        )
        self._notifier.status("stopped: its state database was deleted")
        self.exit_code = EXIT_STATE_GONE
        return True

    def _sync(self, full: bool) -> None:
        from syncd.engine.state_summary import record_error, record_interrupted, record_sync

        # The C library reads `/etc/localtime` again if it changed (a laptop that travelled
        # while the daemon ran): the pages' times follow the zone of the machine at each sync.
        time.tzset()
        pages_before = None
        try:
            try:
                pages_before = self.state.page_count()
                report = self.syncer.sync(full=full, quiet_before_ns=self.quiet_before_ns())
            except sqlite3.Error as error:  # e.g. another process kept a lock too long
                raise self.state.error(error) from None
        except Stopped:
            log.info("stopping: the sync was interrupted after a whole page")
            with suppress(sqlite3.Error):  # `status` shows it, with the pages it wrote
                written = self.state.page_count() - (pages_before or 0)
                record_interrupted(self.state, "syncd stopped", max(written, 0))
            return
        except AuthError as error:
            # Retrying cannot help: the token must change. Exit 3, which the units do not
            # restart (RestartPreventExitStatus=); the next start reads the config again.
            with suppress(sqlite3.Error):
                record_error(self.state, error)
            log.error(
                "sync failed: %s; stopping (exit %d): fix the token, then start syncd again",
                error,
                error.exit_code,
            )
            self._notifier.status(f"stopped: {error}")
            self.exit_code = error.exit_code
            self._tell_sync(f"failed: {error}")
            self.request_stop()
            return
        except (UnreachableError, SyncdError) as error:
            with suppress(sqlite3.Error):  # the database may be what failed
                record_error(self.state, error)
            self._failures += 1
            wait = min(RETRY_FIRST * 2 ** (self._failures - 1), self.config.sync.interval)
            retry_at = datetime.now(timezone.utc) + timedelta(seconds=wait)
            shown = retry_at.astimezone().strftime("%H:%M:%S")
            log.error("sync failed: %s; next try at %s", error, shown)
            self._notifier.status(f"last sync failed: {error}")
            self._schedule_retry(retry_at)
            self._remember_next(retry_at.astimezone())
            self._tell_sync(f"failed: {error}")
            return
        self._failures = 0
        if report.push_waiting is not None:  # a page saved too recently: pushed later
            self._schedule_push(report.push_waiting)
        for line in report.push_errors:
            log.error("push: %s", line)
        record_sync(self.state, report)
        summary = report.summary()
        due = self._next_sync()
        self._remember_next(due)
        log.info("sync: %s%s", summary, f"; next sync at {_local(due)}" if due else "")
        for line in report.failure_lines():
            log.error("%s", line)
        self._notifier.status(f"last sync {datetime.now().strftime('%H:%M')}: {summary}")
        self._tell_sync(summary)

    def _next_sync(self) -> datetime | None:
        """When the schedule (or a retry) syncs next; None without a schedule."""
        if self._scheduler is None:
            return None
        times = [
            job.next_run_time
            for job in self._scheduler.get_jobs()
            if job.id in ("sync", "retry") and job.next_run_time is not None
        ]
        return min(times, default=None)

    def _remember_next(self, due: datetime | None) -> None:
        """Keep when the next sync is due in the state, for `syncd status`."""
        with suppress(sqlite3.Error):
            self.state.set("next_sync", due.isoformat(timespec="seconds") if due else None)

    def _tell_sync(self, summary: str) -> None:
        for hook in self.hooks.after_sync:
            hook(summary)

    def _reconcile(self, batches: list[Changes]) -> None:
        for changes in batches:
            try:
                for source, destination in changes.moved:
                    self.syncer.move(source, destination)
                self.syncer.scan(only=set(changes.changed) | set(changes.deleted))
            except sqlite3.Error as error:
                log.error("reconciling pages failed: %s", self.state.error(error))
            except SyncdError as error:
                log.error("reconciling pages failed: %s", error)
            self._push_after(changes)
            for hook in self.hooks.after_changes:
                hook(changes)

    # two-way sync (issue 19): a saved page's edits are pushed once it was left alone a while
    def quiet_before_ns(self) -> int | None:
        """Pages saved after this moment (ns) are not pushed yet: a note may be half-typed
        (`sync.push_delay`); None when nothing is pushed."""
        if not self.config.sync.push:
            return None
        quiet = self._clock() - timedelta(seconds=self.config.sync.push_delay)
        return (quiet - _EPOCH) // timedelta(microseconds=1) * 1000  # exact: no float

    def push_due(self, mtime_ns: int) -> datetime:
        """When a page saved at `mtime_ns` has been left alone for `sync.push_delay`."""
        saved = _EPOCH + timedelta(microseconds=-(-mtime_ns // 1000))  # rounded up, exactly
        return saved + timedelta(seconds=self.config.sync.push_delay)

    def _push_after(self, changes: Changes) -> None:
        """With `sync.push`, a sync is scheduled for when the pages just saved have been left
        alone for `push_delay` (their last mtime plus the delay; a later save moves it)."""
        if not self.config.sync.push:
            return
        mtimes = [
            stat[1]
            for path in changes.changed
            if (stat := self.syncer.vault.stat_relative(path)) is not None
        ]
        if mtimes:
            self._schedule_push(max(mtimes))

    def _schedule_push(self, mtime_ns: int) -> None:
        from apscheduler.triggers.date import DateTrigger

        due = self.push_due(mtime_ns)
        self.push_scheduled = due
        if self._scheduler is not None:
            self._scheduler.add_job(
                self.request_sync,
                DateTrigger(run_date=due, timezone=timezone.utc),
                id="push",
                replace_existing=True,
            )

    def _reload(self) -> None:
        try:
            config = self._load_config()
            syncer = self._new_syncer(config)
        except (ConfigError, SyncdError) as error:
            log.error("reload failed, keeping the running config: %s", error)
            return
        if config.vault.path != self.config.vault.path or config.state_dir != self.config.state_dir:
            log.error(
                "reload: vault.path and state_dir cannot change while running; "
                "restart syncd for that"
            )
            return
        self.config, self.syncer = config, syncer
        self._start_scheduler(first_sync=False)
        log.info("config reloaded")

    def _new_syncer(self, config: Config) -> Syncer:
        # The client's waits before a retry (backoff, Retry-After: up to minutes) end at once
        # on SIGTERM/SIGINT, so that the daemon stops within seconds.
        return self._make_syncer(
            config,
            self.state,
            should_stop=self._stopping.is_set,
            progress=lambda *_: self._beat(),
            sleep=self._wait_unless_stopping,
        )

    def _wait_unless_stopping(self, seconds: float) -> None:
        if self._stopping.wait(seconds):
            raise Stopped

    def _beat(self) -> None:
        self._heartbeat = time.monotonic()

    # the schedule
    def _start_scheduler(self, *, first_sync: bool) -> None:
        from apscheduler.schedulers.background import BackgroundScheduler
        from apscheduler.triggers.interval import IntervalTrigger

        if self._scheduler is None:
            # Its own zone is UTC: intervals do not depend on one, and APScheduler cannot read
            # every `TZ` the C library accepts (tzlocal fails on a POSIX rule).
            self._scheduler = BackgroundScheduler(daemon=True, timezone=timezone.utc)
            self._scheduler.start()
        interval = self.config.sync.interval
        self._scheduler.add_job(
            self.request_sync,
            IntervalTrigger(seconds=interval, jitter=interval * 0.1, timezone=timezone.utc),
            id="sync",
            replace_existing=True,
            # After a suspend, the missed runs coalesce into one, however late.
            coalesce=True,
            misfire_grace_time=None,
            max_instances=1,
            next_run_time=datetime.now(timezone.utc) if first_sync else None,
        )
        if not first_sync:
            self._scheduler.get_job("sync").resume()

    def _schedule_retry(self, when: datetime) -> None:
        from apscheduler.triggers.date import DateTrigger

        if self._scheduler is not None:
            self._scheduler.add_job(
                self.request_sync,
                DateTrigger(run_date=when, timezone=timezone.utc),
                id="retry",
                replace_existing=True,
            )

    def _start_watcher(self) -> None:
        try:
            self._watcher = PageWatcher(
                self.config.vault.path, self._on_changes, debounce=self._debounce
            )
            self._watcher.start()
            log.info("watching %s (%s)", self.config.vault.path, self._watcher.mode)
        except OSError as error:
            log.error(
                "file watcher not started (%s); pages are still checked before every sync", error
            )
            self._watcher = None

    def _ping_watchdog(self) -> None:
        period = self._notifier.watchdog_interval()
        if period is None:
            return
        while not self._stopping.wait(period):
            # Healthy: idle, or busy but still making progress.
            if time.monotonic() - self._heartbeat < 4 * period or self._queue.empty():
                self._notifier.watchdog()

    def _shutdown(self) -> None:
        if self._watcher is not None:
            self._watcher.stop()
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)


def _local(moment: datetime) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S")
