"""A generated corpus of hostile upstream answers, one entry per class of fault.

Each entry is what a hostile (or badly broken) DataArts Studio endpoint sends back
and the outcome the README documents for it: the normalised document, or the
problem type a caller gets for a job with no snapshot yet. Bodies are built here,
not stored: some are megabytes (the memory classes), and the ones that echo a
credential are built for the credentials under test.

Classes: parsing (depth, integer size, surrogates, non-finite numbers, encodings,
odd and duplicate keys, trailing data), headers (Retry-After, Content-Length,
X-Request-Id, Content-Type, header count and size, encodings), the wire (status
lines that are not HTTP, interim 1xx answers, bodies where none may be, framing by
close, chunk extensions, stacked and unknown encodings, redirects), error bodies that
are hostile beside a readable code, or in a 200, memory (node, value and violation
counts), secrets echoed back in every encoding, and cookies.
"""

from __future__ import annotations

import base64
import gzip
import json
import re
import zlib
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import NamedTuple
from urllib.parse import quote, quote_plus

from dlf_status.domain.interpret import MAX_NODES
from dlf_status.domain.jsoncodec import MAX_DEPTH, MAX_INTEGER_DIGITS, MAX_VALUES
from tests.support.scripted_upstream import Answer, RawAnswer, WireBytes

DOCUMENT = "document"  # a 200 with the normalised document
FAILURE = "upstream-failure"
NOT_FOUND = "job-not-found"
AUTH = "upstream-auth-rejected"
TIMEOUT = "upstream-timeout"
JSON_TYPE = ("Content-Type", "application/json;charset=UTF-8")


class Case(NamedTuple):
    name: str
    kind: str  # parsing, headers, error-body, memory, secrets, cookies
    build: Callable[[Sequence[str]], Answer]  # the credentials under test -> the answer
    expected: str  # DOCUMENT or the problem slug for a job without a snapshot

    @property
    def stale(self) -> bool:
        """Whether a gateway caller gets the latest snapshot instead (README: stale)."""
        return self.expected not in (DOCUMENT, NOT_FOUND)


CASES: list[Case] = []


def case(name: str, kind: str, expected: str) -> Callable[[Callable[..., Answer]], None]:
    def register(build: Callable[..., Answer]) -> None:
        CASES.append(Case(name, kind, build, expected))

    return register


def ok(body: bytes, *headers: tuple[str, str]) -> RawAnswer:
    return RawAnswer(200, [JSON_TYPE, *headers], body, "OK")


def status_body(**fields: bytes) -> bytes:
    """A valid job object plus raw JSON members (the hostile part, verbatim)."""
    members = b"".join(b',"' + key.encode() + b'":' + value for key, value in fields.items())
    return (
        b'{"name":"job","status":"NORMAL","nodes":[{"name":"n1","status":"NORMAL"}]'
        + members
        + b"}"
    )


def nested(depth: int, leaf: bytes = b"1", opener: bytes = b"[") -> bytes:
    closer = b"]" if opener == b"[" else b"}"
    if opener == b"{":
        return b'{"a":' * depth + leaf + closer * depth
    return opener * depth + leaf + closer * depth


def dlf0100(**extra: bytes) -> bytes:
    members = b"".join(b',"' + key.encode() + b'":' + value for key, value in extra.items())
    return b'{"error_code":"DLF.0100","error_msg":"The job does not exists."' + members + b"}"


def error(status: int, body: bytes, *headers: tuple[str, str]) -> RawAnswer:
    return RawAnswer(status, [JSON_TYPE, *headers], body)


def register_simple(kind: str, expected: str, answers: dict[str, Callable[[], Answer]]) -> None:
    for name, make in answers.items():
        case(name, kind, expected)(lambda _secrets, make=make: make())


# -- parsing: 200 answers ------------------------------------------------------------------

