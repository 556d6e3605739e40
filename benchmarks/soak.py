"""Soak: `syncd run` for N minutes against a fault-injecting loopback Readwise, while a simulated
user edits, deletes and renames pages and deletes blocks, and Readwise keeps adding and changing
highlights. At the end the daemon is stopped (SIGTERM: it must exit 0), a last `syncd sync` runs,
and every invariant of README "Your edits" is checked and printed, with the figures of the run.

    python -m benchmarks.soak --minutes 10 [--seed S] [--interval 5s] [--keep DIR]

Not run in CI. Exits 0 when every invariant holds, 1 otherwise.

Every highlight's text starts with a unique marker (`HL000123X`), so that counting markers in the
vault says whether a highlight is on disk exactly once, whatever the page looks like around it.
The simulated user edits as editors do: a whole-file save by writing a temporary file and
renaming it over the page, checking just before that the page did not change (else it reads
again); an added block by appending in place. A faults thread injects, on chosen requests:
429 with Retry-After, 500/502/503/504, connection resets, slow answers, truncated bodies, invalid
JSON, and records that break the schema (fixed by "Readwise" some seconds later).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from syncd.testing.fakereadwise import FakeReadwise
from syncd.testing.faults import Fault, FaultRule

REPO = Path(__file__).resolve().parents[1]
TOKEN = "soak-" + secrets.token_urlsafe(18)
MARKER = re.compile(r"HL\d{6}X")
HIGHLIGHT_LINE = re.compile(r"^\t- (HL\d{6}X)")
WORDS = (
    "walden",
    "simplify",
    "woods",
    "detail",
    "life",
    "stream",
    "time",
    "fishing",
    "pond",
    "deliberately",
    "essential",
    "morning",
    "wisdom",
    "nature",
    "solitude",
    "winter",
    "economy",
    "reading",
    "sounds",
    "neighbours",
)


# --- what the run did, and what must hold at the end ----------------------------------------


@dataclass
class Expectations:
    """Everything the vault must show at the end, kept as the run goes."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    marker_book: dict[str, int] = field(default_factory=dict)  # every highlight ever made
    highlight_marker: dict[int, str] = field(default_factory=dict)
    deleted_upstream: set[str] = field(default_factory=set)
    broken: dict[int, str] = field(default_factory=dict)  # book id -> marker, while broken
    user_deleted: set[str] = field(default_factory=set)  # highlight blocks the user deleted
    user_edited: dict[str, str] = field(default_factory=dict)  # marker -> the line as edited
    user_lines: dict[str, int] = field(default_factory=dict)  # line the user added -> book
    pages_deleted: set[int] = field(default_factory=set)
    page_of: dict[int, Path] = field(default_factory=dict)  # book -> where its page now is
    renamed: set[int] = field(default_factory=set)
    after_rename: dict[int, set[str]] = field(default_factory=dict)  # highlights added since
    retitled: dict[int, str] = field(default_factory=dict)  # book -> first line as retitled


@dataclass
class Figures:
    upstream: Counter[str] = field(default_factory=Counter)
    user: Counter[str] = field(default_factory=Counter)
    user_retries: int = 0
    faults: Counter[str] = field(default_factory=Counter)
    rules: list[tuple[str, FaultRule]] = field(default_factory=list)
    syncs: Counter[str] = field(default_factory=Counter)


# --- Readwise: upstream changes and faults --------------------------------------------------


