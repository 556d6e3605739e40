"""Issue 20's targets, each a ratio measured in one run, for this code beside the previous release.

    python -m benchmarks.run [--scale small|full] [--previous REV|none] [--only noop]
                             [--source] [--dir DIR] [--keep]

Both releases are measured in the same run, on the same libraries and vaults made alike: the
previous release's tree is `git archive REV` unpacked in a temporary folder, and each syncd
process imports its release's `syncd` (PYTHONPATH) under the same probe (`benchmarks/probe.py`
run as a script: CPU time, peak memory, the daemon's readiness and idle memory).

Per release, in Obsidian vaults (pages in `Readwise/Books`, `Readwise/Articles`, ...):
- `pages`: the library's pages only: first sync (against a plain write-and-fsync loop of the same
  bytes to as many files: every page under `Readwise/`, the sync log page too; the state
  database's size against those pages' bytes), no-op syncs, new highlights;
- `few pages`: a library a tenth the size: no-op syncs (the no-op must not grow with pages);
- `real vault`: the same library beside the user's notes (`syncd.testing.user_notes`: seeded,
  folders, 2 KB notes, one attachment per five notes, half of them in one folder): no-op syncs,
  new highlights; then the user deletes a page, moves one into a folder of theirs and renames
  one, each followed by the sync that sees it and five later syncs;
- the daemon (`syncd run` as built by the command) on the real vault and on the few pages: time
  to start watching, idle memory, each save's time to reconciliation past the debounce.
- `syncd --help` (`python -m syncd --help`), the least of ten (wall and CPU time: on a loaded
  machine a process waits for a core; the no-op and `--help` are set against each other in both).
- Two floors (`benchmarks.floors`), shown beside the targets they are under: a process that only
  imports requests, against `--help` (no no-op can cost less); a process that only downloads and
  parses the export, against the plain loop (no first sync can cost less, unless the download
  overlaps the writes).

The machine is shared: every small sync's figure is the least of several runs (five no-ops,
three new highlights, five syncs after each change), the run least disturbed by others.

Scales: `small` (default: 1,000 books of 10 highlights, 100 for `few pages`, 10,000 notes of the
user's) and `full` (the issue's: 10,000 books, 1,000, 100,000 notes). `--only noop`: the no-op
and one-highlight figures alone (the first syncs they need, no plain loop, no vault of the
user's notes, no daemon): a few minutes at full scale.

Each release's package is compiled to bytecode first (`compileall`, beside its sources), as
`pip install` leaves an installed syncd: this machine sets `PYTHONDONTWRITEBYTECODE`, so
otherwise every process measured, the no-op and `syncd --help` alike, compiles every module it
imports from source. `--source` measures without it, the bytecode removed first (the header
line says which).
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks import floors
from syncd.testing.user_notes import write_user_notes

REPO = Path(__file__).resolve().parent.parent
PROBE = REPO / "benchmarks" / "probe.py"
PREVIOUS = "db499a2"  # the release before issue 20
BOOKS_FOLDER = "Readwise/Books"
PAGES_FOLDER = "Readwise"  # every page syncd writes (Obsidian's default), its sync log page too


@dataclass(frozen=True)
class Scale:
    books: int
    few: int
    notes: int
    saves: int


SCALES = {
    "small": Scale(books=1_000, few=100, notes=10_000, saves=10),
    "full": Scale(books=10_000, few=1_000, notes=100_000, saves=20),
}


@dataclass(frozen=True)
class Code:
    """A release of syncd: the folder its `syncd` package is imported from."""

    name: str
    tree: Path

    def env(self) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("READWISE_TOKEN", "SYNCD_NOW", "SYNCD_CONFIG", "PYTHONPATH")
        }
        env["PYTHONPATH"] = str(self.tree)
        return env


def compile_bytecode(code: Code) -> None:
    """Compile `code`'s package to bytecode beside its sources, as `pip install` does: this
    machine sets `PYTHONDONTWRITEBYTECODE`, so without it every process (the no-op sync and
    `syncd --help` alike) compiles every module it imports from source, which an installed
    syncd never does. The processes measured still write none (the environment is kept)."""
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(code.tree / "syncd")],
        env=code.env(),
        check=True,
        capture_output=True,
    )


def remove_bytecode(code: Code) -> None:
    """Remove the bytecode of `code`'s package (its `__pycache__` folders), so that every
    process measured compiles syncd's modules from source (with `PYTHONDONTWRITEBYTECODE`, as
    this machine sets it, none writes any)."""
    for cache in sorted((code.tree / "syncd").rglob("__pycache__")):
        shutil.rmtree(cache)


def previous_tree(rev: str, into: Path) -> Path:
    """The tree of `rev` (this repository's history), unpacked into `into`."""
    archive = into / "previous.tar"
    with open(archive, "wb") as out:
        subprocess.run(["git", "-C", str(REPO), "archive", rev], stdout=out, check=True)
    tree = into / "previous"
    tree.mkdir()
    with tarfile.open(archive) as tar:
        tar.extractall(tree, filter="data")
    archive.unlink()
    return tree


@dataclass
class Vault:
    root: Path
    server: Any

    def __post_init__(self) -> None:
        self.path = self.root / "vault"
        self.path.mkdir(parents=True)
        self.config = self.root / "config.yaml"
        self.state = self.root / "state"
        self.config.write_text(
            json.dumps(
                {
                    "readwise": {
                        "token": self.server.info["token"],
                        "base_url": self.server.info["url"],
                    },
                    "vault": {"path": str(self.path), "timezone": "UTC", "format": "obsidian"},
                    "state_dir": str(self.state),
                }
            ),
            encoding="utf-8",
        )
        self.config.chmod(0o600)

    @property
    def books(self) -> Path:
        return self.path / BOOKS_FOLDER

    def pages(self) -> list[Path]:
        return sorted(self.books.rglob("*.md"))

    def written(self) -> list[Path]:
        """Every page syncd wrote (books, articles, tweets, ..., the sync log page): what the
        plain loop writes again and the state database is measured against."""
        return sorted((self.path / PAGES_FOLDER).rglob("*.md"))

    def state_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.state.rglob("*") if p.is_file())


