"""The built-in sample library that `syncd demo` serves from a local FakeReadwise.

`SAMPLE_BOOKS` are export records shaped as Readwise's `/api/v2/export/` returns them, ready for
`FakeReadwise.add_book(**record)`; the demo's first sync turns them into pages.
`LATER_HIGHLIGHTS` maps a book id to highlights the demo adds before its second sync, ready for
`FakeReadwise.add_highlight(book_id, **highlight)`; they carry no `created_at`/`updated_at`, so
the server stamps them with its clock and they are "updated after" the first sync's cursor.

The podcast episode is the one of the seed page (`shared/seeds/`), copied exactly; the other
books are original text written for the demo. Between them they show every location kind
(time offset, Kindle location, page, tweet, plain highlight link), highlight tags and notes,
document tags, a document note, a summary, multi-line text, a line starting with `-`, and a
title with a `/` in it.

Callers get the module-level objects: copy before mutating (`copy.deepcopy`).
"""

from __future__ import annotations

from typing import Any

from syncd.testing.sample_texts import LOTTERY_TICKET, NOT_CORRELATIONAL

PODCAST_ID = 1001
KINDLE_ID = 1002
ARTICLE_ID = 1003
THREAD_ID = 1004
INDENTATION_ID = 1005

_FIRST_SYNC = "2022-11-19T06:57:51.245917Z"


def _tag(tag_id: int, name: str) -> dict[str, Any]:
    return {"id": tag_id, "name": name}


def _highlight(
    highlight_id: int,
    book_id: int,
    text: str,
    *,
    location: int | None,
    location_type: str,
    url: str | None = None,
    note: str = "",
    tags: list[dict[str, Any]] | None = None,
    at: str = _FIRST_SYNC,
    color: str = "yellow",
) -> dict[str, Any]:
    """Return one highlight record, every field in the export's order."""
    return {
        "id": highlight_id,
        "text": text,
        "location": location,
        "location_type": location_type,
        "note": note,
        "color": color,
        "highlighted_at": at,
        "created_at": at,
        "updated_at": at,
        "external_id": None,
        "end_location": None,
        "url": url,
        "book_id": book_id,
        "tags": tags or [],
        "is_favorite": False,
        "is_discard": False,
        "is_deleted": False,
        "readwise_url": f"https://readwise.io/open/{highlight_id}",
    }


def _later(highlight: dict[str, Any]) -> dict[str, Any]:
    """Drop the server-stamped times from a highlight meant for the demo's second sync."""
    return {k: v for k, v in highlight.items() if k not in ("created_at", "updated_at")}


