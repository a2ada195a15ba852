"""Credentials the upstream echoes in forms beyond one encoder's output: wrapped across
lines or broken by invisible characters (a folding header, a wrapping error page, a
zero-width space), each character spelt by any encoder (a hand-rolled escaper), or the
credential's bytes as base64 or hex. Each is masked whole, wherever it stands."""

from __future__ import annotations

import base64
import json
import string

from hypothesis import given, settings
from hypothesis import strategies as st

from dlf_status.domain.interpret import clean_text
from dlf_status.domain.redaction import MASK, MIN_SECRET_LENGTH, Redactor

SECRETS = st.text(
    alphabet=st.sampled_from(string.ascii_letters + string.digits + "\"\\/+=%&<>'-_.~é中"),
    min_size=MIN_SECRET_LENGTH,
    max_size=40,
)
# What may stand between two characters of an echoed credential.
BREAKS = st.sampled_from(
    ["\n", "\r\n", "\r\n ", "\n\t", "\u2028", "\u200b", "\u00ad", "\ufeff", "\\n", "\\r\\n  "]
)


def spellings(char: str) -> list[str]:
    """Ways one character is written by the encoders an upstream may use (written here,
    not taken from the code)."""
    utf8 = char.encode("utf-8")
    return [
        char,
        "".join(f"%{byte:02X}" for byte in utf8),
        "".join(f"%{byte:02x}" for byte in utf8),
        json.dumps(char)[1:-1],
        json.dumps(char, ensure_ascii=False)[1:-1],
        "".join(f"\\u{unit:04x}" for unit in _units(char)),
        "".join(f"\\u{unit:04X}" for unit in _units(char)),
        f"&#{ord(char)};",
        f"&#x{ord(char):x};",
    ]


def _units(char: str) -> list[int]:
    data = char.encode("utf-16-be", "surrogatepass")
    return [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2)]


@st.composite
def echoed(draw: st.DrawFn) -> tuple[str, str]:
    """A credential and an echo of it: each character spelt any way, a break between
    any two of them."""
    secret = draw(SECRETS)
    parts = []
    for index, char in enumerate(secret):
        if index and draw(st.integers(0, 3)) == 0:
            parts.append(draw(BREAKS))
        parts.append(draw(st.sampled_from(spellings(char))))
    return secret, "".join(parts)


@settings(max_examples=100, deadline=None)
@given(echo=echoed(), in_a_log_line=st.booleans())
def test_a_credential_broken_by_line_breaks_or_spelt_char_by_char_is_masked(
    echo: tuple[str, str], in_a_log_line: bool
) -> None:
    secret, spelt = echo
    text = f"denied: {spelt} (request 7)"
    if in_a_log_line:
        text = json.dumps(text)[1:-1]

    masked = Redactor([secret]).text(text)

    assert spelt not in masked
    assert masked.count(MASK) == 1, (spelt, masked)
    assert masked.startswith("denied: ")
    assert masked.endswith("(request 7)")


def test_a_folded_credential_never_reaches_an_echoed_line() -> None:
    secret = 'sk"\\/+=%2F-not-a-real-secret'
    folded = secret[:10] + "\r\n  " + secret[10:]

    echoed = clean_text(f"bad signature for {folded}", Redactor([secret]))

    assert echoed == f"bad signature for {MASK}"


@settings(max_examples=50, deadline=None)
@given(secret=SECRETS, prefix=st.binary(max_size=5), urlsafe=st.booleans(), upper=st.booleans())
def test_a_credential_in_base64_or_hex_is_masked(
    secret: str, prefix: bytes, urlsafe: bool, upper: bool
) -> None:
    raw = prefix + secret.encode("utf-8") + b":x"
    encode = base64.urlsafe_b64encode if urlsafe else base64.b64encode
    hexed = raw.hex().upper() if upper else raw.hex()
    redactor = Redactor([secret])

    for spelt in (encode(raw).decode("ascii"), hexed):
        masked = redactor.text(f"Basic {spelt}")
        assert MASK in masked
        # What is left of the encoded credential is at most two characters either side.
        assert len(masked) <= len("Basic ") + len(MASK) + 2 * 6 + 4, (spelt, masked)
