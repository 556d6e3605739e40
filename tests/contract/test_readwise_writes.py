"""One contract for Readwise's write endpoints of highlights (`syncd.ports.HighlightWriter`),
held by both writers a push can be given: the real `ReadwiseClient` over HTTP to the loopback
`FakeReadwise`, and the in-memory `ReadwiseTwin`. Both change the same kind of `Library`; every
test runs on both and must see the same thing: text and note PATCHed, tags listed, added and
removed, the errors (404 for a highlight unknown or deleted upstream, 400 for a value Readwise
refuses, 403 for a token that may read but not write), Readwise's inline `.tags`, and the next
export listing the changed highlight with its new values at the server's time of the change.

What only HTTP has: the loopback server's faults on the write endpoints, at the end (429 with
`Retry-After`, 5xx, a redirect to another host); the client's retries, limiter and redirects
against `responses` in tests/unit/test_readwise_writer.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Protocol

import pytest

from syncd.edges.readwise import (
    HighlightGone,
    ReadwiseClient,
    ReadwiseError,
    RetryPolicy,
    WriteLimiter,
    WriteRefused,
    WriteRejected,
    format_cursor,
)
from syncd.errors import UnreachableError
from syncd.ports import HighlightWriter, ReadwisePort, Tag
from syncd.testing.fakereadwise import FakeReadwise
from syncd.testing.faults import Fault
from syncd.testing.library import Library
from syncd.testing.readwise_twin import ReadwiseTwin
from tests.support.clock import Clock

TOKEN = "writes-token-not-secret"
T0 = datetime(2023, 3, 17, 17, 5, 9, 250_000, tzinfo=timezone.utc)
LATER = T0 + timedelta(hours=2, seconds=3)


class Writer(HighlightWriter, ReadwisePort, Protocol):
    """Both kinds of client are both ports (and page a tag list by `tags_page_size`)."""

    tags_page_size: int


@dataclass
class Side:
    """One way of writing to `library`: `connect(read_only)` returns a client over it;
    `writes()` the write requests made so far (None: the twin sends none on a wire)."""

    name: str
    library: Library
    clock: Clock
    connect: Callable[[bool], Any]
    writes: Callable[[], list[Any] | None]

    def client(self, *, read_only: bool = False) -> Writer:
        client: Writer = self.connect(read_only)
        return client


def _no_wait(_seconds: float) -> None:
    """Retries never wait here (and none is expected)."""


@pytest.fixture(params=["loopback", "twin"])
def side(request: pytest.FixtureRequest) -> Iterator[Side]:
    clock = Clock(T0)
    library = Library(page_size=2, clock=clock)
    library.add_book(
        user_book_id=1,
        title="Walden",
        highlights=[
            {"id": 10, "text": "Simplify, simplify.", "note": "old note", "updated_at": T0},
            {"id": 11, "text": "Second", "tags": ["kept"], "updated_at": T0},
            {"id": 12, "text": "Gone upstream", "updated_at": T0},
        ],
    )
    library.delete_highlight(12, updated_at=T0)
    if request.param == "twin":
        twins: list[ReadwiseTwin] = []

        def twin(read_only: bool) -> ReadwiseTwin:
            twins.append(ReadwiseTwin(library, read_only=read_only))
            return twins[-1]

        yield Side("twin", library, clock, twin, lambda: None)
        return
    with FakeReadwise(token=TOKEN, library=library) as server:

        def connect(read_only: bool) -> ReadwiseClient:
            server.read_only = read_only
            return ReadwiseClient(
                server.url,
                TOKEN,
                sleep=_no_wait,
                policy=RetryPolicy(attempts=2, rate_limit_waits=1),
                write_limiter=WriteLimiter(clock=lambda: 0.0, sleep=_no_wait),
            )

        yield Side("loopback", library, clock, connect, lambda: server.writes)
    assert server.errors == []
    assert all(r.fault is None for r in server.requests)


def exported(client: Writer, updated_after: datetime | None = None) -> dict[int, dict[str, Any]]:
    """Every highlight the export lists (after `updated_after`), by id."""
    return {
        h["id"]: h
        for page in client.export(updated_after=updated_after)
        for book in page.results
        for h in book["highlights"]
    }


def names(tags: list[Tag]) -> list[str]:
    return [tag.name for tag in tags]


# --- PATCH: text and note -----------------------------------------------------------------------


def test_a_patched_text_is_in_the_next_export_at_the_server_s_time_of_the_change(
    side: Side,
) -> None:
    client = side.client()
    cursor = T0 + timedelta(minutes=1)  # what a pull after T0 would keep
    side.clock.now = LATER
    when = client.update_highlight(10, text="Simplify.")
    assert when == LATER
    changed = exported(client, updated_after=cursor)
    assert list(changed) == [10]
    assert (changed[10]["text"], changed[10]["note"]) == ("Simplify.", "old note")
    assert changed[10]["updated_at"] == format_cursor(LATER)


def test_a_patched_note_leaves_the_text_and_an_empty_note_clears_it(side: Side) -> None:
    client = side.client()
    client.update_highlight(10, note="new note")
    assert side.library.highlight(10)["text"] == "Simplify, simplify."
    assert side.library.highlight(10)["note"] == "new note"
    client.update_highlight(10, note="")
    assert side.library.highlight(10)["note"] == ""


def test_text_and_note_in_one_request(side: Side) -> None:
    client = side.client()
    before = client.requests_made
    client.update_highlight(11, text="Second, fixed", note="why")
    assert client.requests_made == before + 1
    highlight = side.library.highlight(11)
    assert (highlight["text"], highlight["note"], names_of(highlight)) == (
        "Second, fixed",
        "why",
        ["kept"],
    )


def test_strange_text_comes_back_exactly(side: Side) -> None:
    client = side.client()
    text = "emoji 🦉, RTL \u202e, quotes \"'`, a tab\tand\nlines\r\n, nul \x00"
    client.update_highlight(10, text=text, note="  spaces kept  ")
    highlight = exported(client)[10]
    assert (highlight["text"], highlight["note"]) == (text, "  spaces kept  ")


def test_text_of_8191_characters_is_taken_and_8192_refused_leaving_the_highlight(
    side: Side,
) -> None:
    client = side.client()
    client.update_highlight(10, text="x" * 8191)
    side.clock.now = LATER
    with pytest.raises(WriteRejected, match=r"text of highlight 10: .*8191") as refused:
        client.update_highlight(10, text="y" * 8192, note="not this either")
    assert (refused.value.highlight_id, refused.value.field) == (10, "text")
    highlight = side.library.highlight(10)
    assert (highlight["text"], highlight["note"]) == ("x" * 8191, "old note")
    assert highlight["updated_at"] != format_cursor(LATER)


def test_a_note_of_10000_characters_is_refused(side: Side) -> None:
    with pytest.raises(WriteRejected) as refused:
        side.client().update_highlight(10, note="n" * 10_000)
    assert refused.value.field == "note"
    assert len(str(refused.value)) < 250  # one line, Readwise's reason shortened
    assert side.library.highlight(10)["note"] == "old note"


@pytest.mark.parametrize("text", ["", "   ", "\n"])
def test_an_empty_text_is_refused(side: Side, text: str) -> None:
    with pytest.raises(WriteRejected, match="blank") as refused:
        side.client().update_highlight(10, text=text)
    assert refused.value.field == "text"
    assert side.library.highlight(10)["text"] == "Simplify, simplify."


def test_nothing_to_patch_is_a_mistake_of_the_caller_not_a_request(side: Side) -> None:
    client = side.client()
    with pytest.raises(ValueError, match="text or a note"):
        client.update_highlight(10)
    assert client.requests_made == 0


# --- tags -----------------------------------------------------------------------------------------


def test_tags_are_listed_added_and_removed(side: Side) -> None:
    client = side.client()
    assert names(client.highlight_tags(11)) == ["kept"]
    added = client.add_tag(11, "stoic")
    assert added.name == "stoic"
    tags = client.highlight_tags(11)
    assert tags[1] == added and names(tags) == ["kept", "stoic"]
    client.remove_tag(11, tags[0].id)
    assert client.highlight_tags(11) == [added]
    assert [t["name"] for t in exported(client)[11]["tags"]] == ["stoic"]


def test_a_tag_added_twice_is_one_tag_with_one_id(side: Side) -> None:
    client = side.client()
    first = client.add_tag(10, "again")
    assert client.add_tag(10, "again") == first
    assert client.highlight_tags(10) == [first]


def test_a_tag_removed_twice_is_gone_once_without_an_error(side: Side) -> None:
    client = side.client()
    [tag] = client.highlight_tags(11)
    client.remove_tag(11, tag.id)
    client.remove_tag(11, tag.id)  # a retried DELETE whose first try went through
    assert client.highlight_tags(11) == []


@pytest.mark.parametrize(
    "name",
    ["two words", "#hash", "[[link]]", "a,b", "🦉 owl", "Ünïcödé", "x" * 100],
)
def test_tag_names_readwise_allows_come_back_exactly(side: Side, name: str) -> None:
    client = side.client()
    tag = client.add_tag(10, name)
    assert tag.name == name
    assert client.highlight_tags(10) == [tag]
    assert [t["name"] for t in exported(client)[10]["tags"]] == [name]


def test_an_empty_tag_name_is_refused(side: Side) -> None:
    with pytest.raises(WriteRejected) as refused:
        side.client().add_tag(10, "  ")
    assert refused.value.field == "name"
    assert side.library.highlight(10)["tags"] == []


def test_a_long_tag_list_comes_in_pages(side: Side) -> None:
    client = side.client()
    for number in range(5):
        client.add_tag(10, f"t{number}")
    client.tags_page_size = 2
    before = client.requests_made
    assert names(client.highlight_tags(10)) == [f"t{n}" for n in range(5)]
    assert client.requests_made - before == 3


def test_a_tag_change_moves_updated_at_so_the_next_export_lists_it(side: Side) -> None:
    client = side.client()
    side.clock.now = LATER
    client.add_tag(10, "new")
    assert list(exported(client, updated_after=T0 + timedelta(seconds=1))) == [10]
    side.clock.now = LATER + timedelta(minutes=5)
    client.remove_tag(10, client.highlight_tags(10)[0].id)
    changed = exported(client, updated_after=LATER)
    assert list(changed) == [10] and changed[10]["tags"] == []


# --- Readwise's inline tags ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("note", "tags", "left"),
    [
        (".probability", ["probability"], ""),
        ("  .spaced\n", ["spaced"], ""),
        (".under_score-dash#x", ["under_score-dash#x"], ""),
        (".🦉", ["🦉"], ""),
        (".kept", ["kept"], ""),  # highlight 11 has it already: not twice
        (".a .b", [], ".a .b"),  # one word only: read narrowly, as syncd's readwise_view
        (".tag and text", [], ".tag and text"),
        ("not .a tag", [], "not .a tag"),
        ("... an ellipsis", [], "... an ellipsis"),
        (". alone", [], ". alone"),
        (".", [], "."),
        (".c1", [], ".c1"),  # Readwise's concatenation action, not a tag
    ],
)
def test_a_note_of_one_dot_word_becomes_a_tag_and_leaves_no_note(
    side: Side, note: str, tags: list[str], left: str
) -> None:
    client = side.client()
    client.update_highlight(11, note=note)
    highlight = exported(client)[11]
    assert highlight["note"] == left
    assert [t["name"] for t in highlight["tags"]] == ["kept", *[t for t in tags if t != "kept"]]
    assert names(client.highlight_tags(11)) == [t["name"] for t in highlight["tags"]]


# --- errors ---------------------------------------------------------------------------------------


WRITES: list[tuple[str, Callable[[Writer, int], object]]] = [
    ("patch text", lambda c, h: c.update_highlight(h, text="t")),
    ("patch note", lambda c, h: c.update_highlight(h, note="n")),
    ("list tags", lambda c, h: c.highlight_tags(h)),
    ("add tag", lambda c, h: c.add_tag(h, "t")),
    ("remove tag", lambda c, h: c.remove_tag(h, 1000)),
]


@pytest.mark.parametrize("call", [call for _, call in WRITES], ids=[name for name, _ in WRITES])
@pytest.mark.parametrize("highlight_id", [12, 999], ids=["deleted-upstream", "unknown"])
def test_a_highlight_deleted_upstream_or_unknown_is_gone(
    side: Side, call: Callable[[Writer, int], object], highlight_id: int
) -> None:
    with pytest.raises(HighlightGone, match=f"highlight {highlight_id} is no longer") as gone:
        call(side.client(), highlight_id)
    assert gone.value.highlight_id == highlight_id
    assert side.library.highlight(12)["is_deleted"] is True


@pytest.mark.parametrize(
    "call",
    [call for name, call in WRITES if name != "list tags"],
    ids=[name for name, _ in WRITES if name != "list tags"],
)
def test_a_read_only_token_is_refused_every_write_and_reads_go_on(
    side: Side, call: Callable[[Writer, int], object]
) -> None:
    client = side.client(read_only=True)
    before = side.library.highlight(11)
    with pytest.raises(WriteRefused, match="may read but not write") as refused:
        call(client, 11)
    assert TOKEN not in str(refused.value)
    assert side.library.highlight(11) == before
    assert names(client.highlight_tags(11)) == ["kept"]
    assert sorted(exported(client)) == [10, 11, 12]


# --- no write unless asked ------------------------------------------------------------------------


def test_reading_sends_no_write_request(side: Side) -> None:
    client = side.client()
    exported(client)
    client.highlight_tags(11)
    assert side.writes() in (None, [])


def test_the_loopback_log_shows_each_write_with_its_body(side: Side) -> None:
    if side.name == "twin":
        pytest.skip("the twin sends nothing on a wire")
    client = side.client()
    client.update_highlight(10, note="n")
    tag = client.add_tag(10, "t")
    client.remove_tag(10, tag.id)
    log = side.writes()
    assert log is not None
    assert [(r.method, r.path, r.body, r.status) for r in log] == [
        ("PATCH", "/api/v2/highlights/10/", {"note": "n"}, 200),
        ("POST", "/api/v2/highlights/10/tags/", {"name": "t"}, 201),
        ("DELETE", f"/api/v2/highlights/10/tags/{tag.id}/", None, 204),
    ]


def names_of(highlight: dict[str, Any]) -> list[str]:
    return [tag["name"] for tag in highlight["tags"]]


# --- the loopback server's faults on the write endpoints (HTTP only) -----------------------------


@pytest.fixture
def loopback() -> Iterator[tuple[FakeReadwise, list[float]]]:
    library = Library(clock=Clock(T0))
    library.add_book(user_book_id=1, highlights=[{"id": 10, "text": "t", "updated_at": T0}])
    with FakeReadwise(token=TOKEN, library=library) as server:
        yield server, []
    assert server.errors == []


def loopback_client(server: FakeReadwise, waits: list[float]) -> ReadwiseClient:
    return ReadwiseClient(
        server.url,
        TOKEN,
        sleep=waits.append,
        rand=lambda: 0.5,
        policy=RetryPolicy(attempts=3, rate_limit_waits=2),
        write_limiter=WriteLimiter(clock=lambda: 0.0, sleep=waits.append),
    )


def test_a_429_on_a_write_waits_retry_after_and_the_write_is_made_once(
    loopback: tuple[FakeReadwise, list[float]],
) -> None:
    server, waits = loopback
    server.inject("highlights", Fault.retry_after(4))
    client = loopback_client(server, waits)
    client.add_tag(10, "once")
    assert waits == [4.0]
    assert [(r.method, r.status, r.fault) for r in server.requests_to("highlights")] == [
        ("POST", 429, "status"),
        ("POST", 201, None),
    ]
    assert client.highlight_tags(10) == [Tag(1000, "once")]


def test_5xx_on_a_write_is_retried_then_the_unavailable_error(
    loopback: tuple[FakeReadwise, list[float]],
) -> None:
    server, waits = loopback
    server.inject("/api/v2/highlights/10/", Fault.status(503), times=None)
    with pytest.raises(UnreachableError, match="failed 3 times"):
        loopback_client(server, waits).update_highlight(10, text="never")
    assert server.library.highlight(10)["text"] == "t"
    assert len(server.writes) == 3


def test_a_write_redirected_elsewhere_by_the_server_goes_nowhere_else(
    loopback: tuple[FakeReadwise, list[float]],
) -> None:
    server, waits = loopback
    with FakeReadwise(token=TOKEN, host="127.0.0.2") as other:
        server.inject("highlights", Fault.redirect(other.url, status=307))
        with pytest.raises(ReadwiseError, match="another host"):
            loopback_client(server, waits).update_highlight(10, note="n")
        assert other.requests == []
    assert server.library.highlight(10)["note"] == ""


def test_a_fault_for_one_highlight_leaves_the_others_alone(
    loopback: tuple[FakeReadwise, list[float]],
) -> None:
    server, waits = loopback
    server.add_highlight(1, id=11, text="other")
    server.inject("/api/v2/highlights/10/*", Fault.status(500), times=None)
    client = loopback_client(server, waits)
    client.update_highlight(11, note="fine")
    with pytest.raises(UnreachableError):
        client.add_tag(10, "t")
    assert server.library.highlight(11)["note"] == "fine"
