"""`syncd revert N|--since TIME`: put back in Readwise the values pushes replaced (as
`syncd history` shows them), then sync those books so the vault follows."""

from __future__ import annotations

import argparse
import os
import sys
from datetime import datetime, timezone

from syncd.commands.common import EXIT_OK, EXIT_PARTIAL, locked_vault
from syncd.errors import UsageError


def _since(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(
            f"--since {text!r}: expected a date or time such as 2026-12-07 or "
            "2026-12-07T12:00:00+00:00"
        ) from None
    return moment.astimezone() if moment.tzinfo is None else moment.astimezone(timezone.utc)


def command(args: argparse.Namespace) -> int:
    from syncd.commands.history import history_line
    from syncd.engine.revert import RevertError, revert, to_revert
    from syncd.engine.wiring import clock_from_env, make_client, make_syncer

    if (args.number is None) == (args.since is None):
        raise RevertError("name one push (`syncd revert N`) or a time (`--since TIME`)")
    since = None if args.since is None else _since(args.since)
    with locked_vault(args) as (config, state):
        pushes = to_revert(state, args.number, since)
        if not pushes:
            print("no push to revert")
            return EXIT_OK
        clock = clock_from_env(os.environ)
        made, errors = revert(state, make_client(config), pushes, clock)
        for push in made:
            print(f"reverted: {history_line(push)}")
        for line in errors:
            print(f"syncd: {line}", file=sys.stderr)
        books = sorted({p.book_id for p in made})
        if books:  # the vault follows: the blocks are rewritten with Readwise's values
            report = make_syncer(config, state, os.environ).sync(book_ids=books)
            print(report.summary())
    return EXIT_PARTIAL if errors else EXIT_OK
