"""Tests for syncd.core.filenames: Logseq's and Readwise's Obsidian file names, in the vault."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from syncd.core.filenames import (
    logseq_file_stem,
    logseq_leaves_controls,
    obsidian_file_stem,
    obsidian_file_stems,
)
from tests.support.corpus import CORPUS, CORPUS_PAGES

DEVICE_NAMES = {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"} | {
    f"{port}{digit}" for port in ("COM", "LPT") for digit in "123456789¹²³"
}

STEMMERS: dict[str, Callable[[str], str]] = {
    "triple-lowbar": lambda title: logseq_file_stem(title, "triple-lowbar"),
    "legacy": lambda title: logseq_file_stem(title, "legacy"),
}

HOSTILE_TITLES = [
    "../../etc/passwd",
    "/abs/path",
    "CON",
    "con",
    "con.txt",
    "nul .md",
    "COM1",
    "LPT9.tar.gz",
    ".hidden",
    ".",
    "..",
    "...",
    "",
    "/",
    "//",
    "a/b/c",
    "a\\b\\..\\..\\c",
    "\x00",
    "nul\x00byte",
    "line\nbreak\rreturn\ttab\x1b[31m\x7f\x85",
    "x" * 400,
    "é" * 300,
    "Ω" * 130 + "😀" * 40,
    "👩\u200d💻" * 60,
    "q\u0301" * 200,
    ":" * 400,
    "😀 emoji title 🎉",
    "שלום עולם (highlights)",
    "\u202eevil\u202c.md",
    "\ud800 lone surrogate",
    "~",
    " . ",
]


def assert_single_component(stem: str, vault: Path) -> None:
    """The stem + ".md" is one file name directly inside the vault, on any platform."""
    name = stem + ".md"
    assert stem
    assert stem not in (".", "..")
    assert not stem.startswith(".")
    assert "/" not in name
    assert "\\" not in name
    assert "\x00" not in name
    assert not any(unicodedata.category(char) in ("Cc", "Cs") for char in name)
    assert len(name.encode("utf-8")) <= 255
    assert stem.split(".", 1)[0].rstrip(" ").upper() not in DEVICE_NAMES
    assert Path(vault, name).resolve().parent == vault.resolve()
    assert Path(name).name == name


# --------------------------------------------------------------------------- corpus


@CORPUS
def test_corpus_file_names_are_reproduced() -> None:
    """Every real page's file name is what Logseq's :triple-lowbar rule gives its title."""
    checked = 0
    mismatches = []
    for path in sorted(CORPUS_PAGES.glob("*.md")):
        first_line = path.read_bytes().decode("utf-8").split("\n", 1)[0]
        if not first_line.startswith("title:: "):
            continue  # the sync log page, Readwise.md, has no title property
        title = first_line[len("title:: ") :]
        checked += 1
        if logseq_file_stem(title, "triple-lowbar") + ".md" != path.name:
            mismatches.append((title, path.name))
    assert checked == 192
    assert mismatches == []


def test_sync_log_page_name() -> None:
    assert logseq_file_stem("Readwise", "triple-lowbar") == "Readwise"
    assert logseq_file_stem("Readwise", "legacy") == "Readwise"


# --------------------------------------------------------------------------- Logseq's rules


@pytest.mark.parametrize(
    ("title", "stem"),
    [
        ("Plain title (highlights)", "Plain title (highlights)"),
        ("a/b/c", "a___b___c"),
        ("Tiago Forte // Building", "Tiago Forte ______ Building"),
        ("/leading and trailing/", "leading and trailing"),
        ("//two", "___two"),
        ("a___b", "a%5F%5F%5Fb"),
        ("a____b", "a%5F%5F%5F_b"),
        ("a_/b", "a%5F___b"),
        ("a/_b", "a___%5Fb"),
        ("snake_case", "snake_case"),
        ("Ask HN: Why?", "Ask HN%3A Why%3F"),
        ('"Quoted" <tag> a|b', "%22Quoted%22 %3Ctag%3E a%7Cb"),
        ("a*b", "a%2Ab"),
        ("C# #1", "C%23 %231"),
        ("back\\slash", "back%5Cslash"),
        ("?:*", "%3F%3A%2A"),
        ("10% Happier", "10% Happier"),
        ("100%3A", "100%253A"),
        ("%e9t%C3%A9", "%25e9t%25C3%25A9"),
        ("100%zz", "100%zz"),
        (".NET", "%2ENET"),
        (".", "%2E"),
        ("CON", "CON___"),
        ("LPT1", "LPT1___"),
        ("Dr.", "Dr.___"),
        ("Measure Twice, Cut Once...", "Measure Twice, Cut Once...___"),
        ("Caf\u0065\u0301", "Caf\u00e9"),  # NFC
        ("a.b.c", "a.b.c"),
    ],
)
def test_triple_lowbar_rules(title: str, stem: str) -> None:
    assert logseq_file_stem(title, "triple-lowbar") == stem


@pytest.mark.parametrize(
    ("title", "stem"),
    [
        ("Plain title", "Plain title"),
        ("a/b/c", "a%2Fb%2Fc"),
        ("/leading/", "leading"),
        ("a.b.c", "a.b.c"),
        ("a___b", "a___b"),
        ("Ask HN: Why?", "Ask HN%3A Why%3F"),
        ("10% off", "10%25 off"),
        ("100%3A", "100%253A"),
        ("C# a|b", "C%23 a%7Cb"),
        ("a*b", "a%2Ab"),
        ("back\\slash", "back%5Cslash"),
        ('"x" <y>', "%22x%22 %3Cy%3E"),
        ("Caf\u0065\u0301", "Caf\u00e9"),
        ("Dr.", "Dr."),
    ],
)
def test_legacy_rules(title: str, stem: str) -> None:
    assert logseq_file_stem(title, "legacy") == stem


@pytest.mark.parametrize("name_format", ["file", ":triple-lowbar", "triple_lowbar", ""])
def test_unknown_name_format_raises(name_format: str) -> None:
    with pytest.raises(ValueError, match="file name format"):
        logseq_file_stem("title", name_format)


# --------------------------------------------------------------------------- beyond Logseq


@pytest.mark.parametrize(
    ("title", "name_format", "stem"),
    [
        ("../../etc/passwd", "triple-lowbar", "%2E.___..___etc___passwd"),
        ("../../etc/passwd", "legacy", "%2E.%2F..%2Fetc%2Fpasswd"),
        ("/abs/path", "triple-lowbar", "abs___path"),
        ("/abs/path", "legacy", "abs%2Fpath"),
        (".hidden", "legacy", "%2Ehidden"),
        ("..", "triple-lowbar", "%2E.___"),
        ("..", "legacy", "%2E."),
        ("", "triple-lowbar", "Untitled"),
        ("/", "legacy", "Untitled"),
        ("con", "triple-lowbar", "%63on"),
        ("con.txt", "triple-lowbar", "%63on.txt"),
        ("CON.", "triple-lowbar", "%43ON.___"),
        ("CON", "legacy", "%43ON"),
        ("Aux .md", "legacy", "%41ux .md"),
        ("COM10", "triple-lowbar", "COM10"),
        ("CONSOLE", "triple-lowbar", "CONSOLE"),
        ("a\x00b\nc\x7f", "triple-lowbar", "a%00b%0Ac%7F"),
        ("tab\there", "legacy", "tab%09here"),
        ("\ud800", "triple-lowbar", "%ED%A0%80"),
        ("😀 ok", "triple-lowbar", "😀 ok"),
        ("שלום עולם", "triple-lowbar", "שלום עולם"),
    ],
)
def test_logseq_safety(title: str, name_format: str, stem: str) -> None:
    assert logseq_file_stem(title, name_format) == stem


@pytest.mark.parametrize("title", HOSTILE_TITLES)
@pytest.mark.parametrize("kind", list(STEMMERS))
def test_hostile_titles_stay_in_the_vault(title: str, kind: str, tmp_path: Path) -> None:
    stem = STEMMERS[kind](title)
    assert_single_component(stem, tmp_path)
    # Writing it really creates one file directly in the vault.
    (tmp_path / (stem + ".md")).write_text("x", encoding="utf-8")
    assert [p.name for p in tmp_path.iterdir()] == [stem + ".md"]


@pytest.mark.parametrize("kind", list(STEMMERS))
def test_long_titles_are_cut_with_a_hash(kind: str) -> None:
    stem_of = STEMMERS[kind]
    common = "A long shared beginning " * 12  # 288 bytes
    first, second = stem_of(common + "first ending"), stem_of(common + "second ending")
    assert first != second
    for stem in (first, second):
        assert len((stem + ".md").encode("utf-8")) <= 255
        assert re.search(r"~[0-9a-f]{8}$", stem)
        assert common.startswith(stem[:-9])
        assert len(stem[:-9].encode("utf-8")) > 200  # it keeps as much as fits
    assert stem_of(common + "first ending") == first  # deterministic


@pytest.mark.parametrize("kind", list(STEMMERS))
def test_names_that_fit_are_not_cut(kind: str) -> None:
    fits = "x" * 252  # 252 + len(".md") == 255
    assert STEMMERS[kind](fits) == fits
    cut = STEMMERS[kind]("x" * 253)
    assert re.fullmatch(r"x+~[0-9a-f]{8}", cut)
    assert len((cut + ".md").encode("utf-8")) <= 255


@pytest.mark.parametrize("name_format", ["triple-lowbar", "legacy"])
def test_cut_never_splits_a_percent_escape(name_format: str) -> None:
    stem = logseq_file_stem("?" * 400, name_format)
    assert re.fullmatch(r"(%3F)+~[0-9a-f]{8}", stem)
    stem = logseq_file_stem("a" + "\x01" * 400, name_format)
    assert re.fullmatch(r"a(%01)+~[0-9a-f]{8}", stem)


@pytest.mark.parametrize("kind", list(STEMMERS))
@pytest.mark.parametrize("unit", ["é", "😀", "👩\u200d💻", "q\u0301", "🇩🇪", "👍🏽"])
def test_cut_never_splits_a_character(kind: str, unit: str) -> None:
    stem = STEMMERS[kind](unit * 200)
    prefix, _, digest = stem.rpartition("~")
    assert re.fullmatch(r"[0-9a-f]{8}", digest)
    assert prefix and prefix == unit * (len(prefix) // len(unit))
    assert len((stem + ".md").encode("utf-8")) <= 255


def test_cut_of_a_huge_combining_sequence_keeps_code_points() -> None:
    for stem in (
        obsidian_file_stem("q" + "\u0301" * 400),
        logseq_file_stem("q" + "\u0301" * 400, "triple-lowbar"),
    ):
        prefix, _, digest = stem.rpartition("~")
        assert re.fullmatch(r"q\u0301+", prefix)
        assert re.fullmatch(r"[0-9a-f]{8}", digest)
        assert len((stem + ".md").encode("utf-8")) <= 255


def test_cut_never_splits_a_namespace_separator() -> None:
    stem = logseq_file_stem("/".join(["ab"] * 200), "triple-lowbar")
    prefix = stem.rpartition("~")[0]
    assert re.fullmatch(r"ab(___ab)*(___)?", prefix)


# --------------------------------------------------------------------------- Obsidian


@pytest.mark.parametrize(
    ("title", "stem"),
    [
        ("Plain Title", "Plain Title"),
        (
            "OpenSea: The Reasonable Revolutionary | the Generalist",
            "OpenSea The Reasonable Revolutionary the Generalist",
        ),
        ("Book Notes: Unlearn: Let Go", "Book Notes Unlearn Let Go"),
        (
            "What Is Intelligence? || the Human Potential Lab",
            "What Is Intelligence the Human Potential Lab",
        ),
        ("https://github.com/kiber-io - GitHub", "httpsgithub.comkiber-io - GitHub"),
        ('a*"\\/<>:|?#^[]b', "a#^[]b"),
        ("[[Wiki]] #tag ^block", "[[Wiki]] #tag ^block"),  # kept, as Readwise keeps them
        ("Nègres Blancs D&#39;Amérique", "Nègres Blancs D&#39;Amérique"),
        ("Malloc.", "Malloc."),
        ("a\u00a0\u00a0b   c", "a b c"),
        ("???", "Untitled"),
        ("Measure Twice, Cut Once...", "Measure Twice, Cut Once..."),
        (".hidden", "hidden"),
        ("... and more", "and more"),
        ("  padded  ", "padded"),
        ("", "Untitled"),
        ("...", "Untitled"),
        ("///", "Untitled"),
        ("\x00\x01", "Untitled"),
        ("CON", "CON_"),
        ("con.txt", "con_.txt"),
        ("Nul .x", "Nul_ .x"),
        ("LPT1", "LPT1_"),
        ("COM10", "COM10"),
        ("a\x00b\tc\nd\u2028e", "abcde"),
        ("Caf\u0065\u0301", "Caf\u00e9"),
        ("e:\u0301", "\u00e9"),  # the mark composes once the colon is gone
        ("<\u0338", "\u226e"),  # an allowed character whose parts hold a dropped one is kept
        ("😀 Emoji 🎉", "😀 Emoji 🎉"),
        ("ChatGPT’s Alter Ego", "ChatGPT’s Alter Ego"),
    ],
)
def test_obsidian_names(title: str, stem: str) -> None:
    assert obsidian_file_stem(title) == stem


def test_obsidian_names_before_2025_keep_double_spaces() -> None:
    """issue 11, item 1: Readwise's names before 2025 (`UX  UX Booth.md`)."""
    title = "Getting Started With Statistics for UX | UX Booth"
    assert (
        obsidian_file_stem(title, collapse_spaces=False)
        == "Getting Started With Statistics for UX  UX Booth"
    )
    assert obsidian_file_stem(title) == "Getting Started With Statistics for UX UX Booth"


