"""`syncd init`: ask for (or take from flags) the vault, its format and the Readwise token, check
each answer on the spot, then write a starter config and a private token file.

Rules it keeps:
- The vault path is stored absolute, expanded from the folder the user stands in (a relative path
  in the config would be read relative to the config's folder, elsewhere).
- The format is detected (`logseq/config.edn`: Logseq; `.obsidian/`: Obsidian) unless `--format`
  chooses it; when neither is found it is asked on a terminal, Enter meaning logseq (logseq,
  said in a line, when stdin is not a terminal).
- The token goes to a 0600 file beside the config, `readwise-token` (for the default config that
  is `~/.config/syncd/readwise-token`, the file the systemd units load with `LoadCredential=`); the
  config names it in `readwise.token_file`. The token itself is never printed.
- A token file is never overwritten: other configs may use it. When `readwise-token` holds
  another token, the new one goes to a file named after the config (`work.yaml`:
  `work.readwise-token`); the same token shares the file.
- A bad answer at a prompt is explained in one line and asked again; a bad flag is an error.
  End of input (Ctrl-D, `</dev/null`) and Ctrl-C end the command cleanly, with nothing written.
- Both files are written to temporary files first and renamed into place at the end, so a failure
  leaves neither half-written.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import secrets
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TextIO

from syncd.config.generate import starter_config
from syncd.config.load import find_config_path
from syncd.config.schema import FORMATS
from syncd.errors import ConfigError, SyncdError, UsageError

TOKEN_URL = "https://readwise.io/access_token"
TOKEN_FILE_NAME = "readwise-token"
_BAD_TOKEN = re.compile(r"[\s\x00-\x1f\x7f]")


class InitCancelled(SyncdError):
    """The user pressed Ctrl-C or input ended before every answer was given."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class BadAnswer(ValueError):
    """An answer that cannot be used; `str()` says why, in one line."""


@dataclass(frozen=True)
class Answers:
    vault: Path
    format: str
    token: str | None  # None: keep the token file already there
    base_url: str | None = None  # None: Readwise's own (not written)


# --------------------------------------------------------------------------------------------
# Checks of single answers (pure apart from looking at the file system)
# --------------------------------------------------------------------------------------------


def check_vault(text: str, cwd: Path, env: Mapping[str, str]) -> Path:
    """Given the vault path as typed, return it absolute. Raise BadAnswer if it is empty, does
    not exist, is not a folder or cannot be written (with the OS's reason)."""
    text = text.strip()
    if not text:
        raise BadAnswer("an answer is needed: the folder of your Logseq graph or Obsidian vault")
    if text == "~" or text.startswith("~/"):
        text = (env.get("HOME") or str(Path.home())) + text[1:]
    path = Path(os.path.abspath(cwd / os.path.expanduser(text)))
    if not path.exists():
        raise BadAnswer(f"{path} does not exist (create the folder first, or give another)")
    if not path.is_dir():
        raise BadAnswer(f"{path} is not a folder")
    probe = path / f".syncd-init-{secrets.token_hex(4)}.tmp"
    try:
        probe.write_bytes(b"")
    except OSError as error:
        raise BadAnswer(f"{path} cannot be written: {error.strerror or error}") from None
    probe.unlink()
    return path


def detect_format(vault: Path) -> str | None:
    """Return 'logseq' or 'obsidian' when the vault says which it is, None when it does not
    (neither marker, or both)."""
    logseq = (vault / "logseq" / "config.edn").is_file()
    obsidian = (vault / ".obsidian").is_dir()
    if logseq == obsidian:
        return None
    return "logseq" if logseq else "obsidian"


def check_format(text: str) -> str:
    answer = text.strip().casefold() or "logseq"
    if answer not in FORMATS:
        raise BadAnswer(f"{text.strip()!r} is not a format: answer logseq or obsidian")
    return answer


def check_base_url(text: str) -> str:
    """Given `--base-url`, return it as the config keeps it. Raise BadAnswer (the config's own
    check, in one line) if the config would refuse it."""
    from syncd.config.build import _base_url
    from syncd.config.check import Context

    try:
        return _base_url(text, Context(None, {}))
    except ConfigError as error:
        raise BadAnswer(error.problem) from None


def check_token(text: str) -> str:
    token = text.strip()
    if not token:
        raise BadAnswer(f"an answer is needed: your Readwise access token, from {TOKEN_URL}")
    if _BAD_TOKEN.search(token):
        raise BadAnswer(
            f"a token has no spaces or control characters; copy it again from {TOKEN_URL}"
        )
    return token


# --------------------------------------------------------------------------------------------
# Asking
# --------------------------------------------------------------------------------------------


