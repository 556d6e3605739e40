"""README "Choices syncd makes", bad input: every case ends with a clear message, a non-zero exit
where the command cannot do its job, no file half-written, nothing written outside the vault folder,
and the next good run completing.

Runs are in process (`syncd.cli.main`), with the client's waits recorded instead of slept and
short timeouts, so that retries cost nothing; what a run does to the disk is real.
"""

from __future__ import annotations

import errno
import json
import os
import random
import shutil
import sqlite3
import subprocess
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

import syncd.engine.wiring
from syncd.cli import main
from syncd.core.page_files import TEMP_PREFIX
from syncd.edges.readwise import ReadwiseClient, RetryPolicy
from syncd.edges.state_files import database_path
from syncd.testing.fakereadwise import FakeReadwise
from syncd.testing.faults import Fault
from tests.support.processes import (
    MARKER,
    TOKEN,
    Library,
    assert_each_once,
    markers_on_disk,
    page_files,
    snapshot,
    temp_files,
    write_config,
)

START = datetime(2024, 3, 1, 9, 0, tzinfo=timezone.utc)


class Loopback:
    """A loopback Readwise, a vault and a config; `sync()` runs `syncd sync` in process at the
    test's clock, which the server shares."""

    def __init__(
        self,
        root: Path,
        server: FakeReadwise,
        capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch,
        **config: Any,
    ) -> None:
        self.root = root
        self.server = server
        self.capsys = capsys
        self.monkeypatch = monkeypatch
        self.now = START
        server.clock = lambda: self.now  # type: ignore[method-assign]
        self.library = Library(server, random.Random(8))
        self.vault = root / "graph"
        self.vault.mkdir(exist_ok=True)
        self.state_dir = root / "state"
        self.config = write_config(
            root / "config.yaml",
            server.url,
            self.vault,
            self.state_dir,
            **{"sync": {"sync_log_page": None}, **config},
        )
        self.out = self.err = ""

    def sync(self, *args: str) -> int:
        """Run `syncd sync ARGS` an hour after the last run; keep its stdout and stderr."""
        self.now += timedelta(hours=1)
        self.monkeypatch.setenv("SYNCD_NOW", self.now.isoformat())
        self.capsys.readouterr()
        code = main(["sync", "--config", str(self.config), *args])
        self.out, self.err = self.capsys.readouterr()
        self.now += timedelta(hours=1)
        return code

    def status(self) -> dict[str, Any]:
        self.capsys.readouterr()
        assert main(["status", "--json", "--config", str(self.config)]) == 0
        return json.loads(self.capsys.readouterr().out)

    def book_pages(self) -> dict[int, set[str]]:
        """Each book's markers found on disk, by book (for "never half a page" checks)."""
        on_disk = markers_on_disk(self.vault)
        return {
            book: {m for m in self.library.book_markers(book) if on_disk[m]}
            for book in self.library.books
        }

    def assert_no_half_page(self, before: dict[int, set[str]]) -> None:
        """Every book's page holds what it held before, or all of the book's highlights."""
        assert temp_files(self.root) == []
        for book, markers in self.book_pages().items():
            assert markers in (before.get(book, set()), set(self.library.book_markers(book))), (
                book,
                markers,
            )


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The client's waits, recorded instead of slept; short timeouts, three tries."""
    waited: list[float] = []
    real = syncd.engine.wiring.make_client

    def quick(config: Any, **kwargs: Any) -> ReadwiseClient:
        return real(
            config,
            **{
                **kwargs,
                "sleep": waited.append,
                "timeout": (2.0, 0.25),
                "policy": RetryPolicy(attempts=3, rate_limit_waits=3),
            },
        )

    monkeypatch.setattr(syncd.engine.wiring, "make_client", quick)
    monkeypatch.delenv("READWISE_TOKEN", raising=False)
    monkeypatch.delenv("SYNCD_CONFIG", raising=False)
    return waited


@pytest.fixture
def loopback(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    waits: list[float],
) -> Iterator[Loopback]:
    with FakeReadwise(token=TOKEN, page_size=3) as server:
        w = Loopback(tmp_path, server, capsys, monkeypatch)
        w.library.add_books(9, 2)
        yield w