register_simple(
    "parsing",
    FAILURE,
    {
        "a top-level array 1,000 deep": lambda: ok(nested(1000)),
        "a top-level object 1,000 deep": lambda: ok(nested(1000, opener=b"{")),
        "a field nested 1,000 deep": lambda: ok(status_body(x=nested(1000))),
        "a node field nested 300 deep": lambda: ok(
            b'{"name":"job","nodes":[{"name":"n","x":' + nested(300) + b"}]}"
        ),
        "a field nested one past the bound": lambda: ok(status_body(x=nested(MAX_DEPTH))),
        "an integer of 5,000 digits": lambda: ok(status_body(x=b"9" * 5000)),
        "a negative integer of 4,301 digits": lambda: ok(status_body(x=b"-" + b"7" * 4301)),
        "a counter of 5,000 digits": lambda: ok(
            b'{"name":"job","nodes":[{"name":"n","totalGetBytes":' + b"1" * 5000 + b"}]}"
        ),
        "an integer one digit past the bound": lambda: ok(
            status_body(x=b"1" * (MAX_INTEGER_DIGITS + 1))
        ),
        "a lone high surrogate beside a 19-digit integer": lambda: ok(
            status_body(x=b'"\\ud800"', y=b"1234567890123456789")
        ),
        "a lone high surrogate": lambda: ok(status_body(x=b'"a\\ud800b"')),
        "a lone low surrogate": lambda: ok(status_body(x=b'"\\udc00"')),
        "surrogates in the wrong order": lambda: ok(status_body(x=b'"\\ude00\\ud83d"')),
        "a lone surrogate in a key": lambda: ok(b'{"name":"job","\\udbff":1}'),
        "a lone surrogate in a key beside a long integer": lambda: ok(
            b'{"name":"job","\\udbff":12345678901234567890123}'
        ),
        "an escaped surrogate as raw UTF-8 bytes": lambda: ok(status_body(x=b'"\xed\xa0\x80"')),
        "1e400": lambda: ok(status_body(x=b"1e400")),
        "-1e400 beside a long integer": lambda: ok(
            status_body(x=b"-1e400", y=b"123456789012345678901")
        ),
        "NaN": lambda: ok(status_body(x=b"NaN")),
        "-Infinity": lambda: ok(status_body(x=b"-Infinity")),
        "bytes that are not UTF-8": lambda: ok(status_body(x=b'"\xff\xfe"')),
        "an overlong UTF-8 encoding": lambda: ok(status_body(x=b'"\xc0\xaf"')),
        "a byte order mark": lambda: ok(b"\xef\xbb\xbf" + status_body()),
        "trailing data": lambda: ok(status_body() + b" x"),
        "two documents": lambda: ok(status_body() + status_body()),
        "an empty body": lambda: ok(b""),
        "white space only": lambda: ok(b" \n\t "),
        "a comment": lambda: ok(b'{"name":"job" /* hi */}'),
        "a leading zero": lambda: ok(status_body(x=b"01")),
        "a leading plus": lambda: ok(status_body(x=b"+1")),
        "an unterminated string": lambda: ok(b'{"name":"job'),
        "a raw control character in a string": lambda: ok(status_body(x=b'"a\x01b"')),
        "a truncated deep body": lambda: ok(b'{"name":"job","x":' + b"[" * 5000),
        "a body that is a 19-digit number": lambda: ok(b"1234567890123456789"),
        "a body that is a string": lambda: ok(b'"job"'),
        "a UTF-16 body that says so": lambda: RawAnswer(
            200,
            [("Content-Type", "application/json;charset=UTF-16")],
            status_body().decode().encode("utf-16"),
        ),
        "a latin-1 body that says so": lambda: RawAnswer(
            200,
            [("Content-Type", "application/json;charset=ISO-8859-1")],
            status_body(x=b'"caf\xe9"'),
        ),
    },
)

register_simple(
    "parsing",
    DOCUMENT,
    {
        "a field nested at the bound": lambda: ok(status_body(x=nested(MAX_DEPTH - 1))),
        "an integer at the digit bound": lambda: ok(status_body(x=b"9" * MAX_INTEGER_DIGITS)),
        "a float of 5,000 digits": lambda: ok(status_body(x=b"0." + b"3" * 5000)),
        "1e308 and 1e-400": lambda: ok(status_body(x=b"1e308", y=b"1e-400")),
        "-0 and 0e0 and 1E+2": lambda: ok(status_body(x=b"-0", y=b"0e0", z=b"1E+2")),
        "a surrogate pair": lambda: ok(status_body(x=b'"\\ud83d\\ude00"')),
        "NUL and control escapes in strings and keys": lambda: ok(
            b'{"name":"job","a\\u0000b":"c\\u0001\\u001f\\u007f\\u2028"}'
        ),
        "an empty key": lambda: ok(b'{"name":"job","":1}'),
        "a key of a megabyte": lambda: ok(b'{"name":"job","' + b"k" * 1_000_000 + b'":1}'),
        "keys that look like paths": lambda: ok(
            b'{"name":"job","$.nodes[0]":1,"a\'b":2,"[*]":3,"__proto__":{"x":1}}'
        ),
        "a string of seven megabytes": lambda: ok(status_body(x=b'"' + b"s" * 7_000_000 + b'"')),
        "a string of astral characters": lambda: ok(
            status_body(x=json.dumps("\U0001f600" * 100_000, ensure_ascii=False).encode())
        ),
        "a 40-digit counter beside a surrogate pair": lambda: ok(
            b'{"name":"job","nodes":[{"name":"n\\ud83d\\ude00","totalGetBytes":'
            + b"1" * 40
            + b"}]}"
        ),
        "escaped quotes and brackets in strings": lambda: ok(
            status_body(x=b'"[[[{{\\"]]]\\\\"', y=b'"\\\\\\"[\\\\"')
        ),
    },
)

