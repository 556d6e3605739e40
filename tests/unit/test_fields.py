"""syncd/core/fields.py: the text, note and tags a highlight's block shows, read back through
its template; never a guess (None when the block does not fit)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from syncd.core.fields import (
    FIELDS,
    Fields,
    fields_of,
    pushable_fields,
    read_fields,
    shown_lossy,
)
from syncd.core.model import Book, Highlight, parse_book
from syncd.core.page_index import PageIndex
from syncd.core.render import NBSP, Style, render_highlights
from syncd.core.templates import Templates
from tests.support.corpus import CORPUS, corpus_pages
from tests.support.obsidian_corpus import corpus_files

STYLES = {f: Style(templates=Templates(f), tz=timezone.utc) for f in ("logseq", "obsidian")}
BOOK = Book(7, "A Book", author="An Author", asin="B0K")
HIGHLIGHT = Highlight(
    70, "As Readwise has it", note="its note", location=12, location_type="location", tags=("a",)
)
# What Readwise holds while the user edits: nothing of it may leak into what is read.
STALE = replace(HIGHLIGHT, text="stale text", note="stale note", tags=("stale",))


def block_of(highlight: Highlight, fmt: str, book: Book = BOOK) -> str:
    """The block as `PageIndex.norm` gives it: on a page, found, normalised."""
    style = STYLES[fmt]
    rendered = render_highlights(book, [highlight], style)[0]
    index = PageIndex(rendered, style.page_format)
    found = index.find(rendered)
    assert found is not None
    return index.norm(found)


def values(text: str, note: str = "", tags: tuple[str, ...] = ()) -> Fields:
    return Fields(text, note, frozenset(tags))


# Lines of text as a user types them: no white space at either end (the page cannot keep
# it), letters, punctuation, the corpus's hazards (`- `, `#`, `[[ ]]`, emoji, NBSP).
_WORD = st.lists(
    st.sampled_from([*"abcXYZ019.,;:!?()[]#-*_/'\"&<>|~`", "é", "ß", "😀", "🇫🇷", NBSP, "[[", "]]"]),
    min_size=1,
    max_size=8,
).map("".join)
_LINE = (
    st.lists(_WORD, min_size=1, max_size=4).map(" ".join).filter(lambda line: line == line.strip())
)
_MULTILINE = st.lists(
    st.one_of(
        _LINE,
        st.sampled_from(
            ["- item", "  - nested", "    - deeper", "# heading", "* star", "1. one", "-"]
        ),
    ),
    min_size=1,
    max_size=4,
).map("\n".join)
_TAG = st.text(st.sampled_from([*"abcXYZ019 ,-_.&é😀/", NBSP]), min_size=1, max_size=10).filter(
    lambda t: t == t.strip() and t.lower() not in {f"h{n}" for n in range(1, 7)}
)
_TAGS = st.lists(_TAG, max_size=4, unique=True).map(tuple)


@pytest.mark.parametrize("fmt", ["logseq", "obsidian"])
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=_MULTILINE, note=st.one_of(st.just(""), _MULTILINE), tags=_TAGS)
def test_what_a_block_shows_reads_back_as_itself(
    fmt: str, text: str, note: str, tags: tuple[str, ...]
) -> None:
    """Any text, note and tags the default templates render read back as themselves, whatever
    Readwise holds meanwhile (the user's edit is read, not Readwise's record)."""
    edited = replace(HIGHLIGHT, text=text, note=note, tags=tags)
    assert read_fields(block_of(edited, fmt), BOOK, STALE, STYLES[fmt]) == values(text, note, tags)


@pytest.mark.parametrize("fmt", ["logseq", "obsidian"])
@settings(max_examples=60, deadline=None)
@given(text=_MULTILINE, note=st.one_of(st.just(""), _MULTILINE), tags=_TAGS)
def test_an_untouched_block_reads_as_readwise_holds_it(
    fmt: str, text: str, note: str, tags: tuple[str, ...]
) -> None:
    highlight = replace(HIGHLIGHT, text=text, note=note, tags=tags)
    assert read_fields(block_of(highlight, fmt), BOOK, highlight, STYLES[fmt]) == fields_of(
        highlight
    )


@pytest.mark.parametrize("fmt", ["logseq", "obsidian"])
@pytest.mark.parametrize(
    ("text", "note", "tags"),
    [
        ("first line\nsecond line\n- a list item\n  - nested item", "", ()),
        ("- starts like a bullet? no: mid - text - dashes", "- note dash", ("x",)),
        ("emoji 😀 and 🇫🇷 flags", "note with 😀", ("😀 tag",)),
        (f"no{NBSP}break{NBSP}space", f"a{NBSP}b", (f"t{NBSP}u",)),
        ("# not a heading inside\n# nor here", "#hashtag in a note", ("#",)),
        ("a [[wiki link]] inside", "[[link]] note", ("with, comma", "two words")),
        ("ends with a link (see [x](https://y))", "", ()),
        ("text", "line one\nline two\n- three", ("a", "b", "c")),
        ("text with\n\nan empty line", "", ()),
    ],
)
def test_the_corpus_hazards_read_back(
    fmt: str, text: str, note: str, tags: tuple[str, ...]
) -> None:
    edited = replace(HIGHLIGHT, text=text, note=note, tags=tags)
    got = read_fields(block_of(edited, fmt), BOOK, STALE, STYLES[fmt])
    if fmt == "obsidian" and "\n\n" in text:
        # Obsidian's export writes a paragraph break as one line break: the page shows one.
        assert got == values(text.replace("\n\n", "\n"), note, tags)
    else:
        assert got == values(text, note, tags)


LOGSEQ_BLOCK = (
    "\t- As Readwise has it ([Location\xa012](https://readwise.io/to_kindle?action=open&asin=B0K"
    "&location=12))"
)
OBSIDIAN_BLOCK = LOGSEQ_BLOCK[1:]


def test_the_default_blocks_are_as_these_tests_think() -> None:
    plain = replace(HIGHLIGHT, note="", tags=())
    assert block_of(plain, "logseq") == LOGSEQ_BLOCK
    assert block_of(plain, "obsidian") == OBSIDIAN_BLOCK


@pytest.mark.parametrize(
    ("fmt", "added", "expected"),
    [
        ("logseq", "\n\t\t- **Note**: a new note", values(HIGHLIGHT.text, "a new note")),
        (
            "logseq",
            "\n\t\t- **Tags**: #[[new tag]] #b",
            values(HIGHLIGHT.text, "", ("new tag", "b")),
        ),
        (
            "logseq",
            "\n\t\t- **Tags**: [[x]]\n\t\t- **Note**: n",
            values(HIGHLIGHT.text, "n", ("x",)),
        ),
        ("obsidian", "\n    - Note: a new note", values(HIGHLIGHT.text, "a new note")),
        ("obsidian", "\n    - Tags: [[new tag]] #b", values(HIGHLIGHT.text, "", ("new tag", "b"))),
        (
            "obsidian",
            "\n    - Tags: #x\n    - Note: n\n      more",
            values(HIGHLIGHT.text, "n\nmore", ("x",)),
        ),
    ],
)
def test_a_note_or_tags_line_added_reads_as_its_value(
    fmt: str, added: str, expected: Fields
) -> None:
    plain = replace(HIGHLIGHT, note="", tags=())
    block = (LOGSEQ_BLOCK if fmt == "logseq" else OBSIDIAN_BLOCK) + added
    assert read_fields(block, BOOK, plain, STYLES[fmt]) == expected


@pytest.mark.parametrize("fmt", ["logseq", "obsidian"])
def test_a_note_or_tags_line_removed_or_emptied_reads_as_empty(fmt: str) -> None:
    block = block_of(HIGHLIGHT, fmt)
    lines = block.split("\n")
    assert len(lines) == 3  # text, tags, note
    style = STYLES[fmt]
    no_tags = "\n".join([lines[0], lines[2]])
    no_note = "\n".join(lines[:2])
    assert read_fields(no_tags, BOOK, HIGHLIGHT, style) == values(HIGHLIGHT.text, "its note")
    assert read_fields(no_note, BOOK, HIGHLIGHT, style) == values(HIGHLIGHT.text, "", ("a",))
    emptied_tags = "\n".join([lines[0], lines[1].split(":")[0] + ":", lines[2]])
    emptied_note = "\n".join([lines[0], lines[1], lines[2].split(":")[0] + ":"])
    assert read_fields(emptied_tags, BOOK, HIGHLIGHT, style) == values(HIGHLIGHT.text, "its note")
    assert read_fields(emptied_note, BOOK, HIGHLIGHT, style) == values(HIGHLIGHT.text, "", ("a",))
    assert read_fields(lines[0], BOOK, HIGHLIGHT, style) == values(HIGHLIGHT.text)


@pytest.mark.parametrize("fmt", ["logseq", "obsidian"])
@pytest.mark.parametrize("typed", ["#b", "[[b]]", "#[[b]]"])
def test_a_tag_may_be_typed_as_either_link(fmt: str, typed: str) -> None:
    block = block_of(HIGHLIGHT, fmt).replace("[[a]]", f"[[a]] {typed}")
    assert read_fields(block, BOOK, HIGHLIGHT, STYLES[fmt]) == values(
        HIGHLIGHT.text, "its note", ("a", "b")
    )


@pytest.mark.parametrize("fmt", ["logseq", "obsidian"])
@pytest.mark.parametrize(
    "tags_text",
    [
        "[[a]]]] ",
        "[[a]]x",
        "#a#b",
        "#a, #b",
        "#a.",
        "[[a [[b]] c]]",
        "plain words",
        "[[a]] [[a]]",
        "#[[]]",
    ],
)
def test_a_tags_line_that_does_not_read_as_tags_is_none(fmt: str, tags_text: str) -> None:
    block = block_of(HIGHLIGHT, fmt)
    prefix = "**Tags**: " if fmt == "logseq" else "Tags: "
    lines = block.split("\n")
    lines[1] = lines[1].split(prefix)[0] + prefix + tags_text
    assert read_fields("\n".join(lines).rstrip(), BOOK, HIGHLIGHT, STYLES[fmt]) is None


def test_a_tag_with_brackets_cannot_be_read_back() -> None:
    """`#[[a]]b]]` may be the tag `a]]b` or the tag `a` and text: None, never a guess."""
    odd = replace(HIGHLIGHT, tags=("a]]b",))
    for fmt in STYLES:
        assert read_fields(block_of(odd, fmt), BOOK, STALE, STYLES[fmt]) is None


@pytest.mark.parametrize("fmt", ["logseq", "obsidian"])
def test_structure_changes_are_never_read(fmt: str) -> None:
    style = STYLES[fmt]
    block = block_of(HIGHLIGHT, fmt)
    text, tags, note = block.split("\n")
    unit = style.page_format.indent
    changed = {
        "the note moved under the tags": "\n".join([text, tags, unit + note]),
        "the note moved under another block": "\n".join([text, tags, note.replace("- ", "", 1)])
        if fmt == "logseq"
        else "\n".join([text, tags, note.lstrip(" ")]),
        "a line typed between text and note": "\n".join([text, tags, unit * 0 + tags[:-3], note]),
        "two note lines": "\n".join([text, tags, note, note.replace("its", "another")]),
        "a child of the user's own": "\n".join(
            [text, tags, note, unit * (style.page_format.highlight_depth + 1) + "- mine"]
        ),
        "the tags after the note": "\n".join([text, note, tags]),
        "the text line gone": "\n".join([tags, note]),
    }
    for why, edited in changed.items():
        assert read_fields(edited, BOOK, HIGHLIGHT, style) is None, why


def test_ids_and_trailing_space_are_not_values() -> None:
    """Logseq's `id::`/`collapsed::` and Obsidian's `^id` are gone from a block as
    `PageIndex.norm` gives it: the block reads as if they were not there."""
    logseq = block_of(HIGHLIGHT, "logseq").split("\n")
    page = "\n".join(
        [
            "- New highlights added",
            logseq[0] + "  ",
            "\t  id:: 64a1b2c3-0000-4000-8000-000000000000",
            "\t  collapsed:: true",
            *logseq[1:],
        ]
    )
    index = PageIndex(page, STYLES["logseq"].page_format)
    block = next(b for b in index.blocks if b.depth == 1)
    assert read_fields(index.norm(block), BOOK, HIGHLIGHT, STYLES["logseq"]) == fields_of(HIGHLIGHT)
    obsidian = block_of(HIGHLIGHT, "obsidian").split("\n")
    page = "\n".join(
        ["## Highlights", obsidian[0] + " ^rw70", obsidian[1] + " ", obsidian[2] + " ^n0te"]
    )
    index = PageIndex(page, STYLES["obsidian"].page_format)
    block = next(b for b in index.blocks if b.depth == 0)
    assert read_fields(index.norm(block), BOOK, HIGHLIGHT, STYLES["obsidian"]) == fields_of(
        HIGHLIGHT
    )


def test_an_obsidian_heading_highlight_is_never_read() -> None:
    heading = replace(HIGHLIGHT, text="Chapter One", note=".h1", tags=("h1",))
    style = STYLES["obsidian"]
    assert read_fields("### Chapter One", BOOK, heading, style) is None
    # Nor does a tag typed `h1` make a block a heading.
    block = block_of(HIGHLIGHT, "obsidian").replace("[[a]]", "[[a]] [[h1]]")
    assert read_fields(block, BOOK, HIGHLIGHT, style) is None


def test_a_field_as_readwise_holds_it_reads_as_readwise_s_value() -> None:
    """What the renderer writes lossy (a paragraph break in Obsidian, a control character,
    CRLF) reads back as Readwise's own value while the block shows it so."""
    lossy = replace(HIGHLIGHT, text="one\r\n\r\ntwo\x07", note="n\x01")
    for fmt, style in STYLES.items():
        assert read_fields(block_of(lossy, fmt), BOOK, lossy, style) == fields_of(lossy)