def last_line(err: str) -> str:
    return err.strip().splitlines()[-1]


# --- HTTP faults (README "Reliability") -----------------------------------------------------------

PERSISTENT = {
    "401": (lambda: Fault.status(401), 3, "refused the token"),
    "403": (lambda: Fault.status(403), 3, "refused the token"),
    "500": (lambda: Fault.status(500), 4, "HTTP 500"),
    "502": (lambda: Fault.status(502), 4, "HTTP 502"),
    "503": (lambda: Fault.status(503), 4, "HTTP 503"),
    "504": (lambda: Fault.status(504), 4, "HTTP 504"),
    "429": (lambda: Fault.retry_after(7), 4, "rate-limiting"),
    "reset": (Fault.reset, 4, "connection failed"),
    "read timeout": (Fault.hang, 4, "timed out"),
    "truncated": (Fault.truncated, 4, "Readwise unreachable"),
    "truncated, short length": (
        lambda: Fault.truncated(short_read=False),
        4,
        "invalid answer body",
    ),
    "bad json": (Fault.bad_json, 4, "invalid answer body"),
}


@pytest.mark.parametrize("kind", list(PERSISTENT))
def test_a_persistent_http_fault_mid_sync_exits_with_its_code_and_moves_nothing(
    loopback: Loopback, waits: list[float], kind: str
) -> None:
    make, code, message = PERSISTENT[kind]
    assert loopback.sync() == 0
    cursor = loopback.status()["cursor"]
    before = loopback.book_pages()
    loopback.library.add_highlights(12)
    loopback.library.add_books(2, 2)
    # The first export page of the next sync is answered; every later request fails.
    loopback.server.inject("export", make(), times=None, after=1)
    loopback.server.clear_requests()
    assert loopback.sync() == code
    assert message in last_line(loopback.err) and last_line(loopback.err).startswith("syncd: ")
    assert TOKEN not in loopback.err + loopback.out
    status = loopback.status()
    assert status["cursor"] == cursor and message in status["last_error"]
    loopback.assert_no_half_page(before)
    if code == 3:
        assert len(loopback.server.requests_to("export")) == 2  # no retry after a 401/403
    if kind == "429":
        assert waits and set(waits) == {7.0}  # Retry-After, as asked
    loopback.server.clear_faults()
    assert loopback.sync() == 0
    assert_each_once(loopback.vault, loopback.library.markers.values())
    assert loopback.status()["cursor"] != cursor


@pytest.mark.parametrize("kind", [k for k, (_, code, _) in PERSISTENT.items() if code == 4])
def test_a_passing_http_fault_is_retried_and_the_sync_completes(
    loopback: Loopback, waits: list[float], kind: str
) -> None:
    make, _, _ = PERSISTENT[kind]
    loopback.server.inject("export", make(), times=2, after=1)
    assert loopback.sync() == 0, loopback.err
    assert len(waits) == 2
    assert_each_once(loopback.vault, loopback.library.markers.values())


BAD_RECORDS = {
    "no highlights": {"user_book_id": 9001, "title": "Broken"},
    "highlights not a list": {"user_book_id": 9002, "title": "Broken", "highlights": "nope"},
    "title not a string": {"user_book_id": 9003, "title": 42, "highlights": []},
    "highlight without text": {
        "user_book_id": 9004,
        "title": "Broken",
        "highlights": [{"id": 900401, "updated_at": None}],
    },
    "highlight id not an int": {
        "user_book_id": 9005,
        "title": "Broken",
        "highlights": [{"id": "x", "text": "HL900500X"}],
    },
    "highlight text not a string": {
        "user_book_id": 9006,
        "title": "Broken",
        "highlights": [{"id": 900601, "text": ["a"]}],
    },
    # Valid JSON ("\ud800"), but not Unicode text: it cannot be written to a page.
    "lone surrogate in a highlight": {
        "user_book_id": 9007,
        "title": "Broken",
        "highlights": [{"id": 900701, "text": "HL900701X \ud800 half a character"}],
    },
    "lone surrogate in a note": {
        "user_book_id": 9008,
        "title": "Broken",
        "highlights": [{"id": 900801, "text": "HL900801X", "note": "\udc80"}],
    },
    "lone surrogate in the title": {
        "user_book_id": 9009,
        "title": "Bro\udc80ken",
        "highlights": [{"id": 900901, "text": "HL900901X"}],
    },
}


