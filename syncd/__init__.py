"""syncd: keeps Readwise highlights synced into a Logseq graph or an Obsidian vault."""

__version__ = "0.1.0"
