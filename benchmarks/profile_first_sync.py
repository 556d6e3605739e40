"""Where a first sync's time goes, by kind: a first sync under cProfile, its self time summed
by what each function is part of (rendering, state bookkeeping, naming and probing, file I/O,
HTTP and parsing, ...).

    python benchmarks/profile_first_sync.py [--books 1000] [--top 0] [--format logseq|obsidian]

Run as a script, so that the syncd profiled is the one on PYTHONPATH (another release's tree:
`PYTHONPATH=/that/tree python benchmarks/profile_first_sync.py`). The library is served by
`benchmarks.serve` in a process of its own (not profiled); the sync runs in this process,
`syncd sync` into a new Logseq graph (or, with `--format obsidian`, a new Obsidian vault: the
case `benchmarks.realvault` measures), as the command line runs it.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

EDN = '{:file/name-format :triple-lowbar\n :journal/page-title-format "MMM do, yyyy"}\n'

# (kind, what a function's file or name holds), first match wins.
KINDS = [
    ("rendering", ("syncd/core/render", "syncd/core/templates", "syncd/core/outline")),
    ("rendering", ("syncd/core/dates", "syncd/core/django_dates", "jinja2", "markupsafe")),
    ("state bookkeeping", ("syncd/edges/state", "sqlite3", "syncd/engine/pending")),
    ("state bookkeeping", ("syncd/core/records", "syncd/engine/sync_log")),
    ("naming and probing", ("syncd/engine/naming", "syncd/core/filenames", "page_index")),
    ("naming and probing", ("syncd/engine/layout", "syncd/engine/finder", "syncd/core/identity")),
    ("naming and probing", ("syncd/engine/follower", "syncd/engine/lookout")),
    ("file I/O (syscalls)", ("posix.", "io.open", "_io.", "'_io", "os.py", "pathlib")),
    ("file I/O (syncd's code)", ("syncd/edges/atomic", "syncd/edges/vault", "syncd/edges/file_")),
    ("HTTP and parsing", ("syncd/edges/readwise", "requests", "urllib3", "http/", "socket")),
    ("HTTP and parsing", ("recv_into", "syncd/testing/")),
    ("HTTP and parsing", ("json", "ssl", "syncd/core/books", "syncd/core/model")),
    ("planning", ("syncd/core/plan", "syncd/core/decision", "syncd/engine/writer")),
    ("planning", ("difflib", "syncd/engine/run", "syncd/engine/full_texts")),
    ("planning", ("syncd/core/book_plan", "syncd/core/page_life", "syncd/engine/planner")),
    ("planning", ("syncd/engine/apply", "syncd/engine/reader_pass", "syncd/ports")),
    ("planning", ("syncd/core/page_reading", "syncd/core/plan_terms")),
    ("imports", ("importlib", "<frozen", "marshal", "compile", "__build_class__", "exec")),
    ("threads and waits", ("threading", "queue", "lock", "sleep", "select")),
]


def kind_of(filename: str, name: str) -> str:
    where = f"{filename}:{name}"
    for kind, marks in KINDS:
        if any(mark in where for mark in marks):
            return kind
    return "other"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="benchmarks/profile_first_sync.py")
    parser.add_argument("--books", type=int, default=1000)
    parser.add_argument("--top", type=int, default=0, help="also print the top N functions")
    parser.add_argument("--format", choices=("logseq", "obsidian"), default="logseq")
    args = parser.parse_args(argv)
    from benchmarks.run import Server
    from syncd.cli import main as syncd

    root = Path(tempfile.mkdtemp(prefix="syncd-profile-"))
    graph = root / "graph"
    if args.format == "logseq":
        (graph / "logseq").mkdir(parents=True)
        (graph / "logseq" / "config.edn").write_text(EDN, encoding="utf-8")
    else:
        graph.mkdir(parents=True)
    with Server(args.books, None, 0) as server:
        config = root / "config.yaml"
        config.write_text(
            json.dumps(
                {
                    "readwise": {"token": server.info["token"], "base_url": server.info["url"]},
                    "vault": {"path": str(graph), "timezone": "UTC", "format": args.format},
                    "state_dir": str(root / "state"),
                }
            ),
            encoding="utf-8",
        )
        config.chmod(0o600)
        profile = cProfile.Profile()
        started = time.perf_counter()
        profile.enable()
        code = syncd(["sync", "--json", "--config", str(config)])
        profile.disable()
        wall = time.perf_counter() - started
    stats = pstats.Stats(profile)
    by_kind: Counter[str] = Counter()
    total = 0.0
    rows = []
    for (filename, _, name), (_, _, tottime, _, callers) in stats.stats.items():  # type: ignore[attr-defined]
        total += tottime
        rows.append((tottime, f"{filename}:{name}"))
        kind = kind_of(filename, name)
        if kind == "other" and filename == "~" and callers:
            # A builtin of no kind of its own (str.join, dict.get): its caller's kind.
            for (caller_file, _, caller_name), (_, _, caller_tt, _) in callers.items():
                by_kind[kind_of(caller_file, caller_name)] += caller_tt
            continue
        by_kind[kind] += tottime
    print(f"first sync of {args.books:,} books (exit {code}): {wall:.2f} s under the profiler")
    for kind, seconds in by_kind.most_common():
        print(f"  {kind:<26} {seconds:6.2f} s  {100 * seconds / total:4.0f}%")
    for tottime, where in sorted(rows, reverse=True)[: args.top]:
        print(f"    {tottime:6.3f} s  {where}")
    import shutil

    shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
