"""The sync plan as a state machine: whatever the user does to a page and whatever changes in
Readwise, in any order, no highlight is ever on the page twice, nothing the user wrote is lost,
and a block the user deleted never comes back. Pure: no files, no server, no clock."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from syncd.core.model import Book, Highlight
from syncd.core.plan import Options, new_page_records, observe_page, plan_page
from syncd.core.records import HighlightRecord
from syncd.core.render import Style, render_new_page
from syncd.core.templates import Templates

STYLES = {f: Style(templates=Templates(f), tz=timezone.utc) for f in ("logseq", "obsidian")}
T0 = datetime(2023, 3, 17, 17, 5, tzinfo=timezone.utc)
TOKEN = re.compile(r" h\d+x")
WORDS = st.sampled_from(["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta"])


class PageLife(RuleBasedStateMachine):
    """One book's page over many syncs, with the user at work between them."""

    def __init__(self) -> None:
        super().__init__()
        self.upstream: dict[int, Highlight] = {}
        self.records: dict[int, HighlightRecord] = {}
        self.text = ""
        self.user_lines: list[str] = []
        self.deleted_texts: set[str] = set()
        self.next_id = 1
        self.now = T0
        self.style = STYLES["logseq"]

    @rule(page_format=st.sampled_from(sorted(STYLES)), count=st.integers(1, 4))
    @precondition(lambda self: not self.text)
    def first_sync(self, page_format: str, count: int) -> None:
        self.style = STYLES[page_format]
        for _ in range(count):
            self._upstream_add("highlight")
        blocks, records = new_page_records(self.book(), list(self.upstream.values()), self.style)
        self.text = render_new_page(self.book(), "Walden", blocks, self.style, self.now)
        self.records = {r.highlight_id: r for r in records}

    @rule(words=st.lists(WORDS, min_size=1, max_size=3))
    @precondition(lambda self: bool(self.text))
    def upstream_adds(self, words: list[str]) -> None:
        self._upstream_add(" ".join(words))

    @rule(data=st.data())
    @precondition(lambda self: bool(self.upstream))
    def upstream_changes(self, data: st.DataObject) -> None:
        hid = data.draw(st.sampled_from(sorted(self.upstream)))
        old = self.upstream[hid]
        self.upstream[hid] = Highlight(hid, old.text + " (revised)", note="changed upstream")

    @rule(line=WORDS)
    @precondition(lambda self: bool(self.text))
    def user_appends_a_block(self, line: str) -> None:
        mine = f"my own note about {line} {len(self.user_lines)}"
        self.user_lines.append(mine)
        self.text += f"\n- {mine}"

    @rule(data=st.data())
    @precondition(lambda self: any(r.status == "written" for r in self.records.values()))
    def user_deletes_a_highlight_block(self, data: st.DataObject) -> None:
        lines = self.text.split("\n")
        candidates = [i for i, line in enumerate(lines)
                      if line.lstrip("\t ").startswith("- ") and TOKEN.search(line)]
        if not candidates:
            return
        index = data.draw(st.sampled_from(candidates))
        self.deleted_texts.add(lines[index].lstrip("\t -"))
        depth = len(lines[index]) - len(lines[index].lstrip("\t "))
        end = index + 1
        while end < len(lines) and (len(lines[end]) - len(lines[end].lstrip("\t ")) > depth):
            end += 1
        self.text = "\n".join(lines[:index] + lines[end:])

    @rule()
    @precondition(lambda self: bool(self.text))
    def sync(self) -> None:
        self.now += timedelta(hours=1)
        for record in observe_page(self.text, self.records, self.style.page_format):
            self.records[record.highlight_id] = record
        plan = plan_page(self.book(), list(self.upstream.values()), self.text, self.records,
                         self.style, self.now, Options())
        if plan.text is not None:
            self.text = plan.text
        for record in plan.records:
            self.records[record.highlight_id] = record

    @invariant()
    def no_highlight_twice(self) -> None:
        for hid in self.upstream:
            assert self.text.count(f" h{hid}x") <= 1

    @invariant()
    def the_users_lines_are_all_there(self) -> None:
        for mine in self.user_lines:
            assert f"- {mine}" in self.text

    @invariant()
    def deleted_blocks_stay_deleted(self) -> None:
        lines = {line.lstrip("\t -") for line in self.text.split("\n")}
        assert not self.deleted_texts & lines

    def book(self) -> Book:
        return Book(id=1, title="Walden", author="Thoreau", highlights=())

    def _upstream_add(self, text: str) -> None:
        """A new highlight; its text carries a token (` h7x`) unique to it."""
        self.upstream[self.next_id] = Highlight(self.next_id, f"{text} h{self.next_id}x")
        self.next_id += 1


PageLife.TestCase.settings = settings(max_examples=150, stateful_step_count=25, deadline=None)
TestPageLife = PageLife.TestCase