@pytest.mark.parametrize("kind", list(BAD_RECORDS))
def test_a_record_that_breaks_the_schema_fails_its_book_only(loopback: Loopback, kind: str) -> None:
    record = BAD_RECORDS[kind]
    loopback.server.put_record(record)
    assert loopback.sync() == 1
    named = f"book {record['user_book_id']}" + (
        " (Bro" if isinstance(record["title"], str) else ":"
    )
    assert named in loopback.err and "Traceback" not in loopback.err
    assert_each_once(loopback.vault, loopback.library.markers.values())  # the others synced
    status = loopback.status()
    assert status["cursor"] is not None  # moved on: the failed book is fetched again by id
    assert [(b["book_id"], b["kind"]) for b in status["books_not_synced"]] == [
        (record["user_book_id"], "failed")
    ]
    good = loopback.server.book(loopback.library.books[0])  # a well-formed record, as a model
    loopback.server.put_record(
        {
            **good,
            "user_book_id": record["user_book_id"],
            "title": "Mended",
            "highlights": [
                {
                    **good["highlights"][0],
                    "id": 777777,
                    "text": "HL777777X mended",
                    "book_id": record["user_book_id"],
                }
            ],
        }
    )
    assert loopback.sync() == 0, loopback.err
    assert_each_once(loopback.vault, [*loopback.library.markers.values(), "HL777777X"])
    assert loopback.status()["books_not_synced"] == []


# --- hostile titles -------------------------------------------------------------------------

HOSTILE_TITLES = [
    "../../etc/passwd",
    "/abs/path",
    "CON",
    "con.txt",
    "NUL",
    ".hidden",
    "..",
    ".",
    "",
    "x" * 400,
    "é" * 300,
    "nul\x00byte and\x01control\x1fchars\x7f",
    "tab\tand\nnewline",
    "a/b/c",
    "back\\slash",
    "emoji 📚🧠👩‍💻 📖",
    "עברית مرحبا \u202eevil\u202c rtl",
    "   ",
    "~",
    "$HOME",
    "%2e%2e%2fescape",
    'all:*?"<>|#^[]reserved',
]
FORMATS = {  # vault setting -> (config overrides, logseq/config.edn or None, pages folder)
    "logseq, triple-lowbar": ({}, None, "pages"),
    "logseq, legacy": ({}, '{:journal/page-title-format "MMM do, yyyy"}\n', "pages"),
    "obsidian": ({"vault": {"format": "obsidian"}}, None, "Readwise/Books"),
}


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_hostile_titles_make_pages_inside_the_pages_folder_only(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    waits: list[float],
    fmt: str,
) -> None:
    overrides, edn, folder = FORMATS[fmt]
    outside = tmp_path / "outside"
    (outside / "etc").mkdir(parents=True)
    (outside / "etc" / "passwd").write_text("root:x:0:0")
    with FakeReadwise(token=TOKEN) as server:
        root = outside / "home"
        root.mkdir()
        w = Loopback(root, server, capsys, monkeypatch, **overrides)
        if edn is not None:
            (w.vault / "logseq").mkdir()
            (w.vault / "logseq" / "config.edn").write_text(edn)
        for i, title in enumerate(HOSTILE_TITLES):
            server.add_book(
                title=title, category="books", highlights=[{"text": f"HL{i:06d}X from {title!r}"}]
            )
        around = snapshot(tmp_path, skip=[w.vault, w.state_dir])
        assert w.sync() == 0, w.err
        assert snapshot(tmp_path, skip=[w.vault, w.state_dir]) == around
        assert not Path("/abs").exists()
        pages = page_files(w.vault)
        assert {p.parent for p in pages} == {w.vault / folder}
        assert len(pages) == len(HOSTILE_TITLES)  # one page each: no two books share one
        for page in pages:
            assert len(page.name.encode()) <= 255 and not page.name.startswith(".")
            assert "/" not in page.name and "\x00" not in page.name
        markers = [f"HL{i:06d}X" for i in range(len(HOSTILE_TITLES))]
        assert_each_once(w.vault, markers)
        # Read back: the next sync finds every page again and appends to it.
        for book in range(1, len(HOSTILE_TITLES) + 1):
            server.add_highlight(book, text=f"HL{500000 + book:06d}X again")
        assert w.sync() == 0, w.err
        assert page_files(w.vault) == pages
        assert_each_once(
            w.vault, markers + [f"HL{500000 + b:06d}X" for b in range(1, len(HOSTILE_TITLES) + 1)]
        )
        assert snapshot(tmp_path, skip=[w.vault, w.state_dir]) == around