# -- headers -------------------------------------------------------------------------------

LONG_ID = "a\x01\x7f\x85" * 15_000  # 60 KB with control characters
register_simple(
    "headers",
    FAILURE,
    {
        "Retry-After: ² on a 429": lambda: error(429, b"{}", ("Retry-After", "²")),
        "Retry-After: ² on a 503": lambda: error(503, b"{}", ("Retry-After", "²")),
        "Retry-After of 30 digits": lambda: error(429, b"{}", ("Retry-After", "9" * 30)),
        "Retry-After: -5": lambda: error(429, b"{}", ("Retry-After", "-5")),
        "Retry-After: 1e9": lambda: error(429, b"{}", ("Retry-After", "1e9")),
        "Retry-After in the year 9999": lambda: error(
            429, b"{}", ("Retry-After", "Fri, 31 Dec 9999 23:59:59 GMT")
        ),
        "Retry-After: an impossible date": lambda: error(
            429, b"{}", ("Retry-After", "Mon, 32 Foo 0000 99:99:99 XYZ")
        ),
        "Retry-After of 60 KB": lambda: error(429, b"{}", ("Retry-After", "1" + " " * 60_000)),
        "X-Request-Id of 60 KB with control characters": lambda: error(
            500, b"{}", ("X-Request-Id", LONG_ID)
        ),
        "two unequal Content-Lengths": lambda: RawAnswer(
            200, [JSON_TYPE, ("Content-Length", "2, 3")], b"{}"
        ),
        "a Content-Length of 30 digits": lambda: RawAnswer(
            200, [JSON_TYPE, ("Content-Length", "9" * 30)], status_body()
        ),
        "a Content-Type of 60 KB on a body that is not JSON": lambda: RawAnswer(
            200, [("Content-Type", "text/" + "x\x01" * 30_000)], b"<html>"
        ),
        "a header line of 70 KB": lambda: ok(status_body(), ("X-Big", "b" * 70_000)),
        "more than a hundred headers": lambda: ok(
            status_body(), *[(f"X-H{index}", "v") for index in range(120)]
        ),
        "a gzip encoding that is not gzip": lambda: ok(status_body(), ("Content-Encoding", "gzip")),
        "a chunked body with a bad chunk size": lambda: RawAnswer(
            200,
            [JSON_TYPE, ("Transfer-Encoding", "chunked")],
            b"zz\x01\r\n{}\r\n0\r\n\r\n",
        ),
        "a status of 999": lambda: RawAnswer(999, [JSON_TYPE], b'{"error_code":"X"}'),
    },
)

register_simple(
    "headers",
    DOCUMENT,
    {
        "Content-Length: ²": lambda: RawAnswer(
            200, [JSON_TYPE, ("Content-Length", "²")], status_body()
        ),
        "Content-Length: -1": lambda: RawAnswer(
            200, [JSON_TYPE, ("Content-Length", "-1")], status_body()
        ),
        "X-Request-Id of 60 KB on a 200": lambda: ok(status_body(), ("X-Request-Id", LONG_ID)),
        "a Content-Type of 60 KB on a JSON body": lambda: RawAnswer(
            200, [("Content-Type", "application/" + "j\x02" * 30_000)], status_body()
        ),
        "headers in latin-1": lambda: ok(status_body(), ("X-Request-Id", "é\xa0ÿ")),
        # The upstream's clock is not ours to trust past the window its gateway keeps
        # for our signatures (README "Clocks"): a wrong Date cannot stop the store.
        "a Date in 1990": lambda: ok(status_body(), ("Date", "Mon, 01 Jan 1990 00:00:00 GMT")),
        "a Date at the epoch": lambda: ok(status_body(), ("Date", "Thu, 01 Jan 1970 00:00:00 GMT")),
        "a Date in the year 1": lambda: ok(
            status_body(), ("Date", "Mon, 01 Jan 0001 00:00:00 GMT")
        ),
        "a Date of an hour ago": lambda: ok(
            status_body(), ("Date", format_datetime(datetime.now(UTC) - timedelta(hours=1), True))
        ),
        "a Date in the year 9999": lambda: ok(
            status_body(), ("Date", "Fri, 31 Dec 9999 23:59:59 GMT")
        ),
        "a Date with an offset of +9999": lambda: ok(
            status_body(), ("Date", "Sun, 06 Nov 1994 08:49:37 +9999")
        ),
    },
)

