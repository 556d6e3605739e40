"""Where a vault path points: at a graph's or vault's top folder, or one folder off (a Logseq
graph's `pages/` or `journals/` folder, a subfolder of an Obsidian vault), where syncd would write
`pages/pages/` or miss the vault's settings. Looks at the file system only, writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

FORMAT_NAMES = {"logseq": "Logseq graph", "obsidian": "Obsidian vault"}


def vault_format(folder: Path) -> str | None:
    """'logseq' when `folder` holds `logseq/config.edn`, 'obsidian' when it holds `.obsidian/`,
    None when neither (or it cannot be looked at)."""
    try:
        if (folder / "logseq" / "config.edn").is_file():
            return "logseq"
        if (folder / ".obsidian").is_dir():
            return "obsidian"
    except OSError:
        return None
    return None


@dataclass(frozen=True)
class OneFolderOff:
    """A path inside a graph or vault, and the graph or vault it is in."""

    path: Path
    root: Path
    format: str  # the enclosing one's: logseq | obsidian

    def describe(self) -> str:
        """`PATH is the pages/ folder of the Logseq graph ROOT`, or `PATH is inside the
        Obsidian vault ROOT`."""
        kind = FORMAT_NAMES[self.format]
        if self.path.parent == self.root and self.path.name in ("pages", "journals"):
            return f"{self.path} is the {self.path.name}/ folder of the {kind} {self.root}"
        return f"{self.path} is inside the {kind} {self.root}"

    def advice(self) -> str:
        """What to set instead: the root, and (a subfolder of an Obsidian vault) vault.folder to
        keep pages where they were meant to go."""
        text = f"set vault.path to {self.root}"
        if self.format == "obsidian":
            text += f" (and vault.folder to '{self.path.relative_to(self.root).as_posix()}')"
        return text


def one_folder_off(path: Path) -> OneFolderOff | None:
    """When `path` is not a graph's or vault's top folder but lies inside one, return where;
    else None. The nearest graph or vault above it is the one named."""
    if vault_format(path) is not None:
        return None
    for parent in path.parents:
        found = vault_format(parent)
        if found is not None:
            return OneFolderOff(path, parent, found)
    return None