def test_the_default_templates_give_every_field_back() -> None:
    for style in STYLES.values():
        assert pushable_fields(style) == dict.fromkeys(FIELDS)


def custom(fmt: str, highlight: str) -> Style:
    return Style(templates=Templates(fmt, {"highlight": highlight}), tz=timezone.utc)


@pytest.mark.parametrize(
    ("template", "reasons"),
    [
        (
            "- {{ highlight_text }}",
            {"note": "does not show highlight_note", "tags": "does not show highlight_tags"},
        ),
        (
            "- {{ highlight_text }}\n\t- {{ highlight_note }} {{ highlight_note }}",
            {"note": "more than once", "tags": "does not show"},
        ),
        (
            "- {{ highlight_text }}{{ highlight_note }}\n\t- tags: {{ highlight_tags|join(', ') }}",
            {"text": "right before highlight_note", "note": "right after highlight_text"},
        ),
        (
            "- {{ highlight_text|upper }}\n\t- {{ highlight_note }}",
            {"text": "as it is", "tags": ""},
        ),
        (
            "- {{ highlight_text }}\n\t- {% for t in highlight_tags %}{{ t }}{% endfor %}",
            {"note": "", "tags": "nothing but white space between two tags"},
        ),
        (
            "- {{ highlight_text }}\n{% for t in highlight_tags %}\t- {{ t }}\n{% endfor %}",
            {"note": "", "tags": "on one line"},
        ),
    ],
)
def test_custom_templates_say_which_fields_cannot_flow_back(
    template: str, reasons: dict[str, str]
) -> None:
    got = pushable_fields(custom("logseq", template))
    for name in FIELDS:
        if name in reasons:
            assert got[name] is not None and reasons[name] in got[name], (name, got)
            assert "\n" not in got[name]
        else:
            assert got[name] is None, (name, got)


