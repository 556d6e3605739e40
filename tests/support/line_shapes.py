"""The shape of each line of a page Readwise's export writes: the line with its content masked.

The owned fixtures (tests/golden/fixtures) are checked against the real corpus by shape: every
line shape the fixtures' expected pages hold must occur in the corpus, and every shape the
corpus holds must occur in the fixtures (or be listed as not covered, with why). A shape keeps
what the format decides (indentation, markers, property names, the location link's kind, the
category, the date's and time's form, singular or plural) and masks what the user's data
decides (titles, highlight text, notes, tag names, URLs, numbers):

    "\\t- Simplify. ([Location\\xa0982](https://readwise.io/to_kindle?action=open&asin=B1&location=982))"
    -> "\\t- … ([Location\\xa09](https://readwise.io/to_kindle?action=open&asin=…&location=9))"

`logseq_shapes(text)` and `obsidian_shapes(text)` return one shape per line; the sync log pages
(`Readwise.md`, `Readwise Syncs.md`) have their own (`logseq_sync_log_shapes`,
`obsidian_sync_log_shapes`). Pure functions over text.
"""

from __future__ import annotations

import re

TEXT = "…"
URL = "<url>"

_MONTH = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?"
    r"|Sep(?:tember)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)"
)


def skeleton(text: str) -> str:
    """Month names to `Mon` (Logseq's `Nov 19th`) or `Month` (Obsidian's `November 19,`), every
    run of digits to `9`."""
    text = re.sub(rf"\b{_MONTH} (?=\d+(?:st|nd|rd|th)\b)", "Mon ", text)
    text = re.sub(rf"\b{_MONTH} (?=\d+,)", "Month ", text)
    return re.sub(r"\d+", "9", text)


def _text(value: str) -> str:
    """A piece of user text: empty, or masked (keeping a leading `\\-` escape and trailing
    spaces, which the format decides)."""
    if value == "":
        return ""
    lead = "\\-" if value.startswith("\\-") else ""
    trail = " " if value.endswith(" ") else ""
    return f"{lead}{TEXT}{trail}"


_LOGSEQ_LOCATION = re.compile(
    r"(?P<text>.*) \(\[(?P<label>View Highlight|View Tweet|Time\xa0\d+:\d\d:\d\d"
    r"|Location\xa0\d+|Page\xa0\d+)\]\((?P<url>\S+)\)\)"
)
_KINDLE = re.compile(r"https://readwise\.io/to_kindle\?action=open&asin=\w+&location=\d+")


def _logseq_location(line: str) -> str:
    """A highlight text line: its text masked, its location link by kind."""
    match = _LOGSEQ_LOCATION.fullmatch(line)
    if match is None:
        return _text(line)
    url = match["url"]
    if _KINDLE.fullmatch(url):
        url = "https://readwise.io/to_kindle?action=open&asin=…&location=9"
    else:
        url = URL
    return f"{_text(match['text'])} ([{skeleton(match['label'])}]({url}))"


def _logseq_tags(value: str, marker: str) -> str:
    names = re.findall(re.escape(marker) + r"\[\[(.*?)\]\]", value)
    if not names or " ".join(f"{marker}[[{n}]]" for n in names) != value:
        return _text(value)
    return " ".join([f"{marker}[[{TEXT}]]"] * min(len(names), 2))


def logseq_shapes(text: str) -> list[str]:
    """The shape of each line of a Logseq page Readwise's export wrote (see the module doc)."""
    shapes = []
    for line in text.split("\n"):
        name, separator, value = line.partition(":: ")
        if separator and re.fullmatch(r"[a-z_-]+", name):
            if name == "title" and value.endswith(" (highlights)"):
                shape = f"{TEXT} (highlights)"
            elif name == "author" and re.fullmatch(r"\[\[.*\]\]", value):
                shape = f"[[{_text(value[2:-2])}]]"
            elif name == "full-title" and re.fullmatch(r'".*"', value):
                shape = f'"{TEXT}"'
            elif name == "category":
                shape = value
            elif name == "url":
                shape = URL
            elif name == "tags":
                shape = _logseq_tags(value, "#")
            else:
                shape = _text(value)
            shapes.append(f"{name}:: {shape}")
        elif line.startswith("- "):
            shapes.append(skeleton(line))
        elif line.startswith("\t- "):
            shapes.append("\t- " + _logseq_location(line[3:]))
        elif line.startswith("\t\t- **Tags**: "):
            shapes.append("\t\t- **Tags**: " + _logseq_tags(line[14:], "#"))
        elif line.startswith("\t\t- **Note**: "):
            shapes.append("\t\t- **Note**: " + _text(line[14:]))
        elif line.startswith("\t\t  "):
            shapes.append("\t\t  " + _text(line[4:]))
        elif line.startswith("\t  "):
            shapes.append("\t  " + _logseq_location(line[3:]))
        else:
            shapes.append(_text(line))
    return shapes


