"""`syncd sync`: one sync now (`--full`, `--dry-run`, `--json`); a progress bar on a terminal."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from contextlib import suppress
from typing import TYPE_CHECKING

from syncd.commands.common import EXIT_OK, EXIT_PARTIAL, dry_run_state, locked_vault

if TYPE_CHECKING:
    from syncd.commands.progress import ProgressBar
    from syncd.edges.state import State


def command(args: argparse.Namespace) -> int:
    import sqlite3

    from syncd.commands.progress import ProgressBar
    from syncd.engine.run import Stopped
    from syncd.engine.state_summary import record_error, record_sync
    from syncd.engine.wiring import make_syncer

    with (dry_run_state if args.dry_run else locked_vault)(args) as (config, state):
        bar = ProgressBar(sys.stderr) if sys.stderr.isatty() and not args.json else None
        if bar:  # at once, before Readwise answers; log lines print above it
            bar.capture_logging()
            cursor = None if args.full else state.get("cursor")
            bar.start(
                f"asking Readwise for changes since {cursor}"
                if cursor
                else "asking Readwise for every book"
            )
        pages_before = state.page_count()
        stop = _CtrlC(bar)
        try:
            with stop:
                report = make_syncer(
                    config,
                    state,
                    os.environ,
                    progress=bar.update if bar else None,
                    should_stop=stop.asked.is_set,
                    sleep=stop.wait,
                ).sync(full=args.full, dry_run=args.dry_run)
            if not args.dry_run:
                record_sync(state, report)
        except (Stopped, KeyboardInterrupt):
            if bar:
                bar.close()
            return _interrupted(args, state, pages_before)
        except Exception as error:
            if not args.dry_run:
                with suppress(sqlite3.Error):  # the database may be what failed
                    record_error(state, error)
            raise
        finally:
            if bar:
                bar.close()
    for told in report.printed:  # a dry run's plans
        sys.stdout.write(told)
    if args.json:
        print(json.dumps({**report.as_json(), "dry_run": args.dry_run}))
    else:
        print(report.summary(), file=sys.stderr if args.dry_run else sys.stdout)
    for line in report.failure_lines():  # "book 12 (Title): why", or "40 books failed: why"
        print(f"syncd: {'' if line[:1].isdigit() else 'failed: '}{line}", file=sys.stderr)
    for line in report.push_errors:  # the token may not write; a highlight gone, a value refused
        print(f"syncd: push: {line}", file=sys.stderr)
    return EXIT_PARTIAL if report.failed or report.push_errors else EXIT_OK


EXIT_INTERRUPTED = 130  # 128 + SIGINT, as a shell reports a command Ctrl-C stopped


def _interrupted(args: argparse.Namespace, state: State, before: int) -> int:
    """Ctrl-C stopped the sync: say how many pages were written (they are kept, and remembered)
    and that the next sync continues; `status` shows the sync as interrupted."""
    import sqlite3

    from syncd.engine.state_summary import record_interrupted

    if args.dry_run:
        print("syncd: interrupted; nothing was written (a dry run)", file=sys.stderr)
        return EXIT_INTERRUPTED
    written = before
    with suppress(sqlite3.Error):
        written = state.page_count()
    written = max(written - before, 0)
    with suppress(sqlite3.Error):
        record_interrupted(state, "Ctrl-C", written)
    print(
        f"syncd: interrupted: {written} page{'' if written == 1 else 's'} written; the next "
        "sync continues (the pages written stay; the rest follow)",
        file=sys.stderr,
    )
    return EXIT_INTERRUPTED


class _CtrlC:
    """While a sync runs: the first Ctrl-C asks it to stop after the book in hand (and ends a
    wait before a retry at once); a second stops it at once (KeyboardInterrupt)."""

    def __init__(self, bar: ProgressBar | None) -> None:
        self.asked = threading.Event()
        self._bar = bar
        self._saved: object = None

    def __enter__(self) -> _CtrlC:
        if threading.current_thread() is threading.main_thread():
            self._saved = signal.signal(signal.SIGINT, self._on_interrupt)
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._saved is not None:
            signal.signal(signal.SIGINT, self._saved)  # type: ignore[arg-type]

    def _on_interrupt(self, signum: int, frame: object) -> None:
        if self.asked.is_set():
            raise KeyboardInterrupt
        self.asked.set()
        text = "syncd: stopping after the book in hand (Ctrl-C again stops at once)"
        if self._bar:
            self._bar.write_above(text)
        else:
            print(text, file=sys.stderr, flush=True)

    def wait(self, seconds: float) -> None:
        """How the client waits before a retry: ended by a Ctrl-C."""
        from syncd.engine.run import Stopped

        if self.asked.wait(seconds):
            raise Stopped