@dataclass
class Sync:
    wall: float
    figures: dict[str, Any]
    report: dict[str, Any]


def sync(code: Code, vault: Vault) -> Sync:
    os.sync()
    time.sleep(0.5)  # what earlier steps wrote lands before, not during, the sync
    out = vault.root / "figures.json"
    command = [sys.executable, str(PROBE), "sync", "--out", str(out), "--"]
    command += ["sync", "--json", "--config", str(vault.config)]
    started = time.perf_counter()
    done = subprocess.run(
        command, cwd=vault.root, env=code.env(), capture_output=True, text=True, check=False
    )
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{code.name}: syncd sync failed: {done.stderr[-2000:]}")
    report = json.loads(done.stdout.strip().splitlines()[-1])
    return Sync(wall, json.loads(out.read_text(encoding="utf-8")), report)


def syncs(code: Code, vault: Vault, n: int = 5) -> float:
    """The least of `n` syncs' wall times: the machine is shared, and the least disturbed run
    is the one that tells what the sync costs."""
    return min(sync(code, vault).wall for _ in range(n))


def least_syncs(code: Code, vault: Vault, n: int = 5) -> tuple[float, float]:
    """The least wall time and the least CPU time (user + system) of `n` syncs."""
    runs = [sync(code, vault) for _ in range(n)]
    return min(r.wall for r in runs), min(r.figures["cpu_s"] for r in runs)


def _least_noop(fig: dict[str, float], code: Code, vault: Vault, n: int) -> None:
    wall, cpu = least_syncs(code, vault, n)
    fig["noop"] = min(fig.get("noop", wall), wall)
    fig["noop_cpu"] = min(fig.get("noop_cpu", cpu), cpu)


