"""`syncd history`: the pushes to Readwise, newest first: when, book, highlight, field, the
value before and after (and whether it was made, or reverts another)."""

from __future__ import annotations

import argparse
import json

from syncd.commands.common import EXIT_OK, load
from syncd.core.push_plan import show_value
from syncd.core.records import Push


def history_line(push: Push) -> str:
    extra = "" if push.state == "made" else f" [{push.state}]"
    extra += "" if push.reverts is None else f" (reverts {push.reverts})"
    return (
        f"{push.number}  {push.at}  {push.book or 'book ' + str(push.book_id)}  "
        f"highlight {push.highlight_id}  {push.field}: {show_value(push.before)} → "
        f"{show_value(push.after)}{extra}"
    )


def command(args: argparse.Namespace) -> int:
    from syncd.edges.state import State
    from syncd.edges.state_files import database_path

    config = load(args, require_token=False)
    state = State.read_only_copy(database_path(config.state_dir, config.vault.path))
    try:
        pushes = state.pushes()
    finally:
        state.close()
    if args.json:
        print(
            json.dumps(
                [
                    {
                        **vars(p),
                        "before": p.before if isinstance(p.before, str) else sorted(p.before),
                        "after": p.after if isinstance(p.after, str) else sorted(p.after),
                    }
                    for p in pushes
                ]
            )
        )
        return EXIT_OK
    if not pushes:
        print("nothing pushed to Readwise yet (sync.push names the fields that flow back)")
    for push in pushes:
        print(history_line(push))
    return EXIT_OK
