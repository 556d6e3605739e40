"""syncd/commands/doctor.py: each check of `syncd doctor`, passing, and failing with one line
that says what is wrong and where; a real loopback Readwise answers the token check."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from syncd.commands.doctor import (
    Check,
    check_graph,
    check_permissions,
    check_state,
    check_token,
    check_token_file,
    check_vault,
    check_watcher,
    run_checks,
)
from syncd.config.load import config_from_mapping
from syncd.config.values import Config
from syncd.testing.fakereadwise import FakeReadwise

TOKEN = "tok-doctor-0123456789abcdef"


@pytest.fixture
def readwise() -> Iterator[FakeReadwise]:
    with FakeReadwise(token=TOKEN) as server:
        yield server


def make_config(
    tmp_path: Path,
    server_url: str = "http://127.0.0.1:9",
    *,
    vault: Path | None = None,
    **settings: Any,
) -> Config:
    if vault is None:
        vault = tmp_path / "graph"
        vault.mkdir(exist_ok=True)
    data = {
        "readwise": {"token": TOKEN, "base_url": server_url, **settings},
        "vault": {"path": str(vault)},
        "state_dir": str(tmp_path / "state"),
    }
    return config_from_mapping(data, tmp_path / "config.yaml", {}, require_token=False)


def one_failing_line(check: Check, *words: str) -> None:
    line = check.line()
    assert not check.ok and line.startswith(f"FAIL {check.name}: ")
    assert "\n" not in line and "Traceback" not in line
    for word in words:
        assert word in line


def test_a_token_readwise_accepts_passes(tmp_path: Path, readwise: FakeReadwise) -> None:
    check = check_token(make_config(tmp_path, readwise.url))
    assert check.ok and check.line() == f"ok   token: {readwise.url} accepts it"


def test_a_token_readwise_refuses_fails_without_showing_it(
    tmp_path: Path, readwise: FakeReadwise
) -> None:
    wrong = "wrong-Tok3n-never-shown"
    check = check_token(make_config(tmp_path, readwise.url, token=wrong))
    one_failing_line(check, "token")
    assert wrong not in check.line()


def test_no_token_fails_naming_where_one_goes(tmp_path: Path) -> None:
    one_failing_line(
        check_token(make_config(tmp_path, token=None)), "readwise.token", "$READWISE_TOKEN"
    )


def test_readwise_unreachable_fails(tmp_path: Path) -> None:
    one_failing_line(check_token(make_config(tmp_path, "http://127.0.0.1:9")))


def test_a_missing_vault_fails_naming_it_and_where_it_was_set(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-vault"
    one_failing_line(
        check_vault(make_config(tmp_path, vault=missing)),
        str(missing),
        "does not exist",
        f"vault.path in {tmp_path / 'config.yaml'}",
    )


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a read-only folder")
def test_a_pages_folder_that_cannot_be_written_fails(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    pages = config.vault.path / "pages"
    pages.mkdir()
    pages.chmod(0o500)
    try:
        one_failing_line(check_vault(config), f"cannot write in {pages}")
    finally:
        pages.chmod(0o700)


def test_a_writable_vault_passes_and_leaves_nothing_behind(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    assert check_vault(config).ok
    assert list(config.vault.path.iterdir()) == []


def test_the_state_folder_is_checked_without_writing_in_it(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    check = check_state(config)
    assert check.ok and "no state yet" in check.detail
    assert not (tmp_path / "state").exists()  # made by the first sync, not by a look
    (tmp_path / "state").mkdir()
    assert check_state(config).ok and list((tmp_path / "state").iterdir()) == []


def test_a_state_folder_that_cannot_be_made_fails(tmp_path: Path) -> None:
    (tmp_path / "state").write_text("a file where the folder goes")
    one_failing_line(check_state(make_config(tmp_path)), "cannot be made", "is a file")


def test_doctor_checks_the_whole_state_database_and_writes_nothing(tmp_path: Path) -> None:
    """Issue 20: a sync checks the whole database only when it may be damaged; `doctor`
    checks it always (on a copy: nothing is written under the state folder)."""
    from syncd.edges.state import State
    from syncd.edges.state_files import database_path

    config = make_config(tmp_path)
    database = database_path(config.state_dir, config.vault.path)
    state = State(database)
    state.set("cursor", "x" * 100_000)
    state.close()
    check = check_state(config)
    assert check.ok and "can be read and is whole" in check.detail
    data = bytearray(database.read_bytes())
    data[len(data) // 2 :] = b"\xa5" * (len(data) - len(data) // 2)
    database.write_bytes(bytes(data))
    before = sorted((p.name, p.read_bytes()) for p in config.state_dir.iterdir())
    one_failing_line(
        check_state(config), str(database), "is corrupt", "the next sync moves it aside"
    )
    assert sorted((p.name, p.read_bytes()) for p in config.state_dir.iterdir()) == before


def test_the_graph_settings_are_reported(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    assert "no logseq/config.edn" in check_graph(config).line()
    (config.vault.path / "logseq").mkdir()
    (config.vault.path / "logseq" / "config.edn").write_text('{:pages-directory "notes"}')
    line = check_graph(config).line()
    assert line.startswith("ok   logseq settings: logseq/config.edn: file names :legacy")
    assert "pages in 'notes'" in line


def test_too_few_inotify_watches_fails_with_the_numbers(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    for name in "abc":
        (config.vault.path / name).mkdir()
    one_failing_line(
        check_watcher(config, {"max_user_watches": 2}), "4 folders", "max_user_watches is 2"
    )
    assert check_watcher(config, {"max_user_watches": 4}).ok
    assert "poll" in check_watcher(config, {"max_user_watches": None}).line()


def test_a_config_others_may_read_fails_with_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(f"readwise:\n  token: {TOKEN}\n")
    path.chmod(0o644)
    one_failing_line(check_permissions(path), "chmod 600")
    assert TOKEN not in check_permissions(path).line()
    path.chmod(0o600)
    assert check_permissions(path).ok


def test_a_token_file_that_is_missing_or_readable_by_others_fails(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    config = make_config(tmp_path, token=None)
    one_failing_line(check_token_file(token_file, config), f"{token_file} does not exist")
    token_file.write_text(TOKEN)
    token_file.chmod(0o640)
    one_failing_line(check_token_file(token_file, config), "its group", "chmod 600")
    token_file.chmod(0o600)
    assert check_token_file(token_file, config).ok


def test_every_check_runs_even_when_the_first_fail(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(f"readwise:\n  token: {TOKEN}\n")
    path.chmod(0o644)
    config = make_config(tmp_path, vault=tmp_path / "missing")
    checks = run_checks(config, path, lambda: {"max_user_watches": None})
    assert [c.name for c in checks] == [
        "config file",
        "token",
        "vault",
        "state",
        "logseq settings",
        "watcher",
    ]
    # issue 21, item 4: nothing about a vault folder that is not there is "ok" (the state
    # folder is not the vault's).
    assert [c.ok for c in checks] == [False, False, False, True, False, False]
