"""Security (README "Choices syncd makes", README "Reliability"): the token never shows (logs at
debug level, errors, `--json`, the state files, the daemon's command line and `ps`); a config file
holding a token that others can read is warned about; `http://` is refused except on loopback."""

from __future__ import annotations

import contextlib
import json
import os
import random
import shutil
import signal
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from syncd.config.load import load_config
from syncd.errors import ConfigError
from syncd.testing.fakereadwise import FakeReadwise
from syncd.testing.faults import Fault
from tests.support.processes import (
    REPO,
    TIMEOUT,
    TOKEN,
    Library,
    run_syncd,
    syncd_command,
    syncd_env,
    write_config,
)

WRONG = "wrong-Tok3n-that-must-not-show"


@pytest.fixture
def library() -> Iterator[FakeReadwise]:
    """A loopback Readwise holding five books of two highlights, two books a page."""
    with FakeReadwise(token=TOKEN, page_size=2) as server:
        Library(server, random.Random(3)).add_books(5, 2)
        yield server


def everything_shown(*results: subprocess.CompletedProcess[str]) -> str:
    return "\n".join(r.stdout + r.stderr for r in results)


def test_the_token_is_not_in_logs_errors_json_or_state(
    tmp_path: Path, library: FakeReadwise
) -> None:
    vault, state = tmp_path / "graph", tmp_path / "state"
    vault.mkdir()
    config = write_config(tmp_path / "config.yaml", library.url, vault, state, log_level="debug")
    library.inject("export", Fault.retry_after(0))
    library.put_record({"user_book_id": 999, "title": "Broken", "highlights": "nope"})
    runs = [
        run_syncd("sync", "--json", "--config", str(config)),
        run_syncd("sync", "--dry-run", "--config", str(config)),
        run_syncd("status", "--json", "--config", str(config)),
        run_syncd("status", "--config", str(config)),
        run_syncd("doctor", "--config", str(config)),
    ]
    assert runs[0].returncode == 1 and json.loads(runs[0].stdout)["failed_books"]
    env = syncd_env(READWISE_TOKEN=WRONG)
    runs += [
        run_syncd("sync", "--config", str(config), env=env),  # refused: exit 3
        run_syncd("doctor", "--config", str(config), env=env),
    ]
    assert runs[-2].returncode == 3
    shown = everything_shown(*runs)
    assert TOKEN not in shown and WRONG not in shown
    for path in state.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert TOKEN.encode() not in data and WRONG.encode() not in data, path
    assert all(TOKEN not in str(r.query) for r in library.requests)


@pytest.mark.parametrize("token", [f"{TOKEN} with space", f"{TOKEN}\nX-Injected: 1", "   "])
def test_a_malformed_token_is_refused_without_showing_it(
    tmp_path: Path, library: FakeReadwise, token: str
) -> None:
    vault = tmp_path / "graph"
    vault.mkdir()
    config = write_config(
        tmp_path / "config.yaml", library.url, vault, tmp_path / "state", token=token
    )
    result = run_syncd("sync", "--config", str(config))
    assert result.returncode == 2 and "readwise.token" in result.stderr
    assert token.strip() == "" or TOKEN not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def running_daemon(config: Path, tmp_path: Path, env: dict[str, str]) -> Iterator[int]:
    """Start `syncd run`, yield its pid once it has synced, then stop it (SIGTERM, exit 0)."""
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(tmp_path / "notify.sock"))
    notify.settimeout(TIMEOUT)
    process = subprocess.Popen(
        syncd_command("run", "--config", str(config)),
        cwd=REPO,
        env={**env, "NOTIFY_SOCKET": str(tmp_path / "notify.sock")},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        while not notify.recv(4096).decode().startswith("STATUS=last sync"):
            pass
        yield process.pid
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=TIMEOUT)
        assert process.returncode == 0, err
        assert TOKEN not in out + err
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        notify.close()


