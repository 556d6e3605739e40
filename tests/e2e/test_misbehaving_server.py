"""issue 22, class 2: a server that misbehaves is bounded. Through `syncd sync` against the
loopback Readwise with its switchable faults: the sync ends with a clear one-line error within a
bounded number of requests (or completes, where what it was served allows), nothing is lost or
written twice, the token goes nowhere else, and the next sync recovers."""

from __future__ import annotations

import random
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import requests

from syncd.testing.fakereadwise import FakeReadwise
from syncd.testing.faults import Fault
from tests.support.processes import (
    TOKEN,
    Library,
    assert_each_once,
    run_syncd,
    status_json,
    syncd_command,
    syncd_env,
    write_config,
)

BOOKS, PER_BOOK, PAGE_SIZE = 6, 3, 2
# A bound for failure only: a sync against a server in a loop on main never ended.
SUBPROCESS_TIMEOUT = 60


@dataclass
class World:
    server: FakeReadwise
    library: Library
    vault: Path
    config: Path

    def sync(self) -> tuple[int, str]:
        result = run_syncd(
            "sync", "--config", str(self.config), env=syncd_env(), timeout=SUBPROCESS_TIMEOUT
        )
        assert "Traceback" not in result.stderr, result.stderr
        assert TOKEN not in result.stderr + result.stdout
        return result.returncode, result.stderr

    def exports(self) -> int:
        return len(self.server.requests_to("export"))

    def all_once(self) -> None:
        assert_each_once(self.vault, self.library.markers.values())


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    with FakeReadwise(token=TOKEN, page_size=PAGE_SIZE) as server:
        library = Library(server, random.Random(22))
        library.add_books(BOOKS, PER_BOOK)
        vault = tmp_path / "graph"
        vault.mkdir()
        config = write_config(
            tmp_path / "config.yaml",
            server.url,
            vault,
            tmp_path / "state",
            sync={"sync_log_page": None},
        )
        yield World(server, library, vault, config)


def error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert lines, "no error shown"
    return lines[-1]


def recovers(world: World) -> None:
    """The faults gone, the next sync completes and every highlight is on disk once; one
    more highlight arrives once too."""
    world.server.clear_faults()
    code, stderr = world.sync()
    assert code == 0, stderr
    world.all_once()
    world.library.add_highlights(2)
    code, stderr = world.sync()
    assert code == 0, stderr
    world.all_once()


@pytest.mark.parametrize(
    ("fault", "after", "words"),
    [
        pytest.param(Fault.cursor_repeats(), 1, "same next-page cursor", id="cursor-repeats"),
        pytest.param(Fault.cursor_endless(), 0, "served book", id="cursor-endless"),
        pytest.param(Fault.count(-1), 1, "impossible count -1", id="count-negative"),
        pytest.param(Fault.count(10**15), 0, "impossible count", id="count-huge"),
        pytest.param(Fault.count("many"), 1, "impossible count 'many'", id="count-text"),
        pytest.param(Fault.html(), 1, "HTML page", id="html"),
    ],
)
def test_a_misbehaving_listing_ends_the_sync_with_one_clear_line(
    world: World, fault: Fault, after: int, words: str
) -> None:
    world.server.inject("export", fault, times=None, after=after)
    code, stderr = world.sync()
    assert code == 4, stderr
    assert words in error_line(stderr), stderr
    # Bounded: a few more requests than the listing's pages, never thousands (main: forever).
    assert world.exports() <= BOOKS // PAGE_SIZE + 2 * 3, world.exports()
    on_disk = world.library.markers.values()
    assert_each_once_or_absent(world.vault, on_disk)
    recovers(world)


def assert_each_once_or_absent(vault: Path, markers: Any) -> None:
    """What the failed sync wrote is there once (never twice); the rest is not there yet."""
    from tests.support.processes import markers_on_disk

    counts = markers_on_disk(vault)
    assert all(n == 1 for n in counts.values()), counts
    assert set(counts) <= set(markers)


def test_a_listing_that_never_ends_with_new_books_is_bounded_by_its_count(world: World) -> None:
    """Endless pages of books never seen, each page naming a next one: at most `count` (and a
    little slack) books, then a clear error."""
    world.server.inject("export", Fault.cursor_endless(), times=None)
    world.server.inject("export", Fault.count(3), times=None)
    code, stderr = world.sync()
    assert code == 4, stderr
    assert world.exports() <= 10, world.exports()
    recovers(world)


@pytest.mark.parametrize(
    ("books", "highlights"), [(True, False), (False, True), (True, True)], ids=str
)
def test_books_and_highlights_served_twice_are_written_once(
    world: World, books: bool, highlights: bool
) -> None:
    world.server.inject(
        "export", Fault.served_twice(books=books, highlights=highlights), times=None
    )
    code, stderr = world.sync()
    assert code == 0, stderr
    world.all_once()
    world.library.add_highlights(3)
    code, stderr = world.sync()
    assert code == 0, stderr
    world.all_once()
    recovers(world)