def test_a_hostile_category_does_not_lead_out_of_the_vault(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    waits: list[float],
) -> None:
    """Obsidian files books in a folder per category, and a category is data from Readwise too:
    one that is not a category syncd is set to sync never becomes a folder."""
    root = tmp_path / "home"
    root.mkdir()
    with FakeReadwise(token=TOKEN) as server:
        w = Loopback(root, server, capsys, monkeypatch, vault={"format": "obsidian"})
        server.add_book(title="Known", category="articles", highlights=[{"text": "HL000100X"}])
        for i, category in enumerate(["../../../escape", "/abs", "a/../../b", "..", ".hidden"]):
            server.add_book(
                title=f"Book {i}", category=category, highlights=[{"text": f"HL{i:06d}X"}]
            )
        around = snapshot(tmp_path, skip=[w.vault, w.state_dir])
        assert w.sync() == 0, w.err
        assert snapshot(tmp_path, skip=[w.vault, w.state_dir]) == around
        assert page_files(w.vault) == [w.vault / "Readwise" / "Articles" / "Known.md"]


# --- a full disk ----------------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 512 KiB tmpfs, where the sandbox lets us mount one (root, no container veto)."""
    mount = tmp_path / "small"
    mount.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a small file system needs root")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", str(mount)],
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(folder: Path, leave: int) -> Path:
    """Fill the file system of `folder` but for about `leave` bytes; return the filler."""
    filler = folder / "filler.bin"
    stat = os.statvfs(folder)
    with open(filler, "wb") as handle:
        handle.write(b"\0" * max(0, stat.f_bavail * stat.f_frsize - leave))
    return filler


def long_library(w: Loopback) -> None:
    """12 books of 6 long highlights: about 7 KB a page."""
    for n in range(12):
        record = w.server.add_book(
            title=f"Long {n}",
            highlights=[
                {"text": f"HL{n:03d}{i:03d}X " + "a rather long highlight " * 40} for i in range(6)
            ],
        )
        w.library.books.append(record["user_book_id"])
        w.library.markers.update({h["id"]: h["text"][:9] for h in record["highlights"]})


@pytest.mark.parametrize("how", ["small tmpfs", "injected ENOSPC"])
def test_a_full_disk_fails_clearly_writes_nothing_half_and_the_next_run_completes(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    waits: list[float],
    how: str,
) -> None:
    with FakeReadwise(token=TOKEN, page_size=4) as server:
        w = Loopback(tmp_path, server, capsys, monkeypatch)
        long_library(w)
        filler = None
        if how == "small tmpfs":
            disk = request.getfixturevalue("small_disk")
            w.vault = disk / "graph"
            w.vault.mkdir()
            w.config = write_config(
                w.config, server.url, w.vault, w.state_dir, sync={"sync_log_page": None}
            )
            filler = fill(disk, leave=40_000)  # room for a few pages, not for all
        else:
            real_write = os.write
            allowed = [3]

            def write(fd: int, data: bytes) -> int:
                if Path(os.readlink(f"/proc/self/fd/{fd}")).name.startswith(TEMP_PREFIX):
                    if allowed[0] <= 0:
                        raise OSError(errno.ENOSPC, "No space left on device")
                    allowed[0] -= 1
                return real_write(fd, data)

            monkeypatch.setattr(os, "write", write)
        code = w.sync()
        assert code in (1, 5), w.err
        assert "the disk is full" in w.err
        w.assert_no_half_page({})
        written = {m for m, n in markers_on_disk(w.vault).items() if n}
        assert len(written) < len(w.library.markers)  # the disk did fill up
        if code == 1:  # books failed alone: each is remembered, to be fetched again by id
            failed = {b["book_id"] for b in w.status()["books_not_synced"]}
            missing = set(w.library.markers.values()) - written
            for book_id in w.library.books:
                texts = [h["text"] for h in w.server.book(book_id)["highlights"]]
                if any(marker in text for marker in missing for text in texts):
                    assert book_id in failed
        if filler is not None:
            filler.unlink()
        else:
            monkeypatch.setattr(os, "write", real_write)
        assert w.sync() == 0, w.err
        assert_each_once(w.vault, w.library.markers.values())
        assert temp_files(w.vault) == []