class Upstream:
    """The library on the loopback server, changed as a Readwise user's reading changes it."""

    def __init__(
        self, server: FakeReadwise, rng: random.Random, expect: Expectations, figures: Figures
    ) -> None:
        self.server = server
        self.rng = rng
        self.expect = expect
        self.figures = figures
        self.count = 0
        self.lock = threading.Lock()
        self.books: list[int] = []

    def text(self) -> tuple[str, str]:
        with self.lock:  # the faults thread makes highlights too (mended records)
            self.count += 1
            marker = f"HL{self.count:06d}X"
        words = " ".join(self.rng.choice(WORDS) for _ in range(self.rng.randint(4, 24)))
        shape = self.rng.randrange(5)
        if shape == 0:
            return marker, f"{marker} {words}\nand a second line\n- starting with a dash"
        return marker, f"{marker} {words}."

    def highlight(self) -> tuple[str, dict[str, Any]]:
        marker, text = self.text()
        fields: dict[str, Any] = {"text": text}
        if self.rng.random() < 0.3:
            fields["note"] = "note: " + self.rng.choice(WORDS)
        if self.rng.random() < 0.2:
            fields["tags"] = [self.rng.choice(["idea", "favorite", "to read"])]
        if self.rng.random() < 0.4:
            fields.update(location=self.rng.randint(1, 9000), location_type="location")
        return marker, fields

    def _remember(self, record: dict[str, Any], markers: list[str]) -> None:
        book = record["user_book_id"]
        with self.expect.lock:
            for h, marker in zip(record["highlights"], markers, strict=True):
                self.expect.marker_book[marker] = book
                self.expect.highlight_marker[h["id"]] = marker

    def add_book(self) -> None:
        made = [self.highlight() for _ in range(self.rng.randint(1, 6))]
        n = len(self.books)
        record = self.server.add_book(
            title=f"Soak book {n}",
            author=f"Author {n % 9}",
            category=self.rng.choice(["books", "books", "articles", "podcasts"]),
            highlights=[fields for _, fields in made],
        )
        self.books.append(record["user_book_id"])
        self._remember(record, [marker for marker, _ in made])

    def add_highlight(self) -> None:
        book = self.rng.choice(self.books)
        marker, fields = self.highlight()
        record = self.server.add_highlight(book, **fields)
        with self.expect.lock:
            self.expect.marker_book[marker] = book
            self.expect.highlight_marker[record["id"]] = marker
            if book in self.expect.renamed:
                self.expect.after_rename.setdefault(book, set()).add(marker)

    def live_highlights(self) -> list[int]:
        """The highlights the server has and has not deleted."""
        with self.expect.lock:
            return [
                h
                for h, m in self.expect.highlight_marker.items()
                if m not in self.expect.deleted_upstream
            ]

    def change_highlight(self) -> None:
        live = self.live_highlights()
        if not live:
            return
        highlight = self.rng.choice(live)
        marker = self.expect.highlight_marker[highlight]
        words = " ".join(self.rng.choice(WORDS) for _ in range(self.rng.randint(4, 12)))
        self.server.update_highlight(highlight, text=f"{marker} revised: {words}.")

    def delete_highlight(self) -> None:
        live = self.live_highlights()
        if not live:
            return
        highlight = self.rng.choice(live)
        self.server.delete_highlight(highlight)
        with self.expect.lock:
            self.expect.deleted_upstream.add(self.expect.highlight_marker[highlight])

    def step(self) -> None:
        kind = self.rng.choices(
            ["add highlight", "add book", "change highlight", "delete highlight"],
            weights=[70, 10, 15, 5],
        )[0]
        {
            "add highlight": self.add_highlight,
            "add book": self.add_book,
            "change highlight": self.change_highlight,
            "delete highlight": self.delete_highlight,
        }[kind]()
        self.figures.upstream[kind] += 1


