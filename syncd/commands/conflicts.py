"""`syncd conflicts`: the fields the vault and Readwise both changed, differently, since they
last agreed: for each, the page and highlight, and both values (and the one they agreed on)."""

from __future__ import annotations

import argparse
import json

from syncd.commands.common import EXIT_OK, read_recorded, record_json
from syncd.core.push_plan import show_value
from syncd.core.records import FieldConflict


def conflict_line(c: FieldConflict) -> str:
    return (
        f"highlight {c.highlight_id} in {c.page}: {c.field}: vault {show_value(c.vault)}, "
        f"Readwise {show_value(c.readwise)} (last agreed {show_value(c.base)})"
    )


def command(args: argparse.Namespace) -> int:
    conflicts = read_recorded(args, lambda state: state.conflicts())
    if args.json:
        print(json.dumps([record_json(c) for c in conflicts]))
        return EXIT_OK
    if not conflicts:
        print("no conflicts")
    for c in conflicts:
        print(conflict_line(c))
    if conflicts:
        print("settle one: syncd resolve HIGHLIGHT --keep vault|readwise")
    return EXIT_OK