class Prompter:
    """Asks questions on a terminal (or reads answers from a pipe), re-asking after a bad one."""

    def __init__(self, stdin: TextIO, out: TextIO) -> None:
        self._stdin = stdin
        self._out = out
        self.interactive = stdin.isatty()

    def ask(
        self, question: str, check: Callable[[str], object], *, secret: bool = False, flag: str
    ) -> object:
        while True:
            answer = self._read(question, secret=secret, flag=flag)
            try:
                return check(answer)
            except BadAnswer as error:
                print(f"  {error}", file=self._out, flush=True)
                if not self.interactive:  # a pipe will not answer differently next time
                    raise UsageError(f"init: {error}") from None

    def _read(self, question: str, *, secret: bool, flag: str) -> str:
        try:
            if secret and self.interactive:
                import getpass

                return getpass.getpass(question, stream=self._out)
            self._out.write(question)
            self._out.flush()
            line = self._stdin.readline()
        except KeyboardInterrupt:
            self._out.write("\n")
            raise InitCancelled("init cancelled; nothing written", 130) from None
        except EOFError:
            line = ""
        if not line:  # end of input: no answer will come
            self._out.write("\n")
            raise InitCancelled(
                f"init: input ended before an answer (give {flag}); nothing written", 2
            )
        return line.rstrip("\n")


def gather(
    flags: dict[str, str | None],
    prompter: Prompter,
    token_file: Path,
    cwd: Path,
    env: Mapping[str, str],
    out: TextIO,
) -> Answers:
    """Return the answers: each flag checked (a bad one raises UsageError), each missing one
    asked for."""
    vault = _vault(flags, prompter, cwd, env, out)
    detected = detect_format(vault)
    if flags["format"] is not None:
        vault_format = _from_flag("--format", lambda: check_format(flags["format"] or ""))
        if detected and detected != vault_format:
            kind = "a Logseq graph" if detected == "logseq" else "an Obsidian vault"
            print(
                f"note: {vault} looks like {kind}; using --format {vault_format} as asked", file=out
            )
    elif detected:
        vault_format = detected
        kind = "a Logseq graph" if detected == "logseq" else "an Obsidian vault"
        print(f"found {kind} in {vault}", file=out)
    elif not prompter.interactive:  # flags and a pipe: the usual default, said aloud
        vault_format = "logseq"
        print(
            f"no logseq/config.edn or .obsidian/ in {vault}: format logseq (--format "
            "obsidian for an Obsidian vault)",
            file=out,
        )
    else:
        vault_format = prompter.ask(
            "Is it a Logseq graph or an Obsidian vault? [logseq/obsidian, Enter: logseq] ",
            check_format,
            flag="--format",
        )
    token: object
    if flags["token"] is not None:
        token = _from_flag("--token", lambda: check_token(flags["token"] or ""))
    elif _holds_text(token_file):
        token = prompter.ask(
            f"Readwise access token (Enter keeps the one in {token_file}): ",
            lambda text: check_token(text) if text.strip() else None,
            secret=True,
            flag="--token",
        )
    else:
        token = prompter.ask(
            f"Readwise access token (from {TOKEN_URL}): ", check_token, secret=True, flag="--token"
        )
    assert token is None or isinstance(token, str)
    base_url = None
    if flags.get("base_url") is not None:
        base_url = str(_from_flag("--base-url", lambda: check_base_url(flags["base_url"] or "")))
    return Answers(vault=vault, format=str(vault_format), token=token, base_url=base_url)


def _vault(
    flags: dict[str, str | None],
    prompter: Prompter,
    cwd: Path,
    env: Mapping[str, str],
    out: TextIO,
) -> Path:
    """The vault's top folder: `--vault` or the answer, checked; one folder off, the graph or
    vault above is offered (`syncd.commands.init_vault.top_folder`)."""
    from syncd.commands.init_vault import top_folder

    while True:
        if flags["vault"] is not None:
            vault = _from_flag("--vault", lambda: check_vault(flags["vault"] or "", cwd, env))
        else:
            vault = prompter.ask(
                "Folder of your Logseq graph or Obsidian vault: ",
                lambda text: check_vault(text, cwd, env),
                flag="--vault",
            )
        assert isinstance(vault, Path)
        top = top_folder(vault, prompter, flag_given=flags["vault"] is not None, out=out)
        if top is not None:
            return top


def _from_flag(flag: str, check: Callable[[], object]) -> object:
    try:
        return check()
    except BadAnswer as error:
        raise UsageError(f"init: {flag}: {error}") from None


def _holds_text(path: Path) -> bool:
    try:
        return bool(path.read_text(encoding="utf-8").strip())
    except (OSError, UnicodeDecodeError):
        return False


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------