class Faults:
    """Injects a random fault on chosen requests, now and then; breaks and mends records."""

    KINDS = (
        "500",
        "502",
        "503",
        "504",
        "429",
        "reset",
        "slow",
        "truncated",
        "truncated, short length",
        "bad json",
        "broken record",
    )

    def __init__(
        self,
        server: FakeReadwise,
        rng: random.Random,
        expect: Expectations,
        figures: Figures,
        upstream: Upstream,
    ) -> None:
        self.server = server
        self.rng = rng
        self.expect = expect
        self.figures = figures
        self.upstream = upstream
        self.broken_ids: list[int] = []
        self.mend_at: list[tuple[float, int]] = []

    def fault(self, kind: str) -> Fault:
        if kind.isdigit() and kind != "429":
            return Fault.status(int(kind))
        return {
            "429": lambda: Fault.retry_after(self.rng.randint(1, 2)),
            "reset": Fault.reset,
            "slow": lambda: Fault.hang(delay=self.rng.uniform(0.5, 3)),
            "truncated": Fault.truncated,
            "truncated, short length": lambda: Fault.truncated(short_read=False),
            "bad json": Fault.bad_json,
        }[kind]()

    def step(self) -> None:
        kind = self.rng.choice(self.KINDS)
        if kind == "broken record":
            self.break_record()
        else:
            rule = self.server.inject(
                "export",
                self.fault(kind),
                times=self.rng.randint(1, 2),
                after=self.rng.randint(0, 2),
            )
            self.figures.rules.append((kind, rule))
        self.mend(due_only=True)

    def break_record(self) -> None:
        # Well past every id in use: the server gives new books the next id after the highest.
        book = max([*self.upstream.books, *self.broken_ids]) + 1000
        self.broken_ids.append(book)
        broken: dict[str, object] = self.rng.choice(
            [
                {"title": "Broken", "highlights": "not a list"},
                {"title": 42, "highlights": []},
                {"title": "Broken", "highlights": [{"id": "x"}]},
            ]
        )
        self.server.put_record({"user_book_id": book, **broken})
        self.figures.faults["broken record"] += 1
        self.mend_at.append((time.monotonic() + self.rng.uniform(5, 20), book))

    def mend(self, *, due_only: bool) -> None:
        """Readwise fixes the broken records (those due, or all)."""
        now = time.monotonic()
        for when, book in list(self.mend_at):
            if due_only and when > now:
                continue
            self.mend_at.remove((when, book))
            marker, fields = self.upstream.highlight()
            highlight_id = book * 10
            record = {
                "user_book_id": book,
                "title": f"Mended {book}",
                "readable_title": f"Mended {book}",
                "author": "",
                "source": "api",
                "cover_image_url": "",
                "unique_url": None,
                "summary": "",
                "book_tags": [],
                "category": "books",
                "document_note": "",
                "readwise_url": "",
                "source_url": None,
                "asin": None,
                "is_deleted": False,
                "highlights": [
                    {
                        "id": highlight_id,
                        "text": fields["text"],
                        "location": None,
                        "location_type": "order",
                        "note": "",
                        "color": "",
                        "highlighted_at": None,
                        "created_at": None,
                        "updated_at": None,
                        "external_id": None,
                        "end_location": None,
                        "url": None,
                        "book_id": book,
                        "tags": [],
                        "is_favorite": False,
                        "is_discard": False,
                        "is_deleted": False,
                        "readwise_url": "",
                    }
                ],
            }
            self.server.put_record(record)
            with self.expect.lock:  # not one Upstream changes: the server keeps it raw
                self.expect.marker_book[marker] = book


# --- the simulated user ---------------------------------------------------------------------