# -- the wire: what is not one well-formed HTTP/1.1 answer ----------------------------------


def head(*lines: bytes) -> bytes:
    return b"".join(line + b"\r\n" for line in lines) + b"\r\n"


def wire(*parts: bytes) -> WireBytes:
    return WireBytes(b"".join(parts))


def final(body: bytes = b"", *headers: bytes, status: bytes = b"200 OK") -> bytes:
    """One answer, framed by Content-Length unless `headers` frame it otherwise."""
    framing = (
        []
        if any(h.lower().startswith(b"transfer-encoding") for h in headers)
        else [b"Content-Length: %d" % len(body)]
    )
    return (
        head(
            b"HTTP/1.1 " + status,
            b"Content-Type: application/json",
            *headers,
            *framing,
            b"Connection: close",
        )
        + body
    )


def chunked(body: bytes, size_line: bytes | None = None, trailer: bytes = b"") -> bytes:
    line = size_line if size_line is not None else b"%x" % len(body)
    return line + b"\r\n" + body + b"\r\n0\r\n" + trailer + b"\r\n"


def gzipped(body: bytes, layers: int) -> bytes:
    for _ in range(layers):
        body = gzip.compress(body, mtime=0)
    return body


def deflated(body: bytes, wbits: int) -> bytes:
    packer = zlib.compressobj(wbits=wbits)
    return packer.compress(body) + packer.flush()


def bomb_layers() -> bytes:
    """Three gzip layers, each a bomb: 64 MB of spaces inside, some 200 bytes outside."""
    return gzipped(b"[" + b" " * 64_000_000 + b"]", 3)


CONTINUE = head(b"HTTP/1.1 100 Continue")
EARLY_HINTS = head(b"HTTP/1.1 103 Early Hints", b"Link: </style.css>; rel=preload")
PROCESSING = head(b"HTTP/1.1 102 Processing")
ELSEWHERE = b"Location: http://127.0.0.1:9/v1/steal"  # port 9: discard, nothing listens