def test_a_custom_template_s_fields_read_back() -> None:
    template = (
        "- {{ highlight_text }} — {{ highlight_location }}\n"
        "{% if highlight_note %}\t- comment: {{ highlight_note }}\n{% endif %}"
        "{% if highlight_tags %}\t- tags: {{ highlight_tags|join(', ') }}\n{% endif %}"
    )
    style = custom("logseq", template)
    assert pushable_fields(style) == dict.fromkeys(FIELDS)
    edited = replace(HIGHLIGHT, text="new\nlines", note="a comment", tags=("x y", "z"))
    block = block_of_style(edited, style)
    assert read_fields(block, BOOK, STALE, style) == fields_of(edited)
    assert read_fields(block + "\n\t- another line", BOOK, STALE, style) is None


def test_a_field_a_custom_template_does_not_show_keeps_readwise_s_value() -> None:
    style = custom("obsidian", "- {{ highlight_text }}")
    block = block_of_style(replace(HIGHLIGHT, text="edited"), style)
    assert read_fields(block, BOOK, HIGHLIGHT, style) == Fields(
        "edited", HIGHLIGHT.note, frozenset(HIGHLIGHT.tags)
    )


def block_of_style(highlight: Highlight, style: Style) -> str:
    rendered = render_highlights(BOOK, [highlight], style)[0]
    index = PageIndex(rendered, style.page_format)
    found = index.find(rendered)
    assert found is not None
    return index.norm(found)


