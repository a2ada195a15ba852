"""DLF_DEADLINE holds in every phase of an answer that drips (adapters/upstream_http.py).

The upstream is a raw socket server that writes the start of an answer, then one
piece every few milliseconds for as long as the client stays: each piece well within
the read timeout, the whole never ending. Only the call's deadline can end such an
exchange, so the outcome (a timeout) is what is asserted, never how long it took.
Without a deadline on every socket read, a drip in the status line, the headers, a
chunk line or a compressed body runs into http.client's own limits (100 header lines,
64 KiB a line) and ends in another error, minutes later.
"""

from __future__ import annotations

import string
import zlib
from collections.abc import Callable
from typing import NamedTuple

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dlf_status.adapters.upstream_http import HttpUpstreamClient
from dlf_status.errors import UpstreamTimeout
from tests.integration.conftest import JOB
from tests.support.faults import DrippingHttpServer

pytestmark = pytest.mark.integration

MakeClient = Callable[..., HttpUpstreamClient]
DEADLINE = 0.3
# Far longer than the drip's pace: the read timeout alone never ends the exchange.
READ_TIMEOUT = 2.0
STATUS_LINE = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
# A deflate stored block of no bytes, not final: input that decodes to nothing.
EMPTY_STORED_BLOCK = b"\x00\x00\x00\xff\xff"


class Drip(NamedTuple):
    """The start of an answer, and the piece then written over and over."""

    start: bytes
    piece: bytes


def _chunked(body: bytes) -> bytes:
    return f"{len(body):x}\r\n".encode() + body + b"\r\n" if body else b""


def _deflated(body: bytes) -> bytes:
    compressor = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return compressor.compress(body) + compressor.flush(zlib.Z_SYNC_FLUSH)


def drips(headers: bytes, body: bytes) -> dict[str, Drip]:
    """Each phase of an answer, dripping: `headers` are whole header lines sent before
    the drip, `body` the part of the body that arrives before it."""
    chunked = STATUS_LINE + headers + b"Transfer-Encoding: chunked\r\n\r\n"
    return {
        "status line": Drip(b"HTTP/1.1 200 ", b"O"),
        "a header value": Drip(STATUS_LINE + headers + b"X-Drip: ", b"a"),
        "header lines": Drip(STATUS_LINE + headers, b"X-More: 1\r\n"),
        "a chunk-size line": Drip(chunked + _chunked(body) + b"2;ext=", b"a"),
        "chunk data": Drip(chunked + b"ffff\r\n" + body, b" "),
        "trailer lines": Drip(chunked + _chunked(body) + b"0\r\n", b"X-Trailer: 1\r\n"),
        "a compressed body": Drip(
            STATUS_LINE
            + headers
            + b"Content-Encoding: gzip\r\nConnection: close\r\n\r\n"
            + GZIP_HEADER
            + _deflated(body),
            EMPTY_STORED_BLOCK,
        ),
        "a body without length": Drip(
            STATUS_LINE + headers + b"Connection: close\r\n\r\n" + body, b" "
        ),
    }


PHASES = list(drips(b"", b""))


def _call_through(drip: Drip, make_client: MakeClient) -> None:
    with DrippingHttpServer(*drip) as server:
        client = make_client(endpoint=server.url, deadline=DEADLINE, read_timeout=READ_TIMEOUT)
        with pytest.raises(UpstreamTimeout, match=r"0\.3 s|deadline"):
            client.fetch_status(JOB)


@pytest.mark.parametrize("phase", PHASES)
def test_a_drip_in_any_phase_ends_at_the_deadline(phase: str, make_client: MakeClient) -> None:
    _call_through(
        drips(b"X-Request-Id: r-1\r\n", b'{"name": "job_sms", "nodes": [')[phase], make_client
    )


HEADER_NAMES = st.text(string.ascii_letters + string.digits + "-", min_size=1, max_size=20)
HEADER_VALUES = st.text(string.ascii_letters + string.digits + " -_.;=/", max_size=40)
HEADERS = st.lists(st.tuples(HEADER_NAMES, HEADER_VALUES), max_size=6).map(
    lambda pairs: b"".join(f"X-{name}: {value}\r\n".encode() for name, value in pairs)
)


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    phase=st.sampled_from(PHASES),
    headers=HEADERS,
    body=st.binary(max_size=300),
)
def test_whatever_came_before_the_drip_it_ends_at_the_deadline(
    phase: str, headers: bytes, body: bytes, make_client: MakeClient
) -> None:
    _call_through(drips(headers, body)[phase], make_client)