register_simple(
    "wire",
    DOCUMENT,
    {
        "100 Continue before the answer": lambda: wire(CONTINUE, final(status_body())),
        "103 Early Hints before the answer": lambda: wire(EARLY_HINTS, final(status_body())),
        "102 Processing, 103 and 100 before the answer": lambda: wire(
            PROCESSING, EARLY_HINTS, CONTINUE, EARLY_HINTS, final(status_body())
        ),
        "a thousand interim answers before the answer": lambda: wire(
            (EARLY_HINTS + CONTINUE) * 500, final(status_body())
        ),
        "a body framed by closing the connection (HTTP/1.0)": lambda: wire(
            head(b"HTTP/1.0 200 OK", b"Content-Type: application/json"), status_body()
        ),
        # Tried in round 18 for a fault and none found; kept so that none appears.
        "Content-Length and Transfer-Encoding both (the chunked framing is read)": lambda: wire(
            final(chunked(status_body()), b"Content-Length: 5", b"Transfer-Encoding: chunked")
        ),
        "obs-fold continuation lines in the head": lambda: wire(
            head(
                b"HTTP/1.1 200 OK",
                b"  folded before any header",
                b"Content-Type: application/",
                b" json",
                b"X-Request-Id: abc",
                b"\t\x01def",
                b"Content-Length:",
                b" %d" % len(status_body()),
            ),
            status_body(),
        ),
        "status keys named like our own members": lambda: ok(
            b'{"name":"job","status":"NORMAL","schema_version":"9.9","kind":"x","stale":true,'
            b'"extra":{"a":1},"$":1,"validation":{"valid":true},"job":{"name":"other"},'
            b'"nodes":[{"name":"n","status":"NORMAL","extra":{"b":2},"$":3}]}'
        ),
        "chunk extensions and trailers": lambda: wire(
            final(
                chunked(status_body(), b'%x;ext=1;q="a b"' % len(status_body()), b"X-T: 1\r\n"),
                b"Transfer-Encoding: chunked",
            )
        ),
        "a chunk size of 20 hex digits with leading zeros": lambda: wire(
            final(
                chunked(status_body(), b"%020x" % len(status_body())),
                b"Transfer-Encoding: chunked",
            )
        ),
        "three stacked gzip encodings": lambda: wire(
            final(gzipped(status_body(), 3), b"Content-Encoding: gzip, gzip, gzip")
        ),
        "deflate as zlib": lambda: wire(
            final(deflated(status_body(), 15), b"Content-Encoding: deflate")
        ),
        "deflate as raw deflate": lambda: wire(
            final(deflated(status_body(), -15), b"Content-Encoding: deflate")
        ),
    },
)
register_simple(
    "wire",
    FAILURE,
    {
        "a status of four digits": lambda: wire(final(status_body(), status=b"2000 OK")),
        "a status that is not a number": lambda: wire(final(status_body(), status=b"abc OK")),
        "an ICY status line": lambda: wire(final(status_body()).replace(b"HTTP/1.1", b"ICY", 1)),
        "HTTP/0.9: a body and no status line": lambda: wire(status_body()),
        "101 Switching Protocols nobody asked for": lambda: wire(
            head(b"HTTP/1.1 101 Switching Protocols", b"Upgrade: h2c", b"Connection: Upgrade"),
            final(status_body()),
        ),
        "204 with a body": lambda: wire(final(status_body(), status=b"204 No Content")),
        "304 with a body": lambda: wire(final(status_body(), status=b"304 Not Modified")),
        "a body framed by close, cut early": lambda: wire(
            head(b"HTTP/1.0 200 OK", b"Content-Type: application/json"), status_body()[:30]
        ),
        "a chunk size of 20 hex digits past the cap": lambda: wire(
            final(chunked(status_body(), b"F" * 20), b"Transfer-Encoding: chunked")
        ),
        "Transfer-Encoding: gzip, chunked": lambda: wire(
            final(chunked(gzipped(status_body(), 1)), b"Transfer-Encoding: gzip, chunked")
        ),
        "three stacked gzip layers, each a bomb": lambda: wire(
            final(bomb_layers(), b"Content-Encoding: gzip, gzip, gzip")
        ),
        "ten stacked gzip encodings": lambda: wire(
            final(gzipped(status_body(), 10), b"Content-Encoding: " + b", ".join([b"gzip"] * 10))
        ),
        "a brotli body (no brotli decoder in the function)": lambda: wire(
            final(b"\x1b\x0b\x00\x00\x04" + status_body(), b"Content-Encoding: br")
        ),
        "a zstd body (no zstd decoder in the function)": lambda: wire(
            final(b"\x28\xb5\x2f\xfd" + status_body(), b"Content-Encoding: zstd")
        ),
        "301 to another host, no body": lambda: wire(final(b"", ELSEWHERE, status=b"301 Moved")),
        "302 to another host, with the job's body": lambda: wire(
            final(status_body(), ELSEWHERE, status=b"302 Found")
        ),
        "307 to file:": lambda: wire(
            final(b"", b"Location: file:///etc/passwd", status=b"307 Temporary Redirect")
        ),
        "308 to https on another port": lambda: wire(
            final(status_body(), b"Location: https://127.0.0.1:1/x", status=b"308 Permanent")
        ),
    },
)

# -- repeated member names: refused at any depth (I-JSON), never resolved -------------------

register_simple(
    "parsing",
    FAILURE,
    {
        "a status given twice": lambda: ok(
            b'{"name":"job","status":"NORMAL","status":"EXCEPTION","nodes":[]}'
        ),
        "a status given twice with the same value": lambda: ok(
            b'{"name":"job","status":"NORMAL","status":"NORMAL"}'
        ),
        "a node's status given twice, once escaped": lambda: ok(
            b'{"name":"job","nodes":[{"name":"n","st\\u0061tus":"NORMAL","status":"EXCEPTION"}]}'
        ),
        "a name repeated 60 levels deep": lambda: ok(
            status_body(x=nested(60, b'{"k":1,"k":2}', opener=b"{"))
        ),
        "a repeated name beside a 40-digit counter": lambda: ok(
            b'{"name":"job","nodes":[{"name":"n","totalGetBytes":' + b"1" * 40 + b',"name":"m"}]}'
        ),
        "the empty name twice": lambda: ok(b'{"name":"job","":1,"":2}'),
        "a repeated name of a megabyte": lambda: ok(
            b'{"name":"job","' + b"k" * 1_000_000 + b'":1,"' + b"k" * 1_000_000 + b'":2}'
        ),
        "a repeated name of control and bidi characters": lambda: ok(
            b'{"name":"job","\\u001b[2J\\u202e":1,"\\u001b[2J\\u202e":2}'
        ),
    },
)
register_simple(
    "memory",
    FAILURE,
    {
        "one name repeated 90,000 times": lambda: ok(
            b'{"name":"job","x":{' + b",".join([b'"k":1'] * 90_000) + b"}}"
        ),
        "60,000 objects, the last repeating a name": lambda: ok(
            b'{"name":"job","x":[' + b",".join([b'{"k":1}'] * 60_000) + b',{"k":1,"k":2}]}'
        ),
    },
)
register_simple(
    "error-body",
    FAILURE,
    {
        # Which code the upstream meant is unknown: neither is read, the job is not gone.
        "DLF.0100 after another code": lambda: error(
            400, b'{"error_code":"DLF.0001","error_code":"DLF.0100"}'
        ),
        "DLF.0100 before another code": lambda: error(
            400, b'{"error_code":"DLF.0100","error_code":"DLF.0001"}'
        ),
        "DLF.0100 twice": lambda: error(400, b'{"error_code":"DLF.0100","error_code":"DLF.0100"}'),
        "DLF.0100 beside a name repeated deep inside": lambda: error(
            400, dlf0100(x=nested(500, b'{"k":1,"k\\u0000":2,"k":3}'))
        ),
        "DLF.0100 with its code spelt twice, once escaped": lambda: error(
            400, b'{"error_code":"DLF.0100","error_c\\u006fde":"DLF.0001"}'
        ),
        "a 503 whose body repeats its code": lambda: error(
            503, b'{"error_code":"APIG.0001","error_code":"APIG.0002"}'
        ),
    },
)
register_simple(
    "error-body",
    AUTH,
    {
        "a 401 whose body repeats its code": lambda: error(
            401, b'{"error_code":"APIGW.0301","error_code":"DLF.0100"}'
        ),
    },
)