def _private_temp(folder: Path, text: str) -> Path:
    """Write `text` to a new 0600 temporary file in `folder`, fsynced; return its path."""
    path = folder / f".syncd-init-{secrets.token_hex(6)}.tmp"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    return path


def _token_in(path: Path) -> str | None:
    """The token a file holds ("" for an empty or missing file, None for one unreadable)."""
    try:
        return path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return ""
    except (OSError, UnicodeDecodeError):
        return None


def token_file_for(config_path: Path, token: str | None) -> tuple[Path, bool]:
    """Return where the config's token lives and whether to write it there: `readwise-token`
    beside the config when it is free or holds this very token, else a file named after the
    config. Raise UsageError when both hold other tokens: neither is overwritten."""
    shared = config_path.parent / TOKEN_FILE_NAME
    if token is None:  # Enter at the prompt: keep the token already in the shared file
        return shared, False
    stem = config_path.name.removesuffix(".yaml").removesuffix(".yml") or config_path.name
    own = config_path.parent / f"{stem}.{TOKEN_FILE_NAME}"
    for path in (shared, own):
        held = _token_in(path)
        if held == token:
            return path, False
        if held == "":
            return path, True
    raise UsageError(
        f"init: {shared} and {own} hold other tokens (other configs may use them); not "
        f"overwriting either: remove {own} if no config uses it, and run syncd init again"
    )


def write_files(config_path: Path, token_file: Path, answers: Answers) -> None:
    """Write the token file (when there is a new token) and the config, or neither."""
    config_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    text = starter_config(
        str(answers.vault),
        None,
        vault_format=answers.format,
        token_file=str(token_file),
        base_url=answers.base_url,
    )
    temps: list[Path] = []
    try:
        temps.append(_private_temp(config_path.parent, text))
        if answers.token is not None:
            temps.append(_private_temp(token_file.parent, answers.token + "\n"))
        if config_path.exists():
            raise ConfigError(config_path, None, "appeared while init ran; not overwriting it")
        if answers.token is not None:
            os.replace(temps[1], token_file)
        os.link(temps[0], config_path)  # fails if a config appeared meanwhile: never overwrites
    except FileExistsError:
        raise ConfigError(
            config_path, None, "appeared while init ran; not overwriting it"
        ) from None
    except OSError as error:
        raise ConfigError(
            config_path, None, f"cannot be written: {error.strerror or error}"
        ) from None
    finally:
        for temp in temps:
            with contextlib.suppress(FileNotFoundError):
                temp.unlink()


def next_commands(config_path: Path, default_path: Path) -> list[str]:
    """The three commands to run after init, with --config when the config is not the default."""
    option = "" if config_path == default_path else f" --config {_quote(str(config_path))}"
    return [
        f"syncd doctor{option}",
        f"syncd sync --dry-run{option}",
        f"syncd service install{option}",
    ]


def _quote(text: str) -> str:
    import shlex

    return shlex.quote(text)


def run_init(
    flags: dict[str, str | None],
    config_arg: str | None,
    env: Mapping[str, str],
    stdin: TextIO | None = None,
    out: TextIO | None = None,
    stdout: TextIO | None = None,
) -> int:
    """`syncd init`: gather the answers, write the config and token file, print what is next.
    The streams default to the process's, as they are when called (not when imported)."""
    stdin, out, stdout = stdin or sys.stdin, out or sys.stderr, stdout or sys.stdout
    config_path = Path(os.path.abspath(find_config_path(config_arg, env)))
    if config_path.exists():
        raise ConfigError(
            config_path,
            None,
            "already exists; not overwriting it (edit it, or remove it and run syncd init again)",
        )
    shared = config_path.parent / TOKEN_FILE_NAME
    answers = gather(flags, Prompter(stdin, out), shared, Path.cwd(), env, out)
    token_file, new = token_file_for(config_path, answers.token)
    write_files(config_path, token_file, replace(answers, token=answers.token if new else None))
    default_path = Path(os.path.abspath(find_config_path(None, env)))
    print(f"wrote {config_path}", file=stdout)
    if new:
        other = f"; {shared} holds another token (kept)" if token_file != shared else ""
        print(f"wrote {token_file} (readable by you only{other})", file=stdout)
    else:
        print(f"kept {token_file}", file=stdout)
    print("next:", file=stdout)
    for command in next_commands(config_path, default_path):
        print(f"  {command}", file=stdout)
    return 0


def command(args: argparse.Namespace) -> int:

    return run_init(
        {
            "vault": args.vault,
            "format": args.format,
            "token": args.token,
            "base_url": args.base_url,
        },
        args.config,
        os.environ,
    )
