"""dlf-status's own credentials, masked in whatever the upstream sends back. Pure.

An upstream may echo a credential: an `error_msg` quoting the Authorization header,
a request id, a field of a status answer. What it sends reaches callers (problem
details, the CLI's error line), logs and stored snapshots, so the text is masked
where it enters (the HTTP adapter for headers and transport errors, `interpret` for
bodies), and every log line is masked again before it is written.

A credential is masked in every form a text may hold it in, as these encoders
write it (`ENCODINGS`):

- as it is;
- JSON-escaped: with or without ASCII escapes, with or without an escaped `/`, and
  every character as `\\uXXXX` (lower- or upper-case hex);
- as a Python repr;
- percent-encoded, either case of hex digits, with each common set of characters
  left alone: none, `/` (a path), `/+=`, form style (`+` for a space), JavaScript's
  `encodeURIComponent` and `encodeURI`, Go's `url.PathEscape`, and the URL
  Standard's path, query and fragment sets (browsers: little more than `"` escaped);
- HTML-escaped: Python's `html.escape` (`&quot;`, `&#x27;`), Go's
  `html.EscapeString` (`&#34;`, `&#39;`), hexadecimal references for the quotes
  (`&#x22;`) or for all five characters HTML escapes (either case of hex digits);

then any of those once more as JSON, a repr, percent-encoded (path or form style) or
HTML-escaped (a JSON document inside a JSON string, a repr of a URL), and each of those
JSON-escaped once more, which is how a JSON log line holds them.

Beyond these exact forms, two classes (`_loose_pattern`):

- broken: a line break (raw, or escaped as `\\n`, `\\r`, `%0A`, `&#10;`), any white
  space around it, or an invisible character (a zero-width space, a soft hyphen, a
  bidi mark, a byte order mark) between any two of its characters: a folded header,
  an error page wrapped at 76 columns, base64 in MIME lines;
- spelt character by character: each character as it is, backslash-escaped, `%XX`
  (either case), `\\uXXXX` (either case) or an HTML reference, in any mix;

and the credential's bytes transformed whole (`transformed_forms`): hexadecimal
(either case) and base64 (standard or URL-safe alphabet, at any alignment), each in
every form above.

Not masked: a change of case, or any other encoder than these.

The search is cheap: each form is filed under the longest run of letters and digits
it holds (an anchor: the credential's own characters, which none of these encoders
changes, or one `\\u0041`), and a form is looked for only in a text that holds its
anchor: a few `str.find`s a credential for most texts, however long.
"""

from __future__ import annotations

import base64
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


def _json_slash_ascii(text: str) -> str:
    """PHP's json_encode and others: `/` escaped, and non-ASCII as \\uXXXX too."""
    return _json(text).replace("/", "\\/")


def _json_every(text: str) -> str:
    """Every character as \\uXXXX (a pair of them beyond the BMP), lower-case hex."""
    return "".join(f"\\u{unit:04x}" for unit in _utf16_units(text))


def _json_every_upper(text: str) -> str:
    return "".join(f"\\u{unit:04X}" for unit in _utf16_units(text))


def _utf16_units(text: str) -> list[int]:
    data = text.encode("utf-16-be", "surrogatepass")
    return [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2)]


def _repr(text: str) -> str:
    return repr(text)[1:-1]


def _percent(text: str) -> str:
    return quote(text, safe="")


def _lower_hex(text: str) -> str:
    return re.sub("%[0-9A-F]{2}", lambda escape: escape.group().lower(), text)


def _percent_lower(text: str) -> str:
    return _lower_hex(quote(text, safe=""))


# What common percent-encoders leave alone, besides letters, digits and `_.-~`.
_ENCODE_URI_COMPONENT: Final = "!*'()"  # JavaScript
_ENCODE_URI: Final = ";,/?:@&=+$!*'()#"  # JavaScript
_PATH_ESCAPE: Final = "$&+:=@"  # Go's url.PathEscape


def _ascii_but(escaped: str) -> str:
    return "".join(chr(code) for code in range(0x21, 0x7F) if chr(code) not in escaped)


# The URL Standard's percent-encode sets (browsers, Node's URL): little is escaped,
# and `%` never (it is taken to start an escape already).
_URL_PATH: Final = _ascii_but('"#<>?`{}')
_URL_QUERY: Final = _ascii_but("\"#<>'")
_URL_FRAGMENT: Final = _ascii_but('"<>`')