def _corpus_cases() -> list[tuple[str, str, Book, dict[str, object]]]:
    """(format, page text, book, highlight record) of every highlight in the corpus."""
    cases = []
    for page in corpus_pages():
        for i in range(len(page.syncs)):
            record = page.export_record(i)
            book = parse_book(record)
            cases += [("logseq", page.text, book, h) for h in record["highlights"]]
    usable, _unusable, _logs = corpus_files()
    for file in usable:
        for sync in file.syncs:
            book = parse_book({**file.book, "highlights": list(sync.highlights)})
            cases += [("obsidian", file.text, book, h) for h in sync.highlights]
    return cases


@CORPUS
def test_every_corpus_highlight_reads_back_from_its_page() -> None:
    """Each highlight block Readwise wrote, found on its real page, reads as the highlight's
    values even while Readwise holds others (an edit is read from the page alone); Obsidian's
    heading highlights read as None (not pushable)."""
    read = headings = 0
    indexes: dict[tuple[str, str], PageIndex] = {}
    for fmt, text, book, record in _corpus_cases():
        style = STYLES[fmt]
        highlight = next(h for h in book.highlights if h.id == record["id"])
        rendered = render_highlights(book, [highlight], style)[0]
        if (fmt, text) not in indexes:
            indexes[fmt, text] = PageIndex(text, style.page_format)
        index = indexes[fmt, text]
        found = index.find(rendered)
        if found is None:
            continue  # a page the user or a later sync changed: not this test's business
        block = index.norm(found)
        stale = replace(highlight, text="stale", note="stale", tags=("stale",))
        got = read_fields(block, book, stale, style)
        if fmt == "obsidian" and block.startswith("#"):
            assert got is None
            headings += 1
            continue
        assert got is not None, block
        # The values read render as the page shows them, and are the highlight's own
        # wherever the renderer keeps them whole.
        again = replace(highlight, text=got.text, note=got.note)
        assert index.find(render_highlights(book, [again], style)[0])
        assert got.tags == frozenset(highlight.tags)
        if "\n\n" not in highlight.text and all(
            line == line.rstrip() for line in highlight.text.split("\n")
        ):
            assert got.text == highlight.text, block
        read += 1
    assert read > 500 and headings > 0


