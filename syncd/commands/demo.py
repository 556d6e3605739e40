"""`syncd demo`: the whole job on an embedded default, with no account and no network.

A Readwise-compatible server on 127.0.0.1 serves the built-in sample library; a first sync
("yesterday") writes a new Logseq graph, then highlights are added upstream and a second sync
("now") appends them under a "New highlights added" block.
"""

from __future__ import annotations

import argparse
import copy
import os
import shutil
import sys
import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from typing import TextIO

from syncd.commands.common import setup_logging
from syncd.errors import ConfigError

MARKER = ".syncd-demo"
SHOWN_PAGE = "Episode 20"  # the seed's podcast: the page printed in full


def run_demo(directory: str, out: TextIO) -> int:
    from syncd.config.load import config_from_mapping
    from syncd.edges.state import State
    from syncd.engine.wiring import clock_from_env, make_syncer
    from syncd.testing.fakereadwise import FakeReadwise
    from syncd.testing.sample_library import LATER_HIGHLIGHTS, SAMPLE_BOOKS

    graph = Path(directory).resolve()
    _prepare(graph)
    now = clock_from_env(os.environ)()
    moments = {"first": now - timedelta(days=1), "second": now}
    current = {"at": moments["first"]}

    def clock() -> datetime:
        return current["at"]

    with (
        tempfile.TemporaryDirectory(prefix="syncd-demo-state-") as state_dir,
        FakeReadwise(clock=clock) as server,
    ):
        server.load(copy.deepcopy(SAMPLE_BOOKS))
        config = config_from_mapping(
            {
                "readwise": {"token": server.token, "base_url": server.url},
                "vault": {"path": str(graph)},
                "state_dir": state_dir,
            },
            None,
            {k: v for k, v in os.environ.items() if k != "READWISE_TOKEN"},
        )
        state = State(Path(state_dir) / "state.sqlite3")
        try:
            syncer = make_syncer(config, state, os.environ, clock=clock)
            first = syncer.sync()
            current["at"] = moments["second"] - timedelta(minutes=1)
            for book_id, highlights in LATER_HIGHLIGHTS.items():
                for highlight in copy.deepcopy(highlights):
                    server.add_highlight(book_id, **highlight)
            current["at"] = moments["second"]
            second = syncer.sync()
        finally:
            state.close()
    pages = sorted((graph / "pages").glob("*.md"))
    print(f"first sync:  {first.summary()}", file=out)
    print(f"second sync: {second.summary()}", file=out)
    print(f"\nThe Logseq graph is in {graph}; its pages:", file=out)
    for page in pages:
        print(f"  {page.relative_to(graph)}", file=out)
    shown = next((p for p in pages if p.name.startswith(SHOWN_PAGE)), None)
    if shown is not None:
        print(f"\n--- {shown.relative_to(graph)} ---", file=out)
        print(shown.read_text(encoding="utf-8"), file=out)
    return 0


def _prepare(graph: Path) -> None:
    """Start from an empty graph folder; a previous demo's is replaced, anything else refused."""
    if graph.exists():
        if (graph / MARKER).exists():
            shutil.rmtree(graph)
        elif not graph.is_dir() or any(graph.iterdir()):
            raise ConfigError(
                graph,
                None,
                "exists and is not a syncd demo graph; give another folder: syncd demo DIR",
            )
    graph.mkdir(parents=True, exist_ok=True)
    (graph / MARKER).write_text("created by `syncd demo`; safe to delete\n", encoding="utf-8")


def command(args: argparse.Namespace) -> int:
    from syncd.errors import UsageError

    if args.config is not None:  # refused, not ignored: the demo uses no config
        raise UsageError(
            "`syncd demo` uses no config (it syncs a built-in sample library); leave out --config"
        )

    setup_logging("warning")
    return run_demo(args.dir, out=sys.stdout)