def one_highlight(code: Code, vault: Vault, server: Any, n: int = 3) -> float:
    """The least of `n` syncs each bringing one new highlight (to the library's median book)."""
    walls = []
    for _ in range(n):
        server.ask(cmd="add_highlight", book_id=server.info["median_book"]["id"])
        walls.append(sync(code, vault).wall)
    return min(walls)


def plain_loop(pages: list[Path], folder: Path) -> float:
    """Write and fsync every page's bytes to as many new files in a fresh folder."""
    contents = [path.read_bytes() for path in pages]
    folder.mkdir()
    os.sync()
    started = time.perf_counter()
    for i, data in enumerate(contents):
        with open(folder / f"{i}.md", "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    return time.perf_counter() - started


def daemon(code: Code, vault: Vault, saves: int) -> dict[str, Any]:
    out = vault.root / "latency.json"
    command = [sys.executable, str(PROBE), "latency", "--out", str(out)]
    command += ["--config", str(vault.config), "--saves", str(saves)]
    command += ["--pages-folder", BOOKS_FOLDER]
    subprocess.run(
        command, cwd=vault.root, env=code.env(), check=True, capture_output=True, text=True
    )
    return json.loads(out.read_text(encoding="utf-8"))


def help_figures(code: Code, cwd: Path, runs: int = 10) -> tuple[float, float]:
    """The least wall time and the least CPU time (user + system) of `runs` runs of
    `python -m syncd --help`."""
    times, cpus = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "syncd", "--help"],
            cwd=cwd,
            env=code.env(),
            capture_output=True,
            check=True,
        )
        times.append(time.perf_counter() - started)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return min(times), min(cpus)


