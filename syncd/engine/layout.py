"""Where a vault keeps its pages and how it names their files."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from syncd.core.filenames import (
    logseq_file_stem,
    logseq_leaves_controls,
    obsidian_file_stem,
    obsidian_file_stems,
)
from syncd.edges.graph_settings import GraphSettings

CATEGORY_FOLDERS = {
    "books": "Books",
    "articles": "Articles",
    "tweets": "Tweets",
    "podcasts": "Podcasts",
    "supplementals": "Supplementals",
}


@dataclass(frozen=True)
class Layout:
    """Where a vault keeps its pages and how it names their files: Logseq as the graph names
    files; Obsidian as Readwise's export does, in a folder per category."""

    root: Path
    pages: Path
    graph: GraphSettings
    page_format: str = "logseq"

    def page_path(self, name: str, category: str = "") -> Path:
        """The path of a page named `name` (in Obsidian: in its category's folder). A name
        taken is numbered by `syncd.engine.naming` (`obsidian_path`)."""
        if self.page_format == "obsidian":
            return self.obsidian_path(obsidian_file_stem(name), category)
        return self.pages / (logseq_file_stem(name, self.graph.name_format) + ".md")

    def obsidian_stems(self, name: str) -> tuple[str, str]:
        """The stems `page_path` gives a book title in Obsidian, with runs of spaces collapsed
        and as before 2025 (the same stem twice for most titles), computed once for both."""
        return obsidian_file_stems(name)

    def obsidian_path(self, stem: str, category: str, number: int = 1) -> Path:
        """The path of the `number`-th Obsidian page of a stem (see `obsidian_stems`)."""
        name = stem + ("" if number == 1 else f"-{number}") + ".md"
        return self.page_folder(category) / name

    def page_folder(self, category: str) -> Path:
        """The folder a new page of a book of `category` goes in."""
        if self.page_format == "obsidian":
            return self.pages / CATEGORY_FOLDERS.get(category, category.capitalize())
        return self.pages

    def logseq_named_path(self, name: str) -> Path | None:
        """Where Logseq itself (and so the official plugin) puts a page: control characters
        left in its file name, which `page_path` percent-encodes; None for a name without any
        (Logseq names its file as `page_path` does)."""
        if not logseq_leaves_controls(name):
            return None
        return self.pages / (logseq_file_stem(name, self.graph.name_format, as_logseq=True) + ".md")

    def new_page_folders(self, subfolders: Iterable[str]) -> list[Path]:
        """The folders new pages are written into, given the names of the folders in the pages
        folder: where a crash can leave a temporary file of a page syncd does not know yet."""
        if self.page_format != "obsidian":
            return [self.pages]
        return [self.pages / folder for folder in {*CATEGORY_FOLDERS.values(), *subfolders}]
