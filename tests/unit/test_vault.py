"""The vault's writes of new pages: drafts made durable together, then put in place."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

import syncd
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


def test_a_page_on_a_file_system_without_extended_attributes_is_written_as_any_other(
    vault: Vault, monkeypatch: pytest.MonkeyPatch
) -> None:
    page = vault.root / "A.md"
    page.write_text("- one", encoding="utf-8")
    page.chmod(0o600)

    def no_xattrs(*args: object, **kwargs: object) -> list[str]:
        raise OSError(errno.ENOTSUP, os.strerror(errno.ENOTSUP))

    monkeypatch.setattr(os, "listxattr", no_xattrs)
    vault.write(page, "- one\n- two", "- one")
    assert page.read_text(encoding="utf-8") == "- one\n- two"
    assert page.stat().st_mode & 0o777 == 0o600


def test_an_extended_attribute_that_cannot_be_kept_is_named_and_the_page_written(
    vault: Vault, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    page = vault.root / "A.md"
    page.write_text("- one", encoding="utf-8")
    os.setxattr(page, "user.color", b"red")

    def refused(*args: object, **kwargs: object) -> None:
        raise OSError(errno.EPERM, os.strerror(errno.EPERM))

    monkeypatch.setattr(os, "setxattr", refused)
    vault.write(page, "- one\n- two", "- one")
    assert page.read_text(encoding="utf-8") == "- one\n- two"
    assert f"{page}: not kept: user.color" in caplog.text


def test_a_file_system_without_modes_still_gets_its_pages_written(
    vault: Vault, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """FAT, exFAT, some network mounts: chmod fails; every file has the mount's mode."""
    page = vault.root / "A.md"
    page.write_text("- one", encoding="utf-8")

    def refused(*args: object) -> None:
        raise OSError(errno.EPERM, os.strerror(errno.EPERM))

    monkeypatch.setattr(os, "fchmod", refused)
    vault.write(page, "- one\n- two", "- one")
    assert page.read_text(encoding="utf-8") == "- one\n- two"
    assert f"{page}: not kept: mode 0644" in caplog.text


def as_nobody(folder: Path, code: str) -> subprocess.CompletedProcess[str]:
    """Run `code` (Python, `vault` bound to a Vault of `folder`) as the unprivileged user
    nobody: mode bits stop nobody where they do not stop root (tests run as root)."""
    setpriv = shutil.which("setpriv")
    if os.geteuid() != 0 or setpriv is None:
        pytest.skip("needs root and setpriv to act as another user")
    program = (
        "from pathlib import Path\nfrom syncd.edges.vault import Vault\n"
        "from syncd.errors import VaultError\n"
        f"vault = Vault(Path({str(folder)!r}))\n" + code
    )
    # A copy of the package nobody may read: the checkout may be in a folder only root reaches
    # (a clone made by `mktemp -d` is 0700).
    code = Path(tempfile.mkdtemp(prefix="syncd-code-"))
    try:
        code.chmod(0o755)
        package = Path(syncd.__file__).parent
        shutil.copytree(package, code / "syncd", ignore=shutil.ignore_patterns("__pycache__"))
        nobody = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"]
        return subprocess.run(
            [*nobody, sys.executable, "-c", program],
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONPATH": str(code)},
            timeout=60,
            check=False,
        )
    finally:
        shutil.rmtree(code)


