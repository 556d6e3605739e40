"""This code beside another release, in turn: a first sync and a no-op sync of the same library,
each release in a fresh vault, round after round, and the ratio of each pair, in CPU seconds (the
process's user and system time: what the code costs, less what the other loads on a shared
machine add to the wall clock). Taken in turn, the two meet the same machine (a shared one
drifts over minutes), so the ratio holds where the seconds do not.

    python -m benchmarks.pair [--previous db499a2] [--code REV] [--books 1000] [--rounds 5]

Prints each round's seconds and ratio, then the median ratio of each figure.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

from benchmarks.realvault import PREVIOUS, REPO, Code, Vault, previous_tree, sync


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.pair")
    parser.add_argument(
        "--previous", default=PREVIOUS, help="a git revision (default: %(default)s)"
    )
    parser.add_argument("--code", help="a git revision to measure instead of this tree")
    parser.add_argument("--books", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    from benchmarks.run import Server

    root = Path(tempfile.mkdtemp(prefix="syncd-pair-"))
    this = Code("this code", REPO)
    if args.code:
        (root / "code").mkdir()
        this = Code(args.code, previous_tree(args.code, root / "code"))
    codes = [this, Code(args.previous, previous_tree(args.previous, root))]
    ratios: dict[str, list[float]] = {"first sync": [], "no-op sync": []}
    with Server(args.books, None, 0) as server:
        print(f"{args.books:,} books of 10 highlights; {this.name} / {args.previous}, in turn")
        for n in range(args.rounds):
            seconds = {}
            for code in codes:
                vault = Vault(root / f"round-{n}-{code.name.replace(' ', '-')}", server)
                first = sync(code, vault).figures["cpu_s"]
                noop = min(sync(code, vault).figures["cpu_s"] for _ in range(3))
                seconds[code.name] = (first, noop)
            (first_a, noop_a), (first_b, noop_b) = seconds.values()
            ratios["first sync"].append(first_a / first_b)
            ratios["no-op sync"].append(noop_a / noop_b)
            print(
                f"  round {n + 1}: first sync {first_a:.2f} / {first_b:.2f} CPU s = "
                f"{first_a / first_b:.2f}; no-op {noop_a:.2f} / {noop_b:.2f} CPU s = "
                f"{noop_a / noop_b:.2f}"
            )
    for figure, values in ratios.items():
        print(f"{figure}: median ratio {statistics.median(values):.2f} ({len(values)} rounds)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
