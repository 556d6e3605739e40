"""The reconcile decision as a table (syncd.core.decision): every case decided, the promises of
README "Your edits" hold for every row, and the README shows the table the code runs."""

from __future__ import annotations

import itertools
from dataclasses import fields
from pathlib import Path

import pytest

from syncd.core.decision import (
    OBSERVED,
    RULES,
    Act,
    Facts,
    Option,
    Seen,
    Status,
    decide,
    rules_table,
)
from syncd.core.plan_terms import Options

README = Path(__file__).resolve().parents[2] / "README.md"
OPTIONS = (Option.UPDATE_CHANGED, Option.REMOVE_DELETED)
ALL_OPTIONS = [frozenset(c) for n in range(3) for c in itertools.combinations(OPTIONS, n)]
# Where a block can be, by what its record says (see `plan._look`): a highlight never written
# is looked for unless deleted in Readwise; a written one as written, else alike, else absent;
# the others are not looked for.
SEEN = {
    None: (Seen.AS_WRITTEN, Seen.FOUND, Seen.ABSENT),
    Status.WRITTEN: (Seen.AS_WRITTEN, Seen.SIMILAR, Seen.ABSENT),
    Status.DELETED: (Seen.AS_WRITTEN, Seen.ABSENT),
}
CASES = [
    Facts(status, None if status is None and deleted else seen, deleted, changed)
    for status in (None, *Status)
    for seen in SEEN.get(status, (None,))
    for deleted in (False, True)
    for changed in (False, True)
    if status is not None or not changed
]
WRITES = {Act.APPEND, Act.UPDATE, Act.REMOVE}


@pytest.mark.parametrize(
    "options", ALL_OPTIONS, ids=lambda o: "+".join(sorted(x.value for x in o)) or "none"
)
def test_every_case_is_decided_by_exactly_the_first_matching_rule(options: frozenset) -> None:
    for facts in CASES:
        first = next(rule for rule in RULES if rule.matches(facts, options))
        assert decide(facts, options) is first.action


@pytest.mark.parametrize("facts", CASES, ids=str)
def test_a_block_the_user_touched_is_never_written(facts: Facts) -> None:
    """Edited, deleted, in conflict, or alike but not as written: no write reaches it."""
    for options in ALL_OPTIONS:
        action = decide(facts, options)
        if facts.status in (Status.EDITED, Status.DELETED, Status.CONFLICT, Status.REMOVED):
            assert action.act not in WRITES
        if facts.status == Status.WRITTEN and facts.seen != Seen.AS_WRITTEN:
            assert action.act not in WRITES
        if facts.status == Status.DELETED and facts.seen == Seen.ABSENT:
            assert action.act is Act.KEEP_OUT and action.then is None


def test_a_deleted_block_back_as_written_is_syncds_again_and_nothing_else_is() -> None:
    """The page alone says so between syncs (OBSERVED); a sync that sees it says so too: a
    block seen gone mid-save, or put back by the user, is neither kept out nor written."""
    back = Facts(Status.DELETED, Seen.AS_WRITTEN, deleted_in_readwise=False, changed=True)
    assert decide(back, frozenset(OPTIONS)).act is Act.KEEP
    assert decide(back).then == Status.WRITTEN
    gone = Facts(Status.DELETED, Seen.ABSENT, deleted_in_readwise=False, changed=True)
    assert decide(gone, frozenset(OPTIONS)).act is Act.KEEP_OUT


def test_a_write_happens_only_when_its_option_is_on() -> None:
    changed = Facts(Status.WRITTEN, Seen.AS_WRITTEN, deleted_in_readwise=False, changed=True)
    deleted = Facts(Status.WRITTEN, Seen.AS_WRITTEN, deleted_in_readwise=True, changed=False)
    assert decide(changed).act is Act.KEEP
    assert decide(changed, frozenset({Option.UPDATE_CHANGED})).act is Act.UPDATE
    assert decide(deleted).act is Act.KEEP
    assert decide(deleted, frozenset({Option.REMOVE_DELETED})).act is Act.REMOVE


def test_a_highlight_never_written_is_appended_once_or_adopted() -> None:
    for seen in (Seen.AS_WRITTEN, Seen.FOUND):
        assert decide(Facts(None, seen, False, False)).act is Act.ADOPT
    assert decide(Facts(None, Seen.ABSENT, False, False)).act is Act.APPEND
    assert decide(Facts(None, None, True, False)).act is Act.KEEP


@pytest.mark.parametrize("status", [s for s in Status if s != Status.REMOVED])
def test_what_a_page_alone_tells(status: Status) -> None:
    def observed(seen: Seen) -> Status | None:
        return decide(Facts(status, seen, False, False), rules=OBSERVED).then

    assert observed(Seen.AS_WRITTEN) == Status.WRITTEN
    assert observed(Seen.ABSENT) == Status.DELETED
    assert observed(Seen.SIMILAR) == (
        Status.CONFLICT if status == Status.CONFLICT else Status.EDITED
    )


def test_the_readme_shows_the_table_the_code_runs() -> None:
    text = README.read_text(encoding="utf-8")
    assert rules_table(RULES) in text
    assert rules_table(OBSERVED) in text


def test_every_option_a_rule_needs_is_a_setting() -> None:
    """A rule's option is a field of the settings the plan is given, named as the config key."""
    assert {f.name for f in fields(Options)} == {option.value for option in Option}
