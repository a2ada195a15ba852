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
from typing import Any, Final

import orjson

# The bounds on one upstream answer's JSON (README: "Bounds on one answer"). Past any
# of them the answer is refused before it is built into Python objects.
MAX_DEPTH: Final = 64  # nested arrays and objects
MAX_VALUES: Final = 500_000  # keys, strings, numbers, literals, arrays and objects
MAX_INTEGER_DIGITS: Final = 100  # an integer's digits (Python refuses str() past 4,300)

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
        return json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float)
    except json.JSONDecodeError as exc:
        raise JsonDecodeError(str(exc)) from None


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
