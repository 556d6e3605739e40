"""Crash safety (README "Your edits"): `syncd sync` killed with SIGKILL at any instant leaves every
highlight on disk exactly once after the next run, no temporary file behind, and `syncd status` in
line with the vault.

Two ways of choosing the instant:
- seeded-random: the process is killed at the k-th file-system event (inotify, through watchdog)
  in the vault or the state folder, k drawn at random over the work left, so the kills land
  anywhere: fetching, writing a temporary file, renaming, committing state, writing the sync log;
- deterministic: a wrapper (`tests.support.crashpoint`) kills it right after a chosen step of a
  page write: temporary file made durable, page renamed into place, state transaction done.
"""

from __future__ import annotations

import itertools
import os
import random
import re
import signal
import subprocess
import threading
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers.inotify import InotifyObserver

from syncd.testing.fakereadwise import FakeReadwise
from tests.support.processes import (
    MARKER,
    REPO,
    TIMEOUT,
    TOKEN,
    Library,
    assert_each_once,
    markers_on_disk,
    page_files,
    run_syncd,
    status_json,
    syncd_command,
    syncd_env,
    temp_files,
    write_config,
)

SEED = int(os.environ.get("SYNCD_CRASH_SEED", "20240917"))
KILLS = 30  # at least this many runs end by SIGKILL
KILLS_PER_ROUND = 8
MIN_ROUNDS = 4  # round 0: the first sync of 1,000 highlights; then incremental syncs
EVENTS_PER_PAGE = 10  # about what one page write shows to inotify (temp, write, rename, state)

pytestmark = pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs Linux")


class KillAtEvent(FileSystemEventHandler):
    """Kills the process at the `at`-th file-system event seen."""

    def __init__(self, at: int) -> None:
        self.at = at
        self.seen = 0
        self.process: subprocess.Popen[str] | None = None
        self.lock = threading.Lock()

    def on_any_event(self, event: FileSystemEvent) -> None:
        with self.lock:
            self.seen += 1
            self._maybe_kill()

    def attach(self, process: subprocess.Popen[str]) -> None:
        with self.lock:
            self.process = process
            self._maybe_kill()

    def _maybe_kill(self) -> None:
        if self.process is not None and self.seen >= self.at and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)


