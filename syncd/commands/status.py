"""`syncd status`: what the state database knows, and recording each sync's outcome in it."""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import datetime
from typing import Any

from syncd.commands.common import EXIT_OK, load
from syncd.commands.conflicts import conflict_line
from syncd.config.values import Config
from syncd.core.books import BookEntry, attention, book_line
from syncd.edges.state import State
from syncd.engine.push import PUSH_PROBLEM
from syncd.engine.state_summary import book_entries


def collect_status(config: Config, *, books: bool = False) -> dict[str, Any]:
    """Return what `syncd status` shows, as plain data (also its `--json` form); with `books`,
    every book and its page too."""
    from syncd.edges.state_files import CorruptStateError, database_path
    from syncd.engine.wiring import lock_holder

    status: dict[str, Any] = {"vault": str(config.vault.path), "daemon_pid": lock_holder(config)}
    path = database_path(config.state_dir, config.vault.path)
    if not path.exists():
        return {**status, "synced": False}
    # Looking needs only the right to read: the database is read as it stands, and nothing is
    # written under the state folder (an administrator's look, a read-only snapshot).
    try:
        state = State.read_only_copy(path)
    except CorruptStateError as error:
        problem = (
            f"the state database {path} is corrupt ({error}); the next sync moves it "
            "aside and rebuilds it from the vault"
        )
        return {**status, "synced": False, "state_problem": problem}
    try:
        entries = book_entries(state)
        return {
            **status,
            "synced": True,
            "last_success": state.get("last_success"),
            "last_sync": state.get("last_sync"),
            "last_summary": state.get("last_summary"),
            "cursor": state.get("cursor"),
            "last_error": state.get("last_error"),
            # when the running daemon syncs next (kept by it after each sync)
            "next_sync": state.get("next_sync") if status["daemon_pid"] else None,
            "counts": state.counts(),
            "books_not_synced": [vars(problem) for problem in state.problems()],
            # two-way sync (issue 19): fields in conflict, edits Readwise would not take
            "field_conflicts": [conflict_line(c) for c in state.conflicts()],
            "push_problems": sorted(state.entries(PUSH_PROBLEM).values()),
            "pushable_fields": _pushable(config),
            "attention": {
                what: [_plain(b) for b in found] for what, found in attention(entries).items()
            },
            **({"books": [_plain(b) for b in entries]} if books else {}),
        }
    finally:
        state.close()


def _plain(book: BookEntry) -> dict[str, Any]:
    return {**vars(book), "highlights": dict(book.highlights)}


ATTENTION_SHOWN = 10  # lines per section of `syncd status`; `--books` lists them all
_SECTIONS = (
    ("conflicts", "conflicts (your block kept; Readwise's change not applied)"),
    ("deleted", "pages you deleted (not re-created; `syncd resync BOOK` does)"),
    ("waiting", "books waiting for their page to be clear (nothing written for them)"),
    ("failed", "books that failed (fetched again next sync)"),
)


def _problem_lines(problems: list[dict[str, Any]]) -> list[str]:
    """A line per book that failed or waits; books that failed for one cause (a read-only
    pages folder) share one line."""
    from syncd.engine.report import NAMED_IN_A_GROUP, cause_of

    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for problem in problems:
        groups.setdefault((problem["kind"], cause_of(problem["reason"])), []).append(problem)
    lines = []
    for (kind, cause), found in groups.items():
        if len(found) == 1:
            (one,) = found
            lines.append(f"book {one['book_id']} ({one['title']}) {kind}: {one['reason']}")
            continue
        named = ", ".join(f"book {p['book_id']} ({p['title']})" for p in found[:NAMED_IN_A_GROUP])
        more = len(found) - NAMED_IN_A_GROUP
        lines.append(
            f"{len(found)} books {kind}: {cause} ({named}"
            + (f" and {more} more" if more > 0 else "")
            + ")"
        )
    return lines


