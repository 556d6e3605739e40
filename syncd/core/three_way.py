"""STAND-IN (branch push) until branch `fields` lands its three-way table: the names of the
shared design (`Outcome`, `FieldMerge`, `merge_field`, `merge_fields`), a minimal version.
Replaced by `fields`'s module on merge."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from syncd.core.fields import FIELDS, Fields, readwise_view


class Outcome(Enum):
    SAME = "same"
    PUSH = "push"
    PULL = "pull"
    AGREED = "agreed"
    CONFLICT = "conflict"


@dataclass(frozen=True)
class FieldMerge:
    field: str
    outcome: Outcome
    value: str | frozenset[str]


def merge_field(field: str, base: object, vault: object, readwise: object) -> FieldMerge:
    if field == "tags":
        assert isinstance(base, frozenset) and isinstance(vault, frozenset)
        assert isinstance(readwise, frozenset)
        merged = (base | (vault - base) | (readwise - base)) - (base - vault) - (base - readwise)
        if vault == readwise:
            return FieldMerge(field, Outcome.SAME if vault == base else Outcome.AGREED, vault)
        if merged != readwise:
            return FieldMerge(field, Outcome.PUSH, merged)
        return FieldMerge(field, Outcome.PULL, merged)
    assert isinstance(vault, str) and isinstance(readwise, str)
    if vault == readwise:
        return FieldMerge(field, Outcome.SAME if vault == base else Outcome.AGREED, vault)
    if readwise == base:
        return FieldMerge(field, Outcome.PUSH, vault)
    if vault == base:
        return FieldMerge(field, Outcome.PULL, readwise)
    return FieldMerge(field, Outcome.CONFLICT, vault)


def merge_fields(base: Fields, vault: Fields, readwise: Fields) -> list[FieldMerge]:
    seen = readwise_view(vault)
    return [
        merge_field(
            name,
            getattr(base, name),
            getattr(seen, name)
            if getattr(seen, name) == getattr(readwise, name)
            else getattr(vault, name),
            getattr(readwise, name),
        )
        for name in FIELDS
    ]
