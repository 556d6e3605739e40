"""The command line, end to end: `syncd sync/status/demo/init` as a user runs them, with exit
codes, one-line errors, and the token kept out of everything printed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml

import syncd.engine.wiring
from syncd.cli import main
from syncd.edges.readwise import ReadwiseClient
from syncd.testing.fakereadwise import FakeReadwise
from syncd.testing.faults import Fault
from tests.e2e.conftest import TOKEN

NOW = "2023-03-17T17:05:00Z"


def write_config(tmp_path: Path, server: FakeReadwise, vault: Path, **extra: Any) -> Path:
    data: dict[str, Any] = {
        "readwise": {"token": TOKEN, "base_url": server.url},
        "vault": {"path": str(vault), "timezone": "UTC"},
        "state_dir": str(tmp_path / "state"),
    }
    data.update(extra)
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    path.chmod(0o600)
    return path


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "SYNCD_NOW": NOW, "TZ": "UTC", **(env or {})}
    full_env.pop("READWISE_TOKEN", None)
    return subprocess.run(
        [sys.executable, "-m", "syncd", *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=120,
        check=False,
    )


@pytest.fixture
def no_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retries in the in-process runs below do not wait (the backoff itself is unit-tested)."""
    real = syncd.engine.wiring.make_client

    def fast(config: Any, **kwargs: Any) -> ReadwiseClient:
        return real(config, **{**kwargs, "sleep": lambda _: None})

    monkeypatch.setattr(syncd.engine.wiring, "make_client", fast)
    monkeypatch.setenv("SYNCD_NOW", NOW)
    monkeypatch.delenv("READWISE_TOKEN", raising=False)


def test_sync_writes_the_page_and_prints_the_summary(
    tmp_path: Path, server: FakeReadwise, vault: Path
) -> None:
    config = write_config(tmp_path, server, vault)
    result = run("sync", "--config", str(config))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "1 new highlight in 1 page (1 new)"
    page = (vault / "pages" / "Walden (highlights).md").read_text(encoding="utf-8")
    assert "- Highlights first synced by [[Readwise]] [[Mar 17th, 2023]]" in page
    assert TOKEN not in result.stdout + result.stderr


def test_sync_json_and_status_json(tmp_path: Path, server: FakeReadwise, vault: Path) -> None:
    config = write_config(tmp_path, server, vault)
    # The cursor is Readwise's clock less a minute; $SYNCD_NOW only dates what is rendered.
    server.clock = lambda: datetime(2023, 3, 17, 18, 0, tzinfo=timezone.utc)  # type: ignore[method-assign]
    result = run("sync", "--json", "--config", str(config))
    summary = json.loads(result.stdout)
    assert summary["new_highlights"] == 1 and summary["pages_created"] == 1
    assert summary["cursor"] == "2023-03-17T17:59:00.000000Z"
    status = run("status", "--json", "--config", str(config))
    data = json.loads(status.stdout)
    assert data["cursor"] == "2023-03-17T17:59:00.000000Z"
    assert data["counts"]["highlights"] == 1 and data["counts"]["pages"] == 1
    assert data["daemon_pid"] is None
    assert TOKEN not in result.stdout + status.stdout + status.stderr
    state_files = list((tmp_path / "state").iterdir())
    assert state_files and all(TOKEN.encode() not in p.read_bytes() for p in state_files)


def test_dry_run_prints_a_unified_diff_and_writes_nothing(
    tmp_path: Path, server: FakeReadwise, vault: Path
) -> None:
    config = write_config(tmp_path, server, vault)
    result = run("sync", "--dry-run", "--config", str(config))
    assert result.returncode == 0
    assert "+++ b/pages/Walden (highlights).md" in result.stdout
    assert not (vault / "pages" / "Walden (highlights).md").exists()


