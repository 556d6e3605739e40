"""Shared parts of the fault and command-line tests: a config on disk, `syncd` as a subprocess,
a library whose every highlight carries a unique marker, and the checks of what ended up in the
vault.

Every highlight's text starts with a marker `HL000123X` (fixed width, so no marker is part of
another); counting markers across every page of the vault says whether each highlight is on disk
exactly once, whatever the page looks like around it.
"""

from __future__ import annotations

import json
import os
import random
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from syncd.core.page_files import TEMP_PREFIX, TEMP_SUFFIX
from syncd.testing.fakereadwise import FakeReadwise

REPO = Path(__file__).resolve().parents[2]
TOKEN = "tok-faults-Zq8RwX1vT5pL0mN3"
MARKER = re.compile(r"HL\d{6}X")
TIMEOUT = 120  # seconds: a bound for failure only


def write_config(
    path: Path,
    server_url: str,
    vault_path: Path,
    state_dir: Path,
    *,
    token: str = TOKEN,
    mode: int = 0o600,
    **sections: Any,
) -> Path:
    """Write a config for the vault at `vault_path` served by `server_url`; `sections` are
    merged over it."""
    data: dict[str, Any] = {
        "readwise": {"token": token, "base_url": server_url},
        "vault": {"path": str(vault_path), "timezone": "UTC"},
        "state_dir": str(state_dir),
    }
    for name, value in sections.items():
        if isinstance(value, Mapping) and isinstance(data.get(name), dict):
            data[name] = {**data[name], **value}
        else:
            data[name] = value
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    path.chmod(mode)
    return path


def syncd_env(**extra: str) -> dict[str, str]:
    env = {**os.environ, "TZ": "UTC", **extra}
    for name in ("READWISE_TOKEN", "SYNCD_CONFIG", "JOURNAL_STREAM", "NOTIFY_SOCKET"):
        if name not in extra:
            env.pop(name, None)
    return env


def syncd_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "syncd", *args]


def run_syncd(
    *args: str, env: Mapping[str, str] | None = None, timeout: float = TIMEOUT
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        syncd_command(*args),
        capture_output=True,
        text=True,
        cwd=REPO,
        env=dict(env) if env is not None else syncd_env(),
        timeout=timeout,
        check=False,
    )


def status_json(config: Path) -> dict[str, Any]:
    result = run_syncd("status", "--json", "--config", str(config))
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def temp_files(root: Path) -> list[Path]:
    """syncd's temporary files anywhere under `root`."""
    return sorted(root.rglob(f"{TEMP_PREFIX}*{TEMP_SUFFIX}"))


def page_files(vault: Path) -> list[Path]:
    return sorted(p for p in vault.rglob("*.md") if p.is_file())


def markers_on_disk(vault: Path) -> Counter[str]:
    """How often each highlight marker occurs across every page of the vault."""
    counts: Counter[str] = Counter()
    for page in page_files(vault):
        counts.update(MARKER.findall(page.read_text(encoding="utf-8", errors="replace")))
    return counts


def assert_each_once(vault: Path, markers: Iterable[str]) -> None:
    """Every marker in `markers` is on disk exactly once, and no other marker is."""
    wanted = set(markers)
    counts = markers_on_disk(vault)
    missing = sorted(m for m in wanted if counts[m] == 0)
    twice = sorted(m for m, n in counts.items() if n > 1)
    unknown = sorted(set(counts) - wanted)
    assert not missing and not twice and not unknown, (
        f"missing {missing[:10]} ({len(missing)}), twice {twice[:10]} ({len(twice)}), "
        f"unexpected {unknown[:10]}"
    )


def snapshot(root: Path, *, skip: Iterable[Path] = ()) -> dict[str, tuple[int, int, bytes]]:
    """Every file and folder under `root` (not following links, leaving out `skip`) with its
    type, size and, for files, contents; for "nothing changed here" assertions."""
    skipped = {p.resolve() for p in skip}
    found: dict[str, tuple[int, int, bytes]] = {}
    for folder, dirs, files in os.walk(root):
        here = Path(folder)
        dirs[:] = [d for d in dirs if (here / d).resolve() not in skipped]
        for name in dirs + files:
            path = here / name
            st = path.lstat()
            data = path.read_bytes() if path.is_file() and not path.is_symlink() else b""
            found[str(path.relative_to(root))] = (st.st_mode, st.st_size, data)
    return found


@dataclass
class Library:
    """Books and highlights on a FakeReadwise, each highlight text starting with its marker.

    Texts vary in shape (notes, tags, several lines, a line starting with `-`, locations) so
    that pages are not all alike; a few titles are shared by two books."""

    server: FakeReadwise
    rng: random.Random
    markers: dict[int, str] = field(default_factory=dict)  # highlight id -> marker
    books: list[int] = field(default_factory=list)
    _next: int = 0

    def text(self) -> str:
        self._next += 1
        marker = f"HL{self._next:06d}X"
        shape = self.rng.randrange(6)
        words = " ".join(self.rng.choice(_WORDS) for _ in range(self.rng.randint(3, 25)))
        if shape == 0:
            return f"{marker} {words}\nand a second line\n- that starts with a dash"
        if shape == 1:
            return f"{marker} **{words}** with [a link](https://example.com/{self._next})"
        return f"{marker} {words}."

    def highlight(self) -> dict[str, Any]:
        fields: dict[str, Any] = {"text": self.text()}
        if self.rng.random() < 0.3:
            fields["note"] = "a note " + self.rng.choice(_WORDS)
        if self.rng.random() < 0.2:
            fields["tags"] = [self.rng.choice(["favorite", "idea", "to read"])]
        if self.rng.random() < 0.4:
            fields["location"] = self.rng.randint(1, 9000)
            fields["location_type"] = self.rng.choice(["location", "page", "order"])
            fields["url"] = f"https://example.com/h/{self._next}"
        return fields

    def add_books(self, books: int, per_book: int, *, title: str = "Book") -> list[int]:
        added = []
        for _ in range(books):
            n = len(self.books)
            # Every tenth book shares its title with the one before: two pages, never one.
            name = f"{title} {n - 1 if n % 10 == 9 else n}"
            record = self.server.add_book(
                title=name,
                author=f"Author {n % 7}",
                category=self.rng.choice(_CATEGORIES),
                highlights=[self.highlight() for _ in range(per_book)],
            )
            for h in record["highlights"]:
                self.markers[h["id"]] = MARKER.match(h["text"]).group(0)  # type: ignore[union-attr]
            self.books.append(record["user_book_id"])
            added.append(record["user_book_id"])
        return added

    def add_highlights(self, count: int, books: list[int] | None = None) -> list[str]:
        """Add `count` highlights spread over random books (of `books`); return their markers."""
        added = []
        for _ in range(count):
            book = self.rng.choice(books or self.books)
            record = self.server.add_highlight(book, **self.highlight())
            self.markers[record["id"]] = MARKER.match(record["text"]).group(0)  # type: ignore[union-attr]
            added.append(self.markers[record["id"]])
        return added

    def book_markers(self, book_id: int) -> list[str]:
        return [self.markers[h["id"]] for h in self.server.book(book_id)["highlights"]]


_CATEGORIES = ["books", "books", "articles", "podcasts", "tweets"]
_WORDS = (
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
