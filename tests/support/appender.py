"""A user typing into pages while syncd writes them, as an editor saving in place does (open,
one write, close): every time syncd starts writing a page (a temporary file of its appears in
FOLDER, seen through inotify), one pass appends a line to every page of FOLDER, at once, so the
appends land while syncd checks and renames its file.

    python -m tests.support.appender FOLDER TAG

Prints `ready` once it watches; stops when a line comes on stdin, and prints how many passes it
made. Pass p appends `- TAG p.i` to the i-th page (pages sorted by name), and nothing else.
"""

from __future__ import annotations

import os
import queue
import sys
import threading
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers.inotify import InotifyObserver

TEMP_PREFIX = ".syncd-"


def line(tag: str, done: int, index: int) -> str:
    return f"- {tag} {done}.{index}"


class _OnTemporaryFile(FileSystemEventHandler):
    def __init__(self, passes: queue.SimpleQueue[str]) -> None:
        self.passes = passes

    def on_created(self, event: FileSystemEvent) -> None:
        if Path(str(event.src_path)).name.startswith(TEMP_PREFIX):
            self.passes.put("pass")


def main(folder: Path, tag: str) -> int:
    pages = sorted(folder.glob("*.md"))
    todo: queue.SimpleQueue[str] = queue.SimpleQueue()
    observer = InotifyObserver()
    observer.schedule(_OnTemporaryFile(todo), str(folder))
    observer.start()
    threading.Thread(target=lambda: (sys.stdin.readline(), todo.put("stop")), daemon=True).start()
    print("ready", flush=True)
    done = 0
    while todo.get() != "stop":
        for index, page in enumerate(pages):
            fd = os.open(page, os.O_WRONLY | os.O_APPEND)
            try:
                os.write(fd, ("\n" + line(tag, done, index)).encode())
            finally:
                os.close(fd)
        done += 1
    observer.stop()
    observer.join()
    print(done, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(Path(sys.argv[1]), sys.argv[2]))
