"""What naming new books' pages reads of the vault (issue 20), counted: a first sync into a
folder that is not there yet reads no file to name its pages (nothing can be there to adopt or
to avoid); where the folder is there, each new page's file is read first, so that the official
plugin's page is adopted and a file of the user's is never taken."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

import syncd.engine.apply
from syncd.edges.vault import Vault
from tests.support.counting_vault import CountingVault
from tests.support.harness import harness

T0 = datetime(2025, 5, 1, 9, 0, tzinfo=timezone.utc)
PAGES = {"logseq": "pages", "obsidian": "Readwise/Books"}


CATEGORIES = ("books", "articles", "tweets")


def first_sync(root: Path, page_format: str, before: dict[str, str]) -> tuple[CountingVault, Path]:
    with harness(root, readwise="twin", settings={"vault": {"format": page_format}}) as h:
        for n in range(6):
            h.server.add_book(
                title=f"Book {n}",
                author="Someone",
                category=CATEGORIES[n % 3],
                highlights=[{"text": f"Highlight of book {n}.", "location": 1}],
            )
        for relative, text in before.items():
            (h.vault / relative).parent.mkdir(parents=True, exist_ok=True)
            (h.vault / relative).write_text(text, encoding="utf-8")
        port = CountingVault(Vault(h.vault))
        h.port = port
        h.sync(at=T0)
        return port, h.vault


@pytest.mark.parametrize("page_format", ["logseq", "obsidian"])
def test_a_first_sync_into_a_new_folder_reads_no_file_to_name_its_pages(
    tmp_path: Path, page_format: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each page put in place before the next is named (the folder is there by then, made by
    this sync): still none read."""
    monkeypatch.setattr(syncd.engine.apply, "BATCH_PAGES", 1)
    port, vault = first_sync(tmp_path, page_format, {})
    assert not [read for read in port.reads if read.startswith(PAGES[page_format][:5])], port.reads
    assert len(list(vault.glob(f"{PAGES[page_format][:5]}*/**/Book *.md"))) == 6


@pytest.mark.parametrize("page_format", ["logseq", "obsidian"])
def test_where_the_folder_is_there_each_new_page_s_file_is_read_and_a_user_s_file_kept(
    tmp_path: Path, page_format: str
) -> None:
    name = "Book 3 (highlights).md" if page_format == "logseq" else "Book 3.md"
    mine = f"{PAGES[page_format]}/{name}"
    port, vault = first_sync(tmp_path, page_format, {mine: "my own note\n"})
    assert mine in port.reads
    assert (vault / mine).read_text(encoding="utf-8") == "my own note\n"
    assert len(list(vault.glob(f"{PAGES[page_format][:5]}*/**/Book *.md"))) == 7