def test_a_logseq_page_indented_with_spaces_reads_the_same() -> None:
    """Logseq re-saves a page with two spaces a level: `PageIndex.norm` gives the block in
    tabs, and it reads as it did."""
    block = block_of(HIGHLIGHT, "logseq")
    page = "- New highlights added\n" + block.replace("\t", "  ")
    index = PageIndex(page, STYLES["logseq"].page_format)
    found = next(b for b in index.blocks if b.depth == 1)
    assert index.norm(found) == block
    assert read_fields(index.norm(found), BOOK, STALE, STYLES["logseq"]) == fields_of(HIGHLIGHT)


CUSTOM = {
    "logseq": custom(
        "logseq",
        "- {{ highlight_text }} — {{ highlight_location }}\n"
        "{% if highlight_tags %}\t- tags: {{ highlight_tags|join(' / ') }}\n{% endif %}"
        "{% if highlight_note %}\t- my note: {{ highlight_note }}\n{% endif %}",
    ),
    "obsidian": custom(
        "obsidian",
        "- {{ highlight_text }}{% if highlight_note %}\n    - Comment: {{ highlight_note }}"
        "{% endif %}{% if highlight_tags %}\n    - Topics: {% for t in highlight_tags %}"
        "#[[{{ t }}]], {% endfor %}{% endif %}",
    ),
}


