"""The benchmarks: issue 20's targets (`benchmarks.realvault`, the default), or with `--spec9` the
figures of README "Performance", against the targets, in one table.

    python -m benchmarks.run [--scale small|full] [--previous db499a2|none] [--only noop]
                             [--source] [--dir DIR] [--keep]
    python -m benchmarks.run --spec9 [--books 10000] [--highlights N] [--sizes 1000,3000,10000]
                             [--seed 0] [--saves 20] [--repeat 3] [--dir DIR] [--keep]

With `--spec9`:

How each figure is taken (every syncd process is a fresh `python -m benchmarks.probe`, see there):

- The library (`benchmarks.library`, ten highlights per book unless `--highlights`) is served by
  `python -m benchmarks.serve` in a process of its own, page size 1000, so that generating and
  serving it costs syncd nothing: neither CPU time nor memory.
- First sync: `syncd sync` into an empty Logseq graph (`:file/name-format :triple-lowbar`) with
  the default config, `--repeat` times (3), each into a new graph and state. Wall time is the
  whole command, start-up included, timed from outside; CPU time is the process's user + system
  time; peak memory is its VmHWM (its own high-water resident set, not the parent's). The run of
  median wall time is shown. Requests are counted by the server.
- Plain-loop ratio: the time a plain Python loop takes to write and fsync the same bytes (every
  page file's content) to as many new files in a fresh folder on the same file system is taken
  right after each first sync; the ratio is the median first sync over the median loop. (On a
  virtual disk fsync latency swings several-fold within minutes; pairing the runs keeps the
  ratio about syncd, not about the disk's mood.) Nothing is deleted before the end: ext4 without
  a journal (this project's VM disk) passes over inodes freed in the last minutes when it makes
  new files, so removing a 10,000-file graph between runs made the next run's file creations
  several times slower (system time 1.3 s -> 6.5 s).
- No-op sync and one-highlight syncs: `syncd sync` again, with an audit hook on `open` counting
  the `.md` files of the vault the process opens to read. Files changed are found by comparing
  every file's size and mtime before and after. A page read counts against the target when its
  size and mtime changed neither before the sync nor by it. One highlight is added to the
  library's largest book (the worst case: the longest page), then another to a median one.
- Save to reconciliation: `syncd.engine.daemon.Daemon` as `syncd run` builds it (file
  watcher, 0.5 s debounce) runs over the vault; a line is appended to a page, `--saves` times,
  a different page each time, and the delay is from the end of the write to the daemon's
  `after_changes` hook.
- Start-up: `syncd --help`, median wall time of ten runs.
- Cost growth: a first sync of each library size in `--sizes`, wall and CPU time per highlight.

The exit status is 0 when every target is met, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
EDN = '{:file/name-format :triple-lowbar\n :journal/page-title-format "MMM do, yyyy"}\n'

# README "Performance"
FIRST_SYNC_SECONDS = 20.0
FIRST_SYNC_MB = 200.0
SMALL_SYNC_SECONDS = 1.0
STARTUP_SECONDS = 0.3
RATIO = 3.0


def _env() -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("READWISE_TOKEN", "SYNCD_NOW", "SYNCD_CONFIG")
    }
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return env


class Server:
    """`python -m benchmarks.serve` in its own process, driven through its stdin/stdout."""

    def __init__(self, books: int, highlights: int | None, seed: int) -> None:
        command = [
            sys.executable,
            "-m",
            "benchmarks.serve",
            "--books",
            str(books),
            "--seed",
            str(seed),
            "--page-size",
            "1000",
        ]
        if highlights is not None:
            command += ["--highlights", str(highlights)]
        self.process = subprocess.Popen(
            command, cwd=REPO, env=_env(), stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        self.info: dict[str, Any] = self._read()

    def _read(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError("the benchmark server stopped")
        return json.loads(line)

    def ask(self, **command: Any) -> dict[str, Any]:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()
        return self._read()

    def requests(self) -> dict[str, int]:
        return self.ask(cmd="requests")

    def close(self) -> None:
        if self.process.poll() is None:
            assert self.process.stdin is not None
            try:
                self.process.stdin.write('{"cmd": "stop"}\n')
                self.process.stdin.close()
            except OSError:
                pass
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass
class Vault:
    root: Path
    graph: Path = field(init=False)
    config: Path = field(init=False)

    def __post_init__(self) -> None:
        self.graph = self.root / "graph"
        (self.graph / "logseq").mkdir(parents=True)
        (self.graph / "logseq" / "config.edn").write_text(EDN, encoding="utf-8")
        self.config = self.root / "config.yaml"

    def configure(self, server: Server) -> None:
        self.config.write_text(
            json.dumps(
                {  # JSON is YAML
                    "readwise": {"token": server.info["token"], "base_url": server.info["url"]},
                    "vault": {"path": str(self.graph), "timezone": "UTC"},
                    "state_dir": str(self.root / "state"),
                }
            ),
            encoding="utf-8",
        )
        self.config.chmod(0o600)

    @property
    def pages(self) -> Path:
        return self.graph / "pages"

    def snapshot(self) -> dict[str, tuple[int, int]]:
        found = {}
        for folder, _, files in os.walk(self.graph):
            for name in files:
                path = Path(folder, name)
                stat = path.stat()
                found[path.relative_to(self.graph).as_posix()] = (stat.st_size, stat.st_mtime_ns)
        return found


@dataclass
class Run:
    wall: float
    figures: dict[str, Any]
    report: dict[str, Any]
    stderr: str

    @property
    def opened(self) -> list[str]:
        return self.figures.get("opened", [])


def settle() -> None:
    """Let the disk finish what earlier steps wrote, so that it does not land on the next run."""
    os.sync()
    time.sleep(1.0)


def run_sync(vault: Vault, *, watch: bool) -> Run:
    settle()
    out = vault.root / "figures.json"
    command = [sys.executable, "-m", "benchmarks.probe", "sync", "--out", str(out)]
    if watch:
        command += ["--watch-opens", str(vault.graph)]
    command += ["--", "sync", "--json", "--config", str(vault.config)]
    started = time.perf_counter()
    done = subprocess.run(
        command, cwd=REPO, env=_env(), capture_output=True, text=True, check=False
    )
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"syncd sync failed ({done.returncode}): {done.stderr[-2000:]}")
    report = json.loads(done.stdout.strip().splitlines()[-1])
    return Run(wall, json.loads(out.read_text(encoding="utf-8")), report, done.stderr)


def plain_loop_seconds(pages: Path, folder: Path) -> tuple[float, int, int]:
    """Write and fsync every page file's bytes to as many new files in a fresh folder."""
    contents = [path.read_bytes() for path in sorted(pages.rglob("*.md"))]
    folder.mkdir()
    settle()
    started = time.perf_counter()
    for i, data in enumerate(contents):
        with open(folder / f"{i}.md", "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    seconds = time.perf_counter() - started
    return seconds, len(contents), sum(len(c) for c in contents)


def changed_files(
    before: dict[str, tuple[int, int]], after: dict[str, tuple[int, int]]
) -> list[str]:
    return sorted(p for p in before.keys() | after.keys() if before.get(p) != after.get(p))


def startup_seconds(runs: int = 10) -> float:
    # The console script installed with this interpreter (not a version manager's shim).
    beside = Path(sys.executable).parent / "syncd"
    exe = str(beside) if beside.exists() else shutil.which("syncd")
    command = [exe, "--help"] if exe else [sys.executable, "-m", "syncd", "--help"]
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, env=_env(), capture_output=True, check=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def latency(vault: Vault, saves: int) -> dict[str, Any]:
    out = vault.root / "latency.json"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.probe",
            "latency",
            "--out",
            str(out),
            "--config",
            str(vault.config),
            "--saves",
            str(saves),
        ],
        cwd=REPO,
        env=_env(),
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.read_text(encoding="utf-8"))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


