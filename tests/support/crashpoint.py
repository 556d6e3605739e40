"""Run the syncd command line, killing the process with SIGKILL at a chosen step of a write.

    python -m tests.support.crashpoint STEP N -- sync --config PATH

The test's own patches, applied in this process only (syncd has no test hooks); STEP is where the
N-th occurrence of it dies:

- `durable`: a page's temporary file is written and made durable (an fsync of it; for new pages,
  a syncfs of the batch), not yet renamed over the page (the temporary files are left behind);
- `replace`: the page was just renamed into place; syncd has not recorded it;
- `commit`: a state transaction is about to commit (the page is on disk, the record is not);
- `push-request`: a write request to Readwise is about to be sent (two-way sync; its intent is
  recorded);
- `push-sent`: Readwise just answered a write request (the push is not settled);
- `push-settle`: the transaction settling a push as made (with its page) is about to commit.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import syncd.edges.atomic
import syncd.edges.readwise
import syncd.edges.state
import syncd.edges.vault
from syncd.cli import main
from syncd.core.page_files import TEMP_PREFIX


def die() -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    os.kill(os.getpid(), signal.SIGKILL)


def install(step: str, n: int) -> None:
    seen = 0

    def due() -> bool:
        nonlocal seen
        seen += 1
        return seen == n

    if step == "durable":
        real_fsync, real_syncfs = os.fsync, syncd.edges.atomic.syncfs

        def fsync(fd: int) -> None:
            real_fsync(fd)
            name = Path(os.readlink(f"/proc/self/fd/{fd}")).name
            if name.startswith(TEMP_PREFIX) and due():
                die()

        def syncfs(fd: int) -> None:
            real_syncfs(fd)
            if due():
                die()

        os.fsync = fsync
        syncd.edges.atomic.syncfs = syncfs
    elif step == "replace":
        real_replace, real_renameat2 = os.replace, syncd.edges.atomic.renameat2

        def replace(source: Any, destination: Any) -> None:
            real_replace(source, destination)
            if Path(source).name.startswith(TEMP_PREFIX) and due():
                die()

        def renameat2(source: Path, destination: Path, flags: int) -> None:
            real_renameat2(source, destination, flags)
            if Path(source).name.startswith(TEMP_PREFIX) and due():
                die()

        os.replace = replace
        syncd.edges.atomic.renameat2 = renameat2
    elif step == "commit":
        real_transaction = syncd.edges.state.State.transaction

        @contextmanager
        def transaction(self: syncd.edges.state.State) -> Iterator[None]:
            with real_transaction(self):
                yield
                if due():
                    die()

        syncd.edges.state.State.transaction = transaction  # type: ignore[method-assign]
    elif step in ("push-request", "push-sent"):
        client = syncd.edges.readwise.ReadwiseClient
        for name in ("update_highlight", "add_tag", "remove_tag"):
            real = getattr(client, name)

            def write(*args: Any, _real: Any = real, **kwargs: Any) -> Any:
                if step == "push-request" and due():
                    die()
                answer = _real(*args, **kwargs)
                if step == "push-sent" and due():
                    die()
                return answer

            setattr(client, name, write)
    elif step == "push-settle":
        real_transaction = syncd.edges.state.State.transaction
        real_settle = syncd.edges.state.State.settle_push
        settling = []

        def settle_push(self: syncd.edges.state.State, number: int, state: str) -> None:
            real_settle(self, number, state)
            settling.append(state == "made")

        @contextmanager
        def settle_transaction(self: syncd.edges.state.State) -> Iterator[None]:
            with real_transaction(self):
                settling.clear()
                yield
                if any(settling) and due():
                    die()

        syncd.edges.state.State.settle_push = settle_push  # type: ignore[method-assign]
        syncd.edges.state.State.transaction = settle_transaction  # type: ignore[method-assign]
    else:
        raise SystemExit(f"unknown step {step!r}")


if __name__ == "__main__":
    step, count, separator, *rest = sys.argv[1:]
    assert separator == "--"
    install(step, int(count))
    raise SystemExit(main(rest))
