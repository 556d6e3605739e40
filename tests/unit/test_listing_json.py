"""Unit tests of `syncd.edges.listing_json`: a listing's answer parsed as `json.loads` parses it,
its `results` records parsed one at a time when reached (issue 20: a page of 1,000 books parsed
at once was a first sync's peak memory), and an answer that is not JSON refused up front, where
`json.loads` refuses it."""

from __future__ import annotations

import json
import tracemalloc

import pytest

from syncd.edges.listing import book_keys
from syncd.edges.listing_json import Records, parse_listing

GOOD = [
    '{"count": 2, "nextPageCursor": "abc", "results": [{"user_book_id": 1}, {"id": 2}]}',
    ' \n{ "results" : [ ] , "count" : 0 }\t',
    '{"results": [1, "two", null, [3], {"user_book_id": true}], "x": {"results": [4]}}',
    '{"results": [{"user_book_id": 7, "text": "\\ud83e\\udde0 \\" ] } , \\\\"}]}',
    '{"results": "not a list", "results2": []}',
    '{"results": [{"a": 1}], "results": [{"b": 2}]}',
    "{}",
    "[1, 2]",
    '"text"',
    "3",
    '{"results": [NaN, Infinity]}',
]


@pytest.mark.parametrize("text", GOOD)
def test_a_listing_parses_as_json_loads_does(text: str) -> None:
    parsed = parse_listing(text)
    assert parsed == json.loads(text)
    assert json.loads(text) == parsed
    if isinstance(parsed, dict) and isinstance(json.loads(text).get("results"), list):
        records = parsed["results"]
        assert isinstance(records, Records)
        assert list(records) == json.loads(text)["results"]
        assert len(records) == len(json.loads(text)["results"])
        assert records[-1:] == json.loads(text)["results"][-1:]


BAD = [
    "",
    " ",
    "{",
    '{"results": [{"user_book_id": 1}, {"user_book_id": 2',
    '{"results": [{"user_book_id": 1}, ',
    '{"results": [{"user_book_id": 1},]}',
    '{"results": [{"user_book_id": 1} {"user_book_id": 2}]}',
    '{"results": [], }',
    '{"results": []} extra',
    '{"results": []}{}',
    "{results: []}",
    '{"results" []}',
    '{"results": [], "count": }',
    '{"count": 1 "results": []}',
    '{"results": [tru]}',
    "\ufeff{}",
]


@pytest.mark.parametrize("text", BAD)
def test_what_json_loads_refuses_is_refused_up_front(text: str) -> None:
    with pytest.raises(ValueError):
        json.loads(text)
    with pytest.raises(ValueError):
        parse_listing(text)


def test_each_record_s_book_is_read_when_the_answer_is_checked() -> None:
    text = '{"results": [{"user_book_id": 1, "id": 9}, {"id": "x"}, [], {"title": "t"}]}'
    records = parse_listing(text)["results"]
    assert list(book_keys(records)) == [1, "x", None, None]
    assert list(book_keys(json.loads(text)["results"])) == [1, "x", None, None]


def test_records_are_parsed_when_reached_not_all_at_once() -> None:
    """Issue 20: the records of an export page (1,000 books, 30 to 40 MB parsed) were all in
    memory while the first was synced. Read one at a time, only the text and one record are."""
    record = {"user_book_id": 0, "highlights": [{f"k{i}": f"v{i}" for i in range(20)}] * 10}
    results = [{**record, "user_book_id": n} for n in range(300)]
    text = json.dumps({"count": 300, "results": results})
    tracemalloc.start()
    try:
        records = parse_listing(text)["results"]
        seen = [r["user_book_id"] for r in records]  # each let go of as the next is made
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.reset_peak()
        whole = json.loads(text)
        whole_peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert seen == list(range(300))
    assert len(whole["results"]) == 300
    # All parsed at once, the records take several times their text; one at a time, a small
    # part of it.
    assert whole_peak > 2 * len(text)
    assert peak < len(text) // 4
