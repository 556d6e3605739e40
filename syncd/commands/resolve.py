"""`syncd resolve HIGHLIGHT --keep vault|readwise`: settle a highlight's conflict: the vault's
values pushed to Readwise, or Readwise's written into the block; then its book is synced."""

from __future__ import annotations

import argparse
import os

from syncd.commands.common import EXIT_OK, EXIT_PARTIAL, locked_vault
from syncd.errors import UsageError


def command(args: argparse.Namespace) -> int:
    from syncd.engine.push import KEEP
    from syncd.engine.wiring import make_syncer

    with locked_vault(args) as (config, state):
        found = [c for c in state.conflicts() if c.highlight_id == args.highlight]
        if not found:
            raise UsageError(f"highlight {args.highlight} has no conflict (see `syncd conflicts`)")
        if args.keep == "vault" and not config.sync.push:
            raise UsageError("--keep vault pushes the vault's values: sync.push is empty")
        with state.transaction():
            state.set(f"{KEEP}{args.highlight}", args.keep)
        report = make_syncer(config, state, os.environ).sync(book_ids=[found[0].book_id])
        left = [c for c in state.conflicts() if c.highlight_id == args.highlight]
    print(report.summary())
    for line in report.push_errors:
        print(f"syncd: push: {line}")
    if left:
        print(f"highlight {args.highlight} is still in conflict (its block changed meanwhile?)")
        return EXIT_PARTIAL
    print(f"highlight {args.highlight}: kept the {args.keep}'s values")
    return EXIT_PARTIAL if report.push_errors else EXIT_OK
