"""JSON in and out: the one place upstream bytes become values. Exact, bounded, strict.

`loads` turns any bytes into a value or a `JsonDecodeError` that says why; it never
raises anything else. What it accepts is what everything after it (validation,
normalisation, encoding, hashing, problems, logs) is built to take:

* strict JSON (RFC 8259) in UTF-8, no byte order mark, no NaN or Infinity, no number
  that overflows a float, and no lone surrogate escape (`\\ud800`): I-JSON (RFC 7493)
  text, so every string is Unicode that encodes to UTF-8 anywhere it goes;
* at most MAX_DEPTH nested arrays and objects, MAX_VALUES values (keys included) and
  MAX_INTEGER_DIGITS digits per integer. The first two are checked on the bytes,
  before any Python object is built (an 8 MiB body of `[]` would otherwise take some
  200 MB); the digits while parsing, before `int()` meets Python's 4,300-digit limit;
* no object that repeats a member name (I-JSON, RFC 7493, again): a parser keeps one
  of the values and loses the other silently, so a body that repeats a name, at any
  depth, is refused with the name and where (`JsonRepeatedName`). Names are compared
  as decoded: `"st\\u0061tus"` repeats `"status"`.

orjson is fast, but it turns integers beyond 64 bits into floats on the way in (a
silent loss: the upstream's byte counters are unbounded) and refuses them on the way
out. Both directions therefore fall back to the standard library when a long run of
digits is present, and the choice depends on the input alone, so the same body
always gives the same bytes.

Error answers are read leniently by `errorbody.read_members`, which reads an object's
top-level members whatever the rest of the body holds.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping
from operator import itemgetter
from typing import Any, Final, NamedTuple

import orjson

from dlf_status.domain import paths

# The bounds on one upstream answer's JSON (README: "Bounds on one answer"). Past any
# of them the answer is refused before it is built into Python objects.
MAX_DEPTH: Final = 64  # nested arrays and objects
MAX_VALUES: Final = 200_000  # keys, strings, numbers, literals, arrays and objects
MAX_INTEGER_DIGITS: Final = 100  # an integer's digits (Python refuses str() past 4,300)


class JsonLimits(NamedTuple):
    depth: int
    values: int
    integer_digits: int


UPSTREAM: Final = JsonLimits(MAX_DEPTH, MAX_VALUES, MAX_INTEGER_DIGITS)
# Documents dlf-status wrote itself, read back: a normalised body is at most two
# levels deeper (`nodes[i].extra.key`) and adds a few dozen values per node.
STORED: Final = JsonLimits(MAX_DEPTH + 8, 4 * MAX_VALUES, MAX_INTEGER_DIGITS)

# 19 digits can already leave the signed 64-bit range. The scan maps every digit to
# NUL and looks for 19 in a row: ten times faster than the regex [0-9]{19} (which
# costs more than orjson's whole parse), and a NUL already in the body only sends
# it to the exact path.
_DIGITS_TO_NUL = bytes.maketrans(b"0123456789", b"\x00" * 10)
_LONG_DIGIT_RUN = b"\x00" * 19
# The structure projection (`_structure`): the quotes, brackets and colons of a body.
_KEEP_STRUCTURE = bytes(byte for byte in range(256) if byte not in b'"[]{}:')
_KEEP_VALUE_MARKS = bytes(byte for byte in range(256) if byte not in b"[{,:")
# Regular expressions are compiled on first use (re caches them): they serve rare
# paths only, and compiling them all at import cost more than a millisecond of cold start.
_STRING_IN_PROJECTION = b'"[^"]*"'
# A surrogate escape, as a valid pair (one character) or alone (refused).
_SURROGATE_ESCAPES = (
    rb"\\u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}|\\u[dD][89a-fA-F][0-9a-fA-F]{2}"
)


class JsonDecodeError(ValueError):
    """The bytes are not one JSON document we accept (see the module docstring)."""


class JsonLimitExceeded(JsonDecodeError):
    """Valid JSON, perhaps, but past one of the bounds on one answer."""


class JsonRepeatedName(JsonDecodeError):
    """Valid JSON, but an object repeats a member name: whichever value a reader kept,
    the other would be lost. `name` and `path` are the upstream's text, raw: a caller
    that echoes them cleans them first (the message shows them cut and escaped)."""

    def __init__(self, name: str, path: str) -> None:
        shown = json.dumps(name[:60]) + ("..." if len(name) > 60 else "")
        where = json.dumps(path[:120])[1:-1] + ("..." if len(path) > 120 else "")
        super().__init__(f"an object repeats the member {shown} (at {where})")
        self.name = name
        self.path = path


def _without_escaped_quotes(data: bytes) -> bytes:
    """The body with every `\\\\` and `\\"` escape removed: every `"` left delimits a
    string (in valid JSON; anything else the parser refuses anyway)."""
    if b"\\" not in data:
        return data
    return data.replace(b"\\\\", b"").replace(b'\\"', b"")


def _outside_strings(projection: bytes) -> bytes:
    """A projection of the body that kept `"`, with every string's content removed."""
    unquoted = projection.translate(None, b'"')
    quotes = len(projection) - len(unquoted)
    # Counted left to right, adjacent pairs cover every quote only when each string
    # holds nothing the projection kept: the common case, and the quotes can just go.
    if quotes == 0 or 2 * projection.count(b'""') == quotes:
        return unquoted
    # Two adjacent quotes only ever enclose nothing the projection kept: dropping
    # them leaves every other quote its role. Then what strings remain.
    return re.sub(_STRING_IN_PROJECTION, b"", projection.replace(b'""', b""))