def test_obsidian_names_are_cut_at_250_characters_and_255_bytes() -> None:
    """Readwise cuts at 250 characters; a name that is still over 255 bytes is cut further,
    with a hash, so that it can be written."""
    assert obsidian_file_stem("x" * 1000) == "x" * 250
    long = obsidian_file_stem("é" * 1000)
    assert len((long + ".md").encode("utf-8")) <= 255 and re.search(r"~[0-9a-f]{8}$", long)


# --------------------------------------------------------------------------- properties

HOSTILE_PIECES = st.sampled_from(
    [
        "/",
        "\\",
        ".",
        "..",
        "\x00",
        "\n",
        "\x1f",
        "CON",
        "con",
        "NUL",
        "LPT1",
        "_",
        "___",
        "%",
        "%3A",
        "%e9",
        ":",
        "*",
        "?",
        '"',
        "<",
        ">",
        "|",
        "#",
        "^",
        "[",
        "]",
        " ",
        "😀",
        "é",
        "e",
        "\u0301",
        "\u200d",
        "\u202e",
        "שלום",
        "x" * 60,
        "ü" * 40,
        "\ud800",
    ]
)
TITLES = st.one_of(
    st.text(),
    st.text(st.characters(exclude_categories=()), max_size=300),  # surrogates too
    st.lists(HOSTILE_PIECES, max_size=40).map("".join),
)


