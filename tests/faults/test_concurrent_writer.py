"""README "Your edits", "the user (or Logseq) writes the file while syncd writes it".

- Another process appends to every page each time syncd starts writing one
  (`tests.support.appender`), while `syncd sync` appends new highlights to the same pages. When
  both are done, every line the other process wrote is still there, once, and every highlight is
  on disk exactly once.
- The narrowest case, made to happen in process: an editor opened the page just before syncd
  renamed its new text over it, and writes just after, into the file that was replaced."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

import syncd.edges.atomic
import syncd.edges.vault
from syncd.core.page_files import TEMP_PREFIX
from syncd.testing.fakereadwise import FakeReadwise
from tests.support.appender import line
from tests.support.harness import Harness, harness
from tests.support.processes import (
    REPO,
    TIMEOUT,
    TOKEN,
    Library,
    assert_each_once,
    page_files,
    run_syncd,
    temp_files,
    write_config,
)

BOOKS = 30
ROUNDS = 5


def test_a_concurrent_writer_loses_no_line_and_no_highlight_is_doubled(tmp_path: Path) -> None:
    rng = random.Random(5)
    vault, state = tmp_path / "graph", tmp_path / "state"
    vault.mkdir()
    with FakeReadwise(token=TOKEN, page_size=5) as server:
        library = Library(server, rng)
        library.add_books(BOOKS, 3)
        config = write_config(
            tmp_path / "config.yaml", server.url, vault, state, sync={"sync_log_page": None}
        )
        assert run_syncd("sync", "--config", str(config)).returncode == 0
        pages = page_files(vault / "pages")
        assert len(pages) == BOOKS
        typed: list[tuple[Path, str]] = []
        for round_ in range(ROUNDS):
            for book in library.books:
                library.add_highlights(2, [book])
            tag = f"typed-in-round-{round_}"
            writer = subprocess.Popen(
                [sys.executable, "-m", "tests.support.appender", str(vault / "pages"), tag],
                cwd=REPO,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            assert writer.stdout is not None and writer.stdin is not None
            try:
                assert writer.stdout.readline().strip() == "ready"
                sync = run_syncd("sync", "--config", str(config))
                passes, _ = writer.communicate("stop\n", timeout=TIMEOUT)
            finally:
                if writer.poll() is None:
                    writer.kill()
            assert writer.returncode == 0 and int(passes) > 0
            # Exit 1 is allowed: a page that kept changing through every retry is left for the
            # next sync (and named on stderr); the cursor does not move past it.
            assert sync.returncode in (0, 1), sync.stderr
            if sync.returncode == 1:
                assert "kept changing" in sync.stderr, sync.stderr
            typed += [
                (page, line(tag, p, i)) for p in range(int(passes)) for i, page in enumerate(pages)
            ]
        final = run_syncd("sync", "--config", str(config))
        assert final.returncode == 0, final.stderr

    texts = {page: page.read_text(encoding="utf-8").split("\n") for page in pages}
    lost = [
        (page.name, line_, texts[page].count(line_))
        for page, line_ in typed
        if texts[page].count(line_) != 1
    ]
    assert not lost, f"{len(lost)} of {len(typed)} typed lines lost or doubled: {lost[:5]}"
    assert_each_once(vault, library.markers.values())
    assert page_files(vault / "pages") == pages and temp_files(vault) == []
    assert len(library.markers) == BOOKS * (3 + 2 * ROUNDS)


def walden_with_one_more_highlight(h: Harness) -> Path:
    """Sync Walden with one highlight, then add a second in Readwise an hour later; return the
    page, which the next sync appends to."""
    h.server.add_book(title="Walden", highlights=[{"text": "HL000001X Simplify."}])
    h.sync()
    [name] = h.page_names()
    h.now += timedelta(hours=1)
    h.server.add_highlight(1, text="HL000002X I went to the woods.")
    h.now += timedelta(hours=1)
    return h.pages / name


@pytest.mark.parametrize("rename", ["exchange", "replace"])
@pytest.mark.parametrize("how", ["append", "rewrite"])
def test_bytes_written_into_a_page_while_syncd_replaces_it_are_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str, rename: str
) -> None:
    """`rename`: the page is exchanged with syncd's file (Linux's renameat2), or, where that is
    not to be had, replaced by it (os.replace)."""
    with harness(tmp_path) as h:
        page = walden_with_one_more_highlight(h)
        before = page.read_text(encoding="utf-8")
        typed = "\n- typed while syncd wrote"
        if how == "append":  # Logseq adding a block at the end
            flags, data = os.O_APPEND, typed
        else:  # an editor saving the whole file in place, one highlight edited
            flags, data = os.O_TRUNC, before.replace("Simplify.", "Simplify! (mine)") + typed
        interleaved = []

        def write_around(source: Any, destination: Any, rename_it: Callable[[], None]) -> None:
            if Path(source).name.startswith(TEMP_PREFIX) and not interleaved:
                interleaved.append(destination)
                fd = os.open(destination, os.O_WRONLY | flags)  # opened before the rename...
                rename_it()
                os.write(fd, data.encode())  # ...written after it, into the replaced file
                os.close(fd)
            else:
                rename_it()

        if rename == "exchange":
            real_renameat2 = syncd.edges.atomic.renameat2

            def renameat2(source: Path, destination: Path, flags: int) -> None:
                write_around(
                    source, destination, lambda: real_renameat2(source, destination, flags)
                )

            monkeypatch.setattr(syncd.edges.atomic, "renameat2", renameat2)
        else:
            real_replace = os.replace
            monkeypatch.setattr(syncd.edges.atomic, "_RENAMEAT2", None)
            monkeypatch.setattr(
                os,
                "replace",
                lambda source, destination: write_around(
                    source, destination, lambda: real_replace(source, destination)
                ),
            )
        report = h.sync()
        monkeypatch.undo()
        text = page.read_text(encoding="utf-8")
    assert interleaved == [page]
    assert text.count(typed) == 1, text
    assert text.count("HL000001X") == text.count("HL000002X") == 1, text
    assert not report.failed
    if how == "rewrite":
        assert "HL000001X Simplify! (mine)" in text
    else:
        assert text.startswith(before)
    assert temp_files(h.vault) == []


@pytest.mark.parametrize("how", ["deleted", "moved"])
def test_a_page_the_user_deletes_or_moves_while_syncd_writes_it_is_not_recreated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    with harness(tmp_path) as h:
        page = walden_with_one_more_highlight(h)
        moved = h.vault / "archive" / page.name
        real_fsync = os.fsync
        done = []

        def fsync(fd: int) -> None:
            real_fsync(fd)
            if Path(os.readlink(f"/proc/self/fd/{fd}")).name.startswith(TEMP_PREFIX) and not done:
                done.append(fd)  # syncd has read and planned the page: now the user acts
                if how == "deleted":
                    page.unlink()
                else:
                    moved.parent.mkdir()
                    page.rename(moved)

        monkeypatch.setattr(os, "fsync", fsync)
        report = h.sync()
        monkeypatch.undo()
        assert done and not report.failed
        assert not page.exists()
        if how == "deleted":
            assert page_files(h.vault) == [] and report.outcome.kept_out == 1
            assert h.sync().outcome.new == 0 and page_files(h.vault) == []
        else:
            assert page_files(h.vault) == [moved]
            assert_each_once(h.vault, ["HL000001X", "HL000002X"])