@pytest.mark.parametrize("fmt", ["logseq", "obsidian"])
@settings(max_examples=100, deadline=None)
@given(text=_MULTILINE, note=st.one_of(st.just(""), _MULTILINE), tags=_TAGS)
def test_a_custom_template_s_blocks_read_back_as_themselves(
    fmt: str, text: str, note: str, tags: tuple[str, ...]
) -> None:
    style = CUSTOM[fmt]
    assert pushable_fields(style) == dict.fromkeys(FIELDS)
    edited = replace(HIGHLIGHT, text=text, note=note, tags=tags)
    got = read_fields(block_of_style(edited, style), BOOK, STALE, style)
    if fmt == "logseq" and any(" / " in tag or tag.endswith(" /") for tag in tags):
        return  # `a / b` may be one tag or two: the page cannot say (either reading renders so)
    assert got == values(text, note, tags)


@pytest.mark.parametrize(
    ("fmt", "name", "value", "lossy"),
    [
        ("obsidian", "text", "one\n\ntwo", True),  # a paragraph break: one line break
        ("obsidian", "note", "one\n\ntwo", True),
        ("logseq", "text", "one\n\ntwo", False),
        ("obsidian", "text", "one\ntwo", False),
        ("logseq", "text", "one\x07two", True),  # a control character: dropped
        ("obsidian", "note", "one\x07two", True),
        ("logseq", "note", "one\r\ntwo", True),  # a CR LF: a line break
        ("obsidian", "text", "one\r\ntwo", True),
        ("logseq", "text", "one\n\\- two", True),  # as the escape of `- two`
        ("logseq", "text", "one\n- two", False),
        ("obsidian", "text", "one\n- two", False),
        ("logseq", "tags", ("a\x07b",), True),
        ("obsidian", "tags", ("a\x07b",), True),
        ("logseq", "tags", ("a b", "c"), False),
    ],
)
def test_shown_lossy_tells_a_value_the_page_cannot_show_exactly(
    fmt: str, name: str, value: object, lossy: bool
) -> None:
    """issue 19, world seed 3387419952: an edit of such a field is never pushed."""
    h = replace(HIGHLIGHT, **{name: value})
    assert (name in shown_lossy(BOOK, h, STYLES[fmt])) is lossy
    assert shown_lossy(BOOK, HIGHLIGHT, STYLES[fmt]) == frozenset()
