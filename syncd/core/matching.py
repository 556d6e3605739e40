"""Pairing what syncd wrote with the page's blocks by likeness: each block syncd wrote that
is not on the page as written goes to the block most alike it (the user's edit of it), all of
them together, so that one record never takes another's edit for being looked for first (world
seed 324161665: a deleted highlight took the edit of one a digit apart, which then read as
deleted). Pure."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from syncd.core.outline import PageBlock
from syncd.core.page_index import PageIndex
from syncd.core.records import HighlightRecord


def match_lost(
    disk: PageIndex, lost: Iterable[HighlightRecord], taken: set[int]
) -> dict[int, PageBlock]:
    """For records whose block is not on the page as written, the block (not in `taken`) that
    is each one's edit: alike it (`SIMILAR` and up), the pairs with the largest sum of likeness
    (highlight id -> block; a record left without one is deleted). A block holding some
    records' first lines whole (words typed around them) is one of theirs only (`held_whole`)."""
    lost = list(lost)
    free = [b for b in disk.blocks if b.start not in taken]
    score = {
        (record.highlight_id, j): alike
        for record in lost
        for j, alike in disk.alike_blocks(record.block, free)
    }
    blocks = {r.highlight_id: r.block for r in lost}
    mine = {
        (hid, j): x
        for (hid, j), x in score.items()
        if held_whole(disk, free[j], [blocks[hid]], [b for i, b in blocks.items() if i != hid])
        is not False
    }
    return {hid: free[j] for hid, j in best_pairs(mine).items()}


def held_whole(disk: PageIndex, block: PageBlock, own: list[str], others: list[str]) -> bool | None:
    """Whether `block`'s first line holds this highlight's first line whole (`own`: its
    record's block and older ones) and no other's (True), another's and none of this one's
    (False), or neither or both (None): words typed around a highlight's text keep the block
    that highlight's, however alike another's by characters (world seed 1036053179: words
    appended to one highlight's copy made it more alike, by ratio, to a highlight a digit apart
    than that highlight's own edit with words appended)."""
    mine = any(disk.holds(w, block) for w in own)
    theirs = any(disk.holds(o, block) for o in others)
    return None if mine == theirs else mine


def best_pairs(score: Mapping[tuple[int, int], float]) -> dict[int, int]:
    """Rows to columns (each at most once, only pairs in `score`) with the largest sum of
    `score`; rows left without one are absent. The Hungarian method on costs -score over the
    rows and columns that have a pair (few: the edited highlights' candidate blocks), each row
    free to take a column of its own at cost 0 (unmatched)."""
    rows = sorted({i for i, _ in score})
    cols = sorted({j for _, j in score})
    columns = len(cols)
    n, m = len(rows), columns + len(rows)
    inf = float("inf")

    def cost(i: int, j: int) -> float:  # 1-based
        if j > columns:
            return 0.0
        return -score.get((rows[i - 1], cols[j - 1]), 0.0)

    u, v = [0.0] * (n + 1), [0.0] * (m + 1)
    p, way = [0] * (m + 1), [0] * (m + 1)
    for i in range(1, n + 1):
        p[0], j0 = i, 0
        minv, used = [inf] * (m + 1), [False] * (m + 1)
        while True:
            used[j0] = True
            i0, delta, j1 = p[j0], inf, 0
            for j in range(1, m + 1):
                if not used[j]:
                    cur = cost(i0, j) - u[i0] - v[j]
                    if cur < minv[j]:
                        minv[j], way[j] = cur, j0
                    if minv[j] < delta:
                        delta, j1 = minv[j], j
            for j in range(m + 1):
                if used[j]:
                    u[p[j]] += delta
                    v[j] -= delta
                else:
                    minv[j] -= delta
            j0 = j1
            if p[j0] == 0:
                break
        while j0:
            j1 = way[j0]
            p[j0] = p[j1]
            j0 = j1
    return {
        rows[p[j] - 1]: cols[j - 1]
        for j in range(1, columns + 1)
        if p[j] and (rows[p[j] - 1], cols[j - 1]) in score
    }
