"""Where a highlight's fields are in its block: the values a block on the page shows. Pure.

Two-way sync (issue 19) pushes what the user typed in a highlight's block back to Readwise: its
text, its note, its tags. `read_fields` reads them out of a block, given the highlight's current
Readwise record, by learning the template's shape rather than assuming one: the highlight's
block is rendered with a sentinel in each field (note present or not, tags present or not), the
literal text around the sentinels becomes a strict pattern, the block is matched against it,
each captured value has the renderer's transformations undone (continuation indentation, `\\-`
escapes, tags as `#[[a]]`), and the result must render back to exactly the block. Anything that
does not fit is None: a block is never guessed at.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, replace
from itertools import pairwise

from syncd.core.model import Book, Highlight
from syncd.core.outline import _NEEDS_ESCAPE, bullet_depth, normalise
from syncd.core.render import (
    LOGSEQ,
    OBSIDIAN,
    OBSIDIAN_CONTINUATION,
    Style,
    heading_level,
    render_highlights,
)

FIELDS = ("text", "note", "tags")


@dataclass(frozen=True)
class Fields:
    """A highlight's pushable values, as Readwise stores them."""

    text: str
    note: str
    tags: frozenset[str]


def fields_of(highlight: Highlight) -> Fields:
    """The values Readwise holds for a highlight."""
    return Fields(highlight.text, highlight.note, frozenset(highlight.tags))


# Sentinels: private-use characters around letters, so that a filter that changes a value
# (`upper`, `truncate`, `replace`) loses the sentinel and the field counts as not located.
_TEXT = "\ue000Tx q\ue001"
_NOTE = "\ue002Nt q\ue003"
_TAG1 = "\ue004Ga q\ue005"
_TAG2 = "\ue006Gb q\ue007"
_PRIVATE = re.compile("[\ue000-\ue007]")
# A tag as the user may type it in a `#[[a]]`/`[[a]]` tags line: `#[[a b]]`, `[[a b]]`, `#a`
# (no punctuation after `#`: whether `#a,` is the tag `a` or `a,` is the editor's reading).
_TAG_TOKEN = re.compile(
    r"#\[\[((?:(?!\]\]|\[\[)[^\n])+)\]\]|\[\[((?:(?!\]\]|\[\[)[^\n])+)\]\]"
    r"|#([^\s#\[\](){}<>,;:!?.\"'`|\\]+)"
)
_SAMPLE_BOOK = Book(1, "Title", author="Author", source_url="https://example.com/a")


def _render(book: Book, highlight: Highlight, style: Style) -> str:
    """A highlight's block as `PageIndex.norm` gives it: ids and trailing white space gone."""
    block = render_highlights(book, [highlight], style)[0]
    return normalise(block.split("\n"), obsidian=style.page_format is not LOGSEQ)


def _common_prefix(a: str, b: str) -> str:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return a[:n]


@dataclass(frozen=True)
class _TagParts:
    """Where a template's tags are: the region from before the first tag to after the last,
    and what it writes around each (`#[[` before, `]]` after, `]] #[[` between two)."""

    start: int
    end: int
    pre: str
    sep: str
    post: str


def _tag_parts(two: str, one: str) -> _TagParts | str:
    """Given a rendering with two sentinel tags and one with one, where the tags are; else why
    they cannot be read back (one line)."""
    if two.count(_TAG1) != 1 or two.count(_TAG2) != 1 or one.count(_TAG1) != 1:
        return "the highlight template does not show each tag once, as it is"
    i1, i2 = two.index(_TAG1), two.index(_TAG2)
    if i2 < i1:
        return "the highlight template does not show the tags in their order"
    sep = two[i1 + len(_TAG1) : i2]
    if not sep.strip():
        return "the highlight template puts nothing but white space between two tags"
    if "\n" in sep or _PRIVATE.search(sep):
        return "the highlight template does not write the tags on one line"
    # A loop writes `pre tag post` for each tag (`#[[a]] #[[b]] `): what follows the only tag
    # of a one-tag rendering starts with `post`. A join writes `sep` between tags only.
    after = one[one.index(_TAG1) + len(_TAG1) :]
    post = _common_prefix(sep, after)
    pre = sep[len(post) :]
    start, end = i1 - len(pre), i2 + len(_TAG2) + len(post)
    if start >= 0 and two[start:i1] == pre and two[i2 + len(_TAG2) : end] == post:
        return _TagParts(start, end, pre, sep, post)
    return _TagParts(i1, i2 + len(_TAG2), "", sep, "")