def test_dry_run_summary_says_would(tmp_path: Path, server: FakeReadwise, vault: Path) -> None:
    """issue 12, item 7 (--dry-run): the summary of a dry run says what it would do, so that it
    is never read as a sync that happened; a real sync's summary stays as it was."""
    config = write_config(tmp_path, server, vault)
    first = run("sync", "--dry-run", "--config", str(config))
    assert first.returncode == 0, first.stderr
    assert first.stderr.strip().splitlines()[-1] == "would add 1 new highlight in 1 page (1 new)"
    assert run("sync", "--config", str(config)).returncode == 0
    server.add_highlight(1, text="Our life is frittered away by detail.")
    server.add_highlight(1, text="Heaven is under our feet.")
    server.update_highlight(server.book(1)["highlights"][0]["id"], text="Simplify!")
    dry = run("sync", "--dry-run", "--full", "--config", str(config))
    assert dry.returncode == 0, dry.stderr
    assert dry.stderr.strip().splitlines()[-1] == (
        "would add 2 new highlights in 1 page (0 new); would update 1"
    )
    as_json = run("sync", "--dry-run", "--json", "--full", "--config", str(config))
    assert json.loads(as_json.stdout.splitlines()[-1])["summary"].startswith("would add 2 new")
    real = run("sync", "--config", str(config))
    assert real.stdout.strip() == "2 new highlights in 1 page (0 new); 1 updated"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"vault": {"path": "/nonexistent", "formt": "logseq"}}, "at 'vault.formt': unknown key"),
        ({"sync": {"interval": "soon"}}, "at 'sync.interval'"),
        ({"vault": {"timezone": "UTC"}}, "at 'vault.path'"),
        (
            {"readwise": {"token": TOKEN, "base_url": "http://example.com"}},
            "at 'readwise.base_url'",
        ),
    ],
)
def test_a_bad_config_is_one_line_naming_file_and_key_exit_2(
    tmp_path: Path, server: FakeReadwise, vault: Path, change: dict[str, Any], message: str
) -> None:
    config = write_config(tmp_path, server, vault)
    data = yaml.safe_load(config.read_text())
    data.update(change)
    config.write_text(yaml.safe_dump(data))
    result = run("sync", "--config", str(config))
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert str(config) in result.stderr and message in result.stderr
    assert TOKEN not in result.stderr


def test_no_token_anywhere_is_a_config_error(
    tmp_path: Path, server: FakeReadwise, vault: Path
) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({"vault": {"path": str(vault)}}))
    result = run("sync", "--config", str(config))
    assert result.returncode == 2 and "at 'readwise.token'" in result.stderr


def test_missing_config_file_is_named(tmp_path: Path) -> None:
    result = run("sync", "--config", str(tmp_path / "nope.yaml"))
    assert result.returncode == 2 and "nope.yaml" in result.stderr