# -- error answers: hostile beside a readable code ------------------------------------------

register_simple(
    "error-body",
    NOT_FOUND,
    {
        "DLF.0100 with a field nested 1,000 deep": lambda: error(400, dlf0100(x=nested(1000))),
        "DLF.0100 with an object nested 1,000 deep": lambda: error(
            400, dlf0100(x=nested(1000, opener=b"{"))
        ),
        "DLF.0100 with an integer of 5,000 digits": lambda: error(400, dlf0100(x=b"9" * 5000)),
        "DLF.0100 with a lone surrogate in its message": lambda: error(
            400, b'{"error_code":"DLF.0100","error_msg":"gone \\ud800","n":1234567890123456789}'
        ),
        "DLF.0100 with NaN beside it": lambda: error(400, dlf0100(x=b"NaN")),
        "DLF.0100 with bytes that are not UTF-8": lambda: error(400, dlf0100(x=b'"\xff"')),
        "DLF.0100 with a seven-megabyte string": lambda: error(
            400, dlf0100(x=b'"' + b"s" * 7_000_000 + b'"')
        ),
        "DLF.0100 before eight megabytes of brackets": lambda: error(
            400, b'{"error_code":"DLF.0100","x":' + b"[" * 8_000_000
        ),
        "DLF.0100 after a deep field": lambda: error(
            400, b'{"x":' + nested(2000) + b',"error_code":"DLF.0100"}'
        ),
        "DLF.0100 in the SDK's camel case, with trailing garbage": lambda: error(
            400, b'{"errorCode":"DLF.0100","errorMsg":"gone"} garbage'
        ),
        "DLF.0100 with a message of 60 KB of control characters": lambda: error(
            400,
            b'{"error_code":"DLF.0100","error_msg":'
            + json.dumps("\x01\x85" * 30_000).encode()
            + b"}",
        ),
    },
)

