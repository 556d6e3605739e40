"""The floors under two of issue 20's targets: what any client built like syncd spends before it
does syncd's own work, measured on the same machine in the same run as syncd.

- `requests_start`: a Python process that imports requests and ends (the least of ten). A no-op
  sync asks Readwise whether anything changed, so it cannot cost less; its ratio to
  `syncd --help` is the least a no-op's ratio can be.
- `download`: a process that fetches every page of the export (one `requests.Session`, as syncd
  does) and parses each with `json.loads`, nothing else. A first sync cannot cost less; its ratio
  to the plain write+fsync loop is the least a first sync's ratio can be, unless the download
  overlaps the writes (syncd fetches the next page while it writes the current one).

    python -m benchmarks.floors download URL TOKEN   # prints the seconds it took
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from pathlib import Path

EXPORT_PATH = "/api/v2/export/"


def requests_start(env: dict[str, str], cwd: Path, runs: int = 10) -> tuple[float, float]:
    """The least wall time and the least CPU time (user + system) of `runs` processes that
    import requests and end."""
    walls, cpus = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import requests"], cwd=cwd, env=env, check=True)
        walls.append(time.perf_counter() - started)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return min(walls), min(cpus)


def download(env: dict[str, str], cwd: Path, url: str, token: str) -> float:
    """The wall time of a process that downloads and parses the whole export (start included)."""
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "benchmarks.floors", "download", url, token],
        cwd=cwd,
        env=env,
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - started


def _download(url: str, token: str) -> int:
    import requests

    session = requests.Session()
    session.headers["Authorization"] = f"Token {token}"
    params: dict[str, str] = {"includeDeleted": "true"}
    books = 0
    while True:
        response = session.get(url + EXPORT_PATH, params=params, timeout=60)
        response.raise_for_status()
        page = json.loads(response.content)
        books += len(page["results"])
        cursor = page.get("nextPageCursor")
        if not cursor:
            return books
        params = {**params, "pageCursor": str(cursor)}


if __name__ == "__main__":
    if len(sys.argv) != 4 or sys.argv[1] != "download":
        sys.exit("usage: python -m benchmarks.floors download URL TOKEN")
    print(_download(sys.argv[2], sys.argv[3]))
