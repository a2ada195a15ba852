"""The lenient reader for error answers: their top-level members, whatever else they hold.

The one parser (`jsoncodec.loads`) refuses a body past its bounds; an error answer is
read for its code only, and a DLF.0100 beside a field nested 1,000 deep must still mean
that the job does not exist. Imported on the first error answer: most processes never
read one, and a cold start compiles every module it imports.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Collection
from typing import Final, NamedTuple

_WHITE = re.compile(r"[ \t\n\r]*")
_NESTED = re.compile(r'["\[\]{}]')
_BARE = re.compile(r"[^ \t\n\r,}\]]*")
_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
# Tokens read before an error body is given up on: far more than any error answer
# has, far fewer than the value bound (an error answer is read only for its code).
MAX_ERROR_TOKENS: Final = 100_000


# The standard library's JSON string decoder (C-accelerated): escapes, a lone surrogate
# kept, control characters allowed with strict=False. Not in the typing stubs.
_scan_string: Callable[[str, int, bool], tuple[str, int]] = json.decoder.scanstring  # type: ignore[attr-defined]


class _Unreadable(Exception):
    """The body stops being readable here: keep what was read before."""


def _after_white(text: str, at: int) -> int:
    white = _WHITE.match(text, at)
    return at if white is None else white.end()


def _string_at(text: str, at: int) -> tuple[str, int]:
    try:
        return _scan_string(text, at + 1, False)
    except (json.JSONDecodeError, ValueError, IndexError):
        raise _Unreadable from None


def _skip_nested(text: str, at: int, budget: list[int], repeats: _Repeats) -> int:
    """The position after the array or object that starts at `at`, noting the first
    name one of its objects repeats: an error answer that repeats one is ambiguous at
    any depth, as a 200 is. Each open object keeps the names it has seen."""
    names: list[set[str] | None] = []  # per open bracket: an object's names, or None
    while True:
        budget[0] -= 1
        found = _NESTED.search(text, at)
        if found is None or budget[0] < 0:
            raise _Unreadable
        char, at = found.group(), found.end()
        if char == '"':
            name, at = _string_at(text, found.start())
            seen = names[-1] if names else None
            if seen is not None and text.startswith(":", _after_white(text, at)):
                repeats.note(name, seen)
        elif char in "[{":
            names.append(set() if char == "{" else None)
        else:
            names.pop()
            if not names:
                return at


class _Repeats:
    """The first member name an object repeats, as far as the body was read."""

    def __init__(self) -> None:
        self.first: str | None = None

    def note(self, name: str, seen: set[str]) -> None:
        if name in seen:
            if self.first is None:
                self.first = name
        else:
            seen.add(name)


class ErrorMembers(NamedTuple):
    """What `read_members` read: the wanted top-level members, and the first name that
    an object repeats (at any depth, in what was read), or None."""

    values: dict[str, str | None]
    repeated: str | None


def read_members(data: bytes, wanted: Collection[str]) -> ErrorMembers:
    """The `wanted` top-level members of a JSON object, as text, never reading deeper.

    For error answers, whose code decides what a failure means: a DLF.0100 stays
    "job not found" whatever else the body holds (nesting past any limit, huge
    numbers, lone surrogates, bytes that are not UTF-8, trailing garbage). Strings
    are decoded (a lone surrogate kept: the caller cleans the text), numbers kept as
    written (never converted: a 5,000-digit code is text), anything else None. Reading stops at
    the first thing that is not a member, after MAX_ERROR_TOKENS tokens, or at the
    end. A name repeated in any object read (decoded: `"c\\u006fde"` is `"code"`) is
    reported, not resolved: which value the upstream meant is unknown, and the caller
    must not take either. Never raises.
    """
    text = data.decode("utf-8", errors="replace").removeprefix("\ufeff")
    found: dict[str, str | None] = {}
    repeats, names = _Repeats(), set[str]()
    budget = [MAX_ERROR_TOKENS]
    at = _after_white(text, 0)
    if not text.startswith("{", at):
        return ErrorMembers(found, None)
    at += 1
    try:
        while budget[0] > 0:
            budget[0] -= 1
            at = _after_white(text, at)
            if not text.startswith('"', at):
                break
            key, at = _string_at(text, at)
            at = _after_white(text, at)
            if not text.startswith(":", at):
                break
            repeats.note(key, names)
            at = _after_white(text, at + 1)
            value: str | None
            if text.startswith('"', at):
                value, at = _string_at(text, at)
            elif text.startswith(("[", "{"), at):
                value, at = None, _skip_nested(text, at, budget, repeats)
            else:
                end = _BARE.match(text, at)
                stop = at if end is None else end.end()
                bare = text[at:stop]  # a number is kept as written; true, null...: None
                value, at = (bare if _NUMBER.fullmatch(bare) else None), stop
            if key in wanted:
                found[key] = value
            at = _after_white(text, at)
            if not text.startswith(",", at):
                break
            at += 1
    except _Unreadable:
        pass
    return ErrorMembers(found, repeats.first)
