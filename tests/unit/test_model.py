"""syncd/core/model.py: export records into Books and Highlights; a record that does not fit
raises BookSchemaError naming the book's id and the field, and a strange but valid one parses."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from syncd.core import model
from syncd.core.model import Book, BookSchemaError, Highlight, has_lone_surrogate, parse_book

BOOK_ID = 4242


def book(book_id: int, *highlight_ids: int) -> dict[str, Any]:
    """A minimal export record that `parse_book` accepts."""
    return {
        "user_book_id": book_id,
        "title": f"Book {book_id}",
        "readable_title": f"Book {book_id}",
        "highlights": [{"id": h, "text": f"highlight {h}"} for h in highlight_ids],
    }


def _record(**changes: Any) -> dict[str, Any]:
    record = book(BOOK_ID, 1)
    record["highlights"][0].update(location=3, note="")
    record.update(changes)
    return record


def _highlight(**changes: Any) -> dict[str, Any]:
    highlight: dict[str, Any] = {"id": 1, "text": "some text", "location": 3}
    highlight.update(changes)
    return highlight


def _without(mapping: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in mapping.items() if k != key}


@pytest.mark.parametrize(
    ("record", "field"),
    [
        pytest.param(_without(_record(), "highlights"), "highlights", id="missing-highlights"),
        pytest.param(
            _record(highlights=[_without(_highlight(), "text")]),
            "text",
            id="highlight-missing-text",
        ),
        pytest.param(_record(highlights=[_highlight(id="1")]), "id", id="highlight-id-string"),
        pytest.param(
            _record(highlights=[_highlight(location=True)]),
            "location",
            id="highlight-location-bool",
        ),
        pytest.param(_record(highlights=[_highlight(text=None)]), "text", id="highlight-text-null"),
        pytest.param(_record(highlights="many"), "highlights", id="highlights-not-a-list"),
        pytest.param(_record(title=17, readable_title=None), "title", id="title-int"),
    ],
)
def test_parse_book_names_the_book_id_and_the_field(record: dict[str, Any], field: str) -> None:
    with pytest.raises(BookSchemaError) as caught:
        parse_book(record)

    message = str(caught.value)
    assert str(BOOK_ID) in message
    assert re.search(rf"'(highlights\[0\]\.)?{field}'", message)
    assert caught.value.book_id == BOOK_ID


def test_parse_book_rejects_a_string_book_id_naming_it() -> None:
    with pytest.raises(BookSchemaError) as caught:
        parse_book(_record(user_book_id=str(BOOK_ID)))

    message = str(caught.value)
    assert str(BOOK_ID) in message
    assert "'user_book_id'" in message
    assert "str" in message


def test_parse_book_rejects_a_bool_where_an_int_is_expected() -> None:
    with pytest.raises(BookSchemaError) as caught:
        parse_book(_record(highlights=[_highlight(id=True)]))

    message = str(caught.value)
    assert str(BOOK_ID) in message
    assert "'highlights[0].id'" in message
    assert "bool" in message


def test_parse_book_accepts_the_valid_record_the_failures_start_from() -> None:
    parsed = parse_book(_record())

    assert parsed.id == BOOK_ID
    assert [(h.id, h.text, h.location) for h in parsed.highlights] == [(1, "highlight 1", 3)]


@pytest.mark.parametrize(
    ("record", "where"),
    [
        pytest.param(
            _record(highlights=["text"]), "highlights[0] is not an object", id="not-object"
        ),
        pytest.param(
            _record(highlights=[_highlight(), _highlight(id=2, note=7)]),
            "'highlights[1].note'",
            id="second-highlight-note-int",
        ),
        pytest.param(
            _record(book_tags=[{"id": 1}]),
            "'book_tags' holds a tag without a name",
            id="tag-without-name",
        ),
        pytest.param(
            _record(highlights=[_highlight(tags=["plain string"])]),
            "'highlights[0].tags' holds a tag without a name",
            id="tag-a-string",
        ),
        pytest.param(_record(readable_title="", title=""), "empty field 'title'", id="empty-title"),
        pytest.param(
            _record(author="A \ud800 B"), "'author' holds a lone surrogate", id="lone-surrogate"
        ),
        pytest.param(
            _record(highlights=[_highlight(tags=[{"name": "\udfff"}])]),
            "lone surrogate",
            id="tag-lone-surrogate",
        ),
    ],
)
def test_parse_book_says_where_in_the_record_the_problem_is(
    record: dict[str, Any], where: str
) -> None:
    with pytest.raises(BookSchemaError) as caught:
        parse_book(record)
    assert str(caught.value).startswith(f"book {BOOK_ID}: ")
    assert where in caught.value.problem
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("record", [None, [], "book", 17])
def test_a_record_that_is_not_an_object_is_an_error_without_a_book_id(record: object) -> None:
    with pytest.raises(BookSchemaError) as caught:
        parse_book(record)
    assert caught.value.book_id is None
    assert str(caught.value) == "book None: record is not an object"


def test_odd_but_valid_records_parse() -> None:
    parsed = parse_book(
        {
            "user_book_id": 1,
            "title": "Fallback title",
            "readable_title": "",
            "author": None,
            "category": None,
            "source_url": "",
            "unique_url": "https://u",
            "book_tags": [],
            "unknown_new_field": {"nested": [1, 2]},
            "summary": None,
            "highlights": [
                {"id": 10, "text": "", "note": None, "location": 0, "tags": None},
                {
                    "id": 11,
                    "text": "line 1\nline 2\r\n\ttabbed",
                    "is_discard": True,
                    "tags": [{"name": "favorite", "id": 5}],
                    "url": "",
                },
                {
                    "id": 12,
                    "text": "emoji \U0001f600 and RTL \u05e9\u05dc\u05d5\u05dd",
                    "is_deleted": False,
                    "is_discard": False,
                    "location_type": "order",
                },
            ],
        }
    )
    assert (parsed.title, parsed.author, parsed.category, parsed.summary) == (
        "Fallback title",
        "",
        "books",
        "",
    )
    assert parsed.url == "https://u"  # the source url, else the unique url
    first, second, third = parsed.highlights
    assert (first.text, first.note, first.location, first.tags) == ("", "", 0, ())
    assert second.deleted_in_readwise and second.tags == ("favorite",) and second.url is None
    assert second.text == "line 1\nline 2\r\n\ttabbed"
    assert not third.deleted_in_readwise and third.location_type == "order"


def test_the_readable_title_wins_over_the_title_and_the_source_url_over_the_unique_url() -> None:
    parsed = parse_book(
        _record(
            title="raw", readable_title="Readable", source_url="https://s", unique_url="https://u"
        )
    )
    assert parsed.title == "Readable" and parsed.url == "https://s"
    assert Book(1, "t").url is None


def test_has_lone_surrogate() -> None:
    assert not has_lone_surrogate("plain")
    assert not has_lone_surrogate("\U0001f600 \u00e9")
    assert has_lone_surrogate("a\ud83d")
    assert has_lone_surrogate("\udc00")


TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=30)
HIGHLIGHT = st.fixed_dictionaries(
    {"id": st.integers(1, 2**53), "text": TEXT},
    optional={
        "note": st.one_of(st.none(), TEXT),
        "location": st.one_of(st.none(), st.integers()),
        "location_type": st.one_of(st.none(), TEXT),
        "tags": st.lists(st.fixed_dictionaries({"name": TEXT}), max_size=3),
        "updated_at": st.just("2023-01-01T00:00:00Z"),
        "is_deleted": st.booleans(),
        "is_discard": st.booleans(),
    },
)


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 2**53), TEXT.filter(bool), st.lists(HIGHLIGHT, max_size=5))
def test_every_valid_record_parses_keeping_ids_texts_and_order(
    book_id: int, title: str, highlights: list[dict[str, Any]]
) -> None:
    parsed = parse_book(
        {"user_book_id": book_id, "readable_title": title, "highlights": highlights}
    )
    assert (parsed.id, parsed.title) == (book_id, title)
    assert [(h.id, h.text, h.note, h.location) for h in parsed.highlights] == [
        (h["id"], h["text"], h.get("note") or "", h.get("location")) for h in highlights
    ]
    assert [h.deleted_in_readwise for h in parsed.highlights] == [
        bool(h.get("is_deleted") or h.get("is_discard")) for h in highlights
    ]
    assert [list(h.tags) for h in parsed.highlights] == [
        [t["name"] for t in h.get("tags", [])] for h in highlights
    ]


HIGHLIGHT_FIELDS = [
    "id",
    "text",
    "note",
    "location",
    "location_type",
    "url",
    "tags",
    "updated_at",
    "is_deleted",
    "is_discard",
]
WRONG = [1.5, "x", True, [], {}, 7]


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(HIGHLIGHT_FIELDS), st.sampled_from(WRONG), st.integers(0, 2))
def test_any_highlight_field_of_a_wrong_type_names_the_book_and_the_field(
    key: str, value: Any, index: int
) -> None:
    expected = {
        "id": int,
        "text": str,
        "note": str,
        "location": int,
        "location_type": str,
        "url": str,
        "tags": list,
        "updated_at": str,
        "is_deleted": bool,
        "is_discard": bool,
    }[key]
    if type(value) is expected or (expected is list and value == []):
        return  # not a wrong type for this field
    highlights = [_highlight(id=n + 1) for n in range(3)]
    highlights[index][key] = value
    with pytest.raises(BookSchemaError) as caught:
        parse_book(_record(highlights=highlights))
    assert caught.value.book_id == BOOK_ID
    assert f"'highlights[{index}].{key}'" in caught.value.problem


class _Text(str):
    """A str of another class: `_check` takes it (an instance of str), JSON never gives it."""


class _Number(int):
    """An int of another class, as `_Text`."""


_ANY = st.one_of(
    st.none(),
    st.integers(-3, 3),
    st.booleans(),
    st.floats(allow_nan=False),
    st.text(max_size=4),
    st.sampled_from(["\ud83d", "a\udc00", "\U0001f600\ud800"]),  # lone surrogates
    st.builds(_Text, st.text(max_size=4)),
    st.builds(_Number, st.integers(0, 3)),
    st.lists(st.fixed_dictionaries({"name": st.text(max_size=3)}), max_size=2),
    st.dictionaries(st.just("name"), st.text(max_size=2)),
)


def _checked_field_by_field(record: dict[str, Any], book_id: int, index: int) -> Highlight:
    """parse_highlight as it was before its fast path: every field through `_check`."""
    where = f"highlights[{index}]."
    model._check(record, model._HIGHLIGHT_FIELDS, book_id, where)
    get = record.get
    return Highlight(
        id=record["id"],
        text=record["text"],
        note=get("note") or "",
        location=get("location"),
        location_type=get("location_type"),
        url=get("url") or None,
        tags=model._tag_names(get("tags"), "tags", book_id, where),
        updated_at=get("updated_at"),
        deleted_in_readwise=bool(get("is_deleted") or get("is_discard")),
    )


def _outcome(parse: Any, record: dict[str, Any]) -> object:
    try:
        return parse(record, BOOK_ID, 2)
    except BookSchemaError as error:
        return str(error)


_FITS = {
    "id": st.integers(1, 9),
    "text": TEXT,
    "note": TEXT,
    "location": st.integers(0, 9),
    "location_type": TEXT,
    "url": TEXT,
    "tags": st.lists(st.fixed_dictionaries({"name": TEXT}), max_size=2),
    "updated_at": TEXT,
    "is_deleted": st.booleans(),
    "is_discard": st.booleans(),
}


@st.composite
def _highlight_records(draw: st.DrawFn) -> dict[str, Any]:
    """A highlight that fits, with a field or two (at times none) set to anything, or gone."""
    record = draw(
        st.fixed_dictionaries(
            {"id": _FITS["id"], "text": _FITS["text"]},
            optional={key: fits for key, fits in _FITS.items() if key not in ("id", "text")},
        )
    )
    for key in draw(st.lists(st.sampled_from(HIGHLIGHT_FIELDS), max_size=2)):
        if draw(st.booleans()):
            record[key] = draw(_ANY)
        else:
            record.pop(key, None)
    return record


@settings(max_examples=1000, deadline=None)
@given(_highlight_records())
def test_a_highlight_checked_at_once_parses_or_fails_as_checked_field_by_field(
    record: dict[str, Any],
) -> None:
    """Issue 20: what JSON gives a highlight that fits is checked at once, anything else field
    by field; the same highlights parse, the same fail with the same message."""
    assert _outcome(model.parse_highlight, record) == _outcome(_checked_field_by_field, record)
