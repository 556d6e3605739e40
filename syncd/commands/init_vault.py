"""`syncd init`'s vault folder one off: a Logseq graph's pages/ or journals/ folder, or a folder
inside an Obsidian vault, is named with the graph or vault above it, which is offered at a terminal
(Enter takes it) and given as the fix without one (`syncd sync` refuses such a folder too).
"""

from __future__ import annotations

from pathlib import Path
from typing import TextIO

from syncd.commands.init import BadAnswer, Prompter
from syncd.edges.vault_place import one_folder_off
from syncd.errors import UsageError


def top_folder(vault: Path, prompter: Prompter, *, flag_given: bool, out: TextIO) -> Path | None:
    """Return the vault's top folder: `vault` itself, or the graph or vault above it when the
    user takes it; None to ask for the folder again (the user declined, at the prompt). Raise
    UsageError when there is no terminal to ask at, or `--vault` was declined."""
    off = one_folder_off(vault)
    if off is None:
        return vault
    inside = ""
    if off.format == "obsidian":
        folder = off.path.relative_to(off.root).as_posix()
        inside = f"vault.folder: {folder} in the config puts pages there"
    if not prompter.interactive:
        raise UsageError(
            f"init: --vault: {off.describe()}, not its top folder: give --vault {off.root}"
            + (f"; {inside}" if inside else "")
        )
    print(f"{off.describe()}, not its top folder", file=out)
    if prompter.ask(f"Use {off.root} instead? [Y/n] ", check_yes, flag="--vault"):
        if inside:
            print(f"note: {inside}", file=out)
        return off.root
    if flag_given:
        raise UsageError(f"init: --vault: syncd syncs a graph's or vault's top folder, not {vault}")
    return None


def check_yes(text: str) -> bool:
    """y, yes or Enter: True; n or no: False; else BadAnswer."""
    answer = text.strip().casefold()
    if answer in ("", "y", "yes"):
        return True
    if answer in ("n", "no"):
        return False
    raise BadAnswer(f"{text.strip()!r}: answer y or n")
