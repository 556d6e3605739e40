"""The vault's writes of new pages: drafts made durable together, then put in place."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

import syncd.edges.atomic
import syncd.edges.vault
from syncd.core.page_files import TEMP_PREFIX
from syncd.edges.vault import Drafts, Vault
from syncd.errors import VaultError


def temps(root: Path) -> list[Path]:
    return sorted(root.rglob(f"{TEMP_PREFIX}*"))


@pytest.fixture
def vault(tmp_path: Path) -> Vault:
    (tmp_path / "vault").mkdir()
    return Vault(tmp_path / "vault")


def test_drafts_are_invisible_until_placed_then_in_place_with_their_stat(vault: Vault) -> None:
    drafts = Drafts(vault)
    first = drafts.write(vault.root / "pages" / "One.md", "- one\n")
    drafts.write(vault.root / "pages" / "Two.md", "- twö")
    assert drafts.size == len("- one\n") + len("- twö")
    assert not first.path.exists() and len(temps(vault.root)) == 2
    assert drafts.place() == []
    assert first.path.read_text(encoding="utf-8") == "- one\n"
    assert (vault.root / "pages" / "Two.md").read_text(encoding="utf-8") == "- twö"
    stat = first.path.stat()
    assert (first.size, first.mtime_ns) == (stat.st_size, stat.st_mtime_ns)
    assert temps(vault.root) == [] and drafts.size == 0 and drafts.place() == []


def test_a_file_that_appears_where_a_draft_goes_is_left_alone(vault: Vault) -> None:
    drafts = Drafts(vault)
    taken = drafts.write(vault.root / "Taken.md", "syncd's")
    drafts.write(vault.root / "Free.md", "syncd's")
    taken.path.write_text("the user's", encoding="utf-8")
    assert drafts.place() == [taken]
    assert taken.path.read_text(encoding="utf-8") == "the user's"
    assert (vault.root / "Free.md").read_text(encoding="utf-8") == "syncd's"
    assert temps(vault.root) == []


def test_without_syncfs_each_draft_is_fsynced_before_it_is_placed(
    vault: Vault, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(syncd.edges.atomic, "SYNCFS", None)
    synced: list[str] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        name = Path(os.readlink(f"/proc/self/fd/{fd}")).name
        synced.append("draft" if name.startswith(TEMP_PREFIX) else name)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    drafts = Drafts(vault)
    for name in ("A", "B", "C"):
        drafts.write(vault.root / f"{name}.md", name)
    assert drafts.place() == []
    assert synced == ["draft", "draft", "draft", "vault"]  # then the folder, once
    assert sorted(p.name for p in vault.root.iterdir()) == ["A.md", "B.md", "C.md"]


@pytest.mark.skipif(syncd.edges.atomic.SYNCFS is None, reason="no syncfs here")
def test_a_disk_error_when_drafts_are_made_durable_places_none_of_them(
    vault: Vault, monkeypatch: pytest.MonkeyPatch
) -> None:
    def syncfs(fd: int) -> None:
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    monkeypatch.setattr(syncd.edges.atomic, "syncfs", syncfs)
    drafts = Drafts(vault)
    drafts.write(vault.root / "A.md", "a")
    with pytest.raises(VaultError, match=r"cannot write in .*: Input/output error"):
        drafts.place()
    assert list(vault.root.iterdir()) == []


def test_a_full_disk_fails_the_draft_and_leaves_no_temporary_file(
    vault: Vault, monkeypatch: pytest.MonkeyPatch
) -> None:
    def write(fd: int, data: bytes) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "write", write)
    with pytest.raises(VaultError, match=r"A\.md: cannot write page: the disk is full"):
        Drafts(vault).write(vault.root / "A.md", "a")
    assert list(vault.root.iterdir()) == []


def test_a_folder_that_becomes_a_link_out_of_the_vault_is_not_written_into(
    vault: Vault, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    drafts = Drafts(vault)
    drafts.write(vault.root / "pages" / "A.md", "a")  # the folder is checked and known
    drafts.place()
    (vault.root / "pages").rename(vault.root / "old")
    (vault.root / "pages").symlink_to(outside)
    with pytest.raises(VaultError, match="outside the vault or a symlink"):
        drafts.write(vault.root / "pages" / "B.md", "b")
    with pytest.raises(VaultError, match="outside the vault or a symlink"):
        vault.write(vault.root / "pages" / "B.md", "b", None)
    assert list(outside.iterdir()) == []


def test_a_page_that_is_a_link_is_not_written(vault: Vault, tmp_path: Path) -> None:
    target = tmp_path / "target.md"
    target.write_text("theirs", encoding="utf-8")
    drafts = Drafts(vault)
    drafts.write(vault.root / "pages" / "A.md", "a")  # the folder is checked and known
    drafts.place()
    (vault.root / "pages" / "Link.md").symlink_to(target)
    with pytest.raises(VaultError, match="outside the vault or a symlink"):
        drafts.write(vault.root / "pages" / "Link.md", "ours")
    assert target.read_text(encoding="utf-8") == "theirs" and temps(vault.root) == []


def _save_by_rename(page: Path, text: str) -> None:
    """An editor's save: a file of its own beside the page, renamed over it."""
    temp = page.with_name(f".{page.name}.editor")
    temp.write_text(text, encoding="utf-8")
    os.rename(temp, page)


