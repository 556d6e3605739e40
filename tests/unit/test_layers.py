"""The layers stay apart: the pure core imports no edge, engine or command; the edges import no
engine or command; nothing but the commands and tests imports the testing room."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "syncd"
FORBIDDEN = {
    "core": (
        "syncd.edges",
        "syncd.engine",
        "syncd.commands",
        "syncd.config",
        "syncd.testing",
        "syncd.cli",
    ),
    "edges": ("syncd.engine", "syncd.commands", "syncd.testing", "syncd.cli"),
    "engine": ("syncd.commands", "syncd.testing", "syncd.cli"),
    "config": ("syncd.engine", "syncd.commands", "syncd.testing", "syncd.edges", "syncd.cli"),
}
# The core is pure: no files, clock, network, processes or threads.
IMPURE = ("os", "socket", "subprocess", "threading", "sqlite3", "requests", "time", "watchdog")


def imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def modules(room: str) -> list[Path]:
    return sorted((PACKAGE / room).glob("*.py"))


@pytest.mark.parametrize("room", sorted(FORBIDDEN))
def test_a_room_imports_only_what_lies_below_it(room: str) -> None:
    assert modules(room)
    wrong = {
        f"{path.name} imports {name}"
        for path in modules(room)
        for name in imports(path)
        if name.startswith(FORBIDDEN[room])
    }
    assert not wrong


def test_the_ports_lie_below_the_edges_and_the_engine() -> None:
    """The ports and their types (syncd/ports.py) are what the edges implement and the engine
    uses: they import nothing but the core."""
    wrong = {
        name
        for name in imports(PACKAGE / "ports.py")
        if name.startswith("syncd.") and not name.startswith("syncd.core")
    }
    assert not wrong


def test_the_core_is_pure() -> None:
    wrong = {
        f"{path.name} imports {name}"
        for path in modules("core")
        for name in imports(path)
        if name.split(".")[0] in IMPURE
    }
    assert not wrong
