"""syncd/edges/vault_place.py: a vault path one folder off (issue 21, item 4)."""

from __future__ import annotations

from pathlib import Path

from syncd.edges.vault_place import one_folder_off


def test_a_graphs_pages_and_journals_folders_and_an_obsidian_subfolder_are_one_off(
    tmp_path: Path,
) -> None:
    graph = tmp_path / "graph"
    (graph / "logseq").mkdir(parents=True)
    (graph / "logseq" / "config.edn").write_text("{}")
    vault = tmp_path / "notes"
    (vault / ".obsidian").mkdir(parents=True)
    for folder in ("pages", "journals"):
        off = one_folder_off(graph / folder)
        assert off is not None and off.root == graph and off.format == "logseq"
        assert (
            off.describe()
            == f"{graph / folder} is the {folder}/ folder of the Logseq graph {graph}"
        )
        assert off.advice() == f"set vault.path to {graph}"
    deep = vault / "Books" / "Readwise"  # need not exist yet
    off = one_folder_off(deep)
    assert off is not None and off.root == vault and off.format == "obsidian"
    assert off.describe() == f"{deep} is inside the Obsidian vault {vault}"
    assert off.advice() == f"set vault.path to {vault} (and vault.folder to 'Books/Readwise')"


def test_a_top_folder_or_a_folder_inside_none_is_not(tmp_path: Path) -> None:
    vault = tmp_path / "notes"
    (vault / ".obsidian").mkdir(parents=True)
    inner = vault / "Other vault"
    (inner / ".obsidian").mkdir(parents=True)
    assert one_folder_off(vault) is None
    assert one_folder_off(inner) is None  # a vault of its own inside another
    assert one_folder_off(tmp_path / "plain" / "pages") is None
