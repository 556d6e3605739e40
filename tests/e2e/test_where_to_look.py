"""issue 21, items 3 to 7, through the real command line (a subprocess, or a pty where the user
would be at a terminal) against the loopback Readwise: errors that say where to look, a vault
path one folder off, one message per cause, an interrupted first sync, `resync` by the first
words of a title."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pexpect
import pytest
import yaml

from syncd.testing.fakereadwise import FakeReadwise

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "tok-where-0123456789abcdef"
NOW = "2023-03-17T17:05:00Z"


def environment(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SYNCD_", "READWISE_"))}
    env.update(PYTHONPATH=str(ROOT), SYNCD_NOW=NOW, TZ="UTC", TERM="xterm", **extra)
    return env


def write_config(path: Path, readwise: dict[str, Any], folder: Path, **extra: Any) -> Path:
    """A config at `path`: the `readwise` section, the vault at `folder` (`vault=` adds keys)."""
    data: dict[str, Any] = {
        "readwise": readwise,
        "vault": {"path": str(folder), "timezone": "UTC", **extra.pop("vault", {})},
        "state_dir": str(path.parent / "state"),
        **extra,
    }
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    path.chmod(0o600)
    return path


def syncd(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "syncd", *args],
        capture_output=True,
        text=True,
        env=env or environment(),
        timeout=120,
        check=False,
    )


def terminal(*args: str, env: dict[str, str] | None = None) -> pexpect.spawn:
    return pexpect.spawn(
        sys.executable,
        ["-m", "syncd", *args],
        env=env or environment(),
        encoding="utf-8",
        timeout=60,
        dimensions=(24, 200),
    )


def readme_exit_code(says: str) -> int:
    """The exit code the README's table of exit codes gives the error that says `says`."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    (row,) = [line for line in readme.splitlines() if line.startswith("| ") and says in line]
    return int(row.split("|")[1])


@pytest.fixture
def server() -> Iterator[FakeReadwise]:
    with FakeReadwise(token=TOKEN) as server:
        yield server


# --- item 7: `resync` by the words a user remembers ------------------------------------------


def test_resync_finds_a_book_by_the_first_words_of_its_title(
    tmp_path: Path, server: FakeReadwise
) -> None:
    """issue 21, item 7: "Book 100" finds "Book 100: books title" (not "Book 1000: ..."); words
    that begin no title are offered the near matches."""
    wanted = server.add_book(title="Book 100: books title", highlights=[{"text": "One."}])
    server.add_book(title="Book 1000: another title", highlights=[{"text": "Two."}])
    vault = tmp_path / "graph"
    vault.mkdir()
    config = write_config(tmp_path / "c.yaml", {"token": TOKEN, "base_url": server.url}, vault)
    assert syncd("sync", "--config", str(config)).returncode == 0
    (page,) = [
        p
        for p in (vault / "pages").iterdir()
        if p.name.startswith("Book 100") and "1000" not in p.name
    ]
    text = page.read_text(encoding="utf-8")
    page.unlink()
    result = syncd("resync", "Book 100", "--config", str(config))
    assert result.returncode == 0, result.stderr
    assert page.read_text(encoding="utf-8") == text
    assert f"book {wanted['user_book_id']}" in result.stdout

    near = syncd("resync", "Book 10", "--config", str(config))
    assert near.returncode == 2
    assert "did you mean 'Book 100: books title (highlights)'" in near.stderr, near.stderr


# --- item 3: errors that say where to look ---------------------------------------------------


def closed_port_url() -> str:
    """The address of a loopback server that has stopped: nothing listens there."""
    with FakeReadwise(token=TOKEN) as gone:
        url = gone.url
    return url


