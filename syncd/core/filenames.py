"""File names for pages: the name Logseq (or Readwise's Obsidian export) gives a page title.

`logseq_file_stem` follows Logseq's own ``file-name-sanity`` for the graph's ``:file/name-format``
so that syncd's page files are the files Logseq itself would write (Logseq's
``frontend.util.fs``, 0.10.x):

- ``:triple-lowbar`` (``tri-lb-file-name-sanity``): drop one leading and one trailing ``/`` and
  normalise to NFC; pre-encode the ``%`` of anything that looks like a percent escape (``%3A`` ->
  ``%253A``, a lone ``%`` stays); percent-encode runs of the reserved characters
  ``: * ? " < > | # \\`` as ``encodeURIComponent`` does (upper-case hex; ``*`` as ``%2A``);
  encode a leading ``.`` as ``%2E``; append a ``/`` to a body that is exactly a Windows device
  name (``CON``...) or ends with ``.``; then encode the ``_`` of ``___``, ``_/`` and ``/_`` as
  ``%5F`` and write every ``/`` as ``___``.
- ``:legacy`` (what Logseq uses when ``config.edn`` has no ``:file/name-format``,
  ``legacy-url-file-name-sanity``): the same slash trim and NFC; percent-encode runs of
  ``\\ # | %`` and then of ``: * ? " < > |``; ``/`` becomes ``%2F``; ``.`` is left alone.

Then, beyond Logseq, the stem is made safe to write inside the vault folder whatever the title
(README "Choices syncd makes"). These steps leave every name Logseq's rules already make safe
unchanged:

- ``/``, ``\\``, NUL and other control characters, and lone surrogates are percent-encoded
  (their UTF-8 bytes, upper-case hex), so Logseq reads the title back;
- an empty stem becomes ``Untitled``; a leading ``.`` becomes ``%2E`` (so never ``.``/``..``);
- a Windows device name (``CON PRN AUX NUL COM1-9 LPT1-9``, also with superscript digits,
  ``CONIN$``, ``CONOUT$``; any case; also before an extension, ``con.txt``) gets its first
  letter percent-encoded (``con.txt`` -> ``%63on.txt``), which Logseq decodes back;
- a stem whose ``.md`` file name would pass 255 bytes of UTF-8 is cut at a character boundary
  (never inside a percent escape, a combining sequence or a ``___``) and ends with ``~`` and the
  first 8 hex digits of the SHA-256 of the (NFC) title, so two long titles that share a prefix
  stay apart.

`obsidian_file_stem` gives the name of a book's file in Readwise's Obsidian export, as the files
it wrote show it (real files, README "What the pages look like"): ``: ? | " / * < >`` and control
characters dropped without anything in their place (``OpenSea: The Reasonable Revolutionary |
the Generalist`` -> ``OpenSea The Reasonable Revolutionary the Generalist``), a no-break space as
a space, runs of spaces as one (Readwise since early 2025; before, the double space stayed), cut
to 250 characters; ``# [ ] ' & ,`` and emoji kept. syncd also drops ``\\``, line and paragraph
separators and lone surrogates, normalises to NFC, trims surrounding white space and leading dots
(Obsidian hides dot files), falls back to ``Untitled``, adds ``_`` after a Windows device name
(``CON`` -> ``CON_``, ``con.txt`` -> ``con_.txt``) and applies the same 255-byte rule.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from urllib.parse import quote

__all__ = [
    "EXTENSION",
    "MAX_FILE_NAME_BYTES",
    "NAME_FORMATS",
    "logseq_file_stem",
    "logseq_leaves_controls",
    "obsidian_file_stem",
    "obsidian_file_stems",
]

EXTENSION = ".md"
MAX_FILE_NAME_BYTES = 255
NAME_FORMATS: tuple[str, ...] = ("triple-lowbar", "legacy")
UNTITLED = "Untitled"

# --------------------------------------------------------------------------- Logseq's rules

# Logseq's `multiplatform-reserved-chars`: Windows' reserved characters, `#` and `\`.
_TRI_LB_RESERVED = re.compile(r'[:*?"<>|#\\]+')
_URL_ENCODED = re.compile(r"%[0-9a-fA-F]{2}")
# The two character classes of Logseq's legacy rule (the second also holds `\`, as Logseq's
# double-escaped regex does; the first has already encoded it).
_LEGACY_ANDROID = re.compile(r"[\\#|%]+")
_LEGACY_WINDOWS = re.compile(r'[:\\*?"<>|]+')
# The bodies Logseq itself escapes: exact, case-sensitive matches only.
_LOGSEQ_WINDOWS_BODIES = frozenset(
    ["CON", "PRN", "AUX", "NUL"]
    + [f"COM{n}" for n in range(1, 10)]
    + [f"LPT{n}" for n in range(1, 10)]
)


def _encode_uri_component(text: str) -> str:
    """JavaScript's ``encodeURIComponent``, then ``*`` as ``%2A`` as Logseq does."""
    return quote(text, safe="!~'()*").replace("*", "%2A")


