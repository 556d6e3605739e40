"""A user typing into one page while syncd writes it, as editors save: every 5-50 ms (at random)
the page is read, one new typed line is added to it, and it is saved, either by writing a
temporary file beside it and renaming that over the page (Obsidian, vim, most editors), or in
place (the file opened with truncation and written, as Node's `fs.writeFile` does in Logseq).

    python -m tests.support.editor PAGE TAG SEED [rename|in-place|both]

Prints `ready` once it has saved its first line; stops when a line comes on stdin, and then
prints how many lines it saved. Save n adds the line `- TAG n` (n from 0) to the page as read,
and nothing else: a line is counted as saved once the save that added it is complete. The
editor's read-modify-save can itself drop what syncd wrote meanwhile (its buffer did not have
it): that is the user's bytes winning, which syncd must accept.
"""

from __future__ import annotations

import os
import random
import sys
import threading
import time
from pathlib import Path


def line(tag: str, n: int) -> str:
    return f"- {tag} {n}"


def save(page: Path, data: bytes, by_rename: bool) -> None:
    if by_rename:
        temp = page.with_name(f".{page.name}.editor-save")
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)
        os.rename(temp, page)
    else:
        fd = os.open(page, os.O_WRONLY | os.O_TRUNC)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)


def main(page: Path, tag: str, seed: int, how: str = "both") -> int:
    rng = random.Random(seed)
    rename_share = {"rename": 1.0, "in-place": 0.0, "both": 0.5}[how]
    stop = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.readline(), stop.set()), daemon=True).start()
    saved = 0
    while not stop.is_set():
        text = page.read_bytes().decode("utf-8")
        typed = line(tag, saved)
        text = (text if text.endswith("\n") or not text else text + "\n") + typed
        save(page, text.encode("utf-8"), by_rename=rng.random() < rename_share)
        saved += 1
        if saved == 1:
            print("ready", flush=True)
        time.sleep(rng.uniform(0.005, 0.05))  # the user's pace, not a synchronisation
    print(saved, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), *sys.argv[4:]))