@pytest.fixture(scope="module")
def vault(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("vault")


@settings(max_examples=300, deadline=None)
@given(title=TITLES)
def test_every_title_gives_one_file_in_the_vault(title: str, vault: Path) -> None:
    for stem_of in STEMMERS.values():
        assert_single_component(stem_of(title), vault)


@settings(max_examples=200, deadline=None)
@given(title=TITLES)
def test_obsidian_names_are_stable(title: str) -> None:
    stem = obsidian_file_stem(title)
    assert obsidian_file_stem(stem) == stem
    assert not re.search(r'[*"\\/<>:|?]', stem)


@settings(max_examples=300, deadline=None)
@given(title=TITLES, name_format=st.sampled_from(["triple-lowbar", "legacy"]))
def test_logseq_names_a_file_as_syncd_does_unless_the_title_has_control_characters(
    title: str, name_format: str
) -> None:
    """The naming of a new page looks for Logseq's own file only where it differs (issue 20)."""
    differs = logseq_file_stem(title, name_format, as_logseq=True) != logseq_file_stem(
        title, name_format
    )
    assert logseq_leaves_controls(title) or not differs  # (a long title's cut may hide them)
    if not any(0x01 <= ord(c) <= 0x1F or 0x7F <= ord(c) <= 0x9F for c in title):
        assert not logseq_leaves_controls(title)


@settings(max_examples=300, deadline=None)
@given(
    title=st.one_of(TITLES, st.lists(st.sampled_from([" ", "\u00a0", ":", "a", "."])).map("".join))
)
def test_obsidian_stems_made_together_are_the_stems_made_apart(title: str) -> None:
    """The naming of a new book makes both stems at once (issue 20)."""
    assert obsidian_file_stems(title) == (
        obsidian_file_stem(title),
        obsidian_file_stem(title, collapse_spaces=False),
    )


@settings(max_examples=200, deadline=None)
@given(title=st.text(st.characters(categories=["L", "N", "Zs"]), min_size=1, max_size=60))
def test_plain_titles_keep_their_name(title: str) -> None:
    """A title of letters, digits and spaces is its own file name (NFC) in every format."""
    normal = unicodedata.normalize("NFC", title)
    if normal.split(".", 1)[0].rstrip(" ").upper() in DEVICE_NAMES:
        return
    assert logseq_file_stem(title, "triple-lowbar") == normal
    assert logseq_file_stem(title, "legacy") == normal
    spaced = re.sub(" {2,}", " ", normal.replace("\u00a0", " "))
    if spaced == spaced.strip():
        assert obsidian_file_stem(title) == spaced
