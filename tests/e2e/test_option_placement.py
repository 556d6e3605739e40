"""`--config` before or after the command's name means the same (issue 10, item 7).

`syncd --config A sync` used to sync with the default config: the command's own `--config`
default (None) overwrote the value given before the command. Each command is run in-process
with no default config anywhere, so that one ignored `--config` is a "no such file" error.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from syncd.cli import main
from syncd.testing.fakereadwise import FakeReadwise
from tests.e2e.conftest import TOKEN
from tests.e2e.test_cli import write_config

PLACES = ["before", "after"]


@pytest.fixture
def config(tmp_path: Path, server: FakeReadwise, monkeypatch: pytest.MonkeyPatch) -> Path:
    vault = tmp_path / "graph"
    vault.mkdir()
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "no-default-config"))
    monkeypatch.delenv("SYNCD_CONFIG", raising=False)
    monkeypatch.delenv("READWISE_TOKEN", raising=False)
    monkeypatch.setenv("SYNCD_NOW", "2023-03-17T17:05:00Z")
    return write_config(tmp_path, server, vault)


def syncd(place: str, config: Path, command: str, *more: str) -> int:
    given = ["--config", str(config)]
    return main([*given, command, *more] if place == "before" else [command, *more, *given])


@pytest.mark.parametrize("place", PLACES)
def test_sync_uses_the_config_given(
    place: str, config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 10, item 7."""
    assert syncd(place, config, "sync") == 0, capsys.readouterr().err
    assert (config.parent / "graph" / "pages" / "Walden (highlights).md").exists()


@pytest.mark.parametrize("place", PLACES)
def test_status_uses_the_config_given(
    place: str, config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 10, item 7."""
    assert syncd(place, config, "status") == 0, capsys.readouterr().err
    assert "never synced" in capsys.readouterr().out


@pytest.mark.parametrize("place", PLACES)
def test_doctor_uses_the_config_given(
    place: str, config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 10, item 7."""
    syncd(place, config, "doctor")
    assert f"ok   config: {config}" in capsys.readouterr().out


@pytest.mark.parametrize("place", PLACES)
def test_resync_uses_the_config_given(
    place: str, config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 10, item 7: the config is read (the book is then unknown: nothing synced yet)."""
    assert syncd(place, config, "resync", "No Such Book") == 2
    assert "no book 'No Such Book' is known" in capsys.readouterr().err


@pytest.mark.parametrize("place", PLACES)
def test_run_uses_the_config_given(
    place: str, config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 10, item 7: the daemon stops at once on the config's missing vault (not on a
    missing default config)."""
    (config.parent / "graph").rmdir()
    assert syncd(place, config, "run") == 5
    err = capsys.readouterr().err
    assert (
        f"vault {config.parent / 'graph'}: does not exist (set by vault.path in {config})"
    ) in err, err


@pytest.mark.parametrize("place", PLACES)
def test_init_writes_the_config_given(
    place: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 10, item 7."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "no-default-config"))
    monkeypatch.delenv("SYNCD_CONFIG", raising=False)
    target = tmp_path / "mine.yaml"
    assert syncd(place, target, "init", "--vault", str(tmp_path), "--token", TOKEN) == 0
    assert target.exists() and not (tmp_path / "no-default-config").exists()


@pytest.mark.parametrize("place", PLACES)
def test_demo_refuses_a_config_rather_than_ignoring_it(
    place: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 10, item 7: the demo uses no config; a --config given to it is refused."""
    assert syncd(place, tmp_path / "c.yaml", "demo", str(tmp_path / "demo")) == 2
    assert "`syncd demo` uses no config" in capsys.readouterr().err
    assert not (tmp_path / "demo").exists()


@pytest.mark.parametrize(
    "argv", [["--dry-run", "sync"], ["--json", "status"], ["--config", "c.yaml", "--full", "sync"]]
)
def test_a_commands_option_before_the_command_is_refused_clearly(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 10, item 7: refused with a one-line error, never silently dropped."""
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is not an option of syncd itself" in err
    assert "come after its name" in err
