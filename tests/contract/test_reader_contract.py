"""One contract for the two Reader clients a sync can be given: the real `ReaderClient` talking
HTTP to the loopback `FakeReadwise` (Reader's `GET /api/v3/list/`), and the in-memory
`ReaderTwin`. Both read the same `Library.reader`; every test runs on both and must see the same:
pages and counts, `updatedAfter`, `id`, the HTML, the server's time, highlights among the
documents. Reader's rate limit is HTTP's alone (tests/integration/test_reader_full_text.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import pytest

from syncd.edges.reader import ReaderClient
from syncd.edges.readwise import ExportPage
from syncd.testing.fakereadwise import FakeReadwise
from syncd.testing.library import Library
from syncd.testing.readwise_twin import ReaderTwin
from tests.support.clock import Clock

TOKEN = "contract-token-not-secret"
T0 = datetime(2023, 3, 17, 17, 5, 9, tzinfo=timezone.utc)


@dataclass
class Side:
    library: Library
    clock: Clock
    connect: Callable[[], Any]


@pytest.fixture(params=["loopback", "twin"])
def side(request: pytest.FixtureRequest) -> Iterator[Side]:
    clock = Clock(T0)
    library = Library(clock=clock)
    library.reader.page_size = 2
    if request.param == "twin":
        yield Side(library, clock, lambda: ReaderTwin(library))
        return
    with FakeReadwise(token=TOKEN, library=library) as server:
        yield Side(library, clock, lambda: ReaderClient(server.url, TOKEN))
    assert server.errors == []


def documents(side: Side, **kwargs: Any) -> list[ExportPage]:
    return list(side.connect().documents(**kwargs))


def ids(pages: list[ExportPage]) -> list[str]:
    return [record["id"] for page in pages for record in page.results]


def add(side: Side, count: int) -> None:
    for n in range(count):
        side.library.reader.add_document(id=f"d{n}", html_content=f"<p>{n}</p>")
        side.clock.advance(seconds=1)


def test_every_document_page_by_page_with_its_html(side: Side) -> None:
    add(side, 5)
    side.library.reader.add_document(id="h1", parent_id="d0", category="highlight")
    pages = documents(side)
    assert [len(p.results) for p in pages] == [2, 2, 2]
    assert all(p.count == 6 for p in pages)
    assert ids(pages) == ["d0", "d1", "d2", "d3", "d4", "h1"]
    assert pages[0].results[1]["html_content"] == "<p>1</p>"
    assert pages[-1].results[-1]["parent_id"] == "d0"
    assert pages[0].server_time == side.clock()


def test_changed_after_a_moment_and_one_by_id(side: Side) -> None:
    add(side, 3)
    since = side.clock()
    side.clock.advance(minutes=1)
    side.library.reader.update_document("d1", title="changed")
    assert ids(documents(side, updated_after=since)) == ["d1"]
    assert ids(documents(side, document_id="d2")) == ["d2"]
    assert ids(documents(side, document_id="nope")) == []
