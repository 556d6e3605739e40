"""The no-op sync of two codes, interleaved: on a shared machine, figures taken one code after
the other swing with the others' load; taken in alternation, both codes meet the same load.

    python -m benchmarks.noop_ab [--before REV] [--books 10000] [--few 1000] [--rounds 8]
                                 [--source]

Builds the library of `--books` books (ten highlights each) and one of `--few`, served as
`benchmarks.run` serves them; for this code and for `--before` (a git revision, unpacked as
`benchmarks.realvault` does), an Obsidian vault of each, synced once and once more (so that the
next syncs are no-ops). Then `--rounds` rounds, each running, for each code in turn, a no-op
`syncd sync` of each vault and `syncd --help` (`python -m syncd`). Each code's package is
compiled to bytecode first, as an install has it (`benchmarks.realvault.compile_bytecode`);
with `--source` it is removed, and with this machine's `PYTHONDONTWRITEBYTECODE` every process
compiles syncd's modules. Prints, per code, the least wall and CPU time (user + system) of
each, and the ratios of issue 20's no-op targets, of wall and of CPU times (on a loaded machine
a process's wall time is mostly its wait for a core; its CPU time is what it costs).
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.realvault import (
    REPO,
    Code,
    Vault,
    compile_bytecode,
    previous_tree,
    remove_bytecode,
    sync,
)
from benchmarks.run import Server


def timed(command: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """The wall and CPU time (user + system) of one run of `command` in `cwd` (not this
    repository: `python -m syncd` imports the current folder's `syncd` first)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(command, env=env, cwd=cwd, capture_output=True, check=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return wall, cpu


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.noop_ab")
    parser.add_argument("--before", default="main", help="the code to compare with (git rev)")
    parser.add_argument("--books", type=int, default=10_000)
    parser.add_argument("--few", type=int, default=1_000)
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument(
        "--source", action="store_true", help="no bytecode compiled first (see the doc above)"
    )
    args = parser.parse_args(argv)
    root = Path(tempfile.mkdtemp(prefix="syncd-noop-ab-"))
    codes = [Code("this code", REPO), Code(args.before, previous_tree(args.before, root))]
    for code in codes:
        (remove_bytecode if args.source else compile_bytecode)(code)
    figures: dict[tuple[str, str], list[tuple[float, float]]] = {}
    try:
        with Server(args.books, None, 0) as main_library, Server(args.few, None, 1) as few:
            vaults: dict[tuple[str, str], Vault] = {}
            for n, code in enumerate(codes):
                for size, server in (("all pages", main_library), ("a tenth", few)):
                    vault = Vault(root / f"code-{n}" / size.replace(" ", "-"), server)
                    sync(code, vault)
                    sync(code, vault)
                    vaults[code.name, size] = vault
                print(f"{code.name}: vaults synced", flush=True)
            for _ in range(args.rounds):
                for case in ("all pages", "a tenth", "--help"):
                    for code in codes:
                        command = [sys.executable, "-m", "syncd"]
                        if case == "--help":
                            command.append("--help")
                        else:
                            config = vaults[code.name, case].config
                            command += ["sync", "--json", "--config", str(config)]
                        env = code.env()
                        figures.setdefault((code.name, case), []).append(timed(command, env, root))
        print(
            f"{args.books:,} and {args.few:,} books, least of {args.rounds} interleaved runs, "
            f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}, "
            + ("no bytecode (compiled from source)" if args.source else "bytecode compiled")
        )
        for code in codes:
            least = {
                case: (min(w for w, _ in runs), min(c for _, c in runs))
                for (name, case), runs in figures.items()
                if name == code.name
            }
            (noop, noop_cpu), (tenth, tenth_cpu), (help_, help_cpu) = (
                least["all pages"],
                least["a tenth"],
                least["--help"],
            )
            print(
                f"  {code.name:<12} no-op {noop:.3f} s (CPU {noop_cpu:.3f} s), a tenth of the "
                f"pages {tenth:.3f} s (CPU {tenth_cpu:.3f} s), --help {help_:.3f} s (CPU "
                f"{help_cpu:.3f} s): no-op / --help {noop / help_:.2f}x (CPU "
                f"{noop_cpu / help_cpu:.2f}x; target 3x), all pages / a tenth "
                f"{noop / tenth:.2f}x (CPU {noop_cpu / tenth_cpu:.2f}x; target 1.2x)"
            )
        return 0
    finally:
        subprocess.run(["rm", "-rf", str(root)], check=False)


if __name__ == "__main__":
    raise SystemExit(main())