def test_a_listing_that_changes_between_its_pages_loses_nothing(world: World) -> None:
    """A book added while the listing is paged (its count grows between pages): the sync
    completes; the cursor stays where it was, so the next sync asks for the same span again
    and anything the changing listing skipped arrives."""
    code, stderr = world.sync()
    assert code == 0, stderr
    before = status_json(world.config)["cursor"]
    assert before is not None
    world.library.add_highlights(6)
    world.server.inject("export", Fault.count(BOOKS + 5), times=1, after=1)
    code, stderr = world.sync()
    assert code == 0, stderr
    world.all_once()
    assert "changed while" in stderr, stderr
    assert status_json(world.config).get("cursor") == before
    recovers(world)


def test_a_redirect_to_another_host_is_not_followed_and_the_token_not_sent(
    world: World,
) -> None:
    with FakeReadwise(token=TOKEN, host="127.0.0.2") as other:
        other.add_book(title="Elsewhere", highlights=[{"text": "Not yours."}])
        world.server.inject("export", Fault.redirect(other.url), times=None)
        code, stderr = world.sync()
        assert code == 4, stderr
        line = error_line(stderr)
        assert "another host" in line and "127.0.0.2" in line, stderr
        assert other.requests == [], other.requests
        # The same, to the same address on another port.
        with FakeReadwise(token=TOKEN) as third:
            world.server.clear_faults()
            world.server.inject("export", Fault.redirect(third.url), times=None)
            code, stderr = world.sync()
            assert code == 4 and "another host" in error_line(stderr), stderr
            assert third.requests == []
    assert not list(world.vault.rglob("Elsewhere*"))
    recovers(world)


def test_a_redirect_within_the_server_is_followed(world: World) -> None:
    world.server.inject("export", Fault.redirect(world.server.url), times=1)
    code, stderr = world.sync()
    assert code == 0, stderr
    world.all_once()


def test_requests_itself_strips_the_token_on_a_redirect_to_another_host() -> None:
    """What syncd no longer relies on, checked all the same: `requests` following a redirect
    to another host (127.0.0.1 -> 127.0.0.2) drops the Authorization header."""
    with (
        FakeReadwise(token=TOKEN) as here,
        FakeReadwise(token=TOKEN, host="127.0.0.2") as there,
    ):
        here.inject("export", Fault.redirect(there.url), times=1)
        response = requests.get(
            here.url + "/api/v2/export/",
            headers={"Authorization": f"Token {TOKEN}"},
            timeout=10,
        )
        assert response.status_code == 401
        assert response.json() == {"detail": "Authentication credentials were not provided."}
        assert [r.status for r in there.requests] == [401]


def test_the_daemon_survives_a_listing_in_circles_and_stops_on_sigterm(world: World) -> None:
    """`syncd run` against a server whose cursor repeats: its sync fails with the one line,
    the daemon stays up to try again later, and SIGTERM stops it (exit 0, no traceback)."""
    world.server.inject("export", Fault.cursor_repeats(), times=None, after=1)
    process = subprocess.Popen(
        syncd_command("run", "--config", str(world.config)),
        env=syncd_env(),
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    try:
        assert process.stderr is not None
        while not any("sync failed" in line for line in lines):
            line = process.stderr.readline()
            assert line and len(lines) < 2000, "".join(lines[-20:])  # main: pages forever
            lines.append(line)
        assert "same next-page cursor" in lines[-1], lines[-1]
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=SUBPROCESS_TIMEOUT) == 0
        lines += process.stderr.readlines()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    output = "".join(lines)
    assert "Traceback" not in output and TOKEN not in output, output
    assert world.exports() <= BOOKS // PAGE_SIZE + 2
    recovers(world)


def test_a_listing_that_shifts_between_its_pages_loses_no_highlight(tmp_path: Path) -> None:
    """A server paging by offset in the order of the last change: a book changed between the
    first and second page moves to the end, so it comes twice and the book after the first
    page is skipped. The sync completes; the next one brings the skipped book's highlight (on
    main the cursor moved past it: lost for good)."""
    moment = [datetime(2024, 5, 1, 9, 0, tzinfo=timezone.utc)]

    def clock() -> datetime:
        moment[0] += timedelta(seconds=1)
        return moment[0]

    with FakeReadwise(token=TOKEN, page_size=PAGE_SIZE, clock=clock) as server:
        library = Library(server, random.Random(7))
        library.add_books(BOOKS, PER_BOOK)
        vault = tmp_path / "graph"
        vault.mkdir()
        config = write_config(
            tmp_path / "config.yaml",
            server.url,
            vault,
            tmp_path / "state",
            sync={"sync_log_page": None},
        )
        world = World(server, library, vault, config)
        assert world.sync()[0] == 0
        for book in library.books:  # one new highlight each, in this order
            library.add_highlights(1, [book])
        moment[0] += timedelta(minutes=10)
        first = library.books[0]

        def change_the_first_book() -> None:
            highlight = server.book(first)["highlights"][0]["id"]
            server.update_highlight(highlight, note="changed while the listing was paged")

        server.inject("export", Fault.offset_paging(before=change_the_first_book), after=1)
        server.inject("export", Fault.offset_paging(), times=None)
        code, stderr = world.sync()
        assert code == 0, stderr
        assert "changed while" in stderr, stderr
        server.clear_faults()
        code, stderr = world.sync()
        assert code == 0, stderr
        world.all_once()
