"""issue 21, item 4: a vault path one folder off (a graph's pages/ or journals/ folder, a subfolder
of an Obsidian vault) is recognised and the graph or vault above it named (and offered by `init` at
a terminal); `doctor` speaks the vault's format and fails for a vault folder that does not exist.
Through the real command line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pexpect
import yaml

from syncd.testing.fakereadwise import FakeReadwise
from tests.e2e.test_where_to_look import (
    TOKEN,
    environment,
    readme_exit_code,
    server,
    syncd,
    terminal,
    write_config,
)

__all__ = ["server"]  # the fixture
INIT = (sys.executable, "-m", "syncd", "init")


def logseq_graph(folder: Path) -> Path:
    (folder / "logseq").mkdir(parents=True)
    (folder / "logseq" / "config.edn").write_text("{:meta/version 1}\n")
    (folder / "pages").mkdir()
    (folder / "journals").mkdir()
    return folder


def obsidian_vault(folder: Path) -> Path:
    (folder / ".obsidian").mkdir(parents=True)
    (folder / "Books" / "Readwise").mkdir(parents=True)
    return folder


def test_init_at_a_terminal_offers_the_graph_above_a_pages_folder(tmp_path: Path) -> None:
    """issue 21, item 4: `init --vault GRAPH/pages` at a terminal names the graph above and
    offers it; Enter takes it."""
    graph = logseq_graph(tmp_path / "graph")
    config = tmp_path / "conf" / "config.yaml"
    child = terminal(
        "init", "--config", str(config), "--vault", str(graph / "pages"), "--token", TOKEN
    )
    child.expect_exact(f"{graph / 'pages'} is the pages/ folder of the Logseq graph {graph}")
    child.expect_exact(f"Use {graph} instead? [Y/n]")
    child.sendline("")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.before
    data = yaml.safe_load(config.read_text())
    assert data["vault"]["path"] == str(graph) and data["vault"]["format"] == "logseq"


def test_init_without_a_terminal_refuses_an_obsidian_vaults_subfolder_naming_the_vault(
    tmp_path: Path,
) -> None:
    vault = obsidian_vault(tmp_path / "notes")
    config = tmp_path / "conf" / "config.yaml"
    subfolder = str(vault / "Books" / "Readwise")
    result = subprocess.run(
        [*INIT, "--config", str(config), "--vault", subfolder, "--token", TOKEN],
        capture_output=True,
        text=True,
        env=environment(),
        stdin=subprocess.DEVNULL,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2 and not config.exists()
    assert f"is inside the Obsidian vault {vault}" in result.stderr, result.stderr
    assert f"--vault {vault}" in result.stderr


def test_sync_and_doctor_refuse_a_graphs_pages_folder_and_write_nothing(
    tmp_path: Path, server: FakeReadwise
) -> None:
    """issue 21, item 4: vault.path at GRAPH/pages: sync fails naming the graph (never writing
    pages/pages/), doctor fails the vault check naming it."""
    server.add_book(title="Walden", highlights=[{"text": "Simplify."}])
    graph = logseq_graph(tmp_path / "graph")
    config = write_config(
        tmp_path / "c.yaml", {"token": TOKEN, "base_url": server.url}, graph / "pages"
    )
    result = syncd("sync", "--config", str(config))
    assert result.returncode == 2 == readme_exit_code("usage or config error"), result.stderr
    line = result.stderr.strip().splitlines()[-1]
    assert f"at 'vault.path': {graph / 'pages'} is the pages/ folder of the Logseq graph" in line
    assert f"set vault.path to {graph}" in line
    assert not (graph / "pages" / "pages").exists()
    assert list(graph.rglob("*.md")) == []
    doctor = syncd("doctor", "--config", str(config))
    assert doctor.returncode == 1
    (vault_line,) = [line for line in doctor.stdout.splitlines() if " vault:" in line]
    assert vault_line.startswith("FAIL") and f"Logseq graph {graph}" in vault_line


def test_doctor_speaks_obsidian_for_an_obsidian_vault(tmp_path: Path, server: FakeReadwise) -> None:
    """issue 21, item 4: no Logseq settings for an Obsidian vault; its own instead."""
    vault = obsidian_vault(tmp_path / "notes")
    config = write_config(
        tmp_path / "c.yaml",
        {"token": TOKEN, "base_url": server.url},
        vault,
        vault={"format": "obsidian"},
    )
    doctor = syncd("doctor", "--config", str(config))
    assert doctor.returncode == 0, doctor.stdout
    assert "logseq" not in doctor.stdout.casefold(), doctor.stdout
    assert "ok   obsidian settings: .obsidian/ found" in doctor.stdout, doctor.stdout


def test_doctor_fails_for_a_vault_folder_that_does_not_exist(
    tmp_path: Path, server: FakeReadwise
) -> None:
    """issue 21, item 4: nothing about the missing vault is "ok"."""
    missing = tmp_path / "no-such-graph"
    config = write_config(tmp_path / "c.yaml", {"token": TOKEN, "base_url": server.url}, missing)
    doctor = syncd("doctor", "--config", str(config))
    assert doctor.returncode == 1
    lines = doctor.stdout.splitlines()
    assert f"FAIL vault: {missing} does not exist" in doctor.stdout
    assert not [line for line in lines if line.startswith("ok") and "settings" in line], lines
    assert not [line for line in lines if line.startswith("ok   watcher")], lines
