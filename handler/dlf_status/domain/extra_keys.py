"""Keys inside `extra` that every engine tells apart, and the way back. Pure.

Engines read a JSON object's keys as struct-field or column names and compare them
without regard to case: DuckDB fails a whole scan when two keys at one level differ
only by case (`startTime` and `starttime`, in one body or across two documents),
Athena's JSON SerDe lowercases keys, Spark resolves names case-insensitively. The
upstream's keys are arbitrary, so every key at every depth inside an `extra` object
is written in a form in which two different keys never fold to the same name:

* `^` is written `^^`;
* an ASCII capital is `^` and its small letter: `startTime` is `start^time`;
* any other character that some case folding maps onto another one is `^{hex}` of
  its code point: `É` is `^{c9}`, the Kelvin sign `^{212a}`, `ß` `^{df}`;
* every other character (small letters, digits, punctuation, CJK...) is itself.

The characters left as they are fold only to themselves, and the escapes are made
of them, so distinct keys stay distinct under ASCII or Unicode, simple or full case
folding. Keys without capitals, the common case, do not change.

Depth: DuckDB refuses a document nested 128 levels deep. A container more than
`MAX_DEPTH` levels below an `extra` object is kept as its canonical JSON text (keys
as sent) in an object whose one key is `^`, which no key encodes to (a lone `^`
escapes nothing): nothing is lost and the document stays shallow.

Length: an object holding a key longer than `MAX_KEY_LENGTH` characters (the `extra`
object itself included) is kept the same way, as its JSON text. No engine wants a
column named with megabytes, and the encoded form of such a key could be three times
its size on the wire, then serialised again: kept as text, a hostile key costs what
a string value of its size costs.

`decode_document` reverses all of it, for documents of schema 1.1 and later; a 1.0
document's `extra` is verbatim.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import Any, Final

from dlf_status.domain import jsoncodec, paths

ESCAPE: Final = "^"
# The key of an object that holds a subtree as JSON text; never an encoded key.
DEEP_KEY: Final = ESCAPE
# Containers kept as structure below an `extra` object. A node's `extra` sits four
# levels down in the document, so documents stay far from DuckDB's 128.
MAX_DEPTH: Final = 32
# Keys kept as keys; an object with a longer one is kept as its JSON text. Real keys
# are a few dozen characters. The same length past which a path spells a key cut.
MAX_KEY_LENGTH: Final = paths.MAX_KEY_LENGTH
# Schema versions whose `extra` keys are encoded (1.0 wrote them verbatim).
_VERBATIM_VERSIONS: Final = frozenset({"1.0"})
_ASCII_NEEDS_ESCAPE = re.compile(r"[A-Z^]")
_CACHED_KEY_LENGTH: Final = 64
_MAX_CODE_POINT: Final = 0x10FFFF
_ESCAPED = re.compile(r"\^(?:([a-z^])|\{([0-9a-f]{1,6})\})")


def _case_stable(char: str) -> bool:
    """Whether `char` is the one character of its case class that can appear.

    A lower-case letter whose upper case maps back to it, or a character without
    case: no folding (lower, upper, casefold; one character or the whole string)
    can make it equal to another such character.
    """
    return char == char.lower() == char.casefold() and char.upper().lower() == char


def _escape(char: str) -> str:
    """The encoding of one character: the definition, which `_encode` applies a
    chunk at a time."""
    if char == ESCAPE:
        return ESCAPE + ESCAPE
    if "A" <= char <= "Z":
        return ESCAPE + char.lower()
    if char.isascii() or _case_stable(char):
        return char
    return f"{ESCAPE}{{{ord(char):x}}}"


# ASCII is escaped by str.translate, in C: a key of eight million capitals is one
# pass that builds its 16 MB result, not a list of eight million little strings
# (which took 600 MB).
_ASCII_ESCAPES: Final = {ord(char): _escape(char) for char in "^ABCDEFGHIJKLMNOPQRSTUVWXYZ"}
# Keys are encoded this many characters at a time: each chunk's temporary tables and
# case mappings stay small whatever the key's length.
_CHUNK: Final = 4096


def _stable_chunk(chunk: str) -> bool:
    """Whether every character of `chunk` is case stable (no `^{hex}` escape needed),
    decided by four whole-string mappings in C. Conservative: each mapping of one
    character is at least one character, so equal strings mean every character maps
    to itself; the one mapping that looks at context (a capital sigma lowered at a
    word's end) can only make a stable chunk look unstable, never the other way."""
    return chunk == chunk.lower() == chunk.casefold() == chunk.upper().lower()


def _encode_chunk(chunk: str) -> str:
    if chunk.isascii() or _stable_chunk(chunk):
        return chunk.translate(_ASCII_ESCAPES)
    # Rare: a chunk that holds a character some folding maps onto another. Each
    # distinct character of it is decided once, by the definition.
    table = {ord(char): _escape(char) for char in set(chunk)}
    return chunk.translate(table)


def _encode(key: str) -> str:
    if key.isascii():
        if _ASCII_NEEDS_ESCAPE.search(key) is None:
            return key
        return key.translate(_ASCII_ESCAPES)
    if len(key) <= _CHUNK:
        return _encode_chunk(key)
    return "".join(_encode_chunk(key[at : at + _CHUNK]) for at in range(0, len(key), _CHUNK))


_encode_cached = functools.lru_cache(maxsize=4096)(_encode)


class _KeyTooLong(Exception):
    """A key past MAX_KEY_LENGTH: the object that holds it is kept as text."""


def encode_key(key: str) -> str:
    """The engine-safe form of one upstream key. Short keys, which repeat on every
    node and poll, are cached; long ones (rare, possibly hostile) are not kept.

    The form is at most three times the key's UTF-8 size (`Ā`, two bytes, is
    `^{100}`; a capital is two characters for one), all of it ASCII."""
    return _encode_cached(key) if len(key) <= _CACHED_KEY_LENGTH else _encode(key)


def _encode_member_key(key: str) -> str:
    if len(key) <= _CACHED_KEY_LENGTH:
        return _encode_cached(key)
    if len(key) > MAX_KEY_LENGTH:
        raise _KeyTooLong
    return _encode(key)


def _as_text(value: dict[str, Any] | list[Any] | Mapping[str, Any]) -> dict[str, Any]:
    return {DEEP_KEY: jsoncodec.canonical_bytes(value).decode("utf-8")}


def _encode_object(value: Mapping[str, Any], depth: int) -> dict[str, Any]:
    try:
        return {
            _encode_member_key(key): _encode_value(item, depth + 1) for key, item in value.items()
        }
    except _KeyTooLong:  # one of this object's own keys: a child's is caught below
        return _as_text(value)


def _unescape(match: re.Match[str] | None, key: str, at: int) -> str:
    if match is not None:
        letter, code = match.groups()
        if letter is not None:
            return str(letter).upper()
        if int(code, 16) <= _MAX_CODE_POINT:
            return chr(int(code, 16))
    raise ValueError(f"malformed escape at {at} in extra key {key[:80]!r}")


def decode_key(key: str) -> str:
    """The upstream key `encode_key` wrote. Raises ValueError on a malformed escape."""
    if ESCAPE not in key:
        return key
    parts: list[str] = []
    position = 0
    while (found := key.find(ESCAPE, position)) != -1:
        match = _ESCAPED.match(key, found)
        parts.append(key[position:found])
        parts.append(_unescape(match, key, found))
        position = found + 1 if match is None else match.end()
    parts.append(key[position:])
    return "".join(parts)


def _encode_value(value: Any, depth: int) -> Any:
    if isinstance(value, dict):
        if depth >= MAX_DEPTH:
            return _as_text(value)
        return _encode_object(value, depth)
    if isinstance(value, list):
        if depth >= MAX_DEPTH:
            return _as_text(value)
        return [_encode_value(item, depth + 1) for item in value]
    return value


def encode_extra(extra: Mapping[str, Any]) -> dict[str, Any]:
    """An `extra` object with every key below it encoded, and deep subtrees and objects
    with a long key as text (the `extra` object itself too)."""
    return _encode_object(extra, 0)


def _is_text(value: Mapping[str, Any]) -> bool:
    return len(value) == 1 and isinstance(value.get(DEEP_KEY), str)


def _from_text(value: Mapping[str, Any]) -> Any:
    return jsoncodec.loads(value[DEEP_KEY].encode("utf-8"), jsoncodec.STORED)


def _decode_value(value: Any) -> Any:
    if isinstance(value, dict):
        if _is_text(value):
            return _from_text(value)
        return {decode_key(key): _decode_value(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_decode_value(item) for item in value]
    return value


def decode_extra(extra: Mapping[str, Any]) -> dict[str, Any]:
    """The upstream's values and keys, as sent, from an encoded `extra` object."""
    if _is_text(extra):
        decoded: dict[str, Any] = _from_text(extra)
        return decoded
    return {decode_key(key): _decode_value(value) for key, value in extra.items()}


def decode_document(document: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of a status document with the job's and every node's `extra` decoded.

    For consumers that want the upstream's own keys back (Python: `from
    dlf_status.domain.extra_keys import decode_document`; the rules above are
    short enough to port). A 1.0 document, whose keys were verbatim, is returned
    as it is.
    """
    decoded = dict(document)
    if document.get("schema_version") in _VERBATIM_VERSIONS:
        return decoded
    decoded["extra"] = decode_extra(document["extra"])
    decoded["nodes"] = [
        {**node, "extra": decode_extra(node["extra"])} for node in document["nodes"]
    ]
    return decoded
