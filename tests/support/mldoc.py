"""Logseq's own Markdown parser (the npm package ``mldoc``) as a test oracle.

Pages that syncd writes must read back in Logseq exactly as Readwise's own export does, so the
tests parse them with the parser Logseq uses, configured as Logseq configures it for the
Markdown files of a graph (see ``tests/mldoc/parse_pages.js`` for the exact config and where it
comes from), and look at the outline Logseq would build.

Pieces:

* ``ensure_installed()`` installs the pinned ``mldoc`` into ``tests/mldoc/node_modules`` with
  ``npm ci`` when it is missing (the only network access of the test suite), under an
  ``fcntl.flock`` on ``tests/mldoc/.install.lock`` so that concurrent pytest processes don't
  install over one another.
* ``parse_raw(texts)`` runs one ``node`` process for all the texts and returns mldoc's raw ASTs.
* ``parse_pages(texts)`` turns those ASTs into ``PageTree``/``Block`` values.

How the tree is derived from mldoc's output (it mirrors Logseq's graph parser,
``logseq.graph-parser.block/extract-blocks``, ``get-block-content`` and
``with-parent-and-left``, and ``logseq.graph-parser.mldoc/collect-page-properties``):

``Mldoc.parseJson`` returns a *flat* list of ``[node, {"start_pos", "end_pos"}]`` pairs; the
positions are UTF-8 byte offsets into the text. Every Logseq block is a ``Heading`` node: a
``- `` list line gives ``["Heading", {"level": n, "unordered": true, ...}]`` where ``level`` is
1 + the number of indentation characters before the ``-`` (a tab and a space count one each:
``- `` is 1, ``\\t- `` is 2, ``\\t\\t- `` is 3). A block's continuation lines are *not* inside
the Heading node: they follow it as sibling nodes (``Paragraph``, ``List``,
``Property_Drawer``, ``Horizontal_Rule``, ...) until the next ``Heading``.

* Properties: if the AST has ``Directive`` nodes (front matter, ``#+key:`` lines) they are the
  page properties, as in Logseq; otherwise the first ``Property_Drawer``/``Properties`` node
  that comes before the first ``Heading`` (mldoc's node for the ``key:: value`` lines at the top
  of a Markdown page). Values are mldoc's raw value strings; keys are kept as mldoc gives them.
* Blocks: one ``Block`` per ``Heading`` node. Its source is the byte range from the Heading's
  ``start_pos`` to the next Heading's ``start_pos`` (or the end of the page), exactly the range
  Logseq takes as the block's content. ``Block.text`` is that range cleaned as Logseq cleans a
  block's content: leading whitespace and the ``-`` marker with one following whitespace
  character are removed, the text is split into lines (trailing empty lines dropped), and each
  continuation line loses its indentation (``level + 1`` characters, e.g. ``\\t  `` for a level-2
  block) when that prefix is all whitespace, else its leading whitespace. Lines are joined with
  ``"\\n"``; trailing spaces are kept.
* Nesting: blocks become children of the nearest preceding block with a smaller level (a stack
  walk over the Headings in order). A Markdown ``# heading`` that is not a list item counts as
  level 1, as in Logseq's ``construct-block``. Non-Heading nodes before the first Heading other
  than the properties (e.g. the blank line after them) belong to no block and are ignored.
"""

from __future__ import annotations

import fcntl
import json
import re
import shutil
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MLDOC_DIR: Path = Path(__file__).resolve().parents[1] / "mldoc"
"""``tests/mldoc``: package.json, package-lock.json, parse_pages.js and node_modules."""

PARSE_SCRIPT: Path = MLDOC_DIR / "parse_pages.js"
LOCK_FILE: Path = MLDOC_DIR / ".install.lock"
INSTALL_TIMEOUT_S = 600
PARSE_TIMEOUT_S = 300

# One AST node with its positions, as mldoc emits it: [[type, ...], {"start_pos", "end_pos"}].
RawNode = list[Any]
RawAst = list[RawNode]


@dataclass(frozen=True)
class Block:
    """One Logseq block: its cleaned text and its child blocks."""

    text: str
    children: tuple[Block, ...] = ()


@dataclass(frozen=True)
class PageTree:
    """A parsed page: its page properties and its top-level blocks."""

    properties: dict[str, str]
    blocks: tuple[Block, ...]


class MldocParser:
    """What the ``mldoc`` pytest fixture returns: parse one page or many with one node run."""

    def parse(self, text: str) -> PageTree:
        """Parse one page."""
        return parse_pages([text])[0]

    def parse_many(self, texts: Sequence[str]) -> list[PageTree]:
        """Parse many pages with a single node process."""
        return parse_pages(list(texts))

    def parse_raw(self, texts: Sequence[str]) -> list[RawAst]:
        """mldoc's raw ASTs for the texts, for assertions on node types."""
        return parse_raw(list(texts))


# --------------------------------------------------------------------------- installation


def _pinned_version() -> str:
    manifest = json.loads((MLDOC_DIR / "package.json").read_text(encoding="utf-8"))
    return str(manifest["dependencies"]["mldoc"])