def _percent_variants(text: str) -> set[str]:
    """`text` percent-encoded by each common encoder, either case of hex digits."""
    upper = {
        quote(text, safe=safe)
        for safe in (
            "",
            "/",
            "/+=",
            _ENCODE_URI_COMPONENT,
            _ENCODE_URI,
            _PATH_ESCAPE,
            _URL_PATH,
            _URL_QUERY,
            _URL_FRAGMENT,
        )
    } | {quote_plus(text)}
    return upper | {_lower_hex(form) for form in upper}


def _html(text: str) -> str:
    """html.escape, without importing html (its entity table costs a millisecond)."""
    return (
        text.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("'", "&#x27;")
    )


def _html_go(text: str) -> str:
    """Go's html.EscapeString: decimal references for the quotes."""
    return (
        text.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&#34;")
        .replace("'", "&#39;")
    )


def _html_hex(text: str) -> str:
    """html.escape with hexadecimal references for the quotes."""
    return _html(text).replace("&quot;", "&#x22;")


def _html_all_hex(text: str) -> str:
    """Hexadecimal references for all five characters HTML escapes."""
    return "".join(f"&#x{ord(char):X};" if char in "&<>\"'" else char for char in text)


def _html_all_hex_lower(text: str) -> str:
    return "".join(f"&#x{ord(char):x};" if char in "&<>\"'" else char for char in text)


ENCODINGS: Final[tuple[Callable[[str], str], ...]] = (
    _json,
    _json_unicode,
    _json_slash,
    _json_slash_ascii,
    _json_every,
    _json_every_upper,
    _repr,
    _html,
    _html_go,
    _html_hex,
    _html_all_hex,
    _html_all_hex_lower,
)
# What a second encoder may do to a form: a JSON string, a repr, a URL, HTML.
SECOND_ENCODINGS: Final[tuple[Callable[[str], str], ...]] = (
    _json,
    _json_unicode,
    _repr,
    _percent,
    quote,
    quote_plus,
    _html,
)


def forms(secret: str) -> frozenset[str]:
    """Every text a credential may be written as (see the module docstring)."""
    once = {secret, *(encode(secret) for encode in ENCODINGS), *_percent_variants(secret)}
    twice = {encode(form) for form in once for encode in SECOND_ENCODINGS}
    decoded = once | twice
    in_lines = {encode(form) for form in decoded for encode in (_json, _json_unicode)}
    return frozenset(decoded | in_lines)


_ALNUM_RUN: Final = re.compile(r"[0-9A-Za-z]+")


def _anchor(form: str) -> str:
    """The longest run of ASCII letters and digits in `form` ("" if none)."""
    return max(_ALNUM_RUN.findall(form), key=len, default="")