def measure(
    code: Code,
    scale: Scale,
    main: Any,
    few: Any,
    root: Path,
    say: Callable[[str], None],
    only: str | None = None,
) -> dict[str, float]:
    """Every figure of the issue's targets for one release (see the module's doc)."""
    fig: dict[str, float] = {}
    root.mkdir()

    pages = Vault(root / "pages", main)
    first = sync(code, pages)
    written = pages.written()
    fig["first_wall"] = first.wall
    fig["first_cpu"] = first.figures["cpu_s"]
    fig["first_peak_mb"] = first.figures["peak_mib"] * 1.048576
    fig["page_bytes"] = sum(p.stat().st_size for p in written)
    fig["state_bytes"] = pages.state_bytes()
    if only is None:
        fig["plain_loop"] = plain_loop(written, root / "plain-loop")
        fig["download"] = floors.download(code.env(), REPO, main.info["url"], main.info["token"])
    say(f"{code.name}: first sync {first.wall:.1f} s, plain loop {fig.get('plain_loop', 0):.1f} s")
    _least_noop(fig, code, pages, 5)
    fig["one"] = one_highlight(code, pages, main)

    small = Vault(root / "few", few)
    sync(code, small)
    fig["noop_few"] = syncs(code, small)
    if only == "noop":
        _least_noop(fig, code, pages, 3)
        _start_figures(fig, code, root)
        say(f"{code.name}: no-op {fig['noop']:.2f} s, a tenth of the pages {fig['noop_few']:.2f} s")
        return fig

    real = Vault(root / "real", main)
    started = time.perf_counter()
    made = write_user_notes(real.path, scale.notes, folders=max(3, scale.notes // 300))
    say(
        f"{code.name}: {scale.notes:,} notes of the user's in {time.perf_counter() - started:.1f} s"
    )
    sync(code, real)
    fig["noop_real"] = syncs(code, real)
    fig["one_real"] = one_highlight(code, real, main)
    sync(code, pages)  # the pages-only vault catches up (its no-op, again, beside)
    _least_noop(fig, code, pages, 3)
    say(f"{code.name}: no-op {fig['noop']:.2f} s, beside the notes {fig['noop_real']:.2f} s")

    kept = real.pages()
    notes_folder = real.path / made.folders[1]
    for what, act in (
        ("delete", lambda: kept[0].unlink()),
        ("move", lambda: kept[1].rename(notes_folder / kept[1].name)),
        ("rename", lambda: kept[2].rename(kept[2].with_name("Renamed by me.md"))),
    ):
        act()
        fig[f"seen_{what}"] = sync(code, real).wall
        fig[f"after_{what}"] = syncs(code, real)
        say(f"{code.name}: after a {what}: {fig[f'after_{what}']:.2f} s")

    for name, vault in (("real", real), ("few", small)):
        figures = daemon(code, vault, scale.saves)
        fig[f"watching_{name}"] = figures["watching_s"]
        fig[f"idle_mb_{name}"] = figures["idle_mib"] * 1.048576
        delays = figures["delays"] or [float("inf")]
        fig[f"save_{name}"] = statistics.median(delays) - figures["debounce_s"]
        fig[f"missed_{name}"] = figures["missed"]
    _start_figures(fig, code, root)
    return fig


def _start_figures(fig: dict[str, float], code: Code, root: Path) -> None:
    """`syncd --help`, and the floor under a no-op: Python's start with requests imported."""
    fig["help"], fig["help_cpu"] = help_figures(code, root)
    fig["requests_start"], fig["requests_start_cpu"] = floors.requests_start(code.env(), root)


@dataclass(frozen=True)
class Target:
    section: str
    name: str
    figure: Callable[[dict[str, float]], float]
    show: Callable[[float], str]
    limit: float | None  # the figure must be at most this (None: shown, not a target)
    target: str = ""


def _ratio(v: float) -> str:
    return f"{v:.2f}x"


def _s(v: float) -> str:
    return f"{v:.2f} s"


def _ms(v: float) -> str:
    return f"{v * 1000:.0f} ms"


def _mb(v: float) -> str:
    return f"{v:.0f} MB"


TARGETS = [
    Target("first sync", "wall time", lambda f: f["first_wall"], _s, None),
    Target("first sync", "plain write+fsync loop", lambda f: f["plain_loop"], _s, None),
    Target(
        "first sync",
        "first sync / plain loop",
        lambda f: f["first_wall"] / f["plain_loop"],
        _ratio,
        1.5,
    ),
    Target(
        "first sync",
        "floor: the export downloaded and parsed / loop",
        lambda f: f["download"] / f["plain_loop"],
        _ratio,
        None,
    ),
    Target("first sync", "peak memory", lambda f: f["first_peak_mb"], _mb, 150),
    Target(
        "first sync",
        "state database / pages' bytes",
        lambda f: f["state_bytes"] / f["page_bytes"],
        _ratio,
        1.0,
    ),
    Target("no-op sync", "wall time", lambda f: f["noop"], _s, None),
    Target("no-op sync", "syncd --help", lambda f: f["help"], _s, None),
    Target("no-op sync", "no-op / --help", lambda f: f["noop"] / f["help"], _ratio, 3.0),
    Target(
        "no-op sync",
        "the same, CPU times",
        lambda f: f["noop_cpu"] / f["help_cpu"],
        _ratio,
        None,
    ),
    Target(
        "no-op sync",
        "floor: Python importing requests / --help",
        lambda f: f["requests_start"] / f["help"],
        _ratio,
        None,
    ),
    Target(
        "no-op sync",
        "no-op, all pages / a tenth of them",
        lambda f: f["noop"] / f["noop_few"],
        _ratio,
        1.2,
    ),
    Target("one new highlight", "wall time", lambda f: f["one"], _s, None),
    Target(
        "one new highlight", "one highlight / no-op", lambda f: f["one"] / f["noop"], _ratio, 1.5
    ),
    Target(
        "beside the user's notes",
        "no-op / no-op without notes",
        lambda f: f["noop_real"] / f["noop"],
        _ratio,
        1.2,
    ),
    Target(
        "beside the user's notes",
        "one highlight / without notes",
        lambda f: f["one_real"] / f["one"],
        _ratio,
        1.2,
    ),
    *(
        Target(
            "beside the user's notes",
            f"the sync that sees a page {what}d",
            (lambda w: lambda f: f[f"seen_{w}"] / f["noop_real"])(what),
            _ratio,
            None,
        )
        for what in ("delete", "move", "rename")
    ),
    *(
        Target(
            "beside the user's notes",
            f"later syncs after a {what} / no-op",
            (lambda w: lambda f: f[f"after_{w}"] / f["noop_real"])(what),
            _ratio,
            1.5,
        )
        for what in ("delete", "move", "rename")
    ),
    Target(
        "daemon, beside the notes", "watching after start", lambda f: f["watching_real"], _s, 10
    ),
    Target("daemon, beside the notes", "idle memory", lambda f: f["idle_mb_real"], _mb, 80),
    Target(
        "daemon, beside the notes",
        "save reconciled, past the debounce (median)",
        lambda f: f["save_real"],
        _ms,
        0.05,
    ),
    Target(
        "daemon, beside the notes",
        "the same, all pages / a tenth of them",
        lambda f: (f["save_real"] + 0.5) / (f["save_few"] + 0.5),
        _ratio,
        1.2,
        "(debounce included)",
    ),
]


def table(figures: dict[str, dict[str, float]]) -> tuple[list[str], list[str]]:
    """The lines of the table (this code first), and the targets this code misses."""
    names = list(figures)
    rows = [("", "", *names, "target", "")]
    missed = []
    section = ""
    for t in TARGETS:
        try:
            values = [t.figure(figures[n]) for n in names]
        except KeyError:  # not measured (`--only`)
            continue
        ok = None if t.limit is None else values[0] <= t.limit
        if t.limit is None:
            target = t.target
        elif t.show is _ratio:
            target = f"<= {t.limit:g}x {t.target}".rstrip()
        else:
            target = f"<= {t.show(t.limit)} {t.target}".rstrip()
        if ok is False:
            missed.append(f"{t.section}: {t.name}")
        rows.append(
            (
                t.section if t.section != section else "",
                t.name,
                *(t.show(v) for v in values),
                target,
                "" if ok is None else ("PASS" if ok else "FAIL"),
            )
        )
        section = t.section
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for row in rows:
        if row[0]:
            lines.append(row[0])
        lines.append(
            "  "
            + "  ".join(
                f"{cell:<{w}}" for cell, w in zip(row[1:], widths[1:], strict=True)
            ).rstrip()
        )
    return lines, missed


def run(
    scale_name: str,
    previous: str | None,
    where: str | None,
    keep: bool,
    only: str | None = None,
    bytecode: bool = True,
) -> int:
    from benchmarks.run import Server

    scale = SCALES[scale_name]
    root = Path(tempfile.mkdtemp(prefix="syncd-bench20-", dir=where))
    codes = [Code("this code", REPO)]
    if previous:
        codes.append(Code(f"previous ({previous})", previous_tree(previous, root)))
    for code in codes:
        (compile_bytecode if bytecode else remove_bytecode)(code)
    print(
        f"issue 20 benchmark, scale {scale_name}: {scale.books:,} books of 10 highlights "
        f"({scale.few:,} for the few pages), {scale.notes:,} notes of the user's, "
        f"{os.cpu_count()} CPUs, vaults in {root}; "
        + (
            "syncd's bytecode compiled first, as an install has it"
            if bytecode
            else "no bytecode: every process compiles syncd from source"
        ),
        flush=True,
    )
    figures: dict[str, dict[str, float]] = {}
    try:
        with Server(scale.books, None, 0) as main, Server(scale.few, None, 1) as few:
            for n, code in enumerate(codes):
                figures[code.name] = measure(
                    code,
                    scale,
                    main,
                    few,
                    root / f"code-{n}",
                    lambda line: print("  " + line, flush=True),
                    only,
                )
        lines, missed = table(figures)
        print("\n".join(lines))
        print(f"missed: {', '.join(missed)}" if missed else "every target met")
        return 1 if missed else 0
    finally:
        if keep:
            print(f"kept {root}")
        else:
            subprocess.run(["rm", "-rf", str(root)], check=False)