def test_refused_token_exits_3_at_once(
    tmp_path: Path,
    server: FakeReadwise,
    vault: Path,
    no_waiting: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = write_config(tmp_path, server, vault)
    data = yaml.safe_load(config.read_text())
    data["readwise"]["token"] = "wrong-token-abc"
    config.write_text(yaml.safe_dump(data))
    assert main(["sync", "--config", str(config)]) == 3
    assert len(server.requests_to("export")) == 1
    assert "refused the token" in capsys.readouterr().err


def test_readwise_down_exits_4_with_cursor_and_vault_unchanged(
    tmp_path: Path,
    server: FakeReadwise,
    vault: Path,
    no_waiting: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = write_config(tmp_path, server, vault)
    server.inject("export", Fault.status(502), times=None)
    assert main(["sync", "--config", str(config)]) == 4
    err = capsys.readouterr().err
    assert "Readwise unreachable" in err and TOKEN not in err
    assert not (vault / "pages").exists() or not any((vault / "pages").iterdir())
    assert main(["status", "--json", "--config", str(config)]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["cursor"] is None and "Readwise unreachable" in status["last_error"]
    server.clear_faults()
    assert main(["sync", "--config", str(config)]) == 0  # the next good run completes


def test_a_bad_record_exits_1_naming_the_book(
    tmp_path: Path,
    server: FakeReadwise,
    vault: Path,
    no_waiting: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    server.put_record({"user_book_id": 4242, "title": "Broken", "highlights": "nope"})
    config = write_config(tmp_path, server, vault)
    assert main(["sync", "--config", str(config)]) == 1
    err = capsys.readouterr().err
    assert "book 4242" in err and "'highlights'" in err
    assert (vault / "pages" / "Walden (highlights).md").exists()


def test_a_missing_vault_exits_5(
    tmp_path: Path, server: FakeReadwise, no_waiting: None, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, server, tmp_path / "gone")
    assert main(["sync", "--config", str(config)]) == 5
    assert "gone" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("where", "problem"),
    [
        ("gone", "does not exist"),
        ("a-file.md", "is a file, not a folder"),
        ("a-file.md/notes", "does not exist (a part of its path is a file)"),
        ("/sys", "cannot be written: Permission denied"),  # root included: no file can be made
    ],
)
def test_every_vault_error_says_what_is_wrong_and_names_key_and_file(
    tmp_path: Path, server: FakeReadwise, where: str, problem: str
) -> None:
    """issue 12, item 7 (vault errors): sync and doctor say whether the vault does not exist,
    is not a folder or cannot be written (with the OS's reason), and name vault.path and the
    config file it is set in; one line, exit 5, no traceback."""
    (tmp_path / "a-file.md").write_text("mine\n", encoding="utf-8")
    vault = Path(where) if where.startswith("/") else tmp_path / where
    config = write_config(tmp_path, server, vault)
    result = run("sync", "--config", str(config))
    assert result.returncode == 5
    assert result.stderr.strip().splitlines()[-1] == (
        f"syncd: vault {vault}: {problem} (set by vault.path in {config})"
    )
    assert "Traceback" not in result.stderr
    doctor = run("doctor", "--config", str(config))
    assert doctor.returncode == 1
    assert f"FAIL vault: {vault} {problem} (set by vault.path in {config})" in doctor.stdout
    assert (tmp_path / "a-file.md").read_text(encoding="utf-8") == "mine\n"


def test_an_unwritable_vault_fails_the_book_and_leaves_nothing_half_written(
    tmp_path: Path,
    server: FakeReadwise,
    vault: Path,
    no_waiting: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A read-only vault (injected: tests run as root, which ignores file modes)."""
    import errno

    real_open = os.open

    def read_only(path: Any, flags: int, *args: Any) -> int:
        if flags & os.O_CREAT:
            raise OSError(errno.EROFS, "Read-only file system", str(path))
        return real_open(path, flags, *args)

    monkeypatch.setattr(os, "open", read_only)
    config = write_config(tmp_path, server, vault)
    assert main(["sync", "--config", str(config)]) == 1
    err = capsys.readouterr().err
    assert "the vault is read-only" in err
    monkeypatch.undo()
    assert list(vault.rglob("*.md")) == [] and list(vault.rglob("*.tmp")) == []
    monkeypatch.setattr(
        syncd.engine.wiring,
        "make_client",
        lambda c, **k: ReadwiseClient(c.readwise.base_url, c.readwise.token, sleep=lambda _: None),
    )
    monkeypatch.setenv("SYNCD_NOW", NOW)
    assert main(["sync", "--config", str(config)]) == 0
    assert (vault / "pages" / "Walden (highlights).md").exists()


def test_a_second_syncd_on_the_same_vault_exits_5(
    tmp_path: Path,
    server: FakeReadwise,
    vault: Path,
    no_waiting: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from syncd.config.load import load_config

    config = write_config(tmp_path, server, vault)
    with syncd.engine.wiring.vault_lock(load_config(config, {})):
        assert main(["sync", "--config", str(config)]) == 5
    assert "holds the vault" in capsys.readouterr().err


def test_demo_runs_with_no_account_and_prints_where_the_pages_are(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "syncd", "demo", str(tmp_path / "demo")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={k: v for k, v in os.environ.items() if k != "SYNCD_NOW"},
    )
    assert result.returncode == 0, result.stderr
    pages = tmp_path / "demo" / "pages"
    assert str(tmp_path / "demo") in result.stdout
    podcast = next(pages.glob("Episode 20*.md")).read_text(encoding="utf-8")
    assert podcast.count("- Highlights first synced by [[Readwise]]") == 1
    assert podcast.count("- New highlights added") == 1
    again = subprocess.run(
        [sys.executable, "-m", "syncd", "demo", str(tmp_path / "demo")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert again.returncode == 0 and again.stdout.splitlines()[:2] == result.stdout.splitlines()[:2]


def test_demo_refuses_a_folder_that_is_not_its_own(tmp_path: Path) -> None:
    (tmp_path / "notes.md").write_text("mine")
    result = run("demo", str(tmp_path))
    assert result.returncode == 2 and "not a syncd demo graph" in result.stderr
    assert (tmp_path / "notes.md").read_text() == "mine"


def test_init_writes_a_private_starter_config_that_loads(tmp_path: Path) -> None:
    config = tmp_path / "syncd" / "config.yaml"
    result = run("init", "--config", str(config), "--vault", str(tmp_path), "--token", TOKEN)
    assert result.returncode == 0, result.stderr
    assert config.stat().st_mode & 0o077 == 0
    assert TOKEN not in result.stdout + result.stderr
    status = run("status", "--config", str(config))
    assert status.returncode == 0, status.stderr


def test_doctor_checks_every_part_and_fails_on_a_bad_token(
    tmp_path: Path, server: FakeReadwise, vault: Path
) -> None:
    config = write_config(tmp_path, server, vault)
    good = run("doctor", "--config", str(config))
    assert good.returncode == 0, good.stdout
    lines = good.stdout.splitlines()
    assert [line.split(":")[0] for line in lines] == [
        "ok   config",
        "ok   config file",
        "ok   token",
        "ok   vault",
        "ok   state",
        "ok   logseq settings",
        "ok   watcher",
    ]
    assert "file names :triple-lowbar" in good.stdout and "'MMM do, yyyy'" in good.stdout
    data = yaml.safe_load(config.read_text())
    data["readwise"]["token"] = "wrong-token-abc"
    config.write_text(yaml.safe_dump(data))
    config.chmod(0o644)
    bad = run("doctor", "--config", str(config))
    assert bad.returncode == 1
    assert "FAIL token: Readwise refused the token" in bad.stdout
    assert "FAIL config file" in bad.stdout
    assert "wrong-token-abc" not in bad.stdout + bad.stderr


@pytest.mark.parametrize(
    ("mode", "who"), [(0o644, "its group and others"), (0o640, "its group"), (0o604, "other users")]
)
def test_a_token_file_others_can_read_draws_a_warning(
    tmp_path: Path, server: FakeReadwise, vault: Path, mode: int, who: str
) -> None:
    """issue 12, item 7 (token file): as a config holding the token does, a token file that
    its group or other users can read draws a warning naming it and the fix, in sync, run
    and doctor; a private one draws none. The token itself is never printed."""
    token_file = tmp_path / "readwise-token"
    token_file.write_text(TOKEN + "\n", encoding="utf-8")
    token_file.chmod(mode)
    config = write_config(
        tmp_path, server, vault, readwise={"token_file": str(token_file), "base_url": server.url}
    )
    warning = (
        f"the token file {token_file} (readwise.token_file) can be read by "
        f"{who} (mode {mode:04o}); run: chmod 600 {token_file}"
    )
    synced = run("sync", "--config", str(config))
    assert synced.returncode == 0 and warning in synced.stderr
    doctor = run("doctor", "--config", str(config))
    assert f"FAIL token file: {warning}" in doctor.stdout and doctor.returncode == 1
    token_file.write_text("a-token-readwise-refuses\n", encoding="utf-8")
    daemon = run("run", "--config", str(config))  # refused: it stops at once, exit 3
    assert daemon.returncode == 3 and warning in daemon.stderr
    for result in (synced, doctor, daemon):
        assert TOKEN not in result.stdout + result.stderr
        assert "a-token-readwise-refuses" not in result.stdout + result.stderr
    token_file.write_text(TOKEN + "\n", encoding="utf-8")
    token_file.chmod(0o600)
    private = run("sync", "--config", str(config))
    assert private.returncode == 0 and "token file" not in private.stderr
    assert (
        f"ok   token file: {token_file} is private" in run("doctor", "--config", str(config)).stdout
    )


def test_resync_recreates_a_page_the_user_deleted(
    tmp_path: Path, server: FakeReadwise, vault: Path
) -> None:
    config = write_config(tmp_path, server, vault)
    assert run("sync", "--config", str(config)).returncode == 0
    page = vault / "pages" / "Walden (highlights).md"
    first = page.read_text(encoding="utf-8")
    page.unlink()
    assert run("sync", "--config", str(config)).returncode == 0
    assert not page.exists()
    assert "1 deleted pages" not in run("status", "--config", str(config)).stdout
    assert "deleted pages: 1" in run("status", "--config", str(config)).stdout
    result = run("resync", "Walden (highlights)", "--config", str(config))
    assert result.returncode == 0, result.stderr
    assert page.read_text(encoding="utf-8") == first
    unknown = run("resync", "No Such Book", "--config", str(config))
    assert unknown.returncode == 2 and "no book 'No Such Book'" in unknown.stderr


def test_status_before_any_sync_says_so(tmp_path: Path, server: FakeReadwise, vault: Path) -> None:
    config = write_config(tmp_path, server, vault)
    result = run("status", "--config", str(config))
    assert result.returncode == 0 and "never synced" in result.stdout