def _page_name_sanity(title: str) -> str:
    """Logseq's ``page-name-sanity``: drop one leading and one trailing ``/``, then NFC."""
    if title.startswith("/"):
        title = title[1:]
    if title.endswith("/"):
        title = title[:-1]
    return unicodedata.normalize("NFC", title)


def _triple_lowbar(title: str) -> str:
    """Logseq's ``tri-lb-file-name-sanity`` (``:file/name-format :triple-lowbar``)."""
    body = _page_name_sanity(title)
    body = _URL_ENCODED.sub(lambda m: m.group(0).replace("%", "%25"), body)
    body = _TRI_LB_RESERVED.sub(lambda m: _encode_uri_component(m.group(0)), body)
    if body.startswith("."):
        body = "%2E" + body[1:]
    if body in _LOGSEQ_WINDOWS_BODIES or body.endswith("."):
        body += "/"  # becomes "___" below: Logseq's own escape, which it parses back away
    body = body.replace("___", "%5F%5F%5F").replace("_/", "%5F/").replace("/_", "/%5F")
    return body.replace("/", "___")


def _legacy(title: str) -> str:
    """Logseq's ``legacy-url-file-name-sanity`` (no ``:file/name-format`` in config.edn)."""
    body = _page_name_sanity(title)
    body = _LEGACY_ANDROID.sub(lambda m: _encode_uri_component(m.group(0)), body)
    body = _LEGACY_WINDOWS.sub(lambda m: _encode_uri_component(m.group(0)), body)
    return body.replace("/", "%2F").replace("*", "%2A")


# --------------------------------------------------------------------------- safety

# Windows device names; a name is one if the part before its first dot, without trailing
# spaces, is one of these in any case.
_DEVICE_NAMES = frozenset(
    ["CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"]
    + [f"{port}{digit}" for port in ("COM", "LPT") for digit in "123456789¹²³"]
)


def _is_device_name(stem: str) -> bool:
    return stem.split(".", 1)[0].rstrip(" ").upper() in _DEVICE_NAMES