def transformed_forms(secret: str) -> frozenset[str]:
    """A credential's bytes transformed whole: hexadecimal (either case), and base64,
    standard or URL-safe, at each of the three places it may start at inside a longer
    encoded text (a `Basic` header holds `base64(ak:sk)`): the characters there that
    only the credential's bytes decide. Masking those leaves at most two characters
    of the encoded text on either side, none of which spells the credential."""
    raw = secret.encode("utf-8", errors="surrogatepass")
    found = {raw.hex(), raw.hex().upper()}
    for shift in range(3):
        first = -(-8 * shift // 6)  # the first character made of its bits alone
        end = 8 * (shift + len(raw)) // 6  # past the last one
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            found.add(encode(b"\0" * shift + raw).decode("ascii")[first:end])
    return frozenset(found)


# What may break an echoed credential between two of its characters: a line break, raw
# or escaped (JSON, a repr, percent-encoded, HTML), with the white space a folding or
# wrapping encoder puts around it, or an invisible character (Cf: a zero-width space, a
# soft hyphen, a bidi mark, a byte order mark), raw or escaped.
_INVISIBLE: Final = (
    "\u00ad\u034f\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff"
)
_BREAK: Final = (
    f"[\\n\\r\\x0b\\x0c\\x1c-\\x1e\\x85\\u2028\\u2029{_INVISIBLE}]"
    r"|\\+(?:[nrfv]|x(?i:0[9a-d]|85|ad)|u(?i:00[01][0-9a-f]|0085|00ad|20[0-6][0-9a-f]|feff))"
    r"|%(?i:0[9ad]|c2%(?:85|ad)|e2%80%(?:8[b-f]|a[89a-e])|ef%bb%bf)|&#[xX]?[0-9a-fA-F]{1,4};"
)
_FILLER: Final = rf"(?:{_BREAK}|[ \t]|\\+t|%20)*"
# Between two characters of a credential's hex or base64 form: what wraps lines.
_LINE_FILLER: Final = r"(?:\r?\n|\\+r?\\+n)?[ \t]*"
# A text that may hold a broken credential: the loose pattern is only tried on those
# (and on texts holding one of a credential's own runs of letters and digits).
_BREAKS: Final = re.compile(_BREAK)
_BYTE_BREAKS: Final = re.compile(
    rb"\\+[nrfv]|\\+u(?i:00(?:0[9a-d]|1[c-e]|85|ad)|20(?:0[b-f]|2[89a-e]|6[0-46-9a-f])|feff)"
    rb"|\xc2[\x85\xad]|\xcd\x8f|\xd8\x9c|\xe1\xa0\x8e|\xe2\x80[\x8b-\x8f\xa8-\xae]"
    rb"|\xe2\x81[\xa0-\xa4\xa6-\xaf]|\xef\xbb\xbf"
)
_HTML_NAMED: Final = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&(?:apos|#x27);"}


def _hex_any_case(value: int, width: int) -> str:
    return f"(?i:0*{value:0{width}x})"


def _spellings(char: str) -> str:
    """One character in any of the spellings encoders give it (see the module docstring)."""
    ways = [re.escape(char)]
    if char == "\\":
        ways.append(r"\\{2,4}")
    elif char in "\"'/":
        ways.append(r"\\{1,3}" + re.escape(char))
    utf8 = char.encode("utf-8", errors="surrogatepass")
    ways.append("".join(f"%(?:25)?(?i:{byte:02x})" for byte in utf8))
    ways.append("".join(rf"\\+u(?i:{unit:04x})" for unit in _utf16_units(char)))
    if char in _HTML_NAMED:
        ways.append(_HTML_NAMED[char])
    ways.append(f"&#0*{ord(char)};")
    ways.append(f"&#[xX]{_hex_any_case(ord(char), 1)};")
    return "(?:" + "|".join(ways) + ")"


def _loose_pattern(secrets: Iterable[str], transformed: Iterable[str]) -> re.Pattern[str]:
    """One pattern for every credential broken or spelt character by character, and
    for each hex or base64 form wrapped across lines."""
    spelt = [_FILLER.join(map(_spellings, secret)) for secret in sorted(secrets, key=len)[::-1]]
    wrapped = [
        _LINE_FILLER.join(char if char.isalnum() else _spellings(char) for char in form)
        for form in sorted(transformed, key=len)[::-1]
    ]
    return re.compile("|".join(spelt + wrapped))


class Redactor:
    """Replaces registered credentials with MASK in texts and parsed JSON values.

    One instance per process holds every credential in use (registered once, at
    bootstrap); registering swaps whole tuples, so readers on other threads always
    see a consistent set.
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: frozenset[str] = frozenset()
        self._by_anchor: tuple[tuple[str, tuple[str, ...]], ...] = ()
        self._byte_anchors: tuple[bytes, ...] = ()
        self._byte_anchors_without_backslash: tuple[bytes, ...] = ()
        self._byte_anchors_plain: tuple[bytes, ...] = ()
        self._loose: re.Pattern[str] | None = None
        self._loose_anchors: tuple[str, ...] = ()
        self._originals: frozenset[str] = frozenset()
        self._transformed: set[str] = set()
        self.longest = 0
        self.add(*secrets)

    def add(self, *secrets: str | None) -> None:
        known = self._secrets | {
            secret for secret in secrets if secret and len(secret) >= MIN_SECRET_LENGTH
        }
        self._originals = frozenset(self._originals | (known - self._secrets))
        # Each credential's hex and base64 forms are masked like credentials of their own.
        # Their hex and base64 forms go to the loose pattern only (as written, wrapped,
        # or with `+/=` escaped): every exact form of each would cost milliseconds.
        self._transformed = {
            form for secret in self._originals for form in transformed_forms(secret)
        }
        every = set().union(*(forms(secret) for secret in known)) if known else set()
        grouped: dict[str, list[str]] = {}
        for form in every:
            grouped.setdefault(_anchor(form), []).append(form)
        # Longest anchors first: the rarest, so most texts are passed after one find.
        self._by_anchor = tuple(
            (anchor, tuple(grouped[anchor]))
            for anchor in sorted(grouped, key=lambda anchor: (-len(anchor), anchor))
        )
        # In a JSON body, a form's anchor is as it is (letters and digits are never
        # escaped) unless the body spells them with \u escapes.
        self._byte_anchors = _fewest(grouped)
        # A body without a backslash has no escapes: its strings are its bytes, so a
        # form with a backslash cannot be in it, nor one with a `%` unless it has one.
        self._byte_anchors_without_backslash = _fewest(
            _anchor(form) for form in every if "\\" not in form
        )
        self._byte_anchors_plain = _fewest(
            _anchor(form) for form in every if "\\" not in form and "%" not in form
        )
        self._loose = None  # compiled when first needed: tens of milliseconds
        self._loose_anchors = tuple(
            sorted({_anchor(secret) for secret in known | self._transformed} - {""})
        )
        self.longest = max(map(len, every), default=0)
        self._secrets = frozenset(known)

    def __bool__(self) -> bool:
        return bool(self._by_anchor)

    def text(self, text: str) -> str:
        found = [form for anchor, group in self._by_anchor if anchor in text for form in group]
        # Longest first: a form that contains another is replaced whole.
        for form in sorted(found, key=lambda form: (-len(form), form)):
            if form in text:
                text = text.replace(form, MASK)
        return self._loosely(text)

    def _loosely(self, text: str) -> str:
        """`text` with every credential broken or spelt character by character masked;
        tried only where one may be: an escape, a break, or a credential's own run."""
        if not self._originals or not (
            "%" in text
            or "\\" in text
            or "&" in text
            or _BREAKS.search(text)
            or any(anchor in text for anchor in self._loose_anchors)
        ):
            return text
        if self._loose is None:  # a race compiles it twice, harmlessly
            self._loose = _loose_pattern(self._originals, self._transformed)
        return self._loose.sub(MASK, text)

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
        """`parsed` (the JSON of `raw`) masked. Anchors decide first, on the bytes, so a
        body that holds no credential costs a few `bytes.find`s, not a walk."""
        if not self._byte_anchors:
            return parsed
        if b"\\" in raw:
            anchors = self._byte_anchors
        elif b"%" in raw:
            anchors = self._byte_anchors_without_backslash
        else:
            anchors = self._byte_anchors_plain
        if (
            not any(anchor in raw for anchor in anchors)
            and b"%" not in raw
            # One byte first: a two-byte search costs as much as the rest of masking.
            and (b"&" not in raw or b"&#" not in raw)
            # Every break starts with a backslash or a byte past ASCII: two C scans
            # spare the regex (an alternation with no literal prefix) most bodies.
            and not ((b"\\" in raw or not raw.isascii()) and _BYTE_BREAKS.search(raw))
        ):
            # One byte first: memchr is ten times faster than a two-byte search.
            if b"\\" not in raw or b"\\u" not in raw:
                return parsed
            # Escapes could spell an anchor; written back canonically, they cannot.
            canonical = _canonical(parsed)
            if not any(anchor in canonical for anchor in self._byte_anchors):
                return parsed
        return self.value(parsed)


def _fewest(anchors: Iterable[str]) -> tuple[bytes, ...]:
    """The anchors no other one of them is part of, longest (rarest) first: a text
    holds one of `anchors` exactly when it holds one of these, found with fewer
    searches (an anchor of `\\u0042...`, `u0042`, is part of `%5Cu0042...`'s)."""
    kept: list[str] = []
    for anchor in sorted(set(anchors), key=len):
        if not any(shorter in anchor for shorter in kept):
            kept.append(anchor)
    return tuple(anchor.encode("ascii") for anchor in sorted(kept, key=lambda a: (-len(a), a)))


def _canonical(value: Any) -> bytes:
    try:
        return orjson.dumps(value)
    except orjson.JSONEncodeError:  # integers beyond 64 bits
        return json.dumps(value, ensure_ascii=False).encode("utf-8")


NO_SECRETS: Final = Redactor()