@pytest.mark.parametrize("source", ["token_file", "env", "token"])
def test_a_refused_token_names_where_it_came_from(
    tmp_path: Path, server: FakeReadwise, source: str
) -> None:
    """issue 21, item 3: a 401 names the token file's path, $READWISE_TOKEN, or the config
    key (with its file), exit 3; never the token."""
    vault = tmp_path / "graph"
    vault.mkdir()
    wrong = "wrong-token-0123456789"
    token_file = tmp_path / "readwise-token"
    token_file.write_text(wrong + "\n")
    token_file.chmod(0o600)
    readwise = {"base_url": server.url}
    env = environment()
    if source == "token_file":
        readwise["token_file"] = str(token_file)
        expected = f"the token file {token_file}"
    elif source == "env":
        readwise["token_file"] = str(token_file)
        env["READWISE_TOKEN"] = wrong
        expected = "$READWISE_TOKEN"
    else:
        readwise["token"] = wrong
        expected = f"readwise.token in {tmp_path / 'c.yaml'}"
    config = write_config(tmp_path / "c.yaml", readwise, vault)
    result = syncd("sync", "--config", str(config), env=env)
    assert result.returncode == 3 == readme_exit_code("Readwise refused the token")
    line = result.stderr.strip().splitlines()[-1]
    assert f"refused the token (HTTP 401) from {expected}" in line, line
    assert wrong not in result.stdout + result.stderr


def test_unreachable_names_the_url_tried_and_the_key_that_sets_it(tmp_path: Path) -> None:
    """issue 21, item 3: a network failure names the URL (scheme, host, port, path) and
    `readwise.base_url` with its file; never the token."""
    vault = tmp_path / "graph"
    vault.mkdir()
    url = closed_port_url()
    config = write_config(tmp_path / "c.yaml", {"token": TOKEN, "base_url": url}, vault)
    result = syncd("doctor", "--config", str(config))
    assert result.returncode == 1
    (line,) = [line for line in result.stdout.splitlines() if line.startswith("FAIL token")]
    assert f"{url}/api/v2/auth/" in line, line
    assert f"readwise.base_url in {config}" in line, line
    assert TOKEN not in result.stdout + result.stderr
    assert readme_exit_code("Readwise unreachable after retries") == 4


def test_a_base_url_pasted_with_api_v2_works(tmp_path: Path, server: FakeReadwise) -> None:
    """issue 21, item 3: `https://readwise.io/api/v2/` (a likely paste) is Readwise's address."""
    server.add_book(title="Walden", highlights=[{"text": "Simplify."}])
    vault = tmp_path / "graph"
    vault.mkdir()
    config = write_config(
        tmp_path / "c.yaml", {"token": TOKEN, "base_url": server.url + "/api/v2/"}, vault
    )
    result = syncd("sync", "--config", str(config))
    assert result.returncode == 0, result.stderr
    assert (vault / "pages" / "Walden (highlights).md").exists()


def test_no_readwise_api_at_the_base_url_says_to_check_it(
    tmp_path: Path, server: FakeReadwise
) -> None:
    """issue 21, item 3: a 404 at the API's root names the URL and `readwise.base_url`; exit 2,
    as the README's table gives for a config error."""
    vault = tmp_path / "graph"
    vault.mkdir()
    config = write_config(
        tmp_path / "c.yaml", {"token": TOKEN, "base_url": server.url + "/readwise"}, vault
    )
    result = syncd("sync", "--config", str(config))
    assert result.returncode == 2, result.stderr
    line = result.stderr.strip().splitlines()[-1]
    assert f"{server.url}/readwise/api/v2/export/" in line, line
    assert "HTTP 404" in line and f"check readwise.base_url in {config}" in line, line
    assert readme_exit_code("no Readwise API at URL (HTTP 404)") == 2


def test_init_base_url_sets_it(tmp_path: Path, server: FakeReadwise) -> None:
    """issue 21, item 3: `syncd init --base-url` writes `readwise.base_url`; a bad one is
    refused before anything is written."""
    vault = tmp_path / "graph"
    vault.mkdir()
    config = tmp_path / "conf" / "config.yaml"
    args = ["init", "--config", str(config), "--vault", str(vault), "--token", TOKEN]
    bad = syncd(*args, "--base-url", "ftp://example.com")
    assert bad.returncode == 2 and "--base-url" in bad.stderr and not config.exists()
    done = syncd(*args, "--base-url", server.url)
    assert done.returncode == 0, done.stderr
    assert yaml.safe_load(config.read_text())["readwise"]["base_url"] == server.url
    assert syncd("doctor", "--config", str(config)).returncode == 0


# --- item 5: one cause, one message ----------------------------------------------------------


