"""The search for pages that left: which folders it lists, from what the last one saw."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from syncd.edges.state import State
from syncd.edges.vault import Vault
from syncd.engine.lookout import MEMO, Lookout
from tests.support.counting_vault import CountingVault

GONE = frozenset({(1, 99)})
OLD_NS = 1_600_000_000 * 10**9  # 2020: long settled


@pytest.fixture
def state(tmp_path: Path) -> Iterator[State]:
    state = State(tmp_path / "state.db")
    yield state
    state.close()


@pytest.fixture
def vault(tmp_path: Path) -> CountingVault:
    root = tmp_path / "vault"
    for folder in ("a", "a/b", "c", ".hidden"):
        (root / folder).mkdir(parents=True)
    for page in ("a/one.md", "a/b/two.md", "c/three.md", "c/pic.png", ".hidden/no.md"):
        (root / page).write_text("x", encoding="utf-8")
    settle(root)
    return CountingVault(Vault(root))


def settle(root: Path) -> None:
    """Every folder's mtime long past (as if the vault had been still for years)."""
    for folder in [root, *(p for p in root.rglob("*") if p.is_dir())]:
        os.utime(folder, ns=(OLD_NS, OLD_NS))


def search(vault: CountingVault, state: State, gone: frozenset = GONE, known: str = "k") -> set:
    lookout = Lookout(vault, state)  # type: ignore[arg-type]
    found = {path for path, _ in lookout.pages(gone, known)}
    lookout.remember(gone, known)
    return found


def test_the_first_search_lists_every_page_then_none_until_a_folder_changes(
    vault: CountingVault, state: State
) -> None:
    assert search(vault, state) == {"a/one.md", "a/b/two.md", "c/three.md"}
    vault.reset()
    assert search(vault, state) == set()
    assert vault.counts["listed"] == 0
    (vault.root / "c" / "four.md").write_text("x", encoding="utf-8")
    assert search(vault, state) == {"c/three.md", "c/four.md"}  # that folder only


def test_a_new_folder_under_a_changed_one_is_walked(vault: CountingVault, state: State) -> None:
    search(vault, state)
    (vault.root / "a" / "b" / "new" / "newer").mkdir(parents=True)
    (vault.root / "a" / "b" / "new" / "newer" / "back.md").write_text("x", encoding="utf-8")
    assert search(vault, state) == {"a/b/two.md", "a/b/new/newer/back.md"}


def test_a_folder_renamed_is_listed_under_its_new_name(vault: CountingVault, state: State) -> None:
    search(vault, state)
    (vault.root / "a" / "b").rename(vault.root / "c" / "b2")
    assert search(vault, state) == {"a/one.md", "c/three.md", "c/b2/two.md"}


def test_more_identities_looked_for_or_other_pages_known_list_the_whole_vault(
    vault: CountingVault, state: State
) -> None:
    every = {"a/one.md", "a/b/two.md", "c/three.md"}
    search(vault, state)
    assert search(vault, state, gone=GONE | {(1, 100)}) == every
    assert search(vault, state, gone=GONE) == set()  # fewer: still described by the memo
    assert search(vault, state, known="other") == every
    state.set(MEMO, "{not json")
    assert search(vault, state, known="other") == every


def test_a_folder_changed_just_before_it_was_listed_is_listed_again(
    vault: CountingVault, state: State
) -> None:
    """A file system's clock may be coarse: a change just after the listing could leave the
    folder's stamp as it was, so a folder changed within the settle window is not trusted."""
    (vault.root / "c" / "four.md").write_text("x", encoding="utf-8")  # c: changed now
    assert search(vault, state) == {"a/one.md", "a/b/two.md", "c/three.md", "c/four.md"}
    assert search(vault, state) == {"c/three.md", "c/four.md"}
    settle(vault.root)
    search(vault, state)
    assert search(vault, state) == set()


def test_an_unreadable_folder_is_named_once_and_the_rest_listed(
    vault: CountingVault,
    state: State,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    scandir = os.scandir
    refused = str(vault.root / "a")

    def unreadable(path: str) -> object:  # as for a folder of another user (tests run as root)
        if os.path.normpath(path) == refused:
            raise PermissionError(13, "Permission denied", path)
        return scandir(path)

    monkeypatch.setattr(os, "scandir", unreadable)
    assert search(vault, state) == {"c/three.md"}
    assert {p.relative_to(vault.root).as_posix() for p in vault.pages()} == {"c/three.md"}
    warnings = [r.getMessage() for r in caplog.records if "cannot be listed" in r.getMessage()]
    assert len(warnings) == 1 and refused in warnings[0] and "Permission denied" in warnings[0]
    # Readable again (a chmod does not change its parent's stamp): listed at the next search.
    monkeypatch.setattr(os, "scandir", scandir)
    assert search(vault, state) == {"a/one.md", "a/b/two.md"}


def test_a_symlink_loop_is_not_followed(vault: CountingVault, state: State) -> None:
    (vault.root / "c" / "loop").symlink_to(vault.root / "c")
    (vault.root / "a" / "up").symlink_to(vault.root)
    assert search(vault, state) == {"a/one.md", "a/b/two.md", "c/three.md"}
    assert {p.relative_to(vault.root).as_posix() for p in vault.pages()} == {
        "a/one.md",
        "a/b/two.md",
        "c/three.md",
    }


def test_attachments_by_the_thousand_are_listed_never_stated(
    vault: CountingVault, state: State
) -> None:
    """50,000 attachments in one folder (issue 20, bad input), here 3,000: only `.md` files can
    be pages, and a page's identity comes from its listing: the search stats folders only (and
    one page a folder, to trust the listing's numbers)."""
    for n in range(3000):
        (vault.root / "c" / f"Pasted image {n}.png").write_bytes(b"png")
    settle(vault.root)
    vault.reset()
    assert search(vault, state) == {"a/one.md", "a/b/two.md", "c/three.md"}
    assert vault.counts["stat"] <= 4 + 3, vault.counts  # 4 folders, a page in each of 3
    (vault.root / "c" / "Pasted image 3000.png").write_bytes(b"png")
    vault.reset()
    assert search(vault, state) == {"c/three.md"}
    assert vault.counts["stat"] <= 4 + 1, vault.counts