register_simple(
    "error-body",
    FAILURE,
    {
        "a 400 whose code is a 5,000-digit number": lambda: error(
            400, b'{"error_code":' + b"1" * 5000 + b"}"
        ),
        "a 400 whose body is a deep array": lambda: error(400, nested(5000)),
        "a 503 with a deep body": lambda: error(503, nested(3000, opener=b"{")),
        "a 400 with a nested DLF.0100 only": lambda: error(
            400, b'{"detail":{"error_code":"DLF.0100"}}'
        ),
    },
)
register_simple(
    "error-body",
    FAILURE,
    {
        # A 200 is a snapshot only when it is a job: an error answer sent as a 200 would
        # be stored as a job of no status (a false transition), or mark a job gone.
        "a 200 that is an error answer": lambda: ok(
            b'{"error_code":"DLF.0002","error_msg":"internal error"}'
        ),
        "a DLF.0100 with a 200 status": lambda: ok(dlf0100()),
        "a 200 that is an error answer in the SDK's camel case": lambda: ok(
            b'{"errorCode":"APIGW.0301","errorMsg":"bad token"}'
        ),
        "a 200 error answer with a nested code": lambda: ok(
            b'{"error_code":{"a":' + nested(1000) + b'},"error_msg":[1,2]}'
        ),
        "a 400 whose code and message are numbers": lambda: error(
            400, b'{"error_code":123,"error_msg":4.5e300}'
        ),
        "a 400 whose code and message are arrays and objects": lambda: error(
            400, b'{"error_code":["DLF.0100"],"error_msg":{"a":"b"}}'
        ),
        "a 400 whose code is an object 1,000 deep": lambda: error(
            400, b'{"error_code":' + nested(1000, opener=b"{") + b"}"
        ),
        "a 400 whose message is a megabyte": lambda: error(
            400, b'{"error_code":"DLF.0001","error_msg":"' + b"m" * 1_000_000 + b'"}'
        ),
        "error_code and errorCode at once, errorCode DLF.0100": lambda: error(
            400, b'{"error_code":"DLF.0001","errorCode":"DLF.0100"}'
        ),
        "an HTML 502 of 5 MB from a load balancer": lambda: RawAnswer(
            502, [("Content-Type", "text/html")], b"<html>" + b"x" * 5_000_000 + b"</html>"
        ),
    },
)
register_simple(
    "error-body",
    NOT_FOUND,
    {
        "error_code DLF.0100 and errorCode at once": lambda: error(
            400, b'{"errorCode":"DLF.0001","error_code":"DLF.0100"}'
        ),
    },
)
register_simple(
    "error-body",
    DOCUMENT,
    {
        # A job (it has its name) that also carries an error code is a job: the code is
        # one more unknown field, kept in extra.
        "a 200 job answer that also carries an error code": lambda: ok(
            b'{"name":"job","status":"NORMAL","error_code":"DLF.0001","error_msg":"x"}'
        ),
    },
)
register_simple(
    "error-body",
    AUTH,
    {
        "a 401 with a deep body": lambda: error(
            401, b'{"error_code":"APIGW.0301","x":' + nested(3000) + b"}"
        )
    },
)
register_simple(
    "error-body",
    TIMEOUT,
    {
        "a 504 with a 5,000-digit request id": lambda: error(
            504, b'{"request_id":' + b"4" * 5000 + b"}"
        )
    },
)

# -- memory: bodies under the size cap whose work is not ------------------------------------


def _nodes(count: int, node: bytes = b"{}") -> bytes:
    return b'{"name":"job","nodes":[' + b",".join([node] * count) + b"]}"


