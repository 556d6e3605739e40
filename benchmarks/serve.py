"""Serve a synthetic library from FakeReadwise, in its own process, for the benchmarks.

    python -m benchmarks.serve --books 10000 [--highlights 100000] [--seed 0] [--page-size 1000]

Generates the library (`benchmarks.library`), serves it on 127.0.0.1 and prints one JSON line on
stdout: `{"url", "token", "books", "highlights", "largest_book", "median_book"}`. Then it reads
commands from stdin, one JSON object a line, and answers each with one JSON line:

- `{"cmd": "add_highlight", "book_id": N}`: add one highlight to book N, stamped now;
  answers `{"id": <highlight id>}`;
- `{"cmd": "requests"}`: the requests received since the last such command, by endpoint;
  answers `{"export": n, "auth": n, "other": n}`;
- `{"cmd": "stop"}` (or end of input): stop serving and exit.

Running the server in its own process keeps its CPU time and memory out of syncd's figures.
"""

from __future__ import annotations

import argparse
import json
import sys

from benchmarks.library import iter_books, new_highlight
from syncd.testing.fakereadwise import FakeReadwise

TOKEN = "benchmark-token-not-secret"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.serve")
    parser.add_argument("--books", type=int, default=10_000)
    parser.add_argument("--highlights", type=int, default=None, help="default: ten per book")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--page-size", type=int, default=1000)
    args = parser.parse_args(argv)

    server = FakeReadwise(token=TOKEN, page_size=args.page_size)
    sizes: list[tuple[int, int]] = []
    next_id = 1
    for record in iter_books(args.books, args.highlights, seed=args.seed):
        sizes.append((len(record["highlights"]), record["user_book_id"]))
        next_id = max([next_id, *(h["id"] + 1 for h in record["highlights"])])
        server.load([record])
    sizes.sort()
    with server:
        _say(
            {
                "url": server.url,
                "token": TOKEN,
                "books": len(sizes),
                "highlights": sum(n for n, _ in sizes),
                "largest_book": {"id": sizes[-1][1], "highlights": sizes[-1][0]},
                "median_book": {
                    "id": sizes[len(sizes) // 2][1],
                    "highlights": sizes[len(sizes) // 2][0],
                },
            }
        )
        for line in sys.stdin:
            if not line.strip():
                continue
            command = json.loads(line)
            if command["cmd"] == "stop":
                break
            if command["cmd"] == "add_highlight":
                book = server.book(command["book_id"])
                record = new_highlight(book, next_id, seed=args.seed)
                next_id += 1
                stored = server.add_highlight(command["book_id"], **record)
                _say({"id": stored["id"]})
            elif command["cmd"] == "requests":
                seen = server.requests
                server.clear_requests()
                counts = {"export": 0, "auth": 0, "other": 0}
                for request in seen:
                    kind = {"/api/v2/export/": "export", "/api/v2/auth/": "auth"}.get(
                        request.path, "other"
                    )
                    counts[kind] += 1
                _say(counts)
            else:
                _say({"error": f"unknown command {command['cmd']!r}"})
    return 0


def _say(value: object) -> None:
    sys.stdout.write(json.dumps(value) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    sys.exit(main())