@dataclass(frozen=True)
class _Shape:
    """A block's shape for one combination of note and tags present or absent: the pattern it
    matches (groups `text`, `note`, `tags`, and `note_at`, `tags_at` where those start)."""

    note: bool
    tags: bool
    pattern: re.Pattern[str]
    prefixes: dict[str, str]  # how the lines after a multi-line text's, note's first start
    parts: _TagParts | None
    free: frozenset[str]  # the fields read from the block; the others keep Readwise's values


def _shape(
    book: Book, highlight: Highlight, style: Style, free: frozenset[str], note: bool, tags: bool
) -> _Shape | None:
    """`_shapes`, for the highlight's data that is not a field read from the block."""
    blank = replace(
        highlight,
        text="" if "text" in free else highlight.text,
        note="" if "note" in free else highlight.note,
        tags=() if "tags" in free else highlight.tags,
        updated_at=None,
    )
    return _shapes(replace(book, highlights=()), blank, style, free, note, tags)


@functools.lru_cache(maxsize=1024)
def _shapes(
    book: Book, highlight: Highlight, style: Style, free: frozenset[str], note: bool, tags: bool
) -> _Shape | None:
    """The shape of a highlight's block with (`note`, `tags`) a note, tags; None if the
    template does not show these fields where they can be told apart. The fields not `free`
    (not pushable with this template) keep the highlight's own values."""

    def skeleton(tag_values: tuple[str, ...]) -> str:
        return _render(
            book,
            replace(
                highlight,
                text=_TEXT if "text" in free else highlight.text,
                note=(_NOTE if note else "") if "note" in free else highlight.note,
                tags=tag_values if "tags" in free else highlight.tags,
            ),
            style,
        )

    two = skeleton((_TAG1, _TAG2) if tags else ())
    cuts: list[tuple[int, int, str]] = []  # (start, end, field) in `two`
    parts = None
    if "tags" in free and tags:
        found = _tag_parts(two, skeleton((_TAG1,)))
        if isinstance(found, str):
            return None
        parts = found
        cuts.append((parts.start, parts.end, "tags"))
    for name, sentinel, present in (("text", _TEXT, True), ("note", _NOTE, note)):
        if name not in free:
            continue
        if two.count(sentinel) != int(present):
            return None
        if present:
            at = two.index(sentinel)
            cuts.append((at, at + len(sentinel), name))
    cuts.sort()
    if any(a[1] >= b[0] or not two[a[1] : b[0]].strip() for a, b in pairwise(cuts)):
        return None  # two fields side by side: nothing says where one ends
    regex, last = "", 0
    prefixes: dict[str, str] = {}
    for start, end, name in cuts:
        literal = two[last:start]
        if name == "tags":
            regex += re.escape(literal) + r"(?P<tags_at>)(?P<tags>[^\n]*)"
        else:
            # The space before a value at a line's end goes with it: an emptied `Note:` line.
            kept = literal.rstrip(" ")
            regex += (
                re.escape(kept) + f"(?P<{name}_at>)(?:{re.escape(literal[len(kept) :])}"
                f"(?P<{name}>.*))?"
            )
            line = two[two.rfind("\n", 0, start) + 1 : start]
            prefixes[name] = _continuation(style, name, line)
        last = end
    regex += re.escape(two[last:])
    return _Shape(note, tags, re.compile(regex, re.DOTALL), prefixes, parts, free)


