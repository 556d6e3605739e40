"""One contract, two vaults: the real one on disk and its in-memory twin behave alike wherever
the engine can tell. Every test runs against both; a twin that drifts from the real vault fails
here before it makes another test pass for the wrong reason."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import pytest

from syncd.edges.atomic import PageChanged
from syncd.edges.vault import Vault
from syncd.errors import VaultError
from syncd.ports import VaultPort
from syncd.testing.memory_vault import MemoryVault


class User(Protocol):
    """What a person (or another program) does to the vault's files."""

    vault: VaultPort

    def put(self, relative: str, text: str) -> None: ...
    def rename(self, source: str, destination: str) -> None: ...
    def remove(self, relative: str) -> None: ...
    def wait(self, folder: str) -> None: ...


class DiskUser:
    def __init__(self, root: Path) -> None:
        root.mkdir()
        self.vault = Vault(root)

    def put(self, relative: str, text: str) -> None:
        path = self.vault.path(relative)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "w", encoding="utf-8") as handle:  # in place: the file is kept
            handle.write(text)

    def rename(self, source: str, destination: str) -> None:
        target = self.vault.path(destination)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self.vault.path(source), target)

    def remove(self, relative: str) -> None:
        self.vault.path(relative).unlink()

    def wait(self, folder: str) -> None:
        """Time passes: the folder's last change is long past (a change within one tick of
        the file system's clock would not show in its mtime; see syncd.engine.lookout)."""
        os.utime(self.vault.path(folder), ns=(10**18, 10**18))


class MemoryUser:
    def __init__(self) -> None:
        self.vault = MemoryVault()

    def put(self, relative: str, text: str) -> None:
        self.vault.put(relative, text)

    def rename(self, source: str, destination: str) -> None:
        self.vault.rename(source, destination)

    def remove(self, relative: str) -> None:
        self.vault.remove(relative)

    def wait(self, folder: str) -> None:
        pass


