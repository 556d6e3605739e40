"""The README's "Quick start" and "Using it with your Readwise account" commands, run as written
(issue 12, item 6), against the loopback Readwise server, ending with a running service.

What differs from a user's machine, on purpose: `syncd` is this checkout's (`python -m syncd`);
HOME is a temporary folder; `systemctl` is a fake on PATH that records its calls (the test then
starts the installed unit's `ExecStart=` line itself, with a notify socket, as systemd would);
the config written by `init` gets `readwise.base_url` pointed at the loopback server; the quick
start's `pip install` parts and `pytest` (this very suite) are not run.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pexpect

from syncd.testing.fakereadwise import FakeReadwise

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "tok-readme-0123456789abcdef"
FAKE_SYSTEMCTL = '#!/bin/sh\necho "systemctl $*" >> "$FAKE_LOG"\nexit 0\n'


def section_commands(title: str) -> list[str]:
    """The commands of the first ```sh block after the heading `## title`, comments dropped."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(rf"^## {re.escape(title)}\n.*?```sh\n(.*?)```", text, re.S | re.M)
    assert match, f"README has no sh block under '## {title}'"
    return [
        line.split("#")[0].strip()
        for line in match.group(1).splitlines()
        if line.split("#")[0].strip()
    ]


def syncd_argv(command: str) -> list[str]:
    words = shlex.split(command)
    assert words[0] == "syncd", command
    return [sys.executable, "-m", "syncd", *words[1:]]


def test_the_quick_start_is_two_commands_and_the_demo_runs(tmp_path: Path) -> None:
    commands = section_commands("Quick start")
    # issue 21, item 10: Debian's and Ubuntu's system Python refuse `pip install .` (externally
    # managed): a virtualenv first, so that the commands work there as written
    assert commands == [
        "python3 -m venv .venv && . .venv/bin/activate && pip install . && syncd demo",
        ". .venv/bin/activate && pip install '.[test]' && pytest",
    ]
    demo = commands[0].split("&&")[-1].strip()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        syncd_argv(demo),
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "syncd-demo-graph" / "pages").is_dir()


def test_using_it_with_your_account_reaches_a_running_service(tmp_path: Path) -> None:
    """issue 12, item 6: init -> doctor -> dry run -> service install, then the service runs
    and reaches READY=1 with the book's page written."""
    commands = section_commands("Using it with your Readwise account")
    assert [shlex.split(c)[:2] for c in commands] == [
        ["syncd", "init"],
        ["syncd", "doctor"],
        ["syncd", "sync"],
        ["syncd", "service"],
    ]
    home = tmp_path / "home"
    vault = home / "notes"
    (vault / "logseq").mkdir(parents=True)
    (vault / "logseq" / "config.edn").write_text("{:file/name-format :triple-lowbar}")
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    (fake_bin / "systemctl").write_text(FAKE_SYSTEMCTL)
    (fake_bin / "systemctl").chmod(0o755)
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("XDG_", "SYNCD_", "READWISE_", "NOTIFY_", "JOURNAL_"))
    }
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_STATE_HOME=str(home / ".local" / "state"),
        PYTHONPATH=str(ROOT),
        PATH=f"{fake_bin}:{env.get('PATH', '/usr/bin:/bin')}",
        FAKE_LOG=str(tmp_path / "systemctl.log"),
        TZ="UTC",
    )
    config = home / ".config" / "syncd" / "config.yaml"
    with FakeReadwise(token=TOKEN) as server:
        server.add_book(
            title="Walden",
            author="Thoreau",
            highlights=[{"text": "Simplify, simplify.", "updated_at": "2023-01-01T00:00:00Z"}],
        )
        # 1. syncd init, answered as a person would, from inside the vault
        child = pexpect.spawn(
            syncd_argv(commands[0])[0],
            syncd_argv(commands[0])[1:],
            cwd=str(vault),
            env=env,
            encoding="utf-8",
            timeout=60,
        )
        child.expect_exact("Folder of your Logseq graph or Obsidian vault: ")
        child.sendline(".")
        child.expect_exact("Readwise access token")
        child.sendline(TOKEN)
        child.expect(pexpect.EOF)
        child.close()
        assert child.exitstatus == 0, child.before
        text = config.read_text()
        config.write_text(text.replace("readwise:\n", f"readwise:\n  base_url: {server.url}\n"))
        # 2-4. doctor, the dry run, service install: as written, each exit 0
        outputs = []
        for command in commands[1:]:
            result = subprocess.run(
                syncd_argv(command),
                cwd=str(home),
                env=env,
                text=True,
                capture_output=True,
                timeout=120,
                check=False,
            )
            assert result.returncode == 0, (command, result.stdout, result.stderr)
            outputs.append(result.stdout + result.stderr)
        assert "FAIL" not in outputs[0]
        assert "+- Simplify, simplify." in outputs[1].replace("\t", "")
        assert not (vault / "pages").exists()  # the dry run wrote nothing
        assert (tmp_path / "systemctl.log").read_text().splitlines() == [
            "systemctl --user daemon-reload",
            "systemctl --user enable --now syncd.service",
        ]
        # 5. what systemd would start: the unit's ExecStart=, with a notify socket
        unit = home / ".config" / "systemd" / "user" / "syncd.service"
        exec_start = next(
            line for line in unit.read_text().splitlines() if line.startswith("ExecStart=")
        )
        argv = shlex.split(exec_start.removeprefix("ExecStart=").replace("%%", "%"))
        assert argv[:3] == [sys.executable, "-m", "syncd"]
        notify_path = tmp_path / "notify.sock"
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as notify:
            notify.bind(str(notify_path))
            notify.settimeout(120)
            daemon = subprocess.Popen(
                argv,
                cwd="/",
                env={**env, "NOTIFY_SOCKET": str(notify_path)},
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            try:
                messages = []
                while not any("READY=1" in m for m in messages):
                    messages.append(notify.recv(4096).decode())
                while not any("STATUS=" in m and "highlight" in m for m in messages):
                    messages.append(notify.recv(4096).decode())
            finally:
                daemon.send_signal(signal.SIGTERM)
                _, err = daemon.communicate(timeout=60)
        assert daemon.returncode == 0, err
        assert TOKEN not in err
    assert (vault / "pages" / "Walden (highlights).md").exists()
