"""The simulated world (tests/world/world.py) for as long as asked: one hypothesis run after
another, each with its own seed, until the time is up; then the figures.

    python -m benchmarks.world --minutes 20 [--seed N] [--steps 60] [--all] [--format both]
                               [--push mixed|on|off]

Rules in `KNOWN_BROKEN` stay off unless `--all` is given. Each run is hypothesis's generate
phase only (no shrinking): a failure is printed with its steps (the machine's own log, kept in a
temporary file) and the run goes on with the next seed. Exits 0 when nothing failed, 1 otherwise.
Not run in CI (the bounded `world-ci` profile is, as tests/world/test_world.py).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import random
import sys
import tempfile
import time
from pathlib import Path

import hypothesis.core
from hypothesis import Phase, settings
from hypothesis.stateful import run_state_machine_as_test

from tests.world import world

MACHINES = {"logseq": world.World, "obsidian": world.ObsidianWorld}


def run_seed(profile: settings, seed: int, machine: type[world.World] = world.World) -> None:
    """Run the state machine once, with hypothesis seeded by `seed` (as `--hypothesis-seed`
    seeds it under pytest)."""
    hypothesis.core.global_force_seed = seed  # type: ignore[assignment]
    run_state_machine_as_test(machine, settings=profile)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.world", description=__doc__)
    parser.add_argument("--minutes", type=float, default=20.0)
    parser.add_argument("--seed", type=int, default=None, help="first seed (default: random)")
    parser.add_argument("--steps", type=int, default=60, help="steps per example")
    parser.add_argument("--examples", type=int, default=20, help="examples per seed")
    parser.add_argument("--all", action="store_true", help="run the KNOWN_BROKEN rules too")
    parser.add_argument(
        "--format",
        choices=["both", *MACHINES],
        default="both",
        help="the vault: a Logseq graph, an Obsidian vault, or each in turn (a seed each)",
    )
    parser.add_argument(
        "--push",
        choices=["mixed", "on", "off"],
        default="mixed",
        help="two-way sync (sync.push: [note, tags, text]): drawn per example, always or never",
    )
    args = parser.parse_args(argv)
    world.World.PUSH = {"mixed": None, "on": True, "off": False}[args.push]
    if args.all:
        world.KNOWN_BROKEN.clear()
    seed = args.seed if args.seed is not None else random.randrange(1 << 32)
    log = Path(tempfile.mkdtemp(prefix="syncd-world-log-")) / "steps.txt"
    os.environ["SYNCD_WORLD_LOG"] = str(log)
    profile = settings(
        max_examples=args.examples,
        stateful_step_count=args.steps,
        deadline=None,
        database=None,
        derandomize=False,
        phases=[Phase.generate],
        report_multiple_bugs=False,
    )
    print(
        f"world: {args.minutes:g} minutes from seed {seed} ({args.format}, push {args.push}); "
        "rules kept off: "
        f"{', '.join(sorted(world.KNOWN_BROKEN)) or 'none'}",
        flush=True,
    )
    deadline = time.monotonic() + args.minutes * 60
    started = time.monotonic()
    seeds = failures = 0
    formats = list(MACHINES) if args.format == "both" else [args.format]
    while time.monotonic() < deadline:
        seeds += 1
        log.unlink(missing_ok=True)
        kind = formats[(seeds - 1) % len(formats)]
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                run_seed(profile, seed + seeds - 1, MACHINES[kind])
        except Exception as error:  # a broken invariant, or syncd raising
            failures += 1
            print(f"\nFAILED (seed {seed + seeds - 1}, {kind}): {type(error).__name__}: {error}")
            if log.exists():
                print("steps:\n" + log.read_text())
    stats = world.STATS
    minutes = (time.monotonic() - started) / 60
    print(
        f"\nworld: {minutes:.1f} minutes, {seeds} seeds, {stats.examples} examples, "
        f"{stats.steps} steps, {stats.syncs} syncs ({stats.crashes} killed), "
        f"{stats.checks} invariant checks, {failures} failure{'' if failures == 1 else 's'}"
    )
    print("steps by rule: " + ", ".join(f"{name} {n}" for name, n in stats.rules.most_common()))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
