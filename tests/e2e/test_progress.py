"""`syncd sync` on a terminal (issue 12, item 4), run under a pseudo-terminal 40 and 120 columns
wide: the bar shows at once, fits the width, and no screen line holds both the bar and a log
line."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pexpect
import pytest
import yaml

from syncd.testing.fakereadwise import FakeReadwise

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "tok-progress-0123456789abcdef"


def screen_lines(output: str) -> list[str]:
    """What a terminal shows for `output`: each line after `\\r` moves and `ESC[K` clears."""
    lines = []
    for raw in output.replace("\r\n", "\n").split("\n"):
        cells: list[str] = []
        cursor = 0
        index = 0
        while index < len(raw):
            if raw.startswith("\x1b[K", index):
                del cells[cursor:]
                index += 3
                continue
            char = raw[index]
            if char == "\r":
                cursor = 0
            else:
                if cursor < len(cells):
                    cells[cursor] = char
                else:
                    cells.append(char)
                cursor += 1
            index += 1
        lines.append("".join(cells))
    return lines


def drawn(output: str) -> list[str]:
    """Every state the bar's line was drawn in: the text after each clear, less log lines (they
    end in a newline; the bar is drawn again after them)."""
    states = []
    for part in output.replace("\r\n", "\n").split("\x1b[K")[1:]:
        state = part.rsplit("\n", 1)[-1].split("\r")[0]
        if " books" in state or state.startswith("asking"):
            states.append(state)
    return states


@pytest.mark.parametrize("columns", [40, 120])
def test_the_bar_fits_and_log_lines_print_above_it(tmp_path: Path, columns: int) -> None:
    """issue 12, item 4."""
    vault = tmp_path / "graph"
    vault.mkdir()
    config = tmp_path / "config.yaml"
    with FakeReadwise(token=TOKEN, page_size=25) as server:
        for number in range(120):
            server.add_book(
                title=f"Book number {number}",
                author="A",
                highlights=[
                    {"text": f"Highlight {number}-{n}", "updated_at": "2023-01-01T00:00:00Z"}
                    for n in range(2)
                ],
            )
        config.write_text(
            yaml.safe_dump(
                {
                    "readwise": {"token": TOKEN, "base_url": server.url},
                    "vault": {"path": str(vault), "timezone": "UTC"},
                    "state_dir": str(tmp_path / "state"),
                    "log_level": "info",
                }
            )
        )
        config.chmod(0o600)
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("SYNCD_", "READWISE_"))
        }
        env.update(PYTHONPATH=str(ROOT), TERM="xterm", SYNCD_NOW="2023-03-17T17:05:00Z", TZ="UTC")
        env.pop("COLUMNS", None)
        env.pop("LINES", None)
        child = pexpect.spawn(
            sys.executable,
            ["-m", "syncd", "sync", "--config", str(config)],
            env=env,
            encoding="utf-8",
            timeout=120,
            dimensions=(24, columns),
        )
        child.expect_exact("asking Readwise for every book")  # before any answer
        child.expect(pexpect.EOF)
        child.close()
        output = child.before or ""
    assert child.exitstatus == 0, output
    states = drawn(output)
    assert any("120/120 books, 240 highlights" in state for state in states), states[-5:]
    assert all(len(state) <= columns - 1 for state in states), [
        state for state in states if len(state) >= columns
    ]
    lines = screen_lines(output)
    logs = [line for line in lines if " INFO " in line]
    assert len(logs) >= 5  # one per export page at least: there was something to interleave
    for line in lines:
        has_bar = "books" in line and ("[" in line.split(" INFO ")[0] or "/120" in line)
        assert not (has_bar and " INFO " in line), line
    assert "120 new highlights" in output or "240 new highlights" in output
