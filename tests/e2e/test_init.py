"""`syncd init` as a new user meets it (issue 12, item 1): under a pseudo-terminal with pexpect,
and with flags. Every prompt is tried with an empty answer, a path that does not exist, a file
where a folder goes, a folder no one can write, Ctrl-C and end of input; after each failure
nothing is written."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pexpect
import pytest
import yaml

from syncd.config.load import load_config

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "tok-init-0123456789abcdef"
UNWRITABLE = Path("/sys")  # a folder nobody, root included, can create a file in


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    (path / "notes").mkdir(parents=True)
    return path


def environment(home: Path) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("XDG_", "SYNCD_", "READWISE_"))
    }
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_STATE_HOME=str(home / ".local" / "state"),
        PYTHONPATH=str(ROOT),
        TERM="dumb",
        COLUMNS="100",
    )
    return env


def config_dir(home: Path) -> Path:
    return home / ".config" / "syncd"


def spawn(home: Path, *args: str, cwd: Path | None = None) -> pexpect.spawn:
    child = pexpect.spawn(
        sys.executable,
        ["-m", "syncd", "init", *args],
        cwd=str(cwd or home),
        env=environment(home),
        encoding="utf-8",
        timeout=30,
        dimensions=(24, 100),
    )
    return child


def finish(child: pexpect.spawn) -> tuple[int, str]:
    child.expect(pexpect.EOF)
    child.close()
    return child.exitstatus if child.exitstatus is not None else -1, child.before or ""


def run_init(
    home: Path, *args: str, cwd: Path | None = None, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "syncd", "init", *args],
        input=stdin,
        cwd=str(cwd or home),
        env=environment(home),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def assert_nothing_written(home: Path) -> None:
    folder = config_dir(home)
    assert not folder.exists() or sorted(p.name for p in folder.iterdir()) == []
    assert sorted(p.name for p in (home / "notes").iterdir()) == []


def assert_good_config(home: Path, vault: Path, vault_format: str = "logseq") -> None:
    config_path = config_dir(home) / "config.yaml"
    token_file = config_dir(home) / "readwise-token"
    assert stat.S_IMODE(config_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert token_file.read_text().strip() == TOKEN
    raw = yaml.safe_load(config_path.read_text())
    assert raw["vault"]["path"] == str(vault)  # absolute, as typed from where the user stood
    assert raw["readwise"]["token_file"] == str(token_file)
    assert "token" not in raw["readwise"]  # the token lives in its file only
    assert TOKEN not in config_path.read_text()
    config = load_config(config_path, environment(home))
    assert config.vault.path == vault
    assert config.vault.format == vault_format
    assert config.readwise.token == TOKEN
    assert [p.name for p in config_dir(home).iterdir() if p.name.startswith(".")] == []


# --------------------------------------------------------------------------------------------
# Under a pseudo-terminal
# --------------------------------------------------------------------------------------------


def test_a_relative_path_typed_at_the_prompt_is_stored_absolute(home: Path) -> None:
    """issue 12, item 1: `cd ~/notes && syncd init` answering `.` syncs into ~/notes, not into
    the config's folder; the token (not echoed) goes to a 0600 file; the next commands follow."""
    child = spawn(home, cwd=home / "notes")
    child.expect_exact("Folder of your Logseq graph or Obsidian vault: ")
    child.sendline(".")
    child.expect_exact("[logseq/obsidian, Enter: logseq]")
    child.sendline("")
    child.expect_exact("Readwise access token")
    child.sendline(TOKEN)
    status, output = finish(child)
    assert status == 0, output
    assert TOKEN not in output  # not echoed, not printed
    assert "syncd doctor" in output and "syncd sync --dry-run" in output
    assert "syncd service install" in output
    assert_good_config(home, home / "notes")