register_simple(
    "memory",
    FAILURE,
    {
        "100,000 empty nodes": lambda: ok(_nodes(100_000)),
        "one node past the node bound": lambda: ok(_nodes(MAX_NODES + 1)),
        "a million zeros": lambda: ok(status_body(x=b"[" + b",".join([b"0"] * 1_000_000) + b"]")),
        "one value past the value bound": lambda: ok(
            # the object, "name", "job", "x", the array: five values besides the zeros
            b'{"name":"job","x":[' + b",".join([b"0"] * (MAX_VALUES - 4)) + b"]}"
        ),
        "two million empty arrays": lambda: ok(b"[" + b",".join([b"[]"] * 2_000_000) + b"]"),
    },
)
BAD_NODE = (
    b'{"name":1,"status":2,"type":3,"nodeType":4,"logPath":5,"lastInstanceStatus":6,'
    b'"jobInstanceId":"x","bufferRecords":"x","speed":"x","totalGetBytes":"x",'
    b'"totalGetRecords":"x","totalPutBytes":"x","totalPutRecords":"x","extra":[]}'
)
register_simple(
    "memory",
    DOCUMENT,
    {
        "nodes at the node bound": lambda: ok(_nodes(MAX_NODES)),
        "nodes at the bound, every field of the wrong type": lambda: ok(
            _nodes(MAX_NODES, BAD_NODE)
        ),
        "values at the value bound": lambda: ok(
            b'{"name":"job","x":[' + b",".join([b"0"] * (MAX_VALUES - 5)) + b"]}"
        ),
        "unknown fields up to the value bound": lambda: ok(
            # the object, "name" and "job", then a key and a value each
            b'{"name":"job",'
            + b",".join(b'"k%d":0' % index for index in range((MAX_VALUES - 3) // 2))
            + b"}"
        ),
    },
)

# -- secrets echoed back ---------------------------------------------------------------------


def _forms(secret: str) -> list[str]:
    """The encodings an upstream may echo a credential in."""
    return [
        secret,
        json.dumps(secret)[1:-1],
        repr(secret)[1:-1],
        quote(secret, safe=""),
        quote(secret),
        quote_plus(secret),
        re.sub("%[0-9A-F]{2}", lambda escape: escape.group().lower(), quote(secret, safe="")),
        json.dumps(json.dumps(secret))[1:-1],
        "".join(f"\\u{ord(char):04x}" for char in secret),
    ]


def _echo_text(secrets: Sequence[str]) -> str:
    return " | ".join(form for secret in secrets for form in _forms(secret))


@case("401 whose error_msg echoes every credential in every encoding", "secrets", AUTH)
def _(secrets: Sequence[str]) -> RawAnswer:
    body = {"error_code": "APIGW.0301", "error_msg": _echo_text(secrets)}
    return error(401, json.dumps(body).encode())


@case("DLF.0100 whose message and request id echo the credentials", "secrets", NOT_FOUND)
def _(secrets: Sequence[str]) -> RawAnswer:
    body = {"error_code": "DLF.0100", "error_msg": _echo_text(secrets)[:250]}
    return error(400, json.dumps(body).encode(), ("X-Request-Id", secrets[-1]))


def _wrapped(secret: str) -> str:
    """A credential folded as a wrapping encoder writes it: a line break (and an
    indent) every five characters, a zero-width space after the first."""
    folded = "\r\n  ".join(secret[i : i + 5] for i in range(0, len(secret), 5))
    return folded[:1] + "\u200b" + folded[1:]


@case("401 whose error_msg echoes the credentials wrapped across lines", "secrets", AUTH)
def _(secrets: Sequence[str]) -> RawAnswer:
    body = {"error_code": "APIGW.0301", "error_msg": " | ".join(map(_wrapped, secrets))}
    return error(401, json.dumps(body).encode())


@case("a 200 whose field echoes the credentials wrapped, in base64 and hex", "secrets", DOCUMENT)
def _(secrets: Sequence[str]) -> RawAnswer:
    echoes = [
        _wrapped(secret)
        + " "
        + base64.b64encode(b"u:" + secret.encode()).decode()
        + " "
        + secret.encode().hex()
        for secret in secrets
    ]
    return ok(json.dumps({"name": "job", "status": "NORMAL", "echo": echoes}).encode())


@case("500 whose request id header is a credential", "secrets", FAILURE)
def _(secrets: Sequence[str]) -> RawAnswer:
    return error(500, b"{}", ("X-Request-Id", secrets[0]))


@case("429 whose request_id is a credential's repr", "secrets", FAILURE)
def _(secrets: Sequence[str]) -> RawAnswer:
    body = {"error_code": "APIG.0308", "error_msg": "x", "request_id": repr(secrets[0])}
    return error(429, json.dumps(body).encode())


@case("a 200 whose fields, keys and runningData echo the credentials", "secrets", DOCUMENT)
def _(secrets: Sequence[str]) -> RawAnswer:
    nodes = [
        {
            "name": f"n{index}",
            "logPath": f"obs://logs/{quote(secret, safe='')}/x",
            "runningData": json.dumps({"auth": secret}),
            secret: "key",
            "status": "NORMAL",
        }
        for index, secret in enumerate(secrets)
    ]
    body = {"name": "job", "status": "NORMAL", "nodes": nodes, "echo": _echo_text(secrets)}
    return ok(json.dumps(body, ensure_ascii=False).encode())


@case("a 200 that spells a credential with unicode escapes", "secrets", DOCUMENT)
def _(secrets: Sequence[str]) -> RawAnswer:
    escaped = "".join(f"\\u{ord(char):04X}" for char in secrets[0])
    return ok(b'{"name":"job","x":"' + escaped.encode() + b'"}')


@case("a 200 with a Content-Type that echoes a credential", "secrets", DOCUMENT)
def _(secrets: Sequence[str]) -> RawAnswer:
    return RawAnswer(200, [("Content-Type", f"application/{secrets[0]}")], status_body())


@case("a 200 that is not JSON and echoes a credential in its Content-Type", "secrets", FAILURE)
def _(secrets: Sequence[str]) -> RawAnswer:
    return RawAnswer(200, [("Content-Type", f"text/{secrets[-1]}")], b"<html>")


# -- cookies -------------------------------------------------------------------------------

register_simple(
    "cookies",
    DOCUMENT,
    {
        "a 200 that sets cookies": lambda: ok(
            status_body(),
            ("Set-Cookie", "session=tracked; Path=/"),
            ("Set-Cookie", "other=1; Domain=127.0.0.1; Path=/v1"),
        ),
    },
)
register_simple(
    "cookies",
    NOT_FOUND,
    {
        "a DLF.0100 that sets a cookie": lambda: error(
            400, dlf0100(), ("Set-Cookie", "session=tracked-again; Path=/")
        ),
    },
)

NAMES = [entry.name for entry in CASES]
assert len(set(NAMES)) == len(NAMES), "case names are unique"
