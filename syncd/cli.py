"""The command line: `syncd sync|run|status|doctor|resync|demo|init|service`.

Arguments are parsed here and each command is a small function; the one place where a SyncdError
becomes a line on stderr and an exit code is `main`. Heavy modules are imported inside the
commands so that `syncd --help` starts fast.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from syncd.config.settings import Config
    from syncd.edges.state import State
    from syncd.engine.sync import Syncer

log = logging.getLogger("syncd")

EXIT_OK, EXIT_PARTIAL = 0, 1  # usage and other errors: their own exit_code (syncd.errors)


def _parser() -> argparse.ArgumentParser:
    from syncd import __version__

    # The options every command takes, before or after the command's name, with one meaning:
    # the main parser gives the default; a command's own copy sets a value only when given
    # (SUPPRESS), so that `syncd --config A sync` is not undone by the command's default.
    config_help = "config file (default: $SYNCD_CONFIG, then $XDG_CONFIG_HOME/syncd/config.yaml)"
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", metavar="PATH", default=argparse.SUPPRESS, help=config_help)
    parser = argparse.ArgumentParser(
        prog="syncd",
        description="Keeps Readwise highlights synced into a Logseq graph or Obsidian vault.")
    parser.add_argument("--config", metavar="PATH", help=config_help)
    parser.add_argument("--version", action="version", version=f"syncd {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    sync = commands.add_parser("sync", parents=[common], help="one sync now, then exit")
    sync.add_argument("--dry-run", action="store_true",
                      help="print a diff of every page it would change; write nothing")
    sync.add_argument("--full", action="store_true",
                      help="ignore the saved cursor and fetch everything (never duplicates)")
    sync.add_argument("--json", action="store_true", help="print one JSON summary on stdout")
    sync.set_defaults(handler=cmd_sync)

    run = commands.add_parser("run", parents=[common],
                              help="the daemon: sync on start, on a schedule, watch the vault")
    run.set_defaults(handler=cmd_run)

    resync = commands.add_parser("resync", parents=[common],
                                 help="re-create a page you deleted")
    resync.add_argument("book", help="a Readwise book id, a title (with or without "
                                     "\" (highlights)\") or the page's path")
    resync.set_defaults(handler=cmd_resync)

    doctor = commands.add_parser("doctor", parents=[common],
                                 help="check config, token, vault and watcher limits")
    doctor.set_defaults(handler=cmd_doctor)

    status = commands.add_parser("status", parents=[common], help="what syncd knows")
    status.add_argument("--json", action="store_true", help="print JSON on stdout")
    status.add_argument("--books", action="store_true",
                        help="list every book: its page, the page's status, its highlights "
                             "(through $PAGER on a terminal)")
    status.set_defaults(handler=cmd_status)

    demo = commands.add_parser("demo", parents=[common],
                               help="sync a built-in sample library into a new Logseq graph")
    demo.add_argument("dir", nargs="?", default="syncd-demo-graph",
                      help="where to create the graph (default: ./syncd-demo-graph)")
    demo.set_defaults(handler=cmd_demo)

    init = commands.add_parser(
        "init", parents=[common], help="write a starter config and a private token file",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Write a starter config (vault path stored absolute, format detected) and "
                    "the token in a 0600 file beside it, `readwise-token`, which the config and "
                    "`syncd service install` both use. Asks for what no flag gives; Ctrl-C or "
                    "end of input stops it with nothing written.",
        epilog="then: syncd doctor; syncd sync --dry-run; syncd service install")
    init.add_argument("--token", help="Readwise access token (asked for when omitted)")
    init.add_argument("--vault", help="vault path (asked for when omitted)")
    init.add_argument("--format", choices=("logseq", "obsidian"),
                      help="page format (default: detected from logseq/config.edn or .obsidian/, "
                           "else asked)")
    init.set_defaults(handler=cmd_init)

    service = commands.add_parser(
        "service", parents=[common], help="run syncd in the background (systemd or launchd)",
        description="install: write and start a systemd user unit (Linux) or launchd agent "
                    "(macOS) running this syncd; uninstall: remove what install wrote (a file "
                    "you changed is kept); status: what is installed and whether it runs.")
    service.add_argument("action", choices=("install", "uninstall", "status"))
    service.add_argument("--timer", action="store_true",
                         help="install an hourly one-shot sync instead of the daemon")
    service.set_defaults(handler=cmd_service)
    return parser


def setup_logging(level: str = "info") -> None:
    """Log to stderr; under systemd (JOURNAL_STREAM) with `<N>` priorities and no timestamps."""
    handler = logging.StreamHandler(sys.stderr)
    if os.environ.get("JOURNAL_STREAM"):
        handler.setFormatter(_JournalFormatter("%(name)s: %(message)s"))
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s",
                                               "%Y-%m-%d %H:%M:%S"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.getLogger("urllib3").setLevel(logging.WARNING)
    # APScheduler tells of every job added and run at INFO: chatter in the daemon's log.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)


class _JournalFormatter(logging.Formatter):
    PRIORITY: ClassVar[dict[int, int]] = {
        logging.DEBUG: 7, logging.INFO: 6, logging.WARNING: 4, logging.ERROR: 3,
                logging.CRITICAL: 2}

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
    for warning in (config_permission_warning(path),
                    token_file_permission_warning(config.readwise.token_file)):
        if warning:
            log.warning("%s", warning)
    return config


@contextmanager
def locked_vault(args: argparse.Namespace) -> Iterator[tuple[Config, State]]:
    """Load the config, set up logging, hold the vault's lock and open its state."""
    import sqlite3

    from syncd.engine.wiring import open_state, vault_lock

    config = load(args)
    setup_logging(config.log_level)
    with vault_lock(config):
        state = open_state(config)
        try:
            yield config, state
        except sqlite3.Error as error:  # e.g. another process kept a lock longer than waited
            raise state.error(error) from None
        finally:
            state.close()


