"""Cheap polling: entity tags, `If-None-Match` and `Cache-Control` (RFC 9110, RFC 9111).

Every 200 of the API carries a weak entity tag (`W/"..."`): its bodies differ from one
call to the next in fields that only the clock changes (a status document's
`observed_at`, a page's `generated_at`), so no two are byte for byte the same, and a
strong tag would promise that. A request whose `If-None-Match` matches the answer's
tag (weak comparison, as RFC 9110 13.1.2 requires for this field; a list of tags; `*`)
gets `304 Not Modified` without a body. Only an answer that would have been 2xx is
ever turned into a 304: preconditions are ignored for any other (RFC 9110 13.2.1),
so a failing fleet (503) and a problem are always sent whole.

A malformed `If-None-Match` is ignored, never refused: the answer is then the whole
200, which is what a client that cannot spell the header gets from any cache.
"""

from __future__ import annotations

import re
from typing import Final

# entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE; etagc = %x21 / %x23-7E / obs-text.
_ENTITY_TAG: Final = re.compile(r'(W/)?"([\x21\x23-\x7e\x80-\xff]*)"')
# A list's commas, with white space and empty elements (RFC 9110 5.6.1: recipients
# accept `"a", , "b"`).
_LIST_SEPARATOR: Final = re.compile(r"[ \t]*,[ \t,]*")

# Answers that must not be kept by any cache: problems (a refusal or a failure is
# about one request, and a cached 5xx would hide the recovery).
NO_STORE: Final = "no-store"
# The status route fetches the upstream on every call: a copy may be kept, but must
# be revalidated each time (the 304 then saves the body, not the upstream call).
REVALIDATE: Final = "no-cache"
# How long a store read may be reused without asking again: a tenth of a poll, the
# staleness threshold being three polls (STALE_AFTER / 30), from 1 s to 60 s.
MAX_AGE_DIVISOR: Final = 30
MAX_AGE_SECONDS: Final = (1, 60)


def weak_etag(opaque: str) -> str:
    """`W/"<opaque>"`; `opaque` is ours (hex digits and '-'), never a caller's text."""
    return f'W/"{opaque}"'


def store_read_cache_control(stale_after_seconds: float) -> str:
    """Cache-Control of an answer read from the snapshot store (see MAX_AGE_DIVISOR)."""
    low, high = MAX_AGE_SECONDS
    seconds = min(max(int(stale_after_seconds // MAX_AGE_DIVISOR), low), high)
    return f"max-age={seconds}"


def _opaque_tag(tag: str) -> str | None:
    match = _ENTITY_TAG.fullmatch(tag)
    return None if match is None else match[2]


def none_match(header: str | None, etag: str) -> bool:
    """Whether `If-None-Match: header` matches `etag` by weak comparison (RFC 9110
    8.8.3.2: the opaque tags are equal, either or both may be weak). `*` matches any
    current representation; a header with any member that is not an entity tag
    matches nothing, whatever else it lists."""
    if header is None:
        return False
    value = header.strip(" \t")
    if value == "*":
        return True
    mine = _opaque_tag(etag)
    if mine is None or not value:
        return False
    # The whole list is read before any tag counts: a header that is not a list of
    # entity tags is ignored whole, wherever its bad member stands.
    tags: set[str] = set()
    position = len(value) - len(value.lstrip(" \t,"))  # leading empty elements
    while position < len(value):
        match = _ENTITY_TAG.match(value, position)
        if match is None:
            return False  # not a list of entity tags
        tags.add(match[2])
        position = match.end()
        separator = _LIST_SEPARATOR.match(value, position)
        if separator is None:
            if position < len(value):
                return False  # a tag run into other text (`W/"x"y`, a NUL): not a list
            break
        position = separator.end()
    return mine in tags
