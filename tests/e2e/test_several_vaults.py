"""Several vaults on one machine (issue 21, items 1, 2 and 8), through the real command line:
`syncd` as a subprocess, HOME a temporary folder, `systemctl` a fake on PATH that records its
calls (the tests start a unit's `ExecStart=` line themselves, with a notify socket, as systemd
would), Readwise the loopback server (one per account)."""

from __future__ import annotations

import os
import re
import shlex
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pexpect
import pytest
import yaml

from syncd.testing.fakereadwise import FakeReadwise

ROOT = Path(__file__).resolve().parents[2]
TOKEN_A = "tok-logseq-0123456789abcdef"
TOKEN_B = "tok-obsidian-0123456789abcd"
FAKE_SYSTEMCTL = '#!/bin/sh\necho "systemctl $*" >> "$FAKE_LOG"\nexit 0\n'


class Machine:
    """A home folder with a Logseq graph and an Obsidian vault, and a fake systemctl."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.home = root / "home"
        self.graph = self.home / "graph"
        (self.graph / "logseq").mkdir(parents=True)
        (self.graph / "logseq" / "config.edn").write_text("{:file/name-format :triple-lowbar}")
        self.vault = self.home / "Obsidian"
        (self.vault / ".obsidian").mkdir(parents=True)
        bin_dir = root / "bin"
        bin_dir.mkdir()
        (bin_dir / "systemctl").write_text(FAKE_SYSTEMCTL)
        (bin_dir / "systemctl").chmod(0o755)
        self.log = root / "systemctl.log"
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("XDG_", "SYNCD_", "READWISE_", "NOTIFY_", "JOURNAL_"))
        }
        env.update(
            HOME=str(self.home),
            XDG_CONFIG_HOME=str(self.home / ".config"),
            XDG_STATE_HOME=str(self.home / ".local" / "state"),
            PYTHONPATH=str(ROOT),
            PATH=f"{bin_dir}:/usr/bin:/bin",
            FAKE_LOG=str(self.log),
            TZ="UTC",
            TERM="dumb",
        )
        self.env = env
        self.configs = self.home / ".config" / "syncd"
        self.units = self.home / ".config" / "systemd" / "user"

    def syncd(self, *args: str, check: int | None = 0) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [sys.executable, "-m", "syncd", *args],
            cwd=str(self.home),
            env=self.env,
            text=True,
            capture_output=True,
            timeout=120,
            check=False,
        )
        if check is not None:
            assert result.returncode == check, (args, result.stdout, result.stderr)
        return result

    def calls(self) -> list[str]:
        return self.log.read_text().splitlines() if self.log.exists() else []

    def point_at(self, config: Path, server: FakeReadwise) -> None:
        """What `init --base-url` would do: the config's Readwise is the loopback server."""
        data = yaml.safe_load(config.read_text())
        data["readwise"]["base_url"] = server.url
        config.write_text(yaml.safe_dump(data))


@pytest.fixture
def machine(tmp_path: Path) -> Machine:
    return Machine(tmp_path)


def exec_start(unit: Path) -> list[str]:
    line = next(x for x in unit.read_text().splitlines() if x.startswith("ExecStart="))
    return shlex.split(line.removeprefix("ExecStart=").replace("%%", "%").replace("$$", "$"))


def unit_line(unit: Path, key: str) -> str:
    return next(x for x in unit.read_text().splitlines() if x.startswith(f"{key}="))


