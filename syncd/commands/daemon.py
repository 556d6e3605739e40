"""`syncd run`: the daemon (`syncd.engine.daemon.Daemon`), on the vault the config names,
with its lock held, until it is stopped."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable

from syncd.commands.common import load, locked_vault
from syncd.config.values import Config
from syncd.edges.state import State
from syncd.engine.sync import Syncer


def command(args: argparse.Namespace) -> int:
    from syncd.engine.daemon import Daemon
    from syncd.engine.wiring import make_syncer

    def syncer_of(
        config: Config,
        state: State,
        *,
        should_stop: Callable[[], bool],
        progress: Callable[[int, int, int], None],
        sleep: Callable[[float], None],
    ) -> Syncer:
        return make_syncer(
            config, state, os.environ, should_stop=should_stop, progress=progress, sleep=sleep
        )

    # The daemon keeps its database open for days: checked whole once, at its start.
    with locked_vault(args, check=True) as (config, state):
        daemon = Daemon(
            config, state, env=os.environ, make_syncer=syncer_of, load_config=lambda: load(args)
        )
        daemon.install_signal_handlers()
        return daemon.run()