class User:
    """Edits the pages syncd wrote, as a person in Logseq or an editor does."""

    def __init__(
        self, vault: Path, pages: Path, rng: random.Random, expect: Expectations, figures: Figures
    ) -> None:
        self.vault = vault
        self.pages = pages
        self.rng = rng
        self.expect = expect
        self.figures = figures
        self.n = 0

    def book_pages(self) -> dict[int, Path]:
        """The pages the user can tell apart: those holding a highlight of a book."""
        found: dict[int, Path] = {}
        for path in self.vault.rglob("*.md"):
            if path.name.startswith(".") or "logseq" in path.relative_to(self.vault).parts:
                continue
            try:
                text = path.read_text(encoding="utf-8", errors="replace")
            except FileNotFoundError:
                continue
            with self.expect.lock:
                books = {self.expect.marker_book.get(m) for m in MARKER.findall(text)}
            books.discard(None)
            if len(books) == 1:
                found[books.pop()] = path  # type: ignore[index]
        return found

    def rewrite(self, path: Path, change: Callable[[str], str | None]) -> bool:
        """Save the page as an editor does: write a temporary file, check the page did not
        change meanwhile (else read it again), rename over it."""
        for _ in range(5):
            try:
                before = path.read_bytes()
            except FileNotFoundError:
                return False
            after = change(before.decode("utf-8", "surrogateescape"))
            if after is None:
                return False
            temp = path.with_name(f".user-{secrets.token_hex(4)}.tmp")
            temp.write_bytes(after.encode("utf-8", "surrogateescape"))
            try:
                if path.read_bytes() == before:
                    os.replace(temp, path)
                    return True
            except FileNotFoundError:
                return False
            finally:
                temp.unlink(missing_ok=True)
            self.figures.user_retries += 1
        return False

    def edit_block(self, book: int, path: Path) -> bool:
        self.n += 1
        edited: dict[str, str] = {}

        def change(text: str) -> str | None:
            lines = text.split("\n")
            with self.expect.lock:
                choices = [
                    i
                    for i, line in enumerate(lines)
                    if (m := HIGHLIGHT_LINE.match(line))
                    and m.group(1) not in self.expect.user_edited
                ]
            if not choices:
                return None
            i = self.rng.choice(choices)
            lines[i] = lines[i] + f" ✎{self.n}"
            edited.clear()
            edited[HIGHLIGHT_LINE.match(lines[i]).group(1)] = lines[i]  # type: ignore[union-attr]
            return "\n".join(lines)

        if not self.rewrite(path, change):
            return False
        with self.expect.lock:
            self.expect.user_edited.update(edited)
        return True

    def delete_block(self, book: int, path: Path) -> bool:
        deleted: list[str] = []

        def change(text: str) -> str | None:
            lines = text.split("\n")
            starts = [i for i, line in enumerate(lines) if HIGHLIGHT_LINE.match(line)]
            if not starts:
                return None
            i = self.rng.choice(starts)
            end = i + 1
            while end < len(lines) and (
                lines[end].startswith("\t\t")
                or (lines[end].startswith("\t ") and not lines[end].startswith("\t- "))
            ):
                end += 1
            deleted[:] = MARKER.findall("\n".join(lines[i:end]))
            return "\n".join(lines[:i] + lines[end:])

        if not self.rewrite(path, change):
            return False
        with self.expect.lock:
            for marker in deleted:
                self.expect.user_deleted.add(marker)
                self.expect.user_edited.pop(marker, None)
        return True

    def append_block(self, book: int, path: Path) -> bool:
        self.n += 1
        line = f"- my own note {self.n} on this book"
        try:
            fd = os.open(path, os.O_WRONLY | os.O_APPEND)
        except FileNotFoundError:
            return False
        try:
            os.write(fd, ("\n" + line).encode())
        finally:
            os.close(fd)
        with self.expect.lock:
            self.expect.user_lines[line] = book
        return True

    def rename_page(self, book: int, path: Path) -> bool:
        self.n += 1
        if self.rng.random() < 0.5:
            target = path.with_name(f"{path.stem} renamed {self.n}.md")
        else:
            target = self.vault / "moved" / path.name
            target.parent.mkdir(exist_ok=True)
            if target.exists():
                return False
        try:
            path.rename(target)
        except FileNotFoundError:
            return False
        with self.expect.lock:
            self.expect.page_of[book] = target
            self.expect.renamed.add(book)
        return True

    def retitle_page(self, book: int, path: Path) -> bool:
        self.n += 1
        first: list[str] = []

        def change(text: str) -> str | None:
            head, _, rest = text.partition("\n")
            if not head.startswith("title:: ") or book in self.expect.retitled:
                return None
            first[:] = [f"{head} (mine {self.n})"]
            return first[0] + "\n" + rest

        if not self.rewrite(path, change):
            return False
        with self.expect.lock:
            self.expect.retitled[book] = first[0]
        return True

    def delete_page(self, book: int, path: Path) -> bool:
        try:
            path.unlink()
        except FileNotFoundError:
            return False
        with self.expect.lock:
            self.expect.pages_deleted.add(book)
            self.expect.page_of.pop(book, None)
        return True

    def step(self) -> None:
        pages = self.book_pages()
        with self.expect.lock:
            for book, path in pages.items():
                self.expect.page_of.setdefault(book, path)
        if not pages:
            return
        book, path = self.rng.choice(sorted(pages.items()))
        kind = self.rng.choices(
            [
                "edit block",
                "delete block",
                "add block",
                "rename page",
                "retitle page",
                "delete page",
            ],
            weights=[25, 20, 35, 10, 5, 5],
        )[0]
        action = {
            "edit block": self.edit_block,
            "delete block": self.delete_block,
            "add block": self.append_block,
            "rename page": self.rename_page,
            "retitle page": self.retitle_page,
            "delete page": self.delete_page,
        }[kind]
        if action(book, path):
            self.figures.user[kind] += 1


# --- the daemon -----------------------------------------------------------------------------


def notify_reader(sock: socket.socket, figures: Figures, stop: threading.Event) -> None:
    sock.settimeout(0.5)
    while not stop.is_set():
        try:
            message = sock.recv(65536).decode(errors="replace")
        except TimeoutError:
            continue
        except OSError:
            return
        for line in message.split("\n"):
            if line.startswith("STATUS=last sync failed"):
                figures.syncs["failed"] += 1
            elif line.startswith("STATUS=last sync"):
                figures.syncs["ok"] += 1
            elif line == "READY=1":
                figures.syncs["ready"] += 1