def _structure(data: bytes) -> bytes:
    """The body's `"`, brackets and `:` (strings' own included), once every `\\\\` and
    `\\"` escape is removed: one pass over the body, which both the depth bound and
    the repeated-name check read (about a sixth of a status answer's bytes)."""
    return _without_escaped_quotes(data).translate(None, _KEEP_STRUCTURE)


def _deeper_than(data: bytes, limit: int) -> bool:
    """Whether the arrays and objects in `data` nest more than `limit` deep."""
    return _nested_deeper_than(_structure(data), limit)


def _nested_deeper_than(structure: bytes, limit: int) -> bool:
    """`_deeper_than`, read from the body's structure projection.

    Every level opens with a bracket: a body with no more of them than `limit`
    (strings' brackets included) is not deeper, which settles small answers. Else
    the innermost `[]` and `{}` pairs are peeled off the bracket projection, one
    level per pass: a few passes over a few kilobytes for real answers. Unbalanced
    brackets stop the count (the parser then says where the body is broken)."""
    objects = structure.count(b"{")  # the commoner: a long answer stops here
    if objects <= limit and objects + structure.count(b"[") <= limit:
        return False
    # Colons first: a string whose only kept bytes were `:` (`"obs://..."`) is then
    # `""` like the rest, and the quotes go without the regex.
    brackets = _outside_strings(structure.translate(None, b":"))
    depth = 0
    while brackets and depth <= limit:
        # Both kinds of pair at once, none made by this pass: `{[]}` is two levels.
        inner = brackets.replace(b"[]", b".").replace(b"{}", b".").translate(None, b".")
        if len(inner) == len(brackets):
            break
        brackets, depth = inner, depth + 1
    return depth > limit


def _values(data: bytes) -> int:
    """How many values (keys included) `data` holds: every value but the first
    follows a `[`, `{`, `,` or `:`, and each empty array or object has one too many.
    Strings become a placeholder value, so `[""]` is not an empty array."""
    text = _without_escaped_quotes(data).translate(None, b" \t\n\r")
    text = re.sub(_STRING_IN_PROJECTION, b"0", text)
    separators = sum(text.count(mark) for mark in (b"[", b"{", b",", b":"))
    return separators + 1 - text.count(b"[]") - text.count(b"{}")


def _bounded_structure(data: bytes, limits: JsonLimits) -> bytes:
    """Raise JsonLimitExceeded when `data` is deeper or holds more values than allowed;
    else return the structure projection it read (`_structure`).

    Works on the bytes only, so nothing is built for a body that is refused. A value
    takes at least two bytes (`0,`): shorter bodies cannot hold too many, and a count
    that includes separators inside strings is an upper bound that is usually enough.
    """
    if (len(data) + 1) // 2 > limits.values and (
        len(data.translate(None, _KEEP_VALUE_MARKS)) + 1 > limits.values
    ):
        values = _values(data)
        if values > limits.values:
            raise JsonLimitExceeded(f"it holds {values:,} values, more than {limits.values:,}")
    structure = _structure(data)
    if _nested_deeper_than(structure, limits.depth):
        raise JsonLimitExceeded(f"it is nested deeper than {limits.depth} levels")
    return structure


# -- repeated member names -------------------------------------------------------------
#
# orjson and `json` keep the last of repeated names, and neither says so. Counting every
# object's members on the hot path in Python would cost more than the parse, so the
# check compares two counts taken at C speed: every `:` in the body is a member's or
# inside a string; written back by orjson, the parsed value has one `:` per member it
# kept and the same strings (`\\u003a` escapes become `:`, which is allowed for).
# Equal counts prove that no member was dropped; a body that falls short is then read
# once more, slowly and exactly, for the name and its place.


class _Members(list[tuple[str, Any]]):
    """One object's members in their order, repeats kept (the exact reading's objects)."""