# Characters that must not be in a file name as they are: path separators, control characters
# (Unicode category Cc, NUL included) and lone surrogates (Cs).
_UNSAFE_CHAR = re.compile(r"[/\\\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_UNSAFE_BUT_CONTROLS = re.compile(r"[/\\\x00\ud800-\udfff]")
# What `as_logseq` leaves in a name (see `logseq_file_stem`): a title without any has one name.
_LEFT_CONTROLS = re.compile(r"[\x01-\x1f\x7f-\x9f]")


def _percent_encode(char: str) -> str:
    return "".join(f"%{byte:02X}" for byte in char.encode("utf-8", "surrogatepass"))


def _title_hash(title: str) -> str:
    normal = unicodedata.normalize("NFC", title)
    return hashlib.sha256(normal.encode("utf-8", "surrogatepass")).hexdigest()[:8]


def _is_combining(char: str) -> bool:
    """True for a character that belongs to the character before it when cutting a name:
    combining marks, variation selectors, zero-width joiners, emoji skin tones and tags."""
    code = ord(char)
    return (
        unicodedata.category(char).startswith("M")
        or char == "\u200d"
        or 0x1F3FB <= code <= 0x1F3FF
        or 0xE0020 <= code <= 0xE007F
    )


def _units(stem: str) -> list[str]:
    """Split a stem into the pieces a cut may fall between: a ``___``, a percent escape (with the
    escapes that continue its UTF-8 character), or a character with what combines with it."""
    units: list[str] = []
    i = 0
    while i < len(stem):
        if stem.startswith("___", i):
            j = i + 3
        elif _URL_ENCODED.match(stem, i):
            j = i + 3
            if int(stem[i + 1 : i + 3], 16) >= 0xC0:  # the lead byte of a multi-byte character
                while _URL_ENCODED.match(stem, j) and 0x80 <= int(stem[j + 1 : j + 3], 16) <= 0xBF:
                    j += 3
        else:
            j = i + 1
            if (
                0x1F1E6 <= ord(stem[i]) <= 0x1F1FF
                and j < len(stem)
                and 0x1F1E6 <= ord(stem[j]) <= 0x1F1FF
            ):
                j += 1  # a pair of regional indicators is one flag
            while j < len(stem) and (_is_combining(stem[j]) or stem[j - 1] == "\u200d"):
                j += 1
        units.append(stem[i:j])
        i = j
    return units


def _fit(stem: str, title: str) -> str:
    """Given a safe stem and its title, return the stem cut so that ``stem + ".md"`` fits in 255
    bytes of UTF-8, ending with ``~`` and a hash of the title when it had to be cut."""
    limit = MAX_FILE_NAME_BYTES - len(EXTENSION.encode("utf-8"))
    if len(stem.encode("utf-8")) <= limit:
        return stem
    suffix = "~" + _title_hash(title)
    budget = limit - len(suffix)
    kept: list[str] = []
    used = 0
    for unit in _units(stem):
        size = len(unit.encode("utf-8"))
        if used + size <= budget:
            kept.append(unit)
            used += size
            continue
        if size > budget:
            # A combining sequence longer than any name: keep what fits, code point by code
            # point (percent escapes and "___" are never this long).
            for char in unit:
                size = len(char.encode("utf-8"))
                if used + size > budget:
                    break
                kept.append(char)
                used += size
        break
    return "".join(kept) + suffix


def _make_logseq_safe(stem: str, title: str, *, controls: bool = False) -> str:
    """Given a stem from Logseq's rules, return it safe as a single file name in the vault
    (`controls`: with control characters but NUL left as they are, as Logseq leaves them)."""
    unsafe = _UNSAFE_BUT_CONTROLS if controls else _UNSAFE_CHAR
    stem = unsafe.sub(lambda m: _percent_encode(m.group()), stem)
    if not stem:
        stem = UNTITLED
    if stem.startswith("."):
        stem = "%2E" + stem[1:]
    if _is_device_name(stem):
        stem = _percent_encode(stem[0]) + stem[1:]
    return _fit(stem, title)


def logseq_file_stem(page_title: str, name_format: str, *, as_logseq: bool = False) -> str:
    """Given a page title and a graph's ``:file/name-format`` (``"triple-lowbar"`` or
    ``"legacy"``), return the file name without ``.md`` that Logseq gives that page, made safe
    as a single file name in the pages folder (see the module docstring). `as_logseq`: with
    control characters left in it, as Logseq itself (and so the official plugin) names the
    file; syncd looks for a page to adopt there, and names its own pages without them.

    Raise ValueError for any other name format.
    """
    if name_format == "triple-lowbar":
        stem = _triple_lowbar(page_title)
    elif name_format == "legacy":
        stem = _legacy(page_title)
    else:
        raise ValueError(
            f"unknown Logseq file name format {name_format!r}; "
            f"expected one of {', '.join(NAME_FORMATS)}"
        )
    return _make_logseq_safe(stem, page_title, controls=as_logseq)


def logseq_leaves_controls(page_title: str) -> bool:
    """Whether `logseq_file_stem(page_title, ..., as_logseq=True)` differs from the stem syncd
    gives the page: only for a title with a control character (but NUL) in it."""
    return _LEFT_CONTROLS.search(page_title) is not None


# --------------------------------------------------------------------------- Obsidian

_OBSIDIAN_DROPPED = re.compile(r'[:?|"/*<>\\]')
_SPACES = re.compile(r" {2,}")
_LEADING_DOTS_AND_SPACE = re.compile(r"^[\s.]+")
OBSIDIAN_MAX_CHARS = 250


def obsidian_file_stem(title: str, *, collapse_spaces: bool = True) -> str:
    """Given a book title, return the file name without ``.md`` that Readwise's Obsidian export
    gives the book: ``: ? | " / * < >`` (and ``\\``), control characters, line and paragraph
    separators and lone surrogates dropped without replacement; no-break spaces as spaces; runs
    of spaces as one (Readwise since 2025; `collapse_spaces=False` keeps them, as it did before);
    cut to 250 characters. Beyond Readwise, for safety: no surrounding white space or leading
    dots, ``Untitled`` if nothing is left, ``_`` after a Windows device name, at most 255 bytes
    with ``.md`` (see the module docstring).
    """
    stem = _obsidian_kept(title)
    if collapse_spaces:
        stem = _SPACES.sub(" ", stem)
    return _obsidian_finished(stem, title)


def obsidian_file_stems(title: str) -> tuple[str, str]:
    """`obsidian_file_stem` of `title` with runs of spaces collapsed and as before 2025 (kept),
    computed together: the same stem twice when the title has no run of spaces to collapse."""
    kept = _obsidian_kept(title)
    older = _obsidian_finished(kept, title)
    if "  " not in kept:
        return older, older
    return _obsidian_finished(_SPACES.sub(" ", kept), title), older


def _obsidian_kept(title: str) -> str:
    """The title with what Readwise's export drops dropped, no-break spaces as spaces."""
    if title.isascii():  # most titles: NFC already, and the control characters are all it has
        stem = _OBSIDIAN_DROPPED.sub("", title)  # of the categories dropped below
        return stem if stem.isprintable() else "".join(c for c in stem if c.isprintable())
    stem = _OBSIDIAN_DROPPED.sub("", unicodedata.normalize("NFC", title))
    stem = "".join(c for c in stem if unicodedata.category(c) not in ("Cc", "Cs", "Zl", "Zp"))
    return stem.replace("\u00a0", " ")


def _obsidian_finished(stem: str, title: str) -> str:
    """A stem from `_obsidian_kept` (runs of spaces collapsed or not) cut, trimmed and made safe."""
    # Again: a mark that followed a dropped character may now compose with the one before it.
    if not stem.isascii():
        stem = unicodedata.normalize("NFC", stem)
    stem = stem[:OBSIDIAN_MAX_CHARS]
    stem = _LEADING_DOTS_AND_SPACE.sub("", stem).rstrip()
    if not stem:
        stem = UNTITLED
    if _is_device_name(stem):
        base = stem.split(".", 1)[0].rstrip(" ")
        stem = base + "_" + stem[len(base) :]
    return _fit(stem, title)