# --- a read-only vault ----------------------------------------------------------------------


@pytest.fixture
def remount(tmp_path: Path) -> Iterator[Callable[[Path, str], None]]:
    """`remount(folder, "ro"|"rw")`: a bind mount of the folder onto itself, made read-only or
    writable again (root only: file modes do not stop root)."""
    mounted: list[Path] = []
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("a read-only bind mount needs root")

    def change(folder: Path, mode: str) -> None:
        if folder not in mounted:
            done = subprocess.run(
                ["mount", "--bind", str(folder), str(folder)], capture_output=True, check=False
            )
            if done.returncode != 0:
                pytest.skip(f"cannot bind-mount here: {done.stderr.decode().strip()}")
            mounted.append(folder)
        subprocess.run(
            ["mount", "-o", f"remount,bind,{mode}", str(folder)], check=True, capture_output=True
        )

    yield change
    for folder in mounted:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def test_a_read_only_vault_exits_5_and_the_next_run_completes(
    loopback: Loopback, remount: Callable[[Path, str], None]
) -> None:
    assert loopback.sync() == 0
    cursor = loopback.status()["cursor"]
    loopback.library.add_highlights(6)
    around = snapshot(loopback.vault)
    remount(loopback.vault, "ro")
    assert loopback.sync() == 5
    assert str(loopback.vault) in last_line(loopback.err) and "cannot be written" in loopback.err
    # issue 12, item 7: the OS's reason, and where the path is set
    assert "cannot be written: Read-only file system (set by vault.path in " in last_line(
        loopback.err
    )
    assert snapshot(loopback.vault) == around
    assert loopback.status()["cursor"] == cursor
    remount(loopback.vault, "rw")
    assert loopback.sync() == 0, loopback.err
    assert_each_once(loopback.vault, loopback.library.markers.values())


