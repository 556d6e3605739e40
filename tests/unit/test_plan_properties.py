"""The sync plan as a state machine: whatever the user does to a page and whatever changes in
Readwise, in any order, no highlight is ever on the page twice, nothing the user wrote is lost,
and a block the user deleted never comes back. With stable block ids turned on and off at any
moment, and Logseq or Obsidian giving blocks ids of their own (the user links to them): every
id stays on its own highlight's block, is there once, and is never taken for an edit. Pure: no
files, no server, no clock."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from syncd.core.model import Book, Highlight
from syncd.core.page_reading import observe_page
from syncd.core.plan import new_page_records, plan_page
from syncd.core.plan_terms import Options
from syncd.core.records import HighlightRecord
from syncd.core.render import Style, block_id, render_new_page
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
        self.block_ids = False
        self.editor_ids: dict[str, int] = {}  # ids Logseq or Obsidian gave blocks: highlight
        self.next_editor_id = 0

    @rule(page_format=st.sampled_from(sorted(STYLES)), count=st.integers(1, 4))
    @precondition(lambda self: not self.text)
    def first_sync(self, page_format: str, count: int) -> None:
        self.style = STYLES[page_format]
        for _ in range(count):
            self._upstream_add("highlight")
        blocks, records = new_page_records(
            self.book(), list(self.upstream.values()), self.style, self.block_ids
        )
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
        candidates = [
            i
            for i, line in enumerate(lines)
            if line.lstrip("\t ").startswith("- ") and TOKEN.search(line)
        ]
        if not candidates:
            return
        index = data.draw(st.sampled_from(candidates))
        self.deleted_texts.add(lines[index].lstrip("\t -"))
        depth = len(lines[index]) - len(lines[index].lstrip("\t "))
        end = index + 1
        while end < len(lines) and (len(lines[end]) - len(lines[end].lstrip("\t ")) > depth):
            end += 1
        self.text = "\n".join(lines[:index] + lines[end:])
        self.editor_ids = {i: h for i, h in self.editor_ids.items() if self._count(i)}

    @rule(on=st.booleans())
    def toggle_block_ids(self, on: bool) -> None:
        self.block_ids = on

    @rule(data=st.data())
    @precondition(lambda self: any(r.status == "written" for r in self.records.values()))
    def editor_gives_a_block_an_id(self, data: st.DataObject) -> None:
        """The user links to a highlight's block: Logseq adds `id::` after its first line,
        Obsidian `^id` at the end of its text (the first line: these highlights are one line)."""
        lines = self.text.split("\n")
        candidates = [
            i
            for i, line in enumerate(lines)
            if line.lstrip("\t ").startswith("- ") and TOKEN.search(line)
        ]
        if not candidates:
            return
        i = data.draw(st.sampled_from(candidates))
        hid = int(TOKEN.findall(lines[i])[0][2:-1])
        self.next_editor_id += 1
        new_id = f"64f0c0de-0000-4000-8000-{self.next_editor_id:012d}"
        if self.style.page_format.name == "logseq":
            if i + 1 < len(lines) and lines[i + 1].strip().startswith("id::"):
                return
            indent = lines[i][: len(lines[i]) - len(lines[i].lstrip("\t "))]
            lines.insert(i + 1, f"{indent}  id:: {new_id}")
        else:
            if re.search(r" \^[\w-]+$", lines[i]):
                return
            new_id = f"ed{self.next_editor_id}"
            lines[i] += f" ^{new_id}"
        self.editor_ids[new_id] = hid
        self.text = "\n".join(lines)

    @rule()
    @precondition(lambda self: bool(self.text))
    def sync(self) -> None:
        self.now += timedelta(hours=1)
        for record in observe_page(self.text, self.records, self.style.page_format):
            self.records[record.highlight_id] = record
        plan = plan_page(
            self.book(),
            list(self.upstream.values()),
            self.text,
            self.records,
            self.style,
            self.now,
            Options(block_ids=self.block_ids),
        )
        if plan.text is not None:
            self.text = plan.text
        for record in plan.records:
            self.records[record.highlight_id] = record
        if self.block_ids:
            # Every block syncd wrote that is on the page carries an id: its own or the
            # editor's.
            for line in self.text.split("\n"):
                for token in TOKEN.findall(line):
                    hid = int(token[2:-1])
                    assert self._ids_of(hid), f"highlight {hid} has no id"

    def _count(self, mark: str) -> int:
        """How often an id is on the page (`ed1` is not in `ed10`)."""
        return len(re.findall(re.escape(mark) + r"(?![\w-])", self.text))

    def _ids_of(self, hid: int) -> list[str]:
        """The ids on the page's block of highlight `hid`: on its line or the lines after it
        before the next block."""
        lines = self.text.split("\n")
        i = next(i for i, line in enumerate(lines) if f" h{hid}x" in line)
        own = [lines[i]]
        for line in lines[i + 1 :]:
            if line.lstrip("\t ").startswith(("- ", "#")):
                break
            own.append(line)
        return re.findall(r"id:: (\S+)|\^([\w-]+)$", "\n".join(own), re.MULTILINE)

    @invariant()
    def ids_stay_on_their_blocks_once(self) -> None:
        for hid in self.upstream:
            mine = block_id(hid, self.style.page_format)
            if self._count(mine):
                assert self._count(mine) == 1
                assert (mine, "") in self._ids_of(hid) or ("", mine) in self._ids_of(hid)
        for editors, hid in self.editor_ids.items():
            assert self._count(editors) == 1
            assert (editors, "") in self._ids_of(hid) or ("", editors) in self._ids_of(hid)
            assert self.records[hid].status == "written", "an editor's id made an edit"

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
