"""syncd/core/three_way.py: the three-way merge of text, note and tags, as a tested table:
every combination of base, vault and Readwise, per field, against the outcome it must have."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from syncd.core.fields import Fields
from syncd.core.three_way import (
    TEXT_CASES,
    FieldMerge,
    Outcome,
    merge_field,
    merge_fields,
    merge_tags,
    readwise_view,
    three_way_table,
)

README = Path(__file__).resolve().parents[2] / "README.md"


def expected_text(base: str, vault: str, readwise: str) -> tuple[Outcome, str]:
    """The rule, written out from the equality classes."""
    if base == vault == readwise:
        return Outcome.SAME, base
    if vault != base and readwise == base:
        return Outcome.PUSH, vault
    if vault == base and readwise != base:
        return Outcome.PULL, readwise
    if vault == readwise:
        return Outcome.AGREED, vault
    return Outcome.CONFLICT, vault


@pytest.mark.parametrize("field", ["text", "note"])
@pytest.mark.parametrize(
    ("base", "vault", "readwise"), list(itertools.product(["a", "b", "c"], repeat=3))
)
def test_every_combination_of_a_text_field(
    field: str, base: str, vault: str, readwise: str
) -> None:
    """27 assignments cover the 5 equality classes of (base, vault, Readwise), each several
    ways."""
    outcome, value = expected_text(base, vault, readwise)
    assert merge_field(field, base, vault, readwise) == FieldMerge(field, outcome, value)


def test_the_text_classes_are_all_there() -> None:
    def klass(b: str, v: str, r: str) -> tuple[bool, bool, bool]:
        return (b == v, b == r, v == r)

    every = {klass(*values) for values in itertools.product("abc", repeat=3)}
    assert {klass(*values) for _, values in TEXT_CASES} == every
    assert len(every) == 5


# Per tag: which of (base, vault, Readwise) hold it → whether the merged set holds it.
TAG_RULE = {
    (True, True, True): True,  # nobody changed it
    (True, True, False): False,  # Readwise removed it
    (True, False, True): False,  # the vault removed it
    (True, False, False): False,  # both removed it
    (False, True, True): True,  # both added it
    (False, True, False): True,  # the vault added it
    (False, False, True): True,  # Readwise added it
    (False, False, False): False,  # nobody has it
}

SETS = [frozenset(s) for n in range(3) for s in itertools.combinations("xy", n)]


@pytest.mark.parametrize(("base", "vault", "readwise"), list(itertools.product(SETS, repeat=3)))
def test_every_combination_of_tags(
    base: frozenset[str], vault: frozenset[str], readwise: frozenset[str]
) -> None:
    """Every (base, vault, Readwise) of two tags' worth of sets: each tag by `TAG_RULE`; PUSH
    when Readwise lacks the merged set, PULL when only the vault does; never a conflict."""
    merged = frozenset(t for t in "xy" if TAG_RULE[(t in base, t in vault, t in readwise)])
    assert merge_tags(base, vault, readwise) == merged
    got = merge_field("tags", base, vault, readwise)
    assert got.outcome is not Outcome.CONFLICT
    assert got.value == merged
    if vault == readwise:
        assert got.outcome is (Outcome.SAME if vault == base else Outcome.AGREED)
    elif readwise != merged:
        assert got.outcome is Outcome.PUSH  # the engine rewrites the block too if vault != merged
    else:
        assert got.outcome is Outcome.PULL
        assert vault != merged


def test_both_sides_adding_different_tags_push_the_union() -> None:
    got = merge_field("tags", frozenset(), frozenset({"v"}), frozenset({"r"}))
    assert got == FieldMerge("tags", Outcome.PUSH, frozenset({"v", "r"}))


def test_a_field_is_a_field() -> None:
    with pytest.raises(ValueError, match="not a field"):
        merge_field("colour", "a", "b", "c")
    with pytest.raises(TypeError):
        merge_field("tags", "a", "b", "c")
    with pytest.raises(TypeError):
        merge_field("note", frozenset(), frozenset(), frozenset())


@pytest.mark.parametrize(
    ("note", "expected_note", "added"),
    [
        (".probability", "", {"probability"}),
        ("  .spaced  ", "", {"spaced"}),
        (".h1", ".h1", set()),  # its heading action: left to Readwise
        (".favorite\n", "", {"favorite"}),
        (".two words", ".two words", set()),
        (".a .b", ".a .b", set()),
        (".tag and a note", ".tag and a note", set()),
        (". space", ". space", set()),
        ("..double", "..double", set()),
        (".c1", ".c1", set()),  # Readwise's concatenation action, not a tag
        (".C12", ".C12", set()),
        ("a note .tag", "a note .tag", set()),
        ("", "", set()),
    ],
)
def test_readwise_s_inline_tagging(note: str, expected_note: str, added: set[str]) -> None:
    fields = Fields("t", note, frozenset({"kept"}))
    assert readwise_view(fields) == Fields("t", expected_note, frozenset({"kept"} | added))


def test_a_note_typed_as_a_tag_is_a_tag_added_and_the_round_trip_is_quiet() -> None:
    base = Fields("t", "", frozenset({"a"}))
    vault = Fields("t", ".new", frozenset({"a"}))
    first = merge_fields(base, vault, base)
    assert [(m.field, m.outcome) for m in first] == [
        ("text", Outcome.SAME),
        ("note", Outcome.SAME),
        ("tags", Outcome.PUSH),
    ]
    assert first[2].value == frozenset({"a", "new"})
    # Readwise now holds the tag and no note; the block still shows `.new`: nothing more.
    after = Fields("t", "", frozenset({"a", "new"}))
    assert {m.outcome for m in merge_fields(after, vault, after)} == {Outcome.SAME}


def test_merge_fields_decides_each_field() -> None:
    base = Fields("text", "note", frozenset({"a"}))
    vault = Fields("text, fixed", "note", frozenset({"a", "b"}))
    readwise = Fields("text", "note changed", frozenset())
    assert merge_fields(base, vault, readwise) == [
        FieldMerge("text", Outcome.PUSH, "text, fixed"),
        FieldMerge("note", Outcome.PULL, "note changed"),
        FieldMerge("tags", Outcome.PUSH, frozenset({"b"})),
    ]


def test_the_table_shows_each_outcome() -> None:
    table = three_way_table()
    for outcome in Outcome:
        assert f"| {outcome.value} |" in table
    assert table.count("\n| has it |") + table.count("\n| - |") == 8


def test_the_readme_shows_the_table_the_code_runs() -> None:
    assert three_way_table() in README.read_text(encoding="utf-8")