def sync_killed_at_event(config: Path, at: int, watched: list[Path]) -> tuple[int, str]:
    """Run `syncd sync`, killing it at the `at`-th event under `watched`; return its exit status
    (-9 when killed) and stderr."""
    handler = KillAtEvent(at)
    observer = InotifyObserver()
    for folder in watched:
        observer.schedule(handler, str(folder), recursive=True)
    observer.start()
    try:
        process = subprocess.Popen(
            syncd_command("sync", "--config", str(config)),
            cwd=REPO,
            env=syncd_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        handler.attach(process)
        _, stderr = process.communicate(timeout=TIMEOUT)
    finally:
        observer.stop()
        observer.join()
    return process.returncode, stderr


def books_behind(vault: Path, library: Library) -> int:
    """How many books have a highlight not yet on disk."""
    on_disk = markers_on_disk(vault)
    return sum(
        1 for book in library.books if any(on_disk[m] == 0 for m in library.book_markers(book))
    )


def told_in_sync_log(vault: Path) -> int:
    """The highlights the sync log page tells of, summed over its lines."""
    log = (vault / "pages" / "Readwise.md").read_text(encoding="utf-8")
    return sum(int(n) for n in re.findall(r"Readwise synced (\d+) highlights? from", log))


def check_vault(vault: Path, config: Path, library: Library) -> None:
    assert_each_once(vault, library.markers.values())
    # Every highlight on disk told of exactly once by the sync log (issue 10, item 10).
    assert told_in_sync_log(vault) == sum(markers_on_disk(vault).values())
    assert temp_files(vault) == []
    # One page per book (no second page after a crash), and the sync log page.
    pages = page_files(vault / "pages")
    assert len(pages) == len(library.books) + 1, [p.name for p in pages]
    status = status_json(config)
    counts = status["counts"]
    assert counts["highlights"] == counts["written"] == len(library.markers), counts
    assert counts["pages"] == counts["books"] == len(library.books), counts
    assert counts["deleted"] == counts["edited"] == counts["conflict"] == 0, counts
    assert counts["deleted_pages"] == 0 and status["last_error"] is None, status


def test_sigkill_at_random_moments_leaves_every_highlight_on_disk_once(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    vault, state = tmp_path / "graph", tmp_path / "state"
    vault.mkdir()
    state.mkdir()
    with FakeReadwise(token=TOKEN, page_size=10) as server:
        library = Library(server, rng)
        library.add_books(100, 10)
        config = write_config(
            tmp_path / "config.yaml",
            server.url,
            vault,
            state,
            sync={"sync_log_page": "Readwise"},
            log_level="warning",
        )
        kills = rounds = 0
        seen: Counter[str] = Counter()
        while rounds < MIN_ROUNDS or kills < KILLS:
            assert rounds < 3 * MIN_ROUNDS, f"only {kills} of {rounds * KILLS_PER_ROUND} killed"
            if rounds:  # an incremental sync: new highlights in old books, and new books
                library.add_highlights(rng.randint(20, 80))
                library.add_books(rng.randint(1, 3), rng.randint(1, 6), title=f"Round {rounds}")
            for _ in range(KILLS_PER_ROUND):
                at = rng.randint(1, EVENTS_PER_PAGE * books_behind(vault, library) + 40)
                code, stderr = sync_killed_at_event(config, at, [vault, state])
                if code == -signal.SIGKILL:
                    kills += 1
                    seen["temporary file left"] += bool(temp_files(vault))
                else:
                    assert code == 0, stderr
                    seen["finished before the kill"] += 1
            result = run_syncd("sync", "--config", str(config))
            assert result.returncode == 0, result.stderr
            check_vault(vault, config, library)
            rounds += 1
        assert kills >= KILLS, seen
    assert len(library.markers) > 1000


@pytest.mark.parametrize("step", ["durable", "replace", "commit"])
def test_a_crash_at_each_step_of_a_page_write_is_repaired_by_the_next_run(
    tmp_path: Path, step: str
) -> None:
    rng = random.Random(SEED)
    vault, state = tmp_path / "graph", tmp_path / "state"
    vault.mkdir()
    with FakeReadwise(token=TOKEN, page_size=4) as server:
        library = Library(server, rng)
        library.add_books(12, 3)
        config = write_config(
            tmp_path / "config.yaml", server.url, vault, state, sync={"sync_log_page": "Readwise"}
        )

        def crash_at(n: int) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [
                    *syncd_command()[:2],
                    "tests.support.crashpoint",
                    step,
                    str(n),
                    "--",
                    "sync",
                    "--config",
                    str(config),
                ],
                cwd=REPO,
                env=syncd_env(),
                capture_output=True,
                text=True,
                timeout=TIMEOUT,
                check=False,
            )

        for n in (1, 3):  # the first sync (three batches of new pages), killed at two of them
            assert crash_at(n).returncode == -signal.SIGKILL
            if step == "durable":
                assert temp_files(vault)  # the crash left some behind...
        assert run_syncd("sync", "--config", str(config)).returncode == 0
        check_vault(vault, config, library)  # ...and the next run removed it

        library.add_highlights(9, library.books[:4])
        assert crash_at(2).returncode == -signal.SIGKILL  # an incremental sync, mid-way
        assert run_syncd("sync", "--config", str(config)).returncode == 0
        check_vault(vault, config, library)


def test_a_temporary_file_next_to_a_page_the_user_moved_is_removed(tmp_path: Path) -> None:
    """The user moved a page into another folder; a crash while syncd appended to it there
    leaves the temporary file in that folder, and the next run removes it."""
    vault, state = tmp_path / "graph", tmp_path / "state"
    vault.mkdir()
    with FakeReadwise(token=TOKEN) as server:
        library = Library(server, random.Random(SEED))
        [book] = library.add_books(1, 2)
        config = write_config(
            tmp_path / "config.yaml", server.url, vault, state, sync={"sync_log_page": None}
        )
        assert run_syncd("sync", "--config", str(config)).returncode == 0
        [page] = page_files(vault / "pages")
        (vault / "reading").mkdir()
        page.rename(vault / "reading" / page.name)
        library.add_highlights(1, [book])
        crashed = subprocess.run(
            [
                *syncd_command()[:2],
                "tests.support.crashpoint",
                "durable",
                "1",
                "--",
                "sync",
                "--config",
                str(config),
            ],
            cwd=REPO,
            env=syncd_env(),
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )
        assert crashed.returncode == -signal.SIGKILL
        assert [p.parent.name for p in temp_files(vault)] == ["reading"]
        result = run_syncd("sync", "--config", str(config))
        assert result.returncode == 0, result.stderr
        assert temp_files(vault) == []
        assert_each_once(vault, library.markers.values())
        assert [p.relative_to(vault).as_posix() for p in page_files(vault)] == [
            f"reading/{page.name}"
        ]


def test_a_crash_in_an_obsidian_first_sync_leaves_nothing_behind(tmp_path: Path) -> None:
    """New Obsidian pages go into category folders syncd has no page in yet: a crash there
    leaves temporary files that the next run still finds and removes."""
    vault, state = tmp_path / "vault", tmp_path / "state"
    vault.mkdir()
    with FakeReadwise(token=TOKEN) as server:
        library = Library(server, random.Random(SEED))
        library.add_books(3, 2)
        config = write_config(
            tmp_path / "config.yaml",
            server.url,
            vault,
            state,
            vault={"path": str(vault), "format": "obsidian", "timezone": "UTC"},
            sync={"sync_log_page": None},
        )
        crashed = subprocess.run(
            [
                *syncd_command()[:2],
                "tests.support.crashpoint",
                "durable",
                "1",
                "--",
                "sync",
                "--config",
                str(config),
            ],
            cwd=REPO,
            env=syncd_env(),
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )
        assert crashed.returncode == -signal.SIGKILL
        folders = {p.parent.relative_to(vault).parent.as_posix() for p in temp_files(vault)}
        assert folders == {"Readwise"}  # in Readwise/Books, Readwise/Articles, ...
        result = run_syncd("sync", "--config", str(config))
        assert result.returncode == 0, result.stderr
        assert temp_files(vault) == []
        assert_each_once(vault, library.markers.values())
        assert len(page_files(vault)) == 3


def kill_rounds(
    config: Path, step: str, library: Library, now: list[datetime], *, check: Callable[[], None]
) -> int:
    """Round after round: kill a sync at the n-th occurrence of `step` (n = 1, 2, ...), let the
    next sync finish and `check` the vault, then add books and highlights and move Readwise's
    clock on; until a sync ends before its n-th `step`. Return how many syncs were killed."""
    for n in itertools.count(1):
        crashed = subprocess.run(
            [
                *syncd_command()[:2],
                "tests.support.crashpoint",
                step,
                str(n),
                "--",
                "sync",
                "--config",
                str(config),
            ],
            cwd=REPO,
            env=syncd_env(),
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )
        result = run_syncd("sync", "--config", str(config))
        assert result.returncode == 0, result.stderr
        check()
        if crashed.returncode != -signal.SIGKILL:
            assert crashed.returncode == 0, crashed.stderr
            return n - 1
        now[0] += timedelta(minutes=10)  # each round's sync fetches little but its own
        library.add_books(2, 2, title=f"Round {n}")
        library.add_highlights(3, library.books[:3])
    raise AssertionError("unreachable")


@pytest.mark.parametrize("step", ["replace", "commit"])
def test_the_sync_log_tells_each_highlight_once_whatever_step_a_kill_hits(
    tmp_path: Path, step: str
) -> None:
    """Issue 10, item 10: a kill between a page put in place and the transaction recording it
    (or between the sync log's line and forgetting what it told) made the log undercount (or
    overcount). Each round adds new books and highlights in old ones, kills the sync at the
    n-th occurrence of `step` (n = 1, 2, ... until the sync ends first), lets the next sync
    finish, and checks that the log's total is the number of highlights on disk."""
    rng = random.Random(SEED)
    vault, state = tmp_path / "graph", tmp_path / "state"
    vault.mkdir()
    now = [datetime(2024, 9, 17, tzinfo=timezone.utc)]  # Readwise's clock, moved by rounds
    with FakeReadwise(token=TOKEN, page_size=2, clock=lambda: now[0]) as server:
        library = Library(server, rng)
        library.add_books(3, 2)
        config = write_config(
            tmp_path / "config.yaml",
            server.url,
            vault,
            state,
            sync={"sync_log_page": "Readwise"},
            log_level="warning",
        )
        kills = kill_rounds(
            config, step, library, now, check=lambda: check_vault(vault, config, library)
        )
        assert kills >= 3


def told_per_book_in_obsidian_log(vault: Path) -> tuple[int, Counter[str]]:
    """Obsidian's `Readwise Syncs.md`: the highlights its entries tell of in all, and per book
    title (its `    - N highlights from Title` lines)."""
    log = (vault / "Readwise" / "Readwise Syncs.md").read_text(encoding="utf-8")
    total = sum(int(n) for n in re.findall(r"— Synced (\d+) highlights? from", log))
    per_book: Counter[str] = Counter()
    for n, title in re.findall(r"^    - (\d+) highlights from (.*)$", log, re.M):
        per_book[title] += int(n)
    return total, per_book


@pytest.mark.parametrize("step", ["replace", "commit"])
def test_obsidian_sync_log_names_each_book_s_highlights_once_whatever_step_a_kill_hits(
    tmp_path: Path, step: str
) -> None:
    """Issue 10, item 10 with issue 11's Obsidian log: the per-book lines of `Readwise
    Syncs.md` are settled after a kill as the totals are, so a kill between a page put in place
    (or the log's entry) and the transaction recording it neither drops nor repeats a book's
    line: per title, the lines add up to the highlights on its pages."""
    rng = random.Random(SEED)
    vault, state = tmp_path / "vault", tmp_path / "state"
    vault.mkdir()
    now = [datetime(2024, 9, 17, tzinfo=timezone.utc)]
    with FakeReadwise(token=TOKEN, page_size=2, clock=lambda: now[0]) as server:
        library = Library(server, rng)
        library.add_books(3, 2)
        config = write_config(
            tmp_path / "config.yaml",
            server.url,
            vault,
            state,
            vault={"path": str(vault), "format": "obsidian", "timezone": "UTC"},
            sync={"sync_log_page": "Readwise"},
            log_level="warning",
        )

        def check() -> None:
            assert_each_once(vault, library.markers.values())
            on_pages: Counter[str] = Counter()
            for page in page_files(vault):
                if page.name != "Readwise Syncs.md":
                    text = page.read_text(encoding="utf-8")
                    title = text.split("\n", 1)[0].removeprefix("# ")
                    on_pages[title] += len(MARKER.findall(text))
            total, per_book = told_per_book_in_obsidian_log(vault)
            assert total == sum(on_pages.values())
            assert per_book == on_pages

        assert kill_rounds(config, step, library, now, check=check) >= 3