def every(
    stop: threading.Event,
    rng: random.Random,
    low: float,
    high: float,
    step: Callable[[], None],
    errors: list[BaseException],
) -> threading.Thread:
    def loop() -> None:
        while not stop.wait(rng.uniform(low, high)):
            try:
                step()
            except Exception as error:  # a bug in the soak itself: reported at the end
                errors.append(error)

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    return thread


# --- the checks -----------------------------------------------------------------------------


@dataclass
class Check:
    name: str
    checks: int
    failures: list[str]

    @property
    def ok(self) -> bool:
        return not self.failures


def check_vault(vault: Path, expect: Expectations) -> list[Check]:
    files = {
        p: p.read_text(encoding="utf-8", errors="replace")
        for p in vault.rglob("*.md")
        if not p.name.startswith(".") and "logseq" not in p.relative_to(vault).parts
    }
    counts: Counter[str] = Counter()
    holders: dict[int, set[Path]] = {}
    for path, text in files.items():
        for marker in MARKER.findall(text):
            counts[marker] += 1
            book = expect.marker_book.get(marker)
            if book is not None:
                holders.setdefault(book, set()).add(path)
    results = []

    temps = sorted(str(p.relative_to(vault)) for p in vault.rglob(".syncd-*.tmp"))
    results.append(Check("no temporary file left", 1, temps))

    twice = sorted(m for m, n in counts.items() if n > 1)
    results.append(Check("no highlight twice", len(counts), twice))

    expected = {
        m
        for m, b in expect.marker_book.items()
        if m not in expect.user_deleted
        and b not in expect.pages_deleted
        and m not in expect.deleted_upstream
    }

    def where(marker: str) -> str:
        book = expect.marker_book[marker]
        page = expect.page_of.get(book)
        return (
            f"{marker}: {counts[marker]} times; book {book}, page "
            f"{page.relative_to(vault) if page else 'never seen'}"
            f"{' (renamed)' if book in expect.renamed else ''}"
        )

    lost = sorted(where(m) for m in expected if counts[m] != 1)
    results.append(Check("nothing lost: every highlight on disk exactly once", len(expected), lost))
    upstream_deleted = [m for m in expect.deleted_upstream if counts[m] > 1]
    results.append(
        Check(
            "highlights deleted in Readwise kept, at most once",
            len(expect.deleted_upstream),
            upstream_deleted,
        )
    )

    back = sorted(m for m in expect.user_deleted if counts[m])
    results.append(Check("blocks the user deleted stay deleted", len(expect.user_deleted), back))

    all_text = "\n".join(files.values()).split("\n")
    lines = Counter(all_text)
    edits = {
        m: line
        for m, line in expect.user_edited.items()
        if expect.marker_book[m] not in expect.pages_deleted
    }
    lost_edits = sorted(m for m, line in edits.items() if lines[line] != 1)
    results.append(Check("the user's edits intact", len(edits), lost_edits))

    added = {line: b for line, b in expect.user_lines.items() if b not in expect.pages_deleted}
    lost_lines = sorted(line for line in added if lines[line] != 1)
    results.append(Check("the user's own blocks intact", len(added), lost_lines))

    recreated = sorted(str(b) for b in expect.pages_deleted if b in holders)
    results.append(
        Check("pages the user deleted not re-created", len(expect.pages_deleted), recreated)
    )

    second = sorted(
        f"book {b}: {sorted(str(p.relative_to(vault)) for p in paths)}"
        for b, paths in holders.items()
        if len(paths) > 1
    )
    results.append(Check("no second page for a book", len(holders), second))

    renamed = [b for b in expect.renamed if b not in expect.pages_deleted]
    misplaced = []
    followed = 0
    for book in renamed:
        page = expect.page_of[book]
        text = files.get(page, "")
        for marker in expect.after_rename.get(book, set()) & expected:
            followed += 1
            if marker not in text:
                misplaced.append(f"{marker} not in {page.relative_to(vault)}")
        if holders.get(book, {page}) != {page}:
            misplaced.append(f"book {book} not only in {page.relative_to(vault)}")
    results.append(
        Check(
            f"renamed or moved pages received new highlights ({followed} added after a rename)",
            len(renamed) + followed,
            misplaced,
        )
    )

    titles = {b: t for b, t in expect.retitled.items() if b not in expect.pages_deleted}
    lost_titles = sorted(
        str(b) for b, t in titles.items() if files.get(expect.page_of[b], "").split("\n", 1)[0] != t
    )
    results.append(Check("new title:: lines kept", len(titles), lost_titles))
    return results