def test_a_read_only_pages_folder_fails_the_books_and_the_next_run_completes(
    loopback: Loopback, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The vault's top folder can be written, its pages cannot (injected EROFS, as a read-only
    mount inside the vault shows it; works without root)."""
    assert loopback.sync() == 0
    loopback.library.add_highlights(6)
    before = loopback.book_pages()
    real_open = os.open

    def read_only(path: Any, flags: int, *args: Any) -> int:
        if flags & (os.O_CREAT | os.O_WRONLY) and Path(path).parent.name == "pages":
            raise OSError(errno.EROFS, "Read-only file system", str(path))
        return real_open(path, flags, *args)

    monkeypatch.setattr(os, "open", read_only)
    assert loopback.sync() == 1
    assert "the vault is read-only" in loopback.err
    monkeypatch.setattr(os, "open", real_open)
    loopback.assert_no_half_page(before)
    assert loopback.sync() == 0, loopback.err
    assert_each_once(loopback.vault, loopback.library.markers.values())


# --- a corrupted state database -------------------------------------------------------------


def corrupt(path: Path, how: str) -> None:
    data = bytearray(path.read_bytes())
    rng = random.Random(how)
    if how == "garbage":
        data = bytearray(rng.randbytes(len(data)))
    elif how == "truncated":
        data = data[: len(data) // 2]
    elif how == "header":
        data[:100] = rng.randbytes(100)
    elif how == "tail":  # the highlights' pages, past what opening the database reads
        for i in range(len(data) * 3 // 4, len(data)):
            data[i] = rng.randrange(256)
    elif how == "text":
        data = bytearray(b"this is not a database\n" * 100)
    path.write_bytes(bytes(data))
    # As the world's writes do, a later tick of the file system's clock than syncd's close (a
    # write in the same millisecond can leave mtime and ctime as they were): a database changed
    # since syncd closed it is checked on opening (see `test_state`).
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))


@pytest.mark.parametrize("how", ["garbage", "truncated", "header", "tail", "text"])
def test_a_corrupt_state_database_is_moved_aside_and_rebuilt_without_duplicates(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    waits: list[float],
    how: str,
) -> None:
    with FakeReadwise(token=TOKEN, page_size=50) as server:
        w = Loopback(tmp_path, server, capsys, monkeypatch)
        w.library.add_books(100, 10)
        assert w.sync() == 0
        database = database_path(w.state_dir, w.vault)
        corrupt(database, how)
        new = w.library.add_highlights(25)
        assert w.sync() == 0, w.err
        assert "corrupt" in w.err and str(database) in w.err
        assert list(w.state_dir.glob(database.name + ".corrupt-*"))
        assert_each_once(w.vault, w.library.markers.values())
        assert len(new) == 25 and all(markers_on_disk(w.vault)[m] == 1 for m in new)
        counts = w.status()["counts"]
        assert counts["highlights"] == counts["written"] == len(w.library.markers)
        assert counts["pages"] == 100
        assert w.sync() == 0 and w.out.startswith("0 new highlights")


def test_damage_met_mid_sync_is_one_clear_line_and_the_next_sync_rebuilds(
    loopback: Loopback, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 20: the whole file is checked on opening only when it may be damaged (not closed
    cleanly, or changed since); damage the check did not run for (a disk's, under an unchanged
    file) is met mid-sync: one line naming the database, no traceback, and the next sync checks
    the file on opening."""
    from syncd.edges.state import CLOSED, State

    loopback.library.add_books(20, 5)
    assert loopback.sync() == 0
    database = database_path(loopback.state_dir, loopback.vault)
    assert Path(str(database) + CLOSED).exists()
    new = loopback.library.add_highlights(5)

    def damaged(self: State, book_id: int) -> object:
        raise sqlite3.DatabaseError("database disk image is malformed")

    with monkeypatch.context() as patched:
        patched.setattr(State, "highlights", damaged)
        assert loopback.sync() == 5
    assert "Traceback" not in loopback.err
    assert [line for line in loopback.err.splitlines() if line.startswith("syncd:")] == [
        f"syncd: the state database {database} is corrupt (database disk image is malformed); "
        "the next sync checks it, and moves it aside and rebuilds it from the vault if it is"
    ]
    assert not Path(str(database) + CLOSED).exists()  # the next open checks the whole file
    assert loopback.sync() == 0, loopback.err
    assert_each_once(loopback.vault, loopback.library.markers.values())
    assert all(markers_on_disk(loopback.vault)[m] == 1 for m in new)


def test_status_on_a_corrupt_database_says_so_and_does_not_crash(loopback: Loopback) -> None:
    loopback.library.add_books(40, 10)
    assert loopback.sync() == 0
    corrupt(database_path(loopback.state_dir, loopback.vault), "tail")
    status = loopback.status()
    assert "corrupt" in loopback.capsys.readouterr().err + str(status)
    assert loopback.sync() == 0, loopback.err
    assert_each_once(loopback.vault, loopback.library.markers.values())


@pytest.mark.parametrize("how", ["garbage", "text"])
@pytest.mark.parametrize("command", [("sync", "--dry-run"), ("history",), ("conflicts",)])
def test_reading_a_damaged_state_database_is_one_line_naming_it(
    loopback: Loopback, how: str, command: tuple[str, ...]
) -> None:
    """The commands that only read the state (a dry run, `history`, `conflicts`) open it as
    a sync would not: a file that is not a database is one line naming it and a non-zero exit,
    no traceback, and the file left for the next sync to move aside."""
    loopback.library.add_books(5, 2)
    assert loopback.sync() == 0
    database = database_path(loopback.state_dir, loopback.vault)
    corrupt(database, how)
    damaged = database.read_bytes()
    loopback.capsys.readouterr()
    assert main([*command, "--config", str(loopback.config)]) != 0
    err = loopback.capsys.readouterr().err
    assert err.splitlines()[-1] == (
        f"syncd: the state database {database} is damaged (file is not a database); a sync "
        "(not a dry run) moves it aside and rebuilds it from the vault"
    ), err
    assert "Traceback" not in err
    assert database.read_bytes() == damaged


