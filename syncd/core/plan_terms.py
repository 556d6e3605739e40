"""What a book's plan is given besides the book and its page (`Options`, the config's) and what
it did, in numbers (`Outcome`).

Apart from `syncd.core.plan` so that what only carries them (the sync's settings, its report)
does not import the planner: a sync that plans nothing (a no-op) never imports it (issue 20).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Options:
    update_changed_highlights: bool = True
    remove_deleted_highlights: bool = False
    block_ids: bool = False  # every highlight block carries an id derived from its Readwise id


@dataclass
class Outcome:
    """What a plan did, in numbers for the summary and `syncd status`."""

    new: int = 0
    updated: int = 0
    removed: int = 0
    kept_out: int = 0  # not added because the user deleted them
    conflicts: int = 0
    pushed: int = 0  # fields sent to Readwise (issue 19)

    def add(self, other: Outcome) -> None:
        for name in vars(self):
            setattr(self, name, getattr(self, name) + getattr(other, name))