@pytest.mark.parametrize("saves", [1, 2, 3])
def test_a_version_renamed_over_the_page_after_the_check_ends_at_the_page(
    vault: Vault, monkeypatch: pytest.MonkeyPatch, saves: int
) -> None:
    """Issue 10, item 3: an editor renames its save over the page between syncd's check of the
    page and its exchange (and `saves - 1` times more while syncd exchanges it back): the
    newest save is the page, syncd's text is dropped, PageChanged is raised to plan again."""
    page = vault.root / "Page.md"
    page.write_text("- mine", encoding="utf-8")
    real = syncd.edges.atomic.renameat2
    versions = iter(f"- mine\n- typed {n}" for n in range(saves))

    def renameat2(source: Path, destination: Path, flags: int) -> None:
        if (version := next(versions, None)) is not None:
            _save_by_rename(page, version)
        real(source, destination, flags)

    monkeypatch.setattr(syncd.edges.atomic, "renameat2", renameat2)
    with pytest.raises(syncd.edges.atomic.PageChanged):
        vault.write(page, "- mine\n- syncd's", "- mine")
    assert page.read_text(encoding="utf-8") == f"- mine\n- typed {saves - 1}"
    assert sorted(p.name for p in vault.root.iterdir()) == ["Page.md"]


def test_a_page_deleted_after_the_check_is_not_written(
    vault: Vault, monkeypatch: pytest.MonkeyPatch
) -> None:
    page = vault.root / "Page.md"
    page.write_text("- mine", encoding="utf-8")
    real = syncd.edges.atomic.renameat2

    def renameat2(source: Path, destination: Path, flags: int) -> None:
        page.unlink(missing_ok=True)
        real(source, destination, flags)

    monkeypatch.setattr(syncd.edges.atomic, "renameat2", renameat2)
    with pytest.raises(syncd.edges.atomic.PageChanged):
        vault.write(page, "- mine\n- syncd's", "- mine")
    assert list(vault.root.iterdir()) == []


@pytest.mark.parametrize("system", ["renameat2", "link", "neither"])
def test_a_new_page_never_replaces_a_file_that_appears_at_its_path(
    vault: Vault, monkeypatch: pytest.MonkeyPatch, system: str
) -> None:
    """Issue 10, item 3: a file the user makes where syncd is about to put a new page, after
    syncd looked, is kept (atomically where the system can refuse to replace a file)."""
    page = vault.root / "New.md"
    real_renameat2, real_link = syncd.edges.atomic.renameat2, os.link

    def appears() -> None:
        if not page.exists():
            _save_by_rename(page, "- the user's")

    def renameat2(source: Path, destination: Path, flags: int) -> None:
        appears()
        if system != "renameat2":
            raise OSError(errno.EINVAL, "not supported here")
        real_renameat2(source, destination, flags)

    def link(source: Path, destination: Path) -> None:
        appears()
        if system == "neither":
            raise OSError(errno.EPERM, "no hard links here")
        real_link(source, destination)

    monkeypatch.setattr(syncd.edges.atomic, "renameat2", renameat2)
    monkeypatch.setattr(os, "link", link)
    with pytest.raises(syncd.edges.atomic.PageChanged):
        vault.write(page, "- syncd's", None)
    assert page.read_text(encoding="utf-8") == "- the user's"
    assert sorted(p.name for p in vault.root.iterdir()) == ["New.md"]


def test_without_renameat2_pages_are_still_written(
    vault: Vault, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(syncd.edges.atomic, "_RENAMEAT2", None)
    page = vault.root / "Page.md"
    vault.write(page, "- one", None)
    vault.write(page, "- one\n- two", "- one")
    assert page.read_text(encoding="utf-8") == "- one\n- two"
    with pytest.raises(syncd.edges.atomic.PageChanged):
        vault.write(page, "- three", "- one")
    assert sorted(p.name for p in vault.root.iterdir()) == ["Page.md"]


def test_a_save_landing_just_after_a_write_is_not_taken_for_it(
    vault: Vault, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An editor renames its save over the page right after syncd's write is in place: the
    write reports the stat of syncd's own file, so the save looks like a change to the next
    scan (it reported whatever was at the path, the editor's file, and the save went unseen)."""
    page = vault.root / "A.md"
    vault.write(page, "- syncd's", None)
    real_swap = syncd.edges.atomic.swap

    def swap_then_editor_saves(path: Path, temp: Path, expected: bytes | None) -> bytes | None:
        late = real_swap(path, temp, expected)
        save = path.with_name(".A.md.editor-save")
        save.write_text("- syncd's\n- typed by the user, saved by rename")
        os.rename(save, path)
        return late

    monkeypatch.setattr(syncd.edges.atomic, "swap", swap_then_editor_saves)
    written = vault.write(page, "- syncd's\n- a new highlight", "- syncd's")
    assert vault.stat(page) != (written.size, written.mtime_ns)
    assert vault.read(page).file_id != written.file_id
    assert written.size == len("- syncd's\n- a new highlight")