@contextmanager
def dry_run_state(args: argparse.Namespace) -> Iterator[tuple[Config, State]]:
    """Load the config, set up logging and read the vault's state without writing anything:
    no lock is taken, no state folder or database is made (see `State.read_only_copy`)."""
    import sqlite3

    from syncd.edges.state import CorruptStateError, State, database_path
    from syncd.errors import VaultError

    config = load(args)
    setup_logging(config.log_level)
    path = database_path(config.state_dir, config.vault.path)
    try:
        state = State.read_only_copy(path)
    except CorruptStateError as error:
        raise VaultError(f"the state database {path} is damaged ({error}); a sync (not a dry "
                         "run) moves it aside and rebuilds it from the vault") from None
    try:
        yield config, state
    except sqlite3.Error as error:
        raise state.error(error) from None
    finally:
        state.close()


def cmd_sync(args: argparse.Namespace) -> int:
    import sqlite3

    from syncd.commands.progress import ProgressBar
    from syncd.commands.status import record_error, record_sync
    from syncd.engine.wiring import make_syncer

    with (dry_run_state if args.dry_run else locked_vault)(args) as (config, state):
        bar = ProgressBar(sys.stderr) if sys.stderr.isatty() and not args.json else None
        if bar:  # at once, before Readwise answers; log lines print above it
            bar.capture_logging()
            cursor = None if args.full else state.get("cursor")
            bar.start(f"asking Readwise for changes since {cursor}" if cursor
                      else "asking Readwise for every book")
        try:
            report = make_syncer(config, state, os.environ,
                                 progress=bar.update if bar else None).sync(
                full=args.full, dry_run=args.dry_run)
            if not args.dry_run:
                record_sync(state, report)
        except Exception as error:
            if not args.dry_run:
                with suppress(sqlite3.Error):  # the database may be what failed
                    record_error(state, error)
            raise
        finally:
            if bar:
                bar.close()
    for diff in report.diffs:
        sys.stdout.write(diff)
    if args.json:
        print(json.dumps({**report.as_json(), "dry_run": args.dry_run}))
    else:
        print(report.summary(), file=sys.stderr if args.dry_run else sys.stdout)
    for _book, message in report.failed:
        print(f"syncd: failed: {message}", file=sys.stderr)
    return EXIT_PARTIAL if report.failed else EXIT_OK


def cmd_run(args: argparse.Namespace) -> int:
    from syncd.commands.daemon import Daemon
    from syncd.engine.wiring import make_syncer

    def syncer_of(config: Config, state: State, *, should_stop: Callable[[], bool],
                  progress: Callable[[int, int, int], None],
                  sleep: Callable[[float], None]) -> Syncer:
        return make_syncer(config, state, os.environ, should_stop=should_stop,
                           progress=progress, sleep=sleep)

    with locked_vault(args) as (config, state):
        daemon = Daemon(config, state, env=os.environ, make_syncer=syncer_of,
                        load_config=lambda: load(args))
        daemon.install_signal_handlers()
        return daemon.run()