def _continuation(style: Style, name: str, line: str) -> str:
    """How the lines after a multi-line value's first are indented on the page."""
    if style.page_format is OBSIDIAN:
        return OBSIDIAN_CONTINUATION[f"highlight_{name}"]
    return line[: len(line) - len(line.lstrip("\t "))] + "  "


def _unindent(value: str, prefix: str, style: Style) -> str | None:
    """A multi-line value as the page shows it, as the template was given it: each line after
    the first without its continuation indentation, and without the backslash the renderer put
    before a line that would otherwise read as a block (`\\- x`); None if a line is not
    indented as a continuation (a block of its own: the block's structure changed)."""
    first, *rest = value.split("\n")
    lines = [first]
    for line in rest:
        if not line:  # an empty line (its indentation is trailing white space)
            lines.append(line)
            continue
        if not line.startswith(prefix):
            return None
        line = line[len(prefix) :]
        blank = len(line) - len(line.lstrip(" \t"))
        if line[blank : blank + 1] == "\\":
            bare = line[:blank] + line[blank + 1 :]
            if style.page_format is OBSIDIAN:
                if (
                    bare[blank:].startswith("-")
                    and bullet_depth(prefix + bare, OBSIDIAN.indent) is not None
                ):
                    line = bare
            elif _NEEDS_ESCAPE.match(bare):
                line = bare
        lines.append(line)
    return "\n".join(lines)


def _tags(capture: str, parts: _TagParts) -> list[str] | None:
    """The tags a tags region shows, in order; None if it does not read as tags. In a
    `#[[a]]`/`[[a]]` line (the default templates) a tag may be typed `#[[a]]`, `[[a]]` or `#a`,
    separated by white space; else the template's own separator splits them."""
    if not capture.strip():
        return []
    if parts.post.strip() == "]]" and parts.pre.strip() in ("#[[", "[[") and parts.pre[:1] == " ":
        tags: list[str] = []
        at = 0
        while capture[at:].strip():
            blank = len(capture) - at - len(capture[at:].lstrip())
            if not blank:
                return None  # `#a#b`, `[[a]]x`: not read
            match = _TAG_TOKEN.match(capture, at + blank)
            if match is None:
                return None
            tags.append(next(g for g in match.groups() if g is not None))
            at = match.end()
        return tags
    if not (capture.startswith(parts.pre) and capture.endswith(parts.post)):
        return None
    return capture[len(parts.pre) : len(capture) - len(parts.post)].split(parts.sep)


def read_fields(block: str, book: Book, highlight: Highlight, style: Style) -> Fields | None:
    """Return the values a highlight's block on the page shows; None when it does not fit the
    template's shape for this highlight, or fits it more than one way: never a guess.

    `block`: as `PageIndex.norm` gives it (at highlight depth, the format's indentation, without
    ids and trailing white space); `highlight`: the highlight's current Readwise record (its
    location, url and book stay as rendered from it). A field the block shows as the record
    holds it (it renders the same) reads as the record's value, byte for byte; a field the
    template cannot give back (`pushable_fields`) reads as the record's value too.

    A note or tags line added where there was none reads as its value; a note or tags line
    emptied or removed reads as empty. In a tags line of the default templates a tag may be
    typed `#a`, `[[a]]` or `#[[a]]`.

    Round trip: the Fields returned, rendered with `highlight`'s other data, give exactly
    `block` (its tags line as the template writes those tags; an emptied line gone). So None,
    too, for whatever the renderer cannot reproduce: an Obsidian heading highlight (`###`: its
    text is rendered lossy), a text or note whose line breaks the format cannot show, a tag
    with `[[` or `]]` in it, a tag twice, a block with lines or children the template does not
    write (an extra line between text and note, two note lines, a child of the user's own).

    Where two values render alike the page cannot tell them apart, and the record's value wins
    if it is one of them; else the plain reading: a Logseq text line shown `\\- x` reads as
    `- x` (the renderer escapes a `- ` line so), tags of a template that joins them with a
    separator are split at it.
    """
    found = {fields for fields, _ in _readings(block, book, highlight, style)}
    return found.pop() if len(found) == 1 else None


