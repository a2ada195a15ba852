"""JSON in and out, exact and deterministic.

orjson is fast, but it turns integers beyond 64 bits into floats on the way in
(a silent loss: the upstream's byte counters are unbounded) and refuses them on
the way out. Both directions therefore fall back to the standard library when a
long run of digits is present, and the choice depends on the input alone, so the
same body always gives the same bytes.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from typing import Any

import orjson

# 19 digits can already leave the signed 64-bit range. The scan maps every digit to
# NUL and looks for 19 in a row: ten times faster than the regex [0-9]{19} (which
# costs more than orjson's whole parse), and a NUL already in the body only sends
# it to the exact path.
_DIGITS_TO_NUL = bytes.maketrans(b"0123456789", b"\x00" * 10)
_LONG_DIGIT_RUN = b"\x00" * 19


def _has_long_number(data: bytes) -> bool:
    return data.translate(_DIGITS_TO_NUL).find(_LONG_DIGIT_RUN) != -1


class JsonDecodeError(ValueError):
    """The bytes are not one strict JSON document (RFC 8259, UTF-8)."""


def _reject_constant(name: str) -> Any:
    raise JsonDecodeError(f"{name} is not JSON")


def _finite_float(text: str) -> float:
    number = float(text)
    if math.isinf(number):
        raise JsonDecodeError(f"number {text[:40]} is out of range")
    return number


# orjson refuses a \uD800-style escape that is not half of a pair, the standard
# library takes it: the same body must get the same verdict on both paths (and a
# lone surrogate is no text: DuckDB, for one, refuses the whole file that holds it).
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _refuse_lone_surrogates(parsed: Any) -> None:
    try:
        json.dumps(parsed, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise JsonDecodeError("a string holds a lone surrogate: not UTF-8 text") from None


def loads(data: bytes) -> Any:
    """Parse strictly: no NaN/Infinity, no BOM, integers kept exact."""
    if not _has_long_number(data):
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            raise JsonDecodeError(str(exc)) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise JsonDecodeError(f"body is not UTF-8: {exc.reason}") from None
    if text.startswith("\ufeff"):
        raise JsonDecodeError("a UTF-8 byte order mark is not JSON")
    try:
        parsed = json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float)
    except json.JSONDecodeError as exc:
        raise JsonDecodeError(str(exc)) from None
    if _SURROGATE_ESCAPE.search(text) is not None:
        _refuse_lone_surrogates(parsed)
    return parsed


def canonical_bytes(document: Any) -> bytes:
    """Compact JSON with sorted keys: the form that is hashed and stored."""
    try:
        return orjson.dumps(document, option=orjson.OPT_SORT_KEYS)
    except orjson.JSONEncodeError:
        # Integers beyond 64 bits. ensure_ascii keeps the output valid UTF-8 even
        # for lone surrogates, which only this path can carry in.
        return json.dumps(document, sort_keys=True, separators=(",", ":")).encode("ascii")


def pretty_bytes(document: Any) -> bytes:
    """Indented JSON with sorted keys, for people; deterministic like canonical_bytes."""
    try:
        return orjson.dumps(document, option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2)
    except orjson.JSONEncodeError:
        return json.dumps(document, sort_keys=True, indent=2).encode("ascii")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
