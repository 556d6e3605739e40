"""A deterministic synthetic Readwise library, for the benchmarks of README "Performance".

`generate(books, highlights, seed=...)` returns export records (`GET /api/v2/export/` shape, every
field in the export's order) ready for `FakeReadwise.load`. The same arguments always give the
same records, byte for byte.

What it holds, so that a benchmark exercises what real libraries make syncd do:

- highlights per book are long-tailed (Pareto, alpha 1.16: the "80/20" shape), every book has at
  least one, and no book more than a 40th of the library (at least 50);
- every category: books, articles, tweets, podcasts, supplementals;
- every location kind syncd renders: a Kindle location with an ASIN, a page, a time offset, a
  tweet, a plain highlight link, and none at all;
- texts in English, with accents, in CJK, in Arabic and Hebrew (right-to-left), with emoji
  (ZWJ sequences and skin tones), decomposed accents; multi-line texts (lists, quotes, lines
  starting with `-`, blank lines), and long transcripts (2-8 KB);
- highlight notes and tags, document tags, notes and summaries; titles that repeat, that hold
  `/ : ? # |`, and that are too long for a file name; a few deleted and discarded highlights.

`new_highlight` makes one more highlight for an existing book, as a user's new highlight.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

__all__ = ["CATEGORIES", "LOCATION_KINDS", "generate", "highlight_counts", "new_highlight"]

CATEGORIES = ("books", "articles", "tweets", "podcasts", "supplementals")
_CATEGORY_WEIGHTS = (40, 30, 10, 10, 10)
_SOURCES = {
    "books": "kindle",
    "articles": "reader",
    "tweets": "twitter",
    "podcasts": "snipd",
    "supplementals": "supplemental",
}
#: The location kinds, as `syncd.core.render.location` tells them apart.
LOCATION_KINDS = ("kindle", "page", "time_offset", "tweet", "url", "none")

_EPOCH = datetime(2016, 1, 1, tzinfo=timezone.utc)
_SPAN_SECONDS = int((datetime(2023, 1, 1, tzinfo=timezone.utc) - _EPOCH).total_seconds())

_ENGLISH_WORDS = (
    "the of and to in is that it was for on are as with his they at be this from have or by "
    "one had not but what all were when we there can an your which their said if do will each "
    "about how up out them then she many some so these would other into has more her two like "
    "him see time could no make than first been its who now people my made over did down only "
    "way find use may water long little very after words called just where most know get "
    "through back much before go good new write our used me man too any day same right look "
    "think also around another came come work three word must because does part even place "
    "well such here take why things help put years different away again off went old number "
    "attention memory habit craft practice notebook margin reading writing slowly patience "
    "garden river mountain library lantern compass harbour window morning evening silence"
)
_ENGLISH = tuple(_ENGLISH_WORDS.split())
_ACCENTED = (
    "café",
    "naïve",
    "façade",
    "Größe",
    "señor",
    "crème brûlée",
    "déjà vu",
    "Ærø",
    "Łódź",
    "Øresund",
    "São Paulo",
    "œuvre",
    "Ångström",
    "piñata",
    "Dvořák",
    "Ελληνικά",
    "Москва",
    "e\u0301te\u0301",
    "Zürich",
    "jalapeño",
)
_CJK = (
    "東京",
    "読書",
    "記憶",
    "学习",
    "知识",
    "생각",
    "책",
    "ひらがな",
    "漢字",
    "静か",
    "時間",
    "道",
    "山",
    "川",
    "書く",
    "忘れる",
    "한국어",
    "사람",
    "中文",
    "日本語",
)
_RTL = ("الكتاب", "المعرفة", "القراءة", "ذاكرة", "ספר", "זיכרון", "שלום", "קריאה", "مرحبا", "עברית")
_EMOJI = (
    "📚",
    "✨",
    "🔥",
    "🤔",
    "👍🏽",
    "🧠",
    "❤️",
    "🏳️\u200d🌈",
    "👨\u200d👩\u200d👧",
    "🇵🇹",
    "☕",
    "🎧",
    "🐦",
    "📝",
    "💡",
)
_MARKUP = (
    "[[a link]]",
    "#hashtag",
    "`code`",
    "**bold**",
    "_italic_",
    "{{embed}}",
    "((ref))",
    "a|b",
    "50%",
    "C:\\path",
    "<tag>",
    "&amp;",
    "key:: value",
    "TODO",
)
_FIRST_NAMES = (
    "Mara",
    "Ines",
    "Jonas",
    "Hattie",
    "Amir",
    "Yuki",
    "Chidi",
    "Sofía",
    "Zoë",
    "Björn",
    "Nadia",
    "Wei",
    "Noa",
    "Olu",
    "Priya",
    "Dmitri",
    "Ana",
    "Kenji",
)
_LAST_NAMES = (
    "Ellison",
    "Carvalho",
    "Reed",
    "Zhou",
    "Haddad",
    "Tanaka",
    "Okafor",
    "García",
    "Løvaas",
    "Nakamura",
    "Cohen",
    "Adeyemi",
    "Iyer",
    "Sokolov",
    "Müller",
    "佐藤",
    "김",
    "אברהם",
    "الحسيني",
)
_TITLE_WORDS = (
    "Patient",
    "Quiet",
    "Small",
    "Slow",
    "Deep",
    "Open",
    "Hidden",
    "Plain",
    "Long",
    "Careful",
    "Unfinished",
    "Curious",
    "Honest",
    "Second",
    "Last",
    "Useful",
    "Simple",
    "Broken",
    "Lost",
    "Workshop",
    "Garden",
    "Notebook",
    "Library",
    "River",
    "Habit",
    "Memory",
    "Attention",
    "Craft",
    "Harbour",
    "Lantern",
    "Compass",
    "Machine",
    "Archive",
    "Method",
    "Island",
    "Letters",
    "Maps",
    "Rules",
    "Tools",
    "Questions",
    "Years",
    "Lessons",
    "Stories",
    "Notes",
)


def _at(rng: random.Random) -> str:
    moment = _EPOCH + timedelta(
        seconds=rng.randrange(_SPAN_SECONDS), microseconds=rng.randrange(1_000_000)
    )
    return moment.isoformat(timespec="microseconds").replace("+00:00", "Z")


def _words(rng: random.Random, n: int) -> str:
    """A run of `n` words, mostly English, now and then in another script or with emoji."""
    out = []
    for _ in range(n):
        roll = rng.random()
        if roll < 0.84:
            out.append(rng.choice(_ENGLISH))
        elif roll < 0.89:
            out.append(rng.choice(_ACCENTED))
        elif roll < 0.93:
            out.append(rng.choice(_CJK))
        elif roll < 0.96:
            out.append(rng.choice(_RTL))
        elif roll < 0.985:
            out.append(rng.choice(_EMOJI))
        else:
            out.append(rng.choice(_MARKUP))
    return " ".join(out)


def _sentence(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.06:  # all CJK: no spaces, CJK punctuation
        return "".join(rng.choice(_CJK) for _ in range(rng.randint(4, 18))) + "。"
    if roll < 0.09:  # all right-to-left
        return " ".join(rng.choice(_RTL) for _ in range(rng.randint(3, 12))) + "."
    text = _words(rng, rng.randint(5, 28))
    return text[:1].upper() + text[1:] + rng.choice((".", ".", ".", "?", "!", "…", ";"))


def _paragraph(rng: random.Random, sentences: int) -> str:
    return " ".join(_sentence(rng) for _ in range(sentences))


def _multiline(rng: random.Random) -> str:
    """A text of several lines: paragraphs, a list, a quote; lines starting with `-`."""
    parts = [_paragraph(rng, rng.randint(1, 2))]
    for _ in range(rng.randint(1, 4)):
        shape = rng.random()
        if shape < 0.35:
            parts.append(
                "\n".join(f"- {_words(rng, rng.randint(2, 8))}" for _ in range(rng.randint(2, 5)))
            )
        elif shape < 0.5:
            parts.append(
                "\n".join(
                    f"{i}. {_words(rng, rng.randint(2, 8))}" for i in range(1, rng.randint(3, 6))
                )
            )
        elif shape < 0.6:
            parts.append("> " + _sentence(rng))
        elif shape < 0.7:
            parts.append("-- " + _sentence(rng) + "\n  indented " + _words(rng, 4))
        else:
            parts.append(_paragraph(rng, rng.randint(1, 3)))
    separator = "\n\n" if rng.random() < 0.5 else "\n"
    return separator.join(parts)


def _transcript(rng: random.Random) -> str:
    """A long text (2-8 KB), as podcast and video highlights carry."""
    size = rng.randint(2_000, 8_000)
    parts = [_paragraph(rng, 2), "", "Transcript:"]
    speaker = 1
    while sum(len(p) for p in parts) < size:
        parts += [f"Speaker {speaker}", _paragraph(rng, rng.randint(3, 8)), ""]
        speaker = 3 - speaker
    return "\n".join(parts).rstrip()


def _text(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.04:
        return _transcript(rng)
    if roll < 0.16:
        return _multiline(rng)
    return _paragraph(rng, rng.choice((1, 1, 1, 2, 2, 3)))


def _tags(rng: random.Random, pool: list[dict[str, Any]], most: int) -> list[dict[str, Any]]:
    return [dict(tag) for tag in rng.sample(pool, rng.randint(1, most))]


def _tag_pool(rng: random.Random) -> list[dict[str, Any]]:
    names = [
        "favorite",
        "to-read",
        "craft",
        "habits",
        "journaling",
        "ideas",
        "quote",
        "programming",
        "writing",
        "file names",
        "long tag name with spaces",
        "café",
        "読書",
        "ספר",
        "🔥",
        "a/b",
        "C++",
        "#nested",
        "[[link]]",
    ]
    names += [f"topic-{i}" for i in range(40)]
    return [{"id": 10_000 + i, "name": name} for i, name in enumerate(names)]


def highlight_counts(books: int, highlights: int, rng: random.Random) -> list[int]:
    """Split `highlights` over `books` (each at least one), long-tailed, capped per book."""
    if highlights < books:
        raise ValueError("need at least one highlight per book")
    cap = max(50, highlights // 40)
    weights = [min(rng.paretovariate(1.16), 1e6) for _ in range(books)]
    spare = highlights - books
    while True:  # capped books give their excess to the others, by weight
        total = sum(weights)
        counts = [1 + int(spare * w / total) for w in weights]
        over = [i for i, c in enumerate(counts) if c > cap]
        if not over:
            break
        for i in over:
            weights[i] = weights[i] * (cap - 1) / (counts[i] - 1)
    short = highlights - sum(counts)
    order = sorted(range(books), key=lambda i: -weights[i])
    k = 0
    while short > 0:  # the remainder, one each to the heaviest books below the cap
        i = order[k % books]
        if counts[i] < cap:
            counts[i] += 1
            short -= 1
        k += 1
    return counts


def _title(rng: random.Random, category: str, book_id: int) -> str:
    roll = rng.random()
    if roll < 0.02:  # titles many libraries share
        return rng.choice(("Notes", "Untitled", "Introduction", "How to Read a Book"))
    if roll < 0.03:  # too long for a file name
        return " ".join(rng.choice(_CJK + _TITLE_WORDS) for _ in range(90))
    if roll < 0.06:  # characters file names must encode
        return f"{rng.choice(_TITLE_WORDS)}/{rng.choice(_TITLE_WORDS)}: Why? #{book_id} | A|B"
    if roll < 0.10:
        return f"{rng.choice(_CJK)}{rng.choice(_CJK)} — {rng.choice(_RTL)} {rng.choice(_EMOJI)}"
    words = " ".join(rng.choice(_TITLE_WORDS) for _ in range(rng.randint(2, 4)))
    if category == "tweets":
        return f"Tweets From @{rng.choice(_FIRST_NAMES).lower()}_{book_id}"
    if category == "podcasts":
        return f"Episode {book_id % 400} — {words}"
    if category == "supplementals":
        return f"Supplemental: {words}"
    if rng.random() < 0.3:
        return f"The {words}: {rng.choice(_TITLE_WORDS)} and {rng.choice(_TITLE_WORDS)}"
    return f"The {words}"


def _location_kind(rng: random.Random, category: str, asin: str | None) -> str:
    if category == "books":
        return "kindle" if asin else rng.choice(("page", "none"))
    if category == "articles":
        return rng.choice(("url", "url", "page"))
    if category == "tweets":
        return "tweet"
    if category == "podcasts":
        return "time_offset"
    return rng.choice(("none", "url"))


def _highlight(
    rng: random.Random,
    highlight_id: int,
    book_id: int,
    kind: str,
    n: int,
    tag_pool: list[dict[str, Any]],
    at: str | None = None,
) -> dict[str, Any]:
    location, location_type, url = {
        "kindle": (n * 37 + rng.randint(0, 30), "location", None),
        "page": (
            n + 1,
            "page",
            rng.choice((None, f"https://read.readwise.io/read/p{highlight_id}")),
        ),
        "time_offset": (
            n * 95 + rng.randint(0, 90),
            "time_offset",
            f"https://share.snipd.com/snip/{highlight_id:08x}",
        ),
        "tweet": (
            n + 1,
            "order",
            f"https://twitter.com/someone/status/{1_590_000_000 + highlight_id}",
        ),
        "url": (n * 211, "offset", f"https://read.readwise.io/read/h{highlight_id}"),
        "none": (None, None, None),
    }[kind]
    stamp = at or _at(rng)
    roll = rng.random()
    return {
        "id": highlight_id,
        "text": _text(rng),
        "location": location,
        "location_type": location_type,
        "note": (_paragraph(rng, rng.randint(1, 2)) if rng.random() < 0.8 else _multiline(rng))
        if rng.random() < 0.2
        else "",
        "color": rng.choice(("yellow", "blue", "pink", "orange", "")),
        "highlighted_at": stamp,
        "created_at": stamp,
        "updated_at": stamp,
        "external_id": None,
        "end_location": None,
        "url": url,
        "book_id": book_id,
        "tags": _tags(rng, tag_pool, 3) if rng.random() < 0.15 else [],
        "is_favorite": rng.random() < 0.05,
        "is_discard": roll < 0.002,
        "is_deleted": 0.002 <= roll < 0.005,
        "readwise_url": f"https://readwise.io/open/{highlight_id}",
    }


def iter_books(
    books: int, highlights: int | None = None, *, seed: int = 0
) -> Iterator[dict[str, Any]]:
    """Yield the export records of a library of `books` books holding `highlights` highlights
    (default ten per book), the same for the same arguments."""
    highlights = 10 * books if highlights is None else highlights
    rng = random.Random(f"syncd-benchmark-{seed}")
    counts = highlight_counts(books, highlights, rng)
    tag_pool = _tag_pool(rng)
    next_highlight = 1
    for index, count in enumerate(counts):
        book_id = index + 1
        category = rng.choices(CATEGORIES, _CATEGORY_WEIGHTS)[0]
        asin = f"B0{book_id:08d}" if category == "books" and rng.random() < 0.8 else None
        title = _title(rng, category, book_id)
        kind = _location_kind(rng, category, asin)
        author = f"{rng.choice(_FIRST_NAMES)} {rng.choice(_LAST_NAMES)}"
        source_url = None
        if category in ("articles", "tweets", "podcasts"):
            source_url = f"https://example.com/{category}/{book_id}?ref=syncd&q=a%20b"
        record = {
            "user_book_id": book_id,
            "title": title + (f" ({author})" if rng.random() < 0.1 else ""),
            "readable_title": title,
            "author": (
                author if category != "tweets" else f"@{author.split()[0].lower()} on Twitter"
            ),
            "source": _SOURCES[category],
            "cover_image_url": f"https://images.example.com/{book_id}.jpg",
            "unique_url": (
                f"https://read.readwise.io/read/b{book_id}" if category == "articles" else None
            ),
            "summary": _paragraph(rng, 2) if category == "articles" and rng.random() < 0.5 else "",
            "book_tags": _tags(rng, tag_pool, 4) if rng.random() < 0.2 else [],
            "category": category,
            "document_note": _multiline(rng) if rng.random() < 0.05 else "",
            "readwise_url": f"https://readwise.io/bookreview/{book_id}",
            "source_url": source_url,
            "asin": asin,
            "is_deleted": False,
            "highlights": [
                _highlight(rng, next_highlight + n, book_id, kind, n, tag_pool)
                for n in range(count)
            ],
        }
        next_highlight += count
        yield record


def generate(books: int, highlights: int | None = None, *, seed: int = 0) -> list[dict[str, Any]]:
    """Return the records `iter_books` yields, as a list."""
    return list(iter_books(books, highlights, seed=seed))


def new_highlight(
    book: dict[str, Any], highlight_id: int, *, seed: int = 0, at: str | None = None
) -> dict[str, Any]:
    """Return one more highlight for `book` (an export record), shaped like its others; give
    `at` (ISO 8601) for its times, or leave them out for the server to stamp."""
    rng = random.Random(f"syncd-benchmark-new-{seed}-{highlight_id}")
    existing = book["highlights"]
    kind = "none"
    if existing:
        first = existing[0]
        kind = {
            "location": "kindle",
            "page": "page",
            "time_offset": "time_offset",
            "order": "tweet",
            "offset": "url",
        }.get(first["location_type"] or "", "none")
        if kind == "kindle" and not book.get("asin"):
            kind = "none"
    record = _highlight(
        rng,
        highlight_id,
        book["user_book_id"],
        kind,
        len(existing),
        _tag_pool(random.Random(0)),
        at=at,
    )
    record["is_deleted"] = record["is_discard"] = False
    if at is None:
        for name in ("highlighted_at", "created_at", "updated_at"):
            del record[name]
    return record