def emptied_lines(block: str, book: Book, highlight: Highlight, style: Style) -> frozenset[str]:
    """The fields (note, tags) whose line `block` shows emptied: the label kept, no value (it
    reads as empty, `read_fields`, but the template writes no line for an empty value, so the
    line is the user's typing, or a block syncd recorded after such an edit). Empty when
    `read_fields` gives None."""
    readings = _readings(block, book, highlight, style)
    if len({fields for fields, _ in readings}) != 1:
        return frozenset()
    return frozenset().union(*(emptied for _, emptied in readings))


def _readings(
    block: str, book: Book, highlight: Highlight, style: Style
) -> list[tuple[Fields, frozenset[str]]]:
    """Each reading of `block` through a shape of the template: the values, the lines emptied."""
    if style.page_format is OBSIDIAN and heading_level(highlight) is not None:
        return []
    free = frozenset(name for name, why in pushable_fields(style).items() if why is None)
    found: list[tuple[Fields, frozenset[str]]] = []
    for note in (False, True) if "note" in free else (bool(highlight.note),):
        for tags in (False, True) if "tags" in free else (bool(highlight.tags),):
            shape = _shape(book, highlight, style, free, note, tags)
            if shape is not None:
                result = _read(block, book, highlight, style, shape)
                if result is not None:
                    found.append(result)
    return found


def shown_lossy(book: Book, highlight: Highlight, style: Style) -> frozenset[str]:
    """The fields whose Readwise value the highlight's block does not show exactly: read back
    from the block rendered from it, as the record of a highlight that holds another value (so
    that the record's value does not win), the field gives another value, or none. A blank line
    Obsidian shows as one line break, a control character dropped, a CR LF shown as a line
    break, a Logseq `\\- ` the page cannot tell from an escaped `- `: an edit
    of such a field, read from the page, would send Readwise a value the user did not type
    (world seed 3387419952), so two-way sync does not push it."""
    block = _render(book, highlight, style)
    lossy: set[str] = set()
    for name in FIELDS:
        other = (
            replace(highlight, tags=(*highlight.tags, "syncd other tag"))
            if name == "tags"
            else replace(highlight, **{name: getattr(highlight, name) + "Z"})
        )
        read = read_fields(block, book, other, style)
        if read is None or getattr(read, name) != getattr(fields_of(highlight), name):
            lossy.add(name)
    return frozenset(lossy)


