"""What runs inside the measured process: a syncd command, or a daemon, with its own figures.

    python -m benchmarks.probe sync --out FIGURES.json [--watch-opens VAULT] -- sync --config C
    python -m benchmarks.probe latency --out FIGURES.json --config C --saves 20

`sync` runs `syncd.cli.main` on the arguments after `--` and writes to FIGURES.json its CPU time
(`getrusage(RUSAGE_SELF)`), its peak memory (`VmHWM` of /proc/self/status: the high-water mark
of this program's own address space; `ru_maxrss` can carry the parent's size across fork+exec) and
the time inside the process. With `--watch-opens`, an audit hook on `open` records every `.md`
file under that folder the process opened for reading.

`latency` runs `syncd.engine.daemon.Daemon` (as `syncd run` builds it, debounce included) over the
vault, notes how long it took to start watching (its readiness) and, once its sync on start is
done, its resident memory (idle), then `--saves` times appends a line to a page as an editor
saves it and measures how long until the daemon has reconciled the change (its `after_changes`
hook). The pages are taken in turn from the vault's pages folder (`--pages-folder`), a different
one each save. The probe runs as a script too (`python benchmarks/probe.py`), so that the syncd it
measures can be another release's, on PYTHONPATH.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import resource
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING


def _figures(started: float) -> dict[str, float]:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    peak_kib = 0
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                peak_kib = int(line.split()[1])
    return {
        "inside_s": time.perf_counter() - started,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "user_s": usage.ru_utime,
        "system_s": usage.ru_stime,
        "peak_mib": peak_kib / 1024,
        "ru_maxrss_mib": usage.ru_maxrss / 1024,
    }


def _status_mib(key: str) -> float:
    """A figure of /proc/self/status (VmRSS, VmHWM), in MiB."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


def _watch_opens(folder: Path) -> list[str]:
    """Record, from now on, the `.md` files under `folder` opened for reading."""
    opened: list[str] = []
    prefix = str(folder.resolve()) + os.sep
    read_modes = (os.O_RDONLY, os.O_RDWR)

    def hook(event: str, args: tuple[object, ...]) -> None:
        if event != "open":
            return
        path, mode, flags = args
        if not isinstance(path, str) or not path.endswith(".md"):
            return
        reading = (
            ("r" in mode or "+" in mode)
            if isinstance(mode, str)
            else (isinstance(flags, int) and flags & os.O_ACCMODE in read_modes)
        )
        if reading:
            full = path if os.path.isabs(path) else os.path.abspath(path)
            if full.startswith(prefix):
                opened.append(full[len(prefix) :])

    sys.addaudithook(hook)
    return opened


def run_sync(args: argparse.Namespace, rest: list[str]) -> int:
    started = time.perf_counter()
    opened = _watch_opens(Path(args.watch_opens)) if args.watch_opens else None
    from syncd.cli import main

    code = main(rest)
    figures: dict[str, object] = {**_figures(started), "exit_code": code}
    if opened is not None:
        figures["opened"] = opened
    Path(args.out).write_text(json.dumps(figures), encoding="utf-8")
    return code


def run_latency(args: argparse.Namespace) -> int:
    from syncd.commands.common import load, setup_logging
    from syncd.engine.wiring import make_syncer, open_state

    if TYPE_CHECKING:  # this code's daemon
        from syncd.engine.daemon import Daemon
    else:  # the probe measures an earlier release too (on PYTHONPATH): its daemon where it is
        try:
            from syncd.engine.daemon import Daemon
        except ImportError:  # a release before the daemon moved into the engine
            from syncd.commands.daemon import Daemon

    config = load(argparse.Namespace(config=args.config))
    setup_logging("warning")
    state = open_state(config)
    synced: queue.SimpleQueue[str] = queue.SimpleQueue()
    changed: queue.SimpleQueue[tuple[float, frozenset[str]]] = queue.SimpleQueue()
    daemon = Daemon(
        config,
        state,
        env={},
        load_config=lambda: config,
        make_syncer=lambda config, state, **parts: make_syncer(config, state, os.environ, **parts),
    )
    daemon.hooks.after_sync.append(synced.put)
    daemon.hooks.after_changes.append(
        lambda changes: changed.put((time.perf_counter(), changes.changed))
    )
    import threading

    watching: queue.SimpleQueue[float] = queue.SimpleQueue()
    ready = daemon._notifier.ready

    def told_ready(status: str | None = None) -> bool:
        watching.put(time.perf_counter())
        return ready(status)

    daemon._notifier.ready = told_ready  # type: ignore[method-assign]
    thread = threading.Thread(target=daemon.run, name="daemon", daemon=True)
    started = time.perf_counter()
    thread.start()
    watching_s = watching.get(timeout=600) - started
    if config.sync.on_start:
        synced.get(timeout=600)
    time.sleep(1.0)  # let the watcher settle
    idle_mib = _status_mib("VmRSS")
    pages = sorted(p for p in (config.vault.path / args.pages_folder).glob("*.md"))
    delays: list[float] = []
    missed = 0
    for i in range(args.saves):
        page = pages[(i * 97) % len(pages)]
        relative = page.relative_to(config.vault.path).as_posix()
        text = page.read_bytes()
        page.write_bytes(text + f"\n- a thought of mine, number {i}".encode())
        saved = time.perf_counter()
        deadline = saved + 30
        while True:
            try:
                at, paths = changed.get(timeout=max(0.0, deadline - time.perf_counter()))
            except queue.Empty:
                missed += 1
                break
            if relative in paths:
                delays.append(at - saved)
                break
        time.sleep(0.3)
    daemon.request_stop()
    thread.join(30)
    state.close()
    Path(args.out).write_text(
        json.dumps(
            {
                "delays": delays,
                "missed": missed,
                "debounce_s": daemon._debounce,
                "watching_s": watching_s,
                "idle_mib": idle_mib,
            }
        ),
        encoding="utf-8",
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    rest: list[str] = []
    if "--" in argv:
        cut = argv.index("--")
        argv, rest = argv[:cut], argv[cut + 1 :]
    parser = argparse.ArgumentParser(prog="python -m benchmarks.probe")
    parser.add_argument("mode", choices=("sync", "latency"))
    parser.add_argument("--out", required=True)
    parser.add_argument("--watch-opens", metavar="FOLDER")
    parser.add_argument("--config")
    parser.add_argument("--saves", type=int, default=20)
    parser.add_argument("--pages-folder", default="pages", help="relative to the vault")
    args = parser.parse_args(argv)
    if args.mode == "sync":
        return run_sync(args, rest)
    return run_latency(args)


if __name__ == "__main__":
    sys.exit(main())