SAMPLE_BOOKS: list[dict[str, Any]] = [
    {
        "user_book_id": PODCAST_ID,
        "title": "Episode 20 —  Hattie Zhou, Mila, on Supermasks, Iterative Learning, and "
        "Fortuitous Forgetting",
        "readable_title": "Episode 20 —  Hattie Zhou, Mila, on Supermasks, Iterative "
        "Learning, and Fortuitous Forgetting",
        "author": "Generally Intelligent",
        "source": "snipd",
        "cover_image_url": "",
        "unique_url": None,
        "summary": "",
        "book_tags": [],
        "category": "podcasts",
        "document_note": "",
        "readwise_url": f"https://readwise.io/bookreview/{PODCAST_ID}",
        "source_url": "https://share.snipd.com/episode/2eb32f4b-97f4-4388-8685-b3692d362b8b",
        "asin": None,
        "is_deleted": False,
        "highlights": [
            _highlight(
                2001,
                PODCAST_ID,
                LOTTERY_TICKET,
                location=539,
                location_type="time_offset",
                url="https://share.snipd.com/snip/9f9472e1-89d3-4fe9-990e-7f138cf06510",
                color="",
            )
        ],
    },
    {
        "user_book_id": KINDLE_ID,
        "title": "The Patient Workshop: Notes on Making Things Slowly",
        "readable_title": "The Patient Workshop",
        "author": "Mara Ellison",
        "source": "kindle",
        "cover_image_url": "",
        "unique_url": None,
        "summary": "",
        "book_tags": [],
        "category": "books",
        "document_note": "",
        "readwise_url": f"https://readwise.io/bookreview/{KINDLE_ID}",
        "source_url": None,
        "asin": "B0SYNCD001",
        "is_deleted": False,
        "highlights": [
            _highlight(
                2101,
                KINDLE_ID,
                "A tool you reach for every day should be the one you can repair yourself.",
                location=982,
                location_type="location",
                at="2022-11-12T19:04:10.118000Z",
            ),
            _highlight(
                2102,
                KINDLE_ID,
                "Most mistakes in the shop are made in the last ten minutes of the day, when "
                "the work is nearly done and attention has already gone home.",
                location=1410,
                location_type="location",
                note='Stop at 5, not at "just one more cut".',
                at="2022-11-13T08:31:45.902000Z",
            ),
            _highlight(
                2103,
                KINDLE_ID,
                "Keep a notebook by the bench. Write down what went wrong while you still "
                "remember why it seemed like a good idea.",
                location=2215,
                location_type="location",
                tags=[_tag(501, "habits"), _tag(502, "journaling")],
                at="2022-11-15T21:12:03.550000Z",
            ),
            _highlight(
                2104,
                KINDLE_ID,
                "Sharpening is not a delay before the work.\nIt is the first part of the work.",
                location=2890,
                location_type="location",
                tags=[_tag(503, "craft")],
                note="Same for setting up a project before writing code.",
                at="2022-11-16T07:45:27.004000Z",
            ),
        ],
    },
    {
        "user_book_id": ARTICLE_ID,
        "title": "Why I Keep My Notes in Plain Text",
        "readable_title": "Why I Keep My Notes in Plain Text",
        "author": "Ines Carvalho",
        "source": "reader",
        "cover_image_url": "",
        "unique_url": "https://read.readwise.io/read/01gj8x2m4c7v9k3d5f6h8n0p2q",
        "summary": "Plain text files outlive the apps that write them; a short case for keeping "
        "notes as Markdown in folders you control.",
        "book_tags": [_tag(601, "writing"), _tag(602, "tools")],
        "category": "articles",
        "document_note": "Read this for the team handbook: the section on file names is "
        "worth quoting.",
        "readwise_url": f"https://readwise.io/bookreview/{ARTICLE_ID}",
        "source_url": "https://example.com/blog/plain-text-notes",
        "asin": None,
        "is_deleted": False,
        "highlights": [
            _highlight(
                2201,
                ARTICLE_ID,
                "Every note-taking app I have used is gone or changed beyond recognition. "
                "The text files from the same years still open in anything.",
                location=1,
                location_type="page",
                url="https://read.readwise.io/read/01gj8x3a1b2c3d4e5f6g7h8j9k",
                at="2022-11-10T12:00:41.000000Z",
            ),
            _highlight(
                2202,
                ARTICLE_ID,
                "Three rules have kept my folder usable for a decade:\n"
                "- one idea per file\n"
                "- name the file the way you would search for it\n"
                "- never organise before you have twenty of something",
                location=3,
                location_type="page",
                url="https://read.readwise.io/read/01gj8x4b2c3d4e5f6g7h8j9k0m",
                tags=[_tag(604, "file names")],
                at="2022-11-10T12:03:09.000000Z",
            ),
            _highlight(
                2203,
                ARTICLE_ID,
                "A link between two notes is worth more than a folder around either of them.",
                location=4,
                location_type="page",
                url="https://read.readwise.io/read/01gj8x5c3d4e5f6g7h8j9k0m1n",
                note="This is the whole argument for Logseq in one line.",
                at="2022-11-10T12:05:55.000000Z",
            ),
            _highlight(
                2204,
                ARTICLE_ID,
                "Sync is the hard part. Pick a tool that writes files you can read without it.",
                location=12,
                location_type="page",
                url="https://read.readwise.io/read/01gj8x6d4e5f6g7h8j9k0m1n2p",
                at="2022-11-10T12:09:30.000000Z",
            ),
        ],
    },
    {
        "user_book_id": THREAD_ID,
        "title": "1/ Small Tools Beat Big Plans...",
        "readable_title": "1/ Small Tools Beat Big Plans...",
        "author": "@plaintext_pat on Twitter",
        "source": "twitter",
        "cover_image_url": "",
        "unique_url": None,
        "summary": "",
        "book_tags": [],
        "category": "tweets",
        "document_note": "",
        "readwise_url": f"https://readwise.io/bookreview/{THREAD_ID}",
        "source_url": "https://twitter.com/plaintext_pat/status/1593000000000000001",
        "asin": None,
        "is_deleted": False,
        "highlights": [
            _highlight(
                2301,
                THREAD_ID,
                "1/ Small tools beat big plans. A script you finish on Sunday is worth more "
                "than a platform you design all year.",
                location=1,
                location_type="order",
                url="https://twitter.com/plaintext_pat/status/1593000000000000001",
                note="Thread",
                at="2022-11-17T15:20:00.000000Z",
            ),
            _highlight(
                2302,
                THREAD_ID,
                "2/ The test: can you explain what it does in one sentence, and can you delete "
                "it without a meeting?",
                location=2,
                location_type="order",
                url="https://twitter.com/plaintext_pat/status/1593000000000000002",
                at="2022-11-17T15:20:00.000000Z",
            ),
            _highlight(
                2303,
                THREAD_ID,
                "3/ What I keep on every machine:\n"
                "\n"
                "- a notes folder\n"
                "- a backup that I have restored at least once\n"
                "- nothing that needs a login to read my own files",
                location=3,
                location_type="order",
                url="https://twitter.com/plaintext_pat/status/1593000000000000003",
                at="2022-11-17T15:20:00.000000Z",
            ),
        ],
    },
    {
        "user_book_id": INDENTATION_ID,
        "title": "Tabs/Spaces: A Short History of Indentation",
        "readable_title": "Tabs/Spaces: A Short History of Indentation",
        "author": "Jonas Reed",
        "source": "reader",
        "cover_image_url": "",
        "unique_url": "https://read.readwise.io/read/01gjb0q1r2s3t4u5v6w7x8y9z0",
        "summary": "",
        "book_tags": [_tag(603, "programming")],
        "category": "articles",
        "document_note": "",
        "readwise_url": f"https://readwise.io/bookreview/{INDENTATION_ID}",
        "source_url": "https://example.org/essays/tabs-spaces",
        "asin": None,
        "is_deleted": False,
        "highlights": [
            _highlight(
                2401,
                INDENTATION_ID,
                "The tab key was built to line up columns of numbers, not nested blocks of code.",
                location=1822,
                location_type="offset",
                url="https://read.readwise.io/read/01gjb0r2s3t4u5v6w7x8y9z0a1",
                at="2022-11-18T22:41:17.000000Z",
            ),
            _highlight(
                2402,
                INDENTATION_ID,
                "Outliners settled the argument for themselves: a tab means one level deeper, "
                "and everything else is text.",
                location=5630,
                location_type="offset",
                url="https://read.readwise.io/read/01gjb0s3t4u5v6w7x8y9z0a1b2",
                tags=[_tag(605, "outliners")],
                at="2022-11-18T22:47:02.000000Z",
            ),
        ],
    },
]

LATER_HIGHLIGHTS: dict[int, list[dict[str, Any]]] = {
    PODCAST_ID: [
        _later(
            _highlight(
                2002,
                PODCAST_ID,
                NOT_CORRELATIONAL,
                location=1274,
                location_type="time_offset",
                url="https://share.snipd.com/snip/3c2d8e51-6a47-4b0f-9d1e-52b7a0f4c8e3",
                color="",
                at="2023-03-17T16:58:12.000000Z",
            )
        )
    ],
    KINDLE_ID: [
        _later(
            _highlight(
                2105,
                KINDLE_ID,
                "Clean the bench before you start, not after you finish; the start is when you "
                "still care.",
                location=3120,
                location_type="location",
                at="2023-03-16T20:14:55.000000Z",
            )
        )
    ],
    THREAD_ID: [
        _later(
            _highlight(
                2304,
                THREAD_ID,
                "4/ None of this is about minimalism. It is about being able to fix your own "
                "setup at midnight.",
                location=4,
                location_type="order",
                url="https://twitter.com/plaintext_pat/status/1593000000000000004",
                at="2023-03-17T09:02:40.000000Z",
            )
        )
    ],
}