class Table:
    def __init__(self) -> None:
        self.rows: list[tuple[str, str, str, str]] = []
        self.missed: list[str] = []
        self.current = ""

    def row(self, name: str, value: str, target: str = "", ok: bool | None = None) -> None:
        verdict = "" if ok is None else ("PASS" if ok else "FAIL")
        if ok is False:
            self.missed.append(f"{self.current}: {name}")
        self.rows.append((name, value, target, verdict))

    def section(self, title: str) -> None:
        self.current = title
        self.rows.append((title, "", "", ""))

    def print(self) -> None:
        rows = [r for r in self.rows if r[1] or r[2] or r[3]]  # section titles aside
        widths = [max(len(r[i]) for r in rows) for i in range(3)]
        for name, value, target, verdict in self.rows:
            if not value and not target and not verdict:
                print(name)
                continue
            print(
                f"  {name:<{widths[0]}}  {value:<{widths[1]}}  {target:<{widths[2]}}  "
                f"{verdict}".rstrip()
            )


def mb(mib: float) -> float:
    return mib * 1024 * 1024 / 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.run", description="syncd's figures against its targets"
    )
    parser.add_argument("--books", type=int, default=10_000)
    parser.add_argument(
        "--highlights",
        type=int,
        default=None,
        help="highlights in the --books library (default: ten per book)",
    )
    parser.add_argument(
        "--sizes",
        default="1000,3000,10000",
        help="library sizes (books) for the cost growth, comma-separated",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--saves", type=int, default=20)
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="first syncs (and plain loops) of the --books library; median shown",
    )
    parser.add_argument("--dir", help="where to make the temporary vaults (default: $TMPDIR)")
    parser.add_argument("--keep", action="store_true", help="keep the vaults afterwards")
    parser.add_argument(
        "--spec9",
        action="store_true",
        help='the earlier table (README "Performance") instead of issue 20\'s targets',
    )
    parser.add_argument(
        "--scale",
        choices=("small", "full"),
        default="small",
        help="issue 20's targets: 1,000 books and 10,000 notes of the user's (small), or "
        "10,000 books and 100,000 notes (full)",
    )
    parser.add_argument(
        "--previous",
        default="db499a2",
        help="the release measured beside this code in the same run (a git revision; none: none)",
    )
    parser.add_argument(
        "--only",
        choices=("noop",),
        help="issue 20's targets: only the no-op and one-highlight figures (and what they need)",
    )
    parser.add_argument(
        "--source",
        action="store_true",
        help="issue 20's targets: do not compile syncd's bytecode first (as an install has it); "
        "every process compiles the modules it imports (this machine sets "
        "PYTHONDONTWRITEBYTECODE)",
    )
    args = parser.parse_args(argv)
    if not args.spec9:
        from benchmarks import realvault

        previous = None if args.previous == "none" else args.previous
        return realvault.run(
            args.scale, previous, args.dir, args.keep, only=args.only, bytecode=not args.source
        )
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]

    root = Path(tempfile.mkdtemp(prefix="syncd-bench-", dir=args.dir))
    table = Table()
    try:
        growth: dict[int, tuple[int, Run]] = {}
        with Server(args.books, args.highlights, args.seed) as server:
            info = server.info
            print(
                f"syncd benchmark: {info['books']:,} books, {info['highlights']:,} highlights "
                f"(seed {args.seed}), loopback FakeReadwise, 1000 books per export page, "
                f"{os.cpu_count()} CPUs, vaults in {root}",
                flush=True,
            )
            firsts: list[tuple[Run, dict[str, int], float, Vault]] = []
            for n in range(max(1, args.repeat)):
                vault = Vault(root / f"main-{n}")
                vault.configure(server)
                server.requests()
                run = run_sync(vault, watch=False)
                requests = server.requests()
                loop, files, size = plain_loop_seconds(vault.pages, root / f"plain-loop-{n}")
                assert files == run.report["pages_created"] + 1  # and the sync log page
                firsts.append((run, requests, loop, vault))
                print(
                    f"  first sync {n + 1}: {run.wall:.1f} s (CPU {run.figures['cpu_s']:.1f} s),"
                    f" plain loop {loop:.1f} s",
                    flush=True,
                )
            walls = [f[0].wall for f in firsts]
            loops = [f[2] for f in firsts]
            first, requests, _, _ = sorted(firsts, key=lambda f: f[0].wall)[len(firsts) // 2]
            vault = firsts[-1][3]  # the next syncs go on in the last graph
            growth[args.books] = (info["highlights"], first)

            noop_before = vault.snapshot()
            noop = run_sync(vault, watch=True)
            noop_requests = server.requests()
            noop_changed = changed_files(noop_before, vault.snapshot())

            ones = []
            for which in ("largest_book", "median_book"):
                book = info[which]
                server.ask(cmd="add_highlight", book_id=book["id"])
                server.requests()
                before = vault.snapshot()
                one = run_sync(vault, watch=True)
                one_requests = server.requests()
                changed = changed_files(before, vault.snapshot())
                ones.append((which, book, one, one_requests, changed))

            delays = latency(vault, args.saves)

        startup = startup_seconds()

        for books in sizes:
            if books in growth:
                continue
            with Server(books, None, args.seed) as small:
                other = Vault(root / f"size-{books}")
                other.configure(small)
                growth[books] = (small.info["highlights"], run_sync(other, watch=False))

        f = first.figures
        table.section(f"first sync ({first.report['new_highlights']:,} new highlights)")
        table.row(
            "wall time (whole command)",
            f"{first.wall:.1f} s (of {', '.join(f'{w:.1f}' for w in walls)})",
            f"< {FIRST_SYNC_SECONDS:.0f} s",
            first.wall < FIRST_SYNC_SECONDS,
        )
        table.row(
            "CPU time",
            f"{f['cpu_s']:.1f} s (user {f['user_s']:.1f} s, system {f['system_s']:.1f} s)",
        )
        table.row(
            "peak memory (VmHWM)",
            f"{mb(f['peak_mib']):.0f} MB",
            f"< {FIRST_SYNC_MB:.0f} MB",
            mb(f["peak_mib"]) < FIRST_SYNC_MB,
        )
        table.row("requests", f"{requests['export']} export + {requests['auth']} auth")
        table.row(
            "pages written",
            f"{first.report['pages_created']:,} + the sync log page ({size / 1e6:.0f} MB)",
        )
        table.row(
            "plain write+fsync loop, same bytes",
            f"{statistics.median(loops):.1f} s (of {', '.join(f'{x:.1f}' for x in loops)})",
        )
        ratio = statistics.median(walls) / statistics.median(loops)
        table.row(
            "first sync / plain loop (medians)", f"{ratio:.2f}", f"< {RATIO:.0f}", ratio < RATIO
        )

        table.section("no-op sync")
        unchanged_reads = [p for p in noop.opened if p not in noop_changed]
        table.row(
            "wall time (whole command)",
            f"{noop.wall:.2f} s",
            f"< {SMALL_SYNC_SECONDS:.0f} s",
            noop.wall < SMALL_SYNC_SECONDS,
        )
        table.row(
            "requests", f"{sum(noop_requests.values())}", "1", sum(noop_requests.values()) == 1
        )
        table.row("page files read", f"{len(set(noop.opened))}", "0", not unchanged_reads)
        table.row("files changed", f"{len(noop_changed)}")

        for which, book, one, one_requests, changed in ones:
            label = "largest" if which == "largest_book" else "median"
            table.section(
                f"sync adding one highlight to the {label} book ({book['highlights']:,} highlights)"
            )
            read = sorted(set(one.opened))
            unchanged_reads = [p for p in read if p not in changed]
            table.row(
                "wall time (whole command)",
                f"{one.wall:.2f} s",
                f"< {SMALL_SYNC_SECONDS:.0f} s",
                one.wall < SMALL_SYNC_SECONDS,
            )
            table.row(
                "requests", f"{sum(one_requests.values())}", "1", sum(one_requests.values()) == 1
            )
            table.row("files changed", f"{len(changed)}: {', '.join(_short(p) for p in changed)}")
            table.row(
                "page files read",
                f"{len(read)}, of which unchanged: {len(unchanged_reads)}",
                "0 unchanged",
                not unchanged_reads,
            )

        table.section(f"save to reconciliation, running daemon ({delays['debounce_s']} s debounce)")
        values = delays["delays"]
        if values:
            table.row(f"median of {len(values)} saves", f"{statistics.median(values):.2f} s")
            table.row("95th percentile", f"{percentile(values, 0.95):.2f} s")
        table.row(
            "saves not reconciled within 30 s", f"{delays['missed']}", "0", delays["missed"] == 0
        )

        table.section("start-up")
        table.row(
            "syncd --help (median of 10)",
            f"{startup:.3f} s",
            f"< {STARTUP_SECONDS} s",
            startup < STARTUP_SECONDS,
        )

        table.section("cost growth: first sync per highlight")
        base = None
        for books in sorted(growth):
            highlights, run = growth[books]
            per = run.wall / highlights * 1e6
            cpu = run.figures["cpu_s"] / highlights * 1e6
            base = base or cpu
            table.row(
                f"{books:,} books, {highlights:,} highlights",
                f"{per:.0f} µs wall, {cpu:.0f} µs CPU ({cpu / base:.2f}x), "
                f"{run.wall:.1f} s, {mb(run.figures['peak_mib']):.0f} MB",
            )
        table.print()
        if table.missed:
            print(f"missed: {', '.join(table.missed)}")
        else:
            print("every target met")
        return 1 if table.missed else 0
    finally:
        if args.keep:
            print(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)


def _short(path: str) -> str:
    name = Path(path).name
    return name if len(name) <= 24 else name[:21] + "..."


if __name__ == "__main__":
    sys.exit(main())