def _colons_written(value: Any) -> int:
    try:
        return orjson.dumps(value).count(b":")
    except orjson.JSONEncodeError:  # integers beyond 64 bits: the C encoder of `json`
        return json.dumps(value).count(":")


def _may_repeat_names(data: bytes, colons: int, value: Any) -> bool:
    """False when no object of `data` (parsed as `value`; `colons` is how many `:` the
    body holds) can have repeated a name.

    Without repeats, the value written back holds as many `:` as the body, plus one per
    `\\u003a` escape the body decoded; each dropped member takes at least its own `:`
    away. A `\\\\u003a` (an escaped backslash, then text) is counted as an escape too:
    that can only send a body without repeats to the exact reading, never the reverse."""
    escaped = 0
    if b"\\" in data:
        escaped = data.count(b"\\u003a") + data.count(b"\\u003A")
    return _colons_written(value) != colons + escaped


def _first_repeat(value: Any) -> tuple[str, str] | None:
    """The first repeated name in document order, and the path of its object."""
    pending: list[tuple[Any, str]] = [(value, paths.ROOT)]
    while pending:
        item, path = pending.pop()
        if isinstance(item, _Members):
            seen: set[str] = set()
            for key, _ in item:
                if key in seen:
                    return key, path
                seen.add(key)
            children: list[tuple[str | int, Any]] = list(item)
        elif isinstance(item, list):
            children = list(enumerate(item))
        else:
            continue
        # Only arrays and objects are walked, and only they are given a path.
        pending.extend(
            (child, paths.child(path, key))
            for key, child in reversed(children)
            if isinstance(child, list)
        )
    return None


def find_repeated_name(data: bytes) -> tuple[str, str] | None:
    """The first member name an object of `data` repeats, and where; None if none does.

    The slow, exact reading: every object kept as its list of members. Numbers are
    kept as text (none is converted), so it takes any JSON the parsers accepted."""
    try:
        value = json.loads(
            data.decode("utf-8"),
            object_pairs_hook=_Members,
            parse_int=str,
            parse_float=str,
            parse_constant=str,
        )
    except (ValueError, RecursionError):
        return None  # not JSON: the parser that read it first says so
    return _first_repeat(value)


def check_names(data: bytes, value: Any) -> None:
    """Raise JsonRepeatedName when an object of `data` (already parsed as `value`, by
    orjson or `json`, within bounds) repeats a member name. Cheap when none does."""
    _check_names(data, data.count(b":"), value)


def _check_names(data: bytes, colons: int, value: Any) -> None:
    """`check_names`, given how many `:` `data` holds (`loads` counts them on the
    structure projection it already made: a sixth of the bytes to count)."""
    if not _may_repeat_names(data, colons, value):
        return
    repeat = find_repeated_name(data)
    if repeat is not None:
        raise JsonRepeatedName(*repeat)


def _reject_constant(name: str) -> Any:
    raise JsonDecodeError(f"{name} is not JSON")


def _finite_float(text: str) -> float:
    number = float(text)
    if math.isinf(number):
        raise JsonDecodeError(f"number {text[:40]} is out of range")
    return number


def _bounded_int(limit: int) -> Any:
    def parse(text: str) -> int:
        if len(text.lstrip("-")) > limit:
            raise JsonLimitExceeded(
                f"an integer has {len(text.lstrip('-')):,} digits, more than {limit}"
            )
        return int(text)

    return parse


def _has_lone_surrogate(data: bytes) -> bool:
    if b"\\u" not in data:
        return False
    return any(
        len(escape.group()) == 6
        for escape in re.finditer(_SURROGATE_ESCAPES, data.replace(b"\\\\", b""))
    )


def loads(data: bytes, limits: JsonLimits = UPSTREAM) -> Any:
    """Parse strictly and within `limits`: any bytes give a value or a JsonDecodeError."""
    colons = _bounded_structure(data, limits).count(b":")
    digits = data.translate(_DIGITS_TO_NUL)
    shortest = min(limits.integer_digits + 1, len(_LONG_DIGIT_RUN))
    exact = b"\x00" * shortest in digits
    # A run of digits longer than the bound: every integer is checked as it is parsed.
    too_long = exact and b"\x00" * (limits.integer_digits + 1) in digits
    del digits  # as large as the body: not kept while the body is built
    if not exact:
        try:
            value = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            raise JsonDecodeError(str(exc)) from None
        _check_names(data, colons, value)
        return value
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise JsonDecodeError(f"body is not UTF-8: {exc.reason}") from None
    if text.startswith("\ufeff"):
        raise JsonDecodeError("a UTF-8 byte order mark is not JSON")
    if _has_lone_surrogate(data):
        raise JsonDecodeError("a string holds a lone surrogate escape: not Unicode text")
    parse_int = _bounded_int(limits.integer_digits) if too_long else None
    try:
        value = json.loads(
            text, parse_constant=_reject_constant, parse_float=_finite_float, parse_int=parse_int
        )
    except JsonDecodeError:
        raise
    except ValueError as exc:  # json.JSONDecodeError, or int() past Python's digit limit
        raise JsonDecodeError(str(exc)[:200]) from None
    except RecursionError:  # not reached within the bounds; never let it escape
        raise JsonLimitExceeded("it is nested too deeply") from None
    _check_names(data, colons, value)
    return value


