"""`syncd history`: the pushes to Readwise, newest first: when, book, highlight, field, the
value before and after (and whether it was made, or reverts another)."""

from __future__ import annotations

import argparse
import json

from syncd.commands.common import EXIT_OK, read_recorded, record_json
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
    pushes = read_recorded(args, lambda state: state.pushes())
    if args.json:
        print(json.dumps([record_json(p) for p in pushes]))
        return EXIT_OK
    if not pushes:
        print("nothing pushed to Readwise yet (sync.push names the fields that flow back)")
    for push in pushes:
        print(history_line(push))
    return EXIT_OK
