"""Issue 22, items 3 and 5: the page's file is the user's, down to its attributes and its line
endings.

A rewrite (an append, an update in place) keeps the page's mode, owner, group and extended
attributes; a read-only page is left alone, with one message per sync, and its highlights wait;
a FIFO or a device node where a page is never opened for reading (it would hang) and stops
nothing else. A page a Windows editor saved (CRLF, a byte-order mark) gets syncd's lines in its
own line endings and keeps its mark; a page whose lines end both ways is never written. Both
formats."""

from __future__ import annotations

import errno
import os
import stat
import struct
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tests.support.harness import Harness, harness

T0 = datetime(2023, 3, 17, 17, 5, tzinfo=timezone.utc)
PAGES = {"logseq": "pages/Walden (highlights).md", "obsidian": "Readwise/Books/Walden.md"}


@pytest.fixture(params=["logseq", "obsidian"])
def walden(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Harness]:
    """A vault with Walden (three highlights) synced, and a second book, Emerson."""
    page_format = request.param
    with harness(tmp_path, settings={"vault": {"format": page_format}}) as h:
        h.file = h.vault / PAGES[page_format]  # type: ignore[attr-defined]
        h.now = T0 - timedelta(hours=1)
        book = h.server.add_book(
            title="Walden",
            author="Henry David Thoreau",
            highlights=[
                {"text": "HL1X Simplify, simplify."},
                {"text": "HL2X I went to the woods.", "note": "Mine."},
                {"text": "HL3X Time is but the stream."},
            ],
        )
        h.book_id = book["user_book_id"]  # type: ignore[attr-defined]
        h.ids = [x["id"] for x in book["highlights"]]  # type: ignore[attr-defined]
        other = h.server.add_book(title="Emerson", highlights=[{"text": "EM1X Trust thyself."}])
        h.other_id = other["user_book_id"]  # type: ignore[attr-defined]
        h.sync()
        yield h


def page(h: Harness) -> Path:
    return h.file  # type: ignore[attr-defined, no-any-return]


def new_highlights(h: Harness, *texts: str) -> None:
    for text in texts:
        h.server.add_highlight(h.book_id, text=text)  # type: ignore[attr-defined]


def other(h: Harness, text: str) -> None:
    """A new highlight in the other book, Emerson."""
    h.server.add_highlight(h.other_id, text=text)  # type: ignore[attr-defined]


def later(h: Harness, hours: int = 1) -> datetime:
    return h.now + timedelta(hours=hours)


def statuses(h: Harness) -> list[str]:
    state = h.state()
    try:
        return sorted(r.status for r in state.highlights(h.book_id).values())  # type: ignore[attr-defined]
    finally:
        state.close()


def posix_acl(*entries: tuple[int, int, int]) -> bytes:
    """A POSIX ACL as Linux stores it in `system.posix_acl_access`: version 2, then (tag,
    permissions, id) for each entry."""
    return struct.pack("<I", 2) + b"".join(struct.pack("<HHI", *entry) for entry in entries)


# --- item 3: the page's attributes -------------------------------------------------------


def test_a_page_made_0600_stays_0600_through_an_append_and_an_update(walden: Harness) -> None:
    h = walden
    page(h).chmod(0o600)
    new_highlights(h, "HL4X Heaven is under our feet.")
    report = h.sync(at=later(h))
    assert not report.failed and "HL4X" in page(h).read_text(encoding="utf-8")
    assert stat.S_IMODE(page(h).stat().st_mode) == 0o600
    h.server.update_highlight(h.ids[0], text="HL1X Simplify!")  # type: ignore[attr-defined]
    report = h.sync(at=later(h))
    assert not report.failed and "HL1X Simplify!" in page(h).read_text(encoding="utf-8")
    assert stat.S_IMODE(page(h).stat().st_mode) == 0o600


def test_owner_group_and_extended_attributes_survive_a_rewrite(walden: Harness) -> None:
    h = walden
    if os.geteuid() != 0:
        pytest.skip("giving a page another owner needs root")
    os.chown(page(h), 1234, 5678)
    page(h).chmod(0o640)
    os.setxattr(page(h), "user.tags", b"red\x00green")  # what Finder-like tags look like
    acl = posix_acl((0x01, 6, 0xFFFFFFFF), (0x02, 4, 4321), (0x04, 4, 0xFFFFFFFF),
                    (0x10, 4, 0xFFFFFFFF), (0x20, 0, 0xFFFFFFFF))  # fmt: skip
    try:
        os.setxattr(page(h), "system.posix_acl_access", acl)
    except OSError as error:
        if error.errno not in (errno.ENOTSUP, errno.EOPNOTSUPP):
            raise
        acl = b""  # this file system has no ACLs: the rest is still checked
    before = page(h).stat()
    new_highlights(h, "HL4X Heaven is under our feet.")
    report = h.sync(at=later(h))
    after = page(h).stat()
    assert not report.failed and "HL4X" in page(h).read_text(encoding="utf-8")
    assert after.st_ino != before.st_ino  # rewritten through a new file, not in place
    assert (after.st_uid, after.st_gid, stat.S_IMODE(after.st_mode)) == (1234, 5678, 0o640)
    assert os.getxattr(page(h), "user.tags") == b"red\x00green"
    if acl:
        assert os.getxattr(page(h), "system.posix_acl_access") == acl