def cmd_resync(args: argparse.Namespace) -> int:
    from pathlib import Path

    from syncd.commands.status import book_entries
    from syncd.core.books import find_book
    from syncd.engine.wiring import make_syncer

    with locked_vault(args) as (config, state):
        book = find_book(args.book, book_entries(state), vault=config.vault.path,
                         cwd=Path.cwd(), home=Path.home())
        syncer = make_syncer(config, state, os.environ)
        if book.status == "active" and book.path and syncer.vault.path(book.path).exists():
            print(f"{book.path} is there; nothing to re-create")
            return EXIT_OK
        syncer.forget(book.book_id)
        report = syncer.sync(book_ids=[book.book_id])
    print(report.summary())
    return EXIT_PARTIAL if report.failed else EXIT_OK


def cmd_doctor(args: argparse.Namespace) -> int:
    from syncd.commands.doctor import run_checks
    from syncd.config.load import find_config_path
    from syncd.edges.watcher import inotify_limits
    from syncd.errors import ConfigError

    try:
        config = load(args, require_token=False)
    except ConfigError as error:
        print(f"FAIL config: {error}")
        return EXIT_PARTIAL
    print(f"ok   config: {config.source}")
    checks = run_checks(config, find_config_path(args.config, os.environ), inotify_limits)
    for check in checks:
        print(check.line())
    return EXIT_OK if all(check.ok for check in checks) else EXIT_PARTIAL


def cmd_status(args: argparse.Namespace) -> int:
    from syncd.commands.status import collect_status, format_status

    config = load(args, require_token=False)
    status = collect_status(config, books=args.books)
    if args.json:
        print(json.dumps(status))
    else:
        page(format_status(status) + "\n")
    return EXIT_OK


def page(text: str) -> None:
    """Write `text` to stdout; through $PAGER (else `less -FRX`) when stdout and stdin are a
    terminal and the text is taller than it."""
    import shutil
    import subprocess

    height = shutil.get_terminal_size().lines
    if not (sys.stdout.isatty() and sys.stdin.isatty()) or text.count("\n") < height - 1:
        sys.stdout.write(text)
        return
    import shlex

    command = shlex.split(os.environ.get("PAGER") or "less -FRX")
    sys.stdout.flush()
    try:
        subprocess.run(command, input=text, text=True, check=False)
    except OSError:  # no such pager
        sys.stdout.write(text)


def cmd_demo(args: argparse.Namespace) -> int:
    from syncd.commands.demo import run_demo
    from syncd.errors import UsageError

    if args.config is not None:  # refused, not ignored: the demo uses no config
        raise UsageError("`syncd demo` uses no config (it syncs a built-in sample library); "
                         "leave out --config")

    setup_logging("warning")
    return run_demo(args.dir, out=sys.stdout)


def cmd_init(args: argparse.Namespace) -> int:
    from syncd.commands.init import run_init

    return run_init({"vault": args.vault, "format": args.format, "token": args.token},
                    args.config, os.environ)


def cmd_service(args: argparse.Namespace) -> int:
    from syncd.commands import service_context
    from syncd.commands.service import run_service

    if args.action == "install":
        load(args)  # a service with a broken config would only fail in the background
    context = service_context.make_context(args.config, os.environ,
                                           service_context.current_platform(), sys.stdout)
    return run_service(args.action, timer=args.timer, context=context)


GLOBAL_OPTIONS = ("--config", "--version", "-h", "--help")


def misplaced_option(argv: Sequence[str], commands: Sequence[str]) -> str | None:
    """Return a command's own option given before the command's name (`syncd --dry-run sync`),
    or None: only the options every command takes may come first."""
    takes_value = False
    for arg in argv:
        if takes_value:
            takes_value = False
        elif arg in commands:
            return None
        elif arg.startswith("-") and arg.split("=", 1)[0] not in GLOBAL_OPTIONS:
            return arg
        else:
            takes_value = arg == "--config"
    return None


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    arguments = sys.argv[1:] if argv is None else list(argv)
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    option = misplaced_option(arguments, list(commands.choices))
    if option is not None:
        print(f"syncd: {option} is not an option of syncd itself; a command's options come "
              "after its name "
              "(e.g. `syncd sync --dry-run`)", file=sys.stderr)
        return 2
    args = parser.parse_args(arguments)
    handler: Callable[[argparse.Namespace], int] = args.handler
    if not logging.getLogger().handlers:
        setup_logging()
    from syncd.errors import SyncdError

    try:
        return handler(args)
    except SyncdError as error:
        print(f"syncd: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("syncd: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `syncd ... | head`: the reader left; nothing more to say
        sys.stderr.close()
        return EXIT_OK
