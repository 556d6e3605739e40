"""A vault of the user's own notes, made up (seeded): what real vaults mostly hold beside
syncd's pages. Folders (nested two deep), notes of about 2 KB with links and tags, and
attachments (small binary files) in folders of their own and beside the notes. The same seed
and sizes make the same files, byte for byte, so that benchmarks and counting tests compare
like with like."""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

_WORDS = (
    "garden",
    "walk",
    "river",
    "notes",
    "meeting",
    "project",
    "idea",
    "draft",
    "reading",
    "plan",
    "weekly",
    "review",
    "book",
    "thought",
    "quote",
    "kitchen",
    "recipe",
    "travel",
    "budget",
    "health",
    "sleep",
    "music",
    "code",
    "design",
    "letter",
    "morning",
    "evening",
    "friend",
    "family",
    "market",
    "city",
    "north",
    "light",
    "window",
    "paper",
    "stone",
)


@dataclass(frozen=True)
class UserNotes:
    """What `write_user_notes` made: relative paths of the notes and of the attachments."""

    notes: list[str]
    attachments: list[str]
    folders: list[str]


def note_text(rng: random.Random, size: int = 2048) -> str:
    """A note of about `size` bytes: a heading, paragraphs with [[links]] and #tags, a list."""
    lines = [f"# {rng.choice(_WORDS).title()} {rng.choice(_WORDS)}", ""]
    total = 0
    while total < size:
        words = [rng.choice(_WORDS) for _ in range(rng.randint(8, 24))]
        if rng.random() < 0.3:
            words[rng.randrange(len(words))] = f"[[{rng.choice(_WORDS).title()}]]"
        if rng.random() < 0.2:
            words.append(f"#{rng.choice(_WORDS)}")
        line = ("- " if rng.random() < 0.3 else "") + " ".join(words) + "."
        lines.append(line)
        total += len(line) + 1
    return "\n".join(lines) + "\n"


def write_user_notes(
    root: Path,
    notes: int,
    *,
    seed: int = 20,
    folders: int = 10,
    attachment_every: int = 5,
    under: str = "",
) -> UserNotes:
    """Write `notes` notes of the user's into the vault at `root` (under `under`), spread over
    `folders` folders each with two subfolders, and one attachment per `attachment_every`
    notes (half in an `attachments` folder, half beside their note). Return what was made."""
    rng = random.Random(seed)
    base = f"{under.strip('/')}/" if under.strip("/") else ""
    tops = [f"{base}{rng.choice(_WORDS).title()} {n}" for n in range(folders)]
    places = [f"{top}/{sub}" for top in tops for sub in ("", "Archive", "Projects/Active")]
    made = UserNotes([], [], sorted({p.rstrip("/") for p in places} | {f"{base}attachments"}))
    for folder in made.folders:
        (root / folder).mkdir(parents=True, exist_ok=True)
    for n in range(notes):
        folder = places[n % len(places)].rstrip("/")
        relative = f"{folder}/{rng.choice(_WORDS).title()} {rng.choice(_WORDS)} {n}.md"
        (root / relative).write_text(note_text(rng), encoding="utf-8")
        made.notes.append(relative)
        if attachment_every and n % attachment_every == 0:
            where = f"{base}attachments" if n % 2 == 0 else folder
            attachment = f"{where}/Pasted image {n:06d}.png"
            (root / attachment).write_bytes(rng.randbytes(rng.randint(512, 4096)))
            made.attachments.append(attachment)
    return made
