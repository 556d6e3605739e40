"""A clone without the shared corpus: no test is skipped for it, the corpus's tests are deselected.

Runs pytest's collection of the whole suite in a child process whose shared folder does not exist
(`$SYNCD_TEST_SHARED`), as in a user's fresh clone: a module that skips at import (as the golden
modules did before the owned fixtures) would show as SKIPPED here.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_a_clone_without_the_corpus_collects_no_skipped_test(tmp_path: Path) -> None:
    env = {**os.environ, "SYNCD_TEST_SHARED": str(tmp_path / "no-shared-folder")}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-rs", "-p", "no:cacheprovider"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:]
    lines = output.strip().splitlines()
    assert not [line for line in lines if line.startswith("SKIPPED")], output[-3000:]
    summary = lines[-1]  # "1676/1720 tests collected (44 deselected) in 6.08s"
    assert "tests collected" in summary and "deselected" in summary, summary
    assert "skipped" not in summary, summary
    assert "test_owned_fixtures.py::test_owned_library_is_synced_byte_for_byte[logseq]" in output