# --- the run --------------------------------------------------------------------------------


def syncd(
    *args: str, env: dict[str, str], timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "syncd", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def soak(minutes: float, seed: int, interval: str, root: Path) -> int:
    rng = random.Random(seed)
    expect, figures = Expectations(), Figures()
    vault, state = root / "graph", root / "state"
    vault.mkdir(parents=True)
    (vault / "logseq").mkdir()
    (vault / "logseq" / "config.edn").write_text(
        '{:file/name-format :triple-lowbar\n :journal/page-title-format "MMM do, yyyy"}\n'
    )
    config = root / "config.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "readwise": {"token": TOKEN},
                "vault": {"path": str(vault)},
                "state_dir": str(state),
                "sync": {"interval": interval},
                "log_level": "info",
            }
        )
    )
    config.chmod(0o600)
    env = {**os.environ, "TZ": "UTC"}
    for name in ("READWISE_TOKEN", "SYNCD_CONFIG", "SYNCD_NOW", "JOURNAL_STREAM"):
        env.pop(name, None)
    errors: list[BaseException] = []
    with FakeReadwise(token=TOKEN, page_size=25) as server:
        data = yaml.safe_load(config.read_text())
        data["readwise"]["base_url"] = server.url
        config.write_text(yaml.safe_dump(data))
        upstream = Upstream(server, random.Random(rng.random()), expect, figures)
        for _ in range(40):
            upstream.add_book()
        faults = Faults(server, random.Random(rng.random()), expect, figures, upstream)
        user = User(vault, vault / "pages", random.Random(rng.random()), expect, figures)

        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(str(root / "notify.sock"))
        stop_reader = threading.Event()
        reader = threading.Thread(
            target=notify_reader, args=(sock, figures, stop_reader), daemon=True
        )
        reader.start()
        log_path = root / "daemon.log"
        with open(log_path, "w") as log:
            daemon = subprocess.Popen(
                [sys.executable, "-m", "syncd", "run", "--config", str(config)],
                cwd=REPO,
                env={**env, "NOTIFY_SOCKET": str(root / "notify.sock")},
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        started = time.monotonic()
        print(
            f"soak: {minutes:g} min, seed {seed}, daemon interval {interval}, in {root}", flush=True
        )
        stop = threading.Event()
        threads = [
            every(stop, random.Random(rng.random()), 0.3, 2.0, upstream.step, errors),
            every(stop, random.Random(rng.random()), 0.3, 1.5, user.step, errors),
            every(stop, random.Random(rng.random()), 4.0, 12.0, faults.step, errors),
        ]
        deadline = started + minutes * 60
        next_report = started + 60
        while time.monotonic() < deadline and daemon.poll() is None:
            time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))
            if time.monotonic() >= next_report:
                next_report += 60
                print(
                    f"  {(time.monotonic() - started) / 60:4.1f} min: "
                    f"{len(server.requests)} requests, {sum(figures.user.values())} user "
                    f"edits, {figures.syncs['ok']} syncs ok, {figures.syncs['failed']} "
                    f"failed",
                    flush=True,
                )
        stop.set()
        for thread in threads:
            thread.join()
        crashed = daemon.poll()

        # The end: Readwise mends what it broke; the daemon is stopped; a last sync runs.
        faults.mend(due_only=False)
        server.clear_faults()
        for kind, rule in figures.rules:
            figures.faults[kind] += rule.fired
        stopping = time.monotonic()
        daemon.send_signal(signal.SIGTERM)
        try:
            code = daemon.wait(timeout=60)
        except subprocess.TimeoutExpired:
            daemon.kill()
            code = daemon.wait()
        stop_seconds = time.monotonic() - stopping
        stop_reader.set()
        reader.join()
        sock.close()
        final = syncd("sync", "--json", "--config", str(config), env=env)
        status = syncd("status", "--json", "--config", str(config), env=env)
        requests = server.requests

    daemon_log = log_path.read_text(errors="replace")
    results = check_vault(vault, expect)
    results += [
        Check(
            f"daemon ran all along and exited 0 on SIGTERM ({stop_seconds:.1f} s)",
            1,
            []
            if crashed is None and code == 0 and stop_seconds <= 10
            else [f"crashed={crashed} exit={code}"],
        ),
        Check(
            "no traceback in the daemon's log",
            1,
            ["Traceback"] if "Traceback" in daemon_log else [],
        ),
        Check(
            "the token in no log, output or state file",
            1,
            []
            if TOKEN not in daemon_log + final.stdout + final.stderr + status.stdout
            and not any(TOKEN.encode() in p.read_bytes() for p in state.rglob("*") if p.is_file())
            else ["token shown"],
        ),
        Check(
            "the final sync completed (exit 0)",
            1,
            [] if final.returncode == 0 else [final.stderr.strip()[-500:]],
        ),
        Check("the soak itself ran without error", 1, [repr(e) for e in errors]),
    ]
    report(minutes, results, figures, requests, expect, final, status, vault)
    return 0 if all(r.ok for r in results) else 1


