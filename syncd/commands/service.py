"""`syncd service install [--timer] [--dry-run] [--replace] | uninstall | status`: run syncd in
the background, one service per config.

On Linux a systemd *user* unit (`syncd.service`, the daemon; or `syncd-sync.service` plus
`syncd-sync.timer`, an hourly one-shot sync) is written to `$XDG_CONFIG_HOME/systemd/user/` and
enabled with `systemctl --user`; on macOS a launchd agent is written to `~/Library/LaunchAgents/`
and loaded with `launchctl bootstrap gui/<uid>`. The default config's service has those names;
another config's is an instance named after its file: `work.yaml` runs as `syncd@work.service`
(`syncd-sync@work.timer`), `io.syncd.run.work` (`io.syncd.sync.work`).

Rules it keeps:
- One service per config. Which config a unit runs is read from its ExecStart= (an agent's
  ProgramArguments): install refuses to take over a unit running another config unless
  `--replace`, and to add a second service for a config that has one; uninstall removes the
  units that run the config it is given, whatever their names; status lists every one.
- `--dry-run` prints every file install would write and every command it would run, and does
  nothing else.
- The unit runs the syncd that runs this command: the `syncd` script it was started as, else
  `<this python> -m syncd` (a virtualenv, pipx, ~/.local/bin all work), with `--config` when the
  config is not the default one. The token reaches the unit from the token file beside the config
  (`LoadCredential=`); the config names the same file.
- What install writes is recorded (path and SHA-256) in `$XDG_STATE_HOME/syncd/services.json`.
  A file already there that syncd did not write, or that was changed since, is kept as it is and
  said so; `uninstall` removes only files whose bytes are still the ones install wrote.
- When the service manager refuses (no user bus, a bad unit), the files this run wrote are taken
  back: nothing is left half-installed.
"""

from __future__ import annotations

import argparse
import os
import sys

from syncd.commands.common import load
from syncd.commands.service_context import Context
from syncd.commands.service_launchd import launchd_install, launchd_status, launchd_uninstall
from syncd.commands.service_managers import (
    systemd_install,
    systemd_status,
    systemd_uninstall,
)
from syncd.errors import UsageError


def run_service(action: str, *, timer: bool, context: Context) -> int:
    """`syncd service ACTION`: install, uninstall or status, for this platform."""

    def say(line: str) -> None:
        print(line, file=context.out, flush=True)

    if context.platform.startswith("linux"):
        if action == "install":
            systemd_install(context, timer, say)
            return 0
        return (
            systemd_uninstall(context, say)
            if action == "uninstall"
            else systemd_status(context, say)
        )
    if context.platform == "darwin":
        if action == "install":
            launchd_install(context, timer, say)
            return 0
        return (
            launchd_uninstall(context, say)
            if action == "uninstall"
            else launchd_status(context, say)
        )
    raise UsageError(
        f"service: no service manager syncd knows on {context.platform} (systemd "
        "on Linux, launchd on macOS); start `syncd run` another way"
    )


def command(args: argparse.Namespace) -> int:
    from syncd.commands import service_context

    dry_run, replace = getattr(args, "dry_run", False), getattr(args, "replace", False)
    if (dry_run or replace) and args.action != "install":
        raise UsageError(
            f"service {args.action}: --dry-run and --replace go with `syncd service install`"
        )
    options: dict[str, object] = {"dry_run": dry_run, "replace": replace}
    if args.action == "install":
        config = load(args)  # a service with a broken config would only fail in the background
        options.update(
            vault_format=config.vault.format, config_token_file=config.readwise.token_file
        )
    context = service_context.make_context(
        args.config, os.environ, service_context.current_platform(), sys.stdout, **options
    )
    return run_service(args.action, timer=args.timer, context=context)