def test_a_read_only_page_is_left_alone_and_its_highlights_wait(walden: Harness) -> None:
    h = walden
    page(h).chmod(0o444)
    before, identity = page(h).read_bytes(), page(h).stat().st_ino
    new_highlights(h, "HL4X Heaven is under our feet.")
    other(h, "EM2X Nothing is at last sacred.")
    for attempt in range(2):
        report = h.sync(at=later(h))
        assert page(h).read_bytes() == before and page(h).stat().st_ino == identity
        assert stat.S_IMODE(page(h).stat().st_mode) == 0o444
        [(_, message)] = report.failed  # one message per sync, naming the page and why
        assert str(page(h)) in message and "read-only (mode 0444)" in message
        assert report.outcome.new == (1 if attempt == 0 else 0)  # the other book goes on
    page(h).chmod(0o644)
    report = h.sync(at=later(h))
    assert not report.failed
    assert page(h).read_text(encoding="utf-8").count("HL4X") == 1


def test_a_page_of_mode_0000_is_left_alone_with_a_clear_message(walden: Harness) -> None:
    h = walden
    page(h).chmod(0)
    before = page(h).read_bytes()
    new_highlights(h, "HL4X Heaven is under our feet.")
    report = h.sync(at=later(h))
    [(_, message)] = report.failed
    assert "read-only (mode 0000)" in message
    assert page(h).read_bytes() == before and stat.S_IMODE(page(h).stat().st_mode) == 0


@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_a_fifo_or_a_device_where_the_page_was_is_never_opened(walden: Harness, kind: str) -> None:
    h = walden
    page(h).unlink()
    if kind == "fifo":
        os.mkfifo(page(h), 0o644)  # a read without O_NONBLOCK would wait for a writer forever
    else:
        if os.geteuid() != 0:
            pytest.skip("making a device node needs root")
        os.mknod(page(h), 0o644 | stat.S_IFCHR, os.makedev(1, 3))  # /dev/null's
    new_highlights(h, "HL4X Heaven is under our feet.")
    other(h, "EM2X Nothing is at last sacred.")
    report = h.sync(at=later(h))
    [(_, message)] = report.failed
    what = "a FIFO (named pipe)" if kind == "fifo" else "a device node"
    assert f"{page(h)}: is {what} where a page should be" in message
    assert report.outcome.new == 1  # Emerson's
    assert not stat.S_ISREG(page(h).lstat().st_mode)  # left as it is


def test_a_fifo_elsewhere_in_the_vault_does_not_stop_a_moved_page_being_found(
    walden: Harness,
) -> None:
    h = walden
    os.mkfifo(page(h).parent / "A pipe.md")
    moved = page(h).parent / "Walden, moved.md"
    page(h).rename(moved)
    new_highlights(h, "HL4X Heaven is under our feet.")
    report = h.sync(at=later(h))
    assert not report.failed
    assert "HL4X" in moved.read_text(encoding="utf-8")


# --- item 5: the editor's line endings ---------------------------------------------------


def windows_save(h: Harness, *, bom: bool = True) -> None:
    """The page as a Windows editor saves it: CRLF line endings, a UTF-8 byte-order mark."""
    text = page(h).read_text(encoding="utf-8").replace("\n", "\r\n")
    page(h).write_bytes(("\ufeff" if bom else "").encode() + text.encode("utf-8"))


@pytest.mark.parametrize("bom", [True, False], ids=["bom", "no-bom"])
def test_a_windows_page_gets_appends_and_updates_in_its_own_line_endings(
    walden: Harness, bom: bool
) -> None:
    h = walden
    windows_save(h, bom=bom)
    new_highlights(h, "HL4X Heaven is under our feet.")
    h.server.update_highlight(h.ids[0], text="HL1X Simplify!")  # type: ignore[attr-defined]
    report = h.sync(at=later(h))
    assert not report.failed
    data = page(h).read_bytes()
    assert data.startswith(b"\xef\xbb\xbf") == bom and data.count(b"\xef\xbb\xbf") == int(bom)
    assert b"\n" not in data.replace(b"\r\n", b"")  # every line ends CRLF, old and new
    text = data.decode("utf-8").replace("\r\n", "\n")
    assert text.count("HL4X") == 1 and "HL1X Simplify!" in text and "Simplify, simplify" not in text
    assert "written" in statuses(h) and not {"edited", "deleted", "conflict"} & set(statuses(h))
    report = h.sync(at=later(h))  # and nothing more to do
    assert page(h).read_bytes() == data and report.pages_changed == 0


def test_a_page_with_mixed_line_endings_is_never_written(walden: Harness) -> None:
    h = walden
    lines = page(h).read_text(encoding="utf-8").split("\n")
    mixed = "\r\n".join(lines[:2]) + "\n" + "\n".join(lines[2:])
    page(h).write_bytes(mixed.encode("utf-8"))
    new_highlights(h, "HL4X Heaven is under our feet.")
    report = h.sync(at=later(h))
    [(_, message)] = report.failed
    assert str(page(h)) in message and "mixed line endings" in message
    assert page(h).read_bytes() == mixed.encode("utf-8")
    assert not {"edited", "deleted"} & set(statuses(h))  # read as it is, not as edits
    page(h).write_bytes(mixed.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8"))
    report = h.sync(at=later(h))  # the user settled it: the highlight that waited comes
    assert not report.failed
    data = page(h).read_bytes()
    assert data.count(b"HL4X") == 1 and b"\n" not in data.replace(b"\r\n", b"")
