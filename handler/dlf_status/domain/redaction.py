"""dlf-status's own credentials, masked in whatever the upstream sends back. Pure.

An upstream may echo a credential: an `error_msg` quoting the Authorization header,
a request id, a field of a status answer. What it sends reaches callers (problem
details, the CLI's error line), logs and stored snapshots, so the text is masked
where it enters (the HTTP adapter for headers and transport errors, `interpret` for
bodies), and every log line is masked again before it is written.

A credential is masked in every form a text may hold it in: as it is, JSON-escaped
(with or without ASCII escapes, with or without an escaped `/`), as a Python repr,
percent-encoded (path or form style, either case of hex digits), HTML-escaped, any
of those twice (a JSON document inside a JSON string, a repr of a URL), and each of
those JSON-escaped once more, which is how a JSON log line holds them.

Credentials shorter than MIN_SECRET_LENGTH are never masked, and configuration
refuses them (config.py): masking a short string blanks ordinary words, numbers and
JSON punctuation in every line, and no real credential is that short (Huawei Cloud
AKs have 20 characters, SKs 40, IAM and security tokens thousands).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from typing import Any, Final
from urllib.parse import quote, quote_plus

import orjson

MASK: Final = "***"
MIN_SECRET_LENGTH: Final = 8


def _json(text: str) -> str:
    return json.dumps(text)[1:-1]


def _json_unicode(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)[1:-1]


def _json_slash(text: str) -> str:
    return _json_unicode(text).replace("/", "\\/")


def _repr(text: str) -> str:
    return repr(text)[1:-1]


def _percent(text: str) -> str:
    return quote(text, safe="")


def _percent_lower(text: str) -> str:
    return re.sub("%[0-9A-F]{2}", lambda escape: escape.group().lower(), quote(text, safe=""))


def _html(text: str) -> str:
    """html.escape, without importing html (its entity table costs a millisecond)."""
    return (
        text.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("'", "&#x27;")
    )


ENCODINGS: Final[tuple[Callable[[str], str], ...]] = (
    _json,
    _json_unicode,
    _json_slash,
    _repr,
    _percent,
    quote,  # a path: "/" kept
    quote_plus,
    _percent_lower,
    _html,
)


def forms(secret: str) -> frozenset[str]:
    """Every text a credential may be written as (see the module docstring)."""
    once = {secret, *(encode(secret) for encode in ENCODINGS)}
    twice = {encode(form) for form in once for encode in ENCODINGS}
    decoded = once | twice
    in_lines = {encode(form) for form in decoded for encode in (_json, _json_unicode)}
    return frozenset(decoded | in_lines)


class Redactor:
    """Replaces registered credentials with MASK in texts and parsed JSON values.

    One instance per process holds every credential in use (registered once, at
    bootstrap); registering swaps whole tuples, so readers on other threads always
    see a consistent set.
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: frozenset[str] = frozenset()
        self._forms: tuple[str, ...] = ()
        self._needles: tuple[bytes, ...] = ()
        self.longest = 0
        self.add(*secrets)

    def add(self, *secrets: str | None) -> None:
        known = self._secrets | {
            secret for secret in secrets if secret and len(secret) >= MIN_SECRET_LENGTH
        }
        every = set().union(*(forms(secret) for secret in known)) if known else set()
        # Longest first: a form that contains another is replaced whole.
        self._forms = tuple(sorted(every, key=lambda form: (-len(form), form)))
        # How a form looks inside a JSON string of a body written without \u or \/
        # escapes: only quote, backslash and control characters escaped.
        self._needles = tuple({_json_unicode(form).encode("utf-8") for form in every})
        self.longest = len(self._forms[0]) if self._forms else 0
        self._secrets = frozenset(known)

    def __bool__(self) -> bool:
        return bool(self._forms)

    def text(self, text: str) -> str:
        for form in self._forms:
            if form in text:
                text = text.replace(form, MASK)
        return text

    def value(self, value: Any) -> Any:
        """A parsed JSON value with every credential masked in its strings and keys
        (a number that spells one becomes the string MASK)."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            masked: dict[str, Any] = {}
            renamed: list[tuple[str, Any]] = []
            for key, item in value.items():
                name = self.text(key)
                if name == key:
                    masked[key] = self.value(item)
                else:
                    renamed.append((name, item))
            for name, item in renamed:  # a masked key never takes another key's place
                while name in masked:
                    name += "~"
                masked[name] = self.value(item)
            return masked
        if isinstance(value, list):
            return [self.value(item) for item in value]
        if isinstance(value, int | float) and not isinstance(value, bool):
            spelt = repr(value)
            return MASK if self.text(spelt) != spelt else value
        return value

    def body(self, raw: bytes, parsed: Any) -> Any:
        """`parsed` (the JSON of `raw`) masked. A byte search over `raw` decides first,
        so a body that holds no credential costs a few `bytes.find`s, not a walk."""
        if not self._needles:
            return parsed
        if not any(needle in raw for needle in self._needles):
            # One byte first: memchr is ten times faster than a two-byte search.
            if b"\\" not in raw or (b"\\u" not in raw and b"\\/" not in raw):
                return parsed
            # Escapes could spell a credential; written back canonically, they cannot.
            if not any(needle in _canonical(parsed) for needle in self._needles):
                return parsed
        return self.value(parsed)


def _canonical(value: Any) -> bytes:
    try:
        return orjson.dumps(value)
    except orjson.JSONEncodeError:  # integers beyond 64 bits
        return json.dumps(value, ensure_ascii=False).encode("utf-8")


NO_SECRETS: Final = Redactor()
