"""`syncd resync BOOK`: forget a book's page (deleted, or to be written anew) and sync it again:
the book named by id, title or page path, with near matches suggested."""

from __future__ import annotations

import argparse
import os

from syncd.commands.common import EXIT_OK, EXIT_PARTIAL, locked_vault
from syncd.core.records import PageStatus


def command(args: argparse.Namespace) -> int:
    from pathlib import Path

    from syncd.core.books import find_book
    from syncd.engine.state_summary import book_entries
    from syncd.engine.wiring import make_syncer

    with locked_vault(args) as (config, state):
        book = find_book(
            args.book,
            book_entries(state),
            vault=config.vault.path,
            cwd=Path.cwd(),
            home=Path.home(),
        )
        syncer = make_syncer(config, state, os.environ)
        if book.status == PageStatus.ACTIVE and book.path and syncer.vault.path(book.path).exists():
            print(f"{book.path} is there; nothing to re-create")
            return EXIT_OK
        print(f"re-creating the page of {book.describe()}")
        syncer.forget(book.book_id)
        report = syncer.sync(book_ids=[book.book_id])
    print(report.summary())
    return EXIT_PARTIAL if report.failed else EXIT_OK