def _read(
    block: str, book: Book, highlight: Highlight, style: Style, shape: _Shape
) -> tuple[Fields, frozenset[str]] | None:
    match = shape.pattern.fullmatch(block)
    if match is None:
        return None
    groups = match.groupdict()
    values = {
        name: "" if name in shape.free else getattr(highlight, name) for name in ("text", "note")
    }
    for name in values:
        if f"{name}_at" in groups:
            value = _unindent(groups[name] or "", shape.prefixes[name], style)
            if value is None:
                return None
            values[name] = value
    tags = [] if "tags" in shape.free else list(highlight.tags)
    edits: list[tuple[int, int, str]] = []  # what makes `block` the rendering of the values
    emptied: set[str] = set()
    if shape.parts is not None:
        read = _tags(groups["tags"], shape.parts)
        if read is None or any(
            not t or t != t.strip() or "[[" in t or "]]" in t or "\n" in t for t in read
        ):
            return None
        tags = read
        if tags:  # the tags as the template writes them (the user may have typed `#a`)
            canonical = shape.parts.pre + shape.parts.sep.join(tags) + shape.parts.post
            edits.append((*match.span("tags"), canonical))
        else:
            edits.append(_line(block, match.start("tags_at")))
            emptied.add("tags")
    if shape.note and not values["note"].strip():
        values["note"] = ""
        edits.append(_line(block, match.start("note_at")))
        emptied.add("note")
    if len(set(tags)) != len(tags) or any(start < 0 for start, _, _ in edits):
        return None
    expected = block
    for start, end, text in sorted(edits, reverse=True):
        expected = expected[:start] + text + expected[end:]
    candidate = replace(highlight, text=values["text"], note=values["note"], tags=tuple(tags))
    if style.page_format is OBSIDIAN and heading_level(candidate) is not None:
        return None
    rendered = _render(book, candidate, style)
    if rendered != expected:
        return None
    # A field the block shows as Readwise holds it reads as Readwise's value.
    for name in ("text", "note"):
        own = getattr(highlight, name)
        if (
            values[name] != own
            and _render(book, replace(candidate, **{name: own}), style) == rendered
        ):
            values[name] = own
    final = frozenset(tags)
    if (
        final != frozenset(highlight.tags)
        and _render(book, replace(candidate, tags=highlight.tags), style) == rendered
    ):
        final = frozenset(highlight.tags)
    return Fields(values["text"], values["note"], final), frozenset(emptied)


def _line(block: str, at: int) -> tuple[int, int, str]:
    """The edit that removes the line `at` is on (with the line break before it)."""
    start = block.rfind("\n", 0, at)
    end = block.find("\n", at)
    return (start, len(block) if end < 0 else end, "")


def pushable_fields(style: Style) -> dict[str, str | None]:
    """For each field: None when it can flow back with this style's templates, else why not
    (one line, for `syncd status`). A field the highlight template does not show as it is,
    shows twice, or shows right next to another field (no text between them to tell where one
    ends) cannot: syncd would have to guess. (An Obsidian heading highlight, `###`, never
    flows back: `read_fields` gives None for it.)"""
    return dict(_pushable(style))


@functools.lru_cache(maxsize=64)
def _pushable(style: Style) -> tuple[tuple[str, str | None], ...]:
    every = _SAMPLE_HIGHLIGHT
    two = _render(_SAMPLE_BOOK, replace(every, tags=(_TAG1, _TAG2)), style)
    one = _render(_SAMPLE_BOOK, replace(every, tags=(_TAG1,)), style)
    reasons: dict[str, str | None] = {}
    spans: list[tuple[int, int, str]] = []
    for name, sentinel in (("text", _TEXT), ("note", _NOTE)):
        count = two.count(sentinel)
        if count == 0:
            reasons[name] = f"the highlight template does not show highlight_{name} as it is"
        elif count > 1:
            reasons[name] = f"the highlight template shows highlight_{name} more than once"
        else:
            reasons[name] = None
            spans.append((two.index(sentinel), two.index(sentinel) + len(sentinel), name))
    if _TAG1 not in two:
        reasons["tags"] = "the highlight template does not show highlight_tags as they are"
    else:
        parts = _tag_parts(two, one)
        reasons["tags"] = parts if isinstance(parts, str) else None
        if not isinstance(parts, str):
            spans.append((parts.start, parts.end, "tags"))
    spans.sort()
    for (_, end, left), (start, _, right) in pairwise(spans):
        if not two[end:start].strip():
            reasons[left] = (
                f"the highlight template puts highlight_{left} right before highlight_{right}"
            )
            reasons[right] = (
                f"the highlight template puts highlight_{right} right after highlight_{left}"
            )
    return tuple((name, reasons[name]) for name in FIELDS)


_SAMPLE_HIGHLIGHT = Highlight(
    1, _TEXT, note=_NOTE, location=5, location_type="page", url="https://example.com/h"
)
