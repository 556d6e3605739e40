"""`syncd sync`: one sync now (`--full`, `--dry-run`, `--json`); a progress bar on a terminal."""

from __future__ import annotations

import argparse
import json
import os
import sys
from contextlib import suppress

from syncd.commands.common import EXIT_OK, EXIT_PARTIAL, dry_run_state, locked_vault


def command(args: argparse.Namespace) -> int:
    import sqlite3

    from syncd.commands.progress import ProgressBar
    from syncd.commands.status import record_error, record_sync
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
        try:
            report = make_syncer(
                config, state, os.environ, progress=bar.update if bar else None
            ).sync(full=args.full, dry_run=args.dry_run)
            if not args.dry_run:
                record_sync(state, report)
        except Exception as error:
            if not args.dry_run:
                with suppress(sqlite3.Error):  # the database may be what failed
                    record_error(state, error)
            raise
        finally:
            if bar:
                bar.close()
    for diff in report.diffs:
        sys.stdout.write(diff)
    if args.json:
        print(json.dumps({**report.as_json(), "dry_run": args.dry_run}))
    else:
        print(report.summary(), file=sys.stderr if args.dry_run else sys.stdout)
    for line in report.failure_lines():  # "book 12 (Title): why", or "40 books failed: why"
        print(f"syncd: {'' if line[:1].isdigit() else 'failed: '}{line}", file=sys.stderr)
    return EXIT_PARTIAL if report.failed else EXIT_OK