def format_status(status: dict[str, Any]) -> str:
    lines = [f"vault: {status['vault']}"]
    pid = status.get("daemon_pid")
    lines.append(f"daemon: {'running, pid ' + str(pid) if pid else 'not running'}")
    if not status.get("synced"):
        lines.append(
            f"state: {status['state_problem']}" if "state_problem" in status else "never synced"
        )
        return "\n".join(lines)
    counts = status["counts"]
    lines += [
        f"last successful sync: {status['last_success'] or 'never'}",
        f"last sync: {status['last_summary'] or '-'}",
        *(
            [f"next sync: {_local(status['next_sync'])} (the daemon, pid {pid})"]
            if status.get("next_sync")
            else []
        ),
        f"cursor: {status['cursor'] or 'none (next sync fetches everything)'}",
        f"books: {counts['books']}; pages: {counts['pages']}; deleted pages: "
        f"{counts['deleted_pages']}",
        f"highlights: {counts['highlights']} ({counts['written']} as written, "
        f"{counts['edited']} edited by you, {counts['deleted']} deleted by you, "
        f"{counts['conflict']} conflict{'' if counts['conflict'] == 1 else 's'}, "
        f"{counts['removed']} removed)",
        f"last error: {status['last_error'] or 'none'}",
    ]
    lines += _problem_lines(status.get("books_not_synced", []))
    lines += _push_lines(status)
    listing = "books" in status
    for what, heading in _SECTIONS:
        found = [BookEntry(**b) for b in status.get("attention", {}).get(what, [])]
        if not found:
            continue
        lines.append(f"{heading}: {len(found)}")
        shown = found if listing else found[:ATTENTION_SHOWN]
        for book in shown:
            n = book.highlights.get("conflict", 0)
            extra = f": {n} conflict{'' if n == 1 else 's'}" if what == "conflicts" else ""
            lines.append(f"  {book.path or '-'} (book {book.book_id}, {book.title}){extra}")
        if len(found) > len(shown):
            lines.append(f"  ... and {len(found) - len(shown)} more (`syncd status --books`)")
    if listing:
        lines.append(
            f"every book ({len(status['books'])}): id, page status, page, [title], highlights"
        )
        lines += [book_line(BookEntry(**b)) for b in status["books"]]
    elif counts["books"]:
        lines.append("`syncd status --books` lists every book and its page")
    return "\n".join(lines)


def _pushable(config: Config) -> dict[str, str | None]:
    """For each field of `sync.push`: None when it flows back with the config's templates,
    else why not."""
    if not config.sync.push:
        return {}
    from syncd.core.fields import pushable_fields
    from syncd.engine.wiring import settings_for

    reasons = pushable_fields(settings_for(config, os.environ).style)
    return {name: reasons.get(name) for name in config.sync.push}


def _push_lines(status: dict[str, Any]) -> list[str]:
    """Two-way sync's lines: the fields that flow back (and those that cannot, why), the
    fields in conflict, the edits Readwise would not take."""
    lines = []
    pushable = status.get("pushable_fields") or {}
    if pushable:
        flowing = [name for name, why in pushable.items() if why is None]
        lines.append(f"pushed to Readwise: {', '.join(flowing) or 'none'}")
        lines += [f"  {name} cannot flow back: {why}" for name, why in pushable.items() if why]
    conflicts = status.get("field_conflicts") or []
    if conflicts:
        lines.append(
            f"conflicting fields: {len(conflicts)} (`syncd resolve HIGHLIGHT --keep "
            "vault|readwise`)"
        )
        lines += [f"  {line}" for line in conflicts[:ATTENTION_SHOWN]]
    problems = status.get("push_problems") or []
    if problems:
        lines.append(f"edits kept in the vault, not in Readwise: {len(problems)}")
        lines += [f"  {line}" for line in problems[:ATTENTION_SHOWN]]
    return lines


def _local(moment: str) -> str:
    try:
        return datetime.fromisoformat(moment).astimezone().strftime("%Y-%m-%d %H:%M:%S")
    except ValueError:
        return moment


def command(args: argparse.Namespace) -> int:

    config = load(args, require_token=False)
    status = collect_status(config, books=args.books)
    if args.json:
        print(json.dumps(status))
    else:
        page(format_status(status) + "\n")
    return EXIT_OK


def page(text: str) -> None:
    """Write `text` to stdout; through $PAGER (else `less -FRX`) when stdout and stdin are a
    terminal and the text is taller than it."""
    import shutil
    import subprocess

    height = shutil.get_terminal_size().lines
    if not (sys.stdout.isatty() and sys.stdin.isatty()) or text.count("\n") < height - 1:
        sys.stdout.write(text)
        return
    import shlex

    command = shlex.split(os.environ.get("PAGER") or "less -FRX")
    sys.stdout.flush()
    try:
        subprocess.run(command, input=text, text=True, check=False)
    except OSError:  # no such pager
        sys.stdout.write(text)
