"""A vault, a loopback Readwise server and a Syncer wired together, for tests that sync for real.

Everything is real but the clock: the HTTP client talks to `FakeReadwise` on 127.0.0.1, pages
are written to a temporary folder, state goes to SQLite in another one. With `memory=True` the
pages are written to the vault's in-memory twin instead (`MemoryVault`, held to the real vault's
behaviour by tests/contract), for tests where the disk is not what is tested; with
`memory_state=True` what syncd remembers is kept in `MemoryState` (its twin, likewise held).

`harness(root, readwise="twin")` gives the Syncer the in-memory `ReadwiseTwin` over the same
library instead of HTTP (the server is then not started): for tests where HTTP is not what is
tested. The twin answers as the client does (tests/contract/), minus HTTP's faults.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Literal

from syncd.config.load import config_from_mapping
from syncd.config.values import Config
from syncd.edges.reader import ReaderClient
from syncd.edges.readwise import ReadwiseClient, RetryPolicy
from syncd.edges.state import State
from syncd.edges.state_files import database_path
from syncd.engine.report import SyncReport
from syncd.engine.wiring import layout_for, make_syncer
from syncd.testing.fakereadwise import FakeReadwise
from syncd.testing.memory_state import MemoryState
from syncd.testing.memory_vault import MemoryVault
from syncd.testing.readwise_twin import ReaderTwin, ReadwiseTwin

#: The base URL configured when the twin stands in for the server: never contacted.
TWIN_URL = "http://127.0.0.1:9"

TRIPLE_LOWBAR_EDN = (
    '{:file/name-format :triple-lowbar\n :journal/page-title-format "MMM do, yyyy"}\n'
)


class Harness:
    """`sync(at)` runs one sync at the given moment; `page(name)` reads a page back.

    The server's clock is the syncer's (`now`) plus `server_offset` (zero unless a test sets
    it: Readwise's clock and the machine's disagree). `twin`: sync through `ReadwiseTwin` over
    the server's library rather than HTTP to the server."""

    def __init__(
        self,
        root: Path,
        server: FakeReadwise,
        *,
        edn: str | None = TRIPLE_LOWBAR_EDN,
        settings: Mapping[str, Any] | None = None,
        memory: bool = False,
        memory_state: bool = False,
        twin: bool = False,
    ) -> None:
        self.server = server
        self.twin = twin
        self.vault = root / "graph"
        self.vault.mkdir(parents=True)
        if edn is not None:
            (self.vault / "logseq").mkdir()
            (self.vault / "logseq" / "config.edn").write_text(edn, encoding="utf-8")
        self.state_dir = root / "state"
        self.now = datetime(2022, 11, 19, tzinfo=timezone.utc)
        self.server_offset = timedelta(0)
        self.settings = dict(settings or {})
        self.config = self.make_config({})
        self.reader_seconds = 0.0  # the loopback Reader's clock, for its rate limit
        self.reader_waits: list[float] = []  # what the Reader client waited (moving that clock)
        self.memory = MemoryVault(self.vault) if memory else None
        self.memory_state = MemoryState() if memory_state else None
        self.port: Any = None  # a vault port to sync through instead (e.g. one that counts)

    def make_config(self, more: Mapping[str, Any]) -> Config:
        """The harness's config, with its settings and `more` merged in, section by section."""
        data: dict[str, Any] = {
            "readwise": {
                "token": self.server.token,
                "base_url": TWIN_URL if self.twin else self.server.url,
            },
            "vault": {"path": str(self.vault), "timezone": "UTC"},
            "state_dir": str(self.state_dir),
            "sync": {"sync_log_page": None},
        }
        for section, values in [*self.settings.items(), *more.items()]:
            if isinstance(values, Mapping):
                data[section] = {**data.get(section, {}), **values}
            else:
                data[section] = values
        return config_from_mapping(data, None, {})

    @property
    def pages(self) -> Path:
        return layout_for(self.config).pages

    def page(self, name: str) -> str:
        if self.memory is not None:
            return self.memory.files[self.pages / name].data.decode("utf-8")
        return (self.pages / name).read_bytes().decode("utf-8")

    def has_page(self, name: str) -> bool:
        if self.memory is not None:
            return self.pages / name in self.memory.files
        return (self.pages / name).is_file()

    def page_names(self) -> list[str]:
        """The pages' paths, relative to the pages folder."""
        if self.memory is not None:
            paths = [p for p in self.memory.files if p.suffix == ".md" and self.pages in p.parents]
        else:
            paths = list(self.pages.rglob("*.md"))
        return sorted(p.relative_to(self.pages).as_posix() for p in paths)

    def sync(self, at: datetime | None = None, **kwargs: Any) -> SyncReport:
        if at is not None:
            self.now = at
        if self.twin and self.server.faults:
            raise RuntimeError("injected faults need HTTP: use harness(..., readwise='loopback')")
        state = self.state()
        try:
            client: Any = (
                ReadwiseTwin(self.server.library)
                if self.twin
                else ReadwiseClient(
                    self.config.readwise.base_url,
                    self.config.readwise.token,
                    sleep=lambda _: None,
                    policy=RetryPolicy(attempts=3),
                )
            )
            reader: Any = (
                ReaderTwin(self.server.library)
                if self.twin
                else ReaderClient(
                    self.config.readwise.base_url,
                    self.config.readwise.token,
                    sleep=self._reader_wait,
                    policy=RetryPolicy(attempts=3),
                )
            )
            syncer = make_syncer(
                self.config,
                state,
                {},
                client=client,
                clock=lambda: self.now,
                vault=self.memory if self.memory is not None else self.port,
                reader=reader,
            )
            return syncer.sync(**kwargs)
        finally:
            state.close()

    def _reader_wait(self, seconds: float) -> None:
        """The Reader client's wait before a retry: the loopback Reader's clock moves on."""
        self.reader_waits.append(seconds)
        self.reader_seconds += seconds

    def state(self) -> State | MemoryState:
        if self.memory_state is not None:
            return self.memory_state
        return State(database_path(self.config.state_dir, self.vault))


@contextmanager
def harness(
    root: Path, *, readwise: Literal["loopback", "twin"] = "loopback", **kwargs: Any
) -> Iterator[Harness]:
    """A Harness in `root`; `readwise`: HTTP to a started loopback server, or the twin."""
    with ExitStack() as stack:
        server = FakeReadwise(token="test-token-not-secret")
        if readwise == "loopback":
            stack.enter_context(server)
        h = Harness(root, server, twin=readwise == "twin", **kwargs)
        server.clock = lambda: h.now + h.server_offset
        server.reader_limit.clock = lambda: h.reader_seconds
        yield h