@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="needs /proc")
@pytest.mark.parametrize("where", ["config file", "environment"])
def test_the_token_is_not_on_the_daemon_command_line(
    tmp_path: Path, library: FakeReadwise, where: str
) -> None:
    vault = tmp_path / "graph"
    vault.mkdir()
    env = syncd_env()
    if where == "environment":
        env["READWISE_TOKEN"] = TOKEN
        config = write_config(
            tmp_path / "config.yaml",
            library.url,
            vault,
            tmp_path / "state",
            token="${READWISE_TOKEN}",
            sync={"interval": "1h"},
        )
    else:
        config = write_config(
            tmp_path / "config.yaml",
            library.url,
            vault,
            tmp_path / "state",
            sync={"interval": "1h"},
        )
    for pid in running_daemon(config, tmp_path, env):
        proc = Path(f"/proc/{pid}")
        assert TOKEN.encode() not in (proc / "cmdline").read_bytes()
        for task in (proc / "task").iterdir():
            with contextlib.suppress(FileNotFoundError):  # a thread that ended meanwhile
                assert TOKEN not in (task / "comm").read_text()
        if shutil.which("ps"):
            listing = subprocess.run(
                ["ps", "-eww", "-o", "pid,args"], capture_output=True, text=True, check=True
            ).stdout
            assert str(pid) in listing and TOKEN not in listing
        assert list((vault / "pages").glob("*.md"))  # it did sync, with the token


@pytest.mark.parametrize(
    ("mode", "how", "warned"),
    [
        (0o600, "token", False),
        (0o640, "token", True),
        (0o604, "token", True),
        (0o644, "token", True),
        (0o644, "${READWISE_TOKEN}", False),
        (0o644, "token_file", False),
    ],
)
def test_a_config_holding_a_token_that_others_can_read_is_warned_about(
    tmp_path: Path, library: FakeReadwise, mode: int, how: str, warned: bool
) -> None:
    vault = tmp_path / "graph"
    vault.mkdir()
    extra: dict[str, Any] = {}
    env = syncd_env()
    if how == "token_file":
        (tmp_path / "token").write_text(TOKEN)
        (tmp_path / "token").chmod(0o600)
        extra["readwise"] = {"token": None, "token_file": str(tmp_path / "token")}
    config = write_config(
        tmp_path / "config.yaml",
        library.url,
        vault,
        tmp_path / "state",
        mode=mode,
        token=TOKEN if how != "${READWISE_TOKEN}" else how,
        **extra,
    )
    if how == "${READWISE_TOKEN}":
        env["READWISE_TOKEN"] = TOKEN
    if how == "token_file":
        data = yaml.safe_load(config.read_text())
        del data["readwise"]["token"]
        config.write_text(yaml.safe_dump(data))
        config.chmod(mode)
    result = run_syncd("sync", "--config", str(config), env=env)
    assert result.returncode == 0, result.stderr
    warning = [line for line in result.stderr.splitlines() if "chmod 600" in line]
    assert bool(warning) == warned, result.stderr
    if warned:
        assert str(config) in warning[0] and f"{mode:04o}" in warning[0]
    assert TOKEN not in result.stdout + result.stderr


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com",
        "http://readwise.io",
        "HTTP://EXAMPLE.COM",
        "http://10.0.0.1:8000",
        "http://0.0.0.0:8000",
        "http://127.0.0.1.nip.io",
        "http://localhost.example.com",
        "http://127.0.0.1@evil.example",
        "http://user:pass@127.0.0.1",
        "ftp://127.0.0.1",
        "http://[::ffff:7f00:1]:80",
        "file:///etc/passwd",
        "readwise.io",
    ],
)
def test_http_is_refused_unless_loopback(tmp_path: Path, url: str) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(
        yaml.safe_dump(
            {"readwise": {"token": TOKEN, "base_url": url}, "vault": {"path": str(tmp_path)}}
        )
    )
    with pytest.raises(ConfigError) as refused:
        load_config(path, {})
    assert "readwise.base_url" in str(refused.value) and TOKEN not in str(refused.value)
    result = run_syncd("sync", "--config", str(path))
    assert result.returncode == 2 and "readwise.base_url" in result.stderr


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_http_on_loopback_syncs(tmp_path: Path, library: FakeReadwise, host: str) -> None:
    vault = tmp_path / "graph"
    vault.mkdir()
    url = library.url.replace("127.0.0.1", host)
    config = write_config(
        tmp_path / "config.yaml", url, vault, tmp_path / "state", sync={"sync_log_page": None}
    )
    result = run_syncd("sync", "--config", str(config))
    assert result.returncode == 0, result.stderr
    assert len(list((vault / "pages").glob("*.md"))) == 5
    for other in ("https://readwise.io", "http://[::1]:8000", url + "/"):
        config.write_text(
            yaml.safe_dump(
                {"readwise": {"token": TOKEN, "base_url": other}, "vault": {"path": str(vault)}}
            )
        )
        assert load_config(config, {}).readwise.base_url == other.rstrip("/")
    assert os.environ.get("READWISE_TOKEN") != TOKEN