def logseq_sync_log_shapes(text: str) -> list[str]:
    """The shape of each line of the Logseq sync log page (`Readwise.md`)."""
    return [skeleton(line) for line in text.split("\n")]


_OBSIDIAN_LOCATION = re.compile(
    r"(?P<text>.*?) \((?:\[(?P<label>[^\]]*)\]\((?P<url>\S+)\)|(?P<plain>(?:Location|Page)\xa0"
    r"\d+))\)"
)


def _obsidian_location(line: str) -> str:
    match = _OBSIDIAN_LOCATION.fullmatch(line)
    if match is None:
        return _text(line)
    if match["plain"]:
        return f"{_text(match['text'])} ({skeleton(match['plain'])})"
    url = match["url"]
    url = (
        "https://readwise.io/to_kindle?action=open&asin=…&location=9"
        if _KINDLE.fullmatch(url)
        else URL
    )
    return f"{_text(match['text'])} ([{skeleton(match['label'])}]({url}))"


def _obsidian_tags(value: str) -> str:
    names = re.findall(r"\[\[(.*?)\]\] ", value)
    if not names or "".join(f"[[{n}]] " for n in names) != value:
        return _text(value)
    return "".join([f"[[{TEXT}]] "] * min(len(names), 2))


_METADATA_KEYS = ("Author", "Full Title", "Category", "Document Note", "Document Tags", "Summary")


def obsidian_shapes(text: str) -> list[str]:
    """The shape of each line of a highlight file (or a full text file's head, up to and with
    its `## Full Document` line) that Readwise's Obsidian export wrote."""
    shapes = []
    section = "head"  # head, metadata, full document, highlights
    field = ""  # the metadata field whose continuation lines follow
    for line in text.split("\n"):
        if line in ("## Metadata", "## Highlights", "## Full Document"):
            section = line[3:].lower()
            shapes.append(line)
        elif re.fullmatch(r"## New highlights added .*", line):
            section = "highlights"
            shapes.append(skeleton(line))
        elif section == "head":
            if line.startswith("# "):
                shapes.append(f"# {TEXT}")
            elif line.startswith("![rw-book-cover]("):
                shapes.append(f"![rw-book-cover]({URL})")
            else:
                shapes.append(_text(line))
        elif section == "metadata":
            key = next((k for k in _METADATA_KEYS if line.startswith(f"- {k}: ")), None)
            if line.startswith("- URL: "):
                field, shape = "URL", f"- URL: {URL}"
            elif key == "Author":
                value = line[len("- Author: ") :]
                inner = value[2:-2] if re.fullmatch(r"\[\[.*\]\]", value) else None
                shape = "- Author: " + (f"[[{_text(inner)}]]" if inner is not None else "")
                field = key
            elif key == "Category":
                field, shape = key, line
            elif key == "Document Tags":
                field, shape = key, "- Document Tags: " + _obsidian_tags(line[17:])
            elif key is not None:
                field, shape = key, f"- {key}: " + _text(line[len(key) + 4 :])
            elif line == "":
                shape = "(blank)"
            elif field == "Document Note" and line.startswith("   "):
                shape = "   " + _text(line[3:])
            elif field == "Summary":
                shape = "(summary line) " + _text(line)
            else:
                shape = "(metadata line) " + _text(line)
            shapes.append(shape)
        elif section == "full document":
            if line.startswith("[[Full Document Contents/") and line.endswith(
                "|See full document content \u2192]]"
            ):
                shapes.append(f"[[Full Document Contents/{TEXT}|See full document content \u2192]]")
            else:
                shapes.append("(full text) " + skeleton(line) if "EPUB" in line else _text(line))
        elif line.startswith(("### ", "#### ", "##### ")):
            marker = line.split(" ", 1)[0]
            shapes.append(f"{marker} {_text(line[len(marker) + 1 :])}")
        elif line.startswith("    - Tags: "):
            shapes.append("    - Tags: " + _obsidian_tags(line[12:]))
        elif line.startswith("    - Note: "):
            shapes.append("    - Note: " + _text(line[12:]))
        elif line.startswith("      "):
            shapes.append("      " + _text(line[6:]))
        elif line.startswith("- "):
            shapes.append("- " + _obsidian_location(line[2:]))
        elif line.startswith("  "):
            shapes.append("  " + _obsidian_location(line[2:]))
        else:
            shapes.append(_text(line))
    return shapes


def obsidian_sync_log_shapes(text: str) -> list[str]:
    """The shape of each line of the Obsidian sync log (`Readwise Syncs.md`)."""
    shapes = []
    for line in text.split("\n"):
        book = re.fullmatch(r"    - (\d+) highlights from (.*)", line)
        if book:
            shapes.append(f"    - 9 highlights from {_text(book[2])}")
        else:
            shapes.append(skeleton(line))
    return shapes
