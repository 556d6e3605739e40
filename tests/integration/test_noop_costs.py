"""What a no-op sync does with 20 and with 200 pages (issue 20), counted, not timed: through
a vault port that counts (`tests.support.counting_vault`) and the SQL statements the state
database runs. The state's work is the same whatever the number of pages (no integrity check
of the whole file, no highlight read, the same statements); the vault's is one stat per page
(a page the user saved since is read; none was here), and nothing is read or written."""

from __future__ import annotations

import re
import sqlite3
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from syncd.edges.vault import Vault
from tests.support.counting_vault import CountingVault
from tests.support.harness import harness

T0 = datetime(2024, 5, 1, 9, 0, tzinfo=timezone.utc)


def no_op(root: Path, pages: int) -> tuple[Counter[str], list[str]]:
    """The vault's counts and the SQL statements of a no-op sync of a vault of `pages` pages."""
    statements: list[str] = []
    connect = sqlite3.connect

    def traced(*args: object, **kwargs: object) -> sqlite3.Connection:
        connection = connect(*args, **kwargs)  # type: ignore[arg-type]
        connection.set_trace_callback(statements.append)
        return connection

    with harness(root, readwise="twin", settings={"vault": {"format": "obsidian"}}) as h:
        h.now = T0 - timedelta(minutes=10)
        for n in range(pages):
            h.server.add_book(title=f"Book {n}", highlights=[{"text": f"H {n}.", "location": 1}])
        h.sync(at=T0)
        h.sync(at=T0 + timedelta(minutes=1))  # the first no-op after the pages were written
        port = CountingVault(Vault(h.vault))
        h.port = port
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(sqlite3, "connect", traced)
            report = h.sync(at=T0 + timedelta(minutes=2))
        assert report.pages_changed == 0 and report.outcome.new == 0
    return Counter(port.counts), statements


def test_a_no_op_s_state_work_does_not_grow_with_the_pages(tmp_path: Path) -> None:
    (small, few_sql), (large, many_sql) = (no_op(tmp_path / str(n), n) for n in (20, 200))
    for sql in (few_sql, many_sql):
        assert not [s for s in sql if "quick_check" in s or "integrity_check" in s], sql
        queries = [s for s in sql if not s.lstrip().upper().startswith("CREATE")]  # not schema
        assert not [s for s in queries if re.search(r"\bfrom\s+highlights\b", s, re.I)], sql
    assert many_sql == few_sql
    # The vault: a stat per page, no page read, nothing else that grows.
    assert (small["stat"], large["stat"]) == (20, 200), (small, large)
    assert small["read"] == large["read"] == 0
    assert {k: v for k, v in small.items() if k != "stat"} == {
        k: v for k, v in large.items() if k != "stat"
    }