@pytest.fixture
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A vault folder another user may reach and write in (pytest's own is root's alone)."""
    folder = Path(tempfile.mkdtemp(prefix="syncd-vault-"))
    folder.chmod(0o777)
    yield folder
    shutil.rmtree(folder)


def test_a_page_this_user_cannot_read_is_named_with_its_mode(shared: Path) -> None:
    page = shared / "A.md"
    page.write_text("- one", encoding="utf-8")
    page.chmod(0)
    done = as_nobody(
        shared,
        f"try:\n    vault.read(Path({str(page)!r}))\n"
        "except VaultError as error:\n    print(error)\n",
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"{page}: cannot be read: permission denied (mode 0000)"


def test_a_page_whose_owner_cannot_be_kept_is_left_alone(shared: Path) -> None:
    page = shared / "A.md"
    page.write_text("- one", encoding="utf-8")
    page.chmod(0o666)  # root's, and nobody may write it: but a rewrite would be nobody's
    done = as_nobody(
        shared,
        f"try:\n    vault.write(Path({str(page)!r}), '- two', '- one')\n"
        "except VaultError as error:\n    print(error)\n",
    )
    assert done.returncode == 0, done.stderr
    assert "owned by uid 0, group 0" in done.stdout and "left alone" in done.stdout
    assert page.read_text(encoding="utf-8") == "- one" and page.stat().st_uid == 0
    assert [p.name for p in shared.iterdir()] == ["A.md"]


def test_a_page_another_user_owns_is_left_alone_naming_both(shared: Path) -> None:
    page = shared / "A.md"
    page.write_text("- one", encoding="utf-8")  # root's, 0644: nobody may not write it
    done = as_nobody(
        shared,
        f"try:\n    vault.write(Path({str(page)!r}), '- two', '- one')\n"
        "except VaultError as error:\n    print(error)\n",
    )
    assert done.returncode == 0, done.stderr
    assert "this user (uid 65534) may not write the page (uid 0's, mode 0644)" in done.stdout
    assert page.read_text(encoding="utf-8") == "- one"


def test_a_page_on_a_read_only_file_system_says_the_vault_is_read_only(vault: Vault) -> None:
    page = vault.root / "A.md"
    page.write_text("- one", encoding="utf-8")
    if os.geteuid() != 0:
        pytest.skip("a read-only bind mount needs root")
    bind = subprocess.run(["mount", "--bind", str(vault.root), str(vault.root)], check=False)
    if bind.returncode != 0:
        pytest.skip("no bind mount here")
    try:
        remount = ["mount", "-o", "remount,ro,bind", str(vault.root)]
        if subprocess.run(remount, check=False).returncode != 0:
            pytest.skip("no read-only remount here")
        with pytest.raises(VaultError, match="cannot write page: the vault is read-only"):
            vault.write(page, "- one\n- two", "- one")
    finally:
        subprocess.run(["umount", str(vault.root)], check=True)
    assert page.read_text(encoding="utf-8") == "- one"


def test_what_an_editor_appended_in_place_meanwhile_goes_back_in_the_pages_line_endings(
    vault: Vault, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An editor appended a line in place into a CRLF page while syncd replaced it: the line is
    put back on a line of its own, after a CRLF (an LF would have made the page mixed, and
    syncd would never write it again), and the page keeps its mode."""
    page = vault.root / "A.md"
    page.write_bytes(b"- one\r\n- two")
    page.chmod(0o600)
    real_swap = syncd.edges.atomic.swap

    def swap_while_the_editor_appends(path: Path, temp: Path, expected: bytes | None) -> bytes:
        late = real_swap(path, temp, expected)
        assert late is not None
        return late + b"- typed"  # into the file replaced, still open in the editor

    monkeypatch.setattr(syncd.edges.atomic, "swap", swap_while_the_editor_appends)
    with pytest.raises(syncd.edges.atomic.PageChanged):
        vault.write(page, "- one\n- two\n- three", "- one\n- two")
    assert page.read_bytes() == b"- one\r\n- two\r\n- three\r\n- typed"
    assert page.stat().st_mode & 0o777 == 0o600


def test_drafts_renamed_into_place_are_not_removed_again(
    vault: Vault, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 20: every draft's temporary file was unlinked after its rename (a failing system
    call per new page of a first sync); only those left (refused, or linked) are."""
    removed: list[str] = []
    real_unlink = Path.unlink

    def unlink(path: Path, missing_ok: bool = False) -> None:
        removed.append(path.name)
        real_unlink(path, missing_ok=missing_ok)

    monkeypatch.setattr(Path, "unlink", unlink)
    drafts = Drafts(vault)
    taken = drafts.write(vault.root / "Taken.md", "syncd's")
    for name in ("A", "B", "C"):
        drafts.write(vault.root / f"{name}.md", name)
    taken.path.write_text("the user's", encoding="utf-8")
    assert drafts.place() == [taken]
    assert removed == [taken.temp.name]  # the refused draft's, alone
    assert temps(vault.root) == []
    assert taken.path.read_text(encoding="utf-8") == "the user's"