def test_every_bad_answer_is_explained_and_asked_again(home: Path, tmp_path: Path) -> None:
    """issue 12, item 1: empty, missing, a file, an unwritable folder, then a good answer; an
    unknown format; an empty token and one with a space: each one line, then the question
    again."""
    a_file = tmp_path / "a-file.md"
    a_file.write_text("x")
    child = spawn(home)
    question = "Folder of your Logseq graph or Obsidian vault: "
    child.expect_exact(question)
    for answer, complaint in (
        ("", "an answer is needed"),
        ("missing/graph", f"{home}/missing/graph does not exist"),
        (str(a_file), f"{a_file} is not a folder"),
        (str(UNWRITABLE), f"{UNWRITABLE} cannot be written: "),
    ):
        child.sendline(answer)
        child.expect_exact(complaint)
        child.expect_exact(question)
    child.sendline("~/notes")
    child.expect_exact("Enter: logseq]")
    child.sendline("roam")
    child.expect_exact("'roam' is not a format")
    child.expect_exact("Enter: logseq]")
    child.sendline("Obsidian")
    child.expect_exact("Readwise access token")
    child.sendline("")
    child.expect_exact("an answer is needed: your Readwise access token")
    child.expect_exact("Readwise access token")
    child.sendline("two words")
    child.expect_exact("no spaces or control characters")
    child.expect_exact("Readwise access token")
    child.sendline(TOKEN)
    status, output = finish(child)
    assert status == 0, output
    assert "Traceback" not in output
    assert_good_config(home, home / "notes", "obsidian")


@pytest.mark.parametrize("at", ["vault", "format", "token"])
@pytest.mark.parametrize("how", ["ctrl-c", "ctrl-d"])
def test_ctrl_c_and_eof_at_each_prompt_stop_cleanly_with_nothing_written(
    home: Path, at: str, how: str
) -> None:
    """issue 12, item 1: Ctrl-C and Ctrl-D (end of input) at every prompt: one line, no
    traceback, no file; Ctrl-C exits 130, end of input 2."""
    child = spawn(home)
    child.expect_exact("Folder of your")
    if at != "vault":
        child.sendline(str(home / "notes"))
        child.expect_exact("Enter: logseq]")
        if at == "token":
            child.sendline("")
            child.expect_exact("Readwise access token")
    if how == "ctrl-c":
        child.sendintr()
    else:
        child.sendeof()
    status, output = finish(child)
    assert "Traceback" not in output and "Error" not in output
    if how == "ctrl-c":
        assert status == 130
        assert "init cancelled; nothing written" in output
    else:
        assert status == 2
        assert "input ended before an answer" in output and "nothing written" in output
    assert_nothing_written(home)


def test_an_obsidian_vault_is_detected(home: Path) -> None:
    """issue 12, item 1: `.obsidian/` present means format obsidian, without asking."""
    (home / "notes" / ".obsidian").mkdir()
    child = spawn(home, "--vault", "notes")
    child.expect_exact("found an Obsidian vault")
    child.expect_exact("Readwise access token")
    child.sendline(TOKEN)
    status, output = finish(child)
    assert status == 0, output
    raw = yaml.safe_load((config_dir(home) / "config.yaml").read_text())
    assert raw["vault"] == {"path": str(home / "notes"), "format": "obsidian"}


# --------------------------------------------------------------------------------------------
# With flags (and stdin not a terminal)
# --------------------------------------------------------------------------------------------


def test_flags_alone_write_everything_with_a_relative_vault(home: Path) -> None:
    """issue 12, item 1: `cd ~/notes && syncd init --vault . --token T` stores ~/notes."""
    (home / "notes" / "logseq").mkdir()
    (home / "notes" / "logseq" / "config.edn").write_text("{}")
    result = run_init(home, "--vault", ".", "--token", TOKEN, cwd=home / "notes")
    assert result.returncode == 0, result.stderr
    assert TOKEN not in result.stdout + result.stderr
    assert "found a Logseq graph" in result.stderr
    assert_good_config(home, home / "notes")