# --- a missing or unreadable config ---------------------------------------------------------


def config_case(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str) -> Path:
    path = tmp_path / "config.yaml"
    if how == "missing":
        return path
    if how == "a folder":
        path.mkdir()
    elif how == "not UTF-8":
        path.write_bytes(b"vault:\n  path: \xff\xfe\n")
    elif how == "not YAML":
        path.write_text("vault: [unclosed\n")
    elif how == "empty":
        path.write_text("")
    elif how == "unreadable":
        path.write_text(f"readwise: {{token: {TOKEN}}}\nvault: {{path: {tmp_path}}}\n")
        path.chmod(0)
        if os.geteuid() == 0:  # root reads any file: refuse it as the kernel would
            real = Path.read_bytes

            def refused(self: Path) -> bytes:
                if self == path:
                    raise PermissionError(errno.EACCES, "Permission denied", str(self))
                return real(self)

            monkeypatch.setattr(Path, "read_bytes", refused)
    elif how == "a dangling link":
        path.symlink_to(tmp_path / "nowhere.yaml")
    return path


@pytest.mark.parametrize(
    "how",
    ["missing", "a folder", "not UTF-8", "not YAML", "empty", "unreadable", "a dangling link"],
)
@pytest.mark.parametrize("command", ["sync", "run", "status", "resync"])
def test_a_missing_or_unreadable_config_is_one_line_and_exit_2(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    how: str,
    command: str,
) -> None:
    monkeypatch.delenv("READWISE_TOKEN", raising=False)
    path = config_case(tmp_path, monkeypatch, how)
    args = [command, "--config", str(path)] + (["1"] if command == "resync" else [])
    assert main(args) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    assert str(path) in err and "Traceback" not in err and TOKEN not in err


# --- symlinks out of the vault --------------------------------------------------------------


def test_a_pages_folder_linked_out_of_the_vault_is_not_written(loopback: Loopback) -> None:
    outside = loopback.root / "elsewhere"
    outside.mkdir()
    (outside / "mine.md").write_text("- my own notes")
    (outside / f"{TEMP_PREFIX}0123456789ab.tmp").write_text("not syncd's to remove")
    (loopback.vault / "pages").symlink_to(outside, target_is_directory=True)
    around = snapshot(outside)
    assert loopback.sync() in (1, 5)
    assert snapshot(outside) == around
    assert str(loopback.vault / "pages") in loopback.err and "not written" in loopback.err
    status = loopback.status()  # every book failed alone: each is fetched again by id
    assert {b["book_id"] for b in status["books_not_synced"]} == set(loopback.library.books)
    (loopback.vault / "pages").unlink()  # the user puts the folder back
    assert loopback.sync() == 0, loopback.err
    assert_each_once(loopback.vault, loopback.library.markers.values())


def test_a_page_linked_out_of_the_vault_is_not_written(loopback: Loopback) -> None:
    assert loopback.sync() == 0
    page = page_files(loopback.vault / "pages")[0]
    outside = loopback.root / "elsewhere.md"
    shutil.copyfile(page, outside)
    page.unlink()
    page.symlink_to(outside)
    book = next(
        b
        for b in loopback.library.books
        if set(loopback.library.book_markers(b)) <= set(MARKER.findall(outside.read_text()))
    )
    loopback.library.add_highlights(2, [book])
    around = outside.read_bytes()
    assert loopback.sync() == 1
    assert outside.read_bytes() == around and page.is_symlink()
    assert str(page) in loopback.err and "not written" in loopback.err


def test_a_vault_reached_through_a_link_is_synced(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    waits: list[float],
) -> None:
    """The rule is about links out of the vault: a vault path that is itself a link (~/notes ->
    /data/notes) is the vault."""
    with FakeReadwise(token=TOKEN) as server:
        w = Loopback(tmp_path, server, capsys, monkeypatch)
        w.library.add_books(3, 2)
        real = tmp_path / "data" / "notes"
        real.parent.mkdir()
        w.vault.rename(real)
        w.vault.symlink_to(real, target_is_directory=True)
        assert w.sync() == 0, w.err
        assert_each_once(real, w.library.markers.values())
