"""Readwise's v2 write endpoints for highlights, answered from a `Library`: what the loopback
server (`syncd.testing.fakereadwise.FakeReadwise`) sends over HTTP and what the in-memory twin
(`syncd.testing.readwise_twin.ReadwiseTwin`) hands its caller, from one place, so the two
cannot drift apart.

What Readwise documents (its API page, https://readwise.io/api_deets, and its help page on
action tags), as this module follows it:

- Every request carries `Authorization: Token <token>`; a token Readwise does not know gets 401.
  The base rate is 240 requests a minute per token (the highlight and book LIST endpoints: 20);
  over it, 429 with `Retry-After` in seconds.
- Highlight UPDATE: `PATCH /api/v2/highlights/<id>/` with a JSON object holding only the fields
  to change (`text`, `note`, and others syncd never sends: location, url, color); answers 200
  with the highlight. A highlight's `text` is at most 8,191 characters (the documented limit
  of the highlight CREATE endpoint, whose fields UPDATE shares); the `note` is held to the same
  8,191 here (an assumption: the stored copy of the page did not show the note's limit).
- Highlight tags: `GET /api/v2/highlights/<id>/tags/` lists a highlight's tags (`id`, `name`),
  paged as Readwise's other v2 lists are (`count`, `next`, `previous`, `results`; `page`,
  `page_size`); `POST` to the same path with `{"name": ...}` adds one (201 with the tag);
  `DELETE /api/v2/highlights/<id>/tags/<tag id>/` removes one (204, no body).
- Inline tagging: "start any note with a . and follow it with a single word (no spaces)" and
  the highlight gets that word as a tag. Here, read as narrowly as syncd's own view of it
  (`syncd.core.three_way.readwise_view`): a PATCH'd note that is one period-word (white space
  around it aside), e.g. `.probability`, becomes the tag `probability` and leaves an empty
  note; a note with anything more (`.a .b`, `.tag and text`) stays a note as it is, and `.c1`,
  `.c2`... (the concatenation action, not a tag) too. A tag the highlight has already is not
  added twice.

What the page does not say, and what this module does (each one a choice, said here so a
contract test can hold both sides to it):

- Validation errors are Django REST framework's: 400 with `{"<field>": ["<message>"]}`; a body
  that is not a JSON object: 400 with `{"detail": ...}`. An empty `text` is refused ("may not
  be blank"), an empty `note` is allowed (it clears the note); `null` is refused for both.
  A tag name is trimmed (as DRF's character fields are) and must not then be empty.
- An unknown highlight, and one deleted in Readwise (`is_deleted`), answer 404
  `{"detail": "Not found."}`; so does a tag id the highlight does not carry.
- POST of a tag the highlight already carries (same name after trimming) answers 200 with the
  existing tag, adding nothing (Readwise's own answer is not documented; this is the
  idempotent one, and what a retried POST needs).
- Every change (PATCH, a tag added or removed) sets the highlight's `updated_at` to the
  server's clock, so that the next export (`updatedAfter`) lists it with its new values.
- A token set up as read-only (`read_only`) gets 403 `{"detail": "You do not have permission
  to perform this action."}` on every write; reads go on.
- The highlight in an answer is shaped as the export shapes it (with `updated_at`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from syncd.testing.library import Library

__all__ = [
    "MAX_NOTE",
    "MAX_TEXT",
    "WRITE_PATH",
    "Answer",
    "answer_write",
    "inline_tags",
    "is_write_path",
]

MAX_TEXT = 8191
MAX_NOTE = 8191
WRITE_PATH = "/api/v2/highlights/"  # every path below it is a write endpoint's (or its list)
TAGS_PAGE_SIZE = 100  # tags per page of a highlight's tag list (the `page_size` default)
MAX_PAGE_SIZE = 1000

_HIGHLIGHT = re.compile(r"^/api/v2/highlights/(\d+)/$")
_TAGS = re.compile(r"^/api/v2/highlights/(\d+)/tags/$")
_TAG = re.compile(r"^/api/v2/highlights/(\d+)/tags/(\d+)/$")
_INLINE_TAG = re.compile(r"\.([^\s.]\S*)")
_CONCATENATION = re.compile(r"c\d+", re.IGNORECASE)

_Handler = Callable[[Library, dict[str, Any], list[int], Mapping[str, str], bytes], "Answer"]

NOT_FOUND = {"detail": "Not found."}
NO_PERMISSION = {"detail": "You do not have permission to perform this action."}


@dataclass(frozen=True)
class Answer:
    """An answer to a write request: its status and JSON body (None: no body)."""

    status: int
    body: Any = None


def is_write_path(path: str) -> bool:
    """Whether `path` (ending in a slash) is one of the highlight endpoints of this module."""
    return path.startswith(WRITE_PATH) and path != WRITE_PATH


def inline_tags(note: str) -> tuple[list[str], str]:
    """Given a note, return the tags Readwise's inline tagging takes from it and the note it
    leaves: `([word], "")` for a note that is one `.word`, else `([], note)`."""
    match = _INLINE_TAG.fullmatch(note.strip())
    if match is None or _CONCATENATION.fullmatch(match.group(1)):
        return [], note
    return [match.group(1)], ""


def answer_write(
    library: Library,
    method: str,
    path: str,
    query: Mapping[str, str],
    body: bytes,
    *,
    read_only: bool = False,
) -> Answer:
    """Given a request to a highlight endpoint (the token already accepted), change `library`
    as Readwise would and return the answer (see the module doc)."""
    if match := _HIGHLIGHT.match(path):
        methods = {"GET": _get_highlight, "PATCH": _patch_highlight}
    elif match := _TAGS.match(path):
        methods = {"GET": _list_tags, "POST": _add_tag}
    elif match := _TAG.match(path):
        methods = {"DELETE": _remove_tag}
    else:
        return Answer(404, NOT_FOUND)
    handler: _Handler | None = methods.get(method)
    if handler is None:
        return Answer(405, {"detail": f'Method "{method}" not allowed.'})
    if read_only and method != "GET":
        return Answer(403, NO_PERMISSION)
    ids = [int(group) for group in match.groups()]
    with library.lock:
        try:
            highlight = library.highlight(ids[0])
        except KeyError:
            return Answer(404, NOT_FOUND)
        if highlight.get("is_deleted"):
            return Answer(404, NOT_FOUND)
        return handler(library, highlight, ids, query, body)


def _get_highlight(
    library: Library,
    highlight: dict[str, Any],
    ids: list[int],
    query: Mapping[str, str],
    body: bytes,
) -> Answer:
    return Answer(200, highlight)


def _patch_highlight(
    library: Library,
    highlight: dict[str, Any],
    ids: list[int],
    query: Mapping[str, str],
    body: bytes,
) -> Answer:
    given = _json_object(body)
    if isinstance(given, Answer):
        return given
    problems: dict[str, list[str]] = {}
    changes: dict[str, Any] = {}
    for field, limit, blank_ok in (("text", MAX_TEXT, False), ("note", MAX_NOTE, True)):
        if field not in given:
            continue
        value = given[field]
        if value is None:
            problems[field] = ["This field may not be null."]
        elif not isinstance(value, str):
            problems[field] = ["Not a valid string."]
        elif not value.strip() and not blank_ok:
            problems[field] = ["This field may not be blank."]
        elif len(value) > limit:
            problems[field] = [f"Ensure this field has no more than {limit} characters."]
        else:
            changes[field] = value
    if problems:
        return Answer(400, problems)
    if "note" in changes:
        names, changes["note"] = inline_tags(changes["note"])
        tags = list(highlight["tags"])
        held = {tag["name"] for tag in tags}
        for name in names:
            if name not in held:
                tags.append(name)  # the library gives it an id
                held.add(name)
        if names:
            changes["tags"] = tags
    return Answer(200, library.update_highlight(ids[0], **changes))


def _list_tags(
    library: Library,
    highlight: dict[str, Any],
    ids: list[int],
    query: Mapping[str, str],
    body: bytes,
) -> Answer:
    try:
        page = int(query.get("page", "1"))
        size = min(int(query.get("page_size", str(TAGS_PAGE_SIZE))), MAX_PAGE_SIZE)
    except ValueError:
        return Answer(404, {"detail": "Invalid page."})
    tags = [{"id": tag["id"], "name": tag["name"]} for tag in highlight["tags"]]
    pages = max(1, -(-len(tags) // max(size, 1)))
    if page < 1 or page > pages or size < 1:
        return Answer(404, {"detail": "Invalid page."})
    path = f"{WRITE_PATH}{ids[0]}/tags/"
    return Answer(
        200,
        {
            "count": len(tags),
            "next": f"{path}?page={page + 1}&page_size={size}" if page < pages else None,
            "previous": f"{path}?page={page - 1}&page_size={size}" if page > 1 else None,
            "results": tags[(page - 1) * size : page * size],
        },
    )


def _add_tag(
    library: Library,
    highlight: dict[str, Any],
    ids: list[int],
    query: Mapping[str, str],
    body: bytes,
) -> Answer:
    given = _json_object(body)
    if isinstance(given, Answer):
        return given
    name = given.get("name")
    if "name" not in given:
        return Answer(400, {"name": ["This field is required."]})
    if not isinstance(name, str):
        return Answer(400, {"name": ["Not a valid string."]})
    name = name.strip()
    if not name:
        return Answer(400, {"name": ["This field may not be blank."]})
    for tag in highlight["tags"]:
        if tag["name"] == name:
            return Answer(200, {"id": tag["id"], "name": tag["name"]})
    stored = library.update_highlight(ids[0], tags=[*highlight["tags"], name])
    tag = next(t for t in stored["tags"] if t["name"] == name)
    return Answer(201, {"id": tag["id"], "name": tag["name"]})


def _remove_tag(
    library: Library,
    highlight: dict[str, Any],
    ids: list[int],
    query: Mapping[str, str],
    body: bytes,
) -> Answer:
    kept = [tag for tag in highlight["tags"] if tag["id"] != ids[1]]
    if len(kept) == len(highlight["tags"]):
        return Answer(404, NOT_FOUND)
    library.update_highlight(ids[0], tags=kept)
    return Answer(204)


def _json_object(body: bytes) -> dict[str, Any] | Answer:
    """The request's body as a JSON object, or the 400 answer to it."""
    try:
        value = json.loads(body.decode("utf-8")) if body else {}
    except (UnicodeDecodeError, ValueError) as error:
        return Answer(400, {"detail": f"JSON parse error - {error}"})
    if not isinstance(value, dict):
        return Answer(400, {"non_field_errors": ["Invalid data. Expected a dictionary."]})
    return value