def test_format_flag_wins_over_detection(home: Path) -> None:
    (home / "notes" / ".obsidian").mkdir()
    result = run_init(home, "--vault", "notes", "--token", TOKEN, "--format", "logseq")
    assert result.returncode == 0, result.stderr
    assert "looks like a Obsidian vault" not in result.stderr
    assert "using --format logseq" in result.stderr
    assert_good_config(home, home / "notes", "logseq")


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (["--vault", ""], "--vault: an answer is needed"),
        (["--vault", "nope"], "does not exist"),
        (["--vault", "notes/file.md"], "is not a folder"),
        (["--vault", str(UNWRITABLE)], "cannot be written: Permission denied"),
        (["--vault", "notes", "--token", ""], "--token: an answer is needed"),
        (["--vault", "notes", "--token", "a b"], "no spaces or control characters"),
    ],
)
def test_a_bad_flag_is_one_line_exit_2_nothing_written(
    home: Path, args: list[str], complaint: str
) -> None:
    (home / "notes" / "file.md").write_text("mine")
    result = run_init(home, *args, "--format", "logseq")
    assert result.returncode == 2
    assert complaint in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert not config_dir(home).exists()


def test_stdin_not_a_terminal_still_asks_for_the_token(home: Path) -> None:
    """The token question is not skipped silently: piped answers are read, a missing one
    stops init."""
    ok = run_init(home, "--vault", "notes", "--format", "logseq", stdin=TOKEN + "\n")
    assert ok.returncode == 0, ok.stderr
    assert "Readwise access token" in ok.stderr
    assert_good_config(home, home / "notes")


def test_dev_null_is_a_clean_exit(home: Path) -> None:
    """issue 12, item 1: `syncd init </dev/null` was an EOFError traceback."""
    result = run_init(home)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "input ended before an answer (give --vault); nothing written" in result.stderr
    assert not config_dir(home).exists()


def test_a_second_init_keeps_the_config_and_asks_nothing(home: Path) -> None:
    first = run_init(home, "--vault", "notes", "--format", "logseq", "--token", TOKEN)
    assert first.returncode == 0, first.stderr
    before = (config_dir(home) / "config.yaml").read_bytes()
    again = run_init(home, "--vault", "notes", "--format", "logseq", "--token", "other")
    assert again.returncode == 2
    assert "already exists; not overwriting it" in again.stderr
    assert (config_dir(home) / "config.yaml").read_bytes() == before
    assert (config_dir(home) / "readwise-token").read_text().strip() == TOKEN


def test_an_existing_token_file_is_kept_on_enter(home: Path) -> None:
    config_dir(home).mkdir(parents=True)
    token_file = config_dir(home) / "readwise-token"
    token_file.write_text(TOKEN + "\n")
    token_file.chmod(0o600)
    child = spawn(home, "--vault", "notes", "--format", "logseq")
    child.expect_exact(f"Enter keeps the one in {token_file}")
    child.sendline("")
    status, output = finish(child)
    assert status == 0, output
    assert f"kept {token_file}" in output
    assert_good_config(home, home / "notes")


def test_the_written_config_is_used_by_sync(home: Path) -> None:
    """The stored paths work from any folder: a sync from elsewhere writes into the vault."""
    from syncd.testing.fakereadwise import FakeReadwise

    with FakeReadwise(token=TOKEN) as server:
        server.add_book(
            title="Walden",
            author="Thoreau",
            highlights=[{"text": "Simplify, simplify.", "updated_at": "2023-01-01T00:00:00Z"}],
        )
        result = run_init(
            home, "--vault", ".", "--token", TOKEN, "--format", "logseq", cwd=home / "notes"
        )
        assert result.returncode == 0, result.stderr
        config_path = config_dir(home) / "config.yaml"
        text = config_path.read_text()
        config_path.write_text(
            text.replace("readwise:\n", f"readwise:\n  base_url: {server.url}\n")
        )
        sync = subprocess.run(
            [sys.executable, "-m", "syncd", "sync"],
            cwd=str(home),
            env=environment(home),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert sync.returncode == 0, sync.stderr
    assert (home / "notes" / "pages" / "Walden (highlights).md").exists()
    assert not (config_dir(home) / "pages").exists()