@contextmanager
def started(machine: Machine, units: list[Path], sockets: Path) -> Iterator[None]:
    """Start each unit's ExecStart= as systemd would, wait until each has synced (its
    STATUS= tells of a sync), then stop them with SIGTERM; each exits 0."""
    with ExitStack() as stack:
        daemons = []
        for index, unit in enumerate(units):
            path = sockets / f"notify-{index}.sock"
            path.unlink(missing_ok=True)
            notify = stack.enter_context(socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM))
            notify.bind(str(path))
            notify.settimeout(120)
            daemon = subprocess.Popen(
                exec_start(unit),
                cwd="/",
                env={**machine.env, "NOTIFY_SOCKET": str(path)},
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            daemons.append((daemon, notify))
        try:
            for _daemon, notify in daemons:
                messages: list[str] = []
                while not any("STATUS=last sync" in m for m in messages):
                    messages.append(notify.recv(4096).decode())
            yield
        finally:
            for daemon, _ in daemons:
                daemon.send_signal(signal.SIGTERM)
            for daemon, _ in daemons:
                _, err = daemon.communicate(timeout=60)
                assert daemon.returncode == 0, err
                assert "Traceback" not in err


def run_units(machine: Machine, units: list[Path], sockets: Path) -> None:
    with started(machine, units, sockets):
        pass


# --------------------------------------------------------------------------------------------
# Two vaults, end to end
# --------------------------------------------------------------------------------------------


def test_two_vaults_on_one_machine_each_with_its_own_service(
    machine: Machine, tmp_path: Path
) -> None:
    """issue 21, items 1 and 2: init a Logseq graph (the default config) and an Obsidian vault
    (obsidian.yaml, another Readwise account), install both services, both run at once, uninstall
    one: the other is still installed and still runs."""
    logseq_config = machine.configs / "config.yaml"
    obsidian_config = machine.configs / "obsidian.yaml"
    with FakeReadwise(token=TOKEN_A) as server_a, FakeReadwise(token=TOKEN_B) as server_b:
        server_a.add_book(
            title="Walden",
            author="Thoreau",
            highlights=[{"text": "Simplify, simplify.", "updated_at": "2023-01-01T00:00:00Z"}],
        )
        server_b.add_book(
            title="Meditations",
            author="Marcus Aurelius",
            highlights=[{"text": "Waste no more time.", "updated_at": "2023-01-01T00:00:00Z"}],
        )
        # init both: the second token gets a file of its own, the first one's is kept
        machine.syncd("init", "--vault", str(machine.graph), "--token", TOKEN_A)
        out = machine.syncd(
            "init", "--config", str(obsidian_config), "--vault", str(machine.vault),
            "--token", TOKEN_B,
        ).stdout  # fmt: skip
        assert (machine.configs / "readwise-token").read_text().strip() == TOKEN_A
        own = machine.configs / "obsidian.readwise-token"
        assert own.read_text().strip() == TOKEN_B
        assert f"wrote {own}" in out
        assert yaml.safe_load(obsidian_config.read_text())["readwise"]["token_file"] == str(own)
        machine.point_at(logseq_config, server_a)
        machine.point_at(obsidian_config, server_b)

        # install both: two services, neither takes over the other
        first = machine.syncd("service", "install").stdout
        second = machine.syncd("service", "install", "--config", str(obsidian_config)).stdout
        assert "enabled and started syncd.service" in first
        assert "enabled and started syncd@obsidian.service" in second
        logseq_unit = machine.units / "syncd.service"
        obsidian_unit = machine.units / "syncd@obsidian.service"
        assert sorted(p.name for p in machine.units.iterdir()) == [
            "syncd.service",
            "syncd@obsidian.service",
        ]
        assert exec_start(logseq_unit)[-1] == "run"
        assert exec_start(obsidian_unit)[-3:] == ["run", "--config", str(obsidian_config)]
        assert unit_line(logseq_unit, "Description").endswith("into a Logseq graph")
        assert unit_line(obsidian_unit, "Description") == (
            "Description=syncd (obsidian.yaml): Readwise highlights into an Obsidian vault"
        )
        assert unit_line(obsidian_unit, "LoadCredential") == f"LoadCredential=readwise-token:{own}"
        assert machine.calls() == [
            "systemctl --user daemon-reload",
            "systemctl --user enable --now syncd.service",
            "systemctl --user daemon-reload",
            "systemctl --user enable --now syncd@obsidian.service",
        ]
        status = machine.syncd("service", "status").stdout.splitlines()
        assert [line.split(":")[0] for line in status] == [
            "syncd.service",
            "syncd@obsidian.service",
        ]
        assert f"config {logseq_config};" in status[0]
        assert f"config {obsidian_config};" in status[1]

        # both run, at the same time, each into its own vault (sharing the state folder)
        run_units(machine, [logseq_unit, obsidian_unit], tmp_path)
        assert (machine.graph / "pages" / "Walden (highlights).md").exists()
        assert (machine.vault / "Readwise" / "Books" / "Meditations.md").exists()
        assert not (machine.vault / "Readwise" / "Books" / "Walden.md").exists()

        # uninstall one: the other stays installed and enabled, and runs
        out = machine.syncd("service", "uninstall", "--config", str(obsidian_config)).stdout
        assert f"removed {obsidian_unit}" in out
        assert not obsidian_unit.exists() and logseq_unit.exists()
        assert "systemctl --user disable --now syncd@obsidian.service" in machine.calls()
        assert not any("disable --now syncd.service" in call for call in machine.calls())
        status = machine.syncd("service", "status").stdout.splitlines()
        assert len(status) == 1 and status[0].startswith("syncd.service: ")
        server_a.add_highlight(server_a.books[0]["user_book_id"], text="Our life is frittered.")
        run_units(machine, [logseq_unit], tmp_path)
        assert (
            "Our life is frittered."
            in (machine.graph / "pages" / "Walden (highlights).md").read_text()
        )
        result = machine.syncd("sync", "--config", str(logseq_config))
        assert "0 new highlights" in result.stdout


# --------------------------------------------------------------------------------------------
# item 1: a unit running another config; the dry run
# --------------------------------------------------------------------------------------------


def write_config(machine: Machine, path: Path, vault: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    (path.parent / "readwise-token").write_text(TOKEN_A + "\n")
    (path.parent / "readwise-token").chmod(0o600)
    path.write_text(
        yaml.safe_dump(
            {
                "readwise": {"token_file": str(path.parent / "readwise-token")},
                "vault": {"path": str(vault)},
            }
        )
    )
    path.chmod(0o600)
    return path


def test_a_unit_running_another_config_is_not_taken_over_unless_replace(
    machine: Machine,
) -> None:
    """issue 21, item 1: two configs of the same file name (so the same service name): the
    second install is refused, naming the config the unit runs, unless --replace."""
    home_work = write_config(machine, machine.home / "home-notes" / "work.yaml", machine.graph)
    office_work = write_config(machine, machine.home / "office" / "work.yaml", machine.vault)
    machine.syncd("service", "install", "--config", str(home_work))
    unit = machine.units / "syncd@work.service"
    before = unit.read_bytes()
    calls = machine.calls()
    result = machine.syncd("service", "install", "--config", str(office_work), check=2)
    assert result.stderr.splitlines() == [
        f"syncd: service: {unit} runs the config {home_work}; installing {office_work} there "
        "would stop that one's syncs. Give --replace to do so, or give this config a file name "
        "of its own (the unit is named after it)"
    ]
    assert unit.read_bytes() == before and machine.calls() == calls
    machine.syncd("service", "install", "--config", str(office_work), "--replace")
    assert exec_start(unit)[-1] == str(office_work)
    assert machine.calls()[len(calls) :] == [
        "systemctl --user daemon-reload",
        "systemctl --user enable --now syncd@work.service",
        "systemctl --user restart syncd@work.service",
    ]


def test_a_second_service_for_one_config_is_refused(machine: Machine) -> None:
    """issue 21, item 1: the daemon and the timer, or two names, for one config: refused."""
    config = write_config(machine, machine.home / "cfg" / "notes.yaml", machine.graph)
    machine.syncd("service", "install", "--config", str(config))
    result = machine.syncd("service", "install", "--timer", "--config", str(config), check=2)
    assert "syncd@notes.service is installed and runs" in result.stderr
    assert f"syncd service uninstall --config {config}` first" in result.stderr
    assert not (machine.units / "syncd-sync@notes.timer").exists()


def test_install_dry_run_prints_every_file_and_command_and_does_nothing(
    machine: Machine,
) -> None:
    """issue 21, item 1: --dry-run shows each file whole and each systemctl call; nothing is
    written (no unit, no record of what install wrote) and systemctl is not run."""
    config = write_config(machine, machine.configs / "obsidian.yaml", machine.vault)
    data = yaml.safe_load(config.read_text())
    data["vault"]["format"] = "obsidian"
    config.write_text(yaml.safe_dump(data))
    before = sorted(str(p) for p in machine.home.rglob("*"))
    out = machine.syncd("service", "install", "--timer", "--dry-run", "--config", str(config))
    lines = out.stdout.splitlines()
    service = machine.units / "syncd-sync@obsidian.service"
    timer = machine.units / "syncd-sync@obsidian.timer"
    assert f"would write {service} (new):" in lines
    assert f"would write {timer} (new):" in lines
    assert (
        "    Description=syncd (obsidian.yaml): one sync of Readwise highlights into an "
        "Obsidian vault"
    ) in lines
    assert "    OnCalendar=hourly" in lines
    assert f"    ExecStart={sys.executable} -m syncd sync --config {config}" in lines
    assert lines[-3:] == [
        "would run: systemctl --user daemon-reload",
        "would run: systemctl --user enable --now syncd-sync@obsidian.timer",
        "dry run: nothing written, nothing run",
    ]
    assert sorted(str(p) for p in machine.home.rglob("*")) == before
    assert machine.calls() == []


# --------------------------------------------------------------------------------------------
# item 2: init and the token another config uses
# --------------------------------------------------------------------------------------------


def test_init_never_overwrites_the_token_file_another_config_uses(machine: Machine) -> None:
    """issue 21, item 2: `init --config third.yaml --token X` with another token in
    readwise-token: that file is kept, X goes to third.readwise-token; the same token again
    shares the file."""
    machine.syncd("init", "--vault", str(machine.graph), "--token", TOKEN_A)
    shared = machine.configs / "readwise-token"
    third = machine.configs / "third.yaml"
    out = machine.syncd(
        "init", "--config", str(third), "--vault", str(machine.vault), "--token", TOKEN_B
    ).stdout
    assert shared.read_text().strip() == TOKEN_A
    own = machine.configs / "third.readwise-token"
    assert own.read_text().strip() == TOKEN_B and (own.stat().st_mode & 0o777) == 0o600
    assert f"{shared} holds another token (kept)" in out
    assert TOKEN_B not in out and TOKEN_A not in out
    fourth = machine.configs / "fourth.yaml"
    out = machine.syncd(
        "init", "--config", str(fourth), "--vault", str(machine.vault), "--token", TOKEN_A
    ).stdout
    assert f"kept {shared}" in out
    assert yaml.safe_load(fourth.read_text())["readwise"]["token_file"] == str(shared)
    assert not (machine.configs / "fourth.readwise-token").exists()
    # both candidates hold other tokens: nothing is written, and it says why
    fifth_token = machine.configs / "fifth.readwise-token"
    fifth_token.write_text("tok-someone-elses-0123456789\n")
    result = machine.syncd(
        "init", "--config", str(machine.configs / "fifth.yaml"), "--vault", str(machine.vault),
        "--token", TOKEN_B, check=2,
    )  # fmt: skip
    assert result.stderr.splitlines()[-1:] == [
        f"syncd: init: {shared} and {fifth_token} hold other tokens (other configs may use "
        f"them); not overwriting either: remove {fifth_token} if no config uses it, and run "
        "syncd init again"
    ]
    assert fifth_token.read_text() == "tok-someone-elses-0123456789\n"
    assert not (machine.configs / "fifth.yaml").exists()


def test_init_at_a_terminal_keeps_the_other_token_too(machine: Machine) -> None:
    """issue 21, item 2, at a terminal: a token typed for a second config that differs from
    readwise-token's goes to a file of its own, and init says so."""
    machine.syncd("init", "--vault", str(machine.graph), "--token", TOKEN_A)
    child = pexpect.spawn(
        sys.executable,
        ["-m", "syncd", "init", "--config", str(machine.configs / "work.yaml")],
        cwd=str(machine.vault),
        env=machine.env,
        encoding="utf-8",
        timeout=60,
    )
    child.expect_exact("Folder of your Logseq graph or Obsidian vault: ")
    child.sendline(".")
    child.expect_exact("Readwise access token (Enter keeps the one in")
    child.sendline(TOKEN_B)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.before
    assert (machine.configs / "readwise-token").read_text().strip() == TOKEN_A
    assert (machine.configs / "work.readwise-token").read_text().strip() == TOKEN_B
    assert TOKEN_B not in (child.before or "")


# --------------------------------------------------------------------------------------------
# item 8: configs sharing a state folder
# --------------------------------------------------------------------------------------------


def test_configs_sharing_a_state_folder(machine: Machine, tmp_path: Path) -> None:
    """issue 21, item 8, as the README says: vaults sharing a state folder each have their own
    database and lock, so a sync of one runs while the other's daemon runs; two configs naming
    one vault exclude each other, with the same state folder or not: the second exits 5, naming
    the vault and the config that holds it."""
    logseq_config = machine.configs / "config.yaml"
    obsidian_config = machine.configs / "obsidian.yaml"
    again = machine.configs / "graph-again.yaml"
    with FakeReadwise(token=TOKEN_A) as server:
        server.add_book(
            title="Walden",
            author="Thoreau",
            highlights=[{"text": "Simplify, simplify.", "updated_at": "2023-01-01T00:00:00Z"}],
        )
        machine.syncd("init", "--vault", str(machine.graph), "--token", TOKEN_A)
        for config, vault in ((obsidian_config, machine.vault), (again, machine.graph)):
            machine.syncd(
                "init", "--config", str(config), "--vault", str(vault), "--token", TOKEN_A
            )
        for config in (logseq_config, obsidian_config, again):
            machine.point_at(config, server)
        # the same vault again, with a state folder of its own
        elsewhere = machine.configs / "graph-elsewhere.yaml"
        data = yaml.safe_load(again.read_text())
        data["state_dir"] = str(machine.home / "other-state")
        elsewhere.write_text(yaml.safe_dump(data))
        elsewhere.chmod(0o600)
        machine.syncd("service", "install")
        with started(machine, [machine.units / "syncd.service"], tmp_path):
            machine.syncd("sync", "--config", str(obsidian_config))
            held = [
                machine.syncd("sync", "--config", str(config), check=5)
                for config in (again, elsewhere)
            ]
        state = machine.home / ".local" / "state" / "syncd"
        assert len(list(state.glob("vault-*.sqlite3"))) == 2
    assert (machine.vault / "Readwise" / "Books" / "Walden.md").exists()
    for result in held:
        (line,) = result.stderr.splitlines()
        assert line.startswith("syncd: another syncd (pid ")
        assert line.endswith(f", config {logseq_config}) holds the vault {machine.graph}")
    assert list((machine.home / "other-state").glob("*.sqlite3")) == []  # it stopped before


# --------------------------------------------------------------------------------------------
# The README's "Several vaults" commands, as written
# --------------------------------------------------------------------------------------------


def readme_block(heading: str) -> list[str]:
    """The commands of the first ```sh block after `heading`, comments dropped."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(rf"^{re.escape(heading)}\n.*?```sh\n(.*?)```", text, re.S | re.M)
    assert match, f"README has no sh block under '{heading}'"
    return [x.split("#")[0].strip() for x in match.group(1).splitlines() if x.split("#")[0].strip()]


def test_the_readmes_several_vaults_commands_as_written(machine: Machine) -> None:
    """The README's "Several vaults" block, run as written (`~` expanded as a shell does; init
    answered at a terminal): two configs, two services, status lists both, uninstall removes
    the second only."""
    commands = readme_block("### Several vaults")
    argvs = [
        [word.replace("~", str(machine.home), 1) if word.startswith("~") else word
         for word in shlex.split(command)]
        for command in commands
    ]  # fmt: skip
    assert [argv[:3] for argv in argvs] == [
        ["syncd", "init"],
        ["syncd", "init", "--config"],
        ["syncd", "service", "install"],
        ["syncd", "service", "install"],
        ["syncd", "service", "status"],
        ["syncd", "service", "uninstall"],
    ]
    for argv, vault, token in (
        (argvs[0], machine.graph, TOKEN_A),
        (argvs[1], machine.vault, TOKEN_B),
    ):
        child = pexpect.spawn(
            sys.executable, ["-m", "syncd", *argv[1:]], cwd=str(vault), env=machine.env,
            encoding="utf-8", timeout=60,
        )  # fmt: skip
        child.expect_exact("Folder of your Logseq graph or Obsidian vault: ")
        child.sendline(".")
        child.expect_exact("Readwise access token")
        child.sendline(token)
        child.expect(pexpect.EOF)
        child.close()
        assert child.exitstatus == 0, child.before
    outputs = [machine.syncd(*argv[1:]).stdout for argv in argvs[2:]]
    assert "syncd.service" in outputs[0] and "syncd@obsidian.service" in outputs[1]
    assert [line.split(":")[0] for line in outputs[2].splitlines()] == [
        "syncd.service",
        "syncd@obsidian.service",
    ]
    assert sorted(p.name for p in machine.units.iterdir()) == ["syncd.service"]
    assert (machine.configs / "obsidian.readwise-token").read_text().strip() == TOKEN_B
    assert (machine.configs / "readwise-token").read_text().strip() == TOKEN_A