@pytest.fixture(params=["disk", "memory"])
def user(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[User]:
    yield DiskUser(tmp_path / "vault") if request.param == "disk" else MemoryUser()


def at(user: User, relative: str) -> Path:
    return user.vault.path(relative)


def test_a_missing_page_reads_as_none(user: User) -> None:
    page = user.vault.read(at(user, "pages/A.md"))
    assert page.text is None and page.file_id is None
    assert user.vault.stat(at(user, "pages/A.md")) is None


def test_a_written_page_reads_back_with_its_stat(user: User) -> None:
    written = user.vault.write(at(user, "pages/A.md"), "- one\n- ü", None)
    page = user.vault.read(at(user, "pages/A.md"))
    assert page.text == "- one\n- ü" == written.text
    assert (page.size, page.mtime_ns, page.file_id) == (
        written.size,
        written.mtime_ns,
        written.file_id,
    )
    assert user.vault.stat(at(user, "pages/A.md")) == (page.size, page.mtime_ns)
    assert user.vault.stat_relative("pages/A.md") == (page.size, page.mtime_ns)


def test_a_page_written_meanwhile_is_never_replaced(user: User) -> None:
    path = at(user, "pages/A.md")
    user.vault.write(path, "syncd's", None)
    user.put("pages/A.md", "the user's")
    with pytest.raises(PageChanged):
        user.vault.write(path, "syncd's again", "syncd's")
    assert user.vault.read(path).text == "the user's"


def test_a_new_page_never_takes_the_place_of_a_file(user: User) -> None:
    user.put("pages/A.md", "the user's")
    with pytest.raises(PageChanged):
        user.vault.write(at(user, "pages/A.md"), "syncd's", None)
    assert user.vault.read(at(user, "pages/A.md")).text == "the user's"


def test_a_renamed_page_keeps_its_identity_and_a_replaced_one_does_not(user: User) -> None:
    first = user.vault.write(at(user, "pages/A.md"), "text", None)
    user.rename("pages/A.md", "pages/sub/B.md")
    moved = user.vault.read(at(user, "pages/sub/B.md"))
    assert moved.file_id == first.file_id == user.vault.file_id(moved.path)
    assert moved.text == "text" and user.vault.file_id(first.path) is None
    rewritten = user.vault.write(moved.path, "new text", "text")
    assert rewritten.file_id != first.file_id
    user.put("pages/sub/B.md", "typed in place")
    assert user.vault.read(moved.path).file_id == rewritten.file_id


def test_pages_are_markdown_files_outside_hidden_and_temporary_names(user: User) -> None:
    for name in (
        "pages/A.md",
        "journals/2024_01_01.md",
        "notes.txt",
        ".obsidian/x.md",
        "pages/.syncd-A.md.tmp",
        "pages/A.md~",
        "logseq/bak/pages/A.md",
    ):
        user.put(name, "x")
    assert sorted(user.vault.relative(p) for p in user.vault.pages()) == [
        "journals/2024_01_01.md",
        "pages/A.md",
    ]


def test_a_path_out_of_the_vault_is_refused(user: User) -> None:
    outside = user.vault.root / ".." / "outside.md"
    with pytest.raises(VaultError):
        user.vault.write(outside, "x", None)
    with pytest.raises(VaultError):
        user.vault.drafts().write(outside, "x")
    assert user.vault.pages() == []


def test_drafts_are_placed_together_and_never_over_a_file(user: User) -> None:
    drafts = user.vault.drafts()
    for name in ("A", "B", "C"):
        drafts.write(at(user, f"pages/{name}.md"), f"page {name}")
    assert drafts.size == len("page A") * 3
    user.put("pages/B.md", "the user's B")
    refused = drafts.place()
    assert [d.path for d in refused] == [at(user, "pages/B.md")]
    assert [user.vault.read(at(user, f"pages/{n}.md")).text for n in "ABC"] == [
        "page A",
        "the user's B",
        "page C",
    ]
    assert drafts.size == 0 and drafts.place() == []


def test_a_draft_placed_keeps_the_identity_it_was_written_with(user: User) -> None:
    drafts = user.vault.drafts()
    draft = drafts.write(at(user, "pages/A.md"), "page A")
    drafts.place()
    page = user.vault.read(at(user, "pages/A.md"))
    assert (page.size, page.file_id) == (draft.size, draft.file_id)


def test_folders_and_names(user: User) -> None:
    assert user.vault.missing_or_empty() and user.vault.present()
    user.put("pages/Books/A.md", "x")
    user.put("pages/B.md", "x")
    assert not user.vault.missing_or_empty()
    assert user.vault.siblings(at(user, "pages/B.md")) == {"Books", "B.md"}
    assert user.vault.subfolders(at(user, "pages")) == {"Books"}
    assert user.vault.read_text(at(user, ".obsidian/daily-notes.json")) is None
    user.put(".obsidian/daily-notes.json", '{"folder": "Daily"}')
    assert user.vault.read_text(at(user, ".obsidian/daily-notes.json")) == '{"folder": "Daily"}'


def test_no_folder_only_where_nothing_is(user: User) -> None:
    """What naming new pages skips reading in (issue 20): a folder not there, nor one in it."""
    assert user.vault.no_folder(at(user, "pages"))
    assert user.vault.no_folder(at(user, "pages/Books"))
    user.put("pages/B.md", "x")
    assert not user.vault.no_folder(at(user, "pages"))
    assert not user.vault.no_folder(at(user, "pages/B.md"))  # a file: something is there
    assert user.vault.no_folder(at(user, "pages/Books"))
    assert user.vault.no_folder(at(user, "pages/B.md/inside"))
    assert not user.vault.no_folder(user.vault.root)


def test_a_folder_where_a_page_should_be_is_an_error(user: User) -> None:
    user.put("pages/A.md/inside.md", "x")
    with pytest.raises(VaultError):
        user.vault.read(at(user, "pages/A.md"))


def test_temporary_files_a_crash_left_are_removed(user: User) -> None:
    user.put("pages/.syncd-A.md.tmp", "half")
    user.put("pages/A.md", "page")
    assert user.vault.remove_temporary_files(at(user, "pages")) == 1
    assert sorted(user.vault.siblings(at(user, "pages/A.md"))) == ["A.md"]


def test_a_page_saved_with_crlf_and_a_bom_reads_plain_and_is_written_back_in_its_form(
    user: User,
) -> None:
    user.put("pages/A.md", "\ufeff- one\r\n- two")
    page = user.vault.read(at(user, "pages/A.md"))
    assert page.text == "- one\n- two"
    written = user.vault.write(page.path, "- one\n- two\n- three", page.text)
    assert written.text == "- one\n- two\n- three"
    assert user.vault.read(page.path).text == "- one\n- two\n- three"
    raw = "\ufeff- one\r\n- two\r\n- three".encode()
    assert written.size == len(raw) == user.vault.stat(page.path)[0]  # type: ignore[index]
    with pytest.raises(PageChanged):  # the page as planned from, in its own form
        user.vault.write(page.path, "- four", "- one\n- two")


def test_a_page_with_mixed_line_endings_is_read_but_never_written(user: User) -> None:
    user.put("pages/A.md", "- one\r\n- two\n- three")
    page = user.vault.read(at(user, "pages/A.md"))
    assert page.text == "- one\n- two\n- three" and page.form.mixed
    with pytest.raises(VaultError, match="mixed line endings"):
        user.vault.write(page.path, "- one\n- two\n- three\n- four", page.text)
    assert user.vault.read(page.path).text == "- one\n- two\n- three"


def test_stamps_say_which_changes_show(user: User) -> None:
    user.put("notes/A.md", "one")
    user.put("notes/sub/B.md", "two")
    seen = []
    for name, change, shows in (
        ("edited in place", lambda: user.put("notes/A.md", "one, edited"), False),
        ("a file below edited", lambda: user.put("notes/sub/B.md", "two, edited"), False),
        ("a file made", lambda: user.put("notes/C.md", "new"), True),
        ("a file renamed", lambda: user.rename("notes/C.md", "notes/D.md"), True),
        ("a file moved out", lambda: user.rename("notes/D.md", "other/D.md"), True),
        ("a file removed", lambda: user.remove("notes/A.md"), True),
    ):
        user.wait("notes")
        before = user.vault.folder_stamp("notes")
        change()
        seen.append((name, user.vault.folder_stamp("notes") != before, shows))
    assert all(changed == shows for _, changed, shows in seen), seen


def test_a_folder_lists_its_folders_and_its_files_with_their_inodes(user: User) -> None:
    user.put("notes/A.md", "one")
    user.put("notes/pic.png", "png")
    user.put("notes/sub/B.md", "two")
    user.put("notes/.hidden/C.md", "three")
    user.put("notes/node_modules/D.md", "four")
    folders, files = user.vault.list_folder("notes") or ([], {})
    assert sorted(folders) == ["sub"]
    assert sorted(files) == ["A.md", "pic.png"]
    identity = user.vault.file_id(at(user, "notes/A.md"))
    assert identity is not None and files["A.md"] == identity[1]
    assert user.vault.list_folder("missing") is None
    root_folders, _ = user.vault.list_folder("") or ([], {})
    assert root_folders == ["notes"]
