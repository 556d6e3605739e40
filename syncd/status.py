"""`syncd status`: what the state database knows, and recording each sync's outcome in it."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from syncd.config import Config
from syncd.state import State
from syncd.sync import SyncReport


def record_sync(state: State, report: SyncReport) -> None:
    """Remember a finished sync: its time and summary; an error only if books failed."""
    state.set("last_sync", datetime.now(timezone.utc).isoformat(timespec="seconds"))
    state.set("last_summary", report.summary())
    if report.failed:
        state.set("last_error", "; ".join(error for _, error in report.failed))
    else:
        state.set("last_success", datetime.now(timezone.utc).isoformat(timespec="seconds"))
        state.set("last_error", None)


def record_error(state: State, error: BaseException) -> None:
    state.set("last_error", str(error) or type(error).__name__)


def collect_status(config: Config) -> dict[str, Any]:
    """Return what `syncd status` shows, as plain data (also its `--json` form)."""
    from syncd.app import lock_holder, open_state
    from syncd.state import database_path

    status: dict[str, Any] = {"vault": str(config.vault.path), "daemon_pid": lock_holder(config)}
    if not database_path(config.state_dir, config.vault.path).exists():
        return {**status, "synced": False}
    state = open_state(config)
    try:
        return {**status, "synced": True,
                "last_success": state.get("last_success"), "last_sync": state.get("last_sync"),
                "last_summary": state.get("last_summary"), "cursor": state.get("cursor"),
                "last_error": state.get("last_error"), "counts": state.counts(),
                "books_not_synced": [vars(problem) for problem in state.problems()]}
    finally:
        state.close()


def format_status(status: dict[str, Any]) -> str:
    lines = [f"vault: {status['vault']}"]
    pid = status.get("daemon_pid")
    lines.append(f"daemon: {'running, pid ' + str(pid) if pid else 'not running'}")
    if not status.get("synced"):
        lines.append("never synced")
        return "\n".join(lines)
    counts = status["counts"]
    lines += [
        f"last successful sync: {status['last_success'] or 'never'}",
        f"last sync: {status['last_summary'] or '-'}",
        f"cursor: {status['cursor'] or 'none (next sync fetches everything)'}",
        f"books: {counts['books']}; pages: {counts['pages']}; deleted pages: "
        f"{counts['deleted_pages']}",
        f"highlights: {counts['highlights']} ({counts['written']} as written, "
        f"{counts['edited']} edited by you, {counts['deleted']} deleted by you, "
        f"{counts['conflict']} conflicts, {counts['removed']} removed)",
        f"last error: {status['last_error'] or 'none'}",
    ]
    for problem in status.get("books_not_synced", []):
        lines.append(f"book {problem['book_id']} ({problem['title']}) {problem['kind']}: "
                     f"{problem['reason']}")
    return "\n".join(lines)


def as_json(status: dict[str, Any]) -> str:
    return json.dumps(status)