@pytest.fixture
def read_only(tmp_path: Path) -> Iterator[Any]:
    """`read_only(folder)`: a read-only bind mount of the folder onto itself (root only: file
    modes do not stop root), undone at the end."""
    import shutil

    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("a read-only bind mount needs root")
    mounted: list[Path] = []

    def mount(folder: Path) -> None:
        for command in (
            ["mount", "--bind", str(folder), str(folder)],
            ["mount", "-o", "remount,bind,ro", str(folder)],
        ):
            done = subprocess.run(command, capture_output=True, check=False)
            if done.returncode != 0:
                pytest.skip(f"cannot bind-mount here: {done.stderr.decode().strip()}")
            if not mounted or mounted[-1] != folder:
                mounted.append(folder)

    yield mount
    for folder in mounted:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def test_every_book_failing_for_one_reason_is_one_line(
    tmp_path: Path, server: FakeReadwise, read_only: Any
) -> None:
    """issue 21, item 5: the pages folder read-only, 40 books fail for that one reason: the user
    reads one line naming the folder and the reason, not two per book; `status` too."""
    for number in range(40):
        server.add_book(title=f"Book {number}", highlights=[{"text": f"Text {number}."}])
    vault = tmp_path / "graph"
    pages = vault / "pages"
    pages.mkdir(parents=True)
    config = write_config(
        tmp_path / "c.yaml",
        {"token": TOKEN, "base_url": server.url},
        vault,
        sync={"sync_log_page": None},
    )
    read_only(pages)
    result = syncd("sync", "--config", str(config))
    assert result.returncode == 1 == readme_exit_code("done, but some books failed"), result.stderr
    lines = result.stderr.strip().splitlines()
    about = [line for line in lines if "read-only" in line]
    assert len(about) == 1, lines[:6]
    assert f"40 books failed: cannot write in {pages}: the vault is read-only" in about[0]
    assert len(lines) <= 3, lines
    status = syncd("status", "--config", str(config)).stdout
    (last_error,) = [line for line in status.splitlines() if line.startswith("last error:")]
    assert f"40 books failed: cannot write in {pages}" in last_error and len(last_error) < 400
    assert sum("read-only" in line for line in status.splitlines()) <= 2, status


# --- item 6: an interrupted first sync says where it stands ----------------------------------


def test_ctrl_c_during_a_first_sync_says_where_it_stands(tmp_path: Path) -> None:
    """issue 21, item 6: Ctrl-C at a terminal during a long first sync: it says how many pages
    were written and that the next sync continues; `status` shows the sync as interrupted; the
    next sync writes the rest."""
    import threading

    from syncd.testing.faults import Fault

    vault = tmp_path / "graph"
    vault.mkdir()
    release = threading.Event()
    with FakeReadwise(token=TOKEN, page_size=10) as server:
        for number in range(30):
            server.add_book(title=f"Book {number}", highlights=[{"text": f"Text {number}."}])
        config = write_config(
            tmp_path / "c.yaml",
            {"token": TOKEN, "base_url": server.url},
            vault,
            sync={"sync_log_page": None},
        )
        server.inject("export", Fault.hang(release=release), after=2)  # the third page waits
        child = terminal("sync", "--config", str(config))
        try:
            child.expect_exact("20/30 books")  # two pages done; the third is on its way
            child.sendintr()
            child.expect_exact("stopping after the book in hand")
            release.set()
            child.expect(pexpect.EOF)
        finally:
            release.set()
            child.close()
        output = (child.before or "").replace("\r\n", "\n")
        assert child.exitstatus == 130 == readme_exit_code("interrupted (Ctrl-C)"), output
        assert "interrupted: 20 pages written; the next sync continues" in output, output
        assert len(list((vault / "pages").glob("*.md"))) == 20
        status = syncd("status", "--config", str(config)).stdout
        assert "last sync: interrupted (Ctrl-C) after 20 pages written" in status, status
        assert "last error: none" not in status
        server.clear_faults()
        again = syncd("sync", "--config", str(config))
        assert again.returncode == 0, again.stderr
        assert len(list((vault / "pages").glob("*.md"))) == 30
        assert "last sync: interrupted" not in syncd("status", "--config", str(config)).stdout
