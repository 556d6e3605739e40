"""What the commands share: loading the config (warnings included), logging set up for a terminal
or the journal, the vault's lock with its state open, and a dry run's read-only state."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

if TYPE_CHECKING:
    from syncd.config.values import Config
    from syncd.edges.state import State

log = logging.getLogger("syncd")

EXIT_OK, EXIT_PARTIAL = 0, 1  # usage and other errors: their own exit_code (syncd.errors)


def setup_logging(level: str = "info") -> None:
    """Log to stderr; under systemd (JOURNAL_STREAM) with `<N>` priorities and no timestamps."""
    handler = logging.StreamHandler(sys.stderr)
    if os.environ.get("JOURNAL_STREAM"):
        handler.setFormatter(_JournalFormatter("%(name)s: %(message)s"))
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%Y-%m-%d %H:%M:%S")
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.getLogger("urllib3").setLevel(logging.WARNING)
    # APScheduler tells of every job added and run at INFO: chatter in the daemon's log.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)


class _JournalFormatter(logging.Formatter):
    PRIORITY: ClassVar[dict[int, int]] = {
        logging.DEBUG: 7,
        logging.INFO: 6,
        logging.WARNING: 4,
        logging.ERROR: 3,
        logging.CRITICAL: 2,
    }

    def format(self, record: logging.LogRecord) -> str:
        return f"<{self.PRIORITY.get(record.levelno, 6)}>{super().format(record)}"


def load(args: argparse.Namespace, *, require_token: bool = True) -> Config:
    from syncd.config.load import find_config_path, load_config
    from syncd.config.permissions import config_permission_warning, token_file_permission_warning

    path = find_config_path(args.config, os.environ)
    config = load_config(path, os.environ, require_token=require_token)
    if config.templates:  # custom templates are part of the config: they must compile
        from syncd.core.templates import Templates

        Templates(config.vault.format, config.templates, source=config.source)
    for warning in (
        config_permission_warning(path),
        token_file_permission_warning(config.readwise.token_file),
    ):
        if warning:
            log.warning("%s", warning)
    return config


@contextmanager
def locked_vault(
    args: argparse.Namespace, *, check: bool | None = None
) -> Iterator[tuple[Config, State]]:
    """Load the config, set up logging, hold the vault's lock and open its state (`check`: its
    whole file checked; None: when it may be damaged, see `syncd.edges.state`)."""
    import sqlite3

    from syncd.edges.state_files import CorruptStateError, StateError
    from syncd.engine.wiring import check_vault_place, open_state, vault_lock

    config = load(args)
    setup_logging(config.log_level)
    check_vault_place(config)
    with vault_lock(config):
        state = open_state(config, check=check)
        try:
            try:
                yield config, state
            except sqlite3.Error as error:  # e.g. another process kept a lock longer than waited
                raise state.error(error) from None
        except CorruptStateError as error:  # damage the check on opening did not run for
            raise StateError(
                f"the state database {state.path} is corrupt ({' '.join(str(error).split())});"
                " the next sync checks it, and moves it aside and rebuilds it from the vault if "
                "it is"
            ) from None
        finally:
            state.close()


@contextmanager
def dry_run_state(args: argparse.Namespace) -> Iterator[tuple[Config, State]]:
    """Load the config, set up logging and read the vault's state without writing anything:
    no lock is taken, no state folder or database is made (see `State.read_only_copy`)."""
    import sqlite3

    from syncd.engine.wiring import check_vault_place

    config = load(args)
    setup_logging(config.log_level)
    check_vault_place(config)
    state = _read_only_state(config)
    try:
        yield config, state
    except sqlite3.Error as error:
        raise state.error(error) from None
    finally:
        state.close()


def _read_only_state(config: Config) -> State:
    """The vault's state, opened read-only (`State.read_only_copy`); a damaged file is a
    one-line error naming it."""
    from syncd.edges.state import State
    from syncd.edges.state_files import CorruptStateError, database_path
    from syncd.errors import VaultError

    path = database_path(config.state_dir, config.vault.path)
    try:
        return State.read_only_copy(path)
    except CorruptStateError as error:
        raise VaultError(
            f"the state database {path} is damaged ({error}); a sync (not a dry "
            "run) moves it aside and rebuilds it from the vault"
        ) from None


_Read = TypeVar("_Read")


def read_recorded(args: argparse.Namespace, read: Callable[[State], _Read]) -> _Read:
    """What `read` gives of the vault's state, read without writing anything (as `syncd
    history` and `syncd conflicts` show it)."""
    import sqlite3

    state = _read_only_state(load(args, require_token=False))
    try:
        return read(state)
    except sqlite3.Error as error:
        raise state.error(error) from None
    finally:
        state.close()


def record_json(record: object) -> dict[str, Any]:
    """A record's fields for `--json`, a set of tags as a sorted list."""
    return {k: sorted(v) if isinstance(v, frozenset) else v for k, v in vars(record).items()}