def canonical_bytes(document: Any) -> bytes:
    """Compact JSON with sorted keys: the form that is hashed and stored."""
    try:
        return orjson.dumps(document, option=orjson.OPT_SORT_KEYS)
    except orjson.JSONEncodeError:
        # Integers beyond 64 bits. ensure_ascii keeps the output valid UTF-8 even
        # for lone surrogates, which `loads` never lets in.
        return _standard_json(document).encode("ascii")


class CanonicalMembers(NamedTuple):
    """An object's members as `canonical_bytes` writes them (`"key":value`), in its
    order: `{` + the members joined by `,` + `}` are exactly its canonical bytes."""

    members: list[tuple[str, bytes]]
    # orjson wrote them: then any subset, joined so, is also the canonical form of
    # that part of the object. Not after the fallback: a part without the long
    # integers would be written by orjson, which escapes less.
    subsets_canonical: bool


def _standard_json(value: Any) -> str:
    """canonical_bytes's fallback, as text: sorted keys, compact, ASCII escapes."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def canonical_members(obj: Mapping[str, Any]) -> CanonicalMembers:
    """Each member of `obj`, each value serialised once (see CanonicalMembers)."""
    members = sorted(obj.items(), key=itemgetter(0))
    try:
        fast = [
            (key, orjson.dumps(key) + b":" + orjson.dumps(value, option=orjson.OPT_SORT_KEYS))
            for key, value in members
        ]
        return CanonicalMembers(fast, subsets_canonical=True)
    except orjson.JSONEncodeError:
        exact = [
            (key, (json.dumps(key) + ":" + _standard_json(value)).encode("ascii"))
            for key, value in members
        ]
        return CanonicalMembers(exact, subsets_canonical=False)


def sort_key(value: Any) -> bytes:
    """The canonical bytes of a small value, to order values by content.

    A copy of exactly their size: orjson's own result keeps a buffer of some 4 KB,
    and ten thousand sort keys then held 40 MB."""
    return memoryview(canonical_bytes(value)).tobytes()


def pretty_bytes(document: Any) -> bytes:
    """Indented JSON with sorted keys, for people; deterministic like canonical_bytes.

    People read it at a terminal, and its strings are the upstream's: every character
    a terminal obeys or hides that JSON leaves as it is (DEL, a C1 control such as
    U+009B, the CSI of 8-bit terminals; a bidi override, a zero-width space, a line
    separator) is written as its `\\u` escape. The same JSON value, shown rather than
    acted on (orjson already escapes the C0 controls, ESC among them)."""
    try:
        data = orjson.dumps(document, option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2)
    except orjson.JSONEncodeError:
        data = json.dumps(document, sort_keys=True, indent=2).encode("ascii")
    if data.isascii() and b"\x7f" not in data:
        return data
    return printable_json(data.decode("utf-8")).encode("utf-8")


def printable_json(text: str) -> str:
    """JSON text with every character that is not printable written as its `\\u`
    escape (the same JSON value), but for its line breaks: JSON escapes one inside a
    string, so one in the text is indentation between values, and is kept."""
    if text.isprintable():
        return text
    lines = text.split("\n")  # each line checked at C speed
    return "\n".join(
        line if line.isprintable() else "".join(map(_printable, line)) for line in lines
    )


def _printable(char: str) -> str:
    """`char`, or its JSON escape when it is not printable (it can only be in a string:
    JSON's own punctuation and white space are printable or a line break)."""
    if char.isprintable():
        return char
    if ord(char) < 0x10000:
        return f"\\u{ord(char):04x}"
    return json.dumps(char)[1:-1]  # a surrogate pair, as JSON spells an astral character


def json_type(value: Any) -> str:
    """What a parsed value is, in JSON's words ('an array', 'null'), for messages:
    Python's class names (list, NoneType) mean nothing to someone reading JSON."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    return _JSON_TYPES.get(type(value), f"a {type(value).__name__}")


_JSON_TYPES: Final = {
    dict: "an object",
    list: "an array",
    str: "a string",
    int: "a number",
    float: "a number",
}


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