def _installed_ok() -> bool:
    """The pinned mldoc is fully present in node_modules."""
    package_dir = MLDOC_DIR / "node_modules" / "mldoc"
    try:
        manifest = json.loads((package_dir / "package.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    main = package_dir / str(manifest.get("main", "index.js"))
    return manifest.get("version") == _pinned_version() and main.is_file()


def _require(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        raise RuntimeError(
            f"`{tool}` was not found on PATH: the mldoc page checks need Node.js and npm "
            "(e.g. `apt-get install nodejs npm`)."
        )
    return path


@contextmanager
def _install_lock() -> Iterator[None]:
    with LOCK_FILE.open("a") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def ensure_installed() -> Path:
    """Install the pinned mldoc under tests/mldoc if needed; return its package folder.

    Uses ``npm ci`` (``npm install`` when there is no package-lock.json). Safe to call from
    several processes at once. Raises RuntimeError when node or npm is missing or npm fails.
    """
    _require("node")
    package_dir = MLDOC_DIR / "node_modules" / "mldoc"
    with _install_lock():
        if _installed_ok():
            return package_dir
        npm = _require("npm")
        verb = "ci" if (MLDOC_DIR / "package-lock.json").is_file() else "install"
        command = [npm, verb, "--prefix", str(MLDOC_DIR), "--no-audit", "--no-fund"]
        try:
            done = subprocess.run(
                command,
                cwd=MLDOC_DIR,
                capture_output=True,
                text=True,
                timeout=INSTALL_TIMEOUT_S,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise RuntimeError(f"`{' '.join(command)}` took over {INSTALL_TIMEOUT_S}s") from exc
        if done.returncode != 0 or not _installed_ok():
            raise RuntimeError(
                f"`{' '.join(command)}` failed (exit {done.returncode}):\n"
                f"{done.stdout[-2000:]}\n{done.stderr[-4000:]}"
            )
    return package_dir


# --------------------------------------------------------------------------------- parsing


def parse_raw(texts: list[str]) -> list[RawAst]:
    """mldoc's raw AST for each text, from a single ``node parse_pages.js`` run."""
    if not texts:
        return []
    node = _require("node")
    try:
        done = subprocess.run(
            [node, str(PARSE_SCRIPT)],
            cwd=MLDOC_DIR,
            input=json.dumps(texts).encode("utf-8"),
            capture_output=True,
            timeout=PARSE_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise RuntimeError(f"mldoc took over {PARSE_TIMEOUT_S}s on {len(texts)} page(s)") from exc
    if done.returncode != 0:
        stderr = done.stderr.decode("utf-8", "replace")
        raise RuntimeError(f"parse_pages.js failed (exit {done.returncode}):\n{stderr[-4000:]}")
    asts = json.loads(done.stdout.decode("utf-8"))
    if not isinstance(asts, list) or len(asts) != len(texts):
        raise RuntimeError("parse_pages.js returned a malformed answer")
    return asts


def parse_pages(texts: list[str]) -> list[PageTree]:
    """Parse pages with mldoc (one node process) and build their outlines."""
    return [build_tree(text, ast) for text, ast in zip(texts, parse_raw(texts), strict=True)]


# ---------------------------------------------------------------------------- tree building

_MARKER = re.compile(r"^-+\s?")


def _page_properties(nodes: list[list[Any]]) -> dict[str, str]:
    directives = [node for node in nodes if str(node[0]).lower() == "directive"]
    if directives:
        return {str(node[1]): str(node[2]) for node in directives}
    for node in nodes:
        if node[0] == "Heading":
            break
        if node[0] in ("Property_Drawer", "Properties"):
            return {str(entry[0]): str(entry[1]) for entry in node[1]}
    return {}


def _block_level(heading: dict[str, Any]) -> int:
    # Logseq's construct-block: a Markdown `# heading` that is not a list item is level 1.
    if heading.get("size") is not None and not heading.get("unordered"):
        return 1
    return int(heading["level"])


def block_text(source: str, level: int) -> str:
    """A block's source cleaned as Logseq's ``get-block-content`` cleans it (Markdown)."""
    if not source.strip():
        return ""
    if not source.startswith("---"):
        source = _MARKER.sub("", source.lstrip(), count=1)
    lines = source.split("\n")
    while lines and lines[-1] == "":
        lines.pop()
    if not lines:
        return ""
    body = [
        line[level + 1 :] if not line[: level + 1].strip() else line.lstrip() for line in lines[1:]
    ]
    return "\n".join([lines[0], *body])


@dataclass
class _Draft:
    text: str
    level: int
    children: list[_Draft]

    def freeze(self) -> Block:
        return Block(self.text, tuple(child.freeze() for child in self.children))


def build_tree(text: str, ast: RawAst) -> PageTree:
    """Build a PageTree from a page's text and mldoc's raw AST for it."""
    data = text.encode("utf-8")
    nodes = [item[0] for item in ast]
    headings = [(item[0][1], item[1]) for item in ast if item[0][0] == "Heading"]
    root = _Draft("", 0, [])
    stack = [root]
    for index, (heading, pos) in enumerate(headings):
        start = pos["start_pos"]
        end = headings[index + 1][1]["start_pos"] if index + 1 < len(headings) else len(data)
        level = _block_level(heading)
        draft = _Draft(block_text(data[start:end].decode("utf-8"), level), level, [])
        while len(stack) > 1 and stack[-1].level >= level:
            stack.pop()
        stack[-1].children.append(draft)
        stack.append(draft)
    return PageTree(_page_properties(nodes), tuple(d.freeze() for d in root.children))