def report(
    minutes: float,
    results: list[Check],
    figures: Figures,
    requests: list[Any],
    expect: Expectations,
    final: subprocess.CompletedProcess[str],
    status: subprocess.CompletedProcess[str],
    vault: Path,
) -> None:
    def counted(counter: Counter[str]) -> str:
        return ", ".join(f"{k} {v}" for k, v in sorted(counter.items(), key=lambda kv: -kv[1]) if v)

    answered = Counter(str(r.status) if r.fault is None else r.fault for r in requests)
    print(f"\nsoak of {minutes:g} min done")
    print(f"requests served:    {len(requests)} ({counted(answered)})")
    print(
        f"faults injected:    {sum(figures.faults.values())} answered with a fault "
        f"({counted(figures.faults)})"
    )
    print(f"upstream changes:   {sum(figures.upstream.values())} ({counted(figures.upstream)})")
    print(
        f"user edits made:    {sum(figures.user.values())} ({counted(figures.user)}; "
        f"{figures.user_retries} saves retried because syncd wrote first)"
    )
    print(
        f"daemon syncs:       {figures.syncs['ok']} ok, {figures.syncs['failed']} failed "
        "and retried"
    )
    with contextlib.suppress(ValueError):
        print(f"final sync:         {json.loads(final.stdout)['summary']}")
    with contextlib.suppress(ValueError, KeyError):
        counts = json.loads(status.stdout)["counts"]
        print(
            f"syncd status:       {counts['books']} books, {counts['pages']} pages, "
            f"{counts['highlights']} highlights ({counts['written']} as written, "
            f"{counts['edited']} edited, {counts['deleted']} deleted by the user, "
            f"{counts['conflict']} conflicts), {counts['deleted_pages']} pages deleted"
        )
    print("invariants (the promises in the README):")
    for result in results:
        print(f"  {'PASS' if result.ok else 'FAIL'}  {result.name}  [{result.checks} checked]")
        for failure in result.failures[:10]:
            print(f"          {failure}")
    held = sum(r.ok for r in results)
    checks = sum(r.checks for r in results)
    on_disk = sum(
        1
        for m, b in expect.marker_book.items()
        if m not in expect.user_deleted
        and b not in expect.pages_deleted
        and m not in expect.deleted_upstream
    )
    print(
        f"invariants checked: {len(results)} ({checks} checks); {held} hold"
        + ("" if held == len(results) else f", {len(results) - held} FAIL")
    )
    lost = next(r for r in results if r.name.startswith("nothing lost"))
    print(
        f"nothing lost:       {'yes' if lost.ok else 'NO'}: {on_disk - len(lost.failures)} "
        f"of {on_disk} expected highlights on disk exactly once, in "
        f"{len(list(vault.rglob('*.md')))} pages"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.soak",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--interval", default="5s", help="the daemon's sync.interval")
    parser.add_argument(
        "--keep",
        metavar="DIR",
        type=Path,
        help="run in DIR and keep it (default: a temporary folder, removed)",
    )
    args = parser.parse_args(argv)
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=False)
        return soak(args.minutes, args.seed, args.interval, args.keep)
    with tempfile.TemporaryDirectory(prefix="syncd-soak-") as root:
        return soak(args.minutes, args.seed, args.interval, Path(root))


if __name__ == "__main__":
    raise SystemExit(main())
