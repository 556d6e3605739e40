"""A book's page through its life as two tables (syncd.core.page_life): every case decided by
the first matching rule, the promises about deleted and unclear pages hold for every row, and
the README shows the tables the code runs."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from syncd.core.page_life import (
    ON_LOOK,
    ON_SYNC,
    LookFacts,
    PageAct,
    PageStatus,
    SyncFacts,
    on_look,
    on_sync,
    page_rules_table,
)

README = Path(__file__).resolve().parents[2] / "README.md"
BOTH = (False, True)
SYNC_CASES = [
    SyncFacts(status, *flags)
    for status in (None, *PageStatus)
    for flags in itertools.product(BOTH, BOTH, BOTH, BOTH)
    if status is PageStatus.ACTIVE or not flags[0]  # only an active page is looked at first
]
LOOK_CASES = [
    LookFacts(status, at_place, strong, found, unclear)
    for status in PageStatus
    for at_place, strong, found, unclear in itertools.product(BOTH, BOTH, BOTH, BOTH)
    # What looking can see: a file at its place is not searched for elsewhere; a page found
    # elsewhere is not also unclear.
    if not (at_place and (found or unclear)) and not (found and unclear)
]
WRITES = {PageAct.CREATE, PageAct.UPDATE, PageAct.RECREATE}


@pytest.mark.parametrize("facts", SYNC_CASES, ids=str)
def test_every_sync_case_is_decided_by_the_first_matching_rule(facts: SyncFacts) -> None:
    assert on_sync(facts) is next(rule for rule in ON_SYNC if rule.matches(facts)).act


@pytest.mark.parametrize("facts", LOOK_CASES, ids=str)
def test_every_look_case_is_decided_by_the_first_matching_rule(facts: LookFacts) -> None:
    assert on_look(facts) is next(rule for rule in ON_LOOK if rule.matches(facts)).act


@pytest.mark.parametrize("facts", SYNC_CASES, ids=str)
def test_a_page_not_where_syncd_left_it_is_written_only_by_rule(facts: SyncFacts) -> None:
    """A waiting book gets nothing written; a deleted page is written again only when the user
    asked for it (resync_deleted_pages); either is looked for first when there is something to
    write."""
    act = on_sync(facts)
    if facts.status is PageStatus.WAITING:
        assert act in (PageAct.LOOK, PageAct.WAIT)
    if facts.status is PageStatus.DELETED and act in WRITES:
        assert act is PageAct.RECREATE and facts.recreate
    if facts.status is not PageStatus.ACTIVE and facts.status is not None and facts.to_write:
        assert (act is PageAct.LOOK) is not facts.looked
    if facts.status is PageStatus.ACTIVE:
        assert act is (
            PageAct.UPDATE if facts.at_place else PageAct.WAIT if facts.looked else PageAct.LOOK
        )


@pytest.mark.parametrize("facts", LOOK_CASES, ids=str)
def test_a_file_at_a_gone_page_s_place_is_followed_on_strong_evidence_only(
    facts: LookFacts,
) -> None:
    act = on_look(facts)
    if facts.status is not PageStatus.ACTIVE and facts.at_place:
        assert act is (PageAct.FOLLOW_BACK if facts.strong else PageAct.LEAVE_ALONE)
    if not facts.at_place and not facts.found:
        assert act is (PageAct.MARK_WAITING if facts.unclear else PageAct.MARK_DELETED)
    if act is PageAct.FOLLOW:
        assert facts.status is PageStatus.ACTIVE


def test_every_rule_is_reached() -> None:
    assert {on_sync(f) for f in SYNC_CASES} >= {rule.act for rule in ON_SYNC}
    reached = {next(r for r in ON_LOOK if r.matches(f)) for f in LOOK_CASES}
    assert reached == set(ON_LOOK)


def test_the_readme_shows_the_tables_the_code_runs() -> None:
    assert page_rules_table() in README.read_text(encoding="utf-8")
