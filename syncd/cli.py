"""The command line: `syncd sync|run|status|doctor|resync|demo|init|service`.

Arguments are parsed here; each command is the `command(args)` of its module in
`syncd.commands`, imported only when it runs, so that `syncd --help` starts fast. `main` is the
one place where a SyncdError becomes a line on stderr and an exit code.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Callable, Sequence

from syncd.commands.common import EXIT_OK, setup_logging


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
        description="Keeps Readwise highlights synced into a Logseq graph or Obsidian vault.",
    )
    parser.add_argument("--config", metavar="PATH", help=config_help)
    parser.add_argument("--version", action="version", version=f"syncd {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    sync = commands.add_parser("sync", parents=[common], help="one sync now, then exit")
    sync.add_argument(
        "--dry-run",
        action="store_true",
        help="print a diff of every page it would change; write nothing",
    )
    sync.add_argument(
        "--full",
        action="store_true",
        help="ignore the saved cursor and fetch everything (never duplicates)",
    )
    sync.add_argument("--json", action="store_true", help="print one JSON summary on stdout")
    sync.set_defaults(module="sync")

    run = commands.add_parser(
        "run", parents=[common], help="the daemon: sync on start, on a schedule, watch the vault"
    )
    run.set_defaults(module="daemon")

    resync = commands.add_parser("resync", parents=[common], help="re-create a page you deleted")
    resync.add_argument(
        "book",
        help='a Readwise book id, a title (with or without " (highlights)") or the page\'s path',
    )
    resync.set_defaults(module="resync")

    doctor = commands.add_parser(
        "doctor", parents=[common], help="check config, token, vault and watcher limits"
    )
    doctor.set_defaults(module="doctor")

    status = commands.add_parser("status", parents=[common], help="what syncd knows")
    status.add_argument("--json", action="store_true", help="print JSON on stdout")
    status.add_argument(
        "--books",
        action="store_true",
        help="list every book: its page, the page's status, its highlights "
        "(through $PAGER on a terminal)",
    )
    status.set_defaults(module="status")

    history = commands.add_parser(
        "history", parents=[common], help="the edits pushed to Readwise, newest first"
    )
    history.add_argument("--json", action="store_true", help="print JSON on stdout")
    history.set_defaults(module="history")

    revert = commands.add_parser(
        "revert", parents=[common], help="put back in Readwise what a push replaced"
    )
    revert.add_argument("number", nargs="?", type=int, help="the push's number (syncd history)")
    revert.add_argument("--since", metavar="TIME", help="every push since TIME (ISO 8601)")
    revert.set_defaults(module="revert")

    conflicts = commands.add_parser(
        "conflicts", parents=[common], help="fields changed differently here and in Readwise"
    )
    conflicts.add_argument("--json", action="store_true", help="print JSON on stdout")
    conflicts.set_defaults(module="conflicts")

    resolve = commands.add_parser("resolve", parents=[common], help="settle a highlight's conflict")
    resolve.add_argument("highlight", type=int, help="the highlight's id (syncd conflicts)")
    resolve.add_argument("--keep", required=True, choices=("vault", "readwise"))
    resolve.set_defaults(module="resolve")

    demo = commands.add_parser(
        "demo", parents=[common], help="sync a built-in sample library into a new Logseq graph"
    )
    demo.add_argument(
        "dir",
        nargs="?",
        default="syncd-demo-graph",
        help="where to create the graph (default: ./syncd-demo-graph)",
    )
    demo.set_defaults(module="demo")

    init = commands.add_parser(
        "init",
        parents=[common],
        help="write a starter config and a private token file",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Write a starter config (vault path stored absolute, format detected) and "
        "the token in a 0600 file beside it, `readwise-token`, which the config and "
        "`syncd service install` both use. Asks for what no flag gives; Ctrl-C or "
        "end of input stops it with nothing written.",
        epilog="then: syncd doctor; syncd sync --dry-run; syncd service install",
    )
    init.add_argument("--token", help="Readwise access token (asked for when omitted)")
    init.add_argument("--vault", help="vault path (asked for when omitted)")
    init.add_argument(
        "--format",
        choices=("logseq", "obsidian"),
        help="page format (default: detected from logseq/config.edn or .obsidian/, else asked)",
    )
    init.add_argument(
        "--base-url",
        metavar="URL",
        help="the Readwise API's address (readwise.base_url; default https://readwise.io)",
    )
    init.set_defaults(module="init")

    service = commands.add_parser(
        "service",
        parents=[common],
        help="run syncd in the background (systemd or launchd)",
        description="install: write and start a systemd user unit (Linux) or launchd agent "
        "(macOS) running this syncd for the config (one per config: the default config's is "
        "syncd.service, work.yaml's syncd@work.service); uninstall: remove what install wrote "
        "for the config (a file you changed is kept); status: every syncd service installed, "
        "its config, and whether it runs.",
    )
    service.add_argument("action", choices=("install", "uninstall", "status"))
    service.add_argument(
        "--timer", action="store_true", help="install an hourly one-shot sync instead of the daemon"
    )
    service.add_argument(
        "--dry-run",
        action="store_true",
        help="install: print every file it would write and every command it would run; do nothing",
    )
    service.add_argument(
        "--replace",
        action="store_true",
        help="install: take over the service of the same name that runs another config",
    )
    service.set_defaults(module="service")
    return parser


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
        print(
            f"syncd: {option} is not an option of syncd itself; a command's options come "
            "after its name "
            "(e.g. `syncd sync --dry-run`)",
            file=sys.stderr,
        )
        return 2
    args = parser.parse_args(arguments)
    if not logging.getLogger().handlers:
        setup_logging()
    # The command's module is imported only now: `syncd --help` starts fast.
    handler: Callable[[argparse.Namespace], int] = importlib.import_module(
        f"syncd.commands.{args.module}"
    ).command
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
